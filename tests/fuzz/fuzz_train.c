/* Fuzz target: the atomic training step. The input picks a small model, an optimizer
 * and loss with their settings (learning rates 1e-6 .. 1e4, weight decay, clipping,
 * label smoothing), and a sequence of batches whose values span 1e-20 .. 1e19, with an
 * occasional NaN, infinity or out-of-range label. dlsc_model_train_batch must either
 * succeed, leaving a model that saves and loads back (every weight finite), or fail
 * with a status and leave the model as it was: the sequence run again without the
 * failed steps must end in the same bytes (so no optimizer state moved either). Any
 * other outcome aborts. */
#include "fuzz.h"

#include <math.h>
#include <stdbool.h>

static const char *const specs[] = {
    "input 1x1x6; dense 5; relu; dropout 0.3; dense 4",
    "input 2x5x5; conv2d 3 3x3 pad=same; batchnorm; relu; maxpool 2; dense 4",
    "input 1x3x8; log; batchnorm; conv2d 2 3x3 pad=0x1; gelu; dense 4; sigmoid",
    "input 1x4x4; avgpool 2; tanh; dense 4; softplus",
    "input 1x1x8; conv1d 2 3 pad=1 stride=2; relu; gap; dense 4 bias=0",
};
#define N_SPECS (sizeof specs / sizeof specs[0])
#define MAX_STEPS 8
#define MAX_BATCH 8

typedef struct step {
  size_t count;
  float inputs[MAX_BATCH * 50], targets[MAX_BATCH * 4], scales[MAX_BATCH * 4];
  int32_t labels[MAX_BATCH];
} step;

static void fill(fuzz_input *in, float *values, size_t count) {
  float level = powf(10.0f, (float)fuzz_take(in, 40) - 20.0f);
  uint64_t state = fuzz_take(in, 65536);
  for (size_t i = 0; i < count; i++) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    values[i] = level * (float)((double)(state >> 40) / (double)(1 << 24));
  }
  unsigned poison = fuzz_take(in, 16);
  if (poison == 1)
    values[fuzz_take(in, (unsigned)count)] = NAN;
  else if (poison == 2)
    values[fuzz_take(in, (unsigned)count)] = -INFINITY;
}

static unsigned char *saved(const dlsc_model_t *model, size_t *size) {
  fuzz_require(dlsc_model_save(model, NULL, 0, size) == DLSC_OK, "save size");
  unsigned char *bytes = malloc(*size);
  fuzz_require(bytes && dlsc_model_save(model, bytes, *size, size) == DLSC_OK, "save");
  return bytes;
}

/* Runs the steps (those with skip[i] == 0); records which failed. Returns the bytes. */
static unsigned char *run(const char *spec, const dlsc_train_config *config, const step *steps,
                          size_t n_steps, const bool *skip, bool *failed, size_t *size) {
  dlsc_model_t *model = NULL;
  fuzz_require(dlsc_model_create_from_spec(spec, 7, &model) == DLSC_OK, spec);
  fuzz_require(dlsc_model_set_training(model, config) == DLSC_OK, "set_training");
  for (size_t i = 0; i < n_steps; i++) {
    if (skip && skip[i])
      continue;
    dlsc_batch batch = {steps[i].count, steps[i].inputs, steps[i].targets, steps[i].scales,
                        steps[i].labels};
    size_t before_size, after_size;
    unsigned char *before = saved(model, &before_size);
    dlsc_train_stats stats;
    dlsc_status status = dlsc_model_train_batch(model, &batch, &stats);
    fuzz_require(status == DLSC_OK || status == DLSC_ERR_NUMERIC ||
                     status == DLSC_ERR_INVALID_ARGUMENT,
                 "train_batch returned an unexpected status");
    unsigned char *after = saved(model, &after_size);
    if (status != DLSC_OK) {
      fuzz_require(after_size == before_size && memcmp(before, after, after_size) == 0,
                   "a failed step changed the model");
    } else {
      dlsc_model_t *loaded = NULL;
      fuzz_require(dlsc_model_load(after, after_size, &loaded) == DLSC_OK,
                   "a successful step left a model that does not load (non-finite weight)");
      dlsc_model_destroy(loaded);
      fuzz_require(isfinite(stats.loss), "a successful step reported a non-finite loss");
    }
    if (failed)
      failed[i] = status != DLSC_OK;
    free(before);
    free(after);
  }
  unsigned char *bytes = saved(model, size);
  dlsc_model_destroy(model);
  return bytes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input in = {data, size};
  const char *spec = specs[fuzz_take(&in, N_SPECS)];
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  config.optimizer = (dlsc_optimizer)fuzz_take(&in, 2);
  config.loss = (dlsc_loss)fuzz_take(&in, 3);
  config.learning_rate = powf(10.0f, (float)fuzz_take(&in, 11) - 6.0f); /* up to the 1e4 allowed */
  config.nesterov = (int)fuzz_take(&in, 2);
  config.weight_decay = fuzz_take(&in, 2) ? 0.0f : 0.1f;
  config.gradient_clip = fuzz_take(&in, 2) ? 0.0f : 1.0f;
  config.label_smoothing = fuzz_take(&in, 2) ? 0.0f : 0.2f;
  dlsc_model_t *probe = NULL;
  fuzz_require(dlsc_model_create_from_spec(spec, 7, &probe) == DLSC_OK, spec);
  dlsc_model_info info;
  dlsc_model_get_info(probe, &info);
  dlsc_model_destroy(probe);
  size_t in_size = info.input.channels * info.input.height * info.input.width;
  size_t out_size = info.output.channels * info.output.height * info.output.width;

  static step steps[MAX_STEPS];
  size_t n_steps = 1 + fuzz_take(&in, MAX_STEPS);
  for (size_t i = 0; i < n_steps; i++) {
    step *s = &steps[i];
    s->count = 1 + fuzz_take(&in, MAX_BATCH);
    fill(&in, s->inputs, s->count * in_size);
    fill(&in, s->targets, s->count * out_size);
    fill(&in, s->scales, s->count * out_size);
    for (size_t j = 0; j < s->count; j++)
      s->labels[j] = (int32_t)fuzz_take(&in, (unsigned)out_size + 1) - (fuzz_take(&in, 32) == 0);
  }
  bool failed[MAX_STEPS] = {false};
  size_t size_a, size_b;
  unsigned char *a = run(spec, &config, steps, n_steps, NULL, failed, &size_a);
  unsigned char *b = run(spec, &config, steps, n_steps, failed, NULL, &size_b);
  fuzz_require(size_a == size_b && memcmp(a, b, size_a) == 0,
               "failed steps left a trace: skipping them gives another model");
  free(a);
  free(b);
  return 0;
}
