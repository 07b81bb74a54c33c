/* growth_sim.h — simulated heap runs for the growth stability suite.
 *
 * Role: produces, for one scenario and one seed, what the shim would record:
 * per process, per site, the sampled blocks (allocation and free times,
 * sizes) and the snapshot times. Sampling follows the shim's model exactly
 * (docs/ARCHITECTURE.md, sampler.c): every allocation of s bytes is sampled
 * independently with probability p = 1 - exp(-s/R) and stands for 1/p
 * objects and s/p bytes. Allocation patterns are generated event by event
 * (every allocation, sampled or not, draws its own Bernoulli), so nothing
 * about the sampled series is assumed: its noise, autocorrelation and
 * discreteness are whatever the sampler makes of the program.
 *
 * The same scenarios run as real programs under the shim in
 * testapps/growth_scenarios.c; docs/GROWTH.md (Validation) lists both.
 *
 * Determinism: one splitmix64 stream per run, seeded from (scenario, seed).
 * Memory: only sampled blocks are kept (a few thousand per site).
 */
#ifndef LW_GROWTH_SIM_H
#define LW_GROWTH_SIM_H

#include <stddef.h>
#include <stdint.h>

/* What a site is, for scoring: a leak must be found; anything else must not
 * read `leak` or `growing`. */
enum gs_role { GS_BOUNDED = 0, GS_LEAK };

typedef struct gs_block {
	double t_alloc, t_free;   /* process-relative seconds; t_free = INFINITY if live */
	double size;              /* requested bytes */
} gs_block;

typedef struct gs_site {
	char name[40];
	enum gs_role role;
	double expected_samples;  /* leaks: expected sampled leaked blocks in the window */
	double leak_bytes_per_s;  /* leaks: true mean leak rate */
	gs_block *b;
	size_t n, cap;
} gs_site;

#define GS_MAX_SITES 4
typedef struct gs_proc {
	double span_s;            /* length of the process's life in the window */
	size_t n_snaps;
	double *t;                /* snapshot times, process-relative, increasing */
	size_t n_sites;
	gs_site sites[GS_MAX_SITES];
} gs_proc;

typedef struct gs_params {
	double rate;              /* LEAKWATCH_RATE */
	double window_s;          /* observation window (all processes) */
	double interval_s;        /* mean time between snapshots (+-50% jitter) */
	double leak_samples;      /* expected samples of the `leak` scenario */
	double slow_samples;      /* expected samples of `slow_leak` */
} gs_params;

typedef struct gs_run {
	double rate;
	size_t n_procs;
	gs_proc procs[2];
} gs_run;

/* Scenario names, in table order; NULL-terminated. gs_run_make also knows
 * "leak_in_pool": a leak of 1 KiB blocks (leak_samples) in a site that also
 * holds an equilibrium pool of 30,000 blocks turning over every quarter
 * window (the detection-limit checks use it). */
extern const char *const gs_scenarios[];
void gs_params_default(gs_params *p);
/* Simulates one run. Returns 0, -EINVAL (unknown scenario), -ENOMEM. */
int gs_run_make(const gs_params *p, const char *scenario, uint64_t seed, gs_run *out);
void gs_run_free(gs_run *r);

/* Cumulative counters of one site, as the shim's COUNTERS record them:
 * sampled blocks and bytes allocated / freed so far, and their unbiased
 * estimates (weights 1/p). */
typedef struct gs_counters {
	uint64_t alloc_samples, alloc_sample_bytes, free_samples, free_sample_bytes;
	double alloc_objects, alloc_bytes, free_objects, free_bytes;
} gs_counters;
/* The counters at every time t[0..n) (increasing), in O((blocks + n) log
 * blocks). Returns 0 or -ENOMEM. */
int gs_site_series(const gs_site *s, double rate, const double *t, size_t n,
		   gs_counters *out);

#endif
