/* snapshot.c — capture shim state into private memory and publish it as a
 * .lwd file (see snapshot.h).
 *
 * Invariants: a struct lw_snap and all its arrays live in lw_mem_map memory
 * (never the program heap). Capture order is live blocks, then the stack
 * count, then counters for ids below it: every stack id referenced by a
 * captured live block or counter is < n_stacks, because a stack is published
 * before any live entry or counter refers to it.
 * Locks: snap_io_lock (whole-file serialisation); capture takes the modmap
 * lock (module map refresh and copy, see modmap.h) with no other lock held,
 * then livetab stripe locks one at a time (LW_SNAP_LOCKED), none with
 * LW_SNAP_NOLOCK.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <mimalloc.h>

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
static void module_cb(void *arg, const struct lw_modmap_entry *e)
{
	struct lw_snap *s = arg;
	if (s->n_mods >= MAX_MODULES)
		return;
	uint32_t idx = s->n_mods++;
	lw_module_info *m = &s->mods[idx];
	memset(m, 0, sizeof(*m));
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

static int fill(lw_writer *w, void *arg)
{
	struct pub *pb = arg;
	struct lw_snap *s = pb->s;

	lw_writer_put_strtab(w, &s->st);

	lw_writer_section_begin(w, LWD_SEC_PROCESS, 0, 1);
	lw_writer_put_process(w, &s->proc);
	lw_writer_section_end(w);

	lw_writer_section_begin(w, LWD_SEC_MODULES, 0, s->n_mods);
	for (uint32_t i = 0; i < s->n_mods; i++)
		lw_writer_put_module(w, &s->mods[i]);
	lw_writer_section_end(w);

	lw_writer_section_begin(w, LWD_SEC_SEGMENTS, 0, s->n_segs);
	for (uint32_t i = 0; i < s->n_segs; i++)
		lw_writer_put_segment(w, &s->segs[i]);
	lw_writer_section_end(w);

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
	lw_fmt_str(buf, cap, &pos, kind == LWD_KIND_DUMP ? "dump-" : "snap-");
	lw_fmt_u64w(buf, cap, &pos, seq, 6);
	lw_fmt_str(buf, cap, &pos, ".lwd");
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
