/* cmd/retainers.c — `leakwatch retainers DUMP [--site PATTERN] [-n N]
 * [-o FILE.dot|FILE.svg] [--json]`: what keeps a site's memory alive.
 *
 * Role: argument parsing, selection and the text output. The analysis lives
 * in retain.c (dump loading, symbolization, aggregation) and graph.c (BFS,
 * dominators, lost blocks); the JSON document and the Graphviz graph in
 * retain_out.c (shared with `leakwatch report`); the method and the output
 * contracts are in docs/RETAINERS.md. The graph is written with agwrite
 * (.dot) or laid out with libgvc's "dot" engine and rendered as SVG, and
 * published with lw_out_publish (lib/outfile.h: 0600 temporary, fsync,
 * rename; never through a symbolic link).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include "args.h"
#include "commands.h"
#include "errors.h"
#include "frame.h"
#include "outfile.h"
#include "pattern.h"
#include "progress.h"
#include "report.h"
#include "retain.h"
#include "retain_out.h"
#include "table.h"
#include "text.h"
#include "units.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LW_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(LW_ASAN)
/* LeakSanitizer: graphviz 2.43 keeps its plugin configuration (gvconfig)
 * and fontconfig its caches for the life of the process, even after
 * gvFreeContext. Those are not ours; suppress only stacks through them. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libgvc.so\nleak:libfontconfig.so\nleak:libcgraph.so\n"
	       "leak:libpango\nleak:libcairo\nleak:libglib\n";
}
#endif

static void usage(FILE *out)
{
	fputs("usage: leakwatch retainers DUMP [--site PATTERN] [-n N] "
	      "[-o FILE.dot|FILE.svg] [--json]\n"
	      "                            " LW_MODEL_USAGE "\n"
	      "  DUMP: a heap dump (dump-NNNNNN.lwd) or a run directory (its newest dump)\n"
	      "  PATTERN: extended regex over the site's frame labels (default: the site\n"
	      "  with the largest inuse bytes)\n", out);
}

static const char *hb(double v, char *buf, size_t len)
{
	return lw_fmt_bytes(v, buf, len);
}

/* Short per-node description: "global, retains 1.2 KiB". */
static void node_info(const lw_heap *h, const lw_retainers *r, uint32_t id, char *buf, size_t len)
{
	char b1[32], b2[32];
	if (lw_heap_is_root(h, id)) {
		const lw_heap_root *rt = &h->roots[id - h->n_groups];
		snprintf(buf, len, "%s root, retains %s", lw_heap_root_kind_name(rt->kind),
			 hb((double)rt->retained, b1, sizeof b1));
		return;
	}
	const lw_ret_node *nd = lw_retainers_node(r, id);
	uint32_t nb = nd ? nd->n_blocks : 0;
	uint64_t bytes = nd ? nd->bytes : 0;
	snprintf(buf, len, "%u block%s, %s, retains %s", nb, nb == 1 ? "" : "s",
		 hb((double)bytes, b1, sizeof b1),
		 hb((double)h->groups[id].retained, b2, sizeof b2));
}

/* Copies s into buf, cut to at most max characters with "..." at the end. */
static const char *fit(const char *s, size_t max, char *buf, size_t len)
{
	size_t n = strlen(s);
	if (max < 4)
		max = 4;
	if (n <= max || len <= max) {
		snprintf(buf, len, "%s", s);
		return buf;
	}
	memcpy(buf, s, max - 3);
	memcpy(buf + max - 3, "...", 4);
	return buf;
}

/* Label of a path step within max characters: sites through
 * lw_frame_label (C++ argument lists and templates shortened first). */
static const char *step_label(const lw_heap *h, uint32_t id, size_t max, char *buf, size_t len)
{
	if (!lw_heap_is_root(h, id) && h->groups[id].kind == LW_HEAP_SITE &&
	    h->groups[id].site.n_frames)
		return lw_frame_label(&h->groups[id].site.frames[0], max, buf, len);
	return fit(lw_heap_node_label(h, id), max, buf, len);
}

/* ---- text ----------------------------------------------------------------------- */

static void print_group_summary(const lw_heap *h, const lw_heap_group *gr, FILE *out)
{
	char b1[32], b2[32], b3[32], b4[32];
	if (gr->kind == LW_HEAP_CLASS)
		fprintf(out, "class: %s (unsampled blocks whose vtable pointer names it, sizes %llu..%llu B)\n",
			gr->cls, (unsigned long long)gr->size_lo, (unsigned long long)gr->size_hi);
	else
		fprintf(out, "site: %s\n", gr->label);
	for (size_t i = 1; i < gr->site.n_frames && i < 4; i++) {
		char lab[512];
		fprintf(out, "      called from %s\n",
			lw_frame_label(&gr->site.frames[i], 0, lab, sizeof lab));
	}
	fprintf(out, "  in the dump: %u block%s, %s", gr->n_blocks, gr->n_blocks == 1 ? "" : "s",
		hb((double)gr->bytes, b1, sizeof b1));
	if (gr->kind == LW_HEAP_SITE)
		fprintf(out, " (estimated inuse %s)", hb(gr->inuse_bytes, b2, sizeof b2));
	fputc('\n', out);
	fprintf(out, "  reachable: %u block%s, %s, retaining %s\n", gr->n_reachable,
		gr->n_reachable == 1 ? "" : "s",
		hb((double)gr->reachable_bytes, b1, sizeof b1), hb((double)gr->retained, b2, sizeof b2));
	fprintf(out, "  unreachable: %u definitely lost (%s), %u indirectly lost (%s)\n",
		gr->n_def_lost, hb((double)gr->def_lost_bytes, b3, sizeof b3),
		gr->n_ind_lost, hb((double)gr->ind_lost_bytes, b4, sizeof b4));
	(void)h;
}

/* The dump, the whole heap, and a summary of each selected group. */
static void print_heading(const lw_heap *h, const uint8_t *sel, size_t max, int width,
			  FILE *out)
{
	char b1[32], b2[32], b3[32], name[LW_PROC_NAME_MAX];
	const lw_file *f = h->file;
	fprintf(out, "dump %s: pid %u (%s)\n", h->path, f->process.pid,
		lw_proc_name(f->process.cmdline, f->process.exe, name, sizeof(name)));
	fprintf(out, "heap: %zu blocks, %s; reachable %u blocks, %s\n", h->dg->n_blocks,
		hb((double)h->total_bytes, b1, sizeof b1), h->an.n_reachable,
		hb((double)h->reachable_bytes, b2, sizeof b2));
	fprintf(out, "unreachable: %u definitely lost (%s), %u indirectly lost (%s)\n",
		h->n_def_lost, hb((double)h->def_lost_bytes, b1, sizeof b1),
		h->n_ind_lost, hb((double)h->ind_lost_bytes, b3, sizeof b3));
	lw_report_print_wrappers(h->wrappers, h->n_wrappers, width, out);
	fputc('\n', out);
	size_t shown = 0, nsel = 0;
	for (size_t g = 0; g < h->n_groups; g++) {
		if (!sel[g])
			continue;
		if (nsel++ < max) {
			if (shown++)
				fputc('\n', out);
			print_group_summary(h, &h->groups[g], out);
		}
	}
	if (nsel > shown)
		fprintf(out, "(and %zu more matching sites)\n", nsel - shown);
}

/* Who keeps it alive: the roots that reach the site's blocks, most first.
 * A root reaching every block is the one to look at; a stale pointer
 * (conservative scan) reaches only part of a structure. */
static void print_reach(const lw_heap *h, const lw_retainers *r, size_t max, FILE *out)
{
	char b1[32], b2[32];
	fprintf(out, "\nroots that reach the site (%u reachable blocks):\n", r->n_targets);
	if (r->n_reach == 0)
		fprintf(out, "  none\n");
	for (size_t i = 0; i < r->n_reach && i < max; i++) {
		const lw_root_reach *rr = &r->reach[i];
		fprintf(out, "  %-*s reaches %u of %u blocks (%s), %s\n", 34,
			h->roots[rr->root].label, rr->blocks, r->n_targets,
			lw_fmt_pct(r->n_targets ? (double)rr->blocks / r->n_targets : 0, b2, sizeof b2),
			hb((double)rr->bytes, b1, sizeof b1));
	}
	if (r->n_reach > max)
		fprintf(out, "  (and %zu more roots)\n", r->n_reach - max);
	if (!r->reach_complete)
		fprintf(out, "  (search budget reached: other roots were not examined)\n");
}

/* One retainer path, a step per line: label, then figures (on a second,
 * indented line when both do not fit the width). */
static void print_path(const lw_heap *h, const lw_retainers *r, const lw_ret_path *p,
		       size_t rank, int width, FILE *out)
{
	char b1[32], lab[512], info[128];
	fprintf(out, "#%-3zu %u block%s, %s\n", rank, p->n_blocks, p->n_blocks == 1 ? "" : "s",
		hb((double)p->bytes, b1, sizeof b1));
	/* label column: as wide as the longest label, within the width */
	size_t maxlab = 0, maxinfo = 0;
	for (uint32_t k = 0; k < p->n_steps; k++) {
		node_info(h, r, p->steps[k], info, sizeof info);
		size_t l = strlen(step_label(h, p->steps[k], (size_t)width - 6, lab, sizeof lab));
		maxlab = l > maxlab ? l : maxlab;
		maxinfo = strlen(info) > maxinfo ? strlen(info) : maxinfo;
	}
	int two = maxlab + maxinfo + 7 > (size_t)width;
	size_t labw = two ? (size_t)width - 6 : maxlab;
	for (uint32_t k = 0; k < p->n_steps; k++) {
		node_info(h, r, p->steps[k], info, sizeof info);
		step_label(h, p->steps[k], labw, lab, sizeof lab);
		if (two)
			fprintf(out, "  %s %s\n         %s\n", k == 0 ? "  " : "->", lab, info);
		else
			fprintf(out, "  %s %-*s  %s\n", k == 0 ? "  " : "->", (int)labw, lab, info);
	}
}

static void print_paths(const lw_heap *h, const lw_retainers *r, size_t max, int width,
			FILE *out)
{
	char b1[32];
	fprintf(out, "\ntop retainer paths (root -> ... -> site): %zu of %zu, "
		"%u reachable blocks, %s\n", r->n_kept_paths < max ? r->n_kept_paths : max,
		r->n_paths, r->n_targets, hb((double)r->target_bytes, b1, sizeof b1));
	if (r->n_paths == 0)
		fprintf(out, "  none: no block of the site is reachable from a root\n");
	for (size_t i = 0; i < r->n_paths && i < max; i++)
		print_path(h, r, &r->paths[i], i + 1, width, out);
}

/* Every root of the heap by retained size. */
static void print_roots(const lw_heap *h, size_t max, int width, FILE *out)
{
	char b1[32];
	uint32_t *idx;
	size_t nr = lw_heap_top_roots(h, &idx);
	fprintf(out, "\nroots by retained size (whole heap): %zu of %zu retain memory\n",
		nr, h->n_roots);
	if (nr) {
		lw_table *t = lw_table_new();
		lw_table_col(t, "retained", 1);
		lw_table_col(t, "kind", 0);
		lw_table_col(t, "root", 0);
		for (size_t i = 0; i < nr && i < max; i++) {
			const lw_heap_root *rt = &h->roots[idx[i]];
			lw_table_cell(t, hb((double)rt->retained, b1, sizeof b1));
			lw_table_cell(t, lw_heap_root_kind_name(rt->kind));
			lw_table_cell(t, rt->label);
		}
		lw_table_print(t, out, width);
		lw_table_free(t);
	}
	free(idx);
}

/* Groups with unreachable blocks, most lost bytes first. */
static void print_lost(const lw_heap *h, size_t max, int width, FILE *out)
{
	char b1[32], b2[32];
	uint32_t *idx;
	size_t nl = lw_heap_lost_groups(h, &idx);
	fprintf(out, "\nunreachable blocks by site: %zu site%s\n", nl, nl == 1 ? "" : "s");
	if (nl) {
		lw_table *t = lw_table_new();
		lw_table_col(t, "def.lost", 1);
		lw_table_col(t, "bytes", 1);
		lw_table_col(t, "ind.lost", 1);
		lw_table_col(t, "bytes", 1);
		lw_table_col(t, "site", 0);
		for (size_t i = 0; i < nl && i < max; i++) {
			const lw_heap_group *gr = &h->groups[idx[i]];
			char c1[24], c2[24], sl[600];
			snprintf(c1, sizeof c1, "%u", gr->n_def_lost);
			snprintf(c2, sizeof c2, "%u", gr->n_ind_lost);
			lw_table_cell(t, c1);
			lw_table_cell(t, hb((double)gr->def_lost_bytes, b1, sizeof b1));
			lw_table_cell(t, c2);
			lw_table_cell(t, hb((double)gr->ind_lost_bytes, b2, sizeof b2));
			/* sites of one function differ by their callers: show one */
			if (gr->site.n_frames > 1)
				snprintf(sl, sizeof sl, "%s <- %s", gr->label, gr->site.frames[1].function);
			lw_table_cell(t, gr->site.n_frames > 1 ? sl : gr->label);
		}
		lw_table_print(t, out, width);
		lw_table_free(t);
	}
	free(idx);
}

static void print_text(const lw_heap *h, const uint8_t *sel, const lw_retainers *r,
		       size_t max, FILE *out)
{
	int width = lw_term_width();
	if (width < 60)
		width = 60;
	print_heading(h, sel, max, width, out);
	print_reach(h, r, max, out);
	print_paths(h, r, max, width, out);
	print_roots(h, max, width, out);
	print_lost(h, max, width, out);
}

/* Arguments of lw_retainers_render for lw_out_publish. */
typedef struct graph_job {
	Agraph_t *g;
	const char *format;
} graph_job;

static int write_graph(FILE *out, void *arg)
{
	const graph_job *job = arg;
	return lw_retainers_render(job->g, job->format, out);
}

/* DUMP may be a directory of a run: its newest dump-*.lwd (by name, which
 * orders by sequence number). Returns a malloc'd path, or NULL with errno
 * ENOENT when the directory holds no dump. */
static char *pick_dump(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	char best[256] = "";
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (strncmp(e->d_name, "dump-", 5) == 0 && n > 9 && n < sizeof best &&
		    strcmp(e->d_name + n - 4, ".lwd") == 0 && strcmp(e->d_name, best) > 0)
			snprintf(best, sizeof best, "%s", e->d_name);
	}
	closedir(d);
	if (!best[0]) {
		errno = ENOENT;
		return NULL;
	}
	size_t len = strlen(dir) + strlen(best) + 2;
	char *p = malloc(len);
	if (p)
		snprintf(p, len, "%s/%s", dir, best);
	return p;
}

static void progress_cb(size_t done, size_t total, void *arg)
{
	(void)total;
	lw_progress_update(arg, done);
}

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n > m && strcmp(s + n - m, suf) == 0;
}

typedef struct ret_args {
	uint64_t n;
	int json, svg;
	const char *site, *output, *path;
	lw_cmd_model model;
} ret_args;

/* Writes the retainer graph to a->output (.dot or .svg). 0 or 1 (printed). */
static int write_output(const ret_args *a, const lw_heap *h, const uint8_t *sel,
			const lw_retainers *r)
{
	Agraph_t *g = lw_retainers_agraph(h, sel, r);
	if (!g) {
		lw_error("out of memory building the graph");
		return 1;
	}
	graph_job job = { g, a->svg ? "svg" : "dot" };
	const char *step = "";
	int wr = lw_out_publish(a->output, write_graph, &job, &step);
	agclose(g);
	char why[256];
	if (wr == -ENOTSUP || wr == -EINVAL)
		lw_error("'%s': graphviz %s", a->output, wr == -EINVAL ? "layout failed" :
			 "cannot render svg (plugin missing?)");
	else if (wr < 0)
		lw_error("'%s': %s", a->output, lw_out_reason(wr, step, why, sizeof why));
	else if (!a->json)
		printf("wrote %s: %zu nodes, %zu edges, %zu of %zu paths\n", a->output,
		       r->n_nodes, r->n_edges, r->n_kept_paths, r->n_paths);
	return wr < 0;
}

/* sel[g] = 1 for the groups --site selects, or the default site. 0 or 1. */
static int select_groups(const ret_args *a, const lw_heap *h, uint8_t *sel)
{
	if (a->site) {
		char err[256];
		lw_regex *re = lw_regex_new(a->site, err, sizeof err);
		if (!re) {
			lw_error("--site '%s': %s", a->site, err);
			return 2;
		}
		size_t n = lw_heap_select(h, re, sel);
		lw_regex_free(re);
		if (n == 0) {
			lw_error("--site '%s': no site in '%s' matches", a->site, a->path);
			return 1;
		}
		return 0;
	}
	long d = lw_heap_default_site(h);
	if (d < 0) {
		lw_error("'%s': the dump has no sampled blocks; use --site "
			 "(e.g. --site unsampled)", a->path);
		return 1;
	}
	sel[d] = 1;
	return 0;
}

/* The analysis of the dump: loaded into its store like any input, opened
 * as a model, its graph grouped by the model's sites. */
static int ret_run(const ret_args *a)
{
	char err[1024];
	lw_db *db = NULL;
	lw_model *m = NULL;
	lw_heap *h = NULL;
	uint8_t *sel = NULL;
	lw_retainers r;
	memset(&r, 0, sizeof r);
	char *paths[1] = { (char *)a->path };
	if (lw_cmd_open(paths, 1, &a->model.opts, &db, &m))
		return 1;
	int status = 1;
	lw_progress *pg = lw_progress_new("analyzing heap graph", LW_HEAP_STEPS);
	int orc = lw_heap_open(m, a->path, progress_cb, pg, &h, err, sizeof err);
	lw_progress_done(pg);
	if (orc < 0) {
		lw_error("'%s': %s", a->path, err);
		goto out;
	}
	if (!(sel = calloc(h->n_groups ? h->n_groups : 1, 1))) {
		lw_error("out of memory");
		goto out;
	}
	if ((status = select_groups(a, h, sel)) != 0)
		goto out;
	status = 1;
	if (lw_heap_retainers(h, sel, (size_t)a->n, &r) < 0) {
		lw_error("out of memory building the retainer graph");
		goto out;
	}
	if (a->output && write_output(a, h, sel, &r))
		goto out;
	if (a->json)
		lw_retainers_json(h, sel, &r, (size_t)a->n, stdout);
	else if (!a->output)
		print_text(h, sel, &r, (size_t)a->n, stdout);
	status = fflush(stdout) ? 1 : 0;
	if (status)
		lw_error("cannot write the output");
out:
	lw_retainers_free(&r);
	free(sel);
	lw_heap_free(h);
	lw_cmd_close(db, m, NULL);
	return status;
}

/* One option; 0 to go on, or the exit status (-1: exit 0). */
static int ret_option(int c, char **argv, ret_args *a)
{
	switch (c) {
	case 'n':
		return lw_args_count("-n", optarg, &a->n);
	case 'o':
		a->output = optarg;
		return 0;
	case 256:   /* --site */
		a->site = optarg;
		return 0;
	case 257:   /* --json */
		a->json = 1;
		return 0;
	case 'h':
		usage(stdout);
		return -1;
	default:
		return lw_args_other(c, argv, &a->model, usage);
	}
}

int lw_cmd_retainers(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "site", required_argument, NULL, 256 },
		{ "json", no_argument, NULL, 257 },
		{ "output", required_argument, NULL, 'o' },
		LW_MODEL_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	ret_args a;
	memset(&a, 0, sizeof a);
	a.n = 10;
	lw_set_command("retainers");

	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":n:o:h", longopts, NULL)) != -1) {
		int r = ret_option(c, argv, &a);
		if (r)
			return r < 0 ? 0 : r;
	}
	if (argc - optind != 1) {
		lw_error("expected one DUMP file, got %d arguments", argc - optind);
		usage(stderr);
		return 2;
	}
	if (a.output) {
		a.svg = has_suffix(a.output, ".svg");
		if (!a.svg && !has_suffix(a.output, ".dot") && !has_suffix(a.output, ".gv")) {
			lw_error("-o '%s': expected a file name ending in .dot or .svg", a.output);
			return 2;
		}
	}
	a.path = argv[optind];
	char *picked = NULL;
	struct stat st;
	if (stat(a.path, &st) == 0 && S_ISDIR(st.st_mode)) {
		picked = pick_dump(a.path);
		if (!picked) {
			lw_error("'%s': no dump-*.lwd in this directory (request one with "
				 "'leakwatch snapshot PID' or kill -USR2 PID)", a.path);
			return 1;
		}
		a.path = picked;
	}
	int status = ret_run(&a);
	free(picked);
	return status;
}
