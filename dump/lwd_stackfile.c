/* lwd_stackfile.c — writing a run's stack file (kind 3, format minor 2):
 * created atomically, then only ever appended to.
 *
 * Role: stacks are immutable and a run's stack ids only grow, so each stack
 * is written once, here, and snapshots refer to a prefix of this file
 * (STACK_BASE: length, stack count, CRC of the prefix) instead of repeating
 * the whole table (include/lwd_format.h, "Base files").
 * Invariants:
 *   - the file is the 64-byte header and whole STACKS chunks; the writer's
 *     lw_stackfile (len, n_stacks, crc) always describes a durable prefix of
 *     it: an append is fsynced before the state advances, and a failed
 *     append leaves the state (and the bytes below len) as they were, so a
 *     snapshot never refers to bytes that may be lost;
 *   - appends go to the inode the create made (checked with fstat after an
 *     O_NOFOLLOW open): a symlink or another file put in its place is never
 *     written (-ESTALE);
 *   - bytes past len (left by a failed append) are cut before appending.
 * Chunks are encoded in the caller's buffer (at least 4096 bytes: the
 * largest stack record is 1032 bytes). No malloc, no stdio, no locks: runs
 * in the shim's writer thread. Clobbers errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lwd_priv.h"

static int lw_sf_err(void)
{
	return errno > 0 ? -errno : -EIO;
}

static int lw_sf_pwrite_all(const lw_io *io, int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t r = io->pwrite(fd, p, n, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return lw_sf_err();
		}
		if (r == 0 || (size_t)r > n)
			return -EIO;
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* Encodes stacks from *next on into one chunk in buf; returns its size, 0
 * when there is nothing to write, or -EINVAL for a bad stack. */
static long lw_sf_chunk(uint8_t *buf, size_t cap, uint32_t *next, uint32_t n,
			lw_stack_fn get, void *arg)
{
	size_t pos = LWD_SECTION_HEADER_SIZE, len;
	uint32_t count = 0;

	while (*next < n) {
		uint32_t depth = 0, flags = 0;
		const uint64_t *pcs = get(arg, *next, &depth, &flags);
		size_t rec = LWD_STACK_HEADER_SIZE + 8 * (size_t)depth;

		if (!pcs || depth < 1 || depth > LWD_MAX_DEPTH)
			return -EINVAL;
		if (pos + rec + 7 > cap)
			break;
		lw_le32(buf + pos, depth);
		lw_le32(buf + pos + 4, flags);
		for (uint32_t j = 0; j < depth; j++)
			lw_le64(buf + pos + LWD_STACK_HEADER_SIZE + 8 * (size_t)j, pcs[j]);
		pos += rec;
		count++;
		(*next)++;
	}
	if (count == 0)
		return 0;
	len = pos - LWD_SECTION_HEADER_SIZE;
	while (pos & 7)
		buf[pos++] = 0;
	lw_le32(buf + 0, LWD_SEC_STACKS);
	lw_le32(buf + 4, 0);
	lw_le64(buf + 8, len);
	lw_le32(buf + 16, count);
	lw_le32(buf + 20, lw_crc32(0, buf + LWD_SECTION_HEADER_SIZE, len));
	return (long)pos;
}

/* Writes chunks for stacks first..n-1 at *len, advancing *len and *crc. */
static int lw_sf_write_chunks(const lw_io *io, int fd, uint32_t first, uint32_t n,
			      lw_stack_fn get, void *arg, uint8_t *buf, size_t cap,
			      uint64_t *len, uint32_t *crc)
{
	uint32_t next = first;

	while (next < n) {
		long sz = lw_sf_chunk(buf, cap, &next, n, get, arg);
		int rc;

		if (sz <= 0)
			return sz < 0 ? (int)sz : -EINVAL;
		rc = lw_sf_pwrite_all(io, fd, buf, (size_t)sz, *len);
		if (rc)
			return rc;
		*crc = lw_crc32(*crc, buf, (size_t)sz);
		*len += (uint64_t)sz;
	}
	return 0;
}

int lw_stackfile_create(const lw_io *io, int dirfd, const char *name, uint64_t run_id,
			uint64_t seq, uint32_t n, lw_stack_fn get, void *arg,
			void *buf, size_t cap, lw_stackfile *sf, const char **step)
{
	uint8_t h[LWD_HEADER_SIZE];
	struct lw_tmp t = { .fd = -1 };
	struct stat st;
	uint64_t len = 0;
	uint32_t crc = 0;
	const char *s = "args";
	int rc;

	if (!io || !get || !buf || cap < 4096 || !sf) {
		rc = -EINVAL;
		goto out;
	}
	rc = lw_tmp_create(io, dirfd, name, &t, &s);
	if (rc)
		goto out;
	s = "write";
	lw_header_encode(h, LWD_KIND_STACKS, run_id, seq);
	rc = lw_sf_pwrite_all(io, t.fd, h, sizeof(h), 0);
	if (rc)
		goto fail;
	crc = lw_crc32(0, h, sizeof(h));
	len = sizeof(h);
	rc = lw_sf_write_chunks(io, t.fd, 0, n, get, arg, buf, cap, &len, &crc);
	if (rc)
		goto fail;
	s = "stat";
	if (fstat(t.fd, &st) < 0) {
		rc = lw_sf_err();
		goto fail;
	}
	rc = lw_tmp_commit(io, dirfd, name, &t, &s);
	if (rc)
		goto fail;
	sf->run_id = run_id;
	sf->seq = seq;
	sf->len = len;
	sf->n_stacks = n;
	sf->crc = crc;
	sf->dev = (uint64_t)st.st_dev;
	sf->ino = (uint64_t)st.st_ino;
	return 0;
fail:
	lw_tmp_abort(io, dirfd, name, &t);
out:
	if (step)
		*step = s;
	return rc < 0 ? rc : -EIO;
}

int lw_stackfile_append(const lw_io *io, int dirfd, const char *name, uint32_t n,
			lw_stack_fn get, void *arg, void *buf, size_t cap,
			lw_stackfile *sf, const char **step)
{
	struct stat st;
	uint64_t len;
	uint32_t crc;
	const char *s = "args";
	int fd, rc;

	if (!io || !get || !buf || cap < 4096 || !sf || !name) {
		rc = -EINVAL;
		goto out;
	}
	if (n <= sf->n_stacks)
		return 0;
	s = "open";
	fd = io->openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0) {
		rc = lw_sf_err();
		goto out;
	}
	s = "identity";
	if (fstat(fd, &st) < 0) {
		rc = lw_sf_err();
		goto close;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_dev != sf->dev ||
	    (uint64_t)st.st_ino != sf->ino || (uint64_t)st.st_size < sf->len) {
		rc = -ESTALE;   /* not the file we made, or someone cut it */
		goto close;
	}
	s = "truncate";
	if ((uint64_t)st.st_size > sf->len && ftruncate(fd, (off_t)sf->len) < 0) {
		rc = lw_sf_err();
		goto close;
	}
	s = "write";
	len = sf->len;
	crc = sf->crc;
	rc = lw_sf_write_chunks(io, fd, sf->n_stacks, n, get, arg, buf, cap, &len, &crc);
	if (rc == 0) {
		s = "fsync";
		while ((rc = io->fsync(fd)) < 0 && errno == EINTR)
			;
		if (rc < 0)
			rc = lw_sf_err();
	}
	if (rc) {
		/* best effort: the prefix below sf->len is intact either way */
		int cut = ftruncate(fd, (off_t)sf->len);

		(void)cut;
		goto close;
	}
	io->close(fd);
	sf->len = len;
	sf->crc = crc;
	sf->n_stacks = n;
	return 0;
close:
	io->close(fd);
out:
	if (step)
		*step = s;
	return rc < 0 ? rc : -EIO;
}
