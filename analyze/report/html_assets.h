/* html_assets.h — the page's template, stylesheet and script, generated at
 * build time from analyze/report/html/ by embed.py (html_assets.c is in
 * the build directory). The script's SHA-256 (base64) goes into the page's
 * Content-Security-Policy.
 */
#ifndef LW_HTML_ASSETS_H
#define LW_HTML_ASSETS_H

#include <stddef.h>

extern const char lw_html_template[];
extern const size_t lw_html_template_len;
extern const char lw_html_css[];
extern const size_t lw_html_css_len;
extern const char lw_html_js[];
extern const size_t lw_html_js_len;
extern const char lw_html_js_sha256[];

#endif
