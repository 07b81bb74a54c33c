/* html.h — the self-contained HTML page of `leakwatch report`.
 *
 * The page is the template analyze/report/html/report.html with the
 * stylesheet, the script (the .js files in analyze/report/html/, embedded at build time
 * by embed.py into html_assets.c), the report's data as one JSON document
 * and the retainer graph as inline SVG. Nothing is loaded from anywhere:
 * a Content-Security-Policy allows no network request at all and only the
 * page's own script (by its SHA-256), so markup that slipped into the data
 * could not run even if an escape were missed.
 *
 * Escaping rules, each applied at one place:
 *   text in markup       lw_html_escape: & < > " ' become entities
 *   JSON in <script>     lw_html_json: whitespace outside strings dropped,
 *                        < > & U+2028 U+2029 written as \uXXXX, so the text
 *                        can never close the script element or start a
 *                        comment, and stays valid JSON and JavaScript
 *   SVG from libgvc      lw_html_svg: only the <svg> element is kept (the
 *                        XML prolog and DOCTYPE are dropped); libgvc has
 *                        already escaped every label as XML text
 */
#ifndef LW_HTML_H
#define LW_HTML_H

#include <stddef.h>
#include <stdio.h>

/* Writes s with & < > " ' as character references. */
void lw_html_escape(FILE *out, const char *s);
/* Copies the JSON text json[0..len) in the form safe inside <script>.
 * The input must be valid JSON (lw_json output). */
void lw_html_json(FILE *out, const char *json, size_t len);
/* Copies an SVG document from its "<svg" on; returns -1 (nothing written)
 * when svg[0..len) has no <svg element or looks like it carries script. */
int lw_html_svg(FILE *out, const char *svg, size_t len);

typedef struct lw_html_page {
	const char *title;          /* plain text, escaped here */
	const char *json;           /* the data document (lw_json output) */
	size_t json_len;
	const char *svg;            /* retainer graph, NULL if none */
	size_t svg_len;
	const char *generator;      /* "leakwatch 0.1.0" */
} lw_html_page;

/* Writes the whole page. Returns 0 or -EIO. */
int lw_html_write(FILE *out, const lw_html_page *pg);

#endif
