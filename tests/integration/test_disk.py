#!/usr/bin/python3
"""test_disk.py — the on-disk side of a long run: compact snapshots, the
disk budget and its thinning, temporaries and foreign files.

Tests (run as `test_disk.py NAME --inspect BIN --apps DIR`; the leakwatch
command comes from $LEAKWATCH_BUILD/analyze/leakwatch):
  budget_thinning     leak_churn at a 0.02 s interval with dumps on SIGUSR2
                      under LEAKWATCH_MAX_DISK=1200K, LEAKWATCH_KEEP_DUMPS=2:
                      the directory (files charged as the shim charges them,
                      whole 4 KiB blocks) never exceeds the budget by more
                      than one file while running and fits it at the end;
                      the first and the newest snapshots are kept, kept
                      snapshots reach back to the start of the run with
                      gaps growing with age, the newest 2 dumps are kept,
                      every kept file opens (bases resolved), no temporary
  growth_thinned      the same process's files twice: the thinned directory
                      the shim keeps, and every file it ever published
                      (hard-linked into a mirror as soon as it appears, so
                      deletion in the run directory leaves the mirror's
                      link): `leakwatch growth` gives every site the same
                      verdict on both
  unlimited           LEAKWATCH_MAX_DISK=0: nothing is deleted
  own_files_only      a directory with planted files: a foreign snapshot
                      name, a symlink named like a snapshot pointing out of
                      the directory, a symlink and unrelated files named
                      ".tmp-*", stale ".tmp-" files of our names: under a
                      tiny budget the shim deletes only files it made, never
                      follows or removes a symlink, removes the stale
                      temporaries when it claims the directory, and numbers
                      its files after the names already there
  exit_mid_write      a program that _exit()s at random moments while the
                      writer thread writes snapshots every millisecond
                      leaves no temporary file; every file it published
                      opens
  compact_size        5,000 stacks at LEAKWATCH_RATE=1: a snapshot takes at
                      most a fifth of what its stacks and counters take in
                      the format 1.1 layout (STACKS + 80-byte COUNTERS),
                      and a snapshot after few changes is a small delta
  missing_base        deleting a snapshot's stack file or keyframe: the
                      reader and `leakwatch top` name the missing base on
                      one line
  env_values          LEAKWATCH_MAX_DISK / LEAKWATCH_KEEP_DUMPS: suffixes
                      accepted silently, bad values warned about once each
"""

import json
import os
import shutil
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lwtest import *  # noqa: E402,F401,F403
from lwtest import RUN_TIMEOUT  # noqa: E402


def leakwatch_bin():
    return os.path.join(os.environ['LEAKWATCH_BUILD'], 'analyze', 'leakwatch')


def charge(path):
    st = os.lstat(path)
    return max((st.st_size + 4095) // 4096 * 4096, st.st_blocks * 512)


def dir_bytes(d):
    """Bytes of the directory's files as the budget charges them (the
    run's own subdirectories, i.e. children's, are not counted)."""
    total = 0
    for n in os.listdir(d):
        p = os.path.join(d, n)
        try:
            if not os.path.isdir(p) or os.path.islink(p):
                total += charge(p)
        except FileNotFoundError:
            pass   # deleted while we looked
    return total


def seq_of(name):
    return int(name.split('-', 1)[1].split('.', 1)[0])


def snaps(d):
    return sorted((n for n in os.listdir(d) if n.startswith('snap-') and n.endswith('.lwd')),
                  key=seq_of)


def dumps(d):
    return sorted((n for n in os.listdir(d) if n.startswith('dump-') and n.endswith('.lwd')),
                  key=seq_of)


class Watcher:
    """Polls a directory while a program runs: the largest total seen, every
    name seen, and (mirror=DIR) a hard link of each new file in DIR."""

    def __init__(self, d, mirror=None):
        self.d, self.mirror = d, mirror
        self.max_total, self.max_file, self.seen, self.missed = 0, 0, set(), []
        self.size = {}
        self.stop = False
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.stop:
            self.poll()
            time.sleep(0.003)

    def poll(self):
        if not os.path.isdir(self.d):
            return
        try:
            names = os.listdir(self.d)
        except FileNotFoundError:
            return
        for n in names:
            if n.startswith('.') or n in self.seen:
                continue
            p = os.path.join(self.d, n)
            try:
                self.size[n] = charge(p)
                self.max_file = max(self.max_file, self.size[n])
                if self.mirror:
                    os.link(p, os.path.join(self.mirror, n))
                self.seen.add(n)
            except FileNotFoundError:
                self.missed.append(n)
            except FileExistsError:
                self.seen.add(n)
        self.max_total = max(self.max_total, dir_bytes(self.d))

    def finish(self):
        self.stop = True
        self.t.join()
        self.poll()


def check_all_open(ctx, d):
    files = ctx.inspect(d, symbols=False)
    names = lwd_names(d)
    check(len(files) == len(names), 'lwd_inspect read %d of %d files' % (len(files), len(names)))
    leftovers = [n for n in os.listdir(d) if n.startswith('.tmp')]
    check(not leftovers, 'temporary files left behind: %s' % leftovers)
    return files


def t_budget_thinning(ctx):
    out = ctx.path('lw')
    budget = 1200 * 1024
    env = ctx.env(out, rate=65536, interval=0.01,
                  extra={'LEAKWATCH_MAX_DISK': '1200K', 'LEAKWATCH_KEEP_DUMPS': '2'})
    w = Watcher(out)
    # one session leaked per 40 iterations: the heap, so each dump, stays
    # well under half the budget however fast the machine runs the program
    p = ctx.start([ctx.app('leak_churn'), '--iterations', '200000', '--sleep-us', '1500',
                   '--leak-every', '40', '--cache-entries', '4000', '--ready'], env)
    read_line(p, 'ready')
    for i in range(4):
        time.sleep(0.7)
        os.kill(p.pid, signal.SIGUSR2)
    rc, _, err = finish(p)
    w.finish()
    check(rc == 0, 'leak_churn exited %d: %s' % (rc, err[-500:]))
    check(err == '', 'unexpected stderr %r' % err)
    total = dir_bytes(out)
    seen_snaps = sorted((n for n in w.seen if n.startswith('snap-')), key=seq_of)
    seen_dumps = sorted((n for n in w.seen if n.startswith('dump-')), key=seq_of)
    kept = snaps(out)
    log('budget %d: end %d, max while running %d (largest file %d); %d of %d snapshots kept, '
        'dumps %s of %s' % (budget, total, w.max_total, w.max_file, len(kept), len(seen_snaps),
                            dumps(out), seen_dumps))
    check(total <= budget, 'directory holds %d bytes, budget %d' % (total, budget))
    check(w.max_total <= budget + w.max_file,
          'directory reached %d bytes while running (budget %d, largest file %d)'
          % (w.max_total, budget, w.max_file))
    # how many get written depends on the machine's speed, how many stay on
    # the budget: the spacing checks below tell whether thinning was right
    check(len(kept) < len(seen_snaps), 'no thinning happened: %d of %d kept'
          % (len(kept), len(seen_snaps)))
    check(kept[0] == seen_snaps[0], 'first snapshot %s deleted (oldest kept %s)'
          % (seen_snaps[0], kept[0]))
    check(kept[-1] == seen_snaps[-1], 'newest snapshot deleted')
    # the newest 2 dumps stay (LEAKWATCH_KEEP_DUMPS), unless the two of them
    # alone would not fit in the budget: the heap, so a dump, grows with the
    # time the program ran, which depends on the machine's speed
    kept_dumps = dumps(out)
    two_fit = sum(w.size.get(n, 0) for n in seen_dumps[-2:]) <= budget
    want = seen_dumps[-2:] if two_fit else seen_dumps[-1:]
    check(len(seen_dumps) >= 3 and kept_dumps == want,
          'kept dumps %s, want %s of %s (sizes %s)'
          % (kept_dumps, want, seen_dumps, [w.size.get(n) for n in seen_dumps]))
    files = {os.path.basename(f['path']): f for f in check_all_open(ctx, out)}
    t = [files[n]['process']['mono_ns'] / 1e9 for n in kept]
    start, end = t[0], t[-1]
    # history reaches back: some snapshot in the oldest quarter besides the first
    check(any(start < x < start + (end - start) / 4 for x in t[1:]),
          'nothing kept from the first quarter of the run besides the first snapshot')
    # log spacing: old gaps are wider than recent ones
    gaps = [b - a for a, b in zip(t, t[1:])]
    old, new = gaps[1:len(gaps) // 3], gaps[-len(gaps) // 3:]
    check(old and new and sum(old) / len(old) > 2 * sum(new) / len(new),
          'gaps do not grow with age: old %s, recent %s' % (old, new))


def growth_json(ctx, path):
    env = dict(os.environ, XDG_CACHE_HOME=ctx.path('cache'))
    env.pop('LD_PRELOAD', None)
    p = subprocess.run([leakwatch_bin(), 'growth', '--json', '-n', '100', path], env=env,
                       capture_output=True, text=True, timeout=RUN_TIMEOUT)
    check(p.returncode == 0, 'growth %s: exit %d: %s' % (path, p.returncode, p.stderr))
    rows = json.loads(p.stdout)
    return {tuple((f['function'], f['line']) for f in r['frames'][:4]): r for r in rows}


def t_growth_thinned(ctx):
    out, mirror = ctx.path('lw'), ctx.path('all')
    os.mkdir(mirror)
    # about 700 snapshots, a fifth of them kept: the share a week at the
    # default interval keeps under the default budget (docs/PERFORMANCE.md)
    env = ctx.env(out, rate=1, interval=0.01, extra={'LEAKWATCH_MAX_DISK': '300K'})
    w = Watcher(out, mirror=mirror)
    # the cache fills over more than the first third of the run: with a
    # quarter (as in tests/analyze/growth_check.py) the thinned history kept
    # too few snapshots of its growth in about one run in fifteen, and read
    # as stable what all files read as a plateau
    ctx.run([ctx.app('leak_churn'), '--iterations', '80000', '--sleep-us', '10000',
             '--cache-entries', '30000'], env)
    w.finish()
    check(not w.missed, 'files deleted before the mirror could link them: %s' % w.missed[:5])
    n_all, n_kept = len(snaps(mirror)), len(snaps(out))
    log('snapshots: %d published, %d kept' % (n_all, n_kept))
    check(n_all >= 3 * n_kept and n_kept >= 60, 'thinning too weak or too strong: %d of %d'
          % (n_kept, n_all))
    full, thin = growth_json(ctx, mirror), growth_json(ctx, out)
    summary = ['%s: %s / %s' % (k[0][0], full[k]['verdict'], thin.get(k, {}).get('verdict'))
               for k in full]
    log('verdicts (all / thinned): %s' % '; '.join(summary))
    check(set(full) == set(thin), 'different sites: %s vs %s' % (sorted(full), sorted(thin)))
    def stats(r):
        return ', '.join('%s=%s' % (f, r.get(f)) for f in (
            'verdict', 'n_snapshots', 'slope_bytes_per_s', 'recent_slope_per_s', 'p_value',
            'q_value', 'inuse_bytes'))
    for k in full:
        check(full[k]['verdict'] == thin[k]['verdict'], 'site %s: all files: %s; thinned: %s'
              % (k[0][0], stats(full[k]), stats(thin[k])))
    leak = [k for k in full if k[0][0] == 'leak_session_buffer']
    check(leak and full[leak[0]]['verdict'] == 'leak', 'the leak is not a leak: %s' % summary)


def t_unlimited(ctx):
    out = ctx.path('lw')
    env = ctx.env(out, rate=65536, interval=0.01, extra={'LEAKWATCH_MAX_DISK': '0'})
    w = Watcher(out)
    ctx.run([ctx.app('leak_churn'), '--iterations', '8000', '--sleep-us', '30000'], env)
    w.finish()
    seen = sorted(n for n in w.seen if n.endswith('.lwd'))
    check(len(seen) > 50 and lwd_names(out) == seen, 'files deleted without a budget: %d of %d'
          % (len(lwd_names(out)), len(seen)))


def t_own_files_only(ctx):
    out = ctx.path('lw')
    os.mkdir(out, 0o700)
    outside = ctx.path('outside')
    with open(outside, 'w') as fh:
        fh.write('not yours')
    planted = {
        'snap-000007.lwd': 'foreign snapshot',      # same name pattern, not ours
        'notes.txt': 'hands off',
        '.tmp-other': 'hands off',
    }
    for n, text in planted.items():
        with open(os.path.join(out, n), 'w') as fh:
            fh.write(text)
    os.symlink(outside, os.path.join(out, 'snap-000009.lwd'))
    os.symlink(outside, os.path.join(out, '.tmp-snap-000004.lwd'))
    stale = ['.tmp-snap-000002.lwd', '.tmp-dump-000003.lwd', '.tmp-stacks-000001.lws']
    for n in stale:
        with open(os.path.join(out, n), 'w') as fh:
            fh.write('half a file from a crashed run')
    env = ctx.env(out, rate=65536, interval=0.01,
                  extra={'LEAKWATCH_MAX_DISK': '96K', 'LEAKWATCH_KEEP_DUMPS': '1'})
    w = Watcher(out)
    ctx.run([ctx.app('leak_churn'), '--iterations', '8000', '--sleep-us', '15000'], env)
    w.finish()
    names = set(os.listdir(out))
    for n in stale:
        check(n not in names, 'stale temporary %s not removed when the directory was claimed' % n)
    for n, text in planted.items():
        with open(os.path.join(out, n)) as fh:
            check(fh.read() == text, '%s changed' % n)
    for n in ('snap-000009.lwd', '.tmp-snap-000004.lwd'):
        p = os.path.join(out, n)
        check(os.path.islink(p) and os.readlink(p) == outside, 'symlink %s touched' % n)
    with open(outside) as fh:
        check(fh.read() == 'not yours', 'a symlink was followed')
    ours = sorted(n for n in w.seen if n.startswith(('snap-', 'dump-', 'stacks-'))
                  and n not in planted and n != 'snap-000009.lwd')
    check(ours and min(seq_of(n) for n in ours) == 10,
          'our files should start after the planted names (seq 10): %s' % ours[:5])
    kept = [n for n in snaps(out) if n not in planted and n != 'snap-000009.lwd']
    check(len(kept) < len([n for n in ours if n.startswith('snap-')]), 'no thinning happened')
    check(dir_bytes(out) - sum(charge(os.path.join(out, n)) for n in planted)
          - charge(os.path.join(out, '.tmp-snap-000004.lwd'))
          - charge(os.path.join(out, 'snap-000009.lwd')) <= 96 * 1024,
          'own files exceed the budget')
    for n in kept:
        ctx.inspect(os.path.join(out, n), symbols=False)


def t_exit_mid_write(ctx):
    import random
    rnd = random.Random(7)
    n_files = 0
    for i in range(12):
        out = ctx.path('lw%d' % i)
        env = ctx.env(out, rate=1, interval=0.001)
        p = ctx.run([ctx.app('many_stacks'), '--stacks', '3000', '--rounds', '1000000',
                     '--exit-after-s', '%.3f' % rnd.uniform(0.05, 0.6)], env)
        check(p.stdout == '', 'the program did not leave through _exit: %r' % p.stdout[-200:])
        names = os.listdir(out) if os.path.isdir(out) else []
        tmp = [n for n in names if n.startswith('.tmp')]
        check(not tmp, 'run %d left temporaries %s' % (i, tmp))
        if lwd_names(out):
            n_files += len(check_all_open(ctx, out))
    log('%d files published by 12 interrupted runs, all readable' % n_files)
    check(n_files >= 12, 'too few files to mean anything: %d' % n_files)


def t_compact_size(ctx):
    out = ctx.path('lw')
    env = ctx.env(out, rate=1, interval=0)
    ctx.run([ctx.app('many_stacks'), '--stacks', '5000', '--rounds', '4', '--snapshot-each'], env)
    ctx.run([ctx.app('many_stacks'), '--stacks', '5000', '--rounds', '4', '--snapshot-each',
             '--change-frac', '0.02'], ctx.env(ctx.path('lw2'), rate=1, interval=0))
    for d in (out, ctx.path('lw2')):
        files = ctx.inspect(d, symbols=False)
        for f in files:
            if f['process']['reason'] != 'api':
                continue
            size = os.path.getsize(f['path'])
            old = sum(8 + 8 * len(st['frames']) for st in f['stacks'])
            old += 80 * sum(1 for st in f['stacks'] if st['alloc_samples'] > 0)
            log('%s: %d stacks, %d bytes; the 1.1 layout needs %d for stacks and counters '
                '(%.1fx)' % (os.path.relpath(f['path'], ctx.tmp), len(f['stacks']), size, old,
                             old / size))
            check(len(f['stacks']) >= 5000, 'only %d stacks' % len(f['stacks']))
            check(size * 5 <= old, '%s: %d bytes is more than a fifth of %d' % (f['path'], size, old))
    small = [os.path.getsize(os.path.join(ctx.path('lw2'), n)) for n in snaps(ctx.path('lw2'))]
    check(min(small[1:]) * 4 < small[0], 'snapshots after few changes are not small deltas: %s'
          % small)


def t_missing_base(ctx):
    out = ctx.path('lw')
    env = ctx.env(out, rate=1, interval=0)
    ctx.run([ctx.app('many_stacks'), '--stacks', '200', '--rounds', '4', '--snapshot-each',
             '--change-frac', '0.05'], env)
    names = snaps(out)
    stacks = [n for n in os.listdir(out) if n.endswith('.lws')]
    check(len(stacks) == 1 and len(names) >= 4, 'files: %s' % sorted(os.listdir(out)))
    lwenv = dict(os.environ, XDG_CACHE_HOME=ctx.path('cache'))
    lwenv.pop('LD_PRELOAD', None)
    victim = os.path.join(out, names[1])
    # the keyframe of a delta goes
    os.rename(os.path.join(out, names[0]), ctx.path('keyframe.lwd'))
    r = subprocess.run([ctx.inspect_bin, '--no-symbols', victim], capture_output=True, text=True)
    log('without its keyframe: %s' % r.stderr.strip())
    check(r.returncode != 0 and ("base file '%s' is missing" % names[0]) in r.stderr,
          'reader message: %r' % r.stderr)
    os.rename(ctx.path('keyframe.lwd'), os.path.join(out, names[0]))
    os.unlink(os.path.join(out, stacks[0]))
    r = subprocess.run([leakwatch_bin(), 'top', victim], capture_output=True, text=True,
                       env=lwenv, timeout=RUN_TIMEOUT)
    log('leakwatch top without the stack file: exit %d: %s' % (r.returncode, r.stderr.strip()))
    first = r.stderr.splitlines()[0] if r.stderr else ''
    check(r.returncode != 0 and ("base file '%s' is missing" % stacks[0]) in first
          and victim in first, 'leakwatch top: %r' % r.stderr)


def t_env_values(ctx):
    out = ctx.path('lw')
    for value in ('512K', '1G', '64m', '0', '1048576', '2GiB'):
        p = ctx.run([ctx.app('leak_churn'), '--iterations', '200'],
                    ctx.env(out + value, interval=0, extra={'LEAKWATCH_MAX_DISK': value,
                                                            'LEAKWATCH_KEEP_DUMPS': '5'}))
        check(p.stderr == '', 'LEAKWATCH_MAX_DISK=%s: %r' % (value, p.stderr))
    p = ctx.run([ctx.app('leak_churn'), '--iterations', '200'],
                ctx.env(out + 'bad', interval=0, extra={'LEAKWATCH_MAX_DISK': '12Q',
                                                       'LEAKWATCH_KEEP_DUMPS': 'x'}))
    lines = p.stderr.splitlines()
    check(len(lines) == 2 and "LEAKWATCH_MAX_DISK '12Q' is not a size" in lines[0]
          and "LEAKWATCH_KEEP_DUMPS 'x'" in lines[1] and all(l.startswith('leakwatch: ')
                                                            for l in lines),
          'warnings: %r' % lines)


if __name__ == '__main__':
    main(globals())
