/* cmd/snapshot.c — `leakwatch snapshot [--timeout S] PID`: asks a process
 * running the shim for a full dump, waits for the new dump-NNNNNN.lwd and
 * prints its path.
 *
 * Steps: /proc/PID must exist ("no such process") and its maps must contain
 * libleakwatch.so ("is not running leakwatch"). The output directory is, in
 * order: a directory the process holds open that contains its .lwd files;
 * else LEAKWATCH_DIR from /proc/PID/environ (relative to /proc/PID/cwd);
 * else the shim's default leakwatch.<exe>.<pid> in its cwd. The signal is
 * LEAKWATCH_SIGNAL from its environment (default USR2; "none" is an error).
 * Both are read with the shim's own parsers and naming (lw_env.h).
 * We note the highest dump number present, send the signal, and poll every
 * 50 ms until a higher-numbered dump appears (the shim renames complete
 * files into place, so a visible name is a whole file), the process exits,
 * or the timeout (default 30 s) passes.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "lw_env.h"
#include "util.h"

static void snapshot_usage(FILE *out)
{
	fputs("usage: leakwatch snapshot [--timeout S] PID\n"
	      "Asks a process running under libleakwatch.so for a full heap dump, waits for\n"
	      "the file and prints its path.\n"
	      "\n"
	      "  --timeout S          seconds to wait for the dump (default 30)\n"
	      "\n"
	      "Example:\n"
	      "  leakwatch snapshot --timeout 60 4242\n", out);
}

/* Reads a whole /proc file (NUL bytes kept); returns malloc'd bytes or NULL. */
static char *read_proc(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		if (n == cap) {
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	int e = errno;
	close(fd);
	if (buf) {
		buf[n] = '\0';
		*len = n;
	}
	errno = e;
	return buf;
}

static const char *env_lookup(const char *env, size_t len, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < len;) {
		const char *e = env + i;
		size_t el = strnlen(e, len - i);
		if (el > nl && strncmp(e, name, nl) == 0 && e[nl] == '=')
			return e + nl + 1;
		i += el + 1;
	}
	return NULL;
}

struct environ_block {
	const char *env;
	size_t len;
};

static const char *environ_get(const char *name, void *arg)
{
	const struct environ_block *b = arg;
	return env_lookup(b->env, b->len, name);
}

/* dump-NNNNNN.lwd → NNNNNN, else -1 */
static long long dump_number(const char *name)
{
	if (strncmp(name, "dump-", 5) != 0)
		return -1;
	const char *p = name + 5;
	long long v = 0;
	int digits = 0;
	while (isdigit((unsigned char)*p)) {
		if (v > (LLONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*p - '0');
		p++;
		digits++;
	}
	return digits && strcmp(p, ".lwd") == 0 ? v : -1;
}

/* Highest dump number in dir (-1 if none) and whether it has any .lwd. */
static long long newest_dump(const char *dir, char *name, size_t len, int *has_lwd)
{
	long long best = -1;
	*has_lwd = 0;
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t nl = strlen(e->d_name);
		if (e->d_name[0] != '.' && nl > 4 && strcmp(e->d_name + nl - 4, ".lwd") == 0)
			*has_lwd = 1;
		long long v = dump_number(e->d_name);
		if (v > best) {
			best = v;
			if (name)
				snprintf(name, len, "%s", e->d_name);
		}
	}
	closedir(d);
	return best;
}

/* A directory the process has open that holds its .lwd files (the shim
 * keeps its output directory open once it has written to it). */
static int open_dir_of(int pid, const char *want, char *out, size_t len)
{
	char fddir[64];
	snprintf(fddir, sizeof(fddir), "/proc/%d/fd", pid);
	DIR *d = opendir(fddir);
	if (!d)
		return -1;
	struct dirent *e;
	int found = -1;
	while ((e = readdir(d)) && found < 0) {
		if (e->d_name[0] == '.')
			continue;
		char link[PATH_MAX + 64], target[PATH_MAX];
		snprintf(link, sizeof(link), "%s/%s", fddir, e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0 || target[0] != '/')
			continue;
		target[n] = '\0';
		struct stat st;
		if (stat(target, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		int has_lwd;
		newest_dump(target, NULL, 0, &has_lwd);
		if (has_lwd || (want && strcmp(target, want) == 0)) {
			snprintf(out, len, "%s", target);
			found = 0;
		}
	}
	closedir(d);
	return found;
}

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* /proc/PID/<name>'s target, "" when it cannot be read. */
static void proc_link(int pid, const char *name, char *out, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	ssize_t n = readlink(path, out, len - 1);
	out[n > 0 ? n : 0] = '\0';
}

/* ---- lw_cmd_snapshot's steps ------------------------------------------------- */
/* A parser's "no exit status yet: go on with the command". */
enum { SNAP_GO_ON = -1 };

/* What the steps of lw_cmd_snapshot share. A step returns 0 to go on, or
 * the exit status after printing the error. */
struct snap_ctx {
	double timeout;           /* seconds to wait for the dump */
	int pid;
	int signo;                /* its dump signal */
	char dir[PATH_MAX * 3];   /* where its dumps appear */
};

/* PID as written: decimal digits only, 1 to INT_MAX. */
static int parse_pid(const char *arg, int *pid)
{
	uint64_t v;
	if (!isdigit((unsigned char)arg[0]) || lw_parse_u64(arg, &v) < 0 ||
	    strspn(arg, "0123456789") != strlen(arg) || v == 0 || v > INT_MAX) {
		lw_error("'%s': not a process id", arg);
		return 2;
	}
	*pid = (int)v;
	return 0;
}

/* Fills s from the command line; returns SNAP_GO_ON, or the exit status of
 * --help or a usage error. */
static int parse_snapshot_options(int argc, char **argv, struct snap_ctx *s)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (lw_parse_double(optarg, &s->timeout) < 0 || s->timeout <= 0) {
				lw_error("'--timeout %s': need a positive number of seconds", optarg);
				return 2;
			}
			break;
		case 'h': snapshot_usage(stdout); return 0;
		default:
			lw_error("'%s': unknown option or missing value", argv[optind - 1]);
			snapshot_usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		lw_error("need exactly one PID");
		snapshot_usage(stderr);
		return 2;
	}
	return parse_pid(argv[optind], &s->pid) != 0 ? 2 : SNAP_GO_ON;
}

/* The process exists and has the shim mapped. */
static int check_shim_loaded(int pid)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/%d", pid);
	struct stat st;
	if (stat(path, &st) < 0) {
		lw_error("'%d': no such process", pid);
		return 1;
	}
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	char *maps = read_proc(path, &len);
	if (!maps) {
		lw_error("'%d': cannot read %s: %s", pid, path,
			 errno == ENOENT ? "no such process" : strerror(errno));
		return 1;
	}
	int running = strstr(maps, "/libleakwatch.so") != NULL;
	free(maps);
	if (!running) {
		lw_error("'%d': process %d is not running leakwatch (start it with "
			 "`leakwatch run` or LD_PRELOAD=libleakwatch.so)", pid, pid);
		return 1;
	}
	return 0;
}

/* The dump signal, and in `want` the output directory, that the shim in the
 * process took from its environment ("" if none can be named). */
static int read_shim_settings(struct snap_ctx *s, char *want, size_t want_len)
{
	char path[PATH_MAX];
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/environ", s->pid);
	char *env = read_proc(path, &len);
	if (!env) {
		lw_error("'%d': cannot read %s: %s", s->pid, path, strerror(errno));
		return 1;
	}
	/* the same parsers, so an invalid value falls back exactly as the shim did */
	struct environ_block block = { env, len };
	struct lw_env cfg;
	lw_env_read(&cfg, environ_get, NULL, &block);
	if (cfg.signo == 0) {
		lw_error("'%d': dumps on signal are disabled in it (%s=%s)", s->pid, LW_ENV_SIGNAL,
			 env_lookup(env, len, LW_ENV_SIGNAL));
		free(env);
		return 1;
	}
	s->signo = cfg.signo;
	char cwd[PATH_MAX], exe[PATH_MAX];
	proc_link(s->pid, "cwd", cwd, sizeof(cwd));
	proc_link(s->pid, "exe", exe, sizeof(exe));
	if (lw_env_outdir(want, want_len, cwd, &cfg, exe, (uint64_t)s->pid) < 0)
		want[0] = '\0';
	free(env);   /* only now: cfg's strings point into it */
	return 0;
}

/* Polls every 50 ms until a dump numbered above `before` appears, the
 * process exits or the timeout passes. */
static int wait_for_dump(const struct snap_ctx *s, long long before)
{
	double deadline = mono_now() + s->timeout;
	char name[NAME_MAX + 1];
	int has_lwd;
	for (;;) {
		long long now = newest_dump(s->dir, name, sizeof(name), &has_lwd);
		if (now > before) {
			printf("%s/%s\n", s->dir, name);
			return 0;
		}
		if (kill(s->pid, 0) < 0 && errno == ESRCH) {
			lw_error("'%d': the process exited before writing a dump", s->pid);
			return 1;
		}
		if (mono_now() > deadline)
			break;
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	lw_error("'%d': no new dump appeared in '%s' within %.0f s", s->pid, s->dir, s->timeout);
	return 1;
}

/* Notes the newest dump, signals the process and waits for a newer one. */
static int request_dump(const struct snap_ctx *s)
{
	int has_lwd;
	long long before = newest_dump(s->dir, NULL, 0, &has_lwd);
	if (kill(s->pid, s->signo) < 0) {
		lw_error("'%d': cannot signal it: %s", s->pid, strerror(errno));
		return 1;
	}
	return wait_for_dump(s, before);
}

int lw_cmd_snapshot(int argc, char **argv)
{
	struct snap_ctx s = { .timeout = 30 };
	int rc = parse_snapshot_options(argc, argv, &s);
	if (rc != SNAP_GO_ON)
		return rc;
	char want[PATH_MAX * 3];
	if ((rc = check_shim_loaded(s.pid)) != 0 ||
	    (rc = read_shim_settings(&s, want, sizeof(want))) != 0)
		return rc;
	if (open_dir_of(s.pid, want[0] ? want : NULL, s.dir, sizeof(s.dir)) < 0)
		snprintf(s.dir, sizeof(s.dir), "%s", want);
	return request_dump(&s);
}
