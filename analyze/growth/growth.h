/* growth.h — the growth ranking of a store, as one call.
 *
 * lw_growth_rank() judges every site of the processes asked for (trend.h;
 * the commands ask for one program and its restarts: lw_model_program),
 * adjusts all their p-values together (Benjamini–Hochberg: one family,
 * restarts included), ranks the sites most suspect first, and works
 * out what could not be seen: the detection limit of every site and of
 * every process, and how long to keep watching to see a leak of a given
 * size. `leakwatch growth` prints this report and `leakwatch report` draws
 * it; neither computes a figure of its own, so both always agree.
 *
 * Usage:
 *     lw_series_list l;                    (model.h: lw_model_series)
 *     lw_growth_opts o;
 *     lw_growth_opts_default(&o);          (then set o.sample, o.min_snaps)
 *     lw_growth_report g;
 *     if (lw_growth_rank(&l, &o, &g) == 0) {
 *             for (size_t i = 0; i < g.n_sites; i++)   (rank = i + 1)
 *                     ... g.sites[i].r.verdict, .slope_bytes, .detectable ...
 *             lw_growth_report_free(&g);
 *     }
 * The report points into `l` (processes, sites, frames): keep the list
 * alive while the report is used.
 *
 * Ranking: verdict (leak, growing, plateau, stable), then slope (largest
 * first), then the latest value, then process and site id (deterministic).
 * Sites that are zero in every snapshot of a process are left out;
 * processes with fewer than min_snaps snapshots are listed as skipped.
 *
 * Errors: 0, -EINVAL (bad options), -ENOMEM. No I/O, single-threaded.
 */
#ifndef LW_GROWTH_H
#define LW_GROWTH_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "model.h"
#include "trend.h"

typedef struct lw_growth_opts {
	enum lw_sample_type sample;  /* LW_INUSE_SPACE (default) or LW_INUSE_OBJECTS */
	size_t min_snaps;            /* >= 3 (default 3) */
	double watch_slope;          /* the leak the watch-time advice is about,
	                              * bytes/s (default 1024) */
	/* the processes judged (processes.id, n_only of them), read during
	 * the call only; NULL: every process of the list */
	const int64_t *only;
	size_t n_only;
	/* optional progress: called every few sites with (done, total) */
	void (*progress)(void *arg, size_t done, size_t total);
	void *progress_arg;
} lw_growth_opts;
void lw_growth_opts_default(lw_growth_opts *o);

typedef struct lw_growth_site {
	const lw_series *ser;        /* the process */
	size_t site;                 /* index into ser->sites and ser->values */
	lw_growth_result r;          /* statistics and verdict of the series judged */
	double slope_bytes;          /* Theil–Sen slope of in-use bytes, B/s */
	double last_bytes, last_objects;  /* latest snapshot */
	double last_bytes_lo, last_bytes_hi;  /* its 95% interval (sampling) */
	/* the smallest steady growth of in-use bytes this site would have
	 * called `leak` (with probability params.power): B/s; INFINITY when
	 * the process has too few snapshots */
	double detectable_bytes_per_s;
} lw_growth_site;

typedef struct lw_growth_process {
	const lw_series *ser;
	int skipped;                 /* fewer than min_snaps snapshots: not judged */
	size_t n_snaps;
	double span_s;               /* first to last snapshot */
	double interval_s;           /* median time between snapshots */
	double rate;                 /* LEAKWATCH_RATE of the latest snapshot */
	size_t counts[LW_N_VERDICTS];    /* its sites by verdict */
	/* The run's detection limit: the smallest steady leak of small objects
	 * (the worst case: each sample stands for `rate` bytes) that a new
	 * site would have shown as `leak`, B/s (INFINITY: too few snapshots;
	 * 0 at rate 1, where only the program's own noise limits). */
	double detectable_bytes_per_s;
	double min_samples;          /* samples such a leak needs over the window */
	/* How long snapshots must keep coming, at this rate and interval, to
	 * see a leak of opts.watch_slope (s; 0 if already visible), and the
	 * largest power-of-two rate that would see it within the present
	 * window (0 if the present rate does, or none can). */
	double watch_s;
	double watch_rate;
} lw_growth_process;

typedef struct lw_growth_report {
	lw_growth_opts opts;
	lw_growth_params params;
	size_t n_sites;
	lw_growth_site *sites;       /* ranked: rank = index + 1 */
	size_t n_procs;
	lw_growth_process *procs;    /* those judged, in the list's order */
	size_t counts[LW_N_VERDICTS];
	size_t best_snaps;           /* the most snapshots any process has */
} lw_growth_report;

/* Judges and ranks; on success the caller frees out with
 * lw_growth_report_free. A store where no process has min_snaps snapshots
 * gives an empty ranking (n_sites 0, every process skipped). */
int lw_growth_rank(const lw_series_list *l, const lw_growth_opts *o,
		   lw_growth_report *out);
void lw_growth_report_free(lw_growth_report *r);

/* The series judged for one ranked site: its value (opts.sample) at
 * snapshot k of its process. */
double lw_growth_site_value(const lw_growth_report *g, const lw_growth_site *s, size_t k);

/* Writes the fields of site i (rank i + 1) of `growth --json`, every one
 * but "frames" (the caller adds the site's frames, or its own reference to
 * them), into the open JSON object: the one writer of those figures. */
void lw_growth_json_fields(lw_json *j, const lw_growth_report *g, size_t i);

#endif
