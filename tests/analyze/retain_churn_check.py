#!/usr/bin/env python3
"""retain_churn_check.py — a leaking service's retainer, end to end.

usage: retain_churn_check.py LEAKWATCH LEAK_CHURN   (env LEAKWATCH_SHIM)

Runs testapps/leak_churn under the shim (leak: a list of 1 KiB sessions
headed by the global g_sessions, amid churn through the g_churn ring, whose
recycled buffers hold stale addresses of list nodes), has it take a full
heap dump, and checks that `leakwatch retainers --site leak_session_buffer`
names g_sessions as the root that keeps the leak alive — first among the
reaching roots, at the top of the first path, and in the Graphviz output,
which `dot` must parse. Exit 0 pass, 1 fail.
"""
import json
import os
import subprocess
import sys
import tempfile


def main():
    lw, app = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    shim = os.environ["LEAKWATCH_SHIM"]
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        env = dict(os.environ, LEAKWATCH_DIR=out, LEAKWATCH_RATE="65536",
                   LEAKWATCH_INTERVAL="0", LD_PRELOAD=shim,
                   XDG_CACHE_HOME=os.path.join(tmp, "cache"))
        p = subprocess.run([app, "--iterations", "40000", "--leak-every", "10",
                            "--points", "2", "--api", "dump"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True, timeout=120)
        if p.returncode != 0:
            print(f"FAIL: leak_churn exit {p.returncode}: {p.stderr[-300:]}", file=sys.stderr)
            return 1
        dumps = sorted(f for f in os.listdir(out) if f.startswith("dump-"))
        if not dumps:
            print(f"FAIL: no dump in {os.listdir(out)}", file=sys.stderr)
            return 1
        dump = os.path.join(out, dumps[-1])
        env.pop("LD_PRELOAD")
        r = subprocess.run([lw, "retainers", dump, "--site", "leak_session_buffer", "--json"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=120)
        if r.returncode != 0:
            print(f"FAIL: retainers exit {r.returncode}: {r.stderr}", file=sys.stderr)
            return 1
        d = json.loads(r.stdout)
        roots = [x["root"] for x in d["reaching_roots"]]
        if not roots or not roots[0].startswith("g_sessions"):
            fails.append(f"first reaching root is not g_sessions: {roots}")
        if not d["paths"] or not d["paths"][0]["steps"][0]["label"].startswith("g_sessions"):
            fails.append(f"first path does not start at g_sessions: {d['paths'][:1]}")
        dot = os.path.join(tmp, "r.dot")
        r = subprocess.run([lw, "retainers", dump, "--site", "leak_session_buffer", "-o", dot],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=120)
        if r.returncode != 0 or "g_sessions" not in open(dot).read():
            fails.append(f"dot output lacks g_sessions (exit {r.returncode}): {r.stderr}")
        elif subprocess.run(["dot", "-Tsvg", "-o", os.devnull, dot]).returncode != 0:
            fails.append("dot could not parse the graph")
    for f in fails:
        print("FAIL:", f, file=sys.stderr)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
