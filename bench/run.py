#!/usr/bin/env python3
"""Overhead benchmarks: leakwatch side by side with its peers.

Three modes, each writing its own table into docs/PERFORMANCE.md (between
the bench:runtime, bench:sample and bench:callgrind markers) with --write:

  runtime (default)  real programs under every allocator configuration,
                     interleaved (run r of every configuration before run
                     r+1 of any); per configuration the median and range of
                     wall and CPU time and peak RSS, and the ratio to plain
                     mimalloc taken within each run (median of the per-run
                     ratios, and best run over best run).
  --micro            bench/sample_cost: CPU ns per malloc+free pair with and
                     without a sample, at 20 and 60 frames; the difference
                     is the cost of one sample.
  --callgrind        the same program under valgrind --tool=callgrind:
                     instructions per pair (deterministic), the shim's own
                     part counted from its source files.

    python3 bench/run.py --build build [--repeats 7] [--write]
    python3 bench/run.py --build build --micro [--repeats 9] [--write]
    python3 bench/run.py --build build --callgrind [--write]

Runtime configurations:
  glibc        no preload
  mimalloc     LD_PRELOAD of Debian's libmimalloc.so.2
  leakwatch    LD_PRELOAD=libleakwatch.so at the default rate (524288)
  leakwatch-r1 LD_PRELOAD=libleakwatch.so with LEAKWATCH_RATE=1
  jemalloc     libjemalloc.so.2 with MALLOC_CONF=prof:true,lg_prof_sample:19
  tcmalloc     libtcmalloc.so.4 with TCMALLOC_SAMPLE_PARAMETER=524288
  heaptrack    Debian's heaptrack wrapper (records every allocation)
--shim NAME=PATH adds NAME and NAME-r1 with another libleakwatch.so build
(before/after comparisons).

Workloads: python3 and sqlite3 (Debian's, allocation-heavy scripts from
bench/workloads), redis (redis-server driven by redis-benchmark over
loopback with a fixed request count; its times are the server's: wall =
the benchmark's duration, CPU = the server process tree's user+sys, which
includes heaptrack's interpreter), churn-4t (bench/churn.c, 4 threads).
CPU times come from wait4() of the measured process tree.
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBDIR = "/usr/lib/x86_64-linux-gnu"
DOC = os.path.join(ROOT, "docs", "PERFORMANCE.md")
MARKERS = {
    "runtime": ("<!-- bench:runtime:begin -->", "<!-- bench:runtime:end -->"),
    "micro": ("<!-- bench:sample:begin -->", "<!-- bench:sample:end -->"),
    "callgrind": ("<!-- bench:callgrind:begin -->", "<!-- bench:callgrind:end -->"),
}
NO_SAMPLES = "1152921504606846976"   # LEAKWATCH_RATE = 2^60: the fast paths only
DEFAULT_CONFIGS = "glibc,mimalloc,leakwatch,leakwatch-r1,jemalloc,tcmalloc,heaptrack"
DEFAULT_WORKLOADS = "python3,sqlite3,redis,churn-4t"


def shim_configs(name, shim):
    return {
        name: {"env": {"LD_PRELOAD": shim}, "wrap": [], "lwdir": True},
        name + "-r1": {"env": {"LD_PRELOAD": shim, "LEAKWATCH_RATE": "1"}, "wrap": [],
                       "lwdir": True},
    }


def configs(build, extra):
    cfg = {
        "glibc": {"env": {}, "wrap": []},
        "mimalloc": {"env": {"LD_PRELOAD": LIBDIR + "/libmimalloc.so.2"}, "wrap": []},
    }
    cfg.update(shim_configs("leakwatch", os.path.join(build, "preload", "libleakwatch.so")))
    cfg.update({
        "jemalloc": {"env": {"LD_PRELOAD": LIBDIR + "/libjemalloc.so.2",
                             "MALLOC_CONF": "prof:true,lg_prof_sample:19,prof_prefix:{tmp}/jeprof"},
                     "wrap": []},
        "tcmalloc": {"env": {"LD_PRELOAD": LIBDIR + "/libtcmalloc.so.4",
                             "TCMALLOC_SAMPLE_PARAMETER": "524288"}, "wrap": []},
        "heaptrack": {"env": {}, "wrap": ["heaptrack", "-o", "{tmp}/heaptrack"]},
    })
    for spec in extra:
        name, _, path = spec.partition("=")
        if not name or not path:
            sys.exit("bench: --shim wants NAME=PATH, not '%s'" % spec)
        cfg.update(shim_configs(name, os.path.abspath(path)))
    return cfg


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
        "redis": {"server": True, "requests": max(1000, int(40000 * scale))},
        "churn-4t": {"argv": [churn, "4", str(int(5000000 * scale)), "4096"], "env": {},
                     "stdin": None},
    }


def clean_env():
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return env


def wait_tree(proc):
    """wait4() for proc: (exit code, CPU seconds of the process and the
    children it reaped, peak RSS in bytes of the largest of them)."""
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024


def measure(argv, env, stdin_path, rundir):
    out_path = os.path.join(rundir, "stdout")
    err_path = os.path.join(rundir, "stderr")
    with open(stdin_path or os.devnull) as fin, open(out_path, "wb") as fout, \
            open(err_path, "wb") as ferr:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, env=env, stdin=fin, stdout=fout, stderr=ferr)
        rc, cpu, rss = wait_tree(p)
        wall = time.perf_counter() - t0
    if rc != 0:
        with open(err_path, errors="replace") as f:
            raise RuntimeError("%s exited %d: %s" % (argv, rc, f.read()[-800:]))
    with open(out_path, "rb") as f:
        return wall, cpu, rss, f.read()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def redis_cli(port, *args, timeout=10):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(args), env=clean_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=timeout)


def measure_redis(wrap, env, requests, rundir):
    """redis-server under the configuration, redis-benchmark (not under it)
    with a fixed request count: SET/GET on 100k random keys with 64-byte
    values, lists, sets and hashes, 20 clients, pipelines of 16."""
    port = free_port()
    err_path = os.path.join(rundir, "stderr")
    argv = wrap + ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no",
                   "--loglevel", "warning", "--dir", rundir]
    with open(err_path, "wb") as ferr:
        server = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=ferr)
    try:
        deadline = time.time() + 60
        while redis_cli(port, "ping").stdout.strip() != b"PONG":
            if server.poll() is not None or time.time() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        t0 = time.perf_counter()
        b = subprocess.run(["redis-benchmark", "-p", str(port), "-n", str(requests), "-c", "20",
                            "-P", "16", "-r", "100000", "-d", "64", "-q", "--csv",
                            "-t", "set,get,lpush,lpop,sadd,hset,lrange_100"],
                           env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wall = time.perf_counter() - t0
        if b.returncode != 0:
            raise RuntimeError("redis-benchmark exited %d: %s" % (b.returncode, b.stderr[-400:]))
        keys = redis_cli(port, "dbsize").stdout.strip()
        if not keys.isdigit() or int(keys) == 0:
            raise RuntimeError("redis-server holds no keys after the benchmark: %r" % keys)
    finally:
        redis_cli(port, "shutdown", "nosave")
    rc, cpu, rss = wait_tree(server)
    if rc != 0:
        with open(err_path, errors="replace") as f:
            raise RuntimeError("redis-server exited %d: %s" % (rc, f.read()[-800:]))
    return wall, cpu, rss, None   # random keys: no output to compare


def run_runtime(args, build, tmp):
    cfgs = configs(build, args.shim)
    wls = workloads(build, args.scale, tmp)
    cnames = [c for c in args.configs.split(",") if c] + \
        [n for s in args.shim for n in (s.partition("=")[0], s.partition("=")[0] + "-r1")]
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
                env = clean_env()
                env.update(wl.get("env", {}))
                for k, v in cfg["env"].items():
                    env[k] = v.replace("{tmp}", rundir)
                if cfg.get("lwdir"):
                    env["LEAKWATCH_DIR"] = os.path.join(rundir, "lw")
                wrap = [a.replace("{tmp}", rundir) for a in cfg["wrap"]]
                if wl.get("server"):
                    wall, cpu, rss, out = measure_redis(wrap, env, wl["requests"], rundir)
                else:
                    wall, cpu, rss, out = measure(wrap + wl["argv"], env, wl["stdin"], rundir)
                if c != "heaptrack" and out is not None:   # heaptrack adds a banner
                    ref = reference_out.setdefault(w, out)
                    if out != ref:
                        sys.exit("bench: %s under %s changed the program's output" % (w, c))
                results[(w, c)].append((wall, cpu, rss))
                shutil.rmtree(rundir, ignore_errors=True)
                print("run %d/%d %-9s %-14s %7.3f s wall %7.3f s cpu %7.1f MiB" %
                      (r + 1, args.repeats, w, c, wall, cpu, rss / 2**20), file=sys.stderr,
                      flush=True)
    return render_runtime(results, wnames, cnames, args)


def machine_line(args, what):
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg()
    return ("Measured %s on %s (%d cores, %s), %s; load average %.1f / %.1f / %.1f "
            "(1/5/15 min) when the run ended." %
            (datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), cpu,
             os.cpu_count(), platform.release(), what, load[0], load[1], load[2]))


def command_line(args):
    parts = ["python3 bench/run.py --build build"]
    if args.mode != "runtime":
        parts.append("--" + args.mode)
    parts.append("--repeats %d" % args.repeats)
    if args.mode == "runtime" and args.scale != 1.0:
        parts.append("--scale %g" % args.scale)
    if args.mode == "runtime" and args.configs != DEFAULT_CONFIGS:
        parts.append("--configs " + args.configs)
    if args.mode == "runtime" and args.workloads != DEFAULT_WORKLOADS:
        parts.append("--workloads " + args.workloads)
    for spec in args.shim:
        parts.append("--shim " + spec)
    if args.write:
        parts.append("--write")
    return "Command: `%s`" % " ".join(parts)


def ratios(results, w, c, ref, k):
    """Per-run ratios of metric k against ref (same run), and best/best."""
    per = [a[k] / b[k] for a, b in zip(results[(w, c)], results[(w, ref)])]
    best = min(a[k] for a in results[(w, c)]) / min(b[k] for b in results[(w, ref)])
    return per, best


def fmt_range(xs, f="%.3f"):
    return (f + " (" + f + "–" + f + ")") % (statistics.median(xs), min(xs), max(xs))


def render_runtime(results, wnames, cnames, args):
    lines = [machine_line(args, "%d interleaved runs, scale %.2f" % (args.repeats, args.scale)),
             "", command_line(args), "",
             "Times: median (min–max) over the runs. Ratios to mimalloc: median of the "
             "per-run ratios, then best run over best run.", "",
             "| workload | configuration | wall s | wall × mimalloc | CPU s | CPU × mimalloc "
             "| peak RSS MiB | RSS vs mimalloc |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    have_mi = "mimalloc" in cnames
    for w in wnames:
        rss_mi = statistics.median(x[2] for x in results[(w, "mimalloc")]) if have_mi else 0
        for c in cnames:
            rs = results[(w, c)]
            wall = fmt_range([x[0] for x in rs])
            cpu = fmt_range([x[1] for x in rs])
            rss = statistics.median(x[2] for x in rs)
            if have_mi:
                pw, bw = ratios(results, w, c, "mimalloc", 0)
                pc, bc = ratios(results, w, c, "mimalloc", 1)
                rw = "%.3f / %.3f" % (statistics.median(pw), bw)
                rc = "%.3f / %.3f" % (statistics.median(pc), bc)
                rd = "%+.1f MiB" % ((rss - rss_mi) / 2**20)
            else:
                rw = rc = rd = "-"
            lines.append("| %s | %s | %s | %s | %s | %s | %.1f | %s |" %
                         (w, c, wall, rw, cpu, rc, rss / 2**20, rd))
    lines += targets_table(results, wnames, cnames)
    return "\n".join(lines) + "\n"


def targets_table(results, wnames, cnames):
    """The issue's targets, computed from the same runs."""
    need = {"mimalloc", "leakwatch", "leakwatch-r1", "heaptrack"}
    if not need <= set(cnames):
        return []
    out = ["", "Against the targets (same runs; wall time, then CPU time; median of "
           "per-run ratios / best over best):", "",
           "| workload | default rate × mimalloc | RATE=1 overhead ÷ heaptrack's overhead "
           "| peak RSS RATE=1 / heaptrack |",
           "| --- | ---: | ---: | ---: |"]
    for w in wnames:
        cells = []
        for k in (0, 1):
            p, b = ratios(results, w, "leakwatch", "mimalloc", k)
            cells.append("%.3f / %.3f" % (statistics.median(p), b))
        d = " ; ".join(cells)
        shares = []
        for k in (0, 1):
            p1, b1 = ratios(results, w, "leakwatch-r1", "mimalloc", k)
            ph, bh = ratios(results, w, "heaptrack", "mimalloc", k)
            per = [(a - 1) / (h - 1) if h > 1 else float("nan") for a, h in zip(p1, ph)]
            shares.append("%.2f / %.2f" % (statistics.median(per),
                                           (b1 - 1) / (bh - 1) if bh > 1 else float("nan")))
        rss1 = statistics.median(x[2] for x in results[(w, "leakwatch-r1")])
        rssh = statistics.median(x[2] for x in results[(w, "heaptrack")])
        out.append("| %s | %s | %s | %.1f / %.1f MiB |" %
                   (w, d, " ; ".join(shares), rss1 / 2**20, rssh / 2**20))
    return out


# ---- micro: bench/sample_cost ------------------------------------------------
MICRO_DEPTHS = (20, 60)


def extra_shims(args):
    return [(s.partition("=")[0], os.path.abspath(s.partition("=")[2])) for s in args.shim]


def micro_configs(build, args):
    shim = os.path.join(build, "preload", "libleakwatch.so")
    lw = [("leakwatch", shim)] + extra_shims(args)
    return [
        # name, env, pairs, sampled
        ("mimalloc", {"LD_PRELOAD": LIBDIR + "/libmimalloc.so.2"}, 5000000, False),
    ] + [c for name, path in lw for c in (
        (name, {"LD_PRELOAD": path}, 5000000, False),
        (name + "-r1", {"LD_PRELOAD": path, "LEAKWATCH_RATE": "1"}, 300000, True))] + [
        # jemalloc samples every allocation with lg_prof_sample:0. tcmalloc has
        # no such setting that measures a sample: with TCMALLOC_SAMPLE_PARAMETER=1
        # it samples nothing for the first ~15 MB, then slows down with the
        # number of live samples (9 ns, 24 us, 45 us per pair after 150k,
        # 300k, 600k pairs), so it is left out.
        ("jemalloc-all", {"LD_PRELOAD": LIBDIR + "/libjemalloc.so.2",
                          "MALLOC_CONF": "prof:true,lg_prof_sample:0,prof_prefix:{tmp}/jeprof"},
         100000, True),
    ]


def run_micro(args, build, tmp):
    prog = os.path.join(build, "bench", "sample_cost")
    cfgs = micro_configs(build, args)
    res = {(d, c[0]): [] for d in MICRO_DEPTHS for c in cfgs}
    for r in range(args.repeats):
        for d in MICRO_DEPTHS:
            for name, cenv, pairs, _ in cfgs:
                rundir = tempfile.mkdtemp(dir=tmp)
                env = clean_env()
                for k, v in cenv.items():
                    env[k] = v.replace("{tmp}", rundir)
                env["LEAKWATCH_DIR"] = os.path.join(rundir, "lw")
                _, _, _, out = measure([prog, str(d), str(pairs)], env, None, rundir)
                m = re.search(rb"ns_per_pair ([0-9.]+)", out)
                if not m:
                    sys.exit("bench: sample_cost printed no figure: %r" % out)
                res[(d, name)].append(float(m.group(1)))
                shutil.rmtree(rundir, ignore_errors=True)
                print("run %d/%d depth %d %-13s %8.1f ns/pair" %
                      (r + 1, args.repeats, d, name, res[(d, name)][-1]), file=sys.stderr,
                      flush=True)
    lines = [machine_line(args, "%d interleaved runs" % args.repeats), "", command_line(args), "",
             "CPU ns per malloc+free pair of 32..144-byte blocks (ring of 4096 live blocks, "
             "one call site), median (min–max). *Per sample* = the sampled pair minus the "
             "unsampled pair of the same run (leakwatch: RATE=1 minus the default rate; "
             "jemalloc, which samples every allocation here (prof:true,lg_prof_sample:0): "
             "minus plain mimalloc).",
             "", "| stack depth | configuration | ns per pair | per sample, ns |",
             "| ---: | --- | ---: | ---: |"]
    for d in MICRO_DEPTHS:
        for name, _, _, sampled in cfgs:
            xs = res[(d, name)]
            extra = "-"
            if sampled:
                base = name[:-3] if name.endswith("-r1") else "mimalloc"
                diff = [a - b for a, b in zip(xs, res[(d, base)])]
                extra = fmt_range(diff, "%.0f")
            elif name != "mimalloc":
                diff = [a - b for a, b in zip(xs, res[(d, "mimalloc")])]
                extra = "shim per unsampled pair: " + fmt_range(diff, "%.1f")
            lines.append("| %d | %s | %s | %s |" % (d, name, fmt_range(xs, "%.1f"), extra))
    return "\n".join(lines) + "\n"


# ---- callgrind: instructions per pair -----------------------------------------
def callgrind_ir(prog, env, depth, pairs, tmp):
    """(total Ir, Ir of code from the shim's sources preload/ and dump/)."""
    out = os.path.join(tmp, "cg.out")
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, prog,
                        str(depth), str(pairs)], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit("bench: callgrind failed: %s" % p.stderr[-400:])
    a = subprocess.run(["callgrind_annotate", "--threshold=100", "--inclusive=no", "--auto=no", out],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
    total = shim = 0
    for line in a.stdout.decode(errors="replace").splitlines():
        m = re.match(r"\s*([0-9,]+) (?:\([ 0-9.]+%\) )?\s*(\S.*)$", line)
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        what = m.group(2)
        if "PROGRAM TOTALS" in what:
            total = ir
        elif re.search(r"/(preload|dump)/[^/:]+\.[ch]:", what):
            shim += ir
    return total, shim


def run_callgrind(args, build, tmp):
    if shutil.which("valgrind") is None:
        sys.exit("bench: --callgrind needs valgrind")
    prog = os.path.join(build, "bench", "sample_cost")
    shim = os.path.join(build, "preload", "libleakwatch.so")
    rows = [("mimalloc", {"LD_PRELOAD": LIBDIR + "/libmimalloc.so.2"}, 20, (100000, 300000))]
    for name, path in [("leakwatch", shim)] + extra_shims(args):
        rows += [
            (name + ", no sample (rate 2^60)", {"LD_PRELOAD": path, "LEAKWATCH_RATE": NO_SAMPLES},
             20, (100000, 300000)),
            (name + " RATE=1", {"LD_PRELOAD": path, "LEAKWATCH_RATE": "1"}, 20, (20000, 60000)),
            (name + " RATE=1", {"LD_PRELOAD": path, "LEAKWATCH_RATE": "1"}, 60, (20000, 60000)),
        ]
    lines = [machine_line(args, "valgrind --tool=callgrind (instruction counts do not depend "
                          "on load)"), "", command_line(args), "",
             "Instructions per malloc+free pair of bench/sample_cost, from two runs of "
             "different length (the difference, so start-up cancels). *Shim* counts "
             "instructions of code compiled from preload/ and dump/ (the libc and mimalloc "
             "functions the shim calls are in the total only).", "",
             "| configuration | stack depth | instructions per pair | of which the shim's |",
             "| --- | ---: | ---: | ---: |"]
    for name, cenv, depth, (n1, n2) in rows:
        env = clean_env()
        env.update(cenv)
        env["LEAKWATCH_DIR"] = os.path.join(tmp, "lw")
        t1, s1 = callgrind_ir(prog, env, depth, n1, tmp)
        t2, s2 = callgrind_ir(prog, env, depth, n2, tmp)
        per, sper = (t2 - t1) / (n2 - n1), (s2 - s1) / (n2 - n1)
        print("%-34s depth %d: %.1f Ir/pair, shim %.1f" % (name, depth, per, sper),
              file=sys.stderr, flush=True)
        lines.append("| %s | %d | %.1f | %.1f |" % (name, depth, per, sper))
    return "\n".join(lines) + "\n"


def write_doc(mode, table):
    begin, end = MARKERS[mode]
    with open(DOC) as f:
        text = f.read()
    if begin not in text or end not in text:
        sys.exit("bench: %s has no %s ... %s markers" % (DOC, begin, end))
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(DOC, "w") as f:
        f.write(head + begin + "\n" + table + end + tail)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--repeats", type=int, default=None,
                    help="interleaved runs (default 7; --micro 9; --callgrind 1)")
    ap.add_argument("--scale", type=float, default=1.0, help="workload size factor")
    ap.add_argument("--configs", default=DEFAULT_CONFIGS)
    ap.add_argument("--workloads", default=DEFAULT_WORKLOADS)
    ap.add_argument("--shim", action="append", default=[], metavar="NAME=PATH",
                    help="also run this libleakwatch.so as NAME and NAME-r1")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--micro", dest="mode", action="store_const", const="micro")
    mode.add_argument("--callgrind", dest="mode", action="store_const", const="callgrind")
    ap.add_argument("--write", action="store_true", help="update docs/PERFORMANCE.md")
    args = ap.parse_args()
    args.mode = args.mode or "runtime"
    if args.repeats is None:
        args.repeats = {"runtime": 7, "micro": 9, "callgrind": 1}[args.mode]
    if args.repeats < 1:
        sys.exit("bench: --repeats must be at least 1")

    build = os.path.abspath(args.build)
    tmp = tempfile.mkdtemp(prefix="lwbench.")
    try:
        run = {"runtime": run_runtime, "micro": run_micro, "callgrind": run_callgrind}[args.mode]
        table = run(args, build, tmp)
        print(table)
        if args.write:
            write_doc(args.mode, table)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
