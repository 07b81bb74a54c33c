/* test_tables.c — the shim's live-block table and stack table against naive
 * reference models (suite unit; the modules are compiled in directly, no
 * preload).
 *
 * livetab: 400k random inserts/replacements/removals over a small address
 * range (to force long probe chains, wrap-around and backward-shift
 * deletions across stripes and table growth); after every 10k operations the
 * table must equal the model exactly (lw_livetab_count, lw_livetab_copy,
 * lw_livetab_foreach), every live address must pass the free-path filter,
 * and the filter counters must sum to the number of entries.
 * stacktab: 4 threads intern overlapping sets of random stacks concurrently
 * (lock-free lookups racing inserts and index growth); every thread must get
 * the same id for the same stack, distinct stacks distinct ids, the stored
 * pcs must round-trip, and per-stack counters must equal the exact sums.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livetab.h"
#include "lwd_format.h"
#include "sampler.h"
#include "stacktab.h"
#include "../check.h"

/* ---- livetab ------------------------------------------------------------ */
#define NADDR 50000
static struct lw_live model[NADDR];   /* addr == 0: absent */
static size_t model_n;

static uint64_t addr_of(int i) { return 0x7f0000000000ull + (uint64_t)i * 16; }

static int cmp_addr(const void *a, const void *b)
{
	const struct lw_live *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static struct lw_live seen[NADDR];
static size_t n_seen;

static void collect(void *arg, const struct lw_live *e)
{
	(void)arg;
	if (n_seen < NADDR)
		seen[n_seen] = *e;
	n_seen++;
}

static int same_entry(const struct lw_live *a, const struct lw_live *b)
{
	return a->addr == b->addr && a->size == b->size && a->mono_ns == b->mono_ns &&
	       a->weight == b->weight && a->stack == b->stack && a->tid == b->tid;
}

static void verify_livetab(const char *when)
{
	static struct lw_live copy[NADDR + 16];
	char what[128];
	size_t total = lw_livetab_copy(copy, NADDR + 16);
	snprintf(what, sizeof(what), "%s: count %zu copy %zu model %zu", when, lw_livetab_count(),
		 total, model_n);
	check(total == model_n && lw_livetab_count() == model_n, what);
	n_seen = 0;
	lw_livetab_foreach(collect, NULL);
	check(n_seen == model_n, "foreach sees every entry");
	if (total != model_n || n_seen != model_n)
		return;
	qsort(copy, total, sizeof(copy[0]), cmp_addr);
	qsort(seen, n_seen, sizeof(seen[0]), cmp_addr);
	size_t k = 0;
	int ok = 1;
	for (int i = 0; i < NADDR; i++) {
		if (model[i].addr == 0)
			continue;
		ok &= same_entry(&copy[k], &model[i]) && same_entry(&seen[k], &model[i]);
		ok &= lw_livetab_maybe((void *)(uintptr_t)model[i].addr);
		k++;
	}
	snprintf(what, sizeof(what), "%s: entries and filter equal the model", when);
	check(ok, what);
	uint64_t sum = 0;
	int saturated = 0;
	for (uint32_t i = 0; i < (1u << LW_LIVE_FILTER_BITS); i++) {
		uint8_t v = atomic_load(&lw_live_filter[i]);
		sum += v;
		saturated |= v == 255;
	}
	snprintf(what, sizeof(what), "%s: filter counters sum %llu == entries %zu", when,
		 (unsigned long long)sum, model_n);
	check(saturated || sum == model_n, what);
}

static void test_livetab(void)
{
	uint64_t rng = 12345;
	for (int op = 1; op <= 400000; op++) {
		uint64_t r = lw_rng_next(&rng);
		/* grow to ~30k entries, then churn around it */
		int i = (int)(r % (op < 200000 ? NADDR : NADDR / 2));
		int remove = (r >> 32) % 100 < (op < 200000 ? 30 : 55);
		if (remove) {
			struct lw_live out;
			int got = lw_livetab_remove(addr_of(i), &out);
			if (got != (model[i].addr != 0) || (got && !same_entry(&out, &model[i]))) {
				check(0, "remove returns the model's entry");
				return;
			}
			if (got) {
				model[i].addr = 0;
				model_n--;
			}
		} else {
			struct lw_live e = {
				.addr = addr_of(i), .size = r >> 40, .mono_ns = (uint64_t)op,
				.weight = 1.0 + (double)(r & 0xff), .stack = (uint32_t)(r >> 12) & 0xffff,
				.tid = (uint32_t)op,
			}, old;
			int rc = lw_livetab_insert(&e, &old);
			int had = model[i].addr != 0;
			if (rc != had || (had && !same_entry(&old, &model[i]))) {
				check(0, "insert reports the replaced entry");
				return;
			}
			if (!had)
				model_n++;
			model[i] = e;
		}
		if (op % 10000 == 0) {
			char when[32];
			snprintf(when, sizeof(when), "livetab op %d", op);
			verify_livetab(when);
			if (failures)
				return;
		}
	}
	/* drain */
	for (int i = 0; i < NADDR; i++) {
		struct lw_live out;
		if (model[i].addr && lw_livetab_remove(addr_of(i), &out)) {
			model[i].addr = 0;
			model_n--;
		}
	}
	verify_livetab("livetab drained");
	check(!lw_livetab_maybe((void *)(uintptr_t)addr_of(7)), "filter clear after drain");
}

/* ---- stacktab ------------------------------------------------------------ */
#define NSTACKS 6000
#define NTHREADS 4
static uint64_t pool[NSTACKS][LWD_MAX_DEPTH];
static uint32_t depths[NSTACKS];
static uint32_t ids[NTHREADS][NSTACKS];
static uint64_t expect_allocs[NSTACKS], expect_bytes[NSTACKS];
static pthread_mutex_t expect_lock = PTHREAD_MUTEX_INITIALIZER;

static void *intern_thread(void *arg)
{
	int t = (int)(intptr_t)arg;
	uint64_t rng = 1000 + (uint64_t)t;
	for (int round = 0; round < 3; round++)
		for (int k = 0; k < NSTACKS; k++) {
			int s = (k * 7 + t * 1013 + round * 31) % NSTACKS;
			uint32_t id = lw_stacktab_intern(pool[s], depths[s], s & 1);
			if (round == 0)
				ids[t][s] = id;
			else if (ids[t][s] != id)
				ids[t][s] = LW_STACK_NONE;   /* id changed: reported below */
			uint64_t size = lw_rng_next(&rng) % 5000;
			lw_stacktab_count_alloc(id, size, 1.0);
			pthread_mutex_lock(&expect_lock);
			expect_allocs[s]++;
			expect_bytes[s] += size;
			pthread_mutex_unlock(&expect_lock);
		}
	return NULL;
}

static void test_stacktab(void)
{
	uint64_t rng = 777;
	for (int s = 0; s < NSTACKS; s++) {
		depths[s] = 1 + (uint32_t)(lw_rng_next(&rng) % LWD_MAX_DEPTH);
		for (uint32_t d = 0; d < depths[s]; d++)
			pool[s][d] = 0x400000 + lw_rng_next(&rng) % 4096;   /* many shared frames */
		pool[s][0] = 0x400000 + (uint64_t)s;                    /* but all distinct */
	}
	pthread_t th[NTHREADS];
	for (int t = 0; t < NTHREADS; t++)
		pthread_create(&th[t], NULL, intern_thread, (void *)(intptr_t)t);
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);

	int agree = 1, valid = 1, roundtrip = 1, counts = 1;
	static uint8_t used[NSTACKS];
	for (int s = 0; s < NSTACKS; s++) {
		for (int t = 1; t < NTHREADS; t++)
			agree &= ids[t][s] == ids[0][s];
		uint32_t id = ids[0][s];
		if (id == LW_STACK_NONE || id >= NSTACKS || used[id]) {
			valid = 0;
			continue;
		}
		used[id] = 1;
		uint32_t depth, flags;
		const uint64_t *pcs = lw_stacktab_pcs(id, &depth, &flags);
		roundtrip &= depth == depths[s] && flags == (uint32_t)(s & 1) &&
			     memcmp(pcs, pool[s], depth * sizeof(uint64_t)) == 0;
		struct lw_stack_counts c;
		lw_stacktab_counts(id, &c);
		counts &= c.alloc_samples == expect_allocs[s] && c.alloc_sample_bytes == expect_bytes[s] &&
			  c.alloc_objects_est == (double)expect_allocs[s];
	}
	check(agree, "all threads got the same id for the same stack (and ids are stable)");
	check(valid, "distinct stacks have distinct ids below the stack count");
	check(lw_stacktab_count() == NSTACKS, "stack count equals the distinct stacks");
	check(roundtrip, "stored pcs/depth/flags round-trip");
	check(counts, "per-stack counters equal the exact sums");
}

int main(void)
{
	test_livetab();
	test_stacktab();
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
