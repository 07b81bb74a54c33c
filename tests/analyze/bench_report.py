#!/usr/bin/env python3
"""bench_report.py — measures `leakwatch report` (not a test).

usage: bench_report.py BUILD_DIR [--snapshots N] [--stacks S] [--repeats R]
                       [--work DIR] [--input PATH] [--browser]

Without --input: writes N snapshots of S stacks with tests/analyze/lwgen
(default 1,000 x 5,000, about 770 MB of .lwd), loads them into a database
once, then times `leakwatch report DB` R times (default 3): wall and CPU of
the child (median, min-max), peak RSS, and the page's size. Also times the
first report straight from the directory with an empty cache (loading and
symbolizing included).
With --input PATH: the same for an existing run directory or database
(a small real run, e.g. scripts/demo.sh's demo-out/run).
--browser: opens the page in headless Chromium and reports the time until
it is drawn and the time to redraw the flame graph for another view.
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def timed(args, env=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if r.returncode != 0:
        sys.exit(f"{args[0]} failed: {r.stderr}")
    return wall, cpu


def spread(v):
    return f"{statistics.median(v):.2f} s (min {min(v):.2f}, max {max(v):.2f})"


def browser(page):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    tmp = tempfile.mkdtemp(prefix="lw-bench-browser-")
    o = Options()
    o.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
              "--disable-background-networking", "--disable-sync", "--user-data-dir=" + tmp,
              "--window-size=1360,1000"):
        o.add_argument(a)
    d = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                         options=o)
    try:
        d.set_page_load_timeout(300)
        d.get("file://" + os.path.abspath(page).replace(" ", "%20"))
        for _ in range(3000):
            if d.execute_script("return document.body.classList.contains('ready')"):
                break
            time.sleep(0.1)
        drawn = d.execute_script("return +document.body.dataset.drawnMs")
        redraw = d.execute_script("""const t = performance.now();
            document.querySelector('.tab[data-mode="alloc"]').click();
            document.querySelector('.tab[data-mode="diff"]').click();
            document.querySelector('.tab[data-mode="inuse"]').click();
            return (performance.now() - t) / 3;""")
        boxes = d.execute_script("return document.querySelectorAll('#flame-graph g.frame').length")
        print(f"browser: drawn {drawn / 1000:.2f} s after navigation; flame graph redraw "
              f"{redraw:.0f} ms ({boxes} boxes drawn)")
    finally:
        d.quit()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--snapshots", type=int, default=1000)
    ap.add_argument("--stacks", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--work")
    ap.add_argument("--input")
    ap.add_argument("--browser", action="store_true")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    lw = os.path.join(build, "analyze", "leakwatch")
    work = a.work or tempfile.mkdtemp(prefix="lw-bench-report-")
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, "cache"))
    try:
        if a.input:
            src = os.path.abspath(a.input)
            what = src
        else:
            gen = os.path.join(build, "tests", "analyze", "analyze_lwgen")
            src = os.path.join(work, "run")
            if not os.path.isdir(src):
                wall, _ = timed([gen, "--snapshots", str(a.snapshots), "--stacks",
                                 str(a.stacks), "--depth", "16", src])
                print(f"generated {a.snapshots} x {a.stacks} in {wall:.1f} s")
            what = f"{a.snapshots} snapshots x {a.stacks} stacks"
        page = os.path.join(work, "report.html")
        shutil.rmtree(env["XDG_CACHE_HOME"], ignore_errors=True)
        wall, cpu = timed([lw, "report", src, "-o", page], env)
        print(f"{what}: first report from the files (load + symbolize + report): "
              f"{wall:.2f} s wall, {cpu:.2f} s CPU")
        walls, cpus = [], []
        for _ in range(a.repeats):
            wall, cpu = timed([lw, "report", src, "-o", page], env)
            walls.append(wall)
            cpus.append(cpu)
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        size = os.path.getsize(page)
        print(f"report (store cached), {a.repeats} runs: wall {spread(walls)}, "
              f"CPU {spread(cpus)}; peak RSS {rss:.0f} MiB; page {size / 1e6:.2f} MB "
              f"({size} bytes)")
        print(f"load average: {os.getloadavg()[0]:.1f}")
        if a.browser:
            browser(page)
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
