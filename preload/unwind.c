/* unwind.c — stack capture (see unwind.h).
 *
 * Unwinder: libgcc's _Unwind_Backtrace (DWARF .eh_frame, the same unwinder
 * C++ exceptions use), resolved with dlopen("libgcc_s.so.1") + dlsym on that
 * handle at init. Not libunwind: libunwind 1.6.2 validates addresses by
 * writing them into a private pipe whose fd numbers it keeps in statics and
 * closes/re-creates when a read fails; after a program closes all fds and
 * opens its own files, libunwind reads from, writes one byte into and closes
 * the PROGRAM's descriptors (caught by integration-close_all_fds). Linking
 * libunwind.so.8 would also interpose its _Unwind_RaiseException on every
 * C++ program's exceptions. libgcc's unwinder touches no fd and, with glibc
 * 2.35+, finds FDEs through the lock-free _dl_find_object.
 *
 * Invariants: the shim's text range [text_lo, text_hi) is computed once from
 * the PT_LOAD segment with PF_X of the object that contains this file's code
 * (dladdr + dl_iterate_phdr). Until it is known, nothing is stripped.
 * Locks: unwind_lock (rwlock, read side around _Unwind_Backtrace); first in
 * the fork lock order.
 * Hot path: not on the allocation fast path; runs once per sample.
 */
#include "unwind.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <string.h>

#include "util.h"

/* The three libgcc entry points we use, declared here rather than through
 * <unwind.h> (libunwind-dev installs a different unwind.h on the path). */
struct _Unwind_Context;
typedef int (*lw_trace_fn)(struct _Unwind_Context *ctx, void *arg);
static int (*gcc_backtrace)(lw_trace_fn fn, void *arg);
static uintptr_t (*gcc_get_ip_info)(struct _Unwind_Context *ctx, int *ip_before_insn);
#define LW_URC_NO_REASON 0
#define LW_URC_END_OF_STACK 5

static pthread_rwlock_t unwind_lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static uintptr_t text_lo, text_hi;

void lw_unwind_rdlock(void) { pthread_rwlock_rdlock(&unwind_lock); }
void lw_unwind_rdunlock(void) { pthread_rwlock_unlock(&unwind_lock); }
void lw_unwind_wrlock(void) { pthread_rwlock_wrlock(&unwind_lock); }
void lw_unwind_wrunlock(void) { pthread_rwlock_unlock(&unwind_lock); }

void lw_unwind_reinit(void)
{
	pthread_rwlock_t fresh = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
	memcpy(&unwind_lock, &fresh, sizeof(fresh));
}

struct find_text {
	uintptr_t base;
	uintptr_t lo, hi;
};

static int find_text_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct find_text *ft = arg;
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
	return 1;
}

static void load_unwinder(void)
{
	void *h = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		lw_warn("cannot load libgcc_s.so.1: allocation stacks will be empty",
			(const char *)NULL);
		return;
	}
	gcc_get_ip_info = (uintptr_t (*)(struct _Unwind_Context *, int *))dlsym(h, "_Unwind_GetIPInfo");
	if (gcc_get_ip_info != NULL)
		gcc_backtrace = (int (*)(lw_trace_fn, void *))dlsym(h, "_Unwind_Backtrace");
}

void lw_unwind_init(void)
{
	Dl_info di;
	if (text_hi != 0)
		return;
	load_unwinder();
	if (dladdr((void *)(uintptr_t)&lw_unwind_init, &di) == 0 || di.dli_fbase == NULL)
		return;
	/* dli_fbase is the lowest mapped address; dlpi_addr is the load bias.
	 * For a shared object linked at 0 they coincide. */
	struct find_text ft = { (uintptr_t)di.dli_fbase, 0, 0 };
	dl_iterate_phdr(find_text_cb, &ft);
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

struct trace {
	uintptr_t pcs[RAW_MAX];
	int n;
};

static int trace_cb(struct _Unwind_Context *ctx, void *arg)
{
	struct trace *t = arg;
	int before = 0;
	uintptr_t ip = gcc_get_ip_info(ctx, &before);
	if (ip == 0)
		return LW_URC_END_OF_STACK;
	/* a signal frame's ip is the interrupted instruction itself: store it
	 * +1 so that every stored pc is "return address" style (pc-1 is in the
	 * instruction) */
	t->pcs[t->n++] = before ? ip + 1 : ip;
	return t->n < RAW_MAX ? LW_URC_NO_REASON : LW_URC_END_OF_STACK;
}

uint32_t lw_unwind_capture(uint64_t *pcs, int *truncated)
{
	struct trace t;
	t.n = 0;
	if (gcc_backtrace != NULL) {
		lw_unwind_rdlock();
		gcc_backtrace(trace_cb, &t);
		lw_unwind_rdunlock();
	}
	int n = t.n;

	/* Drop everything up to the end of the first run of shim frames (the
	 * innermost frames are ours: unwind.c, core.c, export.c; then comes the
	 * program). If no shim frame is found (text range unknown), keep all. */
	int i = 0;
	while (i < n && !lw_unwind_in_shim(t.pcs[i]))
		i++;
	if (i == n)
		i = 0;
	while (i < n && lw_unwind_in_shim(t.pcs[i]))
		i++;
	uint32_t depth = 0;
	for (; i < n && depth < LW_UNWIND_MAX; i++)
		pcs[depth++] = (uint64_t)t.pcs[i];
	*truncated = (i < n) || n == RAW_MAX;
	if (depth == 0) {
		pcs[0] = 0;
		depth = 1;
	}
	return depth;
}
