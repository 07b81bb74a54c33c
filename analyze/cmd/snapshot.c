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
	fprintf(out, "usage: leakwatch snapshot [--timeout S] PID\n"
		     "  Requests a heap dump from a process running under libleakwatch.so,\n"
		     "  waits for the file (default 30 s) and prints its path.\n");
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

int lw_cmd_snapshot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double timeout = 30;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (lw_parse_double(optarg, &timeout) < 0 || timeout <= 0) {
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
	const char *arg = argv[optind];
	uint64_t v;
	if (!isdigit((unsigned char)arg[0]) || lw_parse_u64(arg, &v) < 0 || strspn(arg, "0123456789") != strlen(arg) ||
	    v == 0 || v > INT_MAX) {
		lw_error("'%s': not a process id", arg);
		return 2;
	}
	int pid = (int)v;
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
	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	char *env = read_proc(path, &len);
	if (!env) {
		lw_error("'%d': cannot read %s: %s", pid, path, strerror(errno));
		return 1;
	}
	/* What the shim in that process made of its environment: the same
	 * parsers, so an invalid value falls back exactly as the shim did. */
	struct environ_block block = { env, len };
	struct lw_env cfg;
	lw_env_read(&cfg, environ_get, NULL, &block);
	if (cfg.signo == 0) {
		lw_error("'%d': dumps on signal are disabled in it (%s=%s)", pid, LW_ENV_SIGNAL,
			 env_lookup(env, len, LW_ENV_SIGNAL));
		free(env);
		return 1;
	}
	int signo = cfg.signo;
	char cwd[PATH_MAX], exe[PATH_MAX], want[PATH_MAX * 3];
	snprintf(path, sizeof(path), "/proc/%d/cwd", pid);
	ssize_t n = readlink(path, cwd, sizeof(cwd) - 1);
	cwd[n > 0 ? n : 0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	if (lw_env_outdir(want, sizeof(want), cwd, &cfg, exe, (uint64_t)pid) < 0)
		want[0] = '\0';
	free(env);
	char dir[PATH_MAX * 3];
	if (open_dir_of(pid, want[0] ? want : NULL, dir, sizeof(dir)) < 0)
		snprintf(dir, sizeof(dir), "%s", want);

	int has_lwd;
	long long before = newest_dump(dir, NULL, 0, &has_lwd);
	if (kill(pid, signo) < 0) {
		lw_error("'%d': cannot signal it: %s", pid, strerror(errno));
		return 1;
	}
	double deadline = mono_now() + timeout;
	char name[NAME_MAX + 1];
	for (;;) {
		long long now = newest_dump(dir, name, sizeof(name), &has_lwd);
		if (now > before) {
			printf("%s/%s\n", dir, name);
			return 0;
		}
		if (kill(pid, 0) < 0 && errno == ESRCH) {
			lw_error("'%d': the process exited before writing a dump", pid);
			return 1;
		}
		if (mono_now() > deadline)
			break;
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	lw_error("'%d': no new dump appeared in '%s' within %.0f s", pid, dir, timeout);
	return 1;
}
