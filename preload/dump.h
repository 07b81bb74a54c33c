/* dump.h — the single entry point for dump requests.
 *
 * Every dump (signal, leakwatch_dump()) goes through lw_dump_write(). Today
 * it writes dump-NNNNNN.lwd (snapshot + LIVE_BLOCKS) directly from the
 * calling thread (the writer thread). Issue 4 replaces its body: fork a
 * child that walks the mimalloc heap and appends the heap-graph sections via
 * lw_snap_publish()'s `extra` callback (snapshot.h, fork.h).
 * Called with the reentrancy guard held, never under a table lock.
 */
#ifndef LW_DUMP_H
#define LW_DUMP_H

#include <stdint.h>

/* reason: enum lwd_reason. Returns 0 or -errno. */
int lw_dump_write(uint32_t reason);

#endif /* LW_DUMP_H */
