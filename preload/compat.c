/* compat.c — jemalloc's own API, served and answered by the shim.
 *
 * Role: a program linked against libjemalloc (Debian's redis-server) calls
 * jemalloc's non-standard entry points next to malloc. Under the shim
 * malloc and free are mimalloc's, so jemalloc itself would describe a heap
 * that serves nothing (redis would show allocator_allocated 28 KiB next to a
 * 58 MiB keyspace), its purge would return nothing to the system, and a
 * block from jemalloc's mallocx() would reach mimalloc's free(). The
 * shim therefore exports every such name, so that one allocator serves and
 * answers (the names are listed in leakwatch.map):
 *   mallocx rallocx xallocx sallocx dallocx sdallocx nallocx
 *       served by the core (core.h), sampled like malloc;
 *   mallctl mallctlnametomib mallctlbymib
 *       the control tree below, answered from mimalloc;
 *   malloc_stats_print
 *       the same figures, as text or (opts containing 'J') JSON.
 * A program that links jemalloc statically, or calls it through its own
 * dlopen handle, never reaches these functions (and then its jemalloc serves
 * its allocations itself).
 *
 * The control tree (jemalloc 5.3 semantics for every name it answers):
 *   epoch                  rw uint64_t  writing refreshes the figures
 *   stats.resident         r  size_t    min(mimalloc committed, anonymous RSS)
 *   stats.mapped           r  size_t    mimalloc committed bytes
 *   arenas.narenas         r  unsigned  1 (mimalloc has no arenas to choose)
 *   arenas.create          r  unsigned  EAGAIN: MALLOCX_ARENA is not honoured
 *   arena.<i>.purge        -            mi_collect(true): free empty pages and
 *                                       segments, release cached ones
 *   arena.<i>.decay        -            mi_collect(false)
 *   thread.tcache.flush    -            nothing to flush (mimalloc keeps no
 *                                       thread cache of freed blocks)
 * <i> is 0 or 1 (= narenas: "all", deprecated in jemalloc but what redis
 * uses), MALLCTL_ARENAS_ALL (4096) or MALLCTL_ARENAS_DESTROYED (4097, a
 * no-op); any other index is ENOENT (those arenas do not exist here; the
 * name is not passed on). Errors as jemalloc's ctl.c: ENOENT for an unknown or partial name,
 * EPERM for a write to a read-only name (or any access to a purge), EINVAL
 * for a value of the wrong size; a read into a short buffer copies what
 * fits, stores the copied length in *oldlenp and returns EINVAL; a NULL
 * oldp or oldlenp reads nothing. Figures are cached until "epoch" is
 * written, as in jemalloc. Other names:
 *   - stats.* and the thread.allocated/deallocated counters: ENOENT, as from
 *     a jemalloc built without statistics. mimalloc 2.0.9 keeps no count of
 *     allocated or active bytes in a release build; jemalloc's own counters
 *     would describe its unused heap. redis then falls back to its own
 *     counts (used_memory for allocator_allocated).
 *   - anything else (opt.*, config.*, version, arenas.page, prof.*, ...)
 *     goes to the next mallctl in lookup order, libjemalloc's when it is
 *     loaded, so those names answer exactly as without the shim (they
 *     describe jemalloc's configuration); ENOENT when no jemalloc is loaded.
 * Our mibs carry LW_MIB_ROOT in mib[0], so mallctlbymib() can tell them
 * from jemalloc's (whose mib[0] is a small child index) and pass those on.
 *
 * Invariants: no locks (the figures are atomics), so fork and signals need
 * nothing here; errno is preserved, as jemalloc's API reports errors by
 * return value (mallocx and rallocx return NULL without setting errno).
 * Bad arguments that jemalloc leaves undefined (NULL name, NULL mib, NULL
 * ptr) return EINVAL, NULL or 0 instead of crashing.
 * Hot path: the *allocx functions add a flags test to the core fast path.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

#define LW_EXPORT __attribute__((visibility("default")))

/* jemalloc's MALLOCX_* flag layout (jemalloc_macros.h). */
#define LW_MALLOCX_LG_ALIGN_MASK 0x3f
#define LW_MALLOCX_ZERO 0x40
#define LW_ARENAS_ALL 4096u
#define LW_ARENAS_DESTROYED 4097u
#define LW_NARENAS 1u
/* Tag in mib[0] of the mibs made here ("lw"). */
#define LW_MIB_ROOT ((size_t)0x6c770000u)
#define LW_MIB_MAXDEPTH 4
/* mimalloc's medium object limit: up to it mi_good_size() is exact. */
/* Larger alignments cannot be served (mimalloc would need twice that). */
#define LW_MAX_ALIGN ((size_t)PTRDIFF_MAX / 2)

typedef void lw_write_cb(void *, const char *);

LW_EXPORT void *mallocx(size_t size, int flags);
LW_EXPORT void *rallocx(void *ptr, size_t size, int flags);
LW_EXPORT size_t xallocx(void *ptr, size_t size, size_t extra, int flags);
LW_EXPORT size_t sallocx(const void *ptr, int flags);
LW_EXPORT void dallocx(void *ptr, int flags);
LW_EXPORT void sdallocx(void *ptr, size_t size, int flags);
LW_EXPORT size_t nallocx(size_t size, int flags);
LW_EXPORT int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
LW_EXPORT int mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp);
LW_EXPORT int mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
			   void *newp, size_t newlen);
LW_EXPORT void malloc_stats_print(lw_write_cb *write_cb, void *cbopaque, const char *opts);

/* ---- allocation: the *allocx family ------------------------------------ */

static inline size_t flags_align(int flags)
{
	unsigned lg = (unsigned)flags & LW_MALLOCX_LG_ALIGN_MASK;
	return lg ? (size_t)1 << lg : 0;
}

/* One allocation for mallocx/rallocx: alignments up to 8 are what every
 * mimalloc block has (as in export.c's memalign); larger ones go through
 * lw_core_aligned, which is exact for every alignment. */
static void *alloc_flags(size_t n, int flags)
{
	size_t align = flags_align(flags);
	int zero = flags & LW_MALLOCX_ZERO;
	if (align <= 8)
		return zero ? lw_core_zalloc(n) : lw_core_malloc(n);
	if (align > LW_MAX_ALIGN || n > (size_t)PTRDIFF_MAX - align)
		return NULL;
	void *p = lw_core_aligned(align, n);
	if (p != NULL && zero)
		memset(p, 0, mi_usable_size(p));
	return p;
}

void *mallocx(size_t size, int flags)
{
	int saved = errno;
	void *p = alloc_flags(size, flags);
	errno = saved;
	return p;
}

void *rallocx(void *ptr, size_t size, int flags)
{
	if (ptr == NULL)
		return mallocx(size, flags);
	int saved = errno;
	void *p;
	if (size == 0)          /* realloc(p, 0) frees; rallocx never does */
		size = 1;
	if (flags_align(flags) <= 8 && !(flags & LW_MALLOCX_ZERO)) {
		p = lw_core_realloc(ptr, size);
	} else {
		/* The zeroed or aligned block is new; bytes past the old usable
		 * size stay zero (jemalloc's MALLOCX_ZERO on growth). */
		size_t old = mi_usable_size(ptr);
		p = alloc_flags(size, flags);
		if (p != NULL) {
			memcpy(p, ptr, old < size ? old : size);
			lw_core_free(ptr);
		}
	}
	errno = saved;
	return p;
}

/* Never resizes in place: the real size is the usable size, which satisfies
 * the request exactly when it is at least `size`. */
size_t xallocx(void *ptr, size_t size, size_t extra, int flags)
{
	return ptr ? mi_usable_size(ptr) : 0;
}

size_t sallocx(const void *ptr, int flags)
{
	return ptr ? mi_usable_size(ptr) : 0;
}

void dallocx(void *ptr, int flags)
{
	lw_core_free(ptr);
}

void sdallocx(void *ptr, size_t size, int flags)
{
	lw_core_free(ptr);
}

/* The usable size mallocx(size, flags) would give: exact without an
 * alignment up to 128 KiB (mimalloc's size classes); above, and for
 * aligned requests, a lower bound (mimalloc may give more, never less), so
 * a program that sizes a buffer by nallocx() stays inside its block. 0 when
 * the request cannot be served, as jemalloc. */
size_t nallocx(size_t size, int flags)
{
	size_t align = flags_align(flags);
	if (size == 0)
		size = 1;
	if (align > LW_MAX_ALIGN || size > (size_t)PTRDIFF_MAX - align)
		return 0;
	if (align > 8)
		return size;
	int saved = errno;
	size_t g = mi_good_size(size);
	errno = saved;
	return g < size ? size : g;
}

/* ---- figures ------------------------------------------------------------- */

static atomic_size_t fig_resident, fig_mapped, fig_peak;
static atomic_uint_fast64_t fig_epoch;   /* 0: never refreshed */

/* Anonymous resident bytes from /proc/self/statm (resident - shared
 * pages); 0 if unreadable. Opens and closes one fd. */
static size_t anon_rss(void)
{
	char buf[160];
	if (lw_read_small("/proc/self/statm", buf, sizeof buf) <= 0)
		return 0;
	uint64_t v[3] = { 0, 0, 0 };     /* size resident shared */
	const char *p = buf;
	for (int i = 0; i < 3; i++) {
		long long x = lw_scan_dec(&p);
		if (x < 0)
			return 0;
		v[i] = (uint64_t)x;
	}
	long ps = sysconf(_SC_PAGESIZE);
	return v[1] > v[2] ? (size_t)((v[1] - v[2]) * (uint64_t)(ps > 0 ? ps : 4096)) : 0;
}

/* Both bounds are real: memory mimalloc has not committed cannot be
 * resident, and its heap is anonymous memory. */
static void refresh(void)
{
	size_t commit = 0, peak = 0;
	mi_process_info(NULL, NULL, NULL, NULL, NULL, &commit, &peak, NULL);
	size_t anon = anon_rss();
	atomic_store_explicit(&fig_mapped, commit, memory_order_relaxed);
	atomic_store_explicit(&fig_peak, peak, memory_order_relaxed);
	atomic_store_explicit(&fig_resident, anon && anon < commit ? anon : commit,
			      memory_order_relaxed);
	atomic_fetch_add_explicit(&fig_epoch, 1, memory_order_release);
}

static void ensure_figures(void)
{
	if (atomic_load_explicit(&fig_epoch, memory_order_acquire) == 0)
		refresh();
}

/* ---- the control tree ----------------------------------------------------- */

struct ctl_args {
	const size_t *mib;
	size_t miblen;
	void *oldp;
	size_t *oldlenp;
	void *newp;
	size_t newlen;
};

typedef int ctl_fn(const struct ctl_args *a);

struct ctl_node {
	const char *name;
	ctl_fn *ctl;                   /* terminal when non-NULL */
	const struct ctl_node *kids;
	unsigned nkids;
	int indexed;                   /* kids[0] stands for every valid index */
};

static int ctl_readonly(const struct ctl_args *a)
{
	return a->newp != NULL || a->newlen != 0 ? EPERM : 0;
}

static int ctl_neither(const struct ctl_args *a)
{
	return a->oldp != NULL || a->oldlenp != NULL || ctl_readonly(a) ? EPERM : 0;
}

/* jemalloc's READ(): copies what fits and reports EINVAL on a size
 * mismatch; reads nothing when oldp or oldlenp is NULL. */
static int ctl_read(const struct ctl_args *a, const void *v, size_t len)
{
	if (a->oldp == NULL || a->oldlenp == NULL)
		return 0;
	if (*a->oldlenp != len) {
		size_t copy = len <= *a->oldlenp ? len : *a->oldlenp;
		memcpy(a->oldp, v, copy);
		*a->oldlenp = copy;
		return EINVAL;
	}
	memcpy(a->oldp, v, len);
	return 0;
}

static int ctl_epoch(const struct ctl_args *a)
{
	if (a->newp != NULL) {
		if (a->newlen != sizeof(uint64_t))
			return EINVAL;
		refresh();
	} else {
		ensure_figures();
	}
	uint64_t e = atomic_load_explicit(&fig_epoch, memory_order_acquire);
	return ctl_read(a, &e, sizeof(e));
}

static int read_figure(const struct ctl_args *a, atomic_size_t *fig)
{
	int r = ctl_readonly(a);
	if (r)
		return r;
	ensure_figures();
	size_t v = atomic_load_explicit(fig, memory_order_relaxed);
	return ctl_read(a, &v, sizeof(v));
}

static int ctl_stats_resident(const struct ctl_args *a) { return read_figure(a, &fig_resident); }
static int ctl_stats_mapped(const struct ctl_args *a) { return read_figure(a, &fig_mapped); }

static int ctl_arenas_narenas(const struct ctl_args *a)
{
	int r = ctl_readonly(a);
	unsigned n = LW_NARENAS;
	return r ? r : ctl_read(a, &n, sizeof(n));
}

/* jemalloc's arenas.create starts with VERIFY_READ(unsigned). */
static int ctl_arenas_create(const struct ctl_args *a)
{
	if (a->oldp == NULL || a->oldlenp == NULL || *a->oldlenp != sizeof(unsigned)) {
		if (a->oldlenp != NULL)
			*a->oldlenp = 0;
		return EINVAL;
	}
	return EAGAIN;
}

static int arena_collect(const struct ctl_args *a, int force)
{
	int r = ctl_neither(a);
	if (r)
		return r;
	if (a->miblen < 2 || a->mib[1] > UINT_MAX)
		return EFAULT;
	if (a->mib[1] == LW_ARENAS_DESTROYED)
		return 0;
	mi_collect(force);
	return 0;
}

static int ctl_arena_purge(const struct ctl_args *a) { return arena_collect(a, 1); }
static int ctl_arena_decay(const struct ctl_args *a) { return arena_collect(a, 0); }
static int ctl_tcache_flush(const struct ctl_args *a) { return ctl_neither(a); }

static const struct ctl_node arena_i_kids[] = {
	{ "purge", ctl_arena_purge, NULL, 0, 0 },
	{ "decay", ctl_arena_decay, NULL, 0, 0 },
};
static const struct ctl_node arena_index[] = {
	{ "", NULL, arena_i_kids, 2, 0 },
};
static const struct ctl_node arenas_kids[] = {
	{ "narenas", ctl_arenas_narenas, NULL, 0, 0 },
	{ "create", ctl_arenas_create, NULL, 0, 0 },
};
static const struct ctl_node tcache_kids[] = {
	{ "flush", ctl_tcache_flush, NULL, 0, 0 },
};
static const struct ctl_node thread_kids[] = {
	{ "tcache", NULL, tcache_kids, 1, 0 },
};
static const struct ctl_node stats_kids[] = {
	{ "resident", ctl_stats_resident, NULL, 0, 0 },
	{ "mapped", ctl_stats_mapped, NULL, 0, 0 },
};
static const struct ctl_node root_kids[] = {
	{ "epoch", ctl_epoch, NULL, 0, 0 },
	{ "stats", NULL, stats_kids, 2, 0 },
	{ "arenas", NULL, arenas_kids, 2, 0 },
	{ "arena", NULL, arena_index, 1, 1 },
	{ "thread", NULL, thread_kids, 1, 0 },
};
static const struct ctl_node root = { "", NULL, root_kids, 5, 0 };

static int arena_index_ok(size_t i)
{
	return i <= LW_NARENAS || i == LW_ARENAS_ALL || i == LW_ARENAS_DESTROYED;
}

/* Child of `node` for mib component `c` at depth `d` (mib[0] carries the
 * tag); NULL if none. */
static const struct ctl_node *child_by_mib(const struct ctl_node *node, size_t d, size_t c)
{
	if (node->indexed)
		return arena_index_ok(c) ? &node->kids[0] : NULL;
	if (d == 0) {
		if (c < LW_MIB_ROOT)
			return NULL;
		c -= LW_MIB_ROOT;
	}
	return c < node->nkids ? &node->kids[c] : NULL;
}

/* jemalloc's ctl_lookup(): resolves at most *depth components of name into
 * mib; stops early at a terminal node (more components: ENOENT). On
 * success *depth is the number of components used (unchanged when name is
 * longer than *depth allows) and *end the node reached. LOOKUP_OTHER: a
 * component names no child here, so the name belongs to jemalloc's tree
 * (an index out of range is ENOENT: those arenas do not exist here). */
#define LOOKUP_OTHER (-1)
static int lookup(const char *name, size_t *mib, size_t *depth, const struct ctl_node **end)
{
	const struct ctl_node *node = &root;
	const char *elm = name;
	for (size_t i = 0; i < *depth; i++) {
		const char *dot = strchrnul(elm, '.');
		size_t len = (size_t)(dot - elm);
		if (len == 0 || node->nkids == 0)
			return ENOENT;
		const struct ctl_node *next = NULL;
		size_t c = 0;
		if (node->indexed) {
			for (size_t k = 0; k < len; k++) {
				unsigned dg = (unsigned)(elm[k] - '0');
				if (dg > 9 || c > (SIZE_MAX - dg) / 10)
					return ENOENT;
				c = c * 10 + dg;
			}
			if (arena_index_ok(c))
				next = &node->kids[0];
		} else {
			for (unsigned k = 0; k < node->nkids; k++) {
				if (strlen(node->kids[k].name) == len &&
				    memcmp(node->kids[k].name, elm, len) == 0) {
					next = &node->kids[k];
					c = k + (i == 0 ? LW_MIB_ROOT : 0);
					break;
				}
			}
		}
		if (next == NULL)
			return node->indexed ? ENOENT : LOOKUP_OTHER;
		node = next;
		mib[i] = c;
		if (node->ctl != NULL || *dot == '\0') {
			if (*dot != '\0')
				return ENOENT;
			*depth = i + 1;
			break;
		}
		elm = dot + 1;
	}
	*end = node;
	return 0;
}

static int by_node(const struct ctl_node *node, const size_t *mib, size_t miblen, void *oldp,
		   size_t *oldlenp, void *newp, size_t newlen)
{
	if (node->ctl == NULL)
		return ENOENT;          /* a partial name */
	struct ctl_args a = { mib, miblen, oldp, oldlenp, newp, newlen };
	return node->ctl(&a);
}

/* Names whose jemalloc answer would describe jemalloc's unused heap. */
static int is_heap_figure(const char *name)
{
	static const char *const prefixes[] = {
		"stats", "thread.allocated", "thread.deallocated", "thread.peak",
	};
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(name, prefixes[i], n) == 0 && (name[n] == '\0' || name[n] == '.' ||
		    strcmp(name + n, "p") == 0))
			return 1;
	}
	return 0;
}

/* The next definition of `sym` after the shim (libjemalloc's, when it is
 * loaded), looked up until found. */
static void *next_fn(const char *sym, void *_Atomic *cache, void *self)
{
	void *f = atomic_load_explicit(cache, memory_order_acquire);
	if (f == NULL) {
		f = dlsym(RTLD_NEXT, sym);
		if (f == self)
			f = NULL;
		if (f != NULL)
			atomic_store_explicit(cache, f, memory_order_release);
	}
	return f;
}

typedef int mallctl_fn(const char *, void *, size_t *, void *, size_t);
typedef int nametomib_fn(const char *, size_t *, size_t *);
typedef int bymib_fn(const size_t *, size_t, void *, size_t *, void *, size_t);
static void *_Atomic next_mallctl, *_Atomic next_nametomib, *_Atomic next_bymib;

int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
{
	if (name == NULL)
		return EINVAL;
	int saved = errno;
	size_t mib[LW_MIB_MAXDEPTH], depth = LW_MIB_MAXDEPTH;
	const struct ctl_node *node;
	int r = lookup(name, mib, &depth, &node);
	if (r == 0) {
		r = by_node(node, mib, depth, oldp, oldlenp, newp, newlen);
	} else if (r == LOOKUP_OTHER) {
		mallctl_fn *f = is_heap_figure(name) ? NULL :
			(mallctl_fn *)next_fn("mallctl", &next_mallctl, (void *)mallctl);
		errno = saved;
		return f ? f(name, oldp, oldlenp, newp, newlen) : ENOENT;
	}
	errno = saved;
	return r;
}

int mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp)
{
	if (name == NULL || mibp == NULL || miblenp == NULL)
		return EINVAL;
	int saved = errno;
	size_t mib[LW_MIB_MAXDEPTH];
	size_t depth = *miblenp < LW_MIB_MAXDEPTH ? *miblenp : LW_MIB_MAXDEPTH;
	const struct ctl_node *node;
	int r = lookup(name, mib, &depth, &node);
	if (r == 0) {
		memcpy(mibp, mib, depth * sizeof(mib[0]));
		*miblenp = depth;
	} else if (r == LOOKUP_OTHER) {
		nametomib_fn *f = is_heap_figure(name) ? NULL :
			(nametomib_fn *)next_fn("mallctlnametomib", &next_nametomib,
						(void *)mallctlnametomib);
		errno = saved;
		return f ? f(name, mibp, miblenp) : ENOENT;
	}
	errno = saved;
	return r;
}

int mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,
		 size_t newlen)
{
	if (mib == NULL && miblen != 0)
		return EINVAL;
	if (miblen > 0 && mib[0] < LW_MIB_ROOT) {
		bymib_fn *f = (bymib_fn *)next_fn("mallctlbymib", &next_bymib, (void *)mallctlbymib);
		return f ? f(mib, miblen, oldp, oldlenp, newp, newlen) : ENOENT;
	}
	const struct ctl_node *node = &root;
	for (size_t i = 0; i < miblen && node != NULL; i++)
		node = node->nkids ? child_by_mib(node, i, mib[i]) : NULL;
	if (node == NULL)
		return ENOENT;
	int saved = errno;
	int r = by_node(node, mib, miblen, oldp, oldlenp, newp, newlen);
	errno = saved;
	return r;
}

/* ---- malloc_stats_print ------------------------------------------------------ */

static void stats_emit(lw_write_cb *cb, void *opaque, const char *s)
{
	if (cb != NULL) {
		cb(opaque, s);
		return;
	}
	lw_write_stderr(s, strlen(s));   /* jemalloc's default: stderr */
}

static void fmt_field(char *buf, size_t cap, size_t *pos, const char *name, uint64_t v,
		      const char *sep)
{
	lw_fmt_str(buf, cap, pos, name);
	lw_fmt_u64(buf, cap, pos, v);
	lw_fmt_str(buf, cap, pos, sep);
}

void malloc_stats_print(lw_write_cb *write_cb, void *cbopaque, const char *opts)
{
	int saved = errno;
	refresh();
	uint64_t f[3] = {
		atomic_load_explicit(&fig_mapped, memory_order_relaxed),
		atomic_load_explicit(&fig_peak, memory_order_relaxed),
		atomic_load_explicit(&fig_resident, memory_order_relaxed),
	};
	char buf[1024];
	size_t pos = 0;
	buf[0] = '\0';
	if (opts != NULL && strchr(opts, 'J') != NULL) {
		fmt_field(buf, sizeof(buf), &pos,
			  "{\"leakwatch\": {\"allocator\": \"mimalloc\", \"mimalloc_version\": ",
			  (uint64_t)mi_version(), ", \"stats\": {");
		fmt_field(buf, sizeof(buf), &pos, "\"committed\": ", f[0], ", ");
		fmt_field(buf, sizeof(buf), &pos, "\"peak_committed\": ", f[1], ", ");
		fmt_field(buf, sizeof(buf), &pos, "\"mapped\": ", f[0], ", ");
		fmt_field(buf, sizeof(buf), &pos, "\"resident\": ", f[2], "}}}\n");
	} else {
		fmt_field(buf, sizeof(buf), &pos,
			  "___ Begin leakwatch allocator statistics ___\n"
			  "Allocator: mimalloc (version ", (uint64_t)mi_version(),
			  "), under libleakwatch.so; jemalloc serves no memory "
			  "in this process.\n");
		fmt_field(buf, sizeof(buf), &pos, "committed:       ", f[0], " bytes\n");
		fmt_field(buf, sizeof(buf), &pos, "peak committed:  ", f[1], " bytes\n");
		fmt_field(buf, sizeof(buf), &pos, "resident:        ", f[2],
			  " bytes (at most committed and the anonymous RSS)\n");
		lw_fmt_str(buf, sizeof(buf), &pos,
			   "mallctl answers: epoch, stats.resident, stats.mapped, "
			   "arenas.narenas, arenas.create, arena.<i>.purge, "
			   "arena.<i>.decay, thread.tcache.flush; other stats: ENOENT.\n"
			   "--- End leakwatch allocator statistics ---\n");
	}
	stats_emit(write_cb, cbopaque, buf);
	errno = saved;
}
