/* Short-time Fourier transform on KissFFT's real FFT, with weighted overlap-add
 * synthesis. Frame k covers padded samples [k*hop, k*hop + n_fft) of the signal padded
 * by n_fft - hop zeros at the front; enough frames follow that the last sample, too,
 * lies under every window that overlaps it. */
#include "stft.h"

#include <kiss_fftr.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct dlsc_stft {
  dlsc_stft_config config;
  size_t n_bins, pad;
  kiss_fftr_cfg forward_plan, inverse_plan;
  float *window;        /* n_fft */
  float *inverse_norm;  /* hop: 1 / sum of squared windows at each phase */
  float *segment;       /* n_fft scratch */
  kiss_fft_cpx *spectrum; /* n_bins scratch */
};

dlsc_status dlsc_stft_config_init_(dlsc_stft_config *config, size_t struct_size) {
  if (!config || struct_size < sizeof(size_t))
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_stft_config defaults;
  memset(&defaults, 0, sizeof defaults);
  defaults.n_fft = 1024;
  defaults.hop_length = 512;
  defaults.window = DLSC_WINDOW_HANN;
  memset(config, 0, struct_size);
  memcpy(config, &defaults, DLSC_MIN(struct_size, sizeof defaults));
  config->struct_size = struct_size;
  return DLSC_OK;
}

static float window_value(dlsc_window window, size_t i, size_t n) {
  double phase = 2.0 * 3.14159265358979323846 * (double)i / (double)n; /* periodic */
  switch (window) {
  case DLSC_WINDOW_HANN: return (float)(0.5 - 0.5 * cos(phase));
  case DLSC_WINDOW_HAMMING: return (float)(0.54 - 0.46 * cos(phase));
  case DLSC_WINDOW_SQRT_HANN: return (float)sqrt(0.5 - 0.5 * cos(phase));
  case DLSC_WINDOW_RECTANGULAR: return 1.0f;
  }
  return 0.0f;
}

/* The inverse divides by the sum of squared windows over the frames covering a sample;
 * a window/hop pair whose sum nearly vanishes somewhere cannot be inverted stably. */
static dlsc_status build_norm(dlsc_stft_t *stft) {
  size_t hop = stft->config.hop_length, n_fft = stft->config.n_fft;
  double largest = 0.0, smallest = INFINITY;
  for (size_t phase = 0; phase < hop; phase++) {
    double sum = 0.0;
    for (size_t j = phase; j < n_fft; j += hop)
      sum += (double)stft->window[j] * stft->window[j];
    largest = fmax(largest, sum);
    smallest = fmin(smallest, sum);
    stft->inverse_norm[phase] = sum > 0.0 ? (float)(1.0 / sum) : 0.0f;
  }
  return smallest > 1e-3 * largest ? DLSC_OK : DLSC_ERR_UNSUPPORTED;
}

dlsc_status dlsc_stft_create(const dlsc_stft_config *user_config, dlsc_stft_t **out) {
  dlsc_stft_config config;
  if (!out)
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_stft_config_init(&config);
  DLSC_TRY(dlsc_import_config(&config, sizeof config, user_config));
  if (config.n_fft < 4 || config.n_fft > 65536 || config.n_fft % 2 != 0 ||
      config.hop_length == 0 || config.hop_length > config.n_fft ||
      (unsigned)config.window > DLSC_WINDOW_RECTANGULAR)
    return DLSC_ERR_INVALID_ARGUMENT;

  dlsc_stft_t *stft = calloc(1, sizeof *stft);
  if (!stft)
    return DLSC_ERR_OUT_OF_MEMORY;
  stft->config = config;
  stft->n_bins = config.n_fft / 2 + 1;
  stft->pad = config.n_fft - config.hop_length;
  stft->forward_plan = kiss_fftr_alloc((int)config.n_fft, 0, NULL, NULL);
  stft->inverse_plan = kiss_fftr_alloc((int)config.n_fft, 1, NULL, NULL);
  stft->window = dlsc_alloc_floats(config.n_fft);
  stft->inverse_norm = dlsc_alloc_floats(config.hop_length);
  stft->segment = dlsc_alloc_floats(config.n_fft);
  stft->spectrum = dlsc_alloc_array(stft->n_bins, sizeof *stft->spectrum);
  if (!stft->forward_plan || !stft->inverse_plan || !stft->window || !stft->inverse_norm ||
      !stft->segment || !stft->spectrum) {
    dlsc_stft_destroy(stft);
    return DLSC_ERR_OUT_OF_MEMORY;
  }
  for (size_t i = 0; i < config.n_fft; i++)
    stft->window[i] = window_value(config.window, i, config.n_fft);
  dlsc_status status = build_norm(stft);
  if (status != DLSC_OK) {
    dlsc_stft_destroy(stft);
    return status;
  }
  *out = stft;
  return DLSC_OK;
}

void dlsc_stft_destroy(dlsc_stft_t *stft) {
  if (!stft)
    return;
  kiss_fftr_free(stft->forward_plan);
  kiss_fftr_free(stft->inverse_plan);
  free(stft->window);
  free(stft->inverse_norm);
  free(stft->segment);
  free(stft->spectrum);
  free(stft);
}

size_t dlsc_stft_frames_for(const dlsc_stft_t *stft, size_t n_samples) {
  size_t hop = stft->config.hop_length;
  return (n_samples + stft->pad + hop - 1) / hop;
}

dlsc_status dlsc_stft_n_bins(const dlsc_stft_t *stft, size_t *n_bins) {
  if (!stft || !n_bins)
    return DLSC_ERR_INVALID_ARGUMENT;
  *n_bins = stft->n_bins;
  return DLSC_OK;
}

dlsc_status dlsc_stft_n_frames(const dlsc_stft_t *stft, size_t n_samples, size_t *n_frames) {
  if (!stft || !n_frames || n_samples == 0 || n_samples > SIZE_MAX / 2)
    return DLSC_ERR_INVALID_ARGUMENT;
  *n_frames = dlsc_stft_frames_for(stft, n_samples);
  return DLSC_OK;
}

dlsc_status dlsc_stft_get_config(const dlsc_stft_t *stft, dlsc_stft_config *config) {
  if (!stft || !config || config->struct_size < sizeof(size_t))
    return DLSC_ERR_INVALID_ARGUMENT;
  size_t size = config->struct_size;
  memcpy((char *)config + sizeof(size_t), (const char *)&stft->config + sizeof(size_t),
         DLSC_MIN(size, sizeof stft->config) - sizeof(size_t));
  return DLSC_OK;
}

const dlsc_stft_config *dlsc_stft_config_of(const dlsc_stft_t *stft) { return &stft->config; }

/* ---- one frame: the building blocks of the whole-signal and streaming paths */

void dlsc_stft_analyze_frame(dlsc_stft_t *stft, const float *segment, float *magnitude,
                             float *phase, float *spectrum) {
  size_t n_fft = stft->config.n_fft;
  for (size_t j = 0; j < n_fft; j++)
    stft->segment[j] = segment[j] * stft->window[j];
  kiss_fftr(stft->forward_plan, stft->segment, stft->spectrum);
  for (size_t b = 0; b < stft->n_bins; b++) {
    float re = stft->spectrum[b].r, im = stft->spectrum[b].i;
    if (magnitude)
      magnitude[b] = sqrtf(re * re + im * im);
    if (phase)
      phase[b] = atan2f(im, re);
    if (spectrum) {
      spectrum[2 * b] = re;
      spectrum[2 * b + 1] = im;
    }
  }
}

void dlsc_stft_synthesize_frame(dlsc_stft_t *stft, const float *magnitude, const float *phase,
                                const float *spectrum, float *windowed) {
  size_t n_fft = stft->config.n_fft;
  for (size_t b = 0; b < stft->n_bins; b++) {
    if (spectrum) {
      stft->spectrum[b].r = spectrum[2 * b];
      stft->spectrum[b].i = spectrum[2 * b + 1];
    } else {
      stft->spectrum[b].r = magnitude[b] * cosf(phase[b]);
      stft->spectrum[b].i = magnitude[b] * sinf(phase[b]);
    }
  }
  kiss_fftri(stft->inverse_plan, stft->spectrum, stft->segment);
  float scale = 1.0f / (float)n_fft; /* KissFFT's inverse is unscaled */
  for (size_t j = 0; j < n_fft; j++)
    windowed[j] = stft->segment[j] * stft->window[j] * scale;
}

void dlsc_stft_overlap_add(const dlsc_stft_t *stft, double *ring, size_t k, const float *windowed,
                           float *finished) {
  size_t n_fft = stft->config.n_fft, hop = stft->config.hop_length;
  size_t start = (k * hop) % n_fft, wrap = n_fft - start; /* frame k's slot in the ring */
  for (size_t j = 0; j < wrap; j++)
    ring[start + j] += windowed[j];
  for (size_t j = wrap; j < n_fft; j++)
    ring[j - wrap] += windowed[j];
  for (size_t j = 0; j < hop; j++) {
    size_t slot = j < wrap ? start + j : j - wrap;
    finished[j] = (float)(ring[slot] * stft->inverse_norm[j]);
    ring[slot] = 0.0;
  }
}

size_t dlsc_stft_padding(const dlsc_stft_t *stft) { return stft->pad; }

/* ---- whole signals */

/* Frame k's samples, zero outside the signal. */
static void gather_segment(const dlsc_stft_t *stft, const float *samples, size_t n_samples,
                           size_t frame, float *segment) {
  size_t n_fft = stft->config.n_fft;
  for (size_t j = 0; j < n_fft; j++) {
    size_t padded = frame * stft->config.hop_length + j;
    segment[j] = padded >= stft->pad && padded - stft->pad < n_samples
                     ? samples[padded - stft->pad]
                     : 0.0f;
  }
}

static dlsc_status check_forward(const dlsc_stft_t *stft, const float *samples,
                                 size_t n_samples, size_t n_frames) {
  if (!stft || !samples || n_samples == 0 || n_samples > SIZE_MAX / 2)
    return DLSC_ERR_INVALID_ARGUMENT;
  if (n_frames != dlsc_stft_frames_for(stft, n_samples))
    return DLSC_ERR_SHAPE_MISMATCH;
  if (!dlsc_all_within(samples, n_samples, DLSC_SAMPLE_LIMIT))
    return DLSC_ERR_NUMERIC; /* within it no spectrum value passes n_fft 2^40 */
  return DLSC_OK;
}

static dlsc_status forward(dlsc_stft_t *stft, const float *samples, size_t n_samples,
                           float *magnitude, float *phase, float *spectrum, size_t n_frames) {
  float *segment = dlsc_alloc_floats(stft->config.n_fft);
  if (!segment)
    return DLSC_ERR_OUT_OF_MEMORY;
  size_t n_bins = stft->n_bins;
  for (size_t k = 0; k < n_frames; k++) {
    gather_segment(stft, samples, n_samples, k, segment);
    dlsc_stft_analyze_frame(stft, segment, magnitude ? magnitude + k * n_bins : NULL,
                            phase ? phase + k * n_bins : NULL,
                            spectrum ? spectrum + 2 * k * n_bins : NULL);
  }
  free(segment);
  return DLSC_OK;
}

dlsc_status dlsc_stft_forward(dlsc_stft_t *stft, const float *samples, size_t n_samples,
                              float *magnitude, float *phase, size_t n_frames) {
  DLSC_TRY(check_forward(stft, samples, n_samples, n_frames));
  if (!magnitude)
    return DLSC_ERR_INVALID_ARGUMENT;
  return forward(stft, samples, n_samples, magnitude, phase, NULL, n_frames);
}

dlsc_status dlsc_stft_forward_complex(dlsc_stft_t *stft, const float *samples, size_t n_samples,
                                      float *spectrum, size_t n_frames) {
  DLSC_TRY(check_forward(stft, samples, n_samples, n_frames));
  if (!spectrum)
    return DLSC_ERR_INVALID_ARGUMENT;
  return forward(stft, samples, n_samples, NULL, NULL, spectrum, n_frames);
}

static dlsc_status inverse(dlsc_stft_t *stft, const float *magnitude, const float *phase,
                           const float *spectrum, size_t n_frames, float *samples,
                           size_t n_samples) {
  if (!stft || !samples || n_samples == 0 || n_samples > SIZE_MAX / 2)
    return DLSC_ERR_INVALID_ARGUMENT;
  if (n_frames != dlsc_stft_frames_for(stft, n_samples))
    return DLSC_ERR_SHAPE_MISMATCH;
  size_t n_bins = stft->n_bins, n_fft = stft->config.n_fft;
  size_t values = n_frames * n_bins;
  /* Within the limit every value of the transform and the overlap-add stays below
   * 2^107 (2 n_bins 2^64.5 before the 1 / n_fft scaling, n_fft / hop frames, a window
   * sum no smaller than 1e-3), so the output is finite. */
  if (spectrum ? !dlsc_all_within(spectrum, 2 * values, DLSC_SPECTRUM_LIMIT)
               : !dlsc_all_within(magnitude, values, DLSC_SPECTRUM_LIMIT) ||
                     !dlsc_all_finite(phase, values))
    return DLSC_ERR_NUMERIC;
  size_t hop = stft->config.hop_length;
  float *windowed = dlsc_alloc_floats(n_fft);
  double *ring = calloc(n_fft, sizeof *ring);
  if (!windowed || !ring) {
    free(windowed);
    free(ring);
    return DLSC_ERR_OUT_OF_MEMORY;
  }
  for (size_t k = 0; k < n_frames; k++) {
    dlsc_stft_synthesize_frame(stft, magnitude ? magnitude + k * n_bins : NULL,
                               phase ? phase + k * n_bins : NULL,
                               spectrum ? spectrum + 2 * k * n_bins : NULL, windowed);
    dlsc_stft_overlap_add(stft, ring, k, windowed, windowed);
    for (size_t j = 0; j < hop; j++) { /* the padding and what lies past the end go */
      size_t padded = k * hop + j;
      if (padded >= stft->pad && padded - stft->pad < n_samples)
        samples[padded - stft->pad] = windowed[j];
    }
  }
  free(windowed);
  free(ring);
  return DLSC_OK;
}

dlsc_status dlsc_stft_inverse(dlsc_stft_t *stft, const float *magnitude, const float *phase,
                              size_t n_frames, float *samples, size_t n_samples) {
  if (!magnitude || !phase)
    return DLSC_ERR_INVALID_ARGUMENT;
  return inverse(stft, magnitude, phase, NULL, n_frames, samples, n_samples);
}

dlsc_status dlsc_stft_inverse_complex(dlsc_stft_t *stft, const float *spectrum, size_t n_frames,
                                      float *samples, size_t n_samples) {
  if (!spectrum)
    return DLSC_ERR_INVALID_ARGUMENT;
  return inverse(stft, NULL, NULL, spectrum, n_frames, samples, n_samples);
}
