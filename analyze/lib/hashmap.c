/* hashmap.c — open addressing, linear probing, power-of-two tables
 * (hashmap.h).
 *
 * Invariants: cap is 0 or a power of two >= 64; n * 2 <= cap, so every
 * probe sequence meets an empty slot; used[i] marks a live slot. Byte keys
 * hash with FNV-1a and then a 64-bit finaliser (FNV alone clusters in the
 * low bits that index the table). Not thread-safe.
 */
#include "hashmap.h"

#include <stdlib.h>
#include <string.h>

#include "lw_assert.h"

uint64_t lw_hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

uint64_t lw_hash_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ s[i]) * 1099511628211ULL;
	return lw_hash_u64(h ^ len);
}

uint64_t lw_hash_more(uint64_t h, const void *p, size_t len)
{
	return lw_hash_u64(h ^ lw_hash_bytes(p, len)) + 0x9e3779b97f4a7c15ULL;
}

void lw_map_init(lw_map *m, int bytes_keys)
{
	memset(m, 0, sizeof(*m));
	m->bytes_keys = bytes_keys;
}

void lw_map_free(lw_map *m)
{
	int bytes_keys = m->bytes_keys;
	free(m->used);
	free(m->keys);
	free(m->lens);
	free(m->hashes);
	free(m->vals);
	lw_arena_free(&m->arena);
	lw_map_init(m, bytes_keys);
}

static uint64_t slot_hash(const lw_map *m, size_t i)
{
	return m->bytes_keys ? m->hashes[i] : lw_hash_u64(m->keys[i]);
}

static int map_grow(lw_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	uint8_t *used = calloc(cap, 1);
	uint64_t *keys = malloc(cap * sizeof(*keys));
	uint64_t *vals = malloc(cap * sizeof(*vals));
	uint32_t *lens = m->bytes_keys ? malloc(cap * sizeof(*lens)) : NULL;
	uint64_t *hashes = m->bytes_keys ? malloc(cap * sizeof(*hashes)) : NULL;
	if (!used || !keys || !vals || (m->bytes_keys && (!lens || !hashes))) {
		free(used);
		free(keys);
		free(vals);
		free(lens);
		free(hashes);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->used[i])
			continue;
		size_t j = slot_hash(m, i) & (cap - 1);
		while (used[j])
			j = (j + 1) & (cap - 1);
		used[j] = 1;
		keys[j] = m->keys[i];
		vals[j] = m->vals[i];
		if (m->bytes_keys) {
			lens[j] = m->lens[i];
			hashes[j] = m->hashes[i];
		}
	}
	free(m->used);
	free(m->keys);
	free(m->vals);
	free(m->lens);
	free(m->hashes);
	m->used = used;
	m->keys = keys;
	m->vals = vals;
	m->lens = lens;
	m->hashes = hashes;
	m->cap = cap;
	return 0;
}

/* Slot holding the key, or the empty slot where it would go. */
static size_t probe_u64(const lw_map *m, uint64_t key)
{
	size_t j = lw_hash_u64(key) & (m->cap - 1);
	while (m->used[j] && m->keys[j] != key)
		j = (j + 1) & (m->cap - 1);
	return j;
}

static size_t probe_bytes(const lw_map *m, const void *key, size_t len, uint64_t h)
{
	size_t j = h & (m->cap - 1);
	while (m->used[j] && !(m->hashes[j] == h && m->lens[j] == len &&
			       memcmp((const void *)(uintptr_t)m->keys[j], key, len) == 0))
		j = (j + 1) & (m->cap - 1);
	return j;
}

uint64_t *lw_map_find_u64(const lw_map *m, uint64_t key)
{
	LW_ASSERT(!m->bytes_keys);
	if (!m->cap)
		return NULL;
	size_t j = probe_u64(m, key);
	return m->used[j] ? &m->vals[j] : NULL;
}

uint64_t *lw_map_put_u64(lw_map *m, uint64_t key, int *added)
{
	LW_ASSERT(!m->bytes_keys);
	if ((m->n + 1) * 2 > m->cap && map_grow(m) < 0)
		return NULL;
	size_t j = probe_u64(m, key);
	if (added)
		*added = !m->used[j];
	if (!m->used[j]) {
		m->used[j] = 1;
		m->keys[j] = key;
		m->vals[j] = 0;
		m->n++;
	}
	return &m->vals[j];
}

uint64_t *lw_map_find(const lw_map *m, const void *key, size_t len)
{
	LW_ASSERT(m->bytes_keys);
	if (!m->cap || len > UINT32_MAX)
		return NULL;
	size_t j = probe_bytes(m, key, len, lw_hash_bytes(key, len));
	return m->used[j] ? &m->vals[j] : NULL;
}

uint64_t *lw_map_put(lw_map *m, const void *key, size_t len, int *added,
		     const char **stored)
{
	LW_ASSERT(m->bytes_keys);
	if (len > UINT32_MAX - 1)
		return NULL;
	if ((m->n + 1) * 2 > m->cap && map_grow(m) < 0)
		return NULL;
	uint64_t h = lw_hash_bytes(key, len);
	size_t j = probe_bytes(m, key, len, h);
	int is_new = !m->used[j];
	if (is_new) {
		char *copy = lw_arena_alloc(&m->arena, len + 1);
		if (!copy)
			return NULL;
		memcpy(copy, key, len);
		copy[len] = '\0';
		m->used[j] = 1;
		m->keys[j] = (uint64_t)(uintptr_t)copy;
		m->lens[j] = (uint32_t)len;
		m->hashes[j] = h;
		m->vals[j] = 0;
		m->n++;
	}
	if (added)
		*added = is_new;
	if (stored)
		*stored = (const char *)(uintptr_t)m->keys[j];
	return &m->vals[j];
}

uint64_t *lw_map_find_str(const lw_map *m, const char *key)
{
	return lw_map_find(m, key, strlen(key));
}

uint64_t *lw_map_put_str(lw_map *m, const char *key, int *added, const char **stored)
{
	return lw_map_put(m, key, strlen(key), added, stored);
}

const char *lw_map_intern(lw_map *m, const char *s)
{
	const char *stored = NULL;
	if (!s)
		s = "";
	return lw_map_put_str(m, s, NULL, &stored) ? stored : NULL;
}
