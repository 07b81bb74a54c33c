/* report.c — `top` and `diff` computations and renderings (report.h).
 *
 * Role: aggregate one profile per function or per site (flat = the
 * function is the allocation call site, frames[0]; cum = the function is
 * anywhere in the stack, counted once per stack), focus-filter with pprof
 * semantics (keep a stack if any frame's function, file or module matches),
 * rank; match two profiles' sites by symbolized frames and rank growth.
 * Invariants: rows never point into freed memory — they borrow from the
 * lw_profile(s) given, which must outlive the result. No globals, no locks.
 * Not a hot path, but diff must stay well under 200 ms for 5,000 sites:
 * everything is a hash lookup or a sort.
 */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "lwd_format.h"
#include "units.h"

/* ---- keys and labels ---------------------------------------------------- */

static size_t put_str(char *k, size_t o, const char *s, char sep)
{
	size_t n = strlen(s);
	memcpy(k + o, s, n);
	k[o + n] = sep;
	return o + n + 1;
}

static char *join_key(const lw_sym_frame *f, size_t n)
{
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(f[i].function) + strlen(f[i].file) + strlen(f[i].module) + 16;
	char *k = malloc(len);
	if (!k)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		o = put_str(k, o, f[i].function, '\x1f');
		o = put_str(k, o, f[i].file, '\x1f');
		/* the line in decimal (at most 11 chars with a sign) */
		char num[16];
		size_t d = 0;
		long long v = f[i].line;
		int neg = v < 0;
		unsigned long long u = neg ? 0ull - (unsigned long long)v : (unsigned long long)v;
		do {
			num[d++] = (char)('0' + u % 10);
			u /= 10;
		} while (u);
		if (neg)
			k[o++] = '-';
		while (d)
			k[o++] = num[--d];
		k[o++] = '\x1f';
		o = put_str(k, o, f[i].module, '\x1e');
	}
	k[o] = 0;
	return k;
}

char *lw_report_site_key(const lw_site *s)
{
	return join_key(s->frames, s->n_frames);
}

static char *function_key(const lw_sym_frame *f)
{
	size_t len = strlen(f->function) + strlen(f->file) + strlen(f->module) + 3;
	char *k = malloc(len);
	if (k)
		snprintf(k, len, "%s\x1f%s\x1f%s", f->function, f->file, f->module);
	return k;
}

static int is_space_type(enum lw_sample_type t)
{
	return t == LW_INUSE_SPACE || t == LW_ALLOC_SPACE;
}

static const char *fmt_value(enum lw_sample_type t, double v, char *buf, size_t len)
{
	return is_space_type(t) ? lw_fmt_bytes(v, buf, len) : lw_fmt_count(v, buf, len);
}

static const char *fmt_svalue(enum lw_sample_type t, double v, char *buf, size_t len)
{
	if (is_space_type(t))
		return lw_fmt_sbytes(v, buf, len);
	if (fabs(v) < 0.5 || len < 3) {
		snprintf(buf, len, "0");
		return buf;
	}
	buf[0] = v < 0 ? '-' : '+';
	lw_fmt_count(fabs(v), buf + 1, len - 1);
	return buf;
}

static const char *fmt_pct(double v, double total, char *buf, size_t len)
{
	return lw_fmt_pct(total > 0 ? v / total : 0.0, buf, len);
}

static void snap_desc(const lw_snapshot *s, char *buf, size_t len)
{
	char clk[32];
	snprintf(buf, len, "%s %" PRIu64 " of pid %u at %s",
		 s->kind == LWD_KIND_DUMP ? "dump" : "snapshot", s->seq, s->pid,
		 lw_fmt_clock(s->t_s, clk, sizeof(clk)));
}

static void json_snapshot(lw_json *j, const lw_snapshot *s)
{
	lw_json_obj_begin(j);
	lw_json_key(j, "kind");
	lw_json_str(j, s->kind == LWD_KIND_DUMP ? "dump" : "snapshot");
	lw_json_key(j, "seq");
	lw_json_int(j, (int64_t)s->seq);
	lw_json_key(j, "pid");
	lw_json_int(j, s->pid);
	lw_json_key(j, "exe");
	lw_json_str(j, s->exe);
	lw_json_key(j, "t_s");
	lw_json_num(j, s->t_s);
	lw_json_key(j, "wall_ns");
	lw_json_int(j, (int64_t)s->wall_ns);
	lw_json_key(j, "sample_rate");
	lw_json_int(j, (int64_t)s->sample_rate);
	lw_json_key(j, "path");
	lw_json_str(j, s->path);
	lw_json_obj_end(j);
}

static void json_values(lw_json *j, const lw_values *v)
{
	lw_json_obj_begin(j);
	lw_json_key(j, "inuse_bytes");
	lw_json_num(j, v->inuse_bytes);
	lw_json_key(j, "inuse_objects");
	lw_json_num(j, v->inuse_objects);
	lw_json_key(j, "alloc_bytes");
	lw_json_num(j, v->alloc_bytes);
	lw_json_key(j, "alloc_objects");
	lw_json_num(j, v->alloc_objects);
	lw_json_obj_end(j);
}

/* Percent with two decimals, so JSON stays short and stable. */
static double pct2(double v, double total)
{
	return total > 0 ? round(v / total * 10000.0) / 100.0 : 0.0;
}

/* ---- top ---------------------------------------------------------------- */

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

static int cmp_frames(const lw_sym_frame *a, const lw_sym_frame *b)
{
	int c = strcmp(a->function, b->function);
	if (!c)
		c = strcmp(a->file, b->file);
	if (!c)
		c = (a->line > b->line) - (a->line < b->line);
	if (!c)
		c = strcmp(a->module, b->module);
	return c;
}

static int cmp_sites(const lw_site *a, const lw_site *b)
{
	size_t n = a->n_frames < b->n_frames ? a->n_frames : b->n_frames;
	for (size_t i = 0; i < n; i++) {
		int c = cmp_frames(&a->frames[i], &b->frames[i]);
		if (c)
			return c;
	}
	return (a->n_frames > b->n_frames) - (a->n_frames < b->n_frames);
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
		return cmp_sites(a->site, b->site);
	if (a->frame && b->frame)
		return cmp_frames(a->frame, b->frame);
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

/* Prints the second line of a site row: its callers, indented. */
static void print_callers(const lw_site *s, int width, FILE *out)
{
	char callers[1024];
	const size_t indent = 8;
	lw_frame_callers(s->frames, s->n_frames,
			 (size_t)width > indent + 10 ? (size_t)width - indent : 10, callers,
			 sizeof(callers));
	if (callers[0])
		fprintf(out, "%*s%s\n", (int)indent, "", callers);
}

void lw_top_print(const lw_profile *p, const lw_top_opts *o, const lw_top_result *r,
		  size_t n, int width, FILE *out)
{
	if (width <= 0)
		width = 80;
	if (width < 60)
		width = 60;
	size_t shown = n < r->n_rows ? n : r->n_rows;
	char a[64], b[64], c[64], d[64], e[64], snap[160], line[512];
	snap_desc(&p->snap, snap, sizeof(snap));
	snprintf(line, sizeof(line), "Showing %zu of %zu %s, %s %s total, %s", shown, r->n_rows,
		 by_noun(o), lw_sample_type_name(o->sample),
		 fmt_value(o->sample, r->total, a, sizeof(a)), snap);
	char *cut = strstr(line, ", dump ");
	if (!cut)
		cut = strstr(line, ", snapshot ");
	if (strlen(line) > (size_t)width && cut) {
		*cut = 0;
		fprintf(out, "%s\n%s\n", line, cut + 2);
	} else {
		fprintf(out, "%s\n", line);
	}
	if (o->focus)
		fprintf(out, "Focus '%s': %zu of %zu sites, %s (%s of total)\n",
			o->focus_text ? o->focus_text : "", r->n_sites_kept, r->n_sites,
			fmt_value(o->sample, r->focus_total, a, sizeof(a)),
			fmt_pct(r->focus_total, r->total, b, sizeof(b)));

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
		int space = is_space_type(o->sample);
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
				fmt_value(o->sample, row->flat, a, sizeof(a)),
				fmt_pct(row->flat, r->total, b, sizeof(b)),
				fmt_pct(sum, r->total, c, sizeof(c)),
				space ? lw_fmt_count(other, d, sizeof(d)) : lw_fmt_bytes(other, d, sizeof(d)),
				ret, label);
			print_callers(row->site, width, out);
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
			fmt_value(o->sample, row->flat, a, sizeof(a)),
			fmt_pct(row->flat, r->total, b, sizeof(b)), fmt_pct(sum, r->total, c, sizeof(c)),
			fmt_value(o->sample, row->cum, d, sizeof(d)),
			fmt_pct(row->cum, r->total, e, sizeof(e)), ret, label);
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
	lw_json_str(j, is_space_type(o->sample) ? "bytes" : "objects");
	lw_json_key(j, "by");
	lw_json_str(j, o->by == LW_TOP_BY_SITE ? "site" : "function");
	lw_json_key(j, "sort");
	lw_json_str(j, o->sort == LW_TOP_SORT_CUM ? "cum"
		       : o->sort == LW_TOP_SORT_RETAINED && o->retained ? "retained" : "flat");
	lw_json_key(j, "snapshot");
	json_snapshot(j, &p->snap);
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
		lw_json_num(j, pct2(row->flat, r->total));
		lw_json_key(j, "sum_pct");
		lw_json_num(j, pct2(sum, r->total));
		lw_json_key(j, "cum");
		lw_json_num(j, row->cum);
		lw_json_key(j, "cum_pct");
		lw_json_num(j, pct2(row->cum, r->total));
		if (o->retained) {
			lw_json_key(j, "retained");
			if (row->retained >= 0)
				lw_json_num(j, row->retained);
			else
				lw_json_null(j);
		}
		if (o->by == LW_TOP_BY_SITE) {
			lw_json_key(j, "values");
			json_values(j, &row->values);
			lw_json_key(j, "frames");
			lw_json_frames(j, row->site->frames, row->site->n_frames);
		}
		lw_json_obj_end(j);
	}
	lw_json_arr_end(j);
	lw_json_obj_end(j);
	lw_json_finish(j);
}

/* ---- diff --------------------------------------------------------------- */

static void add_values(lw_values *dst, const lw_values *v)
{
	dst->alloc_objects += v->alloc_objects;
	dst->alloc_bytes += v->alloc_bytes;
	dst->inuse_objects += v->inuse_objects;
	dst->inuse_bytes += v->inuse_bytes;
}

static int values_zero(const lw_values *v)
{
	return v->alloc_objects == 0 && v->alloc_bytes == 0 && v->inuse_objects == 0 &&
	       v->inuse_bytes == 0;
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
	return cmp_sites(a->site, b->site);
}

int lw_diff_compute(const lw_profile *before, const lw_profile *after,
		    enum lw_sample_type sample, lw_diff_result *out)
{
	memset(out, 0, sizeof(*out));
	size_t cap = before->n + after->n;
	lw_diff_row *rows = calloc(cap ? cap : 1, sizeof(*rows));
	unsigned char *in_before = calloc(cap ? cap : 1, 1);
	unsigned char *in_after = calloc(cap ? cap : 1, 1);
	lw_map map;
	lw_map_init(&map, 1);
	size_t n = 0;
	int rc = 0;
	if (!rows || !in_before || !in_after)
		goto nomem;

	const lw_profile *pr[2] = {before, after};
	for (int side = 0; side < 2; side++) {
		const lw_profile *p = pr[side];
		for (size_t i = 0; i < p->n; i++) {
			char *key = lw_report_site_key(&p->sites[i]);
			if (!key)
				goto nomem;
			int added;
			uint64_t *slot = lw_map_put_str(&map, key, &added, NULL);
			free(key);   /* the map keeps its own copy */
			if (!slot)
				goto nomem;
			size_t idx = (size_t)*slot;
			if (added) {
				idx = n++;
				*slot = idx;
				rows[idx].site = &p->sites[i];
			}
			if (side == 0) {
				add_values(&rows[idx].before, &p->values[i]);
				in_before[idx] = 1;
			} else {
				add_values(&rows[idx].after, &p->values[i]);
				in_after[idx] = 1;
				rows[idx].site = &p->sites[i];   /* prefer the newer frames */
			}
		}
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		lw_diff_row r = rows[i];
		int hb = in_before[i] && !values_zero(&r.before);
		int ha = in_after[i] && !values_zero(&r.after);
		out->total_before += lw_values_get(&r.before, sample);
		out->total_after += lw_values_get(&r.after, sample);
		if (!hb && !ha)
			continue;
		out->n_sites++;
		r.status = hb && ha ? LW_DIFF_BOTH : ha ? LW_DIFF_NEW : LW_DIFF_GONE;
		r.delta = lw_values_get(&r.after, sample) - lw_values_get(&r.before, sample);
		int alloc = sample == LW_ALLOC_SPACE || sample == LW_ALLOC_OBJECTS;
		r.delta_objects = alloc ? r.after.alloc_objects - r.before.alloc_objects
					: r.after.inuse_objects - r.before.inuse_objects;
		if (r.status == LW_DIFF_BOTH && fabs(r.delta) < 0.5 && fabs(r.delta_objects) < 0.5)
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
	out->same_process = before->snap.run_id && before->snap.run_id == after->snap.run_id &&
			    before->snap.pid == after->snap.pid;
	out->seconds = out->same_process ? after->snap.t_s - before->snap.t_s : 0;
	goto done;
nomem:
	rc = -ENOMEM;
done:
	free(rows);
	free(in_before);
	free(in_after);
	lw_map_free(&map);
	return rc;
}

void lw_diff_result_free(lw_diff_result *r)
{
	free(r->rows);
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
	char a[64], b[64], c[64], d[64], sb[160], sa[160];
	double delta = r->total_after - r->total_before;
	fprintf(out, "%s: before %s, after %s, delta %s", lw_sample_type_name(sample),
		fmt_value(sample, r->total_before, a, sizeof(a)),
		fmt_value(sample, r->total_after, b, sizeof(b)), fmt_svalue(sample, delta, c, sizeof(c)));
	if (r->total_before > 0)
		fprintf(out, " (%+.1f%%)", delta / r->total_before * 100.0);
	fputc('\n', out);
	snap_desc(&before->snap, sb, sizeof(sb));
	snap_desc(&after->snap, sa, sizeof(sa));
	fprintf(out, "before: %s\nafter:  %s\n", sb, sa);
	if (has_rate(r)) {
		double per_h = delta / r->seconds * 3600.0;
		if (is_space_type(sample))
			fprintf(out, "growth: %s/h over %s\n", lw_fmt_sbytes(per_h, a, sizeof(a)),
				lw_fmt_duration(r->seconds, d, sizeof(d)));
		else
			fprintf(out, "growth: %s objects/h over %s\n",
				fmt_svalue(sample, per_h, a, sizeof(a)),
				lw_fmt_duration(r->seconds, d, sizeof(d)));
	} else if (!r->same_process) {
		fprintf(out, "growth: no rate (different processes; sites matched by symbols)\n");
	}
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
		fmt_svalue(LW_INUSE_OBJECTS, row->delta_objects, objs, sizeof(objs));
		fprintf(out, "%11s %10s %10s %8s %-4s %s\n",
			fmt_svalue(sample, row->delta, a, sizeof(a)),
			fmt_value(sample, lw_values_get(&row->before, sample), b, sizeof(b)),
			fmt_value(sample, lw_values_get(&row->after, sample), c, sizeof(c)), objs,
			row->status == LW_DIFF_NEW ? "NEW" : row->status == LW_DIFF_GONE ? "GONE" : "",
			label);
		print_callers(row->site, width, out);
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
	lw_json_str(j, is_space_type(sample) ? "bytes" : "objects");
	lw_json_key(j, "before");
	json_snapshot(j, &before->snap);
	lw_json_key(j, "after");
	json_snapshot(j, &after->snap);
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
		json_values(j, &row->before);
		lw_json_key(j, "after");
		json_values(j, &row->after);
		lw_json_key(j, "frames");
		lw_json_frames(j, row->site->frames, row->site->n_frames);
		lw_json_obj_end(j);
	}
	lw_json_arr_end(j);
	lw_json_obj_end(j);
	lw_json_finish(j);
}

/* ---- inputs ------------------------------------------------------------- */

int64_t lw_report_pick_snapshot(lw_db *db, int64_t seq, char *err, size_t errlen)
{
	lw_snapshot_list l;
	memset(&l, 0, sizeof(l));
	if (lw_model_snapshots(db, &l)) {
		snprintf(err, errlen, "cannot list snapshots of '%s'", db->path);
		return -1;
	}
	int64_t id = -1;
	if (!l.n) {
		snprintf(err, errlen, "'%s': no snapshots", db->path);
	} else {
		int64_t proc = l.v[0].process_id;
		for (size_t i = 0; i < l.n && l.v[i].process_id == proc; i++)
			if (seq < 0 || l.v[i].seq == (uint64_t)seq)
				id = l.v[i].id;   /* ordered by seq: the last one wins */
		if (id < 0)
			snprintf(err, errlen, "no snapshot with sequence %" PRId64 " in pid %u", seq,
				 l.v[0].pid);
	}
	lw_snapshot_list_free(&l);
	return id;
}

int lw_report_open_profile(char *const *paths, size_t n_paths, int64_t seq,
			   lw_db **db, lw_profile *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	*db = NULL;
	if (lw_db_open_inputs(paths, n_paths, db, err, errlen))
		return -1;
	int64_t id = lw_report_pick_snapshot(*db, seq, err, errlen);
	if (id < 0 || lw_model_profile(*db, id, out)) {
		if (id >= 0)
			snprintf(err, errlen, "'%s': cannot read snapshot %" PRId64, (*db)->path, id);
		lw_db_close(*db);
		*db = NULL;
		return -1;
	}
	return 0;
}
