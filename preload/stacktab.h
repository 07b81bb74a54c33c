/* stacktab.h — the table of distinct sampled stacks and their counters.
 *
 * Stacks are deduplicated by content into an append-only table in private
 * mmap'd memory (lw_mem_map: never the program heap, so a heap scan never
 * sees shim data). A stack's id is its index, small and stable for the life
 * of the process (and inherited by forked children). An entry's pcs never
 * change after it is published; its counters are atomics.
 *
 * Lookup of an existing stack is lock-free (readers probe an open-addressing
 * index whose pointer is published with release order; an index that is
 * replaced by a larger one is never unmapped, so a reader holding the old
 * pointer stays safe). Inserting takes stacktab_lock (second in the fork lock
 * order) and publishes the new count with release order: every id below
 * lw_stacktab_count() refers to a complete entry.
 *
 * Counters: alloc/free sample counts and requested bytes (u64 atomics) and
 * the unbiased estimates, kept as the counts plus a double "excess" that is
 * only updated (compare-and-swap) for samples of weight != 1; at
 * LEAKWATCH_RATE=1 an update is two integer fetch-adds. Counters live apart
 * from the lookup keys, in a few per-thread-shard cache lines per stack that
 * lw_stacktab_counts sums (stacktab.c).
 */
#ifndef LW_STACKTAB_H
#define LW_STACKTAB_H

#include <stdint.h>

#define LW_STACK_NONE 0xffffffffu

/* Returns the id of the stack (inserting it if new), or LW_STACK_NONE when
 * out of memory. Call with the reentrancy guard held. */
uint32_t lw_stacktab_intern(const uint64_t *pcs, uint32_t depth, uint32_t flags);

/* Accounts one sampled allocation / free of `size` bytes with weight w. */
void lw_stacktab_count_alloc(uint32_t id, uint64_t size, double w);
void lw_stacktab_count_free(uint32_t id, uint64_t size, double w);

/* Number of published stacks (acquire). */
uint32_t lw_stacktab_count(void);

/* Read access to a published entry (id < lw_stacktab_count()). */
struct lw_stack_counts {
	uint64_t alloc_samples, alloc_sample_bytes, free_samples, free_sample_bytes;
	double alloc_objects_est, alloc_bytes_est, free_objects_est, free_bytes_est;
};
const uint64_t *lw_stacktab_pcs(uint32_t id, uint32_t *depth, uint32_t *flags);
void lw_stacktab_counts(uint32_t id, struct lw_stack_counts *out);

/* Calls fn for every published stack, in id order. Takes no lock: safe in a
 * forked child and concurrently with inserts (sees a prefix). */
void lw_stacktab_foreach(void (*fn)(void *arg, uint32_t id, const uint64_t *pcs,
				    uint32_t depth, uint32_t flags),
			 void *arg);

/* Invariant walker (LW_ASSERT_EXPENSIVE and tests), under the insert lock:
 * every published entry complete, its hash its content's, found by the
 * index under its own id (so no two entries are equal); the index holds
 * exactly the published ids at load <= 1/2. 0 when sound, else a negative
 * code naming the broken invariant (LW_STACK_BAD_*). O(stacks + index). */
enum {
	LW_STACK_BAD_ENTRY = -1,   /* a missing chunk, or no pcs, or depth too big */
	LW_STACK_BAD_HASH = -2,    /* stored hash != hash of the stored pcs */
	LW_STACK_BAD_INDEX = -3,   /* the index does not lead to the entry's own id */
	LW_STACK_BAD_SLOTS = -4,   /* index slots != published ids, or load > 1/2 */
};
int lw_stacktab_check(void);

void lw_stacktab_lock(void);     /* fork prepare */
void lw_stacktab_unlock(void);   /* fork parent */
void lw_stacktab_reinit(void);   /* fork child */

#endif /* LW_STACKTAB_H */
