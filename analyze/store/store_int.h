/* store_int.h — what the store's files share and nobody else sees: the
 * per-handle state, the prepared statements, and one prototype list
 * grouped by defining file (mimalloc's internal-header style).
 *
 *   schema.c    schema, open/close, version checks, invariant walker
 *   stmt.c      the prepared statements
 *   load.c      one file → one transaction; the load loop
 *   sites.c     symbolization: pc → inline chain → stack → site row
 *   prefetch.c  parsing the next file on a second thread
 *   walk.c      expanding directories into file lists
 *   cache.c     the cache database behind every command's PATH arguments
 *
 * Threads: a handle is used by one thread; prefetch.c's thread only parses
 * a file (lw_file_open) and never touches the handle.
 */
#ifndef LW_STORE_INT_H
#define LW_STORE_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "db.h"
#include "frame.h"
#include "hashmap.h"
#include "lwd.h"
#include "site.h"
#include "symbols.h"

#define LW_DB_SCHEMA_VERSION 3
#define LW_DB_APP_ID 0x4c574442   /* "LWDB" in PRAGMA application_id */

/* ---- stmt.c ---------------------------------------------------------------- */
enum {
	ST_FIND_SNAPSHOT, ST_FIND_FILE, ST_PUT_FILE,
	ST_FIND_PROCESS, ST_PUT_PROCESS,
	ST_PUT_SNAPSHOT, ST_PUT_MODULE, ST_PUT_SEGMENT,
	ST_LOAD_STACKS, ST_PUT_STACK,
	ST_FIND_PC, ST_PC_FRAMES, ST_PUT_PC, ST_PUT_PC_FRAME,
	ST_FIND_FRAME, ST_PUT_FRAME,
	ST_FIND_SITE, ST_PUT_SITE, ST_PUT_SITE_FRAME,
	ST_PUT_COUNTER, ST_PUT_LIVE,
	ST_COUNT
};
/* Prepares every statement on h into st[]. 0 or -EIO (message in err). */
int lw_stmt_prepare(sqlite3 *h, sqlite3_stmt **st, char *err, size_t errlen);
/* Resets every statement: a statement left on a row keeps a read
 * transaction open, and a later BEGIN IMMEDIATE on a store another
 * connection changed meanwhile would fail at once (SQLITE_BUSY_SNAPSHOT). */
void lw_stmt_reset_all(sqlite3_stmt **st);
void lw_stmt_finalize(sqlite3_stmt **st);

/* ---- per-handle state ----------------------------------------------------------- */

/* A run's stacks as stored: stack index → (hash of its pcs, site id). */
typedef struct lw_run_stacks {
	int64_t process_id;
	struct lw_stack_ent { uint64_t hash; int64_t site_id; } *v;
	size_t n;
} lw_run_stacks;

typedef struct db_priv {
	sqlite3_stmt *st[ST_COUNT];
	int64_t data_version;    /* PRAGMA data_version after our last commit */
	int cache_fd;            /* cache database: shared flock held while open; -1 */
	/* caches of rows (dropped after a rollback or another writer's commit) */
	lw_map sites;            /* site key → site id */
	lw_map frames;           /* function\x1ffile\x1fline\x1fmodule → frame id */
	lw_map chains;           /* "object\x1foffset" → index into chain_slices */
	struct lw_chain_slice { size_t first, n; } *chain_slices;
	size_t n_chain_slices, cap_chain_slices;
	lw_sym_frame *chain_frames;   /* every cached inline chain, back to back */
	int64_t *chain_frame_ids;     /* frames.id of each */
	size_t n_chain_frames, cap_chain_frames, cap_chain_ids;
	lw_run_stacks *runs;
	size_t n_runs;
	/* kept across rollbacks: no row ids */
	lw_map strings;          /* interned strings */
	lw_sym_session *sym;     /* symbolization of the current module map */
	int64_t sym_process;
	uint64_t sym_sig;
	lw_site_build build;     /* stack → site scratch */
} db_priv;

/* ---- schema.c ------------------------------------------------------------- */
int lw_db_exec(sqlite3 *h, const char *sql, char *err, size_t errlen);
/* First column of the first row of sql as an int. 0 or -EIO. */
int lw_db_query_int(sqlite3 *h, const char *sql, int64_t *out);
/* The statement st[i], reset (every caller binds every parameter). */
sqlite3_stmt *lw_db_stmt(db_priv *p, int i);
/* Drops the row caches (after a rollback, or when another connection
 * changed the store: they may name rows that no longer exist). */
void lw_db_drop_caches(db_priv *p);
static inline int64_t lw_u2i(uint64_t v)
{
	int64_t r;
	__builtin_memcpy(&r, &v, sizeof(r));   /* u64 bit patterns in INTEGER */
	return r;
}

/* ---- sites.c ---------------------------------------------------------------- */
/* One file being loaded: what sites.c and load.c share. */
typedef struct lw_loader {
	lw_db *db;
	db_priv *p;
	const lw_file *f;
	const char *path;
	int64_t process_id, snapshot_id;
	lw_report_fn report;
	void *arg;
	const lw_module **mods;  /* modules of this file, sorted by start */
	size_t n_mods;
	char (*mod_hex)[2 * LWD_MAX_BUILD_ID + 1];
	int64_t *site_of;        /* [n_stacks] site id of each stack */
	char err[512];
} lw_loader;

/* Prepares L's module index. 0 or -ENOMEM. */
int lw_sites_begin(lw_loader *L);
void lw_sites_end(lw_loader *L);
/* Fills L->site_of for every stack of the file: known stacks from the run's
 * cache, new or changed ones symbolized and stored. 0 or a negative errno
 * (message in L->err). */
int lw_sites_map_stacks(lw_loader *L);

/* ---- prefetch.c --------------------------------------------------------------- */
/* A file parsed ahead: f (owned by the caller once taken) or rc < 0 and msg. */
typedef struct lw_parsed {
	lw_file *f;
	int rc;
	char msg[512];
} lw_parsed;

/* Parsing (read, CRC, decode) of file `index` of the list on a second
 * thread while this one writes the previous file into SQLite. */
typedef struct lw_prefetch {
	pthread_t th;
	int running;
	size_t index;
	const char *path;
	lw_parsed out;
} lw_prefetch;
void lw_prefetch_start(lw_prefetch *pf, size_t index, const char *path);
/* Waits for the thread; 1 if it ran (its result is in pf->out), 0 if none
 * was started. */
int lw_prefetch_join(lw_prefetch *pf);

/* ---- walk.c ------------------------------------------------------------------- */
typedef struct lw_pathlist {
	char **v;
	size_t n, cap;
} lw_pathlist;
/* Expands paths: a directory becomes its *.lwd files in name order, then its
 * subdirectories' (not following links to directories, 16 levels at most).
 * A path that cannot be read is reported and counted in *n_missing. 0 or
 * -ENOMEM. */
int lw_walk(char *const *paths, size_t n_paths, lw_pathlist *out, lw_report_fn report,
	    void *arg, size_t *n_missing);
void lw_pathlist_free(lw_pathlist *l);

/* ---- load.c ------------------------------------------------------------------- */
enum { LW_LOAD_OK, LW_LOAD_SKIPPED, LW_LOAD_FAILED };
/* Loads one file (parsed ahead when pre is not NULL): LW_LOAD_OK,
 * LW_LOAD_SKIPPED (already there), LW_LOAD_FAILED (reported), or a negative
 * errno: the store failed (message in err). */
int lw_load_file(lw_db *db, const char *path, lw_parsed *pre, lw_report_fn report,
		 void *arg, char *err, size_t errlen);
/* Whether path (absolute) is recorded with this size and mtime. */
int lw_load_file_known(lw_db *db, const char *abspath, const struct stat *st);

#endif
