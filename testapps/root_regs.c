/* root_regs.c — a block kept alive only by a register: thread "worker"
 * holds the pointer in r12 alone (written there by assembly from its
 * complement) while it waits in a futex system call.
 *   keep_in_register  4043 B  r12 of thread "worker"
 *   drop_regs         4045 B  x3, lost
 */
#include "roots_common.h"
static volatile int g_release;     /* futex word */
static volatile uintptr_t g_enc;   /* ~pointer: not a pointer */

LW_APP_NOINLINE static void *keep_in_register(void) { return roots_block(malloc(4043), 4043); }
LW_APP_NOINLINE static void drop_regs(void)
{
	for (int i = 0; i < 3; i++)
		roots_drop(roots_block(malloc(4045), 4045));
}

LW_APP_NOINLINE static void make(void)
{
	g_enc = ~(uintptr_t)keep_in_register();
}

static void *worker(void *arg)
{
	make();
	roots_scrub();
	roots_worker_signal();
	uintptr_t enc = g_enc;
	g_enc = 0;
	/* r12 = ~enc, then futex(&g_release, FUTEX_WAIT, 0) until released;
	 * the kernel preserves r12 across the system call */
	__asm__ volatile(
		"mov %0, %%r12\n\t"
		"not %%r12\n\t"
		"1:\n\t"
		"mov $202, %%eax\n\t"
		"mov %1, %%rdi\n\t"
		"xor %%esi, %%esi\n\t"
		"xor %%edx, %%edx\n\t"
		"xor %%r10d, %%r10d\n\t"
		"syscall\n\t"
		"cmpl $0, (%1)\n\t"
		"je 1b\n\t"
		"xor %%r12d, %%r12d\n\t"
		:
		: "r"(enc), "r"(&g_release)
		: "rax", "rdi", "rsi", "rdx", "r10", "r11", "rcx", "r12", "memory", "cc");
	return arg;
}

int main(void)
{
	drop_regs();
	roots_start_worker(worker, NULL);
	usleep(20000);                 /* let the worker reach its futex wait */
	roots_scrub();
	roots_tid("main");
	roots_checkpoint();
	_exit(0);
}
