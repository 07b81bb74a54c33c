/* site_split.c — the out-of-line part of a split function, for site_app's
 * `split` mode. GCC's function splitting (-fpartial-inlining) turns a
 * function f into a small header, inlined into its callers, and a part
 * "f.part.0" that the header calls; DWARF names both after f, so a stack
 * through them reads f (the part, a real frame) called from f (the header,
 * an inline frame of the caller). This file builds that shape on purpose,
 * with any compiler: split_node is the part, exported under another symbol,
 * and site_app.c's inline split_node is the header.
 */
#include <stdlib.h>
#include <string.h>

void *split_node_part(size_t n);

__attribute__((noinline)) static void *split_node(size_t n)
{
	void *p = malloc(n);
	if (p)
		memset(p, 0x5a, n);
	__asm__ volatile("" ::: "memory");
	return p;
}

void *split_node_part(size_t n) __attribute__((alias("split_node")));
