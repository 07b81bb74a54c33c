/* accuracy_sites.c — sites with known in-use bytes, for the accuracy of the
 * sampled estimates (tests/analyze/accuracy_check.py).
 *
 *   accuracy_sites --layout R [--seed N] [--points K]
 *
 * Nine sites (acc_0 .. acc_8, each its own noinline function, called from
 * one line, so each is one site) hold a known number of live blocks, sized
 * for a sampling rate R (--layout; the actual LEAKWATCH_RATE may differ):
 *   acc_0..acc_5  blocks of R/512 bytes (at least 16), 0.3, 3, 10, 30, 100
 *                 and 600 times R in use (acc_5 only when R <= 64 KiB:
 *                 600 x 512 KiB would be 300 MiB)
 *   acc_6         mixed sizes, 16 bytes .. 4 R/512, 30 R in use
 *   acc_7         three blocks of 8 R (always sampled: p = 1 - e^-8)
 *   acc_8         40 blocks of R/2 (sampled with p = 0.39)
 * Every site also allocates and frees twice as many blocks of its sizes
 * (same site, interleaved at random), so its counters carry frees. Then K
 * checkpoints (default 3): truth lines (app_common.h) and a snapshot, after
 * a "ready pid=" line. The
 * allocation pattern is fixed by --seed; the shim's sampling differs from
 * run to run. Single-threaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_common.h"

#define SITE(n)                                                               \
	LW_APP_NOINLINE static void *acc_##n(size_t size)                     \
	{                                                                     \
		void *p = malloc(size);                                       \
		if (!p)                                                       \
			abort();                                              \
		app_touch(p, size < 64 ? size : 64, n);                       \
		return p;                                                     \
	}
SITE(0)
SITE(1)
SITE(2)
SITE(3)
SITE(4)
SITE(5)
SITE(6)
SITE(7)
SITE(8)
#define N_SITES 9

static void *(*const site_fn[N_SITES])(size_t) = {
	acc_0, acc_1, acc_2, acc_3, acc_4, acc_5, acc_6, acc_7, acc_8,
};

typedef struct site {
	uint64_t blocks;        /* live at the end */
	uint64_t size_lo, size_hi;
	uint64_t bytes;         /* truth */
	void **live;
} site;

int main(int argc, char **argv)
{
	uint64_t rate = (uint64_t)app_opt_long(argc, argv, "layout", 524288);
	uint64_t rng = (uint64_t)app_opt_long(argc, argv, "seed", 1) * 0x9e3779b97f4a7c15ull + 7;
	long points = app_opt_long(argc, argv, "points", 3);
	if (rate < 512 || points < 1) {
		fprintf(stderr, "accuracy_sites: bad arguments\n");
		return 2;
	}
	uint64_t small = rate / 512 < 16 ? 16 : rate / 512;
	static const double mult[6] = { 0.3, 3, 10, 30, 100, 600 };
	site s[N_SITES];
	memset(s, 0, sizeof(s));
	for (int i = 0; i < 6; i++) {
		s[i].size_lo = s[i].size_hi = small;
		s[i].blocks = i == 5 && rate > 65536 ? 0 : (uint64_t)(mult[i] * (double)rate / (double)small);
	}
	s[6].size_lo = 16;
	s[6].size_hi = 4 * small;
	s[6].blocks = (uint64_t)(30.0 * (double)rate / (double)(small * 2));
	s[7].size_lo = s[7].size_hi = 8 * rate;
	s[7].blocks = 3;
	s[8].size_lo = s[8].size_hi = rate / 2;
	s[8].blocks = 40;

	/* each site: `blocks` kept and 2 x `blocks` freed, interleaved */
	for (int i = 0; i < N_SITES; i++) {
		uint64_t total = 3 * s[i].blocks;
		void **tmp = calloc(total ? total : 1, sizeof(*tmp));
		s[i].live = calloc(s[i].blocks ? s[i].blocks : 1, sizeof(void *));
		uint64_t *sizes = calloc(total ? total : 1, sizeof(*sizes));
		if (!tmp || !s[i].live || !sizes)
			return 1;
		for (uint64_t k = 0; k < total; k++) {
			sizes[k] = app_rand_range(&rng, s[i].size_lo, s[i].size_hi);
			tmp[k] = site_fn[i]((size_t)sizes[k]);
			/* free a random earlier block now and then */
			if (k > 0 && app_rand_r(&rng) % 3 == 0) {
				uint64_t j = app_rand_r(&rng) % k;
				if (tmp[j]) {
					free(tmp[j]);
					tmp[j] = NULL;
				}
			}
		}
		/* keep exactly `blocks` of the survivors, free the rest */
		uint64_t kept = 0;
		for (uint64_t k = 0; k < total; k++) {
			if (!tmp[k])
				continue;
			if (kept < s[i].blocks) {
				s[i].live[kept++] = tmp[k];
				s[i].bytes += sizes[k];
			} else {
				free(tmp[k]);
			}
		}
		s[i].blocks = kept;
		free(tmp);
		free(sizes);
	}
	app_ready();
	for (long pt = 0; pt < points; pt++) {
		char name[32];
		snprintf(name, sizeof(name), "%ld", pt);
		for (int i = 0; i < N_SITES; i++) {
			char fn[16];
			snprintf(fn, sizeof(fn), "acc_%d", i);
			app_truth(name, fn, s[i].bytes, s[i].blocks);
		}
		app_snapshot(name);
		app_sleep(0.01);
	}
	return 0;
}
