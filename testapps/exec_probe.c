/* exec_probe.c — starts programs in every way glibc offers and reports what
 * each call returned and what environment the started program saw, so a
 * test can compare a run under the shim with a run without it.
 *
 * Modes (argv[1]):
 *   cases          each way of starting /usr/bin/env with a crafted
 *                  environment (LW_PROBE_A=1, LD_PRELOAD as inherited,
 *                  LEAKWATCH_PARENT=bogus, LW_PROBE_B=2): execve, execv,
 *                  execvp, execvpe, execl, execle, execlp, fexecve, execveat
 *                  (each from a forked child), vfork+execve, posix_spawn,
 *                  posix_spawnp; the same with a 600-variable environment
 *                  (posix_spawn and vfork+execve); then the failing calls
 *                  (missing file, a directory, bad fd), from the process
 *                  itself and from a forked child. Lines:
 *                    <case>| <line the started env printed>
 *                    case <case> status=S
 *                    fail <where> <call> rc=R errno=E intact=1
 *                  (intact: the caller's envp array and strings unchanged;
 *                  errno is set to 1234 before each call).
 *   self-exec      the process itself execs /usr/bin/env with its own
 *                  environment (the program is replaced, not a child).
 *   hold-exit N    holds a 16 MiB block, leaves with exit(N).
 *   hold-no-fds    holds a 16 MiB block allocated while no descriptor is
 *                  free (RLIMIT_NOFILE lowered to 3), then, 2.5 s after
 *                  the limit is back, another from hold_later; exit(0).
 *   hold-in-loader N  the same, the block allocated inside a
 *                  dl_iterate_phdr callback (the loader's list lock held:
 *                  a dlopen elsewhere waits for it).
 *   hold-return N  holds a 16 MiB block, returns N from main.
 *   sleep-exit S N sleeps S seconds, then exit(N) holding nothing.
 * "cases" starts with "snapshot point=start rc=R" when the shim is present
 * (the file tells the test this process's run id and directory).
 */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app_common.h"

extern char **environ;

#define ENV_BIN "/usr/bin/env"

static char *probe_env[8];
static char *saved_ptrs[8];
static char saved_strs[8][4096];
static char preload_entry[4096];

static char **big_env;
static size_t big_n;

static void build_env(void)
{
	size_t n = 0;
	const char *pre = getenv("LD_PRELOAD");
	probe_env[n++] = "LW_PROBE_A=1";
	if (pre != NULL) {
		snprintf(preload_entry, sizeof(preload_entry), "LD_PRELOAD=%s", pre);
		probe_env[n++] = preload_entry;
	}
	probe_env[n++] = "LEAKWATCH_PARENT=bogus";
	probe_env[n++] = "LW_PROBE_B=2";
	probe_env[n] = NULL;
	for (size_t i = 0; i <= n; i++) {
		saved_ptrs[i] = probe_env[i];
		if (probe_env[i])
			snprintf(saved_strs[i], sizeof(saved_strs[i]), "%s", probe_env[i]);
	}
	big_n = 600;
	big_env = calloc(big_n + 2, sizeof(char *));
	for (size_t i = 0; i < big_n; i++) {
		char buf[64];
		snprintf(buf, sizeof(buf), "LW_PROBE_BIG_%03zu=%zu", i, i);
		big_env[i] = strdup(buf);
	}
	if (pre != NULL)
		big_env[big_n++] = preload_entry;
	big_env[big_n] = NULL;
}

static int intact(void)
{
	for (size_t i = 0; i < 8; i++) {
		if (probe_env[i] != saved_ptrs[i])
			return 0;
		if (probe_env[i] == NULL)
			return 1;
		if (strcmp(probe_env[i], saved_strs[i]) != 0)
			return 0;
	}
	return 1;
}

/* Prints what the started program wrote on fd, then its status. */
static void collect(const char *name, int fd, pid_t pid)
{
	FILE *in = fdopen(fd, "r");
	char line[8192];
	while (in && fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = '\0';
		printf("%s| %s\n", name, line);
	}
	if (in)
		fclose(in);
	int st = 0;
	waitpid(pid, &st, 0);
	printf("case %s status=%d\n", name, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	fflush(stdout);
}

typedef void (*start_fn)(void);

/* Runs fn in a forked child whose stdout goes to a pipe. */
static void forked(const char *name, start_fn fn)
{
	int p[2];
	if (pipe(p) < 0)
		abort();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		fn();
		_exit(127);
	}
	close(p[1]);
	collect(name, p[0], pid);
}

static char *env_argv[] = { "env", NULL };

static void s_execve(void) { execve(ENV_BIN, env_argv, probe_env); }
static void s_execv(void) { environ = probe_env; execv(ENV_BIN, env_argv); }
static void s_execvp(void) { environ = probe_env; execvp("env", env_argv); }
static void s_execvpe(void) { execvpe("env", env_argv, probe_env); }
static void s_execl(void) { environ = probe_env; execl(ENV_BIN, "env", (char *)NULL); }
static void s_execle(void) { execle(ENV_BIN, "env", (char *)NULL, probe_env); }
static void s_execlp(void) { environ = probe_env; execlp("env", "env", (char *)NULL); }

static void s_fexecve(void)
{
	int fd = open(ENV_BIN, O_RDONLY | O_CLOEXEC);
	fexecve(fd, env_argv, probe_env);
}

static void s_execveat(void) { execveat(AT_FDCWD, ENV_BIN, env_argv, probe_env, 0); }

static void vforked(const char *name, char *const *envp)
{
	int p[2];
	if (pipe(p) < 0)
		abort();
	fflush(stdout);
	pid_t pid = vfork();
	if (pid == 0) {
		dup2(p[1], 1);
		execve(ENV_BIN, env_argv, envp);
		_exit(127);
	}
	close(p[1]);
	collect(name, p[0], pid);
}

static void spawned(const char *name, int search, char *const *envp)
{
	int p[2];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	if (pipe(p) < 0)
		abort();
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	errno = 1234;
	int rc = search ? posix_spawnp(&pid, "env", &fa, NULL, env_argv, envp)
			: posix_spawn(&pid, ENV_BIN, &fa, NULL, env_argv, envp);
	int e = errno;
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	printf("spawn %s rc=%d errno=%d intact=%d\n", name, rc, e, intact());
	if (rc == 0)
		collect(name, p[0], pid);
	else
		close(p[0]);
}

#define FAIL(where, call, expr)                                                           \
	do {                                                                              \
		errno = 1234;                                                             \
		int rc_ = (expr);                                                         \
		int e_ = errno;                                                           \
		printf("fail %s %s rc=%d errno=%d intact=%d\n", where, call, rc_, e_,     \
		       intact());                                                         \
	} while (0)

static void failures(const char *where)
{
	char *argv[] = { "x", NULL };
	pid_t pid;
	FAIL(where, "execve-missing", execve("/nonexistent/lw-probe", argv, probe_env));
	FAIL(where, "execve-dir", execve("/", argv, probe_env));
	FAIL(where, "execvpe-missing", execvpe("lw-no-such-command", argv, probe_env));
	FAIL(where, "execle-missing", execle("/nonexistent", "x", (char *)NULL, probe_env));
	FAIL(where, "fexecve-badfd", fexecve(-1, argv, probe_env));
	FAIL(where, "execveat-missing", execveat(AT_FDCWD, "/nonexistent", argv, probe_env, 0));
	FAIL(where, "posix_spawn-missing",
	     posix_spawn(&pid, "/nonexistent/lw-probe", NULL, NULL, argv, probe_env));
	FAIL(where, "posix_spawnp-missing",
	     posix_spawnp(&pid, "lw-no-such-command", NULL, NULL, argv, probe_env));
	fflush(stdout);
}

static int run_cases(void)
{
	build_env();
	forked("execve", s_execve);
	forked("execv", s_execv);
	forked("execvp", s_execvp);
	forked("execvpe", s_execvpe);
	forked("execl", s_execl);
	forked("execle", s_execle);
	forked("execlp", s_execlp);
	forked("fexecve", s_fexecve);
	forked("execveat", s_execveat);
	vforked("vfork", probe_env);
	spawned("posix_spawn", 0, probe_env);
	spawned("posix_spawnp", 1, probe_env);
	spawned("big_spawn", 0, big_env);
	vforked("big_vfork", big_env);
	failures("self");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		failures("child");
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	return 0;
}

static void *volatile g_held;
static void *volatile g_held2;

LW_APP_NOINLINE static void hold(size_t n)
{
	char *p = malloc(n);
	if (p)
		p[0] = 1;
	g_held = p;
}

LW_APP_NOINLINE static void hold_later(size_t n)
{
	char *p = malloc(n);
	if (p)
		p[0] = 2;
	g_held2 = p;
}

static int hold_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)info;
	(void)size;
	if (*(int *)arg == 0)
		hold(16u << 20);
	*(int *)arg = 1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (strcmp(mode, "self-exec") == 0) {
		execve(ENV_BIN, env_argv, environ);
		return 127;
	}
	if (strcmp(mode, "cases") == 0) {
		if (app_shim_present())
			app_snapshot("start");
		return run_cases();
	}
	if (strcmp(mode, "hold-exit") == 0 && argc > 2) {
		hold(16u << 20);
		exit(atoi(argv[2]));
	}
	if (strcmp(mode, "hold-no-fds") == 0) {
		struct rlimit old, low;
		getrlimit(RLIMIT_NOFILE, &old);
		low = old;
		low.rlim_cur = 3;
		setrlimit(RLIMIT_NOFILE, &low);
		hold(16u << 20);
		setrlimit(RLIMIT_NOFILE, &old);
		app_sleep(2.5);   /* the writer tries again 1 s after its failure */
		hold_later(16u << 20);
		exit(0);
	}
	if (strcmp(mode, "hold-in-loader") == 0 && argc > 2) {
		int done = 0;
		dl_iterate_phdr(hold_cb, &done);
		exit(atoi(argv[2]));
	}
	if (strcmp(mode, "hold-return") == 0 && argc > 2) {
		hold(16u << 20);
		return atoi(argv[2]);
	}
	if (strcmp(mode, "sleep-exit") == 0 && argc > 3) {
		app_sleep(atof(argv[2]));
		exit(atoi(argv[3]));
	}
	fprintf(stderr, "usage: exec_probe cases|self-exec|hold-exit N|hold-no-fds|hold-in-loader N|hold-return N|"
			"sleep-exit S N\n");
	return 2;
}
