/* root_thread_arg.c — a block kept alive only as a thread's start argument:
 * pthread_create stores it in the new thread's descriptor, and the thread
 * function never keeps its own copy (it blocks at once).
 *   keep_thread_arg  4033 B  the start argument of thread "worker"
 *   drop_arg         4035 B  x3, lost
 */
#include <pthread.h>

#include "roots_common.h"

static int park[2], ready[2];

LW_APP_NOINLINE static void *keep_thread_arg(void) { return roots_block(malloc(4033), 4033); }
LW_APP_NOINLINE static void drop_arg(void)
{
	for (int i = 0; i < 3; i++)
		roots_drop(roots_block(malloc(4035), 4035));
}

static void *worker(void *arg)
{
	(void)arg;
	roots_scrub();
	roots_tid("worker");
	char c = 1;
	if (write(ready[1], &c, 1) != 1)
		abort();
	while (read(park[0], &c, 1) < 0)
		;
	return NULL;
}

LW_APP_NOINLINE static void start(pthread_t *th)
{
	if (pthread_create(th, NULL, worker, keep_thread_arg()))
		abort();
}

int main(void)
{
	if (pipe(park) || pipe(ready))
		return 1;
	pthread_t th;
	start(&th);
	drop_arg();
	char c;
	while (read(ready[0], &c, 1) < 0)
		;
	roots_scrub();
	roots_tid("main");
	roots_checkpoint();
	_exit(0);
}
