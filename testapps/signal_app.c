/* signal_app.c — allocation-heavy work while signals arrive.
 *
 * Main and --threads T extra threads (default 1) churn blocks of 16 B ..
 * 64 KiB; main also leaks 128 B from signal_leak every 4096 iterations. It runs
 * until --stop-file exists or --duration S (default 30) passes. Once every
 * extra thread has churned WARM_STEPS times (its SLOTS blocks, about 1.5 MiB,
 * are live: some 24 samples at a 64 KiB rate, so a dump finds sampled blocks
 * however the threads were scheduled), it requests one snapshot (so the shim
 * is fully set up) and prints "ready pid=PID". With --own-usr2 it installs its own SIGUSR2 handler that
 * counts signals and prints "usr2 received=N" at the end (used with
 * LEAKWATCH_SIGNAL=none: the program's own handling must be untouched).
 * Prints the leak's truth at point=final and exits 0.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_common.h"

struct blk {
	struct blk *next;
};

static struct blk *g_list;
static uint64_t g_leaks;
static atomic_int g_stop;
static volatile sig_atomic_t g_usr2;
static atomic_long g_warm;   /* extra threads past WARM_STEPS */

#define SLOTS 1024
#define WARM_STEPS 16384

static void on_usr2(int sig)
{
	(void)sig;
	g_usr2++;
}

LW_APP_NOINLINE static void signal_leak(void)
{
	struct blk *b = malloc(128);
	if (!b)
		abort();
	memset(b, 9, 128);
	b->next = g_list;
	g_list = b;
	g_leaks++;
}

static void churn_step(uint64_t *rng, void **slots)
{
	unsigned s = (unsigned)(app_rand_r(rng) % SLOTS);
	uint64_t r = app_rand_r(rng);
	free(slots[s]);
	size_t n = r % 32 == 0 ? (size_t)(r >> 40) % 65536 + 1 : (size_t)(r >> 40) % 1024 + 16;
	slots[s] = malloc(n);
	if (!slots[s])
		abort();
	app_touch(slots[s], n, (unsigned)r);
}

static void *worker(void *arg)
{
	uint64_t rng = (uint64_t)(intptr_t)arg * 31 + 7;
	void *slots[SLOTS] = {0};
	for (int i = 0; i < WARM_STEPS; i++)
		churn_step(&rng, slots);
	atomic_fetch_add(&g_warm, 1);
	while (!atomic_load_explicit(&g_stop, memory_order_relaxed))
		churn_step(&rng, slots);
	for (int i = 0; i < SLOTS; i++)
		free(slots[i]);
	return NULL;
}

int main(int argc, char **argv)
{
	long threads = app_opt_long(argc, argv, "threads", 1);
	double duration = app_opt_double(argc, argv, "duration", 30);
	const char *stop_file = app_opt_str(argc, argv, "stop-file", NULL);
	int own = app_opt_flag(argc, argv, "own-usr2");
	if (threads < 0 || threads > 64) {
		fprintf(stderr, "signal_app: bad arguments\n");
		return 2;
	}
	if (own) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_usr2;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART;
		sigaction(SIGUSR2, &sa, NULL);
	}
	pthread_t th[64];
	for (long i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i) != 0)
			return 1;
	while (atomic_load(&g_warm) < threads)
		app_sleep(0.001);
	app_snapshot("start");
	app_ready();

	uint64_t rng = 99;
	void *slots[SLOTS] = {0};
	double deadline = app_now() + duration;
	for (uint64_t it = 0;; it++) {
		if ((it & 1023) == 0 && app_should_stop(deadline, stop_file))
			break;
		churn_step(&rng, slots);
		if ((it & 4095) == 0)
			signal_leak();
	}
	atomic_store(&g_stop, 1);
	for (long i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < SLOTS; i++)
		free(slots[i]);
	app_truth("final", "signal_leak", g_leaks * 128, g_leaks);
	if (own)
		printf("usr2 received=%d\n", (int)g_usr2);
	printf("done\n");
	return 0;
}
