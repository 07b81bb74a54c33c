/* test_reports_top.c — unit tests of analyze/report (top.c, diff.c): `top`
 * aggregation (flat / cum per function, per site, focus) and `diff` site
 * matching, each checked against a naive reference model on random
 * profiles drawn with a fixed seed; diff's handling of unsymbolized sites
 * and of sites that are not in use; plus label shortening and the clock
 * format.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../check.h"
#include "report.h"
#include "site.h"
#include "units.h"


static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static const char *const FN[] = { "main", "serve", "handle", "parse", "cache_put",
				  "leak_fn", "helper", "alloc_node", "worker", "reader" };
#define NFN (sizeof(FN) / sizeof(FN[0]))

typedef struct gen {
	lw_profile p;
	lw_site sites[200];
	lw_values vals[200];
	lw_sym_frame frames[200][12];
	char keys[200][1024];
} gen;

/* Gives a site its key (model/site.h), stored in buf. */
static void set_key(lw_site *s, char *buf, size_t len)
{
	lw_strbuf k = { 0 };
	lw_site_key(s->frames, s->n_frames, &k);
	snprintf(buf, len, "%s", lw_strbuf_cstr(&k));
	lw_strbuf_free(&k);
	s->key = buf;
}

static void gen_profile(gen *g, size_t n)
{
	memset(g, 0, sizeof(*g));
	for (size_t i = 0; i < n; i++) {
		size_t depth = 1 + rnd(8);
		for (size_t f = 0; f < depth; f++) {
			lw_sym_frame *fr = &g->frames[i][f];
			uint32_t k = rnd(NFN);
			fr->function = FN[k];
			fr->file = k % 3 ? "/src/a.c" : "/src/b.c";   /* a function is in one file */
			fr->line = (int)(10 + rnd(5));
			fr->module = "app";
			fr->pc = 0x1000 + i * 64 + f;
		}
		/* the last frame is unique per site so that sites are distinct */
		lw_sym_frame *last = &g->frames[i][depth];
		last->function = "start";
		last->file = "/src/start.c";
		last->line = (int)i + 1;
		last->module = "app";
		g->sites[i].id = (int64_t)i + 1;
		g->sites[i].n_frames = depth + 1;
		g->sites[i].frames = g->frames[i];
		set_key(&g->sites[i], g->keys[i], sizeof(g->keys[i]));
		double obj = 1 + rnd(100);
		double size = 16 * (1 + rnd(64));
		g->vals[i].inuse_objects = rnd(4) ? obj : 0;
		g->vals[i].inuse_bytes = g->vals[i].inuse_objects * size;
		g->vals[i].alloc_objects = obj * 3;
		g->vals[i].alloc_bytes = obj * 3 * size;
	}
	g->p.n = n;
	g->p.sites = g->sites;
	g->p.values = g->vals;
	g->p.snap.pid = 1;
	g->p.snap.run_id = 7;
}

/* Naive reference: for function fn, flat = sum over sites whose frame 0 is
 * fn; cum = sum over sites with fn anywhere (once). */
static void naive_top(const lw_profile *p, const char *fn, enum lw_sample_type t,
		      const lw_regex *focus, double *flat, double *cum)
{
	*flat = *cum = 0;
	for (size_t i = 0; i < p->n; i++) {
		const lw_site *s = &p->sites[i];
		int keep = !focus, has = 0;
		for (size_t f = 0; f < s->n_frames; f++) {
			if (focus && lw_regex_match(focus, s->frames[f].function))
				keep = 1;
			if (!strcmp(s->frames[f].function, fn))
				has = 1;
		}
		if (!keep)
			continue;
		double v = lw_values_get(&p->values[i], t);
		if (!strcmp(s->frames[0].function, fn))
			*flat += v;
		if (has)
			*cum += v;
	}
}

static void test_top_functions(void)
{
	static gen g;
	for (int round = 0; round < 20; round++) {
		gen_profile(&g, 20 + rnd(150));
		char err[256];
		lw_regex *re = round % 2 ? lw_regex_new("^(parse|helper)$", err, sizeof(err)) : NULL;
		enum lw_sample_type t = (enum lw_sample_type)(round % 4);
		lw_top_opts o;
		memset(&o, 0, sizeof(o));
		o.sample = t;
		o.focus = re;
		o.focus_text = "^(parse|helper)$";
		o.sort = round % 3 == 0 ? LW_TOP_SORT_CUM : LW_TOP_SORT_FLAT;
		lw_top_result r;
		CHECK(lw_top_compute(&g.p, &o, &r) == 0, "compute");
		double total = 0;
		for (size_t i = 0; i < g.p.n; i++)
			total += lw_values_get(&g.p.values[i], t);
		CHECK(fabs(r.total - total) < 1e-6, "total");
		/* every function of the reference appears with its figures */
		size_t expected_rows = 0;
		for (size_t k = 0; k < NFN + 1; k++) {
			const char *fn = k < NFN ? FN[k] : NULL;
			if (!fn)
				break;
			double flat, cum;
			naive_top(&g.p, fn, t, re, &flat, &cum);
			const lw_top_row *row = NULL;
			for (size_t i = 0; i < r.n_rows; i++)
				if (!strcmp(r.rows[i].frame->function, fn))
					row = &r.rows[i];
			if (flat == 0 && cum == 0) {
				CHECK(row == NULL, "%s should have no row", fn);
				continue;
			}
			expected_rows++;
			CHECK(row && fabs(row->flat - flat) < 1e-6 && fabs(row->cum - cum) < 1e-6,
			      "round %d %s: flat %g/%g cum %g/%g", round, fn, row ? row->flat : -1, flat,
			      row ? row->cum : -1, cum);
		}
		size_t start_rows = 0;
		for (size_t i = 0; i < r.n_rows; i++)
			start_rows += !strcmp(r.rows[i].frame->function, "start");
		CHECK(r.n_rows == expected_rows + start_rows, "row count %zu vs %zu+%zu", r.n_rows,
		      expected_rows, start_rows);
		/* ranking */
		for (size_t i = 1; i < r.n_rows; i++) {
			double a = o.sort == LW_TOP_SORT_CUM ? r.rows[i - 1].cum : r.rows[i - 1].flat;
			double b = o.sort == LW_TOP_SORT_CUM ? r.rows[i].cum : r.rows[i].flat;
			CHECK(a >= b, "sorted at %zu", i);
		}
		/* per site: the kept sites with a value, all flat == cum */
		o.by = LW_TOP_BY_SITE;
		lw_top_result rs;
		CHECK(lw_top_compute(&g.p, &o, &rs) == 0, "compute by site");
		size_t want = 0;
		double kept = 0;
		for (size_t i = 0; i < g.p.n; i++) {
			int keep = !re;
			for (size_t f = 0; re && f < g.p.sites[i].n_frames; f++)
				keep |= lw_regex_match(re, g.p.sites[i].frames[f].function);
			if (keep) {
				kept += lw_values_get(&g.p.values[i], t);
				want += lw_values_get(&g.p.values[i], t) != 0;
			}
		}
		CHECK(rs.n_rows == want, "sites %zu vs %zu", rs.n_rows, want);
		CHECK(fabs(rs.focus_total - kept) < 1e-6, "focus total");
		for (size_t i = 0; i < rs.n_rows; i++)
			CHECK(rs.rows[i].flat == rs.rows[i].cum && rs.rows[i].site, "site row");
		lw_top_result_free(&rs);
		lw_top_result_free(&r);
		lw_regex_free(re);
	}
}

static double retained_by_id(const lw_site *s, void *arg)
{
	(void)arg;
	return (double)(s->id * 1000);
}

static void test_retained_hook(void)
{
	static gen g;
	gen_profile(&g, 30);
	lw_top_opts o;
	memset(&o, 0, sizeof(o));
	o.by = LW_TOP_BY_SITE;
	o.sort = LW_TOP_SORT_RETAINED;
	o.retained = retained_by_id;
	lw_top_result r;
	CHECK(lw_top_compute(&g.p, &o, &r) == 0, "compute");
	for (size_t i = 1; i < r.n_rows; i++)
		CHECK(r.rows[i - 1].retained >= r.rows[i].retained, "sorted by retained");
	CHECK(r.n_rows && r.rows[0].site->id == 30, "largest retained first");
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	lw_top_print(&g.p, &o, &r, 5, 80, f);
	fclose(f);
	CHECK(strstr(mem, "retained") != NULL, "retained column: %s", mem);
	free(mem);
	lw_top_result_free(&r);
}

/* Deep copy with new pointers, ids, pcs and a shuffled order: a "different
 * process". Values change by a known amount; some sites are dropped. */
static void test_diff(void)
{
	static gen a, b;
	for (int round = 0; round < 10; round++) {
		gen_profile(&a, 50 + rnd(100));
		b = a;
		for (size_t i = 0; i < a.p.n; i++)
			a.sites[i].key = a.keys[i];   /* the copy's keys point into a */
		size_t n = 0;
		static char names[200][12][32];
		size_t perm[200];
		for (size_t i = 0; i < a.p.n; i++)
			perm[i] = i;
		for (size_t i = a.p.n; i > 1; i--) {
			size_t j = rnd((uint32_t)i), t = perm[i - 1];
			perm[i - 1] = perm[j];
			perm[j] = t;
		}
		for (size_t k = 0; k < a.p.n; k++) {
			size_t i = perm[k];
			if (i % 7 == 3)
				continue;           /* gone in b */
			for (size_t f = 0; f < a.sites[i].n_frames; f++) {
				snprintf(names[n][f], sizeof(names[n][f]), "%s", a.frames[i][f].function);
				b.frames[n][f] = a.frames[i][f];
				b.frames[n][f].function = names[n][f];
				b.frames[n][f].pc += 0x7f0000000000ull;
			}
			b.sites[n].id = 1000 + (int64_t)n;
			b.sites[n].n_frames = a.sites[i].n_frames;
			b.sites[n].frames = b.frames[n];
			set_key(&b.sites[n], b.keys[n], sizeof(b.keys[n]));
			b.vals[n] = a.vals[i];
			b.vals[n].inuse_bytes += (double)(i % 5) * 100;
			n++;
		}
		b.p.n = n;
		b.p.sites = b.sites;
		b.p.values = b.vals;
		b.p.snap.run_id = 8;
		lw_diff_result r;
		CHECK(lw_diff_compute(&a.p, &b.p, LW_INUSE_SPACE, &r) == 0, "diff");
		CHECK(!r.same_process, "different processes");
		/* dropped from b: GONE, unless nothing was in use (then the inuse
		 * diff has nothing to say about it) */
		size_t gone = 0;
		for (size_t i = 0; i < a.p.n; i++) {
			int zero = a.vals[i].inuse_bytes == 0 && a.vals[i].inuse_objects == 0;
			if (i % 7 == 3 && !zero)
				gone++;
		}
		CHECK(r.n_gone == gone && r.n_new == 0, "gone %zu/%zu new %zu", r.n_gone, gone,
		      r.n_new);
		/* every changed site of a has its row with the right delta */
		for (size_t i = 0; i < a.p.n; i++) {
			double want = i % 7 == 3 ? -a.vals[i].inuse_bytes : (double)(i % 5) * 100;
			const lw_diff_row *row = NULL;
			for (size_t k = 0; k < r.n_rows; k++)
				if (r.rows[k].site->n_frames == a.sites[i].n_frames &&
				    !strcmp(r.rows[k].site->frames[r.rows[k].site->n_frames - 1].file,
					    "/src/start.c") &&
				    r.rows[k].site->frames[r.rows[k].site->n_frames - 1].line ==
					    a.sites[i].frames[a.sites[i].n_frames - 1].line)
					row = &r.rows[k];
			if (want == 0) {
				CHECK(row == NULL, "unchanged site %zu has no row", i);
				continue;
			}
			CHECK(row && fabs(row->delta - want) < 1e-6, "site %zu delta %g want %g", i,
			      row ? row->delta : NAN, want);
			if (row && i % 7 == 3)
				CHECK(row->status == LW_DIFF_GONE, "site %zu GONE", i);
		}
		for (size_t k = 1; k < r.n_rows; k++)
			CHECK(r.rows[k - 1].delta >= r.rows[k].delta, "ranked");
		/* reversed: the gone sites become new */
		lw_diff_result rr;
		CHECK(lw_diff_compute(&b.p, &a.p, LW_INUSE_SPACE, &rr) == 0, "diff");
		CHECK(rr.n_new == gone && rr.n_gone == 0, "reverse new %zu gone %zu", rr.n_new,
		      rr.n_gone);
		lw_diff_result_free(&rr);
		lw_diff_result_free(&r);
	}
	/* same process: rate computed from t_s */
	gen_profile(&a, 10);
	b = a;
	b.p.sites = b.sites;
	b.p.values = b.vals;
	for (size_t i = 0; i < 10; i++)
		b.sites[i].frames = b.frames[i];
	b.vals[0].inuse_bytes += 3600;
	a.p.snap.t_s = 100;
	b.p.snap.t_s = 160;
	lw_diff_result r;
	CHECK(lw_diff_compute(&a.p, &b.p, LW_INUSE_SPACE, &r) == 0, "diff");
	CHECK(r.same_process && fabs(r.seconds - 60) < 1e-9, "same process, 60 s");
	CHECK(r.n_rows == 1 && fabs(r.total_after - r.total_before - 3600) < 1e-6, "one change");
	lw_diff_result_free(&r);
}

static void test_labels(void)
{
	char buf[256];
	lw_sym_frame f = { "leak_fn", "/home/x/src/leak.c", 42, "app", 0, 0, 0 };
	CHECK(!strcmp(lw_frame_label(&f, 80, buf, sizeof(buf)), "leak_fn (leak.c:42)"), "%s", buf);
	lw_sym_frame u = { "??", "", 0, "/usr/lib/libfoo.so.1", 0, 0, 0 };
	CHECK(!strcmp(lw_frame_label(&u, 80, buf, sizeof(buf)), "?? (libfoo.so.1)"), "%s", buf);
	lw_sym_frame cxx = { "std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>"
			     "(__gnu_cxx::__normal_iterator<int*, std::vector<int> >, int const&)",
			     "/usr/include/c++/12/bits/vector.tcc", 512, "app", 0, 0, 0 };
	lw_frame_label(&cxx, 60, buf, sizeof(buf));
	CHECK(strlen(buf) <= 60, "fits: %zu %s", strlen(buf), buf);
	CHECK(strstr(buf, "vector.tcc:512") != NULL, "keeps location: %s", buf);
	lw_frame_label(&cxx, 30, buf, sizeof(buf));
	CHECK(strlen(buf) <= 30 && strstr(buf, "...") != NULL, "middle cut: %s", buf);
	CHECK(!strcmp(lw_fmt_clock(312, buf, sizeof(buf)), "00:05:12"), "%s", buf);
	CHECK(!strcmp(lw_fmt_clock(3600 * 27 + 1, buf, sizeof(buf)), "27:00:01"), "%s", buf);
}

/* lw_diff_compute on two profiles of 5,000 sites of depth 20 (the diff
 * target is 200 ms for the whole command); the bound asserted here is
 * generous, the time is printed. */
static void test_diff_speed(void)
{
	enum { N = 5000, D = 20 };
	static lw_site sa[N], sb[N];
	static lw_values va[N], vb[N];
	static lw_sym_frame fa[N][D], fb[N][D];
	static char files[N][24];
	static char ka[N][1024], kb[N][1024];
	for (size_t i = 0; i < N; i++) {
		snprintf(files[i], sizeof(files[i]), "/src/f%zu.c", i % 97);
		for (size_t f = 0; f < D; f++) {
			lw_sym_frame fr = { FN[(i * 7 + f * 3) % NFN], files[i], (int)(i % 1000 + f), "app",
					    0x400000 + i * 32 + f, 0, 0 };
			fa[i][f] = fr;
			fr.pc += 0x10000000;
			fb[N - 1 - i][f] = fr;
		}
		sa[i] = (lw_site){ .id = (int64_t)i, .n_frames = D, .frames = fa[i] };
		sb[N - 1 - i] = (lw_site){ .id = (int64_t)(N + i), .n_frames = D, .frames = fb[N - 1 - i] };
		set_key(&sa[i], ka[i], sizeof(ka[i]));
		set_key(&sb[N - 1 - i], kb[N - 1 - i], sizeof(kb[N - 1 - i]));
		va[i] = (lw_values){ 10, 1000, 5, 500 };
		vb[N - 1 - i] = (lw_values){ 12, 1200, 5 + (double)(i % 3), 500 + (double)(i % 3) * 100 };
	}
	lw_profile a, b;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.n = b.n = N;
	a.sites = sa;
	b.sites = sb;
	a.values = va;
	b.values = vb;
	struct timespec t0, t1;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	lw_diff_result r;
	CHECK(lw_diff_compute(&a, &b, LW_INUSE_SPACE, &r) == 0, "diff");
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	CHECK(r.n_new == 0 && r.n_gone == 0, "all matched across addresses: new %zu gone %zu",
	      r.n_new, r.n_gone);
	CHECK(r.n_rows == N - (N + 2) / 3, "changed rows %zu", r.n_rows);
	printf("lw_diff_compute, 2 x %d sites of depth %d: %.1f ms CPU\n", N, D, ms);
	CHECK(ms < 2000, "took %.1f ms", ms);
	lw_diff_result_free(&r);
}

/* Two unsymbolized sites that differ only in their module offsets stay
 * two rows; a site that allocated and freed everything is no row of an
 * inuse diff (it used to show as NEW with 0 B before and after). */
static void test_diff_unknown_and_unused(void)
{
	static lw_sym_frame fr[4][2] = {
		{ { "??", "", 0, "libstripped.so", 0x7f0000001100, 0, 0x1100 },
		  { "main", "/src/main.c", 9, "app", 0x401000, 0, 0x1000 } },
		{ { "??", "", 0, "libstripped.so", 0x7f0000001200, 0, 0x1200 },
		  { "main", "/src/main.c", 9, "app", 0x401000, 0, 0x1000 } },
		{ { "drained", "/src/d.c", 3, "app", 0x401100, 0, 0x1100 },
		  { "main", "/src/main.c", 9, "app", 0x401000, 0, 0x1000 } },
		{ { "??", "", 0, "libstripped.so", 0x7f0000001100, 0, 0x1100 },
		  { "main", "/src/main.c", 9, "app", 0x401000, 0, 0x1000 } },
	};
	static char keys[4][256];
	lw_site s[4];
	for (int i = 0; i < 4; i++) {
		s[i] = (lw_site){ .id = i + 1, .n_frames = 2, .frames = fr[i] };
		set_key(&s[i], keys[i], sizeof(keys[i]));
	}
	CHECK(strcmp(s[0].key, s[1].key) != 0 && strcmp(s[0].key, s[3].key) == 0,
	      "offsets keep unknown functions apart");
	/* before: A (??+0x1100) 100 B; after: A 300 B, B (??+0x1200) 50 B, and
	 * a site that allocated 4 KiB and freed it all */
	lw_site sb[1] = { s[3] };
	lw_values vb[1] = { { 1, 100, 1, 100 } };
	lw_site sa[3] = { s[0], s[1], s[2] };
	lw_values va[3] = { { 3, 300, 3, 300 }, { 1, 50, 1, 50 }, { 4, 4096, 0, 0 } };
	lw_profile before, after;
	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	before.n = 1, before.sites = sb, before.values = vb;
	after.n = 3, after.sites = sa, after.values = va;
	lw_diff_result r;
	CHECK(lw_diff_compute(&before, &after, LW_INUSE_SPACE, &r) == 0, "diff");
	CHECK(r.n_rows == 2 && r.n_new == 1 && r.n_gone == 0, "rows %zu new %zu gone %zu",
	      r.n_rows, r.n_new, r.n_gone);
	for (size_t i = 0; i < r.n_rows; i++) {
		const lw_diff_row *row = &r.rows[i];
		CHECK(strcmp(row->site->frames[0].function, "drained") != 0,
		      "a site with nothing in use is not a row");
		if (row->site->frames[0].offset == 0x1100)
			CHECK(row->status == LW_DIFF_BOTH && row->delta == 200, "A grew by 200");
		else
			CHECK(row->status == LW_DIFF_NEW && row->delta == 50, "B is new");
	}
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	lw_diff_print(&before, &after, LW_INUSE_SPACE, &r, 10, 100, f);
	fclose(f);
	CHECK(strstr(mem, "?? (libstripped.so+0x1100)") && strstr(mem, "?? (libstripped.so+0x1200)"),
	      "labels tell the two apart: %s", mem);
	free(mem);
	lw_diff_result_free(&r);
	/* alloc_space: the drained site allocated, so there it is new */
	CHECK(lw_diff_compute(&before, &after, LW_ALLOC_SPACE, &r) == 0, "diff");
	CHECK(r.n_rows == 3 && r.n_new == 2, "alloc rows %zu new %zu", r.n_rows, r.n_new);
	lw_diff_result_free(&r);
}

int main(void)
{
	test_diff_speed();
	test_top_functions();
	test_retained_hook();
	test_diff();
	test_labels();
	test_diff_unknown_and_unused();
	return check_finish();
}
