/* lwd_graph.c — the heap-graph sections: record encoders for the dump child
 * and the validating decoder for readers (see lwd_graph.h, lwd_format.h
 * "Heap graph", docs/FORMAT.md "Heap graph sections").
 *
 * Encoder: one record per call through lw_writer_put_*; no allocation, no
 * locks, safe in the forked dump child.
 * HEAP_TYPES is optional: decoded when present, n_types = 0 otherwise.
 * Decoder: never trusts a count, a length or an index: every record is
 * bounds-checked against the payload, every index against the array it names,
 * blocks must be sorted and disjoint, roots sorted, edges grouped by source.
 * Counts are multiplied in 64 bits after checking that count * record size
 * equals the payload length, so no allocation size can overflow.
 */
#include "lwd_graph.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- encoder ------------------------------------------------------------ */

int lw_writer_put_thread(lw_writer *w, const lw_thread_info *t)
{
	uint32_t n = t->n_regs > LWD_MAX_REGS ? LWD_MAX_REGS : t->n_regs;
	lw_writer_put_u32(w, t->tid);
	lw_writer_put_u32(w, t->flags);
	lw_writer_put_u64(w, t->stack_start);
	lw_writer_put_u64(w, t->stack_end);
	lw_writer_put_u64(w, t->sp);
	lw_writer_put_u32(w, n);
	lw_writer_put_u32(w, 0);
	for (uint32_t i = 0; i < n; i++)
		lw_writer_put_u64(w, t->regs[i]);
	return w->err;
}

int lw_writer_put_heap_block(lw_writer *w, uint64_t addr, uint64_t size,
			     uint32_t live, uint32_t stack)
{
	uint8_t r[LWD_HEAP_BLOCK_SIZE];
	for (int i = 0; i < 8; i++) {
		r[i] = (uint8_t)(addr >> (8 * i));
		r[8 + i] = (uint8_t)(size >> (8 * i));
	}
	for (int i = 0; i < 4; i++) {
		r[16 + i] = (uint8_t)(live >> (8 * i));
		r[20 + i] = (uint8_t)(stack >> (8 * i));
	}
	return lw_writer_put(w, r, sizeof r);
}

int lw_writer_put_root(lw_writer *w, uint32_t kind, uint32_t owner, uint64_t addr,
		       uint32_t block, uint32_t flags)
{
	uint8_t r[LWD_ROOT_SIZE];
	for (int i = 0; i < 4; i++) {
		r[i] = (uint8_t)(kind >> (8 * i));
		r[4 + i] = (uint8_t)(owner >> (8 * i));
		r[16 + i] = (uint8_t)(block >> (8 * i));
		r[20 + i] = (uint8_t)(flags >> (8 * i));
	}
	for (int i = 0; i < 8; i++)
		r[8 + i] = (uint8_t)(addr >> (8 * i));
	return lw_writer_put(w, r, sizeof r);
}

int lw_writer_put_edge(lw_writer *w, uint32_t from, uint32_t to)
{
	uint8_t r[LWD_HEAP_EDGE_SIZE];
	for (int i = 0; i < 4; i++) {
		r[i] = (uint8_t)(from >> (8 * i));
		r[4 + i] = (uint8_t)(to >> (8 * i));
	}
	return lw_writer_put(w, r, sizeof r);
}

int lw_writer_put_heap_type(lw_writer *w, uint32_t block, uint64_t addr)
{
	uint8_t r[LWD_HEAP_TYPE_SIZE];
	for (int i = 0; i < 4; i++) {
		r[i] = (uint8_t)(block >> (8 * i));
		r[4 + i] = 0;
	}
	for (int i = 0; i < 8; i++)
		r[8 + i] = (uint8_t)(addr >> (8 * i));
	return lw_writer_put(w, r, sizeof r);
}

int lw_graph_edges_end(lw_writer *w, uint32_t n_edges)
{
	lw_writer_section_set_count(w, n_edges);
	return lw_writer_section_end(w);
}

/* ---- decoder ------------------------------------------------------------ */

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

__attribute__((format(printf, 3, 4)))
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	if (errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return LWD_EFORMAT;
}

#define LW_ULL(x) ((unsigned long long)(x))

void lw_graph_free(lw_graph *g)
{
	if (!g)
		return;
	free(g->threads);
	free(g->blocks);
	free(g->roots);
	free(g->out_start);
	free(g->out_to);
	free(g->types);
	free(g);
}

uint32_t lw_graph_block_at(const lw_graph *g, uint64_t addr)
{
	size_t lo = 0, hi = g->n_blocks;
	while (lo < hi) {              /* first block with addr + size > addr */
		size_t mid = lo + (hi - lo) / 2;
		const lw_graph_block *b = &g->blocks[mid];
		if (b->addr + b->size <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < g->n_blocks && g->blocks[lo].addr <= addr)
		return (uint32_t)lo;
	return LWD_NONE;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int decode_threads(lw_graph *g, const uint8_t *p, uint64_t len, uint32_t count,
			  char *err, size_t errlen)
{
	/* each record is at least 40 bytes: count is bounded by len */
	if ((uint64_t)count * LWD_THREAD_HEADER_SIZE > len)
		return bad(err, errlen, "THREADS: %u records cannot fit in %llu bytes", count, LW_ULL(len));
	g->threads = calloc(count ? count : 1, sizeof *g->threads);
	if (!g->threads)
		return -ENOMEM;
	uint64_t pos = 0;
	for (uint32_t i = 0; i < count; i++) {
		if (len - pos < LWD_THREAD_HEADER_SIZE)
			return bad(err, errlen, "THREADS record %u: truncated at byte %llu", i, LW_ULL(pos));
		const uint8_t *r = p + pos;
		lw_graph_thread *t = &g->threads[i];
		t->tid = rd32(r);
		t->flags = rd32(r + 4);
		t->stack_start = rd64(r + 8);
		t->stack_end = rd64(r + 16);
		t->sp = rd64(r + 24);
		t->n_regs = rd32(r + 32);
		if (t->flags & ~(LWD_THREADF_REGS | LWD_THREADF_WHOLE_STACK | LWD_THREADF_DUMPER))
			return bad(err, errlen, "THREADS record %u: unknown flags 0x%x", i, t->flags);
		if (t->stack_start > t->stack_end)
			return bad(err, errlen, "THREADS record %u: stack start 0x%llx above end 0x%llx",
				   i, LW_ULL(t->stack_start), LW_ULL(t->stack_end));
		if (t->n_regs > LWD_MAX_REGS)
			return bad(err, errlen, "THREADS record %u: %u registers (at most %u)",
				   i, t->n_regs, LWD_MAX_REGS);
		pos += LWD_THREAD_HEADER_SIZE;
		if (len - pos < (uint64_t)t->n_regs * 8)
			return bad(err, errlen, "THREADS record %u: registers run past the section", i);
		for (uint32_t k = 0; k < t->n_regs; k++)
			t->regs[k] = rd64(p + pos + 8 * k);
		pos += (uint64_t)t->n_regs * 8;
	}
	if (pos != len)
		return bad(err, errlen, "THREADS: %llu bytes after the last of %u records",
			   LW_ULL(len - pos), count);
	g->n_threads = count;
	return 0;
}

static int decode_blocks(const lw_file *f, lw_graph *g, const uint8_t *p, uint64_t len,
			 uint32_t count, char *err, size_t errlen)
{
	if ((uint64_t)count * LWD_HEAP_BLOCK_SIZE != len)
		return bad(err, errlen, "HEAP_BLOCKS: length %llu is not %u records of %u bytes",
			   LW_ULL(len), count, LWD_HEAP_BLOCK_SIZE);
	g->blocks = malloc((count ? count : 1) * sizeof *g->blocks);
	if (!g->blocks)
		return -ENOMEM;
	uint64_t prev_end = 0;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *r = p + (uint64_t)i * LWD_HEAP_BLOCK_SIZE;
		lw_graph_block *b = &g->blocks[i];
		b->addr = rd64(r);
		b->size = rd64(r + 8);
		b->live = rd32(r + 16);
		b->stack = rd32(r + 20);
		if (b->size == 0 || b->addr + b->size < b->addr)
			return bad(err, errlen, "HEAP_BLOCKS record %u: bad size %llu at 0x%llx",
				   i, LW_ULL(b->size), LW_ULL(b->addr));
		if (i > 0 && b->addr < prev_end)
			return bad(err, errlen, "HEAP_BLOCKS record %u: address 0x%llx is not above the end of the previous block (0x%llx): unsorted or overlapping",
				   i, LW_ULL(b->addr), LW_ULL(prev_end));
		prev_end = b->addr + b->size;
		if (b->live != LWD_NONE) {
			if (b->live >= f->n_live)
				return bad(err, errlen, "HEAP_BLOCKS record %u: live index %u out of range (%zu live blocks)",
					   i, b->live, f->n_live);
			const lw_live_block *lb = &f->live[b->live];
			if (lb->addr < b->addr || lb->addr - b->addr >= b->size)
				return bad(err, errlen, "HEAP_BLOCKS record %u: live block %u at 0x%llx is not inside it",
					   i, b->live, LW_ULL(lb->addr));
			if (b->stack != lb->stack)
				return bad(err, errlen, "HEAP_BLOCKS record %u: stack %u differs from its live block's stack %u",
					   i, b->stack, lb->stack);
		} else if (b->stack != LWD_NONE) {
			return bad(err, errlen, "HEAP_BLOCKS record %u: a stack without a live block", i);
		}
		g->total_bytes += b->size;
	}
	g->n_blocks = count;
	return 0;
}

static int decode_roots(const lw_file *f, lw_graph *g, const uint8_t *p, uint64_t len,
			uint32_t count, char *err, size_t errlen)
{
	if ((uint64_t)count * LWD_ROOT_SIZE != len)
		return bad(err, errlen, "ROOTS: length %llu is not %u records of %u bytes",
			   LW_ULL(len), count, LWD_ROOT_SIZE);
	g->roots = malloc((count ? count : 1) * sizeof *g->roots);
	if (!g->roots)
		return -ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *r = p + (uint64_t)i * LWD_ROOT_SIZE;
		lw_graph_root *o = &g->roots[i];
		o->kind = rd32(r);
		o->owner = rd32(r + 4);
		o->addr = rd64(r + 8);
		o->block = rd32(r + 16);
		o->flags = rd32(r + 20);
		switch (o->kind) {
		case LWD_ROOT_GLOBAL:
			if (o->owner >= f->n_modules)
				return bad(err, errlen, "ROOTS record %u: module %u out of range (%zu modules)",
					   i, o->owner, f->n_modules);
			break;
		case LWD_ROOT_STACK:
		case LWD_ROOT_REGISTER:
		case LWD_ROOT_TLS:
		case LWD_ROOT_SPECIFIC:
		case LWD_ROOT_THREAD_ARG:
		case LWD_ROOT_ALT_STACK:
			if (o->owner >= g->n_threads)
				return bad(err, errlen, "ROOTS record %u: thread %u out of range (%zu threads)",
					   i, o->owner, g->n_threads);
			if (o->kind == LWD_ROOT_REGISTER && o->addr >= g->threads[o->owner].n_regs)
				return bad(err, errlen, "ROOTS record %u: register %llu out of range (%u registers)",
					   i, LW_ULL(o->addr), g->threads[o->owner].n_regs);
			break;
		default:
			return bad(err, errlen, "ROOTS record %u: unknown kind %u", i, o->kind);
		}
		if (o->block >= g->n_blocks)
			return bad(err, errlen, "ROOTS record %u: block %u out of range (%zu blocks)",
				   i, o->block, g->n_blocks);
		if (o->flags & ~LWD_ROOTF_INTERIOR)
			return bad(err, errlen, "ROOTS record %u: unknown flags 0x%x", i, o->flags);
		if (i > 0) {
			const lw_graph_root *q = o - 1;
			if (q->kind > o->kind || (q->kind == o->kind && (q->owner > o->owner ||
			    (q->owner == o->owner && q->addr > o->addr))))
				return bad(err, errlen, "ROOTS record %u: not sorted by kind, owner, address", i);
		}
	}
	g->n_roots = count;
	return 0;
}

static int decode_edges(lw_graph *g, const uint8_t *p, uint64_t len, uint32_t count,
			char *err, size_t errlen)
{
	if ((uint64_t)count * LWD_HEAP_EDGE_SIZE != len)
		return bad(err, errlen, "HEAP_EDGES: length %llu is not %u records of %u bytes",
			   LW_ULL(len), count, LWD_HEAP_EDGE_SIZE);
	g->out_start = calloc(g->n_blocks + 1, sizeof *g->out_start);
	g->out_to = malloc((count ? count : 1) * sizeof *g->out_to);
	if (!g->out_start || !g->out_to)
		return -ENOMEM;
	uint32_t prev = 0;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t from = rd32(p + (uint64_t)i * 8), to = rd32(p + (uint64_t)i * 8 + 4);
		if (from >= g->n_blocks || to >= g->n_blocks)
			return bad(err, errlen, "HEAP_EDGES record %u: %u -> %u out of range (%zu blocks)",
				   i, from, to, g->n_blocks);
		if (from < prev)
			return bad(err, errlen, "HEAP_EDGES record %u: source %u after %u (not grouped by source)",
				   i, from, prev);
		prev = from;
		g->out_to[i] = to;
		g->out_start[from + 1]++;
	}
	for (size_t b = 0; b < g->n_blocks; b++)
		g->out_start[b + 1] += g->out_start[b];
	/* sort each list (if needed) and drop repeats, compacting in place */
	uint64_t w = 0;
	for (size_t b = 0; b < g->n_blocks; b++) {
		uint64_t s = g->out_start[b], e = g->out_start[b + 1];
		int sorted = 1;
		for (uint64_t k = s + 1; k < e && sorted; k++)
			sorted = g->out_to[k - 1] < g->out_to[k];
		if (!sorted)
			qsort(g->out_to + s, (size_t)(e - s), sizeof(uint32_t), cmp_u32);
		g->out_start[b] = w;
		for (uint64_t k = s; k < e; k++)
			if (k == s || g->out_to[k] != g->out_to[k - 1])
				g->out_to[w++] = g->out_to[k];
	}
	g->out_start[g->n_blocks] = w;
	g->n_edges = w;
	return 0;
}

/* Optional HEAP_TYPES: block indices in range and strictly increasing. */
static int decode_types(lw_graph *g, const uint8_t *p, uint64_t len, uint32_t count,
			char *err, size_t errlen)
{
	if ((uint64_t)count * LWD_HEAP_TYPE_SIZE != len)
		return bad(err, errlen, "HEAP_TYPES: length %llu is not %u records of %u bytes",
			   LW_ULL(len), count, LWD_HEAP_TYPE_SIZE);
	g->types = malloc((count ? count : 1) * sizeof *g->types);
	if (!g->types)
		return -ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *r = p + (uint64_t)i * LWD_HEAP_TYPE_SIZE;
		lw_graph_type *t = &g->types[i];
		t->block = rd32(r);
		t->addr = rd64(r + 8);
		if (rd32(r + 4) != 0)
			return bad(err, errlen, "HEAP_TYPES record %u: reserved field is not zero", i);
		if (t->block >= g->n_blocks)
			return bad(err, errlen, "HEAP_TYPES record %u: block %u out of range (%zu blocks)",
				   i, t->block, g->n_blocks);
		if (i > 0 && t->block <= g->types[i - 1].block)
			return bad(err, errlen, "HEAP_TYPES record %u: block %u not above the previous record's %u",
				   i, t->block, g->types[i - 1].block);
	}
	g->n_types = count;
	return 0;
}

int lw_graph_decode(const lw_file *f, lw_graph **out, char *err, size_t errlen)
{
	static const uint32_t types[4] = { LWD_SEC_THREADS, LWD_SEC_HEAP_BLOCKS, LWD_SEC_ROOTS,
					   LWD_SEC_HEAP_EDGES };
	static const char *const names[4] = { "THREADS", "HEAP_BLOCKS", "ROOTS", "HEAP_EDGES" };
	const uint8_t *data[4];
	uint64_t len[4];
	uint32_t count[4];
	int present = 0;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	for (int i = 0; i < 4; i++) {
		data[i] = NULL;
		len[i] = 0;
		count[i] = 0;
		if (lw_file_section(f, types[i], &data[i], &len[i], &count[i]) == 0)
			present |= 1 << i;
	}
	if (present == 0) {
		if (errlen > 0)
			snprintf(err, errlen, "the file has no heap graph (%s)",
				 f->kind == LWD_KIND_DUMP ? "the heap walk did not run in this dump" :
				 "only dumps have one");
		return -ENOENT;
	}
	for (int i = 0; i < 4; i++)
		if (!(present & (1 << i)))
			return bad(err, errlen, "heap graph incomplete: no %s section", names[i]);

	lw_graph *g = calloc(1, sizeof *g);
	if (!g)
		return -ENOMEM;
	int rc = decode_threads(g, data[0], len[0], count[0], err, errlen);
	if (!rc)
		rc = decode_blocks(f, g, data[1], len[1], count[1], err, errlen);
	if (!rc)
		rc = decode_roots(f, g, data[2], len[2], count[2], err, errlen);
	if (!rc)
		rc = decode_edges(g, data[3], len[3], count[3], err, errlen);
	const uint8_t *tdata = NULL;
	uint64_t tlen = 0;
	uint32_t tcount = 0;
	if (!rc && lw_file_section(f, LWD_SEC_HEAP_TYPES, &tdata, &tlen, &tcount) == 0)
		rc = decode_types(g, tdata, tlen, tcount, err, errlen);
	if (rc) {
		if (rc == -ENOMEM && errlen > 0)
			snprintf(err, errlen, "out of memory decoding the heap graph");
		lw_graph_free(g);
		return rc;
	}
	*out = g;
	return 0;
}
