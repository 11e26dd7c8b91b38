/* STFT: exact reconstruction for any length and configuration, known spectra, and
 * every bad argument answered with a status. */
#include "common.h"

static dlsc_stft_t *make_stft(size_t n_fft, size_t hop, dlsc_window window) {
  dlsc_stft_config config;
  dlsc_stft_config_init(&config);
  config.n_fft = n_fft;
  config.hop_length = hop;
  config.window = window;
  dlsc_stft_t *stft = NULL;
  ck_assert_ok(dlsc_stft_create(&config, &stft));
  return stft;
}

/* Forward then inverse of a random signal; returns the relative peak error. */
static double round_trip_error(dlsc_stft_t *stft, size_t n_samples, bool complex_path) {
  size_t bins, frames;
  ck_assert_ok(dlsc_stft_n_bins(stft, &bins));
  ck_assert_ok(dlsc_stft_n_frames(stft, n_samples, &frames));
  float *signal = malloc(n_samples * sizeof *signal), *back = malloc(n_samples * sizeof *back);
  float *magnitude = malloc(frames * bins * 2 * sizeof(float)), *phase = magnitude + frames * bins;
  fill_uniform(signal, n_samples, -1.0f, 1.0f, n_samples * 7919u + bins);
  if (complex_path) {
    ck_assert_ok(dlsc_stft_forward_complex(stft, signal, n_samples, magnitude, frames));
    ck_assert_ok(dlsc_stft_inverse_complex(stft, magnitude, frames, back, n_samples));
  } else {
    ck_assert_ok(dlsc_stft_forward(stft, signal, n_samples, magnitude, phase, frames));
    ck_assert_ok(dlsc_stft_inverse(stft, magnitude, phase, frames, back, n_samples));
  }
  double error = max_abs_diff(signal, back, n_samples) / max_abs(signal, n_samples);
  free(signal);
  free(back);
  free(magnitude);
  return error;
}

START_TEST(round_trip_is_exact_for_any_length) {
  static const struct {
    size_t n_fft, hop;
    dlsc_window window;
  } configs[] = {{1024, 512, DLSC_WINDOW_HANN},    {512, 128, DLSC_WINDOW_HANN},
                 {256, 64, DLSC_WINDOW_HAMMING},   {400, 160, DLSC_WINDOW_SQRT_HANN},
                 {64, 64, DLSC_WINDOW_RECTANGULAR}, {16, 5, DLSC_WINDOW_HANN}};
  static const size_t lengths[] = {1, 2, 3, 100, 511, 512, 513, 1023, 1024, 1025, 5000, 16007};
  for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
    dlsc_stft_t *stft = make_stft(configs[c].n_fft, configs[c].hop, configs[c].window);
    for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
      double polar = round_trip_error(stft, lengths[l], false);
      double complex_error = round_trip_error(stft, lengths[l], true);
      ck_assert_msg(polar < 1e-5 && complex_error < 1e-5, "n_fft %zu hop %zu length %zu: %g, %g",
                    configs[c].n_fft, configs[c].hop, lengths[l], polar, complex_error);
    }
    dlsc_stft_destroy(stft);
  }
}
END_TEST

/* The bounds docs/api.md gives: 1e-5 while n_fft / 2 has no prime factor above 257
 * (514 = 2 x 257 here) and the hop is at most n_fft / 2; 5e-5 beyond either (3734 =
 * 2 x 1867, found by the STFT fuzz target: KissFFT transforms a large prime factor by a
 * direct DFT; 1028 = 4 x 257 at hop 925 of Hann, 1.7e-5, also found by it). */
START_TEST(round_trip_precision_follows_the_prime_factors) {
  static const size_t lengths[] = {1, 1000, 9000};
  for (int window = 0; window < 4; window++) {
    dlsc_stft_t *small_factors = make_stft(514, 257, (dlsc_window)window);
    dlsc_stft_t *large_factor = make_stft(3734, 2608, (dlsc_window)window);
    dlsc_stft_t *wide_hop = window == DLSC_WINDOW_HANN ? make_stft(1028, 925, DLSC_WINDOW_HANN)
                                                       : NULL;
    for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++)
      for (int complex_path = 0; complex_path < 2; complex_path++) {
        double small = round_trip_error(small_factors, lengths[l], complex_path);
        double large = round_trip_error(large_factor, lengths[l], complex_path);
        ck_assert_msg(small < 1e-5, "514, window %d, length %zu: %g", window, lengths[l], small);
        ck_assert_msg(large < 5e-5, "3734, window %d, length %zu: %g", window, lengths[l], large);
        if (wide_hop) {
          double wide = round_trip_error(wide_hop, lengths[l], complex_path);
          ck_assert_msg(wide < 5e-5, "1028 hop 925, length %zu: %g", lengths[l], wide);
        }
      }
    dlsc_stft_destroy(small_factors);
    dlsc_stft_destroy(large_factor);
    dlsc_stft_destroy(wide_hop);
  }
}
END_TEST

START_TEST(frame_count_follows_padding) {
  dlsc_stft_t *stft = make_stft(1024, 512, DLSC_WINDOW_HANN);
  size_t frames;
  /* Padding of n_fft - hop at both ends: ceil((n + 512) / 512) frames. */
  ck_assert_ok(dlsc_stft_n_frames(stft, 1, &frames));
  ck_assert_uint_eq(frames, 2);
  ck_assert_ok(dlsc_stft_n_frames(stft, 512, &frames));
  ck_assert_uint_eq(frames, 2);
  ck_assert_ok(dlsc_stft_n_frames(stft, 513, &frames));
  ck_assert_uint_eq(frames, 3);
  ck_assert_ok(dlsc_stft_n_frames(stft, 16000, &frames));
  ck_assert_uint_eq(frames, 33);
  dlsc_stft_destroy(stft);
}
END_TEST

/* Each window's shape, read off a constant signal's middle frame: bin 0 is the window's
 * sum and bin 1 its first Fourier coefficient (periodic windows of n points: Hann 0.5 n
 * and -0.25 n, Hamming 0.54 n and -0.23 n, square-root Hann 1 / tan(pi / 2n) and
 * -2 n / (3 pi) (the integral's value, to within 1e-4 n here), rectangular n and 0). */
START_TEST(windows_have_their_shapes) {
  const size_t n_fft = 256, n = 8 * n_fft, bins = n_fft / 2 + 1;
  const double m = (double)n_fft;
  const double sum[4] = {0.5 * m, 0.54 * m, 1.0 / tan(M_PI / (2.0 * m)), m};
  const double first[4] = {-0.25 * m, -0.23 * m, -2.0 * m / (3.0 * M_PI), 0.0};
  static const dlsc_window windows[4] = {DLSC_WINDOW_HANN, DLSC_WINDOW_HAMMING,
                                         DLSC_WINDOW_SQRT_HANN, DLSC_WINDOW_RECTANGULAR};
  float *signal = malloc(n * sizeof *signal), *spectrum = malloc(2 * 40 * bins * sizeof(float));
  for (size_t i = 0; i < n; i++)
    signal[i] = 1.0f;
  for (int w = 0; w < 4; w++) {
    dlsc_stft_t *stft = make_stft(n_fft, n_fft / 4, windows[w]);
    size_t frames;
    ck_assert_ok(dlsc_stft_n_frames(stft, n, &frames));
    ck_assert_uint_le(frames, 40);
    ck_assert_ok(dlsc_stft_forward_complex(stft, signal, n, spectrum, frames));
    const float *middle = spectrum + 2 * (frames / 2) * bins;
    ck_assert_double_eq_tol(middle[0], sum[w], 1e-4 * m);
    ck_assert_double_eq_tol(middle[2], first[w], 1e-4 * m);
    ck_assert_double_eq_tol(middle[1], 0.0, 1e-4 * m);
    ck_assert_double_eq_tol(middle[3], 0.0, 1e-4 * m);
    dlsc_stft_destroy(stft);
  }
  free(signal);
  free(spectrum);
}
END_TEST

/* A sinusoid on bin 32 of a 1024-point Hann STFT peaks there with amplitude * 256
 * (the window sums to 512; a real tone splits into two halves). */
START_TEST(sinusoid_peaks_at_its_bin) {
  dlsc_stft_t *stft = make_stft(1024, 512, DLSC_WINDOW_HANN);
  size_t n = 8192, frames;
  ck_assert_ok(dlsc_stft_n_frames(stft, n, &frames));
  float *signal = malloc(n * sizeof *signal), *magnitude = malloc(frames * 513 * sizeof(float));
  for (size_t i = 0; i < n; i++)
    signal[i] = 0.5f * cosf(2.0f * (float)M_PI * 32.0f * (float)i / 1024.0f);
  ck_assert_ok(dlsc_stft_forward(stft, signal, n, magnitude, NULL, frames));
  const float *middle = magnitude + (frames / 2) * 513;
  size_t peak = 0;
  for (size_t b = 1; b < 513; b++)
    if (middle[b] > middle[peak])
      peak = b;
  ck_assert_uint_eq(peak, 32);
  ck_assert_float_eq_tol(middle[32], 0.5f * 256.0f, 0.5f);
  ck_assert_float_eq_tol(middle[100], 0.0f, 1e-3f);
  free(signal);
  free(magnitude);
  dlsc_stft_destroy(stft);
}
END_TEST

START_TEST(create_rejects_bad_configs) {
  dlsc_stft_config config;
  dlsc_stft_t *stft = (dlsc_stft_t *)0x1; /* must stay untouched on failure */
  dlsc_stft_config_init(&config);
  ck_assert_status(dlsc_stft_create(&config, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_stft_create(NULL, &stft), DLSC_ERR_INVALID_ARGUMENT);
  config.n_fft = 1023;
  ck_assert_status(dlsc_stft_create(&config, &stft), DLSC_ERR_INVALID_ARGUMENT);
  config.n_fft = 2;
  ck_assert_status(dlsc_stft_create(&config, &stft), DLSC_ERR_INVALID_ARGUMENT);
  config.n_fft = 0;
  ck_assert_status(dlsc_stft_create(&config, &stft), DLSC_ERR_INVALID_ARGUMENT);
  config.n_fft = 1u << 20;
  ck_assert_status(dlsc_stft_create(&config, &stft), DLSC_ERR_INVALID_ARGUMENT);
  config.n_fft = 1024;
  config.hop_length = 0;
  ck_assert_status(dlsc_stft_create(&config, &stft), DLSC_ERR_INVALID_ARGUMENT);
  config.hop_length = 1025;
  ck_assert_status(dlsc_stft_create(&config, &stft), DLSC_ERR_INVALID_ARGUMENT);
  /* Hann windows a full hop apart leave gaps no overlap-add can fill. */
  config.hop_length = 1024;
  ck_assert_status(dlsc_stft_create(&config, &stft), DLSC_ERR_UNSUPPORTED);
  /* At hop 1000 no sum vanishes, but the samples near the frames' edges get 3.7e-6 of
   * the window energy the middle gets (1e-3 is the least taken): refused too, where the
   * rectangular window, 1 or 2 everywhere, is taken. */
  config.hop_length = 1000;
  ck_assert_status(dlsc_stft_create(&config, &stft), DLSC_ERR_UNSUPPORTED);
  ck_assert_ptr_eq(stft, (dlsc_stft_t *)0x1);
  config.window = DLSC_WINDOW_RECTANGULAR;
  ck_assert_ok(dlsc_stft_create(&config, &stft));
  dlsc_stft_destroy(stft);
  stft = (dlsc_stft_t *)0x1;
  config.window = DLSC_WINDOW_HANN;
  config.hop_length = 512;
  config.window = (dlsc_window)42;
  ck_assert_status(dlsc_stft_create(&config, &stft), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_eq(stft, (dlsc_stft_t *)0x1);
}
END_TEST

START_TEST(transforms_reject_bad_buffers) {
  dlsc_stft_t *stft = make_stft(256, 128, DLSC_WINDOW_HANN);
  float signal[300], magnitude[4 * 129], phase[4 * 129], out[300];
  size_t frames;
  fill_uniform(signal, 300, -1, 1, 3);
  ck_assert_ok(dlsc_stft_n_frames(stft, 300, &frames));
  ck_assert_uint_eq(frames, 4);
  ck_assert_status(dlsc_stft_n_frames(stft, 0, &frames), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_stft_n_frames(NULL, 10, &frames), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_stft_forward(NULL, signal, 300, magnitude, phase, 4),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_stft_forward(stft, NULL, 300, magnitude, phase, 4),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_stft_forward(stft, signal, 0, magnitude, phase, 4),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_stft_forward(stft, signal, 300, NULL, phase, 4),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_stft_forward(stft, signal, 300, magnitude, phase, 3),
                   DLSC_ERR_SHAPE_MISMATCH);
  for (size_t i = 0; i < 4 * 129; i++)
    magnitude[i] = -7.0f;
  signal[150] = NAN;
  ck_assert_status(dlsc_stft_forward(stft, signal, 300, magnitude, phase, 4), DLSC_ERR_NUMERIC);
  ck_assert_float_eq(magnitude[0], -7.0f); /* nothing written on failure */
  signal[150] = INFINITY;
  ck_assert_status(dlsc_stft_forward(stft, signal, 300, magnitude, phase, 4), DLSC_ERR_NUMERIC);
  signal[150] = 0.25f;
  ck_assert_ok(dlsc_stft_forward(stft, signal, 300, magnitude, phase, 4));
  ck_assert_status(dlsc_stft_inverse(stft, magnitude, NULL, 4, out, 300),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_stft_inverse(stft, magnitude, phase, 4, out, 100),
                   DLSC_ERR_SHAPE_MISMATCH);
  /* no samples, or more than half the address space: refused whatever the frame count */
  for (size_t count = 0; count <= 4; count++) {
    ck_assert_status(dlsc_stft_inverse(stft, magnitude, phase, count, out, 0),
                     DLSC_ERR_INVALID_ARGUMENT);
    ck_assert_status(dlsc_stft_inverse_complex(stft, magnitude, count, out, 0),
                     DLSC_ERR_INVALID_ARGUMENT);
  }
  ck_assert_status(dlsc_stft_inverse(stft, magnitude, phase, 4, out, SIZE_MAX / 2 + 1),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_stft_inverse_complex(stft, magnitude, 4, out, SIZE_MAX / 2 + 1),
                   DLSC_ERR_INVALID_ARGUMENT);
  phase[7] = NAN;
  ck_assert_status(dlsc_stft_inverse(stft, magnitude, phase, 4, out, 300), DLSC_ERR_NUMERIC);
  dlsc_stft_destroy(stft);
}
END_TEST

/* The range of signals (dlsc.h): samples up to DLSC_SAMPLE_LIMIT and spectrum values up
 * to DLSC_SPECTRUM_LIMIT give finite results, at every n_fft and at a hop whose window
 * sums are poor; one step past either limit is refused with nothing written. */
START_TEST(transforms_stay_finite_up_to_the_limits) {
  static const struct { size_t n_fft, hop; dlsc_window window; } configs[] = {
      {4, 1, DLSC_WINDOW_HANN},       {4, 3, DLSC_WINDOW_HAMMING},
      {1024, 512, DLSC_WINDOW_HANN},  {1024, 768, DLSC_WINDOW_HAMMING},
      {4096, 1024, DLSC_WINDOW_SQRT_HANN}, {65536, 65536, DLSC_WINDOW_RECTANGULAR}};
  for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
    dlsc_stft_t *stft = make_stft(configs[c].n_fft, configs[c].hop, configs[c].window);
    size_t n = 2 * configs[c].n_fft + 3, frames, bins = configs[c].n_fft / 2 + 1;
    ck_assert_ok(dlsc_stft_n_frames(stft, n, &frames));
    float *x = malloc((2 * n + 4 * frames * bins) * sizeof *x), *y = x + n;
    float *magnitude = y + n, *phase = magnitude + frames * bins, *spectrum = phase + frames * bins;
    /* at the limit, one sign throughout: the largest sums the transforms can meet */
    for (size_t i = 0; i < n; i++)
      x[i] = DLSC_SAMPLE_LIMIT;
    ck_assert_ok(dlsc_stft_forward(stft, x, n, magnitude, phase, frames));
    ck_assert_ok(dlsc_stft_forward_complex(stft, x, n, spectrum, frames));
    ck_assert_double_le(max_abs(magnitude, frames * bins), DLSC_SPECTRUM_LIMIT);
    ck_assert_double_le(max_abs(spectrum, 2 * frames * bins), DLSC_SPECTRUM_LIMIT);
    ck_assert_ok(dlsc_stft_inverse(stft, magnitude, phase, frames, y, n));
    ck_assert_msg(max_abs_diff(x, y, n) < 1e-5 * DLSC_SAMPLE_LIMIT, "n_fft %zu: round trip %g",
                  configs[c].n_fft, max_abs_diff(x, y, n) / DLSC_SAMPLE_LIMIT);
    /* spectrum values at their limit, all in phase: finite samples */
    for (size_t i = 0; i < frames * bins; i++) {
      magnitude[i] = DLSC_SPECTRUM_LIMIT;
      phase[i] = 0.0f;
      spectrum[2 * i] = spectrum[2 * i + 1] = i % 2 ? DLSC_SPECTRUM_LIMIT : -DLSC_SPECTRUM_LIMIT;
    }
    ck_assert_ok(dlsc_stft_inverse(stft, magnitude, phase, frames, y, n));
    ck_assert(isfinite(max_abs(y, n)));
    ck_assert_ok(dlsc_stft_inverse_complex(stft, spectrum, frames, y, n));
    ck_assert(isfinite(max_abs(y, n)));
    /* one step past: refused, outputs untouched */
    for (size_t i = 0; i < n; i++)
      y[i] = 42.0f;
    magnitude[frames * bins / 2] = nextafterf(DLSC_SPECTRUM_LIMIT, INFINITY);
    ck_assert_status(dlsc_stft_inverse(stft, magnitude, phase, frames, y, n), DLSC_ERR_NUMERIC);
    spectrum[7] = -nextafterf(DLSC_SPECTRUM_LIMIT, INFINITY);
    ck_assert_status(dlsc_stft_inverse_complex(stft, spectrum, frames, y, n), DLSC_ERR_NUMERIC);
    for (size_t i = 0; i < n; i++)
      ck_assert_float_eq(y[i], 42.0f);
    x[n / 3] = -nextafterf(DLSC_SAMPLE_LIMIT, INFINITY);
    magnitude[0] = 42.0f;
    spectrum[0] = 42.0f;
    ck_assert_status(dlsc_stft_forward(stft, x, n, magnitude, phase, frames), DLSC_ERR_NUMERIC);
    ck_assert_status(dlsc_stft_forward_complex(stft, x, n, spectrum, frames), DLSC_ERR_NUMERIC);
    ck_assert_float_eq(magnitude[0], 42.0f);
    ck_assert_float_eq(spectrum[0], 42.0f);
    free(x);
    dlsc_stft_destroy(stft);
  }
}
END_TEST

int main(void) {
  Suite *suite = suite_create("stft");
  TCase *tc = tcase_create("stft");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, round_trip_is_exact_for_any_length);
  tcase_add_test(tc, round_trip_precision_follows_the_prime_factors);
  tcase_add_test(tc, transforms_stay_finite_up_to_the_limits);
  tcase_add_test(tc, frame_count_follows_padding);
  tcase_add_test(tc, sinusoid_peaks_at_its_bin);
  tcase_add_test(tc, windows_have_their_shapes);
  tcase_add_test(tc, create_rejects_bad_configs);
  tcase_add_test(tc, transforms_reject_bad_buffers);
  suite_add_tcase(suite, tc);
  return run_suite(suite);
}
