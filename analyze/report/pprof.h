/* pprof.h — profile export formats: a small protobuf encoder, the pprof
 * profile.proto writer (gzip'd), folded stacks for flame graphs, and the
 * legacy gperftools "heap profile:" text format.
 *
 * Role: turns one lw_profile (model.h) into bytes. Pure library code: no
 * printing, no global state; every function returns 0 or a negative errno.
 *
 * Invariants of the pprof output (profile.proto, package perftools.profiles):
 *   - string_table[0] is "", every string is stored once;
 *   - sample_type = alloc_objects/count, alloc_space/bytes,
 *     inuse_objects/count, inuse_space/bytes (in that order, which is the
 *     order of every Sample.value); default_sample_type = inuse_space;
 *   - one Sample per site, location ids leaf (allocation call site) first;
 *   - one Location per raw pc (or per inline chain when no pc is known),
 *     whose Line entries hold the inline chain innermost first;
 *   - Function ids are unique per (name, file, module); Mapping ids are 1-based
 *     indices of lw_profile.mappings.
 * Not thread-safe per encoder; separate encoders are independent.
 */
#ifndef LW_PPROF_H
#define LW_PPROF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

/* ---- protobuf encoder --------------------------------------------------- */
/* A growable buffer. Errors are sticky: after an allocation failure every
 * call is a no-op and `err` is -ENOMEM. */
typedef struct lw_pb {
	uint8_t *buf;
	size_t len, cap;
	int err;
} lw_pb;

enum { LW_PB_VARINT = 0, LW_PB_I64 = 1, LW_PB_LEN = 2, LW_PB_I32 = 5 };

void lw_pb_init(lw_pb *pb);
void lw_pb_free(lw_pb *pb);
/* Raw varint and key (field << 3 | wire type). */
void lw_pb_varint(lw_pb *pb, uint64_t v);
void lw_pb_key(lw_pb *pb, uint32_t field, int wire_type);
/* Scalar fields. Zero values are omitted (proto3 defaults). int64 values
 * use two's complement varints (negative numbers take 10 bytes). */
void lw_pb_uint64(lw_pb *pb, uint32_t field, uint64_t v);
void lw_pb_int64(lw_pb *pb, uint32_t field, int64_t v);
void lw_pb_bool(lw_pb *pb, uint32_t field, int v);
/* Length-delimited fields; always written, even when empty (repeated
 * string elements must keep their position). */
void lw_pb_bytes(lw_pb *pb, uint32_t field, const void *data, size_t len);
void lw_pb_string(lw_pb *pb, uint32_t field, const char *s);
/* Packed repeated varints; nothing is written when n == 0. */
void lw_pb_packed_uint64(lw_pb *pb, uint32_t field, const uint64_t *v, size_t n);
void lw_pb_packed_int64(lw_pb *pb, uint32_t field, const int64_t *v, size_t n);
/* Embedded message: begin returns a mark, end patches the length (moving
 * the body when its length needs more than one varint byte). Nestable. */
size_t lw_pb_msg_begin(lw_pb *pb, uint32_t field);
void lw_pb_msg_end(lw_pb *pb, size_t mark);

/* ---- pprof -------------------------------------------------------------- */
/* Encodes `p` as an uncompressed profile.proto message into pb. */
int lw_pprof_encode(const lw_profile *p, lw_pb *pb);
/* gzip (zlib deflate with a gzip wrapper) of len bytes; *out is malloc'd. */
int lw_pprof_gzip(const uint8_t *data, size_t len, uint8_t **out, size_t *out_len);
/* lw_pprof_encode + lw_pprof_gzip, written to `out`. */
int lw_pprof_write(const lw_profile *p, FILE *out);

/* ---- folded stacks ------------------------------------------------------ */
/* One line per site with a non-zero rounded value: "outer;...;leaf value",
 * frames outermost first (inlined frames included as their own entries),
 * value = the sample type rounded to an integer. ';' and newlines inside
 * function names are replaced so every line parses. */
int lw_export_collapsed(const lw_profile *p, enum lw_sample_type t, FILE *out);

/* ---- legacy gperftools heap profile ------------------------------------- */
/* "heap profile: N: B [N: B] @ heap_v2/RATE", then one line per site
 * "n: b [n: b] @ 0x... 0x...", then "MAPPED_LIBRARIES:" and /proc/maps-like
 * lines built from the mappings. Counts are *sampled* counts, recovered from
 * the unbiased estimates by inverting the Poisson weight at the site's mean
 * size, so a reader that unsamples heap_v2 (pprof) gets the estimates back.
 * With a sample rate of 1 the header says "@ heapprofile" and the figures
 * are exact. */
int lw_export_heap_text(const lw_profile *p, FILE *out);

/* Frames per pc of a site: splits p->sites[i].frames into inline chains
 * (a chain ends at a frame with inlined == 0) and returns how many chains
 * there are; chain_start (may be NULL, else n_frames + 1 entries) gets
 * each chain's first frame index, then n_frames as a sentinel. */
size_t lw_pprof_chains(const lw_site *s, size_t *chain_start);

#endif
