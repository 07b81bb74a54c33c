/* unwind.c — stack capture (see unwind.h).
 *
 * Unwinder: libgcc's _Unwind_Backtrace (DWARF .eh_frame, the same unwinder
 * C++ exceptions use), resolved with dlopen("libgcc_s.so.1") + dlsym on that
 * handle. Not libunwind: libunwind 1.6.2 validates addresses by
 * writing them into a private pipe whose fd numbers it keeps in statics and
 * closes/re-creates when a read fails; after a program closes all fds and
 * opens its own files, libunwind reads from, writes one byte into and closes
 * the PROGRAM's descriptors (caught by integration-close_all_fds). Linking
 * libunwind.so.8 would also interpose its _Unwind_RaiseException on every
 * C++ program's exceptions. libgcc's unwinder touches no fd and, with glibc
 * 2.35+, finds FDEs through the lock-free _dl_find_object.
 *
 * Fast path (why: libgcc interprets CFI for every frame with no cache, 65%
 * of the time at LEAKWATCH_RATE=1): collect() first walks with the frame
 * rules cached per return address (unwind_cache.h), starting from its own
 * frame; only when an ip misses the cache, a rule is ambiguous on this
 * stack, or a dlclose overlaps the walk, it throws the partial result away
 * and runs _Unwind_Backtrace, whose callback learns the rule of every frame
 * it passes (verified against libgcc's own result for that frame). The fast
 * walk reads only the calling thread's stack between its own frame and the
 * top of the thread's stack (pthread_getattr_np, once per thread, cached in
 * TLS), every address bounds-checked first, so a wrong rule cannot fault;
 * it runs only when the current sp lies inside those bounds (not on a
 * sigaltstack or a coroutine stack). Both walks produce the same list: the
 * frames from collect()'s return address outwards (a self-check on the first
 * slow walk compares collect()'s idea of its caller's sp/rbp with libgcc's
 * and turns the fast path off for good if they differ).
 * Known limit: a rule is learned from observations, not read from the CFI;
 * a function whose CFA is a DWARF expression (stack realignment through a
 * DRAP register) can look like an rbp-based frame on every observation made
 * so far and then differ; the walk then reads a wrong word as return
 * address, which ends the fast walk (cache miss) unless that word happens to
 * be a cached return address.
 *
 * When: loading libgcc_s costs a process that never samples about 0.3 ms
 * of start-up (a quarter of what the shim added to `/bin/true`), so it is
 * loaded in the constructor only when the program has it already (C++
 * programs: no file is opened then) or the rate is so low that the first
 * sample comes at once (writer.c), else by lw_unwind_load() at the first
 * sample or after the process's first few milliseconds, from the writer
 * thread (writer.h), never from inside an allocation: malloc runs inside the
 * dynamic loader too (link maps while a dlopen is under way, where glibc's
 * dlopen asserts against nesting; TLS blocks under the loader's TLS lock).
 * A sample taken before the unwinder is there gets the unknown stack (pc 0).
 * Not from an atfork handler either: the forking thread holds glibc's
 * atfork lock there, which a dlclose elsewhere needs while it holds the
 * loader's lock (__cxa_finalize unregisters the library's handlers), so a
 * dlopen in the prepare handler can deadlock. A child forked before its
 * parent loaded the unwinder loads it itself, from its own writer thread,
 * when the parent ran no other thread that could have been inside the
 * loader at the fork (lw_unwind_fork_prepare); else it does without.
 * Invariants: the shim's text range [text_lo, text_hi) is computed once from
 * the PT_LOAD segment with PF_X of the object that contains this file's code
 * (dladdr + dl_iterate_phdr). Until it is known, nothing is stripped.
 * Locks: unwind_lock (rwlock, read side around _Unwind_Backtrace only; the
 * fast walk takes no lock); first in the fork lock order.
 * Hot path: not on the allocation fast path; runs once per sample.
 */
#include "unwind.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "unwind_cache.h"
#include "util.h"

/* The three libgcc entry points we use, declared here rather than through
 * <unwind.h> (libunwind-dev installs a different unwind.h on the path). */
struct _Unwind_Context;
typedef int (*lw_trace_fn)(struct _Unwind_Context *ctx, void *arg);
static int (*gcc_backtrace)(lw_trace_fn fn, void *arg);
static uintptr_t (*gcc_get_ip_info)(struct _Unwind_Context *ctx, int *ip_before_insn);
static uintptr_t (*gcc_get_cfa)(struct _Unwind_Context *ctx);
static uintptr_t (*gcc_get_gr)(struct _Unwind_Context *ctx, int regno);
#define LW_DWARF_RBP 6
#define LW_URC_NO_REASON 0
#define LW_URC_END_OF_STACK 5

/* Fast path state: off until the unwinder and the cache exist; on for good
 * once the first slow walk agreed with collect()'s view of its own frame. */
#define LW_FAST_OFF 0
#define LW_FAST_UNCHECKED 1
#define LW_FAST_ON 2
static atomic_int fast_state;

static pthread_rwlock_t unwind_lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static uintptr_t text_lo, text_hi;

/* 1 once load_unwinder() has run, whatever its outcome (release: the
 * entry points and fast_state are set before it), or in a forked child that
 * must do without (lw_unwind_fork_prepare). load_lock serializes loaders
 * and is held across the dlopen; a forked child re-initializes it. */
static atomic_int loaded;
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
/* Set by the prepare handler of a fork while the unwinder is not loaded:
 * 1 when load_lock was free, so the prepare handler holds it until the
 * fork is done; child_may_load: the child may load the unwinder itself. */
static int fork_holds_load_lock, child_may_load;
/* The forking thread and the shim's writer: no other thread that could be
 * inside the loader at the fork. */
#define LW_FORK_SAFE_THREADS 2
/* Failed loads (dlopen) tried before the shim gives up (lw_unwind_load). */
#define LW_UNWIND_TRIES 3

void lw_unwind_rdlock(void) { pthread_rwlock_rdlock(&unwind_lock); }
void lw_unwind_rdunlock(void) { pthread_rwlock_unlock(&unwind_lock); }
void lw_unwind_wrlock(void) { pthread_rwlock_wrlock(&unwind_lock); }
void lw_unwind_wrunlock(void) { pthread_rwlock_unlock(&unwind_lock); }

/* Threads of this process from /proc/self/status, 0 if unknown. Plain
 * open/read: no allocation, no loader call (a fork prepare handler). */
static long proc_threads(void)
{
	static const char key[] = "\nThreads:";
	char buf[4096];
	if (lw_read_small("/proc/self/status", buf, sizeof buf) <= 0)
		return 0;
	const char *p = strstr(buf, key);
	if (p == NULL)
		return 0;
	p += sizeof key - 1;
	long long v = lw_scan_dec(&p);
	return v > 0 ? (long)v : 0;
}

/* A child forked before its parent loaded the unwinder must load it itself,
 * with dlopen, in a process where glibc may have left the loader's locks
 * taken (dl_load_write_lock is not reset in the child) or its lists half
 * changed, if another thread of the parent was inside the loader at the
 * fork; its writer thread would then hang. Which is safe is decided here,
 * in the parent, before the fork: only when the parent runs no thread but
 * the forking one and the shim's writer, and no load is under way (load_lock
 * free; held until the fork is done, so none starts). Otherwise the child
 * does without the unwinder: its samples get the unknown stack. Never a
 * dlopen here (see the top of this file). */
void lw_unwind_fork_prepare(void)
{
	fork_holds_load_lock = 0;
	if (atomic_load_explicit(&loaded, memory_order_acquire))
		return;
	fork_holds_load_lock = pthread_mutex_trylock(&load_lock) == 0;
	long threads = fork_holds_load_lock ? proc_threads() : 0;
	child_may_load = threads >= 1 && threads <= LW_FORK_SAFE_THREADS;
}

void lw_unwind_fork_parent(void)
{
	if (fork_holds_load_lock)
		pthread_mutex_unlock(&load_lock);
}

void lw_unwind_reinit(void)
{
	pthread_rwlock_t fresh = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
	memcpy(&unwind_lock, &fresh, sizeof(fresh));
	pthread_mutex_init(&load_lock, NULL);
	if (!atomic_load_explicit(&loaded, memory_order_relaxed) && !child_may_load)
		atomic_store_explicit(&loaded, 1, memory_order_release);   /* none */
	lw_ucache_after_fork_child();
}

struct find_text {
	uintptr_t base;
	uintptr_t lo, hi;
	int have_libgcc;              /* libgcc_s.so.1 is among the loaded objects */
};

static int is_libgcc(const char *path)
{
	static const char name[] = "libgcc_s.so.1";
	size_t n = path != NULL ? strlen(path) : 0, k = sizeof(name) - 1;
	return n >= k && strcmp(path + n - k, name) == 0 && (n == k || path[n - k - 1] == '/');
}

static int find_text_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct find_text *ft = arg;
	(void)size;
	if (is_libgcc(info->dlpi_name))
		ft->have_libgcc = 1;
	if (info->dlpi_addr != ft->base)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
			uintptr_t hi = lo + ph->p_memsz;
			if (ft->lo == 0 || lo < ft->lo)
				ft->lo = lo;
			if (hi > ft->hi)
				ft->hi = hi;
		}
	}
	return 0;   /* go on: libgcc_s may come later in the list */
}

/* 0, or -1 when dlopen failed (*why: dlerror's text). */
static int load_unwinder(const char **why)
{
	void *h = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		*why = dlerror();
		return -1;
	}
	gcc_get_ip_info = (uintptr_t (*)(struct _Unwind_Context *, int *))dlsym(h, "_Unwind_GetIPInfo");
	if (gcc_get_ip_info != NULL)
		gcc_backtrace = (int (*)(lw_trace_fn, void *))dlsym(h, "_Unwind_Backtrace");
	gcc_get_cfa = (uintptr_t (*)(struct _Unwind_Context *))dlsym(h, "_Unwind_GetCFA");
	gcc_get_gr = (uintptr_t (*)(struct _Unwind_Context *, int))dlsym(h, "_Unwind_GetGR");
	if (gcc_backtrace != NULL && gcc_get_cfa != NULL && gcc_get_gr != NULL &&
	    lw_ucache_init() == 0)
		atomic_store(&fast_state, LW_FAST_UNCHECKED);
	return 0;
}

int lw_unwind_load(void)
{
	static int failures;   /* under load_lock */
	int rc = 0;
	if (atomic_load_explicit(&loaded, memory_order_acquire))
		return 0;
	pthread_mutex_lock(&load_lock);
	if (!atomic_load_explicit(&loaded, memory_order_relaxed)) {
		const char *why = NULL;
		int e = errno;
		rc = load_unwinder(&why);
		errno = e;
		/* A failure may pass (no descriptor free, no memory, at that
		 * moment): the caller may try again, up to LW_UNWIND_TRIES. */
		if (rc == 0 || ++failures >= LW_UNWIND_TRIES) {
			if (rc != 0)
				lw_warn("cannot load libgcc_s.so.1 (", why ? why : "?",
					"): allocation stacks will be empty", (const char *)NULL);
			rc = 0;
			atomic_store_explicit(&loaded, 1, memory_order_release);
		}
	}
	pthread_mutex_unlock(&load_lock);
	return rc;
}

int lw_unwind_loaded(void)
{
	return atomic_load_explicit(&loaded, memory_order_acquire);
}

void lw_unwind_init(void)
{
	Dl_info di;
	if (text_hi != 0)
		return;
	if (dladdr((void *)(uintptr_t)&lw_unwind_init, &di) == 0 || di.dli_fbase == NULL)
		return;
	/* dli_fbase is the lowest mapped address; dlpi_addr is the load bias.
	 * For a shared object linked at 0 they coincide. */
	struct find_text ft = { (uintptr_t)di.dli_fbase, 0, 0, 0 };
	dl_iterate_phdr(find_text_cb, &ft);
	if (ft.have_libgcc)
		lw_unwind_load();   /* already mapped: dlopen only finds it */
	if (ft.hi == 0)
		return;
	text_lo = ft.lo;
	text_hi = ft.hi;
}

int lw_unwind_in_shim(uintptr_t pc)
{
	return pc >= text_lo && pc < text_hi;
}

#define RAW_MAX (LW_UNWIND_MAX + 16)   /* room for the shim's own frames */

/* The calling thread's stack [lo, hi), from pthread_getattr_np (which
 * mallocs: callers hold the reentrancy guard) once per thread. A new thread
 * starts with zeroed TLS, so state 0 = not asked yet; -1 = unknown (no fast
 * path on this thread). A forked child keeps the forking thread's stack. */
static __thread struct {
	uintptr_t lo, hi;
	int state;
} stk __attribute__((tls_model("initial-exec")));

static int stack_bounds(void)
{
	if (LW_LIKELY(stk.state != 0))
		return stk.state > 0;
	pthread_attr_t a;
	void *addr = NULL;
	size_t size = 0;
	stk.state = -1;
	if (pthread_getattr_np(pthread_self(), &a) != 0)
		return 0;
	if (pthread_attr_getstack(&a, &addr, &size) == 0 && addr != NULL && size != 0) {
		stk.lo = (uintptr_t)addr;
		stk.hi = (uintptr_t)addr + size;
		stk.state = 1;
	}
	pthread_attr_destroy(&a);
	return stk.state > 0;
}

/* The slow walk also sees the frames inside libgcc and collect() before
 * collect()'s caller; they do not count against RAW_MAX. */
#define PRE_MAX 16

_Static_assert(LW_UNWIND_BUF >= RAW_MAX + PRE_MAX, "unwind.h: LW_UNWIND_BUF too small");

struct trace {
	uint64_t *pcs;                /* LW_UNWIND_BUF entries, the caller's */
	int n;
	/* slow walk only: */
	int learn;                    /* bounds known and no dlclose under way */
	uint64_t gen;                 /* lw_ucache_gen() at the start */
	int ended;                    /* libgcc reached the end of the stack itself */
	uintptr_t anchor;             /* collect()'s return address */
	int anchor_at;                /* index of its first occurrence, or -1 */
	uintptr_t anchor_sp, anchor_bp;
	int have_prev, prev_before;
	uintptr_t prev_pc, prev_sp, prev_bp;
};

static int trace_cb(struct _Unwind_Context *ctx, void *arg)
{
	struct trace *t = arg;
	int before = 0;
	uintptr_t ip = gcc_get_ip_info(ctx, &before);
	t->ended = 0;
	/* a signal frame's ip is the interrupted instruction itself: store it
	 * +1 so that every stored pc is "return address" style (pc-1 is in the
	 * instruction) */
	uintptr_t pc = before && ip != 0 ? ip + 1 : ip;
	if (t->learn) {
		/* this frame's sp is the CFA of the frame before it (libgcc keeps
		 * the caller's sp only as the callee's CFA) */
		uintptr_t sp = gcc_get_cfa(ctx);
		uintptr_t bp = gcc_get_gr(ctx, LW_DWARF_RBP);
		/* ip 0: the frame before has no caller (its CFI leaves the return
		 * address undefined, as _start's does): libgcc stops there */
		if (t->have_prev && !t->prev_before && ip == 0 &&
		    lw_ucache_gen() == t->gen && !lw_ucache_gen_busy())
			lw_ucache_learn_end(t->prev_pc);
		else if (t->have_prev && !before && !t->prev_before &&
			 t->prev_sp >= stk.lo && t->prev_sp < sp && sp <= stk.hi &&
			 lw_ucache_gen() == t->gen && !lw_ucache_gen_busy())
			lw_ucache_learn(t->prev_pc, t->prev_sp, t->prev_bp, pc, sp, bp);
		t->have_prev = 1;
		t->prev_before = before;
		t->prev_pc = pc;
		t->prev_sp = sp;
		t->prev_bp = bp;
		if (pc == t->anchor && t->anchor_at < 0) {
			t->anchor_at = t->n;
			t->anchor_sp = sp;
			t->anchor_bp = bp;
		}
	}
	if (ip == 0)
		return LW_URC_END_OF_STACK;
	if (!t->learn && pc == t->anchor && t->anchor_at < 0)
		t->anchor_at = t->n;
	t->pcs[t->n++] = pc;
	if (t->n - (t->anchor_at < 0 ? 0 : t->anchor_at) == RAW_MAX || t->n == RAW_MAX + PRE_MAX)
		return LW_URC_END_OF_STACK;
	t->ended = 1;   /* stays 1 only if libgcc calls no further frame */
	return LW_URC_NO_REASON;
}

/* For a step with LW_UCOP_MULTI: 1 if every candidate slot of ip's rules
 * entry, all at or above sp, holds v (the value of the first candidate). The
 * rules entry may be newer than the step (narrowed by a learner since): the
 * true slot is a candidate of every rule learned for ip, so agreement of the
 * current candidates still proves v right. */
static __attribute__((noinline)) int other_slots_agree(uintptr_t ip, uintptr_t cfa, uintptr_t sp,
						       uintptr_t v)
{
	uint64_t r = lw_ucache_get(ip);
	uint64_t slots = (r & LW_UC_SLOTS_MASK) >> LW_UC_SLOTS_SHIFT;
	if (slots == 0)
		return 0;
	const uintptr_t *base = (const uintptr_t *)(cfa - 8 * LW_UC_SLOT_FIRST);
	if ((uintptr_t)(base - (63u - (unsigned)__builtin_clzll(slots))) < sp)
		return 0;
	for (; slots != 0; slots &= slots - 1)
		if (*(base - (unsigned)__builtin_ctzll(slots)) != v)
			return 0;
	return 1;
}

/* Walks with cached rules from the frame (ip, sp, bp). 1 with t->pcs/t->n
 * filled when the whole stack (or RAW_MAX frames) was walked; 0 when some
 * frame has no usable rule. Reads only [sp, stk.hi).
 * Per frame: one load of the compiled step (unwind_cache.h), whose tag
 * compare also rejects ips at or above 2^47; the CFA from one register,
 * checked against the other when both rule kinds are possible; the bounds;
 * the return address; the caller's rbp from one slot (checked against the
 * other candidates, if any) or unchanged. This loop is most of the cost of
 * a sample. Not inlined: inside collect() the compiler ran out of registers
 * and spilled the loop's state. */
static __attribute__((noinline)) int fast_walk(struct trace *t, uintptr_t ip, uintptr_t sp,
					       uintptr_t bp)
{
	_Atomic uint64_t *const ops = lw_ucache_ops;
	const uintptr_t hi = stk.hi;
	uint64_t *const out = t->pcs;
	int n = 0;
	if (ops == NULL)
		return 0;
	for (;;) {
		out[n++] = ip;
		if (n == RAW_MAX)
			break;
		uint64_t w = atomic_load_explicit(&ops[lw_ucache_slot(ip)], memory_order_relaxed);
		if ((w >> LW_UC_RULE_BITS) != (uint64_t)(ip >> LW_UC_BITS))
			return 0;
		if (LW_UNLIKELY((w & (LW_UCOP_VALID | LW_UCOP_END)) != LW_UCOP_VALID)) {
			if (w & LW_UCOP_VALID)
				break;           /* END: the outermost frame */
			return 0;                /* NOCACHE */
		}
		uintptr_t cfa = ((w & LW_UCOP_FROM_RSP) ? sp : bp) +
				8 * ((w >> LW_UCOP_OFF_SHIFT) & LW_UCOP_OFF_MAX);
		if ((w & LW_UCOP_CHECK_RBP) &&
		    bp + 8 * ((w >> LW_UCOP_RBP_SHIFT) & LW_UCOP_RBP_MAX) != cfa)
			return 0;
		if (cfa <= sp || cfa > hi || (cfa & 7))
			return 0;
		uintptr_t nip = *(const uintptr_t *)(cfa - 8);
		if (w & LW_UCOP_LOAD_BP) {
			uintptr_t slot = cfa - 8 * ((w >> LW_UCOP_SLOT_SHIFT) & LW_UCOP_SLOT_MAX);
			if (slot < sp)
				return 0;
			uintptr_t v = *(const uintptr_t *)slot;
			if ((w & LW_UCOP_CHECK_SAME) && v != bp)
				return 0;
			/* Several candidate slots: they must agree, unless the
			 * caller is the outermost frame, which uses no rbp (libc's
			 * start frame, the usual case: its rbp of 0 matches many
			 * zero slots). */
			if (LW_UNLIKELY(w & LW_UCOP_MULTI) &&
			    (lw_ucache_lookup(ops, nip) & (LW_UCOP_VALID | LW_UCOP_END)) !=
				    (LW_UCOP_VALID | LW_UCOP_END) &&
			    !other_slots_agree(ip, cfa, sp, v))
				return 0;
			bp = v;
		}
		sp = cfa;
		if (nip == 0)
			break;
		ip = nip;
	}
	t->n = n;
	return 1;
}

#define LW_WALK_ANY 0
#define LW_WALK_SLOW 1
#define LW_WALK_FAST 2

/* Fills t with the frames from collect()'s return address outwards
 * (t->n = -1: mode LW_WALK_FAST and the fast walk could not finish).
 * Never inlined: its own frame is where the fast walk starts, and the slow
 * walk finds it by its return address. Guard held, no shim lock held. */
/* gcc may clone a function specialized for a constant argument, which would
 * change the frame the self-check expects; clang has no such clones. */
#if defined(__clang__)
#define LW_NO_CLONE __attribute__((noinline))
#else
#define LW_NO_CLONE __attribute__((noinline, noclone))
#endif
static LW_NO_CLONE void collect(struct trace *t, int mode)
{
	uintptr_t *fp = __builtin_frame_address(0);
	uintptr_t ip0 = (uintptr_t)__builtin_return_address(0);
	uintptr_t sp0 = (uintptr_t)(fp + 2);      /* this frame's CFA */
	uintptr_t bp0 = fp[0];                     /* the caller's rbp, saved by our prologue */
	int fast = atomic_load_explicit(&fast_state, memory_order_relaxed);
	int bounds = fast != LW_FAST_OFF && stack_bounds() && sp0 >= stk.lo && sp0 < stk.hi;

	t->n = 0;
	if (fast == LW_FAST_ON && bounds && mode != LW_WALK_SLOW) {
		uint64_t g = lw_ucache_gen();
		if (!lw_ucache_gen_busy() && fast_walk(t, ip0, sp0, bp0)) {
			atomic_thread_fence(memory_order_acquire);
			if (lw_ucache_gen() == g && !lw_ucache_gen_busy())
				return;
		}
	}
	if (mode == LW_WALK_FAST) {
		t->n = -1;
		return;
	}
	t->n = 0;
	if (gcc_backtrace == NULL)
		return;
	t->gen = lw_ucache_gen();
	t->learn = bounds && !lw_ucache_gen_busy();
	t->ended = 0;
	t->anchor = ip0;
	t->anchor_at = -1;
	t->have_prev = 0;
	lw_unwind_rdlock();
	int rc = gcc_backtrace(trace_cb, t);
	lw_unwind_rdunlock();
	if (t->anchor_at < 0) {
		/* our own frame not seen: keep everything, never go fast */
		atomic_store(&fast_state, LW_FAST_OFF);
		if (t->n > RAW_MAX)
			t->n = RAW_MAX;
		return;
	}
	if (t->learn && fast == LW_FAST_UNCHECKED) {
		int ok = t->anchor_sp == sp0 && t->anchor_bp == bp0;
		atomic_store(&fast_state, ok ? LW_FAST_ON : LW_FAST_OFF);
	}
	if (t->learn && rc == LW_URC_END_OF_STACK && t->ended && t->n > 0 &&
	    lw_ucache_gen() == t->gen && !lw_ucache_gen_busy())
		lw_ucache_learn_end(t->pcs[t->n - 1]);
	t->n -= t->anchor_at;
	memmove(t->pcs, t->pcs + t->anchor_at, (size_t)t->n * sizeof(t->pcs[0]));
}

const uint64_t *lw_unwind_capture(struct lw_unwind_buf *buf, uint32_t *depth, int *truncated)
{
	struct trace t;
	t.pcs = buf->pcs;
	collect(&t, LW_WALK_ANY);
	int n = t.n;
	uint64_t *pcs = buf->pcs;

	/* Drop everything up to the end of the first run of shim frames (the
	 * innermost frames are ours: unwind.c, core.c, export.c; then comes the
	 * program). If no shim frame is found (text range unknown), keep all. */
	int i = 0;
	while (i < n && !lw_unwind_in_shim(pcs[i]))
		i++;
	if (i == n)
		i = 0;
	while (i < n && lw_unwind_in_shim(pcs[i]))
		i++;
	int d = n - i;
	*truncated = d > LW_UNWIND_MAX || n == RAW_MAX;
	if (d > LW_UNWIND_MAX)
		d = LW_UNWIND_MAX;
	if (d <= 0) {
		pcs[0] = 0;
		*depth = 1;
		return pcs;
	}
	*depth = (uint32_t)d;
	return pcs + i;
}

int lw_unwind_raw(uint64_t *pcs, int cap, int mode)
{
	struct lw_unwind_buf buf;
	struct trace t;
	t.pcs = buf.pcs;
	collect(&t, mode);
	if (t.n < 0)
		return -1;
	int n = t.n < cap ? t.n : cap;
	memcpy(pcs, buf.pcs, (size_t)n * sizeof(pcs[0]));
	return n;
}

int lw_unwind_dlclose(int (*real)(void *), void *handle)
{
	return lw_ucache_dlclose(real, handle);
}
