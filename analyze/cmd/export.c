/* cmd/export.c — `leakwatch export PATH... --format pprof|collapsed|text
 * -o FILE [--snapshot SEQ] [--sample TYPE]`.
 *
 * Role: picks one snapshot (default: the first process's latest), encodes it
 * with pprof.c and publishes FILE atomically: a temporary file next to it
 * created O_CREAT|O_EXCL|O_NOFOLLOW mode 0600, written, fsync'd, renamed
 * over FILE; on any failure the temporary is removed and FILE is untouched.
 * An existing device or FIFO (/dev/null, /dev/stdout) is written in place,
 * never renamed over; a symbolic link to a regular file is refused.
 * "-o -" writes to standard output. --sample picks the value of the
 * collapsed format (default inuse_space); pprof carries all four types and
 * text carries inuse and alloc.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "errors.h"
#include "pprof.h"
#include "report.h"
#include "units.h"

enum export_format { FMT_PPROF, FMT_COLLAPSED, FMT_TEXT };

static void usage(FILE *out)
{
	fputs("usage: leakwatch export PATH... --format pprof|collapsed|text -o FILE\n"
	      "                        [--snapshot SEQ] [--sample inuse_space|inuse_objects|"
	      "alloc_space|alloc_objects]\n", out);
}

static int write_format(const lw_profile *p, enum export_format f, enum lw_sample_type t,
			FILE *out)
{
	switch (f) {
	case FMT_PPROF:
		return lw_pprof_write(p, out);
	case FMT_COLLAPSED:
		return lw_export_collapsed(p, t, out);
	case FMT_TEXT:
		return lw_export_heap_text(p, out);
	}
	return -EINVAL;
}

/* Writes straight into an existing character device or FIFO (/dev/null,
 * /dev/stdout, a named pipe): renaming over those would replace the device
 * node itself. No O_CREAT, so nothing new can be created this way. */
static int write_special(const char *path, const lw_profile *p, enum export_format f,
			 enum lw_sample_type t, const char **step)
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
	int rc = write_format(p, f, t, out);
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

/* Writes to `path`: a new or regular file is replaced atomically (temporary
 * file, fsync, rename); an existing device or FIFO, also behind a symbolic
 * link (/dev/stdout), is written in place; a symbolic link to anything else,
 * a directory or another kind of file is refused (-ELOOP / -EISDIR /
 * -EEXIST), so nothing is ever replaced through a link.
 * Returns 0 or -errno; *step names what failed. */
static int publish(const char *path, const lw_profile *p, enum export_format f,
		   enum lw_sample_type t, const char **step)
{
	struct stat lst, st;
	if (lstat(path, &lst) == 0) {
		int special = S_ISCHR(lst.st_mode) || S_ISFIFO(lst.st_mode);
		if (S_ISLNK(lst.st_mode) && stat(path, &st) == 0)
			special = S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode);
		if (special)
			return write_special(path, p, f, t, step);
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
	int rc = write_format(p, f, t, out);
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

int lw_cmd_export(int argc, char **argv)
{
	enum { OPT_FORMAT = 256, OPT_SNAPSHOT, OPT_SAMPLE };
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "output", required_argument, NULL, 'o' },
		{ "snapshot", required_argument, NULL, OPT_SNAPSHOT },
		{ "sample", required_argument, NULL, OPT_SAMPLE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int have_format = 0;
	enum export_format fmt = FMT_PPROF;
	enum lw_sample_type sample = LW_INUSE_SPACE;
	const char *output = NULL;
	int64_t seq = -1;
	lw_set_command("export");

	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			have_format = 1;
			if (!strcmp(optarg, "pprof"))
				fmt = FMT_PPROF;
			else if (!strcmp(optarg, "collapsed"))
				fmt = FMT_COLLAPSED;
			else if (!strcmp(optarg, "text"))
				fmt = FMT_TEXT;
			else {
				lw_error("--format '%s': expected pprof, collapsed or text", optarg);
				return 2;
			}
			break;
		case 'o':
			output = optarg;
			break;
		case OPT_SNAPSHOT: {
			uint64_t s;
			if (lw_parse_u64(optarg, &s) || s > INT64_MAX) {
				lw_error("--snapshot '%s': expected a sequence number", optarg);
				return 2;
			}
			seq = (int64_t)s;
			break;
		}
		case OPT_SAMPLE: {
			int t = lw_sample_type_parse(optarg);
			if (t < 0) {
				lw_error("--sample '%s': expected inuse_space, inuse_objects, "
					 "alloc_space or alloc_objects", optarg);
				return 2;
			}
			sample = (enum lw_sample_type)t;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			return lw_opt_error(c, argv, optind, usage);
		}
	}
	if (!have_format) {
		lw_error("missing --format pprof|collapsed|text");
		usage(stderr);
		return 2;
	}
	if (!output || !output[0]) {
		lw_error("missing -o FILE (use '-o -' for standard output)");
		usage(stderr);
		return 2;
	}
	if (optind >= argc) {
		lw_error("missing PATH (a .lwd file, a directory of them, or a database)");
		usage(stderr);
		return 2;
	}
	if (fmt == FMT_PPROF && !strcmp(output, "-") && isatty(STDOUT_FILENO)) {
		lw_error("'-o -': refusing to write a binary profile to a terminal");
		return 2;
	}

	char err[1024];
	lw_db *db = NULL;
	lw_profile prof;
	if (lw_report_open_profile(argv + optind, (size_t)(argc - optind), seq, &db, &prof, err,
				   sizeof(err))) {
		lw_error("%s", err);
		return 1;
	}
	int status = 0;
	if (!strcmp(output, "-")) {
		int rc = write_format(&prof, fmt, sample, stdout);
		if (rc || fflush(stdout)) {
			lw_error("'-': cannot write: %s", strerror(rc ? -rc : EIO));
			status = 1;
		}
	} else {
		const char *step = "";
		int rc = publish(output, &prof, fmt, sample, &step);
		if (rc == -ELOOP && !strcmp(step, "replace")) {
			lw_error("'%s': is a symbolic link to a file; not replacing it", output);
			status = 1;
		} else if (rc) {
			lw_error("'%s': %s failed: %s", output, step, strerror(-rc));
			status = 1;
		}
	}
	lw_profile_free(&prof);
	lw_db_close(db);
	return status;
}
