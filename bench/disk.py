#!/usr/bin/env python3
"""Disk benchmark: bytes per snapshot at 5,000 stacks, and a scaled run
that projects a week at the default interval (docs/PERFORMANCE.md, "Disk").

    python3 bench/disk.py --build build [--baseline OLD_LIBLEAKWATCH.so]
    python3 bench/disk.py --build build --project 10080 [--change-frac F]

Per-snapshot mode runs testapps/many_stacks (5,000 distinct stacks, depth
11 with --pad 0) under each shim with LEAKWATCH_INTERVAL=0 and one
leakwatch_snapshot() per round of work, in four workloads: every stack
changes between snapshots, or 10% of them do; LEAKWATCH_RATE=1 (every
allocation) or the default rate with 64 KiB blocks (so every stack gets
samples; each block replaces the stack's previous one, nothing piles up). It prints the median size of the snapshots after the first 20
rounds and, once, the stack file (written once per run).
--baseline runs the same workloads under an older shim (format 1.1, whole
stack table in every snapshot) for the before/after ratio.

Projection mode: --project N rounds with a snapshot each (N = 10,080 is a
week at the default 60 s interval; the time between snapshots does not
change a snapshot's size, only the work between them does), default rate,
64 KiB blocks, --change-frac of the stacks allocating per round. It runs
twice: LEAKWATCH_MAX_DISK=0 (every byte written stays: the bytes a week
writes) and the default budget (256M: what stays on disk), and reports
files, bytes, the largest snapshot and how many snapshots were kept.
--budgets B1,B2,... replaces the two runs by one per budget (0 = none); a
run that deleted snapshots also prints how the kept ones are spaced: per
band of age (in snapshots before the newest), how many were kept and the
median gap between neighbours (log spacing: gaps grow with age).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

WORKLOADS = [
    ("all change, rate 1", "1", "1"),
    ("10% change, rate 1", "0.1", "1"),
    ("all change, default rate", "1", None),
    ("10% change, default rate", "0.1", None),
]


def run(app, shim, out, rounds, frac, rate, extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAKWATCH_")}
    env.update(LD_PRELOAD=shim, LEAKWATCH_DIR=out, LEAKWATCH_INTERVAL="0")
    if rate:
        env["LEAKWATCH_RATE"] = rate
    env.update(extra or {})
    t0 = time.monotonic()
    subprocess.run([app, "--stacks", "5000", "--pad", "0", "--size", "65536", "--leak-every",
                    "0", "--rounds", str(rounds), "--change-frac", frac, "--snapshot-each"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def sizes(out, first=20):
    snaps = sorted(n for n in os.listdir(out) if n.startswith("snap-"))
    # API snapshots only: the last one is the exit snapshot
    return [os.path.getsize(os.path.join(out, n)) for n in snaps[first:-1]]


def dir_bytes(out):
    total = 0
    for n in os.listdir(out):
        p = os.path.join(out, n)
        if os.path.isfile(p):
            total += os.path.getsize(p)
    return total


def per_snapshot(args, tmp):
    shims = [("this build", os.path.join(args.build, "preload", "libleakwatch.so"))]
    if args.baseline:
        shims.insert(0, ("baseline", args.baseline))
    app = os.path.join(args.build, "testapps", "many_stacks")
    rows = []
    for label, frac, rate in WORKLOADS:
        med = {}
        for name, shim in shims:
            out = os.path.join(tmp, "%s-%s-%s" % (name.replace(" ", "_"), frac, rate or "d"))
            run(app, shim, out, 40, frac, rate)
            s = sizes(out)
            med[name] = statistics.median(s)
            stk = sum(os.path.getsize(os.path.join(out, n)) for n in os.listdir(out)
                      if n.endswith(".lws"))
            rows.append((label, name, med[name], min(s), max(s), stk))
        if args.baseline:
            print("%-26s %10.0f -> %8.0f bytes per snapshot: %.1fx smaller"
                  % (label, med["baseline"], med["this build"],
                     med["baseline"] / med["this build"]), flush=True)
    print()
    print("| workload | shim | median B/snapshot | min | max | stack file B |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        print("| %s | %s | %.0f | %d | %d | %d |" % r)


def spacing(out):
    """Kept snapshots by age band: (band, kept, median gap), ages and gaps in
    sequence numbers before the newest snapshot."""
    seqs = sorted(int(n[5:11]) for n in os.listdir(out) if n.startswith("snap-"))
    last, rows, lo = seqs[-1], [], 0
    for hi in (10, 100, 1000, 10000, 100000):
        band = [s for s in seqs if lo <= last - s < hi]
        gaps = [b - a for a, b in zip(seqs, seqs[1:]) if lo <= last - b < hi]
        if band:
            rows.append(("%d-%d" % (lo, hi - 1), len(band),
                         statistics.median(gaps) if gaps else 0))
        lo = hi
    return rows


def project(args, tmp):
    app = os.path.join(args.build, "testapps", "many_stacks")
    shim = os.path.join(args.build, "preload", "libleakwatch.so")
    runs = (("no budget (LEAKWATCH_MAX_DISK=0)", "0"), ("default budget (256M)", None))
    if args.budgets:
        runs = [("LEAKWATCH_MAX_DISK=%s" % b, b) for b in args.budgets.split(",")]
    for label, budget in runs:
        out = os.path.join(tmp, "project-%s" % (budget or "default"))
        extra = {"LEAKWATCH_MAX_DISK": budget} if budget is not None else {}
        secs = run(app, shim, out, args.project, args.change_frac, None, extra)
        snaps = [n for n in os.listdir(out) if n.startswith("snap-")]
        big = max(os.path.getsize(os.path.join(out, n)) for n in snaps)
        total = dir_bytes(out)
        print("%s: %d rounds in %.0f s; %d files, %d snapshots kept, %.1f MiB on disk "
              "(%.0f bytes per snapshot on disk, largest %d)"
              % (label, args.project, secs, len(os.listdir(out)), len(snaps), total / 2**20,
                 total / max(len(snaps), 1), big), flush=True)
        if len(snaps) < args.project:
            print("  kept snapshots by age (snapshots before the newest): "
                  + "; ".join("%s: %d kept, median gap %g" % r for r in spacing(out)),
                  flush=True)
        shutil.rmtree(out, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--baseline", help="an older libleakwatch.so to compare with")
    ap.add_argument("--project", type=int, help="rounds of the projection run")
    ap.add_argument("--change-frac", default="0.1")
    ap.add_argument("--budgets", help="projection: comma-separated LEAKWATCH_MAX_DISK values")
    ap.add_argument("--tmp", help="where the runs write (e.g. /dev/shm: file sizes do not "
                    "depend on the file system, fsync time does)")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="lw-bench-disk-", dir=args.tmp)
    try:
        if args.project:
            project(args, tmp)
        else:
            per_snapshot(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
