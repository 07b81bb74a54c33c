/* lw_varint.h — the one unsigned LEB128 codec of the project: the .lwd
 * format's varints (dump/) and protobuf's base-128 varints in the pprof
 * export (analyze/report/pprof.c) are the same encoding.
 *
 * Header-only, no allocation, no locks: safe in the shim. At most 10 bytes
 * for 64 bits; the decoder rejects longer or overflowing encodings.
 */
#ifndef LW_VARINT_H
#define LW_VARINT_H

#include <stddef.h>
#include <stdint.h>

static inline size_t lw_varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static inline size_t lw_varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Decodes one varint from p[0..left): bytes used, or 0 when it runs past
 * `left`, is longer than 10 bytes or overflows 64 bits. */
static inline size_t lw_varint_get(const uint8_t *p, uint64_t left, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < 10 && i < left; i++) {
		uint64_t b = p[i] & 0x7f;

		if (i == 9 && b > 1)
			return 0;
		v |= b << (7 * i);
		if (!(p[i] & 0x80)) {
			*out = v;
			return i + 1;
		}
	}
	return 0;
}

#endif /* LW_VARINT_H */
