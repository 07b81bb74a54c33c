/* lwgen.c — writes a synthetic run of .lwd files through the public writer
 * API (dump/lwd.h), for the analyzer's tests and for bench/ (load speed).
 *
 * The module map is this program's own (dl_iterate_phdr, build-ids read
 * from the in-memory notes), and every pc is a return address inside one of
 * its executable segments, so the files symbolize against real ELF/DWARF
 * like a real capture. Counters are cumulative and deterministic for a
 * seed: stack i allocates a_i objects of size s_i per snapshot; "leaking"
 * stacks (every 10th) never free, the others free what they allocated
 * except a fixed working set.
 *
 * usage: lwgen [--snapshots N] [--stacks S] [--depth D] [--seed X]
 *              [--run-id R] [--interval-s T] [--dump-every K] [--live L]
 *              [--bad-build-id] OUTDIR
 * --bad-build-id records a wrong build-id for the executable (flips its
 * first byte), as if the binary on disk had been rebuilt since the capture.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lwd.h"

#define MAX_MODS 64

typedef struct gen_module {
	lw_module_info m;
	char path[PATH_MAX];
	lw_segment_info seg[16];
	int n_seg;
	uint64_t text_start, text_end;   /* first executable segment */
} gen_module;

static gen_module mods[MAX_MODS];
static int n_mods;
static char exe_path[PATH_MAX];

static int on_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size; (void)arg;
	if (n_mods >= MAX_MODS)
		return 0;
	const char *name = info->dlpi_name;
	if (!name[0])
		name = exe_path;
	if (name[0] != '/')
		return 0;   /* vdso */
	gen_module *g = &mods[n_mods];
	memset(g, 0, sizeof(*g));
	snprintf(g->path, sizeof(g->path), "%s", name);
	g->m.load_bias = info->dlpi_addr;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD) {
			uint64_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
			if (s < lo) lo = s;
			if (e > hi) hi = e;
			if (g->n_seg < 16) {
				lw_segment_info *sg = &g->seg[g->n_seg++];
				sg->module = (uint32_t)n_mods;
				sg->prot = ph->p_flags & 7;
				sg->start = s;
				sg->end = e;
				sg->file_offset = ph->p_offset;
				sg->file_size = ph->p_filesz;
			}
			if ((ph->p_flags & PF_X) && !g->text_start) {
				g->text_start = s;
				g->text_end = e;
			}
		} else if (ph->p_type == PT_NOTE) {
			const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
			const uint8_t *end = p + ph->p_memsz;
			while (p + 12 <= end) {
				const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
				size_t nsz = (nh->n_namesz + 3) & ~3u, dsz = (nh->n_descsz + 3) & ~3u;
				const uint8_t *desc = p + 12 + nsz;
				if (desc + dsz > end)
					break;
				if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
				    memcmp(p + 12, "GNU", 4) == 0 && nh->n_descsz <= LWD_MAX_BUILD_ID) {
					memcpy(g->m.build_id, desc, nh->n_descsz);
					g->m.build_id_len = nh->n_descsz;
				}
				p = desc + dsz;
			}
		}
	}
	if (hi == 0 || !g->text_start)
		return 0;
	g->m.start = lo;
	g->m.end = hi;
	n_mods++;
	return 0;
}

static uint64_t rng_state;
static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

typedef struct gen {
	uint32_t n_stacks, depth;
	uint64_t **pcs;
	uint32_t *stack_depth;
	uint64_t *size;          /* object size per stack */
	uint32_t *per_snap;      /* objects allocated per snapshot */
	uint64_t run_id, rate;
	uint32_t k;              /* snapshot index being written */
	uint32_t live;
	double interval_s;
	lw_strtab st;
	char strbuf[3 * PATH_MAX * MAX_MODS];
	uint32_t s_exe, s_cmd, s_host, s_mod[MAX_MODS];
	int exe_module;
} gen;

static int fill(lw_writer *w, void *arg)
{
	gen *g = arg;
	lw_writer_put_strtab(w, &g->st);

	lw_process_info p;
	memset(&p, 0, sizeof(p));
	p.pid = 4242;
	p.ppid = 1;
	p.start_wall_ns = 1700000000000000000ULL;
	p.start_mono_ns = 1000000000ULL;
	uint64_t dt = (uint64_t)(g->interval_s * 1e9) * (g->k + 1);
	p.wall_ns = p.start_wall_ns + dt;
	p.mono_ns = p.start_mono_ns + dt;
	p.sample_rate = g->rate;
	p.rss_bytes = 100 << 20;
	p.heap_committed = 64 << 20;
	p.exe_str = g->s_exe;
	p.cmdline_str = g->s_cmd;
	p.hostname_str = g->s_host;
	p.exe_module = (uint32_t)g->exe_module;
	p.reason = LWD_REASON_INTERVAL;
	lw_writer_section_begin(w, LWD_SEC_PROCESS, 0, 1);
	lw_writer_put_process(w, &p);
	lw_writer_section_end(w);

	lw_writer_section_begin(w, LWD_SEC_MODULES, 0, (uint32_t)n_mods);
	int n_seg = 0;
	for (int i = 0; i < n_mods; i++) {
		lw_module_info m = mods[i].m;
		m.path_str = g->s_mod[i];
		lw_writer_put_module(w, &m);
		n_seg += mods[i].n_seg;
	}
	lw_writer_section_end(w);
	lw_writer_section_begin(w, LWD_SEC_SEGMENTS, 0, (uint32_t)n_seg);
	for (int i = 0; i < n_mods; i++)
		for (int j = 0; j < mods[i].n_seg; j++)
			lw_writer_put_segment(w, &mods[i].seg[j]);
	lw_writer_section_end(w);

	lw_writer_section_begin(w, LWD_SEC_STACKS, 0, g->n_stacks);
	for (uint32_t i = 0; i < g->n_stacks; i++)
		lw_writer_put_stack(w, g->pcs[i], g->stack_depth[i], 0);
	lw_writer_section_end(w);

	lw_writer_section_begin(w, LWD_SEC_COUNTERS, 0, g->n_stacks);
	for (uint32_t i = 0; i < g->n_stacks; i++) {
		lw_counter_info c;
		memset(&c, 0, sizeof(c));
		c.stack = i;
		uint64_t n = (uint64_t)g->per_snap[i] * (g->k + 1);
		uint64_t freed = (i % 10 == 0) ? 0 : (n > 5 ? n - 5 : 0);
		c.alloc_samples = n;
		c.alloc_sample_bytes = n * g->size[i];
		c.free_samples = freed;
		c.free_sample_bytes = freed * g->size[i];
		c.alloc_objects_est = (double)n;
		c.alloc_bytes_est = (double)(n * g->size[i]);
		c.free_objects_est = (double)freed;
		c.free_bytes_est = (double)(freed * g->size[i]);
		lw_writer_put_counter(w, &c);
	}
	lw_writer_section_end(w);

	if (g->live) {
		lw_writer_section_begin(w, LWD_SEC_LIVE_BLOCKS, 0, g->live);
		for (uint32_t i = 0; i < g->live; i++) {
			lw_live_info b = {
				.addr = 0x10000000ULL + 64ULL * i, .size = 48,
				.stack = i % g->n_stacks, .tid = 4242,
				.alloc_mono_ns = 1000000000ULL + i, .weight = 1.0,
			};
			lw_writer_put_live(w, &b);
		}
		lw_writer_section_end(w);
	}
	return w->err;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "snapshots", required_argument, NULL, 'n' },
		{ "stacks", required_argument, NULL, 's' },
		{ "depth", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 'x' },
		{ "run-id", required_argument, NULL, 'r' },
		{ "interval-s", required_argument, NULL, 'i' },
		{ "dump-every", required_argument, NULL, 'D' },
		{ "live", required_argument, NULL, 'l' },
		{ "bad-build-id", no_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t n_snap = 10, dump_every = 0;
	int bad_build_id = 0;
	gen *g = calloc(1, sizeof(*g));
	if (!g)
		return 1;
	g->n_stacks = 100;
	g->depth = 16;
	g->run_id = 0x1234abcd5678ef01ULL;
	g->rate = 524288;
	g->interval_s = 10;
	uint64_t seed = 1;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': n_snap = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 's': g->n_stacks = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'd': g->depth = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'x': seed = strtoull(optarg, NULL, 0); break;
		case 'r': g->run_id = strtoull(optarg, NULL, 0); break;
		case 'i': g->interval_s = strtod(optarg, NULL); break;
		case 'D': dump_every = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'l': g->live = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'B': bad_build_id = 1; break;
		default:
			fprintf(stderr, "usage: lwgen [--snapshots N] [--stacks S] [--depth D] "
				"[--seed X] [--run-id R] [--interval-s T] [--dump-every K] "
				"[--live L] [--bad-build-id] OUTDIR\n");
			return 2;
		}
	}
	if (optind + 1 != argc || g->n_stacks == 0 || g->depth < 2 || g->depth > LWD_MAX_DEPTH) {
		fprintf(stderr, "lwgen: bad arguments\n");
		return 2;
	}
	const char *outdir = argv[optind];
	ssize_t el = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);
	if (el <= 0)
		return 1;
	exe_path[el] = '\0';
	dl_iterate_phdr(on_module, NULL);
	if (n_mods == 0) {
		fprintf(stderr, "lwgen: no modules\n");
		return 1;
	}
	rng_state = seed;
	if (bad_build_id)
		mods[0].m.build_id[0] ^= 0xff;

	lw_strtab_init(&g->st, g->strbuf, sizeof(g->strbuf));
	g->s_exe = lw_strtab_add(&g->st, exe_path);
	g->s_cmd = lw_strtab_add(&g->st, "lwgen synthetic run");
	g->s_host = lw_strtab_add(&g->st, "lwgen-host");
	g->exe_module = 0;
	for (int i = 0; i < n_mods; i++)
		g->s_mod[i] = lw_strtab_add(&g->st, mods[i].path);

	g->pcs = calloc(g->n_stacks, sizeof(*g->pcs));
	g->stack_depth = calloc(g->n_stacks, sizeof(*g->stack_depth));
	g->size = calloc(g->n_stacks, sizeof(*g->size));
	g->per_snap = calloc(g->n_stacks, sizeof(*g->per_snap));
	if (!g->pcs || !g->stack_depth || !g->size || !g->per_snap)
		return 1;
	/* Frames come from this program's text (so most resolve to a real
	 * function, file and line) and from the libraries it maps. */
	for (uint32_t i = 0; i < g->n_stacks; i++) {
		uint32_t d = 2 + (uint32_t)(rnd() % (g->depth - 1));
		g->stack_depth[i] = d;
		g->pcs[i] = calloc(d, sizeof(uint64_t));
		if (!g->pcs[i])
			return 1;
		for (uint32_t k = 0; k < d; k++) {
			const gen_module *m = &mods[(rnd() % 4 == 0) ? rnd() % (uint64_t)n_mods : 0];
			uint64_t span = m->text_end - m->text_start;
			g->pcs[i][k] = m->text_start + 1 + rnd() % (span - 1);
		}
		if (i == 0) {
			/* one known stack: fill called from main (tests look for both) */
			g->pcs[i][0] = (uint64_t)(uintptr_t)&fill + 4;
			g->pcs[i][1] = (uint64_t)(uintptr_t)&main + 4;
		}
		g->size[i] = 16 + rnd() % 4096;
		g->per_snap[i] = 1 + (uint32_t)(rnd() % 50);
	}

	if (mkdir(outdir, 0700) < 0 && errno != EEXIST) {
		perror(outdir);
		return 1;
	}
	int dfd = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		perror(outdir);
		return 1;
	}
	size_t cap = 1 << 20;
	void *buf = malloc(cap);
	if (!buf)
		return 1;
	uint32_t live = g->live;
	for (uint32_t k = 0; k < n_snap; k++) {
		g->k = k;
		int is_dump = dump_every && (k + 1) % dump_every == 0;
		g->live = is_dump ? live : 0;
		char name[64];
		snprintf(name, sizeof(name), "%s-%06u.lwd", is_dump ? "dump" : "snap", k);
		const char *step = NULL;
		int rc = lw_publish(&lw_io_system, dfd, name, buf, cap,
				    is_dump ? LWD_KIND_DUMP : LWD_KIND_SNAPSHOT, g->run_id, k,
				    fill, g, &step);
		if (rc < 0) {
			fprintf(stderr, "lwgen: %s: %s: %s\n", name, step ? step : "?", strerror(-rc));
			return 1;
		}
	}
	close(dfd);
	free(buf);
	for (uint32_t i = 0; i < g->n_stacks; i++)
		free(g->pcs[i]);
	free(g->pcs);
	free(g->stack_depth);
	free(g->size);
	free(g->per_snap);
	free(g);
	return 0;
}
