/* Shared by the fuzz targets: the libFuzzer entry point, a check that aborts (the
 * fuzzer's way of reporting a finding), and what every model that builds must do. */
#ifndef DLSC_FUZZ_H
#define DLSC_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlsc.h"
#include "../max_or_nan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_require(int condition, const char *what) {
  if (!condition) {
    fprintf(stderr, "fuzz finding: %s\n", what);
    abort();
  }
}

/* An input read as a sequence of choices, two bytes each: fuzz_take gives 0 .. range-1,
 * and 0 once the input is used up. */
typedef struct fuzz_input {
  const uint8_t *data;
  size_t size;
} fuzz_input;

static inline unsigned fuzz_take(fuzz_input *in, unsigned range) {
  unsigned value = 0;
  if (in->size >= 2) {
    value = (unsigned)in->data[0] | (unsigned)in->data[1] << 8;
    in->data += 2;
    in->size -= 2;
  }
  return value % range;
}

/* Runs a forward pass only on models small enough to keep the fuzzer fast: 4 MiB to
 * predict one example, as dlsc_model_memory says, whose figures must agree: predict's
 * 256 at a time the most, training more than inference. */
static inline int fuzz_small_enough(const dlsc_model_t *model, const dlsc_model_info *info) {
  size_t one = 0, most = 0, more = 0, training = 0;
  fuzz_require(dlsc_model_memory(model, 1, 0, &one) == DLSC_OK &&
                   dlsc_model_memory(model, 256, 0, &most) == DLSC_OK &&
                   dlsc_model_memory(model, 257, 0, &more) == DLSC_OK &&
                   dlsc_model_memory(model, 1, 1, &training) == DLSC_OK,
               "memory");
  fuzz_require(one <= most && more == most && one < training, "memory figures disagree");
  size_t floats = info->input.channels * info->input.height * info->input.width;
  return floats <= 4096 && info->n_parameters <= ((size_t)1 << 18) && one <= ((size_t)4 << 20);
}

/* describe -> spec -> the same architecture and text; then a forward pass and, for
 * a denoiser, a short denoising pass, whose output must be finite. */
static inline void fuzz_check_model(dlsc_model_t *model) {
  dlsc_model_info info;
  fuzz_require(dlsc_model_get_info(model, &info) == DLSC_OK, "get_info");
  size_t length;
  fuzz_require(dlsc_model_describe(model, NULL, 0, &length) == DLSC_OK, "describe size");
  char *text = malloc(length), *again = malloc(length);
  fuzz_require(text && again, "out of memory");
  fuzz_require(dlsc_model_describe(model, text, length, &length) == DLSC_OK, "describe");
  dlsc_model_t *rebuilt = NULL;
  fuzz_require(dlsc_model_create_from_spec(text, 1, &rebuilt) == DLSC_OK,
               "a model's own description does not build");
  dlsc_model_info rebuilt_info;
  fuzz_require(dlsc_model_get_info(rebuilt, &rebuilt_info) == DLSC_OK &&
                   rebuilt_info.n_layers == info.n_layers &&
                   rebuilt_info.n_parameters == info.n_parameters &&
                   memcmp(&rebuilt_info.output, &info.output, sizeof info.output) == 0,
               "a model's description builds another architecture");
  size_t again_length;
  fuzz_require(dlsc_model_describe(rebuilt, again, length, &again_length) == DLSC_OK &&
                   again_length == length && strcmp(text, again) == 0,
               "a model's description does not print back the same");
  dlsc_model_destroy(rebuilt);
  free(text);
  free(again);
  if (!fuzz_small_enough(model, &info))
    return;

  size_t in_size = info.input.channels * info.input.height * info.input.width;
  size_t out_size = info.output.channels * info.output.height * info.output.width;
  float *input = malloc(in_size * sizeof *input), *output = malloc(out_size * sizeof *output);
  fuzz_require(input && output, "out of memory");
  for (size_t i = 0; i < in_size; i++)
    input[i] = (float)(i % 7) * 0.25f;
  dlsc_status status = dlsc_model_predict(model, input, 1, output);
  fuzz_require(status == DLSC_OK || status == DLSC_ERR_NUMERIC, "predict");
  if (out_size >= 2) { /* a classifier: bytes classify as their floats */
    uint8_t *bytes = malloc(in_size);
    float *p = malloc(2 * out_size * sizeof *p);
    fuzz_require(bytes && p, "out of memory");
    for (size_t i = 0; i < in_size; i++) {
      bytes[i] = (uint8_t)(i * 53 % 256);
      input[i] = (float)bytes[i] / 255.0f;
    }
    int32_t label[2] = {-1, -1};
    status = dlsc_model_classify(model, input, 1, &label[0], p);
    dlsc_status status_u8 = dlsc_model_classify_u8(model, bytes, 1, &label[1], p + out_size);
    fuzz_require(status_u8 == status, "classify_u8 and classify disagree on the status");
    fuzz_require(status != DLSC_OK || (label[0] == label[1] &&
                                       !memcmp(p, p + out_size, out_size * sizeof *p)),
                 "classify_u8 and classify disagree");
    free(bytes);
    free(p);
  }
  free(input);
  free(output);

  dlsc_stft_t *stft = NULL;
  if (dlsc_stft_create_for_model(model, &stft) != DLSC_OK)
    return;
  enum { n_samples = 3000 };
  float *noisy = malloc(n_samples * sizeof *noisy), *clean = malloc(n_samples * sizeof *clean);
  fuzz_require(noisy && clean, "out of memory");
  for (size_t i = 0; i < n_samples; i++)
    noisy[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
  status = dlsc_denoise(model, stft, noisy, n_samples, clean);
  fuzz_require(status == DLSC_OK || status == DLSC_ERR_SHAPE_MISMATCH, "denoise");
  /* whatever its weights, a model's absurd outputs mute their bins: a finite signal */
  for (size_t i = 0; status == DLSC_OK && i < n_samples; i++)
    fuzz_require(isfinite(clean[i]), "denoise gave a non-finite sample");
  free(noisy);
  free(clean);
  dlsc_stft_destroy(stft);
}

#endif
