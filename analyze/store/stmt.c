/* stmt.c — every statement the store runs while loading, prepared once
 * per handle (SQLITE_PREPARE_PERSISTENT) and reset before each use. All
 * SQL is parameterized; the schema is in schema.c and docs/SCHEMA.md.
 */
#include <errno.h>

#include "errors.h"
#include "store_int.h"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_FIND_SNAPSHOT] = "SELECT s.id FROM snapshots s JOIN processes p ON p.id = s.process_id"
			     " WHERE p.run_id = ?1 AND s.seq = ?2",
	[ST_FIND_FILE] = "SELECT 1 FROM files WHERE path = ?1 AND size = ?2 AND mtime_ns = ?3",
	[ST_PUT_FILE] = "INSERT OR REPLACE INTO files(path, size, mtime_ns, snapshot_id)"
			" VALUES(?1, ?2, ?3, ?4)",
	[ST_FIND_PROCESS] = "SELECT id FROM processes WHERE run_id = ?1",
	[ST_PUT_PROCESS] = "INSERT INTO processes(run_id, pid, ppid, parent_run_id, exe, hostname,"
			   " cmdline, start_wall_ns, start_mono_ns, sample_rate)"
			   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[ST_PUT_SNAPSHOT] = "INSERT INTO snapshots(process_id, seq, kind, reason, wall_ns, mono_ns,"
			    " t_s, sample_rate, rss_bytes, peak_rss_bytes, heap_committed,"
			    " heap_peak_committed, alloc_calls, free_calls, n_stacks, n_live,"
			    " path, file_size, exit_status)"
			    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
			    " ?15, ?16, ?17, ?18, ?19)",
	[ST_PUT_MODULE] = "INSERT OR IGNORE INTO modules(process_id, path, build_id, load_bias,"
			  " start, end, first_seq) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_PUT_SEGMENT] = "INSERT OR IGNORE INTO segments(module_id, prot, start, end, file_offset,"
			   " file_size) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_LOAD_STACKS] = "SELECT idx, hash, site_id FROM stacks WHERE process_id = ?1",
	[ST_PUT_STACK] = "INSERT OR REPLACE INTO stacks(process_id, idx, hash, depth, flags, skip,"
			 " pcs, site_id) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_FIND_PC] = "SELECT id FROM pcs WHERE object = ?1 AND offset = ?2",
	[ST_PC_FRAMES] = "SELECT pf.inlined, f.id, f.function, f.file, f.line, f.module"
			 " FROM pc_frames pf JOIN frames f ON f.id = pf.frame_id"
			 " WHERE pf.pc_id = ?1 ORDER BY pf.depth",
	[ST_PUT_PC] = "INSERT INTO pcs(object, offset, n_frames) VALUES(?1, ?2, ?3)",
	[ST_PUT_PC_FRAME] = "INSERT INTO pc_frames(pc_id, depth, frame_id, inlined)"
			    " VALUES(?1, ?2, ?3, ?4)",
	[ST_FIND_FRAME] = "SELECT id FROM frames WHERE function = ?1 AND file = ?2 AND line = ?3"
			  " AND module = ?4",
	[ST_PUT_FRAME] = "INSERT INTO frames(function, file, line, module) VALUES(?1, ?2, ?3, ?4)",
	[ST_FIND_SITE] = "SELECT id FROM sites WHERE key = ?1",
	[ST_PUT_SITE] = "INSERT INTO sites(key, n_frames) VALUES(?1, ?2)",
	[ST_PUT_SITE_FRAME] = "INSERT INTO site_frames(site_id, depth, frame_id, inlined, pc, offset)"
			      " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_PUT_COUNTER] = "INSERT INTO counters(snapshot_id, site_id, n_stacks, alloc_samples,"
			   " alloc_sample_bytes, free_samples, free_sample_bytes, alloc_objects,"
			   " alloc_bytes, free_objects, free_bytes)"
			   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[ST_PUT_LIVE] = "INSERT INTO live_blocks(snapshot_id, addr, size, site_id, stack_idx, tid,"
			" alloc_mono_ns, weight) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
};

int lw_stmt_prepare(sqlite3 *h, sqlite3_stmt **st, char *err, size_t errlen)
{
	for (int i = 0; i < ST_COUNT; i++)
		if (sqlite3_prepare_v3(h, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st[i],
				       NULL) != SQLITE_OK)
			return lw_fail(err, errlen, -EIO, "preparing statement %d: %s", i,
				       sqlite3_errmsg(h));
	return 0;
}

void lw_stmt_reset_all(sqlite3_stmt **st)
{
	for (int i = 0; i < ST_COUNT; i++)
		if (st[i])
			sqlite3_reset(st[i]);
}

void lw_stmt_finalize(sqlite3_stmt **st)
{
	for (int i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(st[i]);
		st[i] = NULL;
	}
}
