#!/bin/sh
# The public header compiles in programs of older language standards: tests/abi/
# standards.c as C89, C99 and C11 with the C compiler, and as C++98, C++11, C++17 and
# C++20 with the C++ one (if there is one), each -pedantic, warnings as errors; and
# defines no macro outside its namespace (a consumer's own names stay free).
#   check-standards.sh INCLUDE-DIR SOURCE CC [CC-ARGS...] [-- CXX [CXX-ARGS...]]
set -eu
include=$1 source=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc= cxx=
while [ $# -gt 0 ] && [ "$1" != -- ]; do cc="$cc '$(printf %s "$1" | sed "s/'/'\\\\''/g")'"; shift; done
[ $# -gt 0 ] && shift
while [ $# -gt 0 ]; do cxx="$cxx '$(printf %s "$1" | sed "s/'/'\\\\''/g")'"; shift; done
status=0 count=0
try() { # LANGUAGE STANDARD COMPILER
  count=$((count + 1))
  if ! eval "$3 -x $1 -std=$2 -pedantic -Wall -Wextra -Werror -I'$include' -c '$source' \
      -o '$tmp/out.o'" > "$tmp/log" 2>&1; then
    echo "dlsc.h does not compile as $2:"
    cat "$tmp/log"
    status=1
  fi
}
for standard in c89 c99 c11; do try c $standard "$cc"; done
if [ -n "$cxx" ]; then
  for standard in c++98 c++11 c++17 c++20; do try c++ $standard "$cxx"; done
else
  echo "no C++ compiler: C++ standards not checked"
fi
# and every macro it defines is in the library's namespace (DLSC_*, dlsc_*)
printf '#include <stddef.h>\n#include <stdint.h>\n' > "$tmp/base.c"
printf '#include <stddef.h>\n#include <stdint.h>\n#include <dlsc.h>\n' > "$tmp/with.c"
for name in base with; do
  eval "$cc -E -dM -I'$include' '$tmp/$name.c'" | awk '{sub(/\(.*/, "", $2); print $2}' |
    sort > "$tmp/$name.macros"
done
outside=$(comm -13 "$tmp/base.macros" "$tmp/with.macros" | grep -v -E '^(DLSC_|dlsc_)' || true)
if [ -n "$outside" ]; then
  echo "dlsc.h defines macros outside its namespace: $outside"
  status=1
fi
[ $status = 0 ] && echo "dlsc.h compiles in $count language standards; its macros are DLSC_* and dlsc_*"
exit $status
