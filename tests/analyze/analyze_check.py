#!/usr/bin/env python3
"""analyze_check.py — end-to-end tests of `leakwatch load/sql/run/snapshot`
and the command line (suite `analyzer`).

usage: analyze_check.py TEST LEAKWATCH LWGEN

Each TEST builds its inputs in a fresh temporary directory with lwgen (a
synthetic run written through the real writer API) or with the shim
($LEAKWATCH_SHIM), runs leakwatch and checks exit codes, stdout, the exact
one-line errors on stderr and the database contents. Exit 0 pass, 1 fail
(tests/lwcheck.py: check, run).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from lwcheck import Fail, check, run  # noqa: E402


class Ctx:
    def __init__(self, lw, gen, tmp):
        self.lw, self.gen, self.tmp = lw, gen, tmp

    def path(self, *p):
        return os.path.join(self.tmp, *p)

    def lwgen(self, outdir, *args):
        r = run([self.gen, *args, outdir])
        check(r.returncode == 0, f"lwgen failed: {r.stderr}")
        return sorted(os.path.join(outdir, f) for f in os.listdir(outdir)
                      if f.endswith(".lwd"))

    def leakwatch(self, *args, **kw):
        return run([self.lw, *args], **kw)

    def sql(self, db, query):
        r = self.leakwatch("sql", "--json", db, query)
        check(r.returncode == 0, f"sql {query!r} failed: {r.stderr}")
        return json.loads(r.stdout)

    def one(self, db, query):
        rows = self.sql(db, query)
        check(len(rows) == 1 and len(rows[0]) == 1, f"{query!r}: {rows}")
        return next(iter(rows[0].values()))


def summary(r):
    return r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""


# ---- tests -----------------------------------------------------------------

def t_load_idempotent(c):
    files = c.lwgen(c.path("run"), "--snapshots", "5", "--stacks", "40")
    db = c.path("t.db")
    r = c.leakwatch("load", db, c.path("run"))
    check(r.returncode == 0, f"load: rc {r.returncode} {r.stderr}")
    check(summary(r) == "loaded 5 files (0 skipped, 0 failed)", summary(r))
    n_counters = c.one(db, "SELECT count(*) FROM counters")
    n_sites = c.one(db, "SELECT count(DISTINCT site_id) FROM stacks")
    check(n_counters == 5 * n_sites, f"counters {n_counters} vs 5 x {n_sites} sites")
    # again: nothing new
    r = c.leakwatch("load", db, c.path("run"))
    check(r.returncode == 0 and summary(r) == "loaded 0 files (5 skipped, 0 failed)",
          f"reload: {summary(r)} {r.stderr}")
    # the same file under another name: same (run_id, seq), still skipped
    other = c.path("copy.lwd")
    shutil.copy(files[2], other)
    r = c.leakwatch("load", db, other)
    check(r.returncode == 0 and summary(r) == "loaded 0 files (1 skipped, 0 failed)",
          f"copy: {summary(r)}")
    check(c.one(db, "SELECT count(*) FROM snapshots") == 5, "snapshot count changed")
    check(c.one(db, "SELECT count(*) FROM counters") == n_counters, "counter count changed")
    # a second run (other run_id) of the same program shares its sites
    c.lwgen(c.path("run2"), "--snapshots", "2", "--stacks", "40", "--run-id", "77")
    r = c.leakwatch("load", db, c.path("run2"))
    check(r.returncode == 0 and summary(r) == "loaded 2 files (0 skipped, 0 failed)",
          summary(r))
    check(c.one(db, "SELECT count(*) FROM processes") == 2, "two processes")
    check(c.one(db, "SELECT count(*) FROM sites") == n_sites,
          "same stacks in another run must map to the same sites")
    mode = os.stat(db).st_mode & 0o777
    check(mode == 0o600, f"database mode {oct(mode)}")


def t_load_corrupt(c):
    files = c.lwgen(c.path("run"), "--snapshots", "6", "--stacks", "30")
    db = c.path("t.db")
    # load two good files first: they must survive the bad batch
    r = c.leakwatch("load", db, files[0], files[1])
    check(r.returncode == 0, r.stderr)
    data = bytearray(open(files[3], "rb").read())
    data[len(data) // 2] ^= 0x55                       # CRC mismatch
    open(files[3], "wb").write(data)
    with open(files[4], "r+b") as f:                   # truncated
        f.truncate(os.path.getsize(files[4]) // 3)
    open(c.path("run", "snap-000100.lwd"), "wb").close()               # empty
    open(c.path("run", "snap-000101.lwd"), "wb").write(b"not a leakwatch file\n" * 10)
    r = c.leakwatch("load", db, c.path("run"))
    check(r.returncode == 1, f"rc {r.returncode}")
    check(summary(r) == "loaded 2 files (2 skipped, 4 failed)", summary(r))
    errs = r.stderr.strip().splitlines()
    check(len(errs) == 4, f"want one line per bad file: {errs}")
    for bad in (files[3], files[4], c.path("run", "snap-000100.lwd"),
                c.path("run", "snap-000101.lwd")):
        hits = [e for e in errs if f"'{bad}'" in e]
        check(len(hits) == 1 and hits[0].startswith("leakwatch load: "),
              f"no error line naming {bad}: {errs}")
    seqs = [row["seq"] for row in c.sql(db, "SELECT seq FROM snapshots ORDER BY seq")]
    check(seqs == [0, 1, 2, 5], f"loaded seqs {seqs}")
    # the database is consistent: every counter belongs to a snapshot
    check(c.one(db, "SELECT count(*) FROM counters WHERE snapshot_id NOT IN "
                    "(SELECT id FROM snapshots)") == 0, "orphan counters")


def t_load_errors(c):
    c.lwgen(c.path("run"), "--snapshots", "1", "--stacks", "5")
    r = c.leakwatch("load")
    check(r.returncode == 2, f"no args: rc {r.returncode}")
    r = c.leakwatch("load", c.path("t.db"))
    check(r.returncode == 2, f"no paths: rc {r.returncode}")
    r = c.leakwatch("load", c.path("run", "snap-000000.lwd"), c.path("x.db"))
    check(r.returncode == 2 and "the database comes first" in r.stderr, r.stderr)
    missing = c.path("missing.lwd")
    r = c.leakwatch("load", c.path("t.db"), missing, c.path("run"))
    check(r.returncode == 1, f"missing: rc {r.returncode}")
    check(f"'{missing}'" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr)
    check(summary(r) == "loaded 1 file (0 skipped, 1 failed)", summary(r))
    notdb = c.path("notes.txt")
    open(notdb, "w").write("hello\n")
    r = c.leakwatch("load", notdb, c.path("run"))
    check(r.returncode == 1 and "not an SQLite database" in r.stderr, r.stderr)
    check(open(notdb).read() == "hello\n", "a non-database file was modified")
    r = c.leakwatch("load", "--bogus", c.path("t.db"), c.path("run"))
    check(r.returncode == 2 and "--bogus" in r.stderr, r.stderr)


def t_sql(c):
    c.lwgen(c.path("run"), "--snapshots", "3", "--stacks", "10")
    db = c.path("t.db")
    check(c.leakwatch("load", db, c.path("run")).returncode == 0, "load")
    rows = c.sql(db, "SELECT seq, kind, t_s FROM snapshots ORDER BY seq")
    check([r["seq"] for r in rows] == [0, 1, 2], rows)
    check(all(r["kind"] == 1 and isinstance(r["t_s"], (int, float)) for r in rows), rows)
    check(abs(rows[2]["t_s"] - 30.0) < 1e-6, f"t_s {rows[2]['t_s']} (lwgen: 10 s apart)")
    # escaping: control characters and quotes survive a JSON round trip
    rows = c.sql(db, "SELECT char(1) || 'a\"b' || char(10) AS s, NULL AS n, x'00ff' AS b")
    check(rows == [{"s": "\x01a\"b\n", "n": None, "b": "00ff"}], rows)
    # aligned table
    r = c.leakwatch("sql", db, "SELECT seq, exe FROM snapshots JOIN processes p "
                               "ON p.id = process_id ORDER BY seq")
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and len(lines) == 4, r.stdout)
    check(lines[0].startswith("seq  exe") and lines[1].startswith("  0  /"), lines)
    # empty result still names the columns
    r = c.leakwatch("sql", db, "SELECT seq FROM snapshots WHERE seq > 100")
    check(r.returncode == 0 and r.stdout == "seq\n", repr(r.stdout))
    r = c.leakwatch("sql", "--json", db, "SELECT seq FROM snapshots WHERE seq > 100")
    check(r.returncode == 0 and json.loads(r.stdout) == [], r.stdout)
    # read-only: a write is refused and nothing changes
    before = os.path.getsize(db), c.one(db, "SELECT count(*) FROM snapshots")
    r = c.leakwatch("sql", db, "DELETE FROM snapshots")
    check(r.returncode == 1 and "read-only" in r.stderr, f"{r.returncode} {r.stderr}")
    r = c.leakwatch("sql", db, "SELECT 1; DELETE FROM snapshots")
    check(r.returncode == 2 and "one statement" in r.stderr, r.stderr)
    check(c.one(db, "SELECT count(*) FROM snapshots") == before[1], "rows deleted")
    r = c.leakwatch("sql", db, "SELEC nonsense")
    check(r.returncode == 1 and r.stderr.startswith("leakwatch sql: 'SELEC nonsense': "),
          r.stderr)
    r = c.leakwatch("sql", c.path("nope.db"), "SELECT 1")
    check(r.returncode == 1 and "nope.db" in r.stderr, r.stderr)
    check(not os.path.exists(c.path("nope.db")), "sql created a database")


def t_symbols(c):
    c.lwgen(c.path("run"), "--snapshots", "2", "--stacks", "200")
    db = c.path("t.db")
    r = c.leakwatch("load", db, c.path("run"))
    check(r.returncode == 0, r.stderr)
    rows = c.sql(db, "SELECT function, file, line, module FROM frames "
                     "WHERE module = 'analyze_lwgen' AND file LIKE '%lwgen.c'")
    names = {r["function"] for r in rows}
    check({"main", "fill"} <= names, f"lwgen functions not found: {sorted(names)[:20]}")
    # lwgen's stack 0 is fill() called from main(): both with a line
    for fn in ("main", "fill"):
        check(any(r["function"] == fn and r["line"] > 0 for r in rows), f"{fn}: no line")
    # every site key is unique and every site has frames
    check(c.one(db, "SELECT count(*) FROM sites WHERE id NOT IN "
                    "(SELECT site_id FROM site_frames)") == 0, "site without frames")
    cached = c.one(db, "SELECT count(*) FROM pcs")
    check(cached > 0, "no pcs cached")

    # a rebuilt binary (recorded build-id differs): reported once, its pcs
    # stay unsymbolized instead of being attributed to wrong functions
    c.lwgen(c.path("bad"), "--snapshots", "2", "--stacks", "50", "--run-id", "99",
            "--bad-build-id")
    db2 = c.path("bad.db")
    r = c.leakwatch("load", db2, c.path("bad"))
    check(r.returncode == 0, f"rc {r.returncode}: {r.stderr}")
    warn = [line for line in r.stderr.splitlines() if "build-id mismatch" in line]
    check(len(warn) == 1 and "analyze_lwgen" in warn[0], f"warnings: {r.stderr}")
    rows = c.sql(db2, "SELECT DISTINCT function FROM frames WHERE module = 'analyze_lwgen'")
    check(rows == [{"function": "??"}], f"mismatched module symbolized: {rows[:5]}")


def t_cli(c):
    r = c.leakwatch()
    check(r.returncode == 2 and "usage: leakwatch" in r.stderr, f"{r.returncode} {r.stderr}")
    r = c.leakwatch("--help")
    check(r.returncode == 0, "help rc")
    for cmd in ("run", "snapshot", "load", "top", "diff", "growth", "retainers",
                "export", "sql"):
        check(f"leakwatch {cmd}" in r.stdout, f"--help does not list {cmd}")
    r = c.leakwatch("--version")
    check(r.returncode == 0 and r.stdout.startswith("leakwatch "), r.stdout)
    r = c.leakwatch("frobnicate")
    check(r.returncode == 2 and
          r.stderr.strip() == "leakwatch: unknown command 'frobnicate' (see leakwatch --help)",
          r.stderr)


def require_shim():
    shim = os.environ.get("LEAKWATCH_SHIM", "")
    check(shim and os.path.isfile(shim), f"LEAKWATCH_SHIM names no built shim: {shim!r}")
    return shim


def t_run(c):
    require_shim()
    out = c.path("out")
    r = c.leakwatch("run", "-o", out, "--rate", "1", "--interval", "0.2", "--",
                    "/bin/sh", "-c", "sleep 1; exit 3")
    check(r.returncode == 3, f"child status not passed through: {r.returncode} {r.stderr}")
    check(f"leakwatch: writing to {out}" in r.stderr, r.stderr)
    # dash leaves with _exit(), which can cut the writer thread off in the
    # middle of a file: its ".tmp-" name stays behind and readers skip it.
    def published(names):
        return [f for f in names if f.endswith(".lwd") and not f.startswith(".")]
    files = sorted(published(os.listdir(out)))
    check(files and files[0].startswith("snap-"), f"no snapshots in {out}: {files}")
    # the shell's child (sleep) writes into its own subdirectory
    all_files = [f for _, _, fs in os.walk(out) for f in published(fs)]
    db = c.path("t.db")
    r2 = c.leakwatch("load", db, out)
    check(r2.returncode == 0, r2.stderr)
    check(c.one(db, "SELECT count(*) FROM snapshots") == len(all_files), "not all loaded")
    check(c.one(db, "SELECT count(*) FROM processes c JOIN processes p "
                    "ON c.ppid = p.pid") >= 1, "the child process is not stored")
    # relative -o is reported absolute
    r = c.leakwatch("run", "-o", "rel", "--", "/bin/true", cwd=c.tmp)
    check(r.returncode == 0 and f"writing to {c.path('rel')}" in r.stderr, r.stderr)
    r = c.leakwatch("run", "--", c.path("no-such-program"), cwd=c.tmp)
    check(r.returncode == 127 and "no-such-program" in r.stderr, f"{r.returncode} {r.stderr}")
    left = [n for n in os.listdir(c.tmp) if n.startswith("leakwatch.")]
    check(not left, f"a program that could not start left {left}")
    r = c.leakwatch("run", "--rate", "lots", "--", "/bin/true")
    check(r.returncode == 2 and "--rate lots" in r.stderr, r.stderr)
    r = c.leakwatch("run")
    check(r.returncode == 2, "no command")
    env = dict(os.environ, LEAKWATCH_SHIM=c.path("missing.so"))
    r = c.leakwatch("run", "--", "/bin/true", env=env)
    check(r.returncode == 1 and "missing.so" in r.stderr, r.stderr)


def t_env_contract(c):
    """`run` and `snapshot` read LEAKWATCH_* values with the shim's own
    parsers: what run accepts the shim uses, what run refuses the shim
    would have refused, and snapshot signals what the shim listens to."""
    shim = require_shim()
    out = c.path("out")
    r = c.leakwatch("run", "-o", out, "--rate", "64K", "--interval", "0", "--", "/bin/true")
    check(r.returncode == 0, f"run --rate 64K: {r.returncode} {r.stderr}")
    check("LEAKWATCH_RATE" not in r.stderr, f"the shim refused run's value: {r.stderr}")
    db = c.path("t.db")
    r = c.leakwatch("load", db, out)
    check(r.returncode == 0, r.stderr)
    check(c.one(db, "SELECT DISTINCT sample_rate FROM snapshots") == 65536,
          "--rate 64K did not reach the shim as 65536 bytes")
    for opt, value in (("--signal", "KILL"), ("--signal", "SEGV"), ("--interval", "1e3"),
                       ("--rate", "1.5")):
        r = c.leakwatch("run", opt, value, "--", "/bin/true")
        check(r.returncode == 2 and f"'{opt} {value}': need " in r.stderr,
              f"run {opt} {value}: {r.returncode} {r.stderr}")
    # LEAKWATCH_SIGNAL=KILL is refused by the shim (it listens on USR2):
    # snapshot must send USR2 too, never KILL
    env = dict(os.environ, LD_PRELOAD=shim, LEAKWATCH_INTERVAL="0", LEAKWATCH_SIGNAL="KILL",
               LEAKWATCH_DIR=c.path("k"))
    p = subprocess.Popen(["sleep", "60"], env=env, cwd=c.tmp, stderr=subprocess.PIPE,
                         text=True)
    try:
        wait_mapped(p.pid)
        r = c.leakwatch("snapshot", "--timeout", "30", str(p.pid))
        check(r.returncode == 0 and os.path.dirname(r.stdout.strip()) == c.path("k"),
              f"snapshot with LEAKWATCH_SIGNAL=KILL: {r.returncode} {r.stdout} {r.stderr}")
        check(p.poll() is None, f"the process died ({p.returncode})")
    finally:
        p.kill()
        _, err = p.communicate()
    check("LEAKWATCH_SIGNAL 'KILL' is not a signal that can be caught" in err, err)


def wait_mapped(pid):
    """Waits until the shim is mapped into pid (its constructor has run)."""
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            if "libleakwatch.so" in open(f"/proc/{pid}/maps").read():
                time.sleep(0.05)
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise Fail(f"the shim never appeared in process {pid}")


def t_snapshot_errors(c):
    r = c.leakwatch("snapshot", "abc")
    check(r.returncode == 2 and "'abc': not a process id" in r.stderr, r.stderr)
    r = c.leakwatch("snapshot")
    check(r.returncode == 2, "no pid")
    # a process that exited (its pid not reused this quickly)
    p = subprocess.Popen(["/bin/true"])
    p.wait()
    r = c.leakwatch("snapshot", str(p.pid))
    check(r.returncode == 1 and r.stderr.strip() ==
          f"leakwatch snapshot: '{p.pid}': no such process", r.stderr)
    # a live process without the shim
    p = subprocess.Popen(["sleep", "30"], env={k: v for k, v in os.environ.items()
                                              if k != "LD_PRELOAD"})
    try:
        r = c.leakwatch("snapshot", str(p.pid))
        check(r.returncode == 1 and
              f"'{p.pid}': process {p.pid} is not running leakwatch" in r.stderr, r.stderr)
        check(len(r.stderr.strip().splitlines()) == 1, "more than one line")
    finally:
        p.kill()
        p.wait()


def t_snapshot_live(c):
    shim = require_shim()
    env = dict(os.environ, LD_PRELOAD=shim, LEAKWATCH_INTERVAL="0")
    env.pop("LEAKWATCH_DIR", None)
    # default directory: leakwatch.<exe>.<pid> in the process's cwd
    p = subprocess.Popen(["sleep", "60"], env=env, cwd=c.tmp)
    try:
        deadline = time.time() + 20
        while time.time() < deadline:   # wait until the shim is mapped
            try:
                if "libleakwatch.so" in open(f"/proc/{p.pid}/maps").read():
                    break
            except OSError:
                pass
            time.sleep(0.05)
        paths = []
        for _ in range(2):
            r = c.leakwatch("snapshot", "--timeout", "30", str(p.pid))
            check(r.returncode == 0, f"snapshot rc {r.returncode}: {r.stderr}")
            path = r.stdout.strip()
            check(os.path.dirname(path) == c.path(f"leakwatch.sleep.{p.pid}"), path)
            check(os.path.basename(path).startswith("dump-") and os.path.isfile(path), path)
            paths.append(path)
        check(paths[0] != paths[1], f"the second request returned the old dump: {paths}")
        db = c.path("t.db")
        r = c.leakwatch("load", db, *paths)
        check(r.returncode == 0, r.stderr)
        check(c.one(db, "SELECT count(*) FROM snapshots WHERE kind = 2") == 2, "dump kind")
        check(c.one(db, "SELECT DISTINCT pid FROM processes") == p.pid, "pid")
    finally:
        p.kill()
        p.wait()
    # a custom directory and signal from the process's environment
    env2 = dict(env, LEAKWATCH_DIR="custom", LEAKWATCH_SIGNAL="USR1")
    p = subprocess.Popen(["sleep", "60"], env=env2, cwd=c.tmp)
    try:
        time.sleep(0.3)
        r = c.leakwatch("snapshot", "--timeout", "30", str(p.pid))
        check(r.returncode == 0 and os.path.dirname(r.stdout.strip()) == c.path("custom"),
              f"{r.returncode} {r.stdout} {r.stderr}")
    finally:
        p.kill()
        p.wait()
    env3 = dict(env, LEAKWATCH_SIGNAL="none")
    p = subprocess.Popen(["sleep", "60"], env=env3, cwd=c.tmp)
    try:
        time.sleep(0.3)
        r = c.leakwatch("snapshot", str(p.pid))
        check(r.returncode == 1 and "LEAKWATCH_SIGNAL=none" in r.stderr, r.stderr)
    finally:
        p.kill()
        p.wait()


def t_cache_prune(c):
    """A directory reused by a new run: the cache database must show only the
    files present now, never the deleted run's (commands given a directory
    load it through a per-input cache database)."""
    env = dict(os.environ, XDG_CACHE_HOME=c.path("cache"))
    run_dir = c.path("run")
    c.lwgen(run_dir, "--snapshots", "4", "--stacks", "20", "--run-id", "11")

    def pids():
        r = c.leakwatch("top", "--json", run_dir, env=env)
        check(r.returncode == 0, f"top: rc {r.returncode} {r.stderr}")
        db = [os.path.join(c.path("cache", "leakwatch"), f)
              for f in os.listdir(c.path("cache", "leakwatch")) if f.endswith(".db")]
        check(len(db) == 1, f"one cache database expected: {db}")
        return c.one(db[0], "SELECT count(*) FROM processes"), \
            c.one(db[0], "SELECT count(*) FROM snapshots")

    check(pids() == (1, 4), "first run")
    shutil.rmtree(run_dir)
    c.lwgen(run_dir, "--snapshots", "3", "--stacks", "20", "--run-id", "12")
    got = pids()
    check(got == (1, 3), f"after the directory was reused: (processes, snapshots) = {got}")
    os.unlink(os.path.join(run_dir, sorted(os.listdir(run_dir))[0]))
    got = pids()
    check(got == (1, 2), f"after a file was deleted: {got}")


TESTS = {name[2:]: fn for name, fn in globals().items() if name.startswith("t_")}


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in TESTS:
        print(f"usage: {sys.argv[0]} {{{'|'.join(TESTS)}}} LEAKWATCH LWGEN", file=sys.stderr)
        return 2
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    # hermetic: no debuginfod network lookups (Debian's profile sets the URL)
    os.environ["DEBUGINFOD_URLS"] = ""
    tmp = tempfile.mkdtemp(prefix="lw-analyze-")
    os.chmod(tmp, 0o700)
    try:
        TESTS[sys.argv[1]](Ctx(os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3]), tmp))
    except Fail as e:
        print(f"FAIL {sys.argv[1]}: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"ok {sys.argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
