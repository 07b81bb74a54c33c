/* db.h — the SQLite store (schema in docs/SCHEMA.md): where .lwd files
 * are loaded, stacks are turned into sites (site/site.h) once, and every
 * view reads from (model.h). All SQL is parameterized.
 *
 * Loading is per file and transactional: a file either loads completely
 * (one transaction) or not at all; a file already loaded (same run_id and
 * seq) is skipped, also when another command loads it at the same time.
 * Symbolization happens during load and is cached in the store, so later
 * commands never need the binaries.
 *
 * Library code (analyze/store/, one file per concern: store_int.h): returns
 * 0 or a negative errno with a one-line message in err where one helps;
 * never prints. Bad input files and symbolization warnings go to the
 * caller's report callback, progress to its progress callback.
 */
#ifndef LW_DB_H
#define LW_DB_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "lwd.h"

typedef struct lw_db {
	sqlite3 *h;
	char *path;             /* file name of the database, "" for a temporary one */
	void *priv_;
} lw_db;

/* Opens (creating if needed) a store at path ("" = a private temporary
 * one) and ensures the schema. -EPROTO: a store of another schema version. */
int lw_db_open(const char *path, lw_db **out, char *err, size_t errlen);
/* Opens an existing store read-only (`leakwatch sql`): SQLite refuses any
 * statement that would modify it. */
int lw_db_open_readonly(const char *path, lw_db **out, char *err, size_t errlen);
void lw_db_close(lw_db *db);

/* Returns 1 if path is an existing SQLite database file, 0 otherwise. */
int lw_db_is_database(const char *path);

/* Invariant walker (the expensive assert tier runs it after every load):
 * every row's references exist, each site's and pc's frame count matches
 * its frames, each snapshot's stack and live-block counts match its rows.
 * O(size of the store). 0, -EINVAL (the first broken invariant in err) or
 * -EIO. */
int lw_db_check(lw_db *db, char *err, size_t errlen);

typedef struct lw_load_stats {
	size_t files_loaded, files_skipped, files_failed;
} lw_load_stats;

/* A bad file (or a warning, message starting "warning: ") with its path. */
typedef void (*lw_report_fn)(const char *path, const char *message, void *arg);
/* Called after each file: done of total. */
typedef void (*lw_progress_fn)(size_t done, size_t total, void *arg);

/* Loads .lwd files and directories (a directory loads its *.lwd files in
 * name order and, recursively, its subdirectories). A bad file is reported
 * and skipped (counted in stats->files_failed); nothing loaded before is
 * lost. report and progress may be NULL. Returns 0, or a negative errno when
 * the store itself failed (err names the file). */
int lw_db_load_paths(lw_db *db, char *const *paths, size_t n_paths,
		     lw_report_fn report, lw_progress_fn progress, void *arg,
		     lw_load_stats *stats, char *err, size_t errlen);

/* What every reporting command calls for its PATH arguments: a single
 * database path opens it; otherwise the files and directories are loaded
 * into their cache database (cache.c; a private temporary database when
 * there is no usable cache directory). Fails when nothing at all could be
 * loaded. Returns 0 or a negative errno with a message naming the path. */
int lw_db_open_inputs(char *const *paths, size_t n_paths, lw_report_fn report,
		      lw_progress_fn progress, void *arg, lw_db **out, char *err,
		      size_t errlen);

/* The hash the store keeps of a raw stack (stacks.hash): a dump's stack
 * matches its stored row when the hashes are equal. Never 0. */
uint64_t lw_db_stack_hash(const lw_stack *s);

#endif
