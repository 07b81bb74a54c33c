#!/usr/bin/env python3
"""process_check.py — which process a report shows, which snapshot, and
under which name (suite `analyzer`).

usage: process_check.py TEST|all LEAKWATCH TESTAPPS_DIR   (env LEAKWATCH_SHIM)

  wrapper     `leakwatch run` of a pyenv-style shell wrapper whose helpers
              (readlink, dirname) write files too: top, growth, diff and
              export show the program the wrapper execs (the process run
              started, followed across exec) and name the others in one
              line; --pid and --exe choose another; a wrong choice is an
              error that lists what there is
  teardown    a Python script that frees its objects at exit: reports show
              the last snapshot before teardown (megabytes, not the exit
              snapshot's kilobytes), say how the process ended, label the
              exit snapshot as such in text, JSON and pprof's comment when
              it is asked for, and growth's latest values are not 0
  name        a program started through a symbolic link is named as it was
              started (the link), in top, growth, export and JSON
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lwcheck  # noqa: E402
from lwcheck import check, run  # noqa: E402


def setup(ctx):
    ctx.lw, ctx.apps = ctx.args[0], ctx.args[1]
    check(ctx.shim and os.path.exists(ctx.shim), "LEAKWATCH_SHIM names no shim")
    ctx.env = {k: v for k, v in os.environ.items()
               if not k.startswith("LEAKWATCH_") or k in ("LEAKWATCH_SHIM",)}
    ctx.env.pop("LD_PRELOAD", None)
    ctx.env.pop("DEBUGINFOD_URLS", None)
    ctx.env["XDG_CACHE_HOME"] = ctx.path("cache")


def lw(ctx, *args, rc=0):
    r = run([ctx.lw, *args], env=ctx.env)
    check(r.returncode == rc, f"leakwatch {' '.join(map(str, args))}: rc {r.returncode}, "
          f"want {rc}: {r.stderr}{r.stdout[-2000:]}")
    return r


def lw_json(ctx, *args):
    return json.loads(lw(ctx, *args, "--json").stdout)


def lw_run(ctx, out, *cmd, rate="1", interval="0.2", rc=0):
    r = run([ctx.lw, "run", "-o", out, "--rate", rate, "--interval", interval, "--", *cmd],
            env=ctx.env, timeout=180)
    check(r.returncode == rc, f"run {' '.join(cmd)}: rc {r.returncode}: {r.stderr[-1500:]}")
    return r


def owner_of(d):
    with open(os.path.join(d, ".owner")) as f:
        return int(f.read().split()[0])


def unwrap(text):
    """Lines of human output with their continuation lines (indented by two
    spaces after a process line) joined back."""
    out = []
    for line in text.splitlines():
        if out and line.startswith("  ") and not line.startswith("   ") and (
                out[-1].startswith("also in ") or " (pid " in out[-1]):
            out[-1] += " " + line.strip()
        else:
            out.append(line)
    return out


def app(ctx, name):
    path = os.path.join(ctx.apps, name)
    check(os.access(path, os.X_OK), f"no test app {path}")
    return path


# ---- the watched process ---------------------------------------------------------
def wrapper_run(ctx):
    """A wrapper in the manner of pyenv's shims: it asks readlink and
    dirname where it is (several times), then execs the real program, long
    enough (about 15 snapshots) for growth to see its leak continue."""
    wrapper = ctx.path("bin", "leaky")
    os.makedirs(os.path.dirname(wrapper))
    with open(wrapper, "w") as f:
        f.write("#!/bin/bash\n"
                "for i in 1 2 3 4 5; do here=$(readlink -f \"$0\"); done\n"
                "dir=$(dirname \"$here\")\n"
                f"exec {app(ctx, 'slow_leak')} --duration 3.2 --leak-rate 400 --size 512 "
                "--leak-every 4\n")
    os.chmod(wrapper, 0o755)
    out = ctx.path("py1")
    lw_run(ctx, out, wrapper)
    return out, owner_of(out)


def t_wrapper(ctx):
    out, owner = wrapper_run(ctx)
    kids = sorted(os.listdir(out))
    check(any(k.startswith("readlink.") for k in kids), f"the helpers wrote nothing: {kids}")

    # top: the process run started, the others in one line
    t = lw_json(ctx, "top", out)
    check(t["snapshot"]["pid"] == owner and t["snapshot"].get("name") == "slow_leak",
          f"top shows pid {t['snapshot']['pid']} ({t['snapshot']['exe']}), not the "
          f"process run started ({owner}, slow_leak)")
    check(t["total"] > 0, f"top of the watched process is empty: {t['total']}")
    procs = t.get("processes", {})
    check(procs.get("chosen_by") == "watched" and procs.get("others", 0) >= 6,
          f"processes: {procs}")
    names = {g["name"]: g["count"] for g in procs["other_names"]}
    check(names.get("readlink") == 5 and names.get("dirname") == 1,
          f"other processes by name: {names}")
    text = lw(ctx, "top", out).stdout
    also = [l for l in unwrap(text) if l.startswith("also in ")]
    check(len(also) == 1 and "readlink ×5" in also[0] and "--pid/--exe" in also[0],
          f"the other processes are not one line:\n{text}")
    check("readlink" not in "\n".join(unwrap(text)).replace(also[0], ""),
          f"readlink named elsewhere:\n{text}")

    # growth: one process analysed, no line per helper
    g = lw(ctx, "growth", out).stdout
    plines = [l for l in g.splitlines() if l.startswith("process ")]
    check(len(plines) == 1 and f"process {owner} (slow_leak)" in plines[0],
          f"growth names these processes:\n{g}")
    check(sum(l.startswith("also in ") for l in unwrap(g)) == 1, f"growth:\n{g}")
    check(re.search(r"\bleak\b.*\n.*slow_leak_record", g), f"growth misses the leak:\n{g}")
    gj = lw_json(ctx, "growth", out)
    check(gj and all(r["process"]["pid"] == owner for r in gj),
          f"growth rows of other processes: {[r['process'] for r in gj]}")
    # the report's growth section ranks what growth ranks
    page = ctx.path("r.html")
    lw(ctx, "report", out, "-o", page)
    with open(page, encoding="utf-8") as f:
        m = re.search(r'id="lw-data">(.*?)</script>', f.read(), re.S)
    rg = json.loads(m.group(1))["growth"] if m else {}
    check([(r["process"]["pid"], r["site_id"], r["verdict"]) for r in rg.get("rows", [])]
          == [(r["process"]["pid"], r["site_id"], r["verdict"]) for r in gj]
          and rg.get("skipped_pids") == [],
          f"report's growth differs from growth: {rg.get('rows')} {rg.get('skipped_pids')}")

    # --pid and --exe choose another process; the choice is said
    helper = [k for k in kids if k.startswith("dirname.")][0]
    hpid = int(helper.split(".")[1])
    t = lw_json(ctx, "top", out, "--pid", str(hpid))
    check(t["snapshot"]["pid"] == hpid and t["processes"]["chosen_by"] == "pid",
          f"--pid {hpid}: {t['snapshot']}, {t['processes']}")
    t = lw_json(ctx, "top", out, "--exe", "dirname")
    check(t["snapshot"]["pid"] == hpid, f"--exe dirname: {t['snapshot']}")
    t = lw_json(ctx, "top", out, "--exe", "slow_leak")
    check(t["snapshot"]["pid"] == owner, f"--exe slow_leak: {t['snapshot']}")
    r = lw(ctx, "top", out, "--exe", "readlink", "--json")
    check(json.loads(r.stdout)["snapshot"]["name"] == "readlink", "--exe readlink")
    r = lw(ctx, "top", out, "--pid", "1", rc=1)
    check("no process with pid 1" in r.stderr and "slow_leak" in r.stderr,
          f"--pid 1: {r.stderr}")
    r = lw(ctx, "top", out, "--exe", "nosuch", rc=1)
    check("no process named 'nosuch'" in r.stderr, f"--exe nosuch: {r.stderr}")
    lw(ctx, "top", out, "--pid", "x", rc=2)

    # export and diff take the same choice
    pb = ctx.path("p.txt")
    lw(ctx, "export", out, "--format", "collapsed", "-o", pb)
    with open(pb) as f:
        text = f.read()
    check("slow_leak_record" in text, f"export did not write the watched process:\n{text[:1000]}")
    d = lw_json(ctx, "diff", out, out, "--pid", str(hpid))
    check(d["before"]["pid"] == hpid and d["after"]["pid"] == hpid, f"diff --pid: {d['after']}")


# ---- the snapshot before teardown ----------------------------------------------------
PY_SCRIPT = r"""
import atexit, os, sys, time
out = sys.argv[1]
keep = [bytearray(1 << 20) for i in range(12)]   # 12 MiB held in Python objects
def snaps():
    return len([f for f in os.listdir(out) if f.startswith("snap-")])
# leave just after the third periodic snapshot that saw them, so that the
# next one (a second later) cannot fall into the teardown
start = snaps()
while snaps() < start + 3:
    time.sleep(0.005)
atexit.register(keep.clear)                       # teardown frees them
sys.exit(0)
"""


def pprof_comments(ctx, go, prof):
    env = dict(ctx.env, GOFLAGS="-mod=mod", GOTOOLCHAIN="local", GOPROXY="off",
               PPROF_BINARY_PATH=ctx.path("nobinaries"))
    for k, d in (("GOCACHE", "gocache"), ("GOPATH", "gopath"), ("PPROF_TMPDIR", "pprof")):
        env[k] = ctx.path(d)
        os.makedirs(env[k], exist_ok=True)
    r = run([go, "tool", "pprof", "-comments", prof], timeout=300, env=env)
    check(r.returncode == 0, f"pprof -comments: {r.stderr}")
    return r.stdout


def t_teardown(ctx):
    py = shutil.which("python3")
    check(py, "python3 is not installed")
    script = ctx.path("leaky.py")
    with open(script, "w") as f:
        f.write(PY_SCRIPT)
    out = ctx.path("py3")
    lw_run(ctx, out, py, script, out, rate="64K", interval="1")

    t = lw_json(ctx, "top", out)
    snap = t["snapshot"]
    check(snap.get("reason") == "interval" and snap.get("exit_status") is None,
          f"top shows {snap['reason']} snapshot {snap['seq']}, not the last periodic one")
    check(t["total"] > 8 * 2**20, f"top: {t['total']} bytes in use, want the 12 MiB held")
    ended = t["processes"]["ended"]
    check(ended and ended["exit_status"] == 0 and ended["exit_seq"] > snap["seq"],
          f"how the process ended: {ended}")
    text = "\n".join(unwrap(lw(ctx, "top", out).stdout))
    check(re.search(r"ended with exit status 0; its exit snapshot \d+ \(after teardown\)", text),
          f"top does not say how the process ended:\n{text}")

    # the exit snapshot on request, labelled as such
    seq = str(ended["exit_seq"])
    t = lw_json(ctx, "top", out, "--snapshot", seq)
    check(t["snapshot"]["reason"] == "exit" and t["snapshot"]["exit_status"] == 0,
          f"--snapshot {seq}: {t['snapshot']}")
    check(t["total"] < 4 * 2**20, f"the exit snapshot holds {t['total']} bytes")
    text = lw(ctx, "top", out, "--snapshot", seq).stdout
    check(f"exit snapshot {seq} of python3" in text, f"exit snapshot not labelled:\n{text}")
    prof = ctx.path("p.pb.gz")
    lw(ctx, "export", out, "--format", "pprof", "-o", prof, "--snapshot", seq)
    go = lwcheck.require_tool("go")
    comment = pprof_comments(ctx, go, prof)
    check(re.search(r"exit snapshot \d+ of pid \d+ \(python3\), after teardown, exit status 0",
                    comment), f"pprof's comment: {comment}")
    lw(ctx, "export", out, "--format", "pprof", "-o", prof)
    comment = pprof_comments(ctx, go, prof)
    check(re.search(r"periodic snapshot \d+ of pid \d+ \(python3\)$", comment, re.M),
          f"pprof's comment: {comment}")

    # growth's latest values come from before teardown
    g = lw_json(ctx, "growth", out, "--min-snapshots", "3")
    check(g and max(r["inuse_bytes"] for r in g) > 8 * 2**20,
          f"growth's latest values: {[r['inuse_bytes'] for r in g][:5]}")


# ---- the name a process was started by -------------------------------------------
def t_name(ctx):
    link = ctx.path("my-server")
    os.symlink(app(ctx, "slow_leak"), link)
    out = ctx.path("srv")
    lw_run(ctx, out, link, "--duration", "1.2", "--leak-rate", "400", "--size", "256",
           "--leak-every", "4", rate="4096")
    t = lw_json(ctx, "top", out)
    check(t["snapshot"].get("name") == "my-server" and t["snapshot"]["exe"].endswith("/slow_leak"),
          f"top: name {t['snapshot'].get('name')!r}, exe {t['snapshot']['exe']!r}")
    text = lw(ctx, "top", out).stdout
    check("of my-server (pid " in text and "slow_leak (pid" not in text, f"top:\n{text}")
    g = lw(ctx, "growth", out).stdout
    check(re.search(r"^process \d+ \(my-server\)", g, re.M), f"growth:\n{g}")
    lw(ctx, "top", out, "--exe", "my-server")
    lw(ctx, "top", out, "--exe", "slow_leak")   # the executable's name chooses it too


if __name__ == "__main__":
    sys.exit(lwcheck.main({"wrapper": t_wrapper, "teardown": t_teardown, "name": t_name},
                          sys.argv, setup))
