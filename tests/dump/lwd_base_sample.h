/* lwd_base_sample.h — a small run written the way the shim writes it
 * (format minor 2): a stack file, a keyframe and a delta snapshot, through
 * the public writer API, with the values a reader must get back.
 *
 * Role: the shared fixture of test_lwd_base.c and the fuzz seed generator.
 * Files made in a directory by lwb_make_run:
 *   stacks-000000.lws  3 stacks (created), then 2 more (appended)
 *   snap-000001.lwd    keyframe: own MODULES/SEGMENTS, STACK_BASE (3
 *                      stacks), CCOUNTERS for stacks 0..2
 *   snap-000002.lwd    delta: STACK_BASE (5 stacks), COUNTER_BASE with
 *                      LWD_CBASEF_MODULES, CCOUNTERS for the stacks that
 *                      changed (1, 3, 4: stack 2 inherits the keyframe's)
 * Counter values are chosen to be representable exactly after the wire
 * rounding, so expected values compare with ==.
 */
#ifndef LWD_BASE_SAMPLE_H
#define LWD_BASE_SAMPLE_H

#include "lwd_sample.h"

#define LWB_RUN_ID 0x1122334455667788ull
#define LWB_N_STACKS 5
#define LWB_N_KEY_STACKS 3

typedef struct lwb_run {
	lw_stackfile sf_key, sf_delta;   /* stack file state at each snapshot */
	uint64_t key_size;
	uint32_t key_cc_crc;
	lw_counter_info key_ctr[LWB_N_STACKS], delta_ctr[LWB_N_STACKS];
	int key_has[LWB_N_STACKS], delta_has[LWB_N_STACKS];
} lwb_run;

static inline const uint64_t *lwb_stack(void *arg, uint32_t id, uint32_t *depth, uint32_t *flags)
{
	static uint64_t pcs[LWB_N_STACKS][LWD_MAX_DEPTH];

	(void)arg;
	if (id < LWS_N_STACKS) {
		*depth = lws_stack((int)id, pcs[id], flags);
		return pcs[id];
	}
	*flags = 0;
	*depth = 2 + id;
	for (uint32_t j = 0; j < *depth; j++)
		pcs[id][j] = 0x555555555000ull + 0x100ull * id + j;
	return pcs[id];
}

/* Counters of stack i at phase 0 (keyframe) or 1 (delta). Estimates are
 * counts plus multiples of 1/LWD_CC_OBJ_SCALE objects and whole bytes. */
static inline int lwb_counter(int phase, uint32_t i, lw_counter_info *c)
{
	memset(c, 0, sizeof(*c));
	c->stack = i;
	if (phase == 0 && i >= LWB_N_KEY_STACKS)
		return 0;
	switch (i) {
	case 0:   /* LEAKWATCH_RATE=1 style: estimates equal counts, unchanged */
		c->alloc_samples = 10;
		c->alloc_sample_bytes = 640;
		c->free_samples = 10;
		c->free_sample_bytes = 640;
		break;
	case 1:   /* sampled, growing between the two snapshots */
		c->alloc_samples = phase ? 900 : 100;
		c->alloc_sample_bytes = phase ? 57600 : 6400;
		c->free_samples = phase ? 850 : 90;
		c->free_sample_bytes = phase ? 54400 : 5760;
		break;
	case 2:   /* big values, unchanged: the delta has no record */
		c->alloc_samples = 1ull << 40;
		c->alloc_sample_bytes = 1ull << 52;
		c->free_samples = (1ull << 40) - 3;
		c->free_sample_bytes = (1ull << 52) - 4096;
		break;
	default:  /* new in the delta */
		c->alloc_samples = i;
		c->alloc_sample_bytes = 1000 * i;
		break;
	}
	c->alloc_objects_est = (double)c->alloc_samples + (i == 0 ? 0 : 8191.5 * (i + 1));
	c->alloc_bytes_est = (double)c->alloc_sample_bytes + (i == 0 ? 0 : 524288.0 * (i + 1));
	c->free_objects_est = (double)c->free_samples + (i == 0 || i > 2 ? 0 : 8191.25 * i);
	c->free_bytes_est = (double)c->free_sample_bytes + (i == 0 || i > 2 ? 0 : 524287.0 * i);
	return 1;
}

typedef struct lwb_fill_arg {
	int delta;
	const lwb_run *run;
	uint32_t cc_crc;   /* out: the CCOUNTERS payload CRC */
} lwb_fill_arg;

static inline int lwb_fill(lw_writer *w, void *argp)
{
	lwb_fill_arg *a = argp;
	const lwb_run *r = a->run;
	static char sbuf[1024];
	uint32_t so[LWS_N_STRINGS], name;
	lw_strtab t;
	lw_process_info p;
	uint64_t kw[LWD_CC_FIELDS], dw[LWD_CC_FIELDS];
	uint32_t next = 0, n = 0;
	const lw_stackfile *sf = a->delta ? &r->sf_delta : &r->sf_key;

	lw_strtab_init(&t, sbuf, sizeof(sbuf));
	for (int i = 0; i < LWS_N_STRINGS - 1; i++)
		so[i] = lw_strtab_add(&t, lws_strings[i]);
	name = lw_strtab_add(&t, "stacks-000000.lws");
	uint32_t key_name = lw_strtab_add(&t, "snap-000001.lwd");
	lw_writer_put_strtab(w, &t);

	lws_process(&p, so);
	p.reason = LWD_REASON_INTERVAL;
	lw_writer_section_begin(w, LWD_SEC_PROCESS, 0, 1);
	lw_writer_put_process(w, &p);
	lw_writer_section_end(w);

	if (!a->delta)
		lws_put_module_map(w, so);

	lw_stack_base_info sb = { name, sf->n_stacks, sf->len, sf->seq, sf->crc };
	lw_writer_section_begin(w, LWD_SEC_STACK_BASE, 0, 1);
	lw_writer_put_stack_base(w, &sb);
	lw_writer_section_end(w);

	if (a->delta) {
		lw_counter_base_info cb = { key_name, LWD_CBASEF_MODULES, 1, r->key_size, r->key_cc_crc };
		lw_writer_section_begin(w, LWD_SEC_COUNTER_BASE, 0, 1);
		lw_writer_put_counter_base(w, &cb);
		lw_writer_section_end(w);
	}

	lw_writer_section_begin(w, LWD_SEC_CCOUNTERS, 0, 0);
	for (uint32_t i = 0; i < LWB_N_STACKS; i++) {
		const lw_counter_info *k = &r->key_ctr[i], *d = &r->delta_ctr[i];

		lw_cc_wire(k, kw);
		lw_cc_wire(d, dw);
		if (!a->delta && r->key_has[i]) {
			lw_writer_put_ccounter(w, i, kw, NULL, &next);
			n++;
		} else if (a->delta && r->delta_has[i] && memcmp(kw, dw, sizeof(kw))) {
			lw_writer_put_ccounter(w, i, dw, r->key_has[i] ? kw : NULL, &next);
			n++;
		}
	}
	lw_writer_section_set_count(w, n);
	a->cc_crc = w->sec_crc;
	lw_writer_section_end(w);
	return w->err;
}

/* Writes the run into dfd; returns 0 or exits on a setup failure. */
static inline void lwb_make_run(int dfd, lwb_run *r)
{
	static uint8_t buf[8192];
	const char *step = NULL;
	lwb_fill_arg a;

	memset(r, 0, sizeof(*r));
	for (uint32_t i = 0; i < LWB_N_STACKS; i++) {
		r->key_has[i] = lwb_counter(0, i, &r->key_ctr[i]);
		r->delta_has[i] = lwb_counter(1, i, &r->delta_ctr[i]);
	}
	if (lw_stackfile_create(&lw_io_system, dfd, "stacks-000000.lws", LWB_RUN_ID, 0,
				LWB_N_KEY_STACKS, lwb_stack, NULL, buf, sizeof(buf), &r->sf_key, &step))
		lwt_die("lw_stackfile_create");
	a = (lwb_fill_arg){ 0, r, 0 };
	if (lw_publish_sized(&lw_io_system, dfd, "snap-000001.lwd", buf, sizeof(buf), LWD_KIND_SNAPSHOT,
			     LWB_RUN_ID, 1, lwb_fill, &a, &r->key_size, &step))
		lwt_die("publish keyframe");
	r->key_cc_crc = a.cc_crc;
	r->sf_delta = r->sf_key;
	if (lw_stackfile_append(&lw_io_system, dfd, "stacks-000000.lws", LWB_N_STACKS, lwb_stack, NULL,
				buf, sizeof(buf), &r->sf_delta, &step))
		lwt_die("lw_stackfile_append");
	a = (lwb_fill_arg){ 1, r, 0 };
	if (lw_publish_sized(&lw_io_system, dfd, "snap-000002.lwd", buf, sizeof(buf), LWD_KIND_SNAPSHOT,
			     LWB_RUN_ID, 2, lwb_fill, &a, NULL, &step))
		lwt_die("publish delta");
}

#endif /* LWD_BASE_SAMPLE_H */
