/* fork_loader.c — forks while another thread is inside the loader.
 *
 * A walker thread calls dl_iterate_phdr in a loop, so it holds the loader's
 * dl_load_write_lock much of the time; the main thread forks --forks N
 * children (default 300) one after the other. Each child allocates a block
 * (held at exit, so under LEAKWATCH_RATE=1 the shim writes its final
 * snapshot) and calls exit(0). glibc does not reset that lock in a child:
 * anything in the child that walks the loader's list waits forever if the
 * walker held it at the fork. The parent waits up to 10 s for each child;
 * a child that does not exit is reported ("child ... did not exit"), killed,
 * and the program exits 1. Prints "forks=N" when every child exited 0.
 *
 * --hold-kib K: each child's block is K KiB (default 4): at 16384 it is
 * sampled at the default rate with probability 1 - e^-32, so a child forked
 * in the parent's first milliseconds (before the shim loaded its unwinder)
 * needs the unwinder for that sample. --walker 0: no walker thread.
 * --errno-check: first, one fork with no descriptor free (RLIMIT_NOFILE
 * lowered to 3, so a file the shim's fork handlers open fails) and errno
 * set to 1234: prints "errno parent=E child=C" (C: 1 when the child saw
 * 1234), then goes on as usual.
 */
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app_common.h"

static volatile int stop;

static int count_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)info;
	(void)size;
	(*(unsigned long *)arg)++;
	return 0;
}

static void *walker(void *arg)
{
	unsigned long n = 0;
	(void)arg;
	while (!stop)
		dl_iterate_phdr(count_cb, &n);
	return NULL;
}

static __attribute__((noinline)) void *child_block(size_t n)
{
	void *b = malloc(n);
	if (b)
		memset(b, 1, n);
	return b;
}

/* 0 when child pid exited 0 within 10 s; otherwise kills it, 1. */
static int wait_child(pid_t pid, long i)
{
	int st = 0;
	for (int k = 0; k < 1000; k++) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
				return 0;
			fprintf(stderr, "fork_loader: child %d of fork %ld ended with status 0x%x\n",
				(int)pid, i, st);
			return 1;
		}
		usleep(10000);
	}
	fprintf(stderr, "fork_loader: child %d of fork %ld did not exit within 10 s\n", (int)pid, i);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return 1;
}

/* One fork with errno 1234 and no free descriptor; both sides report. */
static void errno_check(void)
{
	struct rlimit old, low;
	getrlimit(RLIMIT_NOFILE, &old);
	low = old;
	low.rlim_cur = 3;
	setrlimit(RLIMIT_NOFILE, &low);
	errno = 1234;
	pid_t pid = fork();
	int e = errno;
	if (pid == 0)
		_exit(e == 1234 ? 0 : 1);
	setrlimit(RLIMIT_NOFILE, &old);
	int st = 0;
	if (pid > 0)
		waitpid(pid, &st, 0);
	printf("errno parent=%d child=%d\n", e, pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(int argc, char **argv)
{
	long forks = app_opt_long(argc, argv, "forks", 300);
	long hold = app_opt_long(argc, argv, "hold-kib", 4);
	long walkers = app_opt_long(argc, argv, "walker", 1);
	pthread_t t;
	if (hold < 1 || hold > 1048576 || walkers < 0 || walkers > 1) {
		fprintf(stderr, "fork_loader: bad arguments\n");
		return 2;
	}
	if (app_opt_flag(argc, argv, "errno-check"))
		errno_check();
	if (walkers && pthread_create(&t, NULL, walker, NULL) != 0) {
		fprintf(stderr, "fork_loader: pthread_create failed\n");
		return 1;
	}
	int rc = 0;
	for (long i = 0; i < forks && rc == 0; i++) {
		pid_t pid = fork();
		if (pid == 0)
			exit(child_block((size_t)hold << 10) ? 0 : 1);
		if (pid < 0) {
			perror("fork_loader: fork");
			rc = 1;
			break;
		}
		rc = wait_child(pid, i);
	}
	stop = 1;
	if (walkers)
		pthread_join(t, NULL);
	if (rc == 0)
		printf("forks=%ld\n", forks);
	return rc;
}
