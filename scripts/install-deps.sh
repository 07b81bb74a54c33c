#!/usr/bin/env bash
# Installs everything leakwatch needs to build, test, benchmark and demo on
# Debian 12. Run as root. Idempotent: skips apt when all packages are present.
set -euo pipefail
pkgs=(
  build-essential clang libclang-rt-14-dev meson ninja-build pkg-config
  libmimalloc-dev libmimalloc2.0 libsqlite3-dev sqlite3
  libgraphviz-dev graphviz libdw-dev libelf-dev elfutils zlib1g-dev
  golang-go python3 g++ binutils file procps git libxml2-utils
  libjemalloc2 libgoogle-perftools4 heaptrack hyperfine linux-perf
  redis-server redis-tools groff-base man-db
  chromium chromium-driver python3-selenium
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages: ${missing[*]} (run as root)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
