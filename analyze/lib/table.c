/* table.c — aligned text table (table.h). An allocation failure drops
 * the cell or column concerned (output is for people, never parsed), so
 * no caller has an error path to test.
 */
#include "table.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "text.h"

/* ---- table ---------------------------------------------------------------- */

struct lw_table {
	size_t n_cols;
	char **titles;
	int *right;
	char **cells;            /* row-major */
	size_t n_cells, cap_cells;
};

lw_table *lw_table_new(void)
{
	return calloc(1, sizeof(lw_table));
}

void lw_table_col(lw_table *t, const char *title, int right_align)
{
	if (!t)
		return;
	char **nt = realloc(t->titles, (t->n_cols + 1) * sizeof(*nt));
	if (!nt)
		return;
	t->titles = nt;
	int *nr = realloc(t->right, (t->n_cols + 1) * sizeof(*nr));
	if (!nr)
		return;
	t->right = nr;
	t->titles[t->n_cols] = strdup(title ? title : "");
	t->right[t->n_cols] = right_align;
	t->n_cols++;
}

void lw_table_cell(lw_table *t, const char *text)
{
	if (!t || t->n_cols == 0)
		return;
	if (t->n_cells == t->cap_cells) {
		size_t ncap = t->cap_cells ? t->cap_cells * 2 : 64;
		char **n = realloc(t->cells, ncap * sizeof(*n));
		if (!n)
			return;
		t->cells = n;
		t->cap_cells = ncap;
	}
	t->cells[t->n_cells++] = strdup(text ? text : "");
}

static void put_cell(FILE *out, const char *text, size_t width, int right, int last,
		     size_t limit)
{
	const char *s = text ? text : "";
	size_t w = lw_text_width(s);
	if (limit && w > limit) {
		/* Truncate with an ellipsis marker so the cut is visible. */
		size_t keep = limit > 3 ? limit - 3 : limit;
		fwrite(s, 1, lw_text_prefix(s, keep), out);
		if (limit > 3)
			fputs("...", out);
		return;
	}
	if (right)
		for (size_t i = w; i < width; i++)
			fputc(' ', out);
	fputs(s, out);
	if (!right && !last)
		for (size_t i = w; i < width; i++)
			fputc(' ', out);
}

void lw_table_print(lw_table *t, FILE *out, int width)
{
	if (!t || t->n_cols == 0)
		return;
	size_t nc = t->n_cols;
	size_t n_rows = (t->n_cells + nc - 1) / nc;
	size_t *w = calloc(nc, sizeof(*w));
	if (!w)
		return;
	for (size_t c = 0; c < nc; c++)
		w[c] = lw_text_width(t->titles[c] ? t->titles[c] : "");
	for (size_t i = 0; i < t->n_cells; i++) {
		size_t tw = lw_text_width(t->cells[i] ? t->cells[i] : "");
		if (tw > w[i % nc])
			w[i % nc] = tw;
	}
	/* Columns are separated by two spaces; the last column gets what is
	 * left of `width` (at least 12 columns, or it is not truncated). */
	size_t offset_last = 0;
	for (size_t c = 0; c + 1 < nc; c++)
		offset_last += w[c] + 2;
	size_t limit = 0;
	if (width > 0 && !t->right[nc - 1] && offset_last + w[nc - 1] > (size_t)width &&
	    offset_last + 12 <= (size_t)width)
		limit = (size_t)width - offset_last;
	for (size_t r = 0; r <= n_rows; r++) {
		for (size_t c = 0; c < nc; c++) {
			const char *text;
			if (r == 0) {
				text = t->titles[c];
			} else {
				size_t i = (r - 1) * nc + c;
				text = i < t->n_cells ? t->cells[i] : "";
			}
			int last = c + 1 == nc;
			put_cell(out, text, w[c], t->right[c], last, last ? limit : 0);
			if (!last)
				fputs("  ", out);
		}
		fputc('\n', out);
	}
	free(w);
}

void lw_table_free(lw_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_cols; i++)
		free(t->titles[i]);
	for (size_t i = 0; i < t->n_cells; i++)
		free(t->cells[i]);
	free(t->titles);
	free(t->right);
	free(t->cells);
	free(t);
}

int lw_term_width(void)
{
	struct winsize ws;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}
