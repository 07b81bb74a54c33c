/* heap_bench.c — scale figures of the heap-graph dump (docs/PERFORMANCE.md).
 *
 *   heap_bench MIB BLOCKS [THREADS] [OUT.lwd]
 *
 * Builds a mimalloc heap (linked directly) of about MIB MiB in BLOCKS blocks
 * (sizes 16..(2*avg) bytes; each block's first word points to a random
 * earlier block, the rest is non-pointer data), starts THREADS idle threads
 * (default 4), then measures, in the parent, interleaved round by round
 * (21 rounds, medians and ranges):
 *   bare fork       glibc fork() whose child exits at once
 *   bare clone      lw_heapgraph_clone() (the dump child's raw clone, no
 *                   exit signal) whose child exits at once
 *   dump pause      lw_heapgraph_stop_threads + lw_heapgraph_clone + resume,
 *                   as in preload/heapdump.c (which also takes the shim's
 *                   uncontended locks around the clone)
 * and in one dump child: the walk (lw_heapwalk_run), the scan and the write
 * of the graph sections (lw_heapgraph_write) into OUT (default a temporary
 * file that is removed), its size, and the scan rate. Prints one line per
 * figure. Not a test: run by hand (bench/ or docs/PERFORMANCE.md).
 */
#include <fcntl.h>
#include <mimalloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "heapgraph.h"
#include "heapwalk.h"
#include "lwd.h"
#include "lwd_graph.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int park[2];
static void *idle(void *arg)
{
	(void)arg;
	char c;
	while (read(park[0], &c, 1) < 0)
		;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: heap_bench MIB BLOCKS [THREADS] [OUT.lwd]\n");
		return 2;
	}
	uint64_t mib = strtoull(argv[1], NULL, 10), nblocks = strtoull(argv[2], NULL, 10);
	int nthreads = argc > 3 ? atoi(argv[3]) : 4;
	const char *out = argc > 4 ? argv[4] : NULL;
	uint64_t avg = (mib << 20) / (nblocks ? nblocks : 1);
	if (avg < 16) avg = 16;
	void **blocks = mmap(NULL, nblocks * sizeof(void *), PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t r = 88172645463325252ull, total = 0;
	uint64_t t0 = now_ns();
	for (uint64_t i = 0; i < nblocks; i++) {
		r ^= r << 13; r ^= r >> 7; r ^= r << 17;
		size_t sz = 16 + (size_t)(r % (2 * avg - 16));
		uint64_t *b = mi_malloc(sz);
		b[0] = i ? (uint64_t)(uintptr_t)blocks[r % i] : 0;
		for (size_t k = 1; k < sz / 8; k++)
			b[k] = k * 7;
		blocks[i] = b;
		total += mi_usable_size(b);
	}
	printf("heap: %llu blocks, %.1f MiB usable, built in %.2f s\n", (unsigned long long)nblocks,
	       total / 1048576.0, (now_ns() - t0) / 1e9);
	if (pipe(park)) return 1;
	pthread_t th[64];
	for (int i = 0; i < nthreads && i < 64; i++)
		pthread_create(&th[i], NULL, idle, NULL);
	usleep(50000);

	fflush(stdout);
	lw_heapgraph_install();
	lw_hg_threads *ts = mmap(NULL, sizeof *ts, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
#define ROUNDS 21
	uint64_t bare[ROUNDS], bclone[ROUNDS], pause[ROUNDS], capture[ROUNDS], ratio[ROUNDS];
	uint64_t cbare[ROUNDS], cclone[ROUNDS], cpause[ROUNDS];   /* the calling thread's CPU time */
	for (int k = 0; k < ROUNDS; k++) {
		/* the three measurements in a rotating order, so that none
		 * always follows another */
		for (int step = 0; step < 3; step++) {
			uint64_t a = now_ns(), ca = cpu_ns();
			switch ((k + step) % 3) {
			case 0: {
				pid_t p = fork();
				if (p == 0) _exit(0);
				bare[k] = now_ns() - a;
				cbare[k] = cpu_ns() - ca;
				waitpid(p, NULL, 0);
				break;
			}
			case 1: {
				long c = lw_heapgraph_clone();
				if (c == 0) _exit(0);
				bclone[k] = now_ns() - a;
				cclone[k] = cpu_ns() - ca;
				waitpid((pid_t)c, NULL, __WALL);
				break;
			}
			default: {
				lw_heapgraph_stop_threads(ts);
				capture[k] = now_ns() - a;
				long c = lw_heapgraph_clone();
				if (c == 0) _exit(0);
				lw_heapgraph_resume_threads(ts);
				pause[k] = now_ns() - a;
				cpause[k] = cpu_ns() - ca;
				waitpid((pid_t)c, NULL, __WALL);
				break;
			}
			}
		}
		ratio[k] = pause[k] * 1000 / (bare[k] ? bare[k] : 1);
	}
	qsort(bare, ROUNDS, sizeof bare[0], cmp_u64);
	qsort(bclone, ROUNDS, sizeof bclone[0], cmp_u64);
	qsort(pause, ROUNDS, sizeof pause[0], cmp_u64);
	qsort(ratio, ROUNDS, sizeof ratio[0], cmp_u64);
	qsort(capture, ROUNDS, sizeof capture[0], cmp_u64);
	qsort(cbare, ROUNDS, sizeof cbare[0], cmp_u64);
	qsort(cclone, ROUNDS, sizeof cclone[0], cmp_u64);
	qsort(cpause, ROUNDS, sizeof cpause[0], cmp_u64);
	printf("bare fork: median %.2f ms (%.2f..%.2f)\n", bare[ROUNDS / 2] / 1e6, bare[0] / 1e6,
	       bare[ROUNDS - 1] / 1e6);
	printf("bare clone (no exit signal): median %.2f ms (%.2f..%.2f)\n", bclone[ROUNDS / 2] / 1e6,
	       bclone[0] / 1e6, bclone[ROUNDS - 1] / 1e6);
	printf("dump pause (capture %d threads + clone + resume): median %.2f ms (%.2f..%.2f)\n",
	       nthreads + 1, pause[ROUNDS / 2] / 1e6, pause[0] / 1e6, pause[ROUNDS - 1] / 1e6);
	printf("  of which the capture (signal, registers, park): median %.2f ms (%.2f..%.2f)\n",
	       capture[ROUNDS / 2] / 1e6, capture[0] / 1e6, capture[ROUNDS - 1] / 1e6);
	printf("dump pause / bare fork, same round: median %.2f (%.2f..%.2f)\n", ratio[ROUNDS / 2] / 1e3,
	       ratio[0] / 1e3, ratio[ROUNDS - 1] / 1e3);
	printf("CPU time of the calling thread, medians: bare fork %.2f ms, bare clone %.2f ms, dump pause %.2f ms\n",
	       cbare[ROUNDS / 2] / 1e6, cclone[ROUNDS / 2] / 1e6, cpause[ROUNDS / 2] / 1e6);

	fflush(stdout);
	/* one real dump child */
	char tmpl[] = "/tmp/heap_bench_XXXXXX";
	int fd = out ? open(out, O_RDWR | O_CREAT | O_TRUNC, 0600) : mkstemp(tmpl);
	if (fd < 0) { perror("open"); return 1; }
	if (!out) unlink(tmpl);
	if (lw_heapwalk_canary_start()) { fprintf(stderr, "canary\n"); return 1; }
	lw_heapgraph_stop_threads(ts);
	uint64_t fa = now_ns();
	long p = lw_heapgraph_clone();
	if (p == 0) {
		uint64_t w0 = now_ns();
		lw_heapwalk hw;
		int rc = lw_heapwalk_run(&hw);
		uint64_t cpu_mark = 0;
		uint64_t w1 = now_ns();
		double walk_s = (w1 - w0) / 1e9;
		if (rc) { fprintf(stderr, "walk: %d\n", rc); _exit(1); }
		/* the scan core alone: every word of every live block through the
		 * range filter and lw_heapwalk_find, no writing */
		{
			uint64_t s0 = now_ns(), c0 = cpu_ns(), hits = 0, bytes = 0, a, sz, slot = 0;
			size_t pg = 0;
			while (lw_heapwalk_next(&hw, &pg, &slot, &a, &sz)) {
				const uint64_t *q = (const uint64_t *)a, *e = (const uint64_t *)(a + sz);
				bytes += sz;
				for (; q < e; q++)
					if (*q - hw.lo < hw.hi - hw.lo && lw_heapwalk_find(&hw, *q, NULL) != LW_HW_NONE)
						hits++;
			}
			uint64_t s1 = now_ns(), c1 = cpu_ns();
			printf("child: scan core %.3f s wall, %.3f s cpu: %.2f GB/s per cpu-second over %.1f MiB, %llu pointers resolved\n",
			       (s1 - s0) / 1e9, (c1 - c0) / 1e9, bytes / ((c1 - c0) / 1e9) / 1e9, bytes / 1048576.0,
			       (unsigned long long)hits);
			c0 = cpu_ns();
			cpu_mark = c0;
			w1 = now_ns();
		}
		size_t cap = 1 << 20;
		void *buf = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		lw_writer w;
		lw_writer_begin(&w, &lw_io_system, fd, buf, cap, LWD_KIND_DUMP, 1, 0);
		lw_hg_stats st;
		rc = lw_heapgraph_write(&w, &hw, ts, NULL, 0, NULL, 0, NULL, 0, &st);
		lw_writer_finish(&w);
		uint64_t w2 = now_ns();
		double write_cpu = (cpu_ns() - cpu_mark) / 1e9;
		struct stat sb;
		fstat(fd, &sb);
		printf("child: walk %.3f s (%llu blocks, %.1f MiB live, %zu pages, %zu segments); "
		       "scan+write %.3f s: %.2f GB/s over %.1f MiB scanned; %llu edges, %llu roots\n",
		       walk_s, (unsigned long long)hw.n_blocks, hw.live_bytes / 1048576.0,
		       hw.n_pages, hw.n_segs, (w2 - w1) / 1e9, st.scanned_bytes / ((w2 - w1) / 1e9) / 1e9,
		       st.scanned_bytes / 1048576.0, (unsigned long long)st.edges,
		       (unsigned long long)st.roots);
		printf("child: scan+write cpu %.3f s: %.2f GB/s per cpu-second\n", write_cpu,
		       st.scanned_bytes / write_cpu / 1e9);
		printf("graph sections: %.1f MiB (%.1f bytes per block); child total %.3f s\n",
		       sb.st_size / 1048576.0, (double)sb.st_size / (double)hw.n_blocks, (w2 - w0) / 1e9 - 0.0);
		fflush(stdout);
		_exit(rc ? 1 : 0);
	}
	lw_heapgraph_resume_threads(ts);
	lw_heapwalk_canary_release();
	int status;
	waitpid((pid_t)p, &status, __WALL);
	printf("child wall (fork to exit, seen by the parent): %.3f s, status %d\n", (now_ns() - fa) / 1e9, status);
	for (int i = 0; i < nthreads && i < 64; i++)
		if (write(park[1], "x", 1) != 1) return 1;
	for (int i = 0; i < nthreads && i < 64; i++)
		pthread_join(th[i], NULL);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
