/* pattern.h — POSIX extended regular expressions for --focus, --site and
 * --wrapper, matched anywhere in a text (no anchors implied).
 */
#ifndef LW_PATTERN_H
#define LW_PATTERN_H

#include <stddef.h>

typedef struct lw_regex lw_regex;
/* NULL with a message in err on a bad pattern or ENOMEM. */
lw_regex *lw_regex_new(const char *pattern, char *err, size_t errlen);
int lw_regex_match(const lw_regex *r, const char *text);
void lw_regex_free(lw_regex *r);

#endif
