/* progress.h — a progress bar on stderr when stderr is a terminal, silent
 * otherwise (so logs and tests see no control characters). Redrawn at most
 * ten times a second. Only commands draw one.
 */
#ifndef LW_PROGRESS_H
#define LW_PROGRESS_H

#include <stddef.h>

typedef struct lw_progress lw_progress;
/* NULL when memory is exhausted; the other calls accept NULL. */
lw_progress *lw_progress_new(const char *what, size_t total);
void lw_progress_update(lw_progress *p, size_t done);
/* Erases the bar (if drawn) and frees it. */
void lw_progress_done(lw_progress *p);

#endif
