#!/bin/sh
# The shared library's exported functions against the public header and the ABI list.
#   check-exports.sh LIBDLSC.so include/dlsc.h tests/abi/exports-N.txt (N: the soname major)
# Three sets must be equal: the functions the header declares DLSC_API, the defined
# dynamic symbols of the library, and the list for this soname. A function missing from
# the library lacks DLSC_API (consumers would not link); a symbol missing from the
# header leaks an internal; a name in the list but not in the library was removed, which
# breaks every program linked against this soname (bump the major version instead); a
# new function goes into the list with a CHANGELOG entry.
set -eu
lib=$1 header=$2 list=$3
command -v nm >/dev/null 2>&1 || { echo "nm not found: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -n 's/^DLSC_API[^(]*[ *]\([A-Za-z_][A-Za-z_0-9]*\)(.*/\1/p' "$header" | sort > "$tmp/header"
nm -D --defined-only "$lib" | awk '$2 ~ /^[TWi]$/ {print $3}' | sort > "$tmp/library"
grep -v '^#' "$list" | sed '/^$/d' | sort > "$tmp/list"
status=0
report() { # FILE_A FILE_B MESSAGE: names in A but not in B
  names=$(comm -23 "$1" "$2")
  if [ -n "$names" ]; then
    echo "$3:"; echo "$names" | sed 's/^/  /'; status=1
  fi
}
[ -s "$tmp/header" ] || { echo "no DLSC_API declarations found in $header"; exit 1; }
# A prototype at the start of a line without DLSC_API would be hidden from consumers.
bare=$(grep -nE '^(const )?[a-z_][a-z_0-9]*[ *]+dlsc_[a-z_0-9]*\(' "$header" || true)
[ -z "$bare" ] || { echo "declared without DLSC_API in $header:"; echo "$bare"; status=1; }
report "$tmp/header" "$tmp/library" "declared in $header but not exported (DLSC_API missing?)"
report "$tmp/library" "$tmp/header" "exported but not declared in $header"
report "$tmp/list" "$tmp/library" "in $list but no longer exported (an ABI break for this soname)"
report "$tmp/library" "$tmp/list" "exported but not in $list (add new functions there and to CHANGELOG.md)"
[ $status -eq 0 ] && echo "$(wc -l < "$tmp/library") exported functions match $header and $list"
exit $status
