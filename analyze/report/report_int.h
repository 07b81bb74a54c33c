/* report_int.h — helpers shared by top.c, diff.c and common.c; not for
 * use outside analyze/report/.
 */
#ifndef LW_REPORT_INT_H
#define LW_REPORT_INT_H

#include <stdio.h>

#include "report.h"

int lw_rep_is_space_type(enum lw_sample_type t);
/* A value of the sample type: bytes or a count ("12.3 MiB", "1234"). */
const char *lw_rep_fmt_value(enum lw_sample_type t, double v, char *buf, size_t len);
/* The same with a sign ("+1.5 KiB", "-20", "0"). */
const char *lw_rep_fmt_svalue(enum lw_sample_type t, double v, char *buf, size_t len);
/* v as a percentage of total ("12.3%"). */
const char *lw_rep_fmt_pct(double v, double total, char *buf, size_t len);
/* "snapshot 3 of pid 42 at 00:01:00" */
void lw_rep_snap_desc(const lw_snapshot *s, char *buf, size_t len);
void lw_rep_json_snapshot(lw_json *j, const lw_snapshot *s);
void lw_rep_json_values(lw_json *j, const lw_values *v);
/* Percent with two decimals, so JSON stays short and stable. */
double lw_rep_pct2(double v, double total);
/* Order of frames and of sites by their frames (then keys). */
int lw_rep_cmp_frames(const lw_sym_frame *a, const lw_sym_frame *b);
int lw_rep_cmp_sites(const lw_site *a, const lw_site *b);
/* The second line of a site row: its callers, indented. */
void lw_rep_print_callers(const lw_site *s, int width, FILE *out);

#endif
