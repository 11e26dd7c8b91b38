#!/usr/bin/env bash
# The test suite: unit tests (Check; one under a de_DE locale built here), the exported
# functions and public struct layouts against the soname's ABI lists (suite abi), the
# example programs on synthesised recordings, images and damaged CIFAR files (and the
# CIFAR programs' shared steps called directly) and integration tests on the real data, built twice, as a distribution would (hardening
# flags, link-time optimisation) and with AddressSanitizer +
# UndefinedBehaviorSanitizer, warnings as errors (suite oom: every allocation of the
# library failing in turn); the unit tests once more under valgrind (Memcheck, leaks
# included) and once with every parallel loop on two threads (OpenBLAS's OpenMP build);
# built with clang too (warnings as errors; unit, ABI and fuzz-corpus suites) and against
# another CBLAS without AVX copies, run on the reference BLAS and LAPACK (unit, ABI and
# out-of-memory suites); the threads suite under ThreadSanitizer; then the plain build
# is installed into a scratch directory and programs outside the tree are built against
# it through pkg-config (C shared and static, C++, and a CMake host) and run; last, a
# host project builds dlsc as a meson subproject and runs the same.
# About 7-8 minutes on 2 cores once the packages are installed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
dlsc_install_deps "${DLSC_BUILD_PACKAGES[@]}" valgrind libopenblas0-openmp clang \
  libblas-dev liblapack-dev cmake libomp-dev

# The de_DE locale of the locale test (scripts/deps.sh); where Debian's locales cannot be
# installed (no root) the test says it skipped.
if dlsc_comma_locale "$PWD/build-test-locales"; then
  export DLSC_TEST_LOCPATH=$PWD/build-test-locales
else
  echo "no de_DE locale (Debian's locales not installed): the locale test will skip" >&2
fi

for variant in plain sanitize; do
  dir=build-test-$variant
  options=(--buildtype=debugoptimized -Dwerror=true)
  # The plain build as distributions build packages (Debian's dpkg-buildflags: stack
  # protector, _FORTIFY_SOURCE, format checks, full RELRO; link-time optimisation with
  # fat objects, so that the static library also holds machine code for compilers
  # without GCC's LTO); it is the one installed for the consumers below.
  hardening="-fstack-protector-strong -D_FORTIFY_SOURCE=2 -Wformat -Werror=format-security"
  [ $variant = plain ] && options+=(-Db_lto=true "-Dc_args=-ffat-lto-objects $hardening"
    "-Dc_link_args=-Wl,-z,relro,-z,now")
  # (GCC's -fsanitize=undefined leaves out float-to-integer conversions out of range)
  [ $variant = sanitize ] && options+=(-Db_sanitize=address,undefined -Db_lundef=false
    -Dc_args=-fsanitize=float-cast-overflow -Dc_link_args=-fsanitize=float-cast-overflow)
  [ -d $dir ] || meson setup $dir "${options[@]}" >/dev/null
  ninja -C $dir
  echo "== tests ($variant build)"
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
    meson test -C $dir --print-errorlogs
  if [ $variant = plain ]; then
    echo "== unit tests under valgrind"
    meson test -C $dir --setup valgrind --suite unit --print-errorlogs
  fi
done

# With Debian's default OpenBLAS (pthreads) dlsc's OpenMP loops stay on one thread; on
# OpenBLAS's OpenMP build (installed beside the default, which stays the system's) they
# run on a team, but only past 32,768 elements. The unit tests once more on that build,
# two threads, from a build whose every parallel loop takes a team at any size.
echo "== unit tests with every parallel loop on 2 threads (OpenBLAS's OpenMP build)"
dir=build-test-threads
[ -d $dir ] || meson setup $dir --buildtype=debugoptimized -Dwerror=true \
  -Dc_args=-DDLSC_PARALLEL_MIN_WORK=1 -Dexamples=disabled -Dbench=disabled >/dev/null
ninja -C $dir
# meson runs two suites at a time, so four threads share two cores: OpenMP's threads,
# spinning while they wait, made the suites take 33 s and over 58 s instead of 3 s (a
# suite 55 s that takes 1 s alone) until they were told to sleep instead.
LD_LIBRARY_PATH=/usr/lib/$(gcc -print-multiarch)/openblas-openmp OMP_NUM_THREADS=2 \
  OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=passive DLSC_TEST_EXPECT_OPENMP=1 \
  meson test -C $dir --suite unit --print-errorlogs

# A second compiler: clang's warnings (as errors) and its symbol handling (it gave
# target_clones' resolvers default visibility: the exports test caught them). Built
# without libpng, so that dlsc-classify's and its tests' code for that case compiles
# under warnings as errors too (an unused variable there once broke such builds).
echo "== clang build: unit, ABI and fuzz-corpus tests"
dir=build-test-clang
[ -d $dir ] || CC=clang meson setup $dir --buildtype=debugoptimized -Dwerror=true \
  -Dpng=disabled >/dev/null
ninja -C $dir
meson test -C $dir --suite unit --suite abi --suite fuzz --print-errorlogs

# The most generic build: another CBLAS (-Dblas=cblas: pkg-config blas, Debian's
# libblas-dev), run on the reference BLAS and LAPACK (libblas3, liblapack3) rather than
# on the OpenBLAS that Debian's alternatives put behind libblas.so.3, and no AVX2 or
# AVX-512 copies of the activation and resampling loops (the baseline code that CPUs without
# AVX2 run, never picked on this machine otherwise): the library must need nothing of
# OpenBLAS's own, and compute the same to the unit tests' tolerances.
echo "== unit, ABI and out-of-memory tests on the reference BLAS (-Dblas=cblas)"
dir=build-test-cblas
[ -d $dir ] || meson setup $dir --buildtype=debugoptimized -Dwerror=true -Dblas=cblas \
  -Dvector_clones=disabled -Dexamples=disabled -Dbench=disabled >/dev/null
ninja -C $dir
multiarch=$(gcc -print-multiarch)
reference=/usr/lib/$multiarch/blas:/usr/lib/$multiarch/lapack
if LD_LIBRARY_PATH=$reference ldd $dir/lib/libdlsc.so | grep -e openblas -e 'not found'; then
  echo "the reference BLAS build loads OpenBLAS or misses a library" >&2
  exit 1
fi
LD_LIBRARY_PATH=$reference DLSC_TEST_EXPECT_CBLAS=1 meson test -C $dir --suite unit \
  --suite abi --suite oom --print-errorlogs

# ThreadSanitizer on the threads suite: threads on their own handles and on one shared
# const model, every race reported however the threads interleave. One OpenBLAS thread
# (its own pool synchronises in code TSan does not see), no OpenMP (libgomp is not
# instrumented either) and no target_clones (their resolvers run before TSan starts).
echo "== threads suite under ThreadSanitizer"
dir=build-test-tsan
[ -d $dir ] || meson setup $dir --buildtype=debugoptimized -Dwerror=true -Db_sanitize=thread \
  -Db_lundef=false -Dopenmp=disabled -Dvector_clones=disabled -Dexamples=disabled \
  -Dbench=disabled >/dev/null
ninja -C $dir tests/test_threads
# Without address-space randomisation where setarch may switch it off: GCC 12's TSan
# cannot start on kernels that randomise more bits (vm.mmap_rnd_bits 32).
norandom=()
setarch "$(uname -m)" -R true 2>/dev/null && norandom=(setarch "$(uname -m)" -R)
OPENBLAS_NUM_THREADS=1 TSAN_OPTIONS=halt_on_error=1 "${norandom[@]}" meson test -C $dir \
  --no-rebuild threads --print-errorlogs

echo "== the installed library through pkg-config (shared and static)"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
meson install -C build-test-plain --destdir "$stage" >/dev/null
pc=$(find "$stage" -name dlsc.pc)
prefix=$stage$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --variable=prefix dlsc)
# The staged dlsc.pc moved with the files (not --define-variable=prefix: pkg-config
# applies that to kissfft-float's file too, whose include folder then does not exist,
# which CMake's imported targets refuse).
sed -i "s|^prefix=.*|prefix=$prefix|" "$pc"
config=(env PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config)
libdir=$("${config[@]}" --variable=libdir dlsc)
cc -std=c11 -Wall -Werror tests/installed/consumer.c -o "$stage/consumer-shared" \
  $("${config[@]}" --cflags --libs dlsc) -lm
LD_LIBRARY_PATH=$libdir "$stage/consumer-shared"
# (static, with both compilers: the archive's LTO objects are fat, so clang links them)
static_libs=$("${config[@]}" --static --libs-only-other --libs-only-l dlsc | sed 's/-ldlsc//')
for compiler in cc clang; do
  $compiler -std=c11 -Wall -Werror tests/installed/consumer.c -o "$stage/consumer-static" \
    $("${config[@]}" --cflags dlsc) "$libdir/libdlsc.a" $static_libs -lm
  "$stage/consumer-static"
done
# (grep without -q reads all of ldd's output: an early exit could SIGPIPE ldd, and under
# pipefail a found match would then read as none)
if ldd "$stage/consumer-static" | grep libdlsc >/dev/null; then
  echo "the static build links libdlsc.so" >&2
  exit 1
fi
c++ -std=c++11 -Wall -Wextra -Werror tests/installed/consumer.cpp -o "$stage/consumer-cpp" \
  $("${config[@]}" --cflags --libs dlsc)
LD_LIBRARY_PATH=$libdir "$stage/consumer-cpp"
# A CMake host: pkg_check_modules' imported target (tests/installed/CMakeLists.txt)
PKG_CONFIG_PATH=$(dirname "$pc") cmake -S tests/installed -B "$stage/cmake" >/dev/null
cmake --build "$stage/cmake" >/dev/null
LD_LIBRARY_PATH=$libdir "$stage/cmake/consumer"
for model in dlsc-general.dlsc dlsc-general-low-latency.dlsc; do # dlsc-denoise's models
  [ -f "$prefix/share/dlsc/$model" ] || { echo "$model was not installed" >&2; exit 1; }
done
echo "pkg-config: shared and static (gcc, clang) C consumers, a C++ consumer and a CMake host OK; both models installed"

echo "== dlsc as a meson subproject of a host project"
host=$stage/host
mkdir -p "$host/subprojects"
cp tests/installed/consumer.c "$host/"
cp tests/installed/host-meson.build "$host/meson.build"
ln -s "$PWD" "$host/subprojects/dlsc"
meson setup "$host/build" "$host" --force-fallback-for=dlsc >/dev/null
ninja -C "$host/build" >/dev/null
"$host/build/consumer"
echo "meson subproject: the host built dlsc itself and ran the consumer"
