/* root_coro.c — a coroutine (makecontext/swapcontext) whose stack is a heap
 * block (--stack heap, default) or a global array (--stack global), running
 * at the checkpoint: the main thread's current stack is the coroutine's
 * (blocked in read()), and main's own frames are suspended in swapcontext on
 * its own stack. A second thread takes the checkpoint, so that neither
 * tool's own frames land on the coroutine stack being examined.
 *   keep_coro_local  4037 B  a local of the coroutine (on the coroutine stack)
 *   keep_main_frame  4039 B  a local of main's suspended frame (own stack)
 *   drop_coro        4041 B  x3, lost
 * Expected roots: heap stack -> "thread PID coroutine stack"; global stack ->
 * the global "g_coro_stack (root_coro)"; main's local -> "thread PID stack".
 */
#include <pthread.h>
#include <ucontext.h>

#include "roots_common.h"

#define CORO_STACK (1024 * 1024)
static char g_coro_stack[CORO_STACK] __attribute__((aligned(64)));
static ucontext_t main_ctx, coro_ctx;

LW_APP_NOINLINE static void *keep_coro_local(void) { return roots_block(malloc(4037), 4037); }
LW_APP_NOINLINE static void *keep_main_frame(void) { return roots_block(malloc(4039), 4039); }
LW_APP_NOINLINE static void drop_coro(void)
{
	for (int i = 0; i < 3; i++)
		roots_drop(roots_block(malloc(4041), 4041));
}

static int go[2], done[2];

static void *checker(void *arg)
{
	char c;
	while (read(go[0], &c, 1) < 0)
		;
	roots_checkpoint();
	c = 1;
	if (write(done[1], &c, 1) != 1)
		abort();
	return arg;
}

static void coro(void)
{
	void *volatile local = keep_coro_local();
	roots_scrub();
	char c = 1;
	if (write(go[1], &c, 1) != 1)
		abort();
	while (read(done[0], &c, 1) < 0)
		;
	if (!local)
		abort();
	swapcontext(&coro_ctx, &main_ctx);
}

LW_APP_NOINLINE static void run(int heap)
{
	void *volatile frame = keep_main_frame();
	drop_coro();
	roots_scrub();
	roots_clear_regs();
	if (getcontext(&coro_ctx))
		abort();
	coro_ctx.uc_stack.ss_sp = heap ? malloc(CORO_STACK) : g_coro_stack;
	coro_ctx.uc_stack.ss_size = CORO_STACK;
	coro_ctx.uc_link = &main_ctx;
	makecontext(&coro_ctx, coro, 0);
	roots_tid("main");
	if (swapcontext(&main_ctx, &coro_ctx))
		abort();
	if (!frame)
		abort();
}

int main(int argc, char **argv)
{
	int heap = !(argc > 2 && strcmp(argv[1], "--stack") == 0 && strcmp(argv[2], "global") == 0);
	pthread_t th;
	if (pipe(go) || pipe(done) || pthread_create(&th, NULL, checker, NULL))
		return 1;
	run(heap);
	_exit(0);
}
