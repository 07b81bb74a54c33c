/* writer.c — constructor, environment, dump signal, writer thread, the
 * leakwatch_dump()/leakwatch_snapshot() API and the exit snapshot (see
 * writer.h).
 *
 * Invariants: requests are tickets: *_req counts requests made, *_done the
 * highest ticket whose file has been written (with its result in *_rc); a
 * waiter with ticket t sleeps on state_cond until *_done >= t or shutdown.
 * Locks: state_lock (fork order 4) guards the request/ticket fields,
 * writer_running, shutting_down and parked; it is never held during file
 * writing. The semaphore and the signal flag need no lock.
 */
#include "writer.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "fork.h"
#include "heapdump.h"
#include "lw_env.h"
#include "lwd_format.h"
#include "outdir.h"
#include "snapshot.h"
#include "unwind.h"
#include "util.h"

#define LW_EXPORT __attribute__((visibility("default")))

static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t state_cond = PTHREAD_COND_INITIALIZER;
static sem_t wake;
static atomic_int sig_pending;
static uint64_t dump_req, dump_done, snap_req, snap_done;
static int dump_rc, snap_rc;
static int writer_running, shutting_down, parked;
static int started;

void lw_writer_state_lock(void) { pthread_mutex_lock(&state_lock); }
void lw_writer_state_unlock(void) { pthread_mutex_unlock(&state_lock); }

/* ---- environment --------------------------------------------------------- */
static const char *env_get(const char *name, void *arg)
{
	(void)arg;
	return getenv(name);
}

static void env_bad(const struct lw_env_var *var, const char *value, void *arg)
{
	(void)arg;
	lw_warn(var->name, " '", value, "' is not ", var->expect, "; using ", var->fallback,
		(const char *)NULL);
}

/* Every LEAKWATCH_* variable, through the one parser each has (lw_env.h). */
static void parse_env(struct lw_env *env)
{
	lw_env_read(env, env_get, env_bad, NULL);
	lw_cfg.rate = env->rate;
	lw_cfg.interval_ns = env->interval_ns;
	lw_cfg.signo = env->signo;
}

/* ---- signal ------------------------------------------------------------------- */
/* Async-signal-safe: an atomic store and sem_post, errno preserved. */
static void on_signal(int sig)
{
	int e = errno;
	(void)sig;
	atomic_store(&sig_pending, 1);
	sem_post(&wake);
	errno = e;
}

static void install_signal(void)
{
	if (lw_cfg.signo == 0)
		return;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(lw_cfg.signo, &sa, NULL);
}

/* ---- writer thread -------------------------------------------------------------- */
static void deadline_after(struct timespec *ts, uint64_t mono_ns)
{
	ts->tv_sec = (time_t)(mono_ns / 1000000000ull);
	ts->tv_nsec = (long)(mono_ns % 1000000000ull);
}

static void *writer_main(void *arg)
{
	(void)arg;
	lw_guard_enter();   /* for the thread's whole life */
	uint64_t interval = lw_cfg.interval_ns;
	uint64_t next = interval ? lw_now_mono() + interval : 0;
	for (;;) {
		if (interval) {
			struct timespec ts;
			deadline_after(&ts, next);
			while (sem_clockwait(&wake, CLOCK_MONOTONIC, &ts) != 0 && errno == EINTR)
				;
		} else {
			while (sem_wait(&wake) != 0 && errno == EINTR)
				;
		}
		pthread_mutex_lock(&state_lock);
		if (shutting_down) {
			parked = 1;
			writer_running = 0;
			pthread_cond_broadcast(&state_cond);
			pthread_mutex_unlock(&state_lock);
			return NULL;
		}
		uint64_t d = dump_req, s = snap_req;
		int want_dump = d > dump_done, want_snap = s > snap_done;
		pthread_mutex_unlock(&state_lock);

		int sig = atomic_exchange(&sig_pending, 0);
		if (want_dump || sig) {
			int rc = lw_heapdump_write(want_dump ? LWD_REASON_API : LWD_REASON_SIGNAL);
			if (want_dump) {
				pthread_mutex_lock(&state_lock);
				dump_done = d;
				dump_rc = rc;
				pthread_cond_broadcast(&state_cond);
				pthread_mutex_unlock(&state_lock);
			}
		}
		if (want_snap) {
			int rc = lw_snap_write(LWD_KIND_SNAPSHOT, LWD_REASON_API);
			pthread_mutex_lock(&state_lock);
			snap_done = s;
			snap_rc = rc;
			pthread_cond_broadcast(&state_cond);
			pthread_mutex_unlock(&state_lock);
		}
		if (interval) {
			uint64_t now = lw_now_mono();
			if (now >= next) {
				lw_snap_write(LWD_KIND_SNAPSHOT, LWD_REASON_INTERVAL);
				next += interval;
				now = lw_now_mono();
				if (next <= now)
					next = now + interval;
			}
		}
	}
}

/* Creates the writer thread with every signal blocked (inherited mask, so
 * there is no window in which it could take the dump signal). */
static void start_writer(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t th;
	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 1u << 20);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&th, &attr, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	pthread_mutex_lock(&state_lock);
	writer_running = rc == 0;
	pthread_mutex_unlock(&state_lock);
	if (rc != 0)
		lw_warn("cannot start the writer thread; only API requests and the exit snapshot "
			"will be written", (const char *)NULL);
}

/* ---- API ----------------------------------------------------------------------- */
static int request(int dump)
{
	int rc;
	if (!started)
		return -ENOSYS;
	lw_guard_enter();
	pthread_mutex_lock(&state_lock);
	if (shutting_down) {
		pthread_mutex_unlock(&state_lock);
		lw_guard_leave();
		return -ECANCELED;
	}
	if (!writer_running) {
		pthread_mutex_unlock(&state_lock);
		rc = dump ? lw_heapdump_write(LWD_REASON_API)
			  : lw_snap_write(LWD_KIND_SNAPSHOT, LWD_REASON_API);
		lw_guard_leave();
		return rc;
	}
	uint64_t ticket = dump ? ++dump_req : ++snap_req;
	pthread_mutex_unlock(&state_lock);
	sem_post(&wake);
	pthread_mutex_lock(&state_lock);
	for (;;) {
		uint64_t done = dump ? dump_done : snap_done;
		if (done >= ticket) {
			rc = dump ? dump_rc : snap_rc;
			break;
		}
		if (shutting_down) {
			rc = -ECANCELED;
			break;
		}
		pthread_cond_wait(&state_cond, &state_lock);
	}
	pthread_mutex_unlock(&state_lock);
	lw_guard_leave();
	return rc;
}

LW_EXPORT int leakwatch_dump(void);
LW_EXPORT int leakwatch_snapshot(void);

int leakwatch_dump(void)
{
	int e = errno;
	int rc = request(1);
	errno = e;
	return rc;
}

int leakwatch_snapshot(void)
{
	int e = errno;
	int rc = request(0);
	errno = e;
	return rc;
}

/* ---- lifecycle ------------------------------------------------------------------ */
__attribute__((constructor)) static void lw_init(void)
{
	int e = errno;
	struct lw_env env;
	lw_guard_enter();
	parse_env(&env);
	lw_run.run_id = lw_random64();
	lw_run.start_wall_ns = lw_now_wall();
	lw_run.start_mono_ns = lw_now_mono();
	lw_unwind_init();
	lw_outdir_init(env.dir);
	sem_init(&wake, 0, 0);
	lw_fork_install();
	install_signal();
	start_writer();
	started = 1;
	lw_core_start();
	lw_guard_leave();
	errno = e;
}

__attribute__((destructor)) static void lw_fini(void)
{
	if (!started || lw_tls.guard != 0)
		return;   /* exit() from inside the shim (e.g. a signal handler): no safe snapshot */
	int e = errno;
	lw_guard_enter();
	pthread_mutex_lock(&state_lock);
	shutting_down = 1;
	pthread_cond_broadcast(&state_cond);
	int running = writer_running;
	pthread_mutex_unlock(&state_lock);
	if (running) {
		/* Park the writer: it finishes a file in progress, then exits. */
		sem_post(&wake);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 30;
		pthread_mutex_lock(&state_lock);
		while (!parked)
			if (pthread_cond_timedwait(&state_cond, &state_lock, &ts) == ETIMEDOUT)
				break;
		running = !parked;
		pthread_mutex_unlock(&state_lock);
	}
	if (!running) {
		lw_core_flush_counts();
		lw_snap_write(LWD_KIND_SNAPSHOT, LWD_REASON_EXIT);
	}
	lw_guard_leave();
	errno = e;
}

/* ---- fork child ------------------------------------------------------------------ */
void lw_writer_child_reinit_locks(void)
{
	pthread_mutex_init(&state_lock, NULL);
	pthread_cond_init(&state_cond, NULL);
}

void lw_writer_child(void)
{
	sem_init(&wake, 0, 0);
	atomic_store(&sig_pending, 0);
	dump_req = dump_done = snap_req = snap_done = 0;
	dump_rc = snap_rc = 0;
	parked = 0;
	writer_running = 0;
	if (!shutting_down)
		start_writer();
}
