/* root_specific.c — blocks kept alive only by pthread_setspecific, in the
 * main thread and in a parked thread, through a first-level key (< 32: the
 * value sits in the thread descriptor) and a second-level key (>= 32: the
 * value sits in a block glibc calloc'd, pointed to by the descriptor).
 *   keep_spec_main_low     4023 B   keep_spec_main_high    4025 B
 *   keep_spec_thread_low   4027 B   keep_spec_thread_high  4029 B
 *   drop_spec              4031 B x3, lost
 * It also registers pthread_atfork handlers that count their calls in a
 * shared mapping (so a child's count reaches the parent) and forks once
 * itself, printing "atfork before prepare=1 parent=1 child=1"; after the
 * checkpoint it prints the counts again ("atfork after ..."): a dump child
 * must run none of them. glibc's fork() would also zero every other
 * thread's pthread_setspecific values in the child before the scan.
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include "roots_common.h"

#define NKEYS 40
static pthread_key_t keys[NKEYS], k_low, k_high;
static volatile int *counts;       /* shared: prepare, parent, child */

LW_APP_NOINLINE static void *keep_spec_main_low(void) { return roots_block(malloc(4023), 4023); }
LW_APP_NOINLINE static void *keep_spec_main_high(void) { return roots_block(malloc(4025), 4025); }
LW_APP_NOINLINE static void *keep_spec_thread_low(void) { return roots_block(malloc(4027), 4027); }
LW_APP_NOINLINE static void *keep_spec_thread_high(void) { return roots_block(malloc(4029), 4029); }
LW_APP_NOINLINE static void drop_spec(void)
{
	for (int i = 0; i < 3; i++)
		roots_drop(roots_block(malloc(4031), 4031));
}

static void on_prepare(void) { __atomic_add_fetch(&counts[0], 1, __ATOMIC_SEQ_CST); }
static void on_parent(void) { __atomic_add_fetch(&counts[1], 1, __ATOMIC_SEQ_CST); }
static void on_child(void) { __atomic_add_fetch(&counts[2], 1, __ATOMIC_SEQ_CST); }

LW_APP_NOINLINE static void set_both(void *(*low)(void), void *(*high)(void))
{
	if (pthread_setspecific(k_low, low()) || pthread_setspecific(k_high, high()))
		abort();
}

static void *worker(void *arg)
{
	set_both(keep_spec_thread_low, keep_spec_thread_high);
	roots_worker_ready();
	return arg;
}

static void print_counts(const char *when)
{
	printf("atfork %s prepare=%d parent=%d child=%d\n", when, counts[0], counts[1], counts[2]);
	fflush(stdout);
}

int main(void)
{
	counts = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counts == MAP_FAILED)
		return 1;
	for (int i = 0; i < NKEYS; i++)
		if (pthread_key_create(&keys[i], NULL))
			return 1;
	k_low = keys[1];
	k_high = keys[NKEYS - 1];
	if (k_low >= 32 || k_high < 32) {
		fprintf(stderr, "root_specific: keys %u and %u are not on both levels\n", k_low, k_high);
		return 1;
	}
	pthread_atfork(on_prepare, on_parent, on_child);
	fflush(stdout);
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	if (p < 0 || waitpid(p, NULL, 0) != p)
		return 1;
	print_counts("before");

	set_both(keep_spec_main_low, keep_spec_main_high);
	drop_spec();
	roots_start_worker(worker, NULL);
	roots_scrub();
	roots_tid("main");
	roots_checkpoint();
	print_counts("after");
	_exit(0);
}
