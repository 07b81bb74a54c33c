/* root_dtls.c — blocks kept alive only by a dlopen'd library's __thread
 * variable (dynamic TLS), in the main thread and in a parked thread.
 *   keep_dtls_main    4017 B  t_dyn of the main thread
 *   keep_dtls_thread  4019 B  t_dyn of thread "worker"
 *   drop_dtls         4021 B  x3, lost
 * The library handle stays in g_dtls (a program keeps what it dlopens).
 */
#include <dlfcn.h>

#include "roots_common.h"

void *g_dtls;
static void (*dtls_set)(void *);

LW_APP_NOINLINE static void *keep_dtls_main(void) { return roots_block(malloc(4017), 4017); }
LW_APP_NOINLINE static void *keep_dtls_thread(void) { return roots_block(malloc(4019), 4019); }
LW_APP_NOINLINE static void drop_dtls(void)
{
	for (int i = 0; i < 3; i++)
		roots_drop(roots_block(malloc(4021), 4021));
}

static void *worker(void *arg)
{
	dtls_set(keep_dtls_thread());
	roots_worker_ready();
	return arg;
}

static void open_lib(void)
{
	char path[4096];
	ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
	if (n <= 0)
		abort();
	path[n] = '\0';
	char *slash = strrchr(path, '/');
	strcpy(slash ? slash + 1 : path, "librootdtls.so");
	g_dtls = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!g_dtls) {
		fprintf(stderr, "root_dtls: %s\n", dlerror());
		exit(1);
	}
	dtls_set = (void (*)(void *))dlsym(g_dtls, "rootdtls_set");
	if (!dtls_set)
		exit(1);
}

int main(void)
{
	open_lib();
	dtls_set(keep_dtls_main());
	drop_dtls();
	roots_start_worker(worker, NULL);
	roots_scrub();
	roots_tid("main");
	roots_checkpoint();
	_exit(0);
}
