"""lwcheck.py — what every Python test of leakwatch shares.

    import lwcheck
    from lwcheck import check, run

    def t_something(ctx):                 # one named test
        r = run([ctx.leakwatch, "top", ...])
        check(r.returncode == 0, f"top: {r.stderr}")

    lwcheck.main({"something": t_something}, sys.argv)

check(cond, msg) fails the running test with msg (the rest of it does not
run); expect(cond, msg) records a failure and lets the test go on (FAILED
lists them; finish() turns them into the exit status); run() runs a command with captured text output and a timeout;
require_tool(name) returns a tool's path or fails: a consumer tool that CI
installs (go, dot) is required, never a reason to skip; golden(name, got,
dir) compares output with a stored file and rewrites it when
LEAKWATCH_UPDATE_GOLDEN=1. main() runs the tests named on the command line
(all when none is named) in fresh temporary directories, prints one line
per test and exits 0 only when every test passed. A skip is not a pass:
skip(reason) prints the reason and fails, unless the environment variable
LEAKWATCH_ALLOW_SKIP=1 says the environment cannot run the test.
"""
import difflib
import os
import shutil
import subprocess
import sys
import tempfile
import time


class Fail(Exception):
    pass


FAILED = []      # messages of the failed expect() calls of this process


class Skip(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def expect(cond, msg):
    """Like check, but the test goes on; returns cond."""
    if not cond:
        FAILED.append(msg)
        print("FAIL: " + msg, file=sys.stderr, flush=True)
    return cond


def finish(ok_line="ok"):
    """The exit status of a script that used expect(): 1 if any failed."""
    if FAILED:
        print(f"{len(FAILED)} failure(s)", file=sys.stderr)
        return 1
    print(ok_line)
    return 0


def skip(reason):
    raise Skip(reason)


def run(args, timeout=120, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("text", True)
    return subprocess.run([str(a) for a in args], timeout=timeout, **kw)


def require_tool(name):
    """The path of a tool CI installs; fails the test when it is missing."""
    path = shutil.which(name)
    check(path is not None,
          f"'{name}' is not installed: CI installs it (scripts/install-deps.sh), "
          "so a missing tool is a failure, not a skip")
    return path


def golden(name, got, directory):
    """Compares got with directory/name; LEAKWATCH_UPDATE_GOLDEN=1 rewrites it."""
    path = os.path.join(directory, name)
    if os.environ.get("LEAKWATCH_UPDATE_GOLDEN") == "1":
        with open(path, "w") as f:
            f.write(got)
        return
    check(os.path.exists(path),
          f"{name}: no golden file {path} (run with LEAKWATCH_UPDATE_GOLDEN=1)")
    with open(path) as f:
        want = f.read()
    if got != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                            "golden/" + name, "got"))
        raise Fail(f"{name} differs from its golden file:\n{diff}")


def wait_for(pred, timeout=30.0, step=0.05):
    """Polls pred() until it is true or timeout seconds passed."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class Ctx:
    """One test's temporary directory and the tools given on the command line."""

    def __init__(self, name, args):
        self.name = name
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix=f"lw-{name}-")
        self.shim = os.environ.get("LEAKWATCH_SHIM", "")
        self.source = os.environ.get("LEAKWATCH_SOURCE", "")

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def main(tests, argv, setup=None):
    """Runs tests[name](ctx) for the names in argv[1] (comma-separated, or
    "all"); argv[2:] are the test's arguments (ctx.args). setup(ctx) may
    fill more of ctx first."""
    names = argv[1].split(",") if len(argv) > 1 and argv[1] != "all" else sorted(tests)
    failed = 0
    for name in names:
        if name not in tests:
            print(f"FAIL {name}: no such test")
            failed += 1
            continue
        ctx = Ctx(name, argv[2:])
        n_failed = len(FAILED)
        try:
            if setup:
                setup(ctx)
            tests[name](ctx)
            check(len(FAILED) == n_failed, f"{len(FAILED) - n_failed} expectation(s) failed")
            print(f"ok {name}")
        except Fail as e:
            failed += 1
            print(f"FAIL {name}: {e}")
        except Skip as e:
            if os.environ.get("LEAKWATCH_ALLOW_SKIP") == "1":
                print(f"SKIP {name}: {e}")
            else:
                failed += 1
                print(f"FAIL {name}: cannot run here: {e}")
        except subprocess.TimeoutExpired as e:
            failed += 1
            print(f"FAIL {name}: timed out: {e.cmd}")
        finally:
            ctx.cleanup()
    sys.stdout.flush()
    return 1 if failed else 0
