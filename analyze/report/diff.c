/* diff.c — `diff`: two profiles matched site by site and ranked by growth
 * (report.h).
 *
 * Sites match by their key (site/site.h), never by address or store id,
 * so the profiles may come from different processes, stores or builds;
 * two unsymbolized sites stay apart by their module offsets. NEW and GONE
 * mark a site with no figure at all in one profile; a site unchanged in
 * the chosen sample type is not listed, whatever its status. Not a hot path, but well under 200 ms for 5,000
 * sites: a hash lookup per site and a sort.
 */
#include "report_int.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "units.h"

static void add_values(lw_values *dst, const lw_values *v)
{
	dst->alloc_objects += v->alloc_objects;
	dst->alloc_bytes += v->alloc_bytes;
	dst->inuse_objects += v->inuse_objects;
	dst->inuse_bytes += v->inuse_bytes;
}

/* A site is in a profile when it has any figure there. */
static int present(const lw_values *v)
{
	return v->alloc_objects != 0 || v->alloc_bytes != 0 || v->inuse_objects != 0 ||
	       v->inuse_bytes != 0;
}

static int cmp_diff(const void *pa, const void *pb)
{
	const lw_diff_row *a = pa, *b = pb;
	if (a->delta != b->delta)
		return a->delta > b->delta ? -1 : 1;
	if (a->delta_objects != b->delta_objects)
		return a->delta_objects > b->delta_objects ? -1 : 1;
	if (a->status != b->status)
		return (int)a->status - (int)b->status;
	return lw_rep_cmp_sites(a->site, b->site);
}

/* The wrappers folded in either profile (both lists are sorted). */
static int merge_wrappers(const lw_profile *a, const lw_profile *b, lw_diff_result *out)
{
	size_t n = a->n_wrappers + b->n_wrappers;
	out->wrappers = malloc((n ? n : 1) * sizeof(*out->wrappers));
	if (!out->wrappers)
		return -ENOMEM;
	size_t i = 0, j = 0, k = 0;
	while (i < a->n_wrappers || j < b->n_wrappers) {
		int c = i == a->n_wrappers ? 1 : j == b->n_wrappers ? -1
			: strcmp(a->wrappers[i], b->wrappers[j]);
		out->wrappers[k++] = c <= 0 ? a->wrappers[i] : b->wrappers[j];
		i += c <= 0;
		j += c >= 0;
	}
	out->n_wrappers = k;
	return 0;
}

int lw_diff_compute(const lw_profile *before, const lw_profile *after,
		    enum lw_sample_type sample, lw_diff_result *out)
{
	memset(out, 0, sizeof(*out));
	size_t cap = before->n + after->n;
	lw_diff_row *rows = calloc(cap ? cap : 1, sizeof(*rows));
	lw_map map;
	lw_map_init(&map, 1);
	size_t n = 0;
	int rc = 0;
	if (!rows)
		goto nomem;

	const lw_profile *pr[2] = {before, after};
	for (int side = 0; side < 2; side++) {
		const lw_profile *p = pr[side];
		for (size_t i = 0; i < p->n; i++) {
			const char *key = p->sites[i].key ? p->sites[i].key : "";
			int added;
			uint64_t *slot = lw_map_put_str(&map, key, &added, NULL);
			if (!slot)
				goto nomem;
			size_t idx = (size_t)*slot;
			if (added) {
				idx = n++;
				*slot = idx;
			}
			if (side == 0)
				add_values(&rows[idx].before, &p->values[i]);
			else
				add_values(&rows[idx].after, &p->values[i]);
			rows[idx].site = &p->sites[i];   /* the newer frames win */
		}
	}
	int alloc = sample == LW_ALLOC_SPACE || sample == LW_ALLOC_OBJECTS;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		lw_diff_row r = rows[i];
		int hb = present(&r.before), ha = present(&r.after);
		out->total_before += lw_values_get(&r.before, sample);
		out->total_after += lw_values_get(&r.after, sample);
		if (!hb && !ha)
			continue;
		out->n_sites++;
		r.status = hb && ha ? LW_DIFF_BOTH : ha ? LW_DIFF_NEW : LW_DIFF_GONE;
		r.delta = lw_values_get(&r.after, sample) - lw_values_get(&r.before, sample);
		r.delta_objects = alloc ? r.after.alloc_objects - r.before.alloc_objects
					: r.after.inuse_objects - r.before.inuse_objects;
		/* unchanged in what the diff compares: not a row, whatever its
		 * status (a site that appeared and freed everything is not news
		 * to an inuse diff) */
		if (fabs(r.delta) < 0.5 && fabs(r.delta_objects) < 0.5)
			continue;
		if (r.status == LW_DIFF_NEW)
			out->n_new++;
		if (r.status == LW_DIFF_GONE)
			out->n_gone++;
		rows[k++] = r;
	}
	n = k;
	if (n)
		qsort(rows, n, sizeof(*rows), cmp_diff);
	out->rows = rows;
	out->n_rows = n;
	rows = NULL;
	if (merge_wrappers(before, after, out) < 0)
		goto nomem;
	out->same_process = before->snap.run_id && before->snap.run_id == after->snap.run_id &&
			    before->snap.pid == after->snap.pid;
	out->seconds = out->same_process ? after->snap.t_s - before->snap.t_s : 0;
	goto done;
nomem:
	rc = -ENOMEM;
done:
	free(rows);
	lw_map_free(&map);
	return rc;
}

void lw_diff_result_free(lw_diff_result *r)
{
	free(r->rows);
	free(r->wrappers);
	memset(r, 0, sizeof(*r));
}

static int has_rate(const lw_diff_result *r)
{
	return r->same_process && r->seconds > 0;
}

void lw_diff_print(const lw_profile *before, const lw_profile *after,
		   enum lw_sample_type sample, const lw_diff_result *r, size_t n,
		   int width, FILE *out)
{
	if (width <= 0)
		width = 80;
	if (width < 60)
		width = 60;
	char a[64], b[64], c[64], d[64], sb[256], sa[256];
	double delta = r->total_after - r->total_before;
	fprintf(out, "%s: before %s, after %s, delta %s", lw_sample_type_name(sample),
		lw_rep_fmt_value(sample, r->total_before, a, sizeof(a)),
		lw_rep_fmt_value(sample, r->total_after, b, sizeof(b)), lw_rep_fmt_svalue(sample, delta, c, sizeof(c)));
	if (r->total_before > 0)
		fprintf(out, " (%+.1f%%)", delta / r->total_before * 100.0);
	fputc('\n', out);
	lw_rep_snap_desc(&before->snap, sb, sizeof(sb));
	lw_rep_snap_desc(&after->snap, sa, sizeof(sa));
	fprintf(out, "before: %s\nafter:  %s\n", sb, sa);
	if (before->proc)
		lw_report_print_process(before->proc, &before->snap, "before: ", width, out);
	if (after->proc)
		lw_report_print_process(after->proc, &after->snap, "after:  ", width, out);
	if (has_rate(r)) {
		double per_h = delta / r->seconds * 3600.0;
		if (lw_rep_is_space_type(sample))
			fprintf(out, "growth: %s/h over %s\n", lw_fmt_sbytes(per_h, a, sizeof(a)),
				lw_fmt_duration(r->seconds, d, sizeof(d)));
		else
			fprintf(out, "growth: %s objects/h over %s\n",
				lw_rep_fmt_svalue(sample, per_h, a, sizeof(a)),
				lw_fmt_duration(r->seconds, d, sizeof(d)));
	} else if (!r->same_process) {
		fprintf(out, "growth: no rate (different processes; sites matched by symbols)\n");
	}
	lw_report_print_wrappers(r->wrappers, r->n_wrappers, width, out);
	size_t shown = n < r->n_rows ? n : r->n_rows;
	fprintf(out, "Showing %zu of %zu changed sites (%zu new, %zu gone; %zu sites in all)\n",
		shown, r->n_rows, r->n_new, r->n_gone, r->n_sites);
	/* delta 11, before 10, after 10, objects 8, mark 4, label; callers on a
	 * second, indented line */
	size_t fixed = 11 + 1 + 10 + 1 + 10 + 1 + 8 + 1 + 4 + 1;
	size_t label_max = (size_t)width > fixed + 10 ? (size_t)width - fixed : 10;
	fprintf(out, "%11s %10s %10s %8s %-4s %s\n", "delta", "before", "after", "objects", "",
		"allocation site");
	for (size_t i = 0; i < shown; i++) {
		const lw_diff_row *row = &r->rows[i];
		char label[1024], objs[64];
		if (row->site->n_frames)
			lw_frame_label(&row->site->frames[0], label_max, label, sizeof(label));
		else
			snprintf(label, sizeof(label), "(no frames)");
		lw_rep_fmt_svalue(LW_INUSE_OBJECTS, row->delta_objects, objs, sizeof(objs));
		fprintf(out, "%11s %10s %10s %8s %-4s %s\n",
			lw_rep_fmt_svalue(sample, row->delta, a, sizeof(a)),
			lw_rep_fmt_value(sample, lw_values_get(&row->before, sample), b, sizeof(b)),
			lw_rep_fmt_value(sample, lw_values_get(&row->after, sample), c, sizeof(c)), objs,
			row->status == LW_DIFF_NEW ? "NEW" : row->status == LW_DIFF_GONE ? "GONE" : "",
			label);
		lw_rep_print_callers(row->site, width, out);
	}
}

void lw_diff_json(const lw_profile *before, const lw_profile *after,
		  enum lw_sample_type sample, const lw_diff_result *r, size_t n, FILE *out)
{
	size_t shown = n < r->n_rows ? n : r->n_rows;
	double delta = r->total_after - r->total_before;
	lw_json *j = lw_json_new(out);
	lw_json_obj_begin(j);
	lw_json_key(j, "command");
	lw_json_str(j, "diff");
	lw_json_key(j, "sample");
	lw_json_str(j, lw_sample_type_name(sample));
	lw_json_key(j, "unit");
	lw_json_str(j, lw_rep_is_space_type(sample) ? "bytes" : "objects");
	lw_json_key(j, "before");
	lw_rep_json_snapshot(j, &before->snap);
	lw_json_key(j, "after");
	lw_rep_json_snapshot(j, &after->snap);
	lw_json_key(j, "total_before");
	lw_json_num(j, r->total_before);
	lw_json_key(j, "total_after");
	lw_json_num(j, r->total_after);
	lw_json_key(j, "delta");
	lw_json_num(j, delta);
	lw_json_key(j, "same_process");
	lw_json_bool(j, r->same_process);
	lw_json_key(j, "seconds");
	if (r->same_process)
		lw_json_num(j, r->seconds);
	else
		lw_json_null(j);
	lw_json_key(j, "per_hour");
	if (has_rate(r))
		lw_json_num(j, delta / r->seconds * 3600.0);
	else
		lw_json_null(j);
	lw_json_key(j, "n_sites");
	lw_json_int(j, (int64_t)r->n_sites);
	lw_json_key(j, "n_new");
	lw_json_int(j, (int64_t)r->n_new);
	lw_json_key(j, "n_gone");
	lw_json_int(j, (int64_t)r->n_gone);
	lw_json_key(j, "n_rows");
	lw_json_int(j, (int64_t)r->n_rows);
	lw_report_json_wrappers(j, r->wrappers, r->n_wrappers);
	lw_json_key(j, "rows");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < shown; i++) {
		const lw_diff_row *row = &r->rows[i];
		lw_json_obj_begin(j);
		lw_json_key(j, "rank");
		lw_json_int(j, (int64_t)i + 1);
		lw_json_key(j, "status");
		lw_json_str(j, row->status == LW_DIFF_NEW ? "new"
			       : row->status == LW_DIFF_GONE ? "gone" : "both");
		lw_json_key(j, "delta");
		lw_json_num(j, row->delta);
		lw_json_key(j, "delta_objects");
		lw_json_num(j, row->delta_objects);
		lw_json_key(j, "before");
		lw_rep_json_values(j, &row->before);
		lw_json_key(j, "after");
		lw_rep_json_values(j, &row->after);
		lw_json_key(j, "frames");
		lw_json_frames(j, row->site->frames, row->site->n_frames);
		lw_json_obj_end(j);
	}
	lw_json_arr_end(j);
	lw_json_obj_end(j);
	lw_json_finish(j);
}
