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
 * The dump child is made by lw_heapgraph_clone(): a fork the application
 * cannot see (no SIGCHLD, not reapable by wait/waitpid(-1), no atfork
 * handlers, nothing of glibc's fork bookkeeping; see heapgraph.c).
 *
 * Roots of a thread (x86-64 glibc, TLS_TCB_AT_TP: the thread pointer tp is
 * the address of the thread descriptor, struct pthread; the static TLS
 * blocks lie just below it):
 *   TLS       [tp + tcb_size - static_size, tp + tcb_size): static TLS of
 *             every module and the descriptor, for every thread, the main
 *             thread included (its block is ld.so's own allocation, outside
 *             any stack); plus the dynamic-TLS vector (DTV) when it is not a
 *             heap block (the main thread's initial one). A DTV that is a
 *             heap block, and the dynamic TLS blocks of dlopen'd modules,
 *             are heap blocks reached through these words.
 *   SPECIFIC  the pthread_setspecific slots inside the descriptor
 *             (specific_1stblock, and specific[], whose entries point to the
 *             calloc'd second-level blocks).
 *   THREAD_ARG  the start argument pthread_create stored in the descriptor.
 *   STACK     the thread's own stack: the main thread's [stack]; another
 *             thread's stack mapping (or the heap block given to
 *             pthread_attr_setstack) below its static TLS. From sp minus the
 *             red zone to the top when sp lies in it; all of it when the
 *             thread runs on another stack (swapcontext, sigaltstack) or was
 *             not captured, as LeakSanitizer does (an uncaptured thread
 *             outside a system call has no known sp: nothing, except the
 *             main thread's [stack]).
 *   ALT_STACK the other stack a thread runs on: from sp minus the red zone
 *             to the end of the live heap block or mapping holding sp (a
 *             coroutine stack). A stack inside a module's data is already a
 *             GLOBAL root and gets no second name.
 *   REGISTER  the registers captured by the signal.
 * The shim's own threads (LWD_THREADF_DUMPER: the writer, the walker's
 * canary) have only their TLS roots (their DTVs are heap blocks); their
 * stacks and registers hold shim temporaries and are not scanned.
 * Where tp comes from: the capture signal (%fs:0); for the main thread also
 * the value recorded when the library was loaded; for an uncaptured thread
 * blocked in a system call, the descriptor found at the top of its stack
 * mapping (tcb->self == tcb). The sizes and the offsets inside struct
 * pthread are found once by lw_heapgraph_install (struct lw_hg_tls_layout):
 * sizes from glibc's own exported values, offsets by self-identifying
 * patterns checked on a probe thread; anything not found leaves that root
 * kind out and the bytes are scanned as before (as STACK for a thread whose
 * descriptor tops its stack).
 *
 * Child: lw_heapgraph_write() scans roots (module data/bss regions given by
 *   the caller, and the thread roots above) and every live block for aligned
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

typedef struct lw_hg_range {
	uint64_t start, end;
} lw_hg_range;

typedef struct lw_hg_thread {
	uint32_t tid, flags;          /* LWD_THREADF_* */
	uint64_t sp;                  /* 0 if unknown */
	uint64_t tp;                  /* thread pointer (%fs base); 0 if unknown */
	uint32_t n_regs;
	uint64_t regs[LWD_MAX_REGS];
	_Atomic int acked;            /* private to the capture */
	/* filled in the child: the thread's roots (empty ranges: none) */
	uint64_t stack_start, stack_end;   /* STACK */
	lw_hg_range tls, spec, dtv, alt;   /* TLS (spec and arg cut out), SPECIFIC, TLS, ALT_STACK */
	uint64_t arg;                 /* THREAD_ARG word, 0 if none */
} lw_hg_thread;

/* glibc's thread layout, found in the parent (see above). */
typedef struct lw_hg_tls_layout {
	uint64_t static_size;         /* static TLS incl. the descriptor; 0 = unknown */
	uint64_t tcb_size;            /* sizeof(struct pthread); 0 = unknown */
	int64_t spec_off;             /* tp + spec_off: specific_1stblock; -1 = unknown */
	int64_t arg_off;              /* tp + arg_off: the start argument; -1 = unknown */
	uint64_t main_tp;             /* the main thread's tp, 0 if unknown */
	uint32_t main_tid;            /* the process id */
} lw_hg_tls_layout;

/* pthread_setspecific slots: 32 {seq, value} pairs, then 32 pointers to
 * second-level blocks (glibc's PTHREAD_KEY_2NDLEVEL_SIZE and _1STLEVEL_SIZE) */
#define LW_HG_SPEC_BYTES (32 * 16 + 32 * 8)

typedef struct lw_hg_threads {
	size_t n;
	lw_hg_tls_layout layout;      /* copied by lw_heapgraph_stop_threads */
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
 * without registers), and finds the thread layout (once: starts and joins a
 * probe thread). Idempotent; parent, outside malloc. */
int lw_heapgraph_install(void);
/* The layout found by lw_heapgraph_install (for tests). */
const lw_hg_tls_layout *lw_heapgraph_layout(void);

/* Forks the dump child: a raw clone(2) with no exit signal and nothing else
 * (no CLONE_* flags), so the parent gets no SIGCHLD, the child can only be
 * waited for with __WCLONE or __WALL (never by wait() or waitpid(-1, .., 0)),
 * and no pthread_atfork handler runs anywhere. The caller holds every lock
 * the child will use (the child re-initialises them) and must wait for the
 * pid with __WALL. The child is single-threaded with a stale glibc thread id
 * (THREAD_SELF->tid is the forking thread's): it may use system calls and
 * plain mutexes, not pthread_kill, robust or error-checking mutexes, and
 * nothing that forks, creates threads or allocates from the heap. Returns
 * the child's pid in the parent, 0 in the child, -errno on failure. */
long lw_heapgraph_clone(void);

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
 * thread stack with the shim's private tables) is passed as lw_hg_range
 * lists: lw_mem_map regions. */

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
