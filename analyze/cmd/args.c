/* args.c — argument handling shared by the subcommands (args.h). */
#include "args.h"

#include "errors.h"

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
