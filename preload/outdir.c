/* outdir.c — output directory management (see outdir.h).
 *
 * Invariants: the directory path is absolute and NUL-terminated (empty if it
 * could not be computed: every write then fails with a single warning). It
 * lives in one of two buffers and is published through dir_cur, so threads
 * that only read it (lw_outdir_path, from the exec wrappers) never see a
 * half-written path: a new path is always written into the buffer nobody
 * reads, then published; this happens at most once while the process can
 * have threads (the fall-back below another process's directory), the other
 * changes happen in the constructor and in a forked child. dir_fd is -1 or
 * an fd that we opened on a directory whose identity is (dir_dev, dir_ino) —
 * it may have been closed or reused by the program since, which
 * lw_outdir_fd detects. seq is never below the number after the highest
 * file already in the directory, so a process that continues a directory
 * (an exec'd program of the same pid) never replaces a file.
 * Locks: none; the writing functions are called with the snapshot write
 * lock held (lw_snap_io_lock), or in a single-threaded forked child;
 * lw_outdir_path(), lw_outdir_parent(), lw_outdir_pid() and
 * lw_outdir_children_none() may be called from any thread and from a vfork
 * child (they only read).
 */
#include "outdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lw_env.h"
#include "lwd.h"
#include "util.h"

static char exe_path[PATH_MAX];
static char dir_bufs[2][PATH_MAX];
static char *dir_path = dir_bufs[0];          /* the writer's view */
static _Atomic(const char *) dir_cur = dir_bufs[0];
static char parent_path[PATH_MAX];            /* empty unless started by a watched process */
static int dir_fd = -1;
static dev_t dir_dev;
static ino_t dir_ino;
static int dir_ready;       /* created and claimed */
static int dir_is_child;    /* nests in a watched parent's directory: never falls back */
static int dir_fell_back;   /* moved below a directory another process owns */
static int named;           /* LEAKWATCH_DIR named this process's directory */
static int dormant;         /* a forked child under LEAKWATCH_CHILDREN=none */
static int children_none;
static pid_t own_pid;
static uint64_t seq, written;

const char *lw_exe_path(void) { return exe_path; }
const char *lw_outdir_path(void) { return atomic_load_explicit(&dir_cur, memory_order_acquire); }
uint64_t lw_outdir_written(void) { return written; }
int lw_outdir_dormant(void) { return dormant; }

void lw_outdir_commit(void)
{
	seq++;
	written++;
}

static void set_exe(void)
{
	ssize_t n = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);
	if (n <= 0) {
		exe_path[0] = '\0';
		return;
	}
	exe_path[n] = '\0';
}

/* Publishes "<prefix>/<exe>.<pid>" (or prefix alone when leaf is 0) as the
 * directory, written into the buffer that is not being read. */
static void set_dir(const char *prefix, int leaf)
{
	char *next = dir_path == dir_bufs[0] ? dir_bufs[1] : dir_bufs[0];
	size_t pos = 0;
	next[0] = '\0';
	if (prefix[0] != '\0') {
		lw_fmt_str(next, PATH_MAX, &pos, prefix);
		if (leaf) {
			char name[NAME_MAX + 1];
			if (lw_env_leaf(name, sizeof(name), exe_path, (uint64_t)getpid()) < 0)
				lw_env_leaf(name, sizeof(name), NULL, (uint64_t)getpid());
			lw_fmt_str(next, PATH_MAX, &pos, "/");
			lw_fmt_str(next, PATH_MAX, &pos, name);
		}
	}
	dir_path = next;
	atomic_store_explicit(&dir_cur, next, memory_order_release);
}

void lw_outdir_init(const struct lw_env *env)
{
	char cwd[PATH_MAX], path[PATH_MAX];
	set_exe();
	own_pid = getpid();
	children_none = env->children == LW_CHILDREN_NONE;
	/* without an absolute path every write fails with one warning */
	if (lw_env_outdir(path, sizeof(path), getcwd(cwd, sizeof(cwd)), env, exe_path,
			  (uint64_t)own_pid) < 0)
		path[0] = '\0';
	set_dir(path, 0);
	if (env->parent_dir != NULL) {
		size_t pos = 0;
		parent_path[0] = '\0';
		lw_fmt_str(parent_path, sizeof(parent_path), &pos, env->parent_dir);
		dir_is_child = 1;
	} else {
		named = env->dir != NULL;
	}
}

void lw_outdir_child(void)
{
	size_t pos = 0;
	own_pid = getpid();
	parent_path[0] = '\0';
	lw_fmt_str(parent_path, sizeof(parent_path), &pos, dir_path);
	set_dir(parent_path, 1);
	/* The inherited fd belongs to the parent's directory: close it if it
	 * is still ours (it may have been closed and reused meanwhile). */
	struct stat st;
	if (dir_fd >= 0 && fstat(dir_fd, &st) == 0 && st.st_dev == dir_dev && st.st_ino == dir_ino)
		close(dir_fd);
	dir_fd = -1;
	dir_ready = 0;
	dir_is_child = 1;
	dir_fell_back = 0;
	named = 0;
	dormant = children_none;
	seq = written = 0;
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

/* The pid written in "<dir>/.owner", 0 if none can be read. */
static uint64_t owner_pid(int fd)
{
	char buf[32];
	uint64_t v = 0;
	int ofd = openat(fd, ".owner", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (ofd < 0)
		return 0;
	ssize_t n = read(ofd, buf, sizeof(buf) - 1);
	close(ofd);
	for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(buf[i] - '0');
	return v;
}

/* 1: ours (claimed now, or ".owner" names our pid: `leakwatch run` claimed
 * it for us, or an earlier program of this process wrote here before it
 * exec'd us); 0: claimed by another process; <0: error */
static int claim(int fd)
{
	int ofd = openat(fd, ".owner", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (ofd < 0) {
		if (errno != EEXIST)
			return -errno;
		return owner_pid(fd) == (uint64_t)getpid();
	}
	char buf[32];
	size_t pos = 0;
	lw_fmt_u64(buf, sizeof(buf), &pos, (uint64_t)getpid());
	lw_fmt_str(buf, sizeof(buf), &pos, "\n");
	ssize_t w = write(ofd, buf, pos);
	(void)w;
	close(ofd);
	return 1;
}

/* Moves seq past the highest "<kind>-<number>.lwd" already in the
 * directory (getdents64 into a stack buffer: no allocation), and removes
 * temporaries: only processes of our pid write at this level of a
 * directory we own, so one is left by the program this process ran before
 * an exec that replaced it in the middle of a write, and its name would
 * collide with the file we write under the same number. */
static void skip_existing(int fd)
{
	char buf[4096] __attribute__((aligned(8)));
	int d = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return;
	ssize_t n;
	while ((n = getdents64(d, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			const struct dirent64 *e = (const struct dirent64 *)(const void *)(buf + off);
			const char *name = e->d_name, *dash = strrchr(name, '-');
			uint64_t v = 0;
			int digits = 0;
			off += e->d_reclen;
			if (strncmp(name, LW_PUBLISH_TMP_PREFIX, sizeof(LW_PUBLISH_TMP_PREFIX) - 1) == 0)
				(void)unlinkat(d, name, 0);   /* its number is skipped below */
			else if (name[0] == '.' || dash == NULL)
				continue;
			if (dash == NULL)
				continue;
			for (const char *p = dash + 1; *p >= '0' && *p <= '9' && digits < 19; p++, digits++)
				v = v * 10 + (uint64_t)(*p - '0');
			if (digits > 0 && strcmp(dash + 1 + digits, ".lwd") == 0 && v >= seq)
				seq = v + 1;
		}
	}
	close(d);
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
	if (rc == 0 && !dir_is_child && !dir_fell_back) {
		/* claimed by another process: use <dir>/<exe>.<pid>/ */
		memcpy(tmp, dir_path, sizeof(tmp));
		set_dir(tmp, 1);
		dir_fell_back = 1;
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
	}
	if (rc < 0) {
		close(fd);
		*step = "claim";
		return rc;
	}
	/* rc == 0 here: a directory named after our pid, claimed by an earlier
	 * process with the same pid; it is ours now */
	skip_existing(fd);
	dir_fd = fd;
	dir_dev = st.st_dev;
	dir_ino = st.st_ino;
	dir_ready = 1;
	return 0;
}

uint64_t lw_outdir_seq(void)
{
	/* The number must follow the files already in the directory, which
	 * are only known once it is opened: prepare it now (a failure is
	 * reported by the lw_outdir_fd call that follows). */
	const char *step;
	if (!dir_ready && !dormant)
		(void)create_and_claim(&step);
	return seq;
}

int lw_outdir_fd(int *fd, const char **step)
{
	struct stat st;
	if (dormant) {
		*step = "unwatched";
		return -ECANCELED;
	}
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

int lw_outdir_named(void)
{
	if (!named || dir_fell_back)
		return 0;
	if (dir_ready)
		return 1;
	/* not created yet: ours unless another process already owns it */
	int fd = open(dir_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 1;
	uint64_t owner = owner_pid(fd);
	close(fd);
	return owner == 0 || owner == (uint64_t)getpid();
}

const char *lw_outdir_parent(void)
{
	return dir_is_child && parent_path[0] == '/' ? parent_path : NULL;
}

int lw_outdir_children_none(void) { return children_none; }

pid_t lw_outdir_pid(void) { return own_pid; }

void lw_outdir_report(const char *name, const char *step, int err)
{
	char eb[32];
	lw_warn_once("cannot write '", dir_path, "/", name, "': ", step ? step : "write", ": ",
		     lw_strerror(err < 0 ? -err : err, eb, sizeof(eb)),
		     " (continuing without leakwatch files)", (const char *)NULL);
}
