// test_semantics.cc — glibc-compatible semantics of every entry point, run
// under LD_PRELOAD=libleakwatch.so (suite integration; run at the default
// rate and at LEAKWATCH_RATE=1 so both the fast and the sampling paths are
// covered). Fails unless the shim is actually preloaded.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <malloc.h>
#include <new>
#include <string>
#include <unistd.h>
#include <vector>
#include "../check.h"

// The realloc-failure checks below keep using the old pointer after a
// realloc that (by design) returned NULL; GCC cannot see that through the
// volatile result and would warn.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuse-after-free"
#endif

static bool aligned(const void *p, size_t al)
{
	return ((uintptr_t)p & (al - 1)) == 0;
}

static volatile size_t huge = SIZE_MAX / 2;   // volatile: keep the compiler honest
static volatile size_t smax = SIZE_MAX;
static volatile size_t align48 = 48, align_too_big = SIZE_MAX / 2 + 2;
static int handler_calls;
// results go through this volatile so the compiler cannot elide the calls
// (clang removes unused malloc calls and assumes they succeeded)
static void *volatile res;

static void counting_handler()
{
	if (++handler_calls == 3)
		std::set_new_handler(nullptr);   // third call: give up -> bad_alloc
}

int main()
{
	Dl_info di;
	void *m = dlsym(RTLD_DEFAULT, "malloc");
	check(m && dladdr(m, &di) && strstr(di.dli_fname, "libleakwatch.so"),
	       "running under libleakwatch.so");

	// errno preserved across successful calls
	for (int round = 0; round < 1000; round++) {
		errno = 1234;
		void *p = malloc((size_t)(round * 37) % 5000 + 1);
		void *q = calloc(3, 100);
		p = realloc(p, 20000);
		free(q);
		free(p);
		if (errno != 1234) {
			check(false, "errno preserved across malloc/calloc/realloc/free");
			break;
		}
		if (round == 999)
			check(true, "errno preserved across malloc/calloc/realloc/free");
	}
	errno = 1234;
	{
		int *ip = new int[100];
		delete[] ip;
	}
	check(errno == 1234, "errno preserved across new[]/delete[]");

	// malloc
	errno = 0;
	res = malloc(huge);
	check(res == nullptr && errno == ENOMEM, "malloc(SIZE_MAX/2) -> NULL, ENOMEM");
	void *z = malloc(0);
	check(z != nullptr, "malloc(0) -> unique pointer");
	free(z);
	free(nullptr);

	// calloc
	errno = 0;
	res = calloc(huge, 4);
	check(res == nullptr && errno == ENOMEM, "calloc overflow -> NULL, ENOMEM");
	errno = 0;
	res = calloc(smax, smax);
	check(res == nullptr && errno == ENOMEM, "calloc(SIZE_MAX, SIZE_MAX) -> NULL, ENOMEM");
	{
		unsigned char *c = (unsigned char *)calloc(1000, 7);
		bool zero = c != nullptr;
		for (int i = 0; zero && i < 7000; i++)
			zero = c[i] == 0;
		check(zero, "calloc memory is zeroed");
		free(c);
	}

	// realloc
	{
		char *p = (char *)realloc(nullptr, 10);
		check(p != nullptr, "realloc(NULL, n) allocates");
		memcpy(p, "abcdefghi", 10);
		p = (char *)realloc(p, 100000);
		check(p && memcmp(p, "abcdefghi", 10) == 0, "realloc grows and keeps contents");
		p = (char *)realloc(p, 5);
		check(p && memcmp(p, "abcde", 5) == 0, "realloc shrinks and keeps contents");
		errno = 1234;
		void *r = realloc(p, 0);
		check(r == nullptr && errno == 1234, "realloc(p, 0) frees and returns NULL (glibc)");
		void *q = malloc(10);
		errno = 0;
		res = realloc(q, huge);
		void *r2 = res;
		check(r2 == nullptr && errno == ENOMEM, "realloc(p, huge) -> NULL, ENOMEM, p kept");
		if (r2 == nullptr) {
			memset(q, 1, 10);
			free(q);
		}
	}

	// reallocarray
	{
		errno = 0;
		void *p = malloc(8);
		res = reallocarray(p, huge, 4);
		void *r = res;
		check(r == nullptr && errno == ENOMEM, "reallocarray overflow -> NULL, ENOMEM");
		if (r == nullptr)
			p = reallocarray(p, 100, 8);
		check(p != nullptr && malloc_usable_size(p) >= 800, "reallocarray(p, 100, 8)");
		free(p);
	}

	// posix_memalign
	{
		void *p = (void *)1;
		errno = 1234;
		check(posix_memalign(&p, 3, 10) == EINVAL && errno == 1234 && p == (void *)1,
		       "posix_memalign(align 3) -> EINVAL, errno and *out untouched");
		check(posix_memalign(&p, 24, 10) == EINVAL, "posix_memalign(align 24) -> EINVAL");
		check(posix_memalign(&p, 4, 10) == EINVAL, "posix_memalign(align 4 < sizeof(void*)) -> EINVAL");
		check(posix_memalign(&p, 0, 10) == EINVAL, "posix_memalign(align 0) -> EINVAL");
		errno = 1234;
		check(posix_memalign(&p, 8, huge) == ENOMEM && errno == 1234, "posix_memalign(huge) -> ENOMEM, errno untouched");
		for (size_t al = 8; al <= 65536; al *= 2) {
			void *q = nullptr;
			if (posix_memalign(&q, al, 100) != 0 || !aligned(q, al)) {
				check(false, "posix_memalign alignments 8..64K");
				break;
			}
			free(q);
			if (al == 65536)
				check(true, "posix_memalign alignments 8..64K");
		}
		check(errno == 1234, "posix_memalign success keeps errno");
	}

	// aligned_alloc / memalign / valloc / pvalloc (glibc 2.36 semantics)
	{
		void *p = aligned_alloc(64, 100);
		check(p && aligned(p, 64), "aligned_alloc(64, 100)");
		free(p);
		p = aligned_alloc(align48, 100);   // 2.36: rounded up to 64
		check(p && aligned(p, 64), "aligned_alloc(48, 100) rounds alignment up to 64");
		free(p);
		errno = 0;
		res = aligned_alloc(align_too_big, 10);
		check(res == nullptr && errno == EINVAL,
		       "aligned_alloc(align > SIZE_MAX/2+1) -> NULL, EINVAL");
		p = memalign(4096, 10);
		check(p && aligned(p, 4096), "memalign(4096, 10)");
		free(p);
		long ps = sysconf(_SC_PAGESIZE);
		p = valloc(10);
		check(p && aligned(p, (size_t)ps), "valloc page aligned");
		free(p);
		p = pvalloc(10);
		check(p && aligned(p, (size_t)ps) && malloc_usable_size(p) >= (size_t)ps,
		       "pvalloc page aligned, rounded up to a page");
		free(p);
		errno = 0;
		res = pvalloc(smax - 10);
		check(res == nullptr && errno == ENOMEM, "pvalloc overflow -> NULL, ENOMEM");
	}

	// small blocks with 16-byte alignment requests (mimalloc's 8-byte blocks
	// must not leak through)
	{
		bool ok = true;
		for (int i = 0; i < 100 && ok; i++) {
			void *p = nullptr, *q = memalign(16, 8), *r = aligned_alloc(16, 4);
			ok = posix_memalign(&p, 16, 8) == 0 && aligned(p, 16) && aligned(q, 16) &&
			     aligned(r, 16);
			free(p);
			free(q);
			free(r);
		}
		check(ok, "posix_memalign/memalign/aligned_alloc(16, tiny) are 16-aligned");
	}

	// malloc_usable_size
	{
		bool ok = malloc_usable_size(nullptr) == 0;
		for (size_t n = 1; n < 300000 && ok; n = n * 3 + 1) {
			void *p = malloc(n);
			ok = p && malloc_usable_size(p) >= n;
			free(p);
		}
		check(ok, "malloc_usable_size >= requested, 0 for NULL");
	}

	// C++: every new/delete form
	{
		void *p = ::operator new(10);
		::operator delete(p);
		p = ::operator new[](10);
		::operator delete[](p);
		p = ::operator new(10, std::nothrow);
		::operator delete(p, std::nothrow);
		p = ::operator new[](10, std::nothrow);
		::operator delete[](p, std::nothrow);
		p = ::operator new(24);
		::operator delete(p, (size_t)24);
		p = ::operator new[](24);
		::operator delete[](p, (size_t)24);
		bool al_ok = true;
		for (size_t al = 16; al <= 8192; al *= 2) {
			void *a = ::operator new(100, std::align_val_t(al));
			void *b = ::operator new[](100, std::align_val_t(al));
			void *c = ::operator new(100, std::align_val_t(al), std::nothrow);
			void *d = ::operator new[](100, std::align_val_t(al), std::nothrow);
			al_ok = al_ok && aligned(a, al) && aligned(b, al) && aligned(c, al) && aligned(d, al);
			::operator delete(a, std::align_val_t(al));
			::operator delete[](b, (size_t)100, std::align_val_t(al));
			::operator delete(c, std::align_val_t(al), std::nothrow);
			::operator delete[](d, std::align_val_t(al), std::nothrow);
			void *e = ::operator new(100, std::align_val_t(al));
			::operator delete(e, (size_t)100, std::align_val_t(al));
			void *f = ::operator new[](100, std::align_val_t(al));
			::operator delete[](f, std::align_val_t(al));
		}
		check(al_ok, "aligned new/new[] (+nothrow) 16..8192 and matching deletes");
		std::vector<std::string> v;
		for (int i = 0; i < 1000; i++)
			v.push_back(std::string(i % 50 + 20, 'x'));
		check(v.size() == 1000 && v[999].size() == 69, "std::vector<std::string> works");
	}

	// C++ failure semantics
	{
		bool caught = false;
		try {
			void *p = ::operator new(huge);
			::operator delete(p);
		} catch (const std::bad_alloc &) {
			caught = true;
		}
		check(caught, "operator new(huge) throws std::bad_alloc");
		caught = false;
		try {
			void *p = ::operator new[](huge, std::align_val_t(64));
			::operator delete[](p, std::align_val_t(64));
		} catch (const std::bad_alloc &) {
			caught = true;
		}
		check(caught, "operator new[](huge, align 64) throws std::bad_alloc");
		check(::operator new(huge, std::nothrow) == nullptr, "operator new(huge, nothrow) -> nullptr");
		check(::operator new[](huge, std::align_val_t(64), std::nothrow) == nullptr,
		       "operator new[](huge, align, nothrow) -> nullptr");
		caught = false;
		std::set_new_handler(counting_handler);
		try {
			void *p = ::operator new(huge);
			::operator delete(p);
		} catch (const std::bad_alloc &) {
			caught = true;
		}
		check(caught && handler_calls == 3, "new_handler called until removed, then bad_alloc");
	}

	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
