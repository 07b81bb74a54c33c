/* model.c — the model of a store (model.h): its site catalog with
 * wrappers folded, snapshot lists, and the sample types. views.c builds
 * profiles and series on top of it.
 *
 * The catalog is every site of the store, read in one query and folded
 * once: raw[i] is store site i as stored (allocator frames removed),
 * sites[fold_of[i]] the site it belongs to after wrapper folding. A folded
 * site takes the id of its smallest member, its frames are a suffix of
 * that member's frames, and its key is lw_site_key of those frames.
 *
 * Invariants: strings are interned in m->strings (pointer equality means
 * string equality); every lw_site handed out points into the model and
 * lives until lw_model_close or lw_model_set_wrappers. The model holds one
 * read transaction from open to close. Only SQL outside store/ and
 * `leakwatch sql`: read-only and parameterized, so a store opened
 * read-only works.
 */
#include "model_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "lw_assert.h"

sqlite3_stmt *lw_model_prep(const lw_model *m, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(m->db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	return st;
}

uint64_t lw_model_u64(sqlite3_stmt *st, int col)
{
	int64_t v = sqlite3_column_int64(st, col);
	uint64_t r;
	memcpy(&r, &v, sizeof(r));
	return r;
}

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

/* ---- the catalog --------------------------------------------------------------- */

static const char *intern(lw_model *m, const unsigned char *s)
{
	return lw_map_intern(&m->strings, s ? (const char *)s : "");
}

/* Reads one site_frames row into the next frame of the catalog. */
static int read_frame(lw_model *m, sqlite3_stmt *st, lw_sym_frame *f)
{
	f->function = intern(m, sqlite3_column_text(st, 1));
	f->file = intern(m, sqlite3_column_text(st, 2));
	f->line = sqlite3_column_int(st, 3);
	f->module = intern(m, sqlite3_column_text(st, 4));
	f->pc = lw_model_u64(st, 5);
	f->inlined = sqlite3_column_int(st, 6);
	f->offset = lw_model_u64(st, 7);
	return f->function && f->file && f->module ? 0 : -ENOMEM;
}

/* Every site of the store, in id order, into m->raw. */
static int read_catalog(lw_model *m)
{
	sqlite3_stmt *st = lw_model_prep(m,
		"SELECT sf.site_id, f.function, f.file, f.line, f.module, sf.pc, sf.inlined,"
		" sf.offset FROM site_frames sf JOIN frames f ON f.id = sf.frame_id"
		" ORDER BY sf.site_id, sf.depth");
	if (!st)
		return -EIO;
	size_t n_frames = 0, cap_frames = 0, cap_raw = 0;
	size_t *first = NULL;   /* per raw site: its first frame */
	size_t cap_first = 0;
	int rc = 0, r = SQLITE_DONE;
	while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (m->n_raw == 0 || m->raw[m->n_raw - 1].id != id) {
			if (lw_grow(&m->raw, &cap_raw, m->n_raw + 1, sizeof(*m->raw)) < 0 ||
			    lw_grow(&first, &cap_first, m->n_raw + 1, sizeof(*first)) < 0) {
				rc = -ENOMEM;
				break;
			}
			memset(&m->raw[m->n_raw], 0, sizeof(*m->raw));
			m->raw[m->n_raw].id = id;
			first[m->n_raw++] = n_frames;
		}
		if (lw_grow(&m->raw_frames, &cap_frames, n_frames + 1, sizeof(*m->raw_frames)) < 0) {
			rc = -ENOMEM;
			break;
		}
		rc = read_frame(m, st, &m->raw_frames[n_frames++]);
		m->raw[m->n_raw - 1].n_frames++;
	}
	if (rc == 0 && r != SQLITE_DONE)
		rc = -EIO;
	sqlite3_finalize(st);
	for (size_t i = 0; rc == 0 && i < m->n_raw; i++) {
		m->raw[i].frames = m->raw_frames + first[i];
		uint64_t *slot = lw_map_put_u64(&m->raw_index, (uint64_t)m->raw[i].id, NULL);
		if (!slot)
			rc = -ENOMEM;
		else
			*slot = i;
	}
	free(first);
	return rc;
}

/* ---- folding -------------------------------------------------------------------- */

typedef struct fold_pair {
	uint32_t site;           /* folded site index */
	const char *name;        /* an interned wrapper function folded into it */
} fold_pair;

static int cmp_pair(const void *a, const void *b)
{
	const fold_pair *x = a, *y = b;
	if (x->site != y->site)
		return x->site < y->site ? -1 : 1;
	return x->name < y->name ? -1 : x->name > y->name;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void drop_fold(lw_model *m)
{
	lw_arena_free(&m->fold_arena);
	free(m->sites);
	free(m->fold_of);
	free(m->wrapper_names);
	m->sites = NULL;
	m->fold_of = NULL;
	m->wrapper_names = NULL;
	m->n_sites = m->n_wrapper_names = 0;
}

/* Gives each folded site its list of folded wrapper functions, and the
 * model the sorted list of all of them. pairs is sorted here. */
static int attach_wrappers(lw_model *m, fold_pair *pairs, size_t n)
{
	if (n > 1)
		qsort(pairs, n, sizeof(*pairs), cmp_pair);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)   /* distinct (site, name) */
		if (k == 0 || pairs[k - 1].site != pairs[i].site || pairs[k - 1].name != pairs[i].name)
			pairs[k++] = pairs[i];
	const char **all = malloc((k ? k : 1) * sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < k;) {
		size_t j = i;
		while (j < k && pairs[j].site == pairs[i].site)
			j++;
		const char **names = lw_arena_alloc(&m->fold_arena, (j - i) * sizeof(*names));
		if (!names) {
			free(all);
			return -ENOMEM;
		}
		for (size_t x = i; x < j; x++)
			names[x - i] = pairs[x].name;
		m->sites[pairs[i].site].wrappers = names;
		m->sites[pairs[i].site].n_wrappers = j - i;
		i = j;
	}
	for (size_t i = 0; i < k; i++)
		all[i] = pairs[i].name;
	qsort(all, k, sizeof(*all), cmp_name);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (u == 0 || all[u - 1] != all[i])
			all[u++] = all[i];
	m->wrapper_names = all;
	m->n_wrapper_names = u;
	return 0;
}

/* One raw site into its folded site (found by key, or new); records the
 * wrapper frames it lost in pairs. */
static int fold_one(lw_model *m, size_t i, lw_map *keys, lw_strbuf *key, fold_pair **pairs,
		    size_t *n_pairs, size_t *cap_pairs)
{
	const lw_site *raw = &m->raw[i];
	size_t d = m->wrappers.names.n || m->wrappers.n_patterns
		   ? lw_site_fold_depth(raw, &m->wrappers) : 0;
	lw_strbuf_reset(key);
	lw_site_key(raw->frames + d, raw->n_frames - d, key);
	if (key->err)
		return key->err;
	int added;
	const char *stored;
	uint64_t *slot = lw_map_put(keys, key->s, key->len, &added, &stored);
	if (!slot)
		return -ENOMEM;
	if (added) {
		lw_site *s = &m->sites[m->n_sites];
		memset(s, 0, sizeof(*s));
		s->id = raw->id;   /* raw is in id order: the smallest member */
		s->frames = raw->frames + d;
		s->n_frames = raw->n_frames - d;
		s->key = lw_arena_strdup(&m->fold_arena, stored);
		if (!s->key)
			return -ENOMEM;
		*slot = m->n_sites++;
	}
	m->fold_of[i] = (uint32_t)*slot;
	for (size_t k = 0; k < d; k++) {
		if (!lw_wrappers_match(&m->wrappers, raw->frames[k].function))
			continue;   /* a helper above the wrapper, not one itself */
		if (lw_grow(pairs, cap_pairs, *n_pairs + 1, sizeof(**pairs)) < 0)
			return -ENOMEM;
		(*pairs)[(*n_pairs)++] = (fold_pair){ (uint32_t)*slot, raw->frames[k].function };
	}
	return 0;
}

/* (Re)builds m->sites from m->raw with m->wrappers. */
static int fold(lw_model *m)
{
	drop_fold(m);
	m->sites = malloc((m->n_raw ? m->n_raw : 1) * sizeof(*m->sites));
	m->fold_of = malloc((m->n_raw ? m->n_raw : 1) * sizeof(*m->fold_of));
	if (!m->sites || !m->fold_of)
		return -ENOMEM;
	lw_map keys;
	lw_map_init(&keys, 1);
	lw_strbuf key = { 0 };
	fold_pair *pairs = NULL;
	size_t n_pairs = 0, cap_pairs = 0;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < m->n_raw; i++)
		rc = fold_one(m, i, &keys, &key, &pairs, &n_pairs, &cap_pairs);
	if (rc == 0)
		rc = attach_wrappers(m, pairs, n_pairs);
	free(pairs);
	lw_strbuf_free(&key);
	lw_map_free(&keys);
	return rc;
}

/* The wrapper set of opts: detected (unless no_wrappers) and patterns. */
static int find_wrappers(lw_model *m, const lw_model_opts *o, char *err, size_t errlen)
{
	lw_wrappers_init(&m->wrappers);
	if (!o->no_wrappers && lw_site_find_wrappers(m->raw, m->n_raw, &m->wrappers) < 0)
		return lw_fail(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < o->n_wrappers; i++) {
		char why[256];
		int rc = lw_wrappers_add_pattern(&m->wrappers, o->wrappers[i], why, sizeof(why));
		if (rc < 0)
			return lw_fail(err, errlen, rc, "--wrapper '%s': %s", o->wrappers[i],
				       rc == -ENOMEM ? "out of memory" : why);
	}
	return 0;
}

int lw_model_open(lw_db *db, const lw_model_opts *opts, lw_model **out, char *err,
		  size_t errlen)
{
	static const lw_model_opts defaults = { 0, NULL, 0 };
	*out = NULL;
	lw_model *m = calloc(1, sizeof(*m));
	if (!m)
		return lw_fail(err, errlen, -ENOMEM, "out of memory");
	m->db = db;
	m->opts = opts ? *opts : defaults;
	lw_map_init(&m->strings, 1);
	lw_map_init(&m->raw_index, 0);
	lw_wrappers_init(&m->wrappers);
	int rc = 0;
	/* one state of the store for everything this model reads */
	if (sqlite3_get_autocommit(db->h) && sqlite3_exec(db->h, "BEGIN", NULL, NULL, NULL) == SQLITE_OK)
		m->in_txn = 1;
	if ((rc = read_catalog(m)) < 0)
		lw_fail(err, errlen, rc, "'%s': cannot read the sites: %s", db->path,
			rc == -ENOMEM ? "out of memory" : sqlite3_errmsg(db->h));
	if (rc == 0) {
		lw_wrappers_free(&m->wrappers);
		rc = find_wrappers(m, &m->opts, err, errlen);
	}
	if (rc == 0 && (rc = fold(m)) < 0)
		lw_fail(err, errlen, rc, "out of memory");
	if (rc < 0) {
		lw_model_close(m);
		return rc;
	}
	*out = m;
	return 0;
}

void lw_model_close(lw_model *m)
{
	if (!m)
		return;
	if (m->in_txn)
		sqlite3_exec(m->db->h, "COMMIT", NULL, NULL, NULL);
	drop_fold(m);
	lw_wrappers_free(&m->wrappers);
	lw_map_free(&m->strings);
	lw_map_free(&m->raw_index);
	free(m->raw);
	free(m->raw_frames);
	free(m);
}

lw_db *lw_model_db(const lw_model *m)
{
	return m->db;
}

size_t lw_model_wrappers(const lw_model *m, const char *const **names)
{
	*names = m->wrapper_names;
	return m->n_wrapper_names;
}

int lw_model_set_wrappers(lw_model *m, const char *const *names, size_t n)
{
	lw_wrappers_free(&m->wrappers);
	lw_wrappers_init(&m->wrappers);
	for (size_t i = 0; i < n; i++)
		if (lw_wrappers_add(&m->wrappers, names[i]) < 0)
			return -ENOMEM;
	return fold(m);
}

long lw_model_fold_index(const lw_model *m, int64_t store_site_id)
{
	const uint64_t *i = lw_map_find_u64(&m->raw_index, (uint64_t)store_site_id);
	return i ? (long)m->fold_of[*i] : -1;
}

const lw_site *lw_model_site(const lw_model *m, int64_t store_site_id)
{
	long i = lw_model_fold_index(m, store_site_id);
	return i < 0 ? NULL : &m->sites[i];
}

/* ---- snapshots ------------------------------------------------------------------ */

static int fill_snapshot(sqlite3_stmt *st, lw_arena *a, lw_snapshot *s)
{
	s->id = sqlite3_column_int64(st, 0);
	s->process_id = sqlite3_column_int64(st, 1);
	s->run_id = lw_model_u64(st, 2);
	s->seq = lw_model_u64(st, 3);
	s->kind = (uint32_t)sqlite3_column_int64(st, 4);
	s->pid = (uint32_t)sqlite3_column_int64(st, 5);
	s->exe = lw_arena_strdup(a, (const char *)sqlite3_column_text(st, 6));
	s->wall_ns = lw_model_u64(st, 7);
	s->t_s = sqlite3_column_double(st, 8);
	s->sample_rate = lw_model_u64(st, 9);
	s->rss_bytes = lw_model_u64(st, 10);
	s->heap_committed = lw_model_u64(st, 11);
	s->path = lw_arena_strdup(a, (const char *)sqlite3_column_text(st, 12));
	char name[LW_PROC_NAME_MAX];
	const char *cmdline = (const char *)sqlite3_column_text(st, 13);
	s->name = lw_arena_strdup(a, lw_proc_name(cmdline, s->exe, name, sizeof(name)));
	s->reason = (uint32_t)sqlite3_column_int64(st, 14);
	s->exit_status = lw_snapshot_is_exit(s) ? lw_exit_status_decode(sqlite3_column_int64(st, 15))
					       : -1;
	return s->exe && s->path && s->name ? 0 : -ENOMEM;
}

int lw_snapshot_is_exit(const lw_snapshot *s)
{
	return s->kind == LWD_KIND_SNAPSHOT && s->reason == LWD_REASON_EXIT;
}

const char *lw_snapshot_kind_name(const lw_snapshot *s)
{
	return s->kind == LWD_KIND_DUMP ? "dump" : lw_snapshot_is_exit(s) ? "exit snapshot" : "snapshot";
}

int lw_model_read_snapshots(sqlite3_stmt *st, lw_arena *a, lw_snapshot **out, size_t *n_out)
{
	size_t n = 0, cap = 0;
	lw_snapshot *v = NULL;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (lw_grow(&v, &cap, n + 1, sizeof(*v)) < 0 || fill_snapshot(st, a, &v[n]) < 0) {
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

int lw_model_snapshots(lw_model *m, lw_snapshot_list *out)
{
	memset(out, 0, sizeof(*out));
	lw_arena *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	sqlite3_stmt *st = lw_model_prep(m, LW_SNAP_COLUMNS " ORDER BY s.process_id, s.seq");
	int rc = st ? lw_model_read_snapshots(st, a, &out->v, &out->n) : -EIO;
	sqlite3_finalize(st);
	if (rc < 0) {
		lw_arena_free(a);
		free(a);
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
	if (l->priv_) {
		lw_arena_free(l->priv_);
		free(l->priv_);
	}
	memset(l, 0, sizeof(*l));
}

int lw_model_find_snapshot(lw_model *m, uint64_t run_id, uint64_t seq, int64_t *snapshot_id,
			   int64_t *process_id)
{
	sqlite3_stmt *st = lw_model_prep(m, "SELECT s.id, s.process_id FROM snapshots s"
					 " JOIN processes p ON p.id = s.process_id"
					 " WHERE p.run_id = ?1 AND s.seq = ?2");
	if (!st)
		return -EIO;
	int64_t r, q;
	memcpy(&r, &run_id, sizeof(r));
	memcpy(&q, &seq, sizeof(q));
	sqlite3_bind_int64(st, 1, r);
	sqlite3_bind_int64(st, 2, q);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*snapshot_id = sqlite3_column_int64(st, 0);
		*process_id = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return step == SQLITE_ROW ? 0 : step == SQLITE_DONE ? -ENOENT : -EIO;
}
