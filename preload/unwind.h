/* unwind.h — stack capture for samples.
 *
 * lw_unwind_capture() walks the calling thread's stack with frame rules
 * cached per return address (unwind_cache.h), falling back to libgcc's DWARF
 * unwinder (_Unwind_Backtrace; why not libunwind: see unwind.c), which also
 * fills the cache; both give identical stacks. It drops the
 * leading frames that lie inside
 * libleakwatch.so's own text (export/core/unwind frames), and returns return
 * addresses innermost first. Call it with the reentrancy guard held and
 * BEFORE taking any other shim lock.
 *
 * Lock: lw_unwind_lock is a reader-writer lock. Every slow (libgcc) unwind
 * runs under its read side (the cached walk calls nothing and takes no lock); the atfork prepare handler takes the write side (fork.h), so a
 * fork never happens while a thread of the shim is inside the unwinder
 * (whose own locks would stay locked in the child). Writer-preferring, so a
 * stream of samples cannot starve fork(). Nothing that can wait for a loader
 * or program lock runs under it (libgcc finds FDEs with the lock-free
 * _dl_find_object).
 */
#ifndef LW_UNWIND_H
#define LW_UNWIND_H

#include <stdint.h>

#include "lwd_format.h"

/* Frames of a captured stack at most. */
#define LW_UNWIND_MAX LWD_MAX_DEPTH
/* Frames a capture buffer holds: the stack plus the shim's own innermost
 * frames and, on a slow walk, libgcc's. */
#define LW_UNWIND_BUF (LW_UNWIND_MAX + 32)
struct lw_unwind_buf {
	uint64_t pcs[LW_UNWIND_BUF];
};

/* Captures the calling thread's stack into buf and returns it as a slice
 * of buf (no copy): *depth frames, innermost first, at most LW_UNWIND_MAX;
 * sets *truncated when the real stack was deeper. *depth >= 1: a stack that
 * could not be walked at all is recorded as the single pc 0. */
const uint64_t *lw_unwind_capture(struct lw_unwind_buf *buf, uint32_t *depth, int *truncated);

/* Constructor: computes the shim's text range; loads the unwinder only if
 * libgcc_s.so.1 is already in the process (unwind.c says when otherwise). */
void lw_unwind_init(void);
/* Loads libgcc_s.so.1 and the rule cache, once (later calls return 0 at
 * once). From a context that holds no loader, program or shim lock: the
 * constructor, the writer thread, an exit handler; never from inside an
 * allocation. Until it has run, captures return the unknown stack.
 * Returns -1 when dlopen failed and a later call may try again (a failure
 * can pass: no descriptor free at that moment); after three failures
 * (LW_UNWIND_TRIES, unwind.c) it warns once, gives up (stacks stay
 * unknown) and returns 0. */
int lw_unwind_load(void);
/* 1 once lw_unwind_load() has loaded it or given up (any thread,
 * lock-free). */
int lw_unwind_loaded(void);
int lw_unwind_in_shim(uintptr_t pc);

/* Test hook (tests/preload/test_unwind.c): the raw frames from the caller of
 * this function outwards, not stripped. mode 0: as lw_unwind_capture (cached
 * walk, else libgcc); 1: libgcc only (still teaches the cache); 2: cached
 * walk only, -1 if it cannot finish. Returns the count (<= cap). */
int lw_unwind_raw(uint64_t *pcs, int cap, int mode);

/* The exported dlclose calls this around the real one: the rule cache is
 * cleared once the library's code is gone (an address may be reused by a
 * library with different code), and no cached walk overlapping it is used. */
int lw_unwind_dlclose(int (*real)(void *), void *handle);

void lw_unwind_rdlock(void);
void lw_unwind_rdunlock(void);
void lw_unwind_wrlock(void);     /* fork prepare */
void lw_unwind_wrunlock(void);   /* fork parent */
void lw_unwind_reinit(void);     /* fork child */
/* Fork prepare (before the fork lock order's locks; takes none that can
 * wait) and parent: whether a child forked before the unwinder was loaded
 * may load it (unwind.c); lw_unwind_reinit applies the answer. */
void lw_unwind_fork_prepare(void);
void lw_unwind_fork_parent(void);

#endif /* LW_UNWIND_H */
