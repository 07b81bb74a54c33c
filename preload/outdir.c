/* outdir.c — output directory management (see outdir.h).
 *
 * Invariants: dir_path is absolute and NUL-terminated (empty if it could not
 * be computed: every write then fails with a single warning); dir_fd is -1
 * or an fd that we opened on a directory whose identity is (dir_dev,
 * dir_ino) — it may have been closed or reused by the program since, which
 * lw_outdir_fd detects.
 * Locks: none (callers hold the snapshot write lock).
 */
#include "outdir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lw_env.h"
#include "util.h"

static char exe_path[PATH_MAX];
static char dir_path[PATH_MAX];
static int dir_fd = -1;
static dev_t dir_dev;
static ino_t dir_ino;
static int dir_ready;       /* created and claimed */
static int dir_is_child;    /* a forked child's subdirectory: never a claimed-by-other fallback */
static uint64_t seq;

const char *lw_exe_path(void) { return exe_path; }
const char *lw_outdir_path(void) { return dir_path; }
uint64_t lw_outdir_seq(void) { return seq; }
void lw_outdir_commit(void) { seq++; }

static void set_exe(void)
{
	ssize_t n = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);
	if (n <= 0) {
		exe_path[0] = '\0';
		return;
	}
	exe_path[n] = '\0';
}

/* "<dir_path>/<exe>.<pid>" */
static void append_leaf(void)
{
	char leaf[NAME_MAX + 1];
	size_t pos = strlen(dir_path);
	if (pos == 0)
		return;
	if (lw_env_leaf(leaf, sizeof(leaf), exe_path, (uint64_t)getpid()) < 0)
		lw_env_leaf(leaf, sizeof(leaf), NULL, (uint64_t)getpid());   /* "unknown.<pid>" */
	lw_fmt_str(dir_path, sizeof(dir_path), &pos, "/");
	lw_fmt_str(dir_path, sizeof(dir_path), &pos, leaf);
}

void lw_outdir_init(const char *env_dir)
{
	char cwd[PATH_MAX];
	set_exe();
	dir_path[0] = '\0';
	const char *cwdp = getcwd(cwd, sizeof(cwd));
	/* without an absolute path every write fails with one warning */
	if (lw_env_outdir(dir_path, sizeof(dir_path), cwdp, env_dir, exe_path,
			  (uint64_t)getpid()) < 0)
		dir_path[0] = '\0';
}

void lw_outdir_child(void)
{
	append_leaf();
	/* The inherited fd belongs to the parent's directory: close it if it
	 * is still ours (it may have been closed and reused meanwhile). */
	struct stat st;
	if (dir_fd >= 0 && fstat(dir_fd, &st) == 0 && st.st_dev == dir_dev && st.st_ino == dir_ino)
		close(dir_fd);
	dir_fd = -1;
	dir_ready = 0;
	dir_is_child = 1;
	seq = 0;
}

/* mkdir -p with mode 0700 for every directory it creates. */
static int mkdirs(char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -errno;
	char *slash = strrchr(path, '/');
	if (slash == NULL || slash == path)
		return -ENOENT;
	*slash = '\0';
	int rc = mkdirs(path);
	*slash = '/';
	if (rc != 0)
		return rc;
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	return -errno;
}

static int open_dir(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* 1: we own it now; 0: claimed by another process; <0: error */
static int claim(int fd)
{
	int ofd = openat(fd, ".owner", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (ofd < 0)
		return errno == EEXIST ? 0 : -errno;
	char buf[32];
	size_t pos = 0;
	lw_fmt_u64(buf, sizeof(buf), &pos, (uint64_t)getpid());
	lw_fmt_str(buf, sizeof(buf), &pos, "\n");
	ssize_t w = write(ofd, buf, pos);
	(void)w;
	close(ofd);
	return 1;
}

static int create_and_claim(const char **step)
{
	char tmp[PATH_MAX];
	struct stat st;
	if (dir_path[0] != '/') {
		*step = "path";
		return -ENAMETOOLONG;
	}
	memcpy(tmp, dir_path, sizeof(tmp));
	int rc = mkdirs(tmp);
	if (rc != 0) {
		*step = "mkdir";
		return rc;
	}
	int fd = open_dir(dir_path, &st);
	if (fd < 0) {
		*step = "open";
		return fd;
	}
	rc = claim(fd);
	if (rc == 0 && !dir_is_child) {
		/* claimed by another process: use <dir>/<exe>.<pid>/ */
		append_leaf();
		close(fd);
		if (mkdir(dir_path, 0700) != 0 && errno != EEXIST) {
			*step = "mkdir";
			return -errno;
		}
		fd = open_dir(dir_path, &st);
		if (fd < 0) {
			*step = "open";
			return fd;
		}
		rc = claim(fd);
		if (rc == 0)
			rc = 1;   /* a stale claim by an earlier process with our pid */
	}
	if (rc < 0) {
		close(fd);
		*step = "claim";
		return rc;
	}
	dir_fd = fd;
	dir_dev = st.st_dev;
	dir_ino = st.st_ino;
	dir_ready = 1;
	return 0;
}

int lw_outdir_fd(int *fd, const char **step)
{
	struct stat st;
	if (!dir_ready) {
		int rc = create_and_claim(step);
		if (rc != 0)
			return rc;
	}
	if (dir_fd >= 0 && fstat(dir_fd, &st) == 0 && st.st_dev == dir_dev && st.st_ino == dir_ino &&
	    S_ISDIR(st.st_mode)) {
		*fd = dir_fd;
		return 0;
	}
	/* closed by the program, or the number now means something else (which
	 * is the program's: do not close it): re-open by absolute path */
	int nfd = open_dir(dir_path, &st);
	if (nfd < 0 && nfd == -ENOENT) {
		char tmp[PATH_MAX];
		memcpy(tmp, dir_path, sizeof(tmp));
		if (mkdirs(tmp) == 0)
			nfd = open_dir(dir_path, &st);
	}
	if (nfd < 0) {
		dir_fd = -1;
		*step = "open";
		return nfd;
	}
	dir_fd = nfd;
	dir_dev = st.st_dev;
	dir_ino = st.st_ino;
	*fd = nfd;
	return 0;
}

void lw_outdir_report(const char *name, const char *step, int err)
{
	char eb[32];
	lw_warn_once("cannot write '", dir_path, "/", name, "': ", step ? step : "write", ": ",
		     lw_strerror(err < 0 ? -err : err, eb, sizeof(eb)),
		     " (continuing without leakwatch files)", (const char *)NULL);
}
