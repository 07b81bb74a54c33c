/* lwd_test.h — helpers shared by the dump/ unit tests (header-only).
 *
 * Role: build .lwd files in memory (memfd + the real writer), locate and
 * patch sections, recompute CRCs, and a CHECK macro that counts failures.
 * Only for tests: uses stdio and aborts on setup errors.
 */
#ifndef LWD_TEST_H
#define LWD_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lwd.h"
#include "../check.h"

static inline void lwt_die(const char *what)
{
	perror(what);
	exit(99);   /* meson: hard error */
}

static inline void lwt_wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void lwt_wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void lwt_wr64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t lwt_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t lwt_rd64(const uint8_t *p)
{
	return (uint64_t)lwt_rd32(p) | (uint64_t)lwt_rd32(p + 4) << 32;
}

/* Reads the whole content of fd (from offset 0) into a malloc'd buffer. */
static inline uint8_t *lwt_slurp_fd(int fd, size_t *len)
{
	struct stat st;
	uint8_t *b;

	if (fstat(fd, &st) < 0)
		lwt_die("fstat");
	b = malloc((size_t)st.st_size + 1);
	if (!b)
		lwt_die("malloc");
	if (pread(fd, b, (size_t)st.st_size, 0) != st.st_size)
		lwt_die("pread");
	*len = (size_t)st.st_size;
	return b;
}

/* Writes a complete file through io with a staging buffer of `cap` bytes.
 * Returns the writer status; on success *out and *len hold the bytes. */
static inline int lwt_build_io(const lw_io *io, size_t cap, uint32_t kind,
			       lw_fill_fn fill, void *arg, uint8_t **out, size_t *len)
{
	lw_writer w;
	uint8_t *buf = malloc(cap);
	int fd = memfd_create("lwt", MFD_CLOEXEC), rc;

	if (fd < 0 || !buf)
		lwt_die("memfd_create");
	rc = lw_writer_begin(&w, io, fd, buf, cap, kind, 0x1122334455667788ull, 42);
	if (!rc)
		rc = fill(&w, arg);
	if (!rc)
		rc = lw_writer_finish(&w);
	*out = NULL;
	*len = 0;
	if (!rc)
		*out = lwt_slurp_fd(fd, len);
	free(buf);
	close(fd);
	return rc;
}

static inline uint8_t *lwt_build(uint32_t kind, lw_fill_fn fill, void *arg, size_t *len)
{
	uint8_t *b;
	int rc = lwt_build_io(&lw_io_system, 4096, kind, fill, arg, &b, len);

	if (rc) {
		fprintf(stderr, "lwt_build: writer failed: %d\n", rc);
		exit(99);
	}
	return b;
}

/* Offset of the header of the n-th (0-based) section of `type`, or -1. */
static inline long lwt_find(const uint8_t *b, size_t len, uint32_t type, int nth)
{
	size_t off = LWD_HEADER_SIZE;

	while (off + LWD_SECTION_HEADER_SIZE <= len) {
		uint64_t plen = lwt_rd64(b + off + 8);

		if (lwt_rd32(b + off) == type && nth-- == 0)
			return (long)off;
		if (plen > len)
			break;
		off += LWD_SECTION_HEADER_SIZE + ((plen + 7) & ~(uint64_t)7);
	}
	return -1;
}

static inline long lwt_must_find(const uint8_t *b, size_t len, uint32_t type)
{
	long o = lwt_find(b, len, type, 0);

	if (o < 0) {
		fprintf(stderr, "test file has no section %u\n", type);
		exit(99);
	}
	return o;
}

/* Recomputes the payload CRC of the section whose header is at hdr. */
static inline void lwt_fix_crc(uint8_t *b, long hdr)
{
	uint64_t plen = lwt_rd64(b + hdr + 8);

	lwt_wr32(b + hdr + 20, lw_crc32(0, b + hdr + LWD_SECTION_HEADER_SIZE, (size_t)plen));
}

static inline void lwt_fix_header_crc(uint8_t *b)
{
	lwt_wr32(b + 60, lw_crc32(0, b, 60));
}

#endif /* LWD_TEST_H */
