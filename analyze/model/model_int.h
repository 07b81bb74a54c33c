/* model_int.h — what model.c (the site catalog, folding, snapshots) and
 * views.c (profiles, series) share: the model's state and the query
 * helpers. Not for use outside analyze/model/.
 */
#ifndef LW_MODEL_INT_H
#define LW_MODEL_INT_H

#include "arena.h"
#include "hashmap.h"
#include "model.h"

struct lw_model {
	lw_db *db;
	int in_txn;              /* holds the read transaction */
	lw_model_opts opts;
	lw_map strings;          /* interned function, file and module names */
	/* the store's sites, as stored, in id order */
	size_t n_raw;
	lw_site *raw;
	lw_sym_frame *raw_frames; /* every raw site's frames, back to back */
	lw_map raw_index;        /* sites.id → index into raw */
	/* the sites after folding; fold_of[i] is raw[i]'s */
	lw_arena fold_arena;     /* keys and wrapper lists of the folded sites */
	size_t n_sites;
	lw_site *sites;
	uint32_t *fold_of;
	lw_wrappers wrappers;
	const char **wrapper_names;   /* folded into some site, sorted */
	size_t n_wrapper_names;
};

/* ---- model.c ---- */
sqlite3_stmt *lw_model_prep(const lw_model *m, const char *sql);
uint64_t lw_model_u64(sqlite3_stmt *st, int col);
#define LW_SNAP_COLUMNS \
	"SELECT s.id, s.process_id, p.run_id, s.seq, s.kind, p.pid, p.exe, s.wall_ns," \
	" s.t_s, s.sample_rate, s.rss_bytes, s.heap_committed, s.path, p.cmdline," \
	" s.reason, s.exit_status" \
	" FROM snapshots s JOIN processes p ON p.id = s.process_id"
/* Rows of LW_SNAP_COLUMNS into a malloc'd array, strings in a. */
int lw_model_read_snapshots(sqlite3_stmt *st, lw_arena *a, lw_snapshot **out, size_t *n_out);
/* Index into m->sites of a store site id; -1 if unknown. */
long lw_model_fold_index(const lw_model *m, int64_t store_site_id);

#endif
