/* leakwatch.h — the optional API of libleakwatch.so.
 *
 * A program does not need this header to be profiled: LD_PRELOAD is enough.
 * It lets a program ask for a file at a moment of its choosing (for example
 * at the end of each test case, or from an admin command).
 *
 * Both functions write one file into the run's output directory (see
 * LEAKWATCH_DIR) and WAIT until it is fully written and renamed into place.
 * They return 0 on success or a negative errno (-ENOSPC, -EACCES, ...), and
 * -ECANCELED if the process is exiting. They are thread-safe; concurrent
 * requests may be served by one file. They block until the shim's writer
 * thread is done, so do not call them from a signal handler (use the
 * LEAKWATCH_SIGNAL signal instead, which only wakes the writer).
 *
 * Working without the shim: declare the functions weak and test the address,
 * so the program links and runs whether or not libleakwatch.so is preloaded:
 *
 *     #include <leakwatch.h>
 *     #pragma weak leakwatch_dump
 *     ...
 *     if (leakwatch_dump)
 *             leakwatch_dump();
 *
 * (or define LEAKWATCH_WEAK before including this header, which declares
 * both functions weak for you).
 */
#ifndef LEAKWATCH_H
#define LEAKWATCH_H

#ifdef __cplusplus
extern "C" {
#endif

#ifdef LEAKWATCH_WEAK
#define LEAKWATCH_DECL __attribute__((weak))
#else
#define LEAKWATCH_DECL
#endif

/* Writes dump-NNNNNN.lwd: a snapshot plus every live sampled block (address,
 * size, stack, allocation time). Returns 0 or -errno. */
LEAKWATCH_DECL int leakwatch_dump(void);

/* Writes snap-NNNNNN.lwd: process figures, module map, stacks and per-stack
 * counters (what the periodic snapshots contain). Returns 0 or -errno. */
LEAKWATCH_DECL int leakwatch_snapshot(void);

#ifdef __cplusplus
}
#endif

#endif /* LEAKWATCH_H */
