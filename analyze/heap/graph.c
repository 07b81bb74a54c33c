/* graph.c — heap-graph algorithms (see graph.h and docs/RETAINERS.md).
 *
 * Role: reachability (BFS from a virtual super-root), dominators (semi-NCA),
 * retained sizes, lost-block classification (Tarjan SCCs over the unreachable
 * blocks), and group-level retained sizes.
 *
 * Invariants: node ids and DFS numbers are uint32 (LW_GRAPH_NONE = "none");
 * edge offsets are uint64. Every traversal is iterative with an explicit
 * stack or queue sized to the node count, so a 10M-long chain cannot
 * overflow the C stack. Each function allocates its scratch arrays once and
 * frees them before returning. No locks, no global state, no printing.
 */
#include "graph.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lw_assert.h"

/* Successors of a unified node u: either the roots (super-root: v = 1 + i)
 * or a slice of one of the CSR target arrays, shifted into node space. */
typedef struct succ_range {
	const uint32_t *dst;   /* NULL for the super-root */
	uint64_t begin, end;
	uint32_t shift;        /* added to each target to get a node id */
} succ_range;

static inline succ_range succ_of(const lw_graph_csr *g, uint32_t u)
{
	succ_range r;
	uint32_t base = 1u + g->n_roots;
	if (u == LW_GRAPH_SUPER) {
		r.dst = NULL; r.begin = 0; r.end = g->n_roots; r.shift = 1;
	} else if (u < base) {
		r.dst = g->root_dst; r.begin = g->root_off[u - 1]; r.end = g->root_off[u];
		r.shift = base;
	} else {
		uint32_t b = u - base;
		r.dst = g->blk_dst; r.begin = g->blk_off[b]; r.end = g->blk_off[b + 1];
		r.shift = base;
	}
	return r;
}

static inline uint32_t succ_at(const succ_range *r, uint64_t i)
{
	return r->dst ? r->dst[i] + r->shift : (uint32_t)i + r->shift;
}

uint32_t lw_graph_n_nodes(const lw_graph_csr *g)
{
	uint64_t n = 1ull + g->n_roots + g->n_blocks;
	return n >= LW_GRAPH_NONE ? 0 : (uint32_t)n;
}

static int check_csr(const uint64_t *off, uint32_t n, const uint32_t *dst, uint32_t n_blocks)
{
	if (!off)
		return n == 0 ? 0 : -EINVAL;
	if (off[0] != 0)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++)
		if (off[i + 1] < off[i])
			return -EINVAL;
	if (off[n] > 0 && !dst)
		return -EINVAL;
	for (uint64_t e = 0; e < off[n]; e++)
		if (dst[e] >= n_blocks)
			return -EINVAL;
	return 0;
}

int lw_graph_validate(const lw_graph_csr *g)
{
	if (!g || lw_graph_n_nodes(g) == 0)
		return -EINVAL;
	if (g->n_blocks && !g->size)
		return -EINVAL;
	int rc = check_csr(g->blk_off, g->n_blocks, g->blk_dst, g->n_blocks);
	if (rc == 0)
		rc = check_csr(g->root_off, g->n_roots, g->root_dst, g->n_blocks);
	return rc;
}

/* ---- BFS ------------------------------------------------------------- */

int lw_graph_bfs(const lw_graph_csr *g, uint32_t *parent, uint32_t *n_reachable)
{
	uint32_t n = lw_graph_n_nodes(g);
	if (n == 0)
		return -EINVAL;
	uint32_t *queue = malloc((size_t)n * sizeof *queue);
	if (!queue)
		return -ENOMEM;
	memset(parent, 0xff, (size_t)n * sizeof *parent);
	uint32_t head = 0, tail = 0, nblk = 0, base = 1u + g->n_roots;
	parent[0] = 0;
	queue[tail++] = 0;
	while (head < tail) {
		uint32_t u = queue[head++];
		succ_range r = succ_of(g, u);
		for (uint64_t i = r.begin; i < r.end; i++) {
			uint32_t v = succ_at(&r, i);
			if (parent[v] != LW_GRAPH_NONE)
				continue;
			parent[v] = u;
			queue[tail++] = v;
			if (v >= base)
				nblk++;
		}
	}
	free(queue);
	if (n_reachable)
		*n_reachable = nblk;
	return 0;
}

/* ---- Dominators: semi-NCA ------------------------------------------------
 * 1. Iterative DFS from the super-root numbers reachable nodes in preorder
 *    (vert[i] = node, num[node] = i, dpar[i] = DFS parent's number).
 * 2. Predecessor lists in DFS-number space (CSR).
 * 3. Semidominators in decreasing preorder with the "simple" link/eval
 *    forest and iterative path compression.
 * 4. idom[w] = the nearest ancestor of w in the DFS tree whose number is
 *    <= semi[w], climbing already-computed idoms (Georgiadis' SNCA).
 */

/* Link/eval forest entry: the forest parent and, as best, the smallest
 * semidominator number on the compressed path (semi[label[v]] of the
 * textbook formulation, so labels themselves are never needed). Interleaved
 * so one cache line serves both: the forest is walked at random. */
typedef struct snca_node {
	uint32_t anc, best;
} snca_node;

/* eval with path compression: the smallest semidominator number on the
 * forest path from v up to (excluding) its tree root. path is scratch. */
static inline uint32_t snca_eval(uint32_t v, snca_node *f, uint32_t *path)
{
	if (f[v].anc == LW_GRAPH_NONE)
		return f[v].best;
	uint32_t k = 0, x = v;
	while (f[f[x].anc].anc != LW_GRAPH_NONE) {
		path[k++] = x;
		x = f[x].anc;
	}
	while (k > 0) {
		uint32_t y = path[--k], a = f[y].anc;
		if (f[a].best < f[y].best)
			f[y].best = f[a].best;
		f[y].anc = f[a].anc;
	}
	return f[v].best;
}

/* The arrays of one lw_graph_dominators call, by step. */
typedef struct dom_ctx {
	const lw_graph_csr *g;
	uint32_t n, cnt;          /* nodes; reachable nodes (DFS numbers 0..cnt-1) */
	uint32_t *num, *vert, *dpar, *stk;
	uint32_t *tn_blk, *tn_root;   /* per edge: DFS number of its target */
	uint64_t *poff;           /* predecessors of w: preds[poff[w]..poff[w+1]) */
	uint32_t *preds, *semi;
	snca_node *fo;
} dom_ctx;

/* 1. Preorder DFS. Each edge is examined exactly once; the DFS number of its
 * target is recorded in tn_* (same index as the edge), so step 2 reads
 * targets sequentially instead of looking num[] up again. */
static int dom_dfs(dom_ctx *c)
{
	const lw_graph_csr *g = c->g;
	uint64_t n_blk_e = g->n_blocks ? g->blk_off[g->n_blocks] : 0;
	uint64_t n_root_e = g->n_roots ? g->root_off[g->n_roots] : 0;
	uint64_t *pos = malloc((size_t)c->n * sizeof *pos);
	c->tn_blk = malloc((size_t)(n_blk_e ? n_blk_e : 1) * sizeof *c->tn_blk);
	c->tn_root = malloc((size_t)(n_root_e ? n_root_e : 1) * sizeof *c->tn_root);
	if (!pos || !c->tn_blk || !c->tn_root) {
		free(pos);
		return -ENOMEM;
	}
	uint32_t *num = c->num, *vert = c->vert, *dpar = c->dpar, *stk = c->stk;
	memset(num, 0xff, (size_t)c->n * sizeof *num);
	uint32_t cnt = 0;
	int64_t sp = 0;
	num[0] = cnt; vert[cnt] = 0; dpar[cnt] = 0; cnt++;
	stk[0] = 0;
	pos[0] = 0;                 /* super-root's successors start at 0 */
	while (sp >= 0) {
		uint32_t u = stk[sp];
		succ_range r = succ_of(g, u);
		uint32_t *tn = u == 0 ? NULL : u <= g->n_roots ? c->tn_root : c->tn_blk;
		uint64_t i = pos[sp];
		uint32_t v = LW_GRAPH_NONE;
		for (; i < r.end; i++) {
			uint32_t w = succ_at(&r, i);
			uint32_t k = num[w];
			if (k == LW_GRAPH_NONE) {
				v = w;
				break;
			}
			if (tn)
				tn[i] = k;
		}
		if (v == LW_GRAPH_NONE) {
			sp--;
			continue;
		}
		if (tn)
			tn[i] = cnt;
		pos[sp] = i + 1;
		num[v] = cnt; vert[cnt] = v; dpar[cnt] = num[u]; cnt++;
		sp++;
		stk[sp] = v;
		pos[sp] = succ_of(g, v).begin;
	}
	free(pos);
	c->cnt = cnt;
	return 0;
}

/* Runs STMT for every edge from a reachable node, with k_ the DFS number
 * of its source and to_ that of its target. */
#define DOM_FOR_EDGES(c, STMT) \
	for (uint32_t u = 0; u < (c)->n; u++) { \
		uint32_t k_ = (c)->num[u]; \
		if (k_ == LW_GRAPH_NONE) \
			continue; \
		succ_range r = succ_of((c)->g, u); \
		const uint32_t *tn = u <= (c)->g->n_roots ? (c)->tn_root : (c)->tn_blk; \
		for (uint64_t i = r.begin; i < r.end; i++) { \
			uint32_t to_ = r.dst ? tn[i] : (c)->num[succ_at(&r, i)]; \
			STMT; \
		} \
	}

/* 2. Predecessors in DFS numbers (CSR): count, prefix-sum to range ends,
 * then fill backwards so poff[w] ends as the start of w's range. */
static int dom_preds(dom_ctx *c)
{
	uint32_t cnt = c->cnt;
	c->poff = calloc((size_t)cnt + 1, sizeof *c->poff);
	if (!c->poff)
		return -ENOMEM;
	DOM_FOR_EDGES(c, c->poff[to_]++)
	for (uint32_t k = 1; k <= cnt; k++)
		c->poff[k] += c->poff[k - 1];
	/* at least cnt entries: step 4 reuses the array for cnt idoms */
	uint64_t np = c->poff[cnt] > cnt ? c->poff[cnt] : cnt;
	c->preds = malloc((size_t)(np ? np : 1) * sizeof *c->preds);
	if (!c->preds)
		return -ENOMEM;
	DOM_FOR_EDGES(c, c->preds[--c->poff[to_]] = k_)
	free(c->tn_blk);
	free(c->tn_root);
	c->tn_blk = c->tn_root = NULL;
	return 0;
}

/* 3. Semidominators in decreasing preorder. */
static int dom_semi(dom_ctx *c)
{
	uint32_t cnt = c->cnt;
	c->semi = malloc((size_t)cnt * sizeof *c->semi);
	c->fo = malloc((size_t)cnt * sizeof *c->fo);
	if (!c->semi || !c->fo)
		return -ENOMEM;
	for (uint32_t k = 0; k < cnt; k++) {
		c->semi[k] = k;
		c->fo[k].best = k;
		c->fo[k].anc = LW_GRAPH_NONE;
	}
	for (uint32_t w = cnt - 1; w >= 1; w--) {
		uint32_t sm = c->semi[w];
		if (c->poff[w + 1] - c->poff[w] == 1) {
			/* one predecessor: it is the DFS parent, an unlinked node
			 * below w, so eval would return its own number */
			sm = c->dpar[w];
		} else {
			for (uint64_t e = c->poff[w]; e < c->poff[w + 1]; e++) {
				/* a predecessor numbered below w is not linked yet:
				 * eval would return its own number, so skip the
				 * (random) forest access */
				uint32_t pr = c->preds[e];
				uint32_t b = pr < w ? pr : snca_eval(pr, c->fo, c->stk);
				if (b < sm)
					sm = b;
			}
		}
		c->semi[w] = sm;
		c->fo[w].best = sm;
		c->fo[w].anc = c->dpar[w];
	}
	return 0;
}

/* 4. Immediate dominators (reusing preds as idom in DFS numbers). */
static void dom_idom(dom_ctx *c, uint32_t *idom)
{
	uint32_t *id = c->preds;
	id[0] = 0;
	for (uint32_t w = 1; w < c->cnt; w++) {
		uint32_t x = c->dpar[w];
		while (x > c->semi[w])
			x = id[x];
		id[w] = x;
	}
	memset(idom, 0xff, (size_t)c->n * sizeof *idom);
	for (uint32_t w = 0; w < c->cnt; w++)
		idom[c->vert[w]] = c->vert[id[w]];
}

int lw_graph_dominators(const lw_graph_csr *g, uint32_t *idom)
{
	dom_ctx c;
	memset(&c, 0, sizeof c);
	c.g = g;
	c.n = lw_graph_n_nodes(g);
	if (c.n == 0)
		return -EINVAL;
	c.num = malloc((size_t)c.n * sizeof *c.num);
	c.vert = malloc((size_t)c.n * sizeof *c.vert);
	c.dpar = malloc((size_t)c.n * sizeof *c.dpar);
	c.stk = malloc((size_t)c.n * sizeof *c.stk);
	int rc = c.num && c.vert && c.dpar && c.stk ? 0 : -ENOMEM;
	if (rc == 0)
		rc = dom_dfs(&c);
	if (rc == 0)
		rc = dom_preds(&c);
	if (rc == 0)
		rc = dom_semi(&c);
	if (rc == 0)
		dom_idom(&c, idom);
	free(c.num); free(c.vert); free(c.dpar); free(c.stk);
	free(c.poff); free(c.preds); free(c.semi); free(c.fo);
	free(c.tn_blk); free(c.tn_root);
	return rc;
}

/* ---- Retained sizes ----------------------------------------------------- */

static inline uint64_t node_size(const lw_graph_csr *g, uint32_t v)
{
	uint32_t base = 1u + g->n_roots;
	return v >= base ? g->size[v - base] : 0;
}

int lw_graph_retained(const lw_graph_csr *g, const uint32_t *idom, uint64_t *retained)
{
	uint32_t n = lw_graph_n_nodes(g);
	if (n == 0)
		return -EINVAL;
	uint32_t *kids = calloc(n, sizeof *kids);
	uint32_t *queue = malloc((size_t)n * sizeof *queue);
	if (!kids || !queue) {
		free(kids);
		free(queue);
		return -ENOMEM;
	}
	for (uint32_t v = 0; v < n; v++) {
		retained[v] = node_size(g, v);
		if (v != 0 && idom[v] != LW_GRAPH_NONE)
			kids[idom[v]]++;
	}
	/* leaves first: a node is finished once all its dominator children are */
	uint32_t head = 0, tail = 0;
	for (uint32_t v = 1; v < n; v++)
		if (idom[v] != LW_GRAPH_NONE && kids[v] == 0)
			queue[tail++] = v;
	while (head < tail) {
		uint32_t v = queue[head++];
		uint32_t p = idom[v];
		retained[p] += retained[v];
		if (--kids[p] == 0 && p != 0)
			queue[tail++] = p;
	}
	free(kids);
	free(queue);
	return 0;
}

int lw_graph_retained_by_group(const lw_graph_csr *g, const uint32_t *idom,
			       const uint64_t *retained, const uint32_t *group,
			       uint32_t n_groups, uint64_t *out, uint32_t *out_top)
{
	uint32_t n = lw_graph_n_nodes(g);
	if (n == 0)
		return -EINVAL;
	uint32_t base = 1u + g->n_roots;
	int rc = -ENOMEM;
	uint32_t *coff = calloc((size_t)n + 1, sizeof *coff);
	uint32_t *kids = malloc((size_t)n * sizeof *kids);
	uint32_t *stk = malloc((size_t)n * sizeof *stk);
	uint32_t *cur = malloc((size_t)n * sizeof *cur);
	uint32_t *active = calloc(n_groups ? n_groups : 1, sizeof *active);
	if (!coff || !kids || !stk || !cur || !active)
		goto out;
	memset(out, 0, (size_t)n_groups * sizeof *out);
	if (out_top)
		memset(out_top, 0, (size_t)n_groups * sizeof *out_top);
	/* children of the dominator tree, CSR */
	for (uint32_t v = 1; v < n; v++)
		if (idom[v] != LW_GRAPH_NONE)
			coff[idom[v] + 1]++;
	for (uint32_t v = 0; v < n; v++)
		coff[v + 1] += coff[v];
	memcpy(cur, coff, (size_t)n * sizeof *cur);
	for (uint32_t v = 1; v < n; v++)
		if (idom[v] != LW_GRAPH_NONE)
			kids[cur[idom[v]]++] = v;
	/* DFS over the dominator tree; active[k] counts group-k blocks on the
	 * current root-to-node path. cur[v] is v's next child cursor. */
	memcpy(cur, coff, (size_t)n * sizeof *cur);
	int64_t sp = 0;
	stk[0] = 0;
	while (sp >= 0) {
		uint32_t v = stk[sp];
		if (cur[v] < coff[v + 1]) {
			uint32_t c = kids[cur[v]++];
			if (c >= base) {
				uint32_t k = group[c - base];
				if (k != LW_GRAPH_NONE && k < n_groups) {
					if (active[k]++ == 0) {
						out[k] += retained[c];
						if (out_top)
							out_top[k]++;
					}
				}
			}
			stk[++sp] = c;
			continue;
		}
		if (v >= base) {
			uint32_t k = group[v - base];
			if (k != LW_GRAPH_NONE && k < n_groups)
				active[k]--;
		}
		sp--;
	}
	rc = 0;
out:
	free(coff); free(kids); free(stk); free(cur); free(active);
	return rc;
}

/* ---- Lost blocks: Tarjan SCCs over the unreachable subgraph ------------- */

int lw_graph_lost(const lw_graph_csr *g, const uint32_t *bfs_parent, uint8_t *state)
{
	uint32_t nb = g->n_blocks, base = 1u + g->n_roots;
	uint32_t n_unreach = 0;
	for (uint32_t b = 0; b < nb; b++) {
		int un = bfs_parent[base + b] == LW_GRAPH_NONE;
		state[b] = un ? LW_GRAPH_INDIRECTLY_LOST : LW_GRAPH_REACHABLE;
		n_unreach += (uint32_t)un;
	}
	if (n_unreach == 0)
		return 0;
	int rc = -ENOMEM;
	uint32_t *idx = malloc((size_t)nb * sizeof *idx);
	uint32_t *low = malloc((size_t)nb * sizeof *low);
	uint32_t *comp = malloc((size_t)nb * sizeof *comp);
	uint32_t *sstk = malloc((size_t)nb * sizeof *sstk);
	uint32_t *cstk = malloc((size_t)nb * sizeof *cstk);
	uint64_t *cpos = malloc((size_t)nb * sizeof *cpos);
	uint8_t *onstk = calloc(nb, 1);
	uint8_t *has_in = NULL;
	uint32_t *rep = NULL;
	if (!idx || !low || !comp || !sstk || !cstk || !cpos || !onstk)
		goto out;
	memset(idx, 0xff, (size_t)nb * sizeof *idx);
	uint32_t counter = 0, ncomp = 0, ssp = 0;
	for (uint32_t s = 0; s < nb; s++) {
		if (state[s] == LW_GRAPH_REACHABLE || idx[s] != LW_GRAPH_NONE)
			continue;
		int64_t csp = 0;
		cstk[0] = s;
		cpos[0] = g->blk_off[s];
		idx[s] = low[s] = counter++;
		sstk[ssp++] = s;
		onstk[s] = 1;
		while (csp >= 0) {
			uint32_t v = cstk[csp];
			if (cpos[csp] < g->blk_off[v + 1]) {
				uint32_t w = g->blk_dst[cpos[csp]++];
				if (state[w] == LW_GRAPH_REACHABLE)
					continue;
				if (idx[w] == LW_GRAPH_NONE) {
					idx[w] = low[w] = counter++;
					sstk[ssp++] = w;
					onstk[w] = 1;
					csp++;
					cstk[csp] = w;
					cpos[csp] = g->blk_off[w];
				} else if (onstk[w] && idx[w] < low[v]) {
					low[v] = idx[w];
				}
				continue;
			}
			if (low[v] == idx[v]) {
				uint32_t x;
				do {
					x = sstk[--ssp];
					onstk[x] = 0;
					comp[x] = ncomp;
				} while (x != v);
				ncomp++;
			}
			csp--;
			if (csp >= 0) {
				uint32_t p = cstk[csp];
				if (low[v] < low[p])
					low[p] = low[v];
			}
		}
	}
	has_in = calloc(ncomp, 1);
	rep = malloc((size_t)ncomp * sizeof *rep);
	if (!has_in || !rep)
		goto out;
	memset(rep, 0xff, (size_t)ncomp * sizeof *rep);
	for (uint32_t u = 0; u < nb; u++) {
		if (state[u] == LW_GRAPH_REACHABLE)
			continue;
		if (rep[comp[u]] == LW_GRAPH_NONE)
			rep[comp[u]] = u;     /* lowest index = lowest address */
		for (uint64_t e = g->blk_off[u]; e < g->blk_off[u + 1]; e++) {
			uint32_t w = g->blk_dst[e];
			if (state[w] != LW_GRAPH_REACHABLE && comp[w] != comp[u])
				has_in[comp[w]] = 1;
		}
	}
	for (uint32_t u = 0; u < nb; u++)
		if (state[u] != LW_GRAPH_REACHABLE && !has_in[comp[u]] && rep[comp[u]] == u)
			state[u] = LW_GRAPH_DEFINITELY_LOST;
	rc = 0;
out:
	free(idx); free(low); free(comp); free(sstk); free(cstk); free(cpos);
	free(onstk); free(has_in); free(rep);
	return rc;
}

/* ---- All in one ------------------------------------------------------------ */

void lw_graph_analysis_free(lw_graph_analysis *a)
{
	if (!a)
		return;
	free(a->bfs_parent);
	free(a->idom);
	free(a->retained);
	free(a->lost);
	memset(a, 0, sizeof *a);
}

int lw_graph_analyze_steps(const lw_graph_csr *g, lw_graph_analysis *out,
			   void (*step)(void *arg), void *arg)
{
	memset(out, 0, sizeof *out);
	int rc = lw_graph_validate(g);
	if (rc < 0)
		return rc;
	uint32_t n = lw_graph_n_nodes(g);
	out->n_nodes = n;
	out->bfs_parent = malloc((size_t)n * sizeof *out->bfs_parent);
	out->idom = malloc((size_t)n * sizeof *out->idom);
	out->retained = malloc((size_t)n * sizeof *out->retained);
	out->lost = malloc(g->n_blocks ? g->n_blocks : 1);
	if (!out->bfs_parent || !out->idom || !out->retained || !out->lost) {
		lw_graph_analysis_free(out);
		return -ENOMEM;
	}
	rc = lw_graph_bfs(g, out->bfs_parent, &out->n_reachable);
	if (rc == 0 && step)
		step(arg);
	if (rc == 0)
		rc = lw_graph_dominators(g, out->idom);
	if (rc == 0 && step)
		step(arg);
	if (rc == 0)
		rc = lw_graph_retained(g, out->idom, out->retained);
	if (rc == 0 && step)
		step(arg);
	if (rc == 0)
		rc = lw_graph_lost(g, out->bfs_parent, out->lost);
	if (rc == 0 && step)
		step(arg);
	if (rc < 0) {
		lw_graph_analysis_free(out);
		return rc;
	}
	LW_ASSERT_EXPENSIVE(lw_graph_check(g, out) == 0);
	return 0;
}

int lw_graph_analyze(const lw_graph_csr *g, lw_graph_analysis *out)
{
	return lw_graph_analyze_steps(g, out, NULL, NULL);
}

/* ---- Invariant walker ------------------------------------------------------- */

/* Pre/post order numbers of the dominator tree (children lists in CSR form,
 * explicit stack). pre[v] = post[v] = LW_GRAPH_NONE for unreachable nodes. */
static int dom_tree_order(uint32_t n, const uint32_t *idom, uint32_t *pre, uint32_t *post)
{
	uint32_t *off = calloc((size_t)n + 1, sizeof *off);
	uint32_t *kid = malloc((size_t)n * sizeof *kid);
	uint32_t *stk = malloc((size_t)n * sizeof *stk);
	uint32_t *pos = malloc((size_t)n * sizeof *pos);
	int rc = -ENOMEM;
	if (!off || !kid || !stk || !pos)
		goto out;
	for (uint32_t v = 1; v < n; v++)
		if (idom[v] != LW_GRAPH_NONE)
			off[idom[v] + 1]++;
	for (uint32_t v = 0; v < n; v++)
		off[v + 1] += off[v];
	memcpy(pos, off, (size_t)n * sizeof *pos);
	for (uint32_t v = 1; v < n; v++)
		if (idom[v] != LW_GRAPH_NONE)
			kid[pos[idom[v]]++] = v;
	for (uint32_t v = 0; v < n; v++)
		pre[v] = post[v] = LW_GRAPH_NONE;
	uint32_t sp = 0, t_pre = 0, t_post = 0;
	memcpy(pos, off, (size_t)n * sizeof *pos);
	stk[sp++] = 0;
	pre[0] = t_pre++;
	while (sp) {
		uint32_t v = stk[sp - 1];
		if (pos[v] < off[v + 1]) {
			uint32_t c = kid[pos[v]++];
			if (pre[c] != LW_GRAPH_NONE || sp >= n) {   /* a cycle: not a tree */
				rc = -EINVAL;
				goto out;
			}
			pre[c] = t_pre++;
			stk[sp++] = c;
		} else {
			post[v] = t_post++;
			sp--;
		}
	}
	rc = 0;
out:
	free(off);
	free(kid);
	free(stk);
	free(pos);
	return rc;
}

/* d dominates v (or is v) in the tree numbered by dom_tree_order. */
static int dominates(const uint32_t *pre, const uint32_t *post, uint32_t d, uint32_t v)
{
	return pre[d] <= pre[v] && post[v] <= post[d];
}

int lw_graph_check(const lw_graph_csr *g, const lw_graph_analysis *a)
{
	int rc = lw_graph_validate(g);
	uint32_t n = lw_graph_n_nodes(g), base = 1u + g->n_roots;
	if (rc < 0)
		return rc;
	if (a->n_nodes != n || a->bfs_parent[0] != 0 || a->idom[0] != 0)
		return -EINVAL;
	uint32_t *pre = malloc((size_t)n * sizeof *pre);
	uint32_t *post = malloc((size_t)n * sizeof *post);
	uint64_t *sum = calloc(n, sizeof *sum);
	uint8_t *has_lost_in = g->n_blocks ? calloc(g->n_blocks, 1) : NULL;
	rc = -ENOMEM;
	if (!pre || !post || !sum || (g->n_blocks && !has_lost_in))
		goto out;
	if ((rc = dom_tree_order(n, a->idom, pre, post)) < 0)
		goto out;
	rc = -EINVAL;
	uint32_t n_reach = 0;
	for (uint32_t v = 1; v < n; v++) {
		int reach = a->bfs_parent[v] != LW_GRAPH_NONE;
		/* BFS tree, dominator tree and the lost states agree on who is
		 * reachable; every reachable node hangs in the dominator tree. */
		if (reach != (a->idom[v] != LW_GRAPH_NONE) || reach != (pre[v] != LW_GRAPH_NONE))
			goto out;
		if (v >= base && reach != (a->lost[v - base] == LW_GRAPH_REACHABLE))
			goto out;
		if (v < base && (!reach || a->bfs_parent[v] != 0 || a->idom[v] != 0))
			goto out;   /* roots hang off the super-root */
		if (!reach)
			continue;
		n_reach += v >= base;
		if (a->bfs_parent[a->bfs_parent[v]] == LW_GRAPH_NONE || a->bfs_parent[v] == v)
			goto out;
		sum[a->idom[v]] += a->retained[v];
	}
	if (n_reach != a->n_reachable)
		goto out;
	/* retained = own size + the retained sizes of the dominator children */
	for (uint32_t v = 0; v < n; v++)
		if (pre[v] != LW_GRAPH_NONE && a->retained[v] != node_size(g, v) + sum[v])
			goto out;
	/* every edge from a reachable node: its target is reachable, and the
	 * target's immediate dominator dominates the source; an indirectly lost
	 * block has an in-edge from another lost block */
	for (uint32_t u = 1; u < n; u++) {
		succ_range r = succ_of(g, u);
		for (uint64_t i = r.begin; i < r.end; i++) {
			uint32_t v = succ_at(&r, i);
			if (a->bfs_parent[u] != LW_GRAPH_NONE) {
				if (a->bfs_parent[v] == LW_GRAPH_NONE ||
				    !dominates(pre, post, a->idom[v], u))
					goto out;
			} else if (u != v) {
				has_lost_in[v - base] = 1;
			}
		}
	}
	for (uint32_t b = 0; b < g->n_blocks; b++) {
		uint8_t st = a->lost[b];
		if (st > LW_GRAPH_INDIRECTLY_LOST)
			goto out;
		if (st == LW_GRAPH_INDIRECTLY_LOST && !has_lost_in[b])
			goto out;
	}
	rc = 0;
out:
	free(pre);
	free(post);
	free(sum);
	free(has_lost_in);
	return rc;
}
