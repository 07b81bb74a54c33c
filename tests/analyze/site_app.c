/* site_app.c — the site_model test's program (site_model_check.py), run
 * under LD_PRELOAD=libleakwatch.so with LEAKWATCH_RATE=1:
 *
 *   site_app stripped   leaks through a stripped library (site_lib.c):
 *                       100 blocks of site A, a snapshot, 30 more of A and
 *                       50 of site B, then a full dump.
 *   site_app shapes snapshot|dump
 *                       allocates through an unsymbolized library frame, an
 *                       inlined function and a 150-deep recursion (deeper
 *                       than the 128 frames a stack keeps), then writes one
 *                       snapshot or one dump: two runs give the same sites.
 *   site_app wrappers   allocates through a wrapper (site_alloc, itself
 *                       using a private helper) from six callers, and
 *                       directly from one more, then writes a dump.
 *
 * Every block stays reachable from a global. Not sanitized (it runs under
 * the shim).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEAKWATCH_WEAK
#include "leakwatch.h"

void lib_leak(int which, int count);

/* extern, so the compiler keeps the stores: the heap graph's root */
extern void *g_site_keep[4096];
void *g_site_keep[4096];
static int g_n_keep;

static void keep(void *p)
{
	if (p && g_n_keep < (int)(sizeof g_site_keep / sizeof g_site_keep[0]))
		g_site_keep[g_n_keep++] = p;
}

static int request(int dump)
{
	if (!leakwatch_dump || !leakwatch_snapshot) {
		fprintf(stderr, "site_app: not running under libleakwatch.so\n");
		return 1;
	}
	int rc = dump ? leakwatch_dump() : leakwatch_snapshot();
	if (rc != 0)
		fprintf(stderr, "site_app: leakwatch_%s: %d\n", dump ? "dump" : "snapshot", rc);
	return rc != 0;
}

/* ---- shapes ---- */

static inline __attribute__((always_inline)) void *site_inlined_alloc(size_t n)
{
	void *p = malloc(n);
	if (p)
		memset(p, 0x11, n);
	return p;
}

__attribute__((noinline)) static void site_inline_user(void)
{
	for (int i = 0; i < 20; i++)
		keep(site_inlined_alloc(96));
}

__attribute__((noinline)) static int site_deep(int depth)
{
	if (depth == 0) {
		keep(malloc(40));
		return 1;
	}
	int r = site_deep(depth - 1);
	return r + (depth & 1);   /* not a tail call */
}

/* ---- wrappers ---- */

__attribute__((noinline)) static void *site_alloc_inner(size_t n)
{
	void *p = malloc(n);
	if (p)
		memset(p, 0, n);
	return p;
}

void *site_alloc(size_t n);
__attribute__((noinline)) void *site_alloc(size_t n)
{
	void *p = site_alloc_inner(n);
	__asm__ volatile("" ::: "memory");
	return p;
}

#define CALLER(k) \
	__attribute__((noinline)) static void site_caller_##k(void) \
	{ \
		for (int i = 0; i < 5 + k; i++) \
			keep(site_alloc(64 * (k + 1))); \
		__asm__ volatile("" ::: "memory"); \
	}
CALLER(0)
CALLER(1)
CALLER(2)
CALLER(3)
CALLER(4)
CALLER(5)

__attribute__((noinline)) static void site_direct(void)
{
	for (int i = 0; i < 7; i++)
		keep(malloc(48));
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	if (strcmp(what, "stripped") == 0) {
		/* one call line, so the sites differ only inside the library */
		static const struct { int which, count, request; } steps[] = {
			{ 0, 100, 0 }, { -1, 0, 0 }, { 0, 30, 0 }, { 1, 50, 0 }, { -1, 0, 1 },
		};
		for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
			if (steps[i].which >= 0)
				lib_leak(steps[i].which, steps[i].count);
			else if (request(steps[i].request))
				return 1;
		}
		return 0;
	}
	if (strcmp(what, "shapes") == 0 && argc > 2) {
		lib_leak(0, 10);
		site_inline_user();
		site_deep(150);
		return request(strcmp(argv[2], "dump") == 0);
	}
	if (strcmp(what, "wrappers") == 0) {
		site_caller_0();
		site_caller_1();
		site_caller_2();
		site_caller_3();
		site_caller_4();
		site_caller_5();
		site_direct();
		return request(1);
	}
	fprintf(stderr, "usage: site_app stripped | shapes snapshot|dump | wrappers\n");
	return 2;
}
