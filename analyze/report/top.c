/* top.c — `top`: one profile aggregated per function or per site, ranked
 * (report.h).
 *
 * flat: the function is the allocation call site (frames[0]); cum: the
 * function is anywhere in the stack, counted once per stack. Focus keeps a
 * site if any frame's function, file or module matches (pprof semantics).
 * A function is (name, file, module); an unknown function is its module
 * and offset, so unsymbolized code does not pool into one "??" row.
 * Rows borrow from the profile, which must outlive the result.
 */
#include "report_int.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "strbuf.h"
#include "units.h"

/* The key of a function row; malloc'd. */
static char *function_key(const lw_sym_frame *f)
{
	lw_strbuf k = { 0 };
	if (lw_frame_unknown(f))
		lw_strbuf_fmt(&k, "??+0x%" PRIx64, f->offset);
	else
		lw_strbuf_str(&k, f->function);
	lw_strbuf_fmt(&k, "\x1f%s\x1f%s", f->file, f->module);
	if (k.err) {
		lw_strbuf_free(&k);
		return NULL;
	}
	return k.s;
}

static int frame_matches(const lw_regex *re, const lw_sym_frame *f)
{
	return lw_regex_match(re, f->function) || (f->file[0] && lw_regex_match(re, f->file)) ||
	       lw_regex_match(re, f->module);
}

static int site_kept(const lw_top_opts *o, const lw_site *s)
{
	if (!o->focus)
		return 1;
	for (size_t f = 0; f < s->n_frames; f++)
		if (frame_matches(o->focus, &s->frames[f]))
			return 1;
	return 0;
}

static double row_sort_key(const lw_top_row *r, enum lw_top_sort s)
{
	return s == LW_TOP_SORT_CUM ? r->cum : s == LW_TOP_SORT_RETAINED ? r->retained : r->flat;
}

static int cmp_rows(const void *pa, const void *pb, void *arg)
{
	const lw_top_row *a = pa, *b = pb;
	enum lw_top_sort s = *(const enum lw_top_sort *)arg;
	double ka = row_sort_key(a, s), kb = row_sort_key(b, s);
	if (ka != kb)
		return ka > kb ? -1 : 1;
	if (a->flat != b->flat)
		return a->flat > b->flat ? -1 : 1;
	if (a->cum != b->cum)
		return a->cum > b->cum ? -1 : 1;
	if (a->site && b->site)
		return lw_rep_cmp_sites(a->site, b->site);
	if (a->frame && b->frame)
		return lw_rep_cmp_frames(a->frame, b->frame);
	return 0;
}

int lw_top_compute(const lw_profile *p, const lw_top_opts *o, lw_top_result *out)
{
	memset(out, 0, sizeof(*out));
	out->n_sites = p->n;
	lw_top_row *rows = NULL;
	size_t n_rows = 0, cap = 0;
	size_t *last_site = NULL;   /* per row: last site counted in cum (+1) */
	lw_map map;
	lw_map_init(&map, 1);
	int rc = 0;

	for (size_t i = 0; i < p->n; i++)
		out->total += lw_values_get(&p->values[i], o->sample);

	for (size_t i = 0; i < p->n; i++) {
		const lw_site *s = &p->sites[i];
		if (!site_kept(o, s))
			continue;
		double v = lw_values_get(&p->values[i], o->sample);
		out->n_sites_kept++;
		out->focus_total += v;
		double ret = -1;
		if (o->retained)
			ret = o->retained(s, o->retained_arg);
		if (o->by == LW_TOP_BY_SITE) {
			if (v == 0 && ret <= 0)
				continue;
			if (n_rows == cap) {
				cap = cap ? cap * 2 : 64;
				lw_top_row *nr = realloc(rows, cap * sizeof(*rows));
				if (!nr)
					goto nomem;
				rows = nr;
			}
			lw_top_row *r = &rows[n_rows++];
			memset(r, 0, sizeof(*r));
			r->site = s;
			r->frame = s->n_frames ? &s->frames[0] : NULL;
			r->profile_index = i;
			r->flat = r->cum = v;
			r->retained = ret;
			r->values = p->values[i];
			continue;
		}
		for (size_t f = 0; f < s->n_frames; f++) {
			char *key = function_key(&s->frames[f]);
			if (!key)
				goto nomem;
			int added;
			uint64_t *slot = lw_map_put_str(&map, key, &added, NULL);
			free(key);   /* the map keeps its own copy */
			if (!slot)
				goto nomem;
			size_t idx = (size_t)*slot;
			if (added) {
				if (n_rows == cap) {
					cap = cap ? cap * 2 : 64;
					lw_top_row *nr = realloc(rows, cap * sizeof(*rows));
					size_t *nl = realloc(last_site, cap * sizeof(*nl));
					if (nl)
						last_site = nl;
					if (nr)
						rows = nr;
					if (!nr || !nl)
						goto nomem;
				}
				idx = n_rows++;
				*slot = idx;
				memset(&rows[idx], 0, sizeof(rows[idx]));
				rows[idx].frame = &s->frames[f];
				rows[idx].retained = -1;
				last_site[idx] = 0;
			}
			lw_top_row *r = &rows[idx];
			if (f == 0) {
				r->flat += v;
				if (ret >= 0)
					r->retained = (r->retained < 0 ? 0 : r->retained) + ret;
			}
			if (last_site[idx] != i + 1) {
				r->cum += v;
				last_site[idx] = i + 1;
			}
		}
	}
	/* drop rows without a figure */
	size_t k = 0;
	for (size_t i = 0; i < n_rows; i++)
		if (rows[i].flat != 0 || rows[i].cum != 0 || rows[i].retained > 0)
			rows[k++] = rows[i];
	n_rows = k;
	if (n_rows) {
		enum lw_top_sort s = o->sort;
		if (s == LW_TOP_SORT_RETAINED && !o->retained)
			s = LW_TOP_SORT_FLAT;
		qsort_r(rows, n_rows, sizeof(*rows), cmp_rows, &s);
	}
	out->rows = rows;
	out->n_rows = n_rows;
	goto done;
nomem:
	free(rows);
	rc = -ENOMEM;
done:
	free(last_site);
	lw_map_free(&map);
	return rc;
}

void lw_top_result_free(lw_top_result *r)
{
	free(r->rows);
	memset(r, 0, sizeof(*r));
}

static const char *by_noun(const lw_top_opts *o)
{
	return o->by == LW_TOP_BY_SITE ? "sites" : "functions";
}

void lw_top_print(const lw_profile *p, const lw_top_opts *o, const lw_top_result *r,
		  size_t n, int width, FILE *out)
{
	if (width <= 0)
		width = 80;
	if (width < 60)
		width = 60;
	size_t shown = n < r->n_rows ? n : r->n_rows;
	char a[64], b[64], c[64], d[64], e[64], snap[256], line[512];
	lw_rep_snap_desc(&p->snap, snap, sizeof(snap));
	snprintf(line, sizeof(line), "Showing %zu of %zu %s, %s %s total, %s", shown, r->n_rows,
		 by_noun(o), lw_sample_type_name(o->sample),
		 lw_rep_fmt_value(o->sample, r->total, a, sizeof(a)), snap);
	char *cut = strstr(line, ", dump ");
	if (!cut)
		cut = strstr(line, ", snapshot ");
	if (!cut)
		cut = strstr(line, ", exit snapshot ");
	if (strlen(line) > (size_t)width && cut) {
		*cut = 0;
		fprintf(out, "%s\n%s\n", line, cut + 2);
	} else {
		fprintf(out, "%s\n", line);
	}
	if (p->proc)
		lw_report_print_process(p->proc, &p->snap, "", width, out);
	if (o->focus)
		fprintf(out, "Focus '%s': %zu of %zu sites, %s (%s of total)\n",
			o->focus_text ? o->focus_text : "", r->n_sites_kept, r->n_sites,
			lw_rep_fmt_value(o->sample, r->focus_total, a, sizeof(a)),
			lw_rep_fmt_pct(r->focus_total, r->total, b, sizeof(b)));
	lw_report_print_wrappers(p->wrappers, p->n_wrappers, width, out);

	int ret_col = o->retained != NULL;
	char label[1024], ret[64], title_ret[16];
	title_ret[0] = 0;
	if (ret_col)
		snprintf(title_ret, sizeof(title_ret), " %10s", "retained");
	if (o->by == LW_TOP_BY_SITE) {
		/* flat 10, flat% 6, sum% 6, other unit 10 (+ retained 11), label;
		 * callers on a second, indented line */
		size_t fixed = 10 + 1 + 6 + 1 + 6 + 1 + 10 + 2 + (ret_col ? 11 : 0);
		size_t label_max = (size_t)width > fixed + 10 ? (size_t)width - fixed : 10;
		int space = lw_rep_is_space_type(o->sample);
		fprintf(out, "%10s %6s %6s %10s%s  %s\n", "flat", "flat%", "sum%",
			space ? "objects" : "bytes", title_ret, "allocation site");
		double sum = 0;
		for (size_t i = 0; i < shown; i++) {
			const lw_top_row *row = &r->rows[i];
			sum += row->flat;
			double other = o->sample == LW_INUSE_SPACE	? row->values.inuse_objects
				       : o->sample == LW_ALLOC_SPACE	? row->values.alloc_objects
				       : o->sample == LW_INUSE_OBJECTS ? row->values.inuse_bytes
									: row->values.alloc_bytes;
			ret[0] = 0;
			if (ret_col)
				snprintf(ret, sizeof(ret), " %10s",
					 row->retained >= 0 ? lw_fmt_bytes(row->retained, e, sizeof(e)) : "-");
			if (row->site->n_frames)
				lw_frame_label(&row->site->frames[0], label_max, label, sizeof(label));
			else
				snprintf(label, sizeof(label), "(no frames)");
			fprintf(out, "%10s %6s %6s %10s%s  %s\n",
				lw_rep_fmt_value(o->sample, row->flat, a, sizeof(a)),
				lw_rep_fmt_pct(row->flat, r->total, b, sizeof(b)),
				lw_rep_fmt_pct(sum, r->total, c, sizeof(c)),
				space ? lw_fmt_count(other, d, sizeof(d)) : lw_fmt_bytes(other, d, sizeof(d)),
				ret, label);
			lw_rep_print_callers(row->site, width, out);
		}
		return;
	}
	/* flat 10, flat% 6, sum% 6, cum 10, cum% 6 (+ retained 11), function */
	size_t fixed = 10 + 1 + 6 + 1 + 6 + 1 + 10 + 1 + 6 + 2 + (ret_col ? 11 : 0);
	size_t label_max = (size_t)width > fixed + 10 ? (size_t)width - fixed : 10;
	fprintf(out, "%10s %6s %6s %10s %6s%s  %s\n", "flat", "flat%", "sum%", "cum", "cum%",
		title_ret, "function");
	double sum = 0;
	for (size_t i = 0; i < shown; i++) {
		const lw_top_row *row = &r->rows[i];
		sum += row->flat;
		ret[0] = 0;
		if (ret_col)
			snprintf(ret, sizeof(ret), " %10s",
				 row->retained >= 0 ? lw_fmt_bytes(row->retained, e, sizeof(e)) : "-");
		lw_sym_frame fn = *row->frame;   /* a function row: no line */
		fn.line = 0;
		lw_frame_label(&fn, label_max, label, sizeof(label));
		fprintf(out, "%10s %6s %6s %10s %6s%s  %s\n",
			lw_rep_fmt_value(o->sample, row->flat, a, sizeof(a)),
			lw_rep_fmt_pct(row->flat, r->total, b, sizeof(b)), lw_rep_fmt_pct(sum, r->total, c, sizeof(c)),
			lw_rep_fmt_value(o->sample, row->cum, d, sizeof(d)),
			lw_rep_fmt_pct(row->cum, r->total, e, sizeof(e)), ret, label);
	}
}

void lw_top_json(const lw_profile *p, const lw_top_opts *o, const lw_top_result *r,
		 size_t n, FILE *out)
{
	size_t shown = n < r->n_rows ? n : r->n_rows;
	lw_json *j = lw_json_new(out);
	lw_json_obj_begin(j);
	lw_json_key(j, "command");
	lw_json_str(j, "top");
	lw_json_key(j, "sample");
	lw_json_str(j, lw_sample_type_name(o->sample));
	lw_json_key(j, "unit");
	lw_json_str(j, lw_rep_is_space_type(o->sample) ? "bytes" : "objects");
	lw_json_key(j, "by");
	lw_json_str(j, o->by == LW_TOP_BY_SITE ? "site" : "function");
	lw_json_key(j, "sort");
	lw_json_str(j, o->sort == LW_TOP_SORT_CUM ? "cum"
		       : o->sort == LW_TOP_SORT_RETAINED && o->retained ? "retained" : "flat");
	lw_json_key(j, "snapshot");
	lw_rep_json_snapshot(j, &p->snap);
	if (p->proc) {
		lw_json_key(j, "processes");
		lw_report_json_process(j, p->proc);
	}
	lw_json_key(j, "total");
	lw_json_num(j, r->total);
	lw_json_key(j, "focus");
	lw_json_str(j, o->focus ? o->focus_text : NULL);
	lw_json_key(j, "focus_total");
	lw_json_num(j, r->focus_total);
	lw_json_key(j, "n_sites");
	lw_json_int(j, (int64_t)r->n_sites);
	lw_json_key(j, "n_sites_kept");
	lw_json_int(j, (int64_t)r->n_sites_kept);
	lw_json_key(j, "n_rows");
	lw_json_int(j, (int64_t)r->n_rows);
	lw_report_json_wrappers(j, p->wrappers, p->n_wrappers);
	lw_json_key(j, "rows");
	lw_json_arr_begin(j);
	double sum = 0;
	for (size_t i = 0; i < shown; i++) {
		const lw_top_row *row = &r->rows[i];
		sum += row->flat;
		lw_json_obj_begin(j);
		lw_json_key(j, "rank");
		lw_json_int(j, (int64_t)i + 1);
		if (o->by == LW_TOP_BY_FUNCTION) {
			lw_json_key(j, "function");
			lw_json_str(j, row->frame->function);
			lw_json_key(j, "file");
			lw_json_str(j, row->frame->file);
			lw_json_key(j, "module");
			lw_json_str(j, row->frame->module);
		}
		lw_json_key(j, "flat");
		lw_json_num(j, row->flat);
		lw_json_key(j, "flat_pct");
		lw_json_num(j, lw_rep_pct2(row->flat, r->total));
		lw_json_key(j, "sum_pct");
		lw_json_num(j, lw_rep_pct2(sum, r->total));
		lw_json_key(j, "cum");
		lw_json_num(j, row->cum);
		lw_json_key(j, "cum_pct");
		lw_json_num(j, lw_rep_pct2(row->cum, r->total));
		if (o->retained) {
			lw_json_key(j, "retained");
			if (row->retained >= 0)
				lw_json_num(j, row->retained);
			else
				lw_json_null(j);
		}
		if (o->by == LW_TOP_BY_SITE) {
			lw_json_key(j, "values");
			lw_rep_json_values(j, &row->values);
			lw_json_key(j, "frames");
			lw_json_frames(j, row->site->frames, row->site->n_frames);
		}
		lw_json_obj_end(j);
	}
	lw_json_arr_end(j);
	lw_json_obj_end(j);
	lw_json_finish(j);
}
