/* cmd/run.c — `leakwatch run [-o DIR] [--rate N] [--interval S]
 * [--signal SIG] [--children all|none] -- CMD ARGS...`: runs CMD with the
 * shim preloaded, says where its files go, waits, and exits with CMD's
 * status (128+N if a signal N killed it; 127 if it could not be started).
 *
 * Finding libleakwatch.so, first hit wins:
 *   1. $LEAKWATCH_SHIM (must name an existing file);
 *   2. the build tree: <dir of this executable>/../preload/libleakwatch.so;
 *   3. installed, relative to this executable, so that a DESTDIR or moved
 *      install finds its own shim: <dir>/LW_LIBDIR_REL/libleakwatch.so (the
 *      configured libdir seen from the bindir, ../lib/x86_64-linux-gnu on
 *      Debian), then <dir>/../lib/libleakwatch.so;
 *   4. LW_LIBDIR/libleakwatch.so (the absolute libdir meson was configured
 *      with).
 * LD_PRELOAD keeps what was already there (the shim comes first).
 *
 * The directory: -o DIR, else the shim's default ./leakwatch.<exe>.<pid>
 * (lw_env_outdir, <exe> as CMD was named). Before CMD starts, run creates
 * it and claims it for CMD's pid (".owner", the shim's own claim), so CMD —
 * followed across exec, which keeps the pid — owns the top of the directory
 * whichever process writes first; the programs CMD starts write below it. A
 * directory an earlier process claimed is not taken over: CMD then writes
 * into DIR/<exe>.<pid>. It is passed as an absolute LEAKWATCH_DIR, so the
 * message names exactly where the files appear. The child waits on a pipe
 * until the claim is made, and reports an exec failure on another.
 *
 * Signals: INT, QUIT, TERM and HUP are passed on to CMD unless the kernel
 * sent them (a terminal's ^C, ^\ and hangup reach the whole foreground
 * process group, CMD included, so passing them on would deliver them
 * twice); INT and QUIT stay ignored when run was started with them ignored
 * (a background job). USR2 — and the dump signal if it is USR1 or a
 * real-time signal — becomes a dump request: CMD gets its dump signal
 * (--signal, else LEAKWATCH_SIGNAL, else USR2). run never dies of these
 * signals itself: it waits for CMD and exits with its status.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "lw_env.h"
#include "util.h"

#ifndef LW_LIBDIR
#define LW_LIBDIR "/usr/local/lib"
#endif
#ifndef LW_LIBDIR_REL
#define LW_LIBDIR_REL "../lib"
#endif

static void run_usage(FILE *out)
{
	fprintf(out,
		"usage: leakwatch run [-o DIR] [--rate N] [--interval S] [--signal SIG]\n"
		"                     [--children all|none] -- CMD ARGS...\n"
		"  Runs CMD under LD_PRELOAD=libleakwatch.so and exits with its status.\n"
		"  -o DIR          output directory (default ./leakwatch.<exe>.<pid>); CMD\n"
		"                  owns its top, the programs CMD starts write below it\n"
		"  --rate N        mean bytes between samples (default 524288; K/M/G; 1 = all)\n"
		"  --interval S    seconds between snapshots (default 60; 0 = none)\n"
		"  --signal SIG    signal that requests a dump (default USR2; none)\n"
		"  --children all|none  whether the programs CMD starts are watched (default all)\n"
		"  INT, QUIT, TERM and HUP sent to run are passed on to CMD; USR2 asks CMD for\n"
		"  a heap dump. The shim is found via $LEAKWATCH_SHIM, the build tree, or the\n"
		"  libdir. Example: leakwatch run -o out -- ./server config.ini\n");
}

static int is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Fills out with the shim's path; returns 0 or -1. */
static int find_shim(char *out, size_t len)
{
	const char *env = getenv(LW_ENV_SHIM);
	if (env && *env) {
		if (!is_file(env))
			return -1;
		if (!realpath(env, out))
			snprintf(out, len, "%s", env);
		return 0;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			const char *rel[] = { "../preload/libleakwatch.so",
					      LW_LIBDIR_REL "/libleakwatch.so",
					      "../lib/libleakwatch.so" };
			for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
				char cand[PATH_MAX + 64];
				snprintf(cand, sizeof(cand), "%s/%s", self, rel[i]);
				if (is_file(cand) && realpath(cand, out))
					return 0;
			}
		}
	}
	char cand[PATH_MAX];
	snprintf(cand, sizeof(cand), "%s/libleakwatch.so", LW_LIBDIR);
	if (is_file(cand)) {
		snprintf(out, len, "%s", cand);
		return 0;
	}
	return -1;
}

/* Checks an option's value with the shim's own parser of the variable it
 * sets; prints the error and returns 2 (usage) when the shim would refuse it. */
static int check_env_option(const char *opt, const char *var, const char *value)
{
	int ok;
	const struct lw_env_var *v = lw_env_check(var, value, &ok);
	if (value == NULL || ok)
		return 0;
	lw_error("'%s %s': need %s", opt, value, v ? v->expect : "a valid value");
	return 2;
}

/* ---- the directory ------------------------------------------------------- */
/* mkdir -p with mode 0700 for every directory it creates. */
static int mkdirs(char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -1;
	char *slash = strrchr(path, '/');
	if (slash == NULL || slash == path)
		return -1;
	*slash = '\0';
	int rc = mkdirs(path);
	*slash = '/';
	if (rc != 0)
		return rc;
	return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* Creates ".owner" naming pid in dir: 1 claimed, 0 already claimed, -1 error. */
static int claim_for(const char *dir, pid_t pid)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	int fd = openat(dfd, ".owner", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int e = errno;
	close(dfd);
	if (fd < 0) {
		errno = e;
		return e == EEXIST ? 0 : -1;
	}
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	ssize_t w = write(fd, buf, (size_t)n);
	e = errno;
	close(fd);
	errno = e;
	return w == n ? 1 : -1;
}

/* Makes `dir` (or, if an earlier process owns it, dir/<exe>.<pid>) and
 * claims it for pid; out gets the path, *made whether `dir` is new.
 * 0, or -1 with errno and *what. */
static int make_run_dir(const char *dir, const char *exe, pid_t pid, char *out, size_t len,
			const char **what, int *made)
{
	struct stat st;
	snprintf(out, len, "%s", dir);
	*made = lstat(out, &st) < 0;
	*what = "cannot create it";
	if (mkdirs(out) < 0)
		return -1;
	*what = "cannot claim it";
	int rc = claim_for(out, pid);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	char leaf[NAME_MAX + 1];
	if (lw_env_leaf(leaf, sizeof(leaf), exe, (uint64_t)pid) < 0 ||
	    (size_t)snprintf(out, len, "%s/%s", dir, leaf) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	*what = "cannot create it";
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return -1;
	*what = "cannot claim it";
	return claim_for(out, pid) < 0 ? -1 : 0;   /* 0: an earlier process with our pid */
}

/* CMD could not be started: take back the claim, and the directory if run
 * made it and it is still empty. */
static void unmake_run_dir(const char *out, int made)
{
	char owner[PATH_MAX * 2 + 8];
	if ((size_t)snprintf(owner, sizeof(owner), "%s/.owner", out) < sizeof(owner))
		unlink(owner);
	if (made)
		rmdir(out);
}

/* ---- signals ---------------------------------------------------------------- */
static volatile pid_t run_child;
static volatile int run_dump_signo;   /* the child's dump signal; 0: none */

/* Async-signal-safe (kill, write), errno preserved. */
static void pass_on(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	int e = errno;
	pid_t pid = run_child;
	if (pid > 0 && si->si_code != SI_KERNEL) {
		if (sig == SIGUSR2 || sig == run_dump_signo) {
			static const char msg[] = "leakwatch run: dumps on signal are disabled "
						  "(--signal none); ignoring the request\n";
			if (run_dump_signo > 0) {
				kill(pid, run_dump_signo);
			} else {
				ssize_t w = write(2, msg, sizeof(msg) - 1);
				(void)w;
			}
		} else {
			kill(pid, sig);
		}
	}
	errno = e;
}

struct saved_signals {
	int signo[6];
	struct sigaction old[6];
	int n;
};

static void catch_signal(struct saved_signals *sv, int sig, int keep_ignored)
{
	struct sigaction sa, old;
	for (int i = 0; i < sv->n; i++)
		if (sv->signo[i] == sig)
			return;
	if (sigaction(sig, NULL, &old) < 0 || (keep_ignored && old.sa_handler == SIG_IGN))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = pass_on;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &old) == 0) {
		sv->signo[sv->n] = sig;
		sv->old[sv->n++] = old;
	}
}

static void restore_signals(struct saved_signals *sv)
{
	for (int i = 0; i < sv->n; i++)
		sigaction(sv->signo[i], &sv->old[i], NULL);
	sv->n = 0;
}

/* ---- the child ---------------------------------------------------------------- */
struct run_opts {
	const char *dir, *rate, *interval, *sig, *children;
	const char *shim, *cwd;
	char **cmd;
};

/* Runs in the forked child: waits for the directory on `go`, sets the
 * environment and execs CMD; reports an exec failure's errno on `fail`. */
static void __attribute__((noreturn)) child_main(const struct run_opts *o, int go, int fail)
{
	char outdir[PATH_MAX * 2];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(outdir) - 1 &&
	       ((r = read(go, outdir + n, sizeof(outdir) - 1 - n)) > 0 || (r < 0 && errno == EINTR)))
		if (r > 0)
			n += (size_t)r;
	outdir[n] = '\0';
	if (n == 0)
		_exit(127);   /* the parent could not make the directory and said so */
	close(go);
	const char *old = getenv("LD_PRELOAD");
	char preload[PATH_MAX * 4];
	if (old && *old)
		snprintf(preload, sizeof(preload), "%s:%s", o->shim, old);
	else
		snprintf(preload, sizeof(preload), "%s", o->shim);
	/* CMD is the top of its own run, whoever started `leakwatch run` */
	int bad = unsetenv(LW_ENV_PARENT) || setenv("LD_PRELOAD", preload, 1) ||
		  setenv(LW_ENV_DIR, outdir, 1) ||
		  (o->rate && setenv(LW_ENV_RATE, o->rate, 1)) ||
		  (o->interval && setenv(LW_ENV_INTERVAL, o->interval, 1)) ||
		  (o->sig && setenv(LW_ENV_SIGNAL, o->sig, 1)) ||
		  (o->children && setenv(LW_ENV_CHILDREN, o->children, 1));
	if (!bad)
		execvp(o->cmd[0], o->cmd);
	int e = errno;
	ssize_t w = write(fail, &e, sizeof(e));
	(void)w;
	_exit(127);
}

/* The dump signal CMD will listen to: --signal, else LEAKWATCH_SIGNAL as
 * the shim reads it (an invalid value falls back to USR2 there too). */
static int dump_signal_of(const char *sig)
{
	int signo = SIGUSR2;
	const char *s = sig != NULL ? sig : getenv(LW_ENV_SIGNAL);
	if (s != NULL && *s && lw_env_parse_signal(s, &signo) < 0)
		signo = SIGUSR2;
	return signo;
}

static int wait_child(pid_t pid, const char *name)
{
	int status;
	pid_t w;
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	if (w < 0) {
		lw_error("waiting for '%s': %s", name, strerror(errno));
		return 1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

int lw_cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "rate", required_argument, NULL, 'r' },
		{ "interval", required_argument, NULL, 'i' },
		{ "signal", required_argument, NULL, 's' },
		{ "children", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run_opts o = { 0 };
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': o.dir = optarg; break;
		case 'r': o.rate = optarg; break;
		case 'i': o.interval = optarg; break;
		case 's': o.sig = optarg; break;
		case 'c': o.children = optarg; break;
		case 'h': run_usage(stdout); return 0;
		case ':':
			lw_error("'%s': needs a value", argv[optind - 1]);
			return 2;
		default:
			lw_error("'%s': unknown option", argv[optind - 1]);
			run_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		lw_error("no command given (leakwatch run [options] -- CMD ARGS...)");
		return 2;
	}
	if (check_env_option("--rate", LW_ENV_RATE, o.rate) ||
	    check_env_option("--interval", LW_ENV_INTERVAL, o.interval) ||
	    check_env_option("--signal", LW_ENV_SIGNAL, o.sig) ||
	    check_env_option("--children", LW_ENV_CHILDREN, o.children))
		return 2;
	if (o.dir && !*o.dir) {
		lw_error("'-o': empty directory name");
		return 2;
	}
	char shim[PATH_MAX];
	if (find_shim(shim, sizeof(shim)) < 0) {
		const char *env = getenv(LW_ENV_SHIM);
		if (env && *env)
			lw_error("'%s': LEAKWATCH_SHIM names no file", env);
		else
			lw_error("cannot find libleakwatch.so (set LEAKWATCH_SHIM to its path)");
		return 1;
	}
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd))) {
		lw_error("cannot get the current directory: %s", strerror(errno));
		return 1;
	}
	o.shim = shim;
	o.cwd = cwd;
	o.cmd = argv + optind;

	/* go: the directory, parent -> child; fail: exec errno, child -> parent
	 * (CLOEXEC: a successful exec closes it and the parent reads EOF) */
	int go[2], fail[2];
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(fail, O_CLOEXEC) < 0) {
		lw_error("pipe: %s", strerror(errno));
		return 1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		lw_error("fork: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		close(go[1]);
		close(fail[0]);
		child_main(&o, go[0], fail[1]);
	}
	close(go[0]);
	close(fail[1]);

	struct saved_signals sv = { .n = 0 };
	run_child = pid;
	run_dump_signo = dump_signal_of(o.sig);
	catch_signal(&sv, SIGINT, 1);
	catch_signal(&sv, SIGQUIT, 1);
	catch_signal(&sv, SIGTERM, 0);
	catch_signal(&sv, SIGHUP, 0);
	catch_signal(&sv, SIGUSR2, 0);
	/* another dump signal a person would send (not one the kernel sends
	 * run for its own reasons, such as CHLD or PIPE) */
	if (run_dump_signo == SIGUSR1 || run_dump_signo >= SIGRTMIN)
		catch_signal(&sv, run_dump_signo, 0);

	char want[PATH_MAX * 2], outdir[PATH_MAX * 2];
	struct lw_env env;
	lw_env_defaults(&env);
	env.dir = o.dir;
	const char *what = "path too long";
	int made = 0;
	int rc = lw_env_outdir(want, sizeof(want), cwd, &env, o.cmd[0], (uint64_t)pid) < 0 ? -1
		 : make_run_dir(want, o.cmd[0], pid, outdir, sizeof(outdir), &what, &made);
	if (rc < 0) {
		lw_error("'%s': %s: %s", want, what, strerror(errno));
		close(go[1]);   /* the child reads nothing and leaves */
		close(fail[0]);
		wait_child(pid, o.cmd[0]);
		restore_signals(&sv);
		return 1;
	}
	size_t len = strlen(outdir);
	ssize_t w = write(go[1], outdir, len);
	close(go[1]);
	int child_errno = 0;
	ssize_t r;
	do
		r = read(fail[0], &child_errno, sizeof(child_errno));
	while (r < 0 && errno == EINTR);
	close(fail[0]);
	if (w != (ssize_t)len || r == (ssize_t)sizeof(child_errno)) {
		wait_child(pid, o.cmd[0]);
		restore_signals(&sv);
		unmake_run_dir(outdir, made && strcmp(outdir, want) == 0);
		lw_error("'%s': %s", o.cmd[0], strerror(w != (ssize_t)len ? EPIPE : child_errno));
		return 127;
	}
	fprintf(stderr, "leakwatch: writing to %s\n", outdir);
	rc = wait_child(pid, o.cmd[0]);
	run_child = 0;
	restore_signals(&sv);
	return rc;
}
