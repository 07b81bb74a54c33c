/* unwind_cache.c — the frame-rule cache of the fast unwinder (see
 * unwind_cache.h for the rule kinds, the entry layout and the invariants).
 *
 * Learning runs on the slow path only (inside libgcc's backtrace callback,
 * so every frame it reads is live stack of the calling thread); lookups are
 * lock-free single-word loads. Memory: two lw_mem_map regions of 1 MiB
 * (rules and compiled ops), mapped by the constructor and never unmapped
 * (lock-free readers).
 * Locks: none. The dlclose generation is two atomic counters.
 */
#include "unwind_cache.h"

#include <errno.h>
#include <stddef.h>

#include "util.h"

_Atomic uint64_t *lw_ucache_ops;
_Atomic uint64_t *lw_ucache_rules;

_Atomic uint64_t lw_ucache_dl_gen;
atomic_int lw_ucache_dl_busy;

int lw_ucache_init(void)
{
	if (lw_ucache_ops != NULL)
		return 0;
	size_t len = (size_t)LW_UC_SLOTS * sizeof(uint64_t);
	_Atomic uint64_t *r = lw_mem_map(len);
	if (r == NULL)
		return -ENOMEM;
	_Atomic uint64_t *o = lw_mem_map(len);
	if (o == NULL) {
		lw_mem_unmap(r, len);
		return -ENOMEM;
	}
	lw_ucache_rules = r;
	lw_ucache_ops = o;
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

/* The compiled step for a rule, or 0 for NOCACHE (the fast walk then gives
 * up on this stack). Several candidate slots: the first one, with
 * LW_UCOP_MULTI. Relies on derive(): a rule always has a CFA kind and a way
 * to the caller's rbp. */
static uint64_t compile(uint64_t rule)
{
	if (!(rule & LW_UC_VALID) || (rule & LW_UC_NOCACHE))
		return 0;
	if (rule & LW_UC_END)
		return LW_UCOP_VALID | LW_UCOP_END;
	uint64_t op = LW_UCOP_VALID;
	uint64_t c = field(rule, LW_UC_RBP_SHIFT, LW_UC_RBP_MAX);
	if (rule & LW_UC_CFA_RSP) {
		op |= LW_UCOP_FROM_RSP | field(rule, LW_UC_RSP_SHIFT, LW_UC_RSP_MAX) << LW_UCOP_OFF_SHIFT;
		if (rule & LW_UC_CFA_RBP)
			op |= LW_UCOP_CHECK_RBP | c << LW_UCOP_RBP_SHIFT;
	} else {
		op |= c << LW_UCOP_OFF_SHIFT;
	}
	uint64_t slots = (rule & LW_UC_SLOTS_MASK) >> LW_UC_SLOTS_SHIFT;
	if (slots == 0)
		return op;                               /* caller's rbp = rbp */
	op |= LW_UCOP_LOAD_BP | (uint64_t)(LW_UC_SLOT_FIRST + (unsigned)__builtin_ctzll(slots))
					 << LW_UCOP_SLOT_SHIFT;
	if (slots & (slots - 1))
		op |= LW_UCOP_MULTI;
	if (rule & LW_UC_BP_SAME)
		op |= LW_UCOP_CHECK_SAME;
	return op;
}

_Static_assert(LW_UC_RSP_MAX <= LW_UCOP_OFF_MAX && LW_UC_RBP_MAX <= LW_UCOP_OFF_MAX &&
	       LW_UC_RBP_MAX <= LW_UCOP_RBP_MAX && LW_UC_SLOT_LAST <= LW_UCOP_SLOT_MAX,
	       "every rule field fits its compiled field");

/* Writes ip's rule, then its compiled step (see the header: each word is
 * self-contained). */
static void put(uintptr_t ip, uint64_t rule)
{
	uint32_t i = lw_ucache_slot(ip);
	uint64_t tag = (uint64_t)(ip >> LW_UC_BITS) << LW_UC_RULE_BITS;
	atomic_store_explicit(&lw_ucache_rules[i], tag | rule, memory_order_relaxed);
	atomic_store_explicit(&lw_ucache_ops[i], tag | compile(rule), memory_order_relaxed);
}

static void store(uintptr_t ip, uint64_t rule)
{
	uint64_t old = lw_ucache_get(ip);
	if (old != 0) {
		if (old & LW_UC_NOCACHE)
			return;
		rule = intersect(old, rule);
		if (rule == old)
			return;
	}
	put(ip, rule);
}

void lw_ucache_learn(uintptr_t ip, uintptr_t sp, uintptr_t bp,
		     uintptr_t nip, uintptr_t nsp, uintptr_t nbp)
{
	if (lw_ucache_ops == NULL || ip == 0 || ip >= (1ull << 47))
		return;
	store(ip, derive(sp, bp, nip, nsp, nbp));
}

void lw_ucache_learn_end(uintptr_t ip)
{
	if (lw_ucache_ops == NULL || ip == 0 || ip >= (1ull << 47))
		return;
	uint64_t old = lw_ucache_get(ip);
	if (old == (LW_UC_VALID | LW_UC_END) || (old & LW_UC_NOCACHE))
		return;
	put(ip, old ? (LW_UC_VALID | LW_UC_NOCACHE) : (LW_UC_VALID | LW_UC_END));
}

void lw_ucache_clear(void)
{
	if (lw_ucache_ops == NULL)
		return;
	for (uint32_t i = 0; i < LW_UC_SLOTS; i++) {
		atomic_store_explicit(&lw_ucache_ops[i], 0, memory_order_relaxed);
		atomic_store_explicit(&lw_ucache_rules[i], 0, memory_order_relaxed);
	}
}

int lw_ucache_dlclose(int (*real)(void *), void *handle)
{
	atomic_fetch_add(&lw_ucache_dl_busy, 1);
	atomic_fetch_add(&lw_ucache_dl_gen, 1);
	int r = real(handle);
	int e = errno;
	lw_ucache_clear();
	atomic_fetch_add(&lw_ucache_dl_gen, 1);
	atomic_fetch_sub(&lw_ucache_dl_busy, 1);
	errno = e;
	return r;
}

void lw_ucache_after_fork_child(void)
{
	/* forked in the middle of lw_ucache_dlclose (by another thread, which
	 * the child does not have): finish its work here */
	if (atomic_load(&lw_ucache_dl_busy) != 0) {
		lw_ucache_clear();
		atomic_fetch_add(&lw_ucache_dl_gen, 2);
		atomic_store(&lw_ucache_dl_busy, 0);
	}
}
