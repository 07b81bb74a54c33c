/* test_unwind_nofp.c — chain functions built WITHOUT frame pointers (rbp
 * is a general register here), see test_unwind.c. */
#include <alloca.h>
#include <string.h>

#include "test_unwind.h"

uint64_t tu_nofp_small(int depth, uint64_t seed)
{
	uint64_t a = seed ^ 0x1234, b = seed >> 3, c = seed * 7, d = seed + 99;
	uint64_t r = tu_next(depth - 1, seed * 3935559000370003845ull + 2691343689449507681ull);
	return r + a * b + c * d;   /* callee-saved registers live across the call */
}

uint64_t tu_nofp_big(int depth, uint64_t seed)
{
	volatile uint64_t big[300];
	big[seed % 300] = seed;
	big[(seed >> 9) % 300] = depth;
	uint64_t r = tu_next(depth - 1, seed * 6364136223846793005ull + 1ull);
	return r + big[seed % 300];
}

uint64_t tu_nofp_alloca(int depth, uint64_t seed)
{
	size_t n = 8 + (size_t)(seed >> 33) % 3000;
	volatile unsigned char *buf = alloca(n);
	buf[0] = 1;
	buf[n - 1] = 2;
	uint64_t r = tu_next(depth - 1, seed * 1103515245ull + 12345ull);
	return r + buf[0] + buf[n - 1];
}
