/* units.c — human units and their parsers (units.h). Pure functions. */
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- human units ----------------------------------------------------------- */

static const char *const byte_units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

/* Writes |bytes| with a binary unit, no sign. */
static void fmt_abs_bytes(double a, char *buf, size_t len)
{
	if (!isfinite(a)) {
		snprintf(buf, len, "?");
		return;
	}
	if (a < 1024) {
		snprintf(buf, len, "%.0f B", a);
		return;
	}
	size_t u = 0;
	while (a >= 1024 && u + 1 < sizeof(byte_units) / sizeof(byte_units[0])) {
		a /= 1024;
		u++;
	}
	/* 1023.95 KiB would print as "1024.0 KiB": move up a unit instead. */
	if (a >= 1023.95 && u + 1 < sizeof(byte_units) / sizeof(byte_units[0])) {
		a /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", a, byte_units[u]);
}

const char *lw_fmt_bytes(double bytes, char *buf, size_t len)
{
	if (bytes < 0 && isfinite(bytes)) {
		char tmp[32];
		fmt_abs_bytes(-bytes, tmp, sizeof(tmp));
		if (strcmp(tmp, "0 B") == 0)
			snprintf(buf, len, "0 B");
		else
			snprintf(buf, len, "-%s", tmp);
	} else {
		fmt_abs_bytes(bytes, buf, len);
	}
	return buf;
}

const char *lw_fmt_sbytes(double bytes, char *buf, size_t len)
{
	char tmp[32];
	fmt_abs_bytes(fabs(bytes), tmp, sizeof(tmp));
	if (strcmp(tmp, "0 B") == 0 || !isfinite(bytes))
		snprintf(buf, len, "%s", tmp);
	else
		snprintf(buf, len, "%c%s", bytes < 0 ? '-' : '+', tmp);
	return buf;
}

const char *lw_fmt_rate(double bytes_per_s, char *buf, size_t len)
{
	char tmp[32];
	double a = fabs(bytes_per_s);
	const char *sign = bytes_per_s < 0 ? "-" : "";
	if (!isfinite(bytes_per_s)) {
		snprintf(buf, len, "?");
	} else if (a == 0) {
		snprintf(buf, len, "0 B/s");
	} else if (a >= 10) {
		fmt_abs_bytes(a, tmp, sizeof(tmp));
		snprintf(buf, len, "%s%s/s", sign, tmp);
	} else {
		/* Slow leaks read better per hour. */
		fmt_abs_bytes(a * 3600, tmp, sizeof(tmp));
		snprintf(buf, len, "%s%s/h", strcmp(tmp, "0 B") ? sign : "", tmp);
	}
	return buf;
}

const char *lw_fmt_count(double n, char *buf, size_t len)
{
	double a = fabs(n);
	const char *sign = n < 0 ? "-" : "";
	if (!isfinite(n))
		snprintf(buf, len, "?");
	else if (a < 9999.5)
		snprintf(buf, len, "%s%.0f", a < 0.5 ? "" : sign, a);
	else if (a < 999950)
		snprintf(buf, len, "%s%.1fk", sign, a / 1e3);
	else if (a < 999950000)
		snprintf(buf, len, "%s%.1fM", sign, a / 1e6);
	else
		snprintf(buf, len, "%s%.1fG", sign, a / 1e9);
	return buf;
}

const char *lw_fmt_pct(double frac, char *buf, size_t len)
{
	if (!isfinite(frac))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1f%%", frac * 100.0 + 0.0);
	return buf;
}

const char *lw_fmt_duration(double seconds, char *buf, size_t len)
{
	if (!isfinite(seconds) || seconds < 0) {
		snprintf(buf, len, "?");
		return buf;
	}
	if (seconds < 60) {
		snprintf(buf, len, "%.1fs", seconds);
		if (strcmp(buf, "60.0s") != 0)
			return buf;
	}
	uint64_t s = (uint64_t)llround(seconds);
	if (s < 3600)
		snprintf(buf, len, "%um%02us", (unsigned)(s / 60), (unsigned)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%uh%02um", (unsigned)(s / 3600), (unsigned)(s % 3600 / 60));
	else
		snprintf(buf, len, "%llud%02uh", (unsigned long long)(s / 86400),
			 (unsigned)(s % 86400 / 3600));
	return buf;
}

const char *lw_fmt_clock(double seconds, char *buf, size_t len)
{
	if (!isfinite(seconds) || seconds < 0)
		seconds = 0;
	uint64_t s = (uint64_t)(seconds + 0.5);
	snprintf(buf, len, "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64, s / 3600, s / 60 % 60, s % 60);
	return buf;
}

int lw_parse_u64(const char *s, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	uint64_t mult = 1;
	if (*end) {
		static const struct { const char *suffix; uint64_t mult; } sfx[] = {
			{ "k", 1ULL << 10 }, { "K", 1ULL << 10 }, { "KiB", 1ULL << 10 },
			{ "m", 1ULL << 20 }, { "M", 1ULL << 20 }, { "MiB", 1ULL << 20 },
			{ "g", 1ULL << 30 }, { "G", 1ULL << 30 }, { "GiB", 1ULL << 30 },
		};
		size_t i;
		for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
			if (strcmp(end, sfx[i].suffix) == 0)
				break;
		if (i == sizeof(sfx) / sizeof(sfx[0]))
			return -1;
		mult = sfx[i].mult;
	}
	if (v > UINT64_MAX / mult)
		return -1;
	*out = (uint64_t)v * mult;
	return 0;
}

int lw_parse_double(const char *s, double *out)
{
	if (!s || !*s || isspace((unsigned char)s[0]))
		return -1;
	errno = 0;
	char *end;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}
