/* check.h — the checks of every C and C++ test program.
 *
 *   CHECK(cond);                       counts and reports a failure, carries on
 *   CHECK(cond, "got %d", x);          ... with a printf-style explanation
 *   CHECK_STR(got, want);              string equality, both shown on failure
 *   FAIL("bad %s", x);                 a failure found by other means
 *   check(ok, "what");                 the same as a function, for a message
 *                                      made at run time
 *   failures                           how many checks failed so far
 *   return check_finish();             prints "ok" or "N failures"; exit code
 *
 * A failure prints "FILE:LINE: FAIL cond: explanation" on stderr. Checks do
 * not stop the test, so one run shows every broken expectation. Nothing here
 * allocates; usable in programs that run under the shim.
 */
#ifndef LW_TEST_CHECK_H
#define LW_TEST_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int failures;

__attribute__((format(printf, 5, 6), unused))
static int check_fail_(int ok, const char *expr, const char *file, int line,
		       const char *fmt, ...)
{
	if (ok)
		return 1;
	failures++;
	fprintf(stderr, "%s:%d: FAIL %s", file, line, expr);
	if (fmt && strcmp(fmt, ": ") != 0) {   /* ": " alone: no explanation */
		va_list ap;
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
	return 0;
}

/* The explanation is optional: ": " glues to its format string. */
#define CHECK(cond, ...) check_fail_(!!(cond), #cond, __FILE__, __LINE__, ": " __VA_ARGS__)

#define FAIL(...) check_fail_(0, "check", __FILE__, __LINE__, ": " __VA_ARGS__)

#define CHECK_STR(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	check_fail_(g_ && w_ && strcmp(g_, w_) == 0, #got " == " #want, __FILE__, __LINE__, \
		    ": got \"%s\", want \"%s\"", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
} while (0)

__attribute__((unused))
static int check(int ok, const char *what)
{
	if (!ok) {
		failures++;
		fprintf(stderr, "FAIL %s\n", what);
	}
	return ok;
}

__attribute__((unused))
static int check_finish(void)
{
	if (failures) {
		fprintf(stderr, "%d failure%s\n", failures, failures == 1 ? "" : "s");
		return 1;
	}
	printf("ok\n");
	return 0;
}

#endif
