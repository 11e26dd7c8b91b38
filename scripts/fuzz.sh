#!/usr/bin/env bash
# Fuzzes the three parsers of untrusted input, the model loader (dlsc_model_load), the
# spec parser (dlsc_model_create_from_spec) and the training-state loader
# (dlsc_training_state_load: a refused state changes nothing), the STFT's
# reconstruction over any configuration and length, streaming denoising against the
# whole-signal result over STFTs, context windows, models and chunkings, streaming
# resampling against the whole-signal resampler (bit for bit, any rates and chunks), and
# the atomic training step (a failed step leaves no trace, a successful one a model that
# loads back) and datasets (any sequence of calls, epochs of training included: the bad
# ones refused, batches of the data added, failed epochs without a trace, the same
# bytes from the same seed), with libFuzzer under ASan + UBSan, for SECONDS each
# (default 300). The loader and spec targets also check what must hold for every model
# that builds (tests/fuzz/fuzz.h): it saves back to the same bytes, describes itself in
# a spec that rebuilds it, runs forward and denoises.
# Usage: scripts/fuzz.sh [SECONDS] [BUILD-DIR]
# The corpus grows in BUILD-DIR/fuzz-corpus/TARGET (seeded from tests/fuzz/corpus); a
# fault leaves its input as BUILD-DIR/fuzz-TARGET-crash-*. Once it is fixed, add that
# input to tests/fuzz/corpus/TARGET under a name saying what it found: the test suite
# `fuzz` replays the corpus in every build. scripts/fuzz-merge.sh then folds what the
# fuzzing reached anew into tests/fuzz/corpus/TARGET/coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
dlsc_install_deps "${DLSC_BUILD_PACKAGES[@]}" clang
seconds=${1:-300}
dir=${2:-build-fuzz}
# The library is instrumented for coverage too (fuzzer-no-link), not only the targets.
[ -d "$dir" ] || CC=clang meson setup "$dir" --buildtype=debugoptimized -Dfuzz=true \
  -Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link \
  -Dexamples=disabled -Dbench=disabled -Dopenmp=disabled >/dev/null
ninja -C "$dir" tests/fuzz/fuzz_model tests/fuzz/fuzz_spec tests/fuzz/fuzz_state \
  tests/fuzz/fuzz_stft tests/fuzz/fuzz_stream tests/fuzz/fuzz_resample tests/fuzz/fuzz_train \
  tests/fuzz/fuzz_dataset
for target in model spec state stft stream resample train dataset; do
  mkdir -p "$dir/fuzz-corpus/$target"
  echo "== fuzz_$target for $seconds s"
  # Allocations over 128 MB fail (NULL) instead of stopping the fuzzer, so that specs
  # asking for huge models exercise the out-of-memory paths (at 512 MB a spec with a
  # 127 M-weight dense layer took over the 10 s timeout to build, describe and rebuild).
  ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=128 \
    "$dir/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$dir/fuzz-$target-" \
    "$dir/fuzz-corpus/$target" tests/fuzz/corpus/$target
done
