/* test_graph.c — unit tests of analyze/heap/graph.c against naive reference
 * models: dominators vs the definition (d dominates v iff removing d makes v
 * unreachable), BFS parents vs shortest distances, retained sizes vs the sum
 * over dominated sets, lost classification vs a brute-force reading of the
 * source-SCC rule, on random graphs with fixed seeds; hand-made lost cases;
 * then a 1M chain and a random 2M-node graph for speed and recursion safety
 * (timings on stdout). Exit status 0 = pass.
 */
#include "graph.h"

#if defined(__SANITIZE_ADDRESS__)
#define LW_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LW_TEST_SANITIZED 1
#endif
#endif
#ifndef LW_TEST_SANITIZED
#define LW_TEST_SANITIZED 0
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../check.h"

static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)((rng_state >> 33) % n);
}

/* A graph built from an edge list (src node in unified numbering -> block). */
typedef struct tgraph {
	lw_graph_csr g;
	uint64_t *size, *blk_off, *root_off;
	uint32_t *blk_dst, *root_dst;
} tgraph;

/* edges: src[i] is a root (< n_roots, flagged by is_root[i]) or a block. */
static void tg_build(tgraph *t, uint32_t nb, uint32_t nr, size_t ne,
		     const uint8_t *is_root, const uint32_t *src, const uint32_t *dst,
		     const uint64_t *sizes)
{
	memset(t, 0, sizeof *t);
	t->size = malloc((nb + 1) * sizeof *t->size);
	t->blk_off = calloc(nb + 2, sizeof *t->blk_off);
	t->root_off = calloc(nr + 2, sizeof *t->root_off);
	t->blk_dst = malloc((ne + 1) * sizeof *t->blk_dst);
	t->root_dst = malloc((ne + 1) * sizeof *t->root_dst);
	for (uint32_t b = 0; b < nb; b++)
		t->size[b] = sizes[b];
	for (size_t i = 0; i < ne; i++) {
		if (is_root[i]) t->root_off[src[i] + 1]++;
		else t->blk_off[src[i] + 1]++;
	}
	for (uint32_t b = 0; b < nb; b++) t->blk_off[b + 1] += t->blk_off[b];
	for (uint32_t r = 0; r < nr; r++) t->root_off[r + 1] += t->root_off[r];
	uint64_t *cb = calloc(nb + 1, sizeof *cb), *cr = calloc(nr + 1, sizeof *cr);
	for (size_t i = 0; i < ne; i++) {
		if (is_root[i]) t->root_dst[t->root_off[src[i]] + cr[src[i]]++] = dst[i];
		else t->blk_dst[t->blk_off[src[i]] + cb[src[i]]++] = dst[i];
	}
	free(cb); free(cr);
	t->g.n_blocks = nb; t->g.n_roots = nr;
	t->g.size = t->size; t->g.blk_off = t->blk_off; t->g.blk_dst = t->blk_dst;
	t->g.root_off = t->root_off; t->g.root_dst = t->root_dst;
}

static void tg_free(tgraph *t)
{
	free(t->size); free(t->blk_off); free(t->root_off); free(t->blk_dst); free(t->root_dst);
}

/* Naive reachability from the super-root with node `removed` deleted. */
static void naive_reach(const lw_graph_csr *g, uint32_t removed, uint8_t *seen, uint32_t *queue)
{
	uint32_t n = lw_graph_n_nodes(g), base = 1 + g->n_roots;
	memset(seen, 0, n);
	if (removed == 0) return;
	uint32_t h = 0, t = 0;
	seen[0] = 1; queue[t++] = 0;
	while (h < t) {
		uint32_t u = queue[h++];
		const uint32_t *d; uint64_t a, z;
		if (u == 0) {
			for (uint32_t r = 0; r < g->n_roots; r++) {
				uint32_t v = 1 + r;
				if (v != removed && !seen[v]) { seen[v] = 1; queue[t++] = v; }
			}
			continue;
		}
		if (u < base) { d = g->root_dst; a = g->root_off[u - 1]; z = g->root_off[u]; }
		else { d = g->blk_dst; a = g->blk_off[u - base]; z = g->blk_off[u - base + 1]; }
		for (uint64_t e = a; e < z; e++) {
			uint32_t v = d[e] + base;
			if (v != removed && !seen[v]) { seen[v] = 1; queue[t++] = v; }
		}
	}
}

/* Reachability inside the unreachable subgraph from block s (blocks only). */
static void naive_lost_reach(const lw_graph_csr *g, const uint8_t *unreach, uint32_t s,
			     uint8_t *seen, uint32_t *queue)
{
	memset(seen, 0, g->n_blocks);
	uint32_t h = 0, t = 0;
	seen[s] = 1; queue[t++] = s;
	while (h < t) {
		uint32_t u = queue[h++];
		for (uint64_t e = g->blk_off[u]; e < g->blk_off[u + 1]; e++) {
			uint32_t v = g->blk_dst[e];
			if (unreach[v] && !seen[v]) { seen[v] = 1; queue[t++] = v; }
		}
	}
}

/* The invariant walker accepts every correct analysis and rejects each kind
 * of corruption (the analysis is restored afterwards). */
static void check_walker(const lw_graph_csr *g, lw_graph_analysis *a, uint64_t seed)
{
	CHECK(lw_graph_check(g, a) == 0, "walker accepts seed %llu", (unsigned long long)seed);
	uint32_t base = 1 + g->n_roots;
	for (uint32_t v = base; v < a->n_nodes; v++) {
		if (a->bfs_parent[v] == LW_GRAPH_NONE)
			continue;
		a->retained[v]++;
		CHECK(lw_graph_check(g, a) == -EINVAL, "retained off by one caught");
		a->retained[v]--;
		uint8_t st = a->lost[v - base];
		a->lost[v - base] = LW_GRAPH_DEFINITELY_LOST;
		CHECK(lw_graph_check(g, a) == -EINVAL, "reachable block marked lost caught");
		a->lost[v - base] = st;
		uint32_t d = a->idom[v];
		a->idom[v] = v;   /* a self-loop in the dominator tree */
		CHECK(lw_graph_check(g, a) == -EINVAL, "dominator cycle caught");
		a->idom[v] = d;
		break;
	}
	CHECK(lw_graph_check(g, a) == 0, "restored");
}

static void check_random(uint64_t seed, uint32_t nb, uint32_t nr, size_t ne)
{
	rng_state = seed;
	uint8_t *isr = malloc(ne + 1);
	uint32_t *src = malloc((ne + 1) * 4), *dst = malloc((ne + 1) * 4);
	uint64_t *sz = malloc((nb + 1) * 8);
	for (uint32_t b = 0; b < nb; b++) sz[b] = 1 + rnd(1000);
	for (size_t i = 0; i < ne; i++) {
		isr[i] = nr && rnd(5) == 0;
		src[i] = isr[i] ? rnd(nr) : rnd(nb);
		dst[i] = rnd(nb);
	}
	tgraph t;
	tg_build(&t, nb, nr, ne, isr, src, dst, sz);
	const lw_graph_csr *g = &t.g;
	CHECK(lw_graph_validate(g) == 0, "validate seed %llu", (unsigned long long)seed);
	lw_graph_analysis a;
	CHECK(lw_graph_analyze(g, &a) == 0, "analyze");
	uint32_t n = a.n_nodes, base = 1 + nr;
	check_walker(g, &a, seed);

	uint8_t *reach = malloc(n), *dom = malloc((size_t)n * n);
	uint32_t *queue = malloc(n * 4);
	naive_reach(g, LW_GRAPH_NONE, reach, queue);
	/* dom[d*n+v] = d dominates v (v reachable) */
	uint8_t *seen = malloc(n);
	for (uint32_t d = 0; d < n; d++) {
		naive_reach(g, d, seen, queue);
		for (uint32_t v = 0; v < n; v++)
			dom[(size_t)d * n + v] = reach[v] && (d == v || !seen[v]);
	}
	/* BFS distances */
	uint32_t *dist = malloc(n * 4);
	{
		memset(dist, 0xff, n * 4);
		/* plain BFS without parents: reuse naive via levels */
		uint32_t h = 0, tl = 0; dist[0] = 0; queue[tl++] = 0;
		while (h < tl) {
			uint32_t u = queue[h++];
			for (uint32_t v = 1; v < n; v++) {
				if (dist[v] != UINT32_MAX) continue;
				int edge = 0;
				if (u == 0) edge = v < base;
				else {
					const uint32_t *dd; uint64_t x, z;
					if (u < base) { dd = g->root_dst; x = g->root_off[u - 1]; z = g->root_off[u]; }
					else { dd = g->blk_dst; x = g->blk_off[u - base]; z = g->blk_off[u - base + 1]; }
					for (uint64_t e = x; e < z && !edge; e++) edge = dd[e] + base == v;
				}
				if (edge) { dist[v] = dist[u] + 1; queue[tl++] = v; }
			}
		}
	}
	uint32_t nreach = 0;
	for (uint32_t v = 0; v < n; v++) {
		if (v >= base && reach[v]) nreach++;
		CHECK((a.bfs_parent[v] != LW_GRAPH_NONE) == (reach[v] != 0), "reach v=%u", v);
		if (v > 0 && reach[v]) {
			uint32_t p = a.bfs_parent[v];
			CHECK(dist[p] + 1 == dist[v], "bfs parent not on a shortest path v=%u", v);
		}
		if (!reach[v]) {
			CHECK(a.idom[v] == LW_GRAPH_NONE, "idom of unreachable v=%u", v);
			continue;
		}
		if (v == 0) { CHECK(a.idom[0] == 0, "idom[0]"); continue; }
		/* idom: strict dominator that all other strict dominators dominate */
		uint32_t expect = LW_GRAPH_NONE;
		for (uint32_t d = 0; d < n; d++) {
			if (d == v || !dom[(size_t)d * n + v]) continue;
			int all = 1;
			for (uint32_t e = 0; e < n && all; e++)
				if (e != v && dom[(size_t)e * n + v] && !dom[(size_t)e * n + d]) all = 0;
			if (all) expect = d;
		}
		CHECK(a.idom[v] == expect, "seed %llu idom[%u]=%u expected %u",
		      (unsigned long long)seed, v, a.idom[v], expect);
		uint64_t ret = 0;
		for (uint32_t w = base; w < n; w++)
			if (dom[(size_t)v * n + w]) ret += sz[w - base];
		CHECK(a.retained[v] == ret, "retained[%u]=%llu expected %llu", v,
		      (unsigned long long)a.retained[v], (unsigned long long)ret);
	}
	CHECK(a.n_reachable == nreach, "n_reachable %u vs %u", a.n_reachable, nreach);

	/* lost blocks */
	uint8_t *un = malloc(nb + 1), *sa = malloc(nb + 1), *sb = malloc(nb + 1);
	for (uint32_t b = 0; b < nb; b++) un[b] = !reach[base + b];
	for (uint32_t u = 0; u < nb; u++) {
		if (!un[u]) { CHECK(a.lost[u] == LW_GRAPH_REACHABLE, "lost state of reachable %u", u); continue; }
		/* u in a source SCC: every unreachable w reaching u is reached by u */
		int source = 1, minimal = 1;
		naive_lost_reach(g, un, u, sa, queue);
		for (uint32_t w = 0; w < nb && source; w++) {
			if (!un[w] || w == u) continue;
			naive_lost_reach(g, un, w, sb, queue);
			if (sb[u] && !sa[w]) source = 0;
			if (sb[u] && sa[w] && w < u) minimal = 0;
		}
		uint8_t expect = source && minimal ? LW_GRAPH_DEFINITELY_LOST : LW_GRAPH_INDIRECTLY_LOST;
		CHECK(a.lost[u] == expect, "seed %llu lost[%u]=%u expected %u",
		      (unsigned long long)seed, u, a.lost[u], expect);
	}

	/* group retained: union of dominated sets */
	uint32_t ng = 3;
	uint32_t *grp = malloc((nb + 1) * 4);
	for (uint32_t b = 0; b < nb; b++) grp[b] = rnd(4) == 0 ? LW_GRAPH_NONE : rnd(ng);
	uint64_t gout[3]; uint32_t gtop[3];
	CHECK(lw_graph_retained_by_group(g, a.idom, a.retained, grp, ng, gout, gtop) == 0, "group");
	for (uint32_t k = 0; k < ng; k++) {
		uint64_t expect = 0;
		for (uint32_t w = base; w < n; w++) {
			int in = 0;
			for (uint32_t b = 0; b < nb && !in; b++)
				if (grp[b] == k && dom[(size_t)(base + b) * n + w]) in = 1;
			if (in) expect += sz[w - base];
		}
		CHECK(gout[k] == expect, "seed %llu group %u retained %llu expected %llu",
		      (unsigned long long)seed, k, (unsigned long long)gout[k],
		      (unsigned long long)expect);
	}
	free(grp); free(un); free(sa); free(sb);
	free(dist); free(seen); free(reach); free(dom); free(queue);
	lw_graph_analysis_free(&a);
	tg_free(&t);
	free(isr); free(src); free(dst); free(sz);
}

/* Hand-made lost cases. Blocks:
 *   0: reachable from root 0, points to 1 (reachable)
 *   2 -> 3 -> 4           2 definitely, 3 and 4 indirectly lost
 *   5 <-> 6               cycle nobody points to: 5 definitely, 6 indirectly
 *   7 -> 8 <-> 9          7 definitely; 8, 9 indirectly (cycle with an in-edge)
 *   10 <-> 11 -> 12 <-> 13   10 definitely; 11, 12, 13 indirectly
 *   14 -> 14              self loop: definitely lost
 *   15 -> 0               lost block pointing at a reachable one: definitely
 */
static void check_lost_cases(void)
{
	uint32_t src[] = {0, 0, 2, 3, 5, 6, 7, 8, 9, 10, 11, 11, 12, 13, 14, 15};
	uint32_t dst[] = {0, 1, 3, 4, 6, 5, 8, 9, 8, 11, 10, 12, 13, 12, 14, 0};
	uint8_t isr2[16] = {1};
	uint64_t sz[16];
	for (int i = 0; i < 16; i++) sz[i] = 10 + i;
	tgraph t;
	tg_build(&t, 16, 1, 16, isr2, src, dst, sz);
	lw_graph_analysis a;
	CHECK(lw_graph_analyze(&t.g, &a) == 0, "analyze");
	static const uint8_t expect[16] = {
		0, 0, 1, 2, 2, 1, 2, 1, 2, 2, 1, 2, 2, 2, 1, 1,
	};
	for (int b = 0; b < 16; b++)
		CHECK(a.lost[b] == expect[b], "hand case block %d: %u expected %u", b, a.lost[b], expect[b]);
	CHECK(a.retained[0] == sz[0] + sz[1], "total reachable");
	CHECK(a.retained[LW_GRAPH_ROOT(&t.g, 0)] == sz[0] + sz[1], "root retains both");
	lw_graph_analysis_free(&a);
	tg_free(&t);
}

/* Diamond and chain retained sizes:
 * root0 -> b0 -> b1 -> b3, b0 -> b2 -> b3, b3 -> b4; root1 -> b5 -> b4.
 * idom(b3) = b0, idom(b4) = super-root (reached from both roots). */
static void check_retained_cases(void)
{
	uint8_t isr[] = {1, 0, 0, 0, 0, 0, 1, 0};
	uint32_t src[] = {0, 0, 1, 0, 2, 3, 1, 5};
	uint32_t dst[] = {0, 1, 3, 2, 3, 4, 5, 4};
	uint64_t sz[] = {1, 2, 4, 8, 16, 32};
	tgraph t;
	tg_build(&t, 6, 2, 8, isr, src, dst, sz);
	lw_graph_analysis a;
	CHECK(lw_graph_analyze(&t.g, &a) == 0, "analyze");
	const lw_graph_csr *g = &t.g;
#define B(x) LW_GRAPH_BLOCK(g, x)
	CHECK(a.idom[B(3)] == B(0), "idom b3 = %u", a.idom[B(3)]);
	CHECK(a.idom[B(4)] == 0, "idom b4 = %u", a.idom[B(4)]);
	CHECK(a.retained[B(0)] == 1 + 2 + 4 + 8, "retained b0 = %llu", (unsigned long long)a.retained[B(0)]);
	CHECK(a.retained[LW_GRAPH_ROOT(g, 0)] == 15, "root0");
	CHECK(a.retained[LW_GRAPH_ROOT(g, 1)] == 32, "root1");
	CHECK(a.retained[0] == 63, "total");
	CHECK(a.bfs_parent[B(4)] == B(5), "shortest path to b4 via b5: %u", a.bfs_parent[B(4)]);
	uint32_t grp[] = {LW_GRAPH_NONE, 0, 0, 0, 1, LW_GRAPH_NONE};
	uint64_t out[2]; uint32_t top[2];
	CHECK(lw_graph_retained_by_group(g, a.idom, a.retained, grp, 2, out, top) == 0, "grp");
	CHECK(out[0] == 2 + 4 + 8 && top[0] == 3, "group 0 %llu %u", (unsigned long long)out[0], top[0]);
	CHECK(out[1] == 16 && top[1] == 1, "group 1");
#undef B
	lw_graph_analysis_free(&a);
	tg_free(&t);
}

/* CPU time of this process: the machine may be shared, wall time is noisy. */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Builds CSR directly (no edge list) for the large cases. */
static void check_chain(uint32_t nb)
{
	tgraph t;
	memset(&t, 0, sizeof t);
	t.size = malloc(nb * 8ull); t.blk_off = malloc((nb + 1) * 8ull);
	t.blk_dst = malloc(nb * 4ull);
	t.root_off = malloc(2 * 8); t.root_dst = malloc(4);
	t.root_off[0] = 0; t.root_off[1] = 1; t.root_dst[0] = 0;
	uint64_t e = 0;
	for (uint32_t b = 0; b < nb; b++) {
		t.size[b] = 16; t.blk_off[b] = e;
		if (b + 1 < nb) t.blk_dst[e++] = b + 1;
	}
	t.blk_off[nb] = e;
	t.g = (lw_graph_csr){nb, 1, t.size, t.blk_off, t.blk_dst, t.root_off, t.root_dst};
	double t0 = now_s();
	lw_graph_analysis a;
	int rc = lw_graph_analyze(&t.g, &a);
	double t1 = now_s();
	CHECK(rc == 0, "chain analyze");
	if (rc == 0) {
		CHECK(a.retained[LW_GRAPH_BLOCK(&t.g, 0)] == 16ull * nb, "chain head retains all");
		CHECK(a.idom[LW_GRAPH_BLOCK(&t.g, nb - 1)] == LW_GRAPH_BLOCK(&t.g, nb - 2), "chain idom");
		CHECK(a.n_reachable == nb, "chain reach");
		lw_graph_analysis_free(&a);
	}
	/* the same chain unreachable: one definitely lost head, the rest indirect */
	t.root_off[1] = 0;
	lw_graph_analysis b;
	double t2 = now_s();
	rc = lw_graph_analyze(&t.g, &b);
	double t3 = now_s();
	CHECK(rc == 0, "lost chain analyze");
	if (rc == 0) {
		CHECK(b.lost[0] == LW_GRAPH_DEFINITELY_LOST, "lost chain head");
		uint32_t ind = 0;
		for (uint32_t x = 0; x < nb; x++) ind += b.lost[x] == LW_GRAPH_INDIRECTLY_LOST;
		CHECK(ind == nb - 1, "lost chain indirect %u", ind);
		lw_graph_analysis_free(&b);
	}
	printf("chain of %u blocks: analyze %.3f s CPU (reachable), %.3f s CPU (all lost)\n",
	       nb, t1 - t0, t3 - t2);
	tg_free(&t);
}

static void check_random_big(uint32_t nb, uint32_t deg)
{
	rng_state = 42;
	uint32_t nr = 1000;
	tgraph t;
	memset(&t, 0, sizeof t);
	uint64_t ne = (uint64_t)nb * deg;
	t.size = malloc(nb * 8ull); t.blk_off = malloc((nb + 1) * 8ull);
	t.blk_dst = malloc(ne * 4);
	t.root_off = malloc((nr + 1) * 8ull); t.root_dst = malloc(nr * 4ull * 4);
	uint64_t e = 0;
	for (uint32_t b = 0; b < nb; b++) {
		t.size[b] = 16 + rnd(4096);
		t.blk_off[b] = e;
		uint32_t d = rnd(2 * deg + 1);
		for (uint32_t k = 0; k < d && e < ne; k++)
			t.blk_dst[e++] = rnd(nb);
	}
	t.blk_off[nb] = e;
	for (uint32_t r = 0; r <= nr; r++) t.root_off[r] = 4ull * r;
	for (uint32_t k = 0; k < 4 * nr; k++) t.root_dst[k] = rnd(nb);
	t.g = (lw_graph_csr){nb, nr, t.size, t.blk_off, t.blk_dst, t.root_off, t.root_dst};
	lw_graph_analysis a;
	double t0 = now_s();
	int rc = lw_graph_bfs(&t.g, (a.bfs_parent = malloc((nb + nr + 1) * 4ull)), &a.n_reachable);
	double t1 = now_s();
	a.idom = malloc((nb + nr + 1) * 4ull);
	rc |= lw_graph_dominators(&t.g, a.idom);
	double t2 = now_s();
	a.retained = malloc((nb + nr + 1) * 8ull);
	rc |= lw_graph_retained(&t.g, a.idom, a.retained);
	double t3 = now_s();
	a.lost = malloc(nb);
	rc |= lw_graph_lost(&t.g, a.bfs_parent, a.lost);
	double t4 = now_s();
	CHECK(rc == 0, "big analyze");
	/* consistency: total retained = sum of reachable sizes */
	uint64_t tot = 0;
	for (uint32_t b = 0; b < nb; b++)
		if (a.bfs_parent[LW_GRAPH_BLOCK(&t.g, b)] != LW_GRAPH_NONE) tot += t.size[b];
	CHECK(a.retained[0] == tot, "big total");
	/* every idom of a reachable block is a BFS-tree... at least reachable */
	uint32_t bad = 0;
	for (uint32_t v = 1; v < nb + nr + 1; v++)
		if (a.idom[v] != LW_GRAPH_NONE && a.bfs_parent[a.idom[v]] == LW_GRAPH_NONE) bad++;
	CHECK(bad == 0, "big idom reachability");
	printf("random graph: %u blocks, %llu edges, %u reachable (CPU s): bfs %.3f, "
	       "dominators %.3f, retained %.3f, lost %.3f\n", nb,
	       (unsigned long long)e, a.n_reachable, t1 - t0, t2 - t1, t3 - t2, t4 - t3);
	lw_graph_analysis_free(&a);
	tg_free(&t);
}

/* Degenerate graphs: nothing at all; roots without blocks; blocks without
 * roots (all lost) and without edges. */
static void check_empty(void)
{
	uint64_t off0[2] = {0, 0}, sz[3] = {5, 6, 7}, boff[4] = {0, 0, 0, 0};
	lw_graph_csr g0 = {0, 0, NULL, off0, NULL, NULL, NULL};
	lw_graph_analysis a;
	CHECK(lw_graph_analyze(&g0, &a) == 0 && a.n_nodes == 1 && a.retained[0] == 0, "empty");
	lw_graph_analysis_free(&a);
	lw_graph_csr g1 = {0, 1, NULL, off0, NULL, off0, NULL};
	CHECK(lw_graph_analyze(&g1, &a) == 0 && a.n_nodes == 2 && a.idom[1] == 0, "root only");
	lw_graph_analysis_free(&a);
	lw_graph_csr g2 = {3, 0, sz, boff, NULL, NULL, NULL};
	CHECK(lw_graph_analyze(&g2, &a) == 0, "blocks only");
	for (int b = 0; b < 3; b++)
		CHECK(a.lost[b] == LW_GRAPH_DEFINITELY_LOST && a.idom[1 + b] == LW_GRAPH_NONE,
		      "isolated block %d", b);
	CHECK(a.retained[0] == 0 && a.n_reachable == 0, "nothing reachable");
	lw_graph_analysis_free(&a);
	uint64_t bad_off[4] = {0, 1, 1, 1};
	uint32_t bad_dst[1] = {3};
	lw_graph_csr g3 = {3, 0, sz, bad_off, bad_dst, NULL, NULL};
	CHECK(lw_graph_analyze(&g3, &a) == -EINVAL, "target out of range rejected");
}

int main(int argc, char **argv)
{
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	if (argc > 2 && strcmp(argv[1], "--bench") == 0) {
		/* manual scale run: --bench N_BLOCKS (random graph, mean degree 3) */
		check_random_big((uint32_t)strtoul(argv[2], NULL, 10), 3);
		check_chain((uint32_t)strtoul(argv[2], NULL, 10));
		return failures ? 1 : 0;
	}
	check_empty();
	check_lost_cases();
	check_retained_cases();
	for (uint64_t seed = 1; seed <= 300; seed++) {
		rng_state = seed * 7919;
		uint32_t nb = 1 + rnd(24), nr = rnd(4);
		size_t ne = rnd(3 * nb + 1);
		check_random(seed, nb, nr, ne);
	}
	if (!quick) {
		check_chain(1000000);
		/* Under ASan the 2M-node random graph (the worst case for the
		 * dominator pass: no locality) costs two CPU minutes; the chain
		 * above already proves depth safety, so a smaller graph does. */
		check_random_big(LW_TEST_SANITIZED ? 250000 : 2000000, 3);
	}
	if (failures) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
