"""lwtest.py — helpers shared by the integration test scripts.

Role: run testapps (and real programs) under LD_PRELOAD=$LEAKWATCH_SHIM in a
private temporary directory, wait for .lwd files by polling with generous
deadlines (never by sleeping a fixed time), read them back through
lwd_inspect --json (the reader library plus offline symbolization), and
compare per-site figures with the "truth" lines the apps print.

Each script is run as `script.py NAME --inspect PATH --apps DIR`; NAME picks
the test function `t_NAME`. A test fails by raising TestFailure (exit 1)
and prints what it compared; exit 77 means skipped (meson's convention).
Set LWTEST_KEEP=1 to keep the temporary directory of a failed test.
Uses only Debian's python3 standard library.
"""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

POLL_TIMEOUT = 30.0      # seconds to wait for a file or a line (loaded 2-core machines)
RUN_TIMEOUT = 120.0      # seconds a whole program may run before it counts as hung


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from lwcheck import Fail as TestFailure, check  # noqa: E402  (tests/lwcheck.py)


def log(msg):
    print(msg, flush=True)


class Ctx:
    """Paths and the temporary directory of one test."""

    def __init__(self, argv):
        self.name = argv[1]
        args = argv[2:]
        opts = {}
        for i in range(0, len(args) - 1, 2):
            opts[args[i].lstrip('-')] = args[i + 1]
        self.inspect_bin = opts.get('inspect')
        self.apps = opts.get('apps')
        self.shim = os.environ.get('LEAKWATCH_SHIM', '')
        self.tmp = tempfile.mkdtemp(prefix='lw-it-%s-' % self.name)
        self.procs = []

    def app(self, name):
        return os.path.join(self.apps, name)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def env(self, outdir=None, rate=None, interval=0, sig=None, extra=None, shim=True):
        """Environment for a run under the shim (shim=False: without it)."""
        env = dict(os.environ)
        for k in list(env):
            if k.startswith('LEAKWATCH_') and k not in ('LEAKWATCH_SHIM', 'LEAKWATCH_BUILD',
                                                       'LEAKWATCH_SOURCE'):
                del env[k]
        env.pop('LD_PRELOAD', None)
        if shim:
            env['LD_PRELOAD'] = self.shim
            if outdir is not None:
                env['LEAKWATCH_DIR'] = outdir
            if rate is not None:
                env['LEAKWATCH_RATE'] = str(rate)
            if interval is not None:
                env['LEAKWATCH_INTERVAL'] = str(interval)
            if sig is not None:
                env['LEAKWATCH_SIGNAL'] = sig
        if extra:
            env.update(extra)
        return env

    # ---- running programs ------------------------------------------------
    def run(self, cmd, env, timeout=RUN_TIMEOUT, cwd=None, stdin_data=None, expect_rc=0):
        """Runs to completion; a program that does not end in `timeout`
        seconds is killed and the test fails (a hang is a failure)."""
        try:
            p = subprocess.run(cmd, env=env, cwd=cwd, input=stdin_data, capture_output=True,
                               text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise TestFailure('%s did not finish within %.0f s (hang?); stdout so far: %r'
                              % (' '.join(cmd), timeout, (e.stdout or b'')[-2000:]))
        if expect_rc is not None and p.returncode != expect_rc:
            raise TestFailure('%s exited with %d, expected %d\nstdout: %s\nstderr: %s'
                              % (' '.join(cmd), p.returncode, expect_rc, p.stdout[-3000:],
                                 p.stderr[-3000:]))
        return p

    def start(self, cmd, env, cwd=None):
        """Starts a program in the background; cleanup() kills it if the
        test ends (or fails) while it still runs."""
        p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        return p

    # ---- reading files -----------------------------------------------------
    def inspect(self, paths, symbols=True, recursive=False, live=False):
        if isinstance(paths, str):
            paths = [paths]
        cmd = [self.inspect_bin, '--json']
        if not symbols:
            cmd.append('--no-symbols')
        if recursive:
            cmd.append('--recursive')
        if live:
            cmd.append('--live')
        p = subprocess.run(cmd + list(paths), capture_output=True, text=True, timeout=RUN_TIMEOUT)
        if p.returncode != 0:
            raise TestFailure('lwd_inspect failed (%d) on %s: %s' % (p.returncode, paths,
                                                                      p.stderr.strip()))
        files = json.loads(p.stdout)
        for f in files:
            for st in f['stacks']:
                st['site_base'] = base_function(st['site'])
        return files

    def cleanup(self, failed):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
        if failed and os.environ.get('LWTEST_KEEP'):
            log('kept %s' % self.tmp)
            return
        shutil.rmtree(self.tmp, ignore_errors=True)


def base_function(name):
    """'(anonymous namespace)::make_leaked_shape(int)' -> 'make_leaked_shape'."""
    if not name:
        return ''
    depth = 0
    cut = len(name)
    for i, ch in enumerate(name):       # drop the parameter list
        if ch == '(' and depth == 0 and not name.startswith('(anonymous', i):
            cut = i
            break
    name = name[:cut]
    if '::' in name:
        name = name.rsplit('::', 1)[1]
    for suffix in ('.isra', '.constprop', '.part', '.cold'):
        if suffix in name:
            name = name.split(suffix)[0]
    return name.strip()


# ---- output of the apps ----------------------------------------------------
def parse_output(text):
    """Returns (truth, snapshots): truth[point][site] = (bytes, objects);
    snapshots = [(point, rc string)] in order."""
    truth, snaps = {}, []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        kv = dict(p.split('=', 1) for p in parts[1:] if '=' in p)
        if parts[0] == 'truth':
            truth.setdefault(kv['point'], {})[kv['site']] = (int(kv['inuse_bytes']),
                                                            int(kv['inuse_objects']))
        elif parts[0] == 'snapshot':
            snaps.append((kv['point'], kv['rc']))
    return truth, snaps


def lwd_names(d):
    """Published .lwd files of a directory (no temporaries), sorted."""
    if not os.path.isdir(d):
        return []
    return sorted(n for n in os.listdir(d) if n.endswith('.lwd') and not n.startswith('.'))


def wait_for(pred, what, timeout=POLL_TIMEOUT, proc=None):
    """Polls pred() until true; fails after `timeout` s or if `proc` died."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        v = pred()
        if v:
            return v
        if proc is not None and proc.poll() is not None:
            v = pred()
            if v:
                return v
            raise TestFailure('process exited (%s) while waiting for %s' % (proc.returncode, what))
        if time.monotonic() > deadline:
            raise TestFailure('timed out after %.0f s waiting for %s' % (timeout, what))
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def read_line(proc, prefix, timeout=POLL_TIMEOUT):
    """Reads proc's stdout until a line starting with prefix; returns it.
    Reads the raw pipe (select + os.read with our own buffer, kept on proc),
    so lines already read ahead are never stranded in a library buffer;
    everything read is also kept in proc.lw_seen for finish()."""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    if not hasattr(proc, 'lw_buf'):
        proc.lw_buf = b''
        proc.lw_seen = b''
    while True:
        while b'\n' in proc.lw_buf:
            line, proc.lw_buf = proc.lw_buf.split(b'\n', 1)
            text = line.decode(errors='replace')
            if text.startswith(prefix):
                return text.strip()
        left = deadline - time.monotonic()
        if left <= 0:
            raise TestFailure('timed out waiting for a "%s" line' % prefix)
        r, _, _ = select.select([fd], [], [], min(left, 0.5))
        if not r:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            raise TestFailure('stdout closed before a "%s" line (exit %s)' % (prefix, proc.wait()))
        proc.lw_buf += chunk
        proc.lw_seen += chunk


def finish(proc, timeout=RUN_TIMEOUT):
    """Waits for proc; returns (exit code, all of stdout, stderr)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise TestFailure('process %d did not exit within %.0f s (hang?)' % (proc.pid, timeout))
    seen = getattr(proc, 'lw_seen', b'').decode(errors='replace')
    return proc.returncode, seen + out, err


# ---- per-site figures ------------------------------------------------------
def site_figures(f, site):
    """Sums over the stacks of file dict `f` whose site (first non-allocator
    frame) is `site`: returns dict of inuse/alloc bytes/objects and samples."""
    r = {'inuse_bytes': 0.0, 'inuse_objects': 0.0, 'alloc_bytes': 0.0, 'alloc_objects': 0.0,
         'alloc_samples': 0, 'free_samples': 0, 'stacks': 0}
    for st in f['stacks']:
        if st['site_base'] != site:
            continue
        r['stacks'] += 1
        for k in ('inuse_bytes', 'inuse_objects', 'alloc_bytes', 'alloc_objects',
                  'alloc_samples', 'free_samples'):
            r[k] += st[k]
    return r


def sites_present(f):
    return sorted({st['site_base'] for st in f['stacks'] if st['site_base']})


def check_exact(f, point, truth_point, label=''):
    """At LEAKWATCH_RATE=1 every truth site's inuse bytes and objects must
    equal the truth exactly."""
    check(f['process']['sample_rate'] == 1, '%s: sample_rate is %s, expected 1'
          % (f['path'], f['process']['sample_rate']))
    for site, (tb, to) in sorted(truth_point.items()):
        g = site_figures(f, site)
        ib, io = g['inuse_bytes'], g['inuse_objects']
        ok = abs(ib - tb) < 1e-6 and abs(io - to) < 1e-6
        log('%s point=%s site=%s truth=%d B/%d  file=%.3f B/%.3f (%d stacks)'
            % (label, point, site, tb, to, ib, io, g['stacks']))
        if not ok:
            raise TestFailure('%s point %s site %s: inuse %.3f bytes / %.3f objects in %s, '
                              'truth %d / %d (sites present: %s)'
                              % (label, point, site, ib, io, os.path.basename(f['path']), tb, to,
                                 ', '.join(sites_present(f))))


def files_by_reason(files, reason):
    return [f for f in sorted(files, key=lambda x: x['seq']) if f['process']['reason'] == reason]


def map_api_points(files, snaps):
    """Pairs the API-requested files (in seq order) with the app's
    "snapshot point=P rc=R" lines; every request must have succeeded."""
    api = files_by_reason(files, 'api')
    for point, rc in snaps:
        check(rc == '0', 'leakwatch_snapshot() at point %s returned %s' % (point, rc))
    check(len(api) == len(snaps), '%d API snapshot files for %d requests (%s)'
          % (len(api), len(snaps), [os.path.basename(f['path']) for f in files]))
    return {point: f for (point, _), f in zip(snaps, api)}


def exit_file(files):
    ex = files_by_reason(files, 'exit')
    check(len(ex) == 1, 'expected one final (exit) snapshot, found %d among %s'
          % (len(ex), [os.path.basename(f['path']) + ':' + f['process']['reason'] for f in files]))
    return ex[0]


def check_common(files, pid=None):
    """Consistency every file of one process must have."""
    check(files, 'no .lwd files')
    seqs = [f['seq'] for f in files]
    check(len(set(seqs)) == len(seqs), 'repeated sequence numbers %s' % seqs)
    run_ids = {f['run_id'] for f in files}
    check(len(run_ids) == 1, 'files of one process carry several run ids %s' % run_ids)
    for f in files:
        name = os.path.basename(f['path'])
        want = 'dump-' if f['kind'] == 'dump' else 'snap-'
        check(name.startswith(want) and name == '%s%06d.lwd' % (want, f['seq']),
              'file name %s does not match kind %s and seq %d' % (name, f['kind'], f['seq']))
        if pid is not None:
            check(f['process']['pid'] == pid, '%s: pid %d, expected %d'
                  % (name, f['process']['pid'], pid))
    monos = [f['process']['mono_ns'] for f in sorted(files, key=lambda x: x['seq'])]
    check(monos == sorted(monos), 'capture times not increasing with seq: %s' % monos)


def main(tests):
    ctx = Ctx(sys.argv)
    fn = tests.get('t_' + ctx.name)
    if fn is None:
        print('unknown test %s' % ctx.name)
        sys.exit(2)
    if not ctx.shim or not os.path.exists(ctx.shim):
        print('LEAKWATCH_SHIM not set or missing: %r' % ctx.shim)
        sys.exit(1)
    failed = True
    try:
        fn(ctx)
        failed = False
        log('PASS %s' % ctx.name)
    except TestFailure as e:
        log('FAIL %s: %s' % (ctx.name, e))
    finally:
        ctx.cleanup(failed)
    sys.exit(1 if failed else 0)


__all__ = ['Ctx', 'TestFailure', 'check', 'log', 'parse_output', 'lwd_names', 'wait_for',
           'read_line', 'finish', 'site_figures', 'check_exact', 'files_by_reason',
           'map_api_points', 'exit_file', 'check_common', 'main', 'signal', 'os', 'time',
           'base_function', 'sites_present']
