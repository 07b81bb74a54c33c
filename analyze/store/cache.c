/* cache.c — the cache database behind every command's PATH arguments
 * (db.h, lw_db_open_inputs; docs/SCHEMA.md, "The cache database").
 *
 * Files and directories given to a command load into
 * $XDG_CACHE_HOME/leakwatch/inputs-<hash>.db (~/.cache/leakwatch when
 * XDG_CACHE_HOME is unset), keyed by the sorted absolute input paths and
 * recording them in its `inputs` table; later commands load only what is
 * new or changed. The directory is created 0700 and must be ours and not
 * writable by others; a database is created 0600 without following links.
 * A cache database mirrors the files present now: rows of files that
 * vanished or changed are pruned on open.
 *
 * The cache is bounded: after each use, databases whose inputs are gone,
 * that were not used for LW_CACHE_MAX_AGE_DAYS, or that exceed the size
 * bound (LEAKWATCH_CACHE_MAX, default LW_CACHE_DEFAULT_MAX; least recently
 * used first) are deleted. A command holds a shared flock on its database
 * while it has it open; deletion takes the exclusive lock without waiting
 * (a database in use is never deleted) and a command that opened a file
 * just deleted notices the changed inode and opens again. Commands that
 * load into the same database take turns through an exclusive flock on
 * "<database>-load" (SQLite alone would let one writer starve the other
 * past its busy timeout), so the second one finds everything loaded. flock
 * and SQLite's POSIX locks do not interact.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "lw_env.h"
#include "store_int.h"

#define LW_CACHE_DEFAULT_MAX (1024ull << 20)
#define LW_CACHE_MAX_AGE_DAYS 30

/* ---- the cache directory -------------------------------------------------------- */

/* Makes dir (mode 0700) if missing; refuses a symlink or a directory
 * writable by others or owned by someone else. */
static int safe_dir(const char *dir)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	struct stat st;
	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return -EPERM;
	return 0;
}

static int cache_dir(char *out, size_t len)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	char base[PATH_MAX];
	if (xdg && xdg[0] == '/')
		snprintf(base, sizeof(base), "%s", xdg);
	else if (home && home[0] == '/')
		snprintf(base, sizeof(base), "%s/.cache", home);
	else
		return -ENOENT;
	if (mkdir(base, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (snprintf(out, len, "%s/leakwatch", base) >= (int)len)
		return -ENAMETOOLONG;
	return safe_dir(out);
}

/* The size bound in bytes; 0 means no cache at all. */
static uint64_t cache_max(void)
{
	uint64_t v;
	const char *s = getenv(LW_ENV_CACHE_MAX);
	if (s && *s && lw_env_parse_size(s, &v) == 0)
		return v;
	return LW_CACHE_DEFAULT_MAX;
}

/* Removes a database and its WAL and shared-memory files. */
static void unlink_db(const char *path)
{
	char side[PATH_MAX + 8];
	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-load", path);
	unlink(side);
}

/* Opens (creating) path without following links and locks it; `how` is
 * LOCK_SH or LOCK_EX|LOCK_NB. Checks that path still names the locked file
 * (a deleter may have unlinked it meanwhile). Returns the fd or -errno. */
static int lock_file(const char *path, int create, int how)
{
	for (int attempt = 0; attempt < 4; attempt++) {
		int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
		if (fd < 0)
			return -errno;
		struct stat st, now;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
			close(fd);
			return -EPERM;
		}
		if ((st.st_mode & 077) && fchmod(fd, 0600) < 0) {
			close(fd);
			return -EPERM;
		}
		if (flock(fd, how) < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
		if (lstat(path, &now) == 0 && now.st_ino == st.st_ino && now.st_dev == st.st_dev)
			return fd;
		close(fd);   /* deleted under us: try again */
	}
	return -EAGAIN;
}

/* ---- one cache database ------------------------------------------------------------ */

/* Opens the cache database of these (sorted, absolute) inputs, rebuilding
 * one of another schema version or one that is not readable. */
static int open_cache(const char *dir, char *const *abs, size_t n, lw_db **out)
{
	uint64_t h = 0;
	for (size_t i = 0; i < n; i++)
		h = lw_hash_more(h, abs[i], strlen(abs[i]) + 1);
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/inputs-%016llx.db", dir, (unsigned long long)h) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = lock_file(path, 1, LOCK_SH);
		if (fd < 0)
			return fd;
		futimens(fd, NULL);   /* last use, for the LRU bound */
		int rc = lw_db_open(path, out, NULL, 0);
		if (rc == 0) {
			((db_priv *)(*out)->priv_)->cache_fd = fd;
			return 0;
		}
		/* an old schema or a damaged file: rebuild it unless in use */
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			unlink_db(path);
		close(fd);
	}
	return -EIO;
}

/* Records the inputs, so pruning can tell when they are gone. */
static int record_inputs(lw_db *db, char *const *abs, size_t n)
{
	sqlite3_stmt *st = NULL;
	int rc = lw_db_exec(db->h, "BEGIN IMMEDIATE", NULL, 0);
	if (rc == 0 && sqlite3_prepare_v2(db->h, "INSERT OR IGNORE INTO inputs(path) VALUES(?1)",
					  -1, &st, NULL) != SQLITE_OK)
		rc = -EIO;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, abs[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = -EIO;
	}
	sqlite3_finalize(st);
	if (rc == 0)
		rc = lw_db_exec(db->h, "COMMIT", NULL, 0);
	if (rc < 0)
		lw_db_exec(db->h, "ROLLBACK", NULL, 0);
	return rc;
}

/* A cache database mirrors the files now present under its inputs: files
 * that vanished or changed since they were loaded (a directory reused by a
 * new run writes the same names again) are forgotten, with their snapshots
 * and, when nothing else refers to them, their processes. A database made
 * by `leakwatch load` is the user's record and is never pruned. */
static int prune_vanished(lw_db *db, char *err, size_t errlen)
{
	static const char *const cleanup[] = {
		"DELETE FROM counters WHERE snapshot_id NOT IN (SELECT snapshot_id FROM files)",
		"DELETE FROM live_blocks WHERE snapshot_id NOT IN (SELECT snapshot_id FROM files)",
		"DELETE FROM snapshots WHERE id NOT IN (SELECT snapshot_id FROM files)",
		("DELETE FROM segments WHERE module_id IN (SELECT id FROM modules WHERE"
		 " process_id NOT IN (SELECT process_id FROM snapshots))"),
		"DELETE FROM modules WHERE process_id NOT IN (SELECT process_id FROM snapshots)",
		"DELETE FROM stacks WHERE process_id NOT IN (SELECT process_id FROM snapshots)",
		"DELETE FROM processes WHERE id NOT IN (SELECT process_id FROM snapshots)",
	};
	sqlite3_stmt *q = NULL, *del = NULL;
	int rc = -EIO, changed = 0;
	if (lw_db_exec(db->h, "BEGIN IMMEDIATE", NULL, 0) < 0)
		goto out;
	if (sqlite3_prepare_v2(db->h, "SELECT path, size, mtime_ns FROM files", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db->h, "DELETE FROM files WHERE path = ?1", -1, &del, NULL) != SQLITE_OK)
		goto out;
	int step;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		const char *path = (const char *)sqlite3_column_text(q, 0);
		struct stat st;
		if (path && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    (sqlite3_int64)st.st_size == sqlite3_column_int64(q, 1) &&
		    (sqlite3_int64)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec ==
			    sqlite3_column_int64(q, 2))
			continue;
		sqlite3_reset(del);
		sqlite3_bind_text(del, 1, path ? path : "", -1, SQLITE_TRANSIENT);
		if (sqlite3_step(del) != SQLITE_DONE)
			goto out;
		changed = 1;
	}
	if (step != SQLITE_DONE)
		goto out;
	for (size_t i = 0; changed && i < sizeof(cleanup) / sizeof(cleanup[0]); i++)
		if (lw_db_exec(db->h, cleanup[i], NULL, 0) < 0)
			goto out;
	if (lw_db_exec(db->h, "COMMIT", NULL, 0) < 0)
		goto out;
	if (changed)
		lw_db_drop_caches(db->priv_);
	rc = 0;
out:
	if (rc < 0) {
		lw_fail(err, errlen, rc, "cache database: %s", sqlite3_errmsg(db->h));
		lw_db_exec(db->h, "ROLLBACK", NULL, 0);
	}
	sqlite3_finalize(q);
	sqlite3_finalize(del);
	return rc;
}

/* ---- bounding the cache ------------------------------------------------------------ */

typedef struct cache_entry {
	char path[PATH_MAX];
	uint64_t bytes;          /* database, WAL and shared memory */
	time_t used;             /* mtime of the database: its last use */
	int gone;                /* its inputs vanished, or it is unreadable */
} cache_entry;

static uint64_t file_bytes(const char *path, const char *suffix)
{
	char p[PATH_MAX + 8];
	struct stat st;
	snprintf(p, sizeof(p), "%s%s", path, suffix);
	return lstat(p, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
}

/* Whether a cache database's inputs are gone (or it cannot tell us). */
static int inputs_gone(const char *path)
{
	lw_db *db = NULL;
	if (lw_db_open_readonly(path, &db, NULL, 0) < 0)
		return 1;
	sqlite3_stmt *st = NULL;
	int gone = 1, n = 0;
	if (sqlite3_prepare_v2(db->h, "SELECT path FROM inputs", -1, &st, NULL) == SQLITE_OK) {
		gone = 0;
		while (!gone && sqlite3_step(st) == SQLITE_ROW) {
			const char *in = (const char *)sqlite3_column_text(st, 0);
			struct stat sb;
			gone = !in || stat(in, &sb) < 0;
			n++;
		}
	}
	sqlite3_finalize(st);
	lw_db_close(db);
	return gone || n == 0;
}

static int cmp_used(const void *a, const void *b)
{
	const cache_entry *x = a, *y = b;
	return x->used < y->used ? -1 : x->used > y->used;
}

/* The other cache databases of dir, oldest use first; *total gets every
 * database's bytes (own included). */
static size_t list_entries(const char *dir, const char *own, cache_entry **out, uint64_t *total)
{
	DIR *d = opendir(dir);
	size_t n = 0, cap = 0;
	*out = NULL;
	*total = 0;
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (strncmp(e->d_name, "inputs-", 7) != 0 || len < 4 ||
		    strcmp(e->d_name + len - 3, ".db") != 0)
			continue;
		cache_entry c;
		struct stat st;
		snprintf(c.path, sizeof(c.path), "%s/%s", dir, e->d_name);
		if (lstat(c.path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		c.bytes = (uint64_t)st.st_size + file_bytes(c.path, "-wal") + file_bytes(c.path, "-shm");
		c.used = st.st_mtime;
		*total += c.bytes;
		if (strcmp(c.path, own) == 0 || lw_grow(out, &cap, n + 1, sizeof(**out)) < 0)
			continue;
		c.gone = 0;
		(*out)[n++] = c;
	}
	closedir(d);
	if (n > 1)
		qsort(*out, n, sizeof(**out), cmp_used);
	return n;
}

/* Deletes a cache database unless another command has it open. */
static int delete_entry(const cache_entry *c)
{
	int fd = lock_file(c->path, 0, LOCK_EX | LOCK_NB);
	if (fd < 0)
		return fd;
	unlink_db(c->path);
	close(fd);
	return 0;
}

/* Keeps the cache directory within its bounds (best effort: what cannot be
 * deleted now is left for a later command). */
static void bound_cache(const char *dir, const char *own, uint64_t max)
{
	cache_entry *v;
	uint64_t total;
	size_t n = list_entries(dir, own, &v, &total);
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		cache_entry *c = &v[i];
		int old = now - c->used > (time_t)LW_CACHE_MAX_AGE_DAYS * 86400;
		int over = total > max;
		if ((old || over || inputs_gone(c->path)) && delete_entry(c) == 0)
			total -= c->bytes < total ? c->bytes : total;
	}
	free(v);
}

/* Waits for the right to load into the cache database at path; returns the
 * descriptor holding it (close it to give it up), or -1 when the lock file
 * cannot be used (then loading is left to SQLite's busy timeout). */
static int lock_loading(const char *path)
{
	char lock[PATH_MAX + 8];
	snprintf(lock, sizeof(lock), "%s-load", path);
	int fd = lock_file(lock, 1, LOCK_EX);
	return fd < 0 ? -1 : fd;
}

/* ---- lw_db_open_inputs ------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A database given as the input: opened as it is (read-only when it cannot
 * be written). */
static int open_database(const char *path, size_t n_paths, lw_db **out, char *err,
			 size_t errlen)
{
	if (n_paths > 1)
		return lw_fail(err, errlen, -EINVAL, "'%s': a database must be the only input", path);
	char e2[400];
	int rc = lw_db_open(path, out, e2, sizeof(e2));
	if (rc == 0 || lw_db_open_readonly(path, out, NULL, 0) == 0)
		return 0;
	return lw_fail(err, errlen, rc, "'%s': %s", path, e2);
}

/* The store for abs[0..n): the cache database, or a private temporary one
 * when there is no usable cache directory or the cache is off. */
static int open_store(char *const *abs, size_t n, char *dir, size_t dirlen, lw_db **db,
		      char *err, size_t errlen)
{
	dir[0] = '\0';
	if (cache_max() > 0 && cache_dir(dir, dirlen) == 0 && open_cache(dir, abs, n, db) == 0 &&
	    record_inputs(*db, abs, n) == 0)
		return 0;
	lw_db_close(*db);
	*db = NULL;
	dir[0] = '\0';
	char e2[400];
	int rc = lw_db_open("", db, e2, sizeof(e2));
	return rc < 0 ? lw_fail(err, errlen, rc, "temporary database: %s", e2) : 0;
}

static void free_paths(char **abs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(abs[i]);
	free(abs);
}

int lw_db_open_inputs(char *const *paths, size_t n_paths, lw_report_fn report,
		      lw_progress_fn progress, void *arg, lw_db **out, char *err, size_t errlen)
{
	*out = NULL;
	if (n_paths == 0)
		return lw_fail(err, errlen, -EINVAL, "no input given");
	for (size_t i = 0; i < n_paths; i++)
		if (lw_db_is_database(paths[i]))
			return open_database(paths[i], n_paths, out, err, errlen);
	/* the cache is keyed by the sorted absolute paths */
	char **abs = calloc(n_paths, sizeof(*abs));
	if (!abs)
		return lw_fail(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n_paths; i++) {
		if (!(abs[i] = realpath(paths[i], NULL))) {
			int rc = lw_fail(err, errlen, -errno, "'%s': %s", paths[i], strerror(errno));
			free_paths(abs, n_paths);
			return rc;
		}
	}
	qsort(abs, n_paths, sizeof(*abs), cmp_str);
	char dir[PATH_MAX], e2[512];
	lw_db *db = NULL;
	lw_load_stats stats = { 0 };
	int64_t n_snaps = 0;
	int rc = open_store(abs, n_paths, dir, sizeof(dir), &db, err, errlen);
	int load_fd = rc == 0 && dir[0] ? lock_loading(db->path) : -1;
	if (rc == 0 && (rc = prune_vanished(db, e2, sizeof(e2))) < 0)
		lw_fail(err, errlen, rc, "%s", e2);
	if (rc == 0 && (rc = lw_db_load_paths(db, abs, n_paths, report, progress, arg, &stats,
					      e2, sizeof(e2))) < 0)
		lw_fail(err, errlen, rc, "%s", e2);
	if (load_fd >= 0)
		close(load_fd);   /* lets the next loader in */
	if (rc == 0 && (lw_db_query_int(db->h, "SELECT count(*) FROM snapshots", &n_snaps) < 0 ||
			n_snaps == 0))
		rc = lw_fail(err, errlen, -ENOENT, "'%s': %s", paths[0], stats.files_failed
			     ? "nothing could be loaded" : "no .lwd files found");
	if (rc == 0 && dir[0])
		bound_cache(dir, db->path, cache_max());
	free_paths(abs, n_paths);
	if (rc < 0) {
		lw_db_close(db);
		return rc;
	}
	*out = db;
	return 0;
}
