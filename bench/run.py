#!/usr/bin/env python3
"""Runtime overhead benchmark: leakwatch side by side with its peers.

Runs real allocation-heavy workloads under every allocator configuration,
interleaved (run r of every configuration before run r+1 of any), and reports
the median wall time and peak RSS of each, as ratios against plain mimalloc
and glibc from the same run. Writes the table into docs/PERFORMANCE.md
between the bench:runtime markers when --write is given.

    python3 bench/run.py --build build [--repeats 5] [--write]

Configurations:
  glibc        no preload
  mimalloc     LD_PRELOAD of Debian's libmimalloc.so.2
  leakwatch    LD_PRELOAD=libleakwatch.so at the default rate (524288)
  leakwatch-r1 LD_PRELOAD=libleakwatch.so with LEAKWATCH_RATE=1
  jemalloc     libjemalloc.so.2 with MALLOC_CONF=prof:true,lg_prof_sample:19
  tcmalloc     libtcmalloc.so.4 with TCMALLOC_SAMPLE_PARAMETER=524288
  heaptrack    Debian's heaptrack wrapper (records every allocation)
"""
import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBDIR = "/usr/lib/x86_64-linux-gnu"
BEGIN = "<!-- bench:runtime:begin -->"
END = "<!-- bench:runtime:end -->"


def configs(build):
    shim = os.path.join(build, "preload", "libleakwatch.so")
    return {
        "glibc": {"env": {}, "wrap": []},
        "mimalloc": {"env": {"LD_PRELOAD": LIBDIR + "/libmimalloc.so.2"}, "wrap": []},
        "leakwatch": {"env": {"LD_PRELOAD": shim}, "wrap": [], "lwdir": True},
        "leakwatch-r1": {"env": {"LD_PRELOAD": shim, "LEAKWATCH_RATE": "1"},
                         "wrap": [], "lwdir": True},
        "jemalloc": {"env": {"LD_PRELOAD": LIBDIR + "/libjemalloc.so.2",
                             "MALLOC_CONF": "prof:true,lg_prof_sample:19,prof_prefix:{tmp}/jeprof"},
                     "wrap": []},
        "tcmalloc": {"env": {"LD_PRELOAD": LIBDIR + "/libtcmalloc.so.4",
                             "TCMALLOC_SAMPLE_PARAMETER": "524288"}, "wrap": []},
        "heaptrack": {"env": {}, "wrap": ["heaptrack", "-o", "{tmp}/heaptrack"]},
    }


def workloads(build, scale, tmp):
    sql = os.path.join(tmp, "workload.sql")
    with open(sql, "w") as f:
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench/workloads/gen_sql.py"),
                        str(int(60000 * scale))], stdout=f, check=True)
    churn = os.path.join(build, "bench", "churn")
    return {
        "python3": {"argv": ["/usr/bin/python3", os.path.join(ROOT, "bench/workloads/py_alloc.py"),
                             str(max(1, int(15 * scale)))],
                    "env": {"PYTHONMALLOC": "malloc"}, "stdin": None},
        "sqlite3": {"argv": ["sqlite3", ":memory:"], "env": {}, "stdin": sql},
        "churn-4t": {"argv": [churn, "4", str(int(5000000 * scale)), "4096"], "env": {},
                     "stdin": None},
    }


def measure(argv, env, stdin_path):
    """Runs under /usr/bin/time to get the peak RSS of the measured program."""
    wrapped = ["/usr/bin/time", "-f", "LWBENCH_MAXRSS_KB=%M"] + argv
    stdin = open(stdin_path) if stdin_path else subprocess.DEVNULL
    t0 = time.perf_counter()
    p = subprocess.run(wrapped, env=env, stdin=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    if stdin_path:
        stdin.close()
    err = p.stderr.decode(errors="replace")
    if p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (argv, p.returncode, err[-800:]))
    rss = 0
    for line in err.splitlines():
        if line.startswith("LWBENCH_MAXRSS_KB="):
            rss = int(line.split("=", 1)[1]) * 1024
    return wall, rss, p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--scale", type=float, default=1.0, help="workload size factor")
    ap.add_argument("--configs", default="glibc,mimalloc,leakwatch,leakwatch-r1,jemalloc,tcmalloc,heaptrack")
    ap.add_argument("--workloads", default="python3,sqlite3,churn-4t")
    ap.add_argument("--write", action="store_true", help="update docs/PERFORMANCE.md")
    args = ap.parse_args()

    build = os.path.abspath(args.build)
    tmp = tempfile.mkdtemp(prefix="lwbench.")
    try:
        cfgs = configs(build)
        wls = workloads(build, args.scale, tmp)
        cnames = [c for c in args.configs.split(",") if c]
        wnames = [w for w in args.workloads.split(",") if w]
        for c in cnames:
            if c not in cfgs:
                sys.exit("bench: unknown configuration '%s'" % c)
        for w in wnames:
            if w not in wls:
                sys.exit("bench: unknown workload '%s'" % w)
        results = {(w, c): [] for w in wnames for c in cnames}
        reference_out = {}
        for r in range(args.repeats):
            for w in wnames:
                for c in cnames:
                    cfg, wl = cfgs[c], wls[w]
                    rundir = tempfile.mkdtemp(dir=tmp)
                    env = dict(os.environ)
                    env.pop("LD_PRELOAD", None)
                    env.update(wl["env"])
                    for k, v in cfg["env"].items():
                        env[k] = v.replace("{tmp}", rundir)
                    if cfg.get("lwdir"):
                        env["LEAKWATCH_DIR"] = os.path.join(rundir, "lw")
                    argv = [a.replace("{tmp}", rundir) for a in cfg["wrap"]] + wl["argv"]
                    wall, rss, out = measure(argv, env, wl["stdin"])
                    if c != "heaptrack":   # heaptrack adds its own banner to stdout
                        ref = reference_out.setdefault(w, out)
                        if out != ref:
                            sys.exit("bench: %s under %s changed the program's output" % (w, c))
                    results[(w, c)].append((wall, rss))
                    shutil.rmtree(rundir, ignore_errors=True)
                    print("run %d/%d %-9s %-13s %7.3f s  %7.1f MiB" %
                          (r + 1, args.repeats, w, c, wall, rss / 2**20), file=sys.stderr, flush=True)
        table = render(results, wnames, cnames, args)
        print(table)
        if args.write:
            write_doc(table)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def render(results, wnames, cnames, args):
    lines = []
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    lines.append("Measured %s on %s (%d cores, %s), median of %d interleaved runs, scale %.2f." %
                 (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), cpu, os.cpu_count(),
                  platform.release(), args.repeats, args.scale))
    lines.append("")
    lines.append("Command: `python3 bench/run.py --build build --repeats %d --scale %g%s`" %
                 (args.repeats, args.scale, " --write" if args.write else ""))
    lines.append("")
    lines.append("| workload | configuration | wall (s) | vs mimalloc | vs glibc | peak RSS (MiB) | RSS vs mimalloc |")
    lines.append("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for w in wnames:
        med = {c: statistics.median(t for t, _ in results[(w, c)]) for c in cnames}
        rss = {c: statistics.median(m for _, m in results[(w, c)]) for c in cnames}
        for c in cnames:
            vs_mi = "%.3f" % (med[c] / med["mimalloc"]) if "mimalloc" in med else "-"
            vs_gl = "%.3f" % (med[c] / med["glibc"]) if "glibc" in med else "-"
            rss_mi = ("%+.1f MiB" % ((rss[c] - rss["mimalloc"]) / 2**20)) if "mimalloc" in rss else "-"
            lines.append("| %s | %s | %.3f | %s | %s | %.1f | %s |" %
                         (w, c, med[c], vs_mi, vs_gl, rss[c] / 2**20, rss_mi))
    return "\n".join(lines) + "\n"


def write_doc(table):
    path = os.path.join(ROOT, "docs", "PERFORMANCE.md")
    with open(path) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        sys.exit("bench: %s has no %s ... %s markers" % (path, BEGIN, END))
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(path, "w") as f:
        f.write(head + BEGIN + "\n" + table + END + tail)


if __name__ == "__main__":
    main()
