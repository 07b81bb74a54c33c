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
#include <fcntl.h>
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
			    .signo = 0, .max_disk = LW_ENV_DEFAULT_MAX_DISK,
			    .keep_dumps = LW_ENV_DEFAULT_KEEP_DUMPS };

/* ---- diagnostics -------------------------------------------------------- */
void lw_write_stderr(const char *s, size_t n)
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
	lw_write_stderr(line, pos);
}

void lw_panic(const char *msg)
{
	int e = errno;
	char line[512];
	size_t pos = 0;
	lw_fmt_str(line, sizeof(line) - 1, &pos, "leakwatch: fatal: ");
	lw_fmt_str(line, sizeof(line) - 1, &pos, msg);
	line[pos++] = '\n';
	lw_write_stderr(line, pos);
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

static void mem_register(void *p, size_t len)
{
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
}

static void *mem_map(size_t len, int flags)
{
	int e = errno;
	len = page_round(len);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
	errno = e;
	if (p == MAP_FAILED)
		return NULL;
	mem_register(p, len);
	return p;
}

void *lw_mem_map(size_t len)
{
	return mem_map(len, 0);
}

void *lw_mem_map_prefault(size_t len)
{
	return mem_map(len, MAP_POPULATE);
}

#define LW_HUGE (2u << 20)

static size_t huge_round(size_t len)
{
	return (len + LW_HUGE - 1) & ~(size_t)(LW_HUGE - 1);
}

void *lw_mem_map_huge(size_t len)
{
	if (len < 2 * LW_HUGE)
		return lw_mem_map_prefault(len);
	int e = errno;
	len = huge_round(len);
	/* over-allocate by one huge page, then trim to an aligned range */
	uint8_t *raw = mmap(NULL, len + LW_HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
	if (raw == MAP_FAILED) {
		errno = e;
		return NULL;
	}
	uint8_t *p = (uint8_t *)(((uintptr_t)raw + LW_HUGE - 1) & ~(uintptr_t)(LW_HUGE - 1));
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (p + len < raw + len + LW_HUGE)
		munmap(p + len, (size_t)(raw + len + LW_HUGE - (p + len)));
	(void)madvise(p, len, MADV_HUGEPAGE);
	/* fault it in with writes (a read first would map the zero page) */
	for (size_t off = 0; off < len; off += 4096)
		((volatile uint8_t *)p)[off] = 0;
	errno = e;
	mem_register(p, len);
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
			len = mem_regions[i].end - mem_regions[i].start;   /* as mapped */
			mem_regions[i].start = mem_regions[i].end = 0;
			break;
		}
	while (mem_n > 0 && mem_regions[mem_n - 1].start == 0)
		mem_n--;
	lw_mem_unlock();
	munmap(p, len);
	errno = e;
}

uint64_t lw_mem_resident(void)
{
	int e = errno;
	unsigned char vec[1024];
	uint64_t pages = 0;
	/* one region at a time under the lock; mincore without it (an
	 * allocation slow path may be waiting to map): a region unmapped in
	 * between fails with ENOMEM and counts nothing */
	for (size_t i = 0;; i++) {
		lw_mem_lock();
		uintptr_t start = i < mem_n ? mem_regions[i].start : 0;
		uintptr_t end = i < mem_n ? mem_regions[i].end : 0;
		int more = i < mem_n;
		lw_mem_unlock();
		if (!more)
			break;
		for (uintptr_t a = start; a < end; a += sizeof(vec) * 4096) {
			size_t len = end - a < sizeof(vec) * 4096 ? end - a : sizeof(vec) * 4096;
			if (mincore((void *)a, len, vec) != 0)
				break;
			for (size_t k = 0; k < len / 4096; k++)
				pages += vec[k] & 1;
		}
	}
	errno = e;
	return pages * 4096;
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
uint64_t lw_now_mono_coarse(void) { return clock_ns(CLOCK_MONOTONIC_COARSE); }
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

long lw_read_small(const char *path, char *buf, size_t cap)
{
	int e = errno;
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && cap > 0) {
		do
			n = read(fd, buf, cap - 1);
		while (n < 0 && errno == EINTR);
	}
	if (fd >= 0)
		close(fd);
	errno = e;
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (long)n;
}

long long lw_scan_dec(const char **p)
{
	const char *s = *p;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	long long v = 0;
	while (*s >= '0' && *s <= '9' && v < (1ll << 56))
		v = v * 10 + (*s++ - '0');
	*p = s;
	return v;
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
