/* cmd/report.c — `leakwatch report PATH... [-o FILE.html] [--dump DUMP]
 * [--base SNAPSHOT] [--snapshot SEQ] [-n N] [--json] [--wrapper REGEX]
 * [--no-wrappers]`: one self-contained HTML page with the summary, memory
 * over time, the growth ranking, flame graphs and the retainer graph of a
 * dump.
 *
 * Role: argument parsing and orchestration. The data comes from
 * html_data.c (the same computations as growth, top, diff and retainers),
 * the page from html.c; the file is published with lw_out_publish
 * (lib/outfile.h). --json prints the page's data document instead.
 * Progress goes to stderr on a terminal; the path written goes to stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "html.h"
#include "html_data.h"
#include "outfile.h"
#include "util.h"

#ifndef LW_VERSION
#define LW_VERSION "unknown"
#endif

#define DEFAULT_OUTPUT "leakwatch-report.html"

static void usage(FILE *out)
{
	fputs("usage: leakwatch report PATH... [-o FILE.html] [--dump DUMP] [--base SNAPSHOT]\n"
	      "                        [--snapshot SEQ] [-n N] [--json] " LW_PROC_USAGE "\n"
	      "                        " LW_MODEL_USAGE "\n"
	      "  -o FILE       the page (default " DEFAULT_OUTPUT "; '-' for stdout)\n"
	      "  --dump DUMP   heap dump for the retainer graph (default: the newest loaded)\n"
	      "  --base SNAP   diff base: a sequence number or a loaded .lwd file\n"
	      "                (default: the first snapshot)\n"
	      "  --snapshot N  snapshot shown first (default: the latest before the\n"
	      "                process's teardown, so not its exit snapshot)\n"
	      LW_PROC_HELP
	      "  -n N          rows per table (default 20)\n"
	      "  --json        print the page's data document instead of writing the page\n"
	      "  --wrapper RE  also fold functions matching RE into their callers, as\n"
	      "                allocation wrappers (repeatable)\n"
	      "  --no-wrappers detect no wrappers (only --wrapper ones fold)\n",
	      out);
}

/* One progress bar per stage, replaced when the stage changes. */
typedef struct progress_state {
	lw_progress *bar;
	const char *stage;
} progress_state;

static void on_progress(const char *stage, size_t done, size_t total, void *arg)
{
	progress_state *ps = arg;
	if (ps->stage != stage) {
		lw_progress_done(ps->bar);
		ps->bar = lw_progress_new(stage, total);
		ps->stage = stage;
	}
	lw_progress_update(ps->bar, done);
}

typedef struct page_job {
	const lw_report_data *d;
	const char *generator;
} page_job;

static int write_page(FILE *out, void *arg)
{
	const page_job *job = arg;
	lw_html_page pg = {
		.title = job->d->title,
		.json = job->d->json, .json_len = job->d->json_len,
		.svg = job->d->svg, .svg_len = job->d->svg_len,
		.generator = job->generator,
	};
	return lw_html_write(out, &pg);
}

static int output_page(const char *output, const lw_report_data *d, const char *generator)
{
	page_job job = { d, generator };
	if (!strcmp(output, "-")) {
		if (write_page(stdout, &job) < 0 || fflush(stdout)) {
			lw_error("'-': cannot write: %s", strerror(EIO));
			return 1;
		}
		return 0;
	}
	const char *step = "";
	int rc = lw_out_publish(output, write_page, &job, &step);
	if (rc) {
		char why[256];
		lw_error("'%s': %s", output, lw_out_reason(rc, step, why, sizeof why));
		return 1;
	}
	return 0;
}

/* Whether path is one of the inputs or inside an input directory. */
static int among_inputs(const char *path, char *const *paths, size_t n_paths)
{
	char *real = realpath(path, NULL);
	int found = 0;
	for (size_t i = 0; real && !found && i < n_paths; i++) {
		char *in = realpath(paths[i], NULL);
		if (in) {
			size_t n = strlen(in);
			found = !strcmp(in, real) || (!strncmp(in, real, n) && real[n] == '/');
			free(in);
		}
	}
	free(real);
	return found;
}

static int report_run(char **paths, size_t n_paths, lw_report_opts *o,
		      const lw_cmd_model *mo, const char *output, int json)
{
	char err[1024];
	lw_db *db = NULL;
	lw_model *m = NULL;
	/* the --dump file is loaded with the inputs: its sites are the model's */
	char **all = calloc(n_paths + 1, sizeof *all);
	if (!all) {
		lw_error("out of memory");
		return 1;
	}
	memcpy(all, paths, n_paths * sizeof *all);
	size_t n_all = n_paths;
	if (o->dump && !among_inputs(o->dump, paths, n_paths))
		all[n_all++] = (char *)o->dump;
	int orc = lw_cmd_open(all, n_all, &mo->opts, &db, &m);
	free(all);
	if (orc)
		return 1;
	progress_state ps = { NULL, NULL };
	o->progress = on_progress;
	o->progress_arg = &ps;
	lw_report_data d;
	int rc = lw_report_build(m, o, &d, err, sizeof err);
	lw_progress_done(ps.bar);
	lw_cmd_close(db, m, NULL);
	if (rc < 0) {
		lw_error("%s", err);
		return 1;
	}
	int status = 0;
	if (json) {
		fwrite(d.json, 1, d.json_len, stdout);
		if (fflush(stdout)) {
			lw_error("cannot write the output");
			status = 1;
		}
	} else {
		status = output_page(output, &d, o->generator);
		if (status == 0 && strcmp(output, "-")) {
			if (d.retainers_note[0])
				fprintf(stderr, "leakwatch report: no retainer graph: %s\n",
					d.retainers_note);
			printf("%s\n", output);
		}
	}
	lw_report_data_free(&d);
	return status;
}

int lw_cmd_report(int argc, char **argv)
{
	enum { OPT_DUMP = 256, OPT_BASE, OPT_SNAPSHOT, OPT_JSON };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "dump", required_argument, NULL, OPT_DUMP },
		{ "base", required_argument, NULL, OPT_BASE },
		{ "snapshot", required_argument, NULL, OPT_SNAPSHOT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		LW_MODEL_OPTIONS,
		LW_PROC_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	lw_report_opts o;
	memset(&o, 0, sizeof o);
	o.n = 20;
	o.seq = -1;
	o.base_seq = -1;
	o.generator = "leakwatch " LW_VERSION;
	const char *output = DEFAULT_OUTPUT;
	int json = 0;
	uint64_t n = 20;
	lw_cmd_model mo;
	memset(&mo, 0, sizeof mo);
	lw_set_command("report");

	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":n:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (lw_args_count("-n", optarg, &n))
				return 2;
			o.n = n > 100000 ? 100000 : (size_t)n;   /* more rows than any page shows */
			break;
		case 'o':
			if (!optarg[0]) {
				lw_error("-o '': expected a file name");
				return 2;
			}
			output = optarg;
			break;
		case OPT_DUMP:
			o.dump = optarg;
			break;
		case OPT_BASE:
			/* a sequence number, or a file */
			if (optarg[0] >= '0' && optarg[0] <= '9' && !strchr(optarg, '/') &&
			    !strchr(optarg, '.')) {
				if (lw_args_seq("--base", optarg, &o.base_seq))
					return 2;
			} else {
				o.base_path = optarg;
			}
			break;
		case OPT_SNAPSHOT:
			if (lw_args_seq("--snapshot", optarg, &o.seq))
				return 2;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (lw_args_other(c, argv, &mo, usage))
				return 2;
			break;
		}
	}
	if (optind >= argc) {
		lw_error("missing PATH (a .lwd file, a directory of them, or a database)");
		usage(stderr);
		return 2;
	}
	o.proc = &mo.proc;
	o.inputs = argv + optind;
	o.n_inputs = (size_t)(argc - optind);
	return report_run(argv + optind, (size_t)(argc - optind), &o, &mo, output, json);
}
