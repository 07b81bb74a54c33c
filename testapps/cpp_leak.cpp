// cpp_leak.cpp — a C++ `new` leak of polymorphic objects held in standard
// containers, amid ordinary new/delete churn.
//
// Sites (noinline functions):
//   make_leaked_shape    new Circle / new Rect (polymorphic Shape), pointers
//                        kept in a std::vector and a std::map that are never
//                        cleared: the leak;
//   make_leaked_array    new int[n] (operator new[]), kept forever;
//   make_leaked_aligned  new Aligned (alignas(64): aligned operator new);
//   churn_objects        new/delete, new[]/delete[], nothrow new, aligned
//                        new/delete and std::string temporaries, all freed.
// --objects N shapes (default 20000), --churn M churn rounds (default
// 20000). With --points, checkpoints point=0 (half the shapes) and point=1
// (all); truth lines before each and at point=final.
// The containers' own storage is allocated inside libstdc++ templates
// (other stacks) and is not part of the truth of the sites above.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "app_common.h"

namespace {

struct Shape {
	virtual ~Shape() = default;
	virtual double area() const = 0;
	int id = 0;
};

struct Circle : Shape {
	double r;
	explicit Circle(double radius) : r(radius) {}
	double area() const override { return 3.14159 * r * r; }
};

struct Rect : Shape {
	double w, h;
	char label[40];
	Rect(double width, double height) : w(width), h(height), label{} {}
	double area() const override { return w * h; }
};

struct alignas(64) Aligned {
	char bytes[192];
};

// volatile: these have internal linkage, and clang -O2 would otherwise keep
// them in main's registers and stack only; the heap-graph tests expect the
// containers to hang off these globals, as in a real service.
std::vector<Shape *> *volatile g_registry;
std::map<int, Shape *> *volatile g_by_id;
std::vector<int *> *volatile g_arrays;
std::vector<Aligned *> *volatile g_aligned;

// Every churn object passes through this sink before it is deleted, so the
// compiler cannot pair and remove the new/delete (C++14 allows eliding them).
void *volatile g_sink;

uint64_t g_shape_bytes, g_shape_count;
uint64_t g_array_bytes, g_array_count;
uint64_t g_aligned_bytes, g_aligned_count;

LW_APP_NOINLINE Shape *make_leaked_shape(int i)
{
	Shape *s;
	if (i % 3 == 0) {
		s = new Rect(i, i + 1);
		g_shape_bytes += sizeof(Rect);
	} else {
		s = new Circle(i);
		g_shape_bytes += sizeof(Circle);
	}
	s->id = i;
	g_shape_count++;
	return s;
}

LW_APP_NOINLINE int *make_leaked_array(int n)
{
	int *a = new int[n];
	for (int k = 0; k < n; k++)
		a[k] = k;
	g_array_bytes += sizeof(int) * (uint64_t)n;
	g_array_count++;
	return a;
}

LW_APP_NOINLINE Aligned *make_leaked_aligned(int i)
{
	Aligned *a = new Aligned;
	a->bytes[0] = (char)i;
	g_aligned_bytes += sizeof(Aligned);
	g_aligned_count++;
	return a;
}

LW_APP_NOINLINE double churn_objects(int i)
{
	double sum = 0;
	Shape *s = new Circle(i % 17);
	g_sink = s;
	sum += s->area();
	delete s;
	double *v = new double[(i % 50) + 1];
	g_sink = v;
	v[0] = i;
	sum += v[0];
	delete[] v;
	Rect *r = new (std::nothrow) Rect(1, i % 5);
	if (r) {
		g_sink = r;
		sum += r->area();
		delete r;
	}
	Aligned *a = new Aligned;
	g_sink = a;
	a->bytes[0] = 1;
	sum += a->bytes[0];
	delete a;
	std::string str = "temporary string number " + std::to_string(i);
	str += str;
	sum += (double)str.size();
	return sum;
}

void print_truth(const char *point)
{
	app_truth(point, "make_leaked_shape", g_shape_bytes, g_shape_count);
	app_truth(point, "make_leaked_array", g_array_bytes, g_array_count);
	app_truth(point, "make_leaked_aligned", g_aligned_bytes, g_aligned_count);
	app_truth(point, "churn_objects", 0, 0);
}

} // namespace

int main(int argc, char **argv)
{
	long objects = app_opt_long(argc, argv, "objects", 20000);
	long churn = app_opt_long(argc, argv, "churn", 20000);
	bool points = app_opt_flag(argc, argv, "points");
	if (objects < 0 || churn < 0) {
		std::fprintf(stderr, "cpp_leak: bad arguments\n");
		return 2;
	}
	g_registry = new std::vector<Shape *>;
	g_by_id = new std::map<int, Shape *>;
	g_arrays = new std::vector<int *>;
	g_aligned = new std::vector<Aligned *>;

	double sum = 0;
	long half = objects / 2;
	for (long i = 0; i < objects; i++) {
		if (points && i == half) {
			print_truth("0");
			app_snapshot("0");
		}
		Shape *s = make_leaked_shape((int)i);
		g_registry->push_back(s);
		(*g_by_id)[(int)i] = s;
		if (i % 10 == 0)
			g_arrays->push_back(make_leaked_array((int)(i % 100) + 1));
		if (i % 25 == 0)
			g_aligned->push_back(make_leaked_aligned((int)i));
		if (churn > 0)
			sum += churn_objects((int)(i % churn));
	}
	for (long i = objects; i < churn; i++)
		sum += churn_objects((int)i);
	if (points) {
		print_truth("1");
		app_snapshot("1");
	}
	double area = 0;
	for (Shape *s : *g_registry)
		area += s->area();
	print_truth("final");
	std::printf("done shapes=%zu area=%.1f churn=%.1f\n", g_registry->size(), area, sum);
	return 0;
}
