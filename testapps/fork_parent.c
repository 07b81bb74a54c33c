/* fork_parent.c — a parent that allocates and forks children that keep
 * allocating and leaking; optionally fork+exec; and a fork stress mode.
 *
 * Default mode: parent_alloc leaks --blocks K blocks (default 500) of 300
 * bytes, checkpoint point=parent0; then --children N children (default 2),
 * one after the other. Each child prints "child pid=PID", leaks K blocks of
 * 700 bytes from child_leak, checkpoints point=child.PID, churns, and exits
 * normally (exit(0): the shim's final snapshot). The parent prints
 * "child pid=PID status=S" for each, leaks K more blocks and checkpoints
 * point=parent1.
 *
 * --exec self|true: each child execs this program with --exec-child (which
 * leaks from exec_child_leak, checkpoints point=exec.PID and exits 0) or
 * /bin/true, instead of running child code.
 *
 * --stress F: F forks while --hammer T threads (default 2) allocate and free
 * without pause, so forks happen while the shim's locks are likely held.
 * Each child allocates, frees, starts and joins a thread, and leaves with
 * _exit(0); children 7, 15, ... hold a 16 MiB block (sampled with
 * probability 1 - e^-32 at the default rate) and leave with exit(0), so
 * they write a final snapshot; children 3, 11, ... leave with exit(0)
 * holding nothing they allocated, so they leave no files. Prints
 * "stress forks=F ok=N"; exit code 1 if any child failed.
 * Children are waited one at a time; a hung child hangs the parent, which
 * the test's timeout catches.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app_common.h"

struct blk {
	struct blk *next;
};

static struct blk *g_list;
static atomic_int g_stop;

LW_APP_NOINLINE static void parent_alloc(size_t size)
{
	struct blk *b = malloc(size);
	if (!b)
		abort();
	memset(b, 1, size);
	b->next = g_list;
	g_list = b;
}

LW_APP_NOINLINE static void child_leak(size_t size)
{
	struct blk *b = malloc(size);
	if (!b)
		abort();
	memset(b, 2, size);
	b->next = g_list;
	g_list = b;
}

LW_APP_NOINLINE static void exec_child_leak(size_t size)
{
	struct blk *b = malloc(size);
	if (!b)
		abort();
	memset(b, 3, size);
	b->next = g_list;
	g_list = b;
}

static void churn(int rounds, unsigned seed)
{
	uint64_t rng = seed;
	void *slots[64] = {0};
	for (int i = 0; i < rounds; i++) {
		unsigned s = (unsigned)(app_rand_r(&rng) % 64);
		free(slots[s]);
		size_t n = (size_t)app_rand_range(&rng, 8, 20000);
		slots[s] = malloc(n);
		if (!slots[s])
			abort();
		app_touch(slots[s], n, (unsigned)i);
	}
	for (int i = 0; i < 64; i++)
		free(slots[i]);
}

static int run_exec_child(int argc, char **argv)
{
	long blocks = app_opt_long(argc, argv, "blocks", 500);
	char point[48];
	snprintf(point, sizeof point, "exec.%ld", (long)getpid());
	for (long i = 0; i < blocks; i++)
		exec_child_leak(900);
	app_truth(point, "exec_child_leak", (uint64_t)blocks * 900, (uint64_t)blocks);
	app_snapshot(point);
	churn(2000, 77);
	return 0;
}

static void *hammer(void *arg)
{
	uint64_t rng = (uint64_t)(intptr_t)arg + 1;
	void *slots[256] = {0};
	while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
		unsigned s = (unsigned)(app_rand_r(&rng) % 256);
		uint64_t r = app_rand_r(&rng);
		if (r % 7 == 0 && slots[s]) {
			void *p = realloc(slots[s], (size_t)(r >> 40) % 5000 + 1);
			if (p)
				slots[s] = p;
			continue;
		}
		free(slots[s]);
		slots[s] = malloc(r % 64 == 0 ? (size_t)(r >> 44) % (1 << 20) + 1 : (size_t)(r >> 40) % 2000 + 1);
	}
	for (int i = 0; i < 256; i++)
		free(slots[i]);
	return NULL;
}

static void *child_thread(void *arg)
{
	churn(200, (unsigned)(intptr_t)arg);
	return NULL;
}

/* A block held until exit, never touched (no RSS). */
LW_APP_NOINLINE static void child_hold(size_t size)
{
	struct blk *b = malloc(size);
	if (!b)
		abort();
	b->next = g_list;
	g_list = b;
}

static int run_stress(long forks, long hammers)
{
	pthread_t th[16];
	if (hammers > 16)
		hammers = 16;
	for (long i = 0; i < hammers; i++)
		if (pthread_create(&th[i], NULL, hammer, (void *)(intptr_t)i) != 0)
			return 1;
	long ok = 0;
	for (long f = 0; f < forks; f++) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			break;
		}
		if (pid == 0) {
			churn(300, (unsigned)f);
			pthread_t t;
			if (pthread_create(&t, NULL, child_thread, (void *)(intptr_t)f) != 0)
				_exit(3);
			pthread_join(t, NULL);
			if (f % 8 == 7)
				child_hold(16u << 20);
			if (f % 4 == 3)
				exit(0);
			_exit(0);
		}
		int st;
		if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
		else
			fprintf(stderr, "fork_parent: child %ld (pid %ld) failed: status 0x%x\n", f,
				(long)pid, st);
	}
	atomic_store(&g_stop, 1);
	for (long i = 0; i < hammers; i++)
		pthread_join(th[i], NULL);
	printf("stress forks=%ld ok=%ld\n", forks, ok);
	return ok == forks ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (app_opt_flag(argc, argv, "exec-child"))
		return run_exec_child(argc, argv);
	long stress = app_opt_long(argc, argv, "stress", 0);
	if (stress > 0)
		return run_stress(stress, app_opt_long(argc, argv, "hammer", 2));

	long blocks = app_opt_long(argc, argv, "blocks", 500);
	long children = app_opt_long(argc, argv, "children", 2);
	const char *exec_mode = app_opt_str(argc, argv, "exec", NULL);
	if (blocks < 0 || children < 0) {
		fprintf(stderr, "fork_parent: bad arguments\n");
		return 2;
	}
	for (long i = 0; i < blocks; i++)
		parent_alloc(300);
	app_truth("parent0", "parent_alloc", (uint64_t)blocks * 300, (uint64_t)blocks);
	app_snapshot("parent0");

	int failed = 0;
	for (long c = 0; c < children; c++) {
		fflush(stdout);
		fflush(stderr);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			if (exec_mode) {
				churn(100, 5);
				if (strcmp(exec_mode, "true") == 0) {
					execl("/bin/true", "true", (char *)NULL);
				} else {
					char nb[32];
					snprintf(nb, sizeof nb, "--blocks=%ld", blocks);
					execl("/proc/self/exe", argv[0], "--exec-child", nb, (char *)NULL);
				}
				_exit(127);
			}
			char point[48];
			snprintf(point, sizeof point, "child.%ld", (long)getpid());
			printf("child pid=%ld\n", (long)getpid());
			for (long i = 0; i < blocks; i++)
				child_leak(700);
			app_truth(point, "child_leak", (uint64_t)blocks * 700, (uint64_t)blocks);
			app_truth(point, "parent_alloc", (uint64_t)blocks * 300, (uint64_t)blocks);
			app_snapshot(point);
			churn(3000, (unsigned)c);
			exit(0);
		}
		int st;
		if (waitpid(pid, &st, 0) != pid) {
			perror("waitpid");
			return 1;
		}
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		printf("child pid=%ld status=%d\n", (long)pid, code);
		fflush(stdout);
		if (code != 0)
			failed = 1;
	}
	for (long i = 0; i < blocks; i++)
		parent_alloc(300);
	app_truth("parent1", "parent_alloc", (uint64_t)blocks * 600, (uint64_t)blocks * 2);
	app_snapshot("parent1");
	app_truth("final", "parent_alloc", (uint64_t)blocks * 600, (uint64_t)blocks * 2);
	return failed;
}
