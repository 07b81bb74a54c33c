/* test_lwd_corrupt.c — the reader refuses every kind of bad file with the
 * specific error, and never crashes.
 *
 * 1. A table of single corruptions of the valid fixture (lwd_sample.h), one
 *    per validation rule: each entry patches one field (re-sealing CRCs when
 *    the point is to reach a check behind the CRC) and names the expected
 *    return code and a fragment of the one-line message.
 * 2. Files built with the generic writer API that break structural rules the
 *    typed helpers cannot (short stacks, empty STRINGS, ...).
 * 3. Every truncation of the fixture fails cleanly; so does every single-bit
 *    flip except the one bit the format leaves unchecked (a section's
 *    OPTIONAL flag) and trailing garbage.
 */
#include <math.h>

#include "lwd_sample.h"

enum where {
	W_HDR,       /* file header, offset from 0 */
	W_SECHDR,    /* section header of `sec`, offset from its start */
	W_PAYLOAD,   /* payload of `sec`, offset from its start */
};

typedef struct corruption {
	const char *name;
	uint32_t kind;         /* base file: snapshot or dump */
	enum where where;
	uint32_t sec;
	long off;
	int width;             /* 1, 2, 4, 8 bytes; 0 = custom only */
	uint64_t value;
	int reseal;            /* recompute the CRC covering the patch */
	void (*custom)(uint8_t **b, size_t *len);
	int rc;
	const char *msg;
} corruption;

static void trunc_before_end(uint8_t **b, size_t *len)
{
	*len = (size_t)lwt_must_find(*b, *len, LWD_SEC_END);
}

static void append_zeros(uint8_t **b, size_t *len)
{
	*b = realloc(*b, *len + 8);
	memset(*b + *len, 0, 8);
	*len += 8;
}

/* Appends a copy of the END section after END. */
static void append_second_end(uint8_t **b, size_t *len)
{
	long e = lwt_must_find(*b, *len, LWD_SEC_END);
	size_t n = *len - (size_t)e;

	*b = realloc(*b, *len + n);
	memcpy(*b + *len, *b + e, n);
	*len += n;
}

static void snapshot_with_live(uint8_t **b, size_t *len)
{
	lwt_wr32(*b + 16, LWD_KIND_SNAPSHOT);
	lwt_fix_header_crc(*b);
}

static void padding_nonzero(uint8_t **b, size_t *len)
{
	long s = lwt_must_find(*b, *len, LWD_SEC_STRINGS);
	uint64_t plen = lwt_rd64(*b + s + 8);

	if (plen % 8 == 0) {
		fprintf(stderr, "fixture STRINGS has no padding\n");
		exit(99);
	}
	(*b)[s + 24 + plen] = 1;
}

/* Overwrites the PROCESS section's type so it is skipped as unknown optional. */
static void hide_section(uint8_t **b, size_t *len, uint32_t type)
{
	long s = lwt_must_find(*b, *len, type);

	lwt_wr32(*b + s, 0x7777);
	lwt_wr32(*b + s + 4, LWD_SECF_OPTIONAL);
}

static void no_process(uint8_t **b, size_t *len)
{
	hide_section(b, len, LWD_SEC_PROCESS);
}

static void no_strings(uint8_t **b, size_t *len)
{
	hide_section(b, len, LWD_SEC_STRINGS);
}

static void dup_modules(uint8_t **b, size_t *len)
{
	lwt_wr32(*b + lwt_must_find(*b, *len, LWD_SEC_SEGMENTS), LWD_SEC_MODULES);
}

static void unknown_required(uint8_t **b, size_t *len)
{
	lwt_wr32(*b + lwt_must_find(*b, *len, LWD_SEC_COUNTERS), 77);
}

static void unknown_required_newer_minor(uint8_t **b, size_t *len)
{
	unknown_required(b, len);
	lwt_wr16(*b + 10, LWD_VERSION_MINOR + 1);
	lwt_fix_header_crc(*b);
}

/* Counter record 2 refers to the same stack as record 1. */
static void dup_counter(uint8_t **b, size_t *len)
{
	long s = lwt_must_find(*b, *len, LWD_SEC_COUNTERS);

	lwt_wr32(*b + s + 24 + 2 * LWD_COUNTER_SIZE, lwt_rd32(*b + s + 24 + LWD_COUNTER_SIZE));
	lwt_fix_crc(*b, s);
}

#define NAN_BITS 0x7ff8000000000000ull
#define INF_BITS 0x7ff0000000000000ull
#define NEG_ONE_BITS 0xbff0000000000000ull

static const corruption table[] = {
	/* header */
	{ "bad magic", 2, W_HDR, 0, 0, 1, 'X', 0, NULL, LWD_EFORMAT, "offset 0: bad magic" },
	{ "major 2", 2, W_HDR, 0, 8, 4, 2, 0, NULL, LWD_EVERSION,
	  "offset 8: file version 2.0 is newer than this reader (1.x)" },
	{ "major 2 sealed", 2, W_HDR, 0, 8, 2, 2, 1, NULL, LWD_EVERSION, "newer than this reader" },
	{ "major 0", 2, W_HDR, 0, 8, 4, 0, 1, NULL, LWD_EFORMAT, "file version 0.0 does not exist" },
	{ "header size", 2, W_HDR, 0, 12, 4, 72, 1, NULL, LWD_EFORMAT, "offset 12: header_size 72, expected 64" },
	{ "header crc", 2, W_HDR, 0, 30, 1, 0x99, 0, NULL, LWD_EFORMAT, "offset 60: header CRC mismatch" },
	{ "kind 3", 2, W_HDR, 0, 16, 4, 3, 1, NULL, LWD_EFORMAT, "offset 16: unknown file kind 3" },
	{ "kind 0", 2, W_HDR, 0, 16, 4, 0, 1, NULL, LWD_EFORMAT, "unknown file kind 0" },
	{ "header flags", 2, W_HDR, 0, 20, 4, 4, 1, NULL, LWD_EFORMAT, "offset 20: header flags 0x4" },
	{ "header reserved", 2, W_HDR, 0, 59, 1, 1, 1, NULL, LWD_EFORMAT, "offset 59: reserved header byte" },
	/* section framing */
	{ "length huge", 2, W_SECHDR, LWD_SEC_STRINGS, 8, 8, UINT64_MAX, 0, NULL, LWD_EFORMAT,
	  "offset 72: STRINGS section (type 1) length 18446744073709551615 runs past the end" },
	{ "length 2^63", 2, W_SECHDR, LWD_SEC_MODULES, 8, 8, 1ull << 63, 0, NULL, LWD_EFORMAT,
	  "MODULES section (type 3) length 9223372036854775808 runs past" },
	{ "length into padding", 2, W_SECHDR, LWD_SEC_END, 8, 8, 17, 0, NULL, LWD_EFORMAT,
	  "runs past the end of the file" },
	{ "padding", 2, W_HDR, 0, 0, 0, 0, 0, padding_nonzero, LWD_EFORMAT, "STRINGS section: padding byte is not zero" },
	{ "payload crc", 2, W_PAYLOAD, LWD_SEC_MODULES, 5, 1, 0x42, 0, NULL, LWD_EFORMAT,
	  "MODULES section: payload CRC mismatch" },
	{ "stored crc", 2, W_SECHDR, LWD_SEC_STACKS, 20, 4, 0, 0, NULL, LWD_EFORMAT,
	  "STACKS section: payload CRC mismatch (stored 0x00000000" },
	{ "section flags", 2, W_SECHDR, LWD_SEC_SEGMENTS, 4, 4, 2, 0, NULL, LWD_EFORMAT,
	  "SEGMENTS section: unknown flags 0x2" },
	{ "duplicate", 2, W_HDR, 0, 0, 0, 0, 0, dup_modules, LWD_EFORMAT, "duplicate MODULES section (the first is at offset" },
	{ "unknown required", 2, W_HDR, 0, 0, 0, 0, 0, unknown_required, LWD_EFORMAT,
	  "section type 77 needs a newer reader" },
	{ "unknown required, newer minor", 2, W_HDR, 0, 0, 0, 0, 0, unknown_required_newer_minor, LWD_EVERSION,
	  "section type 77 needs a newer reader" },
	{ "live in snapshot", 2, W_HDR, 0, 0, 0, 0, 0, snapshot_with_live, LWD_EFORMAT,
	  "LIVE_BLOCKS section in a snapshot" },
	{ "no END", 2, W_HDR, 0, 0, 0, 0, 0, trunc_before_end, LWD_EFORMAT, "no END section" },
	{ "trailing bytes", 2, W_HDR, 0, 0, 0, 0, 0, append_zeros, LWD_EFORMAT, "8 trailing bytes after the END section" },
	{ "END twice", 2, W_HDR, 0, 0, 0, 0, 0, append_second_end, LWD_EFORMAT, "40 trailing bytes after the END section" },
	{ "END length", 2, W_SECHDR, LWD_SEC_END, 8, 8, 8, 0, NULL, LWD_EFORMAT, "END section length 8, expected 16" },
	{ "END count", 2, W_SECHDR, LWD_SEC_END, 16, 4, 3, 0, NULL, LWD_EFORMAT, "END section count 3, but 7 sections precede it" },
	{ "END section_count", 2, W_PAYLOAD, LWD_SEC_END, 0, 8, 8, 1, NULL, LWD_EFORMAT,
	  "END section_count 8, but 7 sections precede it" },
	{ "END file_size", 2, W_PAYLOAD, LWD_SEC_END, 8, 8, 1ull << 40, 1, NULL, LWD_EFORMAT,
	  "END file_size 1099511627776, but the file is" },
	/* fixed-size record counts */
	{ "MODULES count", 2, W_SECHDR, LWD_SEC_MODULES, 16, 4, 4, 0, NULL, LWD_EFORMAT,
	  "MODULES section length 288 does not hold 4 records of 96 bytes" },
	{ "SEGMENTS count", 2, W_SECHDR, LWD_SEC_SEGMENTS, 16, 4, 0xffffffff, 0, NULL, LWD_EFORMAT,
	  "SEGMENTS section length 120 does not hold 4294967295 records of 40 bytes" },
	{ "COUNTERS count", 2, W_SECHDR, LWD_SEC_COUNTERS, 16, 4, 2, 0, NULL, LWD_EFORMAT,
	  "COUNTERS section length 240 does not hold 2 records of 80 bytes" },
	{ "LIVE count", 2, W_SECHDR, LWD_SEC_LIVE_BLOCKS, 16, 4, 0, 0, NULL, LWD_EFORMAT,
	  "LIVE_BLOCKS section length 80 does not hold 0 records" },
	{ "PROCESS count", 2, W_SECHDR, LWD_SEC_PROCESS, 16, 4, 2, 0, NULL, LWD_EFORMAT, "PROCESS count 2, expected 1" },
	{ "no PROCESS", 2, W_HDR, 0, 0, 0, 0, 0, no_process, LWD_EFORMAT, "no PROCESS section" },
	/* strings */
	{ "no STRINGS", 2, W_HDR, 0, 0, 0, 0, 0, no_strings, LWD_EFORMAT, "no STRINGS section" },
	{ "STRINGS first byte", 2, W_PAYLOAD, LWD_SEC_STRINGS, 0, 1, 'a', 1, NULL, LWD_EFORMAT,
	  "offset 88: STRINGS section must start with a NUL byte" },
	{ "STRINGS last byte", 2, W_PAYLOAD, LWD_SEC_STRINGS, -1, 1, 'a', 1, NULL, LWD_EFORMAT,
	  "STRINGS section must end with a NUL byte" },
	{ "STRINGS count", 2, W_SECHDR, LWD_SEC_STRINGS, 16, 4, 5, 0, NULL, LWD_EFORMAT,
	  "STRINGS count 5, but the payload holds 6 strings" },
	{ "exe_str range", 2, W_PAYLOAD, LWD_SEC_PROCESS, 88, 4, 9999, 1, NULL, LWD_EFORMAT,
	  "PROCESS record 0: exe_str 9999 outside STRINGS" },
	{ "cmdline_str mid-string", 2, W_PAYLOAD, LWD_SEC_PROCESS, 92, 4, 2, 1, NULL, LWD_EFORMAT,
	  "PROCESS record 0: cmdline_str 2 is not the start of a string" },
	{ "hostname_str max", 2, W_PAYLOAD, LWD_SEC_PROCESS, 96, 4, 0xffffffff, 1, NULL, LWD_EFORMAT,
	  "hostname_str 4294967295 outside STRINGS" },
	{ "module path range", 2, W_PAYLOAD, LWD_SEC_MODULES, 96 + 24, 4, 100000, 1, NULL, LWD_EFORMAT,
	  "MODULES record 1: path_str 100000 outside STRINGS" },
	/* modules and segments */
	{ "build_id_len", 2, W_PAYLOAD, LWD_SEC_MODULES, 28, 4, 65, 1, NULL, LWD_EFORMAT,
	  "MODULES record 0: build_id_len 65 exceeds 64" },
	{ "build_id padding", 2, W_PAYLOAD, LWD_SEC_MODULES, 32 + 20, 1, 1, 1, NULL, LWD_EFORMAT,
	  "MODULES record 0: build_id padding byte is not zero" },
	{ "module start>end", 2, W_PAYLOAD, LWD_SEC_MODULES, 96 * 2 + 8, 8, 5, 1, NULL, LWD_EFORMAT,
	  "MODULES record 2: start 0x5 is above end 0x0" },
	{ "segment module", 2, W_PAYLOAD, LWD_SEC_SEGMENTS, 0, 4, 3, 1, NULL, LWD_EFORMAT,
	  "SEGMENTS record 0: module 3 outside the 3 modules" },
	{ "segment prot", 2, W_PAYLOAD, LWD_SEC_SEGMENTS, 40 + 4, 4, 8, 1, NULL, LWD_EFORMAT,
	  "SEGMENTS record 1: prot 0x8" },
	{ "segment start>end", 2, W_PAYLOAD, LWD_SEC_SEGMENTS, 40 + 8, 8, UINT64_MAX, 1, NULL, LWD_EFORMAT,
	  "SEGMENTS record 1: start 0xffffffffffffffff is above end" },
	/* stacks */
	{ "depth 0", 2, W_PAYLOAD, LWD_SEC_STACKS, 0, 4, 0, 1, NULL, LWD_EFORMAT,
	  "STACKS record 0: depth 0 outside 1..128" },
	{ "depth 129", 2, W_PAYLOAD, LWD_SEC_STACKS, 16, 4, 129, 1, NULL, LWD_EFORMAT,
	  "STACKS record 1: depth 129 outside 1..128" },
	{ "depth huge", 2, W_PAYLOAD, LWD_SEC_STACKS, 16, 4, 0xffffffff, 1, NULL, LWD_EFORMAT,
	  "STACKS record 1: depth 4294967295 outside 1..128" },
	{ "stack flags", 2, W_PAYLOAD, LWD_SEC_STACKS, 4, 4, 6, 1, NULL, LWD_EFORMAT, "STACKS record 0: unknown flags 0x6" },
	{ "stack count high", 2, W_SECHDR, LWD_SEC_STACKS, 16, 4, 4, 0, NULL, LWD_EFORMAT,
	  "STACKS record 3: truncated record header" },
	{ "stack count huge", 2, W_SECHDR, LWD_SEC_STACKS, 16, 4, 0xffffffff, 0, NULL, LWD_EFORMAT,
	  "STACKS count 4294967295 cannot fit in 1096 bytes" },
	{ "stack count low", 2, W_SECHDR, LWD_SEC_STACKS, 16, 4, 2, 0, NULL, LWD_EFORMAT,
	  "STACKS section: 1032 bytes after the last of 2 records" },
	/* counters */
	{ "counter stack", 2, W_PAYLOAD, LWD_SEC_COUNTERS, 0, 4, 3, 1, NULL, LWD_EFORMAT,
	  "COUNTERS record 0: stack 3 outside the 3 stacks" },
	{ "counter dup", 2, W_HDR, 0, 0, 0, 0, 0, dup_counter, LWD_EFORMAT, "COUNTERS record 2: stack 0 already has a record" },
	{ "counter reserved", 2, W_PAYLOAD, LWD_SEC_COUNTERS, 80 + 4, 4, 1, 1, NULL, LWD_EFORMAT,
	  "COUNTERS record 1: reserved field is not zero" },
	{ "counter reserved2", 2, W_PAYLOAD, LWD_SEC_COUNTERS, 72, 8, 1, 1, NULL, LWD_EFORMAT,
	  "COUNTERS record 0: reserved2 field is not zero" },
	{ "counter NaN", 2, W_PAYLOAD, LWD_SEC_COUNTERS, 40, 8, NAN_BITS, 1, NULL, LWD_EFORMAT,
	  "COUNTERS record 0: alloc_objects_est nan is not a finite number >= 0" },
	{ "counter inf", 2, W_PAYLOAD, LWD_SEC_COUNTERS, 80 + 48, 8, INF_BITS, 1, NULL, LWD_EFORMAT,
	  "COUNTERS record 1: alloc_bytes_est inf" },
	{ "counter negative", 2, W_PAYLOAD, LWD_SEC_COUNTERS, 160 + 64, 8, NEG_ONE_BITS, 1, NULL, LWD_EFORMAT,
	  "COUNTERS record 2: free_bytes_est -1 is not a finite number >= 0" },
	/* live blocks */
	{ "live stack", 2, W_PAYLOAD, LWD_SEC_LIVE_BLOCKS, 40 + 16, 4, 3, 1, NULL, LWD_EFORMAT,
	  "LIVE_BLOCKS record 1: stack 3 outside the 3 stacks" },
	{ "live weight", 2, W_PAYLOAD, LWD_SEC_LIVE_BLOCKS, 32, 8, NAN_BITS, 1, NULL, LWD_EFORMAT,
	  "LIVE_BLOCKS record 0: weight nan" },
	/* process */
	{ "exe_module", 2, W_PAYLOAD, LWD_SEC_PROCESS, 100, 4, 3, 1, NULL, LWD_EFORMAT,
	  "PROCESS record 0: exe_module 3 outside the 3 modules" },
	{ "sample_rate 0", 2, W_PAYLOAD, LWD_SEC_PROCESS, 48, 8, 0, 1, NULL, LWD_EFORMAT, "sample_rate is 0" },
	{ "reason 0", 2, W_PAYLOAD, LWD_SEC_PROCESS, 120, 4, 0, 1, NULL, LWD_EFORMAT, "PROCESS record 0: unknown reason 0" },
	{ "reason 5", 2, W_PAYLOAD, LWD_SEC_PROCESS, 120, 4, 5, 1, NULL, LWD_EFORMAT, "unknown reason 5" },
	{ "exit_status without the known bit", 2, W_PAYLOAD, LWD_SEC_PROCESS, 124, 4, 1, 1, NULL,
	  LWD_EFORMAT, "PROCESS record 0: exit_status 0x1 is neither 0 nor 0x100 + a status" },
	{ "exit_status beyond 8 bits", 2, W_PAYLOAD, LWD_SEC_PROCESS, 124, 4, 0x200, 1, NULL,
	  LWD_EFORMAT, "PROCESS record 0: exit_status 0x200 is neither" },
	{ "exit_status outside an exit snapshot", 2, W_PAYLOAD, LWD_SEC_PROCESS, 124, 4, 0x103, 1,
	  NULL, LWD_EFORMAT, "PROCESS record 0: exit_status 0x103 is neither" },
};

static void patch(uint8_t *p, int width, uint64_t v)
{
	switch (width) {
	case 1: p[0] = (uint8_t)v; break;
	case 2: lwt_wr16(p, (uint16_t)v); break;
	case 4: lwt_wr32(p, (uint32_t)v); break;
	case 8: lwt_wr64(p, v); break;
	}
}

static void expect(const char *name, const uint8_t *b, size_t len, int want_rc, const char *want_msg)
{
	char err[256];
	lw_file *f = (lw_file *)1;
	int rc = lw_file_parse(b, len, &f, err, sizeof(err));

	CHECK(rc == want_rc, "%s: rc %d, want %d (%s)", name, rc, want_rc, rc ? err : "");
	if (rc) {
		CHECK(f == NULL, "%s: *out not NULL on error", name);
		CHECK(strstr(err, want_msg) != NULL, "%s: message \"%s\" lacks \"%s\"", name, err, want_msg);
		CHECK(!strncmp(err, "offset ", 7) && !strchr(err, '\n'), "%s: bad message form \"%s\"", name, err);
	}
	if (!rc)
		lw_file_free(f);
}

static void test_table(void)
{
	uint8_t *base[3];
	size_t base_len[3];

	base[LWD_KIND_SNAPSHOT] = lwt_build(LWD_KIND_SNAPSHOT, lws_fill, NULL, &base_len[LWD_KIND_SNAPSHOT]);
	base[LWD_KIND_DUMP] = lwt_build(LWD_KIND_DUMP, lws_fill_dump, NULL, &base_len[LWD_KIND_DUMP]);
	/* the base files themselves are valid */
	expect("snapshot base", base[1], base_len[1], 0, "");
	expect("dump base", base[2], base_len[2], 0, "");

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const corruption *t = &table[i];
		size_t len = base_len[t->kind];
		uint8_t *b = malloc(len);
		long at = 0, sec = 0;

		memcpy(b, base[t->kind], len);
		if (t->width) {
			if (t->where != W_HDR)
				sec = lwt_must_find(b, len, t->sec);
			if (t->where == W_HDR)
				at = t->off;
			else if (t->where == W_SECHDR)
				at = sec + t->off;
			else if (t->off >= 0)
				at = sec + 24 + t->off;
			else
				at = sec + 24 + (long)lwt_rd64(b + sec + 8) + t->off;
			patch(b + at, t->width, t->value);
			if (t->reseal && t->where == W_HDR)
				lwt_fix_header_crc(b);
			if (t->reseal && t->where == W_PAYLOAD)
				lwt_fix_crc(b, sec);
		}
		if (t->custom)
			t->custom(&b, &len);
		expect(t->name, b, len, t->rc, t->msg);
		free(b);
	}
	free(base[1]);
	free(base[2]);
}

/* ---- files only the generic writer API can produce ------------------- */

enum strings_mode { STR_OK, STR_EMPTY, STR_FOUR_NULS_COUNT_1 };

static int fill_strings_then(lw_writer *w, enum strings_mode mode)
{
	lw_process_info p;

	lw_writer_section_begin(w, LWD_SEC_STRINGS, 0, mode == STR_EMPTY ? 0 : 1);
	if (mode == STR_OK)
		lw_writer_put(w, "", 1);
	else if (mode == STR_FOUR_NULS_COUNT_1)
		lw_writer_put_u32(w, 0);
	lw_writer_section_end(w);
	memset(&p, 0, sizeof(p));
	p.sample_rate = 1;
	p.exe_module = LWD_NONE;
	p.reason = 1;
	lw_writer_section_begin(w, LWD_SEC_PROCESS, 0, 1);
	lw_writer_put_process(w, &p);
	return lw_writer_section_end(w);
}

static int fill_empty_strings(lw_writer *w, void *arg)
{
	return fill_strings_then(w, STR_EMPTY);
}

static int fill_four_nuls(lw_writer *w, void *arg)
{
	return fill_strings_then(w, STR_FOUR_NULS_COUNT_1);
}

static int fill_short_stack(lw_writer *w, void *arg)
{
	fill_strings_then(w, STR_OK);
	lw_writer_section_begin(w, LWD_SEC_STACKS, 0, 1);
	lw_writer_put_u32(w, 3);
	lw_writer_put_u32(w, 0);
	lw_writer_put_u64(w, 1);
	lw_writer_put_u64(w, 2);
	return lw_writer_section_end(w);
}

static int fill_short_stack_header(lw_writer *w, void *arg)
{
	fill_strings_then(w, STR_OK);
	lw_writer_section_begin(w, LWD_SEC_STACKS, 0, 2);
	lw_writer_put_u32(w, 3);
	lw_writer_put_u32(w, 0);
	for (int i = 0; i < 3; i++)
		lw_writer_put_u64(w, 1);
	lw_writer_put_u32(w, 1);   /* 36 bytes pass the size check for 2 records,
				    * but the second record has 4 bytes */
	return lw_writer_section_end(w);
}

static int fill_reserved_in_snapshot(lw_writer *w, void *arg)
{
	fill_strings_then(w, STR_OK);
	lw_writer_section_begin(w, LWD_SEC_HEAP_EDGES, 0, 0);
	return lw_writer_section_end(w);
}

static int fill_segment_without_modules(lw_writer *w, void *arg)
{
	lw_segment_info s;

	fill_strings_then(w, STR_OK);
	memset(&s, 0, sizeof(s));
	lw_writer_section_begin(w, LWD_SEC_SEGMENTS, 0, 1);
	lw_writer_put_segment(w, &s);
	return lw_writer_section_end(w);
}

static int fill_counter_without_stacks(lw_writer *w, void *arg)
{
	lw_counter_info c;

	fill_strings_then(w, STR_OK);
	memset(&c, 0, sizeof(c));
	lw_writer_section_begin(w, LWD_SEC_COUNTERS, 0, 1);
	lw_writer_put_counter(w, &c);
	return lw_writer_section_end(w);
}

static int fill_process_empty(lw_writer *w, void *arg)
{
	lw_writer_section_begin(w, LWD_SEC_STRINGS, 0, 1);
	lw_writer_put_u32(w, 0);
	lw_writer_section_set_count(w, 4);
	lw_writer_section_end(w);
	lw_writer_section_begin(w, LWD_SEC_PROCESS, 0, 1);
	return lw_writer_section_end(w);
}

static void test_structural(void)
{
	static const struct {
		const char *name;
		uint32_t kind;
		lw_fill_fn fill;
		const char *msg;
	} cases[] = {
		{ "empty STRINGS", 1, fill_empty_strings, "STRINGS section is empty" },
		{ "four NULs, count 1", 1, fill_four_nuls, "STRINGS count 1, but the payload holds 4 strings" },
		{ "short stack", 1, fill_short_stack, "STACKS record 0: 3 frames run past the end of the section" },
		{ "short stack header", 1, fill_short_stack_header, "STACKS record 1: truncated record header" },
		{ "heap edges in snapshot", 1, fill_reserved_in_snapshot, "HEAP_EDGES section in a snapshot" },
		{ "segment, no modules", 1, fill_segment_without_modules, "SEGMENTS record 0: module 0 outside the 0 modules" },
		{ "counter, no stacks", 1, fill_counter_without_stacks, "COUNTERS record 0: stack 0 outside the 0 stacks" },
		{ "empty PROCESS", 1, fill_process_empty, "PROCESS section length 0 does not hold 1 records of 128 bytes" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		uint8_t *b = lwt_build(cases[i].kind, cases[i].fill, NULL, &len);

		expect(cases[i].name, b, len, LWD_EFORMAT, cases[i].msg);
		free(b);
	}
	/* and the same generic shapes are fine when they are right */
	size_t len;
	uint8_t *b = lwt_build(LWD_KIND_DUMP, fill_reserved_in_snapshot, NULL, &len);
	expect("heap edges in dump", b, len, 0, "");
	free(b);
}

/* Every prefix of a valid file is refused without a crash; so is every
 * single-bit flip, except of the OPTIONAL bit of a known section. */
static void test_truncation_and_bitflips(void)
{
	size_t len;
	uint8_t *b = lwt_build(LWD_KIND_DUMP, lws_fill_dump, NULL, &len);
	uint8_t *c = malloc(len);
	char err[256];
	lw_file *f;
	size_t accepted = 0, allowed = 0;

	for (size_t n = 0; n < len; n++) {
		/* a fresh allocation of exactly n bytes, so ASan sees overreads */
		uint8_t *p = malloc(n ? n : 1);
		int rc;

		memcpy(p, b, n);
		err[0] = 0;
		rc = lw_file_parse(p, n, &f, err, sizeof(err));
		CHECK(rc == LWD_EFORMAT && f == NULL, "prefix %zu: rc %d", n, rc);
		CHECK(!strncmp(err, "offset ", 7), "prefix %zu: message \"%s\"", n, err);
		free(p);
	}
	/* section flags are bytes 4..7 of each section header */
	for (size_t bit = 0; bit < len * 8; bit++) {
		size_t byte = bit / 8;
		int ok_bit = 0;

		memcpy(c, b, len);
		c[byte] ^= (uint8_t)(1u << (bit % 8));
		for (int k = 0; k < 16; k++) {
			long s = lwt_find(b, len, (uint32_t)(k < 11 ? k + 1 : LWD_SEC_END), 0);

			if (s >= 0 && byte == (size_t)s + 4 && bit % 8 == 0)
				ok_bit = 1;
		}
		allowed += ok_bit;
		int rc = lw_file_parse(c, len, &f, err, sizeof(err));
		if (rc == 0) {
			accepted++;
			lw_file_free(f);
		}
		CHECK((rc == 0) == ok_bit, "bit %zu (byte %zu): rc %d", bit, byte, rc);
	}
	CHECK(accepted == allowed && allowed == 8);   /* 7 sections + END */
	free(c);
	free(b);
}

static void test_args(void)
{
	lw_file *f;
	char err[8];

	CHECK(lw_file_parse(NULL, 5, &f, err, sizeof(err)) == -EINVAL);
	CHECK(lw_file_parse("x", 1, NULL, err, sizeof(err)) == -EINVAL);
	/* a tiny error buffer truncates the message but stays terminated */
	CHECK(lw_file_parse("LEAKWTCH", 8, &f, err, sizeof(err)) == LWD_EFORMAT);
	CHECK(strlen(err) == sizeof(err) - 1);
	CHECK(lw_file_parse("LEAK", 4, &f, NULL, 0) == LWD_EFORMAT);
	CHECK(lw_file_parse("", 0, &f, NULL, 0) == LWD_EFORMAT);
	char big[128];
	CHECK(lw_file_parse("LEAK", 4, &f, big, sizeof(big)) == LWD_EFORMAT);
	CHECK(!strcmp(big, "offset 4: file is 4 bytes, truncated inside the magic"));
	CHECK(lw_file_parse("LEAX", 4, &f, big, sizeof(big)) == LWD_EFORMAT);
	CHECK(!strcmp(big, "offset 0: bad magic: not a .lwd file"));
}

int main(void)
{
	test_table();
	test_structural();
	test_truncation_and_bitflips();
	test_args();
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
