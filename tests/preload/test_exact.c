/* test_exact.c — at LEAKWATCH_RATE=1 the shim's figures are exact.
 * Run under LD_PRELOAD=libleakwatch.so with LEAKWATCH_RATE=1 and
 * LEAKWATCH_DIR set (suite integration, via run_under_shim.sh).
 *
 * The program allocates known sizes from known call sites (noinline
 * functions named site_*; exported with -rdynamic so dladdr names them),
 * frees some, reallocs some, lets a thread allocate and exit, then calls
 * leakwatch_dump() and leakwatch_snapshot() and reads both files back with
 * the reader library. It checks, per site:
 *   - COUNTERS: alloc/free sample counts and bytes equal the truth, and the
 *     unbiased estimates equal them exactly (weight 1);
 *   - LIVE_BLOCKS: exactly the blocks the program still holds (address and
 *     size), each attributed to the right site, with the allocating tid;
 *   - the stack's innermost frame is the site itself (shim frames stripped),
 *     except for strdup whose innermost frame is in libc.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LEAKWATCH_WEAK   /* resolved from the preloaded shim at run time */
#include "leakwatch.h"
#include "lwd.h"
#include "../check.h"

enum { S_MALLOC, S_CALLOC, S_REALLOC, S_MEMALIGN, S_STRDUP, S_THREAD, S_COUNT };
static const char *site_names[S_COUNT] = {
	"site_malloc", "site_calloc", "site_realloc", "site_memalign", "site_strdup", "site_thread",
};

struct truth {
	uint64_t allocs, alloc_bytes, frees, free_bytes;
};
static struct truth truth[S_COUNT];

#define MAXLIVE 4096
static struct held {
	void *p;
	size_t size;
	int site;
	uint32_t tid;
} held[MAXLIVE];
static int n_held;

static uint32_t tid(void) { return (uint32_t)syscall(SYS_gettid); }

static void hold(void *p, size_t size, int site)
{
	if (n_held >= MAXLIVE) {
		fprintf(stderr, "too many blocks\n");
		exit(2);
	}
	held[n_held++] = (struct held){ p, size, site, tid() };
	truth[site].allocs++;
	truth[site].alloc_bytes += size;
}

static void drop(int i)
{
	truth[held[i].site].frees++;
	truth[held[i].site].free_bytes += held[i].size;
	free(held[i].p);
	held[i] = held[--n_held];
}

static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;

/* Each site stores its result through a volatile sink so the call to the
 * allocator is not a tail call (its return address stays inside the site). */
static void *volatile sink;

/* exported (non-static) so that dladdr can name them */
void *site_malloc(size_t n);
void *site_calloc(size_t c, size_t n);
void *site_realloc(void *p, size_t n);
void *site_memalign(size_t al, size_t n);
char *site_strdup(const char *s);
void *site_thread(size_t n);

__attribute__((noinline)) void *site_malloc(size_t n) { sink = malloc(n); return sink; }
__attribute__((noinline)) void *site_calloc(size_t c, size_t n) { sink = calloc(c, n); return sink; }
__attribute__((noinline)) void *site_realloc(void *p, size_t n) { sink = realloc(p, n); return sink; }
__attribute__((noinline)) void *site_memalign(size_t al, size_t n)
{
	void *p = NULL;
	if (posix_memalign(&p, al, n) != 0)
		return NULL;
	sink = p;
	return p;
}
__attribute__((noinline)) char *site_strdup(const char *s) { sink = strdup(s); return sink; }
__attribute__((noinline)) void *site_thread(size_t n) { sink = malloc(n); return sink; }

static void *thread_main(void *arg)
{
	(void)arg;
	void *mine[100];
	for (int i = 0; i < 100; i++)
		mine[i] = site_thread((size_t)(i * 13 + 1));
	pthread_mutex_lock(&held_lock);
	for (int i = 0; i < 100; i++)
		hold(mine[i], (size_t)(i * 13 + 1), S_THREAD);
	/* free every other one of ours */
	for (int i = n_held - 1; i >= 0; i--)
		if (held[i].site == S_THREAD && held[i].size % 2 == 0)
			drop(i);
	pthread_mutex_unlock(&held_lock);
	return NULL;
}

static int site_of_stack(const lw_file *f, uint32_t stack, int *innermost_is_site)
{
	const lw_stack *st = &f->stacks[stack];
	for (uint32_t i = 0; i < st->depth; i++) {
		Dl_info di;
		if (!dladdr((void *)(uintptr_t)(st->pcs[i] - 1), &di) || di.dli_sname == NULL)
			continue;
		for (int s = 0; s < S_COUNT; s++)
			if (strcmp(di.dli_sname, site_names[s]) == 0) {
				*innermost_is_site = i == 0;
				return s;
			}
	}
	return -1;
}

static int find_file(const char *dir, const char *prefix, char *out, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = 0;
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
			snprintf(out, cap, "%s/%s", dir, de->d_name);
			found = 1;
		}
	closedir(d);
	return found;
}

static void check_counters(const lw_file *f, const char *label)
{
	struct truth got[S_COUNT];
	double est[S_COUNT][4];
	char what[160];
	memset(got, 0, sizeof(got));
	memset(est, 0, sizeof(est));
	for (size_t i = 0; i < f->n_counters; i++) {
		const lw_counter *c = &f->counters[i];
		int direct;
		int s = site_of_stack(f, c->stack, &direct);
		if (s < 0)
			continue;
		if (s == S_STRDUP ? direct : !direct) {
			snprintf(what, sizeof(what), "%s: innermost frame of %s stack", label, site_names[s]);
			check(0, what);
		}
		got[s].allocs += c->alloc_samples;
		got[s].alloc_bytes += c->alloc_sample_bytes;
		got[s].frees += c->free_samples;
		got[s].free_bytes += c->free_sample_bytes;
		est[s][0] += c->alloc_objects_est;
		est[s][1] += c->alloc_bytes_est;
		est[s][2] += c->free_objects_est;
		est[s][3] += c->free_bytes_est;
	}
	for (int s = 0; s < S_COUNT; s++) {
		const struct truth *t = &truth[s];
		int ok = got[s].allocs == t->allocs && got[s].alloc_bytes == t->alloc_bytes &&
			 got[s].frees == t->frees && got[s].free_bytes == t->free_bytes &&
			 est[s][0] == (double)t->allocs && est[s][1] == (double)t->alloc_bytes &&
			 est[s][2] == (double)t->frees && est[s][3] == (double)t->free_bytes;
		snprintf(what, sizeof(what), "%s: %s counters exact (%llu/%llu B alloc, %llu/%llu B free)",
			 label, site_names[s], (unsigned long long)got[s].allocs,
			 (unsigned long long)got[s].alloc_bytes, (unsigned long long)got[s].frees,
			 (unsigned long long)got[s].free_bytes);
		check(ok, what);
		if (!ok)
			printf("   truth: %llu/%llu B alloc, %llu/%llu B free\n",
			       (unsigned long long)t->allocs, (unsigned long long)t->alloc_bytes,
			       (unsigned long long)t->frees, (unsigned long long)t->free_bytes);
	}
}

int main(void)
{
	const char *dir = getenv("LEAKWATCH_DIR");
	const char *rate = getenv("LEAKWATCH_RATE");
	char path[4096], err[256];
	if (!dir || !rate || strcmp(rate, "1") != 0) {
		fprintf(stderr, "run with LEAKWATCH_RATE=1 and LEAKWATCH_DIR under the shim\n");
		return 2;
	}

	/* known sizes from known sites */
	for (int i = 0; i < 300; i++)
		hold(site_malloc((size_t)(i * 7 % 1000)), (size_t)(i * 7 % 1000), S_MALLOC);
	for (int i = 0; i < 200; i++)
		hold(site_calloc((size_t)(i % 9 + 1), 24), (size_t)(i % 9 + 1) * 24, S_CALLOC);
	for (int i = 0; i < 50; i++)
		hold(site_memalign((size_t)64 << (i % 6), (size_t)(i * 100 + 1)), (size_t)(i * 100 + 1),
		     S_MEMALIGN);
	for (int i = 0; i < 40; i++) {
		char s[64];
		snprintf(s, sizeof(s), "string number %d", i * 1000);
		hold(site_strdup(s), strlen(s) + 1, S_STRDUP);
	}
	/* free a third of them */
	for (int i = n_held - 1; i >= 0; i -= 3)
		drop(i);
	/* realloc 60 malloc blocks: the old block is freed at its site, the new
	 * one is allocated at site_realloc */
	for (int i = 0, done = 0; i < n_held && done < 60; i++) {
		if (held[i].site != S_MALLOC)
			continue;
		size_t nsz = held[i].size * 3 + 5;
		void *q = site_realloc(held[i].p, nsz);
		truth[S_MALLOC].frees++;
		truth[S_MALLOC].free_bytes += held[i].size;
		held[i] = (struct held){ q, nsz, S_REALLOC, tid() };
		truth[S_REALLOC].allocs++;
		truth[S_REALLOC].alloc_bytes += nsz;
		done++;
	}
	pthread_t th;
	pthread_create(&th, NULL, thread_main, NULL);
	pthread_join(th, NULL);

	if (!leakwatch_dump || !leakwatch_snapshot) {
		check(0, "leakwatch_dump/leakwatch_snapshot resolved (shim preloaded)");
		return 1;
	}
	int rc = leakwatch_dump();
	check(rc == 0, "leakwatch_dump() returns 0");
	rc = leakwatch_snapshot();
	check(rc == 0, "leakwatch_snapshot() returns 0");

	lw_file *f = NULL;
	if (!find_file(dir, "dump-", path, sizeof(path)) ||
	    lw_file_open(path, &f, err, sizeof(err)) != 0) {
		check(0, "dump file found and valid");
		printf("   %s: %s\n", path, err);
		return 1;
	}
	check(f->kind == LWD_KIND_DUMP && f->process.sample_rate == 1 &&
	       f->process.pid == (uint32_t)getpid() && f->process.reason == LWD_REASON_API,
	       "dump header: kind, rate 1, pid, reason API");
	check(f->n_modules > 0 && f->process.exe_module < f->n_modules &&
	       f->modules[f->process.exe_module].build_id_len > 0,
	       "module map with the executable's build-id");
	check_counters(f, "dump");

	/* LIVE_BLOCKS: exactly the held blocks of the sites */
	int live_ok = 1, matched = 0;
	for (size_t i = 0; i < f->n_live; i++) {
		const lw_live_block *b = &f->live[i];
		int direct;
		int s = site_of_stack(f, b->stack, &direct);
		if (s < 0)
			continue;
		int j;
		for (j = 0; j < n_held; j++)
			if ((uintptr_t)held[j].p == b->addr)
				break;
		if (j == n_held || held[j].size != b->size || held[j].site != s ||
		    held[j].tid != b->tid || b->weight != 1.0) {
			live_ok = 0;
			printf("   live block %#llx size %llu site %s: no match\n",
			       (unsigned long long)b->addr, (unsigned long long)b->size, site_names[s]);
		} else {
			matched++;
		}
	}
	char what[128];
	snprintf(what, sizeof(what), "LIVE_BLOCKS of the sites == blocks held (%d of %d)", matched,
		 n_held);
	check(live_ok && matched == n_held, what);
	lw_file_free(f);

	f = NULL;
	if (!find_file(dir, "snap-", path, sizeof(path)) ||
	    lw_file_open(path, &f, err, sizeof(err)) != 0) {
		check(0, "snapshot file found and valid");
		return 1;
	}
	check(f->kind == LWD_KIND_SNAPSHOT && f->n_live == 0 && f->seq == 1,
	       "snapshot: kind, no live blocks, seq 1 after the dump's 0");
	check_counters(f, "snap");
	lw_file_free(f);

	while (n_held > 0)
		drop(n_held - 1);
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
