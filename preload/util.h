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
	uint64_t max_disk;        /* byte budget of the output directory; 0: unlimited */
	uint32_t keep_dumps;      /* newest dumps kept under a budget; 0: no count limit */
};
extern struct lw_config lw_cfg;

/* ---- diagnostics (async-signal-safe, usable in a forked child) --------- */
__attribute__((noreturn)) void lw_panic(const char *msg);
/* Prints "leakwatch: " + the concatenation of the NULL-terminated list of
 * strings + "\n", only the first time any caller calls it. */
void lw_warn_once(const char *first, ...) __attribute__((sentinel));
/* Same, but always prints (used only at init for bad environment values). */
void lw_warn(const char *first, ...) __attribute__((sentinel));
/* Writes s[0..n) to fd 2 whole (retrying short writes and EINTR; gives up on
 * an error): the shim's one write loop for its own stderr output. */
void lw_write_stderr(const char *s, size_t n);

/* ---- private memory ------------------------------------------------------ */
/* Anonymous private read-write mapping, zero-filled; NULL on failure.
 * `len` is rounded up to whole pages. Takes lw_mem_lock briefly. */
void *lw_mem_map(size_t len);
/* The same, with every page faulted in now (MAP_POPULATE), for memory that
 * is about to be filled anyway: a lazily mapped page that is read before it
 * is written costs two faults and a TLB flush (zero page, then copy on
 * write), which made a growing live table a quarter of the time at
 * LEAKWATCH_RATE=1 on this project's VMs. */
void *lw_mem_map_prefault(size_t len);
/* lw_mem_map_prefault for large tables read at random: from 4 MiB on, the
 * mapping is 2 MiB aligned and advised for transparent huge pages
 * (MADV_HUGEPAGE; ignored where THP is off), its length rounded up to
 * 2 MiB (lw_mem_unmap unmaps a registered region as it was mapped). */
void *lw_mem_map_huge(size_t len);
void lw_mem_unmap(void *p, size_t len);
/* Calls fn for each region mapped by lw_mem_map and not yet unmapped.
 * Lock-free when `locked` is 0 (single-threaded forked child whose parent
 * held lw_mem_lock at fork time); otherwise takes lw_mem_lock. */
void lw_mem_foreach(int locked, void (*fn)(void *arg, uintptr_t start, uintptr_t end), void *arg);
/* Bytes of those regions resident in memory (mincore): the shim's own RSS.
 * Not for the forked child; takes lw_mem_lock briefly per region. */
uint64_t lw_mem_resident(void);
void lw_mem_lock(void);
void lw_mem_unlock(void);
void lw_mem_reinit(void);   /* forked child */

/* ---- clocks ---------------------------------------------------------------- */
uint64_t lw_now_mono(void);
uint64_t lw_now_wall(void);
/* CLOCK_MONOTONIC at tick resolution (CLOCK_MONOTONIC_COARSE: a few ms,
 * never ahead of lw_now_mono()). For per-sample timestamps: on this
 * project's VMs a precise read costs 120-180 ns (kvm-clock), a coarse one
 * 10-20 ns. */
uint64_t lw_now_mono_coarse(void);

/* ---- text helpers (no locale) ------------------------------------------ */
/* Appends decimal v to buf at *pos (bounded by cap, always NUL-terminated). */
void lw_fmt_u64(char *buf, size_t cap, size_t *pos, uint64_t v);
void lw_fmt_str(char *buf, size_t cap, size_t *pos, const char *s);
/* Zero-padded decimal of exactly `width` digits (more if v needs them). */
void lw_fmt_u64w(char *buf, size_t cap, size_t *pos, uint64_t v, int width);
/* strerror without locale or allocation ("error 123" when unknown). */
const char *lw_strerror(int err, char *buf, size_t cap);
/* Reads a small file (a /proc one) into buf, NUL-terminated: the bytes
 * read (at most cap - 1), or -1. One open/read/close; errno kept. */
long lw_read_small(const char *path, char *buf, size_t cap);
/* The decimal number at *p (blanks skipped first); advances *p past it.
 * -1 if no digit is there. */
long long lw_scan_dec(const char **p);

/* 64-bit random value (getrandom, falling back to a time/address mix). */
uint64_t lw_random64(void);
/* Kernel thread id, cached per thread (reset in a forked child). */
uint32_t lw_gettid(void);
void lw_tid_reset(void);

#endif /* LW_UTIL_H */
