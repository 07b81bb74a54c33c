/* hashmap.h — the analyzer's one hash map: open addressing with linear
 * probing, keyed either by 64-bit integers or by byte strings, mapping to
 * 64-bit values (ids, indices, packed pairs).
 *
 * Byte-string keys are copied into the map's own arena (so a map doubles as
 * an intern table: lw_map_put returns the stored copy); integer keys are
 * stored inline, any value allowed. Load factor at most 1/2; the table
 * doubles from 64 slots. A value pointer returned by find/put stays valid
 * until the next put (which may move the table). Not thread-safe. Errors:
 * put returns NULL when memory is exhausted and leaves the map as it was.
 */
#ifndef LW_HASHMAP_H
#define LW_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

typedef struct lw_map {
	size_t cap, n;
	int bytes_keys;          /* 1: byte-string keys; 0: uint64 keys */
	uint8_t *used;
	uint64_t *keys;          /* uint64 key, or the stored key's address */
	uint32_t *lens;          /* byte-string keys: key length */
	uint64_t *hashes;        /* byte-string keys: full hash */
	uint64_t *vals;
	lw_arena arena;          /* byte-string keys: stored copies (NUL-ended) */
} lw_map;

/* An empty map; `bytes_keys` picks the key kind. An all-zero lw_map is an
 * empty integer-keyed map. */
void lw_map_init(lw_map *m, int bytes_keys);
void lw_map_free(lw_map *m);

/* ---- integer keys ---- */
uint64_t *lw_map_find_u64(const lw_map *m, uint64_t key);
/* The value slot of key, created (value 0, *added = 1) when absent. */
uint64_t *lw_map_put_u64(lw_map *m, uint64_t key, int *added);

/* ---- byte-string keys ---- */
uint64_t *lw_map_find(const lw_map *m, const void *key, size_t len);
/* As lw_map_put_u64; *stored (may be NULL) gets the map's NUL-terminated
 * copy of the key, valid until lw_map_free. */
uint64_t *lw_map_put(lw_map *m, const void *key, size_t len, int *added,
		     const char **stored);
/* NUL-terminated string keys (the terminator is not part of the key). */
uint64_t *lw_map_find_str(const lw_map *m, const char *key);
uint64_t *lw_map_put_str(lw_map *m, const char *key, int *added, const char **stored);
/* The map's copy of s, added if new: an intern table. NULL on ENOMEM. */
const char *lw_map_intern(lw_map *m, const char *s);

/* The hashes the map uses, for callers that key their own tables. */
uint64_t lw_hash_bytes(const void *p, size_t len);
uint64_t lw_hash_u64(uint64_t x);
/* h combined with the hash of p[0..len): chains fields into one hash. */
uint64_t lw_hash_more(uint64_t h, const void *p, size_t len);

#endif
