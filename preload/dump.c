/* dump.c — lw_dump_write(): the one function every dump request goes
 * through (see dump.h). Runs on the writer thread with the reentrancy guard
 * held and no shim lock; lw_snap_write takes the snapshot I/O lock.
 */
#include "dump.h"

#include "heapdump.h"
#include "lwd_format.h"

/* Issue 4 (heap graph): every dump forks a child that adds the heap graph
 * (preload/heapdump.c); it falls back to a dump without the graph by itself. */
int lw_dump_write(uint32_t reason)
{
	return lw_heapdump_write(reason);
}
