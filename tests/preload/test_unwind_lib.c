/* test_unwind_lib.c — the dlopen'd chain library of test_unwind.c, built
 * twice (TU_VARIANT 1 and 2) with the same code layout but different frame
 * sizes, so that the second, loaded where the first was, has different
 * frame rules at the same return addresses. */
#include <stdint.h>

#include "test_unwind.h"

#ifndef TU_VARIANT
#error TU_VARIANT must be defined
#endif

uint64_t tu_lib_rec(tu_next_fn next, int depth, uint64_t seed);

uint64_t tu_lib_rec(tu_next_fn next, int depth, uint64_t seed)
{
	volatile uint64_t pad[TU_VARIANT * 6];
	pad[0] = seed;
	pad[TU_VARIANT * 6 - 1] = (uint64_t)depth;
	uint64_t r;
	if (depth > 1 && (seed & 3) == 0)
		r = tu_lib_rec(next, depth - 1, seed * 6364136223846793005ull + 7);
	else
		r = next(depth - 1, seed * 6364136223846793005ull + 3);
	return r + pad[0] + pad[TU_VARIANT * 6 - 1];
}
