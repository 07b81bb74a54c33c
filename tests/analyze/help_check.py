#!/usr/bin/env python3
"""help_check.py — every command's --help explains every option its parser
accepts (suite `analyzer`).

usage: help_check.py LEAKWATCH SOURCE_ROOT

For each command that `leakwatch --help` lists, the options its parser
accepts are read from the command's source (analyze/cmd/CMD.c: the
getopt_long option table, the LW_*_OPTIONS macros of args.h, the short-option
string). `leakwatch CMD --help` must exit 0 and show, for each of them, a
line "  FLAGS  what it does" naming the flag (long and short spelling),
name no flag the parser does not accept, and end with an example:
"Example:" followed by "  leakwatch CMD ...". tests/install/test_man.sh
checks that leakwatch(1) describes every option --help shows, so the man
page follows the parser too.
"""
import os
import re
import subprocess
import sys

LONG_OPT = re.compile(r'\{\s*"([a-z][a-z-]*)",\s*(?:no|required|optional)_argument,\s*NULL,'
                      r'\s*([^}]+?)\s*\}')
HELP_LINE = re.compile(r"^  (-\S.*?)\s{2,}(\S.*)$")


def parser_options(source, cmd):
    """The flags (\"--name\", \"-x\") the parser of cmd accepts, --help aside."""
    with open(os.path.join(source, "analyze", "cmd", cmd + ".c")) as f:
        text = f.read()
    table = text
    with open(os.path.join(source, "analyze", "cmd", "args.h")) as f:
        args_h = f.read()
    for name in set(re.findall(r"\b(LW_[A-Z]+_OPTIONS)\b", text)):
        macro = re.search(r"#define " + name + r"((?:.*\\\n)*.*)\n", args_h)
        if not macro:
            raise SystemExit(f"{cmd}: {name} is not defined in args.h")
        table += macro.group(1)
    flags = set()
    shorts_by_val = {}
    for name, val in LONG_OPT.findall(table):
        flags.add("--" + name)
        m = re.fullmatch(r"'(\w)'", val)
        if m:
            shorts_by_val[m.group(1)] = name
    calls = re.findall(r'getopt_long\(\s*argc,\s*argv,\s*"([^"]*)"', text)
    if len(calls) != 1:
        raise SystemExit(f"{cmd}: expected one getopt_long call, found {len(calls)}")
    for ch in calls[0]:
        if ch.isalnum():
            flags.add("-" + ch)
    flags.discard("--help")
    flags.discard("-h")
    return flags


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    lw, source = sys.argv[1], sys.argv[2]
    top = subprocess.run([lw, "--help"], capture_output=True, text=True)
    cmds = sorted(set(re.findall(r"^ *leakwatch ([a-z]+) ", top.stdout, re.M)))
    failures = []
    if len(cmds) < 9:
        failures.append(f"leakwatch --help lists {len(cmds)} commands: {cmds}")
    for cmd in cmds:
        if not os.path.exists(os.path.join(source, "analyze", "cmd", cmd + ".c")):
            failures.append(f"{cmd}: no analyze/cmd/{cmd}.c to read its options from")
            continue
        accepted = parser_options(source, cmd)
        r = subprocess.run([lw, cmd, "--help"], capture_output=True, text=True)
        if r.returncode != 0 or r.stderr:
            failures.append(f"{cmd} --help: rc {r.returncode}, stderr {r.stderr!r}")
            continue
        shown = set()
        for line in r.stdout.splitlines():
            m = HELP_LINE.match(line)
            if m:
                shown |= set(re.findall(r"(?<![\w-])--?[a-z][a-z-]*", m.group(1)))
        for flag in sorted(accepted - shown):
            failures.append(f"{cmd} --help: {flag} is accepted but has no line of its own")
        for flag in sorted(shown - accepted):
            failures.append(f"{cmd} --help: {flag} is explained but not accepted")
        lines = r.stdout.rstrip("\n").splitlines()
        ex = [i for i, line in enumerate(lines) if line == "Example:"]
        if not ex or not all(line.startswith(f"  leakwatch {cmd} ")
                             for line in lines[ex[-1] + 1:]) or ex[-1] == len(lines) - 1:
            failures.append(f"{cmd} --help does not end with 'Example:' and a "
                            f"'leakwatch {cmd} ...' line")
        print(f"ok {cmd}: {len(accepted)} options explained")
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
