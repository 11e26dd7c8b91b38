/* Denoising: the engine reconstructs exactly through an identity mask, streams agree
 * with whole signals for every chunking, and bad models, STFTs and samples get a
 * status. Also the metrics and the mixer. */
#include "common.h"
#include "internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void set_denoise(dlsc_model_t *model, size_t n_fft, size_t hop, size_t before,
                        size_t after, int mask) {
  dlsc_denoise_config config;
  dlsc_denoise_config_init(&config);
  config.n_fft = n_fft;
  config.hop_length = hop;
  config.context_before = before;
  config.context_after = after;
  config.mask = mask;
  ck_assert_ok(dlsc_model_set_denoise(model, &config));
}

static dlsc_model_t *denoiser(size_t n_fft, size_t hop, size_t before, size_t after, int mask,
                              bool identity) {
  size_t bins = n_fft / 2 + 1;
  char spec[256];
  snprintf(spec, sizeof spec, "input 1x%zux%zu; log; dense 24; tanh; dense %zu; sigmoid",
           before + 1 + after, bins, bins);
  dlsc_model_t *model;
  ck_assert_ok(dlsc_model_create_from_spec(identity ? "input 1x1x1; dense 1" : spec, 3, &model));
  if (identity) { /* a dense layer with zero weights and bias 1: the mask is exactly 1 */
    dlsc_model_destroy(model);
    snprintf(spec, sizeof spec, "input 1x%zux%zu; dense %zu", before + 1 + after, bins, bins);
    ck_assert_ok(dlsc_model_create_from_spec(spec, 3, &model));
    dlsc_layer *layer = &model->layers[0];
    memset(layer->params, 0, layer->n_weights * sizeof(float));
    for (size_t i = layer->n_weights; i < layer->n_params; i++)
      layer->params[i] = 1.0f;
  }
  set_denoise(model, n_fft, hop, before, after, mask);
  return model;
}

static dlsc_stft_t *stft_for(size_t n_fft, size_t hop) {
  dlsc_stft_config config;
  dlsc_stft_config_init(&config);
  config.n_fft = n_fft;
  config.hop_length = hop;
  dlsc_stft_t *stft;
  ck_assert_ok(dlsc_stft_create(&config, &stft));
  return stft;
}

START_TEST(identity_mask_reconstructs_the_input) {
  dlsc_model_t *model = denoiser(256, 128, 1, 1, 1, true);
  dlsc_stft_t *stft = stft_for(256, 128);
  static const size_t lengths[] = {1, 100, 255, 256, 257, 3000, 10007};
  for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
    size_t n = lengths[l];
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    fill_uniform(x, n, -1, 1, n);
    ck_assert_ok(dlsc_denoise(model, stft, x, n, y));
    ck_assert_msg(max_abs_diff(x, y, n) < 1e-5 * max_abs(x, n), "length %zu", n);
    free(x);
    free(y);
  }
  dlsc_stft_destroy(stft);
  dlsc_model_destroy(model);
}
END_TEST

/* With hop 1 every sample sums n_fft frames: the sums must keep the 1e-5 round trip
 * (float sums of 1026 rectangular frames missed it: 1.1e-5 to 1.5e-5 of the peak). */
START_TEST(identity_mask_reconstructs_at_hop_1) {
  dlsc_model_t *model = denoiser(1026, 1, 0, 0, 1, true);
  dlsc_denoise_config config;
  dlsc_denoise_config_init(&config);
  ck_assert_ok(dlsc_model_get_denoise(model, &config));
  config.window = DLSC_WINDOW_RECTANGULAR;
  ck_assert_ok(dlsc_model_set_denoise(model, &config));
  dlsc_stft_t *stft;
  ck_assert_ok(dlsc_stft_create_for_model(model, &stft));
  static const size_t lengths[] = {1, 40, 1093};
  for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
    size_t n = lengths[l];
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    fill_uniform(x, n, -1, 1, 11);
    ck_assert_ok(dlsc_denoise(model, stft, x, n, y));
    ck_assert_msg(max_abs_diff(x, y, n) < 1e-5 * max_abs(x, n), "length %zu: %g", n,
                  max_abs_diff(x, y, n) / max_abs(x, n));
    free(x);
    free(y);
  }
  dlsc_stft_destroy(stft);
  dlsc_model_destroy(model);
}
END_TEST

/* Streams the signal in chunks of the given sizes (cycled) and compares with the
 * whole-signal result, returning the largest difference. */
static double stream_difference(dlsc_model_t *model, dlsc_stream_t *stream, const float *x,
                                size_t n, const size_t *chunks, size_t n_chunks,
                                const float *whole) {
  size_t latency;
  ck_assert_ok(dlsc_stream_latency(stream, &latency));
  float *out = malloc((n + latency) * sizeof *out);
  size_t done = 0;
  for (size_t c = 0; done < n; c++) {
    size_t take = DLSC_MIN(chunks[c % n_chunks], n - done);
    ck_assert_ok(dlsc_stream_process(stream, x + done, take, out + done));
    done += take;
  }
  ck_assert_ok(dlsc_stream_flush(stream, out + n));
  for (size_t i = 0; i < DLSC_MIN(latency, n); i++)
    ck_assert_float_eq(out[i], 0.0f); /* the delay comes out first */
  double difference = max_abs_diff(out + latency, whole, n);
  free(out);
  return difference;
}

START_TEST(stream_matches_whole_signal_for_any_chunking) {
  dlsc_model_t *model = denoiser(512, 128, 3, 2, 1, false);
  dlsc_stft_t *stft = stft_for(512, 128);
  dlsc_stream_t *stream;
  ck_assert_ok(dlsc_stream_create(model, &stream));
  size_t latency;
  ck_assert_ok(dlsc_stream_latency(stream, &latency));
  ck_assert_uint_eq(latency, 512 - 1 + 2 * 128);
  size_t n = 40000;
  float *x = malloc(n * sizeof *x), *whole = malloc(n * sizeof *whole);
  fill_uniform(x, n, -0.5f, 0.5f, 99);
  ck_assert_ok(dlsc_denoise(model, stft, x, n, whole));
  ck_assert_double_gt(max_abs_diff(x, whole, n), 1e-2); /* the model does change things */
  static const size_t one[] = {1}, odd[] = {7, 129, 1, 500, 3}, big[] = {9000};
  static const size_t hop[] = {128}, whole_signal[] = {40000};
  const size_t *patterns[] = {one, odd, big, hop, whole_signal};
  const size_t lengths[] = {1, 5, 1, 1, 1};
  for (size_t p = 0; p < 5; p++) {
    /* The same stream serves signal after signal: flush resets it. */
    double difference = stream_difference(model, stream, x, n, patterns[p], lengths[p], whole);
    ck_assert_msg(difference <= 1e-6, "pattern %zu differs by %g", p, difference);
  }
  /* reset abandons a signal midway: the next one comes out as from a fresh stream
   * (zeros first, then the whole-signal result). */
  float *abandoned = malloc(3001 * sizeof *abandoned);
  ck_assert_ok(dlsc_stream_process(stream, x + 5000, 3001, abandoned));
  ck_assert_ok(dlsc_stream_reset(stream));
  ck_assert_double_le(stream_difference(model, stream, x, n, odd, 5, whole), 1e-6);
  ck_assert_status(dlsc_stream_reset(NULL), DLSC_ERR_INVALID_ARGUMENT);
  free(abandoned);
  /* Shorter than the latency. */
  float short_whole[50];
  ck_assert_ok(dlsc_denoise(model, stft, x, 50, short_whole));
  ck_assert_double_le(stream_difference(model, stream, x, 50, odd, 5, short_whole), 1e-6);
  free(x);
  free(whole);
  dlsc_stream_destroy(stream);
  dlsc_stft_destroy(stft);
  dlsc_model_destroy(model);
}
END_TEST

/* dlsc_denoise runs the model's row-wise leading layers (log, batch-norm, 1-high
 * pooling, ...) once per frame; the result must be the model applied to every context
 * window, as a caller would compute it with the STFT and dlsc_model_predict. */
START_TEST(denoise_is_the_model_on_every_context_window) {
  const size_t n_fft = 256, hop = 64, bins = 129, before = 2, after = 1, window = 4;
  static const char *const specs[] = {
      "input 1x4x129; log; batchnorm; avgpool 1x2; relu; dense 24; tanh; dense 129; sigmoid",
      "input 1x4x129; log; dense 129; sigmoid", /* one row-wise layer */
      "input 1x4x129; dense 129; sigmoid",      /* none */
      /* wide: 0.6 MiB of inference workspace per window, so fewer windows per call */
      "input 1x4x129; log; conv2d 160 1x1; relu; conv2d 1 4x1; sigmoid",
  };
  for (size_t m = 0; m < 4; m++) {
    dlsc_model_t *model;
    ck_assert_ok(dlsc_model_create_from_spec(specs[m], 5, &model));
    if (m == 3) /* the engine's budget is 16 MiB: 16 of the 50 windows at a time */
      ck_assert_uint_gt(dlsc_model_inference_floats(model, 32), (size_t)4 << 20);
    if (m == 0) { /* batch-norm statistics that matter */
      dlsc_layer *bn = &model->layers[1];
      bn->stats[0] = -3.0f; /* running mean */
      bn->stats[1] = 4.0f;  /* running variance */
      bn->params[0] = 1.5f; /* gamma */
      bn->params[1] = 0.25f; /* beta */
    }
    set_denoise(model, n_fft, hop, before, after, 1);
    dlsc_stft_t *stft;
    ck_assert_ok(dlsc_stft_create_for_model(model, &stft));
    size_t n = 3001, frames;
    ck_assert_ok(dlsc_stft_n_frames(stft, n, &frames));
    float *x = malloc(n * sizeof *x), *got = malloc(n * sizeof *got);
    float *want = malloc(n * sizeof *want), *mag = malloc(frames * bins * sizeof *mag);
    float *phase = malloc(frames * bins * sizeof *phase), *mask = malloc(frames * bins * sizeof *mask);
    float *windows = calloc(frames * window * bins, sizeof *windows);
    fill_uniform(x, n, -0.5f, 0.5f, 7);
    ck_assert_ok(dlsc_stft_forward(stft, x, n, mag, phase, frames));
    for (size_t k = 0; k < frames; k++)
      for (size_t w = 0; w < window; w++) {
        ptrdiff_t source = (ptrdiff_t)k - (ptrdiff_t)before + (ptrdiff_t)w;
        if (source >= 0 && (size_t)source < frames) /* zeros outside the signal */
          memcpy(windows + (k * window + w) * bins, mag + (size_t)source * bins,
                 bins * sizeof *mag);
      }
    ck_assert_ok(dlsc_model_predict(model, windows, frames, mask));
    /* dlsc_denoise_gains gives those masks (here in place of the magnitudes) */
    float *gains = malloc(frames * bins * sizeof *gains);
    memcpy(gains, mag, frames * bins * sizeof *mag);
    ck_assert_ok(dlsc_denoise_gains(model, gains, frames, gains));
    ck_assert_msg(max_abs_diff(gains, mask, frames * bins) < 1e-6, "model %zu: gains differ by %g",
                  m, max_abs_diff(gains, mask, frames * bins));
    free(gains);
    for (size_t i = 0; i < frames * bins; i++)
      mag[i] *= mask[i];
    ck_assert_ok(dlsc_stft_inverse(stft, mag, phase, frames, want, n));
    ck_assert_ok(dlsc_denoise(model, stft, x, n, got));
    ck_assert_double_gt(max_abs_diff(x, got, n), 1e-2); /* the model does change things */
    ck_assert_msg(max_abs_diff(want, got, n) < 1e-5, "model %zu differs by %g", m,
                  max_abs_diff(want, got, n));
    /* A stream's own copy of the model reserves only what the engine uses. */
    dlsc_stream_t *stream;
    ck_assert_ok(dlsc_stream_create(model, &stream));
    static const size_t chunks[] = {1000, 77};
    ck_assert_double_le(stream_difference(model, stream, x, n, chunks, 2, got), 1e-6);
    dlsc_stream_destroy(stream);
    free(x);
    free(got);
    free(want);
    free(mag);
    free(phase);
    free(mask);
    free(windows);
    dlsc_stft_destroy(stft);
    dlsc_model_destroy(model);
  }
}
END_TEST

/* A model that outputs magnitudes: its gains are |X| / |Y|, and the noisy spectrum times
 * them resynthesises to dlsc_denoise's output, for signals shorter than the context too;
 * bad frames and models get a status and leave gains and model as they were. */
START_TEST(gains_resynthesise_to_the_denoised_signal) {
  dlsc_model_t *model = denoiser(256, 128, 2, 1, 0, false);
  dlsc_stft_t *stft = stft_for(256, 128);
  const size_t bins = 129;
  static const size_t lengths[] = {100, 3001};
  for (size_t l = 0; l < 2; l++) {
    size_t n = lengths[l], frames;
    ck_assert_ok(dlsc_stft_n_frames(stft, n, &frames));
    /* one block: the signal, dlsc_denoise's output, the resynthesis, gains, spectrum */
    float *x = malloc((3 * n + 3 * frames * bins) * sizeof *x), *want = x + n, *got = want + n;
    float *gains = got + n, *spectrum = gains + frames * bins;
    fill_uniform(x, n, -0.5f, 0.5f, 11 + l);
    ck_assert_ok(dlsc_denoise(model, stft, x, n, want));
    ck_assert_ok(dlsc_stft_forward(stft, x, n, gains, NULL, frames));
    ck_assert_ok(dlsc_denoise_gains(model, gains, frames, gains));
    ck_assert_ok(dlsc_stft_forward_complex(stft, x, n, spectrum, frames));
    for (size_t i = 0; i < frames * bins; i++) {
      spectrum[2 * i] *= gains[i];
      spectrum[2 * i + 1] *= gains[i];
    }
    ck_assert_ok(dlsc_stft_inverse_complex(stft, spectrum, frames, got, n));
    ck_assert_double_gt(max_abs_diff(x, want, n), 1e-2); /* the model does change things */
    ck_assert_msg(max_abs_diff(want, got, n) < 1e-6, "length %zu: differs by %g", n,
                  max_abs_diff(want, got, n));
    free(x);
  }
  /* refusals */
  float magnitude[3 * 129], gains[3 * 129], again[3 * 129];
  fill_uniform(magnitude, 3 * bins, 0.0f, 2.0f, 5);
  for (size_t i = 0; i < 3 * bins; i++)
    gains[i] = 42.0f;
  ck_assert_status(dlsc_denoise_gains(NULL, magnitude, 3, gains), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_denoise_gains(model, NULL, 3, gains), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_denoise_gains(model, magnitude, 3, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_denoise_gains(model, magnitude, 0, gains), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_denoise_gains(model, magnitude, SIZE_MAX / 8, gains),
                   DLSC_ERR_INVALID_ARGUMENT);
  magnitude[200] = NAN;
  ck_assert_status(dlsc_denoise_gains(model, magnitude, 3, gains), DLSC_ERR_NUMERIC);
  magnitude[200] = -0.5f;
  ck_assert_status(dlsc_denoise_gains(model, magnitude, 3, gains), DLSC_ERR_INVALID_ARGUMENT);
  for (size_t i = 0; i < 3 * bins; i++)
    ck_assert_float_eq(gains[i], 42.0f);
  magnitude[200] = 0.0f; /* a zero bin: gain 0 */
  ck_assert_ok(dlsc_denoise_gains(model, magnitude, 3, gains));
  ck_assert_float_eq(gains[200], 0.0f);
  ck_assert_ok(dlsc_denoise_gains(model, magnitude, 3, again)); /* the model is as it was */
  ck_assert_mem_eq(gains, again, sizeof gains);
  dlsc_model_t *plain;
  ck_assert_ok(dlsc_model_create_from_spec("input 1x4x129; dense 129", 1, &plain));
  ck_assert_status(dlsc_denoise_gains(plain, magnitude, 3, gains), DLSC_ERR_INVALID_ARGUMENT);
  dlsc_layer_config dense;
  dlsc_layer_config_init(&dense, DLSC_LAYER_DENSE);
  dense.units = 3;
  ck_assert_ok(dlsc_model_add_layer(model, &dense));
  ck_assert_status(dlsc_denoise_gains(model, magnitude, 3, gains), DLSC_ERR_SHAPE_MISMATCH);
  ck_assert_mem_eq(gains, again, sizeof gains);
  dlsc_model_destroy(plain);
  dlsc_model_destroy(model);
  dlsc_stft_destroy(stft);
}
END_TEST

/* A magnitude model's estimate for a bin whose noisy magnitude is 0 has no phase to
 * keep: dlsc_denoise gives it at phase 0 (header, dlsc_denoise_gains). Silence through
 * a model that says 0.5 for every bin is the inverse of 0.5 at phase 0 everywhere: an
 * impulse at each frame's start. */
START_TEST(a_magnitude_for_a_silent_bin_comes_at_phase_0) {
  dlsc_model_t *model = from_spec("input 1x1x129; sigmoid", 1); /* sigmoid(0) = 0.5 */
  dlsc_denoise_config config; /* rectangular: Hann would zero the frames' one impulse */
  dlsc_denoise_config_init(&config);
  config.n_fft = 256;
  config.hop_length = 128;
  config.window = DLSC_WINDOW_RECTANGULAR;
  config.mask = 0;
  ck_assert_ok(dlsc_model_set_denoise(model, &config));
  dlsc_stft_t *stft;
  ck_assert_ok(dlsc_stft_create_for_model(model, &stft));
  enum { N = 1000 };
  static float silence[N], out[N], want[N], magnitude[16 * 129], phase[16 * 129];
  size_t frames;
  ck_assert_ok(dlsc_stft_n_frames(stft, N, &frames));
  ck_assert_uint_le(frames, 16);
  for (size_t i = 0; i < frames * 129; i++)
    magnitude[i] = 0.5f;
  ck_assert_ok(dlsc_stft_inverse(stft, magnitude, phase, frames, want, N));
  ck_assert_double_gt(max_abs(want, N), 0.1);
  ck_assert_ok(dlsc_denoise(model, stft, silence, N, out));
  ck_assert_double_le(max_abs_diff(out, want, N), 1e-6 * max_abs(want, N));
  dlsc_stft_destroy(stft);
  dlsc_model_destroy(model);
}
END_TEST

START_TEST(row_prefix_stops_at_the_first_layer_that_mixes_rows) {
  static const struct {
    const char *spec;
    size_t prefix, width;
  } cases[] = {
      {"input 1x4x129; log; batchnorm; avgpool 1x2; relu; dense 24", 4, 64},
      {"input 1x4x129; dropout 0.5; gelu; maxpool 1x3; conv2d 2 3x3", 3, 43},
      {"input 1x4x129; avgpool 2x2; relu", 0, 129},     /* pools across rows */
      {"input 1x4x129; relu; avgpool 1x2 pad=0x1", 2, 65}, /* padding along width is fine */
      {"input 2x4x129; relu", 0, 129},                  /* rows of two channels */
      {"input 1x4x129; dense 3; relu", 0, 129},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    dlsc_model_t *model;
    ck_assert_ok(dlsc_model_create_from_spec(cases[i].spec, 1, &model));
    size_t width = 0;
    ck_assert_uint_eq(dlsc_model_row_prefix(model, &width), cases[i].prefix);
    ck_assert_uint_eq(width, cases[i].width);
    dlsc_model_destroy(model);
  }
}
END_TEST

START_TEST(stream_outlives_its_source_model_and_refuses_nan) {
  dlsc_model_t *model = denoiser(256, 128, 1, 0, 1, false);
  dlsc_stft_t *stft = stft_for(256, 128);
  size_t n = 5000;
  float *x = malloc(n * sizeof *x), *whole = malloc(n * sizeof *whole);
  fill_uniform(x, n, -0.5f, 0.5f, 5);
  ck_assert_ok(dlsc_denoise(model, stft, x, n, whole));
  dlsc_stream_t *stream;
  ck_assert_ok(dlsc_stream_create(model, &stream));
  dlsc_model_destroy(model); /* the stream holds its own copy */
  size_t latency;
  ck_assert_ok(dlsc_stream_latency(stream, &latency));
  float *out = malloc((n + latency) * sizeof *out), poison[10];
  fill_uniform(poison, 10, -1, 1, 1);
  poison[3] = NAN;
  ck_assert_ok(dlsc_stream_process(stream, x, 2000, out));
  ck_assert_status(dlsc_stream_process(stream, poison, 10, out + 2000), DLSC_ERR_NUMERIC);
  ck_assert_status(dlsc_stream_process(stream, x, 10, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_ok(dlsc_stream_process(stream, x + 2000, n - 2000, out + 2000));
  ck_assert_ok(dlsc_stream_flush(stream, out + n));
  ck_assert_double_le(max_abs_diff(out + latency, whole, n), 1e-6); /* as if never refused */
  ck_assert_status(dlsc_stream_flush(stream, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_stream_latency(NULL, &latency), DLSC_ERR_INVALID_ARGUMENT);
  free(x);
  free(whole);
  free(out);
  dlsc_stream_destroy(stream);
  dlsc_stft_destroy(stft);
}
END_TEST

START_TEST(mismatches_and_bad_samples_get_a_status) {
  dlsc_model_t *model = denoiser(256, 128, 0, 0, 1, false);
  dlsc_stft_t *other_hop = stft_for(256, 64), *other_size = stft_for(512, 256);
  dlsc_stft_t *stft = stft_for(256, 128);
  float x[1000], y[1000];
  fill_uniform(x, 1000, -1, 1, 1);
  for (int i = 0; i < 1000; i++)
    y[i] = 42.0f;
  ck_assert_status(dlsc_denoise(model, other_hop, x, 1000, y), DLSC_ERR_SHAPE_MISMATCH);
  ck_assert_status(dlsc_denoise(model, other_size, x, 1000, y), DLSC_ERR_SHAPE_MISMATCH);
  ck_assert_status(dlsc_denoise(model, stft, x, 0, y), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_denoise(model, stft, x, 1000, x), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_denoise(NULL, stft, x, 1000, y), DLSC_ERR_INVALID_ARGUMENT);
  x[500] = INFINITY;
  ck_assert_status(dlsc_denoise(model, stft, x, 1000, y), DLSC_ERR_NUMERIC);
  ck_assert_float_eq(y[0], 42.0f); /* untouched */
  x[500] = 0.0f;
  /* A layer added after configuring breaks the shape contract. */
  dlsc_layer_config relu;
  dlsc_layer_config_init(&relu, DLSC_LAYER_DENSE);
  relu.units = 3;
  ck_assert_ok(dlsc_model_add_layer(model, &relu));
  ck_assert_status(dlsc_denoise(model, stft, x, 1000, y), DLSC_ERR_SHAPE_MISMATCH);
  dlsc_stream_t *stream = (dlsc_stream_t *)0x1;
  ck_assert_status(dlsc_stream_create(model, &stream), DLSC_ERR_SHAPE_MISMATCH);
  dlsc_model_t *plain;
  ck_assert_ok(dlsc_model_create_from_spec("input 1x1x129; dense 129", 1, &plain));
  ck_assert_status(dlsc_denoise(plain, stft, x, 1000, y), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_stream_create(plain, &stream), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_eq(stream, (dlsc_stream_t *)0x1);
  dlsc_denoise_config config;
  dlsc_denoise_config_init(&config);
  ck_assert_status(dlsc_model_get_denoise(plain, &config), DLSC_ERR_NOT_FOUND);
  dlsc_stft_t *made = (dlsc_stft_t *)0x1;
  ck_assert_status(dlsc_stft_create_for_model(plain, &made), DLSC_ERR_NOT_FOUND);
  ck_assert_status(dlsc_stft_create_for_model(NULL, &made), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_stft_create_for_model(model, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_eq(made, (dlsc_stft_t *)0x1);
  config.n_fft = 256;
  config.hop_length = 128;
  config.context_before = 100;
  ck_assert_status(dlsc_model_set_denoise(plain, &config), DLSC_ERR_INVALID_ARGUMENT);
  config.context_before = 65; /* past dlsc.h's 64 */
  ck_assert_status(dlsc_model_set_denoise(plain, &config), DLSC_ERR_INVALID_ARGUMENT);
  config.context_before = 0;
  config.context_after = 64; /* taken, but the model's input is one frame */
  ck_assert_status(dlsc_model_set_denoise(plain, &config), DLSC_ERR_SHAPE_MISMATCH);
  config.context_after = 0;
  config.mask = 2;
  ck_assert_status(dlsc_model_set_denoise(plain, &config), DLSC_ERR_INVALID_ARGUMENT);
  config.mask = 1;
  config.hop_length = 256; /* Hann windows a full frame apart */
  ck_assert_status(dlsc_model_set_denoise(plain, &config), DLSC_ERR_UNSUPPORTED);
  config.hop_length = 128;
  config.n_fft = 255;
  ck_assert_status(dlsc_model_set_denoise(plain, &config), DLSC_ERR_INVALID_ARGUMENT);
  config.n_fft = 512;
  ck_assert_status(dlsc_model_set_denoise(plain, &config), DLSC_ERR_SHAPE_MISMATCH);
  config.n_fft = 256;
  ck_assert_ok(dlsc_model_set_denoise(plain, &config));
  /* NULL handles and configs */
  ck_assert_status(dlsc_model_set_denoise(NULL, &config), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_get_denoise(NULL, &config), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_get_denoise(plain, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_denoise_config_init_(NULL, sizeof config), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_denoise_config_init_(&config, 1), DLSC_ERR_INVALID_ARGUMENT);
  /* an empty chunk is a no-op (NULL buffers allowed): the stream goes on unchanged */
  dlsc_stream_t *with_empty, *without;
  ck_assert_ok(dlsc_stream_create(plain, &with_empty));
  ck_assert_ok(dlsc_stream_create(plain, &without));
  float a[1000], b[1000];
  ck_assert_ok(dlsc_stream_process(with_empty, x, 300, a));
  ck_assert_ok(dlsc_stream_process(with_empty, NULL, 0, NULL));
  ck_assert_ok(dlsc_stream_process(with_empty, x + 300, 700, a + 300));
  ck_assert_ok(dlsc_stream_process(without, x, 300, b));
  ck_assert_ok(dlsc_stream_process(without, x + 300, 700, b + 300));
  ck_assert_mem_eq(a, b, sizeof a);
  ck_assert_status(dlsc_stream_process(without, NULL, 5, b), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_stream_process(NULL, x, 5, b), DLSC_ERR_INVALID_ARGUMENT);
  dlsc_stream_destroy(with_empty);
  dlsc_stream_destroy(without);
  dlsc_model_destroy(plain);
  dlsc_model_destroy(model);
  dlsc_stft_destroy(stft);
  dlsc_stft_destroy(other_hop);
  dlsc_stft_destroy(other_size);
}
END_TEST

/* The range of signals (dlsc.h): samples past DLSC_SAMPLE_LIMIT and magnitudes past
 * DLSC_SPECTRUM_LIMIT are refused with nothing written; at the limit, and under a model
 * whose outputs are absurd, denoising stays finite. */
START_TEST(signals_past_the_limits_are_refused_and_outputs_stay_finite) {
  const size_t n = 3000, bins = 129;
  float *x = malloc((3 * n + 3 * n + 8 * bins) * sizeof *x), *y = x + n, *z = y + n;
  float *up = z + n, *magnitude = up + 3 * n, *gains = magnitude + 4 * bins;
  dlsc_model_t *model = denoiser(256, 128, 1, 1, 1, true); /* mask 1 */
  dlsc_stft_t *stft = stft_for(256, 128);
  fill_uniform(x, n, -1, 1, 9);
  for (size_t i = 0; i < n; i++) /* full scale at the limit */
    x[i] = x[i] < 0.0f ? -DLSC_SAMPLE_LIMIT : DLSC_SAMPLE_LIMIT;
  ck_assert_ok(dlsc_denoise(model, stft, x, n, y));
  ck_assert_double_le(max_abs_diff(x, y, n), 1e-5 * DLSC_SAMPLE_LIMIT);
  dlsc_stream_t *stream;
  ck_assert_ok(dlsc_stream_create(model, &stream));
  ck_assert_ok(dlsc_stream_process(stream, x, n, z));
  ck_assert(isfinite(max_abs(z, n)));
  size_t n_up;
  ck_assert_ok(dlsc_resample(x, n, 16000, 48000, up, 3 * n, &n_up));
  ck_assert(isfinite(max_abs(up, n_up)));
  /* at 48 kHz, with masks of 4, which take the engine's output past the sample limit:
   * the stream's resampler back to 48 kHz passes it on all the same */
  dlsc_layer *layer = &model->layers[0];
  for (size_t i = layer->n_weights; i < layer->n_params; i++)
    layer->params[i] = 4.0f;
  dlsc_stream_t *loud;
  size_t latency;
  ck_assert_ok(dlsc_stream_create_at_rate(model, 16000, 48000, &loud));
  ck_assert_ok(dlsc_stream_latency(loud, &latency));
  ck_assert_uint_le(latency, 3 * n);
  ck_assert_ok(dlsc_stream_process(loud, x, n, z));
  ck_assert_ok(dlsc_stream_flush(loud, up));
  ck_assert_double_gt(fmax(max_abs(z, n), max_abs(up, latency)), 3.0 * DLSC_SAMPLE_LIMIT);
  ck_assert(isfinite(max_abs(up, latency)));
  dlsc_stream_destroy(loud);

  /* one step past: refused, nothing written */
  x[n / 2] = -nextafterf(DLSC_SAMPLE_LIMIT, INFINITY);
  for (size_t i = 0; i < 2 * n; i++)
    y[i] = 42.0f; /* y and z */
  ck_assert_status(dlsc_denoise(model, stft, x, n, y), DLSC_ERR_NUMERIC);
  ck_assert_status(dlsc_stream_process(stream, x, n, z), DLSC_ERR_NUMERIC);
  size_t kept = 7;
  ck_assert_status(dlsc_resample(x, n, 16000, 48000, y, 3 * n, &kept), DLSC_ERR_NUMERIC);
  ck_assert_uint_eq(kept, 7);
  ck_assert_status(dlsc_mix_at_snr(x, n, x, n, 0, 0.0, y), DLSC_ERR_NUMERIC);
  for (size_t i = 0; i < 2 * n; i++)
    ck_assert_float_eq(y[i], 42.0f);
  dlsc_resampler_t *resampler;
  ck_assert_ok(dlsc_resampler_create(16000, 48000, &resampler));
  ck_assert_status(dlsc_resampler_process(resampler, x, n, up, 3 * n, &kept), DLSC_ERR_NUMERIC);
  dlsc_resampler_destroy(resampler);
  dlsc_stream_destroy(stream);

  /* a mix that would pass the limit: a loud signal over a faint noise at -200 dB */
  float clean[100], faint[100], mix[100];
  fill_uniform(clean, 100, -1e6f, 1e6f, 3);
  fill_uniform(faint, 100, -1e-30f, 1e-30f, 4);
  for (size_t i = 0; i < 100; i++)
    mix[i] = 42.0f;
  ck_assert_status(dlsc_mix_at_snr(clean, 100, faint, 100, 0, -200.0, mix), DLSC_ERR_NUMERIC);
  ck_assert_float_eq(mix[99], 42.0f);
  ck_assert_ok(dlsc_mix_at_snr(clean, 100, faint, 100, 5, 60.0, mix));
  ck_assert_ok(dlsc_mix_at_snr(clean, 100, faint, 100, 5, 60.0, clean)); /* in place */
  ck_assert_mem_eq(mix, clean, sizeof mix);
  /* a mix that reaches the limit exactly, where the noise is 0: kept */
  for (size_t i = 0; i < 100; i++) {
    clean[i] = i == 0 ? DLSC_SAMPLE_LIMIT : 0.0f;
    faint[i] = i == 0 ? 0.0f : 1.0f;
  }
  ck_assert_ok(dlsc_mix_at_snr(clean, 100, faint, 100, 0, 0.0, mix));
  ck_assert_float_eq(mix[0], DLSC_SAMPLE_LIMIT);

  /* masks of 1e38: each bin would pass the spectrum limit, so every bin is muted, and
   * the output is silence (before, the products overflowed: infinity and NaN) */
  fill_uniform(x, n, -1, 1, 9);
  for (size_t i = layer->n_weights; i < layer->n_params; i++)
    layer->params[i] = 1e38f;
  ck_assert_ok(dlsc_denoise(model, stft, x, n, y));
  ck_assert_double_eq(max_abs(y, n), 0.0);
  ck_assert_ok(dlsc_stream_create(model, &stream));
  ck_assert_ok(dlsc_stream_process(stream, x, n, z));
  ck_assert_double_eq(max_abs(z, n), 0.0);
  dlsc_stream_destroy(stream);

  /* masks of 1e10 over bins of 1e10: the product passes the spectrum limit (2^64), so
   * those bins are muted; over bins of 1e9 (a product of 1e19) the mask is kept */
  for (size_t i = layer->n_weights; i < layer->n_params; i++)
    layer->params[i] = 1e10f;
  for (size_t i = 0; i < 4 * bins; i++)
    magnitude[i] = i % 2 ? 1e10f : 1e9f;
  ck_assert_ok(dlsc_denoise_gains(model, magnitude, 4, gains));
  for (size_t i = 0; i < 4 * bins; i++)
    ck_assert_float_eq(gains[i], (i % 2 ? 0.0f : 1e10f));

  /* a magnitude model (|X| = 1) over bins of 1e-39: |X| / |Y| overflows, so the gain is
   * 0, as where |Y| is 0 */
  set_denoise(model, 256, 128, 1, 1, 0);
  for (size_t i = layer->n_weights; i < layer->n_params; i++)
    layer->params[i] = 1.0f;
  for (size_t i = 0; i < 4 * bins; i++)
    magnitude[i] = i % 2 ? 1e-39f : 0.5f;
  ck_assert_ok(dlsc_denoise_gains(model, magnitude, 4, gains));
  for (size_t i = 0; i < 4 * bins; i++)
    ck_assert_float_eq(gains[i], i % 2 ? 0.0f : 2.0f);
  magnitude[5] = DLSC_SPECTRUM_LIMIT;
  ck_assert_ok(dlsc_denoise_gains(model, magnitude, 4, gains));
  magnitude[5] = nextafterf(DLSC_SPECTRUM_LIMIT, INFINITY);
  gains[0] = 42.0f;
  ck_assert_status(dlsc_denoise_gains(model, magnitude, 4, gains), DLSC_ERR_NUMERIC);
  ck_assert_float_eq(gains[0], 42.0f);
  /* a magnitude model's |X| of 0, below 0 or past the spectrum limit: gain 0 */
  static const float estimates[3] = {0.0f, -1.0f, 1e38f};
  for (size_t i = 0; i < 4 * bins; i++)
    magnitude[i] = 0.5f;
  for (int k = 0; k < 3; k++) {
    for (size_t i = layer->n_weights; i < layer->n_params; i++)
      layer->params[i] = estimates[k];
    ck_assert_ok(dlsc_denoise_gains(model, magnitude, 4, gains));
    ck_assert_msg(max_abs(gains, 4 * bins) == 0.0, "|X| = %g", (double)estimates[k]);
  }
  for (size_t i = layer->n_weights; i < layer->n_params; i++) /* the limit itself: kept */
    layer->params[i] = DLSC_SPECTRUM_LIMIT;
  ck_assert_ok(dlsc_denoise_gains(model, magnitude, 4, gains));
  ck_assert_float_eq(gains[7], 2.0f * DLSC_SPECTRUM_LIMIT);
  free(x);
  dlsc_model_destroy(model);
  dlsc_stft_destroy(stft);
}
END_TEST

START_TEST(denoise_config_survives_save_and_load) {
  dlsc_model_t *model = denoiser(256, 64, 2, 1, 0, false);
  size_t size;
  unsigned char *bytes = model_bytes(model, &size);
  dlsc_model_t *loaded;
  ck_assert_ok(dlsc_model_load(bytes, size, &loaded));
  dlsc_denoise_config config;
  dlsc_denoise_config_init(&config);
  ck_assert_ok(dlsc_model_get_denoise(loaded, &config));
  ck_assert_uint_eq(config.n_fft, 256);
  ck_assert_uint_eq(config.hop_length, 64);
  ck_assert_uint_eq(config.context_before, 2);
  ck_assert_uint_eq(config.context_after, 1);
  ck_assert_int_eq(config.mask, 0);
  dlsc_stft_t *stft;
  ck_assert_ok(dlsc_stft_create_for_model(loaded, &stft));
  dlsc_stft_config stft_config;
  dlsc_stft_config_init(&stft_config);
  ck_assert_ok(dlsc_stft_get_config(stft, &stft_config));
  ck_assert_uint_eq(stft_config.n_fft, 256);
  ck_assert_uint_eq(stft_config.hop_length, 64);
  ck_assert_int_eq(stft_config.window, config.window);
  dlsc_stft_destroy(stft);
  free(bytes);
  dlsc_model_destroy(loaded);
  dlsc_model_destroy(model);
}
END_TEST

START_TEST(metrics_have_their_definitions) {
  float ref[1000], est[1000], noise[300], mix[1000];
  fill_uniform(ref, 1000, -1, 1, 1);
  for (int i = 0; i < 1000; i++)
    est[i] = 1.1f * ref[i]; /* error = 0.1 * ref: 20 dB */
  double snr, si_sdr;
  ck_assert_ok(dlsc_snr(ref, est, 1000, &snr));
  ck_assert_double_eq_tol(snr, 20.0, 1e-4);
  ck_assert_ok(dlsc_si_sdr(ref, est, 1000, &si_sdr));
  ck_assert(isinf(si_sdr) || si_sdr > 100.0); /* a scaled reference is perfect for SI-SDR */
  ck_assert_ok(dlsc_snr(ref, ref, 1000, &snr));
  ck_assert(isinf(snr) && snr > 0);
  fill_uniform(noise, 300, -1, 1, 2);
  ck_assert_ok(dlsc_mix_at_snr(ref, 1000, noise, 300, 17, 5.0, mix));
  ck_assert_ok(dlsc_snr(ref, mix, 1000, &snr));
  ck_assert_double_eq_tol(snr, 5.0, 1e-4);
  /* the noise is read from the offset on, looping: mix - ref is g * noise[(17 + i) % 300] */
  double dot = 0.0, energy = 0.0;
  for (int i = 0; i < 1000; i++) {
    dot += (double)(mix[i] - ref[i]) * noise[(17 + i) % 300];
    energy += (double)noise[(17 + i) % 300] * noise[(17 + i) % 300];
  }
  double gain = dot / energy;
  for (int i = 0; i < 1000; i++)
    ck_assert_double_eq_tol(mix[i] - ref[i], gain * noise[(17 + i) % 300], 1e-5);
  float wrapped[1000]; /* an offset past the noise's end is taken modulo its length */
  ck_assert_ok(dlsc_mix_at_snr(ref, 1000, noise, 300, 17 + 2 * 300, 5.0, wrapped));
  ck_assert_mem_eq(wrapped, mix, sizeof wrapped);
  for (int i = 0; i < 1000; i++)
    est[i] = 2.0f * mix[i];
  double scaled;
  ck_assert_ok(dlsc_si_sdr(ref, mix, 1000, &si_sdr));
  ck_assert_ok(dlsc_si_sdr(ref, est, 1000, &scaled));
  ck_assert_double_eq_tol(si_sdr, scaled, 1e-9);
  float silent[1000] = {0};
  ck_assert_status(dlsc_snr(silent, est, 1000, &snr), DLSC_ERR_NUMERIC);
  ck_assert_status(dlsc_si_sdr(ref, silent, 1000, &snr), DLSC_ERR_NUMERIC);
  ck_assert_status(dlsc_si_sdr(silent, est, 1000, &snr), DLSC_ERR_NUMERIC);
  float pair[2] = {1.0f, 0.0f}, orthogonal[2] = {0.0f, 1.0f};
  ck_assert_status(dlsc_si_sdr(pair, orthogonal, 2, &snr), DLSC_ERR_NUMERIC);
  ck_assert_status(dlsc_mix_at_snr(ref, 1000, silent, 300, 0, 5.0, mix), DLSC_ERR_NUMERIC);
  ck_assert_status(dlsc_mix_at_snr(silent, 1000, noise, 300, 0, 5.0, mix), DLSC_ERR_NUMERIC);
  ck_assert_status(dlsc_mix_at_snr(ref, 1000, noise, 300, 0, NAN, mix), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_snr(ref, est, 0, &snr), DLSC_ERR_INVALID_ARGUMENT);
  est[3] = NAN;
  ck_assert_status(dlsc_snr(ref, est, 1000, &snr), DLSC_ERR_NUMERIC);
}
END_TEST

/* Largest |out[j] - sin(2 pi f j / rate_out)| over outputs at least margin samples
 * from either end, for a sine of f Hz sampled at rate_in. */
static double resampled_sine_error(double f, unsigned rate_in, unsigned rate_out, size_t n_in,
                                   size_t margin) {
  float *in = malloc(n_in * sizeof *in), *out = NULL;
  for (size_t i = 0; i < n_in; i++)
    in[i] = (float)sin(2.0 * M_PI * f * (double)i / rate_in);
  size_t n_out;
  ck_assert_ok(dlsc_resample(in, n_in, rate_in, rate_out, NULL, 0, &n_out));
  out = malloc(n_out * sizeof *out);
  ck_assert_ok(dlsc_resample(in, n_in, rate_in, rate_out, out, n_out, &n_out));
  double worst = 0.0;
  for (size_t j = margin; j + margin < n_out; j++)
    worst = max_or_nan(worst, fabs(out[j] - sin(2.0 * M_PI * f * (double)j / rate_out)));
  free(in);
  free(out);
  return worst;
}

START_TEST(resampling_keeps_the_band_and_removes_what_would_alias) {
  /* lengths: every output time inside the input */
  float x[441] = {0}, y[1323];
  size_t n;
  ck_assert_ok(dlsc_resample(x, 441, 44100, 16000, NULL, 0, &n));
  ck_assert_uint_eq(n, 160);
  ck_assert_ok(dlsc_resample(x, 440, 44100, 16000, NULL, 0, &n));
  ck_assert_uint_eq(n, 160); /* ceil(159.64) */
  ck_assert_ok(dlsc_resample(x, 100, 16000, 48000, NULL, 0, &n));
  ck_assert_uint_eq(n, 300);
  /* tones in the pass band come through, in both directions and odd ratios (docs/api.md's
   * figures; measured 3.0e-6 to 6.9e-6 and, for the 10 kHz tone below, 5.7e-6) */
  ck_assert_double_le(resampled_sine_error(1000.0, 48000, 16000, 9600, 200), 1e-5);
  ck_assert_double_le(resampled_sine_error(5000.0, 44100, 16000, 8820, 200), 1e-5);
  ck_assert_double_le(resampled_sine_error(3000.0, 16000, 48000, 3200, 600), 1e-5);
  ck_assert_double_le(resampled_sine_error(440.0, 17600, 16000, 3520, 200), 1e-5);
  /* pairs of many phases (16,000 here: too many to precompute, as the trainer's speed
   * perturbation meets) compute each output's coefficients from the table */
  ck_assert_double_le(resampled_sine_error(2000.0, 16001, 16000, 6000, 200), 1e-5);
  ck_assert_double_le(resampled_sine_error(2000.0, 16000, 16001, 6000, 200), 1e-5);
  /* a 10 kHz tone cannot exist at 16 kHz: it must vanish, not fold to 6 kHz */
  float tone[9600], low[3200];
  for (int i = 0; i < 9600; i++)
    tone[i] = (float)sin(2.0 * M_PI * 10000.0 * i / 48000.0);
  ck_assert_ok(dlsc_resample(tone, 9600, 48000, 16000, low, 3200, &n));
  double energy = 0.0;
  for (size_t j = 200; j + 200 < n; j++)
    energy += (double)low[j] * low[j];
  ck_assert_double_le(sqrt(energy / (double)(n - 400)), 1e-5); /* below -97 dB of 0.707 */
  /* equal rates copy exactly */
  fill_uniform(x, 441, -1, 1, 5);
  ck_assert_ok(dlsc_resample(x, 441, 16000, 16000, y, 441, &n));
  ck_assert_uint_eq(n, 441);
  ck_assert_mem_eq(x, y, sizeof x);
  /* bad input: a status, and out untouched */
  for (int i = 0; i < 1323; i++)
    y[i] = 7.0f;
  ck_assert_status(dlsc_resample(x, 441, 16000, 48000, y, 1322, &n), DLSC_ERR_BUFFER_TOO_SMALL);
  ck_assert_uint_eq(n, 1323);
  x[17] = INFINITY;
  n = 5;
  ck_assert_status(dlsc_resample(x, 441, 16000, 48000, y, 1323, &n), DLSC_ERR_NUMERIC);
  ck_assert_uint_eq(n, 5); /* set only with the output, or with the size it needs */
  for (int i = 0; i < 1323; i++)
    ck_assert_float_eq(y[i], 7.0f);
  ck_assert_status(dlsc_resample(x, 441, 0, 16000, y, 1323, &n), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_resample(x, 441, 16000, 2000000, y, 1323, &n), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_resample(x, 0, 16000, 48000, y, 1323, &n), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_resample(NULL, 441, 16000, 48000, y, 1323, &n), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_resample(x, 441, 16000, 48000, y, 1323, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_resample(x, SIZE_MAX / 2, 16000, 48000, NULL, 0, &n),
                   DLSC_ERR_INVALID_ARGUMENT); /* the output length would overflow */
}
END_TEST

/* Streams x through resampler r in chunks drawn from seed (0 .. max_chunk samples, an
 * empty chunk now and then), asking each call's size first; returns the outputs of all
 * the calls and the flush, *n_out their count. */
static float *resample_in_chunks(dlsc_resampler_t *r, const float *x, size_t n, size_t max_chunk,
                                 uint64_t seed, size_t *n_out) {
  size_t capacity = 3 * n + 64, done = 0, count = 0;
  float *out = malloc(capacity * sizeof *out);
  uint64_t state = seed;
  while (done < n) {
    size_t take = test_random(&state) % (max_chunk + 1), want, got;
    if (take > n - done)
      take = n - done;
    ck_assert_ok(dlsc_resampler_process(r, x + done, take, NULL, 0, &want));
    ck_assert_ok(dlsc_resampler_process(r, x + done, take, out + count, capacity - count, &got));
    ck_assert_uint_eq(got, want);
    count += got;
    done += take;
  }
  size_t want, got;
  ck_assert_ok(dlsc_resampler_flush(r, NULL, 0, &want));
  ck_assert_ok(dlsc_resampler_flush(r, out + count, capacity - count, &got));
  ck_assert_uint_eq(got, want);
  *n_out = count + got;
  return out;
}

START_TEST(resampler_streams_the_whole_signal_bit_for_bit) {
  static const unsigned rates[][2] = {{48000, 16000}, {16000, 48000}, {44100, 16000},
                                      {16000, 44100}, {17600, 16000}, {16000, 16000}};
  static const size_t lengths[] = {1, 7, 150, 4001};
  static const size_t chunks[] = {1, 37, 480, 5000};
  float x[4001], whole[12100];
  fill_uniform(x, 4001, -1, 1, 11);
  for (size_t p = 0; p < sizeof rates / sizeof rates[0]; p++) {
    dlsc_resampler_t *r;
    ck_assert_ok(dlsc_resampler_create(rates[p][0], rates[p][1], &r));
    for (size_t l = 0; l < 4; l++) {
      size_t n = lengths[l], n_whole;
      ck_assert_ok(dlsc_resample(x, n, rates[p][0], rates[p][1], whole, 12100, &n_whole));
      for (size_t c = 0; c < 4; c++) { /* one handle for all: flush resets it */
        size_t n_out;
        float *out = resample_in_chunks(r, x, n, chunks[c], 100 * p + 10 * l + c, &n_out);
        ck_assert_uint_eq(n_out, n_whole);
        ck_assert_mem_eq(out, whole, n_whole * sizeof *whole);
        free(out);
      }
    }
    dlsc_resampler_destroy(r);
  }
}
END_TEST

/* A signal shorter than the filter's blocks resamples as its start inside a longer
 * signal that continues with zeros: the short one's blocks copy its samples into a
 * zero-padded row, the long one's read them in place. */
START_TEST(short_signals_resample_as_their_start_in_a_longer_one) {
  static const unsigned rates[][2] = {{16000, 48000}, {48000, 16000}, {44100, 16000}};
  float x[220] = {0}, short_out[80], long_out[800];
  fill_uniform(x, 20, -1, 1, 12);
  for (size_t p = 0; p < sizeof rates / sizeof rates[0]; p++) {
    size_t n_short, n_long;
    ck_assert_ok(dlsc_resample(x, 20, rates[p][0], rates[p][1], short_out, 80, &n_short));
    ck_assert_ok(dlsc_resample(x, 220, rates[p][0], rates[p][1], long_out, 800, &n_long));
    ck_assert_uint_gt(n_short, 0);
    ck_assert_uint_gt(n_long, n_short);
    for (size_t i = 0; i < n_short; i++)
      ck_assert_msg(fabsf(short_out[i] - long_out[i]) <= 1e-6f, "%u -> %u, output %zu: %g, %g",
                    rates[p][0], rates[p][1], i, (double)short_out[i], (double)long_out[i]);
  }
}
END_TEST

/* The stream chain's up resampler takes samples up to FLT_MAX / 8; its sums stay finite
 * even when every input has the sign of its coefficient for one output (16 -> 48 kHz,
 * output 3 t sits on input t: coefficients sinc(0.94 d) times a positive window). */
START_TEST(resampler_sums_stay_finite_at_the_chains_bound) {
  enum { N = 400, T = 200 };
  static float x[N], out[3 * N + 3];
  float big = FLT_MAX / 8;
  for (int i = 0; i < N; i++) {
    double d = 0.94 * (i - T);
    x[i] = i == T || sin(M_PI * d) / d > 0 ? big : -big;
  }
  dlsc_resampler_t *r;
  size_t n, m;
  ck_assert_ok(dlsc_resampler_create(16000, 48000, &r));
  ck_assert_ok(dlsc_resampler_run(r, x, N, out, 3 * N, &n, big));
  ck_assert_ok(dlsc_resampler_flush(r, out + n, 3 * N + 3 - n, &m));
  ck_assert_uint_eq(n + m, 3 * N);
  for (size_t j = 0; j < n + m; j++)
    ck_assert(isfinite(out[j]));
  /* the kernel's absolute sum at this phase: 1.91 (at most 2.38 over all phases,
   * docs/architecture.md), so output 3 T is far above any one input */
  ck_assert_double_gt(out[3 * T], 1.9 * (double)big);
  ck_assert_double_lt(out[3 * T], 1.92 * (double)big);
  ck_assert_status(dlsc_resampler_run(r, x, N, out, 3 * N, &n, nextafterf(big, 0.0f)),
                   DLSC_ERR_NUMERIC);
  dlsc_resampler_destroy(r);
}
END_TEST

START_TEST(resampler_refusals_consume_nothing) {
  float x[3000], whole[1000], out[1000], seven[1000];
  size_t n_whole, n, count = 0;
  fill_uniform(x, 3000, -1, 1, 12);
  ck_assert_ok(dlsc_resample(x, 3000, 48000, 16000, whole, 1000, &n_whole));
  for (int i = 0; i < 1000; i++)
    seven[i] = 7.0f;
  dlsc_resampler_t *r = (dlsc_resampler_t *)x; /* create must write NULL over it */
  ck_assert_status(dlsc_resampler_create(0, 16000, &r), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(r);
  ck_assert_status(dlsc_resampler_create(48000, 1000001, &r), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_resampler_create(48000, 16000, NULL), DLSC_ERR_INVALID_ARGUMENT);
  dlsc_resampler_destroy(NULL);
  ck_assert_ok(dlsc_resampler_create(48000, 16000, &r));
  ck_assert_ok(dlsc_resampler_process(r, x, 1000, out, 1000, &n));
  count += n;
  n = 7;
  ck_assert_ok(dlsc_resampler_process(r, NULL, 0, out + count, 1000 - count, &n)); /* 0 */
  ck_assert_uint_eq(n, 0);
  /* each refusal leaves the handle as it was: the run below still equals the whole */
  float bad[500];
  memcpy(bad, x + 1000, sizeof bad);
  bad[250] = NAN;
  memcpy(out + count, seven, 100 * sizeof *out);
  size_t would;
  ck_assert_ok(dlsc_resampler_process(r, bad, 500, NULL, 0, &would));
  ck_assert_status(dlsc_resampler_process(r, bad, 500, out + count, 1000 - count, &n),
                   DLSC_ERR_NUMERIC);
  ck_assert_uint_eq(n, would); /* the count is reported on refusals too */
  ck_assert_mem_eq(out + count, seven, 100 * sizeof *out);
  ck_assert_ok(dlsc_resampler_process(r, x + 1000, 1000, NULL, 0, &would));
  ck_assert_uint_gt(would, 1);
  ck_assert_status(dlsc_resampler_process(r, x + 1000, 1000, out + count, would - 1, &n),
                   DLSC_ERR_BUFFER_TOO_SMALL);
  ck_assert_uint_eq(n, would);
  ck_assert_status(dlsc_resampler_process(NULL, x, 10, out, 1000, &n), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_resampler_process(r, x, 10, out, 1000, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_resampler_process(r, NULL, 10, out, 1000, &n), DLSC_ERR_INVALID_ARGUMENT);
#if SIZE_MAX > 0xffffffffu /* a count past 2^43 samples needs a 64-bit size_t */
  ck_assert_status(dlsc_resampler_process(r, x, (size_t)1 << 43, out, 1000, &n),
                   DLSC_ERR_INVALID_ARGUMENT); /* past 2^43 samples, before reading x */
#endif
  ck_assert_ok(dlsc_resampler_process(r, x + 1000, 2000, out + count, 1000 - count, &n));
  count += n;
  size_t rest;
  ck_assert_ok(dlsc_resampler_flush(r, NULL, 0, &rest));
  ck_assert_uint_gt(rest, 1);
  ck_assert_status(dlsc_resampler_flush(r, out + count, rest - 1, &n), DLSC_ERR_BUFFER_TOO_SMALL);
  ck_assert_status(dlsc_resampler_flush(NULL, out, 1000, &n), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_resampler_flush(r, out, 1000, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_ok(dlsc_resampler_flush(r, out + count, 1000 - count, &n));
  ck_assert_uint_eq(count + n, n_whole);
  ck_assert_mem_eq(out, whole, n_whole * sizeof *out);
  /* after reset, a new signal from its start; a flush with nothing pushed writes nothing */
  ck_assert_ok(dlsc_resampler_process(r, x + 5, 500, out, 1000, &n));
  ck_assert_ok(dlsc_resampler_reset(r));
  ck_assert_status(dlsc_resampler_reset(NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_ok(dlsc_resampler_flush(r, out, 1000, &n));
  ck_assert_uint_eq(n, 0);
  count = 0;
  ck_assert_ok(dlsc_resampler_process(r, x, 3000, out, 1000, &count));
  ck_assert_ok(dlsc_resampler_flush(r, out + count, 1000 - count, &n));
  ck_assert_uint_eq(count + n, n_whole);
  ck_assert_mem_eq(out, whole, n_whole * sizeof *out);
  dlsc_resampler_destroy(r);
}
END_TEST

/* Of n16 samples from the stream, drops what is left of *skip and resamples the rest
 * up into out + *count. */
static void chain_up(dlsc_resampler_t *up, const float *b, size_t n16, size_t *skip, float *out,
                     size_t capacity, size_t *count) {
  size_t drop = DLSC_MIN(*skip, n16), m;
  *skip -= drop;
  ck_assert_ok(dlsc_resampler_process(up, b + drop, n16 - drop, out + *count,
                                      capacity - *count, &m));
  *count += m;
}

/* docs/api.md's real-time chain: a resampler down to the model's 16 kHz, the stream, a
 * resampler back up, fed 10 ms blocks, the stream's latency (silence) dropped before
 * the up resampler. Its output is the whole-signal path (dlsc_resample, dlsc_denoise,
 * dlsc_resample) itself, at 48 and at 44.1 kHz. */
START_TEST(stream_at_48khz_and_44khz_is_the_whole_path) {
  static const unsigned rates[] = {48000, 44100};
  dlsc_model_t *model = denoiser(256, 128, 2, 1, 1, false);
  dlsc_stft_t *stft = stft_for(256, 128);
  enum { N = 14400 };
  float *x = malloc(N * sizeof *x), *x16 = malloc(N * sizeof *x), *y16 = malloc(N * sizeof *x);
  float *whole = malloc((N + 8) * sizeof *x), *out = malloc((N + 8) * sizeof *x);
  float a[500], b[1500]; /* back at 44.1 kHz: ceil(5225 x 2.75625) = 14402 samples */
  fill_uniform(x, N, -0.5f, 0.5f, 15);
  for (size_t r = 0; r < 2; r++) {
    size_t n16, n_whole, block = rates[r] / 100, n, count = 0, latency;
    ck_assert_ok(dlsc_resample(x, N, rates[r], 16000, x16, N, &n16));
    ck_assert_ok(dlsc_denoise(model, stft, x16, n16, y16));
    ck_assert_ok(dlsc_resample(y16, n16, 16000, rates[r], whole, N + 8, &n_whole));
    dlsc_resampler_t *down, *up;
    dlsc_stream_t *stream;
    ck_assert_ok(dlsc_resampler_create(rates[r], 16000, &down));
    ck_assert_ok(dlsc_resampler_create(16000, rates[r], &up));
    ck_assert_ok(dlsc_stream_create(model, &stream));
    ck_assert_ok(dlsc_stream_latency(stream, &latency));
    ck_assert_uint_le(latency, 1000);
    size_t skip = latency;
    for (size_t done = 0; done < N; done += block) {
      ck_assert_ok(dlsc_resampler_process(down, x + done, DLSC_MIN(block, N - done), a, 500, &n));
      ck_assert_uint_le(n, 161);
      ck_assert_ok(dlsc_stream_process(stream, a, n, b));
      chain_up(up, b, n, &skip, out, N + 8, &count);
    }
    ck_assert_ok(dlsc_resampler_flush(down, a, 500, &n));
    ck_assert_ok(dlsc_stream_process(stream, a, n, b));
    ck_assert_ok(dlsc_stream_flush(stream, b + n));
    chain_up(up, b, n + latency, &skip, out, N + 8, &count);
    ck_assert_ok(dlsc_resampler_flush(up, out + count, N + 8 - count, &n));
    count += n;
    ck_assert_uint_eq(count, n_whole);
    double difference = max_abs_diff(out, whole, n_whole);
    ck_assert_msg(difference <= 1e-6 * fmax(1.0, max_abs(whole, n_whole)), "%u Hz: differs by %g",
                  rates[r], difference);
    ck_assert_double_gt(max_abs(whole, n_whole), 1e-2); /* not silence */
    dlsc_resampler_destroy(down);
    dlsc_resampler_destroy(up);
    dlsc_stream_destroy(stream);
  }
  dlsc_stft_destroy(stft);
  dlsc_model_destroy(model);
  free(x);
  free(x16);
  free(y16);
  free(whole);
  free(out);
}
END_TEST

/* Streams x (n samples at rate) through stream in chunks cycling over chunks[], with a
 * NaN chunk refused now and then; returns the n + latency samples out. */
static float *stream_all(dlsc_stream_t *stream, const float *x, size_t n, const size_t *chunks,
                         size_t n_chunks, size_t latency) {
  float *out = malloc((n + latency) * sizeof *out), *poison = malloc(n * sizeof *poison);
  size_t done = 0;
  for (size_t c = 0; done < n; c++) {
    size_t take = DLSC_MIN(chunks[c % n_chunks], n - done);
    if (c % 5 == 3) { /* refused, nothing consumed */
      memcpy(poison, x + done, take * sizeof *poison);
      poison[take / 2] = NAN;
      ck_assert_status(dlsc_stream_process(stream, poison, take, out + done), DLSC_ERR_NUMERIC);
    }
    ck_assert_ok(dlsc_stream_process(stream, x + done, take, out + done));
    done += take;
  }
  ck_assert_ok(dlsc_stream_flush(stream, out + n));
  free(poison);
  return out;
}

/* A stream at the host's rate: n in, n out, its output after latency zeros the
 * whole-signal path (dlsc_resample, dlsc_denoise, dlsc_resample back), for rates above
 * and below the model's, any chunking, signals shorter than the latency; reset and
 * flush start afresh; equal rates are the plain stream. */
START_TEST(stream_at_another_rate_is_the_whole_path_delayed) {
  static const unsigned rates[] = {48000, 44100, 8000, 22050};
  static const size_t lengths[] = {14400, 300};
  static const size_t chunks[][3] = {{480, 480, 480}, {1, 7, 333}, {5000, 64, 1}};
  dlsc_model_t *model = denoiser(256, 128, 2, 1, 1, false);
  dlsc_stft_t *stft = stft_for(256, 128);
  float *x = malloc(14400 * sizeof *x), *x16 = malloc(28800 * sizeof *x); /* 8 kHz: twice */
  float *y16 = malloc(28800 * sizeof *x), *whole = malloc(14500 * sizeof *x);
  fill_uniform(x, 14400, -0.5f, 0.5f, 16);
  for (size_t r = 0; r < 4; r++) {
    dlsc_stream_t *stream;
    size_t latency;
    ck_assert_ok(dlsc_stream_create_at_rate(model, 16000, rates[r], &stream));
    ck_assert_ok(dlsc_stream_latency(stream, &latency));
    /* the stream's 383 samples at 16 kHz, rescaled, and the resamplers' reach */
    double scale = rates[r] / 16000.0;
    ck_assert_uint_ge(latency, (size_t)(383 * scale));
    ck_assert_uint_le(latency, (size_t)(383 * scale + 34.1 * fmax(scale, 1.0) +
                                        34.1 * fmax(1.0 / scale, 1.0) * scale) + 2);
    if (rates[r] == 48000)
      ck_assert_uint_eq(latency, 1355); /* ceil(102.13 + (383 + 34.04) x 3) + 1 */
    for (size_t l = 0; l < 2; l++) {
      size_t n = lengths[l], n16, n_back;
      ck_assert_ok(dlsc_resample(x, n, rates[r], 16000, x16, 28800, &n16));
      ck_assert_ok(dlsc_denoise(model, stft, x16, n16, y16));
      ck_assert_ok(dlsc_resample(y16, n16, 16000, rates[r], whole, 14500, &n_back));
      ck_assert_uint_ge(n_back, n);
      double peak = fmax(1.0, max_abs(whole, n));
      for (size_t c = 0; c < 3; c++) {
        if (c == 1) { /* a half-pushed signal, then reset: the next run starts afresh */
          float scratch[100];
          ck_assert_ok(dlsc_stream_process(stream, x, 100, scratch));
          ck_assert_ok(dlsc_stream_reset(stream));
        }
        float *out = stream_all(stream, x, n, chunks[c], 3, latency);
        ck_assert_double_eq(max_abs(out, latency), 0.0);
        double difference = max_abs_diff(out + latency, whole, n);
        ck_assert_msg(difference <= 1e-6 * peak, "%u Hz, %zu samples, chunks %zu: differs by %g",
                      rates[r], n, chunks[c][1], difference);
        free(out);
      }
    }
    dlsc_stream_destroy(stream);
  }
  /* equal rates: the plain stream, bit for bit */
  dlsc_stream_t *plain, *same;
  size_t latency, same_latency;
  ck_assert_ok(dlsc_stream_create(model, &plain));
  ck_assert_ok(dlsc_stream_create_at_rate(model, 16000, 16000, &same));
  ck_assert_ok(dlsc_stream_latency(plain, &latency));
  ck_assert_ok(dlsc_stream_latency(same, &same_latency));
  ck_assert_uint_eq(latency, same_latency);
  float *a = stream_all(plain, x, 5000, chunks[1], 3, latency);
  float *b = stream_all(same, x, 5000, chunks[1], 3, latency);
  ck_assert_mem_eq(a, b, (5000 + latency) * sizeof *a);
  free(a);
  free(b);
  dlsc_stream_destroy(plain);
  dlsc_stream_destroy(same);
  /* bad rates and handles */
  dlsc_stream_t *none = (dlsc_stream_t *)x;
  ck_assert_status(dlsc_stream_create_at_rate(model, 0, 48000, &none), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_stream_create_at_rate(model, 16000, 0, &none), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_stream_create_at_rate(model, 16000, 1000001, &none),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_stream_create_at_rate(NULL, 16000, 48000, &none), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_stream_create_at_rate(model, 16000, 48000, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_eq(none, (dlsc_stream_t *)x);
  dlsc_stft_destroy(stft);
  dlsc_model_destroy(model);
  free(x);
  free(x16);
  free(y16);
  free(whole);
}
END_TEST

/* A host's audio callback often denoises its buffer in place: out == in gives the
 * same output, bit for bit, at the model's rate and at others, for any chunking. */
START_TEST(stream_processes_in_place) {
  static const unsigned rates[] = {16000, 48000, 44100};
  static const size_t chunks[] = {1, 480, 7, 5000, 333};
  enum { N = 20000 };
  dlsc_model_t *model = denoiser(256, 128, 2, 1, 1, false);
  float *x = malloc(N * sizeof *x), *apart = malloc(N * sizeof *x), *inplace = malloc(N * sizeof *x);
  fill_uniform(x, N, -0.5f, 0.5f, 25);
  memcpy(inplace, x, N * sizeof *x);
  for (size_t r = 0; r < 3; r++) {
    dlsc_stream_t *a, *b;
    ck_assert_ok(dlsc_stream_create_at_rate(model, 16000, rates[r], &a));
    ck_assert_ok(dlsc_stream_create_at_rate(model, 16000, rates[r], &b));
    memcpy(inplace, x, N * sizeof *x);
    for (size_t done = 0, c = 0; done < N; c++) {
      size_t take = DLSC_MIN(chunks[c % 5], N - done);
      ck_assert_ok(dlsc_stream_process(a, x + done, take, apart + done));
      ck_assert_ok(dlsc_stream_process(b, inplace + done, take, inplace + done));
      done += take;
    }
    ck_assert_mem_eq(apart, inplace, N * sizeof *x);
    ck_assert_double_gt(max_abs(apart, N), 1e-2); /* past the latency: signal */
    /* a refused chunk writes nothing, in place or not */
    float chunk[64], before[64];
    fill_uniform(chunk, 64, -0.5f, 0.5f, 26);
    chunk[10] = NAN;
    memcpy(before, chunk, sizeof chunk);
    ck_assert_status(dlsc_stream_process(b, chunk, 64, chunk), DLSC_ERR_NUMERIC);
    ck_assert_mem_eq(chunk, before, sizeof chunk);
    memcpy(apart, chunk, sizeof chunk);
    ck_assert_status(dlsc_stream_process(a, x, 64, NULL), DLSC_ERR_INVALID_ARGUMENT);
    ck_assert_status(dlsc_stream_process(a, before, 64, apart), DLSC_ERR_NUMERIC);
    ck_assert_mem_eq(apart, before, sizeof chunk);
    dlsc_stream_destroy(a);
    dlsc_stream_destroy(b);
  }
  free(x);
  free(apart);
  free(inplace);
  dlsc_model_destroy(model);
}
END_TEST

/* The attenuation limit l = 10^(-db/20) blends the noisy signal back in: the output is
 * l x + (1 - l) times the unlimited output, and the gains l + (1 - l) g, for mask and
 * magnitude models; INFINITY is no limit, bit for bit; clone keeps it, files do not. */
START_TEST(attenuation_limit_blends_in_the_noisy_signal) {
  enum { N = 9000, FRAMES = 80, BINS = 257 };
  float *x = malloc(N * sizeof *x), *free_out = malloc(N * sizeof *x), *out = malloc(N * sizeof *x);
  float *expected = malloc(N * sizeof *x), *mag = malloc(FRAMES * BINS * sizeof *mag);
  float *free_gains = malloc(FRAMES * BINS * sizeof *mag), *gains = malloc(FRAMES * BINS * sizeof *mag);
  fill_uniform(x, N, -0.5f, 0.5f, 21);
  memset(x + 3000, 0, 3000 * sizeof *x); /* silence: bins without a phase (magnitude models) */
  fill_uniform(mag, FRAMES * BINS, 0.0f, 3.0f, 22);
  for (int mask = 1; mask >= 0; mask--) {
    dlsc_model_t *model = denoiser(512, 128, 3, 2, mask, false);
    dlsc_stft_t *stft = stft_for(512, 128);
    double db;
    ck_assert_ok(dlsc_model_get_attenuation_limit(model, &db));
    ck_assert(isinf(db) && db > 0);
    ck_assert_ok(dlsc_denoise(model, stft, x, N, free_out));
    ck_assert_ok(dlsc_denoise_gains(model, mag, FRAMES, free_gains));
    ck_assert_double_gt(max_abs_diff(x, free_out, N), 0.1); /* the model changes things */
    static const double limits[] = {0.0, 6.0, 12.0, 40.0};
    for (size_t i = 0; i < 4; i++) {
      double l = pow(10.0, -limits[i] / 20.0);
      ck_assert_ok(dlsc_model_set_attenuation_limit(model, limits[i]));
      ck_assert_ok(dlsc_model_get_attenuation_limit(model, &db));
      ck_assert_double_eq(db, limits[i]);
      ck_assert_ok(dlsc_denoise(model, stft, x, N, out));
      for (size_t t = 0; t < N; t++)
        expected[t] = (float)(l * x[t] + (1.0 - l) * free_out[t]);
      double difference = max_abs_diff(out, expected, N);
      ck_assert_msg(difference < 1e-5 * max_abs(x, N), "mask %d, %g dB: %g", mask, limits[i],
                    difference);
      ck_assert_ok(dlsc_denoise_gains(model, mag, FRAMES, gains));
      for (size_t k = 0; k < FRAMES * BINS; k++)
        ck_assert_double_le(fabs(gains[k] - (l + (1.0 - l) * free_gains[k])), 1e-6 * (1 + gains[k]));
    }
    /* a limit of 6 dB takes at most 6 dB off a mask model's bins (sigmoid gains <= 1) */
    if (mask) {
      ck_assert_ok(dlsc_model_set_attenuation_limit(model, 6.0));
      ck_assert_ok(dlsc_denoise_gains(model, mag, FRAMES, gains));
      for (size_t k = 0; k < FRAMES * BINS; k++)
        ck_assert_float_ge(gains[k], 0.5011872f);
    }
    /* clone keeps the limit; a saved and loaded model has none */
    dlsc_model_t *copy, *loaded;
    ck_assert_ok(dlsc_model_set_attenuation_limit(model, 12.0));
    ck_assert_ok(dlsc_model_clone(model, &copy));
    ck_assert_ok(dlsc_model_get_attenuation_limit(copy, &db));
    ck_assert_double_eq(db, 12.0);
    size_t size;
    unsigned char *bytes = model_bytes(model, &size);
    ck_assert_ok(dlsc_model_load(bytes, size, &loaded));
    ck_assert_ok(dlsc_model_get_attenuation_limit(loaded, &db));
    ck_assert(isinf(db));
    /* refusals leave the limit as it was */
    static const double bad[] = {-1.0, -1e-300, NAN, -INFINITY};
    for (size_t i = 0; i < 4; i++)
      ck_assert_status(dlsc_model_set_attenuation_limit(model, bad[i]), DLSC_ERR_INVALID_ARGUMENT);
    ck_assert_ok(dlsc_model_get_attenuation_limit(model, &db));
    ck_assert_double_eq(db, 12.0);
    ck_assert_status(dlsc_model_set_attenuation_limit(NULL, 3.0), DLSC_ERR_INVALID_ARGUMENT);
    ck_assert_status(dlsc_model_get_attenuation_limit(NULL, &db), DLSC_ERR_INVALID_ARGUMENT);
    ck_assert_status(dlsc_model_get_attenuation_limit(model, NULL), DLSC_ERR_INVALID_ARGUMENT);
    /* INFINITY again: the unlimited output, bit for bit */
    ck_assert_ok(dlsc_model_set_attenuation_limit(model, INFINITY));
    ck_assert_ok(dlsc_denoise(model, stft, x, N, out));
    ck_assert_mem_eq(out, free_out, N * sizeof *out);
    free(bytes);
    dlsc_model_destroy(copy);
    dlsc_model_destroy(loaded);
    dlsc_stft_destroy(stft);
    dlsc_model_destroy(model);
  }
  free(x);
  free(free_out);
  free(out);
  free(expected);
  free(mag);
  free(free_gains);
  free(gains);
}
END_TEST

/* Streams x through a new stream of model at rate in fixed chunks; at sample switch_at
 * (a chunk boundary; n for never) the stream's limit becomes switch_db. */
static float *stream_limited(const dlsc_model_t *model, unsigned rate, const float *x, size_t n,
                             size_t chunk, size_t switch_at, double switch_db, size_t *latency) {
  dlsc_stream_t *stream;
  ck_assert_ok(dlsc_stream_create_at_rate(model, 16000, rate, &stream));
  ck_assert_ok(dlsc_stream_latency(stream, latency));
  float *out = malloc((n + *latency) * sizeof *out);
  for (size_t done = 0; done < n; done += chunk) {
    if (done == switch_at)
      ck_assert_ok(dlsc_stream_set_attenuation_limit(stream, switch_db));
    ck_assert_ok(dlsc_stream_process(stream, x + done, DLSC_MIN(chunk, n - done), out + done));
  }
  ck_assert_ok(dlsc_stream_flush(stream, out + n));
  dlsc_stream_destroy(stream);
  return out;
}

/* A stream starts with its model's limit and keeps its own; changed between chunks, the
 * output returned before is the old limit's and the output for the samples after the
 * call the new one's, at the model's rate and at three others. */
START_TEST(stream_attenuation_limit_changes_between_chunks) {
  static const unsigned rates[] = {16000, 48000, 44100, 22050};
  enum { N = 12000 };
  dlsc_model_t *model = denoiser(256, 128, 2, 1, 1, false);
  float *x = malloc(N * sizeof *x);
  fill_uniform(x, N, -0.5f, 0.5f, 23);
  for (size_t r = 0; r < 4; r++) {
    size_t latency, CHUNK = rates[r] / 100 - 7, SWITCH = 13 * CHUNK;
    ck_assert_ok(dlsc_model_set_attenuation_limit(model, INFINITY));
    float *free_out = stream_limited(model, rates[r], x, N, CHUNK, N, 0.0, &latency);
    float *switched = stream_limited(model, rates[r], x, N, CHUNK, SWITCH, 0.0, &latency);
    float *set_first = stream_limited(model, rates[r], x, N, CHUNK, 0, 0.0, &latency);
    ck_assert_ok(dlsc_model_set_attenuation_limit(model, 0.0));
    float *limited = stream_limited(model, rates[r], x, N, CHUNK, N, 0.0, &latency);
    /* set on the stream before the first chunk = created with the model's limit */
    ck_assert_mem_eq(set_first, limited, (N + latency) * sizeof *limited);
    /* 0 dB passes the input through */
    if (rates[r] == 16000)
      ck_assert_double_lt(max_abs_diff(limited + latency, x, N), 1e-5);
    ck_assert_double_gt(max_abs_diff(limited, free_out, N + latency), 0.1);
    size_t new_from = SWITCH + latency; /* the output for the samples after the call */
    ck_assert_mem_eq(switched, free_out, SWITCH * sizeof *switched);
    ck_assert_mem_eq(switched + new_from, limited + new_from, (N - new_from) * sizeof *switched);
    free(free_out);
    free(switched);
    free(set_first);
    free(limited);
  }
  /* the stream keeps its limit through flush, reset, and the model's later changes */
  dlsc_stream_t *stream;
  size_t latency;
  ck_assert_ok(dlsc_model_set_attenuation_limit(model, 0.0));
  ck_assert_ok(dlsc_stream_create(model, &stream));
  ck_assert_ok(dlsc_stream_latency(stream, &latency));
  ck_assert_ok(dlsc_model_set_attenuation_limit(model, INFINITY));
  float *out = malloc((N + latency) * sizeof *out);
  ck_assert_ok(dlsc_stream_process(stream, x, N, out));
  ck_assert_ok(dlsc_stream_flush(stream, out + N));
  ck_assert_ok(dlsc_stream_reset(stream));
  ck_assert_ok(dlsc_stream_process(stream, x, N, out));
  ck_assert_ok(dlsc_stream_flush(stream, out + N));
  ck_assert_double_lt(max_abs_diff(out + latency, x, N), 1e-5);
  ck_assert_status(dlsc_stream_set_attenuation_limit(stream, NAN), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_stream_set_attenuation_limit(stream, -3.0), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_stream_set_attenuation_limit(NULL, 3.0), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_ok(dlsc_stream_process(stream, x, N, out)); /* still 0 dB after the refusals */
  ck_assert_ok(dlsc_stream_flush(stream, out + N));
  ck_assert_double_lt(max_abs_diff(out + latency, x, N), 1e-5);
  dlsc_stream_destroy(stream);
  free(out);
  free(x);
  dlsc_model_destroy(model);
}
END_TEST

#ifdef DLSC_TEST_COUNT_ALLOCATIONS
/* Every call to the allocator and the bytes asked for, counted while counting is on. */
static size_t allocations, requested;
static bool counting;
static bool allocation_allowed(size_t bytes) {
  allocations += counting;
  requested += counting ? bytes : 0;
  return true;
}
#include "wrap_alloc.h"

/* Whole-signal denoising takes the same memory for a second and for a minute of audio:
 * the same allocations, byte for byte (the engine runs the signal as a stream does; the
 * model's workspace, reserved by the first call, is kept). */
START_TEST(denoise_memory_does_not_grow_with_the_signal) {
  enum { second = 16000, minute = 60 * second };
  dlsc_model_t *model = denoiser(512, 256, 2, 1, 1, false);
  dlsc_stft_t *stft;
  ck_assert_ok(dlsc_stft_create_for_model(model, &stft));
  float *x = malloc(minute * sizeof *x), *out = malloc(minute * sizeof *out);
  fill_uniform(x, minute, -0.5f, 0.5f, 31);
  ck_assert_ok(dlsc_denoise(model, stft, x, second, out)); /* reserves the workspace */
  size_t counts[2], bytes[2];
  dlsc_status status[2];
  const size_t lengths[2] = {second, minute};
  for (int i = 0; i < 2; i++) {
    counting = true;
    allocations = requested = 0;
    status[i] = dlsc_denoise(model, stft, x, lengths[i], out);
    counting = false; /* asserted after: Check may allocate */
    counts[i] = allocations;
    bytes[i] = requested;
  }
  ck_assert_ok(status[0]);
  ck_assert_ok(status[1]);
  ck_assert_uint_gt(counts[0], 0); /* the counting works */
  ck_assert_uint_eq(counts[1], counts[0]);
  ck_assert_uint_eq(bytes[1], bytes[0]);
  ck_assert_uint_lt(bytes[1], minute * sizeof(float)); /* far below the signal's size */
  free(x);
  free(out);
  dlsc_stft_destroy(stft);
  dlsc_model_destroy(model);
}
END_TEST

/* A real-time audio thread may call the stream: process (any chunk, the first one and
 * growing ones too), flush, reset and the limit never allocate, at the model's rate
 * and at others (create takes all the memory). */
START_TEST(stream_calls_never_allocate) {
  static const unsigned rates[] = {16000, 48000, 44100, 8000, 96000};
  static const size_t chunks[] = {1, 480, 480, 4800, 20000, 7, 20000};
  dlsc_model_t *model = denoiser(256, 128, 2, 1, 1, false);
  float *x = malloc(20000 * sizeof *x), *out = malloc(20000 * sizeof *out);
  fill_uniform(x, 20000, -0.5f, 0.5f, 24);
  for (size_t r = 0; r < 5; r++) {
    dlsc_stream_t *stream;
    counting = true;
    allocations = 0;
    ck_assert_ok(dlsc_stream_create_at_rate(model, 16000, rates[r], &stream));
    ck_assert_uint_gt(allocations, 0); /* the counting works */
    allocations = 0;
    dlsc_status status = DLSC_OK; /* checked after counting: Check may allocate */
    for (int pass = 0; pass < 2; pass++) {
      for (size_t c = 0; c < 7; c++)
        status = status ? status : dlsc_stream_process(stream, x, chunks[c], out);
      status = status ? status : dlsc_stream_set_attenuation_limit(stream, 12.0);
      status = status ? status : dlsc_stream_flush(stream, out);
      status = status ? status : dlsc_stream_process(stream, x, 4801, out);
      status = status ? status : dlsc_stream_reset(stream);
    }
    counting = false;
    ck_assert_ok(status);
    ck_assert_msg(allocations == 0, "%u Hz: %zu allocations", rates[r], allocations);
    dlsc_stream_destroy(stream);
  }
  free(x);
  free(out);
  dlsc_model_destroy(model);
}
END_TEST
#endif

#ifdef __GLIBC__
#include <malloc.h>
/* A real-time host's fixed chunks (here up to 480 samples) allocate only on the first
 * call: the handle's heap bytes stay the same over a thousand calls after it. */
START_TEST(resampler_allocates_only_for_a_larger_chunk) {
  static const unsigned rates[][2] = {{48000, 16000}, {16000, 48000}, {44100, 16000}};
  float x[480], out[1500];
  fill_uniform(x, 480, -1, 1, 13);
  for (size_t p = 0; p < 3; p++) {
    dlsc_resampler_t *r;
    size_t n;
    ck_assert_ok(dlsc_resampler_create(rates[p][0], rates[p][1], &r));
    ck_assert_ok(dlsc_resampler_process(r, x, 480, out, 1500, &n));
    size_t before = mallinfo2().uordblks;
    uint64_t state = 14;
    for (int i = 0; i < 1000; i++)
      ck_assert_ok(dlsc_resampler_process(r, x, 1 + test_random(&state) % 480, out, 1500, &n));
    ck_assert_uint_eq(mallinfo2().uordblks, before);
    dlsc_resampler_destroy(r);
  }
}
END_TEST
#endif

/* docs/api.md: with the pthread OpenBLAS a child of fork() goes on with the handles of a
 * parent that already denoised on OpenBLAS's threads (a model large enough for its
 * threads: 3591 x 1024 products), and gets its samples. With OpenBLAS's OpenMP build the
 * child hangs in libgomp, as documented: skipped there, and where dlsc's own loops run
 * OpenMP teams beside another CBLAS (-Dblas=cblas -Dopenmp=enabled). */
START_TEST(a_forked_child_denoises_as_the_parent) {
  const char *config, *better;
  ck_assert_ok(dlsc_blas_info(&config, &better));
  if (strstr(config, "USE_OPENMP")) {
    printf("a_forked_child_denoises_as_the_parent skipped: OpenBLAS's OpenMP build\n");
    return;
  }
#if defined(_OPENMP) && !defined(DLSC_HAVE_OPENBLAS_PARALLEL)
  printf("a_forked_child_denoises_as_the_parent skipped: OpenMP teams beside a generic CBLAS\n");
  return;
#endif
  dlsc_model_t *model;
  ck_assert_ok(dlsc_model_create_from_spec(
      "input 1x7x513; log; dense 1024; relu; dense 513; sigmoid", 5, &model));
  set_denoise(model, 1024, 512, 3, 3, 1);
  dlsc_stft_t *stft = stft_for(1024, 512);
  size_t n = 32000;
  float *x = malloc(n * sizeof *x), *parent = malloc(n * sizeof *parent),
        *child = malloc(n * sizeof *child);
  fill_uniform(x, n, -0.5f, 0.5f, 31);
  ck_assert_ok(dlsc_denoise(model, stft, x, n, parent));
  int fds[2];
  ck_assert_int_eq(pipe(fds), 0);
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) { /* the child: denoise, send the samples, free all (valgrind checks the
                     child's leaks too), leave without Check */
    close(fds[0]);
    dlsc_status status = dlsc_denoise(model, stft, x, n, child);
    const char *bytes = (const char *)child;
    size_t left = status == DLSC_OK ? n * sizeof *child : 0;
    while (left > 0) {
      ssize_t written = write(fds[1], bytes, left);
      if (written <= 0)
        break;
      bytes += written;
      left -= (size_t)written;
    }
    free(x);
    free(parent);
    free(child);
    dlsc_stft_destroy(stft);
    dlsc_model_destroy(model);
    _exit(status != DLSC_OK ? 1 : left > 0 ? 2 : 0);
  }
  close(fds[1]);
  size_t got = 0, want = n * sizeof *child;
  bool hung = false;
  /* A child stuck in a thread pool would never write: 100 s (under Check's 120 s
   * timeout, so the child is killed here; about 15 s under valgrind), times Check's
   * multiplier where one is set (qemu-user). */
  const char *multiplier = getenv("CK_TIMEOUT_MULTIPLIER");
  int wait_ms = 100000 * (multiplier && atoi(multiplier) > 0 ? atoi(multiplier) : 1);
  while (got < want) {
    struct pollfd ready = {.fd = fds[0], .events = POLLIN};
    int events = poll(&ready, 1, wait_ms);
    if (events < 0 && errno == EINTR)
      continue;
    if (events <= 0) {
      hung = true;
      break;
    }
    ssize_t count = read(fds[0], (char *)child + got, want - got);
    if (count < 0 && errno == EINTR)
      continue;
    if (count <= 0)
      break;
    got += (size_t)count;
  }
  close(fds[0]);
  if (hung)
    kill(pid, SIGKILL);
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(!hung, "the child hung");
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child failed: %d", status);
  ck_assert_uint_eq(got, want);
  ck_assert_mem_eq(child, parent, want);
  free(x);
  free(parent);
  free(child);
  dlsc_stft_destroy(stft);
  dlsc_model_destroy(model);
}
END_TEST

int main(void) {
  Suite *suite = suite_create("denoise");
  TCase *tc = tcase_create("denoise");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, identity_mask_reconstructs_the_input);
  tcase_add_test(tc, identity_mask_reconstructs_at_hop_1);
  tcase_add_test(tc, stream_matches_whole_signal_for_any_chunking);
  tcase_add_test(tc, denoise_is_the_model_on_every_context_window);
  tcase_add_test(tc, gains_resynthesise_to_the_denoised_signal);
  tcase_add_test(tc, a_magnitude_for_a_silent_bin_comes_at_phase_0);
  tcase_add_test(tc, row_prefix_stops_at_the_first_layer_that_mixes_rows);
  tcase_add_test(tc, stream_outlives_its_source_model_and_refuses_nan);
  tcase_add_test(tc, mismatches_and_bad_samples_get_a_status);
  tcase_add_test(tc, signals_past_the_limits_are_refused_and_outputs_stay_finite);
  tcase_add_test(tc, denoise_config_survives_save_and_load);
  tcase_add_test(tc, metrics_have_their_definitions);
  tcase_add_test(tc, resampling_keeps_the_band_and_removes_what_would_alias);
  tcase_add_test(tc, resampler_streams_the_whole_signal_bit_for_bit);
  tcase_add_test(tc, short_signals_resample_as_their_start_in_a_longer_one);
  tcase_add_test(tc, resampler_refusals_consume_nothing);
  tcase_add_test(tc, resampler_sums_stay_finite_at_the_chains_bound);
  tcase_add_test(tc, stream_at_48khz_and_44khz_is_the_whole_path);
  tcase_add_test(tc, stream_at_another_rate_is_the_whole_path_delayed);
  tcase_add_test(tc, stream_processes_in_place);
  tcase_add_test(tc, attenuation_limit_blends_in_the_noisy_signal);
  tcase_add_test(tc, stream_attenuation_limit_changes_between_chunks);
  tcase_add_test(tc, a_forked_child_denoises_as_the_parent);
#ifdef DLSC_TEST_COUNT_ALLOCATIONS
  tcase_add_test(tc, stream_calls_never_allocate);
  tcase_add_test(tc, denoise_memory_does_not_grow_with_the_signal);
#endif
#ifdef __GLIBC__
  tcase_add_test(tc, resampler_allocates_only_for_a_larger_chunk);
#endif
  suite_add_tcase(suite, tc);
  return run_suite(suite);
}
