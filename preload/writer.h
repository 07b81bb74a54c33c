/* writer.h — the writer thread, the dump signal, the public API and the
 * process lifecycle (constructor, exit snapshot).
 *
 * Constructor (writer.c): reads LEAKWATCH_RATE / _INTERVAL / _SIGNAL / _DIR
 * through lw_env_read() (dump/lw_env.h: the one parser of each variable,
 * shared with the analyzer; no stdio, no locale), sets the run identity,
 * installs the atfork handlers and the signal handler, starts the writer
 * thread, then enables sampling.
 *
 * The writer also loads the unwinder (unwind.h): a few milliseconds into
 * the process's life, or at once when a sample asks for it.
 *
 * The writer thread has every signal blocked and holds the reentrancy guard
 * for its whole life (its allocations are never sampled). It sleeps in
 * sem_clockwait(CLOCK_MONOTONIC) until the next interval deadline or a
 * sem_post from the signal handler or an API request, then writes:
 * a dump if the signal flag or a leakwatch_dump() request is pending, a
 * snapshot for a leakwatch_snapshot() request, a periodic snapshot when the
 * deadline passed. One sequence counter numbers all files. Dumps are
 * bracketed by the disk budget (lw_budget_before_dump/after_dump, budget.h);
 * snapshots apply it themselves.
 *
 * The signal handler saves errno, sets an atomic flag, sem_post()s and
 * restores errno: nothing else (no fds, no locks).
 *
 * At normal exit a destructor parks the writer thread and the exiting
 * thread writes the final snapshot (reason EXIT) itself.
 */
#ifndef LW_WRITER_H
#define LW_WRITER_H

/* A sample's stack needs the unwinder, which is not loaded yet (unwind.h):
 * asks the writer thread to load it and waits for it (at most once per
 * process, for a bounded time); loads it here when there is no writer.
 * Guard held, no shim lock held. */
void lw_writer_need_unwinder(void);

void lw_writer_state_lock(void);     /* fork order 4 */
void lw_writer_state_unlock(void);
/* Forked child: reset requests, re-init locks/semaphore, restart thread. */
void lw_writer_child(void);
void lw_writer_child_reinit_locks(void);

#endif /* LW_WRITER_H */
