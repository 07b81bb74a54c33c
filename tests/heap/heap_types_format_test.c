/* heap_types_format_test.c — the optional HEAP_TYPES section (type hints:
 * a block's first word when it is an address inside a module, e.g. a C++
 * vtable pointer): encoder lw_writer_put_heap_type and the validating
 * decoder in lw_graph_decode (dump/lwd_graph.c), built with sanitizers.
 *
 *   heap_types_format_test            run the checks
 *   heap_types_format_test --seeds D  write fuzz seeds into directory D
 *
 * A small dump (4 blocks) is written with the real writer into a memfd,
 * with or without HEAP_TYPES: round trip (records, n_types = 0 without the
 * section, the section flagged LWD_SECF_OPTIONAL so readers that predate it
 * skip it, as the parser skips an unknown optional section here too), then
 * each invariant broken in turn (block index out of range, not strictly
 * increasing, repeated, reserved field set): the decoder must answer
 * LWD_EFORMAT with a message naming HEAP_TYPES, never crash; a length that
 * is not count * 16 is refused by the generic reader (lw_file_parse).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lwd.h"
#include "lwd_graph.h"
#include "../check.h"

enum variant {
	V_OK = 0, V_NONE, V_UNKNOWN_OPTIONAL, V_RANGE, V_ORDER, V_REPEAT, V_RESERVED,
	V_LENGTH, N_VARIANT
};
static const char *const vnames[N_VARIANT] = {
	"ok", "none", "unknown-optional", "range", "order", "repeat", "reserved", "length",
};
#define FIRST_BAD V_RANGE

#define NB 4
static const uint64_t baddr[NB] = { 0x10000, 0x10040, 0x10080, 0x20000 };
static const uint64_t bsize[NB] = { 64, 64, 64, 4096 };
/* hints: block -> module address (a vtable pointer's value) */
static const uint32_t tblock[3] = { 0, 2, 3 };
static const uint64_t taddr[3] = { 0x401010, 0x401030, 0x401010 };

static void build(enum variant v, uint8_t **out, size_t *len)
{
	int fd = memfd_create("t", 0);
	static uint8_t buf[1 << 16];
	lw_writer w;
	lw_writer_begin(&w, &lw_io_system, fd, buf, sizeof buf, LWD_KIND_DUMP, 9, 1);
	char sb[64];
	lw_strtab st;
	lw_strtab_init(&st, sb, sizeof sb);
	uint32_t s1 = lw_strtab_add(&st, "/bin/app");
	lw_writer_put_strtab(&w, &st);
	lw_process_info pi;
	memset(&pi, 0, sizeof pi);
	pi.exe_str = s1;
	pi.exe_module = 0;
	pi.sample_rate = 1;
	pi.reason = LWD_REASON_SIGNAL;
	lw_writer_section_begin(&w, LWD_SEC_PROCESS, 0, 1);
	lw_writer_put_process(&w, &pi);
	lw_writer_section_end(&w);
	lw_module_info m;
	memset(&m, 0, sizeof m);
	m.start = 0x400000;
	m.end = 0x500000;
	m.path_str = s1;
	lw_writer_section_begin(&w, LWD_SEC_MODULES, 0, 1);
	lw_writer_put_module(&w, &m);
	lw_writer_section_end(&w);

	lw_writer_section_begin(&w, LWD_SEC_THREADS, 0, 0);
	lw_writer_section_end(&w);
	lw_writer_section_begin(&w, LWD_SEC_HEAP_BLOCKS, 0, NB);
	for (int i = 0; i < NB; i++)
		lw_writer_put_heap_block(&w, baddr[i], bsize[i], LWD_NONE, LWD_NONE);
	lw_writer_section_end(&w);
	lw_writer_section_begin(&w, LWD_SEC_ROOTS, 0, 1);
	lw_writer_put_root(&w, LWD_ROOT_GLOBAL, 0, 0x450000, 0, 0);
	lw_writer_section_end(&w);
	lw_writer_section_begin(&w, LWD_SEC_HEAP_EDGES, 0, 0);
	lw_writer_put_edge(&w, 0, 1);
	lw_graph_edges_end(&w, 1);

	if (v == V_UNKNOWN_OPTIONAL) {     /* a future optional section: skipped */
		lw_writer_section_begin(&w, 4000, LWD_SECF_OPTIONAL, 1);
		lw_writer_put_u64(&w, 42);
		lw_writer_section_end(&w);
	}
	if (v != V_NONE) {
		uint32_t n = 3;
		lw_writer_section_begin(&w, LWD_SEC_HEAP_TYPES, LWD_SECF_OPTIONAL,
					v == V_LENGTH ? n + 1 : n);
		for (uint32_t i = 0; i < n; i++) {
			uint32_t b = tblock[i];
			if (v == V_RANGE && i == 2) b = NB;
			if (v == V_ORDER && i == 1) b = 3;          /* 0, 3, 3 -> then 3 */
			if (v == V_ORDER && i == 2) b = 1;          /* 0, 3, 1: decreasing */
			if (v == V_REPEAT && i == 2) b = 2;         /* 0, 2, 2 */
			if (v == V_RESERVED && i == 1) {
				lw_writer_put_u32(&w, b);
				lw_writer_put_u32(&w, 1);
				lw_writer_put_u64(&w, taddr[i]);
				continue;
			}
			lw_writer_put_heap_type(&w, b, taddr[i]);
		}
		lw_writer_section_end(&w);
	}
	if (lw_writer_finish(&w)) { fprintf(stderr, "writer: %d\n", w.err); exit(99); }
	*len = (size_t)lseek(fd, 0, SEEK_END);
	*out = malloc(*len);
	if (!*out || pread(fd, *out, *len, 0) != (ssize_t)*len) exit(99);
	close(fd);
}

static void check_ok(enum variant v)
{
	uint8_t *b;
	size_t len;
	build(v, &b, &len);
	lw_file *f;
	char err[256];
	int rc = lw_file_parse(b, len, &f, err, sizeof err);
	CHECK(rc == 0, "%s: parse: %s", vnames[v], err);
	if (rc) { free(b); return; }
	const uint8_t *d;
	uint64_t l;
	uint32_t c;
	int has = lw_file_section(f, LWD_SEC_HEAP_TYPES, &d, &l, &c) == 0;
	CHECK(has == (v != V_NONE), "%s: HEAP_TYPES present %d", vnames[v], has);
	if (has) {
		uint32_t flags = d[-20] | d[-19] << 8 | d[-18] << 16 | (uint32_t)d[-17] << 24;
		CHECK(flags & LWD_SECF_OPTIONAL, "%s: HEAP_TYPES not marked optional", vnames[v]);
		CHECK(c == 3 && l == 3 * LWD_HEAP_TYPE_SIZE, "%s: count %u length %llu", vnames[v],
		      c, (unsigned long long)l);
	}
	lw_graph *g;
	rc = lw_graph_decode(f, &g, err, sizeof err);
	CHECK(rc == 0, "%s: decode: %s", vnames[v], err);
	if (rc == 0) {
		CHECK(g->n_blocks == NB && g->n_edges == 1, "%s: graph %zu blocks", vnames[v], g->n_blocks);
		if (v == V_NONE) {
			CHECK(g->n_types == 0, "none: %zu types", g->n_types);
		} else {
			CHECK(g->n_types == 3, "%s: %zu types", vnames[v], g->n_types);
			for (size_t i = 0; i < g->n_types && i < 3; i++)
				CHECK(g->types[i].block == tblock[i] && g->types[i].addr == taddr[i],
				      "%s: type %zu = block %u addr 0x%llx", vnames[v], i, g->types[i].block,
				      (unsigned long long)g->types[i].addr);
		}
		lw_graph_free(g);
	}
	lw_file_free(f);
	free(b);
}

static void check_bad(enum variant v)
{
	uint8_t *b;
	size_t len;
	build(v, &b, &len);
	lw_file *f;
	char err[256] = "";
	int rc = lw_file_parse(b, len, &f, err, sizeof err);
	if (v == V_LENGTH) {   /* framing: the generic reader already refuses it */
		CHECK(rc == LWD_EFORMAT && strstr(err, "HEAP_TYPES"), "length: parse %d: %s", rc, err);
		free(b);
		return;
	}
	CHECK(rc == 0, "%s: parse: %s", vnames[v], err);
	if (rc == 0) {
		lw_graph *g = NULL;
		rc = lw_graph_decode(f, &g, err, sizeof err);
		CHECK(rc == LWD_EFORMAT && g == NULL, "%s: decode returned %d", vnames[v], rc);
		CHECK(strstr(err, "HEAP_TYPES") != NULL, "%s: message %s", vnames[v], err);
		lw_graph_free(g);
		lw_file_free(f);
	}
	free(b);
}

static int write_seeds(const char *dir)
{
	for (int v = 0; v < N_VARIANT; v++) {
		uint8_t *b;
		size_t len;
		build((enum variant)v, &b, &len);
		char path[4096];
		snprintf(path, sizeof path, "%s/%s-types-%s.lwd", dir, v >= FIRST_BAD ? "bad" : "ok",
			 vnames[v]);
		FILE *fh = fopen(path, "wb");
		if (!fh || fwrite(b, 1, len, fh) != len || fclose(fh)) { perror(path); return 1; }
		free(b);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--seeds"))
		return write_seeds(argv[2]);
	for (int v = 0; v < FIRST_BAD; v++)
		check_ok((enum variant)v);
	for (int v = FIRST_BAD; v < N_VARIANT; v++)
		check_bad((enum variant)v);
	if (failures)
		fprintf(stderr, "heap_types_format_test: %d failures\n", failures);
	else
		printf("ok: HEAP_TYPES round trip and %d rejections\n", N_VARIANT - FIRST_BAD);
	return failures ? 1 : 0;
}
