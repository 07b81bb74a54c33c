/* test_unwind.c — the fast (cached-rule) unwinder against libgcc's.
 *
 * Random call chains through functions with and without frame pointers,
 * with fixed and alloca'd frames, C++ frames (test_unwind_cxx.cc) and a
 * dlopen'd library end in check_stack(), which takes the stack three ways
 * from one call site: libgcc only (which teaches the cache), cached walk
 * only, and the normal mode. Every cached walk that finishes and every
 * normal-mode stack must equal libgcc's exactly. Runs single-threaded, in 4
 * threads, with library A loaded, and after A is closed (through the shim's
 * lw_unwind_dlclose, which must clear the cache) with library B — same code
 * layout, different frame sizes — loaded, usually at A's address. Also
 * requires the cached walk to finish for most stacks, so that the test
 * exercises it. Fixed seeds. Usage: shim_test_unwind LIBA LIBB
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_unwind.h"
#include "unwind.h"
#include "unwind_cache.h"

#define CAP (LW_UNWIND_MAX + 64)

typedef uint64_t (*lib_rec_fn)(tu_next_fn next, int depth, uint64_t seed);
static lib_rec_fn _Atomic lib_rec;

static atomic_long n_checks, n_fast, n_bad;
static volatile int n_modes = 3;     /* opaque: the loop below must stay a loop */
static uint64_t lib_pc;              /* some return address inside the loaded library */
static uintptr_t lib_lo, lib_hi;

static void print_stack(const char *what, const uint64_t *pcs, int n)
{
	fprintf(stderr, "  %s (%d):", what, n);
	for (int i = 0; i < n; i++)
		fprintf(stderr, " %llx", (unsigned long long)pcs[i]);
	fprintf(stderr, "\n");
}

static __attribute__((noinline)) void check_stack(void)
{
	static const int modes[3] = { 1, 2, 0 };   /* slow, fast only, normal */
	uint64_t bufs[3][CAP];
	int n[3];
	for (int m = 0; m < n_modes; m++)
		n[m] = lw_unwind_raw(bufs[m], CAP, modes[m]);
	atomic_fetch_add(&n_checks, 1);
	int bad = 0;
	if (n[0] < 3)
		bad = 1;
	if (n[1] >= 0) {
		atomic_fetch_add(&n_fast, 1);
		if (n[1] != n[0] || memcmp(bufs[0], bufs[1], (size_t)n[0] * 8) != 0)
			bad = 1;
	}
	if (n[2] != n[0] || memcmp(bufs[0], bufs[2], (size_t)n[0] * 8) != 0)
		bad = 1;
	if (lib_hi != 0)
		for (int i = 0; i < n[0]; i++)
			if (bufs[0][i] >= lib_lo && bufs[0][i] < lib_hi)
				lib_pc = bufs[0][i];
	if (bad && atomic_fetch_add(&n_bad, 1) < 3) {
		fprintf(stderr, "shim_unwind: stacks differ\n");
		print_stack("libgcc", bufs[0], n[0]);
		print_stack("cached", bufs[1], n[1]);
		print_stack("normal", bufs[2], n[2]);
	}
}

uint64_t tu_next(int depth, uint64_t seed)
{
	if (depth <= 0) {
		check_stack();
		return 1;
	}
	lib_rec_fn lib = atomic_load(&lib_rec);
	switch ((seed >> 24) % (lib ? 8 : 6)) {
	case 0: return tu_fp_small(depth, seed) + 1;
	case 1: return tu_fp_alloca(depth, seed) + 2;
	case 2: return tu_nofp_small(depth, seed) + 3;
	case 3: return tu_nofp_big(depth, seed) + 4;
	case 4: return tu_nofp_alloca(depth, seed) + 5;
	case 5: return tu_cxx(depth, seed) + 6;
	default: return lib(tu_next, depth, seed) + 7;
	}
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void run_chains(uint64_t seed, int count)
{
	for (int i = 0; i < count; i++) {
		uint64_t r = splitmix(&seed);
		int depth = (r & 15) == 0 ? 150 + (int)(r >> 8) % 60 : 1 + (int)(r >> 8) % 60;
		(void)tu_next(depth, splitmix(&seed));
	}
}

static void *thread_main(void *arg)
{
	run_chains((uint64_t)(uintptr_t)arg, 1500);
	return NULL;
}

static int phase(const char *name, long checks0, long fast0)
{
	long c = atomic_load(&n_checks) - checks0, f = atomic_load(&n_fast) - fast0;
	printf("%-12s %6ld stacks, cached walk finished %6ld (%.1f%%), differing so far %ld\n",
	       name, c, f, c ? 100.0 * (double)f / (double)c : 0.0, (long)atomic_load(&n_bad));
	/* the libgcc walk just before taught the cache every frame, so the
	 * cached walk can only fail where a rule is ambiguous or NOCACHE */
	if (c == 0 || f * 10 < c * 8) {
		fprintf(stderr, "shim_unwind: %s: the cached walk finished too rarely\n", name);
		return 1;
	}
	return 0;
}

static int load(const char *path, void **h)
{
	*h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (*h == NULL) {
		fprintf(stderr, "shim_unwind: dlopen \"%s\": %s\n", path, dlerror());
		return 1;
	}
	Dl_info di;
	void *sym = dlsym(*h, "tu_lib_rec");
	if (sym == NULL || dladdr(sym, &di) == 0) {
		fprintf(stderr, "shim_unwind: \"%s\": no tu_lib_rec\n", path);
		return 1;
	}
	lib_lo = (uintptr_t)di.dli_fbase;
	lib_hi = lib_lo + (1u << 20);
	lib_pc = 0;
	atomic_store(&lib_rec, (lib_rec_fn)sym);
	return 0;
}

int main(int argc, char **argv)
{
	int fail = 0;
	long c0, f0;
	if (argc != 3) {
		fprintf(stderr, "usage: shim_test_unwind LIBA LIBB\n");
		return 2;
	}
	lw_unwind_init();
	lw_unwind_load();

	c0 = n_checks; f0 = n_fast;
	run_chains(1, 3000);
	fail |= phase("one thread", c0, f0);

	c0 = n_checks; f0 = n_fast;
	pthread_t th[4];
	for (uintptr_t i = 0; i < 4; i++)
		if (pthread_create(&th[i], NULL, thread_main, (void *)(i + 100)) != 0)
			return 2;
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	fail |= phase("4 threads", c0, f0);

	void *ha, *hb;
	if (load(argv[1], &ha))
		return 2;
	uintptr_t base_a = lib_lo;
	c0 = n_checks; f0 = n_fast;
	run_chains(7, 2000);
	fail |= phase("library A", c0, f0);
	uint64_t pc_a = lib_pc;
	if (pc_a == 0 || lw_ucache_get(pc_a) == 0) {
		fprintf(stderr, "shim_unwind: no cached rule inside library A\n");
		fail = 1;
	}
	atomic_store(&lib_rec, NULL);
	lib_hi = 0;
	if (lw_unwind_dlclose(dlclose, ha) != 0)
		return 2;
	if (pc_a != 0 && lw_ucache_get(pc_a) != 0) {
		fprintf(stderr, "shim_unwind: rule for %llx survived dlclose\n",
			(unsigned long long)pc_a);
		fail = 1;
	}

	if (load(argv[2], &hb))
		return 2;
	printf("library B loaded %s library A's address\n", lib_lo == base_a ? "at" : "NOT at");
	c0 = n_checks; f0 = n_fast;
	run_chains(7, 2000);
	fail |= phase("library B", c0, f0);

	if (atomic_load(&n_bad) != 0) {
		fprintf(stderr, "shim_unwind: %ld stacks differ\n", (long)atomic_load(&n_bad));
		fail = 1;
	}
	printf("%s\n", fail ? "FAIL" : "ok");
	return fail;
}
