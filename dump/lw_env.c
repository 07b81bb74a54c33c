/* lw_env.c — LEAKWATCH_* variables and directory names (see lw_env.h).
 *
 * Invariants: every parser accepts exactly the documented syntax (no
 * leading blanks, no sign, no locale), rejects overflow, and writes its
 * output only on success. The table below is the one list of variables.
 * Locks: none; pure functions.
 */
#include "lw_env.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

/* ---- parsers ------------------------------------------------------------- */
/* Decimal digits at *s; advances *s. -1 on overflow or when there is no digit. */
static int digits_u64(const char **s, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*s = p;
	*out = v;
	return 0;
}

int lw_env_parse_size(const char *s, uint64_t *out)
{
	static const struct { const char *suffix; uint64_t mult; } sfx[] = {
		{ "", 1 },
		{ "k", 1ull << 10 }, { "K", 1ull << 10 }, { "KiB", 1ull << 10 },
		{ "m", 1ull << 20 }, { "M", 1ull << 20 }, { "MiB", 1ull << 20 },
		{ "g", 1ull << 30 }, { "G", 1ull << 30 }, { "GiB", 1ull << 30 },
	};
	uint64_t v;
	if (s == NULL || digits_u64(&s, &v) < 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if (strcmp(s, sfx[i].suffix) != 0)
			continue;
		if (v > UINT64_MAX / sfx[i].mult)
			return -EINVAL;
		*out = v * sfx[i].mult;
		return 0;
	}
	return -EINVAL;
}

int lw_env_parse_seconds(const char *s, uint64_t *ns)
{
	uint64_t whole = 0, frac = 0, scale = 1000000000ull;
	int digits = 0;
	if (s == NULL)
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		whole = whole * 10 + (uint64_t)(*s - '0');
		if (whole > 100000000ull)   /* more than ~3 years: refused */
			return -EINVAL;
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*s - '0') * scale;
			}
		}
	}
	if (*s != '\0' || digits == 0)
		return -EINVAL;
	*ns = whole * 1000000000ull + frac;
	return 0;
}

static const struct { const char *name; int signo; } sig_names[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "USR1", SIGUSR1 },
	{ "USR2", SIGUSR2 }, { "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
	{ "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN },
	{ "TTOU", SIGTTOU }, { "URG", SIGURG }, { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
	{ "PWR", SIGPWR }, { "SYS", SIGSYS },
};

/* Signals a dump handler must never take: KILL and STOP cannot be caught;
 * returning from a handler of a synchronous fault re-executes the faulting
 * instruction, so a crash would become an endless loop. */
static int signal_usable(uint64_t v)
{
	return v >= 1 && v < (uint64_t)NSIG && v != SIGKILL && v != SIGSTOP && v != SIGSEGV &&
	       v != SIGBUS && v != SIGFPE && v != SIGILL && v != SIGTRAP;
}

int lw_env_parse_signal(const char *s, int *signo)
{
	uint64_t v;
	const char *p = s;
	if (s == NULL)
		return -EINVAL;
	if (strcmp(s, "none") == 0 || strcmp(s, "NONE") == 0 || strcmp(s, "0") == 0) {
		*signo = 0;
		return 0;
	}
	if (digits_u64(&p, &v) == 0) {
		if (*p != '\0' || !signal_usable(v))
			return -EINVAL;
		*signo = (int)v;
		return 0;
	}
	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	if (strcmp(s, "RTMIN") == 0) {
		*signo = SIGRTMIN;
		return 0;
	}
	p = s + 6;
	if (strncmp(s, "RTMIN+", 6) == 0 && digits_u64(&p, &v) == 0 && *p == '\0' &&
	    v <= (uint64_t)(SIGRTMAX - SIGRTMIN)) {
		*signo = SIGRTMIN + (int)v;
		return 0;
	}
	for (size_t i = 0; i < sizeof(sig_names) / sizeof(sig_names[0]); i++) {
		if (strcmp(s, sig_names[i].name) == 0) {
			*signo = sig_names[i].signo;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- the variables ----------------------------------------------------------- */
static int parse_dir(const char *s, struct lw_env *e)
{
	e->dir = s;
	return 0;
}

static int parse_rate(const char *s, struct lw_env *e)
{
	uint64_t v;
	if (lw_env_parse_size(s, &v) < 0)
		return -EINVAL;
	e->rate = v <= 1 ? 1 : v;
	return 0;
}

static int parse_interval(const char *s, struct lw_env *e)
{
	return lw_env_parse_seconds(s, &e->interval_ns);
}

static int parse_signal(const char *s, struct lw_env *e)
{
	return lw_env_parse_signal(s, &e->signo);
}

static int parse_children(const char *s, struct lw_env *e)
{
	if (strcmp(s, "all") == 0)
		e->children = LW_CHILDREN_ALL;
	else if (strcmp(s, "none") == 0)
		e->children = LW_CHILDREN_NONE;
	else
		return -EINVAL;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "<16 lowercase hex digits>:<absolute path>" */
static int parse_parent(const char *s, struct lw_env *e)
{
	uint64_t id = 0;
	for (int i = 0; i < 16; i++) {
		int d = hex_digit(s[i]);
		if (d < 0)
			return -EINVAL;
		id = id << 4 | (uint64_t)d;
	}
	if (s[16] != ':' || s[17] != '/')
		return -EINVAL;
	e->parent_run_id = id;
	e->parent_dir = s + 17;
	return 0;
}

static const struct lw_env_var vars[] = {
	{ LW_ENV_DIR, "a directory", "./leakwatch.<exe>.<pid>", parse_dir },
	{ LW_ENV_RATE, "a number of bytes (K/M/G suffixes allowed)", "524288", parse_rate },
	{ LW_ENV_INTERVAL, "a number of seconds", "60", parse_interval },
	{ LW_ENV_SIGNAL, "a signal that can be caught, or none", "USR2", parse_signal },
	{ LW_ENV_CHILDREN, "all or none", "all", parse_children },
	{ LW_ENV_PARENT, "<run id>:<directory> (set by the shim)", "no parent", parse_parent },
};

void lw_env_defaults(struct lw_env *e)
{
	e->dir = NULL;
	e->rate = LW_ENV_DEFAULT_RATE;
	e->interval_ns = LW_ENV_DEFAULT_INTERVAL_NS;
	e->signo = SIGUSR2;
	e->children = LW_CHILDREN_ALL;
	e->parent_dir = NULL;
	e->parent_run_id = 0;
}

void lw_env_read(struct lw_env *e, lw_env_get_fn get, lw_env_bad_fn bad, void *arg)
{
	lw_env_defaults(e);
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *s = get(vars[i].name, arg);
		if (s == NULL || *s == '\0')
			continue;
		if (vars[i].parse(s, e) < 0 && bad != NULL)
			bad(&vars[i], s, arg);
	}
}

const struct lw_env_var *lw_env_check(const char *name, const char *value, int *ok)
{
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if (strcmp(vars[i].name, name) != 0)
			continue;
		struct lw_env scratch;
		lw_env_defaults(&scratch);
		*ok = value != NULL && *value != '\0' && vars[i].parse(value, &scratch) == 0;
		return &vars[i];
	}
	*ok = 0;
	return NULL;
}

/* ---- directory names --------------------------------------------------------- */
struct out {
	char *buf;
	size_t cap, len;
	int overflow;
};

static void put_str(struct out *o, const char *s)
{
	size_t n = strlen(s);
	if (o->len + n >= o->cap) {
		o->overflow = 1;
		return;
	}
	memcpy(o->buf + o->len, s, n + 1);
	o->len += n;
}

static void put_u64(struct out *o, uint64_t v)
{
	char tmp[24];
	size_t n = sizeof(tmp) - 1;
	tmp[n] = '\0';
	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	put_str(o, tmp + n);
}

/* "<exe base>.<pid>" */
static void put_leaf(struct out *o, const char *exe, uint64_t pid)
{
	put_str(o, lw_env_exe_base(exe));
	put_str(o, ".");
	put_u64(o, pid);
}

static int finish(struct out *o)
{
	if (o->cap > 0 && o->overflow)
		o->buf[o->len] = '\0';
	return o->overflow ? -ENAMETOOLONG : (int)o->len;
}

const char *lw_env_exe_base(const char *exe)
{
	if (exe == NULL)
		return "unknown";
	const char *slash = strrchr(exe, '/');
	const char *base = slash ? slash + 1 : exe;
	return *base ? base : "unknown";
}

int lw_env_leaf(char *buf, size_t cap, const char *exe, uint64_t pid)
{
	struct out o = { buf, cap, 0, cap == 0 };
	if (cap > 0)
		buf[0] = '\0';
	put_leaf(&o, exe, pid);
	return finish(&o);
}

int lw_env_parent_entry(char *buf, size_t cap, uint64_t run_id, const char *dir)
{
	struct out o = { buf, cap, 0, cap == 0 };
	char hex[17];
	if (cap > 0)
		buf[0] = '\0';
	for (int i = 15; i >= 0; i--, run_id >>= 4)
		hex[i] = "0123456789abcdef"[run_id & 15];
	hex[16] = '\0';
	put_str(&o, LW_ENV_PARENT "=");
	put_str(&o, hex);
	put_str(&o, ":");
	put_str(&o, dir);
	return finish(&o);
}

int lw_env_outdir(char *buf, size_t cap, const char *cwd, const struct lw_env *e,
		  const char *exe, uint64_t pid)
{
	struct out o = { buf, cap, 0, cap == 0 };
	const char *dir = e ? e->dir : NULL;
	if (cap > 0)
		buf[0] = '\0';
	if (e != NULL && e->parent_dir != NULL) {
		put_str(&o, e->parent_dir);
		put_str(&o, "/");
		put_leaf(&o, exe, pid);
		return finish(&o);
	}
	if (dir != NULL && dir[0] == '/') {
		put_str(&o, dir);
		return finish(&o);
	}
	if (cwd == NULL || cwd[0] != '/')
		return -EINVAL;
	put_str(&o, cwd);
	if (cwd[1] != '\0')
		put_str(&o, "/");
	if (dir != NULL && *dir != '\0') {
		put_str(&o, dir);
	} else {
		put_str(&o, "leakwatch.");
		put_leaf(&o, exe, pid);
	}
	return finish(&o);
}
