/* growth_scenarios.c — the growth verdict scenarios as real programs.
 *
 *   growth_scenarios --scenario NAME [--duration S] [--interval S] [--seed N]
 *                    [--samples N] [--part 1|2 --split F]
 *
 * Each scenario is one allocation site (its own noinline function) next to
 * churn_scratch, a ring of 256 short-lived blocks of mixed sizes replaced
 * 1,000 times a second. Sizes and counts are set from LEAKWATCH_RATE (512
 * KiB when unset) so that the sampled series look like those of
 * tests/analyze/growth_sim.c, which simulates the same scenarios:
 *   leak            leak_session: 1 KiB blocks never freed, --samples
 *                   expected samples over the run (default 60)
 *   slow_leak       slow_leak_record: 64-byte records, --samples (32)
 *   rare_big_leak   rare_big_block: 8 MiB blocks at Poisson times, 10 a run
 *   plateau         cache_fill: 6,000 entries of 64..2112 bytes inserted
 *                   during the first quarter, never freed
 *   warmup          warm_pool: 16,000 entries of 256..2048 bytes arriving at
 *                   rate (W/tau) e^(-t/tau), tau = duration/8, each replaced
 *                   after an exponential lifetime of mean duration/4
 *   sawtooth        sawtooth_buf: 32..8192-byte blocks up to 16 MiB, then
 *                   all freed; period duration/4..7, random phase
 *   bounded_churn   pool_request: requests of 512..1536 bytes arriving at
 *                   Poisson times, 12,000 live on average, lifetime
 *                   duration/15 (M/M/inf, started in equilibrium)
 *   restart         one process of a restarted service (--part 1 or 2 of a
 *                   window split at --split): leak_session (40 samples per
 *                   half window) and cache_fill (first quarter of its life)
 * Snapshots (leakwatch_snapshot) at irregular times: --interval (default
 * 0.1 s) +-50%, one interval in 20 three to five times as long. Work is
 * paced by the clock in 1 ms ticks, so a loaded machine stretches nothing
 * but the tick. Prints "expect site=F role=leak|bounded samples=E" per site
 * before the run (E: expected sampled leaked blocks over the duration) and
 * "done snapshots=N" at the end. Single-threaded.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_common.h"

static uint64_t g_rng;

static double unif(void)
{
	return ((double)(app_rand_r(&g_rng) >> 11) + 0.5) / 9007199254740992.0;
}

static double uniform(double lo, double hi)
{
	return lo + (hi - lo) * unif();
}

static double expo(double mean)
{
	return -mean * log(unif());
}

static long poisson(double mean)
{
	if (mean <= 0)
		return 0;
	if (mean > 50) {
		double v = floor(mean + sqrt(mean) * sqrt(-2 * log(unif())) *
				 cos(2 * M_PI * unif()) + 0.5);
		return v < 0 ? 0 : (long)v;
	}
	double l = exp(-mean), p = 1;
	long k = 0;
	do {
		k++;
		p *= unif();
	} while (p > l);
	return k - 1;
}

/* ---- allocation sites ------------------------------------------------------- */

/* Each site calls malloc itself (the call site is the site) and touches
 * the block with its own constant, so no two sites compile to the same
 * code (identical functions may be folded into one). */
#define SITE_ALLOC(size, tag)                                                 \
	void *p = malloc(size);                                               \
	if (!p)                                                               \
		abort();                                                      \
	app_touch(p, (size) < 64 ? (size) : 64, tag)

struct node {
	struct node *next;
};

static struct node *g_leaked;

static void keep(void *p)
{
	struct node *n = p;
	n->next = g_leaked;
	g_leaked = n;
}

LW_APP_NOINLINE static void leak_session(size_t size)
{
	SITE_ALLOC(size, 1);
	keep(p);
}

LW_APP_NOINLINE static void slow_leak_record(size_t size)
{
	SITE_ALLOC(size, 2);
	keep(p);
}

LW_APP_NOINLINE static void rare_big_block(size_t size)
{
	SITE_ALLOC(size, 3);
	keep(p);
}

LW_APP_NOINLINE static void *cache_fill(size_t size)
{
	SITE_ALLOC(size, 4);
	return p;
}

LW_APP_NOINLINE static void *warm_pool(size_t size)
{
	SITE_ALLOC(size, 5);
	return p;
}

LW_APP_NOINLINE static void *sawtooth_buf(size_t size)
{
	SITE_ALLOC(size, 6);
	return p;
}

LW_APP_NOINLINE static void *pool_request(size_t size)
{
	SITE_ALLOC(size, 7);
	return p;
}

LW_APP_NOINLINE static void *churn_scratch(size_t size)
{
	SITE_ALLOC(size, 8);
	return p;
}

/* ---- a set of live blocks with random removal ------------------------------------ */

typedef struct pool {
	void **v;
	size_t n, cap;
} pool;

static void pool_add(pool *p, void *b)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 1024;
		p->v = realloc(p->v, p->cap * sizeof(*p->v));
		if (!p->v)
			abort();
	}
	p->v[p->n++] = b;
}

/* Removes a random block and returns it. */
static void *pool_take(pool *p)
{
	size_t i = (size_t)(app_rand_r(&g_rng) % p->n);
	void *b = p->v[i];
	p->v[i] = p->v[--p->n];
	return b;
}

/* ---- scenarios ------------------------------------------------------------------ */

enum scen { LEAK, SLOW, RARE, PLATEAU, WARMUP, SAWTOOTH, CHURN, RESTART, N_SCEN };
static const char *const scen_names[N_SCEN] = {
	"leak", "slow_leak", "rare_big_leak", "plateau", "warmup", "sawtooth",
	"bounded_churn", "restart",
};

typedef struct state {
	enum scen sc;
	double dur, rate;
	/* Poisson streams: next event times */
	double next_leak, leak_mean_gap;
	size_t leak_size;
	double next_churn, next_grow, saw_period, saw_cycle_end, saw_mean_gap;
	double *cache_times;
	size_t cache_n, cache_done;
	pool live;                   /* warm pool, sawtooth, requests */
	void *ring[256];
	double warm_w, warm_tau, warm_life, req_life, req_lambda;
	long req_initial;            /* requests in flight at the start */
} state;

static double sample_prob(double rate, double size)
{
	return rate <= 1 ? 1.0 : -expm1(-size / rate);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* A leak stream of `size`-byte blocks with `samples` expected samples over
 * `dur` seconds at `rate`. */
static void leak_stream(state *s, size_t size, double samples, const char *site)
{
	double per_s = samples / (sample_prob(s->rate, (double)size) * s->dur);
	s->leak_size = size;
	s->leak_mean_gap = 1 / per_s;
	s->next_leak = expo(s->leak_mean_gap);
	printf("expect site=%s role=leak samples=%.2f bytes_per_s=%.1f\n", site, samples,
	       per_s * (double)size);
}

static void setup(state *s, double samples, int part, double split)
{
	printf("expect site=churn_scratch role=bounded samples=0\n");
	s->next_churn = expo(1.0 / 1000);
	switch (s->sc) {
	case LEAK:
		leak_stream(s, 1024, samples > 0 ? samples : 60, "leak_session");
		break;
	case SLOW:
		leak_stream(s, 64, samples > 0 ? samples : 32, "slow_leak_record");
		break;
	case RARE:
		s->leak_size = 8u << 20;
		s->leak_mean_gap = s->dur / 10;
		s->next_leak = expo(s->leak_mean_gap);
		printf("expect site=rare_big_block role=leak samples=%.2f bytes_per_s=%.1f\n",
		       10 * sample_prob(s->rate, 8u << 20), 10.0 * (8u << 20) / s->dur);
		break;
	case RESTART: {
		/* the window is 2 * dur / (its share): each half leaks 40 samples */
		double share = part == 1 ? split : 1 - split;
		double window = s->dur / share;
		leak_stream(s, 1024, 40 * s->dur / (window / 2), "leak_session");
		__attribute__((fallthrough)); /* a cache too */
	}
	case PLATEAU:
		s->cache_n = 6000;
		s->cache_times = malloc(s->cache_n * sizeof(double));
		if (!s->cache_times)
			abort();
		for (size_t i = 0; i < s->cache_n; i++)
			s->cache_times[i] = uniform(0, 0.25 * s->dur);
		qsort(s->cache_times, s->cache_n, sizeof(double), cmp_double);
		printf("expect site=cache_fill role=bounded samples=0\n");
		break;
	case WARMUP:
		s->warm_w = 16000;
		s->warm_tau = s->dur / 8;
		s->warm_life = s->dur / 4;
		printf("expect site=warm_pool role=bounded samples=0\n");
		break;
	case SAWTOOTH:
		s->saw_period = s->dur / uniform(4, 7);
		s->saw_cycle_end = s->saw_period - uniform(0, s->saw_period);
		s->saw_mean_gap = 1 / ((16u << 20) / 4112.0 / s->saw_period);
		s->next_grow = expo(s->saw_mean_gap);
		printf("expect site=sawtooth_buf role=bounded samples=0\n");
		break;
	case CHURN: {
		s->req_life = s->dur / 15;
		s->req_lambda = 12000 / s->req_life;
		s->req_initial = poisson(12000);
		printf("expect site=pool_request role=bounded samples=0\n");
		break;
	}
	default:
		break;
	}
}

/* Everything due between the previous tick and `now` (seconds since start). */
static void tick(state *s, double now, double dt)
{
	for (; s->next_churn <= now; s->next_churn += expo(1.0 / 1000)) {
		int k = (int)(app_rand_r(&g_rng) & 255);
		free(s->ring[k]);
		size_t size = (app_rand_r(&g_rng) & 15) ? (size_t)uniform(16, 4096)
						       : (size_t)uniform(16384, 262144);
		s->ring[k] = churn_scratch(size);
	}
	switch (s->sc) {
	case LEAK:
	case SLOW:
	case RARE:
	case RESTART:
		for (; s->next_leak <= now; s->next_leak += expo(s->leak_mean_gap)) {
			if (s->sc == SLOW)
				slow_leak_record(s->leak_size);
			else if (s->sc == RARE)
				rare_big_block(s->leak_size);
			else
				leak_session(s->leak_size);
		}
		if (s->sc != RESTART)
			break;
		__attribute__((fallthrough)); /* the restarted service's cache */
	case PLATEAU:
		for (; s->cache_done < s->cache_n && s->cache_times[s->cache_done] <= now;
		     s->cache_done++)
			keep(cache_fill((size_t)uniform(64, 2112)));
		break;
	case WARMUP: {
		/* arrivals of the warm-up, and each entry replaced at rate
		 * 1/life (exponential lifetimes: a Poisson number per tick);
		 * one call site for both */
		double arr = s->warm_w * (exp(-(now - dt) / s->warm_tau) - exp(-now / s->warm_tau));
		long gone = poisson((double)s->live.n * dt / s->warm_life);
		if (gone > (long)s->live.n)
			gone = (long)s->live.n;
		for (long k = 0; k < gone; k++)
			free(pool_take(&s->live));
		for (long k = poisson(arr) + gone; k > 0; k--)
			pool_add(&s->live, warm_pool((size_t)uniform(256, 2048)));
		break;
	}
	case SAWTOOTH:
		for (; s->next_grow <= now; s->next_grow += expo(s->saw_mean_gap)) {
			while (s->next_grow >= s->saw_cycle_end) {
				while (s->live.n)
					free(pool_take(&s->live));
				s->saw_cycle_end += s->saw_period;
			}
			pool_add(&s->live, sawtooth_buf((size_t)uniform(32, 8192)));
		}
		break;
	case CHURN: {
		/* the first tick also brings the equilibrium population */
		long arr = poisson(s->req_lambda * dt) + s->req_initial;
		s->req_initial = 0;
		for (long k = poisson((double)s->live.n * dt / s->req_life); k > 0 && s->live.n; k--)
			free(pool_take(&s->live));
		for (; arr > 0; arr--)
			pool_add(&s->live, pool_request((size_t)uniform(512, 1536)));
		break;
	}
	default:
		break;
	}
}

int main(int argc, char **argv)
{
	const char *name = app_opt_str(argc, argv, "scenario", "leak");
	state s;
	memset(&s, 0, sizeof(s));
	s.sc = N_SCEN;
	for (int i = 0; i < N_SCEN; i++)
		if (strcmp(name, scen_names[i]) == 0)
			s.sc = (enum scen)i;
	s.dur = app_opt_double(argc, argv, "duration", 8);
	double interval = app_opt_double(argc, argv, "interval", 0.1);
	double samples = app_opt_double(argc, argv, "samples", 0);
	int part = (int)app_opt_long(argc, argv, "part", 1);
	double split = app_opt_double(argc, argv, "split", 0.5);
	g_rng = (uint64_t)app_opt_long(argc, argv, "seed", 1) * 0x9e3779b97f4a7c15ull + 1;
	const char *r = getenv("LEAKWATCH_RATE");
	s.rate = r && *r ? strtod(r, NULL) : 524288;
	if (s.sc == N_SCEN || !(s.dur > 0) || !(interval > 0) || !(s.rate >= 1) ||
	    (part != 1 && part != 2) || !(split > 0 && split < 1)) {
		fprintf(stderr, "growth_scenarios: bad arguments\n");
		return 2;
	}
	setup(&s, samples, part, split);
	fflush(stdout);

	double start = app_now(), prev = 0;
	double next_snap = uniform(0.5, 1.5) * interval;
	long snaps = 0;
	for (;;) {
		double now = app_now() - start;
		if (now >= s.dur)
			break;
		/* a stall (a slow snapshot, a busy machine) costs the
		 * populations at most 50 ms of their life, so it cannot empty
		 * and refill them in one tick; Poisson streams catch up */
		tick(&s, now, fmin(now - prev, 0.05));
		prev = now;
		if (now >= next_snap) {
			if (app_snapshot_quiet() == 0)
				snaps++;
			next_snap = now + (unif() < 0.05 ? uniform(3, 5) : uniform(0.5, 1.5)) * interval;
		}
		app_sleep(0.001);
	}
	printf("done snapshots=%ld\n", snaps);
	return 0;
}
