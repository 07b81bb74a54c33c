#!/usr/bin/env python3
"""bench_load.py — measures `leakwatch load` on a synthetic run (not a test).

usage: bench_load.py BUILD_DIR [SNAPSHOTS [STACKS [WORKDIR]]]

Writes SNAPSHOTS files of STACKS stacks each with tests/analyze/lwgen (the
real writer API; pcs inside lwgen's own code and libraries, so the first file
symbolizes ~9 frames x STACKS stacks against real DWARF), then times:
  1. `leakwatch load` into a new database (wall and CPU of the child),
  2. the same load again (every file skipped by path, size and mtime).
Defaults: 1000 snapshots x 5000 stacks (about 770 MB of .lwd files).
"""
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time


def timed(args):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if r.returncode != 0:
        sys.exit(f"{args[0]} failed: {r.stderr}")
    return wall, cpu, r.stdout.strip()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build = os.path.abspath(sys.argv[1])
    n_snap = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    n_stacks = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    work = sys.argv[4] if len(sys.argv) > 4 else tempfile.mkdtemp(prefix="lw-bench-load-")
    lw = os.path.join(build, "analyze", "leakwatch")
    gen = os.path.join(build, "tests", "analyze", "analyze_lwgen")
    run_dir, db = os.path.join(work, "run"), os.path.join(work, "bench.db")
    try:
        if not os.path.isdir(run_dir):
            wall, _, _ = timed([gen, "--snapshots", str(n_snap), "--stacks", str(n_stacks),
                                "--depth", "16", run_dir])
            print(f"generated {n_snap} x {n_stacks} in {wall:.1f} s")
        size = sum(os.path.getsize(os.path.join(run_dir, f)) for f in os.listdir(run_dir))
        for f in (db, db + "-wal", db + "-shm"):
            if os.path.exists(f):
                os.unlink(f)
        wall, cpu, out = timed([lw, "load", db, run_dir])
        print(f"load {n_snap} files x {n_stacks} stacks ({size / 2**20:.0f} MiB): "
              f"{wall:.2f} s wall, {cpu:.2f} s CPU  [{out}]")
        wall, cpu, out = timed([lw, "load", db, run_dir])
        print(f"reload (nothing new): {wall:.2f} s wall, {cpu:.2f} s CPU  [{out}]")
        print(f"database: {os.path.getsize(db) / 2**20:.0f} MiB")
    finally:
        if len(sys.argv) <= 4:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
