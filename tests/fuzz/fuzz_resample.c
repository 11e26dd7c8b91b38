/* Fuzz target: streaming resampling against the whole-signal result. The input picks
 * two rates (common audio rates or any of 1 .. 200,000 Hz), a signal (1 .. 5,000
 * samples, at most about 50,000 outputs) and the sizes of the chunks it is pushed in (0 too),
 * with a NaN chunk and a too-small output buffer now and then, which must be refused
 * and leave the handle as it was. The concatenated outputs must equal dlsc_resample's
 * bit for bit, each call's size query must give the count it then writes, and a second
 * signal after the flush must come out as from a fresh handle; any other outcome
 * aborts. */
#include "fuzz.h"

#include <math.h>

static unsigned take_rate(fuzz_input *in) {
  static const unsigned common[] = {8000, 11025, 16000, 22050, 44100, 48000, 96000};
  unsigned pick = fuzz_take(in, 9);
  if (pick < 7)
    return common[pick];
  return 1 + fuzz_take(in, 200) * 1000 + fuzz_take(in, 1000); /* 1 .. 200,000 */
}

/* Pushes x through r in chunks chosen by in; returns the number of outputs written. */
static size_t stream_through(dlsc_resampler_t *r, fuzz_input *in, const float *x, size_t n,
                             float *out, size_t capacity) {
  float *poison = malloc(n * sizeof *poison);
  fuzz_require(poison != NULL, "out of memory");
  size_t count = 0, want, got;
  for (size_t done = 0; done < n;) {
    size_t chunk = in->size >= 2 ? fuzz_take(in, 1024) : n - done; /* 0 would not end */
    chunk = chunk < n - done ? chunk : n - done;
    fuzz_require(dlsc_resampler_process(r, x + done, chunk, NULL, 0, &want) == DLSC_OK, "query");
    fuzz_require(count + want <= capacity, "more outputs than the signal has");
    switch (fuzz_take(in, 8)) {
    case 0: /* a NaN chunk: refused, nothing consumed */
      if (chunk == 0)
        break;
      memcpy(poison, x + done, chunk * sizeof *poison);
      poison[chunk / 2] = NAN;
      fuzz_require(dlsc_resampler_process(r, poison, chunk, out + count, capacity - count,
                                          &got) == DLSC_ERR_NUMERIC, "a NaN chunk was not refused");
      break;
    case 1: /* one output short: refused, nothing consumed */
      if (want == 0)
        break;
      fuzz_require(dlsc_resampler_process(r, x + done, chunk, out + count, want - 1, &got) ==
                   DLSC_ERR_BUFFER_TOO_SMALL, "a short buffer was not refused");
      break;
    }
    fuzz_require(dlsc_resampler_process(r, x + done, chunk, out + count, capacity - count, &got) ==
                 DLSC_OK && got == want, "process");
    count += got;
    done += chunk;
  }
  fuzz_require(dlsc_resampler_flush(r, NULL, 0, &want) == DLSC_OK && count + want <= capacity,
               "flush query");
  fuzz_require(dlsc_resampler_flush(r, out + count, capacity - count, &got) == DLSC_OK &&
               got == want, "flush");
  free(poison);
  return count + got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input in = {data, size};
  unsigned rate_in = take_rate(&in), rate_out = take_rate(&in);
  size_t n = 1 + fuzz_take(&in, 5000), n_whole;
  if (n * rate_out / rate_in > 50000) /* kept short: thousands of runs a minute */
    n = 1 + 50000 * (size_t)rate_in / rate_out;
  float *x = malloc(n * sizeof *x);
  fuzz_require(x != NULL, "out of memory");
  uint64_t state = fuzz_take(&in, 65536);
  for (size_t i = 0; i < n; i++) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    x[i] = (float)((double)(state >> 40) / (double)(1 << 24) - 0.5);
  }
  fuzz_require(dlsc_resample(x, n, rate_in, rate_out, NULL, 0, &n_whole) == DLSC_OK, "size");
  float *whole = malloc(n_whole * sizeof *whole), *out = malloc(n_whole * sizeof *out);
  fuzz_require(whole && out, "out of memory");
  fuzz_require(dlsc_resample(x, n, rate_in, rate_out, whole, n_whole, &n_whole) == DLSC_OK,
               "resample");
  dlsc_resampler_t *r = NULL;
  fuzz_require(dlsc_resampler_create(rate_in, rate_out, &r) == DLSC_OK, "create");
  for (int round = 0; round < 2; round++) { /* the flush resets the handle */
    memset(out, 0, n_whole * sizeof *out);
    size_t count = stream_through(r, &in, x, n, out, n_whole);
    if (count != n_whole || memcmp(out, whole, n_whole * sizeof *out) != 0) {
      fprintf(stderr, "%u -> %u Hz, %zu samples, round %d: %zu outputs, whole %zu\n", rate_in,
              rate_out, n, round, count, n_whole);
      fuzz_require(0, "the stream differs from the whole-signal result");
    }
  }
  dlsc_resampler_destroy(r);
  free(x);
  free(whole);
  free(out);
  return 0;
}
