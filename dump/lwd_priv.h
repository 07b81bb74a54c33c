/* lwd_priv.h — internals shared by the files of dump/ (never included
 * outside it): byte-order helpers, the reader's private
 * state, the header encoder and the temporary-file steps of lw_publish.
 *
 * Everything here is safe in the shim (no malloc, no stdio, no locks) except
 * the reader part (lw_file_priv and the parse entry points), which allocates.
 */
#ifndef LWD_PRIV_H
#define LWD_PRIV_H

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "lw_varint.h"
#include "lwd.h"

/* ---- little-endian loads and stores (byte-wise: no alignment needed) ---- */
static inline uint16_t lw_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t lw_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t lw_rd64(const uint8_t *p)
{
	return (uint64_t)lw_rd32(p) | (uint64_t)lw_rd32(p + 4) << 32;
}

static inline void lw_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void lw_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void lw_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A refusal is one line: a string from the file (a name, a path) quoted in
 * a message may hold any byte, so control bytes become '?' in place. */
static inline void lw_msg_oneline(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static inline uint64_t lw_zigzag(uint64_t d)
{
	return (d << 1) ^ (uint64_t)-(int64_t)(d >> 63);
}

static inline uint64_t lw_unzigzag(uint64_t z)
{
	return (z >> 1) ^ (uint64_t)-(int64_t)(z & 1);
}

/* ---- writing --------------------------------------------------------------- */
/* The 64-byte file header (also the start of a stack file). */
void lw_header_encode(uint8_t h[LWD_HEADER_SIZE], uint32_t kind, uint64_t run_id, uint64_t seq);

/* The steps of an atomic publish, shared by lw_publish and stack files:
 * lw_tmp_create makes an unnamed file in dirfd (O_TMPFILE, when the file
 * system and /proc allow linking it later) or ".tmp-<name>" (O_EXCL,
 * O_NOFOLLOW); lw_tmp_commit fsyncs and closes it, gives it `name` (linkat,
 * or renameat for a named temporary) and fsyncs the directory;
 * lw_tmp_abort closes and removes it. Each returns 0 or -errno and sets
 * *step on failure. An unnamed temporary disappears by itself if the
 * process dies before the commit. */
struct lw_tmp {
	int fd;
	int anon;                 /* 1: O_TMPFILE, no name yet */
	int named;                /* 1: `name` exists (after the link/rename) */
	char tmp[NAME_MAX + 1];   /* ".tmp-<name>" when !anon */
};
int lw_tmp_create(const lw_io *io, int dirfd, const char *name, struct lw_tmp *t,
		  const char **step);
int lw_tmp_commit(const lw_io *io, int dirfd, const char *name, struct lw_tmp *t,
		  const char **step);
void lw_tmp_abort(const lw_io *io, int dirfd, const char *name, struct lw_tmp *t);

/* ---- reading --------------------------------------------------------------- */
#define LW_SEC_MAX_KNOWN 22   /* highest non-END section type we know */

typedef struct lw_sec_loc {
	uint64_t hdr;     /* file offset of the section header; 0 = absent */
	uint64_t off;     /* payload offset */
	uint64_t len;     /* payload length */
	uint32_t count, flags;
} lw_sec_loc;

typedef struct lw_file_priv {
	uint8_t *bytes;   /* our copy of the whole file */
	size_t len;
	lw_sec_loc sec[LW_SEC_MAX_KNOWN + 1];
	uint64_t *pcs;    /* all stack frames, decoded (own STACKS or the stack base) */
	uint32_t n_stacks_used;   /* STACKS count, or STACK_BASE n_stacks */
	/* CCOUNTERS as stored: stack ids and wire values (differences from the
	 * keyframe when the file has a COUNTER_BASE) */
	uint32_t n_cc;
	uint32_t *cc_stack;
	uint64_t *cc_wire;        /* LWD_CC_FIELDS per record */
	uint32_t cc_crc;          /* the CCOUNTERS section's CRC */
	lw_base_ref refs[2];
	uint32_t exe_module;      /* as stored, before resolution */
	size_t n_counters_ready;  /* counters made at parse, shown once resolved */
	uint8_t *adopted;         /* the keyframe's bytes when its modules are used */
} lw_file_priv;

/* Writes a one-line message (if err/errlen) and returns code. */
__attribute__((format(printf, 4, 5)))
int lw_msg_fail(char *err, size_t errlen, int code, const char *fmt, ...);
/* Parses one file alone (lwd_reader.c); takes ownership of bytes. */
int lw_parse_owned(uint8_t *bytes, size_t len, lw_file **out, char *err, size_t errlen);
/* Checks a stack-file prefix (header + whole chunks, exactly len bytes) and
 * decodes its stacks: *stacks and *pcs are malloc'd (n_stacks entries /
 * all frames). Errors name the offset in that file. */
int lw_parse_stackfile(const uint8_t *p, size_t len, uint64_t run_id, uint64_t seq,
		       uint32_t n_stacks, lw_stack **stacks, uint64_t **pcs,
		       char *err, size_t errlen);
/* Fills the public counters of f from its wire values and (may be NULL) the
 * keyframe's, checking every estimate (lwd_cc.c). */
int lw_cc_materialize(lw_file *f, const lw_file_priv *key, char *err, size_t errlen);

#endif /* LWD_PRIV_H */
