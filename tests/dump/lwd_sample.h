/* lwd_sample.h — one fully populated .lwd file with odd values, written
 * through the public writer API, and the expected decoded values.
 *
 * Role: the shared fixture of the dump/ unit tests (round trip, corruption
 * table, truncation). Values are chosen to hit edges: 0, all-ones, the sign
 * bit, denormals, 128-frame stacks, 0- and 64-byte build-ids, strings whose
 * total length is not a multiple of 8 (so STRINGS has padding).
 */
#ifndef LWD_SAMPLE_H
#define LWD_SAMPLE_H

#include "lwd_test.h"

#define LWS_N_STRINGS 6
static const char *const lws_strings[LWS_N_STRINGS - 1] = {
	"/usr/bin/app",
	"app --flag=\xc3\xbc \t\"quoted\"",
	"host-1",
	"/lib/x86_64-linux-gnu/libc.so.6",
	"[vdso]",
};

typedef struct lws_opts {
	int with_reserved;   /* add a THREADS (type 8) section: dumps only */
	int with_unknown;    /* add a 9001-byte unknown optional section (type 0x1234) */
	uint32_t strings_off[LWS_N_STRINGS];   /* out: offsets of lws_strings */
} lws_opts;

static const uint8_t lws_reserved_payload[] = "thread-bytes";
/* The unknown optional section is large (> 2 staging buffers of 4 KiB), so
 * writing it flushes mid-section and its header is patched with pwrite. */
#define LWS_UNKNOWN_LEN 9001

static inline void lws_process(lw_process_info *p, const uint32_t *so)
{
	memset(p, 0, sizeof(*p));
	p->pid = 0xfffffffeu;
	p->ppid = 1;
	p->parent_run_id = UINT64_MAX;
	p->wall_ns = 1700000000123456789ull;
	p->mono_ns = 1;
	p->start_wall_ns = 0;
	p->start_mono_ns = UINT64_MAX - 1;
	p->sample_rate = 524288;
	p->rss_bytes = 0x8000000000000000ull;
	p->peak_rss_bytes = 0x8000000000000001ull;
	p->heap_committed = 4096;
	p->heap_peak_committed = 1ull << 40;
	p->shim_kib = 0xfedcu * 64;   /* stored in 64 KiB units */
	p->exe_str = so[0];
	p->cmdline_str = so[1];
	p->hostname_str = so[2];
	p->exe_module = 0;
	p->alloc_calls = 3;
	p->free_calls = 2;
	p->reason = LWD_REASON_SIGNAL;
}

#define LWS_N_MODULES 3
static inline void lws_module(lw_module_info *m, int i, const uint32_t *so)
{
	memset(m, 0, sizeof(*m));
	if (i == 0) {
		m->load_bias = 0x555555554000ull;
		m->start = 0x555555554000ull;
		m->end = 0x555555559000ull;
		m->path_str = so[0];
		m->build_id_len = 20;
		for (int j = 0; j < 20; j++)
			m->build_id[j] = (uint8_t)(j * 13 + 1);
	} else if (i == 1) {
		m->load_bias = 0x7f0000000000ull;
		m->start = 0x7f0000001000ull;
		m->end = 0x7f00001fffffull;
		m->path_str = so[3];
		m->build_id_len = LWD_MAX_BUILD_ID;
		for (int j = 0; j < LWD_MAX_BUILD_ID; j++)
			m->build_id[j] = (uint8_t)(0xff - j);
	} else {
		m->load_bias = UINT64_MAX;
		m->start = 0;
		m->end = 0;
		m->path_str = 0;
		m->build_id_len = 0;
	}
}

#define LWS_N_SEGMENTS 3
static inline void lws_segment(lw_segment_info *s, int i)
{
	static const lw_segment_info segs[LWS_N_SEGMENTS] = {
		{ 0, 5, 0x555555554000ull, 0x555555556123ull, 0, 0x2123 },
		{ 1, 4, 0x7f0000001000ull, 0x7f0000001000ull, UINT64_MAX, 0 },
		{ 2, 7, 1, UINT64_MAX, 0x1000, UINT64_MAX },
	};
	*s = segs[i];
}

#define LWS_N_STACKS 3
static inline uint32_t lws_stack(int i, uint64_t *pcs, uint32_t *flags)
{
	*flags = 0;
	if (i == 0) {
		pcs[0] = UINT64_MAX;
		return 1;
	}
	if (i == 1) {
		static const uint64_t p[5] = { 1, 2, 3, 0, 0x8000000000000000ull };
		memcpy(pcs, p, sizeof(p));
		return 5;
	}
	for (uint32_t j = 0; j < LWD_MAX_DEPTH; j++)
		pcs[j] = 0x400000ull + 0x1000ull * j + j;
	*flags = LWD_STACKF_TRUNCATED;
	return LWD_MAX_DEPTH;
}

#define LWS_N_COUNTERS 3
static inline void lws_counter(lw_counter_info *c, int i)
{
	static const lw_counter_info cs[LWS_N_COUNTERS] = {
		{ 2, UINT64_MAX, UINT64_MAX - 1, 0, 0, 0.0, 5e-324, 1e300, 0.1 },
		{ 0, 1, 1, 1, 1, 1.0, 1.0, 1.0, 1.0 },
		{ 1, 7, 4096, 3, 100, 7.25, 4096.5, 3.0, 100.125 },
	};
	*c = cs[i];
}

#define LWS_N_LIVE 2
static inline void lws_live(lw_live_info *b, int i)
{
	static const lw_live_info ls[LWS_N_LIVE] = {
		{ 0, UINT64_MAX, 2, 0xffffffffu, 123, 1.0 },
		{ 0xdeadbeef0ull, 1, 0, 7, 0, 524288.5 },
	};
	*b = ls[i];
}

/* The MODULES and SEGMENTS sections of the fixture. */
static inline void lws_put_module_map(lw_writer *w, const uint32_t *so)
{
	lw_writer_section_begin(w, LWD_SEC_MODULES, 0, LWS_N_MODULES);
	for (int i = 0; i < LWS_N_MODULES; i++) {
		lw_module_info m;

		lws_module(&m, i, so);
		lw_writer_put_module(w, &m);
	}
	lw_writer_section_end(w);

	lw_writer_section_begin(w, LWD_SEC_SEGMENTS, 0, LWS_N_SEGMENTS);
	for (int i = 0; i < LWS_N_SEGMENTS; i++) {
		lw_segment_info s;

		lws_segment(&s, i);
		lw_writer_put_segment(w, &s);
	}
	lw_writer_section_end(w);
}

/* lw_fill_fn: writes the whole fixture. arg is an lws_opts (may be NULL). */
static inline int lws_fill(lw_writer *w, void *arg)
{
	lws_opts dflt, *o = arg ? arg : &dflt;
	static char sbuf[1024];
	lw_strtab t;
	lw_process_info p;
	uint64_t pcs[LWD_MAX_DEPTH];

	if (!arg)
		memset(&dflt, 0, sizeof(dflt));
	lw_strtab_init(&t, sbuf, sizeof(sbuf));
	for (int i = 0; i < LWS_N_STRINGS - 1; i++)
		o->strings_off[i] = lw_strtab_add(&t, lws_strings[i]);
	lw_writer_put_strtab(w, &t);

	lws_process(&p, o->strings_off);
	lw_writer_section_begin(w, LWD_SEC_PROCESS, 0, 1);
	lw_writer_put_process(w, &p);
	lw_writer_section_end(w);

	lws_put_module_map(w, o->strings_off);

	/* Count set afterwards, as a walker of a hash table would. */
	lw_writer_section_begin(w, LWD_SEC_STACKS, 0, 0);
	for (int i = 0; i < LWS_N_STACKS; i++) {
		uint32_t flags, depth = lws_stack(i, pcs, &flags);

		lw_writer_put_stack(w, pcs, depth, flags);
	}
	lw_writer_section_set_count(w, LWS_N_STACKS);
	lw_writer_section_end(w);

	lw_writer_section_begin(w, LWD_SEC_COUNTERS, 0, LWS_N_COUNTERS);
	for (int i = 0; i < LWS_N_COUNTERS; i++) {
		lw_counter_info c;

		lws_counter(&c, i);
		lw_writer_put_counter(w, &c);
	}
	lw_writer_section_end(w);

	return w->err;
}

/* Live blocks and the optional extras, for dumps. */
static inline int lws_fill_dump(lw_writer *w, void *arg)
{
	lws_opts dflt, *o = arg ? arg : &dflt;

	if (!arg)
		memset(&dflt, 0, sizeof(dflt));
	if (lws_fill(w, o))
		return w->err;
	lw_writer_section_begin(w, LWD_SEC_LIVE_BLOCKS, 0, LWS_N_LIVE);
	for (int i = 0; i < LWS_N_LIVE; i++) {
		lw_live_info b;

		lws_live(&b, i);
		lw_writer_put_live(w, &b);
	}
	lw_writer_section_end(w);
	if (o->with_reserved) {
		lw_writer_section_begin(w, LWD_SEC_THREADS, 0, 3);
		lw_writer_put(w, lws_reserved_payload, sizeof(lws_reserved_payload));
		lw_writer_section_end(w);
	}
	if (o->with_unknown) {
		lw_writer_section_begin(w, 0x1234, LWD_SECF_OPTIONAL, 9);
		for (uint32_t i = 0; i < LWS_UNKNOWN_LEN; i++) {
			uint8_t byte = (uint8_t)(i * 7);

			lw_writer_put(w, &byte, 1);
		}
		lw_writer_section_end(w);
	}
	return w->err;
}

#endif /* LWD_SAMPLE_H */
