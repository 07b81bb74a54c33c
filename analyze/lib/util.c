/* util.c — output helpers shared by every command (see util.h): the error
 * line, human units, argument parsing, an aligned text table, a JSON writer,
 * a terminal progress bar and POSIX regexes.
 *
 * Invariants: nothing here allocates on the error path of a command beyond
 * what it frees; JSON output is always valid UTF-8 (invalid input bytes
 * become U+FFFD) with every control character escaped; table widths count
 * UTF-8 code points, not bytes. Single-threaded (the analyzer is).
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* ---- errors -------------------------------------------------------------- */

static char command_name[64];

void lw_set_command(const char *name)
{
	snprintf(command_name, sizeof(command_name), "%s", name ? name : "");
}

void lw_error(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One line, and no terminal control sequences from file contents
	 * (paths and names in messages come from untrusted files). */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = *p == '\n' || *p == '\t' ? ' ' : '?';
	if (command_name[0])
		fprintf(stderr, "leakwatch %s: %s\n", command_name, msg);
	else
		fprintf(stderr, "leakwatch: %s\n", msg);
}

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

/* ---- UTF-8 ---------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1..4) and its code point, or 0
 * if the bytes at p are not valid UTF-8 (overlong, surrogate, > U+10FFFF,
 * truncated). */
static int utf8_seq(const unsigned char *p, uint32_t *cp)
{
	unsigned char c = p[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	int n;
	uint32_t v, min;
	if ((c & 0xe0) == 0xc0) { n = 2; v = c & 0x1f; min = 0x80; }
	else if ((c & 0xf0) == 0xe0) { n = 3; v = c & 0x0f; min = 0x800; }
	else if ((c & 0xf8) == 0xf0) { n = 4; v = c & 0x07; min = 0x10000; }
	else return 0;
	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

/* Display width in code points (invalid bytes count one each). */
static size_t text_width(const char *s)
{
	size_t w = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t cp;
		int n = utf8_seq(p, &cp);
		p += n ? n : 1;
		w++;
	}
	return w;
}

/* Byte length of the first `cols` code points of s. */
static size_t prefix_bytes(const char *s, size_t cols)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p && cols > 0) {
		uint32_t cp;
		int n = utf8_seq(p, &cp);
		p += n ? n : 1;
		cols--;
	}
	return (size_t)((const char *)p - s);
}

/* ---- table ---------------------------------------------------------------- */

struct lw_table {
	size_t n_cols;
	char **titles;
	int *right;
	char **cells;            /* row-major */
	size_t n_cells, cap_cells;
};

lw_table *lw_table_new(void)
{
	return calloc(1, sizeof(lw_table));
}

void lw_table_col(lw_table *t, const char *title, int right_align)
{
	if (!t)
		return;
	char **nt = realloc(t->titles, (t->n_cols + 1) * sizeof(*nt));
	if (!nt)
		return;
	t->titles = nt;
	int *nr = realloc(t->right, (t->n_cols + 1) * sizeof(*nr));
	if (!nr)
		return;
	t->right = nr;
	t->titles[t->n_cols] = strdup(title ? title : "");
	t->right[t->n_cols] = right_align;
	t->n_cols++;
}

void lw_table_cell(lw_table *t, const char *text)
{
	if (!t || t->n_cols == 0)
		return;
	if (t->n_cells == t->cap_cells) {
		size_t ncap = t->cap_cells ? t->cap_cells * 2 : 64;
		char **n = realloc(t->cells, ncap * sizeof(*n));
		if (!n)
			return;
		t->cells = n;
		t->cap_cells = ncap;
	}
	t->cells[t->n_cells++] = strdup(text ? text : "");
}

static void put_cell(FILE *out, const char *text, size_t width, int right, int last,
		     size_t limit)
{
	const char *s = text ? text : "";
	size_t w = text_width(s);
	if (limit && w > limit) {
		/* Truncate with an ellipsis marker so the cut is visible. */
		size_t keep = limit > 3 ? limit - 3 : limit;
		fwrite(s, 1, prefix_bytes(s, keep), out);
		if (limit > 3)
			fputs("...", out);
		return;
	}
	if (right)
		for (size_t i = w; i < width; i++)
			fputc(' ', out);
	fputs(s, out);
	if (!right && !last)
		for (size_t i = w; i < width; i++)
			fputc(' ', out);
}

void lw_table_print(lw_table *t, FILE *out, int width)
{
	if (!t || t->n_cols == 0)
		return;
	size_t nc = t->n_cols;
	size_t n_rows = (t->n_cells + nc - 1) / nc;
	size_t *w = calloc(nc, sizeof(*w));
	if (!w)
		return;
	for (size_t c = 0; c < nc; c++)
		w[c] = text_width(t->titles[c] ? t->titles[c] : "");
	for (size_t i = 0; i < t->n_cells; i++) {
		size_t tw = text_width(t->cells[i] ? t->cells[i] : "");
		if (tw > w[i % nc])
			w[i % nc] = tw;
	}
	/* Columns are separated by two spaces; the last column gets what is
	 * left of `width` (at least 12 columns, or it is not truncated). */
	size_t offset_last = 0;
	for (size_t c = 0; c + 1 < nc; c++)
		offset_last += w[c] + 2;
	size_t limit = 0;
	if (width > 0 && !t->right[nc - 1] && offset_last + w[nc - 1] > (size_t)width &&
	    offset_last + 12 <= (size_t)width)
		limit = (size_t)width - offset_last;
	for (size_t r = 0; r <= n_rows; r++) {
		for (size_t c = 0; c < nc; c++) {
			const char *text;
			if (r == 0) {
				text = t->titles[c];
			} else {
				size_t i = (r - 1) * nc + c;
				text = i < t->n_cells ? t->cells[i] : "";
			}
			int last = c + 1 == nc;
			put_cell(out, text, w[c], t->right[c], last, last ? limit : 0);
			if (!last)
				fputs("  ", out);
		}
		fputc('\n', out);
	}
	free(w);
}

void lw_table_free(lw_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_cols; i++)
		free(t->titles[i]);
	for (size_t i = 0; i < t->n_cells; i++)
		free(t->cells[i]);
	free(t->titles);
	free(t->right);
	free(t->cells);
	free(t);
}

int lw_term_width(void)
{
	struct winsize ws;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

/* ---- JSON ----------------------------------------------------------------- */

struct lw_json {
	FILE *out;
	int depth;
	size_t cap;
	unsigned char *first;   /* per open level: no element written yet */
	char *closer;           /* per open level: '}' or ']' */
	int after_key;          /* a key was written, its value comes next */
};

lw_json *lw_json_new(FILE *out)
{
	lw_json *j = calloc(1, sizeof(*j));
	if (j)
		j->out = out;
	return j;
}

static void json_indent(lw_json *j)
{
	fputc('\n', j->out);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->out);
}

/* Called before every value or key: comma and indentation. */
static void json_sep(lw_json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->depth > 0) {
		if (!j->first[j->depth - 1])
			fputc(',', j->out);
		j->first[j->depth - 1] = 0;
		json_indent(j);
	}
}

static void json_open(lw_json *j, char open, char close)
{
	json_sep(j);
	if ((size_t)j->depth == j->cap) {
		size_t ncap = j->cap ? j->cap * 2 : 16;
		unsigned char *f = realloc(j->first, ncap);
		if (!f)
			abort();   /* cannot keep the document well-formed */
		j->first = f;
		char *c = realloc(j->closer, ncap);
		if (!c)
			abort();
		j->closer = c;
		j->cap = ncap;
	}
	fputc(open, j->out);
	j->first[j->depth] = 1;
	j->closer[j->depth] = close;
	j->depth++;
}

static void json_close(lw_json *j)
{
	if (j->depth <= 0)
		return;
	int empty = j->first[j->depth - 1];
	char c = j->closer[j->depth - 1];
	j->depth--;
	if (!empty)
		json_indent(j);
	fputc(c, j->out);
}

void lw_json_obj_begin(lw_json *j) { json_open(j, '{', '}'); }
void lw_json_obj_end(lw_json *j) { json_close(j); }
void lw_json_arr_begin(lw_json *j) { json_open(j, '[', ']'); }
void lw_json_arr_end(lw_json *j) { json_close(j); }
static void json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	fputc('"', out);
	while (*p) {
		uint32_t cp;
		int n = utf8_seq(p, &cp);
		if (n == 0) {
			fputs("\\ufffd", out);
			p++;
			continue;
		}
		if (n == 1) {
			switch (cp) {
			case '"': fputs("\\\"", out); break;
			case '\\': fputs("\\\\", out); break;
			case '\n': fputs("\\n", out); break;
			case '\r': fputs("\\r", out); break;
			case '\t': fputs("\\t", out); break;
			case '\b': fputs("\\b", out); break;
			case '\f': fputs("\\f", out); break;
			default:
				if (cp < 0x20 || cp == 0x7f)
					fprintf(out, "\\u%04x", (unsigned)cp);
				else
					fputc((int)cp, out);
			}
		} else if (cp == 0x2028 || cp == 0x2029) {
			/* valid JSON, but not valid JavaScript: escape anyway */
			fprintf(out, "\\u%04x", (unsigned)cp);
		} else {
			fwrite(p, 1, (size_t)n, out);
		}
		p += n;
	}
	fputc('"', out);
}

void lw_json_key(lw_json *j, const char *key)
{
	json_sep(j);
	json_string(j->out, key ? key : "");
	fputs(": ", j->out);
	j->after_key = 1;
}

void lw_json_str(lw_json *j, const char *s)
{
	json_sep(j);
	if (s)
		json_string(j->out, s);
	else
		fputs("null", j->out);
}

void lw_json_int(lw_json *j, int64_t v)
{
	json_sep(j);
	fprintf(j->out, "%lld", (long long)v);
}

void lw_json_num(lw_json *j, double v)
{
	json_sep(j);
	if (!isfinite(v)) {
		fputs("null", j->out);
		return;
	}
	if (v == 0) {
		fputs("0", j->out);   /* also for -0 */
		return;
	}
	/* Shortest of %.15g / %.17g that reads back exactly. */
	char buf[64];
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	fputs(buf, j->out);
}

void lw_json_bool(lw_json *j, int v)
{
	json_sep(j);
	fputs(v ? "true" : "false", j->out);
}

void lw_json_null(lw_json *j)
{
	json_sep(j);
	fputs("null", j->out);
}

void lw_json_raw(lw_json *j, const char *text, size_t len)
{
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	json_sep(j);
	fwrite(text, 1, len, j->out);
}

void lw_json_finish(lw_json *j)
{
	if (!j)
		return;
	while (j->depth > 0)
		json_close(j);
	fputc('\n', j->out);
	fflush(j->out);
	free(j->first);
	free(j->closer);
	free(j);
}

/* ---- progress --------------------------------------------------------------- */

struct lw_progress {
	char what[64];
	size_t total;
	int tty;
	double last;             /* monotonic seconds of the last redraw */
	int drawn;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

lw_progress *lw_progress_new(const char *what, size_t total)
{
	lw_progress *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	snprintf(p->what, sizeof(p->what), "%s", what ? what : "");
	p->total = total;
	p->tty = isatty(STDERR_FILENO);
	p->last = -1;
	return p;
}

void lw_progress_update(lw_progress *p, size_t done)
{
	if (!p || !p->tty)
		return;
	double t = now_s();
	if (p->drawn && t - p->last < 0.1 && done < p->total)
		return;
	p->last = t;
	p->drawn = 1;
	const int bar = 30;
	int fill = p->total ? (int)((double)done / (double)p->total * bar) : bar;
	if (fill > bar)
		fill = bar;
	char line[128];
	int k = 0;
	for (; k < fill; k++)
		line[k] = '#';
	for (; k < bar; k++)
		line[k] = '.';
	line[k] = '\0';
	fprintf(stderr, "\r%s [%s] %zu/%zu", p->what, line, done, p->total);
	fflush(stderr);
}

void lw_progress_done(lw_progress *p)
{
	if (!p)
		return;
	if (p->tty && p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	free(p);
}

/* ---- regex ----------------------------------------------------------------- */

struct lw_regex {
	regex_t re;
};

lw_regex *lw_regex_new(const char *pattern, char *err, size_t errlen)
{
	lw_regex *r = calloc(1, sizeof(*r));
	if (!r) {
		if (errlen)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	int rc = regcomp(&r->re, pattern ? pattern : "", REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		if (errlen) {
			char msg[256];
			regerror(rc, &r->re, msg, sizeof(msg));
			snprintf(err, errlen, "bad regular expression: %s", msg);
		}
		free(r);
		return NULL;
	}
	return r;
}

int lw_regex_match(const lw_regex *r, const char *text)
{
	return r && regexec(&r->re, text ? text : "", 0, NULL, 0) == 0;
}

void lw_regex_free(lw_regex *r)
{
	if (!r)
		return;
	regfree(&r->re);
	free(r);
}

int lw_opt_error(int c, char *const *argv, int next_arg, void (*usage)(FILE *out))
{
	if (c == ':') {
		lw_error("'%s': missing argument", argv[next_arg - 1]);
		return 2;
	}
	lw_error("'%s': unknown option", argv[next_arg - 1]);
	usage(stderr);
	return 2;
}
