/* progress.c — terminal progress bar (progress.h). */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* ---- progress --------------------------------------------------------------- */

struct lw_progress {
	char what[64];
	size_t total;
	int tty;
	double last;             /* monotonic seconds of the last redraw */
	int drawn;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

lw_progress *lw_progress_new(const char *what, size_t total)
{
	lw_progress *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	snprintf(p->what, sizeof(p->what), "%s", what ? what : "");
	p->total = total;
	p->tty = isatty(STDERR_FILENO);
	p->last = -1;
	return p;
}

void lw_progress_update(lw_progress *p, size_t done)
{
	if (!p || !p->tty)
		return;
	double t = now_s();
	if (p->drawn && t - p->last < 0.1 && done < p->total)
		return;
	p->last = t;
	p->drawn = 1;
	const int bar = 30;
	int fill = p->total ? (int)((double)done / (double)p->total * bar) : bar;
	if (fill > bar)
		fill = bar;
	char line[128];
	int k = 0;
	for (; k < fill; k++)
		line[k] = '#';
	for (; k < bar; k++)
		line[k] = '.';
	line[k] = '\0';
	fprintf(stderr, "\r%s [%s] %zu/%zu", p->what, line, done, p->total);
	fflush(stderr);
}

void lw_progress_done(lw_progress *p)
{
	if (!p)
		return;
	if (p->tty && p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	free(p);
}
