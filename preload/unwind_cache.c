/* unwind_cache.c — the frame-rule cache of the fast unwinder (see
 * unwind_cache.h for the rule kinds, the entry layout and the invariants).
 *
 * Learning runs on the slow path only (inside libgcc's backtrace callback,
 * so every frame it reads is live stack of the calling thread); lookups are
 * lock-free single-word loads. Memory: one lw_mem_map region of 1 MiB,
 * mapped by the constructor and never unmapped (lock-free readers).
 * Locks: none. The dlclose generation is two atomic counters.
 */
#include "unwind_cache.h"

#include <errno.h>
#include <stddef.h>

#include "util.h"

_Atomic uint64_t *lw_ucache_table;

static _Atomic uint64_t dl_gen;
static atomic_int dl_busy;

int lw_ucache_init(void)
{
	if (lw_ucache_table != NULL)
		return 0;
	_Atomic uint64_t *t = lw_mem_map((size_t)LW_UC_SLOTS * sizeof(uint64_t));
	if (t == NULL)
		return -ENOMEM;
	lw_ucache_table = t;
	return 0;
}

static uint64_t field(uint64_t r, int shift, uint64_t max)
{
	return (r >> shift) & max;
}

/* The rule kinds that one observation supports (see unwind_cache.h). */
static uint64_t derive(uintptr_t sp, uintptr_t bp, uintptr_t nip, uintptr_t cfa,
		       uintptr_t nbp)
{
	if (cfa <= sp || (sp & 7) || (cfa & 7))
		return LW_UC_VALID | LW_UC_NOCACHE;
	if (*(const uintptr_t *)(cfa - 8) != nip)
		return LW_UC_VALID | LW_UC_NOCACHE;
	uint64_t r = LW_UC_VALID;
	uint64_t k = (cfa - sp) / 8;
	if (k <= LW_UC_RSP_MAX)
		r |= LW_UC_CFA_RSP | k << LW_UC_RSP_SHIFT;
	if (bp >= sp && bp < cfa && ((cfa - bp) & 7) == 0 && (cfa - bp) / 8 <= LW_UC_RBP_MAX)
		r |= LW_UC_CFA_RBP | (uint64_t)((cfa - bp) / 8) << LW_UC_RBP_SHIFT;
	if (!(r & (LW_UC_CFA_RSP | LW_UC_CFA_RBP)))
		return LW_UC_VALID | LW_UC_NOCACHE;
	if (nbp == bp)
		r |= LW_UC_BP_SAME;
	for (uint64_t j = LW_UC_SLOT_FIRST; j <= LW_UC_SLOT_LAST && j <= k; j++)
		if (*(const uintptr_t *)(cfa - 8 * j) == nbp)
			r |= 1ull << (LW_UC_SLOTS_SHIFT + j - LW_UC_SLOT_FIRST);
	if (!(r & (LW_UC_BP_SAME | LW_UC_SLOTS_MASK)))
		return LW_UC_VALID | LW_UC_NOCACHE;
	return r;
}

/* Keeps only the rule kinds that both a and b support. */
static uint64_t intersect(uint64_t a, uint64_t b)
{
	if ((a | b) & (LW_UC_NOCACHE | LW_UC_END))
		return LW_UC_VALID | LW_UC_NOCACHE;
	uint64_t r = LW_UC_VALID;
	if ((a & b & LW_UC_CFA_RSP) &&
	    field(a, LW_UC_RSP_SHIFT, LW_UC_RSP_MAX) == field(b, LW_UC_RSP_SHIFT, LW_UC_RSP_MAX))
		r |= a & (LW_UC_CFA_RSP | (uint64_t)LW_UC_RSP_MAX << LW_UC_RSP_SHIFT);
	if ((a & b & LW_UC_CFA_RBP) &&
	    field(a, LW_UC_RBP_SHIFT, LW_UC_RBP_MAX) == field(b, LW_UC_RBP_SHIFT, LW_UC_RBP_MAX))
		r |= a & (LW_UC_CFA_RBP | (uint64_t)LW_UC_RBP_MAX << LW_UC_RBP_SHIFT);
	if (a & b & LW_UC_BP_SAME)
		r |= LW_UC_BP_SAME;
	r |= a & b & LW_UC_SLOTS_MASK;
	if (!(r & (LW_UC_CFA_RSP | LW_UC_CFA_RBP)) || !(r & (LW_UC_BP_SAME | LW_UC_SLOTS_MASK)))
		return LW_UC_VALID | LW_UC_NOCACHE;
	return r;
}

static void store(uintptr_t ip, uint64_t rule)
{
	_Atomic uint64_t *t = lw_ucache_table;
	uint64_t old = lw_ucache_get(ip);
	if (old != 0) {
		if (old & LW_UC_NOCACHE)
			return;
		rule = intersect(old, rule);
		if (rule == old)
			return;
	}
	uint64_t w = (uint64_t)(ip >> LW_UC_BITS) << LW_UC_RULE_BITS | rule;
	atomic_store_explicit(&t[lw_ucache_slot(ip)], w, memory_order_relaxed);
}

void lw_ucache_learn(uintptr_t ip, uintptr_t sp, uintptr_t bp,
		     uintptr_t nip, uintptr_t nsp, uintptr_t nbp)
{
	if (lw_ucache_table == NULL || ip == 0 || ip >= (1ull << 47))
		return;
	store(ip, derive(sp, bp, nip, nsp, nbp));
}

void lw_ucache_learn_end(uintptr_t ip)
{
	if (lw_ucache_table == NULL || ip == 0 || ip >= (1ull << 47))
		return;
	uint64_t old = lw_ucache_get(ip);
	if (old == (LW_UC_VALID | LW_UC_END) || (old & LW_UC_NOCACHE))
		return;
	uint64_t rule = old ? (LW_UC_VALID | LW_UC_NOCACHE) : (LW_UC_VALID | LW_UC_END);
	uint64_t w = (uint64_t)(ip >> LW_UC_BITS) << LW_UC_RULE_BITS | rule;
	atomic_store_explicit(&lw_ucache_table[lw_ucache_slot(ip)], w, memory_order_relaxed);
}

void lw_ucache_clear(void)
{
	_Atomic uint64_t *t = lw_ucache_table;
	if (t == NULL)
		return;
	for (uint32_t i = 0; i < LW_UC_SLOTS; i++)
		atomic_store_explicit(&t[i], 0, memory_order_relaxed);
}

uint64_t lw_ucache_gen(void)
{
	return atomic_load(&dl_gen);
}

int lw_ucache_gen_busy(void)
{
	return atomic_load(&dl_busy) != 0;
}

int lw_ucache_dlclose(int (*real)(void *), void *handle)
{
	atomic_fetch_add(&dl_busy, 1);
	atomic_fetch_add(&dl_gen, 1);
	int r = real(handle);
	int e = errno;
	lw_ucache_clear();
	atomic_fetch_add(&dl_gen, 1);
	atomic_fetch_sub(&dl_busy, 1);
	errno = e;
	return r;
}

void lw_ucache_after_fork_child(void)
{
	/* forked in the middle of lw_ucache_dlclose (by another thread, which
	 * the child does not have): finish its work here */
	if (atomic_load(&dl_busy) != 0) {
		lw_ucache_clear();
		atomic_fetch_add(&dl_gen, 2);
		atomic_store(&dl_busy, 0);
	}
}
