#!/usr/bin/env bash
# Adds to tests/fuzz/corpus/TARGET/coverage what scripts/fuzz.sh has found: the inputs of
# the corpus grown in BUILD-DIR/fuzz-corpus/TARGET that reach coverage edges the
# committed corpus does not, a few per edge (libFuzzer's -merge=1 -use_counters=0), so
# that the suite `fuzz` replays in every build (sanitized, 32-bit, big-endian) the
# parser and engine paths the fuzzers reached.
# Inputs that allocate more than 128 MB (specs of huge models, which the fuzzers see fail)
# are left out: replayed without the fuzzers' allocation limit they would take gigabytes.
# Usage: scripts/fuzz-merge.sh [BUILD-DIR]   (the build of scripts/fuzz.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-fuzz}
for target in model spec state stft stream resample train dataset; do
  fuzzer="$dir/tests/fuzz/fuzz_$target"
  replay="$dir/tests/fuzz/fuzz_${target}_replay"
  corpus="tests/fuzz/corpus/$target"
  merged=$(mktemp -d) log=$(mktemp)
  mkdir -p "$corpus/coverage"
  # what the corpus holds already (seeds, findings, earlier coverage) comes first, so the
  # merge only adds inputs that reach edges none of it reaches: reruns append, never
  # reshuffle
  find "$corpus" -type f -exec cp {} "$merged/" \;
  before=$(ls "$merged")
  ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=128 \
    "$fuzzer" -merge=1 -use_counters=0 -rss_limit_mb=4096 -timeout=10 "$merged" \
    "$dir/fuzz-corpus/$target" > "$log" 2>&1 || { cat "$log"; exit 1; }
  (cd "$merged" && rm -f $before)
  added=0
  for input in "$merged"/*; do
    [ -e "$input" ] || continue
    if ASAN_OPTIONS=max_allocation_size_mb=128 "$replay" "$input" > /dev/null 2>&1; then
      cp "$input" "$corpus/coverage/"
      added=$((added + 1))
    fi
  done
  echo "fuzz_$target: $added inputs added to $corpus/coverage ($(ls "$corpus/coverage" | wc -l) in all)"
  rm -rf "$merged" "$log"
done
