#!/usr/bin/env python3
"""vt_class_check.py — class names of unsampled C++ objects in a real heap
dump ("a C++ container of polymorphic objects (class names
appear)"; suite `analyzer`).

    vt_class_check.py LEAKWATCH CPP_LEAK DUMP_HOOK_SO

Runs testapps/cpp_leak --points under the shim at the DEFAULT sampling rate
(so almost every Circle and Rect is unsampled), with vt_dump_hook.so
preloaded before the shim: the app's checkpoint requests become full heap
dumps, taken while the objects are alive in a std::vector and a std::map.
Then checks `leakwatch retainers DUMP --json`:
  - the dump has the optional HEAP_TYPES section's effect: groups of kind
    "class" named (anonymous namespace)::Circle and ::Rect, with block
    counts matching the app's own truth (2/3 and 1/3 of the live shapes,
    minus the few that were sampled and stay in their site group);
  - they are selected by class name (--site Circle) and reached from the
    app's globals g_registry / g_by_id;
  - the text and the dot output name the classes, and `dot` parses the dot.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lwcheck  # noqa: E402

LW, APP, HOOK = sys.argv[1], sys.argv[2], sys.argv[3]
SHIM = os.environ.get("LEAKWATCH_SHIM")
failures = lwcheck.FAILED
check = lwcheck.expect


def lw(tmp, *args):
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "cache"))
    env.pop("LD_PRELOAD", None)
    return subprocess.run([LW] + list(args), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120)


def main():
    if not SHIM:
        print("LEAKWATCH_SHIM not set", file=sys.stderr)
        return 1
    objects = 3000
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        env = dict(os.environ, LEAKWATCH_DIR=out, LEAKWATCH_INTERVAL="0",
                   LD_PRELOAD=os.path.abspath(HOOK) + " " + SHIM)
        env.pop("LEAKWATCH_RATE", None)          # the default rate
        p = subprocess.run([APP, "--points", "--objects", str(objects), "--churn",
                            str(objects)], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=120)
        if not check(p.returncode == 0, f"cpp_leak exit {p.returncode}: {p.stderr[-400:]}"):
            return 1
        check("snapshot point=1 rc=0" in p.stdout,
              f"cpp_leak's point-1 request did not dump: {p.stdout[-400:]}")
        dumps = sorted(f for f in os.listdir(out) if f.startswith("dump-"))
        if not check(len(dumps) == 2, f"expected 2 dumps, found {os.listdir(out)}"):
            return 1
        dump = os.path.join(out, dumps[-1])      # point 1: all shapes alive

        r = lw(tmp, "retainers", dump, "--json", "--site", "class from vtable")
        if not check(r.returncode == 0, f"retainers --json: exit {r.returncode}: {r.stderr}"):
            return 1
        d = json.loads(r.stdout)
        classes = {g.get("class"): g for g in d["selected"] if g["kind"] == "class"}
        check(all(g["kind"] == "class" for g in d["selected"]),
              f"--site 'class from vtable' selected other groups: {d['selected']}")
        circle = classes.get("(anonymous namespace)::Circle")
        rect = classes.get("(anonymous namespace)::Rect")
        check(circle is not None and rect is not None,
              f"no Circle/Rect class groups: {sorted(map(str, classes))}")
        if circle and rect:
            # live shapes: i % 3 == 0 -> Rect; churn objects are all deleted
            n_rect, n_circle = (objects + 2) // 3, objects - (objects + 2) // 3
            # at 512 KiB between samples a 32..80 B object is sampled with
            # probability < 2e-4: a handful at most leave the class group
            check(n_circle - 20 <= circle["blocks"] <= n_circle,
                  f"Circle blocks {circle['blocks']}, expected about {n_circle}")
            check(n_rect - 20 <= rect["blocks"] <= n_rect,
                  f"Rect blocks {rect['blocks']}, expected about {n_rect}")
            check(circle["reachable_blocks"] == circle["blocks"],
                  f"Circle: {circle['reachable_blocks']} of {circle['blocks']} reachable")
            check(circle["label"].startswith("(anonymous namespace)::Circle"),
                  f"Circle label {circle['label']!r}")
        roots = " ".join(str(x.get("root", "")) for x in d["reaching_roots"])
        check("g_registry" in roots and "g_by_id" in roots,
              f"class blocks not reached from g_registry and g_by_id: {roots}")
        check(any(n.get("kind") == "class" and n.get("class", "").endswith("Rect")
                  for n in d["nodes"]), f"no class node for Rect in the paths: {d['nodes']}")

        # selection by class name alone
        r = lw(tmp, "retainers", dump, "--json", "--site", "Circle")
        if check(r.returncode == 0, f"--site Circle: exit {r.returncode}: {r.stderr}"):
            sel = json.loads(r.stdout)["selected"]
            check(any(g.get("class", "").endswith("::Circle") for g in sel),
                  f"--site Circle did not select the Circle class: {sel}")

        # text form
        r = lw(tmp, "retainers", dump, "--site", "Rect")
        check(r.returncode == 0 and re.search(r"class: \(anonymous namespace\)::Rect", r.stdout),
              f"text output lacks the Rect class: {r.returncode} {r.stdout[:600]} {r.stderr}")

        # dot form, parsed back by dot
        dot_path = os.path.join(tmp, "classes.dot")
        r = lw(tmp, "retainers", dump, "--site", "class from vtable", "-o", dot_path)
        if check(r.returncode == 0, f"-o dot: exit {r.returncode}: {r.stderr}"):
            text = open(dot_path).read()
            check("Circle" in text and "Rect" in text, "dot output lacks the class names")
            dot = shutil.which("dot")
            if check(dot is not None, "dot (graphviz) not installed"):
                q = subprocess.run([dot, "-Tplain", dot_path], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, timeout=60)
                check(q.returncode == 0, f"dot cannot parse the output: {q.stderr}")
    if failures:
        print(f"{len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("ok: class names of unsampled polymorphic objects")
    return 0


if __name__ == "__main__":
    sys.exit(main())
