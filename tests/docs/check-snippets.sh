#!/bin/sh
# The C examples of the documentation against the public header: every ```c block of the
# Markdown files given is compiled (syntax and types only, nothing linked or run) as the
# body of a function, so a renamed function, a changed argument list or a field that no
# longer exists fails here instead of in a reader's program.
#   check-snippets.sh INCLUDE-DIR CC [CC-ARGS...] -- FILE.md...
# Names a block takes as given (the caller's buffers, sizes and handles) are declared
# in the prelude below. In a block with a line starting "static " (a callback's
# definition), the lines through its last "}" in the first column go to file scope, as
# do lines starting with '#'; the rest goes into the function.
set -eu
include=$1
shift
compiler=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  compiler="$compiler '$(printf %s "$1" | sed "s/'/'\\\\''/g")'"
  shift
done
[ $# -gt 1 ] || { echo "usage: check-snippets.sh INCLUDE-DIR CC [ARGS...] -- FILE.md..."; exit 2; }
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/prelude.h" <<'PRELUDE'
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "dlsc.h"
/* what the documentation's examples take as given */
extern float *samples, *magnitude, *phase, *resynthesised, *noisy, *clean, *in48k, *in16,
    *out16, *out48, *block, *chunk, *out, *tail, *images;
extern size_t n_samples, n, n_train, n_test, latency16;
extern int have_input;
extern const char *spec;
extern const uint8_t *pixels, *test_pixels;
extern const int32_t *labels, *test_labels;
extern dlsc_model_t *model;
extern dlsc_stft_t *stft;
extern dlsc_stream_t *stream, *stream16;
extern dlsc_dataset_t *data;
extern dlsc_train_config config;
extern dlsc_train_stats stats;
PRELUDE
count=0 failed=0
for doc in "$@"; do
  # one file per block: BASE-LINE.c, LINE the block's first line in the document
  awk -v out="$tmp/$(basename "$doc" .md)" '
    /^```c[ \t]*$/ { inside = 1; start = NR + 1; n = 0; next }
    inside && /^```/ {
      inside = 0; last = 0
      for (i = 1; i <= n; i++) if (line[i] ~ /^static /) file_scope = 1
      for (i = 1; file_scope && i <= n; i++) if (line[i] ~ /^}/) last = i
      file_scope = 0
      file = out "-" start ".c"
      print "#include \"prelude.h\"" > file
      printf "#line %d \"%s\"\n", start, FILENAME > file
      for (i = 1; i <= n; i++) {
        if (i <= last || line[i] ~ /^#/) print line[i] > file
        else print "" > file
      }
      printf "#line %d \"%s\"\nvoid snippet(void);\nvoid snippet(void) {\n", start, FILENAME > file
      for (i = 1; i <= n; i++) {
        if (i <= last || line[i] ~ /^#/) print "" > file
        else print line[i] > file
      }
      print "}" > file
      close(file)
      next
    }
    inside { line[++n] = $0 }
  ' "$doc"
done
for source in "$tmp"/*.c; do
  [ -e "$source" ] || continue
  count=$((count + 1))
  if ! eval "$compiler" -std=c11 -fsyntax-only -Wall -Wextra -Werror -Wno-unused \
      -Wno-unused-parameter -I "'$include'" -I "'$tmp'" "'$source'"; then
    failed=$((failed + 1))
  fi
done
[ "$count" -gt 0 ] || { echo "no C blocks found in $*"; exit 1; }
echo "$count C blocks compiled, $failed failed"
[ "$failed" -eq 0 ]
