/* cache_plateau.c — only a bounded LRU cache: live bytes fill, then plateau.
 *
 * Site: cache_insert (app_cache.c). Options: --inserts N accesses
 * (default 100000) or --duration S; --cache-entries C (default 2048);
 * --points K snapshots evenly spread, with truth lines before each and at
 * point=final; --seed, --sleep-us (pause per 100 accesses), --stop-file,
 * --ready. Keys are drawn from 4*C values, so about a quarter of accesses
 * hit once the cache is full. Single-threaded.
 */
#include <stdio.h>
#include <unistd.h>

#include "app_cache.h"
#include "app_common.h"

static void checkpoint(int point)
{
	char name[32];
	snprintf(name, sizeof name, "%d", point);
	app_truth(name, "cache_insert", app_cache_bytes(), app_cache_entries());
	app_snapshot(name);
}

int main(int argc, char **argv)
{
	long inserts = app_opt_long(argc, argv, "inserts", 100000);
	double duration = app_opt_double(argc, argv, "duration", 0);
	long points = app_opt_long(argc, argv, "points", 0);
	long capacity = app_opt_long(argc, argv, "cache-entries", 2048);
	long sleep_us = app_opt_long(argc, argv, "sleep-us", 0);
	const char *stop_file = app_opt_str(argc, argv, "stop-file", NULL);
	uint64_t rng = (uint64_t)app_opt_long(argc, argv, "seed", 7);
	if (capacity < 1 || points < 0 || inserts < 0) {
		fprintf(stderr, "cache_plateau: bad arguments\n");
		return 2;
	}
	app_cache_init((uint64_t)capacity);
	if (app_opt_flag(argc, argv, "ready"))
		app_ready();

	double start = app_now();
	double deadline = duration > 0 ? start + duration : 0;
	int next_point = 0;
	for (long i = 0;; i++) {
		if (duration > 0) {
			if ((i & 255) == 0) {
				if (app_should_stop(deadline, stop_file))
					break;
				double frac = (app_now() - start) / duration;
				if (next_point < points && frac >= (double)(next_point + 1) / (double)(points + 1))
					checkpoint(next_point++);
			}
		} else {
			if (i >= inserts)
				break;
			if (next_point < points && i == (next_point + 1) * inserts / (points + 1))
				checkpoint(next_point++);
		}
		app_cache_access(app_rand_r(&rng) % ((uint64_t)capacity * 4));
		if (sleep_us > 0 && i % 100 == 99)
			usleep((useconds_t)sleep_us);
	}
	while (duration <= 0 && next_point < points)
		checkpoint(next_point++);
	app_truth("final", "cache_insert", app_cache_bytes(), app_cache_entries());
	printf("done entries=%llu bytes=%llu\n", (unsigned long long)app_cache_entries(),
	       (unsigned long long)app_cache_bytes());
	return 0;
}
