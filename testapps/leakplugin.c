/* leakplugin.c — libleakplugin.so, loaded by dlopen_leak with dlopen.
 *
 * plugin_leak_records(n, size) leaks n blocks of `size` bytes, each made by
 * plugin_make_record (the allocation site, in this library's code), and
 * returns the bytes leaked. The blocks are linked from a list whose head the
 * caller keeps, so they stay reachable after dlclose unmaps this library.
 */
#include <stdlib.h>
#include <string.h>

struct plugin_record {
	struct plugin_record *next;
	char data[];
};

size_t plugin_leak_records(struct plugin_record **list, int n, size_t size);

__attribute__((noinline)) static struct plugin_record *
plugin_make_record(struct plugin_record *next, size_t size)
{
	struct plugin_record *r = malloc(size);
	if (!r)
		abort();
	memset(r->data, 0x44, size - sizeof *r);
	r->next = next;
	return r;
}

__attribute__((visibility("default"))) size_t
plugin_leak_records(struct plugin_record **list, int n, size_t size)
{
	size_t total = 0;
	if (size < sizeof(struct plugin_record))
		size = sizeof(struct plugin_record);
	for (int i = 0; i < n; i++) {
		*list = plugin_make_record(*list, size);
		total += size;
	}
	return total;
}
