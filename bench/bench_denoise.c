/* bench-denoise: denoising speed.
 *
 *   bench-denoise [--seconds S | --print-spec] model.dlsc ...
 *
 * For each model: the real-time factor of whole-signal denoising (dlsc_denoise), of
 * streaming in 512-sample chunks (dlsc_stream_process) and of a stream at 48 kHz
 * (dlsc_stream_create_at_rate: resamplers inside, 480-sample blocks), on S seconds of synthetic audio (default 60), best of 3; the heap a loaded model and a stream take (glibc's
 * mallinfo2; a stream holds a model copy, a workspace and buffers); then training
 * throughput in frames per second (dlsc_model_train_batch on a batch of 64 random
 * frames, the model's own loss; and dlsc_model_train_epoch over 1024 frames), the
 * fastest quarter second of three (bench_best_rate), and the GFLOP/s of both
 * (dlsc_model_multiply_adds per frame; a training step as three passes). Last,
 * resampling alone: the
 * real-time factor (of its input) of dlsc_resample on whole signals and of the
 * streaming resamplers fed 10 ms blocks, best of 3, and the microseconds of one
 * dlsc_resample call on 10 ms (the kernel's set-up included), for four common pairs
 * and one of many phases (17,123 -> 16,000 Hz).
 * Run with OPENBLAS_NUM_THREADS=1 for one core.
 */
#include <math.h>
#include <stdio.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "dlsc.h"
#include "cli.h"

#define PI 3.14159265358979323846

/* Heap bytes in use (glibc; 0 elsewhere): a stream's footprint is the difference. */
static double heap_bytes(void) {
#ifdef __GLIBC__
  struct mallinfo2 info = mallinfo2();
  return (double)info.uordblks + (double)info.hblkhd;
#else
  return 0.0;
#endif
}

/* Speech-like test signal: harmonics under a syllable-rate envelope, plus noise. */
static float *test_signal(size_t n) {
  float *x = checked_alloc(NULL, n * sizeof *x);
  uint64_t state = 12345;
  for (size_t i = 0; i < n; i++) {
    double t = (double)i / 16000.0, envelope = 0.5 + 0.5 * sin(2 * PI * 4.0 * t);
    double voice = 0.0;
    for (int h = 1; h <= 8; h++)
      voice += sin(2 * PI * 120.0 * h * t) / h;
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    double noise = ((double)(state >> 11) * 0x1.0p-53 - 0.5) * 0.2;
    x[i] = (float)(0.1 * envelope * voice + noise);
  }
  return x;
}

static double best_of_3_whole(dlsc_model_t *model, dlsc_stft_t *stft, const float *x, size_t n,
                              float *out) {
  double best = 1e9;
  for (int r = 0; r < 3; r++) {
    double start = bench_now();
    check_status(dlsc_denoise(model, stft, x, n, out), "denoise");
    double t = bench_now() - start;
    best = t < best ? t : best;
  }
  return best;
}

static double best_of_3_stream(dlsc_stream_t *stream, const float *x, size_t n, size_t chunk,
                               float *out, float *tail) {
  double best = 1e9;
  for (int r = 0; r < 3; r++) {
    double start = bench_now();
    for (size_t done = 0; done < n; done += chunk)
      check_status(dlsc_stream_process(stream, x + done, n - done < chunk ? n - done : chunk,
                                out + done), "stream");
    check_status(dlsc_stream_flush(stream, tail), "flush");
    double t = bench_now() - start;
    best = t < best ? t : best;
  }
  return best;
}

/* Real-time factor of dlsc_resample on the whole of x, best of 3. */
static double resample_rtf(unsigned rate_in, unsigned rate_out, const float *x, size_t n) {
  size_t n_out;
  check_status(dlsc_resample(x, n, rate_in, rate_out, NULL, 0, &n_out), "resample");
  float *out = checked_alloc(NULL, n_out * sizeof *out);
  double best = 1e9;
  for (int round = 0; round < 3; round++) {
    double start = bench_now();
    check_status(dlsc_resample(x, n, rate_in, rate_out, out, n_out, &n_out), "resample");
    double t = bench_now() - start;
    best = t < best ? t : best;
  }
  free(out);
  return ((double)n / rate_in) / best;
}

/* Microseconds of one dlsc_resample call on 10 ms of x (the kernel's set-up included,
 * as a host pays it calling it per block), the mean of 200 calls. */
static double resample_call_us(unsigned rate_in, unsigned rate_out, const float *x) {
  size_t n = rate_in / 100, n_out;
  check_status(dlsc_resample(x, n, rate_in, rate_out, NULL, 0, &n_out), "resample");
  float *out = checked_alloc(NULL, n_out * sizeof *out);
  double start = bench_now();
  for (int call = 0; call < 200; call++)
    check_status(dlsc_resample(x, n, rate_in, rate_out, out, n_out, &n_out), "resample");
  double us = (bench_now() - start) / 200.0 * 1e6;
  free(out);
  return us;
}

/* Real-time factor of a streaming resampler fed 10 ms blocks of x, best of 3. */
static double resampler_rtf(unsigned rate_in, unsigned rate_out, const float *x, size_t n) {
  dlsc_resampler_t *r;
  check_status(dlsc_resampler_create(rate_in, rate_out, &r), "resampler");
  size_t block = rate_in / 100, capacity = (size_t)rate_out / 100 + 2, got;
  float *out = checked_alloc(NULL, capacity * sizeof *out);
  double best = 1e9;
  for (int round = 0; round < 3; round++) {
    double start = bench_now();
    for (size_t done = 0; done < n; done += block)
      check_status(dlsc_resampler_process(r, x + done, n - done < block ? n - done : block, out,
                                   capacity, &got), "resample");
    check_status(dlsc_resampler_flush(r, NULL, 0, &got), "flush");
    float *rest = checked_alloc(NULL, (got + 1) * sizeof *rest);
    check_status(dlsc_resampler_flush(r, rest, got + 1, &got), "flush");
    free(rest);
    double t = bench_now() - start;
    best = t < best ? t : best;
  }
  free(out);
  dlsc_resampler_destroy(r);
  return ((double)n / rate_in) / best;
}

typedef struct train_context {
  dlsc_model_t *model;
  const dlsc_batch *batch;
  dlsc_dataset_t *frames;
} train_context;

static void train_step(void *context) {
  train_context *c = context;
  check_status(dlsc_model_train_batch(c->model, c->batch, NULL), "train");
}

static void train_epoch(void *context) {
  train_context *c = context;
  check_status(dlsc_model_train_epoch(c->model, c->frames, NULL), "epoch");
}

/* Frames per second of training, the fastest quarter second of three: by
 * dlsc_model_train_batch on one batch of 64 random frames (as PyTorch's reference
 * times it), and by dlsc_model_train_epoch over 1024 random frames in batches of 64
 * (what a training program calls: the dataset's shuffling, context windows and the
 * epoch's snapshot included). */
static void training_rates(dlsc_model_t *model, const dlsc_denoise_config *config,
                           double *batch_rate, double *epoch_rate) {
  dlsc_model_info info;
  check_status(dlsc_model_get_info(model, &info), "info");
  size_t in = info.input.channels * info.input.height * info.input.width;
  size_t out = info.output.channels * info.output.height * info.output.width, batch = 64;
  size_t epoch = 1024, n = epoch * out; /* an epoch's frames: out bins each */
  size_t n_x = batch * in > n ? batch * in : n; /* the batch's inputs, the epoch's frames */
  float *x = checked_alloc(NULL, n_x * sizeof *x), *t = checked_alloc(NULL, n * sizeof *t);
  float *s = checked_alloc(NULL, n * sizeof *s);
  uint64_t state = 7;
  for (size_t i = 0; i < n_x; i++) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    x[i] = (float)((state >> 40) & 0xFFFF) / 65536.0f * 10.0f;
  }
  for (size_t i = 0; i < n; i++) {
    s[i] = 1.0f + (float)(i % 7);
    t[i] = 0.5f * s[i];
  }
  dlsc_train_config train;
  dlsc_train_config_init(&train);
  train.loss = config->mask ? DLSC_LOSS_MASK_MSE : DLSC_LOSS_MSE;
  train.learning_rate = 1e-5f;
  train.batch_size = batch;
  check_status(dlsc_model_set_training(model, &train), "training");
  dlsc_frames_config frames;
  dlsc_frames_config_init(&frames);
  frames.n_bins = out;
  frames.context_before = config->context_before;
  frames.context_after = config->context_after;
  train_context context = {model, &(dlsc_batch){batch, x, t, s, NULL}, NULL};
  check_status(dlsc_dataset_create_frames(&frames, 7, &context.frames), "frames");
  check_status(dlsc_dataset_add_frames(context.frames, x, t, epoch), "frames");
  *batch_rate = bench_best_rate(train_step, &context, (double)batch, 3.0);
  *epoch_rate = bench_best_rate(train_epoch, &context, (double)epoch, 3.0);
  dlsc_dataset_destroy(context.frames);
  free(x);
  free(t);
  free(s);
}

int main(int argc, char **argv) {
  double seconds = 60.0;
  int first = 1, print_spec = 0;
  if (argc > 1 && !strcmp(argv[1], "--print-spec")) {
    print_spec = 1; /* spec and context of each model, for the PyTorch comparison */
    first = 2;
  } else if (argc > 2 && !strcmp(argv[1], "--seconds")) {
    seconds = number_option("--seconds", argv[2], 0.01, 86400.0);
    first = 3;
  }
  if (first >= argc || argv[first][0] == '-') { /* an option it does not know, --help */
    fprintf(stderr, "usage: bench-denoise [--seconds S | --print-spec] model.dlsc ...\n");
    return 2;
  }
  size_t n = (size_t)(seconds * 16000.0);
  float *x = test_signal(n), *out = checked_alloc(NULL, n * sizeof *out), tail[1 << 16];
  float *x48 = test_signal(3 * n); /* S seconds at 48 kHz (its content does not matter) */
  float *out48 = checked_alloc(NULL, 3 * n * sizeof *out48);
  if (!print_spec)
    printf("BLAS: %s\n", blas_check("bench-denoise"));
  if (!print_spec)
    printf("%-28s %10s %12s %12s %12s %8s %10s %14s %14s %10s %10s\n", "model", "params",
           "whole RTF", "stream RTF", "48k RTF", "load MB", "stream MB", "train frames/s",
           "epoch frames/s", "whole GF/s", "train GF/s");
  for (int a = first; a < argc; a++) {
    dlsc_model_t *model;
    double heap_start = heap_bytes();
    check_status(dlsc_model_load_file(argv[a], &model), argv[a]);
    double load_mb = (heap_bytes() - heap_start) / 1e6;
    dlsc_denoise_config config;
    dlsc_denoise_config_init(&config);
    check_status(dlsc_model_get_denoise(model, &config), "not a denoising model");
    if (print_spec) {
      char spec[4096];
      size_t length;
      check_status(dlsc_model_describe(model, spec, sizeof spec, &length), "describe");
      printf("%s\t%zu\t%zu\t%d\t%zu\t%zu\t%s\n", argv[a], config.context_before,
             config.context_after, config.mask, config.n_fft, config.hop_length, spec);
      dlsc_model_destroy(model);
      continue;
    }
    dlsc_stft_t *stft;
    check_status(dlsc_stft_create_for_model(model, &stft), "stft");
    dlsc_stream_t *stream;
    double heap_before = heap_bytes();
    check_status(dlsc_stream_create(model, &stream), "stream");
    double stream_mb = (heap_bytes() - heap_before) / 1e6;
    double whole = best_of_3_whole(model, stft, x, n, out);
    double streamed = best_of_3_stream(stream, x, n, 512, out, tail);
    dlsc_stream_t *stream48;
    check_status(dlsc_stream_create_at_rate(model, 16000, 48000, &stream48), "stream at 48 kHz");
    double chained = best_of_3_stream(stream48, x48, 3 * n, 480, out48, tail);
    dlsc_stream_destroy(stream48);
    dlsc_model_info info;
    dlsc_model_get_info(model, &info);
    const char *name = strrchr(argv[a], '/') ? strrchr(argv[a], '/') + 1 : argv[a];
    uint64_t products; /* GF/s: 2 flops a multiply-add, a training step as three passes */
    check_status(dlsc_model_multiply_adds(model, &products), "multiply-adds");
    double frame_flops = 2.0 * (double)products, trained, epochs;
    training_rates(model, &config, &trained, &epochs);
    double frames = (double)n / (double)config.hop_length; /* the signal's, to a frame */
    printf("%-28s %10zu %11.0fx %11.0fx %11.0fx %8.1f %10.1f %14.0f %14.0f %10.1f %10.1f\n",
           name, info.n_parameters, seconds / whole, seconds / streamed, seconds / chained,
           load_mb, stream_mb, trained, epochs, frame_flops * frames / whole / 1e9,
           3.0 * frame_flops * trained / 1e9);
    fflush(stdout);
    dlsc_stream_destroy(stream);
    dlsc_stft_destroy(stft);
    dlsc_model_destroy(model);
  }
  if (!print_spec) {
    /* the last pair has 16,000 phases, too many to precompute: its outputs compute their
     * coefficients, as the trainer's speed perturbation does */
    static const unsigned pairs[][2] = {{48000, 16000}, {16000, 48000}, {44100, 16000},
                                        {16000, 44100}, {17123, 16000}};
    printf("\n%-16s %16s %22s %20s\n", "resampling", "whole RTF", "streamed RTF (10 ms)",
           "us per 10 ms call");
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
      size_t length = pairs[p][0] <= 17123 ? n : 3 * n;
      printf("%6u -> %-6u %15.0fx %21.0fx %20.1f\n", pairs[p][0], pairs[p][1],
             resample_rtf(pairs[p][0], pairs[p][1], x48, length),
             resampler_rtf(pairs[p][0], pairs[p][1], x48, length),
             resample_call_us(pairs[p][0], pairs[p][1], x48));
    }
  }
  free(x);
  free(x48);
  free(out48);
  free(out);
  return 0;
}
