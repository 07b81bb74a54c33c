/* text.c — UTF-8 decoding and width, base names, hex (text.h). Pure
 * functions. */
#include "text.h"

#include <string.h>

/* ---- UTF-8 ---------------------------------------------------------------- */

int lw_utf8_seq(const unsigned char *p, uint32_t *cp)
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

size_t lw_text_width(const char *s)
{
	size_t w = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t cp;
		int n = lw_utf8_seq(p, &cp);
		p += n ? n : 1;
		w++;
	}
	return w;
}

size_t lw_text_prefix(const char *s, size_t cols)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p && cols > 0) {
		uint32_t cp;
		int n = lw_utf8_seq(p, &cp);
		p += n ? n : 1;
		cols--;
	}
	return (size_t)((const char *)p - s);
}

const char *lw_base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

void lw_hex(const void *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	const unsigned char *p = b;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}
