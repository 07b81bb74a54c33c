/* test_lwd_publish.c — lw_publish under injected failures.
 *
 * For every I/O operation lw_publish performs (openat, write, pwrite, fsync,
 * close, renameat) and every call index of it seen in a successful run, a
 * fresh directory gets a publish whose k-th call of that operation fails.
 * Each must return the injected -errno, name the right step, and leave the
 * directory empty (no temporary, no target). Also: fill failures, a symlink
 * or file planted at the temporary name (refused, left alone, never
 * followed), bad names, mode 0600 with umask 0, and bytes identical to a
 * direct write.
 */
#include <dirent.h>
#include <sys/stat.h>

#include "lwd_sample.h"

enum op { OP_OPENAT, OP_WRITE, OP_PWRITE, OP_FSYNC, OP_CLOSE, OP_RENAMEAT, OP_UNLINKAT, OP_N };
static const char *const op_names[OP_N] = {
	"openat", "write", "pwrite", "fsync", "close", "renameat", "unlinkat"
};

static int calls[OP_N];
static int fail_op = -1, fail_at, fail_errno;

static int inject(enum op op)
{
	int k = calls[op]++;

	if ((int)op == fail_op && k == fail_at) {
		errno = fail_errno;
		return 1;
	}
	return 0;
}

static int f_openat(int d, const char *p, int fl, mode_t m)
{
	return inject(OP_OPENAT) ? -1 : lw_io_system.openat(d, p, fl, m);
}

static ssize_t f_write(int fd, const void *b, size_t n)
{
	return inject(OP_WRITE) ? -1 : lw_io_system.write(fd, b, n);
}

static ssize_t f_pwrite(int fd, const void *b, size_t n, off_t o)
{
	return inject(OP_PWRITE) ? -1 : lw_io_system.pwrite(fd, b, n, o);
}

static int f_fsync(int fd)
{
	return inject(OP_FSYNC) ? -1 : lw_io_system.fsync(fd);
}

static int f_close(int fd)
{
	/* like Linux: the descriptor is released even when close reports an error */
	int r = lw_io_system.close(fd);

	return inject(OP_CLOSE) ? -1 : r;
}

static int f_renameat(int a, const char *p, int b, const char *q)
{
	return inject(OP_RENAMEAT) ? -1 : lw_io_system.renameat(a, p, b, q);
}

static int f_unlinkat(int d, const char *p, int fl)
{
	return inject(OP_UNLINKAT) ? -1 : lw_io_system.unlinkat(d, p, fl);
}

static const lw_io faulty = {
	f_openat, f_write, f_pwrite, f_fsync, f_close, f_renameat, f_unlinkat,
};

static char root[] = "/tmp/lwd-publish-XXXXXX";
static int dir_seq;

static int new_dir(char *path, size_t n)
{
	int fd;

	snprintf(path, n, "%s/d%d", root, dir_seq++);
	if (mkdir(path, 0700) < 0)
		lwt_die("mkdir");
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		lwt_die("open dir");
	return fd;
}

/* Number of directory entries, "." and ".." excluded. */
static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		lwt_die("opendir");
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static uint8_t pub_buf[4096];
/* the fixture with a section big enough to need pwrite header patches */
static lws_opts big = { .with_reserved = 1, .with_unknown = 1 };

static int do_publish(const lw_io *io, int dfd, const char *name, lw_fill_fn fill, void *arg,
		      const char **step)
{
	*step = "unset";
	return lw_publish(io, dfd, name, pub_buf, sizeof(pub_buf), LWD_KIND_DUMP,
			  0x1122334455667788ull, 42, fill, arg, step);
}

static void test_success(void)
{
	char path[256], file[300];
	const char *step;
	struct stat st;
	size_t ref_len, len;
	uint8_t *ref, *got;
	int dfd, fd;
	mode_t old = umask(0);

	dfd = new_dir(path, sizeof(path));
	memset(calls, 0, sizeof(calls));
	fail_op = -1;
	CHECK(do_publish(&faulty, dfd, "dump-000042.lwd", lws_fill_dump, &big, &step) == 0);
	CHECK(count_entries(path) == 1);
	snprintf(file, sizeof(file), "%s/dump-000042.lwd", path);
	CHECK(lstat(file, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600);
	/* the file is the same as a direct write and parses */
	ref = lwt_build(LWD_KIND_DUMP, lws_fill_dump, &big, &ref_len);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	got = lwt_slurp_fd(fd, &len);
	close(fd);
	CHECK(len == ref_len && !memcmp(got, ref, len));
	lw_file *f = NULL;
	char err[256];
	int rc = lw_file_open(file, &f, err, sizeof(err));
	CHECK(rc == 0, "%s", err);
	lw_file_free(f);
	free(ref);
	free(got);
	/* the fixture is large enough to need header patches by pwrite */
	CHECK(calls[OP_PWRITE] > 0 && calls[OP_WRITE] > 1);
	CHECK(calls[OP_OPENAT] == 2 && calls[OP_FSYNC] == 2 && calls[OP_RENAMEAT] == 1);
	CHECK(calls[OP_UNLINKAT] == 0);
	/* publishing an existing name replaces it atomically (the shim's
	 * sequence numbers make names unique, so this only matters for reruns) */
	CHECK(do_publish(&lw_io_system, dfd, "dump-000042.lwd", lws_fill_dump, &big, &step) == 0);
	CHECK(count_entries(path) == 1);
	close(dfd);
	umask(old);
}

static const char *expected_step(enum op op, int k)
{
	switch (op) {
	case OP_OPENAT: return k == 0 ? "create" : "fsync-dir";
	case OP_WRITE: case OP_PWRITE: return "write";
	case OP_FSYNC: return k == 0 ? "fsync" : "fsync-dir";
	case OP_CLOSE: return "close";
	case OP_RENAMEAT: return "rename";
	default: return "?";
	}
}

static void test_faults(void)
{
	static const int errnos[OP_N] = { EACCES, ENOSPC, ENOSPC, EIO, EIO, EXDEV, 0 };
	int n_calls[OP_N];
	char path[256];
	const char *step;
	int dfd, cases = 0;

	/* count the calls of a successful run */
	dfd = new_dir(path, sizeof(path));
	memset(calls, 0, sizeof(calls));
	fail_op = -1;
	CHECK(do_publish(&faulty, dfd, "snap-000001.lwd", lws_fill_dump, &big, &step) == 0);
	memcpy(n_calls, calls, sizeof(calls));
	close(dfd);

	for (int op = OP_OPENAT; op <= OP_RENAMEAT; op++) {
		/* close: only the first call (the file) can fail the publish;
		 * the directory's close after a successful fsync is ignored. */
		int n = op == OP_CLOSE ? 1 : n_calls[op];

		for (int k = 0; k < n; k++) {
			int rc;

			dfd = new_dir(path, sizeof(path));
			memset(calls, 0, sizeof(calls));
			fail_op = op;
			fail_at = k;
			fail_errno = errnos[op];
			rc = do_publish(&faulty, dfd, "snap-000001.lwd", lws_fill_dump, &big, &step);
			fail_op = -1;
			CHECK(rc == -errnos[op], "%s #%d: rc %d", op_names[op], k, rc);
			CHECK(!strcmp(step, expected_step(op, k)), "%s #%d: step %s, want %s",
			       op_names[op], k, step, expected_step(op, k));
			CHECK(count_entries(path) == 0, "%s #%d: files left behind", op_names[op], k);
			/* after the failure no more writes were attempted */
			if (op == OP_WRITE)
				CHECK(calls[OP_WRITE] == k + 1 && calls[OP_FSYNC] == 0,
				       "write #%d: %d writes, %d fsyncs after the error", k,
				       calls[OP_WRITE], calls[OP_FSYNC]);
			close(dfd);
			cases++;
		}
	}
	CHECK(cases >= 8);
	fprintf(stderr, "fault cases: %d\n", cases);
}

static int fill_enomem(lw_writer *w, void *arg)
{
	lw_writer_section_begin(w, LWD_SEC_STRINGS, 0, 1);
	lw_writer_put(w, "", 1);
	return -ENOMEM;   /* e.g. the shim could not snapshot its tables */
}

static int fill_bad_record(lw_writer *w, void *arg)
{
	uint64_t pc = 0;

	lw_writer_section_begin(w, LWD_SEC_STACKS, 0, 1);
	lw_writer_put_stack(w, &pc, 0, 0);   /* -EINVAL in w->err, return ignored */
	return 0;
}

static void test_fill_failures(void)
{
	char path[256];
	const char *step;
	int dfd = new_dir(path, sizeof(path));

	CHECK(do_publish(&lw_io_system, dfd, "a.lwd", fill_enomem, NULL, &step) == -ENOMEM);
	CHECK(!strcmp(step, "fill"));
	CHECK(count_entries(path) == 0);
	CHECK(do_publish(&lw_io_system, dfd, "a.lwd", fill_bad_record, NULL, &step) == -EINVAL);
	CHECK(!strcmp(step, "write"));
	CHECK(count_entries(path) == 0);
	close(dfd);
}

static void test_planted(void)
{
	char path[256], victim[300], link[300], tmpfile[300];
	const char *step;
	struct stat st;
	int dfd = new_dir(path, sizeof(path));
	int fd;

	/* a symlink at the temporary name pointing at a file we must not create */
	snprintf(victim, sizeof(victim), "%s/victim", root);
	snprintf(link, sizeof(link), "%s/.tmp-snap-000007.lwd", path);
	CHECK(symlink(victim, link) == 0);
	CHECK(do_publish(&lw_io_system, dfd, "snap-000007.lwd", lws_fill, NULL, &step) == -EEXIST);
	CHECK(!strcmp(step, "create"));
	CHECK(lstat(victim, &st) < 0 && errno == ENOENT);        /* never followed */
	CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));     /* not ours: left */
	CHECK(count_entries(path) == 1);

	/* a symlink to an existing file: the file keeps its content */
	fd = open(victim, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && write(fd, "keep", 4) == 4);
	close(fd);
	CHECK(do_publish(&lw_io_system, dfd, "snap-000007.lwd", lws_fill, NULL, &step) == -EEXIST);
	CHECK(lstat(victim, &st) == 0 && st.st_size == 4);

	/* a regular file at the temporary name */
	snprintf(tmpfile, sizeof(tmpfile), "%s/.tmp-snap-000008.lwd", path);
	fd = open(tmpfile, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	close(fd);
	CHECK(do_publish(&lw_io_system, dfd, "snap-000008.lwd", lws_fill, NULL, &step) == -EEXIST);
	CHECK(!strcmp(step, "create"));
	CHECK(lstat(tmpfile, &st) == 0 && st.st_size == 0);
	CHECK(count_entries(path) == 2);
	unlink(link);
	unlink(tmpfile);
	unlink(victim);
	close(dfd);
}

static void test_names(void)
{
	char path[256], longname[300];
	const char *step;
	int dfd = new_dir(path, sizeof(path));

	memset(longname, 'a', 251);
	longname[251] = 0;   /* ".tmp-" + 251 = 256 > NAME_MAX */
	CHECK(do_publish(&lw_io_system, dfd, "", lws_fill, NULL, &step) == -EINVAL);
	CHECK(!strcmp(step, "name"));
	CHECK(do_publish(&lw_io_system, dfd, "../x.lwd", lws_fill, NULL, &step) == -EINVAL);
	CHECK(do_publish(&lw_io_system, dfd, ".", lws_fill, NULL, &step) == -EINVAL);
	CHECK(do_publish(&lw_io_system, dfd, "..", lws_fill, NULL, &step) == -EINVAL);
	CHECK(do_publish(&lw_io_system, dfd, longname, lws_fill, NULL, &step) == -EINVAL);
	longname[250] = 0;   /* exactly NAME_MAX with the prefix */
	CHECK(do_publish(&lw_io_system, dfd, longname, lws_fill, NULL, &step) == 0);
	CHECK(count_entries(path) == 1);
	/* AT_FDCWD works as a directory too (the directory fsync opens ".") */
	char cwd[512];
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK(chdir(path) == 0);
	CHECK(do_publish(&lw_io_system, AT_FDCWD, "cwd.lwd", lws_fill, NULL, &step) == 0);
	CHECK(chdir(cwd) == 0);
	CHECK(count_entries(path) == 2);
	close(dfd);
}

static void test_open_errors(void)
{
	char path[256], file[300];
	lw_file *f = (lw_file *)1;
	char err[256];
	int dfd = new_dir(path, sizeof(path));

	snprintf(file, sizeof(file), "%s/missing.lwd", path);
	CHECK(lw_file_open(file, &f, err, sizeof(err)) == -ENOENT && f == NULL);
	CHECK(strstr(err, "cannot open") != NULL);
	CHECK(lw_file_open(path, &f, err, sizeof(err)) == -EISDIR);
	CHECK(lw_file_open("/dev/null", &f, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "not a regular file") != NULL);
	snprintf(file, sizeof(file), "%s/fifo.lwd", path);
	CHECK(mkfifo(file, 0600) == 0);
	CHECK(lw_file_open(file, &f, err, sizeof(err)) == -EINVAL);   /* and no hang */
	unlink(file);
	snprintf(file, sizeof(file), "%s/garbage.lwd", path);
	int fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	CHECK(write(fd, "LEAKWTCH garbage", 16) == 16);
	close(fd);
	CHECK(lw_file_open(file, &f, err, sizeof(err)) == LWD_EFORMAT);
	CHECK(strstr(err, "truncated inside the 64-byte header") != NULL);
	unlink(file);
	close(dfd);
}

static int rm_tree(const char *p)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
	return system(cmd);
}

int main(void)
{
	if (!mkdtemp(root))
		lwt_die("mkdtemp");
	test_success();
	test_faults();
	test_fill_failures();
	test_planted();
	test_names();
	test_open_errors();
	rm_tree(root);
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
