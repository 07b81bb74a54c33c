/* report.h — the computations behind `leakwatch top` and `leakwatch diff`,
 * separated from argument parsing so they are unit-tested directly and so
 * other commands can reuse them (the heap-graph `top --retained` plugs a
 * retained-size provider into lw_top_opts; see below).
 *
 * Role: pure functions over lw_profile (model.h): aggregation per function
 * or per site, focus filtering, ranking, site matching across processes by
 * symbolized frames, and the text / JSON renderings (docs/CLI.md).
 * No globals, no locks; results are owned by the caller (*_free).
 */
#ifndef LW_REPORT_H
#define LW_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "model.h"
#include "pattern.h"

/* ---- top ---------------------------------------------------------------- */
enum lw_top_by { LW_TOP_BY_FUNCTION = 0, LW_TOP_BY_SITE };
enum lw_top_sort { LW_TOP_SORT_FLAT = 0, LW_TOP_SORT_CUM, LW_TOP_SORT_RETAINED };

/* Retained bytes of one site (heap-graph analysis of a dump). Supplied by
 * the caller of lw_top_compute; NULL when not available. For a per-function
 * row the retained figure is the sum over the sites whose allocation call
 * site (flat frame) is that function. Return a negative value for "unknown". */
typedef double (*lw_top_retained_fn)(const lw_site *site, void *arg);

typedef struct lw_top_opts {
	enum lw_sample_type sample;      /* default LW_INUSE_SPACE */
	enum lw_top_by by;
	enum lw_top_sort sort;           /* RETAINED requires `retained` */
	const lw_regex *focus;           /* NULL: no filter */
	const char *focus_text;          /* the pattern, for headers and JSON */
	lw_top_retained_fn retained;     /* NULL: no retained column */
	void *retained_arg;
} lw_top_opts;

typedef struct lw_top_row {
	const lw_sym_frame *frame;       /* by function: a frame of that function */
	const lw_site *site;             /* by site: the site */
	size_t profile_index;            /* by site: index into lw_profile.sites */
	double flat, cum;                /* of the chosen sample type */
	double retained;                 /* < 0 when unknown / not supplied */
	lw_values values;                /* by site: all four figures */
} lw_top_row;

typedef struct lw_top_result {
	size_t n_rows;                   /* rows with a non-zero flat or cum value */
	lw_top_row *rows;                /* ranked */
	double total;                    /* whole snapshot, chosen sample type */
	double focus_total;              /* sum over kept sites (== total w/o focus) */
	size_t n_sites, n_sites_kept;    /* sites in the profile / after focus */
} lw_top_result;

/* Aggregates and ranks. Returns 0 or -ENOMEM. */
int lw_top_compute(const lw_profile *p, const lw_top_opts *o, lw_top_result *out);
void lw_top_result_free(lw_top_result *r);
/* Human output: header line(s) then at most n rows, fitted to `width`
 * columns (0 = 80). */
void lw_top_print(const lw_profile *p, const lw_top_opts *o, const lw_top_result *r,
		  size_t n, int width, FILE *out);
/* JSON document (shape in docs/CLI.md, "top --json"). */
void lw_top_json(const lw_profile *p, const lw_top_opts *o, const lw_top_result *r,
		 size_t n, FILE *out);

/* ---- diff --------------------------------------------------------------- */
enum lw_diff_status { LW_DIFF_BOTH = 0, LW_DIFF_NEW, LW_DIFF_GONE };

typedef struct lw_diff_row {
	const lw_site *site;             /* from `after`, or `before` when GONE */
	enum lw_diff_status status;
	lw_values before, after;         /* zero where the site is absent */
	double delta;                    /* after - before, chosen sample type */
	double delta_objects;            /* inuse objects (alloc objects for alloc_*) */
} lw_diff_row;

typedef struct lw_diff_result {
	size_t n_rows;                   /* sites whose figures changed */
	lw_diff_row *rows;               /* ranked by delta, largest growth first */
	size_t n_new, n_gone, n_sites;   /* n_sites: distinct sites in either */
	double total_before, total_after;
	int same_process;                /* same run: rate per hour is meaningful */
	double seconds;                  /* after - before, when same_process */
	size_t n_wrappers;               /* wrappers folded in either profile */
	const char **wrappers;
} lw_diff_result;

/* Matches sites by key (site/site.h: symbolized frames, unknown functions
 * by module offset), never by address or store id, so the two profiles may
 * come from different processes or stores; fold both alike
 * (lw_model_set_wrappers). NEW / GONE: the site has no figure in the
 * other profile; a site unchanged in the sample type is not a row.
 * Returns 0 or -ENOMEM. */
int lw_diff_compute(const lw_profile *before, const lw_profile *after,
		    enum lw_sample_type sample, lw_diff_result *out);
void lw_diff_result_free(lw_diff_result *r);
void lw_diff_print(const lw_profile *before, const lw_profile *after,
		   enum lw_sample_type sample, const lw_diff_result *r, size_t n,
		   int width, FILE *out);
void lw_diff_json(const lw_profile *before, const lw_profile *after,
		  enum lw_sample_type sample, const lw_diff_result *r, size_t n, FILE *out);

/* ---- shared helpers ----------------------------------------------------- */
/* Picks a snapshot of process process_id (lw_model_choose_process):
 * sequence `seq`, or when seq < 0 its latest before teardown — the exit
 * snapshot comes after the program freed what it held, so it is the
 * default only when the process wrote nothing else. Returns the
 * snapshot's store id, or -1 with a message in err. */
int64_t lw_report_pick_snapshot(lw_model *m, int64_t process_id, int64_t seq, char *err,
				size_t errlen);
/* How a process ended, for the reader: "exit status 3" ("exit status
 * unknown" for -1). Returns buf. */
const char *lw_report_exit_phrase(int status, char *buf, size_t len);
/* A snapshot's reason (LWD_REASON_*) in JSON: "interval", "exit", "signal",
 * "api". */
const char *lw_report_reason_name(uint32_t reason);
/* The lines a report prints about the process it shows (c) when there is
 * something to say: how it ended (its exit snapshot, when `shown` is not
 * that one), the program it exec'd from, and the other processes of the
 * inputs in one line ("also in WHERE: 40 other processes (readlink ×38,
 * …); --pid/--exe to choose"); each prefixed, wrapped to width columns
 * (continuation lines indented by two spaces). */
void lw_report_print_process(const lw_proc_choice *c, const lw_snapshot *shown,
			     const char *prefix, int width, FILE *out);
/* The JSON object a report writes under "processes": the choice, how the
 * process ended, the others by name (shape in docs/CLI.md). */
void lw_report_json_process(lw_json *j, const lw_proc_choice *c);
/* The wrappers an output folded, so folding is never silent: the line
 * "Wrappers folded into their callers: a, b" (nothing when n == 0), and
 * the JSON key "wrappers" with its array (always). */
void lw_report_print_wrappers(const char *const *names, size_t n, int width, FILE *out);
void lw_report_json_wrappers(lw_json *j, const char *const *names, size_t n);

#endif
