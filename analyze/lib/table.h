/* table.h — an aligned text table for people: columns (numbers
 * right-aligned), rows of cells, printed with widths counted in UTF-8 code
 * points; the last column is cut with "..." to fit a terminal width.
 */
#ifndef LW_TABLE_H
#define LW_TABLE_H

#include <stdio.h>

typedef struct lw_table lw_table;
/* NULL when memory is exhausted; every function accepts NULL (no-op). */
lw_table *lw_table_new(void);
void lw_table_col(lw_table *t, const char *title, int right_align);
void lw_table_cell(lw_table *t, const char *text);  /* fills the next cell, row by row */
/* Prints titles and rows; `width` 0 = no limit. */
void lw_table_print(lw_table *t, FILE *out, int width);
void lw_table_free(lw_table *t);
/* Terminal width of stdout, or 80 if not a terminal / unknown. */
int lw_term_width(void);

#endif
