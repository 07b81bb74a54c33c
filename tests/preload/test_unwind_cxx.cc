// test_unwind_cxx.cc — a C++ chain function (templates, a lambda through
// std::function, an object with a destructor on the stack), see
// test_unwind.c.
#include <functional>
#include <string>

#include "test_unwind.h"

namespace {
struct Guard {
	std::string name;
	explicit Guard(uint64_t s) : name(s % 2 ? "odd" : "even") {}
	~Guard() { name.clear(); }
};

template <int N> uint64_t deeper(int depth, uint64_t seed)
{
	Guard g(seed);
	std::function<uint64_t(int)> f = [seed](int d) { return tu_next(d, seed * 31 + N); };
	return f(depth) + g.name.size();
}
}

extern "C" uint64_t tu_cxx(int depth, uint64_t seed)
{
	if (seed & 0x100)
		return deeper<1>(depth - 1, seed);
	return deeper<2>(depth - 1, seed) + 1;
}
