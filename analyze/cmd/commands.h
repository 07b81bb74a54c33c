/* commands.h — one function per `leakwatch` subcommand, one file each
 * (cmd_<name>.c). main.c dispatches on argv[1] and passes the remaining
 * arguments (argv[0] is the subcommand name). Each returns the process exit
 * status: 0 success, 1 error (after printing one line to stderr:
 * "leakwatch <cmd>: '<file or arg>': what is wrong"), 2 usage error,
 * 3 reserved for `growth --fail-on-leak` finding a leak.
 */
#ifndef LW_COMMANDS_H
#define LW_COMMANDS_H

int lw_cmd_run(int argc, char **argv);
int lw_cmd_snapshot(int argc, char **argv);
int lw_cmd_load(int argc, char **argv);
int lw_cmd_top(int argc, char **argv);
int lw_cmd_diff(int argc, char **argv);
int lw_cmd_growth(int argc, char **argv);
int lw_cmd_retainers(int argc, char **argv);
int lw_cmd_export(int argc, char **argv);
int lw_cmd_report(int argc, char **argv);
int lw_cmd_sql(int argc, char **argv);

#endif
