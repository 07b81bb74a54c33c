/* cmd/diff.c — `leakwatch diff T1 T2 [-n N] [--sample TYPE]
 * [--wrapper REGEX] [--no-wrappers] [--json]`.
 *
 * Role: argument parsing and orchestration. T1 and T2 are each a .lwd
 * file, a directory (its first process's latest snapshot) or a database
 * made by `load` (same choice). Each is opened on its own (through its
 * cache database), so they may come from different processes, hosts or
 * builds: lw_diff_compute (report/diff.c) matches sites by key, never by
 * address. Both models fold the same wrappers (the union of what each
 * detected), so a wrapper found in one input cannot split a site in two.
 * Output contract: docs/CLI.md, "diff".
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
	      "alloc_space|alloc_objects]\n"
	      "                      " LW_PROC_USAGE " " LW_MODEL_USAGE " [--json]\n"
	      "  T1, T2: a .lwd file, or a directory / database (its latest snapshot)\n", out);
}

/* Folds both models with the union of their wrappers. */
static int same_wrappers(lw_model *m[2])
{
	const char *const *a, *const *b;
	size_t na = lw_model_wrappers(m[0], &a), nb = lw_model_wrappers(m[1], &b);
	const char **all = malloc((na + nb + 1) * sizeof(*all));
	if (!all) {
		lw_error("out of memory");
		return -1;
	}
	for (size_t i = 0; i < na; i++)
		all[i] = a[i];
	for (size_t i = 0; i < nb; i++)
		all[na + i] = b[i];
	int rc = 0;
	if (na + nb > 0) {   /* names are copied into the wrapper sets first */
		rc = lw_model_set_wrappers(m[0], all, na + nb);
		if (rc == 0)
			rc = lw_model_set_wrappers(m[1], all, na + nb);
	}
	free(all);
	if (rc < 0)
		lw_error("out of memory");
	return rc;
}

/* The latest snapshot before teardown of each input's process (the watched
 * one, or --pid / --exe). */
static int open_profiles(lw_model *m[2], char *const *paths, const lw_cmd_model *mo,
			 lw_proc_choice proc[2], lw_profile prof[2])
{
	char err[1024];
	for (int i = 0; i < 2; i++) {
		if (lw_cmd_choose(m[i], &paths[i], 1, mo, &proc[i]))
			return -1;
		int64_t id = lw_report_pick_snapshot(m[i], proc[i].process_id, -1, err, sizeof(err));
		if (id < 0) {
			lw_error("%s", err);
			return -1;
		}
		if (lw_model_profile(m[i], id, &prof[i]) < 0) {
			lw_error("'%s': cannot read snapshot %lld", lw_model_db(m[i])->path,
				 (long long)id);
			return -1;
		}
		prof[i].proc = &proc[i];
	}
	return 0;
}

int lw_cmd_diff(int argc, char **argv)
{
	enum { OPT_SAMPLE = 256, OPT_JSON };
	static const struct option longopts[] = {
		{ "sample", required_argument, NULL, OPT_SAMPLE },
		{ "json", no_argument, NULL, OPT_JSON },
		LW_MODEL_OPTIONS,
		LW_PROC_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t n = 20;
	int json = 0;
	enum lw_sample_type sample = LW_INUSE_SPACE;
	lw_cmd_model model;
	memset(&model, 0, sizeof(model));
	lw_set_command("diff");

	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (lw_args_count("-n", optarg, &n))
				return 2;
			break;
		case OPT_SAMPLE:
			if (lw_args_sample(optarg, &sample))
				return 2;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (lw_args_other(c, argv, &model, usage))
				return 2;
			break;
		}
	}
	if (argc - optind != 2) {
		lw_error("expected two inputs T1 T2, got %d", argc - optind);
		usage(stderr);
		return 2;
	}

	lw_db *db[2] = { NULL, NULL };
	lw_model *m[2] = { NULL, NULL };
	lw_profile prof[2];
	lw_proc_choice proc[2];
	int status = 1;
	memset(prof, 0, sizeof(prof));
	for (int i = 0; i < 2; i++)
		if (lw_cmd_open(&argv[optind + i], 1, &model.opts, &db[i], &m[i]))
			goto out;
	if (same_wrappers(m) < 0 || open_profiles(m, &argv[optind], &model, proc, prof) < 0)
		goto out;
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
	for (int i = 0; i < 2; i++)
		lw_cmd_close(db[i], m[i], &prof[i]);
	return status;
}
