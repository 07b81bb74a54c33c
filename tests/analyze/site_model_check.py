#!/usr/bin/env python3
"""site_model_check.py — the site model end to end (suite `analyzer`).

usage: site_model_check.py TEST|all LEAKWATCH SITE_APP LWGEN

  stripped    a leak inside a stripped shared library: `top --retained` on
              the dump gives both unsymbolized sites their retained bytes,
              labels them by module offset, and `diff` keeps them apart
  same_site   the same stacks (unsymbolized, inlined, 128 frames deep) give
              the same sites from a snapshot of one process and from a dump
              of another; every dump site with reachable blocks has its
              retained bytes in `top --retained`
  wrappers    a wrapper with six callers is detected and folded (labels name
              the callers), listed in text and JSON, adjustable with
              --no-wrappers and --wrapper REGEX, and folded in the heap graph
  concurrent  commands started at once on a directory not cached yet all
              succeed with the same output
  cache       the per-input cache is pruned (inputs gone, unused for long,
              over LEAKWATCH_CACHE_MAX), rebuilt when damaged, never deletes
              a database in use, and is off with LEAKWATCH_CACHE_MAX=0
"""
import fcntl
import glob
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lwcheck  # noqa: E402
from lwcheck import check, run  # noqa: E402


def setup(ctx):
    ctx.lw, ctx.app, ctx.gen = ctx.args[0], ctx.args[1], ctx.args[2]
    check(ctx.shim and os.path.exists(ctx.shim), "LEAKWATCH_SHIM names no shim")
    ctx.env = dict(os.environ)
    ctx.env["XDG_CACHE_HOME"] = ctx.path("cache")
    ctx.env.pop("DEBUGINFOD_URLS", None)


def app_run(ctx, outdir, *args):
    env = dict(ctx.env)
    env.update({"LD_PRELOAD": ctx.shim, "LEAKWATCH_DIR": outdir, "LEAKWATCH_RATE": "1",
                "LEAKWATCH_INTERVAL": "0"})
    r = run([ctx.app, *args], env=env)
    check(r.returncode == 0, f"site_app {' '.join(args)}: rc {r.returncode} {r.stderr}")
    files = sorted(glob.glob(os.path.join(outdir, "*.lwd")))
    check(files, f"site_app {' '.join(args)} wrote no file")
    return files


def lw(ctx, *args, rc=0, env=None):
    r = run([ctx.lw, *args], env=env or ctx.env)
    check(r.returncode == rc, f"leakwatch {' '.join(map(str, args))}: rc {r.returncode}, "
          f"want {rc}: {r.stderr}")
    return r


def lw_json(ctx, *args, env=None):
    return json.loads(lw(ctx, *args, "--json", env=env).stdout)


def frame_key(f):
    return (f["function"], f["file"], f["line"], f["module"], f.get("offset"), f["inlined"])


def site_key(row):
    return tuple(frame_key(f) for f in row["frames"])


def unknown_rows(rows, module):
    return [r for r in rows if r["frames"][0]["function"] == "??"
            and r["frames"][0]["module"] == module]


# ---- tests ---------------------------------------------------------------

def t_stripped(ctx):
    files = app_run(ctx, ctx.path("run"), "stripped")
    snaps = [f for f in files if os.path.basename(f).startswith("snap-")]
    dumps = [f for f in files if os.path.basename(f).startswith("dump-")]
    check(snaps and len(dumps) == 1, f"files: {files}")
    snap, dump = snaps[0], dumps[0]
    top = lw_json(ctx, "top", dump, "--retained", "--by", "site")
    rows = unknown_rows(top["rows"], "libsite_lib.so")
    check(len(rows) == 2, f"two unsymbolized sites in the stripped library: {top['rows']}")
    offs = sorted(r["frames"][0]["offset"] for r in rows)
    check(offs[0] != offs[1] and offs[0] > 0, f"module offsets {offs}")
    for r in rows:
        check(r["retained"] is not None and r["retained"] >= r["values"]["inuse_bytes"] > 0,
              f"retained of ?? site: {r['retained']} for {r['values']}")
    blocks = sorted(round(r["values"]["inuse_objects"]) for r in rows)
    check(blocks == [50, 130], f"blocks per site {blocks}")
    text = lw(ctx, "top", dump, "--retained", "--by", "site").stdout
    lines = [ln for ln in text.splitlines() if "libsite_lib.so+0x" in ln]
    check(len(lines) == 2 and all(" - " not in ln.split("?? (")[0] for ln in lines),
          f"text rows of the library's sites:\n{text}")
    byfn = lw_json(ctx, "top", dump, "--retained")
    fns = [r for r in byfn["rows"] if r["function"] == "??" and r["module"] == "libsite_lib.so"]
    check(len(fns) == 2 and all(r["retained"] is not None for r in fns),
          f"per function: {byfn['rows']}")
    diff = lw_json(ctx, "diff", snap, dump)
    drows = unknown_rows(diff["rows"], "libsite_lib.so")
    check(len(drows) == 2, f"diff keeps the two unsymbolized sites apart: {diff['rows']}")
    by_status = {r["status"]: r for r in drows}
    check(set(by_status) == {"both", "new"}, f"statuses {list(by_status)}")
    check(round(by_status["both"]["delta_objects"]) == 30 and
          round(by_status["new"]["delta_objects"]) == 50,
          f"deltas {[r['delta_objects'] for r in drows]}")


def t_same_site(ctx):
    a = app_run(ctx, ctx.path("a"), "shapes", "snapshot")
    b = app_run(ctx, ctx.path("b"), "shapes", "dump")
    snap = [f for f in a if os.path.basename(f).startswith("snap-")][0]
    dump = [f for f in b if os.path.basename(f).startswith("dump-")][0]
    ts = lw_json(ctx, "top", snap, "--by", "site", "-n", "1000")
    td = lw_json(ctx, "top", dump, "--by", "site", "-n", "1000", "--retained")

    def ours(rows):
        return [r for r in rows if any(f["function"].startswith("site_") or
                                       f["module"] == "libsite_lib.so" for f in r["frames"])]
    rs, rd = ours(ts["rows"]), ours(td["rows"])
    ks, kd = {site_key(r) for r in rs}, {site_key(r) for r in rd}
    check(ks == kd and len(ks) == 3, f"sites of the snapshot and of the dump differ:\n"
          f"only snapshot: {ks - kd}\nonly dump: {kd - ks}")
    kinds = {"unknown": False, "inlined": False, "deep": False}
    for r in rd:
        fr = r["frames"]
        kinds["unknown"] |= fr[0]["function"] == "??"
        kinds["inlined"] |= fr[0]["function"] == "site_inlined_alloc" and fr[0]["inlined"]
        kinds["deep"] |= sum(f["function"] == "site_deep" for f in fr) >= 120
    check(all(kinds.values()), f"stack kinds covered: {kinds}")
    for r in td["rows"]:   # every site: blocks in the dump, so a figure
        check(r["retained"] is not None, f"dump site without retained bytes: {r['frames'][0]}")
    for r in rd:           # ours are all reachable: at least their own bytes
        check(r["retained"] >= r["values"]["inuse_bytes"] * 0.999,
              f"{r['frames'][0]['function']}: retained {r['retained']} < in use "
              f"{r['values']['inuse_bytes']}")


def t_wrappers(ctx):
    dump = [f for f in app_run(ctx, ctx.path("run"), "wrappers")
            if os.path.basename(f).startswith("dump-")][0]
    t = lw_json(ctx, "top", dump, "--by", "site", "-n", "100")
    check(t["wrappers"] == ["site_alloc"], f"detected wrappers: {t['wrappers']}")
    firsts = {r["frames"][0]["function"] for r in t["rows"]}
    callers = {f"site_caller_{k}" for k in range(6)}
    check(callers <= firsts and "site_direct" in firsts, f"rows by caller: {firsts}")
    check(not firsts & {"site_alloc", "site_alloc_inner"}, f"wrapper frames left: {firsts}")
    text = lw(ctx, "top", dump).stdout
    check("Wrappers folded into their callers: site_alloc" in text, f"text:\n{text}")
    n = lw_json(ctx, "top", dump, "--by", "site", "-n", "100", "--no-wrappers")
    nf = [r["frames"][0]["function"] for r in n["rows"]]
    check(n["wrappers"] == [] and nf.count("site_alloc_inner") == 6,
          f"--no-wrappers: {n['wrappers']} {nf}")
    e = lw_json(ctx, "top", dump, "--by", "site", "-n", "100", "--no-wrappers",
                "--wrapper", "^site_alloc$")
    ef = {r["frames"][0]["function"] for r in e["rows"]}
    check(e["wrappers"] == ["site_alloc"] and callers <= ef, f"--wrapper: {e['wrappers']} {ef}")
    bad = lw(ctx, "top", dump, "--wrapper", "(unclosed", rc=1)
    check("--wrapper '(unclosed'" in bad.stderr, f"bad pattern: {bad.stderr}")
    rj = lw_json(ctx, "retainers", dump, "--site", "site_caller_3")
    check(rj["wrappers"] == ["site_alloc"], f"retainers wrappers: {rj.get('wrappers')}")
    labels = [s["label"] for s in rj["selected"]]
    check(labels and all(lab.startswith("site_caller_3") for lab in labels),
          f"heap groups by the folded site: {labels}")
    check(not any(nd["label"].startswith("site_alloc") for nd in rj["nodes"]),
          f"a wrapper node in the retainer graph: {[nd['label'] for nd in rj['nodes']]}")


def t_concurrent(ctx):
    run_dir = ctx.path("run")
    r = run([ctx.gen, "--snapshots", "40", "--stacks", "300", run_dir])
    check(r.returncode == 0, f"lwgen: {r.stderr}")
    for attempt in range(5):
        env = dict(ctx.env)
        env["XDG_CACHE_HOME"] = ctx.path(f"cache{attempt}")
        cmds = [["top", run_dir, "--json"], ["top", run_dir, "--json"],
                ["growth", run_dir, "--json"]]
        procs = [subprocess.Popen([ctx.lw, *c], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for c in cmds]
        outs = [p.communicate(timeout=300) for p in procs]
        for c, p, (out, err) in zip(cmds, procs, outs):
            check(p.returncode == 0, f"attempt {attempt}: {' '.join(c)}: rc {p.returncode}: {err}")
        check(outs[0][0] == outs[1][0], f"attempt {attempt}: two tops differ")
        dbs = glob.glob(os.path.join(env["XDG_CACHE_HOME"], "leakwatch", "inputs-*.db"))
        check(len(dbs) == 1, f"one cache database: {dbs}")
        n = json.loads(lw(ctx, "sql", "--json", dbs[0],
                          "SELECT count(*) AS n FROM snapshots").stdout)[0]["n"]
        check(n == 40, f"attempt {attempt}: {n} snapshots loaded, want 40")


def cache_dbs(ctx):
    return sorted(glob.glob(ctx.path("cache", "leakwatch", "inputs-*.db")))


def t_cache(ctx):
    dirs = []
    for i in range(4):
        d = ctx.path(f"in{i}")
        r = run([ctx.gen, "--snapshots", "3", "--stacks", "20", "--seed", str(i + 1), d])
        check(r.returncode == 0, f"lwgen: {r.stderr}")
        dirs.append(d)
    made = {}
    for d in dirs[:3]:
        before = set(cache_dbs(ctx))
        lw(ctx, "top", d)
        new = set(cache_dbs(ctx)) - before
        check(len(new) == 1, f"one cache database per input: {new}")
        made[d] = new.pop()
    mode = os.stat(os.path.dirname(made[dirs[0]])).st_mode & 0o777
    check(mode == 0o700, f"cache directory mode {oct(mode)}")
    lw(ctx, "top", dirs[0])
    check(len(cache_dbs(ctx)) == 3, "a command with nothing to prune deletes nothing")
    # inputs gone: the next command deletes that database
    os.rename(dirs[1], dirs[1] + ".moved")
    lw(ctx, "top", dirs[0])
    check(made[dirs[1]] not in cache_dbs(ctx) and len(cache_dbs(ctx)) == 2,
          f"database of vanished inputs kept: {cache_dbs(ctx)}")
    os.rename(dirs[1] + ".moved", dirs[1])
    # unused for 40 days: deleted
    t = time.time() - 40 * 86400
    os.utime(made[dirs[2]], (t, t))
    lw(ctx, "top", dirs[3])
    check(made[dirs[2]] not in cache_dbs(ctx) and len(cache_dbs(ctx)) == 2,
          f"old database kept: {cache_dbs(ctx)}")
    # over the bound: deleted, but never one in use
    in_use = made[dirs[0]]
    fd = os.open(in_use, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_SH)
    env = dict(ctx.env)
    env["LEAKWATCH_CACHE_MAX"] = "1"
    lw(ctx, "top", dirs[1], env=env)
    left = cache_dbs(ctx)
    os.close(fd)
    check(in_use in left and len(left) == 2, f"bound of 1 byte left {left} (in use {in_use})")
    lw(ctx, "top", dirs[1], env=env)
    check(len(cache_dbs(ctx)) == 1, f"bound of 1 byte keeps only the one in use: {cache_dbs(ctx)}")
    # damaged: rebuilt
    own = cache_dbs(ctx)[0]
    with open(own, "r+b") as f:
        f.write(b"not a database at all, not at all" * 4)
    r = lw(ctx, "top", dirs[1], "--json", env=env)
    check(json.loads(r.stdout)["n_rows"] > 0, "a rebuilt cache gives rows")
    # off: no database made
    env["LEAKWATCH_CACHE_MAX"] = "0"
    before = cache_dbs(ctx)
    r = lw(ctx, "top", dirs[3], "--json", env=env)
    check(json.loads(r.stdout)["n_rows"] > 0 and cache_dbs(ctx) == before,
          f"cache off made {set(cache_dbs(ctx)) - set(before)}")


if __name__ == "__main__":
    sys.exit(lwcheck.main({"stripped": t_stripped, "same_site": t_same_site,
                           "wrappers": t_wrappers, "concurrent": t_concurrent,
                           "cache": t_cache}, sys.argv, setup))
