/* fd_chaos.c — a program that closes every file descriptor, or changes
 * directory, and keeps allocating and asking for snapshots.
 *
 * --close-all --out-dir DIR [--close-loop] [--raise --lw-dir D]:
 *   leaks from before_close_alloc, checkpoint point=before (stdout), then
 *   closes every fd including 0-2 (close_range, or a close() loop with
 *   --close-loop), opens DIR/f0..f5 (they get the lowest free numbers 0..5,
 *   the ones the shim or its libraries may have been using), writes known
 *   lines to f0..f4, leaks from after_close_alloc, requests snapshots and
 *   writes "snapshot rc=R" and the truth lines to f5 (the report). With --raise, also raise(SIGUSR2) (only when
 *   the shim is loaded) and wait up to 20 s for a dump-*.lwd file in D.
 *   A test then checks f0..f4 hold exactly the expected lines: any byte the
 *   shim wrote to a descriptor it no longer owns shows up there.
 * --chdir DIR: checkpoint point=before, chdir(DIR), leak from
 *   after_chdir_alloc, checkpoint point=after.
 * --daemonize --out-dir DIR: daemon(0, 0) (fork, the parent leaves with
 *   _exit, setsid, chdir("/"), stdio to /dev/null), then closes every other
 *   fd, leaks from daemon_alloc, requests two snapshots and reports in
 *   DIR/daemon.status: "pid=P", the truth lines, "snapshot point=P rc=R",
 *   and finally "done" before exit(0).
 * Exit code 0 on success; 6 if a write to one of its own files failed
 * (the descriptor was closed or replaced behind its back), 5 if a close
 * failed. Single-threaded.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app_common.h"

struct blk {
	struct blk *next;
};

static struct blk *g_list;
static int g_write_errors;

/* dprintf that counts failures: a write to our own fd must never fail. */
__attribute__((format(printf, 2, 3))) static void put(int fd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (vdprintf(fd, fmt, ap) < 0)
		g_write_errors++;
	va_end(ap);
}

LW_APP_NOINLINE static void before_close_alloc(size_t size)
{
	struct blk *b = malloc(size);
	if (!b)
		abort();
	memset(b, 1, size);
	b->next = g_list;
	g_list = b;
}

LW_APP_NOINLINE static void after_close_alloc(size_t size)
{
	struct blk *b = malloc(size);
	if (!b)
		abort();
	memset(b, 2, size);
	b->next = g_list;
	g_list = b;
}

LW_APP_NOINLINE static void after_chdir_alloc(size_t size)
{
	struct blk *b = malloc(size);
	if (!b)
		abort();
	memset(b, 3, size);
	b->next = g_list;
	g_list = b;
}

/* Allocates from `depth` frames down, each frame on its own stack page, so
 * that unwinding the allocation walks stack pages never walked before (an
 * unwinder that validates memory page by page, with a cache, has to look
 * at each of them again). */
LW_APP_NOINLINE static void deep_alloc(int depth, size_t size)
{
	volatile char page[4096];
	page[0] = (char)depth;
	page[sizeof page - 1] = (char)depth;
	if (depth > 0)
		deep_alloc(depth - 1, size);
	else
		after_close_alloc(size);
	page[1] = page[0];
}

LW_APP_NOINLINE static void daemon_alloc(size_t size)
{
	struct blk *b = malloc(size);
	if (!b)
		abort();
	memset(b, 4, size);
	b->next = g_list;
	g_list = b;
}

static int run_daemon(const char *out)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/daemon.status", out);
	fflush(stdout);
	if (daemon(0, 0) != 0)
		return 1;
	close_range(3, ~0u, 0);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return 4;
	put(fd, "pid=%ld\n", (long)getpid());
	for (int i = 0; i < 100; i++)
		daemon_alloc(448);
	put(fd, "truth point=d1 site=daemon_alloc inuse_bytes=%d inuse_objects=%d\n", 100 * 448, 100);
	put(fd, "snapshot point=d1 rc=%d\n", app_snapshot_quiet());
	for (int i = 0; i < 100; i++)
		daemon_alloc(448);
	put(fd, "truth point=d2 site=daemon_alloc inuse_bytes=%d inuse_objects=%d\n", 200 * 448, 200);
	put(fd, "snapshot point=d2 rc=%d\n", app_snapshot_quiet());
	put(fd, "truth point=final site=daemon_alloc inuse_bytes=%d inuse_objects=%d\n", 200 * 448,
	    200);
	put(fd, "done\n");
	close(fd);
	return g_write_errors ? 6 : 0;
}

static int has_dump(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;
	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, "dump-", 5) == 0 && strstr(e->d_name, ".lwd") &&
		    !strstr(e->d_name, ".tmp"))
			found = 1;
	closedir(d);
	return found;
}

#define DATA_FILES 5          /* f0..f4; f5 is the report */

static void write_lines(const int *fds, int round)
{
	for (int i = 0; i < DATA_FILES; i++)
		put(fds[i], "file %d round %d: the quick brown fox\n", i, round);
}

static int run_close_all(int argc, char **argv)
{
	const char *out = app_opt_str(argc, argv, "out-dir", NULL);
	const char *lw_dir = app_opt_str(argc, argv, "lw-dir", NULL);
	int raise_sig = app_opt_flag(argc, argv, "raise");
	if (!out) {
		fprintf(stderr, "fd_chaos: --close-all needs --out-dir\n");
		return 2;
	}
	char paths[DATA_FILES + 1][4096];
	for (int i = 0; i <= DATA_FILES; i++)
		snprintf(paths[i], sizeof paths[i], "%s/f%d", out, i);

	for (int i = 0; i < 100; i++)
		before_close_alloc(256);
	app_truth("before", "before_close_alloc", 100 * 256, 100);
	app_snapshot("before");
	fflush(stdout);
	fflush(stderr);

	if (app_opt_flag(argc, argv, "close-loop")) {
		long max = sysconf(_SC_OPEN_MAX);
		if (max < 0 || max > 65536)
			max = 65536;
		for (long fd = 0; fd < max; fd++)
			close((int)fd);
	} else if (close_range(0, ~0u, 0) != 0) {
		return 3;
	}

	int fds[DATA_FILES + 1];
	for (int i = 0; i <= DATA_FILES; i++) {
		fds[i] = open(paths[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fds[i] < 0)
			return 4;
	}
	for (int i = 0; i <= DATA_FILES; i++)
		put(fds[DATA_FILES], "fd%d=%d\n", i, fds[i]);
	write_lines(fds, 1);
	for (int i = 0; i < 100; i++)
		deep_alloc(i % 24, 512);
	int rc = app_snapshot_quiet();
	put(fds[DATA_FILES], "snapshot point=after1 rc=%d\n", rc);
	write_lines(fds, 2);
	if (raise_sig && lw_dir && app_shim_present()) {
		raise(SIGUSR2);
		double deadline = app_now() + 20;
		int got = 0;
		while (!(got = has_dump(lw_dir)) && app_now() < deadline)
			app_sleep(0.02);
		put(fds[DATA_FILES], "dump %s\n", got ? "seen" : "missing");
	}
	for (int i = 0; i < 100; i++)
		after_close_alloc(512);
	rc = app_snapshot_quiet();
	put(fds[DATA_FILES], "snapshot point=after2 rc=%d\n", rc);
	write_lines(fds, 3);
	put(fds[DATA_FILES], "truth point=final site=after_close_alloc inuse_bytes=%d inuse_objects=%d\n",
		200 * 512, 200);
	for (int i = 0; i <= DATA_FILES; i++)
		if (close(fds[i]) != 0)
			return 5;
	return g_write_errors ? 6 : 0;
}

static int run_chdir(const char *dir)
{
	for (int i = 0; i < 100; i++)
		before_close_alloc(256);
	app_truth("before", "before_close_alloc", 100 * 256, 100);
	app_snapshot("before");
	if (chdir(dir) != 0) {
		perror("chdir");
		return 1;
	}
	for (int i = 0; i < 100; i++)
		after_chdir_alloc(384);
	app_truth("after", "after_chdir_alloc", 100 * 384, 100);
	app_snapshot("after");
	app_truth("final", "after_chdir_alloc", 100 * 384, 100);
	return 0;
}

int main(int argc, char **argv)
{
	if (app_opt_flag(argc, argv, "close-all"))
		return run_close_all(argc, argv);
	if (app_opt_flag(argc, argv, "daemonize")) {
		const char *out = app_opt_str(argc, argv, "out-dir", NULL);
		if (!out) {
			fprintf(stderr, "fd_chaos: --daemonize needs --out-dir\n");
			return 2;
		}
		return run_daemon(out);
	}
	const char *dir = app_opt_str(argc, argv, "chdir", NULL);
	if (dir)
		return run_chdir(dir);
	fprintf(stderr, "usage: fd_chaos --close-all --out-dir DIR | --chdir DIR | "
			"--daemonize --out-dir DIR\n");
	return 2;
}
