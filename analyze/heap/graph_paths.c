/* graph_paths.c — root reach and structure-following retainer paths
 * (graph_paths.h). Flat arrays, no recursion, no per-node allocation, so it
 * scales with graph.c to ~10M blocks.
 */
#include "graph_paths.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct candidate {
	uint32_t root;
	uint64_t edges_in;      /* root words that point into blocks leading to a target */
} candidate;

static int cmp_candidate(const void *a, const void *b)
{
	const candidate *x = a, *y = b;
	if (x->edges_in != y->edges_in)
		return x->edges_in > y->edges_in ? -1 : 1;
	return x->root < y->root ? -1 : x->root > y->root;
}

static int cmp_reach(const void *a, const void *b)
{
	const lw_root_reach *x = a, *y = b;
	if (x->blocks != y->blocks)
		return x->blocks > y->blocks ? -1 : 1;
	/* share of leading words, compared without division */
	unsigned __int128 lx = (unsigned __int128)x->words_leading * y->words;
	unsigned __int128 ly = (unsigned __int128)y->words_leading * x->words;
	if (lx != ly)
		return lx > ly ? -1 : 1;
	if (x->kin != y->kin)
		return x->kin > y->kin ? -1 : 1;
	if (x->hops != y->hops)
		return x->hops < y->hops ? -1 : 1;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return x->root < y->root ? -1 : x->root > y->root;
}

/* Marks in `lead` every block that has a path to a target block (targets
 * included), walking the block->block edges backwards. */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* kin[b] = 1 when block b has the size of some target block. */
static int mark_kin(const lw_graph_csr *g, const uint8_t *target, uint8_t *kin)
{
	uint32_t n = g->n_blocks, k = 0;
	uint64_t *sizes = malloc((size_t)(n ? n : 1) * sizeof *sizes);
	if (!sizes)
		return -ENOMEM;
	for (uint32_t b = 0; b < n; b++)
		if (target[b])
			sizes[k++] = g->size[b];
	qsort(sizes, k, sizeof *sizes, cmp_u64);
	for (uint32_t b = 0; b < n; b++)
		kin[b] = k && bsearch(&g->size[b], sizes, k, sizeof *sizes, cmp_u64) != NULL;
	free(sizes);
	return 0;
}

static int mark_leading(const lw_graph_csr *g, const uint8_t *target, uint8_t *lead)
{
	uint32_t n = g->n_blocks;
	uint64_t n_edges = g->blk_off[n];
	uint64_t *rev_off = calloc((size_t)n + 1, sizeof *rev_off);
	uint32_t *rev_src = malloc((size_t)(n_edges ? n_edges : 1) * sizeof *rev_src);
	uint64_t *fill = malloc((size_t)(n ? n : 1) * sizeof *fill);
	uint32_t *queue = malloc((size_t)(n ? n : 1) * sizeof *queue);
	int rc = -ENOMEM;
	if (!rev_off || !rev_src || !fill || !queue)
		goto out;
	for (uint64_t e = 0; e < n_edges; e++)
		rev_off[g->blk_dst[e] + 1]++;
	for (uint32_t v = 0; v < n; v++)
		rev_off[v + 1] += rev_off[v];
	memcpy(fill, rev_off, (size_t)n * sizeof *fill);
	for (uint32_t u = 0; u < n; u++)
		for (uint64_t e = g->blk_off[u]; e < g->blk_off[u + 1]; e++)
			rev_src[fill[g->blk_dst[e]]++] = u;
	size_t head = 0, tail = 0;
	for (uint32_t b = 0; b < n; b++)
		if (target[b]) {
			lead[b] = 1;
			queue[tail++] = b;
		}
	while (head < tail) {
		uint32_t v = queue[head++];
		for (uint64_t e = rev_off[v]; e < rev_off[v + 1]; e++) {
			uint32_t u = rev_src[e];
			if (!lead[u]) {
				lead[u] = 1;
				queue[tail++] = u;
			}
		}
	}
	rc = 0;
out:
	free(rev_off);
	free(rev_src);
	free(fill);
	free(queue);
	return rc;
}

int lw_graph_root_reach(const lw_graph_csr *g, const uint8_t *target, size_t max_roots,
			uint64_t work_limit, lw_root_reach **out, size_t *n_out, int *complete)
{
	uint32_t n = g->n_blocks;
	*out = NULL;
	*n_out = 0;
	*complete = 1;
	uint8_t *lead = calloc(n ? n : 1, 1);
	uint8_t *kin = calloc(n ? n : 1, 1);
	uint32_t *stamp = calloc(n ? n : 1, sizeof *stamp);
	uint32_t *depth = malloc((size_t)(n ? n : 1) * sizeof *depth);
	uint32_t *queue = malloc((size_t)(n ? n : 1) * sizeof *queue);
	candidate *cand = malloc((g->n_roots ? g->n_roots : 1) * sizeof *cand);
	lw_root_reach *res = NULL;
	int rc = -ENOMEM;
	if (!lead || !kin || !stamp || !depth || !queue || !cand)
		goto out;
	if ((rc = mark_leading(g, target, lead)) < 0 || (rc = mark_kin(g, target, kin)) < 0)
		goto out;
	size_t n_cand = 0;
	for (uint32_t r = 0; r < g->n_roots; r++) {
		uint64_t in = 0;
		for (uint64_t e = g->root_off[r]; e < g->root_off[r + 1]; e++)
			in += lead[g->root_dst[e]];
		if (in)
			cand[n_cand++] = (candidate){ r, in };
	}
	qsort(cand, n_cand, sizeof *cand, cmp_candidate);
	if (max_roots && n_cand > max_roots) {
		n_cand = max_roots;
		*complete = 0;
	}
	rc = -ENOMEM;
	res = malloc((n_cand ? n_cand : 1) * sizeof *res);
	if (!res)
		goto out;
	uint64_t work = 0;
	size_t n_res = 0;
	for (size_t i = 0; i < n_cand; i++) {
		uint32_t s = (uint32_t)i + 1, r = cand[i].root;
		size_t head = 0, tail = 0;
		lw_root_reach rr = { r, 0, 0, 0, g->root_off[r + 1] - g->root_off[r],
				     cand[i].edges_in, 0 };
		for (uint64_t e = g->root_off[r]; e < g->root_off[r + 1]; e++) {
			uint32_t b = g->root_dst[e];
			if (lead[b] && stamp[b] != s) {
				stamp[b] = s;
				depth[b] = 1;
				queue[tail++] = b;
			}
		}
		while (head < tail && work <= work_limit) {
			uint32_t v = queue[head++];
			if (target[v]) {
				rr.blocks++;
				rr.bytes += g->size[v];
				rr.hops += depth[v];
			}
			rr.kin += kin[v];
			for (uint64_t e = g->blk_off[v]; e < g->blk_off[v + 1]; e++) {
				uint32_t w = g->blk_dst[e];
				work++;
				if (lead[w] && stamp[w] != s) {
					stamp[w] = s;
					depth[w] = depth[v] + 1;
					queue[tail++] = w;
				}
			}
		}
		if (head < tail) {       /* out of budget: this root's count is unfinished */
			*complete = 0;
			break;
		}
		res[n_res++] = rr;
	}
	qsort(res, n_res, sizeof *res, cmp_reach);
	*out = res;
	*n_out = n_res;
	res = NULL;
	rc = 0;
out:
	free(lead);
	free(kin);
	free(stamp);
	free(depth);
	free(queue);
	free(cand);
	free(res);
	return rc;
}

int lw_graph_bfs01(const lw_graph_csr *g, const uint32_t *root_order, const uint64_t *kind,
		   uint32_t *parent, uint32_t *order, uint32_t *n_order)
{
	uint32_t nn = lw_graph_n_nodes(g);
	if (!nn)
		return -EINVAL;
	uint32_t base = 1u + g->n_roots;
	uint32_t *dist = malloc((size_t)nn * sizeof *dist);
	uint32_t *cur = malloc((size_t)nn * sizeof *cur);
	uint32_t *next = malloc((size_t)nn * sizeof *next);
	if (!dist || !cur || !next) {
		free(dist);
		free(cur);
		free(next);
		return -ENOMEM;
	}
	memset(dist, 0xff, (size_t)nn * sizeof *dist);
	for (uint32_t v = 0; v < nn; v++)
		parent[v] = LW_GRAPH_NONE;
	dist[0] = 0;
	parent[0] = 0;
	/* Level by level (the path cost). Within a level the work list is a
	 * stack: a free step's target is expanded right after its parent, so a
	 * list or tree is followed to its end before the next root's entries
	 * are looked at; that is what lets root_order break ties. Invariant:
	 * while level L is processed every listed node has dist L (stack) or
	 * L+1 (next), and a node enters each list at most once per level, so
	 * both fit in nn entries. */
	uint32_t nstk = 0, nord = 0;
	for (uint32_t i = g->n_roots; i-- > 0;) {
		uint32_t r = root_order ? root_order[i] : i;
		uint32_t v = LW_GRAPH_ROOT(g, r);
		if (dist[v] == 0)
			continue;     /* a repeated entry in root_order */
		dist[v] = 0;
		parent[v] = 0;
		cur[nstk++] = v;
	}
	for (uint32_t level = 0; nstk > 0; level++) {
		uint32_t nnext = 0;
		while (nstk > 0) {
			uint32_t v = cur[--nstk];
			if (dist[v] != level)
				continue;     /* settled cheaper at an earlier level */
			if (v < base) {
				uint32_t r = v - 1;
				for (uint64_t e = g->root_off[r]; e < g->root_off[r + 1]; e++) {
					uint32_t w = base + g->root_dst[e];
					if (level + 1 < dist[w]) {
						dist[w] = level + 1;
						parent[w] = v;
						next[nnext++] = w;
					}
				}
				continue;
			}
			uint32_t u = v - base;
			if (order)
				order[nord] = v;
			nord++;
			for (uint64_t e = g->blk_off[u + 1]; e-- > g->blk_off[u];) {
				uint32_t b = g->blk_dst[e], w = base + b;
				int free_step = kind[b] == kind[u];
				uint32_t nd = level + !free_step;
				if (nd < dist[w]) {
					dist[w] = nd;
					parent[w] = v;
					if (free_step)
						cur[nstk++] = w;
					else
						next[nnext++] = w;
				}
			}
		}
		/* next level: keep first-found first (push in reverse) */
		for (uint32_t i = nnext; i-- > 0;)
			cur[nstk++] = next[i];
	}
	if (n_order)
		*n_order = nord;
	free(dist);
	free(cur);
	free(next);
	return 0;
}
