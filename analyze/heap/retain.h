/* retain.h — the heap graph of one dump, grouped by site and analyzed:
 * what `leakwatch retainers`, `leakwatch top --retained` and the HTML
 * report read (heap.c, retainers.c, retain_out.c; docs/RETAINERS.md).
 *
 * lw_heap_open takes a dump that is already in the store behind a model
 * (the command loaded it, as every input): it decodes the graph
 * (dump/lwd_graph.h), groups each sampled block by the model site of its
 * stack — the same site top, diff and growth show, wrappers folded alike —
 * groups root words into root nodes (a global by the symbol that contains
 * the word, a thread's stack, a thread's registers), and runs graph.h:
 * shortest retainer paths, dominators, retained sizes, lost blocks.
 *
 * Groups: each sampled block belongs to its site's group. An unsampled block
 * whose type hint (optional HEAP_TYPES section: its first word is an address
 * inside a module) falls in a symbol "vtable for Foo" is grouped by class
 * (LW_HEAP_CLASS, "Foo (unsampled, class from vtable)"); the other unsampled
 * blocks are grouped by power-of-two size class.
 *
 * lw_heap_retainers builds the aggregated retainer graph of a set of groups
 * (docs/RETAINERS.md). Everything is owned by the lw_heap / result and freed
 * with the matching *_free; site frames belong to the model, which must
 * outlive the heap. Library code: returns negative errno, fills err, never
 * prints. Single-threaded.
 */
#ifndef LW_RETAIN_H
#define LW_RETAIN_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"
#include "graph_paths.h"
#include "lwd.h"
#include "lwd_graph.h"
#include "model.h"
#include "pattern.h"
#include "symbols.h"

enum lw_heap_group_kind {
	LW_HEAP_SITE = 0,        /* sampled blocks of one allocation site */
	LW_HEAP_UNSAMPLED = 1,   /* unsampled blocks of one size class */
	LW_HEAP_CLASS = 2,       /* unsampled blocks whose vtable names class `cls` */
};

typedef struct lw_heap_group {
	int kind;                /* enum lw_heap_group_kind */
	lw_site site;            /* SITE: the model site; others: id = group index */
	const char *label;       /* "function (file.c:12)", "unsampled 33..64 B" or
	                          * "Foo (unsampled, class from vtable)" */
	const char *cls;         /* CLASS: demangled class name ("ns::Foo"); else NULL */
	uint64_t size_lo, size_hi;  /* UNSAMPLED: size class bounds (inclusive);
	                             * CLASS: smallest and largest block size */
	double inuse_bytes, inuse_objects;  /* SITE: unbiased estimate (COUNTERS) */
	uint32_t n_blocks;       /* heap blocks of this group in the graph */
	uint64_t bytes;
	uint32_t n_reachable;
	uint64_t reachable_bytes;
	uint32_t n_def_lost, n_ind_lost;
	uint64_t def_lost_bytes, ind_lost_bytes;
	uint64_t retained;       /* union of the dominator subtrees of its blocks */
} lw_heap_group;

typedef struct lw_heap_root {
	uint32_t kind;           /* enum lwd_root_kind */
	const char *label;       /* "g_sessions (app)", "thread 12 stack", ... */
	const char *symbol;      /* GLOBAL: demangled symbol or NULL */
	const char *module;      /* GLOBAL: module basename; else NULL */
	uint32_t tid;            /* every kind but GLOBAL: thread id */
	uint32_t n_refs;         /* root words in this node */
	uint64_t retained;       /* bytes its dominator subtree holds */
} lw_heap_root;

typedef struct lw_heap {
	const char *path;
	lw_file *file;
	lw_graph *dg;            /* decoded graph (lwd_graph.h) */
	lw_sym_session *sym;
	lw_graph_csr csr;        /* nodes: super-root, root nodes, blocks */
	lw_graph_analysis an;
	size_t n_groups;
	lw_heap_group *groups;
	uint32_t *block_group;   /* [n_blocks] index into groups */
	size_t n_roots;
	lw_heap_root *roots;     /* root node r is csr node LW_GRAPH_ROOT(r) */
	uint64_t total_bytes, reachable_bytes;
	uint32_t n_def_lost, n_ind_lost;
	uint64_t def_lost_bytes, ind_lost_bytes;
	double seconds_load, seconds_symbols, seconds_analyze;
	size_t n_wrappers;       /* wrappers the model folded (model.h), sorted */
	const char *const *wrappers;
	void *priv_;
} lw_heap;

/* Opens and analyzes the dump at path, which must be loaded in m's store.
 * progress (may be NULL) is called with (done, LW_HEAP_STEPS, arg) after
 * each stage (read, decode, group, roots, BFS, dominators, retained, lost)
 * so a command can draw a progress bar. Returns 0; -ENOENT if the file has
 * no heap graph (a snapshot, or a dump whose walker did not run) or is not
 * in the store; another negative errno on error. err always gets a
 * one-line reason on failure. */
#define LW_HEAP_STEPS 8
typedef void (*lw_heap_progress_fn)(size_t done, size_t total, void *arg);
int lw_heap_open(lw_model *m, const char *path, lw_heap_progress_fn progress, void *arg,
		 lw_heap **out, char *err, size_t errlen);
void lw_heap_free(lw_heap *h);

/* Groups whose site has a frame label matching `re`, or whose label matches
 * (so "unsampled" selects the size classes and the class groups, "Foo"
 * selects the class group of Foo). Fills sel[n_groups] with 0/1 and
 * returns how many matched. */
size_t lw_heap_select(const lw_heap *h, const lw_regex *re, uint8_t *sel);
/* The SITE group with the largest estimated inuse bytes among those with
 * blocks in the graph (ties: most bytes in the graph), or -1 if none. */
long lw_heap_default_site(const lw_heap *h);

/* The SITE group of a model site (by id), or -1 when the dump has no block
 * of it. */
long lw_heap_find_site(const lw_heap *h, const lw_site *site);
/* `leakwatch top --retained`: the retained bytes of a model site, or -1
 * when the dump has no block of it. Matches lw_top_retained_fn (report.h);
 * arg is the lw_heap. */
double lw_heap_site_retained(const lw_site *site, void *arg);

/* ---- retainer graph ------------------------------------------------------ */
/* Aggregated nodes: ids 0..n_groups-1 are groups, n_groups + r is root r. */
typedef struct lw_ret_node {
	uint32_t id;             /* aggregated id (group or n_groups + root) */
	uint32_t n_blocks;       /* group blocks on the retainer paths (0 for roots) */
	uint64_t bytes;
	int target;              /* a selected group */
} lw_ret_node;

typedef struct lw_ret_edge {
	uint32_t from, to;       /* aggregated ids */
	uint32_t pointers;       /* shortest-path-tree edges between them */
	uint64_t bytes;          /* bytes of the blocks those edges reach */
} lw_ret_edge;

typedef struct lw_ret_path {
	uint32_t n_steps;
	uint32_t *steps;         /* aggregated ids, root first, target group last */
	uint32_t n_blocks;       /* target blocks retained along this path */
	uint64_t bytes;
} lw_ret_path;

typedef struct lw_retainers {
	uint32_t n_targets;      /* reachable blocks of the selected groups */
	uint64_t target_bytes;
	size_t n_paths;          /* all distinct aggregated paths */
	lw_ret_path *paths;      /* ranked by bytes, then blocks */
	size_t n_nodes;
	lw_ret_node *nodes;      /* nodes on the kept paths */
	size_t n_edges;
	lw_ret_edge *edges;      /* edges between kept nodes, by bytes */
	size_t n_kept_paths;     /* the first n_kept_paths paths made nodes/edges */
	/* Roots that reach the selected blocks at all, most blocks first
	 * (graph_paths.h); root index r is aggregated id n_groups + r. */
	size_t n_reach;
	lw_root_reach *reach;
	int reach_complete;      /* 0: search budget hit, counts cover the first roots */
} lw_retainers;

/* Budget of the reach search: roots searched, edge visits in all. */
#define LW_RET_REACH_ROOTS 64
#define LW_RET_REACH_WORK (UINT64_C(400) * 1000 * 1000)

/* Builds the retainer graph of the groups with sel[g] != 0, keeping the
 * `max_paths` heaviest aggregated paths (0 = all) for nodes and edges.
 * Returns 0 or -ENOMEM. */
int lw_heap_retainers(const lw_heap *h, const uint8_t *sel, size_t max_paths,
		      lw_retainers *out);
void lw_retainers_free(lw_retainers *r);
/* The node of aggregated id `id` on the kept paths, or NULL. */
const lw_ret_node *lw_retainers_node(const lw_retainers *r, uint32_t id);

/* Label of an aggregated id. */
const char *lw_heap_node_label(const lw_heap *h, uint32_t id);
/* Retained bytes of an aggregated id (group retained or root retained). */
uint64_t lw_heap_node_retained(const lw_heap *h, uint32_t id);

#endif
