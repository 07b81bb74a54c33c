/* load.c — one .lwd file into the store, one transaction each, and the
 * loop over a list of files (db.h, lw_db_load_paths).
 *
 * A file loads completely or not at all: process row (first file of a
 * run), snapshot row, modules and segments, stacks mapped to sites
 * (sites.c), counters summed per site, live blocks. Any failure rolls back
 * and drops the row caches, so nothing loaded before is lost and nothing
 * half-loaded stays.
 *
 * Concurrency: two commands may load the same files into one store at
 * once (two `leakwatch top DIR` on a directory not cached yet). Whether a
 * file is already there is decided inside the write transaction (BEGIN
 * IMMEDIATE serializes writers), so the second one finds the first one's
 * rows and skips; when another connection committed since our last
 * transaction (PRAGMA data_version), the row caches are dropped first.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "errors.h"
#include "lw_assert.h"
#include "store_int.h"
#include "text.h"

static int db_fail(lw_loader *L, const char *what)
{
	snprintf(L->err, sizeof(L->err), "%s: %s", what, sqlite3_errmsg(L->db->h));
	return -EIO;
}

/* The process row of the file's run, inserted with the first file. */
static int put_process(lw_loader *L)
{
	const lw_file *f = L->f;
	const lw_process *pr = &f->process;
	sqlite3_stmt *st = lw_db_stmt(L->p, ST_FIND_PROCESS);
	sqlite3_bind_int64(st, 1, lw_u2i(f->run_id));
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		L->process_id = sqlite3_column_int64(st, 0);
		return 0;
	}
	if (rc != SQLITE_DONE)
		return db_fail(L, "looking up the process");
	st = lw_db_stmt(L->p, ST_PUT_PROCESS);
	sqlite3_bind_int64(st, 1, lw_u2i(f->run_id));
	sqlite3_bind_int64(st, 2, pr->pid);
	sqlite3_bind_int64(st, 3, pr->ppid);
	sqlite3_bind_int64(st, 4, lw_u2i(pr->parent_run_id));
	sqlite3_bind_text(st, 5, pr->exe, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, pr->hostname, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, pr->cmdline, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, lw_u2i(pr->start_wall_ns));
	sqlite3_bind_int64(st, 9, lw_u2i(pr->start_mono_ns));
	sqlite3_bind_int64(st, 10, lw_u2i(pr->sample_rate));
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(L, "inserting the process");
	L->process_id = sqlite3_last_insert_rowid(L->db->h);
	return 0;
}

static int put_snapshot(lw_loader *L)
{
	const lw_file *f = L->f;
	const lw_process *pr = &f->process;
	double t_s = pr->mono_ns >= pr->start_mono_ns
		     ? (double)(pr->mono_ns - pr->start_mono_ns) / 1e9 : 0.0;
	sqlite3_stmt *st = lw_db_stmt(L->p, ST_PUT_SNAPSHOT);
	sqlite3_bind_int64(st, 1, L->process_id);
	sqlite3_bind_int64(st, 2, lw_u2i(f->seq));
	sqlite3_bind_int64(st, 3, f->kind);
	sqlite3_bind_int64(st, 4, pr->reason);
	sqlite3_bind_int64(st, 5, lw_u2i(pr->wall_ns));
	sqlite3_bind_int64(st, 6, lw_u2i(pr->mono_ns));
	sqlite3_bind_double(st, 7, t_s);
	sqlite3_bind_int64(st, 8, lw_u2i(pr->sample_rate));
	sqlite3_bind_int64(st, 9, lw_u2i(pr->rss_bytes));
	sqlite3_bind_int64(st, 10, lw_u2i(pr->peak_rss_bytes));
	sqlite3_bind_int64(st, 11, lw_u2i(pr->heap_committed));
	sqlite3_bind_int64(st, 12, lw_u2i(pr->heap_peak_committed));
	sqlite3_bind_int64(st, 13, lw_u2i(pr->alloc_calls));
	sqlite3_bind_int64(st, 14, lw_u2i(pr->free_calls));
	sqlite3_bind_int64(st, 15, (int64_t)f->n_stacks);
	sqlite3_bind_int64(st, 16, (int64_t)f->n_live);
	sqlite3_bind_text(st, 17, L->path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 18, (int64_t)f->file_size);
	sqlite3_bind_int64(st, 19, pr->exit_status);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(L, "inserting the snapshot");
	L->snapshot_id = sqlite3_last_insert_rowid(L->db->h);
	return 0;
}

static int put_segments(lw_loader *L, size_t module, int64_t mod_id)
{
	const lw_file *f = L->f;
	for (size_t k = 0; k < f->n_segments; k++) {
		const lw_segment *sg = &f->segments[k];
		if (sg->module != module)
			continue;
		sqlite3_stmt *st = lw_db_stmt(L->p, ST_PUT_SEGMENT);
		sqlite3_bind_int64(st, 1, mod_id);
		sqlite3_bind_int64(st, 2, sg->prot);
		sqlite3_bind_int64(st, 3, lw_u2i(sg->start));
		sqlite3_bind_int64(st, 4, lw_u2i(sg->end));
		sqlite3_bind_int64(st, 5, lw_u2i(sg->file_offset));
		sqlite3_bind_int64(st, 6, lw_u2i(sg->file_size));
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_fail(L, "inserting a segment");
	}
	return 0;
}

/* Modules new to the run, with their segments. */
static int put_modules(lw_loader *L)
{
	const lw_file *f = L->f;
	for (size_t i = 0; i < f->n_modules; i++) {
		const lw_module *m = &f->modules[i];
		char idhex[2 * LWD_MAX_BUILD_ID + 1];
		lw_hex(m->build_id, m->build_id_len > LWD_MAX_BUILD_ID ? LWD_MAX_BUILD_ID
		       : m->build_id_len, idhex);
		sqlite3_stmt *st = lw_db_stmt(L->p, ST_PUT_MODULE);
		sqlite3_bind_int64(st, 1, L->process_id);
		sqlite3_bind_text(st, 2, m->path, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, idhex, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 4, lw_u2i(m->load_bias));
		sqlite3_bind_int64(st, 5, lw_u2i(m->start));
		sqlite3_bind_int64(st, 6, lw_u2i(m->end));
		sqlite3_bind_int64(st, 7, lw_u2i(f->seq));
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_fail(L, "inserting a module");
		if (sqlite3_changes(L->db->h) == 0)
			continue;   /* known module: its segments are stored */
		int rc = put_segments(L, i, sqlite3_last_insert_rowid(L->db->h));
		if (rc < 0)
			return rc;
	}
	return 0;
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

static void add_sum(site_sum *d, const site_sum *s)
{
	d->n_stacks += s->n_stacks;
	d->alloc_samples += s->alloc_samples;
	d->alloc_sample_bytes += s->alloc_sample_bytes;
	d->free_samples += s->free_samples;
	d->free_sample_bytes += s->free_sample_bytes;
	d->alloc_objects += s->alloc_objects;
	d->alloc_bytes += s->alloc_bytes;
	d->free_objects += s->free_objects;
	d->free_bytes += s->free_bytes;
}

static int put_sum(lw_loader *L, const site_sum *s)
{
	sqlite3_stmt *st = lw_db_stmt(L->p, ST_PUT_COUNTER);
	sqlite3_bind_int64(st, 1, L->snapshot_id);
	sqlite3_bind_int64(st, 2, s->site_id);
	sqlite3_bind_int64(st, 3, s->n_stacks);
	sqlite3_bind_int64(st, 4, lw_u2i(s->alloc_samples));
	sqlite3_bind_int64(st, 5, lw_u2i(s->alloc_sample_bytes));
	sqlite3_bind_int64(st, 6, lw_u2i(s->free_samples));
	sqlite3_bind_int64(st, 7, lw_u2i(s->free_sample_bytes));
	sqlite3_bind_double(st, 8, s->alloc_objects);
	sqlite3_bind_double(st, 9, s->alloc_bytes);
	sqlite3_bind_double(st, 10, s->free_objects);
	sqlite3_bind_double(st, 11, s->free_bytes);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(L, "inserting a counter");
}

/* The file's counters, summed per site (several stacks may share one). */
static int put_counters(lw_loader *L)
{
	const lw_file *f = L->f;
	site_sum *sums = calloc(f->n_counters ? f->n_counters : 1, sizeof(*sums));
	if (!sums) {
		snprintf(L->err, sizeof(L->err), "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < f->n_counters; i++) {
		const lw_counter *c = &f->counters[i];
		sums[i] = (site_sum){
			.site_id = L->site_of[c->stack], .n_stacks = 1,
			.alloc_samples = c->alloc_samples, .alloc_sample_bytes = c->alloc_sample_bytes,
			.free_samples = c->free_samples, .free_sample_bytes = c->free_sample_bytes,
			.alloc_objects = c->alloc_objects_est, .alloc_bytes = c->alloc_bytes_est,
			.free_objects = c->free_objects_est, .free_bytes = c->free_bytes_est,
		};
	}
	if (f->n_counters > 1)
		qsort(sums, f->n_counters, sizeof(*sums), cmp_sum);
	size_t n = 0;
	for (size_t i = 0; i < f->n_counters; i++) {
		if (n > 0 && sums[n - 1].site_id == sums[i].site_id)
			add_sum(&sums[n - 1], &sums[i]);
		else
			sums[n++] = sums[i];
	}
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = put_sum(L, &sums[i]);
	free(sums);
	return rc;
}

static int put_live(lw_loader *L)
{
	const lw_file *f = L->f;
	for (size_t i = 0; i < f->n_live; i++) {
		const lw_live_block *b = &f->live[i];
		sqlite3_stmt *st = lw_db_stmt(L->p, ST_PUT_LIVE);
		sqlite3_bind_int64(st, 1, L->snapshot_id);
		sqlite3_bind_int64(st, 2, lw_u2i(b->addr));
		sqlite3_bind_int64(st, 3, lw_u2i(b->size));
		sqlite3_bind_int64(st, 4, L->site_of[b->stack]);
		sqlite3_bind_int64(st, 5, b->stack);
		sqlite3_bind_int64(st, 6, b->tid);
		sqlite3_bind_int64(st, 7, lw_u2i(b->alloc_mono_ns));
		sqlite3_bind_double(st, 8, b->weight);
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_fail(L, "inserting a live block");
	}
	return 0;
}

/* Every row of the file, inside the caller's transaction. */
static int load_body(lw_loader *L)
{
	int rc = put_process(L);
	if (rc == 0)
		rc = put_snapshot(L);
	if (rc == 0)
		rc = put_modules(L);
	if (rc == 0)
		rc = lw_sites_map_stacks(L);
	if (rc == 0)
		rc = put_counters(L);
	if (rc == 0)
		rc = put_live(L);
	return rc;
}

int lw_load_file_known(lw_db *db, const char *abspath, const struct stat *st)
{
	/* outside a transaction: an autocommit read, reset at once */
	db_priv *p = db->priv_;
	sqlite3_stmt *s = lw_db_stmt(p, ST_FIND_FILE);
	sqlite3_bind_text(s, 1, abspath, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (int64_t)st->st_size);
	sqlite3_bind_int64(s, 3, (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec);
	int known = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_reset(s);
	return known;
}

/* The snapshot id of (run_id, seq) if the store has it, else 0; < 0 on
 * error. */
static int64_t find_snapshot(lw_db *db, const lw_file *f)
{
	sqlite3_stmt *st = lw_db_stmt(db->priv_, ST_FIND_SNAPSHOT);
	sqlite3_bind_int64(st, 1, lw_u2i(f->run_id));
	sqlite3_bind_int64(st, 2, lw_u2i(f->seq));
	int step = sqlite3_step(st);
	int64_t id = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return step == SQLITE_ROW || step == SQLITE_DONE ? id : -EIO;
}

static int put_file(lw_db *db, const char *abspath, const struct stat *sb, int64_t snap_id)
{
	sqlite3_stmt *st = lw_db_stmt(db->priv_, ST_PUT_FILE);
	sqlite3_bind_text(st, 1, abspath, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)sb->st_size);
	sqlite3_bind_int64(st, 3, (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec);
	sqlite3_bind_int64(st, 4, snap_id);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_reset(st);
	return rc;
}

/* Starts the write transaction; drops the row caches when another
 * connection committed since ours last did. */
static int begin_write(lw_db *db, char *err, size_t errlen)
{
	db_priv *p = db->priv_;
	int rc = lw_db_exec(db->h, "BEGIN IMMEDIATE", err, errlen);
	if (rc < 0)
		return rc;
	int64_t v = 0;
	if (lw_db_query_int(db->h, "PRAGMA data_version", &v) == 0 && v != p->data_version) {
		lw_db_drop_caches(p);
		p->data_version = v;
	}
	return 0;
}

static int commit(lw_db *db, char *err, size_t errlen)
{
	int rc = lw_db_exec(db->h, "COMMIT", err, errlen);
	if (rc == 0)
		lw_db_query_int(db->h, "PRAGMA data_version", &((db_priv *)db->priv_)->data_version);
	return rc;
}

static void rollback(lw_db *db)
{
	lw_db_exec(db->h, "ROLLBACK", NULL, 0);
	lw_db_drop_caches(db->priv_);
}

/* Loads parsed file f (already checked unknown by path) in one transaction.
 * LW_LOAD_OK, LW_LOAD_SKIPPED or a negative errno. */
static int load_parsed(lw_db *db, const lw_file *f, const char *path, const struct stat *sb,
		       lw_report_fn report, void *arg, char *err, size_t errlen)
{
	lw_loader L = { .db = db, .p = db->priv_, .f = f, .path = path, .report = report,
			.arg = arg };
	int rc = lw_sites_begin(&L);
	if (rc < 0) {
		lw_sites_end(&L);
		return lw_fail(err, errlen, rc, "%s", L.err);
	}
	if ((rc = begin_write(db, err, errlen)) < 0)
		goto out;
	/* decided inside the transaction: another command may have loaded it */
	int64_t snap_id = sb && lw_load_file_known(db, path, sb) ? -1 : find_snapshot(db, f);
	int result = LW_LOAD_SKIPPED;
	if (snap_id == 0) {
		if ((rc = load_body(&L)) < 0) {
			lw_fail(err, errlen, rc, "%s", L.err);
			rollback(db);
			goto out;
		}
		snap_id = L.snapshot_id;
		result = LW_LOAD_OK;
	}
	if (snap_id < -1 || (snap_id > 0 && sb && put_file(db, path, sb, snap_id) < 0)) {
		rc = lw_fail(err, errlen, -EIO, "recording the file: %s", sqlite3_errmsg(db->h));
		rollback(db);
		goto out;
	}
	if ((rc = commit(db, err, errlen)) < 0) {
		rollback(db);
		goto out;
	}
	LW_ASSERT(result == LW_LOAD_OK || result == LW_LOAD_SKIPPED);
	rc = result;
out:
	lw_stmt_reset_all(L.p->st);
	lw_sites_end(&L);
	return rc;
}

int lw_load_file(lw_db *db, const char *path, lw_parsed *pre, lw_report_fn report,
		 void *arg, char *err, size_t errlen)
{
	char abspath[PATH_MAX];
	if (!realpath(path, abspath))
		snprintf(abspath, sizeof(abspath), "%s", path);
	struct stat sb;
	int have_stat = stat(path, &sb) == 0;
	if (have_stat && lw_load_file_known(db, abspath, &sb))
		return LW_LOAD_SKIPPED;
	lw_parsed own = { .f = NULL, .rc = 0, .msg = "" };
	if (!pre) {
		pre = &own;
		pre->rc = lw_file_open(path, &pre->f, pre->msg, sizeof(pre->msg));
	}
	lw_file *f = pre->f;   /* ours now */
	pre->f = NULL;
	if (pre->rc < 0) {
		lw_file_free(f);
		if (report)
			report(path, pre->msg[0] ? pre->msg : "cannot read", arg);
		return LW_LOAD_FAILED;
	}
	int rc = load_parsed(db, f, abspath, have_stat ? &sb : NULL, report, arg, err, errlen);
	lw_file_free(f);
	return rc;
}

int lw_db_load_paths(lw_db *db, char *const *paths, size_t n_paths, lw_report_fn report,
		     lw_progress_fn progress, void *arg, lw_load_stats *stats, char *err,
		     size_t errlen)
{
	lw_load_stats s = { 0 };
	lw_pathlist files = { 0 };
	if (lw_walk(paths, n_paths, &files, report, arg, &s.files_failed) < 0) {
		lw_pathlist_free(&files);
		return lw_fail(err, errlen, -ENOMEM, "out of memory");
	}
	int rc = 0;
	lw_prefetch slot[2];   /* slot[i & 1] parses file i while file i - 1 is written */
	memset(slot, 0, sizeof(slot));
	if (progress && files.n > 0)
		progress(0, files.n, arg);   /* the bar shows before the slow first file */
	for (size_t i = 0; i < files.n && rc == 0; i++) {
		lw_prefetch *pre = &slot[i & 1];
		int ran = lw_prefetch_join(pre) && pre->index == i;
		if (i + 1 < files.n) {   /* parse the next file meanwhile, unless known */
			struct stat sb;
			char abs[PATH_MAX];
			if (!(stat(files.v[i + 1], &sb) == 0 && realpath(files.v[i + 1], abs) &&
			      lw_load_file_known(db, abs, &sb)))
				lw_prefetch_start(&slot[(i + 1) & 1], i + 1, files.v[i + 1]);
		}
		int r = lw_load_file(db, files.v[i], ran ? &pre->out : NULL, report, arg, err, errlen);
		lw_file_free(pre->out.f);
		pre->out.f = NULL;
		if (r == LW_LOAD_OK)
			s.files_loaded++;
		else if (r == LW_LOAD_SKIPPED)
			s.files_skipped++;
		else if (r == LW_LOAD_FAILED)
			s.files_failed++;
		else {   /* the store itself failed: name the file */
			char msg[512];
			snprintf(msg, sizeof(msg), "%s", err && errlen ? err : "");
			rc = lw_fail(err, errlen, r, "'%s': %s", files.v[i], msg);
		}
		if (progress && rc == 0)
			progress(i + 1, files.n, arg);
	}
	for (int k = 0; k < 2; k++) {   /* after a store error, one may still run */
		lw_prefetch_join(&slot[k]);
		lw_file_free(slot[k].out.f);
	}
	lw_pathlist_free(&files);
	if (stats)
		*stats = s;
	if (rc == 0)
		LW_ASSERT_EXPENSIVE(lw_db_check(db, NULL, 0) == 0);
	return rc;
}
