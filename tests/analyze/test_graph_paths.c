/* test_graph_paths.c — root reach and structure-following paths
 * (analyze/heap/graph_paths.c) on graphs with a known answer, and against a
 * brute-force model on random graphs (fixed seed).
 *
 * The shape every retainer question meets in practice: a global g_list
 * heads a linked list of same-size nodes; a bystander global g_ring holds a
 * buffer whose stale contents point into the middle of the list. Plain BFS
 * says the buffer retains the list's tail; reach says g_list reaches every
 * node and g_ring only the tail; bfs01 walks the list from its head.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_paths.h"
#include "../check.h"

/* Small edge-list builder into CSR. */
typedef struct builder {
	uint32_t n_blocks, n_roots;
	uint64_t *size;
	uint32_t ne_b, ne_r;
	uint32_t eb[4096][2], er[4096][2];
} builder;

static void csr(builder *b, lw_graph_csr *g, uint64_t *blk_off, uint32_t *blk_dst,
		uint64_t *root_off, uint32_t *root_dst)
{
	memset(blk_off, 0, (b->n_blocks + 1) * sizeof *blk_off);
	memset(root_off, 0, (b->n_roots + 1) * sizeof *root_off);
	for (uint32_t i = 0; i < b->ne_b; i++)
		blk_off[b->eb[i][0] + 1]++;
	for (uint32_t i = 0; i < b->ne_r; i++)
		root_off[b->er[i][0] + 1]++;
	for (uint32_t v = 0; v < b->n_blocks; v++)
		blk_off[v + 1] += blk_off[v];
	for (uint32_t r = 0; r < b->n_roots; r++)
		root_off[r + 1] += root_off[r];
	uint64_t fb[512], fr[64];
	memcpy(fb, blk_off, b->n_blocks * sizeof *fb);
	memcpy(fr, root_off, b->n_roots * sizeof *fr);
	for (uint32_t i = 0; i < b->ne_b; i++)
		blk_dst[fb[b->eb[i][0]]++] = b->eb[i][1];
	for (uint32_t i = 0; i < b->ne_r; i++)
		root_dst[fr[b->er[i][0]]++] = b->er[i][1];
	*g = (lw_graph_csr){ b->n_blocks, b->n_roots, b->size, blk_off, blk_dst, root_off, root_dst };
}

static void list_with_stale_pointer(uint64_t ring_buffer_size)
{
	/* roots: 0 = g_ring (listed first, so plain tie-breaking favours it),
	 * 1 = g_list. blocks 0..9: list nodes (1024 B), 10: ring buffer. */
	static builder b;
	memset(&b, 0, sizeof b);
	uint64_t size[11];
	for (int i = 0; i < 10; i++)
		size[i] = 1024;
	size[10] = ring_buffer_size;
	b.n_blocks = 11;
	b.n_roots = 2;
	b.size = size;
	b.er[b.ne_r][0] = 1; b.er[b.ne_r++][1] = 0;        /* g_list -> head */
	for (uint32_t i = 0; i + 1 < 10; i++) {
		b.eb[b.ne_b][0] = i; b.eb[b.ne_b++][1] = i + 1;  /* node -> next */
	}
	b.er[b.ne_r][0] = 0; b.er[b.ne_r++][1] = 10;       /* g_ring -> buffer */
	b.eb[b.ne_b][0] = 10; b.eb[b.ne_b++][1] = 6;       /* stale pointer */
	uint64_t blk_off[12], root_off[3];
	uint32_t blk_dst[32], root_dst[8];
	lw_graph_csr g;
	csr(&b, &g, blk_off, blk_dst, root_off, root_dst);

	uint8_t target[11] = { 0 };
	target[3] = target[8] = 1;                          /* the sampled nodes */
	lw_root_reach *reach;
	size_t n;
	int complete;
	CHECK(lw_graph_root_reach(&g, target, 0, 1000000, &reach, &n, &complete) == 0);
	CHECK(complete == 1);
	CHECK(n == 2);
	CHECK(n == 2 && reach[0].root == 1 && reach[0].blocks == 2 && reach[0].bytes == 2048);
	CHECK(n == 2 && reach[1].root == 0 && reach[1].blocks == 1 && reach[1].bytes == 1024);
	CHECK(n == 2 && reach[0].kin == 9);   /* nodes 0..8 lead to a target */

	/* A stale pointer near the head reaches every target too: the tie is
	 * broken by the list nodes only the head reaches. (A stale buffer of
	 * the nodes' own size pointing at node 1 is, without memory contents,
	 * indistinguishable from a list node: then it is a true tie.) */
	b.eb[b.ne_b - 1][1] = 1;
	csr(&b, &g, blk_off, blk_dst, root_off, root_dst);
	free(reach);
	CHECK(lw_graph_root_reach(&g, target, 0, 1000000, &reach, &n, &complete) == 0);
	CHECK(n == 2 && reach[0].blocks == 2 && reach[1].blocks == 2);
	if (ring_buffer_size != 1024) {
		CHECK(n == 2 && reach[0].root == 1 && reach[0].kin == 9);
		CHECK(n == 2 && reach[1].root == 0 && reach[1].kin == 8);
	} else {
		/* same reach, same structure: the list head is one hop closer to
		 * every target than the buffer holding a stale copy of node 1 */
		CHECK(n == 2 && reach[0].kin == 9 && reach[1].kin == 9);
		CHECK(n == 2 && reach[0].hops == reach[1].hops);

	}
	b.eb[b.ne_b - 1][1] = 6;
	csr(&b, &g, blk_off, blk_dst, root_off, root_dst);
	free(reach);
	CHECK(lw_graph_root_reach(&g, target, 0, 1000000, &reach, &n, &complete) == 0);

	/* Paths, with the roots tried in reach order. */
	uint32_t order_roots[2] = { reach[0].root, reach[1].root };
	uint32_t nn = lw_graph_n_nodes(&g), parent[16], order[16], n_order;
	CHECK(lw_graph_bfs01(&g, order_roots, size, parent, order, &n_order) == 0);
	uint32_t base = 1 + g.n_roots;
	CHECK(n_order == 11);
	/* node 8 is reached along the list from g_list, not through the buffer */
	CHECK(parent[base + 8] == base + 7);
	CHECK(parent[base + 6] == base + 5);
	CHECK(parent[base + 0] == LW_GRAPH_ROOT(&g, 1));
	CHECK(parent[base + 10] == LW_GRAPH_ROOT(&g, 0));
	/* every block is settled after its parent */
	uint32_t pos[16];
	for (uint32_t i = 0; i < n_order; i++)
		pos[order[i]] = i;
	for (uint32_t i = 0; i < n_order; i++) {
		uint32_t p = parent[order[i]];
		if (p >= base)
			CHECK(pos[p] < i);
	}
	(void)nn;
	free(reach);
}

/* Equal reach, structure and distance: the root whose words are all about
 * the target (a list head) ranks above a table one of whose three slots
 * leads there. */
static void share_of_words(void)
{
	static builder b;
	memset(&b, 0, sizeof b);
	uint64_t size[3] = { 64, 32, 32 };
	b.n_blocks = 3;
	b.n_roots = 2;
	b.size = size;
	for (uint32_t k = 0; k < 3; k++) {
		b.er[b.ne_r][0] = 0;
		b.er[b.ne_r++][1] = k;            /* table: slots 0, 1, 2 */
	}
	b.er[b.ne_r][0] = 1;
	b.er[b.ne_r++][1] = 0;                    /* head: only block 0 */
	uint64_t blk_off[4], root_off[3];
	uint32_t blk_dst[4], root_dst[8];
	lw_graph_csr g;
	csr(&b, &g, blk_off, blk_dst, root_off, root_dst);
	uint8_t target[3] = { 1, 0, 0 };
	lw_root_reach *reach;
	size_t n;
	int complete;
	CHECK(lw_graph_root_reach(&g, target, 0, 1000, &reach, &n, &complete) == 0);
	CHECK(n == 2 && reach[0].root == 1 && reach[0].words == 1 && reach[0].words_leading == 1);
	CHECK(n == 2 && reach[1].root == 0 && reach[1].words == 3 && reach[1].words_leading == 1);
	free(reach);
}

/* Random graphs: reach counts against a per-root BFS, bfs01 costs against
 * Bellman-Ford style relaxation. */
static uint64_t rng = 0x5eed;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static void random_graphs(void)
{
	static builder b;
	for (int iter = 0; iter < 200; iter++) {
		memset(&b, 0, sizeof b);
		uint64_t size[64];
		b.n_blocks = 1 + rnd(60);
		b.n_roots = 1 + rnd(6);
		for (uint32_t i = 0; i < b.n_blocks; i++)
			size[i] = 16u << rnd(3);
		b.size = size;
		uint32_t ne = rnd(3 * b.n_blocks);
		for (uint32_t i = 0; i < ne; i++) {
			b.eb[b.ne_b][0] = rnd(b.n_blocks);
			b.eb[b.ne_b++][1] = rnd(b.n_blocks);
		}
		for (uint32_t i = 0; i < b.n_roots * 2; i++) {
			b.er[b.ne_r][0] = rnd(b.n_roots);
			b.er[b.ne_r++][1] = rnd(b.n_blocks);
		}
		uint64_t blk_off[65], root_off[8];
		uint32_t blk_dst[256], root_dst[16];
		lw_graph_csr g;
		csr(&b, &g, blk_off, blk_dst, root_off, root_dst);
		uint8_t target[64];
		for (uint32_t i = 0; i < b.n_blocks; i++)
			target[i] = rnd(4) == 0;

		lw_root_reach *reach;
		size_t n;
		int complete;
		CHECK(lw_graph_root_reach(&g, target, 0, UINT64_MAX, &reach, &n, &complete) == 0);
		/* model: BFS from each root */
		size_t n_model = 0;
		for (uint32_t r = 0; r < b.n_roots; r++) {
			uint8_t seen[64] = { 0 };
			uint32_t q[64], h = 0, t = 0, cnt = 0;
			for (uint64_t e = root_off[r]; e < root_off[r + 1]; e++)
				if (!seen[root_dst[e]]) {
					seen[root_dst[e]] = 1;
					q[t++] = root_dst[e];
				}
			while (h < t) {
				uint32_t v = q[h++];
				cnt += target[v];
				for (uint64_t e = blk_off[v]; e < blk_off[v + 1]; e++)
					if (!seen[blk_dst[e]]) {
						seen[blk_dst[e]] = 1;
						q[t++] = blk_dst[e];
					}
			}
			if (cnt) {
				n_model++;
				int found = 0;
				for (size_t i = 0; i < n; i++)
					if (reach[i].root == r) {
						found = 1;
						CHECK(reach[i].blocks == cnt);
					}
				CHECK(found);
			}
		}
		CHECK(n == n_model);
		for (size_t i = 1; i < n; i++)
			CHECK(reach[i - 1].blocks >= reach[i].blocks);
		free(reach);

		/* bfs01 costs: the path cost along parent pointers equals the
		 * least cost computed by repeated relaxation */
		uint32_t nn = lw_graph_n_nodes(&g), base = 1 + g.n_roots;
		uint32_t parent[80], best[80];
		CHECK(lw_graph_bfs01(&g, NULL, size, parent, NULL, NULL) == 0);
		for (uint32_t v = 0; v < nn; v++)
			best[v] = UINT32_MAX;
		for (uint32_t r = 0; r < g.n_roots; r++)
			best[1 + r] = 0;
		for (int round = 0; round < 80; round++)
			for (uint32_t v = 1; v < nn; v++) {
				if (best[v] == UINT32_MAX)
					continue;
				if (v < base) {
					for (uint64_t e = root_off[v - 1]; e < root_off[v]; e++)
						if (best[v] + 1 < best[base + root_dst[e]])
							best[base + root_dst[e]] = best[v] + 1;
				} else {
					uint32_t u = v - base;
					for (uint64_t e = blk_off[u]; e < blk_off[u + 1]; e++) {
						uint32_t w = blk_dst[e];
						uint32_t c = best[v] + (size[w] != size[u]);
						if (c < best[base + w])
							best[base + w] = c;
					}
				}
			}
		for (uint32_t v = base; v < nn; v++) {
			CHECK((parent[v] == LW_GRAPH_NONE) == (best[v] == UINT32_MAX));
			if (parent[v] == LW_GRAPH_NONE)
				continue;
			uint32_t cost = 0, x = v, steps = 0;
			while (x >= base && steps++ < 100) {
				uint32_t p = parent[x];
				cost += p < base ? 1 : (size[p - base] != size[x - base]);
				x = p;
			}
			CHECK(cost == best[v]);
		}
	}
}

int main(void)
{
	list_with_stale_pointer(1024);   /* the stale buffer is the list's size */
	list_with_stale_pointer(4096);
	share_of_words();
	random_graphs();
	if (failures) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
