#!/usr/bin/python3
"""soak.py — the soak test: testapps/soak (threads, fork, exec, signals,
dlopen/dlclose) under the shim with snapshots every 0.05 s, a dump (SIGUSR2)
every second and a small disk budget.

    soak.py --duration S [--budget BYTES] [--report FILE]

Needs LEAKWATCH_SHIM and LEAKWATCH_BUILD (meson's test environment).
Passes when: the program ends by itself within S + 120 s with status 0 and
its "soak done" line (no hang, no crash); nothing on stderr; the run
directory (its own files, as the budget charges them: whole 4 KiB blocks)
fits the budget at the end and never exceeded it by more than its largest
file while running; every published file of the whole tree (the run and
its children's directories) opens with its base files resolved
(lwd_inspect --recursive); no temporary file anywhere; dumps and snapshots
really were written (a dump for every 10 asked for: signals that arrive
while a dump is being written merge into one; a snapshot per 5 s: the one
writer thread also takes the dumps).
--report FILE writes the timeline (files, bytes, RSS of the process; the
shim's own resident memory and the allocator's committed bytes from the
newest snapshot) for
docs/PERFORMANCE.md. CI runs it for 180 s (meson test soak); the one-hour
run is by hand:
    LEAKWATCH_SHIM=build/preload/libleakwatch.so LEAKWATCH_BUILD=build \\
      tests/soak/soak.py --duration 3600 --report soak-1h.txt
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SHIM = os.environ.get('LEAKWATCH_SHIM', '')
BUILD = os.environ.get('LEAKWATCH_BUILD', '')
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print('FAIL:', msg, flush=True)
    return cond


def charge(path):
    st = os.lstat(path)
    return max((st.st_size + 4095) // 4096 * 4096, st.st_blocks * 512)


def dir_state(d):
    """(bytes charged, number of files, largest file) of d's own files."""
    total, n, big = 0, 0, 0
    try:
        names = os.listdir(d)
    except FileNotFoundError:
        return 0, 0, 0
    for name in names:
        p = os.path.join(d, name)
        try:
            if os.path.isdir(p) and not os.path.islink(p):
                continue
            c = charge(p)
        except FileNotFoundError:
            continue
        total += c
        n += 1
        big = max(big, c)
    return total, n, big


def rss_kib(pid):
    try:
        with open('/proc/%d/status' % pid) as fh:
            for line in fh:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def newest_process(inspect, d):
    """(the allocator's committed bytes, the shim's own resident KiB) from
    the newest snapshot of d."""
    names = sorted(n for n in os.listdir(d) if n.startswith('snap-') and n.endswith('.lwd'))
    for n in reversed(names[-3:]):
        p = subprocess.run([inspect, '--json', '--no-symbols', os.path.join(d, n)],
                           capture_output=True, text=True)
        if p.returncode == 0:
            proc = json.loads(p.stdout)[0]['process']
            return proc['heap_committed'], proc['shim_kib']
    return 0, 0


def main():
    args = sys.argv[1:]
    opts = {args[i].lstrip('-'): args[i + 1] for i in range(0, len(args) - 1, 2)}
    duration = float(opts.get('duration', '180'))
    budget = int(opts.get('budget', str(2 << 20)))
    report = opts.get('report')
    if not SHIM or not os.path.exists(SHIM) or not BUILD:
        print('LEAKWATCH_SHIM / LEAKWATCH_BUILD not set')
        return 1
    app = os.path.join(BUILD, 'testapps', 'soak')
    inspect = os.path.join(BUILD, 'tests', 'integration', 'lwd_inspect')
    tmp = tempfile.mkdtemp(prefix='lw-soak-')
    out = os.path.join(tmp, 'lw')
    env = {k: v for k, v in os.environ.items() if not k.startswith('LEAKWATCH_')}
    env.update(LD_PRELOAD=SHIM, LEAKWATCH_DIR=out, LEAKWATCH_INTERVAL='0.05',
               LEAKWATCH_RATE='8192', LEAKWATCH_MAX_DISK=str(budget), LEAKWATCH_KEEP_DUMPS='2')
    # its own process group: a hung child is killed with it, and holds no
    # pipe that communicate() would wait on for ever
    p = subprocess.Popen([app, '--duration', str(duration), '--threads', '4'], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    line = p.stdout.readline()
    check(line.startswith('ready'), 'no ready line: %r' % line)
    t0 = time.monotonic()
    deadline = t0 + duration + 120
    dumps_asked, next_dump, next_report = 0, t0 + 1, t0
    max_total, max_file, timeline = 0, 0, []
    seen_snaps, seen_dumps = set(), set()
    while p.poll() is None and time.monotonic() < deadline:
        now = time.monotonic()
        if now >= next_dump and now < t0 + duration:
            try:
                os.kill(p.pid, signal.SIGUSR2)
                dumps_asked += 1
            except ProcessLookupError:
                pass
            next_dump += 1
        total, n, big = dir_state(out)
        max_total, max_file = max(max_total, total), max(max_file, big)
        try:
            for name in os.listdir(out):
                if name.startswith('snap-'):
                    seen_snaps.add(name)
                elif name.startswith('dump-'):
                    seen_dumps.add(name)
        except FileNotFoundError:
            pass
        if report and now >= next_report:
            committed, shim_kib = newest_process(inspect, out) if os.path.isdir(out) else (0, 0)
            timeline.append((now - t0, n, total, rss_kib(p.pid), shim_kib, committed,
                             len(seen_snaps), len(seen_dumps)))
            next_report += max(10.0, duration / 60)
        time.sleep(0.1)
    hung = p.poll() is None
    procs = ''
    if hung:
        # which process hangs, and where (children the program waits for)
        procs = subprocess.run(['ps', '-o', 'pid,ppid,stat,wchan:32,etimes,args', '-g',
                                str(p.pid)], capture_output=True, text=True).stdout
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    stdout, stderr = p.communicate(timeout=60)
    check(not hung, 'soak did not end within %.0f s of its duration (hang); its processes:\n%s'
          % (120, procs))
    check(p.returncode == 0, 'soak exited with %s; stderr: %s' % (p.returncode, stderr[-2000:]))
    check('soak done' in stdout, 'no "soak done" line: %r' % stdout[-500:])
    check(stderr == '', 'stderr not empty: %r' % stderr[-2000:])
    print(stdout.strip())
    total, n, big = dir_state(out)
    print('run directory: %d files, %d bytes at the end (budget %d); at most %d while running '
          '(largest file %d); %d snapshots and %d dumps seen, %d dumps asked for'
          % (n, total, budget, max_total, max_file, len(seen_snaps), len(seen_dumps),
             dumps_asked), flush=True)
    check(total <= budget, 'run directory holds %d bytes at the end, budget %d' % (total, budget))
    check(max_total <= budget + max_file, 'run directory reached %d bytes (budget %d, largest '
          'file %d)' % (max_total, budget, max_file))
    # signals that come while a dump is written merge into the next one
    check(len(seen_dumps) * 10 >= dumps_asked, 'only %d dumps for %d signals'
          % (len(seen_dumps), dumps_asked))
    # one writer thread does both: a dump a second (stop the threads, fork,
    # walk the heap) leaves it less time for snapshots on a loaded machine
    check(len(seen_snaps) >= duration / 5, 'only %d snapshots in %.0f s' % (len(seen_snaps),
                                                                         duration))
    # every snapshot records the shim's own resident memory (format 1.2)
    shim_kib = newest_process(inspect, out)[1] if os.path.isdir(out) else 0
    check(shim_kib > 0, 'the newest snapshot records no shim memory (shim_kib %d)' % shim_kib)
    tmps, n_lwd, subdirs = [], 0, 0
    for root, dirs, files in os.walk(out):
        subdirs += len(dirs)
        tmps += [os.path.join(root, f) for f in files if f.startswith('.tmp')]
        n_lwd += sum(1 for f in files if f.endswith('.lwd'))
        if root != out:
            check(dir_state(root)[0] <= budget, '%s exceeds the budget' % root)
    check(not tmps, 'temporary files left: %s' % tmps[:5])
    r = subprocess.run([inspect, '--no-symbols', '--recursive', out], capture_output=True,
                       text=True)
    check(r.returncode == 0, 'lwd_inspect failed: %s' % r.stderr[-2000:])
    opened = sum(1 for l in r.stdout.splitlines() if l.startswith('file '))
    print('%d .lwd files in the tree (%d child directories), %d opened' % (n_lwd, subdirs, opened))
    check(opened == n_lwd, 'opened %d of %d files' % (opened, n_lwd))
    if report:
        with open(report, 'w') as fh:
            fh.write('# soak: %.0f s, budget %d bytes; t_s files bytes rss_kib shim_kib '
                     'heap_committed snapshots_seen dumps_seen\n' % (duration, budget))
            for row in timeline:
                fh.write('%.0f %d %d %d %d %d %d %d\n' % row)
            fh.write('# %s\n' % stdout.strip())
    if failures and os.environ.get('LWTEST_KEEP'):
        print('kept', tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print('FAIL' if failures else 'PASS', flush=True)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
