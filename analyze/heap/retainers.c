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

const lw_ret_node *lw_retainers_node(const lw_retainers *r, uint32_t id)
{
	for (size_t i = 0; i < r->n_nodes; i++)
		if (r->nodes[i].id == id)
			return &r->nodes[i];
	return NULL;
}

/* The work of one lw_heap_retainers call. Node-indexed arrays have
 * h->an.n_nodes entries, block-indexed ones csr.n_blocks, aggregated-id
 * ones n_groups + n_roots. */
typedef struct ret_state {
	const lw_heap *h;
	const lw_graph_csr *g;
	const uint8_t *sel;
	uint32_t n, base;
	size_t n_agg;
	trie t;
	lw_map emap;             /* from << 32 | to → edge index */
	lw_ret_edge *edges;
	size_t n_edges, cap_edges;
	uint32_t *npath;         /* node → trie node of its aggregated path */
	uint32_t *stk;
	uint32_t *on_blocks;     /* aggregated id → blocks on the paths */
	uint64_t *on_bytes;
	uint8_t *target;         /* block: a reachable block of a selected group */
	uint32_t *par, *settled; /* structure-following path tree (bfs01) */
	uint32_t n_settled;
	uint32_t *disp;          /* block → aggregated id shown for it */
} ret_state;

static int state_init(ret_state *s, const lw_heap *h, const uint8_t *sel)
{
	memset(s, 0, sizeof *s);
	s->h = h;
	s->g = &h->csr;
	s->sel = sel;
	s->n = h->an.n_nodes;
	s->base = 1u + s->g->n_roots;
	s->n_agg = h->n_groups + h->n_roots;
	size_t nb = s->g->n_blocks ? s->g->n_blocks : 1, na = s->n_agg ? s->n_agg : 1;
	s->npath = malloc((size_t)s->n * sizeof *s->npath);
	s->stk = malloc((size_t)s->n * sizeof *s->stk);
	s->par = malloc((size_t)s->n * sizeof *s->par);
	s->settled = malloc((size_t)s->n * sizeof *s->settled);
	s->on_blocks = calloc(na, sizeof *s->on_blocks);
	s->on_bytes = calloc(na, sizeof *s->on_bytes);
	s->target = calloc(nb, 1);
	s->disp = malloc(nb * sizeof *s->disp);
	return s->npath && s->stk && s->par && s->settled && s->on_blocks && s->on_bytes &&
	       s->target && s->disp ? 0 : -ENOMEM;
}

static void state_free(ret_state *s)
{
	free(s->edges);
	free(s->npath);
	free(s->stk);
	free(s->par);
	free(s->settled);
	free(s->on_blocks);
	free(s->on_bytes);
	free(s->target);
	free(s->disp);
	trie_free(&s->t);
	lw_map_free(&s->emap);
}

/* The targets; which roots reach them and how many of them (graph_paths.h:
 * a stale pointer into a list reaches only its tail); then the path tree,
 * following same-size chains for free, roots tried in reach order. */
static int path_tree(ret_state *s, lw_retainers *out)
{
	const lw_graph_csr *g = s->g;
	for (uint32_t b = 0; b < g->n_blocks; b++)
		s->target[b] = s->sel[s->h->block_group[b]] &&
			       s->h->an.bfs_parent[s->base + b] != LW_GRAPH_NONE;
	if (lw_graph_root_reach(g, s->target, LW_RET_REACH_ROOTS, LW_RET_REACH_WORK, &out->reach,
				&out->n_reach, &out->reach_complete) < 0)
		return -ENOMEM;
	uint32_t *order = malloc((g->n_roots ? g->n_roots : 1) * sizeof *order);
	uint8_t *ordered = calloc(g->n_roots ? g->n_roots : 1, 1);
	int rc = -ENOMEM;
	if (order && ordered) {
		uint32_t k = 0;
		for (size_t i = 0; i < out->n_reach; i++) {
			order[k++] = out->reach[i].root;
			ordered[out->reach[i].root] = 1;
		}
		for (uint32_t r = 0; r < g->n_roots; r++)
			if (!ordered[r])
				order[k++] = r;
		rc = lw_graph_bfs01(g, order, g->size, s->par, s->settled, &s->n_settled);
	}
	free(order);
	free(ordered);
	return rc < 0 ? -ENOMEM : 0;
}

/* Display groups: an unsampled block chained (same size) from a block shown
 * as a selected site is shown as part of that site's chain (the unsampled
 * nodes of the same list), so a path reads "g_list -> site" instead of
 * alternating site / size class. */
static void display_groups(ret_state *s)
{
	const lw_heap *h = s->h;
	const lw_graph_csr *g = s->g;
	for (uint32_t b = 0; b < g->n_blocks; b++)
		s->disp[b] = h->block_group[b];
	for (uint32_t i = 0; i < s->n_settled; i++) {
		uint32_t v = s->settled[i], b = v - s->base, pv = s->par[v];
		if (pv < s->base || h->groups[s->disp[b]].kind != LW_HEAP_UNSAMPLED)
			continue;
		uint32_t pb = pv - s->base;
		if (g->size[pb] == g->size[b] && s->sel[s->disp[pb]] &&
		    h->groups[s->disp[pb]].kind == LW_HEAP_SITE)
			s->disp[b] = s->disp[pb];
	}
}

/* The aggregated id of a node of the path tree. */
static uint32_t agg_of(const ret_state *s, uint32_t x)
{
	return x >= s->base ? s->disp[x - s->base] : (uint32_t)s->h->n_groups + (x - 1);
}

/* Counts the tree edge par[x] -> x between aggregated nodes pa -> a. */
static int count_edge(ret_state *s, uint32_t pa, uint32_t a, uint64_t bytes)
{
	int added;
	uint64_t *slot = lw_map_put_u64(&s->emap, ((uint64_t)pa << 32) | a, &added);
	if (!slot)
		return -ENOMEM;
	if (added) {
		if (lw_grow(&s->edges, &s->cap_edges, s->n_edges + 1, sizeof *s->edges) < 0)
			return -ENOMEM;
		s->edges[s->n_edges] = (lw_ret_edge){ pa, a, 0, 0 };
		*slot = s->n_edges++;
	}
	s->edges[*slot].pointers++;
	s->edges[*slot].bytes += bytes;
	return 0;
}

/* Gives node v (and every node above it not seen yet) its trie node: climb
 * to the first node whose path is known, then assign downwards. */
static int assign_path(ret_state *s, uint32_t v)
{
	uint32_t sp = 0, x = v;
	while (s->npath[x] == LW_GRAPH_NONE) {
		s->stk[sp++] = x;
		x = s->par[x];
	}
	while (sp > 0) {
		x = s->stk[--sp];
		uint32_t px = s->par[x], a = agg_of(s, x), pp = s->npath[px];
		if (pp != 0 && s->t.agg[pp] == a) {
			s->npath[x] = pp;   /* consecutive repeats collapse */
		} else {
			long c = trie_child(&s->t, pp, a);
			if (c < 0)
				return -ENOMEM;
			s->npath[x] = (uint32_t)c;
		}
		uint64_t sz = x >= s->base ? s->g->size[x - s->base] : 0;
		if (x >= s->base) {
			s->on_blocks[a]++;
			s->on_bytes[a] += sz;
		}
		if (px != 0 && count_edge(s, agg_of(s, px), a, sz) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Every target's aggregated path, counted in the trie. */
static int walk_paths(ret_state *s, lw_retainers *out)
{
	memset(s->npath, 0xff, (size_t)s->n * sizeof *s->npath);
	s->npath[0] = 0;
	if (trie_child(&s->t, 0, LW_GRAPH_NONE) != 0)   /* node 0: empty path */
		return -ENOMEM;
	for (uint32_t b = 0; b < s->g->n_blocks; b++) {
		uint32_t v = s->base + b;
		if (!s->target[b] || s->par[v] == LW_GRAPH_NONE)
			continue;
		if (assign_path(s, v) < 0)
			return -ENOMEM;
		s->t.count[s->npath[v]]++;
		s->t.bytes[s->npath[v]] += s->g->size[b];
		out->n_targets++;
		out->target_bytes += s->g->size[b];
	}
	return 0;
}

/* The trie nodes that end some target's path, as ranked paths. */
static int collect_paths(ret_state *s, lw_retainers *out)
{
	const trie *t = &s->t;
	size_t np = 0;
	for (size_t i = 1; i < t->n; i++)
		np += t->count[i] > 0;
	out->paths = calloc(np ? np : 1, sizeof *out->paths);
	if (!out->paths)
		return -ENOMEM;
	for (size_t i = 1; i < t->n; i++) {
		if (!t->count[i])
			continue;
		lw_ret_path *pa = &out->paths[out->n_paths++];
		uint32_t len = 0;
		for (uint32_t x = (uint32_t)i; x != 0; x = t->parent[x])
			len++;
		pa->steps = malloc(len * sizeof *pa->steps);
		if (!pa->steps)
			return -ENOMEM;
		pa->n_steps = len;
		for (uint32_t x = (uint32_t)i, k = len; x != 0; x = t->parent[x])
			pa->steps[--k] = t->agg[x];
		pa->n_blocks = t->count[i];
		pa->bytes = t->bytes[i];
	}
	qsort(out->paths, out->n_paths, sizeof *out->paths, cmp_path);
	return 0;
}

/* Nodes and edges of the kept (heaviest) paths: roots first, then groups. */
static int collect_graph(ret_state *s, size_t max_paths, lw_retainers *out)
{
	const lw_heap *h = s->h;
	uint8_t *kept = calloc(s->n_agg ? s->n_agg : 1, 1);
	if (!kept)
		return -ENOMEM;
	out->n_kept_paths = max_paths && max_paths < out->n_paths ? max_paths : out->n_paths;
	size_t nk = 0;
	for (size_t i = 0; i < out->n_kept_paths; i++)
		for (uint32_t k = 0; k < out->paths[i].n_steps; k++)
			if (!kept[out->paths[i].steps[k]]) {
				kept[out->paths[i].steps[k]] = 1;
				nk++;
			}
	out->nodes = calloc(nk ? nk : 1, sizeof *out->nodes);
	if (!out->nodes) {
		free(kept);
		return -ENOMEM;
	}
	for (size_t a = h->n_groups; a < s->n_agg; a++)
		if (kept[a])
			out->nodes[out->n_nodes++] = (lw_ret_node){ (uint32_t)a, 0, 0, 0 };
	for (size_t a = 0; a < h->n_groups; a++)
		if (kept[a])
			out->nodes[out->n_nodes++] = (lw_ret_node){
				(uint32_t)a, s->on_blocks[a], s->on_bytes[a], s->sel[a] != 0 };
	size_t ke = 0;
	for (size_t e = 0; e < s->n_edges; e++)
		if (kept[s->edges[e].from] && kept[s->edges[e].to])
			s->edges[ke++] = s->edges[e];
	if (ke)
		qsort(s->edges, ke, sizeof *s->edges, cmp_edge);
	out->edges = s->edges;
	out->n_edges = ke;
	s->edges = NULL;
	free(kept);
	return 0;
}

int lw_heap_retainers(const lw_heap *h, const uint8_t *sel, size_t max_paths,
		      lw_retainers *out)
{
	memset(out, 0, sizeof *out);
	ret_state s;
	int rc = state_init(&s, h, sel);
	if (rc == 0)
		rc = path_tree(&s, out);
	if (rc == 0) {
		display_groups(&s);
		rc = walk_paths(&s, out);
	}
	if (rc == 0)
		rc = collect_paths(&s, out);
	if (rc == 0)
		rc = collect_graph(&s, max_paths, out);
	if (rc < 0)
		lw_retainers_free(out);
	state_free(&s);
	return rc;
}
