/* strbuf.c — growable text buffer with a sticky error (strbuf.h).
 * Invariant: when s != NULL, s[len] == '\0' and len < cap.
 */
#include "strbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

static int reserve(lw_strbuf *b, size_t more)
{
	if (b->err)
		return -1;
	if (b->len + more + 1 <= b->cap)
		return 0;
	if (lw_grow(&b->s, &b->cap, b->len + more + 1, 1) < 0) {
		b->err = -ENOMEM;
		return -1;
	}
	return 0;
}

void lw_strbuf_add(lw_strbuf *b, const void *p, size_t n)
{
	if (reserve(b, n) < 0)
		return;
	if (n)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void lw_strbuf_str(lw_strbuf *b, const char *s)
{
	lw_strbuf_add(b, s ? s : "", s ? strlen(s) : 0);
}

void lw_strbuf_char(lw_strbuf *b, char c)
{
	lw_strbuf_add(b, &c, 1);
}

void lw_strbuf_fmt(lw_strbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = -EINVAL;
		return;
	}
	if ((size_t)n < sizeof(tmp)) {
		lw_strbuf_add(b, tmp, (size_t)n);
		return;
	}
	if (reserve(b, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void lw_strbuf_reset(lw_strbuf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->s)
		b->s[0] = '\0';
}

void lw_strbuf_free(lw_strbuf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

const char *lw_strbuf_cstr(const lw_strbuf *b)
{
	return b->s ? b->s : "";
}
