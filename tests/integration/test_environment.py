#!/usr/bin/python3
"""test_environment.py — hostile environments: closed fds, chdir, no place
to write.

Tests (run as `test_environment.py NAME --inspect BIN --apps DIR`):
  close_all_fds          fd_chaos closes every fd (close_range) including 0-2,
                         opens six files of its own (fds 0..5: the numbers
                         the shim and its libraries used), keeps allocating, requests snapshots and
                         raises SIGUSR2: the snapshots and the dump are still
                         written, exact at RATE=1, and the program's files
                         hold exactly what it wrote (no stray shim bytes)
  close_all_fds_loop     the same with a close() loop and no signal
  chdir_default_dir      LEAKWATCH_DIR unset: files land in
                         ./leakwatch.fd_chaos.<pid> of the starting directory
                         even after the program chdir()s elsewhere
  chdir_relative_dir     LEAKWATCH_DIR=out (relative): resolved against the
                         starting directory, not the new one
  daemonize              daemon(3) then close every fd, allocate and snapshot:
                         the daemon's files (found by pid) are written, exact
                         at RATE=1, including its final snapshot
  unwritable_file_not_dir LEAKWATCH_DIR below a regular file: stdout and exit
                         code unchanged, exactly one "leakwatch:" line on
                         stderr; API requests fail with a negative errno
  unwritable_proc        LEAKWATCH_DIR under /proc (cannot be created, even
                         as root): same expectations
  unwritable_readonly    LEAKWATCH_DIR on a read-only tmpfs (EROFS, even for
                         root): same expectations
  full_disk              LEAKWATCH_DIR on a 48 KiB tmpfs that fills up after a
                         few files: output and exit code unchanged, one
                         warning, every published file parses, no temporary
                         file left behind
The last two mount a tmpfs and are skipped (exit 77) where that is not
allowed (not root, no CAP_SYS_ADMIN).
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lwtest import *  # noqa: E402,F401,F403


def expected_lines(i):
    return ''.join('file %d round %d: the quick brown fox\n' % (i, r) for r in (1, 2, 3))


def close_all(ctx, loop):
    out = ctx.path('lw')
    files_dir = ctx.path('files')
    os.mkdir(files_dir)
    args = [ctx.app('fd_chaos'), '--close-all', '--out-dir', files_dir]
    if loop:
        args.append('--close-loop')
    else:
        args += ['--raise', '--lw-dir', out]
    p = ctx.run(args, ctx.env(out, rate=1), expect_rc=None)
    check(p.returncode in (0, 6), 'fd_chaos exited %d; stderr %r'
          % (p.returncode, p.stderr[-1000:]))
    for i in range(5):
        with open(os.path.join(files_dir, 'f%d' % i), errors='replace') as fh:
            got = fh.read()
        check(got == expected_lines(i), 'program file f%d (fd %d) corrupted by writes that are '
              'not the program\'s:\n%r\nexpected\n%r' % (i, i, got, expected_lines(i)))
    check(p.returncode != 6, 'a write by the program to its own file failed: a descriptor it '
          'opened after closing all fds was closed or replaced behind its back (shim or '
          'library state holding stale fd numbers)')
    with open(os.path.join(files_dir, 'f5')) as fh:
        report = fh.read()
    log(report.strip())
    check('snapshot point=after1 rc=0' in report and 'snapshot point=after2 rc=0' in report,
          'snapshot requests after closing every fd failed: %r' % report)
    if not loop:
        check('dump seen' in report, 'no dump after SIGUSR2 with all fds closed: %r' % report)
    truth_lines = [l for l in report.splitlines() if l.startswith('truth ')]
    truth, _ = parse_output(p.stdout + '\n'.join(truth_lines))
    files = ctx.inspect(out)
    check_common(files)
    api = files_by_reason(files, 'api')
    check(len(api) == 3, '%d API snapshots, expected 3: %s' % (len(api), lwd_names(out)))
    check_exact(api[0], 'before', truth['before'], 'fd_chaos')
    check_exact(api[2], 'after2', truth['final'], 'fd_chaos')
    check_exact(exit_file(files), 'final', truth['final'], 'fd_chaos')
    if not loop:
        check(files_by_reason(files, 'signal'), 'no signal dump: %s' % lwd_names(out))


def t_close_all_fds(ctx):
    close_all(ctx, loop=False)


def t_close_all_fds_loop(ctx):
    close_all(ctx, loop=True)


def chdir_case(ctx, lwdir):
    start = ctx.path('start')
    other = ctx.path('other')
    os.mkdir(start)
    os.mkdir(other)
    env = ctx.env(None, rate=1)
    if lwdir is not None:
        env['LEAKWATCH_DIR'] = lwdir
    proc = ctx.start([ctx.app('fd_chaos'), '--chdir', other], env, cwd=start)
    rc, outp, err = finish(proc)
    check(rc == 0, 'fd_chaos --chdir exited %d: %s' % (rc, err))
    where = os.path.join(start, lwdir if lwdir else 'leakwatch.fd_chaos.%d' % proc.pid)
    check(os.listdir(other) == [], 'files written into the new working directory: %s'
          % os.listdir(other))
    check(os.path.isdir(where), 'no output directory %s (start dir holds %s)'
          % (where, os.listdir(start)))
    check(oct(os.stat(where).st_mode & 0o777) == oct(0o700), '%s has mode %o, expected 700'
          % (where, os.stat(where).st_mode & 0o777))
    files = ctx.inspect(where)
    check_common(files, pid=proc.pid)
    truth, snaps = parse_output(outp)
    api = map_api_points(files, snaps)
    for pt, f in api.items():
        check_exact(f, pt, truth[pt], 'fd_chaos')
    check_exact(exit_file(files), 'final', truth['final'], 'fd_chaos')


def t_chdir_default_dir(ctx):
    chdir_case(ctx, None)


def t_chdir_relative_dir(ctx):
    chdir_case(ctx, 'out')


def proc_done(pid):
    """True once pid has exited (gone, or a zombie nobody reaped yet)."""
    try:
        with open('/proc/%d/stat' % pid) as fh:
            return fh.read().rsplit(')', 1)[1].split()[0] in ('Z', 'X')
    except OSError:
        return True


def t_daemonize(ctx):
    out = ctx.path('lw')
    status_dir = ctx.path('status')
    os.mkdir(status_dir)
    status = os.path.join(status_dir, 'daemon.status')
    ctx.run([ctx.app('fd_chaos'), '--daemonize', '--out-dir', status_dir], ctx.env(out, rate=1))

    def read_status():
        try:
            with open(status) as fh:
                text = fh.read()
        except OSError:
            return None
        return text if text.endswith('done\n') else None
    text = wait_for(read_status, 'the daemon to finish (%s)' % status)
    pid = int(text.split('\n', 1)[0].split('=')[1])
    wait_for(lambda: proc_done(pid), 'daemon pid %d to exit' % pid)
    truth, snaps = parse_output(text)
    log(text.strip())

    def daemon_files():
        fs = [f for f in ctx.inspect(out, recursive=True) if f['process']['pid'] == pid]
        return fs if any(f['process']['reason'] == 'exit' for f in fs) else None
    files = wait_for(daemon_files, 'the daemon\'s final snapshot')
    log('daemon files: %s' % [os.path.relpath(f['path'], out) for f in files])
    check_common(files, pid=pid)
    api = map_api_points(files, snaps)
    for pt, f in api.items():
        check_exact(f, pt, truth[pt], 'daemon')
    check_exact(exit_file(files), 'final', truth['final'], 'daemon')


def unwritable(ctx, lwdir):
    # a run without API calls: output must be byte-identical to a run
    # without the shim; periodic snapshots (0.05 s) keep failing meanwhile
    args = [ctx.app('leak_churn'), '--iterations', '60000']
    ref = ctx.run(args, ctx.env(shim=False))
    p = ctx.run(args, ctx.env(lwdir, rate=65536, interval=0.05), expect_rc=None)
    check(p.returncode == ref.returncode, 'exit code %d under the shim, %d without'
          % (p.returncode, ref.returncode))
    check(p.stdout == ref.stdout, 'stdout differs under the shim')
    lines = p.stderr.splitlines()
    log('stderr: %r' % lines)
    check(len(lines) == 1 and lines[0].startswith('leakwatch:'),
          'expected exactly one "leakwatch:" line on stderr, got %r' % lines)
    # with API requests: each fails with a negative errno, still one warning
    args = [ctx.app('leak_churn'), '--iterations', '20000', '--points', '3']
    p = ctx.run(args, ctx.env(lwdir, rate=65536, interval=0.05))
    truth, snaps = parse_output(p.stdout)
    check(len(snaps) == 3 and all(rc.startswith('-') for _, rc in snaps),
          'leakwatch_snapshot() into an unwritable directory returned %s' % snaps)
    lines = p.stderr.splitlines()
    check(len(lines) == 1 and lines[0].startswith('leakwatch:'),
          'expected exactly one "leakwatch:" line on stderr, got %r' % lines)


def t_unwritable_file_not_dir(ctx):
    blocker = ctx.path('afile')
    with open(blocker, 'w') as fh:
        fh.write('not a directory\n')
    unwritable(ctx, os.path.join(blocker, 'sub'))
    with open(blocker) as fh:
        check(fh.read() == 'not a directory\n', 'the blocking file was modified')


def t_unwritable_proc(ctx):
    unwritable(ctx, '/proc/leakwatch-integration-test/out')


class Tmpfs:
    """A small tmpfs mounted for one test; unmounted on exit."""

    def __init__(self, path, size, readonly=False):
        self.path, self.size, self.readonly = path, size, readonly

    def __enter__(self):
        os.makedirs(self.path, exist_ok=True)
        r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%s,mode=0755' % self.size,
                            'tmpfs', self.path], capture_output=True, text=True)
        if r.returncode != 0:
            log('SKIP: cannot mount a tmpfs here: %s' % r.stderr.strip())
            sys.exit(77)
        if self.readonly:
            subprocess.run(['mount', '-o', 'remount,ro', self.path], check=True)
        return self

    def __exit__(self, *exc):
        subprocess.run(['umount', '-l', self.path], capture_output=True)
        return False


def t_unwritable_readonly(ctx):
    with Tmpfs(ctx.path('ro'), '1m', readonly=True) as fs:
        unwritable(ctx, os.path.join(fs.path, 'out'))


def t_full_disk(ctx):
    with Tmpfs(ctx.path('small'), '48k') as fs:
        out = os.path.join(fs.path, 'lw')
        # --sleep-us makes the run last about a second whatever the shim's speed,
        # so the 0.02 s interval requests far more files than 48 KiB can hold.
        args = [ctx.app('leak_churn'), '--iterations', '30000', '--sleep-us', '3000']
        ref = ctx.run(args, ctx.env(shim=False))
        p = ctx.run(args, ctx.env(out, rate=1, interval=0.02), expect_rc=None)
        check(p.returncode == ref.returncode and p.stdout == ref.stdout,
              'output or exit code changed on a full disk (exit %d vs %d)'
              % (p.returncode, ref.returncode))
        lines = p.stderr.splitlines()
        log('stderr: %r; files: %s' % (lines, sorted(os.listdir(out))))
        check(len(lines) == 1 and lines[0].startswith('leakwatch:'),
              'expected exactly one "leakwatch:" line on stderr, got %r' % lines)
        leftovers = [n for n in os.listdir(out) if n.startswith('.tmp')]
        check(not leftovers, 'temporary files left behind: %s' % leftovers)
        names = lwd_names(out)
        check(names, 'no file fit at all: the disk is too small for this test')
        files = ctx.inspect(out, symbols=False)
        check(len(files) == len(names), 'some published files do not parse')
        check_common(files)


if __name__ == '__main__':
    main(globals())
