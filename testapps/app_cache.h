/* app_cache.h — the bounded LRU cache used by leak_churn and cache_plateau.
 *
 * Entries are keyed by a 64-bit key and sized 64..2112 payload bytes by the
 * key; cache_insert (the allocation site, noinline) allocates an entry and
 * evicts least recently used entries while the cache holds more than its
 * capacity, so its live bytes fill, then plateau. Single-threaded.
 */
#ifndef LW_APP_CACHE_H
#define LW_APP_CACHE_H

#include <stdint.h>

void app_cache_init(uint64_t capacity_entries);
/* Looks `key` up; on a miss inserts it (calls cache_insert). */
void app_cache_access(uint64_t key);
/* The allocation site. */
void cache_insert(uint64_t key);
uint64_t app_cache_entries(void);
uint64_t app_cache_bytes(void);

#endif
