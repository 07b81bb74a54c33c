/* views.c — one snapshot's profile by site, and per-process time series
 * (model.h), over the model's folded sites (model.c).
 *
 * Values: the counters of the store sites folded into one site are summed
 * (alloc and free separately), then inuse = alloc - free clamped at 0
 * (estimates of one stack share weights, so only rounding can make them
 * negative).
 *
 * Cost: a profile is one counters query, one pass over the process's
 * stacks (raw pcs for pprof) and one mappings query; a series is one
 * counters query per snapshot, filling a dense n_sites × n_snaps array
 * (5,000 × 1,000 values = 160 MB, and as much for the sample counts
 * behind them; growth needs them all).
 */
#include "model_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Counter sums of one site: alloc and free, objects and bytes, and the
 * sampled blocks behind them. */
typedef struct sums {
	double ao, ab, fo, fb;
	lw_samples smp;
	int seen;
} sums;

static void to_values(const sums *s, lw_values *v)
{
	v->alloc_objects = s->ao;
	v->alloc_bytes = s->ab;
	v->inuse_objects = fmax(0.0, s->ao - s->fo);
	v->inuse_bytes = fmax(0.0, s->ab - s->fb);
}

/* Adds one snapshot's counters into acc[fold index]. */
static int read_counters(lw_model *m, sqlite3_stmt *cnt, int64_t snapshot_id, sums *acc)
{
	sqlite3_reset(cnt);
	sqlite3_bind_int64(cnt, 1, snapshot_id);
	int r;
	while ((r = sqlite3_step(cnt)) == SQLITE_ROW) {
		long f = lw_model_fold_index(m, sqlite3_column_int64(cnt, 0));
		if (f < 0)
			return -EIO;   /* a counter of a site the catalog lacks */
		sums *s = &acc[f];
		s->ao += sqlite3_column_double(cnt, 1);
		s->ab += sqlite3_column_double(cnt, 2);
		s->fo += sqlite3_column_double(cnt, 3);
		s->fb += sqlite3_column_double(cnt, 4);
		s->smp.alloc += (uint64_t)sqlite3_column_int64(cnt, 5);
		s->smp.alloc_bytes += (uint64_t)sqlite3_column_int64(cnt, 6);
		s->smp.free += (uint64_t)sqlite3_column_int64(cnt, 7);
		s->smp.free_bytes += (uint64_t)sqlite3_column_int64(cnt, 8);
		s->seen = 1;
	}
	return r == SQLITE_DONE ? 0 : -EIO;
}

#define COUNTERS_SQL \
	"SELECT site_id, alloc_objects, alloc_bytes, free_objects, free_bytes," \
	" alloc_samples, alloc_sample_bytes, free_samples, free_sample_bytes" \
	" FROM counters WHERE snapshot_id = ?1"

/* ---- profile ------------------------------------------------------------------ */

static void arena_drop(lw_arena *a)
{
	if (a) {
		lw_arena_free(a);
		free(a);
	}
}

static int load_mappings(lw_model *m, lw_arena *a, const lw_snapshot *snap, lw_profile *p)
{
	/* Executable segments; a module without recorded segments maps whole. */
	static const char sql[] =
		"SELECT m.path, m.build_id, g.start, g.end, g.file_offset"
		" FROM modules m JOIN segments g ON g.module_id = m.id"
		" WHERE m.process_id = ?1 AND m.first_seq <= ?2 AND (g.prot & 1) != 0"
		" UNION ALL"
		" SELECT m.path, m.build_id, m.start, m.end, 0 FROM modules m"
		" WHERE m.process_id = ?1 AND m.first_seq <= ?2"
		" AND NOT EXISTS (SELECT 1 FROM segments g WHERE g.module_id = m.id)"
		" ORDER BY 3";
	sqlite3_stmt *st = lw_model_prep(m, sql);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, snap->process_id);
	sqlite3_bind_int64(st, 2, (int64_t)snap->seq);
	size_t n = 0, cap = 0;
	lw_mapping *v = NULL;
	int rc, err = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (lw_grow(&v, &cap, n + 1, sizeof(*v)) < 0) {
			err = -ENOMEM;
			break;
		}
		lw_mapping *mp = &v[n++];
		mp->path = lw_arena_strdup(a, (const char *)sqlite3_column_text(st, 0));
		mp->build_id_hex = lw_arena_strdup(a, (const char *)sqlite3_column_text(st, 1));
		mp->start = lw_model_u64(st, 2);
		mp->end = lw_model_u64(st, 3);
		mp->file_offset = lw_model_u64(st, 4);
		if (!mp->path || !mp->build_id_hex) {
			err = -ENOMEM;
			break;
		}
	}
	sqlite3_finalize(st);
	if (!err && rc != SQLITE_DONE)
		err = -EIO;
	if (!err && !(p->mappings = lw_arena_memdup(a, v, n * sizeof(*v))))
		err = -ENOMEM;
	free(v);
	p->n_mappings = err ? 0 : n;
	return err;
}

/* The first raw stack (lowest index) of the process for each profile site.
 * at[fold index] is the profile index + 1, or 0 for sites not in it. */
static int load_raw_pcs(lw_model *m, lw_arena *a, const uint32_t *at, lw_profile *p)
{
	sqlite3_stmt *st = lw_model_prep(m, "SELECT site_id, skip, pcs FROM stacks"
					 " WHERE process_id = ?1 ORDER BY idx");
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, p->snap.process_id);
	int r, rc = 0;
	while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
		long f = lw_model_fold_index(m, sqlite3_column_int64(st, 0));
		if (f < 0 || !at[f] || p->raw_pcs[at[f] - 1])
			continue;
		size_t i = at[f] - 1;
		int64_t skip = sqlite3_column_int64(st, 1);
		const void *blob = sqlite3_column_blob(st, 2);
		size_t depth = (size_t)sqlite3_column_bytes(st, 2) / sizeof(uint64_t);
		if (skip < 0 || (size_t)skip > depth)
			skip = 0;
		size_t keep = depth - (size_t)skip;
		p->raw_pcs[i] = lw_arena_alloc(a, (keep ? keep : 1) * sizeof(uint64_t));
		if (!p->raw_pcs[i])
			rc = -ENOMEM;
		else if (keep)
			memcpy(p->raw_pcs[i], (const uint64_t *)blob + skip, keep * sizeof(uint64_t));
		p->raw_depth[i] = (uint32_t)keep;
	}
	if (rc == 0 && r != SQLITE_DONE)
		rc = -EIO;
	sqlite3_finalize(st);
	return rc;
}

/* Sites of the profile: those with a non-zero figure, in id order. */
static int collect_sites(lw_model *m, const sums *acc, uint32_t *at, lw_profile *p)
{
	size_t n = 0;
	for (size_t f = 0; f < m->n_sites; f++) {
		lw_values v;
		to_values(&acc[f], &v);
		if (acc[f].seen && (v.alloc_objects || v.alloc_bytes || v.inuse_objects || v.inuse_bytes))
			n++;
	}
	p->sites = malloc((n ? n : 1) * sizeof(*p->sites));
	p->values = malloc((n ? n : 1) * sizeof(*p->values));
	p->raw_depth = calloc(n ? n : 1, sizeof(*p->raw_depth));
	p->raw_pcs = calloc(n ? n : 1, sizeof(*p->raw_pcs));
	if (!p->sites || !p->values || !p->raw_depth || !p->raw_pcs)
		return -ENOMEM;
	for (size_t f = 0; f < m->n_sites; f++) {
		lw_values v;
		to_values(&acc[f], &v);
		if (!acc[f].seen || !(v.alloc_objects || v.alloc_bytes || v.inuse_objects || v.inuse_bytes))
			continue;
		p->sites[p->n] = m->sites[f];
		p->values[p->n] = v;
		p->total.alloc_objects += v.alloc_objects;
		p->total.alloc_bytes += v.alloc_bytes;
		p->total.inuse_objects += v.inuse_objects;
		p->total.inuse_bytes += v.inuse_bytes;
		at[f] = (uint32_t)++p->n;
	}
	return 0;
}

/* The model's wrappers that some site of the profile folded. */
static int profile_wrappers(const lw_model *m, lw_arena *a, lw_profile *p)
{
	const char **v = lw_arena_alloc(a, (m->n_wrapper_names ? m->n_wrapper_names : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t n = 0;
	for (size_t w = 0; w < m->n_wrapper_names; w++) {
		int used = 0;
		for (size_t i = 0; i < p->n && !used; i++)
			for (size_t k = 0; k < p->sites[i].n_wrappers && !used; k++)
				used = p->sites[i].wrappers[k] == m->wrapper_names[w];
		if (used)
			v[n++] = m->wrapper_names[w];
	}
	p->wrappers = v;
	p->n_wrappers = n;
	return 0;
}

static int read_snapshot(lw_model *m, lw_arena *a, int64_t snapshot_id, lw_snapshot *out)
{
	sqlite3_stmt *st = lw_model_prep(m, LW_SNAP_COLUMNS " WHERE s.id = ?1");
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, snapshot_id);
	lw_snapshot *v = NULL;
	size_t n = 0;
	int rc = lw_model_read_snapshots(st, a, &v, &n);
	sqlite3_finalize(st);
	if (rc == 0 && n == 0)
		rc = -ENOENT;
	if (rc == 0)
		*out = v[0];
	free(v);
	return rc;
}

int lw_model_profile(lw_model *m, int64_t snapshot_id, lw_profile *out)
{
	memset(out, 0, sizeof(*out));
	lw_arena *a = calloc(1, sizeof(*a));
	sums *acc = calloc(m->n_sites ? m->n_sites : 1, sizeof(*acc));
	uint32_t *at = calloc(m->n_sites ? m->n_sites : 1, sizeof(*at));
	sqlite3_stmt *cnt = lw_model_prep(m, COUNTERS_SQL);
	int rc = !a || !acc || !at ? -ENOMEM : !cnt ? -EIO : 0;
	out->priv_ = a;
	if (rc == 0)
		rc = read_snapshot(m, a, snapshot_id, &out->snap);
	if (rc == 0)
		rc = read_counters(m, cnt, snapshot_id, acc);
	if (rc == 0)
		rc = collect_sites(m, acc, at, out);
	if (rc == 0)
		rc = load_raw_pcs(m, a, at, out);
	if (rc == 0)
		rc = load_mappings(m, a, &out->snap, out);
	if (rc == 0)
		rc = profile_wrappers(m, a, out);
	if (rc == 0 && lw_model_nodebug(m, &out->nodebug, &out->n_nodebug) < 0)
		out->n_nodebug = 0;   /* a hint only: the profile stands without it */
	sqlite3_finalize(cnt);
	free(acc);
	free(at);
	if (rc < 0) {
		if (!a)
			out->priv_ = NULL;
		lw_profile_free(out);
	}
	return rc;
}

void lw_profile_free(lw_profile *p)
{
	if (!p)
		return;
	free(p->sites);
	free(p->values);
	free(p->raw_depth);
	free(p->raw_pcs);
	arena_drop(p->priv_);
	memset(p, 0, sizeof(*p));
}

/* ---- series -------------------------------------------------------------------- */

static void series_free_one(lw_series *s)
{
	free(s->snaps);
	free(s->sites);
	free(s->values);
	free(s->samples);
	arena_drop(s->priv_);
	memset(s, 0, sizeof(*s));
}

/* The sites of a process (folded, id order): col[fold index] = column + 1. */
static int series_sites(lw_model *m, lw_series *s, uint32_t *col)
{
	sqlite3_stmt *ids = lw_model_prep(m, "SELECT DISTINCT site_id FROM stacks WHERE process_id = ?1");
	if (!ids)
		return -EIO;
	sqlite3_bind_int64(ids, 1, s->process_id);
	int r;
	while ((r = sqlite3_step(ids)) == SQLITE_ROW) {
		long f = lw_model_fold_index(m, sqlite3_column_int64(ids, 0));
		if (f >= 0)
			col[f] = 1;
	}
	sqlite3_finalize(ids);
	if (r != SQLITE_DONE)
		return -EIO;
	for (size_t f = 0; f < m->n_sites; f++)
		s->n_sites += col[f] != 0;
	s->sites = malloc((s->n_sites ? s->n_sites : 1) * sizeof(*s->sites));
	if (!s->sites)
		return -ENOMEM;
	size_t k = 0;
	for (size_t f = 0; f < m->n_sites; f++) {
		if (!col[f])
			continue;
		s->sites[k] = m->sites[f];
		col[f] = (uint32_t)++k;
	}
	return 0;
}

/* values and samples[column * n_snaps + k] from snapshot k's counters. */
static int series_values(lw_model *m, lw_series *s, const uint32_t *col, sums *acc)
{
	if (s->n_sites && s->n_snaps && s->n_sites > SIZE_MAX / sizeof(lw_values) / s->n_snaps)
		return -ENOMEM;
	size_t n_values = s->n_sites * s->n_snaps;
	s->values = calloc(n_values ? n_values : 1, sizeof(*s->values));
	s->samples = calloc(n_values ? n_values : 1, sizeof(*s->samples));
	sqlite3_stmt *cnt = lw_model_prep(m, COUNTERS_SQL);
	int rc = !s->values || !s->samples ? -ENOMEM : !cnt ? -EIO : 0;
	for (size_t k = 0; rc == 0 && k < s->n_snaps; k++) {
		memset(acc, 0, m->n_sites * sizeof(*acc));
		if ((rc = read_counters(m, cnt, s->snaps[k].id, acc)) < 0)
			break;
		for (size_t f = 0; f < m->n_sites; f++)
			if (acc[f].seen && col[f]) {
				size_t i = (col[f] - 1) * s->n_snaps + k;
				to_values(&acc[f], &s->values[i]);
				s->samples[i] = acc[f].smp;
			}
	}
	sqlite3_finalize(cnt);
	return rc;
}

static int load_series(lw_model *m, int64_t process_id, lw_series *s)
{
	lw_arena *a = calloc(1, sizeof(*a));
	uint32_t *col = calloc(m->n_sites ? m->n_sites : 1, sizeof(*col));
	sums *acc = calloc(m->n_sites ? m->n_sites : 1, sizeof(*acc));
	/* the exit snapshot comes after the program's teardown: it is no point
	 * of the series unless the process wrote nothing else */
	sqlite3_stmt *snaps = lw_model_prep(m, LW_SNAP_COLUMNS " WHERE s.process_id = ?1"
					    " AND NOT (s.kind = ?2 AND s.reason = ?3 AND EXISTS"
					    " (SELECT 1 FROM snapshots o WHERE o.process_id = ?1"
					    "  AND NOT (o.kind = ?2 AND o.reason = ?3)))"
					    " ORDER BY s.seq");
	s->priv_ = a;
	s->process_id = process_id;
	s->exe = "";
	s->name = "";
	int rc = !a || !col || !acc ? -ENOMEM : !snaps ? -EIO : 0;
	if (rc == 0) {
		sqlite3_bind_int64(snaps, 1, process_id);
		sqlite3_bind_int(snaps, 2, LWD_KIND_SNAPSHOT);
		sqlite3_bind_int(snaps, 3, LWD_REASON_EXIT);
		rc = lw_model_read_snapshots(snaps, a, &s->snaps, &s->n_snaps);
	}
	if (rc == 0 && s->n_snaps > 0) {
		s->exe = s->snaps[0].exe;
		s->name = s->snaps[0].name;
		s->pid = s->snaps[0].pid;
	}
	if (rc == 0)
		rc = series_sites(m, s, col);
	if (rc == 0)
		rc = series_values(m, s, col, acc);
	sqlite3_finalize(snaps);
	free(col);
	free(acc);
	return rc;
}

int lw_model_series(lw_model *m, lw_series_list *out)
{
	return lw_model_series_of(m, NULL, 0, out);
}

static int wanted(const int64_t *ids, size_t n_ids, int64_t id)
{
	if (n_ids == 0)
		return 1;
	for (size_t i = 0; i < n_ids; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

int lw_model_series_of(lw_model *m, const int64_t *ids, size_t n_ids, lw_series_list *out)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st = lw_model_prep(m, "SELECT id FROM processes ORDER BY id");
	if (!st)
		return -EIO;
	size_t cap = 0;
	int r, rc = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (!wanted(ids, n_ids, sqlite3_column_int64(st, 0)))
			continue;
		if (lw_grow(&out->v, &cap, out->n + 1, sizeof(*out->v)) < 0) {
			rc = -ENOMEM;
			break;
		}
		lw_series *s = &out->v[out->n++];
		memset(s, 0, sizeof(*s));
		if ((rc = load_series(m, sqlite3_column_int64(st, 0), s)) < 0)
			break;
	}
	if (rc == 0 && r != SQLITE_DONE)
		rc = -EIO;
	sqlite3_finalize(st);
	if (rc < 0) {
		lw_series_list_free(out);
		return rc;
	}
	out->wrappers = m->wrapper_names;
	out->n_wrappers = m->n_wrapper_names;
	return 0;
}

void lw_series_list_free(lw_series_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		series_free_one(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}
