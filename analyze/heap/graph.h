/* graph.h — heap-graph algorithms of the analyzer: reachability, shortest
 * retainer paths, dominators, retained sizes, and valgrind-style lost-block
 * classification, over a plain CSR graph (method in docs/RETAINERS.md).
 *
 * Input model (lw_graph_csr; not dump/lwd_graph.h's decoded lw_graph, which
 * retain.c turns into one): n_blocks heap blocks (indices 0..n_blocks-1, in
 * address order), n_roots roots (globals, thread stacks, registers), and two
 * CSR edge lists: block -> block and root -> block. Edge targets are block
 * indices. Duplicate edges and self-loops are allowed.
 *
 * Node numbering of every per-node result array (n_nodes = 1+n_roots+n_blocks):
 *     0                    the virtual super-root, with an edge to every root
 *     1 .. n_roots         root r is node 1+r               (LW_GRAPH_ROOT)
 *     1+n_roots .. n_nodes-1   block b is node 1+n_roots+b  (LW_GRAPH_BLOCK)
 *
 * Scale: designed for ~10M blocks and tens of millions of edges: 32-bit node
 * indices, flat arrays allocated once per call, no recursion (every DFS keeps
 * an explicit stack), no per-node allocation. Functions return 0 or -ENOMEM /
 * -EINVAL and never print. Not thread-safe per result; no global state.
 */
#ifndef LW_GRAPH_H
#define LW_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#define LW_GRAPH_NONE UINT32_MAX
#define LW_GRAPH_SUPER 0u
#define LW_GRAPH_ROOT(g, r) ((uint32_t)(1u + (uint32_t)(r)))
#define LW_GRAPH_BLOCK(g, b) ((uint32_t)(1u + (g)->n_roots + (uint32_t)(b)))

typedef struct lw_graph_csr {
	uint32_t n_blocks, n_roots;
	const uint64_t *size;      /* [n_blocks] bytes of each block */
	const uint64_t *blk_off;   /* [n_blocks+1] CSR offsets into blk_dst */
	const uint32_t *blk_dst;   /* targets (block indices) */
	const uint64_t *root_off;  /* [n_roots+1] CSR offsets into root_dst */
	const uint32_t *root_dst;  /* targets (block indices) */
} lw_graph_csr;

/* 1 + n_roots + n_blocks, or 0 if that does not fit in 32 bits (LW_GRAPH_NONE
 * is reserved). */
uint32_t lw_graph_n_nodes(const lw_graph_csr *g);

/* Checks offsets are monotonic and every target is < n_blocks. 0 or -EINVAL. */
int lw_graph_validate(const lw_graph_csr *g);

/* Breadth-first search from the super-root. parent[n_nodes] receives the BFS
 * parent of every node (a shortest retainer path is parent[v], parent[parent[v]],
 * ... up to a root whose parent is 0); parent[0] = 0; unreachable blocks get
 * LW_GRAPH_NONE. Among shortest paths the one through the lowest-numbered
 * root, then the earliest edge, wins (deterministic). *n_reachable (may be
 * NULL) gets the number of reachable blocks. */
int lw_graph_bfs(const lw_graph_csr *g, uint32_t *parent, uint32_t *n_reachable);

/* Immediate dominators (semi-NCA: Lengauer–Tarjan semidominators with path
 * compression, then nearest-common-ancestor climbing), idom[n_nodes]:
 * idom[0] = 0, every root's idom is 0, unreachable blocks get LW_GRAPH_NONE.
 * Node d dominates block v iff every path from the super-root to v passes d. */
int lw_graph_dominators(const lw_graph_csr *g, uint32_t *idom);

/* Retained size: retained[v] = sum of the sizes of the blocks v dominates,
 * itself included (roots and the super-root have size 0, so retained[0] is
 * the total of reachable bytes). Unreachable blocks get their own size. */
int lw_graph_retained(const lw_graph_csr *g, const uint32_t *idom, uint64_t *retained);

/* Lost-block classification of the blocks unreachable from every root,
 * after valgrind memcheck. Let U be the unreachable blocks and H the edges
 * between them. A block of U is DEFINITELY lost if no other block of U points
 * to it; in a cycle of U that no block outside the cycle points to (a source
 * strongly connected component of H), the lowest-addressed block stands for
 * the cycle and is definitely lost. Every other block of U is INDIRECTLY lost
 * (only lost blocks point to it, so freeing the definitely lost ones reaches it).
 * state[n_blocks] receives one of the values below. bfs_parent is the output
 * of lw_graph_bfs (reachable iff not LW_GRAPH_NONE). */
enum lw_graph_lost {
	LW_GRAPH_REACHABLE = 0,
	LW_GRAPH_DEFINITELY_LOST = 1,
	LW_GRAPH_INDIRECTLY_LOST = 2,
};
int lw_graph_lost(const lw_graph_csr *g, const uint32_t *bfs_parent, uint8_t *state);

/* Retained size of groups of blocks (sites, size classes): group[b] is the
 * group of block b (< n_groups) or LW_GRAPH_NONE. The retained size of a group
 * is the size of the union of the dominator subtrees of its reachable blocks,
 * computed as the sum of retained[b] over its blocks that have no strict
 * dominator in the same group (no byte is counted twice). out[n_groups] is
 * overwritten; out_top[n_groups] (may be NULL) receives how many such topmost
 * blocks each group has. */
int lw_graph_retained_by_group(const lw_graph_csr *g, const uint32_t *idom,
			       const uint64_t *retained, const uint32_t *group,
			       uint32_t n_groups, uint64_t *out, uint32_t *out_top);

/* Everything above, in one call. Arrays are malloc'ed; free with
 * lw_graph_analysis_free. */
typedef struct lw_graph_analysis {
	uint32_t n_nodes;
	uint32_t n_reachable;      /* reachable blocks */
	uint32_t *bfs_parent;      /* [n_nodes] */
	uint32_t *idom;            /* [n_nodes] */
	uint64_t *retained;        /* [n_nodes] */
	uint8_t *lost;             /* [n_blocks] enum lw_graph_lost */
} lw_graph_analysis;

int lw_graph_analyze(const lw_graph_csr *g, lw_graph_analysis *out);
/* The same, calling step(arg) after each of the four stages (BFS,
 * dominators, retained sizes, lost blocks), for a progress bar. */
int lw_graph_analyze_steps(const lw_graph_csr *g, lw_graph_analysis *out,
			   void (*step)(void *arg), void *arg);
void lw_graph_analysis_free(lw_graph_analysis *a);

/* Invariant walker (the expensive assert tier runs it after every analysis):
 * the CSR is valid; the BFS tree, the dominator tree and the lost states
 * agree on which nodes are reachable; the dominator tree is a tree rooted
 * at the super-root; every edge from a reachable node leads to a reachable
 * node whose immediate dominator dominates the edge's source; retained[v]
 * is v's size plus its dominator children's retained sizes; an indirectly
 * lost block has an in-edge from another unreachable block. O(nodes +
 * edges) time and four words of memory per node. 0 or -EINVAL / -ENOMEM. */
int lw_graph_check(const lw_graph_csr *g, const lw_graph_analysis *a);

#endif
