/* dlsc-model-info: what a dlsc model file holds.
 *
 *   dlsc-model-info MODEL.dlsc ...
 *
 * For each file: its size, layers, parameters and shapes, the spec that rebuilds it,
 * the memory it takes to run and to train and its multiply-adds, for a denoiser its
 * STFT, context window and output kind and a stream's latency (at the model's rate and
 * at 48 kHz), and its metadata. Exits 1 if any file does not load.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example_util.h"

static const char *window_name(dlsc_window window) {
  switch (window) {
  case DLSC_WINDOW_HANN: return "Hann";
  case DLSC_WINDOW_HAMMING: return "Hamming";
  case DLSC_WINDOW_SQRT_HANN: return "square-root Hann";
  case DLSC_WINDOW_RECTANGULAR: return "rectangular";
  }
  return "unknown";
}

/* A stream's latency at rate for a model trained at model_rate, printed. */
static void print_latency(const dlsc_model_t *model, int model_rate, int rate) {
  dlsc_stream_t *stream;
  size_t latency;
  check_status(dlsc_stream_create_at_rate(model, (unsigned)model_rate, (unsigned)rate, &stream),
               "stream");
  check_status(dlsc_stream_latency(stream, &latency), "stream");
  printf("%s%zu samples at %d Hz (%.1f ms)", rate == model_rate ? "" : ", ", latency, rate,
         1000.0 * (double)latency / rate);
  dlsc_stream_destroy(stream);
}

static void print_denoising(const dlsc_model_t *model, const char *path) {
  dlsc_denoise_config config;
  dlsc_denoise_config_init(&config);
  if (dlsc_model_get_denoise(model, &config) != DLSC_OK) {
    printf("  denoising: no (not a denoising model)\n");
    return;
  }
  int rate = model_sample_rate(model, path);
  printf("  denoising: n_fft %zu, hop %zu, %s window, %zu frames before and %zu after, %s "
         "output\n", config.n_fft, config.hop_length, window_name(config.window),
         config.context_before, config.context_after,
         config.mask ? "mask" : "magnitude");
  if (rate < 0)
    return;
  size_t bytes; /* a stream holds a workspace: not created for a model too large to run */
  check_status(dlsc_model_memory(model, 1, 0, &bytes), "memory");
  if (bytes > MODEL_MEMORY_LIMIT) {
    printf("  stream latency: not measured (the model is too large to run)\n");
    return;
  }
  printf("  stream latency: ");
  print_latency(model, rate, rate);
  if (rate != 48000)
    print_latency(model, rate, 48000);
  printf("\n");
}

static void print_metadata(const dlsc_model_t *model) {
  char key[64];
  size_t count = 0;
  while (dlsc_model_get_metadata_key(model, count, key, sizeof key, NULL) == DLSC_OK)
    count++;
  printf("  metadata: %zu key%s\n", count, count == 1 ? "" : "s");
  for (size_t i = 0; i < count; i++) {
    size_t length;
    check_status(dlsc_model_get_metadata_key(model, i, key, sizeof key, NULL), "metadata");
    check_status(dlsc_model_get_metadata(model, key, NULL, 0, &length), "metadata");
    char *value = checked_alloc(NULL, length);
    check_status(dlsc_model_get_metadata(model, key, value, length, NULL), "metadata");
    if (length > 201) /* long values (a checkpoint's generator state): the start */
      printf("    %s = %.160s... (%zu bytes)\n", key, value, length - 1);
    else
      printf("    %s = %s\n", key, value);
    free(value);
  }
}

/* bytes in MiB or GiB with one decimal, or "more than the address space" (SIZE_MAX). */
static const char *mebibytes(size_t bytes, char text[32]) {
  if (bytes == SIZE_MAX)
    return "more than the address space";
  double mib = (double)bytes / (1024.0 * 1024.0);
  snprintf(text, 32, mib < 1024.0 ? "%.1f MiB" : "%.1f GiB", mib < 1024.0 ? mib : mib / 1024.0);
  return text;
}

/* What running the model takes (dlsc_model_memory, dlsc_model_multiply_adds): a host's
 * checks before running a model from a source it does not trust. */
static void print_cost(const dlsc_model_t *model) {
  size_t one, many, training;
  char a[32], b[32], c[32];
  check_status(dlsc_model_memory(model, 1, 0, &one), "memory");
  check_status(dlsc_model_memory(model, 256, 0, &many), "memory");
  check_status(dlsc_model_memory(model, 32, 1, &training), "memory");
  printf("  memory: %s to predict one example, %s for 256 at a time, %s to train in "
         "batches of 32\n", mebibytes(one, a), mebibytes(many, b), mebibytes(training, c));
  uint64_t products;
  check_status(dlsc_model_multiply_adds(model, &products), "multiply-adds");
  printf("  compute: %" PRIu64 " multiply-adds per example\n", products);
}

static int describe_file(const char *path) {
  dlsc_model_t *model = load_model_any_size(path); /* a model too large to run too */
  if (!model)
    return 1;
  dlsc_model_info info;
  size_t bytes, length;
  check_status(dlsc_model_get_info(model, &info), "info");
  check_status(dlsc_model_save(model, NULL, 0, &bytes), "size");
  check_status(dlsc_model_describe(model, NULL, 0, &length), "describe");
  char *spec = checked_alloc(NULL, length);
  check_status(dlsc_model_describe(model, spec, length, &length), "describe");
  printf("%s: %zu bytes\n", path, bytes);
  printf("  %zu layers, %zu parameters, input %zux%zux%zu, output %zux%zux%zu\n", info.n_layers,
         info.n_parameters, info.input.channels, info.input.height, info.input.width,
         info.output.channels, info.output.height, info.output.width);
  printf("  spec: %s\n", spec);
  print_cost(model);
  print_denoising(model, path);
  print_metadata(model);
  free(spec);
  dlsc_model_destroy(model);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || argv[1][0] == '-') {
    fprintf(stderr, "usage: dlsc-model-info MODEL.dlsc ...\n"
                    "  prints each model's layers, spec, memory, denoising settings, stream\n"
                    "  latency and metadata\n");
    return 2;
  }
  int failed = 0;
  for (int i = 1; i < argc; i++)
    failed |= describe_file(argv[i]);
  return failed;
}
