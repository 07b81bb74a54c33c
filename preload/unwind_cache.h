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
 * Two tables of the same shape, indexed alike:
 *   rules   the hypothesis set above (LW_UC_* layout), read and narrowed by
 *           the learner, and read by the fast walk for the rare frame whose
 *           rule has no compact form;
 *   ops     the same rule compiled into one step (LW_UCOP_* layout): the
 *           CFA from one register, at most one check against the other, the
 *           caller's rbp from one slot or unchanged (optionally checked).
 *           The fast walk reads only this word for almost every frame, so
 *           its loop has no bit scans and no inner loop. A rule with several
 *           candidate slots compiles to its first one plus LW_UCOP_MULTI:
 *           the walk then checks the other candidates of the rules entry.
 * Invariants: an entry of either table is ONE 64-bit word, tag
 * (ip >> LW_UC_BITS) in the top 30 bits and the payload in the low 34,
 * written and read with single atomic accesses, so a reader never sees a
 * torn entry and the tag check is exact (the slot index is (ip ^ tag) &
 * mask, so tag + slot give back ip). The learner writes the rules entry,
 * then the ops entry compiled from it; each word is self-contained, so a
 * reader that meets entries from two different learners still uses a rule
 * that some observation of this ip produced.
 * Keys are "return address style" pcs: the rule describes the code at
 * key - 1. Only user-space ips below 2^47 are cached.
 * dlclose: lw_ucache_dlclose bumps a generation around the real call and
 * clears both tables; a fast walk that overlaps it is discarded, and no rule
 * is learned from a slow walk that overlaps it.
 * Locks: none (lock-free; the tables are lw_mem_map memory created once).
 * Hot path: the ops table, once per frame of every sampled stack.
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

/* Compiled step (low 34 bits of an ops entry); offsets in 8-byte words. */
#define LW_UCOP_VALID      (1ull << 0)
#define LW_UCOP_END        (1ull << 1)    /* outermost frame */
#define LW_UCOP_MULTI      (1ull << 2)    /* other candidate slots: see the rules entry */
#define LW_UCOP_FROM_RSP   (1ull << 3)    /* CFA = rsp + 8 * off, else rbp + 8 * off */
#define LW_UCOP_OFF_SHIFT  4              /* off: 11 bits */
#define LW_UCOP_OFF_MAX    2047u
#define LW_UCOP_CHECK_RBP  (1ull << 15)   /* and CFA must equal rbp + 8 * rbp_off */
#define LW_UCOP_RBP_SHIFT  16             /* rbp_off: 4 bits */
#define LW_UCOP_RBP_MAX    15u
#define LW_UCOP_LOAD_BP    (1ull << 20)   /* caller's rbp = [CFA - 8 * slot], else rbp */
#define LW_UCOP_SLOT_SHIFT 21             /* slot: 4 bits */
#define LW_UCOP_SLOT_MAX   15u
#define LW_UCOP_CHECK_SAME (1ull << 25)   /* and the loaded value must equal rbp */

extern _Atomic uint64_t *lw_ucache_ops;
extern _Atomic uint64_t *lw_ucache_rules;

static inline uint32_t lw_ucache_slot(uintptr_t ip)
{
	return (uint32_t)((ip ^ (ip >> LW_UC_BITS)) & (LW_UC_SLOTS - 1));
}

/* The payload of ip's entry in table t, or 0 when ip has none. The tag
 * compare also rejects ips at or above 2^47 (their tag does not fit). */
static inline uint64_t lw_ucache_lookup(_Atomic uint64_t *t, uintptr_t ip)
{
	uint64_t w = atomic_load_explicit(&t[lw_ucache_slot(ip)], memory_order_relaxed);
	if ((w >> LW_UC_RULE_BITS) != (uint64_t)(ip >> LW_UC_BITS))
		return 0;
	return w & LW_UC_RULE_MASK;
}

/* Rule (hypothesis set) for ip, or 0 when not cached. Any thread, lock-free. */
static inline uint64_t lw_ucache_get(uintptr_t ip)
{
	_Atomic uint64_t *t = lw_ucache_rules;
	return t == NULL ? 0 : lw_ucache_lookup(t, ip);
}

/* Maps the tables (constructor). 0 or -ENOMEM (the cache then stays off). */
int lw_ucache_init(void);

/* Learns the rule of the frame (ip, sp, bp) whose caller the slow unwinder
 * found at (nip, nsp = this frame's CFA, nbp). Reads stack words in
 * [sp, nsp), which the caller guarantees to be live stack of this thread.
 * Merges with an existing rule for ip as described above. */
void lw_ucache_learn(uintptr_t ip, uintptr_t sp, uintptr_t bp,
		     uintptr_t nip, uintptr_t nsp, uintptr_t nbp);
/* Marks ip as an outermost frame (the slow unwinder ended there). */
void lw_ucache_learn_end(uintptr_t ip);

/* Generation: unchanged across a walk, and not busy = no dlclose
 * overlapped it. Inline: a cached walk reads both twice. */
extern _Atomic uint64_t lw_ucache_dl_gen;
extern atomic_int lw_ucache_dl_busy;

static inline uint64_t lw_ucache_gen(void)
{
	return atomic_load(&lw_ucache_dl_gen);
}

static inline int lw_ucache_gen_busy(void)
{
	return atomic_load(&lw_ucache_dl_busy) != 0;
}
/* Around the real dlclose (export.c): returns real(handle). */
int lw_ucache_dlclose(int (*real)(void *), void *handle);
/* Forked child (single-threaded): undoes a dlclose that another thread of
 * the parent had under way. */
void lw_ucache_after_fork_child(void);
/* Clears every entry (any thread). */
void lw_ucache_clear(void);

#endif /* LW_UNWIND_CACHE_H */
