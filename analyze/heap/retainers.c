/* retainers.c — the aggregated retainer graph of selected groups
 * (retain.h, lw_heap_retainers; docs/RETAINERS.md, "The retainer graph").
 *
 * Each reachable block of a selected group follows its structure-following
 * path (graph_paths.h) up to a root; the path's nodes are replaced by their
 * aggregated nodes (group or root) and consecutive repeats collapse. Paths
 * are memoized in a trie of aggregated paths, so each block costs constant
 * work. Single-threaded, never prints.
 */
#include "retain.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "hashmap.h"

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
