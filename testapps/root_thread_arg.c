/* root_thread_arg.c — a block kept alive only as a thread's start argument:
 * pthread_create stores it in the new thread's descriptor, and the thread
 * function never keeps its own copy (it blocks at once).
 *   keep_thread_arg  4033 B  the start argument of thread "worker"
 *   drop_arg         4035 B  x3, lost
 */
#include "roots_common.h"

LW_APP_NOINLINE static void *keep_thread_arg(void) { return roots_block(malloc(4033), 4033); }
LW_APP_NOINLINE static void drop_arg(void)
{
	for (int i = 0; i < 3; i++)
		roots_drop(roots_block(malloc(4035), 4035));
}

static void *worker(void *arg)
{
	(void)arg;
	roots_worker_ready();
	return NULL;
}

LW_APP_NOINLINE static void start(void)
{
	roots_start_worker(worker, keep_thread_arg());
}

int main(void)
{
	start();
	drop_arg();
	roots_scrub();
	roots_tid("main");
	roots_checkpoint();
	_exit(0);
}
