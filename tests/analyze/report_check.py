#!/usr/bin/env python3
"""report_check.py — `leakwatch report` end to end.

    report_check.py golden  LEAKWATCH REPORTS_GEN GOLDEN_DIR
        The page's data document for reports_gen's deterministic files
        against GOLDEN_DIR/report_data.json (paths normalized;
        LEAKWATCH_UPDATE_GOLDEN=1 rewrites it), and every figure in it
        against the CLI (see `same_as_cli`).
    report_check.py cli     LEAKWATCH LEAK_CHURN
        A real run of testapps/leak_churn under the shim (LEAKWATCH_SHIM)
        with a heap dump: the embedded data equals `report --json` and the
        figures of growth, top, diff and retainers --json; the page is
        self-contained and its embedded JSON safe inside <script>; file
        modes; one-line errors for bad arguments.
    report_check.py screenshot PAGE OUT.png [WIDTH HEIGHT]
        (not a test) the top of PAGE as a PNG, as docs/report.png was made:
        bash scripts/demo.sh, then this on demo-out/report.html.
    report_check.py browser LEAKWATCH LEAK_CHURN SCREENSHOT
        The same kind of run, its page opened from a path with spaces in
        headless Chromium (Debian's chromium, chromium-driver and
        python3-selenium): no console error, no request beyond the file
        itself, the summary names the leak and its global, the charts and
        flame graph are drawn, a growth row opens its chart, a frame zooms,
        search highlights, the diff view draws, the growth table reads as
        `leakwatch growth` prints; a full-page screenshot goes to SCREENSHOT.

Exit 0 pass, 1 fail. Nothing is skipped: a missing browser is a failure.
"""
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lwcheck  # noqa: E402

# Every check records its failure and the test goes on, so one run lists
# every figure that differs (lwcheck.expect).
check = lwcheck.expect


def fail(msg):
    lwcheck.expect(False, msg)


def lw_env(tmp):
    env = dict(os.environ)
    env["XDG_CACHE_HOME"] = os.path.join(tmp, "cache")
    env["HOME"] = tmp
    env["COLUMNS"] = "80"
    env.pop("LD_PRELOAD", None)
    env.pop("DEBUGINFOD_URLS", None)
    return env


def run(cmd, env, want=0, timeout=300):
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    if want is not None and p.returncode != want:
        fail("%s: exit %d (want %d)\nstderr: %s" % (" ".join(cmd), p.returncode, want, err))
    return p.returncode, out, err


def cli_json(lw, env, *args):
    rc, out, err = run([lw] + list(args) + ["--json"], env)
    if rc != 0:
        return None
    return json.loads(out)


def embedded(page_path):
    """The data document embedded in the page, and the raw text."""
    html = open(page_path, encoding="utf-8").read()
    m = re.search(r'<script type="application/json" id="lw-data">(.*?)</script>', html, re.S)
    if not check(m, "%s: no embedded data element" % page_path):
        return None, html
    return json.loads(m.group(1)), html


def run_leak_churn(app, tmp, seconds="4"):
    """leak_churn under the shim: snapshots every 0.2 s and one heap dump."""
    out = os.path.join(tmp, "run")
    env = dict(os.environ, LEAKWATCH_DIR=out, LEAKWATCH_RATE="65536", LEAKWATCH_INTERVAL="0.2",
               LD_PRELOAD=os.environ["LEAKWATCH_SHIM"])
    p = subprocess.run([app, "--duration", seconds, "--leak-every", "10", "--sleep-us", "2000",
                        "--points", "1", "--api", "dump"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=120)
    check(p.returncode == 0, "leak_churn: exit %d: %r" % (p.returncode, p.stderr[-300:]))
    files = os.listdir(out)
    check(any(f.startswith("dump-") for f in files), "leak_churn wrote no dump: %s" % files)
    return out


# ---- the page's figures against the CLI -------------------------------------------

def frames_of(doc, site):
    out = []
    for fi in doc["sites"][site]:
        f = doc["frames"][fi]
        out.append({"function": doc["strings"][f[0]], "file": doc["strings"][f[1]],
                    "line": f[2], "module": doc["strings"][f[3]], "inlined": bool(f[4]),
                    "offset": f[7]})
    return out


def cli_frames(frames):
    return [{"function": f["function"], "file": f["file"], "line": f["line"],
             "module": f["module"], "inlined": bool(f.get("inlined", False)),
             "offset": f.get("offset", 0)} for f in frames]


def same_as_cli(lw, env, doc, path, what):
    """Every table of the page equals the command's own --json output."""
    n = str(doc["n"])
    # growth: the ranking, row by row, every field growth --json has
    g = cli_json(lw, env, "growth", path, "-n", n)
    if g is not None:
        rows = doc["growth"]["rows"]
        check(len(rows) == len(g), "%s: growth rows %d, CLI %d" % (what, len(rows), len(g)))
        for mine, cli in zip(rows, g):
            for k, v in cli.items():
                if k == "frames":
                    check(frames_of(doc, mine["site"]) == cli_frames(v),
                          "%s: growth rank %d frames differ" % (what, cli["rank"]))
                else:
                    check(mine.get(k) == v, "%s: growth rank %d %s: page %r, CLI %r"
                          % (what, cli["rank"], k, mine.get(k), v))
    # top, for every snapshot of the first process the page offers
    first_pid = doc["processes"][0]["pid"]
    n_top = 0
    for s in doc["snapshots"]:
        if s["pid"] != first_pid:
            continue
        for sample in ("inuse_space", "alloc_space"):
            t = cli_json(lw, env, "top", path, "--snapshot", str(s["seq"]), "--sample", sample,
                         "-n", n)
            n_top += 1
            check(t == s["top"][sample], "%s: top --snapshot %d --sample %s differs from the "
                  "page's" % (what, s["seq"], sample))
        # the flame graph's values add up to top's total
        check(abs(sum(s["v"][0::4]) - s["top"]["inuse_space"]["total"]) <= len(s["sites"]),
              "%s: snapshot %d: flame values do not add up to the top total" % (what, s["seq"]))
    check(n_top >= 2, "%s: no top document checked" % what)
    # memory over time: sampled in-use per snapshot = top's total
    tl = doc["timeline"]["processes"][0]
    for i in (0, len(tl["seq"]) // 2, len(tl["seq"]) - 1):
        t = cli_json(lw, env, "top", path, "--snapshot", str(tl["seq"][i]), "-n", "1")
        if t is not None:
            check(abs(tl["inuse"][i] - t["total"]) <= 1, "%s: timeline in-use %r at seq %d, "
                  "top total %r" % (what, tl["inuse"][i], tl["seq"][i], t["total"]))
    # diff: base -> shown, as `diff BASE SHOWN` prints it
    if check(doc["diff"] is not None, "%s: no diff" % what):
        b, a = doc["snapshots"][doc["diff"]["before"]], doc["snapshots"][doc["diff"]["after"]]
        d = cli_json(lw, env, "diff", b["path"], a["path"], "-n", n)
        check(d == doc["diff"]["doc"], "%s: diff %s %s differs from the page's"
              % (what, b["path"], a["path"]))
    # retainers: the dump's document for the explained site
    r = doc["retainers"]
    if r is not None:
        label = r["doc"]["selected"][0]["label"]
        fn = re.escape(label.split(" (")[0])
        c = cli_json(lw, env, "retainers", r["dump"], "--site", "^" + fn + " ")
        check(c == r["doc"], "%s: retainers %s --site %s differs from the page's"
              % (what, r["dump"], fn))


# ---- golden -----------------------------------------------------------------------------

def normalize(text, tmp, gen):
    text = re.sub(r'[^"\s(]*tests/analyze/reports_gen\.c', "<SRC>/tests/analyze/reports_gen.c",
                  text)
    text = text.replace(os.path.realpath(gen), "<BUILD>/reports_gen")
    text = text.replace(os.path.realpath(tmp), "<TMP>").replace(tmp, "<TMP>")
    # reports_gen's own build-id differs between the gcc and the clang build
    text = re.sub(r'"build_id": "[0-9a-f]*"', '"build_id": "<BUILD-ID>"', text)
    return re.sub(r'"generator": "leakwatch [^"]*"', '"generator": "leakwatch <VERSION>"', text)


def golden(lw, gen, gdir):
    tmp = tempfile.mkdtemp(prefix="lw-report-golden-")
    try:
        env = lw_env(tmp)
        data = os.path.join(tmp, "data")
        os.mkdir(data, 0o700)
        run([gen, data], env)
        a = os.path.join(data, "a")
        rc, out, err = run([lw, "report", a, "--json"], env)
        if rc != 0:
            return
        doc = json.loads(out)
        got = normalize(out, tmp, gen)
        path = os.path.join(gdir, "report_data.json")
        if os.environ.get("LEAKWATCH_UPDATE_GOLDEN") == "1":
            with open(path, "w") as f:
                f.write(got)
        elif not os.path.exists(path):
            fail("missing golden file %s (run with LEAKWATCH_UPDATE_GOLDEN=1)" % path)
        else:
            want = open(path).read()
            if got != want:
                import difflib
                d = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                                 "golden/report_data.json", "got", n=2))
                fail("report data differs from its golden file:\n" + d[:6000])
        page = os.path.join(tmp, "page.html")
        run([lw, "report", a, "-o", page], env)
        emb, _ = embedded(page)
        check(emb == doc, "the page's embedded data differs from report --json")
        same_as_cli(lw, env, doc, a, "reports_gen")
        # the synthetic leak is named, with its exact slope (256 KiB a minute)
        top = doc["growth"]["rows"][0]
        check(top["verdict"] == "leak" and frames_of(doc, top["site"])[0]["function"] ==
              "lwg_leak_node_new", "reports_gen: first growth row is not lwg_leak_node_new/leak")
        check(abs(top["slope_bytes_per_s"] - 256 * 1024 / 60) < 1e-6,
              "reports_gen: slope %r" % top["slope_bytes_per_s"])
        check(doc["retainers"] is None and "no heap dump" in (doc["retainers_note"] or ""),
              "reports_gen has no dump: %r" % doc["retainers_note"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- a real run: data, safety, files, errors -----------------------------------------------

def check_page_text(html, doc):
    """Self-contained, and the embedded JSON cannot end its element."""
    for pat in (r"<script[^>]*\ssrc=", r"<link\b", r"https?://(?!www\.w3\.org/)", r"<iframe",
                r"@import", r"url\((?!#)"):
        m = re.search(pat, html, re.I)
        check(not m, "page is not self-contained: %r" % (m.group(0) if m else ""))
    check(re.search(r"Content-Security-Policy\" content=\"default-src 'none'; script-src "
                    r"'sha256-[A-Za-z0-9+/=]+'", html), "no strict Content-Security-Policy")
    m = re.search(r'id="lw-data">(.*?)</script>', html, re.S)
    if m:
        body = m.group(1)
        for bad in ("<", ">", "&", "\u2028", "\u2029"):
            check(bad not in body, "embedded JSON contains a raw %r" % bad)
    check(html.count("</script>") == 2, "expected exactly two script elements")


def cli_mode(lw, app):
    tmp = tempfile.mkdtemp(prefix="lw-report-cli-")
    try:
        env = lw_env(tmp)
        out = run_leak_churn(app, tmp)
        page = os.path.join(tmp, "report.html")
        rc, stdout, err = run([lw, "report", out, "-o", page], env)
        if rc != 0:
            return
        check(stdout.strip() == page, "report should print the page's path, printed %r" % stdout)
        st = os.stat(page)
        check(stat.S_IMODE(st.st_mode) == 0o600, "page mode %o, want 600" % stat.S_IMODE(st.st_mode))
        doc, html = embedded(page)
        rc, out_json, err = run([lw, "report", out, "--json"], env)
        check(json.loads(out_json) == doc, "embedded data differs from report --json")
        check_page_text(html, doc)
        same_as_cli(lw, env, doc, out, "leak_churn")
        g = doc["growth"]["rows"]
        check(g and g[0]["verdict"] == "leak" and
              frames_of(doc, g[0]["site"])[0]["function"] == "leak_session_buffer",
              "leak_churn: leak_session_buffer is not the first leak")
        r = doc["retainers"]
        if check(r is not None, "no retainers: %r" % doc["retainers_note"]):
            check(r["why"] == "top leak" and r["site"] == g[0]["site"],
                  "retainers explain %r (site %r)" % (r["why"], r["site"]))
            check(r["doc"]["reaching_roots"][0]["root"].startswith("g_sessions"),
                  "first reaching root: %r" % r["doc"]["reaching_roots"][:2])
            check(r["svg"] and "<svg" in html and "g_sessions" in html.split('id="ret-graph-src"')[1],
                  "no retainer SVG naming g_sessions in the page")
        check(any(s["kind"] == "dump" for s in doc["snapshots"]), "the dump is not offered")
        # a default name in the current directory; --dump, --base, --snapshot
        cwd = os.path.join(tmp, "cwd")
        os.mkdir(cwd)
        p = subprocess.run([lw, "report", out], env=env, cwd=cwd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=300)
        check(p.returncode == 0 and os.path.exists(os.path.join(cwd, "leakwatch-report.html")),
              "default output: exit %d, files %s" % (p.returncode, os.listdir(cwd)))
        snaps = sorted(f for f in os.listdir(out) if f.startswith("snap-"))
        dumps = sorted(f for f in os.listdir(out) if f.startswith("dump-"))
        rc, o2, _ = run([lw, "report", out, "--json", "--base", os.path.join(out, snaps[2]),
                         "--snapshot", "5", "--dump", os.path.join(out, dumps[0]), "-n", "3"], env)
        if rc == 0:
            d2 = json.loads(o2)
            check(d2["snapshots"][d2["shown"]]["seq"] == 5, "--snapshot 5 not shown")
            check(d2["diff"]["doc"]["before"]["seq"] == int(snaps[2][5:11]),
                  "--base FILE not the diff base")
            check(len(d2["growth"]["rows"]) == 3 and len(d2["diff"]["doc"]["rows"]) <= 3,
                  "-n 3 not applied")
        rc, o3, _ = run([lw, "report", out, "--json", "--base", "3"], env)
        if rc == 0:
            check(json.loads(o3)["diff"]["doc"]["before"]["seq"] == 3, "--base 3 not the base")
        errors = [
            ([], 2, "PATH"),
            ([out, "-n", "0"], 2, "'0'"),
            ([out, "--snapshot", "999"], 1, "999"),
            ([out, "--base", "/nonexistent/x.lwd"], 1, "x.lwd"),
            ([out, "--dump", os.path.join(tmp, "missing.lwd")], 1, "missing.lwd"),
            ([out, "-o", os.path.join(tmp, "nodir", "r.html")], 1, "nodir"),
            ([os.path.join(tmp, "nothing")], 1, "nothing"),
            ([out, "--bogus"], 2, "--bogus"),
        ]
        for args, want_rc, needle in errors:
            rc, o, e = run([lw, "report"] + args, env, want=None)
            lines = [ln for ln in e.splitlines() if ln.strip()]
            check(rc == want_rc, "report %s: exit %d, want %d (%r)" % (" ".join(args), rc, want_rc, e))
            check(lines and lines[0].startswith("leakwatch report: ") and needle in lines[0],
                  "report %s: error %r should name %r" % (" ".join(args), lines[:1], needle))
        # nothing is replaced through a symbolic link
        target = os.path.join(tmp, "target.txt")
        with open(target, "w") as f:
            f.write("keep")
        link = os.path.join(tmp, "link.html")
        os.symlink(target, link)
        rc, o, e = run([lw, "report", out, "-o", link], env, want=1)
        check(open(target).read() == "keep" and os.path.islink(link),
              "a symbolic link was followed or replaced")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- browser ------------------------------------------------------------------------------------

def growth_text_row(lw, env, path):
    """The first row of `leakwatch growth`'s table: verdict, slope, latest, q
    (the sparkline and the detection limit are left out)."""
    rc, out, err = run([lw, "growth", path, "-n", "1"], env)
    for ln in out.splitlines():
        m = re.match(r"\s+1\s+(\w+)\s{2,}(.+?)\s{2,}(.+?)\s{2,}\S+\s{2,}(\S+)\s{2,}", ln)
        if m:
            return [x.strip() for x in m.groups()]
    fail("cannot read growth's first row:\n" + out)
    return None


def top_text_rows(lw, env, path):
    """`leakwatch top`'s rows: flat, flat%, sum%, cum, cum%, function."""
    rc, out, err = run([lw, "top", path], env)
    rows = []
    for ln in out.splitlines():
        m = re.match(r"^\s*(\S+ \S+)\s+(\S+%)\s+(\S+%)\s+(\S+ \S+)\s+(\S+%)\s+(.*)$", ln)
        if m:
            rows.append([x.strip() for x in m.groups()])
    check(rows, "cannot read top's rows:\n" + out)
    return rows


def open_browser(tmp, width, height):
    """Headless Chromium through chromedriver, logging console and network."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    opts = Options()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
              "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
              "--hide-scrollbars", "--user-data-dir=" + os.path.join(tmp, "profile"),
              "--window-size=%d,%d" % (width, height)):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or
                                              "/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(120)
    return driver


def wait_ready(driver):
    for _ in range(300):
        if driver.execute_script("return document.body.classList.contains('ready')"):
            return True
        time.sleep(0.1)
    return False


def screenshot_mode(page, out, width=1280, height=1500):
    tmp = tempfile.mkdtemp(prefix="lw-report-shot-")
    driver = open_browser(tmp, width, height)
    try:
        driver.get("file://" + os.path.abspath(page).replace("%", "%25").replace(" ", "%20"))
        check(wait_ready(driver), "the page did not finish drawing")
        check(driver.save_screenshot(out), "screenshot not saved")
    finally:
        driver.quit()
        shutil.rmtree(tmp, ignore_errors=True)


def browser_mode(lw, app, shot):
    try:
        from selenium.webdriver.common.by import By
    except ImportError as e:
        fail("python3-selenium is required (scripts/install-deps.sh): %s" % e)
        return
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not check(os.path.exists(chromium) and os.path.exists(driver_path),
                 "chromium and chromium-driver are required (scripts/install-deps.sh)"):
        return
    tmp = tempfile.mkdtemp(prefix="lw-report-browser-")
    driver = None
    try:
        env = lw_env(tmp)
        out = run_leak_churn(app, tmp)
        pdir = os.path.join(tmp, "a dir with spaces")
        os.mkdir(pdir)
        page = os.path.join(pdir, "leak report.html")
        rc, _, _ = run([lw, "report", out, "-o", page], env)
        if rc != 0:
            return
        want_row = growth_text_row(lw, env, out)
        want_top = top_text_rows(lw, env, out)
        driver = open_browser(tmp, 1360, 1000)
        url = "file://" + page.replace("%", "%25").replace(" ", "%20")
        driver.get_log("performance")   # the browser's own start-up pages
        driver.get_log("browser")
        driver.get(url)
        check(wait_ready(driver), "the page did not finish drawing")
        js = driver.execute_script

        def click(el):
            js("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", el)
            time.sleep(0.1)
            el.click()

        # the summary names the leak, how fast, since when, and the global
        head = driver.find_element(By.ID, "verdict-headline").text
        sentence = driver.find_element(By.ID, "verdict-sentence").text
        keeper = driver.find_element(By.ID, "verdict-keeper").text
        check("1 site leaks" in head, "headline %r" % head)
        check("leak_session_buffer" in sentence and "/h" in sentence and " since " in sentence,
              "sentence %r" % sentence)
        check("g_sessions" in keeper, "keeper %r" % keeper)
        # charts and the flame graph are drawn: SVG with real paths and boxes
        n_pts = js("""const p = document.querySelectorAll('#memory-chart svg.chart path.line');
            return Array.from(p).map(x => (x.getAttribute('d').match(/[ML]/g) || []).length);""")
        check(len(n_pts) == 3 and min(n_pts) >= 10, "memory chart lines: %r" % n_pts)
        check(js("return document.querySelectorAll('svg.spark path.stroke').length") >= 3,
              "growth sparklines missing")
        n_frames = js("return document.querySelectorAll('#flame-graph svg.flame g.frame').length")
        check(n_frames >= 5, "flame graph has %d boxes" % n_frames)
        check(js("return document.querySelectorAll('#retainer-graph svg g.node').length") >= 2,
              "retainer graph not drawn")
        check("g_sessions" in driver.find_element(By.ID, "retainer-graph").text,
              "retainer graph does not name g_sessions")
        # leak_session_buffer's blocks link to each other: told in its box,
        # and no edge label is drawn over a box
        check("links among its blocks" in driver.find_element(By.ID, "retainer-graph").text,
              "the retainer graph does not tell the site's links among its blocks")
        overlaps = js("""const g = document.querySelector('#retainer-graph svg');
            const r = e => e.getBoundingClientRect();
            const boxes = Array.from(g.querySelectorAll('g.node')).map(r);
            const cut = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom &&
                b.top < a.bottom;
            return Array.from(g.querySelectorAll('g.edge text'))
                .filter(t => boxes.some(b => cut(r(t), b))).map(t => t.textContent);""")
        check(overlaps == [], "edge labels drawn over a box: %r" % overlaps)
        loops = js("""return Array.from(document.querySelectorAll('#retainer-graph svg g.edge'))
            .filter(e => { const t = e.querySelector('title').textContent.split('->');
                           return t.length == 2 && t[0] == t[1] && e.querySelector('text'); })
            .length;""")
        check(loops == 0, "%d loop edges carry a label (dot sets it against the loop)" % loops)
        # the retainer section says which figures count sampled blocks and
        # ranks the roots by what they hold: g_sessions, not g_churn's ring
        sec = driver.find_element(By.ID, "retainers").text
        for want in ("sampled blocks", "Roots by memory held (whole heap, all blocks)",
                     "Whole heap, all blocks", "est. "):
            check(want in sec, "retainer section lacks %r" % want)
        first_root = js("""const t = Array.from(document.querySelectorAll('#retainers h3'))
            .find(x => x.textContent.startsWith('Roots by memory held'));
            const r = t && t.nextElementSibling.querySelector('tbody tr');
            return r ? r.textContent : '';""")
        check("g_sessions" in first_root, "first root by memory held: %r" % first_root)
        # the growth table reads as `leakwatch growth` prints it
        cells = js("""const r = document.querySelector('tr.grow-row[data-rank="1"]');
            return Array.from(r.children).map(c => c.textContent.trim());""")
        if want_row:
            check(cells[1] == want_row[0] and cells[4] == want_row[1]
                  and cells[6:8] == want_row[2:],
                  "growth row 1 on the page %r, growth prints %r" % (cells, want_row))
        # the top table reads as `leakwatch top` prints it
        top_cells = js("""return Array.from(document.querySelectorAll('#flame-table table.top-table tbody tr'))
            .map(r => Array.from(r.children).map(c => c.textContent.trim()));""")
        check(len(top_cells) == len(want_top), "top rows: page %d, top %d" % (len(top_cells), len(want_top)))
        for mine, cli in zip(top_cells, want_top):
            # top fits its label to 80 columns (drops the file, then cuts the name)
            check(mine[:5] == cli[:5] and (mine[5] == cli[5] or mine[5].startswith(cli[5] + " (")
                                           or cli[5].endswith("...")),
                  "top row on the page %r, top prints %r" % (mine, cli))
        # clicking a growth row opens its chart (row 1 is open from the start)
        check(js("return document.querySelectorAll('svg.site-chart').length") == 1,
              "the top leak's chart should be open")
        row2 = driver.find_element(By.CSS_SELECTOR, 'tr.grow-row[data-rank="2"]')
        click(row2)
        time.sleep(0.3)
        check(js("""const d = document.querySelector('tr.grow-row[data-rank="2"]').nextElementSibling;
            return !d.hidden && d.querySelectorAll('svg.site-chart path.line').length > 0;"""),
              "clicking growth row 2 did not open its chart")
        # clicking a flame box zooms into it
        before = js("return document.querySelectorAll('#flame-graph g.frame').length")
        target = js("""for (const g of document.querySelectorAll('#flame-graph g.frame')) {
              const t = g.querySelector('text');
              if (t && t.textContent.startsWith('main')) return g.getAttribute('data-i'); }
            return null;""")
        if check(target is not None, "no 'main' box in the flame graph"):
            click(driver.find_element(By.CSS_SELECTOR, '#flame-graph g.frame[data-i="%s"] rect'
                                      % target))
            time.sleep(0.3)
            info = driver.find_element(By.CSS_SELECTOR, "#flame-graph .flame-info").text
            check("zoomed into main" in info, "flame info after click: %r" % info)
            w = js("""const svg = document.querySelector('#flame-graph svg.flame');
                for (const g of svg.querySelectorAll('g.frame:not(.anc)')) {
                  const t = g.querySelector('text');
                  if (t && t.textContent.startsWith('main'))
                    return [parseFloat(g.querySelector('rect').getAttribute('width')),
                            parseFloat(svg.getAttribute('width'))]; }
                return null;""")
            check(w and w[0] >= w[1] - 2, "zoomed box is not full width: %r" % w)
            click(driver.find_element(By.ID, "flame-reset"))
            time.sleep(0.2)
            check(js("return document.querySelectorAll('#flame-graph g.frame').length") == before,
                  "reset zoom did not restore the graph")
        # search highlights the matches
        box = driver.find_element(By.ID, "flame-search")
        js("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", box)
        box.send_keys("leak_session")
        time.sleep(0.8)
        matched = js("""return Array.from(document.querySelectorAll('#flame-graph g.frame.match'))
            .map(g => g.querySelector('rect').getAttribute('fill'));""")
        check(len(matched) >= 1 and all(f == "#d63fd0" for f in matched),
              "search highlighted %r" % matched)
        check("match" in driver.find_element(By.CSS_SELECTOR, "#flame-graph .flame-info").text,
              "search did not report its matches")
        js("arguments[0].value = ''; arguments[0].dispatchEvent(new Event('input'))", box)
        time.sleep(0.5)
        check(not js("return document.querySelectorAll('#flame-graph g.frame.match').length"),
              "clearing the search did not clear the highlight")
        # the diff view draws boxes in growth / shrink colors, and its table
        click(driver.find_element(By.CSS_SELECTOR, '.tab[data-mode="diff"]'))
        time.sleep(0.5)
        fills = js("""return Array.from(document.querySelectorAll('#flame-graph g.frame rect'))
            .map(r => r.getAttribute('fill'));""")
        check(any(f.startswith("hsl(2,") for f in fills), "diff flame graph shows no growth")
        check(js("return document.querySelectorAll('#flame-table table.diff-table tbody tr').length") >= 1,
              "diff table missing")
        click(driver.find_element(By.CSS_SELECTOR, '.tab[data-mode="inuse"]'))
        # tooltips: hovering a box shows bytes and share
        from selenium.webdriver.common.action_chains import ActionChains
        g = driver.find_element(By.CSS_SELECTOR, '#flame-graph g.frame[data-i="1"] rect')
        ActionChains(driver).move_to_element(g).perform()
        time.sleep(0.2)
        tt = driver.find_element(By.ID, "tooltip")
        check(tt.is_displayed() and "share" in tt.text and "objects" in tt.text,
              "flame tooltip %r" % tt.text)
        driver.execute_script("window.scrollTo(0, 0)")
        # no console errors, no request beyond the file itself
        for e in driver.get_log("browser"):
            if e.get("level") in ("SEVERE", "WARNING"):
                fail("console: %s" % e.get("message"))
        ours, n_ours = set(), 0
        for e in driver.get_log("performance"):
            msg = json.loads(e["message"])["message"]
            p = msg.get("params", {})
            if msg["method"] == "Network.requestWillBeSent" and p.get("documentURL") == url:
                ours.add(p["requestId"])
                n_ours += 1
                u = p["request"]["url"]
                check(u == url or u.startswith("data:"), "the page requested %s" % u)
            elif msg["method"] == "Network.loadingFailed" and p.get("requestId") in ours:
                fail("a request failed: %s" % p)
        check(n_ours >= 1, "the page's own load was not seen in the network log")
        # a full-page screenshot for the CI artifacts
        height = js("return document.documentElement.scrollHeight")
        driver.set_window_size(1360, min(int(height) + 140, 16000))
        time.sleep(0.5)
        os.makedirs(os.path.dirname(os.path.abspath(shot)), exist_ok=True)
        check(driver.save_screenshot(shot), "screenshot not saved")
        print("screenshot: %s" % shot)
    except Exception as e:  # a driver error is a test failure with its reason
        fail("browser: %s: %s" % (type(e).__name__, e))
    finally:
        if driver is not None:
            driver.quit()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    mode = sys.argv[1]
    sys.argv[2:4] = [os.path.abspath(a) for a in sys.argv[2:4]]
    if mode == "golden":
        golden(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == "cli":
        cli_mode(sys.argv[2], sys.argv[3])
    elif mode == "browser":
        browser_mode(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == "screenshot":
        screenshot_mode(sys.argv[2], sys.argv[3], *[int(x) for x in sys.argv[4:6]])
    else:
        fail("unknown mode %r" % mode)
    return lwcheck.finish("%s: ok" % mode)


if __name__ == "__main__":
    sys.exit(main())
