/* sampler.c — exponential draws and sample weights (see sampler.h for the
 * model). Pure functions of their arguments; no locks; called on the
 * allocation slow path with the reentrancy guard held.
 *
 * The two transcendental functions the model needs, ln and expm1, are
 * computed here rather than taken from libm: the shim then does not load
 * libm.so.6 into every process (about 0.3 ms of a short process's start-up
 * on the reference host), and errno is untouched by construction. Both are
 * accurate to a few ulp over the ranges used (sampler.h; checked against
 * libm by tests/preload/test_sampler.c), far below the statistical error
 * of any estimate built from the samples.
 */
#include "sampler.h"

#include <stdint.h>
#include <string.h>

#define LW_LN2 0.69314718055994530942

/* ln(x) for finite x > 0: x = m * 2^k with m in [sqrt(1/2), sqrt(2)), then
 * ln(m) = 2 atanh(t), t = (m - 1)/(m + 1), |t| <= 0.1716, by its odd series
 * (t^2 <= 0.0295: 12 terms leave a relative error below 1e-18). */
double lw_sampler_ln(double x)
{
	uint64_t b;
	memcpy(&b, &x, sizeof b);
	int k = (int)((b >> 52) & 0x7ff);
	if (k == 0) {                    /* subnormal: scale into the normal range */
		x *= 0x1.0p64;
		memcpy(&b, &x, sizeof b);
		k = (int)((b >> 52) & 0x7ff) - 64;
	}
	k -= 1023;
	b = (b & ((1ull << 52) - 1)) | (1023ull << 52);   /* m in [1, 2) */
	double m;
	memcpy(&m, &b, sizeof m);
	if (m > 1.41421356237309504880) {
		m *= 0.5;
		k++;
	}
	/* 1/j for j = 23, 21, ..., 3 (Horner from the highest power) */
	static const double inv_odd[] = {
		1.0 / 23, 1.0 / 21, 1.0 / 19, 1.0 / 17, 1.0 / 15, 1.0 / 13,
		1.0 / 11, 1.0 / 9,  1.0 / 7,  1.0 / 5,  1.0 / 3,
	};
	double t = (m - 1.0) / (m + 1.0), t2 = t * t;
	double sum = 0.0;
	for (size_t j = 0; j < sizeof(inv_odd) / sizeof(inv_odd[0]); j++)
		sum = (sum + inv_odd[j]) * t2;
	return (double)k * LW_LN2 + 2.0 * t * (1.0 + sum);
}

/* 1/j! for j = 18 down to 1: the Taylor coefficients of e^x - 1. */
static const double inv_fact[] = {
	1.0 / 6402373705728000.0, 1.0 / 355687428096000.0, 1.0 / 20922789888000.0,
	1.0 / 1307674368000.0, 1.0 / 87178291200.0, 1.0 / 6227020800.0, 1.0 / 479001600.0,
	1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0,
	1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 1.0 / 2.0, 1.0,
};
#define LW_N_FACT (sizeof(inv_fact) / sizeof(inv_fact[0]))

/* e^x - 1 for |x| < 1/2 by its Taylor series, Horner from the highest
 * term kept: all 18 (x^19/19! < 1e-22 there), or the last 6 when
 * |x| < 2^-9 (x^7/7! is below 1e-20 of the result then), the usual case
 * for a weight (a block far smaller than the rate). No division. */
static double expm1_series(double x)
{
	size_t first = (x > -0x1.0p-9 && x < 0x1.0p-9) ? LW_N_FACT - 6 : 0;
	double p = 0.0;
	for (size_t j = first; j < LW_N_FACT; j++)
		p = (p + inv_fact[j]) * x;
	return p;
}

/* e^x - 1 for x <= 0: the series above for |x| < 1/2; below, e^x = 2^k e^r
 * with |r| <= ln2/2 by the same series, minus 1 (no cancellation: the
 * result is below -0.39). */
double lw_sampler_expm1_neg(double x)
{
	if (!(x < 0.0))
		return 0.0;
	if (x > -0.5)
		return expm1_series(x);
	if (x < -745.0)
		return -1.0;
	double v = x / LW_LN2 + 0.5;
	int k = (int)v;                     /* floor(v), v in [-1075, -0.2) */
	if ((double)k > v)
		k--;
	double r = x - (double)k * LW_LN2;
	double e = expm1_series(r) + 1.0;   /* e^r */
	while (k < -1000) {
		e *= 0x1.0p-1000;
		k += 1000;
	}
	uint64_t sb = (uint64_t)(k + 1023) << 52;
	double scale;
	memcpy(&scale, &sb, sizeof scale);
	return e * scale - 1.0;
}

uint64_t lw_sampler_draw(uint64_t *rng, uint64_t rate)
{
	/* U uniform in (0, 1]: 53 random bits, +1 so that log(U) is finite. */
	double u = (double)((lw_rng_next(rng) >> 11) + 1) * 0x1.0p-53;
	double x = -lw_sampler_ln(u) * (double)rate;
	if (!(x < 4.0e18))
		return (uint64_t)1 << 62;
	uint64_t c = (uint64_t)x;
	if ((double)c < x)
		c++;                          /* ceil: x < 4e18 fits */
	return c == 0 ? 1 : c;
}

double lw_sampler_weight(uint64_t size, uint64_t rate)
{
	if (rate <= 1 || size == 0)
		return 1.0;
	double p = -lw_sampler_expm1_neg(-(double)size / (double)rate);   /* 1 - exp(-s/R), precise for small s */
	return p > 0.0 ? 1.0 / p : 1.0;
}

int lw_sampler_take(uint64_t *countdown, uint64_t *rng, uint64_t rate, uint64_t size)
{
	if (rate <= 1) {
		*countdown = 0;   /* keeps every allocation on the slow path */
		return 1;
	}
	if (*countdown == 0) {
		/* first allocation of this thread (or after a rate change) */
		*countdown = lw_sampler_draw(rng, rate);
		if (size < *countdown) {
			*countdown -= size;
			return 0;
		}
	}
	*countdown = lw_sampler_draw(rng, rate);
	return 1;
}
