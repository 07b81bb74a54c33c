/* modmap.c — the append-only map of every module seen (see modmap.h).
 *
 * Invariants: entries [0, n) are complete; an entry never changes once
 * added; paths live in a bump arena that is never freed.
 * Locks: modmap_lock guards n, cap, the entries array and the arena.
 */
#include "modmap.h"

#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <string.h>

#include "outdir.h"
#include "util.h"

#define ARENA_BLOCK (64u << 10)

static pthread_mutex_t modmap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lw_modmap_entry *entries;
static uint32_t n, cap;
static char *arena;
static size_t arena_left;

void lw_modmap_lock(void) { pthread_mutex_lock(&modmap_lock); }
void lw_modmap_unlock(void) { pthread_mutex_unlock(&modmap_lock); }
void lw_modmap_reinit(void) { pthread_mutex_init(&modmap_lock, NULL); }

static const char *arena_str(const char *s)
{
	size_t len = strlen(s) + 1;
	if (len > ARENA_BLOCK)
		return "";
	if (arena_left < len) {
		arena = lw_mem_map(ARENA_BLOCK);
		if (arena == NULL) {
			arena_left = 0;
			return "";
		}
		arena_left = ARENA_BLOCK;
	}
	char *dst = arena;
	memcpy(dst, s, len);
	arena += len;
	arena_left -= len;
	return dst;
}

/* Is [vaddr, vaddr+len) inside one of the module's PT_LOAD segments (so
 * that reading it from memory cannot fault)? */
static int mapped(const struct dl_phdr_info *info, ElfW(Addr) vaddr, ElfW(Xword) len)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && vaddr >= ph->p_vaddr && len <= ph->p_filesz &&
		    vaddr - ph->p_vaddr <= ph->p_filesz - len)
			return 1;
	}
	return 0;
}

static void read_build_id(const struct dl_phdr_info *info, struct lw_modmap_entry *m)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE || !mapped(info, ph->p_vaddr, ph->p_memsz))
			continue;
		size_t al = ph->p_align == 8 ? 8 : 4;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		const uint8_t *end = p + ph->p_memsz;
		while ((size_t)(end - p) >= sizeof(ElfW(Nhdr))) {
			ElfW(Nhdr) nh;
			memcpy(&nh, p, sizeof(nh));
			const uint8_t *name = p + sizeof(nh);
			size_t nsz = (nh.n_namesz + al - 1) & ~(al - 1);
			size_t dsz = (nh.n_descsz + al - 1) & ~(al - 1);
			if (nsz > (size_t)(end - name) || dsz > (size_t)(end - name) - nsz)
				break;
			const uint8_t *desc = name + nsz;
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    memcmp(name, "GNU", 4) == 0) {
				uint32_t len = nh.n_descsz < sizeof(m->build_id) ? nh.n_descsz
										 : (uint32_t)sizeof(m->build_id);
				memcpy(m->build_id, desc, len);
				m->build_id_len = len;
				return;
			}
			p = desc + dsz;
		}
	}
}

static int known(const struct lw_modmap_entry *cand)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct lw_modmap_entry *e = &entries[i];
		if (e->load_bias == cand->load_bias && e->start == cand->start &&
		    e->build_id_len == cand->build_id_len &&
		    memcmp(e->build_id, cand->build_id, cand->build_id_len) == 0 &&
		    strcmp(e->path, cand->path) == 0)
			return 1;
	}
	return 0;
}

static int reserve(void)
{
	if (n < cap)
		return 0;
	uint32_t ncap = cap ? cap * 2 : 64;
	struct lw_modmap_entry *ne = lw_mem_map((size_t)ncap * sizeof(*ne));
	if (ne == NULL)
		return -1;
	if (n)
		memcpy(ne, entries, (size_t)n * sizeof(*ne));
	lw_mem_unmap(entries, (size_t)cap * sizeof(*ne));
	entries = ne;
	cap = ncap;
	return 0;
}

struct refresh {
	int index;                 /* position in this dl_iterate_phdr pass */
	int same;                  /* the loader's counters say nothing changed */
	unsigned long long adds, subs;
};

/* The loader's load/unload counters at the last complete refresh: when they
 * have not moved, no module came or went, and the walk stops at the first
 * module (the fork prepare handler refreshes on every fork). */
static unsigned long long seen_adds = ~0ull, seen_subs = ~0ull;
static int inherited;   /* a forked child: never refresh (modmap.h) */

static int refresh_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct refresh *r = arg;
	struct lw_modmap_entry m;
	if (r->index == 0 &&
	    size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
		r->adds = info->dlpi_adds;
		r->subs = info->dlpi_subs;
		if (r->adds == seen_adds && r->subs == seen_subs) {
			r->same = 1;
			return 1;   /* stops the walk */
		}
	}
	memset(&m, 0, sizeof(m));
	const char *name = info->dlpi_name;
	if ((name == NULL || name[0] == '\0') && r->index == 0) {
		name = lw_exe_path();
		m.is_exe = 1;
	}
	r->index++;
	m.load_bias = info->dlpi_addr;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uint64_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (m.start == 0 || lo < m.start)
			m.start = lo;
		if (hi > m.end)
			m.end = hi;
		if (m.n_segs < LW_MODMAP_SEGS) {
			struct lw_modmap_seg *g = &m.segs[m.n_segs++];
			g->prot = ph->p_flags & (PF_R | PF_W | PF_X);
			g->start = lo;
			g->end = hi;
			g->file_offset = ph->p_offset;
			g->file_size = ph->p_filesz;
		}
	}
	read_build_id(info, &m);
	m.path = name ? name : "";
	if (known(&m))
		return 0;
	if (reserve() != 0)
		return 1;
	m.path = arena_str(m.path);
	entries[n++] = m;
	return 0;
}

void lw_modmap_after_fork_child(void)
{
	inherited = 1;
}

void lw_modmap_refresh(void)
{
	struct refresh r = { 0 };
	if (inherited)
		return;
	lw_modmap_lock();
	if (dl_iterate_phdr(refresh_cb, &r) == 0 && !r.same) {
		/* a complete walk: every module up to these counters is known
		 * (a walk cut short by an allocation failure is retried) */
		seen_adds = r.adds;
		seen_subs = r.subs;
	}
	lw_modmap_unlock();
}

void lw_modmap_foreach(int locked, void (*fn)(void *arg, const struct lw_modmap_entry *m),
		       void *arg)
{
	if (locked)
		lw_modmap_lock();
	for (uint32_t i = 0; i < n; i++)
		fn(arg, &entries[i]);
	if (locked)
		lw_modmap_unlock();
}
