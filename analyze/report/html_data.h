/* html_data.h — the data behind the `leakwatch report` page: one JSON
 * document computed from the model (model.h) with the functions the other
 * commands use, so every figure on the page is one the CLI prints:
 *
 *   growth      the ranking of `growth` (growth.h), with each shown
 *               site's series (downsampled), trend line and onset
 *   top         `top --json` documents (inuse_space and alloc_space, by
 *               function) of every snapshot the page offers, verbatim
 *   diff        the `diff --json` document of base -> shown snapshot
 *   retainers   the `retainers --json` document of a dump for the top
 *               leak (retain_out.h), and the graph as SVG (libgvc)
 *
 * plus what only the page needs: processes, memory over time (RSS,
 * committed, sampled in-use; downsampled), the selectable snapshots'
 * per-site values for the flame graphs, and a deduplicated table of
 * strings, frames and sites that everything else refers to by index.
 * The shape is documented in docs/CLI.md ("report").
 */
#ifndef LW_HTML_DATA_H
#define LW_HTML_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef struct lw_report_opts {
	size_t n;                   /* rows of each table (growth, top, diff) */
	const lw_proc_filter *proc; /* the process the page is about (NULL: the watched one) */
	int64_t seq;                /* snapshot shown: -1 = its latest before teardown */
	int64_t base_seq;           /* diff base: -1 = its first */
	const char *base_path;      /* or the base by file (a loaded .lwd), NULL */
	const char *dump;           /* dump for retainers; NULL = newest loaded dump */
	char *const *inputs;        /* PATH arguments, listed in the page */
	size_t n_inputs;
	const char *generator;      /* "leakwatch 0.1.0" */
	/* progress (may be NULL): stage name, done, total */
	void (*progress)(const char *stage, size_t done, size_t total, void *arg);
	void *progress_arg;
} lw_report_opts;

typedef struct lw_report_data {
	char *json;                 /* the document (lw_json output, pretty) */
	size_t json_len;
	char *svg;                  /* retainer graph from libgvc, or NULL */
	size_t svg_len;
	char title[256];            /* executable's base name */
	size_t n_snapshots, n_dumps, n_processes;
	size_t n_leaks;             /* sites judged `leak` */
	char retainers_note[512];   /* why there is no retainer graph, or "" */
} lw_report_data;

/* Builds the document. Returns 0, or -1 with a one-line reason in err
 * (no snapshot, unknown --snapshot/--base, unreadable --dump, no memory). */
int lw_report_build(lw_model *m, const lw_report_opts *o, lw_report_data *out,
		    char *err, size_t errlen);
void lw_report_data_free(lw_report_data *d);

#endif
