/* modmap.h — every ELF module this process has had loaded, with its PT_LOAD
 * segments and GNU build-id: the module map written into every file.
 *
 * Modules are never removed: a sampled stack may hold return addresses into
 * a library that was dlclose'd since, and the analyzer still needs to know
 * which file (and build-id) they belonged to. The map is refreshed (a
 * dl_iterate_phdr pass that adds unknown modules, keyed by load bias, path
 * and build-id) before every file is written and by the shim's dlclose()
 * wrapper BEFORE the real dlclose, so a module that is loaded and unloaded
 * between two snapshots is still recorded.
 *
 * Memory: lw_mem_map arrays and a path arena (never the program heap).
 * Lock: modmap_lock, FIRST in the fork lock order (fork.h). It is the only
 * shim lock held across dl_iterate_phdr (which takes the loader's lock), it
 * is never taken with another shim lock held, and the allocation paths never
 * take it, so a program thread that allocates inside its own
 * dl_iterate_phdr callback can never wait for it.
 */
#ifndef LW_MODMAP_H
#define LW_MODMAP_H

#include <stdint.h>

#define LW_MODMAP_SEGS 16      /* PT_LOAD segments kept per module */

struct lw_modmap_seg {
	uint32_t prot;             /* PF_R | PF_W | PF_X */
	uint64_t start, end, file_offset, file_size;
};

struct lw_modmap_entry {
	uint64_t load_bias, start, end;
	const char *path;          /* the exe's absolute path for the main program */
	int is_exe;
	uint32_t build_id_len;
	uint8_t build_id[64];
	uint32_t n_segs;
	struct lw_modmap_seg segs[LW_MODMAP_SEGS];
};

/* Adds modules loaded since the last refresh (nothing to walk when the
 * loader's load/unload counters have not moved). Takes modmap_lock; call
 * with no other shim lock held. Does nothing in a forked child (below). */
void lw_modmap_refresh(void);
/* The child of the program's fork() keeps the map it inherited, which the
 * fork prepare handler refreshed just before the fork, and never calls
 * dl_iterate_phdr: glibc re-initialises the loader's main lock in the child
 * but not the lock dl_iterate_phdr takes (dl_load_write_lock), so if another
 * thread of the parent was inside dlopen, dlclose or dl_iterate_phdr at the
 * fork, the child would wait for it forever (a child's exit() stuck in its
 * final snapshot). Modules the child loads itself are not added to its map:
 * their frames read as unknown. */
void lw_modmap_after_fork_child(void);
/* Calls fn for every module ever seen, in discovery order. locked = 1 takes
 * modmap_lock around the walk; 0 for a single-threaded forked child. */
void lw_modmap_foreach(int locked, void (*fn)(void *arg, const struct lw_modmap_entry *m),
		       void *arg);

void lw_modmap_lock(void);
void lw_modmap_unlock(void);
void lw_modmap_reinit(void);

#endif /* LW_MODMAP_H */
