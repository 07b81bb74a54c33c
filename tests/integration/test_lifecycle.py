#!/usr/bin/python3
"""test_lifecycle.py — which process owns which directory, what a process
leaves behind, how it ended, and `leakwatch run` as a signal-transparent
parent.

Tests (run as `test_lifecycle.py NAME --inspect BIN --apps DIR`):
  run_wrapper_owns_top   `leakwatch run` of a pyenv-style shell wrapper whose
                         helpers (readlink, dirname) write first: the process
                         run started, followed across exec, owns the top of
                         the directory; the helpers' files are below it
  run_exec_continues     the program before an exec and the one after share
                         the top (same pid) and one sequence: no file replaced;
                         a temporary left by an exec in the middle of a write
                         does not stop the next program's files
  litter_short           with LD_PRELOAD exported and no LEAKWATCH_DIR, short
                         processes that hold nothing (sh, bash subshells, ls,
                         cat, make and its recipes, git status) leave no
                         directory; a short process that holds a block keeps
                         its final snapshot
  litter_nested          the same at LEAKWATCH_RATE=1 (every process holds
                         something): one directory in the working directory,
                         the children's directories nested in it, linked by
                         parent_run_id
  children_none          --children none: started programs do not load the
                         shim, forked children write nothing and their API
                         requests return -ECANCELED
  exec_semantics         every exec*/posix_spawn entry point: return values,
                         errno and the caller's envp identical with and
                         without the shim; the started program sees the same
                         environment plus LEAKWATCH_PARENT=<run id>:<dir>
                         (never a stale one); a process replacing its own
                         program passes nothing
  exit_status            the exit snapshot carries the status given to exit()
                         or returned from main; other files carry none
  run_signals            INT, QUIT, HUP, TERM sent to `leakwatch run` reach
                         the service and run exits with its status; USR2
                         becomes a dump; a terminal's ^C arrives once
  unwinder_lazy          libgcc_s (the unwinder) is loaded only when needed
                         (seen through the loader's own LD_DEBUG=files
                         trace): not by a short process that takes no
                         sample; by the writer thread in a process that lives
                         longer; at once at LEAKWATCH_RATE=1; and the first
                         sample of a process, which waits for it, has its
                         full stack; one taken inside the loader's lock
                         waits a bounded time; a load that fails (no
                         descriptor free) is tried again a second later
  fork_loader            children forked while another thread walks the
                         loader's list (dl_iterate_phdr) exit, with their
                         final snapshots and their executable's frames: the
                         child never waits for the loader lock glibc leaves
                         taken in it; at the default rate, children forked
                         before the parent loaded the unwinder load it
                         themselves only when no other parent thread could
                         have been in the loader (else: unknown stacks)
"""

import os
import pty
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lwtest import *  # noqa: E402,F401,F403
from lwtest import POLL_TIMEOUT  # noqa: E402


def leakwatch():
    return os.path.join(os.environ['LEAKWATCH_BUILD'], 'analyze', 'leakwatch')


def run_env(ctx, extra=None):
    """Environment for `leakwatch run` itself: no shim, no LEAKWATCH_*."""
    return ctx.env(shim=False, extra=extra)


def owner_of(d):
    with open(os.path.join(d, '.owner')) as f:
        return int(f.read().split()[0])


def subdirs(d):
    return sorted(n for n in os.listdir(d) if os.path.isdir(os.path.join(d, n)))


def litter(root):
    """Every leakwatch.* directory below root."""
    found = []
    for here, dirs, _ in os.walk(root):
        for d in dirs:
            if d.startswith('leakwatch.'):
                found.append(os.path.relpath(os.path.join(here, d), root))
    return sorted(found)


def all_lwd(root):
    out = []
    for here, _, files in os.walk(root):
        out += [os.path.join(here, f) for f in files if f.endswith('.lwd') and not f.startswith('.')]
    return sorted(out)


def write_script(path, text):
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, 0o755)


# ---- the process run started owns the top ------------------------------------
def t_run_wrapper_owns_top(ctx):
    wrapper = ctx.path('python3')
    write_script(wrapper, '#!/bin/bash\n'
                 '# like pyenv\'s shim: helpers first, then the real program\n'
                 'here=$(readlink -f "$0")\n'
                 'dir=$(dirname "$here")\n'
                 'exec %s hold-exit 0\n' % ctx.app('exec_probe'))
    out = ctx.path('py1')
    p = ctx.run([leakwatch(), 'run', '-o', out, '--rate', '1', '--interval', '0', '--', wrapper],
                run_env(ctx))
    owner = owner_of(out)
    top = ctx.inspect(out, symbols=False)
    log('top: %s; below: %s' % ([os.path.basename(f['path']) for f in top], subdirs(out)))
    check(top, 'no files at the top of %s (below: %s)' % (out, subdirs(out)))
    for f in top:
        check(f['process']['pid'] == owner, '%s at the top belongs to pid %d (%s), not to the '
              'process run started (%d)' % (f['path'], f['process']['pid'], f['process']['exe'], owner))
    ex = exit_file(top)
    check(ex['process']['exe'].endswith('/exec_probe'), 'the exit snapshot at the top is of %s'
          % ex['process']['exe'])
    helpers = {d.split('.')[0] for d in subdirs(out)}
    check({'readlink', 'dirname'} <= helpers, 'helpers not below the top: %s' % subdirs(out))
    for d in subdirs(out):
        for f in ctx.inspect(os.path.join(out, d), symbols=False):
            check(f['process']['pid'] != owner and f['process']['parent_run_id'] != 0,
                  '%s: pid %d parent_run_id %d' % (f['path'], f['process']['pid'],
                                                   f['process']['parent_run_id']))
    check('writing to %s' % out in p.stderr, p.stderr)


def t_run_exec_continues(ctx):
    out = ctx.path('lw')
    p = ctx.run([leakwatch(), 'run', '-o', out, '--rate', '1', '--interval', '0.2', '--',
                 '/bin/bash', '-c', 'sleep 0.9; exec %s hold-exit 3' % ctx.app('exec_probe')],
                run_env(ctx), expect_rc=3)
    owner = owner_of(out)
    top = sorted(ctx.inspect(out, symbols=False), key=lambda f: f['seq'])
    summary = [(f['seq'], os.path.basename(f['process']['exe']), f['process']['reason'])
               for f in top]
    log('top: %s' % summary)
    check(all(f['process']['pid'] == owner for f in top), 'a file at the top is not of pid %d'
          % owner)
    exes = [os.path.basename(f['process']['exe']) for f in top]
    check('bash' in exes and exes[-1] == 'exec_probe',
          'the top should hold bash\'s periodic snapshots, then exec_probe\'s: %s' % summary)
    check(exes.index('exec_probe') > max(i for i, e in enumerate(exes) if e == 'bash'),
          'sequence numbers do not follow the exec: %s' % summary)
    seqs = [f['seq'] for f in top]
    check(len(set(seqs)) == len(seqs), 'repeated sequence numbers %s' % seqs)
    check(exit_file(top)['process']['exit_status'] == 3, 'exit status of the exit snapshot')
    # an exec in the middle of a write leaves the temporary behind: the
    # program after it removes it rather than failing on its name
    out = ctx.path('lw2')
    plant = ('for i in $(seq -f %%06g 0 40); do : >"$LEAKWATCH_DIR/.tmp-snap-$i.lwd"; done; '
             'exec %s hold-exit 4' % ctx.app('exec_probe'))
    p = ctx.run([leakwatch(), 'run', '-o', out, '--rate', '1', '--interval', '0', '--',
                 '/bin/bash', '-c', plant], run_env(ctx), expect_rc=4)
    left = [n for n in os.listdir(out) if n.startswith('.tmp-')]
    check(not left and 'cannot write' not in p.stderr, 'temporaries %s; stderr %r'
          % (left[:3], p.stderr))
    top = ctx.inspect(out, symbols=False)
    check(exit_file(top)['process']['exit_status'] == 4 and
          os.path.basename(exit_file(top)['process']['exe']) == 'exec_probe',
          'no exit snapshot of the exec\'d program: %s' % [f['path'] for f in top])


# ---- litter ---------------------------------------------------------------------
def shell_tree(ctx, work, env):
    """sh, bash subshells, make and git under `env` in `work`."""
    os.makedirs(os.path.join(work, 'sub'), exist_ok=True)
    with open(os.path.join(work, 'Makefile'), 'w') as f:
        f.write('all: a b\na:\n\t@true\nb:\n\t@echo built >/dev/null; ls >/dev/null\n')
    plain = ctx.env(shim=False)
    ctx.run(['git', 'init', '-q', work], plain)
    cmds = [
        ['sh', '-c', 'ls >/dev/null; true; echo x | cat >/dev/null; (cd sub && ls >/dev/null)'],
        ['bash', '-c', '( ( true ) ); x=$(echo y); true; exit 0'],
        ['make', '-s'],
        ['git', 'status', '--short'],
        [ctx.app('exec_probe'), 'sleep-exit', '0', '0'],
    ]
    for c in cmds:
        ctx.run(c, env, cwd=work)


def t_litter_short(ctx):
    work = ctx.path('work')
    os.makedirs(work)
    # a rate this large samples nothing: no process holds a sampled block
    env = ctx.env(rate='64G', interval=None)
    shell_tree(ctx, work, env)
    left = litter(work)
    check(not left, 'short processes that hold nothing left directories: %s' % left)
    # a short process that holds a (sampled) block keeps its final snapshot
    ctx.run([ctx.app('exec_probe'), 'hold-exit', '0'], ctx.env(interval=None), cwd=work)
    left = litter(work)
    check(len(left) == 1 and left[0].startswith('leakwatch.exec_probe.'),
          'expected the directory of exec_probe only: %s' % left)
    files = ctx.inspect(os.path.join(work, left[0]), symbols=False)
    check([f['process']['reason'] for f in files] == ['exit'], 'files: %s'
          % [f['path'] for f in files])


def t_litter_nested(ctx):
    work = ctx.path('work')
    os.makedirs(work)
    env = ctx.env(rate=1, interval=None)
    ctx.run(['bash', '-c', 'true; ls >/dev/null; (true; true); x=$(cat /dev/null); exit 0'],
            env, cwd=work)
    top = [d for d in os.listdir(work) if d.startswith('leakwatch.')]
    check(len(top) == 1 and top[0].startswith('leakwatch.bash.'),
          'one directory expected in the working directory, found %s' % sorted(os.listdir(work)))
    root = os.path.join(work, top[0])
    own = ctx.inspect(root, symbols=False)
    run_id = exit_file(own)['run_id']
    kids = subdirs(root)
    log('nested: %s' % kids)
    check(len(kids) >= 3, 'children of bash not nested in its directory: %s' % kids)
    for d in kids:
        for f in ctx.inspect(os.path.join(root, d), recursive=True, symbols=False):
            if os.path.dirname(f['path']) == os.path.join(root, d):
                check(f['process']['parent_run_id'] == run_id,
                      '%s: parent_run_id %d, bash run %d' % (f['path'],
                                                             f['process']['parent_run_id'], run_id))
    check(all(p.startswith(root + '/') for p in all_lwd(work)), 'files outside %s' % root)


# ---- LEAKWATCH_CHILDREN=none -------------------------------------------------------
def t_children_none(ctx):
    out = ctx.path('none')
    shim_name = os.path.basename(ctx.shim)
    p = ctx.run([leakwatch(), 'run', '-o', out, '--rate', '1', '--interval', '0',
                 '--children', 'none', '--', '/bin/bash', '-c',
                 'printenv LD_PRELOAD || echo unset; %s hold-exit 0; exit 0' % ctx.app('exec_probe')],
                run_env(ctx))
    check(p.stdout.split() == ['unset'], 'a started program still preloads: %r' % p.stdout)
    check(not subdirs(out), 'unwatched children wrote: %s' % subdirs(out))
    check(exit_file(ctx.inspect(out, symbols=False))['process']['exe'].endswith('/bash'),
          'the process run started was not watched')
    # the default watches them
    out2 = ctx.path('all')
    p = ctx.run([leakwatch(), 'run', '-o', out2, '--interval', '0', '--', '/bin/bash', '-c',
                 'printenv LD_PRELOAD; exit 0'], run_env(ctx))
    check(shim_name in p.stdout, 'with --children all the child lost the shim: %r' % p.stdout)
    # forked children: no files, requests refused
    out3 = ctx.path('fork')
    p = ctx.run([leakwatch(), 'run', '-o', out3, '--rate', '1', '--interval', '0',
                 '--children', 'none', '--', ctx.app('fork_parent'), '--children', '2',
                 '--blocks', '50'], run_env(ctx))
    child_rcs = [l for l in p.stdout.splitlines() if l.startswith('snapshot point=child.')]
    check(len(child_rcs) == 2 and all(l.endswith('rc=-125') for l in child_rcs),
          'forked children\'s requests: %s' % child_rcs)
    check(not subdirs(out3), 'unwatched forked children wrote: %s' % subdirs(out3))
    exit_file(ctx.inspect(out3, symbols=False))


# ---- exec/posix_spawn semantics ---------------------------------------------------
def probe_lines(text):
    """{case: [env lines]}, [status lines], [fail/spawn lines]"""
    envs, statuses, calls = {}, [], []
    for line in text.splitlines():
        if '| ' in line:
            name, rest = line.split('| ', 1)
            envs.setdefault(name, []).append(rest)
        elif line.startswith('case '):
            statuses.append(line)
        elif line.startswith('fail ') or line.startswith('spawn '):
            calls.append(line)
    return envs, statuses, calls


def t_exec_semantics(ctx):
    pdir = ctx.path('probe')
    with_shim = ctx.run([ctx.app('exec_probe'), 'cases'], ctx.env(pdir, interval=None))
    without = ctx.run([ctx.app('exec_probe'), 'cases'], ctx.env(shim=False))
    env_w, st_w, calls_w = probe_lines(with_shim.stdout)
    env_o, st_o, calls_o = probe_lines(without.stdout)
    check(calls_w == calls_o, 'return values, errno or envp differ with the shim:\n%s'
          % '\n'.join(a + '   |   ' + b for a, b in zip(calls_o, calls_w) if a != b))
    check(all(c.endswith('intact=1') for c in calls_w), 'envp changed: %s' % calls_w)
    check(st_w == st_o and all(s.endswith('status=0') for s in st_w),
          'statuses: %s / %s' % (st_o, st_w))
    start = [f for f in ctx.inspect(pdir, symbols=False) if f['process']['reason'] == 'api']
    check(len(start) == 1, 'the probe\'s start snapshot: %d files' % len(start))
    marker = 'LEAKWATCH_PARENT=%016x:%s' % (start[0]['run_id'], pdir)
    preload = 'LD_PRELOAD=' + ctx.shim
    for name, lines in sorted(env_w.items()):
        parents = [l for l in lines if l.startswith('LEAKWATCH_PARENT=')]
        rest_w = sorted(l for l in lines if not l.startswith('LEAKWATCH_PARENT=') and l != preload)
        rest_o = sorted(l for l in env_o.get(name, []) if not l.startswith('LEAKWATCH_PARENT='))
        check(rest_w == rest_o, '%s: the started program saw %s, without the shim %s'
              % (name, rest_w[:5], rest_o[:5]))
        check(preload in lines, '%s: LD_PRELOAD changed: %s' % (name, lines[:6]))
        if name == 'big_vfork':
            # 600 variables do not fit on a vfork child's stack: passed unchanged
            check(not parents, '%s: %s' % (name, parents))
        else:
            check(parents == [marker], '%s: %s, expected [%s]' % (name, parents, marker))
    check(set(env_w) == set(env_o) and len(env_w) == 14, 'cases: %s' % sorted(env_w))
    # a top-level process that replaces its own program passes nothing
    p = ctx.run([ctx.app('exec_probe'), 'self-exec'], ctx.env(pdir, interval=None))
    check('LEAKWATCH_PARENT=' not in p.stdout and 'LEAKWATCH_DIR=%s\n' % pdir in p.stdout,
          'self-exec environment: %r' % p.stdout)


# ---- how a process ended -----------------------------------------------------------
def t_exit_status(ctx):
    for mode, status in (('hold-exit', 3), ('hold-return', 5), ('hold-exit', 0)):
        d = ctx.path('%s-%d' % (mode, status))
        ctx.run([ctx.app('exec_probe'), mode, str(status)], ctx.env(d, interval=None),
                expect_rc=status)
        ex = exit_file(ctx.inspect(d, symbols=False))
        check(ex['process']['exit_status'] == status, '%s %d: exit_status %r'
              % (mode, status, ex['process']['exit_status']))
        check(ex['version_minor'] >= 2, 'version %d.%d' % (ex['version_major'], ex['version_minor']))
    d = ctx.path('periodic')
    ctx.run([ctx.app('exec_probe'), 'sleep-exit', '0.6', '7'], ctx.env(d, interval=0.1),
            expect_rc=7)
    files = ctx.inspect(d, symbols=False)
    periodic = files_by_reason(files, 'interval')
    check(periodic and all(f['process']['exit_status'] is None for f in periodic),
          'periodic snapshots: %s' % [f['process']['exit_status'] for f in periodic])
    check(exit_file(files)['process']['exit_status'] == 7, 'exit status 7')


def libgcc_loaded(stderr):
    """Whether the loader's LD_DEBUG=files trace shows libgcc_s.so.1 loaded."""
    return any('file=libgcc_s.so.1' in line for line in stderr.splitlines())


def t_unwinder_lazy(ctx):
    probe = ctx.app('exec_probe')
    trace = {'LD_DEBUG': 'files'}
    # a process that ends within milliseconds and takes no sample: no load
    # (one quiet run of five suffices: a busy host can stretch a run past
    # the writer's delay, after which loading is right)
    quiet = 0
    for i in range(5):
        p = ctx.run([probe, 'sleep-exit', '0', '0'], ctx.env(ctx.path('q%d' % i), extra=trace))
        quiet += not libgcc_loaded(p.stderr)
    check(quiet > 0, 'libgcc_s loaded by all 5 short runs that took no sample')
    # the same process without the shim never loads it: the shim's doing
    p = ctx.run([probe, 'sleep-exit', '0', '0'], ctx.env(shim=False, extra=trace))
    check(not libgcc_loaded(p.stderr), 'exec_probe loads libgcc_s by itself')
    # exact mode: loaded by the constructor, every time
    p = ctx.run([probe, 'sleep-exit', '0', '0'], ctx.env(ctx.path('r1'), rate=1, extra=trace))
    check(libgcc_loaded(p.stderr), 'LEAKWATCH_RATE=1: libgcc_s not loaded')
    # a process that lives a while: the writer loads it, no sample needed
    p = ctx.run([probe, 'sleep-exit', '0.3', '0'], ctx.env(ctx.path('long'), extra=trace))
    check(libgcc_loaded(p.stderr), 'a process of 0.3 s: libgcc_s never loaded')
    # the first sample (a 16 MiB block at the default rate, sampled with
    # probability 1 - e^-32) waits for the writer's load and keeps its stack
    d = ctx.path('first')
    p = ctx.run([probe, 'hold-exit', '0'], ctx.env(d, interval=None, extra=trace))
    check(libgcc_loaded(p.stderr), 'hold-exit: libgcc_s not loaded')
    ex = exit_file(ctx.inspect(d))
    sites = [st['site_base'] for st in ex['stacks']]
    check('hold' in sites, 'the first sample has no full stack: sites %s' % sites)
    held = [st for st in ex['stacks'] if st['site_base'] == 'hold']
    check(held and len(held[0]['frames']) >= 2,
          'the first sample\'s stack: %s' % (held[0] if held else None))
    # a first sample taken inside dl_iterate_phdr: the writer's dlopen waits
    # for the loader's lock that thread holds, so the sample waits its
    # bounded time (200 ms once the load began) and keeps the unknown stack
    d = ctx.path('inloader')
    t0 = time.monotonic()
    p = ctx.run([probe, 'hold-in-loader', '0'], ctx.env(d, interval=None))
    took = time.monotonic() - t0
    check(took < 5, 'a sample inside the loader\'s lock held the process %.1f s' % took)
    ex = exit_file(ctx.inspect(d))
    check([st for st in ex['stacks'] if st['inuse_bytes'] >= 16 << 20],
          'hold-in-loader: the 16 MiB block is not in the exit file')
    # no descriptor free when the first sample needs the unwinder: that
    # sample keeps the unknown stack, the writer tries again a second later
    # and the next sample has its stack; no warning, as nothing was lost
    d = ctx.path('nofds')
    p = ctx.run([probe, 'hold-no-fds'], ctx.env(d, interval=None))
    check('leakwatch:' not in p.stderr, 'hold-no-fds: stderr %r' % p.stderr[-500:])
    ex = exit_file(ctx.inspect(d))
    sites = sorted(st['site_base'] for st in ex['stacks'] if st['inuse_bytes'] >= 16 << 20)
    check('hold_later' in sites, 'hold-no-fds: the later sample has no stack: %s' % sites)


# ---- leakwatch run and signals -------------------------------------------------------
def start_run(ctx, args, env=None):
    p = ctx.start([leakwatch(), 'run'] + args, env or run_env(ctx))
    return p


def t_run_signals(ctx):
    # a test started in the background of a shell without job control
    # inherits INT and QUIT ignored, which run rightly keeps ignored (and
    # bash cannot trap): run as from a terminal
    for sig in (signal.SIGINT, signal.SIGQUIT):
        if signal.getsignal(sig) == signal.SIG_IGN:
            signal.signal(sig, signal.SIG_DFL)
    # bounded, so that a failing test never leaves a service behind
    loop = 'echo ready; i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; exit 99'
    for sig, code in ((signal.SIGINT, 5), (signal.SIGQUIT, 6), (signal.SIGHUP, 7),
                      (signal.SIGTERM, 8)):
        name = signal.Signals(sig).name[3:]
        p = start_run(ctx, ['-o', ctx.path('s' + name), '--interval', '0', '--', '/bin/bash',
                            '-c', 'trap "echo got-%s; exit %d" %s; %s' % (name, code, name, loop)])
        read_line(p, 'ready')
        os.kill(p.pid, sig)
        rc, out, err = finish(p, timeout=30)
        check(rc == code and 'got-' + name in out, '%s to run: exit %s, stdout %r, stderr %r'
              % (name, rc, out, err[-500:]))
    # the service's death by a signal is run's status, 128 + N
    p = ctx.run([leakwatch(), 'run', '-o', ctx.path('killed'), '--', '/bin/bash', '-c',
                 'kill -TERM $$'], run_env(ctx), expect_rc=128 + signal.SIGTERM)
    # USR2 to run: a dump of the service, which keeps running
    out = ctx.path('usr2')
    stop = ctx.path('stop')
    p = start_run(ctx, ['-o', out, '--rate', '65536', '--interval', '0', '--',
                        ctx.app('signal_app'), '--threads', '1', '--stop-file', stop,
                        '--duration', '100'])
    app_pid = int(read_line(p, 'ready').split('=')[1])
    try:
        os.kill(p.pid, signal.SIGUSR2)
        wait_for(lambda: [f for f in lwd_names(out) if f.startswith('dump-')], 'a dump after '
                 'SIGUSR2 to leakwatch run', proc=p)
        check(p.poll() is None, 'run died of SIGUSR2 (%s)' % p.returncode)
    finally:
        open(stop, 'w').close()
        rc, _, err = finish(p, timeout=60)
        if rc != 0:
            try:
                os.kill(app_pid, signal.SIGKILL)   # orphaned by a dead runner
            except ProcessLookupError:
                pass
    check(rc == 0, 'run exited %s: %s' % (rc, err[-500:]))
    dumps = [f for f in ctx.inspect(out, symbols=False) if f['kind'] == 'dump']
    check(dumps and dumps[0]['process']['reason'] == 'signal' and
          dumps[0]['process']['pid'] == app_pid, 'dump: %s' % [(f['process']['pid'],
                                                              f['process']['reason']) for f in dumps])
    # with dumps off, USR2 is refused with a message and changes nothing
    p = start_run(ctx, ['-o', ctx.path('off'), '--signal', 'none', '--', '/bin/bash', '-c',
                        'trap "" USR2; echo ready; sleep 0.5; exit 4'])
    read_line(p, 'ready')
    os.kill(p.pid, signal.SIGUSR2)
    rc, out_text, err = finish(p, timeout=30)
    check(rc == 4 and 'dumps on signal are disabled' in err, 'signal none: %s %r' % (rc, err))
    terminal_interrupt(ctx)


def terminal_interrupt(ctx):
    """^C on a terminal reaches run and the service together: the service
    must see it once, not a second time through run."""
    script = ('n=0; trap "n=\\$((n+1))" INT; echo ready; i=0; '
              'while [ $i -lt 40 ]; do sleep 0.05; i=$((i+1)); done; exit $n')
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(leakwatch(), [leakwatch(), 'run', '-o', ctx.path('tty'), '--interval', '0',
                                '--', '/bin/bash', '-c', script], run_env(ctx))
    buf = b''
    deadline = time.monotonic() + POLL_TIMEOUT
    try:
        while b'ready' not in buf:
            check(time.monotonic() < deadline, 'no "ready" on the terminal: %r' % buf)
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                buf += os.read(fd, 4096)
        os.write(fd, b'\x03')
        while True:
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            check(time.monotonic() < deadline + 30, 'run under a terminal did not finish')
        if not done:
            _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    rc = os.waitstatus_to_exitcode(status)
    check(rc == 1, '^C reached the service %s times (exit %d); terminal: %r' % (rc, rc, buf[-300:]))



def t_fork_loader(ctx):
    out = ctx.path('lw')
    env = ctx.env(out, rate=1, interval=None)
    p = subprocess.run([ctx.app('fork_loader'), '--forks', '100'], env=env,
                       capture_output=True, text=True, timeout=600)
    check(p.returncode == 0 and p.stdout.strip() == 'forks=100',
          'fork_loader exited %d: %s%s' % (p.returncode, p.stdout, p.stderr[-500:]))
    kids = subdirs(out)
    check(len(kids) == 100, 'expected 100 child directories, found %d' % len(kids))
    files = ctx.inspect(os.path.join(out, kids[0]), symbols=False)
    check([f['process']['reason'] for f in files] == ['exit'],
          'child files: %s' % [f['path'] for f in files])
    mods = [m['path'] for m in files[0]['modules']]
    check(any(m.endswith('/fork_loader') for m in mods),
          "the child's module map lacks its executable: %s" % mods)
    # At the default rate the unwinder is loaded lazily: children forked in
    # the parent's first milliseconds find it absent and sample a 16 MiB
    # block at once. With the walker alive the child must not load it (it
    # would hang in dlopen): it exits at once, its sample on the unknown
    # stack or, once the parent has loaded it, on the full one. Without
    # another thread in the parent, the child loads it and keeps the stack,
    # unless the parent's writer was loading it at that fork (it does so
    # 10 ms after start unasked; on a loaded host the load takes long
    # enough to overlap a later fork): that child does without too. The
    # children are forked one after another; at least one must keep it.
    for walker in (1, 0):
        out = ctx.path('early%d' % walker)
        p = subprocess.run([ctx.app('fork_loader'), '--forks', '4', '--hold-kib', '16384',
                            '--walker', str(walker), '--errno-check'],
                           env=ctx.env(out, interval=None),
                           capture_output=True, text=True, timeout=120)
        # the fork handlers keep errno, even when their file cannot be opened
        check('errno parent=1234 child=1' in p.stdout, 'errno across an early fork: %r'
              % p.stdout)
        check(p.returncode == 0 and p.stdout.strip().endswith('forks=4'),
              'early forks, walker %d: exited %d: %s%s'
              % (walker, p.returncode, p.stdout, p.stderr[-500:]))
        kids = subdirs(out)
        check(len(kids) == 4, 'early forks, walker %d: %d child directories' % (walker, len(kids)))
        sites = []
        for k in kids:
            ex = exit_file(ctx.inspect(os.path.join(out, k)))
            held = [st for st in ex['stacks'] if st['inuse_bytes'] >= 16 << 20]
            check(len(held) == 1, 'child %s: the 16 MiB block is not in its exit file' % k)
            if held:
                sites.append(held[0]['site_base'])
                check(sites[-1] in ('child_block', ''), 'child %s, walker %d: the block\'s '
                      'site is %r' % (k, walker, sites[-1]))
        if not walker:
            check('child_block' in sites, 'early forks without a walker: no child kept its '
                  'stack: %r' % sites)

if __name__ == '__main__':
    main(globals())
