/* cmd_retainers.c — `leakwatch retainers DUMP [--site PATTERN] [-n N]
 * [-o FILE.dot|FILE.svg] [--json]`: what keeps a site's memory alive.
 *
 * Role: argument parsing, selection and output. The analysis lives in
 * retain.c (dump loading, symbolization, aggregation) and graph.c
 * (BFS, dominators, lost blocks); the method and the output contracts are in
 * docs/RETAINERS.md. Graphviz output is built with libcgraph and written with
 * agwrite (.dot) or laid out with libgvc's "dot" engine and rendered as SVG;
 * either way the file is written to a 0600 temporary in the target
 * directory (O_CREAT|O_EXCL|O_NOFOLLOW), fsynced and renamed into place.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include "commands.h"
#include "report.h"
#include "retain.h"
#include "util.h"

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
	      "  DUMP: a heap dump (dump-NNNNNN.lwd) or a run directory (its newest dump)\n"
	      "  PATTERN: extended regex over the site's frame labels (default: the site\n"
	      "  with the largest inuse bytes)\n", out);
}

static const char *hb(double v, char *buf, size_t len)
{
	return lw_fmt_bytes(v, buf, len);
}

static const char *root_kind_name(uint32_t kind)
{
	switch (kind) {
	case LWD_ROOT_GLOBAL: return "global";
	case LWD_ROOT_STACK: return "stack";
	case LWD_ROOT_REGISTER: return "register";
	case LWD_ROOT_TLS: return "tls";
	case LWD_ROOT_SPECIFIC: return "specific";
	case LWD_ROOT_THREAD_ARG: return "thread_arg";
	case LWD_ROOT_ALT_STACK: return "alt_stack";
	default: return "root";
	}
}

static int is_root_id(const lw_heap *h, uint32_t id)
{
	return id >= h->n_groups;
}

/* Short per-node description: "global, retains 1.2 KiB". */
static void node_info(const lw_heap *h, const lw_retainers *r, uint32_t id, char *buf, size_t len)
{
	char b1[32], b2[32];
	if (is_root_id(h, id)) {
		const lw_heap_root *rt = &h->roots[id - h->n_groups];
		snprintf(buf, len, "%s root, retains %s", root_kind_name(rt->kind),
			 hb((double)rt->retained, b1, sizeof b1));
		return;
	}
	uint32_t nb = 0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < r->n_nodes; i++)
		if (r->nodes[i].id == id) {
			nb = r->nodes[i].n_blocks;
			bytes = r->nodes[i].bytes;
		}
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
 * lw_report_label (C++ argument lists and templates shortened first). */
static const char *step_label(const lw_heap *h, uint32_t id, size_t max, char *buf, size_t len)
{
	if (!is_root_id(h, id) && h->groups[id].kind == LW_HEAP_SITE &&
	    h->groups[id].site.n_frames)
		return lw_report_label(&h->groups[id].site.frames[0], max, buf, len);
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
		const lw_sym_frame *f = &gr->site.frames[i];
		if (f->file[0])
			fprintf(out, "      called from %s (%s:%d)\n", f->function,
				strrchr(f->file, '/') ? strrchr(f->file, '/') + 1 : f->file, f->line);
		else
			fprintf(out, "      called from %s (%s)\n", f->function, f->module);
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

static int cmp_lost(const void *a, const void *b, void *arg)
{
	const lw_heap *h = arg;
	const lw_heap_group *x = &h->groups[*(const uint32_t *)a];
	const lw_heap_group *y = &h->groups[*(const uint32_t *)b];
	uint64_t lx = x->def_lost_bytes + x->ind_lost_bytes;
	uint64_t ly = y->def_lost_bytes + y->ind_lost_bytes;
	if (lx != ly)
		return lx > ly ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static int cmp_root_retained(const void *a, const void *b, void *arg)
{
	const lw_heap *h = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	if (h->roots[x].retained != h->roots[y].retained)
		return h->roots[x].retained > h->roots[y].retained ? -1 : 1;
	return x < y ? -1 : 1;
}

/* Root nodes that retain something, most retained bytes first. */
static size_t top_roots(const lw_heap *h, uint32_t **idx)
{
	*idx = malloc((h->n_roots ? h->n_roots : 1) * sizeof **idx);
	if (!*idx)
		return 0;
	size_t n = 0;
	for (size_t r = 0; r < h->n_roots; r++)
		if (h->roots[r].retained)
			(*idx)[n++] = (uint32_t)r;
	qsort_r(*idx, n, sizeof **idx, cmp_root_retained, (void *)h);
	return n;
}

/* Groups with lost blocks, most lost bytes first. Returns count; *idx malloc'd. */
static size_t lost_groups(const lw_heap *h, uint32_t **idx)
{
	*idx = malloc((h->n_groups ? h->n_groups : 1) * sizeof **idx);
	if (!*idx)
		return 0;
	size_t n = 0;
	for (size_t g = 0; g < h->n_groups; g++)
		if (h->groups[g].n_def_lost + h->groups[g].n_ind_lost)
			(*idx)[n++] = (uint32_t)g;
	qsort_r(*idx, n, sizeof **idx, cmp_lost, (void *)h);
	return n;
}

static void print_text(const lw_heap *h, const uint8_t *sel, const lw_retainers *r,
		       size_t max, FILE *out)
{
	char b1[32], b2[32], b3[32], lab[512], info[128];
	int width = lw_term_width();
	if (width < 60)
		width = 60;
	const lw_file *f = h->file;
	fprintf(out, "dump %s: pid %u (%s)\n", h->path, f->process.pid,
		strrchr(f->process.exe, '/') ? strrchr(f->process.exe, '/') + 1 : f->process.exe);
	fprintf(out, "heap: %zu blocks, %s; reachable %u blocks, %s\n", h->dg->n_blocks,
		hb((double)h->total_bytes, b1, sizeof b1), h->an.n_reachable,
		hb((double)h->reachable_bytes, b2, sizeof b2));
	fprintf(out, "unreachable: %u definitely lost (%s), %u indirectly lost (%s)\n\n",
		h->n_def_lost, hb((double)h->def_lost_bytes, b1, sizeof b1),
		h->n_ind_lost, hb((double)h->ind_lost_bytes, b3, sizeof b3));
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

	/* Who keeps it alive: the roots that reach the site's blocks, most
	 * first. A root reaching every block is the one to look at; a stale
	 * pointer (conservative scan) reaches only part of a structure. */
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

	fprintf(out, "\ntop retainer paths (root -> ... -> site): %zu of %zu, "
		"%u reachable blocks, %s\n", r->n_kept_paths < max ? r->n_kept_paths : max,
		r->n_paths, r->n_targets, hb((double)r->target_bytes, b1, sizeof b1));
	if (r->n_paths == 0)
		fprintf(out, "  none: no block of the site is reachable from a root\n");
	for (size_t i = 0; i < r->n_paths && i < max; i++) {
		const lw_ret_path *p = &r->paths[i];
		fprintf(out, "#%-3zu %u block%s, %s\n", i + 1, p->n_blocks, p->n_blocks == 1 ? "" : "s",
			hb((double)p->bytes, b1, sizeof b1));
		/* label column: as wide as the longest label, within the width */
		size_t maxlab = 0, maxinfo = 0;
		for (uint32_t k = 0; k < p->n_steps; k++) {
			node_info(h, r, p->steps[k], info, sizeof info);
			size_t l = strlen(step_label(h, p->steps[k], (size_t)width - 6, lab, sizeof lab));
			maxlab = l > maxlab ? l : maxlab;
			maxinfo = strlen(info) > maxinfo ? strlen(info) : maxinfo;
		}
		/* one line per step when label and figures fit the width, else
		 * the figures go on a second, indented line */
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

	uint32_t *idx;
	size_t nr = top_roots(h, &idx);
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
			lw_table_cell(t, root_kind_name(rt->kind));
			lw_table_cell(t, rt->label);
		}
		lw_table_print(t, out, width);
		lw_table_free(t);
	}
	free(idx);

	size_t nl = lost_groups(h, &idx);
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
			char c1[24], c2[24];
			snprintf(c1, sizeof c1, "%u", gr->n_def_lost);
			snprintf(c2, sizeof c2, "%u", gr->n_ind_lost);
			lw_table_cell(t, c1);
			lw_table_cell(t, hb((double)gr->def_lost_bytes, b1, sizeof b1));
			lw_table_cell(t, c2);
			lw_table_cell(t, hb((double)gr->ind_lost_bytes, b2, sizeof b2));
			if (gr->site.n_frames > 1) {
				/* sites of one function differ by their callers: show one */
				char sl[600];
				snprintf(sl, sizeof sl, "%s <- %s", gr->label, gr->site.frames[1].function);
				lw_table_cell(t, sl);
			} else {
				lw_table_cell(t, gr->label);
			}
		}
		lw_table_print(t, out, width);
		lw_table_free(t);
	}
	free(idx);
}

/* ---- JSON ----------------------------------------------------------------------- */

static void json_frames(lw_json *j, const lw_heap_group *gr)
{
	lw_json_arr_begin(j);
	for (size_t i = 0; i < gr->site.n_frames; i++) {
		const lw_sym_frame *f = &gr->site.frames[i];
		lw_json_obj_begin(j);
		lw_json_key(j, "function"); lw_json_str(j, f->function);
		lw_json_key(j, "file"); lw_json_str(j, f->file);
		lw_json_key(j, "line"); lw_json_int(j, f->line);
		lw_json_key(j, "module"); lw_json_str(j, f->module);
		lw_json_key(j, "inlined"); lw_json_bool(j, f->inlined);
		lw_json_obj_end(j);
	}
	lw_json_arr_end(j);
}

/* JSON "kind" of a group: "site", "unsampled" (size class) or "class". */
static const char *group_kind_name(const lw_heap_group *gr)
{
	switch (gr->kind) {
	case LW_HEAP_SITE: return "site";
	case LW_HEAP_CLASS: return "class";
	default: return "unsampled";
	}
}

static void json_group(lw_json *j, const lw_heap *h, uint32_t g)
{
	const lw_heap_group *gr = &h->groups[g];
	lw_json_obj_begin(j);
	lw_json_key(j, "kind"); lw_json_str(j, group_kind_name(gr));
	lw_json_key(j, "label"); lw_json_str(j, gr->label);
	if (gr->kind == LW_HEAP_CLASS) {
		lw_json_key(j, "class"); lw_json_str(j, gr->cls);
	}
	if (gr->kind == LW_HEAP_SITE) {
		lw_json_key(j, "frames"); json_frames(j, gr);
		lw_json_key(j, "inuse_bytes_est"); lw_json_num(j, gr->inuse_bytes);
		lw_json_key(j, "inuse_objects_est"); lw_json_num(j, gr->inuse_objects);
	} else {
		lw_json_key(j, "size_min"); lw_json_int(j, (int64_t)gr->size_lo);
		lw_json_key(j, "size_max"); lw_json_int(j, (int64_t)gr->size_hi);
	}
	lw_json_key(j, "blocks"); lw_json_int(j, gr->n_blocks);
	lw_json_key(j, "bytes"); lw_json_int(j, (int64_t)gr->bytes);
	lw_json_key(j, "reachable_blocks"); lw_json_int(j, gr->n_reachable);
	lw_json_key(j, "reachable_bytes"); lw_json_int(j, (int64_t)gr->reachable_bytes);
	lw_json_key(j, "retained_bytes"); lw_json_int(j, (int64_t)gr->retained);
	lw_json_key(j, "definitely_lost_blocks"); lw_json_int(j, gr->n_def_lost);
	lw_json_key(j, "definitely_lost_bytes"); lw_json_int(j, (int64_t)gr->def_lost_bytes);
	lw_json_key(j, "indirectly_lost_blocks"); lw_json_int(j, gr->n_ind_lost);
	lw_json_key(j, "indirectly_lost_bytes"); lw_json_int(j, (int64_t)gr->ind_lost_bytes);
	lw_json_obj_end(j);
}

static void json_node_ref(lw_json *j, const lw_heap *h, const lw_retainers *r, uint32_t id)
{
	lw_json_obj_begin(j);
	lw_json_key(j, "id"); lw_json_int(j, id);
	if (is_root_id(h, id)) {
		const lw_heap_root *rt = &h->roots[id - h->n_groups];
		lw_json_key(j, "kind"); lw_json_str(j, "root");
		lw_json_key(j, "root_kind"); lw_json_str(j, root_kind_name(rt->kind));
		lw_json_key(j, "label"); lw_json_str(j, rt->label);
		if (rt->kind == LWD_ROOT_GLOBAL) {
			lw_json_key(j, "symbol"); lw_json_str(j, rt->symbol);
			lw_json_key(j, "module"); lw_json_str(j, rt->module);
		} else {
			lw_json_key(j, "tid"); lw_json_int(j, rt->tid);
		}
		lw_json_key(j, "root_words"); lw_json_int(j, rt->n_refs);
		lw_json_key(j, "retained_bytes"); lw_json_int(j, (int64_t)rt->retained);
	} else {
		const lw_heap_group *gr = &h->groups[id];
		lw_json_key(j, "kind"); lw_json_str(j, group_kind_name(gr));
		lw_json_key(j, "label"); lw_json_str(j, gr->label);
		if (gr->kind == LW_HEAP_CLASS) {
			lw_json_key(j, "class"); lw_json_str(j, gr->cls);
		}
		for (size_t i = 0; i < r->n_nodes; i++)
			if (r->nodes[i].id == id) {
				lw_json_key(j, "path_blocks"); lw_json_int(j, r->nodes[i].n_blocks);
				lw_json_key(j, "path_bytes"); lw_json_int(j, (int64_t)r->nodes[i].bytes);
				lw_json_key(j, "target"); lw_json_bool(j, r->nodes[i].target);
			}
		lw_json_key(j, "retained_bytes"); lw_json_int(j, (int64_t)gr->retained);
	}
	lw_json_obj_end(j);
}

static void print_json(const lw_heap *h, const uint8_t *sel, const lw_retainers *r,
		       size_t max, FILE *out)
{
	lw_json *j = lw_json_new(out);
	const lw_file *f = h->file;
	lw_json_obj_begin(j);
	lw_json_key(j, "dump"); lw_json_str(j, h->path);
	lw_json_key(j, "pid"); lw_json_int(j, f->process.pid);
	lw_json_key(j, "exe"); lw_json_str(j, f->process.exe);
	lw_json_key(j, "blocks"); lw_json_int(j, (int64_t)h->dg->n_blocks);
	lw_json_key(j, "bytes"); lw_json_int(j, (int64_t)h->total_bytes);
	lw_json_key(j, "heap_edges"); lw_json_int(j, (int64_t)h->dg->n_edges);
	lw_json_key(j, "reachable_blocks"); lw_json_int(j, h->an.n_reachable);
	lw_json_key(j, "reachable_bytes"); lw_json_int(j, (int64_t)h->reachable_bytes);
	lw_json_key(j, "definitely_lost_blocks"); lw_json_int(j, h->n_def_lost);
	lw_json_key(j, "definitely_lost_bytes"); lw_json_int(j, (int64_t)h->def_lost_bytes);
	lw_json_key(j, "indirectly_lost_blocks"); lw_json_int(j, h->n_ind_lost);
	lw_json_key(j, "indirectly_lost_bytes"); lw_json_int(j, (int64_t)h->ind_lost_bytes);
	lw_json_key(j, "selected");
	lw_json_arr_begin(j);
	for (size_t g = 0; g < h->n_groups; g++)
		if (sel[g])
			json_group(j, h, (uint32_t)g);
	lw_json_arr_end(j);
	lw_json_key(j, "target_blocks"); lw_json_int(j, r->n_targets);
	lw_json_key(j, "target_bytes"); lw_json_int(j, (int64_t)r->target_bytes);
	lw_json_key(j, "reaching_roots");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < r->n_reach; i++) {
		const lw_root_reach *rr = &r->reach[i];
		lw_json_obj_begin(j);
		lw_json_key(j, "root"); lw_json_str(j, h->roots[rr->root].label);
		lw_json_key(j, "blocks"); lw_json_int(j, rr->blocks);
		lw_json_key(j, "bytes"); lw_json_int(j, (int64_t)rr->bytes);
		lw_json_obj_end(j);
	}
	lw_json_arr_end(j);
	lw_json_key(j, "reach_complete"); lw_json_bool(j, r->reach_complete);
	lw_json_key(j, "n_paths"); lw_json_int(j, (int64_t)r->n_paths);
	lw_json_key(j, "paths");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < r->n_paths && i < max; i++) {
		const lw_ret_path *p = &r->paths[i];
		lw_json_obj_begin(j);
		lw_json_key(j, "rank"); lw_json_int(j, (int64_t)i + 1);
		lw_json_key(j, "blocks"); lw_json_int(j, p->n_blocks);
		lw_json_key(j, "bytes"); lw_json_int(j, (int64_t)p->bytes);
		lw_json_key(j, "steps");
		lw_json_arr_begin(j);
		for (uint32_t k = 0; k < p->n_steps; k++)
			json_node_ref(j, h, r, p->steps[k]);
		lw_json_arr_end(j);
		lw_json_obj_end(j);
	}
	lw_json_arr_end(j);
	lw_json_key(j, "nodes");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < r->n_nodes; i++)
		json_node_ref(j, h, r, r->nodes[i].id);
	lw_json_arr_end(j);
	lw_json_key(j, "edges");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < r->n_edges; i++) {
		lw_json_obj_begin(j);
		lw_json_key(j, "from"); lw_json_int(j, r->edges[i].from);
		lw_json_key(j, "to"); lw_json_int(j, r->edges[i].to);
		lw_json_key(j, "pointers"); lw_json_int(j, r->edges[i].pointers);
		lw_json_key(j, "bytes"); lw_json_int(j, (int64_t)r->edges[i].bytes);
		lw_json_obj_end(j);
	}
	lw_json_arr_end(j);
	uint32_t *idx;
	size_t nr = top_roots(h, &idx);
	lw_json_key(j, "roots");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < nr && i < max; i++)
		json_node_ref(j, h, r, (uint32_t)h->n_groups + idx[i]);
	lw_json_arr_end(j);
	free(idx);
	size_t nl = lost_groups(h, &idx);
	lw_json_key(j, "lost");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < nl && i < max; i++)
		json_group(j, h, idx[i]);
	lw_json_arr_end(j);
	free(idx);
	lw_json_obj_end(j);
	lw_json_finish(j);
}

/* ---- Graphviz ------------------------------------------------------------------- */

/* Appends s to buf with backslashes doubled (dot label escapes). */
static void esc_cat(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);
	for (; *s && n + 2 < len; s++) {
		if (*s == '\\')
			buf[n++] = '\\';
		buf[n++] = *s;
	}
	buf[n] = 0;
}

static void node_label(const lw_heap *h, const lw_retainers *r, uint32_t id, char *buf, size_t len)
{
	char b1[32], b2[32], line[160];
	buf[0] = 0;
	if (is_root_id(h, id)) {
		const lw_heap_root *rt = &h->roots[id - h->n_groups];
		esc_cat(buf, len, rt->label);
		snprintf(line, sizeof line, "\\n%s root, %u word%s\\nretains %s",
			 root_kind_name(rt->kind), rt->n_refs, rt->n_refs == 1 ? "" : "s",
			 hb((double)rt->retained, b1, sizeof b1));
		strncat(buf, line, len - strlen(buf) - 1);
		for (size_t i = 0; i < r->n_reach; i++)
			if (r->reach[i].root == id - h->n_groups) {
				snprintf(line, sizeof line, "\\nreaches %u of %u site blocks",
					 r->reach[i].blocks, r->n_targets);
				strncat(buf, line, len - strlen(buf) - 1);
			}
		return;
	}
	const lw_heap_group *gr = &h->groups[id];
	if (gr->kind == LW_HEAP_SITE && gr->site.n_frames) {
		/* "function (file.c:12)", C++ templates and arguments shortened */
		char fl[160];
		esc_cat(buf, len, lw_report_label(&gr->site.frames[0], 72, fl, sizeof fl));
	} else {
		esc_cat(buf, len, gr->label);
	}
	uint32_t nb = 0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < r->n_nodes; i++)
		if (r->nodes[i].id == id) {
			nb = r->nodes[i].n_blocks;
			bytes = r->nodes[i].bytes;
		}
	snprintf(line, sizeof line, "\\n%u block%s, %s on paths\\nretains %s", nb,
		 nb == 1 ? "" : "s", hb((double)bytes, b1, sizeof b1),
		 hb((double)gr->retained, b2, sizeof b2));
	strncat(buf, line, len - strlen(buf) - 1);
}

/* Builds the cgraph graph. Returns NULL on failure. */
static Agraph_t *build_graph(const lw_heap *h, const uint8_t *sel, const lw_retainers *r)
{
	char title[600], b1[32];
	Agraph_t *g = agopen("retainers", Agdirected, NULL);
	if (!g)
		return NULL;
	agattr(g, AGRAPH, "rankdir", "TB");
	agattr(g, AGRAPH, "labelloc", "t");
	agattr(g, AGRAPH, "fontname", "Helvetica");
	agattr(g, AGNODE, "shape", "box");
	agattr(g, AGNODE, "style", "rounded,filled");
	agattr(g, AGNODE, "fillcolor", "white");
	agattr(g, AGNODE, "fontname", "Helvetica");
	agattr(g, AGEDGE, "fontname", "Helvetica");
	agattr(g, AGEDGE, "fontsize", "10");
	agattr(g, AGEDGE, "penwidth", "1");
	agattr(g, AGEDGE, "label", "");
	title[0] = 0;
	esc_cat(title, sizeof title, "retainers of ");
	size_t nsel = 0;
	for (size_t k = 0; k < h->n_groups; k++)
		if (sel[k] && nsel++ == 0)
			esc_cat(title, sizeof title, h->groups[k].label);
	if (nsel > 1) {
		char more[48];
		snprintf(more, sizeof more, " and %zu more", nsel - 1);
		esc_cat(title, sizeof title, more);
	}
	char tl[128];
	snprintf(tl, sizeof tl, "\\n%u reachable blocks, %s", r->n_targets,
		 hb((double)r->target_bytes, b1, sizeof b1));
	strncat(title, tl, sizeof title - strlen(title) - 1);
	agsafeset(g, "label", title, "");

	size_t n_agg = h->n_groups + h->n_roots;
	Agnode_t **nodes = calloc(n_agg ? n_agg : 1, sizeof *nodes);
	if (!nodes) {
		agclose(g);
		return NULL;
	}
	char name[32], label[2048];
	for (size_t i = 0; i < r->n_nodes; i++) {
		uint32_t id = r->nodes[i].id;
		snprintf(name, sizeof name, "%s%u", is_root_id(h, id) ? "r" : "s",
			 is_root_id(h, id) ? id - (uint32_t)h->n_groups : id);
		Agnode_t *n = agnode(g, name, 1);
		nodes[id] = n;
		node_label(h, r, id, label, sizeof label);
		agsafeset(n, "label", label, "");
		if (is_root_id(h, id)) {
			agsafeset(n, "fillcolor", "#cfe2f3", "white");
			agsafeset(n, "style", "filled", "rounded,filled");
		} else if (r->nodes[i].target) {
			agsafeset(n, "fillcolor", "#f4cccc", "white");
		}
	}
	/* selected groups with no reachable block still appear, as lost */
	for (size_t k = 0; k < h->n_groups; k++) {
		if (!sel[k] || nodes[k])
			continue;
		const lw_heap_group *gr = &h->groups[k];
		char b2[32];
		snprintf(name, sizeof name, "s%zu", k);
		Agnode_t *n = agnode(g, name, 1);
		nodes[k] = n;
		label[0] = 0;
		esc_cat(label, sizeof label, gr->label);
		snprintf(title, sizeof title, "\\nunreachable: %u definitely lost (%s),\\n"
			 "%u indirectly lost (%s)", gr->n_def_lost,
			 hb((double)gr->def_lost_bytes, b1, sizeof b1), gr->n_ind_lost,
			 hb((double)gr->ind_lost_bytes, b2, sizeof b2));
		strncat(label, title, sizeof label - strlen(label) - 1);
		agsafeset(n, "label", label, "");
		agsafeset(n, "fillcolor", "#f4cccc", "white");
	}
	uint64_t maxb = 1;
	for (size_t e = 0; e < r->n_edges; e++)
		if (r->edges[e].bytes > maxb)
			maxb = r->edges[e].bytes;
	for (size_t e = 0; e < r->n_edges; e++) {
		const lw_ret_edge *ed = &r->edges[e];
		Agedge_t *a = agedge(g, nodes[ed->from], nodes[ed->to], NULL, 1);
		if (!a)
			continue;
		char el[96], pw[16];
		snprintf(el, sizeof el, "%u ptr%s\\n%s", ed->pointers, ed->pointers == 1 ? "" : "s",
			 hb((double)ed->bytes, b1, sizeof b1));
		agsafeset(a, "label", el, "");
		snprintf(pw, sizeof pw, "%.2f", 1.0 + 5.0 * (double)ed->bytes / (double)maxb);
		agsafeset(a, "penwidth", pw, "1");
	}
	free(nodes);
	return g;
}

/* Writes the graph to path (.dot or .svg) through a 0600 temporary + rename.
 * Returns 0, or -1 with a reason in err. */
static int write_graph(Agraph_t *g, const char *path, int svg, char *err, size_t errlen)
{
	char *d1 = strdup(path), *d2 = strdup(path);
	char tmp[4096];
	int rc = -1, fd = -1;
	FILE *fp = NULL;
	GVC_t *gvc = NULL;
	if (!d1 || !d2) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	snprintf(tmp, sizeof tmp, "%s/.tmp-%s.%ld", dirname(d1), basename(d2), (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create a file next to it: %s", strerror(errno));
		goto out;
	}
	fp = fdopen(fd, "w");
	if (!fp) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (svg) {
		gvc = gvContext();
		if (!gvc || gvLayout(gvc, g, "dot") != 0) {
			snprintf(err, errlen, "graphviz layout failed");
			goto fail;
		}
		int r2 = gvRender(gvc, g, "svg", fp);
		gvFreeLayout(gvc, g);
		if (r2 != 0) {
			snprintf(err, errlen, "graphviz cannot render svg (plugin missing?)");
			goto fail;
		}
	} else if (agwrite(g, fp) != 0) {
		snprintf(err, errlen, "cannot write the graph: %s", strerror(errno));
		goto fail;
	}
	if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
		snprintf(err, errlen, "write failed: %s", strerror(errno));
		goto fail;
	}
	if (fclose(fp) != 0) {
		fp = NULL;
		snprintf(err, errlen, "write failed: %s", strerror(errno));
		unlink(tmp);
		goto out;
	}
	fp = NULL;
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot rename into place: %s", strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
	goto out;
fail:
	fclose(fp);
	fp = NULL;
	unlink(tmp);
out:
	if (gvc)
		gvFreeContext(gvc);
	free(d1);
	free(d2);
	return rc;
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

int lw_cmd_retainers(int argc, char **argv)
{
	enum { OPT_SITE = 256, OPT_JSON };
	static const struct option longopts[] = {
		{ "site", required_argument, NULL, OPT_SITE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t n = 10;
	int json = 0;
	const char *site = NULL, *output = NULL;
	lw_set_command("retainers");

	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":n:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (lw_parse_u64(optarg, &n) || n == 0) {
				lw_error("-n '%s': expected a positive count", optarg);
				return 2;
			}
			break;
		case 'o':
			output = optarg;
			break;
		case OPT_SITE:
			site = optarg;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return lw_opt_error(c, argv, optind, usage);
		}
	}
	if (argc - optind != 1) {
		lw_error("expected one DUMP file, got %d arguments", argc - optind);
		usage(stderr);
		return 2;
	}
	int svg = 0;
	if (output) {
		if (has_suffix(output, ".svg"))
			svg = 1;
		else if (!has_suffix(output, ".dot") && !has_suffix(output, ".gv")) {
			lw_error("-o '%s': expected a file name ending in .dot or .svg", output);
			return 2;
		}
	}
	const char *path = argv[optind];
	char *picked = NULL;
	char err[1024];
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		picked = pick_dump(path);
		if (!picked) {
			lw_error("'%s': no dump-*.lwd in this directory (request one with "
				 "'leakwatch snapshot PID' or kill -USR2 PID)", path);
			return 1;
		}
		path = picked;
	}
	lw_regex *re = NULL;
	if (site) {
		re = lw_regex_new(site, err, sizeof err);
		if (!re) {
			lw_error("--site '%s': %s", site, err);
			free(picked);
			return 2;
		}
	}
	lw_heap *h = NULL;
	uint8_t *sel = NULL;
	lw_retainers r;
	memset(&r, 0, sizeof r);
	int status = 1;
	lw_progress *pg = lw_progress_new("analyzing heap graph", LW_HEAP_STEPS);
	int orc = lw_heap_open_progress(path, progress_cb, pg, &h, err, sizeof err);
	lw_progress_done(pg);
	if (orc < 0) {
		lw_error("'%s': %s", path, err);
		goto out;
	}
	sel = calloc(h->n_groups ? h->n_groups : 1, 1);
	if (!sel) {
		lw_error("out of memory");
		goto out;
	}
	if (re) {
		if (lw_heap_select(h, re, sel) == 0) {
			lw_error("--site '%s': no site in '%s' matches", site, path);
			goto out;
		}
	} else {
		long d = lw_heap_default_site(h);
		if (d < 0) {
			lw_error("'%s': the dump has no sampled blocks; use --site "
				 "(e.g. --site unsampled)", path);
			goto out;
		}
		sel[d] = 1;
	}
	if (lw_heap_retainers(h, sel, (size_t)n, &r) < 0) {
		lw_error("out of memory building the retainer graph");
		goto out;
	}
	if (output) {
		Agraph_t *g = build_graph(h, sel, &r);
		if (!g) {
			lw_error("out of memory building the graph");
			goto out;
		}
		int wr = write_graph(g, output, svg, err, sizeof err);
		agclose(g);
		if (wr < 0) {
			lw_error("'%s': %s", output, err);
			goto out;
		}
		if (!json)
			printf("wrote %s: %zu nodes, %zu edges, %zu of %zu paths\n", output,
			       r.n_nodes, r.n_edges, r.n_kept_paths, r.n_paths);
	}
	if (json)
		print_json(h, sel, &r, (size_t)n, stdout);
	else if (!output)
		print_text(h, sel, &r, (size_t)n, stdout);
	status = fflush(stdout) ? 1 : 0;
	if (status)
		lw_error("cannot write the output");
out:
	lw_retainers_free(&r);
	free(sel);
	lw_heap_free(h);
	lw_regex_free(re);
	free(picked);
	return status;
}
