/* rare_big_leak.c — a rare large leak amid churn (for growth tests).
 *
 * Site rare_big_block leaks one --size block (default 4 MiB) every
 * --every iterations (default 2000); churn_medium allocates and frees
 * 1..64 KiB blocks every iteration. --iterations N (default 10000) or
 * --duration S (--sleep-us per iteration paces it). --touch writes every page
 * of the leaked blocks (so RSS grows too). --points K checkpoints evenly,
 * truth lines before each and at point=final. Single-threaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app_common.h"

struct big {
	struct big *next;
};

static struct big *g_bigs;
static uint64_t g_count, g_bytes;
static int g_touch;

LW_APP_NOINLINE static void rare_big_block(size_t size)
{
	struct big *b = malloc(size);
	if (!b)
		abort();
	if (g_touch)
		app_touch(b, size, (unsigned)g_count);
	b->next = g_bigs;
	g_bigs = b;
	g_count++;
	g_bytes += size;
}

LW_APP_NOINLINE static void churn_medium(size_t size)
{
	char *p = malloc(size);
	if (!p)
		abort();
	app_touch(p, size, (unsigned)size);
	free(p);
}

static void checkpoint(int point)
{
	char name[32];
	snprintf(name, sizeof name, "%d", point);
	app_truth(name, "rare_big_block", g_bytes, g_count);
	app_snapshot(name);
}

int main(int argc, char **argv)
{
	long iterations = app_opt_long(argc, argv, "iterations", 10000);
	long every = app_opt_long(argc, argv, "every", 2000);
	long size = app_opt_long(argc, argv, "size", 4 << 20);
	double duration = app_opt_double(argc, argv, "duration", 0);
	long sleep_us = app_opt_long(argc, argv, "sleep-us", 0);
	long points = app_opt_long(argc, argv, "points", 0);
	const char *stop_file = app_opt_str(argc, argv, "stop-file", NULL);
	uint64_t rng = (uint64_t)app_opt_long(argc, argv, "seed", 13);
	g_touch = app_opt_flag(argc, argv, "touch");
	if (every < 1 || size < (long)sizeof(struct big) || points < 0) {
		fprintf(stderr, "rare_big_leak: bad arguments\n");
		return 2;
	}
	if (app_opt_flag(argc, argv, "ready"))
		app_ready();

	double start = app_now();
	double deadline = duration > 0 ? start + duration : 0;
	int next_point = 0;
	for (long i = 0;; i++) {
		if (duration > 0) {
			if (app_should_stop(deadline, stop_file))
				break;
			double frac = (app_now() - start) / duration;
			if (next_point < points && frac >= (double)(next_point + 1) / (double)(points + 1))
				checkpoint(next_point++);
		} else {
			if (i >= iterations)
				break;
			if (next_point < points && i == (next_point + 1) * iterations / (points + 1))
				checkpoint(next_point++);
		}
		churn_medium((size_t)app_rand_range(&rng, 1024, 65536));
		if (i % every == every - 1)
			rare_big_block((size_t)size);
		if (sleep_us > 0)
			usleep((useconds_t)sleep_us);
	}
	while (duration <= 0 && next_point < points)
		checkpoint(next_point++);
	app_truth("final", "rare_big_block", g_bytes, g_count);
	printf("done leaked=%llu\n", (unsigned long long)g_count);
	return 0;
}
