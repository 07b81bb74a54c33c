/* heap.c — one dump's heap graph, grouped by the store's sites and
 * analyzed (retain.h; method in docs/RETAINERS.md).
 *
 * Data path: the dump is loaded into the store like any snapshot (its
 * stacks become store sites there); lw_heap_open parses it again for its
 * graph, finds its snapshot in the model, and groups every sampled block
 * by the model site of its stack (stacks.site_id, folded as the model
 * folds). So a site has one identity in top, diff, growth and here, and
 * lw_heap_site_retained is a lookup by site id. Unsampled blocks are grouped
 * by class (a vtable pointer names it) or by size class; roots by symbol
 * (globals), thread stack or thread registers.
 *
 * Invariants: block indices are the decoded graph's (address order); csr
 * node ids follow graph.h (0 super-root, 1..n_roots root nodes, then
 * blocks); aggregated ids are group indices, then n_groups + root index.
 * Site frames belong to the model, labels to the heap's arena: the model
 * must outlive the heap. Single-threaded, no globals, never prints.
 */
#include "retain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "graph_paths.h"
#include "hashmap.h"
#include "lw_assert.h"
#include "errors.h"
#include "frame.h"
#include "text.h"

typedef struct heap_priv {
	lw_arena arena;          /* labels */
	lw_map site_group;       /* model site id → group index (SITE groups) */
	uint64_t *sizes;         /* csr.size */
	uint64_t *root_off;
	uint32_t *root_dst;
	uint64_t *root_addr;     /* [root words] address of each word (root_dst order) */
	uint64_t *root_start;    /* [root nodes] GLOBAL: symbol start, or the module's
	                          * load bias for unnamed data */
} heap_priv;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Group of a model site, created on first use. */
static long site_group(lw_heap *h, const lw_site *site, size_t *cap)
{
	heap_priv *p = h->priv_;
	int added;
	uint64_t *slot = lw_map_put_u64(&p->site_group, (uint64_t)site->id, &added);
	if (!slot)
		return -ENOMEM;
	if (!added)
		return (long)*slot;
	if (lw_grow(&h->groups, cap, h->n_groups + 1, sizeof(*h->groups)) < 0)
		return -ENOMEM;
	lw_heap_group *gr = &h->groups[h->n_groups];
	memset(gr, 0, sizeof(*gr));
	gr->kind = LW_HEAP_SITE;
	gr->site = *site;
	char lab[512];
	if (site->n_frames)
		lw_frame_label(&site->frames[0], 0, lab, sizeof lab);
	else
		snprintf(lab, sizeof lab, "(allocator frames only)");
	gr->label = lw_arena_strdup(&p->arena, lab);
	if (!gr->label)
		return -ENOMEM;
	*slot = h->n_groups;
	return (long)h->n_groups++;
}

/* stack_group[i] for every stack of the dump: the group of the model site
 * its stored row (stacks.site_id) belongs to. The row must be this very
 * stack (same hash): the dump was loaded into this store. */
static int build_sites(lw_heap *h, lw_model *m, uint32_t *stack_group, char *err, size_t errlen)
{
	const lw_file *f = h->file;
	int64_t snap_id, proc_id;
	int rc = lw_model_find_snapshot(m, f->run_id, f->seq, &snap_id, &proc_id);
	if (rc < 0)
		return lw_fail(err, errlen, rc, rc == -ENOENT ? "the dump is not in the store"
			       : "cannot read the store");
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(lw_model_db(m)->h, "SELECT idx, hash, site_id FROM stacks"
			       " WHERE process_id = ?1", -1, &st, NULL) != SQLITE_OK)
		return lw_fail(err, errlen, -EIO, "cannot read the store's stacks");
	sqlite3_bind_int64(st, 1, proc_id);
	for (size_t i = 0; i < f->n_stacks; i++)
		stack_group[i] = LW_GRAPH_NONE;
	size_t cap = 0;
	int r;
	rc = 0;
	while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t idx = sqlite3_column_int64(st, 0);
		if (idx < 0 || (uint64_t)idx >= f->n_stacks)
			continue;   /* a later file of the run had more stacks */
		const lw_site *site = lw_model_site(m, sqlite3_column_int64(st, 2));
		if ((uint64_t)sqlite3_column_int64(st, 1) != lw_db_stack_hash(&f->stacks[idx]) || !site) {
			rc = lw_fail(err, errlen, -EINVAL, "stack %lld differs from the store's",
				     (long long)idx);
			break;
		}
		long g = site_group(h, site, &cap);
		if (g < 0)
			rc = lw_fail(err, errlen, -ENOMEM, "out of memory");
		else
			stack_group[idx] = (uint32_t)g;
	}
	sqlite3_finalize(st);
	for (size_t i = 0; rc == 0 && i < f->n_stacks; i++)
		if (stack_group[i] == LW_GRAPH_NONE)
			rc = lw_fail(err, errlen, -EINVAL, "stack %zu is not in the store", i);
	/* unbiased inuse estimates per site, from COUNTERS */
	for (size_t c = 0; rc == 0 && c < f->n_counters; c++) {
		const lw_counter *ct = &f->counters[c];
		lw_heap_group *gr = &h->groups[stack_group[ct->stack]];
		gr->inuse_bytes += ct->alloc_bytes_est - ct->free_bytes_est;
		gr->inuse_objects += ct->alloc_objects_est - ct->free_objects_est;
	}
	return rc;
}

/* Size class of an unsampled block: 0 for <= 16 B, else ceil(log2(size)) - 4. */
static unsigned size_class(uint64_t size)
{
	unsigned c = 0;
	while (c < 59 && (16ull << c) < size)
		c++;
	return c;
}

/* ---- class groups (type hints) -------------------------------------------- */

typedef struct type_ref {
	uint64_t addr;
	uint32_t block;
} type_ref;

static int cmp_type_ref(const void *a, const void *b)
{
	const type_ref *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->block < y->block ? -1 : x->block > y->block;
}

#define LW_VTABLE_PREFIX "vtable for "

/* Groups the unsampled blocks that have a type hint inside a "vtable for
 * Foo" symbol by class: one LW_HEAP_CLASS group per class name, created on
 * first use, block_group[b] set for those blocks. Blocks without a usable
 * hint keep block_group[b] == LW_GRAPH_NONE. Each distinct hint address is
 * symbolized once. */
static int build_class_groups(lw_heap *h, char *err, size_t errlen)
{
	heap_priv *p = h->priv_;
	const lw_graph *dg = h->dg;
	size_t nt = dg->n_types;
	if (nt == 0)
		return 0;
	type_ref *tr = malloc(nt * sizeof *tr);
	if (!tr)
		goto oom;
	for (size_t i = 0; i < nt; i++)
		tr[i] = (type_ref){ dg->types[i].addr, dg->types[i].block };
	qsort(tr, nt, sizeof *tr, cmp_type_ref);
	size_t nu = 0;
	for (size_t i = 0; i < nt; i++)
		if (i == 0 || tr[i].addr != tr[i - 1].addr)
			nu++;
	/* room for a class group per distinct address, plus the 64 size classes */
	size_t cap = h->n_groups + nu + 64;
	lw_heap_group *ng = realloc(h->groups, cap * sizeof *ng);
	if (!ng)
		goto oom_free;
	h->groups = ng;
	memset(h->groups + h->n_groups, 0, (cap - h->n_groups) * sizeof *ng);
	size_t first_class = h->n_groups;
	for (size_t i = 0; i < nt;) {
		size_t j = i;
		while (j < nt && tr[j].addr == tr[i].addr)
			j++;
		uint64_t start = 0;
		const char *name = lw_sym_data_symbol(h->sym, tr[i].addr, &start);
		if (name && strncmp(name, LW_VTABLE_PREFIX, strlen(LW_VTABLE_PREFIX)) == 0 &&
		    name[strlen(LW_VTABLE_PREFIX)]) {
			const char *cls = name + strlen(LW_VTABLE_PREFIX);
			uint32_t grp = LW_GRAPH_NONE;
			for (size_t k = i; k < j; k++) {
				const lw_graph_block *bl = &dg->blocks[tr[k].block];
				if (bl->stack != LWD_NONE)
					continue;      /* sampled: keeps its site */
				if (grp == LW_GRAPH_NONE) {
					for (size_t g = first_class; g < h->n_groups; g++)
						if (strcmp(h->groups[g].cls, cls) == 0) {
							grp = (uint32_t)g;
							break;
						}
				}
				if (grp == LW_GRAPH_NONE) {
					lw_heap_group *gr = &h->groups[h->n_groups];
					char lab[512];
					snprintf(lab, sizeof lab, "%s (unsampled, class from vtable)", cls);
					gr->kind = LW_HEAP_CLASS;
					gr->site.id = (int64_t)h->n_groups;
					gr->label = lw_arena_strdup(&p->arena, lab);
					gr->cls = lw_arena_strdup(&p->arena, cls);
					if (!gr->label || !gr->cls)
						goto oom_free;
					gr->size_lo = UINT64_MAX;
					grp = (uint32_t)h->n_groups++;
				}
				lw_heap_group *gr = &h->groups[grp];
				if (bl->size < gr->size_lo)
					gr->size_lo = bl->size;
				if (bl->size > gr->size_hi)
					gr->size_hi = bl->size;
				h->block_group[tr[k].block] = grp;
			}
		}
		i = j;
	}
	free(tr);
	return 0;
oom_free:
	free(tr);
oom:
	snprintf(err, errlen, "out of memory grouping blocks by class");
	return -ENOMEM;
}

typedef struct root_key {
	uint32_t kind, owner;
	uint64_t start;          /* symbol start for named globals, else 0 */
	const char *symbol;
	uint32_t rec;
} root_key;

static int cmp_root_key(const void *a, const void *b)
{
	const root_key *x = a, *y = b;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->owner != y->owner)
		return x->owner < y->owner ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->rec < y->rec ? -1 : x->rec > y->rec;
}

static int same_root_node(const root_key *x, const root_key *y)
{
	return x->kind == y->kind && x->owner == y->owner && x->start == y->start;
}

/* "thread TID <name>" for the roots a thread owns (lwd_format.h). */
static const char *thread_root_name(uint32_t kind)
{
	switch (kind) {
	case LWD_ROOT_STACK: return "stack";
	case LWD_ROOT_REGISTER: return "registers";
	case LWD_ROOT_TLS: return "tls";
	case LWD_ROOT_SPECIFIC: return "pthread_setspecific";
	case LWD_ROOT_THREAD_ARG: return "start argument";
	case LWD_ROOT_ALT_STACK: return "coroutine stack";
	default: return "root";
	}
}

static int build_roots(lw_heap *h, char *err, size_t errlen)
{
	heap_priv *p = h->priv_;
	const lw_graph *dg = h->dg;
	size_t nr = dg->n_roots;
	root_key *rk = malloc((nr ? nr : 1) * sizeof *rk);
	int rc = -ENOMEM;
	if (!rk)
		goto out;
	for (size_t i = 0; i < nr; i++) {
		const lw_graph_root *r = &dg->roots[i];
		rk[i].kind = r->kind;
		rk[i].owner = r->owner;
		rk[i].start = 0;
		rk[i].symbol = NULL;
		rk[i].rec = (uint32_t)i;
		if (r->kind == LWD_ROOT_GLOBAL) {
			uint64_t start = 0;
			const char *name = lw_sym_data_symbol(h->sym, r->addr, &start);
			if (name) {
				rk[i].symbol = name;
				rk[i].start = start;
			}
		}
	}
	qsort(rk, nr, sizeof *rk, cmp_root_key);
	size_t nn = 0;
	for (size_t i = 0; i < nr; i++)
		if (i == 0 || !same_root_node(&rk[i], &rk[i - 1]))
			nn++;
	h->roots = calloc(nn ? nn : 1, sizeof *h->roots);
	p->root_off = malloc((nn + 1) * sizeof *p->root_off);
	p->root_dst = malloc((nr ? nr : 1) * sizeof *p->root_dst);
	p->root_addr = malloc((nr ? nr : 1) * sizeof *p->root_addr);
	p->root_start = calloc(nn ? nn : 1, sizeof *p->root_start);
	if (!h->roots || !p->root_off || !p->root_dst || !p->root_addr || !p->root_start)
		goto out;
	size_t k = 0;
	p->root_off[0] = 0;
	for (size_t i = 0; i < nr; i++) {
		if (i > 0 && !same_root_node(&rk[i], &rk[i - 1])) {
			k++;
			p->root_off[k] = i;
		}
		lw_heap_root *hr = &h->roots[k];
		p->root_dst[i] = dg->roots[rk[i].rec].block;
		p->root_addr[i] = dg->roots[rk[i].rec].addr;
		if (hr->n_refs++ > 0)
			continue;
		char lab[512];
		hr->kind = rk[i].kind;
		if (rk[i].kind == LWD_ROOT_GLOBAL) {
			const char *mod = rk[i].owner < h->file->n_modules
				? lw_base_name(h->file->modules[rk[i].owner].path) : "??";
			hr->module = mod;
			hr->symbol = rk[i].symbol;
			p->root_start[k] = rk[i].symbol ? rk[i].start
				: rk[i].owner < h->file->n_modules
				? h->file->modules[rk[i].owner].load_bias : 0;
			if (rk[i].symbol)
				snprintf(lab, sizeof lab, "%s (%s)", rk[i].symbol, mod);
			else
				snprintf(lab, sizeof lab, "unnamed data of %s", mod);
		} else {
			uint32_t tid = rk[i].owner < dg->n_threads ? dg->threads[rk[i].owner].tid : 0;
			hr->tid = tid;
			snprintf(lab, sizeof lab, "thread %u %s", tid, thread_root_name(rk[i].kind));
		}
		hr->label = lw_arena_strdup(&p->arena, lab);
		if (!hr->label)
			goto out;
	}
	h->n_roots = nn;
	p->root_off[nn] = nr;
	rc = 0;
out:
	if (rc < 0 && errlen)
		snprintf(err, errlen, "out of memory while grouping roots");
	free(rk);
	return rc;
}

typedef struct progress {
	lw_heap_progress_fn fn;
	void *arg;
	size_t done;
} progress;

static void step(progress *pg)
{
	pg->done++;
	if (pg->fn)
		pg->fn(pg->done, LW_HEAP_STEPS, pg->arg);
}

static void step_cb(void *arg)
{
	step(arg);
}

/* ---- what each root holds ------------------------------------------------ */

/* Order in which roots enter the structure-following search, which breaks
 * ties between equally cheap paths: globals, then thread-local data, then
 * stacks, then registers (a global is what a developer names; a stack or a
 * register usually holds a transient copy of a pointer the program also
 * keeps elsewhere), and within a kind the root with fewer words first (a
 * list head's one word before a table of recycled buffers that happen to
 * hold stale addresses of list nodes). */
static int root_kind_rank(uint32_t kind)
{
	switch (kind) {
	case LWD_ROOT_GLOBAL: return 0;
	case LWD_ROOT_TLS: case LWD_ROOT_SPECIFIC: return 1;
	case LWD_ROOT_STACK: case LWD_ROOT_ALT_STACK: case LWD_ROOT_THREAD_ARG: return 2;
	default: return 3;
	}
}

static int cmp_hold_order(const void *a, const void *b, void *arg)
{
	const lw_heap *h = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	const lw_heap_root *rx = &h->roots[x], *ry = &h->roots[y];
	int kx = root_kind_rank(rx->kind), ky = root_kind_rank(ry->kind);
	if (kx != ky)
		return kx < ky ? -1 : 1;
	if (rx->n_refs != ry->n_refs)
		return rx->n_refs < ry->n_refs ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* "sym+0x48" for a word of a named global without DWARF (the symbol
 * alone for a one-word root at its start), "module+0x2010" (offset from
 * the load bias, what nm and gdb show) for unnamed data. */
static void offset_label(const lw_heap_root *rt, uint64_t off, char *lab, size_t len)
{
	if (rt->symbol && off == 0 && rt->n_refs == 1)
		snprintf(lab, len, "%s", rt->symbol);
	else if (rt->symbol)
		snprintf(lab, len, "%s+0x%llx", rt->symbol, (unsigned long long)off);
	else
		snprintf(lab, len, "%s+0x%llx", rt->module ? rt->module : "??",
			 (unsigned long long)off);
}

/* The label of root r's word at address addr: for a named global its
 * member path when the module has DWARF ("server.db", "g_table[3]"), else
 * offset_label's; a thread's stack or registers keep the node's label. */
static int via_label(lw_heap *h, size_t r, uint64_t addr)
{
	heap_priv *p = h->priv_;
	lw_heap_root *rt = &h->roots[r];
	char lab[600];
	if (rt->kind != LWD_ROOT_GLOBAL) {
		rt->via = rt->label;
		return 0;
	}
	if (!rt->symbol || !h->sym || lw_sym_data_field(h->sym, addr, lab, sizeof lab) != 0)
		offset_label(rt, addr - p->root_start[r], lab, sizeof lab);
	rt->via = lw_arena_strdup(&p->arena, lab);
	return rt->via ? 0 : -ENOMEM;
}

/* Root r's chain (retain.h, lw_heap_root.chain): from block node v (held
 * through r's heaviest word) down the child that holds the most, while it
 * holds at least half of what lies below; consecutive blocks of one group
 * or of one size are one step. sub[] is the bytes each node
 * holds in the hold tree (parent[]). */
static void hold_chain(lw_heap *h, lw_heap_root *rt, uint32_t v, const uint32_t *parent,
		       const uint64_t *sub)
{
	const lw_graph_csr *g = &h->csr;
	uint32_t base = 1u + g->n_roots;
	uint64_t last_size = 0;
	rt->n_chain = 0;
	rt->fan_group = LW_GRAPH_NONE;
	for (uint64_t guard = 0; guard <= g->n_blocks; guard++) {
		uint32_t b = v - base, grp = h->block_group[b];
		uint32_t *step = rt->n_chain ? &rt->chain[rt->n_chain - 1] : NULL;
		if (step && (*step == grp || g->size[b] == last_size)) {
			/* one structure (a list of one struct): one step, named by
			 * a sampled block of it when there is one */
			rt->chain_blocks[rt->n_chain - 1]++;
			if (h->groups[*step].kind != LW_HEAP_SITE && h->groups[grp].kind == LW_HEAP_SITE)
				*step = grp;
		} else {
			if (rt->n_chain == LW_HEAP_CHAIN)
				return;
			rt->chain[rt->n_chain] = grp;
			rt->chain_blocks[rt->n_chain] = 1;
			rt->chain_held[rt->n_chain] = sub[v];
			rt->n_chain++;
		}
		last_size = g->size[b];
		uint64_t below = sub[v] - g->size[b];
		uint32_t best = LW_GRAPH_NONE;
		for (uint64_t e = g->blk_off[b]; e < g->blk_off[b + 1]; e++) {
			uint32_t w = base + g->blk_dst[e];
			if (parent[w] == v && (best == LW_GRAPH_NONE || sub[w] > sub[best]))
				best = w;
		}
		if (best == LW_GRAPH_NONE || below == 0)
			return;
		if (2 * sub[best] >= below) {
			v = best;
			continue;
		}
		/* a fan-out (a table's slots): the heaviest child's group, and
		 * how many children of that group there are and what they hold */
		rt->fan_group = h->block_group[best - base];
		for (uint64_t e = g->blk_off[b]; e < g->blk_off[b + 1]; e++) {
			uint32_t w = base + g->blk_dst[e];
			if (parent[w] == v && h->block_group[w - base] == rt->fan_group) {
				rt->fan_blocks++;
				rt->fan_bytes += sub[w];
			}
		}
		return;
	}
}

/* Which root holds each reachable block: the one at the top of the block's
 * structure-following path over the whole heap (graph_paths.h: a step
 * between blocks of one size is free, so a list or a tree belongs to the
 * root that points at it, not to a bystander holding a stale address of one
 * of its nodes). Every reachable block is held by exactly one root, so the
 * roots' held bytes add up to the reachable bytes; unlike the retained
 * size (dominators), a second pointer into a structure does not make it
 * nobody's. Also the word of each root through which it holds the most. */
static int hold_roots(lw_heap *h)
{
	heap_priv *p = h->priv_;
	const lw_graph_csr *g = &h->csr;
	uint32_t nn = lw_graph_n_nodes(g), base = 1u + g->n_roots;
	uint64_t n_words = p->root_off[h->n_roots];
	uint32_t *order = malloc((h->n_roots ? h->n_roots : 1) * sizeof *order);
	uint32_t *parent = malloc((size_t)nn * sizeof *parent);
	uint32_t *settled = malloc((size_t)nn * sizeof *settled);
	uint32_t *word = malloc((size_t)nn * sizeof *word);
	uint64_t *word_held = calloc(n_words ? n_words : 1, sizeof *word_held);
	uint64_t *sub = calloc((size_t)nn, sizeof *sub);
	int rc = -ENOMEM;
	if (!order || !parent || !settled || !word || !word_held || !sub)
		goto out;
	for (uint32_t r = 0; r < h->n_roots; r++)
		order[r] = r;
	qsort_r(order, h->n_roots, sizeof *order, cmp_hold_order, h);
	uint32_t ns = 0;
	if ((rc = lw_graph_bfs01(g, order, g->size, parent, settled, &ns)) < 0)
		goto out;
	/* the entry word of a block a root points to directly, then down */
	for (uint32_t v = 0; v < nn; v++)
		word[v] = LW_GRAPH_NONE;
	for (uint32_t r = 0; r < h->n_roots; r++)
		for (uint64_t i = p->root_off[r]; i < p->root_off[r + 1]; i++) {
			uint32_t v = base + p->root_dst[i];
			if (parent[v] == LW_GRAPH_ROOT(g, r) && word[v] == LW_GRAPH_NONE)
				word[v] = (uint32_t)i;
		}
	for (uint32_t k = 0; k < ns; k++) {
		uint32_t v = settled[k], b = v - base;
		if (parent[v] >= base)
			word[v] = word[parent[v]];
		LW_ASSERT(word[v] != LW_GRAPH_NONE);
		if (word[v] == LW_GRAPH_NONE)
			continue;
		word_held[word[v]] += g->size[b];
	}
	for (uint32_t k = 0; k < ns; k++) {
		uint32_t v = settled[k], b = v - base;
		uint64_t i = word[v];
		if (i == LW_GRAPH_NONE)
			continue;
		/* root node of word i: root_off is sorted, search it */
		size_t lo = 0, hi = h->n_roots;
		while (hi - lo > 1) {
			size_t mid = (lo + hi) / 2;
			if (p->root_off[mid] <= i)
				lo = mid;
			else
				hi = mid;
		}
		lw_heap_root *rt = &h->roots[lo];
		rt->n_held++;
		rt->held += g->size[b];
		rt->n_held_sampled += h->dg->blocks[b].stack != LWD_NONE;
	}
	/* bytes each block holds in the hold tree: children are settled
	 * after their parents */
	for (uint32_t k = ns; k-- > 0;) {
		uint32_t v = settled[k];
		sub[v] += g->size[v - base];
		if (parent[v] >= base)
			sub[parent[v]] += sub[v];
	}
	for (size_t r = 0; r < h->n_roots; r++) {
		lw_heap_root *rt = &h->roots[r];
		uint64_t best = p->root_off[r];
		for (uint64_t i = p->root_off[r]; i < p->root_off[r + 1]; i++)
			if (word_held[i] > word_held[best])
				best = i;
		rt->via_addr = p->root_addr[best];
		rt->via_held = p->root_off[r + 1] > p->root_off[r] ? word_held[best] : 0;
		rt->fan_group = LW_GRAPH_NONE;
		if (rt->via_held) {
			uint32_t v = base + p->root_dst[best];
			if (parent[v] == LW_GRAPH_ROOT(g, r))
				hold_chain(h, rt, v, parent, sub);
		}
		if ((rc = via_label(h, r, rt->via_addr)) < 0)
			goto out;
	}
	rc = 0;
out:
	free(order);
	free(parent);
	free(settled);
	free(word);
	free(word_held);
	free(sub);
	return rc;
}

static int analyze(lw_heap *h, progress *pg, char *err, size_t errlen)
{
	heap_priv *p = h->priv_;
	const lw_graph *dg = h->dg;
	uint32_t nb = (uint32_t)dg->n_blocks;
	p->sizes = malloc((nb ? nb : 1) * sizeof *p->sizes);
	if (!p->sizes)
		goto nomem;
	for (uint32_t b = 0; b < nb; b++)
		p->sizes[b] = dg->blocks[b].size;
	h->csr.n_blocks = nb;
	h->csr.n_roots = (uint32_t)h->n_roots;
	h->csr.size = p->sizes;
	h->csr.blk_off = dg->out_start;
	h->csr.blk_dst = dg->out_to;
	h->csr.root_off = p->root_off;
	h->csr.root_dst = p->root_dst;
	int rc = lw_graph_analyze_steps(&h->csr, &h->an, step_cb, pg);
	if (rc == -ENOMEM)
		goto nomem;
	if (rc < 0) {
		snprintf(err, errlen, "inconsistent heap graph");
		return rc;
	}
	h->reachable_bytes = h->an.retained[0];
	for (uint32_t b = 0; b < nb; b++) {
		lw_heap_group *gr = &h->groups[h->block_group[b]];
		uint64_t sz = p->sizes[b];
		gr->n_blocks++;
		gr->bytes += sz;
		h->total_bytes += sz;
		if (dg->blocks[b].stack != LWD_NONE) {
			h->n_sampled++;
			h->sampled_bytes += sz;
		}
		switch (h->an.lost[b]) {
		case LW_GRAPH_REACHABLE:
			gr->n_reachable++;
			gr->reachable_bytes += sz;
			break;
		case LW_GRAPH_DEFINITELY_LOST:
			gr->n_def_lost++;
			gr->def_lost_bytes += sz;
			h->n_def_lost++;
			h->def_lost_bytes += sz;
			break;
		default:
			gr->n_ind_lost++;
			gr->ind_lost_bytes += sz;
			h->n_ind_lost++;
			h->ind_lost_bytes += sz;
			break;
		}
	}
	for (size_t r = 0; r < h->n_roots; r++)
		h->roots[r].retained = h->an.retained[LW_GRAPH_ROOT(&h->csr, r)];
	uint64_t *gret = malloc((h->n_groups ? h->n_groups : 1) * sizeof *gret);
	if (!gret)
		goto nomem;
	rc = lw_graph_retained_by_group(&h->csr, h->an.idom, h->an.retained,
					h->block_group, (uint32_t)h->n_groups, gret, NULL);
	if (rc < 0) {
		free(gret);
		goto nomem;
	}
	for (size_t g = 0; g < h->n_groups; g++) {
		lw_heap_group *gr = &h->groups[g];
		gr->retained = gret[g];
		gr->est_scale = gr->kind == LW_HEAP_SITE && gr->bytes && gr->inuse_bytes > 0
			? gr->inuse_bytes / (double)gr->bytes : 1.0;
	}
	free(gret);
	if (hold_roots(h) < 0)
		goto nomem;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory analyzing the heap graph (%zu blocks, %llu edges)",
		 dg->n_blocks, (unsigned long long)dg->n_edges);
	return -ENOMEM;
}

/* Reads the dump and decodes its graph. */
static int read_dump(lw_heap *h, const char *path, char *err, size_t errlen)
{
	int rc = lw_file_open(path, &h->file, err, errlen);
	if (rc < 0)
		return rc;
	if (h->file->kind != LWD_KIND_DUMP)
		return lw_fail(err, errlen, -ENOENT, "not a heap dump (a periodic snapshot has no "
			       "heap graph; request one with 'leakwatch snapshot PID' or SIGUSR2)");
	rc = lw_graph_decode(h->file, &h->dg, err, errlen);
	if (rc == -ENOENT)
		return lw_fail(err, errlen, rc, "dump has no heap graph (the heap walker did not "
			       "run in the process)");
	if (rc < 0)
		return rc;
	if (h->dg->n_blocks + h->dg->n_roots + 2 >= LW_GRAPH_NONE)
		return lw_fail(err, errlen, -E2BIG, "heap graph too large (%zu blocks)",
			       h->dg->n_blocks);
	return 0;
}

/* An unsampled block without a class: its size class's group, created on
 * first use (class_group[64] caches them). */
static long size_class_group(lw_heap *h, uint64_t size, uint32_t *class_group)
{
	heap_priv *p = h->priv_;
	unsigned c = size_class(size);
	if (class_group[c] != LW_GRAPH_NONE)
		return class_group[c];
	lw_heap_group *gr = &h->groups[h->n_groups];   /* room for 64 reserved */
	char lab[96];
	memset(gr, 0, sizeof(*gr));
	gr->kind = LW_HEAP_UNSAMPLED;
	gr->site.id = (int64_t)h->n_groups;
	gr->size_lo = c == 0 ? 1 : (8ull << c) + 1;
	gr->size_hi = 16ull << c;
	snprintf(lab, sizeof lab, "unsampled %llu..%llu B", (unsigned long long)gr->size_lo,
		 (unsigned long long)gr->size_hi);
	if (!(gr->label = lw_arena_strdup(&p->arena, lab)))
		return -ENOMEM;
	class_group[c] = (uint32_t)h->n_groups++;
	return class_group[c];
}

/* block_group[b] for every block: its site's group when sampled, else its
 * class's group when a vtable names one, else its size class's. */
static int group_blocks(lw_heap *h, lw_model *m, char *err, size_t errlen)
{
	const lw_graph *dg = h->dg;
	uint32_t *stack_group = malloc((h->file->n_stacks ? h->file->n_stacks : 1) *
				       sizeof *stack_group);
	h->block_group = malloc((dg->n_blocks ? dg->n_blocks : 1) * sizeof *h->block_group);
	if (!stack_group || !h->block_group) {
		free(stack_group);
		return lw_fail(err, errlen, -ENOMEM, "out of memory");
	}
	int rc = build_sites(h, m, stack_group, err, errlen);
	for (size_t b = 0; b < dg->n_blocks; b++)
		h->block_group[b] = LW_GRAPH_NONE;
	if (rc == 0)
		rc = build_class_groups(h, err, errlen);
	/* the 64 size classes: room reserved once, groups made on first use */
	lw_heap_group *g2 = rc == 0 ? realloc(h->groups, (h->n_groups + 64) * sizeof *g2) : NULL;
	if (rc == 0 && !g2)
		rc = lw_fail(err, errlen, -ENOMEM, "out of memory");
	if (g2)
		h->groups = g2;
	uint32_t class_group[64];
	memset(class_group, 0xff, sizeof class_group);
	for (size_t b = 0; rc == 0 && b < dg->n_blocks; b++) {
		const lw_graph_block *bl = &dg->blocks[b];
		if (bl->stack != LWD_NONE)
			h->block_group[b] = stack_group[bl->stack];
		else if (h->block_group[b] == LW_GRAPH_NONE) {
			long g = size_class_group(h, bl->size, class_group);
			if (g < 0)
				rc = lw_fail(err, errlen, -ENOMEM, "out of memory");
			else
				h->block_group[b] = (uint32_t)g;
		}
	}
	free(stack_group);
	return rc;
}

int lw_heap_open(lw_model *m, const char *path, lw_heap_progress_fn progress_fn, void *arg,
		 lw_heap **out, char *err, size_t errlen)
{
	progress pg = { progress_fn, arg, 0 };
	*out = NULL;
	if (errlen)
		err[0] = 0;
	lw_heap *h = calloc(1, sizeof *h);
	heap_priv *p = calloc(1, sizeof *p);
	if (!h || !p) {
		free(h);
		free(p);
		return lw_fail(err, errlen, -ENOMEM, "out of memory");
	}
	lw_map_init(&p->site_group, 0);
	h->priv_ = p;
	h->path = path;
	h->n_wrappers = lw_model_wrappers(m, &h->wrappers);
	double t0 = now_s();
	int rc = read_dump(h, path, err, errlen);
	step(&pg);
	step(&pg);
	double t1 = now_s();
	h->seconds_load = t1 - t0;
	if (rc == 0 && !(h->sym = lw_sym_session_new(h->file)))
		rc = lw_fail(err, errlen, -ENOMEM, "out of memory starting symbolization");
	if (rc == 0)
		rc = group_blocks(h, m, err, errlen);
	step(&pg);
	if (rc == 0)
		rc = build_roots(h, err, errlen);
	step(&pg);
	double t2 = now_s();
	h->seconds_symbols = t2 - t1;
	if (rc == 0)
		rc = analyze(h, &pg, err, errlen);
	h->seconds_analyze = now_s() - t2;
	if (rc < 0) {
		lw_heap_free(h);
		return rc;
	}
	*out = h;
	return 0;
}

void lw_heap_free(lw_heap *h)
{
	if (!h)
		return;
	heap_priv *p = h->priv_;
	if (p) {
		lw_arena_free(&p->arena);
		lw_map_free(&p->site_group);
		free(p->sizes);
		free(p->root_off);
		free(p->root_dst);
		free(p->root_addr);
		free(p->root_start);
		free(p);
	}
	lw_graph_analysis_free(&h->an);
	free(h->groups);
	free(h->block_group);
	free(h->roots);
	if (h->sym)
		lw_sym_session_free(h->sym);
	if (h->dg)
		lw_graph_free(h->dg);
	if (h->file)
		lw_file_free(h->file);
	free(h);
}

size_t lw_heap_select(const lw_heap *h, const lw_regex *re, uint8_t *sel)
{
	size_t n = 0;
	for (size_t g = 0; g < h->n_groups; g++) {
		const lw_heap_group *gr = &h->groups[g];
		int m = lw_regex_match(re, gr->label);
		char lab[512];
		for (size_t i = 0; !m && i < gr->site.n_frames; i++) {
			lw_frame_label(&gr->site.frames[i], 0, lab, sizeof lab);
			m = lw_regex_match(re, lab);
		}
		sel[g] = (uint8_t)(m != 0);
		n += sel[g];
	}
	return n;
}

long lw_heap_default_site(const lw_heap *h)
{
	long best = -1;
	for (size_t g = 0; g < h->n_groups; g++) {
		const lw_heap_group *gr = &h->groups[g];
		if (gr->kind != LW_HEAP_SITE || gr->n_blocks == 0)
			continue;
		if (best < 0) {
			best = (long)g;
			continue;
		}
		const lw_heap_group *b = &h->groups[best];
		if (gr->inuse_bytes > b->inuse_bytes ||
		    (gr->inuse_bytes == b->inuse_bytes && gr->bytes > b->bytes))
			best = (long)g;
	}
	return best;
}

long lw_heap_find_site(const lw_heap *h, const lw_site *site)
{
	const heap_priv *p = h->priv_;
	const uint64_t *g = lw_map_find_u64(&p->site_group, (uint64_t)site->id);
	return g ? (long)*g : -1;
}

double lw_heap_site_retained(const lw_site *site, void *arg)
{
	const lw_heap *h = arg;
	long g = lw_heap_find_site(h, site);
	if (g < 0 || !h->groups[g].n_blocks)
		return -1;
	return (double)h->groups[g].retained;
}

static int same_frame(const lw_sym_frame *a, const lw_sym_frame *b)
{
	return a->line == b->line && a->offset == b->offset && !strcmp(a->function, b->function) &&
	       !strcmp(a->file, b->file) && !strcmp(a->module, b->module);
}

size_t lw_heap_site_frames(const lw_heap *h, uint32_t g)
{
	const lw_heap_group *gr = &h->groups[g];
	size_t n = gr->site.n_frames, need = n < 2 ? n : 2;
	if (gr->kind != LW_HEAP_SITE || n == 0)
		return 0;
	for (size_t o = 0; o < h->n_groups; o++) {
		const lw_heap_group *og = &h->groups[o];
		if (o == g || og->kind != LW_HEAP_SITE || !og->site.n_frames)
			continue;
		size_t k = 0;
		while (k < n && k < og->site.n_frames &&
		       same_frame(&gr->site.frames[k], &og->site.frames[k]))
			k++;
		if (k && k + 1 > need)
			need = k + 1 < n ? k + 1 : n;
	}
	return need;
}

const char *lw_heap_node_label(const lw_heap *h, uint32_t id)
{
	if (id < h->n_groups)
		return h->groups[id].label;
	if (id - h->n_groups < h->n_roots)
		return h->roots[id - h->n_groups].label;
	return "??";
}

uint64_t lw_heap_node_retained(const lw_heap *h, uint32_t id)
{
	if (id < h->n_groups)
		return h->groups[id].retained;
	if (id - h->n_groups < h->n_roots)
		return h->roots[id - h->n_groups].retained;
	return 0;
}
