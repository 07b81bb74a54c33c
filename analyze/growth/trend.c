/* trend.c — per-series growth statistics, the verdict, and the detection
 * limit (docs/GROWTH.md explains every rule and threshold).
 *
 * Two kinds of noise are judged separately. Program noise (a working set
 * that moves, a load that changes) by rank statistics on the estimates:
 * Mann–Kendall, Theil–Sen, jumps, drawdowns. Sampling noise by the sampled
 * blocks behind the estimates: the series is converted into *equivalent
 * samples* (estimate / unit, where unit * estimate is the estimate's
 * sampling variance), which are Poisson counts, and every claim of growth
 * must also hold on those counts. Mann–Kendall alone trusts an estimate
 * made of a dozen long-lived samples far too much: consecutive snapshots
 * share their samples, so a wander looks like a trend.
 *
 * lw_growth_analyze runs its steps in a fixed order (analyze_series), each
 * filling the result fields that the later ones read.
 *
 * Invariants: inputs are never modified; scratch memory is allocated and
 * freed per call. Deterministic. Locks: none.
 * Hot path: lw_growth_analyze once per site; screened (trendless) sites
 * cost one Mann–Kendall, one median slope and a count test.
 */
#include "trend.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lw_assert.h"

const char *lw_verdict_name(enum lw_verdict v)
{
	switch (v) {
	case LW_VERDICT_LEAK: return "leak";
	case LW_VERDICT_GROWING: return "growing";
	case LW_VERDICT_PLATEAU: return "plateau";
	case LW_VERDICT_STABLE: return "stable";
	}
	return "?";
}

void lw_growth_params_default(lw_growth_params *p)
{
	p->alpha = 0.01;
	p->alpha_weak = 0.01;
	p->conf = 0.95;
	p->recent_frac = 1.0 / 3.0;
	p->cont_frac = 0.6;
	p->alpha_cont = 0.01;
	p->alpha_cont_churn = 0.001;
	p->alpha_stop = 1e-4;
	p->rho_continue = 0.4;
	p->rho_flat = 0.25;
	p->alpha_recent = 0.05;
	p->k_gap = 3.0;
	p->min_steps = 3;
	p->c_noise = 2.0;
	p->c_resid = 2.0;
	p->c_sampling = 2.0;
	p->dd_frac = 0.25;
	p->dd_noise = 5.0;
	p->dd_min = 2;
	p->power = 0.9;
}

/* ---- small helpers ---------------------------------------------------------- */

/* Theil–Sen slope alone into *out (NAN for fewer than 2 points). */
static int ts_slope(const double *x, const double *y, size_t n, double *out)
{
	lw_ts_fit f;
	*out = NAN;
	if (n < 2)
		return 0;
	int rc = lw_stats_theil_sen(x, y, n, 0, &f);
	if (rc == 0)
		*out = f.slope;
	return rc;
}

/* Median of v[from..to) without modifying v. */
static double median_of(const double *v, size_t from, size_t to, double *scratch)
{
	memcpy(scratch, v + from, (to - from) * sizeof *scratch);
	return lw_stats_median(scratch, to - from);
}

/* First index of the last `frac` of the time span, leaving >= 3 points. */
static size_t window_start(const double *t, size_t n, double frac)
{
	size_t start = n - 1;
	double tcut = t[n - 1] - frac * (t[n - 1] - t[0]);
	while (start > 0 && t[start - 1] >= tcut)
		start--;
	if (n - start < 3)
		start = n - 3;
	return start;
}

/* Smallest and largest of y[0..n). */
static void y_extremes(const double *y, size_t n, double *lo, double *hi)
{
	double ymin = y[0], ymax = y[0];
	for (size_t i = 1; i < n; i++) {
		ymin = fmin(ymin, y[i]);
		ymax = fmax(ymax, y[i]);
	}
	*lo = ymin;
	*hi = ymax;
}

/* The whole window's Theil–Sen slope, 0 when no pair defines one: the
 * trend that residuals and differences are taken from. */
static double fit_slope(const lw_growth_result *r)
{
	return isnan(r->fit.slope) ? 0 : r->fit.slope;
}

/* One-sided Mann–Kendall p over y[from..n). */
static int mk_p(const double *t, const double *y, size_t from, size_t n, double *p)
{
	lw_mk mk;
	int rc = lw_stats_mann_kendall(t + from, y + from, n - from, &mk);
	*p = mk.var_s > 0 ? mk.p_up : 1.0;
	return rc;
}

/* ---- the sampling model --------------------------------------------------- */

/* Sampling model of the series: `unit` (series units per equivalent sample)
 * and the factor that turns sampled blocks into equivalent samples.
 *
 * A sampled block of s bytes at rate R stands for s/p bytes (p = 1 -
 * e^(-s/R)) and adds s^2 (1-p)/p^2 to the estimate's variance, so the
 * estimate Y of blocks of size s has variance unit * Y with unit =
 * s (1-p)/p (about R for small blocks), and Y / unit behaves as a Poisson
 * count. s is the mean size of the sampled blocks, pooled over the series;
 * s/p, the estimate one sampled block adds (the grain), is read from the
 * counters when they are known. Without a rate, or with blocks always
 * sampled, the series is exact. */
static void sampling_model(const lw_growth_input *in, lw_growth_result *out,
			   double *inflate)
{
	size_t n = in->n;
	out->unit = out->grain = 0;
	out->sample_size = 0;
	out->persistent = 0;
	*inflate = 1;
	if (!in->rate || !(in->rate[n - 1] > 1))
		return;
	double rate = in->rate[n - 1], sb = 0, sk = 0, sy = 0;
	if (in->samples && in->sample_bytes) {
		for (size_t i = 0; i < n; i++)
			if (in->samples[i] > 0) {
				sb += in->sample_bytes[i];
				sk += in->samples[i];
				sy += in->y[i];
			}
	} else if (in->objects) {
		const double *yb = in->y_bytes ? in->y_bytes : in->y_is_objects ? NULL : in->y;
		for (size_t i = 0; yb && i < n; i++)
			if (in->objects[i] > 0) {
				sb += yb[i];
				sk += in->objects[i];
			}
	}
	if (!(sk > 0) || !(sb > 0))
		return;
	double s = sb / sk, p = -expm1(-s / rate);
	out->sample_size = s;
	if (!(p > 0) || !(1 - p > 1e-12))
		return;
	/* the estimate one sampled block adds: s/p by the model, or as the
	 * counters record it when the sampled counts are known (the same for
	 * a shim that weights as the model says; faithful to any other) */
	out->grain = in->y_is_objects ? 1 / p : s / p;
	if (sy > 0)
		out->grain = sy / sk;
	out->unit = out->grain * (1 - p);
	*inflate = 1 / (1 - p);
	/* Do samples outlive snapshots? Unless the live samples are replaced
	 * about three times per interval (lag-1 correlation e^-3 for
	 * exponential lifetimes), consecutive snapshots share samples and
	 * Mann–Kendall's independence fails. Without the sampled traffic the
	 * structure is unknown and only the estimates are judged. */
	if (in->alloc_samples && in->free_samples) {
		double live = 0;
		for (size_t i = 0; i < n; i++)
			live += in->samples ? in->samples[i] : in->y[i] / out->grain;
		double freed = in->free_samples[n - 1] - in->free_samples[0];
		out->persistent = freed / (double)(n - 1) < 3 * live / (double)n;
	}
}

/* Sampled traffic (allocations + frees) from point i to point j, in
 * equivalent samples; NAN when the counts are unknown. */
static double traffic(const lw_growth_input *in, double inflate, size_t i, size_t j)
{
	if (!in->alloc_samples || !in->free_samples)
		return NAN;
	return (in->alloc_samples[j] - in->alloc_samples[i] + in->free_samples[j] -
		in->free_samples[i]) * inflate;
}

/* Count test of growth from point i to point j: is the rise in equivalent
 * samples beyond what sampling alone makes of a site that does not grow?
 *
 * Between two snapshots the rise is a - d (sampled allocations minus
 * sampled frees, in equivalent samples). For a site whose expected level
 * does not change (a population in equilibrium, however long-lived), the
 * rise is the difference of two equal-mean Poisson counts (arrivals still
 * live, departures of blocks live at i), whose total is at most a + d and
 * at most the two levels together; given that total m, the rise is at most
 * as spread as Binomial(m, 1/2). The p-value is P(Bin(m, 1/2) >= (m +
 * rise)/2) with m the smaller bound: conservative whenever blocks persist
 * (which only lowers the variance). 0 for exact series (any rise is real)
 * and for series whose samples do not outlive snapshots (independent
 * points: Mann–Kendall's assumptions hold), 1 without a rise. */
static double count_p(const lw_growth_input *in, const lw_growth_result *r,
		      double inflate, size_t i, size_t j)
{
	if (!(r->unit > 0) || !r->persistent)
		return 0;
	double ci = in->y[i] / r->unit, cj = in->y[j] / r->unit;
	double rise = cj - ci, m = 2 * (ci + cj);
	if (!(rise > 0))
		return 1;
	double tr = traffic(in, inflate, i, j);
	if (tr < m)
		m = tr;
	if (m < rise)
		m = rise;
	return lw_stats_binom_sf((m + rise) / 2, m, 0.5);
}

/* Stop test: growth as concentrated in the early part of the window as
 * observed is this unlikely for steady growth.
 *
 * Steady growth made of N sampled blocks puts them at uniform times, so
 * the path k(t) - k(t0) of sampled blocks stays within the binomial bridge
 * around the line N f(t). The largest early excess D = max (k - k0 - N f)
 * has P(D >= d) <= exp(-2 d^2 / N) (Dvoretzky–Kiefer–Wolfowitz with
 * Massart's constant). Blocks are counted in `grain` (the estimate one
 * sampled block stands for), so a 16 MiB block always sampled is one event,
 * as are 512 KiB of small allocations. Turnover (blocks that come and go)
 * and program noise widen the band: N is inflated by the site's own sampled
 * frees (at most twice its level) and four times the per-point noise
 * variance. NAN without persistent samples (the level of independent
 * snapshots is no path of arrivals) or without growth. */
static double stop_p(const lw_growth_input *in, const lw_growth_result *r)
{
	size_t n = in->n;
	if (!(r->grain > 0) || !r->persistent || !(r->span_s > 0))
		return NAN;
	const double *t = in->t, *y = in->y;
	double g = r->grain;
	double k0 = y[0] / g, N = y[n - 1] / g - k0;
	if (!(N > 0))
		return NAN;
	double d = 0, kmax = 0;
	for (size_t i = 0; i < n; i++) {
		double k = y[i] / g;
		double f = (t[i] - t[0]) / r->span_s;
		if (k - k0 - N * f > d)
			d = k - k0 - N * f;
		if (k > kmax)
			kmax = k;
	}
	double turnover = 2 * kmax;
	if (in->free_samples) {
		double freed = in->free_samples[n - 1] - in->free_samples[0];
		if (freed < turnover)
			turnover = freed;
	}
	double noise = r->noise_sd / g;
	double v = N + turnover + 4 * noise * noise;
	return exp(-2 * d * d / v);
}

static double detect_slope(const lw_growth_input *in, const lw_growth_params *prm,
			   const lw_growth_result *r, double inflate);

/* ---- features ----------------------------------------------------------------- */

/* The level of the continuation test of a persistent series from point
 * `from` on: alpha_cont, or alpha_cont_churn when the window also frees
 * samples (more than a tenth of what it allocates). A population that turns
 * over wanders, and its count test, though conservative, then has a tail
 * that a long run of warm-ups reaches (1 in 5,000 simulated at 0.01); a
 * site that only allocates cannot wander. */
static double cont_alpha(const lw_growth_input *in, const lw_growth_params *prm, size_t from)
{
	size_t n = in->n;
	if (!in->alloc_samples || !in->free_samples)
		return prm->alpha_cont;
	double a = in->alloc_samples[n - 1] - in->alloc_samples[from];
	double d = in->free_samples[n - 1] - in->free_samples[from];
	return d > 0.1 * a ? prm->alpha_cont_churn : prm->alpha_cont;
}

/* Recent-window statistics: Theil–Sen and Mann–Kendall over the last
 * recent_frac of the span (>= 3 points), and the reference slope. */
static int recency(const double *t, const double *y, size_t n, double b,
		   const lw_growth_params *prm, lw_growth_result *out)
{
	int rc;
	size_t start = window_start(t, n, prm->recent_frac);
	out->recent_s = t[n - 1] - t[start];
	out->recent_n = n - start;
	rc = ts_slope(t + start, y + start, n - start, &out->recent_slope);
	if (rc < 0)
		return rc;
	if ((rc = mk_p(t, y, start, n, &out->recent_p)) < 0)
		return rc;
	/* reference: the fastest of the whole window, the part before the
	 * recent window and the first third (where a cache that filled early
	 * did its growing) */
	double early = NAN, head = NAN;
	if (start + 1 >= 3 && (rc = ts_slope(t, y, start + 1, &early)) < 0)
		return rc;
	size_t first = 1;
	double tfirst = t[0] + prm->recent_frac * out->span_s;
	while (first < n && t[first] <= tfirst)
		first++;
	if (first >= 3 && (rc = ts_slope(t, y, first, &head)) < 0)
		return rc;
	out->ref_slope = b;
	if (!isnan(early) && early > out->ref_slope)
		out->ref_slope = early;
	if (!isnan(head) && head > out->ref_slope)
		out->ref_slope = head;
	return 0;
}

/* y[i+1] - y[i] less the trend b over that time step. */
static double detrended_diff(const lw_growth_input *in, double b, size_t i)
{
	return in->y[i + 1] - in->y[i] - b * (in->t[i + 1] - in->t[i]);
}

/* Median over y[from..to) (at most 3 points) of the distance from a line
 * of slope b: the level of a stretch, the background growth taken off. */
static double level_off_trend(const lw_growth_input *in, double b, size_t from, size_t to)
{
	double r[3];
	size_t m = 0;
	LW_ASSERT(to > from && to - from <= 3);
	for (size_t k = from; k < to; k++)
		r[m++] = in->y[k] - b * in->t[k];
	return lw_stats_median(r, m);
}

/* The background growth that a level shift stands out from: the median
 * rate between consecutive snapshots (about the trend in a smooth series,
 * about 0 in a staircase, whose flats outnumber its steps), and the median
 * time step. */
static void background(const lw_growth_input *in, double *w, double *rate, double *dt)
{
	size_t m = 0;
	for (size_t i = 0; i + 1 < in->n; i++)
		if (in->t[i + 1] > in->t[i])
			w[m++] = (in->y[i + 1] - in->y[i]) / (in->t[i + 1] - in->t[i]);
	*rate = m ? lw_stats_median(w, m) : 0;
	for (size_t i = 0; i + 1 < in->n; i++)
		w[i] = in->t[i + 1] - in->t[i];
	*dt = lw_stats_median(w, in->n - 1);
}

/* Jumps (level shifts): first differences that are steps, not spikes, and
 * far above both the typical difference and sampling noise: more
 * equivalent samples in one interval than the series' typical per-interval
 * traffic could bring (mean + 6 sd + 5: a Poisson tail below 1e-8). A leak of small blocks
 * arrives one sample at a time: its steps are sampling, not shifts. A shift
 * must also add at least one interval's worth of the background growth: a
 * steady program's differences can be all but equal (an exact series of a
 * paced leak has a robust spread near 0), and a snapshot a few
 * milliseconds late is no level shift. */
static void jumps(const lw_growth_input *in, lw_growth_result *out, double med_diff,
		  double inflate, double *w)
{
	size_t n = in->n;
	const double *t = in->t, *y = in->y;
	double ymin, ymax;
	y_extremes(y, n, &ymin, &ymax);
	double scale = fmax(fabs(ymax), fabs(ymin));
	double b = fit_slope(out), bg_rate, bg_dt;
	background(in, w, &bg_rate, &bg_dt);
	double jthr = fmax(4 * out->diff_sd, fmax(0, bg_rate) * bg_dt);
	if (jthr < 1e-12 * scale)
		jthr = 1e-12 * scale;
	jthr += med_diff;
	/* sampling threshold for a level shift, in series units */
	double sthr = 0;
	if (out->unit > 0) {
		double per = fmax(0, (y[n - 1] - y[0]) / out->unit) / (double)(n - 1);
		double tr = traffic(in, inflate, 0, n - 1);
		if (tr > 0)
			per = fmax(per, tr / (double)(n - 1));
		sthr = out->unit * (per + 6 * sqrt(per) + 5);
	}
	if (jthr < sthr)
		jthr = sthr;
	double jump_sum = 0, last_jump_t = t[0];
	out->shift_t = NAN;
	for (size_t i = 0; i + 1 < n; i++) {
		double d = y[i + 1] - y[i];
		if (!(d > 0 && detrended_diff(in, b, i) > jthr))
			continue;
		/* a step, not a spike: the level after stays up (medians of up
		 * to 3 points on each side, background growth taken off, rise
		 * by at least half of the step's excess over the background;
		 * on raw levels a spike on a steep trend would pass) */
		size_t a0 = i >= 2 ? i - 2 : 0, b1 = i + 4 < n ? i + 4 : n;
		double excess = d - bg_rate * (t[i + 1] - t[i]);
		if (level_off_trend(in, bg_rate, i + 1, b1) -
			    level_off_trend(in, bg_rate, a0, i + 1) <
		    0.5 * excess)
			continue;
		out->n_jumps++;
		jump_sum += d;
		last_jump_t = t[i + 1];
		out->shift_t = t[i + 1];
	}
	out->staircase = out->n_jumps >= 2 && out->rise_level > 0 &&
			 jump_sum >= 0.5 * out->rise_level &&
			 (size_t)out->n_jumps * 3 <= 2 * (n - 1);
	if (out->n_jumps > 0) {
		out->gap_s = out->span_s / out->n_jumps;
		out->flat_s = t[n - 1] - last_jump_t;
	}
}

/* Lowest point of y[from..to). */
static size_t lowest(const double *y, size_t from, size_t to)
{
	size_t lo = from;
	for (size_t k = from; k < to; k++)
		if (y[k] < y[lo])
			lo = k;
	return lo;
}

/* Drawdowns from the running peak; the troughs between them (the lowest
 * point from one drawdown to the next), and whether the troughs rise: a
 * sawtooth whose floor climbs. The troughs' rise must hold on ranks and on
 * the sampled counts, like any growth. */
static int drawdowns(const lw_growth_input *in, const lw_growth_params *prm,
		     lw_growth_result *out, double inflate, double *w, double *wt)
{
	size_t n = in->n;
	const double *y = in->y;
	double dthr = prm->dd_frac * out->range;
	if (dthr < prm->dd_noise * out->diff_sd)
		dthr = prm->dd_noise * out->diff_sd;
	out->trough_p = NAN;
	if (!(dthr > 0))
		return 0;
	double peak = y[0];
	size_t n_tr = 0, seg = 0, first = 0, last = 0;
	for (size_t i = 1; i < n; i++) {
		if (y[i] > peak)
			peak = y[i];
		if (peak - y[i] >= dthr) {
			out->n_drawdowns++;
			peak = y[i];
			if (out->n_drawdowns > 1) {
				last = lowest(y, seg, i);
				first = n_tr ? first : last;
				w[n_tr] = y[last];
				wt[n_tr++] = in->t[last];
			}
			seg = i;
		}
	}
	if (out->n_drawdowns >= 1 && seg < n) {
		last = lowest(y, seg, n);
		first = n_tr ? first : last;
		w[n_tr] = y[last];
		wt[n_tr++] = in->t[last];
	}
	out->sawtooth = out->n_drawdowns >= prm->dd_min;
	if (n_tr < 3)
		return 0;
	int rc = mk_p(wt, w, 0, n_tr, &out->trough_p);
	out->trough_p = fmax(out->trough_p, count_p(in, out, inflate, first, last));
	return rc;
}

/* ---- one series: the steps of lw_growth_analyze --------------------------- */

/* A zeroed result for this input: its span and latest value; q and the
 * recency fields NAN until computed (a screened site keeps them so); the
 * verdict stable until lw_growth_adjust gives one. */
static void result_init(const lw_growth_input *in, lw_growth_result *out)
{
	size_t n = in->n;
	memset(out, 0, sizeof *out);
	out->n = n;
	out->q = NAN;
	out->verdict = LW_VERDICT_STABLE;
	out->span_s = in->t[n - 1] - in->t[0];
	out->last = in->y[n - 1];
	out->recent_slope = out->ref_slope = out->recent_p = NAN;
	out->cont_p = out->cont_count_p = out->stop_p = out->trough_p = out->shift_t = NAN;
}

/* The whole window: Mann–Kendall, the count test, the site's p-value, and
 * the Theil–Sen fit (with its interval unless screened). */
static int whole_window(const lw_growth_input *in, const lw_growth_params *prm,
			lw_growth_result *out, double inflate)
{
	size_t n = in->n;
	int rc = lw_stats_mann_kendall(in->t, in->y, n, &out->mk);
	out->p_trend = out->mk.var_s > 0 ? out->mk.p_up : NAN;
	out->p_count = count_p(in, out, inflate, 0, n - 1);
	/* the site's p-value: the trend must hold on the estimates (ranks) and
	 * on the sampled counts (an intersection-union test: valid at the
	 * level of each) */
	out->p = isnan(out->p_trend) ? NAN : fmax(out->p_trend, out->p_count);
	/* Screening: without p below both alphas the verdict is `stable`
	 * whatever else holds, so the interval and the recency statistics
	 * (most of the cost) are skipped. */
	double pmax = fmax(prm->alpha, prm->alpha_weak);
	out->screened = !(out->p < pmax);
	if (rc == 0)
		rc = lw_stats_theil_sen_mk(in->t, in->y, n, out->screened ? 0 : prm->conf,
					   &out->mk, &out->fit);
	if (rc < 0)
		return rc;
	out->rise = fit_slope(out) * out->span_s;
	return 0;
}

/* y[i+1] - y[i] less the trend b, for every step, into w[0..n-1). */
static void detrended_diffs(const lw_growth_input *in, double b, double *w)
{
	for (size_t i = 0; i + 1 < in->n; i++)
		w[i] = detrended_diff(in, b, i);
}

/* Program noise around the fit: the robust spread of the residuals and of
 * the detrended first differences, and the range. Returns the differences'
 * median, the typical step that jumps() measures against. */
static double noise(const lw_growth_input *in, lw_growth_result *out, double *w)
{
	size_t n = in->n;
	const double *t = in->t, *y = in->y;
	double b = fit_slope(out);
	double icpt = isnan(out->fit.intercept) ? 0 : out->fit.intercept;
	for (size_t i = 0; i < n; i++)
		w[i] = y[i] - b * t[i] - icpt;
	out->resid_sd = lw_stats_robust_sd(w, n);
	/* first differences less the trend over their time step (the same
	 * shift for every difference when snapshots are evenly spaced; with
	 * uneven spacing, e.g. a history thinned by the disk budget, a wide gap
	 * is not a jump): their median and robust spread (each reorders w, so
	 * the differences are written again for the second) */
	detrended_diffs(in, b, w);
	double med_diff = lw_stats_median(w, n - 1);
	detrended_diffs(in, b, w);
	out->diff_sd = lw_stats_robust_sd(w, n - 1);
	out->noise_sd = out->diff_sd / M_SQRT2;
	double ymin, ymax;
	y_extremes(y, n, &ymin, &ymax);
	out->range = ymax - ymin;
	return med_diff;
}

/* Level change: medians of the first and last tenth (>= 1 point), robust
 * to the ends' noise, and the sampling sd of that rise by the model. */
static void level_change(const lw_growth_input *in, lw_growth_result *out, double *w)
{
	size_t n = in->n;
	size_t m = n / 10 ? n / 10 : 1;
	double lvl0 = median_of(in->y, 0, m, w), lvl1 = median_of(in->y, n - m, n, w);
	out->rise_level = lvl1 - lvl0;
	out->sampling_sd = out->rise_level > 0 ? sqrt(out->unit * out->rise_level) : 0;
}

/* Continuation: growth in the last cont_frac of the span, and after the
 * last level shift if that is later (one or two shifts in a smooth series:
 * a resize, a burst; in a staircase the shifts are the growth). Judged on
 * ranks and, for persistent samples, on counts. */
static int continuation(const lw_growth_input *in, const lw_growth_params *prm,
			lw_growth_result *out, double inflate)
{
	size_t n = in->n;
	const double *t = in->t;
	size_t cs = window_start(t, n, prm->cont_frac);
	if (!out->staircase && out->n_jumps <= 2 && !isnan(out->shift_t))
		while (cs + 1 < n && t[cs] < out->shift_t)
			cs++;
	if (n - cs < 3) {
		out->cont_p = 1;
		out->cont_count_p = out->persistent ? 1 : NAN;
		out->cont_alpha = prm->alpha_cont;
		return 0;
	}
	double pm;
	int rc = mk_p(t, in->y, cs, n, &pm);
	if (rc < 0)
		return rc;
	out->cont_n = n - cs;
	out->cont_count_p = out->persistent ? count_p(in, out, inflate, cs, n - 1) : NAN;
	out->cont_alpha = out->persistent ? cont_alpha(in, prm, cs) : prm->alpha_cont;
	out->cont_p = isnan(out->cont_count_p) ? pm : fmax(pm, out->cont_count_p);
	return 0;
}

/* Whether the growth goes on: the recent window, the continuation window
 * and the stop test. Only for sites not screened (most of the cost). */
static int recent_growth(const lw_growth_input *in, const lw_growth_params *prm,
			 lw_growth_result *out, double inflate)
{
	int rc = recency(in->t, in->y, in->n, fit_slope(out), prm, out);
	if (rc < 0)
		return rc;
	if ((rc = continuation(in, prm, out, inflate)) < 0)
		return rc;
	out->stop_p = stop_p(in, out);
	return 0;
}

/* The checks that do not depend on other sites or on recency: a material
 * rise, a linear one, and whether the noise is the sampler's. */
static void checks(const lw_growth_input *in, const lw_growth_params *prm,
		   lw_growth_result *out, double inflate)
{
	size_t n = in->n;
	out->material = out->rise_level > 0 &&
			out->rise_level >= prm->c_noise * out->noise_sd &&
			out->rise_level >= prm->c_sampling * out->sampling_sd;
	/* a staircase's steps are its own evidence; a smooth series must rise
	 * beyond its scatter around the line (guards against slow wandering) */
	out->linear = out->rise > 0 && (out->staircase ||
					out->rise >= prm->c_resid * out->resid_sd);
	/* Sampling noise dominates when the differences between snapshots are
	 * no wider than the sampled traffic between them makes them (Poisson,
	 * in equivalent samples; a flat series of a few samples has diff_sd 0) */
	if (out->unit > 0 && out->persistent) {
		/* persistent: the traffic is known */
		double per = traffic(in, inflate, 0, n - 1) / (double)(n - 1);
		double dsd = out->diff_sd / out->unit;
		/* blocks sampled with p > 1/2 (weight < 2) are mostly the
		 * program's own steps, not sampling */
		out->sampling_noise = inflate <= 2 && dsd * dsd <= 4 * (per + 1);
	}
}

/* Continuing or stopped, by the kind of series: a few samples are judged
 * on counts, a staircase on its steps, a smooth series on its slopes. A
 * screened site is neither (stable whatever the recency says). */
static void continuing_or_stopped(const lw_growth_params *prm, lw_growth_result *out)
{
	/* growth concentrated early, or no growth beyond sampling noise in the
	 * continuation window: both say the growth did not go on */
	int early = !isnan(out->stop_p) && out->stop_p < prm->alpha_stop;
	int count_flat = !isnan(out->cont_count_p) && !(out->cont_count_p < out->cont_alpha);
	if (out->screened)
		return;
	if (out->sampling_noise) {
		/* a handful of samples: growth must go on beyond Poisson noise
		 * after the last level shift, and not be concentrated early */
		out->continuing = out->cont_count_p < out->cont_alpha && !early;
		out->stopped = !out->continuing;
	} else if (out->staircase) {
		out->stopped = early || count_flat || out->flat_s >= prm->k_gap * out->gap_s ||
			       (out->n_jumps < prm->min_steps &&
				out->flat_s >= prm->recent_frac * out->span_s);
		out->continuing = !out->stopped && out->n_jumps >= prm->min_steps;
	} else if (out->ref_slope > 0 && !isnan(out->recent_slope)) {
		/* still growing: fast enough in the recent window, significantly
		 * in the continuation window, and in the recent window too where
		 * it has the points for it */
		out->continuing = out->recent_slope >= prm->rho_continue * out->ref_slope &&
				  out->cont_p < out->cont_alpha &&
				  (out->recent_n < 5 || out->recent_p < prm->alpha_recent);
		out->stopped = !out->continuing &&
			       (early || count_flat ||
				out->recent_slope < prm->rho_flat * out->ref_slope ||
				/* no recent trend, where Mann–Kendall could
				 * have found one (n = 4 cannot go below 1/24),
				 * or none in the continuation window */
				(out->recent_n >= 5 && !(out->recent_p < prm->alpha_recent)) ||
				(out->cont_n >= 5 && !(out->cont_p < prm->alpha_recent)));
	}
}

/* Every statistic after the sampling model, each step using the ones
 * before: the whole window, noise, jumps, recency, drawdowns, the checks,
 * the detection limit. w holds 2n scratch values. */
static int analyze_series(const lw_growth_input *in, const lw_growth_params *prm,
			  lw_growth_result *out, double inflate, double *w)
{
	int rc = whole_window(in, prm, out, inflate);
	if (rc < 0)
		return rc;
	double med_diff = noise(in, out, w);
	level_change(in, out, w);
	jumps(in, out, med_diff, inflate, w);
	if (!out->screened && (rc = recent_growth(in, prm, out, inflate)) < 0)
		return rc;
	if ((rc = drawdowns(in, prm, out, inflate, w, w + in->n)) < 0)
		return rc;
	checks(in, prm, out, inflate);
	continuing_or_stopped(prm, out);
	out->detectable_slope = detect_slope(in, prm, out, inflate);
	return 0;
}

int lw_growth_analyze(const lw_growth_input *in, const lw_growth_params *prm,
		      lw_growth_result *out)
{
	if (!in || !prm || !out || in->n < 3 || !in->t || !in->y)
		return -EINVAL;
	size_t n = in->n;
	result_init(in, out);
	double *w = malloc(2 * n * sizeof *w);
	if (!w)
		return -ENOMEM;
	double inflate;
	sampling_model(in, out, &inflate);
	if (out->unit > 0)
		out->level_samples = in->y[n - 1] / out->unit;
	int rc = analyze_series(in, prm, out, inflate, w);
	free(w);
	return rc;
}

enum lw_verdict lw_growth_verdict(const lw_growth_result *r,
				  const lw_growth_params *prm)
{
	int strong = !isnan(r->q) && r->q < prm->alpha;
	int weak = !isnan(r->p) && r->p < prm->alpha_weak;
	if (!(r->fit.slope > 0) || !(strong || weak))
		return LW_VERDICT_STABLE;
	/* a sawtooth is judged by its troughs: a floor that climbs is growth,
	 * a floor that holds is a buffer that fills and empties */
	if (r->sawtooth)
		return r->trough_p < prm->alpha_weak && r->material && !r->stopped
			       ? LW_VERDICT_GROWING : LW_VERDICT_STABLE;
	/* a trend whose size is within the noise (the series' own, or a few
	 * samples' worth) is nothing to report: the detection limit says
	 * what the site could have shown */
	if (!r->material)
		return LW_VERDICT_STABLE;
	if (r->stopped)
		return LW_VERDICT_PLATEAU;
	if (strong && r->continuing && r->linear)
		return LW_VERDICT_LEAK;
	return LW_VERDICT_GROWING;
}

int lw_growth_adjust(lw_growth_result *r, size_t n, const lw_growth_params *prm)
{
	if (n == 0)
		return 0;
	double *p = malloc(n * sizeof *p), *q = malloc(n * sizeof *q);
	if (!p || !q) {
		free(p);
		free(q);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		p[i] = r[i].p;
	int rc = lw_stats_bh(p, n, q);
	if (rc == 0)
		for (size_t i = 0; i < n; i++) {
			r[i].q = q[i];
			r[i].verdict = lw_growth_verdict(&r[i], prm);
		}
	free(p);
	free(q);
	return rc;
}

/* ---- one estimate's interval ----------------------------------------------- */

void lw_growth_estimate_ci(double y, int y_is_objects, double samples, double sample_bytes,
			   double rate, double fallback_size, double conf, double *lo,
			   double *hi)
{
	*lo = *hi = y;
	if (!(rate > 1) || !(y >= 0))
		return;
	double s = samples > 0 && sample_bytes > 0 ? sample_bytes / samples
		 : fallback_size > 0 ? fallback_size : 1;
	double p = -expm1(-s / rate);
	if (!(p > 0) || !(1 - p > 1e-12))
		return;
	double unit = y_is_objects ? (1 - p) / p : s * (1 - p) / p;
	double l, h;
	lw_stats_poisson_ci(y / unit, conf, &l, &h);
	*lo = l * unit;
	*hi = h * unit;
}

/* ---- detection limit ----------------------------------------------------- */

/* Smallest rise r that the count test calls growth at level alpha when the
 * traffic is m (equivalent samples): P(Bin(m, 1/2) >= (m + r)/2) < alpha.
 * Exact for small m, normal with continuity correction above (z is the
 * normal quantile 1 - alpha). */
static double count_threshold(double m, double alpha, double z)
{
	if (m <= 40) {
		long mm = lround(m);
		/* tail from the top: P(X >= j) for j = mm, mm - 1, ... */
		double tail = 0, term = pow(0.5, (double)mm);
		long j = mm;
		for (; j >= 0; j--) {
			if (tail + term >= alpha)
				break;
			tail += term;
			/* C(mm, j-1) = C(mm, j) * j / (mm - j + 1) */
			term = term * (double)j / (double)(mm - j + 1);
		}
		/* j + 1 is the smallest count in the rejection region */
		return 2.0 * (double)(j + 1) - (double)mm;
	}
	return z * sqrt(m) + 1;
}

/* Probability that a steady leak adding Poisson(lam) equivalent samples to
 * a window passes the count test at level alpha, on top of the site's own
 * traffic m0 whose net change has variance v0. */
static double count_power(double lam, double m0, double v0, double alpha, double z)
{
	if (!(lam > 0))
		return 0;
	if (lam > 60) {
		double x = count_threshold(m0 + lam, alpha, z);
		return lw_stats_norm_cdf((lam - x) / sqrt(lam + v0));
	}
	double pw = 0, pk = exp(-lam);
	for (long k = 0; k <= (long)(lam + 10 * sqrt(lam) + 20); k++) {
		if (k > 0)
			pk *= lam / (double)k;
		double x = count_threshold(m0 + (double)k, alpha, z);
		double pass = v0 > 0 ? lw_stats_norm_cdf(((double)k - x) / sqrt(v0))
				     : (double)k >= x - 1e-9;
		pw += pk * pass;
	}
	return pw;
}

/* Smallest Poisson mean lam with count_power >= power (bisection on a
 * monotone function; lam is capped at 1e9). */
static double count_needed(double m0, double v0, double alpha, double power)
{
	double lo = 0, hi = 16, z = -lw_stats_norm_quantile(alpha);
	while (count_power(hi, m0, v0, alpha, z) < power) {
		lo = hi;
		hi *= 2;
		if (hi > 1e9)
			return INFINITY;
	}
	for (int i = 0; i < 40 && hi - lo > 1e-3 * hi; i++) {
		double mid = 0.5 * (lo + hi);
		if (count_power(mid, m0, v0, alpha, z) >= power)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

/* Equivalent samples a steady leak must add over the whole window to pass
 * the count tests with probability `power`, given the site's own traffic
 * (m_all over the window, m_cont over the continuation window) and the
 * continuation test's level a_cont. */
static double samples_needed(double m_all, double m_cont, double a_cont,
			     const lw_growth_params *prm)
{
	/* both windows must pass; each is asked for the same power, which is
	 * close to the joint power because the continuation window dominates */
	double whole = count_needed(m_all, m_all / 2, prm->alpha, prm->power);
	double cont = count_needed(m_cont, m_cont / 2, a_cont, prm->power) /
		      prm->cont_frac;
	double need = fmax(whole, cont);
	/* materiality: a rise of c_sampling sd of its own estimate */
	return fmax(need, prm->c_sampling * prm->c_sampling);
}

double lw_growth_min_samples(size_t n, const lw_growth_params *prm)
{
	/* Mann–Kendall needs 5 points to go below 0.01 at all (1/5! = 0.0083),
	 * and the recent windows need 3 of their own */
	if (n < 6)
		return INFINITY;
	return samples_needed(0, 0, prm->alpha_cont, prm);
}

/* The detection limit of a series, in series units per second: the
 * largest of what the sampling noise (count tests), the program noise
 * (Mann–Kendall power, materiality, linearity) and the number of snapshots
 * allow. */
static double detect_slope(const lw_growth_input *in, const lw_growth_params *prm,
			   const lw_growth_result *r, double inflate)
{
	size_t n = in->n;
	if (n < 6 || !(r->span_s > 0))
		return INFINITY;
	double span = r->span_s, lim = 0;
	double za = -lw_stats_norm_quantile(prm->alpha);
	double zc = -lw_stats_norm_quantile(r->cont_alpha > 0 ? r->cont_alpha : prm->alpha_cont);
	double zp = lw_stats_norm_quantile(prm->power);
	/* sampling: a leak of small blocks, judged on counts */
	if (r->unit > 0) {
		double m_all = 0, m_cont = 0, a_cont = prm->alpha_cont;
		if (r->persistent) {
			/* the count tests' own bound on the noise (count_p) */
			size_t cs = window_start(in->t, n, prm->cont_frac);
			m_all = fmin(traffic(in, inflate, 0, n - 1),
				     2 * (in->y[0] + in->y[n - 1]) / r->unit);
			m_cont = fmin(traffic(in, inflate, cs, n - 1),
				      2 * (in->y[cs] + in->y[n - 1]) / r->unit);
			/* a site that frees samples keeps the stricter level
			 * with a leak added (its frees stay) */
			a_cont = cont_alpha(in, prm, cs);
		}
		lim = samples_needed(m_all, m_cont, a_cont, prm) * r->unit / span;
	}
	/* program noise: Mann–Kendall's power against a line in noise of sd
	 * sigma (asymptotic efficiency 0.95 of the slope's t test: the test
	 * statistic is b * span / (sigma sqrt(12/n))), over the whole window
	 * and the continuation window; materiality and linearity ask for a
	 * rise of 2 sd */
	double sigma = r->noise_sd;
	if (sigma > 0) {
		double nc = prm->cont_frac * (double)n;
		double whole = (za + zp) * sigma * sqrt(12.0 / (double)n) / 0.95 / span;
		double cont = (zc + zp) * sigma * sqrt(12.0 / nc) / 0.95 /
			      (prm->cont_frac * span);
		double mat = fmax(prm->c_noise * sigma, prm->c_resid * r->resid_sd) / span;
		lim = fmax(lim, fmax(whole, fmax(cont, mat)));
	}
	return lim;
}
