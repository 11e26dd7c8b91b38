#!/usr/bin/env bash
# Rebuilds tests/fuzz/corpus/TARGET/coverage from what scripts/fuzz.sh has found: the
# corpus grown in BUILD-DIR/fuzz-corpus/TARGET, merged by libFuzzer down to a few inputs
# per coverage edge (-merge=1 -use_counters=0), so that the suite `fuzz` replays in every
# build (sanitized, 32-bit, big-endian) the parser and engine paths the fuzzers reached.
# Inputs that allocate more than 128 MB (specs of huge models, which the fuzzers see fail)
# are left out: replayed without the fuzzers' allocation limit they would take gigabytes.
# Usage: scripts/fuzz-merge.sh [BUILD-DIR]   (the build of scripts/fuzz.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-fuzz}
for target in model spec state stft stream resample train; do
  fuzzer="$dir/tests/fuzz/fuzz_$target"
  replay="$dir/tests/fuzz/fuzz_${target}_replay"
  merged=$(mktemp -d) sources=$(mktemp -d) log=$(mktemp)
  # the named inputs (seeds, findings) come first: merged inputs only add to them
  find "tests/fuzz/corpus/$target" -maxdepth 1 -type f -exec cp {} "$merged/" \;
  seeds=$(ls "$merged")
  [ -d "tests/fuzz/corpus/$target/coverage" ] &&
    mv "tests/fuzz/corpus/$target/coverage" "$sources/old"
  ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=128 \
    "$fuzzer" -merge=1 -use_counters=0 -rss_limit_mb=4096 -timeout=10 "$merged" \
    "$sources" "$dir/fuzz-corpus/$target" > "$log" 2>&1 || { cat "$log"; exit 1; }
  (cd "$merged" && rm -f $seeds)
  mkdir "tests/fuzz/corpus/$target/coverage"
  kept=0
  for input in "$merged"/*; do
    [ -e "$input" ] || continue
    if ASAN_OPTIONS=max_allocation_size_mb=128 "$replay" "$input" > /dev/null 2>&1; then
      cp "$input" "tests/fuzz/corpus/$target/coverage/"
      kept=$((kept + 1))
    fi
  done
  echo "fuzz_$target: $kept inputs in tests/fuzz/corpus/$target/coverage"
  rm -rf "$merged" "$sources" "$log"
done
