/* fork.c — pthread_atfork handlers implementing the lock order of fork.h.
 * prepare/parent run in the forking thread of the parent, child in the only
 * thread of the child; all three hold the reentrancy guard.
 */
#include "fork.h"

#include <pthread.h>

#include "core.h"
#include "livetab.h"
#include "modmap.h"
#include "outdir.h"
#include "snapshot.h"
#include "stacktab.h"
#include "unwind.h"
#include "util.h"
#include "writer.h"

void lw_fork_lock_all(void)
{
	lw_modmap_lock();            /* 0 */
	lw_unwind_wrlock();          /* 1 */
	lw_stacktab_lock();          /* 2 */
	lw_livetab_lock_all();       /* 3 */
	lw_writer_state_lock();      /* 4 */
	lw_mem_lock();               /* 5 */
}

void lw_fork_unlock_all(void)
{
	lw_mem_unlock();
	lw_writer_state_unlock();
	lw_livetab_unlock_all();
	lw_stacktab_unlock();
	lw_unwind_wrunlock();
	lw_modmap_unlock();
}

static void prepare(void)
{
	lw_guard_enter();
	/* the child never walks the loader's list (modmap.h): give it a map
	 * that is current now; before the locks, as it takes modmap_lock.
	 * Never a dlopen here (unwind.c): it can deadlock on glibc's atfork
	 * lock, which this thread holds while the handlers run. */
	lw_modmap_refresh();
	lw_unwind_fork_prepare();
	lw_fork_lock_all();
}

static void parent(void)
{
	lw_fork_unlock_all();
	lw_unwind_fork_parent();
	lw_guard_leave();
}

void lw_fork_reinit_locks(void)
{
	lw_mem_reinit();
	lw_writer_child_reinit_locks();
	lw_livetab_reinit();
	lw_stacktab_reinit();
	lw_unwind_reinit();
	lw_modmap_reinit();
	lw_snap_io_reinit();
	lw_tid_reset();
}

static void child(void)
{
	lw_fork_reinit_locks();
	lw_modmap_after_fork_child();
	lw_core_after_fork_child();
	lw_run.parent_run_id = lw_run.run_id;
	lw_run.run_id = lw_random64();
	lw_run.start_wall_ns = lw_now_wall();
	lw_run.start_mono_ns = lw_now_mono();
	lw_outdir_child();
	lw_writer_child();
	lw_guard_leave();
}

void lw_fork_install(void)
{
	pthread_atfork(prepare, parent, child);
}
