/* lwd_writer.c — streaming .lwd writer, record encoders, string table.
 *
 * Role: encodes include/lwd_format.h. The only code besides the reader that
 * knows byte offsets of records.
 * Invariants:
 *   - no malloc, no stdio, no locks, no global mutable state: every function
 *     here is safe in the shim's writer thread, in a forked child and (for
 *     lw_crc32 and lw_strtab_*) in a signal handler; they clobber errno only
 *     through the lw_io functions;
 *   - w->off is the logical file offset: bytes handed to the kernel plus
 *     w->len bytes still staged in w->buf; every section header starts at a
 *     multiple of 8 because every section is padded to 8;
 *   - errors are sticky: the first failure stores -errno in w->err, and every
 *     later call returns it without touching the file;
 *   - encoding is explicit little-endian byte stores, independent of the host.
 * Hot path: lw_writer_put (memcpy into the staging buffer + CRC update).
 */
#include <errno.h>
#include <string.h>

#include "lwd.h"

/* The encoders below write each record at the offsets of
 * include/lwd_format.h; the sizes there must match the last field's end. */
_Static_assert(LWD_HEADER_SIZE == 60 + 4, "header layout");
_Static_assert(LWD_SECTION_HEADER_SIZE == 20 + 4, "section header layout");
_Static_assert(LWD_PROCESS_SIZE == 124 + 4, "PROCESS layout");
_Static_assert(LWD_MODULE_SIZE == 32 + LWD_MAX_BUILD_ID, "MODULES layout");
_Static_assert(LWD_SEGMENT_SIZE == 32 + 8, "SEGMENTS layout");
_Static_assert(LWD_STACK_HEADER_SIZE == 4 + 4, "STACKS layout");
_Static_assert(LWD_COUNTER_SIZE == 72 + 8, "COUNTERS layout");
_Static_assert(LWD_LIVE_BLOCK_SIZE == 32 + 8, "LIVE_BLOCKS layout");
_Static_assert(LWD_END_SIZE == 8 + 8, "END layout");

/* in_section states (the field is int in the public struct). */
#define LW_W_IDLE 0
#define LW_W_OPEN 1
#define LW_W_DONE (-1)

static void lw_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void lw_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void lw_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void lw_lef64(uint8_t *p, double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof(v));
	lw_le64(p, v);
}

static int lw_w_fail(lw_writer *w, int err)
{
	if (!w->err)
		w->err = err;
	return w->err;
}

/* Writes all of buf at the current position, retrying EINTR and short writes. */
static int lw_w_write_all(lw_writer *w, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = w->io->write(w->fd, p, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return lw_w_fail(w, errno > 0 ? -errno : -EIO);
		}
		if (r == 0 || (size_t)r > n)
			return lw_w_fail(w, -EIO);
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int lw_w_pwrite_all(lw_writer *w, const uint8_t *p, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t r = w->io->pwrite(w->fd, p, n, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return lw_w_fail(w, errno > 0 ? -errno : -EIO);
		}
		if (r == 0 || (size_t)r > n)
			return lw_w_fail(w, -EIO);
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int lw_w_flush(lw_writer *w)
{
	if (w->err)
		return w->err;
	if (w->len == 0)
		return 0;
	if (lw_w_write_all(w, w->buf, w->len))
		return w->err;
	w->len = 0;
	return 0;
}

/* Stages raw bytes (no CRC, no section accounting). */
static int lw_w_append(lw_writer *w, const void *data, size_t n)
{
	const uint8_t *p = data;

	while (n > 0) {
		size_t room = w->cap - w->len;

		if (room == 0) {
			if (lw_w_flush(w))
				return w->err;
			room = w->cap;
		}
		if (room > n)
			room = n;
		memcpy(w->buf + w->len, p, room);
		w->len += room;
		w->off += room;
		p += room;
		n -= room;
	}
	return 0;
}

int lw_writer_begin(lw_writer *w, const lw_io *io, int fd, void *buf, size_t cap,
		    uint32_t kind, uint64_t run_id, uint64_t seq)
{
	uint8_t h[LWD_HEADER_SIZE];

	if (!w)
		return -EINVAL;
	memset(w, 0, sizeof(*w));
	w->io = io;
	w->fd = fd;
	w->buf = buf;
	w->cap = cap;
	if (!io || !buf || cap < 4096 || fd < 0)
		return lw_w_fail(w, -EINVAL);
	if (kind != LWD_KIND_SNAPSHOT && kind != LWD_KIND_DUMP)
		return lw_w_fail(w, -EINVAL);

	memset(h, 0, sizeof(h));
	memcpy(h, LWD_MAGIC, LWD_MAGIC_LEN);
	lw_le16(h + 8, LWD_VERSION_MAJOR);
	lw_le16(h + 10, LWD_VERSION_MINOR);
	lw_le32(h + 12, LWD_HEADER_SIZE);
	lw_le32(h + 16, kind);
	lw_le32(h + 20, 0);
	lw_le64(h + 24, run_id);
	lw_le64(h + 32, seq);
	lw_le32(h + 60, lw_crc32(0, h, 60));
	return lw_w_append(w, h, sizeof(h));
}

static int lw_w_section_open(lw_writer *w, uint32_t type, uint32_t flags, uint32_t count)
{
	uint8_t h[LWD_SECTION_HEADER_SIZE];

	if (w->err)
		return w->err;
	if (w->in_section != LW_W_IDLE)
		return lw_w_fail(w, -EINVAL);
	memset(h, 0, sizeof(h));
	lw_le32(h + 0, type);
	lw_le32(h + 4, flags);
	lw_le32(h + 16, count);
	w->in_section = LW_W_OPEN;
	w->sec_off = w->off;
	w->sec_type = type;
	w->sec_flags = flags;
	w->sec_count = count;
	w->sec_len = 0;
	w->sec_crc = 0;
	return lw_w_append(w, h, sizeof(h));
}

int lw_writer_section_begin(lw_writer *w, uint32_t type, uint32_t flags, uint32_t count)
{
	if (w->err)
		return w->err;
	if (type == 0 || type == LWD_SEC_END)
		return lw_w_fail(w, -EINVAL);
	return lw_w_section_open(w, type, flags, count);
}

int lw_writer_section_set_count(lw_writer *w, uint32_t count)
{
	if (w->err)
		return w->err;
	if (w->in_section != LW_W_OPEN)
		return lw_w_fail(w, -EINVAL);
	w->sec_count = count;
	return 0;
}

int lw_writer_put(lw_writer *w, const void *data, size_t len)
{
	if (w->err)
		return w->err;
	if (w->in_section != LW_W_OPEN || (len > 0 && !data))
		return lw_w_fail(w, -EINVAL);
	w->sec_crc = lw_crc32(w->sec_crc, data, len);
	w->sec_len += len;
	return lw_w_append(w, data, len);
}

int lw_writer_put_u32(lw_writer *w, uint32_t v)
{
	uint8_t b[4];

	lw_le32(b, v);
	return lw_writer_put(w, b, sizeof(b));
}

int lw_writer_put_u64(lw_writer *w, uint64_t v)
{
	uint8_t b[8];

	lw_le64(b, v);
	return lw_writer_put(w, b, sizeof(b));
}

int lw_writer_put_f64(lw_writer *w, double v)
{
	uint8_t b[8];

	lw_lef64(b, v);
	return lw_writer_put(w, b, sizeof(b));
}

int lw_writer_section_end(lw_writer *w)
{
	static const uint8_t zeros[8];
	uint8_t h[LWD_SECTION_HEADER_SIZE];
	uint64_t kernel;   /* bytes already handed to the kernel */
	size_t n_kernel = 0;

	if (w->err)
		return w->err;
	if (w->in_section != LW_W_OPEN)
		return lw_w_fail(w, -EINVAL);
	if (lw_w_append(w, zeros, (size_t)(-w->sec_len & 7u)))
		return w->err;

	lw_le32(h + 0, w->sec_type);
	lw_le32(h + 4, w->sec_flags);
	lw_le64(h + 8, w->sec_len);
	lw_le32(h + 16, w->sec_count);
	lw_le32(h + 20, w->sec_crc);

	/* The header may be entirely in the staging buffer (patch memory),
	 * entirely in the file (pwrite), or split by a flush (both). */
	kernel = w->off - w->len;
	if (kernel > w->sec_off) {
		uint64_t k = kernel - w->sec_off;

		n_kernel = k < sizeof(h) ? (size_t)k : sizeof(h);
		if (lw_w_pwrite_all(w, h, n_kernel, w->sec_off))
			return w->err;
	}
	if (n_kernel < sizeof(h))
		memcpy(w->buf + (w->sec_off + n_kernel - kernel), h + n_kernel,
		       sizeof(h) - n_kernel);
	w->in_section = LW_W_IDLE;
	w->n_sections++;
	return 0;
}

int lw_writer_finish(lw_writer *w)
{
	uint32_t before;

	if (w->err)
		return w->err;
	if (w->in_section != LW_W_IDLE)
		return lw_w_fail(w, -EINVAL);
	before = w->n_sections;
	if (lw_w_section_open(w, LWD_SEC_END, 0, before) ||
	    lw_writer_put_u64(w, before) ||
	    lw_writer_put_u64(w, w->sec_off + LWD_SECTION_HEADER_SIZE + LWD_END_SIZE) ||
	    lw_writer_section_end(w) || lw_w_flush(w))
		return w->err;
	w->in_section = LW_W_DONE;
	return 0;
}

/* ---- typed records ------------------------------------------------------ */

int lw_writer_put_process(lw_writer *w, const lw_process_info *p)
{
	uint8_t r[LWD_PROCESS_SIZE];

	memset(r, 0, sizeof(r));
	lw_le32(r + 0, p->pid);
	lw_le32(r + 4, p->ppid);
	lw_le64(r + 8, p->parent_run_id);
	lw_le64(r + 16, p->wall_ns);
	lw_le64(r + 24, p->mono_ns);
	lw_le64(r + 32, p->start_wall_ns);
	lw_le64(r + 40, p->start_mono_ns);
	lw_le64(r + 48, p->sample_rate);
	lw_le64(r + 56, p->rss_bytes);
	lw_le64(r + 64, p->peak_rss_bytes);
	lw_le64(r + 72, p->heap_committed);
	lw_le64(r + 80, p->heap_peak_committed);
	lw_le32(r + 88, p->exe_str);
	lw_le32(r + 92, p->cmdline_str);
	lw_le32(r + 96, p->hostname_str);
	lw_le32(r + 100, p->exe_module);
	lw_le64(r + 104, p->alloc_calls);
	lw_le64(r + 112, p->free_calls);
	lw_le32(r + 120, p->reason);
	lw_le32(r + 124, p->exit_status);
	return lw_writer_put(w, r, sizeof(r));
}

int lw_writer_put_module(lw_writer *w, const lw_module_info *m)
{
	uint8_t r[LWD_MODULE_SIZE];
	uint32_t n = m->build_id_len;

	if (w->err)
		return w->err;
	if (n > LWD_MAX_BUILD_ID)
		return lw_w_fail(w, -EINVAL);
	memset(r, 0, sizeof(r));
	lw_le64(r + 0, m->load_bias);
	lw_le64(r + 8, m->start);
	lw_le64(r + 16, m->end);
	lw_le32(r + 24, m->path_str);
	lw_le32(r + 28, n);
	memcpy(r + 32, m->build_id, n);
	return lw_writer_put(w, r, sizeof(r));
}

int lw_writer_put_segment(lw_writer *w, const lw_segment_info *s)
{
	uint8_t r[LWD_SEGMENT_SIZE];

	lw_le32(r + 0, s->module);
	lw_le32(r + 4, s->prot);
	lw_le64(r + 8, s->start);
	lw_le64(r + 16, s->end);
	lw_le64(r + 24, s->file_offset);
	lw_le64(r + 32, s->file_size);
	return lw_writer_put(w, r, sizeof(r));
}

int lw_writer_put_stack(lw_writer *w, const uint64_t *pcs, uint32_t depth, uint32_t flags)
{
	uint8_t r[LWD_STACK_HEADER_SIZE + 8 * 16];

	if (w->err)
		return w->err;
	if (depth < 1 || depth > LWD_MAX_DEPTH || !pcs)
		return lw_w_fail(w, -EINVAL);
	lw_le32(r + 0, depth);
	lw_le32(r + 4, flags);
	if (lw_writer_put(w, r, LWD_STACK_HEADER_SIZE))
		return w->err;
	/* Encode in chunks of 16 frames to keep the stack footprint small. */
	for (uint32_t i = 0; i < depth;) {
		uint32_t n = depth - i < 16 ? depth - i : 16;

		for (uint32_t j = 0; j < n; j++)
			lw_le64(r + 8 * j, pcs[i + j]);
		if (lw_writer_put(w, r, 8 * (size_t)n))
			return w->err;
		i += n;
	}
	return 0;
}

int lw_writer_put_counter(lw_writer *w, const lw_counter_info *c)
{
	uint8_t r[LWD_COUNTER_SIZE];

	memset(r, 0, sizeof(r));
	lw_le32(r + 0, c->stack);
	lw_le64(r + 8, c->alloc_samples);
	lw_le64(r + 16, c->alloc_sample_bytes);
	lw_le64(r + 24, c->free_samples);
	lw_le64(r + 32, c->free_sample_bytes);
	lw_lef64(r + 40, c->alloc_objects_est);
	lw_lef64(r + 48, c->alloc_bytes_est);
	lw_lef64(r + 56, c->free_objects_est);
	lw_lef64(r + 64, c->free_bytes_est);
	return lw_writer_put(w, r, sizeof(r));
}

int lw_writer_put_live(lw_writer *w, const lw_live_info *b)
{
	uint8_t r[LWD_LIVE_BLOCK_SIZE];

	lw_le64(r + 0, b->addr);
	lw_le64(r + 8, b->size);
	lw_le32(r + 16, b->stack);
	lw_le32(r + 20, b->tid);
	lw_le64(r + 24, b->alloc_mono_ns);
	lw_lef64(r + 32, b->weight);
	return lw_writer_put(w, r, sizeof(r));
}

/* ---- string table ------------------------------------------------------- */

/* Async-signal-safe (no allocation, no locks). */
void lw_strtab_init(lw_strtab *t, char *buf, size_t cap)
{
	t->buf = buf;
	t->cap = buf ? cap : 0;
	t->len = 0;
	t->count = 0;
	if (t->cap > 0) {
		t->buf[0] = '\0';
		t->len = 1;
		t->count = 1;
	}
}

/* Async-signal-safe. Returns 0 (the empty string) when s is NULL or empty,
 * when the table is full, or when the offset would not fit in 32 bits. */
uint32_t lw_strtab_add(lw_strtab *t, const char *s)
{
	size_t n, off;

	if (!s || !*s || t->len == 0 || t->count == UINT32_MAX)
		return 0;
	n = strlen(s) + 1;
	if (n > t->cap - t->len || t->len > UINT32_MAX)
		return 0;
	off = t->len;
	memcpy(t->buf + off, s, n);
	t->len += n;
	t->count++;
	return (uint32_t)off;
}

int lw_writer_put_strtab(lw_writer *w, const lw_strtab *t)
{
	static const char empty[1];

	if (t->len == 0) {
		/* A table without storage is the lone empty string. */
		if (lw_writer_section_begin(w, LWD_SEC_STRINGS, 0, 1) ||
		    lw_writer_put(w, empty, 1))
			return w->err;
		return lw_writer_section_end(w);
	}
	if (lw_writer_section_begin(w, LWD_SEC_STRINGS, 0, t->count) ||
	    lw_writer_put(w, t->buf, t->len))
		return w->err;
	return lw_writer_section_end(w);
}
