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

#include "args.h"
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
	fputs("usage: leakwatch run [options] -- CMD ARGS...\n"
	      "Runs CMD under LD_PRELOAD=libleakwatch.so and exits with its status. INT, QUIT,\n"
	      "TERM and HUP sent to run are passed on to CMD; USR2 asks CMD for a heap dump.\n"
	      "The shim is found via $LEAKWATCH_SHIM, the build tree, or the library directory.\n"
	      "\n"
	      "  -o, --output DIR     output directory (default ./leakwatch.<exe>.<pid>); CMD\n"
	      "                       owns its top, the programs CMD starts write below it\n"
	      "  --rate N             mean bytes between samples (default 524288; K/M/G; 1 = all)\n"
	      "  --interval S         seconds between snapshots (default 60; 0 = none)\n"
	      "  --signal SIG         signal that requests a heap dump (default USR2; none = off)\n"
	      "  --children all|none  whether the programs CMD starts are watched (default all)\n"
	      "\n"
	      "Example:\n"
	      "  leakwatch run -o /tmp/py --interval 5 -- python3 leaky.py\n", out);
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
/* What the command line asks for; shim and cmd are what the child execs. */
struct run_opts {
	const char *dir, *rate, *interval, *sig, *children;
	const char *shim;
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

/* ---- lw_cmd_run's steps ---------------------------------------------------------- */
/* A parser's "no exit status yet: go on with the command". */
enum { RUN_GO_ON = -1 };

/* What the steps of lw_cmd_run share. A step returns 0 to go on, or the
 * exit status after printing the error; once the child exists, a failing
 * step also reaps it and restores run's signal handlers. */
struct run_ctx {
	struct run_opts o;
	char shim[PATH_MAX];
	char cwd[PATH_MAX];
	pid_t pid;                        /* CMD's */
	int go, fail;                     /* the parent's ends of the pipes */
	struct saved_signals sv;          /* run's handlers before it caught them */
	char want[PATH_MAX * 2];          /* the directory asked for */
	char outdir[PATH_MAX * 2];        /* the one CMD writes to (want, or below it) */
	int made;                         /* run created want */
};

/* Fills o from the command line; returns RUN_GO_ON, or the exit status of
 * --help or a usage error. The "+" stops at CMD, so its options stay its own. */
static int parse_run_options(int argc, char **argv, struct run_opts *o)
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
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': o->dir = optarg; break;
		case 'r': o->rate = optarg; break;
		case 'i': o->interval = optarg; break;
		case 's': o->sig = optarg; break;
		case 'c': o->children = optarg; break;
		case 'h': run_usage(stdout); return 0;
		default: return lw_opt_error(c, argv, optind, run_usage);
		}
	}
	if (optind >= argc) {
		lw_error("no command given (leakwatch run [options] -- CMD ARGS...)");
		return 2;
	}
	o->cmd = argv + optind;
	return RUN_GO_ON;
}

/* Refuses, before anything starts, the values the shim would refuse. */
static int check_run_options(const struct run_opts *o)
{
	if (check_env_option("--rate", LW_ENV_RATE, o->rate) ||
	    check_env_option("--interval", LW_ENV_INTERVAL, o->interval) ||
	    check_env_option("--signal", LW_ENV_SIGNAL, o->sig) ||
	    check_env_option("--children", LW_ENV_CHILDREN, o->children))
		return 2;
	if (o->dir && !*o->dir) {
		lw_error("'-o': empty directory name");
		return 2;
	}
	return 0;
}

/* The shim CMD preloads, and the directory a relative -o is taken from. */
static int find_paths(struct run_ctx *r)
{
	if (find_shim(r->shim, sizeof(r->shim)) < 0) {
		const char *env = getenv(LW_ENV_SHIM);
		if (env && *env)
			lw_error("'%s': LEAKWATCH_SHIM names no file", env);
		else
			lw_error("cannot find libleakwatch.so (set LEAKWATCH_SHIM to its path)");
		return 1;
	}
	if (!getcwd(r->cwd, sizeof(r->cwd))) {
		lw_error("cannot get the current directory: %s", strerror(errno));
		return 1;
	}
	r->o.shim = r->shim;
	return 0;
}

/* Forks CMD's process, which waits on `go` for its directory.
 * go: the directory, parent -> child; fail: exec errno, child -> parent
 * (CLOEXEC: a successful exec closes it and the parent reads EOF). */
static int start_child(struct run_ctx *r)
{
	int go[2], fail[2];
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(fail, O_CLOEXEC) < 0) {
		lw_error("pipe: %s", strerror(errno));
		return 1;
	}
	fflush(NULL);   /* nothing buffered is written twice */
	pid_t pid = fork();
	if (pid < 0) {
		lw_error("fork: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		close(go[1]);
		close(fail[0]);
		child_main(&r->o, go[0], fail[1]);
	}
	close(go[0]);
	close(fail[1]);
	r->pid = pid;
	r->go = go[1];
	r->fail = fail[0];
	return 0;
}

/* From here until CMD is reaped, the signals of the file header go to CMD. */
static void catch_run_signals(struct run_ctx *r)
{
	run_child = r->pid;
	run_dump_signo = dump_signal_of(r->o.sig);
	catch_signal(&r->sv, SIGINT, 1);
	catch_signal(&r->sv, SIGQUIT, 1);
	catch_signal(&r->sv, SIGTERM, 0);
	catch_signal(&r->sv, SIGHUP, 0);
	catch_signal(&r->sv, SIGUSR2, 0);
	/* another dump signal a person would send (not one the kernel sends
	 * run for its own reasons, such as CHLD or PIPE) */
	if (run_dump_signo == SIGUSR1 || run_dump_signo >= SIGRTMIN)
		catch_signal(&r->sv, run_dump_signo, 0);
}

/* Makes and claims CMD's directory. On failure the child, told nothing,
 * exits 127 and is reaped. */
static int make_child_dir(struct run_ctx *r)
{
	const char *exe = r->o.cmd[0];
	struct lw_env env;
	lw_env_defaults(&env);
	env.dir = r->o.dir;
	const char *what = "path too long";
	int rc = lw_env_outdir(r->want, sizeof(r->want), r->cwd, &env, exe, (uint64_t)r->pid);
	if (rc >= 0)
		rc = make_run_dir(r->want, exe, r->pid, r->outdir, sizeof(r->outdir), &what, &r->made);
	if (rc >= 0)
		return 0;
	lw_error("'%s': %s: %s", r->want, what, strerror(errno));
	close(r->go);   /* the child reads nothing and leaves */
	close(r->fail);
	wait_child(r->pid, exe);
	restore_signals(&r->sv);
	return 1;
}

/* Hands the child its directory and waits until it has exec'd CMD (EOF on
 * `fail`) or said why it could not: then 127, and the claim is taken back. */
static int release_child(struct run_ctx *r)
{
	size_t len = strlen(r->outdir);
	ssize_t w = write(r->go, r->outdir, len);
	close(r->go);
	int child_errno = 0;
	ssize_t n;
	do
		n = read(r->fail, &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(r->fail);
	if (w == (ssize_t)len && n != (ssize_t)sizeof(child_errno))
		return 0;
	wait_child(r->pid, r->o.cmd[0]);
	restore_signals(&r->sv);
	unmake_run_dir(r->outdir, r->made && strcmp(r->outdir, r->want) == 0);
	lw_error("'%s': %s", r->o.cmd[0], strerror(w != (ssize_t)len ? EPIPE : child_errno));
	return 127;
}

/* Says where the files go, then waits for CMD and takes its status. */
static int watch_child(struct run_ctx *r)
{
	fprintf(stderr, "leakwatch: writing to %s\n", r->outdir);
	int rc = wait_child(r->pid, r->o.cmd[0]);
	run_child = 0;
	restore_signals(&r->sv);
	return rc;
}

int lw_cmd_run(int argc, char **argv)
{
	struct run_ctx r = { .o = { 0 } };
	int rc = parse_run_options(argc, argv, &r.o);
	if (rc != RUN_GO_ON)
		return rc;
	if ((rc = check_run_options(&r.o)) != 0 || (rc = find_paths(&r)) != 0 ||
	    (rc = start_child(&r)) != 0)
		return rc;
	catch_run_signals(&r);
	if ((rc = make_child_dir(&r)) != 0 || (rc = release_child(&r)) != 0)
		return rc;
	return watch_child(&r);
}
