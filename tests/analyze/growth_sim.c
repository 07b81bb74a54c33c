/* growth_sim.c — simulated heap runs for the growth stability suite (see
 * growth_sim.h for the model).
 *
 * Each scenario is a program's allocation pattern written out event by
 * event at the scale of a short CI run (a window of --window seconds with a
 * snapshot every --interval +-50%): the scenario's own site next to a
 * `churn_scratch` site (a ring of 256 short-lived blocks of mixed sizes,
 * 1,000 replacements a second, as in testapps/leak_churn.c). Every
 * allocation draws its own sampling decision; only sampled blocks are kept.
 *
 * Invariants: t_free >= t_alloc for every block; blocks are in no
 * particular order (gs_site_series sorts events). Not thread-safe (one run
 * at a time per caller).
 */
#include "growth_sim.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const gs_scenarios[] = {
	"leak", "slow_leak", "rare_big_leak", "plateau", "warmup", "sawtooth",
	"bounded_churn", "restart", NULL,
};

void gs_params_default(gs_params *p)
{
	p->rate = 524288;
	p->window_s = 60;
	p->interval_s = 0.75;
	p->leak_samples = 60;
	p->slow_samples = 32;
}

/* ---- random numbers ------------------------------------------------------- */

typedef struct sim {
	uint64_t rng;
	double rate;
	int oom;
} sim;

static uint64_t rnd64(sim *s)
{
	uint64_t z = (s->rng += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static double unif(sim *s)
{
	return ((double)(rnd64(s) >> 11) + 0.5) / 9007199254740992.0;
}

static double uniform(sim *s, double lo, double hi)
{
	return lo + (hi - lo) * unif(s);
}

static double expo(sim *s, double mean)
{
	return -mean * log(unif(s));
}

/* ---- the sampler ---------------------------------------------------------- */

/* One allocation of `size` bytes at time t: sampled with probability
 * 1 - exp(-size/rate). Returns the block's index, or -1 if not sampled. */
static long sim_alloc(sim *s, gs_site *site, double t, double size)
{
	double p = s->rate <= 1 ? 1.0 : -expm1(-size / s->rate);
	if (!(unif(s) < p))
		return -1;
	if (site->n == site->cap) {
		size_t ncap = site->cap ? site->cap * 2 : 64;
		gs_block *nb = realloc(site->b, ncap * sizeof(*nb));
		if (!nb) {
			s->oom = 1;
			return -1;
		}
		site->b = nb;
		site->cap = ncap;
	}
	site->b[site->n] = (gs_block){ t, INFINITY, size };
	return (long)site->n++;
}

static void sim_free(gs_site *site, long idx, double t)
{
	if (idx >= 0)
		site->b[idx].t_free = t;
}

static double sample_prob(double rate, double size)
{
	return rate <= 1 ? 1.0 : -expm1(-size / rate);
}

/* ---- allocation patterns ---------------------------------------------------- */

static gs_site *add_site(gs_proc *p, const char *name, enum gs_role role)
{
	gs_site *s = &p->sites[p->n_sites++];
	memset(s, 0, sizeof(*s));
	strncpy(s->name, name, sizeof(s->name) - 1);
	s->role = role;
	return s;
}

/* A ring of 256 slots; 1,000 times a second a random slot's block is freed
 * and a new one allocated: 16 B .. 4 KiB, one in 16 of 16 .. 256 KiB. */
static void churn_ring(sim *s, gs_site *site, double span)
{
	long slot[256];
	for (int i = 0; i < 256; i++)
		slot[i] = -1;
	for (double t = expo(s, 1.0 / 1000); t < span; t += expo(s, 1.0 / 1000)) {
		int k = (int)(rnd64(s) & 255);
		sim_free(site, slot[k], t);
		double size = (rnd64(s) & 15) ? uniform(s, 16, 4096) : uniform(s, 16384, 262144);
		slot[k] = sim_alloc(s, site, t, floor(size));
	}
}

/* Never-freed blocks of `size` at Poisson times: `samples` expected samples
 * over [0, span). */
static void leak_stream(sim *s, gs_site *site, double span, double size, double samples)
{
	double p = sample_prob(s->rate, size);
	double per_s = samples / (p * span);
	site->expected_samples = samples;
	site->leak_bytes_per_s = per_s * size;
	for (double t = expo(s, 1 / per_s); t < span; t += expo(s, 1 / per_s))
		sim_alloc(s, site, t, size);
}

/* A cache of `entries` entries of 64..2112 bytes inserted at uniform times
 * during the first `fill` of the span, never freed. */
static void cache_fill(sim *s, gs_site *site, double span, double entries, double fill)
{
	for (double i = 0; i < entries; i++)
		sim_alloc(s, site, uniform(s, 0, fill * span), floor(uniform(s, 64, 2112)));
}

/* A working set that warms up (inserts at rate (W/tau) e^(-t/tau)) and then
 * turns over: every entry is replaced after an exponential lifetime of mean
 * `life`. Entries of 256..2048 bytes. */
static void warm_pool(sim *s, gs_site *site, double span, double w, double tau, double life)
{
	/* arrival times of the W original entries: inverse cdf of the
	 * truncated exponential fill; each entry then renews itself */
	for (double i = 0; i < w; i++) {
		double t = expo(s, tau);
		while (t < span) {
			long b = sim_alloc(s, site, t, floor(uniform(s, 256, 2048)));
			double end = t + expo(s, life);
			if (end < span)
				sim_free(site, b, end);
			t = end;
		}
	}
}

/* Grows a buffer of 32..8192-byte blocks at a constant rate to `peak`
 * bytes over `period` seconds, then frees all of it, repeatedly. */
static void sawtooth(sim *s, gs_site *site, double span, double peak, double period)
{
	double phase = uniform(s, 0, period), mean = 4112;
	double per_s = peak / mean / period;
	size_t first = site->n;
	double cycle_end = period - phase;
	for (double t = expo(s, 1 / per_s); t < span; t += expo(s, 1 / per_s)) {
		while (t >= cycle_end) {
			for (size_t i = first; i < site->n; i++)
				if (isinf(site->b[i].t_free))
					site->b[i].t_free = cycle_end;
			first = site->n;
			cycle_end += period;
		}
		sim_alloc(s, site, t, floor(uniform(s, 32, 8192)));
	}
}

/* M/M/inf: requests arrive at Poisson times, each holds a 512..1536-byte
 * block for an exponential time of mean `life`; `mean_live` on average. */
static void bounded_churn(sim *s, gs_site *site, double span, double mean_live, double life)
{
	double lambda = mean_live / life;
	/* start in equilibrium: Poisson(mean_live) requests already live */
	double n0 = 0, l = exp(-fmin(mean_live, 600)), q = unif(s);
	if (mean_live < 600) {
		for (double pk = l, cum = l; q > cum; cum += pk)
			pk *= mean_live / ++n0;
	} else {
		n0 = floor(mean_live + sqrt(mean_live) * sqrt(-2 * log(unif(s))) *
			   cos(2 * M_PI * unif(s)));
	}
	for (double i = 0; i < n0; i++) {
		/* allocated before the process's first snapshot, at time 0 */
		long b = sim_alloc(s, site, 0, floor(uniform(s, 512, 1536)));
		double end = expo(s, life);
		if (end < span)
			sim_free(site, b, end);
	}
	for (double t = expo(s, 1 / lambda); t < span; t += expo(s, 1 / lambda)) {
		long b = sim_alloc(s, site, t, floor(uniform(s, 512, 1536)));
		double end = t + expo(s, life);
		if (end < span)
			sim_free(site, b, end);
	}
}

static int snap_times(sim *s, gs_proc *p, double interval)
{
	size_t cap = (size_t)(p->span_s / (0.5 * interval)) + 4;
	p->t = malloc(cap * sizeof(*p->t));
	if (!p->t)
		return -ENOMEM;
	p->n_snaps = 0;
	/* +-50% jitter, and one interval in 20 three to five times as long
	 * (a busy writer, a paused process) */
	for (double t = uniform(s, 0.5, 1.5) * interval; t < p->span_s && p->n_snaps < cap;
	     t += unif(s) < 0.05 ? uniform(s, 3, 5) * interval : uniform(s, 0.5, 1.5) * interval)
		p->t[p->n_snaps++] = t;
	return 0;
}

int gs_run_make(const gs_params *prm, const char *scenario, uint64_t seed, gs_run *out)
{
	memset(out, 0, sizeof(*out));
	int sc = strcmp(scenario, "leak_in_pool") == 0 ? 99 : -1;
	for (int i = 0; gs_scenarios[i]; i++)
		if (strcmp(gs_scenarios[i], scenario) == 0)
			sc = i;
	if (sc < 0)
		return -EINVAL;
	sim s = { .rng = seed * UINT64_C(0x100000001b3) ^ ((uint64_t)sc << 56) ^ 0x6c77,
		  .rate = prm->rate };
	out->rate = prm->rate;
	double T = prm->window_s;
	int restart = strcmp(scenario, "restart") == 0;
	out->n_procs = restart ? 2 : 1;
	double cut = restart ? T * uniform(&s, 0.35, 0.65) : T;
	for (size_t k = 0; k < out->n_procs; k++) {
		gs_proc *p = &out->procs[k];
		p->span_s = restart ? (k == 0 ? cut : T - cut) : T;
		if (snap_times(&s, p, prm->interval_s) < 0) {
			gs_run_free(out);
			return -ENOMEM;
		}
		double span = p->span_s;
		if (strcmp(scenario, "leak") == 0) {
			leak_stream(&s, add_site(p, "leak_session", GS_LEAK), span, 1024,
				    prm->leak_samples);
		} else if (strcmp(scenario, "slow_leak") == 0) {
			leak_stream(&s, add_site(p, "slow_leak_record", GS_LEAK), span, 64,
				    prm->slow_samples);
		} else if (strcmp(scenario, "rare_big_leak") == 0) {
			leak_stream(&s, add_site(p, "rare_big_block", GS_LEAK), span,
				    8 << 20, 10);
		} else if (strcmp(scenario, "plateau") == 0) {
			cache_fill(&s, add_site(p, "cache_fill", GS_BOUNDED), span, 6000, 0.25);
		} else if (strcmp(scenario, "warmup") == 0) {
			warm_pool(&s, add_site(p, "warm_pool", GS_BOUNDED), span, 16000,
				  span / 8, span / 4);
		} else if (strcmp(scenario, "sawtooth") == 0) {
			sawtooth(&s, add_site(p, "sawtooth_buf", GS_BOUNDED), span, 16 << 20,
				 span / uniform(&s, 4, 7));
		} else if (strcmp(scenario, "bounded_churn") == 0) {
			bounded_churn(&s, add_site(p, "pool_request", GS_BOUNDED), span, 12000,
				      span / 15);
		} else if (strcmp(scenario, "leak_in_pool") == 0) {
			/* a leak hidden in a site that also churns: the pool is
			 * in equilibrium from the start */
			gs_site *st = add_site(p, "pool_leak", GS_LEAK);
			bounded_churn(&s, st, span, 30000, span / 4);
			leak_stream(&s, st, span, 1024, prm->leak_samples);
		} else {
			/* restart: each process leaks (40 expected samples per half
			 * window) and fills a cache in its first quarter */
			leak_stream(&s, add_site(p, "leak_session", GS_LEAK), span, 1024,
				    40 * span / (T / 2));
			cache_fill(&s, add_site(p, "cache_fill", GS_BOUNDED), span, 6000, 0.25);
		}
		churn_ring(&s, add_site(p, "churn_scratch", GS_BOUNDED), span);
	}
	if (s.oom) {
		gs_run_free(out);
		return -ENOMEM;
	}
	return 0;
}

void gs_run_free(gs_run *r)
{
	for (size_t k = 0; k < r->n_procs; k++) {
		free(r->procs[k].t);
		for (size_t i = 0; i < r->procs[k].n_sites; i++)
			free(r->procs[k].sites[i].b);
	}
	memset(r, 0, sizeof(*r));
}

typedef struct ev {
	double t;
	double size;
} ev;

static int cmp_ev(const void *a, const void *b)
{
	const ev *x = a, *y = b;
	return (x->t > y->t) - (x->t < y->t);
}

int gs_site_series(const gs_site *s, double rate, const double *t, size_t n,
		   gs_counters *out)
{
	/* two sweeps over events sorted by time: allocations, then frees */
	ev *e = malloc((s->n ? s->n : 1) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	memset(out, 0, n * sizeof(*out));
	for (int pass = 0; pass < 2; pass++) {
		size_t m = 0;
		for (size_t i = 0; i < s->n; i++) {
			double when = pass ? s->b[i].t_free : s->b[i].t_alloc;
			if (isfinite(when))
				e[m++] = (ev){ when, s->b[i].size };
		}
		qsort(e, m, sizeof(*e), cmp_ev);
		gs_counters c;
		memset(&c, 0, sizeof(c));
		size_t j = 0;
		for (size_t k = 0; k < n; k++) {
			for (; j < m && e[j].t <= t[k]; j++) {
				double p = sample_prob(rate, e[j].size);
				if (pass) {
					c.free_samples++;
					c.free_sample_bytes += (uint64_t)e[j].size;
					c.free_objects += 1 / p;
					c.free_bytes += e[j].size / p;
				} else {
					c.alloc_samples++;
					c.alloc_sample_bytes += (uint64_t)e[j].size;
					c.alloc_objects += 1 / p;
					c.alloc_bytes += e[j].size / p;
				}
			}
			if (pass) {
				out[k].free_samples = c.free_samples;
				out[k].free_sample_bytes = c.free_sample_bytes;
				out[k].free_objects = c.free_objects;
				out[k].free_bytes = c.free_bytes;
			} else {
				out[k] = c;
			}
		}
	}
	free(e);
	return 0;
}
