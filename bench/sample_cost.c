/* sample_cost.c — per-call and per-sample cost of an allocator, for the
 * overhead benchmark (bench/run.py --micro).
 *
 * One thread descends a chain of non-inlined frames until the stack an
 * allocator sees at malloc is DEPTH frames deep (leaf loop, the chain, main
 * and the C runtime's three start-up frames: __libc_start_call_main,
 * __libc_start_main, _start), then runs PAIRS steps of a ring of LIVE
 * blocks: free the oldest block, malloc a new one of 32..144 bytes, touch
 * it. Under LEAKWATCH_RATE=1 every malloc is a sample and every free removes
 * a sampled block; at the default rate these small blocks are almost never
 * sampled (p = 1 - exp(-size/512 KiB), about 1 in 6,000), so the same
 * program measures the unsampled pair. The difference of the two, per pair,
 * is the cost of one sample (its malloc and its free).
 *
 * Time is the process CPU time (CLOCK_PROCESS_CPUTIME_ID), so work that a
 * profiler moves to another thread of the process still counts. The loop
 * starts after LIVE warm-up steps (tables grown, the stack interned).
 *
 * usage: sample_cost DEPTH PAIRS [LIVE]
 * prints: "depth D pairs N ns_per_pair X checksum C"
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* frames below the chain that the program does not control: main and the
 * C runtime (__libc_start_call_main, __libc_start_main, _start) */
#define OUTER_FRAMES 4

static long pairs;
static size_t live;
static void **ring;
static volatile uint64_t sink;

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Runs n steps; the allocation call site is always this function, so the
 * stack below malloc is this frame plus its callers. */
static __attribute__((noinline)) uint64_t steps(long n, long start)
{
	uint64_t sum = 0;
	for (long i = start; i < start + n; i++) {
		size_t k = (size_t)i % live;
		free(ring[k]);
		size_t size = 32 + (size_t)(i & 7) * 16;
		unsigned char *p = malloc(size);
		if (p == NULL)
			abort();
		p[0] = (unsigned char)i;
		sum += p[0] + size;
		ring[k] = p;
	}
	return sum;
}

static __attribute__((noinline)) uint64_t leaf(void)
{
	uint64_t sum = steps((long)live, 0);          /* warm-up */
	uint64_t t0 = cpu_ns();
	sum += steps(pairs, (long)live);
	uint64_t t1 = cpu_ns();
	printf("pairs %ld ns_per_pair %.2f ", pairs, (double)(t1 - t0) / (double)pairs);
	return sum;
}

/* One frame per level; the volatile add after the call keeps it from being
 * a tail call (a tail call would not leave a frame). */
static __attribute__((noinline)) uint64_t chain(int left)
{
	uint64_t r = left > 0 ? chain(left - 1) : leaf();
	sink += (uint64_t)left;
	return r + 1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: sample_cost DEPTH PAIRS [LIVE]\n");
		return 2;
	}
	int depth = atoi(argv[1]);
	pairs = atol(argv[2]);
	live = argc > 3 ? (size_t)atol(argv[3]) : 4096;
	/* frames at malloc: steps, leaf, chain x (left+1), OUTER_FRAMES */
	int left = depth - 2 - OUTER_FRAMES - 1;
	if (left < 0 || pairs < 1 || live < 1) {
		fprintf(stderr, "sample_cost: DEPTH must be >= %d, PAIRS and LIVE >= 1\n",
			3 + OUTER_FRAMES);
		return 2;
	}
	ring = calloc(live, sizeof(void *));
	if (ring == NULL)
		return 1;
	printf("depth %d ", depth);
	uint64_t sum = chain(left);
	for (size_t k = 0; k < live; k++)
		free(ring[k]);
	free(ring);
	printf("checksum %llu\n", (unsigned long long)sum);
	return 0;
}
