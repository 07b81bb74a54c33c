/* nodebug.c — the modules whose frames lack symbols or debug information
 * (model.h, lw_model_nodebug), so that every command can say once which
 * modules they are and where their debug information comes from.
 *
 * One pass over the folded sites' frames (up to main: see counted_frames)
 * counts, per module name, its
 * frames, its unknown functions, its frames with a source line and the
 * sites whose allocation call site it holds; the modules table gives the
 * path and build-id the process mapped, and debuginfo.c the package. The
 * result is computed once per model and owned by it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "debuginfo.h"
#include "model_int.h"
#include "text.h"

typedef struct mod_count {
	const char *module;
	size_t frames, unnamed, lines, call_sites;
} mod_count;

/* How many frames of a site count: up to main, or for a thread without the
 * C library's start-up frames at the outer end. The frames below main
 * (_start, __libc_start_call_main) say nothing about the program, and
 * without the C library's debug package they are unnamed in every stack:
 * they must not make every command name libc. */
static size_t counted_frames(const lw_site *site)
{
	for (size_t d = 0; d < site->n_frames; d++)
		if (strcmp(site->frames[d].function, "main") == 0)
			return d + 1;
	size_t end = site->n_frames;
	while (end > 1 && strncmp(site->frames[end - 1].module, "libc.so", 7) == 0)
		end--;
	return end;
}

/* Per module name: its counts over every folded site. */
static int count_frames(const lw_model *m, mod_count **out, size_t *n_out)
{
	lw_map ids;
	lw_map_init(&ids, 1);
	mod_count *v = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	for (size_t s = 0; rc == 0 && s < m->n_sites; s++) {
		const lw_site *site = &m->sites[s];
		size_t end = counted_frames(site);
		for (size_t d = 0; d < end; d++) {
			const lw_sym_frame *f = &site->frames[d];
			if (strcmp(f->module, "??") == 0)
				continue;
			int added;
			uint64_t *slot = lw_map_put_str(&ids, f->module, &added, NULL);
			if (!slot || (added && lw_grow(&v, &cap, n + 1, sizeof(*v)) < 0)) {
				rc = -ENOMEM;
				break;
			}
			if (added) {
				memset(&v[n], 0, sizeof(v[n]));
				v[n].module = f->module;   /* interned by the model */
				*slot = n++;
			}
			mod_count *c = &v[*slot];
			c->frames++;
			c->unnamed += lw_frame_unknown(f) != 0;
			c->lines += f->file[0] != '\0';
			c->call_sites += d == 0;
		}
	}
	lw_map_free(&ids);
	if (rc < 0) {
		free(v);
		return rc;
	}
	*out = v;
	*n_out = n;
	return 0;
}

/* Path and build-id of the module called `name`, from the modules table. */
static int module_file(lw_model *m, const char *name, lw_nodebug *out)
{
	sqlite3_stmt *st = lw_model_prep(m, "SELECT DISTINCT path, build_id FROM modules"
					    " WHERE path LIKE '/%' ORDER BY id");
	if (!st)
		return -EIO;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *path = (const char *)sqlite3_column_text(st, 0);
		if (!path || strcmp(lw_base_name(path), name) != 0)
			continue;
		out->path = lw_map_intern(&m->strings, path);
		out->build_id = lw_map_intern(&m->strings,
					      (const char *)sqlite3_column_text(st, 1));
		break;
	}
	sqlite3_finalize(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return -EIO;
	return out->path && out->build_id ? 0 : -ENOMEM;
}

static int cmp_frames(const void *a, const void *b)
{
	const lw_nodebug *x = a, *y = b;
	if (x->frames != y->frames)
		return x->frames > y->frames ? -1 : 1;
	return strcmp(x->module, y->module);
}

/* Fills m->nodebug from the counts. */
static int build(lw_model *m, const mod_count *c, size_t n)
{
	m->nodebug = calloc(n ? n : 1, sizeof(*m->nodebug));
	if (!m->nodebug)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (c[i].unnamed == 0 && (c[i].lines > 0 || c[i].call_sites == 0))
			continue;
		lw_nodebug *d = &m->nodebug[m->n_nodebug];
		memset(d, 0, sizeof(*d));
		d->module = c[i].module;
		d->frames = c[i].frames;
		d->unnamed = c[i].unnamed;
		d->path = d->build_id = d->package = d->debug_package = "";
		int rc = module_file(m, d->module, d);
		if (rc < 0)
			return rc;
		if (!d->path[0])
			continue;   /* [vdso] and other mappings without a file */
		char pkg[256], dbg[300];
		if (lw_debuginfo_package(d->path, NULL, pkg, sizeof(pkg))) {
			lw_debuginfo_dbgsym(pkg, dbg, sizeof(dbg));
			d->package = lw_map_intern(&m->strings, pkg);
			d->debug_package = lw_map_intern(&m->strings, dbg);
			if (!d->package || !d->debug_package)
				return -ENOMEM;
		}
		m->n_nodebug++;
	}
	if (m->n_nodebug > 1)
		qsort(m->nodebug, m->n_nodebug, sizeof(*m->nodebug), cmp_frames);
	return 0;
}

int lw_model_nodebug(lw_model *m, const lw_nodebug **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!m->nodebug_done) {
		mod_count *c = NULL;
		size_t nc = 0;
		int rc = count_frames(m, &c, &nc);
		if (rc == 0)
			rc = build(m, c, nc);
		free(c);
		if (rc < 0) {
			free(m->nodebug);
			m->nodebug = NULL;
			m->n_nodebug = 0;
			return rc;
		}
		m->nodebug_done = 1;
	}
	*out = m->nodebug;
	*n = m->n_nodebug;
	return 0;
}
