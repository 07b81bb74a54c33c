/* test_lwd_base.c — format minor 2: compact counters, stack files, base
 * references and their resolution (docs/FORMAT.md §4.10, §7).
 *
 * Checks:
 *   - CCOUNTERS round-trips random counters exactly up to the documented
 *     rounding (1/2048 object, half a byte), and exactly when estimates
 *     equal counts (LEAKWATCH_RATE=1); deltas against random bases decode
 *     to the same values; the size function matches the encoder;
 *   - a run (stack file, keyframe, delta with the keyframe's modules) opens
 *     with every value back; parsed alone it is "unresolved" and shows no
 *     stacks or counters; lw_file_resolve with a reader from memory gives
 *     the same result; a symlink to the delta finds its bases;
 *   - each way a base can be wrong (missing, truncated, prefix changed,
 *     replaced keyframe, another run's stack file) is LWD_EBASE with a
 *     message naming the base, and a stack file longer than its reference
 *     (a later or torn append) still resolves;
 *   - stack-file appends: a failing write leaves the state and the prefix,
 *     the torn tail is cut by the next append, a symlink or another file in
 *     its place is never written;
 *   - one targeted corruption per reader rule of minor 2, with its message.
 */
#include <math.h>
#include <sys/wait.h>

#include "lwd_base_sample.h"
#include "lwd_priv.h"   /* lw_parse_stackfile */

static char root[] = "/tmp/lwd-base-XXXXXX";
static int dir_seq;

static int new_dir(char *path, size_t n)
{
	return lwt_new_dir(root, &dir_seq, path, n);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* ---- CCOUNTERS codec ------------------------------------------------------ */

#define CC_N 300
static lw_counter_info cc_in[CC_N];

static int fill_cc(lw_writer *w, void *arg)
{
	static char sbuf[64];
	lw_strtab t;
	lw_process_info p;
	uint64_t pc = 0x401000, wire[LWD_CC_FIELDS];
	uint32_t next = 0;
	size_t bytes = 0;

	(void)arg;
	lw_strtab_init(&t, sbuf, sizeof(sbuf));
	lw_writer_put_strtab(w, &t);
	memset(&p, 0, sizeof(p));
	p.sample_rate = 1;
	p.exe_module = LWD_NONE;
	p.reason = LWD_REASON_INTERVAL;
	lw_writer_section_begin(w, LWD_SEC_PROCESS, 0, 1);
	lw_writer_put_process(w, &p);
	lw_writer_section_end(w);
	lw_writer_section_begin(w, LWD_SEC_STACKS, 0, 2 * CC_N);
	for (int i = 0; i < 2 * CC_N; i++)
		lw_writer_put_stack(w, &pc, 1, 0);
	lw_writer_section_end(w);
	lw_writer_section_begin(w, LWD_SEC_CCOUNTERS, 0, CC_N);
	for (int i = 0; i < CC_N; i++) {
		lw_cc_wire(&cc_in[i], wire);
		bytes += lw_cc_record_size(cc_in[i].stack, next, wire, NULL);
		lw_writer_put_ccounter(w, cc_in[i].stack, wire, NULL, &next);
	}
	CHECK(bytes == w->sec_len);
	lw_writer_section_end(w);
	return w->err;
}

static void random_counter(lw_counter_info *c, uint32_t stack, int exact)
{
	c->stack = stack;
	c->alloc_samples = rnd() >> (rnd() % 64);
	c->alloc_sample_bytes = rnd() >> (rnd() % 64);
	c->free_samples = rnd() % 4 ? c->alloc_samples - (c->alloc_samples ? rnd() % c->alloc_samples : 0)
				    : rnd() >> (rnd() % 64);   /* may exceed alloc */
	c->free_sample_bytes = c->alloc_sample_bytes >> (rnd() % 8);
	if (exact) {
		c->alloc_objects_est = (double)c->alloc_samples;
		c->alloc_bytes_est = (double)c->alloc_sample_bytes;
		c->free_objects_est = (double)c->free_samples;
		c->free_bytes_est = (double)c->free_sample_bytes;
	} else {
		/* sampled: w = 1/p >= 1 per sample, estimates within the
		 * documented range (excess below 9e15 objects) */
		double w = 1.0 + (double)(rnd() % 100000) / 7.0;

		c->alloc_samples >>= 32;
		c->free_samples = c->alloc_samples - (c->alloc_samples ? rnd() % c->alloc_samples : 0);
		c->alloc_sample_bytes >>= 24;
		c->free_sample_bytes = c->alloc_sample_bytes >> (rnd() % 8);
		c->alloc_objects_est = (double)c->alloc_samples * w;
		c->alloc_bytes_est = (double)c->alloc_sample_bytes * w;
		c->free_objects_est = (double)c->free_samples * w;
		c->free_bytes_est = (double)c->free_sample_bytes * w;
	}
}

static void test_cc_roundtrip(void)
{
	for (int exact = 0; exact < 2; exact++) {
		uint32_t stack = 0;
		uint8_t *b;
		size_t len;
		lw_file *f;
		char err[256];

		for (int i = 0; i < CC_N; i++) {
			stack += 1 + (uint32_t)(rnd() % 2);
			random_counter(&cc_in[i], stack - 1, exact);
		}
		b = lwt_build(LWD_KIND_SNAPSHOT, fill_cc, NULL, &len);
		int rc = lw_file_parse(b, len, &f, err, sizeof(err));
		CHECK(rc == 0, "%s", err);
		if (rc == 0) {
			CHECK(f->n_counters == CC_N && !f->unresolved);
			for (size_t i = 0; i < f->n_counters && i < CC_N; i++) {
				const lw_counter *k = &f->counters[i];
				const lw_counter_info *c = &cc_in[i];
				double tol_o = exact ? 0 : 1.0 / 2048 + 1e-15 * c->alloc_objects_est;
				double tol_b = exact ? 0 : 0.5 + 1e-15 * c->alloc_bytes_est;

				CHECK(k->stack == c->stack);
				CHECK(k->alloc_samples == c->alloc_samples && k->free_samples == c->free_samples);
				CHECK(k->alloc_sample_bytes == c->alloc_sample_bytes &&
				      k->free_sample_bytes == c->free_sample_bytes);
				if (exact) {
					CHECK(k->alloc_objects_est == c->alloc_objects_est);
					CHECK(k->free_bytes_est == c->free_bytes_est);
				}
				CHECK(fabs(k->alloc_objects_est - c->alloc_objects_est) <= tol_o,
				       "record %zu: %.9g vs %.9g", i, k->alloc_objects_est, c->alloc_objects_est);
				CHECK(fabs(k->alloc_bytes_est - c->alloc_bytes_est) <= tol_b);
				CHECK(fabs(k->free_objects_est - c->free_objects_est) <= tol_o);
				CHECK(fabs(k->free_bytes_est - c->free_bytes_est) <= tol_b);
			}
			lw_file_free(f);
		}
		free(b);
	}
}

static int open_in(const char *dir, const char *name, lw_file **f, char *err, size_t errlen)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return lw_file_open(p, f, err, errlen);
}

/* A delta against a keyframe decodes to exactly what the same counters
 * give written without a keyframe, whatever the differences (random
 * counters, some unchanged, some new, some absent from the delta). */
#define DM_N 200
static lw_counter_info dm_key[DM_N], dm_new[DM_N];
static int dm_in_key[DM_N], dm_in_new[DM_N];

struct dm_arg {
	int delta, plain;    /* plain: dm_new without a keyframe */
	uint64_t key_size;
	uint32_t key_crc;
};

static int fill_dm(lw_writer *w, void *argp)
{
	struct dm_arg *a = argp;
	static char sbuf[64];
	lw_strtab t;
	lw_process_info p;
	uint64_t pc = 0x401000, kw[LWD_CC_FIELDS], nw[LWD_CC_FIELDS];
	uint32_t next = 0, n = 0, key_name;

	lw_strtab_init(&t, sbuf, sizeof(sbuf));
	key_name = lw_strtab_add(&t, "key.lwd");
	lw_writer_put_strtab(w, &t);
	memset(&p, 0, sizeof(p));
	p.sample_rate = 4096;
	p.exe_module = LWD_NONE;
	p.reason = LWD_REASON_INTERVAL;
	lw_writer_section_begin(w, LWD_SEC_PROCESS, 0, 1);
	lw_writer_put_process(w, &p);
	lw_writer_section_end(w);
	lw_writer_section_begin(w, LWD_SEC_STACKS, 0, DM_N);
	for (int i = 0; i < DM_N; i++)
		lw_writer_put_stack(w, &pc, 1, 0);
	lw_writer_section_end(w);
	if (a->delta) {
		lw_counter_base_info cb = { key_name, 0, 41, a->key_size, a->key_crc };

		lw_writer_section_begin(w, LWD_SEC_COUNTER_BASE, 0, 1);
		lw_writer_put_counter_base(w, &cb);
		lw_writer_section_end(w);
	}
	lw_writer_section_begin(w, LWD_SEC_CCOUNTERS, 0, 0);
	for (uint32_t i = 0; i < DM_N; i++) {
		lw_cc_wire(&dm_key[i], kw);
		lw_cc_wire(&dm_new[i], nw);
		if (!a->delta && !a->plain && dm_in_key[i])
			lw_writer_put_ccounter(w, i, kw, NULL, &next), n++;
		else if (a->plain && dm_in_new[i])
			lw_writer_put_ccounter(w, i, nw, NULL, &next), n++;
		else if (a->delta && dm_in_new[i] && (!dm_in_key[i] || memcmp(kw, nw, sizeof(kw))))
			lw_writer_put_ccounter(w, i, nw, dm_in_key[i] ? kw : NULL, &next), n++;
	}
	lw_writer_section_set_count(w, n);
	if (!a->delta)
		a->key_crc = w->sec_crc;
	lw_writer_section_end(w);
	return w->err;
}

static void test_cc_delta(void)
{
	static uint8_t buf[8192];
	char path[256], err[512];
	const char *step;
	lw_file *fd_delta = NULL, *fd_plain = NULL;
	int dfd = new_dir(path, sizeof(path)), rc1, rc2;
	struct dm_arg a = { 0, 0, 0, 0 };

	for (int i = 0; i < DM_N; i++) {
		dm_in_key[i] = rnd() % 4 != 0;
		random_counter(&dm_key[i], (uint32_t)i, rnd() % 2);
		dm_new[i] = dm_key[i];
		dm_in_new[i] = dm_in_key[i] || rnd() % 2;   /* counters never disappear */
		if (!dm_in_key[i] || rnd() % 3 == 0) {
			random_counter(&dm_new[i], (uint32_t)i, rnd() % 2);
			if (rnd() % 2)   /* small growth, not a new random value */
				dm_new[i] = dm_key[i], dm_new[i].alloc_samples += rnd() % 5,
				dm_new[i].alloc_bytes_est += (double)(rnd() % 100);
		}
	}
	CHECK(lw_publish_sized(&lw_io_system, dfd, "key.lwd", buf, sizeof(buf), LWD_KIND_SNAPSHOT, 7,
			       41, fill_dm, &a, &a.key_size, &step) == 0);
	a.delta = 1;
	CHECK(lw_publish_sized(&lw_io_system, dfd, "delta.lwd", buf, sizeof(buf), LWD_KIND_SNAPSHOT, 7,
			       42, fill_dm, &a, NULL, &step) == 0);
	a.delta = 0;
	a.plain = 1;
	CHECK(lw_publish_sized(&lw_io_system, dfd, "plain.lwd", buf, sizeof(buf), LWD_KIND_SNAPSHOT, 7,
			       42, fill_dm, &a, NULL, &step) == 0);
	rc1 = open_in(path, "delta.lwd", &fd_delta, err, sizeof(err));
	CHECK(rc1 == 0, "%s", err);
	rc2 = open_in(path, "plain.lwd", &fd_plain, err, sizeof(err));
	CHECK(rc2 == 0, "%s", err);
	if (rc1 == 0 && rc2 == 0) {
		CHECK(fd_delta->n_counters == fd_plain->n_counters);
		CHECK(fd_delta->n_counters > DM_N / 2);
		for (size_t i = 0; i < fd_delta->n_counters && i < fd_plain->n_counters; i++)
			CHECK(!memcmp(&fd_delta->counters[i], &fd_plain->counters[i], sizeof(lw_counter)),
			       "record %zu differs", i);
		/* the delta is smaller than the plain file */
		CHECK(fd_delta->file_size < fd_plain->file_size);
	}
	lw_file_free(fd_delta);
	lw_file_free(fd_plain);
	close(dfd);
}

/* ---- the run: keyframe + delta + stack file -------------------------------- */

static void check_counter(const lw_counter *k, const lw_counter_info *c)
{
	CHECK(k->stack == c->stack && k->alloc_samples == c->alloc_samples &&
	       k->alloc_sample_bytes == c->alloc_sample_bytes && k->free_samples == c->free_samples &&
	       k->free_sample_bytes == c->free_sample_bytes &&
	       k->alloc_objects_est == c->alloc_objects_est && k->alloc_bytes_est == c->alloc_bytes_est &&
	       k->free_objects_est == c->free_objects_est && k->free_bytes_est == c->free_bytes_est,
	       "stack %u: %llu %llu %llu %llu %.17g %.17g %.17g %.17g", k->stack,
	       (unsigned long long)k->alloc_samples, (unsigned long long)k->alloc_sample_bytes,
	       (unsigned long long)k->free_samples, (unsigned long long)k->free_sample_bytes,
	       k->alloc_objects_est, k->alloc_bytes_est, k->free_objects_est, k->free_bytes_est);
}

static void check_delta(const lw_file *f, const lwb_run *r)
{
	uint64_t pcs[LWD_MAX_DEPTH];

	CHECK(!f->unresolved);
	CHECK(f->n_stacks == LWB_N_STACKS);
	for (uint32_t i = 0; i < f->n_stacks && i < LWB_N_STACKS; i++) {
		uint32_t depth, flags;
		const uint64_t *want = lwb_stack(NULL, i, &depth, &flags);

		memcpy(pcs, want, depth * sizeof(uint64_t));
		CHECK(f->stacks[i].depth == depth && f->stacks[i].flags == flags &&
		      !memcmp(f->stacks[i].pcs, pcs, depth * sizeof(uint64_t)));
	}
	CHECK(f->n_modules == LWS_N_MODULES && f->n_segments == LWS_N_SEGMENTS);
	CHECK(f->n_modules > 0 && !strcmp(f->modules[0].path, lws_strings[0]));
	CHECK(f->n_modules > 1 && !strcmp(f->modules[1].path, lws_strings[3]));
	CHECK(f->process.exe_module == 0);
	CHECK(f->n_counters == LWB_N_STACKS);
	for (uint32_t i = 0; i < f->n_counters && i < LWB_N_STACKS; i++)
		check_counter(&f->counters[i], &r->delta_ctr[i]);
}

struct memfs {
	const char *name[3];
	uint8_t *data[3];
	size_t len[3];
};

static int mem_read(void *arg, const char *name, uint64_t want, uint8_t **buf, size_t *len,
		    char *err, size_t errlen)
{
	struct memfs *m = arg;

	for (int i = 0; i < 3; i++) {
		if (!m->name[i] || strcmp(m->name[i], name))
			continue;
		size_t n = m->len[i] > want ? (size_t)want + 1 : m->len[i];

		*buf = malloc(n ? n : 1);
		memcpy(*buf, m->data[i], n);
		*len = n;
		return 0;
	}
	snprintf(err, errlen, "no such file in memory");
	return -ENOENT;
}

static void test_run(void)
{
	char path[256], err[512], link[600], target[600];
	lwb_run r;
	lw_file *f;
	int dfd = new_dir(path, sizeof(path)), rc;

	lwb_make_run(dfd, &r);
	CHECK(r.sf_key.n_stacks == LWB_N_KEY_STACKS && r.sf_delta.n_stacks == LWB_N_STACKS);
	CHECK(r.sf_delta.len > r.sf_key.len);

	rc = open_in(path, "snap-000001.lwd", &f, err, sizeof(err));
	CHECK(rc == 0, "%s", err);
	if (rc == 0) {
		CHECK(f->version_minor == 2 && f->n_stacks == LWB_N_KEY_STACKS && !f->unresolved);
		CHECK(f->n_counters == LWB_N_KEY_STACKS);
		for (uint32_t i = 0; i < f->n_counters && i < LWB_N_KEY_STACKS; i++)
			check_counter(&f->counters[i], &r.key_ctr[i]);
		CHECK(f->n_bases == 1 && !strcmp(f->bases[0].name, "stacks-000000.lws"));
		lw_file_free(f);
	}
	rc = open_in(path, "snap-000002.lwd", &f, err, sizeof(err));
	CHECK(rc == 0, "%s", err);
	if (rc == 0) {
		check_delta(f, &r);
		CHECK(f->n_bases == 2 && f->bases[1].type == LWD_SEC_COUNTER_BASE &&
		      !strcmp(f->bases[1].name, "snap-000001.lwd") && f->bases[1].seq == 1);
		lw_file_free(f);
	}

	/* alone: verified, but nothing that needs the bases */
	size_t len;
	uint8_t *b = lwt_slurp_at(path, "snap-000002.lwd", &len);
	rc = lw_file_parse(b, len, &f, err, sizeof(err));
	CHECK(rc == 0, "%s", err);
	if (rc == 0) {
		CHECK(f->unresolved && f->n_bases == 2);
		CHECK(f->n_stacks == 0 && f->n_counters == 0 && f->n_modules == 0 && f->n_segments == 0);
		CHECK(f->process.exe_module == LWD_NONE);
		struct memfs m;
		memset(&m, 0, sizeof(m));
		m.name[0] = "stacks-000000.lws";
		m.name[1] = "snap-000001.lwd";
		m.data[0] = lwt_slurp_at(path, "stacks-000000.lws", &m.len[0]);
		m.data[1] = lwt_slurp_at(path, "snap-000001.lwd", &m.len[1]);
		/* a failing reader leaves f as it was */
		struct memfs none;
		memset(&none, 0, sizeof(none));
		CHECK(lw_file_resolve(f, mem_read, &none, err, sizeof(err)) == LWD_EBASE);
		CHECK(strstr(err, "base file 'stacks-000000.lws' is missing") != NULL, "%s", err);
		CHECK(f->unresolved && f->n_stacks == 0 && f->n_counters == 0);
		rc = lw_file_resolve(f, mem_read, &m, err, sizeof(err));
		CHECK(rc == 0, "%s", err);
		if (rc == 0)
			check_delta(f, &r);
		CHECK(lw_file_resolve(f, mem_read, &m, err, sizeof(err)) == 0);   /* no-op now */
		free(m.data[0]);
		free(m.data[1]);
		lw_file_free(f);
	}
	free(b);

	/* a symbolic link elsewhere finds the bases next to its target */
	snprintf(link, sizeof(link), "%s/elsewhere.lwd", root);
	snprintf(target, sizeof(target), "%s/snap-000002.lwd", path);
	CHECK(symlink(target, link) == 0);
	rc = lw_file_open(link, &f, err, sizeof(err));
	CHECK(rc == 0, "%s", err);
	if (rc == 0)
		check_delta(f, &r);
	lw_file_free(f);
	unlink(link);
	close(dfd);
}

/* Runs cmd (a shell command with %s = the run directory), then opens the
 * delta: expects `code` and `msg` in the message. */
static void broken_base(const char *what, const char *cmd, int code, const char *msg)
{
	char path[256], sh[1024], err[512];
	lwb_run r;
	lw_file *f = NULL;
	int dfd = new_dir(path, sizeof(path)), rc;

	lwb_make_run(dfd, &r);
	snprintf(sh, sizeof(sh), cmd, path, path, path);
	if (system(sh) != 0)
		lwt_die(sh);
	rc = open_in(path, "snap-000002.lwd", &f, err, sizeof(err));
	CHECK(rc == code, "%s: rc %d (%s)", what, rc, err);
	CHECK(strstr(err, msg) != NULL, "%s: message \"%s\" lacks \"%s\"", what, err, msg);
	CHECK(rc == 0 || f == NULL);
	lw_file_free(f);
	close(dfd);
}

static void test_broken_bases(void)
{
	broken_base("stack file gone", "rm %s/stacks-000000.lws", LWD_EBASE,
		    "base file 'stacks-000000.lws' is missing (No such file or directory)");
	broken_base("keyframe gone", "rm %s/snap-000001.lwd", LWD_EBASE,
		    "base file 'snap-000001.lwd' is missing");
	broken_base("stack file cut", "truncate -s 100 %s/stacks-000000.lws", LWD_EBASE,
		    "base file 'stacks-000000.lws' holds 100 bytes, fewer than the");
	broken_base("stack file changed",
		    "printf 'X' | dd of=%s/stacks-000000.lws bs=1 seek=70 conv=notrunc status=none",
		    LWD_EBASE, "is not the stack file this file refers to (CRC of its first");
	broken_base("stack file grown", "head -c 1000 /dev/urandom >> %s/stacks-000000.lws", 0, "");
	broken_base("keyframe replaced", "cp %s/snap-000002.lwd %s/snap-000001.lwd", LWD_EBASE,
		    "base file 'snap-000001.lwd' is");
	broken_base("keyframe longer", "printf 'XXXXXXXX' >> %s/snap-000001.lwd", LWD_EBASE,
		    "base file 'snap-000001.lwd' is more bytes, not the");
	broken_base("stack file is a directory",
		    "rm %s/stacks-000000.lws && mkdir %s/stacks-000000.lws", -EINVAL,
		    "base file 'stacks-000000.lws': not a regular file");
}

/* A keyframe of the same size and seq but other counters: the CCOUNTERS
 * CRC tells them apart. */
static void test_keyframe_swapped(void)
{
	char path[256], path2[256], err[512], sh[700];
	lwb_run r, r2;
	lw_file *f = NULL;
	int dfd = new_dir(path, sizeof(path)), dfd2 = new_dir(path2, sizeof(path2)), rc;
	static uint8_t buf[8192];
	const char *step;
	lwb_fill_arg a;

	lwb_make_run(dfd, &r);
	r2 = r;
	r2.key_ctr[1].alloc_samples ^= 1;   /* same encoded size */
	CHECK(lw_stackfile_create(&lw_io_system, dfd2, "stacks-000000.lws", LWB_RUN_ID, 0,
				  LWB_N_KEY_STACKS, lwb_stack, NULL, buf, sizeof(buf), &r2.sf_key, &step) == 0);
	a = (lwb_fill_arg){ 0, &r2, 0 };
	uint64_t size2 = 0;
	CHECK(lw_publish_sized(&lw_io_system, dfd2, "snap-000001.lwd", buf, sizeof(buf),
			       LWD_KIND_SNAPSHOT, LWB_RUN_ID, 1, lwb_fill, &a, &size2, &step) == 0);
	CHECK(size2 == r.key_size);
	snprintf(sh, sizeof(sh), "cp %s/snap-000001.lwd %s/snap-000001.lwd", path2, path);
	CHECK(system(sh) == 0);
	rc = open_in(path, "snap-000002.lwd", &f, err, sizeof(err));
	CHECK(rc == LWD_EBASE);
	CHECK(strstr(err, "is not the keyframe this file refers to (its CCOUNTERS CRC") != NULL, "%s", err);
	close(dfd);
	close(dfd2);
}

/* ---- stack-file appends ------------------------------------------------------ */

static int fail_pwrite_at = -1, pwrite_calls;
static ssize_t f_pwrite(int fd, const void *b, size_t n, off_t o)
{
	if (pwrite_calls++ == fail_pwrite_at) {
		/* half the bytes land, then the disk is full */
		ssize_t r = lw_io_system.pwrite(fd, b, n / 2, o);

		(void)r;
		errno = ENOSPC;
		return -1;
	}
	return lw_io_system.pwrite(fd, b, n, o);
}

static const uint64_t *many_stacks(void *arg, uint32_t id, uint32_t *depth, uint32_t *flags)
{
	static uint64_t pcs[LWD_MAX_DEPTH];

	(void)arg;
	*depth = 1 + id % LWD_MAX_DEPTH;
	*flags = 0;
	for (uint32_t j = 0; j < *depth; j++)
		pcs[j] = 0x1000ull * id + j;
	return pcs;
}

static void test_append(void)
{
	char path[256], file[300], err[256];
	static uint8_t buf[4096];
	lw_stackfile sf, saved;
	lw_io io = lw_io_system;
	const char *step;
	struct stat st;
	lw_stack *stacks;
	uint64_t *pcs;
	size_t len;
	int dfd = new_dir(path, sizeof(path));

	io.pwrite = f_pwrite;
	CHECK(lw_stackfile_create(&io, dfd, "stacks-000005.lws", 77, 5, 10, many_stacks, NULL,
				  buf, sizeof(buf), &sf, &step) == 0);
	/* many chunks (a 4 KiB buffer holds a few deep stacks) */
	CHECK(lw_stackfile_append(&io, dfd, "stacks-000005.lws", 400, many_stacks, NULL, buf,
				  sizeof(buf), &sf, &step) == 0);
	CHECK(sf.n_stacks == 400);
	saved = sf;
	pwrite_calls = 0;
	fail_pwrite_at = 3;
	CHECK(lw_stackfile_append(&io, dfd, "stacks-000005.lws", 600, many_stacks, NULL, buf,
				  sizeof(buf), &sf, &step) == -ENOSPC);
	fail_pwrite_at = -1;
	CHECK(!strcmp(step, "write") && !memcmp(&sf, &saved, sizeof(sf)));
	snprintf(file, sizeof(file), "%s/stacks-000005.lws", path);
	CHECK(stat(file, &st) == 0 && (uint64_t)st.st_size == sf.len);   /* cut back */
	/* a torn tail from a crash: cut by the next append */
	int fd = open(file, O_WRONLY | O_APPEND | O_CLOEXEC);
	CHECK(fd >= 0 && write(fd, "torn-tail", 9) == 9);
	close(fd);
	CHECK(lw_stackfile_append(&io, dfd, "stacks-000005.lws", 600, many_stacks, NULL, buf,
				  sizeof(buf), &sf, &step) == 0);
	uint8_t *b = lwt_slurp_at(path, "stacks-000005.lws", &len);
	CHECK(len == sf.len && lw_crc32(0, b, len) == sf.crc);
	int rc = lw_parse_stackfile(b, len, 77, 5, 600, &stacks, &pcs, err, sizeof(err));
	CHECK(rc == 0, "%s", err);
	if (rc == 0)
		for (uint32_t i = 0; i < 600; i++) {
			uint32_t d, fl;
			const uint64_t *want = many_stacks(NULL, i, &d, &fl);

			CHECK(stacks[i].depth == d && !memcmp(stacks[i].pcs, want, d * 8));
		}
	free(stacks);
	free(pcs);
	free(b);

	/* someone else's file in its place, or a symlink: never written */
	char other[300];
	snprintf(other, sizeof(other), "%s/other", path);
	fd = open(other, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	CHECK(rename(other, file) == 0);
	CHECK(lw_stackfile_append(&io, dfd, "stacks-000005.lws", 700, many_stacks, NULL, buf,
				  sizeof(buf), &sf, &step) == -ESTALE);
	CHECK(stat(file, &st) == 0 && st.st_size == 0);
	CHECK(unlink(file) == 0 && symlink(other, file) == 0);
	CHECK(lw_stackfile_append(&io, dfd, "stacks-000005.lws", 700, many_stacks, NULL, buf,
				  sizeof(buf), &sf, &step) == -ELOOP);
	CHECK(!strcmp(step, "open"));
	CHECK(lstat(other, &st) < 0);   /* the link's target was never created */
	close(dfd);
}

/* ---- corruptions of the minor-2 rules -------------------------------------------- */

typedef struct spec {
	uint32_t kind;
	uint64_t seq;
	int stacks, counters, own_modules;
	int stack_base, counter_base, cc;
	uint32_t sb_count, cb_count, cc_count;
	const char *sb_name, *cb_name;
	lw_stack_base_info sb;
	lw_counter_base_info cb;
	const uint8_t *cc_raw;
	size_t cc_len;
} spec;

static int fill_spec(lw_writer *w, void *arg)
{
	const spec *s = arg;
	static char sbuf[256];
	lw_strtab t;
	lw_process_info p;
	uint64_t pc = 1;
	uint32_t sbn, cbn;

	lw_strtab_init(&t, sbuf, sizeof(sbuf));
	sbn = lw_strtab_add(&t, s->sb_name ? s->sb_name : "stacks-000000.lws");
	cbn = lw_strtab_add(&t, s->cb_name ? s->cb_name : "snap-000001.lwd");
	lw_writer_put_strtab(w, &t);
	memset(&p, 0, sizeof(p));
	p.sample_rate = 1;
	p.exe_module = LWD_NONE;
	p.reason = LWD_REASON_INTERVAL;
	lw_writer_section_begin(w, LWD_SEC_PROCESS, 0, 1);
	lw_writer_put_process(w, &p);
	lw_writer_section_end(w);
	if (s->own_modules) {
		lw_module_info m;

		memset(&m, 0, sizeof(m));
		lw_writer_section_begin(w, LWD_SEC_MODULES, 0, 1);
		lw_writer_put_module(w, &m);
		lw_writer_section_end(w);
	}
	if (s->stacks) {
		lw_writer_section_begin(w, LWD_SEC_STACKS, 0, 4);
		for (int i = 0; i < 4; i++)
			lw_writer_put_stack(w, &pc, 1, 0);
		lw_writer_section_end(w);
	}
	if (s->counters) {
		lw_counter_info c = { 0, 1, 1, 0, 0, 1, 1, 0, 0 };

		lw_writer_section_begin(w, LWD_SEC_COUNTERS, 0, 1);
		lw_writer_put_counter(w, &c);
		lw_writer_section_end(w);
	}
	if (s->stack_base) {
		lw_stack_base_info b = s->sb;

		b.name_str = sbn;
		lw_writer_section_begin(w, LWD_SEC_STACK_BASE, 0, s->sb_count);
		lw_writer_put_stack_base(w, &b);
		lw_writer_section_end(w);
	}
	if (s->counter_base) {
		lw_counter_base_info b = s->cb;

		b.name_str = cbn;
		lw_writer_section_begin(w, LWD_SEC_COUNTER_BASE, 0, s->cb_count);
		lw_writer_put_counter_base(w, &b);
		lw_writer_section_end(w);
	}
	if (s->cc) {
		lw_writer_section_begin(w, LWD_SEC_CCOUNTERS, 0, s->cc_count);
		lw_writer_put(w, s->cc_raw, s->cc_len);
		lw_writer_section_end(w);
	}
	return w->err;
}

static const uint8_t cc_ok[] = { 0, 0x03, 2, 2 };           /* stack 0: v0 = 1, v1 = 1 */
static const uint8_t cc_two[] = { 1, 0x01, 2, 5, 0x01, 2 }; /* stacks 1 and 7 */
static const uint8_t cc_bad_varint[] = { 0x80, 0x80 };
static const uint8_t cc_long_varint[] = { 0, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0x02 };
static const uint8_t cc_no_mask[] = { 0, 0x01, 2, 0 };   /* record 1 has no mask */
static const uint8_t cc_trailing[] = { 0, 0x01, 2, 0 };
static const uint8_t cc_negative[] = { 0, 0x11, 2, 0x03 };  /* v4 = -2: est 1 - 2/1024... fine */
static const uint8_t cc_neg_est[] = { 0, 0x01 | 0x20, 2, 0x03 }; /* v5 = -2: bytes est -2 */

static void corrupt(const char *what, const spec *s, int code, const char *msg)
{
	size_t len;
	uint8_t *b = lwt_build(s->kind ? s->kind : LWD_KIND_SNAPSHOT, fill_spec, (void *)s, &len);
	lw_file *f = NULL;
	char err[512];
	int rc;

	if (s->seq) {   /* lwt_build writes seq 42; rewrite it */
		lwt_wr64(b + 32, s->seq);
		lwt_fix_header_crc(b);
	}
	rc = lw_file_parse(b, len, &f, err, sizeof(err));
	CHECK(rc == code, "%s: rc %d, want %d (%s)", what, rc, code, err);
	CHECK(strstr(err, msg) != NULL, "%s: message \"%s\" lacks \"%s\"", what, err, msg);
	lw_file_free(f);
	free(b);
}

static void test_corrupt(void)
{
	const spec base_ok = {
		.stack_base = 1, .cc = 1, .sb_count = 1, .cc_count = 1,
		.sb = { 0, 4, 100, 0, 0 }, .cc_raw = cc_ok, .cc_len = sizeof(cc_ok),
	};
	spec s;

	s = base_ok;
	corrupt("valid", &s, 0, "");
	s = base_ok;
	s.stacks = 1;
	corrupt("STACKS and STACK_BASE", &s, LWD_EFORMAT,
		"STACKS and STACK_BASE sections: a file has one or the other");
	s = base_ok;
	s.counters = 1;
	s.cc = 0;
	corrupt("STACK_BASE with COUNTERS", &s, LWD_EFORMAT,
		"STACK_BASE with a COUNTERS section: it goes with CCOUNTERS");
	s = base_ok;
	s.sb_count = 2;
	corrupt("STACK_BASE count", &s, LWD_EFORMAT, "STACK_BASE count 2, expected 1");
	s = base_ok;
	s.sb_name = "../stacks";
	corrupt("STACK_BASE name", &s, LWD_EFORMAT,
		"STACK_BASE record 0: name_str \"../stacks\" is not a file name");
	s = base_ok;
	s.sb_name = "..";
	corrupt("STACK_BASE name ..", &s, LWD_EFORMAT, "is not a file name");
	s = base_ok;
	s.sb.length = 63;
	corrupt("STACK_BASE length", &s, LWD_EFORMAT,
		"STACK_BASE record 0: length 63 is shorter than a header");
	s = base_ok;
	s.sb.seq = 43;
	corrupt("STACK_BASE seq", &s, LWD_EFORMAT,
		"stack file seq 43 is after this file's seq 42");
	s = base_ok;
	s.kind = LWD_KIND_DUMP;
	corrupt("STACK_BASE in a dump", &s, LWD_EFORMAT,
		"STACK_BASE section in a dump; only snapshots may have it");
	s = base_ok;
	s.counter_base = 1;
	s.cb_count = 1;
	s.cb = (lw_counter_base_info){ 0, 0, 41, 100, 7 };
	corrupt("valid delta", &s, 0, "");
	s.cb.seq = 42;
	corrupt("COUNTER_BASE seq", &s, LWD_EFORMAT,
		"COUNTER_BASE record 0: keyframe seq 42 is not before this file's seq 42");
	s.cb.seq = 41;
	s.cb.flags = 2;
	corrupt("COUNTER_BASE flags", &s, LWD_EFORMAT, "COUNTER_BASE record 0: unknown flags 0x2");
	s.cb.flags = LWD_CBASEF_MODULES;
	s.own_modules = 1;
	corrupt("COUNTER_BASE modules", &s, LWD_EFORMAT,
		"modules come from the keyframe, but the file has its own");
	s.own_modules = 0;
	s.cb.file_size = 10;
	corrupt("COUNTER_BASE size", &s, LWD_EFORMAT,
		"COUNTER_BASE record 0: file_size 10 is shorter than a header");
	s.cb.file_size = 100;
	s.cb_name = "a/b";
	corrupt("COUNTER_BASE name", &s, LWD_EFORMAT, "COUNTER_BASE record 0: name_str \"a/b\"");
	s.cb_name = NULL;
	s.cc = 0;
	corrupt("COUNTER_BASE alone", &s, LWD_EFORMAT, "COUNTER_BASE without a CCOUNTERS section");
	s = base_ok;
	s.cc_count = 3;
	corrupt("CCOUNTERS count", &s, LWD_EFORMAT, "CCOUNTERS count 3 cannot fit in 4 bytes");
	s.cc_count = 2;
	s.cc_raw = cc_two;
	s.cc_len = sizeof(cc_two);
	corrupt("CCOUNTERS stack", &s, LWD_EFORMAT, "CCOUNTERS record 1: stack 7 outside the 4 stacks");
	s.cc_count = 1;
	s.cc_raw = cc_bad_varint;
	s.cc_len = sizeof(cc_bad_varint);
	corrupt("CCOUNTERS varint", &s, LWD_EFORMAT,
		"CCOUNTERS record 0: bad or truncated stack varint");
	s.cc_raw = cc_long_varint;
	s.cc_len = sizeof(cc_long_varint);
	corrupt("CCOUNTERS 64-bit overflow", &s, LWD_EFORMAT,
		"CCOUNTERS record 0: field 0: bad or truncated varint");
	s.cc_raw = cc_no_mask;
	s.cc_len = sizeof(cc_no_mask);
	s.cc_count = 2;
	corrupt("CCOUNTERS mask", &s, LWD_EFORMAT,
		"CCOUNTERS record 1: truncated before its field mask");
	s.cc_count = 1;
	s.cc_raw = cc_trailing;
	s.cc_len = sizeof(cc_trailing);
	corrupt("CCOUNTERS trailing", &s, LWD_EFORMAT,
		"CCOUNTERS section: 1 bytes after the last of 1 records");
	s = base_ok;
	s.stack_base = 0;
	s.stacks = 1;
	s.cc_raw = cc_negative;
	s.cc_len = sizeof(cc_negative);
	corrupt("CCOUNTERS small excess", &s, 0, "");
	s.cc_raw = cc_neg_est;
	s.cc_len = sizeof(cc_neg_est);
	corrupt("CCOUNTERS negative estimate", &s, LWD_EFORMAT,
		"CCOUNTERS: stack 0: alloc_bytes_est -2 is not a finite number >= 0");
	s = base_ok;
	s.stack_base = 0;
	s.stacks = 1;
	s.counters = 1;
	corrupt("COUNTERS and CCOUNTERS", &s, LWD_EFORMAT,
		"COUNTERS and CCOUNTERS sections: a file has one or the other");
}

/* Stack-file parse failures, through a snapshot whose STACK_BASE matches
 * the damaged prefix (CRC recomputed), so the parse itself must refuse. */
static void test_stackfile_corrupt(void)
{
	static const struct { const char *what; size_t at; uint8_t val; const char *msg; } cases[] = {
		{ "kind", 16, 1, "file kind 1, expected a stack file (kind 3)" },
		{ "run", 24, 0x99, "stack file of run" },
		{ "seq", 32, 7, "stack file seq 7, expected 0" },
		{ "chunk type", 64, 6, "chunk of type 6; a stack file holds STACKS chunks only" },
		{ "chunk flags", 68, 1, "STACKS chunk: flags 0x1, must be 0" },
		{ "chunk length", 79, 0x10, "STACKS chunk length" },
		{ "chunk crc", 84, 0, "STACKS chunk: payload CRC mismatch" },
		{ "record depth", 88, 0, "STACKS record 0: depth 0 outside 1..128" },
		{ "chunk count", 80, 9, "STACKS record" },
	};
	char path[256], err[512];
	lwb_run r;
	int dfd = new_dir(path, sizeof(path));
	size_t len;

	lwb_make_run(dfd, &r);
	uint8_t *good = lwt_slurp_at(path, "stacks-000000.lws", &len);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *b = malloc(len);
		lw_stack *st;
		uint64_t *pcs;
		int rc;

		memcpy(b, good, len);
		if (cases[i].at == 84)
			lwt_wr32(b + 84, 0);
		else
			b[cases[i].at] = cases[i].val;
		if (cases[i].at < 64)
			lwt_fix_header_crc(b);
		if (cases[i].at >= 88)
			lwt_fix_crc(b, 64);
		rc = lw_parse_stackfile(b, (size_t)r.sf_key.len, LWB_RUN_ID, 0, LWB_N_KEY_STACKS,
						 &st, &pcs, err, sizeof(err));
		CHECK(rc == LWD_EFORMAT, "%s: rc %d", cases[i].what, rc);
		CHECK(strstr(err, cases[i].msg) != NULL, "%s: message \"%s\" lacks \"%s\"",
		       cases[i].what, err, cases[i].msg);
		free(b);
	}
	/* fewer or more stacks than referred to */
	lw_stack *st;
	uint64_t *pcs;
	CHECK(lw_parse_stackfile(good, (size_t)r.sf_key.len, LWB_RUN_ID, 0, 2, &st, &pcs, err,
					  sizeof(err)) == LWD_EFORMAT);
	CHECK(strstr(err, "more than the 2 stacks referred to") != NULL, "%s", err);
	CHECK(lw_parse_stackfile(good, (size_t)r.sf_key.len, LWB_RUN_ID, 0, 4, &st, &pcs, err,
					  sizeof(err)) == LWD_EFORMAT);
	CHECK(strstr(err, "holds 3 stacks, not the 4 referred to") != NULL, "%s", err);
	CHECK(lw_parse_stackfile(good, (size_t)r.sf_key.len - 1, LWB_RUN_ID, 0, 3, &st, &pcs,
					  err, sizeof(err)) == LWD_EFORMAT);
	/* every truncation of the prefix is refused */
	for (size_t n = 0; n < r.sf_key.len; n++) {
		int rc = lw_parse_stackfile(good, n, LWB_RUN_ID, 0, 3, &st, &pcs, err, sizeof(err));

		CHECK(rc == LWD_EFORMAT, "prefix of %zu bytes: rc %d", n, rc);
	}
	free(good);
	close(dfd);
}

int main(void)
{
	if (!mkdtemp(root))
		lwt_die("mkdtemp");
	test_cc_roundtrip();
	test_cc_delta();
	test_run();
	test_broken_bases();
	test_keyframe_swapped();
	test_append();
	test_corrupt();
	test_stackfile_corrupt();
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
