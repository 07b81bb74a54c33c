/* reaper.c — a program that reaps every child in its SIGCHLD handler
 * (waitpid(-1, WNOHANG) loop), as pre-fork servers and job runners do, for
 * the invisible-dump-child tests (tests/heap/test_dump_child.py).
 *
 *   reaper --own N --dumps D [--blocks B] [--wait]
 *
 * Forks N children of its own one at a time (each exits at once and is
 * reaped by the handler before the next: the control that shows the handler
 * works), allocates B blocks of 16..200 bytes linked in a list from a global
 * (a heap big enough to keep a dump child busy), then takes D dumps with
 * leakwatch_dump(), or with --wait prints "ready pid=PID" and waits for a
 * line on stdin (the test sends dump signals meanwhile). Finally prints
 *   reaper own=N reaped=R foreign=F sigchld=S dumps_ok=K wait_echild=E
 * R: pids the handler reaped, F: of those, not its own children, S: SIGCHLD
 * signals received, K: dumps that returned 0, E: 1 if a last
 * waitpid(-1, WNOHANG) reports ECHILD (no child of any kind is visible).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>

#include "roots_common.h"

#define MAX_OWN 64
static pid_t own[MAX_OWN];
static volatile sig_atomic_t n_sigchld, n_reaped;
static volatile pid_t reaped[256];

static void on_sigchld(int sig)
{
	(void)sig;
	int saved = errno;
	n_sigchld++;
	pid_t p;
	int st;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (n_reaped < 256)
			reaped[n_reaped] = p;
		n_reaped++;
	}
	errno = saved;
}

struct node { struct node *next; };
struct node *g_list;

LW_APP_NOINLINE static void build_heap(long blocks)
{
	uint64_t r = 88172645463325252ull;
	for (long i = 0; i < blocks; i++) {
		r ^= r << 13; r ^= r >> 7; r ^= r << 17;
		struct node *n = malloc(16 + r % 185);
		if (!n)
			abort();
		n->next = g_list;
		g_list = n;
	}
}

static long opt(int argc, char **argv, const char *name, long def)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return strtol(argv[i + 1], NULL, 10);
	return def;
}

int main(int argc, char **argv)
{
	long n_own = opt(argc, argv, "--own", 3), dumps = opt(argc, argv, "--dumps", 0);
	long blocks = opt(argc, argv, "--blocks", 0);
	int wait_stdin = argc > 1 && strcmp(argv[argc - 1], "--wait") == 0;
	if (n_own > MAX_OWN)
		n_own = MAX_OWN;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);

	for (long i = 0; i < n_own; i++) {
		fflush(stdout);
		own[i] = fork();
		if (own[i] == 0)
			_exit(0);
		while (n_reaped <= i)
			usleep(1000);
	}
	build_heap(blocks);
	long ok = 0;
	for (long i = 0; i < dumps; i++)
		ok += leakwatch_dump && leakwatch_dump() == 0;
	if (wait_stdin) {
		printf("ready pid=%ld\n", (long)getpid());
		fflush(stdout);
		char line[64];
		for (;;) {
			errno = 0;
			if (fgets(line, sizeof line, stdin) || errno != EINTR)
				break;
			clearerr(stdin);
		}
	}
	usleep(100000);                  /* a late SIGCHLD would arrive by now */
	long foreign = 0;
	for (long i = 0; i < n_reaped && i < 256; i++) {
		int mine = 0;
		for (long k = 0; k < n_own; k++)
			mine |= reaped[i] == own[k];
		foreign += !mine;
	}
	int st;
	errno = 0;
	int echild = waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD;
	printf("reaper own=%ld reaped=%ld foreign=%ld sigchld=%ld dumps_ok=%ld wait_echild=%d\n",
	       n_own, (long)n_reaped, foreign, (long)n_sigchld, ok, echild);
	fflush(stdout);
	_exit(0);
}
