#!/usr/bin/env bash
# Portability check, not part of scripts/test.sh: the library and its unit, ABI and
# fuzz-corpus suites built for 32-bit x86 (32-bit size_t and long) and run. It adds
# Debian's i386 architecture to dpkg and installs the i386 libraries (as root, or through
# sudo). About a minute once the packages are there.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
if ! dpkg --print-foreign-architectures | grep -qx i386; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo dpkg --add-architecture i386
  $sudo apt-get update -qq
fi
dlsc_install_deps gcc-multilib meson ninja-build pkg-config libkissfft-dev:i386 \
  libopenblas-dev:i386 check:i386 libsubunit-dev:i386
dir=build-test-i386
[ -d $dir ] || meson setup $dir --cross-file scripts/i386.ini --buildtype=debugoptimized \
  -Dwerror=true -Dexamples=disabled -Dbench=disabled >/dev/null
ninja -C $dir
meson test -C $dir --suite unit --suite abi --suite fuzz --print-errorlogs
