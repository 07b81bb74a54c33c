/* json.c — streaming JSON writer (json.h). Keeps one "first element" flag
 * and one closer per open level; a key sets after_key so its value is not
 * preceded by a comma. Nesting depth grows on the heap; running out of
 * memory there aborts, since a half-written document cannot be repaired.
 */
#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

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
		int n = lw_utf8_seq(p, &cp);
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
