#!/usr/bin/python3
"""test_dump_child.py — the dump child is invisible to the program.

testapps/reaper reaps every child in its SIGCHLD handler
(waitpid(-1, WNOHANG) loop) and counts SIGCHLD signals, reaped pids and
reaped pids that are not its own; it forks 3 children of its own first (the
control: the handler sees exactly those).

  reap      20 dumps with leakwatch_dump(): the program must see 3 SIGCHLD,
            reap 3 pids, all its own, and a last waitpid(-1, WNOHANG) must
            report ECHILD; all 20 dumps are complete and have the heap graph.
  kill      a heap of 3M blocks keeps the dump child busy; when the child's
            temporary file appears (it is writing), the test kills it with
            SIGKILL. The parent must remove the temporary, write the same
            dump without the graph (the fallback), and take the next dump
            normally (with its graph); the program sees no SIGCHLD at all.

  orphan    the same busy child; this time the program itself is killed
            with SIGKILL: the child must die with it (PR_SET_PDEATHSIG),
            before it could finish and publish its file.

Usage: test_dump_child.py REAPER HEAP_DUMP_INFO [reap|kill|orphan ...]
(env LEAKWATCH_SHIM from meson's test_env)."""
import os, re, shutil, signal, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lwcheck  # noqa: E402


def fail(msg):
    lwcheck.expect(False, msg)


def shim_env(out_dir):
    return dict(os.environ, LD_PRELOAD=os.environ["LEAKWATCH_SHIM"], LEAKWATCH_DIR=out_dir,
                LEAKWATCH_INTERVAL="0")


def counts(line):
    m = dict(re.findall(r"(\w+)=(\d+)", line))
    return {k: int(v) for k, v in m.items()}


def graph_info(info, path):
    p = subprocess.run([info, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    return p.returncode, (p.stdout + p.stderr).strip()


def leftovers(out_dir):
    return [n for n in os.listdir(out_dir) if n.startswith(".tmp-")]


def test_reap(reaper, info, tmp):
    out_dir = os.path.join(tmp, "reap")
    p = subprocess.run([reaper, "--own", "3", "--dumps", "20"], env=shim_env(out_dir),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    line = [l for l in p.stdout.splitlines() if l.startswith("reaper ")]
    if p.returncode != 0 or not line:
        fail("reap: reaper rc=%d: %s %s" % (p.returncode, p.stdout, p.stderr))
        return
    c = counts(line[0])
    want = {"own": 3, "reaped": 3, "foreign": 0, "sigchld": 3, "dumps_ok": 20, "wait_echild": 1}
    for k, v in want.items():
        if c.get(k) != v:
            fail("reap: %s=%s, expected %d (%s)" % (k, c.get(k), v, line[0]))
    dumps = sorted(n for n in os.listdir(out_dir) if re.fullmatch(r"dump-\d{6}\.lwd", n))
    if len(dumps) != 20:
        fail("reap: %d dumps written, expected 20" % len(dumps))
    for n in dumps:
        rc, text = graph_info(info, os.path.join(out_dir, n))
        if rc != 0 or not text.startswith("graph "):
            fail("reap: %s has no heap graph: %s" % (n, text))
    if leftovers(out_dir):
        fail("reap: temporary files left: %s" % leftovers(out_dir))
    if not lwcheck.FAILED:
        print("ok   reap: %s; 20 dumps with graphs" % line[0])


def children_of(pid):
    kids = []
    for task in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/children" % (pid, task)) as fh:
                kids += [int(x) for x in fh.read().split()]
        except OSError:
            pass
    return kids


def wait_for(pred, seconds, step=0.002):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def busy_dump(label, reaper, out_dir):
    """Starts reaper with a 3M-block heap, asks for a dump and waits until
    its child is writing. Returns (app, pid, child pid); the child pid is
    None after a failure (already reported)."""
    app = subprocess.Popen([reaper, "--own", "0", "--blocks", "3000000", "--wait"],
                           env=shim_env(out_dir), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           text=True)
    ready = app.stdout.readline()
    m = re.match(r"ready pid=(\d+)", ready)
    if not m:
        fail("%s: reaper did not start: %r" % (label, ready))
        return app, None, None
    pid = int(m.group(1))
    os.kill(pid, signal.SIGUSR2)
    tmp_name = ".tmp-dump-000000.lwd"
    if not wait_for(lambda: os.path.exists(os.path.join(out_dir, tmp_name)), 120):
        fail("%s: the dump child never started writing %s" % (label, tmp_name))
        return app, pid, None
    kids = children_of(pid)
    if len(kids) != 1:
        fail("%s: expected one dump child of %d, found %s" % (label, pid, kids))
        return app, pid, None
    return app, pid, kids[0]


def test_kill(reaper, info, tmp):
    out_dir = os.path.join(tmp, "kill")
    app, pid, kid = busy_dump("kill", reaper, out_dir)
    try:
        if kid is None:
            return
        kids = [kid]
        os.kill(kids[0], signal.SIGKILL)
        final = os.path.join(out_dir, "dump-000000.lwd")
        if not wait_for(lambda: os.path.exists(final), 120, 0.02):
            fail("kill: no fallback dump after the child was killed")
            return
        rc, text = graph_info(info, final)
        if rc != 2 or text != "nograph":
            fail("kill: the dump after the kill should be the fallback without a graph: rc=%d %s" % (rc, text))
        else:
            print("ok   kill: child %d killed mid-write; fallback dump without graph written" % kids[0])
        if leftovers(out_dir):
            fail("kill: temporary files left: %s" % leftovers(out_dir))
        # the next dump works normally
        os.kill(pid, signal.SIGUSR2)
        nxt = os.path.join(out_dir, "dump-000001.lwd")
        if not wait_for(lambda: os.path.exists(nxt), 240, 0.05):
            fail("kill: the next dump was not written")
        else:
            rc, text = graph_info(info, nxt)
            if rc != 0 or not text.startswith("graph "):
                fail("kill: the next dump has no graph: %s" % text)
            else:
                print("ok   kill: the next dump has its graph")
        out, _ = app.communicate("done\n", timeout=120)
        line = [l for l in out.splitlines() if l.startswith("reaper ")]
        c = counts(line[0]) if line else {}
        for k, v in {"reaped": 0, "foreign": 0, "sigchld": 0, "wait_echild": 1}.items():
            if c.get(k) != v:
                fail("kill: %s=%s, expected %d (%s)" % (k, c.get(k), v, line))
        if app.returncode != 0:
            fail("kill: reaper exited with %d" % app.returncode)
        elif line:
            print("ok   kill: %s" % line[0])
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()


def test_orphan(reaper, info, tmp):
    out_dir = os.path.join(tmp, "orphan")
    app, pid, kid = busy_dump("orphan", reaper, out_dir)
    try:
        if kid is None:
            return
        kids = [kid]
        os.kill(pid, signal.SIGKILL)
        app.wait(timeout=60)

        def gone():
            try:
                with open("/proc/%d/stat" % kids[0]) as fh:
                    return fh.read().split(") ")[1][0] in "ZX"   # zombie until reaped
            except OSError:
                return True
        if not wait_for(gone, 20, 0.01):
            fail("orphan: dump child %d still running after its parent was killed" % kids[0])
        elif os.path.exists(os.path.join(out_dir, "dump-000000.lwd")):
            fail("orphan: the dump child finished its file after its parent died")
        else:
            print("ok   orphan: dump child %d died with its parent, mid-write" % kids[0])
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()


def main():
    reaper, info = sys.argv[1], sys.argv[2]
    which = sys.argv[3:] or ["reap", "kill", "orphan"]
    tmp = tempfile.mkdtemp(prefix="lw-child-")
    try:
        if "reap" in which:
            test_reap(reaper, info, tmp)
        if "kill" in which:
            test_kill(reaper, info, tmp)
        if "orphan" in which:
            test_orphan(reaper, info, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return lwcheck.finish()


sys.exit(main())
