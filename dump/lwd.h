/* lwd.h — the .lwd library: the only code that knows the byte layout of
 * include/lwd_format.h. Two halves:
 *
 *   Writer (lw_writer_*): streams a file through a caller-owned buffer and a
 *   table of I/O functions. It never allocates memory, never uses stdio and is
 *   safe to call from the shim's writer thread and from a forked child.
 *   Errors are sticky: the first failing call records -errno in w->err and
 *   every later call returns it, so callers may check once at the end.
 *
 *   Reader (lw_file_*): parses and validates a whole file into memory. Every
 *   length, count, offset, string reference, stack index and CRC is checked
 *   before use; on failure it returns a negative code and writes a one-line
 *   message naming the byte offset and what is wrong. Used by the analyzer,
 *   the tests and the fuzz target; it allocates with malloc.
 *
 * Library code here returns negative errno (or LWD_EFORMAT/LWD_EVERSION) and
 * never logs.
 */
#ifndef LWD_H
#define LWD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lwd_format.h"

#define LWD_EFORMAT (-1000)   /* the bytes are not a valid .lwd file */
#define LWD_EVERSION (-1001)  /* a valid file of a newer major version */
#define LWD_EBASE (-1002)     /* a valid file whose base file (stack file or
			       * keyframe, format minor 2) is missing or is not
			       * the one it refers to */
/* lw_file_open refuses larger files (-EFBIG). The reader needs at most about
 * twice the file size in memory. Additive to the original interface. */
#define LWD_MAX_FILE_SIZE (UINT64_C(4) << 30)

/* ---- I/O table (so tests can inject ENOSPC, EIO, short writes) ---------- */
/* Each function has the contract of the syscall it names: returns -1 and sets
 * errno on failure. */
typedef struct lw_io {
	int (*openat)(int dirfd, const char *path, int flags, mode_t mode);
	ssize_t (*write)(int fd, const void *buf, size_t len);
	ssize_t (*pwrite)(int fd, const void *buf, size_t len, off_t off);
	int (*fsync)(int fd);
	int (*close)(int fd);
	int (*renameat)(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
	int (*unlinkat)(int dirfd, const char *path, int flags);
	/* linkat(2). NULL: lw_publish uses named temporaries only (tables
	 * written before it existed keep working). */
	int (*linkat)(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
		      int flags);
} lw_io;

/* The real syscalls. */
extern const lw_io lw_io_system;

/* ---- Writer ------------------------------------------------------------- */
typedef struct lw_writer {
	const lw_io *io;
	int fd;
	int err;                 /* 0 or the first -errno */
	uint8_t *buf;            /* caller-owned staging buffer */
	size_t cap, len;
	uint64_t off;            /* bytes handed to the kernel so far + len */
	uint32_t n_sections;
	/* open section state */
	int in_section;
	uint64_t sec_off;        /* file offset of the open section's header */
	uint32_t sec_type, sec_flags, sec_count;
	uint64_t sec_len;
	uint32_t sec_crc;
} lw_writer;

/* Starts a file on `fd` (positioned at 0) and writes the header.
 * buf must be at least 4096 bytes. Returns 0 or -errno. */
int lw_writer_begin(lw_writer *w, const lw_io *io, int fd, void *buf, size_t cap,
		    uint32_t kind, uint64_t run_id, uint64_t seq);
/* Opens a section; `count` is the record count stored in its header. */
int lw_writer_section_begin(lw_writer *w, uint32_t type, uint32_t flags, uint32_t count);
/* Appends payload bytes to the open section. */
int lw_writer_put(lw_writer *w, const void *data, size_t len);
int lw_writer_put_u32(lw_writer *w, uint32_t v);
int lw_writer_put_u64(lw_writer *w, uint64_t v);
int lw_writer_put_f64(lw_writer *w, double v);
/* Replaces the record count of the open section (for callers that learn the
 * count only while writing, e.g. while walking a table). Additive to the
 * original interface. */
int lw_writer_section_set_count(lw_writer *w, uint32_t count);
/* Closes the open section: pads, then patches its header (length, CRC). */
int lw_writer_section_end(lw_writer *w);
/* Writes the END section and flushes. Does not fsync or close. */
int lw_writer_finish(lw_writer *w);
/* Writes the staged bytes without END (files without END: stack files). */
int lw_writer_flush(lw_writer *w);

/* Typed record helpers: each encodes one record of include/lwd_format.h
 * into the open section. String fields are offsets the caller obtained by
 * writing the STRINGS section first (see lw_strtab below). */
typedef struct lw_process_info {
	uint32_t pid, ppid;
	uint64_t parent_run_id;
	uint64_t wall_ns, mono_ns, start_wall_ns, start_mono_ns;
	uint64_t sample_rate;
	uint64_t rss_bytes, peak_rss_bytes, heap_committed, heap_peak_committed;
	uint32_t exe_str, cmdline_str, hostname_str;
	uint32_t exe_module;
	uint64_t alloc_calls, free_calls;
	uint32_t reason;
	uint32_t exit_status;    /* 0, or LWD_EXIT_STATUS_KNOWN | status (exit snapshots) */
	uint32_t shim_kib;       /* the shim's own resident memory, KiB (0: unknown) */
} lw_process_info;

typedef struct lw_module_info {
	uint64_t load_bias, start, end;
	uint32_t path_str;
	uint32_t build_id_len;
	uint8_t build_id[LWD_MAX_BUILD_ID];
} lw_module_info;

typedef struct lw_segment_info {
	uint32_t module, prot;
	uint64_t start, end, file_offset, file_size;
} lw_segment_info;

typedef struct lw_counter_info {
	uint32_t stack;
	uint64_t alloc_samples, alloc_sample_bytes, free_samples, free_sample_bytes;
	double alloc_objects_est, alloc_bytes_est, free_objects_est, free_bytes_est;
} lw_counter_info;

typedef struct lw_live_info {
	uint64_t addr, size;
	uint32_t stack, tid;
	uint64_t alloc_mono_ns;
	double weight;
} lw_live_info;

int lw_writer_put_process(lw_writer *w, const lw_process_info *p);
int lw_writer_put_module(lw_writer *w, const lw_module_info *m);
int lw_writer_put_segment(lw_writer *w, const lw_segment_info *s);
int lw_writer_put_stack(lw_writer *w, const uint64_t *pcs, uint32_t depth, uint32_t flags);
int lw_writer_put_counter(lw_writer *w, const lw_counter_info *c);
int lw_writer_put_live(lw_writer *w, const lw_live_info *b);

/* Format minor 2: references to base files (docs/FORMAT.md §4.10). */
typedef struct lw_stack_base_info {
	uint32_t name_str, n_stacks;
	uint64_t length, seq;
	uint32_t crc;
} lw_stack_base_info;

typedef struct lw_counter_base_info {
	uint32_t name_str, flags;
	uint64_t seq, file_size;
	uint32_t crc;
} lw_counter_base_info;

int lw_writer_put_stack_base(lw_writer *w, const lw_stack_base_info *b);
int lw_writer_put_counter_base(lw_writer *w, const lw_counter_base_info *b);

/* Compact counters (CCOUNTERS). lw_cc_wire computes a stack's eight wire
 * values from its counters (the only rounding step); a writer keeps the
 * keyframe's wire values to write later records as differences from them.
 * lw_writer_put_ccounter appends one record: `base` NULL means zeros;
 * *next is the previous record's stack + 1 (start at 0) and is advanced;
 * stacks must be strictly increasing. lw_cc_record_size is the record's
 * encoded size. All three are allocation-free and async-signal-safe. */
void lw_cc_wire(const lw_counter_info *c, uint64_t wire[LWD_CC_FIELDS]);
size_t lw_cc_record_size(uint32_t stack, uint32_t next, const uint64_t *wire,
			 const uint64_t *base);
int lw_writer_put_ccounter(lw_writer *w, uint32_t stack, const uint64_t *wire,
			   const uint64_t *base, uint32_t *next);

/* A string table built in caller memory (no allocation): add strings, get
 * offsets, then write it as the STRINGS section with lw_writer_put_strtab.
 * Offset 0 is the empty string. lw_strtab_add returns the offset, or 0 when
 * the table is full (the string then reads as empty: degraded, never wrong). */
typedef struct lw_strtab {
	char *buf;
	size_t cap, len;
	uint32_t count;
} lw_strtab;
void lw_strtab_init(lw_strtab *t, char *buf, size_t cap);
uint32_t lw_strtab_add(lw_strtab *t, const char *s);
int lw_writer_put_strtab(lw_writer *w, const lw_strtab *t);

/* The temporary a file is written under before it is renamed; one left in
 * a directory belongs to a writer that died or was replaced by exec. */
#define LW_PUBLISH_TMP_PREFIX ".tmp-"

/* Publishes a file atomically in directory `dirfd`: creates a temporary
 * ".tmp-<name>" with O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC mode 0600, calls
 * fill(w, arg) to write sections between lw_writer_begin and
 * lw_writer_finish, fsyncs, renames to `name` and fsyncs the directory.
 * On any failure the temporary is removed. Returns 0 or -errno; *step (if not
 * NULL) names the step that failed ("create", "write", "fsync", "rename", ...). */
typedef int (*lw_fill_fn)(lw_writer *w, void *arg);
int lw_publish(const lw_io *io, int dirfd, const char *name, void *buf, size_t cap,
	       uint32_t kind, uint64_t run_id, uint64_t seq,
	       lw_fill_fn fill, void *arg, const char **step);
/* lw_publish that also reports the size of the published file. */
int lw_publish_sized(const lw_io *io, int dirfd, const char *name, void *buf, size_t cap,
		     uint32_t kind, uint64_t run_id, uint64_t seq,
		     lw_fill_fn fill, void *arg, uint64_t *size, const char **step);

/* ---- Stack files (kind 3, format minor 2) ------------------------------- */
/* The state of a run's stack file as its writer knows it: what snapshots
 * may refer to (len bytes, n_stacks stacks, their CRC) and the identity of
 * the file it created. */
typedef struct lw_stackfile {
	uint64_t run_id, seq;
	uint64_t len;             /* durable bytes: header + whole chunks */
	uint32_t n_stacks;        /* stacks in them */
	uint32_t crc;             /* CRC-32 of the first len bytes */
	uint64_t dev, ino;
} lw_stackfile;

/* Returns stack `id`'s frames and sets *depth (1..LWD_MAX_DEPTH), *flags. */
typedef const uint64_t *(*lw_stack_fn)(void *arg, uint32_t id, uint32_t *depth,
				       uint32_t *flags);

/* Creates stack file `name` in dirfd holding stacks 0..n-1, published
 * atomically like lw_publish (a reader never sees it half-written). */
int lw_stackfile_create(const lw_io *io, int dirfd, const char *name, uint64_t run_id,
			uint64_t seq, uint32_t n, lw_stack_fn get, void *arg,
			void *buf, size_t cap, lw_stackfile *sf, const char **step);
/* Appends stacks sf->n_stacks..n-1 to the file that lw_stackfile_create made
 * (opened with O_NOFOLLOW; it must still be that inode, at least sf->len
 * bytes long; bytes past sf->len, left by an append that failed, are cut
 * off) and fsyncs it. On success sf describes the longer prefix; on failure
 * sf is unchanged and the first sf->len bytes are untouched. */
int lw_stackfile_append(const lw_io *io, int dirfd, const char *name, uint32_t n,
			lw_stack_fn get, void *arg, void *buf, size_t cap,
			lw_stackfile *sf, const char **step);

/* ---- Reader ------------------------------------------------------------- */
typedef struct lw_process {
	uint32_t pid, ppid;
	uint64_t parent_run_id;
	uint64_t wall_ns, mono_ns, start_wall_ns, start_mono_ns;
	uint64_t sample_rate;
	uint64_t rss_bytes, peak_rss_bytes, heap_committed, heap_peak_committed;
	const char *exe, *cmdline, *hostname;   /* never NULL */
	uint32_t exe_module;                     /* LWD_NONE or < n_modules */
	uint64_t alloc_calls, free_calls;
	uint32_t reason;
	uint32_t exit_status;                    /* 0, or LWD_EXIT_STATUS_KNOWN | status */
	uint32_t shim_kib;                       /* 0 before format 1.2 */
} lw_process;

typedef struct lw_module {
	uint64_t load_bias, start, end;
	const char *path;                        /* never NULL */
	uint32_t build_id_len;
	uint8_t build_id[LWD_MAX_BUILD_ID];
} lw_module;

typedef struct lw_segment {
	uint32_t module, prot;                   /* module < n_modules */
	uint64_t start, end, file_offset, file_size;
} lw_segment;

typedef struct lw_stack {
	uint32_t depth, flags;                   /* 1 <= depth <= LWD_MAX_DEPTH */
	const uint64_t *pcs;                     /* depth entries, innermost first */
} lw_stack;

typedef struct lw_counter {
	uint32_t stack;                          /* < n_stacks */
	uint64_t alloc_samples, alloc_sample_bytes, free_samples, free_sample_bytes;
	double alloc_objects_est, alloc_bytes_est, free_objects_est, free_bytes_est;
} lw_counter;

typedef struct lw_live_block {
	uint64_t addr, size;
	uint32_t stack, tid;                     /* stack < n_stacks */
	uint64_t alloc_mono_ns;
	double weight;
} lw_live_block;

/* A reference to a base file (format minor 2). */
typedef struct lw_base_ref {
	uint32_t type;            /* LWD_SEC_STACK_BASE or LWD_SEC_COUNTER_BASE */
	const char *name;         /* a file name in the same directory (no '/') */
	uint64_t seq;             /* the base's header seq */
	uint64_t length;          /* stack base: prefix bytes; keyframe: file size */
	uint32_t crc;             /* prefix CRC / the keyframe's CCOUNTERS CRC */
	uint32_t n_stacks;        /* stack base: stacks used */
	uint32_t flags;           /* keyframe: LWD_CBASEF_* */
} lw_base_ref;

typedef struct lw_file {
	uint16_t version_major, version_minor;
	uint32_t kind;
	uint64_t run_id, seq;
	lw_process process;
	size_t n_modules;   lw_module *modules;
	size_t n_segments;  lw_segment *segments;
	size_t n_stacks;    lw_stack *stacks;
	size_t n_counters;  lw_counter *counters;
	size_t n_live;      lw_live_block *live;
	size_t file_size;
	void *priv_;        /* owned storage; do not touch */
	/* Base files this file refers to (0..2; in order STACK_BASE,
	 * COUNTER_BASE). While `unresolved` (a file with bases parsed alone by
	 * lw_file_parse), stacks and counters are empty (n_stacks = n_counters
	 * = 0), and so are modules and segments if they come from the keyframe
	 * (process.exe_module is then LWD_NONE); lw_file_resolve fills them. */
	size_t n_bases;
	const lw_base_ref *bases;
	int unresolved;
} lw_file;

/* Parses and validates `len` bytes. On success *out owns copies of everything
 * it needs (buf may be freed). Returns 0, -ENOMEM, LWD_EFORMAT or
 * LWD_EVERSION; on error writes a message to err (if errlen > 0). */
int lw_file_parse(const void *buf, size_t len, lw_file **out, char *err, size_t errlen);
/* Reads and parses a file and resolves its base files in the directory the
 * file really is in (symbolic links resolved). Also returns -errno for I/O
 * errors and LWD_EBASE when a base is missing or does not match; the
 * message then names the base file. */
int lw_file_open(const char *path, lw_file **out, char *err, size_t errlen);

/* Reads base file `name` for lw_file_resolve: on success *buf (malloc'd)
 * holds the file's first min(want, size) bytes, or want + 1 bytes when the
 * file is longer, with the count in *len. Returns 0 or -errno with a
 * message. */
typedef int (*lw_base_read_fn)(void *arg, const char *name, uint64_t want,
			       uint8_t **buf, size_t *len, char *err, size_t errlen);
/* The reader lw_file_open uses: arg points at a directory fd (int). Opens
 * with O_NONBLOCK and refuses anything but a regular file. */
int lw_base_read_dir(void *arg, const char *name, uint64_t want, uint8_t **buf,
		     size_t *len, char *err, size_t errlen);
/* Verifies f's base files and fills its stacks, counters (and modules)
 * from them. 0 (also for a file without bases), -ENOMEM, -errno from
 * `read`, LWD_EBASE or LWD_EFORMAT. On failure f is unchanged (still
 * unresolved). */
int lw_file_resolve(lw_file *f, lw_base_read_fn read, void *arg, char *err, size_t errlen);
void lw_file_free(lw_file *f);

/* Raw access to a section the parser validated (bounds and CRC) but does not
 * decode itself (the heap-graph sections, decoded by dump/lwd_graph.c).
 * Returns 0 and sets *data, *len, *count; -ENOENT if the file has none.
 * The bytes stay valid until lw_file_free. */
int lw_file_section(const lw_file *f, uint32_t type, const uint8_t **data,
		    uint64_t *len, uint32_t *count);

/* CRC-32 (zlib polynomial), usable incrementally: crc = lw_crc32(crc, p, n),
 * starting from 0. Async-signal-safe. */
uint32_t lw_crc32(uint32_t crc, const void *data, size_t len);

#endif /* LWD_H */
