/* heap_walk_test.c — unit test of preload/heapwalk.c against the truth.
 *
 * Links Debian's mimalloc directly (which then also serves malloc). Allocates
 * blocks of every size class (small, medium, large, huge > 32 MiB) in the
 * main thread and in threads that exit (their segments are abandoned), frees
 * some locally, some from other threads (including blocks of full pages, which
 * go to the owning heap's delayed-free list), then forks; the child walks and
 * compares with the truth: the blocks mimalloc's own API visits in the main
 * heap (mi_heap_visit_blocks, exact) plus the blocks the exited threads still
 * own (recorded by the test). The two sets must be equal, sizes included.
 * A second check: the walk refuses to run without canaries (self-check).
 */
#include <errno.h>
#include <mimalloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heapwalk.h"

#define FAIL(...) do { fprintf(stderr, "heap_walk_test: " __VA_ARGS__); fputc('\n', stderr); _exit(1); } while (0)

typedef struct blk { uint64_t addr, size; } blk;

static void *aligned[6];   /* aligned allocations: must resolve to a block */

/* records of blocks allocated by worker threads that are still live */
#define MAXREC 400000
static blk *rec;
static size_t n_rec;
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static void *handoff[20000];
static size_t n_handoff;

static void record(void *p)
{
	pthread_mutex_lock(&rec_lock);
	rec[n_rec].addr = (uint64_t)p;
	rec[n_rec].size = mi_usable_size(p);
	n_rec++;
	pthread_mutex_unlock(&rec_lock);
}

static const size_t sizes[] = { 8, 16, 24, 48, 100, 256, 1000, 1024, 4000, 8192, 20000,
				70000, 130000, 600000, 3u << 20, 17u << 20, 40u << 20 };
#define NSIZES (sizeof sizes / sizeof sizes[0])

static uint64_t rnd = 88172645463325252ull;
static uint64_t next_rand(void) { rnd ^= rnd << 13; rnd ^= rnd >> 7; rnd ^= rnd << 17; return rnd; }

/* A worker: allocates, frees half locally, hands some to main to free, exits. */
static void *worker(void *arg)
{
	uint64_t seed = (uint64_t)(uintptr_t)arg;
	void *mine[3000];
	size_t n = 0;
	for (size_t i = 0; i < 3000; i++) {
		size_t s = sizes[(i * 7 + seed) % (NSIZES - 1)];   /* huge only below */
		if (s > 100000 && i % 50) s = 64;
		mine[n++] = mi_malloc(s);
	}
	if (seed == 1) mine[n - 1] = mi_realloc(mine[n - 1], 40u << 20);   /* huge */
	for (size_t i = 0; i < n; i++) {
		if (i % 3 == 0) { mi_free(mine[i]); continue; }
		if (i % 5 == 0) {
			pthread_mutex_lock(&rec_lock);
			handoff[n_handoff++] = mine[i];
			pthread_mutex_unlock(&rec_lock);
			continue;
		}
		record(mine[i]);
	}
	return NULL;
}

static void *freer(void *arg)
{
	void **v = arg;
	for (size_t i = 1; i < 20000; i += 7) { mi_free(v[i]); v[i] = NULL; }
	return NULL;
}

static blk *truth;
static size_t n_truth;
static bool visit(const mi_heap_t *heap, const mi_heap_area_t *area, void *block, size_t bsize, void *arg)
{
	(void)heap; (void)area; (void)arg;
	if (block && n_truth < 4 * MAXREC) {
		truth[n_truth].addr = (uint64_t)block;
		truth[n_truth].size = bsize;
		n_truth++;
	}
	return true;
}

static int cmp_blk(const void *a, const void *b)
{
	const blk *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void child(void)
{
	/* walk first: the truth below needs mimalloc to process its delayed-free
	 * lists (mi_heap_collect), which changes the heap */
	lw_heapwalk hw;
	int rc = lw_heapwalk_run(&hw);
	if (rc) FAIL("lw_heapwalk_run: %d", rc);

	truth = mmap(NULL, 8 * MAXREC * sizeof(blk), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (truth == MAP_FAILED) FAIL("mmap");
	mi_heap_collect(mi_heap_get_default(), false);
	mi_heap_visit_blocks(mi_heap_get_default(), true, visit, NULL);
	size_t from_api = n_truth;
	for (size_t i = 0; i < n_rec; i++)    /* exited threads' live blocks */
		truth[n_truth++] = rec[i];
	qsort(truth, n_truth, sizeof(blk), cmp_blk);
	size_t w = 0;                          /* dedupe (reclaimed pages: both sources) */
	for (size_t i = 0; i < n_truth; i++)
		if (w == 0 || truth[w - 1].addr != truth[i].addr) truth[w++] = truth[i];
	n_truth = w;

	if (hw.n_blocks != n_truth)
		fprintf(stderr, "heap_walk_test: walk found %llu blocks, truth %zu (api %zu, threads %zu)\n",
			(unsigned long long)hw.n_blocks, n_truth, from_api, n_rec);
	size_t pg = 0; uint64_t slot = 0, a, s, i = 0;
	int bad = 0;
	while (lw_heapwalk_next(&hw, &pg, &slot, &a, &s)) {
		if (i >= n_truth || truth[i].addr != a || truth[i].size != s) {
			if (bad++ < 10)
				fprintf(stderr, "heap_walk_test: block %llu: walk %#llx+%llu truth %#llx+%llu\n",
					(unsigned long long)i, (unsigned long long)a, (unsigned long long)s,
					i < n_truth ? (unsigned long long)truth[i].addr : 0ull,
					i < n_truth ? (unsigned long long)truth[i].size : 0ull);
			while (i < n_truth && truth[i].addr < a) i++;
			if (i >= n_truth || truth[i].addr != a) continue;
		}
		/* lookup: start and interior resolve to i */
		int interior = -1;
		if (lw_heapwalk_find(&hw, a, &interior) != i || interior != 0) FAIL("find start of block %llu", (unsigned long long)i);
		if (s > 8 && (lw_heapwalk_find(&hw, a + s - 1, &interior) != i || interior != 1))
			FAIL("find interior of block %llu", (unsigned long long)i);
		uint64_t ba, bs;
		if ((i % 97) == 0) {
			lw_heapwalk_block(&hw, (uint32_t)i, &ba, &bs);
			if (ba != a || bs != s) FAIL("lw_heapwalk_block(%llu)", (unsigned long long)i);
		}
		i++;
	}
	if (bad || i != n_truth || hw.n_blocks != n_truth)
		FAIL("walk differs from truth: %d mismatches, %llu walked, %zu truth", bad, (unsigned long long)i, n_truth);
	/* freed blocks of the handoff list are not found */
	for (size_t k = 0; k < n_handoff; k++)
		if (lw_heapwalk_find(&hw, (uint64_t)handoff[k], NULL) != LW_HW_NONE) {
			/* may have been reused by a later allocation: then it is in truth */
			blk key = { (uint64_t)handoff[k], 0 };
			if (!bsearch(&key, truth, n_truth, sizeof(blk), cmp_blk))
				FAIL("freed block %p reported live", handoff[k]);
		}
	printf("heap_walk_test: %llu blocks, %llu bytes, %zu pages, %zu segments, %u abandoned pages, %u heaps, %u inconsistent\n",
	       (unsigned long long)hw.n_blocks, (unsigned long long)hw.live_bytes, hw.n_pages, hw.n_segs,
	       hw.n_abandoned_pages, hw.n_heaps, hw.n_inconsistent_pages);
	for (int k = 0; k < 6; k++)
		if (lw_heapwalk_find(&hw, (uint64_t)aligned[k], NULL) == LW_HW_NONE)
			FAIL("aligned block %d (%p) not found", k, aligned[k]);
	if (hw.n_abandoned_pages == 0) FAIL("no abandoned pages seen: the test lost its point");
	if (hw.n_inconsistent_pages) FAIL("inconsistent pages in a quiescent heap");
	lw_heapwalk_free(&hw);
	fflush(stdout);
	_exit(0);
}

int main(void)
{
	if (mi_version() != 209) { printf("SKIP: mimalloc %d\n", mi_version()); return 77; }
	rec = mmap(NULL, MAXREC * sizeof(blk), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rec == MAP_FAILED) return 1;

	/* refused without canaries */
	lw_heapwalk hw0;
	if (lw_heapwalk_run(&hw0) != -ENOTSUP) FAIL("walk ran without its self-check canaries");

	/* main thread: every size class, some full pages */
	static void *mainblk[20000];
	for (size_t i = 0; i < 20000; i++) {
		size_t sz = sizes[next_rand() % NSIZES];
		if (sz > 100000 && next_rand() % 64) sz = 32;
		mainblk[i] = mi_malloc(sz);
	}
	for (size_t i = 0; i < 20000; i += 4) { mi_free(mainblk[i]); mainblk[i] = NULL; }
	/* aligned blocks, including alignments above MI_ALIGNMENT_MAX (16 MiB)
	 * that mimalloc serves from a dedicated huge segment */
	aligned[0] = mi_malloc_aligned(100, 64);
	aligned[1] = mi_malloc_aligned(5000, 4096);
	aligned[2] = mi_malloc_aligned(100000, 1 << 20);
	aligned[3] = mi_malloc_aligned(1000, 32u << 20);
	aligned[4] = mi_malloc_aligned(40u << 20, 64u << 20);
	aligned[5] = mi_malloc_aligned(3000, 8);
	for (int i = 0; i < 6; i++) if (!aligned[i]) FAIL("aligned alloc %d", i);

	pthread_t t[6];
	for (uintptr_t i = 0; i < 6; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)(i + 1))) FAIL("pthread_create");
	for (int i = 0; i < 6; i++) pthread_join(t[i], NULL);
	/* cross-thread frees of exited threads' blocks (abandoned pages) */
	for (size_t k = 0; k < n_handoff; k++) mi_free(handoff[k]);

	/* a thread frees main's blocks while main's pages are full (delayed free) */
	pthread_t fr;
	if (pthread_create(&fr, NULL, freer, mainblk)) FAIL("pthread_create");
	pthread_join(fr, NULL);

	if (lw_heapwalk_canary_start()) FAIL("canary start");
	pid_t pid = fork();
	if (pid < 0) FAIL("fork");
	if (pid == 0) child();
	lw_heapwalk_canary_release();
	int st;
	if (waitpid(pid, &st, 0) != pid) FAIL("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) FAIL("child failed (status %#x)", st);
	return 0;
}
