/* lwd_publish.c — atomic publication of one .lwd file (and of a new stack
 * file, through the same temporary-file steps).
 *
 * Role: the one place that creates .lwd files: temp file, fill, fsync,
 * link or rename, fsync the directory, with a single cleanup path that names
 * the step that failed (the redis RDB save pattern).
 * Invariants:
 *   - a reader listing the directory sees either no file or a complete,
 *     durable one under the final name;
 *   - the temporary is unnamed when the kernel and the file system allow it
 *     (O_TMPFILE, later given its name with linkat through /proc/self/fd):
 *     a process that dies mid-write (kill -9, _exit, a crash) leaves
 *     nothing behind, and the final name is never replaced (linkat fails on
 *     an existing name);
 *   - otherwise it is ".tmp-<name>", created with O_CREAT|O_EXCL|O_NOFOLLOW,
 *     so a planted file or symlink makes the publish fail ("create") and is
 *     left alone: we only ever unlink a file we created; temporaries start
 *     with ".tmp-" and never end in ".lwd" (a crashed process leaves one;
 *     the shim removes those of its own names when it claims a directory);
 *   - on failure nothing is left: neither the temporary nor (if the failure
 *     came after the link or rename, i.e. the directory fsync) the final
 *     name.
 * No malloc, no stdio, no locks: safe in the shim's writer thread and in a
 * forked child. Clobbers errno (callers in the shim save and restore it).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "lwd_priv.h"

#define LW_TMP_PREFIX LW_PUBLISH_TMP_PREFIX
#define LW_TMP_PREFIX_LEN (sizeof(LW_PUBLISH_TMP_PREFIX) - 1)

static int lw_pub_err(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* "/proc/self/fd/<fd>" */
static void lw_proc_fd_path(char *buf, size_t cap, int fd)
{
	static const char pre[] = "/proc/self/fd/";
	char digits[16];
	size_t n = 0, k = sizeof(pre) - 1;
	unsigned v = (unsigned)fd;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < sizeof(digits));
	memcpy(buf, pre, k);
	while (n > 0 && k + 1 < cap)
		buf[k++] = digits[--n];
	buf[k] = '\0';
}

/* An O_TMPFILE file can be linked later only through /proc/self/fd (linkat
 * with AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH): check that path names the
 * same inode (no /proc in a chroot or a minimal container). */
static int lw_tmp_linkable(int fd)
{
	char path[32];
	struct stat a, b;

	lw_proc_fd_path(path, sizeof(path), fd);
	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int lw_tmp_create(const lw_io *io, int dirfd, const char *name, struct lw_tmp *t,
		  const char **step)
{
	size_t n;

	t->fd = -1;
	t->anon = 0;
	t->named = 0;
	t->tmp[0] = '\0';
	*step = "name";
	n = name ? strlen(name) : 0;
	if (n == 0 || n > NAME_MAX - LW_TMP_PREFIX_LEN || strchr(name, '/') ||
	    !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	memcpy(t->tmp, LW_TMP_PREFIX, LW_TMP_PREFIX_LEN);
	memcpy(t->tmp + LW_TMP_PREFIX_LEN, name, n + 1);

	*step = "create";
	if (io->linkat) {
		int fd = io->openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);

		if (fd >= 0 && lw_tmp_linkable(fd)) {
			t->fd = fd;
			t->anon = 1;
			return 0;
		}
		if (fd >= 0)
			io->close(fd);
		/* not supported here: fall back to a named temporary */
	}
	t->fd = io->openat(dirfd, t->tmp, O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_WRONLY, 0600);
	if (t->fd < 0) {
		t->fd = -1;
		return lw_pub_err();   /* not ours: never unlink what we did not create */
	}
	return 0;
}

int lw_tmp_commit(const lw_io *io, int dirfd, const char *name, struct lw_tmp *t,
		  const char **step)
{
	int rc, dfd;

	*step = "fsync";
	while ((rc = io->fsync(t->fd)) < 0 && errno == EINTR)
		;
	if (rc < 0)
		return lw_pub_err();

	if (t->anon) {
		char path[32];

		*step = "link";
		lw_proc_fd_path(path, sizeof(path), t->fd);
		if (io->linkat(AT_FDCWD, path, dirfd, name, AT_SYMLINK_FOLLOW) == 0) {
			t->named = 1;
		} else if (errno == EEXIST) {
			/* An existing name is replaced atomically, as rename does:
			 * link under the temporary name, rename below. */
			if (io->linkat(AT_FDCWD, path, dirfd, t->tmp, AT_SYMLINK_FOLLOW) < 0)
				return lw_pub_err();
			t->anon = 0;
		} else {
			return lw_pub_err();
		}
	}
	*step = "close";
	rc = io->close(t->fd);
	t->fd = -1;
	/* Linux always releases the descriptor, even on EINTR; the data is
	 * already on disk after fsync, so EINTR is not a failure. */
	if (rc < 0 && errno != EINTR)
		return lw_pub_err();

	if (!t->named) {
		*step = "rename";
		if (io->renameat(dirfd, t->tmp, dirfd, name) < 0)
			return lw_pub_err();
		t->named = 1;
	}

	*step = "fsync-dir";
	dfd = io->openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd < 0)
		return lw_pub_err();
	while ((rc = io->fsync(dfd)) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		rc = lw_pub_err();
		io->close(dfd);
		return rc;
	}
	io->close(dfd);
	return 0;
}

void lw_tmp_abort(const lw_io *io, int dirfd, const char *name, struct lw_tmp *t)
{
	if (t->fd >= 0)
		io->close(t->fd);
	t->fd = -1;
	if (t->named)
		io->unlinkat(dirfd, name, 0);
	else if (!t->anon && t->tmp[0])
		io->unlinkat(dirfd, t->tmp, 0);
}

int lw_publish_sized(const lw_io *io, int dirfd, const char *name, void *buf, size_t cap,
		     uint32_t kind, uint64_t run_id, uint64_t seq,
		     lw_fill_fn fill, void *arg, uint64_t *size, const char **step)
{
	const char *st = "args";
	struct lw_tmp t = { .fd = -1 };
	lw_writer w;
	int rc;

	if (!io || !name || !fill || !buf) {
		rc = -EINVAL;
		goto out;
	}
	rc = lw_tmp_create(io, dirfd, name, &t, &st);
	if (rc)
		goto out;

	st = "write";
	rc = lw_writer_begin(&w, io, t.fd, buf, cap, kind, run_id, seq);
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
	rc = lw_tmp_commit(io, dirfd, name, &t, &st);
	if (rc)
		goto fail;
	if (size)
		*size = w.off;
	return 0;

fail:
	lw_tmp_abort(io, dirfd, name, &t);
out:
	if (step)
		*step = st;
	return rc < 0 ? rc : -EIO;
}

int lw_publish(const lw_io *io, int dirfd, const char *name, void *buf, size_t cap,
	       uint32_t kind, uint64_t run_id, uint64_t seq,
	       lw_fill_fn fill, void *arg, const char **step)
{
	return lw_publish_sized(io, dirfd, name, buf, cap, kind, run_id, seq, fill, arg, NULL, step);
}
