/* execwrap.h — the exec and posix_spawn wrappers (execwrap.c): a program that a
 * watched process starts is told where its own files go.
 *
 * Every way glibc offers to run a program with a given environment goes
 * through its internal __execve, which no preloaded library can interpose,
 * so each exported entry point is wrapped: execve, execv, execvp, execvpe,
 * execl, execle, execlp, fexecve, execveat, posix_spawn, posix_spawnp. Each
 * passes the new program an environment that differs from the caller's in
 * at most two entries, and only when the new program loads the shim (its
 * LD_PRELOAD names libleakwatch.so):
 *   - LEAKWATCH_PARENT=<run id>:<directory> (lw_env.h): the new program
 *     writes into "<directory>/<exe>.<pid>" and records the run id as its
 *     parent_run_id. The directory is this process's own for a child
 *     (posix_spawn, or exec in a vfork/fork child) and this process's parent
 *     directory when a child replaces its own program; a top-level process
 *     that replaces its program passes nothing (the new program is the same
 *     process and continues where it was).
 *   - under LEAKWATCH_CHILDREN=none, LD_PRELOAD without the shim, so
 *     children are not watched at all (and no LEAKWATCH_PARENT).
 * The caller's argv and envp arrays are never written; errno is what the
 * real function leaves.
 *
 * Contexts: the wrappers may run in a vfork child (posix_spawn's and
 * vfork()'s), which shares the parent's memory: they allocate nothing (the
 * new environment is built on the stack; a process with more than
 * LW_SPAWN_STACK_ENV variables gets an mmap'd array only where a mapping
 * cannot leak into a parent, else its environment is passed unchanged),
 * take no lock, touch no thread-local state and call only async-signal-safe
 * functions. The real functions are looked up by lw_spawn_init(), from the
 * constructor.
 *
 * Not covered: system() and popen() start /bin/sh through glibc's internal
 * posix_spawn, and programs that make the execve system call themselves;
 * their children inherit the caller's environment unchanged (under
 * `leakwatch run` they still land below the run's directory, which the
 * started process owns).
 */
#ifndef LW_EXECWRAP_H
#define LW_EXECWRAP_H

#define LW_SPAWN_STACK_ENV 256

/* Constructor: looks up the real functions (dlsym RTLD_NEXT). */
void lw_spawn_init(void);

#endif /* LW_EXECWRAP_H */
