/* model.h — the analyzer's view of a store (db.h): the sites of the site
 * model (site.h) with wrappers folded, snapshot lists, one snapshot's
 * profile by site, and per-process time series. Reports, the export
 * formats and the heap graph read the store only through here.
 *
 *   .lwd files → store (sites) → model → reports / heap graph
 *
 * lw_model_open reads every site of the store once, detects wrappers
 * (unless told not to), folds them, and holds one read transaction until
 * lw_model_close, so every result comes from the same state of the store
 * even while another command loads into it.
 *
 * Values are unbiased estimates (docs/FORMAT.md, COUNTERS): inuse = alloc -
 * free. Times are seconds since the process's shim started.
 *
 * Ownership: results are the caller's, released with the matching *_free;
 * their sites (frames, keys) belong to the model and stay valid until
 * lw_model_close, so free results first.
 *
 * Errors: every function returns 0 or a negative errno (-ENOENT no such
 * snapshot, -ENOMEM, -EIO a query failed, -EINVAL a bad --wrapper
 * pattern); on error the output is left empty and needs no *_free.
 */
#ifndef LW_MODEL_H
#define LW_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "frame.h"
#include "site.h"

typedef struct lw_values {
	double alloc_objects, alloc_bytes;
	double inuse_objects, inuse_bytes;
} lw_values;

/* Sample types, in pprof's names. */
enum lw_sample_type {
	LW_INUSE_SPACE = 0, LW_INUSE_OBJECTS, LW_ALLOC_SPACE, LW_ALLOC_OBJECTS,
	LW_N_SAMPLE_TYPES
};
double lw_values_get(const lw_values *v, enum lw_sample_type t);
/* Parses "inuse_space" etc.; returns -1 if unknown. */
int lw_sample_type_parse(const char *name);
const char *lw_sample_type_name(enum lw_sample_type t);

/* ---- the model ------------------------------------------------------------- */

typedef struct lw_model lw_model;

typedef struct lw_model_opts {
	int no_wrappers;                /* --no-wrappers: no automatic detection */
	const char *const *wrappers;    /* --wrapper REGEX, each a wrapper pattern */
	size_t n_wrappers;
} lw_model_opts;

/* Opens the model of db (opts may be NULL: detect wrappers). The model
 * borrows db, which must outlive it. 0, or a negative errno with a message
 * in err. */
int lw_model_open(lw_db *db, const lw_model_opts *opts, lw_model **out, char *err,
		  size_t errlen);
void lw_model_close(lw_model *m);
lw_db *lw_model_db(const lw_model *m);

/* The wrapper functions folded into at least one site, sorted by name. */
size_t lw_model_wrappers(const lw_model *m, const char *const **names);
/* Refolds with exactly these wrapper functions (no detection, no pattern):
 * two models compared site by site (diff) must fold alike. Results made
 * before are invalid afterwards. 0 or -ENOMEM. */
int lw_model_set_wrappers(lw_model *m, const char *const *names, size_t n);

/* The site a store site (sites.id, as stacks and counters name it) belongs
 * to, or NULL for an unknown id. */
const lw_site *lw_model_site(const lw_model *m, int64_t store_site_id);

/* ---- modules without debug information -------------------------------------- */

typedef struct lw_nodebug {
	const char *module;         /* base name, as the frames name it */
	const char *path;           /* as the process mapped it; "" if not recorded */
	const char *build_id;       /* hex; "" when the module had none */
	const char *package;        /* Debian package that installed path; "" if none */
	const char *debug_package;  /* the package with its debug information; "" if none */
	size_t frames;              /* frames of the sites in this module */
	size_t unnamed;             /* of them, functions without a symbol ("??") */
} lw_nodebug;

/* The modules whose missing symbols or debug information the sites show:
 * a module with a frame whose function is unknown, or one that holds some
 * site's allocation call site and gives none of its frames a source line
 * (frames below main and a thread's C library start-up frames aside).
 * Most frames first. Computed on the first call (the package lookup reads
 * dpkg's file lists); the array belongs to the model. 0 or a negative
 * errno (then *n is 0). */
int lw_model_nodebug(lw_model *m, const lw_nodebug **out, size_t *n);

/* ---- snapshots ------------------------------------------------------------- */

typedef struct lw_snapshot {
	int64_t id;             /* snapshots.id */
	int64_t process_id;     /* processes.id */
	uint64_t run_id, seq;
	uint32_t kind;          /* LWD_KIND_* */
	uint32_t pid;
	const char *exe;        /* absolute path of the executable */
	const char *name;       /* the process as it was started (lw_proc_name) */
	uint64_t wall_ns;
	double t_s;             /* seconds since the shim started in that process */
	uint64_t sample_rate;
	uint64_t rss_bytes, heap_committed;
	const char *path;       /* file it was loaded from */
	uint32_t reason;        /* LWD_REASON_*: LWD_REASON_EXIT is the exit snapshot,
	                         * written after the program's teardown */
	int exit_status;        /* exit snapshot: the status given to exit(), -1 unknown;
	                         * -1 in every other snapshot */
} lw_snapshot;

/* 1 for the snapshot a process writes at exit, after its own teardown
 * freed what it held: reports show the one before it by default. */
int lw_snapshot_is_exit(const lw_snapshot *s);
/* "exit snapshot", "dump" or "snapshot". */
const char *lw_snapshot_kind_name(const lw_snapshot *s);

typedef struct lw_snapshot_list {
	size_t n;
	lw_snapshot *v;         /* ordered by process, then seq */
	void *priv_;            /* owns the strings */
} lw_snapshot_list;

/* All snapshots in the store (both kinds). */
int lw_model_snapshots(lw_model *m, lw_snapshot_list *out);
void lw_snapshot_list_free(lw_snapshot_list *l);
/* The store ids of a run's snapshot (run_id, seq), e.g. a dump file's, and
 * of its process. -ENOENT when the store does not have it. */
int lw_model_find_snapshot(lw_model *m, uint64_t run_id, uint64_t seq, int64_t *snapshot_id,
			   int64_t *process_id);

/* ---- one snapshot by site ---------------------------------------------------- */

/* Mappings: executable segments of the modules loaded by then, ordered by
 * address, for export. */
typedef struct lw_mapping {
	uint64_t start, end, file_offset;   /* executable segment, runtime */
	const char *path;
	const char *build_id_hex;           /* "" if none */
} lw_mapping;

typedef struct lw_profile {
	lw_snapshot snap;
	size_t n;
	lw_site *sites;         /* sites with non-zero values, in id order */
	lw_values *values;      /* values[i] belongs to sites[i] */
	lw_values total;
	size_t n_mappings;
	lw_mapping *mappings;
	/* raw pcs per site (for pprof locations): the first raw stack (lowest
	 * stack index) of the snapshot's process that belongs to sites[i],
	 * without its leading allocator-only pcs; site i has raw_depth[i] pcs */
	uint32_t *raw_depth;
	uint64_t **raw_pcs;
	/* wrapper functions folded into these sites, sorted: outputs list them */
	size_t n_wrappers;
	const char *const *wrappers;
	/* the model's modules without debug information (lw_model_nodebug) */
	size_t n_nodebug;
	const lw_nodebug *nodebug;
	/* set by the caller: the process shown and the others, which outputs
	 * mention (lw_report_print_process); NULL: nothing said */
	const struct lw_proc_choice *proc;
	void *priv_;
} lw_profile;

int lw_model_profile(lw_model *m, int64_t snapshot_id, lw_profile *out);
void lw_profile_free(lw_profile *p);

/* ---- time series --------------------------------------------------------------- */

/* The sampled blocks behind a site's estimates at one snapshot (COUNTERS,
 * cumulative since the process started): what the estimates' sampling
 * noise depends on. In use = alloc - free. */
typedef struct lw_samples {
	uint64_t alloc, alloc_bytes, free, free_bytes;
} lw_samples;

/* One process: values[s * n_snaps + k] is site s at snapshot k. */
typedef struct lw_series {
	int64_t process_id;
	const char *exe;
	const char *name;       /* as started (lw_proc_name) */
	uint32_t pid;
	size_t n_snaps;
	lw_snapshot *snaps;     /* ordered by seq; the exit snapshot only when the
	                         * process wrote nothing else (lw_snapshot_is_exit) */
	size_t n_sites;
	lw_site *sites;
	lw_values *values;      /* n_sites * n_snaps */
	lw_samples *samples;    /* n_sites * n_snaps, like values */
	void *priv_;
} lw_series;

/* One series per process in the store, processes ordered by first load. */
typedef struct lw_series_list {
	size_t n;
	lw_series *v;
	size_t n_wrappers;               /* wrapper functions folded, sorted */
	const char *const *wrappers;
} lw_series_list;

int lw_model_series(lw_model *m, lw_series_list *out);
/* The series of the processes ids[0..n_ids) (processes.id; n_ids 0: all,
 * as lw_model_series), ordered by id. */
int lw_model_series_of(lw_model *m, const int64_t *ids, size_t n_ids, lw_series_list *out);
void lw_series_list_free(lw_series_list *l);

/* ---- processes ------------------------------------------------------------------ */

/* Processes (one per run) with what a report's summary names: ids, the
 * parent run (fork children, programs a watched process started), host,
 * command line, the name it was started by, the executable's build-id,
 * and how it ended. Ordered by store id (first load), like lw_model_series.
 * Defined in process.c, like everything below. */
typedef struct lw_proc_info {
	int64_t id;             /* processes.id */
	uint64_t run_id, parent_run_id;   /* parent_run_id 0: started by no watched process */
	uint32_t pid, ppid;
	const char *exe, *hostname, *cmdline;
	const char *name;                 /* as started (lw_proc_name) */
	const char *build_id_hex;         /* of the executable's module, "" if unknown */
	uint64_t start_wall_ns, sample_rate;
	unsigned depth;                   /* '/' in the shallowest path of its files */
	int64_t exit_seq;                 /* its exit snapshot, -1 when it wrote none */
	int exit_status;                  /* given to exit(), -1 unknown or no exit snapshot */
	double exit_t_s;
} lw_proc_info;

typedef struct lw_proc_list {
	size_t n;
	lw_proc_info *v;
} lw_proc_list;

int lw_model_processes(lw_model *m, lw_proc_list *out);
void lw_proc_list_free(lw_proc_list *l);

/* The name a process was started by, into buf: the last component of
 * argv[0] (the first word of the command line the shim records), else of
 * the executable's path. A program started through a symbolic link (Debian's
 * redis-server → redis-check-rdb) is named by the link. */
#define LW_PROC_NAME_MAX 64
const char *lw_proc_name(const char *cmdline, const char *exe, char *buf, size_t len);
/* The status an exit snapshot recorded (stored as docs/FORMAT.md says:
 * 0x100 + the status), or -1 when it is unknown. */
int lw_exit_status_decode(int64_t stored);

/* Which process a report shows. By default the watched one: the process
 * at the top of the process tree (no parent among the loaded processes)
 * whose files lie shallowest in the inputs (the process `leakwatch run`
 * started owns the top of its directory; what it starts writes below),
 * first loaded among equals, and then followed across exec (the same pid
 * and parent: the last program it ran). A filter narrows the candidates
 * to a pid and/or a name (as started, or the executable's file name). */
typedef struct lw_proc_filter {
	int64_t pid;            /* 0: any */
	const char *name;       /* NULL: any */
} lw_proc_filter;

enum lw_chosen_by { LW_CHOSEN_WATCHED = 0, LW_CHOSEN_PID, LW_CHOSEN_NAME };

#define LW_PROC_NAMES 8
typedef struct lw_name_count {
	char name[LW_PROC_NAME_MAX];
	size_t count;
} lw_name_count;

typedef struct lw_proc_choice {
	int64_t process_id;                 /* processes.id of the chosen process */
	uint32_t pid;
	char name[LW_PROC_NAME_MAX];        /* as started */
	enum lw_chosen_by by;
	char exec_from[LW_PROC_NAME_MAX];   /* the program it ran before its last exec, "" */
	int64_t exit_seq;                   /* how it ended: lw_proc_info */
	int exit_status;
	double exit_t_s;
	size_t n_others;                    /* the other processes in the store */
	size_t n_names;                     /* their names, most frequent first */
	lw_name_count names[LW_PROC_NAMES];
	int more_names;                     /* more names than LW_PROC_NAMES */
	char where[256];                    /* the inputs, as the command names them */
} lw_proc_choice;

/* 0, -ENOENT when no process matches (err lists those there are), or
 * another negative errno. */
int lw_model_choose_process(lw_model *m, const lw_proc_filter *f, lw_proc_choice *out,
			    char *err, size_t errlen);
/* The processes judged together with the chosen one c (a growth ranking):
 * c's process and, unless c was chosen by pid, every process started under
 * the same name (restarts of the program), their ids ascending into *ids
 * (n_ids; free() it). c's count of other processes and their names is
 * redone without them, so its "also in" line names the programs left out.
 * 0, -ENOENT (c's process is not in m) or another negative errno. */
int lw_model_program(lw_model *m, lw_proc_choice *c, int64_t **ids, size_t *n_ids);
/* The others' names as one phrase, most frequent first: "readlink ×38,
 * dirname, bash" ("…" when there are more names than LW_PROC_NAMES).
 * Returns buf. */
const char *lw_proc_names_line(const lw_proc_choice *c, char *buf, size_t len);

#endif
