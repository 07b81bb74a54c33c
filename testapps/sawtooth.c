/* sawtooth.c — grows, then frees everything, repeatedly.
 *
 * Site: sawtooth_grow allocates blocks of 32 B .. 8 KiB until a cycle holds
 * --blocks N (default 20000); then sawtooth_release frees them all.
 * --cycles C (default 3). With --points, each cycle checkpoints at its peak
 * (point=peakK) and at its trough (point=troughK): truth lines, then a
 * snapshot. --duration S instead repeats cycles until the time is up (no
 * checkpoints unless --points), --sleep-us pauses per 100 blocks.
 * Single-threaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "app_common.h"

static void **g_blocks;
static size_t *g_sizes;
static uint64_t g_count, g_bytes;

LW_APP_NOINLINE static void sawtooth_grow(size_t size)
{
	void *p = malloc(size);
	if (!p)
		abort();
	app_touch(p, size, (unsigned)g_count);
	g_blocks[g_count] = p;
	g_sizes[g_count] = size;
	g_count++;
	g_bytes += size;
}

LW_APP_NOINLINE static void sawtooth_release(void)
{
	for (uint64_t i = 0; i < g_count; i++)
		free(g_blocks[i]);
	g_count = 0;
	g_bytes = 0;
}

static void checkpoint(const char *kind, long cycle)
{
	char name[32];
	snprintf(name, sizeof name, "%s%ld", kind, cycle);
	app_truth(name, "sawtooth_grow", g_bytes, g_count);
	app_snapshot(name);
}

int main(int argc, char **argv)
{
	long cycles = app_opt_long(argc, argv, "cycles", 3);
	long blocks = app_opt_long(argc, argv, "blocks", 20000);
	double duration = app_opt_double(argc, argv, "duration", 0);
	int points = app_opt_flag(argc, argv, "points");
	long sleep_us = app_opt_long(argc, argv, "sleep-us", 0);
	const char *stop_file = app_opt_str(argc, argv, "stop-file", NULL);
	uint64_t rng = (uint64_t)app_opt_long(argc, argv, "seed", 3);
	if (cycles < 0 || blocks < 1) {
		fprintf(stderr, "sawtooth: bad arguments\n");
		return 2;
	}
	/* the index arrays come from calloc before any checkpoint: a constant
	 * that never changes the sawtooth sites */
	g_blocks = calloc((size_t)blocks, sizeof *g_blocks);
	g_sizes = calloc((size_t)blocks, sizeof *g_sizes);
	if (!g_blocks || !g_sizes)
		return 1;
	if (app_opt_flag(argc, argv, "ready"))
		app_ready();

	double deadline = duration > 0 ? app_now() + duration : 0;
	long c;
	for (c = 0; duration > 0 || c < cycles; c++) {
		if (duration > 0 && app_should_stop(deadline, stop_file))
			break;
		for (long b = 0; b < blocks; b++) {
			sawtooth_grow((size_t)app_rand_range(&rng, 32, 8192));
			if (sleep_us > 0 && b % 100 == 99)
				usleep((useconds_t)sleep_us);
		}
		if (points)
			checkpoint("peak", c);
		sawtooth_release();
		if (points)
			checkpoint("trough", c);
	}
	app_truth("final", "sawtooth_grow", g_bytes, g_count);
	printf("done cycles=%ld\n", c);
	return 0;
}
