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
} lw_file;

/* Parses and validates `len` bytes. On success *out owns copies of everything
 * it needs (buf may be freed). Returns 0, -ENOMEM, LWD_EFORMAT or
 * LWD_EVERSION; on error writes a message to err (if errlen > 0). */
int lw_file_parse(const void *buf, size_t len, lw_file **out, char *err, size_t errlen);
/* Reads and parses a file. Also returns -errno for I/O errors. */
int lw_file_open(const char *path, lw_file **out, char *err, size_t errlen);
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
