#!/usr/bin/python3
"""test_roots.py — every root kind, end to end, against LeakSanitizer.

Each testapps/root_* program (see testapps/roots_common.h) keeps blocks alive
through one kind of root and drops control blocks, then reaches one
checkpoint. This test runs each program twice:

  leakwatch  under LD_PRELOAD=libleakwatch.so with LEAKWATCH_RATE=1 (every
             block has its site); the checkpoint takes a full dump, and
             `leakwatch retainers DUMP --site '^FN ' --json` is asked about
             each marked site FN: a keep_* site must be wholly reachable,
             with the expected root among the roots that reach it (e.g.
             "thread 1234 tls", "g_table (librootlib.so)"); a drop_* site
             must be wholly unreachable (definitely lost);
  LSan       the same source built with clang -fsanitize=leak; the checkpoint
             runs __lsan_do_recoverable_leak_check(), whose report is read
             without symbols ("Direct leak of B byte(s) in N object(s)"):
             each marked site allocates blocks of a size of its own.

Both tools must give every marked site the same verdict, except where
LeakSanitizer (clang 14 on glibc 2.36) is known to be wrong, listed in
LSAN_WRONG with the reason; there the test asserts that LSan still reports
the block (so the list cannot go stale silently) while leakwatch, like the
program, keeps it.

Extra checks: root_specific's pthread_atfork handlers ran only for the
program's own fork (the dump child runs none), and root_stale_link's hazard
is real: under plain mimalloc (no shim) the kept block's first word still
holds the dropped block's address.

Usage: test_roots.py LEAKWATCH APPDIR [PROGRAM...]  (only those programs)
(env LEAKWATCH_SHIM from meson's test_env)."""
import glob, json, os, re, shutil, subprocess, sys, tempfile

# The word of a global root that holds a site's block, named by its member
# path from the module's DWARF (lw_sym_data_field).
VIA = {
    ("root_globals", "keep_lib_bss"): r"g_table\[2\]",
    ("root_globals", "keep_exe_bss"): r"g_exe_keep",
}

# case: (label, program, argv, {site: (size, count, expected root or None)})
# A root pattern may name {main} / {worker}: the tids the program prints.
CASES = [
    ("globals", "root_globals", [], {
        "keep_exe_bss": (4001, 1, r"g_exe_keep \(root_globals\)"),
        "keep_exe_data": (4003, 1, r"g_exe_data \(root_globals\)"),
        "keep_lib_bss": (4005, 1, r"g_table \(librootlib\.so\)"),
        "keep_lib_data": (4007, 1, r"g_lib_data \(librootlib\.so\)"),
        "drop_globals": (4009, 3, None)}),
    ("static tls", "root_tls", [], {
        "keep_tls_main": (4011, 1, r"thread {main} tls"),
        "keep_tls_thread": (4013, 1, r"thread {worker} tls"),
        "drop_tls": (4015, 3, None)}),
    ("dynamic tls", "root_dtls", [], {
        "keep_dtls_main": (4017, 1, r"thread {main} tls"),
        "keep_dtls_thread": (4019, 1, r"thread {worker} tls"),
        "drop_dtls": (4021, 3, None)}),
    ("pthread_setspecific", "root_specific", [], {
        "keep_spec_main_low": (4023, 1, r"thread {main} pthread_setspecific"),
        "keep_spec_main_high": (4025, 1, r"thread {main} pthread_setspecific"),
        "keep_spec_thread_low": (4027, 1, r"thread {worker} pthread_setspecific"),
        "keep_spec_thread_high": (4029, 1, r"thread {worker} pthread_setspecific"),
        "drop_spec": (4031, 3, None)}),
    ("start argument", "root_thread_arg", [], {
        "keep_thread_arg": (4033, 1, r"thread {worker} start argument"),
        "drop_arg": (4035, 3, None)}),
    ("heap coroutine stack", "root_coro", ["--stack", "heap"], {
        "keep_coro_local": (4037, 1, r"thread {main} coroutine stack"),
        "keep_main_frame": (4039, 1, r"thread {main} stack"),
        "drop_coro": (4041, 3, None)}),
    ("global coroutine stack", "root_coro", ["--stack", "global"], {
        "keep_coro_local": (4037, 1, r"g_coro_stack \(root_coro\)"),
        "keep_main_frame": (4039, 1, r"thread {main} stack"),
        "drop_coro": (4041, 3, None)}),
    ("registers", "root_regs", [], {
        "keep_in_register": (4043, 1, r"thread {worker} registers"),
        "drop_regs": (4045, 3, None)}),
    ("stale free-list link", "root_stale_link", [], {
        "keep_first_word_unwritten": (48, 1, r"g_kept \(root_stale_link\)"),
        "drop_after_kept": (44, 1, None)}),
]

# (program, site): why LeakSanitizer's verdict is wrong there.
LSAN_WRONG = {
    ("root_thread_arg", "keep_thread_arg"):
        "LSan's pthread_create interceptor passes its own parameter block to "
        "glibc, so under LSan the program's argument is stored in no root; "
        "without the interceptor glibc keeps it in the thread descriptor",
}

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lwcheck  # noqa: E402


def fail(msg):
    lwcheck.expect(False, msg)


def tids(out):
    return dict(re.findall(r"^tid (\w+)=(\d+)$", out, re.M))


def run_leakwatch(lw, prog, argv, tmp):
    out_dir = os.path.join(tmp, "out")
    env = dict(os.environ, LD_PRELOAD=os.environ["LEAKWATCH_SHIM"], LEAKWATCH_DIR=out_dir,
               LEAKWATCH_INTERVAL="0", LEAKWATCH_RATE="1")
    p = subprocess.run([prog] + argv, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120, text=True)
    if p.returncode != 0 or "checkpoint leakwatch rc=0" not in p.stdout:
        raise RuntimeError("%s under the shim: rc=%d\n%s%s" % (prog, p.returncode, p.stdout, p.stderr))
    dumps = sorted(glob.glob(os.path.join(out_dir, "dump-*.lwd")))
    if len(dumps) != 1:
        raise RuntimeError("%s: expected one dump, found %s" % (prog, dumps))
    return p.stdout, dumps[0]


def leakwatch_site(lw, dump, site):
    p = subprocess.run([lw, "retainers", dump, "--site", "^%s " % site, "-n", "50", "--json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, text=True)
    if p.returncode != 0:
        raise RuntimeError("retainers --site %s: %s" % (site, p.stderr.strip()))
    d = json.loads(p.stdout)
    if len(d["selected"]) != 1:
        raise RuntimeError("retainers --site %s selected %d groups" % (site, len(d["selected"])))
    g = d["selected"][0]
    vias = {n["label"]: n["via"] for n in d["nodes"] if n["kind"] == "root"}
    return g, [r["root"] for r in d["reaching_roots"]], vias


def run_lsan(prog, argv):
    env = dict(os.environ, LSAN_OPTIONS="symbolize=0:leak_check_at_exit=0")
    env.pop("LD_PRELOAD", None)
    p = subprocess.run([prog] + argv, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120, text=True)
    if p.returncode != 0 or not re.search(r"^checkpoint lsan rc=[01]$", p.stdout, re.M):
        raise RuntimeError("%s: rc=%d\n%s%s" % (prog, p.returncode, p.stdout, p.stderr))
    lost = {}                      # size -> objects
    for kind, nbytes, objs in re.findall(r"^(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object",
                                         p.stderr, re.M):
        size = int(nbytes) // int(objs)
        lost[size] = lost.get(size, 0) + int(objs)
    return p.stdout, lost


def check_case(lw, appdir, label, name, argv, sites):
    tmp = tempfile.mkdtemp(prefix="lw-roots-")
    try:
        out, dump = run_leakwatch(lw, os.path.join(appdir, name), argv, tmp)
        t = tids(out)
        lsan_out, lsan_lost = run_lsan(os.path.join(appdir, name + "_lsan"), argv)
        for site, (size, count, root) in sites.items():
            g, roots, vias = leakwatch_site(lw, dump, site)
            lost = g["definitely_lost_blocks"] + g["indirectly_lost_blocks"]
            what = "%s: %s" % (label, site)
            if g["blocks"] != count:
                fail("%s: %d blocks in the dump, expected %d" % (what, g["blocks"], count))
                continue
            if root is not None:
                want = root.format(**t)
                if lost or g["reachable_blocks"] != count:
                    fail("%s: kept by %s but leakwatch says %d unreachable" % (what, want, lost))
                elif not any(re.fullmatch(want, r) for r in roots):
                    fail("%s: no reaching root matches '%s' (roots: %s)" % (what, want, roots))
                else:
                    print("ok   %s: reachable, root '%s'" % (what, want))
                via = VIA.get((name, site))
                if via:
                    got = [v for r, v in vias.items() if re.fullmatch(want, r)]
                    if not any(re.fullmatch(via, v) for v in got):
                        fail("%s: the root holds it through %s, not '%s'" % (what, got, via))
                    else:
                        print("ok   %s: held through '%s'" % (what, via))
            else:
                if g["reachable_blocks"] or g["definitely_lost_blocks"] != count:
                    fail("%s: dropped, but leakwatch says %d reachable, %d definitely lost (roots %s)" %
                         (what, g["reachable_blocks"], g["definitely_lost_blocks"], roots))
                else:
                    print("ok   %s: %d definitely lost" % (what, count))
            # LeakSanitizer's verdict on the same site
            lw_lost = lost
            ls_lost = lsan_lost.get(size, 0)
            why = LSAN_WRONG.get((name, site))
            if why:
                if ls_lost != count or lw_lost != 0:
                    fail("%s: known LSan error no longer seen (LSan lost %d, leakwatch lost %d): %s" %
                         (what, ls_lost, lw_lost, why))
                else:
                    print("ok   %s: LSan reports it lost (known LSan error: %s)" % (what, why))
            elif ls_lost != lw_lost:
                fail("%s: LSan says %d lost, leakwatch %d" % (what, ls_lost, lw_lost))
            else:
                print("ok   %s: LSan agrees (%d lost)" % (what, ls_lost))
        if name == "root_specific":
            for o, tool in ((out, "leakwatch"), (lsan_out, "lsan")):
                for when in ("before", "after"):
                    if "atfork %s prepare=1 parent=1 child=1" % when not in o:
                        fail("%s: atfork counts %s the checkpoint (%s): %s" %
                             (label, when, tool, re.findall(r"^atfork.*$", o, re.M)))
            print("ok   %s: atfork handlers ran for the program's fork only" % label)
        if name == "root_stale_link":
            if "stale link K->N absent" not in out:
                fail("%s: the shim did not clear the first word" % label)
            mi = [p for p in ("/usr/lib/x86_64-linux-gnu/libmimalloc.so.2",
                              "/lib/x86_64-linux-gnu/libmimalloc.so.2") if os.path.exists(p)]
            if not mi:
                fail("%s: libmimalloc.so.2 not found for the control run" % label)
            else:
                env = dict(os.environ, LD_PRELOAD=mi[0])
                p = subprocess.run([os.path.join(appdir, name)], env=env, stdout=subprocess.PIPE,
                                   timeout=60, text=True)
                if "stale link K->N present" not in p.stdout:
                    fail("%s: plain mimalloc did not leave the link (control): %s" % (label, p.stdout))
                else:
                    print("ok   %s: plain mimalloc leaves the link; the shim clears it" % label)
    except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as e:
        fail("%s: %s" % (label, e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    lw, appdir = sys.argv[1], sys.argv[2]
    only = sys.argv[3:]
    for label, name, argv, sites in CASES:
        if only and name not in only:
            continue
        check_case(lw, appdir, label, name, argv, sites)
    return lwcheck.finish()


sys.exit(main())
