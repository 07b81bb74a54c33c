/* html.c — writes the page of `leakwatch report` (html.h): the template
 * with its placeholders filled, and the three escaping rules.
 *
 * Placeholders in report.html are @@NAME@@: TITLE and GENERATOR (escaped
 * text), SCRIPT_HASH (CSP source of the script), CSS, JS, DATA (JSON) and
 * SVG. The script is copied byte for byte, so the hash embed.py computed
 * at build time is the hash of what the browser sees.
 * No allocation; output errors are reported once at the end (ferror).
 */
#include "html.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "html_assets.h"

void lw_html_escape(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(*s, out);
		}
	}
}

void lw_html_json(FILE *out, const char *json, size_t len)
{
	int in_str = 0, esc = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)json[i];
		if (!in_str) {
			if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
				continue;
			if (c == '"')
				in_str = 1;
			fputc(c, out);
			continue;
		}
		if (esc) {
			esc = 0;
			fputc(c, out);
			continue;
		}
		if (c == '\\') {
			esc = 1;
			fputc(c, out);
		} else if (c == '"') {
			in_str = 0;
			fputc(c, out);
		} else if (c == '<' || c == '>' || c == '&') {
			fprintf(out, "\\u%04x", c);
		} else if (c == 0xe2 && i + 2 < len && (unsigned char)json[i + 1] == 0x80 &&
			   ((unsigned char)json[i + 2] == 0xa8 || (unsigned char)json[i + 2] == 0xa9)) {
			fprintf(out, "\\u%04x", 0x2000 + ((unsigned char)json[i + 2] - 0x80));
			i += 2;
		} else {
			fputc(c, out);
		}
	}
}

/* Case-insensitive search for needle in s[0..len). */
static const char *find_ci(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(s + i, needle, n) == 0)
			return s + i;
	return NULL;
}

int lw_html_svg(FILE *out, const char *svg, size_t len)
{
	const char *start = find_ci(svg, len, "<svg");
	if (!start)
		return -1;
	/* libgvc escapes label text, so none of these can come from a name;
	 * refuse the graph rather than trust it if one appears anyway. */
	static const char *const bad[] = { "<script", "<foreignobject", "javascript:",
					   "<iframe", "<!entity" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (find_ci(svg, len, bad[i]))
			return -1;
	fwrite(start, 1, len - (size_t)(start - svg), out);
	return 0;
}

static void put_placeholder(FILE *out, const char *name, size_t n, const lw_html_page *pg)
{
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(name, lit, n) == 0)
	if (IS("TITLE"))
		lw_html_escape(out, pg->title);
	else if (IS("GENERATOR"))
		lw_html_escape(out, pg->generator);
	else if (IS("SCRIPT_HASH"))
		fprintf(out, "'sha256-%s'", lw_html_js_sha256);
	else if (IS("CSS"))
		fwrite(lw_html_css, 1, lw_html_css_len, out);
	else if (IS("JS"))
		fwrite(lw_html_js, 1, lw_html_js_len, out);
	else if (IS("DATA"))
		lw_html_json(out, pg->json, pg->json_len);
	else if (IS("SVG")) {
		if (pg->svg)
			lw_html_svg(out, pg->svg, pg->svg_len);
	}
#undef IS
}

int lw_html_write(FILE *out, const lw_html_page *pg)
{
	const char *t = lw_html_template, *end = lw_html_template + lw_html_template_len;
	while (t < end) {
		const char *at = memmem(t, (size_t)(end - t), "@@", 2);
		if (!at) {
			fwrite(t, 1, (size_t)(end - t), out);
			break;
		}
		fwrite(t, 1, (size_t)(at - t), out);
		const char *name = at + 2;
		const char *close = memmem(name, (size_t)(end - name), "@@", 2);
		if (!close) {   /* embed.py checks the template; cannot happen */
			fwrite(at, 1, (size_t)(end - at), out);
			break;
		}
		put_placeholder(out, name, (size_t)(close - name), pg);
		t = close + 2;
	}
	return ferror(out) ? -EIO : 0;
}
