/* test_reports_pprof.c — unit tests of analyze/report/pprof.c: the protobuf
 * encoder (checked against hand-computed bytes and decoded back with the
 * small independent decoder below), the pprof profile (gunzipped, decoded,
 * and compared field by field with the lw_profile it came from), folded
 * stacks and the legacy heap text format.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pprof.h"
#include "../check.h"

/* ---- a tiny protobuf decoder (independent of the encoder) --------------- */

typedef struct rd {
	const uint8_t *p, *end;
	int bad;
} rd;

static uint64_t rd_varint(rd *r)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 70; shift += 7) {
		if (r->p >= r->end) {
			r->bad = 1;
			return 0;
		}
		uint8_t b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	r->bad = 1;
	return 0;
}

/* Next field: returns 0 at the end. For LEN fields sub is the body. */
static int rd_field(rd *r, uint32_t *field, int *wt, uint64_t *val, rd *sub)
{
	if (r->p >= r->end || r->bad)
		return 0;
	uint64_t key = rd_varint(r);
	*field = (uint32_t)(key >> 3);
	*wt = (int)(key & 7);
	if (*wt == 0) {
		*val = rd_varint(r);
	} else if (*wt == 2) {
		uint64_t n = rd_varint(r);
		if (n > (uint64_t)(r->end - r->p)) {
			r->bad = 1;
			return 0;
		}
		sub->p = r->p;
		sub->end = r->p + n;
		sub->bad = 0;
		r->p += n;
	} else {
		r->bad = 1;
		return 0;
	}
	return !r->bad;
}

/* Decoded profile (only what the tests compare). */
typedef struct dloc {
	uint64_t id, mapping, address;
	size_t n_lines;
	uint64_t fn[16];
	int64_t line[16];
} dloc;
typedef struct dfn {
	uint64_t id;
	int64_t name, system_name, file;
} dfn;
typedef struct dmap {
	uint64_t id, start, limit, offset;
	int64_t file, build_id;
	int has_functions;
} dmap;
typedef struct dsample {
	size_t n_locs, n_vals;
	uint64_t locs[64];
	int64_t vals[8];
} dsample;
typedef struct dprof {
	char *strings[256];
	size_t n_strings;
	int64_t st_type[8], st_unit[8];
	size_t n_st;
	dsample samples[64];
	size_t n_samples;
	dloc locs[128];
	size_t n_locs;
	dfn fns[64];
	size_t n_fns;
	dmap maps[8];
	size_t n_maps;
	int64_t time_nanos, period, default_st, pt_type, pt_unit, comment;
} dprof;

static void decode_packed(rd *sub, uint64_t *out, size_t *n, size_t cap)
{
	while (sub->p < sub->end && !sub->bad && *n < cap)
		out[(*n)++] = rd_varint(sub);
}

static int decode_profile(const uint8_t *buf, size_t len, dprof *d)
{
	memset(d, 0, sizeof(*d));
	rd r = { buf, buf + len, 0 }, sub, s2, s3;
	uint32_t f, f2, f3;
	int wt, wt2, wt3;
	uint64_t v, v2, v3;
	while (rd_field(&r, &f, &wt, &v, &sub)) {
		switch (f) {
		case 1:
		case 11: {
			int64_t t = 0, u = 0;
			while (rd_field(&sub, &f2, &wt2, &v2, &s2))
				if (f2 == 1)
					t = (int64_t)v2;
				else if (f2 == 2)
					u = (int64_t)v2;
			if (f == 1 && d->n_st < 8) {
				d->st_type[d->n_st] = t;
				d->st_unit[d->n_st++] = u;
			} else {
				d->pt_type = t;
				d->pt_unit = u;
			}
			break;
		}
		case 2: {
			dsample *s = &d->samples[d->n_samples < 64 ? d->n_samples++ : 63];
			while (rd_field(&sub, &f2, &wt2, &v2, &s2)) {
				if (f2 == 1 && wt2 == 2)
					decode_packed(&s2, s->locs, &s->n_locs, 64);
				else if (f2 == 2 && wt2 == 2)
					decode_packed(&s2, (uint64_t *)s->vals, &s->n_vals, 8);
			}
			break;
		}
		case 3: {
			dmap *m = &d->maps[d->n_maps < 8 ? d->n_maps++ : 7];
			while (rd_field(&sub, &f2, &wt2, &v2, &s2)) {
				if (f2 == 1) m->id = v2;
				if (f2 == 2) m->start = v2;
				if (f2 == 3) m->limit = v2;
				if (f2 == 4) m->offset = v2;
				if (f2 == 5) m->file = (int64_t)v2;
				if (f2 == 6) m->build_id = (int64_t)v2;
				if (f2 == 7) m->has_functions = (int)v2;
			}
			break;
		}
		case 4: {
			dloc *l = &d->locs[d->n_locs < 128 ? d->n_locs++ : 127];
			while (rd_field(&sub, &f2, &wt2, &v2, &s2)) {
				if (f2 == 1) l->id = v2;
				if (f2 == 2) l->mapping = v2;
				if (f2 == 3) l->address = v2;
				if (f2 == 4 && l->n_lines < 16) {
					while (rd_field(&s2, &f3, &wt3, &v3, &s3)) {
						if (f3 == 1) l->fn[l->n_lines] = v3;
						if (f3 == 2) l->line[l->n_lines] = (int64_t)v3;
					}
					l->n_lines++;
				}
			}
			break;
		}
		case 5: {
			dfn *fn = &d->fns[d->n_fns < 64 ? d->n_fns++ : 63];
			while (rd_field(&sub, &f2, &wt2, &v2, &s2)) {
				if (f2 == 1) fn->id = v2;
				if (f2 == 2) fn->name = (int64_t)v2;
				if (f2 == 3) fn->system_name = (int64_t)v2;
				if (f2 == 4) fn->file = (int64_t)v2;
			}
			break;
		}
		case 6:
			if (d->n_strings < 256)
				d->strings[d->n_strings++] = strndup((const char *)sub.p,
								     (size_t)(sub.end - sub.p));
			break;
		case 9: d->time_nanos = (int64_t)v; break;
		case 12: d->period = (int64_t)v; break;
		case 13: d->comment = (int64_t)v; break;
		case 14: d->default_st = (int64_t)v; break;
		default: break;
		}
	}
	return r.bad ? -1 : 0;
}

static void dprof_free(dprof *d)
{
	for (size_t i = 0; i < d->n_strings; i++)
		free(d->strings[i]);
}

static const char *dstr(const dprof *d, int64_t i)
{
	return i >= 0 && (size_t)i < d->n_strings ? d->strings[i] : "<bad index>";
}

/* ---- encoder primitives -------------------------------------------------- */

static void test_varints(void)
{
	static const struct { uint64_t v; size_t n; uint8_t b[10]; } cases[] = {
		{ 0, 1, { 0x00 } },
		{ 1, 1, { 0x01 } },
		{ 127, 1, { 0x7f } },
		{ 128, 2, { 0x80, 0x01 } },
		{ 300, 2, { 0xac, 0x02 } },
		{ 16384, 3, { 0x80, 0x80, 0x01 } },
		{ UINT64_MAX, 10, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 } },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lw_pb pb;
		lw_pb_init(&pb);
		lw_pb_varint(&pb, cases[i].v);
		CHECK(pb.len == cases[i].n && !memcmp(pb.buf, cases[i].b, cases[i].n),
		      "varint %" PRIu64 ": %zu bytes", cases[i].v, pb.len);
		lw_pb_free(&pb);
	}
	/* field 1 varint 150 = 08 96 01 (the protobuf documentation's example) */
	lw_pb pb;
	lw_pb_init(&pb);
	lw_pb_uint64(&pb, 1, 150);
	CHECK(pb.len == 3 && pb.buf[0] == 0x08 && pb.buf[1] == 0x96 && pb.buf[2] == 0x01,
	      "field 1 = 150");
	/* zero scalars are omitted, -1 as int64 takes 10 bytes + key */
	lw_pb_uint64(&pb, 2, 0);
	CHECK(pb.len == 3, "zero omitted");
	lw_pb_int64(&pb, 2, -1);
	CHECK(pb.len == 3 + 11, "int64 -1 is 11 bytes with its key, got %zu", pb.len - 3);
	/* strings: key, length, bytes; empty strings are kept */
	lw_pb_string(&pb, 6, "");
	lw_pb_string(&pb, 6, "abc");
	CHECK(pb.len == 14 + 2 + 5 && pb.buf[14] == 0x32 && pb.buf[15] == 0 &&
	      pb.buf[16] == 0x32 && pb.buf[17] == 3 && !memcmp(pb.buf + 18, "abc", 3),
	      "strings");
	lw_pb_free(&pb);
}

static void test_nested(void)
{
	/* a nested message whose body needs a 2-byte length, inside another */
	lw_pb pb;
	lw_pb_init(&pb);
	size_t outer = lw_pb_msg_begin(&pb, 4);
	lw_pb_uint64(&pb, 1, 7);
	size_t inner = lw_pb_msg_begin(&pb, 2);
	for (int i = 0; i < 100; i++)
		lw_pb_uint64(&pb, 3, 200);    /* 3 bytes each: 300-byte body */
	lw_pb_msg_end(&pb, inner);
	lw_pb_uint64(&pb, 5, 9);
	lw_pb_msg_end(&pb, outer);
	uint64_t packed[3] = { 1, 300, 0 };
	lw_pb_packed_uint64(&pb, 8, packed, 3);
	CHECK(!pb.err, "no error");

	rd r = { pb.buf, pb.buf + pb.len, 0 }, sub, s2, s3;
	uint32_t f, f2, f3;
	int wt, wt2, wt3;
	uint64_t v, v2, v3;
	int n_outer = 0, n_inner_fields = 0, saw7 = 0, saw9 = 0;
	size_t n_packed = 0;
	uint64_t got[8];
	while (rd_field(&r, &f, &wt, &v, &sub)) {
		if (f == 4 && wt == 2) {
			n_outer++;
			while (rd_field(&sub, &f2, &wt2, &v2, &s2)) {
				if (f2 == 1)
					saw7 = v2 == 7;
				if (f2 == 5)
					saw9 = v2 == 9;
				if (f2 == 2) {
					CHECK(s2.end - s2.p == 300, "inner body %td", s2.end - s2.p);
					while (rd_field(&s2, &f3, &wt3, &v3, &s3))
						n_inner_fields += f3 == 3 && v3 == 200;
				}
			}
		}
		if (f == 8 && wt == 2)
			decode_packed(&sub, got, &n_packed, 8);
	}
	CHECK(!r.bad, "decodes");
	CHECK(n_outer == 1 && saw7 && saw9 && n_inner_fields == 100,
	      "outer %d 7:%d 9:%d inner %d", n_outer, saw7, saw9, n_inner_fields);
	CHECK(n_packed == 3 && got[0] == 1 && got[1] == 300 && got[2] == 0, "packed %zu", n_packed);
	lw_pb_free(&pb);
}

/* ---- a synthetic profile ------------------------------------------------- */

static lw_sym_frame fr(const char *fn, const char *file, int line, int inlined)
{
	lw_sym_frame f = { fn, file, line, "app", 0, inlined, 0 };
	return f;
}

/* site 0: leak_fn <- handler <- main ; site 1: helper (inlined into reader)
 * <- main ; site 2: cache_put <- handler <- main, freed entirely (inuse 0);
 * site 3: all zero (omitted from samples). */
static lw_sym_frame s0[] = { { "leak_fn", "/src/leak.c", 12, "app", 0, 0, 0 },
			     { "handler", "/src/srv.c", 40, "app", 0, 0, 0 },
			     { "main", "/src/main.c", 7, "app", 0, 0, 0 } };
static lw_sym_frame s1[3];
static lw_sym_frame s2[3];
static lw_sym_frame s3[1];
static uint64_t pcs0[] = { 0x401010, 0x402020, 0x403030 };
static uint64_t pcs1[] = { 0x7f0000001000, 0x401234, 0x403040 }; /* +1 allocator pc in libc */
static uint64_t pcs2[] = { 0x401500, 0x402028, 0x403030 };
static uint64_t pcs3[] = { 0x401600 };

static void make_profile(lw_profile *p, lw_site *sites, lw_values *vals, lw_mapping *maps,
			 uint32_t *depth, uint64_t **pcs)
{
	s1[0] = fr("helper", "/src/util.h", 5, 1);
	s1[1] = fr("reader", "/src/read.c", 88, 0);
	s1[2] = fr("main", "/src/main.c", 9, 0);
	s2[0] = fr("cache_put", "/src/cache.c", 3, 0);
	s2[1] = fr("handler", "/src/srv.c", 41, 0);
	s2[2] = fr("main", "/src/main.c", 7, 0);
	s3[0] = fr("unused", "", 0, 0);
	memset(p, 0, sizeof(*p));
	sites[0] = (lw_site){ .id = 1, .n_frames = 3, .frames = s0 };
	sites[1] = (lw_site){ .id = 2, .n_frames = 3, .frames = s1 };
	sites[2] = (lw_site){ .id = 3, .n_frames = 3, .frames = s2 };
	sites[3] = (lw_site){ .id = 4, .n_frames = 1, .frames = s3 };
	vals[0] = (lw_values){ 1000, 64000, 900, 57600.4 };
	vals[1] = (lw_values){ 10, 5120, 10, 5120 };
	vals[2] = (lw_values){ 50, 800, 0, 0 };
	vals[3] = (lw_values){ 0, 0, 0, 0 };
	maps[0] = (lw_mapping){ 0x400000, 0x410000, 0x0, "/usr/bin/app", "0123abcd" };
	maps[1] = (lw_mapping){ 0x7f0000000000, 0x7f0000100000, 0x28000, "/lib/libc.so.6", "" };
	depth[0] = 3;
	depth[1] = 3;
	depth[2] = 3;
	depth[3] = 1;
	pcs[0] = pcs0;
	pcs[1] = pcs1;
	pcs[2] = pcs2;
	pcs[3] = pcs3;
	p->snap.seq = 5;
	p->snap.pid = 1234;
	p->snap.exe = "/usr/bin/app";
	p->snap.wall_ns = 1700000000123456789ull;
	p->snap.t_s = 300;
	p->snap.sample_rate = 524288;
	p->snap.kind = 1;
	p->n = 4;
	p->sites = sites;
	p->values = vals;
	p->n_mappings = 2;
	p->mappings = maps;
	p->raw_depth = depth;
	p->raw_pcs = pcs;
}

static int inflate_all(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 16) != Z_OK)   /* gzip only */
		return -1;
	size_t cap = 1 << 16;
	uint8_t *buf = malloc(cap);
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	int rc;
	do {
		if (zs.total_out == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		zs.next_out = buf + zs.total_out;
		zs.avail_out = (uInt)(cap - zs.total_out);
		rc = inflate(&zs, Z_NO_FLUSH);
	} while (rc == Z_OK);
	*out_len = zs.total_out;
	inflateEnd(&zs);
	*out = buf;
	return rc == Z_STREAM_END ? 0 : -1;
}

static const dloc *find_loc(const dprof *d, uint64_t id)
{
	for (size_t i = 0; i < d->n_locs; i++)
		if (d->locs[i].id == id)
			return &d->locs[i];
	return NULL;
}

static const dfn *find_fn(const dprof *d, uint64_t id)
{
	for (size_t i = 0; i < d->n_fns; i++)
		if (d->fns[i].id == id)
			return &d->fns[i];
	return NULL;
}

static void test_profile(void)
{
	lw_profile p;
	lw_site sites[4];
	lw_values vals[4];
	lw_mapping maps[2];
	uint32_t depth[4];
	uint64_t *pcs[4];
	make_profile(&p, sites, vals, maps, depth, pcs);

	/* through the gzip file path, as the command does */
	char *mem = NULL;
	size_t mem_len = 0;
	FILE *f = open_memstream(&mem, &mem_len);
	CHECK(lw_pprof_write(&p, f) == 0, "write");
	fclose(f);
	CHECK(mem_len > 18 && (uint8_t)mem[0] == 0x1f && (uint8_t)mem[1] == 0x8b, "gzip magic");
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	CHECK(inflate_all((const uint8_t *)mem, mem_len, &raw, &raw_len) == 0, "gunzip");
	dprof d;
	CHECK(decode_profile(raw, raw_len, &d) == 0, "decode");

	CHECK(d.n_strings > 0 && !strcmp(d.strings[0], ""), "string_table[0] is empty");
	for (size_t i = 0; i < d.n_strings; i++)
		for (size_t j = i + 1; j < d.n_strings; j++)
			CHECK(strcmp(d.strings[i], d.strings[j]), "string %zu repeated", i);
	static const char *const types[4][2] = { { "alloc_objects", "count" },
						 { "alloc_space", "bytes" },
						 { "inuse_objects", "count" },
						 { "inuse_space", "bytes" } };
	CHECK(d.n_st == 4, "4 sample types, got %zu", d.n_st);
	for (size_t i = 0; i < 4 && i < d.n_st; i++)
		CHECK(!strcmp(dstr(&d, d.st_type[i]), types[i][0]) &&
		      !strcmp(dstr(&d, d.st_unit[i]), types[i][1]), "sample type %zu", i);
	CHECK(!strcmp(dstr(&d, d.default_st), "inuse_space"), "default sample type");
	CHECK(!strcmp(dstr(&d, d.pt_type), "space") && !strcmp(dstr(&d, d.pt_unit), "bytes"),
	      "period type");
	CHECK(d.period == 524288, "period %" PRId64, d.period);
	CHECK(d.time_nanos == 1700000000123456789ll, "time_nanos");
	CHECK(strstr(dstr(&d, d.comment), "pid 1234") != NULL, "comment");

	/* mappings */
	CHECK(d.n_maps == 2, "2 mappings");
	CHECK(d.maps[0].id == 1 && d.maps[0].start == 0x400000 && d.maps[0].limit == 0x410000 &&
	      !strcmp(dstr(&d, d.maps[0].file), "/usr/bin/app") &&
	      !strcmp(dstr(&d, d.maps[0].build_id), "0123abcd") && d.maps[0].has_functions,
	      "mapping 1");
	CHECK(d.maps[1].offset == 0x28000 && !strcmp(dstr(&d, d.maps[1].file), "/lib/libc.so.6"),
	      "mapping 2");

	/* samples: the three non-zero sites, in order; frames reconstruct */
	CHECK(d.n_samples == 3, "3 samples, got %zu", d.n_samples);
	for (size_t si = 0; si < 3 && si < d.n_samples; si++) {
		const dsample *s = &d.samples[si];
		const lw_site *site = &sites[si];
		const lw_values *v = &vals[si];
		CHECK(s->n_vals == 4 && s->vals[0] == llround(v->alloc_objects) &&
		      s->vals[1] == llround(v->alloc_bytes) && s->vals[2] == llround(v->inuse_objects) &&
		      s->vals[3] == llround(v->inuse_bytes), "values of sample %zu", si);
		/* flatten the lines of its locations, leaf first */
		size_t k = 0;
		for (size_t li = 0; li < s->n_locs; li++) {
			const dloc *l = find_loc(&d, s->locs[li]);
			CHECK(l != NULL, "location %" PRIu64 " exists", s->locs[li]);
			if (!l)
				continue;
			if (l->address) {
				CHECK(l->mapping >= 1 && l->mapping <= 2 &&
				      l->address >= d.maps[l->mapping - 1].start &&
				      l->address < d.maps[l->mapping - 1].limit,
				      "location address in its mapping");
			}
			for (size_t ln = 0; ln < l->n_lines; ln++, k++) {
				const dfn *fn = find_fn(&d, l->fn[ln]);
				CHECK(fn && k < site->n_frames &&
				      !strcmp(dstr(&d, fn->name), site->frames[k].function) &&
				      !strcmp(dstr(&d, fn->file), site->frames[k].file) &&
				      l->line[ln] == site->frames[k].line,
				      "sample %zu frame %zu", si, k);
			}
		}
		CHECK(k == site->n_frames, "sample %zu has %zu frames, want %zu", si, k,
		      site->n_frames);
	}
	/* site 1: the inline chain is one location with two lines, innermost
	 * first, at the raw pc aligned from the outer end (0x401234) */
	if (d.n_samples >= 2) {
		const dloc *l = find_loc(&d, d.samples[1].locs[0]);
		CHECK(d.samples[1].n_locs == 2, "inline site has 2 locations");
		CHECK(l && l->n_lines == 2 && l->address == 0x401234 && l->mapping == 1,
		      "inline location");
	}
	/* site 0 and site 2 share main's pc: one location */
	if (d.n_samples >= 3)
		CHECK(d.samples[0].locs[2] == d.samples[2].locs[2], "shared location");
	/* "main" in two lines is one function */
	int mains = 0;
	for (size_t i = 0; i < d.n_fns; i++)
		mains += !strcmp(dstr(&d, d.fns[i].name), "main");
	CHECK(mains == 1, "one main function, got %d", mains);
	dprof_free(&d);
	free(raw);
	free(mem);
}

static void test_collapsed(void)
{
	lw_profile p;
	lw_site sites[4];
	lw_values vals[4];
	lw_mapping maps[2];
	uint32_t depth[4];
	uint64_t *pcs[4];
	make_profile(&p, sites, vals, maps, depth, pcs);
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	CHECK(lw_export_collapsed(&p, LW_INUSE_SPACE, f) == 0, "collapsed");
	fclose(f);
	CHECK(!strcmp(mem, "main;handler;leak_fn 57600\nmain;reader;helper 5120\n"),
	      "collapsed inuse: [%s]", mem);
	free(mem);
	f = open_memstream(&mem, &len);
	CHECK(lw_export_collapsed(&p, LW_ALLOC_OBJECTS, f) == 0, "collapsed");
	fclose(f);
	CHECK(!strcmp(mem, "main;handler;leak_fn 1000\nmain;reader;helper 10\n"
			   "main;handler;cache_put 50\n"),
	      "collapsed alloc_objects: [%s]", mem);
	free(mem);
}

static void test_heap_text(void)
{
	lw_profile p;
	lw_site sites[4];
	lw_values vals[4];
	lw_mapping maps[2];
	uint32_t depth[4];
	uint64_t *pcs[4];
	make_profile(&p, sites, vals, maps, depth, pcs);
	p.snap.sample_rate = 64;
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	CHECK(lw_export_heap_text(&p, f) == 0, "text");
	fclose(f);
	long long hn[4];
	unsigned long long rate = 0;
	CHECK(sscanf(mem, "heap profile: %lld: %lld [%lld: %lld] @ heap_v2/%llu", &hn[0], &hn[1],
		     &hn[2], &hn[3], &rate) == 5, "header: %.80s", mem);
	CHECK(rate == 64, "rate");
	long long sum[4] = { 0, 0, 0, 0 };
	int lines = 0, maps_seen = 0, in_maps = 0;
	for (char *line = strtok(mem, "\n"); line; line = strtok(NULL, "\n")) {
		long long n[4];
		if (!strcmp(line, "MAPPED_LIBRARIES:")) {
			in_maps = 1;
			continue;
		}
		if (in_maps) {
			unsigned long long lo, hi;
			char perms[8];
			maps_seen += sscanf(line, "%llx-%llx %7s", &lo, &hi, perms) == 3 &&
				     !strcmp(perms, "r-xp");
			continue;
		}
		if (sscanf(line, " %lld: %lld [%lld: %lld] @", &n[0], &n[1], &n[2], &n[3]) == 4 &&
		    strncmp(line, "heap", 4)) {
			lines++;
			for (int k = 0; k < 4; k++)
				sum[k] += n[k];
			CHECK(strstr(line, "@ 0x") != NULL, "addresses: %s", line);
		}
	}
	CHECK(lines == 3, "3 stacks, got %d", lines);
	CHECK(maps_seen == 2, "2 mapping lines, got %d", maps_seen);
	for (int k = 0; k < 4; k++)
		CHECK(sum[k] == hn[k], "header total %d", k);
	/* unsampling inverts the Poisson weight at the mean size (rate 64 set
	 * below): alloc objects = sum of n * (1 - exp(-size/64)) */
	long long want = llround(1000 * -expm1(-64.0 / 64)) + llround(10 * -expm1(-512.0 / 64)) +
			 llround(50 * -expm1(-16.0 / 64));
	CHECK(hn[2] == want, "sampled alloc objects %lld, want %lld", hn[2], want);
	free(mem);
}

int main(void)
{
	test_varints();
	test_nested();
	test_profile();
	test_collapsed();
	test_heap_text();
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
