/* test_unwind.h — shared declarations of the fast-unwinder test program
 * (test_unwind*.c, test_unwind_cxx.cc, test_unwind_lib.c). */
#ifndef LW_TEST_UNWIND_H
#define LW_TEST_UNWIND_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Calls one of the chain functions (chosen by seed) with depth - 1, or the
 * stack check at depth 0. Returns a value the callers fold into theirs
 * (so no call is a tail call). */
uint64_t tu_next(int depth, uint64_t seed);

uint64_t tu_fp_small(int depth, uint64_t seed);    /* -fno-omit-frame-pointer */
uint64_t tu_fp_alloca(int depth, uint64_t seed);
uint64_t tu_nofp_small(int depth, uint64_t seed);  /* -fomit-frame-pointer */
uint64_t tu_nofp_big(int depth, uint64_t seed);
uint64_t tu_nofp_alloca(int depth, uint64_t seed);
uint64_t tu_cxx(int depth, uint64_t seed);         /* C++ */

/* In the dlopen'd libraries: fn is tu_next. */
typedef uint64_t (*tu_next_fn)(int depth, uint64_t seed);

#ifdef __cplusplus
}
#endif

#endif
