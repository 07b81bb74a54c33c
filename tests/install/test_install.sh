#!/bin/sh
# test_install.sh BUILD PREFIX BINDIR LIBDIR INCLUDEDIR MANDIR VERSION APP
# `meson install` into a DESTDIR, then everything is used from there, with
# nothing of the build tree in reach (LEAKWATCH_SHIM unset):
#   - exactly the expected files are installed, without a build-tree RUNPATH;
#   - the installed `leakwatch run` preloads the installed shim (found
#     relative to its own executable), the testapp APP writes snapshots and
#     the installed `leakwatch top` reads them;
#   - a C program built with `pkg-config --cflags --libs leakwatch` calls
#     leakwatch_snapshot() and gets a file; built with --cflags only and
#     LEAKWATCH_WEAK, it runs without the shim and works under it;
#   - `man -l` renders both installed pages.
# The directories are absolute (prefix joined with meson's options).
set -eu
build=$1 prefix=$2 bindir=$3 libdir=$4 includedir=$5 mandir=$6 version=$7 app=$8
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lwinstall.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
root=$tmp/root
fail() { echo "FAIL: $*"; exit 1; }
unset LEAKWATCH_SHIM LD_PRELOAD LEAKWATCH_DIR || true
export XDG_CACHE_HOME="$tmp/cache"

meson install -C "$build" --destdir "$root" --no-rebuild >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; fail "meson install"; }

# 1. the installed files, exactly
cat >"$tmp/expected" <<LIST
$bindir/leakwatch
$includedir/leakwatch.h
$libdir/libleakwatch.so
$libdir/pkgconfig/leakwatch.pc
$mandir/man1/leakwatch.1
$mandir/man7/libleakwatch.7
LIST
sort -o "$tmp/expected" "$tmp/expected"
(cd "$root" && find . -type f -o -type l) | sed 's|^\.||' | sort >"$tmp/actual"
diff -u "$tmp/expected" "$tmp/actual" || fail "installed files differ (- expected, + actual)"
echo "installed:"; sed 's/^/  /' "$tmp/actual"
lw=$root$bindir/leakwatch
for f in "$lw" "$root$libdir/libleakwatch.so"; do
	if readelf -d "$f" | grep -E 'RPATH|RUNPATH' | grep -q "$build"; then
		fail "$f keeps a RUNPATH into the build tree"
	fi
done
[ "$("$lw" --version | tr -d '\n')" != "" ] || fail "leakwatch --version printed nothing"
"$lw" --version | grep -q "$version" || fail "leakwatch --version is not $version"

# 2. the installed run finds the installed shim, files appear, top reads them
shim=$(readlink -f "$root$libdir/libleakwatch.so")
pre=$(cd "$tmp" && "$lw" run -o "$tmp/sh-out" -- /bin/sh -c 'printf %s "$LD_PRELOAD"' 2>/dev/null)
[ "$pre" = "$shim" ] || fail "leakwatch run preloaded '$pre', not the installed '$shim'"
(cd "$tmp" && "$lw" run -o "$tmp/out" --rate 4096 --interval 0.2 -- \
	"$app" --iterations 30000 --points 2 >"$tmp/app.out" 2>"$tmp/app.err") ||
	{ cat "$tmp/app.err"; fail "leakwatch run $app"; }
n=$(ls "$tmp/out" | grep -c '^snap-.*\.lwd$' || true)
[ "$n" -ge 2 ] || fail "only $n snapshots in $tmp/out"
"$lw" top "$tmp/out" -n 5 >"$tmp/top.txt" 2>&1 || { cat "$tmp/top.txt"; fail "leakwatch top"; }
grep -q leak_session_buffer "$tmp/top.txt" || { cat "$tmp/top.txt"; fail "top does not show the leak"; }
echo "run + top from the install: ok ($n snapshots)"

# 3. pkg-config and the API
export PKG_CONFIG_PATH="$root$libdir/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root"
[ "$(pkg-config --modversion leakwatch)" = "$version" ] || fail "pkg-config --modversion"
flags=$(pkg-config --cflags --libs leakwatch)
cat >"$tmp/api.c" <<'C'
#include <leakwatch.h>
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
	char *volatile p = malloc(1 << 20);
	int rc = leakwatch_snapshot();
	printf("leakwatch_snapshot() = %d\n", rc);
	free(p);
	return rc == 0 ? 0 : 1;
}
C
cc -o "$tmp/api" "$tmp/api.c" $flags || fail "cc api.c $flags"
LD_LIBRARY_PATH="$root$libdir" LEAKWATCH_DIR="$tmp/api-out" "$tmp/api" ||
	fail "the program linked with -lleakwatch"
[ -f "$tmp/api-out/snap-000000.lwd" ] || fail "no snap-000000.lwd from leakwatch_snapshot()"
"$lw" top "$tmp/api-out" --snapshot 0 >/dev/null 2>&1 || fail "top of the API snapshot"
cat >"$tmp/weak.c" <<'C'
#define LEAKWATCH_WEAK
#include <leakwatch.h>
#include <stdio.h>
int main(void)
{
	if (!leakwatch_snapshot) {
		puts("no shim");
		return 0;
	}
	return leakwatch_snapshot() == 0 ? 0 : 1;
}
C
cc -o "$tmp/weak" "$tmp/weak.c" $(pkg-config --cflags leakwatch) || fail "cc weak.c"
[ "$("$tmp/weak")" = "no shim" ] || fail "the weak program without the shim"
LD_PRELOAD="$shim" LEAKWATCH_DIR="$tmp/weak-out" "$tmp/weak" || fail "the weak program under the shim"
[ -f "$tmp/weak-out/snap-000000.lwd" ] || fail "no snapshot from the weak program"
echo "pkg-config --cflags --libs: $flags: ok"

# 4. the installed man pages render
for page in "$root$mandir/man1/leakwatch.1" "$root$mandir/man7/libleakwatch.7"; do
	MANWIDTH=80 man -l "$page" 2>"$tmp/man.err" | grep -q '^NAME' ||
		{ cat "$tmp/man.err"; fail "man -l $page"; }
done
echo "PASS"
