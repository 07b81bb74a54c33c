/* outdir.h — the output directory of this process and the file sequence.
 *
 * Path (absolute, computed by lw_outdir_init in the constructor, so a later
 * chdir does not matter), named by lw_env_outdir() (dump/lw_env.h, shared
 * with the analyzer):
 *   - a program started by a watched process (LEAKWATCH_PARENT, set by the
 *     exec/posix_spawn wrappers) and a forked child:
 *     "<the parent's directory>/<exe>.<pid>";
 *   - otherwise LEAKWATCH_DIR, or ./leakwatch.<exe>.<pid>.
 * The directory is created (mode 0700, missing parents too) lazily at the
 * first write, so a process that never writes leaves nothing behind. It is
 * then claimed through "<dir>/.owner", which holds the owner's pid: created
 * with O_EXCL, or already naming our pid (`leakwatch run` claims the
 * directory for the process it starts, and a program exec'd by the same
 * process continues the directory of the program before it). A top-level
 * process that finds the directory owned by another process uses
 * "<dir>/<exe>.<pid>/" instead. A directory that already holds files is
 * continued after its highest sequence number.
 *
 * The directory fd is kept with its (st_dev, st_ino); before each use it is
 * checked with fstat and re-opened by absolute path if the program closed it
 * or reused its number (the program's fd is then left alone).
 *
 * Locks: none; the functions that change state are called with the snapshot
 * write lock held (lw_snap_io_lock), or in the constructor or a
 * single-threaded forked child. The read-only queries marked below are safe
 * from any thread and from a vfork child.
 */
#ifndef LW_OUTDIR_H
#define LW_OUTDIR_H

#include <stdint.h>
#include <sys/types.h>

struct lw_env;

/* Constructor: the directory from the environment (lw_env_read). */
void lw_outdir_init(const struct lw_env *env);
/* Forked child: switch to "<parent dir>/<exe>.<pid>", reset the sequence;
 * under LEAKWATCH_CHILDREN=none the child becomes dormant (writes nothing). */
void lw_outdir_child(void);
/* A usable directory fd (created and claimed on first use). 0 or -errno;
 * *step names what failed ("mkdir", "open", "claim"). */
int lw_outdir_fd(int *fd, const char **step);
/* Sequence number for the next file; lw_outdir_commit() consumes it after a
 * file was published successfully. Creates and claims the directory first
 * (best effort, lw_outdir_fd reports failures), so the number follows the
 * files already in it. */
uint64_t lw_outdir_seq(void);
void lw_outdir_commit(void);
/* Files this process has published. */
uint64_t lw_outdir_written(void);
/* Warns once per process: "leakwatch: cannot write '<dir>/<name>': <step>: <error>" */
void lw_outdir_report(const char *name, const char *step, int err);
/* Absolute path of the executable (readlink /proc/self/exe at init). */
const char *lw_exe_path(void);

/* 1 if LEAKWATCH_DIR named this process's directory and no other process
 * owns it (the process `leakwatch run` started, for one). Writer thread or
 * exiting thread. */
int lw_outdir_named(void);
/* 1 in a forked child under LEAKWATCH_CHILDREN=none: it writes nothing. */
int lw_outdir_dormant(void);

/* Read-only, any thread, vfork child: */
const char *lw_outdir_path(void);
/* The directory this process nests in (started by a watched process or
 * forked from one), NULL for a top-level process. */
const char *lw_outdir_parent(void);
/* The pid the state above belongs to (a vfork child has another one). */
pid_t lw_outdir_pid(void);
int lw_outdir_children_none(void);

#endif /* LW_OUTDIR_H */
