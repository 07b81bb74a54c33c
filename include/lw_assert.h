/* lw_assert.h — asserts in three tiers, shared by the shim and the analyzer
 * (an internal header: not part of the public API).
 *
 *   LW_CHECK(c)            always compiled, release builds too: a condition
 *                          whose failure would let bad state spread (corrupt
 *                          a file, a table, the host's memory).
 *   LW_ASSERT(c)           LW_ASSERT_LEVEL >= 1: cheap O(1) checks.
 *   LW_ASSERT_EXPENSIVE(c) LW_ASSERT_LEVEL >= 2: whole-structure invariant
 *                          walkers (a CSR graph, the store's counts, the
 *                          shim's tables), typically O(n) per call.
 *
 * The level comes from meson's `assert_level` option (0 release, 1 cheap,
 * 2 expensive; default 1); `scripts/test.sh` builds the unit suites at 2.
 * A condition of a disabled tier is not evaluated (it must not have side
 * effects), but it is still compiled, so it cannot rot.
 *
 * Failure prints one line, "leakwatch: assertion failed: COND (FILE:LINE,
 * FUNC)", with write(2) on fd 2 and calls abort(). No stdio, no malloc, no
 * locks, no errno dependence: usable in the shim's allocation paths, in
 * signal handlers and in a forked child.
 */
#ifndef LW_ASSERT_H
#define LW_ASSERT_H

#include <stdlib.h>
#include <unistd.h>

#ifndef LW_ASSERT_LEVEL
#ifdef NDEBUG
#define LW_ASSERT_LEVEL 0
#else
#define LW_ASSERT_LEVEL 1
#endif
#endif

__attribute__((noreturn, cold, noinline, unused))
static void lw_assert_fail(const char *cond, const char *file, int line, const char *func)
{
	char buf[768];
	size_t n = 0;
	const char *parts[] = { "leakwatch: assertion failed: ", cond, " (", file, ":" };
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		for (const char *p = parts[i]; *p && n < sizeof(buf) - 48; p++)
			buf[n++] = *p;
	char num[16];
	size_t k = 0;
	unsigned u = line > 0 ? (unsigned)line : 0;
	do {
		num[k++] = (char)('0' + u % 10);
		u /= 10;
	} while (u && k < sizeof(num));
	while (k)
		buf[n++] = num[--k];
	buf[n++] = ',';
	buf[n++] = ' ';
	for (const char *p = func; *p && n < sizeof(buf) - 3; p++)
		buf[n++] = *p;
	buf[n++] = ')';
	buf[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, buf, n);
	(void)w;
	abort();
}

#define LW_ASSERT_TIER_(on, c) \
	do { \
		if ((on) && __builtin_expect(!(c), 0)) \
			lw_assert_fail(#c, __FILE__, __LINE__, __func__); \
	} while (0)

#define LW_CHECK(c) LW_ASSERT_TIER_(1, c)
#define LW_ASSERT(c) LW_ASSERT_TIER_(LW_ASSERT_LEVEL >= 1, c)
#define LW_ASSERT_EXPENSIVE(c) LW_ASSERT_TIER_(LW_ASSERT_LEVEL >= 2, c)
/* True when the expensive tier is compiled in (to guard walker setup). */
#define LW_EXPENSIVE (LW_ASSERT_LEVEL >= 2)

#endif
