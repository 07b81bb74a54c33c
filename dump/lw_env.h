/* lw_env.h — the contract between libleakwatch.so and the leakwatch
 * command: the names of the LEAKWATCH_* environment variables, the one
 * parser of each, and where a process writes its files by default.
 *
 * Both halves link this module (it is built into the shim's and the
 * analyzer's copy of the format library), so what `leakwatch run` accepts,
 * what `leakwatch snapshot` reads back from /proc/PID/environ and what the
 * shim does with a value cannot drift apart.
 *
 * Shim-safe: no malloc, no stdio, no locale, no locks, errno untouched; only
 * the caller's buffers are written. Usable from the shim's constructor, its
 * atfork child handler and a vfork child.
 *
 * Adding a variable: a field in struct lw_env, its default in
 * lw_env_defaults(), and a row in the table of lw_env.c (name, parser, what
 * a valid value looks like, the default as text for warnings). lw_env_read()
 * and lw_env_check() then know it; both the shim and the analyzer read every
 * variable through them.
 */
#ifndef LW_ENV_H
#define LW_ENV_H

#include <stddef.h>
#include <stdint.h>

#define LW_ENV_DIR "LEAKWATCH_DIR"
#define LW_ENV_RATE "LEAKWATCH_RATE"
#define LW_ENV_INTERVAL "LEAKWATCH_INTERVAL"
#define LW_ENV_SIGNAL "LEAKWATCH_SIGNAL"
#define LW_ENV_CHILDREN "LEAKWATCH_CHILDREN"
/* Set by the shim, not by people: in the environment of a program that a
 * watched process starts (exec*, posix_spawn), "<run id, 16 hex digits>:
 * <absolute directory>": the starting process's run and the directory the
 * new program nests its own "<exe>.<pid>" directory in. */
#define LW_ENV_PARENT "LEAKWATCH_PARENT"
/* Read by `leakwatch run` only: path of libleakwatch.so. */
#define LW_ENV_SHIM "LEAKWATCH_SHIM"
/* Read by the analyzer only: size bound of its per-input cache databases
 * (lw_env_parse_size; 0 = no cache). */
#define LW_ENV_CACHE_MAX "LEAKWATCH_CACHE_MAX"

#define LW_ENV_DEFAULT_RATE 524288u
#define LW_ENV_DEFAULT_INTERVAL_NS (60ull * 1000000000ull)

/* Every shim setting that comes from the environment. */
struct lw_env {
	const char *dir;        /* LEAKWATCH_DIR, NULL when unset or empty */
	uint64_t rate;          /* mean bytes between samples, >= 1 (1: every allocation) */
	uint64_t interval_ns;   /* 0: no periodic snapshots */
	int signo;              /* dump signal; 0: none */
	int children;           /* LW_CHILDREN_ALL or LW_CHILDREN_NONE */
	const char *parent_dir; /* LEAKWATCH_PARENT's directory, NULL when unset */
	uint64_t parent_run_id; /* LEAKWATCH_PARENT's run id */
};

enum { LW_CHILDREN_ALL = 0, LW_CHILDREN_NONE = 1 };

/* One variable: its name, what a valid value looks like ("a number of
 * bytes") and the default as text ("524288"), for messages. */
struct lw_env_var {
	const char *name;
	const char *expect;
	const char *fallback;
	int (*parse)(const char *value, struct lw_env *e);   /* 0 or -EINVAL */
};

void lw_env_defaults(struct lw_env *e);

/* Fills e from an environment: defaults first, then every variable that
 * get(name, arg) returns set and non-empty. A value that does not parse
 * leaves the default and is passed to bad() (may be NULL). The strings
 * stored in e (dir) point into what get() returned. */
typedef const char *(*lw_env_get_fn)(const char *name, void *arg);
typedef void (*lw_env_bad_fn)(const struct lw_env_var *var, const char *value, void *arg);
void lw_env_read(struct lw_env *e, lw_env_get_fn get, lw_env_bad_fn bad, void *arg);

/* Checks one value as the shim would parse it. Returns the variable's row
 * (for its `expect` text) and sets *ok to 1 or 0; NULL for an unknown name. */
const struct lw_env_var *lw_env_check(const char *name, const char *value, int *ok);

/* The parsers behind the table, for values that are not environment
 * variables (command-line options of the same meaning). 0 or -EINVAL. */
int lw_env_parse_size(const char *s, uint64_t *out);      /* "512", "64K", "1GiB" */
int lw_env_parse_seconds(const char *s, uint64_t *ns);    /* "60", "0.25", ".5" */
int lw_env_parse_signal(const char *s, int *signo);       /* "USR2", "SIGHUP", "12", "RTMIN+1"; "none" = 0 */

/* ---- output directory names ------------------------------------------------
 * A process writes into LEAKWATCH_DIR (relative to its working directory at
 * start) or, without it, into ./leakwatch.<exe>.<pid>; a process that finds
 * its directory owned by another one, and a child of a watched process,
 * writes into "<directory>/<exe>.<pid>". <exe> is the base name of the
 * executable ("unknown" when empty). All functions return the length written
 * (the buffer is always NUL-terminated when cap > 0) or -ENAMETOOLONG. */

/* The LEAKWATCH_PARENT=... environment entry (name included) for a program
 * started by run run_id whose files nest in dir. */
int lw_env_parent_entry(char *buf, size_t cap, uint64_t run_id, const char *dir);

/* Base name of a path; "unknown" for NULL or an empty base name. */
const char *lw_env_exe_base(const char *exe);
/* "<exe>.<pid>" */
int lw_env_leaf(char *buf, size_t cap, const char *exe, uint64_t pid);
/* The absolute output directory of process pid running exe with settings e
 * (NULL: defaults) and working directory cwd at start:
 * <LEAKWATCH_PARENT's directory>/<exe>.<pid> for a program started by a
 * watched process; else LEAKWATCH_DIR if absolute, cwd/LEAKWATCH_DIR if
 * relative, cwd/leakwatch.<exe>.<pid> without it. -EINVAL when a relative
 * result is needed and cwd is not absolute. */
int lw_env_outdir(char *buf, size_t cap, const char *cwd, const struct lw_env *e,
		  const char *exe, uint64_t pid);

#endif /* LW_ENV_H */
