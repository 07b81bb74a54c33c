/* core.c — allocation slow paths: sampling decisions, stack capture, live and
 * stack table accounting; operator new failure handling; call counters.
 *
 * Invariants: every function here runs with the reentrancy guard held while
 * it does its own work (the real countdown is then t->saved_countdown, see
 * core.h) and restores errno on success paths. Order on a
 * sample: (1) decide, (2) allocate, then prefetch the block's live-table
 * slot, (3) take the stack (no lock held; the unwind hides the prefetch's
 * cache miss, which dominated lw_livetab_insert at LEAKWATCH_RATE=1),
 * (4) intern the stack (stacktab lock on a new stack), (5) insert the live
 * entry (one stripe lock), (6) bump counters (atomics). A tracked free
 * removes the live entry before the block goes back to mimalloc.
 * Locks: none of its own; takes stacktab and livetab locks one at a time.
 */
#include "core.h"

#include <dlfcn.h>
#include <stdatomic.h>

#include "sampler.h"
#include "stacktab.h"
#include "unwind.h"
#include "writer.h"

__thread struct lw_tls lw_tls __attribute__((tls_model("initial-exec")));
int lw_core_active;

static atomic_uint_fast64_t calls_alloc, calls_free;

/* The sampled path adds a thread's pending call counts to the shared
 * counters only once this many are pending: at LEAKWATCH_RATE=1 every call
 * takes that path, and two contended fetch-adds per call were measurable.
 * The counts are approximate by definition (lwd_format.h); snapshot and exit
 * paths still flush the writing thread completely. */
#define LW_CALLS_BATCH 256

/* The real pending counts are in saved_* while the guard is held (core.h). */
void lw_core_flush_counts(void)
{
	struct lw_tls *t = &lw_tls;
	uint64_t *a = t->guard ? &t->saved_allocs : &t->allocs;
	uint64_t *f = t->guard ? &t->saved_frees : &t->frees;
	if (*a) {
		atomic_fetch_add_explicit(&calls_alloc, *a, memory_order_relaxed);
		*a = 0;
	}
	if (*f) {
		atomic_fetch_add_explicit(&calls_free, *f, memory_order_relaxed);
		*f = 0;
	}
}

void lw_core_calls(uint64_t *allocs, uint64_t *frees)
{
	*allocs = atomic_load_explicit(&calls_alloc, memory_order_relaxed);
	*frees = atomic_load_explicit(&calls_free, memory_order_relaxed);
}

static void seed(struct lw_tls *t)
{
	uint64_t s = lw_now_mono() ^ ((uint64_t)lw_gettid() << 32) ^ (uint64_t)(uintptr_t)t;
	t->rng = s;
	(void)lw_rng_next(&t->rng);
	t->seeded = 1;
}

void lw_core_start(void)
{
	struct lw_tls *t = &lw_tls;
	/* redraw with the configured rate (the constructor holds the guard) */
	if (t->guard)
		t->saved_countdown = 0;
	else
		t->countdown = 0;
	lw_core_active = 1;
}

void lw_core_after_fork_child(void)
{
	lw_tid_reset();
	seed(&lw_tls);
	lw_tls.rng ^= lw_random64();
}

static void *do_alloc(int kind, void *old, size_t n, size_t align)
{
	switch (kind) {
	case LW_K_CALLOC:
		return mi_zalloc(n);
	case LW_K_ALIGNED:
		return lw_core_mi_aligned(n, align);
	case LW_K_REALLOC:
		return lw_core_fresh_realloc(mi_realloc(old, n), n);
	default:
		return lw_core_fresh(mi_malloc(n));
	}
}

void *lw_core_alloc_slow(void *old, size_t n, size_t align, int kind)
{
	struct lw_tls *t = &lw_tls;
	if (LW_UNLIKELY(t->guard))   /* the shim's own call: untracked */
		return do_alloc(kind, old, n, align);
	int saved_errno = errno;
	struct lw_live prev;
	int had_prev = 0;
	int sample = 0;
	uint64_t rate = lw_cfg.rate;

	lw_guard_enter();
	if (kind == LW_K_REALLOC && lw_livetab_maybe(old))
		had_prev = lw_livetab_remove((uint64_t)(uintptr_t)old, &prev);
	if (LW_UNLIKELY(!t->seeded))
		seed(t);
	if (t->saved_allocs + t->saved_frees >= LW_CALLS_BATCH)
		lw_core_flush_counts();
	if (LW_LIKELY(lw_core_active))
		sample = lw_sampler_account(&t->saved_countdown, &t->rng, rate, n);

	void *p = do_alloc(kind, old, n, align);
	uint32_t id = LW_STACK_NONE;
	if (sample && p != NULL) {
		lw_livetab_prefetch((uint64_t)(uintptr_t)p);
		struct lw_unwind_buf buf;
		uint32_t depth;
		int truncated = 0;
		if (LW_UNLIKELY(!lw_unwind_loaded()))
			lw_writer_need_unwinder();
		const uint64_t *pcs = lw_unwind_capture(&buf, &depth, &truncated);
		id = lw_stacktab_intern(pcs, depth, truncated ? LWD_STACKF_TRUNCATED : 0);
	}
	if (p == NULL) {
		if (had_prev) {
			struct lw_live stale;
			(void)lw_livetab_insert(&prev, &stale);
		}
		lw_guard_leave();
		errno = ENOMEM;
		return NULL;
	}
	if (had_prev)
		lw_stacktab_count_free(prev.stack, prev.size, prev.weight);
	if (id != LW_STACK_NONE) {
		struct lw_live e = {
			.addr = (uint64_t)(uintptr_t)p,
			.size = n,
			.mono_ns = lw_now_mono_coarse(),
			.weight = lw_sampler_weight(n, rate),
			.stack = id,
			.tid = lw_gettid(),
		};
		struct lw_live stale;
		int r = lw_livetab_insert(&e, &stale);
		if (r == 1)   /* the address was freed behind our back */
			lw_stacktab_count_free(stale.stack, stale.size, stale.weight);
		if (r >= 0)
			lw_stacktab_count_alloc(id, n, e.weight);
	}
	lw_guard_leave();
	errno = saved_errno;
	return p;
}

/* Called before mi_free(p) when the page filter says p may be sampled. */
void lw_core_free_slow(void *p)
{
	struct lw_tls *t = &lw_tls;
	if (p == NULL || t->guard)   /* the shim's own free: untracked */
		return;
	int saved_errno = errno;
	struct lw_live e;
	lw_guard_enter();
	if (lw_livetab_remove((uint64_t)(uintptr_t)p, &e))
		lw_stacktab_count_free(e.stack, e.size, e.weight);
	lw_guard_leave();
	errno = saved_errno;
}

void *lw_core_realloc_edge(void *p, size_t n)
{
	if (p == NULL)
		return lw_core_malloc(n);
	lw_core_free(p);            /* n == 0: glibc frees p and returns NULL */
	return NULL;
}

/* ---- operator new failure ------------------------------------------------
 * Debian's libmimalloc is built as C: its mi_new() calls abort() instead of
 * throwing when no new_handler is installed (checked: mi_new(1 << 62) aborts
 * under g++). So the shim implements the C++ contract itself: call the
 * installed std::new_handler and retry; without one, throw std::bad_alloc
 * through libstdc++'s std::__throw_bad_alloc(), both looked up at failure
 * time (the shim does not link libstdc++). */
typedef void (*lw_handler_fn)(void);

static void *cxx_sym(const char *name)
{
	void *s = dlsym(RTLD_DEFAULT, name);
	if (s == NULL) {
		void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_NOLOAD);
		if (h != NULL)
			s = dlsym(h, name);
	}
	return s;
}

void *lw_core_new_fail(size_t n, size_t align, int nothrow)
{
	for (;;) {
		lw_guard_enter();
		lw_handler_fn (*get)(void) = (lw_handler_fn (*)(void))cxx_sym("_ZSt15get_new_handlerv");
		lw_handler_fn h = get ? get() : NULL;
		void (*thrower)(void) = h ? NULL : (void (*)(void))cxx_sym("_ZSt17__throw_bad_allocv");
		lw_guard_leave();
		if (h == NULL) {
			if (nothrow)
				return NULL;
			if (thrower == NULL)
				lw_panic("operator new: out of memory and no C++ runtime to throw std::bad_alloc");
			thrower();
			lw_panic("std::__throw_bad_alloc returned");
		}
		h();
		void *p = align ? lw_core_aligned(align, n) : lw_core_malloc(n);
		if (p != NULL)
			return p;
	}
}
