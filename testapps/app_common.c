/* app_common.c — option parsing, deterministic random numbers, clocks and
 * the truth/snapshot output shared by the testapps (see app_common.h).
 *
 * The shim's API (include/leakwatch.h) is looked up with dlsym at the first
 * request instead of being linked, so each app runs unchanged with or
 * without LD_PRELOAD=libleakwatch.so.
 */
#include "app_common.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *find_opt(int argc, char **argv, const char *name, int *is_flag)
{
	size_t n = strlen(name);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] != '-' || strncmp(a + 2, name, n) != 0)
			continue;
		if (a[2 + n] == '=')
			return a + 3 + n;
		if (a[2 + n] == '\0') {
			*is_flag = 1;
			return i + 1 < argc ? argv[i + 1] : NULL;
		}
	}
	return NULL;
}

long app_opt_long(int argc, char **argv, const char *name, long def)
{
	int flag = 0;
	const char *v = find_opt(argc, argv, name, &flag);
	if (!v)
		return def;
	char *end;
	errno = 0;
	long r = strtol(v, &end, 0);
	if (errno || end == v || *end) {
		fprintf(stderr, "%s: bad value for --%s: \"%s\"\n", argv[0], name, v);
		exit(2);
	}
	return r;
}

double app_opt_double(int argc, char **argv, const char *name, double def)
{
	int flag = 0;
	const char *v = find_opt(argc, argv, name, &flag);
	if (!v)
		return def;
	char *end;
	double r = strtod(v, &end);
	if (end == v || *end) {
		fprintf(stderr, "%s: bad value for --%s: \"%s\"\n", argv[0], name, v);
		exit(2);
	}
	return r;
}

const char *app_opt_str(int argc, char **argv, const char *name, const char *def)
{
	int flag = 0;
	const char *v = find_opt(argc, argv, name, &flag);
	return v ? v : def;
}

int app_opt_flag(int argc, char **argv, const char *name)
{
	size_t n = strlen(name);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] == '-' && strncmp(a + 2, name, n) == 0 && a[2 + n] == '\0')
			return 1;
	}
	return 0;
}

uint64_t app_rand_r(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

uint64_t app_rand_range(uint64_t *state, uint64_t lo, uint64_t hi)
{
	return lo + app_rand_r(state) % (hi - lo + 1);
}

double app_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void app_sleep(double seconds)
{
	if (seconds <= 0)
		return;
	struct timespec ts;
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

typedef int (*api_fn)(void);

static api_fn lookup(const char *name)
{
	void *sym = dlsym(RTLD_DEFAULT, name);
	api_fn fn;
	memcpy(&fn, &sym, sizeof fn);
	return fn;
}

int app_shim_present(void)
{
	return lookup("leakwatch_snapshot") != NULL;
}

static api_fn api(const char *name)
{
	static api_fn fns[2];
	static int looked_up[2];
	int which = strcmp(name, "leakwatch_dump") == 0;
	if (!looked_up[which]) {
		fns[which] = lookup(name);
		looked_up[which] = 1;
	}
	return fns[which];
}

int app_snapshot_quiet(void)
{
	api_fn fn = api("leakwatch_snapshot");
	return fn ? fn() : 1;
}

static int request(const char *name, const char *point)
{
	api_fn fn = api(name);
	if (!fn) {
		printf("snapshot point=%s rc=none\n", point);
		fflush(stdout);
		return 1;
	}
	int rc = fn();
	printf("snapshot point=%s rc=%d\n", point, rc);
	fflush(stdout);
	return rc;
}

int app_snapshot(const char *point)
{
	return request("leakwatch_snapshot", point);
}

int app_dump(const char *point)
{
	return request("leakwatch_dump", point);
}

void app_truth(const char *point, const char *site, uint64_t bytes, uint64_t objects)
{
	printf("truth point=%s site=%s inuse_bytes=%llu inuse_objects=%llu\n", point, site,
	       (unsigned long long)bytes, (unsigned long long)objects);
	fflush(stdout);
}

void app_ready(void)
{
	printf("ready pid=%ld\n", (long)getpid());
	fflush(stdout);
}

int app_should_stop(double deadline, const char *stop_file)
{
	if (deadline > 0 && app_now() >= deadline)
		return 1;
	if (stop_file && access(stop_file, F_OK) == 0)
		return 1;
	return 0;
}

void app_touch(void *p, size_t n, unsigned seed)
{
	volatile unsigned char *b = p;
	if (n == 0)
		return;
	b[0] = (unsigned char)seed;
	b[n - 1] = (unsigned char)(seed >> 8);
	for (size_t i = 4096; i < n; i += 4096)
		b[i] = (unsigned char)i;
}
