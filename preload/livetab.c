/* livetab.c — striped open-addressing table of live sampled blocks and the
 * two free-path filters (see livetab.h).
 *
 * Storage: one mapping holds every stripe's table, LW_LIVE_STRIPES runs of
 * stripe_cap slots (the same for all). A stripe that would pass load 1/2
 * grows them all: the inserting thread drops its stripe lock, takes every
 * stripe lock in index order (the fork order, fork.h), rehashes into a
 * mapping twice the size and publishes it. With uniform hashing the
 * stripes fill alike, so this costs what per-stripe growth cost, and one
 * mapping can use transparent huge pages once it is large
 * (lw_mem_map_huge): at LEAKWATCH_RATE=1 the table is tens of MiB read at
 * random, and with 4 KiB pages a third of the table's time went to TLB
 * misses on this project's VMs.
 * Invariants per stripe: n <= stripe_cap/2; slots with addr == 0 are empty;
 * every entry is reachable from its home slot without crossing an empty slot
 * (maintained by backward-shift deletion). For either filter, counter[i] >=
 * the number of entries mapped to i, exactly equal unless saturated (255).
 * Locks: stripe[i].lock guards stripe i's slots and n and the filter
 * counters that belong to stripe i (the stripe is the low 6 bits of the
 * page index; the block filter index is stripe:12 hash bits), so counters
 * are written with plain relaxed load/store under that lock (no
 * read-modify-write atomics) and read lock-free by `free`. stripe_cap, the
 * mapping and every stripe's slots pointer change only under all stripe
 * locks, so any one of them keeps them stable.
 * The stripe lock is a small futex lock (0 free, 1 held, 2 held with
 * waiters): acquire is one compare-and-swap when free, a bounded spin, then
 * FUTEX_WAIT; release is one exchange (+ FUTEX_WAKE only when contended). It
 * is cheaper than pthread_mutex_t on the sampled paths (inlined, no type
 * dispatch) and stays fork-safe the same way: lw_livetab_lock_all takes
 * stripes 0..N-1 in order, a child re-initialises them all to 0.
 * Hot path: lw_livetab_maybe (inline, one relaxed byte load) on every free;
 * at LEAKWATCH_RATE=1 every allocation inserts and every free removes.
 * lw_livetab_check walks all of the above (after every growth under
 * LW_ASSERT_EXPENSIVE, and from the tests).
 */
#include "livetab.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lw_assert.h"
#include "sampler.h"
#include "util.h"

_Atomic uint8_t lw_live_pages[1u << LW_LIVE_PAGE_BITS];
_Atomic uint8_t lw_live_filter[1u << LW_LIVE_FILTER_BITS];

/* A table slot: struct lw_live without the weight, which is a function of
 * the size and the process's rate (computed when an entry is handed out).
 * 32 bytes: two slots per cache line, none across a line boundary. */
struct slot {
	uint64_t addr;           /* 0 = empty */
	uint64_t size;
	uint64_t mono_ns;
	uint32_t stack;
	uint32_t tid;
};

_Static_assert(sizeof(struct slot) == 32, "two slots per cache line");

struct stripe {
	_Atomic uint32_t lock;   /* 0 free, 1 held, 2 held and maybe waiters */
	uint32_t n;
	struct slot *slots;      /* stripe_cap slots inside the mapping */
} __attribute__((aligned(64)));

static struct slot to_slot(const struct lw_live *e)
{
	return (struct slot){ .addr = e->addr, .size = e->size, .mono_ns = e->mono_ns,
			      .stack = e->stack, .tid = e->tid };
}

static struct lw_live to_live(const struct slot *e)
{
	return (struct lw_live){ .addr = e->addr, .size = e->size, .mono_ns = e->mono_ns,
				 .weight = lw_sampler_weight(e->size, lw_cfg.rate),
				 .stack = e->stack, .tid = e->tid };
}

#define LW_LIVE_STRIPE_BITS 6
#define LW_LIVE_BLOCK_HASH_BITS (LW_LIVE_FILTER_BITS - LW_LIVE_STRIPE_BITS)
_Static_assert(LW_LIVE_STRIPES == 1 << LW_LIVE_STRIPE_BITS && LW_LIVE_FILTER_BITS > LW_LIVE_STRIPE_BITS,
	       "the block filter index is stripe:hash");

static struct stripe stripes[LW_LIVE_STRIPES];
static uint32_t stripe_cap;      /* slots per stripe; 0 = no mapping yet */
static struct slot *mapping;     /* LW_LIVE_STRIPES * stripe_cap slots */
static size_t mapping_len;

#define LW_LIVE_FIRST_CAP 256u   /* 512 KiB in all, touched lazily */

#define LW_LIVE_SPIN 128

static void stripe_lock_slow(_Atomic uint32_t *l)
{
	for (int i = 0; i < LW_LIVE_SPIN; i++) {
		__builtin_ia32_pause();
		uint32_t v = 0;
		if (atomic_load_explicit(l, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_weak_explicit(l, &v, 1, memory_order_acquire,
							  memory_order_relaxed))
			return;
	}
	/* Mark contended; sleep while someone else holds it. */
	while (atomic_exchange_explicit(l, 2, memory_order_acquire) != 0)
		syscall(SYS_futex, l, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
}

static inline void stripe_lock(struct stripe *s)
{
	uint32_t v = 0;
	if (LW_UNLIKELY(!atomic_compare_exchange_strong_explicit(&s->lock, &v, 1,
								 memory_order_acquire,
								 memory_order_relaxed)))
		stripe_lock_slow(&s->lock);
}

static inline void stripe_unlock(struct stripe *s)
{
	if (LW_UNLIKELY(atomic_exchange_explicit(&s->lock, 0, memory_order_release) == 2))
		syscall(SYS_futex, &s->lock, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static uint64_t addr_hash(uint64_t addr)
{
	return (addr >> 4) * 0x9e3779b97f4a7c15ull;
}

/* Where an address lives: computed once per operation. */
struct where {
	uint64_t h;              /* address hash: home slot, block filter */
	struct stripe *s;
	_Atomic uint8_t *page;   /* its page filter counter */
	_Atomic uint8_t *block;  /* its block filter counter */
};

static inline struct where where_of(uint64_t addr)
{
	struct where w;
	uint32_t page = lw_live_page_index((const void *)(uintptr_t)addr);
	uint32_t stripe = page & (LW_LIVE_STRIPES - 1);
	w.h = addr_hash(addr);
	w.s = &stripes[stripe];
	w.page = &lw_live_pages[page];
	w.block = &lw_live_filter[stripe << LW_LIVE_BLOCK_HASH_BITS |
				  (uint32_t)(w.h >> (64 - LW_LIVE_BLOCK_HASH_BITS))];
	return w;
}

static uint32_t home(uint64_t h)
{
	return (uint32_t)(h >> 20) & (stripe_cap - 1);
}

/* Under the lock of the stripe that owns the counter (see the file header). */
static void counter_inc(_Atomic uint8_t *c)
{
	uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
	if (v != 255)
		atomic_store_explicit(c, (uint8_t)(v + 1), memory_order_release);
}

static void counter_dec(_Atomic uint8_t *c)
{
	uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
	if (v != 255 && v != 0)
		atomic_store_explicit(c, (uint8_t)(v - 1), memory_order_relaxed);
}

/* At LEAKWATCH_RATE=1 every block is sampled, so the block filter could
 * only ever say yes: it is neither kept nor read (one cache miss less per
 * insert and per free). The rate is fixed before the first sample. */
static inline int block_filter_on(void)
{
	return lw_cfg.rate > 1;
}

int lw_livetab_maybe_block(const void *p)
{
	struct where w = where_of((uint64_t)(uintptr_t)p);
	return atomic_load_explicit(w.block, memory_order_relaxed) != 0;
}

static void place(struct slot *slots, uint32_t c, const struct slot *e)
{
	uint32_t i = (uint32_t)(addr_hash(e->addr) >> 20) & (c - 1);
	while (slots[i].addr != 0)
		i = (i + 1) & (c - 1);
	slots[i] = *e;
}

static int check_locked(void);

/* Doubles every stripe (or creates the first mapping) unless another
 * thread already grew past `seen`. Called with no shim lock held; takes
 * every stripe lock. A grown mapping is filled at once (the rehash, then
 * more entries), so it is faulted in when it is mapped; the first one is
 * touched lazily: at the default rate a stripe holds a handful of entries. */
static int grow(uint32_t seen)
{
	int rc = 0;
	lw_livetab_lock_all();
	if (stripe_cap == seen) {
		uint32_t ncap = seen ? seen * 2 : LW_LIVE_FIRST_CAP;
		size_t len = (size_t)LW_LIVE_STRIPES * ncap * sizeof(struct slot);
		struct slot *m = seen ? lw_mem_map_huge(len) : lw_mem_map(len);
		if (m == NULL) {
			rc = -ENOMEM;
		} else {
			for (int k = 0; k < LW_LIVE_STRIPES; k++) {
				struct slot *to = m + (size_t)k * ncap;
				for (uint32_t i = 0; i < seen; i++)
					if (stripes[k].slots[i].addr != 0)
						place(to, ncap, &stripes[k].slots[i]);
				/* read racily by the prefetch */
				__atomic_store_n(&stripes[k].slots, to, __ATOMIC_RELAXED);
			}
			lw_mem_unmap(mapping, mapping_len);
			mapping = m;
			mapping_len = len;
			__atomic_store_n(&stripe_cap, ncap, __ATOMIC_RELAXED);
		}
	}
	LW_ASSERT_EXPENSIVE(check_locked() == 0);
	lw_livetab_unlock_all();
	return rc;
}

/* Locks s with room for one more entry in it (growing every stripe when
 * needed); 0, or -ENOMEM with nothing locked. */
static int lock_with_room(struct stripe *s)
{
	for (;;) {
		stripe_lock(s);
		uint32_t c = stripe_cap;
		if (c != 0 && (s->n + 1) * 2 <= c)
			return 0;
		stripe_unlock(s);
		if (grow(c) != 0)
			return -ENOMEM;
	}
}

int lw_livetab_insert(const struct lw_live *e, struct lw_live *old)
{
	struct where w = where_of(e->addr);
	struct stripe *s = w.s;
	int ret;
	if (lock_with_room(s) != 0)
		return -ENOMEM;
	uint32_t i = home(w.h);
	while (s->slots[i].addr != 0) {
		if (s->slots[i].addr == e->addr) {
			*old = to_live(&s->slots[i]);
			s->slots[i] = to_slot(e);
			ret = 1;
			goto out;
		}
		i = (i + 1) & (stripe_cap - 1);
	}
	s->slots[i] = to_slot(e);
	s->n++;
	counter_inc(w.page);
	if (block_filter_on())
		counter_inc(w.block);
	ret = 0;
out:
	stripe_unlock(s);
	return ret;
}

/* Starts loading the home slot. Racy by design: slots and stripe_cap are
 * re-read under the lock; a concurrent resize only makes the hint useless. */
static inline void prefetch_home(const struct where *w)
{
	struct slot *slots = __atomic_load_n(&w->s->slots, __ATOMIC_RELAXED);
	uint32_t c = __atomic_load_n(&stripe_cap, __ATOMIC_RELAXED);
	if (slots != NULL && c != 0)
		__builtin_prefetch(&slots[(uint32_t)(w->h >> 20) & (c - 1)], 1, 3);
}

void lw_livetab_prefetch(uint64_t addr)
{
	struct where w = where_of(addr);
	prefetch_home(&w);
	if (block_filter_on())
		__builtin_prefetch(w.block, 1, 3);
	__builtin_prefetch(w.page, 1, 3);
}

int lw_livetab_remove(uint64_t addr, struct lw_live *out)
{
	struct where w = where_of(addr);
	struct stripe *s = w.s;
	int found = 0;
	/* The block filter, without the lock: zero means no entry (see
	 * livetab.h); this is where most page-filter hits end. */
	if (block_filter_on() && atomic_load_explicit(w.block, memory_order_relaxed) == 0)
		return 0;
	prefetch_home(&w);   /* overlap the slot's miss with the lock */
	stripe_lock(s);
	if (stripe_cap == 0)
		goto out;
	uint32_t mask = stripe_cap - 1, i = home(w.h);
	while (s->slots[i].addr != 0 && s->slots[i].addr != addr)
		i = (i + 1) & mask;
	if (s->slots[i].addr == 0)
		goto out;
	*out = to_live(&s->slots[i]);
	found = 1;
	/* backward-shift deletion */
	uint32_t hole = i;
	for (uint32_t j = (i + 1) & mask; s->slots[j].addr != 0; j = (j + 1) & mask) {
		uint32_t hj = (uint32_t)(addr_hash(s->slots[j].addr) >> 20) & mask;
		/* can slot j move to the hole? only if its home is not in (hole, j] */
		if (((j - hj) & mask) >= ((j - hole) & mask)) {
			s->slots[hole] = s->slots[j];
			hole = j;
		}
	}
	s->slots[hole].addr = 0;
	s->n--;
	counter_dec(w.page);
	if (block_filter_on())
		counter_dec(w.block);
out:
	stripe_unlock(s);
	return found;
}

size_t lw_livetab_count(void)
{
	size_t n = 0;
	for (int i = 0; i < LW_LIVE_STRIPES; i++)
		n += __atomic_load_n(&stripes[i].n, __ATOMIC_RELAXED);
	return n;
}

size_t lw_livetab_copy(struct lw_live *dst, size_t cap)
{
	size_t total = 0;
	for (int k = 0; k < LW_LIVE_STRIPES; k++) {
		struct stripe *s = &stripes[k];
		stripe_lock(s);
		for (uint32_t i = 0; i < stripe_cap; i++) {
			if (s->slots[i].addr == 0)
				continue;
			if (total < cap)
				dst[total] = to_live(&s->slots[i]);
			total++;
		}
		stripe_unlock(s);
	}
	return total;
}

void lw_livetab_foreach(void (*fn)(void *arg, const struct lw_live *e), void *arg)
{
	for (int k = 0; k < LW_LIVE_STRIPES; k++) {
		struct stripe *s = &stripes[k];
		for (uint32_t i = 0; i < stripe_cap; i++)
			if (s->slots[i].addr != 0) {
				struct lw_live e = to_live(&s->slots[i]);
				fn(arg, &e);
			}
	}
}

/* ---- invariant walker ---------------------------------------------------- */

/* Entries per filter counter, recomputed from the slots, against the
 * counters: equal, or the counter is saturated (255, then never lowered). */
static int filter_matches(_Atomic uint8_t *counters, const uint32_t *want, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint8_t v = atomic_load_explicit(&counters[i], memory_order_relaxed);
		if (v != 255 && v != want[i])
			return 0;
	}
	return 1;
}

/* Under every stripe lock. */
static int check_locked(void)
{
	if (stripe_cap == 0) {
		for (int k = 0; k < LW_LIVE_STRIPES; k++)
			if (stripes[k].n != 0 || stripes[k].slots != NULL)
				return LW_LIVE_BAD_LOAD;
	}
	size_t npages = (size_t)1 << LW_LIVE_PAGE_BITS, nblocks = (size_t)1 << LW_LIVE_FILTER_BITS;
	size_t len = (npages + nblocks) * sizeof(uint32_t);
	uint32_t *pages = lw_mem_map(len);
	if (pages == NULL)
		return -ENOMEM;
	uint32_t *blocks = pages + npages;
	int rc = 0;
	uint32_t mask = stripe_cap - 1;
	for (int k = 0; k < LW_LIVE_STRIPES && rc == 0 && stripe_cap != 0; k++) {
		struct stripe *s = &stripes[k];
		if (s->slots != mapping + (size_t)k * stripe_cap || (uint64_t)s->n * 2 > stripe_cap) {
			rc = LW_LIVE_BAD_LOAD;
			break;
		}
		uint32_t used = 0;
		for (uint32_t i = 0; i < stripe_cap && rc == 0; i++) {
			uint64_t addr = s->slots[i].addr;
			if (addr == 0)
				continue;
			used++;
			struct where w = where_of(addr);
			if (w.s != s) {
				rc = LW_LIVE_BAD_STRIPE;
				break;
			}
			/* from the home slot to i: no hole, no earlier copy */
			for (uint32_t j = home(w.h); j != i; j = (j + 1) & mask) {
				if (s->slots[j].addr == 0)
					rc = LW_LIVE_BAD_CHAIN;
				else if (s->slots[j].addr == addr)
					rc = LW_LIVE_BAD_DUP;
				if (rc != 0)
					break;
			}
			pages[w.page - lw_live_pages]++;
			blocks[w.block - lw_live_filter]++;
		}
		if (rc == 0 && used != s->n)
			rc = LW_LIVE_BAD_COUNT;
	}
	if (rc == 0 && !filter_matches(lw_live_pages, pages, (uint32_t)npages))
		rc = LW_LIVE_BAD_PAGE;
	if (rc == 0 && block_filter_on() && !filter_matches(lw_live_filter, blocks, (uint32_t)nblocks))
		rc = LW_LIVE_BAD_BLOCK;
	lw_mem_unmap(pages, len);
	return rc;
}

int lw_livetab_check(void)
{
	lw_livetab_lock_all();
	int rc = check_locked();
	lw_livetab_unlock_all();
	return rc;
}

void lw_livetab_lock_all(void)
{
	for (int k = 0; k < LW_LIVE_STRIPES; k++)
		stripe_lock(&stripes[k]);
}

void lw_livetab_unlock_all(void)
{
	for (int k = LW_LIVE_STRIPES - 1; k >= 0; k--)
		stripe_unlock(&stripes[k]);
}

void lw_livetab_reinit(void)
{
	for (int k = 0; k < LW_LIVE_STRIPES; k++)
		atomic_store_explicit(&stripes[k].lock, 0, memory_order_relaxed);
}
