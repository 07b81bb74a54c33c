/* lwd_cc.c — compact counters (CCOUNTERS, format minor 2): the wire values
 * of a stack's counters, the record encoder, and turning decoded records
 * back into lw_counter values.
 *
 * Role: the one definition of the eight wire values (include/lwd_format.h,
 * "CCOUNTERS"). The writer computes them once per stack (lw_cc_wire, the
 * only rounding step) and encodes each field as the zigzag varint of its
 * difference from a base record, so a delta against a keyframe is exact
 * whatever the values: decoding adds the same 64-bit differences back.
 * Invariants: encoder functions allocate nothing, take no locks and do not
 * touch errno (safe in the shim's writer thread and a forked child);
 * lw_cc_materialize allocates (reader side) and checks every estimate.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "lwd_priv.h"

/* Nearest integer, saturating; NaN reads as 0 (the shim never produces one,
 * but an encoder must not invoke undefined behaviour on any input). */
static int64_t lw_cc_round(double x)
{
	if (!(x == x))
		return 0;
	if (x >= 9.2e18)
		return INT64_MAX;
	if (x <= -9.2e18)
		return INT64_MIN;
	return (int64_t)(x >= 0 ? x + 0.5 : x - 0.5);
}

void lw_cc_wire(const lw_counter_info *c, uint64_t v[LWD_CC_FIELDS])
{
	int64_t ao = lw_cc_round((c->alloc_objects_est - (double)c->alloc_samples) * LWD_CC_OBJ_SCALE);
	int64_t ab = lw_cc_round(c->alloc_bytes_est - (double)c->alloc_sample_bytes);
	int64_t fo = lw_cc_round((c->free_objects_est - (double)c->free_samples) * LWD_CC_OBJ_SCALE);
	int64_t fb = lw_cc_round(c->free_bytes_est - (double)c->free_sample_bytes);

	v[0] = c->alloc_samples;
	v[1] = c->alloc_sample_bytes;
	v[2] = c->alloc_samples - c->free_samples;
	v[3] = c->alloc_sample_bytes - c->free_sample_bytes;
	v[4] = (uint64_t)ao;
	v[5] = (uint64_t)ab;
	v[6] = (uint64_t)ao - (uint64_t)fo;
	v[7] = (uint64_t)ab - (uint64_t)fb;
}

/* Encodes one record into r (LWD_CC_MAX_RECORD bytes); returns its size. */
static size_t lw_cc_encode(uint8_t *r, uint32_t stack, uint32_t next, const uint64_t *wire,
			   const uint64_t *base)
{
	size_t n = lw_varint_put(r, (uint64_t)(stack - next));
	size_t mask_at = n++;
	uint8_t mask = 0;

	for (int i = 0; i < LWD_CC_FIELDS; i++) {
		uint64_t d = wire[i] - (base ? base[i] : 0);

		if (d == 0)
			continue;
		mask |= (uint8_t)(1u << i);
		n += lw_varint_put(r + n, lw_zigzag(d));
	}
	r[mask_at] = mask;
	return n;
}

size_t lw_cc_record_size(uint32_t stack, uint32_t next, const uint64_t *wire, const uint64_t *base)
{
	size_t n = lw_varint_len((uint64_t)(stack - next)) + 1;

	for (int i = 0; i < LWD_CC_FIELDS; i++) {
		uint64_t d = wire[i] - (base ? base[i] : 0);

		if (d)
			n += lw_varint_len(lw_zigzag(d));
	}
	return n;
}

int lw_writer_put_ccounter(lw_writer *w, uint32_t stack, const uint64_t *wire,
			   const uint64_t *base, uint32_t *next)
{
	uint8_t r[LWD_CC_MAX_RECORD];

	if (w->err)
		return w->err;
	if (stack < *next || stack == UINT32_MAX || !wire) {
		if (!w->err)
			w->err = -EINVAL;
		return w->err;
	}
	size_t n = lw_cc_encode(r, stack, *next, wire, base);
	*next = stack + 1;
	return lw_writer_put(w, r, n);
}

/* ---- decoding (reader) ---------------------------------------------------- */

static int lw_cc_counter(lw_counter *k, uint32_t stack, const uint64_t *v, char *err,
			 size_t errlen)
{
	static const char *const names[4] = {
		"alloc_objects_est", "alloc_bytes_est", "free_objects_est", "free_bytes_est"
	};
	double est[4];

	k->stack = stack;
	k->alloc_samples = v[0];
	k->alloc_sample_bytes = v[1];
	k->free_samples = v[0] - v[2];
	k->free_sample_bytes = v[1] - v[3];
	est[0] = (double)k->alloc_samples + (double)(int64_t)v[4] / LWD_CC_OBJ_SCALE;
	est[1] = (double)k->alloc_sample_bytes + (double)(int64_t)v[5];
	est[2] = (double)k->free_samples + (double)(int64_t)(v[4] - v[6]) / LWD_CC_OBJ_SCALE;
	est[3] = (double)k->free_sample_bytes + (double)(int64_t)(v[5] - v[7]);
	for (int i = 0; i < 4; i++)
		if (!isfinite(est[i]) || est[i] < 0) {
			if (err && errlen)
				snprintf(err, errlen, "CCOUNTERS: stack %u: %s %g is not a finite number >= 0",
					 stack, names[i], est[i]);
			return LWD_EFORMAT;
		}
	k->alloc_objects_est = est[0];
	k->alloc_bytes_est = est[1];
	k->free_objects_est = est[2];
	k->free_bytes_est = est[3];
	return 0;
}

int lw_cc_materialize(lw_file *f, const lw_file_priv *key, char *err, size_t errlen)
{
	const lw_file_priv *pv = f->priv_;
	uint32_t nk = key ? key->n_cc : 0, i = 0, j = 0;
	size_t n = 0;
	uint64_t v[LWD_CC_FIELDS];
	lw_counter *out;
	int rc = 0;

	out = calloc((size_t)pv->n_cc + nk + 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	/* Merge by stack id (both lists are strictly increasing): a stack with
	 * a record here is the keyframe's values plus the differences; a stack
	 * only the keyframe has keeps the keyframe's values. */
	while (rc == 0 && (i < pv->n_cc || j < nk)) {
		int here = i < pv->n_cc, there = j < nk;
		uint32_t a = here ? pv->cc_stack[i] : 0, b = there ? key->cc_stack[j] : 0, stack;

		if (here && (!there || a <= b)) {
			const uint64_t *d = pv->cc_wire + (size_t)i * LWD_CC_FIELDS;
			const uint64_t *bv = there && a == b ? key->cc_wire + (size_t)j * LWD_CC_FIELDS : NULL;

			for (int x = 0; x < LWD_CC_FIELDS; x++)
				v[x] = (bv ? bv[x] : 0) + d[x];
			j += bv != NULL;
			i++;
			stack = a;
		} else {
			memcpy(v, key->cc_wire + (size_t)j * LWD_CC_FIELDS, sizeof(v));
			j++;
			stack = b;
		}
		rc = lw_cc_counter(&out[n++], stack, v, err, errlen);
	}
	if (rc) {
		free(out);
		return rc;
	}
	free(f->counters);
	f->counters = out;
	f->n_counters = n;
	return 0;
}
