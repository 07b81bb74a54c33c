/* heap_graph_test.c — end-to-end test of the heap graph without the shim:
 * known shapes are built with mimalloc (linked directly), threads are
 * captured with lw_heapgraph_stop_threads, the process forks, and the child
 * walks, scans and writes a real .lwd file (memfd) that is then parsed with
 * lw_file_parse and decoded with lw_graph_decode. Checks:
 *   - a global (g_table) roots block A, at the global's exact address;
 *   - A -> B (pointer to the start), B -> C (interior pointer);
 *   - a list E -> F -> G hangs off a live, parked thread's stack: E is a
 *     STACK or REGISTER root of that thread (found via its captured sp);
 *   - a thread that blocks every signal (so it cannot be captured) and sits
 *     in read() holds block K on its stack: it is recorded WHOLE_STACK (sp
 *     from /proc/self/task/TID/syscall) and K is a STACK root of it;
 *   - thread roots: the main thread's __thread t_keep (its static TLS is
 *     ld.so's allocation, outside any stack) roots M as a TLS root; the
 *     list thread's pthread_setspecific value S is a SPECIFIC root; the
 *     uncaptured thread's __thread T is a TLS root (its descriptor found at
 *     the top of its stack mapping); the layout probe found every offset;
 *   - the child comes from lw_heapgraph_clone: the parent gets no SIGCHLD;
 *   - H was allocated by a thread that exited and is rooted by g_exited;
 *   - D, whose only pointer was overwritten, has no root and no in-edge;
 *   - A carries its sample (live index 0, stack 0);
 *   - the decoded graph is consistent (CSR sorted, unique).
 */
#include <errno.h>
#include <link.h>
#include <mimalloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heapgraph.h"
#include "heapwalk.h"
#include "lwd.h"
#include "lwd_graph.h"

#define FAIL(...) do { fprintf(stderr, "heap_graph_test: " __VA_ARGS__); fputc('\n', stderr); fflush(stderr); _exit(1); } while (0)

void *volatile g_table;          /* -> A */
void *volatile g_exited;         /* -> H, allocated by an exited thread */
/* known addresses, stored complemented so that these globals do not
 * themselves point into the blocks (the scan is conservative) */
static uint64_t A, B, C, D, E, F, G, H, K, M, S, T;
__thread void *t_keep;           /* main: M; deaf thread: T */
static pthread_key_t spec_key;
static volatile int sigchld_seen;
static uint32_t deaf_tid;
static int deaf_pipe[2];
#define X(v) (~(uint64_t)(v))
static uint32_t list_tid;
static int park_pipe[2];

struct node { struct node *next; char pad[40]; };

static void *exiting_thread(void *arg)
{
	(void)arg;
	void *h = mi_malloc(5000);
	memset(h, 0, 5000);
	H = X(h);
	g_exited = h;
	return NULL;
}

static void *list_thread(void *arg)
{
	(void)arg;
	list_tid = (uint32_t)syscall(SYS_gettid);
	struct node *volatile head = mi_calloc(1, sizeof(struct node));
	head->next = mi_calloc(1, sizeof(struct node));
	head->next->next = mi_calloc(1, sizeof(struct node));
	void *sv = mi_malloc(777);
	memset(sv, 0, 777);
	S = X(sv);
	pthread_setspecific(spec_key, sv);
	sv = NULL;
	E = X(head);
	F = X(head->next);
	G = X(head->next->next);
	char c;
	while (read(park_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	/* keep head alive on the stack until here */
	if (head->next == NULL) abort();
	return NULL;
}

static void *deaf_thread(void *arg)
{
	(void)arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	deaf_tid = (uint32_t)syscall(SYS_gettid);
	void *tv = mi_malloc(3333);
	memset(tv, 0, 3333);
	t_keep = tv;
	T = X(tv);
	tv = NULL;
	void *volatile k = mi_malloc(4444);
	K = X(k);
	char c;
	while (read(deaf_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return k == NULL ? arg : NULL;
}

static lw_hg_region regions[64];
static size_t n_regions;
static uint64_t exe_lo, exe_hi;

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size; (void)arg;
	if (info->dlpi_name && info->dlpi_name[0])   /* the executable only */
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
		if (ph->p_type != PT_LOAD) continue;
		if (!exe_lo || s < exe_lo) exe_lo = s;
		if (e > exe_hi) exe_hi = e;
		if ((ph->p_flags & PF_W) && n_regions < 64)
			regions[n_regions++] = (lw_hg_region){ 0, s, e };
	}
	return 1;
}

static void child(lw_hg_threads *ts)
{
	lw_heapwalk hw;
	int rc = lw_heapwalk_run(&hw);
	if (rc) FAIL("walk: %d", rc);
	int fd = memfd_create("graph", 0);
	if (fd < 0) FAIL("memfd");
	/* the writer buffer must not be a scanned root: it holds block addresses */
	uint8_t *buf = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	lw_writer w;
	lw_writer_begin(&w, &lw_io_system, fd, buf, 1 << 16, LWD_KIND_DUMP, 1, 0);
	static char sbuf[256];
	lw_strtab st;
	lw_strtab_init(&st, sbuf, sizeof sbuf);
	uint32_t exe = lw_strtab_add(&st, "heap_graph_test");
	lw_writer_put_strtab(&w, &st);
	lw_process_info pi;
	memset(&pi, 0, sizeof pi);
	pi.pid = (uint32_t)getpid();
	pi.exe_str = exe;
	pi.exe_module = 0;
	pi.sample_rate = 1;
	pi.reason = LWD_REASON_API;
	lw_writer_section_begin(&w, LWD_SEC_PROCESS, 0, 1);
	lw_writer_put_process(&w, &pi);
	lw_writer_section_end(&w);
	lw_module_info mi;
	memset(&mi, 0, sizeof mi);
	mi.start = exe_lo;
	mi.end = exe_hi;
	mi.path_str = exe;
	lw_writer_section_begin(&w, LWD_SEC_MODULES, 0, 1);
	lw_writer_put_module(&w, &mi);
	lw_writer_section_end(&w);
	uint64_t pc = 0x1234;
	lw_writer_section_begin(&w, LWD_SEC_STACKS, 0, 1);
	lw_writer_put_stack(&w, &pc, 1, 0);
	lw_writer_section_end(&w);
	lw_live_info li = { X(A), 64, 0, 1, 0, 1.0 };
	lw_writer_section_begin(&w, LWD_SEC_LIVE_BLOCKS, 0, 1);
	lw_writer_put_live(&w, &li);
	lw_writer_section_end(&w);
	lw_hg_sample sample = { X(A), 0, 0 };
	lw_hg_stats hs;
	rc = lw_heapgraph_write(&w, &hw, ts, regions, n_regions, NULL, 0, &sample, 1, &hs);
	if (rc) FAIL("lw_heapgraph_write: %d", rc);
	if (lw_writer_finish(&w)) FAIL("finish: %d", w.err);

	off_t len = lseek(fd, 0, SEEK_END);
	void *map = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) FAIL("mmap file");
	lw_file *f;
	char err[256];
	if (lw_file_parse(map, (size_t)len, &f, err, sizeof err)) FAIL("parse: %s", err);
	lw_graph *g;
	if ((rc = lw_graph_decode(f, &g, err, sizeof err))) FAIL("decode %d: %s", rc, err);
	if (g->n_blocks != hw.n_blocks) FAIL("block count %zu != %llu", g->n_blocks, (unsigned long long)hw.n_blocks);

	uint32_t a = lw_graph_block_at(g, X(A)), b = lw_graph_block_at(g, X(B)), c = lw_graph_block_at(g, X(C)),
		 d = lw_graph_block_at(g, X(D)), e = lw_graph_block_at(g, X(E)), fb = lw_graph_block_at(g, X(F)),
		 gg = lw_graph_block_at(g, X(G)), h = lw_graph_block_at(g, X(H));
	if (a == LWD_NONE || b == LWD_NONE || c == LWD_NONE || d == LWD_NONE || e == LWD_NONE ||
	    fb == LWD_NONE || gg == LWD_NONE || h == LWD_NONE)
		FAIL("a known block is missing from HEAP_BLOCKS");
	if (g->blocks[a].live != 0 || g->blocks[a].stack != 0) FAIL("A lost its sample");
#define HAS_EDGE(x, y) ({ int _f = 0; for (uint64_t _k = g->out_start[x]; _k < g->out_start[(x) + 1]; _k++) _f |= g->out_to[_k] == (y); _f; })
	if (!HAS_EDGE(a, b)) FAIL("no edge A -> B");
	if (!HAS_EDGE(b, c)) FAIL("no edge B -> C (interior)");
	if (!HAS_EDGE(e, fb) || !HAS_EDGE(fb, gg)) FAIL("list E -> F -> G broken");
	uint32_t kb = lw_graph_block_at(g, X(K));
	if (kb == LWD_NONE) FAIL("K missing");
	uint32_t mb = lw_graph_block_at(g, X(M)), sb = lw_graph_block_at(g, X(S)), tb = lw_graph_block_at(g, X(T));
	if (mb == LWD_NONE || sb == LWD_NONE || tb == LWD_NONE) FAIL("M, S or T missing");
	int root_a = 0, root_h = 0, root_e = 0, root_k = 0, root_m = 0, root_s = 0, root_t = 0;
	for (size_t k = 0; k < g->n_roots; k++) {
		const lw_graph_root *r = &g->roots[k];
		if (r->kind == LWD_ROOT_TLS && r->block == mb && g->threads[r->owner].tid == (uint32_t)getppid()) root_m = 1;
		if (r->kind == LWD_ROOT_SPECIFIC && r->block == sb && g->threads[r->owner].tid == list_tid) root_s = 1;
		if (r->kind == LWD_ROOT_TLS && r->block == tb && g->threads[r->owner].tid == deaf_tid) root_t = 1;
		if (r->kind == LWD_ROOT_GLOBAL && r->block == a && r->addr == (uint64_t)&g_table && r->owner == 0) root_a = 1;
		if (r->kind == LWD_ROOT_GLOBAL && r->block == h && r->addr == (uint64_t)&g_exited) root_h = 1;
		if ((r->kind == LWD_ROOT_STACK || r->kind == LWD_ROOT_REGISTER) && r->block == e &&
		    g->threads[r->owner].tid == list_tid) root_e = 1;
		if (r->kind == LWD_ROOT_STACK && r->block == kb && g->threads[r->owner].tid == deaf_tid &&
		    (g->threads[r->owner].flags & LWD_THREADF_WHOLE_STACK)) root_k = 1;
		if (r->block == d) FAIL("D (dropped) is rooted (kind %u, owner %u, addr %#llx)", r->kind, r->owner, (unsigned long long)r->addr);
	}
	if (!root_m) FAIL("the main thread's static TLS does not root M");
	if (!root_s) FAIL("the list thread's pthread_setspecific slot does not root S");
	if (!root_t) FAIL("the uncaptured thread's static TLS does not root T");
	if (!root_a) FAIL("g_table does not root A");
	if (!root_h) FAIL("g_exited does not root H (exited thread's block)");
	if (!root_e) FAIL("list thread's stack does not root E");
	if (!root_k) {
		for (size_t q = 0; q < g->n_threads; q++)
			if (g->threads[q].tid == deaf_tid)
				fprintf(stderr, "deaf thread: flags %#x sp %#llx range %#llx..%#llx\n", g->threads[q].flags,
					(unsigned long long)g->threads[q].sp, (unsigned long long)g->threads[q].stack_start,
					(unsigned long long)g->threads[q].stack_end);
		FAIL("the signal-blocking thread's whole stack does not root K");
	}
	for (size_t x = 0; x < g->n_blocks; x++)
		for (uint64_t k = g->out_start[x]; k < g->out_start[x + 1]; k++) {
			if (g->out_to[k] == d) FAIL("D (dropped) has an in-edge from block %zu", x);
			if (k > g->out_start[x] && g->out_to[k] <= g->out_to[k - 1]) FAIL("CSR list unsorted");
		}
	int found = 0;
	for (size_t k = 0; k < g->n_threads; k++) {
		if (g->threads[k].tid == list_tid) {
			found = 1;
			if (!(g->threads[k].flags & LWD_THREADF_REGS)) FAIL("list thread: no registers captured");
			if (g->threads[k].stack_end <= g->threads[k].stack_start) FAIL("list thread: empty stack range");
		}
	}
	if (!found) FAIL("list thread missing from THREADS");
	printf("heap_graph_test: %zu blocks, %llu edges, %zu roots, %zu threads, scanned %llu bytes in %.3f ms\n",
	       g->n_blocks, (unsigned long long)g->n_edges, g->n_roots, g->n_threads,
	       (unsigned long long)hs.scanned_bytes, hs.scan_ns / 1e6);
	fflush(stdout);
	lw_graph_free(g);
	lw_file_free(f);
	_exit(0);
}

static void on_sigchld(int sig)
{
	(void)sig;
	sigchld_seen = 1;
}

/* Captures the threads, clones the dump child and waits for it, as
 * preload/heapdump.c does from the shim's writer thread. */
static void *dumper(void *arg)
{
	int *stp = arg;
	dl_iterate_phdr(phdr_cb, NULL);
	if (lw_heapgraph_install()) FAIL("install");
	const lw_hg_tls_layout *L = lw_heapgraph_layout();
	if (!L->tcb_size || !L->static_size || L->spec_off < 0 || L->arg_off < 0 || !L->main_tp)
		FAIL("thread layout incomplete: tcb %llu static %llu spec %lld arg %lld main_tp %#llx",
		     (unsigned long long)L->tcb_size, (unsigned long long)L->static_size,
		     (long long)L->spec_off, (long long)L->arg_off, (unsigned long long)L->main_tp);
	signal(SIGCHLD, on_sigchld);
	lw_hg_threads *ts = mmap(NULL, sizeof *ts, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ts == MAP_FAILED) FAIL("mmap");
	if (lw_heapwalk_canary_start()) FAIL("canary");
	if (lw_heapgraph_stop_threads(ts)) FAIL("stop threads");
	long pid = lw_heapgraph_clone();
	if (pid == 0) child(ts);
	lw_heapgraph_resume_threads(ts);
	lw_heapwalk_canary_release();
	if (pid < 0) FAIL("clone: %ld", pid);
	int st;
	errno = 0;
	if (waitpid(-1, &st, WNOHANG) != -1 || errno != ECHILD) FAIL("waitpid(-1) sees the dump child");
	if (waitpid((pid_t)pid, &st, __WALL) != pid) FAIL("waitpid");
	*stp = st;
	usleep(20000);
	if (sigchld_seen) FAIL("SIGCHLD raised by the dump child");
	return NULL;
}

int main(void)
{
	if (mi_version() != 209) { printf("SKIP: mimalloc %d\n", mi_version()); return 77; }
	if (pipe(park_pipe)) return 1;
	void **a = mi_malloc(64);
	void **b = mi_malloc(300);
	void *c = mi_malloc(100000);
	a[0] = b;
	b[0] = (char *)c + 8;          /* interior pointer */
	A = X(a); B = X(b); C = X(c);
	g_table = a;
	void *m = mi_malloc(2222);
	memset(m, 0, 2222);
	t_keep = m;
	M = X(m);
	m = NULL;
	pthread_key_create(&spec_key, NULL);
	void *volatile d = mi_malloc(1000);
	D = X(d);
	memset(d, 0, 1000);
	d = NULL;                      /* last pointer dropped */

	pthread_t t1, t2;
	pthread_create(&t1, NULL, exiting_thread, NULL);
	pthread_join(t1, NULL);
	pthread_create(&t2, NULL, list_thread, NULL);
	while (!G) usleep(1000);
	pthread_t t3;
	if (pipe(deaf_pipe)) return 1;
	pthread_create(&t3, NULL, deaf_thread, NULL);
	while (!K) usleep(1000);
	usleep(20000);                 /* let it block in read() */

	/* the dump is taken by another thread, as the shim's writer thread
	 * does, so that the main thread is captured like any other */
	static int st;
	pthread_t td;
	pthread_create(&td, NULL, dumper, &st);
	pthread_join(td, NULL);
	if (write(park_pipe[1], "x", 1) != 1 || write(deaf_pipe[1], "x", 1) != 1) FAIL("write");
	pthread_join(t2, NULL);
	pthread_join(t3, NULL);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) FAIL("child failed (%#x)", st);
	return 0;
}
