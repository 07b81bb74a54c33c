/* writer.c — constructor, environment, dump signal, writer thread, the
 * leakwatch_dump()/leakwatch_snapshot() API and the exit snapshot (see
 * writer.h).
 *
 * Invariants: requests are tickets: *_req counts requests made, *_done the
 * highest ticket whose file has been written (with its result in *_rc); a
 * waiter with ticket t sleeps on state_cond until *_done >= t or shutdown.
 * Locks: state_lock (fork order 4) guards the request/ticket fields,
 * unwind_req, unwind_loading, unwind_wait_spent, writer_running, writer_busy,
 * shutting_down and parked; it is never held during file writing or the
 * unwinder's loading. The semaphore and the signal flag need no lock;
 * unwind_retry_at is the writer thread's alone.
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

#include "budget.h"
#include "core.h"
#include "execwrap.h"
#include "fork.h"
#include "heapdump.h"
#include "livetab.h"
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
static int writer_busy;   /* the writer is past its shutting_down check, working */
static int started;
static int unwind_req;          /* a sample waits for the unwinder */
static uint64_t unwind_loading; /* when the writer began to load it (0: not yet) */
static uint64_t unwind_retry_at; /* writer only: no attempt before (after a failure) */
static int unwind_wait_spent;   /* a sample's wait ran out: none waits again */

/* The writer loads the unwinder (unwind.h) this long after the process
 * started, or at once when a sample asks: a process that lives shorter and
 * takes no sample never loads it. */
#define LW_UNWIND_EAGER_NS 10000000ull
/* How long a sample waits for the writer's dlopen, once begun: spent in
 * full only if the sampling thread itself holds the loader's lock (an
 * allocation inside a dlopen), and then only once per process. The wait
 * for the writer to begin is longer: a busy host may not run it at once,
 * and nothing can block it there but a file it is writing. */
#define LW_UNWIND_WAIT_NS 200000000ull
#define LW_UNWIND_START_WAIT_NS 2000000000ull
/* After a failed load (lw_unwind_load: one that may pass, e.g. no
 * descriptor free), the next attempt comes no sooner than this. */
#define LW_UNWIND_RETRY_NS 1000000000ull
/* At rates below this the first sample comes within the first few
 * allocations, so deferring the unwinder would save nothing: the
 * constructor loads it (exact mode, LEAKWATCH_RATE=1, above all). */
#define LW_UNWIND_EAGER_RATE 65536u

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
	lw_cfg.max_disk = env->max_disk;
	lw_cfg.keep_dumps = env->keep_dumps;
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
/* A dump within the disk budget (budget.h): snapshots apply it themselves. */
static int write_dump(uint32_t reason)
{
	lw_budget_before_dump();
	int rc = lw_heapdump_write(reason);
	if (rc == 0)
		lw_budget_after_dump();
	return rc;
}

static void deadline_after(struct timespec *ts, uint64_t mono_ns)
{
	ts->tv_sec = (time_t)(mono_ns / 1000000000ull);
	ts->tv_nsec = (long)(mono_ns % 1000000000ull);
}

/* The writer's side of the unwinder's loading: when a sample asked or the
 * process has lived LW_UNWIND_EAGER_NS, and not within LW_UNWIND_RETRY_NS
 * of a failed attempt; then wakes the waiting samples (after a failure
 * they go on with the unknown stack, and none waits again). */
static void load_unwinder_due(int asked)
{
	uint64_t now = lw_now_mono();
	if (lw_unwind_loaded() || now < unwind_retry_at)
		return;
	if (!asked && now - lw_run.start_mono_ns < LW_UNWIND_EAGER_NS)
		return;
	pthread_mutex_lock(&state_lock);
	unwind_loading = now;
	pthread_cond_broadcast(&state_cond);   /* waiting samples: the shorter bound now */
	pthread_mutex_unlock(&state_lock);
	int failed = lw_unwind_load() < 0;
	if (failed)
		unwind_retry_at = lw_now_mono() + LW_UNWIND_RETRY_NS;
	pthread_mutex_lock(&state_lock);
	unwind_req = 0;
	if (failed)
		unwind_wait_spent = 1;
	pthread_cond_broadcast(&state_cond);
	pthread_mutex_unlock(&state_lock);
}

void lw_writer_need_unwinder(void)
{
	if (lw_unwind_loaded())
		return;
	pthread_mutex_lock(&state_lock);
	if (!writer_running || shutting_down) {
		/* no writer to ask (exit handlers, a failed start): load here */
		pthread_mutex_unlock(&state_lock);
		lw_unwind_load();
		return;
	}
	if (unwind_wait_spent) {
		pthread_mutex_unlock(&state_lock);
		return;
	}
	unwind_req = 1;
	pthread_mutex_unlock(&state_lock);
	sem_post(&wake);
	uint64_t asked = lw_now_mono();
	pthread_mutex_lock(&state_lock);
	while (!lw_unwind_loaded() && !unwind_wait_spent) {
		/* the bound moves when the writer begins (it broadcasts then) */
		uint64_t until = unwind_loading ? unwind_loading + LW_UNWIND_WAIT_NS
						: asked + LW_UNWIND_START_WAIT_NS;
		if (lw_now_mono() >= until) {
			unwind_wait_spent = 1;
			break;
		}
		struct timespec ts;
		deadline_after(&ts, until);
		pthread_cond_clockwait(&state_cond, &state_lock, CLOCK_MONOTONIC, &ts);
	}
	pthread_mutex_unlock(&state_lock);
}

static void *writer_main(void *arg)
{
	(void)arg;
	lw_guard_enter();   /* for the thread's whole life */
	uint64_t interval = lw_cfg.interval_ns;
	uint64_t next = interval ? lw_now_mono() + interval : 0;
	for (;;) {
		pthread_mutex_lock(&state_lock);
		writer_busy = 0;   /* from here until it works again, exit need not wait */
		pthread_mutex_unlock(&state_lock);
		uint64_t due = next;
		if (!lw_unwind_loaded()) {
			uint64_t eager = lw_run.start_mono_ns + LW_UNWIND_EAGER_NS;
			if (eager < unwind_retry_at)
				eager = unwind_retry_at;
			if (due == 0 || eager < due)
				due = eager;
		}
		if (due) {
			struct timespec ts;
			deadline_after(&ts, due);
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
		writer_busy = 1;
		uint64_t d = dump_req, s = snap_req;
		int want_dump = d > dump_done, want_snap = s > snap_done;
		int want_unwinder = unwind_req;
		pthread_mutex_unlock(&state_lock);

		int sig = atomic_exchange(&sig_pending, 0);
		/* First, as a sample may be waiting. A requested file also loads
		 * it: the process asking is no short one, and a sample waiting
		 * for the load must not wait behind the file and miss it (a dump
		 * just after start would hold no live block). */
		load_unwinder_due(want_unwinder || want_dump || want_snap || sig);

		if (want_dump || sig) {
			int rc = write_dump(want_dump ? LWD_REASON_API : LWD_REASON_SIGNAL);
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
	if (lw_outdir_dormant())
		return -ECANCELED;   /* a forked child under LEAKWATCH_CHILDREN=none */
	lw_guard_enter();
	pthread_mutex_lock(&state_lock);
	if (shutting_down) {
		pthread_mutex_unlock(&state_lock);
		lw_guard_leave();
		return -ECANCELED;
	}
	if (!writer_running) {
		pthread_mutex_unlock(&state_lock);
		rc = dump ? write_dump(LWD_REASON_API)
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
/* How the process ends: glibc's exit() runs the handlers registered with
 * atexit/on_exit in reverse order, and the ELF destructors (ours, lw_fini)
 * from one of them (_dl_fini, registered before main, after every library
 * constructor). A handler registered by our constructor therefore runs after
 * lw_fini, and on_exit() hands it the exit status: lw_fini parks the writer
 * thread, on_process_exit writes the final snapshot with the status. Without
 * the handler (on_exit failed) lw_fini writes it, status unknown. Neither
 * runs on _exit(), on a fatal signal or on exec. */
static int exit_hooked;          /* on_process_exit is registered */
static int park_state;           /* 0 not tried, 1 the writer stopped, -1 it did not in 30 s */
static int final_done;           /* the final snapshot was decided */
static size_t live_at_start;     /* sampled live blocks a forked child inherited */

static void on_process_exit(int status, void *arg);

/* Stops the writer thread: it finishes a file in progress, then exits.
 * Returns 1 once it can no longer write: parked, never started, or idle —
 * an idle writer checks shutting_down under state_lock before any work, so
 * it parks itself whenever it wakes, and exit does not wait for it to be
 * scheduled (that wait cost a short process milliseconds on a busy host).
 * Tried once: a writer stuck for 30 s is not waited for a second time.
 * Exiting thread, guard held. */
static int park_writer(void)
{
	if (park_state != 0)
		return park_state > 0;
	pthread_mutex_lock(&state_lock);
	shutting_down = 1;
	pthread_cond_broadcast(&state_cond);
	int running = writer_running && writer_busy;
	pthread_mutex_unlock(&state_lock);
	if (running) {
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
	park_state = running ? -1 : 1;
	return park_state > 0;
}

/* Whether the final snapshot is worth a file. A process that lived shorter
 * than its first interval (60 s when periodic snapshots are off), wrote no
 * file (none was asked for, no interval passed) and holds no sampled block
 * it allocated itself leaves nothing behind, not even its directory, unless
 * it owns a directory someone named (LEAKWATCH_DIR, `leakwatch run`). */
static int final_wanted(void)
{
	if (lw_outdir_dormant())
		return 0;
	if (lw_outdir_written() > 0)
		return 1;
	uint64_t first = lw_cfg.interval_ns ? lw_cfg.interval_ns : LW_ENV_DEFAULT_INTERVAL_NS;
	if (lw_now_mono() - lw_run.start_mono_ns >= first)
		return 1;
	if (lw_livetab_count() > live_at_start)
		return 1;
	return lw_outdir_named();
}

/* A process younger than this at exit writes its final snapshot without
 * fsync (of the file and of the directory): the two fsyncs were most of
 * what a short process paid for its one file. It stays safe: the file is
 * still written under a temporary name and renamed into place, so no reader
 * ever sees part of it; only a crash of the machine within the kernel's
 * writeback delay can lose it or leave it truncated, and every reader
 * rejects a truncated file (END record, CRCs). */
#define LW_SHORT_LIFE_NS 1000000000ull

static int fsync_skipped(int fd)
{
	(void)fd;
	return 0;
}

/* exit_status: LWD_EXIT_STATUS_KNOWN | status, or 0 when unknown. */
static void final_snapshot(uint32_t exit_status)
{
	static lw_io io_no_fsync;
	if (final_done || !park_writer())
		return;
	final_done = 1;
	lw_core_flush_counts();
	if (!final_wanted())
		return;
	lw_run.exit_status = exit_status;
	if (lw_now_mono() - lw_run.start_mono_ns < LW_SHORT_LIFE_NS) {
		io_no_fsync = lw_io_system;
		io_no_fsync.fsync = fsync_skipped;
		lw_snap_io = &io_no_fsync;
	}
	lw_snap_write(LWD_KIND_SNAPSHOT, LWD_REASON_EXIT);
	lw_snap_io = &lw_io_system;
}

__attribute__((constructor)) static void lw_init(void)
{
	int e = errno;
	struct lw_env env;
	lw_guard_enter();
	parse_env(&env);
	lw_run.run_id = lw_random64();
	lw_run.parent_run_id = env.parent_dir != NULL ? env.parent_run_id : 0;
	lw_run.start_wall_ns = lw_now_wall();
	lw_run.start_mono_ns = lw_now_mono();
	lw_spawn_init();
	lw_unwind_init();
	if (lw_cfg.rate < LW_UNWIND_EAGER_RATE)
		lw_unwind_load();
	lw_outdir_init(&env);
	sem_init(&wake, 0, 0);
	lw_fork_install();
	install_signal();
	start_writer();
	exit_hooked = on_exit(on_process_exit, NULL) == 0;
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
	if (exit_hooked)
		park_writer();   /* before the libraries after us tear down */
	else
		final_snapshot(0);
	lw_guard_leave();
	errno = e;
}

static void on_process_exit(int status, void *arg)
{
	(void)arg;
	if (!started || lw_tls.guard != 0)
		return;
	int e = errno;
	lw_guard_enter();
	final_snapshot(LWD_EXIT_STATUS_KNOWN | ((uint32_t)status & 0xffu));
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
	writer_busy = 0;
	park_state = 0;
	final_done = 0;
	unwind_req = 0;
	unwind_loading = 0;
	unwind_retry_at = 0;
	unwind_wait_spent = 0;
	live_at_start = lw_livetab_count();
	if (!shutting_down && !lw_outdir_dormant())
		start_writer();
}
