/* cmd/growth.c — `leakwatch growth PATH... [-n N] [--sample inuse_space|
 * inuse_objects] [--min-snapshots K] [--watch-for SIZE] [--fail-on-leak]
 * [--json] [--pid PID] [--exe NAME] [--wrapper REGEX] [--no-wrappers]`.
 *
 * Role: opens the inputs as a model (args.h lw_cmd_open: the site model
 * with wrappers folded), chooses the process (lw_cmd_choose: the watched
 * one by default), reads the time series of that program and its restarts
 * (model.h lw_model_program; with --pid that process alone), has
 * growth.h judge, adjust and rank them (lw_growth_rank: the same report
 * `leakwatch report` draws), and prints it: per process what it could
 * have seen (detection limit, how long to watch), then the ranked sites
 * with a sparkline and each site's own detection limit. The method and the
 * JSON contract are in docs/GROWTH.md.
 *
 * Exit status: 0, or 3 with --fail-on-leak when any site (shown or not) is
 * a leak; 1 on errors, 2 on usage errors.
 */
#include <getopt.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "db.h"
#include "errors.h"
#include "frame.h"
#include "growth.h"
#include "json.h"
#include "model.h"
#include "progress.h"
#include "report.h"
#include "table.h"
#include "text.h"
#include "units.h"

#define GROWTH_CALLERS 2          /* caller frames shown under each site */

typedef struct growth_args {
	char **paths;
	size_t n_paths;
	uint64_t n;
	uint64_t min_snaps;
	uint64_t watch_for;
	enum lw_sample_type sample;
	int fail_on_leak;
	int json;
	lw_cmd_model model;
} growth_args;

static void usage(FILE *out)
{
	fputs("usage: leakwatch growth PATH... [options]\n"
	      "Ranks the sites whose memory grows steadily across a process's snapshots\n"
	      "(leaks) apart from caches that level off (docs/GROWTH.md).\n"
	      "\n"
	      "  -n N                 rows to show (default 20)\n"
	      "  --sample TYPE        inuse_space (default) or inuse_objects\n"
	      "  --min-snapshots K    snapshots a process needs to be ranked (default, minimum 3)\n"
	      "  --watch-for RATE     the leak size (bytes/s, K/M/G) the summary says how long\n"
	      "                       it takes to see at this rate (default 1K)\n"
	      "  --fail-on-leak       exit with status 3 when any site is a leak (for CI)\n"
	      LW_HELP_JSON
	      LW_PROC_HELP
	      LW_HELP_MODEL
	      "\n"
	      "Example:\n"
	      "  leakwatch growth leakwatch.myserver.4242 --fail-on-leak\n", out);
}

/* ---- output helpers --------------------------------------------------------- */

/* Glyphs: Unicode when the locale's character set is UTF-8, else ASCII. */
typedef struct glyphs {
	const char *levels[8];
	const char *ge;
} glyphs;

static const glyphs utf8_glyphs = {
	{ "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588" },
	"\u2265",
};
static const glyphs ascii_glyphs = {
	{ "_", ".", ",", "-", "=", "+", "*", "#" },
	">=",
};

static const glyphs *pick_glyphs(void)
{
	const char *cur = setlocale(LC_CTYPE, NULL);
	char *saved = cur ? strdup(cur) : NULL;
	int utf8 = 0;
	if (setlocale(LC_CTYPE, ""))
		utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	if (saved) {
		setlocale(LC_CTYPE, saved);
		free(saved);
	}
	return utf8 ? &utf8_glyphs : &ascii_glyphs;
}

/* A sparkline of `width` cells: the series bucketed by time (mean per
 * cell; an empty cell repeats its left neighbour), scaled from its minimum
 * (lowest block) to its maximum (full block). A constant series is a row
 * of lowest blocks. */
static void print_sparkline(const lw_growth_report *g, const lw_growth_site *s,
			    const glyphs *gl, int width, FILE *out)
{
	const lw_series *ser = s->ser;
	size_t n = ser->n_snaps;
	double cell[64], sum[64];
	int cnt[64];
	if (width > 64)
		width = 64;
	for (int c = 0; c < width; c++) {
		sum[c] = 0;
		cnt[c] = 0;
	}
	double t0 = ser->snaps[0].t_s, span = ser->snaps[n - 1].t_s - t0;
	for (size_t k = 0; k < n; k++) {
		int c = span > 0 ? (int)((ser->snaps[k].t_s - t0) / span * width) : 0;
		if (c >= width)
			c = width - 1;
		if (c < 0)
			c = 0;
		sum[c] += lw_growth_site_value(g, s, k);
		cnt[c]++;
	}
	double lo = INFINITY, hi = -INFINITY, prev = 0;
	for (int c = 0; c < width; c++) {
		cell[c] = cnt[c] ? sum[c] / cnt[c] : prev;
		prev = cell[c];
		lo = fmin(lo, cell[c]);
		hi = fmax(hi, cell[c]);
	}
	for (int c = 0; c < width; c++) {
		int lvl = hi > lo ? (int)floor((cell[c] - lo) / (hi - lo) * 7.999) : 0;
		fputs(gl->levels[lvl < 0 ? 0 : lvl > 7 ? 7 : lvl], out);
	}
}

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

/* "≥ 3.2 KiB/s"; "any" when the site's figures are exact and noiseless
 * (every block sampled, nothing but the growth would move them); "-" when
 * nothing could be seen. */
static const char *fmt_limit(double bps, const glyphs *gl, char *buf, size_t len)
{
	char r[32];
	if (!isfinite(bps))
		snprintf(buf, len, "-");
	else if (bps == 0)
		snprintf(buf, len, "any");
	else
		snprintf(buf, len, "%s %s", gl->ge, lw_fmt_rate(bps, r, sizeof(r)));
	return buf;
}

/* The run summary of one process: what it could see, how long to watch. */
static void print_process(const lw_growth_report *g, const lw_growth_process *p,
			  const glyphs *gl, FILE *out)
{
	const lw_series *s = p->ser;
	const char *name = s->name && *s->name ? s->name : "?";
	char d[32], r[32], w[32], lim[48];
	fprintf(out, "process %" PRIu32 " (%s): %zu snapshot%s over %s", s->pid,
		name, p->n_snaps, p->n_snaps == 1 ? "" : "s",
		lw_fmt_duration(p->span_s, d, sizeof(d)));
	if (p->skipped) {
		fputs(" (too few, skipped)\n", out);
		return;
	}
	if (!(p->rate > 1)) {
		fputs(", every allocation recorded\n", out);
		return;
	}
	fprintf(out, ", rate %s\n", lw_fmt_bytes(p->rate, r, sizeof(r)));
	if (!isfinite(p->detectable_bytes_per_s)) {
		fprintf(out, "  too few snapshots to call any site a leak\n");
		return;
	}
	fprintf(out, "  would see a steady leak of small objects %s\n",
		fmt_limit(p->detectable_bytes_per_s, gl, lim, sizeof(lim)));
	if (p->watch_s > 0) {
		lw_fmt_rate(g->opts.watch_slope, w, sizeof(w));
		fprintf(out, "  at %s, a %s leak needs about %s of snapshots\n", r, w,
			lw_fmt_duration(p->watch_s, d, sizeof(d)));
		if (p->watch_rate >= 1)
			fprintf(out, "  (LEAKWATCH_RATE=%.0f would see it within %s)\n",
				p->watch_rate, lw_fmt_duration(p->span_s, d, sizeof(d)));
	}
}

static void print_rows(const lw_series_list *l, const lw_growth_report *g, const growth_args *a,
		       const lw_proc_choice *proc, int width, FILE *out)
{
	const glyphs *gl = pick_glyphs();
	if (width < 60)
		width = 80;
	for (size_t p = 0; p < g->n_procs; p++)
		print_process(g, &g->procs[p], gl, out);
	lw_report_print_process(proc, NULL, "", width, out);
	lw_report_print_wrappers(l->wrappers, l->n_wrappers, 0, out);
	fprintf(out, "%zu sites by %s: %zu leak, %zu growing, %zu plateau, %zu stable\n\n",
		g->n_sites, lw_sample_type_name(a->sample), g->counts[LW_VERDICT_LEAK],
		g->counts[LW_VERDICT_GROWING], g->counts[LW_VERDICT_PLATEAU],
		g->counts[LW_VERDICT_STABLE]);
	if (g->n_sites == 0)
		return;
	/* a pid column when the rows come from more than one process */
	int multi = 0;
	for (size_t i = 1; i < g->n_sites; i++)
		multi |= g->sites[i].ser != g->sites[0].ser;
	/* fixed columns take 65 (74 with a pid): the sparkline gets the rest */
	int spark = width - (multi ? 74 : 65);
	if (spark < 6)
		spark = 6;
	if (spark > 40)
		spark = 40;
	fprintf(out, "%4s  %-7s  %11s  %10s  %-*s  %6s  %s\n", "rank", "verdict", "slope",
		"latest", spark, "trend", "q", multi ? "would see          pid" : "would see");
	size_t shown = g->n_sites < a->n ? g->n_sites : (size_t)a->n;
	size_t label_max = (size_t)width - 6;
	for (size_t i = 0; i < shown; i++) {
		const lw_growth_site *row = &g->sites[i];
		const lw_site *site = &row->ser->sites[row->site];
		char s1[48], s3[48], s4[32], s5[48], lab[512];
		fprintf(out, "%4zu  %-7s  %11s  %10s  ", i + 1, lw_verdict_name(row->r.verdict),
			fmt_slope(a->sample, row->r.fit.slope, s1, sizeof(s1)),
			fmt_value(a->sample, row->r.last, s3, sizeof(s3)));
		print_sparkline(g, row, gl, spark, out);
		fmt_limit(row->detectable_bytes_per_s, gl, s5, sizeof(s5));
		fprintf(out, "  %6s  %s", fmt_p(row->r.q, s4, sizeof(s4)), s5);
		if (multi) {
			/* pad the limit cell to 15 columns (">= 1023.9 KiB/s";
			 * the Unicode glyph is one column in three bytes) */
			double lim = row->detectable_bytes_per_s;
			int cols = (int)strlen(s5) -
				   (gl == &utf8_glyphs && isfinite(lim) && lim > 0 ? 2 : 0);
			fprintf(out, "%*s  %" PRIu32, cols < 15 ? 15 - cols : 0, "", row->ser->pid);
		}
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
	if (shown < g->n_sites)
		fprintf(out, "(%zu more sites; -n to show more)\n", g->n_sites - shown);
}

static void print_json(const lw_growth_report *g, const growth_args *a, FILE *out)
{
	lw_json *j = lw_json_new(out);
	lw_json_arr_begin(j);
	size_t shown = g->n_sites < a->n ? g->n_sites : (size_t)a->n;
	for (size_t i = 0; i < shown; i++) {
		const lw_growth_site *row = &g->sites[i];
		const lw_site *site = &row->ser->sites[row->site];
		lw_json_obj_begin(j);
		lw_growth_json_fields(j, g, i);
		lw_json_key(j, "frames");
		lw_json_frames(j, site->frames, site->n_frames);
		lw_report_json_wrappers(j, site->wrappers, site->n_wrappers);
		lw_json_obj_end(j);
	}
	lw_json_arr_end(j);
	lw_json_finish(j);
}

static void on_progress(void *arg, size_t done, size_t total)
{
	(void)total;
	lw_progress_update(arg, done);
}

static int growth_run(const growth_args *a)
{
	lw_db *db = NULL;
	lw_model *m = NULL;
	lw_proc_choice proc;
	if (lw_cmd_open(a->paths, a->n_paths, &a->model.opts, &db, &m))
		return 1;
	if (lw_cmd_choose(m, a->paths, a->n_paths, &a->model, &proc)) {
		lw_cmd_close(db, m, NULL);
		return 1;
	}
	/* the chosen program with its restarts (one family of tests), or with
	 * --pid the one process */
	int64_t *ids = NULL;
	size_t n_ids = 0;
	lw_series_list l;
	int rc = lw_model_program(m, &proc, &ids, &n_ids);
	if (rc == 0)
		rc = lw_model_series_of(m, ids, n_ids, &l);
	free(ids);
	if (rc < 0) {
		lw_error("'%s': cannot read the snapshots: %s", a->paths[0], strerror(-rc));
		lw_cmd_close(db, m, NULL);
		return 1;
	}
	lw_growth_opts o;
	lw_growth_opts_default(&o);
	o.sample = a->sample;
	o.min_snaps = a->min_snaps;
	o.watch_slope = (double)a->watch_for;
	size_t total = 0;
	for (size_t p = 0; p < l.n; p++)
		if (l.v[p].n_snaps >= a->min_snaps)
			total += l.v[p].n_sites;
	lw_progress *prog = lw_progress_new("analysing sites", total);
	o.progress = on_progress;
	o.progress_arg = prog;
	lw_growth_report g;
	rc = lw_growth_rank(&l, &o, &g);
	lw_progress_done(prog);
	int status = 1;
	if (rc < 0) {
		lw_error("out of memory");
		goto out;
	}
	size_t usable = 0;
	for (size_t p = 0; p < g.n_procs; p++)
		usable += !g.procs[p].skipped;
	if (usable == 0) {
		lw_error("'%s': growth needs at least %" PRIu64 " snapshots of one process; "
			 "the most %s%s (pid %" PRIu32 ") has is %zu%s", a->paths[0], a->min_snaps,
			 l.n > 1 ? "any process named " : "", proc.name, proc.pid, g.best_snaps,
			 proc.n_others ? " (--pid/--exe to choose another)" : "");
		lw_growth_report_free(&g);
		goto out;
	}
	if (a->json)
		print_json(&g, a, stdout);
	else
		print_rows(&l, &g, a, &proc, lw_term_width(), stdout);
	int leak = g.counts[LW_VERDICT_LEAK] > 0;
	lw_growth_report_free(&g);
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
	enum { OPT_SAMPLE = 256, OPT_MIN, OPT_FAIL, OPT_JSON, OPT_WATCH };
	static const struct option longopts[] = {
		{ "sample", required_argument, NULL, OPT_SAMPLE },
		{ "min-snapshots", required_argument, NULL, OPT_MIN },
		{ "watch-for", required_argument, NULL, OPT_WATCH },
		{ "fail-on-leak", no_argument, NULL, OPT_FAIL },
		{ "json", no_argument, NULL, OPT_JSON },
		LW_MODEL_OPTIONS,
		LW_PROC_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	growth_args a;
	memset(&a, 0, sizeof(a));
	a.n = 20;
	a.min_snaps = 3;
	a.watch_for = 1024;
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
		case OPT_WATCH:
			if (lw_parse_u64(optarg, &a.watch_for) || a.watch_for == 0) {
				lw_error("--watch-for '%s': expected bytes per second (K, M, G "
					 "suffixes), at least 1", optarg);
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
		default:
			if (lw_args_other(c, argv, &a.model, usage))
				return 2;
			break;
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
