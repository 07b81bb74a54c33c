#!/usr/bin/env python3
"""retain_churn_check.py — a leaking service's retainer, end to end.

usage: retain_churn_check.py LEAKWATCH LEAK_CHURN   (env LEAKWATCH_SHIM)

Runs testapps/leak_churn under the shim (leak: a list of 1 KiB sessions
headed by the global g_sessions, amid churn through the g_churn ring, whose
recycled buffers hold stale addresses of list nodes), has it take a full
heap dump, and checks that `leakwatch retainers --site leak_session_buffer`
names g_sessions as the root that keeps the leak alive — first among the
reaching roots, at the top of the first path, and in the Graphviz output,
which `dot` must parse. The roots of the whole heap are ranked by what they
hold: g_sessions holds the list (all its blocks, sampled or not), g_churn
only its ring of buffers and none of the leak's blocks, though it reaches
most of them through its stale addresses. Every figure says whether it
counts sampled blocks or all blocks, sampled figures come with their
estimate, and the graph shows the site's caller. Exit 0 pass, 1 fail.
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
        fails += check_held(d)
        r = subprocess.run([lw, "retainers", dump, "--site", "leak_session_buffer"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=120)
        fails += check_text(r.stdout)
        dot = os.path.join(tmp, "r.dot")
        r = subprocess.run([lw, "retainers", dump, "--site", "leak_session_buffer", "-o", dot],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=120)
        text = open(dot).read() if r.returncode == 0 else ""
        if r.returncode != 0 or "g_sessions" not in text:
            fails.append(f"dot output lacks g_sessions (exit {r.returncode}): {r.stderr}")
        elif subprocess.run(["dot", "-Tsvg", "-o", os.devnull, dot]).returncode != 0:
            fails.append("dot could not parse the graph")
        for want in ("< main (leak_churn.c:", "sampled blocks", "est. ", "(all blocks)"):
            if want not in text:
                fails.append(f"dot output lacks {want!r}")
    for f in fails:
        print("FAIL:", f, file=sys.stderr)
    return 1 if fails else 0


def check_held(d):
    """What the roots hold: the list belongs to g_sessions, not to g_churn."""
    fails = []
    roots = {x["symbol"]: x for x in d["roots"] if x.get("symbol")}
    top = d["roots"][0] if d["roots"] else {}
    # before: ranked by retained size, g_churn (its ring, 1.7 MiB) came
    # first and g_sessions retained a few KiB of a 30 MiB list
    if top.get("symbol") != "g_sessions":
        fails.append(f"first root by memory held is {top.get('label')}, not g_sessions")
    ses, churn = roots.get("g_sessions"), roots.get("g_churn")
    if not ses or not churn:
        return fails + [f"g_sessions or g_churn missing from the roots: {list(roots)}"]
    if "held_bytes" not in ses or "target_all_bytes" not in d:
        return fails + ["no held bytes (held_bytes, target_all_bytes) in the JSON"]
    if ses["held_bytes"] < 0.95 * d["target_all_bytes"]:
        fails.append(f"g_sessions holds {ses['held_bytes']} B of the list's "
                     f"{d['target_all_bytes']} B")
    # the ring has 256 slots: one buffer each, and nothing of the list
    if churn["held_blocks"] > 256:
        fails.append(f"g_churn holds {churn['held_blocks']} blocks, more than its ring")
    reach = {x["root"].split(" ")[0]: x for x in d["reaching_roots"]}
    if reach.get("g_sessions", {}).get("held_blocks") != d["target_blocks"]:
        fails.append(f"g_sessions does not hold every target block: {reach.get('g_sessions')}")
    if "g_churn" in reach and reach["g_churn"]["held_blocks"] != 0:
        fails.append(f"g_churn holds target blocks: {reach['g_churn']}")
    if d["target_sampled_blocks"] != d["target_blocks"] or d["target_all_blocks"] <= d["target_blocks"]:
        fails.append(f"targets: {d['target_blocks']} blocks, {d['target_sampled_blocks']} sampled, "
                     f"{d['target_all_blocks']} with their unsampled chain")
    sel = d["selected"][0]
    if not sel["sampled"] or not 0.5 * sel["inuse_bytes_est"] < d["target_bytes_est"] \
            < 1.5 * sel["inuse_bytes_est"]:
        fails.append(f"estimate {d['target_bytes_est']} vs the site's {sel['inuse_bytes_est']}")
    return fails


def check_text(text):
    """Each figure of the text says which blocks it counts."""
    fails = []
    for want in ("heap, all blocks: ", "of which sampled", "sampled blocks in the dump: ",
                 "estimated for all its blocks", "reachable sampled blocks: ",
                 "holds none; reaches", "roots by memory held (whole heap, all blocks)",
                 "sampled), "):
        if want not in text:
            fails.append(f"text lacks {want!r}")
    lines = text.splitlines()
    heads = [i for i, x in enumerate(lines) if x.startswith("roots by memory held")]
    if not heads or "g_sessions" not in lines[heads[0] + 2]:
        fails.append("g_sessions is not the first row of the roots table")
    return fails


if __name__ == "__main__":
    sys.exit(main())
