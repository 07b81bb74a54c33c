/* fuzz_lwd_base.c — libFuzzer target for base-file resolution (format
 * minor 2): a snapshot together with the files it refers to.
 *
 * Input: a bundle "LWBUNDLE" + u32 n (<= 4) + n times (u32 name length,
 * name, u32 data length, data), little-endian; a malformed bundle is just
 * ignored. Part 0 is parsed with lw_file_parse; when it refers to bases,
 * lw_file_resolve reads them from the other parts by name. An accepted
 * result is walked like fuzz_lwd_reader does (every index it promises is
 * checked against the arrays), so ASan/UBSan see anything the resolution
 * let through; a refusal must say why on one line.
 * The custom mutator re-seals CRCs in every part and re-points the
 * snapshot's STACK_BASE (length, CRC) and COUNTER_BASE (size, CCOUNTERS
 * CRC) at the mutated bases for 7 of 8 mutations, so mutations reach the
 * stack-file parser and the keyframe merge instead of stopping at the
 * reference checks.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lwd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int lw_fuzz_accepts(const uint8_t *data, size_t size);

#define LW_FB_MAX 4
#define LW_FB_MAGIC "LWBUNDLE"

struct lw_fb {
	size_t n;
	char name[LW_FB_MAX][64];
	const uint8_t *data[LW_FB_MAX];
	size_t len[LW_FB_MAX];
	size_t off[LW_FB_MAX];   /* where each data part starts in the input */
};

static uint32_t fb_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int fb_split(const uint8_t *d, size_t size, struct lw_fb *b)
{
	size_t pos = 12;

	if (size < 12 || memcmp(d, LW_FB_MAGIC, 8))
		return -1;
	b->n = fb_rd32(d + 8);
	if (b->n < 1 || b->n > LW_FB_MAX)
		return -1;
	for (size_t i = 0; i < b->n; i++) {
		uint32_t nl, dl;

		if (size - pos < 4 || (nl = fb_rd32(d + pos)) >= sizeof(b->name[0]) ||
		    size - pos - 4 < nl)
			return -1;
		memcpy(b->name[i], d + pos + 4, nl);
		b->name[i][nl] = '\0';
		pos += 4 + nl;
		if (size - pos < 4 || (dl = fb_rd32(d + pos)) > size - pos - 4)
			return -1;
		b->data[i] = d + pos + 4;
		b->len[i] = dl;
		b->off[i] = pos + 4;
		pos += 4 + dl;
	}
	return 0;
}

static int fb_read(void *arg, const char *name, uint64_t want, uint8_t **buf, size_t *len,
		   char *err, size_t errlen)
{
	const struct lw_fb *b = arg;

	for (size_t i = 1; i < b->n; i++) {
		if (strcmp(b->name[i], name))
			continue;
		size_t n = b->len[i] > want ? (size_t)want + 1 : b->len[i];

		*buf = malloc(n ? n : 1);
		if (!*buf)
			return -ENOMEM;
		memcpy(*buf, b->data[i], n);
		*len = n;
		return 0;
	}
	if (errlen)
		strncpy(err, "not in the bundle", errlen - 1), err[errlen - 1] = '\0';
	return -ENOENT;
}

static volatile uint64_t lw_fb_sink;

static uint64_t fb_walk(const lw_file *f)
{
	uint64_t h = f->n_bases;

	if (f->unresolved && (f->n_stacks || f->n_counters))
		abort();
	for (size_t i = 0; i < f->n_bases; i++)
		h += strlen(f->bases[i].name) + f->bases[i].seq + f->bases[i].length;
	if (f->process.exe_module != LWD_NONE) {
		if (f->process.exe_module >= f->n_modules)
			abort();
		h += strlen(f->modules[f->process.exe_module].path);
	}
	for (size_t i = 0; i < f->n_modules; i++)
		h += strlen(f->modules[i].path) + f->modules[i].build_id_len;
	for (size_t i = 0; i < f->n_segments; i++) {
		if (f->segments[i].module >= f->n_modules)
			abort();
		h += f->segments[i].start;
	}
	for (size_t i = 0; i < f->n_stacks; i++) {
		if (f->stacks[i].depth < 1 || f->stacks[i].depth > LWD_MAX_DEPTH)
			abort();
		h += f->stacks[i].pcs[f->stacks[i].depth - 1];
	}
	for (size_t i = 0; i < f->n_counters; i++) {
		const lw_counter *c = &f->counters[i];

		if (c->stack >= f->n_stacks || (i > 0 && c->stack <= f->counters[i - 1].stack) ||
		    !(c->alloc_objects_est >= 0) || !(c->free_bytes_est >= 0))
			abort();
		h += c->alloc_samples + c->free_sample_bytes + f->stacks[c->stack].depth;
	}
	return h;
}

static int fb_run(const uint8_t *data, size_t size, int *accepted)
{
	struct lw_fb b;
	char err[512];
	lw_file *f = NULL;
	int rc;

	*accepted = 0;
	if (fb_split(data, size, &b))
		return 0;
	rc = lw_file_parse(b.data[0], b.len[0], &f, err, sizeof(err));
	if (rc == 0 && f->unresolved) {
		rc = lw_file_resolve(f, fb_read, &b, err, sizeof(err));
		if (rc && !f->unresolved)
			abort();   /* a failed resolution must leave the file as it was */
	}
	if (rc == 0) {
		lw_fb_sink += fb_walk(f);
		*accepted = !f->unresolved;
	} else if ((rc != LWD_EFORMAT && rc != LWD_EVERSION && rc != LWD_EBASE && rc != -ENOENT &&
		    rc != -ENOMEM) || err[0] == '\0' || memchr(err, '\n', strlen(err))) {
		abort();
	}
	lw_file_free(f);
	return 0;
}

#ifdef LW_LIBFUZZER
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

static void fb_wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t fb_rd64(const uint8_t *p)
{
	return (uint64_t)fb_rd32(p) | (uint64_t)fb_rd32(p + 4) << 32;
}

static void fb_wr64(uint8_t *p, uint64_t v)
{
	fb_wr32(p, (uint32_t)v);
	fb_wr32(p + 4, (uint32_t)(v >> 32));
}


/* Header CRC and every section (or stack-file chunk) CRC of one part. */
static void fb_reseal(uint8_t *d, size_t size)
{
	size_t off = LWD_HEADER_SIZE;

	if (size < LWD_HEADER_SIZE)
		return;
	fb_wr32(d + 60, lw_crc32(0, d, 60));
	while (size - off >= LWD_SECTION_HEADER_SIZE) {
		uint64_t plen = fb_rd64(d + off + 8);

		if (plen > size - off - LWD_SECTION_HEADER_SIZE)
			break;
		fb_wr32(d + off + 20, lw_crc32(0, d + off + LWD_SECTION_HEADER_SIZE, (size_t)plen));
		plen = (plen + 7) & ~(uint64_t)7;
		if (plen > size - off - LWD_SECTION_HEADER_SIZE)
			break;
		off += LWD_SECTION_HEADER_SIZE + (size_t)plen;
	}
}

/* Payload of the first section of `type` in a part, or NULL. */
static uint8_t *fb_section(uint8_t *d, size_t size, uint32_t type, uint32_t *crc)
{
	size_t off = LWD_HEADER_SIZE;

	while (size >= LWD_HEADER_SIZE && size - off >= LWD_SECTION_HEADER_SIZE) {
		uint64_t plen = fb_rd64(d + off + 8);

		if (fb_rd32(d + off) == type && plen <= size - off - LWD_SECTION_HEADER_SIZE) {
			if (crc)
				*crc = fb_rd32(d + off + 20);
			return d + off + LWD_SECTION_HEADER_SIZE;
		}
		plen = (plen + 7) & ~(uint64_t)7;
		if (plen > size - off - LWD_SECTION_HEADER_SIZE)
			break;
		off += LWD_SECTION_HEADER_SIZE + (size_t)plen;
	}
	return NULL;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	struct lw_fb b;
	uint8_t *sb, *cb;

	size = LLVMFuzzerMutate(data, size, max_size);
	if (seed % 8 == 0 || fb_split(data, size, &b))
		return size;
	for (size_t i = 1; i < b.n; i++)
		fb_reseal(data + b.off[i], b.len[i]);
	sb = fb_section(data + b.off[0], b.len[0], LWD_SEC_STACK_BASE, NULL);
	cb = fb_section(data + b.off[0], b.len[0], LWD_SEC_COUNTER_BASE, NULL);
	for (size_t i = 1; i < b.n; i++) {
		uint8_t *part = data + b.off[i];
		uint32_t crc;

		if (b.len[i] < LWD_HEADER_SIZE)
			continue;
		if (sb && fb_rd32(part + 16) == LWD_KIND_STACKS) {
			fb_wr64(sb + 8, b.len[i]);
			fb_wr32(sb + 24, lw_crc32(0, part, b.len[i]));
		} else if (cb && fb_section(part, b.len[i], LWD_SEC_CCOUNTERS, &crc)) {
			fb_wr64(cb + 16, b.len[i]);
			fb_wr32(cb + 24, crc);
		}
	}
	fb_reseal(data + b.off[0], b.len[0]);
	return size;
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int accepted;

	return fb_run(data, size, &accepted);
}

/* For fuzz_replay's seed-name check: the snapshot parses and resolves. */
int lw_fuzz_accepts(const uint8_t *data, size_t size)
{
	int accepted;

	fb_run(data, size, &accepted);
	return accepted;
}
