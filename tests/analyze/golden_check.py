#!/usr/bin/env python3
"""golden_check.py — analyzer outputs against stored files (suite `golden`).

usage: golden_check.py TEST|all LEAKWATCH REPORTS_GEN RETAINERS_TEST GOLDEN_DIR

  growth      `growth` text and --json on reports_gen's synthetic run
  export      `export --format collapsed` and `--format text` of it
  retainers   `retainers` text, --json and -o FILE.dot on ret_gen's dump

The inputs are deterministic; what is not (temporary paths, pids, runtime
addresses) is replaced by <TMP>, <PID>, <ADDR> before comparing.
LEAKWATCH_UPDATE_GOLDEN=1 rewrites the golden files (tests/lwcheck.py).
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lwcheck  # noqa: E402
from lwcheck import check, run  # noqa: E402


def setup(ctx):
    ctx.lw, ctx.gen, ctx.ret, ctx.gdir = ctx.args[:4]
    ctx.env = dict(os.environ)
    # growth's sparklines are Unicode blocks in a UTF-8 locale, ASCII otherwise
    ctx.env.update({"XDG_CACHE_HOME": ctx.path("cache"), "HOME": ctx.tmp, "COLUMNS": "80",
                    "LC_ALL": "C.UTF-8"})
    ctx.env.pop("DEBUGINFOD_URLS", None)


def normalize(ctx, text):
    text = re.sub(r'[^"\s(]*tests/analyze/(reports_gen|ret_gen)\.c', r"<SRC>/\1.c", text)
    text = text.replace(os.path.realpath(ctx.tmp), "<TMP>").replace(ctx.tmp, "<TMP>")
    for exe in (ctx.gen, ctx.ret):
        text = text.replace(os.path.realpath(exe), "<BUILD>/" + os.path.basename(exe))
    text = re.sub(r"\b0x[0-9a-f]{12,16}\b", "<ADDR>", text)
    # mapped libraries: addresses and the text segment's file offset depend
    # on the linker (gcc and clang builds)
    text = re.sub(r"^[0-9a-f]{12}-[0-9a-f]{12} r-xp [0-9a-f]{8} ", "<ADDR>-<ADDR> r-xp <OFF> ",
                  text, flags=re.M)
    text = re.sub(r"(pid |thread )\d+", r"\1<PID>", text)
    text = re.sub(r'("(pid|tid)": )\d+', r"\1<PID>", text)
    return text


def lw(ctx, *args):
    r = run([ctx.lw, *args], env=ctx.env)
    check(r.returncode == 0, f"leakwatch {' '.join(args)}: rc {r.returncode}: {r.stderr}")
    return r.stdout


def gold(ctx, name, text):
    lwcheck.golden(name, normalize(ctx, text), ctx.gdir)


def synthetic_run(ctx):
    data = ctx.path("data")
    os.mkdir(data, 0o700)
    r = run([ctx.gen, data], env=ctx.env)
    check(r.returncode == 0, f"reports_gen: {r.stderr}")
    return os.path.join(data, "a")


def t_growth(ctx):
    a = synthetic_run(ctx)
    gold(ctx, "growth.txt", lw(ctx, "growth", a))
    gold(ctx, "growth_json.txt", lw(ctx, "growth", a, "--json"))


def t_export(ctx):
    a = synthetic_run(ctx)
    gold(ctx, "export_collapsed.txt", lw(ctx, "export", a, "--format", "collapsed", "-o", "-"))
    gold(ctx, "export_collapsed_objects.txt",
         lw(ctx, "export", a, "--format", "collapsed", "--sample", "alloc_objects", "-o", "-"))
    gold(ctx, "export_text.txt", lw(ctx, "export", a, "--format", "text", "-o", "-"))


def t_retainers(ctx):
    d = ctx.path("dump")
    os.mkdir(d, 0o700)
    r = run([ctx.ret, "--gen", d], env=ctx.env)
    check(r.returncode == 0, f"ret_gen: {r.stderr}")
    dump = os.path.join(d, "dump.lwd")
    gold(ctx, "retainers.txt", lw(ctx, "retainers", dump))
    gold(ctx, "retainers_sessions.txt", lw(ctx, "retainers", dump, "--site", "ret_make_session"))
    gold(ctx, "retainers_json.txt", lw(ctx, "retainers", dump, "--json"))
    dot = ctx.path("graph.dot")
    lw(ctx, "retainers", dump, "-o", dot)
    with open(dot) as f:
        gold(ctx, "retainers_dot.txt", f.read())


if __name__ == "__main__":
    sys.exit(lwcheck.main({"growth": t_growth, "export": t_export, "retainers": t_retainers},
                          sys.argv, setup))
