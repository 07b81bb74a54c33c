/* fuzz_lwd_reader.c — libFuzzer target for the .lwd reader.
 *
 * Parses the input with lw_file_parse and, when it is accepted, touches every
 * decoded field, every string byte and every raw section byte, following
 * every index the reader promises is in range (module, stack), so ASan and
 * UBSan see any pointer or index the validation let through. The same
 * function runs in the plain corpus replay driver (fuzz_replay.c).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lwd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int lw_fuzz_accepts(const uint8_t *data, size_t size);

static volatile uint64_t lw_fuzz_sink;

static uint64_t lw_fuzz_str(const char *s)
{
	uint64_t h = 0;

	/* never NULL; strlen walks to the NUL the reader guarantees */
	for (size_t i = 0, n = strlen(s); i < n; i++)
		h = h * 31 + (uint8_t)s[i];
	return h;
}

static uint64_t lw_fuzz_walk(const lw_file *f)
{
	uint64_t h = f->version_major ^ f->version_minor ^ f->kind ^ f->run_id ^ f->seq ^ f->file_size;
	const lw_process *p = &f->process;

	h += p->pid + p->ppid + p->parent_run_id + p->wall_ns + p->mono_ns + p->start_wall_ns +
	     p->start_mono_ns + p->sample_rate + p->rss_bytes + p->peak_rss_bytes +
	     p->heap_committed + p->heap_peak_committed + p->alloc_calls + p->free_calls + p->reason + p->shim_kib;
	h += lw_fuzz_str(p->exe) + lw_fuzz_str(p->cmdline) + lw_fuzz_str(p->hostname);
	if (p->exe_module != LWD_NONE) {
		if (p->exe_module >= f->n_modules)
			abort();
		h += lw_fuzz_str(f->modules[p->exe_module].path);
	}
	for (size_t i = 0; i < f->n_modules; i++) {
		const lw_module *m = &f->modules[i];

		if (m->build_id_len > LWD_MAX_BUILD_ID || m->start > m->end)
			abort();
		h += m->load_bias + m->start + m->end + lw_fuzz_str(m->path);
		for (uint32_t j = 0; j < m->build_id_len; j++)
			h += m->build_id[j];
	}
	for (size_t i = 0; i < f->n_segments; i++) {
		const lw_segment *s = &f->segments[i];

		if (s->module >= f->n_modules)
			abort();
		h += s->prot + s->start + s->end + s->file_offset + s->file_size +
		     f->modules[s->module].start;
	}
	for (size_t i = 0; i < f->n_stacks; i++) {
		const lw_stack *s = &f->stacks[i];

		if (s->depth < 1 || s->depth > LWD_MAX_DEPTH)
			abort();
		h += s->flags;
		for (uint32_t j = 0; j < s->depth; j++)
			h += s->pcs[j];
	}
	for (size_t i = 0; i < f->n_counters; i++) {
		const lw_counter *c = &f->counters[i];

		if (c->stack >= f->n_stacks)
			abort();
		h += c->alloc_samples + c->alloc_sample_bytes + c->free_samples +
		     c->free_sample_bytes + f->stacks[c->stack].pcs[0];
		h += (uint64_t)(c->alloc_objects_est + c->alloc_bytes_est +
				c->free_objects_est + c->free_bytes_est > 1.0);
	}
	for (size_t i = 0; i < f->n_live; i++) {
		const lw_live_block *b = &f->live[i];

		if (b->stack >= f->n_stacks)
			abort();
		h += b->addr + b->size + b->tid + b->alloc_mono_ns + (b->weight > 1.0) +
		     f->stacks[b->stack].depth;
	}
	for (size_t i = 0; i < f->n_bases; i++)
		h += lw_fuzz_str(f->bases[i].name) + f->bases[i].seq + f->bases[i].length;
	if (f->unresolved && (f->n_stacks || f->n_counters))
		abort();   /* a file parsed alone shows nothing that needs its bases */
	for (uint32_t type = 1; type <= LWD_SEC_CCOUNTERS; type++) {
		const uint8_t *d;
		uint64_t len;
		uint32_t count;

		if (lw_file_section(f, type, &d, &len, &count) == 0) {
			h += count;
			for (uint64_t j = 0; j < len; j++)
				h += d[j];
		}
	}
	return h;
}

#ifdef LW_LIBFUZZER
/* CRCs would stop almost every mutation at the first checksum. The custom
 * mutator lets libFuzzer mutate, then (for 7 of 8 mutations) recomputes the
 * header CRC and every section CRC it can find, so the fuzzer reaches the
 * semantic checks behind them; the remaining mutations keep exercising the
 * CRC checks themselves. Production code is unchanged. */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

static uint32_t lw_fz_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void lw_fz_wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	size_t off = LWD_HEADER_SIZE;

	size = LLVMFuzzerMutate(data, size, max_size);
	if (seed % 8 == 0 || size < LWD_HEADER_SIZE)
		return size;
	lw_fz_wr32(data + 60, lw_crc32(0, data, 60));
	while (size - off >= LWD_SECTION_HEADER_SIZE) {
		uint64_t plen = (uint64_t)lw_fz_rd32(data + off + 8) |
				(uint64_t)lw_fz_rd32(data + off + 12) << 32;

		if (plen > size - off - LWD_SECTION_HEADER_SIZE)
			break;
		lw_fz_wr32(data + off + 20,
			   lw_crc32(0, data + off + LWD_SECTION_HEADER_SIZE, (size_t)plen));
		plen = (plen + 7) & ~(uint64_t)7;
		if (plen > size - off - LWD_SECTION_HEADER_SIZE)
			break;
		off += LWD_SECTION_HEADER_SIZE + (size_t)plen;
	}
	return size;
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	lw_file *f = NULL;
	int rc = lw_file_parse(data, size, &f, err, sizeof(err));

	if (rc == 0) {
		lw_fuzz_sink += lw_fuzz_walk(f);
		lw_file_free(f);
	} else {
		/* a refusal always says why, on one line */
		if (f != NULL || (rc != LWD_EFORMAT && rc != LWD_EVERSION && rc != -ENOMEM) ||
		    err[0] == '\0' || memchr(err, '\n', strlen(err)))
			abort();
	}
	return 0;
}

/* For fuzz_replay's seed-name check: 1 when the reader accepts the input. */
int lw_fuzz_accepts(const uint8_t *data, size_t size)
{
	lw_file *f = NULL;
	int rc = lw_file_parse(data, size, &f, NULL, 0);

	lw_file_free(f);
	return rc == 0;
}
