/* core.h — the allocation core: per-thread state and the inline fast paths
 * that export.c wraps; slow paths (sampling, accounting) live in core.c.
 *
 * Per-thread state (struct lw_tls, __thread, initial-exec TLS model) is valid
 * when all-zero, because malloc runs before any constructor: countdown 0
 * sends the first allocation to the slow path, which seeds the PRNG.
 *
 * Reentrancy guard: lw_tls.guard > 0 while the shim works on this thread
 * (unwinding, table updates, the writer thread for its whole life, atfork
 * handlers, the exit snapshot), so that memory the shim allocates through
 * libc or the unwinder is never sampled or tracked. The fast paths do not
 * read it: entering the guard parks the thread's countdown (and its
 * pending call counts) in saved_* and sets the countdown to LW_CD_GUARDED,
 * which no allocation reaches, so a guarded allocation takes the fast path
 * untracked; a guarded call that reaches a slow path anyway (the free
 * filter said "maybe", or a realloc of a sampled block) goes straight to
 * mimalloc there. Leaving the guard restores the countdown and the counts
 * (the shim's own calls are not counted). The order of the stores keeps a
 * signal handler that allocates in between on a consistent countdown
 * (compiler barriers only: a handler runs on this thread).
 *
 * Hot paths (malloc/new fast path): call counter increment, compare and
 * subtract on the byte countdown, then mi_* and one store that clears the
 * new block's first word (lw_core_fresh); free: counter increment, one
 * page-filter byte load (livetab.h), then mi_free. No atomics, no locks, no
 * other calls. errno is untouched on success; the slow paths save and
 * restore it.
 */
#ifndef LW_CORE_H
#define LW_CORE_H

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <mimalloc.h>

#include "livetab.h"
#include "util.h"

struct lw_tls {
	uint64_t countdown;   /* bytes until the next sample point; 0 = not drawn;
				 LW_CD_GUARDED - (bytes) while the guard is held */
	uint64_t allocs;      /* allocation calls not yet added to the globals */
	uint64_t frees;
	uint64_t rng;         /* splitmix64 state */
	uint64_t saved_countdown;   /* the real values while the guard is held */
	uint64_t saved_allocs;
	uint64_t saved_frees;
	uint32_t guard;       /* reentrancy depth */
	uint32_t seeded;
};

/* The countdown while the guard is held: larger than any allocation that
 * can succeed, and far from wrapping however much the guarded code allocates. */
#define LW_CD_GUARDED (1ull << 62)

extern __thread struct lw_tls lw_tls LW_HIDDEN __attribute__((tls_model("initial-exec")));

/* Set by the constructor once the shim can sample (tables, unwinder ready). */
extern int lw_core_active;

enum lw_alloc_kind { LW_K_MALLOC, LW_K_CALLOC, LW_K_ALIGNED, LW_K_REALLOC };

void *lw_core_alloc_slow(void *old, size_t n, size_t align, int kind);
void lw_core_free_slow(void *p);
/* realloc(NULL, n) and realloc(p, 0) */
void *lw_core_realloc_edge(void *p, size_t n);
/* operator new failure: runs std::new_handler loop; throws std::bad_alloc
 * (or returns NULL when nothrow). */
void *lw_core_new_fail(size_t n, size_t align, int nothrow);

/* mimalloc's release build leaves the free-list "next" pointer in the first
 * word of the block it hands out. Until the program writes that word, the
 * heap-graph scan would read it as a pointer to the block that was free
 * after it, and a dropped block could look reachable. One store to the
 * cache line mimalloc has just read clears it (a block is at least 8 bytes;
 * malloc's contents are unspecified, so the program cannot tell). */
static inline void *lw_core_fresh(void *p)
{
	if (LW_LIKELY(p != NULL))
		*(void **)p = NULL;
	return p;
}

/* realloc's new block holds min(old size, n) copied bytes; when n is below
 * a word and mimalloc moved the block, the rest of the first word is still
 * the free-list link. Bytes past n are unspecified after realloc, so they are
 * cleared. One compare of n on the fast path. */
static inline void *lw_core_fresh_realloc(void *p, size_t n)
{
	if (LW_UNLIKELY(n < sizeof(void *)) && p != NULL)
		__builtin_memset((char *)p + n, 0, sizeof(void *) - n);
	return p;
}

/* An aligned block. mimalloc 2.0.9's mi_malloc_aligned() hands power-of-two
 * sizes up to 1 KiB with alignment <= size straight to the small-object path,
 * assuming such blocks are naturally aligned; in Debian's build they are not
 * (mi_malloc_aligned(256, 256) returned ...d80, misaligned on every call for
 * alignments 256..1024). mi_malloc_aligned_at(n, align, 0) checks the free
 * block's real address and otherwise over-allocates: always aligned. */
static inline void *lw_core_mi_aligned(size_t n, size_t align)
{
	return lw_core_fresh(mi_malloc_aligned_at(n, align, 0));
}

static inline void lw_guard_enter(void)
{
	struct lw_tls *t = &lw_tls;
	if (t->guard == 0) {
		t->saved_countdown = t->countdown;
		t->saved_allocs = t->allocs;
		t->saved_frees = t->frees;
		atomic_signal_fence(memory_order_seq_cst);
		t->countdown = LW_CD_GUARDED;
		atomic_signal_fence(memory_order_seq_cst);
	}
	t->guard++;
	atomic_signal_fence(memory_order_seq_cst);
}

static inline void lw_guard_leave(void)
{
	struct lw_tls *t = &lw_tls;
	atomic_signal_fence(memory_order_seq_cst);
	if (t->guard == 1) {
		t->allocs = t->saved_allocs;
		t->frees = t->saved_frees;
		t->countdown = t->saved_countdown;
		atomic_signal_fence(memory_order_seq_cst);
	}
	t->guard--;
}

static inline void *lw_core_malloc(size_t n)
{
	struct lw_tls *t = &lw_tls;
	t->allocs++;
	if (LW_LIKELY(n < t->countdown)) {
		t->countdown -= n;
		return lw_core_fresh(mi_malloc(n));
	}
	return lw_core_alloc_slow(NULL, n, 0, LW_K_MALLOC);
}

static inline void *lw_core_zalloc(size_t n)
{
	struct lw_tls *t = &lw_tls;
	t->allocs++;
	if (LW_LIKELY(n < t->countdown)) {
		t->countdown -= n;
		return mi_zalloc(n);
	}
	return lw_core_alloc_slow(NULL, n, 0, LW_K_CALLOC);
}

/* align: a power of two */
static inline void *lw_core_aligned(size_t align, size_t n)
{
	struct lw_tls *t = &lw_tls;
	t->allocs++;
	if (LW_LIKELY(n < t->countdown)) {
		t->countdown -= n;
		return lw_core_mi_aligned(n, align);
	}
	return lw_core_alloc_slow(NULL, n, align, LW_K_ALIGNED);
}

/* free(NULL) and guarded frees are sorted out by the slow path, which the
 * page filter sends only a small fraction of frees to. */
static inline void lw_core_free(void *p)
{
	lw_tls.frees++;
	if (LW_UNLIKELY(lw_livetab_maybe(p)))
		lw_core_free_slow(p);
	mi_free(p);
}

static inline void *lw_core_realloc(void *p, size_t n)
{
	struct lw_tls *t = &lw_tls;
	if (LW_UNLIKELY(p == NULL || n == 0))
		return lw_core_realloc_edge(p, n);
	t->allocs++;
	if (LW_LIKELY(!lw_livetab_maybe(p) && n < t->countdown)) {
		t->countdown -= n;
		return lw_core_fresh_realloc(mi_realloc(p, n), n);
	}
	return lw_core_alloc_slow(p, n, 0, LW_K_REALLOC);
}

/* Adds the calling thread's pending call counts to the globals. */
void lw_core_flush_counts(void);
/* Process-wide approximate call counts. */
void lw_core_calls(uint64_t *allocs, uint64_t *frees);
/* Constructor: rate is known; redraw the calling thread's countdown. */
void lw_core_start(void);
/* Forked child: reseed the forking thread's PRNG. */
void lw_core_after_fork_child(void);

#endif /* LW_CORE_H */
