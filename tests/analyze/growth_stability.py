#!/usr/bin/env python3
"""growth_stability.py — the growth stability suites that need files or
real processes (suite `analyzer`; docs/GROWTH.md, Validation).

    growth_stability.py files LEAKWATCH GROWTH_STABILITY [--seeds K]
        Simulated runs (tests/analyze/growth_sim.c) written as .lwd files:
        `leakwatch growth --json` must give every site the verdict the
        in-memory judgement (lw_growth_rank on the same counters) gave it.
        This ties the simulated suite (growth_stability) to the real store,
        model and command.

    growth_stability.py real LEAKWATCH GROWTH_SCENARIOS [--seeds N]
            [--duration S] [--interval S] [--jobs J] [--table] [--no-check]
        The same scenarios as real programs (testapps/growth_scenarios.c)
        under the shim at the default rate, N runs each (seeds 1..N), judged
        by `leakwatch growth --json`. Prints the verdict table and checks:
        no bounded site reads `leak`; at most 1% of bounded sites (and at
        most one in a CI-sized run) read `growing`; every leak with >= 30
        expected samples over its observed window reads `leak` or `growing`
        (at most 1% missed, none in a CI-sized run). CI runs one seed of
        each scenario for 6 s; the long version is run by hand (the table in
        docs/GROWTH.md).

The shim is LEAKWATCH_SHIM from the test environment.
"""
import concurrent.futures
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lwcheck  # noqa: E402
from lwcheck import expect as check, run  # noqa: E402

SCENARIOS = ["leak", "slow_leak", "rare_big_leak", "plateau", "warmup", "sawtooth",
             "bounded_churn", "restart"]


def growth_json(lw, paths, cache):
    env = dict(os.environ, XDG_CACHE_HOME=cache)
    env.pop("LD_PRELOAD", None)
    p = run([lw, "growth", "--json", "-n", "100000"] + paths, env=env, timeout=300)
    if p.returncode != 0:
        raise RuntimeError(f"leakwatch growth {paths}: exit {p.returncode}: {p.stderr}")
    return json.loads(p.stdout)


# ---- simulated runs as files ----------------------------------------------------

def files_mode(lw, gen, seeds):
    with tempfile.TemporaryDirectory(prefix="lw-gstab-") as tmp:
        n = 0
        for sc in SCENARIOS:
            for seed in range(seeds):
                out = os.path.join(tmp, f"{sc}-{seed}")
                p = run([gen, "--write", out, "--scenario", sc, "--seed", str(seed)],
                        timeout=300)
                if not check(p.returncode == 0, f"{sc} seed {seed}: writer exit "
                             f"{p.returncode}: {p.stderr}"):
                    continue
                want = {}
                for line in p.stdout.splitlines():
                    pid, fn, verdict = line.split()
                    want[(int(pid), fn)] = verdict
                dirs = sorted(os.path.join(out, d) for d in os.listdir(out))
                rows = growth_json(lw, dirs, os.path.join(tmp, "cache"))
                got = {(r["process"]["pid"], r["frames"][0]["function"]): r["verdict"]
                       for r in rows}
                check(got == want, f"{sc} seed {seed}: files {sorted(got.items())} != "
                      f"in memory {sorted(want.items())}")
                n += len(want)
        print(f"files: {n} site verdicts from .lwd files equal the in-memory ones"
              if not lwcheck.FAILED else "files: mismatches")


# ---- real programs under the shim -----------------------------------------------

def split_of(seed):
    """Where the restart scenario's window is split (0.35..0.65), from the seed."""
    return 0.35 + 0.3 * ((seed * 0.6180339887) % 1.0)


def run_app(app, shim, tmp, sc, seed, duration, interval):
    """Runs one scenario (two processes for `restart`); returns (dirs, expects)
    where expects maps (part, function) to (role, samples, duration)."""
    parts = [(1, duration)]
    if sc == "restart":
        s = split_of(seed)
        parts = [(1, duration * s), (2, duration * (1 - s))]
    dirs, expects, snaps = [], {}, []
    for part, dur in parts:
        out = os.path.join(tmp, f"{sc}-{seed}-p{part}")
        env = dict(os.environ, LEAKWATCH_DIR=out, LEAKWATCH_INTERVAL="0", LD_PRELOAD=shim)
        env.pop("LEAKWATCH_RATE", None)
        args = [app, "--scenario", sc, "--duration", f"{dur:.3f}", "--interval", str(interval),
                "--seed", str(seed)]
        if sc == "restart":
            args += ["--part", str(part), "--split", f"{split_of(seed):.4f}"]
        if sc == "slow_leak":
            args += ["--samples", "40"]
        p = run(args, env=env, timeout=dur * 4 + 60)
        if p.returncode != 0:
            raise RuntimeError(f"{sc} seed {seed}: exit {p.returncode}: {p.stderr[-300:]}")
        for line in p.stdout.splitlines():
            f = dict(kv.split("=", 1) for kv in line.split()[1:])
            if line.startswith("expect "):
                expects[(part, f["site"])] = (f["role"], float(f["samples"]), dur)
            elif line.startswith("done "):
                snaps.append((int(f["snapshots"]), dur / interval))
        dirs.append(out)
    return dirs, expects, snaps


def judge_run(lw, app, shim, tmp, sc, seed, duration, interval):
    dirs, expects, snaps = run_app(app, shim, tmp, sc, seed, duration, interval)
    rows = growth_json(lw, dirs, os.path.join(tmp, f"cache-{sc}-{seed}"))
    # processes in start order are parts 1, 2
    pids = sorted({r["process"]["pid"] for r in rows})
    part_of = {pid: i + 1 for i, pid in enumerate(pids)}
    got = {}
    for r in rows:
        key = (part_of[r["process"]["pid"]], r["frames"][0]["function"])
        got[key] = (r["verdict"], r["process"]["span_s"])
    results = []
    for (part, fn), (role, samples, dur) in expects.items():
        verdict, span = got.get((part, fn), ("stable", dur))
        results.append((sc, fn, role, verdict, samples * span / dur))
    degraded = any(n < 0.6 * want for n, want in snaps)
    return results, degraded


def real_mode(lw, app, seeds, duration, interval, jobs, table, do_check):
    shim = os.environ.get("LEAKWATCH_SHIM")
    if not shim or not os.path.exists(shim):
        print("LEAKWATCH_SHIM not set or missing", file=sys.stderr)
        return 1
    tally = {}
    degraded_runs = 0
    with tempfile.TemporaryDirectory(prefix="lw-greal-") as tmp:
        work = [(sc, seed) for seed in range(1, seeds + 1) for sc in SCENARIOS]
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
            futs = {ex.submit(judge_run, lw, app, shim, tmp, sc, seed, duration, interval):
                    (sc, seed) for sc, seed in work}
            for fut in concurrent.futures.as_completed(futs):
                results, degraded = fut.result()
                degraded_runs += degraded
                for sc, fn, role, verdict, e in results:
                    t = tally.setdefault((sc, fn), {"role": role, "runs": 0, "v": {},
                                                    "req": 0, "found": 0, "leak": 0,
                                                    "emin": 1e18, "emax": 0})
                    t["runs"] += 1
                    t["v"][verdict] = t["v"].get(verdict, 0) + 1
                    if role == "leak":
                        t["emin"] = min(t["emin"], e)
                        t["emax"] = max(t["emax"], e)
                        if e >= 30:
                            t["req"] += 1
                            t["found"] += verdict in ("leak", "growing")
                            t["leak"] += verdict == "leak"
    order = {sc: i for i, sc in enumerate(SCENARIOS)}
    keys = sorted(tally, key=lambda k: (order[k[0]], tally[k]["role"] != "leak", k[1]))
    if table:
        print("| scenario | site | kind | runs | leak | growing | plateau | stable | "
              "false alarms / found |\n|---|---|---|---:|---:|---:|---:|---:|---|")
    bounded_growing = bounded_sites = 0
    leak_req = leak_missed = 0
    for k in keys:
        t = tally[k]
        v = [t["v"].get(x, 0) for x in ("leak", "growing", "plateau", "stable")]
        if t["role"] == "leak" and t["req"]:
            note = (f"found {100 * t['found'] / t['req']:.1f}% (leak "
                    f"{100 * t['leak'] / t['req']:.1f}%) of {t['req']} with >= 30 samples "
                    f"({t['emin']:.0f}..{t['emax']:.0f} expected)")
        elif t["role"] == "leak":
            note = (f"found {100 * (v[0] + v[1]) / t['runs']:.1f}% "
                    f"({t['emin']:.0f}..{t['emax']:.0f} samples expected)")
        else:
            note = (f"leak {100 * v[0] / t['runs']:.2f}%, "
                    f"growing {100 * v[1] / t['runs']:.2f}%")
            bounded_growing += v[1]
            bounded_sites += t["runs"]
        if table:
            print(f"| {k[0]} | {k[1]} | {t['role'] if t['role'] == 'leak' else 'bounded'} | "
                  f"{t['runs']} | {v[0]} | {v[1]} | {v[2]} | {v[3]} | {note} |")
        else:
            print(f"{k[0]:14} {k[1]:18} {t['role']:8} runs {t['runs']:4} leak {v[0]:4} "
                  f"growing {v[1]:4} plateau {v[2]:4} stable {v[3]:4}  {note}")
        if do_check and t["role"] == "bounded":
            check(v[0] == 0, f"{k[0]}/{k[1]}: {v[0]} of {t['runs']} runs read `leak`")
        if t["role"] == "leak":
            leak_req += t["req"]
            leak_missed += t["req"] - t["found"]
    print(f"\n(real programs under the shim, LEAKWATCH_RATE unset = 512 KiB; {seeds} seed(s) "
          f"per scenario, {duration:g} s runs, a snapshot every {interval:g} s +-50%; "
          f"{degraded_runs} run(s) got fewer than 60% of their snapshots)")
    if do_check:
        check(bounded_growing <= max(1, bounded_sites // 100),
              f"{bounded_growing} of {bounded_sites} bounded sites read `growing`")
        # A leak of 30-60 samples is missed in well under 1% of runs (the
        # simulated table in docs/GROWTH.md), so one run of each scenario may
        # meet that miss now and then; what this end-to-end run must catch,
        # a broken path from allocation to verdict, misses every leak.
        check(leak_missed <= max(1, leak_req // 100),
              f"missed {leak_missed} of {leak_req} leaks with >= 30 samples")
    return 0


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    mode, lw, prog = sys.argv[1:4]
    opts = {"--seeds": None, "--duration": "6", "--interval": "0.1", "--jobs": "4"}
    flags = set()
    args = sys.argv[4:]
    i = 0
    while i < len(args):
        if args[i] in opts and i + 1 < len(args):
            opts[args[i]] = args[i + 1]
            i += 2
        else:
            flags.add(args[i])
            i += 1
    if mode == "files":
        files_mode(lw, prog, int(opts["--seeds"] or 2))
    elif mode == "real":
        rc = real_mode(lw, prog, int(opts["--seeds"] or 1), float(opts["--duration"]),
                       float(opts["--interval"]), int(opts["--jobs"]), "--table" in flags,
                       "--no-check" not in flags)
        if rc:
            return rc
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return lwcheck.finish("all checks passed")


if __name__ == "__main__":
    sys.exit(main())
