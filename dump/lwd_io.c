/* lwd_io.c — lw_io_system: the real system calls behind the lw_io table.
 *
 * Role: the writer and lw_publish call the kernel only through an lw_io
 * table, so tests can substitute failing or short-writing versions (the
 * SQLite syscall-table idea). This file is the production table.
 * Invariants: each entry has exactly the contract of the syscall it names
 * (-1 and errno on failure, no retries here: callers handle EINTR and short
 * writes). Async-signal-safe and safe in a forked child: only syscalls.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lwd.h"

static int lw_sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	return openat(dirfd, path, flags, mode);
}

static ssize_t lw_sys_write(int fd, const void *buf, size_t len)
{
	return write(fd, buf, len);
}

static ssize_t lw_sys_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite(fd, buf, len, off);
}

static int lw_sys_fsync(int fd)
{
	return fsync(fd);
}

static int lw_sys_close(int fd)
{
	return close(fd);
}

static int lw_sys_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
	return renameat(olddirfd, oldpath, newdirfd, newpath);
}

static int lw_sys_unlinkat(int dirfd, const char *path, int flags)
{
	return unlinkat(dirfd, path, flags);
}

static int lw_sys_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
			 int flags)
{
	return linkat(olddirfd, oldpath, newdirfd, newpath, flags);
}

const lw_io lw_io_system = {
	.openat = lw_sys_openat,
	.write = lw_sys_write,
	.pwrite = lw_sys_pwrite,
	.fsync = lw_sys_fsync,
	.close = lw_sys_close,
	.renameat = lw_sys_renameat,
	.unlinkat = lw_sys_unlinkat,
	.linkat = lw_sys_linkat,
};
