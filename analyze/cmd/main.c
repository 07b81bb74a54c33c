/* main.c — `leakwatch <command> [args]`: dispatches to one function per
 * subcommand (commands.h). Exit status: 0 success, 1 error, 2 usage error,
 * 3 `growth --fail-on-leak` found a leak.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "errors.h"

#ifndef LW_VERSION
#define LW_VERSION "unknown"
#endif

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *synopsis;
} commands[] = {
	{ "run", lw_cmd_run, "run [-o DIR] [--rate N] [--interval S] -- CMD ARGS..." },
	{ "snapshot", lw_cmd_snapshot, "snapshot [--timeout S] PID" },
	{ "load", lw_cmd_load, "load DB PATH..." },
	{ "top", lw_cmd_top, "top PATH [-n N] [--sample TYPE] [--cum] [--focus RE] [--json]" },
	{ "diff", lw_cmd_diff, "diff T1 T2 [-n N] [--json]" },
	{ "growth", lw_cmd_growth, "growth PATH... [-n N] [--fail-on-leak] [--json]" },
	{ "retainers", lw_cmd_retainers, "retainers DUMP [--site PATTERN] [-o FILE.dot|FILE.svg]" },
	{ "export", lw_cmd_export, "export PATH --format pprof|collapsed|text -o FILE" },
	{ "report", lw_cmd_report, "report PATH... [-o FILE.html] [--dump DUMP] [--base SNAPSHOT]" },
	{ "sql", lw_cmd_sql, "sql [--json] DB QUERY" },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: leakwatch <command> [args]\n"
		"\n"
		"Finds memory leaks in native programs run under LD_PRELOAD=libleakwatch.so.\n"
		"PATH is a .lwd file, a directory of them, or a database made by `load`.\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  leakwatch %s\n", commands[i].synopsis);
	fprintf(out,
		"\n"
		"  leakwatch --help       this text\n"
		"  leakwatch --version    the version\n"
		"Each command takes --help.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("leakwatch %s\n", LW_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(cmd, commands[i].name) == 0) {
			lw_set_command(cmd);
			return commands[i].fn(argc - 1, argv + 1);
		}
	}
	lw_error("unknown command '%s' (see leakwatch --help)", cmd);
	return 2;
}
