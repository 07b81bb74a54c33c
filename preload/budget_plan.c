/* budget_plan.c — the thinning plan of the disk budget (see budget.h):
 * which files to delete, in which order. Pure: no I/O, no allocation, no
 * global state, so the policy is unit-tested on simulated runs
 * (tests/preload/test_budget.c).
 *
 * Invariants of a plan: a snapshot that a kept snapshot refers to (its
 * keyframe) and a stack file that a kept snapshot refers to (or the newest
 * one, still being appended to) are never chosen; a file is chosen only
 * after every chosen file that refers to it, so deleting in order never
 * leaves a file whose base is gone. Cost: O(n) per chosen file.
 */
#include "budget.h"

size_t lw_budget_find(const struct lw_bfile *f, size_t n, uint64_t seq, uint32_t kind)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* a snapshot and its stack file may share a seq */
	for (; lo < n && f[lo].seq == seq; lo++)
		if (f[lo].kind == kind)
			return lo;
	return LW_BIDX_NONE;
}

struct plan {
	struct lw_bfile *f;
	size_t n, k;
	size_t *order;
	uint64_t total;
	uint64_t now;
	size_t newest_stacks;
	int dump_dropped;     /* the newest dump did not fit */
};

static void take(struct plan *pl, size_t i);

/* A snapshot went: its keyframe and stack file lose a reference; a stack
 * file nobody refers to any more (and not the one being appended to) goes
 * too, after the snapshot. */
static void drop_refs(struct plan *pl, size_t i)
{
	const struct lw_bfile *s = &pl->f[i];
	size_t j;

	if (s->key_seq != LW_BSEQ_NONE &&
	    (j = lw_budget_find(pl->f, pl->n, s->key_seq, LW_BF_SNAP)) != LW_BIDX_NONE && pl->f[j].refs)
		pl->f[j].refs--;
	if (s->stk_seq != LW_BSEQ_NONE &&
	    (j = lw_budget_find(pl->f, pl->n, s->stk_seq, LW_BF_STACKS)) != LW_BIDX_NONE && pl->f[j].refs) {
		if (--pl->f[j].refs == 0 && j != pl->newest_stacks && !pl->f[j].gone)
			take(pl, j);
	}
}

static void take(struct plan *pl, size_t i)
{
	pl->f[i].gone = 1;
	pl->order[pl->k++] = i;
	pl->total -= pl->f[i].bytes < pl->total ? pl->f[i].bytes : pl->total;
	if (pl->f[i].kind == LW_BF_SNAP)
		drop_refs(pl, i);
}

/* Which third of the run (by time, first kept snapshot to now) t is in. */
static int third_of(const struct plan *pl, uint64_t t0, uint64_t t)
{
	uint64_t span = pl->now > t0 ? pl->now - t0 : 1, at = t > t0 ? t - t0 : 0;
	int k = (int)((double)at * 3.0 / (double)span);

	return k < 0 ? 0 : k > 2 ? 2 : k;
}

/* The snapshot to thin: not the first kept one, not among the newest
 * LW_BUDGET_RECENT, no kept snapshot refers to it, and its third of the run
 * keeps more than LW_BUDGET_THIRD_PCT percent of the snapshots; of those,
 * the one whose removal leaves the smallest gap between its neighbours
 * relative to its age. Equal gap/age everywhere is log spacing: gaps grow
 * in proportion to age. The floor per third keeps enough of the early run
 * for `growth` when few snapshots fit (its reference slope comes from the
 * first third, its recent window is the last third); with many snapshots
 * log spacing puts more than that there anyway. */
static size_t thin_candidate(struct plan *pl)
{
	size_t n_snap = 0, seen = 0, best = LW_BIDX_NONE, per_third[3] = { 0, 0, 0 }, floor;
	size_t prev = LW_BIDX_NONE, cur = LW_BIDX_NONE;
	uint64_t t0 = 0;
	double best_score = 0;

	for (size_t i = 0; i < pl->n; i++) {
		if (pl->f[i].kind != LW_BF_SNAP || pl->f[i].gone)
			continue;
		if (n_snap++ == 0)
			t0 = pl->f[i].t_ns;
		per_third[third_of(pl, t0, pl->f[i].t_ns)]++;
	}
	if (n_snap <= LW_BUDGET_RECENT + 1)
		return LW_BIDX_NONE;
	floor = n_snap * LW_BUDGET_THIRD_PCT / 100;
	for (size_t i = 0; i < pl->n; i++) {
		if (pl->f[i].kind != LW_BF_SNAP || pl->f[i].gone)
			continue;
		/* i is the next kept snapshot after cur */
		if (cur != LW_BIDX_NONE && prev != LW_BIDX_NONE && seen <= n_snap - LW_BUDGET_RECENT &&
		    pl->f[cur].refs == 0 && per_third[third_of(pl, t0, pl->f[cur].t_ns)] > floor) {
			const struct lw_bfile *c = &pl->f[cur];
			double gap = (double)(pl->f[i].t_ns - pl->f[prev].t_ns);
			double age = (double)(pl->now > c->t_ns ? pl->now - c->t_ns : 0) + 1.0;
			double score = gap / age;

			if (best == LW_BIDX_NONE || score < best_score) {
				best = cur;
				best_score = score;
			}
		}
		prev = cur;
		cur = i;
		seen++;
	}
	return best;
}

static size_t count_kind(const struct plan *pl, uint32_t kind)
{
	size_t c = 0;

	for (size_t i = 0; i < pl->n; i++)
		c += pl->f[i].kind == kind && !pl->f[i].gone;
	return c;
}

/* The oldest kept file of `kind`, or the newest if `newest`. */
static size_t edge_of(const struct plan *pl, uint32_t kind, int newest)
{
	size_t r = LW_BIDX_NONE;

	for (size_t i = 0; i < pl->n; i++) {
		if (pl->f[i].kind != kind || pl->f[i].gone)
			continue;
		r = i;
		if (!newest)
			break;
	}
	return r;
}

/* Room for the next file is worth thinning and older dumps, not the files
 * the policy protects: those go only when the kept files themselves exceed
 * the budget (desperate == 1). */
static size_t pick(struct plan *pl, int desperate)
{
	size_t c, newest_dump = edge_of(pl, LW_BF_DUMP, 1);
	size_t newest_snap = edge_of(pl, LW_BF_SNAP, 1);

	if (count_kind(pl, LW_BF_SNAP) > LW_BUDGET_MIN_HISTORY &&
	    (c = thin_candidate(pl)) != LW_BIDX_NONE)
		return c;
	c = edge_of(pl, LW_BF_DUMP, 0);
	if (c != LW_BIDX_NONE && c != newest_dump)
		return c;
	if ((c = thin_candidate(pl)) != LW_BIDX_NONE)
		return c;
	if (!desperate)
		return LW_BIDX_NONE;
	if (newest_dump != LW_BIDX_NONE) {
		pl->dump_dropped = 1;
		return newest_dump;
	}
	/* the protected snapshots, oldest first, but never the newest one nor
	 * a keyframe a kept snapshot still needs */
	for (size_t i = 0; i < pl->n; i++)
		if (pl->f[i].kind == LW_BF_SNAP && !pl->f[i].gone && i != newest_snap &&
		    pl->f[i].refs == 0)
			return i;
	return LW_BIDX_NONE;
}

size_t lw_budget_plan(struct lw_bfile *f, size_t n, const struct lw_bpolicy *p, uint64_t room,
		      uint64_t now_ns, size_t *order, int *over)
{
	struct plan pl = { f, n, 0, order, p->fixed, now_ns, LW_BIDX_NONE, 0 };
	size_t dumps = 0;

	*over = 0;
	for (size_t i = 0; i < n; i++) {
		f[i].gone = 0;
		f[i].refs = 0;
		pl.total += f[i].bytes;
		if (f[i].kind == LW_BF_STACKS)
			pl.newest_stacks = i;
	}
	for (size_t i = 0; i < n; i++) {
		size_t j;

		if (f[i].kind != LW_BF_SNAP)
			continue;
		if (f[i].key_seq != LW_BSEQ_NONE &&
		    (j = lw_budget_find(f, n, f[i].key_seq, LW_BF_SNAP)) != LW_BIDX_NONE)
			f[j].refs++;
		if (f[i].stk_seq != LW_BSEQ_NONE &&
		    (j = lw_budget_find(f, n, f[i].stk_seq, LW_BF_STACKS)) != LW_BIDX_NONE)
			f[j].refs++;
	}
	/* stack files of an earlier generation that nothing refers to */
	for (size_t i = 0; i < n; i++)
		if (f[i].kind == LW_BF_STACKS && f[i].refs == 0 && i != pl.newest_stacks)
			take(&pl, i);
	/* dumps beyond the newest keep_dumps */
	if (p->keep_dumps)
		for (size_t i = n; i-- > 0;)
			if (f[i].kind == LW_BF_DUMP && !f[i].gone && ++dumps > p->keep_dumps)
				take(&pl, i);
	while (pl.total + room > p->max_bytes) {
		size_t c = pick(&pl, 0);

		if (c == LW_BIDX_NONE)
			break;
		take(&pl, c);
	}
	while (pl.total > p->max_bytes) {
		size_t c = pick(&pl, 1);

		if (c == LW_BIDX_NONE) {
			*over |= LW_BUDGET_OVER;
			break;
		}
		take(&pl, c);
	}
	if (pl.dump_dropped)
		*over |= LW_BUDGET_DUMP_DROPPED;
	return pl.k;
}

