/* site_lib.c — a shared library without symbols or debug info (built with
 * -s, no -g, hidden visibility) whose leaking functions are unknown to any
 * symbolizer: the site_model test's stripped library. lib_leak(which, n)
 * allocates n blocks through one of two static functions (fill_a, fill_b)
 * from the same exported caller, so the two sites differ only in the
 * unknown frame's module offset; the blocks stay reachable from the
 * library's own global list.
 */
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

struct lib_node {
	struct lib_node *next;
	char pad[56];
};

static struct lib_node *g_lib_list;

__attribute__((noinline)) static struct lib_node *fill_a(void)
{
	struct lib_node *n = malloc(sizeof *n);
	if (n)
		memset(n->pad, 'a', sizeof n->pad);
	return n;
}

__attribute__((noinline)) static struct lib_node *fill_b(void)
{
	struct lib_node *n = malloc(sizeof *n);
	if (n)
		memset(n->pad, 'b', sizeof n->pad);
	return n;
}

EXPORT void lib_leak(int which, int count);
EXPORT void lib_leak(int which, int count)
{
	for (int i = 0; i < count; i++) {
		struct lib_node *n = which ? fill_b() : fill_a();
		if (!n)
			return;
		n->next = g_lib_list;
		g_lib_list = n;
	}
}
