/* heap_graph_format_test.c — the graph sections' encoder and validating
 * decoder (dump/lwd_graph.c), built with sanitizers.
 *
 *   heap_graph_format_test            run the checks
 *   heap_graph_format_test --seeds D  write fuzz seeds into directory D
 *
 * A small graph is written with the real writer into a memfd, parsed and
 * decoded (round trip, CSR de-duplication, lw_graph_block_at); then each
 * invariant is broken in turn (unsorted/overlapping blocks, indices out of
 * range, unknown kinds and flags, a missing section, lengths that do not
 * match counts, a sample outside its block) and the decoder must answer
 * LWD_EFORMAT with a message, never crash. The graph sections must be
 * written without LWD_SECF_OPTIONAL (older readers refuse them).
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
#include "lwd_graph.h"
#include "../check.h"

/* What to break. */
enum breakage {
	OK = 0, B_UNSORTED, B_OVERLAP, B_ZERO_SIZE, B_EDGE_RANGE, B_EDGE_ORDER, B_ROOT_KIND,
	B_ROOT_MODULE, B_ROOT_THREAD, B_ROOT_REG, B_ROOT_BLOCK, B_ROOT_FLAGS, B_ROOT_ORDER,
	B_LIVE_RANGE, B_LIVE_OUTSIDE, B_STACK_MISMATCH, B_NO_EDGES, B_THREAD_FLAGS,
	B_THREAD_REGS, B_THREAD_RANGE, B_EDGE_COUNT, B_ROOT_TLS_THREAD, N_BREAKAGE
};
static const char *const names[N_BREAKAGE] = {
	"ok", "unsorted", "overlap", "zero-size", "edge-range", "edge-order", "root-kind",
	"root-module", "root-thread", "root-reg", "root-block", "root-flags", "root-order",
	"live-range", "live-outside", "stack-mismatch", "no-edges", "thread-flags",
	"thread-regs", "thread-range", "edge-count", "root-tls-thread",
};

#define NB 6
static const uint64_t baddr[NB] = { 0x10000, 0x10040, 0x10080, 0x20000, 0x30000, 0x40000 };
static const uint64_t bsize[NB] = { 64, 64, 64, 4096, 100, 1 << 20 };

static int build(enum breakage br, uint8_t **out, size_t *len)
{
	int fd = memfd_create("g", 0);
	static uint8_t buf[1 << 16];
	lw_writer w;
	lw_writer_begin(&w, &lw_io_system, fd, buf, sizeof buf, LWD_KIND_DUMP, 7, 1);
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
	uint64_t pcs[2] = { 0x401000, 0x402000 };
	lw_writer_section_begin(&w, LWD_SEC_STACKS, 0, 2);
	lw_writer_put_stack(&w, pcs, 1, 0);
	lw_writer_put_stack(&w, pcs, 2, 0);
	lw_writer_section_end(&w);
	lw_live_info li = { baddr[3] + 16, 100, 1, 5, 0, 1.0 };
	lw_writer_section_begin(&w, LWD_SEC_LIVE_BLOCKS, 0, 1);
	lw_writer_put_live(&w, &li);
	lw_writer_section_end(&w);

	uint64_t regs[3] = { 0, baddr[1], 0 };
	lw_thread_info ti = { 100, LWD_THREADF_REGS, 0x7000, 0x8000, 0x7100, 3, regs };
	if (br == B_THREAD_FLAGS) ti.flags = 0x80;
	if (br == B_THREAD_REGS) ti.n_regs = 99;
	if (br == B_THREAD_RANGE) { ti.stack_start = 0x9000; }
	lw_thread_info td = { 101, LWD_THREADF_DUMPER, 0, 0, 0, 0, NULL };
	lw_writer_section_begin(&w, LWD_SEC_THREADS, 0, 2);
	if (br == B_THREAD_REGS) {             /* n_regs says 99, 3 follow */
		lw_writer_put_u32(&w, ti.tid); lw_writer_put_u32(&w, ti.flags);
		lw_writer_put_u64(&w, ti.stack_start); lw_writer_put_u64(&w, ti.stack_end);
		lw_writer_put_u64(&w, ti.sp); lw_writer_put_u32(&w, 99); lw_writer_put_u32(&w, 0);
		for (int i = 0; i < 3; i++) lw_writer_put_u64(&w, regs[i]);
	} else {
		lw_writer_put_thread(&w, &ti);
	}
	lw_writer_put_thread(&w, &td);
	lw_writer_section_end(&w);

	lw_writer_section_begin(&w, LWD_SEC_HEAP_BLOCKS, 0, NB);
	for (int i = 0; i < NB; i++) {
		uint64_t a = baddr[i], s = bsize[i];
		uint32_t live = i == 3 ? 0 : LWD_NONE, stack = i == 3 ? 1 : LWD_NONE;
		if (br == B_UNSORTED && i == 2) a = baddr[0];
		if (br == B_OVERLAP && i == 1) s = 0x100;
		if (br == B_ZERO_SIZE && i == 4) s = 0;
		if (br == B_LIVE_RANGE && i == 3) live = 5;
		if (br == B_LIVE_OUTSIDE && i == 4) { live = 0; stack = 1; }
		if (br == B_STACK_MISMATCH && i == 3) stack = 0;
		lw_writer_put_heap_block(&w, a, s, live, stack);
	}
	lw_writer_section_end(&w);

	lw_writer_section_begin(&w, LWD_SEC_ROOTS, 0, 0);
	uint32_t nr = 0;
	lw_writer_put_root(&w, br == B_ROOT_KIND ? 9 : LWD_ROOT_GLOBAL, br == B_ROOT_MODULE ? 1 : 0,
			   br == B_ROOT_ORDER ? 0x460000 : 0x450000, 0, 0); nr++;
	lw_writer_put_root(&w, LWD_ROOT_GLOBAL, 0, 0x450008, br == B_ROOT_BLOCK ? NB : 3,
			   br == B_ROOT_FLAGS ? 0x10 : LWD_ROOTF_INTERIOR); nr++;
	lw_writer_put_root(&w, LWD_ROOT_STACK, br == B_ROOT_THREAD ? 2 : 0, 0x7200, 4, 0); nr++;
	lw_writer_put_root(&w, LWD_ROOT_REGISTER, 0, br == B_ROOT_REG ? 3 : 1, 1, 0); nr++;
	/* the thread-owned kinds that followed (TLS, setspecific, start
	 * argument, coroutine stack): owner is a thread index */
	lw_writer_put_root(&w, LWD_ROOT_TLS, br == B_ROOT_TLS_THREAD ? 2 : 0, 0x7f00, 2, 0); nr++;
	lw_writer_put_root(&w, LWD_ROOT_SPECIFIC, 0, 0x7f80, 3, LWD_ROOTF_INTERIOR); nr++;
	lw_writer_put_root(&w, LWD_ROOT_THREAD_ARG, 0, 0x7fc0, 4, 0); nr++;
	lw_writer_put_root(&w, LWD_ROOT_ALT_STACK, 0, baddr[5] + 64, 0, 0); nr++;
	lw_writer_section_set_count(&w, nr);
	lw_writer_section_end(&w);

	if (br != B_NO_EDGES) {
		lw_writer_section_begin(&w, LWD_SEC_HEAP_EDGES, 0, 0);
		/* 0 -> {1, 2, 1 (repeat, unsorted)}, 3 -> 5, 4 -> 0 */
		uint32_t e[][2] = { { 0, 2 }, { 0, 1 }, { 0, 1 }, { 3, 5 }, { 4, 0 } };
		uint32_t ne = sizeof e / sizeof e[0];
		if (br == B_EDGE_RANGE) e[3][1] = NB;
		if (br == B_EDGE_ORDER) { e[3][0] = 4; e[4][0] = 3; }
		for (uint32_t i = 0; i < ne; i++)
			lw_writer_put_edge(&w, e[i][0], e[i][1]);
		lw_graph_edges_end(&w, br == B_EDGE_COUNT ? ne + 1 : ne);
	}
	if (lw_writer_finish(&w)) { fprintf(stderr, "writer: %d\n", w.err); exit(99); }
	*len = (size_t)lseek(fd, 0, SEEK_END);
	*out = malloc(*len);
	if (pread(fd, *out, *len, 0) != (ssize_t)*len) exit(99);
	close(fd);
	return 0;
}

static void check_ok(void)
{
	uint8_t *b;
	size_t len;
	build(OK, &b, &len);
	lw_file *f;
	char err[256];
	int rc = lw_file_parse(b, len, &f, err, sizeof err);
	CHECK(rc == 0, "parse: %s", err);
	if (rc) { free(b); return; }
	CHECK(f->version_minor >= 1, "minor %u", f->version_minor);
	/* the graph sections are not optional: a reader that predates them refuses */
	for (uint32_t t = LWD_SEC_THREADS; t <= LWD_SEC_ROOTS; t++) {
		const uint8_t *d;
		uint64_t l;
		uint32_t c;
		CHECK(lw_file_section(f, t, &d, &l, &c) == 0, "section %u missing", t);
		/* its header is the 24 bytes before the payload */
		uint32_t flags = d[-20] | d[-19] << 8 | d[-18] << 16 | (uint32_t)d[-17] << 24;
		CHECK((flags & LWD_SECF_OPTIONAL) == 0, "section %u marked optional", t);
	}
	lw_graph *g;
	rc = lw_graph_decode(f, &g, err, sizeof err);
	CHECK(rc == 0, "decode: %s", err);
	if (rc == 0) {
		CHECK(g->n_blocks == NB && g->n_threads == 2 && g->n_roots == 8, "counts %zu %zu %zu", g->n_blocks, g->n_threads, g->n_roots);
		CHECK(g->roots[4].kind == LWD_ROOT_TLS && g->roots[5].kind == LWD_ROOT_SPECIFIC &&
		      g->roots[5].flags == LWD_ROOTF_INTERIOR && g->roots[6].kind == LWD_ROOT_THREAD_ARG &&
		      g->roots[6].block == 4 && g->roots[7].kind == LWD_ROOT_ALT_STACK &&
		      g->roots[7].addr == baddr[5] + 64, "thread-owned root kinds");
		CHECK(g->n_edges == 4, "edges %llu (repeat not removed?)", (unsigned long long)g->n_edges);
		CHECK(g->out_start[1] - g->out_start[0] == 2 && g->out_to[g->out_start[0]] == 1 &&
		      g->out_to[g->out_start[0] + 1] == 2, "CSR of block 0");
		CHECK(g->out_start[4] - g->out_start[3] == 1 && g->out_to[g->out_start[3]] == 5, "CSR of block 3");
		CHECK(g->blocks[3].live == 0 && g->blocks[3].stack == 1, "sample of block 3");
		CHECK(g->threads[0].n_regs == 3 && g->threads[0].regs[1] == baddr[1], "registers");
		CHECK(g->roots[1].flags == LWD_ROOTF_INTERIOR && g->roots[3].kind == LWD_ROOT_REGISTER, "roots");
		CHECK(lw_graph_block_at(g, baddr[3] + 4095) == 3, "block_at interior");
		CHECK(lw_graph_block_at(g, baddr[3] + 4096) == LWD_NONE, "block_at gap");
		CHECK(lw_graph_block_at(g, 5) == LWD_NONE, "block_at below");
		CHECK(lw_graph_block_at(g, baddr[0]) == 0, "block_at first");
		CHECK(g->total_bytes == 64 * 3 + 4096 + 100 + (1 << 20), "total bytes");
		lw_graph_free(g);
	}
	lw_file_free(f);
	free(b);
}

static void check_bad(enum breakage br)
{
	uint8_t *b;
	size_t len;
	build(br, &b, &len);
	lw_file *f;
	char err[256] = "";
	int rc = lw_file_parse(b, len, &f, err, sizeof err);
	if (rc == 0) {
		lw_graph *g = NULL;
		err[0] = '\0';
		rc = lw_graph_decode(f, &g, err, sizeof err);
		CHECK(rc == LWD_EFORMAT && g == NULL, "%s: decode returned %d", names[br], rc);
		CHECK(err[0] != '\0', "%s: no message", names[br]);
		lw_file_free(f);
	} else {
		CHECK(rc == LWD_EFORMAT, "%s: parse returned %d (%s)", names[br], rc, err);
	}
	free(b);
}

static int write_seeds(const char *dir)
{
	for (int br = 0; br < N_BREAKAGE; br++) {
		uint8_t *b;
		size_t len;
		build((enum breakage)br, &b, &len);
		char path[4096];
		snprintf(path, sizeof path, "%s/%s-graph-%s.lwd", dir, br ? "bad" : "ok", names[br]);
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
	check_ok();
	for (int br = 1; br < N_BREAKAGE; br++)
		check_bad((enum breakage)br);
	if (failures)
		fprintf(stderr, "heap_graph_format_test: %d failures\n", failures);
	return failures ? 1 : 0;
}
