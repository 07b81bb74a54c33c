/* strbuf.h — a growable, always NUL-terminated text buffer for composing
 * keys and labels of unbounded length.
 *
 * Errors are sticky: after an allocation failure every call is a no-op and
 * `err` is -ENOMEM, so a caller checks once at the end. An all-zero
 * lw_strbuf is an empty buffer; lw_strbuf_reset keeps the memory for reuse.
 */
#ifndef LW_STRBUF_H
#define LW_STRBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct lw_strbuf {
	char *s;                 /* NULL until the first byte is added */
	size_t len, cap;
	int err;
} lw_strbuf;

void lw_strbuf_add(lw_strbuf *b, const void *p, size_t n);
void lw_strbuf_str(lw_strbuf *b, const char *s);
void lw_strbuf_char(lw_strbuf *b, char c);
void lw_strbuf_fmt(lw_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empties the buffer (keeps its memory and clears the error). */
void lw_strbuf_reset(lw_strbuf *b);
void lw_strbuf_free(lw_strbuf *b);
/* The text ("" when empty). */
const char *lw_strbuf_cstr(const lw_strbuf *b);

#endif
