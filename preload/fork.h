/* fork.h — fork safety.
 *
 * THE LOCK ORDER of the shim (every thread that holds two shim locks takes
 * them in this order; the atfork prepare handler takes all of them):
 *   0. modmap lock                      (modmap.h: no shim thread inside
 *                                        dl_iterate_phdr; taken FIRST so that
 *                                        prepare never blocks samplers while
 *                                        it waits for the loader's lock)
 *   1. unwind rwlock, write side        (unwind.h: no thread inside the unwinder)
 *   2. stacktab insert lock             (stacktab.h)
 *   3. livetab stripe locks 0..63       (livetab.h, in index order)
 *   4. writer state lock                (writer.c: requests, waiters)
 *   5. private-memory registry lock     (util.h, leaf)
 * The allocation paths never hold two of them at once except 2/3 -> 5, and
 * never take 0. Lock 0 is the only one held across a call that takes a
 * loader lock (dl_iterate_phdr); no shim lock is held while waiting for a
 * program lock. The snapshot I/O lock (snapshot.h) is deliberately outside
 * this order: it is held for whole file writes (fsync) and a fork must not
 * wait for that; a forked child re-initialises it.
 *
 * prepare waits for any thread that holds a shim lock to release it (no
 * deadlock: no shim lock is held while waiting for a program lock). parent
 * releases in reverse order. child re-initialises every lock, then becomes
 * a new leakwatch run: new run_id, parent_run_id = the parent's, output
 * directory "<parent dir>/<exe>.<pid>" (created lazily), sequence 0, new
 * writer thread. These handlers run only for the program's own forks.
 *
 * The heap-dump child (heapdump.c) is not made by fork() but by a raw clone
 * that runs no atfork handler at all, so the writer thread takes the locks
 * by hand:
 *   lw_fork_lock_all(); pid = lw_heapgraph_clone();
 *   child:  lw_fork_reinit_locks();        // the copies are all LOCKED
 *           read tables with LW_SNAP_NOLOCK / *_foreach (consistent: the
 *           parent held every lock at clone time), write, _exit()
 *   parent: lw_fork_unlock_all(); waitpid(pid, .., __WALL)
 */
#ifndef LW_FORK_H
#define LW_FORK_H

void lw_fork_lock_all(void);
void lw_fork_unlock_all(void);
void lw_fork_install(void);   /* constructor: pthread_atfork */
/* Re-initialises every shim lock (and the snapshot I/O lock); for a
 * single-threaded child only. */
void lw_fork_reinit_locks(void);

#endif /* LW_FORK_H */
