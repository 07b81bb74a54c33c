/* snapshot.h — capturing the shim's state and writing it as a .lwd file.
 *
 * A file is made in two phases so that no table lock is held during I/O:
 *   1. capture: copy what the file needs into a private lw_mem_map'd
 *      struct lw_snap (process figures, module map with build-ids, the
 *      counters of every stack with samples, and for dumps the live blocks).
 *      Stacks themselves are not copied: published stack entries are
 *      immutable, so they are read from the table while writing.
 *   2. publish: stream the sections through dump/lwd.h's lw_publish
 *      (temporary name, fsync, rename, fsync dir) into the output directory.
 *
 * Reuse from a forked child (the heap-graph dump): the capture is split in
 * three calls. lw_snap_add_modules() uses dl_iterate_phdr, which takes the
 * dynamic loader's lock: call it in the PARENT before forking.
 * lw_snap_add_tables(s, LW_SNAP_NOLOCK) reads the tables without locks and is
 * meant for the single-threaded child of a fork made while the parent held
 * every shim lock (lw_fork_lock_all, fork.h). lw_snap_publish() takes no
 * lock, allocates nothing from the program heap, and accepts an `extra`
 * callback that appends more sections (the heap graph) before END.
 *
 * Locks: lw_snap_io_lock() serialises whole file writes (output directory
 * state, sequence numbers). It is NOT part of the fork lock order (a fork
 * must not wait for an fsync); a forked child re-initialises it.
 */
#ifndef LW_SNAPSHOT_H
#define LW_SNAPSHOT_H

#include <stdint.h>

#include "lwd.h"

struct lw_snap;

#define LW_SNAP_LOCKED 0
#define LW_SNAP_NOLOCK 1

/* A new, empty capture: process figures taken now. NULL if out of memory. */
struct lw_snap *lw_snap_new(uint32_t kind, uint32_t reason);
/* Module map + segments + build-ids (dl_iterate_phdr). 0 or -errno. */
int lw_snap_add_modules(struct lw_snap *s);
/* Counters (and live blocks for LWD_KIND_DUMP). 0 or -errno. */
int lw_snap_add_tables(struct lw_snap *s, int nolock);
/* All three in one: what the writer thread uses. */
struct lw_snap *lw_snap_capture(uint32_t kind, uint32_t reason);
void lw_snap_free(struct lw_snap *s);

/* The I/O functions lw_snap_publish uses: the real syscalls, except for the
 * final snapshot of a very short process (writer.c). */
extern const lw_io *lw_snap_io;

typedef int (*lw_snap_extra_fn)(lw_writer *w, void *arg);
/* Writes the capture as file `name` in dirfd with sequence number seq.
 * 0 or -errno; *step names the failing step. */
int lw_snap_publish(struct lw_snap *s, int dirfd, const char *name, uint64_t seq,
		    lw_snap_extra_fn extra, void *arg, const char **step);

/* Read-only views of a capture for the heap-graph dump (preload/heapdump.c):
 * the module and segment tables in MODULES/SEGMENTS order, and the live
 * blocks in LIVE_BLOCKS order
 * (valid after lw_snap_add_tables). Each returns the count. */
struct lw_live;
uint32_t lw_snap_modules(const struct lw_snap *s, const lw_module_info **mods);
uint32_t lw_snap_segments(const struct lw_snap *s, const lw_segment_info **segs);
size_t lw_snap_live(const struct lw_snap *s, const struct lw_live **live);

/* "snap-NNNNNN.lwd" / "dump-NNNNNN.lwd" */
void lw_snap_name(uint32_t kind, uint64_t seq, char *buf, size_t cap);

/* The whole job for one file: lock, output dir, capture, publish, sequence,
 * one warning on failure. Returns 0 or -errno. Writer thread or exiting
 * thread, guard held. */
int lw_snap_write(uint32_t kind, uint32_t reason);

void lw_snap_io_lock(void);
void lw_snap_io_unlock(void);
void lw_snap_io_reinit(void);   /* fork child */

/* Identity of this process run (set by the constructor, changed in a forked
 * child). */
struct lw_run_info {
	uint64_t run_id, parent_run_id;
	uint64_t start_wall_ns, start_mono_ns;
	uint32_t exit_status;    /* for the exit snapshot: LWD_EXIT_STATUS_KNOWN | status, or 0 */
};
extern struct lw_run_info lw_run;

#endif /* LW_SNAPSHOT_H */
