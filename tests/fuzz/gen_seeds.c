/* gen_seeds.c — writes the committed seed corpora tests/fuzz/corpus/lwd/
 * and tests/fuzz/corpus/lwd_base/.
 *
 * Usage: lwd_gen_seeds DIR BASEDIR           write every seed
 *        lwd_gen_seeds --check DIR BASEDIR   compare with what would be
 *                                            written (a test: the committed
 *                                            seeds must match the current
 *                                            writer byte for byte)
 * Seeds are built with the public writer API, with fixed values only, so
 * output is deterministic. "ok-*" seeds are valid files, "bad-*" seeds are
 * valid files with one targeted corruption (fuzz_replay checks both
 * directions). Each stays under 4 KiB. DIR also holds "ok-v1.1-*" files
 * written by the format 1.1 writer, not generated here: old files must keep
 * loading. BASEDIR gets bundles for fuzz_lwd_base (a snapshot and the base
 * files it refers to, made by tests/dump/lwd_base_sample.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lwd_base_sample.h"

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
	p.shim_kib = 1536;
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

/* ---- bundles for fuzz_lwd_base ------------------------------------------------ */
struct part {
	const char *name;
	const uint8_t *data;
	size_t len;
};

static uint8_t *bundle(const struct part *p, int n, size_t *len)
{
	size_t total = 12, pos;
	uint8_t *b;

	for (int i = 0; i < n; i++)
		total += 8 + strlen(p[i].name) + p[i].len;
	b = malloc(total);
	if (!b)
		exit(1);
	memcpy(b, "LWBUNDLE", 8);
	wr32(b + 8, (uint32_t)n);
	pos = 12;
	for (int i = 0; i < n; i++) {
		size_t nl = strlen(p[i].name);

		wr32(b + pos, (uint32_t)nl);
		memcpy(b + pos + 4, p[i].name, nl);
		pos += 4 + nl;
		wr32(b + pos, (uint32_t)p[i].len);
		memcpy(b + pos + 4, p[i].data, p[i].len);
		pos += 4 + p[i].len;
	}
	*len = total;
	return b;
}

static void emit_bundle(const char *dir, const char *name, const struct part *p, int n)
{
	size_t len;
	uint8_t *b = bundle(p, n, &len);

	emit(dir, name, b, len);
	free(b);
}

static void base_seeds(const char *dir, const char *plain_dir)
{
	char tmp[] = "/tmp/lwd-seeds-XXXXXX";
	lwb_run r;
	size_t ls, lk, ld, hdr;
	uint8_t *st, *key, *del, *bad;
	int dfd;

	if (!mkdtemp(tmp) || (dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "lwd_gen_seeds: cannot make a directory\n");
		exit(1);
	}
	lwb_make_run(dfd, &r);
	st = lwt_slurp_at(tmp, "stacks-000000.lws", &ls);
	key = lwt_slurp_at(tmp, "snap-000001.lwd", &lk);
	del = lwt_slurp_at(tmp, "snap-000002.lwd", &ld);
	struct part p_st = { "stacks-000000.lws", st, ls };
	struct part p_key = { "snap-000001.lwd", key, lk };
	struct part p_del = { "snap-000002.lwd", del, ld };

	emit_bundle(dir, "ok-delta.lwb", (struct part[]){ p_del, p_st, p_key }, 3);
	/* the keyframe refers to a shorter prefix than the stack file now has */
	emit_bundle(dir, "ok-keyframe.lwb", (struct part[]){ p_key, p_st }, 2);
	/* for fuzz_lwd_reader: each file alone */
	emit(plain_dir, "ok-v1.2-delta-alone.lwd", del, ld);
	emit(plain_dir, "ok-v1.2-keyframe-alone.lwd", key, lk);
	emit_bundle(dir, "bad-missing-stacks.lwb", (struct part[]){ p_del, p_key }, 2);
	emit_bundle(dir, "bad-missing-keyframe.lwb", (struct part[]){ p_del, p_st }, 2);
	struct part short_st = { p_st.name, st, (size_t)r.sf_key.len - 8 };
	emit_bundle(dir, "bad-stacks-short.lwb", (struct part[]){ p_del, short_st, p_key }, 3);
	bad = malloc(ls);
	memcpy(bad, st, ls);
	bad[LWD_HEADER_SIZE + LWD_SECTION_HEADER_SIZE + 12] ^= 1;   /* a frame of stack 0 */
	struct part chg_st = { p_st.name, bad, ls };
	emit_bundle(dir, "bad-stacks-changed.lwb", (struct part[]){ p_del, chg_st, p_key }, 3);
	free(bad);
	/* a keyframe whose counters changed (CRCs resealed): not the one referred to */
	bad = malloc(lk);
	memcpy(bad, key, lk);
	size_t pl = payload_of(bad, lk, LWD_SEC_CCOUNTERS, &hdr);
	bad[pl + 2] ^= 2;
	reseal(bad, hdr);
	struct part chg_key = { p_key.name, bad, lk };
	emit_bundle(dir, "bad-keyframe-changed.lwb", (struct part[]){ p_del, p_st, chg_key }, 3);
	free(bad);
	/* the delta's own file is refused before any base is read */
	bad = malloc(ld);
	memcpy(bad, del, ld);
	pl = payload_of(bad, ld, LWD_SEC_CCOUNTERS, &hdr);
	bad[pl] = 0x7f;   /* a stack beyond the 5 the file uses */
	reseal(bad, hdr);
	struct part chg_del = { p_del.name, bad, ld };
	emit_bundle(dir, "bad-delta-stack.lwb", (struct part[]){ chg_del, p_st, p_key }, 3);
	free(bad);
	free(st);
	free(key);
	free(del);
	close(dfd);
	unlinkat(AT_FDCWD, tmp, 0);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "lwd_gen_seeds: cannot remove %s\n", tmp);
}

int main(int argc, char **argv)
{
	const char *dir, *base_dir;
	seed_opts min = { LWD_KIND_SNAPSHOT, 0, 0, 0, 0 };
	seed_opts snap = { LWD_KIND_SNAPSHOT, 2, 4, 0, 0 };
	seed_opts dump = { LWD_KIND_DUMP, 2, 4, 3, 1 };
	uint8_t *b;
	size_t len, hdr, pl;

	if (argc == 4 && !strcmp(argv[1], "--check")) {
		check_mode = 1;
		dir = argv[2];
		base_dir = argv[3];
	} else if (argc == 3) {
		dir = argv[1];
		base_dir = argv[2];
	} else {
		fprintf(stderr, "usage: lwd_gen_seeds [--check] DIR BASEDIR\n");
		return 2;
	}
	(void)failures;   /* lwd_test.h's counter: setup failures exit instead */
	base_seeds(base_dir, dir);

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
