/* churn.c — multi-threaded malloc/free churn for the overhead benchmark.
 *
 * Each of T threads runs a loop over a private ring of slots: every step
 * frees the block in a slot and allocates a new one of a size drawn from a
 * skewed distribution (mostly small, some medium, rarely large), writing its
 * first byte so pages are touched. Every 64th step the block is handed to
 * the next thread's inbox instead of being freed locally, so cross-thread
 * frees are exercised. Deterministic per seed; prints a checksum so the work
 * cannot be optimized away.
 *
 * usage: churn [threads] [steps per thread] [live slots per thread]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INBOX 1024

struct worker {
	pthread_t th;
	int id;
	long steps;
	size_t slots;
	uint64_t checksum;
	_Atomic(void *) inbox[INBOX];
};

static struct worker *workers;
static int n_workers;

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t draw_size(uint64_t *s)
{
	uint64_t r = next_rand(s);
	unsigned bucket = (unsigned)(r % 100);
	if (bucket < 70)
		return 8 + (r >> 8) % 120;        /* small objects */
	if (bucket < 95)
		return 128 + (r >> 8) % 4000;     /* medium buffers */
	if (bucket < 99)
		return 4096 + (r >> 8) % 60000;   /* large buffers */
	return 65536 + (r >> 8) % 1000000;    /* rare big blocks */
}

static void *run(void *arg)
{
	struct worker *w = arg;
	uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(w->id + 1);
	void **ring = calloc(w->slots, sizeof(void *));
	if (!ring)
		abort();
	struct worker *peer = &workers[(w->id + 1) % n_workers];
	for (long i = 0; i < w->steps; i++) {
		size_t k = (size_t)(next_rand(&seed) % w->slots);
		void *old = ring[k];
		if (old && (i & 63) == 0 && n_workers > 1) {
			void *expect = NULL;
			size_t box = (size_t)i / 64 % INBOX;
			if (!atomic_compare_exchange_strong(&peer->inbox[box], &expect, old))
				free(old);
		} else {
			free(old);
		}
		size_t n = draw_size(&seed);
		unsigned char *p = malloc(n);
		if (!p)
			abort();
		p[0] = (unsigned char)i;
		p[n - 1] = (unsigned char)n;
		w->checksum += p[0] + n;
		ring[k] = p;
		if ((i & 255) == 0) {
			for (size_t b = 0; b < INBOX; b += 61) {
				void *q = atomic_exchange(&w->inbox[b], NULL);
				free(q);
			}
		}
	}
	for (size_t k = 0; k < w->slots; k++)
		free(ring[k]);
	free(ring);
	return NULL;
}

int main(int argc, char **argv)
{
	n_workers = argc > 1 ? atoi(argv[1]) : 4;
	long steps = argc > 2 ? atol(argv[2]) : 2000000;
	size_t slots = argc > 3 ? (size_t)atol(argv[3]) : 4096;
	if (n_workers < 1 || steps < 1 || slots < 1) {
		fprintf(stderr, "usage: churn [threads] [steps] [slots]\n");
		return 2;
	}
	workers = calloc((size_t)n_workers, sizeof *workers);
	if (!workers)
		return 1;
	for (int i = 0; i < n_workers; i++) {
		workers[i].id = i;
		workers[i].steps = steps;
		workers[i].slots = slots;
		if (pthread_create(&workers[i].th, NULL, run, &workers[i]) != 0)
			return 1;
	}
	uint64_t sum = 0;
	for (int i = 0; i < n_workers; i++) {
		pthread_join(workers[i].th, NULL);
		sum += workers[i].checksum;
		for (size_t b = 0; b < INBOX; b++)
			free(atomic_load(&workers[i].inbox[b]));
	}
	free(workers);
	printf("checksum %llu\n", (unsigned long long)sum);
	return 0;
}
