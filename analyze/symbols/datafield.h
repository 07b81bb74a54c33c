/* datafield.h — member paths of addresses inside global variables, from
 * DWARF (datafield.c): "server.db", "g_table[3]". Used by symbols.c, which
 * owns the per-module index; the public entry is lw_sym_data_field
 * (symbols.h).
 */
#ifndef LW_DATAFIELD_H
#define LW_DATAFIELD_H

#include <stddef.h>
#include <elfutils/libdwfl.h>

typedef struct lw_df_index lw_df_index;

/* The statically placed variables of mod's DWARF, or NULL (no DWARF, no
 * such variable, out of memory). */
lw_df_index *lw_df_index_build(Dwfl_Module *mod);
void lw_df_index_free(lw_df_index *ix);

/* Writes name followed by the member path of file address addr inside the
 * variable that starts at file address start ("name.field[2]"; "+0xN" for
 * what DWARF does not break down). 0, or -1 when DWARF describes no
 * variable at start containing addr. */
int lw_df_path(const lw_df_index *ix, Dwarf_Addr addr, Dwarf_Addr start, const char *name,
	       char *buf, size_t len);

#endif
