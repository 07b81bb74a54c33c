/* process.c — the processes of a store (model.h, lw_model_processes): one
 * row per run, with the executable's build-id looked up in its module map,
 * the name it was started by and how it ended; and which of them a report
 * shows (lw_model_choose_process).
 *
 * Read-only, parameterized queries, like model.c. Strings are malloc'd per
 * row and freed by lw_proc_list_free; a failed call leaves the list
 * empty. The choice is a few passes over the list (a run directory holds
 * tens of processes, a make build some thousands).
 */
#include "model.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

static char *dup_col(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	return strdup(s ? (const char *)s : "");
}

static uint64_t col_u64(sqlite3_stmt *st, int col)
{
	int64_t v = sqlite3_column_int64(st, col);
	uint64_t r;
	memcpy(&r, &v, sizeof r);
	return r;
}

void lw_proc_list_free(lw_proc_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free((char *)l->v[i].exe);
		free((char *)l->v[i].hostname);
		free((char *)l->v[i].cmdline);
		free((char *)l->v[i].name);
		free((char *)l->v[i].build_id_hex);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

int lw_model_processes(lw_model *m, lw_proc_list *out)
{
	memset(out, 0, sizeof *out);
	/* The executable's module is the one mapped from the same path; the
	 * lowest module id of it is its first listing. */
	static const char sql[] =
		"SELECT p.id, p.run_id, p.parent_run_id, p.pid, p.ppid, p.exe, p.hostname,"
		" p.cmdline, p.start_wall_ns, p.sample_rate,"
		" (SELECT m.build_id FROM modules m WHERE m.process_id = p.id AND m.path = p.exe"
		"  ORDER BY m.id LIMIT 1),"
		" (SELECT MIN(length(s.path) - length(replace(s.path, '/', '')))"
		"  FROM snapshots s WHERE s.process_id = p.id),"
		" x.seq, x.exit_status, x.t_s"
		" FROM processes p LEFT JOIN snapshots x ON x.id ="
		"  (SELECT e.id FROM snapshots e WHERE e.process_id = p.id AND e.kind = ?1"
		"   AND e.reason = ?2 ORDER BY e.seq DESC LIMIT 1)"
		" ORDER BY p.id";
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(lw_model_db(m)->h, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int(st, 1, LWD_KIND_SNAPSHOT);
	sqlite3_bind_int(st, 2, LWD_REASON_EXIT);
	size_t cap = 0;
	int r, rc = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			lw_proc_info *nv = realloc(out->v, ncap * sizeof *nv);
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			out->v = nv;
			cap = ncap;
		}
		lw_proc_info *p = &out->v[out->n];
		memset(p, 0, sizeof *p);
		p->id = sqlite3_column_int64(st, 0);
		p->run_id = col_u64(st, 1);
		p->parent_run_id = col_u64(st, 2);
		p->pid = (uint32_t)sqlite3_column_int64(st, 3);
		p->ppid = (uint32_t)sqlite3_column_int64(st, 4);
		p->exe = dup_col(st, 5);
		p->hostname = dup_col(st, 6);
		p->cmdline = dup_col(st, 7);
		p->start_wall_ns = col_u64(st, 8);
		p->sample_rate = col_u64(st, 9);
		p->build_id_hex = dup_col(st, 10);
		p->depth = (unsigned)sqlite3_column_int64(st, 11);
		p->exit_seq = sqlite3_column_type(st, 12) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 12);
		p->exit_status = p->exit_seq >= 0 ? lw_exit_status_decode(sqlite3_column_int64(st, 13))
						  : -1;
		p->exit_t_s = sqlite3_column_double(st, 14);
		char name[LW_PROC_NAME_MAX];
		p->name = p->exe && p->cmdline
			  ? strdup(lw_proc_name(p->cmdline, p->exe, name, sizeof(name))) : NULL;
		out->n++;
		if (!p->exe || !p->hostname || !p->cmdline || !p->build_id_hex || !p->name) {
			rc = -ENOMEM;
			break;
		}
	}
	if (rc == 0 && r != SQLITE_DONE)
		rc = -EIO;
	sqlite3_finalize(st);
	if (rc < 0)
		lw_proc_list_free(out);
	return rc;
}

/* ---- which process a report shows ------------------------------------------------ */

int lw_exit_status_decode(int64_t stored)
{
	return (stored & ~(int64_t)0xff) == LWD_EXIT_STATUS_KNOWN ? (int)(stored & 0xff) : -1;
}

const char *lw_proc_name(const char *cmdline, const char *exe, char *buf, size_t len)
{
	/* argv[0] is the command line up to its first space (the shim joins
	 * argv with spaces); a name as started has no '/' after it */
	const char *a = cmdline ? cmdline : "";
	size_t n = strcspn(a, " ");
	const char *from = a, *end = a + n;
	for (const char *s = a; s < end; s++)
		if (*s == '/')
			from = s + 1;
	if (from == end) {   /* no argv[0]: the executable's name */
		from = lw_base_name(exe ? exe : "");
		end = from + strlen(from);
	}
	size_t k = (size_t)(end - from);
	if (len == 0)
		return buf;
	if (k >= len)
		k = len - 1;
	memcpy(buf, from, k);
	buf[k] = '\0';
	return buf;
}

/* Ranks the candidates for the process a report shows: processes at the
 * top of the process tree first (no parent among the loaded processes),
 * then those whose files lie shallowest in the inputs (the owner of a
 * directory writes at its top, its children below), then first loaded. */
static int better(const lw_proc_info *a, int a_root, const lw_proc_info *b, int b_root)
{
	if (a_root != b_root)
		return a_root > b_root;
	if (a->depth != b->depth)
		return a->depth < b->depth;
	return a->id < b->id;
}

static int is_root(const lw_proc_list *l, const lw_proc_info *p)
{
	if (p->parent_run_id == 0)
		return 1;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].run_id == p->parent_run_id)
			return 0;
	return 1;
}

/* The same process after an exec: same host and pid, same parent run (a
 * replaced program keeps its place in the tree). */
static int same_process(const lw_proc_info *a, const lw_proc_info *b)
{
	return a->pid == b->pid && a->parent_run_id == b->parent_run_id &&
	       strcmp(a->hostname, b->hostname) == 0;
}

static int matches(const lw_proc_info *p, const lw_proc_filter *f)
{
	if (f && f->pid > 0 && p->pid != (uint64_t)f->pid)
		return 0;
	if (f && f->name && strcmp(p->name, f->name) != 0 &&
	    strcmp(lw_base_name(p->exe), f->name) != 0)
		return 0;
	return 1;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* c->names[k] goes before c->names[k - 1]: more processes, then by name. */
static int name_before(const lw_name_count *x, const lw_name_count *y)
{
	return x->count > y->count || (x->count == y->count && strcmp(x->name, y->name) < 0);
}

/* The names of the processes other than `skip` and the programs it ran
 * before an exec (skip -1: all), and other than those named `program`
 * (NULL: none), counted; the LW_PROC_NAMES most frequent are kept, most
 * frequent first. */
static int count_names(const lw_proc_list *l, long skip, const char *program,
		       lw_proc_choice *c)
{
	const char **v = malloc((l->n ? l->n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		if ((skip < 0 || !same_process(&l->v[i], &l->v[skip])) &&
		    (!program || strcmp(l->v[i].name, program) != 0))
			v[n++] = l->v[i].name;
	qsort(v, n, sizeof(*v), cmp_names);
	c->n_others = n;
	c->n_names = 0;
	c->more_names = 0;
	for (size_t i = 0; i < n;) {
		lw_name_count run = { .count = 0 };
		snprintf(run.name, sizeof(run.name), "%s", v[i]);
		size_t k = i;
		while (k < n && strcmp(v[k], v[i]) == 0)
			k++;
		run.count = k - i;
		i = k;
		/* insert into the kept names, which stay sorted */
		size_t at = c->n_names;
		while (at > 0 && name_before(&run, &c->names[at - 1]))
			at--;
		if (at == LW_PROC_NAMES) {
			c->more_names = 1;
			continue;
		}
		if (c->n_names == LW_PROC_NAMES)
			c->more_names = 1;
		else
			c->n_names++;
		memmove(&c->names[at + 1], &c->names[at], (c->n_names - 1 - at) * sizeof(run));
		c->names[at] = run;
	}
	free(v);
	return 0;
}

int lw_model_choose_process(lw_model *m, const lw_proc_filter *f, lw_proc_choice *out,
			    char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	lw_proc_list l;
	int rc = lw_model_processes(m, &l);
	if (rc < 0) {
		snprintf(err, errlen, "'%s': cannot list the processes", lw_model_db(m)->path);
		return rc;
	}
	long best = -1;
	int best_root = 0;
	for (size_t i = 0; i < l.n; i++) {
		int root = is_root(&l, &l.v[i]);
		if (matches(&l.v[i], f) && (best < 0 || better(&l.v[i], root, &l.v[best], best_root))) {
			best = (long)i;
			best_root = root;
		}
	}
	if (best < 0) {
		char what[512];
		rc = count_names(&l, -1, NULL, out);
		lw_proc_names_line(out, what, sizeof(what));
		if (l.n == 0)
			snprintf(err, errlen, "'%s': no processes", lw_model_db(m)->path);
		else if (f && f->pid > 0 && f->name)
			snprintf(err, errlen, "no process with pid %" PRId64 " named '%s'; there are: %s",
				 f->pid, f->name, what);
		else if (f && f->pid > 0)
			snprintf(err, errlen, "no process with pid %" PRId64 "; there are: %s", f->pid,
				 what);
		else
			snprintf(err, errlen, "no process named '%s'; there are: %s",
				 f && f->name ? f->name : "", what);
		lw_proc_list_free(&l);
		memset(out, 0, sizeof(*out));
		return rc < 0 ? rc : -ENOENT;
	}
	/* followed across exec: the last program the chosen process ran, and
	 * the one before it */
	const lw_proc_info *first = &l.v[best];
	long prev = -1;
	for (size_t i = 0; i < l.n; i++)
		if (matches(&l.v[i], f) && same_process(&l.v[i], first) &&
		    l.v[i].start_wall_ns > l.v[best].start_wall_ns)
			best = (long)i;
	for (size_t i = 0; i < l.n; i++)
		if ((long)i != best && same_process(&l.v[i], &l.v[best]) &&
		    l.v[i].start_wall_ns <= l.v[best].start_wall_ns &&
		    (prev < 0 || l.v[i].start_wall_ns > l.v[prev].start_wall_ns))
			prev = (long)i;
	const lw_proc_info *p = &l.v[best];
	out->process_id = p->id;
	out->pid = p->pid;
	snprintf(out->name, sizeof(out->name), "%s", p->name);
	if (prev >= 0)
		snprintf(out->exec_from, sizeof(out->exec_from), "%s", l.v[prev].name);
	out->by = f && f->pid > 0 ? LW_CHOSEN_PID : f && f->name ? LW_CHOSEN_NAME : LW_CHOSEN_WATCHED;
	out->exit_seq = p->exit_seq;
	out->exit_status = p->exit_status;
	out->exit_t_s = p->exit_t_s;
	rc = count_names(&l, best, NULL, out);
	lw_proc_list_free(&l);
	if (rc < 0)
		snprintf(err, errlen, "out of memory");
	return rc;
}

int lw_model_program(lw_model *m, lw_proc_choice *c, int64_t **ids, size_t *n_ids)
{
	*ids = NULL;
	*n_ids = 0;
	lw_proc_list l;
	int rc = lw_model_processes(m, &l);
	if (rc < 0)
		return rc;
	int64_t *v = malloc((l.n ? l.n : 1) * sizeof(*v));
	if (!v) {
		lw_proc_list_free(&l);
		return -ENOMEM;
	}
	/* by pid: exactly that process; else the program, by its name as
	 * started (the list is ordered by id) */
	const char *program = c->by == LW_CHOSEN_PID ? NULL : c->name;
	long chosen = -1;
	size_t n = 0;
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].id == c->process_id)
			chosen = (long)i;
		if (l.v[i].id == c->process_id || (program && strcmp(l.v[i].name, program) == 0))
			v[n++] = l.v[i].id;
	}
	rc = chosen < 0 ? -ENOENT : count_names(&l, chosen, program, c);
	lw_proc_list_free(&l);
	if (rc < 0) {
		free(v);
		return rc;
	}
	*ids = v;
	*n_ids = n;
	return 0;
}

const char *lw_proc_names_line(const lw_proc_choice *c, char *buf, size_t len)
{
	size_t o = 0;
	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < c->n_names && o < len; i++) {
		if (c->names[i].count > 1)
			o += (size_t)snprintf(buf + o, len - o, "%s%s \u00d7%zu", i ? ", " : "",
					      c->names[i].name, c->names[i].count);
		else
			o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", c->names[i].name);
	}
	if (c->more_names && o < len)
		snprintf(buf + o, len - o, ", \u2026");
	return buf;
}
