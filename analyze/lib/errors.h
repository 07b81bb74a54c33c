/* errors.h — the analyzer's error convention.
 *
 * Library code (store, model, symbols, report, heap, lib) never prints: it
 * returns 0 or a negative errno and, where a reason helps, writes a one-line
 * message into a caller's buffer (lw_fail). Only commands (cmd/) print, once,
 * through lw_error: "leakwatch <cmd>: <message>" on stderr, with the file or
 * argument in quotes.
 */
#ifndef LW_ERRORS_H
#define LW_ERRORS_H

#include <stddef.h>

/* Sets the command name used as error prefix ("top", "diff", ...). */
void lw_set_command(const char *name);
/* Prints "leakwatch <cmd>: <message>\n" to stderr, one line, with control
 * characters (from untrusted file names) replaced. */
void lw_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes the message into err (when err and errlen are non-zero) and
 * returns code (a negative errno), so `return lw_fail(err, len, -EIO, ...)`
 * reports and fails in one statement. */
int lw_fail(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
