/* args.c — argument handling and input opening shared by the subcommands
 * (args.h). The only place where loading prints: bad files and
 * symbolization warnings as "leakwatch <cmd>: ..." lines, the progress bar
 * erased before each so they never share a line.
 */
#include "args.h"

#include <inttypes.h>
#include <string.h>

#include "errors.h"
#include "progress.h"
#include "report.h"
#include "units.h"

int lw_opt_error(int c, char *const *argv, int next_arg, void (*usage)(FILE *out))
{
	if (c == ':') {
		lw_error("'%s': missing argument", argv[next_arg - 1]);
		return 2;
	}
	lw_error("'%s': unknown option", argv[next_arg - 1]);
	usage(stderr);
	return 2;
}

int lw_args_count(const char *opt, const char *arg, uint64_t *out)
{
	if (lw_parse_u64(arg, out) == 0 && *out > 0)
		return 0;
	lw_error("%s '%s': expected a positive count", opt, arg);
	return 2;
}

int lw_args_sample(const char *arg, enum lw_sample_type *out)
{
	int t = lw_sample_type_parse(arg);
	if (t >= 0) {
		*out = (enum lw_sample_type)t;
		return 0;
	}
	lw_error("--sample '%s': expected inuse_space, inuse_objects, alloc_space or "
		 "alloc_objects", arg);
	return 2;
}

int lw_args_seq(const char *opt, const char *arg, int64_t *out)
{
	uint64_t s;
	if (lw_parse_u64(arg, &s) == 0 && s <= INT64_MAX) {
		*out = (int64_t)s;
		return 0;
	}
	lw_error("%s '%s': expected a sequence number", opt, arg);
	return 2;
}

int lw_args_other(int c, char *const *argv, lw_cmd_model *mo, void (*usage)(FILE *out))
{
	int r = lw_args_model_option(c, optarg, mo);
	if (r == 1)
		return 0;
	return r == 2 ? 2 : lw_opt_error(c, argv, optind, usage);
}

int lw_args_model_option(int c, const char *arg, lw_cmd_model *mo)
{
	if (c == LW_OPT_PID) {
		uint64_t pid;
		if (lw_parse_u64(arg, &pid) < 0 || pid == 0 || pid > INT32_MAX) {
			lw_error("--pid '%s': expected a process id", arg);
			return 2;
		}
		mo->proc.pid = (int64_t)pid;
		return 1;
	}
	if (c == LW_OPT_EXE) {
		if (!*arg || strchr(arg, '/')) {
			lw_error("--exe '%s': expected a program name (no '/')", arg);
			return 2;
		}
		mo->proc.name = arg;
		return 1;
	}
	if (c == LW_OPT_NO_WRAPPERS) {
		mo->opts.no_wrappers = 1;
		return 1;
	}
	if (c != LW_OPT_WRAPPER)
		return 0;
	if (mo->opts.n_wrappers == LW_MAX_WRAPPER_PATTERNS) {
		lw_error("--wrapper '%s': at most %d patterns", arg, LW_MAX_WRAPPER_PATTERNS);
		return 2;
	}
	mo->patterns[mo->opts.n_wrappers++] = arg;
	mo->opts.wrappers = mo->patterns;
	return 1;
}

/* ---- loading on a terminal ---------------------------------------------------------- */

void lw_cmd_notice(const char *path, const char *message, void *arg)
{
	lw_cmd_load_ui *ui = arg;
	if (ui && ui->bar) {   /* keep the bar from overwriting the message */
		lw_progress_done(ui->bar);
		ui->bar = NULL;
	}
	if (strncmp(message, "warning: ", 9) == 0)
		lw_error("%s", message);
	else
		lw_error("'%s': %s", path, message);
}

void lw_cmd_progress(size_t done, size_t total, void *arg)
{
	lw_cmd_load_ui *ui = arg;
	if (!ui->bar)
		ui->bar = lw_progress_new(ui->what ? ui->what : "loading", total);
	lw_progress_update(ui->bar, done);
}

void lw_cmd_load_ui_done(lw_cmd_load_ui *ui)
{
	lw_progress_done(ui->bar);
	ui->bar = NULL;
}

/* ---- opening inputs ------------------------------------------------------------------ */

int lw_cmd_open(char *const *paths, size_t n_paths, const lw_model_opts *opts, lw_db **db,
		lw_model **m)
{
	char err[1024];
	lw_cmd_load_ui ui = { NULL, "loading" };
	*db = NULL;
	*m = NULL;
	int rc = lw_db_open_inputs(paths, n_paths, lw_cmd_notice, lw_cmd_progress, &ui, db, err,
				   sizeof(err));
	lw_cmd_load_ui_done(&ui);
	if (rc < 0) {
		lw_error("%s", err);
		return 1;
	}
	if (lw_model_open(*db, opts, m, err, sizeof(err)) < 0) {
		lw_error("%s", err);
		lw_db_close(*db);
		*db = NULL;
		return 1;
	}
	return 0;
}

int lw_cmd_choose(lw_model *m, char *const *paths, size_t n_paths, const lw_cmd_model *mo,
		  lw_proc_choice *out)
{
	char err[1024];
	if (lw_model_choose_process(m, mo ? &mo->proc : NULL, out, err, sizeof(err)) < 0) {
		lw_error("%s", err);
		return 1;
	}
	snprintf(out->where, sizeof(out->where), "%s%s", n_paths ? paths[0] : "",
		 n_paths > 1 ? " \u2026" : "");
	return 0;
}

int lw_cmd_open_profile(char *const *paths, size_t n_paths, int64_t seq,
			const lw_cmd_model *mo, lw_db **db, lw_model **m, lw_proc_choice *choice,
			lw_profile *out)
{
	memset(out, 0, sizeof(*out));
	if (lw_cmd_open(paths, n_paths, mo ? &mo->opts : NULL, db, m))
		return 1;
	char err[1024];
	int64_t id = -1;
	int rc = -1;
	if (lw_cmd_choose(*m, paths, n_paths, mo, choice) == 0) {
		id = lw_report_pick_snapshot(*m, choice->process_id, seq, err, sizeof(err));
		if (id < 0)
			lw_error("%s", err);
		else if ((rc = lw_model_profile(*m, id, out)) < 0)
			lw_error("'%s': cannot read snapshot %" PRId64, (*db)->path, id);
	}
	if (rc < 0) {
		lw_cmd_close(*db, *m, NULL);
		*db = NULL;
		*m = NULL;
		return 1;
	}
	out->proc = choice;
	return 0;
}

void lw_cmd_close(lw_db *db, lw_model *m, lw_profile *p)
{
	if (p)
		lw_profile_free(p);
	lw_model_close(m);
	lw_db_close(db);
}
