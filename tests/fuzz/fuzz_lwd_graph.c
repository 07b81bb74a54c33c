/* fuzz_lwd_graph.c — libFuzzer target for the heap-graph decoder
 * (dump/lwd_graph.c), following fuzz_lwd_reader.c.
 *
 * Parses the input with lw_file_parse; when accepted, decodes the graph with
 * lw_graph_decode and, when that succeeds, follows every index the decoder
 * promises is in range (block, thread, module, live, stack, type hint, CSR
 * offsets and targets) and checks the promised orders, so ASan and UBSan see anything
 * the validation let through. Seeds: corpus/lwd_graph (written by
 * heap_graph_format_test --seeds, and the *-types-* ones by
 * heap_types_format_test --seeds). Also replayed as a plain test, where
 * lw_fuzz_accepts pins the seed names: ok-* must parse AND decode, bad-* must
 * fail one of the two.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lwd.h"
#include "lwd_graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int lw_fuzz_accepts(const uint8_t *data, size_t size);

static volatile uint64_t lw_fuzz_sink;

static uint64_t walk(const lw_file *f, const lw_graph *g)
{
	uint64_t h = g->n_edges + g->total_bytes;
	for (size_t i = 0; i < g->n_threads; i++) {
		const lw_graph_thread *t = &g->threads[i];
		if (t->n_regs > LWD_MAX_REGS || t->stack_start > t->stack_end)
			abort();
		h += t->tid + t->flags + t->sp;
		for (uint32_t k = 0; k < t->n_regs; k++)
			h += t->regs[k];
	}
	for (size_t i = 0; i < g->n_blocks; i++) {
		const lw_graph_block *b = &g->blocks[i];
		if (b->size == 0 || (i > 0 && b->addr < g->blocks[i - 1].addr + g->blocks[i - 1].size))
			abort();
		if (b->live != LWD_NONE)
			h += f->live[b->live].addr;
		if (b->stack != LWD_NONE)
			h += f->stacks[b->stack].depth;
		if (lw_graph_block_at(g, b->addr) != i)
			abort();
	}
	for (size_t i = 0; i < g->n_roots; i++) {
		const lw_graph_root *r = &g->roots[i];
		h += g->blocks[r->block].addr;
		if (r->kind == LWD_ROOT_GLOBAL)
			h += f->modules[r->owner].start;
		else
			h += g->threads[r->owner].tid;
	}
	for (size_t i = 0; i < g->n_types; i++) {   /* optional HEAP_TYPES */
		const lw_graph_type *t = &g->types[i];
		if (i > 0 && t->block <= g->types[i - 1].block)
			abort();
		h += g->blocks[t->block].addr + t->addr;
	}
	if (g->out_start[0] != 0 || g->out_start[g->n_blocks] != g->n_edges)
		abort();
	for (size_t b = 0; b < g->n_blocks; b++)
		for (uint64_t k = g->out_start[b]; k < g->out_start[b + 1]; k++) {
			if (k > g->out_start[b] && g->out_to[k] <= g->out_to[k - 1])
				abort();
			h += g->blocks[g->out_to[k]].size;
		}
	return h;
}

#ifdef LW_LIBFUZZER
/* Mutations would almost never survive the section CRCs: re-seal the header
 * and every section CRC after 7 of 8 mutations so the fuzzer reaches the
 * graph decoder's semantic checks (the 8th keeps the CRC checks covered). */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

static uint32_t g_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void g_wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	size = LLVMFuzzerMutate(data, size, max_size);
	if (seed % 8 == 7 || size < LWD_HEADER_SIZE)
		return size;
	g_wr32(data + 60, lw_crc32(0, data, 60));
	for (size_t off = LWD_HEADER_SIZE; size - off >= LWD_SECTION_HEADER_SIZE;) {
		uint64_t len = g_rd32(data + off + 8) | (uint64_t)g_rd32(data + off + 12) << 32;
		uint64_t room = size - off - LWD_SECTION_HEADER_SIZE;
		if (len > room)
			break;
		g_wr32(data + off + 20, lw_crc32(0, data + off + LWD_SECTION_HEADER_SIZE, (size_t)len));
		uint64_t padded = (len + 7) & ~7ull;
		if (padded > room)
			break;
		off += LWD_SECTION_HEADER_SIZE + (size_t)padded;
	}
	return size;
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lw_file *f = NULL;
	char err[256];
	if (lw_file_parse(data, size, &f, err, sizeof err) != 0)
		return 0;
	lw_graph *g = NULL;
	if (lw_graph_decode(f, &g, err, sizeof err) == 0) {
		lw_fuzz_sink += walk(f, g);
		lw_graph_free(g);
	}
	lw_file_free(f);
	return 0;
}

int lw_fuzz_accepts(const uint8_t *data, size_t size)
{
	lw_file *f = NULL;
	char err[256];
	if (lw_file_parse(data, size, &f, err, sizeof err) != 0)
		return 0;
	lw_graph *g = NULL;
	int ok = lw_graph_decode(f, &g, err, sizeof err) == 0;
	lw_graph_free(g);
	lw_file_free(f);
	return ok;
}
