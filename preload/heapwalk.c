/* heapwalk.c — walks mimalloc 2.0.9's segments and pages in a forked child
 * and yields every live block (see heapwalk.h).
 *
 * How (mimalloc v2.0.9, release build as Debian ships it: no MI_DEBUG, no
 * MI_SECURE, so free lists are NOT encoded; the self-check proves it):
 *   - A segment is 32 MiB-aligned memory (huge segments are larger) whose
 *     header holds `cookie == address ^ main_cookie`. main_cookie is derived
 *     from the segment of a known canary block (whose header is validated
 *     structurally first); every candidate address is then accepted only if
 *     its cookie matches AND kind, slice counts and every page header are in
 *     range, so random memory is never taken for a segment.
 *   - Candidates: every 32 MiB-aligned address inside a readable, writable,
 *     anonymous mapping of /proc/self/maps. Abandoned segments (threads that
 *     exited) are ordinary segments here: nothing in the walk depends on the
 *     owning thread.
 *   - A page is a slice entry with slice_offset 0 and xblock_size != 0 past
 *     the segment-info slices. Blocks 0..capacity-1 are initialized; a block
 *     is live unless it is on page->free, page->local_free, page->xthread_free
 *     (low 2 bits are flags) or on the owning heap's thread_delayed_free list
 *     (heaps are found through page->xheap). Invariant checked per page:
 *     used == capacity - |free| - |local_free|; a mismatch (the fork caught a
 *     thread mid-update) is counted and the page is still reported.
 *   - Every pointer followed is checked first (inside the page, on a block
 *     boundary, not yet seen, inside a readable mapping), so a corrupt list
 *     ends the walk of that list, never the child.
 *
 * Memory: mmap only, never the program heap: one arena sized after a counting
 * pass (segments, pages, bitmap, ranks, l2), plus l1 and the maps copy.
 * Lookup: l1[addr >> 25] -> segment; l2[segment][slice] -> page; page start,
 * block size, a live bitmap and a rank array give the dense block index with
 * one division and one popcount (lw_heapwalk_find, the scanner's hot path).
 */
#include "heapwalk.h"

#include <errno.h>
#include <fcntl.h>
#include <mimalloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- mimalloc 2.0.9 layout (x86-64 / 64-bit, release build) ------------ */
#define MI_SEG_SIZE (1ull << LW_HW_SEG_SHIFT)
#define MI_SLICE_SIZE (1ull << LW_HW_SLICE_SHIFT)
#define MI_SLICES_PER_SEG 512u
#define MI_HUGE_BSIZE 0x80000000u          /* xblock_size marking a huge page */
#define MI_SMALL_START_OFFSET 384u         /* 3 * MI_MAX_ALIGN_GUARANTEE, for bsize 8..1024 */
/* mi_segment_t */
#define SEG_COOKIE 216
#define SEG_SLICES 224                     /* segment_slices */
#define SEG_INFO_SLICES 232
#define SEG_KIND 240                       /* u32: 0 normal, 1 huge */
#define SEG_ENTRIES 248                    /* slice_entries */
#define SEG_SLICE0 264                     /* slices[] */
#define SEG_HEADER_BYTES (SEG_SLICE0 + (MI_SLICES_PER_SEG + 1) * PAGE_BYTES)
/* mi_page_t (== mi_slice_t), 80 bytes */
#define PAGE_BYTES 80
#define PG_SLICE_COUNT 0
#define PG_SLICE_OFFSET 4
#define PG_CAPACITY 10                     /* u16 */
#define PG_RESERVED 12                     /* u16 */
#define PG_FREE 16
#define PG_USED 24                         /* u32 */
#define PG_XBLOCK 28                       /* u32 */
#define PG_LOCAL_FREE 32
#define PG_XTHREAD_FREE 40
#define PG_XHEAP 48
/* mi_heap_t: tld, pages_free_direct[129], pages[75] (24 bytes each) */
#define HEAP_DELAYED_FREE (8 + 8 * 129 + 24 * 75)
#define HEAP_MIN_BYTES (HEAP_DELAYED_FREE + 8)

#define MAX_HEAPS 4096
#define MAX_RANGES 65536

static inline uint64_t rd64(uint64_t a) { return *(const volatile uint64_t *)a; }
static inline uint32_t rd32(uint64_t a) { return *(const volatile uint32_t *)a; }
static inline uint16_t rd16(uint64_t a) { return *(const volatile uint16_t *)a; }

/* ---- canaries (parent side) --------------------------------------------- */
#define N_CANARY_LIVE 4
#define N_CANARY_FREED 3
static const size_t canary_sizes[N_CANARY_LIVE] = { 48, 3000, 70000, 400000 };
static struct {
	pthread_t thr;
	int running;
	void *live[N_CANARY_LIVE];
	void *freed[N_CANARY_FREED];   /* [0],[1] freed by the canary thread, [2] by the caller */
	_Atomic int state;             /* 0 start, 1 ready, 2 release */
	_Atomic uint32_t tid;
} canary;

uint32_t lw_heapwalk_canary_tid(void)
{
	return canary.running ? atomic_load(&canary.tid) : 0;
}

uint64_t lw_heapwalk_canary_thread(void)
{
	return canary.running ? (uint64_t)canary.thr : 0;
}

static void *canary_main(void *arg)
{
	(void)arg;
	atomic_store(&canary.tid, (uint32_t)syscall(SYS_gettid));
	for (int i = 0; i < N_CANARY_LIVE; i++)
		canary.live[i] = mi_malloc(canary_sizes[i]);
	canary.freed[0] = mi_malloc(48);
	canary.freed[1] = mi_malloc(3000);
	canary.freed[2] = mi_malloc(48);
	mi_free(canary.freed[0]);
	mi_free(canary.freed[1]);
	atomic_store(&canary.state, 1);
	while (atomic_load(&canary.state) != 2)
		usleep(200);
	for (int i = 0; i < N_CANARY_LIVE; i++)
		mi_free(canary.live[i]);
	return NULL;
}

/* Parent, writer thread. */
int lw_heapwalk_canary_start(void)
{
	if (canary.running)
		return -EBUSY;
	memset(canary.live, 0, sizeof canary.live);
	memset(canary.freed, 0, sizeof canary.freed);
	atomic_store(&canary.state, 0);
	int rc = pthread_create(&canary.thr, NULL, canary_main, NULL);
	if (rc)
		return -rc;
	canary.running = 1;
	for (int spins = 0; atomic_load(&canary.state) != 1; spins++) {
		if (spins > 50000) {       /* 10 s: the thread could not even allocate */
			lw_heapwalk_canary_release();
			return -ETIMEDOUT;
		}
		usleep(200);
	}
	mi_free(canary.freed[2]);          /* cross-thread free */
	return 0;
}

/* Parent, writer thread, after fork. */
void lw_heapwalk_canary_release(void)
{
	if (!canary.running)
		return;
	atomic_store(&canary.state, 2);
	pthread_join(canary.thr, NULL);
	canary.running = 0;
}

/* ---- mmap'd scratch ----------------------------------------------------- */
static void *map_zero(size_t len)
{
	if (len == 0)
		len = 1;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* ---- /proc/self/maps ---------------------------------------------------- */
typedef struct range { uint64_t start, end; uint32_t flags; } range;
#define R_READ 1u
#define R_WRITE 2u
#define R_ANON 4u
#define R_STACK 8u                 /* "[stack]": the main thread's stack */

typedef struct maps {
	range *v;
	size_t n;
} maps;

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	return -1;
}

/* Parses one maps line into r; returns 0 or -1. */
static int parse_line(const char *s, const char *e, range *r)
{
	uint64_t a = 0, b = 0;
	int d;
	while (s < e && (d = hexval(*s)) >= 0) { a = a * 16 + (uint64_t)d; s++; }
	if (s >= e || *s++ != '-') return -1;
	while (s < e && (d = hexval(*s)) >= 0) { b = b * 16 + (uint64_t)d; s++; }
	if (s + 5 > e || *s++ != ' ') return -1;
	r->start = a;
	r->end = b;
	r->flags = (s[0] == 'r' ? R_READ : 0) | (s[1] == 'w' ? R_WRITE : 0);
	s += 4;
	/* offset, dev, inode, path */
	int field = 0;
	const char *inode = NULL, *path = NULL;
	while (s < e) {
		while (s < e && *s == ' ') s++;
		if (s >= e) break;
		field++;
		if (field == 3) inode = s;
		if (field == 4) { path = s; break; }
		while (s < e && *s != ' ') s++;
	}
	int anon = inode && inode[0] == '0' && (inode + 1 >= e || inode[1] == ' ');
	if (anon && path && path[0] == '[' && strncmp(path, "[anon:", 6) != 0)
		anon = 0;                  /* [stack], [vvar], [heap], ... */
	if (anon)
		r->flags |= R_ANON;
	if (path && e - path >= 7 && memcmp(path, "[stack]", 7) == 0)
		r->flags |= R_STACK;
	return 0;
}

/* Reads /proc/self/maps into m (mmap'd). Child-safe: open/read/mmap only.
 * The copy is kept in the result for heapgraph.c (lw_heapwalk_mapping,
 * lw_heapwalk_readable_next). */
static int maps_read(maps *m)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -EIO;
	/* One fixed buffer (virtual, NORESERVE): growing it would unmap memory
	 * that the text being read may still list. 64k lines fit. */
	size_t cap = (size_t)MAX_RANGES * 160, len = 0;
	char *buf = map_zero(cap);
	if (!buf) { close(fd); return -ENOMEM; }
	for (;;) {
		if (len == cap) { munmap(buf, cap); close(fd); return -EIO; }
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) { munmap(buf, cap); close(fd); return -EIO; }
		if (r == 0) break;
		len += (size_t)r;
	}
	close(fd);
	m->v = map_zero(MAX_RANGES * sizeof(range));
	if (!m->v) { munmap(buf, cap); return -ENOMEM; }
	m->n = 0;
	const char *s = buf, *end = buf + len;
	while (s < end && m->n < MAX_RANGES) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl) nl = end;
		range r;
		/* the buffer itself is unmapped below: cut it out (the kernel may
		 * have merged it with a neighbouring mapping) */
		uint64_t b0 = (uint64_t)buf, b1 = b0 + cap;
		if (parse_line(s, nl, &r) == 0 && r.end > r.start) {
			if (r.end <= b0 || r.start >= b1) {
				m->v[m->n++] = r;
			} else {
				range lo = r, hi = r;
				lo.end = b0;
				hi.start = b1;
				if (lo.end > lo.start)
					m->v[m->n++] = lo;
				if (hi.end > hi.start && m->n < MAX_RANGES)
					m->v[m->n++] = hi;
			}
		}
		s = nl + 1;
	}
	munmap(buf, cap);
	return 0;
}

static void maps_free(maps *m)
{
	if (m->v) munmap(m->v, MAX_RANGES * sizeof(range));
	m->v = NULL;
}

/* 1 if [a, a+len) is inside readable mappings (adjacent ones may be chained). */
static int readable(const maps *m, uint64_t a, uint64_t len)
{
	uint64_t end = a + len;
	if (end < a) return 0;
	size_t lo = 0, hi = m->n;
	while (lo < hi) {                  /* first range with end > a */
		size_t mid = (lo + hi) / 2;
		if (m->v[mid].end <= a) lo = mid + 1; else hi = mid;
	}
	for (size_t i = lo; i < m->n; i++) {
		const range *r = &m->v[i];
		if (r->start > a || !(r->flags & R_READ))
			return 0;
		if (r->end >= end)
			return 1;
		a = r->end;
	}
	return 0;
}

/* ---- segment validation ------------------------------------------------- */
typedef struct segview {
	uint64_t base, end;
	uint32_t kind;
	uint64_t entries, info;
} segview;

/* Structural checks of a segment header (no cookie). Returns 1 if valid. */
static int seg_check(const maps *m, uint64_t base, segview *sv)
{
	if (!readable(m, base, SEG_HEADER_BYTES))
		return 0;
	uint64_t nslices = rd64(base + SEG_SLICES);
	uint64_t info = rd64(base + SEG_INFO_SLICES);
	uint32_t kind = rd32(base + SEG_KIND);
	uint64_t entries = rd64(base + SEG_ENTRIES);
	if (kind > 1 || info < 1 || info > 8 || entries > MI_SLICES_PER_SEG || entries <= info)
		return 0;
	if (kind == 0 && nslices != MI_SLICES_PER_SEG)
		return 0;
	if (kind == 1 && (nslices <= info || nslices > (1ull << 30)))   /* < 64 TiB */
		return 0;
	if (entries > nslices)
		return 0;
	sv->base = base;
	sv->end = base + nslices * MI_SLICE_SIZE;
	sv->kind = kind;
	sv->entries = entries;
	sv->info = info;
	return 1;
}

/* Decoded page header. */
typedef struct pageview {
	uint64_t hdr;        /* address of the mi_page_t */
	uint64_t start, bsize;
	uint32_t capacity, used;
} pageview;

/* Visits the pages of a validated segment. Returns the number of pages, or
 * -1 if a slice entry is out of range (then the segment is rejected). When
 * out != NULL, stores up to max pages. */
static long seg_pages(const segview *sv, pageview *out, size_t max)
{
	long n = 0;
	uint64_t i = sv->info;
	while (i < sv->entries) {
		uint64_t h = sv->base + SEG_SLICE0 + i * PAGE_BYTES;
		uint32_t count = rd32(h + PG_SLICE_COUNT);
		uint32_t offset = rd32(h + PG_SLICE_OFFSET);
		uint32_t xbs = rd32(h + PG_XBLOCK);
		if (offset != 0 || count == 0)
			return -1;
		uint64_t psize = (uint64_t)count * MI_SLICE_SIZE;
		if (sv->kind == 0 && i + count > sv->entries)
			return -1;
		if (sv->kind == 1 && sv->base + i * MI_SLICE_SIZE + psize > sv->end)
			return -1;
		uint32_t cap = rd16(h + PG_CAPACITY), res = rd16(h + PG_RESERVED);
		if (xbs != 0 && cap != 0) {
			uint64_t start_off = (xbs >= 8 && xbs <= 1024) ? MI_SMALL_START_OFFSET : 0;
			uint64_t bsize = xbs;
			if (xbs >= MI_HUGE_BSIZE)
				bsize = psize - start_off;
			uint32_t used = rd32(h + PG_USED);
			if (bsize < 8 || (bsize & 7) || cap > res || used > cap ||
			    (uint64_t)res * bsize > psize - start_off)
				return -1;
			if (out && (size_t)n < max) {
				out[n].hdr = h;
				out[n].start = sv->base + i * MI_SLICE_SIZE + start_off;
				out[n].bsize = bsize;
				out[n].capacity = cap;
				out[n].used = used;
			}
			n++;
		}
		if (sv->kind == 1)
			break;                 /* a huge segment has one page */
		i += count;
	}
	return n;
}

/* ---- the walk ----------------------------------------------------------- */
typedef struct walkctx {
	lw_heapwalk *hw;
	maps m;
	uint64_t main_cookie;
	uint64_t total_slots;
	uint64_t heaps[MAX_HEAPS];
	size_t n_heaps;
} walkctx;

static int cookie_from_canary(walkctx *c, uint64_t *cookie)
{
	uint64_t p = (uint64_t)canary.live[0];
	if (!p)
		return -ENOTSUP;
	uint64_t base = (p - 1) & ~(MI_SEG_SIZE - 1);
	segview sv;
	if (!seg_check(&c->m, base, &sv) || seg_pages(&sv, NULL, 0) < 1)
		return -ENOTSUP;
	*cookie = base ^ rd64(base + SEG_COOKIE);
	return 0;
}

static int is_segment(walkctx *c, uint64_t base, segview *sv)
{
	if (!readable(&c->m, base, SEG_HEADER_BYTES))
		return 0;
	if (rd64(base + SEG_COOKIE) != (base ^ c->main_cookie))
		return 0;
	return seg_check(&c->m, base, sv) && seg_pages(sv, NULL, 0) >= 0;
}

/* Calls fn for every segment, in address order. */
static void for_segments(walkctx *c, void (*fn)(walkctx *, const segview *, void *), void *arg)
{
	uint64_t next_ok = 0;
	for (size_t i = 0; i < c->m.n; i++) {
		const range *r = &c->m.v[i];
		if ((r->flags & (R_READ | R_WRITE | R_ANON)) != (R_READ | R_WRITE | R_ANON))
			continue;
		uint64_t a = (r->start + MI_SEG_SIZE - 1) & ~(MI_SEG_SIZE - 1);
		if (a < next_ok)
			a = next_ok;
		for (; a >= r->start && a < r->end; a += MI_SEG_SIZE) {
			segview sv;
			if (is_segment(c, a, &sv)) {
				fn(c, &sv, arg);
				next_ok = sv.end;
				a = sv.end - MI_SEG_SIZE;   /* loop adds one segment */
			}
		}
	}
}

typedef struct counts { uint64_t segs, pages, words, normal; } counts;

static void count_fn(walkctx *c, const segview *sv, void *arg)
{
	counts *k = arg;
	pageview pv[MI_SLICES_PER_SEG];
	long n = seg_pages(sv, pv, MI_SLICES_PER_SEG);
	k->segs++;
	if (sv->kind == 0)
		k->normal++;
	for (long i = 0; i < n; i++) {
		k->pages++;
		k->words += (pv[i].capacity + 63) / 64;
		c->total_slots += pv[i].capacity;
	}
}

static void fill_fn(walkctx *c, const segview *sv, void *arg)
{
	lw_heapwalk *hw = c->hw;
	counts *k = arg;               /* running: segs, pages, words, normal */
	if (k->segs >= hw->n_segs)     /* memory changed between passes: cannot */
		return;
	pageview pv[MI_SLICES_PER_SEG];
	long n = seg_pages(sv, pv, MI_SLICES_PER_SEG);
	lw_hw_segment *sg = &hw->segs[k->segs];
	uint32_t si = (uint32_t)k->segs++;
	sg->base = sv->base;
	sg->end = sv->end;
	sg->huge_page = LW_HW_NONE;
	sg->l2_off = LW_HW_NONE;
	uint32_t *l2 = NULL;
	if (sv->kind == 0) {
		sg->l2_off = (uint32_t)(k->normal++ * MI_SLICES_PER_SEG);
		l2 = &hw->l2[sg->l2_off];
		for (unsigned j = 0; j < MI_SLICES_PER_SEG; j++)
			l2[j] = LW_HW_NONE;
	}
	(void)si;
	for (long i = 0; i < n; i++) {
		if (k->pages >= hw->n_pages || k->words + (pv[i].capacity + 63) / 64 > hw->n_words)
			return;
		uint32_t pi = (uint32_t)k->pages++;
		lw_hw_page *pg = &hw->pages[pi];
		pg->start = pv[i].start;
		pg->bsize = pv[i].bsize;
		pg->nslots = pv[i].capacity;
		pg->span = (uint64_t)pv[i].capacity * pv[i].bsize;
		pg->flags = 0;
		pg->bm_off = k->words;
		k->words += (pv[i].capacity + 63) / 64;
		/* all initialized blocks start live */
		for (uint32_t s = 0; s < pv[i].capacity; s++)
			hw->bm[pg->bm_off + s / 64] |= 1ull << (s % 64);
		if (l2) {
			uint64_t first = (pv[i].start - sv->base) >> LW_HW_SLICE_SHIFT;
			uint64_t h = pv[i].hdr;
			uint64_t cnt = rd32(h + PG_SLICE_COUNT);
			for (uint64_t j = first; j < first + cnt && j < MI_SLICES_PER_SEG; j++)
				l2[j] = pi;
		} else {
			sg->huge_page = pi;
		}
	}
}

/* Clears the live bit of block p of page pg; returns 0 if p is a block of
 * the page whose bit was set, -1 otherwise (foreign pointer or a repeat). */
static int mark_free(lw_heapwalk *hw, const lw_hw_page *pg, uint64_t p)
{
	uint64_t off = p - pg->start;
	if (p < pg->start || off >= pg->span || off % pg->bsize)
		return -1;
	uint64_t slot = off / pg->bsize;
	uint64_t *w = &hw->bm[pg->bm_off + slot / 64];
	uint64_t bit = 1ull << (slot % 64);
	if (!(*w & bit))
		return -1;
	*w &= ~bit;
	return 0;
}

/* Walks a free list starting at p within one page. Returns its length. */
static uint64_t walk_list(walkctx *c, const lw_hw_page *pg, uint64_t p, int *bad)
{
	uint64_t n = 0;
	while (p) {
		if (n > pg->nslots || !readable(&c->m, p, 8) || mark_free(c->hw, pg, p) < 0) {
			*bad = 1;
			break;
		}
		n++;
		p = rd64(p);
	}
	return n;
}

static void add_heap(walkctx *c, uint64_t h)
{
	if (!h)
		return;
	for (size_t i = 0; i < c->n_heaps; i++)
		if (c->heaps[i] == h)
			return;
	if (c->n_heaps < MAX_HEAPS)
		c->heaps[c->n_heaps++] = h;
}

/* Page index of address p, or LW_HW_NONE (uses l1/l2 only). */
static uint32_t page_of(const lw_heapwalk *hw, uint64_t p)
{
	if (p - hw->lo >= hw->hi - hw->lo)
		return LW_HW_NONE;
	uint32_t s = hw->l1[(p >> LW_HW_SEG_SHIFT) - (hw->lo >> LW_HW_SEG_SHIFT)];
	if (s == LW_HW_NONE)
		return LW_HW_NONE;
	const lw_hw_segment *sg = &hw->segs[s];
	if (sg->huge_page != LW_HW_NONE)
		return sg->huge_page;
	return hw->l2[sg->l2_off + ((p - sg->base) >> LW_HW_SLICE_SHIFT)];
}

static int slot_live(const lw_heapwalk *hw, uint64_t p)
{
	uint32_t pi = page_of(hw, p);
	if (pi == LW_HW_NONE)
		return 0;
	const lw_hw_page *pg = &hw->pages[pi];
	uint64_t off = p - pg->start;
	if (p < pg->start || off >= pg->span)
		return 0;
	uint64_t slot = off / pg->bsize;
	return (hw->bm[pg->bm_off + slot / 64] >> (slot % 64)) & 1;
}

static void clear_slot(lw_heapwalk *hw, uint64_t p)
{
	uint32_t pi = page_of(hw, p);
	if (pi == LW_HW_NONE)
		return;
	const lw_hw_page *pg = &hw->pages[pi];
	uint64_t off = p - pg->start;
	if (p < pg->start || off >= pg->span)
		return;
	uint64_t slot = off / pg->bsize;
	hw->bm[pg->bm_off + slot / 64] &= ~(1ull << (slot % 64));
}

static size_t align_up(size_t v, size_t a) { return (v + a - 1) & ~(a - 1); }

void lw_heapwalk_free(lw_heapwalk *hw)
{
	if (hw->mem_)
		munmap(hw->mem_, hw->mem_len_);
	if (hw->l1)
		munmap(hw->l1, hw->l1_len * 4);
	if (hw->maps_)
		munmap(hw->maps_, MAX_RANGES * sizeof(range));
	memset(hw, 0, sizeof *hw);
}

/* ---- the steps of lw_heapwalk_run ---------------------------------------- */

/* Lays out one arena for the segments, pages, bitmap, ranks and l2 tables,
 * sized by the counting pass, maps it and points *hw into it
 * (lw_heapwalk_free unmaps it whole). */
static int arena_map(lw_heapwalk *hw, const counts *k)
{
	size_t o_segs = 0;
	size_t o_pages = align_up(o_segs + k->segs * sizeof(lw_hw_segment), 64);
	size_t o_bm = align_up(o_pages + k->pages * sizeof(lw_hw_page), 64);
	size_t o_rank = align_up(o_bm + k->words * 8, 64);
	size_t o_l2 = align_up(o_rank + k->words * 4, 64);
	size_t o_end = align_up(o_l2 + k->normal * MI_SLICES_PER_SEG * 4, 4096);
	uint8_t *mem = map_zero(o_end);
	if (!mem)
		return -ENOMEM;
	hw->mem_ = mem;
	hw->mem_len_ = o_end;
	hw->segs = (lw_hw_segment *)(mem + o_segs);
	hw->pages = (lw_hw_page *)(mem + o_pages);
	hw->bm = (uint64_t *)(mem + o_bm);
	hw->rank = (uint32_t *)(mem + o_rank);
	hw->l2 = (uint32_t *)(mem + o_l2);
	hw->n_segs = k->segs;
	hw->n_pages = k->pages;
	hw->n_words = k->words;
	return 0;
}

/* Reads the maps, derives the cookie from a canary, counts the segments and
 * maps the arena for them. On failure *hw holds nothing to free. */
static int walk_prepare(walkctx *c, counts *k)
{
	int rc = maps_read(&c->m);
	if (rc < 0)
		return rc;
	rc = cookie_from_canary(c, &c->main_cookie);
	if (rc < 0)
		return rc;
	for_segments(c, count_fn, k);
	if (k->segs == 0)
		return -ENOTSUP;
	return arena_map(c->hw, k);
}

/* Second pass over the segments: pages with every initialized block live,
 * segments and l2. It must see exactly what the counting pass saw: anything
 * else means the heap is not frozen and the arena does not fit it. */
static int pages_fill(walkctx *c, const counts *k)
{
	counts f = { 0, 0, 0, 0 };
	for_segments(c, fill_fn, &f);
	if (f.segs != k->segs || f.pages != k->pages || f.words != k->words)
		return -ENOTSUP;
	if (c->hw->n_pages == 0)
		return -ENOTSUP;
	return 0;
}

/* [lo, hi): from the first page's start to the furthest page end; l1 covers
 * exactly this span. */
static void span_bounds(lw_heapwalk *hw)
{
	hw->lo = hw->pages[0].start;
	hw->hi = 0;
	for (size_t i = 0; i < hw->n_pages; i++)
		if (hw->pages[i].start + hw->pages[i].span > hw->hi)
			hw->hi = hw->pages[i].start + hw->pages[i].span;
}

/* Maps l1 (one entry per 32 MiB of [lo, hi)) and points each entry at the
 * segment covering it; a huge segment covers several entries. */
static int l1_build(lw_heapwalk *hw)
{
	hw->l1_len = ((hw->hi - 1) >> LW_HW_SEG_SHIFT) - (hw->lo >> LW_HW_SEG_SHIFT) + 1;
	if (hw->l1_len > (1u << 24))   /* > 512 TiB span */
		return -ENOMEM;
	hw->l1 = map_zero(hw->l1_len * 4);
	if (!hw->l1)
		return -ENOMEM;
	for (uint64_t i = 0; i < hw->l1_len; i++)
		hw->l1[i] = LW_HW_NONE;
	for (size_t s = 0; s < hw->n_segs; s++) {
		const lw_hw_segment *sg = &hw->segs[s];
		uint64_t a = sg->base < hw->lo ? hw->lo : sg->base;
		for (; a < sg->end && a < hw->hi; a = (a & ~(MI_SEG_SIZE - 1)) + MI_SEG_SIZE)
			hw->l1[(a >> LW_HW_SEG_SHIFT) - (hw->lo >> LW_HW_SEG_SHIFT)] = (uint32_t)s;
	}
	return 0;
}

/* Clears the blocks on the page's free, local_free and xthread_free lists
 * (xthread_free keeps flags in its low 2 bits). The page is flagged when a
 * list is corrupt or the lists disagree with `used`: the fork caught the
 * owner mid-update, and blocks on no list are still reported. */
static void page_free_lists(walkctx *c, lw_hw_page *pg, const pageview *pv)
{
	uint64_t h = pv->hdr;
	int bad = 0;
	uint64_t nf = walk_list(c, pg, rd64(h + PG_FREE), &bad);
	uint64_t nl = walk_list(c, pg, rd64(h + PG_LOCAL_FREE), &bad);
	walk_list(c, pg, rd64(h + PG_XTHREAD_FREE) & ~3ull, &bad);
	if (bad || nf + nl + pv->used != pv->capacity)
		pg->flags |= LW_HW_PAGE_INCONSISTENT;
}

/* A page without a heap belongs to an exited thread; a page's heap is
 * recorded (if it looks like one) for its thread_delayed_free list. */
static void page_owner(walkctx *c, lw_hw_page *pg, const pageview *pv)
{
	uint64_t heap = rd64(pv->hdr + PG_XHEAP);
	if (heap == 0)
		pg->flags |= LW_HW_PAGE_ABANDONED;
	else if ((heap & 7) == 0 && readable(&c->m, heap, HEAP_MIN_BYTES))
		add_heap(c, heap);
}

/* Third pass: the page headers again, in the order pages_fill stored them
 * (segments by address, pages by slice), for the free lists and owners.
 * Each segment is revalidated before its headers are read again. */
static int free_lists_clear(walkctx *c)
{
	lw_heapwalk *hw = c->hw;
	size_t pi = 0;
	for (size_t s = 0; s < hw->n_segs; s++) {
		segview sv;
		if (!is_segment(c, hw->segs[s].base, &sv))
			return -ENOTSUP;
		pageview pv[MI_SLICES_PER_SEG];
		long n = seg_pages(&sv, pv, MI_SLICES_PER_SEG);
		for (long i = 0; i < n; i++, pi++) {
			page_free_lists(c, &hw->pages[pi], &pv[i]);
			page_owner(c, &hw->pages[pi], &pv[i]);
		}
	}
	return 0;
}

/* Blocks freed by another thread while their page was full wait on the
 * owning heap's thread_delayed_free list: they are not live. The list is
 * followed only through live, aligned, readable blocks, and no further than
 * there are slots, so a corrupt list cannot loop. */
static void delayed_free_clear(walkctx *c)
{
	lw_heapwalk *hw = c->hw;
	for (size_t i = 0; i < c->n_heaps; i++) {
		uint64_t p = rd64(c->heaps[i] + HEAP_DELAYED_FREE);
		for (uint64_t n = 0; p && n <= c->total_slots; n++) {
			if ((p & 7) || !readable(&c->m, p, 8) || !slot_live(hw, p))
				break;
			clear_slot(hw, p);
			p = rd64(p);
		}
	}
	hw->n_heaps = (uint32_t)c->n_heaps;
}

/* The self-check: every live canary is found live at a block start and no
 * freed one is live, or the layout is not the one this walker assumes. */
static int canaries_check(const lw_heapwalk *hw)
{
	for (int i = 0; i < N_CANARY_LIVE; i++) {
		uint64_t p = (uint64_t)canary.live[i];
		uint32_t pi = page_of(hw, p);
		if (!p || pi == LW_HW_NONE || !slot_live(hw, p) ||
		    (p - hw->pages[pi].start) % hw->pages[pi].bsize != 0)
			return -ENOTSUP;
	}
	for (int i = 0; i < N_CANARY_FREED; i++) {
		uint64_t p = (uint64_t)canary.freed[i];
		if (!p || slot_live(hw, p))
			return -ENOTSUP;
	}
	return 0;
}

/* The canaries are the shim's blocks, not the program's. */
static void canaries_remove(lw_heapwalk *hw)
{
	for (int i = 0; i < N_CANARY_LIVE; i++)
		clear_slot(hw, (uint64_t)canary.live[i]);
}

/* Ranks (dense index of each bitmap word's first live block, which
 * lw_heapwalk_find adds a popcount to), totals and page statistics. Block
 * indices are uint32_t with LW_HW_NONE reserved: more blocks cannot be
 * indexed. */
static int ranks_count(lw_heapwalk *hw)
{
	uint64_t idx = 0, bytes = 0;
	for (size_t pi = 0; pi < hw->n_pages; pi++) {
		lw_hw_page *pg = &hw->pages[pi];
		uint64_t nw = (pg->nslots + 63) / 64;
		uint64_t live = 0;
		for (uint64_t w = 0; w < nw; w++) {
			hw->rank[pg->bm_off + w] = (uint32_t)idx;
			uint64_t cnt = (uint64_t)__builtin_popcountll(hw->bm[pg->bm_off + w]);
			idx += cnt;
			live += cnt;
		}
		bytes += live * pg->bsize;
		if (pg->flags & LW_HW_PAGE_ABANDONED) hw->n_abandoned_pages++;
		if (pg->flags & LW_HW_PAGE_INCONSISTENT) hw->n_inconsistent_pages++;
	}
	if (idx >= LW_HW_NONE)
		return -ENOMEM;
	hw->n_blocks = idx;
	hw->live_bytes = bytes;
	return 0;
}

/* Builds the result in the arena: pages and l2, l1, then clears every free
 * block, verifies and removes the canaries and ranks what is left. On
 * failure the caller frees *hw. */
static int walk_index(walkctx *c, const counts *k)
{
	lw_heapwalk *hw = c->hw;
	int rc = pages_fill(c, k);
	if (rc < 0)
		return rc;
	span_bounds(hw);
	rc = l1_build(hw);
	if (rc < 0)
		return rc;
	rc = free_lists_clear(c);
	if (rc < 0)
		return rc;
	delayed_free_clear(c);
	rc = canaries_check(hw);
	if (rc < 0)
		return rc;
	canaries_remove(hw);
	return ranks_count(hw);
}

int lw_heapwalk_run(lw_heapwalk *hw)
{
	memset(hw, 0, sizeof *hw);
	if (mi_version() != 209 || sizeof(void *) != 8)
		return -ENOTSUP;
	walkctx *c = map_zero(sizeof *c);
	if (!c)
		return -ENOMEM;
	c->hw = hw;
	counts k = { 0, 0, 0, 0 };
	int rc = walk_prepare(c, &k);
	if (rc == 0) {
		rc = walk_index(c, &k);
		if (rc < 0)
			lw_heapwalk_free(hw);
	}
	if (rc == 0) {                 /* keep the maps for the scanner */
		hw->maps_ = c->m.v;
		hw->n_maps_ = c->m.n;
	} else {
		maps_free(&c->m);
	}
	munmap(c, sizeof *c);
	return rc;
}

void lw_heapwalk_block(const lw_heapwalk *hw, uint32_t i, uint64_t *addr, uint64_t *size)
{
	/* last page whose first rank <= i */
	size_t lo = 0, hi = hw->n_pages;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (hw->rank[hw->pages[mid].bm_off] <= i) lo = mid; else hi = mid;
	}
	/* skip empty pages that share the rank */
	const lw_hw_page *pg = &hw->pages[lo];
	uint64_t nw = (pg->nslots + 63) / 64;
	for (uint64_t w = 0; w < nw; w++) {
		uint64_t bits = hw->bm[pg->bm_off + w];
		uint32_t r = hw->rank[pg->bm_off + w];
		uint32_t cnt = (uint32_t)__builtin_popcountll(bits);
		if (i < r + cnt) {
			for (uint32_t k = i - r; k > 0; k--)
				bits &= bits - 1;
			uint64_t slot = w * 64 + (uint64_t)__builtin_ctzll(bits);
			*addr = pg->start + slot * pg->bsize;
			*size = pg->bsize;
			return;
		}
	}
	*addr = 0;
	*size = 0;
}

int lw_heapwalk_next(const lw_heapwalk *hw, size_t *page, uint64_t *slot,
		     uint64_t *addr, uint64_t *size)
{
	while (*page < hw->n_pages) {
		const lw_hw_page *pg = &hw->pages[*page];
		while (*slot < pg->nslots) {
			uint64_t w = hw->bm[pg->bm_off + *slot / 64] >> (*slot % 64);
			if (w == 0) {
				*slot = (*slot | 63) + 1;
				continue;
			}
			*slot += (uint64_t)__builtin_ctzll(w);
			if (*slot >= pg->nslots)
				break;
			*addr = pg->start + *slot * pg->bsize;
			*size = pg->bsize;
			(*slot)++;
			return 1;
		}
		(*page)++;
		*slot = 0;
	}
	return 0;
}

int lw_heapwalk_mapping(const lw_heapwalk *hw, uint64_t addr, uint64_t *start, uint64_t *end)
{
	const range *v = hw->maps_;
	size_t n = hw->n_maps_;
	for (size_t i = 0; i < n; i++) {
		if (addr < v[i].start || addr >= v[i].end)
			continue;
		size_t a = i, b = i;
		while (a > 0 && v[a - 1].end == v[a].start && v[a - 1].flags == v[i].flags)
			a--;
		while (b + 1 < n && v[b + 1].start == v[b].end && v[b + 1].flags == v[i].flags)
			b++;
		*start = v[a].start;
		*end = v[b].end;
		return 1;
	}
	return 0;
}

int lw_heapwalk_main_stack(const lw_heapwalk *hw, uint64_t *start, uint64_t *end)
{
	const range *v = hw->maps_;
	for (size_t i = 0; i < hw->n_maps_; i++)
		if (v[i].flags & R_STACK)
			return lw_heapwalk_mapping(hw, v[i].start, start, end);
	return 0;
}

int lw_heapwalk_readable_next(const lw_heapwalk *hw, uint64_t from, uint64_t to,
			      uint64_t *rs, uint64_t *re)
{
	const range *v = hw->maps_;
	for (size_t i = 0; i < hw->n_maps_ && from < to; i++) {
		if (v[i].end <= from || !(v[i].flags & R_READ))
			continue;
		if (v[i].start >= to)
			return 0;
		*rs = v[i].start > from ? v[i].start : from;
		*re = v[i].end < to ? v[i].end : to;
		/* extend over adjacent readable mappings */
		while (i + 1 < hw->n_maps_ && v[i + 1].start == *re && (v[i + 1].flags & R_READ) && *re < to) {
			i++;
			*re = v[i].end < to ? v[i].end : to;
		}
		return 1;
	}
	return 0;
}
