/* prefetch.c — parsing the next file on a second thread (store_int.h).
 *
 * The thread runs lw_file_open only: it reads and decodes into memory it
 * owns and touches no state of the store, so the database handle stays on
 * the calling thread. At most one thread per slot; every started thread is
 * joined before its slot is reused or the load returns.
 */
#include <string.h>

#include "store_int.h"

static void *prefetch_main(void *arg)
{
	lw_prefetch *pf = arg;
	pf->out.msg[0] = '\0';
	pf->out.rc = lw_file_open(pf->path, &pf->out.f, pf->out.msg, sizeof(pf->out.msg));
	return NULL;
}

void lw_prefetch_start(lw_prefetch *pf, size_t index, const char *path)
{
	pf->index = index;
	pf->path = path;
	pf->out.f = NULL;
	pf->running = pthread_create(&pf->th, NULL, prefetch_main, pf) == 0;
}

int lw_prefetch_join(lw_prefetch *pf)
{
	if (!pf->running)
		return 0;
	pthread_join(pf->th, NULL);
	pf->running = 0;
	return 1;
}
