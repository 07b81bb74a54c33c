/* test_budget.c — the disk budget's thinning plan (preload/budget_plan.c)
 * on simulated runs.
 *
 * A run writes snapshots every second (keyframes now and then, deltas
 * referring to the latest keyframe), one growing stack file that is
 * replaced by a new generation once, and a dump now and then; after each
 * file the plan runs with room for the next one, as the shim does. After
 * every step:
 *   - the kept files plus the fixed part fit the budget (or the plan says
 *     it cannot, only when the budget is below the minimal set);
 *   - the first snapshot and the newest LW_BUDGET_RECENT are kept;
 *   - every kept delta's keyframe and every kept snapshot's stack file are
 *     kept, and the deletion order puts dependents before their bases;
 *   - at most keep_dumps dumps.
 * At the end, the kept history is spread logarithmically in age: every
 * octave of age [2^k, 2^(k+1)) seconds within the run holds some snapshots,
 * and no octave holds more than 4 times another. A "delete the oldest"
 * policy fails that check (shown below), so the check has power.
 * Fixed seeds; deterministic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "check.h"

#define MAXF 20000
static struct lw_bfile files[MAXF];
static size_t order[MAXF];
static size_t nf;

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void add(uint32_t kind, uint64_t seq, uint64_t t, uint64_t bytes, uint64_t key, uint64_t stk)
{
	struct lw_bfile *f;
	size_t i = lw_budget_find(files, nf, seq, kind);

	if (i == LW_BIDX_NONE) {
		if (nf == MAXF) {
			fprintf(stderr, "simulation too large\n");
			exit(99);
		}
		i = nf++;
		memset(&files[i], 0, sizeof(files[i]));
	}
	f = &files[i];
	f->kind = kind;
	f->seq = seq;
	f->t_ns = t;
	f->bytes = bytes;
	f->key_seq = key;
	f->stk_seq = stk;
}

static int kept_seq(uint64_t seq, uint32_t kind)
{
	return lw_budget_find(files, nf, seq, kind) != LW_BIDX_NONE;
}

/* Checks a plan's order and compacts the list. */
static void apply(size_t k)
{
	for (size_t j = 0; j < k; j++) {
		const struct lw_bfile *v = &files[order[j]];

		/* no file still kept, nor one deleted later, refers to v */
		for (size_t i = 0; i < nf; i++) {
			const struct lw_bfile *s = &files[i];
			int later = 0;

			if (s->kind != LW_BF_SNAP)
				continue;
			for (size_t q = j + 1; q < k; q++)
				later |= order[q] == i;
			if (!s->gone || later) {
				CHECK(!(v->kind == LW_BF_SNAP && s->key_seq == v->seq),
				      "keyframe %llu deleted before snapshot %llu", (unsigned long long)v->seq,
				      (unsigned long long)s->seq);
				CHECK(!(v->kind == LW_BF_STACKS && s->stk_seq == v->seq),
				      "stack file %llu deleted before snapshot %llu", (unsigned long long)v->seq,
				      (unsigned long long)s->seq);
			}
		}
	}
	size_t w = 0;
	for (size_t i = 0; i < nf; i++)
		if (!files[i].gone)
			files[w++] = files[i];
	nf = w;
}

static uint64_t kept_bytes(void)
{
	uint64_t b = 0;

	for (size_t i = 0; i < nf; i++)
		b += files[i].bytes;
	return b;
}

struct sim {
	uint64_t max_bytes;
	uint32_t keep_dumps;
	int steps;
	int dump_every;
	int key_every;
	uint64_t snap_bytes, key_bytes, dump_bytes;
};

#define SEC 1000000000ull

/* Runs a simulation; returns the number of steps the plan said "over". */
static int simulate(const struct sim *sm, int check_recent)
{
	struct lw_bpolicy p = { sm->max_bytes, 4096, sm->keep_dumps };
	uint64_t seq = 0, key = LW_BSEQ_NONE, stk = 0, stk_bytes = 4096, last_snap = 0, last_dump = 0;
	uint64_t first_snap = LW_BSEQ_NONE;
	uint64_t recent[LW_BUDGET_RECENT];
	int n_recent = 0, overs = 0;

	nf = 0;
	add(LW_BF_STACKS, seq, 0, stk_bytes, LW_BSEQ_NONE, LW_BSEQ_NONE);
	for (int i = 0; i < sm->steps; i++) {
		uint64_t t = (uint64_t)(i + 1) * SEC, room;
		int over;

		if (sm->dump_every && i % sm->dump_every == sm->dump_every - 1) {
			last_dump = sm->dump_bytes;
			add(LW_BF_DUMP, seq++, t, last_dump, LW_BSEQ_NONE, LW_BSEQ_NONE);
		} else {
			int is_key = key == LW_BSEQ_NONE || i % sm->key_every == 0 || !kept_seq(key, LW_BF_SNAP);
			if (i == sm->steps / 2) {   /* the stack file was replaced */
				stk = seq;
				stk_bytes = 4096;
				add(LW_BF_STACKS, stk, t, stk_bytes, LW_BSEQ_NONE, LW_BSEQ_NONE);
			}
			if (i % 97 == 0 && i < 2000) {   /* new stacks, early in the run */
				stk_bytes += 4096;
				add(LW_BF_STACKS, stk, 0, stk_bytes, LW_BSEQ_NONE, LW_BSEQ_NONE);
			}
			last_snap = is_key ? sm->key_bytes : sm->snap_bytes + (rnd() % 3) * 4096;
			add(LW_BF_SNAP, seq, t, last_snap, is_key ? LW_BSEQ_NONE : key, stk);
			if (first_snap == LW_BSEQ_NONE)
				first_snap = seq;
			if (is_key)
				key = seq;
			recent[n_recent++ % LW_BUDGET_RECENT] = seq;
			seq++;
		}
		room = last_snap > last_dump ? last_snap : last_dump;
		size_t k = lw_budget_plan(files, nf, &p, room, t, order, &over);
		apply(k);
		overs += over;
		if (!over)
			CHECK(kept_bytes() + 4096 <= sm->max_bytes, "step %d: %llu bytes kept", i,
			      (unsigned long long)kept_bytes());
		/* room for the next file too, where unprotected files allow it */
		if (check_recent)
			CHECK(kept_bytes() + 4096 + room <= sm->max_bytes, "step %d: no room: %llu bytes kept",
			      i, (unsigned long long)kept_bytes());
		if (!over && check_recent) {
			CHECK(kept_seq(first_snap, LW_BF_SNAP), "step %d: first snapshot deleted", i);
			for (int r = 0; r < n_recent && r < LW_BUDGET_RECENT; r++)
				CHECK(kept_seq(recent[r], LW_BF_SNAP), "step %d: recent snapshot %llu deleted", i,
				      (unsigned long long)recent[r]);
		}
		size_t dumps = 0;
		for (size_t j = 0; j < nf; j++) {
			const struct lw_bfile *s = &files[j];

			dumps += s->kind == LW_BF_DUMP;
			if (s->kind != LW_BF_SNAP)
				continue;
			CHECK(s->key_seq == LW_BSEQ_NONE || kept_seq(s->key_seq, LW_BF_SNAP),
			      "step %d: snapshot %llu lost its keyframe", i, (unsigned long long)s->seq);
			CHECK(kept_seq(s->stk_seq, LW_BF_STACKS), "step %d: snapshot %llu lost its stack file",
			      i, (unsigned long long)s->seq);
		}
		CHECK(sm->keep_dumps == 0 || dumps <= sm->keep_dumps, "step %d: %zu dumps", i, dumps);
		/* the newest snapshot is always kept */
		CHECK(kept_seq(recent[(n_recent - 1) % LW_BUDGET_RECENT], LW_BF_SNAP) || n_recent == 0,
		      "step %d: newest snapshot deleted", i);
	}
	return overs;
}

/* Snapshots kept per octave of age; returns max/min over the octaves that
 * lie inside the run and beyond the always-kept recent window. */
static double octave_spread(uint64_t now, int verbose)
{
	int count[64] = { 0 }, lo = 64, hi = -1;
	double mx = 0, mn = 1e300;

	for (size_t i = 0; i < nf; i++) {
		if (files[i].kind != LW_BF_SNAP)
			continue;
		uint64_t age = (now - files[i].t_ns) / SEC;
		int k = 0;

		while ((2ull << k) <= age)
			k++;
		if (age == 0)
			continue;
		count[k]++;
	}
	/* octaves 4.. (ages >= 16 s, past the recent window) up to the one
	 * that holds the start of the run */
	for (int k = 4; k < 63; k++)
		if (count[k]) {
			if (k < lo)
				lo = k;
			hi = k;
		}
	for (int k = lo; k < hi; k++) {   /* the oldest octave is partial */
		if (verbose)
			fprintf(stderr, "  octave %2d (age %6llu..%6llu s): %d\n", k,
				(unsigned long long)(1ull << k), (unsigned long long)(2ull << k), count[k]);
		if (count[k] > mx)
			mx = count[k];
		if (count[k] < mn)
			mn = count[k];
	}
	return mn > 0 ? mx / mn : 1e300;
}

/* The same run under "delete the oldest snapshot": not log-spaced. */
static double naive_spread(void)
{
	uint64_t budget_files = 400;

	nf = 0;
	for (uint64_t i = 0; i < 16000; i++) {
		add(LW_BF_SNAP, i, (i + 1) * SEC, 4096, LW_BSEQ_NONE, LW_BSEQ_NONE);
		if (nf > budget_files) {
			memmove(&files[1], &files[2], (nf - 2) * sizeof(files[0]));   /* keep the first */
			nf--;
		}
	}
	return octave_spread(16000 * SEC, 0);
}

int main(void)
{
	/* 16,000 s at 1 s, 400 snapshots' worth of budget, dumps every 1,000 */
	struct sim sm = { 400 * 4096 + 4 * 40960, 3, 16000, 1000, 5, 4096, 4 * 4096, 40960 };
	int overs = simulate(&sm, 1);
	CHECK(overs == 0, "%d steps over budget", overs);
	size_t kept = 0;
	for (size_t i = 0; i < nf; i++)
		kept += files[i].kind == LW_BF_SNAP;
	double spread = octave_spread(16000 * SEC, 1);
	fprintf(stderr, "kept %zu snapshots of 16000; octave spread %.2f\n", kept, spread);
	CHECK(kept > 100, "only %zu snapshots kept", kept);
	/* each third of the run keeps about its share (LW_BUDGET_THIRD_PCT;
	 * the thirds move as the run goes on, so allow 3 points less) */
	size_t third[3] = { 0, 0, 0 };
	for (size_t i = 0; i < nf; i++)
		if (files[i].kind == LW_BF_SNAP)
			third[files[i].t_ns * 3 / (16000 * SEC + 1)]++;
	fprintf(stderr, "thirds: %zu %zu %zu\n", third[0], third[1], third[2]);
	for (int k = 0; k < 3; k++)
		CHECK(third[k] * 100 >= kept * (LW_BUDGET_THIRD_PCT - 3), "third %d holds %zu of %zu", k,
		      third[k], kept);
	CHECK(spread <= 4.0, "octave spread %.2f", spread);

	/* no dump limit: dumps are thinned by bytes only, oldest first */
	sm.keep_dumps = 0;
	sm.dump_every = 200;
	overs = simulate(&sm, 0);
	CHECK(overs == 0, "%d steps over budget without a dump limit", overs);

	/* every snapshot a keyframe, no dumps */
	struct sim keys = { 300 * 4096, 3, 5000, 0, 1, 4096, 4096, 0 };
	CHECK(simulate(&keys, 1) == 0, "keyframes only");

	/* a budget below the minimal set: reported, and only the newest
	 * snapshot with its keyframe and stack file remain */
	struct sim tiny = { 6 * 4096, 3, 300, 50, 7, 4096, 3 * 4096, 40960 };
	overs = simulate(&tiny, 0);
	CHECK(overs > 0, "a tiny budget must be reported");
	size_t snaps = 0, dumps = 0;
	for (size_t i = 0; i < nf; i++) {
		snaps += files[i].kind == LW_BF_SNAP;
		dumps += files[i].kind == LW_BF_DUMP;
	}
	CHECK(snaps <= 2 && dumps == 0, "tiny budget kept %zu snapshots, %zu dumps", snaps, dumps);
	/* a dump larger than the budget goes, and says so */
	nf = 0;
	add(LW_BF_STACKS, 0, 0, 4096, LW_BSEQ_NONE, LW_BSEQ_NONE);
	add(LW_BF_SNAP, 0, SEC, 4096, LW_BSEQ_NONE, 0);
	add(LW_BF_DUMP, 1, 2 * SEC, 200 * 4096, LW_BSEQ_NONE, LW_BSEQ_NONE);
	struct lw_bpolicy small = { 100 * 4096, 4096, 3 };
	int over = 0;
	size_t k = lw_budget_plan(files, nf, &small, 0, 3 * SEC, order, &over);
	CHECK(k == 1 && files[order[0]].kind == LW_BF_DUMP && over == LW_BUDGET_DUMP_DROPPED,
	      "k %zu over %d", k, over);

	/* the check above has power: deleting the oldest is not log-spaced */
	double naive = naive_spread();
	fprintf(stderr, "delete-oldest octave spread %s\n", naive > 1e9 ? "infinite (empty octaves)" : "finite");
	CHECK(naive > 4.0, "the spread check cannot tell delete-oldest apart (%.2f)", naive);

	return check_finish();
}
