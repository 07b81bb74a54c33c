/* thread_leak.c — short-lived threads that leak, and frees across threads.
 *
 * --threads N workers (default 64) run --concurrency W at a time (default
 * 4); each one, before exiting:
 *   thread_leak_block   leaks --blocks K blocks (default 10) of
 *                       --size + 16*(t%8) bytes (default size 256), kept in
 *                       a global list that is never freed;
 *   handoff_alloc       allocates --handoff M blocks (default 200) of 32..1024
 *                       bytes and hands each to the consumer thread, which
 *                       frees it (allocated in one thread, freed in another);
 *   orphan_alloc        allocates --orphans O blocks (default 20) of 512 bytes
 *                       that main frees after the worker has exited.
 * Checkpoints (with --points): point=joined after every worker and the
 * consumer have exited (orphans still live), point=freed after main freed
 * the orphans; truth lines before each and at point=final. With --dump the
 * checkpoints request dumps (leakwatch_dump) instead of snapshots.
 * Locks: g_leak_lock guards the leak list, g_queue_lock the handoff queue.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_common.h"

struct node {
	struct node *next;
	size_t size;
};

static pthread_mutex_t g_leak_lock = PTHREAD_MUTEX_INITIALIZER;
static struct node *g_leaked;
static uint64_t g_leak_count, g_leak_bytes;

static pthread_mutex_t g_queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_queue_cond = PTHREAD_COND_INITIALIZER;
static struct node *g_queue;
static int g_queue_done;
static uint64_t g_handoff_live_bytes, g_handoff_live_count;   /* under g_queue_lock */

static long g_blocks = 10, g_size = 256, g_handoff = 200, g_orphans = 20;

LW_APP_NOINLINE static void thread_leak_block(size_t size)
{
	struct node *n = malloc(size);
	if (!n)
		abort();
	memset(n, 0x11, size);
	n->size = size;
	pthread_mutex_lock(&g_leak_lock);
	n->next = g_leaked;
	g_leaked = n;
	g_leak_count++;
	g_leak_bytes += size;
	pthread_mutex_unlock(&g_leak_lock);
}

LW_APP_NOINLINE static void handoff_alloc(size_t size)
{
	struct node *n = malloc(size);
	if (!n)
		abort();
	memset(n, 0x22, size);
	n->size = size;
	pthread_mutex_lock(&g_queue_lock);
	n->next = g_queue;
	g_queue = n;
	g_handoff_live_bytes += size;
	g_handoff_live_count++;
	pthread_cond_signal(&g_queue_cond);
	pthread_mutex_unlock(&g_queue_lock);
}

LW_APP_NOINLINE static struct node *orphan_alloc(struct node *list)
{
	struct node *n = malloc(512);
	if (!n)
		abort();
	memset(n, 0x33, 512);
	n->size = 512;
	n->next = list;
	return n;
}

static void *consumer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g_queue_lock);
	for (;;) {
		while (!g_queue && !g_queue_done)
			pthread_cond_wait(&g_queue_cond, &g_queue_lock);
		if (!g_queue && g_queue_done)
			break;
		struct node *list = g_queue;
		g_queue = NULL;
		pthread_mutex_unlock(&g_queue_lock);
		uint64_t bytes = 0, count = 0;
		while (list) {
			struct node *next = list->next;
			bytes += list->size;
			count++;
			free(list);
			list = next;
		}
		pthread_mutex_lock(&g_queue_lock);
		g_handoff_live_bytes -= bytes;
		g_handoff_live_count -= count;
	}
	pthread_mutex_unlock(&g_queue_lock);
	return NULL;
}

static void *worker(void *arg)
{
	long t = (long)(intptr_t)arg;
	uint64_t rng = (uint64_t)t * 7919 + 1;
	struct node *orphans = NULL;
	for (long i = 0; i < g_handoff; i++) {
		handoff_alloc((size_t)app_rand_range(&rng, 32, 1024));
		void *tmp = malloc((size_t)app_rand_range(&rng, 8, 300));
		app_touch(tmp, 8, (unsigned)i);
		free(tmp);
	}
	for (long i = 0; i < g_blocks; i++)
		thread_leak_block((size_t)(g_size + 16 * (t % 8)));
	for (long i = 0; i < g_orphans; i++)
		orphans = orphan_alloc(orphans);
	return orphans;
}

static void print_truth(const char *point, uint64_t orphan_count)
{
	pthread_mutex_lock(&g_leak_lock);
	app_truth(point, "thread_leak_block", g_leak_bytes, g_leak_count);
	pthread_mutex_unlock(&g_leak_lock);
	pthread_mutex_lock(&g_queue_lock);
	app_truth(point, "handoff_alloc", g_handoff_live_bytes, g_handoff_live_count);
	pthread_mutex_unlock(&g_queue_lock);
	app_truth(point, "orphan_alloc", orphan_count * 512, orphan_count);
}

int main(int argc, char **argv)
{
	long threads = app_opt_long(argc, argv, "threads", 64);
	long concurrency = app_opt_long(argc, argv, "concurrency", 4);
	int points = app_opt_flag(argc, argv, "points");
	int dump = app_opt_flag(argc, argv, "dump");
	g_blocks = app_opt_long(argc, argv, "blocks", 10);
	g_size = app_opt_long(argc, argv, "size", 256);
	g_handoff = app_opt_long(argc, argv, "handoff", 200);
	g_orphans = app_opt_long(argc, argv, "orphans", 20);
	if (threads < 1 || concurrency < 1 || g_blocks < 0 || g_size < (long)sizeof(struct node) ||
	    g_handoff < 0 || g_orphans < 0) {
		fprintf(stderr, "thread_leak: bad arguments\n");
		return 2;
	}
	struct node **orphan_lists = calloc((size_t)threads, sizeof *orphan_lists);
	pthread_t *tids = calloc((size_t)concurrency, sizeof *tids);
	if (!orphan_lists || !tids)
		return 1;
	pthread_t cons;
	if (pthread_create(&cons, NULL, consumer, NULL) != 0)
		return 1;

	for (long base = 0; base < threads; base += concurrency) {
		long n = threads - base < concurrency ? threads - base : concurrency;
		for (long i = 0; i < n; i++)
			if (pthread_create(&tids[i], NULL, worker, (void *)(intptr_t)(base + i)) != 0)
				return 1;
		for (long i = 0; i < n; i++) {
			void *ret;
			pthread_join(tids[i], &ret);
			orphan_lists[base + i] = ret;
		}
	}
	pthread_mutex_lock(&g_queue_lock);
	g_queue_done = 1;
	pthread_cond_signal(&g_queue_cond);
	pthread_mutex_unlock(&g_queue_lock);
	pthread_join(cons, NULL);

	uint64_t orphan_count = (uint64_t)threads * (uint64_t)g_orphans;
	print_truth("joined", orphan_count);
	if (points)
		dump ? app_dump("joined") : app_snapshot("joined");
	for (long t = 0; t < threads; t++) {
		struct node *n = orphan_lists[t];
		while (n) {
			struct node *next = n->next;
			free(n);
			n = next;
		}
	}
	print_truth("freed", 0);
	if (points)
		dump ? app_dump("freed") : app_snapshot("freed");
	print_truth("final", 0);
	printf("done threads=%ld\n", threads);
	return 0;
}
