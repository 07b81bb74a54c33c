/* trend.h — the growth verdict of one time series, and how small a steady
 * growth it could have seen (method: docs/GROWTH.md).
 *
 * A series is one site in one process: its in-use estimate at each snapshot
 * and, when known, the sampled blocks behind the estimate. Sampling noise is
 * judged on those sampled counts (Poisson), never on the estimates alone, so
 * a site that rests on a handful of samples cannot look like steady growth.
 *
 * Pure computation on top of stats.h: no I/O, no globals. Functions return
 * 0 or a negative errno (-EINVAL bad input, -ENOMEM).
 */
#ifndef LW_TREND_H
#define LW_TREND_H

#include <stddef.h>

#include "stats.h"

enum lw_verdict { LW_VERDICT_LEAK = 0, LW_VERDICT_GROWING, LW_VERDICT_PLATEAU,
		  LW_VERDICT_STABLE };
#define LW_N_VERDICTS 4
const char *lw_verdict_name(enum lw_verdict v);

typedef struct lw_growth_params {
	double alpha;           /* false discovery rate for "leak" (BH q) */
	double alpha_weak;      /* raw p below which a trend counts as "growing" */
	double conf;            /* slope interval level */
	double recent_frac;     /* recent window: last fraction of the time span */
	double cont_frac;       /* continuation window: last fraction of the span */
	double alpha_cont;      /* continuing: growth in the continuation window
	                         * beyond sampling noise at this level */
	double alpha_cont_churn; /* ... the same when the window also frees samples */
	double alpha_stop;      /* stopped: growth concentrated early at this level */
	double rho_continue;    /* recent slope >= rho_continue * reference: still growing */
	double rho_flat;        /* recent slope < rho_flat * reference: flat ... */
	double alpha_recent;    /* ... or no recent trend at this level (one-sided MK) */
	double k_gap;           /* staircase: flat for >= k_gap mean step gaps = stopped */
	int min_steps;          /* staircase: steps needed to call it a leak */
	double c_noise;         /* material: level rise >= c_noise * per-point noise sd */
	double c_resid;         /* leak: fitted rise >= c_resid * robust residual sd */
	double c_sampling;      /* material: rise >= c_sampling * sampling sd of the rise */
	double dd_frac;         /* drawdown: drop >= dd_frac * range ... */
	double dd_noise;        /* ... and >= dd_noise * robust sd of differences */
	int dd_min;             /* drawdowns that make a sawtooth */
	double power;           /* detection limit: probability of `leak` it promises */
} lw_growth_params;
void lw_growth_params_default(lw_growth_params *p);

/* One series. t and y are required; everything else may be NULL, and the
 * sampling model falls back from sampled counts to the estimates' mean
 * block size, and to "exact" (no sampling noise) without a rate. */
typedef struct lw_growth_input {
	size_t n;
	const double *t;             /* seconds, increasing */
	const double *y;             /* the series judged: bytes or objects */
	int y_is_objects;            /* y counts objects */
	const double *rate;          /* LEAKWATCH_RATE at each point (latest used) */
	const double *samples;       /* sampled blocks live at each point */
	const double *sample_bytes;  /* their requested bytes */
	const double *alloc_samples; /* cumulative sampled allocations */
	const double *free_samples;  /* cumulative sampled frees */
	const double *y_bytes;       /* in-use bytes estimate (fallback model) */
	const double *objects;       /* in-use objects estimate (fallback model) */
} lw_growth_input;

typedef struct lw_growth_result {
	size_t n;
	double span_s;          /* t[n-1] - t[0] */
	lw_mk mk;
	lw_ts_fit fit;          /* whole window */
	double p_trend;         /* Mann–Kendall one-sided p (NAN: not testable) */
	double p_count;         /* sampled counts: rise beyond Poisson noise */
	double p;               /* max(p_trend, p_count): the site's p-value */
	double q;               /* BH-adjusted p, filled by lw_growth_adjust() */
	double rise;            /* fit.slope * span_s */
	double rise_level;      /* median of the last tenth - median of the first */
	double noise_sd;        /* diff_sd / sqrt(2): per-point noise */
	double resid_sd;        /* robust sd of residuals from the fit */
	double diff_sd;         /* robust sd of first differences */
	double sampling_sd;     /* model sd of the rise's own sampled estimate */
	double range;           /* max - min */
	double last;            /* y[n-1] */
	/* sampling model */
	double unit;            /* series units per equivalent sample (0 = exact) */
	double grain;           /* series units one sampled block stands for */
	double sample_size;     /* mean sampled block size, bytes (0 if unknown) */
	int persistent;         /* samples outlive snapshots: counts are judged */
	int sampling_noise;     /* the series' noise is the sampler's (Poisson) */
	double level_samples;   /* equivalent samples at the latest point */
	/* recency */
	int staircase;          /* growth mostly in a few jumps */
	int n_jumps;
	double gap_s;           /* staircase: mean time between jumps */
	double flat_s;          /* staircase: time since the last jump */
	double shift_t;         /* time of the last level shift (NAN: none) */
	double recent_s;        /* length of the recent window */
	size_t recent_n;        /* its points */
	double recent_slope;    /* Theil–Sen slope over the recent window */
	double recent_p;        /* Mann–Kendall p (increase) over the recent window */
	double ref_slope;       /* max of whole-window, pre-recent and first-third slopes */
	double cont_p;          /* growth in the continuation window (counts and MK) */
	double cont_count_p;    /* its count test alone (0 for exact series) */
	double cont_alpha;      /* the level it was held to (alpha_cont or _churn) */
	size_t cont_n;          /* points in the continuation window */
	double stop_p;          /* growth as steady as observed is this unlikely */
	int n_drawdowns;
	double trough_p;        /* sawtooth: one-sided MK p of the troughs */
	/* decisions */
	int screened;           /* p too large for any verdict but stable: no
	                         * interval, no recency (those fields NAN) */
	int material;           /* rise_level beyond noise and sampling noise */
	int linear;             /* rise beyond the residual spread of the fit */
	int sawtooth, continuing, stopped;
	enum lw_verdict verdict;
	/* detection limit: the smallest steady growth, in series units per
	 * second, that this series' noise, window and rate would let through as
	 * `leak` with probability prm->power (NAN: not enough snapshots) */
	double detectable_slope;
} lw_growth_result;

/* Per-series statistics (everything but q and the verdict). */
int lw_growth_analyze(const lw_growth_input *in, const lw_growth_params *prm,
		      lw_growth_result *out);
/* Benjamini–Hochberg over the p of all results, then the verdict of each. */
int lw_growth_adjust(lw_growth_result *r, size_t n, const lw_growth_params *prm);
/* The verdict of one result given its q (used by lw_growth_adjust). */
enum lw_verdict lw_growth_verdict(const lw_growth_result *r,
				  const lw_growth_params *prm);

/* Confidence interval (level conf) of one in-use estimate y made of
 * `samples` sampled blocks of `sample_bytes` requested bytes at `rate`
 * (y_is_objects: y counts objects, else bytes). The estimate in
 * equivalent samples is a Poisson count: the interval is Garwood's, scaled
 * back (docs/GROWTH.md, Accuracy). Exact ([y, y]) at rate 1, about as
 * narrow as 1 - p for blocks sampled with p near 1; with no sample, [0,
 * upper] for blocks of fallback_size bytes (0: 1-byte blocks). */
void lw_growth_estimate_ci(double y, int y_is_objects, double samples, double sample_bytes,
			   double rate, double fallback_size, double conf, double *lo,
			   double *hi);

/* Detection limit of a series with no growth of its own: equivalent samples
 * a steady leak must add over a window of n snapshots to read `leak` with
 * probability prm->power (see docs/GROWTH.md, "Detection limit"). Infinity
 * when n is too small for any verdict but stable. */
double lw_growth_min_samples(size_t n, const lw_growth_params *prm);

#endif
