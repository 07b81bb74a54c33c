/* test_lwd_roundtrip.c — every record type written and read back.
 *
 * Covers: CRC-32 reference vectors; round trip of every field of every record
 * with edge values (lwd_sample.h); identical bytes whatever the staging
 * buffer size and however the kernel splits writes (short writes, EINTR,
 * header patches by pwrite); reserved heap-graph sections exposed through
 * lw_file_section; unknown optional sections skipped; newer minor versions
 * read leniently; writer misuse and sticky errors; string table limits.
 */
#include <math.h>

#include "lwd_sample.h"

/* Bit-at-a-time reference CRC-32 (no tables). */
static uint32_t ref_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
	}
	return ~crc;
}

static void test_crc(void)
{
	const char *v = "123456789";
	uint32_t a;
	static uint8_t rnd[1 << 16];
	uint64_t x = 0x9e3779b97f4a7c15ull;

	/* random data exercises every entry of the slicing tables; every
	 * length 0..64 at every alignment 0..7, and incremental splits */
	for (size_t i = 0; i < sizeof(rnd); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		rnd[i] = (uint8_t)x;
	}
	CHECK(lw_crc32(0, rnd, sizeof(rnd)) == ref_crc32(0, rnd, sizeof(rnd)));
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n <= 64; n++)
			CHECK(lw_crc32(0, rnd + off, n) == ref_crc32(0, rnd + off, n), "off %zu n %zu", off, n);
	for (size_t cut = 0; cut < 100; cut += 7)
		CHECK(lw_crc32(lw_crc32(0, rnd, cut), rnd + cut, 1000 - cut) == ref_crc32(0, rnd, 1000));

	CHECK(lw_crc32(0, "", 0) == 0);
	CHECK(lw_crc32(0, v, 9) == 0xCBF43926u);
	a = lw_crc32(0, v, 4);
	CHECK(lw_crc32(a, v + 4, 5) == 0xCBF43926u);
	CHECK(lw_crc32(0, "a", 1) == 0xE8B7BE43u);
}

static void check_sample(const lw_file *f, uint32_t kind, const lws_opts *o)
{
	lw_process_info p;
	uint64_t pcs[LWD_MAX_DEPTH];

	CHECK(f->version_major == LWD_VERSION_MAJOR);
	CHECK(f->version_minor == LWD_VERSION_MINOR);
	CHECK(f->kind == kind);
	CHECK(f->run_id == 0x1122334455667788ull);
	CHECK(f->seq == 42);

	lws_process(&p, o->strings_off);
	CHECK(f->process.pid == p.pid);
	CHECK(f->process.ppid == p.ppid);
	CHECK(f->process.parent_run_id == p.parent_run_id);
	CHECK(f->process.wall_ns == p.wall_ns);
	CHECK(f->process.mono_ns == p.mono_ns);
	CHECK(f->process.start_wall_ns == p.start_wall_ns);
	CHECK(f->process.start_mono_ns == p.start_mono_ns);
	CHECK(f->process.sample_rate == p.sample_rate);
	CHECK(f->process.rss_bytes == p.rss_bytes);
	CHECK(f->process.peak_rss_bytes == p.peak_rss_bytes);
	CHECK(f->process.heap_committed == p.heap_committed);
	CHECK(f->process.heap_peak_committed == p.heap_peak_committed);
	CHECK(!strcmp(f->process.exe, lws_strings[0]));
	CHECK(!strcmp(f->process.cmdline, lws_strings[1]));
	CHECK(!strcmp(f->process.hostname, lws_strings[2]));
	CHECK(f->process.exe_module == 0);
	CHECK(f->process.alloc_calls == p.alloc_calls);
	CHECK(f->process.free_calls == p.free_calls);
	CHECK(f->process.reason == p.reason);
	CHECK(f->process.exit_status == 0);

	CHECK(f->n_modules == LWS_N_MODULES);
	for (size_t i = 0; i < f->n_modules && i < LWS_N_MODULES; i++) {
		lw_module_info m;
		const lw_module *r = &f->modules[i];

		lws_module(&m, (int)i, o->strings_off);
		CHECK(r->load_bias == m.load_bias);
		CHECK(r->start == m.start);
		CHECK(r->end == m.end);
		CHECK(r->build_id_len == m.build_id_len);
		CHECK(!memcmp(r->build_id, m.build_id, LWD_MAX_BUILD_ID));
		CHECK(!strcmp(r->path, i == 0 ? lws_strings[0] : i == 1 ? lws_strings[3] : ""));
	}
	CHECK(f->n_segments == LWS_N_SEGMENTS);
	for (size_t i = 0; i < f->n_segments && i < LWS_N_SEGMENTS; i++) {
		lw_segment_info s;
		const lw_segment *r = &f->segments[i];

		lws_segment(&s, (int)i);
		CHECK(r->module == s.module && r->prot == s.prot);
		CHECK(r->start == s.start && r->end == s.end);
		CHECK(r->file_offset == s.file_offset && r->file_size == s.file_size);
	}
	CHECK(f->n_stacks == LWS_N_STACKS);
	for (size_t i = 0; i < f->n_stacks && i < LWS_N_STACKS; i++) {
		uint32_t flags, depth = lws_stack((int)i, pcs, &flags);

		CHECK(f->stacks[i].depth == depth);
		CHECK(f->stacks[i].flags == flags);
		CHECK(f->stacks[i].depth != depth ||
		      !memcmp(f->stacks[i].pcs, pcs, depth * sizeof(uint64_t)));
	}
	CHECK(f->n_counters == LWS_N_COUNTERS);
	for (size_t i = 0; i < f->n_counters && i < LWS_N_COUNTERS; i++) {
		lw_counter_info c;
		const lw_counter *r = &f->counters[i];

		lws_counter(&c, (int)i);
		CHECK(r->stack == c.stack);
		CHECK(r->alloc_samples == c.alloc_samples);
		CHECK(r->alloc_sample_bytes == c.alloc_sample_bytes);
		CHECK(r->free_samples == c.free_samples);
		CHECK(r->free_sample_bytes == c.free_sample_bytes);
		/* bit-exact doubles, including the denormal */
		CHECK(!memcmp(&r->alloc_objects_est, &c.alloc_objects_est, 8));
		CHECK(!memcmp(&r->alloc_bytes_est, &c.alloc_bytes_est, 8));
		CHECK(!memcmp(&r->free_objects_est, &c.free_objects_est, 8));
		CHECK(!memcmp(&r->free_bytes_est, &c.free_bytes_est, 8));
	}
	if (kind == LWD_KIND_DUMP) {
		CHECK(f->n_live == LWS_N_LIVE);
		for (size_t i = 0; i < f->n_live && i < LWS_N_LIVE; i++) {
			lw_live_info b;
			const lw_live_block *r = &f->live[i];

			lws_live(&b, (int)i);
			CHECK(r->addr == b.addr && r->size == b.size);
			CHECK(r->stack == b.stack && r->tid == b.tid);
			CHECK(r->alloc_mono_ns == b.alloc_mono_ns);
			CHECK(r->weight == b.weight);
		}
	} else {
		CHECK(f->n_live == 0 && f->live == NULL);
	}
}

static void test_roundtrip(uint32_t kind)
{
	lws_opts o;
	lw_file *f = NULL;
	char err[256];
	size_t len;
	uint8_t *b;
	int rc;

	memset(&o, 0, sizeof(o));
	b = lwt_build(kind, kind == LWD_KIND_DUMP ? lws_fill_dump : lws_fill, &o, &len);
	CHECK(len % 8 == 0);
	rc = lw_file_parse(b, len, &f, err, sizeof(err));
	CHECK(rc == 0, "rc %d: %s", rc, err);
	if (rc == 0) {
		CHECK(err[0] == '\0');
		CHECK(f->file_size == len);
		check_sample(f, kind, &o);
		/* decoded sections are also reachable raw */
		const uint8_t *d;
		uint64_t dl;
		uint32_t dc;
		CHECK(lw_file_section(f, LWD_SEC_STACKS, &d, &dl, &dc) == 0 && dc == LWS_N_STACKS);
		CHECK(lw_file_section(f, LWD_SEC_THREADS, &d, &dl, &dc) == -ENOENT);
		CHECK(lw_file_section(f, LWD_SEC_END, &d, &dl, &dc) == -ENOENT);
	}
	lw_file_free(f);
	/* parse copied the input: freeing it must not matter (ASan checks) */
	memset(b, 0xaa, len);
	free(b);
}

/* ---- I/O that splits writes and interrupts them ---------------------- */
static int split_calls;

static ssize_t split_write(int fd, const void *p, size_t n)
{
	if (split_calls++ % 3 == 0) {
		errno = EINTR;
		return -1;
	}
	return write(fd, p, n > 7 ? 7 : n);
}

static ssize_t split_pwrite(int fd, const void *p, size_t n, off_t off)
{
	if (split_calls++ % 2 == 0) {
		errno = EINTR;
		return -1;
	}
	return pwrite(fd, p, n > 1 ? 1 : n, off);
}

static int pwrite_calls;

static ssize_t counting_pwrite(int fd, const void *p, size_t n, off_t off)
{
	pwrite_calls++;
	return pwrite(fd, p, n, off);
}

static void test_buffering(void)
{
	lws_opts o;
	lw_io split = lw_io_system, counting = lw_io_system;
	uint8_t *ref, *b;
	size_t ref_len, len;
	static const size_t caps[] = { 4096, 4097, 4099, 4104, 5000, 65536, 1 << 20 };

	split.write = split_write;
	split.pwrite = split_pwrite;
	counting.pwrite = counting_pwrite;
	memset(&o, 0, sizeof(o));
	o.with_reserved = 1;
	o.with_unknown = 1;
	CHECK(lwt_build_io(&lw_io_system, 1 << 20, LWD_KIND_DUMP, lws_fill_dump, &o, &ref, &ref_len) == 0);
	CHECK(ref_len > 4096);   /* so small buffers flush mid-section */
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		CHECK(lwt_build_io(&lw_io_system, caps[i], LWD_KIND_DUMP, lws_fill_dump, &o, &b, &len) == 0);
		CHECK(len == ref_len && !memcmp(b, ref, len), "cap %zu", caps[i]);
		free(b);
		split_calls = 0;
		CHECK(lwt_build_io(&split, caps[i], LWD_KIND_DUMP, lws_fill_dump, &o, &b, &len) == 0);
		CHECK(len == ref_len && !memcmp(b, ref, len), "split io, cap %zu", caps[i]);
		free(b);
	}
	/* a 4 KiB buffer must have patched at least one header with pwrite,
	 * a 1 MiB buffer none */
	pwrite_calls = 0;
	CHECK(lwt_build_io(&counting, 4096, LWD_KIND_DUMP, lws_fill_dump, &o, &b, &len) == 0);
	CHECK(pwrite_calls > 0);
	free(b);
	pwrite_calls = 0;
	CHECK(lwt_build_io(&counting, 1 << 20, LWD_KIND_DUMP, lws_fill_dump, &o, &b, &len) == 0);
	CHECK(pwrite_calls == 0);
	free(b);

	/* The reference parses, and exposes the extra sections correctly. */
	lw_file *f = NULL;
	char err[256];
	int rc = lw_file_parse(ref, ref_len, &f, err, sizeof(err));
	CHECK(rc == 0, "%s", err);
	if (!rc) {
		const uint8_t *d;
		uint64_t dl;
		uint32_t dc;

		check_sample(f, LWD_KIND_DUMP, &o);
		CHECK(lw_file_section(f, LWD_SEC_THREADS, &d, &dl, &dc) == 0);
		CHECK(dl == sizeof(lws_reserved_payload) && dc == 3 &&
		      !memcmp(d, lws_reserved_payload, sizeof(lws_reserved_payload)));
		CHECK(lw_file_section(f, LWD_SEC_HEAP_EDGES, &d, &dl, &dc) == -ENOENT);
		CHECK(lw_file_section(f, 0x1234, &d, &dl, &dc) == -ENOENT);
	}
	lw_file_free(f);
	free(ref);
}

/* A 1.(ours+1) file with non-zero reserved fields is read; a 1.(ours) one
 * with the same bytes is refused. */
static void test_minor_version(void)
{
	size_t len;
	uint8_t *b = lwt_build(LWD_KIND_DUMP, lws_fill_dump, NULL, &len);
	long pr = lwt_must_find(b, len, LWD_SEC_PROCESS);
	long st = lwt_must_find(b, len, LWD_SEC_STACKS);
	lw_file *f = NULL;
	char err[256];
	int rc;

	b[50] = 0x5a;                                         /* header reserved */
	lwt_wr32(b + 20, 0x80);                                /* header flags */
	lwt_wr32(b + pr + 24 + 124, 9);                        /* PROCESS reserved */
	lwt_wr32(b + pr + 24 + 120, 77);                       /* unknown reason */
	lwt_wr32(b + pr + 4, LWD_SECF_OPTIONAL | 0x100);       /* section flags */
	lwt_wr32(b + st + 24 + 4, LWD_STACKF_TRUNCATED | 0x40);/* stack flags */
	lwt_fix_crc(b, pr);
	lwt_fix_crc(b, st);
	lwt_fix_header_crc(b);
	rc = lw_file_parse(b, len, &f, err, sizeof(err));
	CHECK(rc == LWD_EFORMAT, "same minor must be strict: %d %s", rc, err);
	lw_file_free(f);

	lwt_wr16(b + 10, LWD_VERSION_MINOR + 1);
	lwt_fix_header_crc(b);
	rc = lw_file_parse(b, len, &f, err, sizeof(err));
	CHECK(rc == 0, "newer minor must be lenient: %d %s", rc, err);
	if (!rc) {
		CHECK(f->version_minor == LWD_VERSION_MINOR + 1);
		CHECK(f->process.reason == 77);
		CHECK(f->stacks[0].flags == (LWD_STACKF_TRUNCATED | 0x40));
	}
	lw_file_free(f);
	free(b);
}

static int fill_nothing(lw_writer *w, void *arg)
{
	return 0;
}

static void test_writer_misuse(void)
{
	uint8_t buf[4096];
	lw_writer w;
	int fd = memfd_create("misuse", MFD_CLOEXEC);
	uint64_t pc = 1;

	CHECK(lw_writer_begin(&w, &lw_io_system, fd, buf, 4095, LWD_KIND_DUMP, 0, 0) == -EINVAL);
	CHECK(lw_writer_put_u32(&w, 1) == -EINVAL);   /* sticky */
	CHECK(lw_writer_begin(&w, &lw_io_system, fd, buf, sizeof(buf), 9, 0, 0) == -EINVAL);

	CHECK(lw_writer_begin(&w, &lw_io_system, fd, buf, sizeof(buf), LWD_KIND_DUMP, 0, 0) == 0);
	CHECK(lw_writer_put_u32(&w, 1) == -EINVAL);   /* outside a section */
	CHECK(w.err == -EINVAL);
	CHECK(lw_writer_section_begin(&w, LWD_SEC_STRINGS, 0, 1) == -EINVAL);
	CHECK(lw_writer_finish(&w) == -EINVAL);

	CHECK(lw_writer_begin(&w, &lw_io_system, fd, buf, sizeof(buf), LWD_KIND_DUMP, 0, 0) == 0);
	CHECK(lw_writer_section_begin(&w, LWD_SEC_END, 0, 0) == -EINVAL);
	CHECK(lw_writer_begin(&w, &lw_io_system, fd, buf, sizeof(buf), LWD_KIND_DUMP, 0, 0) == 0);
	CHECK(lw_writer_section_begin(&w, 0, 0, 0) == -EINVAL);
	CHECK(lw_writer_begin(&w, &lw_io_system, fd, buf, sizeof(buf), LWD_KIND_DUMP, 0, 0) == 0);
	CHECK(lw_writer_section_begin(&w, LWD_SEC_STACKS, 0, 1) == 0);
	CHECK(lw_writer_section_begin(&w, LWD_SEC_STACKS, 0, 1) == -EINVAL);   /* nested */
	CHECK(lw_writer_begin(&w, &lw_io_system, fd, buf, sizeof(buf), LWD_KIND_DUMP, 0, 0) == 0);
	CHECK(lw_writer_section_begin(&w, LWD_SEC_STACKS, 0, 1) == 0);
	CHECK(lw_writer_put_stack(&w, &pc, 0, 0) == -EINVAL);
	CHECK(lw_writer_begin(&w, &lw_io_system, fd, buf, sizeof(buf), LWD_KIND_DUMP, 0, 0) == 0);
	CHECK(lw_writer_section_begin(&w, LWD_SEC_STACKS, 0, 1) == 0);
	CHECK(lw_writer_put_stack(&w, &pc, LWD_MAX_DEPTH + 1, 0) == -EINVAL);
	CHECK(lw_writer_begin(&w, &lw_io_system, fd, buf, sizeof(buf), LWD_KIND_DUMP, 0, 0) == 0);
	CHECK(lw_writer_section_begin(&w, LWD_SEC_MODULES, 0, 1) == 0);
	lw_module_info m;
	memset(&m, 0, sizeof(m));
	m.build_id_len = LWD_MAX_BUILD_ID + 1;
	CHECK(lw_writer_put_module(&w, &m) == -EINVAL);
	CHECK(lw_writer_begin(&w, &lw_io_system, fd, buf, sizeof(buf), LWD_KIND_DUMP, 0, 0) == 0);
	CHECK(lw_writer_section_begin(&w, LWD_SEC_MODULES, 0, 1) == 0);
	CHECK(lw_writer_finish(&w) == -EINVAL);      /* section still open */
	CHECK(lw_writer_begin(&w, &lw_io_system, fd, buf, sizeof(buf), LWD_KIND_DUMP, 0, 0) == 0);
	CHECK(lw_writer_finish(&w) == 0);
	CHECK(lw_writer_section_begin(&w, LWD_SEC_MODULES, 0, 1) == -EINVAL);   /* after finish */
	CHECK(lw_writer_section_set_count(&w, 1) == -EINVAL);
	close(fd);

	/* a file with only the END section is written fine but refused by the
	 * reader (no STRINGS, no PROCESS) */
	size_t len;
	uint8_t *b = lwt_build(LWD_KIND_SNAPSHOT, fill_nothing, NULL, &len);
	lw_file *f;
	char err[128];
	CHECK(len == LWD_HEADER_SIZE + LWD_SECTION_HEADER_SIZE + LWD_END_SIZE);
	CHECK(lw_file_parse(b, len, &f, err, sizeof(err)) == LWD_EFORMAT);
	CHECK(strstr(err, "no STRINGS section") != NULL);
	free(b);
}

static void test_strtab(void)
{
	char buf[16];
	lw_strtab t;

	lw_strtab_init(&t, buf, sizeof(buf));
	CHECK(t.len == 1 && t.count == 1 && buf[0] == 0);
	CHECK(lw_strtab_add(&t, "") == 0);
	CHECK(lw_strtab_add(&t, NULL) == 0);
	CHECK(lw_strtab_add(&t, "abc") == 1);
	CHECK(lw_strtab_add(&t, "defghij") == 5);       /* 5..12 */
	CHECK(t.len == 13 && t.count == 3);
	CHECK(lw_strtab_add(&t, "xy") == 13);           /* 13..15: exactly full */
	CHECK(t.len == 16 && t.count == 4);
	CHECK(lw_strtab_add(&t, "q") == 0);             /* full: degrade to "" */
	CHECK(t.len == 16 && t.count == 4);
	CHECK(!strcmp(buf + 5, "defghij"));
	lw_strtab_init(&t, NULL, 0);
	CHECK(lw_strtab_add(&t, "a") == 0);
}

/* A table without storage still yields a valid STRINGS section. */
static int fill_empty_strtab(lw_writer *w, void *arg)
{
	lw_strtab t;
	lw_process_info p;

	lw_strtab_init(&t, NULL, 0);
	lw_writer_put_strtab(w, &t);
	memset(&p, 0, sizeof(p));
	p.sample_rate = 1;
	p.exe_module = LWD_NONE;
	p.reason = LWD_REASON_EXIT;
	p.exit_status = LWD_EXIT_STATUS_KNOWN | 255;
	lw_writer_section_begin(w, LWD_SEC_PROCESS, 0, 1);
	lw_writer_put_process(w, &p);
	return lw_writer_section_end(w);
}

static void test_minimal(void)
{
	size_t len;
	uint8_t *b = lwt_build(LWD_KIND_SNAPSHOT, fill_empty_strtab, NULL, &len);
	lw_file *f = NULL;
	char err[128];
	int rc = lw_file_parse(b, len, &f, err, sizeof(err));

	CHECK(rc == 0, "%s", err);
	if (!rc) {
		CHECK(!strcmp(f->process.exe, "") && !strcmp(f->process.hostname, ""));
		CHECK(f->process.exe_module == LWD_NONE);
		CHECK(f->process.reason == LWD_REASON_EXIT);
		CHECK(f->process.exit_status == (LWD_EXIT_STATUS_KNOWN | 255));
		CHECK(f->n_modules == 0 && f->n_stacks == 0 && f->n_counters == 0);
	}
	lw_file_free(f);
	free(b);
}

int main(void)
{
	test_crc();
	test_roundtrip(LWD_KIND_SNAPSHOT);
	test_roundtrip(LWD_KIND_DUMP);
	test_buffering();
	test_minor_version();
	test_writer_misuse();
	test_strtab();
	test_minimal();
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
