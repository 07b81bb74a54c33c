/* lwd_graph.h — encode and decode the heap-graph sections of a dump
 * (THREADS, HEAP_BLOCKS, ROOTS, HEAP_EDGES and the optional HEAP_TYPES;
 * include/lwd_format.h, "Heap
 * graph"; docs/FORMAT.md, "Heap graph sections").
 *
 *   Encoder (lw_writer_put_*): one call per record into a section opened with
 *   lw_writer_section_begin. No allocation, no stdio: used by the forked dump
 *   child (preload/heapgraph.c). HEAP_EDGES is streamed: open it with count 0,
 *   put the edges, then lw_graph_edges_end() stores the real count and closes
 *   the section.
 *
 *   Decoder (lw_graph_decode): turns the raw sections of a parsed file
 *   (lw_file_section) into arrays with CSR adjacency. Every index, count,
 *   length, order and flag is validated before use; a hostile file yields
 *   LWD_EFORMAT and a one-line message naming the section and record, never a
 *   crash. Allocates with malloc; used by the analyzer (analyze/graph.c,
 *   cmd_retainers.c), the tests and the fuzz target.
 *
 * Node numbering used by the analyzer: blocks are 0..n_blocks-1 in address
 * order; roots are separate records that each point to one block.
 */
#ifndef LWD_GRAPH_H
#define LWD_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "lwd.h"

/* ---- Decoded form ------------------------------------------------------- */

typedef struct lw_graph_thread {
	uint32_t tid, flags;         /* LWD_THREADF_* */
	uint64_t stack_start, stack_end, sp;   /* stack_start <= stack_end */
	uint32_t n_regs;             /* <= LWD_MAX_REGS */
	uint64_t regs[LWD_MAX_REGS]; /* n_regs valid; non-heap values are 0 */
} lw_graph_thread;

typedef struct lw_graph_block {
	uint64_t addr, size;         /* sorted by addr, non-overlapping, size > 0 */
	uint32_t live;               /* index into f->live, or LWD_NONE */
	uint32_t stack;              /* index into f->stacks, or LWD_NONE; equals
	                              * f->live[live].stack when live != LWD_NONE */
} lw_graph_block;

typedef struct lw_graph_root {
	uint32_t kind;               /* enum lwd_root_kind */
	uint32_t owner;              /* GLOBAL: < f->n_modules; else < n_threads */
	uint64_t addr;               /* word address; REGISTER: register number < n_regs */
	uint32_t block;              /* < n_blocks */
	uint32_t flags;              /* LWD_ROOTF_* */
} lw_graph_root;

/* A type hint (optional HEAP_TYPES section): the block's first word holds
 * `addr`, an address inside a loaded module (e.g. a C++ vtable pointer). */
typedef struct lw_graph_type {
	uint32_t block;              /* < n_blocks; strictly increasing */
	uint64_t addr;
} lw_graph_type;

typedef struct lw_graph {
	size_t n_threads;  lw_graph_thread *threads;
	size_t n_blocks;   lw_graph_block *blocks;
	size_t n_roots;    lw_graph_root *roots;   /* sorted by (kind, owner, addr) */
	/* Out-edges in CSR form: block b points to out_to[out_start[b] ..
	 * out_start[b+1]-1], each list sorted ascending and without repeats
	 * (repeats in the file are removed). out_start has n_blocks+1 entries. */
	uint64_t n_edges;
	uint64_t *out_start;
	uint32_t *out_to;
	uint64_t total_bytes;        /* sum of block sizes */
	size_t n_types;    lw_graph_type *types;   /* 0 / NULL without HEAP_TYPES */
	void *priv_;
} lw_graph;

/* Decodes the graph of a parsed dump. Returns 0 and sets *out (free with
 * lw_graph_free); -ENOENT when the file has no graph sections (a snapshot, or
 * a dump whose heap walker refused to run: all other data is still valid);
 * LWD_EFORMAT with a message in err when the sections are inconsistent (only
 * some present, bad length, index out of range, blocks unsorted or
 * overlapping, unknown root kind or flag, a root kind newer than the file's
 * format minor, ...); LWD_EVERSION for a root kind this reader does not know
 * in a file of a newer minor; -ENOMEM. */
int lw_graph_decode(const lw_file *f, lw_graph **out, char *err, size_t errlen);
void lw_graph_free(lw_graph *g);

/* Index of the block containing addr (start or interior), or LWD_NONE.
 * Binary search; O(log n_blocks). */
uint32_t lw_graph_block_at(const lw_graph *g, uint64_t addr);

/* ---- Encoder ------------------------------------------------------------ */
/* Each writes one record into the open section of the matching type.
 * Safe in a forked child: no allocation, no locks. */
typedef struct lw_thread_info {
	uint32_t tid, flags;
	uint64_t stack_start, stack_end, sp;
	uint32_t n_regs;
	const uint64_t *regs;        /* n_regs values, already masked (see format) */
} lw_thread_info;

int lw_writer_put_thread(lw_writer *w, const lw_thread_info *t);
int lw_writer_put_heap_block(lw_writer *w, uint64_t addr, uint64_t size,
			     uint32_t live, uint32_t stack);
int lw_writer_put_root(lw_writer *w, uint32_t kind, uint32_t owner, uint64_t addr,
		       uint32_t block, uint32_t flags);
int lw_writer_put_edge(lw_writer *w, uint32_t from, uint32_t to);
/* One HEAP_TYPES record (section opened with LWD_SECF_OPTIONAL). */
int lw_writer_put_heap_type(lw_writer *w, uint32_t block, uint64_t addr);
/* Closes a HEAP_EDGES section opened with count 0, storing n_edges as its
 * record count. Equivalent to lw_writer_section_end otherwise. */
int lw_graph_edges_end(lw_writer *w, uint32_t n_edges);

#endif /* LWD_GRAPH_H */
