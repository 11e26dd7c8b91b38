#!/usr/bin/env bash
# The test suite: unit tests (Check) and integration tests on the real data, built
# twice, plainly and with AddressSanitizer + UndefinedBehaviorSanitizer, warnings as
# errors. About 3 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
dlsc_install_deps "${DLSC_BUILD_PACKAGES[@]}"

for variant in plain sanitize; do
  dir=build-test-$variant
  options=(--buildtype=debugoptimized -Dwerror=true)
  [ $variant = sanitize ] && options+=(-Db_sanitize=address,undefined -Db_lundef=false)
  [ -d $dir ] || meson setup $dir "${options[@]}" >/dev/null
  ninja -C $dir
  echo "== tests ($variant build)"
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
    meson test -C $dir --print-errorlogs
done
