#!/bin/sh
# run_under_shim.sh [VAR=VALUE...] PROGRAM [ARGS...]
# Runs PROGRAM with LD_PRELOAD=$LEAKWATCH_SHIM (set by tests/meson.build's
# test_env) and LEAKWATCH_DIR pointing at a fresh temporary directory that is
# removed afterwards. Leading VAR=VALUE arguments are added to the
# environment. Exit status is PROGRAM's.
set -eu
: "${LEAKWATCH_SHIM:?LEAKWATCH_SHIM is not set (run through meson test)}"
dir=$(mktemp -d "${TMPDIR:-/tmp}/lwshim.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
rc=0
env LEAKWATCH_DIR="$dir/out" LD_PRELOAD="$LEAKWATCH_SHIM" "$@" || rc=$?
exit $rc
