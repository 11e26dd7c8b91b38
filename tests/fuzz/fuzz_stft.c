/* Fuzz target: STFT configurations and signal lengths. The input picks n_fft (even,
 * 4 .. 4096), hop, window and length (1 .. 20,000 samples) and seeds the signal. Any
 * configuration the STFT accepts must reconstruct the signal through both the polar
 * and the complex paths to 1e-5 of its peak, or 5e-5 when n_fft / 2 has a prime factor
 * above 257 (docs/api.md: KissFFT transforms a large prime factor by a direct DFT,
 * whose rounding grows with it) or the hop exceeds n_fft / 2 (the overlap-add then
 * divides by weights that dip further; n_fft 1028 = 4 x 257 at hop 921 reached 1.3e-5,
 * corpus file hop-over-half-1028-921-hann); any other outcome aborts. */
#include "fuzz.h"

#include <math.h>
#include <stdbool.h>

static uint32_t take16(const uint8_t **data, size_t *size) {
  uint32_t value = 0;
  for (int i = 0; i < 2 && *size; i++, (*data)++, (*size)--)
    value |= (uint32_t)**data << (8 * i);
  return value;
}

static double round_trip(dlsc_stft_t *stft, const float *signal, size_t n_samples, int polar) {
  size_t bins, frames;
  fuzz_require(dlsc_stft_n_bins(stft, &bins) == DLSC_OK, "n_bins");
  fuzz_require(dlsc_stft_n_frames(stft, n_samples, &frames) == DLSC_OK, "n_frames");
  float *spectrum = malloc(frames * bins * 2 * sizeof *spectrum);
  float *back = malloc(n_samples * sizeof *back);
  fuzz_require(spectrum && back, "out of memory");
  if (polar) {
    float *phase = spectrum + frames * bins;
    fuzz_require(dlsc_stft_forward(stft, signal, n_samples, spectrum, phase, frames) == DLSC_OK,
                 "forward");
    fuzz_require(dlsc_stft_inverse(stft, spectrum, phase, frames, back, n_samples) == DLSC_OK,
                 "inverse");
  } else {
    fuzz_require(dlsc_stft_forward_complex(stft, signal, n_samples, spectrum, frames) == DLSC_OK,
                 "forward_complex");
    fuzz_require(dlsc_stft_inverse_complex(stft, spectrum, frames, back, n_samples) == DLSC_OK,
                 "inverse_complex");
  }
  double peak = 0.0, error = 0.0;
  for (size_t i = 0; i < n_samples; i++) {
    peak = max_or_nan(peak, fabs(signal[i]));
    error = max_or_nan(error, fabs((double)signal[i] - back[i]));
  }
  free(spectrum);
  free(back);
  return peak > 0.0 ? error / peak : error;
}

static size_t largest_prime_factor(size_t n) {
  size_t largest = 1;
  for (size_t d = 2; d * d <= n; d++)
    while (n % d == 0) {
      largest = d;
      n /= d;
    }
  return n > 1 ? n : largest;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  dlsc_stft_config config;
  dlsc_stft_config_init(&config);
  config.n_fft = 2 * (2 + take16(&data, &size) % 2047);
  config.hop_length = 1 + take16(&data, &size) % config.n_fft;
  config.window = (dlsc_window)(take16(&data, &size) % 4);
  size_t n_samples = 1 + take16(&data, &size) % 20000;
  uint64_t state = take16(&data, &size) | (uint64_t)take16(&data, &size) << 16;
  size_t frames = (n_samples + config.n_fft) / config.hop_length + 1;
  if (frames * config.n_fft > ((size_t)1 << 21))
    return 0; /* many frames of a long FFT: slow, and nothing new */
  dlsc_stft_t *stft = NULL;
  dlsc_status status = dlsc_stft_create(&config, &stft);
  fuzz_require(status == DLSC_OK || status == DLSC_ERR_UNSUPPORTED, "create");
  if (status != DLSC_OK)
    return 0;
  float *signal = malloc(n_samples * sizeof *signal);
  fuzz_require(signal != NULL, "out of memory");
  for (size_t i = 0; i < n_samples; i++) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    signal[i] = (float)((double)(state >> 40) / (double)(1 << 24) * 2.0 - 1.0);
  }
  for (int polar = 0; polar < 2; polar++) {
    double error = round_trip(stft, signal, n_samples, polar);
    bool tight = largest_prime_factor(config.n_fft / 2) <= 257 &&
                 config.hop_length <= config.n_fft / 2;
    if (!(error < (tight ? 1e-5 : 5e-5))) {
      fprintf(stderr, "n_fft %zu hop %zu window %d length %zu (%s): error %g\n", config.n_fft,
              config.hop_length, (int)config.window, n_samples, polar ? "polar" : "complex",
              error);
      fuzz_require(0, "the STFT does not reconstruct the signal to its bound");
    }
  }
  free(signal);
  dlsc_stft_destroy(stft);
  return 0;
}
