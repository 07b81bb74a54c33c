/* export.c — the ONLY definitions of exported symbols in libleakwatch.so:
 * the C allocation API, glibc's __libc_* aliases, every C++ operator
 * new/delete form (written in C under their Itanium-mangled names) and the
 * leakwatch_* API (defined in writer.c, listed in leakwatch.map), and
 * dlclose (records the module in the module map before it goes away).
 *
 * Each function checks arguments the way glibc 2.36 does and forwards to the
 * core (core.h). The set of exported names is fixed by preload/leakwatch.map
 * and checked by tests/preload/test_symbols.sh.
 * Hot path: every function here; they add nothing beyond the core fast path
 * except glibc's argument checks.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "core.h"
#include "modmap.h"
#include "unwind.h"

#define LW_EXPORT __attribute__((visibility("default")))

/* The prototypes are declared here (not from <stdlib.h>/<malloc.h>) so that
 * glibc's attribute-laden declarations do not fight the aliases below. */
LW_EXPORT void *malloc(size_t n);
LW_EXPORT void free(void *p);
LW_EXPORT void *calloc(size_t c, size_t n);
LW_EXPORT void *realloc(void *p, size_t n);
LW_EXPORT void *reallocarray(void *p, size_t c, size_t n);
LW_EXPORT int posix_memalign(void **out, size_t align, size_t n);
LW_EXPORT void *aligned_alloc(size_t align, size_t n);
LW_EXPORT void *memalign(size_t align, size_t n);
LW_EXPORT void *valloc(size_t n);
LW_EXPORT void *pvalloc(size_t n);
LW_EXPORT size_t malloc_usable_size(void *p);
LW_EXPORT void cfree(void *p);
LW_EXPORT void *__libc_malloc(size_t n);
LW_EXPORT void __libc_free(void *p);
LW_EXPORT void *__libc_calloc(size_t c, size_t n);
LW_EXPORT void *__libc_realloc(void *p, size_t n);
LW_EXPORT void *__libc_memalign(size_t align, size_t n);
LW_EXPORT void *__libc_valloc(size_t n);
LW_EXPORT void *__libc_pvalloc(size_t n);

static inline void *fail_enomem(void)
{
	errno = ENOMEM;
	return NULL;
}

/* mi_malloc, mi_zalloc and mi_realloc set errno = ENOMEM themselves when
 * they fail (checked against Debian's 2.0.9), and the slow path sets it, so
 * malloc/calloc/realloc can tail-call mimalloc; mi_malloc_aligned_at does
 * not, so the aligned entry points set it. */
void *malloc(size_t n)
{
	return lw_core_malloc(n);
}

void free(void *p)
{
	lw_core_free(p);
}

void *calloc(size_t c, size_t n)
{
	size_t total;
	if (__builtin_mul_overflow(c, n, &total))
		return fail_enomem();
	return lw_core_zalloc(total);
}

void *realloc(void *p, size_t n)
{
	return lw_core_realloc(p, n);
}

void *reallocarray(void *p, size_t c, size_t n)
{
	size_t total;
	if (__builtin_mul_overflow(c, n, &total))
		return fail_enomem();
	return realloc(p, total);
}

/* glibc 2.36 _mid_memalign: alignments above SIZE_MAX/2+1 fail with EINVAL;
 * others are rounded up to a power of two. glibc serves alignments up to 16
 * with plain malloc; mimalloc only guarantees 8 for blocks smaller than 16
 * bytes, so only alignments up to 8 take the malloc path here. */
static void *memalign_glibc(size_t align, size_t n)
{
	if (align <= 8)
		return malloc(n);
	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	if (align & (align - 1)) {
		size_t a = 16;
		while (a < align)
			a <<= 1;
		align = a;
	}
	void *p = lw_core_aligned(align, n);
	if (LW_UNLIKELY(p == NULL))
		errno = ENOMEM;
	return p;
}

void *memalign(size_t align, size_t n)
{
	return memalign_glibc(align, n);
}

/* In glibc 2.36 aligned_alloc is the same function as memalign. */
void *aligned_alloc(size_t align, size_t n)
{
	return memalign_glibc(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	if (align % sizeof(void *) != 0 || (align & (align - 1)) != 0 || align == 0)
		return EINVAL;
	int saved = errno;
	void *p = align <= 8 ? lw_core_malloc(n) : lw_core_aligned(align, n);
	errno = saved;
	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

static size_t page_size(void)
{
	static size_t ps;
	if (ps == 0) {
		long v = sysconf(_SC_PAGESIZE);
		ps = v > 0 ? (size_t)v : 4096;
	}
	return ps;
}

void *valloc(size_t n)
{
	return memalign_glibc(page_size(), n);
}

void *pvalloc(size_t n)
{
	size_t ps = page_size(), r;
	if (__builtin_add_overflow(n, ps - 1, &r))
		return fail_enomem();
	r &= ~(ps - 1);
	return memalign_glibc(ps, r);
}

/* mi_usable_size(NULL) is 0 (checked against Debian's 2.0.9): a tail call. */
size_t malloc_usable_size(void *p)
{
	return mi_usable_size(p);
}

/* glibc's internal names, which libmimalloc also exports: forwarders rather
 * than symbol aliases, because glibc's headers (pulled in by mimalloc.h)
 * give the targets attributes an alias would have to repeat. */
void cfree(void *p) { free(p); }
void *__libc_malloc(size_t n) { return malloc(n); }
void __libc_free(void *p) { free(p); }
void *__libc_calloc(size_t c, size_t n) { return calloc(c, n); }
void *__libc_realloc(void *p, size_t n) { return realloc(p, n); }
void *__libc_memalign(size_t align, size_t n) { return memalign_glibc(align, n); }
void *__libc_valloc(size_t n) { return valloc(n); }
void *__libc_pvalloc(size_t n) { return pvalloc(n); }

/* ---- C++ operators ---------------------------------------------------------
 * Mangled names (Itanium ABI, size_t = unsigned long 'm'):
 *   _Znwm / _Znam                              new / new[] (size)
 *   ..RKSt9nothrow_t                           + const std::nothrow_t&
 *   ..St11align_val_t                          + std::align_val_t
 *   _ZdlPv / _ZdaPv                            delete / delete[] (ptr)
 *   _ZdlPvm                                    sized delete
 * std::nothrow_t is passed by reference (a pointer we ignore); align_val_t is
 * a size_t-sized enum passed by value. */
typedef struct lw_nothrow lw_nothrow;

static inline void *cxx_new(size_t n)
{
	void *p = lw_core_malloc(n);
	if (LW_LIKELY(p != NULL))
		return p;
	return lw_core_new_fail(n, 0, 0);
}

static inline void *cxx_new_nothrow(size_t n)
{
	void *p = lw_core_malloc(n);
	if (LW_LIKELY(p != NULL))
		return p;
	return lw_core_new_fail(n, 0, 1);
}

static inline size_t cxx_align(size_t al)
{
	/* the C++ standard requires a power of two; be lenient like mimalloc */
	return al < sizeof(void *) ? sizeof(void *) : al;
}

static inline void *cxx_new_aligned(size_t n, size_t al)
{
	al = cxx_align(al);
	void *p = lw_core_aligned(al, n);
	if (LW_LIKELY(p != NULL))
		return p;
	return lw_core_new_fail(n, al, 0);
}

static inline void *cxx_new_aligned_nothrow(size_t n, size_t al)
{
	al = cxx_align(al);
	void *p = lw_core_aligned(al, n);
	if (LW_LIKELY(p != NULL))
		return p;
	return lw_core_new_fail(n, al, 1);
}

#define LW_NEW(name, body, ...) \
	LW_EXPORT void *name(__VA_ARGS__); \
	void *name(__VA_ARGS__) { return body; }
#define LW_DEL(name, ...) \
	LW_EXPORT void name(__VA_ARGS__); \
	void name(__VA_ARGS__) { lw_core_free(p); }

LW_NEW(_Znwm, cxx_new(n), size_t n)
LW_NEW(_Znam, cxx_new(n), size_t n)
LW_NEW(_ZnwmRKSt9nothrow_t, cxx_new_nothrow(n), size_t n, const lw_nothrow *nt)
LW_NEW(_ZnamRKSt9nothrow_t, cxx_new_nothrow(n), size_t n, const lw_nothrow *nt)
LW_NEW(_ZnwmSt11align_val_t, cxx_new_aligned(n, al), size_t n, size_t al)
LW_NEW(_ZnamSt11align_val_t, cxx_new_aligned(n, al), size_t n, size_t al)
LW_NEW(_ZnwmSt11align_val_tRKSt9nothrow_t, cxx_new_aligned_nothrow(n, al), size_t n, size_t al,
       const lw_nothrow *nt)
LW_NEW(_ZnamSt11align_val_tRKSt9nothrow_t, cxx_new_aligned_nothrow(n, al), size_t n, size_t al,
       const lw_nothrow *nt)

LW_DEL(_ZdlPv, void *p)
LW_DEL(_ZdaPv, void *p)
LW_DEL(_ZdlPvm, void *p, size_t n)
LW_DEL(_ZdaPvm, void *p, size_t n)
LW_DEL(_ZdlPvRKSt9nothrow_t, void *p, const lw_nothrow *nt)
LW_DEL(_ZdaPvRKSt9nothrow_t, void *p, const lw_nothrow *nt)
LW_DEL(_ZdlPvSt11align_val_t, void *p, size_t al)
LW_DEL(_ZdaPvSt11align_val_t, void *p, size_t al)
LW_DEL(_ZdlPvmSt11align_val_t, void *p, size_t n, size_t al)
LW_DEL(_ZdaPvmSt11align_val_t, void *p, size_t n, size_t al)
LW_DEL(_ZdlPvSt11align_val_tRKSt9nothrow_t, void *p, size_t al, const lw_nothrow *nt)
LW_DEL(_ZdaPvSt11align_val_tRKSt9nothrow_t, void *p, size_t al, const lw_nothrow *nt)

/* ---- dlclose ----------------------------------------------------------------
 * The module map must still list a library after it is unloaded (sampled
 * stacks keep return addresses into it), so the map is refreshed before the
 * real dlclose runs. Declared by hand: <dlfcn.h>'s attributes would have to
 * be repeated on the definition. */
extern void *dlsym(void *handle, const char *name);
#define LW_RTLD_NEXT ((void *)-1l)

LW_EXPORT int dlclose(void *handle);

int dlclose(void *handle)
{
	static int (*real_dlclose)(void *);
	int saved = errno;
	lw_guard_enter();
	if (real_dlclose == NULL)
		real_dlclose = (int (*)(void *))dlsym(LW_RTLD_NEXT, "dlclose");
	lw_modmap_refresh();
	lw_guard_leave();
	errno = saved;
	if (real_dlclose == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return lw_unwind_dlclose(real_dlclose, handle);
}
