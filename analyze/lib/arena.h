/* arena.h — a bump allocator for data that lives and dies together (the
 * strings and frames of a profile, a heap graph's labels, a map's keys), and
 * the one growth rule for arrays that double.
 *
 * An arena hands out 16-byte aligned pieces from 64 KiB chunks (a larger
 * request gets a chunk of its own) and frees everything at once. Nothing is
 * freed piecewise; pointers stay valid until lw_arena_free. Not thread-safe.
 * An all-zero lw_arena is an empty arena.
 */
#ifndef LW_ARENA_H
#define LW_ARENA_H

#include <stddef.h>

typedef struct lw_arena_chunk lw_arena_chunk;
typedef struct lw_arena {
	lw_arena_chunk *head;
} lw_arena;

/* n bytes, 16-byte aligned, uninitialised; NULL when memory is exhausted. */
void *lw_arena_alloc(lw_arena *a, size_t n);
/* Copies of s (NULL copies as "") and of n bytes; NULL on ENOMEM. */
char *lw_arena_strdup(lw_arena *a, const char *s);
void *lw_arena_memdup(lw_arena *a, const void *p, size_t n);
/* Frees every piece and leaves an empty arena. */
void lw_arena_free(lw_arena *a);

/* Makes *pv (an array of `elem`-byte items with room for *cap) hold at least
 * `need` items, doubling from 16; the new items are not initialised.
 * Returns 0, or -ENOMEM leaving *pv and *cap as they were. */
int lw_grow(void *pv, size_t *cap, size_t need, size_t elem);

#endif
