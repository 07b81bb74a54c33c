/* debuginfo.c — the package a module file came from (debuginfo.h).
 *
 * dpkg keeps one list per installed package (<info>/<package>[:arch].list,
 * one path per line); `dpkg -S` searches the same lists. Reading them costs
 * about as much as a `grep` over a few thousand small files, so callers ask
 * only for modules that lack debug information, once per command. Paths
 * come from .lwd files (untrusted): they are only compared, never opened.
 */
#include "debuginfo.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

/* 1 when the list file at `list` has a line equal to one of want[0..n). */
static int list_has(const char *list, const char *const *want, size_t n)
{
	FILE *f = fopen(list, "re");
	if (!f)
		return 0;
	char line[4096];
	int found = 0;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		for (size_t i = 0; i < n && !found; i++)
			found = strcmp(line, want[i]) == 0;
	}
	fclose(f);
	return found;
}

int lw_debuginfo_package(const char *path, const char *dpkg_info, char *pkg, size_t len)
{
	if (!path || path[0] != '/' || len == 0)
		return 0;
	const char *dir = dpkg_info ? dpkg_info : "/var/lib/dpkg/info";
	const char *want[2] = { path, NULL };
	size_t n_want = 1;
	if (strncmp(path, "/usr/", 5) == 0)
		want[n_want++] = path + 4;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	int found = 0;
	while (!found && (e = readdir(d))) {
		size_t nl = strlen(e->d_name);
		if (nl < 6 || strcmp(e->d_name + nl - 5, ".list") != 0)
			continue;
		char list[4096];
		if (snprintf(list, sizeof(list), "%s/%s", dir, e->d_name) >= (int)sizeof(list))
			continue;
		if (!list_has(list, want, n_want))
			continue;
		size_t name = strcspn(e->d_name, ":");
		if (name > nl - 5)
			name = nl - 5;
		snprintf(pkg, len, "%.*s", (int)name, e->d_name);
		found = 1;
	}
	closedir(d);
	return found;
}

void lw_debuginfo_dbgsym(const char *package, char *out, size_t len)
{
	snprintf(out, len, "%s-dbgsym", package);
}
