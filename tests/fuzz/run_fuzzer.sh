#!/bin/sh
# run_fuzzer.sh FUZZER SEED_DIR WORK_DIR SECONDS
# Runs a libFuzzer binary for SECONDS on a fresh copy of SEED_DIR in WORK_DIR
# (the fuzzer adds inputs to its first corpus directory; the source tree stays
# untouched). Crash artifacts land in WORK_DIR/artifacts/.
set -eu
fuzzer=$1 seeds=$2 work=$3 seconds=$4
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
cp "$seeds"/* "$work/corpus/"
exec "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 \
	-error_exitcode=1 -timeout_exitcode=1 \
	-artifact_prefix="$work/artifacts/" -print_final_stats=1 "$work/corpus"
