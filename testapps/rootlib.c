/* rootlib.c — librootlib.so, linked by root_globals: a shared library whose
 * .bss and .data hold the only pointers to blocks the program allocated, so
 * those blocks are kept alive by another module's globals.
 * Invariant: nothing else in the library points into the heap. */
void rootlib_keep(void *bss, void *data);

void *g_table[4];                  /* .bss */
void *g_lib_data = &g_table[0];    /* .data (initialized, then overwritten) */

void rootlib_keep(void *bss, void *data)
{
	g_table[2] = bss;
	g_lib_data = data;
}
