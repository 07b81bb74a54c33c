/* html_data.c — builds the data document of `leakwatch report`
 * (html_data.h; shape in docs/CLI.md, "report").
 *
 * Data path: the store's snapshot list, processes and per-process series
 * (model.h) are read once; the growth ranking runs on the series
 * (html_growth.h); a handful of snapshots are chosen for the flame graphs
 * and loaded as profiles, and `top` and `diff` run on those profiles
 * (report.h); the retainer analysis runs on one dump (retain.h). The CLI's
 * own JSON writers produce the top, diff and retainers parts, so the page
 * cannot disagree with the commands.
 *
 * Size (the page must stay under 5 MB for 1,000 snapshots x 5,000 sites):
 * strings, frames and sites are written once each and referenced by index;
 * the memory chart keeps at most TIMELINE_POINTS points per process and
 * each growth chart SERIES_POINTS (per bucket the first, last, smallest
 * and largest values survive, so peaks and steps stay visible); per-site
 * values are offered for at most PROFILE_BUDGET / sites snapshots, bytes
 * rounded to whole bytes and objects to tenths.
 *
 * Single-threaded; everything is freed before lw_report_build returns
 * except the document and the SVG it hands out.
 */
#include "html_data.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "html_growth.h"
#include "lwd_format.h"
#include "model.h"
#include "report.h"
#include "retain.h"
#include "retain_out.h"
#include "util.h"

#define SEL_MAX 16               /* snapshots offered by the selector */
#define SEL_MIN 3
#define PROFILE_BUDGET 40000     /* site values over all offered snapshots */
#define SERIES_POINTS 480        /* per growth-row chart */
#define TIMELINE_POINTS 1200     /* per process, memory over time */
#define RET_PATHS 10             /* as `retainers` without -n */
#define MIN_SNAPSHOTS 3          /* as `growth` without --min-snapshots */
#define SHORT_LABEL 72           /* frame labels longer than this get a short form */

typedef struct site_reg {
	int64_t id;              /* store site id */
	const lw_site *site;     /* owned by a series or a profile of the context */
} site_reg;

typedef struct sel_snap {
	const lw_snapshot *snap; /* in ctx.snaps */
	lw_profile prof;
	int loaded;
	const char *role;        /* "shown", "base", "dump", "restart", "" */
} sel_snap;

typedef struct ctx {
	lw_db *db;
	const lw_report_opts *o;
	lw_report_data *out;
	lw_proc_list procs;
	lw_snapshot_list snaps;
	lw_series_list ser;
	/* growth */
	lw_rg_row *rows;
	size_t n_rows;
	char growth_note[256];   /* why there is no ranking, or "" */
	size_t counts[4];
	/* snapshots offered for the flame graphs */
	sel_snap sel[SEL_MAX];
	size_t n_sel;
	long after, base;        /* indexes into sel (-1: none) */
	/* sites, frames, strings: the deduplicated tables */
	site_reg *sites;
	size_t n_sites, cap_sites;
	const lw_sym_frame **frames;
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
} ctx;

static void progress(const ctx *c, const char *stage, size_t done, size_t total)
{
	if (c->o->progress)
		c->o->progress(stage, done, total, c->o->progress_arg);
}

/* ---- JSON shorthands ------------------------------------------------------ */

static void k_int(lw_json *j, const char *k, int64_t v)
{
	lw_json_key(j, k);
	lw_json_int(j, v);
}

static void k_num(lw_json *j, const char *k, double v)
{
	lw_json_key(j, k);
	lw_json_num(j, v);   /* non-finite: null */
}

static void k_str(lw_json *j, const char *k, const char *v)
{
	lw_json_key(j, k);
	lw_json_str(j, v);
}

static void k_bool(lw_json *j, const char *k, int v)
{
	lw_json_key(j, k);
	lw_json_bool(j, v);
}

/* Bytes for charts: whole bytes. */
static void v_bytes(lw_json *j, double v)
{
	if (isfinite(v))
		lw_json_int(j, (int64_t)llround(v));
	else
		lw_json_null(j);
}

/* Seconds for charts: milliseconds are plenty. */
static void v_secs(lw_json *j, double v)
{
	lw_json_num(j, round(v * 1000) / 1000);
}

/* Runs fn (which writes one whole document to its FILE) into a malloc'd
 * buffer. Returns fn's result, or -ENOMEM; *buf is NULL on failure. */
typedef int (*doc_fn)(void *arg, FILE *out);

static int capture(doc_fn fn, void *arg, char **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	FILE *m = open_memstream(buf, len);
	if (!m)
		return -ENOMEM;
	int rc = fn(arg, m);
	int bad = ferror(m);
	if (fclose(m) || bad)
		rc = rc < 0 ? rc : -ENOMEM;
	if (rc < 0) {
		free(*buf);
		*buf = NULL;
		*len = 0;
	}
	return rc;
}

/* Embeds the document fn writes as the value of key k. */
static int k_doc(lw_json *j, const char *k, doc_fn fn, void *arg)
{
	char *buf;
	size_t len;
	int rc = capture(fn, arg, &buf, &len);
	if (rc < 0)
		return rc;
	lw_json_key(j, k);
	lw_json_raw(j, buf, len);
	free(buf);
	return 0;
}

/* ---- the site, frame and string tables ------------------------------------- */

static int sites_add(ctx *c, const lw_site *s)
{
	if (c->n_sites == c->cap_sites) {
		size_t ncap = c->cap_sites ? c->cap_sites * 2 : 1024;
		site_reg *nv = realloc(c->sites, ncap * sizeof *nv);
		if (!nv)
			return -ENOMEM;
		c->sites = nv;
		c->cap_sites = ncap;
	}
	c->sites[c->n_sites++] = (site_reg){ s->id, s };
	return 0;
}

static int cmp_site_reg(const void *a, const void *b)
{
	const site_reg *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Report index of a store site id, or -1. */
static long site_index(const ctx *c, int64_t id)
{
	site_reg key = { id, NULL };
	const site_reg *r = bsearch(&key, c->sites, c->n_sites, sizeof key, cmp_site_reg);
	return r ? (long)(r - c->sites) : -1;
}

static int cmp_frame(const lw_sym_frame *a, const lw_sym_frame *b)
{
	int d = strcmp(a->function, b->function);
	if (!d)
		d = strcmp(a->file, b->file);
	if (!d)
		d = (a->line > b->line) - (a->line < b->line);
	if (!d)
		d = strcmp(a->module, b->module);
	if (!d)
		d = (a->inlined > b->inlined) - (a->inlined < b->inlined);
	return d;
}

static int cmp_frame_ptr(const void *a, const void *b)
{
	return cmp_frame(*(const lw_sym_frame *const *)a, *(const lw_sym_frame *const *)b);
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static long frame_index(const ctx *c, const lw_sym_frame *f)
{
	const lw_sym_frame *const *r = bsearch(&f, c->frames, c->n_frames, sizeof f, cmp_frame_ptr);
	return r ? (long)(r - c->frames) : -1;
}

static long str_index(const ctx *c, const char *s)
{
	const char *const *r = bsearch(&s, c->strs, c->n_strs, sizeof s, cmp_str_ptr);
	return r ? (long)(r - c->strs) : -1;
}

/* Sorts and deduplicates the registered sites, then builds the frame and
 * string tables from their frames. */
static int tables_build(ctx *c)
{
	if (c->n_sites)
		qsort(c->sites, c->n_sites, sizeof *c->sites, cmp_site_reg);
	size_t n = 0;
	for (size_t i = 0; i < c->n_sites; i++)
		if (n == 0 || c->sites[n - 1].id != c->sites[i].id)
			c->sites[n++] = c->sites[i];
	c->n_sites = n;

	size_t nf = 0;
	for (size_t i = 0; i < c->n_sites; i++)
		nf += c->sites[i].site->n_frames;
	c->frames = malloc((nf ? nf : 1) * sizeof *c->frames);
	if (!c->frames)
		return -ENOMEM;
	nf = 0;
	for (size_t i = 0; i < c->n_sites; i++)
		for (size_t f = 0; f < c->sites[i].site->n_frames; f++)
			c->frames[nf++] = &c->sites[i].site->frames[f];
	if (nf)
		qsort(c->frames, nf, sizeof *c->frames, cmp_frame_ptr);
	n = 0;
	for (size_t i = 0; i < nf; i++)
		if (n == 0 || cmp_frame(c->frames[n - 1], c->frames[i]))
			c->frames[n++] = c->frames[i];
	c->n_frames = n;

	/* A label that would not fit a table cell gets the short form the
	 * terminal commands print (C++ argument lists and templates cut). */
	c->shorts = calloc(c->n_frames ? c->n_frames : 1, sizeof *c->shorts);
	c->strs = malloc((4 * c->n_frames + 1) * sizeof *c->strs);
	if (!c->shorts || !c->strs)
		return -ENOMEM;
	size_t ns = 0;
	for (size_t i = 0; i < c->n_frames; i++) {
		const lw_sym_frame *f = c->frames[i];
		char full[2048], shortl[256];
		lw_report_label(f, 0, full, sizeof full);
		if (strlen(full) > SHORT_LABEL) {
			lw_report_label(f, SHORT_LABEL, shortl, sizeof shortl);
			if (!(c->shorts[i] = strdup(shortl)))
				return -ENOMEM;
			c->strs[ns++] = c->shorts[i];
		}
		c->strs[ns++] = f->function;
		c->strs[ns++] = f->file;
		c->strs[ns++] = f->module;
	}
	if (ns)
		qsort(c->strs, ns, sizeof *c->strs, cmp_str_ptr);
	n = 0;
	for (size_t i = 0; i < ns; i++)
		if (n == 0 || strcmp(c->strs[n - 1], c->strs[i]))
			c->strs[n++] = c->strs[i];
	c->n_strs = n;
	return 0;
}

static void write_tables(const ctx *c, lw_json *j)
{
	lw_json_key(j, "strings");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < c->n_strs; i++)
		lw_json_str(j, c->strs[i]);
	lw_json_arr_end(j);
	/* frame: [function, file, line, module, inlined, short label or -1] */
	lw_json_key(j, "frames");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < c->n_frames; i++) {
		const lw_sym_frame *f = c->frames[i];
		lw_json_arr_begin(j);
		lw_json_int(j, str_index(c, f->function));
		lw_json_int(j, str_index(c, f->file));
		lw_json_int(j, f->line);
		lw_json_int(j, str_index(c, f->module));
		lw_json_int(j, f->inlined ? 1 : 0);
		lw_json_int(j, c->shorts[i] ? str_index(c, c->shorts[i]) : -1);
		lw_json_arr_end(j);
	}
	lw_json_arr_end(j);
	/* site: [frame, ...], allocation call site first; ids alongside */
	lw_json_key(j, "sites");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < c->n_sites; i++) {
		const lw_site *s = c->sites[i].site;
		lw_json_arr_begin(j);
		for (size_t f = 0; f < s->n_frames; f++)
			lw_json_int(j, frame_index(c, &s->frames[f]));
		lw_json_arr_end(j);
	}
	lw_json_arr_end(j);
	lw_json_key(j, "site_ids");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < c->n_sites; i++)
		lw_json_int(j, c->sites[i].id);
	lw_json_arr_end(j);
}

/* ---- processes and memory over time ----------------------------------------- */

static const lw_series *series_of(const ctx *c, int64_t process_id)
{
	for (size_t p = 0; p < c->ser.n; p++)
		if (c->ser.v[p].process_id == process_id)
			return &c->ser.v[p];
	return NULL;
}

static uint64_t first_wall_ns(const ctx *c)
{
	uint64_t t0 = UINT64_MAX;
	for (size_t i = 0; i < c->snaps.n; i++)
		if (c->snaps.v[i].wall_ns < t0)
			t0 = c->snaps.v[i].wall_ns;
	return t0 == UINT64_MAX ? 0 : t0;
}

/* "first", "restart" (the same program again), "child" (forked from a
 * process of the inputs) or "other" (another program). */
static const char *proc_role(const ctx *c, size_t i)
{
	const lw_proc_info *p = &c->procs.v[i];
	if (p->parent_run_id)
		for (size_t k = 0; k < c->procs.n; k++)
			if (c->procs.v[k].run_id == p->parent_run_id)
				return "child";
	if (i == 0)
		return "first";
	return strcmp(p->exe, c->procs.v[0].exe) == 0 ? "restart" : "other";
}

static void write_processes(const ctx *c, lw_json *j)
{
	char hex[32];
	lw_json_key(j, "processes");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < c->procs.n; i++) {
		const lw_proc_info *p = &c->procs.v[i];
		const lw_series *s = series_of(c, p->id);
		size_t n = s ? s->n_snaps : 0, dumps = 0;
		for (size_t k = 0; k < n; k++)
			dumps += s->snaps[k].kind == LWD_KIND_DUMP;
		lw_json_obj_begin(j);
		k_int(j, "pid", p->pid);
		k_int(j, "ppid", p->ppid);
		snprintf(hex, sizeof hex, "%016" PRIx64, p->run_id);
		k_str(j, "run_id", hex);
		k_str(j, "role", proc_role(c, i));
		k_str(j, "exe", p->exe);
		k_str(j, "build_id", p->build_id_hex);
		k_str(j, "hostname", p->hostname);
		k_str(j, "cmdline", p->cmdline);
		k_int(j, "sample_rate", (int64_t)p->sample_rate);
		k_int(j, "start_wall_ns", (int64_t)p->start_wall_ns);
		k_int(j, "snapshots", (int64_t)n);
		k_int(j, "dumps", (int64_t)dumps);
		if (n) {
			k_num(j, "first_t_s", s->snaps[0].t_s);
			k_num(j, "last_t_s", s->snaps[n - 1].t_s);
			k_int(j, "first_wall_ns", (int64_t)s->snaps[0].wall_ns);
			k_int(j, "last_wall_ns", (int64_t)s->snaps[n - 1].wall_ns);
		}
		lw_json_obj_end(j);
	}
	lw_json_arr_end(j);
}

/* Marks which of n points to keep so that at most about `limit` remain:
 * per bucket of consecutive points, the first, the last, and the smallest
 * and largest of each of the n_y series; points with force[k] always. */
static size_t downsample(size_t n, const double *const *ys, size_t n_y, const uint8_t *force,
			 size_t limit, uint8_t *keep)
{
	if (n <= limit) {
		memset(keep, 1, n);
		return n;
	}
	memset(keep, 0, n);
	size_t per = 2 + 2 * n_y;
	size_t buckets = limit / per ? limit / per : 1;
	for (size_t b = 0; b < buckets; b++) {
		size_t lo = n * b / buckets, hi = n * (b + 1) / buckets;
		if (lo >= hi)
			continue;
		keep[lo] = keep[hi - 1] = 1;
		for (size_t y = 0; y < n_y; y++) {
			size_t mn = lo, mx = lo;
			for (size_t k = lo; k < hi; k++) {
				if (ys[y][k] < ys[y][mn])
					mn = k;
				if (ys[y][k] > ys[y][mx])
					mx = k;
			}
			keep[mn] = keep[mx] = 1;
		}
	}
	size_t kept = 0;
	for (size_t k = 0; k < n; k++) {
		keep[k] |= force && force[k];
		kept += keep[k];
	}
	return kept;
}

static int write_timeline_process(const lw_series *s, uint64_t t0, lw_json *j)
{
	size_t n = s->n_snaps;
	double *rss = malloc((n ? n : 1) * sizeof *rss);
	double *com = malloc((n ? n : 1) * sizeof *com);
	double *use = calloc(n ? n : 1, sizeof *use);
	uint8_t *dump = calloc(n ? n : 1, 1), *keep = malloc(n ? n : 1);
	if (!rss || !com || !use || !dump || !keep) {
		free(rss), free(com), free(use), free(dump), free(keep);
		return -ENOMEM;
	}
	for (size_t k = 0; k < n; k++) {
		rss[k] = (double)s->snaps[k].rss_bytes;
		com[k] = (double)s->snaps[k].heap_committed;
		dump[k] = s->snaps[k].kind == LWD_KIND_DUMP;
	}
	for (size_t i = 0; i < s->n_sites; i++)
		for (size_t k = 0; k < n; k++)
			use[k] += s->values[i * n + k].inuse_bytes;
	const double *ys[3] = { rss, com, use };
	size_t kept = downsample(n, ys, 3, dump, TIMELINE_POINTS, keep);

	lw_json_obj_begin(j);
	k_int(j, "pid", s->pid);
	k_int(j, "n", (int64_t)n);
	k_int(j, "kept", (int64_t)kept);
	const char *names[] = { "t", "t_s", "seq", "rss", "committed", "inuse" };
	for (int col = 0; col < 6; col++) {
		lw_json_key(j, names[col]);
		lw_json_arr_begin(j);
		for (size_t k = 0; k < n; k++) {
			if (!keep[k])
				continue;
			switch (col) {
			case 0: v_secs(j, (double)(s->snaps[k].wall_ns - t0) / 1e9); break;
			case 1: v_secs(j, s->snaps[k].t_s); break;
			case 2: lw_json_int(j, (int64_t)s->snaps[k].seq); break;
			case 3: v_bytes(j, rss[k]); break;
			case 4: v_bytes(j, com[k]); break;
			default: v_bytes(j, use[k]); break;
			}
		}
		lw_json_arr_end(j);
	}
	/* dumps: [t, seq] (always among the kept points) */
	lw_json_key(j, "dumps");
	lw_json_arr_begin(j);
	for (size_t k = 0; k < n; k++)
		if (dump[k]) {
			lw_json_arr_begin(j);
			v_secs(j, (double)(s->snaps[k].wall_ns - t0) / 1e9);
			lw_json_int(j, (int64_t)s->snaps[k].seq);
			lw_json_arr_end(j);
		}
	lw_json_arr_end(j);
	lw_json_obj_end(j);
	free(rss), free(com), free(use), free(dump), free(keep);
	return 0;
}

static int write_timeline(const ctx *c, lw_json *j)
{
	uint64_t t0 = first_wall_ns(c);
	lw_json_key(j, "timeline");
	lw_json_obj_begin(j);
	k_int(j, "t0_wall_ns", (int64_t)t0);
	lw_json_key(j, "processes");
	lw_json_arr_begin(j);
	for (size_t p = 0; p < c->ser.n; p++)
		if (write_timeline_process(&c->ser.v[p], t0, j) < 0)
			return -ENOMEM;
	lw_json_arr_end(j);
	lw_json_obj_end(j);
	return 0;
}

/* ---- growth ----------------------------------------------------------------- */

/* Index of the snapshot from which a rising series stays above its starting
 * level (median of the first tenth) by more than twice its per-point noise:
 * the last point at or below that level, before the final run above it.
 * -1 when the series ends at or below it. */
static long onset_index(const double *y, size_t n, double noise_sd)
{
	size_t m = n / 10 ? n / 10 : 1;
	double *tmp = malloc(m * sizeof *tmp);
	if (!tmp)
		return -1;
	memcpy(tmp, y, m * sizeof *tmp);
	double base = lw_stats_median(tmp, m);
	free(tmp);
	double thr = base + (isfinite(noise_sd) ? 2 * noise_sd : 0);
	if (y[n - 1] <= thr)
		return -1;
	long k = (long)n - 1;
	while (k > 0 && y[k - 1] > thr)
		k--;
	return k > 0 ? k - 1 : 0;
}

/* The same fields, in the same order and with the same values, as one
 * element of `growth --json` (cmd/growth.c), but the frames as a site index. */
static void write_growth_cli_fields(const ctx *c, const lw_rg_row *row, size_t rank, lw_json *j)
{
	const lw_growth_result *r = &row->r;
	k_int(j, "rank", (int64_t)rank);
	k_str(j, "verdict", lw_verdict_name(r->verdict));
	k_num(j, "slope_bytes_per_s", r->fit.slope);
	k_num(j, "inuse_bytes", row->last_bytes);
	k_num(j, "inuse_objects", row->last_objects);
	k_str(j, "sample", "inuse_space");
	k_num(j, "slope_per_s", r->fit.slope);
	lw_json_key(j, "slope_ci");
	lw_json_arr_begin(j);
	lw_json_num(j, r->fit.ci_lo);
	lw_json_num(j, r->fit.ci_hi);
	lw_json_arr_end(j);
	k_num(j, "slope_ci_level", r->fit.conf);
	k_num(j, "recent_slope_per_s", r->recent_slope);
	k_num(j, "p_value", r->p);
	k_num(j, "q_value", r->q);
	k_num(j, "mk_s", r->mk.s);
	k_int(j, "n_snapshots", (int64_t)r->n);
	k_num(j, "span_s", r->span_s);
	k_num(j, "rise", r->rise_level);
	lw_json_key(j, "checks");
	lw_json_obj_begin(j);
	k_bool(j, "material", r->material);
	k_bool(j, "continuing", r->continuing);
	k_bool(j, "stopped", r->stopped);
	k_bool(j, "sawtooth", r->sawtooth);
	k_bool(j, "staircase", r->staircase);
	k_int(j, "steps", r->n_jumps);
	k_int(j, "drawdowns", r->n_drawdowns);
	lw_json_obj_end(j);
	lw_json_key(j, "process");
	lw_json_obj_begin(j);
	k_int(j, "pid", row->ser->pid);
	k_str(j, "exe", row->ser->exe);
	lw_json_obj_end(j);
	k_int(j, "site_id", row->ser->sites[row->site].id);
	k_int(j, "site", site_index(c, row->ser->sites[row->site].id));
}

/* What the page shows beyond `growth --json`: the statistics behind the
 * verdict (its reasons), the onset, and the series with its trend line. */
static int write_growth_detail(const lw_rg_row *row, lw_json *j)
{
	const lw_growth_result *r = &row->r;
	const lw_series *s = row->ser;
	size_t n = s->n_snaps;
	lw_json_key(j, "detail");
	lw_json_obj_begin(j);
	k_num(j, "intercept", r->fit.intercept);
	k_num(j, "noise_sd", r->noise_sd);
	k_num(j, "resid_sd", r->resid_sd);
	k_num(j, "sampling_sd", r->sampling_sd);
	k_num(j, "range", r->range);
	k_num(j, "ref_slope", r->ref_slope);
	k_num(j, "recent_s", r->recent_s);
	k_num(j, "recent_p", r->recent_p);
	k_num(j, "gap_s", r->gap_s);
	k_num(j, "flat_s", r->flat_s);
	k_bool(j, "screened", r->screened);
	k_bool(j, "linear", r->linear);
	lw_json_obj_end(j);

	double *y = malloc((n ? n : 1) * sizeof *y);
	uint8_t *keep = malloc(n ? n : 1);
	if (!y || !keep) {
		free(y), free(keep);
		return -ENOMEM;
	}
	size_t first = n;
	for (size_t k = 0; k < n; k++) {
		y[k] = s->values[row->site * n + k].inuse_bytes;
		if (first == n && y[k] != 0)
			first = k;
	}
	long on = -1;
	if (r->verdict == LW_VERDICT_LEAK || r->verdict == LW_VERDICT_GROWING)
		on = onset_index(y, n, r->noise_sd);
	lw_json_key(j, "first_seen_t_s");
	if (first < n)
		lw_json_num(j, s->snaps[first].t_s);
	else
		lw_json_null(j);
	lw_json_key(j, "onset");
	if (on >= 0) {
		lw_json_obj_begin(j);
		k_num(j, "t_s", s->snaps[on].t_s);
		k_int(j, "wall_ns", (int64_t)s->snaps[on].wall_ns);
		k_int(j, "seq", (int64_t)s->snaps[on].seq);
		lw_json_obj_end(j);
	} else {
		lw_json_null(j);
	}
	const double *ys[1] = { y };
	size_t kept = downsample(n, ys, 1, NULL, SERIES_POINTS, keep);
	lw_json_key(j, "series");
	lw_json_obj_begin(j);
	k_int(j, "n", (int64_t)n);
	k_int(j, "kept", (int64_t)kept);
	lw_json_key(j, "t_s");
	lw_json_arr_begin(j);
	for (size_t k = 0; k < n; k++)
		if (keep[k])
			v_secs(j, s->snaps[k].t_s);
	lw_json_arr_end(j);
	lw_json_key(j, "y");
	lw_json_arr_begin(j);
	for (size_t k = 0; k < n; k++)
		if (keep[k])
			v_bytes(j, y[k]);
	lw_json_arr_end(j);
	lw_json_obj_end(j);
	free(y), free(keep);
	return 0;
}

static int write_growth(const ctx *c, lw_json *j)
{
	lw_json_key(j, "growth");
	lw_json_obj_begin(j);
	k_str(j, "sample", "inuse_space");
	k_int(j, "min_snapshots", MIN_SNAPSHOTS);
	lw_growth_params prm;
	lw_growth_params_default(&prm);
	lw_json_key(j, "params");
	lw_json_obj_begin(j);
	k_num(j, "alpha", prm.alpha);
	k_num(j, "alpha_weak", prm.alpha_weak);
	k_num(j, "rho_continue", prm.rho_continue);
	k_num(j, "rho_flat", prm.rho_flat);
	lw_json_obj_end(j);
	lw_json_key(j, "note");
	lw_json_str(j, c->growth_note[0] ? c->growth_note : NULL);
	k_int(j, "n_sites", (int64_t)c->n_rows);
	lw_json_key(j, "counts");
	lw_json_obj_begin(j);
	for (int v = LW_VERDICT_LEAK; v <= LW_VERDICT_STABLE; v++)
		k_int(j, lw_verdict_name((enum lw_verdict)v), (int64_t)c->counts[v]);
	lw_json_obj_end(j);
	lw_json_key(j, "skipped_pids");
	lw_json_arr_begin(j);
	for (size_t p = 0; p < c->ser.n; p++)
		if (c->ser.v[p].n_snaps < MIN_SNAPSHOTS)
			lw_json_int(j, c->ser.v[p].pid);
	lw_json_arr_end(j);
	lw_json_key(j, "rows");
	lw_json_arr_begin(j);
	size_t shown = c->n_rows < c->o->n ? c->n_rows : c->o->n;
	for (size_t i = 0; i < shown; i++) {
		lw_json_obj_begin(j);
		write_growth_cli_fields(c, &c->rows[i], i + 1, j);
		if (write_growth_detail(&c->rows[i], j) < 0)
			return -ENOMEM;
		lw_json_obj_end(j);
	}
	lw_json_arr_end(j);
	lw_json_obj_end(j);
	return 0;
}

static void growth_progress(size_t done, size_t total, void *arg)
{
	progress(arg, "judging growth", done, total);
}

static int growth_run(ctx *c)
{
	size_t best = 0, usable = 0;
	for (size_t p = 0; p < c->ser.n; p++) {
		best = c->ser.v[p].n_snaps > best ? c->ser.v[p].n_snaps : best;
		usable += c->ser.v[p].n_snaps >= MIN_SNAPSHOTS;
	}
	if (!usable) {
		snprintf(c->growth_note, sizeof c->growth_note,
			 "growth needs at least %d snapshots of one process; the most any "
			 "process has is %zu", MIN_SNAPSHOTS, best);
		return 0;
	}
	lw_growth_params prm;
	lw_growth_params_default(&prm);
	if (lw_rg_rank(&c->ser, MIN_SNAPSHOTS, &prm, growth_progress, c, &c->rows,
		       &c->n_rows) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_rows; i++)
		c->counts[c->rows[i].r.verdict]++;
	size_t shown = c->n_rows < c->o->n ? c->n_rows : c->o->n;
	for (size_t i = 0; i < shown; i++)
		if (sites_add(c, &c->rows[i].ser->sites[c->rows[i].site]) < 0)
			return -ENOMEM;
	return 0;
}

/* ---- snapshots offered for the flame graphs, top and diff --------------------- */

static long snap_index_by_id(const ctx *c, int64_t id)
{
	for (size_t i = 0; i < c->snaps.n; i++)
		if (c->snaps.v[i].id == id)
			return (long)i;
	return -1;
}

static void sel_add(ctx *c, size_t snap_index, const char *role)
{
	const lw_snapshot *s = &c->snaps.v[snap_index];
	for (size_t i = 0; i < c->n_sel; i++)
		if (c->sel[i].snap == s)
			return;
	if (c->n_sel < SEL_MAX)
		c->sel[c->n_sel++] = (sel_snap){ .snap = s, .role = role };
}

static int cmp_sel(const void *a, const void *b)
{
	const sel_snap *x = a, *y = b;
	return (x->snap > y->snap) - (x->snap < y->snap);   /* list order */
}

static long sel_find(const ctx *c, long snap_index)
{
	for (size_t i = 0; i < c->n_sel; i++)
		if (c->sel[i].snap == &c->snaps.v[snap_index])
			return (long)i;
	return -1;
}

/* The base of the diff: --base FILE (a loaded snapshot, by path), --base SEQ,
 * or the first snapshot of the first process. */
static long pick_base(ctx *c, size_t n_first, char *err, size_t errlen)
{
	const lw_report_opts *o = c->o;
	if (o->base_path) {
		char *real = realpath(o->base_path, NULL);
		for (size_t i = 0; i < c->snaps.n; i++)
			if (!strcmp(c->snaps.v[i].path, real ? real : o->base_path)) {
				free(real);
				return (long)i;
			}
		free(real);
		snprintf(err, errlen, "--base '%s': not one of the loaded snapshots (give a file "
			 "among the inputs, or a sequence number)", o->base_path);
		return -1;
	}
	if (o->base_seq >= 0) {
		int64_t id = lw_report_pick_snapshot(c->db, o->base_seq, err, errlen);
		return id < 0 ? -1 : snap_index_by_id(c, id);
	}
	return n_first ? 0 : -1;
}

static int select_snapshots(ctx *c, char *err, size_t errlen)
{
	const lw_snapshot_list *l = &c->snaps;
	size_t n_first = 0;
	while (n_first < l->n && l->v[n_first].process_id == l->v[0].process_id)
		n_first++;
	int64_t after_id = lw_report_pick_snapshot(c->db, c->o->seq, err, errlen);
	if (after_id < 0)
		return -1;
	long after = snap_index_by_id(c, after_id);
	long base = pick_base(c, n_first, err, errlen);
	if (after < 0 || base < 0)
		return -1;

	size_t sites = 1;
	for (size_t p = 0; p < c->ser.n; p++)
		sites = c->ser.v[p].n_sites > sites ? c->ser.v[p].n_sites : sites;
	size_t k = PROFILE_BUDGET / sites;
	k = k < SEL_MIN ? SEL_MIN : k > SEL_MAX ? SEL_MAX : k;

	sel_add(c, (size_t)after, "shown");
	sel_add(c, (size_t)base, "base");
	size_t dumps = 0;
	for (size_t i = l->n; i-- > 0 && dumps < 4 && c->n_sel < k;)
		if (l->v[i].kind == LWD_KIND_DUMP) {
			sel_add(c, i, "dump");
			dumps++;
		}
	/* the latest snapshot of every other process (restarts, children) */
	for (size_t i = n_first; i < l->n && c->n_sel < k; i++)
		if (i + 1 == l->n || l->v[i + 1].process_id != l->v[i].process_id)
			sel_add(c, i, "process");
	/* the rest evenly over the first process */
	size_t room = k > c->n_sel ? k - c->n_sel : 0;
	for (size_t i = 0; i < room && n_first > 1; i++)
		sel_add(c, (n_first - 1) * (i + 1) / (room + 1), "");
	qsort(c->sel, c->n_sel, sizeof *c->sel, cmp_sel);
	c->after = sel_find(c, after);
	c->base = base == after ? -1 : sel_find(c, base);

	for (size_t i = 0; i < c->n_sel; i++) {
		progress(c, "reading profiles", i, c->n_sel);
		int rc = lw_model_profile(c->db, c->sel[i].snap->id, &c->sel[i].prof);
		if (rc < 0) {
			snprintf(err, errlen, "'%s': cannot read snapshot %" PRIu64 ": %s",
				 c->db->path, c->sel[i].snap->seq, strerror(-rc));
			return -1;
		}
		c->sel[i].loaded = 1;
		for (size_t s = 0; s < c->sel[i].prof.n; s++)
			if (sites_add(c, &c->sel[i].prof.sites[s]) < 0) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
	}
	return 0;
}

typedef struct top_doc {
	const lw_profile *p;
	enum lw_sample_type sample;
	size_t n;
} top_doc;

static int top_doc_write(void *arg, FILE *out)
{
	const top_doc *d = arg;
	lw_top_opts o;
	memset(&o, 0, sizeof o);
	o.sample = d->sample;
	o.by = LW_TOP_BY_FUNCTION;
	lw_top_result r;
	int rc = lw_top_compute(d->p, &o, &r);
	if (rc < 0)
		return rc;
	lw_top_json(d->p, &o, &r, d->n, out);
	lw_top_result_free(&r);
	return 0;
}

static const char *kind_name(uint32_t kind)
{
	return kind == LWD_KIND_DUMP ? "dump" : "snapshot";
}

static int write_snapshot(const ctx *c, const sel_snap *s, lw_json *j)
{
	const lw_profile *p = &s->prof;
	lw_json_obj_begin(j);
	k_int(j, "seq", (int64_t)s->snap->seq);
	k_int(j, "pid", s->snap->pid);
	k_str(j, "kind", kind_name(s->snap->kind));
	k_num(j, "t_s", s->snap->t_s);
	k_int(j, "wall_ns", (int64_t)s->snap->wall_ns);
	k_str(j, "path", s->snap->path);
	k_str(j, "role", s->role);
	lw_json_key(j, "total");
	lw_json_arr_begin(j);
	v_bytes(j, p->total.inuse_bytes);
	lw_json_num(j, round(p->total.inuse_objects * 10) / 10);
	v_bytes(j, p->total.alloc_bytes);
	lw_json_num(j, round(p->total.alloc_objects * 10) / 10);
	lw_json_arr_end(j);
	/* per site: report index, then [inuse B, inuse objects, alloc B, alloc
	 * objects] flattened */
	lw_json_key(j, "sites");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < p->n; i++)
		lw_json_int(j, site_index(c, p->sites[i].id));
	lw_json_arr_end(j);
	lw_json_key(j, "v");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < p->n; i++) {
		v_bytes(j, p->values[i].inuse_bytes);
		lw_json_num(j, round(p->values[i].inuse_objects * 10) / 10);
		v_bytes(j, p->values[i].alloc_bytes);
		lw_json_num(j, round(p->values[i].alloc_objects * 10) / 10);
	}
	lw_json_arr_end(j);
	/* `top --json` (by function), as the command prints it */
	lw_json_key(j, "top");
	lw_json_obj_begin(j);
	top_doc d1 = { p, LW_INUSE_SPACE, c->o->n }, d2 = { p, LW_ALLOC_SPACE, c->o->n };
	if (k_doc(j, "inuse_space", top_doc_write, &d1) < 0 ||
	    k_doc(j, "alloc_space", top_doc_write, &d2) < 0)
		return -ENOMEM;
	lw_json_obj_end(j);
	lw_json_obj_end(j);
	return 0;
}

typedef struct diff_doc {
	const lw_profile *before, *after;
	size_t n;
} diff_doc;

static int diff_doc_write(void *arg, FILE *out)
{
	const diff_doc *d = arg;
	lw_diff_result r;
	int rc = lw_diff_compute(d->before, d->after, LW_INUSE_SPACE, &r);
	if (rc < 0)
		return rc;
	lw_diff_json(d->before, d->after, LW_INUSE_SPACE, &r, d->n, out);
	lw_diff_result_free(&r);
	return 0;
}

static int write_snapshots(const ctx *c, lw_json *j)
{
	lw_json_key(j, "snapshots");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < c->n_sel; i++)
		if (write_snapshot(c, &c->sel[i], j) < 0)
			return -ENOMEM;
	lw_json_arr_end(j);
	k_int(j, "shown", c->after);
	lw_json_key(j, "diff");
	if (c->base < 0) {
		lw_json_null(j);
		return 0;
	}
	lw_json_obj_begin(j);
	k_int(j, "before", c->base);
	k_int(j, "after", c->after);
	diff_doc d = { &c->sel[c->base].prof, &c->sel[c->after].prof, c->o->n };
	if (k_doc(j, "doc", diff_doc_write, &d) < 0)
		return -ENOMEM;
	lw_json_obj_end(j);
	return 0;
}

/* ---- retainers ------------------------------------------------------------------ */

static void heap_progress(size_t done, size_t total, void *arg)
{
	progress(arg, "analyzing heap graph", done, total);
}

/* The dump to analyze: --dump, else the newest dump of the process of the
 * top-ranked growing site, else the newest dump of any process. */
static const char *pick_dump(const ctx *c)
{
	if (c->o->dump)
		return c->o->dump;
	int64_t proc = c->n_rows ? c->rows[0].ser->process_id : -1;
	const lw_snapshot *best = NULL;
	for (size_t i = 0; i < c->snaps.n; i++) {
		const lw_snapshot *s = &c->snaps.v[i];
		if (s->kind == LWD_KIND_DUMP && s->process_id == proc)
			best = s;   /* ordered by seq: the last one is the newest */
	}
	if (best)
		return best->path;
	for (size_t i = 0; i < c->snaps.n; i++) {
		const lw_snapshot *s = &c->snaps.v[i];
		if (s->kind == LWD_KIND_DUMP && (!best || s->wall_ns >= best->wall_ns))
			best = s;
	}
	return best ? best->path : NULL;
}

/* The group to explain: the top-ranked leak (or growing site) when the
 * dump has blocks of it, else the dump's largest in-use site, as
 * `retainers` picks without --site. */
static long pick_group(ctx *c)
{
	if (c->n_rows && (c->rows[0].r.verdict == LW_VERDICT_LEAK ||
			  c->rows[0].r.verdict == LW_VERDICT_GROWING)) {
		const lw_site *s = &c->rows[0].ser->sites[c->rows[0].site];
		long g = lw_heap_find_site(c->heap, s);
		if (g >= 0 && c->heap->groups[g].n_blocks) {
			c->ret_why = c->rows[0].r.verdict == LW_VERDICT_LEAK ? "top leak"
									    : "top growing site";
			c->ret_from_growth = 1;
			return g;
		}
	}
	c->ret_why = "largest in-use site of the dump";
	return lw_heap_default_site(c->heap);
}

static int ret_json_write(void *arg, FILE *out)
{
	const ctx *c = arg;
	lw_retainers_json(c->heap, c->ret_sel, &c->ret, RET_PATHS, out);
	return 0;
}

static int ret_svg_write(void *arg, FILE *out)
{
	const ctx *c = arg;
	Agraph_t *g = lw_retainers_agraph(c->heap, c->ret_sel, &c->ret);
	if (!g)
		return -ENOMEM;
	int rc = lw_retainers_render(g, "svg", out);
	agclose(g);
	return rc;
}

/* Fills the retainer part, or a note saying why there is none. Errors only
 * for an explicit --dump that cannot be read. */
static int retainers_run(ctx *c, char *err, size_t errlen)
{
	char *note = c->out->retainers_note;
	size_t note_len = sizeof c->out->retainers_note;
	const char *path = pick_dump(c);
	if (!path) {
		snprintf(note, note_len, "no heap dump among the inputs: take one while the "
			 "service runs with 'leakwatch snapshot PID' (or kill -USR2 PID)");
		return 0;
	}
	struct stat st;
	if (c->o->dump && stat(path, &st) < 0) {
		snprintf(err, errlen, "--dump '%s': cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (c->o->dump && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "--dump '%s': not a dump file", path);
		return -1;
	}
	char why[512];
	int rc = lw_heap_open_progress(path, heap_progress, c, &c->heap, why, sizeof why);
	if (rc < 0) {
		if (c->o->dump && rc != -ENOENT) {
			snprintf(err, errlen, "--dump '%s': %s", path, why);
			return -1;
		}
		snprintf(note, note_len, "%.200s: %.300s", path, why);
		c->heap = NULL;
		return 0;
	}
	c->ret_group = pick_group(c);
	if (c->ret_group < 0) {
		snprintf(note, note_len, "%.400s: the dump has no sampled blocks", path);
		return 0;
	}
	c->ret_sel = calloc(c->heap->n_groups, 1);
	if (!c->ret_sel)
		return -ENOMEM;
	c->ret_sel[c->ret_group] = 1;
	if (lw_heap_retainers(c->heap, c->ret_sel, RET_PATHS, &c->ret) < 0 ||
	    capture(ret_json_write, c, &c->ret_json, &c->ret_json_len) < 0)
		return -ENOMEM;
	rc = capture(ret_svg_write, c, &c->out->svg, &c->out->svg_len);
	if (rc == -ENOMEM)
		return -ENOMEM;
	if (rc < 0)
		snprintf(note, note_len, "graphviz could not lay out or render the retainer "
			 "graph (%s)", strerror(-rc));
	return 0;
}

static void write_retainers(const ctx *c, lw_json *j)
{
	lw_json_key(j, "retainers");
	if (!c->ret_json) {
		lw_json_null(j);
		return;
	}
	lw_json_obj_begin(j);
	k_str(j, "dump", c->heap->path);
	k_str(j, "why", c->ret_why);
	/* the growth row's site, when that is the one explained */
	k_int(j, "site", c->ret_from_growth ?
	      site_index(c, c->rows[0].ser->sites[c->rows[0].site].id) : -1);
	k_bool(j, "svg", c->out->svg != NULL);
	lw_json_key(j, "doc");
	lw_json_raw(j, c->ret_json, c->ret_json_len);
	lw_json_obj_end(j);
}

/* ---- the document ----------------------------------------------------------------- */

static int write_document(ctx *c, FILE *out)
{
	const lw_report_opts *o = c->o;
	lw_json *j = lw_json_new(out);
	if (!j)
		return -ENOMEM;
	lw_json_obj_begin(j);
	k_str(j, "format", "leakwatch-report");
	k_int(j, "version", 1);
	k_str(j, "generator", o->generator);
	k_str(j, "title", c->out->title);
	k_int(j, "n", (int64_t)o->n);
	lw_json_key(j, "inputs");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < o->n_inputs; i++)
		lw_json_str(j, o->inputs[i]);
	lw_json_arr_end(j);
	k_int(j, "n_snapshots", (int64_t)c->out->n_snapshots);
	k_int(j, "n_dumps", (int64_t)c->out->n_dumps);
	write_processes(c, j);
	int rc = write_timeline(c, j);
	if (rc == 0)
		rc = write_growth(c, j);
	if (rc == 0) {
		write_tables(c, j);
		rc = write_snapshots(c, j);
	}
	if (rc == 0) {
		write_retainers(c, j);
		lw_json_key(j, "retainers_note");
		lw_json_str(j, c->out->retainers_note[0] ? c->out->retainers_note : NULL);
	}
	lw_json_obj_end(j);
	lw_json_finish(j);
	return rc;
}

static void ctx_free(ctx *c)
{
	lw_snapshot_list_free(&c->snaps);
	lw_proc_list_free(&c->procs);
	lw_series_list_free(&c->ser);
	free(c->rows);
	for (size_t i = 0; i < c->n_sel; i++)
		if (c->sel[i].loaded)
			lw_profile_free(&c->sel[i].prof);
	free(c->sites);
	free(c->frames);
	for (size_t i = 0; c->shorts && i < c->n_frames; i++)
		free(c->shorts[i]);
	free(c->shorts);
	free(c->strs);
	lw_retainers_free(&c->ret);
	free(c->ret_sel);
	free(c->ret_json);
	lw_heap_free(c->heap);
}

int lw_report_build(lw_db *db, const lw_report_opts *o, lw_report_data *out, char *err,
		    size_t errlen)
{
	ctx c;
	memset(&c, 0, sizeof c);
	memset(out, 0, sizeof *out);
	err[0] = 0;
	c.db = db;
	c.o = o;
	c.out = out;
	c.after = c.base = c.ret_group = -1;
	int rc = -1;
	progress(&c, "reading the store", 0, 1);
	if (lw_model_snapshots(db, &c.snaps) < 0 || lw_model_processes(db, &c.procs) < 0 ||
	    lw_model_series(db, &c.ser) < 0) {
		snprintf(err, errlen, "'%s': cannot read the snapshots", db->path);
		goto out;
	}
	if (!c.snaps.n) {
		snprintf(err, errlen, "'%s': no snapshots", db->path);
		goto out;
	}
	const char *exe = c.snaps.v[0].exe, *slash = strrchr(exe, '/');
	snprintf(out->title, sizeof out->title, "%s", slash ? slash + 1 : exe);
	out->n_snapshots = c.snaps.n;
	for (size_t i = 0; i < c.snaps.n; i++)
		out->n_dumps += c.snaps.v[i].kind == LWD_KIND_DUMP;
	out->n_processes = c.procs.n;
	if (growth_run(&c) < 0 || select_snapshots(&c, err, errlen) < 0 ||
	    retainers_run(&c, err, errlen) < 0 || tables_build(&c) < 0) {
		if (!err[0])
			snprintf(err, errlen, "out of memory");
		goto out;
	}
	out->n_leaks = c.counts[LW_VERDICT_LEAK];
	progress(&c, "writing the page", 0, 1);
	FILE *m = open_memstream(&out->json, &out->json_len);
	if (!m || write_document(&c, m) < 0 || ferror(m)) {
		if (m)
			fclose(m);
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (fclose(m)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	ctx_free(&c);
	if (rc < 0)
		lw_report_data_free(out);
	return rc;
}

void lw_report_data_free(lw_report_data *d)
{
	free(d->json);
	free(d->svg);
	d->json = d->svg = NULL;
	d->json_len = d->svg_len = 0;
}
