/* test_unwind_fp.c — chain functions built WITH frame pointers (see
 * test_unwind.c). */
#include <alloca.h>
#include <string.h>

#include "test_unwind.h"

uint64_t tu_fp_small(int depth, uint64_t seed)
{
	volatile uint64_t local[3] = { seed, seed >> 7, seed >> 13 };
	uint64_t r = tu_next(depth - 1, seed * 6364136223846793005ull + 1442695040888963407ull);
	return r + local[0] + local[2];
}

uint64_t tu_fp_alloca(int depth, uint64_t seed)
{
	size_t n = 16 + (size_t)(seed >> 40) % 700;
	volatile unsigned char *buf = alloca(n);
	buf[0] = (unsigned char)seed;
	buf[n - 1] = (unsigned char)(seed >> 8);
	uint64_t r = tu_next(depth - 1, seed * 2862933555777941757ull + 3037000493ull);
	return r + buf[0] + buf[n - 1];
}
