/* html_growth.h — the growth ranking as `leakwatch growth` computes it
 * (cmd/growth.c, docs/GROWTH.md), for the report page.
 *
 * Until the ranking is a library of its own, this calls the same stats.h
 * steps in the same order as the command (per-site lw_growth_analyze, one
 * lw_growth_adjust over all sites of all processes, the same sort), and the
 * golden test `report_golden` compares every figure with `growth --json`.
 */
#ifndef LW_HTML_GROWTH_H
#define LW_HTML_GROWTH_H

#include <stddef.h>

#include "model.h"
#include "stats.h"

typedef struct lw_rg_row {
	const lw_series *ser;
	size_t site;              /* index into ser->sites */
	lw_growth_result r;
	double last_bytes, last_objects;
} lw_rg_row;

/* Ranks the inuse_space series of every site of every process with at least
 * min_snaps snapshots, most suspect first. Returns 0 or -ENOMEM; *rows is
 * malloc'd (free it). `progress` (may be NULL) gets (done, total). */
int lw_rg_rank(const lw_series_list *l, size_t min_snaps, const lw_growth_params *prm,
	       void (*progress)(size_t done, size_t total, void *arg), void *arg,
	       lw_rg_row **rows, size_t *n_rows);

#endif
