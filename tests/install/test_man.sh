#!/bin/sh
# test_man.sh LEAKWATCH PAGE... — the man pages are clean roff and complete:
#   - groff -man -ww and man --warnings print no warning for any PAGE;
#   - leakwatch.1 (the first PAGE) has a section `.SS "leakwatch CMD ..."`
#     for every command that `leakwatch --help` lists, and that section
#     names every option that `leakwatch CMD --help` shows.
# A new command or option therefore needs its lines in docs/man/leakwatch.1.
set -eu
lw=$1; shift
page1=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lwman.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
failed=0
for page in "$@"; do
	LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$page" 2>"$tmp/groff.err" || true
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" >"$tmp/out" 2>"$tmp/man.err" || true
	if [ -s "$tmp/groff.err" ] || [ -s "$tmp/man.err" ] || ! grep -q '^NAME' "$tmp/out"; then
		echo "FAIL: $page:"; cat "$tmp/groff.err" "$tmp/man.err"; failed=1
	else
		echo "ok: $page renders without warnings ($(wc -l <"$tmp/out") lines)"
	fi
done
# roff source with \- turned into -, for searching
sed 's/\\-/-/g' "$page1" >"$tmp/src"
cmds=$("$lw" --help | sed -n 's/^ *leakwatch \([a-z][a-z]*\) .*/\1/p' | sort -u)
[ -n "$cmds" ] || { echo "FAIL: no commands in leakwatch --help"; exit 1; }
for c in $cmds; do
	awk -v c="$c" '/^\.S[SH] /{on = index($0, ".SS \"leakwatch " c " ") == 1 || $0 == ".SS \"leakwatch " c "\""} on' \
		"$tmp/src" >"$tmp/sec"
	if [ ! -s "$tmp/sec" ]; then
		echo "FAIL: leakwatch.1 has no section for '$c'"; failed=1; continue
	fi
	opts=$("$lw" "$c" --help 2>&1 | grep -oE '(^|[][ ])--?[a-z][a-z-]*' | sed 's/^[][ ]*//' |
		grep -v '^--help$' | sort -u)
	for o in $opts; do
		if ! grep -qE -- "(^|[^a-z-])$o([^a-z-]|$)" "$tmp/sec"; then
			echo "FAIL: leakwatch.1, section '$c': option $o (from leakwatch $c --help) is not described"
			failed=1
		fi
	done
	echo "ok: $c: $(echo $opts | wc -w) options"
done
[ $failed -eq 0 ] && echo PASS
exit $failed
