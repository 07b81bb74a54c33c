/* stats.h — robust trend statistics for short, noisy, irregularly sampled
 * series, and the growth verdict built on them (method: docs/GROWTH.md).
 *
 * Pure computation: no I/O, no globals except a lazily built cache of exact
 * Mann–Kendall null distributions (not thread-safe; the analyzer is
 * single-threaded). Randomness (the fast Theil–Sen selection) uses a fixed
 * seed derived from the input size, so every result is deterministic.
 * Functions return 0, or a negative errno (-EINVAL bad input, -ENOMEM).
 */
#ifndef LW_STATS_H
#define LW_STATS_H

#include <stddef.h>
#include <stdint.h>

/* ---- basic helpers ------------------------------------------------------ */
double lw_stats_norm_cdf(double z);            /* Phi(z) */
double lw_stats_norm_sf(double z);             /* 1 - Phi(z), accurate in the tail */
double lw_stats_norm_quantile(double p);       /* Phi^-1(p), 0 < p < 1 */
/* Median of v[0..n) (mean of the two middle values for even n); reorders v.
 * NAN for n == 0. */
double lw_stats_median(double *v, size_t n);
/* 1.4826 * median absolute deviation from the median: a robust standard
 * deviation (equal to sigma for Gaussian data). Reorders v. */
double lw_stats_robust_sd(double *v, size_t n);

/* ---- Theil–Sen ---------------------------------------------------------- */
/* Number of pairs (i, j) with x_i != x_j (the pairs that define a slope). */
uint64_t lw_stats_pair_count(const double *x, size_t n);
/* Order statistics of the pairwise slopes (y_j - y_i) / (x_j - x_i) over
 * pairs with x_i != x_j. ranks[] are 0-based (0 = smallest), each
 * < lw_stats_pair_count(); out[i] receives the slope of rank ranks[i].
 * Exact: O(n^2) enumeration for small n, otherwise an expected
 * O(n log n + n^1.5) randomized bracketing (fixed seed; see GROWTH.md). */
int lw_stats_slope_select(const double *x, const double *y, size_t n,
			  const uint64_t *ranks, size_t n_ranks, double *out);
/* Brute-force reference (always O(n^2)), for tests. */
int lw_stats_slope_select_naive(const double *x, const double *y, size_t n,
				const uint64_t *ranks, size_t n_ranks,
				double *out);

typedef struct lw_ts_fit {
	double slope;           /* median pairwise slope; NAN if no pair */
	double intercept;       /* median of y - slope * x */
	double ci_lo, ci_hi;    /* Sen's distribution-free interval for slope */
	double conf;            /* its two-sided confidence level */
	uint64_t n_pairs;
} lw_ts_fit;
/* Theil–Sen fit. conf in (0,1) gives the interval (0 skips it: ci = NAN). */
int lw_stats_theil_sen(const double *x, const double *y, size_t n,
		       double conf, lw_ts_fit *out);

/* ---- Mann–Kendall ------------------------------------------------------- */
typedef struct lw_mk {
	double s;               /* sum over pairs of sign(dx) * sign(dy) */
	double var_s;           /* null variance, corrected for ties in x and y */
	double z;               /* normal score with continuity correction */
	double p_up;            /* one-sided p-value for an increasing trend */
	int exact;              /* 1 if p_up is from the exact null distribution */
} lw_mk;
/* O(n log n). Exact p for n <= LW_MK_EXACT_MAX without ties; otherwise the
 * normal approximation. A series with var_s == 0 (all x or all y tied)
 * has p_up = 1. */
#define LW_MK_EXACT_MAX 60
int lw_stats_mann_kendall(const double *x, const double *y, size_t n,
			  lw_mk *out);
/* Brute-force S (O(n^2)), for tests. */
double lw_stats_mk_s_naive(const double *x, const double *y, size_t n);

/* Benjamini–Hochberg adjusted p-values (q-values): q[i] for p[i]. NAN
 * entries are not hypotheses (they get q = NAN and do not count in m). */
int lw_stats_bh(const double *p, size_t n, double *q);

/* Variance of a Poisson-sampled byte estimate (SPEC: an allocation of size s
 * is sampled with probability 1 - exp(-s/rate) and scaled by 1/p) holding
 * `bytes` in `objects` blocks of equal size: bytes * s * e^(-s/rate) /
 * (1 - e^(-s/rate)) with s = bytes/objects. About rate * bytes for small
 * blocks, ~0 for blocks much larger than rate, 0 when rate <= 1. */
double lw_stats_sampling_var(double bytes, double objects, double rate);

/* ---- growth verdict ------------------------------------------------------ */
enum lw_verdict { LW_VERDICT_LEAK = 0, LW_VERDICT_GROWING, LW_VERDICT_PLATEAU,
		  LW_VERDICT_STABLE };
const char *lw_verdict_name(enum lw_verdict v);

typedef struct lw_growth_params {
	double alpha;           /* false discovery rate for "leak" (BH q) */
	double alpha_weak;      /* raw p below which a trend counts as "growing" */
	double conf;            /* slope interval level */
	double recent_frac;     /* recent window: last fraction of the time span */
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
} lw_growth_params;
void lw_growth_params_default(lw_growth_params *p);

typedef struct lw_growth_input {
	size_t n;
	const double *t;        /* seconds, strictly increasing preferred */
	const double *y;        /* the series (bytes or objects) */
	const double *y_bytes;  /* inuse bytes for the sampling model (may be NULL) */
	const double *objects;  /* inuse objects for the sampling model (may be NULL) */
	const double *rate;     /* sample rate per point (may be NULL: no model) */
	int y_is_objects;       /* y counts objects (model variance / size^2) */
} lw_growth_input;

typedef struct lw_growth_result {
	size_t n;
	double span_s;          /* t[n-1] - t[0] */
	lw_mk mk;
	lw_ts_fit fit;          /* whole window */
	double p;               /* = mk.p_up, or NAN when not testable */
	double q;               /* BH-adjusted p, filled by lw_growth_adjust() */
	double rise;            /* fit.slope * span_s */
	double rise_level;      /* median of the last tenth - median of the first */
	double noise_sd;        /* diff_sd / sqrt(2): per-point noise */
	double resid_sd;        /* robust sd of residuals from the fit */
	double diff_sd;         /* robust sd of first differences */
	double sampling_sd;     /* model sd of the rise's own sampled estimate */
	double range;           /* max - min */
	double last;            /* y[n-1] */
	/* recency */
	int staircase;          /* growth mostly in a few jumps */
	int n_jumps;
	double gap_s;           /* staircase: mean time between jumps */
	double flat_s;          /* staircase: time since the last jump */
	double recent_s;        /* length of the recent window */
	double recent_slope;    /* Theil–Sen slope over the recent window */
	double recent_p;        /* Mann–Kendall p (increase) over the recent window */
	double ref_slope;       /* max of whole-window, pre-recent and first-third slopes */
	int n_drawdowns;
	/* decisions */
	int screened;           /* p too large for any verdict but stable: no
	                         * interval, no recency (those fields NAN) */
	int material;           /* rise_level beyond noise and sampling noise */
	int linear;             /* rise beyond the residual spread of the fit */
	int sawtooth, continuing, stopped;
	enum lw_verdict verdict;
} lw_growth_result;

/* Per-series statistics (everything but q and the verdict). */
int lw_growth_analyze(const lw_growth_input *in, const lw_growth_params *prm,
		      lw_growth_result *out);
/* Benjamini–Hochberg over the p of all results, then the verdict of each. */
int lw_growth_adjust(lw_growth_result *r, size_t n, const lw_growth_params *prm);
/* The verdict of one result given its q (used by lw_growth_adjust). */
enum lw_verdict lw_growth_verdict(const lw_growth_result *r,
				  const lw_growth_params *prm);

#endif
