/* html_growth.c — the growth ranking for the report page (html_growth.h).
 *
 * The same computation as cmd/growth.c for the inuse_space sample: every
 * series that is not zero throughout is analysed (lw_growth_analyze), one
 * Benjamini–Hochberg adjustment runs over all of them (lw_growth_adjust),
 * and rows are ranked by verdict, slope, latest value, process and site id.
 * Hot path: the per-site analysis, O(sites x snapshots log snapshots).
 */
#include "html_growth.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_rows(const void *a, const void *b)
{
	const lw_rg_row *x = a, *y = b;
	if (x->r.verdict != y->r.verdict)
		return (int)x->r.verdict - (int)y->r.verdict;
	double sx = isnan(x->r.fit.slope) ? -INFINITY : x->r.fit.slope;
	double sy = isnan(y->r.fit.slope) ? -INFINITY : y->r.fit.slope;
	if (sx != sy)
		return sx < sy ? 1 : -1;
	if (x->r.last != y->r.last)
		return x->r.last < y->r.last ? 1 : -1;
	if (x->ser->process_id != y->ser->process_id)
		return x->ser->process_id < y->ser->process_id ? -1 : 1;
	return x->ser->sites[x->site].id < y->ser->sites[y->site].id ? -1 : 1;
}

int lw_rg_rank(const lw_series_list *l, size_t min_snaps, const lw_growth_params *prm,
	       void (*progress)(size_t done, size_t total, void *arg), void *arg,
	       lw_rg_row **rows_out, size_t *n_rows_out)
{
	size_t total = 0, maxn = 1;
	for (size_t p = 0; p < l->n; p++)
		if (l->v[p].n_snaps >= min_snaps) {
			total += l->v[p].n_sites;
			if (l->v[p].n_snaps > maxn)
				maxn = l->v[p].n_snaps;
		}
	lw_rg_row *rows = calloc(total ? total : 1, sizeof *rows);
	double *t = malloc(maxn * sizeof *t), *y = malloc(maxn * sizeof *y);
	double *obj = malloc(maxn * sizeof *obj), *rate = malloc(maxn * sizeof *rate);
	lw_growth_result *res = NULL;
	int rc = -ENOMEM;
	if (!rows || !t || !y || !obj || !rate)
		goto out;
	size_t nr = 0, done = 0;
	rc = 0;
	for (size_t p = 0; p < l->n && rc == 0; p++) {
		const lw_series *s = &l->v[p];
		size_t n = s->n_snaps;
		if (n < min_snaps)
			continue;
		for (size_t k = 0; k < n; k++) {
			t[k] = s->snaps[k].t_s;
			rate[k] = (double)s->snaps[k].sample_rate;
		}
		for (size_t i = 0; i < s->n_sites; i++, done++) {
			const lw_values *v = &s->values[i * n];
			int any = 0;
			for (size_t k = 0; k < n; k++) {
				y[k] = v[k].inuse_bytes;
				obj[k] = v[k].inuse_objects;
				any |= y[k] != 0;
			}
			if (progress && (done & 63) == 0)
				progress(done, total, arg);
			if (!any)
				continue;
			lw_growth_input in = { .n = n, .t = t, .y = y, .y_bytes = y, .objects = obj,
					       .rate = rate, .y_is_objects = 0 };
			lw_rg_row *row = &rows[nr];
			row->ser = s;
			row->site = i;
			row->last_bytes = v[n - 1].inuse_bytes;
			row->last_objects = v[n - 1].inuse_objects;
			if (lw_growth_analyze(&in, prm, &row->r) < 0) {
				rc = -ENOMEM;
				break;
			}
			nr++;
		}
	}
	if (progress)
		progress(total, total, arg);
	if (rc == 0) {
		res = malloc((nr ? nr : 1) * sizeof *res);
		if (!res) {
			rc = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < nr; i++)
			res[i] = rows[i].r;
		if (lw_growth_adjust(res, nr, prm) < 0) {
			rc = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < nr; i++)
			rows[i].r = res[i];
		qsort(rows, nr, sizeof *rows, cmp_rows);
		*rows_out = rows;
		*n_rows_out = nr;
		rows = NULL;
	}
out:
	free(rows);
	free(res);
	free(t);
	free(y);
	free(obj);
	free(rate);
	return rc;
}
