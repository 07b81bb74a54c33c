// test_resolve.cc — run under LD_PRELOAD=libleakwatch.so (suite integration).
//
// Proves that every allocation entry point a program can reach resolves to
// the shim, even though libstdc++ defines operator new/delete and Debian's
// libmimalloc.so.2 (loaded by the shim) exports malloc & co itself, and that
// the memory returned comes from mimalloc (mi_is_in_heap_region, looked up
// with dlsym so this program does not link mimalloc).
#include <dlfcn.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <new>
#include "../check.h"

static bool in_shim(const void *addr)
{
	Dl_info di;
	return addr && dladdr(addr, &di) && di.dli_fname && strstr(di.dli_fname, "libleakwatch.so");
}

int main()
{
	static const char *syms[] = {
		"malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign",
		"aligned_alloc", "memalign", "valloc", "pvalloc", "malloc_usable_size", "cfree",
		"__libc_malloc", "__libc_free", "__libc_calloc", "__libc_realloc",
		"__libc_memalign", "__libc_valloc", "__libc_pvalloc",
		"_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
		"_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
		"_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t",
		"_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm", "_ZdlPvRKSt9nothrow_t",
		"_ZdaPvRKSt9nothrow_t", "_ZdlPvSt11align_val_t", "_ZdaPvSt11align_val_t",
		"_ZdlPvmSt11align_val_t", "_ZdaPvmSt11align_val_t",
		"_ZdlPvSt11align_val_tRKSt9nothrow_t", "_ZdaPvSt11align_val_tRKSt9nothrow_t",
		"leakwatch_dump", "leakwatch_snapshot", "dlclose",
	};
	char what[128];
	for (const char *s : syms) {
		snprintf(what, sizeof(what), "dlsym(RTLD_DEFAULT, \"%s\") is in libleakwatch.so", s);
		check(in_shim(dlsym(RTLD_DEFAULT, s)), what);
	}

	// The program's own references (through its GOT) bind to the shim too.
	void *(*volatile pm)(size_t) = &malloc;
	void (*volatile pf)(void *) = &free;
	void *(*volatile pn)(size_t) = static_cast<void *(*)(size_t)>(&::operator new);
	void (*volatile pd)(void *) noexcept = static_cast<void (*)(void *) noexcept>(&::operator delete);
	check(in_shim((void *)pm), "&malloc (program GOT) is in libleakwatch.so");
	check(in_shim((void *)pf), "&free (program GOT) is in libleakwatch.so");
	check(in_shim((void *)pn), "&operator new (program GOT) is in libleakwatch.so");
	check(in_shim((void *)pd), "&operator delete (program GOT) is in libleakwatch.so");

	// Memory comes from mimalloc.
	auto in_heap = (bool (*)(const void *))dlsym(RTLD_DEFAULT, "mi_is_in_heap_region");
	check(in_heap != nullptr, "mi_is_in_heap_region is available (libmimalloc loaded)");
	if (in_heap) {
		void *a = malloc(100), *b = calloc(10, 10), *c = realloc(malloc(10), 5000);
		void *d = nullptr;
		int rc = posix_memalign(&d, 256, 100);
		void *e = aligned_alloc(64, 128), *f = memalign(128, 10), *g = valloc(10);
		char *h = new char[77];
		int *i = new int(5);
		struct alignas(128) A { char x[128]; };
		A *j = new A;
		check(in_heap(a) && in_heap(b) && in_heap(c), "malloc/calloc/realloc blocks are mimalloc's");
		check(rc == 0 && in_heap(d) && in_heap(e) && in_heap(f) && in_heap(g),
		       "posix_memalign/aligned_alloc/memalign/valloc blocks are mimalloc's");
		check(in_heap(h) && in_heap(i) && in_heap(j), "new / new[] / aligned new blocks are mimalloc's");
		char *s = strdup("libc's own allocation");
		check(in_heap(s), "strdup (malloc called from inside libc) is mimalloc's");
		free(a); free(b); free(c); free(d); free(e); free(f); free(g); free(s);
		delete[] h; delete i; delete j;
	}
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
