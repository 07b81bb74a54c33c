/* stats.h — robust trend statistics for short, noisy, irregularly sampled
 * series (Theil–Sen, Mann–Kendall, Benjamini–Hochberg) and the sampling
 * model's tests on counts. The verdict built on them is in trend.h; the
 * method is in docs/GROWTH.md.
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
/* qsort comparator of doubles, ascending (NaN-free input). */
int lw_stats_cmp_double(const void *a, const void *b);
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
struct lw_mk;
/* lw_stats_theil_sen given the Mann–Kendall result of the same data (its
 * variance sets the interval's ranks), which saves computing it again. */
int lw_stats_theil_sen_mk(const double *x, const double *y, size_t n, double conf,
			  const struct lw_mk *mk, lw_ts_fit *out);

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

/* ---- counts -------------------------------------------------------------- */
/* Regularized incomplete beta function I_x(a, b), a, b > 0. */
double lw_stats_beta_inc(double a, double b, double x);
/* Upper tail P(X >= k) of X ~ Binomial(m, pr), extended to real k and m
 * through I_pr(k, m - k + 1) (exact at integers); 1 for k <= 0, 0 for
 * k > m. */
double lw_stats_binom_sf(double k, double m, double pr);

/* Regularized lower incomplete gamma function P(a, x), a > 0. */
double lw_stats_gamma_p(double a, double x);
/* Exact (Garwood) two-sided interval for a Poisson mean given the count k,
 * at level conf; k may be real (an equivalent count). lo = 0 for k = 0. */
void lw_stats_poisson_ci(double k, double conf, double *lo, double *hi);

/* Variance of a Poisson-sampled byte estimate (SPEC: an allocation of size s
 * is sampled with probability 1 - exp(-s/rate) and scaled by 1/p) holding
 * `bytes` in `objects` blocks of equal size: bytes * s * e^(-s/rate) /
 * (1 - e^(-s/rate)) with s = bytes/objects. About rate * bytes for small
 * blocks, ~0 for blocks much larger than rate, 0 when rate <= 1. */
double lw_stats_sampling_var(double bytes, double objects, double rate);

#endif
