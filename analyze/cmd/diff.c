/* cmd/diff.c — `leakwatch diff T1 T2 [-n N] [--sample TYPE] [--json]`.
 *
 * Role: argument parsing and orchestration. T1 and T2 are each a .lwd
 * file, a directory (its first process's latest snapshot) or a database
 * made by `load` (same choice). Each is opened on its own (through the
 * cache of lw_db_open_inputs), so they may come from different processes,
 * hosts or builds: lw_diff_compute (report.c) matches sites by symbolized
 * frames, never by address. Output contract: docs/CLI.md, "diff".
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "errors.h"
#include "report.h"
#include "table.h"
#include "units.h"

static void usage(FILE *out)
{
	fputs("usage: leakwatch diff T1 T2 [-n N] [--sample inuse_space|inuse_objects|"
	      "alloc_space|alloc_objects] [--json]\n"
	      "  T1, T2: a .lwd file, or a directory / database (its latest snapshot)\n", out);
}

int lw_cmd_diff(int argc, char **argv)
{
	enum { OPT_SAMPLE = 256, OPT_JSON };
	static const struct option longopts[] = {
		{ "sample", required_argument, NULL, OPT_SAMPLE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t n = 20;
	int json = 0;
	enum lw_sample_type sample = LW_INUSE_SPACE;
	lw_set_command("diff");

	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (lw_parse_u64(optarg, &n) || n == 0) {
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
			sample = (enum lw_sample_type)t;
			break;
		}
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
	if (argc - optind != 2) {
		lw_error("expected two inputs T1 T2, got %d", argc - optind);
		usage(stderr);
		return 2;
	}

	char err[1024];
	lw_db *db[2] = { NULL, NULL };
	lw_profile prof[2];
	int status = 1;
	memset(prof, 0, sizeof(prof));
	for (int i = 0; i < 2; i++) {
		if (lw_report_open_profile(&argv[optind + i], 1, -1, &db[i], &prof[i], err,
					   sizeof(err))) {
			lw_error("%s", err);
			goto out;
		}
	}
	lw_diff_result r;
	if (lw_diff_compute(&prof[0], &prof[1], sample, &r)) {
		lw_error("out of memory");
		goto out;
	}
	if (json)
		lw_diff_json(&prof[0], &prof[1], sample, &r, (size_t)n, stdout);
	else
		lw_diff_print(&prof[0], &prof[1], sample, &r, (size_t)n, lw_term_width(), stdout);
	lw_diff_result_free(&r);
	status = fflush(stdout) ? 1 : 0;
	if (status)
		lw_error("cannot write the output");
out:
	for (int i = 0; i < 2; i++) {
		if (db[i]) {
			lw_profile_free(&prof[i]);
			lw_db_close(db[i]);
		}
	}
	return status;
}
