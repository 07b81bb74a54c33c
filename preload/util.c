/* util.c — diagnostics, private memory registry, clocks and text helpers for
 * the shim. See util.h for the contracts.
 *
 * Invariants: no malloc, no stdio, no locale, errno is preserved by every
 * function except the ones documented to return -errno.
 * Locks: lw_mem_lock (a spinlock around the region registry) is a leaf: no
 * other lock is taken while it is held.
 */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lw_env.h"

struct lw_config lw_cfg = { .rate = LW_ENV_DEFAULT_RATE, .interval_ns = LW_ENV_DEFAULT_INTERVAL_NS,
			    .signo = 0 };

/* ---- diagnostics -------------------------------------------------------- */
static void write_all(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t r = write(2, s, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		s += r;
		n -= (size_t)r;
	}
}

static void vwarn(const char *first, va_list ap)
{
	char line[1024];
	size_t pos = 0;
	lw_fmt_str(line, sizeof(line) - 1, &pos, "leakwatch: ");
	for (const char *s = first; s != NULL; s = va_arg(ap, const char *))
		lw_fmt_str(line, sizeof(line) - 1, &pos, s);
	line[pos++] = '\n';
	write_all(line, pos);
}

void lw_panic(const char *msg)
{
	int e = errno;
	char line[512];
	size_t pos = 0;
	lw_fmt_str(line, sizeof(line) - 1, &pos, "leakwatch: fatal: ");
	lw_fmt_str(line, sizeof(line) - 1, &pos, msg);
	line[pos++] = '\n';
	write_all(line, pos);
	errno = e;
	abort();
}

static atomic_int warned;

void lw_warn_once(const char *first, ...)
{
	if (atomic_exchange(&warned, 1))
		return;
	int e = errno;
	va_list ap;
	va_start(ap, first);
	vwarn(first, ap);
	va_end(ap);
	errno = e;
}

void lw_warn(const char *first, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, first);
	vwarn(first, ap);
	va_end(ap);
	errno = e;
}

/* ---- private memory registry ------------------------------------------- */
#define LW_MEM_SLOTS 4096
static struct { uintptr_t start, end; } mem_regions[LW_MEM_SLOTS];
static size_t mem_n;            /* slots in use are [0, mem_n) with holes (start == 0) */
static atomic_flag mem_spin = ATOMIC_FLAG_INIT;

void lw_mem_lock(void)
{
	while (atomic_flag_test_and_set_explicit(&mem_spin, memory_order_acquire))
		sched_yield();
}

void lw_mem_unlock(void)
{
	atomic_flag_clear_explicit(&mem_spin, memory_order_release);
}

void lw_mem_reinit(void)
{
	atomic_flag_clear(&mem_spin);
}

static size_t page_round(size_t len)
{
	return (len + 4095) & ~(size_t)4095;
}

void *lw_mem_map(size_t len)
{
	int e = errno;
	len = page_round(len);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	errno = e;
	if (p == MAP_FAILED)
		return NULL;
	lw_mem_lock();
	size_t i;
	for (i = 0; i < mem_n; i++)
		if (mem_regions[i].start == 0)
			break;
	if (i == mem_n && mem_n < LW_MEM_SLOTS)
		mem_n++;
	if (i < mem_n) {
		mem_regions[i].start = (uintptr_t)p;
		mem_regions[i].end = (uintptr_t)p + len;
	}
	/* else: registry full; the region is still usable, only unreported */
	lw_mem_unlock();
	return p;
}

void lw_mem_unmap(void *p, size_t len)
{
	if (p == NULL)
		return;
	int e = errno;
	len = page_round(len);
	lw_mem_lock();
	for (size_t i = 0; i < mem_n; i++)
		if (mem_regions[i].start == (uintptr_t)p) {
			mem_regions[i].start = mem_regions[i].end = 0;
			break;
		}
	while (mem_n > 0 && mem_regions[mem_n - 1].start == 0)
		mem_n--;
	lw_mem_unlock();
	munmap(p, len);
	errno = e;
}

void lw_mem_foreach(int locked, void (*fn)(void *arg, uintptr_t start, uintptr_t end), void *arg)
{
	if (locked)
		lw_mem_lock();
	for (size_t i = 0; i < mem_n; i++)
		if (mem_regions[i].start != 0)
			fn(arg, mem_regions[i].start, mem_regions[i].end);
	if (locked)
		lw_mem_unlock();
}

/* ---- clocks -------------------------------------------------------------- */
static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t lw_now_mono(void) { return clock_ns(CLOCK_MONOTONIC); }
uint64_t lw_now_wall(void) { return clock_ns(CLOCK_REALTIME); }

/* ---- text ------------------------------------------------------------------ */
void lw_fmt_str(char *buf, size_t cap, size_t *pos, const char *s)
{
	size_t p = *pos;
	if (cap == 0)
		return;
	while (*s && p + 1 < cap)
		buf[p++] = *s++;
	buf[p] = '\0';
	*pos = p;
}

void lw_fmt_u64w(char *buf, size_t cap, size_t *pos, uint64_t v, int width)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n < width && n < (int)sizeof(tmp))
		tmp[n++] = '0';
	char out[25];
	for (int i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	lw_fmt_str(buf, cap, pos, out);
}

void lw_fmt_u64(char *buf, size_t cap, size_t *pos, uint64_t v)
{
	lw_fmt_u64w(buf, cap, pos, v, 1);
}

const char *lw_strerror(int err, char *buf, size_t cap)
{
	const char *d = strerrordesc_np(err);   /* glibc >= 2.32: no locale, no allocation */
	if (d != NULL)
		return d;
	size_t pos = 0;
	lw_fmt_str(buf, cap, &pos, "error ");
	lw_fmt_u64(buf, cap, &pos, (uint64_t)(err < 0 ? -err : err));
	return buf;
}

uint64_t lw_random64(void)
{
	int e = errno;
	uint64_t v = 0;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v)) {
		static atomic_uint_fast64_t ctr;
		v = lw_now_wall() ^ (lw_now_mono() << 17) ^ ((uint64_t)getpid() << 40) ^
		    (uint64_t)(uintptr_t)&v ^ atomic_fetch_add(&ctr, 0x9e3779b97f4a7c15ull);
	}
	errno = e;
	/* splitmix64 finaliser so that weak fallbacks still look random */
	v += 0x9e3779b97f4a7c15ull;
	v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ull;
	v = (v ^ (v >> 27)) * 0x94d049bb133111ebull;
	return v ^ (v >> 31);
}

static __thread uint32_t tid_cache;

uint32_t lw_gettid(void)
{
	if (LW_UNLIKELY(tid_cache == 0))
		tid_cache = (uint32_t)syscall(SYS_gettid);
	return tid_cache;
}

void lw_tid_reset(void)
{
	tid_cache = 0;
}
