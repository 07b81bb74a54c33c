/* outdir.h — the output directory of this process and the file sequence.
 *
 * Path (absolute, computed by lw_outdir_init in the constructor, so a later
 * chdir does not matter): LEAKWATCH_DIR, or ./leakwatch.<exe>.<pid>, named
 * by lw_env_outdir() (dump/lw_env.h, shared with the analyzer). The
 * directory is created (mode 0700, missing parents too) lazily at the first
 * write, then claimed by creating "<dir>/.owner" with O_EXCL; if another
 * process already claimed it, this process uses "<dir>/<exe>.<pid>/" instead.
 * A forked child always uses "<parent dir>/<exe>.<childpid>/", also created
 * lazily (a fork+exec child never creates it).
 *
 * The directory fd is kept with its (st_dev, st_ino); before each use it is
 * checked with fstat and re-opened by absolute path if the program closed it
 * or reused its number (the program's fd is then left alone).
 *
 * Locks: none; every function is called with the snapshot write lock held
 * (lw_snap_io_lock), or in a single-threaded forked child.
 */
#ifndef LW_OUTDIR_H
#define LW_OUTDIR_H

#include <stdint.h>

/* env_dir: LEAKWATCH_DIR as read by lw_env_read(), or NULL. */
void lw_outdir_init(const char *env_dir);
/* Forked child: switch to "<parent dir>/<exe>.<pid>", reset the sequence. */
void lw_outdir_child(void);
/* A usable directory fd (created and claimed on first use). 0 or -errno;
 * *step names what failed ("mkdir", "open", "claim"). */
int lw_outdir_fd(int *fd, const char **step);
const char *lw_outdir_path(void);
/* Sequence number for the next file; lw_outdir_commit() consumes it after a
 * file was published successfully. */
uint64_t lw_outdir_seq(void);
void lw_outdir_commit(void);
/* Warns once per process: "leakwatch: cannot write '<dir>/<name>': <step>: <error>" */
void lw_outdir_report(const char *name, const char *step, int err);
/* Absolute path of the executable (readlink /proc/self/exe at init). */
const char *lw_exe_path(void);

#endif /* LW_OUTDIR_H */
