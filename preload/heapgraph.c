/* heapgraph.c — thread layout probe, thread capture and the dump child's
 * clone (parent), and the conservative pointer scan that writes the
 * heap-graph sections (the child). See heapgraph.h.
 *
 * Parent, once (lw_heapgraph_install, writer thread, outside malloc): the
 * thread layout (dlsym of two glibc exports and a probe thread). At load
 * time, a constructor records the main thread's tp (%fs:0, no call).
 *
 * Capture signal handler: an exception to "handlers only write a byte to a
 * pipe": its whole point is the interrupted thread's ucontext, so it copies
 * the registers into the thread's preallocated slot, acknowledges with an
 * atomic store and parks on a futex with a deadline. It only uses
 * async-signal-safe system calls (gettid, futex, clock_gettime) and touches
 * no lock, so it cannot deadlock with the code it interrupted; the deadline
 * bounds any stall if the forking thread would need a lock the parked thread
 * holds (e.g. a shim lock the dumper takes before the clone).
 *
 * Child (plan_thread, scan_root, scan_tls): every thread's roots from its
 * captured sp and tp, the layout and the child's copy of /proc/self/maps;
 * reads the copied memory only, nothing is written to it.
 *
 * Scan (child, hot path): for every aligned word v of a root or a live block,
 * lw_heapwalk_find(v) — one subtract/compare rejects non-heap words; heap
 * words cost two table loads, a 32-bit division and a popcount. Targets of a
 * block are collected in a bounded mmap'd buffer, sorted and de-duplicated
 * before being written, so each (from, to) pair appears once per block (once
 * per 1M-word window for giant blocks).
 */
#include "heapgraph.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "lwd_graph.h"

#define LW_HG_SIGNAL (SIGRTMAX - 3)

/* ---- parent: thread layout ---------------------------------------------- */

static inline uint64_t read_tp(void)
{
	uint64_t tp;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(tp));   /* tcbhead_t.tcb == tp */
	return tp;
}

static lw_hg_tls_layout layout = { 0, 0, -1, -1, 0, 0 };
static int layout_done;

/* The main thread's tp, recorded when the library is loaded (LD_PRELOAD
 * constructors run on the main thread): the main thread's descriptor is
 * ld.so's allocation, found nowhere else when the thread cannot be captured.
 * Reads %fs:0 and makes two system calls, nothing else. */
__attribute__((constructor)) static void note_main_tp(void)
{
	if (syscall(SYS_gettid) == getpid())
		layout.main_tp = read_tp();
}

struct probe_arg {
	int64_t spec_off, arg_off;
	int n_spec, n_arg;
};

/* Probe thread: finds, in its own descriptor, the pthread_setspecific slots
 * (glibc sets specific[0] = &specific_1stblock[0], so the word whose value is
 * its own address minus 512) and the stored start routine and argument
 * (this function and `argp`, adjacent). Each must match exactly once. */
static void *probe_main(void *argp)
{
	struct probe_arg *pa = argp;
	uint64_t tp = read_tp();
	for (uint64_t o = 0; o + 16 <= layout.tcb_size; o += 8) {
		const uint64_t *w = (const uint64_t *)(uintptr_t)(tp + o);
		if (o >= 512 && w[0] == tp + o - 512) {
			pa->spec_off = (int64_t)o - 512;
			pa->n_spec++;
		}
		if (w[0] == (uint64_t)(uintptr_t)probe_main && w[1] == (uint64_t)(uintptr_t)argp) {
			pa->arg_off = (int64_t)o + 8;
			pa->n_arg++;
		}
	}
	return NULL;
}

/* Sizes from glibc's own exports (ld.so's _dl_get_tls_static_info, which
 * LeakSanitizer uses too, and libc's _thread_db_sizeof_pthread, published
 * for libthread_db), offsets from the probe thread. Parent, writer thread,
 * once; takes the loader lock (dlsym) and starts a thread. */
static void find_layout(void)
{
	void (*static_info)(size_t *, size_t *) =
		(void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
	const uint32_t *tcb = dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread");
	size_t size = 0, align = 0;
	if (static_info)
		static_info(&size, &align);
	uint64_t tp = read_tp();
	/* sane values only: the descriptor fits in the static area, and the
	 * caller's own descriptor shows tcbhead_t's self pointers */
	if (!tcb || *tcb < 64 || *tcb > 65536 || size < *tcb || size > (64u << 20) ||
	    ((const uint64_t *)(uintptr_t)tp)[0] != tp || ((const uint64_t *)(uintptr_t)tp)[2] != tp)
		return;
	layout.static_size = size;
	layout.tcb_size = *tcb;
	struct probe_arg pa = { -1, -1, 0, 0 };
	pthread_t th;
	if (pthread_create(&th, NULL, probe_main, &pa) != 0)
		return;
	pthread_join(th, NULL);
	if (pa.n_spec == 1 && (uint64_t)pa.spec_off + LW_HG_SPEC_BYTES <= layout.tcb_size)
		layout.spec_off = pa.spec_off;
	if (pa.n_arg == 1)
		layout.arg_off = pa.arg_off;
}

const lw_hg_tls_layout *lw_heapgraph_layout(void)
{
	return &layout;
}

/* ---- parent: the invisible fork ----------------------------------------- */

/* clone(flags = 0): the low byte of the flags is the exit signal, so 0 means
 * none; no CLONE_VM (a copy, as fork), no CLONE_THREAD (a new process), no
 * tid bookkeeping. The kernel only autoreaps children whose exit signal is
 * SIGCHLD, so a program that ignores SIGCHLD does not make this child vanish
 * either; only a stop (SIGSTOP sent to the child from outside) would still
 * notify the parent.
 *
 * What glibc's fork() does and this child does without: atfork handlers
 * (the point); reclaim_stacks, which marks every other thread's stack as
 * free and zeroes its pthread_setspecific values (the scan needs them
 * intact); resetting the stdio, malloc-arena, loader and NSS locks (the
 * child uses none of them: mmap, raw file I/O and the shim's own locks,
 * which the caller re-initialises); _Fork's CLONE_CHILD_SETTID into
 * THREAD_SELF->tid (the child keeps the forking thread's tid there:
 * getpid/gettid are system calls in glibc >= 2.25, and the child takes no
 * error-checking or robust mutex and sends no signal to itself); re-registering
 * the robust-futex list (the kernel starts the child with none, and it holds
 * no robust mutex). rseq registration is inherited with the copied memory. */
long lw_heapgraph_clone(void)
{
	long pid = syscall(SYS_clone, 0ul, NULL, NULL, NULL, 0ul);
	return pid < 0 ? -errno : pid;
}

/* ---- parent: capture ---------------------------------------------------- */

static lw_hg_threads *_Atomic cap_threads;   /* the capture in progress */
static _Atomic uint32_t cap_release;         /* futex word: 1 = parked threads may go */
static _Atomic int cap_installed;
static _Atomic lw_hg_may_park_fn cap_may_park;

void lw_heapgraph_set_may_park(lw_hg_may_park_fn fn)
{
	atomic_store(&cap_may_park, fn);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Signal handler (any application thread). Async-signal-safe. */
static void capture_handler(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	int saved = errno;
	lw_hg_threads *ts = atomic_load(&cap_threads);
	if (!ts || si->si_code != SI_TKILL || si->si_pid != getpid()) {
		errno = saved;
		return;
	}
	uint32_t tid = (uint32_t)syscall(SYS_gettid);
	lw_hg_thread *slot = NULL;
	for (size_t i = 0; i < ts->n; i++)
		if (ts->t[i].tid == tid) {
			slot = &ts->t[i];
			break;
		}
	int expect = 0;                /* 0 -> 2 (filling) -> 1 (done); the
	                                * dumper moves 0 -> -1 on timeout */
	if (!slot || !atomic_compare_exchange_strong(&slot->acked, &expect, 2)) {
		errno = saved;
		return;
	}
	const ucontext_t *uc = ucv;
	uint32_t n = NGREG < LWD_MAX_REGS ? NGREG : LWD_MAX_REGS;
	for (uint32_t i = 0; i < n; i++)
		slot->regs[i] = (uint64_t)uc->uc_mcontext.gregs[i];
	slot->n_regs = n;
	slot->sp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
	slot->tp = read_tp();
	slot->flags |= LWD_THREADF_REGS;
	atomic_store(&slot->acked, 1);
	/* a thread interrupted inside the shim may hold a shim lock that the
	 * fork's prepare handler needs: record it, but do not park it */
	lw_hg_may_park_fn may_park = atomic_load(&cap_may_park);
	if (may_park && !may_park()) {
		errno = saved;
		return;
	}
	/* park until the fork is done, at most LW_HG_PARK_MS */
	uint64_t deadline = now_ns() + (uint64_t)LW_HG_PARK_MS * 1000000ull;
	while (atomic_load(&cap_release) == 0) {
		uint64_t t = now_ns();
		if (t >= deadline)
			break;
		uint64_t left = deadline - t;
		struct timespec to = { (time_t)(left / 1000000000ull), (long)(left % 1000000000ull) };
		syscall(SYS_futex, &cap_release, FUTEX_WAIT_PRIVATE, 0, &to, NULL, 0);
	}
	errno = saved;
}

int lw_heapgraph_install(void)
{
	if (!layout_done) {
		layout_done = 1;
		find_layout();
	}
	if (atomic_load(&cap_installed))
		return 0;
	struct sigaction old;
	if (sigaction(LW_HG_SIGNAL, NULL, &old) < 0)
		return -errno;
	if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler != SIG_DFL)
		return -EBUSY;
	if ((old.sa_flags & SA_SIGINFO) && old.sa_sigaction != capture_handler)
		return -EBUSY;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = capture_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	if (sigaction(LW_HG_SIGNAL, &sa, NULL) < 0)
		return -errno;
	atomic_store(&cap_installed, 1);
	return 0;
}

/* Reads the sp of a thread blocked in a system call from
 * /proc/self/task/TID/syscall ("nr a1 .. a6 sp pc"); 0 if unknown. */
static uint64_t syscall_sp(uint32_t tid)
{
	char path[64], buf[256];
	char num[16];
	int k = 0;
	uint32_t v = tid;
	do { num[k++] = (char)('0' + v % 10); v /= 10; } while (v && k < 15);
	memcpy(path, "/proc/self/task/", 16);
	size_t p = 16;
	while (k) path[p++] = num[--k];
	memcpy(path + p, "/syscall", 9);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "nr a1 a2 a3 a4 a5 a6 sp pc": field 7 (0-based) is sp */
	int field = 0;
	char *s = buf;
	while (*s && field < 7) {
		while (*s && *s != ' ') s++;
		while (*s == ' ') s++;
		field++;
	}
	if (field != 7 || s[0] != '0' || s[1] != 'x')
		return 0;
	uint64_t sp = 0;
	for (s += 2; *s; s++) {
		int d = (*s >= '0' && *s <= '9') ? *s - '0' : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10 : -1;
		if (d < 0) break;
		sp = sp * 16 + (uint64_t)d;
	}
	return sp;
}

struct lw_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

int lw_heapgraph_stop_threads(lw_hg_threads *ts)
{
	ts->n = 0;
	ts->layout = layout;
	ts->layout.main_tid = (uint32_t)getpid();
	atomic_store(&cap_release, 0);
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	uint32_t self = (uint32_t)syscall(SYS_gettid);
	uint32_t canary_tid = lw_heapwalk_canary_tid();
	char buf[4096] __attribute__((aligned(8)));
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
		if (n <= 0)
			break;
		for (long off = 0; off < n;) {
			struct lw_dirent64 *d = (struct lw_dirent64 *)(buf + off);
			off += d->d_reclen;
			uint32_t tid = 0;
			const char *c = d->d_name;
			if (*c < '0' || *c > '9')
				continue;
			for (; *c >= '0' && *c <= '9'; c++)
				tid = tid * 10 + (uint32_t)(*c - '0');
			if (ts->n >= LW_HG_MAX_THREADS)
				continue;
			lw_hg_thread *t = &ts->t[ts->n++];
			memset(t, 0, sizeof *t);
			t->tid = tid;
			if (tid == self || tid == canary_tid) {
				t->flags = LWD_THREADF_DUMPER;
				/* glibc's pthread_t is the descriptor's address */
				t->tp = tid == self ? read_tp() : lw_heapwalk_canary_thread();
			}
		}
	}
	close(fd);
	int installed = atomic_load(&cap_installed);
	atomic_store(&cap_threads, ts);
	pid_t pid = getpid();
	for (size_t i = 0; i < ts->n; i++) {
		lw_hg_thread *t = &ts->t[i];
		if (t->flags & LWD_THREADF_DUMPER)
			continue;
		if (!installed || syscall(SYS_tgkill, pid, t->tid, LW_HG_SIGNAL) < 0)
			atomic_store(&t->acked, -1);     /* gone or no handler */
	}
	uint64_t deadline = now_ns() + (uint64_t)LW_HG_ACK_MS * 1000000ull;
	for (;;) {
		size_t waiting = 0;
		for (size_t i = 0; i < ts->n; i++)
			if (!(ts->t[i].flags & LWD_THREADF_DUMPER) && (atomic_load(&ts->t[i].acked) == 0 ||
			    atomic_load(&ts->t[i].acked) == 2))
				waiting++;
		if (!waiting || now_ns() >= deadline)
			break;
		struct timespec d = { 0, 50000 };
		nanosleep(&d, NULL);
	}
	for (size_t i = 0; i < ts->n; i++) {
		lw_hg_thread *t = &ts->t[i];
		if ((t->flags & LWD_THREADF_DUMPER) || atomic_load(&t->acked) == 1)
			continue;
		/* no acknowledgement: claim the slot so a late handler leaves it
		 * alone (and does not park); if a handler is filling it right
		 * now, let it finish */
		int expect = 0;
		if (!atomic_compare_exchange_strong(&t->acked, &expect, -1)) {
			while (atomic_load(&t->acked) == 2)
				;
			if (atomic_load(&t->acked) == 1)
				continue;
		}
		t->sp = syscall_sp(t->tid);
		if (t->sp)
			t->flags |= LWD_THREADF_WHOLE_STACK;
	}
	return 0;
}

void lw_heapgraph_resume_threads(lw_hg_threads *ts)
{
	(void)ts;
	atomic_store(&cap_release, 1);
	syscall(SYS_futex, &cap_release, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
	atomic_store(&cap_threads, NULL);
}

/* ---- child: scan -------------------------------------------------------- */

#define TBUF_CAP (1u << 20)      /* targets per flush: 4 MiB */
#define EBUF_RECS 512            /* staged edge records */

static void sort_u32(uint32_t *a, size_t n)
{
	/* iterative quicksort with insertion sort for short runs; libc's qsort
	 * may call malloc, which the child must not */
	size_t stk[128], sp = 0;
	stk[sp++] = 0;
	stk[sp++] = n;
	while (sp) {
		size_t hi = stk[--sp], lo = stk[--sp];
		while (hi - lo > 16) {
			uint32_t x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi - 1];
			uint32_t piv = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
			size_t i = lo, j = hi - 1;
			for (;;) {
				while (a[i] < piv) i++;
				while (a[j] > piv) j--;
				if (i >= j) break;
				uint32_t t = a[i]; a[i] = a[j]; a[j] = t;
				i++; j--;
			}
			/* [lo, j] <= piv <= [j+1, hi) ; push the larger part */
			size_t m = j + 1;
			if (m - lo > hi - m) {
				if (sp + 2 <= 128) { stk[sp++] = lo; stk[sp++] = m; lo = m; }
				else break;
			} else {
				if (sp + 2 <= 128) { stk[sp++] = m; stk[sp++] = hi; hi = m; }
				else break;
			}
		}
		for (size_t i = lo + 1; i < hi; i++) {
			uint32_t v = a[i];
			size_t j = i;
			while (j > lo && a[j - 1] > v) { a[j] = a[j - 1]; j--; }
			a[j] = v;
		}
	}
}

typedef struct scanctx {
	lw_writer *w;
	const lw_heapwalk *hw;
	uint32_t *tbuf;
	size_t tn;
	uint64_t edges, roots, scanned;
	const lw_hg_range *excl;
	size_t n_excl;
	uint8_t ebuf[EBUF_RECS * LWD_HEAP_BLOCK_SIZE];   /* staged records (edges or blocks) */
	size_t en;
} scanctx;

/* Edge records are staged and handed to the writer 4 KiB at a time. */
static void put_edges_flush(scanctx *c)
{
	if (c->en) {
		lw_writer_put(c->w, c->ebuf, c->en * LWD_HEAP_EDGE_SIZE);
		c->en = 0;
	}
}

static void flush_targets(scanctx *c, uint32_t from)
{
	if (c->tn == 0)
		return;
	if (c->tn > 1)
		sort_u32(c->tbuf, c->tn);
	for (size_t i = 0; i < c->tn; i++) {
		if (i > 0 && c->tbuf[i] == c->tbuf[i - 1])
			continue;
		if (c->edges == 0xffffffffu)   /* the u32 record count is full */
			break;
		uint8_t *r = c->ebuf + c->en * LWD_HEAP_EDGE_SIZE;
		uint32_t to = c->tbuf[i];
		for (int k = 0; k < 4; k++) {  /* little-endian, as lw_writer_put_edge */
			r[k] = (uint8_t)(from >> (8 * k));
			r[4 + k] = (uint8_t)(to >> (8 * k));
		}
		if (++c->en == EBUF_RECS)
			put_edges_flush(c);
		c->edges++;
	}
	c->tn = 0;
}

/* Scans [a, e) (readable, 8-aligned) as block `from`. Hot path. */
static void scan_block(scanctx *c, uint32_t from, uint64_t a, uint64_t e)
{
	const lw_heapwalk *hw = c->hw;
	const uint64_t lo = hw->lo, span = hw->hi - hw->lo;
	uint32_t last = LW_HW_NONE;
	c->scanned += e - a;
	for (const uint64_t *p = (const uint64_t *)a, *end = (const uint64_t *)e; p < end; p++) {
		uint64_t v = *p;
		if (v - lo >= span)
			continue;
		uint32_t to = lw_heapwalk_find(hw, v, NULL);
		if (to == LW_HW_NONE || to == from || to == last)
			continue;
		last = to;
		c->tbuf[c->tn++] = to;
		if (c->tn == TBUF_CAP)
			flush_targets(c, from);
	}
}

/* Scans a root range word by word, writing a ROOTS record per hit; skips
 * unreadable memory and the excluded ranges (sorted, disjoint), except for
 * a range inside one live block (a coroutine stack, a thread stack given to
 * pthread_attr_setstack): it lies in a heap segment, which the exclusions
 * cut out, and cannot overlap the shim's memory. */
static void scan_root(scanctx *c, uint32_t kind, uint32_t owner, uint64_t a, uint64_t e)
{
	const lw_heapwalk *hw = c->hw;
	uint64_t rs, re;
	a = (a + 7) & ~7ull;
	e &= ~7ull;
	size_t n_excl = c->n_excl;
	if (a < e && lw_heapwalk_find(hw, a, NULL) != LW_HW_NONE &&
	    lw_heapwalk_find(hw, a, NULL) == lw_heapwalk_find(hw, e - 1, NULL))
		n_excl = 0;
	while (a < e && lw_heapwalk_readable_next(hw, a, e, &rs, &re)) {
		a = re;
		/* cut the first excluded range out of [rs, re) */
		for (size_t x = 0; x < n_excl; x++) {
			const lw_hg_range *r = &c->excl[x];
			if (r->end <= rs || r->start >= re)
				continue;
			if (r->start <= rs) {
				rs = r->end < re ? r->end : re;
				continue;
			}
			a = r->start;          /* resume at the excluded range */
			re = r->start;
			break;
		}
		rs = (rs + 7) & ~7ull;
		if (rs >= re)
			continue;
		c->scanned += re - rs;
		for (uint64_t p = rs; p + 8 <= re; p += 8) {
			int interior = 0;
			uint32_t to = lw_heapwalk_find(hw, *(const uint64_t *)p, &interior);
			if (to == LW_HW_NONE)
				continue;
			lw_writer_put_root(c->w, kind, owner, p, to, interior ? LWD_ROOTF_INTERIOR : 0);
			c->roots++;
		}
	}
}

/* Heap sort by start (no malloc in the child; n may be large). */
static void sift_ranges(lw_hg_range *r, size_t i, size_t n)
{
	for (;;) {
		size_t m = i, l = 2 * i + 1, rr = l + 1;
		if (l < n && r[l].start > r[m].start) m = l;
		if (rr < n && r[rr].start > r[m].start) m = rr;
		if (m == i)
			return;
		lw_hg_range t = r[i]; r[i] = r[m]; r[m] = t;
		i = m;
	}
}

static void sort_ranges(lw_hg_range *r, size_t n)
{
	if (n < 2)
		return;
	for (size_t k = n / 2; k-- > 0;)
		sift_ranges(r, k, n);
	for (size_t end = n - 1; end > 0; end--) {
		lw_hg_range t = r[0]; r[0] = r[end]; r[end] = t;
		sift_ranges(r, 0, end);
	}
}

static void sort_regions(lw_hg_region *r, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		lw_hg_region v = r[i];
		size_t j = i;
		while (j > 0 && (r[j - 1].module > v.module ||
				 (r[j - 1].module == v.module && r[j - 1].start > v.start))) {
			r[j] = r[j - 1];
			j--;
		}
		r[j] = v;
	}
}

/* Heap sort by address (n can be millions at LEAKWATCH_RATE=1; no malloc). */
static void sort_samples(lw_hg_sample *s, size_t n)
{
	if (n < 2)
		return;
	for (size_t k = n / 2; k-- > 0;) {
		for (size_t i = k;;) {
			size_t m = i, l = 2 * i + 1, r = l + 1;
			if (l < n && s[l].addr > s[m].addr) m = l;
			if (r < n && s[r].addr > s[m].addr) m = r;
			if (m == i) break;
			lw_hg_sample t = s[i]; s[i] = s[m]; s[m] = t;
			i = m;
		}
	}
	for (size_t end = n - 1; end > 0; end--) {
		lw_hg_sample t = s[0]; s[0] = s[end]; s[end] = t;
		for (size_t i = 0;;) {
			size_t m = i, l = 2 * i + 1, r = l + 1;
			if (l < end && s[l].addr > s[m].addr) m = l;
			if (r < end && s[r].addr > s[m].addr) m = r;
			if (m == i) break;
			lw_hg_sample u = s[i]; s[i] = s[m]; s[m] = u;
			i = m;
		}
	}
}

/* ---- child: where each thread's roots are ------------------------------- */

static inline uint64_t rd_word(uint64_t a)
{
	return *(const volatile uint64_t *)(uintptr_t)a;
}

static int readable_range(const lw_heapwalk *hw, uint64_t a, uint64_t e)
{
	uint64_t rs, re;
	return a < e && lw_heapwalk_readable_next(hw, a, e, &rs, &re) && rs == a && re == e;
}

/* 1 if tp is a thread descriptor: tcbhead_t starts {tcb, dtv, self} with
 * tcb == self == tp. */
static int is_tcb(const lw_heapwalk *hw, uint64_t tp)
{
	return tp && !(tp & 7) && readable_range(hw, tp, tp + 24) &&
	       rd_word(tp) == tp && rd_word(tp + 16) == tp;
}

/* The descriptor of an uncaptured glibc thread: at the top of its stack
 * mapping (allocate_stack puts it at the end, aligned down to the static TLS
 * alignment, at most a page). 0 if not found. */
static uint64_t find_tcb(const lw_heapwalk *hw, const lw_hg_tls_layout *L, uint64_t sp)
{
	uint64_t ms, me;
	if (!L->tcb_size || !lw_heapwalk_mapping(hw, sp, &ms, &me) || me - ms < L->tcb_size + 4096)
		return 0;
	for (uint64_t tp = (me - L->tcb_size) & ~63ull; tp + 4096 >= me - L->tcb_size && tp >= ms; tp -= 64)
		if (is_tcb(hw, tp))
			return tp;
	return 0;
}

/* 1 if a lies in one of the writable module regions (few: linear). */
static int in_region(const lw_hg_region *r, size_t n, uint64_t a)
{
	for (size_t i = 0; i < n; i++)
		if (a >= r[i].start && a < r[i].end)
			return 1;
	return 0;
}

/* Fills t's root ranges (see heapgraph.h). Child. */
static void plan_thread(const lw_heapwalk *hw, const lw_hg_tls_layout *L,
			const lw_hg_region *regions, size_t n_regions, lw_hg_thread *t)
{
	t->stack_start = t->stack_end = 0;
	t->tls = t->spec = t->dtv = t->alt = (lw_hg_range){ 0, 0 };
	t->arg = 0;
	int dumper = (t->flags & LWD_THREADF_DUMPER) != 0;
	int is_main = t->tid == L->main_tid;
	uint64_t tp = t->tp;
	if (!tp && is_main)
		tp = L->main_tp;
	if (!tp && !is_main && t->sp)
		tp = find_tcb(hw, L, t->sp);
	if (!is_tcb(hw, tp))
		tp = 0;

	/* static TLS and the descriptor */
	if (tp && L->tcb_size && tp + L->tcb_size > L->static_size &&
	    readable_range(hw, tp + L->tcb_size - L->static_size, tp + L->tcb_size)) {
		t->tls = (lw_hg_range){ tp + L->tcb_size - L->static_size, tp + L->tcb_size };
		if (L->spec_off >= 0 && rd_word(tp + (uint64_t)L->spec_off + 512) == tp + (uint64_t)L->spec_off)
			t->spec = (lw_hg_range){ tp + (uint64_t)L->spec_off,
						 tp + (uint64_t)L->spec_off + LW_HG_SPEC_BYTES };
		if (L->arg_off >= 0 && !dumper)
			t->arg = tp + (uint64_t)L->arg_off;
		/* tcb->dtv points at dtv[1]; dtv[0] holds the length. A heap
		 * DTV is a block like any other; ld.so's initial one is not. */
		uint64_t d = rd_word(tp + 8);
		if (d && !(d & 7) && lw_heapwalk_find(hw, d, NULL) == LW_HW_NONE &&
		    readable_range(hw, d - 16, d)) {
			uint64_t len = rd_word(d - 16);
			if (len > 0 && len < 65536 && readable_range(hw, d, d + 16 * (len + 1)))
				t->dtv = (lw_hg_range){ d + 16, d + 16 * (len + 1) };
		}
	}

	/* a thread of the shim: only its TLS, which holds its dynamic-TLS
	 * vector (a heap block) and no program data */
	if (dumper)
		return;

	/* the thread's own stack [hs, he) */
	uint64_t hs = 0, he = 0, ms, me;
	if (is_main) {
		if (!lw_heapwalk_main_stack(hw, &hs, &he))
			hs = he = 0;
	} else if (t->tls.end) {
		uint64_t bs, bz;
		uint32_t b = lw_heapwalk_find(hw, tp, NULL);
		if (b != LW_HW_NONE) {             /* pthread_attr_setstack on a heap block */
			lw_heapwalk_block(hw, b, &bs, &bz);
			hs = bs;
			he = t->tls.start;
		} else if (lw_heapwalk_mapping(hw, tp, &ms, &me)) {
			hs = ms;
			he = t->tls.start;
		}
	} else if (t->sp && lw_heapwalk_mapping(hw, t->sp, &ms, &me)) {
		/* descriptor unknown: the sp mapping, up to the page after tp */
		hs = ms;
		he = me;
		if (t->tp > t->sp && t->tp < me) {
			uint64_t top = (t->tp + 4096) & ~4095ull;
			if (top < me)
				he = top;
		}
	}
	if (hs >= he)
		return;                            /* no stack known: TLS only */
	if (!t->sp) {
		/* not captured and not in a system call: only the main
		 * thread's stack is known without sp; all of it */
		if (is_main) {
			t->stack_start = hs;
			t->stack_end = he;
			t->flags |= LWD_THREADF_WHOLE_STACK;
		}
		return;
	}
	uint64_t sp = t->sp;
	if (sp >= hs && sp < he) {
		uint64_t s = (t->flags & LWD_THREADF_WHOLE_STACK) ? hs :
			     (sp - LW_HG_REDZONE > hs ? sp - LW_HG_REDZONE : hs);
		t->stack_start = s & ~7ull;
		t->stack_end = he;
		return;
	}
	/* running on another stack: all of its own, and the other one from sp */
	t->stack_start = hs;
	t->stack_end = he;
	uint64_t lo = (t->flags & LWD_THREADF_WHOLE_STACK) ? 0 : sp - LW_HG_REDZONE;
	uint64_t bs, bz;
	uint32_t b = lw_heapwalk_find(hw, sp, NULL);
	if (b != LW_HW_NONE) {
		lw_heapwalk_block(hw, b, &bs, &bz);
		t->alt = (lw_hg_range){ (lo > bs ? lo : bs) & ~7ull, bs + bz };
	} else if (!in_region(regions, n_regions, sp) && lw_heapwalk_mapping(hw, sp, &ms, &me)) {
		t->alt = (lw_hg_range){ (lo > ms ? lo : ms) & ~7ull, me };
	}
}

static int cmp_range_start(const lw_hg_range *a, const lw_hg_range *b)
{
	return a->start < b->start ? -1 : a->start > b->start;
}

/* TLS roots of thread i: its static TLS and descriptor without the
 * pthread_setspecific slots and the start argument, and a non-heap DTV, in
 * address order. */
static void scan_tls(scanctx *c, uint32_t i, const lw_hg_thread *t)
{
	lw_hg_range r[5], cut[2];
	size_t n = 0, nc = 0;
	if (t->spec.end > t->spec.start)
		cut[nc++] = t->spec;
	if (t->arg)
		cut[nc++] = (lw_hg_range){ t->arg, t->arg + 8 };
	if (nc == 2 && cmp_range_start(&cut[0], &cut[1]) > 0) {
		lw_hg_range x = cut[0]; cut[0] = cut[1]; cut[1] = x;
	}
	uint64_t a = t->tls.start;
	for (size_t k = 0; k < nc; k++) {
		if (cut[k].start > a)
			r[n++] = (lw_hg_range){ a, cut[k].start };
		if (cut[k].end > a)
			a = cut[k].end;
	}
	if (t->tls.end > a)
		r[n++] = (lw_hg_range){ a, t->tls.end };
	if (t->dtv.end > t->dtv.start &&
	    (t->dtv.end <= t->tls.start || t->dtv.start >= t->tls.end))
		r[n++] = t->dtv;
	for (size_t k = 1; k < n; k++)            /* insertion sort of <= 4 */
		for (size_t j = k; j > 0 && cmp_range_start(&r[j - 1], &r[j]) > 0; j--) {
			lw_hg_range x = r[j]; r[j] = r[j - 1]; r[j - 1] = x;
		}
	for (size_t k = 0; k < n; k++)
		scan_root(c, LWD_ROOT_TLS, i, r[k].start, r[k].end);
}

int lw_heapgraph_write(lw_writer *w, const lw_heapwalk *hw, lw_hg_threads *ts,
		       lw_hg_region *regions, size_t n_regions,
		       lw_hg_range *exclude, size_t n_exclude,
		       lw_hg_sample *samples, size_t n_samples, lw_hg_stats *st)
{
	uint64_t t0 = now_ns();
	scanctx c;
	memset(&c, 0, sizeof c);
	c.w = w;
	c.hw = hw;
	/* never scan heap segments as roots either (a whole-stack fallback may
	 * cover a mapping the kernel merged with a segment) */
	size_t n_all = n_exclude + hw->n_segs;
	size_t excl_bytes = (n_all ? n_all : 1) * sizeof(lw_hg_range);
	lw_hg_range *all = mmap(NULL, excl_bytes, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (all == MAP_FAILED) {
		munmap(c.tbuf, TBUF_CAP * sizeof(uint32_t));
		return -ENOMEM;
	}
	if (n_exclude)
		memcpy(all, exclude, n_exclude * sizeof(lw_hg_range));
	for (size_t i = 0; i < hw->n_segs; i++)
		all[n_exclude + i] = (lw_hg_range){ hw->segs[i].base, hw->segs[i].end };
	sort_ranges(all, n_all);
	c.excl = all;
	c.n_excl = n_all;
	c.tbuf = mmap(NULL, TBUF_CAP * sizeof(uint32_t), PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (c.tbuf == MAP_FAILED)
		return -ENOMEM;

	/* THREADS: root ranges from the maps and the layout, registers masked
	 * to heap addresses */
	size_t n_threads = ts ? ts->n : 0;
	lw_writer_section_begin(w, LWD_SEC_THREADS, 0, (uint32_t)n_threads);
	for (size_t i = 0; i < n_threads; i++) {
		lw_hg_thread *t = &ts->t[i];
		plan_thread(hw, &ts->layout, regions, n_regions, t);
		for (uint32_t k = 0; k < t->n_regs; k++)
			if (lw_heapwalk_find(hw, t->regs[k], NULL) == LW_HW_NONE)
				t->regs[k] = 0;
		lw_thread_info ti = { t->tid, t->flags, t->stack_start, t->stack_end, t->sp,
				      t->n_regs, t->regs };
		lw_writer_put_thread(w, &ti);
	}
	lw_writer_section_end(w);

	/* HEAP_BLOCKS, joined with the sorted samples */
	sort_samples(samples, n_samples);
	lw_writer_section_begin(w, LWD_SEC_HEAP_BLOCKS, 0, (uint32_t)hw->n_blocks);
	{
		size_t pg = 0, si = 0;
		uint64_t slot = 0, a, s;
		while (lw_heapwalk_next(hw, &pg, &slot, &a, &s)) {
			uint32_t live = LWD_NONE, stack = LWD_NONE;
			while (si < n_samples && samples[si].addr < a)
				si++;
			if (si < n_samples && samples[si].addr - a < s) {
				live = samples[si].live;
				stack = samples[si].stack;
				si++;
			}
			/* staged like the edges: one lw_writer_put per 512 records */
			uint8_t *r = c.ebuf + c.en * LWD_HEAP_BLOCK_SIZE;
			for (int k = 0; k < 8; k++) {
				r[k] = (uint8_t)(a >> (8 * k));
				r[8 + k] = (uint8_t)(s >> (8 * k));
			}
			for (int k = 0; k < 4; k++) {
				r[16 + k] = (uint8_t)(live >> (8 * k));
				r[20 + k] = (uint8_t)(stack >> (8 * k));
			}
			if (++c.en == EBUF_RECS) {
				lw_writer_put(w, c.ebuf, c.en * LWD_HEAP_BLOCK_SIZE);
				c.en = 0;
			}
		}
		if (c.en) {
			lw_writer_put(w, c.ebuf, c.en * LWD_HEAP_BLOCK_SIZE);
			c.en = 0;
		}
	}
	lw_writer_section_end(w);

	/* ROOTS: globals by (module, address), stacks, registers */
	lw_writer_section_begin(w, LWD_SEC_ROOTS, 0, 0);
	sort_regions(regions, n_regions);
	for (size_t i = 0; i < n_regions; i++)
		scan_root(&c, LWD_ROOT_GLOBAL, regions[i].module, regions[i].start, regions[i].end);
	for (size_t i = 0; i < n_threads; i++)
		if (ts->t[i].stack_end > ts->t[i].stack_start)
			scan_root(&c, LWD_ROOT_STACK, (uint32_t)i, ts->t[i].stack_start, ts->t[i].stack_end);
	for (size_t i = 0; i < n_threads; i++)
		for (uint32_t k = 0; k < ts->t[i].n_regs; k++) {
			int interior = 0;
			uint32_t to = lw_heapwalk_find(hw, ts->t[i].regs[k], &interior);
			if (to == LW_HW_NONE)
				continue;
			lw_writer_put_root(w, LWD_ROOT_REGISTER, (uint32_t)i, k, to,
					   interior ? LWD_ROOTF_INTERIOR : 0);
			c.roots++;
		}
	for (size_t i = 0; i < n_threads; i++)
		if (ts->t[i].tls.end > ts->t[i].tls.start)
			scan_tls(&c, (uint32_t)i, &ts->t[i]);
	for (size_t i = 0; i < n_threads; i++)
		if (ts->t[i].spec.end > ts->t[i].spec.start)
			scan_root(&c, LWD_ROOT_SPECIFIC, (uint32_t)i, ts->t[i].spec.start, ts->t[i].spec.end);
	for (size_t i = 0; i < n_threads; i++)
		if (ts->t[i].arg)
			scan_root(&c, LWD_ROOT_THREAD_ARG, (uint32_t)i, ts->t[i].arg, ts->t[i].arg + 8);
	for (size_t i = 0; i < n_threads; i++)
		if (ts->t[i].alt.end > ts->t[i].alt.start)
			scan_root(&c, LWD_ROOT_ALT_STACK, (uint32_t)i, ts->t[i].alt.start, ts->t[i].alt.end);
	lw_writer_section_set_count(w, (uint32_t)c.roots);
	lw_writer_section_end(w);

	/* HEAP_EDGES: every live block, in index order */
	lw_writer_section_begin(w, LWD_SEC_HEAP_EDGES, 0, 0);
	{
		uint32_t idx = 0;
		for (size_t pi = 0; pi < hw->n_pages && !w->err; pi++) {
			const lw_hw_page *pg = &hw->pages[pi];
			uint64_t rs, re;
			/* one readability check per page; a page that is partly
			 * unreadable (a huge aligned block whose prefix mimalloc
			 * decommitted) is scanned run by run */
			int whole = lw_heapwalk_readable_next(hw, pg->start, pg->start + pg->span, &rs, &re) &&
				    rs == pg->start && re == pg->start + pg->span;
			for (uint64_t wi = 0; wi < (pg->nslots + 63) / 64; wi++) {
				uint64_t bits = hw->bm[pg->bm_off + wi];
				while (bits) {
					uint64_t slot = wi * 64 + (uint64_t)__builtin_ctzll(bits);
					bits &= bits - 1;
					uint64_t a = pg->start + slot * pg->bsize, e = a + pg->bsize;
					if (whole) {
						scan_block(&c, idx, a, e & ~7ull);
					} else {
						for (uint64_t from = a; from < e &&
						     lw_heapwalk_readable_next(hw, from, e, &rs, &re); from = re)
							scan_block(&c, idx, rs, re & ~7ull);
					}
					flush_targets(&c, idx);
					idx++;
				}
			}
		}
	}
	put_edges_flush(&c);
	lw_graph_edges_end(w, (uint32_t)c.edges);

	munmap(c.tbuf, TBUF_CAP * sizeof(uint32_t));
	munmap(all, excl_bytes);
	if (st) {
		st->blocks = hw->n_blocks;
		st->block_bytes = hw->live_bytes;
		st->edges = c.edges;
		st->roots = c.roots;
		st->scanned_bytes = c.scanned;
		st->scan_ns = now_ns() - t0;
	}
	return w->err;
}

/* ---- child: type hints -------------------------------------------------- */

/* 1 if v lies in one of the sorted, disjoint ranges r[0..n). */
static int in_ranges(const lw_hg_range *r, size_t n, uint64_t v)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {              /* first range with end > v */
		size_t mid = lo + (hi - lo) / 2;
		if (r[mid].end <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && r[lo].start <= v;
}

#define TYPE_RECS 256            /* staged HEAP_TYPES records (4 KiB) */

int lw_heapgraph_write_types(lw_writer *w, const lw_heapwalk *hw,
			     lw_hg_range *modsegs, size_t n_modsegs, uint64_t *n_types)
{
	uint8_t buf[TYPE_RECS * LWD_HEAP_TYPE_SIZE];
	size_t nb = 0;
	uint64_t count = 0;
	uint32_t idx = 0;

	sort_ranges(modsegs, n_modsegs);
	lw_writer_section_begin(w, LWD_SEC_HEAP_TYPES, LWD_SECF_OPTIONAL, 0);
	for (size_t pi = 0; pi < hw->n_pages && !w->err; pi++) {
		const lw_hw_page *pg = &hw->pages[pi];
		uint64_t rs, re;
		int whole = lw_heapwalk_readable_next(hw, pg->start, pg->start + pg->span, &rs, &re) &&
			    rs == pg->start && re == pg->start + pg->span;
		for (uint64_t wi = 0; wi < (pg->nslots + 63) / 64; wi++) {
			uint64_t bits = hw->bm[pg->bm_off + wi];
			while (bits) {
				uint64_t slot = wi * 64 + (uint64_t)__builtin_ctzll(bits);
				bits &= bits - 1;
				uint32_t block = idx++;
				uint64_t a = pg->start + slot * pg->bsize;
				if (pg->bsize < 8 || (a & 7))
					continue;
				if (!whole && !(lw_heapwalk_readable_next(hw, a, a + 8, &rs, &re) &&
						rs == a && re >= a + 8))
					continue;
				uint64_t v = *(const uint64_t *)a;
				/* only module addresses leave the process: a value
				 * in a module segment that is not also a heap
				 * address (the heap never overlaps a module, but
				 * check anyway) */
				if (!in_ranges(modsegs, n_modsegs, v) ||
				    lw_heapwalk_find(hw, v, NULL) != LW_HW_NONE)
					continue;
				if (count == 0xffffffffu)
					continue;
				uint8_t *r = buf + nb * LWD_HEAP_TYPE_SIZE;
				for (int k = 0; k < 4; k++) {   /* as lw_writer_put_heap_type */
					r[k] = (uint8_t)(block >> (8 * k));
					r[4 + k] = 0;
				}
				for (int k = 0; k < 8; k++)
					r[8 + k] = (uint8_t)(v >> (8 * k));
				count++;
				if (++nb == TYPE_RECS) {
					lw_writer_put(w, buf, nb * LWD_HEAP_TYPE_SIZE);
					nb = 0;
				}
			}
		}
	}
	if (nb)
		lw_writer_put(w, buf, nb * LWD_HEAP_TYPE_SIZE);
	lw_writer_section_set_count(w, (uint32_t)count);
	lw_writer_section_end(w);
	if (n_types)
		*n_types = count;
	return w->err;
}
