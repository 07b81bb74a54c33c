/* test_util.c — unit tests of analyze/lib/util.c: human units, argument parsing,
 * the aligned table (80-column truncation), JSON escaping (control
 * characters, invalid UTF-8) and regexes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int failures;

#define EXPECT_STR(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	if (strcmp(g_, w_) != 0) { \
		fprintf(stderr, "FAIL %s:%d: %s: got \"%s\", want \"%s\"\n", \
			__FILE__, __LINE__, #got, g_, w_); \
		failures++; \
	} \
} while (0)
#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		failures++; \
	} \
} while (0)

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

int main(void)
{
	char b[64];
	EXPECT_STR(lw_fmt_bytes(512, b, sizeof(b)), "512 B");
	EXPECT_STR(lw_fmt_bytes(0, b, sizeof(b)), "0 B");
	EXPECT_STR(lw_fmt_bytes(1536, b, sizeof(b)), "1.5 KiB");
	EXPECT_STR(lw_fmt_bytes(12.3 * 1024 * 1024, b, sizeof(b)), "12.3 MiB");
	EXPECT_STR(lw_fmt_bytes(1024.0 * 1024 - 1, b, sizeof(b)), "1.0 MiB");
	EXPECT_STR(lw_fmt_bytes(3.0 * 1024 * 1024 * 1024, b, sizeof(b)), "3.0 GiB");
	EXPECT_STR(lw_fmt_bytes(-2048, b, sizeof(b)), "-2.0 KiB");
	EXPECT_STR(lw_fmt_sbytes(1536, b, sizeof(b)), "+1.5 KiB");
	EXPECT_STR(lw_fmt_sbytes(-20, b, sizeof(b)), "-20 B");
	EXPECT_STR(lw_fmt_sbytes(0, b, sizeof(b)), "0 B");
	EXPECT_STR(lw_fmt_rate(1.2 * 1024, b, sizeof(b)), "1.2 KiB/s");
	EXPECT_STR(lw_fmt_rate(1.0, b, sizeof(b)), "3.5 KiB/h");
	EXPECT_STR(lw_fmt_rate(-1.0, b, sizeof(b)), "-3.5 KiB/h");
	EXPECT_STR(lw_fmt_rate(0, b, sizeof(b)), "0 B/s");
	EXPECT_STR(lw_fmt_count(1234, b, sizeof(b)), "1234");
	EXPECT_STR(lw_fmt_count(1.2e6, b, sizeof(b)), "1.2M");
	EXPECT_STR(lw_fmt_count(45600, b, sizeof(b)), "45.6k");
	EXPECT_STR(lw_fmt_pct(0.123, b, sizeof(b)), "12.3%");
	EXPECT_STR(lw_fmt_pct(NAN, b, sizeof(b)), "-");
	EXPECT_STR(lw_fmt_duration(1.5, b, sizeof(b)), "1.5s");
	EXPECT_STR(lw_fmt_duration(123, b, sizeof(b)), "2m03s");
	EXPECT_STR(lw_fmt_duration(3720, b, sizeof(b)), "1h02m");
	EXPECT_STR(lw_fmt_duration(59.99, b, sizeof(b)), "1m00s");
	EXPECT_STR(lw_fmt_duration(90000, b, sizeof(b)), "1d01h");

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
	EXPECT_STR(s, "[\n"
		   "  \"a\\\"b\\\\c\\n\\t\\u0001\\u001f\\u007f\",\n"
		   "  \"ok \xc3\xa9 \\ufffd bad \\ufffd\\ufffd overlong \\ufffd\\ufffd\\ufffd surrogate\",\n"
		   "  null,\n  null,\n  0.1,\n  1e+300,\n  0,\n  -42,\n  true,\n  null\n]\n");
	free(s);
	s = capture(json_nested);
	EXPECT_STR(s, "{\n  \"a\": [],\n  \"b\": {\n    \"c\": 1\n  },\n  \"d\": [\n    1,\n    2\n  ]\n}\n");
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

	if (failures) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
