/* cmd/run.c — `leakwatch run [-o DIR] [--rate N] [--interval S]
 * [--signal SIG] -- CMD ARGS...`: runs CMD with the shim preloaded, says
 * where its files go, waits, and exits with CMD's status (128+N if a signal
 * N killed it; 127 if it could not be started).
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
 * The output directory is always passed as an absolute LEAKWATCH_DIR, so
 * the message names exactly where the files appear; without -o it is the
 * shim's default, ./leakwatch.<exe>.<pid>, computed here for the child.
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
		"usage: leakwatch run [-o DIR] [--rate N] [--interval S] [--signal SIG] -- CMD ARGS...\n"
		"  Runs CMD under LD_PRELOAD=libleakwatch.so.\n"
		"  -o DIR          output directory (default ./leakwatch.<exe>.<pid>)\n"
		"  --rate N        mean bytes between samples (default 524288; 1 = all)\n"
		"  --interval S    seconds between snapshots (default 60; 0 = none)\n"
		"  --signal SIG    signal that requests a dump (default USR2; none)\n"
		"  The shim is found via $LEAKWATCH_SHIM, the build tree, or the libdir.\n");
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

static volatile pid_t run_child;

/* Signal handler: async-signal-safe (kill only), errno preserved. */
static void forward_signal(int sig)
{
	int e = errno;
	if (run_child > 0)
		kill(run_child, sig);
	errno = e;
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

int lw_cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "rate", required_argument, NULL, 'r' },
		{ "interval", required_argument, NULL, 'i' },
		{ "signal", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *rate = NULL, *interval = NULL, *sig = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': dir = optarg; break;
		case 'r': rate = optarg; break;
		case 'i': interval = optarg; break;
		case 's': sig = optarg; break;
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
	if (check_env_option("--rate", LW_ENV_RATE, rate) ||
	    check_env_option("--interval", LW_ENV_INTERVAL, interval) ||
	    check_env_option("--signal", LW_ENV_SIGNAL, sig))
		return 2;
	if (dir && !*dir) {
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
	char **cmd = argv + optind;

	/* The child reports an exec failure through this pipe (CLOEXEC: a
	 * successful exec closes it, so the parent reads EOF). */
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		lw_error("pipe: %s", strerror(errno));
		return 1;
	}
	/* Block the signals a terminal sends the whole group while we wait:
	 * the child gets them and decides; we report its status. */
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
	sigemptyset(&ign.sa_mask);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		lw_error("fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return 1;
	}
	char outdir[PATH_MAX * 2];
	if (pid == 0) {
		close(pfd[0]);
		int bad = lw_env_outdir(outdir, sizeof(outdir), cwd, dir, cmd[0],
					(uint64_t)getpid()) < 0;
		if (bad)
			errno = ENAMETOOLONG;
		const char *old = getenv("LD_PRELOAD");
		char preload[PATH_MAX * 4];
		if (old && *old)
			snprintf(preload, sizeof(preload), "%s:%s", shim, old);
		else
			snprintf(preload, sizeof(preload), "%s", shim);
		bad = bad || setenv("LD_PRELOAD", preload, 1) ||
		      setenv(LW_ENV_DIR, outdir, 1) ||
		      (rate && setenv(LW_ENV_RATE, rate, 1)) ||
		      (interval && setenv(LW_ENV_INTERVAL, interval, 1)) ||
		      (sig && setenv(LW_ENV_SIGNAL, sig, 1));
		if (!bad)
			execvp(cmd[0], cmd);
		int e = errno;
		ssize_t w = write(pfd[1], &e, sizeof(e));
		(void)w;
		_exit(127);
	}
	close(pfd[1]);
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	/* A TERM or HUP sent to us is passed on, so the child is not orphaned. */
	run_child = pid;
	struct sigaction fwd = { .sa_handler = forward_signal }, old_term, old_hup;
	sigemptyset(&fwd.sa_mask);
	sigaction(SIGTERM, &fwd, &old_term);
	sigaction(SIGHUP, &fwd, &old_hup);
	int child_errno = 0;
	ssize_t r;
	do
		r = read(pfd[0], &child_errno, sizeof(child_errno));
	while (r < 0 && errno == EINTR);
	close(pfd[0]);
	if (r == (ssize_t)sizeof(child_errno)) {
		waitpid(pid, NULL, 0);
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGHUP, &old_hup, NULL);
		lw_error("'%s': %s", cmd[0], strerror(child_errno));
		return 127;
	}
	lw_env_outdir(outdir, sizeof(outdir), cwd, dir, cmd[0], (uint64_t)pid);
	fprintf(stderr, "leakwatch: writing to %s\n", outdir);
	int status;
	pid_t w;
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	if (w < 0) {
		lw_error("waiting for '%s': %s", cmd[0], strerror(errno));
		return 1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}
