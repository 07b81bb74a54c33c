/* html_data_int.h — what the two halves of the report's data document
 * share: html_data.c (the context, the string/frame/site tables, processes,
 * memory over time, assembling the document) and html_sections.c (growth,
 * the snapshots with their top and diff documents, retainers). Private to
 * analyze/report/.
 */
#ifndef LW_HTML_DATA_INT_H
#define LW_HTML_DATA_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "html_data.h"
#include "growth.h"
#include "model.h"
#include "report.h"
#include "retain.h"
#include "util.h"

#define LW_RD_SEL_MAX 16          /* snapshots offered by the selector */
#define LW_RD_SEL_MIN 3
#define LW_RD_PROFILE_BUDGET 40000 /* site values over all offered snapshots */
#define LW_RD_SERIES_POINTS 480   /* per growth-row chart */
#define LW_RD_TIMELINE_POINTS 1200 /* per process, memory over time */
#define LW_RD_RET_PATHS 10        /* as `retainers` without -n */
#define LW_RD_MIN_SNAPSHOTS 3     /* as `growth` without --min-snapshots */
#define LW_RD_SHORT_LABEL 72      /* frame labels longer than this get a short form */

typedef struct lw_rd_site {
	int64_t id;              /* store site id */
	const lw_site *site;     /* owned by a series or a profile of the context */
} lw_rd_site;

typedef struct lw_rd_snap {
	const lw_snapshot *snap; /* in lw_rd_ctx.snaps */
	lw_profile prof;
	int loaded;
	const char *role;        /* "shown", "base", "dump", "restart", "" */
} lw_rd_snap;

typedef struct lw_rd_ctx {
	lw_model *m;
	const lw_report_opts *o;
	lw_report_data *out;
	lw_proc_list procs;
	lw_proc_choice proc;     /* the process the page is about */
	lw_snapshot_list snaps;
	lw_series_list ser;
	/* growth: the ranking `leakwatch growth` prints (growth.h) */
	lw_growth_report growth;
	char growth_note[256];   /* why there is no ranking, or "" */
	size_t counts[4];
	/* snapshots offered for the flame graphs */
	lw_rd_snap sel[LW_RD_SEL_MAX];
	size_t n_sel;
	long after, base;        /* indexes into sel (-1: none) */
	/* sites, frames, strings: the deduplicated tables */
	lw_rd_site *sites;
	size_t n_sites, cap_sites;
	const lw_sym_frame **frames;
	char **labels;           /* per frame: its label (lw_frame_label) */
	char **shorts;           /* per frame: shortened label, or NULL */
	size_t n_frames;
	const char **strs;
	size_t n_strs;
	/* retainers */
	lw_heap *heap;
	lw_retainers ret;
	uint8_t *ret_sel;
	long ret_group;
	const char *ret_why;
	int ret_from_growth;     /* the group is the top growth row's site */
	char *ret_json;
	size_t ret_json_len;
} lw_rd_ctx;

/* Writes one whole JSON document to out; returns 0 or a negative errno. */
typedef int (*lw_rd_doc_fn)(void *arg, FILE *out);

void lw_rd_progress(const lw_rd_ctx *c, const char *stage, size_t done, size_t total);

/* JSON shorthands: key + value; bytes rounded to whole bytes and seconds to
 * milliseconds for the charts. */
void lw_rd_k_int(lw_json *j, const char *k, int64_t v);
void lw_rd_k_num(lw_json *j, const char *k, double v);
void lw_rd_k_str(lw_json *j, const char *k, const char *v);
void lw_rd_k_bool(lw_json *j, const char *k, int v);
void lw_rd_v_bytes(lw_json *j, double v);
void lw_rd_v_secs(lw_json *j, double v);
/* Runs fn into a malloc'd buffer (*buf NULL on failure); returns fn's
 * result or -ENOMEM. */
int lw_rd_capture(lw_rd_doc_fn fn, void *arg, char **buf, size_t *len);
/* Embeds the document fn writes as the value of key k. */
int lw_rd_k_doc(lw_json *j, const char *k, lw_rd_doc_fn fn, void *arg);

/* Registers a site for the tables (duplicates allowed until they are
 * built); after the tables are built, its index in them, or -1. */
int lw_rd_sites_add(lw_rd_ctx *c, const lw_site *s);
long lw_rd_site_index(const lw_rd_ctx *c, int64_t id);
/* Marks in keep[n] the points to draw: all when n <= limit, else per
 * bucket the first, last, smallest and largest of each series, plus the
 * forced ones. Returns how many are kept. */
size_t lw_rd_downsample(size_t n, const double *const *ys, size_t n_y, const uint8_t *force,
			size_t limit, uint8_t *keep);

/* html_sections.c: each *_run computes (0, or -1/-ENOMEM with err), each
 * write_* adds its keys to the document. */
int lw_rd_growth_run(lw_rd_ctx *c);
int lw_rd_write_growth(const lw_rd_ctx *c, lw_json *j);
int lw_rd_select_snapshots(lw_rd_ctx *c, char *err, size_t errlen);
int lw_rd_write_snapshots(const lw_rd_ctx *c, lw_json *j);
int lw_rd_retainers_run(lw_rd_ctx *c, char *err, size_t errlen);
void lw_rd_write_retainers(const lw_rd_ctx *c, lw_json *j);

#endif
