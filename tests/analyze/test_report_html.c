/* test_report_html.c — unit tests of analyze/report/html.c, the page's
 * escaping rules: text in markup, JSON inside <script> (hostile strings
 * cannot close the element, start a comment or break JavaScript), the SVG
 * filter, and the whole page from its template (every placeholder filled,
 * the title escaped, the strict Content-Security-Policy present).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "html.h"
#include "html_assets.h"

typedef struct mem {
	char *buf;
	size_t len;
	FILE *f;
} mem;

static void mem_open(mem *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
}

static const char *mem_close(mem *m)
{
	fclose(m->f);
	return m->buf;
}

static char *json_of(const char *in)
{
	mem m;
	mem_open(&m);
	lw_html_json(m.f, in, strlen(in));
	mem_close(&m);
	return m.buf;
}

static void expect_json(const char *in, const char *want)
{
	char *got = json_of(in);
	CHECK(strcmp(got, want) == 0, "lw_html_json(%s)\n  got  %s\n  want %s", in, got, want);
	free(got);
}

static void test_escape(void)
{
	mem m;
	mem_open(&m);
	lw_html_escape(m.f, "<a href=\"x\">&'</a>");
	CHECK(strcmp(mem_close(&m), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;") == 0);
	free(m.buf);
	mem_open(&m);
	lw_html_escape(m.f, NULL);
	CHECK(strcmp(mem_close(&m), "") == 0);
	free(m.buf);
}

static void test_json(void)
{
	/* whitespace outside strings goes, inside strings stays */
	expect_json("{\n  \"a b\": [1, 2],\n  \"c\": null\n}\n", "{\"a b\":[1,2],\"c\":null}");
	/* the sequences that could end the script element or open a comment */
	expect_json("[\"</script><script>alert(1)</script>\"]",
		    "[\"\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\"]");
	expect_json("\"<!-- & -->\"", "\"\\u003c!-- \\u0026 --\\u003e\"");
	/* escaped quotes and backslashes do not end the string early */
	expect_json("[\"q\\\"<\", \"b\\\\\", \"<\"]", "[\"q\\\"\\u003c\",\"b\\\\\",\"\\u003c\"]");
	/* raw U+2028 / U+2029 (valid JSON, not valid JavaScript before ES2019) */
	expect_json("\"a\xe2\x80\xa8" "b\xe2\x80\xa9" "c\xe2\x80\xaa\"",
		    "\"a\\u2028b\\u2029c\xe2\x80\xaa\"");
	/* every printable byte inside a string: none of < > & survives */
	char in[300], *p = in;
	*p++ = '"';
	for (int c = 0x20; c < 0x7f; c++) {
		if (c == '"' || c == '\\')
			*p++ = '\\';
		*p++ = (char)c;
	}
	*p++ = '"';
	*p = 0;
	char *got = json_of(in);
	CHECK(!strchr(got, '<') && !strchr(got, '>') && !strchr(got, '&'));
	CHECK(strlen(got) == strlen(in) + 3 * 5);   /* three bytes, 6 chars each */
	free(got);
}

static void test_svg(void)
{
	static const char ok[] = "<?xml version=\"1.0\"?>\n<!DOCTYPE svg PUBLIC \"x\" \"y\">\n"
				 "<svg width=\"10\"><text>f&lt;int&gt;</text></svg>\n";
	mem m;
	mem_open(&m);
	CHECK(lw_html_svg(m.f, ok, strlen(ok)) == 0);
	mem_close(&m);
	CHECK(strncmp(m.buf, "<svg width=", 11) == 0 && strstr(m.buf, "f&lt;int&gt;"));
	free(m.buf);
	static const char *const bad[] = {
		"<svg><script>alert(1)</script></svg>",
		"<svg><foreignObject><div/></foreignObject></svg>",
		"<svg><a href=\"JavaScript:alert(1)\"/></svg>",
		"no svg here",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		mem_open(&m);
		CHECK(lw_html_svg(m.f, bad[i], strlen(bad[i])) == -1);
		mem_close(&m);
		CHECK(m.len == 0);
		free(m.buf);
	}
}

static void test_page(void)
{
	static const char json[] = "{\"title\": \"</script>\", \"n\": 1}\n";
	static const char svg[] = "<?xml?><svg><g class=\"node\"><text>g_sessions</text></g></svg>";
	lw_html_page pg = {
		.title = "</title><script>alert(1)</script>",
		.json = json, .json_len = strlen(json),
		.svg = svg, .svg_len = strlen(svg),
		.generator = "leakwatch test",
	};
	mem m;
	mem_open(&m);
	CHECK(lw_html_write(m.f, &pg) == 0);
	const char *page = mem_close(&m);
	CHECK(strncmp(page, "<!DOCTYPE html>", 15) == 0);
	CHECK(!strstr(page, "@@"));
	CHECK(strstr(page, "<title>leakwatch report: &lt;/title&gt;&lt;script&gt;alert(1)"
			   "&lt;/script&gt;</title>"));
	CHECK(strstr(page, "{\"title\":\"\\u003c/script\\u003e\",\"n\":1}</script>"));
	CHECK(strstr(page, "<svg><g class=\"node\">") && !strstr(page, "<?xml?>"));
	char csp[128];
	snprintf(csp, sizeof csp, "script-src 'sha256-%s';", lw_html_js_sha256);
	CHECK(strstr(page, "default-src 'none'") && strstr(page, csp));
	/* the script is copied byte for byte (its hash is in the policy) */
	CHECK(memmem(page, m.len, lw_html_js, lw_html_js_len) != NULL);
	/* exactly one executable script and one data block */
	size_t scripts = 0;
	for (const char *s = page; (s = strstr(s, "<script")); s++)
		scripts++;
	CHECK(scripts == 2);
	free(m.buf);
}

int main(void)
{
	test_escape();
	test_json();
	test_svg();
	test_page();
	return check_finish();
}
