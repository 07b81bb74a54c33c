/* livetab.h — the table of live SAMPLED blocks.
 *
 * Every sampled block that has not been freed has one entry (address,
 * requested size, stack id, allocating tid, CLOCK_MONOTONIC time of the
 * allocation, weight). Storage: LW_LIVE_STRIPES independent open-addressing
 * hash tables (linear probing, backward-shift deletion, grown by rehash at
 * load 1/2) in lw_mem_map memory, each behind its own small futex lock
 * (livetab.c); the stripe is the top 6 bits of a multiplicative hash of the
 * address, the same hash whose top LW_LIVE_FILTER_BITS bits index the filter,
 * so each filter counter is owned by one stripe.
 *
 * The address filter: lw_live_filter is a 2^18-entry saturating counting
 * filter in .bss: counter[h(addr)] = number of live entries hashing there
 * (255 = saturated, then never decremented). `free` reads one byte; only a
 * non-zero counter sends it to lw_livetab_remove (which locks a stripe). A
 * counter only becomes non-zero for a block after its entry is inserted,
 * before malloc returns it, so a free of a sampled block always sees it.
 * Entries are removed BEFORE the block is given back to mimalloc, so an
 * address reused by another thread can never meet a stale entry.
 *
 * Locks: stripe locks, taken one at a time by the allocation paths; the
 * fork prepare handler takes all of them in index order (fork.h).
 */
#ifndef LW_LIVETAB_H
#define LW_LIVETAB_H

#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>

#define LW_LIVE_STRIPES 64
#define LW_LIVE_FILTER_BITS 18

struct lw_live {
	uint64_t addr;        /* 0 = empty slot */
	uint64_t size;        /* requested bytes */
	uint64_t mono_ns;     /* CLOCK_MONOTONIC at allocation */
	double weight;        /* objects this sample stands for */
	uint32_t stack;       /* stacktab id */
	uint32_t tid;
};

extern _Atomic uint8_t lw_live_filter[1u << LW_LIVE_FILTER_BITS];

static inline uint32_t lw_live_filter_index(const void *p)
{
	return (uint32_t)((((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ull) >> (64 - LW_LIVE_FILTER_BITS));
}

/* One load: non-zero if p may be a live sampled block. */
static inline int lw_livetab_maybe(const void *p)
{
	return atomic_load_explicit(&lw_live_filter[lw_live_filter_index(p)],
				    memory_order_relaxed) != 0;
}

/* Inserts e. Returns 1 and copies the previous entry into *old if the address
 * was already present (a block freed without the shim seeing it: the caller
 * accounts it as freed), 0 if new, -ENOMEM if the table could not grow. */
int lw_livetab_insert(const struct lw_live *e, struct lw_live *old);
/* Hint: starts loading the slot where addr's entry would go (no lock, never
 * faults; a concurrent resize only makes the hint useless). Call it early,
 * e.g. before unwinding, so that the insert finds the line in cache. */
void lw_livetab_prefetch(uint64_t addr);
/* Removes the entry for addr; returns 1 and fills *out if it existed. */
int lw_livetab_remove(uint64_t addr, struct lw_live *out);

/* Approximate number of entries (no locks). */
size_t lw_livetab_count(void);
/* Copies entries into dst (at most cap), locking one stripe at a time.
 * Returns the total number of entries seen: if > cap, only cap were copied. */
size_t lw_livetab_copy(struct lw_live *dst, size_t cap);
/* Calls fn for every entry WITHOUT locks: only in a single-threaded forked
 * child whose parent held every stripe lock at fork time. */
void lw_livetab_foreach(void (*fn)(void *arg, const struct lw_live *e), void *arg);

void lw_livetab_lock_all(void);     /* fork prepare: stripes 0..N-1 */
void lw_livetab_unlock_all(void);   /* fork parent */
void lw_livetab_reinit(void);       /* fork child */

#endif /* LW_LIVETAB_H */
