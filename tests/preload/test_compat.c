/* test_compat.c — jemalloc's own API as the shim serves it (preload/compat.c),
 * run under LD_PRELOAD=libleakwatch.so (suite integration).
 *
 * Built twice: shim_test_compat (no jemalloc in the process: names the shim
 * does not answer give ENOENT) and shim_test_compat_je (linked against
 * Debian's libjemalloc.so.2 like redis-server: those names reach jemalloc).
 * The functions are looked up with dlsym, so the first binary links without
 * jemalloc; both must resolve to libleakwatch.so.
 *
 * Checks: jemalloc 5.3's return codes for every name the shim answers
 * (ENOENT, EPERM, EINVAL with a partial copy into a short buffer, EFAULT,
 * EAGAIN), errno untouched by every call, figures that follow a 64 MiB
 * block being touched, freed and purged, mibs, malloc_stats_print in text
 * and JSON, and the *allocx family (alignment for every lg_align up to 4 KiB,
 * MALLOCX_ZERO, rallocx, nallocx against sallocx, mixing with free/malloc,
 * failures). With LEAKWATCH_RATE=1 and LEAKWATCH_DIR set, it also checks
 * that mallocx/rallocx/dallocx are sampled exactly like malloc.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LEAKWATCH_WEAK
#include "leakwatch.h"
#include "lwd.h"

#define LG_ALIGN(la) ((int)(la))
#define ZERO 0x40
#define ROUNDS 200

typedef int mallctl_fn(const char *, void *, size_t *, void *, size_t);
typedef int nametomib_fn(const char *, size_t *, size_t *);
typedef int bymib_fn(const size_t *, size_t, void *, size_t *, void *, size_t);
typedef void write_cb(void *, const char *);
typedef void stats_print_fn(write_cb *, void *, const char *);
typedef void *mallocx_fn(size_t, int);
typedef void *rallocx_fn(void *, size_t, int);
typedef size_t xallocx_fn(void *, size_t, size_t, int);
typedef size_t sallocx_fn(const void *, int);
typedef void dallocx_fn(void *, int);
typedef void sdallocx_fn(void *, size_t, int);
typedef size_t nallocx_fn(size_t, int);

static mallctl_fn *ctl;
static nametomib_fn *nametomib;
static bymib_fn *bymib;
static stats_print_fn *stats_print;
static mallocx_fn *mallocx_;
static rallocx_fn *rallocx_;
static xallocx_fn *xallocx_;
static sallocx_fn *sallocx_;
static dallocx_fn *dallocx_;
static sdallocx_fn *sdallocx_;
static nallocx_fn *nallocx_;

static int failures, with_jemalloc;

#ifdef LW_TEST_WITH_JEMALLOC
/* A real reference, so that the linker keeps libjemalloc.so.2 as a
 * dependency (as in redis-server); at run time it binds to the shim. */
extern int mallctl(const char *, void *, size_t *, void *, size_t);
mallctl_fn *volatile lw_test_needs_jemalloc = mallctl;
#endif

static void expect(int ok, const char *what)
{
	printf("%-70s %s\n", what, ok ? "ok" : "FAIL");
	if (!ok)
		failures++;
}

static void *sym(const char *name)
{
	void *p = dlsym(RTLD_DEFAULT, name);
	Dl_info di;
	char what[128];
	snprintf(what, sizeof(what), "%s resolves to libleakwatch.so", name);
	expect(p != NULL && dladdr(p, &di) && strstr(di.dli_fname, "libleakwatch.so"), what);
	return p;
}

/* mallctl with errno poisoned before and checked after */
static int mc(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
{
	errno = 4242;
	int r = ctl(name, oldp, oldlenp, newp, newlen);
	if (errno != 4242) {
		printf("   mallctl(\"%s\") changed errno to %d\n", name ? name : "(null)", errno);
		failures++;
	}
	return r;
}

static size_t read_size(const char *name)
{
	size_t v = 0, len = sizeof(v);
	int r = mc(name, &v, &len, NULL, 0);
	if (r != 0 || len != sizeof(v)) {
		printf("   mallctl(\"%s\") = %d\n", name, r);
		failures++;
	}
	return v;
}

static uint64_t new_epoch(void)
{
	uint64_t e = 1;
	size_t len = sizeof(e);
	int r = mc("epoch", &e, &len, &e, sizeof(e));
	if (r != 0)
		failures++;
	return e;
}

static void test_mallctl(void)
{
	char what[160];
	uint64_t e1 = 0, e2;
	size_t len = sizeof(e1);
	expect(mc("epoch", &e1, &len, NULL, 0) == 0 && e1 > 0, "epoch: read");
	e2 = new_epoch();
	expect(e2 > e1, "epoch: a write refreshes and advances it");
	uint32_t small = 0;
	len = sizeof(small);
	expect(mc("epoch", &small, &len, NULL, 0) == EINVAL && len == sizeof(small) &&
	       small == (uint32_t)e2, "epoch: short buffer -> EINVAL, partial copy, *oldlenp");
	expect(mc("epoch", NULL, NULL, &e1, 4) == EINVAL, "epoch: write of the wrong size -> EINVAL");
	expect(mc("epoch", NULL, NULL, NULL, 0) == 0, "epoch: neither read nor write -> 0");

	size_t res = read_size("stats.resident"), map = read_size("stats.mapped");
	snprintf(what, sizeof(what), "stats: 0 < resident (%zu) <= mapped (%zu)", res, map);
	expect(res > 0 && res <= map, what);
	size_t v = 1;
	len = sizeof(v);
	expect(mc("stats.resident", &v, &len, &v, sizeof(v)) == EPERM, "stats.resident: write -> EPERM");
	expect(mc("stats.mapped", NULL, NULL, &v, sizeof(v)) == EPERM, "stats.mapped: write -> EPERM");
	unsigned char two[2] = { 0, 0 };
	len = 2;
	expect(mc("stats.resident", two, &len, NULL, 0) == EINVAL && len == 2 &&
	       memcmp(two, &res, 2) == 0, "stats.resident: 2-byte buffer -> EINVAL, 2 bytes copied");
	len = sizeof(v);
	expect(mc("stats.resident", NULL, &len, NULL, 0) == 0, "stats.resident: NULL oldp reads nothing");
	v = 7;
	expect(mc("stats.resident", &v, NULL, NULL, 0) == 0 && v == 7,
	       "stats.resident: NULL oldlenp reads nothing");

	/* figures follow a touched, freed and purged 64 MiB block */
	size_t big = (size_t)64 << 20;
	char *blk = malloc(big);
	memset(blk, 1, big);
	new_epoch();
	size_t res2 = read_size("stats.resident"), map2 = read_size("stats.mapped");
	snprintf(what, sizeof(what), "touching 64 MiB: resident +%zd MiB, mapped +%zd MiB",
		 ((ssize_t)res2 - (ssize_t)res) >> 20, ((ssize_t)map2 - (ssize_t)map) >> 20);
	expect(res2 >= res + (48u << 20) && map2 >= map + (48u << 20), what);
	expect(read_size("stats.resident") == res2, "figures are cached until the next epoch");
	free(blk);
	expect(mc("arena.1.purge", NULL, NULL, NULL, 0) == 0, "arena.<narenas>.purge -> 0");
	new_epoch();
	size_t res3 = read_size("stats.resident"), map3 = read_size("stats.mapped");
	snprintf(what, sizeof(what), "free + purge: resident -%zd MiB, mapped -%zd MiB",
		 ((ssize_t)res2 - (ssize_t)res3) >> 20, ((ssize_t)map2 - (ssize_t)map3) >> 20);
	expect(res3 + (48u << 20) <= res2 && map3 + (48u << 20) <= map2, what);

	/* heap figures the shim cannot give are ENOENT, never jemalloc's */
	static const char *const enoent[] = {
		"stats.allocated", "stats.active", "stats.metadata", "stats.retained", "stats",
		"stats.arenas.0.pactive", "thread.allocated", "thread.allocatedp",
		"thread.deallocatedp", "thread.peak.read",
		"", ".", "epoch.", "epoch.x", "arena", "arena.0", "arena.2.purge", "arena.x.purge",
		"arena.-1.purge", "arena.1x.purge", "arena.99999999999999999999999.purge",
		"arena.4098.purge", "arenas", "thread.tcache", "thread.tcache.flush.now",
	};
	for (size_t i = 0; i < sizeof(enoent) / sizeof(enoent[0]); i++) {
		v = 0;
		len = sizeof(v);
		snprintf(what, sizeof(what), "\"%s\" -> ENOENT", enoent[i]);
		expect(mc(enoent[i], &v, &len, NULL, 0) == ENOENT, what);
	}
	char longname[5000];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	expect(mc(longname, NULL, NULL, NULL, 0) == ENOENT, "a 5000-character name -> ENOENT");
	expect(mc(NULL, NULL, NULL, NULL, 0) == EINVAL, "NULL name -> EINVAL");

	unsigned n = 0;
	len = sizeof(n);
	expect(mc("arenas.narenas", &n, &len, NULL, 0) == 0 && n == 1, "arenas.narenas = 1");
	size_t wide = 0;
	len = sizeof(wide);
	expect(mc("arenas.narenas", &wide, &len, NULL, 0) == EINVAL && len == sizeof(unsigned),
	       "arenas.narenas: 8-byte buffer -> EINVAL, *oldlenp = 4");
	expect(mc("arenas.narenas", NULL, NULL, &n, sizeof(n)) == EPERM, "arenas.narenas: write -> EPERM");
	len = sizeof(n);
	expect(mc("arenas.create", &n, &len, NULL, 0) == EAGAIN, "arenas.create -> EAGAIN");
	len = 1;
	expect(mc("arenas.create", &n, &len, NULL, 0) == EINVAL && len == 0,
	       "arenas.create: wrong size -> EINVAL, *oldlenp = 0");

	static const char *const purges[] = {
		"arena.0.purge", "arena.1.purge", "arena.4096.purge", "arena.4097.purge",
		"arena.0.decay", "arena.4096.decay", "thread.tcache.flush",
	};
	for (size_t i = 0; i < sizeof(purges) / sizeof(purges[0]); i++) {
		snprintf(what, sizeof(what), "\"%s\" -> 0; with oldp or newp -> EPERM", purges[i]);
		len = sizeof(v);
		expect(mc(purges[i], NULL, NULL, NULL, 0) == 0 &&
		       mc(purges[i], &v, &len, NULL, 0) == EPERM &&
		       mc(purges[i], NULL, NULL, &v, sizeof(v)) == EPERM &&
		       mc(purges[i], NULL, &len, NULL, 0) == EPERM, what);
	}

	/* names the shim does not answer: jemalloc's answer, or ENOENT without it */
	unsigned oa = 0;
	len = sizeof(oa);
	int r = mc("opt.narenas", &oa, &len, NULL, 0);
	const char *ver = NULL;
	size_t vlen = sizeof(ver);
	int rv = mc("version", &ver, &vlen, NULL, 0);
	if (with_jemalloc) {
		expect(r == 0 && oa > 0, "opt.narenas reaches libjemalloc");
		expect(rv == 0 && ver && strncmp(ver, "5.", 2) == 0, "version reaches libjemalloc");
	} else {
		expect(r == ENOENT && rv == ENOENT, "opt.narenas, version -> ENOENT without jemalloc");
	}
}

static void test_mib(void)
{
	size_t mib[8], len = 8, mib2[8], len2 = 8;
	char what[128];
	errno = 4242;
	expect(nametomib("arena.0.purge", mib, &len) == 0 && len == 3 && mib[1] == 0 && errno == 4242,
	       "nametomib(arena.0.purge): 3 components, index 0, errno kept");
	expect(bymib(mib, len, NULL, NULL, NULL, 0) == 0, "bymib(arena.0.purge) -> 0");
	size_t idx[] = { 1, 4096, 4097 };
	for (size_t i = 0; i < 3; i++) {
		mib[1] = idx[i];
		snprintf(what, sizeof(what), "bymib(arena.%zu.purge) -> 0", idx[i]);
		expect(bymib(mib, len, NULL, NULL, NULL, 0) == 0, what);
	}
	mib[1] = 2;
	expect(bymib(mib, len, NULL, NULL, NULL, 0) == ENOENT, "bymib(arena.2.purge) -> ENOENT");
	mib[1] = (size_t)1 << 40;
	expect(bymib(mib, len, NULL, NULL, NULL, 0) == ENOENT, "bymib(arena.2^40.purge) -> ENOENT");
	mib[1] = 0;
	expect(bymib(mib, 2, NULL, NULL, NULL, 0) == ENOENT, "bymib of a partial mib -> ENOENT");
	expect(bymib(mib, 4, NULL, NULL, NULL, 0) == ENOENT, "bymib one component too long -> ENOENT");
	len2 = 2;
	expect(nametomib("arena.0.purge", mib2, &len2) == 0 && len2 == 2,
	       "nametomib with *miblenp 2: partial mib, *miblenp unchanged");

	len = 8;
	expect(nametomib("stats.resident", mib, &len) == 0 && len == 2, "nametomib(stats.resident)");
	new_epoch();
	size_t a = 0, b = 0, la = sizeof(a), lb = sizeof(b);
	expect(bymib(mib, len, &a, &la, NULL, 0) == 0 && mc("stats.resident", &b, &lb, NULL, 0) == 0 &&
	       a == b && a > 0, "bymib(stats.resident) == mallctl(stats.resident)");
	len = 8;
	expect(nametomib("stats.allocated", mib, &len) == ENOENT, "nametomib(stats.allocated) -> ENOENT");
	expect(nametomib(NULL, mib, &len) == EINVAL && nametomib("epoch", NULL, &len) == EINVAL &&
	       nametomib("epoch", mib, NULL) == EINVAL, "nametomib with NULL arguments -> EINVAL");
	expect(bymib(NULL, 2, NULL, NULL, NULL, 0) == EINVAL, "bymib(NULL mib) -> EINVAL");
	expect(bymib(mib, 0, NULL, NULL, NULL, 0) == ENOENT, "bymib with miblen 0 -> ENOENT");
	size_t junk[3] = { 0x6c770000u + 99, 0, 0 };
	expect(bymib(junk, 1, NULL, NULL, NULL, 0) == ENOENT, "bymib of an unknown tagged mib -> ENOENT");
	size_t ep[2] = { 0x6c770000u, 5 };
	expect(bymib(ep, 2, NULL, NULL, NULL, 0) == ENOENT, "bymib below a terminal -> ENOENT");

	len = 8;
	int r = nametomib("opt.narenas", mib, &len);
	if (with_jemalloc) {
		unsigned x = 0, y = 0;
		size_t lx = sizeof(x), ly = sizeof(y);
		expect(r == 0 && mib[0] < 0x6c770000u && bymib(mib, len, &x, &lx, NULL, 0) == 0 &&
		       mc("opt.narenas", &y, &ly, NULL, 0) == 0 && x == y && x > 0,
		       "jemalloc's mib for opt.narenas goes to jemalloc");
	} else {
		expect(r == ENOENT, "nametomib(opt.narenas) -> ENOENT without jemalloc");
	}
}

struct textbuf {
	char s[4096];
	size_t n;
	int calls;
};

static void collect(void *opaque, const char *s)
{
	struct textbuf *t = opaque;
	size_t l = strlen(s);
	if (t->n + l < sizeof(t->s)) {
		memcpy(t->s + t->n, s, l + 1);
		t->n += l;
	}
	t->calls++;
}

static void test_stats_print(void)
{
	struct textbuf t = { .n = 0 };
	errno = 4242;
	stats_print(collect, &t, NULL);
	expect(errno == 4242 && t.calls > 0 && strstr(t.s, "Begin leakwatch allocator statistics") &&
	       strstr(t.s, "mimalloc") && strstr(t.s, "resident:") &&
	       strstr(t.s, "End leakwatch allocator statistics"),
	       "malloc_stats_print: text through the callback, errno kept");
	struct textbuf j = { .n = 0 };
	stats_print(collect, &j, "J");
	expect(j.n > 2 && j.s[0] == '{' && strcmp(j.s + j.n - 2, "}\n") == 0 &&
	       strstr(j.s, "\"resident\": ") && strstr(j.s, "\"allocator\": \"mimalloc\""),
	       "malloc_stats_print(\"J\"): one JSON object");
	/* no callback: stderr, as jemalloc */
	char tmpl[] = "/tmp/lwcompat.XXXXXX";
	int fd = mkstemp(tmpl), saved = dup(2);
	dup2(fd, 2);
	stats_print(NULL, NULL, "");
	dup2(saved, 2);
	close(saved);
	char buf[2048];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(tmpl);
	buf[n > 0 ? n : 0] = '\0';
	expect(strstr(buf, "Begin leakwatch allocator statistics") != NULL,
	       "malloc_stats_print(NULL callback) writes to stderr");
}

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void test_allocx(void)
{
	static const size_t sizes[] = { 1, 7, 8, 15, 16, 17, 100, 128, 255, 256, 257, 512, 1000,
					1024, 1025, 4096, 10000, 65536, 131072, 200000, 3 << 20 };
	int bad_align = 0, bad_size = 0, bad_nx = 0, bad_exact = 0, bad_zero = 0, bad_errno = 0;
	for (unsigned lg = 0; lg <= 12; lg++)
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			for (int k = 0; k < 4; k++) {
				size_t n = sizes[i];
				int fl = LG_ALIGN(lg) | (k & 1 ? ZERO : 0);
				/* leave dirty blocks of this size behind for the zero check */
				unsigned char *d = malloc(n);
				memset(d, 0xab, n);
				free(d);
				errno = 4242;
				unsigned char *p = mallocx_(n, fl);
				bad_errno += errno != 4242;
				size_t us = p ? sallocx_(p, 0) : 0;
				bad_align += p == NULL || (lg && ((uintptr_t)p & (((size_t)1 << lg) - 1)));
				bad_size += us < n || xallocx_(p, n, 0, 0) != us;
				bad_nx += nallocx_(n, fl) < n || nallocx_(n, fl) > us;
				if (lg == 0 && n <= 131072)
					bad_exact += nallocx_(n, 0) != us;
				if (fl & ZERO)
					bad_zero += !all_zero(p, us);
				memset(p, 0x5a, us);
				if (k < 2)
					dallocx_(p, fl);
				else if (k == 2)
					sdallocx_(p, n, fl);
				else
					free(p);
			}
	expect(!bad_align, "mallocx: aligned for lg_align 0..12 (and never NULL)");
	expect(!bad_size, "mallocx: sallocx >= size, xallocx == sallocx");
	expect(!bad_nx, "nallocx: between the size and the usable size");
	expect(!bad_exact, "nallocx(size, 0) == sallocx(mallocx(size, 0)) up to 128 KiB");
	expect(!bad_zero, "MALLOCX_ZERO: every usable byte zero, also on reused blocks");
	expect(!bad_errno, "mallocx: errno kept");

	/* power-of-two sizes at their own alignment: mimalloc 2.0.9's fast path */
	int mis = 0;
	void *keep[ROUNDS];
	for (int i = 0; i < ROUNDS; i++) {
		unsigned lg = 7 + (unsigned)(i % 4);
		keep[i] = mallocx_((size_t)1 << lg, LG_ALIGN(lg));
		mis += ((uintptr_t)keep[i] & (((size_t)1 << lg) - 1)) != 0;
	}
	for (int i = 0; i < ROUNDS; i++)
		dallocx_(keep[i], 0);
	expect(mis == 0, "mallocx(2^k, MALLOCX_LG_ALIGN(k)) aligned for k = 7..10");

	/* rallocx keeps contents, zeroes growth with MALLOCX_ZERO, honours alignment */
	unsigned char *p = mallocx_(100, 0);
	for (int i = 0; i < 100; i++)
		p[i] = (unsigned char)i;
	size_t old = sallocx_(p, 0);
	errno = 4242;
	unsigned char *q = rallocx_(p, 5000, ZERO | LG_ALIGN(9));
	int ok = q && ((uintptr_t)q & 511) == 0 && errno == 4242 && all_zero(q + old, 5000 - old);
	for (int i = 0; i < 100; i++)
		ok &= q[i] == (unsigned char)i;
	expect(ok, "rallocx(ZERO | align 512): contents, zeroed growth, alignment, errno");
	q = rallocx_(q, 50, 0);
	ok = q != NULL;
	for (int i = 0; ok && i < 50; i++)
		ok &= q[i] == (unsigned char)i;
	expect(ok, "rallocx shrinks and keeps contents");
	unsigned char *z = rallocx_(q, 0, 0);
	expect(z != NULL, "rallocx(p, 0) returns a block (it never frees)");
	dallocx_(z, 0);
	char *m = malloc(10);
	strcpy(m, "123456789");
	char *m2 = rallocx_(m, 1 << 20, 0);
	expect(m2 && strcmp(m2, "123456789") == 0, "rallocx of a malloc block");
	free(m2);

	/* failures: NULL or 0, errno untouched, old block intact */
	errno = 4242;
	void *volatile f1 = mallocx_((size_t)SIZE_MAX / 2, 0);
	void *volatile f2 = mallocx_(16, LG_ALIGN(63));
	void *volatile f3 = mallocx_((size_t)PTRDIFF_MAX, LG_ALIGN(12));
	expect(!f1 && !f2 && !f3 && errno == 4242, "mallocx: impossible requests -> NULL, errno kept");
	expect(nallocx_(SIZE_MAX, 0) == 0 && nallocx_((size_t)PTRDIFF_MAX + 1, 0) == 0 &&
	       nallocx_(16, LG_ALIGN(63)) == 0, "nallocx: impossible requests -> 0");
	char *r = mallocx_(32, 0);
	strcpy(r, "still here");
	errno = 4242;
	void *volatile f4 = rallocx_(r, (size_t)SIZE_MAX / 2, 0);
	expect(!f4 && errno == 4242 && strcmp(r, "still here") == 0,
	       "rallocx failure: NULL, errno kept, block intact");
	dallocx_(r, 0);
	dallocx_(NULL, 0);
	sdallocx_(NULL, 0, 0);
	expect(sallocx_(NULL, 0) == 0 && xallocx_(NULL, 1, 0, 0) == 0, "NULL pointers are harmless");
}

/* ---- sampling (LEAKWATCH_RATE=1) ------------------------------------------ */

void *site_mallocx(size_t n);
void *site_rallocx(void *p, size_t n);
static void *volatile sink;
__attribute__((noinline)) void *site_mallocx(size_t n) { sink = mallocx_(n, LG_ALIGN(6)); return sink; }
__attribute__((noinline)) void *site_rallocx(void *p, size_t n) { sink = rallocx_(p, n, 0); return sink; }

/* alloc and free bytes counted at stacks that pass through `site` */
static void site_bytes(const lw_file *f, const char *site, uint64_t *ab, uint64_t *fb)
{
	*ab = *fb = 0;
	for (size_t i = 0; i < f->n_counters; i++) {
		const lw_stack *st = &f->stacks[f->counters[i].stack];
		for (uint32_t k = 0; k < st->depth; k++) {
			Dl_info di;
			if (dladdr((void *)(uintptr_t)(st->pcs[k] - 1), &di) && di.dli_sname &&
			    strcmp(di.dli_sname, site) == 0) {
				*ab += f->counters[i].alloc_sample_bytes;
				*fb += f->counters[i].free_sample_bytes;
				break;
			}
		}
	}
}

static void test_sampling(const char *dir)
{
	void *b[64];
	uint64_t want_m = 0, want_r = 0, want_mf = 0;
	for (int i = 0; i < 64; i++) {
		b[i] = site_mallocx((size_t)(i * 37 + 1));
		want_m += (uint64_t)(i * 37 + 1);
	}
	for (int i = 0; i < 16; i++) {     /* the old block is freed at its site */
		want_mf += (uint64_t)(i * 37 + 1);
		b[i] = site_rallocx(b[i], (size_t)(i * 37 + 1) * 3);
		want_r += (uint64_t)(i * 37 + 1) * 3;
	}
	for (int i = 32; i < 64; i++) {
		dallocx_(b[i], 0);
		want_mf += (uint64_t)(i * 37 + 1);
	}
	expect(leakwatch_snapshot && leakwatch_snapshot() == 0, "leakwatch_snapshot() returns 0");
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096] = "", err[256];
	while (d && (de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "snap-", 5) == 0)
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
	if (d)
		closedir(d);
	lw_file *f = NULL;
	if (!path[0] || lw_file_open(path, &f, err, sizeof(err)) != 0) {
		expect(0, "snapshot file found and valid");
		return;
	}
	uint64_t am, fm, ar, fr;
	site_bytes(f, "site_mallocx", &am, &fm);
	site_bytes(f, "site_rallocx", &ar, &fr);
	char what[160];
	snprintf(what, sizeof(what), "rate 1: site_mallocx %llu/%llu B alloc, %llu/%llu B free",
		 (unsigned long long)am, (unsigned long long)want_m, (unsigned long long)fm,
		 (unsigned long long)want_mf);
	expect(am == want_m && fm == want_mf, what);
	snprintf(what, sizeof(what), "rate 1: site_rallocx %llu/%llu B alloc", (unsigned long long)ar,
		 (unsigned long long)want_r);
	expect(ar == want_r && fr == 0, what);
	lw_file_free(f);
	for (int i = 0; i < 32; i++)
		free(b[i]);
}

int main(void)
{
	void *m = dlsym(RTLD_DEFAULT, "malloc");
	Dl_info di;
	expect(m && dladdr(m, &di) && strstr(di.dli_fname, "libleakwatch.so"),
	       "running under libleakwatch.so");
	with_jemalloc = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_NOLOAD) != NULL;
	printf("libjemalloc.so.2 %s\n", with_jemalloc ? "loaded" : "not loaded");
#ifdef LW_TEST_WITH_JEMALLOC
	expect(with_jemalloc, "libjemalloc.so.2 is a dependency of this binary");
#endif
	ctl = (mallctl_fn *)sym("mallctl");
	nametomib = (nametomib_fn *)sym("mallctlnametomib");
	bymib = (bymib_fn *)sym("mallctlbymib");
	stats_print = (stats_print_fn *)sym("malloc_stats_print");
	mallocx_ = (mallocx_fn *)sym("mallocx");
	rallocx_ = (rallocx_fn *)sym("rallocx");
	xallocx_ = (xallocx_fn *)sym("xallocx");
	sallocx_ = (sallocx_fn *)sym("sallocx");
	dallocx_ = (dallocx_fn *)sym("dallocx");
	sdallocx_ = (sdallocx_fn *)sym("sdallocx");
	nallocx_ = (nallocx_fn *)sym("nallocx");
	if (failures) {
		printf("FAIL: the shim's jemalloc API is not in place\n");
		return 1;
	}
	test_mallctl();
	test_mib();
	test_stats_print();
	test_allocx();
	const char *rate = getenv("LEAKWATCH_RATE"), *dir = getenv("LEAKWATCH_DIR");
	if (rate && strcmp(rate, "1") == 0 && dir)
		test_sampling(dir);
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
