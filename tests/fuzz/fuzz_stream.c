/* Fuzz target: streaming denoising against the whole-signal result. The input picks
 * an STFT (n_fft 8 .. 256, a hop that divides it or not, any window), a context window
 * (0 .. 3 frames each side), one of four small models (mask or magnitude output), the
 * host's sample rate (half the time the model's 16 kHz, else 8 .. 96 kHz: a stream from
 * dlsc_stream_create_at_rate), an attenuation limit (none most of the time), a signal (1 .. 6,000 samples at audio levels) and the
 * sizes of the chunks it is pushed in (half of them in place), with a NaN chunk now and
 * then, which must be refused and leave the stream as it was. The stream's output after its latency must
 * be zeros, then equal dlsc_denoise's (at another rate: dlsc_resample, dlsc_denoise,
 * dlsc_resample back) to 1e-6 of the larger of 1 and the result's peak, 5e-5 for a hop
 * beyond n_fft / 2 (dlsc.h), and so must the noisy spectrum times dlsc_denoise_gains'
 * gains, resynthesised; any other outcome aborts. */
#include "fuzz.h"

#include <math.h>

/* The largest difference between whole and the noisy spectrum of x times the model's
 * gains, resynthesised; 0 when a magnitude model meets a zero bin (no gain for it). */
static double gains_difference(dlsc_model_t *model, dlsc_stft_t *stft, int mask, const float *x,
                               size_t n, const float *whole) {
  size_t frames = 0, bins = 0; /* set by the calls fuzz_require checks */
  fuzz_require(dlsc_stft_n_frames(stft, n, &frames) == DLSC_OK &&
               dlsc_stft_n_bins(stft, &bins) == DLSC_OK, "stft sizes");
  float *gains = malloc(frames * bins * sizeof *gains);
  float *spectrum = malloc(2 * frames * bins * sizeof *spectrum), *y = malloc(n * sizeof *y);
  fuzz_require(gains && spectrum && y, "out of memory");
  fuzz_require(dlsc_stft_forward(stft, x, n, gains, NULL, frames) == DLSC_OK, "forward");
  int zero_bin = 0;
  for (size_t i = 0; i < frames * bins; i++)
    zero_bin |= gains[i] == 0.0f;
  fuzz_require(dlsc_denoise_gains(model, gains, frames, gains) == DLSC_OK, "gains");
  fuzz_require(dlsc_stft_forward_complex(stft, x, n, spectrum, frames) == DLSC_OK, "forward");
  for (size_t i = 0; i < frames * bins; i++) {
    spectrum[2 * i] *= gains[i];
    spectrum[2 * i + 1] *= gains[i];
  }
  fuzz_require(dlsc_stft_inverse_complex(stft, spectrum, frames, y, n) == DLSC_OK, "inverse");
  double difference = 0.0;
  for (size_t i = 0; i < n && (mask || !zero_bin); i++)
    difference = max_or_nan(difference, fabs((double)y[i] - whole[i]));
  free(gains);
  free(spectrum);
  free(y);
  return difference;
}

/* The whole-signal path at rate Hz: to 16 kHz, denoised, back; its first n samples. */
static void whole_at_rate(dlsc_model_t *model, dlsc_stft_t *stft, const float *x, size_t n,
                          unsigned rate, float *whole) {
  size_t n16 = 0, n_back = 0;
  fuzz_require(dlsc_resample(x, n, rate, 16000, NULL, 0, &n16) == DLSC_OK, "resample size");
  float *x16 = malloc(n16 * sizeof *x16), *y16 = malloc(n16 * sizeof *y16), *back;
  fuzz_require(x16 && y16, "out of memory");
  fuzz_require(dlsc_resample(x, n, rate, 16000, x16, n16, &n16) == DLSC_OK &&
               dlsc_denoise(model, stft, x16, n16, y16) == DLSC_OK &&
               dlsc_resample(y16, n16, 16000, rate, NULL, 0, &n_back) == DLSC_OK && n_back >= n,
               "resample, denoise");
  fuzz_require((back = malloc(n_back * sizeof *back)) != NULL, "out of memory");
  fuzz_require(dlsc_resample(y16, n16, 16000, rate, back, n_back, &n_back) == DLSC_OK, "back");
  memcpy(whole, back, n * sizeof *whole);
  free(x16);
  free(y16);
  free(back);
}

static dlsc_model_t *make_model(fuzz_input *in, size_t window, size_t bins, int *mask) {
  char spec[512];
  switch (fuzz_take(in, 4)) {
  case 0:
    snprintf(spec, sizeof spec, "input 1x%zux%zu; log; batchnorm; dense %zu; sigmoid", window,
             bins, bins);
    break;
  case 1:
    snprintf(spec, sizeof spec, "input 1x%zux%zu; log; conv2d 2 %zux3 pad=0x1; relu; dense %zu; "
             "sigmoid", window, bins, window, bins);
    break;
  case 2:
    snprintf(spec, sizeof spec, "input 1x%zux%zu; avgpool 1x2 stride=1x1; dense 8; tanh; "
             "dense %zu; softplus", window, bins, bins);
    break;
  default:
    snprintf(spec, sizeof spec, "input 1x%zux%zu; conv2d 3 1x5 pad=0x2; gelu; dense %zu; relu",
             window, bins, bins);
  }
  dlsc_model_t *model = NULL;
  fuzz_require(dlsc_model_create_from_spec(spec, 1 + fuzz_take(in, 1000), &model) == DLSC_OK, spec);
  *mask = (int)fuzz_take(in, 2);
  return model;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input in = {data, size};
  dlsc_denoise_config config;
  dlsc_denoise_config_init(&config);
  config.n_fft = (size_t)8 << fuzz_take(&in, 6);
  config.hop_length = 1 + (config.n_fft - 1) / (1 + fuzz_take(&in, 8)) - fuzz_take(&in, 2);
  config.window = (dlsc_window)fuzz_take(&in, 4);
  config.context_before = fuzz_take(&in, 4);
  config.context_after = fuzz_take(&in, 4);
  size_t bins = config.n_fft / 2 + 1, window = config.context_before + 1 + config.context_after;
  int mask;
  dlsc_model_t *model = make_model(&in, window, bins, &mask);
  config.mask = mask;
  dlsc_stft_t *stft = NULL;
  if (dlsc_model_set_denoise(model, &config) != DLSC_OK ||
      dlsc_stft_create_for_model(model, &stft) != DLSC_OK) {
    dlsc_model_destroy(model); /* a hop whose windows leave gaps */
    return 0;
  }
  size_t n = 1 + fuzz_take(&in, 6000);
  /* Audio levels, 1e-4 .. 1: the guarantee is for samples in [-1, 1]. Far louder input
   * drives an unnormalised model's sums so high that the different blocking of its
   * products for one frame and for many shows (levels of 1e2 .. 1e4 failed here). */
  float level = powf(10.0f, (float)fuzz_take(&in, 5) - 4.0f);
  float *x = malloc(n * sizeof *x), *whole = malloc(n * sizeof *whole);
  fuzz_require(x && whole, "out of memory");
  uint64_t state = fuzz_take(&in, 65536);
  for (size_t i = 0; i < n; i++) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    x[i] = level * (float)((double)(state >> 40) / (double)(1 << 24) - 0.5);
  }
  static const unsigned rates[] = {8000, 11025, 22050, 44100, 48000, 96000};
  unsigned pick = fuzz_take(&in, 12), rate = pick < 6 ? 16000 : rates[pick - 6];
  unsigned limit = fuzz_take(&in, 8); /* 0: none, else an attenuation limit of 0 .. 36 dB */
  if (limit)
    fuzz_require(dlsc_model_set_attenuation_limit(model, 6.0 * (limit - 1)) == DLSC_OK, "limit");
  double gains_off = 0.0;
  if (rate == 16000) {
    fuzz_require(dlsc_denoise(model, stft, x, n, whole) == DLSC_OK, "denoise");
    gains_off = gains_difference(model, stft, mask, x, n, whole);
  } else {
    whole_at_rate(model, stft, x, n, rate, whole);
  }

  dlsc_stream_t *stream = NULL;
  fuzz_require(dlsc_stream_create_at_rate(model, 16000, rate, &stream) == DLSC_OK,
               "stream_create");
  dlsc_model_destroy(model); /* the stream keeps its own copy */
  size_t latency;
  fuzz_require(dlsc_stream_latency(stream, &latency) == DLSC_OK, "latency");
  float *out = malloc((n + latency) * sizeof *out), *poison = malloc(n * sizeof *poison);
  fuzz_require(out && poison, "out of memory");
  for (size_t done = 0; done < n;) {
    size_t chunk = 1 + fuzz_take(&in, 2 * (unsigned)config.n_fft);
    chunk = chunk < n - done ? chunk : n - done;
    if (fuzz_take(&in, 8) == 0) { /* a chunk with a NaN: refused, nothing consumed */
      memcpy(poison, x + done, chunk * sizeof *poison);
      poison[chunk / 2] = NAN;
      fuzz_require(dlsc_stream_process(stream, poison, chunk, out + done) == DLSC_ERR_NUMERIC,
                   "a NaN chunk was not refused");
    }
    if (fuzz_take(&in, 2)) { /* in place half the time: the same output (dlsc.h) */
      memcpy(out + done, x + done, chunk * sizeof *out);
      fuzz_require(dlsc_stream_process(stream, out + done, chunk, out + done) == DLSC_OK,
                   "process in place");
    } else {
      fuzz_require(dlsc_stream_process(stream, x + done, chunk, out + done) == DLSC_OK, "process");
    }
    done += chunk;
  }
  fuzz_require(dlsc_stream_flush(stream, out + n) == DLSC_OK, "flush");
  double peak = 1.0, difference = 0.0;
  for (size_t i = 0; i < n; i++) {
    peak = max_or_nan(peak, fabs(whole[i]));
    difference = max_or_nan(difference, fabs((double)out[latency + i] - whole[i]));
  }
  for (size_t i = 0; i < latency && i < n; i++)
    fuzz_require(out[i] == 0.0f, "the latency does not come out as zeros");
  /* a hop beyond n_fft / 2: the overlap-add divides by lower window sums, which
   * amplify the last-bit differences of the products (as the STFT's bound, dlsc.h) */
  double bound = 2 * config.hop_length <= config.n_fft ? 1e-6 : 5e-5;
  if (!(difference <= bound * peak)) {
    fprintf(stderr, "n_fft %zu hop %zu window %d context %zu+1+%zu n %zu at %u Hz: differs by %g "
            "(peak %g)\n", config.n_fft, config.hop_length, (int)config.window,
            config.context_before, config.context_after, n, rate, difference, peak);
    fuzz_require(0, "the stream differs from the whole-signal result");
  }
  if (!(gains_off <= bound * peak)) {
    fprintf(stderr, "n_fft %zu hop %zu window %d context %zu+1+%zu n %zu: gains differ by %g\n",
            config.n_fft, config.hop_length, (int)config.window, config.context_before,
            config.context_after, n, gains_off);
    fuzz_require(0, "the resynthesised gains differ from the whole-signal result");
  }
  free(x);
  free(whole);
  free(out);
  free(poison);
  dlsc_stream_destroy(stream);
  dlsc_stft_destroy(stft);
  return 0;
}
