/* db.h — the SQLite store (schema in docs/SCHEMA.md). Owns every SQL
 * statement of the analyzer except model.c's queries and `leakwatch sql`.
 * All SQL is parameterized.
 *
 * Loading is per file and transactional: a file either loads completely
 * (one transaction) or not at all; a file already loaded (same run_id and
 * seq) is skipped. Symbolization happens during load and is cached in the
 * store, so later commands never need the binaries.
 */
#ifndef LW_DB_H
#define LW_DB_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

typedef struct lw_db {
	sqlite3 *h;
	char *path;             /* file name of the database, or ":memory:" */
	void *priv_;
} lw_db;

/* Opens (creating if needed) a store at path and ensures the schema.
 * Returns 0, or -1 with a message in err. */
int lw_db_open(const char *path, lw_db **out, char *err, size_t errlen);
void lw_db_close(lw_db *db);
/* Opens an existing store read-only (`leakwatch sql`): SQLite refuses any
 * statement that would modify it. Returns 0, or -1 with a message in err. */
int lw_db_open_readonly(const char *path, lw_db **out, char *err, size_t errlen);

/* Invariant walker (the expensive assert tier runs it after every load):
 * every row's references exist, each site's and pc's frame count matches
 * its frames, each snapshot's stack and live-block counts match its rows.
 * O(size of the store). 0, -EINVAL (the first broken invariant in err) or
 * -EIO. */
int lw_db_check(lw_db *db, char *err, size_t errlen);

/* Returns 1 if path is an existing SQLite database file, 0 otherwise. */
int lw_db_is_database(const char *path);

typedef struct lw_load_stats {
	size_t files_loaded, files_skipped, files_failed;
} lw_load_stats;

/* Loads .lwd files and directories (a directory loads its *.lwd files in
 * name order and, recursively, its subdirectories). A bad file is reported
 * through report(path, message, arg) and skipped; nothing loaded before is
 * lost. `progress` (may be NULL) is called after each file with done/total.
 * Returns 0 if no file failed, 1 if some failed, -1 on a store error (err). */
typedef void (*lw_report_fn)(const char *path, const char *message, void *arg);
typedef void (*lw_progress_fn)(size_t done, size_t total, void *arg);
int lw_db_load_paths(lw_db *db, char *const *paths, size_t n_paths,
		     lw_report_fn report, lw_progress_fn progress, void *arg,
		     lw_load_stats *stats, char *err, size_t errlen);

/* What every reporting command calls for its PATH arguments: a single
 * database path opens it; otherwise the files and directories are loaded
 * into a cache database (under $XDG_CACHE_HOME/leakwatch or
 * ~/.cache/leakwatch, keyed by the absolute input paths; falls back to a
 * temporary database) with progress on a terminal. Bad files are reported
 * on stderr and skipped; if nothing at all could be loaded it fails.
 * Returns 0 or -1 with a message in err naming the offending path. */
int lw_db_open_inputs(char *const *paths, size_t n_paths, lw_db **out,
		      char *err, size_t errlen);

#endif
