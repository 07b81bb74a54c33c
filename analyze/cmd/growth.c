/* cmd/growth.c — `leakwatch growth PATH... [-n N] [--sample inuse_space|
 * inuse_objects] [--min-snapshots K] [--fail-on-leak] [--json]`.
 *
 * Role: reads every process's time series (model.h lw_model_series), judges
 * each site's series with stats.c (lw_growth_analyze, then one
 * Benjamini–Hochberg adjustment over all sites of all processes), ranks the
 * sites most suspect first and prints them. The method and the JSON
 * contract are in docs/GROWTH.md.
 *
 * Ranking: verdict (leak, growing, plateau, stable), then slope (largest
 * first), then latest value. Exit status: 0, or 3 with --fail-on-leak when
 * any site (shown or not) is a leak; 1 on errors, 2 on usage errors.
 * Hot path: the per-site analysis (progress bar on a terminal).
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "db.h"
#include "errors.h"
#include "frame.h"
#include "json.h"
#include "model.h"
#include "progress.h"
#include "report.h"
#include "stats.h"
#include "table.h"
#include "text.h"
#include "units.h"

#define GROWTH_CALLERS 2          /* caller frames shown under each site */

typedef struct growth_args {
	char **paths;
	size_t n_paths;
	uint64_t n;
	uint64_t min_snaps;
	enum lw_sample_type sample;
	int fail_on_leak;
	int json;
	lw_cmd_model model;
} growth_args;

typedef struct growth_row {
	const lw_series *ser;
	size_t site;              /* index into ser->sites */
	lw_growth_result r;
	double slope_bytes;       /* Theil–Sen slope of inuse bytes, B/s */
	double last_bytes, last_objects;
} growth_row;

static void usage(FILE *out)
{
	fputs("usage: leakwatch growth PATH... [-n N] [--sample inuse_space|inuse_objects]\n"
	      "                        [--min-snapshots K] [--fail-on-leak] [--json]\n"
	      "                        " LW_MODEL_USAGE "\n", out);
}

static int cmp_rows(const void *a, const void *b)
{
	const growth_row *x = a, *y = b;
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

/* Scratch arrays for one series of n points. */
typedef struct scratch {
	double *t, *y, *yb, *obj, *rate;
} scratch;

static int scratch_init(scratch *s, size_t n)
{
	s->t = malloc(n * sizeof(double));
	s->y = malloc(n * sizeof(double));
	s->yb = malloc(n * sizeof(double));
	s->obj = malloc(n * sizeof(double));
	s->rate = malloc(n * sizeof(double));
	return s->t && s->y && s->yb && s->obj && s->rate ? 0 : -1;
}

static void scratch_free(scratch *s)
{
	free(s->t);
	free(s->y);
	free(s->yb);
	free(s->obj);
	free(s->rate);
}

/* Analyses every site of every process with enough snapshots. Sites whose
 * series is zero throughout are left out (nothing ever lived there). */
static int analyse(const lw_series_list *l, const growth_args *a,
		   const lw_growth_params *prm, growth_row **rows_out,
		   size_t *n_rows_out)
{
	size_t total = 0, maxn = 0;
	for (size_t p = 0; p < l->n; p++)
		if (l->v[p].n_snaps >= a->min_snaps) {
			total += l->v[p].n_sites;
			if (l->v[p].n_snaps > maxn)
				maxn = l->v[p].n_snaps;
		}
	growth_row *rows = calloc(total ? total : 1, sizeof(*rows));
	scratch sc;
	memset(&sc, 0, sizeof(sc));
	if (!rows || scratch_init(&sc, maxn ? maxn : 1) < 0) {
		free(rows);
		scratch_free(&sc);
		return -1;
	}
	lw_progress *prog = lw_progress_new("analysing sites", total);
	size_t nr = 0, done = 0;
	int rc = 0;
	for (size_t p = 0; p < l->n && rc == 0; p++) {
		const lw_series *s = &l->v[p];
		size_t n = s->n_snaps;
		if (n < a->min_snaps)
			continue;
		for (size_t k = 0; k < n; k++) {
			sc.t[k] = s->snaps[k].t_s;
			sc.rate[k] = (double)s->snaps[k].sample_rate;
		}
		for (size_t i = 0; i < s->n_sites; i++, done++) {
			const lw_values *v = &s->values[i * n];
			int any = 0;
			for (size_t k = 0; k < n; k++) {
				sc.y[k] = lw_values_get(&v[k], a->sample);
				sc.yb[k] = v[k].inuse_bytes;
				sc.obj[k] = v[k].inuse_objects;
				any |= sc.y[k] != 0;
			}
			if (!any)
				continue;
			lw_growth_input in = { .n = n, .t = sc.t, .y = sc.y, .y_bytes = sc.yb,
					       .objects = sc.obj, .rate = sc.rate,
					       .y_is_objects = a->sample == LW_INUSE_OBJECTS };
			growth_row *row = &rows[nr];
			row->ser = s;
			row->site = i;
			row->last_bytes = v[n - 1].inuse_bytes;
			row->last_objects = v[n - 1].inuse_objects;
			if (lw_growth_analyze(&in, prm, &row->r) < 0) {
				rc = -1;
				break;
			}
			row->slope_bytes = row->r.fit.slope;
			if (a->sample != LW_INUSE_SPACE) {
				lw_ts_fit f;
				if (lw_stats_theil_sen(sc.t, sc.yb, n, 0, &f) < 0) {
					rc = -1;
					break;
				}
				row->slope_bytes = f.slope;
			}
			nr++;
			if ((done & 63) == 0)
				lw_progress_update(prog, done);
		}
	}
	lw_progress_done(prog);
	scratch_free(&sc);
	if (rc == 0) {
		/* one multiple-testing adjustment over every site analysed */
		lw_growth_result *res = malloc((nr ? nr : 1) * sizeof(*res));
		if (!res)
			rc = -1;
		if (rc == 0) {
			for (size_t i = 0; i < nr; i++)
				res[i] = rows[i].r;
			if (lw_growth_adjust(res, nr, prm) < 0)
				rc = -1;
			else
				for (size_t i = 0; i < nr; i++)
					rows[i].r = res[i];
		}
		free(res);
	}
	if (rc < 0) {
		free(rows);
		return -1;
	}
	qsort(rows, nr, sizeof(*rows), cmp_rows);
	*rows_out = rows;
	*n_rows_out = nr;
	return 0;
}

/* ---- output ----------------------------------------------------------------- */

static const char *fmt_value(enum lw_sample_type t, double v, char *buf, size_t len)
{
	if (t == LW_INUSE_SPACE)
		return lw_fmt_bytes(v, buf, len);
	return lw_fmt_count(v, buf, len);
}

static const char *fmt_slope(enum lw_sample_type t, double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "?");
	else if (t == LW_INUSE_SPACE)
		lw_fmt_rate(v, buf, len);
	else {
		char c[32];
		lw_fmt_count(fabs(v) >= 1 || v == 0 ? v : v * 3600, c, sizeof(c));
		snprintf(buf, len, "%s/%s", c, fabs(v) >= 1 || v == 0 ? "s" : "h");
	}
	return buf;
}

static const char *fmt_per_hour(enum lw_sample_type t, double v, char *buf, size_t len)
{
	char c[32];
	if (isnan(v)) {
		snprintf(buf, len, "?");
		return buf;
	}
	if (t == LW_INUSE_SPACE)
		lw_fmt_sbytes(v * 3600, c, sizeof(c));
	else
		lw_fmt_count(v * 3600, c, sizeof(c));
	snprintf(buf, len, "%s/h", c);
	return buf;
}

static const char *fmt_p(double q, char *buf, size_t len)
{
	if (isnan(q))
		snprintf(buf, len, "-");
	else if (q < 1e-9)
		snprintf(buf, len, "<1e-9");
	else if (q < 0.001)
		snprintf(buf, len, "%.0e", q);
	else
		snprintf(buf, len, "%.3f", q);
	return buf;
}

static void print_header(const lw_series_list *l, const growth_args *a, size_t nr,
			 const growth_row *rows, FILE *out)
{
	size_t counts[4] = { 0, 0, 0, 0 };
	for (size_t i = 0; i < nr; i++)
		counts[rows[i].r.verdict]++;
	char d[32];
	for (size_t p = 0; p < l->n; p++) {
		const lw_series *s = &l->v[p];
		const char *exe = s->exe && *s->exe ? s->exe : "?";
		double span = s->n_snaps ? s->snaps[s->n_snaps - 1].t_s - s->snaps[0].t_s : 0;
		fprintf(out, "process %" PRIu32 " (%s): %zu snapshot%s over %s%s\n", s->pid,
			lw_base_name(exe), s->n_snaps, s->n_snaps == 1 ? "" : "s",
			lw_fmt_duration(span, d, sizeof(d)),
			s->n_snaps < a->min_snaps ? " (too few, skipped)" : "");
	}
	lw_report_print_wrappers(l->wrappers, l->n_wrappers, 0, out);
	fprintf(out, "%zu sites by %s: %zu leak, %zu growing, %zu plateau, %zu stable\n\n",
		nr, lw_sample_type_name(a->sample), counts[LW_VERDICT_LEAK],
		counts[LW_VERDICT_GROWING], counts[LW_VERDICT_PLATEAU],
		counts[LW_VERDICT_STABLE]);
}

static void print_rows(const lw_series_list *l, const growth_args *a,
		       const growth_row *rows, size_t nr, int width, FILE *out)
{
	print_header(l, a, nr, rows, out);
	if (nr == 0)
		return;
	/* a pid column when the rows come from more than one process */
	int multi = 0;
	for (size_t i = 1; i < nr; i++)
		multi |= rows[i].ser != rows[0].ser;
	if (width < 60)
		width = 80;
	fprintf(out, "%4s  %-7s  %11s  %12s  %10s  %6s%s\n", "rank", "verdict", "slope",
		"per hour", "latest", "q", multi ? "  pid" : "");
	size_t shown = nr < a->n ? nr : (size_t)a->n;
	size_t label_max = (size_t)width - 6;
	for (size_t i = 0; i < shown; i++) {
		const growth_row *row = &rows[i];
		const lw_site *site = &row->ser->sites[row->site];
		char s1[48], s2[48], s3[48], s4[32], lab[512];
		fprintf(out, "%4zu  %-7s  %11s  %12s  %10s  %6s", i + 1,
			lw_verdict_name(row->r.verdict),
			fmt_slope(a->sample, row->r.fit.slope, s1, sizeof(s1)),
			fmt_per_hour(a->sample, row->r.fit.slope, s2, sizeof(s2)),
			fmt_value(a->sample, row->r.last, s3, sizeof(s3)),
			fmt_p(row->r.q, s4, sizeof(s4)));
		if (multi)
			fprintf(out, "  %" PRIu32, row->ser->pid);
		fputc('\n', out);
		if (site->n_frames == 0) {
			fprintf(out, "      (no frames)\n");
			continue;
		}
		fprintf(out, "      %s\n", lw_frame_label(&site->frames[0], label_max, lab, sizeof(lab)));
		for (size_t f = 1; f < site->n_frames && f <= GROWTH_CALLERS; f++)
			fprintf(out, "        <- %s\n",
				lw_frame_label(&site->frames[f], label_max - 4, lab, sizeof(lab)));
	}
	if (shown < nr)
		fprintf(out, "(%zu more sites; -n to show more)\n", nr - shown);
}

static void json_num_or_null(lw_json *j, double v)
{
	if (isfinite(v))
		lw_json_num(j, v);
	else
		lw_json_null(j);
}

static void print_json(const growth_args *a, const growth_row *rows, size_t nr, FILE *out)
{
	lw_json *j = lw_json_new(out);
	lw_json_arr_begin(j);
	size_t shown = nr < a->n ? nr : (size_t)a->n;
	for (size_t i = 0; i < shown; i++) {
		const growth_row *row = &rows[i];
		const lw_growth_result *r = &row->r;
		const lw_site *site = &row->ser->sites[row->site];
		lw_json_obj_begin(j);
		lw_json_key(j, "rank");
		lw_json_int(j, (int64_t)i + 1);
		lw_json_key(j, "verdict");
		lw_json_str(j, lw_verdict_name(r->verdict));
		lw_json_key(j, "slope_bytes_per_s");
		json_num_or_null(j, row->slope_bytes);
		lw_json_key(j, "inuse_bytes");
		lw_json_num(j, row->last_bytes);
		lw_json_key(j, "inuse_objects");
		lw_json_num(j, row->last_objects);
		lw_json_key(j, "sample");
		lw_json_str(j, lw_sample_type_name(a->sample));
		lw_json_key(j, "slope_per_s");
		json_num_or_null(j, r->fit.slope);
		lw_json_key(j, "slope_ci");
		lw_json_arr_begin(j);
		json_num_or_null(j, r->fit.ci_lo);
		json_num_or_null(j, r->fit.ci_hi);
		lw_json_arr_end(j);
		lw_json_key(j, "slope_ci_level");
		lw_json_num(j, r->fit.conf);
		lw_json_key(j, "recent_slope_per_s");
		json_num_or_null(j, r->recent_slope);
		lw_json_key(j, "p_value");
		json_num_or_null(j, r->p);
		lw_json_key(j, "q_value");
		json_num_or_null(j, r->q);
		lw_json_key(j, "mk_s");
		lw_json_num(j, r->mk.s);
		lw_json_key(j, "n_snapshots");
		lw_json_int(j, (int64_t)r->n);
		lw_json_key(j, "span_s");
		lw_json_num(j, r->span_s);
		lw_json_key(j, "rise");
		lw_json_num(j, r->rise_level);
		lw_json_key(j, "checks");
		lw_json_obj_begin(j);
		lw_json_key(j, "material");
		lw_json_bool(j, r->material);
		lw_json_key(j, "continuing");
		lw_json_bool(j, r->continuing);
		lw_json_key(j, "stopped");
		lw_json_bool(j, r->stopped);
		lw_json_key(j, "sawtooth");
		lw_json_bool(j, r->sawtooth);
		lw_json_key(j, "staircase");
		lw_json_bool(j, r->staircase);
		lw_json_key(j, "steps");
		lw_json_int(j, r->n_jumps);
		lw_json_key(j, "drawdowns");
		lw_json_int(j, r->n_drawdowns);
		lw_json_obj_end(j);
		lw_json_key(j, "process");
		lw_json_obj_begin(j);
		lw_json_key(j, "pid");
		lw_json_int(j, row->ser->pid);
		lw_json_key(j, "exe");
		lw_json_str(j, row->ser->exe);
		lw_json_obj_end(j);
		lw_json_key(j, "site_id");
		lw_json_int(j, site->id);
		lw_json_key(j, "frames");
		lw_json_frames(j, site->frames, site->n_frames);
		lw_report_json_wrappers(j, site->wrappers, site->n_wrappers);
		lw_json_obj_end(j);
	}
	lw_json_arr_end(j);
	lw_json_finish(j);
}

static int growth_run(const growth_args *a)
{
	lw_db *db = NULL;
	lw_model *m = NULL;
	if (lw_cmd_open(a->paths, a->n_paths, &a->model.opts, &db, &m))
		return 1;
	lw_series_list l;
	int rc = lw_model_series(m, &l);
	if (rc < 0) {
		lw_error("'%s': cannot read the snapshots: %s", a->paths[0], strerror(-rc));
		lw_cmd_close(db, m, NULL);
		return 1;
	}
	size_t best = 0, usable = 0;
	for (size_t p = 0; p < l.n; p++) {
		if (l.v[p].n_snaps > best)
			best = l.v[p].n_snaps;
		usable += l.v[p].n_snaps >= a->min_snaps;
	}
	int status = 1;
	if (usable == 0) {
		lw_error("'%s': growth needs at least %" PRIu64 " snapshots of one process; "
			 "the most any process has is %zu", a->paths[0], a->min_snaps, best);
		goto out;
	}
	lw_growth_params prm;
	lw_growth_params_default(&prm);
	growth_row *rows = NULL;
	size_t nr = 0;
	if (analyse(&l, a, &prm, &rows, &nr) < 0) {
		lw_error("out of memory");
		goto out;
	}
	if (a->json)
		print_json(a, rows, nr, stdout);
	else
		print_rows(&l, a, rows, nr, lw_term_width(), stdout);
	int leak = 0;
	for (size_t i = 0; i < nr; i++)
		leak |= rows[i].r.verdict == LW_VERDICT_LEAK;
	free(rows);
	if (fflush(stdout)) {
		lw_error("cannot write the output");
		goto out;
	}
	status = a->fail_on_leak && leak ? 3 : 0;
out:
	lw_series_list_free(&l);
	lw_cmd_close(db, m, NULL);
	return status;
}

int lw_cmd_growth(int argc, char **argv)
{
	enum { OPT_SAMPLE = 256, OPT_MIN, OPT_FAIL, OPT_JSON };
	static const struct option longopts[] = {
		{ "sample", required_argument, NULL, OPT_SAMPLE },
		{ "min-snapshots", required_argument, NULL, OPT_MIN },
		{ "fail-on-leak", no_argument, NULL, OPT_FAIL },
		{ "json", no_argument, NULL, OPT_JSON },
		LW_MODEL_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	growth_args a;
	memset(&a, 0, sizeof(a));
	a.n = 20;
	a.min_snaps = 3;
	a.sample = LW_INUSE_SPACE;
	lw_set_command("growth");

	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (lw_args_count("-n", optarg, &a.n))
				return 2;
			break;
		case OPT_SAMPLE: {
			int t = lw_sample_type_parse(optarg);
			if (t != LW_INUSE_SPACE && t != LW_INUSE_OBJECTS) {
				lw_error("--sample '%s': expected inuse_space or inuse_objects",
					 optarg);
				return 2;
			}
			a.sample = (enum lw_sample_type)t;
			break;
		}
		case OPT_MIN:
			if (lw_parse_u64(optarg, &a.min_snaps) || a.min_snaps < 3) {
				lw_error("--min-snapshots '%s': expected a count of at least 3",
					 optarg);
				return 2;
			}
			break;
		case OPT_FAIL:
			a.fail_on_leak = 1;
			break;
		case OPT_JSON:
			a.json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			lw_error("'%s': missing argument", argv[optind - 1]);
			usage(stderr);
			return 2;
		default: {
			int r = lw_args_model_option(c, optarg, &a.model);
			if (r == 1)
				break;
			if (r == 2)
				return 2;
			lw_error("'%s': unknown option", argv[optind - 1]);
			usage(stderr);
			return 2;
		}
		}
	}
	if (optind >= argc) {
		lw_error("expected at least one PATH (.lwd file, directory or database)");
		usage(stderr);
		return 2;
	}
	a.paths = argv + optind;
	a.n_paths = (size_t)(argc - optind);
	return growth_run(&a);
}
