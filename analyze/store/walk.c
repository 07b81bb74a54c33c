/* walk.c — expanding the PATH arguments into the list of .lwd files to
 * load, in a stable order (store_int.h, lw_walk). A directory contributes
 * its *.lwd files in name order (the shim's sequence numbers sort), then
 * its subdirectories' (forked children write into one); names starting
 * with '.' (the shim's temporary files) and symbolic links to directories
 * are skipped.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "errors.h"
#include "store_int.h"

static int pl_add(lw_pathlist *l, const char *s)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		char **v = realloc(l->v, ncap * sizeof(*v));
		if (!v)
			return -1;
		l->v = v;
		l->cap = ncap;
	}
	l->v[l->n] = strdup(s);
	if (!l->v[l->n])
		return -1;
	l->n++;
	return 0;
}

void lw_pathlist_free(lw_pathlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Adds dir's *.lwd files in name order, then its subdirectories' (not
 * following symbolic links to directories). depth bounds recursion. */
static int collect_dir(const char *dir, lw_pathlist *out, int depth, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	if (!d)
		return lw_fail(err, errlen, -errno, "'%s': %s", dir, strerror(errno));
	lw_pathlist files = { 0 }, dirs = { 0 };
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;   /* ., .., and the shim's .tmp-* files */
		char full[PATH_MAX];
		if (snprintf(full, sizeof(full), "%s/%s", dir, e->d_name) >= (int)sizeof(full))
			continue;
		struct stat st;
		if (lstat(full, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (pl_add(&dirs, full) < 0)
				rc = -1;
		} else if (ends_with(e->d_name, ".lwd") && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
			if (pl_add(&files, full) < 0)
				rc = -1;
		}
	}
	closedir(d);
	if (files.n > 1)
		qsort(files.v, files.n, sizeof(char *), cmp_str);
	if (dirs.n > 1)
		qsort(dirs.v, dirs.n, sizeof(char *), cmp_str);
	for (size_t i = 0; rc == 0 && i < files.n; i++)
		rc = pl_add(out, files.v[i]);
	if (rc < 0)
		lw_fail(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < dirs.n; i++)
		if (depth < 16)
			rc = collect_dir(dirs.v[i], out, depth + 1, err, errlen);
	lw_pathlist_free(&files);
	lw_pathlist_free(&dirs);
	return rc;
}

int lw_walk(char *const *paths, size_t n_paths, lw_pathlist *out, lw_report_fn report,
	    void *arg, size_t *n_missing)
{
	*n_missing = 0;
	for (size_t i = 0; i < n_paths; i++) {
		struct stat st;
		if (stat(paths[i], &st) < 0) {
			if (report)
				report(paths[i], strerror(errno), arg);
			(*n_missing)++;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			char err[PATH_MAX + 64];
			if (collect_dir(paths[i], out, 0, err, sizeof(err)) < 0) {
				if (report)
					report(paths[i], err, arg);
				(*n_missing)++;
			}
		} else if (pl_add(out, paths[i]) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}
