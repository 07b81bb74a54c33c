/* stats.c — Theil–Sen, Mann–Kendall, Benjamini–Hochberg, binomial and gamma
 * tails, Poisson intervals and the sampling variance: statistics only; the
 * verdict built on them is trend.c (docs/GROWTH.md explains the method).
 *
 * Invariants: inputs are never modified; every function allocates its own
 * scratch space and frees it before returning. Results are deterministic:
 * the randomized slope selection seeds its generator from n.
 * Locks: none. The exact Mann–Kendall null distributions are cached in a
 * static table built on first use (single-threaded analyzer).
 * Hot path: the slope selection, run a few times per site by
 * lw_growth_analyze; for 1,000 snapshots a few O(n log n) passes plus an
 * enumeration of about n^1.5 pairs.
 */
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- basic helpers ------------------------------------------------------ */

double lw_stats_norm_cdf(double z)
{
	return 0.5 * erfc(-z / M_SQRT2);
}

double lw_stats_norm_sf(double z)
{
	return 0.5 * erfc(z / M_SQRT2);
}

double lw_stats_norm_quantile(double p)
{
	if (!(p > 0.0 && p < 1.0))
		return p == 0.0 ? -INFINITY : p == 1.0 ? INFINITY : NAN;
	/* Bisection on the monotone cdf, then Newton steps to full precision. */
	double lo = -40.0, hi = 40.0;
	for (int i = 0; i < 80; i++) {
		double mid = 0.5 * (lo + hi);
		if (lw_stats_norm_cdf(mid) < p)
			lo = mid;
		else
			hi = mid;
	}
	double z = 0.5 * (lo + hi);
	for (int i = 0; i < 3; i++) {
		double pdf = exp(-0.5 * z * z) / sqrt(2.0 * M_PI);
		if (pdf <= 0)
			break;
		z -= (lw_stats_norm_cdf(z) - p) / pdf;
	}
	return z;
}

/* splitmix64: small, fast, good enough to pick random pairs. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static size_t rng_below(uint64_t *s, size_t n)
{
	return (size_t)(rng_next(s) % (uint64_t)n);
}

static void swapd(double *a, double *b)
{
	double t = *a;
	*a = *b;
	*b = t;
}

/* Rearranges v so v[k] is the k-th smallest, smaller-or-equal ones before
 * it and larger-or-equal ones after it (Hoare-partition quickselect with a
 * median-of-three pivot; runs of equal values split evenly). */
static void select_k(double *v, size_t n, size_t k)
{
	if (n < 2)
		return;
	ptrdiff_t l = 0, r = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
	while (l < r) {
		double a = v[l], b = v[l + (r - l) / 2], c = v[r];
		double x = a < b ? (b < c ? b : (a < c ? c : a))
				 : (a < c ? a : (b < c ? c : b));
		ptrdiff_t i = l, j = r;
		do {
			while (v[i] < x)
				i++;
			while (x < v[j])
				j--;
			if (i <= j) {
				swapd(&v[i], &v[j]);
				i++;
				j--;
			}
		} while (i <= j);
		if (j < kk)
			l = i;
		if (kk < i)
			r = j;
	}
}

int lw_stats_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double lw_stats_median(double *v, size_t n)
{
	if (n == 0)
		return NAN;
	size_t k = n / 2;
	select_k(v, n, k);
	double hi = v[k];
	if (n % 2)
		return hi;
	/* the largest of the lower half is the other middle value */
	double lo = v[0];
	for (size_t i = 1; i < k; i++)
		if (v[i] > lo)
			lo = v[i];
	return 0.5 * (lo + hi);
}

double lw_stats_robust_sd(double *v, size_t n)
{
	if (n == 0)
		return NAN;
	double med = lw_stats_median(v, n);
	for (size_t i = 0; i < n; i++)
		v[i] = fabs(v[i] - med);
	return 1.4826 * lw_stats_median(v, n);
}

/* ---- Theil–Sen ---------------------------------------------------------- */

typedef struct pt {
	double x, y;
} pt;

static int cmp_pt_xy(const void *a, const void *b)
{
	const pt *p = a, *q = b;
	if (p->x != q->x)
		return (p->x > q->x) - (p->x < q->x);
	return (p->y > q->y) - (p->y < q->y);
}

/* Points sorted by (x, y); returns NULL on ENOMEM. */
static pt *sorted_points(const double *x, const double *y, size_t n)
{
	pt *p = malloc((n ? n : 1) * sizeof *p);
	if (!p)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		p[i].x = x[i];
		p[i].y = y[i];
	}
	qsort(p, n, sizeof *p, cmp_pt_xy);
	return p;
}

/* Sums over the runs of t equal values in sorted data: the tied pairs,
 * sum t(t-1)/2, and the terms t(t-1)(2t+5), t(t-1), t(t-1)(t-2) of the
 * Mann–Kendall variance. One count serves every use of ties: pairs tied in
 * x define no slope, and ties in x or in y correct S and its variance. */
typedef struct ties {
	uint64_t pairs;
	double v5, v1, v2;
} ties;

/* The double that starts record i of an array of `size`-byte records. */
static double key_at(const void *recs, size_t size, size_t i)
{
	return *(const double *)((const char *)recs + i * size);
}

_Static_assert(offsetof(pt, x) == 0, "tie_sums reads a point's x as its key");

/* Tie sums of n records sorted by the double each one starts with: values
 * (size = sizeof(double)) or points by x (size = sizeof(pt)). */
static ties tie_sums(const void *recs, size_t n, size_t size)
{
	ties t = { 0, 0, 0, 0 };
	for (size_t i = 0; i < n;) {
		double key = key_at(recs, size, i);
		size_t j = i + 1;
		while (j < n && key_at(recs, size, j) == key)
			j++;
		if (j - i > 1) {
			uint64_t m = j - i;
			double g = (double)m;
			t.pairs += m * (m - 1) / 2;
			t.v5 += g * (g - 1) * (2 * g + 5);
			t.v1 += g * (g - 1);
			t.v2 += g * (g - 1) * (g - 2);
		}
		i = j;
	}
	return t;
}

uint64_t lw_stats_pair_count(const double *x, size_t n)
{
	if (n < 2)
		return 0;
	double *v = malloc(n * sizeof *v);
	if (!v)
		return 0;
	memcpy(v, x, n * sizeof *v);
	qsort(v, n, sizeof *v, lw_stats_cmp_double);
	uint64_t w = tie_sums(v, n, sizeof *v).pairs;
	free(v);
	return (uint64_t)n * (n - 1) / 2 - w;
}

/* Counts pairs p < q with a[q] <= a[p] and sorts a ascending (merge sort;
 * tmp has n slots). */
static uint64_t count_noninc(double *a, double *tmp, size_t n)
{
	uint64_t c = 0;
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t i = lo, j = mid, o = lo;
			while (i < mid && j < hi) {
				if (a[i] < a[j]) {
					tmp[o++] = a[i++];
				} else {
					c += mid - i;
					tmp[o++] = a[j++];
				}
			}
			while (i < mid)
				tmp[o++] = a[i++];
			while (j < hi)
				tmp[o++] = a[j++];
		}
		memcpy(a, tmp, n * sizeof *a);
	}
	return c;
}

static uint64_t count_strict_inv(double *a, double *tmp, size_t n);

/* Slope selection context: points sorted by x, scratch buffers. */
typedef struct sel_ctx {
	const pt *p;
	size_t n;
	uint64_t n_pairs, xties;
	double *u, *tmp;
	/* enumeration */
	size_t *idx, *itmp;
	double *ka, *kb;        /* sort keys (primary, secondary) */
	double *seq;            /* key of the predicate order */
	double *out;
	size_t n_out, cap_out;
	int oom;
} sel_ctx;

static int cmp_desc(const void *a, const void *b)
{
	return lw_stats_cmp_double(b, a);
}

/* Pairs (x_i < x_j) whose slope is <= theta, as the float predicate
 * y_j - theta x_j <= y_i - theta x_i. Points ordered by (x asc, u desc), so
 * every pair inside a group of equal x is counted, then subtracted. */
static uint64_t count_le(sel_ctx *c, double theta)
{
	const pt *p = c->p;
	size_t n = c->n;
	for (size_t i = 0; i < n; i++)
		c->u[i] = p[i].y - theta * p[i].x;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && p[j].x == p[i].x)
			j++;
		if (j - i > 1)
			qsort(c->u + i, j - i, sizeof *c->u, cmp_desc);
		i = j;
	}
	return count_noninc(c->u, c->tmp, n) - c->xties;
}

/* Pairs (x_i < x_j) whose slope is < 0, exactly: y_j < y_i (points in
 * (x asc, y asc) order, so no pair inside a group of equal x counts). */
static uint64_t count_neg(sel_ctx *c)
{
	for (size_t i = 0; i < c->n; i++)
		c->u[i] = c->p[i].y;
	return count_strict_inv(c->u, c->tmp, c->n);
}

/* Sort key of point i for a bound theta: (u, 0) when finite; as theta goes
 * to -inf the order of u is the order of (x, y), to +inf of (-x, y). */
static void bound_key(const pt *q, double theta, double *a, double *b)
{
	if (theta == -INFINITY) {
		*a = q->x;
		*b = q->y;
	} else if (theta == INFINITY) {
		*a = -q->x;
		*b = q->y;
	} else {
		*a = q->y - theta * q->x;
		*b = 0;
	}
}

static sel_ctx *g_sort_ctx; /* for the qsort comparator below */

static int cmp_idx_key(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const sel_ctx *c = g_sort_ctx;
	if (c->ka[i] != c->ka[j])
		return (c->ka[i] > c->ka[j]) - (c->ka[i] < c->ka[j]);
	if (c->kb[i] != c->kb[j])
		return (c->kb[i] > c->kb[j]) - (c->kb[i] < c->kb[j]);
	return (c->seq[i] > c->seq[j]) - (c->seq[i] < c->seq[j]);
}

static void emit(sel_ctx *c, size_t i, size_t j)
{
	const pt *a = &c->p[i], *b = &c->p[j];
	double dx = b->x - a->x;
	if (dx == 0)
		return;
	if (c->n_out == c->cap_out) {
		size_t cap = c->cap_out ? 2 * c->cap_out : 1024;
		double *o = realloc(c->out, cap * sizeof *o);
		if (!o) {
			c->oom = 1;
			return;
		}
		c->out = o;
		c->cap_out = cap;
	}
	c->out[c->n_out++] = (b->y - a->y) / dx;
}

/* Collects the slopes of the pairs that are above lo and at most hi by the
 * float predicates of count_le: in the order of the lo-keys, the pairs whose
 * hi-keys do not increase. Merge sort over indices, emitting each pair when
 * its right element passes the remaining left ones. */
static void enumerate(sel_ctx *c, double lo, double hi)
{
	size_t n = c->n;
	for (size_t i = 0; i < n; i++) {
		double sa, sb;
		bound_key(&c->p[i], lo, &c->ka[i], &c->kb[i]);
		bound_key(&c->p[i], hi, &sa, &sb);
		c->seq[i] = sa;
		c->u[i] = sb; /* secondary key of the hi order */
		c->idx[i] = i;
	}
	g_sort_ctx = c;
	qsort(c->idx, n, sizeof *c->idx, cmp_idx_key);
	/* Merge on (seq, u) lexicographic; pair (L, R) when R <= L. */
	size_t *a = c->idx, *t = c->itmp;
	for (size_t width = 1; width < n && !c->oom; width *= 2) {
		for (size_t lo_ = 0; lo_ < n; lo_ += 2 * width) {
			size_t mid = lo_ + width < n ? lo_ + width : n;
			size_t end = lo_ + 2 * width < n ? lo_ + 2 * width : n;
			size_t i = lo_, j = mid, o = lo_;
			while (i < mid && j < end) {
				size_t li = a[i], rj = a[j];
				int less = c->seq[li] < c->seq[rj] ||
					   (c->seq[li] == c->seq[rj] && c->u[li] < c->u[rj]);
				if (less) {
					t[o++] = a[i++];
				} else {
					for (size_t k = i; k < mid; k++)
						emit(c, a[k], rj);
					t[o++] = a[j++];
				}
			}
			while (i < mid)
				t[o++] = a[i++];
			while (j < end)
				t[o++] = a[j++];
		}
		memcpy(a, t, n * sizeof *a);
	}
}

/* Selects each wanted rank (shifted by offset, clamped to the array) from
 * v, ascending, each search confined to the part right of the previous. */
static int ranks_select_from(double *v, size_t nv, const uint64_t *ranks,
			     size_t n_ranks, uint64_t offset, double *out)
{
	if (nv == 0)
		return -EINVAL;
	size_t from = 0;
	int64_t prev = -1;
	/* serve the ranks in increasing order (insertion sort of <= 8) */
	size_t order[8];
	size_t m = n_ranks < 8 ? n_ranks : 8;
	for (size_t r = 0; r < m; r++)
		order[r] = r;
	for (size_t i = 1; i < m; i++)
		for (size_t j = i; j > 0 && ranks[order[j - 1]] > ranks[order[j]]; j--) {
			size_t t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (size_t oi = 0; oi < n_ranks; oi++) {
		size_t r = oi < m ? order[oi] : oi;
		int64_t k = (int64_t)ranks[r] - (int64_t)offset;
		if (k < 0)
			k = 0;
		if ((uint64_t)k >= nv)
			k = (int64_t)nv - 1;
		if (oi >= m || k < prev) {
			select_k(v, nv, (size_t)k);
		} else if (k != prev) {
			if ((size_t)k == from) {
				/* the minimum of the right part */
				size_t mi = from;
				for (size_t i = from + 1; i < nv; i++)
					if (v[i] < v[mi])
						mi = i;
				swapd(&v[from], &v[mi]);
			} else {
				select_k(v + from, nv - from, (size_t)k - from);
			}
		}
		out[r] = v[k];
		prev = k;
		from = (size_t)k + 1;
	}
	return 0;
}

int lw_stats_slope_select_naive(const double *x, const double *y, size_t n,
				const uint64_t *ranks, size_t n_ranks,
				double *out)
{
	uint64_t np = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			np += x[i] != x[j];
	for (size_t r = 0; r < n_ranks; r++)
		if (ranks[r] >= np)
			return -EINVAL;
	double *v = malloc((np ? np : 1) * sizeof *v);
	if (!v)
		return -ENOMEM;
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (x[i] != x[j])
				v[m++] = (y[j] - y[i]) / (x[j] - x[i]);
	qsort(v, m, sizeof *v, lw_stats_cmp_double);
	for (size_t r = 0; r < n_ranks; r++)
		out[r] = v[ranks[r]];
	free(v);
	return 0;
}

/* Below this many pairs every slope is enumerated directly. */
#define LW_TS_EXACT_PAIRS 4096

/* Checks that every wanted rank is below n_pairs and finds the smallest
 * and largest (the bracket must hold them all). */
static int rank_span(const uint64_t *ranks, size_t n_ranks, uint64_t n_pairs,
		     uint64_t *kmin, uint64_t *kmax)
{
	*kmin = UINT64_MAX;
	*kmax = 0;
	for (size_t r = 0; r < n_ranks; r++) {
		if (ranks[r] >= n_pairs)
			return -EINVAL;
		if (ranks[r] < *kmin)
			*kmin = ranks[r];
		if (ranks[r] > *kmax)
			*kmax = ranks[r];
	}
	return 0;
}

/* The context's per-point scratch arrays (n slots each). */
static int sel_alloc(sel_ctx *c)
{
	size_t n = c->n;
	c->u = malloc(n * sizeof *c->u);
	c->tmp = malloc(n * sizeof *c->tmp);
	c->idx = malloc(n * sizeof *c->idx);
	c->itmp = malloc(n * sizeof *c->itmp);
	c->ka = malloc(n * sizeof *c->ka);
	c->kb = malloc(n * sizeof *c->kb);
	c->seq = malloc(n * sizeof *c->seq);
	if (!c->u || !c->tmp || !c->idx || !c->itmp || !c->ka || !c->kb || !c->seq)
		return -ENOMEM;
	return 0;
}

static void sel_free(sel_ctx *c)
{
	free(c->out);
	free(c->u);
	free(c->tmp);
	free(c->idx);
	free(c->itmp);
	free(c->ka);
	free(c->kb);
	free(c->seq);
}

/* 1 when every wanted rank is a zero slope. Zero slopes (pairs at the same
 * level: flat stretches, constant series) are exact at theta = 0, so the
 * answer is then 0 without enumerating anything. */
static int only_zero_slopes(sel_ctx *c, uint64_t kmin, uint64_t kmax)
{
	return count_neg(c) <= kmin && kmax < count_le(c, 0.0);
}

/* r pair slopes drawn at random (fixed seed from n) from the sorted points:
 * the sample that the bracket's ends are taken from. */
static void sample_slopes(const pt *p, size_t n, double *sample, size_t r)
{
	uint64_t seed = UINT64_C(0x6c77677277746873) ^ n;
	for (size_t s = 0; s < r;) {
		size_t i = rng_below(&seed, n), j = rng_below(&seed, n);
		if (p[i].x == p[j].x)
			continue;
		sample[s++] = (p[j].y - p[i].y) / (p[j].x - p[i].x);
	}
}

/* Lower end of a bracket at sample position plo: midway between the
 * sample value there and the next smaller distinct one (after selection
 * all smaller ones lie left of it); -inf when there is none. */
static double bracket_low(double *sample, size_t r, double plo)
{
	if (!(plo >= 0))
		return -INFINITY;
	size_t a = (size_t)plo;
	select_k(sample, r, a);
	double v = sample[a], best = -INFINITY;
	for (size_t i = 0; i < a; i++)
		if (sample[i] < v && sample[i] > best)
			best = sample[i];
	return best > -INFINITY ? 0.5 * (best + v) : -INFINITY;
}

/* Upper end at sample position phi, the mirror of bracket_low; +inf when
 * phi is past the sample or no larger value exists. */
static double bracket_high(double *sample, size_t r, double phi)
{
	if (!(phi < (double)r))
		return INFINITY;
	size_t a = (size_t)phi;
	select_k(sample, r, a);
	double v = sample[a], best = INFINITY;
	for (size_t i = a + 1; i < r; i++)
		if (sample[i] > v && sample[i] < best)
			best = sample[i];
	return best < INFINITY ? 0.5 * (v + best) : INFINITY;
}

/* Brackets the wanted ranks kmin..kmax between two values taken from a
 * random sample of pair slopes, verified by counting, so that only the
 * pairs inside are enumerated: (*lo, *hi] with *c_lo pairs at or below
 * *lo, and c->out sized for the pairs inside. Up to four tries, each
 * wider; if none holds, the bracket stays (-inf, inf). */
static int bracket(sel_ctx *c, uint64_t kmin, uint64_t kmax, double *lo, double *hi,
		   uint64_t *c_lo)
{
	size_t r = 8 * c->n;
	if (r > c->n_pairs)
		r = (size_t)c->n_pairs;
	double *sample = malloc(r * sizeof *sample);
	if (!sample)
		return -ENOMEM;
	sample_slopes(c->p, c->n, sample, r);
	double qmin = (double)kmin / (double)c->n_pairs;
	double qmax = (double)(kmax + 1) / (double)c->n_pairs;
	int rc = 0;
	for (int attempt = 0; attempt < 4; attempt++) {
		/* 3 binomial sd (<= sqrt(r)/2) of the sample count, doubled
		 * on each retry */
		double w = 3.0 * (double)(1 << attempt) * sqrt((double)r * 0.25) + 2.0;
		double l = bracket_low(sample, r, floor(qmin * (double)r - w));
		double h = bracket_high(sample, r, ceil(qmax * (double)r + w));
		uint64_t cl = isfinite(l) ? count_le(c, l) : 0;
		if (cl > kmin)
			continue;
		uint64_t ch = isfinite(h) ? count_le(c, h) : c->n_pairs;
		if (ch <= kmax)
			continue;
		*lo = l;
		*hi = h;
		*c_lo = cl;
		/* the bracket holds ch - cl pairs: size the buffer once */
		c->cap_out = (size_t)(ch - cl) + 64;
		c->out = malloc(c->cap_out * sizeof *c->out);
		if (!c->out)
			rc = -ENOMEM;
		break;
	}
	free(sample);
	return rc;
}

/* The wanted ranks from the context's points: every slope enumerated for
 * a few pairs, else only those inside a bracket (or none, when all the
 * wanted ones are zero). */
static int select_ranks(sel_ctx *c, const uint64_t *ranks, size_t n_ranks,
			uint64_t kmin, uint64_t kmax, double *out)
{
	double lo = -INFINITY, hi = INFINITY;
	uint64_t c_lo = 0;
	if (c->n_pairs > LW_TS_EXACT_PAIRS) {
		if (only_zero_slopes(c, kmin, kmax)) {
			for (size_t r = 0; r < n_ranks; r++)
				out[r] = 0.0;
			return 0;
		}
		int rc = bracket(c, kmin, kmax, &lo, &hi, &c_lo);
		if (rc < 0)
			return rc;
	}
	enumerate(c, lo, hi);
	if (c->oom)
		return -ENOMEM;
	return ranks_select_from(c->out, c->n_out, ranks, n_ranks, c_lo, out);
}

int lw_stats_slope_select(const double *x, const double *y, size_t n,
			  const uint64_t *ranks, size_t n_ranks, double *out)
{
	if (!x || !y || !ranks || !out || n < 2)
		return -EINVAL;
	pt *p = sorted_points(x, y, n);
	if (!p)
		return -ENOMEM;
	sel_ctx c = { .p = p, .n = n };
	c.xties = tie_sums(p, n, sizeof *p).pairs;
	c.n_pairs = (uint64_t)n * (n - 1) / 2 - c.xties;
	uint64_t kmin, kmax;
	int rc = rank_span(ranks, n_ranks, c.n_pairs, &kmin, &kmax);
	if (rc == 0 && n_ranks > 0) {
		rc = sel_alloc(&c);
		if (rc == 0)
			rc = select_ranks(&c, ranks, n_ranks, kmin, kmax, out);
		sel_free(&c);
	}
	free(p);
	return rc;
}

static int theil_sen_impl(const double *x, const double *y, size_t n,
			  double conf, const lw_mk *mk_in, lw_ts_fit *out);

int lw_stats_theil_sen(const double *x, const double *y, size_t n,
		       double conf, lw_ts_fit *out)
{
	return theil_sen_impl(x, y, n, conf, NULL, out);
}

int lw_stats_theil_sen_mk(const double *x, const double *y, size_t n, double conf,
			  const lw_mk *mk, lw_ts_fit *out)
{
	return theil_sen_impl(x, y, n, conf, mk, out);
}

/* mk_in: the Mann–Kendall result of the same data, if already known. */
static int theil_sen_impl(const double *x, const double *y, size_t n,
			  double conf, const lw_mk *mk_in, lw_ts_fit *out)
{
	if (!x || !y || !out)
		return -EINVAL;
	out->slope = out->intercept = out->ci_lo = out->ci_hi = NAN;
	out->conf = conf;
	out->n_pairs = lw_stats_pair_count(x, n);
	if (out->n_pairs == 0)
		return 0;
	uint64_t N = out->n_pairs;
	uint64_t ranks[4];
	double vals[4];
	size_t nr = 0;
	ranks[nr++] = (N - 1) / 2;
	ranks[nr++] = N / 2;
	if (conf > 0 && conf < 1) {
		/* Sen (1968): the interval's ends are the order statistics
		 * (N -/+ z sqrt(var S)) / 2 of the pairwise slopes. */
		lw_mk mk;
		if (mk_in) {
			mk = *mk_in;
		} else {
			int rc = lw_stats_mann_kendall(x, y, n, &mk);
			if (rc < 0)
				return rc;
		}
		double cz = lw_stats_norm_quantile(0.5 + conf / 2) * sqrt(mk.var_s);
		double l = floor(((double)N - cz) / 2.0);
		double h = ceil(((double)N + cz) / 2.0);
		if (l < 0)
			l = 0;
		if (h > (double)(N - 1))
			h = (double)(N - 1);
		ranks[nr++] = (uint64_t)l;
		ranks[nr++] = (uint64_t)h;
	}
	int rc = lw_stats_slope_select(x, y, n, ranks, nr, vals);
	if (rc < 0)
		return rc;
	out->slope = 0.5 * (vals[0] + vals[1]);
	if (nr == 4) {
		out->ci_lo = vals[2];
		out->ci_hi = vals[3];
	}
	double *r = malloc(n * sizeof *r);
	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		r[i] = y[i] - out->slope * x[i];
	out->intercept = lw_stats_median(r, n);
	free(r);
	return 0;
}

/* ---- Mann–Kendall ------------------------------------------------------- */

/* Strict inversions: pairs p < q with a[q] < a[p]; sorts a. */
static uint64_t count_strict_inv(double *a, double *tmp, size_t n)
{
	uint64_t c = 0;
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t i = lo, j = mid, o = lo;
			while (i < mid && j < hi) {
				if (a[i] <= a[j]) {
					tmp[o++] = a[i++];
				} else {
					c += mid - i;
					tmp[o++] = a[j++];
				}
			}
			while (i < mid)
				tmp[o++] = a[i++];
			while (j < hi)
				tmp[o++] = a[j++];
		}
		memcpy(a, tmp, n * sizeof *a);
	}
	return c;
}

/* Exact null cdf of the number of inversions of a random permutation of
 * n elements: cdf[n][d] = P(inversions <= d). Built once per n. */
static double *mk_cdf[LW_MK_EXACT_MAX + 1];

static const double *mk_exact_cdf(size_t n)
{
	if (n < 2 || n > LW_MK_EXACT_MAX)
		return NULL;
	if (mk_cdf[n])
		return mk_cdf[n];
	size_t maxd = n * (n - 1) / 2;
	double *f = calloc(maxd + 1, sizeof *f), *g = calloc(maxd + 1, sizeof *g);
	if (!f || !g) {
		free(f);
		free(g);
		return NULL;
	}
	f[0] = 1.0;
	size_t cur = 0; /* max inversions so far */
	for (size_t k = 2; k <= n; k++) {
		/* inserting the k-th element adds 0..k-1 inversions uniformly */
		size_t nmax = cur + k - 1;
		double win = 0;
		for (size_t d = 0; d <= nmax; d++) {
			if (d <= cur)
				win += f[d];
			if (d >= k && d - k <= cur)
				win -= f[d - k];
			g[d] = win / (double)k;
		}
		cur = nmax;
		memcpy(f, g, (cur + 1) * sizeof *f);
	}
	for (size_t d = 1; d <= maxd; d++)
		f[d] += f[d - 1];
	free(g);
	mk_cdf[n] = f;
	return f;
}

/* What S and its variance are made of: the strict inversions of y in
 * (x, y) order, the ties in x, in y, and in both. */
typedef struct mk_counts {
	double inv;
	ties tx, ty;
	double joint;
} mk_counts;

/* Pairs tied in both x and y: runs of equal points in (x, y) order. */
static double joint_tie_pairs(const pt *p, size_t n)
{
	double joint = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && p[j].x == p[i].x && p[j].y == p[i].y)
			j++;
		double h = (double)(j - i);
		joint += h * (h - 1) / 2;
		i = j;
	}
	return joint;
}

/* Sorts the points by (x, y) and counts what S needs: the inversions by a
 * merge sort of y, which leaves y sorted for its ties. */
static int mk_count(const double *x, const double *y, size_t n, mk_counts *k)
{
	pt *p = sorted_points(x, y, n);
	double *a = malloc(n * sizeof *a), *tmp = malloc(n * sizeof *tmp);
	int rc = p && a && tmp ? 0 : -ENOMEM;
	if (rc == 0) {
		k->tx = tie_sums(p, n, sizeof *p);
		k->joint = joint_tie_pairs(p, n);
		for (size_t i = 0; i < n; i++)
			a[i] = p[i].y;
		k->inv = (double)count_strict_inv(a, tmp, n);
		k->ty = tie_sums(a, n, sizeof *a);
	}
	free(p);
	free(a);
	free(tmp);
	return rc;
}

/* Null variance of S, corrected for ties in x and in y (Kendall). */
static double mk_variance(size_t n, const ties *tx, const ties *ty)
{
	double nn = (double)n;
	double var = (nn * (nn - 1) * (2 * nn + 5) - tx->v5 - ty->v5) / 18.0;
	if (n > 1)
		var += tx->v1 * ty->v1 / (2 * nn * (nn - 1));
	if (n > 2)
		var += tx->v2 * ty->v2 / (9 * nn * (nn - 1) * (nn - 2));
	return var > 0 ? var : 0;
}

/* z and p_up of out->s: the normal approximation with continuity
 * correction, replaced by the exact null distribution when there are no
 * ties and n is small enough. */
static void mk_p_value(lw_mk *out, size_t n, const mk_counts *k)
{
	if (out->var_s == 0)
		return;
	double S = out->s, sd = sqrt(out->var_s);
	out->z = S > 0 ? (S - 1) / sd : S < 0 ? (S + 1) / sd : 0;
	out->p_up = lw_stats_norm_sf(out->z);
	const double *cdf = NULL;
	if (k->tx.pairs == 0 && k->ty.pairs == 0)
		cdf = mk_exact_cdf(n);
	if (cdf) {
		/* no ties: S = n0 - 2 inv, so S >= s iff inv <= (n0 - s)/2 */
		out->p_up = cdf[(size_t)k->inv];
		out->exact = 1;
	}
}

int lw_stats_mann_kendall(const double *x, const double *y, size_t n,
			  lw_mk *out)
{
	if (!x || !y || !out)
		return -EINVAL;
	memset(out, 0, sizeof *out);
	out->p_up = 1.0;
	if (n < 2)
		return 0;
	mk_counts k;
	int rc = mk_count(x, y, n, &k);
	if (rc < 0)
		return rc;
	double nn = (double)n;
	double n0 = nn * (nn - 1) / 2;
	out->s = n0 - (double)k.tx.pairs - (double)k.ty.pairs + k.joint - 2 * k.inv;
	out->var_s = mk_variance(n, &k.tx, &k.ty);
	mk_p_value(out, n, &k);
	return 0;
}

double lw_stats_mk_s_naive(const double *x, const double *y, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			double dx = x[j] - x[i], dy = y[j] - y[i];
			s += (double)((dx > 0) - (dx < 0)) * ((dy > 0) - (dy < 0));
		}
	return s;
}

/* ---- Benjamini–Hochberg -------------------------------------------------- */

typedef struct pidx {
	double p;
	size_t i;
} pidx;

static int cmp_pidx(const void *a, const void *b)
{
	const pidx *x = a, *y = b;
	if (x->p != y->p)
		return (x->p > y->p) - (x->p < y->p);
	return (x->i > y->i) - (x->i < y->i);
}

int lw_stats_bh(const double *p, size_t n, double *q)
{
	if (n && (!p || !q))
		return -EINVAL;
	pidx *v = malloc((n ? n : 1) * sizeof *v);
	if (!v)
		return -ENOMEM;
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		q[i] = NAN;
		if (!isnan(p[i]))
			v[m++] = (pidx){ p[i], i };
	}
	qsort(v, m, sizeof *v, cmp_pidx);
	double run = 1.0;
	for (size_t k = m; k-- > 0;) {
		double adj = v[k].p * (double)m / (double)(k + 1);
		if (adj < run)
			run = adj;
		q[v[k].i] = run;
	}
	free(v);
	return 0;
}

/* ---- counts -------------------------------------------------------------- */

/* Continued fraction of the regularized incomplete beta function (modified
 * Lentz); converges fast for x < (a + 1)/(a + b + 2). */
static double beta_cf(double a, double b, double x)
{
	const double tiny = 1e-300, eps = 1e-15;
	double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
	if (fabs(d) < tiny)
		d = tiny;
	d = 1.0 / d;
	double h = d;
	for (int m = 1; m <= 500; m++) {
		double m2 = 2.0 * m;
		double aa = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
		d = 1.0 + aa * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1.0 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1.0 / d;
		h *= d * c;
		aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
		d = 1.0 + aa * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1.0 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1.0 / d;
		double del = d * c;
		h *= del;
		if (fabs(del - 1.0) < eps)
			break;
	}
	return h;
}

double lw_stats_beta_inc(double a, double b, double x)
{
	if (!(a > 0 && b > 0) || isnan(x))
		return NAN;
	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
	if (x < (a + 1.0) / (a + b + 2.0))
		return exp(lbt) * beta_cf(a, b, x) / a;
	return 1.0 - exp(lbt) * beta_cf(b, a, 1.0 - x) / b;
}

double lw_stats_binom_sf(double k, double m, double pr)
{
	if (isnan(k) || isnan(m) || !(m >= 0) || !(pr >= 0 && pr <= 1))
		return NAN;
	if (k <= 0)
		return 1;
	if (k > m)
		return 0;
	/* P(X >= k) = I_pr(k, m - k + 1), continuous in k and m */
	return lw_stats_beta_inc(k, m - k + 1, pr);
}

/* Regularized lower incomplete gamma P(a, x): series below a + 1, Lentz's
 * continued fraction for Q above. */
static double gamma_p(double a, double x)
{
	if (!(x > 0))
		return 0;
	double lg = lgamma(a);
	if (x < a + 1) {
		double sum = 1 / a, term = sum;
		for (int n = 1; n < 1000; n++) {
			term *= x / (a + n);
			sum += term;
			if (fabs(term) < fabs(sum) * 1e-15)
				break;
		}
		return sum * exp(-x + a * log(x) - lg);
	}
	const double tiny = 1e-300;
	double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
	for (int i = 1; i < 1000; i++) {
		double an = -i * (i - a);
		b += 2;
		d = an * d + b;
		if (fabs(d) < tiny)
			d = tiny;
		c = b + an / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		double del = d * c;
		h *= del;
		if (fabs(del - 1) < 1e-15)
			break;
	}
	return 1 - exp(-x + a * log(x) - lg) * h;
}

/* x with P(a, x) = q (bisection on the monotone cdf, then to 1e-12). */
static double gamma_quantile(double a, double q)
{
	double lo = 0, hi = a + 10 * sqrt(a) + 10;
	while (gamma_p(a, hi) < q)
		hi *= 2;
	for (int i = 0; i < 200 && hi - lo > 1e-12 * (hi + 1); i++) {
		double mid = 0.5 * (lo + hi);
		if (gamma_p(a, mid) < q)
			lo = mid;
		else
			hi = mid;
	}
	return 0.5 * (lo + hi);
}

double lw_stats_gamma_p(double a, double x)
{
	return a > 0 ? gamma_p(a, x) : NAN;
}

void lw_stats_poisson_ci(double k, double conf, double *lo, double *hi)
{
	double a = (1 - conf) / 2;
	if (!(k >= 0) || !(conf > 0 && conf < 1)) {
		*lo = *hi = NAN;
		return;
	}
	/* Garwood: the means whose Poisson tails at k reach (1 - conf)/2,
	 * through P(X >= k | mu) = P(k, mu) and P(X <= k | mu) = 1 -
	 * P(k + 1, mu), continued to real k */
	*lo = k > 0 ? gamma_quantile(k, a) : 0;
	*hi = gamma_quantile(k + 1, 1 - a);
}

double lw_stats_sampling_var(double bytes, double objects, double rate)
{
	if (!(rate > 1) || !(bytes > 0) || !(objects > 0))
		return 0;
	double s = bytes / objects;
	double pr = -expm1(-s / rate); /* sampling probability */
	if (!(pr > 0))
		return bytes * rate;
	return bytes * s * (1 - pr) / pr;
}

