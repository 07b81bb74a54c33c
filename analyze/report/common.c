/* common.c — what top and diff share (report_int.h): units of a sample
 * type, snapshot descriptions, JSON pieces, site order, the callers line
 * and the wrapper line; and picking a snapshot (report.h). Pure functions.
 */
#include "report_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lwd_format.h"
#include "units.h"

int lw_rep_is_space_type(enum lw_sample_type t)
{
	return t == LW_INUSE_SPACE || t == LW_ALLOC_SPACE;
}

const char *lw_rep_fmt_value(enum lw_sample_type t, double v, char *buf, size_t len)
{
	return lw_rep_is_space_type(t) ? lw_fmt_bytes(v, buf, len) : lw_fmt_count(v, buf, len);
}

const char *lw_rep_fmt_svalue(enum lw_sample_type t, double v, char *buf, size_t len)
{
	if (lw_rep_is_space_type(t))
		return lw_fmt_sbytes(v, buf, len);
	if (fabs(v) < 0.5 || len < 3) {
		snprintf(buf, len, "0");
		return buf;
	}
	buf[0] = v < 0 ? '-' : '+';
	lw_fmt_count(fabs(v), buf + 1, len - 1);
	return buf;
}

const char *lw_rep_fmt_pct(double v, double total, char *buf, size_t len)
{
	return lw_fmt_pct(total > 0 ? v / total : 0.0, buf, len);
}

void lw_rep_snap_desc(const lw_snapshot *s, char *buf, size_t len)
{
	char clk[32];
	snprintf(buf, len, "%s %" PRIu64 " of pid %u at %s",
		 s->kind == LWD_KIND_DUMP ? "dump" : "snapshot", s->seq, s->pid,
		 lw_fmt_clock(s->t_s, clk, sizeof(clk)));
}

void lw_rep_json_snapshot(lw_json *j, const lw_snapshot *s)
{
	lw_json_obj_begin(j);
	lw_json_key(j, "kind");
	lw_json_str(j, s->kind == LWD_KIND_DUMP ? "dump" : "snapshot");
	lw_json_key(j, "seq");
	lw_json_int(j, (int64_t)s->seq);
	lw_json_key(j, "pid");
	lw_json_int(j, s->pid);
	lw_json_key(j, "exe");
	lw_json_str(j, s->exe);
	lw_json_key(j, "t_s");
	lw_json_num(j, s->t_s);
	lw_json_key(j, "wall_ns");
	lw_json_int(j, (int64_t)s->wall_ns);
	lw_json_key(j, "sample_rate");
	lw_json_int(j, (int64_t)s->sample_rate);
	lw_json_key(j, "path");
	lw_json_str(j, s->path);
	lw_json_obj_end(j);
}

void lw_rep_json_values(lw_json *j, const lw_values *v)
{
	lw_json_obj_begin(j);
	lw_json_key(j, "inuse_bytes");
	lw_json_num(j, v->inuse_bytes);
	lw_json_key(j, "inuse_objects");
	lw_json_num(j, v->inuse_objects);
	lw_json_key(j, "alloc_bytes");
	lw_json_num(j, v->alloc_bytes);
	lw_json_key(j, "alloc_objects");
	lw_json_num(j, v->alloc_objects);
	lw_json_obj_end(j);
}

/* Percent with two decimals, so JSON stays short and stable. */
double lw_rep_pct2(double v, double total)
{
	return total > 0 ? round(v / total * 10000.0) / 100.0 : 0.0;
}

int lw_rep_cmp_frames(const lw_sym_frame *a, const lw_sym_frame *b)
{
	int c = strcmp(a->function, b->function);
	if (!c)
		c = strcmp(a->file, b->file);
	if (!c)
		c = (a->line > b->line) - (a->line < b->line);
	if (!c)
		c = strcmp(a->module, b->module);
	return c;
}

int lw_rep_cmp_sites(const lw_site *a, const lw_site *b)
{
	size_t n = a->n_frames < b->n_frames ? a->n_frames : b->n_frames;
	for (size_t i = 0; i < n; i++) {
		int c = lw_rep_cmp_frames(&a->frames[i], &b->frames[i]);
		if (c)
			return c;
	}
	if (a->n_frames != b->n_frames)
		return (a->n_frames > b->n_frames) - (a->n_frames < b->n_frames);
	/* equal labels: unknown functions at different offsets */
	return a->key && b->key ? strcmp(a->key, b->key) : 0;
}

/* Prints the second line of a site row: its callers, indented. */
void lw_rep_print_callers(const lw_site *s, int width, FILE *out)
{
	char callers[1024];
	const size_t indent = 8;
	lw_frame_callers(s->frames, s->n_frames,
			 (size_t)width > indent + 10 ? (size_t)width - indent : 10, callers,
			 sizeof(callers));
	if (callers[0])
		fprintf(out, "%*s%s\n", (int)indent, "", callers);
}

void lw_report_print_wrappers(const char *const *names, size_t n, int width, FILE *out)
{
	if (n == 0)
		return;
	char line[1024];
	size_t o = (size_t)snprintf(line, sizeof(line), "Wrappers folded into their callers:");
	for (size_t i = 0; i < n && o < sizeof(line); i++)
		o += (size_t)snprintf(line + o, sizeof(line) - o, "%s %s", i ? "," : "", names[i]);
	if (o >= sizeof(line))
		o = sizeof(line) - 1;
	if (width > 0 && o > (size_t)width && width > 10)
		memcpy(line + width - 3, "...", 4);
	fprintf(out, "%s\n", line);
}

void lw_report_json_wrappers(lw_json *j, const char *const *names, size_t n)
{
	lw_json_key(j, "wrappers");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < n; i++)
		lw_json_str(j, names[i]);
	lw_json_arr_end(j);
}

int64_t lw_report_pick_snapshot(lw_model *m, int64_t seq, char *err, size_t errlen)
{
	lw_snapshot_list l;
	memset(&l, 0, sizeof(l));
	if (lw_model_snapshots(m, &l)) {
		snprintf(err, errlen, "cannot list snapshots of '%s'", lw_model_db(m)->path);
		return -1;
	}
	int64_t id = -1;
	if (!l.n) {
		snprintf(err, errlen, "'%s': no snapshots", lw_model_db(m)->path);
	} else {
		int64_t proc = l.v[0].process_id;
		for (size_t i = 0; i < l.n && l.v[i].process_id == proc; i++)
			if (seq < 0 || l.v[i].seq == (uint64_t)seq)
				id = l.v[i].id;   /* ordered by seq: the last one wins */
		if (id < 0)
			snprintf(err, errlen, "no snapshot with sequence %" PRId64 " in pid %u", seq,
				 l.v[0].pid);
	}
	lw_snapshot_list_free(&l);
	return id;
}
