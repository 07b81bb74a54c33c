/* app_cache.c — bounded LRU cache (see app_cache.h): a fixed hash table of
 * chains plus a doubly linked recency list; entries are the only heap
 * allocations, made in cache_insert and freed on eviction.
 */
#include "app_cache.h"

#include <stdlib.h>
#include <string.h>

#include "app_common.h"

#define CACHE_BUCKETS 8192

struct entry {
	struct entry *lru_prev, *lru_next, *hash_next;
	uint64_t key;
	size_t size;               /* requested bytes of this entry */
	char payload[];
};

static struct entry *g_buckets[CACHE_BUCKETS];
static struct entry *g_lru_head, *g_lru_tail;   /* head = most recent */
static uint64_t g_entries, g_bytes, g_capacity = 1;

void app_cache_init(uint64_t capacity_entries)
{
	g_capacity = capacity_entries ? capacity_entries : 1;
}

uint64_t app_cache_entries(void)
{
	return g_entries;
}

uint64_t app_cache_bytes(void)
{
	return g_bytes;
}

static void lru_unlink(struct entry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		g_lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		g_lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(struct entry *e)
{
	e->lru_prev = NULL;
	e->lru_next = g_lru_head;
	if (g_lru_head)
		g_lru_head->lru_prev = e;
	g_lru_head = e;
	if (!g_lru_tail)
		g_lru_tail = e;
}

static void evict_one(void)
{
	struct entry *e = g_lru_tail;
	lru_unlink(e);
	struct entry **pp = &g_buckets[e->key % CACHE_BUCKETS];
	while (*pp != e)
		pp = &(*pp)->hash_next;
	*pp = e->hash_next;
	g_entries--;
	g_bytes -= e->size;
	free(e);
}

LW_APP_NOINLINE void cache_insert(uint64_t key)
{
	size_t payload = 64 + (key % 32) * 64;
	size_t size = sizeof(struct entry) + payload;
	struct entry *e = calloc(1, size);
	if (!e)
		abort();
	e->key = key;
	e->size = size;
	memset(e->payload, (int)(key & 0x7f), payload);
	e->hash_next = g_buckets[key % CACHE_BUCKETS];
	g_buckets[key % CACHE_BUCKETS] = e;
	lru_push_front(e);
	g_entries++;
	g_bytes += size;
	while (g_entries > g_capacity)
		evict_one();
}

void app_cache_access(uint64_t key)
{
	for (struct entry *e = g_buckets[key % CACHE_BUCKETS]; e; e = e->hash_next) {
		if (e->key == key) {
			lru_unlink(e);
			lru_push_front(e);
			return;
		}
	}
	cache_insert(key);
}
