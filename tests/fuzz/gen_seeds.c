/* gen_seeds.c — writes the committed seed corpus tests/fuzz/corpus/lwd/.
 *
 * Usage: lwd_gen_seeds DIR           write every seed into DIR
 *        lwd_gen_seeds --check DIR   compare DIR with what would be written
 *                                    (a test: the committed seeds must match
 *                                    the current writer byte for byte)
 * Seeds are built with the public writer API into memory (memfd), with fixed
 * values only, so output is deterministic. "ok-*" seeds are valid files,
 * "bad-*" seeds are valid files with one targeted corruption (fuzz_replay
 * checks both directions). Each stays well under 4 KiB.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lwd.h"

typedef struct seed_opts {
	uint32_t kind;
	int n_modules, n_stacks, n_live;
	int unknown_optional;
} seed_opts;

static int fill_seed(lw_writer *w, void *arg)
{
	const seed_opts *o = arg;
	char sbuf[512];
	lw_strtab t;
	uint32_t s_exe, s_cmd, s_host, s_lib;
	lw_process_info p;

	lw_strtab_init(&t, sbuf, sizeof(sbuf));
	s_exe = lw_strtab_add(&t, "/srv/bin/service");
	s_cmd = lw_strtab_add(&t, "service --port 8080");
	s_host = lw_strtab_add(&t, "build-host");
	s_lib = lw_strtab_add(&t, "/lib/x86_64-linux-gnu/libc.so.6");
	lw_writer_put_strtab(w, &t);

	memset(&p, 0, sizeof(p));
	p.pid = 4242;
	p.ppid = 1;
	p.wall_ns = 1763700000000000000ull;
	p.mono_ns = 5000000000ull;
	p.start_wall_ns = 1763699990000000000ull;
	p.start_mono_ns = 1000000000ull;
	p.sample_rate = 524288;
	p.rss_bytes = 10u << 20;
	p.peak_rss_bytes = 12u << 20;
	p.heap_committed = 8u << 20;
	p.heap_peak_committed = 9u << 20;
	p.exe_str = s_exe;
	p.cmdline_str = s_cmd;
	p.hostname_str = s_host;
	p.exe_module = o->n_modules ? 0 : LWD_NONE;
	p.alloc_calls = 100000;
	p.free_calls = 99000;
	p.reason = o->kind == LWD_KIND_DUMP ? LWD_REASON_SIGNAL : LWD_REASON_INTERVAL;
	lw_writer_section_begin(w, LWD_SEC_PROCESS, 0, 1);
	lw_writer_put_process(w, &p);
	lw_writer_section_end(w);

	if (o->n_modules) {
		lw_writer_section_begin(w, LWD_SEC_MODULES, 0, (uint32_t)o->n_modules);
		for (int i = 0; i < o->n_modules; i++) {
			lw_module_info m;

			memset(&m, 0, sizeof(m));
			m.load_bias = i ? 0x7f1234500000ull : 0x555555554000ull;
			m.start = m.load_bias;
			m.end = m.load_bias + 0x20000;
			m.path_str = i ? s_lib : s_exe;
			m.build_id_len = 20;
			for (int j = 0; j < 20; j++)
				m.build_id[j] = (uint8_t)(0x10 * i + j);
			lw_writer_put_module(w, &m);
		}
		lw_writer_section_end(w);
		lw_writer_section_begin(w, LWD_SEC_SEGMENTS, 0, (uint32_t)o->n_modules);
		for (int i = 0; i < o->n_modules; i++) {
			lw_segment_info s = {
				.module = (uint32_t)i, .prot = 5,
				.start = (i ? 0x7f1234500000ull : 0x555555554000ull) + 0x1000,
				.end = (i ? 0x7f1234500000ull : 0x555555554000ull) + 0x9000,
				.file_offset = 0x1000, .file_size = 0x8000,
			};
			lw_writer_put_segment(w, &s);
		}
		lw_writer_section_end(w);
	}
	if (o->n_stacks) {
		lw_writer_section_begin(w, LWD_SEC_STACKS, 0, (uint32_t)o->n_stacks);
		for (int i = 0; i < o->n_stacks; i++) {
			uint64_t pcs[4];
			uint32_t depth = (uint32_t)(i % 4) + 1;

			for (uint32_t j = 0; j < depth; j++)
				pcs[j] = 0x555555555000ull + 0x40 * (uint64_t)i + 0x10 * j;
			lw_writer_put_stack(w, pcs, depth, i == 2 ? LWD_STACKF_TRUNCATED : 0);
		}
		lw_writer_section_end(w);
		lw_writer_section_begin(w, LWD_SEC_COUNTERS, 0, (uint32_t)o->n_stacks);
		for (int i = 0; i < o->n_stacks; i++) {
			lw_counter_info c = {
				.stack = (uint32_t)i,
				.alloc_samples = 10 + (uint64_t)i, .alloc_sample_bytes = 4096 * (10 + (uint64_t)i),
				.free_samples = (uint64_t)i, .free_sample_bytes = 4096 * (uint64_t)i,
				.alloc_objects_est = 1280.5 + i, .alloc_bytes_est = 5242880.0 * (i + 1),
				.free_objects_est = 128.25 * i, .free_bytes_est = 524288.0 * i,
			};
			lw_writer_put_counter(w, &c);
		}
		lw_writer_section_end(w);
	}
	if (o->n_live) {
		lw_writer_section_begin(w, LWD_SEC_LIVE_BLOCKS, 0, (uint32_t)o->n_live);
		for (int i = 0; i < o->n_live; i++) {
			lw_live_info b = {
				.addr = 0x7f0000010000ull + 0x1000 * (uint64_t)i, .size = 4096,
				.stack = (uint32_t)(i % o->n_stacks), .tid = 4242 + (uint32_t)i,
				.alloc_mono_ns = 2000000000ull + (uint64_t)i, .weight = 128.5,
			};
			lw_writer_put_live(w, &b);
		}
		lw_writer_section_end(w);
	}
	if (o->unknown_optional) {
		lw_writer_section_begin(w, 0x4242, LWD_SECF_OPTIONAL, 1);
		lw_writer_put(w, "future", 6);
		lw_writer_section_end(w);
	}
	return w->err;
}

static uint8_t *build(const seed_opts *o, size_t *len)
{
	static uint8_t wbuf[4096];
	struct stat st;
	lw_writer w;
	uint8_t *b;
	int fd = memfd_create("seed", MFD_CLOEXEC);

	if (fd < 0 || lw_writer_begin(&w, &lw_io_system, fd, wbuf, sizeof(wbuf), o->kind,
				      0x5eed5eed5eed5eedull, 3) ||
	    fill_seed(&w, (void *)o) || lw_writer_finish(&w) || fstat(fd, &st) < 0) {
		fprintf(stderr, "lwd_gen_seeds: writer failed\n");
		exit(1);
	}
	b = malloc((size_t)st.st_size);
	if (!b || pread(fd, b, (size_t)st.st_size, 0) != st.st_size) {
		fprintf(stderr, "lwd_gen_seeds: cannot read back\n");
		exit(1);
	}
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Offset of the payload of the first section of `type`. */
static size_t payload_of(const uint8_t *b, size_t len, uint32_t type, size_t *hdr)
{
	size_t off = LWD_HEADER_SIZE;

	while (off + LWD_SECTION_HEADER_SIZE <= len) {
		uint64_t plen = (uint64_t)rd32(b + off + 8) | (uint64_t)rd32(b + off + 12) << 32;

		if (rd32(b + off) == type) {
			*hdr = off;
			return off + LWD_SECTION_HEADER_SIZE;
		}
		off += LWD_SECTION_HEADER_SIZE + (size_t)((plen + 7) & ~7ull);
	}
	fprintf(stderr, "lwd_gen_seeds: no section %u\n", type);
	exit(1);
}

static void reseal(uint8_t *b, size_t hdr)
{
	uint64_t plen = (uint64_t)rd32(b + hdr + 8) | (uint64_t)rd32(b + hdr + 12) << 32;

	wr32(b + hdr + 20, lw_crc32(0, b + hdr + LWD_SECTION_HEADER_SIZE, (size_t)plen));
}

static int check_mode;
static int n_diff;

static void emit(const char *dir, const char *name, const uint8_t *b, size_t len)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (len > 4096) {
		fprintf(stderr, "lwd_gen_seeds: %s is %zu bytes, seeds must stay < 4 KiB\n", name, len);
		exit(1);
	}
	if (check_mode) {
		FILE *fp = fopen(path, "rb");
		uint8_t cur[4097];
		size_t n = fp ? fread(cur, 1, sizeof(cur), fp) : 0;

		if (fp)
			fclose(fp);
		if (!fp || n != len || memcmp(cur, b, len)) {
			fprintf(stderr, "lwd_gen_seeds: \"%s\" differs from the writer's output "
				"(regenerate with lwd_gen_seeds %s)\n", path, dir);
			n_diff++;
		}
		return;
	}
	FILE *fp = fopen(path, "wb");

	if (!fp || fwrite(b, 1, len, fp) != len || fclose(fp) != 0) {
		fprintf(stderr, "lwd_gen_seeds: \"%s\": %s\n", path, strerror(errno));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	const char *dir;
	seed_opts min = { LWD_KIND_SNAPSHOT, 0, 0, 0, 0 };
	seed_opts snap = { LWD_KIND_SNAPSHOT, 2, 4, 0, 0 };
	seed_opts dump = { LWD_KIND_DUMP, 2, 4, 3, 1 };
	uint8_t *b;
	size_t len, hdr, pl;

	if (argc == 3 && !strcmp(argv[1], "--check")) {
		check_mode = 1;
		dir = argv[2];
	} else if (argc == 2) {
		dir = argv[1];
	} else {
		fprintf(stderr, "usage: lwd_gen_seeds [--check] DIR\n");
		return 2;
	}

	b = build(&min, &len);
	emit(dir, "ok-snapshot-minimal.lwd", b, len);
	free(b);

	b = build(&snap, &len);
	emit(dir, "ok-snapshot.lwd", b, len);
	/* truncated in the middle of STACKS */
	pl = payload_of(b, len, LWD_SEC_STACKS, &hdr);
	emit(dir, "bad-truncated.lwd", b, pl + 12);
	/* a flipped payload bit */
	b[pl + 9] ^= 0x10;
	emit(dir, "bad-payload-crc.lwd", b, len);
	b[pl + 9] ^= 0x10;
	/* stack depth 0, CRC resealed so the depth check is what refuses it */
	wr32(b + pl, 0);
	reseal(b, hdr);
	emit(dir, "bad-stack-depth.lwd", b, len);
	free(b);

	b = build(&dump, &len);
	emit(dir, "ok-dump.lwd", b, len);
	/* a major version from the future */
	b[8] = 2;
	wr32(b + 60, lw_crc32(0, b, 60));
	emit(dir, "bad-version-2.lwd", b, len);
	b[8] = LWD_VERSION_MAJOR;
	/* a newer minor: reserved bytes set, still readable */
	b[10] = LWD_VERSION_MINOR + 1;
	b[44] = 0x77;
	wr32(b + 60, lw_crc32(0, b, 60));
	emit(dir, "ok-dump-newer-minor.lwd", b, len);
	b[10] = LWD_VERSION_MINOR;
	b[44] = 0;
	wr32(b + 60, lw_crc32(0, b, 60));
	/* a counter pointing at a stack that does not exist */
	pl = payload_of(b, len, LWD_SEC_COUNTERS, &hdr);
	wr32(b + pl + LWD_COUNTER_SIZE, 1000);
	reseal(b, hdr);
	emit(dir, "bad-counter-stack.lwd", b, len);
	wr32(b + pl + LWD_COUNTER_SIZE, 1);
	reseal(b, hdr);
	/* a string reference beyond STRINGS */
	pl = payload_of(b, len, LWD_SEC_PROCESS, &hdr);
	wr32(b + pl + 92, 0x10000);
	reseal(b, hdr);
	emit(dir, "bad-string-offset.lwd", b, len);
	free(b);

	if (check_mode && n_diff) {
		fprintf(stderr, "lwd_gen_seeds: %d seed(s) out of date\n", n_diff);
		return 1;
	}
	return 0;
}
