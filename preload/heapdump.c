/* heapdump.c — full dumps with the heap graph from a forked child (see
 * heapdump.h for the sequence).
 *
 * Locks: runs on the writer thread with the reentrancy guard held; takes the
 * snapshot I/O lock for the whole dump (as lw_snap_write does), the unwind
 * read lock inside lw_snap_add_modules, and every shim lock by hand
 * (lw_fork_lock_all, fork.h order) around the clone: the child is made by
 * lw_heapgraph_clone, not fork(), so no atfork handler runs — neither the
 * application's nor the shim's — and glibc does not rewrite the child's
 * copy of the heap (fork's reclaim_stacks zeroes every other thread's
 * pthread_setspecific values).
 * Child: single-threaded, reads tables with LW_SNAP_NOLOCK, uses mmap only,
 * calls no libc function that needs fork-time re-initialisation (stdio,
 * malloc, dl*, pthread_kill; see lw_heapgraph_clone).
 * Memory: the thread table (1.5 MiB) is mapped once and reused.
 */
#include "heapdump.h"

#include <errno.h>
#include <fcntl.h>
#include <mimalloc.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"
#include "fork.h"
#include "heapgraph.h"
#include "heapwalk.h"
#include "livetab.h"
#include "lwd_graph.h"
#include "outdir.h"
#include "snapshot.h"
#include "util.h"

struct lw_heapdump_stats lw_heapdump_last;

static lw_hg_threads *threads;    /* lw_mem_map'd on first use */

/* Async-signal-safe: the thread may park unless it is inside the shim. */
static int may_park(void)
{
	return lw_tls.guard == 0;
}

#define MAX_REGIONS 4096

struct graph_arg {
	struct lw_snap *snap;
	lw_heapwalk *hw;
	int walk_ok;
	lw_hg_region *regions;
	size_t n_regions;
	lw_hg_sample *samples;
	size_t n_samples;
	lw_hg_range *excl;
	size_t n_excl;
	lw_hg_range *modsegs;    /* every PT_LOAD segment: type hints (HEAP_TYPES) */
	size_t n_modsegs;
};

#define MAX_EXCL 65536

/* lw_mem_foreach callback: the shim's private memory is never a root. */
static void excl_cb(void *argp, uintptr_t start, uintptr_t end)
{
	struct graph_arg *a = argp;
	if (a->n_excl < MAX_EXCL)
		a->excl[a->n_excl++] = (lw_hg_range){ start, end };
}

/* lw_snap_publish's extra callback, in the child: the graph sections. */
static int graph_extra(lw_writer *w, void *argp)
{
	struct graph_arg *a = argp;
	if (!a->walk_ok)
		return 0;
	lw_hg_stats st;
	int rc = lw_heapgraph_write(w, a->hw, threads, a->regions, a->n_regions,
				    a->excl, a->n_excl, a->samples, a->n_samples, &st);
	if (rc == 0 && a->modsegs)
		rc = lw_heapgraph_write_types(w, a->hw, a->modsegs, a->n_modsegs, NULL);
	return rc;
}

/* Every PT_LOAD segment of every module, for the type hints. */
static void build_modsegs(struct graph_arg *a)
{
	const lw_segment_info *segs;
	uint32_t n_segs = lw_snap_segments(a->snap, &segs);
	a->modsegs = lw_mem_map((n_segs ? n_segs : 1) * sizeof(lw_hg_range));
	if (!a->modsegs)
		return;
	for (uint32_t i = 0; i < n_segs; i++)
		if (segs[i].end > segs[i].start)
			a->modsegs[a->n_modsegs++] = (lw_hg_range){ segs[i].start, segs[i].end };
}

/* Writable PT_LOAD segments of every module except the shim and mimalloc
 * (their data holds our own bookkeeping, not program roots). */
static void build_regions(struct graph_arg *a)
{
	const lw_module_info *mods;
	const lw_segment_info *segs;
	uint32_t n_mods = lw_snap_modules(a->snap, &mods);
	uint32_t n_segs = lw_snap_segments(a->snap, &segs);
	uint64_t self = (uint64_t)(uintptr_t)&lw_heapdump_write;
	uint64_t mi = (uint64_t)(uintptr_t)&mi_version;
	for (uint32_t i = 0; i < n_segs && a->n_regions < MAX_REGIONS; i++) {
		const lw_segment_info *g = &segs[i];
		if (!(g->prot & 2) || g->module >= n_mods)   /* PF_W */
			continue;
		const lw_module_info *m = &mods[g->module];
		if ((self >= m->start && self < m->end) || (mi >= m->start && mi < m->end))
			continue;
		a->regions[a->n_regions++] = (lw_hg_region){ g->module, g->start, g->end };
	}
}

static void build_samples(struct graph_arg *a)
{
	const struct lw_live *live;
	size_t n = lw_snap_live(a->snap, &live);
	a->samples = lw_mem_map((n ? n : 1) * sizeof(lw_hg_sample));
	if (!a->samples)
		return;
	for (size_t i = 0; i < n; i++)
		a->samples[i] = (lw_hg_sample){ live[i].addr, (uint32_t)i, live[i].stack };
	a->n_samples = n;
}

/* The dump child (lw_heapgraph_clone): single-threaded, shim locks already
 * re-initialised; system calls, the shim's tables and mmap'd memory only.
 * Exit status: 0 published with the graph, 2 published without it (the
 * walker refused), 1 not published, 3 orphaned before it could start. */
static __attribute__((noreturn)) void child_main(struct lw_snap *s, int dirfd, const char *name,
						  uint64_t seq, pid_t parent, int canary_ok)
{
	sigset_t all;
	sigfillset(&all);
	sigdelset(&all, SIGALRM);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGALRM, SIG_DFL);      /* the watchdog terminates the child */
	alarm(LW_HEAPDUMP_TIMEOUT_S);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)       /* the parent died before prctl */
		_exit(3);

	if (lw_snap_add_tables(s, LW_SNAP_NOLOCK) != 0)
		_exit(1);
	static lw_heapwalk hw;
	struct graph_arg a;
	memset(&a, 0, sizeof a);
	a.snap = s;
	a.hw = &hw;
	a.walk_ok = canary_ok && lw_heapwalk_run(&hw) == 0;
	a.regions = lw_mem_map(MAX_REGIONS * sizeof(lw_hg_region));
	a.excl = lw_mem_map(MAX_EXCL * sizeof(lw_hg_range));
	if (a.walk_ok && a.regions && a.excl) {
		build_regions(&a);
		build_samples(&a);
		build_modsegs(&a);
		lw_mem_foreach(0, excl_cb, &a);
	}
	if (!a.regions || !a.samples || !a.excl)
		a.walk_ok = 0;
	const char *step = NULL;
	int rc = lw_snap_publish(s, dirfd, name, seq, graph_extra, &a, &step);
	_exit(rc != 0 ? 1 : a.walk_ok ? 0 : 2);
}

static int file_exists(int dirfd, const char *name)
{
	struct stat st;
	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int lw_heapdump_write(uint32_t reason)
{
	char name[64];
	const char *step = NULL;
	int dirfd, rc;

	lw_snap_io_lock();
	uint64_t seq = lw_outdir_seq();
	lw_snap_name(LWD_KIND_DUMP, seq, name, sizeof(name));
	rc = lw_outdir_fd(&dirfd, &step);
	if (rc != 0)
		goto out;
	if (!threads) {
		threads = lw_mem_map(sizeof *threads);
		lw_heapgraph_set_may_park(may_park);
		lw_heapgraph_install();    /* -EBUSY: threads recorded without registers */
	}
	struct lw_snap *s = lw_snap_new(LWD_KIND_DUMP, reason);
	if (s == NULL || !threads || lw_snap_add_modules(s) != 0) {
		lw_snap_free(s);
		rc = -ENOMEM;
		step = "capture";
		goto out;
	}
	int canary_ok = lw_heapwalk_canary_start() == 0;
	pid_t parent = getpid();

	uint64_t t0 = lw_now_mono();
	lw_heapgraph_stop_threads(threads);
	uint64_t t1 = lw_now_mono();
	lw_fork_lock_all();
	long pid = lw_heapgraph_clone();
	if (pid == 0) {
		lw_fork_reinit_locks();
		child_main(s, dirfd, name, seq, parent, canary_ok);
	}
	lw_fork_unlock_all();
	uint64_t t2 = lw_now_mono();
	lw_heapgraph_resume_threads(threads);
	uint64_t t3 = lw_now_mono();
	lw_heapwalk_canary_release();
	lw_heapdump_last.pause_ns = t3 - t0;
	lw_heapdump_last.fork_ns = t2 - t1;
	lw_heapdump_last.graph = 0;

	int status = 0, published = 0;
	lw_heapdump_last.child_pid = pid > 0 ? (int)pid : 0;
	if (pid > 0) {
		/* Only this pid (__WALL: it has no exit signal); the
		 * application's own children stay its own. */
		pid_t r;
		do {
			r = waitpid((pid_t)pid, &status, __WALL);
		} while (r < 0 && errno == EINTR);
		lw_heapdump_last.child_ns = lw_now_mono() - t2;
		lw_heapdump_last.child_status = status;
		if (r == pid && WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 2)) {
			published = 1;
			lw_heapdump_last.graph = WEXITSTATUS(status) == 0;
		} else {
			/* killed (or reaped by a program that waits with __WALL):
			 * the file appears only complete, by rename after fsync,
			 * so one that exists is the child's finished dump */
			published = file_exists(dirfd, name);
		}
	}
	if (published) {
		rc = 0;
	} else {
		/* no child, or it died: the same dump, without the graph. A child
		 * killed mid-write leaves its temporary file behind. */
		char tmp[80];
		size_t pos = 0;
		tmp[0] = '\0';
		lw_fmt_str(tmp, sizeof tmp, &pos, ".tmp-");
		lw_fmt_str(tmp, sizeof tmp, &pos, name);
		unlinkat(dirfd, tmp, 0);
		if (lw_snap_add_tables(s, LW_SNAP_LOCKED) != 0) {
			rc = -ENOMEM;
			step = "capture";
		} else {
			rc = lw_snap_publish(s, dirfd, name, seq, NULL, NULL, &step);
		}
	}
	lw_snap_free(s);
out:
	if (rc == 0)
		lw_outdir_commit();
	else
		lw_outdir_report(name, step, rc);
	lw_snap_io_unlock();
	return rc;
}
