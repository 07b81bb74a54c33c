/* site.c — the site model (site.h): keys, stack → site, wrapper detection
 * and folding.
 *
 * Key format: per frame "function \x1f file \x1f line \x1f module \x1e",
 * an unknown function written "??+0x<offset>" (its return address relative
 * to its module's load bias). The separators cannot occur in the fields
 * that matter (names and paths); the key is compared, never parsed.
 *
 * Wrapper detection reads every frame of every site once: per function it
 * keeps the hash of the function names above its first occurrence (its
 * "allocation chain"), whether a later occurrence had another chain, and
 * its distinct callers (a set of (function, caller) pairs). Linear in the
 * number of frames. Single-threaded.
 */
#include "site.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "lw_assert.h"
#include "symbols.h"

void lw_site_key(const lw_sym_frame *f, size_t n, lw_strbuf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (lw_frame_unknown(&f[i]))
			lw_strbuf_fmt(out, "??+0x%" PRIx64, f[i].offset);
		else
			lw_strbuf_str(out, f[i].function);
		lw_strbuf_char(out, '\x1f');
		lw_strbuf_str(out, f[i].file);
		lw_strbuf_fmt(out, "\x1f%d\x1f", f[i].line);
		lw_strbuf_str(out, f[i].module);
		lw_strbuf_char(out, '\x1e');
	}
}

/* ---- stack → site ------------------------------------------------------------ */

int lw_site_from_stack(lw_site_build *b, const uint64_t *pcs, uint32_t depth,
		       lw_site_chain_fn chain, void *arg)
{
	b->n = 0;
	for (uint32_t i = 0; i < depth && b->n < LW_SITE_MAX_FRAMES; i++) {
		const lw_sym_frame *c;
		size_t k;
		int rc = chain(arg, pcs[i], &c, &k);
		if (rc < 0)
			return rc;
		LW_ASSERT(k >= 1 && k <= LW_SITE_MAX_INLINE);
		if (k > LW_SITE_MAX_FRAMES - b->n)
			k = LW_SITE_MAX_FRAMES - b->n;
		if (lw_grow(&b->frames, &b->cap, b->n + k, sizeof(*b->frames)) < 0 ||
		    lw_grow(&b->pc_index, &b->cap_index, b->n + k, sizeof(*b->pc_index)) < 0)
			return -ENOMEM;
		for (size_t j = 0; j < k; j++) {
			b->frames[b->n] = c[j];
			b->frames[b->n].pc = pcs[i];
			b->pc_index[b->n] = i;
			b->n++;
		}
	}
	/* allocator and shim frames go from the top, keeping one frame */
	b->top = 0;
	while (b->top + 1 < b->n &&
	       lw_sym_is_allocator_frame(b->frames[b->top].function, b->frames[b->top].module))
		b->top++;
	b->skip = b->top < b->n ? b->pc_index[b->top] : 0;
	lw_strbuf_reset(&b->key);
	lw_site_key(b->frames + b->top, b->n - b->top, &b->key);
	return b->key.err;
}

void lw_site_build_free(lw_site_build *b)
{
	free(b->frames);
	free(b->pc_index);
	lw_strbuf_free(&b->key);
	memset(b, 0, sizeof(*b));
}

/* ---- wrappers ---------------------------------------------------------------- */

void lw_wrappers_init(lw_wrappers *w)
{
	memset(w, 0, sizeof(*w));
	lw_map_init(&w->names, 1);
}

void lw_wrappers_free(lw_wrappers *w)
{
	lw_map_free(&w->names);
	for (size_t i = 0; i < w->n_patterns; i++)
		lw_regex_free(w->patterns[i]);
	free(w->patterns);
	memset(w, 0, sizeof(*w));
}

int lw_wrappers_add(lw_wrappers *w, const char *function)
{
	uint64_t *v = lw_map_put_str(&w->names, function, NULL, NULL);
	if (!v)
		return -ENOMEM;
	*v = 1;
	return 0;
}

int lw_wrappers_add_pattern(lw_wrappers *w, const char *pattern, char *err, size_t errlen)
{
	lw_regex **np = realloc(w->patterns, (w->n_patterns + 1) * sizeof(*np));
	if (!np)
		return -ENOMEM;
	w->patterns = np;
	lw_regex *re = lw_regex_new(pattern, err, errlen);
	if (!re)
		return -EINVAL;
	w->patterns[w->n_patterns++] = re;
	return 0;
}

int lw_wrappers_match(const lw_wrappers *w, const char *function)
{
	if (!function[0] || strcmp(function, "??") == 0)
		return 0;   /* an unknown function is no one's wrapper */
	const uint64_t *v = lw_map_find_str(&w->names, function);
	if (v)
		return *v != 0;
	for (size_t i = 0; i < w->n_patterns; i++)
		if (lw_regex_match(w->patterns[i], function))
			return 1;
	return 0;
}

/* What detection knows of one function. */
typedef struct fn_info {
	const char *name;
	uint64_t chain;          /* hash of the function names above it */
	uint32_t n_callers;      /* distinct callers, counted up to the threshold */
	int seen, mixed;         /* mixed: another occurrence had another chain */
} fn_info;

/* Index of `name` in *info (added when new); -1 on ENOMEM. */
static long fn_index(lw_map *ids, fn_info **info, size_t *n, size_t *cap, const char *name)
{
	int added;
	const char *stored;
	uint64_t *v = lw_map_put_str(ids, name, &added, &stored);
	if (!v)
		return -1;
	if (!added)
		return (long)*v;
	if (lw_grow(info, cap, *n + 1, sizeof(**info)) < 0)
		return -1;
	memset(&(*info)[*n], 0, sizeof(**info));
	(*info)[*n].name = stored;
	*v = *n;
	return (long)(*n)++;
}

int lw_site_find_wrappers(const lw_site *sites, size_t n, lw_wrappers *w)
{
	lw_map ids, pairs;       /* name → index; (index, caller index) pairs seen */
	lw_map_init(&ids, 1);
	lw_map_init(&pairs, 0);
	fn_info *info = NULL;
	size_t n_info = 0, cap_info = 0;
	long *idx = NULL;
	size_t cap_idx = 0;
	int rc = -ENOMEM;
	for (size_t s = 0; s < n; s++) {
		const lw_site *site = &sites[s];
		if (lw_grow(&idx, &cap_idx, site->n_frames + 1, sizeof(*idx)) < 0)
			goto out;
		for (size_t d = 0; d < site->n_frames; d++)
			if ((idx[d] = fn_index(&ids, &info, &n_info, &cap_info,
					       site->frames[d].function)) < 0)
				goto out;
		uint64_t chain = 0;
		for (size_t d = 0; d < site->n_frames; d++) {
			fn_info *fi = &info[idx[d]];
			if (!fi->seen) {
				fi->seen = 1;
				fi->chain = chain;
			} else if (fi->chain != chain) {
				fi->mixed = 1;
			}
			chain = lw_hash_more(chain, fi->name, strlen(fi->name) + 1);
			if (d + 1 < site->n_frames && idx[d + 1] != idx[d] &&
			    fi->n_callers < LW_SITE_WRAPPER_CALLERS) {
				int added;
				uint64_t pair = (uint64_t)idx[d] << 32 | (uint64_t)idx[d + 1];
				if (!lw_map_put_u64(&pairs, pair, &added))
					goto out;
				fi->n_callers += added;
			}
		}
	}
	for (size_t i = 0; i < n_info; i++) {
		const fn_info *fi = &info[i];
		if (!fi->mixed && fi->n_callers >= LW_SITE_WRAPPER_CALLERS &&
		    strcmp(fi->name, "??") != 0 && lw_wrappers_add(w, fi->name) < 0)
			goto out;
	}
	rc = 0;
out:
	lw_map_free(&ids);
	lw_map_free(&pairs);
	free(info);
	free(idx);
	return rc;
}

size_t lw_site_fold_depth(const lw_site *site, const lw_wrappers *w)
{
	size_t d = 0;
	while (d < site->n_frames && !lw_wrappers_match(w, site->frames[d].function))
		d++;
	if (d == site->n_frames)
		return 0;
	while (d + 1 < site->n_frames && lw_wrappers_match(w, site->frames[d + 1].function))
		d++;
	/* fold frames 0..d, keeping at least the last frame */
	return d + 1 < site->n_frames ? d + 1 : site->n_frames - 1;
}
