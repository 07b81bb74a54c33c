#!/usr/bin/env python3
"""Short-process overhead: what the shim costs programs that live a few
milliseconds (ls, true, a shell pipeline, a loop of 100 /bin/true) when
LD_PRELOAD is exported, and what it leaves behind.

Every configuration runs each workload once per round, in an order that
rotates from round to round (interleaved, so a noisy moment hits all of
them), each run in a fresh working directory. The figure of a configuration
is its extra time over plain glibc in the same round (a paired difference):
the median over rounds and the spread (interquartile range, and min..max).
"left" counts the leakwatch.* directories the runs left behind.

    python3 bench/short.py --build build [--rounds 41] [--baseline OLD.so] [--write]

Configurations:
  glibc       no preload
  mimalloc    LD_PRELOAD of Debian's libmimalloc.so.2 (the allocator alone)
  leakwatch   LD_PRELOAD=<build>/preload/libleakwatch.so, default settings
  baseline    LD_PRELOAD=OLD.so (--baseline: another build of the shim)
Workloads:
  true        /bin/true
  ls          ls -l /usr/lib
  pipeline    sh -c 'ls /usr/bin | sort | uniq -c | wc -l'   (5 processes)
  true-x100   sh -c 'loop: /bin/true' 100 times              (101 processes)
  holds       testapps/exec_probe hold-exit 0: a short process that holds a
              16 MiB block, so its final snapshot is written
With --write the table replaces the bench:short section of docs/PERFORMANCE.md.
"""
import argparse
import datetime
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBDIR = "/usr/lib/x86_64-linux-gnu"
BEGIN = "<!-- bench:short:begin -->"
END = "<!-- bench:short:end -->"


def workloads(build):
    return {
        "true": ["/bin/true"],
        "ls": ["ls", "-l", "/usr/lib"],
        "pipeline": ["sh", "-c", "ls /usr/bin | sort | uniq -c | wc -l"],
        "true-x100": ["sh", "-c", "i=0; while [ $i -lt 100 ]; do /bin/true; i=$((i+1)); done"],
        "holds": [os.path.join(build, "testapps", "exec_probe"), "hold-exit", "0"],
    }


def configs(build, baseline):
    c = {
        "glibc": None,
        "mimalloc": LIBDIR + "/libmimalloc.so.2",
        "leakwatch": os.path.join(build, "preload", "libleakwatch.so"),
    }
    if baseline:
        c["baseline"] = os.path.abspath(baseline)
    return c


def run_once(argv, preload, tmp):
    cwd = tempfile.mkdtemp(dir=tmp)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LEAKWATCH_") and k != "LD_PRELOAD"}
    if preload:
        env["LD_PRELOAD"] = preload
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if p.returncode != 0:
        sys.exit("bench: %s exited %d: %s" % (argv, p.returncode, p.stderr[-500:]))
    left = sum(1 for n in os.listdir(cwd) if n.startswith("leakwatch."))
    shutil.rmtree(cwd, ignore_errors=True)
    return wall, cpu, left


def quartiles(xs):
    xs = sorted(xs)
    q = statistics.quantiles(xs, n=4) if len(xs) >= 2 else [xs[0]] * 3
    return xs[0], q[0], q[1], q[2], xs[-1]


def table(results, wnames, cnames, index, what):
    lines = ["| %s | glibc ms (median) | " % what +
             " | ".join(c for c in cnames if c != "glibc") + " |",
             "|---|---|" + "---|" * (len(cnames) - 1)]
    for w in wnames:
        base = [r[index] for r in results[(w, "glibc")]]
        row = ["%s" % w, "%.2f" % (statistics.median(base) * 1e3)]
        for c in cnames:
            if c == "glibc":
                continue
            diffs = [(r[index] - b) * 1e3 for r, b in zip(results[(w, c)], base)]
            lo, q1, med, q3, hi = quartiles(diffs)
            cell = "%+.2f [%+.2f, %+.2f] (%+.1f..%+.1f)" % (med, q1, q3, lo, hi)
            if index == 0:
                cell += ", left %.1f" % (sum(r[2] for r in results[(w, c)]) / len(results[(w, c)]))
            row.append(cell)
        lines.append("| " + " | ".join(row) + " |")
    return lines


def render(results, wnames, cnames, args):
    lines = ["Extra time over glibc in the same round, ms: median [IQR] (min..max) over "
             "%d interleaved rounds; left = leakwatch.* directories a run left behind. "
             "Wall time first, then CPU time (user + system of the whole process tree), "
             "which a busy host disturbs less." % args.rounds, ""]
    lines += table(results, wnames, cnames, 0, "wall")
    lines.append("")
    lines += table(results, wnames, cnames, 1, "cpu")
    lines += ["", "Host: %s, %d CPUs, %s. Command: `python3 bench/short.py --build build "
              "--rounds %d%s`." % (platform.platform(), os.cpu_count() or 0,
                                  datetime.date.today().isoformat(), args.rounds,
                                  " --baseline OLD.so" if args.baseline else "")]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=41)
    ap.add_argument("--baseline", help="another libleakwatch.so to compare with")
    ap.add_argument("--workloads", default="true,ls,pipeline,true-x100,holds")
    ap.add_argument("--write", action="store_true", help="update docs/PERFORMANCE.md")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    cfgs = configs(build, args.baseline)
    wls = workloads(build)
    cnames = list(cfgs)
    wnames = [w for w in args.workloads.split(",") if w]
    for w in wnames:
        if w not in wls:
            sys.exit("bench: unknown workload '%s'" % w)
    tmp = tempfile.mkdtemp(prefix="lwshort.")
    results = {(w, c): [] for w in wnames for c in cnames}
    try:
        for r in range(args.rounds):
            for w in wnames:
                order = cnames[r % len(cnames):] + cnames[:r % len(cnames)]
                for c in order:
                    results[(w, c)].append(run_once(wls[w], cfgs[c], tmp))
            print("round %d/%d" % (r + 1, args.rounds), file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    table = render(results, wnames, cnames, args)
    print(table)
    if args.write:
        path = os.path.join(ROOT, "docs", "PERFORMANCE.md")
        text = open(path).read()
        if BEGIN not in text or END not in text:
            sys.exit("bench: %s has no %s ... %s section" % (path, BEGIN, END))
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        with open(path, "w") as f:
            f.write(head + BEGIN + "\n" + table + "\n" + END + tail)


if __name__ == "__main__":
    main()
