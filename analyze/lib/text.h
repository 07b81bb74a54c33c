/* text.h — small text primitives every module shares: UTF-8 decoding and
 * display width, the base name of a path, and lower-case hex.
 */
#ifndef LW_TEXT_H
#define LW_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the valid UTF-8 sequence at p and its code point, or 0 if
 * the bytes there are not valid UTF-8 (overlong, surrogate, > U+10FFFF,
 * truncated). p must be NUL-terminated. */
int lw_utf8_seq(const unsigned char *p, uint32_t *cp);
/* Display width in code points (an invalid byte counts as one). */
size_t lw_text_width(const char *s);
/* Byte length of the first `cols` code points of s. */
size_t lw_text_prefix(const char *s, size_t cols);

/* The part of path after its last '/' (path itself when there is none). */
const char *lw_base_name(const char *path);

/* Writes 2n lower-case hex digits of b[0..n) and a NUL into out (2n + 1). */
void lw_hex(const void *b, size_t n, char *out);

#endif
