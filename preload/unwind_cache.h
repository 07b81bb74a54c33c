/* unwind_cache.h — per-return-address cache of x86-64 frame rules for the
 * fast unwinder (unwind.c).
 *
 * Role: the slow unwinder (libgcc's DWARF interpreter) reports, for every
 * frame, its ip and the register values it computed (sp, rbp). From two
 * consecutive frames the cache learns how to get from the inner frame to
 * the outer one in a few loads: CFA = RSP + k and/or RBP + c, return address
 * at CFA - 8, caller's rbp unchanged and/or saved at CFA - 8*j (a set of
 * candidate slots, narrowed by later observations). A rule is
 * stored only if it reproduces the slow unwinder's result for that frame
 * exactly. When one observation fits two rule kinds, both are kept and the
 * fast walk uses the rule only where both agree; a later observation that
 * contradicts one of them drops it (intersection), one that contradicts all
 * of them marks the ip NOCACHE for good.
 *
 * Invariants: an entry is ONE 64-bit word, tag (ip >> LW_UC_BITS) in the top
 * 30 bits and the rule in the low 34, written and read with single atomic
 * accesses, so a reader never sees a torn rule and the tag check is exact
 * (the slot index is (ip ^ tag) & mask, so tag + slot give back ip).
 * Keys are "return address style" pcs: the rule describes the code at
 * key - 1. Only user-space ips below 2^47 are cached.
 * dlclose: lw_ucache_dl_begin/end bump a generation around the real call and
 * clear the table; a fast walk that overlaps them is discarded, and no rule
 * is learned from a slow walk that overlaps them.
 * Locks: none (lock-free; the table is lw_mem_map memory created once).
 * Hot path: lw_ucache_get, once per frame of every sampled stack.
 */
#ifndef LW_UNWIND_CACHE_H
#define LW_UNWIND_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define LW_UC_BITS 17                       /* 128 Ki entries, 1 MiB */
#define LW_UC_SLOTS (1u << LW_UC_BITS)
#define LW_UC_RULE_BITS 34
#define LW_UC_RULE_MASK ((1ull << LW_UC_RULE_BITS) - 1)

/* Rule word layout (low 34 bits of an entry). */
#define LW_UC_VALID      (1ull << 0)
#define LW_UC_END        (1ull << 1)    /* outermost frame: the slow unwinder stops here */
#define LW_UC_NOCACHE    (1ull << 2)    /* no simple rule: always unwind slowly */
#define LW_UC_CFA_RSP    (1ull << 3)    /* CFA = rsp + 8 * field(4, 11 bits) */
#define LW_UC_CFA_RBP    (1ull << 15)   /* CFA = rbp + 8 * field(16, 4 bits) */
#define LW_UC_BP_SAME    (1ull << 20)   /* caller's rbp = rbp */
/* bits 21..33: caller's rbp is saved at CFA - 8*j for every j (2..14) whose
 * bit (21 + j - 2) is set; several bits = not yet known which, all must
 * agree */
#define LW_UC_RSP_SHIFT 4
#define LW_UC_RSP_MAX 2047u
#define LW_UC_RBP_SHIFT 16
#define LW_UC_RBP_MAX 15u
#define LW_UC_SLOTS_SHIFT 21
#define LW_UC_SLOT_FIRST 2u
#define LW_UC_SLOT_LAST 14u
#define LW_UC_SLOTS_MASK (((1ull << (LW_UC_SLOT_LAST - LW_UC_SLOT_FIRST + 1)) - 1) << LW_UC_SLOTS_SHIFT)

extern _Atomic uint64_t *lw_ucache_table;

static inline uint32_t lw_ucache_slot(uintptr_t ip)
{
	return (uint32_t)((ip ^ (ip >> LW_UC_BITS)) & (LW_UC_SLOTS - 1));
}

/* Rule for ip (low LW_UC_RULE_BITS bits) or 0 when not cached. Any thread, lock-free. */
static inline uint64_t lw_ucache_get(uintptr_t ip)
{
	_Atomic uint64_t *t = lw_ucache_table;
	if (t == NULL || ip >= (1ull << 47))
		return 0;
	uint64_t w = atomic_load_explicit(&t[lw_ucache_slot(ip)], memory_order_relaxed);
	if ((w >> LW_UC_RULE_BITS) != (uint64_t)(ip >> LW_UC_BITS))
		return 0;
	return w & LW_UC_RULE_MASK;
}

/* Maps the table (constructor). 0 or -ENOMEM (the cache then stays off). */
int lw_ucache_init(void);

/* Learns the rule of the frame (ip, sp, bp) whose caller the slow unwinder
 * found at (nip, nsp = this frame's CFA, nbp). Reads stack words in
 * [sp, nsp), which the caller guarantees to be live stack of this thread.
 * Merges with an existing rule for ip as described above. */
void lw_ucache_learn(uintptr_t ip, uintptr_t sp, uintptr_t bp,
		     uintptr_t nip, uintptr_t nsp, uintptr_t nbp);
/* Marks ip as an outermost frame (the slow unwinder ended there). */
void lw_ucache_learn_end(uintptr_t ip);

/* Generation: even and unchanged across a walk = no dlclose overlapped. */
uint64_t lw_ucache_gen(void);
int lw_ucache_gen_busy(void);
/* Around the real dlclose (export.c): returns real(handle). */
int lw_ucache_dlclose(int (*real)(void *), void *handle);
/* Forked child (single-threaded): undoes a dlclose that another thread of
 * the parent had under way. */
void lw_ucache_after_fork_child(void);
/* Clears every entry (any thread). */
void lw_ucache_clear(void);

#endif /* LW_UNWIND_CACHE_H */
