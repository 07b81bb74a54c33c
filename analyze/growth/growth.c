/* growth.c — the growth ranking of a store (see growth.h).
 *
 * Per process with enough snapshots, each site's series is copied into
 * flat arrays (estimates, sampled counts, rate) and judged by trend.c;
 * then one Benjamini–Hochberg adjustment runs over every site judged, the
 * sites are ranked, and each process gets its detection limit and
 * watch-time advice. lw_growth_json_fields writes a ranked site as
 * `growth --json` shows it, one writer per group of fields.
 *
 * Invariants: report rows point into the caller's lw_series_list; nothing
 * here allocates per site beyond the row itself (one set of scratch arrays,
 * sized for the longest series, serves every site). Locks: none. Hot path:
 * the per-site analysis (lw_growth_analyze).
 */
#include "growth.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void lw_growth_opts_default(lw_growth_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->sample = LW_INUSE_SPACE;
	o->min_snaps = 3;
	o->watch_slope = 1024;
}

double lw_growth_site_value(const lw_growth_report *g, const lw_growth_site *s, size_t k)
{
	return lw_values_get(&s->ser->values[s->site * s->ser->n_snaps + k], g->opts.sample);
}

static int cmp_sites(const void *a, const void *b)
{
	const lw_growth_site *x = a, *y = b;
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
	int64_t ix = x->ser->sites[x->site].id, iy = y->ser->sites[y->site].id;
	return (ix > iy) - (ix < iy);
}

/* Flat arrays for one series of n points. */
enum { A_T, A_Y, A_RATE, A_SAMPLES, A_SBYTES, A_ALLOC, A_FREE, A_BYTES, A_OBJ, N_ARR };
typedef struct scratch {
	double *a[N_ARR];
} scratch;

static int scratch_init(scratch *s, size_t n)
{
	int ok = 1;
	for (int i = 0; i < N_ARR; i++)
		ok &= (s->a[i] = malloc((n ? n : 1) * sizeof(double))) != NULL;
	return ok ? 0 : -ENOMEM;
}

static void scratch_free(scratch *s)
{
	for (int i = 0; i < N_ARR; i++)
		free(s->a[i]);
}


/* Span, median interval and rate of a process; its run-level detection
 * limit and watch-time advice. */
static void process_summary(const lw_series *s, const lw_growth_opts *o,
			    const lw_growth_params *prm, double *scratch_buf,
			    lw_growth_process *p)
{
	size_t n = s->n_snaps;
	p->ser = s;
	p->n_snaps = n;
	p->skipped = n < o->min_snaps;
	p->span_s = n ? s->snaps[n - 1].t_s - s->snaps[0].t_s : 0;
	p->rate = n ? (double)s->snaps[n - 1].sample_rate : 0;
	p->interval_s = 0;
	if (n >= 2) {
		for (size_t k = 0; k + 1 < n; k++)
			scratch_buf[k] = s->snaps[k + 1].t_s - s->snaps[k].t_s;
		qsort(scratch_buf, n - 1, sizeof(double), lw_stats_cmp_double);
		p->interval_s = scratch_buf[(n - 1) / 2];
	}
	/* A new site of small blocks: every sample stands for about `rate`
	 * bytes of noise (docs/GROWTH.md, Detection limit). */
	p->min_samples = lw_growth_min_samples(n, prm);
	double per_sample = p->rate > 1 ? p->rate : 0;
	if (isinf(p->min_samples) || !(p->span_s > 0))
		p->detectable_bytes_per_s = INFINITY;
	else
		p->detectable_bytes_per_s = p->min_samples * per_sample / p->span_s;
	p->watch_s = 0;
	p->watch_rate = 0;
	double w = o->watch_slope;
	if (!(w > 0) || !(per_sample > 0) || p->detectable_bytes_per_s <= w)
		return;
	/* the snapshots a leak of w needs at this rate: N samples' worth of
	 * bytes, and at least 6 snapshots at the present interval */
	double n_min = lw_growth_min_samples(6, prm);
	p->watch_s = fmax(n_min * per_sample / w, 6 * p->interval_s);
	/* the rate that would see it within the present window */
	if (p->span_s > 0 && n >= 6) {
		double r = w * p->span_s / n_min, pw = 1;
		while (pw * 2 <= r)
			pw *= 2;
		p->watch_rate = pw < p->rate ? pw : 0;
	}
}

/* 1 when the ranking judges process process_id (opts.only). */
static int judged(const lw_growth_opts *o, int64_t process_id)
{
	if (!o->only)
		return 1;
	for (size_t i = 0; i < o->n_only; i++)
		if (o->only[i] == process_id)
			return 1;
	return 0;
}

/* One ranking in progress: the report being filled, the scratch arrays of
 * the series being judged, and the counts the progress callback reports. */
typedef struct ranking {
	const lw_growth_opts *o;
	lw_growth_report *out;
	scratch sc;
	size_t nr;      /* rows filled */
	size_t done;    /* sites looked at */
	size_t total;   /* sites of the processes with enough snapshots */
} ranking;

/* Sizes a ranking over the processes judged: g->total sites to look at and
 * out->best_snaps. Returns the longest series (>= 1), the scratch size. */
static size_t survey(const lw_series_list *l, ranking *g)
{
	size_t maxn = 1;
	for (size_t p = 0; p < l->n; p++) {
		const lw_series *s = &l->v[p];
		if (!judged(g->o, s->process_id))
			continue;
		if (s->n_snaps > g->out->best_snaps)
			g->out->best_snaps = s->n_snaps;
		if (s->n_snaps >= g->o->min_snaps)
			g->total += s->n_sites;
		if (s->n_snaps > maxn)
			maxn = s->n_snaps;
	}
	return maxn;
}

/* Copies site i of s into the per-site scratch arrays (the snapshot times
 * and rates are already there). Returns 0 when the series judged is zero in
 * every snapshot: such a site is left out. */
static int site_arrays(scratch *sc, const lw_series *s, size_t i, enum lw_sample_type sample)
{
	size_t n = s->n_snaps;
	const lw_values *v = &s->values[i * n];
	const lw_samples *sm = &s->samples[i * n];
	int any = 0;
	for (size_t k = 0; k < n; k++) {
		sc->a[A_Y][k] = lw_values_get(&v[k], sample);
		sc->a[A_BYTES][k] = v[k].inuse_bytes;
		sc->a[A_OBJ][k] = v[k].inuse_objects;
		sc->a[A_ALLOC][k] = (double)sm[k].alloc;
		sc->a[A_FREE][k] = (double)sm[k].free;
		/* a shim may read counters while they change: clamp like the
		 * estimates (model.h) */
		sc->a[A_SAMPLES][k] = sm[k].alloc > sm[k].free
			? (double)(sm[k].alloc - sm[k].free) : 0;
		sc->a[A_SBYTES][k] = sm[k].alloc_bytes > sm[k].free_bytes
			? (double)(sm[k].alloc_bytes - sm[k].free_bytes) : 0;
		any |= sc->a[A_Y][k] != 0;
	}
	return any;
}

/* A row judged on objects: its slope and detection limit in bytes, which
 * the report's byte columns show (objects/s to bytes/s at the site's
 * sampled size, else its mean block size). */
static int bytes_figures(lw_growth_site *row, const scratch *sc, size_t n)
{
	lw_ts_fit f;
	int rc = lw_stats_theil_sen(sc->a[A_T], sc->a[A_BYTES], n, 0, &f);
	if (rc < 0)
		return rc;
	row->slope_bytes = f.slope;
	double sz = row->r.sample_size > 0 ? row->r.sample_size
		  : row->last_objects > 0 ? row->last_bytes / row->last_objects : 0;
	row->detectable_bytes_per_s = row->r.detectable_slope * sz;
	return 0;
}

/* Judges site i of s, whose series is in the scratch arrays, into the next
 * row: its statistics, its latest in-use bytes with their interval, and
 * its slope and detection limit in bytes. */
static int judge_site(ranking *g, const lw_series *s, size_t i)
{
	const lw_growth_opts *o = g->o;
	double *const *a = g->sc.a;
	size_t n = s->n_snaps;
	const lw_values *v = &s->values[i * n];
	lw_growth_input in = {
		.n = n, .t = a[A_T], .y = a[A_Y],
		.y_is_objects = o->sample == LW_INUSE_OBJECTS,
		.rate = a[A_RATE], .samples = a[A_SAMPLES],
		.sample_bytes = a[A_SBYTES], .alloc_samples = a[A_ALLOC],
		.free_samples = a[A_FREE], .y_bytes = a[A_BYTES],
		.objects = a[A_OBJ],
	};
	lw_growth_site *row = &g->out->sites[g->nr];
	row->ser = s;
	row->site = i;
	row->last_bytes = v[n - 1].inuse_bytes;
	row->last_objects = v[n - 1].inuse_objects;
	int rc = lw_growth_analyze(&in, &g->out->params, &row->r);
	if (rc < 0)
		return rc;
	lw_growth_estimate_ci(row->last_bytes, 0, a[A_SAMPLES][n - 1], a[A_SBYTES][n - 1],
			      a[A_RATE][n - 1], row->r.sample_size, 0.95, &row->last_bytes_lo,
			      &row->last_bytes_hi);
	row->slope_bytes = row->r.fit.slope;
	row->detectable_bytes_per_s = row->r.detectable_slope;
	if (o->sample != LW_INUSE_SPACE)
		return bytes_figures(row, &g->sc, n);
	return 0;
}

/* One process: its summary, then (with enough snapshots) a row for each
 * site that is not zero throughout. */
static int judge_process(ranking *g, const lw_series *s)
{
	const lw_growth_opts *o = g->o;
	lw_growth_report *out = g->out;
	size_t n = s->n_snaps;
	process_summary(s, o, &out->params, g->sc.a[A_Y], &out->procs[out->n_procs++]);
	if (n < o->min_snaps)
		return 0;
	for (size_t k = 0; k < n; k++) {
		g->sc.a[A_T][k] = s->snaps[k].t_s;
		g->sc.a[A_RATE][k] = (double)s->snaps[k].sample_rate;
	}
	for (size_t i = 0; i < s->n_sites; i++, g->done++) {
		if (!site_arrays(&g->sc, s, i, o->sample))
			continue;
		int rc = judge_site(g, s, i);
		if (rc < 0)
			return rc;
		g->nr++;
		if (o->progress && (g->done & 63) == 0)
			o->progress(o->progress_arg, g->done, g->total);
	}
	return 0;
}

/* One multiple-testing adjustment over every site judged (lw_growth_adjust
 * works on an array of results): q-values and verdicts. */
static int adjust_all(lw_growth_site *sites, size_t nr, const lw_growth_params *prm)
{
	lw_growth_result *res = malloc(nr * sizeof(*res));
	if (!res)
		return -ENOMEM;
	for (size_t i = 0; i < nr; i++)
		res[i] = sites[i].r;
	int rc = lw_growth_adjust(res, nr, prm);
	if (rc == 0)
		for (size_t i = 0; i < nr; i++)
			sites[i].r = res[i];
	free(res);
	return rc;
}

/* Sites by verdict, in the whole report and per process. */
static void count_verdicts(lw_growth_report *out)
{
	for (size_t i = 0; i < out->n_sites; i++) {
		const lw_growth_site *s = &out->sites[i];
		out->counts[s->r.verdict]++;
		for (size_t p = 0; p < out->n_procs; p++)
			if (out->procs[p].ser == s->ser)
				out->procs[p].counts[s->r.verdict]++;
	}
}

int lw_growth_rank(const lw_series_list *l, const lw_growth_opts *o,
		   lw_growth_report *out)
{
	memset(out, 0, sizeof(*out));
	if (!l || !o || o->min_snaps < 3 ||
	    (o->sample != LW_INUSE_SPACE && o->sample != LW_INUSE_OBJECTS))
		return -EINVAL;
	out->opts = *o;
	out->opts.only = NULL;   /* read during the call only */
	out->opts.n_only = 0;
	lw_growth_params_default(&out->params);
	ranking g = { .o = o, .out = out };
	size_t maxn = survey(l, &g);
	out->procs = calloc(l->n ? l->n : 1, sizeof(*out->procs));
	out->sites = calloc(g.total ? g.total : 1, sizeof(*out->sites));
	if (!out->procs || !out->sites || scratch_init(&g.sc, maxn) < 0) {
		scratch_free(&g.sc);
		lw_growth_report_free(out);
		return -ENOMEM;
	}
	int rc = 0;
	for (size_t p = 0; p < l->n && rc == 0; p++)
		if (judged(o, l->v[p].process_id))
			rc = judge_process(&g, &l->v[p]);
	scratch_free(&g.sc);
	if (rc == 0 && g.nr > 0)
		rc = adjust_all(out->sites, g.nr, &out->params);
	if (rc < 0) {
		lw_growth_report_free(out);
		return rc;
	}
	if (o->progress)
		o->progress(o->progress_arg, g.total, g.total);
	out->n_sites = g.nr;
	qsort(out->sites, g.nr, sizeof(*out->sites), cmp_sites);
	count_verdicts(out);
	return 0;
}

void lw_growth_report_free(lw_growth_report *r)
{
	if (!r)
		return;
	free(r->sites);
	free(r->procs);
	memset(r, 0, sizeof(*r));
}

/* ---- JSON -------------------------------------------------------------------- */

/* The row's process: who it is and, when it was judged, its window, rate,
 * detection limit and watch-time advice. */
static void json_process(lw_json *j, const lw_growth_report *g, const lw_series *ser)
{
	const lw_growth_process *p = NULL;
	for (size_t i = 0; i < g->n_procs; i++)
		if (g->procs[i].ser == ser)
			p = &g->procs[i];
	lw_json_obj_begin(j);
	lw_json_key(j, "pid");
	lw_json_int(j, ser->pid);
	lw_json_key(j, "exe");
	lw_json_str(j, ser->exe);
	lw_json_key(j, "name");
	lw_json_str(j, ser->name);
	if (p) {
		lw_json_key(j, "n_snapshots");
		lw_json_int(j, (int64_t)p->n_snaps);
		lw_json_key(j, "span_s");
		lw_json_num(j, p->span_s);
		lw_json_key(j, "sample_rate");
		lw_json_num(j, p->rate);
		lw_json_key(j, "detectable_slope_bytes_per_s");
		lw_json_num(j, p->detectable_bytes_per_s);
		lw_json_key(j, "min_samples");
		lw_json_num(j, p->min_samples);
		lw_json_key(j, "watch");
		lw_json_obj_begin(j);
		lw_json_key(j, "slope_bytes_per_s");
		lw_json_num(j, g->opts.watch_slope);
		lw_json_key(j, "needs_s");
		lw_json_num(j, p->watch_s);
		lw_json_key(j, "rate_within_span");
		lw_json_num(j, p->watch_rate);
		lw_json_obj_end(j);
	}
	lw_json_obj_end(j);
}

/* [lo, hi]: an interval. */
static void json_interval(lw_json *j, double lo, double hi)
{
	lw_json_arr_begin(j);
	lw_json_num(j, lo);
	lw_json_num(j, hi);
	lw_json_arr_end(j);
}

/* The row's figures in bytes: its growth, what it could have shown, and
 * the latest snapshot with its sampling interval. */
static void json_estimates(lw_json *j, const lw_growth_site *row)
{
	lw_json_key(j, "slope_bytes_per_s");
	lw_json_num(j, row->slope_bytes);
	lw_json_key(j, "detectable_slope_bytes_per_s");
	lw_json_num(j, row->detectable_bytes_per_s);
	lw_json_key(j, "inuse_bytes");
	lw_json_num(j, row->last_bytes);
	lw_json_key(j, "inuse_bytes_ci");
	json_interval(j, row->last_bytes_lo, row->last_bytes_hi);
	lw_json_key(j, "inuse_objects");
	lw_json_num(j, row->last_objects);
}

/* The trend of the series judged (opts.sample): slope with its interval,
 * significance, and the window it was judged over. */
static void json_trend(lw_json *j, const lw_growth_report *g, const lw_growth_result *r)
{
	lw_json_key(j, "sample");
	lw_json_str(j, lw_sample_type_name(g->opts.sample));
	lw_json_key(j, "slope_per_s");
	lw_json_num(j, r->fit.slope);
	lw_json_key(j, "slope_ci");
	json_interval(j, r->fit.ci_lo, r->fit.ci_hi);
	lw_json_key(j, "slope_ci_level");
	lw_json_num(j, r->fit.conf);
	lw_json_key(j, "recent_slope_per_s");
	lw_json_num(j, r->recent_slope);
	lw_json_key(j, "p_value");
	lw_json_num(j, r->p);
	lw_json_key(j, "q_value");
	lw_json_num(j, r->q);
	lw_json_key(j, "mk_s");
	lw_json_num(j, r->mk.s);
	lw_json_key(j, "n_snapshots");
	lw_json_int(j, (int64_t)r->n);
	lw_json_key(j, "span_s");
	lw_json_num(j, r->span_s);
	lw_json_key(j, "rise");
	lw_json_num(j, r->rise_level);
}

/* The sampling model's view of the series: "samples". */
static void json_samples(lw_json *j, const lw_growth_result *r)
{
	lw_json_obj_begin(j);
	lw_json_key(j, "unit");
	lw_json_num(j, r->unit);
	lw_json_key(j, "latest");
	lw_json_num(j, r->level_samples);
	lw_json_key(j, "persistent");
	lw_json_bool(j, r->persistent);
	lw_json_key(j, "p_trend");
	lw_json_num(j, r->p_trend);
	lw_json_key(j, "p_count");
	lw_json_num(j, r->p_count);
	lw_json_obj_end(j);
}

/* The shape checks behind the verdict: "checks". */
static void json_checks(lw_json *j, const lw_growth_result *r)
{
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
	lw_json_key(j, "sampling_noise");
	lw_json_bool(j, r->sampling_noise);
	lw_json_key(j, "steps");
	lw_json_int(j, r->n_jumps);
	lw_json_key(j, "drawdowns");
	lw_json_int(j, r->n_drawdowns);
	lw_json_obj_end(j);
}

void lw_growth_json_fields(lw_json *j, const lw_growth_report *g, size_t i)
{
	const lw_growth_site *row = &g->sites[i];
	lw_json_key(j, "rank");
	lw_json_int(j, (int64_t)i + 1);
	lw_json_key(j, "verdict");
	lw_json_str(j, lw_verdict_name(row->r.verdict));
	json_estimates(j, row);
	json_trend(j, g, &row->r);
	lw_json_key(j, "samples");
	json_samples(j, &row->r);
	lw_json_key(j, "checks");
	json_checks(j, &row->r);
	lw_json_key(j, "process");
	json_process(j, g, row->ser);
	lw_json_key(j, "site_id");
	lw_json_int(j, row->ser->sites[row->site].id);
}
