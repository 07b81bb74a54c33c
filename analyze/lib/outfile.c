/* outfile.c — atomic publication of a command's output file (outfile.h).
 *
 * Invariant: `path` is either left untouched or replaced by a complete,
 * fsync'd file; the temporary ".NAME.tmp-PID" next to it never survives a
 * failure. Nothing is created or replaced through a symbolic link (the
 * temporary is opened O_EXCL|O_NOFOLLOW, an existing link is refused unless
 * it leads to a device or FIFO, which is written in place).
 */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes straight into an existing character device or FIFO: renaming over
 * those would replace the device node itself. No O_CREAT, so nothing new
 * can be created this way. */
static int write_special(const char *path, lw_out_write_fn write, void *arg,
			 const char **step)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		*step = "open";
		return -errno;
	}
	struct stat st;
	if (fstat(fd, &st) || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
		close(fd);
		*step = "open";
		return -EINVAL;
	}
	FILE *out = fdopen(fd, "wb");
	if (!out) {
		int e = -errno;
		close(fd);
		*step = "open";
		return e;
	}
	int rc = write(out, arg);
	if (fflush(out) && !rc)
		rc = -EIO;
	if (rc)
		*step = "write";
	if (fclose(out) && !rc) {
		rc = -EIO;
		*step = "close";
	}
	return rc;
}

int lw_out_publish(const char *path, lw_out_write_fn write, void *arg, const char **step)
{
	struct stat lst, st;
	if (lstat(path, &lst) == 0) {
		int special = S_ISCHR(lst.st_mode) || S_ISFIFO(lst.st_mode);
		if (S_ISLNK(lst.st_mode) && stat(path, &st) == 0)
			special = S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode);
		if (special)
			return write_special(path, write, arg, step);
		if (S_ISLNK(lst.st_mode)) {
			*step = "replace";
			return -ELOOP;
		}
		if (S_ISDIR(lst.st_mode)) {
			*step = "create";
			return -EISDIR;
		}
		if (!S_ISREG(lst.st_mode)) {
			*step = "replace (not a regular file)";
			return -EEXIST;
		}
	}

	size_t len = strlen(path);
	char *tmp = malloc(len + 64);
	if (!tmp) {
		*step = "allocate";
		return -ENOMEM;
	}
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
	snprintf(tmp, len + 64, "%.*s.%s.tmp-%ld", (int)dirlen, path, path + dirlen,
		 (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = -errno;
		*step = "create";
		free(tmp);
		return e;
	}
	FILE *out = fdopen(fd, "wb");
	if (!out) {
		int e = -errno;
		close(fd);
		unlink(tmp);
		free(tmp);
		*step = "create";
		return e;
	}
	int rc = write(out, arg);
	if (rc) {
		*step = "write";
	} else if (fflush(out) || ferror(out)) {
		rc = -EIO;
		*step = "write";
	} else if (fsync(fileno(out))) {
		rc = -errno;
		*step = "fsync";
	}
	if (fclose(out) && !rc) {
		rc = -EIO;
		*step = "close";
	}
	if (!rc && rename(tmp, path)) {
		rc = -errno;
		*step = "rename";
	}
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}

const char *lw_out_reason(int rc, const char *step, char *buf, size_t len)
{
	if (rc == -ELOOP && !strcmp(step, "replace"))
		snprintf(buf, len, "is a symbolic link to a file; not replacing it");
	else
		snprintf(buf, len, "%s failed: %s", step, strerror(-rc));
	return buf;
}
