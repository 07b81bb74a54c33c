#!/usr/bin/python3
"""test_heap_dump.py — heap-graph dump under LD_PRELOAD=libleakwatch.so.

Runs heap_app (known shapes) under the shim; the app raises SIGUSR2 and waits
for dump-*.lwd; heap_dump_check then verifies the graph against the app's
printed addresses. Env: LEAKWATCH_SHIM, LEAKWATCH_BUILD (meson test_env).
Usage: test_heap_dump.py APP CHECKER [RATE]"""
import glob, os, shutil, subprocess, sys, tempfile

def main():
    app, checker = sys.argv[1], sys.argv[2]
    rate = sys.argv[3] if len(sys.argv) > 3 else "524288"
    tmp = tempfile.mkdtemp(prefix="lw-heap-")
    try:
        out_dir = os.path.join(tmp, "out")
        env = dict(os.environ, LD_PRELOAD=os.environ["LEAKWATCH_SHIM"],
                   LEAKWATCH_DIR=out_dir, LEAKWATCH_INTERVAL="0", LEAKWATCH_RATE=rate)
        p = subprocess.run([app], env=env, stdout=subprocess.PIPE, timeout=120)
        out = os.path.join(tmp, "app.out")
        with open(out, "wb") as fh:
            fh.write(p.stdout)
        if p.returncode != 0 or b"dumped" not in p.stdout:
            print("heap_app failed: rc=%d" % p.returncode)
            return 1
        dumps = sorted(glob.glob(os.path.join(out_dir, "dump-*.lwd")))
        if not dumps:
            print("no dump written in %s" % out_dir)
            return 1
        r = subprocess.run([checker, dumps[0], out], stdout=subprocess.PIPE, timeout=120)
        sys.stdout.write(r.stdout.decode())
        return r.returncode
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

sys.exit(main())
