/* retain_out.h — outputs of a retainer analysis (retain.h), shared by
 * `leakwatch retainers` and `leakwatch report`: the JSON document
 * (docs/RETAINERS.md, "JSON"), the Graphviz graph ("Graphviz") and the
 * rankings of roots and of lost blocks. Library code: writes only to the
 * FILE given, never prints otherwise.
 */
#ifndef LW_RETAIN_OUT_H
#define LW_RETAIN_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include "retain.h"

/* "global", "stack", "register" (LWD_ROOT_*). */
const char *lw_heap_root_kind_name(uint32_t kind);
/* An aggregated id (retain.h) that names a root node, not a group. */
static inline int lw_heap_is_root(const lw_heap *h, uint32_t id)
{
	return id >= h->n_groups;
}
/* Root nodes that retain something, most retained bytes first; *idx is
 * malloc'd (free it). Returns the count (0 also when out of memory). */
size_t lw_heap_top_roots(const lw_heap *h, uint32_t **idx);
/* Groups with unreachable blocks, most lost bytes first; as above. */
size_t lw_heap_lost_groups(const lw_heap *h, uint32_t **idx);

/* The `retainers --json` document for the groups with sel[g] != 0, at most
 * `max` paths, roots and lost groups. */
void lw_retainers_json(const lw_heap *h, const uint8_t *sel, const lw_retainers *r,
		       size_t max, FILE *out);
/* The retainer graph (roots on top, selected sites red); NULL when out of
 * memory. Free with agclose. */
Agraph_t *lw_retainers_agraph(const lw_heap *h, const uint8_t *sel, const lw_retainers *r);
/* Writes g as "dot" (agwrite) or lays it out with dot and renders it in a
 * libgvc format ("svg"). Returns 0, -EIO, -EINVAL (layout failed) or
 * -ENOTSUP (no renderer for the format). */
int lw_retainers_render(Agraph_t *g, const char *format, FILE *out);

#endif
