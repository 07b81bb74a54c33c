/* ret_gen.c — writes synthetic heap dumps with known shapes, for the
 * retainers tests (tests/analyze/test_retainers.c).
 *
 * The dump describes the running test binary itself: its module map (path,
 * build-id, PT_LOAD segments from dl_iterate_phdr), stacks whose pcs are the
 * entry points of the ret_* functions below (+1, since stack pcs are return
 * addresses), and global roots at the addresses of the real globals
 * g_session_table and g_config, so `leakwatch retainers` symbolizes sites and
 * roots exactly as for a real dump. Block addresses are synthetic: the dump
 * holds no memory contents, only addresses, sizes and edges.
 *
 * Shape "basic" (block counts and sizes are the test's expectations):
 *   g_session_table[0..7] -> 8 sessions (ret_make_session, 256 B), each ->
 *       1 payload (ret_make_payload, 1024 B) and 1 unsampled 48 B block;
 *   3 dropped sessions, each -> 1 payload: 3 definitely + 3 indirectly lost;
 *   thread stack -> list node 0 -> 1 -> 2 -> 3 -> 4 (ret_list_node, 64 B);
 *       register RDI -> node 4;
 *   2 list nodes in a cycle that nothing points to: 1 definitely +
 *       1 indirectly lost;
 *   g_config -> 1 config (ret_make_config, 128 B).
 * Shape "snapshot": a periodic snapshot (no graph).
 */
#include "ret_gen.h"
#include "selfmap.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lwd.h"
#include "lwd_graph.h"

void *g_session_table[16];
void *g_config;

/* The "allocation sites": real functions whose entry points the stacks use. */
__attribute__((noinline)) void *ret_make_session(void) { return g_session_table[15]; }
__attribute__((noinline)) void *ret_make_payload(void) { return g_session_table[14]; }
__attribute__((noinline)) void *ret_list_node(void) { return g_session_table[13]; }
__attribute__((noinline)) void *ret_make_config(void) { return g_config; }
__attribute__((noinline)) int ret_gen_caller(void) { return 0; }

enum { ST_SESSION, ST_PAYLOAD, ST_LIST, ST_CONFIG, N_STACKS };

typedef struct gblock {
	uint64_t addr, size;
	uint32_t stack;       /* LWD_NONE = unsampled */
} gblock;

typedef struct gedge { uint32_t from, to; } gedge;
typedef struct groot { uint32_t kind, owner; uint64_t addr; uint32_t block; } groot;

typedef struct gdump {
	int snapshot;
	gblock *b;
	uint32_t nb, cap_b;
	gedge *e;
	uint32_t ne, cap_e;
	groot *r;
	uint32_t nr, cap_r;
	uint64_t regs[17];
	selfmap map;             /* module map of this process */
} gdump;

/* Grows an array to hold n+1 elements; exits on ENOMEM (a test tool). */
static void *grow(void *p, uint32_t *cap, uint32_t n, size_t elem)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 64;
	p = realloc(p, (size_t)*cap * elem);
	if (!p) {
		fprintf(stderr, "ret_gen: out of memory\n");
		exit(1);
	}
	return p;
}

static uint32_t add_block(gdump *d, uint64_t size, uint32_t stack)
{
	d->b = grow(d->b, &d->cap_b, d->nb, sizeof *d->b);
	uint32_t i = d->nb++;
	d->b[i].addr = 0x5a0000000000ull + 0x1000ull * i;
	d->b[i].size = size;
	d->b[i].stack = stack;
	return i;
}

static void add_edge(gdump *d, uint32_t from, uint32_t to)
{
	d->e = grow(d->e, &d->cap_e, d->ne, sizeof *d->e);
	d->e[d->ne++] = (gedge){ from, to };
}

static void add_root(gdump *d, uint32_t kind, uint64_t addr, uint32_t block)
{
	d->r = grow(d->r, &d->cap_r, d->nr, sizeof *d->r);
	d->r[d->nr++] = (groot){ kind, 0, addr, block };
}

static uint64_t pc_of(void *(*fn)(void))
{
	return (uint64_t)(uintptr_t)fn + 1;
}

static int fill(lw_writer *w, void *arg)
{
	gdump *d = arg;
	static char strbuf[16384];
	lw_strtab st;
	lw_strtab_init(&st, strbuf, sizeof strbuf);
	uint32_t exe_s = lw_strtab_add(&st, d->map.exe);
	uint32_t cmd_s = lw_strtab_add(&st, "test_retainers gen");
	uint32_t host_s = lw_strtab_add(&st, "testhost");
	lw_writer_put_strtab(w, &st);

	lw_process_info p;
	memset(&p, 0, sizeof p);
	p.pid = (uint32_t)getpid();
	p.ppid = (uint32_t)getppid();
	p.wall_ns = 1700000000000000000ull;
	p.mono_ns = 5000000000ull;
	p.start_wall_ns = p.wall_ns - 4000000000ull;
	p.start_mono_ns = 1000000000ull;
	p.sample_rate = 1;
	p.exe_str = exe_s;
	p.cmdline_str = cmd_s;
	p.hostname_str = host_s;
	p.exe_module = 0;
	p.reason = d->snapshot ? LWD_REASON_INTERVAL : LWD_REASON_SIGNAL;
	lw_writer_section_begin(w, LWD_SEC_PROCESS, 0, 1);
	lw_writer_put_process(w, &p);
	lw_writer_section_end(w);

	selfmap_write(w, &d->map, exe_s);

	uint64_t pcs[N_STACKS][2] = {
		{ pc_of(ret_make_session), (uint64_t)(uintptr_t)ret_gen_caller + 1 },
		{ pc_of(ret_make_payload), (uint64_t)(uintptr_t)ret_gen_caller + 1 },
		{ pc_of(ret_list_node), (uint64_t)(uintptr_t)ret_gen_caller + 1 },
		{ pc_of(ret_make_config), (uint64_t)(uintptr_t)ret_gen_caller + 1 },
	};
	lw_writer_section_begin(w, LWD_SEC_STACKS, 0, N_STACKS);
	for (int s = 0; s < N_STACKS; s++)
		lw_writer_put_stack(w, pcs[s], 2, 0);
	lw_writer_section_end(w);

	/* counters: every live sampled block plus two freed sessions */
	uint64_t cnt[N_STACKS] = {0}, bytes[N_STACKS] = {0};
	for (uint32_t i = 0; i < d->nb; i++)
		if (d->b[i].stack != LWD_NONE) {
			cnt[d->b[i].stack]++;
			bytes[d->b[i].stack] += d->b[i].size;
		}
	lw_writer_section_begin(w, LWD_SEC_COUNTERS, 0, N_STACKS);
	for (uint32_t s = 0; s < N_STACKS; s++) {
		uint64_t fr = s == ST_SESSION ? 2 : 0;
		lw_counter_info c = {
			.stack = s,
			.alloc_samples = cnt[s] + fr, .alloc_sample_bytes = bytes[s] + fr * 256,
			.free_samples = fr, .free_sample_bytes = fr * 256,
			.alloc_objects_est = (double)(cnt[s] + fr),
			.alloc_bytes_est = (double)(bytes[s] + fr * 256),
			.free_objects_est = (double)fr, .free_bytes_est = (double)(fr * 256),
		};
		lw_writer_put_counter(w, &c);
	}
	lw_writer_section_end(w);
	if (d->snapshot)
		return w->err;

	uint32_t nlive = 0;
	for (uint32_t i = 0; i < d->nb; i++)
		nlive += d->b[i].stack != LWD_NONE;
	lw_writer_section_begin(w, LWD_SEC_LIVE_BLOCKS, 0, nlive);
	for (uint32_t i = 0; i < d->nb; i++) {
		if (d->b[i].stack == LWD_NONE)
			continue;
		lw_live_info lb = { d->b[i].addr, d->b[i].size, d->b[i].stack,
				    p.pid, 2000000000ull + i, 1.0 };
		lw_writer_put_live(w, &lb);
	}
	lw_writer_section_end(w);

	lw_thread_info th = {
		.tid = (uint32_t)gettid(), .flags = LWD_THREADF_REGS,
		.stack_start = 0x7ff000000000ull, .stack_end = 0x7ff000010000ull,
		.sp = 0x7ff000000000ull, .n_regs = 17, .regs = d->regs,
	};
	lw_writer_section_begin(w, LWD_SEC_THREADS, 0, 1);
	lw_writer_put_thread(w, &th);
	lw_writer_section_end(w);

	lw_writer_section_begin(w, LWD_SEC_HEAP_BLOCKS, 0, d->nb);
	uint32_t li = 0;
	for (uint32_t i = 0; i < d->nb; i++) {
		uint32_t live = d->b[i].stack != LWD_NONE ? li++ : LWD_NONE;
		lw_writer_put_heap_block(w, d->b[i].addr, d->b[i].size, live, d->b[i].stack);
	}
	lw_writer_section_end(w);

	lw_writer_section_begin(w, LWD_SEC_ROOTS, 0, d->nr);
	for (uint32_t i = 0; i < d->nr; i++)
		lw_writer_put_root(w, d->r[i].kind, d->r[i].owner, d->r[i].addr, d->r[i].block, 0);
	lw_writer_section_end(w);

	lw_writer_section_begin(w, LWD_SEC_HEAP_EDGES, 0, 0);
	for (uint32_t i = 0; i < d->ne; i++)
		lw_writer_put_edge(w, d->e[i].from, d->e[i].to);
	lw_graph_edges_end(w, d->ne);
	return w->err;
}

static uint64_t big_rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Shape "big:N": N blocks of 16..4096 B, 1% sampled across the four sites,
 * ~3 pointers per block (half to a neighbour within 64 blocks, half
 * anywhere), 16 global roots and 1000 stack roots. Fixed seed. */
static void build_big(gdump *d, uint32_t n)
{
	static uint64_t x;
	x = 88172645463325252ull;
#define RND() big_rnd(&x)
	for (uint32_t i = 0; i < n; i++)
		add_block(d, 16 + RND() % 4081, RND() % 100 == 0 ? (uint32_t)(RND() % N_STACKS) : LWD_NONE);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = (uint32_t)(RND() % 7);
		for (uint32_t j = 0; j < k; j++) {
			uint32_t t = RND() % 2 ? (uint32_t)((i + RND() % 128 + n - 64) % n)
					       : (uint32_t)(RND() % n);
			add_edge(d, i, t);
		}
	}
	for (uint32_t i = 0; i < 16; i++)
		add_root(d, LWD_ROOT_GLOBAL, (uint64_t)(uintptr_t)&g_session_table[i],
			 (uint32_t)(RND() % n));
	for (uint32_t i = 0; i < 1000; i++)
		add_root(d, LWD_ROOT_STACK, 0x7ff000000000ull + 8ull * i, (uint32_t)(RND() % n));
#undef RND
}

/* Shape "tree:N": N blocks of 16..4096 B in a random recursive tree (each
 * block is pointed to by one random earlier block; a stack root holds block
 * 0), so all of them are reachable with one edge each, as in the heap of
 * tests/heap/heap_bench.c with the pointers reversed. 1% sampled. */
static void build_tree(gdump *d, uint32_t n)
{
	static uint64_t x;
	x = 0x9e3779b97f4a7c15ull;
	for (uint32_t i = 0; i < n; i++)
		add_block(d, 16 + big_rnd(&x) % 4081,
			  big_rnd(&x) % 100 == 0 ? (uint32_t)(big_rnd(&x) % N_STACKS) : LWD_NONE);
	for (uint32_t i = 1; i < n; i++)
		add_edge(d, (uint32_t)(big_rnd(&x) % i), i);
	if (n)
		add_root(d, LWD_ROOT_STACK, 0x7ff000000000ull, 0);
}

static int cmp_edge(const void *a, const void *b)
{
	const gedge *x = a, *y = b;
	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return x->to < y->to ? -1 : x->to > y->to;
}

static int cmp_root(const void *a, const void *b)
{
	const groot *x = a, *y = b;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->owner != y->owner)
		return x->owner < y->owner ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int ret_gen_write(const char *dir, const char *name, const char *shape)
{
	static gdump d;
	memset(&d, 0, sizeof d);
	unsigned long big = 0, tree = 0;
	if (strcmp(shape, "snapshot") == 0)
		d.snapshot = 1;
	else if (strncmp(shape, "big:", 4) == 0)
		big = strtoul(shape + 4, NULL, 10);
	else if (strncmp(shape, "tree:", 5) == 0)
		tree = strtoul(shape + 5, NULL, 10);
	else if (strcmp(shape, "basic") != 0)
		return -EINVAL;
	if (selfmap_init(&d.map) < 0)
		return -ENOENT;

	if (big) {
		build_big(&d, (uint32_t)big);
		goto write;
	}
	if (tree) {
		build_tree(&d, (uint32_t)tree);
		goto write;
	}
	/* sessions in the table, with payloads and unsampled 48 B blocks */
	for (int i = 0; i < 8; i++) {
		uint32_t s = add_block(&d, 256, ST_SESSION);
		uint32_t p = add_block(&d, 1024, ST_PAYLOAD);
		uint32_t u = add_block(&d, 48, LWD_NONE);
		add_edge(&d, s, p);
		add_edge(&d, s, u);
		add_root(&d, LWD_ROOT_GLOBAL, (uint64_t)(uintptr_t)&g_session_table[i], s);
	}
	/* dropped sessions */
	for (int i = 0; i < 3; i++) {
		uint32_t s = add_block(&d, 256, ST_SESSION);
		uint32_t p = add_block(&d, 1024, ST_PAYLOAD);
		add_edge(&d, s, p);
	}
	/* linked list off the thread's stack; register RDI (8) -> tail */
	uint32_t prev = LWD_NONE, head = LWD_NONE;
	for (int i = 0; i < 5; i++) {
		uint32_t x = add_block(&d, 64, ST_LIST);
		if (prev != LWD_NONE)
			add_edge(&d, prev, x);
		else
			head = x;
		prev = x;
	}
	add_root(&d, LWD_ROOT_STACK, 0x7ff000000100ull, head);
	d.regs[8] = d.b[prev].addr;
	add_root(&d, LWD_ROOT_REGISTER, 8, prev);
	/* an unreachable cycle */
	uint32_t c1 = add_block(&d, 64, ST_LIST), c2 = add_block(&d, 64, ST_LIST);
	add_edge(&d, c1, c2);
	add_edge(&d, c2, c1);
	/* config */
	uint32_t cf = add_block(&d, 128, ST_CONFIG);
	add_root(&d, LWD_ROOT_GLOBAL, (uint64_t)(uintptr_t)&g_config, cf);

write:
	qsort(d.e, d.ne, sizeof d.e[0], cmp_edge);
	qsort(d.r, d.nr, sizeof d.r[0], cmp_root);

	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	static uint8_t buf[1 << 20];
	const char *step = NULL;
	int rc = lw_publish(&lw_io_system, dfd, name, buf, sizeof buf,
			    d.snapshot ? LWD_KIND_SNAPSHOT : LWD_KIND_DUMP,
			    0x1234abcdull, 1, fill, &d, &step);
	close(dfd);
	free(d.b);
	free(d.e);
	free(d.r);
	return rc;
}
