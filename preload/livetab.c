/* livetab.c — striped open-addressing table of live sampled blocks and the
 * free-path address filter (see livetab.h).
 *
 * Invariants per stripe: n <= cap/2; slots with addr == 0 are empty; every
 * entry is reachable from its home slot without crossing an empty slot
 * (maintained by backward-shift deletion). lw_live_filter[i] >= the number
 * of entries whose filter index is i, exactly equal unless saturated (255).
 * Locks: stripe[i].lock guards stripe i's slots/cap/n; filter counters are
 * updated with atomics while a stripe lock is held (two stripes can share a
 * counter).
 * Hot path: lw_livetab_maybe (inline, one relaxed byte load) on every free.
 */
#include "livetab.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "util.h"

_Atomic uint8_t lw_live_filter[1u << LW_LIVE_FILTER_BITS];

struct stripe {
	pthread_mutex_t lock;
	struct lw_live *slots;
	uint32_t cap, n;
} __attribute__((aligned(64)));

static struct stripe stripes[LW_LIVE_STRIPES] = {
#define S PTHREAD_MUTEX_INITIALIZER
	[0 ... LW_LIVE_STRIPES - 1] = { .lock = S },
#undef S
};

static uint64_t addr_hash(uint64_t addr)
{
	return (addr >> 4) * 0x9e3779b97f4a7c15ull;
}

static struct stripe *stripe_of(uint64_t h)
{
	return &stripes[h >> (64 - 6)];
}

static uint32_t home(const struct stripe *s, uint64_t h)
{
	return (uint32_t)(h >> 20) & (s->cap - 1);
}

static void filter_inc(uint64_t addr)
{
	_Atomic uint8_t *c = &lw_live_filter[lw_live_filter_index((void *)(uintptr_t)addr)];
	uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
	while (v != 255 && !atomic_compare_exchange_weak_explicit(c, &v, (uint8_t)(v + 1),
								  memory_order_release,
								  memory_order_relaxed))
		;
}

static void filter_dec(uint64_t addr)
{
	_Atomic uint8_t *c = &lw_live_filter[lw_live_filter_index((void *)(uintptr_t)addr)];
	uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
	while (v != 255 && v != 0 &&
	       !atomic_compare_exchange_weak_explicit(c, &v, (uint8_t)(v - 1), memory_order_relaxed,
						      memory_order_relaxed))
		;
}

static void place(struct lw_live *slots, uint32_t cap, const struct lw_live *e)
{
	uint32_t i = (uint32_t)(addr_hash(e->addr) >> 20) & (cap - 1);
	while (slots[i].addr != 0)
		i = (i + 1) & (cap - 1);
	slots[i] = *e;
}

/* Under the stripe lock: room for one more entry. */
static int reserve(struct stripe *s)
{
	if (s->cap != 0 && (s->n + 1) * 2 <= s->cap)
		return 0;
	uint32_t ncap = s->cap ? s->cap * 2 : 256;
	struct lw_live *ns = lw_mem_map((size_t)ncap * sizeof(*ns));
	if (ns == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->cap; i++)
		if (s->slots[i].addr != 0)
			place(ns, ncap, &s->slots[i]);
	lw_mem_unmap(s->slots, (size_t)s->cap * sizeof(*ns));
	s->slots = ns;
	s->cap = ncap;
	return 0;
}

int lw_livetab_insert(const struct lw_live *e, struct lw_live *old)
{
	uint64_t h = addr_hash(e->addr);
	struct stripe *s = stripe_of(h);
	int ret;
	pthread_mutex_lock(&s->lock);
	if (reserve(s) != 0) {
		ret = -ENOMEM;
		goto out;
	}
	uint32_t i = home(s, h);
	while (s->slots[i].addr != 0) {
		if (s->slots[i].addr == e->addr) {
			*old = s->slots[i];
			s->slots[i] = *e;
			ret = 1;
			goto out;
		}
		i = (i + 1) & (s->cap - 1);
	}
	s->slots[i] = *e;
	s->n++;
	filter_inc(e->addr);
	ret = 0;
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int lw_livetab_remove(uint64_t addr, struct lw_live *out)
{
	uint64_t h = addr_hash(addr);
	struct stripe *s = stripe_of(h);
	int found = 0;
	pthread_mutex_lock(&s->lock);
	if (s->cap == 0)
		goto out;
	uint32_t mask = s->cap - 1, i = home(s, h);
	while (s->slots[i].addr != 0 && s->slots[i].addr != addr)
		i = (i + 1) & mask;
	if (s->slots[i].addr == 0)
		goto out;
	*out = s->slots[i];
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
	filter_dec(addr);
out:
	pthread_mutex_unlock(&s->lock);
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
		pthread_mutex_lock(&s->lock);
		for (uint32_t i = 0; i < s->cap; i++) {
			if (s->slots[i].addr == 0)
				continue;
			if (total < cap)
				dst[total] = s->slots[i];
			total++;
		}
		pthread_mutex_unlock(&s->lock);
	}
	return total;
}

void lw_livetab_foreach(void (*fn)(void *arg, const struct lw_live *e), void *arg)
{
	for (int k = 0; k < LW_LIVE_STRIPES; k++) {
		struct stripe *s = &stripes[k];
		for (uint32_t i = 0; i < s->cap; i++)
			if (s->slots[i].addr != 0)
				fn(arg, &s->slots[i]);
	}
}

void lw_livetab_lock_all(void)
{
	for (int k = 0; k < LW_LIVE_STRIPES; k++)
		pthread_mutex_lock(&stripes[k].lock);
}

void lw_livetab_unlock_all(void)
{
	for (int k = LW_LIVE_STRIPES - 1; k >= 0; k--)
		pthread_mutex_unlock(&stripes[k].lock);
}

void lw_livetab_reinit(void)
{
	for (int k = 0; k < LW_LIVE_STRIPES; k++)
		pthread_mutex_init(&stripes[k].lock, NULL);
}
