/* lwd_reader.c — parse and validate a whole .lwd file.
 *
 * Role: the analyzer's security boundary. Input bytes are hostile until this
 * file has checked them; everything lw_file_parse returns is consistent:
 * every string pointer is NUL-terminated inside our own copy, every module,
 * stack and segment index is in range, every stack has 1..LWD_MAX_DEPTH
 * frames, every section's bounds, padding and CRC were verified.
 * Invariants:
 *   - all loads go through lw_rd16/32/64 (byte-wise little-endian, so no
 *     unaligned access and no host-endianness dependence);
 *   - every offset computation is done in uint64_t after checking that the
 *     operands are bounded by the file length (< 2^63), so nothing wraps;
 *   - every allocation is bounded by a small multiple of the file size: record
 *     arrays are sized from counts that were first checked against the
 *     section's byte length;
 *   - errors are one line, "offset N: what is wrong", N being the absolute
 *     file offset of the offending field or record.
 * Files with base files (format minor 2: STACK_BASE, COUNTER_BASE) are
 * verified alone here; their stacks and counters come from the bases in
 * lwd_base.c (lw_file_resolve), which lw_file_open calls.
 * Files whose minor version is newer than ours are read in "lenient" mode:
 * reserved fields and unknown flag bits are ignored instead of rejected, as
 * docs/FORMAT.md promises. Not thread-hostile: no global state; a parsed
 * lw_file is immutable and may be shared by readers.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lwd_priv.h"

_Static_assert(sizeof(uint64_t) == 8 && sizeof(double) == 8, "64-bit types");

typedef struct lw_parse {
	const uint8_t *p;
	size_t len;
	char *err;
	size_t errlen;
	int strict;       /* minor <= ours: reserved fields must be zero */
	int stackfile;    /* parsing a stack file (kind 3) */
	uint16_t minor;
	lw_file *f;
	lw_file_priv *pv;
} lw_parse;

static double lw_rdf64(const uint8_t *p)
{
	uint64_t v = lw_rd64(p);
	double d;

	memcpy(&d, &v, sizeof(d));
	return d;
}

static const char *lw_sec_name(uint32_t type)
{
	switch (type) {
	case LWD_SEC_STRINGS: return "STRINGS";
	case LWD_SEC_PROCESS: return "PROCESS";
	case LWD_SEC_MODULES: return "MODULES";
	case LWD_SEC_SEGMENTS: return "SEGMENTS";
	case LWD_SEC_STACKS: return "STACKS";
	case LWD_SEC_COUNTERS: return "COUNTERS";
	case LWD_SEC_LIVE_BLOCKS: return "LIVE_BLOCKS";
	case LWD_SEC_THREADS: return "THREADS";
	case LWD_SEC_HEAP_BLOCKS: return "HEAP_BLOCKS";
	case LWD_SEC_HEAP_EDGES: return "HEAP_EDGES";
	case LWD_SEC_ROOTS: return "ROOTS";
	case LWD_SEC_HEAP_TYPES: return "HEAP_TYPES";
	case LWD_SEC_STACK_BASE: return "STACK_BASE";
	case LWD_SEC_COUNTER_BASE: return "COUNTER_BASE";
	case LWD_SEC_CCOUNTERS: return "CCOUNTERS";
	case LWD_SEC_END: return "END";
	default: return "unknown";
	}
}

__attribute__((format(printf, 4, 5)))
static int lw_fail(lw_parse *c, int code, uint64_t off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->err || c->errlen == 0)
		return code;
	n = snprintf(c->err, c->errlen, "offset %llu: ", (unsigned long long)off);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
		lw_msg_oneline(c->err);
	}
	return code;
}

#define LW_BAD(c, off, ...) lw_fail((c), LWD_EFORMAT, (off), __VA_ARGS__)
#define LW_ULL(x) ((unsigned long long)(x))

/* Allocates n elements of size sz, n already bounded by the file size. */
static void *lw_alloc(size_t n, size_t sz)
{
	if (n == 0)
		return NULL;
	if (n > SIZE_MAX / sz)
		return NULL;
	return calloc(n, sz);
}

/* ---- header and section table ------------------------------------------ */

static int lw_parse_header(lw_parse *c)
{
	const uint8_t *p = c->p;
	uint16_t major;
	uint32_t v, stored, computed;

	if (c->len < LWD_MAGIC_LEN) {
		if (memcmp(p, LWD_MAGIC, c->len) == 0)
			return LW_BAD(c, c->len, "file is %zu bytes, truncated inside the magic", c->len);
		return LW_BAD(c, 0, "bad magic: not a .lwd file");
	}
	if (memcmp(p, LWD_MAGIC, LWD_MAGIC_LEN) != 0)
		return LW_BAD(c, 0, "bad magic: not a .lwd file");
	if (c->len < LWD_HEADER_SIZE)
		return LW_BAD(c, c->len, "file is %zu bytes, truncated inside the %d-byte header",
			      c->len, LWD_HEADER_SIZE);
	major = lw_rd16(p + 8);
	c->minor = lw_rd16(p + 10);
	if (major > LWD_VERSION_MAJOR)
		return lw_fail(c, LWD_EVERSION, 8,
			       "file version %u.%u is newer than this reader (%u.x)",
			       major, c->minor, LWD_VERSION_MAJOR);
	if (major < LWD_VERSION_MAJOR)
		return LW_BAD(c, 8, "file version %u.%u does not exist (first version is %u.0)",
			      major, c->minor, LWD_VERSION_MAJOR);
	c->strict = c->minor <= LWD_VERSION_MINOR;
	v = lw_rd32(p + 12);
	if (v != LWD_HEADER_SIZE)
		return LW_BAD(c, 12, "header_size %u, expected %d", v, LWD_HEADER_SIZE);
	stored = lw_rd32(p + 60);
	computed = lw_crc32(0, p, 60);
	if (stored != computed)
		return LW_BAD(c, 60, "header CRC mismatch (stored 0x%08x, computed 0x%08x)",
			      stored, computed);
	v = lw_rd32(p + 16);
	if (v == LWD_KIND_STACKS && !c->stackfile)
		return LW_BAD(c, 16, "this is a stack file (kind 3), read through the snapshots that refer to it");
	if (v != LWD_KIND_SNAPSHOT && v != LWD_KIND_DUMP && !(v == LWD_KIND_STACKS && c->stackfile))
		return LW_BAD(c, 16, "unknown file kind %u (1 = snapshot, 2 = dump)", v);
	c->f->kind = v;
	if (c->strict) {
		v = lw_rd32(p + 20);
		if (v != 0)
			return LW_BAD(c, 20, "header flags 0x%x are reserved and must be 0", v);
		for (unsigned i = 40; i < 60; i++)
			if (p[i] != 0)
				return LW_BAD(c, i, "reserved header byte is 0x%02x, must be 0", p[i]);
	}
	c->f->version_major = major;
	c->f->version_minor = c->minor;
	c->f->run_id = lw_rd64(p + 24);
	c->f->seq = lw_rd64(p + 32);
	return 0;
}

static int lw_is_known(uint32_t type)
{
	return (type >= 1 && type <= LWD_SEC_HEAP_TYPES) ||
	       (type >= LWD_SEC_STACK_BASE && type <= LW_SEC_MAX_KNOWN);
}

static int lw_dump_only(uint32_t type)
{
	return type >= LWD_SEC_LIVE_BLOCKS && type <= LWD_SEC_HEAP_TYPES;
}

static int lw_snapshot_only(uint32_t type)
{
	return type == LWD_SEC_STACK_BASE || type == LWD_SEC_COUNTER_BASE;
}

static int lw_parse_end(lw_parse *c, uint64_t hdr, uint64_t plen, uint32_t count, uint64_t nsec)
{
	const uint8_t *q = c->p + hdr + LWD_SECTION_HEADER_SIZE;
	uint64_t end = hdr + LWD_SECTION_HEADER_SIZE + plen, v;

	if (end != c->len)
		return LW_BAD(c, end, "%llu trailing bytes after the END section",
			      LW_ULL(c->len - end));
	if (count != nsec)
		return LW_BAD(c, hdr + 16, "END section count %u, but %llu sections precede it",
			      count, LW_ULL(nsec));
	v = lw_rd64(q);
	if (v != nsec)
		return LW_BAD(c, hdr + 24, "END section_count %llu, but %llu sections precede it",
			      LW_ULL(v), LW_ULL(nsec));
	v = lw_rd64(q + 8);
	if (v != c->len)
		return LW_BAD(c, hdr + 32, "END file_size %llu, but the file is %zu bytes",
			      LW_ULL(v), c->len);
	return 0;
}

/* Walks the section headers: bounds, padding, CRC, duplicates, known types,
 * END. Fills c->pv->sec for the known types. */
static int lw_parse_sections(lw_parse *c)
{
	uint64_t off = LWD_HEADER_SIZE, nsec = 0;

	while (off < c->len) {
		const uint8_t *h = c->p + off;
		uint64_t left = c->len - off, plen, pad, pend;
		uint32_t type, flags, count, stored, computed;
		const char *nm;

		if (left < LWD_SECTION_HEADER_SIZE)
			return LW_BAD(c, off, "truncated section header (%llu bytes left, need %d)",
				      LW_ULL(left), LWD_SECTION_HEADER_SIZE);
		type = lw_rd32(h);
		flags = lw_rd32(h + 4);
		plen = lw_rd64(h + 8);
		count = lw_rd32(h + 16);
		stored = lw_rd32(h + 20);
		nm = lw_sec_name(type);
		left -= LWD_SECTION_HEADER_SIZE;
		if (plen > left)
			return LW_BAD(c, off + 8,
				      "%s section (type %u) length %llu runs past the end of the file (%llu bytes left)",
				      nm, type, LW_ULL(plen), LW_ULL(left));
		pad = -plen & 7u;
		pend = off + LWD_SECTION_HEADER_SIZE + plen;
		if (pad > left - plen)
			return LW_BAD(c, pend, "%s section: file ends inside the padding", nm);
		for (uint64_t i = 0; i < pad; i++)
			if (c->p[pend + i] != 0)
				return LW_BAD(c, pend + i, "%s section: padding byte is not zero", nm);
		if (type == LWD_SEC_END && plen != LWD_END_SIZE)
			return LW_BAD(c, off + 8, "END section length %llu, expected %d",
				      LW_ULL(plen), LWD_END_SIZE);
		computed = lw_crc32(0, h + LWD_SECTION_HEADER_SIZE, (size_t)plen);
		if (stored != computed)
			return LW_BAD(c, off + 20,
				      "%s section: payload CRC mismatch (stored 0x%08x, computed 0x%08x)",
				      nm, stored, computed);
		if (c->strict && (flags & ~LWD_SECF_OPTIONAL))
			return LW_BAD(c, off + 4, "%s section: unknown flags 0x%x", nm, flags);

		if (type == LWD_SEC_END)
			return lw_parse_end(c, off, plen, count, nsec);

		if (!lw_is_known(type)) {
			if (!(flags & LWD_SECF_OPTIONAL))
				return lw_fail(c, c->strict ? LWD_EFORMAT : LWD_EVERSION, off,
					       "section type %u needs a newer reader (it is not marked optional)",
					       type);
		} else {
			lw_sec_loc *s = &c->pv->sec[type];

			if (s->hdr)
				return LW_BAD(c, off, "duplicate %s section (the first is at offset %llu)",
					      nm, LW_ULL(s->hdr));
			if (c->f->kind != LWD_KIND_DUMP && lw_dump_only(type))
				return LW_BAD(c, off, "%s section in a snapshot; only dumps may have it", nm);
			if (c->f->kind != LWD_KIND_SNAPSHOT && lw_snapshot_only(type))
				return LW_BAD(c, off, "%s section in a dump; only snapshots may have it", nm);
			s->hdr = off;
			s->off = off + LWD_SECTION_HEADER_SIZE;
			s->len = plen;
			s->count = count;
			s->flags = flags;
		}
		nsec++;
		off = pend + pad;
	}
	return LW_BAD(c, c->len, "no END section: the file is truncated");
}

/* ---- section decoders --------------------------------------------------- */

/* Fixed-size records: count * size must equal the payload length. */
static int lw_check_fixed(lw_parse *c, uint32_t type, uint64_t size)
{
	const lw_sec_loc *s = &c->pv->sec[type];

	/* count < 2^32 and size <= 128, so the product cannot overflow. */
	if ((uint64_t)s->count * size != s->len)
		return LW_BAD(c, s->hdr + 8,
			      "%s section length %llu does not hold %u records of %llu bytes",
			      lw_sec_name(type), LW_ULL(s->len), s->count, LW_ULL(size));
	return 0;
}

static int lw_str(lw_parse *c, uint32_t sref, uint64_t at, const char *what,
		  const char *rec, uint64_t idx, const char **out)
{
	const lw_sec_loc *s = &c->pv->sec[LWD_SEC_STRINGS];
	const char *base = (const char *)c->p + s->off;

	if (sref >= s->len)
		return LW_BAD(c, at, "%s record %llu: %s %u outside STRINGS (%llu bytes)",
			      rec, LW_ULL(idx), what, sref, LW_ULL(s->len));
	if (sref > 0 && base[sref - 1] != '\0')
		return LW_BAD(c, at, "%s record %llu: %s %u is not the start of a string",
			      rec, LW_ULL(idx), what, sref);
	*out = base + sref;
	return 0;
}

static int lw_f64_ok(lw_parse *c, double d, uint64_t at, const char *rec, uint64_t idx,
		     const char *what)
{
	if (!isfinite(d) || d < 0)
		return LW_BAD(c, at, "%s record %llu: %s %g is not a finite number >= 0",
			      rec, LW_ULL(idx), what, d);
	return 0;
}

static int lw_parse_strings(lw_parse *c)
{
	const lw_sec_loc *s = &c->pv->sec[LWD_SEC_STRINGS];
	const uint8_t *q, *e;
	uint64_t n = 0;

	if (!s->hdr)
		return LW_BAD(c, c->len, "no STRINGS section");
	if (s->len == 0)
		return LW_BAD(c, s->hdr + 8, "STRINGS section is empty; it must start with a NUL byte");
	q = c->p + s->off;
	e = q + s->len;
	if (q[0] != 0)
		return LW_BAD(c, s->off, "STRINGS section must start with a NUL byte (the empty string)");
	if (e[-1] != 0)
		return LW_BAD(c, s->off + s->len - 1, "STRINGS section must end with a NUL byte");
	while (q < e) {
		const uint8_t *z = memchr(q, 0, (size_t)(e - q));

		n++;
		q = z + 1;   /* z != NULL: the last byte is NUL */
	}
	if (n != s->count)
		return LW_BAD(c, s->hdr + 16, "STRINGS count %u, but the payload holds %llu strings",
			      s->count, LW_ULL(n));
	return 0;
}

static int lw_parse_modules(lw_parse *c)
{
	const lw_sec_loc *s = &c->pv->sec[LWD_SEC_MODULES];
	lw_file *f = c->f;
	int rc;

	if (!s->hdr)
		return 0;
	if ((rc = lw_check_fixed(c, LWD_SEC_MODULES, LWD_MODULE_SIZE)))
		return rc;
	f->modules = lw_alloc(s->count, sizeof(*f->modules));
	if (s->count && !f->modules)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->count; i++) {
		uint64_t at = s->off + (uint64_t)i * LWD_MODULE_SIZE;
		const uint8_t *r = c->p + at;
		lw_module *m = &f->modules[i];

		m->load_bias = lw_rd64(r);
		m->start = lw_rd64(r + 8);
		m->end = lw_rd64(r + 16);
		if ((rc = lw_str(c, lw_rd32(r + 24), at + 24, "path_str", "MODULES", i, &m->path)))
			return rc;
		m->build_id_len = lw_rd32(r + 28);
		if (m->build_id_len > LWD_MAX_BUILD_ID)
			return LW_BAD(c, at + 28, "MODULES record %u: build_id_len %u exceeds %d",
				      i, m->build_id_len, LWD_MAX_BUILD_ID);
		memcpy(m->build_id, r + 32, LWD_MAX_BUILD_ID);
		if (c->strict)
			for (uint32_t j = m->build_id_len; j < LWD_MAX_BUILD_ID; j++)
				if (m->build_id[j])
					return LW_BAD(c, at + 32 + j,
						      "MODULES record %u: build_id padding byte is not zero", i);
		memset(m->build_id + m->build_id_len, 0, LWD_MAX_BUILD_ID - m->build_id_len);
		if (m->start > m->end)
			return LW_BAD(c, at + 8, "MODULES record %u: start 0x%llx is above end 0x%llx",
				      i, LW_ULL(m->start), LW_ULL(m->end));
	}
	f->n_modules = s->count;
	return 0;
}

static int lw_parse_segments(lw_parse *c)
{
	const lw_sec_loc *s = &c->pv->sec[LWD_SEC_SEGMENTS];
	lw_file *f = c->f;
	int rc;

	if (!s->hdr)
		return 0;
	if ((rc = lw_check_fixed(c, LWD_SEC_SEGMENTS, LWD_SEGMENT_SIZE)))
		return rc;
	f->segments = lw_alloc(s->count, sizeof(*f->segments));
	if (s->count && !f->segments)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->count; i++) {
		uint64_t at = s->off + (uint64_t)i * LWD_SEGMENT_SIZE;
		const uint8_t *r = c->p + at;
		lw_segment *g = &f->segments[i];

		g->module = lw_rd32(r);
		g->prot = lw_rd32(r + 4);
		g->start = lw_rd64(r + 8);
		g->end = lw_rd64(r + 16);
		g->file_offset = lw_rd64(r + 24);
		g->file_size = lw_rd64(r + 32);
		if (g->module >= f->n_modules)
			return LW_BAD(c, at, "SEGMENTS record %u: module %u outside the %zu modules",
				      i, g->module, f->n_modules);
		if (c->strict && (g->prot & ~7u))
			return LW_BAD(c, at + 4, "SEGMENTS record %u: prot 0x%x has bits other than R, W, X",
				      i, g->prot);
		if (g->start > g->end)
			return LW_BAD(c, at + 8, "SEGMENTS record %u: start 0x%llx is above end 0x%llx",
				      i, LW_ULL(g->start), LW_ULL(g->end));
	}
	f->n_segments = s->count;
	return 0;
}

/* Checks `count` stack records of a STACKS payload (file offset off, len
 * bytes; header at hdr), numbered from `first`; adds their frames to
 * *frames. Every record must lie inside the payload and the payload must end
 * with the last one. */
static int lw_check_stack_records(lw_parse *c, uint64_t hdr, uint64_t off, uint64_t len,
				  uint32_t count, uint64_t first, uint64_t *frames)
{
	const uint64_t min_rec = LWD_STACK_HEADER_SIZE + 8;
	uint64_t pos = 0;

	if (count > len / min_rec)
		return LW_BAD(c, hdr + 16, "STACKS count %u cannot fit in %llu bytes",
			      count, LW_ULL(len));
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *r = c->p + off + pos;
		uint64_t id = first + i;
		uint32_t depth, flags;

		if (len - pos < LWD_STACK_HEADER_SIZE)
			return LW_BAD(c, off + pos, "STACKS record %llu: truncated record header", LW_ULL(id));
		depth = lw_rd32(r);
		flags = lw_rd32(r + 4);
		if (depth < 1 || depth > LWD_MAX_DEPTH)
			return LW_BAD(c, off + pos, "STACKS record %llu: depth %u outside 1..%d",
				      LW_ULL(id), depth, LWD_MAX_DEPTH);
		if (c->strict && (flags & ~LWD_STACKF_TRUNCATED))
			return LW_BAD(c, off + pos + 4, "STACKS record %llu: unknown flags 0x%x",
				      LW_ULL(id), flags);
		if ((len - pos - LWD_STACK_HEADER_SIZE) / 8 < depth)
			return LW_BAD(c, off + pos,
				      "STACKS record %llu: %u frames run past the end of the section",
				      LW_ULL(id), depth);
		pos += LWD_STACK_HEADER_SIZE + 8 * (uint64_t)depth;
		*frames += depth;
	}
	if (pos != len)
		return LW_BAD(c, off + pos, "STACKS section: %llu bytes after the last of %u records",
			      LW_ULL(len - pos), count);
	return 0;
}

/* Decodes records already checked by lw_check_stack_records; frames go to
 * pcs from index *k on. */
static void lw_decode_stack_records(const uint8_t *r, uint32_t count, lw_stack *stacks,
				    uint64_t *pcs, uint64_t *k)
{
	for (uint32_t i = 0; i < count; i++) {
		lw_stack *st = &stacks[i];

		st->depth = lw_rd32(r);
		st->flags = lw_rd32(r + 4);
		st->pcs = pcs + *k;
		for (uint32_t j = 0; j < st->depth; j++)
			pcs[(*k)++] = lw_rd64(r + LWD_STACK_HEADER_SIZE + 8 * (size_t)j);
		r += LWD_STACK_HEADER_SIZE + 8 * (size_t)st->depth;
	}
}

static int lw_parse_stacks(lw_parse *c)
{
	const lw_sec_loc *s = &c->pv->sec[LWD_SEC_STACKS];
	lw_file *f = c->f;
	uint64_t total = 0, k = 0;
	int rc;

	if (!s->hdr)
		return 0;
	if ((rc = lw_check_stack_records(c, s->hdr, s->off, s->len, s->count, 0, &total)))
		return rc;
	/* total * 8 <= s->len, so both allocations are bounded. */
	f->stacks = lw_alloc(s->count, sizeof(*f->stacks));
	c->pv->pcs = lw_alloc((size_t)total, sizeof(uint64_t));
	if ((s->count && !f->stacks) || (total && !c->pv->pcs))
		return -ENOMEM;
	lw_decode_stack_records(c->p + s->off, s->count, f->stacks, c->pv->pcs, &k);
	f->n_stacks = s->count;
	c->pv->n_stacks_used = s->count;
	return 0;
}

/* A base file name: a non-empty string that names a file in the same
 * directory (no '/', not "." or ".."). */
static int lw_base_name(lw_parse *c, const lw_sec_loc *s, const char *rec, const char **out)
{
	int rc = lw_str(c, lw_rd32(c->p + s->off), s->off, "name_str", rec, 0, out);

	if (rc)
		return rc;
	if (!**out || strchr(*out, '/') || !strcmp(*out, ".") || !strcmp(*out, ".."))
		return LW_BAD(c, s->off, "%s record 0: name_str \"%s\" is not a file name", rec, *out);
	return 0;
}

/* STACK_BASE and COUNTER_BASE (format minor 2): the references themselves;
 * lwd_base.c checks the files they name. */
static int lw_parse_bases(lw_parse *c)
{
	const lw_sec_loc *sb = &c->pv->sec[LWD_SEC_STACK_BASE];
	const lw_sec_loc *cb = &c->pv->sec[LWD_SEC_COUNTER_BASE];
	lw_file *f = c->f;
	lw_base_ref *ref;
	int rc;

	if (sb->hdr) {
		const uint8_t *r = c->p + sb->off;

		if (c->pv->sec[LWD_SEC_STACKS].hdr)
			return LW_BAD(c, sb->hdr, "STACKS and STACK_BASE sections: a file has one or the other");
		if (c->pv->sec[LWD_SEC_COUNTERS].hdr)
			return LW_BAD(c, sb->hdr, "STACK_BASE with a COUNTERS section: it goes with CCOUNTERS");
		if (sb->count != 1)
			return LW_BAD(c, sb->hdr + 16, "STACK_BASE count %u, expected 1", sb->count);
		if ((rc = lw_check_fixed(c, LWD_SEC_STACK_BASE, LWD_STACK_BASE_SIZE)))
			return rc;
		ref = &c->pv->refs[f->n_bases++];
		ref->type = LWD_SEC_STACK_BASE;
		if ((rc = lw_base_name(c, sb, "STACK_BASE", &ref->name)))
			return rc;
		ref->n_stacks = lw_rd32(r + 4);
		ref->length = lw_rd64(r + 8);
		ref->seq = lw_rd64(r + 16);
		ref->crc = lw_rd32(r + 24);
		if (ref->length < LWD_HEADER_SIZE)
			return LW_BAD(c, sb->off + 8, "STACK_BASE record 0: length %llu is shorter than a header",
				      LW_ULL(ref->length));
		if (ref->seq > f->seq)
			return LW_BAD(c, sb->off + 16, "STACK_BASE record 0: stack file seq %llu is after this file's seq %llu",
				      LW_ULL(ref->seq), LW_ULL(f->seq));
		if (c->strict && lw_rd32(r + 28) != 0)
			return LW_BAD(c, sb->off + 28, "STACK_BASE record 0: reserved field is not zero");
		c->pv->n_stacks_used = ref->n_stacks;
	}
	if (cb->hdr) {
		const uint8_t *r = c->p + cb->off;

		if (!c->pv->sec[LWD_SEC_CCOUNTERS].hdr)
			return LW_BAD(c, cb->hdr, "COUNTER_BASE without a CCOUNTERS section");
		if (cb->count != 1)
			return LW_BAD(c, cb->hdr + 16, "COUNTER_BASE count %u, expected 1", cb->count);
		if ((rc = lw_check_fixed(c, LWD_SEC_COUNTER_BASE, LWD_COUNTER_BASE_SIZE)))
			return rc;
		ref = &c->pv->refs[f->n_bases++];
		ref->type = LWD_SEC_COUNTER_BASE;
		if ((rc = lw_base_name(c, cb, "COUNTER_BASE", &ref->name)))
			return rc;
		ref->flags = lw_rd32(r + 4);
		ref->seq = lw_rd64(r + 8);
		ref->length = lw_rd64(r + 16);
		ref->crc = lw_rd32(r + 24);
		if (c->strict && (ref->flags & ~LWD_CBASEF_MODULES))
			return LW_BAD(c, cb->off + 4, "COUNTER_BASE record 0: unknown flags 0x%x", ref->flags);
		if (ref->seq >= f->seq)
			return LW_BAD(c, cb->off + 8, "COUNTER_BASE record 0: keyframe seq %llu is not before this file's seq %llu",
				      LW_ULL(ref->seq), LW_ULL(f->seq));
		if (ref->length < LWD_HEADER_SIZE)
			return LW_BAD(c, cb->off + 16, "COUNTER_BASE record 0: file_size %llu is shorter than a header",
				      LW_ULL(ref->length));
		if (c->strict && lw_rd32(r + 28) != 0)
			return LW_BAD(c, cb->off + 28, "COUNTER_BASE record 0: reserved field is not zero");
		if ((ref->flags & LWD_CBASEF_MODULES) &&
		    (c->pv->sec[LWD_SEC_MODULES].hdr || c->pv->sec[LWD_SEC_SEGMENTS].hdr))
			return LW_BAD(c, cb->off + 4,
				      "COUNTER_BASE record 0: modules come from the keyframe, but the file has its own");
	}
	f->bases = c->pv->refs;
	f->unresolved = f->n_bases > 0;
	return 0;
}

/* CCOUNTERS (format minor 2): decoded to wire values; the counters are made
 * from them here (no keyframe) or by lw_file_resolve (differences from a
 * keyframe). */
static int lw_parse_ccounters(lw_parse *c)
{
	const lw_sec_loc *s = &c->pv->sec[LWD_SEC_CCOUNTERS];
	lw_file_priv *pv = c->pv;
	uint64_t pos = 0, next = 0;

	if (!s->hdr)
		return 0;
	if (pv->sec[LWD_SEC_COUNTERS].hdr)
		return LW_BAD(c, s->hdr, "COUNTERS and CCOUNTERS sections: a file has one or the other");
	if (s->count > s->len / 2)
		return LW_BAD(c, s->hdr + 16, "CCOUNTERS count %u cannot fit in %llu bytes",
			      s->count, LW_ULL(s->len));
	pv->cc_stack = lw_alloc(s->count, sizeof(uint32_t));
	pv->cc_wire = lw_alloc((size_t)s->count * LWD_CC_FIELDS, sizeof(uint64_t));
	if (s->count && (!pv->cc_stack || !pv->cc_wire))
		return -ENOMEM;
	for (uint32_t i = 0; i < s->count; i++) {
		const uint8_t *r = c->p + s->off;
		uint64_t at = s->off + pos, gap, v;
		size_t n = lw_varint_get(r + pos, s->len - pos, &gap);
		uint8_t mask;

		if (n == 0)
			return LW_BAD(c, at, "CCOUNTERS record %u: bad or truncated stack varint", i);
		if (gap >= pv->n_stacks_used || next > pv->n_stacks_used - 1 - gap)
			return LW_BAD(c, at, "CCOUNTERS record %u: stack %llu outside the %u stacks",
				      i, LW_ULL(next + gap), pv->n_stacks_used);
		pv->cc_stack[i] = (uint32_t)(next + gap);
		next = next + gap + 1;
		pos += n;
		if (pos >= s->len)
			return LW_BAD(c, s->off + pos, "CCOUNTERS record %u: truncated before its field mask", i);
		mask = r[pos++];
		for (int j = 0; j < LWD_CC_FIELDS; j++) {
			uint64_t *dst = &pv->cc_wire[(size_t)i * LWD_CC_FIELDS + (size_t)j];

			*dst = 0;
			if (!(mask & (1u << j)))
				continue;
			n = lw_varint_get(r + pos, s->len - pos, &v);
			if (n == 0)
				return LW_BAD(c, s->off + pos, "CCOUNTERS record %u: field %d: bad or truncated varint",
					      i, j);
			*dst = lw_unzigzag(v);
			pos += n;
		}
	}
	if (pos != s->len)
		return LW_BAD(c, s->off + pos, "CCOUNTERS section: %llu bytes after the last of %u records",
			      LW_ULL(s->len - pos), s->count);
	pv->n_cc = s->count;
	pv->cc_crc = lw_rd32(c->p + s->hdr + 20);
	if (!pv->sec[LWD_SEC_COUNTER_BASE].hdr) {
		char msg[160];
		int rc = lw_cc_materialize(c->f, NULL, msg, sizeof(msg));

		if (rc == LWD_EFORMAT)
			return LW_BAD(c, s->hdr, "%s", msg);
		return rc;
	}
	return 0;
}

static int lw_parse_counters(lw_parse *c)
{
	const lw_sec_loc *s = &c->pv->sec[LWD_SEC_COUNTERS];
	lw_file *f = c->f;
	uint8_t *seen;
	int rc = 0;

	if (!s->hdr)
		return 0;
	if ((rc = lw_check_fixed(c, LWD_SEC_COUNTERS, LWD_COUNTER_SIZE)))
		return rc;
	f->counters = lw_alloc(s->count, sizeof(*f->counters));
	/* One bit per stack; COUNTERS go with the file's own STACKS (never with
	 * STACK_BASE), so n_stacks_used <= file size / 16. */
	seen = calloc(c->pv->n_stacks_used / 8 + 1, 1);
	if ((s->count && !f->counters) || !seen) {
		free(seen);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < s->count && !rc; i++) {
		uint64_t at = s->off + (uint64_t)i * LWD_COUNTER_SIZE;
		const uint8_t *r = c->p + at;
		lw_counter *k = &f->counters[i];

		k->stack = lw_rd32(r);
		k->alloc_samples = lw_rd64(r + 8);
		k->alloc_sample_bytes = lw_rd64(r + 16);
		k->free_samples = lw_rd64(r + 24);
		k->free_sample_bytes = lw_rd64(r + 32);
		k->alloc_objects_est = lw_rdf64(r + 40);
		k->alloc_bytes_est = lw_rdf64(r + 48);
		k->free_objects_est = lw_rdf64(r + 56);
		k->free_bytes_est = lw_rdf64(r + 64);
		if (k->stack >= c->pv->n_stacks_used) {
			rc = LW_BAD(c, at, "COUNTERS record %u: stack %u outside the %u stacks",
				    i, k->stack, c->pv->n_stacks_used);
			break;
		}
		if (seen[k->stack / 8] & (1u << (k->stack % 8))) {
			rc = LW_BAD(c, at, "COUNTERS record %u: stack %u already has a record", i, k->stack);
			break;
		}
		seen[k->stack / 8] |= (uint8_t)(1u << (k->stack % 8));
		if (c->strict && lw_rd32(r + 4) != 0)
			rc = LW_BAD(c, at + 4, "COUNTERS record %u: reserved field is not zero", i);
		else if (c->strict && lw_rd64(r + 72) != 0)
			rc = LW_BAD(c, at + 72, "COUNTERS record %u: reserved2 field is not zero", i);
		else if (!(rc = lw_f64_ok(c, k->alloc_objects_est, at + 40, "COUNTERS", i, "alloc_objects_est")) &&
			 !(rc = lw_f64_ok(c, k->alloc_bytes_est, at + 48, "COUNTERS", i, "alloc_bytes_est")) &&
			 !(rc = lw_f64_ok(c, k->free_objects_est, at + 56, "COUNTERS", i, "free_objects_est")))
			rc = lw_f64_ok(c, k->free_bytes_est, at + 64, "COUNTERS", i, "free_bytes_est");
	}
	free(seen);
	if (rc)
		return rc;
	f->n_counters = s->count;
	return 0;
}

/* HEAP_TYPES (optional, dumps): only its framing here — a whole number of
 * 16-byte records; the records themselves are validated by lw_graph_decode. */
static int lw_parse_types(lw_parse *c)
{
	if (!c->pv->sec[LWD_SEC_HEAP_TYPES].hdr)
		return 0;
	return lw_check_fixed(c, LWD_SEC_HEAP_TYPES, LWD_HEAP_TYPE_SIZE);
}

static int lw_parse_live(lw_parse *c)
{
	const lw_sec_loc *s = &c->pv->sec[LWD_SEC_LIVE_BLOCKS];
	lw_file *f = c->f;
	int rc;

	if (!s->hdr)
		return 0;
	if ((rc = lw_check_fixed(c, LWD_SEC_LIVE_BLOCKS, LWD_LIVE_BLOCK_SIZE)))
		return rc;
	f->live = lw_alloc(s->count, sizeof(*f->live));
	if (s->count && !f->live)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->count; i++) {
		uint64_t at = s->off + (uint64_t)i * LWD_LIVE_BLOCK_SIZE;
		const uint8_t *r = c->p + at;
		lw_live_block *b = &f->live[i];

		b->addr = lw_rd64(r);
		b->size = lw_rd64(r + 8);
		b->stack = lw_rd32(r + 16);
		b->tid = lw_rd32(r + 20);
		b->alloc_mono_ns = lw_rd64(r + 24);
		b->weight = lw_rdf64(r + 32);
		if (b->stack >= f->n_stacks)
			return LW_BAD(c, at + 16, "LIVE_BLOCKS record %u: stack %u outside the %zu stacks",
				      i, b->stack, f->n_stacks);
		if ((rc = lw_f64_ok(c, b->weight, at + 32, "LIVE_BLOCKS", i, "weight")))
			return rc;
	}
	f->n_live = s->count;
	return 0;
}

static int lw_modules_from_base(const lw_file_priv *pv)
{
	return pv->sec[LWD_SEC_COUNTER_BASE].hdr &&
	       (lw_rd32(pv->bytes + pv->sec[LWD_SEC_COUNTER_BASE].off + 4) & LWD_CBASEF_MODULES);
}

static int lw_parse_process(lw_parse *c)
{
	const lw_sec_loc *s = &c->pv->sec[LWD_SEC_PROCESS];
	lw_process *p = &c->f->process;
	const uint8_t *r;
	uint64_t at;
	int rc;

	if (!s->hdr)
		return LW_BAD(c, c->len, "no PROCESS section");
	if (s->count != 1)
		return LW_BAD(c, s->hdr + 16, "PROCESS count %u, expected 1", s->count);
	if ((rc = lw_check_fixed(c, LWD_SEC_PROCESS, LWD_PROCESS_SIZE)))
		return rc;
	at = s->off;
	r = c->p + at;
	p->pid = lw_rd32(r);
	p->ppid = lw_rd32(r + 4);
	p->parent_run_id = lw_rd64(r + 8);
	p->wall_ns = lw_rd64(r + 16);
	p->mono_ns = lw_rd64(r + 24);
	p->start_wall_ns = lw_rd64(r + 32);
	p->start_mono_ns = lw_rd64(r + 40);
	p->sample_rate = lw_rd64(r + 48);
	p->rss_bytes = lw_rd64(r + 56);
	p->peak_rss_bytes = lw_rd64(r + 64);
	p->heap_committed = lw_rd64(r + 72);
	p->heap_peak_committed = lw_rd64(r + 80);
	if ((rc = lw_str(c, lw_rd32(r + 88), at + 88, "exe_str", "PROCESS", 0, &p->exe)) ||
	    (rc = lw_str(c, lw_rd32(r + 92), at + 92, "cmdline_str", "PROCESS", 0, &p->cmdline)) ||
	    (rc = lw_str(c, lw_rd32(r + 96), at + 96, "hostname_str", "PROCESS", 0, &p->hostname)))
		return rc;
	p->exe_module = lw_rd32(r + 100);
	p->alloc_calls = lw_rd64(r + 104);
	p->free_calls = lw_rd64(r + 112);
	p->reason = lw_rd32(r + 120);
	c->pv->exe_module = p->exe_module;
	if (lw_modules_from_base(c->pv))
		p->exe_module = LWD_NONE;   /* checked against the keyframe's modules */
	else if (p->exe_module != LWD_NONE && p->exe_module >= c->f->n_modules)
		return LW_BAD(c, at + 100, "PROCESS record 0: exe_module %u outside the %zu modules",
			      p->exe_module, c->f->n_modules);
	if (p->sample_rate == 0)
		return LW_BAD(c, at + 48, "PROCESS record 0: sample_rate is 0 (must be >= 1)");
	if (c->strict && (p->reason < LWD_REASON_INTERVAL || p->reason > LWD_REASON_API))
		return LW_BAD(c, at + 120, "PROCESS record 0: unknown reason %u", p->reason);
	/* bytes 124..127 were reserved before format 1.2 */
	if (c->minor >= 2) {
		p->exit_status = lw_rd16(r + 124);
		p->shim_kib = (uint32_t)lw_rd16(r + 126) * 64;
	} else {
		p->exit_status = 0;
		p->shim_kib = 0;
	}
	if (c->strict && c->minor < 2 && lw_rd32(r + 124) != 0)
		return LW_BAD(c, at + 124, "PROCESS record 0: reserved field is not zero");
	if (c->strict && p->exit_status != 0 &&
	    (p->reason != LWD_REASON_EXIT || (p->exit_status & ~0xffu) != LWD_EXIT_STATUS_KNOWN))
		return LW_BAD(c, at + 124, "PROCESS record 0: exit_status 0x%x is neither 0 nor "
			      "0x100 + a status in an exit snapshot", p->exit_status);
	return 0;
}

/* ---- stack files (kind 3) ---------------------------------------------- */

int lw_parse_stackfile(const uint8_t *p, size_t len, uint64_t run_id, uint64_t seq,
		       uint32_t n_stacks, lw_stack **stacks_out, uint64_t **pcs_out,
		       char *err, size_t errlen)
{
	lw_file dummy;
	lw_file_priv dpv;
	lw_parse c;
	uint64_t off = LWD_HEADER_SIZE, frames = 0, k = 0, ids = 0;
	lw_stack *stacks;
	uint64_t *pcs;
	int rc;

	memset(&dummy, 0, sizeof(dummy));
	memset(&dpv, 0, sizeof(dpv));
	memset(&c, 0, sizeof(c));
	c.p = p;
	c.len = len;
	c.err = err;
	c.errlen = errlen;
	c.f = &dummy;
	c.pv = &dpv;
	c.stackfile = 1;
	*stacks_out = NULL;
	*pcs_out = NULL;
	if ((rc = lw_parse_header(&c)))
		return rc;
	if (lw_rd32(p + 16) != LWD_KIND_STACKS)
		return LW_BAD(&c, 16, "file kind %u, expected a stack file (kind 3)", lw_rd32(p + 16));
	if (dummy.run_id != run_id)
		return LW_BAD(&c, 24, "stack file of run %llu, not of run %llu",
			      LW_ULL(dummy.run_id), LW_ULL(run_id));
	if (dummy.seq != seq)
		return LW_BAD(&c, 32, "stack file seq %llu, expected %llu", LW_ULL(dummy.seq), LW_ULL(seq));
	/* Pass 1: chunk framing and records. Each chunk has a 24-byte header,
	 * so there are at most len / 24 of them. */
	while (off < len) {
		const uint8_t *h = p + off;
		uint64_t left, plen, pad;
		uint32_t count, stored, computed;

		if (len - off < LWD_SECTION_HEADER_SIZE)
			return LW_BAD(&c, off, "truncated chunk header (%llu bytes left, need %d)",
				      LW_ULL(len - off), LWD_SECTION_HEADER_SIZE);
		left = len - off - LWD_SECTION_HEADER_SIZE;
		if (lw_rd32(h) != LWD_SEC_STACKS)
			return LW_BAD(&c, off, "chunk of type %u; a stack file holds STACKS chunks only",
				      lw_rd32(h));
		if (lw_rd32(h + 4) != 0)
			return LW_BAD(&c, off + 4, "STACKS chunk: flags 0x%x, must be 0", lw_rd32(h + 4));
		plen = lw_rd64(h + 8);
		count = lw_rd32(h + 16);
		stored = lw_rd32(h + 20);
		if (plen > left)
			return LW_BAD(&c, off + 8, "STACKS chunk length %llu runs past the end (%llu bytes left)",
				      LW_ULL(plen), LW_ULL(left));
		pad = -plen & 7u;
		if (pad > left - plen)
			return LW_BAD(&c, off + LWD_SECTION_HEADER_SIZE + plen, "STACKS chunk: ends inside the padding");
		for (uint64_t i = 0; i < pad; i++)
			if (p[off + LWD_SECTION_HEADER_SIZE + plen + i])
				return LW_BAD(&c, off + LWD_SECTION_HEADER_SIZE + plen + i,
					      "STACKS chunk: padding byte is not zero");
		computed = lw_crc32(0, h + LWD_SECTION_HEADER_SIZE, (size_t)plen);
		if (stored != computed)
			return LW_BAD(&c, off + 20, "STACKS chunk: payload CRC mismatch (stored 0x%08x, computed 0x%08x)",
				      stored, computed);
		if ((rc = lw_check_stack_records(&c, off, off + LWD_SECTION_HEADER_SIZE, plen, count, ids,
						 &frames)))
			return rc;
		ids += count;
		if (ids > n_stacks)
			return LW_BAD(&c, off + 16, "the prefix holds more than the %u stacks referred to", n_stacks);
		off += LWD_SECTION_HEADER_SIZE + plen + pad;
	}
	if (ids != n_stacks)
		return LW_BAD(&c, len, "the prefix holds %llu stacks, not the %u referred to",
			      LW_ULL(ids), n_stacks);
	/* Pass 2: decode; frames * 8 <= len. */
	stacks = lw_alloc(n_stacks, sizeof(*stacks));
	pcs = lw_alloc((size_t)frames, sizeof(uint64_t));
	if ((n_stacks && !stacks) || (frames && !pcs)) {
		free(stacks);
		free(pcs);
		return -ENOMEM;
	}
	ids = 0;
	for (off = LWD_HEADER_SIZE; off < len;) {
		uint64_t plen = lw_rd64(p + off + 8);
		uint32_t count = lw_rd32(p + off + 16);

		lw_decode_stack_records(p + off + LWD_SECTION_HEADER_SIZE, count, stacks + ids, pcs, &k);
		ids += count;
		off += LWD_SECTION_HEADER_SIZE + plen + (-plen & 7u);
	}
	*stacks_out = stacks;
	*pcs_out = pcs;
	return 0;
}

/* ---- public API --------------------------------------------------------- */

void lw_file_free(lw_file *f)
{
	lw_file_priv *pv;

	if (!f)
		return;
	pv = f->priv_;
	if (pv) {
		free(pv->bytes);
		free(pv->pcs);
		free(pv->cc_stack);
		free(pv->cc_wire);
		free(pv->adopted);
		free(pv);
	}
	free(f->modules);
	free(f->segments);
	free(f->stacks);
	free(f->counters);
	free(f->live);
	free(f);
}

/* A file with bases shows no stacks or counters until it is resolved: its
 * counters were made already when they need no keyframe (and are kept
 * aside), its stack ids point into a file not read yet. */
static void lw_hide_unresolved(lw_parse *c)
{
	if (!c->f->unresolved)
		return;
	c->pv->n_counters_ready = c->f->n_counters;
	c->f->n_counters = 0;
}

/* Takes ownership of bytes (freed on failure). */
int lw_parse_owned(uint8_t *bytes, size_t len, lw_file **out, char *err, size_t errlen)
{
	lw_parse c;
	lw_file *f;
	int rc;

	f = calloc(1, sizeof(*f));
	if (!f) {
		free(bytes);
		return -ENOMEM;
	}
	f->priv_ = calloc(1, sizeof(lw_file_priv));
	if (!f->priv_) {
		free(bytes);
		free(f);
		return -ENOMEM;
	}
	memset(&c, 0, sizeof(c));
	c.p = bytes;
	c.len = len;
	c.err = err;
	c.errlen = errlen;
	c.f = f;
	c.pv = f->priv_;
	c.pv->bytes = bytes;
	c.pv->len = len;
	f->file_size = len;

	if (!(rc = lw_parse_header(&c)) &&
	    !(rc = lw_parse_sections(&c)) &&
	    !(rc = lw_parse_strings(&c)) &&
	    !(rc = lw_parse_modules(&c)) &&
	    !(rc = lw_parse_segments(&c)) &&
	    !(rc = lw_parse_stacks(&c)) &&
	    !(rc = lw_parse_bases(&c)) &&
	    !(rc = lw_parse_counters(&c)) &&
	    !(rc = lw_parse_ccounters(&c)) &&
	    !(rc = lw_parse_live(&c)) &&
	    !(rc = lw_parse_types(&c)))
		rc = lw_parse_process(&c);
	if (rc == 0)
		lw_hide_unresolved(&c);
	if (rc) {
		if (rc == -ENOMEM && err && errlen)
			snprintf(err, errlen, "out of memory");
		lw_file_free(f);
		return rc;
	}
	if (err && errlen)
		err[0] = '\0';
	*out = f;
	return 0;
}

int lw_file_parse(const void *buf, size_t len, lw_file **out, char *err, size_t errlen)
{
	uint8_t *copy;

	if (out)
		*out = NULL;
	if (!out || (!buf && len)) {
		if (err && errlen)
			snprintf(err, errlen, "invalid arguments");
		return -EINVAL;
	}
	copy = malloc(len ? len : 1);
	if (!copy) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (len)
		memcpy(copy, buf, len);
	return lw_parse_owned(copy, len, out, err, errlen);
}

int lw_msg_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
		lw_msg_oneline(err);
	}
	return code;
}

/* strerror is not thread-safe; the GNU strerror_r returns the message. */
#define LW_STRERROR(e, b) strerror_r((e), (b), sizeof(b))

/* Base files live next to the file itself: the directory of its real path
 * (a symbolic link to a snapshot finds the bases next to the snapshot). */
static int lw_open_resolve(const char *path, lw_file *f, char *err, size_t errlen)
{
	char *real = realpath(path, NULL), eb[128];
	const char *p = real ? real : path, *slash = strrchr(p, '/');
	char *dir;
	int dfd, e, rc;

	if (!slash)
		dir = strdup(".");
	else if (slash == p)
		dir = strdup("/");
	else
		dir = strndup(p, (size_t)(slash - p));
	free(real);
	if (!dir)
		return lw_msg_fail(err, errlen, -ENOMEM, "out of memory");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	e = errno;
	free(dir);
	if (dfd < 0)
		return lw_msg_fail(err, errlen, -e, "cannot open its directory for base files: %s",
				    LW_STRERROR(e, eb));
	rc = lw_file_resolve(f, lw_base_read_dir, &dfd, err, errlen);
	close(dfd);
	return rc;
}

int lw_file_open(const char *path, lw_file **out, char *err, size_t errlen)
{
	char eb[128];
	struct stat st;
	uint8_t *bytes;
	size_t size, got = 0;
	int fd, e, rc;

	if (out)
		*out = NULL;
	if (!path || !out)
		return lw_msg_fail(err, errlen, -EINVAL, "invalid arguments");
	/* O_NONBLOCK: opening a FIFO must not wait for a writer (regular files
	 * ignore the flag; anything else is refused below). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		e = errno;
		return lw_msg_fail(err, errlen, -e, "cannot open: %s", LW_STRERROR(e, eb));
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		return lw_msg_fail(err, errlen, -e, "cannot stat: %s", LW_STRERROR(e, eb));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		if (S_ISDIR(st.st_mode))
			return lw_msg_fail(err, errlen, -EISDIR, "is a directory, not a .lwd file");
		return lw_msg_fail(err, errlen, -EINVAL, "not a regular file");
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > LWD_MAX_FILE_SIZE ||
	    (uint64_t)st.st_size > SIZE_MAX - 1) {
		close(fd);
		return lw_msg_fail(err, errlen, -EFBIG, "file is %lld bytes, above the %llu-byte limit",
				    (long long)st.st_size, LW_ULL(LWD_MAX_FILE_SIZE));
	}
	size = (size_t)st.st_size;
	bytes = malloc(size ? size : 1);
	if (!bytes) {
		close(fd);
		return lw_msg_fail(err, errlen, -ENOMEM, "out of memory reading %zu bytes", size);
	}
	while (got < size) {
		ssize_t r = read(fd, bytes + got, size - got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			free(bytes);
			close(fd);
			return lw_msg_fail(err, errlen, -e, "read error: %s", LW_STRERROR(e, eb));
		}
		if (r == 0)
			break;   /* the file shrank: parse reports the truncation */
		got += (size_t)r;
	}
	close(fd);
	rc = lw_parse_owned(bytes, got, out, err, errlen);
	if (rc == 0 && (*out)->unresolved) {
		rc = lw_open_resolve(path, *out, err, errlen);
		if (rc) {
			lw_file_free(*out);
			*out = NULL;
		}
	}
	return rc;
}

int lw_file_section(const lw_file *f, uint32_t type, const uint8_t **data,
		    uint64_t *len, uint32_t *count)
{
	const lw_file_priv *pv;
	const lw_sec_loc *s;

	if (!f || !f->priv_ || !lw_is_known(type))
		return -ENOENT;
	pv = f->priv_;
	s = &pv->sec[type];
	if (!s->hdr)
		return -ENOENT;
	if (data)
		*data = pv->bytes + s->off;
	if (len)
		*len = s->len;
	if (count)
		*count = s->count;
	return 0;
}
