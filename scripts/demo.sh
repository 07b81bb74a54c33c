#!/usr/bin/env bash
# The leakwatch demo: installs dependencies, builds, runs a leaking service
# under the shim, takes a heap dump while it runs, and shows what the analyzer
# says. Output files land in ./demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

lw=build/analyze/leakwatch
out=$PWD/demo-out
rm -rf "$out"; mkdir -p "$out"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "running testapps/leak_churn for 20 s under the shim (a 1 KiB-per-session leak, a cache that fills and plateaus, heavy churn)"
"$lw" run -o "$out/run" --rate 65536 --interval 1 -- \
  build/testapps/leak_churn --duration 20 --leak-every 10 --sleep-us 2000 >/dev/null &
runner=$!
app=""
for _ in $(seq 100); do
  app=$(pgrep -P "$runner" -x leak_churn || true)
  [ -n "$app" ] && break
  sleep 0.1
done
sleep 10
say "leakwatch snapshot $app   (a full heap dump with the pointer graph, taken in a forked child)"
dump=$("$lw" snapshot "$app")
echo "$dump"
wait "$runner"

say "leakwatch growth $out/run   (which sites grow steadily?)"
"$lw" growth "$out/run" -n 5

say "leakwatch top $out/run -n 5"
"$lw" top "$out/run" -n 5

first=$(ls "$out"/run/snap-*.lwd | head -n 1)
last=$(ls "$out"/run/snap-*.lwd | tail -n 1)
say "leakwatch diff $(basename "$first") $(basename "$last")"
"$lw" diff "$first" "$last" -n 5

say "leakwatch retainers $(basename "$dump") --site leak_session_buffer   (who keeps the leak alive?)"
"$lw" retainers "$dump" --site leak_session_buffer -n 3
"$lw" retainers "$dump" --site leak_session_buffer -o "$out/retainers.svg"

say "leakwatch report $out/run -o $out/report.html   (all of it on one page)"
"$lw" report "$out/run" -o "$out/report.html"

"$lw" export "$out/run" --format pprof -o "$out/profile.pb.gz"
"$lw" export "$out/run" --format collapsed -o "$out/profile.folded"
say "files"
echo "report (open it):       $out/report.html"
echo "snapshots and dumps:    $out/run/"
echo "retainer graph (SVG):   $out/retainers.svg"
echo "pprof profile:          $out/profile.pb.gz   (go tool pprof -top $out/profile.pb.gz)"
echo "folded stacks:          $out/profile.folded"
