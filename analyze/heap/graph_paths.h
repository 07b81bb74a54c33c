/* graph_paths.h — retainer paths that follow the program's data structures,
 * and which roots reach a set of target blocks.
 *
 * Why: a conservative scan finds stale pointers (a freed block's old
 * free-list link, an uninitialized buffer) as well as real ones. Plain
 * shortest paths then prefer a stale two-hop path over the real one that
 * walks a long linked list from its head, and the "retainer" shown is a
 * bystander. Two remedies, both over graph.h's CSR model:
 *
 *   lw_graph_root_reach() counts, for each root that can reach the targets
 *   at all, how many target blocks (and bytes) it reaches. The root that
 *   reaches every block of a leak is the one keeping it alive; a stale
 *   pointer into the middle of a list reaches only its tail.
 *
 *   lw_graph_bfs01() finds paths of least cost where stepping between two
 *   blocks of the same size is free (a list, a tree, a chain of the same
 *   struct) and every other step costs one, with roots tried in a given
 *   order so that ties go to the root that reaches the most.
 *
 * Node numbering is graph.h's (super-root 0, roots, then blocks). Functions
 * return 0 or -ENOMEM/-EINVAL, never print, and keep no global state.
 */
#ifndef LW_GRAPH_PATHS_H
#define LW_GRAPH_PATHS_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"

typedef struct lw_root_reach {
	uint32_t root;          /* root index (node LW_GRAPH_ROOT(g, root)) */
	uint32_t blocks;        /* target blocks reachable from this root */
	uint64_t bytes;         /* their bytes */
	uint32_t kin;           /* reachable blocks that lead to a target and have
	                         * the size of some target: the structure the
	                         * targets belong to (ranks roots that tie on
	                         * blocks and share: the list head reaches nodes
	                         * that a stale pointer into the list misses) */
	uint64_t words;         /* this root's pointers into the heap */
	uint64_t words_leading; /* ... of which lead to a target: a root that is
	                         * all about the targets (a list head) ranks above
	                         * a big table one of whose slots happens to lead
	                         * there (a ring of recycled buffers holding stale
	                         * addresses), when blocks tie */
	uint64_t hops;          /* sum over the reached targets of their pointer
	                         * distance from this root: the last tie-break (a
	                         * list's own head is one hop closer than a stale
	                         * copy of its address held in some buffer) */
} lw_root_reach;

/* For every root with a path to a block b with target[b] != 0: the targets it
 * reaches. At most max_roots roots are searched (those with the most edges
 * into blocks that lead to a target), and the search stops after about
 * work_limit edge visits in all (*complete = 0 then; the counts found so far
 * are still exact for the roots that finished). Results are sorted by
 * blocks, then the share of the root's words that lead to a target, then
 * kin (all descending), then hops ascending, then bytes; *out is malloc'ed (free() it). */
int lw_graph_root_reach(const lw_graph_csr *g, const uint8_t *target, size_t max_roots,
			uint64_t work_limit, lw_root_reach **out, size_t *n_out, int *complete);

/* Least-cost paths from the super-root: super-root -> root costs 0, root ->
 * block 1, block u -> block v 0 when kind[u] == kind[v] and 1 otherwise.
 * Roots are entered in root_order (n_roots entries, a permutation; NULL =
 * index order), which breaks ties between equally cheap paths. parent
 * [n_nodes] gets each node's predecessor on its path (LW_GRAPH_NONE when
 * unreachable, parent[0] = 0); order[] (may be NULL) gets the reachable
 * blocks' nodes in the order their paths were settled (every block after
 * its parent), *n_order how many. */
int lw_graph_bfs01(const lw_graph_csr *g, const uint32_t *root_order, const uint64_t *kind,
		   uint32_t *parent, uint32_t *order, uint32_t *n_order);

#endif
