#!/usr/bin/env bash
# Installs dependencies, builds leakwatch twice and runs the whole test suite:
#   build/      gcc, debugoptimized: every suite
#   build-san/  clang with ASan+UBSan on the analyzer and the reader library,
#               the expensive assert tier (invariant walkers) on, plus
#               libFuzzer targets run for a bounded time
# Prints one closing line "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0; failed=0
run_suite() { # dir, label, meson test args...
  local dir=$1 label=$2; shift 2
  local log="$dir/meson-logs/testlog.json"
  meson test -C "$dir" --print-errorlogs "$@"
  local rc=$?
  if [ -f "$log" ]; then
    local p f
    p=$(grep -c '"result": "OK"' "$log"); f=$(grep -c '"result": "\(FAIL\|TIMEOUT\|ERROR\|UNEXPECTEDPASS\)"' "$log")
    passed=$((passed + p)); failed=$((failed + f))
    echo "$label: $p passed, $f failed"
    # a skip is never silent: name each skipped test
    grep '"result": "SKIP"' "$log" | sed -n 's/.*"name": "\([^"]*\)".*/  SKIPPED: \1 (see its log)/p'
  elif [ $rc -ne 0 ]; then
    failed=$((failed + 1))
  fi
}
build() { # dir, meson setup args...
  local dir=$1; shift
  if [ ! -d "$dir" ]; then
    meson setup "$dir" "$@" >/dev/null || return 1
  else
    meson configure "$dir" "$@" >/dev/null || return 1
  fi
  ninja -C "$dir" >"$dir.build.log" 2>&1 || { cat "$dir.build.log"; return 1; }
}

if build build; then
  run_suite build gcc
else
  echo "build with gcc failed"; failed=$((failed + 1))
fi
if CC=clang CXX=clang++ build build-san -Dsanitize=true -Dfuzz=true -Dassert_level=2; then
  run_suite build-san sanitizers --no-suite integration --no-suite bench
else
  echo "build with clang+sanitizers failed"; failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
