/* root_globals.c — blocks kept alive by module data and bss (see
 * roots_common.h for the checkpoint and naming rules).
 *   keep_exe_bss   4001 B  held by g_exe_keep (.bss of the executable)
 *   keep_exe_data  4003 B  held by g_exe_data (.data of the executable)
 *   keep_lib_bss   4005 B  held by g_table[2] (.bss of librootlib.so)
 *   keep_lib_data  4007 B  held by g_lib_data (.data of librootlib.so)
 *   drop_globals   4009 B  x3, pointers overwritten: lost
 */
#include "roots_common.h"

void rootlib_keep(void *bss, void *data);

void *g_exe_keep;
void *g_exe_data = &g_exe_keep;

LW_APP_NOINLINE static void *keep_exe_bss(void) { return roots_block(malloc(4001), 4001); }
LW_APP_NOINLINE static void *keep_exe_data(void) { return roots_block(malloc(4003), 4003); }
LW_APP_NOINLINE static void *keep_lib_bss(void) { return roots_block(malloc(4005), 4005); }
LW_APP_NOINLINE static void *keep_lib_data(void) { return roots_block(malloc(4007), 4007); }
LW_APP_NOINLINE static void drop_globals(void)
{
	for (int i = 0; i < 3; i++)
		roots_drop(roots_block(malloc(4009), 4009));
}

LW_APP_NOINLINE static void setup(void)
{
	g_exe_keep = keep_exe_bss();
	g_exe_data = keep_exe_data();
	rootlib_keep(keep_lib_bss(), keep_lib_data());
	drop_globals();
}

int main(void)
{
	setup();
	roots_scrub();
	roots_tid("main");
	roots_checkpoint();
	_exit(0);
}
