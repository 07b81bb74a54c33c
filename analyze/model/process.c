/* process.c — the processes of a store (model.h, lw_model_processes): one
 * row per run, with the executable's build-id looked up in its module map.
 *
 * Read-only, parameterized queries, like model.c. Strings are malloc'd per
 * row and freed by lw_proc_list_free; a failed call leaves the list
 * empty.
 */
#include "model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
		"  ORDER BY m.id LIMIT 1)"
		" FROM processes p ORDER BY p.id";
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(lw_model_db(m)->h, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
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
		out->n++;
		if (!p->exe || !p->hostname || !p->cmdline || !p->build_id_hex) {
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
