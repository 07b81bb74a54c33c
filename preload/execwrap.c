/* execwrap.c — the exec and posix_spawn wrappers (see execwrap.h for what the new
 * program's environment says and why every entry point is wrapped).
 *
 * Invariants: a wrapper changes nothing the caller can see (argv, envp,
 * errno on success of our own steps) and, in a vfork child, nothing in the
 * shared memory except its own stack frames; the environment it passes is
 * the caller's with LEAKWATCH_PARENT replaced or added, or LD_PRELOAD
 * rewritten, or the caller's array itself.
 * Locks: none. Hot path: none (process creation).
 */
#include "execwrap.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lw_env.h"
#include "outdir.h"
#include "snapshot.h"

#define LW_EXPORT __attribute__((visibility("default")))

extern char **environ;

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*execveat_fn)(int, const char *, char *const[], char *const[], int);
typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			const posix_spawnattr_t *, char *const[], char *const[]);

static execve_fn real_execve, real_execvpe;
static fexecve_fn real_fexecve;
static execveat_fn real_execveat;
static spawn_fn real_posix_spawn, real_posix_spawnp;

/* Looks a real function up once. The constructor does it for all of them;
 * a wrapper does it only when another library's constructor starts a
 * program before ours has run. */
#define REAL(slot, type, name) \
	((slot) != NULL ? (slot) : ((slot) = (type)dlsym(RTLD_NEXT, name)))

void lw_spawn_init(void)
{
	(void)REAL(real_execve, execve_fn, "execve");
	(void)REAL(real_execvpe, execve_fn, "execvpe");
	(void)REAL(real_fexecve, fexecve_fn, "fexecve");
	(void)REAL(real_execveat, execveat_fn, "execveat");
	(void)REAL(real_posix_spawn, spawn_fn, "posix_spawn");
	(void)REAL(real_posix_spawnp, spawn_fn, "posix_spawnp");
}

/* ---- the new program's environment ------------------------------------- */
#define PRELOAD_NAME "LD_PRELOAD="
#define PRELOAD_LEN (sizeof(PRELOAD_NAME) - 1)
#define SHIM_NAME "libleakwatch.so"

struct child_env {
	char *stack_vec[LW_SPAWN_STACK_ENV];
	void *map;                        /* mmap'd vector, or NULL */
	size_t map_len;
	char parent[PATH_MAX + 48];       /* LEAKWATCH_PARENT=... */
	char preload[PATH_MAX];           /* LD_PRELOAD=... without the shim */
};

static int is_sep(char c)
{
	return c == ':' || c == ' ' || c == '\t';
}

/* 1 if the LD_PRELOAD item [s, s+n) is the shim (its base name). */
static int is_shim(const char *s, size_t n)
{
	size_t base = n;
	while (base > 0 && s[base - 1] != '/')
		base--;
	return n - base == sizeof(SHIM_NAME) - 1 && memcmp(s + base, SHIM_NAME, n - base) == 0;
}

/* Walks the items of an LD_PRELOAD value. With out != NULL, writes
 * "LD_PRELOAD=" and the items other than the shim, ':'-separated.
 * Returns the number of shim items, or -1 if out is too small. */
static int preload_items(const char *v, char *out, size_t cap, size_t *kept)
{
	int shims = 0;
	size_t pos = PRELOAD_LEN;
	*kept = 0;
	if (out != NULL) {
		if (cap <= PRELOAD_LEN)
			return -1;
		memcpy(out, PRELOAD_NAME, PRELOAD_LEN);
	}
	while (*v) {
		while (is_sep(*v))
			v++;
		size_t n = 0;
		while (v[n] && !is_sep(v[n]))
			n++;
		if (n == 0)
			break;
		if (is_shim(v, n)) {
			shims++;
		} else if (out != NULL) {
			if (pos + n + 2 > cap)
				return -1;
			if (*kept)
				out[pos++] = ':';
			memcpy(out + pos, v, n);
			pos += n;
			++*kept;
		}
		v += n;
	}
	if (out != NULL)
		out[pos] = '\0';
	return shims;
}

static int has_prefix(const char *s, const char *p, size_t n)
{
	return strncmp(s, p, n) == 0;
}

/* The environment to pass to a new program. same_process: exec*, which
 * replaces the caller's program (unless we run in a vfork or raw-clone
 * child, whose pid differs from the one the shim's state belongs to).
 * Returns envp itself when nothing needs to change or cannot be changed
 * safely. Clobbers errno (child_env keeps it). */
static char *const *build_env(struct child_env *ce, char *const envp[], int same_process)
{
	ce->map = NULL;
	if (envp == NULL || lw_outdir_pid() == 0)   /* NULL: as the caller asked; 0: before our constructor */
		return envp;
	int own = lw_outdir_pid() == getpid();
	const char *dir;
	uint64_t run;
	int strip;
	if (same_process && own) {
		/* this process's program is replaced: a top-level process goes
		 * on as itself, a child stays where its parent put it */
		dir = lw_outdir_parent();
		run = lw_run.parent_run_id;
		strip = lw_outdir_dormant();
		if (dir == NULL && !strip)
			return envp;
	} else {
		dir = lw_outdir_path();
		run = lw_run.run_id;
		strip = lw_outdir_children_none() || lw_outdir_dormant();
	}

	/* Only a program that loads the shim is told anything. */
	size_t n = 0, kept;
	const char *preload = NULL;
	for (; envp[n] != NULL; n++)
		if (has_prefix(envp[n], PRELOAD_NAME, PRELOAD_LEN))
			preload = envp[n] + PRELOAD_LEN;   /* the last one wins, as in ld.so */
	if (preload == NULL || preload_items(preload, NULL, 0, &kept) <= 0)
		return envp;
	if (strip) {
		if (preload_items(preload, ce->preload, sizeof(ce->preload), &kept) < 0)
			return envp;
	} else if (dir == NULL || dir[0] != '/' ||
		   lw_env_parent_entry(ce->parent, sizeof(ce->parent), run, dir) < 0) {
		return envp;
	}

	char **vec = ce->stack_vec;
	if (n + 2 > LW_SPAWN_STACK_ENV) {
		/* a mapping made in a vfork child would stay in the parent */
		if (!own)
			return envp;
		ce->map_len = (n + 2) * sizeof(char *);
		void *m = mmap(NULL, ce->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		if (m == MAP_FAILED)
			return envp;
		ce->map = m;
		vec = m;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char *e = envp[i];
		if (has_prefix(e, LW_ENV_PARENT "=", sizeof(LW_ENV_PARENT)))
			continue;
		if (strip && has_prefix(e, PRELOAD_NAME, PRELOAD_LEN)) {
			if (kept == 0)
				continue;
			e = ce->preload;
		}
		vec[k++] = e;
	}
	if (!strip)
		vec[k++] = ce->parent;
	vec[k] = NULL;
	return vec;
}

static char *const *child_env(struct child_env *ce, char *const envp[], int same_process)
{
	int e = errno;
	char *const *env = build_env(ce, envp, same_process);
	errno = e;
	return env;
}

/* Keeps errno. */
static void child_env_done(struct child_env *ce)
{
	if (ce->map != NULL) {
		int e = errno;
		munmap(ce->map, ce->map_len);
		errno = e;
	}
}

/* ---- exec ------------------------------------------------------------------ */
static int no_function(void)
{
	errno = ENOSYS;
	return -1;
}

static int do_execve(const char *path, char *const argv[], char *const envp[], int search)
{
	struct child_env ce;
	execve_fn real = search ? REAL(real_execvpe, execve_fn, "execvpe")
				: REAL(real_execve, execve_fn, "execve");
	if (real == NULL)
		return no_function();
	int rc = real(path, argv, child_env(&ce, envp, 1));
	child_env_done(&ce);
	return rc;
}

LW_EXPORT int execve(const char *path, char *const argv[], char *const envp[]);
LW_EXPORT int execv(const char *path, char *const argv[]);
LW_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]);
LW_EXPORT int execvp(const char *file, char *const argv[]);
LW_EXPORT int execl(const char *path, const char *arg, ...);
LW_EXPORT int execle(const char *path, const char *arg, ...);
LW_EXPORT int execlp(const char *file, const char *arg, ...);
LW_EXPORT int fexecve(int fd, char *const argv[], char *const envp[]);
LW_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		       int flags);

int execve(const char *path, char *const argv[], char *const envp[])
{
	return do_execve(path, argv, envp, 0);
}

int execv(const char *path, char *const argv[])
{
	return do_execve(path, argv, environ, 0);
}

int execvpe(const char *file, char *const argv[], char *const envp[])
{
	return do_execve(file, argv, envp, 1);
}

int execvp(const char *file, char *const argv[])
{
	return do_execve(file, argv, environ, 1);
}

/* The variadic forms collect their arguments on the stack, as glibc does
 * (alloca: sized by the caller's own argument list; no allocation is
 * allowed here, a vfork child may be calling). */
#define COLLECT_ARGS(argv, arg, ap, extra)                                              \
	do {                                                                            \
		size_t argc_ = 1;                                                       \
		va_start(ap, arg);                                                      \
		while (va_arg(ap, const char *) != NULL) {                              \
			if (++argc_ == INT_MAX) {                                       \
				va_end(ap);                                             \
				errno = E2BIG;                                          \
				return -1;                                              \
			}                                                               \
		}                                                                       \
		va_end(ap);                                                             \
		argv = __builtin_alloca((argc_ + 1) * sizeof(char *));                  \
		argv[0] = (char *)arg;                                                  \
		va_start(ap, arg);                                                      \
		for (size_t i_ = 1; i_ <= argc_; i_++)                                  \
			argv[i_] = va_arg(ap, char *);                                  \
		extra;                                                                  \
		va_end(ap);                                                             \
	} while (0)

int execl(const char *path, const char *arg, ...)
{
	char **argv;
	va_list ap;
	COLLECT_ARGS(argv, arg, ap, (void)0);
	return do_execve(path, argv, environ, 0);
}

int execle(const char *path, const char *arg, ...)
{
	char **argv;
	char *const *envp;
	va_list ap;
	COLLECT_ARGS(argv, arg, ap, envp = va_arg(ap, char *const *));
	return do_execve(path, argv, envp, 0);
}

int execlp(const char *file, const char *arg, ...)
{
	char **argv;
	va_list ap;
	COLLECT_ARGS(argv, arg, ap, (void)0);
	return do_execve(file, argv, environ, 1);
}

int fexecve(int fd, char *const argv[], char *const envp[])
{
	struct child_env ce;
	if (REAL(real_fexecve, fexecve_fn, "fexecve") == NULL)
		return no_function();
	int rc = real_fexecve(fd, argv, child_env(&ce, envp, 1));
	child_env_done(&ce);
	return rc;
}

int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	struct child_env ce;
	if (REAL(real_execveat, execveat_fn, "execveat") == NULL)
		return no_function();
	int rc = real_execveat(dirfd, path, argv, child_env(&ce, envp, 1), flags);
	child_env_done(&ce);
	return rc;
}

/* ---- posix_spawn --------------------------------------------------------------
 * The child is always a new process: it nests in this process's directory. */
static int do_spawn(spawn_fn real, pid_t *pid, const char *path,
		    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
		    char *const argv[], char *const envp[])
{
	struct child_env ce;
	if (real == NULL)
		return ENOSYS;
	int rc = real(pid, path, fa, attr, argv, child_env(&ce, envp, 0));
	child_env_done(&ce);
	return rc;
}

LW_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[], char *const envp[]);
LW_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[], char *const envp[]);

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return do_spawn(REAL(real_posix_spawn, spawn_fn, "posix_spawn"), pid, path, fa, attr, argv,
			envp);
}

int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
		 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return do_spawn(REAL(real_posix_spawnp, spawn_fn, "posix_spawnp"), pid, file, fa, attr, argv,
			envp);
}
