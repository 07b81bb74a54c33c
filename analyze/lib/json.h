/* json.h — the analyzer's one JSON writer: commas, indentation and string
 * escaping handled, so a document is well-formed by construction.
 *
 *   lw_json *j = lw_json_new(stdout);
 *   lw_json_obj_begin(j); lw_json_key(j, "rank"); lw_json_int(j, 1); ...
 *   lw_json_finish(j);              closes what is open, ends the line, frees
 *
 * Strings come out as valid UTF-8 (an invalid byte becomes U+FFFD) with every
 * control character, U+2028 and U+2029 escaped; non-finite numbers are null.
 * Output errors surface through the FILE (ferror), as with stdio.
 */
#ifndef LW_JSON_H
#define LW_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct lw_json lw_json;
lw_json *lw_json_new(FILE *out);
void lw_json_obj_begin(lw_json *j);
void lw_json_obj_end(lw_json *j);
void lw_json_arr_begin(lw_json *j);
void lw_json_arr_end(lw_json *j);
void lw_json_key(lw_json *j, const char *key);
void lw_json_str(lw_json *j, const char *s);   /* NULL writes null */
void lw_json_int(lw_json *j, int64_t v);
void lw_json_num(lw_json *j, double v);        /* non-finite writes null */
void lw_json_bool(lw_json *j, int v);
void lw_json_null(lw_json *j);
/* Writes `text`, one complete JSON value serialized elsewhere (a document
 * another lw_json wrote), as the next value: embeds one command's --json
 * document in a larger one. Trailing whitespace is dropped. */
void lw_json_raw(lw_json *j, const char *text, size_t len);
/* Ends the document with a newline and frees the writer. */
void lw_json_finish(lw_json *j);

#endif
