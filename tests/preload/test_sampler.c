/* test_sampler.c — statistical test of preload/sampler.c (suite unit).
 *
 * Simulates the shim's exact per-allocation decision (lw_sampler_account)
 * over millions of allocations of mixed sizes — tiny (8..64 B), around the
 * rate (rate/2..2*rate) and far above it (16*rate..256*rate) — and checks
 * that the Horvitz–Thompson estimates (objects = sum of w, bytes = sum of
 * s*w over samples) are within 5 standard deviations of the truth.
 *
 * The decisions for distinct allocations are independent Bernoulli(p_i),
 * p_i = 1 - exp(-s_i/rate) (Poisson points on the byte line), so
 *   Var(bytes_est)   = sum s_i^2 (1 - p_i) / p_i
 *   Var(objects_est) = sum (1 - p_i) / p_i
 * computed exactly from the simulated sizes. Confidence: by the CLT each
 * check fails by chance with probability ~5.7e-7 (two-sided 5 sigma); the
 * seeds are fixed, so the test is deterministic. It also checks the sampling
 * probability for s = 3*rate against 1 - e^-3 (binomial, 5 sigma), the
 * rate <= 1 mode (every allocation, weight 1), and that a known-biased
 * estimator (each sample counts `rate` bytes, as naive samplers do) is
 * REJECTED by the same 5-sigma check, proving the test has power.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sampler.h"
#include "../check.h"

/* One estimate against the truth: a line for the log, a check. */
static void check_estimate(int ok, const char *what, double est, double truth, double sigma)
{
	printf("%-52s est %.6g truth %.6g sigma %.4g z %+.2f %s\n", what, est, truth, sigma,
	       sigma > 0 ? (est - truth) / sigma : 0.0, ok ? "ok" : "FAIL");
	check(ok, what);
}

enum mix { TINY, NEAR, HUGE_, MIXED };

static uint64_t draw_size(uint64_t *r, enum mix m, uint64_t rate)
{
	uint64_t x = lw_rng_next(r);
	if (m == MIXED)
		m = (enum mix)(x % 3), x >>= 2;
	switch (m) {
	case TINY:
		return 8 + x % 57;
	case NEAR:
		return rate / 2 + x % (rate + rate / 2 + 1);
	default:
		return 16 * rate + x % (240 * rate + 1);
	}
}

struct result {
	double bytes_est, obj_est, naive_bytes;
	double bytes_true, obj_true, var_bytes, var_obj;
};

static struct result simulate(uint64_t seed, enum mix m, uint64_t rate, long n)
{
	struct result res = { 0 };
	uint64_t size_rng = seed * 7919 + 1, rng = seed, countdown = 0;
	for (long i = 0; i < n; i++) {
		uint64_t s = draw_size(&size_rng, m, rate);
		double p = -expm1(-(double)s / (double)rate);
		res.bytes_true += (double)s;
		res.obj_true += 1;
		res.var_bytes += (double)s * (double)s * (1 - p) / p;
		res.var_obj += (1 - p) / p;
		if (lw_sampler_account(&countdown, &rng, rate, s)) {
			double w = lw_sampler_weight(s, rate);
			res.bytes_est += w * (double)s;
			res.obj_est += w;
			res.naive_bytes += (double)rate;
		}
	}
	return res;
}

/* The shim's own ln and expm1 (sampler.c; no libm in the shim) against
 * libm's, in ulp-scale relative error: ln over (0, 1] where the draws live
 * (every binade, subnormals, 1 itself) and beyond, expm1 over [-800, 0]
 * with the small arguments a weight sees (size / rate down to 1e-18). */
static void check_math(void)
{
	double worst_ln = 0, worst_em = 0;
	uint64_t r = 7;
	for (int i = 0; i < 2000000; i++) {
		double u = (double)((lw_rng_next(&r) >> 11) + 1) * 0x1.0p-53;
		double scale = ldexp(1.0, -(int)(lw_rng_next(&r) % 1100));
		double xs[] = { u, u * scale, 1.0 / u };
		for (int j = 0; j < 3; j++) {
			double x = xs[j];
			if (!(x > 0))
				continue;
			double want = log(x), got = lw_sampler_ln(x);
			double err = fabs(got - want) / (fabs(want) > 1e-300 ? fabs(want) : 1e-300);
			if (want == 0)
				err = fabs(got);
			if (err > worst_ln)
				worst_ln = err;
		}
		double y = -800.0 * u * u * u;
		if (i % 3 == 0)
			y = -ldexp(u, -(int)(lw_rng_next(&r) % 60));
		double want = expm1(y), got = lw_sampler_expm1_neg(y);
		double err = want == 0 ? fabs(got) : fabs(got - want) / fabs(want);
		if (err > worst_em)
			worst_em = err;
	}
	printf("ln worst relative error %.3g, expm1 %.3g (bound 1e-14)\n", worst_ln, worst_em);
	check(worst_ln < 1e-14, "lw_sampler_ln agrees with libm's log");
	check(worst_em < 1e-14, "lw_sampler_expm1_neg agrees with libm's expm1");
	check(lw_sampler_ln(1.0) == 0.0, "ln(1) is exactly 0");
	check(lw_sampler_expm1_neg(0.0) == 0.0 && lw_sampler_expm1_neg(-1e4) == -1.0,
	      "expm1 at 0 and far below");
	double tiny = lw_sampler_expm1_neg(-1e-18);
	check(tiny == -1e-18, "expm1 of a tiny argument is the argument");
}

int main(void)
{
	check_math();
	static const char *names[] = { "tiny", "near-rate", "much-larger", "mixed" };
	const uint64_t rates[] = { 4096, 524288 };
	const uint64_t seeds[] = { 1, 42, 4242 };
	char what[128];

	for (size_t ri = 0; ri < 2; ri++)
		for (int m = TINY; m <= MIXED; m++)
			for (size_t si = 0; si < 3; si++) {
				long n = rates[ri] == 4096 ? 400000 : 200000;
				if (m == TINY && rates[ri] > 4096)
					n = 4000000;   /* tiny blocks need many draws */
				struct result r = simulate(seeds[si], (enum mix)m, rates[ri], n);
				double sb = sqrt(r.var_bytes), so = sqrt(r.var_obj);
				snprintf(what, sizeof(what), "rate %llu %s seed %llu bytes",
					 (unsigned long long)rates[ri], names[m],
					 (unsigned long long)seeds[si]);
				check_estimate(fabs(r.bytes_est - r.bytes_true) <= 5 * sb, what, r.bytes_est,
				      r.bytes_true, sb);
				snprintf(what, sizeof(what), "rate %llu %s seed %llu objects",
					 (unsigned long long)rates[ri], names[m],
					 (unsigned long long)seeds[si]);
				check_estimate(fabs(r.obj_est - r.obj_true) <= 5 * so, what, r.obj_est,
				      r.obj_true, so);
				if (m == HUGE_) {
					/* power: the naive estimator must be rejected */
					snprintf(what, sizeof(what), "  naive estimator rejected (%s)",
						 names[m]);
					check_estimate(fabs(r.naive_bytes - r.bytes_true) > 5 * sb, what,
					      r.naive_bytes, r.bytes_true, sb);
				}
			}

	/* P(sample) for s = 3 * rate is exactly 1 - e^-3 (also s > rate). */
	{
		uint64_t rate = 1000, rng = 99, countdown = 0;
		long n = 1000000, hits = 0;
		for (long i = 0; i < n; i++)
			hits += lw_sampler_account(&countdown, &rng, rate, 3 * rate);
		double p = 1 - exp(-3.0), sigma = sqrt(n * p * (1 - p));
		check_estimate(fabs(hits - n * p) <= 5 * sigma, "P(sample | s = 3 rate) * n", (double)hits,
		      n * p, sigma);
	}

	/* rate <= 1: every allocation, weight exactly 1 */
	{
		uint64_t rng = 5, countdown = 0;
		long taken = 0;
		for (long i = 0; i < 10000; i++)
			taken += lw_sampler_account(&countdown, &rng, 1, (uint64_t)(i % 100));
		check_estimate(taken == 10000 && lw_sampler_weight(12345, 1) == 1.0, "rate 1: all sampled",
		      (double)taken, 10000, 0);
	}

	/* draws are >= 1 and have mean ~rate */
	{
		uint64_t rng = 77, rate = 524288;
		double sum = 0;
		int n = 200000, bad = 0;
		for (int i = 0; i < n; i++) {
			uint64_t d = lw_sampler_draw(&rng, rate);
			bad |= d == 0;
			sum += (double)d;
		}
		double sigma = (double)rate / sqrt(n);   /* sd of Exp is its mean */
		check_estimate(!bad && fabs(sum / n - (double)rate) <= 5 * sigma, "mean of exponential draws",
		      sum / n, (double)rate, sigma);
	}

	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
