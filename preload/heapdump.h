/* heapdump.h — a full dump with the heap graph, taken in a forked child.
 *
 * lw_heapdump_write() is what the writer thread (writer.c) runs for every dump
 * request. Writer thread, reentrancy guard held, no shim lock held.
 *
 *   parent: capture module map; start the walker's canary thread; stop every
 *           other thread (signal, registers, park: heapgraph.h); take every
 *           shim lock (fork.h order); clone a child the application cannot
 *           see (lw_heapgraph_clone: no SIGCHLD, not reapable by its
 *           wait/waitpid(-1), no atfork handler of anyone runs); release the
 *           locks; resume the threads. Application threads are paused only
 *           for the capture and the clone (measured: lw_heapdump_last).
 *   child:  re-initialises the shim's locks; signals blocked except the
 *           SIGALRM watchdog
 *           (LW_HEAPDUMP_TIMEOUT_S), PR_SET_PDEATHSIG(SIGKILL); reads the
 *           shim's tables without locks, walks the heap, scans, and
 *           publishes dump-NNNNNN.lwd with the snapshot sections,
 *           LIVE_BLOCKS and the graph; then _exit. If the walker refuses
 *           (unknown mimalloc, failed self-check) the dump has no graph.
 *   parent: the writer thread waits for that one pid with __WALL (never
 *           any other child, SIGCHLD disposition untouched). If the child
 *           dies without publishing (killed, watchdog, crash), the parent
 *           removes its temporary file and writes the same dump without the
 *           graph itself.
 */
#ifndef LW_HEAPDUMP_H
#define LW_HEAPDUMP_H

#include <stdint.h>

#define LW_HEAPDUMP_TIMEOUT_S 600

/* reason: enum lwd_reason. Returns 0 or -errno. */
int lw_heapdump_write(uint32_t reason);

/* Figures of the last dump, for tests and the benchmark (getenv-free:
 * LEAKWATCH_DEBUG-style printing is left to callers). */
struct lw_heapdump_stats {
	uint64_t pause_ns;       /* stop threads + locks + clone, as the application sees it */
	uint64_t fork_ns;        /* locks + clone */
	uint64_t child_ns;       /* fork to child exit, as the writer thread saw it */
	int child_pid;           /* 0 if the clone failed */
	int child_status;        /* waitpid status */
	int graph;               /* 1 if the child wrote a graph */
};
extern struct lw_heapdump_stats lw_heapdump_last;

#endif /* LW_HEAPDUMP_H */
