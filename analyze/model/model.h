/* model.h — the analyzer's in-memory view of loaded data, built from the
 * SQLite store (db.h). Reporting commands (top, diff, growth, export,
 * retainers) read only through this header; they never issue SQL themselves.
 *
 * Identity: a *site* is a symbolized stack — the list of (function, file,
 * line, module) frames with the allocation call site first and allocator /
 * shim frames removed. Two raw stacks from different runs (ASLR, restarts,
 * rebuilds that keep the code) that symbolize to the same frames are the same
 * site. Site ids are stable within one database.
 *
 * Values are unbiased estimates (see docs/FORMAT.md, COUNTERS):
 * inuse = alloc - free. Times are seconds since the process's shim started.
 *
 * Ownership: every lw_model_* result is owned by the caller and released with
 * the matching *_free function. Strings inside point into the result.
 *
 * Errors: every lw_model_* function returns 0, or a negative errno
 * (-ENOENT: no such snapshot, -ENOMEM, -EIO: a query failed); on error the
 * output is left empty and needs no *_free.
 */
#ifndef LW_MODEL_H
#define LW_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "frame.h"

typedef struct lw_site {
	int64_t id;             /* sites.id in the store */
	size_t n_frames;
	lw_sym_frame *frames;   /* call site first */
} lw_site;

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

typedef struct lw_snapshot {
	int64_t id;             /* snapshots.id */
	int64_t process_id;     /* processes.id */
	uint64_t run_id, seq;
	uint32_t kind;          /* LWD_KIND_* */
	uint32_t pid;
	const char *exe;
	uint64_t wall_ns;
	double t_s;             /* seconds since the shim started in that process */
	uint64_t sample_rate;
	uint64_t rss_bytes, heap_committed;
	const char *path;       /* file it was loaded from */
} lw_snapshot;

typedef struct lw_snapshot_list {
	size_t n;
	lw_snapshot *v;         /* ordered by process, then seq */
	void *priv_;            /* owns the strings */
} lw_snapshot_list;

/* All snapshots in the store (both kinds). */
int lw_model_snapshots(lw_db *db, lw_snapshot_list *out);
void lw_snapshot_list_free(lw_snapshot_list *l);

/* One snapshot's figures per site, sites in id order: sites with all-zero
 * values are omitted. Mappings (executable segments of the modules loaded by
 * then, ordered by address) are included for export. raw_pcs[i] is the first
 * raw stack (lowest stack index) of the snapshot's process that symbolized to
 * sites[i], without its leading allocator-only pcs. */
typedef struct lw_mapping {
	uint64_t start, end, file_offset;   /* executable segment, runtime */
	const char *path;
	const char *build_id_hex;           /* "" if none */
} lw_mapping;

typedef struct lw_profile {
	lw_snapshot snap;
	size_t n;
	lw_site *sites;
	lw_values *values;      /* values[i] belongs to sites[i] */
	lw_values total;
	size_t n_mappings;
	lw_mapping *mappings;
	/* raw pcs per site (for pprof locations): site i has raw_depth[i] pcs */
	uint32_t *raw_depth;
	uint64_t **raw_pcs;
	void *priv_;
} lw_profile;

int lw_model_profile(lw_db *db, int64_t snapshot_id, lw_profile *out);
void lw_profile_free(lw_profile *p);

/* The sampled blocks behind a site's estimates at one snapshot (COUNTERS,
 * cumulative since the process started): what the estimates' sampling
 * noise depends on. In use = alloc - free. */
typedef struct lw_samples {
	uint64_t alloc, alloc_bytes, free, free_bytes;
} lw_samples;

/* Time series of one process: values[s * n_snaps + k] is site s at snapshot k. */
typedef struct lw_series {
	int64_t process_id;
	const char *exe;
	uint32_t pid;
	size_t n_snaps;
	lw_snapshot *snaps;     /* ordered by seq */
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
} lw_series_list;

int lw_model_series(lw_db *db, lw_series_list *out);
void lw_series_list_free(lw_series_list *l);

/* Processes (one per run) with what a report's summary names: ids, the
 * parent run (fork children), host, command line and the executable's
 * build-id. Ordered by store id (first load), like lw_model_series.
 * Defined in process.c. */
typedef struct lw_proc_info {
	int64_t id;             /* processes.id */
	uint64_t run_id, parent_run_id;   /* parent_run_id 0: not a fork child */
	uint32_t pid, ppid;
	const char *exe, *hostname, *cmdline;
	const char *build_id_hex;         /* of the executable's module, "" if unknown */
	uint64_t start_wall_ns, sample_rate;
} lw_proc_info;

typedef struct lw_proc_list {
	size_t n;
	lw_proc_info *v;
} lw_proc_list;

int lw_model_processes(lw_db *db, lw_proc_list *out);
void lw_proc_list_free(lw_proc_list *l);

#endif
