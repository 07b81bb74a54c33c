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

#include "lwd.h"

_Static_assert(sizeof(uint64_t) == 8 && sizeof(double) == 8, "64-bit types");

#define LW_SEC_MAX_KNOWN 12   /* highest non-END section type we know */

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
	uint64_t *pcs;    /* all stack frames, decoded */
} lw_file_priv;

typedef struct lw_parse {
	const uint8_t *p;
	size_t len;
	char *err;
	size_t errlen;
	int strict;       /* minor <= ours: reserved fields must be zero */
	uint16_t minor;
	lw_file *f;
	lw_file_priv *pv;
} lw_parse;

static uint16_t lw_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t lw_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t lw_rd64(const uint8_t *p)
{
	return (uint64_t)lw_rd32(p) | (uint64_t)lw_rd32(p + 4) << 32;
}

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
	if (v != LWD_KIND_SNAPSHOT && v != LWD_KIND_DUMP)
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
	return type >= 1 && type <= LW_SEC_MAX_KNOWN;
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
			if (c->f->kind != LWD_KIND_DUMP && type >= LWD_SEC_LIVE_BLOCKS)
				return LW_BAD(c, off, "%s section in a snapshot; only dumps may have it", nm);
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

static int lw_parse_stacks(lw_parse *c)
{
	const lw_sec_loc *s = &c->pv->sec[LWD_SEC_STACKS];
	const uint64_t min_rec = LWD_STACK_HEADER_SIZE + 8;
	lw_file *f = c->f;
	uint64_t pos = 0, total = 0, k = 0;

	if (!s->hdr)
		return 0;
	if (s->count > s->len / min_rec)
		return LW_BAD(c, s->hdr + 16, "STACKS count %u cannot fit in %llu bytes",
			      s->count, LW_ULL(s->len));
	/* Pass 1: validate every record and count frames. */
	for (uint32_t i = 0; i < s->count; i++) {
		const uint8_t *r = c->p + s->off + pos;
		uint32_t depth, flags;

		if (s->len - pos < LWD_STACK_HEADER_SIZE)
			return LW_BAD(c, s->off + pos, "STACKS record %u: truncated record header", i);
		depth = lw_rd32(r);
		flags = lw_rd32(r + 4);
		if (depth < 1 || depth > LWD_MAX_DEPTH)
			return LW_BAD(c, s->off + pos, "STACKS record %u: depth %u outside 1..%d",
				      i, depth, LWD_MAX_DEPTH);
		if (c->strict && (flags & ~LWD_STACKF_TRUNCATED))
			return LW_BAD(c, s->off + pos + 4, "STACKS record %u: unknown flags 0x%x", i, flags);
		if ((s->len - pos - LWD_STACK_HEADER_SIZE) / 8 < depth)
			return LW_BAD(c, s->off + pos, "STACKS record %u: %u frames run past the end of the section",
				      i, depth);
		pos += LWD_STACK_HEADER_SIZE + 8 * (uint64_t)depth;
		total += depth;
	}
	if (pos != s->len)
		return LW_BAD(c, s->off + pos, "STACKS section: %llu bytes after the last of %u records",
			      LW_ULL(s->len - pos), s->count);
	/* Pass 2: decode. total * 8 <= s->len, so both allocations are bounded. */
	f->stacks = lw_alloc(s->count, sizeof(*f->stacks));
	c->pv->pcs = lw_alloc((size_t)total, sizeof(uint64_t));
	if ((s->count && !f->stacks) || (total && !c->pv->pcs))
		return -ENOMEM;
	pos = 0;
	for (uint32_t i = 0; i < s->count; i++) {
		const uint8_t *r = c->p + s->off + pos;
		lw_stack *st = &f->stacks[i];

		st->depth = lw_rd32(r);
		st->flags = lw_rd32(r + 4);
		st->pcs = c->pv->pcs + k;
		for (uint32_t j = 0; j < st->depth; j++)
			c->pv->pcs[k++] = lw_rd64(r + LWD_STACK_HEADER_SIZE + 8 * (size_t)j);
		pos += LWD_STACK_HEADER_SIZE + 8 * (uint64_t)st->depth;
	}
	f->n_stacks = s->count;
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
	/* One bit per stack; n_stacks <= file size / 16. */
	seen = calloc(f->n_stacks / 8 + 1, 1);
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
		if (k->stack >= f->n_stacks) {
			rc = LW_BAD(c, at, "COUNTERS record %u: stack %u outside the %zu stacks",
				    i, k->stack, f->n_stacks);
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
	p->exit_status = lw_rd32(r + 124);
	if (p->exe_module != LWD_NONE && p->exe_module >= c->f->n_modules)
		return LW_BAD(c, at + 100, "PROCESS record 0: exe_module %u outside the %zu modules",
			      p->exe_module, c->f->n_modules);
	if (p->sample_rate == 0)
		return LW_BAD(c, at + 48, "PROCESS record 0: sample_rate is 0 (must be >= 1)");
	if (c->strict && (p->reason < LWD_REASON_INTERVAL || p->reason > LWD_REASON_API))
		return LW_BAD(c, at + 120, "PROCESS record 0: unknown reason %u", p->reason);
	if (c->strict && p->exit_status != 0 &&
	    (p->reason != LWD_REASON_EXIT || (p->exit_status & ~0xffu) != LWD_EXIT_STATUS_KNOWN))
		return LW_BAD(c, at + 124, "PROCESS record 0: exit_status 0x%x is neither 0 nor "
			      "0x100 + a status in an exit snapshot", p->exit_status);
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
		free(pv);
	}
	free(f->modules);
	free(f->segments);
	free(f->stacks);
	free(f->counters);
	free(f->live);
	free(f);
}

/* Takes ownership of bytes (freed on failure). */
static int lw_parse_owned(uint8_t *bytes, size_t len, lw_file **out, char *err, size_t errlen)
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
	    !(rc = lw_parse_counters(&c)) &&
	    !(rc = lw_parse_live(&c)) &&
	    !(rc = lw_parse_types(&c)))
		rc = lw_parse_process(&c);
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

__attribute__((format(printf, 4, 5)))
static int lw_open_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* strerror is not thread-safe; the GNU strerror_r returns the message. */
#define LW_STRERROR(e, b) strerror_r((e), (b), sizeof(b))

int lw_file_open(const char *path, lw_file **out, char *err, size_t errlen)
{
	char eb[128];
	struct stat st;
	uint8_t *bytes;
	size_t size, got = 0;
	int fd, e;

	if (out)
		*out = NULL;
	if (!path || !out)
		return lw_open_fail(err, errlen, -EINVAL, "invalid arguments");
	/* O_NONBLOCK: opening a FIFO must not wait for a writer (regular files
	 * ignore the flag; anything else is refused below). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		e = errno;
		return lw_open_fail(err, errlen, -e, "cannot open: %s", LW_STRERROR(e, eb));
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		return lw_open_fail(err, errlen, -e, "cannot stat: %s", LW_STRERROR(e, eb));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		if (S_ISDIR(st.st_mode))
			return lw_open_fail(err, errlen, -EISDIR, "is a directory, not a .lwd file");
		return lw_open_fail(err, errlen, -EINVAL, "not a regular file");
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > LWD_MAX_FILE_SIZE ||
	    (uint64_t)st.st_size > SIZE_MAX - 1) {
		close(fd);
		return lw_open_fail(err, errlen, -EFBIG, "file is %lld bytes, above the %llu-byte limit",
				    (long long)st.st_size, LW_ULL(LWD_MAX_FILE_SIZE));
	}
	size = (size_t)st.st_size;
	bytes = malloc(size ? size : 1);
	if (!bytes) {
		close(fd);
		return lw_open_fail(err, errlen, -ENOMEM, "out of memory reading %zu bytes", size);
	}
	while (got < size) {
		ssize_t r = read(fd, bytes + got, size - got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			free(bytes);
			close(fd);
			return lw_open_fail(err, errlen, -e, "read error: %s", LW_STRERROR(e, eb));
		}
		if (r == 0)
			break;   /* the file shrank: parse reports the truncation */
		got += (size_t)r;
	}
	close(fd);
	return lw_parse_owned(bytes, got, out, err, errlen);
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
