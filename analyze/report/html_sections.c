/* html_sections.c — the growth, snapshot and retainer parts of the report's
 * data document (html_data_int.h):
 *
 *   growth      the ranking (growth.h: lw_growth_rank) with, per shown
 *               row, the fields of `growth --json` (lw_growth_json_fields),
 *               the statistics behind the verdict, the onset of the growth
 *               and the downsampled series
 *   snapshots   the few snapshots the flame graphs offer: per-site values
 *               and the `top --json` documents; the `diff --json` document
 *               of base -> shown
 *   retainers   the `retainers --json` document and the SVG graph of one
 *               dump, for the top leak when the dump has its blocks
 */
#include "html_data_int.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lwd_format.h"
#include "report.h"
#include "retain_out.h"

/* ---- growth ----------------------------------------------------------------- */

/* Index of the snapshot from which a rising series stays above its starting
 * level (median of the first tenth) by more than twice its per-point noise:
 * the last point at or below that level, before the final run above it, or
 * the first point when that is within the first tenth. -1 when the series
 * ends at or below the level. */
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
	/* a rise that starts inside the baseline window started with it */
	return k - 1 < (long)m ? 0 : k - 1;
}

/* What the page shows beyond `growth --json`: the statistics behind the
 * verdict (its reasons), the onset, and the series with its trend line. */
static int write_growth_detail(const lw_growth_site *row, lw_json *j)
{
	const lw_growth_result *r = &row->r;
	const lw_series *s = row->ser;
	size_t n = s->n_snaps;
	lw_json_key(j, "detail");
	lw_json_obj_begin(j);
	lw_rd_k_num(j, "intercept", r->fit.intercept);
	lw_rd_k_num(j, "noise_sd", r->noise_sd);
	lw_rd_k_num(j, "resid_sd", r->resid_sd);
	lw_rd_k_num(j, "sampling_sd", r->sampling_sd);
	lw_rd_k_num(j, "range", r->range);
	lw_rd_k_num(j, "ref_slope", r->ref_slope);
	lw_rd_k_num(j, "recent_s", r->recent_s);
	lw_rd_k_num(j, "recent_p", r->recent_p);
	lw_rd_k_num(j, "gap_s", r->gap_s);
	lw_rd_k_num(j, "flat_s", r->flat_s);
	lw_rd_k_bool(j, "screened", r->screened);
	lw_rd_k_bool(j, "linear", r->linear);
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
		lw_rd_k_num(j, "t_s", s->snaps[on].t_s);
		lw_rd_k_int(j, "wall_ns", (int64_t)s->snaps[on].wall_ns);
		lw_rd_k_int(j, "seq", (int64_t)s->snaps[on].seq);
		lw_json_obj_end(j);
	} else {
		lw_json_null(j);
	}
	const double *ys[1] = { y };
	size_t kept = lw_rd_downsample(n, ys, 1, NULL, LW_RD_SERIES_POINTS, keep);
	lw_json_key(j, "series");
	lw_json_obj_begin(j);
	lw_rd_k_int(j, "n", (int64_t)n);
	lw_rd_k_int(j, "kept", (int64_t)kept);
	lw_json_key(j, "t_s");
	lw_json_arr_begin(j);
	for (size_t k = 0; k < n; k++)
		if (keep[k])
			lw_rd_v_secs(j, s->snaps[k].t_s);
	lw_json_arr_end(j);
	lw_json_key(j, "y");
	lw_json_arr_begin(j);
	for (size_t k = 0; k < n; k++)
		if (keep[k])
			lw_rd_v_bytes(j, y[k]);
	lw_json_arr_end(j);
	lw_json_obj_end(j);
	free(y), free(keep);
	return 0;
}

int lw_rd_write_growth(const lw_rd_ctx *c, lw_json *j)
{
	lw_json_key(j, "growth");
	lw_json_obj_begin(j);
	lw_rd_k_str(j, "sample", "inuse_space");
	lw_rd_k_int(j, "min_snapshots", LW_RD_MIN_SNAPSHOTS);
	lw_growth_params prm;
	lw_growth_params_default(&prm);
	lw_json_key(j, "params");
	lw_json_obj_begin(j);
	lw_rd_k_num(j, "alpha", prm.alpha);
	lw_rd_k_num(j, "alpha_weak", prm.alpha_weak);
	lw_rd_k_num(j, "rho_continue", prm.rho_continue);
	lw_rd_k_num(j, "rho_flat", prm.rho_flat);
	lw_json_obj_end(j);
	lw_json_key(j, "note");
	lw_json_str(j, c->growth_note[0] ? c->growth_note : NULL);
	lw_rd_k_int(j, "n_sites", (int64_t)c->growth.n_sites);
	lw_json_key(j, "counts");
	lw_json_obj_begin(j);
	for (int v = LW_VERDICT_LEAK; v <= LW_VERDICT_STABLE; v++)
		lw_rd_k_int(j, lw_verdict_name((enum lw_verdict)v), (int64_t)c->counts[v]);
	lw_json_obj_end(j);
	lw_json_key(j, "skipped_pids");
	lw_json_arr_begin(j);
	for (size_t p = 0; p < c->growth.n_procs; p++)
		if (c->growth.procs[p].skipped)
			lw_json_int(j, c->growth.procs[p].ser->pid);
	lw_json_arr_end(j);
	lw_json_key(j, "rows");
	lw_json_arr_begin(j);
	size_t shown = c->growth.n_sites < c->o->n ? c->growth.n_sites : c->o->n;
	for (size_t i = 0; i < shown; i++) {
		const lw_growth_site *row = &c->growth.sites[i];
		lw_json_obj_begin(j);
		/* every field of `growth --json`, by its own writer, and the
		 * frames as an index into the page's site table */
		lw_growth_json_fields(j, &c->growth, i);
		const lw_site *site = &row->ser->sites[row->site];
		lw_rd_k_int(j, "site", lw_rd_site_index(c, site->id));
		lw_report_json_wrappers(j, site->wrappers, site->n_wrappers);
		if (write_growth_detail(row, j) < 0)
			return -ENOMEM;
		lw_json_obj_end(j);
	}
	lw_json_arr_end(j);
	lw_json_obj_end(j);
	return 0;
}

static void growth_progress(void *arg, size_t done, size_t total)
{
	lw_rd_progress(arg, "judging growth", done, total);
}

/* The ranking of the page's program: the process it is about and that
 * program's restarts (lw_model_program), as `growth` ranks them. */
int lw_rd_growth_run(lw_rd_ctx *c)
{
	lw_proc_choice prog = c->proc;   /* its "also in" count stays the page's */
	int64_t *ids = NULL;
	size_t n_ids = 0;
	int rc = lw_model_program(c->m, &prog, &ids, &n_ids);
	if (rc < 0)
		return rc;
	lw_growth_opts go;
	lw_growth_opts_default(&go);
	go.min_snaps = LW_RD_MIN_SNAPSHOTS;
	go.only = ids;
	go.n_only = n_ids;
	go.progress = growth_progress;
	go.progress_arg = c;
	rc = lw_growth_rank(&c->ser, &go, &c->growth);
	free(ids);
	if (rc < 0)
		return rc;
	size_t usable = 0;
	for (size_t p = 0; p < c->growth.n_procs; p++)
		usable += !c->growth.procs[p].skipped;
	if (!usable) {
		snprintf(c->growth_note, sizeof c->growth_note,
			 "growth needs at least %d snapshots of one process; the most %s%s "
			 "(pid %" PRIu32 ") has is %zu", LW_RD_MIN_SNAPSHOTS,
			 n_ids > 1 ? "any process named " : "", c->proc.name, c->proc.pid,
			 c->growth.best_snaps);
		return 0;
	}
	for (size_t i = 0; i < LW_N_VERDICTS; i++)
		c->counts[i] = c->growth.counts[i];
	size_t shown = c->growth.n_sites < c->o->n ? c->growth.n_sites : c->o->n;
	for (size_t i = 0; i < shown; i++) {
		const lw_growth_site *row = &c->growth.sites[i];
		if (lw_rd_sites_add(c, &row->ser->sites[row->site]) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* ---- snapshots offered for the flame graphs, top and diff --------------------- */

static long snap_index_by_id(const lw_rd_ctx *c, int64_t id)
{
	for (size_t i = 0; i < c->snaps.n; i++)
		if (c->snaps.v[i].id == id)
			return (long)i;
	return -1;
}

static void sel_add(lw_rd_ctx *c, size_t snap_index, const char *role)
{
	const lw_snapshot *s = &c->snaps.v[snap_index];
	for (size_t i = 0; i < c->n_sel; i++)
		if (c->sel[i].snap == s)
			return;
	if (c->n_sel < LW_RD_SEL_MAX)
		c->sel[c->n_sel++] = (lw_rd_snap){ .snap = s, .role = role };
}

static int cmp_sel(const void *a, const void *b)
{
	const lw_rd_snap *x = a, *y = b;
	return (x->snap > y->snap) - (x->snap < y->snap);   /* list order */
}

static long sel_find(const lw_rd_ctx *c, long snap_index)
{
	for (size_t i = 0; i < c->n_sel; i++)
		if (c->sel[i].snap == &c->snaps.v[snap_index])
			return (long)i;
	return -1;
}

/* The base of the diff: --base FILE (a loaded snapshot, by path), --base SEQ,
 * or the first snapshot of the process the page is about (at index lo). */
static long pick_base(lw_rd_ctx *c, size_t lo, size_t n_first, char *err, size_t errlen)
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
		int64_t id = lw_report_pick_snapshot(c->m, c->proc.process_id, o->base_seq, err,
						     errlen);
		return id < 0 ? -1 : snap_index_by_id(c, id);
	}
	return n_first ? (long)lo : -1;
}

int lw_rd_select_snapshots(lw_rd_ctx *c, char *err, size_t errlen)
{
	const lw_snapshot_list *l = &c->snaps;
	/* the process's snapshots: [lo, lo + n_first) of the list */
	size_t lo = 0, n_first = 0;
	while (lo < l->n && l->v[lo].process_id != c->proc.process_id)
		lo++;
	while (lo + n_first < l->n && l->v[lo + n_first].process_id == c->proc.process_id)
		n_first++;
	int64_t after_id = lw_report_pick_snapshot(c->m, c->proc.process_id, c->o->seq, err, errlen);
	if (after_id < 0)
		return -1;
	long after = snap_index_by_id(c, after_id);
	long base = pick_base(c, lo, n_first, err, errlen);
	if (after < 0 || base < 0)
		return -1;

	size_t sites = 1;
	for (size_t p = 0; p < c->ser.n; p++)
		sites = c->ser.v[p].n_sites > sites ? c->ser.v[p].n_sites : sites;
	size_t k = LW_RD_PROFILE_BUDGET / sites;
	k = k < LW_RD_SEL_MIN ? LW_RD_SEL_MIN : k > LW_RD_SEL_MAX ? LW_RD_SEL_MAX : k;

	sel_add(c, (size_t)after, "shown");
	sel_add(c, (size_t)base, "base");
	size_t dumps = 0;
	for (size_t i = l->n; i-- > 0 && dumps < 4 && c->n_sel < k;)
		if (l->v[i].kind == LWD_KIND_DUMP) {
			sel_add(c, i, "dump");
			dumps++;
		}
	/* the latest snapshot of every other process (restarts, children) */
	for (size_t i = 0; i < l->n && c->n_sel < k; i++)
		if (l->v[i].process_id != c->proc.process_id &&
		    (i + 1 == l->n || l->v[i + 1].process_id != l->v[i].process_id))
			sel_add(c, i, "process");
	/* the rest evenly over the process the page is about */
	size_t room = k > c->n_sel ? k - c->n_sel : 0;
	for (size_t i = 0; i < room && n_first > 1; i++)
		sel_add(c, lo + (n_first - 1) * (i + 1) / (room + 1), "");
	qsort(c->sel, c->n_sel, sizeof *c->sel, cmp_sel);
	c->after = sel_find(c, after);
	c->base = base == after ? -1 : sel_find(c, base);

	for (size_t i = 0; i < c->n_sel; i++) {
		lw_rd_progress(c, "reading profiles", i, c->n_sel);
		int rc = lw_model_profile(c->m, c->sel[i].snap->id, &c->sel[i].prof);
		if (rc < 0) {
			snprintf(err, errlen, "'%s': cannot read snapshot %" PRIu64 ": %s",
				 lw_model_db(c->m)->path, c->sel[i].snap->seq, strerror(-rc));
			return -1;
		}
		c->sel[i].loaded = 1;
		if (c->sel[i].snap->process_id == c->proc.process_id)
			c->sel[i].prof.proc = &c->proc;   /* top's documents say what `top` says */
		for (size_t s = 0; s < c->sel[i].prof.n; s++)
			if (lw_rd_sites_add(c, &c->sel[i].prof.sites[s]) < 0) {
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

static int write_snapshot(const lw_rd_ctx *c, const lw_rd_snap *s, lw_json *j)
{
	const lw_profile *p = &s->prof;
	lw_json_obj_begin(j);
	lw_rd_k_int(j, "seq", (int64_t)s->snap->seq);
	lw_rd_k_int(j, "pid", s->snap->pid);
	lw_rd_k_str(j, "kind", kind_name(s->snap->kind));
	lw_rd_k_num(j, "t_s", s->snap->t_s);
	lw_rd_k_int(j, "wall_ns", (int64_t)s->snap->wall_ns);
	lw_rd_k_str(j, "path", s->snap->path);
	lw_rd_k_str(j, "role", s->role);
	lw_json_key(j, "total");
	lw_json_arr_begin(j);
	lw_rd_v_bytes(j, p->total.inuse_bytes);
	lw_json_num(j, round(p->total.inuse_objects * 10) / 10);
	lw_rd_v_bytes(j, p->total.alloc_bytes);
	lw_json_num(j, round(p->total.alloc_objects * 10) / 10);
	lw_json_arr_end(j);
	/* per site: report index, then [inuse B, inuse objects, alloc B, alloc
	 * objects] flattened */
	lw_json_key(j, "sites");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < p->n; i++)
		lw_json_int(j, lw_rd_site_index(c, p->sites[i].id));
	lw_json_arr_end(j);
	lw_json_key(j, "v");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < p->n; i++) {
		lw_rd_v_bytes(j, p->values[i].inuse_bytes);
		lw_json_num(j, round(p->values[i].inuse_objects * 10) / 10);
		lw_rd_v_bytes(j, p->values[i].alloc_bytes);
		lw_json_num(j, round(p->values[i].alloc_objects * 10) / 10);
	}
	lw_json_arr_end(j);
	/* `top --json` (by function), as the command prints it */
	lw_json_key(j, "top");
	lw_json_obj_begin(j);
	top_doc d1 = { p, LW_INUSE_SPACE, c->o->n }, d2 = { p, LW_ALLOC_SPACE, c->o->n };
	if (lw_rd_k_doc(j, "inuse_space", top_doc_write, &d1) < 0 ||
	    lw_rd_k_doc(j, "alloc_space", top_doc_write, &d2) < 0)
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

int lw_rd_write_snapshots(const lw_rd_ctx *c, lw_json *j)
{
	lw_json_key(j, "snapshots");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < c->n_sel; i++)
		if (write_snapshot(c, &c->sel[i], j) < 0)
			return -ENOMEM;
	lw_json_arr_end(j);
	lw_rd_k_int(j, "shown", c->after);
	lw_json_key(j, "diff");
	if (c->base < 0) {
		lw_json_null(j);
		return 0;
	}
	lw_json_obj_begin(j);
	lw_rd_k_int(j, "before", c->base);
	lw_rd_k_int(j, "after", c->after);
	diff_doc d = { &c->sel[c->base].prof, &c->sel[c->after].prof, c->o->n };
	if (lw_rd_k_doc(j, "doc", diff_doc_write, &d) < 0)
		return -ENOMEM;
	lw_json_obj_end(j);
	return 0;
}

/* ---- retainers ------------------------------------------------------------------ */

static void heap_progress(size_t done, size_t total, void *arg)
{
	lw_rd_progress(arg, "analyzing heap graph", done, total);
}

/* The dump to analyze: --dump, else the newest dump of the process of the
 * top-ranked growing site, else the newest dump of any process. */
static const char *pick_dump(const lw_rd_ctx *c)
{
	if (c->o->dump)
		return c->o->dump;
	int64_t proc = c->growth.n_sites ? c->growth.sites[0].ser->process_id : -1;
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
static long pick_group(lw_rd_ctx *c)
{
	if (c->growth.n_sites && (c->growth.sites[0].r.verdict == LW_VERDICT_LEAK ||
			  c->growth.sites[0].r.verdict == LW_VERDICT_GROWING)) {
		const lw_site *s = &c->growth.sites[0].ser->sites[c->growth.sites[0].site];
		long g = lw_heap_find_site(c->heap, s);
		if (g >= 0 && c->heap->groups[g].n_blocks) {
			c->ret_why = c->growth.sites[0].r.verdict == LW_VERDICT_LEAK ? "top leak"
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
	const lw_rd_ctx *c = arg;
	lw_retainers_json(c->heap, c->ret_sel, &c->ret, LW_RD_RET_PATHS, out);
	return 0;
}

static int ret_svg_write(void *arg, FILE *out)
{
	const lw_rd_ctx *c = arg;
	Agraph_t *g = lw_retainers_agraph(c->heap, c->ret_sel, &c->ret);
	if (!g)
		return -ENOMEM;
	int rc = lw_retainers_render(g, "svg", out);
	agclose(g);
	return rc;
}

/* Fills the retainer part, or a note saying why there is none. Errors only
 * for an explicit --dump that cannot be read. */
int lw_rd_retainers_run(lw_rd_ctx *c, char *err, size_t errlen)
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
	int rc = lw_heap_open(c->m, path, heap_progress, c, &c->heap, why, sizeof why);
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
	if (lw_heap_retainers(c->heap, c->ret_sel, LW_RD_RET_PATHS, &c->ret) < 0 ||
	    lw_rd_capture(ret_json_write, c, &c->ret_json, &c->ret_json_len) < 0)
		return -ENOMEM;
	rc = lw_rd_capture(ret_svg_write, c, &c->out->svg, &c->out->svg_len);
	if (rc == -ENOMEM)
		return -ENOMEM;
	if (rc < 0)
		snprintf(note, note_len, "graphviz could not lay out or render the retainer "
			 "graph (%s)", strerror(-rc));
	return 0;
}

void lw_rd_write_retainers(const lw_rd_ctx *c, lw_json *j)
{
	lw_json_key(j, "retainers");
	if (!c->ret_json) {
		lw_json_null(j);
		return;
	}
	lw_json_obj_begin(j);
	lw_rd_k_str(j, "dump", c->heap->path);
	lw_rd_k_str(j, "why", c->ret_why);
	/* the growth row's site, when that is the one explained */
	lw_rd_k_int(j, "site", c->ret_from_growth ?
	      lw_rd_site_index(c, c->growth.sites[0].ser->sites[c->growth.sites[0].site].id) : -1);
	lw_rd_k_bool(j, "svg", c->out->svg != NULL);
	lw_json_key(j, "doc");
	lw_json_raw(j, c->ret_json, c->ret_json_len);
	lw_json_obj_end(j);
}
