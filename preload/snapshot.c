/* snapshot.c — capture shim state into private memory and publish it as a
 * .lwd file (see snapshot.h).
 *
 * Invariants: a struct lw_snap and all its arrays live in lw_mem_map memory
 * (never the program heap). Capture order is live blocks, then the stack
 * count, then counters for ids below it: every stack id referenced by a
 * captured live block or counter is < n_stacks, because a stack is published
 * before any live entry or counter refers to it.
 * Snapshots are compact (format minor 2, docs/FORMAT.md §4.10): the run's
 * stacks go once into its stack file (appended and fsynced before the
 * snapshot that refers to it is published), and counters are written as
 * differences from the current keyframe, or as a new keyframe when the
 * differences would take more than half of one (or the keyframe is gone).
 * The base state (stack file, keyframe and its wire values, 64 bytes per
 * stack) belongs to one run and directory and starts afresh in a forked
 * child. Dumps stay self-contained (STACKS and COUNTERS inline).
 * Locks: snap_io_lock (whole-file serialisation; also guards the base
 * state and the disk budget); capture takes the modmap lock (module map
 * refresh and copy, see modmap.h) with no other lock held, then livetab
 * stripe locks one at a time (LW_SNAP_LOCKED), none with LW_SNAP_NOLOCK.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mimalloc.h>

#include "budget.h"
#include "core.h"
#include "livetab.h"
#include "modmap.h"
#include "outdir.h"
#include "stacktab.h"
#include "util.h"

struct lw_run_info lw_run;

#define STRTAB_CAP (4u << 20)
#define MAX_MODULES 8192
#define MAX_SEGMENTS 32768
#define PUBLISH_BUF (256u << 10)

struct lw_snap {
	uint32_t kind, reason;
	lw_process_info proc;
	lw_strtab st;
	char *strbuf;
	lw_module_info *mods;
	uint32_t n_mods;
	lw_segment_info *segs;
	uint32_t n_segs;
	uint32_t n_stacks;
	lw_counter_info *ctrs;
	size_t n_ctrs, ctrs_bytes;
	struct lw_live *live;
	size_t n_live, live_bytes;
	uint64_t modsig;          /* content hash of the module map */
};

static pthread_mutex_t snap_io = PTHREAD_MUTEX_INITIALIZER;

void lw_snap_io_lock(void) { pthread_mutex_lock(&snap_io); }
void lw_snap_io_unlock(void) { pthread_mutex_unlock(&snap_io); }
void lw_snap_io_reinit(void) { pthread_mutex_init(&snap_io, NULL); }

/* ---- process figures ------------------------------------------------------ */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0;
	while (len + 1 < cap) {
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

static uint64_t rss_bytes(void)
{
	char buf[128];
	if (read_small("/proc/self/statm", buf, sizeof(buf)) <= 0)
		return 0;
	const char *p = buf;
	while (*p && *p != ' ')   /* skip "size" */
		p++;
	while (*p == ' ')
		p++;
	uint64_t pages = 0;
	for (; *p >= '0' && *p <= '9'; p++)
		pages = pages * 10 + (uint64_t)(*p - '0');
	long ps = sysconf(_SC_PAGESIZE);
	return pages * (uint64_t)(ps > 0 ? ps : 4096);
}

static void fill_process(struct lw_snap *s)
{
	lw_process_info *p = &s->proc;
	char cmd[4096], host[256];
	uint64_t a, f;

	p->pid = (uint32_t)getpid();
	p->ppid = (uint32_t)getppid();
	p->parent_run_id = lw_run.parent_run_id;
	p->wall_ns = lw_now_wall();
	p->mono_ns = lw_now_mono();
	p->start_wall_ns = lw_run.start_wall_ns;
	p->start_mono_ns = lw_run.start_mono_ns;
	p->sample_rate = lw_cfg.rate <= 1 ? 1 : lw_cfg.rate;
	p->rss_bytes = rss_bytes();
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		p->peak_rss_bytes = (uint64_t)ru.ru_maxrss * 1024;
	size_t el, ut, st, crss, prss, ccommit, pcommit, faults;
	mi_process_info(&el, &ut, &st, &crss, &prss, &ccommit, &pcommit, &faults);
	p->heap_committed = ccommit;
	p->heap_peak_committed = pcommit;
	uint64_t own = lw_mem_resident() >> 10;
	p->shim_kib = own > UINT32_MAX ? UINT32_MAX : (uint32_t)own;
	p->exe_str = lw_strtab_add(&s->st, lw_exe_path());
	ssize_t n = read_small("/proc/self/cmdline", cmd, sizeof(cmd));
	if (n > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		while (n > 0 && cmd[n - 1] == ' ')
			n--;
		cmd[n] = '\0';
		p->cmdline_str = lw_strtab_add(&s->st, cmd);
	}
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		p->hostname_str = lw_strtab_add(&s->st, host);
	}
	p->exe_module = LWD_NONE;
	lw_core_flush_counts();
	lw_core_calls(&a, &f);
	p->alloc_calls = a;
	p->free_calls = f;
	p->reason = s->reason;
	p->exit_status = s->reason == LWD_REASON_EXIT ? lw_run.exit_status : 0;
}

struct lw_snap *lw_snap_new(uint32_t kind, uint32_t reason)
{
	struct lw_snap *s = lw_mem_map(sizeof(*s));
	if (s == NULL)
		return NULL;
	s->kind = kind;
	s->reason = reason;
	s->strbuf = lw_mem_map(STRTAB_CAP);
	if (s->strbuf == NULL) {
		lw_snap_free(s);
		return NULL;
	}
	lw_strtab_init(&s->st, s->strbuf, STRTAB_CAP);
	fill_process(s);
	return s;
}

/* ---- modules ------------------------------------------------------------------ */
static uint64_t mix_sig(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 31);
}

static void module_cb(void *arg, const struct lw_modmap_entry *e)
{
	struct lw_snap *s = arg;
	if (s->n_mods >= MAX_MODULES)
		return;
	uint32_t idx = s->n_mods++;
	lw_module_info *m = &s->mods[idx];
	memset(m, 0, sizeof(*m));
	s->modsig = mix_sig(s->modsig, e->load_bias ^ e->start * 3 ^ e->end * 5 ^ e->n_segs);
	for (const char *c = e->path; c && *c; c++)
		s->modsig = mix_sig(s->modsig, (uint8_t)*c);
	for (uint32_t i = 0; i < e->build_id_len && i < LWD_MAX_BUILD_ID; i++)
		s->modsig = mix_sig(s->modsig, e->build_id[i]);
	m->load_bias = e->load_bias;
	m->start = e->start;
	m->end = e->end;
	m->path_str = lw_strtab_add(&s->st, e->path);
	m->build_id_len = e->build_id_len < LWD_MAX_BUILD_ID ? e->build_id_len : LWD_MAX_BUILD_ID;
	memcpy(m->build_id, e->build_id, m->build_id_len);
	if (e->is_exe && s->proc.exe_module == LWD_NONE)
		s->proc.exe_module = idx;
	for (uint32_t i = 0; i < e->n_segs && s->n_segs < MAX_SEGMENTS; i++) {
		lw_segment_info *g = &s->segs[s->n_segs++];
		g->module = idx;
		g->prot = e->segs[i].prot;
		g->start = e->segs[i].start;
		g->end = e->segs[i].end;
		g->file_offset = e->segs[i].file_offset;
		g->file_size = e->segs[i].file_size;
	}
}

int lw_snap_add_modules(struct lw_snap *s)
{
	s->mods = lw_mem_map(MAX_MODULES * sizeof(*s->mods));
	s->segs = lw_mem_map(MAX_SEGMENTS * sizeof(*s->segs));
	if (s->mods == NULL || s->segs == NULL)
		return -ENOMEM;
	lw_modmap_refresh();
	lw_modmap_foreach(1, module_cb, s);
	return 0;
}

/* ---- tables -------------------------------------------------------------------- */
struct live_collect {
	struct lw_live *dst;
	size_t cap, n;
};

static void live_collect_cb(void *arg, const struct lw_live *e)
{
	struct live_collect *c = arg;
	if (c->n < c->cap)
		c->dst[c->n] = *e;
	c->n++;
}

static void live_count_cb(void *arg, const struct lw_live *e)
{
	(void)e;
	(*(size_t *)arg)++;
}

static int add_live(struct lw_snap *s, int nolock)
{
	size_t want = lw_livetab_count();
	if (nolock) {
		want = 0;
		lw_livetab_foreach(live_count_cb, &want);
	}
	for (int attempt = 0; attempt < 8; attempt++) {
		size_t cap = want + want / 4 + 256;
		size_t bytes = cap * sizeof(struct lw_live);
		struct lw_live *dst = lw_mem_map(bytes);
		if (dst == NULL)
			return -ENOMEM;
		size_t total;
		if (nolock) {
			struct live_collect c = { dst, cap, 0 };
			lw_livetab_foreach(live_collect_cb, &c);
			total = c.n;
		} else {
			total = lw_livetab_copy(dst, cap);
		}
		if (total <= cap) {
			s->live = dst;
			s->n_live = total;
			s->live_bytes = bytes;
			return 0;
		}
		lw_mem_unmap(dst, bytes);
		want = total;
	}
	return -EAGAIN;
}

int lw_snap_add_tables(struct lw_snap *s, int nolock)
{
	if (s->kind == LWD_KIND_DUMP) {
		int rc = add_live(s, nolock);
		if (rc != 0)
			return rc;
	}
	uint32_t n = lw_stacktab_count();
	s->n_stacks = n;
	s->ctrs_bytes = ((size_t)n + 1) * sizeof(lw_counter_info);
	s->ctrs = lw_mem_map(s->ctrs_bytes);
	if (s->ctrs == NULL)
		return -ENOMEM;
	for (uint32_t id = 0; id < n; id++) {
		struct lw_stack_counts c;
		lw_stacktab_counts(id, &c);
		if (c.alloc_samples == 0)
			continue;
		lw_counter_info *o = &s->ctrs[s->n_ctrs++];
		o->stack = id;
		o->alloc_samples = c.alloc_samples;
		o->alloc_sample_bytes = c.alloc_sample_bytes;
		o->free_samples = c.free_samples;
		o->free_sample_bytes = c.free_sample_bytes;
		o->alloc_objects_est = c.alloc_objects_est;
		o->alloc_bytes_est = c.alloc_bytes_est;
		o->free_objects_est = c.free_objects_est;
		o->free_bytes_est = c.free_bytes_est;
	}
	return 0;
}

void lw_snap_free(struct lw_snap *s)
{
	if (s == NULL)
		return;
	lw_mem_unmap(s->strbuf, STRTAB_CAP);
	lw_mem_unmap(s->mods, MAX_MODULES * sizeof(*s->mods));
	lw_mem_unmap(s->segs, MAX_SEGMENTS * sizeof(*s->segs));
	lw_mem_unmap(s->ctrs, s->ctrs_bytes);
	lw_mem_unmap(s->live, s->live_bytes);
	lw_mem_unmap(s, sizeof(*s));
}

struct lw_snap *lw_snap_capture(uint32_t kind, uint32_t reason)
{
	struct lw_snap *s = lw_snap_new(kind, reason);
	if (s == NULL)
		return NULL;
	if (lw_snap_add_modules(s) != 0 || lw_snap_add_tables(s, LW_SNAP_LOCKED) != 0) {
		lw_snap_free(s);
		return NULL;
	}
	return s;
}

/* ---- writing ------------------------------------------------------------------ */
struct pub {
	struct lw_snap *s;
	lw_snap_extra_fn extra;
	void *arg;
};

static void put_module_map(lw_writer *w, const struct lw_snap *s)
{
	lw_writer_section_begin(w, LWD_SEC_MODULES, 0, s->n_mods);
	for (uint32_t i = 0; i < s->n_mods; i++)
		lw_writer_put_module(w, &s->mods[i]);
	lw_writer_section_end(w);
	lw_writer_section_begin(w, LWD_SEC_SEGMENTS, 0, s->n_segs);
	for (uint32_t i = 0; i < s->n_segs; i++)
		lw_writer_put_segment(w, &s->segs[i]);
	lw_writer_section_end(w);
}

static int fill(lw_writer *w, void *arg)
{
	struct pub *pb = arg;
	struct lw_snap *s = pb->s;

	lw_writer_put_strtab(w, &s->st);

	lw_writer_section_begin(w, LWD_SEC_PROCESS, 0, 1);
	lw_writer_put_process(w, &s->proc);
	lw_writer_section_end(w);

	put_module_map(w, s);

	lw_writer_section_begin(w, LWD_SEC_STACKS, 0, s->n_stacks);
	for (uint32_t id = 0; id < s->n_stacks && w->err == 0; id++) {
		uint32_t depth, flags;
		const uint64_t *pcs = lw_stacktab_pcs(id, &depth, &flags);
		lw_writer_put_stack(w, pcs, depth, flags);
	}
	lw_writer_section_end(w);

	lw_writer_section_begin(w, LWD_SEC_COUNTERS, 0, (uint32_t)s->n_ctrs);
	for (size_t i = 0; i < s->n_ctrs; i++)
		lw_writer_put_counter(w, &s->ctrs[i]);
	lw_writer_section_end(w);

	if (s->kind == LWD_KIND_DUMP) {
		lw_writer_section_begin(w, LWD_SEC_LIVE_BLOCKS, 0, (uint32_t)s->n_live);
		for (size_t i = 0; i < s->n_live && w->err == 0; i++) {
			const struct lw_live *e = &s->live[i];
			lw_live_info b = {
				.addr = e->addr, .size = e->size, .stack = e->stack, .tid = e->tid,
				.alloc_mono_ns = e->mono_ns, .weight = e->weight,
			};
			lw_writer_put_live(w, &b);
		}
		lw_writer_section_end(w);
	}
	if (w->err == 0 && pb->extra != NULL) {
		int rc = pb->extra(w, pb->arg);
		if (rc != 0 && w->err == 0)
			w->err = rc;
	}
	return w->err;
}

const lw_io *lw_snap_io = &lw_io_system;

int lw_snap_publish(struct lw_snap *s, int dirfd, const char *name, uint64_t seq,
		    lw_snap_extra_fn extra, void *arg, const char **step)
{
	struct pub pb = { s, extra, arg };
	void *buf = lw_mem_map(PUBLISH_BUF);
	if (buf == NULL) {
		*step = "buffer";
		return -ENOMEM;
	}
	int rc = lw_publish(lw_snap_io, dirfd, name, buf, PUBLISH_BUF, s->kind, lw_run.run_id,
			    seq, fill, &pb, step);
	lw_mem_unmap(buf, PUBLISH_BUF);
	return rc;
}

void lw_snap_name(uint32_t kind, uint64_t seq, char *buf, size_t cap)
{
	size_t pos = 0;
	buf[0] = '\0';
	lw_fmt_str(buf, cap, &pos, kind == LWD_KIND_DUMP ? "dump-" :
				   kind == LWD_KIND_STACKS ? "stacks-" : "snap-");
	lw_fmt_u64w(buf, cap, &pos, seq, 6);
	lw_fmt_str(buf, cap, &pos, kind == LWD_KIND_STACKS ? ".lws" : ".lwd");
}

/* ---- compact snapshots: the run's base files ----------------------------------- */
static struct {
	uint64_t run_id;          /* the run and directory this state belongs to */
	dev_t dev;
	ino_t ino;
	int have_sf;              /* the stack file */
	lw_stackfile sf;
	int have_key;             /* the keyframe */
	uint64_t key_seq, key_size, key_dev, key_ino, key_modsig;
	uint32_t key_crc, key_records;
	uint64_t *key_wire;       /* LWD_CC_FIELDS per stack id; [0] == 0: no record */
	size_t key_cap, key_bytes;
} base;

/* Forgets the base files when the run (a forked child) or the directory
 * inode changed: they belong to the old one. */
static void base_sync(int dirfd)
{
	struct stat st;
	if (fstat(dirfd, &st) != 0)
		return;
	if (base.run_id == lw_run.run_id && base.dev == st.st_dev && base.ino == st.st_ino)
		return;
	base.run_id = lw_run.run_id;
	base.dev = st.st_dev;
	base.ino = st.st_ino;
	base.have_sf = 0;
	base.have_key = 0;
}

static const uint64_t *stack_get(void *arg, uint32_t id, uint32_t *depth, uint32_t *flags)
{
	(void)arg;
	return lw_stacktab_pcs(id, depth, flags);
}

/* Makes the stack file hold stacks 0..n-1, durably. */
static int ensure_stacks(uint32_t n, int dirfd, uint64_t seq, void *buf, const char **step)
{
	char name[64];
	int rc;
	if (base.have_sf) {
		lw_snap_name(LWD_KIND_STACKS, base.sf.seq, name, sizeof(name));
		uint32_t before = base.sf.n_stacks;
		rc = lw_stackfile_append(&lw_io_system, dirfd, name, n, stack_get, NULL, buf,
					 PUBLISH_BUF, &base.sf, step);
		if (rc == 0 && base.sf.n_stacks != before)
			lw_budget_note(dirfd, LW_BF_STACKS, base.sf.seq, 0, LW_BSEQ_NONE, LW_BSEQ_NONE);
		if (rc != -ESTALE && rc != -ENOENT && rc != -ELOOP)
			return rc;
		base.have_sf = 0;   /* deleted or replaced behind our back: start another */
	}
	lw_snap_name(LWD_KIND_STACKS, seq, name, sizeof(name));
	rc = lw_stackfile_create(&lw_io_system, dirfd, name, lw_run.run_id, seq, n, stack_get, NULL,
				 buf, PUBLISH_BUF, &base.sf, step);
	if (rc == 0) {
		base.have_sf = 1;
		lw_budget_note(dirfd, LW_BF_STACKS, seq, 0, LW_BSEQ_NONE, LW_BSEQ_NONE);
	}
	return rc;
}

static const uint64_t *key_record(uint32_t id)
{
	if (!base.have_key || id >= base.key_cap)
		return NULL;
	const uint64_t *k = base.key_wire + (size_t)id * LWD_CC_FIELDS;
	return k[0] ? k : NULL;
}

/* The keyframe is still the file we wrote (not deleted or replaced). */
static int key_intact(int dirfd)
{
	char name[64];
	struct stat st;
	if (!base.have_key)
		return 0;
	lw_snap_name(LWD_KIND_SNAPSHOT, base.key_seq, name, sizeof(name));
	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	       (uint64_t)st.st_dev == base.key_dev && (uint64_t)st.st_ino == base.key_ino &&
	       (uint64_t)st.st_size == base.key_size;
}

/* Keyframe or delta: a delta costs the records that changed since the
 * keyframe; past half of a keyframe, a new keyframe is cheaper for what
 * follows. */
static int want_keyframe(const struct lw_snap *s, int dirfd)
{
	uint64_t wire[LWD_CC_FIELDS];
	size_t full = 0, delta = 0;
	uint32_t next_f = 0, next_d = 0, matched = 0;
	if (!key_intact(dirfd))
		return 1;
	for (size_t i = 0; i < s->n_ctrs; i++) {
		const lw_counter_info *c = &s->ctrs[i];
		const uint64_t *k = key_record(c->stack);
		lw_cc_wire(c, wire);
		full += lw_cc_record_size(c->stack, next_f, wire, NULL);
		next_f = c->stack + 1;
		matched += k != NULL;
		if (k == NULL || memcmp(k, wire, sizeof(wire)) != 0) {
			delta += lw_cc_record_size(c->stack, next_d, wire, k);
			next_d = c->stack + 1;
		}
	}
	/* a keyframe record the capture lacks cannot be expressed as a difference */
	return matched != base.key_records || delta * 2 > full;
}

/* Remembers the keyframe's wire values (after it was published). */
static void keep_keyframe(const struct lw_snap *s)
{
	uint64_t wire[LWD_CC_FIELDS];
	if (base.key_cap < s->n_stacks) {
		size_t cap = (size_t)s->n_stacks + s->n_stacks / 2 + 1024;
		size_t bytes = cap * LWD_CC_FIELDS * sizeof(uint64_t);
		uint64_t *w = lw_mem_map(bytes);
		if (w == NULL) {
			base.have_key = 0;   /* the next snapshot is a keyframe again */
			return;
		}
		lw_mem_unmap(base.key_wire, base.key_bytes);
		base.key_wire = w;
		base.key_cap = cap;
		base.key_bytes = bytes;
	} else {
		memset(base.key_wire, 0, base.key_cap * LWD_CC_FIELDS * sizeof(uint64_t));
	}
	for (size_t i = 0; i < s->n_ctrs; i++) {
		lw_cc_wire(&s->ctrs[i], wire);
		memcpy(base.key_wire + (size_t)s->ctrs[i].stack * LWD_CC_FIELDS, wire, sizeof(wire));
	}
	base.key_records = (uint32_t)s->n_ctrs;
}

struct cpub {
	struct lw_snap *s;
	int is_key, mods_from_key;
	uint32_t stacks_str, key_str;
	uint32_t cc_crc;          /* out */
};

static int fill_compact(lw_writer *w, void *arg)
{
	struct cpub *c = arg;
	struct lw_snap *s = c->s;
	uint64_t wire[LWD_CC_FIELDS];
	uint32_t next = 0, n = 0;

	lw_writer_put_strtab(w, &s->st);
	lw_writer_section_begin(w, LWD_SEC_PROCESS, 0, 1);
	lw_writer_put_process(w, &s->proc);
	lw_writer_section_end(w);
	if (!c->mods_from_key)
		put_module_map(w, s);
	lw_stack_base_info sb = { c->stacks_str, base.sf.n_stacks, base.sf.len, base.sf.seq, base.sf.crc };
	lw_writer_section_begin(w, LWD_SEC_STACK_BASE, 0, 1);
	lw_writer_put_stack_base(w, &sb);
	lw_writer_section_end(w);
	if (!c->is_key) {
		lw_counter_base_info cb = { c->key_str, c->mods_from_key ? LWD_CBASEF_MODULES : 0,
					    base.key_seq, base.key_size, base.key_crc };
		lw_writer_section_begin(w, LWD_SEC_COUNTER_BASE, 0, 1);
		lw_writer_put_counter_base(w, &cb);
		lw_writer_section_end(w);
	}
	lw_writer_section_begin(w, LWD_SEC_CCOUNTERS, 0, 0);
	for (size_t i = 0; i < s->n_ctrs && w->err == 0; i++) {
		const lw_counter_info *k = &s->ctrs[i];
		const uint64_t *kw = c->is_key ? NULL : key_record(k->stack);
		lw_cc_wire(k, wire);
		if (!c->is_key && kw != NULL && memcmp(kw, wire, sizeof(wire)) == 0)
			continue;   /* unchanged since the keyframe */
		lw_writer_put_ccounter(w, k->stack, wire, kw, &next);
		n++;
	}
	lw_writer_section_set_count(w, n);
	c->cc_crc = w->sec_crc;
	lw_writer_section_end(w);
	return w->err;
}

/* A snapshot in the compact form, then the budget. */
static int write_compact(struct lw_snap *s, int dirfd, const char *name, uint64_t seq,
			 const char **step)
{
	char sname[64], kname[64];
	uint64_t size = 0;
	void *buf = lw_mem_map(PUBLISH_BUF);
	if (buf == NULL) {
		*step = "buffer";
		return -ENOMEM;
	}
	base_sync(dirfd);
	int rc = ensure_stacks(s->n_stacks, dirfd, seq, buf, step);
	if (rc != 0) {
		lw_mem_unmap(buf, PUBLISH_BUF);
		return rc;
	}
	struct cpub c = { s, want_keyframe(s, dirfd), 0, 0, 0, 0 };
	c.mods_from_key = !c.is_key && base.key_modsig == s->modsig;
	lw_snap_name(LWD_KIND_STACKS, base.sf.seq, sname, sizeof(sname));
	lw_snap_name(LWD_KIND_SNAPSHOT, base.key_seq, kname, sizeof(kname));
	c.stacks_str = lw_strtab_add(&s->st, sname);
	c.key_str = c.is_key ? 0 : lw_strtab_add(&s->st, kname);
	if (c.stacks_str == 0 || (!c.is_key && c.key_str == 0)) {
		lw_mem_unmap(buf, PUBLISH_BUF);
		*step = "strings";
		return -ENOMEM;   /* a base name must never read as empty */
	}
	rc = lw_publish_sized(&lw_io_system, dirfd, name, buf, PUBLISH_BUF, LWD_KIND_SNAPSHOT,
			      lw_run.run_id, seq, fill_compact, &c, &size, step);
	lw_mem_unmap(buf, PUBLISH_BUF);
	if (rc != 0)
		return rc;
	if (c.is_key) {
		struct stat st;
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			base.have_key = 1;
			base.key_seq = seq;
			base.key_size = size;
			base.key_crc = c.cc_crc;
			base.key_dev = (uint64_t)st.st_dev;
			base.key_ino = (uint64_t)st.st_ino;
			base.key_modsig = s->modsig;
			keep_keyframe(s);
		} else {
			base.have_key = 0;
		}
	}
	lw_budget_note(dirfd, LW_BF_SNAP, seq, s->proc.mono_ns, c.is_key ? LW_BSEQ_NONE : base.key_seq,
		       base.sf.seq);
	lw_budget_enforce(dirfd, lw_budget_room());
	return 0;
}

int lw_snap_write(uint32_t kind, uint32_t reason)
{
	char name[64];
	const char *step = NULL;
	int dirfd, rc;

	lw_snap_io_lock();
	uint64_t seq = lw_outdir_seq();
	lw_snap_name(kind, seq, name, sizeof(name));
	rc = lw_outdir_fd(&dirfd, &step);
	if (rc == 0) {
		struct lw_snap *s = lw_snap_capture(kind, reason);
		if (s == NULL) {
			rc = -ENOMEM;
			step = "capture";
		} else if (kind == LWD_KIND_SNAPSHOT) {
			rc = write_compact(s, dirfd, name, seq, &step);
			lw_snap_free(s);
		} else {
			rc = lw_snap_publish(s, dirfd, name, seq, NULL, NULL, &step);
			lw_snap_free(s);
		}
	}
	if (rc == 0)
		lw_outdir_commit();
	else
		lw_outdir_report(name, step, rc);
	lw_snap_io_unlock();
	return rc;
}

/* ---- read-only views (heap-graph dump) ------------------------------------ */
uint32_t lw_snap_modules(const struct lw_snap *s, const lw_module_info **mods)
{
	*mods = s->mods;
	return s->n_mods;
}

uint32_t lw_snap_segments(const struct lw_snap *s, const lw_segment_info **segs)
{
	*segs = s->segs;
	return s->n_segs;
}

size_t lw_snap_live(const struct lw_snap *s, const struct lw_live **live)
{
	*live = s->live;
	return s->n_live;
}
