/* dlopen_leak.c — a leak inside a dlopen'd library, with or without dlclose.
 *
 * Each of --loops L rounds (default 1) dlopens libleakplugin.so (--plugin
 * PATH, default: next to this executable), calls plugin_leak_records to leak
 * --records N blocks (default 1000) of --size bytes (default 200) from the
 * plugin's plugin_make_record, and with --close dlcloses it again. The
 * leaked blocks stay linked from g_list. Checkpoints (with --points):
 * point=loaded after the first round's call (library still open),
 * point=done after the last round (closed with --close); truth lines before
 * each and at point=final. Single-threaded.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app_common.h"

typedef size_t (*leak_fn)(void **list, int n, size_t size);

static void *g_list;
static uint64_t g_bytes, g_count;

static void default_plugin(char *buf, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
	if (n < 0) {
		snprintf(buf, cap, "./libleakplugin.so");
		return;
	}
	buf[n] = '\0';
	char *slash = strrchr(buf, '/');
	if (slash)
		slash[1] = '\0';
	strncat(buf, "libleakplugin.so", cap - strlen(buf) - 1);
}

/* 1 if libleakplugin.so is still mapped (dlclose really unloads it). */
static int plugin_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];
	int found = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strstr(line, "libleakplugin.so"))
			found = 1;
	fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	long loops = app_opt_long(argc, argv, "loops", 1);
	long records = app_opt_long(argc, argv, "records", 1000);
	long size = app_opt_long(argc, argv, "size", 200);
	int do_close = app_opt_flag(argc, argv, "close");
	int points = app_opt_flag(argc, argv, "points");
	char path[PATH_MAX];
	const char *plugin = app_opt_str(argc, argv, "plugin", NULL);
	if (!plugin) {
		default_plugin(path, sizeof path);
		plugin = path;
	}
	if (loops < 1 || records < 0 || size < 16) {
		fprintf(stderr, "dlopen_leak: bad arguments\n");
		return 2;
	}
	void *keep = NULL;
	for (long l = 0; l < loops; l++) {
		void *h = dlopen(plugin, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			fprintf(stderr, "dlopen_leak: %s\n", dlerror());
			return 1;
		}
		void *sym = dlsym(h, "plugin_leak_records");
		if (!sym) {
			fprintf(stderr, "dlopen_leak: %s\n", dlerror());
			return 1;
		}
		leak_fn fn;
		memcpy(&fn, &sym, sizeof fn);
		g_bytes += fn(&g_list, (int)records, (size_t)size);
		g_count += (uint64_t)records;
		if (l == 0) {
			app_truth("loaded", "plugin_make_record", g_bytes, g_count);
			if (points)
				app_snapshot("loaded");
		}
		if (do_close) {
			if (dlclose(h) != 0) {
				fprintf(stderr, "dlopen_leak: dlclose: %s\n", dlerror());
				return 1;
			}
		} else {
			keep = h;
		}
	}
	app_truth("done", "plugin_make_record", g_bytes, g_count);
	if (points)
		app_snapshot("done");
	app_truth("final", "plugin_make_record", g_bytes, g_count);
	printf("done loops=%ld closed=%d open=%d mapped=%d\n", loops, do_close, keep != NULL,
	       plugin_mapped());
	return 0;
}
