/* args.h — what the subcommands share besides their own options: the
 * getopt error tail, the site-model options (--wrapper, --no-wrappers), the
 * process options (--pid, --exe), opening PATH arguments as a model with
 * errors and progress on the terminal, and choosing the process shown. Library code below cmd/ never prints; these functions do, once,
 * through lw_error.
 */
#ifndef LW_ARGS_H
#define LW_ARGS_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "db.h"
#include "model.h"

/* The common tail of a command's getopt_long switch: for ':' (an option
 * without its argument) prints "'<opt>': missing argument"; for anything
 * else "'<opt>': unknown option" and the usage on stderr. Returns 2, the
 * usage-error exit status. */
int lw_opt_error(int c, char *const *argv, int next_arg, void (*usage)(FILE *out));

/* Option values shared by several commands. Each prints the usage error
 * ("-n 'x': expected a positive count") and returns 2, or returns 0. */
int lw_args_count(const char *opt, const char *arg, uint64_t *out);        /* -n N */
int lw_args_sample(const char *arg, enum lw_sample_type *out);             /* --sample */
int lw_args_seq(const char *opt, const char *arg, int64_t *out);          /* --snapshot SEQ */

/* ---- --wrapper REGEX (repeatable), --no-wrappers ---------------------------- */
#define LW_MAX_WRAPPER_PATTERNS 32
enum { LW_OPT_WRAPPER = 0x200, LW_OPT_NO_WRAPPERS, LW_OPT_PID, LW_OPT_EXE };
#define LW_MODEL_OPTIONS \
	{ "wrapper", required_argument, NULL, LW_OPT_WRAPPER }, \
	{ "no-wrappers", no_argument, NULL, LW_OPT_NO_WRAPPERS }
#define LW_MODEL_USAGE "[--wrapper REGEX] [--no-wrappers]"

/* ---- --pid PID, --exe NAME: which process a report shows ---------------------- */
#define LW_PROC_OPTIONS \
	{ "pid", required_argument, NULL, LW_OPT_PID }, \
	{ "exe", required_argument, NULL, LW_OPT_EXE }
#define LW_PROC_USAGE "[--pid PID] [--exe NAME]"
/* The lines of --help that explain them. */
#define LW_PROC_HELP \
	"  --pid PID     the process with this pid (default: the watched one, the\n" \
	"                process `leakwatch run` started, followed across exec)\n" \
	"  --exe NAME    the process started as NAME, or whose executable is NAME\n"

typedef struct lw_cmd_model {
	lw_model_opts opts;
	const char *patterns[LW_MAX_WRAPPER_PATTERNS];
	lw_proc_filter proc;     /* --pid, --exe */
} lw_cmd_model;

/* Handles c when it is one of LW_MODEL_OPTIONS or LW_PROC_OPTIONS: returns
 * 1 (handled), 0 (not one of them) or 2 (usage error, printed). */
int lw_args_model_option(int c, const char *arg, lw_cmd_model *mo);
/* The `default:` of a command's option switch: a model option (returns 0),
 * else the getopt error (lw_opt_error; returns 2). */
int lw_args_other(int c, char *const *argv, lw_cmd_model *mo, void (*usage)(FILE *out));

/* ---- inputs ---------------------------------------------------------------------- */

/* Loads PATH arguments into their store (lw_db_open_inputs) with bad files
 * and warnings on stderr and a progress bar on a terminal, then opens the
 * model. Returns 0, or 1 after printing the error. */
int lw_cmd_open(char *const *paths, size_t n_paths, const lw_model_opts *opts, lw_db **db,
		lw_model **m);
/* The process a report of PATH arguments shows (lw_model_choose_process
 * with --pid / --exe from mo, which may be NULL), with the inputs named
 * for its "also in" line. Returns 0, or 1 after printing the error. */
int lw_cmd_choose(lw_model *m, char *const *paths, size_t n_paths, const lw_cmd_model *mo,
		  lw_proc_choice *out);
/* lw_cmd_open and lw_cmd_choose, then the profile of snapshot `seq` (< 0:
 * the latest before teardown) of that process; out->proc points to choice.
 * mo may be NULL (defaults). Returns 0, or 1 after printing the error. */
int lw_cmd_open_profile(char *const *paths, size_t n_paths, int64_t seq,
			const lw_cmd_model *mo, lw_db **db, lw_model **m, lw_proc_choice *choice,
			lw_profile *out);
/* Frees what lw_cmd_open* opened (any of them may be NULL). */
void lw_cmd_close(lw_db *db, lw_model *m, lw_profile *p);

/* Reporting and progress callbacks of the store for commands that load
 * themselves (`leakwatch load`): lines on stderr, a bar on a terminal. */
typedef struct lw_cmd_load_ui {
	struct lw_progress *bar;
	const char *what;        /* "loading" */
} lw_cmd_load_ui;
void lw_cmd_notice(const char *path, const char *message, void *arg);
void lw_cmd_progress(size_t done, size_t total, void *arg);
void lw_cmd_load_ui_done(lw_cmd_load_ui *ui);

#endif
