/* sampler.c — exponential draws and sample weights (see sampler.h for the
 * model). Pure functions of their arguments; no locks; called on the
 * allocation slow path with the reentrancy guard held.
 */
#include "sampler.h"

#include <errno.h>
#include <math.h>

uint64_t lw_sampler_draw(uint64_t *rng, uint64_t rate)
{
	/* U uniform in (0, 1]: 53 random bits, +1 so that log(U) is finite. */
	double u = (double)((lw_rng_next(rng) >> 11) + 1) * 0x1.0p-53;
	int e = errno;                    /* log() may set errno on some libms */
	double x = -log(u) * (double)rate;
	errno = e;
	if (!(x < 4.0e18))
		return (uint64_t)1 << 62;
	uint64_t c = (uint64_t)ceil(x);
	return c == 0 ? 1 : c;
}

double lw_sampler_weight(uint64_t size, uint64_t rate)
{
	if (rate <= 1 || size == 0)
		return 1.0;
	int e = errno;
	double p = -expm1(-(double)size / (double)rate);   /* 1 - exp(-s/R), precise for small s */
	errno = e;
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
