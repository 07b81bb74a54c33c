/* cmd/export.c — `leakwatch export PATH... --format pprof|collapsed|text
 * -o FILE [--snapshot SEQ] [--sample TYPE]`.
 *
 * Role: picks one snapshot (default: the first process's latest), encodes it
 * with pprof.c and publishes FILE with lw_out_publish (lib/outfile.h:
 * atomic replacement, devices and FIFOs written in place, links refused).
 * "-o -" writes to standard output. --sample picks the value of the
 * collapsed format (default inuse_space); pprof carries all four types and
 * text carries inuse and alloc.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "errors.h"
#include "outfile.h"
#include "pprof.h"
#include "report.h"
#include "units.h"

enum export_format { FMT_PPROF, FMT_COLLAPSED, FMT_TEXT };

static void usage(FILE *out)
{
	fputs("usage: leakwatch export PATH... --format pprof|collapsed|text -o FILE\n"
	      "                        [--snapshot SEQ] [--sample inuse_space|inuse_objects|"
	      "alloc_space|alloc_objects]\n"
	      "                        " LW_PROC_USAGE " " LW_MODEL_USAGE "\n", out);
}

static int write_format(const lw_profile *p, enum export_format f, enum lw_sample_type t,
			FILE *out)
{
	switch (f) {
	case FMT_PPROF:
		return lw_pprof_write(p, out);
	case FMT_COLLAPSED:
		return lw_export_collapsed(p, t, out);
	case FMT_TEXT:
		return lw_export_heap_text(p, out);
	}
	return -EINVAL;
}

/* Arguments of write_format for lw_out_publish. */
typedef struct export_job {
	const lw_profile *p;
	enum export_format f;
	enum lw_sample_type t;
} export_job;

static int write_job(FILE *out, void *arg)
{
	const export_job *j = arg;
	return write_format(j->p, j->f, j->t, out);
}

int lw_cmd_export(int argc, char **argv)
{
	enum { OPT_FORMAT = 256, OPT_SNAPSHOT, OPT_SAMPLE };
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "output", required_argument, NULL, 'o' },
		{ "snapshot", required_argument, NULL, OPT_SNAPSHOT },
		{ "sample", required_argument, NULL, OPT_SAMPLE },
		LW_MODEL_OPTIONS,
		LW_PROC_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int have_format = 0;
	enum export_format fmt = FMT_PPROF;
	enum lw_sample_type sample = LW_INUSE_SPACE;
	const char *output = NULL;
	int64_t seq = -1;
	lw_cmd_model model;
	memset(&model, 0, sizeof(model));
	lw_set_command("export");

	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			have_format = 1;
			if (!strcmp(optarg, "pprof"))
				fmt = FMT_PPROF;
			else if (!strcmp(optarg, "collapsed"))
				fmt = FMT_COLLAPSED;
			else if (!strcmp(optarg, "text"))
				fmt = FMT_TEXT;
			else {
				lw_error("--format '%s': expected pprof, collapsed or text", optarg);
				return 2;
			}
			break;
		case 'o':
			output = optarg;
			break;
		case OPT_SNAPSHOT:
			if (lw_args_seq("--snapshot", optarg, &seq))
				return 2;
			break;
		case OPT_SAMPLE:
			if (lw_args_sample(optarg, &sample))
				return 2;
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
	if (!have_format) {
		lw_error("missing --format pprof|collapsed|text");
		usage(stderr);
		return 2;
	}
	if (!output || !output[0]) {
		lw_error("missing -o FILE (use '-o -' for standard output)");
		usage(stderr);
		return 2;
	}
	if (optind >= argc) {
		lw_error("missing PATH (a .lwd file, a directory of them, or a database)");
		usage(stderr);
		return 2;
	}
	if (fmt == FMT_PPROF && !strcmp(output, "-") && isatty(STDOUT_FILENO)) {
		lw_error("'-o -': refusing to write a binary profile to a terminal");
		return 2;
	}

	lw_db *db = NULL;
	lw_model *m = NULL;
	lw_profile prof;
	lw_proc_choice proc;
	if (lw_cmd_open_profile(argv + optind, (size_t)(argc - optind), seq, &model, &db, &m, &proc,
				&prof))
		return 1;
	int status = 0;
	if (!strcmp(output, "-")) {
		int rc = write_format(&prof, fmt, sample, stdout);
		if (rc || fflush(stdout)) {
			lw_error("'-': cannot write: %s", strerror(rc ? -rc : EIO));
			status = 1;
		}
	} else {
		const char *step = "";
		export_job job = { &prof, fmt, sample };
		int rc = lw_out_publish(output, write_job, &job, &step);
		if (rc) {
			char why[256];
			lw_error("'%s': %s", output, lw_out_reason(rc, step, why, sizeof why));
			status = 1;
		}
	}
	lw_cmd_close(db, m, &prof);
	return status;
}
