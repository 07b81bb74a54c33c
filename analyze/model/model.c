/* model.c — the in-memory view of a store (model.h) for the reporting
 * commands: snapshot lists, one snapshot's profile by site, per-process time
 * series, pprof mappings and raw pcs. The only SQL outside db.c and
 * `leakwatch sql`; every query is parameterized and read-only, so the model
 * works on a database opened read-only too.
 *
 * Invariants: values are inuse = alloc - free, clamped at 0 (estimates of
 * one stack share weights, so only rounding can make them negative); every
 * string a result hands out lives in the result's arena (priv_) and is freed
 * with it; a failed call leaves its output zeroed.
 *
 * Cost: a profile is one counters query plus one frames query and one stack
 * query per site; a series is one query per snapshot, filling a dense
 * n_sites × n_snaps array (5,000 × 1,000 values = 160 MB; the growth
 * command needs them all).
 */
#include "model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

/* ---- helpers ------------------------------------------------------------- */

/* Frees a heap-allocated arena and everything in it. */
static void arena_drop(lw_arena *a)
{
	if (!a)
		return;
	lw_arena_free(a);
	free(a);
}

static sqlite3_stmt *prep(lw_db *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	return st;
}

static uint64_t i2u(int64_t v)
{
	uint64_t r;
	memcpy(&r, &v, sizeof(r));
	return r;
}

#define SNAP_COLUMNS \
	"SELECT s.id, s.process_id, p.run_id, s.seq, s.kind, p.pid, p.exe, s.wall_ns," \
	" s.t_s, s.sample_rate, s.rss_bytes, s.heap_committed, s.path" \
	" FROM snapshots s JOIN processes p ON p.id = s.process_id"

static int fill_snapshot(sqlite3_stmt *st, lw_arena *a, lw_snapshot *s)
{
	s->id = sqlite3_column_int64(st, 0);
	s->process_id = sqlite3_column_int64(st, 1);
	s->run_id = i2u(sqlite3_column_int64(st, 2));
	s->seq = i2u(sqlite3_column_int64(st, 3));
	s->kind = (uint32_t)sqlite3_column_int64(st, 4);
	s->pid = (uint32_t)sqlite3_column_int64(st, 5);
	s->exe = lw_arena_strdup(a, (const char *)sqlite3_column_text(st, 6));
	s->wall_ns = i2u(sqlite3_column_int64(st, 7));
	s->t_s = sqlite3_column_double(st, 8);
	s->sample_rate = i2u(sqlite3_column_int64(st, 9));
	s->rss_bytes = i2u(sqlite3_column_int64(st, 10));
	s->heap_committed = i2u(sqlite3_column_int64(st, 11));
	s->path = lw_arena_strdup(a, (const char *)sqlite3_column_text(st, 12));
	return s->exe && s->path ? 0 : -ENOMEM;
}

/* Reads rows of SNAP_COLUMNS into a growing array. */
static int read_snapshots(sqlite3_stmt *st, lw_arena *a, lw_snapshot **out, size_t *n_out)
{
	size_t n = 0, cap = 0;
	lw_snapshot *v = NULL;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			lw_snapshot *nv = realloc(v, ncap * sizeof(*nv));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		if (fill_snapshot(st, a, &v[n]) < 0) {
			free(v);
			return -ENOMEM;
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		free(v);
		return -EIO;
	}
	*out = v;
	*n_out = n;
	return 0;
}

static void set_values(lw_values *v, double ao, double ab, double fo, double fb)
{
	v->alloc_objects = ao;
	v->alloc_bytes = ab;
	v->inuse_objects = fmax(0.0, ao - fo);
	v->inuse_bytes = fmax(0.0, ab - fb);
}

/* Loads the frames of one site into the arena. */
static int load_site(sqlite3_stmt *st, lw_arena *a, int64_t site_id, lw_site *out)
{
	size_t n = 0, cap = 8;
	lw_sym_frame *fr = malloc(cap * sizeof(*fr));
	if (!fr)
		return -ENOMEM;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, site_id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap *= 2;
			lw_sym_frame *nf = realloc(fr, cap * sizeof(*nf));
			if (!nf) {
				free(fr);
				return -ENOMEM;
			}
			fr = nf;
		}
		lw_sym_frame *f = &fr[n++];
		memset(f, 0, sizeof(*f));
		f->function = lw_arena_strdup(a, (const char *)sqlite3_column_text(st, 0));
		f->file = lw_arena_strdup(a, (const char *)sqlite3_column_text(st, 1));
		f->line = sqlite3_column_int(st, 2);
		f->module = lw_arena_strdup(a, (const char *)sqlite3_column_text(st, 3));
		f->pc = i2u(sqlite3_column_int64(st, 4));
		f->inlined = sqlite3_column_int(st, 5);
		if (!f->function || !f->file || !f->module) {
			free(fr);
			return -ENOMEM;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(fr);
		return -EIO;
	}
	out->id = site_id;
	out->n_frames = n;
	out->frames = lw_arena_alloc(a, (n ? n : 1) * sizeof(*fr));
	if (!out->frames) {
		free(fr);
		return -ENOMEM;
	}
	memcpy(out->frames, fr, n * sizeof(*fr));
	free(fr);
	return 0;
}

#define SITE_FRAMES_SQL \
	"SELECT f.function, f.file, f.line, f.module, sf.pc, sf.inlined" \
	" FROM site_frames sf JOIN frames f ON f.id = sf.frame_id" \
	" WHERE sf.site_id = ?1 ORDER BY sf.depth"

/* ---- sample types ---------------------------------------------------------- */

static const char *const type_names[LW_N_SAMPLE_TYPES] = {
	[LW_INUSE_SPACE] = "inuse_space",
	[LW_INUSE_OBJECTS] = "inuse_objects",
	[LW_ALLOC_SPACE] = "alloc_space",
	[LW_ALLOC_OBJECTS] = "alloc_objects",
};

double lw_values_get(const lw_values *v, enum lw_sample_type t)
{
	switch (t) {
	case LW_INUSE_SPACE: return v->inuse_bytes;
	case LW_INUSE_OBJECTS: return v->inuse_objects;
	case LW_ALLOC_SPACE: return v->alloc_bytes;
	case LW_ALLOC_OBJECTS: return v->alloc_objects;
	default: return 0;
	}
}

int lw_sample_type_parse(const char *name)
{
	for (int i = 0; i < LW_N_SAMPLE_TYPES; i++)
		if (name && strcmp(name, type_names[i]) == 0)
			return i;
	return -1;
}

const char *lw_sample_type_name(enum lw_sample_type t)
{
	return (unsigned)t < LW_N_SAMPLE_TYPES ? type_names[t] : "?";
}

/* ---- snapshots --------------------------------------------------------------- */

int lw_model_snapshots(lw_db *db, lw_snapshot_list *out)
{
	memset(out, 0, sizeof(*out));
	lw_arena *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	sqlite3_stmt *st = prep(db, SNAP_COLUMNS " ORDER BY s.process_id, s.seq");
	if (!st) {
		arena_drop(a);
		return -EIO;
	}
	int rc = read_snapshots(st, a, &out->v, &out->n);
	sqlite3_finalize(st);
	if (rc < 0) {
		arena_drop(a);
		memset(out, 0, sizeof(*out));
		return rc;
	}
	out->priv_ = a;
	return 0;
}

void lw_snapshot_list_free(lw_snapshot_list *l)
{
	if (!l)
		return;
	free(l->v);
	arena_drop(l->priv_);
	memset(l, 0, sizeof(*l));
}

/* ---- profile ------------------------------------------------------------------ */

static int load_mappings(lw_db *db, lw_arena *a, const lw_snapshot *snap, lw_profile *p)
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
	sqlite3_stmt *st = prep(db, sql);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, snap->process_id);
	sqlite3_bind_int64(st, 2, (int64_t)snap->seq);
	size_t n = 0, cap = 0;
	lw_mapping *v = NULL;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			lw_mapping *nv = realloc(v, ncap * sizeof(*nv));
			if (!nv) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		lw_mapping *m = &v[n++];
		m->path = lw_arena_strdup(a, (const char *)sqlite3_column_text(st, 0));
		m->build_id_hex = lw_arena_strdup(a, (const char *)sqlite3_column_text(st, 1));
		m->start = i2u(sqlite3_column_int64(st, 2));
		m->end = i2u(sqlite3_column_int64(st, 3));
		m->file_offset = i2u(sqlite3_column_int64(st, 4));
		if (!m->path || !m->build_id_hex) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
	}
	lw_mapping *dst = lw_arena_alloc(a, (n ? n : 1) * sizeof(*dst));
	if (!dst) {
		free(v);
		return -ENOMEM;
	}
	if (n)
		memcpy(dst, v, n * sizeof(*dst));
	free(v);
	p->mappings = dst;
	p->n_mappings = n;
	return 0;
}

int lw_model_profile(lw_db *db, int64_t snapshot_id, lw_profile *out)
{
	memset(out, 0, sizeof(*out));
	lw_arena *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	int rc = -EIO;
	sqlite3_stmt *snap_st = NULL, *cnt = NULL, *frames = NULL, *stacks = NULL;
	lw_site *sites = NULL;
	lw_values *values = NULL;
	size_t n = 0, cap = 0;

	snap_st = prep(db, SNAP_COLUMNS " WHERE s.id = ?1");
	cnt = prep(db, "SELECT site_id, alloc_objects, alloc_bytes, free_objects, free_bytes"
		       " FROM counters WHERE snapshot_id = ?1 ORDER BY site_id");
	frames = prep(db, SITE_FRAMES_SQL);
	stacks = prep(db, "SELECT skip, pcs FROM stacks WHERE site_id = ?1 AND process_id = ?2"
			  " ORDER BY idx LIMIT 1");
	if (!snap_st || !cnt || !frames || !stacks)
		goto fail;
	sqlite3_bind_int64(snap_st, 1, snapshot_id);
	int r = sqlite3_step(snap_st);
	if (r == SQLITE_DONE) {
		rc = -ENOENT;
		goto fail;
	}
	if (r != SQLITE_ROW)
		goto fail;
	if ((rc = fill_snapshot(snap_st, a, &out->snap)) < 0)
		goto fail;
	rc = -EIO;

	sqlite3_bind_int64(cnt, 1, snapshot_id);
	while ((r = sqlite3_step(cnt)) == SQLITE_ROW) {
		lw_values v;
		set_values(&v, sqlite3_column_double(cnt, 1), sqlite3_column_double(cnt, 2),
			   sqlite3_column_double(cnt, 3), sqlite3_column_double(cnt, 4));
		if (v.alloc_objects == 0 && v.alloc_bytes == 0 && v.inuse_objects == 0 &&
		    v.inuse_bytes == 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			lw_site *ns = realloc(sites, ncap * sizeof(*ns));
			if (!ns) {
				rc = -ENOMEM;
				goto fail;
			}
			sites = ns;
			lw_values *nv = realloc(values, ncap * sizeof(*nv));
			if (!nv) {
				rc = -ENOMEM;
				goto fail;
			}
			values = nv;
			cap = ncap;
		}
		sites[n].id = sqlite3_column_int64(cnt, 0);
		values[n] = v;
		out->total.alloc_objects += v.alloc_objects;
		out->total.alloc_bytes += v.alloc_bytes;
		out->total.inuse_objects += v.inuse_objects;
		out->total.inuse_bytes += v.inuse_bytes;
		n++;
	}
	if (r != SQLITE_DONE)
		goto fail;

	out->raw_depth = calloc(n ? n : 1, sizeof(*out->raw_depth));
	out->raw_pcs = calloc(n ? n : 1, sizeof(*out->raw_pcs));
	if (!out->raw_depth || !out->raw_pcs) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		if ((rc = load_site(frames, a, sites[i].id, &sites[i])) < 0)
			goto fail;
		rc = -EIO;
		sqlite3_reset(stacks);
		sqlite3_bind_int64(stacks, 1, sites[i].id);
		sqlite3_bind_int64(stacks, 2, out->snap.process_id);
		r = sqlite3_step(stacks);
		if (r == SQLITE_ROW) {
			int64_t skip = sqlite3_column_int64(stacks, 0);
			const void *blob = sqlite3_column_blob(stacks, 1);
			size_t depth = (size_t)sqlite3_column_bytes(stacks, 1) / sizeof(uint64_t);
			if (skip < 0 || (size_t)skip > depth)
				skip = 0;
			size_t keep = depth - (size_t)skip;
			uint64_t *pcs = lw_arena_alloc(a, (keep ? keep : 1) * sizeof(uint64_t));
			if (!pcs) {
				rc = -ENOMEM;
				goto fail;
			}
			if (keep)
				memcpy(pcs, (const uint64_t *)blob + skip, keep * sizeof(uint64_t));
			out->raw_pcs[i] = pcs;
			out->raw_depth[i] = (uint32_t)keep;
		} else if (r != SQLITE_DONE) {
			goto fail;
		}
	}
	sqlite3_reset(stacks);
	if ((rc = load_mappings(db, a, &out->snap, out)) < 0)
		goto fail;

	out->n = n;
	out->sites = sites;
	out->values = values;
	out->priv_ = a;
	sqlite3_finalize(snap_st);
	sqlite3_finalize(cnt);
	sqlite3_finalize(frames);
	sqlite3_finalize(stacks);
	return 0;
fail:
	sqlite3_finalize(snap_st);
	sqlite3_finalize(cnt);
	sqlite3_finalize(frames);
	sqlite3_finalize(stacks);
	free(sites);
	free(values);
	free(out->raw_depth);
	free(out->raw_pcs);
	arena_drop(a);
	memset(out, 0, sizeof(*out));
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

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void series_free_one(lw_series *s)
{
	free(s->snaps);
	free(s->sites);
	free(s->values);
	free(s->samples);
	arena_drop(s->priv_);
	memset(s, 0, sizeof(*s));
}

static int load_series(lw_db *db, int64_t process_id, lw_series *s)
{
	lw_arena *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	s->priv_ = a;
	s->process_id = process_id;
	int rc = -EIO, r;
	int64_t *site_ids = NULL;
	size_t n_sites = 0, cap = 0;
	sqlite3_stmt *snaps = prep(db, SNAP_COLUMNS " WHERE s.process_id = ?1 ORDER BY s.seq");
	sqlite3_stmt *ids = prep(db, "SELECT DISTINCT site_id FROM stacks WHERE process_id = ?1"
				     " ORDER BY site_id");
	sqlite3_stmt *cnt = prep(db, "SELECT site_id, alloc_objects, alloc_bytes, free_objects,"
				     " free_bytes, alloc_samples, alloc_sample_bytes, free_samples,"
				     " free_sample_bytes FROM counters WHERE snapshot_id = ?1");
	sqlite3_stmt *frames = prep(db, SITE_FRAMES_SQL);
	if (!snaps || !ids || !cnt || !frames)
		goto out;
	sqlite3_bind_int64(snaps, 1, process_id);
	if ((rc = read_snapshots(snaps, a, &s->snaps, &s->n_snaps)) < 0)
		goto out;
	if (s->n_snaps > 0) {
		s->exe = s->snaps[0].exe;
		s->pid = s->snaps[0].pid;
	} else {
		s->exe = "";
	}
	rc = -EIO;
	sqlite3_bind_int64(ids, 1, process_id);
	while ((r = sqlite3_step(ids)) == SQLITE_ROW) {
		if (n_sites == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			int64_t *nv = realloc(site_ids, ncap * sizeof(*nv));
			if (!nv) {
				rc = -ENOMEM;
				goto out;
			}
			site_ids = nv;
			cap = ncap;
		}
		site_ids[n_sites++] = sqlite3_column_int64(ids, 0);
	}
	if (r != SQLITE_DONE)
		goto out;
	s->n_sites = n_sites;
	s->sites = calloc(n_sites ? n_sites : 1, sizeof(*s->sites));
	if (n_sites && s->n_snaps && n_sites > SIZE_MAX / sizeof(lw_values) / s->n_snaps) {
		rc = -ENOMEM;
		goto out;
	}
	size_t n_values = n_sites * s->n_snaps;
	s->values = calloc(n_values ? n_values : 1, sizeof(*s->values));
	s->samples = calloc(n_values ? n_values : 1, sizeof(*s->samples));
	if (!s->sites || !s->values || !s->samples) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_sites; i++)
		if ((rc = load_site(frames, a, site_ids[i], &s->sites[i])) < 0)
			goto out;
	rc = -EIO;
	for (size_t k = 0; k < s->n_snaps; k++) {
		sqlite3_reset(cnt);
		sqlite3_bind_int64(cnt, 1, s->snaps[k].id);
		while ((r = sqlite3_step(cnt)) == SQLITE_ROW) {
			int64_t id = sqlite3_column_int64(cnt, 0);
			const int64_t *hit = bsearch(&id, site_ids, n_sites, sizeof(*site_ids), cmp_i64);
			if (!hit)
				continue;   /* cannot happen: counters name this run's sites */
			size_t si = (size_t)(hit - site_ids);
			set_values(&s->values[si * s->n_snaps + k],
				   sqlite3_column_double(cnt, 1), sqlite3_column_double(cnt, 2),
				   sqlite3_column_double(cnt, 3), sqlite3_column_double(cnt, 4));
			s->samples[si * s->n_snaps + k] = (lw_samples){
				(uint64_t)sqlite3_column_int64(cnt, 5),
				(uint64_t)sqlite3_column_int64(cnt, 6),
				(uint64_t)sqlite3_column_int64(cnt, 7),
				(uint64_t)sqlite3_column_int64(cnt, 8),
			};
		}
		if (r != SQLITE_DONE)
			goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(snaps);
	sqlite3_finalize(ids);
	sqlite3_finalize(cnt);
	sqlite3_finalize(frames);
	free(site_ids);
	return rc;
}

int lw_model_series(lw_db *db, lw_series_list *out)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st = prep(db, "SELECT id FROM processes ORDER BY id");
	if (!st)
		return -EIO;
	size_t cap = 0;
	int r, rc = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			lw_series *nv = realloc(out->v, ncap * sizeof(*nv));
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			out->v = nv;
			cap = ncap;
		}
		lw_series *s = &out->v[out->n];
		memset(s, 0, sizeof(*s));
		out->n++;
		if ((rc = load_series(db, sqlite3_column_int64(st, 0), s)) < 0)
			break;
	}
	if (rc == 0 && r != SQLITE_DONE)
		rc = -EIO;
	sqlite3_finalize(st);
	if (rc < 0) {
		lw_series_list_free(out);
		return rc;
	}
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
