/* sampler.h — the pure sampling mathematics of leakwatch (no state of its
 * own, no I/O), shared by the shim's allocation paths (core.c) and the
 * statistical unit test (tests/preload/test_sampler.c).
 *
 * Model: allocated bytes form a line; sample points on it are a Poisson
 * process of intensity 1/rate. An allocation of s bytes is sampled iff at
 * least one point falls inside its s bytes, so P(sample) = 1 - exp(-s/rate)
 * for every s (also s > rate), and decisions for different allocations are
 * independent. Implementation: a per-thread countdown = bytes to the next
 * point, drawn as ceil(Exp(mean = rate)); an allocation with size < countdown
 * only subtracts (the fast path); otherwise it is sampled and a fresh
 * countdown is drawn (memorylessness makes that exact: the remainder of the
 * allocation after the point does not need to be consumed).
 * Weight of a sample: w = 1/(1 - exp(-s/rate)) objects and s*w bytes, which
 * makes sums over samples unbiased (Horvitz–Thompson). rate <= 1 means
 * "sample everything" with w = 1.
 *
 * countdown == 0 means "never drawn" (thread state is valid when all-zero).
 */
#ifndef LW_SAMPLER_H
#define LW_SAMPLER_H

#include <stdint.h>

/* splitmix64 step: returns the next 64-bit value and advances *state. */
static inline uint64_t lw_rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ln(x) for finite x > 0 (no libm, errno untouched). */
double lw_sampler_ln(double x);
/* e^x - 1 for x <= 0, precise for small |x| (no libm, errno untouched);
 * 0 for x >= 0 or NaN. */
double lw_sampler_expm1_neg(double x);

/* Draws ceil(Exp(mean = rate)) >= 1 (capped at 2^62). */
uint64_t lw_sampler_draw(uint64_t *rng, uint64_t rate);

/* Weight (objects represented) of a sample of `size` bytes. */
double lw_sampler_weight(uint64_t size, uint64_t rate);

/* Slow-path decision: called when size >= *countdown (or *countdown == 0).
 * Returns 1 if the allocation is sampled; updates *countdown. */
int lw_sampler_take(uint64_t *countdown, uint64_t *rng, uint64_t rate, uint64_t size);

/* The complete per-allocation decision (fast path + slow path), exactly as
 * core.c performs it; used by the unit test. */
static inline int lw_sampler_account(uint64_t *countdown, uint64_t *rng, uint64_t rate,
				     uint64_t size)
{
	if (size < *countdown) {
		*countdown -= size;
		return 0;
	}
	return lw_sampler_take(countdown, rng, rate, size);
}

#endif /* LW_SAMPLER_H */
