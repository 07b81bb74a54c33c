/* selfmap.h — the running program's own module map, for test generators
 * that write synthetic .lwd files whose pcs are real addresses in their own
 * code (so the analyzer symbolizes them against real ELF/DWARF).
 *
 * selfmap_init() reads the main executable's PT_LOAD segments and build-id
 * (dl_iterate_phdr) once; the result describes module 0 for MODULES and
 * SEGMENTS. Not thread-safe (call once at start).
 */
#ifndef LW_SELFMAP_H
#define LW_SELFMAP_H

#include <stdint.h>

#include "lwd.h"

typedef struct selfmap {
	char exe[4096];
	lw_module_info mod;          /* path_str left for the caller */
	lw_segment_info segs[16];
	uint32_t n_segs;
} selfmap;

/* Returns 0, or -1 if the executable could not be described. */
int selfmap_init(selfmap *m);

/* Writes MODULES (one module, path string `path_str`) and SEGMENTS. */
void selfmap_write(lw_writer *w, const selfmap *m, uint32_t path_str);

#endif
