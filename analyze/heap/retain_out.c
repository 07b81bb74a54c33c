/* retain_out.c — the outputs of a retainer analysis (retain_out.h): the
 * `retainers --json` document, the Graphviz graph (libcgraph) and its
 * rendering (libgvc), and the root / lost-block rankings the text output
 * shares with them. `leakwatch retainers` and `leakwatch report` both call
 * these, so the page and the command show the same figures.
 *
 * Pure functions of an analyzed lw_heap and its lw_retainers: no globals,
 * nothing printed except to the FILE given. Graph labels are escaped for
 * dot (backslashes doubled); libgvc escapes them again for SVG.
 */
#include "retain_out.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "json.h"
#include "report.h"
#include "units.h"

const char *lw_heap_root_kind_name(uint32_t kind)
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

static int cmp_root_held(const void *a, const void *b, void *arg)
{
	const lw_heap *h = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	if (h->roots[x].held != h->roots[y].held)
		return h->roots[x].held > h->roots[y].held ? -1 : 1;
	if (h->roots[x].retained != h->roots[y].retained)
		return h->roots[x].retained > h->roots[y].retained ? -1 : 1;
	return x < y ? -1 : 1;
}

size_t lw_heap_top_roots(const lw_heap *h, uint32_t **idx)
{
	*idx = malloc((h->n_roots ? h->n_roots : 1) * sizeof **idx);
	if (!*idx)
		return 0;
	size_t n = 0;
	for (size_t r = 0; r < h->n_roots; r++)
		if (h->roots[r].held || h->roots[r].retained)
			(*idx)[n++] = (uint32_t)r;
	qsort_r(*idx, n, sizeof **idx, cmp_root_held, (void *)h);
	return n;
}

size_t lw_heap_lost_groups(const lw_heap *h, uint32_t **idx)
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
	/* blocks, bytes, reachable_* and *_lost_* count sampled blocks (a
	 * site) or unsampled ones; retained_bytes counts all blocks */
	lw_json_key(j, "sampled"); lw_json_bool(j, gr->kind == LW_HEAP_SITE);
	if (gr->kind == LW_HEAP_SITE) {
		lw_json_key(j, "frames"); lw_json_frames(j, gr->site.frames, gr->site.n_frames);
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

/* A step of a root's chain: {label, blocks, held_bytes}. */
static void json_chain_step(lw_json *j, const lw_heap *h, uint32_t g, uint32_t blocks,
			    uint64_t held)
{
	lw_json_obj_begin(j);
	lw_json_key(j, "label"); lw_json_str(j, h->groups[g].label);
	lw_json_key(j, "blocks"); lw_json_int(j, blocks);
	lw_json_key(j, "held_bytes"); lw_json_int(j, (int64_t)held);
	lw_json_obj_end(j);
}

static void json_node_ref(lw_json *j, const lw_heap *h, const lw_retainers *r, uint32_t id)
{
	lw_json_obj_begin(j);
	lw_json_key(j, "id"); lw_json_int(j, id);
	if (lw_heap_is_root(h, id)) {
		const lw_heap_root *rt = &h->roots[id - h->n_groups];
		lw_json_key(j, "kind"); lw_json_str(j, "root");
		lw_json_key(j, "root_kind"); lw_json_str(j, lw_heap_root_kind_name(rt->kind));
		lw_json_key(j, "label"); lw_json_str(j, rt->label);
		if (rt->kind == LWD_ROOT_GLOBAL) {
			lw_json_key(j, "symbol"); lw_json_str(j, rt->symbol);
			lw_json_key(j, "module"); lw_json_str(j, rt->module);
		} else {
			lw_json_key(j, "tid"); lw_json_int(j, rt->tid);
		}
		lw_json_key(j, "root_words"); lw_json_int(j, rt->n_refs);
		lw_json_key(j, "via"); lw_json_str(j, rt->via);
		lw_json_key(j, "held_blocks"); lw_json_int(j, rt->n_held);
		lw_json_key(j, "held_sampled_blocks"); lw_json_int(j, rt->n_held_sampled);
		lw_json_key(j, "held_bytes"); lw_json_int(j, (int64_t)rt->held);
		lw_json_key(j, "retained_bytes"); lw_json_int(j, (int64_t)rt->retained);
		lw_json_key(j, "chain");
		lw_json_arr_begin(j);
		for (uint32_t k = 0; k < rt->n_chain; k++)
			json_chain_step(j, h, rt->chain[k], rt->chain_blocks[k], rt->chain_held[k]);
		lw_json_arr_end(j);
		lw_json_key(j, "fan");
		if (rt->fan_group == LW_GRAPH_NONE)
			lw_json_null(j);
		else
			json_chain_step(j, h, rt->fan_group, rt->fan_blocks, rt->fan_bytes);
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
				lw_json_key(j, "path_sampled_blocks");
				lw_json_int(j, r->nodes[i].n_sampled);
				lw_json_key(j, "path_bytes"); lw_json_int(j, (int64_t)r->nodes[i].bytes);
				lw_json_key(j, "target"); lw_json_bool(j, r->nodes[i].target);
			}
		lw_json_key(j, "retained_bytes"); lw_json_int(j, (int64_t)gr->retained);
	}
	lw_json_obj_end(j);
}

void lw_retainers_json(const lw_heap *h, const uint8_t *sel, const lw_retainers *r,
		       size_t max, FILE *out)
{
	lw_json *j = lw_json_new(out);
	const lw_file *f = h->file;
	lw_json_obj_begin(j);
	lw_json_key(j, "dump"); lw_json_str(j, h->path);
	lw_json_key(j, "pid"); lw_json_int(j, f->process.pid);
	char name[LW_PROC_NAME_MAX];
	lw_json_key(j, "exe"); lw_json_str(j, f->process.exe);
	lw_json_key(j, "name");
	lw_json_str(j, lw_proc_name(f->process.cmdline, f->process.exe, name, sizeof(name)));
	lw_json_key(j, "blocks"); lw_json_int(j, (int64_t)h->dg->n_blocks);
	lw_json_key(j, "bytes"); lw_json_int(j, (int64_t)h->total_bytes);
	lw_json_key(j, "sampled_blocks"); lw_json_int(j, h->n_sampled);
	lw_json_key(j, "sampled_bytes"); lw_json_int(j, (int64_t)h->sampled_bytes);
	lw_json_key(j, "heap_edges"); lw_json_int(j, (int64_t)h->dg->n_edges);
	lw_json_key(j, "reachable_blocks"); lw_json_int(j, h->an.n_reachable);
	lw_json_key(j, "reachable_bytes"); lw_json_int(j, (int64_t)h->reachable_bytes);
	lw_json_key(j, "definitely_lost_blocks"); lw_json_int(j, h->n_def_lost);
	lw_json_key(j, "definitely_lost_bytes"); lw_json_int(j, (int64_t)h->def_lost_bytes);
	lw_json_key(j, "indirectly_lost_blocks"); lw_json_int(j, h->n_ind_lost);
	lw_json_key(j, "indirectly_lost_bytes"); lw_json_int(j, (int64_t)h->ind_lost_bytes);
	lw_report_json_wrappers(j, h->wrappers, h->n_wrappers);
	lw_json_key(j, "selected");
	lw_json_arr_begin(j);
	for (size_t g = 0; g < h->n_groups; g++)
		if (sel[g])
			json_group(j, h, (uint32_t)g);
	lw_json_arr_end(j);
	lw_json_key(j, "target_blocks"); lw_json_int(j, r->n_targets);
	lw_json_key(j, "target_bytes"); lw_json_int(j, (int64_t)r->target_bytes);
	lw_json_key(j, "target_sampled_blocks"); lw_json_int(j, r->n_target_sampled);
	lw_json_key(j, "target_sampled_bytes"); lw_json_int(j, (int64_t)r->target_sampled_bytes);
	lw_json_key(j, "target_bytes_est"); lw_json_num(j, r->target_bytes_est);
	lw_json_key(j, "target_all_blocks"); lw_json_int(j, r->all_blocks);
	lw_json_key(j, "target_all_bytes"); lw_json_int(j, (int64_t)r->all_bytes);
	lw_json_key(j, "reaching_roots");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < r->n_reach; i++) {
		const lw_root_reach *rr = &r->reach[i];
		lw_json_obj_begin(j);
		lw_json_key(j, "root"); lw_json_str(j, h->roots[rr->root].label);
		lw_json_key(j, "held_blocks"); lw_json_int(j, r->held[i]);
		lw_json_key(j, "held_bytes"); lw_json_int(j, (int64_t)r->held_bytes[i]);
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
		lw_json_key(j, "sampled_blocks"); lw_json_int(j, p->n_sampled);
		lw_json_key(j, "sampled_bytes"); lw_json_int(j, (int64_t)p->sampled_bytes);
		lw_json_key(j, "bytes_est"); lw_json_num(j, p->bytes_est);
		lw_json_key(j, "all_blocks"); lw_json_int(j, p->all_blocks);
		lw_json_key(j, "all_bytes"); lw_json_int(j, (int64_t)p->all_bytes);
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
	size_t nr = lw_heap_top_roots(h, &idx);
	lw_json_key(j, "roots");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < nr && i < max; i++)
		json_node_ref(j, h, r, (uint32_t)h->n_groups + idx[i]);
	lw_json_arr_end(j);
	free(idx);
	size_t nl = lw_heap_lost_groups(h, &idx);
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

/* "31800 blocks (492 sampled)": how many blocks a figure counts. */
static void count_words(uint32_t n, uint32_t ns, int site, char *buf, size_t len)
{
	if (!site)
		snprintf(buf, len, "%u unsampled block%s", n, n == 1 ? "" : "s");
	else if (ns == n)
		snprintf(buf, len, "%u sampled block%s", n, n == 1 ? "" : "s");
	else
		snprintf(buf, len, "%u blocks (%u sampled)", n, ns);
}

static void node_label(const lw_heap *h, const lw_retainers *r, uint32_t id, char *buf, size_t len)
{
	char b1[32], b2[32], line[700];
	buf[0] = 0;
	if (lw_heap_is_root(h, id)) {
		const lw_heap_root *rt = &h->roots[id - h->n_groups];
		esc_cat(buf, len, rt->label);
		snprintf(line, sizeof line, "\\n%s root, %u word%s", lw_heap_root_kind_name(rt->kind),
			 rt->n_refs, rt->n_refs == 1 ? "" : "s");
		strncat(buf, line, len - strlen(buf) - 1);
		if (rt->kind == LWD_ROOT_GLOBAL) {
			strncat(buf, "\\nmost through ", len - strlen(buf) - 1);
			esc_cat(buf, len, rt->via);
		}
		snprintf(line, sizeof line, "\\nholds %s, retains %s (all blocks)",
			 lw_fmt_bytes((double)rt->held, b1, sizeof b1),
			 lw_fmt_bytes((double)rt->retained, b2, sizeof b2));
		strncat(buf, line, len - strlen(buf) - 1);
		for (size_t i = 0; i < r->n_reach; i++)
			if (r->reach[i].root == id - h->n_groups) {
				snprintf(line, sizeof line, "\\nholds %u, reaches %u of %u target blocks",
					 r->held[i], r->reach[i].blocks, r->n_targets);
				strncat(buf, line, len - strlen(buf) - 1);
			}
		return;
	}
	const lw_heap_group *gr = &h->groups[id];
	if (gr->kind == LW_HEAP_SITE && gr->site.n_frames) {
		/* "function (file.c:12)", C++ templates and arguments shortened,
		 * then the callers that tell this site from the function's others */
		char fl[160];
		size_t nf = lw_heap_site_frames(h, id);
		esc_cat(buf, len, lw_frame_label(&gr->site.frames[0], 72, fl, sizeof fl));
		for (size_t k = 1; k < nf && k < 5; k++) {
			strncat(buf, "\\n< ", len - strlen(buf) - 1);
			esc_cat(buf, len, lw_frame_label(&gr->site.frames[k], 60, fl, sizeof fl));
		}
	} else {
		esc_cat(buf, len, gr->label);
	}
	const lw_ret_node *nd = lw_retainers_node(r, id);
	char cnt[64];
	count_words(nd ? nd->n_blocks : 0, nd ? nd->n_sampled : 0, gr->kind == LW_HEAP_SITE, cnt,
		    sizeof cnt);
	snprintf(line, sizeof line, "\\n%s, %s on paths\\nretains %s (all blocks)", cnt,
		 lw_fmt_bytes((double)(nd ? nd->bytes : 0), b1, sizeof b1),
		 lw_fmt_bytes((double)gr->retained, b2, sizeof b2));
	strncat(buf, line, len - strlen(buf) - 1);
	/* A group's pointers into itself (lists, trees) are told here: dot
	 * sets a loop's label against the loop and the node's edge. */
	for (size_t e = 0; e < r->n_edges; e++)
		if (r->edges[e].from == id && r->edges[e].to == id) {
			snprintf(line, sizeof line, "\\nlinks among its blocks: %u ptr%s to %s",
				 r->edges[e].pointers, r->edges[e].pointers == 1 ? "" : "s",
				 lw_fmt_bytes((double)r->edges[e].bytes, b1, sizeof b1));
			strncat(buf, line, len - strlen(buf) - 1);
		}
}

Agraph_t *lw_retainers_agraph(const lw_heap *h, const uint8_t *sel, const lw_retainers *r)
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
	char tl[160], be[32];
	if (r->n_target_sampled == r->n_targets)
		snprintf(tl, sizeof tl, "\\n%u reachable sampled blocks, %s, est. %s", r->n_targets,
			 lw_fmt_bytes((double)r->target_bytes, b1, sizeof b1),
			 lw_fmt_bytes(r->target_bytes_est, be, sizeof be));
	else
		snprintf(tl, sizeof tl, "\\n%u reachable blocks (%u sampled), %s", r->n_targets,
			 r->n_target_sampled, lw_fmt_bytes((double)r->target_bytes, b1, sizeof b1));
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
		snprintf(name, sizeof name, "%s%u", lw_heap_is_root(h, id) ? "r" : "s",
			 lw_heap_is_root(h, id) ? id - (uint32_t)h->n_groups : id);
		Agnode_t *n = agnode(g, name, 1);
		nodes[id] = n;
		node_label(h, r, id, label, sizeof label);
		agsafeset(n, "label", label, "");
		if (lw_heap_is_root(h, id)) {
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
			 lw_fmt_bytes((double)gr->def_lost_bytes, b1, sizeof b1), gr->n_ind_lost,
			 lw_fmt_bytes((double)gr->ind_lost_bytes, b2, sizeof b2));
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
		if (ed->from == ed->to) {   /* told in the node's label */
			agsafeset(a, "penwidth", "1.5", "1");
			continue;
		}
		snprintf(el, sizeof el, "%u ptr%s\\nto %s (all blocks)", ed->pointers, ed->pointers == 1 ? "" : "s",
			 lw_fmt_bytes((double)ed->bytes, b1, sizeof b1));   /* all blocks */
		agsafeset(a, "label", el, "");
		snprintf(pw, sizeof pw, "%.2f", 1.0 + 5.0 * (double)ed->bytes / (double)maxb);
		agsafeset(a, "penwidth", pw, "1");
	}
	free(nodes);
	return g;
}

int lw_retainers_render(Agraph_t *g, const char *format, FILE *out)
{
	if (strcmp(format, "dot") == 0)
		return agwrite(g, out) == 0 ? 0 : -EIO;
	GVC_t *gvc = gvContext();
	if (!gvc)
		return -ENOMEM;
	int rc = 0;
	if (gvLayout(gvc, g, "dot") != 0) {
		rc = -EINVAL;
	} else {
		if (gvRender(gvc, g, format, out) != 0)
			rc = -ENOTSUP;
		gvFreeLayout(gvc, g);
	}
	gvFreeContext(gvc);
	return rc;
}
