/* app_common.h — helpers shared by the testapps.
 *
 * Role: every testapp is a small deterministic program with a known
 * allocation pattern. It is parameterized by argv ("--name value" options),
 * prints "truth" lines on stdout saying exactly how many bytes and objects
 * each allocation site holds at each checkpoint, and asks the shim for a
 * snapshot at those checkpoints through leakwatch_snapshot() when the shim
 * is preloaded (looked up at run time, so the apps also run without it).
 *
 * Output lines (one per event, flushed at once so a test can read them
 * while the program runs):
 *   truth point=P site=FUNCTION inuse_bytes=B inuse_objects=N
 *   snapshot point=P rc=R          (R = leakwatch_snapshot()'s result,
 *                                   or "none" when the shim is absent)
 *   ready pid=PID                  (after set-up, for tests that send signals)
 * The truth lines of a point are printed before its snapshot is requested;
 * nothing at those sites changes in between, so at LEAKWATCH_RATE=1 the
 * snapshot's inuse figures of those sites equal the truth exactly.
 *
 * Invariants: allocation sites are separate noinline functions that do work
 * after the allocation call (so the compiler cannot turn the call into a
 * tail jump and the return address lands inside the named function).
 * Not thread-safe except app_rand_r and the output helpers (stdio locks).
 */
#ifndef LW_APP_COMMON_H
#define LW_APP_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* noclone (GCC only) keeps GCC from making specialized copies named
 * "fn.constprop.0"; clang does not clone noinline functions. */
#if defined(__clang__)
#define LW_APP_NOINLINE __attribute__((noinline))
#else
#define LW_APP_NOINLINE __attribute__((noinline, noclone))
#endif

/* Options: "--name value" or "--name=value"; flags are "--name". */
long app_opt_long(int argc, char **argv, const char *name, long def);
double app_opt_double(int argc, char **argv, const char *name, double def);
const char *app_opt_str(int argc, char **argv, const char *name, const char *def);
int app_opt_flag(int argc, char **argv, const char *name);

/* xorshift64* generator; deterministic for a given seed. */
uint64_t app_rand_r(uint64_t *state);
/* Uniform in [lo, hi]. */
uint64_t app_rand_range(uint64_t *state, uint64_t lo, uint64_t hi);

/* CLOCK_MONOTONIC seconds. */
double app_now(void);
void app_sleep(double seconds);

/* Requests a snapshot (leakwatch_snapshot) or a dump (leakwatch_dump) and
 * prints the "snapshot point=..." line. Returns the shim's result, or 1 when
 * the shim is not loaded. */
int app_snapshot(const char *point);
int app_dump(const char *point);
/* Same requests without printing anything (for programs whose stdout is
 * gone): returns the shim's result, or 1 when the shim is not loaded. */
int app_snapshot_quiet(void);
/* True if the shim's API is present in the process. */
int app_shim_present(void);

void app_truth(const char *point, const char *site, uint64_t bytes, uint64_t objects);
void app_ready(void);

/* Stop condition of duration-driven loops: true once `deadline` (app_now()
 * time, 0 = none) has passed or `stop_file` (NULL = none) exists. */
int app_should_stop(double deadline, const char *stop_file);

/* Touches the memory so the compiler cannot drop an allocation. */
void app_touch(void *p, size_t n, unsigned seed);

#ifdef __cplusplus
}
#endif

#endif /* LW_APP_COMMON_H */
