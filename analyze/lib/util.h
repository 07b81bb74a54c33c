/* util.h — output helpers shared by every command: human units, an aligned
 * text table, a JSON writer, a progress bar, and error reporting.
 *
 * Errors: commands report through lw_error(), one line on stderr, prefixed
 * "leakwatch <cmd>: ". Library-style modules (db, symbols, stats, graph)
 * never print; they return codes and fill message buffers.
 */
#ifndef LW_UTIL_H
#define LW_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Sets the command name used as error prefix ("top", "diff", ...). */
void lw_set_command(const char *name);
/* Prints "leakwatch <cmd>: <message>\n" to stderr. */
void lw_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Human units. Each writes into buf and returns it. */
const char *lw_fmt_bytes(double bytes, char *buf, size_t len);       /* "12.3 MiB", "512 B" */
const char *lw_fmt_sbytes(double bytes, char *buf, size_t len);      /* signed: "+1.5 KiB", "-20 B" */
const char *lw_fmt_rate(double bytes_per_s, char *buf, size_t len);  /* "1.2 KiB/s" or "3.4 MiB/h" */
const char *lw_fmt_count(double n, char *buf, size_t len);           /* "1234", "1.2M" */
const char *lw_fmt_pct(double frac, char *buf, size_t len);          /* "12.3%" */
const char *lw_fmt_duration(double seconds, char *buf, size_t len);  /* "1.5s", "2m03s", "1h02m" */

/* The common tail of a command's getopt_long switch: for ':' (an option
 * without its argument) prints "'<opt>': missing argument"; for anything
 * else "'<opt>': unknown option" and the usage on stderr. Returns 2, the
 * usage-error exit status. */
int lw_opt_error(int c, char *const *argv, int next_arg, void (*usage)(FILE *out));

/* Parses a size/count argument; returns 0 or -1. */
int lw_parse_u64(const char *s, uint64_t *out);
int lw_parse_double(const char *s, double *out);

/* Aligned text table: add columns, then rows of cells, then print.
 * Columns flagged right-aligned are for numbers. The last column may be
 * truncated so lines fit `width` (0 = no limit). */
typedef struct lw_table lw_table;
lw_table *lw_table_new(void);
void lw_table_col(lw_table *t, const char *title, int right_align);
void lw_table_cell(lw_table *t, const char *text);  /* fills the next cell, row by row */
void lw_table_print(lw_table *t, FILE *out, int width);
void lw_table_free(lw_table *t);
/* Terminal width of stdout, or 80 if not a terminal / unknown. */
int lw_term_width(void);

/* JSON writer with correct string escaping and comma handling.
 * Usage: lw_json_obj_begin(j); lw_json_key(j, "rank"); lw_json_int(j, 1); ... */
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

/* Progress on stderr when it is a terminal; silent otherwise. */
typedef struct lw_progress lw_progress;
lw_progress *lw_progress_new(const char *what, size_t total);
void lw_progress_update(lw_progress *p, size_t done);
void lw_progress_done(lw_progress *p);

/* Matches a POSIX extended regex against a site's frame labels; used by
 * --focus and --site. Returns NULL and fills err on a bad pattern. */
typedef struct lw_regex lw_regex;
lw_regex *lw_regex_new(const char *pattern, char *err, size_t errlen);
int lw_regex_match(const lw_regex *r, const char *text);
void lw_regex_free(lw_regex *r);

#endif
