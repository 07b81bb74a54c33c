/* roots_common.h — shared by the root-kind testapps (testapps/root_*.c).
 *
 * Role: each root_* program keeps blocks alive through one kind of root
 * (module globals, static TLS, dynamic TLS, pthread_setspecific, a thread's
 * start argument, a coroutine stack, registers) and drops control blocks,
 * then reaches ONE checkpoint at which the process is examined, by either
 * tool, with the same heap:
 *   - leakwatch: run under LD_PRELOAD=libleakwatch.so; the checkpoint takes
 *     a full dump with leakwatch_dump();
 *   - LeakSanitizer: the same source built with clang -fsanitize=leak; the
 *     checkpoint runs __lsan_do_recoverable_leak_check().
 * Both are weak symbols, so one source serves both builds.
 *
 * Invariants the tests rely on (tests/heap/test_roots.py):
 *   - every marked allocation site is a noinline function named keep_*
 *     (must stay reachable) or drop_* (must be lost), and each allocates
 *     blocks of a size no other site uses, so LeakSanitizer's report (read
 *     without symbols: "Direct leak of B byte(s) in N object(s)") and
 *     leakwatch's sites can be matched;
 *   - no stale copy of a dropped pointer survives in a live frame or a
 *     register: drop_* functions return nothing, and roots_scrub() zeroes
 *     the dead stack below the caller before it blocks or checks;
 *   - output: "tid NAME=TID" lines for the threads whose roots the test
 *     expects, then "checkpoint TOOL rc=R", flushed at once;
 *   - a second thread ("worker") sets up its roots, then parks in read()
 *     until the program exits (roots_start_worker, roots_worker_ready).
 * The programs exit with _exit(0) after their checkpoint, so
 * LeakSanitizer's at-exit check does not run twice.
 */
#ifndef LW_ROOTS_COMMON_H
#define LW_ROOTS_COMMON_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "app_common.h"

int leakwatch_dump(void) __attribute__((weak));
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static inline void roots_checkpoint(void)
{
	fflush(stdout);
	const char *tool = "none";
	int rc = -1;
	if (__lsan_do_recoverable_leak_check) {
		tool = "lsan";
		rc = __lsan_do_recoverable_leak_check();
	} else if (leakwatch_dump) {
		tool = "leakwatch";
		rc = leakwatch_dump();
	}
	printf("checkpoint %s rc=%d\n", tool, rc);
	fflush(stdout);
}

/* A block of n bytes that holds no pointer (filled with 0x5a). */
static inline void *roots_block(void *p, size_t n)
{
	if (!p)
		abort();
	memset(p, 0x5a, n);
	return p;
}

/* Drops a block: the volatile store keeps the compiler from deleting the
 * allocation (clang removes a malloc whose result is never read), and the
 * second store forgets it. */
static void *volatile roots_sink;
static inline void roots_drop(void *p)
{
	roots_sink = p;
	roots_sink = NULL;
}

/* Zeroes 256 KiB of dead stack below the caller's frame (the shim's
 * sampling path runs deep below an allocation site). A plain loop, not
 * memset: the first call through a lazily bound PLT entry makes ld.so save
 * every register below the frame, and a register may still hold a dropped
 * pointer. */
LW_APP_NOINLINE __attribute__((unused)) static void roots_scrub(void)
{
	volatile char buf[262144];
	for (size_t i = 0; i < sizeof buf; i += 8)
		*(volatile uint64_t *)(uintptr_t)&buf[i] = 0;
}

/* Zeroes the caller-saved general registers, which may still hold a
 * dropped pointer; before code that saves registers into memory the scan
 * reads (getcontext/swapcontext into a global ucontext_t). */
LW_APP_NOINLINE __attribute__((unused)) static void roots_clear_regs(void)
{
	__asm__ volatile("xor %%eax, %%eax\n\txor %%ecx, %%ecx\n\txor %%edx, %%edx\n\t"
			 "xor %%esi, %%esi\n\txor %%edi, %%edi\n\txor %%r8d, %%r8d\n\t"
			 "xor %%r9d, %%r9d\n\txor %%r10d, %%r10d\n\txor %%r11d, %%r11d"
			 : : : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11");
}

static inline void roots_tid(const char *name)
{
	printf("tid %s=%ld\n", name, (long)syscall(SYS_gettid));
	fflush(stdout);
}

/* The thread "worker" most programs keep their second thread's roots in:
 * roots_start_worker() starts fn(arg) and returns once the worker called
 * roots_worker_ready() (after setting up its roots), which scrubs its dead
 * stack, prints its tid, and never returns. roots_worker_signal() only
 * says "ready" (for a worker that parks its own way). */
static int roots_ready_pipe[2] = { -1, -1 }, roots_park_pipe[2] = { -1, -1 };

static inline void roots_worker_signal(void)
{
	roots_tid("worker");
	char c = 1;
	if (write(roots_ready_pipe[1], &c, 1) != 1)
		abort();
}

__attribute__((unused, noreturn)) static void roots_worker_ready(void)
{
	roots_scrub();
	roots_worker_signal();
	char c;
	for (;;)
		if (read(roots_park_pipe[0], &c, 1) == 1)
			abort();               /* nobody writes: parked until _exit */
}

__attribute__((unused)) static void roots_start_worker(void *(*fn)(void *), void *arg)
{
	pthread_t th;
	if (pipe(roots_ready_pipe) || pipe(roots_park_pipe) || pthread_create(&th, NULL, fn, arg))
		abort();
	char c;
	while (read(roots_ready_pipe[0], &c, 1) < 0)
		;
}

#endif /* LW_ROOTS_COMMON_H */
