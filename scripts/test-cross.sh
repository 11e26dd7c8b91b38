#!/usr/bin/env bash
# Portability checks beside scripts/test.sh (not part of it): the library and its unit,
# ABI, fuzz-corpus and out-of-memory suites built for other CPUs with Debian's cross
# compilers and libraries, and run: i386 (32-bit x86: 32-bit size_t and long) directly,
# arm64 (64-bit Arm: char unsigned, no x86 code paths) and s390x (64-bit IBM Z:
# big-endian, float expressions evaluated in double) under qemu-user, the locale test
# with a de_DE locale compiled in each target's byte order. It adds the
# architectures to dpkg and installs their libraries and Debian's cross compilers (as
# root, or through sudo; gcc-multilib would conflict with the cross compilers).
#   scripts/test-cross.sh [i386] [arm64] [s390x]     (default all; about 8 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(i386 arm64 s390x)
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
for arch in "${targets[@]}"; do
  case $arch in
    i386) tools=(gcc-i686-linux-gnu libgomp1:i386) cross=scripts/i386.ini ;;
    arm64) tools=(gcc-aarch64-linux-gnu qemu-user libgomp1:arm64) cross=scripts/aarch64.ini ;;
    s390x) tools=(gcc-s390x-linux-gnu qemu-user libgomp1:s390x) cross=scripts/s390x.ini ;;
    *) echo "usage: scripts/test-cross.sh [i386] [arm64] [s390x]" >&2; exit 2 ;;
  esac
  foreign=$(dpkg --print-foreign-architectures) # (grep -q in a pipe: SIGPIPE, pipefail)
  if ! grep -qx $arch <<<"$foreign"; then
    $sudo dpkg --add-architecture $arch
    $sudo apt-get update -qq || echo "apt-get update reported errors; trying the install" >&2
  fi
  dlsc_install_deps meson ninja-build pkg-config "${tools[@]}" libkissfft-dev:$arch \
    libopenblas-dev:$arch check:$arch libsubunit-dev:$arch
  dir=build-test-$arch
  [ -d $dir ] || meson setup $dir --cross-file $cross --buildtype=debugoptimized \
    -Dwerror=true -Dexamples=disabled -Dbench=disabled >/dev/null
  ninja -C $dir
  # the locale test's de_DE locale in the target's byte order (glibc reads only its own)
  unset DLSC_TEST_LOCPATH
  order=--little-endian
  [ $arch = s390x ] && order=--big-endian
  dlsc_comma_locale "$PWD/$dir-locales" $order && export DLSC_TEST_LOCPATH=$PWD/$dir-locales
  echo "== unit, ABI, fuzz-corpus and out-of-memory tests ($arch)"
  # qemu-user runs them 10-50 times slower: the tests' own time limits stretch too
  CK_TIMEOUT_MULTIPLIER=20 meson test -C $dir --suite unit --suite abi --suite fuzz \
    --suite oom --timeout-multiplier 20 --print-errorlogs
done
