/* lwd_crc.c — CRC-32 with the zlib polynomial (reflected 0xEDB88320).
 *
 * Role: checksums for the .lwd header and every section payload.
 * Invariants: the tables are const data (lwd_crc_table.h), so the function
 * touches no mutable state: async-signal-safe, fork-safe, lock-free, callable
 * from the shim's writer thread, a forked child or a signal handler.
 * Hot path: every byte a writer emits and a reader accepts goes through
 * lw_crc32 (it was 60% of a 74 MB round trip when byte-at-a-time), so the bulk
 * runs "slicing-by-8": eight table lookups per 8 input bytes. Input bytes are
 * assembled with shifts, which is endian-independent and needs no alignment
 * (compilers turn it into one load on x86-64).
 */
#include "lwd.h"

#include "lwd_crc_table.h"

static uint32_t lw_crc_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Async-signal-safe; safe in a forked child; no locks. */
uint32_t lw_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	crc = ~crc;
	while (len >= 8) {
		uint32_t a = crc ^ lw_crc_le32(p);
		uint32_t b = lw_crc_le32(p + 4);

		crc = lw_crc_tab[7][a & 0xffu] ^ lw_crc_tab[6][(a >> 8) & 0xffu] ^
		      lw_crc_tab[5][(a >> 16) & 0xffu] ^ lw_crc_tab[4][a >> 24] ^
		      lw_crc_tab[3][b & 0xffu] ^ lw_crc_tab[2][(b >> 8) & 0xffu] ^
		      lw_crc_tab[1][(b >> 16) & 0xffu] ^ lw_crc_tab[0][b >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = lw_crc_tab[0][(crc ^ *p++) & 0xffu] ^ (crc >> 8);
	return ~crc;
}
