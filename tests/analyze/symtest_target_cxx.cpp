// symtest_target_cxx.cpp — the C++ half of the symbols test target: a
// namespaced method whose demangled name the test checks.
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
} // namespace symtest

extern "C" void *symtest_cxx_alloc(std::size_t n)
{
	symtest::Cache c;
	return c.grow(n);
}
