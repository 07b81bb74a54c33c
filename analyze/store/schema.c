/* schema.c — the store's schema (docs/SCHEMA.md), opening and closing a
 * handle, and the invariant walker. Keep the schema and docs/SCHEMA.md in
 * step and bump LW_DB_SCHEMA_VERSION on any change: a store of another
 * version is refused with a message (a cache database is rebuilt).
 *
 * A read-write handle runs in WAL mode, so readers (other commands) never
 * block a load, with a 10 s busy timeout for writers that meet.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "lw_assert.h"
#include "store_int.h"

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS processes("
	" id INTEGER PRIMARY KEY,"
	" run_id INTEGER NOT NULL UNIQUE,"
	" pid INTEGER NOT NULL, ppid INTEGER NOT NULL,"
	" parent_run_id INTEGER NOT NULL,"
	" exe TEXT NOT NULL, hostname TEXT NOT NULL, cmdline TEXT NOT NULL,"
	" start_wall_ns INTEGER NOT NULL, start_mono_ns INTEGER NOT NULL,"
	" sample_rate INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS snapshots("
	" id INTEGER PRIMARY KEY,"
	" process_id INTEGER NOT NULL REFERENCES processes(id),"
	" seq INTEGER NOT NULL, kind INTEGER NOT NULL, reason INTEGER NOT NULL,"
	" wall_ns INTEGER NOT NULL, mono_ns INTEGER NOT NULL, t_s REAL NOT NULL,"
	" sample_rate INTEGER NOT NULL,"
	" rss_bytes INTEGER NOT NULL, peak_rss_bytes INTEGER NOT NULL,"
	" heap_committed INTEGER NOT NULL, heap_peak_committed INTEGER NOT NULL,"
	" alloc_calls INTEGER NOT NULL, free_calls INTEGER NOT NULL,"
	" n_stacks INTEGER NOT NULL, n_live INTEGER NOT NULL,"
	" path TEXT NOT NULL, file_size INTEGER NOT NULL,"
	" exit_status INTEGER NOT NULL,"
	" UNIQUE(process_id, seq));"
	"CREATE TABLE IF NOT EXISTS inputs(path TEXT PRIMARY KEY);"
	"CREATE TABLE IF NOT EXISTS files("
	" path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
	" snapshot_id INTEGER NOT NULL REFERENCES snapshots(id));"
	"CREATE TABLE IF NOT EXISTS modules("
	" id INTEGER PRIMARY KEY,"
	" process_id INTEGER NOT NULL REFERENCES processes(id),"
	" path TEXT NOT NULL, build_id TEXT NOT NULL,"
	" load_bias INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,"
	" first_seq INTEGER NOT NULL,"
	" UNIQUE(process_id, start, path));"
	"CREATE TABLE IF NOT EXISTS segments("
	" module_id INTEGER NOT NULL REFERENCES modules(id),"
	" prot INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,"
	" file_offset INTEGER NOT NULL, file_size INTEGER NOT NULL,"
	" PRIMARY KEY(module_id, start)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS frames("
	" id INTEGER PRIMARY KEY,"
	" function TEXT NOT NULL, file TEXT NOT NULL, line INTEGER NOT NULL,"
	" module TEXT NOT NULL,"
	" UNIQUE(function, file, line, module));"
	"CREATE TABLE IF NOT EXISTS pcs("
	" id INTEGER PRIMARY KEY,"
	" object TEXT NOT NULL, offset INTEGER NOT NULL, n_frames INTEGER NOT NULL,"
	" UNIQUE(object, offset));"
	"CREATE TABLE IF NOT EXISTS pc_frames("
	" pc_id INTEGER NOT NULL REFERENCES pcs(id), depth INTEGER NOT NULL,"
	" frame_id INTEGER NOT NULL REFERENCES frames(id), inlined INTEGER NOT NULL,"
	" PRIMARY KEY(pc_id, depth)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS sites("
	" id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, n_frames INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS site_frames("
	" site_id INTEGER NOT NULL REFERENCES sites(id), depth INTEGER NOT NULL,"
	" frame_id INTEGER NOT NULL REFERENCES frames(id), inlined INTEGER NOT NULL,"
	" pc INTEGER NOT NULL, offset INTEGER NOT NULL,"
	" PRIMARY KEY(site_id, depth)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS stacks("
	" process_id INTEGER NOT NULL REFERENCES processes(id), idx INTEGER NOT NULL,"
	" hash INTEGER NOT NULL, depth INTEGER NOT NULL, flags INTEGER NOT NULL,"
	" skip INTEGER NOT NULL, pcs BLOB NOT NULL,"
	" site_id INTEGER NOT NULL REFERENCES sites(id),"
	" PRIMARY KEY(process_id, idx)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS stacks_site ON stacks(site_id);"
	"CREATE TABLE IF NOT EXISTS counters("
	" snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),"
	" site_id INTEGER NOT NULL REFERENCES sites(id),"
	" n_stacks INTEGER NOT NULL,"
	" alloc_samples INTEGER NOT NULL, alloc_sample_bytes INTEGER NOT NULL,"
	" free_samples INTEGER NOT NULL, free_sample_bytes INTEGER NOT NULL,"
	" alloc_objects REAL NOT NULL, alloc_bytes REAL NOT NULL,"
	" free_objects REAL NOT NULL, free_bytes REAL NOT NULL,"
	" PRIMARY KEY(snapshot_id, site_id)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS live_blocks("
	" snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),"
	" addr INTEGER NOT NULL, size INTEGER NOT NULL,"
	" site_id INTEGER NOT NULL REFERENCES sites(id), stack_idx INTEGER NOT NULL,"
	" tid INTEGER NOT NULL, alloc_mono_ns INTEGER NOT NULL, weight REAL NOT NULL);"
	"CREATE INDEX IF NOT EXISTS live_blocks_snapshot ON live_blocks(snapshot_id);"
	"CREATE VIEW IF NOT EXISTS site_values AS"
	" SELECT snapshot_id, site_id, alloc_objects, alloc_bytes,"
	"  alloc_objects - free_objects AS inuse_objects,"
	"  alloc_bytes - free_bytes AS inuse_bytes"
	" FROM counters;"
	"CREATE VIEW IF NOT EXISTS site_labels AS"
	" SELECT sf.site_id AS site_id, f.function AS function, f.file AS file,"
	"  f.line AS line, f.module AS module"
	" FROM site_frames sf JOIN frames f ON f.id = sf.frame_id WHERE sf.depth = 0;";

int lw_db_exec(sqlite3 *h, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		lw_fail(err, errlen, -EIO, "%s", msg ? msg : sqlite3_errmsg(h));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

int lw_db_query_int(sqlite3 *h, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -EIO;
}

sqlite3_stmt *lw_db_stmt(db_priv *p, int i)
{
	sqlite3_stmt *st = p->st[i];
	sqlite3_reset(st);
	return st;
}

void lw_db_drop_caches(db_priv *p)
{
	lw_map_free(&p->sites);
	lw_map_free(&p->frames);
	lw_map_free(&p->chains);
	free(p->chain_slices);
	p->chain_slices = NULL;
	p->n_chain_slices = p->cap_chain_slices = 0;
	free(p->chain_frames);
	free(p->chain_frame_ids);
	p->chain_frames = NULL;
	p->chain_frame_ids = NULL;
	p->n_chain_frames = p->cap_chain_frames = p->cap_chain_ids = 0;
	for (size_t i = 0; i < p->n_runs; i++)
		free(p->runs[i].v);
	free(p->runs);
	p->runs = NULL;
	p->n_runs = 0;
}

/* Creates the schema in an empty store, in one transaction. */
static int create_schema(sqlite3 *h, char *err, size_t errlen)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "PRAGMA application_id=%d; PRAGMA user_version=%d;",
		 LW_DB_APP_ID, LW_DB_SCHEMA_VERSION);
	int rc = lw_db_exec(h, "BEGIN IMMEDIATE", err, errlen);
	if (rc == 0)
		rc = lw_db_exec(h, schema_sql, err, errlen);
	if (rc == 0)
		rc = lw_db_exec(h, sql, err, errlen);
	if (rc == 0)
		rc = lw_db_exec(h, "COMMIT", err, errlen);
	if (rc < 0)
		lw_db_exec(h, "ROLLBACK", NULL, 0);
	return rc;
}

/* Refuses a database that is not a leakwatch store of this version; creates
 * the schema in an empty one (writable handles). */
static int check_schema(lw_db *db, int writable, char *err, size_t errlen)
{
	int64_t app = 0, ver = 0, n_tables = 0;
	if (lw_db_query_int(db->h, "PRAGMA application_id", &app) < 0 ||
	    lw_db_query_int(db->h, "PRAGMA user_version", &ver) < 0 ||
	    lw_db_query_int(db->h, "SELECT count(*) FROM sqlite_master", &n_tables) < 0)
		return lw_fail(err, errlen, -EIO, "not a usable SQLite database: %s",
			       sqlite3_errmsg(db->h));
	if (n_tables > 0 && app != LW_DB_APP_ID)
		return lw_fail(err, errlen, -EINVAL, "not a leakwatch database");
	if (n_tables > 0 && ver != LW_DB_SCHEMA_VERSION)
		return lw_fail(err, errlen, -EPROTO, "database schema version %lld, this leakwatch "
			       "uses %d; load the files into a new database", (long long)ver,
			       LW_DB_SCHEMA_VERSION);
	if (n_tables == 0 && writable)
		return create_schema(db->h, err, errlen);
	return 0;
}

static int open_flags(const char *path, int flags, lw_db **out, char *err, size_t errlen)
{
	*out = NULL;
	lw_db *db = calloc(1, sizeof(*db));
	db_priv *p = calloc(1, sizeof(*p));
	if (!db || !p) {
		free(db);
		free(p);
		return lw_fail(err, errlen, -ENOMEM, "out of memory");
	}
	lw_map_init(&p->sites, 1);
	lw_map_init(&p->frames, 1);
	lw_map_init(&p->strings, 1);
	lw_map_init(&p->chains, 1);
	p->cache_fd = -1;
	db->priv_ = p;
	db->path = strdup(path);
	int rc = -ENOMEM;
	if (!db->path) {
		lw_fail(err, errlen, rc, "out of memory");
		goto fail;
	}
	if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
		rc = lw_fail(err, errlen, -EIO, "cannot open database: %s",
			     db->h ? sqlite3_errmsg(db->h) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(db->h, 1);
	sqlite3_busy_timeout(db->h, 10000);
	int writable = (flags & SQLITE_OPEN_READWRITE) != 0;
	/* WAL: readers (other commands) never block a load; NORMAL is durable
	 * at checkpoints, which is all a derived store needs. */
	if (writable && (rc = lw_db_exec(db->h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
					 "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;",
					 err, errlen)) < 0)
		goto fail;
	if ((rc = check_schema(db, writable, err, errlen)) < 0)
		goto fail;
	if (writable && (rc = lw_stmt_prepare(db->h, p->st, err, errlen)) < 0)
		goto fail;
	lw_db_query_int(db->h, "PRAGMA data_version", &p->data_version);
	*out = db;
	return 0;
fail:
	lw_db_close(db);
	return rc;
}

int lw_db_open(const char *path, lw_db **out, char *err, size_t errlen)
{
	/* A new store file is created 0600 (O_EXCL, no symlink followed). */
	if (path[0] && strcmp(path, ":memory:") != 0) {
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
	}
	return open_flags(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			  SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX, out, err, errlen);
}

int lw_db_open_readonly(const char *path, lw_db **out, char *err, size_t errlen)
{
	if (!lw_db_is_database(path))
		return lw_fail(err, errlen, -EINVAL, "not an SQLite database");
	return open_flags(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX,
			  out, err, errlen);
}

void lw_db_close(lw_db *db)
{
	if (!db)
		return;
	db_priv *p = db->priv_;
	if (p) {
		lw_stmt_finalize(p->st);
		lw_db_drop_caches(p);
		lw_map_free(&p->strings);
		lw_sym_session_free(p->sym);
		lw_site_build_free(&p->build);
	}
	if (db->h)
		sqlite3_close(db->h);
	/* after SQLite let go of the file: closing another descriptor of it
	 * earlier would drop SQLite's POSIX locks */
	if (p && p->cache_fd >= 0)
		close(p->cache_fd);
	free(p);
	free(db->path);
	free(db);
}

int lw_db_is_database(const char *path)
{
	static const char magic[16] = "SQLite format 3";   /* with its NUL */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return 0;
	struct stat st;
	char buf[16];
	int yes = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		  read(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf) &&
		  memcmp(buf, magic, sizeof(buf)) == 0;
	close(fd);
	return yes;
}

/* ---- invariant walker ---------------------------------------------------------- */

/* Each query counts the rows that break one invariant of the schema
 * (docs/SCHEMA.md); all must count 0. */
static const struct {
	const char *what, *sql;
} db_invariants[] = {
	{ "snapshots of unknown processes",
	  "SELECT count(*) FROM snapshots WHERE process_id NOT IN (SELECT id FROM processes)" },
	{ "files naming unknown snapshots",
	  "SELECT count(*) FROM files WHERE snapshot_id NOT IN (SELECT id FROM snapshots)" },
	{ "stacks of unknown sites",
	  "SELECT count(*) FROM stacks WHERE site_id NOT IN (SELECT id FROM sites)" },
	{ "counters of unknown sites or snapshots",
	  "SELECT count(*) FROM counters WHERE site_id NOT IN (SELECT id FROM sites)"
	  " OR snapshot_id NOT IN (SELECT id FROM snapshots)" },
	{ "sites whose frame count differs from their frames",
	  "SELECT count(*) FROM sites s WHERE n_frames !="
	  " (SELECT count(*) FROM site_frames f WHERE f.site_id = s.id)" },
	{ "pcs whose frame count differs from their frames",
	  "SELECT count(*) FROM pcs p WHERE n_frames !="
	  " (SELECT count(*) FROM pc_frames f WHERE f.pc_id = p.id)" },
	{ "snapshots with more counter stacks than stacks",
	  "SELECT count(*) FROM snapshots s WHERE n_stacks <"
	  " (SELECT coalesce(sum(c.n_stacks), 0) FROM counters c WHERE c.snapshot_id = s.id)" },
	{ "snapshots whose live blocks differ from their count",
	  "SELECT count(*) FROM snapshots s WHERE n_live !="
	  " (SELECT count(*) FROM live_blocks b WHERE b.snapshot_id = s.id)" },
};

int lw_db_check(lw_db *db, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(db_invariants) / sizeof(db_invariants[0]); i++) {
		int64_t bad = 0;
		if (lw_db_query_int(db->h, db_invariants[i].sql, &bad) < 0)
			return lw_fail(err, errlen, -EIO, "checking the store: %s",
				       sqlite3_errmsg(db->h));
		if (bad)
			return lw_fail(err, errlen, -EINVAL, "inconsistent store: %lld %s", (long long)bad,
				       db_invariants[i].what);
	}
	return 0;
}
