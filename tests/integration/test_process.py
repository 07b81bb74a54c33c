#!/usr/bin/python3
"""test_process.py — fork, exec and signals under the shim.

Tests (run as `test_process.py NAME --inspect BIN --apps DIR`):
  fork_children           fork_parent at RATE=1: each child writes into its own
                          "<dir>/fork_parent.<pid>/" directory (pid, run id and
                          parent_run_id right, its leak counted exactly) and the
                          parent's own files are unaffected
  fork_exec_self          fork + exec of the same program: the exec'd process
                          writes its own files (found by pid) with exact figures
  fork_exec_true          fork + exec of /bin/true: exit status 0, parent fine
  fork_stress             100 forks while two threads hammer malloc/free/realloc
                          (shim locks likely held at fork): no deadlock, every
                          child exits 0, children that exit() holding a block
                          write a final snapshot, the others leave nothing
  fork_stress_rate1       the same with LEAKWATCH_RATE=1 (a lock on every call)
  signal_dump             SIGUSR2 during allocation-heavy work writes a dump
  signal_burst            50 SIGUSR2 at once: at least one dump, no crash or
                          hang; a later single signal still works
  signal_none             LEAKWATCH_SIGNAL=none: SIGUSR2 kills the program as
                          it would without the shim; no dump
  signal_none_own_handler LEAKWATCH_SIGNAL=none: the program's own SIGUSR2
                          handler receives the signal; no dump
Hangs are caught by timeouts on every wait (see lwtest.py).
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lwtest import *  # noqa: E402,F401,F403


def child_dirs(out):
    return sorted(d for d in os.listdir(out) if os.path.isdir(os.path.join(out, d)))


def t_fork_children(ctx):
    out = ctx.path('lw')
    p = ctx.run([ctx.app('fork_parent'), '--children', '2', '--blocks', '400'],
                ctx.env(out, rate=1))
    truth, snaps = parse_output(p.stdout)
    pids = [int(l.split('=')[1]) for l in p.stdout.splitlines()
            if l.startswith('child pid=') and 'status' not in l]
    statuses = [l for l in p.stdout.splitlines() if l.startswith('child pid=') and 'status' in l]
    check(len(pids) == 2 and all(s.endswith('status=0') for s in statuses),
          'children: %s / %s' % (pids, statuses))
    parent_files = ctx.inspect(out)
    check_common(parent_files, pid=None)
    ppid_run = parent_files[0]['run_id']
    parent_pid = parent_files[0]['process']['pid']
    check(parent_pid not in pids, 'parent pid %d among children' % parent_pid)
    parent_snaps = [s for s in snaps if s[0].startswith('parent')]
    api = map_api_points(parent_files, parent_snaps)
    for pt, f in api.items():
        check_exact(f, pt, truth[pt], 'parent')
        check(not [s for s in f['stacks'] if s['site_base'] == 'child_leak'],
              'parent file %s holds child_leak stacks' % f['path'])
    check_exact(exit_file(parent_files), 'final', truth['final'], 'parent')
    dirs = child_dirs(out)
    log('child directories: %s' % dirs)
    for pid in pids:
        name = 'fork_parent.%d' % pid
        check(name in dirs, 'no directory %s for child %d in %s' % (name, pid, dirs))
        files = ctx.inspect(os.path.join(out, name))
        check_common(files, pid=pid)
        for f in files:
            check(f['run_id'] != ppid_run, 'child %d reuses the parent run id' % pid)
            check(f['process']['parent_run_id'] == ppid_run,
                  'child %d: parent_run_id %d, parent run_id %d'
                  % (pid, f['process']['parent_run_id'], ppid_run))
            check(f['process']['ppid'] == parent_pid, 'child %d: ppid %d, expected %d'
                  % (pid, f['process']['ppid'], parent_pid))
        point = 'child.%d' % pid
        api_child = files_by_reason(files, 'api')
        check(len(api_child) == 1, 'child %d: %d API snapshots' % (pid, len(api_child)))
        t = {'child_leak': truth[point]['child_leak']}
        check_exact(api_child[0], point, t, 'child')
        check_exact(exit_file(files), 'final', t, 'child')


def find_by_pid(ctx, out, pid):
    files = ctx.inspect(out, recursive=True)
    return [f for f in files if f['process']['pid'] == pid]


def t_fork_exec_self(ctx):
    out = ctx.path('lw')
    p = ctx.run([ctx.app('fork_parent'), '--children', '1', '--exec', 'self', '--blocks', '300'],
                ctx.env(out, rate=1))
    truth, snaps = parse_output(p.stdout)
    execpts = [pt for pt in truth if pt.startswith('exec.')]
    check(len(execpts) == 1, 'exec child did not report: %r' % p.stdout)
    pid = int(execpts[0].split('.')[1])
    check('child pid=%d status=0' % pid in p.stdout, 'exec child status: %r' % p.stdout)
    files = find_by_pid(ctx, out, pid)
    log('exec child files: %s' % [os.path.relpath(f['path'], out) for f in files])
    check_common(files, pid=pid)
    api = files_by_reason(files, 'api')
    check(len(api) == 1, 'exec child: %d API snapshots' % len(api))
    check_exact(api[0], execpts[0], truth[execpts[0]], 'exec child')
    check_exact(exit_file(files), 'final', truth[execpts[0]], 'exec child')
    check(api[0]['process']['exe'].endswith('/fork_parent'),
          'exec child exe %r' % api[0]['process']['exe'])
    parent = ctx.inspect(out)
    check_common(parent)
    check(all(f['process']['pid'] != pid for f in parent),
          'exec child wrote into the parent directory')
    check_exact(exit_file(parent), 'final', truth['final'], 'parent')


def t_fork_exec_true(ctx):
    out = ctx.path('lw')
    p = ctx.run([ctx.app('fork_parent'), '--children', '3', '--exec', 'true'],
                ctx.env(out, rate=4096))
    statuses = [l for l in p.stdout.splitlines() if l.startswith('child pid=')]
    check(len(statuses) == 3 and all(l.endswith('status=0') for l in statuses),
          'exec /bin/true children: %s' % statuses)
    parent = ctx.inspect(out)
    check_common(parent)
    truth, snaps = parse_output(p.stdout)
    map_api_points(parent, snaps)
    exit_file(parent)


def stress(ctx, rate, forks):
    out = ctx.path('lw')
    t0 = time.monotonic()
    p = ctx.run([ctx.app('fork_parent'), '--stress', str(forks), '--hammer', '2'],
                ctx.env(out, rate=rate), timeout=150)
    log('%d forks with 2 hammer threads at rate %s: %.1f s' % (forks, rate, time.monotonic() - t0))
    check('stress forks=%d ok=%d' % (forks, forks) in p.stdout,
          'children failed: %r %r' % (p.stdout, p.stderr[-2000:]))
    parent = ctx.inspect(out)
    check_common(parent)
    exit_file(parent)
    # children 7, 15, ... leave with exit() holding a block: each writes a
    # final snapshot; children 3, 11, ... leave with exit() holding nothing
    # they allocated, and the others with _exit(): no files, no directory
    files = ctx.inspect(out, recursive=True, symbols=False)
    child_exits = {f['process']['pid'] for f in files
                   if f['process']['reason'] == 'exit' and f['process']['pid'] != parent[0]['process']['pid']}
    want = forks // 8
    check(len(child_exits) == want, '%d children wrote a final snapshot, expected %d'
          % (len(child_exits), want))
    dirs = [d for d in os.listdir(out) if os.path.isdir(os.path.join(out, d))]
    check(len(dirs) == want, '%d child directories for %d children that hold a block: %s'
          % (len(dirs), want, dirs))
    for f in files:
        if f['process']['pid'] != parent[0]['process']['pid']:
            check(f['process']['parent_run_id'] == parent[0]['run_id'],
                  '%s: parent_run_id %d != %d' % (f['path'], f['process']['parent_run_id'],
                                                  parent[0]['run_id']))


def t_fork_stress(ctx):
    stress(ctx, 524288, 100)


def t_fork_stress_rate1(ctx):
    stress(ctx, 1, 60)


def start_signal_app(ctx, out, sig=None, extra_args=()):
    stop = ctx.path('stop')
    proc = ctx.start([ctx.app('signal_app'), '--threads', '2', '--stop-file', stop,
                      '--duration', '100'] + list(extra_args),
                     ctx.env(out, rate=65536, sig=sig))
    read_line(proc, 'ready')
    return proc, stop


def dumps_by_signal(ctx, out):
    names = [n for n in lwd_names(out) if n.startswith('dump-')]
    if not names:
        return []
    files = ctx.inspect([os.path.join(out, n) for n in names], symbols=False)
    return [f for f in files if f['process']['reason'] == 'signal']


def stop_app(proc, stop):
    open(stop, 'w').close()
    rc, outp, err = finish(proc)
    check(rc == 0, 'signal_app exited %d; stderr %r' % (rc, err[-2000:]))
    check(outp.rstrip().endswith('done'), 'output %r' % outp[-300:])
    return outp, err


def t_signal_dump(ctx):
    out = ctx.path('lw')
    proc, stop = start_signal_app(ctx, out)
    try:
        os.kill(proc.pid, signal.SIGUSR2)
        dumps = wait_for(lambda: dumps_by_signal(ctx, out), 'a dump after SIGUSR2', proc=proc)
    finally:
        if proc.poll() is None:
            outp, err = stop_app(proc, stop)
    d = dumps[0]
    check(d['kind'] == 'dump', 'signal file of kind %s' % d['kind'])
    check(d['n_live'] > 0, 'dump without live blocks')
    files = ctx.inspect(out)
    check_common(files, pid=proc.pid)
    exit_file(files)


def t_signal_burst(ctx):
    out = ctx.path('lw')
    proc, stop = start_signal_app(ctx, out)
    try:
        for _ in range(50):
            os.kill(proc.pid, signal.SIGUSR2)
        first = wait_for(lambda: dumps_by_signal(ctx, out), 'a dump after 50 signals', proc=proc)
        n_first = len(first)
        log('dumps after the burst: %d' % n_first)
        # let the writer drain the burst: wait until the count stays put for 1 s
        last, since = n_first, time.monotonic()
        deadline = time.monotonic() + 60
        while time.monotonic() - since < 1.0:
            check(time.monotonic() < deadline, 'dumps kept coming for 60 s after the burst')
            check(proc.poll() is None, 'process died after the burst: %s' % proc.returncode)
            time.sleep(0.1)
            n = len(dumps_by_signal(ctx, out))
            if n != last:
                last, since = n, time.monotonic()
        check(last <= 50, '%d dumps for 50 signals' % last)
        os.kill(proc.pid, signal.SIGUSR2)
        wait_for(lambda: len(dumps_by_signal(ctx, out)) > last, 'a dump for a signal after the burst',
                 proc=proc)
    finally:
        if proc.poll() is None:
            stop_app(proc, stop)
    check(proc.returncode == 0, 'exit code %s' % proc.returncode)
    files = ctx.inspect(out)
    check_common(files, pid=proc.pid)
    exit_file(files)


def t_signal_none(ctx):
    out = ctx.path('lw')
    proc, stop = start_signal_app(ctx, out, sig='none')
    os.kill(proc.pid, signal.SIGUSR2)
    rc, outp, err = finish(proc, timeout=60)
    check(rc == -signal.SIGUSR2, 'with LEAKWATCH_SIGNAL=none, SIGUSR2 gave exit %s, expected '
          'death by signal %d' % (rc, signal.SIGUSR2))
    check(not [n for n in lwd_names(out) if n.startswith('dump-')],
          'dump files written with LEAKWATCH_SIGNAL=none: %s' % lwd_names(out))


def t_signal_none_own_handler(ctx):
    out = ctx.path('lw')
    proc, stop = start_signal_app(ctx, out, sig='none', extra_args=['--own-usr2'])
    try:
        os.kill(proc.pid, signal.SIGUSR2)
        time.sleep(0.2)     # spacing only: the count is checked as >= 1
        os.kill(proc.pid, signal.SIGUSR2)
    finally:
        outp, err = stop_app(proc, stop)
    got = [l for l in outp.splitlines() if l.startswith('usr2 received=')]
    check(got and int(got[0].split('=')[1]) >= 1, 'program handler did not run: %r' % got)
    check(not [n for n in lwd_names(out) if n.startswith('dump-')],
          'dump files written with LEAKWATCH_SIGNAL=none: %s' % lwd_names(out))


if __name__ == '__main__':
    main(globals())
