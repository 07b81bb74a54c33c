#!/usr/bin/env python3
"""accuracy_check.py — how accurate the sampled in-use estimates are (suite
`analyzer`; docs/GROWTH.md, Accuracy).

    accuracy_check.py LEAKWATCH ACCURACY_SITES [--runs N] [--jobs J] [--table]
                      [--smoke]

Runs testapps/accuracy_sites (nine sites with known in-use bytes, from 0.3
to 400 times the rate, small, mixed and large blocks) under the shim at
LEAKWATCH_RATE = 1, 4096, 65536 and 524288, N runs per rate (the sampling
differs from run to run), and compares `leakwatch growth --json`'s
`inuse_bytes` and `inuse_bytes_ci` (95%) with the truth the program prints:

  * rate 1: every estimate equals the truth, and so do both ends of its
    interval;
  * every other rate: the truth lies inside the stated interval for at
    least 90% of (site, run) pairs over all rates, and 85% at each rate
    (the intervals are 95% ones; with 16 runs the margins are 4.8 and 5.6
    binomial standard deviations);
  * sites whose stated interval is within +-10% of the estimate (600x the
    rate in small blocks, or blocks always sampled): the estimate is within
    10% of the truth in at least 95% of runs;
  * the share within 10% of sites holding 10x the rate is reported next to
    what Poisson sampling allows (about 30% for small blocks: 10x the rate
    is about 10 samples, a relative sd of 32%).

A site with no live sample at the last snapshot is absent from `growth`
(its series may be all zero); its estimate is 0 and its interval [0, 3.689
x rate] (Garwood's upper bound for a count of 0, small blocks).
--smoke (the sanitized build) keeps the exact checks at rate 1 and drops the
statistical ones.
"""
import concurrent.futures
import json
import math
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lwcheck  # noqa: E402
from lwcheck import expect as check, run  # noqa: E402

RATES = [1, 4096, 65536, 524288]


def run_one(app, shim, tmp, rate, seed):
    out = os.path.join(tmp, f"r{rate}-s{seed}")
    env = dict(os.environ, LEAKWATCH_DIR=out, LEAKWATCH_INTERVAL="0", LD_PRELOAD=shim,
               LEAKWATCH_RATE=str(rate))
    layout = 65536 if rate == 1 else rate
    p = run([app, "--layout", str(layout), "--seed", str(seed)], env=env, timeout=300)
    if p.returncode != 0:
        raise RuntimeError(f"rate {rate} seed {seed}: exit {p.returncode}: {p.stderr[-300:]}")
    truth, pid, last = {}, None, None
    for line in p.stdout.splitlines():
        f = dict(kv.split("=", 1) for kv in line.split()[1:])
        if line.startswith("ready "):
            pid = int(f["pid"])
        elif line.startswith("truth "):
            if f["point"] != last:
                truth, last = {}, f["point"]
            truth[f["site"]] = int(f["inuse_bytes"])
    return out, pid, truth


def poisson_within(m, frac=0.1):
    """P(|K - m| <= frac m) for K ~ Poisson(m): the share of estimates
    within frac of the truth that sampling allows."""
    lo, hi = math.ceil(m * (1 - frac)), math.floor(m * (1 + frac))
    return sum(math.exp(-m + k * math.log(m) - math.lgamma(k + 1)) for k in range(lo, hi + 1)
               if k >= 0)


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    lw, app = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    runs = int(args[args.index("--runs") + 1]) if "--runs" in args else 16
    jobs = int(args[args.index("--jobs") + 1]) if "--jobs" in args else 2
    table = "--table" in args
    smoke = "--smoke" in args
    shim = os.environ.get("LEAKWATCH_SHIM")
    if not shim or not os.path.exists(shim):
        print("LEAKWATCH_SHIM not set or missing", file=sys.stderr)
        return 1
    stats = {}   # (rate, site) -> [n, covered, within10, narrow_n, narrow_within, mult]
    with tempfile.TemporaryDirectory(prefix="lw-acc-") as tmp:
        for rate in RATES:
            n_runs = 1 if rate == 1 else runs
            with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
                results = list(ex.map(lambda s: run_one(app, shim, tmp, rate, s),
                                      range(1, n_runs + 1)))
            env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, f"cache{rate}"))
            env.pop("LD_PRELOAD", None)
            p = run([lw, "growth", "--json", "-n", "100000"] + [r[0] for r in results],
                    env=env, timeout=600)
            if not check(p.returncode == 0, f"rate {rate}: growth exit {p.returncode}: "
                         f"{p.stderr}"):
                continue
            rows = {}
            for r in json.loads(p.stdout):
                rows[(r["process"]["pid"], r["frames"][0]["function"])] = r
            for _, pid, truth in results:
                for site, want in truth.items():
                    if want == 0:
                        continue
                    r = rows.get((pid, site))
                    if r:
                        est, (lo, hi) = r["inuse_bytes"], r["inuse_bytes_ci"]
                    else:
                        est, lo, hi = 0.0, 0.0, 3.689 * rate
                    tol = 1e-9 * want + 1e-6
                    st = stats.setdefault((rate, site), [0, 0, 0, 0, 0, want / rate])
                    st[0] += 1
                    st[1] += lo - tol <= want <= hi + tol
                    st[2] += abs(est - want) <= 0.1 * want
                    if est > 0 and hi - est <= 0.1 * est and est - lo <= 0.1 * est:
                        st[3] += 1
                        st[4] += abs(est - want) <= 0.1 * want
                    if rate == 1:
                        check(est == want and lo == want and hi == want,
                              f"rate 1: {site} estimate {est} [{lo}, {hi}] != truth {want}")
    if table:
        print("| rate | site | in use / rate | runs | truth in 95% interval | within 10% | "
              "Poisson allows |\n|---:|---|---:|---:|---:|---:|---:|")
    tot = [0, 0, 0, 0]
    for rate in RATES[1:]:
        n = cov = nn = nw = 0
        for (r, site), st in sorted(stats.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            if r != rate:
                continue
            n += st[0]
            cov += st[1]
            nn += st[3]
            nw += st[4]
            # the small-block sites: blocks of R/512 bytes, each sampled
            # with p = 1 - e^(-1/512); their expected sample count
            small = max(16, rate // 512)
            expect = st[5] * rate / small * -math.expm1(-small / rate)
            allows = poisson_within(expect) if site in ("acc_0", "acc_1", "acc_2", "acc_3",
                                                        "acc_4", "acc_5") else float("nan")
            line = (f"{rate} | {site} | {st[5]:.3g} | {st[0]} | {100 * st[1] / st[0]:.0f}% | "
                    f"{100 * st[2] / st[0]:.0f}% | "
                    + ("-" if math.isnan(allows) else f"{100 * allows:.0f}%"))
            print(f"| {line} |" if table else line.replace(" | ", "  "))
        tot[0] += n
        tot[1] += cov
        tot[2] += nn
        tot[3] += nw
        if not smoke:
            check(n and cov >= 0.85 * n,
                  f"rate {rate}: truth inside the interval for {cov} of {n}")
        print(f"rate {rate}: truth in interval {cov}/{n} ({100 * cov / max(n, 1):.1f}%); "
              f"intervals within 10%: {nw}/{nn} estimates within 10%")
    if not smoke:
        check(tot[1] >= 0.9 * tot[0],
              f"all rates: truth inside the interval for {tot[1]} of {tot[0]}")
        check(tot[2] and tot[3] >= 0.95 * tot[2],
              f"all rates: narrow intervals (<= 10%): within 10% in {tot[3]} of {tot[2]}")
    return lwcheck.finish("all checks passed")


if __name__ == "__main__":
    sys.exit(main())
