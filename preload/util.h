/* util.h — small shared services of the shim: diagnostics, private memory,
 * clocks, number formatting, configuration.
 *
 * Role: everything here is usable from any shim context: the allocation
 * slow paths, the writer thread, atfork handlers and a forked child. Nothing
 * here calls malloc, stdio, locale-dependent functions or assert.
 *
 * Diagnostics: lw_panic() writes "leakwatch: <msg>" with write(2) and aborts;
 * lw_warn_once() prints at most ONE line per process lifetime (all callers
 * share the budget), then stays silent.
 *
 * Private memory: lw_mem_map()/lw_mem_unmap() wrap mmap and record every
 * region in a fixed registry, so the heap scan of a dump can tell shim memory
 * from program memory (lw_mem_foreach). The registry has its own leaf lock
 * (lw_mem_lock, last in the fork lock order, see fork.h).
 */
#ifndef LW_UTIL_H
#define LW_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#define LW_LIKELY(x) __builtin_expect(!!(x), 1)
#define LW_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LW_HIDDEN __attribute__((visibility("hidden")))

/* Configuration, parsed once by the constructor (writer.c). Zero-initialised
 * values are the defaults that apply before the constructor runs. */
struct lw_config {
	uint64_t rate;            /* mean bytes between samples; <= 1: every allocation */
	uint64_t interval_ns;     /* 0: no periodic snapshots */
	int signo;                /* 0: no dump signal */
};
extern struct lw_config lw_cfg;

/* ---- diagnostics (async-signal-safe, usable in a forked child) --------- */
__attribute__((noreturn)) void lw_panic(const char *msg);
/* Prints "leakwatch: " + the concatenation of the NULL-terminated list of
 * strings + "\n", only the first time any caller calls it. */
void lw_warn_once(const char *first, ...) __attribute__((sentinel));
/* Same, but always prints (used only at init for bad environment values). */
void lw_warn(const char *first, ...) __attribute__((sentinel));

/* ---- private memory ------------------------------------------------------ */
/* Anonymous private read-write mapping, zero-filled; NULL on failure.
 * `len` is rounded up to whole pages. Takes lw_mem_lock briefly. */
void *lw_mem_map(size_t len);
void lw_mem_unmap(void *p, size_t len);
/* Calls fn for each region mapped by lw_mem_map and not yet unmapped.
 * Lock-free when `locked` is 0 (single-threaded forked child whose parent
 * held lw_mem_lock at fork time); otherwise takes lw_mem_lock. */
void lw_mem_foreach(int locked, void (*fn)(void *arg, uintptr_t start, uintptr_t end), void *arg);
void lw_mem_lock(void);
void lw_mem_unlock(void);
void lw_mem_reinit(void);   /* forked child */

/* ---- clocks ---------------------------------------------------------------- */
uint64_t lw_now_mono(void);
uint64_t lw_now_wall(void);

/* ---- text helpers (no locale) ------------------------------------------ */
/* Appends decimal v to buf at *pos (bounded by cap, always NUL-terminated). */
void lw_fmt_u64(char *buf, size_t cap, size_t *pos, uint64_t v);
void lw_fmt_str(char *buf, size_t cap, size_t *pos, const char *s);
/* Zero-padded decimal of exactly `width` digits (more if v needs them). */
void lw_fmt_u64w(char *buf, size_t cap, size_t *pos, uint64_t v, int width);
/* strerror without locale or allocation ("error 123" when unknown). */
const char *lw_strerror(int err, char *buf, size_t cap);

/* 64-bit random value (getrandom, falling back to a time/address mix). */
uint64_t lw_random64(void);
/* Kernel thread id, cached per thread (reset in a forked child). */
uint32_t lw_gettid(void);
void lw_tid_reset(void);

#endif /* LW_UTIL_H */
