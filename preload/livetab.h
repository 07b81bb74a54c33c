/* livetab.h — the table of live SAMPLED blocks.
 *
 * Every sampled block that has not been freed has one entry (address,
 * requested size, stack id, allocating tid, CLOCK_MONOTONIC time of the
 * allocation, weight). Storage: LW_LIVE_STRIPES independent open-addressing
 * hash tables (linear probing, backward-shift deletion, grown by rehash at
 * load 1/2) of 32-byte slots in lw_mem_map memory, each behind its own
 * small futex lock (livetab.c). The weight is not stored: entries handed
 * out carry lw_sampler_weight(size, lw_cfg.rate), the weight the sample was
 * taken with (the rate is fixed before the first sample).
 *
 * Two saturating counting filters in .bss tell `free` whether a block may
 * be sampled (counter = number of live entries mapped to it; 255 =
 * saturated, then never decremented):
 *   lw_live_pages   one counter per 4 KiB page of address space, indexed
 *                   linearly within 1 GiB windows (the window number is
 *                   XORed in, which keeps neighbouring pages in one cache
 *                   line): `free` reads one byte that is usually in cache,
 *                   because a program frees near where it allocates and one
 *                   line covers 256 KiB of heap. The hashed filter it
 *                   replaced was one cache miss per free on programs that
 *                   free at random (bench/churn.c). At the default rate a
 *                   page holds a live sampled block for about 1 free in 128.
 *   lw_live_filter  one counter per hash of the block address: checked
 *                   (without a lock) only when the page counter is set,
 *                   before the stripe lock is taken. Not kept at
 *                   LEAKWATCH_RATE=1, where every block is sampled.
 * The stripe of an entry is the low 6 bits of its page index, and the
 * block filter's index starts with the stripe, so every counter of either
 * filter belongs to exactly one stripe and is written only under its lock.
 * A counter only becomes non-zero for a block after its entry is inserted,
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
#define LW_LIVE_PAGE_SHIFT 12         /* page filter granule: 4 KiB */
#define LW_LIVE_PAGE_BITS 18          /* 2^18 pages = 1 GiB windows, 256 KiB of counters */
#define LW_LIVE_FILTER_BITS 18        /* block filter: 64 stripes x 4096 counters */

struct lw_live {
	uint64_t addr;        /* 0 = empty slot */
	uint64_t size;        /* requested bytes */
	uint64_t mono_ns;     /* CLOCK_MONOTONIC at allocation, at tick resolution
				 (lw_now_mono_coarse: may precede the run's
				 start time by up to one tick) */
	double weight;        /* objects this sample stands for */
	uint32_t stack;       /* stacktab id */
	uint32_t tid;
};

extern _Atomic uint8_t lw_live_pages[1u << LW_LIVE_PAGE_BITS];
extern _Atomic uint8_t lw_live_filter[1u << LW_LIVE_FILTER_BITS];

static inline uint32_t lw_live_page_index(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	return (uint32_t)(((a >> LW_LIVE_PAGE_SHIFT) ^ (a >> (LW_LIVE_PAGE_SHIFT + LW_LIVE_PAGE_BITS))) &
			  ((1u << LW_LIVE_PAGE_BITS) - 1));
}

/* The free path's check, one load: non-zero if p may be a live sampled
 * block (the page filter; lw_livetab_remove then checks the block filter). */
static inline int lw_livetab_maybe(const void *p)
{
	return atomic_load_explicit(&lw_live_pages[lw_live_page_index(p)],
				    memory_order_relaxed) != 0;
}

/* The block filter alone (tests; lw_livetab_remove uses it internally). */
int lw_livetab_maybe_block(const void *p);

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

/* Invariant walker (LW_ASSERT_EXPENSIVE and tests): takes every stripe
 * lock and checks every stripe's slots, count and probe chains and both
 * filters against the entries (file header of livetab.c). 0 when sound,
 * else a negative code naming the broken invariant (LW_LIVE_BAD_*). O(slots
 * + 2^18); maps 2 MiB of scratch (-ENOMEM when it cannot). */
enum {
	LW_LIVE_BAD_LOAD = -1,     /* n > stripe_cap/2, or slots without a mapping */
	LW_LIVE_BAD_COUNT = -2,    /* occupied slots != n */
	LW_LIVE_BAD_STRIPE = -3,   /* an entry in a stripe its address does not map to */
	LW_LIVE_BAD_CHAIN = -4,    /* an empty slot between an entry and its home */
	LW_LIVE_BAD_DUP = -5,      /* one address twice in a chain */
	LW_LIVE_BAD_PAGE = -6,     /* page filter counter != its entries (unsaturated) */
	LW_LIVE_BAD_BLOCK = -7,    /* block filter counter != its entries (unsaturated) */
};
int lw_livetab_check(void);

void lw_livetab_lock_all(void);     /* fork prepare: stripes 0..N-1 */
void lw_livetab_unlock_all(void);   /* fork parent */
void lw_livetab_reinit(void);       /* fork child */

#endif /* LW_LIVETAB_H */
