/* arena.c — bump allocation in chunks, and array doubling (arena.h).
 *
 * Invariant: chunks form a list, newest first; only the newest has free
 * room worth using. Single-threaded by contract.
 */
#include "arena.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lw_assert.h"

#define LW_ARENA_CHUNK 65536

struct lw_arena_chunk {
	lw_arena_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

void *lw_arena_alloc(lw_arena *a, size_t n)
{
	if (n > SIZE_MAX - 64)
		return NULL;
	n = (n + 15) & ~(size_t)15;
	lw_arena_chunk *c = a->head;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > LW_ARENA_CHUNK ? n : LW_ARENA_CHUNK;
		lw_arena_chunk *nc = malloc(sizeof(*nc) + cap);
		if (!nc)
			return NULL;
		nc->used = 0;
		nc->cap = cap;
		/* A chunk made for one large piece goes behind the current one,
		 * so the current one's free room stays in use. */
		if (c && cap > LW_ARENA_CHUNK) {
			nc->next = c->next;
			c->next = nc;
			nc->used = cap;
			return nc->data;
		}
		nc->next = c;
		a->head = c = nc;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	LW_ASSERT(c->used <= c->cap);
	return p;
}

void *lw_arena_memdup(lw_arena *a, const void *p, size_t n)
{
	void *d = lw_arena_alloc(a, n ? n : 1);
	if (d && n)
		memcpy(d, p, n);
	return d;
}

char *lw_arena_strdup(lw_arena *a, const char *s)
{
	if (!s)
		s = "";
	return lw_arena_memdup(a, s, strlen(s) + 1);
}

void lw_arena_free(lw_arena *a)
{
	lw_arena_chunk *c = a->head;
	while (c) {
		lw_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
}

int lw_grow(void *pv, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 16;
	while (c < need) {
		if (c > SIZE_MAX / 2)
			return -ENOMEM;
		c *= 2;
	}
	if (elem && c > SIZE_MAX / elem)
		return -ENOMEM;
	void **p = pv;
	void *q = realloc(*p, c * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}
