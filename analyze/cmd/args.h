/* args.h — what the subcommands share besides their own options: the
 * getopt error tail. */
#ifndef LW_ARGS_H
#define LW_ARGS_H

#include <stdio.h>

/* The common tail of a command's getopt_long switch: for ':' (an option
 * without its argument) prints "'<opt>': missing argument"; for anything
 * else "'<opt>': unknown option" and the usage on stderr. Returns 2, the
 * usage-error exit status. */
int lw_opt_error(int c, char *const *argv, int next_arg, void (*usage)(FILE *out));

#endif
