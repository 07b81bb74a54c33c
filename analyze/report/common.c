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
	char clk[32], status[48] = "";
	if (lw_snapshot_is_exit(s))
		lw_report_exit_phrase(s->exit_status, status, sizeof(status));
	snprintf(buf, len, "%s %" PRIu64 " of %s (pid %u) at %s%s%s", lw_snapshot_kind_name(s),
		 s->seq, s->name, s->pid, lw_fmt_clock(s->t_s, clk, sizeof(clk)),
		 status[0] ? ", after teardown, " : "", status);
}

const char *lw_report_reason_name(uint32_t reason)
{
	switch (reason) {
	case LWD_REASON_INTERVAL: return "interval";
	case LWD_REASON_EXIT: return "exit";
	case LWD_REASON_SIGNAL: return "signal";
	case LWD_REASON_API: return "api";
	}
	return "unknown";
}

const char *lw_report_exit_phrase(int status, char *buf, size_t len)
{
	if (status >= 0)
		snprintf(buf, len, "exit status %d", status);
	else
		snprintf(buf, len, "exit status unknown");
	return buf;
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
	lw_json_key(j, "name");
	lw_json_str(j, s->name);
	lw_json_key(j, "reason");
	lw_json_str(j, lw_report_reason_name(s->reason));
	lw_json_key(j, "exit_status");
	if (s->exit_status >= 0)
		lw_json_int(j, s->exit_status);
	else
		lw_json_null(j);
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

int64_t lw_report_pick_snapshot(lw_model *m, int64_t process_id, int64_t seq, char *err,
				size_t errlen)
{
	lw_snapshot_list l;
	memset(&l, 0, sizeof(l));
	if (lw_model_snapshots(m, &l)) {
		snprintf(err, errlen, "cannot list snapshots of '%s'", lw_model_db(m)->path);
		return -1;
	}
	/* ordered by seq: the last match wins; by default the last one before
	 * teardown, the exit snapshot only when there is nothing else */
	int64_t id = -1, exit_id = -1;
	uint32_t pid = 0;
	for (size_t i = 0; i < l.n; i++) {
		const lw_snapshot *s = &l.v[i];
		if (s->process_id != process_id)
			continue;
		pid = s->pid;
		if (seq >= 0 ? s->seq == (uint64_t)seq : !lw_snapshot_is_exit(s))
			id = s->id;
		else if (seq < 0)
			exit_id = s->id;
	}
	if (id < 0)
		id = exit_id;
	if (id < 0 && seq >= 0)
		snprintf(err, errlen, "no snapshot with sequence %" PRId64 " in pid %u", seq, pid);
	else if (id < 0)
		snprintf(err, errlen, "'%s': no snapshots", lw_model_db(m)->path);
	lw_snapshot_list_free(&l);
	return id;
}

/* ---- the process shown, and the others -------------------------------------------- */

/* Prints text wrapped at spaces to width columns (counted in bytes, so a
 * multi-byte character only wraps early), continuation lines indented. */
static void print_wrapped(const char *prefix, const char *text, int width, FILE *out)
{
	size_t room = width > 20 ? (size_t)width : 80, indent = 0;
	const char *s = text;
	while (*s) {
		size_t max = room - strlen(prefix) - indent, n = strlen(s);
		if (n > max) {
			size_t cut = max;
			while (cut > 0 && s[cut] != ' ')
				cut--;
			if (cut == 0)   /* one word longer than the line */
				cut = strcspn(s, " ");
			n = cut;
		}
		fprintf(out, "%s%*s%.*s\n", prefix, (int)indent, "", (int)n, s);
		s += n;
		while (*s == ' ')
			s++;
		indent = 2;
	}
}

void lw_report_print_process(const lw_proc_choice *c, const lw_snapshot *shown,
			     const char *prefix, int width, FILE *out)
{
	char who[160], what[512], phrase[48], line[1024];
	if (c->exec_from[0])
		snprintf(who, sizeof(who), "%s (pid %u, exec'd from %s)", c->name, c->pid,
			 c->exec_from);
	else
		snprintf(who, sizeof(who), "%s (pid %u)", c->name, c->pid);
	line[0] = '\0';
	if (c->exit_seq >= 0) {
		lw_report_exit_phrase(c->exit_status, phrase, sizeof(phrase));
		if (shown && lw_snapshot_is_exit(shown))
			snprintf(line, sizeof(line), "%s ended with %s", who, phrase);
		else if (shown)
			snprintf(line, sizeof(line), "%s ended with %s; its exit snapshot %" PRId64
				 " (after teardown) is not shown: --snapshot %" PRId64, who, phrase,
				 c->exit_seq, c->exit_seq);
		else
			snprintf(line, sizeof(line), "%s ended with %s; its exit snapshot %" PRId64
				 " (after teardown) is left out of the series", who, phrase,
				 c->exit_seq);
	} else if (c->exec_from[0]) {
		snprintf(line, sizeof(line), "%s", who);
	}
	if (line[0])
		print_wrapped(prefix, line, width, out);
	if (c->n_others == 0)
		return;
	snprintf(line, sizeof(line), "also in %s: %zu other process%s (%s); --pid/--exe to "
		 "choose", c->where[0] ? c->where : "the inputs", c->n_others,
		 c->n_others == 1 ? "" : "es", lw_proc_names_line(c, what, sizeof(what)));
	print_wrapped(prefix, line, width, out);
}

void lw_report_json_process(lw_json *j, const lw_proc_choice *c)
{
	static const char *const by[] = { "watched", "pid", "exe" };
	lw_json_obj_begin(j);
	lw_json_key(j, "chosen_by");
	lw_json_str(j, by[c->by]);
	lw_json_key(j, "pid");
	lw_json_int(j, c->pid);
	lw_json_key(j, "name");
	lw_json_str(j, c->name);
	lw_json_key(j, "exec_from");
	lw_json_str(j, c->exec_from[0] ? c->exec_from : NULL);
	lw_json_key(j, "ended");
	if (c->exit_seq >= 0) {
		lw_json_obj_begin(j);
		lw_json_key(j, "exit_status");
		if (c->exit_status >= 0)
			lw_json_int(j, c->exit_status);
		else
			lw_json_null(j);
		lw_json_key(j, "exit_seq");
		lw_json_int(j, c->exit_seq);
		lw_json_key(j, "t_s");
		lw_json_num(j, c->exit_t_s);
		lw_json_obj_end(j);
	} else {
		lw_json_null(j);
	}
	lw_json_key(j, "others");
	lw_json_int(j, (int64_t)c->n_others);
	lw_json_key(j, "other_names");
	lw_json_arr_begin(j);
	for (size_t i = 0; i < c->n_names; i++) {
		lw_json_obj_begin(j);
		lw_json_key(j, "name");
		lw_json_str(j, c->names[i].name);
		lw_json_key(j, "count");
		lw_json_int(j, (int64_t)c->names[i].count);
		lw_json_obj_end(j);
	}
	lw_json_arr_end(j);
	lw_json_obj_end(j);
}
