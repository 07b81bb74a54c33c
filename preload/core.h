/* core.h — the allocation core: per-thread state and the inline fast paths
 * that export.c wraps; slow paths (sampling, accounting) live in core.c.
 *
 * Per-thread state (struct lw_tls, __thread, initial-exec TLS model) is valid
 * when all-zero, because malloc runs before any constructor: countdown 0
 * sends the first allocation to the slow path, which seeds the PRNG.
 *
 * Reentrancy guard: lw_tls.guard is checked FIRST in every entry point; when
 * non-zero the call goes straight to mimalloc (no sampling, no accounting).
 * The shim holds it around everything it does (unwinding, table updates, the
 * writer thread for its whole life, atfork handlers, the exit snapshot), so
 * memory the shim allocates through libc/the unwinder is never sampled.
 *
 * Hot paths (malloc/new fast path): guard check, call counter increment,
 * compare + subtract on the byte countdown, then mi_* and one store that
 * clears the new block's first word (lw_core_fresh); free: guard check,
 * counter increment, one filter byte load, then mi_free. No atomics, no
 * locks, no other calls. errno is untouched on success; the slow paths save
 * and restore it.
 */
#ifndef LW_CORE_H
#define LW_CORE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <mimalloc.h>

#include "livetab.h"
#include "util.h"

struct lw_tls {
	uint64_t countdown;   /* bytes until the next sample point; 0 = not drawn */
	uint64_t rng;         /* splitmix64 state */
	uint64_t allocs;      /* allocation calls not yet added to the globals */
	uint64_t frees;
	uint32_t guard;       /* reentrancy depth */
	uint32_t seeded;
};

extern __thread struct lw_tls lw_tls LW_HIDDEN __attribute__((tls_model("initial-exec")));

/* Set by the constructor once the shim can sample (tables, unwinder ready). */
extern int lw_core_active;

enum lw_alloc_kind { LW_K_MALLOC, LW_K_CALLOC, LW_K_ALIGNED, LW_K_REALLOC };

void *lw_core_alloc_slow(void *old, size_t n, size_t align, int kind);
void lw_core_free_slow(void *p);
void *lw_core_realloc(void *p, size_t n);
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

static inline void lw_guard_enter(void) { lw_tls.guard++; }
static inline void lw_guard_leave(void) { lw_tls.guard--; }

static inline void *lw_core_malloc(size_t n)
{
	struct lw_tls *t = &lw_tls;
	if (LW_UNLIKELY(t->guard))
		return lw_core_fresh(mi_malloc(n));
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
	if (LW_UNLIKELY(t->guard))
		return mi_zalloc(n);
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
	if (LW_UNLIKELY(t->guard))
		return lw_core_fresh(mi_malloc_aligned(n, align));
	t->allocs++;
	if (LW_LIKELY(n < t->countdown)) {
		t->countdown -= n;
		return lw_core_fresh(mi_malloc_aligned(n, align));
	}
	return lw_core_alloc_slow(NULL, n, align, LW_K_ALIGNED);
}

static inline void lw_core_free(void *p)
{
	struct lw_tls *t = &lw_tls;
	if (LW_UNLIKELY(t->guard)) {
		mi_free(p);
		return;
	}
	t->frees++;
	if (LW_UNLIKELY(lw_livetab_maybe(p)) && p != NULL)
		lw_core_free_slow(p);
	mi_free(p);
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
