/* symbols.h — offline symbolization with elfutils libdwfl.
 *
 * A session is built from one file's module map (lw_file modules and
 * segments). For each module it opens the ELF file at the recorded path,
 * checks its GNU build-id against the recorded one (a mismatch or a missing
 * file is reported once per module through lw_sym_problems, never silently
 * mis-symbolized: such a module's pcs resolve to "??" with the module name),
 * and uses debuginfod when DEBUGINFOD_URLS is set. A module not usable at its
 * path but with a recorded build-id is looked up by build-id first (found
 * files are verified and the outcome is also in lw_sym_problems).
 * LEAKWATCH_DEBUGINFO_PATH overrides libdwfl's debug search path.
 *
 * lw_sym_resolve returns the inline chain for one pc, innermost first:
 * the inlined callee frames, then the containing function. Function names
 * are demangled. Results are memoized per session.
 */
#ifndef LW_SYMBOLS_H
#define LW_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

#include "lwd.h"

typedef struct lw_sym_session lw_sym_session;

typedef struct lw_sym_result {
	const char *function;   /* never NULL; "??" if unknown */
	const char *file;       /* never NULL; "" if unknown */
	int line;               /* 0 if unknown */
	const char *module;     /* path of the module, never NULL ("??" if none) */
	const char *build_id_hex; /* never NULL */
	uint64_t module_offset; /* pc relative to the module's load bias */
	int inlined;            /* 1 if inlined into the next (outer) frame */
} lw_sym_result;

lw_sym_session *lw_sym_session_new(const lw_file *f);
void lw_sym_session_free(lw_sym_session *s);

/* Resolves `pc`. `is_return_address` makes it look up pc-1 (every stack
 * frame in a .lwd file is a return address). Fills at most max results,
 * innermost first, and returns how many (>= 1). Strings stay valid until
 * the session is freed. */
size_t lw_sym_resolve(lw_sym_session *s, uint64_t pc, int is_return_address,
		      lw_sym_result *out, size_t max);

/* Looks up the ELF symbol (function or object) containing `addr`, as the
 * heap-graph root attribution and the vtable class-name lookup need.
 * Returns the demangled name or NULL. */
const char *lw_sym_data_symbol(lw_sym_session *s, uint64_t addr, uint64_t *sym_start);

/* The word at `addr` inside a global, named by its member path from the
 * module's DWARF: "server.db", "g_table[3]", "g_cfg.slots[2].head" (the
 * ELF symbol's demangled name, then the path; "+0xN" for what DWARF does
 * not break down). 0, or -1 without DWARF for that variable. */
int lw_sym_data_field(lw_sym_session *s, uint64_t addr, char *buf, size_t len);

/* Problems found so far, one line each ("libfoo.so: build-id mismatch ..."). */
size_t lw_sym_problems(const lw_sym_session *s, const char *const **lines);

/* True if a symbolized frame belongs to the allocator or the shim and must be
 * removed from the top of a site (malloc, operator new, mi_*, lw_*, libleakwatch). */
int lw_sym_is_allocator_frame(const char *function, const char *module);

#endif
