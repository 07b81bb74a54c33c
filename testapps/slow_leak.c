/* slow_leak.c — small objects leaking slowly amid churn (for growth tests).
 *
 * Site slow_leak_record leaks --size bytes (default 64) once every
 * --leak-every iterations (default 100); churn_small allocates and frees a
 * 16..512 B block every iteration. --iterations N (default 100000) or
 * --duration S with --leak-rate R leaks per second (then iteration i is due
 * at i / (R x leak-every) seconds and the loop sleeps only while it is ahead:
 * on a loaded host a sleep can overshoot by milliseconds, and pacing by
 * sleep lengths alone would make the leak rate follow the host's load).
 * --points K checkpoints evenly over the run, truth lines
 * before each and at point=final. Single-threaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_common.h"

struct record {
	struct record *next;
	char data[];
};

static struct record *g_records;
static uint64_t g_count, g_bytes;

LW_APP_NOINLINE static void slow_leak_record(size_t size)
{
	struct record *r = malloc(size);
	if (!r)
		abort();
	memset(r->data, 0x5a, size - sizeof *r);
	r->next = g_records;
	g_records = r;
	g_count++;
	g_bytes += size;
}

LW_APP_NOINLINE static void churn_small(size_t size)
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
	app_truth(name, "slow_leak_record", g_bytes, g_count);
	app_snapshot(name);
}

int main(int argc, char **argv)
{
	long iterations = app_opt_long(argc, argv, "iterations", 100000);
	long leak_every = app_opt_long(argc, argv, "leak-every", 100);
	long size = app_opt_long(argc, argv, "size", 64);
	double duration = app_opt_double(argc, argv, "duration", 0);
	double leak_rate = app_opt_double(argc, argv, "leak-rate", 100);
	long points = app_opt_long(argc, argv, "points", 0);
	const char *stop_file = app_opt_str(argc, argv, "stop-file", NULL);
	uint64_t rng = (uint64_t)app_opt_long(argc, argv, "seed", 11);
	if (leak_every < 1 || size < (long)sizeof(struct record) || points < 0 || leak_rate <= 0) {
		fprintf(stderr, "slow_leak: bad arguments\n");
		return 2;
	}
	if (app_opt_flag(argc, argv, "ready"))
		app_ready();

	double start = app_now();
	double deadline = duration > 0 ? start + duration : 0;
	/* in duration mode, iteration i is due at start + i x pause, so that
	 * leaks happen leak_rate times a second of wall time */
	double pause = duration > 0 ? 1.0 / (leak_rate * (double)leak_every) : 0;
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
		churn_small((size_t)app_rand_range(&rng, 16, 512));
		if (i % leak_every == 0)
			slow_leak_record((size_t)size);
		if (pause > 0) {
			double ahead = start + (double)(i + 1) * pause - app_now();
			if (ahead > 0)
				app_sleep(ahead);
		}
	}
	while (duration <= 0 && next_point < points)
		checkpoint(next_point++);
	app_truth("final", "slow_leak_record", g_bytes, g_count);
	printf("done leaked=%llu\n", (unsigned long long)g_count);
	return 0;
}
