/* retain.c — one dump's heap graph, symbolized and analyzed (retain.h);
 * the aggregated retainer graph of selected sites (docs/RETAINERS.md).
 *
 * Invariants: block indices are the decoded graph's (address order); csr node
 * ids follow graph.h (0 super-root, 1..n_roots root nodes, then blocks);
 * aggregated ids are group indices, then n_groups + root node index.
 * Strings (labels, frames) live in the session's intern table or in the
 * heap's arena and stay valid until lw_heap_free. Single-threaded, no
 * globals, never prints.
 */
#include "retain.h"

#include "graph_paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "hashmap.h"
#include "strbuf.h"
#include "text.h"

/* ---- small helpers ---------------------------------------------------------- */

typedef struct heap_priv {
	lw_arena arena;          /* labels */
	lw_sym_frame *frames;    /* all groups' frames */
	uint64_t *sizes;         /* csr.size */
	uint64_t *root_off;
	uint32_t *root_dst;
	char **keys;             /* [n_groups] site keys (SITE groups), sorted view below */
	uint32_t *key_order;     /* SITE group indices sorted by key */
	size_t n_key_order;
} heap_priv;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Site identity key, the same as report.c's lw_report_site_key: frames
 * joined, fields separated by 0x1f, frames ended by 0x1e. Like db.c, an
 * unknown function ("??") is keyed by its module offset when `offs` is given,
 * so two different unsymbolized stacks stay two sites. */
static char *site_key(const lw_sym_frame *fr, size_t n, const uint64_t *offs)
{
	lw_strbuf b = {0};
	lw_strbuf_str(&b, "");
	for (size_t i = 0; i < n; i++) {
		if (offs && strcmp(fr[i].function, "??") == 0)
			lw_strbuf_fmt(&b, "??+0x%llx", (unsigned long long)offs[i]);
		else
			lw_strbuf_str(&b, fr[i].function);
		lw_strbuf_char(&b, '\x1f');
		lw_strbuf_str(&b, fr[i].file);
		lw_strbuf_fmt(&b, "\x1f%d\x1f", fr[i].line);
		lw_strbuf_str(&b, fr[i].module);
		lw_strbuf_char(&b, '\x1e');
	}
	if (b.err) {
		lw_strbuf_free(&b);
		return NULL;
	}
	return b.s;
}

/* ---- loading ------------------------------------------------------------------ */

typedef struct stack_key {
	char *key;
	uint32_t stack;
	uint32_t frame0, n_frames;   /* into a temporary frame array */
} stack_key;

static int cmp_stack_key(const void *a, const void *b)
{
	const stack_key *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* Symbolizes every stack and assigns SITE groups. stack_group[n_stacks]. */
static int build_sites(lw_heap *h, uint32_t *stack_group, char *err, size_t errlen)
{
	heap_priv *p = h->priv_;
	const lw_file *f = h->file;
	size_t ns = f->n_stacks;
	stack_key *sk = calloc(ns ? ns : 1, sizeof *sk);
	lw_sym_frame *tmp = NULL;
	uint64_t *offs = NULL;     /* per frame: module offset of its pc */
	size_t n_tmp = 0, cap_tmp = 0, cap_offs = 0;
	int rc = -ENOMEM;
	if (!sk)
		goto out;
	for (size_t s = 0; s < ns; s++) {
		const lw_stack *st = &f->stacks[s];
		size_t first = n_tmp;
		for (uint32_t d = 0; d < st->depth; d++) {
			lw_sym_result res[16];
			size_t k = lw_sym_resolve(h->sym, st->pcs[d], 1, res, 16);
			if (lw_grow(&tmp, &cap_tmp, n_tmp + k, sizeof *tmp) < 0 ||
			    lw_grow(&offs, &cap_offs, n_tmp + k, sizeof *offs) < 0)
				goto out;
			uint64_t off = st->pcs[d];
			int unknown = 0;
			for (size_t i = 0; i < k; i++)
				unknown |= strcmp(res[i].function, "??") == 0;
			for (size_t mi = 0; unknown && mi < f->n_modules; mi++)
				if (st->pcs[d] - 1 >= f->modules[mi].start &&
				    st->pcs[d] - 1 < f->modules[mi].end) {
					off = st->pcs[d] - f->modules[mi].load_bias;
					break;
				}
			for (size_t i = 0; i < k; i++) {
				offs[n_tmp] = off;
				lw_sym_frame *fr = &tmp[n_tmp++];
				memset(fr, 0, sizeof *fr);
				fr->function = res[i].function;
				fr->file = res[i].file;
				fr->line = res[i].line;
				fr->module = lw_base_name(res[i].module);
				fr->pc = st->pcs[d];
				fr->inlined = res[i].inlined;
			}
		}
		/* allocator and shim frames are removed from the top (keeping at
		 * least one frame, as db.c does) */
		while (first + 1 < n_tmp &&
		       lw_sym_is_allocator_frame(tmp[first].function, tmp[first].module))
			first++;
		sk[s].stack = (uint32_t)s;
		sk[s].frame0 = (uint32_t)first;
		sk[s].n_frames = (uint32_t)(n_tmp - first);
	}
	for (size_t s = 0; s < ns; s++) {
		sk[s].key = site_key(tmp + sk[s].frame0, sk[s].n_frames, offs + sk[s].frame0);
		if (!sk[s].key)
			goto out;
	}
	qsort(sk, ns, sizeof *sk, cmp_stack_key);
	size_t ng = 0, nframes = 0;
	for (size_t s = 0; s < ns; s++)
		if (s == 0 || strcmp(sk[s].key, sk[s - 1].key) != 0) {
			ng++;
			nframes += sk[s].n_frames;
		}
	h->groups = calloc(ng + 64, sizeof *h->groups);   /* + size classes */
	p->frames = malloc((nframes ? nframes : 1) * sizeof *p->frames);
	p->keys = calloc(ng + 64, sizeof *p->keys);
	p->key_order = malloc((ng ? ng : 1) * sizeof *p->key_order);
	if (!h->groups || !p->frames || !p->keys || !p->key_order)
		goto out;
	size_t g = 0, fo = 0;
	for (size_t s = 0; s < ns; s++) {
		if (g == 0 || strcmp(sk[s].key, p->keys[g - 1]) != 0) {
			lw_heap_group *gr = &h->groups[g];
			gr->kind = LW_HEAP_SITE;
			gr->site.id = (int64_t)g;
			gr->site.n_frames = sk[s].n_frames;
			gr->site.frames = p->frames + fo;
			memcpy(gr->site.frames, tmp + sk[s].frame0, sk[s].n_frames * sizeof *tmp);
			fo += sk[s].n_frames;
			char lab[512];
			if (gr->site.n_frames)
				lw_frame_label(&gr->site.frames[0], 0, lab, sizeof lab);
			else
				snprintf(lab, sizeof lab, "(allocator frames only)");
			gr->label = lw_arena_strdup(&p->arena, lab);
			p->keys[g] = sk[s].key;
			sk[s].key = NULL;
			p->key_order[g] = (uint32_t)g;   /* sorted by key already */
			if (!gr->label)
				goto out;
			g++;
		}
		stack_group[sk[s].stack] = (uint32_t)(g - 1);
	}
	p->n_key_order = ng;
	h->n_groups = ng;
	/* unbiased inuse estimates per site, from COUNTERS */
	for (size_t c = 0; c < f->n_counters; c++) {
		const lw_counter *ct = &f->counters[c];
		lw_heap_group *gr = &h->groups[stack_group[ct->stack]];
		gr->inuse_bytes += ct->alloc_bytes_est - ct->free_bytes_est;
		gr->inuse_objects += ct->alloc_objects_est - ct->free_objects_est;
	}
	rc = 0;
out:
	if (rc < 0 && errlen)
		snprintf(err, errlen, "out of memory while symbolizing stacks");
	if (sk)
		for (size_t s = 0; s < ns; s++)
			free(sk[s].key);
	free(sk);
	free(tmp);
	free(offs);
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

/* ---- class groups (type hints) ----------------------------------------------- */

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
	char **nk = realloc(p->keys, cap * sizeof *nk);
	if (!nk)
		goto oom_free;
	p->keys = nk;
	memset(p->keys + h->n_groups, 0, (cap - h->n_groups) * sizeof *nk);
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
	if (!h->roots || !p->root_off || !p->root_dst)
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
		if (hr->n_refs++ > 0)
			continue;
		char lab[512];
		hr->kind = rk[i].kind;
		if (rk[i].kind == LWD_ROOT_GLOBAL) {
			const char *mod = rk[i].owner < h->file->n_modules
				? lw_base_name(h->file->modules[rk[i].owner].path) : "??";
			hr->module = mod;
			hr->symbol = rk[i].symbol;
			if (rk[i].symbol)
				snprintf(lab, sizeof lab, "%s (%s)", rk[i].symbol, mod);
			else
				snprintf(lab, sizeof lab, "unnamed data of %s", mod);
		} else {
			uint32_t tid = rk[i].owner < dg->n_threads ? dg->threads[rk[i].owner].tid : 0;
			hr->tid = tid;
			snprintf(lab, sizeof lab, "thread %u %s", tid,
				 rk[i].kind == LWD_ROOT_STACK ? "stack" : "registers");
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
	for (size_t g = 0; g < h->n_groups; g++)
		h->groups[g].retained = gret[g];
	free(gret);
	return 0;
nomem:
	snprintf(err, errlen, "out of memory analyzing the heap graph (%zu blocks, %llu edges)",
		 dg->n_blocks, (unsigned long long)dg->n_edges);
	return -ENOMEM;
}

int lw_heap_open(const char *path, lw_heap **out, char *err, size_t errlen)
{
	return lw_heap_open_progress(path, NULL, NULL, out, err, errlen);
}

int lw_heap_open_progress(const char *path, lw_heap_progress_fn progress_fn, void *arg,
			  lw_heap **out, char *err, size_t errlen)
{
	progress pg = { progress_fn, arg, 0 };
	*out = NULL;
	if (errlen)
		err[0] = 0;
	lw_heap *h = calloc(1, sizeof *h);
	heap_priv *p = calloc(1, sizeof *p);
	uint32_t *stack_group = NULL;
	int rc = -ENOMEM;
	if (!h || !p) {
		free(h);
		free(p);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	h->priv_ = p;
	h->path = path;
	double t0 = now_s();
	rc = lw_file_open(path, &h->file, err, errlen);
	if (rc < 0)
		goto fail;
	if (h->file->kind != LWD_KIND_DUMP) {
		snprintf(err, errlen, "not a heap dump (a periodic snapshot has no heap "
			 "graph; request one with 'leakwatch snapshot PID' or SIGUSR2)");
		rc = -ENOENT;
		goto fail;
	}
	step(&pg);
	rc = lw_graph_decode(h->file, &h->dg, err, errlen);
	if (rc == -ENOENT) {
		snprintf(err, errlen, "dump has no heap graph (the heap walker did not run "
			 "in the process)");
		goto fail;
	}
	if (rc < 0)
		goto fail;
	if (h->dg->n_blocks + h->dg->n_roots + 2 >= LW_GRAPH_NONE) {
		snprintf(err, errlen, "heap graph too large (%zu blocks)", h->dg->n_blocks);
		rc = -E2BIG;
		goto fail;
	}
	step(&pg);
	double t1 = now_s();
	h->seconds_load = t1 - t0;
	h->sym = lw_sym_session_new(h->file);
	if (!h->sym) {
		snprintf(err, errlen, "out of memory starting symbolization");
		rc = -ENOMEM;
		goto fail;
	}
	stack_group = malloc((h->file->n_stacks ? h->file->n_stacks : 1) * sizeof *stack_group);
	h->block_group = malloc((h->dg->n_blocks ? h->dg->n_blocks : 1) * sizeof *h->block_group);
	if (!stack_group || !h->block_group) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	rc = build_sites(h, stack_group, err, errlen);
	if (rc < 0)
		goto fail;
	/* unsampled blocks: by class when a vtable names it, else one group per
	 * size class, created on first use */
	for (size_t b = 0; b < h->dg->n_blocks; b++)
		h->block_group[b] = LW_GRAPH_NONE;
	rc = build_class_groups(h, err, errlen);
	if (rc < 0)
		goto fail;
	uint32_t class_group[64];
	memset(class_group, 0xff, sizeof class_group);
	for (size_t b = 0; b < h->dg->n_blocks; b++) {
		const lw_graph_block *bl = &h->dg->blocks[b];
		if (bl->stack != LWD_NONE) {
			h->block_group[b] = stack_group[bl->stack];
			continue;
		}
		if (h->block_group[b] != LW_GRAPH_NONE)
			continue;                  /* a class group */
		unsigned c = size_class(bl->size);
		if (class_group[c] == LW_GRAPH_NONE) {
			lw_heap_group *gr = &h->groups[h->n_groups];
			char lab[96];
			gr->kind = LW_HEAP_UNSAMPLED;
			gr->site.id = (int64_t)h->n_groups;
			gr->size_lo = c == 0 ? 1 : (8ull << c) + 1;
			gr->size_hi = 16ull << c;
			snprintf(lab, sizeof lab, "unsampled %llu..%llu B",
				 (unsigned long long)gr->size_lo, (unsigned long long)gr->size_hi);
			gr->label = lw_arena_strdup(&p->arena, lab);
			if (!gr->label) {
				rc = -ENOMEM;
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			class_group[c] = (uint32_t)h->n_groups++;
		}
		h->block_group[b] = class_group[c];
	}
	step(&pg);
	rc = build_roots(h, err, errlen);
	if (rc < 0)
		goto fail;
	step(&pg);
	double t2 = now_s();
	h->seconds_symbols = t2 - t1;
	rc = analyze(h, &pg, err, errlen);
	if (rc < 0)
		goto fail;
	h->seconds_analyze = now_s() - t2;
	free(stack_group);
	*out = h;
	return 0;
fail:
	free(stack_group);
	lw_heap_free(h);
	return rc;
}

void lw_heap_free(lw_heap *h)
{
	if (!h)
		return;
	heap_priv *p = h->priv_;
	if (p) {
		lw_arena_free(&p->arena);
		if (p->keys)
			for (size_t g = 0; g < h->n_groups; g++)
				free(p->keys[g]);
		free(p->keys);
		free(p->key_order);
		free(p->frames);
		free(p->sizes);
		free(p->root_off);
		free(p->root_dst);
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

/* ---- selection ------------------------------------------------------------------ */

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
	char *key = site_key(site->frames, site->n_frames, NULL);
	if (!key)
		return -1;
	size_t lo = 0, hi = p->n_key_order;
	long res = -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(p->keys[p->key_order[mid]], key);
		if (c == 0) {
			res = (long)p->key_order[mid];
			break;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	free(key);
	return res;
}

double lw_heap_site_retained(const lw_site *site, void *arg)
{
	const lw_heap *h = arg;
	long g = lw_heap_find_site(h, site);
	if (g < 0 || !h->groups[g].n_blocks)
		return -1;
	return (double)h->groups[g].retained;
}

/* ---- retainer graph --------------------------------------------------------------- */

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

void lw_retainers_free(lw_retainers *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_paths; i++)
		free(r->paths[i].steps);
	free(r->paths);
	free(r->nodes);
	free(r->edges);
	free(r->reach);
	memset(r, 0, sizeof *r);
}

static int cmp_path(const void *a, const void *b)
{
	const lw_ret_path *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->n_blocks != y->n_blocks)
		return x->n_blocks > y->n_blocks ? -1 : 1;
	if (x->n_steps != y->n_steps)
		return x->n_steps < y->n_steps ? -1 : 1;
	for (uint32_t i = 0; i < x->n_steps; i++)
		if (x->steps[i] != y->steps[i])
			return x->steps[i] < y->steps[i] ? -1 : 1;
	return 0;
}

static int cmp_edge(const void *a, const void *b)
{
	const lw_ret_edge *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return x->to < y->to ? -1 : x->to > y->to;
}

/* Trie of aggregated paths: node 0 is the empty path (the super-root). */
typedef struct trie {
	uint32_t *parent, *agg;
	uint32_t *count;
	uint64_t *bytes;
	size_t n, cap;
	lw_map map;              /* parent << 32 | agg -> child */
} trie;

static long trie_child(trie *t, uint32_t parent, uint32_t agg)
{
	int added;
	uint64_t *slot = lw_map_put_u64(&t->map, ((uint64_t)parent << 32) | agg, &added);
	if (!slot)
		return -1;
	if (!added)
		return (long)*slot;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		uint32_t *p = realloc(t->parent, cap * sizeof *p);
		if (p) t->parent = p;
		uint32_t *a = realloc(t->agg, cap * sizeof *a);
		if (a) t->agg = a;
		uint32_t *c = realloc(t->count, cap * sizeof *c);
		if (c) t->count = c;
		uint64_t *b = realloc(t->bytes, cap * sizeof *b);
		if (b) t->bytes = b;
		if (!p || !a || !c || !b)
			return -1;
		t->cap = cap;
	}
	uint32_t id = (uint32_t)t->n++;
	t->parent[id] = parent;
	t->agg[id] = agg;
	t->count[id] = 0;
	t->bytes[id] = 0;
	*slot = id;
	return id;
}

static void trie_free(trie *t)
{
	free(t->parent);
	free(t->agg);
	free(t->count);
	free(t->bytes);
	lw_map_free(&t->map);
}

int lw_heap_retainers(const lw_heap *h, const uint8_t *sel, size_t max_paths,
		      lw_retainers *out)
{
	memset(out, 0, sizeof *out);
	const lw_graph_csr *g = &h->csr;
	uint32_t n = h->an.n_nodes, base = 1u + g->n_roots;
	size_t n_agg = h->n_groups + h->n_roots;
	int rc = -ENOMEM;
	trie t = {0};
	lw_map emap = {0};        /* from << 32 | to -> edge index */
	lw_ret_edge *edges = NULL;
	size_t n_edges = 0, cap_edges = 0;
	uint32_t *npath = malloc((size_t)n * sizeof *npath);
	uint32_t *stk = malloc((size_t)n * sizeof *stk);
	uint32_t *on_blocks = calloc(n_agg ? n_agg : 1, sizeof *on_blocks);
	uint64_t *on_bytes = calloc(n_agg ? n_agg : 1, sizeof *on_bytes);
	uint8_t *kept = calloc(n_agg ? n_agg : 1, 1);
	uint8_t *target = calloc(g->n_blocks ? g->n_blocks : 1, 1);
	uint32_t *par = malloc((size_t)n * sizeof *par);
	uint32_t *settled = malloc((size_t)n * sizeof *settled);
	uint32_t *root_order = malloc((g->n_roots ? g->n_roots : 1) * sizeof *root_order);
	uint32_t *disp = malloc((g->n_blocks ? g->n_blocks : 1) * sizeof *disp);
	uint8_t *ordered = calloc(g->n_roots ? g->n_roots : 1, 1);
	if (!npath || !stk || !on_blocks || !on_bytes || !kept || !target || !par || !settled ||
	    !root_order || !disp || !ordered)
		goto out;
	/* Which roots reach the selected blocks, and how many of them
	 * (graph_paths.h: a stale pointer into a list reaches only its tail). */
	for (uint32_t b = 0; b < g->n_blocks; b++)
		target[b] = sel[h->block_group[b]] && h->an.bfs_parent[base + b] != LW_GRAPH_NONE;
	if (lw_graph_root_reach(g, target, LW_RET_REACH_ROOTS, LW_RET_REACH_WORK, &out->reach,
				&out->n_reach, &out->reach_complete) < 0)
		goto out;
	/* Paths follow same-size chains for free, roots tried in reach order. */
	uint32_t n_ordered = 0;
	for (size_t i = 0; i < out->n_reach; i++) {
		root_order[n_ordered++] = out->reach[i].root;
		ordered[out->reach[i].root] = 1;
	}
	for (uint32_t r = 0; r < g->n_roots; r++)
		if (!ordered[r])
			root_order[n_ordered++] = r;
	uint32_t n_settled = 0;
	if (lw_graph_bfs01(g, root_order, g->size, par, settled, &n_settled) < 0)
		goto out;
	/* Display groups: an unsampled block chained (same size) from a block
	 * shown as a selected site is shown as part of that site's chain — the
	 * unsampled nodes of the same list — so a path reads
	 * "g_list -> site" instead of alternating site / size class. */
	for (uint32_t b = 0; b < g->n_blocks; b++)
		disp[b] = h->block_group[b];
	for (uint32_t i = 0; i < n_settled; i++) {
		uint32_t v = settled[i], b = v - base, pv = par[v];
		if (pv < base || h->groups[disp[b]].kind != LW_HEAP_UNSAMPLED)
			continue;
		uint32_t pb = pv - base;
		if (g->size[pb] == g->size[b] && sel[disp[pb]] &&
		    h->groups[disp[pb]].kind == LW_HEAP_SITE)
			disp[b] = disp[pb];
	}
	memset(npath, 0xff, (size_t)n * sizeof *npath);
	npath[0] = 0;
	if (trie_child(&t, 0, LW_GRAPH_NONE) != 0)   /* node 0: empty path */
		goto out;
	for (uint32_t b = 0; b < g->n_blocks; b++) {
		uint32_t v = base + b;
		if (!target[b] || par[v] == LW_GRAPH_NONE)
			continue;
		/* climb to the first node whose path is known, then assign downwards */
		uint32_t sp = 0, x = v;
		while (npath[x] == LW_GRAPH_NONE) {
			stk[sp++] = x;
			x = par[x];
		}
		while (sp > 0) {
			x = stk[--sp];
			uint32_t px = par[x];
			uint32_t a = x >= base ? disp[x - base] : (uint32_t)h->n_groups + (x - 1);
			uint32_t pp = npath[px];
			if (pp != 0 && t.agg[pp] == a) {
				npath[x] = pp;
			} else {
				long c = trie_child(&t, pp, a);
				if (c < 0)
					goto out;
				npath[x] = (uint32_t)c;
			}
			uint64_t sz = x >= base ? g->size[x - base] : 0;
			if (x >= base) {
				on_blocks[a]++;
				on_bytes[a] += sz;
			}
			if (px != 0) {
				uint32_t pa = px >= base ? disp[px - base]
							 : (uint32_t)h->n_groups + (px - 1);
				int added;
				uint64_t *slot = lw_map_put_u64(&emap, ((uint64_t)pa << 32) | a, &added);
				if (!slot)
					goto out;
				if (added) {
					if (lw_grow(&edges, &cap_edges, n_edges + 1, sizeof *edges) < 0)
						goto out;
					edges[n_edges] = (lw_ret_edge){ pa, a, 0, 0 };
					*slot = n_edges++;
				}
				edges[*slot].pointers++;
				edges[*slot].bytes += sz;
			}
		}
		t.count[npath[v]]++;
		t.bytes[npath[v]] += g->size[b];
		out->n_targets++;
		out->target_bytes += g->size[b];
	}
	/* paths: trie nodes that end some target's path */
	size_t np = 0;
	for (size_t i = 1; i < t.n; i++)
		np += t.count[i] > 0;
	out->paths = calloc(np ? np : 1, sizeof *out->paths);
	if (!out->paths)
		goto out;
	for (size_t i = 1; i < t.n; i++) {
		if (!t.count[i])
			continue;
		lw_ret_path *pa = &out->paths[out->n_paths++];
		uint32_t len = 0;
		for (uint32_t x = (uint32_t)i; x != 0; x = t.parent[x])
			len++;
		pa->steps = malloc(len * sizeof *pa->steps);
		if (!pa->steps)
			goto out;
		pa->n_steps = len;
		for (uint32_t x = (uint32_t)i, k = len; x != 0; x = t.parent[x])
			pa->steps[--k] = t.agg[x];
		pa->n_blocks = t.count[i];
		pa->bytes = t.bytes[i];
	}
	qsort(out->paths, out->n_paths, sizeof *out->paths, cmp_path);
	out->n_kept_paths = max_paths && max_paths < out->n_paths ? max_paths : out->n_paths;
	size_t nk = 0;
	for (size_t i = 0; i < out->n_kept_paths; i++)
		for (uint32_t k = 0; k < out->paths[i].n_steps; k++)
			if (!kept[out->paths[i].steps[k]]) {
				kept[out->paths[i].steps[k]] = 1;
				nk++;
			}
	out->nodes = calloc(nk ? nk : 1, sizeof *out->nodes);
	if (!out->nodes)
		goto out;
	/* nodes: roots first (in root order), then groups */
	for (size_t a = h->n_groups; a < n_agg; a++)
		if (kept[a])
			out->nodes[out->n_nodes++] = (lw_ret_node){ (uint32_t)a, 0, 0, 0 };
	for (size_t a = 0; a < h->n_groups; a++)
		if (kept[a])
			out->nodes[out->n_nodes++] = (lw_ret_node){
				(uint32_t)a, on_blocks[a], on_bytes[a], sel[a] != 0 };
	size_t ke = 0;
	for (size_t e = 0; e < n_edges; e++)
		if (kept[edges[e].from] && kept[edges[e].to])
			edges[ke++] = edges[e];
	if (ke)
		qsort(edges, ke, sizeof *edges, cmp_edge);
	out->edges = edges;
	out->n_edges = ke;
	edges = NULL;
	rc = 0;
out:
	if (rc < 0)
		lw_retainers_free(out);
	free(edges);
	free(npath);
	free(stk);
	free(on_blocks);
	free(on_bytes);
	free(kept);
	free(target);
	free(par);
	free(settled);
	free(root_order);
	free(disp);
	free(ordered);
	trie_free(&t);
	lw_map_free(&emap);
	return rc;
}
