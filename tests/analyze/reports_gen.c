/* reports_gen.c — writes deterministic synthetic .lwd files for the report
 * tests (golden top/diff output, pprof/collapsed/text export checks).
 *
 *   reports_gen OUTDIR        writes OUTDIR/a/snap-00000{0..5}.lwd (process
 *                             A, pid 4242, one snapshot a minute) and
 *                             OUTDIR/b/snap-000000.lwd (process B, pid 5353,
 *                             another run of the same program, loaded 256 MiB
 *                             higher to mimic ASLR)
 *   reports_gen --big N OUTDIR  two snapshots of one process with N distinct
 *                             stacks each (diff performance)
 *
 * Every stack holds real return addresses inside this binary's functions
 * (captured by running the call chains below with __builtin_return_address;
 * built -O0 -g so each call has its own line), and the module map describes
 * this binary (path, build-id, PT_LOAD segments), so the analyzer symbolizes
 * the files deterministically. Figures, pids and times are fixed constants.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lwd.h"

#define RA() ((uint64_t)(uintptr_t)__builtin_return_address(0))
#define NOINLINE __attribute__((noinline))

static uint64_t g_pcs[16];

/* Stands for the allocation function: records the return address into the
 * code that called it, as the shim does for pcs[0]. */
NOINLINE static void lwg_alloc_hook(void)
{
	g_pcs[0] = RA();
}

/* Each function stores its own return address at its level: with level 1
 * for the leaf, the stack reads leaf, caller, caller's caller, ... */
NOINLINE void lwg_leak_node_new(int lvl);
NOINLINE void lwg_cache_fill(int lvl);
NOINLINE void lwg_parse_buffer(int lvl);
NOINLINE void lwg_big_block(int lvl);
NOINLINE void lwg_reader_alloc(int lvl);
NOINLINE void lwg_temp_object(int lvl);
NOINLINE void lwg_new_feature(int lvl);
NOINLINE void lwg_b_only(int lvl);
NOINLINE void lwg_handle_request(int lvl, int which);
NOINLINE void lwg_startup(int lvl);
NOINLINE void lwg_serve(int lvl, int which);
NOINLINE void lwg_bulk(int lvl, int which);

static inline __attribute__((always_inline)) void lwg_inline_helper(void)
{
	lwg_alloc_hook();
}

NOINLINE void lwg_leak_node_new(int lvl) { lwg_alloc_hook(); g_pcs[lvl] = RA(); }
NOINLINE void lwg_cache_fill(int lvl) { lwg_alloc_hook(); g_pcs[lvl] = RA(); }
NOINLINE void lwg_parse_buffer(int lvl) { lwg_alloc_hook(); g_pcs[lvl] = RA(); }
NOINLINE void lwg_big_block(int lvl) { lwg_alloc_hook(); g_pcs[lvl] = RA(); }
NOINLINE void lwg_reader_alloc(int lvl) { lwg_inline_helper(); g_pcs[lvl] = RA(); }
NOINLINE void lwg_temp_object(int lvl) { lwg_alloc_hook(); g_pcs[lvl] = RA(); }
NOINLINE void lwg_new_feature(int lvl) { lwg_alloc_hook(); g_pcs[lvl] = RA(); }
NOINLINE void lwg_b_only(int lvl) { lwg_alloc_hook(); g_pcs[lvl] = RA(); }

NOINLINE void lwg_handle_request(int lvl, int which)
{
	if (which == 0)
		lwg_leak_node_new(lvl - 1);
	else
		lwg_cache_fill(lvl - 1);
	g_pcs[lvl] = RA();
}

NOINLINE void lwg_startup(int lvl)
{
	lwg_big_block(lvl - 1);
	g_pcs[lvl] = RA();
}

NOINLINE void lwg_serve(int lvl, int which)
{
	switch (which) {
	case 0: lwg_handle_request(lvl - 1, 0); break;
	case 1: lwg_handle_request(lvl - 1, 1); break;
	case 2: lwg_parse_buffer(lvl - 1); break;
	case 3: lwg_reader_alloc(lvl - 1); break;
	case 4: lwg_temp_object(lvl - 1); break;
	case 5: lwg_new_feature(lvl - 1); break;
	case 6: lwg_b_only(lvl - 1); break;
	}
	g_pcs[lvl] = RA();
}

/* Synthetic sites of the --big mode: `which` selects the call depth and the
 * leaf, so N stacks differ by their outer frames' count. */
NOINLINE void lwg_bulk(int lvl, int which)
{
	if (which > 0)
		lwg_bulk(lvl - 1, which - 1);
	else
		lwg_parse_buffer(lvl - 1);
	g_pcs[lvl] = RA();
}

enum { S_LEAK, S_CACHE, S_PARSE, S_BIG, S_INLINE, S_TEMP, S_NEW, S_BONLY, N_SITES };

typedef struct stack_rec {
	uint32_t depth;
	uint64_t pcs[16];
} stack_rec;

static stack_rec g_stacks[N_SITES];

NOINLINE static void lwg_capture(void)
{
	memset(g_pcs, 0, sizeof(g_pcs));
	for (int s = 0; s < N_SITES; s++) {
		uint32_t depth;
		switch (s) {
		case S_LEAK: lwg_serve(3, 0); depth = 4; break;
		case S_CACHE: lwg_serve(3, 1); depth = 4; break;
		case S_PARSE: lwg_serve(2, 2); depth = 3; break;
		case S_BIG: lwg_startup(2); depth = 3; break;
		case S_INLINE: lwg_serve(2, 3); depth = 3; break;
		case S_TEMP: lwg_serve(2, 4); depth = 3; break;
		case S_NEW: lwg_serve(2, 5); depth = 3; break;
		default: lwg_serve(2, 6); depth = 3; break;
		}
		g_stacks[s].depth = depth;
		memcpy(g_stacks[s].pcs, g_pcs, sizeof(g_pcs));
	}
}

/* ---- this binary's module map ------------------------------------------- */

static lw_module_info g_mod;
static lw_segment_info g_segs[16];
static uint32_t g_n_segs;
static char g_exe[PATH_MAX];

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	/* the first object is the main executable */
	uint64_t lo = UINT64_MAX, hi = 0;
	g_mod.load_bias = info->dlpi_addr;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && g_n_segs < 16) {
			lw_segment_info *s = &g_segs[g_n_segs++];
			s->module = 0;
			s->prot = ph->p_flags & 7;
			s->start = info->dlpi_addr + ph->p_vaddr;
			s->end = s->start + ph->p_memsz;
			s->file_offset = ph->p_offset;
			s->file_size = ph->p_filesz;
			if (s->start < lo)
				lo = s->start;
			if (s->end > hi)
				hi = s->end;
		}
		if (ph->p_type == PT_NOTE) {
			const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
			const uint8_t *end = p + ph->p_memsz;
			while (p + sizeof(ElfW(Nhdr)) <= end) {
				const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)(const void *)p;
				const uint8_t *name = p + sizeof(*nh);
				const uint8_t *desc = name + ((nh->n_namesz + 3) & ~3u);
				if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
				    !memcmp(name, "GNU", 4) && nh->n_descsz <= LWD_MAX_BUILD_ID) {
					memcpy(g_mod.build_id, desc, nh->n_descsz);
					g_mod.build_id_len = nh->n_descsz;
				}
				p = desc + ((nh->n_descsz + 3) & ~3u);
			}
		}
	}
	g_mod.start = lo;
	g_mod.end = hi;
	return 1;
}

/* ---- writing ------------------------------------------------------------ */

typedef struct file_spec {
	uint32_t pid;
	uint64_t run_id;
	uint64_t seq;
	double t_s;
	uint64_t shift;                 /* added to every address (fake ASLR) */
	size_t n;
	const uint64_t *pcs[8192 + N_SITES];
	uint32_t depth[8192 + N_SITES];
	double inuse_bytes[8192 + N_SITES], inuse_objects[8192 + N_SITES];
	double alloc_bytes[8192 + N_SITES], alloc_objects[8192 + N_SITES];
} file_spec;

#define RATE 65536
#define START_WALL 1700000000000000000ull

static int fill(lw_writer *w, void *arg)
{
	const file_spec *fs = arg;
	static char strbuf[8192];
	lw_strtab st;
	lw_strtab_init(&st, strbuf, sizeof(strbuf));
	uint32_t s_exe = lw_strtab_add(&st, g_exe);
	uint32_t s_cmd = lw_strtab_add(&st, "reports_gen --synthetic");
	uint32_t s_host = lw_strtab_add(&st, "testhost");
	lw_writer_put_strtab(w, &st);

	lw_process_info pi;
	memset(&pi, 0, sizeof(pi));
	pi.pid = fs->pid;
	pi.ppid = 1;
	pi.start_wall_ns = START_WALL + (uint64_t)fs->pid * 1000000000ull;
	pi.start_mono_ns = 1000000000ull;
	pi.wall_ns = pi.start_wall_ns + (uint64_t)(fs->t_s * 1e9);
	pi.mono_ns = pi.start_mono_ns + (uint64_t)(fs->t_s * 1e9);
	pi.sample_rate = RATE;
	pi.rss_bytes = 64u << 20;
	pi.heap_committed = 32u << 20;
	pi.exe_str = s_exe;
	pi.cmdline_str = s_cmd;
	pi.hostname_str = s_host;
	pi.exe_module = 0;
	pi.reason = LWD_REASON_INTERVAL;
	lw_writer_section_begin(w, LWD_SEC_PROCESS, 0, 1);
	lw_writer_put_process(w, &pi);
	lw_writer_section_end(w);

	lw_module_info m = g_mod;
	m.path_str = s_exe;
	m.load_bias += fs->shift;
	m.start += fs->shift;
	m.end += fs->shift;
	lw_writer_section_begin(w, LWD_SEC_MODULES, 0, 1);
	lw_writer_put_module(w, &m);
	lw_writer_section_end(w);

	lw_writer_section_begin(w, LWD_SEC_SEGMENTS, 0, g_n_segs);
	for (uint32_t i = 0; i < g_n_segs; i++) {
		lw_segment_info s = g_segs[i];
		s.start += fs->shift;
		s.end += fs->shift;
		lw_writer_put_segment(w, &s);
	}
	lw_writer_section_end(w);

	lw_writer_section_begin(w, LWD_SEC_STACKS, 0, (uint32_t)fs->n);
	for (size_t i = 0; i < fs->n; i++) {
		uint64_t pcs[16];
		for (uint32_t k = 0; k < fs->depth[i]; k++)
			pcs[k] = fs->pcs[i][k] + fs->shift;
		lw_writer_put_stack(w, pcs, fs->depth[i], 0);
	}
	lw_writer_section_end(w);

	lw_writer_section_begin(w, LWD_SEC_COUNTERS, 0, (uint32_t)fs->n);
	for (size_t i = 0; i < fs->n; i++) {
		lw_counter_info c;
		memset(&c, 0, sizeof(c));
		c.stack = (uint32_t)i;
		c.alloc_objects_est = fs->alloc_objects[i];
		c.alloc_bytes_est = fs->alloc_bytes[i];
		c.free_objects_est = fs->alloc_objects[i] - fs->inuse_objects[i];
		c.free_bytes_est = fs->alloc_bytes[i] - fs->inuse_bytes[i];
		/* sampled counts consistent with the estimates at the mean size */
		double size = fs->alloc_objects[i] > 0 ? fs->alloc_bytes[i] / fs->alloc_objects[i] : 0;
		double frac = size > 0 ? -expm1(-size / RATE) : 1;
		c.alloc_samples = (uint64_t)(fs->alloc_objects[i] * frac + 0.5);
		c.alloc_sample_bytes = (uint64_t)(fs->alloc_bytes[i] * frac + 0.5);
		c.free_samples = (uint64_t)(c.free_objects_est * frac + 0.5);
		c.free_sample_bytes = (uint64_t)(c.free_bytes_est * frac + 0.5);
		lw_writer_put_counter(w, &c);
	}
	lw_writer_section_end(w);
	return w->err;
}

static int write_file(int dirfd, const file_spec *fs)
{
	static uint8_t buf[1 << 16];
	char name[64];
	snprintf(name, sizeof(name), "snap-%06" PRIu64 ".lwd", fs->seq);
	const char *step = "";
	int rc = lw_publish(&lw_io_system, dirfd, name, buf, sizeof(buf), LWD_KIND_SNAPSHOT,
			    fs->run_id, fs->seq, fill, (void *)fs, &step);
	if (rc)
		fprintf(stderr, "reports_gen: '%s': %s failed: %s\n", name, step, strerror(-rc));
	return rc;
}

static int open_dir(const char *parent, const char *sub)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", parent, sub);
	if (mkdir(path, 0700) && errno != EEXIST) {
		fprintf(stderr, "reports_gen: '%s': %s\n", path, strerror(errno));
		return -1;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "reports_gen: '%s': %s\n", path, strerror(errno));
	return fd;
}

static void set_site(file_spec *fs, int site, double inuse_kib, double obj_size,
		     double alloc_kib)
{
	size_t i = fs->n++;
	fs->pcs[i] = g_stacks[site].pcs;
	fs->depth[i] = g_stacks[site].depth;
	fs->inuse_bytes[i] = inuse_kib * 1024;
	fs->inuse_objects[i] = inuse_kib * 1024 / obj_size;
	fs->alloc_bytes[i] = alloc_kib * 1024;
	fs->alloc_objects[i] = alloc_kib * 1024 / obj_size;
}

static file_spec g_fs;

static int gen_standard(const char *out)
{
	int da = open_dir(out, "a"), db = open_dir(out, "b");
	if (da < 0 || db < 0)
		return 1;
	for (int k = 0; k <= 5; k++) {
		file_spec *fs = &g_fs;
		memset(fs, 0, sizeof(*fs));
		fs->pid = 4242;
		fs->run_id = 0x1111222233334444ull;
		fs->seq = (uint64_t)k;
		fs->t_s = 60.0 * k;
		/* leak: +256 KiB a minute of 64-byte nodes, never freed */
		set_site(fs, S_LEAK, 256.0 * (k + 1), 64, 256.0 * (k + 1));
		/* cache: fills to 768 KiB by the third snapshot, then plateaus */
		set_site(fs, S_CACHE, k < 2 ? 384.0 * (k + 1) : 768.0, 1024, 800.0 + 32 * k);
		/* parser: churn, 128 KiB live, 4 MiB a minute allocated */
		set_site(fs, S_PARSE, 128.0, 4096, 4096.0 * (k + 1));
		/* startup block: 2 MiB allocated once */
		set_site(fs, S_BIG, 2048.0, 2097152, 2048.0);
		/* inline helper: 48 KiB stable */
		set_site(fs, S_INLINE, 48.0, 512, 96.0);
		/* temporary: live in the first three snapshots only */
		set_site(fs, S_TEMP, k < 3 ? 96.0 : 0.0, 256, 96.0);
		/* new feature: appears at the fourth snapshot */
		if (k >= 3)
			set_site(fs, S_NEW, 32.0 * (k - 2), 128, 32.0 * (k - 2));
		if (write_file(da, fs))
			return 1;
	}
	file_spec *fs = &g_fs;
	memset(fs, 0, sizeof(*fs));
	fs->pid = 5353;
	fs->run_id = 0x5555666677778888ull;
	fs->seq = 0;
	fs->t_s = 150.0;
	fs->shift = 0x10000000ull;
	set_site(fs, S_LEAK, 640.0, 64, 640.0);
	set_site(fs, S_CACHE, 512.0, 1024, 600.0);
	set_site(fs, S_PARSE, 160.0, 4096, 9000.0);
	set_site(fs, S_BIG, 2048.0, 2097152, 2048.0);
	set_site(fs, S_BONLY, 300.0, 300, 300.0);
	int rc = write_file(db, fs);
	close(da);
	close(db);
	return rc ? 1 : 0;
}

/* Two snapshots with n stacks each: stack i is lwg_bulk nested (i % 12)
 * deep over a base of distinct fake outer return addresses (still inside
 * this binary's text, so they symbolize, but to different lines). */
static int gen_big(const char *out, size_t n)
{
	if (n > 8192)
		n = 8192;
	static uint64_t pcs[8192][16];
	static uint32_t depth[8192];
	/* collect the distinct return addresses the program has, then combine */
	uint64_t pool[64];
	size_t np = 0;
	for (int s = 0; s < N_SITES; s++)
		for (uint32_t k = 0; k < g_stacks[s].depth && np < 64; k++) {
			int dup = 0;
			for (size_t q = 0; q < np; q++)
				dup |= pool[q] == g_stacks[s].pcs[k];
			if (!dup)
				pool[np++] = g_stacks[s].pcs[k];
		}
	for (size_t i = 0; i < n; i++) {
		/* base-np digits of i pick the frames: distinct stacks */
		size_t v = i;
		uint32_t d = 0;
		do {
			pcs[i][d++] = pool[v % np];
			v /= np;
		} while (v && d < 16);
		pcs[i][d++] = pool[i % 7];
		depth[i] = d;
	}
	int dd = open_dir(out, "big");
	if (dd < 0)
		return 1;
	for (int k = 0; k < 2; k++) {
		file_spec *fs = &g_fs;
		memset(fs, 0, sizeof(*fs));
		fs->pid = 7777;
		fs->run_id = 0x9999ull;
		fs->seq = (uint64_t)k;
		fs->t_s = 60.0 * (k + 1);
		for (size_t i = 0; i < n; i++) {
			fs->pcs[i] = pcs[i];
			fs->depth[i] = depth[i];
			double kib = (double)(1 + i % 97) * (k + 1 + (i % 3 == 0));
			fs->inuse_bytes[i] = kib * 1024;
			fs->inuse_objects[i] = kib * 16;
			fs->alloc_bytes[i] = kib * 2048;
			fs->alloc_objects[i] = kib * 32;
		}
		fs->n = n;
		if (write_file(dd, fs))
			return 1;
	}
	close(dd);
	return 0;
}

int main(int argc, char **argv)
{
	if (!realpath("/proc/self/exe", g_exe)) {
		perror("reports_gen: /proc/self/exe");
		return 1;
	}
	dl_iterate_phdr(phdr_cb, NULL);
	if (!g_n_segs || !g_mod.build_id_len) {
		fprintf(stderr, "reports_gen: no PT_LOAD segments or no build-id in '%s'\n", g_exe);
		return 1;
	}
	lwg_capture();
	if (argc == 4 && !strcmp(argv[1], "--big"))
		return gen_big(argv[3], (size_t)strtoul(argv[2], NULL, 10));
	if (argc == 2)
		return gen_standard(argv[1]);
	fprintf(stderr, "usage: reports_gen OUTDIR | reports_gen --big N OUTDIR\n");
	return 2;
}
