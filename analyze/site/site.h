/* site.h — the one site model: what a *site* is, how a raw stack becomes
 * one, and how allocation wrappers fold into their callers.
 *
 * A site is a symbolized stack, allocation call site first: every pc
 * expanded into its inline chain (innermost first, at most
 * LW_SITE_MAX_INLINE frames per pc), allocator and shim frames removed from
 * the top (lw_sym_is_allocator_frame; at least one frame is kept). Its
 * identity is its key (lw_site_key): function, file, line and module of
 * every frame, an unknown function ("??") keyed by its module and offset,
 * so two different unsymbolized stacks stay two sites and the same stack
 * gives the same key in every process (ASLR), file kind (snapshot or dump)
 * and store. The store keeps one row per key; every report, the export
 * formats and the heap graph group by those rows.
 *
 * Wrappers (redis's zmalloc, xmalloc, g_malloc, a project's my_alloc) are
 * functions that do nothing but allocate on behalf of many callers. The
 * views fold them into the site the way allocator frames are folded: the
 * leading wrapper frames are dropped, so labels name the first frame
 * outside them and sites that differ only inside a wrapper merge. Which
 * functions are wrappers is detected from the sites of a store
 * (lw_site_find_wrappers) and can be set by pattern (--wrapper REGEX) or
 * turned off (--no-wrappers); commands list the wrappers they folded.
 */
#ifndef LW_SITE_H
#define LW_SITE_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "hashmap.h"
#include "lwd.h"
#include "pattern.h"
#include "strbuf.h"

/* Frames kept per pc (an inline chain deeper than this keeps its innermost
 * frames) and per site. */
#define LW_SITE_MAX_INLINE 32
#define LW_SITE_MAX_FRAMES (LWD_MAX_DEPTH * LW_SITE_MAX_INLINE)
/* A function is a wrapper candidate when it is the first frame above at
 * least this many distinct caller functions. */
#define LW_SITE_WRAPPER_CALLERS 5

typedef struct lw_site {
	int64_t id;             /* store id (sites.id; folded: its smallest member) */
	size_t n_frames;
	lw_sym_frame *frames;   /* call site first */
	const char *key;        /* lw_site_key of the frames */
	size_t n_wrappers;      /* wrapper functions folded into this site */
	const char *const *wrappers;
} lw_site;

/* Appends the key of frames[0..n) to out (check out->err). */
void lw_site_key(const lw_sym_frame *frames, size_t n, lw_strbuf *out);

/* ---- stack → site -------------------------------------------------------- */

/* The inline chain of one return address, innermost first (1 to
 * LW_SITE_MAX_INLINE frames, `offset` and `module` filled, `pc` ignored):
 * the store's cached symbolizer. The chain stays valid until the next call.
 * Returns 0 or a negative errno. */
typedef int (*lw_site_chain_fn)(void *arg, uint64_t pc, const lw_sym_frame **chain,
				size_t *n);

/* Scratch state reused from stack to stack (all-zero to start). */
typedef struct lw_site_build {
	lw_sym_frame *frames;   /* every expanded frame, pc filled */
	uint32_t *pc_index;     /* per frame: index of its pc in the stack */
	size_t n, cap, cap_index;
	size_t top;             /* leading allocator frames: the site is frames[top..n) */
	uint32_t skip;          /* leading pcs whose frames were all removed */
	lw_strbuf key;          /* the site's key */
} lw_site_build;

/* Symbolizes pcs[0..depth) through chain and fills b. 0 or a negative errno. */
int lw_site_from_stack(lw_site_build *b, const uint64_t *pcs, uint32_t depth,
		       lw_site_chain_fn chain, void *arg);
void lw_site_build_free(lw_site_build *b);

/* ---- wrappers ------------------------------------------------------------ */

typedef struct lw_wrappers {
	lw_map names;           /* function name → 1: the wrapper functions */
	lw_regex **patterns;    /* functions matching any of these are wrappers too */
	size_t n_patterns;
} lw_wrappers;

void lw_wrappers_init(lw_wrappers *w);
void lw_wrappers_free(lw_wrappers *w);
/* Adds a function by name. 0 or -ENOMEM. */
int lw_wrappers_add(lw_wrappers *w, const char *function);
/* Adds a pattern (POSIX extended regex over function names); -EINVAL with a
 * message in err when it does not compile. */
int lw_wrappers_add_pattern(lw_wrappers *w, const char *pattern, char *err, size_t errlen);
int lw_wrappers_match(const lw_wrappers *w, const char *function);

/* Detects wrappers among sites[0..n) (unfolded, as stored) and adds them to
 * w: a function whose frames above it are the same in every site that
 * contains it (it allocates in one way only) and that is the first frame
 * above at least LW_SITE_WRAPPER_CALLERS distinct caller functions. An
 * unknown function never is one. 0 or -ENOMEM. */
int lw_site_find_wrappers(const lw_site *sites, size_t n, lw_wrappers *w);

/* How many leading frames of a site fold away: through the last frame of
 * the first run of consecutive wrapper frames, keeping at least one frame.
 * 0 when no frame is a wrapper. */
size_t lw_site_fold_depth(const lw_site *site, const lw_wrappers *w);

#endif
