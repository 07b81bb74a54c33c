/* lwd_publish.c — atomic publication of one .lwd file.
 *
 * Role: the one place that creates .lwd files: temp file, fill, fsync,
 * rename, fsync the directory, with a single cleanup path that names the step
 * that failed (the redis RDB save pattern).
 * Invariants:
 *   - a reader listing the directory sees either no file or a complete,
 *     durable one under the final name; temporaries start with ".tmp-" and
 *     never end in ".lwd";
 *   - the temporary is created with O_CREAT|O_EXCL|O_NOFOLLOW, so a planted
 *     file or symlink makes the publish fail ("create") and is left alone:
 *     we only ever unlink a file we created;
 *   - on failure nothing is left: neither the temporary nor (if the failure
 *     came after the rename, i.e. the directory fsync) the final name.
 * No malloc, no stdio, no locks: safe in the shim's writer thread and in a
 * forked child. Clobbers errno (callers in the shim save and restore it).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>

#include "lwd.h"

#define LW_TMP_PREFIX LW_PUBLISH_TMP_PREFIX
#define LW_TMP_PREFIX_LEN (sizeof(LW_PUBLISH_TMP_PREFIX) - 1)

static int lw_pub_err(void)
{
	return errno > 0 ? -errno : -EIO;
}

int lw_publish(const lw_io *io, int dirfd, const char *name, void *buf, size_t cap,
	       uint32_t kind, uint64_t run_id, uint64_t seq,
	       lw_fill_fn fill, void *arg, const char **step)
{
	char tmp[NAME_MAX + 1];
	const char *st = "args";
	lw_writer w;
	size_t n;
	int fd = -1, dfd = -1, rc;
	int renamed = 0;

	if (!io || !name || !fill || !buf) {
		rc = -EINVAL;
		goto out;
	}
	st = "name";
	n = strlen(name);
	if (n == 0 || n > NAME_MAX - LW_TMP_PREFIX_LEN || strchr(name, '/') ||
	    !strcmp(name, ".") || !strcmp(name, "..")) {
		rc = -EINVAL;
		goto out;
	}
	memcpy(tmp, LW_TMP_PREFIX, LW_TMP_PREFIX_LEN);
	memcpy(tmp + LW_TMP_PREFIX_LEN, name, n + 1);

	st = "create";
	fd = io->openat(dirfd, tmp, O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_WRONLY, 0600);
	if (fd < 0) {
		rc = lw_pub_err();
		fd = -1;
		goto out;   /* not ours: never unlink what we did not create */
	}

	st = "write";
	rc = lw_writer_begin(&w, io, fd, buf, cap, kind, run_id, seq);
	if (rc)
		goto fail;
	rc = fill(&w, arg);
	if (rc < 0 || w.err) {
		if (!w.err)
			st = "fill";
		else
			rc = w.err;
		goto fail;
	}
	rc = lw_writer_finish(&w);
	if (rc)
		goto fail;

	st = "fsync";
	while ((rc = io->fsync(fd)) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		rc = lw_pub_err();
		goto fail;
	}

	st = "close";
	rc = io->close(fd);
	fd = -1;
	/* Linux always releases the descriptor, even on EINTR; the data is
	 * already on disk after fsync, so EINTR is not a failure. */
	if (rc < 0 && errno != EINTR) {
		rc = lw_pub_err();
		goto fail;
	}

	st = "rename";
	if (io->renameat(dirfd, tmp, dirfd, name) < 0) {
		rc = lw_pub_err();
		goto fail;
	}
	renamed = 1;

	st = "fsync-dir";
	dfd = io->openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd < 0) {
		rc = lw_pub_err();
		dfd = -1;
		goto fail;
	}
	while ((rc = io->fsync(dfd)) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		rc = lw_pub_err();
		goto fail;
	}
	io->close(dfd);
	return 0;

fail:
	if (fd >= 0)
		io->close(fd);
	if (dfd >= 0)
		io->close(dfd);
	io->unlinkat(dirfd, renamed ? name : tmp, 0);
out:
	if (step)
		*step = st;
	return rc < 0 ? rc : -EIO;
}
