/* heapwalk.h — enumerate every live block of Debian's mimalloc 2.0.9 heap,
 * including blocks of threads that have exited (abandoned segments), from a
 * forked, single-threaded, frozen child.
 *
 * mimalloc's public API can only visit the calling thread's heap, so the
 * walker reads mimalloc's segment and page headers itself (layout of the
 * release build of v2.0.9, verified at run time: mi_version() == 209, and a
 * self-check against canary blocks must pass, or the walk is refused).
 *
 * Result: pages sorted by address, each with a live bitmap over its blocks and
 * a rank array, so block indices are dense, in address order, and
 * lw_heapwalk_find() resolves any address (start or interior) to its block
 * in O(1) (see heapwalk.c). All memory comes from mmap, never the heap.
 *
 * Threads: lw_heapwalk_canary_*() run in the parent (the shim's writer thread);
 * everything else runs in the forked child only (not thread-safe, not
 * async-signal-safe beyond what a single-threaded child needs).
 */
#ifndef LW_HEAPWALK_H
#define LW_HEAPWALK_H

#include <stddef.h>
#include <stdint.h>

#define LW_HW_NONE 0xffffffffu

/* One mimalloc page (a run of equal-size blocks). */
typedef struct lw_hw_page {
	uint64_t start;          /* address of block 0 */
	uint64_t bsize;          /* block size (usable bytes) */
	uint64_t span;           /* nslots * bsize */
	uint32_t nslots;         /* initialized blocks (page capacity) */
	uint32_t flags;          /* LW_HW_PAGE_* */
	uint64_t bm_off;         /* first 64-bit word of this page in bm/rank */
} lw_hw_page;

#define LW_HW_PAGE_INCONSISTENT 0x1u  /* free lists disagreed with `used` (the
                                       * fork caught an update mid-way); blocks
                                       * not on any free list are reported */
#define LW_HW_PAGE_ABANDONED 0x2u     /* owning thread exited */

typedef struct lw_hw_segment {
	uint64_t base, end;      /* [base, end): the whole segment */
	uint32_t huge_page;      /* the single page of a huge segment, or LW_HW_NONE */
	uint32_t l2_off;         /* normal segments: 512-entry slice->page table offset */
} lw_hw_segment;

typedef struct lw_heapwalk {
	/* results */
	size_t n_pages;          lw_hw_page *pages;    /* sorted by start */
	size_t n_words;          uint64_t *bm;         /* live bit per slot */
	uint32_t *rank;          /* global index of the first live block of word i */
	uint64_t n_blocks;       /* live blocks */
	uint64_t live_bytes;     /* sum of their sizes */
	uint64_t lo, hi;         /* [lo, hi): all page spans lie inside */
	/* lookup structure */
	size_t n_segs;           lw_hw_segment *segs;  /* sorted by base */
	uint32_t *l1;            /* (addr >> 25) - (lo >> 25) -> segment, or NULL */
	uint64_t l1_len;
	uint32_t *l2;            /* per normal segment: 512 page indices */
	/* statistics */
	uint32_t n_abandoned_pages, n_inconsistent_pages, n_heaps;
	/* private: mmap bookkeeping and the /proc/self/maps copy */
	void *maps_;
	size_t n_maps_;
	void *mem_;
	size_t mem_len_;
} lw_heapwalk;

/* Canaries for the self-check. Parent side, before fork: start a thread that
 * allocates blocks of several size classes, frees some itself and hands one to
 * the caller to free (a cross-thread free), then parks until
 * lw_heapwalk_canary_release(). Returns 0 or -errno (then the walk is refused).
 * Not reentrant: one dump at a time (the shim's writer thread). */
int lw_heapwalk_canary_start(void);
void lw_heapwalk_canary_release(void);
/* Kernel tid of the running canary thread (0 if none): the thread capture
 * leaves it alone (it is the shim's, and blocks signals). */
uint32_t lw_heapwalk_canary_tid(void);
/* Its pthread_t (0 if none). */
uint64_t lw_heapwalk_canary_thread(void);

/* Child side. Walks the whole heap. Returns 0, or a negative code:
 * -ENOTSUP (mimalloc version or layout not the one this walker knows; the
 * self-check failed), -ENOMEM (mmap), -EIO (/proc/self/maps unreadable).
 * On failure *hw holds nothing that needs freeing. The canary blocks are
 * verified and then removed from the result. */
int lw_heapwalk_run(lw_heapwalk *hw);
void lw_heapwalk_free(lw_heapwalk *hw);

/* Block containing addr (start or interior), or LW_HW_NONE; *interior (may be
 * NULL) is set to 1 if addr is not the block start. O(1), no locks: the
 * scanner's hot path. */
static inline uint32_t lw_heapwalk_find(const lw_heapwalk *hw, uint64_t addr, int *interior);

/* /proc/self/maps as read at the start of the walk (child side):
 * lw_heapwalk_mapping: the mapping containing addr (adjacent mappings with the
 * same permissions and kind are merged); returns 1 and sets [*start, *end),
 * or 0.
 * lw_heapwalk_readable_next: the first readable run inside [from, to);
 * returns 1 and sets [*rs, *re), or 0 when none is left. */
int lw_heapwalk_mapping(const lw_heapwalk *hw, uint64_t addr, uint64_t *start, uint64_t *end);
/* The "[stack]" mapping (the main thread's stack): 1 and its range, or 0. */
int lw_heapwalk_main_stack(const lw_heapwalk *hw, uint64_t *start, uint64_t *end);
int lw_heapwalk_readable_next(const lw_heapwalk *hw, uint64_t from, uint64_t to,
			      uint64_t *rs, uint64_t *re);

/* Address and size of block i (i < n_blocks). O(log n_pages). */
void lw_heapwalk_block(const lw_heapwalk *hw, uint32_t i, uint64_t *addr, uint64_t *size);

/* Iterates blocks in index order: call with *page = 0, *slot = 0 first;
 * returns 1 and sets addr/size while blocks remain, 0 at the end. */
int lw_heapwalk_next(const lw_heapwalk *hw, size_t *page, uint64_t *slot,
		     uint64_t *addr, uint64_t *size);

/* ---- inline lookup ------------------------------------------------------ */
#define LW_HW_SEG_SHIFT 25       /* mimalloc 2.0.9: 32 MiB segments */
#define LW_HW_SLICE_SHIFT 16     /* 64 KiB slices, 512 per segment */

static inline uint32_t lw_heapwalk_find(const lw_heapwalk *hw, uint64_t addr, int *interior)
{
	if (addr - hw->lo >= hw->hi - hw->lo)
		return LW_HW_NONE;
	uint64_t u = (addr >> LW_HW_SEG_SHIFT) - (hw->lo >> LW_HW_SEG_SHIFT);
	uint32_t s = hw->l1[u];
	if (s == LW_HW_NONE)
		return LW_HW_NONE;
	const lw_hw_segment *sg = &hw->segs[s];
	uint32_t pi;
	if (sg->huge_page != LW_HW_NONE)
		pi = sg->huge_page;
	else
		pi = hw->l2[sg->l2_off + ((addr - sg->base) >> LW_HW_SLICE_SHIFT)];
	if (pi == LW_HW_NONE)
		return LW_HW_NONE;
	const lw_hw_page *pg = &hw->pages[pi];
	uint64_t off = addr - pg->start;
	if (off >= pg->span)
		return LW_HW_NONE;
	uint64_t slot, rem;
	if (pg->span <= 0xffffffffu) {
		slot = (uint32_t)off / (uint32_t)pg->bsize;
		rem = (uint32_t)off - (uint32_t)slot * (uint32_t)pg->bsize;
	} else {
		slot = off / pg->bsize;
		rem = off - slot * pg->bsize;
	}
	uint64_t wi = pg->bm_off + (slot >> 6);
	uint64_t bits = hw->bm[wi];
	unsigned b = (unsigned)(slot & 63);
	if (!((bits >> b) & 1))
		return LW_HW_NONE;
	if (interior)
		*interior = rem != 0;
	return hw->rank[wi] + (uint32_t)__builtin_popcountll(bits & ((1ull << b) - 1));
}

#endif /* LW_HEAPWALK_H */
