/* leak_churn.c — a steady leak amid heavy churn, plus a cache that plateaus.
 *
 * Sites (each its own noinline function, so stacks name them):
 *   leak_session_buffer  1 KiB per session, linked into a list that is never
 *                        freed: the leak (grows linearly with iterations);
 *   cache_insert         LRU cache bounded to --cache-entries entries of
 *                        64..2112 bytes: fills, then plateaus;
 *   churn_scratch        a ring of short-lived blocks of mixed sizes
 *                        (16 B .. 4 KiB, now and then 16..256 KiB);
 *   grow_record_log      a log grown with realloc and reset at 256 KiB.
 *
 * Run by iterations (--iterations N, default 200000) or by time
 * (--duration S, stops early if --stop-file exists). --points K requests K
 * snapshots evenly spread over the run (--api dump makes them dumps) and
 * prints the truth of every site before each, then again as point=final
 * right before a normal exit (the shim's final snapshot).
 * Other options: --leak-every N (iterations per leaked session, default 4),
 * --churn N (churn operations per iteration, default 8), --seed N,
 * --sleep-us N (pause per 100 iterations, for the demo), --ready.
 * A demo that leaks about 0.4 MB/s next to a 2 MB cache plateau:
 *   LEAKWATCH_INTERVAL=2 LD_PRELOAD=libleakwatch.so \
 *     leak_churn --duration 30 --leak-every 50 --sleep-us 5000
 * Single-threaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app_cache.h"
#include "app_common.h"

#define CHURN_SLOTS 256
#define LOG_RESET (256 * 1024)

struct session {
	struct session *next;
	char payload[1024 - sizeof(struct session *)];
};

static struct session *g_sessions;
static uint64_t g_session_count;

static void *g_churn[CHURN_SLOTS];
static size_t g_churn_size[CHURN_SLOTS];
static uint64_t g_churn_bytes, g_churn_objects;

static char *g_log;
static size_t g_log_len, g_log_cap;

LW_APP_NOINLINE static void leak_session_buffer(uint64_t id)
{
	struct session *s = malloc(sizeof *s);
	if (!s)
		abort();
	memset(s->payload, (int)(id & 0xff), sizeof s->payload);
	s->next = g_sessions;
	g_sessions = s;
	g_session_count++;
}

LW_APP_NOINLINE static void churn_scratch(unsigned slot, size_t size)
{
	if (g_churn[slot]) {
		free(g_churn[slot]);
		g_churn_bytes -= g_churn_size[slot];
		g_churn_objects--;
	}
	void *p = malloc(size);
	if (!p)
		abort();
	app_touch(p, size, slot);
	g_churn[slot] = p;
	g_churn_size[slot] = size;
	g_churn_bytes += size;
	g_churn_objects++;
}

LW_APP_NOINLINE static void grow_record_log(const char *rec, size_t n)
{
	if (g_log_len + n > g_log_cap) {
		size_t cap = g_log_cap ? g_log_cap * 2 : 256;
		while (cap < g_log_len + n)
			cap *= 2;
		char *p = realloc(g_log, cap);
		if (!p)
			abort();
		g_log = p;
		g_log_cap = cap;
	}
	memcpy(g_log + g_log_len, rec, n);
	g_log_len += n;
}

static void log_reset(void)
{
	free(g_log);
	g_log = NULL;
	g_log_len = g_log_cap = 0;
}

static void print_truth(const char *point)
{
	app_truth(point, "leak_session_buffer", g_session_count * sizeof(struct session),
		  g_session_count);
	app_truth(point, "cache_insert", app_cache_bytes(), app_cache_entries());
	app_truth(point, "churn_scratch", g_churn_bytes, g_churn_objects);
	app_truth(point, "grow_record_log", g_log_cap, g_log ? 1 : 0);
}

static void checkpoint(int point, int use_dump)
{
	char name[32];
	snprintf(name, sizeof name, "%d", point);
	print_truth(name);
	if (use_dump)
		app_dump(name);
	else
		app_snapshot(name);
}

int main(int argc, char **argv)
{
	long iterations = app_opt_long(argc, argv, "iterations", 200000);
	double duration = app_opt_double(argc, argv, "duration", 0);
	long points = app_opt_long(argc, argv, "points", 0);
	long leak_every = app_opt_long(argc, argv, "leak-every", 4);
	long churn = app_opt_long(argc, argv, "churn", 8);
	long sleep_us = app_opt_long(argc, argv, "sleep-us", 0);
	const char *stop_file = app_opt_str(argc, argv, "stop-file", NULL);
	int use_dump = strcmp(app_opt_str(argc, argv, "api", "snapshot"), "dump") == 0;
	uint64_t rng = (uint64_t)app_opt_long(argc, argv, "seed", 42);
	long cache_entries = app_opt_long(argc, argv, "cache-entries", 2048);
	if (leak_every < 1 || churn < 0 || cache_entries < 1 || points < 0) {
		fprintf(stderr, "leak_churn: bad arguments\n");
		return 2;
	}

	app_cache_init((uint64_t)cache_entries);
	if (app_opt_flag(argc, argv, "ready"))
		app_ready();

	double start = app_now();
	double deadline = duration > 0 ? start + duration : 0;
	int next_point = 0;
	uint64_t key_range = (uint64_t)cache_entries * 4;
	char rec[48];

	for (long it = 0;; it++) {
		if (duration > 0) {
			if ((it & 255) == 0) {
				if (app_should_stop(deadline, stop_file))
					break;
				double frac = (app_now() - start) / duration;
				if (next_point < points && frac >= (double)(next_point + 1) / (double)(points + 1))
					checkpoint(next_point++, use_dump);
			}
		} else {
			if (it >= iterations)
				break;
			if (next_point < points && it == (next_point + 1) * iterations / (points + 1))
				checkpoint(next_point++, use_dump);
		}

		for (long c = 0; c < churn; c++) {
			unsigned slot = (unsigned)(app_rand_r(&rng) % CHURN_SLOTS);
			uint64_t r = app_rand_r(&rng);
			size_t size = (r % 64 == 0) ? (size_t)(16384 + (r >> 8) % (240 * 1024))
						    : (size_t)(16 + (r >> 8) % 4080);
			churn_scratch(slot, size);
		}
		app_cache_access(app_rand_r(&rng) % key_range);
		if (it % leak_every == 0)
			leak_session_buffer((uint64_t)it);
		int n = snprintf(rec, sizeof rec, "it=%ld sessions=%llu\n", it,
				 (unsigned long long)g_session_count);
		if (g_log_len + (size_t)n > LOG_RESET)
			log_reset();
		grow_record_log(rec, (size_t)n);
		if (sleep_us > 0 && it % 100 == 99)
			usleep((useconds_t)sleep_us);
	}
	while (duration <= 0 && next_point < points)
		checkpoint(next_point++, use_dump);

	print_truth("final");
	printf("done sessions=%llu cache_entries=%llu\n", (unsigned long long)g_session_count,
	       (unsigned long long)app_cache_entries());
	return 0;
}
