/* test_lib.c — unit tests of analyze/lib: human units and their parsers, the
 * aligned table (80-column truncation), JSON escaping (control characters,
 * invalid UTF-8), regexes, the hash map and arena against naive reference
 * models, the text buffer, frame labels and the JSON frame writer. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "util.h"

/* Runs fn(f) with a memory stream and returns what it wrote (malloc'd). */
static char *capture(void (*fn)(FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	fn(f);
	fclose(f);
	return buf;
}

static void json_escapes(FILE *f)
{
	lw_json *j = lw_json_new(f);
	lw_json_arr_begin(j);
	lw_json_str(j, "a\"b\\c\n\t\x01\x1f\x7f");
	lw_json_str(j, "ok \xc3\xa9 \xff bad \xc0\xaf overlong \xed\xa0\x80 surrogate");
	lw_json_str(j, NULL);
	lw_json_num(j, NAN);
	lw_json_num(j, 0.1);
	lw_json_num(j, 1e300);
	lw_json_num(j, -0.0);
	lw_json_int(j, -42);
	lw_json_bool(j, 1);
	lw_json_null(j);
	lw_json_arr_end(j);
	lw_json_finish(j);
}

static void json_nested(FILE *f)
{
	lw_json *j = lw_json_new(f);
	lw_json_obj_begin(j);
	lw_json_key(j, "a");
	lw_json_arr_begin(j);
	lw_json_arr_end(j);
	lw_json_key(j, "b");
	lw_json_obj_begin(j);
	lw_json_key(j, "c");
	lw_json_int(j, 1);
	lw_json_obj_end(j);
	lw_json_key(j, "d");
	lw_json_arr_begin(j);
	lw_json_int(j, 1);
	lw_json_int(j, 2);
	/* left open: finish closes what is open */
	lw_json_finish(j);
}

static void table_80(FILE *f)
{
	lw_table *t = lw_table_new();
	lw_table_col(t, "bytes", 1);
	lw_table_col(t, "pct", 1);
	lw_table_col(t, "site", 0);
	const char *rows[][3] = {
		{ "1.5 MiB", "50.0%", "short" },
		{ "512 B", "0.1%", "a_very_long_function_name_that_goes_on_and_on (some/deep/path/to/file.c:1234)" },
		{ "12.0 KiB", "7.2%", "caf\xc3\xa9 (x.c:1)" },
	};
	for (size_t r = 0; r < 3; r++)
		for (size_t c = 0; c < 3; c++)
			lw_table_cell(t, rows[r][c]);
	lw_table_print(t, f, 80);
	lw_table_free(t);
}

/* Code points per line (UTF-8 aware), max over lines. */
static size_t max_line_width(const char *s)
{
	size_t max = 0, w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\n') {
			if (w > max)
				max = w;
			w = 0;
		} else if ((*p & 0xc0) != 0x80) {
			w++;
		}
	}
	return max;
}

/* ---- hash map against a sorted-array reference ------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_map_u64(void)
{
	enum { N = 20000, RANGE = 30000 };
	static uint64_t ref[RANGE];     /* value + 1, 0 = absent */
	lw_map m;
	lw_map_init(&m, 0);
	CHECK(lw_map_find_u64(&m, 7) == NULL, "empty map finds nothing");
	size_t n_ref = 0;
	for (int i = 0; i < N; i++) {
		/* keys spread over the whole 64-bit range, incl. 0 and ~0 */
		uint64_t k = rnd() % RANGE, key = k * 0x9e3779b97f4a7c15ULL;
		int added = -1;
		uint64_t *v = lw_map_put_u64(&m, key, &added);
		CHECK(v != NULL, "put");
		CHECK(added == (ref[k] == 0), "added flag of key %llu", (unsigned long long)k);
		if (ref[k] == 0)
			n_ref++;
		else
			CHECK(*v == ref[k] - 1, "old value kept");
		*v = (uint64_t)i;
		ref[k] = (uint64_t)i + 1;
	}
	CHECK(m.n == n_ref, "size %zu, want %zu", m.n, n_ref);
	for (uint64_t k = 0; k < RANGE; k++) {
		const uint64_t *v = lw_map_find_u64(&m, k * 0x9e3779b97f4a7c15ULL);
		if (ref[k])
			CHECK(v && *v == ref[k] - 1, "key %llu", (unsigned long long)k);
		else
			CHECK(v == NULL, "absent key %llu found", (unsigned long long)k);
	}
	lw_map_free(&m);
	CHECK(m.n == 0 && m.cap == 0, "freed map is empty");
}

static void test_map_bytes(void)
{
	lw_map m;
	lw_map_init(&m, 1);
	char key[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof key, "key-%d", i % 3000);
		int added;
		const char *stored = NULL;
		uint64_t *v = lw_map_put_str(&m, key, &added, &stored);
		CHECK(v && stored && strcmp(stored, key) == 0 && stored != key, "stored copy");
		CHECK(added == (i < 3000), "added %d at %d", added, i);
		if (added)
			*v = (uint64_t)i;
	}
	CHECK(m.n == 3000, "n %zu", m.n);
	for (int i = 0; i < 3000; i++) {
		snprintf(key, sizeof key, "key-%d", i);
		const uint64_t *v = lw_map_find_str(&m, key);
		CHECK(v && *v == (uint64_t)i, "value of %s", key);
	}
	CHECK(lw_map_find_str(&m, "key-3000") == NULL, "absent");
	/* binary keys with embedded NULs, and keys that are prefixes */
	const char a[] = { 'x', 0, 'y' }, b[] = { 'x', 0, 'z' };
	*lw_map_put(&m, a, sizeof a, NULL, NULL) = 1;
	*lw_map_put(&m, b, sizeof b, NULL, NULL) = 2;
	*lw_map_put(&m, a, 1, NULL, NULL) = 3;
	CHECK(*lw_map_find(&m, a, sizeof a) == 1 && *lw_map_find(&m, b, sizeof b) == 2 &&
	      *lw_map_find(&m, a, 1) == 3, "binary keys kept apart");
	const char *i1 = lw_map_intern(&m, "interned"), *i2 = lw_map_intern(&m, "interned");
	CHECK(i1 && i1 == i2, "intern returns one copy");
	lw_map_free(&m);
}

static void test_arena_strbuf(void)
{
	lw_arena a = { 0 };
	char *big = lw_arena_alloc(&a, 200000);   /* a chunk of its own */
	char *s1 = lw_arena_strdup(&a, "one");
	char *s2 = lw_arena_strdup(&a, NULL);
	CHECK(big && s1 && s2 && strcmp(s1, "one") == 0 && s2[0] == 0, "arena pieces");
	CHECK(((uintptr_t)big & 15) == 0 && ((uintptr_t)s1 & 15) == 0, "aligned");
	memset(big, 0x5a, 200000);
	CHECK(strcmp(s1, "one") == 0, "pieces do not overlap");
	for (int i = 0; i < 10000; i++)
		CHECK(lw_arena_alloc(&a, 33) != NULL);
	lw_arena_free(&a);
	CHECK(a.head == NULL, "freed");

	int *v = NULL;
	size_t cap = 0;
	CHECK(lw_grow(&v, &cap, 5, sizeof *v) == 0 && cap == 16, "first growth to 16, cap %zu", cap);
	CHECK(lw_grow(&v, &cap, 17, sizeof *v) == 0 && cap == 32, "doubles, cap %zu", cap);
	CHECK(lw_grow(&v, &cap, (size_t)1 << 62, 1 << 20) < 0 && cap == 32, "overflow refused");
	free(v);

	lw_strbuf b = { 0 };
	CHECK_STR(lw_strbuf_cstr(&b), "");
	lw_strbuf_str(&b, "ab");
	lw_strbuf_char(&b, '\x1f');
	lw_strbuf_fmt(&b, "%d", 42);
	for (int i = 0; i < 100; i++)
		lw_strbuf_fmt(&b, "%s", "0123456789");
	CHECK(b.err == 0 && b.len == 2 + 1 + 2 + 1000, "length %zu", b.len);
	CHECK(strncmp(b.s, "ab\x1f" "42012", 8) == 0, "contents");
	lw_strbuf_reset(&b);
	CHECK_STR(lw_strbuf_cstr(&b), "");
	lw_strbuf_free(&b);
}

static void frames_json(FILE *f)
{
	lw_sym_frame fr[2] = {
		{ "leak", "/src/a.c", 12, "app", 0x401000, 1, 0 },
		{ "??", "", 0, "libx.so", 0x7f0000001234, 0, 0x1234 },
	};
	lw_json *j = lw_json_new(f);
	lw_json_frames(j, fr, 2);
	lw_json_finish(j);
}

static void test_frames(void)
{
	char buf[256];
	lw_sym_frame f = { "leak_fn", "/home/x/src/leak.c", 42, "app", 0, 0, 0 };
	CHECK_STR(lw_frame_label(&f, 0, buf, sizeof buf), "leak_fn (leak.c:42)");
	f.line = 0;
	CHECK_STR(lw_frame_label(&f, 0, buf, sizeof buf), "leak_fn (leak.c)");
	lw_sym_frame u = { "??", "", 0, "libfoo.so.1", 0, 0, 0 };
	CHECK_STR(lw_frame_label(&u, 0, buf, sizeof buf), "?? (libfoo.so.1)");
	u.offset = 0x1a2b;
	CHECK_STR(lw_frame_label(&u, 0, buf, sizeof buf), "?? (libfoo.so.1+0x1a2b)");
	lw_sym_frame nomod = { "??", "", 0, "??", 0, 0, 0x7f00 };
	CHECK_STR(lw_frame_label(&nomod, 0, buf, sizeof buf), "?? (?\?)");
	lw_sym_frame st[3] = {
		{ "leaf", "a.c", 1, "app", 0, 0, 0 },
		{ "caller_one", "a.c", 10, "app", 0, 0, 0 },
		{ "main", "m.c", 0, "app", 0, 0, 0 },
	};
	CHECK_STR(lw_frame_callers(st, 3, 80, buf, sizeof buf), "< caller_one:10 < main");
	CHECK_STR(lw_frame_callers(st, 3, 21, buf, sizeof buf), "< caller_one:10 < ...");
	CHECK_STR(lw_frame_callers(st, 1, 80, buf, sizeof buf), "");
	char *s = capture(frames_json);
	CHECK_STR(s, "[\n  {\n    \"function\": \"leak\",\n    \"file\": \"/src/a.c\",\n"
		     "    \"line\": 12,\n    \"module\": \"app\",\n    \"inlined\": true\n  },\n"
		     "  {\n    \"function\": \"??\",\n    \"file\": \"\",\n    \"line\": 0,\n"
		     "    \"module\": \"libx.so\",\n    \"offset\": 4660,\n    \"inlined\": false\n"
		     "  }\n]\n");
	free(s);
}

int main(void)
{
	char b[64];
	CHECK_STR(lw_fmt_bytes(512, b, sizeof(b)), "512 B");
	CHECK_STR(lw_fmt_bytes(0, b, sizeof(b)), "0 B");
	CHECK_STR(lw_fmt_bytes(1536, b, sizeof(b)), "1.5 KiB");
	CHECK_STR(lw_fmt_bytes(12.3 * 1024 * 1024, b, sizeof(b)), "12.3 MiB");
	CHECK_STR(lw_fmt_bytes(1024.0 * 1024 - 1, b, sizeof(b)), "1.0 MiB");
	CHECK_STR(lw_fmt_bytes(3.0 * 1024 * 1024 * 1024, b, sizeof(b)), "3.0 GiB");
	CHECK_STR(lw_fmt_bytes(-2048, b, sizeof(b)), "-2.0 KiB");
	CHECK_STR(lw_fmt_sbytes(1536, b, sizeof(b)), "+1.5 KiB");
	CHECK_STR(lw_fmt_sbytes(-20, b, sizeof(b)), "-20 B");
	CHECK_STR(lw_fmt_sbytes(0, b, sizeof(b)), "0 B");
	CHECK_STR(lw_fmt_rate(1.2 * 1024, b, sizeof(b)), "1.2 KiB/s");
	CHECK_STR(lw_fmt_rate(1.0, b, sizeof(b)), "3.5 KiB/h");
	CHECK_STR(lw_fmt_rate(-1.0, b, sizeof(b)), "-3.5 KiB/h");
	CHECK_STR(lw_fmt_rate(0, b, sizeof(b)), "0 B/s");
	CHECK_STR(lw_fmt_count(1234, b, sizeof(b)), "1234");
	CHECK_STR(lw_fmt_count(1.2e6, b, sizeof(b)), "1.2M");
	CHECK_STR(lw_fmt_count(45600, b, sizeof(b)), "45.6k");
	CHECK_STR(lw_fmt_pct(0.123, b, sizeof(b)), "12.3%");
	CHECK_STR(lw_fmt_pct(NAN, b, sizeof(b)), "-");
	CHECK_STR(lw_fmt_duration(1.5, b, sizeof(b)), "1.5s");
	CHECK_STR(lw_fmt_duration(123, b, sizeof(b)), "2m03s");
	CHECK_STR(lw_fmt_duration(3720, b, sizeof(b)), "1h02m");
	CHECK_STR(lw_fmt_duration(59.99, b, sizeof(b)), "1m00s");
	CHECK_STR(lw_fmt_duration(90000, b, sizeof(b)), "1d01h");

	uint64_t u = 0;
	CHECK(lw_parse_u64("524288", &u) == 0 && u == 524288);
	CHECK(lw_parse_u64("512k", &u) == 0 && u == 512 * 1024);
	CHECK(lw_parse_u64("2MiB", &u) == 0 && u == 2 * 1024 * 1024);
	CHECK(lw_parse_u64("-1", &u) == -1);
	CHECK(lw_parse_u64("", &u) == -1);
	CHECK(lw_parse_u64("12x", &u) == -1);
	CHECK(lw_parse_u64(" 1", &u) == -1);
	CHECK(lw_parse_u64("18446744073709551616", &u) == -1);
	CHECK(lw_parse_u64("17179869184G", &u) == -1);
	double d = 0;
	CHECK(lw_parse_double("0.5", &d) == 0 && d == 0.5);
	CHECK(lw_parse_double("1e3", &d) == 0 && d == 1000);
	CHECK(lw_parse_double("inf", &d) == -1);
	CHECK(lw_parse_double("nan", &d) == -1);
	CHECK(lw_parse_double("1.5s", &d) == -1);
	CHECK(lw_parse_double("", &d) == -1);

	char *s = capture(json_escapes);
	CHECK_STR(s, "[\n"
		   "  \"a\\\"b\\\\c\\n\\t\\u0001\\u001f\\u007f\",\n"
		   "  \"ok \xc3\xa9 \\ufffd bad \\ufffd\\ufffd overlong \\ufffd\\ufffd\\ufffd surrogate\",\n"
		   "  null,\n  null,\n  0.1,\n  1e+300,\n  0,\n  -42,\n  true,\n  null\n]\n");
	free(s);
	s = capture(json_nested);
	CHECK_STR(s, "{\n  \"a\": [],\n  \"b\": {\n    \"c\": 1\n  },\n  \"d\": [\n    1,\n    2\n  ]\n}\n");
	free(s);

	s = capture(table_80);
	CHECK(max_line_width(s) <= 80);
	CHECK(strstr(s, "   bytes    pct  site\n") == s);
	CHECK(strstr(s, " 1.5 MiB  50.0%  short\n") != NULL);
	CHECK(strstr(s, "...\n") != NULL);           /* the long site was cut */
	CHECK(strstr(s, "caf\xc3\xa9 (x.c:1)\n") != NULL);
	if (failures)
		fprintf(stderr, "table output:\n%s", s);
	free(s);

	char err[256];
	lw_regex *r = lw_regex_new("^leak_(small|big)$", err, sizeof(err));
	CHECK(r != NULL);
	CHECK(lw_regex_match(r, "leak_small"));
	CHECK(!lw_regex_match(r, "leak_smaller"));
	lw_regex_free(r);
	r = lw_regex_new("(unclosed", err, sizeof(err));
	CHECK(r == NULL && strstr(err, "bad regular expression") != NULL);

	test_map_u64();
	test_map_bytes();
	test_arena_strbuf();
	test_frames();
	return check_finish();
}
