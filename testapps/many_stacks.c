/* many_stacks.c — a service with thousands of distinct allocation stacks,
 * for measuring what a snapshot costs on disk (docs/PERFORMANCE.md) and for
 * the disk-budget tests.
 *
 * Stacks: four levels of ten call sites each (10^4 distinct paths), chosen
 * by the digits of the stack number, under a fixed chain of --pad frames, so
 * stack k has depth --pad + 4 + the frames above main. Every function mixes
 * its own constant into a global, so no two are identical and the compiler
 * cannot fold them (GCC's -fipa-icf) into one return address.
 *
 * Work: --rounds rounds; in each, every stack whose number falls in the
 * round's window of --change-frac of all stacks allocates one block of
 * --size bytes (kept in its slot, the previous one freed). Every --leak-every
 * th stack never frees: its blocks pile up (a leak). So the set of stacks
 * whose counters change per round is controlled; with --snapshot-each the
 * program asks for a snapshot after every round (leakwatch_snapshot), which
 * paces files by work instead of by time (the scaled 7-day projection).
 * --round-s sleeps between rounds. At the end it prints
 *   done rounds=R stacks=N
 * --exit-after-s T leaves with _exit(0) (no exit handlers, no final
 * snapshot, whatever the shim's writer thread is doing) once T seconds have
 * passed, checked between allocations.
 * Single-threaded; deterministic for its arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "app_common.h"

typedef void *(*site_fn)(unsigned code, size_t size);

static volatile unsigned mix;

static LW_APP_NOINLINE void *leaf_alloc(size_t size)
{
	void *p = malloc(size);
	app_touch(p, size, (unsigned)size);
	mix += (unsigned)(uintptr_t)p;
	return p;
}

/* Level 3 calls malloc through leaf_alloc; levels 0..2 call the next level
 * through a table, each from its own call site. */
#define SITE(L, D, BODY)                                                  \
	static LW_APP_NOINLINE void *site_##L##_##D(unsigned code, size_t size) \
	{                                                                 \
		mix ^= 0x9e3779b9u * (L * 10u + D + 1u);                  \
		void *p = BODY;                                           \
		mix += (unsigned)(uintptr_t)p;                            \
		return p;                                                 \
	}
#define LEVEL(L, BODY)                                                    \
	SITE(L, 0, BODY) SITE(L, 1, BODY) SITE(L, 2, BODY) SITE(L, 3, BODY) \
	SITE(L, 4, BODY) SITE(L, 5, BODY) SITE(L, 6, BODY) SITE(L, 7, BODY) \
	SITE(L, 8, BODY) SITE(L, 9, BODY)
#define TABLE(L)                                                          \
	static site_fn const level_##L[10] = {                            \
		site_##L##_0, site_##L##_1, site_##L##_2, site_##L##_3,   \
		site_##L##_4, site_##L##_5, site_##L##_6, site_##L##_7,   \
		site_##L##_8, site_##L##_9 };

LEVEL(3, leaf_alloc(size + (code & 0)))
TABLE(3)
LEVEL(2, level_3[code % 10](code / 10, size))
TABLE(2)
LEVEL(1, level_2[code % 10](code / 10, size))
TABLE(1)
LEVEL(0, level_1[code % 10](code / 10, size))
TABLE(0)

static LW_APP_NOINLINE void *padded(int pad, unsigned code, size_t size)
{
	if (pad > 0) {
		void *p = padded(pad - 1, code, size);
		mix += (unsigned)pad;
		return p;
	}
	void *p = level_0[code % 10](code / 10, size);
	mix += 1;
	return p;
}

int main(int argc, char **argv)
{
	long n = app_opt_long(argc, argv, "stacks", 5000);
	long rounds = app_opt_long(argc, argv, "rounds", 10);
	long pad = app_opt_long(argc, argv, "pad", 4);
	long size = app_opt_long(argc, argv, "size", 64);
	long leak_every = app_opt_long(argc, argv, "leak-every", 10);
	double frac = app_opt_double(argc, argv, "change-frac", 1.0);
	double round_s = app_opt_double(argc, argv, "round-s", 0);
	int snap_each = app_opt_flag(argc, argv, "snapshot-each");
	double exit_after = app_opt_double(argc, argv, "exit-after-s", 0);
	double t0 = app_now();

	if (n < 1 || n > 10000 || rounds < 0 || pad < 0 || pad > 64 || size < 1 ||
	    frac <= 0 || frac > 1) {
		fprintf(stderr, "many_stacks: --stacks 1..10000, --pad 0..64, --change-frac (0,1]\n");
		return 2;
	}
	void **slot = calloc((size_t)n, sizeof(void *));
	long window = (long)(frac * (double)n + 0.5);
	if (window < 1)
		window = 1;
	for (long r = 0; r < rounds; r++) {
		/* round 0 touches every stack, so all of them exist from the start */
		long first = r == 0 ? 0 : (r * window) % n;
		long count = r == 0 ? n : window;
		for (long j = 0; j < count; j++) {
			long k = (first + j) % n;
			void *p = padded((int)pad, (unsigned)k, (size_t)size);
			if (leak_every <= 0 || k % leak_every != 0)
				free(slot[k]);
			slot[k] = p;
			if (exit_after > 0 && (j & 63) == 0 && app_now() - t0 >= exit_after)
				_exit(0);
		}
		if (snap_each)
			app_snapshot_quiet();
		if (round_s > 0)
			app_sleep(round_s);
	}
	printf("done rounds=%ld stacks=%ld\n", rounds, n);
	for (long k = 0; k < n; k++)
		if (leak_every <= 0 || k % leak_every != 0)
			free(slot[k]);
	free(slot);
	return 0;
}
