// symtest_target_cxx.cpp — the C++ half of the symbols test target: a
// namespaced method whose demangled name the test checks, and a namespaced
// global with a base class and a static member for the member-path lookup.
#include <cstddef>

extern "C" void *symtest_ra(void);

namespace symtest {
struct Cache {
	__attribute__((noinline)) void *grow(std::size_t n);
};

void *Cache::grow(std::size_t n)
{
	(void)n;
	void *ra = symtest_ra();   // LINE_CXX
	return ra;
}

struct Base {
	long tag;
	void *first;
};
struct Holder : Base {
	static int count;
	void *items[3];
};
int Holder::count;
Holder holder;
} // namespace symtest

extern "C" void *symtest_cxx_field(int which)
{
	return which ? (void *)&symtest::holder.items[1] : (void *)&symtest::holder.first;
}

extern "C" void *symtest_cxx_alloc(std::size_t n)
{
	symtest::Cache c;
	return c.grow(n);
}
