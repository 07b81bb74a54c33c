/* stacktab.c — deduplicated stack table (see stacktab.h).
 *
 * Layout (all lw_mem_map memory):
 *   chunks[]   directory of fixed-size entry chunks; id -> chunks[id >> 10][id & 1023]
 *              (immutable key fields: hash, pcs, depth, flags)
 *   ctrs[]     parallel directory of counter chunks: LW_CTR_SHARDS 64-byte
 *              counter lines per stack (shard-major within a chunk), apart
 *              from the keys so that counter traffic never invalidates the
 *              lines a lock-free lookup reads. A thread updates only its own
 *              shard (assigned round-robin at its first sample), so threads
 *              sampling the same stack do not bounce one line between cores;
 *              readers sum the shards (exact: every update is an atomic add
 *              on some shard, and nothing is buffered per thread).
 *   pcs arena  bump-allocated blocks holding each entry's pcs
 *   index      open-addressing hash (linear probing) of u32 slots holding id+1,
 *              load factor <= 1/2, replaced by a doubled copy when full
 * Invariants: entries [0, count) are complete and immutable except counters;
 * index slots only go from 0 to id+1 (never cleared), so a lock-free probe
 * that stops at an empty slot can only miss a concurrent insert, after which
 * the caller retries under the lock.
 * Counters: the sample counts and requested bytes are exact u64 atomics.
 * The estimates are NOT accumulated as such: a sample of weight w adds w - 1
 * (and (w - 1) * size) to double "excess" cells, and only when w != 1; the
 * estimate is samples + excess when read. At LEAKWATCH_RATE=1 (and for
 * samples much larger than the rate) w is exactly 1, so an update is two
 * integer fetch-adds and the estimates equal the exact counts.
 * Locks: insert_lock (mutex) serialises inserts and index growth.
 * lw_stacktab_check walks these invariants (after every index growth under
 * LW_ASSERT_EXPENSIVE, and from the tests).
 * Hot path: once per sample: hash + probe (+ insert for a new stack), then
 * two fetch-adds on the calling thread's counter shard of the stack (plus
 * two CAS on the excess cells when w != 1).
 */
#include "stacktab.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "lw_assert.h"
#include "lwd_format.h"
#include "util.h"

#define CHUNK_SHIFT 10
#define CHUNK_ENTRIES (1u << CHUNK_SHIFT)
#define MAX_CHUNKS 4096                    /* 4M distinct stacks */
#define ARENA_BLOCK (1u << 20)

struct entry {
	uint64_t hash;
	const uint64_t *pcs;
	uint32_t depth, flags;
};

struct ctrs {
	atomic_uint_fast64_t alloc_samples, alloc_bytes, free_samples, free_bytes;
	atomic_uint_fast64_t excess[4];        /* doubles as bits: sum of (w-1) and (w-1)*size,
						  alloc obj/bytes, free obj/bytes */
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct ctrs) == 64, "one cache line per counter shard");

#define LW_CTR_SHARDS 4
#define CTR_CHUNK_BYTES (sizeof(struct ctrs) * CHUNK_ENTRIES * LW_CTR_SHARDS)

static _Atomic uint32_t shard_next;
static __thread uint32_t my_shard;     /* shard + 1; 0 = not assigned yet */

static uint32_t shard_self(void)
{
	uint32_t s = my_shard;
	if (LW_UNLIKELY(s == 0)) {
		s = atomic_fetch_add_explicit(&shard_next, 1, memory_order_relaxed) % LW_CTR_SHARDS + 1;
		my_shard = s;
	}
	return s - 1;
}

struct index {
	uint32_t mask;
	_Atomic uint32_t slots[];
};

static struct entry *_Atomic chunks[MAX_CHUNKS];
static struct ctrs *_Atomic ctr_chunks[MAX_CHUNKS];
static _Atomic uint32_t count;
static struct index *_Atomic cur_index;
static pthread_mutex_t insert_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *arena;
static size_t arena_left;

void lw_stacktab_lock(void) { pthread_mutex_lock(&insert_lock); }
void lw_stacktab_unlock(void) { pthread_mutex_unlock(&insert_lock); }
void lw_stacktab_reinit(void) { pthread_mutex_init(&insert_lock, NULL); }

static uint64_t mix_lane(uint64_t h, uint64_t pc)
{
	h ^= pc;
	h *= 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

/* Four independent lanes (frames i, i+1, i+2, i+3), combined at the end:
 * a single chain is a serial dependency of a multiply per frame. Each lane
 * step is an xor and a multiply (the multiply carries a pc's low bits, where
 * return addresses differ, up to the high bits the index uses); the final
 * rounds spread everything over all bits. The hash only lives in memory
 * (index placement, a quick reject before memcmp). */
static uint64_t hash_pcs(const uint64_t *pcs, uint32_t depth, uint32_t flags)
{
	const uint64_t k = 0x9e3779b97f4a7c15ull;
	uint64_t h0 = 0xcbf29ce484222325ull ^ ((uint64_t)depth << 32 | flags);
	uint64_t h1 = 0x84222325cbf29ce4ull, h2 = 0x2545f4914f6cdd1dull, h3 = 0x5851f42d4c957f2dull;
	uint32_t i = 0;
	for (; i + 4 <= depth; i += 4) {
		h0 = (h0 ^ pcs[i]) * k;
		h1 = (h1 ^ pcs[i + 1]) * k;
		h2 = (h2 ^ pcs[i + 2]) * k;
		h3 = (h3 ^ pcs[i + 3]) * k;
	}
	for (; i < depth; i++)
		h0 = (h0 ^ pcs[i]) * k;
	uint64_t h = mix_lane(h0, h1 >> 32 | h1 << 32) ^ ((h2 << 31) | (h2 >> 33)) ^
		     ((h3 << 47) | (h3 >> 17));
	h = mix_lane(h, h >> 32);
	h = mix_lane(h, depth);
	return h | 1;   /* never 0 */
}

static struct entry *entry_at(uint32_t id)
{
	struct entry *c = atomic_load_explicit(&chunks[id >> CHUNK_SHIFT], memory_order_acquire);
	return &c[id & (CHUNK_ENTRIES - 1)];
}

static struct ctrs *ctrs_at(uint32_t id, uint32_t shard)
{
	struct ctrs *c = atomic_load_explicit(&ctr_chunks[id >> CHUNK_SHIFT], memory_order_acquire);
	return &c[shard * CHUNK_ENTRIES + (id & (CHUNK_ENTRIES - 1))];
}

static int same(const struct entry *e, uint64_t h, const uint64_t *pcs, uint32_t depth,
		uint32_t flags)
{
	return e->hash == h && e->depth == depth && e->flags == flags &&
	       memcmp(e->pcs, pcs, depth * sizeof(uint64_t)) == 0;
}

/* Probes idx for the stack; returns its id or LW_STACK_NONE; *slot_out gets
 * the empty slot where it would go. */
static uint32_t probe(struct index *idx, uint64_t h, const uint64_t *pcs, uint32_t depth,
		      uint32_t flags, uint32_t *slot_out)
{
	uint32_t i = (uint32_t)(h >> 32) & idx->mask;
	for (;;) {
		uint32_t v = atomic_load_explicit(&idx->slots[i], memory_order_acquire);
		if (v == 0) {
			*slot_out = i;
			return LW_STACK_NONE;
		}
		if (same(entry_at(v - 1), h, pcs, depth, flags))
			return v - 1;
		i = (i + 1) & idx->mask;
	}
}

static int check_locked(void);

static struct index *index_new(uint32_t nslots)
{
	struct index *idx = lw_mem_map(sizeof(struct index) + (size_t)nslots * sizeof(uint32_t));
	if (idx != NULL)
		idx->mask = nslots - 1;
	return idx;
}

/* Under insert_lock: makes sure the index has room for one more entry. */
static struct index *index_reserve(uint32_t n_after)
{
	struct index *idx = atomic_load_explicit(&cur_index, memory_order_acquire);
	if (idx != NULL && (uint64_t)n_after * 2 <= (uint64_t)idx->mask + 1)
		return idx;
	uint32_t nslots = idx ? (idx->mask + 1) * 2 : 4096;
	struct index *big = index_new(nslots);
	if (big == NULL)
		return NULL;
	for (uint32_t id = 0; id < atomic_load_explicit(&count, memory_order_relaxed); id++) {
		struct entry *e = entry_at(id);
		uint32_t i = (uint32_t)(e->hash >> 32) & big->mask;
		while (atomic_load_explicit(&big->slots[i], memory_order_relaxed) != 0)
			i = (i + 1) & big->mask;
		atomic_store_explicit(&big->slots[i], id + 1, memory_order_relaxed);
	}
	/* The old index is deliberately not unmapped: lock-free readers may hold it. */
	atomic_store_explicit(&cur_index, big, memory_order_release);
	LW_ASSERT_EXPENSIVE(check_locked() == 0);
	return big;
}

static const uint64_t *arena_copy(const uint64_t *pcs, uint32_t depth)
{
	size_t need = depth * sizeof(uint64_t);
	if (arena_left < need) {
		arena = lw_mem_map(ARENA_BLOCK);
		if (arena == NULL) {
			arena_left = 0;
			return NULL;
		}
		arena_left = ARENA_BLOCK;
	}
	uint64_t *dst = (uint64_t *)arena;
	memcpy(dst, pcs, need);
	arena += need;
	arena_left -= need;
	return dst;
}

uint32_t lw_stacktab_intern(const uint64_t *pcs, uint32_t depth, uint32_t flags)
{
	uint64_t h = hash_pcs(pcs, depth, flags);
	uint32_t slot;
	struct index *idx = atomic_load_explicit(&cur_index, memory_order_acquire);
	if (idx != NULL) {
		uint32_t id = probe(idx, h, pcs, depth, flags, &slot);
		if (id != LW_STACK_NONE)
			return id;
	}

	uint32_t id = LW_STACK_NONE;
	pthread_mutex_lock(&insert_lock);
	uint32_t n = atomic_load_explicit(&count, memory_order_relaxed);
	idx = index_reserve(n + 1);
	if (idx == NULL)
		goto out;
	id = probe(idx, h, pcs, depth, flags, &slot);
	if (id != LW_STACK_NONE)
		goto out;
	if ((n >> CHUNK_SHIFT) >= MAX_CHUNKS)
		goto out;
	struct entry *c = atomic_load_explicit(&chunks[n >> CHUNK_SHIFT], memory_order_relaxed);
	if (c == NULL) {
		struct ctrs *k = lw_mem_map(CTR_CHUNK_BYTES);
		if (k == NULL)
			goto out;
		c = lw_mem_map(sizeof(struct entry) * CHUNK_ENTRIES);
		if (c == NULL) {
			lw_mem_unmap(k, CTR_CHUNK_BYTES);
			goto out;
		}
		/* counters first: an id is published (count, index) after both */
		atomic_store_explicit(&ctr_chunks[n >> CHUNK_SHIFT], k, memory_order_release);
		atomic_store_explicit(&chunks[n >> CHUNK_SHIFT], c, memory_order_release);
	}
	const uint64_t *copy = arena_copy(pcs, depth);
	if (copy == NULL)
		goto out;
	struct entry *e = &c[n & (CHUNK_ENTRIES - 1)];
	e->hash = h;
	e->pcs = copy;
	e->depth = depth;
	e->flags = flags;
	atomic_store_explicit(&count, n + 1, memory_order_release);
	atomic_store_explicit(&idx->slots[slot], n + 1, memory_order_release);
	id = n;
out:
	pthread_mutex_unlock(&insert_lock);
	return id;
}

static void add_double(atomic_uint_fast64_t *cell, double v)
{
	uint64_t old = atomic_load_explicit(cell, memory_order_relaxed);
	for (;;) {
		double d;
		memcpy(&d, &old, sizeof(d));
		d += v;
		uint64_t nw;
		memcpy(&nw, &d, sizeof(nw));
		if (atomic_compare_exchange_weak_explicit(cell, &old, nw, memory_order_relaxed,
							  memory_order_relaxed))
			return;
	}
}

static double get_double(atomic_uint_fast64_t *cell)
{
	uint64_t bits = atomic_load_explicit(cell, memory_order_relaxed);
	double d;
	memcpy(&d, &bits, sizeof(d));
	return d;
}

void lw_stacktab_count_alloc(uint32_t id, uint64_t size, double w)
{
	struct ctrs *k = ctrs_at(id, shard_self());
	atomic_fetch_add_explicit(&k->alloc_samples, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&k->alloc_bytes, size, memory_order_relaxed);
	if (w != 1.0) {
		add_double(&k->excess[0], w - 1.0);
		add_double(&k->excess[1], (w - 1.0) * (double)size);
	}
}

void lw_stacktab_count_free(uint32_t id, uint64_t size, double w)
{
	struct ctrs *k = ctrs_at(id, shard_self());
	atomic_fetch_add_explicit(&k->free_samples, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&k->free_bytes, size, memory_order_relaxed);
	if (w != 1.0) {
		add_double(&k->excess[2], w - 1.0);
		add_double(&k->excess[3], (w - 1.0) * (double)size);
	}
}

uint32_t lw_stacktab_count(void)
{
	return atomic_load_explicit(&count, memory_order_acquire);
}

const uint64_t *lw_stacktab_pcs(uint32_t id, uint32_t *depth, uint32_t *flags)
{
	struct entry *e = entry_at(id);
	*depth = e->depth;
	*flags = e->flags;
	return e->pcs;
}

void lw_stacktab_counts(uint32_t id, struct lw_stack_counts *out)
{
	uint64_t as = 0, ab = 0, fs = 0, fb = 0;
	double ex[4] = { 0, 0, 0, 0 };
	for (uint32_t sh = 0; sh < LW_CTR_SHARDS; sh++) {
		struct ctrs *k = ctrs_at(id, sh);
		as += atomic_load_explicit(&k->alloc_samples, memory_order_relaxed);
		ab += atomic_load_explicit(&k->alloc_bytes, memory_order_relaxed);
		fs += atomic_load_explicit(&k->free_samples, memory_order_relaxed);
		fb += atomic_load_explicit(&k->free_bytes, memory_order_relaxed);
		for (int j = 0; j < 4; j++)
			ex[j] += get_double(&k->excess[j]);
	}
	out->alloc_samples = as;
	out->alloc_sample_bytes = ab;
	out->free_samples = fs;
	out->free_sample_bytes = fb;
	out->alloc_objects_est = (double)as + ex[0];
	out->alloc_bytes_est = (double)ab + ex[1];
	out->free_objects_est = (double)fs + ex[2];
	out->free_bytes_est = (double)fb + ex[3];
}

void lw_stacktab_foreach(void (*fn)(void *arg, uint32_t id, const uint64_t *pcs,
				    uint32_t depth, uint32_t flags),
			 void *arg)
{
	uint32_t n = lw_stacktab_count();
	for (uint32_t id = 0; id < n; id++) {
		struct entry *e = entry_at(id);
		fn(arg, id, e->pcs, e->depth, e->flags);
	}
}

/* ---- invariant walker ---------------------------------------------------- */

static int check_locked(void)
{
	uint32_t n = atomic_load_explicit(&count, memory_order_relaxed);
	struct index *idx = atomic_load_explicit(&cur_index, memory_order_acquire);
	if (n == 0)
		return 0;
	if (idx == NULL || (uint64_t)n * 2 > (uint64_t)idx->mask + 1)
		return LW_STACK_BAD_SLOTS;
	for (uint32_t id = 0; id < n; id++) {
		if (atomic_load_explicit(&chunks[id >> CHUNK_SHIFT], memory_order_relaxed) == NULL ||
		    atomic_load_explicit(&ctr_chunks[id >> CHUNK_SHIFT], memory_order_relaxed) == NULL)
			return LW_STACK_BAD_ENTRY;
		const struct entry *e = entry_at(id);
		if (e->depth > LWD_MAX_DEPTH || (e->depth > 0 && e->pcs == NULL))
			return LW_STACK_BAD_ENTRY;
		if (e->hash != hash_pcs(e->pcs, e->depth, e->flags))
			return LW_STACK_BAD_HASH;
		uint32_t slot;
		if (probe(idx, e->hash, e->pcs, e->depth, e->flags, &slot) != id)
			return LW_STACK_BAD_INDEX;
	}
	uint32_t used = 0;
	for (uint32_t i = 0; i <= idx->mask; i++) {
		uint32_t v = atomic_load_explicit(&idx->slots[i], memory_order_relaxed);
		if (v > n)
			return LW_STACK_BAD_SLOTS;
		used += v != 0;
	}
	return used == n ? 0 : LW_STACK_BAD_SLOTS;
}

int lw_stacktab_check(void)
{
	pthread_mutex_lock(&insert_lock);
	int rc = check_locked();
	pthread_mutex_unlock(&insert_lock);
	return rc;
}
