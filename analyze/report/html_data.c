/* html_data.c — builds the data document of `leakwatch report`
 * (html_data.h; shape in docs/CLI.md, "report").
 *
 * Data path: the store's snapshot list, processes and per-process series
 * (model.h) are read once; the growth ranking runs on the series
 * (growth.h, as `leakwatch growth`); a handful of snapshots are chosen for the flame graphs
 * and loaded as profiles, and `top` and `diff` run on those profiles
 * (report.h); the retainer analysis runs on one dump (retain.h). The CLI's
 * own JSON writers produce the top, diff and retainers parts, so the page
 * cannot disagree with the commands.
 *
 * Size (the page must stay under 5 MB for 1,000 snapshots x 5,000 sites):
 * strings, frames and sites are written once each and referenced by index;
 * the memory chart keeps at most LW_RD_TIMELINE_POINTS points per process and
 * each growth chart LW_RD_SERIES_POINTS (per bucket the first, last, smallest
 * and largest values survive, so peaks and steps stay visible); per-site
 * values are offered for at most LW_RD_PROFILE_BUDGET / sites snapshots, bytes
 * rounded to whole bytes and objects to tenths.
 *
 * This file: the context, the tables, processes, memory over time and the
 * document; html_sections.c: growth, snapshots, top, diff, retainers.
 * Single-threaded; everything is freed before lw_report_build returns
 * except the document and the SVG it hands out.
 */
#include "html_data_int.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lwd_format.h"
#include "report_int.h"

void lw_rd_progress(const lw_rd_ctx *c, const char *stage, size_t done, size_t total)
{
	if (c->o->progress)
		c->o->progress(stage, done, total, c->o->progress_arg);
}

/* ---- JSON shorthands ------------------------------------------------------ */

void lw_rd_k_int(lw_json *j, const char *k, int64_t v)
{
	lw_json_key(j, k);
	lw_json_int(j, v);
}

void lw_rd_k_num(lw_json *j, const char *k, double v)
{
	lw_json_key(j, k);
	lw_json_num(j, v);   /* non-finite: null */
}

void lw_rd_k_str(lw_json *j, const char *k, const char *v)
{
	lw_json_key(j, k);
	lw_json_str(j, v);
}

void lw_rd_k_bool(lw_json *j, const char *k, int v)
{
	lw_json_key(j, k);
	lw_json_bool(j, v);
}

/* Bytes for charts: whole bytes. */
void lw_rd_v_bytes(lw_json *j, double v)
{
	if (isfinite(v))
		lw_json_int(j, (int64_t)llround(v));
	else
		lw_json_null(j);
}

/* Seconds for charts: milliseconds are plenty. */
void lw_rd_v_secs(lw_json *j, double v)
{
	lw_json_num(j, round(v * 1000) / 1000);
}

int lw_rd_capture(lw_rd_doc_fn fn, void *arg, char **buf, size_t *len)
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
int lw_rd_k_doc(lw_json *j, const char *k, lw_rd_doc_fn fn, void *arg)
{
	char *buf;
	size_t len;
	int rc = lw_rd_capture(fn, arg, &buf, &len);
	if (rc < 0)
		return rc;
	lw_json_key(j, k);
	lw_json_raw(j, buf, len);
	free(buf);
	return 0;
}

/* ---- the site, frame and string tables ------------------------------------- */

int lw_rd_sites_add(lw_rd_ctx *c, const lw_site *s)
{
	if (c->n_sites == c->cap_sites) {
		size_t ncap = c->cap_sites ? c->cap_sites * 2 : 1024;
		lw_rd_site *nv = realloc(c->sites, ncap * sizeof *nv);
		if (!nv)
			return -ENOMEM;
		c->sites = nv;
		c->cap_sites = ncap;
	}
	c->sites[c->n_sites++] = (lw_rd_site){ s->id, s };
	return 0;
}

static int cmp_site_reg(const void *a, const void *b)
{
	const lw_rd_site *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Report index of a store site id, or -1. */
long lw_rd_site_index(const lw_rd_ctx *c, int64_t id)
{
	lw_rd_site key = { id, NULL };
	const lw_rd_site *r = bsearch(&key, c->sites, c->n_sites, sizeof key, cmp_site_reg);
	return r ? (long)(r - c->sites) : -1;
}

/* The frames the page tells apart: the order of the reports
 * (lw_rep_cmp_frames), then inlining, then an unknown function's offset,
 * as in the site key. */
static int cmp_frame(const lw_sym_frame *a, const lw_sym_frame *b)
{
	int d = lw_rep_cmp_frames(a, b);
	if (!d)
		d = (a->inlined > b->inlined) - (a->inlined < b->inlined);
	if (!d && lw_frame_unknown(a))
		d = (a->offset > b->offset) - (a->offset < b->offset);
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

static long frame_index(const lw_rd_ctx *c, const lw_sym_frame *f)
{
	const lw_sym_frame *const *r = bsearch(&f, c->frames, c->n_frames, sizeof f, cmp_frame_ptr);
	return r ? (long)(r - c->frames) : -1;
}

static long str_index(const lw_rd_ctx *c, const char *s)
{
	const char *const *r = bsearch(&s, c->strs, c->n_strs, sizeof s, cmp_str_ptr);
	return r ? (long)(r - c->strs) : -1;
}

/* Sorts and deduplicates the registered sites, then builds the frame and
 * string tables from their frames. */
static int tables_build(lw_rd_ctx *c)
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

	/* Every frame carries its label (lw_frame_label, the one the commands
	 * print); one that would not fit a table cell also its short form (C++
	 * argument lists and templates cut). */
	c->labels = calloc(c->n_frames ? c->n_frames : 1, sizeof *c->labels);
	c->shorts = calloc(c->n_frames ? c->n_frames : 1, sizeof *c->shorts);
	c->strs = malloc((5 * c->n_frames + 1) * sizeof *c->strs);
	if (!c->labels || !c->shorts || !c->strs)
		return -ENOMEM;
	size_t ns = 0;
	for (size_t i = 0; i < c->n_frames; i++) {
		const lw_sym_frame *f = c->frames[i];
		char full[2048], shortl[256];
		if (!(c->labels[i] = strdup(lw_frame_label(f, 0, full, sizeof full))))
			return -ENOMEM;
		c->strs[ns++] = c->labels[i];
		if (strlen(full) > LW_RD_SHORT_LABEL) {
			lw_frame_label(f, LW_RD_SHORT_LABEL, shortl, sizeof shortl);
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

static void write_tables(const lw_rd_ctx *c, lw_json *j)
{
	lw_json_key(j, "strings");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < c->n_strs; i++)
		lw_json_str(j, c->strs[i]);
	lw_json_arr_end(j);
	/* frame: [function, file, line, module, inlined, label, short label or
	 * -1, offset (unknown functions; else 0)], strings as indexes */
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
		lw_json_int(j, str_index(c, c->labels[i]));
		lw_json_int(j, c->shorts[i] ? str_index(c, c->shorts[i]) : -1);
		lw_json_int(j, lw_frame_unknown(f) ? (int64_t)f->offset : 0);
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

static const lw_series *series_of(const lw_rd_ctx *c, int64_t process_id)
{
	for (size_t p = 0; p < c->ser.n; p++)
		if (c->ser.v[p].process_id == process_id)
			return &c->ser.v[p];
	return NULL;
}

static uint64_t first_wall_ns(const lw_rd_ctx *c)
{
	uint64_t t0 = UINT64_MAX;
	for (size_t i = 0; i < c->snaps.n; i++)
		if (c->snaps.v[i].wall_ns < t0)
			t0 = c->snaps.v[i].wall_ns;
	return t0 == UINT64_MAX ? 0 : t0;
}

/* "first" (the process the page is about: lw_model_choose_process),
 * "restart" (the same program again), "child" (forked from or started by a
 * process of the inputs) or "other" (another program). */
static const char *proc_role(const lw_rd_ctx *c, size_t i)
{
	const lw_proc_info *p = &c->procs.v[i];
	if (p->id == c->proc.process_id)
		return "first";
	if (p->parent_run_id)
		for (size_t k = 0; k < c->procs.n; k++)
			if (c->procs.v[k].run_id == p->parent_run_id)
				return "child";
	return strcmp(p->name, c->proc.name) == 0 ? "restart" : "other";
}

static void write_processes(const lw_rd_ctx *c, lw_json *j)
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
		lw_rd_k_int(j, "pid", p->pid);
		lw_rd_k_int(j, "ppid", p->ppid);
		snprintf(hex, sizeof hex, "%016" PRIx64, p->run_id);
		lw_rd_k_str(j, "run_id", hex);
		lw_rd_k_str(j, "role", proc_role(c, i));
		lw_rd_k_str(j, "exe", p->exe);
		lw_rd_k_str(j, "name", p->name);
		lw_rd_k_str(j, "build_id", p->build_id_hex);
		lw_rd_k_str(j, "hostname", p->hostname);
		lw_rd_k_str(j, "cmdline", p->cmdline);
		lw_rd_k_int(j, "sample_rate", (int64_t)p->sample_rate);
		lw_rd_k_int(j, "start_wall_ns", (int64_t)p->start_wall_ns);
		lw_rd_k_int(j, "snapshots", (int64_t)n);
		lw_rd_k_int(j, "dumps", (int64_t)dumps);
		if (n) {
			lw_rd_k_num(j, "first_t_s", s->snaps[0].t_s);
			lw_rd_k_num(j, "last_t_s", s->snaps[n - 1].t_s);
			lw_rd_k_int(j, "first_wall_ns", (int64_t)s->snaps[0].wall_ns);
			lw_rd_k_int(j, "last_wall_ns", (int64_t)s->snaps[n - 1].wall_ns);
		}
		lw_json_obj_end(j);
	}
	lw_json_arr_end(j);
}

/* Marks which of n points to keep so that at most about `limit` remain:
 * per bucket of consecutive points, the first, the last, and the smallest
 * and largest of each of the n_y series; points with force[k] always. */
size_t lw_rd_downsample(size_t n, const double *const *ys, size_t n_y, const uint8_t *force,
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
	size_t kept = lw_rd_downsample(n, ys, 3, dump, LW_RD_TIMELINE_POINTS, keep);

	lw_json_obj_begin(j);
	lw_rd_k_int(j, "pid", s->pid);
	lw_rd_k_int(j, "n", (int64_t)n);
	lw_rd_k_int(j, "kept", (int64_t)kept);
	const char *names[] = { "t", "t_s", "seq", "rss", "committed", "inuse" };
	for (int col = 0; col < 6; col++) {
		lw_json_key(j, names[col]);
		lw_json_arr_begin(j);
		for (size_t k = 0; k < n; k++) {
			if (!keep[k])
				continue;
			switch (col) {
			case 0: lw_rd_v_secs(j, (double)(s->snaps[k].wall_ns - t0) / 1e9); break;
			case 1: lw_rd_v_secs(j, s->snaps[k].t_s); break;
			case 2: lw_json_int(j, (int64_t)s->snaps[k].seq); break;
			case 3: lw_rd_v_bytes(j, rss[k]); break;
			case 4: lw_rd_v_bytes(j, com[k]); break;
			default: lw_rd_v_bytes(j, use[k]); break;
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
			lw_rd_v_secs(j, (double)(s->snaps[k].wall_ns - t0) / 1e9);
			lw_json_int(j, (int64_t)s->snaps[k].seq);
			lw_json_arr_end(j);
		}
	lw_json_arr_end(j);
	lw_json_obj_end(j);
	free(rss), free(com), free(use), free(dump), free(keep);
	return 0;
}

static int write_timeline(const lw_rd_ctx *c, lw_json *j)
{
	uint64_t t0 = first_wall_ns(c);
	lw_json_key(j, "timeline");
	lw_json_obj_begin(j);
	lw_rd_k_int(j, "t0_wall_ns", (int64_t)t0);
	lw_json_key(j, "processes");
	lw_json_arr_begin(j);
	for (size_t p = 0; p < c->ser.n; p++)
		if (write_timeline_process(&c->ser.v[p], t0, j) < 0)
			return -ENOMEM;
	lw_json_arr_end(j);
	lw_json_obj_end(j);
	return 0;
}

/* ---- the document ----------------------------------------------------------------- */

static int write_document(lw_rd_ctx *c, FILE *out)
{
	const lw_report_opts *o = c->o;
	lw_json *j = lw_json_new(out);
	if (!j)
		return -ENOMEM;
	lw_json_obj_begin(j);
	lw_rd_k_str(j, "format", "leakwatch-report");
	lw_rd_k_int(j, "version", 1);
	lw_rd_k_str(j, "generator", o->generator);
	lw_rd_k_str(j, "title", c->out->title);
	lw_rd_k_int(j, "n", (int64_t)o->n);
	lw_json_key(j, "inputs");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < o->n_inputs; i++)
		lw_json_str(j, o->inputs[i]);
	lw_json_arr_end(j);
	lw_rd_k_int(j, "n_snapshots", (int64_t)c->out->n_snapshots);
	lw_rd_k_int(j, "n_dumps", (int64_t)c->out->n_dumps);
	write_processes(c, j);
	int rc = write_timeline(c, j);
	if (rc == 0)
		rc = lw_rd_write_growth(c, j);
	if (rc == 0) {
		write_tables(c, j);
		rc = lw_rd_write_snapshots(c, j);
	}
	if (rc == 0) {
		lw_rd_write_retainers(c, j);
		lw_json_key(j, "retainers_note");
		lw_json_str(j, c->out->retainers_note[0] ? c->out->retainers_note : NULL);
	}
	lw_json_obj_end(j);
	lw_json_finish(j);
	return rc;
}

static void ctx_free(lw_rd_ctx *c)
{
	lw_snapshot_list_free(&c->snaps);
	lw_proc_list_free(&c->procs);
	lw_series_list_free(&c->ser);
	lw_growth_report_free(&c->growth);
	for (size_t i = 0; i < c->n_sel; i++)
		if (c->sel[i].loaded)
			lw_profile_free(&c->sel[i].prof);
	free(c->sites);
	free(c->frames);
	for (size_t i = 0; c->shorts && i < c->n_frames; i++)
		free(c->shorts[i]);
	for (size_t i = 0; c->labels && i < c->n_frames; i++)
		free(c->labels[i]);
	free(c->shorts);
	free(c->labels);
	free(c->strs);
	lw_retainers_free(&c->ret);
	free(c->ret_sel);
	free(c->ret_json);
	lw_heap_free(c->heap);
}

int lw_report_build(lw_model *m, const lw_report_opts *o, lw_report_data *out, char *err,
		    size_t errlen)
{
	lw_rd_ctx c;
	memset(&c, 0, sizeof c);
	memset(out, 0, sizeof *out);
	err[0] = 0;
	c.m = m;
	c.o = o;
	c.out = out;
	c.after = c.base = c.ret_group = -1;
	int rc = -1;
	lw_rd_progress(&c, "reading the store", 0, 1);
	if (lw_model_snapshots(m, &c.snaps) < 0 || lw_model_processes(m, &c.procs) < 0 ||
	    lw_model_series(m, &c.ser) < 0) {
		snprintf(err, errlen, "'%s': cannot read the snapshots", lw_model_db(m)->path);
		goto out;
	}
	if (!c.snaps.n) {
		snprintf(err, errlen, "'%s': no snapshots", lw_model_db(m)->path);
		goto out;
	}
	if (lw_model_choose_process(m, o->proc, &c.proc, err, errlen) < 0)
		goto out;
	snprintf(out->title, sizeof out->title, "%s", c.proc.name);
	out->n_snapshots = c.snaps.n;
	for (size_t i = 0; i < c.snaps.n; i++)
		out->n_dumps += c.snaps.v[i].kind == LWD_KIND_DUMP;
	out->n_processes = c.procs.n;
	if (lw_rd_growth_run(&c) < 0 || lw_rd_select_snapshots(&c, err, errlen) < 0 ||
	    lw_rd_retainers_run(&c, err, errlen) < 0 || tables_build(&c) < 0) {
		if (!err[0])
			snprintf(err, errlen, "out of memory");
		goto out;
	}
	out->n_leaks = c.counts[LW_VERDICT_LEAK];
	lw_rd_progress(&c, "writing the page", 0, 1);
	FILE *f = open_memstream(&out->json, &out->json_len);
	if (!f || write_document(&c, f) < 0 || ferror(f)) {
		if (f)
			fclose(f);
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (fclose(f)) {
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
