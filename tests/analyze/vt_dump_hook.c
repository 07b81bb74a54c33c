/* vt_dump_hook.c — test helper for the class-name test (vt_class_check.py):
 * a tiny library preloaded BEFORE the shim that defines leakwatch_snapshot()
 * and forwards it to the shim's leakwatch_dump(), so a testapp that requests
 * snapshots at fixed points (cpp_leak --points) writes full heap dumps there
 * instead — deterministically, while its objects are alive. No allocation,
 * no state besides the looked-up function.
 */
#include <dlfcn.h>
#include <string.h>

int leakwatch_snapshot(void);

int leakwatch_snapshot(void)
{
	void *sym = dlsym(RTLD_NEXT, "leakwatch_dump");
	int (*fn)(void);
	if (!sym)
		return -1;
	memcpy(&fn, &sym, sizeof fn);
	return fn();
}
