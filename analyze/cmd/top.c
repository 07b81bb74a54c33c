/* cmd/top.c — `leakwatch top PATH... [-n N] [--sample TYPE] [--cum]
 * [--focus REGEX] [--by function|site] [--snapshot SEQ] [--retained]
 * [--wrapper REGEX] [--no-wrappers] [--json]`.
 *
 * Role: argument parsing and orchestration only; aggregation, ranking and
 * both renderings are report/top.c (lw_top_*). Output contract:
 * docs/CLI.md, "top".
 *
 * --retained adds a retained-size column from the heap graph of the dump
 * given (heap/retain.h): the dump is loaded into the store like any input,
 * its blocks are grouped by the same model sites as the profile's rows, and
 * lw_heap_site_retained looks a row's site up by id.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "errors.h"
#include "pattern.h"
#include "report.h"
#include "retain.h"
#include "table.h"
#include "units.h"

typedef struct top_args {
	char **paths;
	size_t n_paths;
	uint64_t n;
	int64_t seq;             /* -1: latest */
	int json, retained;
	const char *focus;
	lw_top_opts opts;
	lw_cmd_model model;
} top_args;

static void usage(FILE *out)
{
	fputs("usage: leakwatch top PATH... [-n N] [--sample inuse_space|inuse_objects|"
	      "alloc_space|alloc_objects]\n"
	      "                     [--cum] [--focus REGEX] [--by function|site]"
	      " [--snapshot SEQ] [--retained]\n"
	      "                     " LW_PROC_USAGE " " LW_MODEL_USAGE " [--json]\n", out);
}

/* --retained: the heap graph of the one dump given, for the column. */
static int open_heap(top_args *a, lw_model *m, lw_heap **heap)
{
	char err[1024];
	if (lw_heap_open(m, a->paths[0], NULL, NULL, heap, err, sizeof(err)) < 0) {
		lw_error("'%s': %s", a->paths[0], err);
		return 1;
	}
	a->opts.retained = lw_heap_site_retained;
	a->opts.retained_arg = *heap;
	a->opts.sort = LW_TOP_SORT_RETAINED;
	return 0;
}

static int top_run(top_args *a)
{
	char err[1024];
	lw_db *db = NULL;
	lw_model *m = NULL;
	lw_heap *heap = NULL;
	lw_profile prof;
	lw_proc_choice proc;
	lw_regex *re = NULL;
	int status = 1;

	if (a->focus) {
		re = lw_regex_new(a->focus, err, sizeof(err));
		if (!re) {
			lw_error("--focus '%s': %s", a->focus, err);
			return 2;
		}
		a->opts.focus = re;
		a->opts.focus_text = a->focus;
	}
	if (lw_cmd_open_profile(a->paths, a->n_paths, a->seq, &a->model, &db, &m, &proc, &prof)) {
		lw_regex_free(re);
		return 1;
	}
	lw_top_result r;
	if (a->retained && open_heap(a, m, &heap))
		goto out;
	if (lw_top_compute(&prof, &a->opts, &r)) {
		lw_error("out of memory");
		goto out;
	}
	if (a->json)
		lw_top_json(&prof, &a->opts, &r, (size_t)a->n, stdout);
	else
		lw_top_print(&prof, &a->opts, &r, (size_t)a->n, lw_term_width(), stdout);
	lw_top_result_free(&r);
	status = fflush(stdout) ? 1 : 0;
	if (status)
		lw_error("cannot write the output");
out:
	lw_heap_free(heap);
	lw_cmd_close(db, m, &prof);
	lw_regex_free(re);
	return status;
}

/* One option of the switch; 0 to go on, or the exit status. */
static int top_option(int c, char **argv, top_args *a)
{
	switch (c) {
	case 'n':
		return lw_args_count("-n", optarg, &a->n);
	case 256:   /* --sample */
		return lw_args_sample(optarg, &a->opts.sample);
	case 257:   /* --cum */
		a->opts.sort = LW_TOP_SORT_CUM;
		return 0;
	case 258:   /* --focus */
		a->focus = optarg;
		return 0;
	case 259:   /* --by */
		if (!strcmp(optarg, "function") || !strcmp(optarg, "site")) {
			a->opts.by = optarg[0] == 'f' ? LW_TOP_BY_FUNCTION : LW_TOP_BY_SITE;
			return 0;
		}
		lw_error("--by '%s': expected function or site", optarg);
		return 2;
	case 260:   /* --snapshot */
		return lw_args_seq("--snapshot", optarg, &a->seq);
	case 261:   /* --json */
		a->json = 1;
		return 0;
	case 262:   /* --retained */
		a->retained = 1;
		return 0;
	case 'h':
		usage(stdout);
		return -1;
	default:
		return lw_args_other(c, argv, &a->model, usage);
	}
}

int lw_cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sample", required_argument, NULL, 256 },
		{ "cum", no_argument, NULL, 257 },
		{ "focus", required_argument, NULL, 258 },
		{ "by", required_argument, NULL, 259 },
		{ "snapshot", required_argument, NULL, 260 },
		{ "json", no_argument, NULL, 261 },
		{ "retained", no_argument, NULL, 262 },
		LW_MODEL_OPTIONS,
		LW_PROC_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	top_args a;
	memset(&a, 0, sizeof(a));
	a.n = 20;
	a.seq = -1;
	a.opts.sample = LW_INUSE_SPACE;
	lw_set_command("top");

	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":n:h", longopts, NULL)) != -1) {
		int r = top_option(c, argv, &a);
		if (r)
			return r < 0 ? 0 : r;
	}
	if (optind >= argc) {
		lw_error("missing PATH (a .lwd file, a directory of them, or a database)");
		usage(stderr);
		return 2;
	}
	a.paths = argv + optind;
	a.n_paths = (size_t)(argc - optind);
	if (a.retained && a.n_paths != 1) {
		lw_error("--retained needs exactly one heap dump file (dump-NNNNNN.lwd)");
		return 2;
	}
	return top_run(&a);
}
