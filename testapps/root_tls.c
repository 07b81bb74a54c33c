/* root_tls.c — blocks kept alive only by static TLS (__thread variables of
 * the executable), in the main thread (whose TLS block is ld.so's own
 * allocation, outside any stack) and in a second, parked thread.
 *   keep_tls_main    4011 B  t_keep of the main thread
 *   keep_tls_thread  4013 B  t_keep of thread "worker"
 *   drop_tls         4015 B  x3, lost
 */
#include "roots_common.h"

__thread void *t_keep;            /* exported: the stores cannot be dropped */

LW_APP_NOINLINE static void *keep_tls_main(void) { return roots_block(malloc(4011), 4011); }
LW_APP_NOINLINE static void *keep_tls_thread(void) { return roots_block(malloc(4013), 4013); }
LW_APP_NOINLINE static void drop_tls(void)
{
	for (int i = 0; i < 3; i++)
		roots_drop(roots_block(malloc(4015), 4015));
}

LW_APP_NOINLINE static void set_keep(void *(*make)(void)) { t_keep = make(); }

static void *worker(void *arg)
{
	set_keep(keep_tls_thread);
	roots_worker_ready();
	return arg;
}

int main(void)
{
	set_keep(keep_tls_main);
	drop_tls();
	roots_start_worker(worker, NULL);
	roots_scrub();
	roots_tid("main");
	roots_checkpoint();
	_exit(t_keep ? 0 : 1);
}
