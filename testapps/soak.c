/* soak.c — a busy, badly behaved service for the soak test
 * (tests/soak/soak.py): everything at once, for --duration seconds.
 *
 *   workers    --threads N threads allocate and free from 24 call sites
 *              (sizes 16 B .. 64 KiB, a ring of live blocks each, realloc
 *              now and then) and leak one block in 500 into a global list;
 *              every 200 operations a worker starts a short thread that
 *              allocates, frees and exits (thread churn)
 *   plugin     a thread dlopens libleakplugin.so (next to this program),
 *              leaks two records through it and dlcloses it, every 20 ms
 *   signals    a thread raises SIGUSR1 (the program's own handler) every
 *              10 ms; SIGCHLD has a handler that only counts
 *   processes  the main thread forks every --fork-ms: the child either
 *              allocates and leaves with _exit, exits normally after a
 *              thread of its own, execs this program with --child (which
 *              lives --child-ms with a worker, then exits), or execs
 *              /bin/true; the parent waits for each one by pid
 * Dumps come from outside (the soak test sends SIGUSR2 every second).
 * At the end: "soak done forks=F execs=E dlopens=D threads=T sigusr1=S".
 * Exit status 0, or 1 if a child failed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app_common.h"

#define RING 512
#define N_SITES 24

static atomic_int stop;
static atomic_long n_threads, n_dlopens, n_sigusr1, n_sigchld;
static pthread_mutex_t leak_lock = PTHREAD_MUTEX_INITIALIZER;
static void **leaked;
static size_t n_leaked, cap_leaked;
static volatile unsigned mix;

typedef void *(*site_fn)(size_t size);

#define SITE(K)                                                     \
	static LW_APP_NOINLINE void *site_##K(size_t size)          \
	{                                                           \
		void *p = malloc(size);                             \
		if (p)                                              \
			app_touch(p, size, K);                      \
		mix += 0x9e3779b9u * (K + 1);                       \
		return p;                                           \
	}
SITE(0) SITE(1) SITE(2) SITE(3) SITE(4) SITE(5) SITE(6) SITE(7) SITE(8) SITE(9) SITE(10)
SITE(11) SITE(12) SITE(13) SITE(14) SITE(15) SITE(16) SITE(17) SITE(18) SITE(19) SITE(20)
SITE(21) SITE(22) SITE(23)
static site_fn const sites[N_SITES] = {
	site_0, site_1, site_2, site_3, site_4, site_5, site_6, site_7, site_8, site_9, site_10,
	site_11, site_12, site_13, site_14, site_15, site_16, site_17, site_18, site_19, site_20,
	site_21, site_22, site_23,
};

static size_t pick_size(uint64_t *rng)
{
	uint64_t r = app_rand_r(rng);
	return (r & 7) == 0 ? (size_t)(r >> 20) % 65536 + 1 : (size_t)(r >> 20) % 512 + 16;
}

static void leak(void *p)
{
	pthread_mutex_lock(&leak_lock);
	if (n_leaked == cap_leaked) {
		size_t cap = cap_leaked ? cap_leaked * 2 : 1024;
		void **v = realloc(leaked, cap * sizeof(*v));
		if (!v) {
			pthread_mutex_unlock(&leak_lock);
			free(p);
			return;
		}
		leaked = v;
		cap_leaked = cap;
	}
	leaked[n_leaked++] = p;
	pthread_mutex_unlock(&leak_lock);
}

static void *short_thread(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;
	void *p[16];
	for (int i = 0; i < 16; i++)
		p[i] = sites[app_rand_r(&rng) % N_SITES](pick_size(&rng));
	for (int i = 0; i < 16; i++)
		free(p[i]);
	atomic_fetch_add(&n_threads, 1);
	return NULL;
}

static void *worker(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg * 0x2545f4914f6cdd1dull + 1;
	void *ring[RING] = { 0 };
	unsigned long ops = 0;
	while (!atomic_load(&stop)) {
		size_t k = app_rand_r(&rng) % RING;
		if (ring[k] && app_rand_r(&rng) % 500 == 0) {
			leak(ring[k]);
		} else if (ring[k] && app_rand_r(&rng) % 16 == 0) {
			void *q = realloc(ring[k], pick_size(&rng));
			if (q) {
				ring[k] = q;
				continue;
			}
		} else {
			free(ring[k]);
		}
		ring[k] = sites[app_rand_r(&rng) % N_SITES](pick_size(&rng));
		if (++ops % 200 == 0) {
			pthread_t th;
			if (pthread_create(&th, NULL, short_thread, (void *)(uintptr_t)app_rand_r(&rng)) == 0)
				pthread_join(th, NULL);
		}
		if (ops % 64 == 0)
			usleep(100);
	}
	for (int i = 0; i < RING; i++)
		free(ring[i]);
	return NULL;
}

static char plugin_path[4096];

/* Held around dlopen..dlclose and around the forks whose child calls
 * exit(). glibc's dlclose runs __cxa_finalize under __exit_funcs_lock, which
 * a forked child inherits as it was and never resets: a child forked in
 * that window hangs in exit() (seen: one child in a few hundred). Calling
 * exit() after fork in a threaded program is the program's risk, not the
 * shim's, so the soak test avoids it; the other children (_exit, exec) may
 * still fork in the middle of a dlopen or dlclose. */
static pthread_mutex_t dl_lock = PTHREAD_MUTEX_INITIALIZER;

static void *plugin_loop(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		pthread_mutex_lock(&dl_lock);
		void *h = dlopen(plugin_path, RTLD_NOW | RTLD_LOCAL);
		if (h) {
			size_t (*fn)(void **, int, size_t) =
				(size_t (*)(void **, int, size_t))dlsym(h, "plugin_leak_records");
			static void *list;   /* keeps the records reachable after dlclose */
			if (fn)
				fn(&list, 2, 256);
			dlclose(h);
			atomic_fetch_add(&n_dlopens, 1);
		}
		pthread_mutex_unlock(&dl_lock);
		usleep(20000);
	}
	return NULL;
}

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&n_sigusr1, 1);
}

static void on_chld(int sig)
{
	(void)sig;
	atomic_fetch_add(&n_sigchld, 1);
}

static void *signal_loop(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		raise(SIGUSR1);
		usleep(10000);
	}
	return NULL;
}

static void install(int sig, void (*fn)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/* The child of a fork: four ways to leave. */
static void child(int how, const char *self, long child_ms)
{
	uint64_t rng = (uint64_t)getpid();
	void *p[64];
	for (int i = 0; i < 64; i++)
		p[i] = sites[app_rand_r(&rng) % N_SITES](pick_size(&rng));
	switch (how) {
	case 0:
		_exit(0);
	case 1: {
		pthread_t th;
		if (pthread_create(&th, NULL, short_thread, (void *)(uintptr_t)rng) == 0)
			pthread_join(th, NULL);
		for (int i = 0; i < 64; i++)
			free(p[i]);
		exit(0);
	}
	case 2: {
		char ms[32];
		snprintf(ms, sizeof(ms), "%ld", child_ms);
		execl(self, self, "--child", "--child-ms", ms, (char *)NULL);
		_exit(127);
	}
	default:
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
}

static int run_child_mode(long child_ms)
{
	pthread_t th;
	atomic_store(&stop, 0);
	pthread_create(&th, NULL, worker, (void *)(uintptr_t)getpid());
	usleep((useconds_t)child_ms * 1000);
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	double duration = app_opt_double(argc, argv, "duration", 10);
	long n_workers = app_opt_long(argc, argv, "threads", 4);
	long fork_ms = app_opt_long(argc, argv, "fork-ms", 500);
	long child_ms = app_opt_long(argc, argv, "child-ms", 150);
	if (app_opt_flag(argc, argv, "child"))
		return run_child_mode(child_ms);

	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 2;
	self[n] = '\0';
	snprintf(plugin_path, sizeof(plugin_path), "%s", self);
	char *slash = strrchr(plugin_path, '/');
	snprintf(slash + 1, sizeof(plugin_path) - (size_t)(slash + 1 - plugin_path), "libleakplugin.so");

	install(SIGUSR1, on_usr1);
	install(SIGCHLD, on_chld);
	if (n_workers < 1 || n_workers > 64)
		n_workers = 4;
	pthread_t th[64 + 2];
	for (long i = 0; i < n_workers; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	pthread_create(&th[n_workers], NULL, plugin_loop, NULL);
	pthread_create(&th[n_workers + 1], NULL, signal_loop, NULL);
	app_ready();

	long forks = 0, execs = 0, bad = 0;
	double end = app_now() + duration;
	while (app_now() < end) {
		int how = (int)(forks % 4);
		if (how == 1)
			pthread_mutex_lock(&dl_lock);
		pid_t pid = fork();
		if (how == 1)
			pthread_mutex_unlock(&dl_lock);
		if (pid == 0)
			child(how, self, child_ms);
		if (pid > 0) {
			int status;
			pid_t r;
			do {
				r = waitpid(pid, &status, 0);
			} while (r < 0 && errno == EINTR);
			forks++;
			execs += how >= 2;
			if (r != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				fprintf(stderr, "soak: child %d (way %d) ended with status 0x%x\n", (int)pid, how,
					r == pid ? status : -1);
				bad++;
			}
		}
		usleep((useconds_t)fork_ms * 1000);
	}
	atomic_store(&stop, 1);
	for (long i = 0; i < n_workers + 2; i++)
		pthread_join(th[i], NULL);
	printf("soak done forks=%ld execs=%ld dlopens=%ld threads=%ld sigusr1=%ld leaked=%zu\n", forks,
	       execs, (long)atomic_load(&n_dlopens), (long)atomic_load(&n_threads),
	       (long)atomic_load(&n_sigusr1), n_leaked);
	fflush(stdout);
	return bad ? 1 : 0;
}
