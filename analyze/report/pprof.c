/* pprof.c — export formats of one profile: protobuf encoder, pprof
 * profile.proto (gzip'd), folded stacks, legacy gperftools heap text.
 *
 * Role: pure transformation of an lw_profile (model.h) into bytes; see
 * pprof.h for the invariants of each format. The protobuf encoder is ours,
 * written from the field numbers of perftools' public profile.proto:
 *   Profile: 1 sample_type, 2 sample, 3 mapping, 4 location, 5 function,
 *            6 string_table, 9 time_nanos, 10 duration_nanos,
 *            11 period_type, 12 period, 13 comment, 14 default_sample_type
 *   ValueType: 1 type, 2 unit           Sample: 1 location_id, 2 value
 *   Mapping: 1 id, 2 memory_start, 3 memory_limit, 4 file_offset,
 *            5 filename, 6 build_id, 7..10 has_functions/filenames/
 *            line_numbers/inline_frames
 *   Location: 1 id, 2 mapping_id, 3 address, 4 line
 *   Line: 1 function_id, 2 line         Function: 1 id, 2 name,
 *            3 system_name, 4 filename, 5 start_line
 * No locks, no globals; not a hot path (one export per command run).
 */
#include "pprof.h"

#include "lwd_format.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "hashmap.h"
#include "lw_varint.h"
#include "report.h"
#include "strbuf.h"

/* ---- protobuf encoder --------------------------------------------------- */

void lw_pb_init(lw_pb *pb)
{
	memset(pb, 0, sizeof(*pb));
}

void lw_pb_free(lw_pb *pb)
{
	free(pb->buf);
	memset(pb, 0, sizeof(*pb));
}

static int pb_reserve(lw_pb *pb, size_t more)
{
	if (pb->err)
		return -1;
	if (pb->len + more <= pb->cap)
		return 0;
	size_t cap = pb->cap ? pb->cap : 256;
	while (cap < pb->len + more) {
		if (cap > SIZE_MAX / 2) {
			pb->err = -ENOMEM;
			return -1;
		}
		cap *= 2;
	}
	uint8_t *nb = realloc(pb->buf, cap);
	if (!nb) {
		pb->err = -ENOMEM;
		return -1;
	}
	pb->buf = nb;
	pb->cap = cap;
	return 0;
}

void lw_pb_varint(lw_pb *pb, uint64_t v)
{
	if (pb_reserve(pb, 10))
		return;
	pb->len += lw_varint_put(pb->buf + pb->len, v);
}

void lw_pb_key(lw_pb *pb, uint32_t field, int wire_type)
{
	lw_pb_varint(pb, ((uint64_t)field << 3) | (uint64_t)(wire_type & 7));
}

void lw_pb_uint64(lw_pb *pb, uint32_t field, uint64_t v)
{
	if (!v)
		return;
	lw_pb_key(pb, field, LW_PB_VARINT);
	lw_pb_varint(pb, v);
}

void lw_pb_int64(lw_pb *pb, uint32_t field, int64_t v)
{
	lw_pb_uint64(pb, field, (uint64_t)v);
}

void lw_pb_bool(lw_pb *pb, uint32_t field, int v)
{
	lw_pb_uint64(pb, field, v ? 1 : 0);
}

void lw_pb_bytes(lw_pb *pb, uint32_t field, const void *data, size_t len)
{
	lw_pb_key(pb, field, LW_PB_LEN);
	lw_pb_varint(pb, len);
	if (!len || pb_reserve(pb, len))
		return;
	memcpy(pb->buf + pb->len, data, len);
	pb->len += len;
}

void lw_pb_string(lw_pb *pb, uint32_t field, const char *s)
{
	lw_pb_bytes(pb, field, s ? s : "", s ? strlen(s) : 0);
}

void lw_pb_packed_uint64(lw_pb *pb, uint32_t field, const uint64_t *v, size_t n)
{
	if (!n)
		return;
	size_t body = 0;
	for (size_t i = 0; i < n; i++)
		body += lw_varint_len(v[i]);
	lw_pb_key(pb, field, LW_PB_LEN);
	lw_pb_varint(pb, body);
	if (pb_reserve(pb, body))
		return;
	for (size_t i = 0; i < n; i++)
		pb->len += lw_varint_put(pb->buf + pb->len, v[i]);
}

void lw_pb_packed_int64(lw_pb *pb, uint32_t field, const int64_t *v, size_t n)
{
	if (!n)
		return;
	size_t body = 0;
	for (size_t i = 0; i < n; i++)
		body += lw_varint_len((uint64_t)v[i]);
	lw_pb_key(pb, field, LW_PB_LEN);
	lw_pb_varint(pb, body);
	if (pb_reserve(pb, body))
		return;
	for (size_t i = 0; i < n; i++)
		pb->len += lw_varint_put(pb->buf + pb->len, (uint64_t)v[i]);
}

size_t lw_pb_msg_begin(lw_pb *pb, uint32_t field)
{
	lw_pb_key(pb, field, LW_PB_LEN);
	if (pb_reserve(pb, 1))
		return 0;
	pb->buf[pb->len++] = 0;         /* one-byte length, patched by msg_end */
	return pb->len;                 /* body starts here */
}

void lw_pb_msg_end(lw_pb *pb, size_t mark)
{
	if (pb->err || mark == 0 || mark > pb->len)
		return;
	size_t body = pb->len - mark;
	size_t k = lw_varint_len(body);
	if (k > 1) {
		if (pb_reserve(pb, k - 1))
			return;
		memmove(pb->buf + mark + k - 1, pb->buf + mark, body);
		pb->len += k - 1;
	}
	lw_varint_put(pb->buf + mark - 1, body);
}

/* The value of key in m, set to val_if_new when the key is new (*added). */
static int map_get_or_add(lw_map *m, const char *key, uint64_t val_if_new, uint64_t *val,
			  int *added, const char **stored)
{
	int is_new;
	uint64_t *v = lw_map_put_str(m, key, &is_new, stored);
	if (!v)
		return -ENOMEM;
	if (is_new)
		*v = val_if_new;
	*val = *v;
	if (added)
		*added = is_new;
	return 0;
}

/* ---- helpers over sites -------------------------------------------------- */

size_t lw_pprof_chains(const lw_site *s, size_t *chain_start)
{
	size_t g = 0;
	int open = 0;
	for (size_t f = 0; f < s->n_frames; f++) {
		if (!open) {
			if (chain_start)
				chain_start[g] = f;
			g++;
			open = 1;
		}
		if (!s->frames[f].inlined)
			open = 0;
	}
	if (chain_start)
		chain_start[g] = s->n_frames;
	return g;
}

/* The raw pc for chain c of site i, or 0 when the raw stack cannot be lined
 * up with the chains (the raw stack may carry extra allocator frames on top,
 * which the model removed from the site: align from the outermost end). */
static uint64_t chain_pc(const lw_profile *p, size_t i, size_t c, size_t g)
{
	if (!p->raw_depth || !p->raw_pcs || !p->raw_pcs[i])
		return 0;
	size_t d = p->raw_depth[i];
	if (d < g)
		return 0;
	return p->raw_pcs[i][d - g + c];
}

static int64_t round_value(double v)
{
	if (!isfinite(v) || v <= 0)
		return 0;
	if (v >= 9.2e18)
		return INT64_MAX;
	return (int64_t)llround(v);
}

/* ---- pprof -------------------------------------------------------------- */

typedef struct pp_state {
	lw_pb *pb;
	lw_map strings;         /* string -> index */
	size_t n_strings;
	const char **strv;      /* index -> string (points into smap keys) */
	size_t strv_cap;
	lw_map functions;       /* "name\x1ffile\x1fmodule" -> id */
	lw_map locations;       /* key -> id */
	size_t *map_order;      /* mapping indices sorted by start */
	lw_pb locs, funcs;      /* encoded Location / Function messages */
} pp_state;

static int pp_str(pp_state *st, const char *s, int64_t *idx)
{
	uint64_t v;
	int added;
	if (!s)
		s = "";
	const char *stored;
	int rc = map_get_or_add(&st->strings, s, st->n_strings, &v, &added, &stored);
	if (rc)
		return rc;
	if (added) {
		if (st->n_strings == st->strv_cap) {
			size_t cap = st->strv_cap ? st->strv_cap * 2 : 256;
			const char **nv = realloc(st->strv, cap * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			st->strv = nv;
			st->strv_cap = cap;
		}
		st->strv[st->n_strings++] = stored;   /* owned by st->strings */
	}
	*idx = (int64_t)v;
	return 0;
}

static int cmp_map_start(const void *a, const void *b, void *arg)
{
	const lw_profile *p = arg;
	const lw_mapping *ma = &p->mappings[*(const size_t *)a];
	const lw_mapping *mb = &p->mappings[*(const size_t *)b];
	return ma->start < mb->start ? -1 : ma->start > mb->start;
}

static uint64_t mapping_of(const pp_state *st, const lw_profile *p, uint64_t pc)
{
	size_t lo = 0, hi = p->n_mappings;
	while (lo < hi) {               /* last mapping with start <= pc */
		size_t mid = lo + (hi - lo) / 2;
		if (p->mappings[st->map_order[mid]].start <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return 0;
	size_t m = st->map_order[lo - 1];
	return pc < p->mappings[m].end ? m + 1 : 0;
}

static int pp_function(pp_state *st, const lw_sym_frame *f, uint64_t *id)
{
	lw_strbuf k = {0};               /* "??" of different modules stay apart */
	lw_strbuf_str(&k, f->function);
	lw_strbuf_char(&k, '\x1f');
	lw_strbuf_str(&k, f->file);
	lw_strbuf_char(&k, '\x1f');
	lw_strbuf_str(&k, f->module);
	if (k.err)
		return k.err;
	int added;
	int rc = map_get_or_add(&st->functions, lw_strbuf_cstr(&k), st->functions.n + 1, id, &added, NULL);
	lw_strbuf_free(&k);
	if (rc || !added)
		return rc;
	int64_t name, file;
	if ((rc = pp_str(st, f->function, &name)) || (rc = pp_str(st, f->file, &file)))
		return rc;
	size_t m = lw_pb_msg_begin(&st->funcs, 5);
	lw_pb_uint64(&st->funcs, 1, *id);
	lw_pb_int64(&st->funcs, 2, name);
	lw_pb_int64(&st->funcs, 3, name);      /* demangled only: same as name */
	lw_pb_int64(&st->funcs, 4, file);
	lw_pb_msg_end(&st->funcs, m);
	return st->funcs.err;
}

static int pp_location(pp_state *st, const lw_profile *p, const lw_site *s,
		       size_t first, size_t end, uint64_t pc, uint64_t *id)
{
	lw_strbuf k = {0};
	if (pc) {
		lw_strbuf_char(&k, '@');
		lw_strbuf_fmt(&k, "%" PRIx64, pc);
	} else {
		for (size_t f = first; f < end; f++) {
			const lw_sym_frame *fr = &s->frames[f];
			lw_strbuf_str(&k, fr->function);
			lw_strbuf_char(&k, '\x1f');
			lw_strbuf_str(&k, fr->file);
			lw_strbuf_char(&k, '\x1f');
			lw_strbuf_fmt(&k, "%d", fr->line > 0 ? fr->line : 0);
			lw_strbuf_char(&k, '\x1f');
			lw_strbuf_str(&k, fr->module);
			lw_strbuf_char(&k, '\x1e');
		}
	}
	if (k.err)
		return k.err;
	int added;
	int rc = map_get_or_add(&st->locations, lw_strbuf_cstr(&k), st->locations.n + 1, id, &added, NULL);
	lw_strbuf_free(&k);
	if (rc || !added)
		return rc;
	uint64_t fids[512];                 /* frames of one inline chain */
	size_t nf = 0;
	for (size_t f = first; f < end && nf < sizeof(fids) / sizeof(fids[0]); f++)
		if ((rc = pp_function(st, &s->frames[f], &fids[nf++])))
			return rc;
	size_t m = lw_pb_msg_begin(&st->locs, 4);
	lw_pb_uint64(&st->locs, 1, *id);
	if (pc) {
		lw_pb_uint64(&st->locs, 2, mapping_of(st, p, pc));
		lw_pb_uint64(&st->locs, 3, pc);
	}
	for (size_t f = first, j = 0; f < end && j < nf; f++, j++) {
		size_t lm = lw_pb_msg_begin(&st->locs, 4);
		lw_pb_uint64(&st->locs, 1, fids[j]);
		lw_pb_int64(&st->locs, 2, s->frames[f].line > 0 ? s->frames[f].line : 0);
		lw_pb_msg_end(&st->locs, lm);
	}
	lw_pb_msg_end(&st->locs, m);
	return st->locs.err;
}

static void pp_value_type(lw_pb *pb, uint32_t field, int64_t type, int64_t unit)
{
	size_t m = lw_pb_msg_begin(pb, field);
	lw_pb_int64(pb, 1, type);
	lw_pb_int64(pb, 2, unit);
	lw_pb_msg_end(pb, m);
}

/* The string indices the Profile message itself names. */
typedef struct pp_names {
	int64_t empty, alloc_objects, count, alloc_space, bytes, inuse_objects, inuse_space,
		space, comment;
	int64_t *m_file, *m_bid;    /* per mapping: path and build-id */
} pp_names;

/* Interns the fixed strings, "" first: string_table[0] must be "". */
static int pp_names_fixed(pp_state *st, pp_names *nm)
{
	int rc;
	if ((rc = pp_str(st, "", &nm->empty)) || (rc = pp_str(st, "alloc_objects", &nm->alloc_objects)) ||
	    (rc = pp_str(st, "count", &nm->count)) || (rc = pp_str(st, "alloc_space", &nm->alloc_space)) ||
	    (rc = pp_str(st, "bytes", &nm->bytes)) || (rc = pp_str(st, "inuse_objects", &nm->inuse_objects)) ||
	    (rc = pp_str(st, "inuse_space", &nm->inuse_space)) || (rc = pp_str(st, "space", &nm->space)))
		return rc;
	return 0;
}

/* Interns the mappings' strings and the comment. */
static int pp_names_intern(pp_state *st, const lw_profile *p, pp_names *nm)
{
	int rc = 0;
	nm->m_file = calloc(p->n_mappings ? p->n_mappings : 1, sizeof(*nm->m_file));
	nm->m_bid = calloc(p->n_mappings ? p->n_mappings : 1, sizeof(*nm->m_bid));
	if (!nm->m_file || !nm->m_bid)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_mappings && !rc; i++) {
		rc = pp_str(st, p->mappings[i].path, &nm->m_file[i]);
		if (!rc)
			rc = pp_str(st, p->mappings[i].build_id_hex, &nm->m_bid[i]);
	}
	/* what the file is: a dump, a periodic or requested snapshot, or the
	 * exit snapshot, written after the program's teardown */
	char comment[512], status[48] = "";
	const lw_snapshot *s = &p->snap;
	const char *what = s->kind == LWD_KIND_DUMP ? "dump"
			   : lw_snapshot_is_exit(s) ? "exit snapshot"
			   : s->reason == LWD_REASON_INTERVAL ? "periodic snapshot" : "requested snapshot";
	if (lw_snapshot_is_exit(s))
		lw_report_exit_phrase(s->exit_status, status, sizeof(status));
	snprintf(comment, sizeof(comment), "leakwatch: %s %" PRIu64 " of pid %u (%s)%s%s", what,
		 s->seq, s->pid, s->name ? s->name : "?", status[0] ? ", after teardown, " : "",
		 status);
	return rc ? rc : pp_str(st, comment, &nm->comment);
}

/* Mapping indices sorted by start address, for pc -> mapping. */
static int pp_map_order(pp_state *st, const lw_profile *p)
{
	if (!p->n_mappings)
		return 0;
	st->map_order = malloc(p->n_mappings * sizeof(*st->map_order));
	if (!st->map_order)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_mappings; i++)
		st->map_order[i] = i;
	qsort_r(st->map_order, p->n_mappings, sizeof(*st->map_order), cmp_map_start,
		(void *)(uintptr_t)p);
	return 0;
}

/* One Sample per site with a non-zero rounded value; their Locations and
 * Functions go to st->locs and st->funcs. */
static int pp_samples(pp_state *st, const lw_profile *p, lw_pb *samples)
{
	size_t max_frames = 0;
	for (size_t i = 0; i < p->n; i++)
		if (p->sites[i].n_frames > max_frames)
			max_frames = p->sites[i].n_frames;
	size_t *starts = malloc((max_frames + 1) * sizeof(*starts));
	uint64_t *loc_ids = malloc((max_frames + 1) * sizeof(*loc_ids));
	int rc = starts && loc_ids ? 0 : -ENOMEM;
	for (size_t i = 0; i < p->n && rc == 0; i++) {
		const lw_site *s = &p->sites[i];
		const lw_values *v = &p->values[i];
		int64_t vals[4] = {
			round_value(v->alloc_objects), round_value(v->alloc_bytes),
			round_value(v->inuse_objects), round_value(v->inuse_bytes),
		};
		if (!vals[0] && !vals[1] && !vals[2] && !vals[3])
			continue;
		size_t g = lw_pprof_chains(s, starts);
		for (size_t c = 0; c < g && rc == 0; c++)
			rc = pp_location(st, p, s, starts[c], starts[c + 1], chain_pc(p, i, c, g),
					 &loc_ids[c]);
		size_t m = lw_pb_msg_begin(samples, 2);
		lw_pb_packed_uint64(samples, 1, loc_ids, g);
		lw_pb_packed_int64(samples, 2, vals, 4);
		lw_pb_msg_end(samples, m);
	}
	free(starts);
	free(loc_ids);
	return rc;
}

static void pp_append(lw_pb *pb, const lw_pb *part)
{
	if (!part->err && !pb_reserve(pb, part->len)) {
		memcpy(pb->buf + pb->len, part->buf, part->len);
		pb->len += part->len;
	}
}

/* The Profile message, fields in field-number order. */
static void pp_profile(const pp_state *st, const lw_profile *p, const pp_names *nm,
		       const lw_pb *samples, lw_pb *pb)
{
	pp_value_type(pb, 1, nm->alloc_objects, nm->count);
	pp_value_type(pb, 1, nm->alloc_space, nm->bytes);
	pp_value_type(pb, 1, nm->inuse_objects, nm->count);
	pp_value_type(pb, 1, nm->inuse_space, nm->bytes);
	pp_append(pb, samples);
	for (size_t i = 0; i < p->n_mappings; i++) {
		const lw_mapping *mp = &p->mappings[i];
		size_t m = lw_pb_msg_begin(pb, 3);
		lw_pb_uint64(pb, 1, i + 1);
		lw_pb_uint64(pb, 2, mp->start);
		lw_pb_uint64(pb, 3, mp->end);
		lw_pb_uint64(pb, 4, mp->file_offset);
		lw_pb_int64(pb, 5, nm->m_file[i]);
		lw_pb_int64(pb, 6, nm->m_bid[i]);
		lw_pb_bool(pb, 7, 1);
		lw_pb_bool(pb, 8, 1);
		lw_pb_bool(pb, 9, 1);
		lw_pb_bool(pb, 10, 1);
		lw_pb_msg_end(pb, m);
	}
	pp_append(pb, &st->locs);
	pp_append(pb, &st->funcs);
	for (size_t i = 0; i < st->n_strings; i++)
		lw_pb_string(pb, 6, st->strv[i]);
	lw_pb_int64(pb, 9, (int64_t)p->snap.wall_ns);
	if (isfinite(p->snap.t_s) && p->snap.t_s > 0)
		lw_pb_int64(pb, 10, (int64_t)(p->snap.t_s * 1e9));
	pp_value_type(pb, 11, nm->space, nm->bytes);
	lw_pb_int64(pb, 12, (int64_t)p->snap.sample_rate);
	lw_pb_key(pb, 13, LW_PB_VARINT);     /* repeated int64 comment, unpacked */
	lw_pb_varint(pb, (uint64_t)nm->comment);
	lw_pb_int64(pb, 14, nm->inuse_space);
}

int lw_pprof_encode(const lw_profile *p, lw_pb *pb)
{
	pp_state st;
	memset(&st, 0, sizeof(st));
	lw_map_init(&st.strings, 1);
	lw_map_init(&st.functions, 1);
	lw_map_init(&st.locations, 1);
	st.pb = pb;
	lw_pb_init(&st.locs);
	lw_pb_init(&st.funcs);
	lw_pb samples;
	lw_pb_init(&samples);
	pp_names nm;
	memset(&nm, 0, sizeof(nm));
	int rc = pp_names_fixed(&st, &nm);
	if (rc == 0)
		rc = pp_map_order(&st, p);
	if (rc == 0)
		rc = pp_samples(&st, p, &samples);
	/* mapping strings are interned before the string table is written */
	if (rc == 0)
		rc = pp_names_intern(&st, p, &nm);
	if (rc == 0) {
		pp_profile(&st, p, &nm, &samples, pb);
		rc = pb->err ? pb->err : samples.err ? samples.err : st.locs.err ? st.locs.err
		     : st.funcs.err;
	}
	free(nm.m_file);
	free(nm.m_bid);
	free(st.map_order);
	free(st.strv);
	lw_map_free(&st.strings);
	lw_map_free(&st.functions);
	lw_map_free(&st.locations);
	lw_pb_free(&st.locs);
	lw_pb_free(&st.funcs);
	lw_pb_free(&samples);
	return rc;
}

int lw_pprof_gzip(const uint8_t *data, size_t len, uint8_t **out, size_t *out_len)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	*out = NULL;
	*out_len = 0;
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	size_t cap = deflateBound(&zs, (uLong)len) + 64;
	uint8_t *buf = malloc(cap);
	if (!buf) {
		deflateEnd(&zs);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)(uintptr_t)data;
	zs.next_out = buf;
	int rc = Z_OK;
	size_t left = len;
	while (rc != Z_STREAM_END) {
		uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
		zs.avail_in = chunk;
		left -= chunk;
		if (zs.total_out >= cap) {
			rc = Z_BUF_ERROR;
			break;
		}
		zs.avail_out = (uInt)((cap - zs.total_out) > (1u << 30) ? (1u << 30)
									 : (cap - zs.total_out));
		rc = deflate(&zs, left ? Z_NO_FLUSH : Z_FINISH);
		if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
			break;
		left += zs.avail_in;
		if (rc == Z_BUF_ERROR && zs.avail_out == 0) {
			size_t ncap = cap * 2;
			uint8_t *nb = realloc(buf, ncap);
			if (!nb)
				break;
			buf = nb;
			cap = ncap;
			zs.next_out = buf + zs.total_out;
			rc = Z_OK;
		}
	}
	if (rc != Z_STREAM_END) {
		deflateEnd(&zs);
		free(buf);
		return -EIO;
	}
	*out_len = zs.total_out;
	deflateEnd(&zs);
	*out = buf;
	return 0;
}

int lw_pprof_write(const lw_profile *p, FILE *out)
{
	lw_pb pb;
	lw_pb_init(&pb);
	int rc = lw_pprof_encode(p, &pb);
	uint8_t *gz = NULL;
	size_t gz_len = 0;
	if (!rc)
		rc = lw_pprof_gzip(pb.buf, pb.len, &gz, &gz_len);
	if (!rc && fwrite(gz, 1, gz_len, out) != gz_len)
		rc = -EIO;
	free(gz);
	lw_pb_free(&pb);
	return rc;
}

/* ---- folded stacks ------------------------------------------------------ */

static int put_folded_name(const char *s, FILE *out)
{
	for (; *s; s++) {
		char c = *s;
		if (c == ';')
			c = ':';
		else if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
		if (putc(c, out) == EOF)
			return -EIO;
	}
	return 0;
}

int lw_export_collapsed(const lw_profile *p, enum lw_sample_type t, FILE *out)
{
	for (size_t i = 0; i < p->n; i++) {
		int64_t v = round_value(lw_values_get(&p->values[i], t));
		const lw_site *s = &p->sites[i];
		if (v <= 0 || !s->n_frames)
			continue;
		for (size_t f = s->n_frames; f-- > 0;) {
			if (put_folded_name(s->frames[f].function, out))
				return -EIO;
			if (f && putc(';', out) == EOF)
				return -EIO;
		}
		if (fprintf(out, " %" PRId64 "\n", v) < 0)
			return -EIO;
	}
	return ferror(out) ? -EIO : 0;
}

/* ---- legacy heap text --------------------------------------------------- */

/* Sampled count/bytes from unbiased estimates (objects, bytes) at rate R. */
static void unsample(double objects, double bytes, uint64_t rate, int64_t *n, int64_t *b)
{
	if (rate > 1 && objects > 0 && bytes > 0) {
		double frac = -expm1(-(bytes / objects) / (double)rate);
		objects *= frac;
		bytes *= frac;
	}
	*n = round_value(objects);
	*b = round_value(bytes);
}

int lw_export_heap_text(const lw_profile *p, FILE *out)
{
	uint64_t rate = p->snap.sample_rate ? p->snap.sample_rate : 1;
	size_t n = p->n;
	int64_t (*rows)[4] = calloc(n ? n : 1, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	int64_t tot[4] = {0, 0, 0, 0};
	for (size_t i = 0; i < n; i++) {
		const lw_values *v = &p->values[i];
		unsample(v->inuse_objects, v->inuse_bytes, rate, &rows[i][0], &rows[i][1]);
		unsample(v->alloc_objects, v->alloc_bytes, rate, &rows[i][2], &rows[i][3]);
		int has_pcs = p->raw_depth && p->raw_pcs && p->raw_pcs[i] && p->raw_depth[i];
		if (!has_pcs)
			rows[i][0] = rows[i][1] = rows[i][2] = rows[i][3] = 0;
		for (int k = 0; k < 4; k++)
			tot[k] += rows[i][k];
	}
	int rc = 0;
	if (rate > 1)
		fprintf(out, "heap profile: %6" PRId64 ": %8" PRId64 " [%6" PRId64 ": %8" PRId64
			"] @ heap_v2/%" PRIu64 "\n", tot[0], tot[1], tot[2], tot[3], rate);
	else
		fprintf(out, "heap profile: %6" PRId64 ": %8" PRId64 " [%6" PRId64 ": %8" PRId64
			"] @ heapprofile\n", tot[0], tot[1], tot[2], tot[3]);
	for (size_t i = 0; i < n; i++) {
		if (!rows[i][0] && !rows[i][1] && !rows[i][2] && !rows[i][3])
			continue;
		fprintf(out, "%6" PRId64 ": %8" PRId64 " [%6" PRId64 ": %8" PRId64 "] @",
			rows[i][0], rows[i][1], rows[i][2], rows[i][3]);
		for (uint32_t k = 0; k < p->raw_depth[i]; k++)
			fprintf(out, " 0x%016" PRIx64, p->raw_pcs[i][k]);
		putc('\n', out);
	}
	fputs("\nMAPPED_LIBRARIES:\n", out);
	for (size_t i = 0; i < p->n_mappings; i++) {
		const lw_mapping *m = &p->mappings[i];
		fprintf(out, "%012" PRIx64 "-%012" PRIx64 " r-xp %08" PRIx64 " 00:00 0          %s\n",
			m->start, m->end, m->file_offset, m->path ? m->path : "");
	}
	if (ferror(out))
		rc = -EIO;
	free(rows);
	return rc;
}
