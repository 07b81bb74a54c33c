/* errors.c — the error line of commands and the message-buffer helper of
 * library code (errors.h). The command name is process-wide state set once
 * by main before a command runs.
 */
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>

static char command_name[64];

void lw_set_command(const char *name)
{
	snprintf(command_name, sizeof(command_name), "%s", name ? name : "");
}

void lw_error(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One line, and no terminal control sequences from file contents
	 * (paths and names in messages come from untrusted files). */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = *p == '\n' || *p == '\t' ? ' ' : '?';
	if (command_name[0])
		fprintf(stderr, "leakwatch %s: %s\n", command_name, msg);
	else
		fprintf(stderr, "leakwatch: %s\n", msg);
}

int lw_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}
