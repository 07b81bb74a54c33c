/* db.c — the SQLite store: schema, loading .lwd files, symbolizing stacks
 * into sites, and the cache database behind every command's PATH arguments.
 * The schema is documented in docs/SCHEMA.md; keep both in step (bump
 * LW_DB_SCHEMA_VERSION on any change).
 *
 * Loading one file is one transaction: process row (first file of a run),
 * snapshot row, modules, stacks that are new or changed, counters summed per
 * site, live blocks. Any failure rolls the transaction back and drops every
 * in-memory cache (they may name rows that no longer exist), so nothing loaded
 * before is lost and nothing half-loaded stays.
 *
 * Hot path (1,000 snapshots × 5,000 stacks): the shim's stack table only
 * grows, so a run's stacks are identical from file to file. Per run we keep
 * an array stack index → (hash of the pcs, site id); a stack whose hash
 * matches costs one hash and one lookup; only new stacks are symbolized.
 * Symbolization is cached twice: per (object, module offset) in the `pcs`
 * table (object = build-id, or path when there is none) across runs and
 * databases' lifetimes, and in memory for the load. All statements are
 * prepared once per database handle. All SQL is parameterized.
 *
 * Library code: returns codes and fills message buffers; only
 * lw_db_open_inputs prints (bad input files, on stderr), as db.h documents.
 */
#include "db.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "hashmap.h"
#include "lw_assert.h"
#include "lwd.h"
#include "progress.h"
#include "symbols.h"
#include "text.h"

#define LW_DB_SCHEMA_VERSION 1
#define LW_DB_APP_ID 0x4c574442   /* "LWDB" in PRAGMA application_id */

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
	" UNIQUE(process_id, seq));"
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
	" pc INTEGER NOT NULL,"
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

/* ---- prepared statements ---------------------------------------------------- */

enum {
	ST_FIND_SNAPSHOT, ST_FIND_FILE, ST_PUT_FILE,
	ST_FIND_PROCESS, ST_PUT_PROCESS,
	ST_PUT_SNAPSHOT, ST_PUT_MODULE, ST_FIND_MODULE, ST_PUT_SEGMENT,
	ST_LOAD_STACKS, ST_PUT_STACK,
	ST_FIND_PC, ST_PC_FRAMES, ST_PUT_PC, ST_PUT_PC_FRAME,
	ST_FIND_FRAME, ST_PUT_FRAME,
	ST_FIND_SITE, ST_PUT_SITE, ST_PUT_SITE_FRAME,
	ST_PUT_COUNTER, ST_PUT_LIVE,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_FIND_SNAPSHOT] = "SELECT s.id FROM snapshots s JOIN processes p ON p.id = s.process_id"
			     " WHERE p.run_id = ?1 AND s.seq = ?2",
	[ST_FIND_FILE] = "SELECT 1 FROM files WHERE path = ?1 AND size = ?2 AND mtime_ns = ?3",
	[ST_PUT_FILE] = "INSERT OR REPLACE INTO files(path, size, mtime_ns, snapshot_id)"
			" VALUES(?1, ?2, ?3, ?4)",
	[ST_FIND_PROCESS] = "SELECT id FROM processes WHERE run_id = ?1",
	[ST_PUT_PROCESS] = "INSERT INTO processes(run_id, pid, ppid, parent_run_id, exe, hostname,"
			   " cmdline, start_wall_ns, start_mono_ns, sample_rate)"
			   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[ST_PUT_SNAPSHOT] = "INSERT INTO snapshots(process_id, seq, kind, reason, wall_ns, mono_ns,"
			    " t_s, sample_rate, rss_bytes, peak_rss_bytes, heap_committed,"
			    " heap_peak_committed, alloc_calls, free_calls, n_stacks, n_live,"
			    " path, file_size)"
			    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
			    " ?15, ?16, ?17, ?18)",
	[ST_PUT_MODULE] = "INSERT OR IGNORE INTO modules(process_id, path, build_id, load_bias,"
			  " start, end, first_seq) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_FIND_MODULE] = "SELECT id FROM modules WHERE process_id = ?1 AND start = ?2 AND path = ?3",
	[ST_PUT_SEGMENT] = "INSERT OR IGNORE INTO segments(module_id, prot, start, end, file_offset,"
			   " file_size) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_LOAD_STACKS] = "SELECT idx, hash, site_id FROM stacks WHERE process_id = ?1",
	[ST_PUT_STACK] = "INSERT OR REPLACE INTO stacks(process_id, idx, hash, depth, flags, skip,"
			 " pcs, site_id) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_FIND_PC] = "SELECT id FROM pcs WHERE object = ?1 AND offset = ?2",
	[ST_PC_FRAMES] = "SELECT pf.inlined, f.id, f.function, f.file, f.line, f.module"
			 " FROM pc_frames pf JOIN frames f ON f.id = pf.frame_id"
			 " WHERE pf.pc_id = ?1 ORDER BY pf.depth",
	[ST_PUT_PC] = "INSERT INTO pcs(object, offset, n_frames) VALUES(?1, ?2, ?3)",
	[ST_PUT_PC_FRAME] = "INSERT INTO pc_frames(pc_id, depth, frame_id, inlined)"
			    " VALUES(?1, ?2, ?3, ?4)",
	[ST_FIND_FRAME] = "SELECT id FROM frames WHERE function = ?1 AND file = ?2 AND line = ?3"
			  " AND module = ?4",
	[ST_PUT_FRAME] = "INSERT INTO frames(function, file, line, module) VALUES(?1, ?2, ?3, ?4)",
	[ST_FIND_SITE] = "SELECT id FROM sites WHERE key = ?1",
	[ST_PUT_SITE] = "INSERT INTO sites(key, n_frames) VALUES(?1, ?2)",
	[ST_PUT_SITE_FRAME] = "INSERT INTO site_frames(site_id, depth, frame_id, inlined, pc)"
			      " VALUES(?1, ?2, ?3, ?4, ?5)",
	[ST_PUT_COUNTER] = "INSERT INTO counters(snapshot_id, site_id, n_stacks, alloc_samples,"
			   " alloc_sample_bytes, free_samples, free_sample_bytes, alloc_objects,"
			   " alloc_bytes, free_objects, free_bytes)"
			   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[ST_PUT_LIVE] = "INSERT INTO live_blocks(snapshot_id, addr, size, site_id, stack_idx, tid,"
			" alloc_mono_ns, weight) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
};

/* ---- in-memory caches --------------------------------------------------------- */

/* A symbolized frame as the load works with it; strings are interned. */
typedef struct mframe {
	int64_t frame_id;
	const char *function, *file, *module;
	int line;
	int inlined;
} mframe;

typedef struct chain_ent {
	size_t first, n;         /* slice of priv->chain_frames */
} chain_ent;

typedef struct stack_ent {
	uint64_t hash;
	int64_t site_id;         /* 0 = not known */
} stack_ent;

typedef struct run_cache {
	int64_t process_id;
	stack_ent *v;
	size_t n;
} run_cache;

typedef struct db_priv {
	sqlite3_stmt *st[ST_COUNT];
	lw_map sites;            /* key → site id */
	lw_map frames;           /* function\tfile\tline\tmodule → frame id */
	lw_map strings;          /* interned strings */
	lw_map chains;           /* "object\toffset" → index into chain_ents */
	chain_ent *chain_ents;
	size_t n_chain_ents, cap_chain_ents;
	mframe *chain_frames;
	size_t n_chain_frames, cap_chain_frames;
	run_cache *runs;
	size_t n_runs;
	/* symbolization session of the current module map */
	lw_sym_session *sym;
	int64_t sym_process;
	uint64_t sym_sig;
} db_priv;

static const char *intern(db_priv *p, const char *s)
{
	return lw_map_intern(&p->strings, s);
}

/* Drops every in-memory cache: after a rollback they may name rows that
 * no longer exist. */
static void drop_caches(db_priv *p)
{
	lw_map_free(&p->sites);
	lw_map_free(&p->frames);
	lw_map_free(&p->chains);
	free(p->chain_ents);
	p->chain_ents = NULL;
	p->n_chain_ents = p->cap_chain_ents = 0;
	free(p->chain_frames);
	p->chain_frames = NULL;
	p->n_chain_frames = p->cap_chain_frames = 0;
	for (size_t i = 0; i < p->n_runs; i++)
		free(p->runs[i].v);
	free(p->runs);
	p->runs = NULL;
	p->n_runs = 0;
	/* strings and the symbol session hold no row ids: keep them */
}

/* ---- open / close ------------------------------------------------------------ */

static int set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int exec_sql(sqlite3 *h, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		set_err(err, errlen, "%s", msg ? msg : sqlite3_errmsg(h));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int pragma_int(sqlite3 *h, const char *sql, int *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int open_flags(const char *path, int flags, lw_db **out, char *err, size_t errlen)
{
	*out = NULL;
	lw_db *db = calloc(1, sizeof(*db));
	db_priv *p = calloc(1, sizeof(*p));
	if (!db || !p) {
		free(db);
		free(p);
		return set_err(err, errlen, "out of memory");
	}
	lw_map_init(&p->sites, 1);
	lw_map_init(&p->frames, 1);
	lw_map_init(&p->strings, 1);
	lw_map_init(&p->chains, 1);
	db->priv_ = p;
	db->path = strdup(path);
	if (!db->path) {
		lw_db_close(db);
		return set_err(err, errlen, "out of memory");
	}
	if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
		set_err(err, errlen, "cannot open database: %s",
			db->h ? sqlite3_errmsg(db->h) : "out of memory");
		lw_db_close(db);
		return -1;
	}
	sqlite3_extended_result_codes(db->h, 1);
	sqlite3_busy_timeout(db->h, 10000);
	int app = 0, ver = 0, n_tables = 0;
	if (pragma_int(db->h, "PRAGMA application_id", &app) < 0 ||
	    pragma_int(db->h, "PRAGMA user_version", &ver) < 0 ||
	    pragma_int(db->h, "SELECT count(*) FROM sqlite_master", &n_tables) < 0) {
		set_err(err, errlen, "not a usable SQLite database: %s", sqlite3_errmsg(db->h));
		lw_db_close(db);
		return -1;
	}
	if (n_tables > 0 && app != LW_DB_APP_ID) {
		set_err(err, errlen, "not a leakwatch database");
		lw_db_close(db);
		return -1;
	}
	if (n_tables > 0 && ver != LW_DB_SCHEMA_VERSION) {
		set_err(err, errlen, "database schema version %d, this leakwatch uses %d; "
			"load the files into a new database", ver, LW_DB_SCHEMA_VERSION);
		lw_db_close(db);
		return -1;
	}
	if (flags & SQLITE_OPEN_READWRITE) {
		char sql[128];
		/* WAL: readers (other commands) never block a load; NORMAL is
		 * durable at checkpoints, which is all a derived store needs. */
		if (exec_sql(db->h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			     "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;",
			     err, errlen) < 0) {
			lw_db_close(db);
			return -1;
		}
		if (n_tables == 0) {
			snprintf(sql, sizeof(sql), "PRAGMA application_id=%d; PRAGMA user_version=%d;",
				 LW_DB_APP_ID, LW_DB_SCHEMA_VERSION);
			if (exec_sql(db->h, "BEGIN IMMEDIATE", err, errlen) < 0 ||
			    exec_sql(db->h, schema_sql, err, errlen) < 0 ||
			    exec_sql(db->h, sql, err, errlen) < 0 ||
			    exec_sql(db->h, "COMMIT", err, errlen) < 0) {
				lw_db_close(db);
				return -1;
			}
		}
		for (int i = 0; i < ST_COUNT; i++) {
			if (sqlite3_prepare_v3(db->h, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					       &p->st[i], NULL) != SQLITE_OK) {
				set_err(err, errlen, "preparing statement %d: %s", i,
					sqlite3_errmsg(db->h));
				lw_db_close(db);
				return -1;
			}
		}
	}
	*out = db;
	return 0;
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
		return set_err(err, errlen, "not an SQLite database");
	return open_flags(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX,
			  out, err, errlen);
}

void lw_db_close(lw_db *db)
{
	if (!db)
		return;
	db_priv *p = db->priv_;
	if (p) {
		for (int i = 0; i < ST_COUNT; i++)
			sqlite3_finalize(p->st[i]);
		drop_caches(p);
		lw_map_free(&p->strings);
		lw_sym_session_free(p->sym);
		free(p);
	}
	if (db->h)
		sqlite3_close(db->h);
	free(db->path);
	free(db);
}

int lw_db_is_database(const char *path)
{
	static const char magic[16] = "SQLite format 3";   /* with its NUL */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
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
		int bad = 0;
		if (pragma_int(db->h, db_invariants[i].sql, &bad) < 0)
			return lw_fail(err, errlen, -EIO, "checking the store: %s",
				       sqlite3_errmsg(db->h));
		if (bad)
			return lw_fail(err, errlen, -EINVAL, "inconsistent store: %d %s", bad,
				       db_invariants[i].what);
	}
	return 0;
}

/* ---- loading ------------------------------------------------------------------ */

typedef struct loader {
	lw_db *db;
	db_priv *p;
	const lw_file *f;
	const char *path;
	int64_t process_id;
	int64_t snapshot_id;
	lw_report_fn report;
	void *arg;
	/* modules of this file, sorted by start, for pc → module */
	const lw_module **mods;
	size_t n_mods;
	char (*mod_hex)[2 * LWD_MAX_BUILD_ID + 1];
	/* scratch */
	mframe *fr;
	size_t n_fr, cap_fr;
	char *key;
	size_t key_len, key_cap;
	char err[512];
} loader;

static int db_fail(loader *L, const char *what)
{
	snprintf(L->err, sizeof(L->err), "%s: %s", what, sqlite3_errmsg(L->db->h));
	return -1;
}

static sqlite3_stmt *stmt(loader *L, int i)
{
	/* every caller binds every parameter, so no clear_bindings */
	sqlite3_stmt *st = L->p->st[i];
	sqlite3_reset(st);
	return st;
}

static int64_t u2i(uint64_t v)
{
	int64_t r;
	memcpy(&r, &v, sizeof(r));   /* store u64 bit patterns in INTEGER */
	return r;
}

static int cmp_mod_ptr(const void *a, const void *b)
{
	const lw_module *x = *(const lw_module *const *)a, *y = *(const lw_module *const *)b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int find_mod(const loader *L, uint64_t addr)
{
	size_t lo = 0, hi = L->n_mods;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (L->mods[mid]->start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0 && addr < L->mods[lo - 1]->end)
		return (int)(lo - 1);
	return -1;
}

static uint64_t modmap_signature(const lw_file *f)
{
	uint64_t h = 0;
	for (size_t i = 0; i < f->n_modules; i++) {
		const lw_module *m = &f->modules[i];
		h = lw_hash_more(h, &m->start, sizeof(m->start));
		h = lw_hash_more(h, &m->end, sizeof(m->end));
		h = lw_hash_more(h, &m->load_bias, sizeof(m->load_bias));
		h = lw_hash_more(h, m->path, strlen(m->path) + 1);
		h = lw_hash_more(h, m->build_id, m->build_id_len);
	}
	return h;
}

static lw_sym_session *get_session(loader *L)
{
	db_priv *p = L->p;
	uint64_t sig = modmap_signature(L->f);
	if (p->sym && p->sym_process == L->process_id && p->sym_sig == sig)
		return p->sym;
	lw_sym_session_free(p->sym);
	p->sym = lw_sym_session_new(L->f);
	p->sym_process = L->process_id;
	p->sym_sig = sig;
	if (p->sym && L->report) {
		const char *const *lines;
		size_t n = lw_sym_problems(p->sym, &lines);
		for (size_t i = 0; i < n; i++) {
			char msg[1100];
			snprintf(msg, sizeof(msg), "warning: %s", lines[i]);
			L->report(L->path, msg, L->arg);
		}
	}
	return p->sym;
}

static int64_t frame_id(loader *L, const char *function, const char *file, int line,
			const char *module)
{
	char key[4096];
	snprintf(key, sizeof(key), "%s\t%s\t%d\t%s", function, file, line, module);
	int64_t id;
	const uint64_t *hit = lw_map_find_str(&L->p->frames, key);
	if (hit)
		return (int64_t)*hit;
	sqlite3_stmt *st = stmt(L, ST_FIND_FRAME);
	sqlite3_bind_text(st, 1, function, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, file, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, line);
	sqlite3_bind_text(st, 4, module, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
	} else if (rc == SQLITE_DONE) {
		st = stmt(L, ST_PUT_FRAME);
		sqlite3_bind_text(st, 1, function, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, file, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, line);
		sqlite3_bind_text(st, 4, module, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_fail(L, "inserting a frame");
		id = sqlite3_last_insert_rowid(L->db->h);
	} else {
		return db_fail(L, "looking up a frame");
	}
	uint64_t *slot = lw_map_put_str(&L->p->frames, key, NULL, NULL);
	if (slot)
		*slot = (uint64_t)id;
	if (!slot) {
		snprintf(L->err, sizeof(L->err), "out of memory");
		return -1;
	}
	return id;
}

static int push_chain_frame(db_priv *p, const mframe *f)
{
	if (p->n_chain_frames == p->cap_chain_frames) {
		size_t ncap = p->cap_chain_frames ? p->cap_chain_frames * 2 : 4096;
		mframe *n = realloc(p->chain_frames, ncap * sizeof(*n));
		if (!n)
			return -1;
		p->chain_frames = n;
		p->cap_chain_frames = ncap;
	}
	p->chain_frames[p->n_chain_frames++] = *f;
	return 0;
}

static int add_chain(db_priv *p, const char *key, size_t first, size_t n, size_t *index)
{
	if (p->n_chain_ents == p->cap_chain_ents) {
		size_t ncap = p->cap_chain_ents ? p->cap_chain_ents * 2 : 1024;
		chain_ent *e = realloc(p->chain_ents, ncap * sizeof(*e));
		if (!e)
			return -1;
		p->chain_ents = e;
		p->cap_chain_ents = ncap;
	}
	chain_ent *e = &p->chain_ents[p->n_chain_ents];
	e->first = first;
	e->n = n;
	uint64_t *slot = lw_map_put_str(&p->chains, key, NULL, NULL);
	if (!slot)
		return -1;
	*slot = p->n_chain_ents;
	*index = p->n_chain_ents++;
	return 0;
}

/* Symbolized inline chain of one pc (innermost first) as a slice of
 * p->chain_frames: from memory, from the pcs table, or from libdwfl (then
 * stored in the pcs table when resolved). Returns 0 and sets *first and *n. */
static int pc_chain(loader *L, uint64_t pc, size_t *first, size_t *n)
{
	db_priv *p = L->p;
	int mi = find_mod(L, pc > 0 ? pc - 1 : pc);
	char key[2 * LWD_MAX_BUILD_ID + PATH_MAX + 40];
	const char *object = NULL;
	uint64_t offset = pc;
	if (mi >= 0) {
		const lw_module *m = L->mods[mi];
		object = L->mod_hex[mi][0] ? L->mod_hex[mi] : m->path;
		offset = pc - m->load_bias;
		snprintf(key, sizeof(key), "%s\t%llx", object, (unsigned long long)offset);
		const uint64_t *ix = lw_map_find_str(&p->chains, key);
		if (ix) {
			*first = p->chain_ents[*ix].first;
			*n = p->chain_ents[*ix].n;
			return 0;
		}
		/* the persistent cache */
		sqlite3_stmt *st = stmt(L, ST_FIND_PC);
		sqlite3_bind_text(st, 1, object, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, u2i(offset));
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			int64_t pc_id = sqlite3_column_int64(st, 0);
			size_t start = p->n_chain_frames;
			st = stmt(L, ST_PC_FRAMES);
			sqlite3_bind_int64(st, 1, pc_id);
			while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
				mframe f = {
					.inlined = sqlite3_column_int(st, 0),
					.frame_id = sqlite3_column_int64(st, 1),
					.function = intern(p, (const char *)sqlite3_column_text(st, 2)),
					.file = intern(p, (const char *)sqlite3_column_text(st, 3)),
					.line = sqlite3_column_int(st, 4),
					.module = intern(p, (const char *)sqlite3_column_text(st, 5)),
				};
				if (!f.function || !f.file || !f.module || push_chain_frame(p, &f) < 0) {
					snprintf(L->err, sizeof(L->err), "out of memory");
					return -1;
				}
			}
			if (rc != SQLITE_DONE)
				return db_fail(L, "reading the symbol cache");
			if (p->n_chain_frames > start) {
				size_t ix2;
				if (add_chain(p, key, start, p->n_chain_frames - start, &ix2) < 0) {
					snprintf(L->err, sizeof(L->err), "out of memory");
					return -1;
				}
				*first = start;
				*n = p->n_chain_frames - start;
				return 0;
			}
		} else if (rc != SQLITE_DONE) {
			return db_fail(L, "reading the symbol cache");
		}
	} else {
		snprintf(key, sizeof(key), "\t%llx", (unsigned long long)pc);
		const uint64_t *ix = lw_map_find_str(&p->chains, key);
		if (ix) {
			*first = p->chain_ents[*ix].first;
			*n = p->chain_ents[*ix].n;
			return 0;
		}
	}

	/* Symbolize. */
	lw_sym_session *s = get_session(L);
	lw_sym_result r[32];
	size_t k = 0;
	if (s)
		k = lw_sym_resolve(s, pc, 1, r, 32);
	if (k == 0) {
		r[0] = (lw_sym_result){ .function = "??", .file = "", .line = 0,
					.module = mi >= 0 ? L->mods[mi]->path : "??",
					.build_id_hex = "", .module_offset = offset };
		k = 1;
	}
	size_t start = p->n_chain_frames;
	int resolved = 0;
	for (size_t i = 0; i < k; i++) {
		const char *module = lw_base_name(r[i].module);
		int64_t fid = frame_id(L, r[i].function, r[i].file, r[i].line, module);
		if (fid < 0)
			return -1;
		mframe f = {
			.frame_id = fid,
			.function = intern(p, r[i].function),
			.file = intern(p, r[i].file),
			.line = r[i].line,
			.module = intern(p, module),
			.inlined = r[i].inlined,
		};
		if (!f.function || !f.file || !f.module || push_chain_frame(p, &f) < 0) {
			snprintf(L->err, sizeof(L->err), "out of memory");
			return -1;
		}
		if (strcmp(r[i].function, "??") != 0)
			resolved = 1;
	}
	size_t ix;
	if (add_chain(p, key, start, k, &ix) < 0) {
		snprintf(L->err, sizeof(L->err), "out of memory");
		return -1;
	}
	/* Persist only what resolved: an unresolved pc may resolve later
	 * (debug info installed, debuginfod reachable). */
	if (object && resolved) {
		sqlite3_stmt *st = stmt(L, ST_PUT_PC);
		sqlite3_bind_text(st, 1, object, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, u2i(offset));
		sqlite3_bind_int64(st, 3, (int64_t)k);
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_fail(L, "inserting a pc");
		int64_t pc_id = sqlite3_last_insert_rowid(L->db->h);
		for (size_t i = 0; i < k; i++) {
			const mframe *f = &p->chain_frames[start + i];
			st = stmt(L, ST_PUT_PC_FRAME);
			sqlite3_bind_int64(st, 1, pc_id);
			sqlite3_bind_int64(st, 2, (int64_t)i);
			sqlite3_bind_int64(st, 3, f->frame_id);
			sqlite3_bind_int(st, 4, f->inlined);
			if (sqlite3_step(st) != SQLITE_DONE)
				return db_fail(L, "inserting a pc frame");
		}
	}
	*first = start;
	*n = k;
	return 0;
}

static int key_append(loader *L, const char *s)
{
	size_t n = strlen(s);
	if (L->key_len + n + 1 > L->key_cap) {
		size_t ncap = L->key_cap ? L->key_cap * 2 : 4096;
		while (ncap < L->key_len + n + 1)
			ncap *= 2;
		char *k = realloc(L->key, ncap);
		if (!k)
			return -1;
		L->key = k;
		L->key_cap = ncap;
	}
	memcpy(L->key + L->key_len, s, n + 1);
	L->key_len += n;
	return 0;
}

/* Site of one stack: symbolize every pc, drop allocator frames from the
 * top, build the canonical key, find or create the site. *skip is the number
 * of leading pcs whose frames were all dropped. */
static int64_t stack_site(loader *L, const lw_stack *stk, uint32_t *skip)
{
	db_priv *p = L->p;
	L->n_fr = 0;
	/* per frame: the raw pc it came from */
	uint64_t pcs_of[LWD_MAX_DEPTH * 32];
	uint32_t pc_index[LWD_MAX_DEPTH * 32];
	for (uint32_t i = 0; i < stk->depth; i++) {
		size_t first, n;
		if (pc_chain(L, stk->pcs[i], &first, &n) < 0)
			return -1;
		for (size_t j = 0; j < n; j++) {
			if (L->n_fr == L->cap_fr) {
				size_t ncap = L->cap_fr ? L->cap_fr * 2 : 256;
				mframe *nf = realloc(L->fr, ncap * sizeof(*nf));
				if (!nf) {
					snprintf(L->err, sizeof(L->err), "out of memory");
					return -1;
				}
				L->fr = nf;
				L->cap_fr = ncap;
			}
			if (L->n_fr >= sizeof(pcs_of) / sizeof(pcs_of[0]))
				break;
			pcs_of[L->n_fr] = stk->pcs[i];
			pc_index[L->n_fr] = i;
			/* chain_frames may move when it grows: copy */
			L->fr[L->n_fr++] = p->chain_frames[first + j];
		}
	}
	size_t top = 0;
	while (top + 1 < L->n_fr &&
	       lw_sym_is_allocator_frame(L->fr[top].function, L->fr[top].module))
		top++;
	*skip = top < L->n_fr ? pc_index[top] : 0;

	L->key_len = 0;
	if (key_append(L, "") < 0)
		goto oom;
	for (size_t i = top; i < L->n_fr; i++) {
		const mframe *f = &L->fr[i];
		char line[32];
		/* Unknown functions keep their module offset in the key, so two
		 * different unsymbolized stacks stay two sites. */
		if (strcmp(f->function, "??") == 0) {
			int mi = find_mod(L, pcs_of[i] > 0 ? pcs_of[i] - 1 : 0);
			uint64_t off = mi >= 0 ? pcs_of[i] - L->mods[mi]->load_bias : pcs_of[i];
			snprintf(line, sizeof(line), "??+0x%llx", (unsigned long long)off);
			if (key_append(L, line) < 0)
				goto oom;
		} else if (key_append(L, f->function) < 0) {
			goto oom;
		}
		snprintf(line, sizeof(line), "\t%d\t", f->line);
		if (key_append(L, "\t") < 0 || key_append(L, f->file) < 0 ||
		    key_append(L, line) < 0 || key_append(L, f->module) < 0 ||
		    key_append(L, "\n") < 0)
			goto oom;
	}
	int64_t id;
	const uint64_t *hit = lw_map_find_str(&p->sites, L->key);
	if (hit)
		return (int64_t)*hit;
	sqlite3_stmt *st = stmt(L, ST_FIND_SITE);
	sqlite3_bind_text(st, 1, L->key, (int)L->key_len, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
	} else if (rc == SQLITE_DONE) {
		st = stmt(L, ST_PUT_SITE);
		sqlite3_bind_text(st, 1, L->key, (int)L->key_len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (int64_t)(L->n_fr - top));
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_fail(L, "inserting a site");
		id = sqlite3_last_insert_rowid(L->db->h);
		for (size_t i = top; i < L->n_fr; i++) {
			st = stmt(L, ST_PUT_SITE_FRAME);
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_int64(st, 2, (int64_t)(i - top));
			sqlite3_bind_int64(st, 3, L->fr[i].frame_id);
			sqlite3_bind_int(st, 4, L->fr[i].inlined);
			sqlite3_bind_int64(st, 5, u2i(pcs_of[i]));
			if (sqlite3_step(st) != SQLITE_DONE)
				return db_fail(L, "inserting a site frame");
		}
	} else {
		return db_fail(L, "looking up a site");
	}
	uint64_t *slot = lw_map_put_str(&p->sites, L->key, NULL, NULL);
	if (!slot)
		goto oom;
	*slot = (uint64_t)id;
	return id;
oom:
	snprintf(L->err, sizeof(L->err), "out of memory");
	return -1;
}

static run_cache *get_run(loader *L)
{
	db_priv *p = L->p;
	for (size_t i = 0; i < p->n_runs; i++)
		if (p->runs[i].process_id == L->process_id)
			return &p->runs[i];
	run_cache *nr = realloc(p->runs, (p->n_runs + 1) * sizeof(*nr));
	if (!nr)
		return NULL;
	p->runs = nr;
	run_cache *rc = &p->runs[p->n_runs++];
	memset(rc, 0, sizeof(*rc));
	rc->process_id = L->process_id;
	/* Stacks already stored for this run (an earlier load). */
	sqlite3_stmt *st = stmt(L, ST_LOAD_STACKS);
	sqlite3_bind_int64(st, 1, L->process_id);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t idx = sqlite3_column_int64(st, 0);
		if (idx < 0 || idx >= (int64_t)UINT32_MAX)
			continue;
		if ((size_t)idx >= rc->n) {
			size_t nn = (size_t)idx + 1;
			stack_ent *v = realloc(rc->v, nn * sizeof(*v));
			if (!v)
				return NULL;
			memset(v + rc->n, 0, (nn - rc->n) * sizeof(*v));
			rc->v = v;
			rc->n = nn;
		}
		rc->v[idx].hash = (uint64_t)sqlite3_column_int64(st, 1);
		rc->v[idx].site_id = sqlite3_column_int64(st, 2);
	}
	return r == SQLITE_DONE ? rc : NULL;
}

/* Word-wise hash of a stack (runs for every stack of every file). */
static uint64_t stack_hash(const lw_stack *s)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ ((uint64_t)s->depth << 32 | s->flags);
	for (uint32_t i = 0; i < s->depth; i++) {
		h = (h ^ s->pcs[i]) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	return h ? h : 1;   /* 0 marks "unknown" in the run cache */
}

typedef struct site_sum {
	int64_t site_id;
	int64_t n_stacks;
	uint64_t alloc_samples, alloc_sample_bytes, free_samples, free_sample_bytes;
	double alloc_objects, alloc_bytes, free_objects, free_bytes;
} site_sum;

static int cmp_sum(const void *a, const void *b)
{
	const site_sum *x = a, *y = b;
	return x->site_id < y->site_id ? -1 : x->site_id > y->site_id;
}

static int load_body(loader *L, int64_t *site_of)
{
	const lw_file *f = L->f;
	const lw_process *pr = &f->process;
	db_priv *p = L->p;
	sqlite3_stmt *st;
	int rc;

	/* process */
	st = stmt(L, ST_FIND_PROCESS);
	sqlite3_bind_int64(st, 1, u2i(f->run_id));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		L->process_id = sqlite3_column_int64(st, 0);
	} else if (rc == SQLITE_DONE) {
		st = stmt(L, ST_PUT_PROCESS);
		sqlite3_bind_int64(st, 1, u2i(f->run_id));
		sqlite3_bind_int64(st, 2, pr->pid);
		sqlite3_bind_int64(st, 3, pr->ppid);
		sqlite3_bind_int64(st, 4, u2i(pr->parent_run_id));
		sqlite3_bind_text(st, 5, pr->exe, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, pr->hostname, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, pr->cmdline, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 8, u2i(pr->start_wall_ns));
		sqlite3_bind_int64(st, 9, u2i(pr->start_mono_ns));
		sqlite3_bind_int64(st, 10, u2i(pr->sample_rate));
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_fail(L, "inserting the process");
		L->process_id = sqlite3_last_insert_rowid(L->db->h);
	} else {
		return db_fail(L, "looking up the process");
	}

	/* snapshot */
	double t_s = pr->mono_ns >= pr->start_mono_ns
		     ? (double)(pr->mono_ns - pr->start_mono_ns) / 1e9 : 0.0;
	st = stmt(L, ST_PUT_SNAPSHOT);
	sqlite3_bind_int64(st, 1, L->process_id);
	sqlite3_bind_int64(st, 2, u2i(f->seq));
	sqlite3_bind_int64(st, 3, f->kind);
	sqlite3_bind_int64(st, 4, pr->reason);
	sqlite3_bind_int64(st, 5, u2i(pr->wall_ns));
	sqlite3_bind_int64(st, 6, u2i(pr->mono_ns));
	sqlite3_bind_double(st, 7, t_s);
	sqlite3_bind_int64(st, 8, u2i(pr->sample_rate));
	sqlite3_bind_int64(st, 9, u2i(pr->rss_bytes));
	sqlite3_bind_int64(st, 10, u2i(pr->peak_rss_bytes));
	sqlite3_bind_int64(st, 11, u2i(pr->heap_committed));
	sqlite3_bind_int64(st, 12, u2i(pr->heap_peak_committed));
	sqlite3_bind_int64(st, 13, u2i(pr->alloc_calls));
	sqlite3_bind_int64(st, 14, u2i(pr->free_calls));
	sqlite3_bind_int64(st, 15, (int64_t)f->n_stacks);
	sqlite3_bind_int64(st, 16, (int64_t)f->n_live);
	sqlite3_bind_text(st, 17, L->path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 18, (int64_t)f->file_size);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(L, "inserting the snapshot");
	L->snapshot_id = sqlite3_last_insert_rowid(L->db->h);

	/* modules and their segments */
	for (size_t i = 0; i < f->n_modules; i++) {
		const lw_module *m = &f->modules[i];
		char idhex[2 * LWD_MAX_BUILD_ID + 1];
		lw_hex(m->build_id, m->build_id_len > LWD_MAX_BUILD_ID ? LWD_MAX_BUILD_ID : m->build_id_len,
		    idhex);
		st = stmt(L, ST_PUT_MODULE);
		sqlite3_bind_int64(st, 1, L->process_id);
		sqlite3_bind_text(st, 2, m->path, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, idhex, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 4, u2i(m->load_bias));
		sqlite3_bind_int64(st, 5, u2i(m->start));
		sqlite3_bind_int64(st, 6, u2i(m->end));
		sqlite3_bind_int64(st, 7, u2i(f->seq));
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_fail(L, "inserting a module");
		if (sqlite3_changes(L->db->h) == 0)
			continue;   /* known module: its segments are stored */
		int64_t mod_id = sqlite3_last_insert_rowid(L->db->h);
		for (size_t k = 0; k < f->n_segments; k++) {
			const lw_segment *sg = &f->segments[k];
			if (sg->module != i)
				continue;
			st = stmt(L, ST_PUT_SEGMENT);
			sqlite3_bind_int64(st, 1, mod_id);
			sqlite3_bind_int64(st, 2, sg->prot);
			sqlite3_bind_int64(st, 3, u2i(sg->start));
			sqlite3_bind_int64(st, 4, u2i(sg->end));
			sqlite3_bind_int64(st, 5, u2i(sg->file_offset));
			sqlite3_bind_int64(st, 6, u2i(sg->file_size));
			if (sqlite3_step(st) != SQLITE_DONE)
				return db_fail(L, "inserting a segment");
		}
	}

	/* stacks → sites (new or changed stacks only) */
	run_cache *run = get_run(L);
	if (!run) {
		snprintf(L->err, sizeof(L->err), "loading the run's stacks: %s",
			 sqlite3_errmsg(L->db->h));
		return -1;
	}
	if (run->n < f->n_stacks) {
		stack_ent *v = realloc(run->v, f->n_stacks * sizeof(*v));
		if (!v) {
			snprintf(L->err, sizeof(L->err), "out of memory");
			return -1;
		}
		memset(v + run->n, 0, (f->n_stacks - run->n) * sizeof(*v));
		run->v = v;
		run->n = f->n_stacks;
	}
	for (size_t i = 0; i < f->n_stacks; i++) {
		const lw_stack *s = &f->stacks[i];
		uint64_t h = stack_hash(s);
		if (run->v[i].hash == h && run->v[i].site_id > 0) {
			site_of[i] = run->v[i].site_id;
			continue;
		}
		uint32_t skip = 0;
		int64_t site = stack_site(L, s, &skip);
		if (site < 0)
			return -1;
		st = stmt(L, ST_PUT_STACK);
		sqlite3_bind_int64(st, 1, L->process_id);
		sqlite3_bind_int64(st, 2, (int64_t)i);
		sqlite3_bind_int64(st, 3, u2i(h));
		sqlite3_bind_int64(st, 4, s->depth);
		sqlite3_bind_int64(st, 5, s->flags);
		sqlite3_bind_int64(st, 6, skip);
		/* pcs as little-endian u64s (the reader decoded them to host order;
		 * the analyzer runs on little-endian hosts only, as the shim does). */
		sqlite3_bind_blob(st, 7, s->pcs, (int)(s->depth * sizeof(uint64_t)), SQLITE_STATIC);
		sqlite3_bind_int64(st, 8, site);
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_fail(L, "inserting a stack");
		run->v[i].hash = h;
		run->v[i].site_id = site;
		site_of[i] = site;
	}

	/* counters, summed per site */
	site_sum *sums = calloc(f->n_counters ? f->n_counters : 1, sizeof(*sums));
	if (!sums) {
		snprintf(L->err, sizeof(L->err), "out of memory");
		return -1;
	}
	for (size_t i = 0; i < f->n_counters; i++) {
		const lw_counter *c = &f->counters[i];
		site_sum *s = &sums[i];
		s->site_id = site_of[c->stack];
		s->n_stacks = 1;
		s->alloc_samples = c->alloc_samples;
		s->alloc_sample_bytes = c->alloc_sample_bytes;
		s->free_samples = c->free_samples;
		s->free_sample_bytes = c->free_sample_bytes;
		s->alloc_objects = c->alloc_objects_est;
		s->alloc_bytes = c->alloc_bytes_est;
		s->free_objects = c->free_objects_est;
		s->free_bytes = c->free_bytes_est;
	}
	if (f->n_counters > 1)
		qsort(sums, f->n_counters, sizeof(*sums), cmp_sum);
	size_t n_sums = 0;
	for (size_t i = 0; i < f->n_counters; i++) {
		if (n_sums > 0 && sums[n_sums - 1].site_id == sums[i].site_id) {
			site_sum *d = &sums[n_sums - 1];
			d->n_stacks++;
			d->alloc_samples += sums[i].alloc_samples;
			d->alloc_sample_bytes += sums[i].alloc_sample_bytes;
			d->free_samples += sums[i].free_samples;
			d->free_sample_bytes += sums[i].free_sample_bytes;
			d->alloc_objects += sums[i].alloc_objects;
			d->alloc_bytes += sums[i].alloc_bytes;
			d->free_objects += sums[i].free_objects;
			d->free_bytes += sums[i].free_bytes;
		} else {
			sums[n_sums++] = sums[i];
		}
	}
	for (size_t i = 0; i < n_sums; i++) {
		const site_sum *s = &sums[i];
		st = stmt(L, ST_PUT_COUNTER);
		sqlite3_bind_int64(st, 1, L->snapshot_id);
		sqlite3_bind_int64(st, 2, s->site_id);
		sqlite3_bind_int64(st, 3, s->n_stacks);
		sqlite3_bind_int64(st, 4, u2i(s->alloc_samples));
		sqlite3_bind_int64(st, 5, u2i(s->alloc_sample_bytes));
		sqlite3_bind_int64(st, 6, u2i(s->free_samples));
		sqlite3_bind_int64(st, 7, u2i(s->free_sample_bytes));
		sqlite3_bind_double(st, 8, s->alloc_objects);
		sqlite3_bind_double(st, 9, s->alloc_bytes);
		sqlite3_bind_double(st, 10, s->free_objects);
		sqlite3_bind_double(st, 11, s->free_bytes);
		if (sqlite3_step(st) != SQLITE_DONE) {
			free(sums);
			return db_fail(L, "inserting a counter");
		}
	}
	free(sums);

	/* live blocks */
	for (size_t i = 0; i < f->n_live; i++) {
		const lw_live_block *b = &f->live[i];
		st = stmt(L, ST_PUT_LIVE);
		sqlite3_bind_int64(st, 1, L->snapshot_id);
		sqlite3_bind_int64(st, 2, u2i(b->addr));
		sqlite3_bind_int64(st, 3, u2i(b->size));
		sqlite3_bind_int64(st, 4, site_of[b->stack]);
		sqlite3_bind_int64(st, 5, b->stack);
		sqlite3_bind_int64(st, 6, b->tid);
		sqlite3_bind_int64(st, 7, u2i(b->alloc_mono_ns));
		sqlite3_bind_double(st, 8, b->weight);
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_fail(L, "inserting a live block");
	}
	(void)p;
	return 0;
}

enum { LOAD_OK, LOAD_SKIPPED, LOAD_FAILED, LOAD_DBERR };

static int file_known(lw_db *db, const char *path, const struct stat *st)
{
	db_priv *p = db->priv_;
	sqlite3_stmt *s = p->st[ST_FIND_FILE];
	sqlite3_reset(s);
	sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (int64_t)st->st_size);
	sqlite3_bind_int64(s, 3, (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec);
	int known = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_reset(s);
	return known;
}

/* Parsing (read, CRC, decode) of the next file runs on a second thread
 * while this one writes the current file into SQLite; lw_file_open touches
 * no shared state, and the database handle stays on the main thread. */
typedef struct prefetch {
	pthread_t th;
	int running;
	size_t index;            /* which file of the list */
	const char *path;
	lw_file *f;
	int rc;
	char msg[512];
} prefetch;

static void *prefetch_main(void *arg)
{
	prefetch *pf = arg;
	pf->msg[0] = '\0';
	pf->rc = lw_file_open(pf->path, &pf->f, pf->msg, sizeof(pf->msg));
	return NULL;
}

static void prefetch_start(prefetch *pf, size_t index, const char *path)
{
	pf->index = index;
	pf->path = path;
	pf->f = NULL;
	pf->running = pthread_create(&pf->th, NULL, prefetch_main, pf) == 0;
}

/* Joins the thread; returns 1 if it ran (its result is in pf). */
static int prefetch_join(prefetch *pf)
{
	if (!pf->running)
		return 0;
	pthread_join(pf->th, NULL);
	pf->running = 0;
	return 1;
}

/* Loads one file: LOAD_OK, LOAD_SKIPPED (already there), LOAD_FAILED
 * (reported), LOAD_DBERR (store error, message in err). */
static int load_file(lw_db *db, const char *path, prefetch *pre, lw_report_fn report,
		     void *arg, char *err, size_t errlen)
{
	db_priv *p = db->priv_;
	char abspath[PATH_MAX];
	if (!realpath(path, abspath))
		snprintf(abspath, sizeof(abspath), "%s", path);
	struct stat sb;
	int have_stat = stat(path, &sb) == 0;
	if (have_stat && file_known(db, abspath, &sb))
		return LOAD_SKIPPED;

	lw_file *f = NULL;
	char msg[512];
	int rc;
	if (pre) {   /* parsed ahead by the prefetch thread; we own it now */
		f = pre->f;
		rc = pre->rc;
		snprintf(msg, sizeof(msg), "%s", pre->msg);
		pre->f = NULL;
	} else {
		rc = lw_file_open(path, &f, msg, sizeof(msg));
	}
	if (rc < 0) {
		if (report)
			report(path, msg[0] ? msg : "cannot read", arg);
		return LOAD_FAILED;
	}
	/* Already loaded under another name? */
	sqlite3_stmt *st = p->st[ST_FIND_SNAPSHOT];
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, u2i(f->run_id));
	sqlite3_bind_int64(st, 2, u2i(f->seq));
	int step = sqlite3_step(st);
	int64_t existing = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		set_err(err, errlen, "looking up the snapshot: %s", sqlite3_errmsg(db->h));
		lw_file_free(f);
		return LOAD_DBERR;
	}

	loader L = { .db = db, .p = p, .f = f, .path = abspath, .report = report, .arg = arg };
	int result = LOAD_OK;
	int64_t *site_of = calloc(f->n_stacks ? f->n_stacks : 1, sizeof(*site_of));
	L.mods = calloc(f->n_modules ? f->n_modules : 1, sizeof(*L.mods));
	L.mod_hex = calloc(f->n_modules ? f->n_modules : 1, sizeof(*L.mod_hex));
	if (!site_of || !L.mods || !L.mod_hex) {
		set_err(err, errlen, "out of memory");
		result = LOAD_DBERR;
		goto out;
	}
	for (size_t i = 0; i < f->n_modules; i++)
		L.mods[L.n_mods++] = &f->modules[i];
	if (L.n_mods > 1)
		qsort(L.mods, L.n_mods, sizeof(*L.mods), cmp_mod_ptr);
	for (size_t i = 0; i < L.n_mods; i++)
		lw_hex(L.mods[i]->build_id, L.mods[i]->build_id_len > LWD_MAX_BUILD_ID
		    ? LWD_MAX_BUILD_ID : L.mods[i]->build_id_len, L.mod_hex[i]);

	if (exec_sql(db->h, "BEGIN IMMEDIATE", err, errlen) < 0) {
		result = LOAD_DBERR;
		goto out;
	}
	int64_t snap_id = existing;
	if (!existing) {
		if (load_body(&L, site_of) < 0) {
			exec_sql(db->h, "ROLLBACK", NULL, 0);
			drop_caches(p);
			set_err(err, errlen, "%s", L.err);
			result = LOAD_DBERR;
			goto out;
		}
		snap_id = L.snapshot_id;
	} else {
		result = LOAD_SKIPPED;
	}
	if (have_stat) {
		st = p->st[ST_PUT_FILE];
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, abspath, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (int64_t)sb.st_size);
		sqlite3_bind_int64(st, 3, (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec);
		sqlite3_bind_int64(st, 4, snap_id);
		if (sqlite3_step(st) != SQLITE_DONE) {
			set_err(err, errlen, "recording the file: %s", sqlite3_errmsg(db->h));
			sqlite3_reset(st);
			exec_sql(db->h, "ROLLBACK", NULL, 0);
			drop_caches(p);
			result = LOAD_DBERR;
			goto out;
		}
		sqlite3_reset(st);
	}
	if (exec_sql(db->h, "COMMIT", err, errlen) < 0) {
		exec_sql(db->h, "ROLLBACK", NULL, 0);
		drop_caches(p);
		result = LOAD_DBERR;
	}
out:
	for (int i = 0; i < ST_COUNT; i++)
		if (p->st[i])
			sqlite3_reset(p->st[i]);
	free(L.fr);
	free(L.key);
	free(L.mods);
	free(L.mod_hex);
	free(site_of);
	lw_file_free(f);
	return result;
}

/* ---- path collection ------------------------------------------------------------ */

typedef struct pathlist {
	char **v;
	size_t n, cap;
} pathlist;

static int pl_add(pathlist *l, const char *s)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		char **v = realloc(l->v, ncap * sizeof(*v));
		if (!v)
			return -1;
		l->v = v;
		l->cap = ncap;
	}
	l->v[l->n] = strdup(s);
	if (!l->v[l->n])
		return -1;
	l->n++;
	return 0;
}

static void pl_free(pathlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Adds dir's *.lwd files in name order, then its subdirectories' (not
 * following symbolic links to directories). depth bounds recursion. */
static int collect_dir(const char *dir, pathlist *out, int depth, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	if (!d)
		return set_err(err, errlen, "'%s': %s", dir, strerror(errno));
	pathlist files = { 0 }, dirs = { 0 };
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;   /* ., .., and the shim's .tmp-* files */
		char full[PATH_MAX];
		if (snprintf(full, sizeof(full), "%s/%s", dir, e->d_name) >= (int)sizeof(full))
			continue;
		struct stat st;
		if (lstat(full, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (pl_add(&dirs, full) < 0)
				rc = -1;
		} else if (ends_with(e->d_name, ".lwd") && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
			if (pl_add(&files, full) < 0)
				rc = -1;
		}
	}
	closedir(d);
	if (files.n > 1)
		qsort(files.v, files.n, sizeof(char *), cmp_str);
	if (dirs.n > 1)
		qsort(dirs.v, dirs.n, sizeof(char *), cmp_str);
	for (size_t i = 0; rc == 0 && i < files.n; i++)
		rc = pl_add(out, files.v[i]);
	if (rc < 0)
		set_err(err, errlen, "out of memory");
	for (size_t i = 0; rc == 0 && i < dirs.n; i++)
		if (depth < 16)
			rc = collect_dir(dirs.v[i], out, depth + 1, err, errlen);
	pl_free(&files);
	pl_free(&dirs);
	return rc;
}

/* Expands the arguments; a path that does not exist is reported (not an
 * error of the store). Returns -1 only on ENOMEM. */
static int collect(char *const *paths, size_t n_paths, pathlist *out,
		   lw_report_fn report, void *arg, size_t *n_missing)
{
	*n_missing = 0;
	for (size_t i = 0; i < n_paths; i++) {
		struct stat st;
		if (stat(paths[i], &st) < 0) {
			if (report)
				report(paths[i], strerror(errno), arg);
			(*n_missing)++;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			char err[PATH_MAX + 64];
			if (collect_dir(paths[i], out, 0, err, sizeof(err)) < 0) {
				if (report)
					report(paths[i], err, arg);
				(*n_missing)++;
			}
		} else if (pl_add(out, paths[i]) < 0) {
			return -1;
		}
	}
	return 0;
}

int lw_db_load_paths(lw_db *db, char *const *paths, size_t n_paths,
		     lw_report_fn report, lw_progress_fn progress, void *arg,
		     lw_load_stats *stats, char *err, size_t errlen)
{
	lw_load_stats s = { 0 };
	pathlist files = { 0 };
	size_t missing = 0;
	if (collect(paths, n_paths, &files, report, arg, &missing) < 0) {
		pl_free(&files);
		return set_err(err, errlen, "out of memory");
	}
	s.files_failed = missing;
	int rc = 0;
	/* slot[i & 1] parses file i while file i - 1 is written */
	prefetch slot[2];
	memset(slot, 0, sizeof(slot));
	if (progress && files.n > 0)
		progress(0, files.n, arg);   /* the bar shows before the slow first file */
	for (size_t i = 0; i < files.n; i++) {
		prefetch *pre = &slot[i & 1];
		if (!prefetch_join(pre) || pre->index != i) {
			lw_file_free(pre->f);
			pre->f = NULL;
			pre = NULL;
		}
		/* Parse the next file meanwhile, unless it is already loaded. */
		if (i + 1 < files.n) {
			struct stat sb;
			char abs[PATH_MAX];
			if (!(stat(files.v[i + 1], &sb) == 0 && realpath(files.v[i + 1], abs) &&
			      file_known(db, abs, &sb)))
				prefetch_start(&slot[(i + 1) & 1], i + 1, files.v[i + 1]);
		}
		int r = load_file(db, files.v[i], pre, report, arg, err, errlen);
		if (pre) {
			lw_file_free(pre->f);
			pre->f = NULL;
		}
		if (r == LOAD_OK)
			s.files_loaded++;
		else if (r == LOAD_SKIPPED)
			s.files_skipped++;
		else if (r == LOAD_FAILED)
			s.files_failed++;
		else {
			/* The store itself failed: the message names the file. */
			char msg[600];
			snprintf(msg, sizeof(msg), "'%s': %s", files.v[i], err);
			set_err(err, errlen, "%s", msg);
			rc = -1;
			break;
		}
		if (progress)
			progress(i + 1, files.n, arg);
	}
	for (int k = 0; k < 2; k++) {   /* after a store error, one may still run */
		prefetch_join(&slot[k]);
		lw_file_free(slot[k].f);
	}
	pl_free(&files);
	if (stats)
		*stats = s;
	if (rc < 0)
		return -1;
	LW_ASSERT_EXPENSIVE(lw_db_check(db, NULL, 0) == 0);
	return s.files_failed ? 1 : 0;
}

/* ---- lw_db_open_inputs ------------------------------------------------------------ */

static void report_stderr(const char *path, const char *message, void *arg)
{
	(void)arg;
	if (strncmp(message, "warning: ", 9) == 0)
		lw_error("%s", message);
	else
		lw_error("'%s': %s", path, message);
}

typedef struct progress_ctx {
	lw_progress *bar;
} progress_ctx;

static void progress_cb(size_t done, size_t total, void *arg)
{
	progress_ctx *c = arg;
	if (!c->bar)
		c->bar = lw_progress_new("loading", total);
	lw_progress_update(c->bar, done);
}

static void report_and_progress(const char *path, const char *message, void *arg)
{
	progress_ctx *c = arg;
	if (c->bar) {
		/* keep the bar from overwriting the message */
		lw_progress_done(c->bar);
		c->bar = NULL;
	}
	report_stderr(path, message, NULL);
}

/* Makes dir (mode 0700) if missing; refuses a symlink or a directory
 * writable by others or owned by someone else. */
static int safe_dir(const char *dir)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	struct stat st;
	if (lstat(dir, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* Path of the cache database for these inputs, or -1 if there is no usable
 * cache directory. */
static int cache_path(char *const *abs, size_t n, char *out, size_t len)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	char base[PATH_MAX];
	if (xdg && xdg[0] == '/') {
		snprintf(base, sizeof(base), "%s", xdg);
		if (mkdir(base, 0700) < 0 && errno != EEXIST)
			return -1;
	} else if (home && home[0] == '/') {
		snprintf(base, sizeof(base), "%s/.cache", home);
		if (mkdir(base, 0700) < 0 && errno != EEXIST)
			return -1;
	} else {
		return -1;
	}
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof(dir), "%s/leakwatch", base) >= (int)sizeof(dir))
		return -1;
	if (safe_dir(dir) < 0)
		return -1;
	uint64_t h = 0;
	for (size_t i = 0; i < n; i++)
		h = lw_hash_more(h, abs[i], strlen(abs[i]) + 1);
	if (snprintf(out, len, "%s/inputs-%016llx.db", dir, (unsigned long long)h) >= (int)len)
		return -1;
	/* Create it 0600 without following a planted link; check the owner. */
	int fd = open(out, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	struct stat st;
	int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid();
	if (ok && (st.st_mode & 077))
		ok = fchmod(fd, 0600) == 0;
	close(fd);
	return ok ? 0 : -1;
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
	int rc = -1, changed = 0;
	if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
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
		if (sqlite3_exec(db->h, cleanup[i], NULL, NULL, NULL) != SQLITE_OK)
			goto out;
	if (sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	rc = 0;
out:
	if (rc < 0) {
		set_err(err, errlen, "cache database: %s", sqlite3_errmsg(db->h));
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	}
	sqlite3_finalize(q);
	sqlite3_finalize(del);
	return rc;
}

int lw_db_open_inputs(char *const *paths, size_t n_paths, lw_db **out,
		      char *err, size_t errlen)
{
	*out = NULL;
	if (n_paths == 0)
		return set_err(err, errlen, "no input given");
	for (size_t i = 0; i < n_paths; i++) {
		if (lw_db_is_database(paths[i])) {
			if (n_paths > 1)
				return set_err(err, errlen, "'%s': a database must be the only input",
					       paths[i]);
			char e2[400];
			if (lw_db_open(paths[i], out, e2, sizeof(e2)) == 0)
				return 0;
			/* read-only media or someone else's file: reading is enough */
			char e3[400];
			if (lw_db_open_readonly(paths[i], out, e3, sizeof(e3)) == 0)
				return 0;
			return set_err(err, errlen, "'%s': %s", paths[i], e2);
		}
	}
	/* Key the cache by the sorted absolute paths. */
	char **abs = calloc(n_paths, sizeof(*abs));
	if (!abs)
		return set_err(err, errlen, "out of memory");
	for (size_t i = 0; i < n_paths; i++) {
		abs[i] = realpath(paths[i], NULL);
		if (!abs[i]) {
			set_err(err, errlen, "'%s': %s", paths[i], strerror(errno));
			for (size_t k = 0; k < i; k++)
				free(abs[k]);
			free(abs);
			return -1;
		}
	}
	qsort(abs, n_paths, sizeof(*abs), cmp_str);
	char dbpath[PATH_MAX];
	lw_db *db = NULL;
	char e2[512];
	if (cache_path(abs, n_paths, dbpath, sizeof(dbpath)) < 0 ||
	    lw_db_open(dbpath, &db, e2, sizeof(e2)) < 0) {
		/* No usable cache: a private temporary database. */
		if (lw_db_open("", &db, e2, sizeof(e2)) < 0) {
			set_err(err, errlen, "temporary database: %s", e2);
			goto fail;
		}
	}
	if (prune_vanished(db, e2, sizeof(e2)) < 0) {
		set_err(err, errlen, "%s", e2);
		goto fail;
	}
	progress_ctx pc = { NULL };
	lw_load_stats stats;
	int rc = lw_db_load_paths(db, abs, n_paths, report_and_progress, progress_cb, &pc,
				  &stats, e2, sizeof(e2));
	lw_progress_done(pc.bar);
	if (rc < 0) {
		set_err(err, errlen, "%s", e2);
		goto fail;
	}
	int n_snaps = 0;
	if (pragma_int(db->h, "SELECT count(*) FROM snapshots", &n_snaps) < 0 || n_snaps == 0) {
		if (stats.files_failed)
			set_err(err, errlen, "'%s': nothing could be loaded", paths[0]);
		else
			set_err(err, errlen, "'%s': no .lwd files found", paths[0]);
		goto fail;
	}
	for (size_t i = 0; i < n_paths; i++)
		free(abs[i]);
	free(abs);
	*out = db;
	return 0;
fail:
	lw_db_close(db);
	for (size_t i = 0; i < n_paths; i++)
		free(abs[i]);
	free(abs);
	return -1;
}
