/* lwd_format.h — the on-disk layout of leakwatch .lwd files.
 *
 * This header is the single source of truth for byte layout; docs/FORMAT.md
 * explains it in prose. Only dump/ encodes or decodes these bytes; preload/
 * and analyze/ go through dump/lwd.h.
 *
 * Invariants of every file:
 *   - all integers are little-endian, all records are packed with the sizes
 *     given by the LWD_*_SIZE constants (static-asserted below);
 *   - the file is: header, then sections, each section header followed by
 *     `length` payload bytes and zero padding up to the next multiple of 8;
 *     the last section is LWD_SEC_END and the file ends right after it;
 *   - every section payload carries a CRC-32 (zlib polynomial) of its bytes;
 *   - string references are byte offsets into the STRINGS section, which starts
 *     with a NUL byte (offset 0 is the empty string) and ends with a NUL byte.
 */
#ifndef LWD_FORMAT_H
#define LWD_FORMAT_H

#include <stdint.h>

#define LWD_MAGIC "LEAKWTCH"     /* 8 bytes, no terminator on disk */
#define LWD_MAGIC_LEN 8
#define LWD_VERSION_MAJOR 1      /* readers refuse a larger major */
#define LWD_VERSION_MINOR 2      /* readers accept any minor of their major;
                                  * 1 added the heap-graph sections 8..11,
                                  * 2 the PROCESS exit_status field */

#define LWD_MAX_DEPTH 128        /* frames per stack */
#define LWD_MAX_BUILD_ID 64      /* bytes of a GNU build-id note we keep */

/* File kinds (header.kind). */
enum lwd_kind {
	LWD_KIND_SNAPSHOT = 1,   /* periodic or final snapshot: snap-NNNNNN.lwd */
	LWD_KIND_DUMP = 2,       /* on demand: dump-NNNNNN.lwd, adds LIVE_BLOCKS */
};

/* Header, 64 bytes at offset 0.
 *   0  u8  magic[8]        "LEAKWTCH"
 *   8  u16 version_major
 *  10  u16 version_minor
 *  12  u32 header_size     64
 *  16  u32 kind            enum lwd_kind
 *  20  u32 flags           0 (reserved)
 *  24  u64 run_id          random id of the process run (differs after fork)
 *  32  u64 seq             file sequence number within the run (0, 1, ...)
 *  40  u8  reserved[20]    zero
 *  60  u32 header_crc      CRC-32 of bytes 0..59
 */
#define LWD_HEADER_SIZE 64

/* Section header, 24 bytes, 8-aligned in the file.
 *   0  u32 type            enum lwd_section
 *   4  u32 flags           LWD_SECF_*
 *   8  u64 length          payload bytes (excluding padding)
 *  16  u32 count           number of records (meaning per type)
 *  20  u32 crc             CRC-32 of the payload
 */
#define LWD_SECTION_HEADER_SIZE 24
#define LWD_SECF_OPTIONAL 0x1u   /* a reader that does not know the type may skip it */

enum lwd_section {
	LWD_SEC_STRINGS = 1,     /* count = number of strings; payload = NUL-terminated strings */
	LWD_SEC_PROCESS = 2,     /* count = 1; one lwd process record */
	LWD_SEC_MODULES = 3,     /* count = modules; LWD_MODULE_SIZE each */
	LWD_SEC_SEGMENTS = 4,    /* count = segments; LWD_SEGMENT_SIZE each */
	LWD_SEC_STACKS = 5,      /* count = stacks; variable records, see below */
	LWD_SEC_COUNTERS = 6,    /* count = records; LWD_COUNTER_SIZE each */
	LWD_SEC_LIVE_BLOCKS = 7, /* dumps only; count = blocks; LWD_LIVE_BLOCK_SIZE each */
	LWD_SEC_THREADS = 8,     /* heap dumps (minor >= 1); count = threads; see "Heap graph" below */
	LWD_SEC_HEAP_BLOCKS = 9, /* heap dumps; count = blocks; LWD_HEAP_BLOCK_SIZE each */
	LWD_SEC_HEAP_EDGES = 10, /* heap dumps; count = edges; LWD_HEAP_EDGE_SIZE each */
	LWD_SEC_ROOTS = 11,      /* heap dumps; count = root references; LWD_ROOT_SIZE each */
	LWD_SEC_HEAP_TYPES = 12, /* heap dumps, optional; count = hints; LWD_HEAP_TYPE_SIZE each */
	LWD_SEC_END = 0x454e44,  /* "END": count = number of sections before it, length 16 */
};

/* PROCESS record, 128 bytes.
 *   0  u32 pid
 *   4  u32 ppid
 *   8  u64 parent_run_id    run_id of the watched process we were forked from or
 *                           started by (exec, posix_spawn), 0 if none
 *  16  u64 wall_ns          CLOCK_REALTIME when the file's data was captured
 *  24  u64 mono_ns          CLOCK_MONOTONIC at capture
 *  32  u64 start_wall_ns    CLOCK_REALTIME when the shim started in this process
 *  40  u64 start_mono_ns    CLOCK_MONOTONIC at the same moment
 *  48  u64 sample_rate      mean bytes between samples; 1 = every allocation
 *  56  u64 rss_bytes        resident set size at capture (0 if unknown)
 *  64  u64 peak_rss_bytes   peak RSS (0 if unknown)
 *  72  u64 heap_committed   bytes the allocator has committed (0 if unknown)
 *  80  u64 heap_peak_committed
 *  88  u32 exe_str          string offset: absolute path of the executable
 *  92  u32 cmdline_str      string offset: argv joined by spaces (may be truncated)
 *  96  u32 hostname_str     string offset
 * 100  u32 exe_module       index into MODULES of the main executable, or LWD_NONE
 * 104  u64 alloc_calls      allocation calls seen by the shim so far (approximate)
 * 112  u64 free_calls       free calls seen so far (approximate)
 * 120  u32 reason           enum lwd_reason
 * 124  u32 exit_status      exit snapshots: LWD_EXIT_STATUS_KNOWN | the status
 *                           the process passed to exit() or returned from main
 *                           (low 8 bits); 0 when unknown and in every other file
 */
#define LWD_PROCESS_SIZE 128

enum lwd_reason {
	LWD_REASON_INTERVAL = 1, /* periodic snapshot */
	LWD_REASON_EXIT = 2,     /* final snapshot at normal exit */
	LWD_REASON_SIGNAL = 3,   /* LEAKWATCH_SIGNAL */
	LWD_REASON_API = 4,      /* leakwatch_dump() / leakwatch_snapshot() */
};

#define LWD_EXIT_STATUS_KNOWN 0x100u

#define LWD_NONE 0xffffffffu

/* MODULES record, 96 bytes: one loaded ELF object (dl_iterate_phdr order).
 *   0  u64 load_bias        l_addr: runtime address = file vaddr + load_bias
 *   8  u64 start            lowest runtime address of its PT_LOAD segments
 *  16  u64 end              one past the highest
 *  24  u32 path_str         string offset: path as the loader knows it (absolute for the exe)
 *  28  u32 build_id_len     0..LWD_MAX_BUILD_ID
 *  32  u8  build_id[64]     GNU build-id bytes, zero padded
 */
#define LWD_MODULE_SIZE 96

/* SEGMENTS record, 40 bytes: one PT_LOAD segment of a module.
 *   0  u32 module           index into MODULES
 *   4  u32 prot             PF_R=4 | PF_W=2 | PF_X=1 as in the ELF program header
 *   8  u64 start            runtime start address (vaddr + load_bias)
 *  16  u64 end              runtime end (start + memsz)
 *  24  u64 file_offset      p_offset
 *  32  u64 file_size        p_filesz
 */
#define LWD_SEGMENT_SIZE 40

/* STACKS: `count` variable-size records, stack ids are their indices 0..count-1.
 *   0  u32 depth            1..LWD_MAX_DEPTH
 *   4  u32 flags            LWD_STACKF_*
 *   8  u64 pcs[depth]       return addresses, innermost first: pcs[0] is the
 *                           return address into the code that called the
 *                           allocation function (shim frames are removed).
 *                           Symbolize pc-1 to land inside the call instruction.
 */
#define LWD_STACK_HEADER_SIZE 8
#define LWD_STACKF_TRUNCATED 0x1u  /* the real stack was deeper than LWD_MAX_DEPTH */

/* COUNTERS record, 80 bytes: sampled figures of one stack, cumulative since
 * the process started. inuse = alloc - free. The *_est fields are unbiased
 * estimates: each sample of size s with sampling rate R stands for
 * w = 1/(1-exp(-s/R)) objects and s*w bytes (w = 1 when R = 1).
 *   0  u32 stack            index into STACKS
 *   4  u32 reserved         zero
 *   8  u64 alloc_samples    sampled allocations
 *  16  u64 alloc_sample_bytes  their requested bytes
 *  24  u64 free_samples     sampled allocations since freed
 *  32  u64 free_sample_bytes
 *  40  f64 alloc_objects_est
 *  48  f64 alloc_bytes_est
 *  56  f64 free_objects_est
 *  64  f64 free_bytes_est
 *  72  u64 reserved2        zero
 */
#define LWD_COUNTER_SIZE 80

/* LIVE_BLOCKS record, 40 bytes: a sampled block still allocated at capture.
 *   0  u64 addr
 *   8  u64 size             requested bytes
 *  16  u32 stack            index into STACKS
 *  20  u32 tid              kernel thread id of the allocating thread
 *  24  u64 alloc_mono_ns    CLOCK_MONOTONIC at allocation
 *  32  f64 weight           objects this sample stands for (1/(1-exp(-size/R)))
 */
#define LWD_LIVE_BLOCK_SIZE 40

/* END: payload is 16 bytes: u64 section_count (sections before END), u64 file_size
 * (total file length including END and its header). count = section_count. */
#define LWD_END_SIZE 16

/* ---- Heap graph (format minor 1; written only in dumps) -----------------
 * Written by the forked dump child (preload/heapgraph.c), encoded and decoded
 * by dump/lwd_graph.c. The four sections are written together or not at all
 * (a dump whose heap walker refused to run has none of them), always WITHOUT
 * LWD_SECF_OPTIONAL, so a reader that predates them refuses the file instead
 * of silently showing a dump without its graph. Order in the file: THREADS,
 * HEAP_BLOCKS, ROOTS, HEAP_EDGES (after LIVE_BLOCKS). The graph never holds
 * memory contents: only addresses, sizes and the edges found by a
 * conservative scan (an aligned word whose value points at or into a live
 * block is an edge).
 *
 * THREADS: `count` variable-size records; thread indices are their order.
 *   0  u32 tid              kernel thread id
 *   4  u32 flags            LWD_THREADF_*
 *   8  u64 stack_start      lowest scanned address of the thread's own
 *                           stack (8-aligned)
 *  16  u64 stack_end        one past the highest: the top of the stack, below
 *                           the thread's static TLS and descriptor when they
 *                           share its mapping (they are TLS roots)
 *  24  u64 sp               stack pointer at capture (0 if not captured)
 *  32  u32 n_regs           0..LWD_MAX_REGS general registers that follow
 *  36  u32 reserved         zero
 *  40  u64 regs[n_regs]     register values (x86-64: ucontext gregs order,
 *                           REG_R8 = 0 ... REG_RIP = 16); a value that does not
 *                           point into a live block is stored as 0, so no
 *                           register contents other than heap addresses leave
 *                           the process
 */
#define LWD_THREAD_HEADER_SIZE 40
#define LWD_MAX_REGS 32
#define LWD_THREADF_REGS 0x1u        /* sp and regs were captured by a signal */
#define LWD_THREADF_WHOLE_STACK 0x2u /* no capture (timeout or signals blocked):
                                      * the whole stack mapping was scanned */
#define LWD_THREADF_DUMPER 0x4u      /* a thread of the shim itself (the one
                                      * that forked, the walker's self-check
                                      * thread): its stack holds no program
                                      * roots and is not scanned
                                      * (stack_start == stack_end == 0);
                                      * only its TLS is (TLS roots) */

/* HEAP_BLOCKS record, 24 bytes: one live block of the allocator, every one,
 * sampled or not. Records are sorted by addr and do not overlap
 * (addr + size <= next addr); block indices are their order.
 *   0  u64 addr             start of the block (the pointer malloc returned,
 *                           or the allocator block holding an aligned one)
 *   8  u64 size             usable bytes of the block (allocator block size)
 *  16  u32 live             index into LIVE_BLOCKS of the sample whose
 *                           address is within this block, or LWD_NONE
 *  20  u32 stack            that sample's stack (index into STACKS) or LWD_NONE
 */
#define LWD_HEAP_BLOCK_SIZE 24

/* ROOTS record, 24 bytes: one root word that points at or into a live block.
 * Sorted by (kind, owner, addr).
 *   0  u32 kind             enum lwd_root_kind
 *   4  u32 owner            GLOBAL: index into MODULES; every other kind:
 *                           index into THREADS
 *   8  u64 addr             REGISTER: register number (index into that
 *                           thread's regs); every other kind: address of the
 *                           word (the analyzer symbolizes globals offline with
 *                           MODULES and the module's symbol table)
 *  16  u32 block            index into HEAP_BLOCKS of the target
 *  20  u32 flags            LWD_ROOTF_*
 * Kinds 4..7 came after the first graph dumps (same format minor); a reader
 * that predates them refuses such a dump with "unknown kind". */
#define LWD_ROOT_SIZE 24
enum lwd_root_kind {
	LWD_ROOT_GLOBAL = 1,     /* writable PT_LOAD segment (data, bss) of a module */
	LWD_ROOT_STACK = 2,      /* a thread's own stack: from sp (minus the red zone)
	                          * to its top, or all of it when the thread runs on
	                          * another stack or was not captured */
	LWD_ROOT_REGISTER = 3,   /* a thread's register at capture */
	LWD_ROOT_TLS = 4,        /* a thread's static TLS blocks and thread
	                          * descriptor (glibc's struct pthread), and its
	                          * dynamic-TLS vector when that is not a heap block */
	LWD_ROOT_SPECIFIC = 5,   /* a thread's pthread_setspecific slots in its
	                          * descriptor (first-level values and the pointers
	                          * to second-level blocks) */
	LWD_ROOT_THREAD_ARG = 6, /* the start argument pthread_create stored in
	                          * the thread's descriptor */
	LWD_ROOT_ALT_STACK = 7,  /* the stack a thread was running on at capture
	                          * when it is not its own: a coroutine stack
	                          * (swapcontext) in a heap block or a mapping, or
	                          * a signal stack; from sp minus the red zone to
	                          * the end of that block or mapping */
};
#define LWD_ROOTF_INTERIOR 0x1u  /* the word points inside the block, not at its start */

/* HEAP_EDGES record, 8 bytes: block `from` holds a word that points at or
 * into block `to`. Records are sorted by `from` (non-decreasing); a pair may
 * repeat (writers remove most repeats; readers must tolerate them).
 *   0  u32 from             index into HEAP_BLOCKS
 *   4  u32 to               index into HEAP_BLOCKS
 */
#define LWD_HEAP_EDGE_SIZE 8

/* HEAP_TYPES record, 16 bytes (optional section, written with
 * LWD_SECF_OPTIONAL after HEAP_EDGES, only together with the graph): a type
 * hint for a block whose FIRST word holds an address inside a PT_LOAD
 * segment of a loaded module (MODULES/SEGMENTS) and not inside any live heap
 * block — for a C++ object with virtual functions, its vtable pointer. Only
 * such module addresses are written (they are already implied by MODULES),
 * never other heap contents. Records are sorted by block, strictly
 * increasing (at most one hint per block).
 *   0  u32 block            index into HEAP_BLOCKS
 *   4  u32 reserved         zero
 *   8  u64 addr             the module address the block's first word holds
 */
#define LWD_HEAP_TYPE_SIZE 16

#endif /* LWD_FORMAT_H */
