#!/bin/sh
# Line coverage of lib/ by the test suites, with gcov alone (no gcovr or lcov needed).
# Usage: scripts/coverage.sh [BUILD-DIR [SUITE...]]   (default build-coverage; all suites)
# Builds BUILD-DIR with -Db_coverage=true (a debug build), runs the suites, then prints
# each file's share of lines run and every line of lib/ no test ran ("#####" in gcov's
# notation). A line inside function clones (the AVX-512 / AVX2 / default copies of one
# loop) is listed when one of its copies did not run: the others than this processor's.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build-coverage}
[ $# -gt 0 ] && shift
case $build in /*) ;; *) build=$root/$build ;; esac
if [ ! -d "$build" ]; then
  meson setup "$build" "$root" -Db_coverage=true -Dbuildtype=debug >/dev/null
fi
ninja -C "$build" >/dev/null
objects=$(find "$build/lib" -maxdepth 1 -type d -name 'libdlsc.so*.p' | head -n 1)
if [ -z "$objects" ] || ! ls "$objects"/*.gcno >/dev/null 2>&1; then
  echo "coverage.sh: $build is not a coverage build of the shared library;" \
    "name a new folder, or: meson configure $build -Db_coverage=true" >&2
  exit 1
fi
find "$build" -name '*.gcda' -delete
suites=""
for suite in "$@"; do suites="$suites --suite $suite"; done
# shellcheck disable=SC2086 # one word per option
meson test -C "$build" --no-rebuild --num-processes 2 $suites >/dev/null ||
  echo "coverage.sh: some tests failed (meson-logs/testlog.txt); the figures count them" >&2
if ! ls "$objects"/*.gcda >/dev/null 2>&1; then
  echo "coverage.sh: the suites run no code of lib/ (no .gcda files)" >&2
  exit 1
fi
report=$(mktemp -d)
trap 'rm -rf "$report"' EXIT
# gcov names sources relative to the build directory: run it from there, write to report
(cd "$build" && gcov -o "$objects" "$objects"/*.gcda) |
  awk '/^File .*\/lib\// { file = $2 } /^Lines executed/ && file { print file, $2, $4; file = "" }' |
  tr -d "'" | sed "s|^.*/lib/|lib/|; s|executed:||" | sort |
  awk '{ print; share = $2; sub(/%/, "", share); run += share * $3 / 100; lines += $3 }
       END { printf "lib/ in all: %.2f%% of %d lines\n", 100 * run / lines, lines }'
mv "$build"/*.gcov "$report"/ 2>/dev/null || true
echo
echo "Lines no test ran (file:line: source):"
for f in "$report"/*.c.gcov; do
  source=$(sed -n 's|^ *-: *0:Source:.*/lib/|lib/|p' "$f")
  awk -F: -v name="$source" '$1 ~ /#####/ { line = $2; sub(/^ */, "", line);
    text = $0; sub(/^[^:]*:[^:]*:/, "", text); print name ":" line ":" text }' "$f" | sort -t: -k2,2n -u
done
