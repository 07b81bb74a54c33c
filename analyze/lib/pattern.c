/* pattern.c — regcomp/regexec wrapper (pattern.h). */
#include "pattern.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- regex ----------------------------------------------------------------- */

struct lw_regex {
	regex_t re;
};

lw_regex *lw_regex_new(const char *pattern, char *err, size_t errlen)
{
	lw_regex *r = calloc(1, sizeof(*r));
	if (!r) {
		if (errlen)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	int rc = regcomp(&r->re, pattern ? pattern : "", REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		if (errlen) {
			char msg[256];
			regerror(rc, &r->re, msg, sizeof(msg));
			snprintf(err, errlen, "bad regular expression: %s", msg);
		}
		free(r);
		return NULL;
	}
	return r;
}

int lw_regex_match(const lw_regex *r, const char *text)
{
	return r && regexec(&r->re, text ? text : "", 0, NULL, 0) == 0;
}

void lw_regex_free(lw_regex *r)
{
	if (!r)
		return;
	regfree(&r->re);
	free(r);
}
