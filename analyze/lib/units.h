/* units.h — numbers for people: binary byte units, counts, rates,
 * percentages, durations and clocks; and the parsers of such arguments.
 * Each formatter writes into buf (always NUL-terminated) and returns it;
 * non-finite input prints "?" (percent: "-").
 */
#ifndef LW_UNITS_H
#define LW_UNITS_H

#include <stddef.h>
#include <stdint.h>

const char *lw_fmt_bytes(double bytes, char *buf, size_t len);       /* "12.3 MiB", "512 B" */
const char *lw_fmt_sbytes(double bytes, char *buf, size_t len);      /* signed: "+1.5 KiB", "-20 B" */
const char *lw_fmt_rate(double bytes_per_s, char *buf, size_t len);  /* "1.2 KiB/s" or "3.4 MiB/h" */
const char *lw_fmt_count(double n, char *buf, size_t len);           /* "1234", "1.2M" */
const char *lw_fmt_pct(double frac, char *buf, size_t len);          /* "12.3%" */
const char *lw_fmt_duration(double seconds, char *buf, size_t len);  /* "1.5s", "2m03s", "1h02m" */
const char *lw_fmt_clock(double seconds, char *buf, size_t len);     /* "HH:MM:SS" */

/* Parses a count or size: decimal digits with an optional binary suffix
 * (k, K, KiB, m, M, MiB, g, G, GiB). Returns 0, or -1 if not one. */
int lw_parse_u64(const char *s, uint64_t *out);
/* Parses a finite decimal number (no leading space). Returns 0 or -1. */
int lw_parse_double(const char *s, double *out);

#endif
