/* cmd/top.c — `leakwatch top PATH... [-n N] [--sample TYPE] [--cum]
 * [--focus REGEX] [--by function|site] [--snapshot SEQ] [--json]`.
 *
 * Role: argument parsing and orchestration only; the aggregation, ranking
 * and both renderings live in report.c (lw_top_*), so other commands and
 * tests call them directly. Output contract: docs/CLI.md, "top".
 *
 * Extension point: a retained-size column (heap-graph analysis of a dump)
 * is added by setting lw_top_opts.retained (+ retained_arg) before
 * lw_top_compute and sort = LW_TOP_SORT_RETAINED; lw_top_print and
 * lw_top_json then show the column. top_run() below takes the options
 * ready-made so such a flag only has to fill them in.
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
#include "retain.h"   /* --retained (retainers engineer) */
#include "table.h"
#include "units.h"

typedef struct top_args {
	char **paths;
	size_t n_paths;
	uint64_t n;
	int64_t seq;             /* -1: latest */
	int json;
	const char *focus;
	lw_top_opts opts;
} top_args;

static void usage(FILE *out)
{
	fputs("usage: leakwatch top PATH... [-n N] [--sample inuse_space|inuse_objects|"
	      "alloc_space|alloc_objects]\n"
	      "                     [--cum] [--focus REGEX] [--by function|site]"
	      " [--snapshot SEQ] [--retained] [--json]\n", out);
}

static int top_run(top_args *a)
{
	char err[1024];
	lw_db *db = NULL;
	lw_profile prof;
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
	if (lw_report_open_profile(a->paths, a->n_paths, a->seq, &db, &prof, err, sizeof(err))) {
		lw_error("%s", err);
		lw_regex_free(re);
		return 1;
	}
	lw_top_result r;
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
	lw_profile_free(&prof);
	lw_db_close(db);
	lw_regex_free(re);
	return status;
}

int lw_cmd_top(int argc, char **argv)
{
	enum { OPT_SAMPLE = 256, OPT_CUM, OPT_FOCUS, OPT_BY, OPT_SNAPSHOT, OPT_JSON,
	       OPT_RETAINED };
	static const struct option longopts[] = {
		{ "sample", required_argument, NULL, OPT_SAMPLE },
		{ "cum", no_argument, NULL, OPT_CUM },
		{ "focus", required_argument, NULL, OPT_FOCUS },
		{ "by", required_argument, NULL, OPT_BY },
		{ "snapshot", required_argument, NULL, OPT_SNAPSHOT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "retained", no_argument, NULL, OPT_RETAINED },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	top_args a;
	int retained = 0;
	memset(&a, 0, sizeof(a));
	a.n = 20;
	a.seq = -1;
	a.opts.sample = LW_INUSE_SPACE;
	lw_set_command("top");

	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (lw_parse_u64(optarg, &a.n) || a.n == 0) {
				lw_error("-n '%s': expected a positive count", optarg);
				return 2;
			}
			break;
		case OPT_SAMPLE: {
			int t = lw_sample_type_parse(optarg);
			if (t < 0) {
				lw_error("--sample '%s': expected inuse_space, inuse_objects, "
					 "alloc_space or alloc_objects", optarg);
				return 2;
			}
			a.opts.sample = (enum lw_sample_type)t;
			break;
		}
		case OPT_CUM:
			a.opts.sort = LW_TOP_SORT_CUM;
			break;
		case OPT_FOCUS:
			a.focus = optarg;
			break;
		case OPT_BY:
			if (!strcmp(optarg, "function"))
				a.opts.by = LW_TOP_BY_FUNCTION;
			else if (!strcmp(optarg, "site"))
				a.opts.by = LW_TOP_BY_SITE;
			else {
				lw_error("--by '%s': expected function or site", optarg);
				return 2;
			}
			break;
		case OPT_SNAPSHOT: {
			uint64_t s;
			if (lw_parse_u64(optarg, &s) || s > INT64_MAX) {
				lw_error("--snapshot '%s': expected a sequence number", optarg);
				return 2;
			}
			a.seq = (int64_t)s;
			break;
		}
		case OPT_JSON:
			a.json = 1;
			break;
		case OPT_RETAINED:
			retained = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return lw_opt_error(c, argv, optind, usage);
		}
	}
	if (optind >= argc) {
		lw_error("missing PATH (a .lwd file, a directory of them, or a database)");
		usage(stderr);
		return 2;
	}
	a.paths = argv + optind;
	a.n_paths = (size_t)(argc - optind);
	/* --retained (added by the retainers engineer): rank sites by the
	 * retained size of their blocks in a heap dump's graph — the union of
	 * their dominator subtrees (analyze/retain.h, docs/RETAINERS.md). */
	lw_heap *heap = NULL;
	if (retained) {
		char err[1024];
		if (a.n_paths != 1) {
			lw_error("--retained needs exactly one heap dump file (dump-NNNNNN.lwd)");
			return 2;
		}
		if (lw_heap_open(a.paths[0], &heap, err, sizeof(err)) < 0) {
			lw_error("'%s': %s", a.paths[0], err);
			return 1;
		}
		a.opts.retained = lw_heap_site_retained;
		a.opts.retained_arg = heap;
		a.opts.sort = LW_TOP_SORT_RETAINED;
	}
	int status = top_run(&a);
	lw_heap_free(heap);
	return status;
}
