#!/bin/sh
# test_symbols.sh LIB MAP NM — the shim exports exactly the names listed in
# the version script's global: section (libinput's symbol-leak test).
set -eu
lib=$1 map=$2 nm=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lwsym.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# names between "global:" and "local:", without comments, one per line
sed -e 's|/\*.*\*/||g' -e '/^\s*\*/d' -e '/^\s*\/\*/d' "$map" |
	awk '/global:/ {on=1; next} /local:/ {on=0} on' |
	tr ';' '\n' | tr -d ' \t' | grep -v '^$' | sort -u >"$tmp/expected"
"$nm" -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | grep -v '^$' | sort -u >"$tmp/actual"
if [ "$(wc -l <"$tmp/expected")" -lt 40 ]; then
	echo "FAIL: could not parse $map"; exit 1
fi
if ! diff -u "$tmp/expected" "$tmp/actual"; then
	echo "FAIL: exported symbols differ from $map (- expected, + actual)"
	exit 1
fi
echo "PASS: $(wc -l <"$tmp/expected") exported symbols match $map"
