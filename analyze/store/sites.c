/* sites.c — symbolization into the store: pc → inline chain (cached in
 * memory and in the pcs table), stack → site (site/site.c builds the
 * frames and the key; this file finds or inserts the rows).
 *
 * Hot path (1,000 snapshots × 5,000 stacks): the shim's stack table only
 * grows, so a run's stacks are the same from file to file. Per run we keep
 * stack index → (hash of its pcs, site id); a known stack costs one hash
 * and one compare, and only new stacks are symbolized. An inline chain is
 * cached per (object, module offset) — object = the module's build-id, or
 * its path when it has none — in memory for the handle's life and in the
 * `pcs` table across commands, so a later load never needs the binaries.
 * Only chains that resolved are stored: an unresolved pc may resolve once
 * debug info is installed.
 *
 * Invariants: every cached row id was read or written inside a committed
 * or current transaction of this handle; load.c drops the caches after a
 * rollback and when another connection committed (PRAGMA data_version).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "errors.h"
#include "lw_assert.h"
#include "store_int.h"
#include "text.h"

static int db_fail(lw_loader *L, const char *what)
{
	snprintf(L->err, sizeof(L->err), "%s: %s", what, sqlite3_errmsg(L->db->h));
	return -EIO;
}

static int oom(lw_loader *L)
{
	snprintf(L->err, sizeof(L->err), "out of memory");
	return -ENOMEM;
}

static int cmp_mod_ptr(const void *a, const void *b)
{
	const lw_module *x = *(const lw_module *const *)a, *y = *(const lw_module *const *)b;
	return x->start < y->start ? -1 : x->start > y->start;
}

int lw_sites_begin(lw_loader *L)
{
	const lw_file *f = L->f;
	L->mods = calloc(f->n_modules ? f->n_modules : 1, sizeof(*L->mods));
	L->mod_hex = calloc(f->n_modules ? f->n_modules : 1, sizeof(*L->mod_hex));
	L->site_of = calloc(f->n_stacks ? f->n_stacks : 1, sizeof(*L->site_of));
	if (!L->mods || !L->mod_hex || !L->site_of)
		return oom(L);
	for (size_t i = 0; i < f->n_modules; i++)
		L->mods[L->n_mods++] = &f->modules[i];
	if (L->n_mods > 1)
		qsort(L->mods, L->n_mods, sizeof(*L->mods), cmp_mod_ptr);
	for (size_t i = 0; i < L->n_mods; i++) {
		uint32_t n = L->mods[i]->build_id_len;
		lw_hex(L->mods[i]->build_id, n > LWD_MAX_BUILD_ID ? LWD_MAX_BUILD_ID : n,
		       L->mod_hex[i]);
	}
	return 0;
}

void lw_sites_end(lw_loader *L)
{
	free(L->mods);
	free(L->mod_hex);
	free(L->site_of);
	L->mods = NULL;
	L->mod_hex = NULL;
	L->site_of = NULL;
}

/* Index in L->mods of the module containing addr, or -1. */
static int find_mod(const lw_loader *L, uint64_t addr)
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

/* ---- symbolization session --------------------------------------------------- */

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

/* The session for this file's module map: reused while the process and its
 * map stay the same; a new one reports its problems (build-id mismatch,
 * missing file) once, as warnings. */
static lw_sym_session *get_session(lw_loader *L)
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

/* ---- frames and inline chains ------------------------------------------------- */

static const char *intern(db_priv *p, const char *s)
{
	return lw_map_intern(&p->strings, s ? s : "");
}

/* frames.id of (function, file, line, module), inserted when new; < 0 on
 * error. */
static int64_t frame_id(lw_loader *L, const lw_sym_frame *f)
{
	char key[4096];
	snprintf(key, sizeof(key), "%s\x1f%s\x1f%d\x1f%s", f->function, f->file, f->line, f->module);
	const uint64_t *hit = lw_map_find_str(&L->p->frames, key);
	if (hit)
		return (int64_t)*hit;
	sqlite3_stmt *st = lw_db_stmt(L->p, ST_FIND_FRAME);
	sqlite3_bind_text(st, 1, f->function, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, f->file, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, f->line);
	sqlite3_bind_text(st, 4, f->module, -1, SQLITE_STATIC);
	int64_t id;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
	} else if (rc == SQLITE_DONE) {
		st = lw_db_stmt(L->p, ST_PUT_FRAME);
		sqlite3_bind_text(st, 1, f->function, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, f->file, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, f->line);
		sqlite3_bind_text(st, 4, f->module, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_fail(L, "inserting a frame");
		id = sqlite3_last_insert_rowid(L->db->h);
	} else {
		return db_fail(L, "looking up a frame");
	}
	uint64_t *slot = lw_map_put_str(&L->p->frames, key, NULL, NULL);
	if (!slot)
		return oom(L);
	*slot = (uint64_t)id;
	return id;
}

/* Appends one frame (strings interned) to the chain cache. */
static int push_chain_frame(lw_loader *L, const lw_sym_frame *f, int64_t fid)
{
	db_priv *p = L->p;
	if (lw_grow(&p->chain_frames, &p->cap_chain_frames, p->n_chain_frames + 1,
		    sizeof(*p->chain_frames)) < 0 ||
	    lw_grow(&p->chain_frame_ids, &p->cap_chain_ids, p->n_chain_frames + 1,
		    sizeof(*p->chain_frame_ids)) < 0)
		return oom(L);
	lw_sym_frame c = *f;
	c.function = intern(p, f->function);
	c.file = intern(p, f->file);
	c.module = intern(p, f->module);
	if (!c.function || !c.file || !c.module)
		return oom(L);
	p->chain_frames[p->n_chain_frames] = c;
	p->chain_frame_ids[p->n_chain_frames++] = fid;
	return 0;
}

/* Records the chain frames[first..end) under key. */
static int add_chain(lw_loader *L, const char *key, size_t first)
{
	db_priv *p = L->p;
	if (lw_grow(&p->chain_slices, &p->cap_chain_slices, p->n_chain_slices + 1,
		    sizeof(*p->chain_slices)) < 0)
		return oom(L);
	uint64_t *slot = lw_map_put_str(&p->chains, key, NULL, NULL);
	if (!slot)
		return oom(L);
	p->chain_slices[p->n_chain_slices].first = first;
	p->chain_slices[p->n_chain_slices].n = p->n_chain_frames - first;
	*slot = p->n_chain_slices++;
	return 0;
}

/* The chain of (object, offset) from the pcs table, if resolved before.
 * Returns 1 found (added to the caches), 0 not there, < 0 on error. */
static int chain_from_table(lw_loader *L, const char *key, const char *object,
			    uint64_t offset)
{
	db_priv *p = L->p;
	sqlite3_stmt *st = lw_db_stmt(p, ST_FIND_PC);
	sqlite3_bind_text(st, 1, object, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, lw_u2i(offset));
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_fail(L, "reading the symbol cache");
	int64_t pc_id = sqlite3_column_int64(st, 0);
	size_t start = p->n_chain_frames;
	st = lw_db_stmt(p, ST_PC_FRAMES);
	sqlite3_bind_int64(st, 1, pc_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		lw_sym_frame f = {
			.inlined = sqlite3_column_int(st, 0),
			.function = (const char *)sqlite3_column_text(st, 2),
			.file = (const char *)sqlite3_column_text(st, 3),
			.line = sqlite3_column_int(st, 4),
			.module = (const char *)sqlite3_column_text(st, 5),
			.offset = offset,
		};
		if (p->n_chain_frames - start < LW_SITE_MAX_INLINE &&
		    push_chain_frame(L, &f, sqlite3_column_int64(st, 1)) < 0)
			return -ENOMEM;
	}
	if (rc != SQLITE_DONE)
		return db_fail(L, "reading the symbol cache");
	if (p->n_chain_frames == start)
		return 0;
	return add_chain(L, key, start) < 0 ? -ENOMEM : 1;
}

/* Stores a resolved chain in the pcs table. */
static int chain_to_table(lw_loader *L, const char *object, uint64_t offset, size_t first,
			  size_t n)
{
	db_priv *p = L->p;
	sqlite3_stmt *st = lw_db_stmt(p, ST_PUT_PC);
	sqlite3_bind_text(st, 1, object, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, lw_u2i(offset));
	sqlite3_bind_int64(st, 3, (int64_t)n);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(L, "inserting a pc");
	int64_t pc_id = sqlite3_last_insert_rowid(L->db->h);
	for (size_t i = 0; i < n; i++) {
		st = lw_db_stmt(p, ST_PUT_PC_FRAME);
		sqlite3_bind_int64(st, 1, pc_id);
		sqlite3_bind_int64(st, 2, (int64_t)i);
		sqlite3_bind_int64(st, 3, p->chain_frame_ids[first + i]);
		sqlite3_bind_int(st, 4, p->chain_frames[first + i].inlined);
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_fail(L, "inserting a pc frame");
	}
	return 0;
}

/* Symbolizes with libdwfl and caches the chain (and stores it when it
 * resolved). */
static int chain_from_symbols(lw_loader *L, const char *key, int mi, const char *object,
			      uint64_t pc, uint64_t offset)
{
	db_priv *p = L->p;
	lw_sym_session *s = get_session(L);
	lw_sym_result r[LW_SITE_MAX_INLINE];
	size_t k = s ? lw_sym_resolve(s, pc, 1, r, LW_SITE_MAX_INLINE) : 0;
	if (k == 0) {
		r[0] = (lw_sym_result){ .function = "??", .file = "", .line = 0,
					.module = mi >= 0 ? L->mods[mi]->path : "??",
					.build_id_hex = "", .module_offset = offset };
		k = 1;
	}
	size_t start = p->n_chain_frames;
	int resolved = 0;
	for (size_t i = 0; i < k; i++) {
		lw_sym_frame f = {
			.function = r[i].function, .file = r[i].file, .line = r[i].line,
			.module = lw_base_name(r[i].module), .inlined = r[i].inlined,
			.offset = offset,
		};
		int64_t fid = frame_id(L, &f);
		if (fid < 0)
			return (int)fid;
		if (push_chain_frame(L, &f, fid) < 0)
			return -ENOMEM;
		resolved |= strcmp(r[i].function, "??") != 0;
	}
	if (add_chain(L, key, start) < 0)
		return -ENOMEM;
	if (object && resolved)
		return chain_to_table(L, object, offset, start, k);
	return 0;
}

/* lw_site_chain_fn over the caches: memory, then the pcs table, then
 * libdwfl. */
static int pc_chain(void *arg, uint64_t pc, const lw_sym_frame **out, size_t *n)
{
	lw_loader *L = arg;
	db_priv *p = L->p;
	int mi = find_mod(L, pc > 0 ? pc - 1 : pc);
	const char *object = NULL;
	uint64_t offset = pc;
	char key[2 * LWD_MAX_BUILD_ID + PATH_MAX + 40];
	if (mi >= 0) {
		object = L->mod_hex[mi][0] ? L->mod_hex[mi] : L->mods[mi]->path;
		offset = pc - L->mods[mi]->load_bias;
	}
	snprintf(key, sizeof(key), "%s\x1f%llx", object ? object : "", (unsigned long long)offset);
	const uint64_t *ix = lw_map_find_str(&p->chains, key);
	int rc = 0;
	if (!ix && object && (rc = chain_from_table(L, key, object, offset)) == 0)
		rc = chain_from_symbols(L, key, mi, object, pc, offset);
	else if (!ix && !object)
		rc = chain_from_symbols(L, key, mi, NULL, pc, offset);
	if (rc < 0)
		return rc;
	ix = lw_map_find_str(&p->chains, key);
	LW_ASSERT(ix != NULL);
	*out = &p->chain_frames[p->chain_slices[*ix].first];
	*n = p->chain_slices[*ix].n;
	return 0;
}

/* ---- sites ---------------------------------------------------------------------- */

/* Inserts the site built in p->build and its frames; returns its id. */
static int64_t insert_site(lw_loader *L)
{
	const lw_site_build *b = &L->p->build;
	sqlite3_stmt *st = lw_db_stmt(L->p, ST_PUT_SITE);
	sqlite3_bind_text(st, 1, b->key.s, (int)b->key.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)(b->n - b->top));
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(L, "inserting a site");
	int64_t id = sqlite3_last_insert_rowid(L->db->h);
	for (size_t i = b->top; i < b->n; i++) {
		const lw_sym_frame *f = &b->frames[i];
		int64_t fid = frame_id(L, f);
		if (fid < 0)
			return fid;
		st = lw_db_stmt(L->p, ST_PUT_SITE_FRAME);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (int64_t)(i - b->top));
		sqlite3_bind_int64(st, 3, fid);
		sqlite3_bind_int(st, 4, f->inlined);
		sqlite3_bind_int64(st, 5, lw_u2i(f->pc));
		sqlite3_bind_int64(st, 6, lw_u2i(f->offset));
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_fail(L, "inserting a site frame");
	}
	return id;
}

/* The site id of one stack (found or inserted); *skip gets the number of
 * leading pcs that were allocator frames only. */
static int64_t stack_site(lw_loader *L, const lw_stack *stk, uint32_t *skip)
{
	db_priv *p = L->p;
	int rc = lw_site_from_stack(&p->build, stk->pcs, stk->depth, pc_chain, L);
	if (rc < 0)
		return rc == -ENOMEM ? oom(L) : rc;
	*skip = p->build.skip;
	const char *key = lw_strbuf_cstr(&p->build.key);
	const uint64_t *hit = lw_map_find_str(&p->sites, key);
	if (hit)
		return (int64_t)*hit;
	sqlite3_stmt *st = lw_db_stmt(p, ST_FIND_SITE);
	sqlite3_bind_text(st, 1, key, (int)p->build.key.len, SQLITE_STATIC);
	int64_t id;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		id = insert_site(L);
	else
		return db_fail(L, "looking up a site");
	if (id < 0)
		return id;
	uint64_t *slot = lw_map_put_str(&p->sites, key, NULL, NULL);
	if (!slot)
		return oom(L);
	*slot = (uint64_t)id;
	return id;
}

/* ---- the run's stacks ------------------------------------------------------------ */

/* The cache of this run's stacks, read from the store on first use. */
static lw_run_stacks *get_run(lw_loader *L)
{
	db_priv *p = L->p;
	for (size_t i = 0; i < p->n_runs; i++)
		if (p->runs[i].process_id == L->process_id)
			return &p->runs[i];
	lw_run_stacks *nr = realloc(p->runs, (p->n_runs + 1) * sizeof(*nr));
	if (!nr)
		return NULL;
	p->runs = nr;
	lw_run_stacks *run = &p->runs[p->n_runs++];
	memset(run, 0, sizeof(*run));
	run->process_id = L->process_id;
	sqlite3_stmt *st = lw_db_stmt(p, ST_LOAD_STACKS);
	sqlite3_bind_int64(st, 1, L->process_id);
	int r;
	size_t cap = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t idx = sqlite3_column_int64(st, 0);
		if (idx < 0 || idx >= (int64_t)UINT32_MAX)
			continue;
		if ((size_t)idx >= run->n) {
			if (lw_grow(&run->v, &cap, (size_t)idx + 1, sizeof(*run->v)) < 0)
				return NULL;
			memset(run->v + run->n, 0, ((size_t)idx + 1 - run->n) * sizeof(*run->v));
			run->n = (size_t)idx + 1;
		}
		run->v[idx].hash = (uint64_t)sqlite3_column_int64(st, 1);
		run->v[idx].site_id = sqlite3_column_int64(st, 2);
	}
	return r == SQLITE_DONE ? run : NULL;
}

/* Records stack i of the file: its row and the run cache. */
static int put_stack(lw_loader *L, lw_run_stacks *run, size_t i, uint64_t h, int64_t site,
		     uint32_t skip)
{
	const lw_stack *s = &L->f->stacks[i];
	sqlite3_stmt *st = lw_db_stmt(L->p, ST_PUT_STACK);
	sqlite3_bind_int64(st, 1, L->process_id);
	sqlite3_bind_int64(st, 2, (int64_t)i);
	sqlite3_bind_int64(st, 3, lw_u2i(h));
	sqlite3_bind_int64(st, 4, s->depth);
	sqlite3_bind_int64(st, 5, s->flags);
	sqlite3_bind_int64(st, 6, skip);
	/* pcs as little-endian u64s (the reader decoded them to host order; the
	 * analyzer runs on little-endian hosts only, as the shim does) */
	sqlite3_bind_blob(st, 7, s->pcs, (int)(s->depth * sizeof(uint64_t)), SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, site);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(L, "inserting a stack");
	run->v[i].hash = h;
	run->v[i].site_id = site;
	return 0;
}

int lw_sites_map_stacks(lw_loader *L)
{
	const lw_file *f = L->f;
	lw_run_stacks *run = get_run(L);
	if (!run)
		return db_fail(L, "loading the run's stacks");
	if (run->n < f->n_stacks) {
		struct lw_stack_ent *v = realloc(run->v, f->n_stacks * sizeof(*v));
		if (!v)
			return oom(L);
		memset(v + run->n, 0, (f->n_stacks - run->n) * sizeof(*v));
		run->v = v;
		run->n = f->n_stacks;
	}
	for (size_t i = 0; i < f->n_stacks; i++) {
		uint64_t h = lw_db_stack_hash(&f->stacks[i]);
		if (run->v[i].hash == h && run->v[i].site_id > 0) {
			L->site_of[i] = run->v[i].site_id;
			continue;
		}
		uint32_t skip = 0;
		int64_t site = stack_site(L, &f->stacks[i], &skip);
		if (site < 0)
			return (int)site;
		int rc = put_stack(L, run, i, h, site, skip);
		if (rc < 0)
			return rc;
		L->site_of[i] = site;
	}
	return 0;
}

uint64_t lw_db_stack_hash(const lw_stack *s)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ ((uint64_t)s->depth << 32 | s->flags);
	for (uint32_t i = 0; i < s->depth; i++) {
		h = (h ^ s->pcs[i]) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	return h ? h : 1;   /* 0 marks "unknown" in the run cache */
}
