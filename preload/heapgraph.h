/* heapgraph.h — the heap graph of a full dump: thread capture in the parent,
 * conservative scan and the four graph sections in the forked child.
 *
 * Parent (the shim's writer thread, right before fork):
 *   lw_heapgraph_stop_threads() signals every other thread (tgkill over
 *   /proc/self/task with LW_HG_SIGNAL); each handler stores its registers and
 *   stack pointer in a preallocated slot, acknowledges and parks (futex) until
 *   lw_heapgraph_resume_threads() or at most LW_HG_PARK_MS, so the child sees
 *   each stack exactly as the registers describe it. A thread that does not
 *   acknowledge within LW_HG_ACK_MS (signal blocked, stuck in the kernel) is
 *   recorded without registers; its stack pointer is read from
 *   /proc/self/task/TID/syscall when it sits in a system call, and then its
 *   WHOLE stack mapping is scanned (LWD_THREADF_WHOLE_STACK); a thread
 *   running in user space with the signal blocked has no known stack and is
 *   recorded with an empty range. Never blocks longer than LW_HG_ACK_MS.
 *
 * Stack range of a captured thread: from sp minus the red zone to the top of
 * its stack, which for a glibc thread is the page end after the thread
 * pointer (struct pthread sits at the top of the stack mapping, below 4 KiB);
 * for the main thread, the end of [stack].
 *
 * Child: lw_heapgraph_write() scans roots (module data/bss regions given by
 *   the caller, thread stacks, registers) and every live block for aligned
 *   words pointing at or into live blocks (lw_heapwalk_find), and writes
 *   THREADS, HEAP_BLOCKS, ROOTS and HEAP_EDGES. Memory: mmap only, bounded
 *   (a 4 MiB target buffer plus the walker's tables); edges are streamed.
 *   Never writes memory contents: addresses, sizes and indices only.
 *   lw_heapgraph_write_types() then adds the optional HEAP_TYPES section:
 *   a block's first word when it is an address inside a loaded module (a C++
 *   vtable pointer), nothing else.
 */
#ifndef LW_HEAPGRAPH_H
#define LW_HEAPGRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "heapwalk.h"
#include "lwd.h"

#define LW_HG_MAX_THREADS 4096
#define LW_HG_ACK_MS 200          /* wait for all acknowledgements at most this */
#define LW_HG_PARK_MS 1000        /* a parked thread resumes by itself after this */
#define LW_HG_REDZONE 128         /* x86-64 SysV red zone below sp */

typedef struct lw_hg_thread {
	uint32_t tid, flags;          /* LWD_THREADF_* */
	uint64_t sp;                  /* 0 if unknown */
	uint64_t tp;                  /* thread pointer (%fs base); 0 if unknown */
	uint64_t stack_start, stack_end;   /* filled in the child */
	uint32_t n_regs;
	uint64_t regs[LWD_MAX_REGS];
	_Atomic int acked;            /* private to the capture */
} lw_hg_thread;

typedef struct lw_hg_threads {
	size_t n;
	lw_hg_thread t[LW_HG_MAX_THREADS];
} lw_hg_threads;

/* Parent. Captures every thread but the caller (recorded as
 * LWD_THREADF_DUMPER). `ts` must be zero-initialized, mmap'd storage.
 * Returns 0, or -errno if /proc/self/task cannot be read (then ts->n == 0).
 * Every call must be followed by lw_heapgraph_resume_threads(). */
int lw_heapgraph_stop_threads(lw_hg_threads *ts);
void lw_heapgraph_resume_threads(lw_hg_threads *ts);
/* Installs the capture signal handler (LW_HG_SIGNAL = SIGRTMAX - 3) unless
 * the program already handles that signal (then -EBUSY: threads are recorded
 * without registers). Idempotent; parent, outside malloc. */
int lw_heapgraph_install(void);

/* Optional: called in the signal handler of a captured thread; returning 0
 * means "do not park this thread" (the shim passes a function that is 0
 * while the thread is inside the shim and may hold a shim lock). Must be
 * async-signal-safe. */
typedef int (*lw_hg_may_park_fn)(void);
void lw_heapgraph_set_may_park(lw_hg_may_park_fn fn);

/* A region of globals to scan: a writable PT_LOAD segment of module `module`
 * (index into MODULES). The caller leaves out the shim and mimalloc. */
typedef struct lw_hg_region {
	uint32_t module;
	uint64_t start, end;
} lw_hg_region;

/* Memory that must never be scanned as a root even when it shares a
 * mapping with a root (the kernel merges adjacent anonymous mappings, e.g. a
 * thread stack with the shim's private tables): lw_mem_map regions. */
typedef struct lw_hg_range {
	uint64_t start, end;
} lw_hg_range;

/* A sampled live block as written in LIVE_BLOCKS: `live` is its index there. */
typedef struct lw_hg_sample {
	uint64_t addr;
	uint32_t live, stack;
} lw_hg_sample;

typedef struct lw_hg_stats {
	uint64_t blocks, block_bytes, edges, roots;
	uint64_t scanned_bytes;       /* roots + blocks */
	uint64_t walk_ns, scan_ns;
} lw_hg_stats;

/* Child. Writes the four sections in order THREADS, HEAP_BLOCKS, ROOTS,
 * HEAP_EDGES into w (no section may be open). Sorts `regions` and `samples`
 * in place. Returns 0 or the writer's -errno / -ENOMEM. */
int lw_heapgraph_write(lw_writer *w, const lw_heapwalk *hw, lw_hg_threads *ts,
		       lw_hg_region *regions, size_t n_regions,
		       lw_hg_range *exclude, size_t n_exclude,
		       lw_hg_sample *samples, size_t n_samples, lw_hg_stats *st);

/* Child, after lw_heapgraph_write. Writes the optional HEAP_TYPES section
 * (LWD_SECF_OPTIONAL): for every live block whose first word v lies inside
 * one of `modsegs` (the PT_LOAD segments of the loaded modules, any
 * permission: vtables live in read-only or RELRO data) and not inside a live
 * block, the record (block index, v) — for a C++ polymorphic object, its
 * vtable pointer, which the analyzer turns into a class name. Security: only
 * values that are addresses inside loaded ELF modules are written (already
 * implied by MODULES and SEGMENTS), never other heap contents. Sorts
 * `modsegs` in place; bounded memory (a 4 KiB stack buffer), records are
 * streamed. Sets *n_types (may be NULL). Returns 0 or the writer's -errno. */
int lw_heapgraph_write_types(lw_writer *w, const lw_heapwalk *hw,
			     lw_hg_range *modsegs, size_t n_modsegs, uint64_t *n_types);

#endif /* LW_HEAPGRAPH_H */
