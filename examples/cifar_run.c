#include "cifar_run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "example_util.h"

static const arch archs[] = {
    {"tiny",
     "input 3x32x32; conv2d 10 5x5; relu; maxpool 2; conv2d 10 5x5; relu; maxpool 2; dense 20; "
     "relu",
     "the original project's CNN: conv 10@5x5, pool, conv 10@5x5, pool, dense 20"},
    {"mid",
     "input 3x32x32; batchnorm; conv2d 32 3x3 pad=1 bias=0; batchnorm; relu; conv2d 32 3x3 "
     "pad=1 bias=0; batchnorm; relu; maxpool 2; conv2d 64 3x3 pad=1 bias=0; batchnorm; relu; "
     "conv2d 64 3x3 pad=1 bias=0; batchnorm; relu; maxpool 2; conv2d 128 3x3 pad=1 bias=0; "
     "batchnorm; relu; maxpool 2; gap",
     "a VGG-style CNN (32-64-128 channels, global average pooling)"},
    {"wide",
     "input 3x32x32; batchnorm; conv2d 32 3x3 pad=1 bias=0; batchnorm; gelu; conv2d 64 3x3 "
     "pad=1 bias=0; maxpool 2; batchnorm; gelu; conv2d 64 3x3 pad=1 bias=0; batchnorm; gelu; "
     "conv2d 256 3x3 pad=1 bias=0; maxpool 2; batchnorm; gelu; conv2d 256 3x3 pad=1 bias=0; "
     "batchnorm; gelu; conv2d 256 3x3 pad=1 bias=0; maxpool 2; batchnorm; gelu; conv2d 256 3x3 "
     "pad=1 bias=0; batchnorm; gelu; maxpool 4",
     "a wide CNN after Keller Jordan's airbench (64-256-256 channels)"},
    {"air",
     "input 3x32x32; conv2d 24 2x2; gelu; conv2d 64 3x3 pad=1 bias=0; maxpool 2; batchnorm; "
     "gelu; conv2d 64 3x3 pad=1 bias=0; batchnorm; gelu; conv2d 256 3x3 pad=1 bias=0; maxpool "
     "2; batchnorm; gelu; conv2d 256 3x3 pad=1 bias=0; batchnorm; gelu; conv2d 256 3x3 pad=1 "
     "bias=0; maxpool 2; batchnorm; gelu; conv2d 256 3x3 pad=1 bias=0; batchnorm; gelu; maxpool "
     "3",
     "wide's blocks behind airbench's first layer: 2x2 patch whitening (use --whiten)"},
};

const arch *find_arch(const char *name) {
  for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
    if (strcmp(archs[i].name, name) == 0)
      return &archs[i];
  return NULL;
}

void list_archs(FILE *out) {
  for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
    fprintf(out, "                       %-6s %s\n", archs[i].name, archs[i].about);
}

size_t backbone_layers(const arch *a) {
  dlsc_model_t *model = model_from_spec(a->backbone, 0, a->name);
  dlsc_model_info info;
  dlsc_model_get_info(model, &info);
  dlsc_model_destroy(model);
  return info.n_layers;
}

void classifier_spec(const arch *a, size_t classes, char *spec, size_t size) {
  snprintf(spec, size, "%s; dense %zu", a->backbone, classes);
}

int augment_preset(const char *name, dlsc_augment_config *config, int *expand) {
  dlsc_augment_config_init(config);
  *expand = 0;
  if (!strcmp(name, "none"))
    return 0;
  if (!strcmp(name, "original")) {
    *expand = 1;
    return 0;
  }
  if (!strcmp(name, "airbench")) { /* every other epoch mirrored, 2-pixel reflected shifts */
    config->horizontal_flip = DLSC_FLIP_ALTERNATE;
    config->crop_padding = 2;
    config->crop_reflect = 1;
    return 0;
  }
  config->horizontal_flip = DLSC_FLIP_RANDOM;
  config->crop_padding = 4;
  if (!strcmp(name, "flip-crop"))
    return 0;
  if (!strcmp(name, "strong")) {
    config->cutout = 12;
    config->brightness = 0.2f;
    config->contrast = 0.2f;
    return 0;
  }
  return -1;
}

void expand_original(cifar_set *set) {
  size_t n = set->count;
  set->pixels = checked_alloc(set->pixels, 4 * n * CIFAR_PIXELS);
  set->labels = checked_alloc(set->labels, 4 * n * sizeof *set->labels);
  for (size_t i = 0; i < n; i++) {
    const uint8_t *src = set->pixels + i * CIFAR_PIXELS;
    uint8_t *bright = set->pixels + (n + i) * CIFAR_PIXELS;
    uint8_t *dark = set->pixels + (2 * n + i) * CIFAR_PIXELS;
    uint8_t *mirror = set->pixels + (3 * n + i) * CIFAR_PIXELS;
    for (size_t p = 0; p < CIFAR_PIXELS; p++) {
      float up = (float)src[p] * 1.1f;
      bright[p] = (uint8_t)(up > 255.0f ? 255.0f : up + 0.5f);
      dark[p] = (uint8_t)((float)src[p] * 0.9f + 0.5f);
      mirror[p] = src[p - p % 32 + (31 - p % 32)];
    }
    for (int k = 1; k < 4; k++)
      set->labels[k * n + i] = set->labels[i];
  }
  set->count = 4 * n;
}

dlsc_dataset_t *image_dataset(const cifar_set *set, int labeled, uint64_t seed) {
  dlsc_images_config config;
  dlsc_images_config_init(&config);
  dlsc_dataset_t *dataset;
  check_status(dlsc_dataset_create_images(&config, seed, &dataset), "dataset");
  check_status(dlsc_dataset_add_images_u8(dataset, set->pixels, labeled ? set->labels : NULL,
                                          set->count),
               "dataset");
  return dataset;
}

void train_config_for(dlsc_train_config *config, const schedule_options *s, size_t examples) {
  dlsc_train_config_init(config);
  config->optimizer = s->optimizer;
  config->loss = DLSC_LOSS_CROSS_ENTROPY;
  config->learning_rate = s->rate;
  config->momentum = s->momentum;
  config->nesterov = s->optimizer == DLSC_OPTIMIZER_SGD;
  config->weight_decay = s->weight_decay;
  config->label_smoothing = s->smoothing;
  config->batch_size = s->batch;
  size_t steps_per_epoch = examples / s->batch + (examples % s->batch > 1);
  config->schedule = DLSC_SCHEDULE_COSINE;
  config->warmup_steps = (size_t)s->warmup_epochs * steps_per_epoch;
  config->total_steps = (size_t)s->epochs * steps_per_epoch + config->warmup_steps + 1;
  if (s->lookahead) { /* airbench's: from the fourth epoch, rho ramping up to 0.95^5 */
    config->lookahead_every = 5;
    config->lookahead_start = (3 * steps_per_epoch / 5 + 1) * 5;
    config->lookahead_rho = (float)pow(0.95, 5.0);
    config->lookahead_ramp = (size_t)s->epochs * steps_per_epoch;
  }
}

/* ---- checkpoints: P.dlsc (the epoch and best validation in its metadata), P.state,
 * P.best.dlsc */

static const char *const checkpoint_keys[] = {"dlsc.checkpoint_epoch", "dlsc.checkpoint_best"};

static void save_checkpoint(const dlsc_model_t *model, dlsc_dataset_t *train,
                            const schedule_options *s, int epoch, double best,
                            const unsigned char *best_bytes, size_t best_size, int improved) {
  const char *prefix = s->checkpoint;
  if (improved)
    checkpoint_save_bytes(prefix, ".best.dlsc", best_bytes, best_size);
  char values[2][64];
  snprintf(values[0], sizeof values[0], "%d", epoch);
  snprintf(values[1], sizeof values[1], "%.17g", best);
  checkpoint_save(model, train, prefix, checkpoint_keys, values, 2, s->settings);
}

/* Puts model and train where the checkpoint left them; returns its epoch, and the best
 * validation so far in *best and *best_bytes. */
static int resume_checkpoint(dlsc_model_t *model, dlsc_dataset_t *train,
                             const schedule_options *s, double *best,
                             unsigned char **best_bytes, size_t *best_size) {
  const char *prefix = s->checkpoint;
  char values[2][64];
  checkpoint_resume(model, train, prefix, checkpoint_keys, values, 2, s->settings);
  int epoch = 0;
  if (sscanf(values[0], "%d", &epoch) != 1 || epoch < 1 || sscanf(values[1], "%lf", best) != 1) {
    fprintf(stderr, "%s.dlsc: not a checkpoint of this program\n", prefix);
    exit(1);
  }
  if (*best >= 0.0)
    *best_bytes = checkpoint_load_bytes(prefix, ".best.dlsc", best_size);
  printf("resuming after epoch %d of %s (best validation so far %.2f%%)\n", epoch, prefix,
         *best >= 0.0 ? 100.0 * *best : 0.0);
  return epoch;
}

double train_and_select(dlsc_model_t *model, dlsc_dataset_t *train, dlsc_dataset_t *validation,
                        const schedule_options *s, const char *run, FILE *csv) {
  size_t examples;
  dlsc_dataset_count(train, &examples);
  dlsc_train_config config;
  train_config_for(&config, s, examples);
  watch_training(&config);
  check_status(dlsc_model_set_training(model, &config), "training settings");
  double best = -1.0, start = now_seconds();
  unsigned char *best_bytes = NULL;
  size_t best_size = 0;
  int first = 1;
  if (s->checkpoint && s->resume)
    first = resume_checkpoint(model, train, s, &best, &best_bytes, &best_size) + 1;
  for (int epoch = first; epoch <= s->epochs; epoch++) {
    dlsc_train_stats stats;
    dlsc_eval_stats eval = {0};
    double epoch_start = now_seconds();
    if (epoch_interrupted(dlsc_model_train_epoch(model, train, &stats), epoch))
      break;
    double train_seconds = now_seconds() - epoch_start;
    if (validation)
      check_status(dlsc_model_evaluate(model, validation, &eval, NULL), "evaluation");
    double train_accuracy = (double)stats.correct / (double)stats.count;
    char shown[16] = "      -";
    if (validation)
      snprintf(shown, sizeof shown, "%5.1f%%", 100.0 * eval.accuracy);
    printf("%s epoch %3d  loss %.4f  train %5.1f%%  validation %s  %6.0f img/s  %7.1f s\n",
           run, epoch, stats.loss, 100.0 * train_accuracy, shown,
           (double)stats.count / train_seconds, now_seconds() - start);
    fflush(stdout);
    if (csv) {
      fprintf(csv, "%s,%d,%.5f,%.5f,%.5f,%.1f\n", run, epoch, stats.loss, train_accuracy,
              validation ? eval.accuracy : -1.0, now_seconds() - start);
      fflush(csv);
    }
    int improved = validation && eval.accuracy > best;
    if (improved) {
      best = eval.accuracy;
      free(best_bytes);
      dlsc_model_save(model, NULL, 0, &best_size);
      best_bytes = checked_alloc(NULL, best_size);
      check_status(dlsc_model_save(model, best_bytes, best_size, &best_size), "save");
    }
    if (s->checkpoint)
      save_checkpoint(model, train, s, epoch, best, best_bytes, best_size, improved);
  }
  if (!validation)
    return -1.0; /* nothing to choose by: the last epoch's weights */
  /* Back to the best epoch's weights: same architecture, so copy every layer. */
  dlsc_model_t *best_model;
  check_status(dlsc_model_load(best_bytes, best_size, &best_model), "reload");
  dlsc_model_info info;
  dlsc_model_get_info(model, &info);
  check_status(dlsc_model_copy_layers(model, best_model, info.n_layers), "restore best");
  dlsc_model_destroy(best_model);
  free(best_bytes);
  return best;
}

void dirac_init(dlsc_model_t *model) {
  dlsc_model_info info;
  check_status(dlsc_model_get_info(model, &info), "model");
  size_t in_channels = info.input.channels;
  for (size_t i = 0; i < info.n_layers; i++) {
    dlsc_layer_config config;
    dlsc_shape out;
    dlsc_layer_config_init(&config, DLSC_LAYER_DENSE); /* records the struct's size */
    check_status(dlsc_model_get_layer(model, i, &config, &out), "model");
    if (config.kind == DLSC_LAYER_CONV2D && config.kernel_h == config.kernel_w &&
        config.kernel_h % 2 == 1 && config.kernel_h > 1) {
      size_t count, k = config.kernel_h * config.kernel_w, per_filter = in_channels * k;
      check_status(dlsc_model_get_values(model, i, NULL, 0, &count), "model");
      float *values = checked_alloc(NULL, count * sizeof *values);
      check_status(dlsc_model_get_values(model, i, values, count, &count), "model");
      for (size_t f = 0; f < config.units && f < in_channels; f++) {
        memset(values + f * per_filter, 0, per_filter * sizeof *values);
        values[f * per_filter + f * k + k / 2] = 1.0f; /* the centre tap of channel f */
      }
      check_status(dlsc_model_set_values(model, i, values, count), "identity filters");
      free(values);
    }
    in_channels = out.channels;
  }
}

void airbench_rates(dlsc_model_t *model, int fixed_scale, float bias_rate, float logit_scale) {
  dlsc_model_info info;
  check_status(dlsc_model_get_info(model, &info), "model");
  for (size_t i = 0; i < info.n_layers; i++) {
    dlsc_layer_config config;
    dlsc_shape out;
    dlsc_layer_config_init(&config, DLSC_LAYER_DENSE);
    check_status(dlsc_model_get_layer(model, i, &config, &out), "model");
    if (config.kind != DLSC_LAYER_BATCHNORM)
      continue;
    if (fixed_scale)
      check_status(dlsc_model_set_tensor_lr_scale(model, i, DLSC_TENSOR_WEIGHTS, 0.0f), "rates");
    check_status(dlsc_model_set_tensor_lr_scale(model, i, DLSC_TENSOR_BIASES, bias_rate), "rates");
  }
  if (logit_scale == 1.0f)
    return;
  size_t last = info.n_layers - 1, count;
  check_status(dlsc_model_get_values(model, last, NULL, 0, &count), "model");
  float *values = checked_alloc(NULL, count * sizeof *values);
  check_status(dlsc_model_get_values(model, last, values, count, &count), "model");
  for (size_t j = 0; j < count; j++)
    values[j] *= logit_scale;
  check_status(dlsc_model_set_values(model, last, values, count), "logit scale");
  check_status(dlsc_model_set_layer_lr_scale(model, last, logit_scale * logit_scale), "rates");
  free(values);
}

/* Index k of a 32-pixel line reflected at its ends (-1 -> 1, 32 -> 30). */
static size_t reflect32(ptrdiff_t k) { return (size_t)(k < 0 ? -k : k > 31 ? 62 - k : k); }

/* Pixels 0..255 to the model's 0..1 floats: mirrored, then shifted by shift pixels
 * down and right (the image reflected at its border), as airbench's test views. */
static void to_floats(const uint8_t *pixels, size_t count, int mirror, int shift, float *out) {
  for (size_t i = 0; i < count * CIFAR_PIXELS; i++) {
    size_t p = i % CIFAR_PIXELS, row = p / 32 % 32, column = p % 32;
    size_t plane = i - row * 32 - column;
    ptrdiff_t c = (ptrdiff_t)(mirror ? 31 - column : column);
    size_t source = plane + reflect32((ptrdiff_t)row - shift) * 32 + reflect32(c - shift);
    out[i] = (float)pixels[source] / 255.0f; /* as the datasets take bytes */
  }
}

void whiten_first_layer(dlsc_model_t *model, const cifar_set *set, size_t count) {
  count = count < set->count ? count : set->count;
  float *inputs = checked_alloc(NULL, count * CIFAR_PIXELS * sizeof *inputs);
  to_floats(set->pixels, count, 0, 0, inputs);
  /* airbench's 5e-4 on standardised pixels; these are in 0..1 (deviation ~0.25) */
  check_status(dlsc_model_init_whitening(model, 0, inputs, count, 3e-5f), "whitening");
  check_status(dlsc_model_set_layer_frozen(model, 0, 1), "freeze the whitening layer");
  free(inputs);
}

void predict_logits(dlsc_model_t *model, const cifar_set *set, int tta, float *logits) {
  /* views: {shift, weight}; each with its mirror at the same weight when tta >= 1 */
  static const struct { int shift; float weight; } views[] = {{0, 0.5f}, {-1, 0.25f}, {1, 0.25f}};
  size_t n_views = tta >= 2 ? 3 : 1, n_mirrors = tta >= 1 ? 2 : 1;
  const size_t chunk = 500;
  float *inputs = checked_alloc(NULL, chunk * CIFAR_PIXELS * sizeof *inputs);
  float *view = checked_alloc(NULL, chunk * 10 * sizeof *view);
  for (size_t first = 0; first < set->count; first += chunk) {
    size_t n = set->count - first < chunk ? set->count - first : chunk;
    float *out = logits + first * 10;
    memset(out, 0, n * 10 * sizeof *out);
    for (size_t v = 0; v < n_views; v++)
      for (size_t m = 0; m < n_mirrors; m++) {
        float weight = (n_views > 1 ? views[v].weight : 1.0f) / (float)n_mirrors;
        to_floats(set->pixels + first * CIFAR_PIXELS, n, (int)m, views[v].shift, inputs);
        check_status(dlsc_model_predict(model, inputs, n, view), "predict");
        for (size_t i = 0; i < n * 10; i++)
          out[i] += weight * view[i];
      }
  }
  free(inputs);
  free(view);
}

size_t argmax10(const float *logits) {
  size_t best = 0;
  for (size_t c = 1; c < 10; c++)
    if (logits[c] > logits[best])
      best = c;
  return best;
}

typedef struct confidence {
  float p;
  size_t index;
} confidence;

static int surer_first(const void *a, const void *b) {
  const confidence *x = a, *y = b;
  return x->p < y->p ? 1 : x->p > y->p ? -1 : (x->index > y->index) - (x->index < y->index);
}

size_t pseudo_label(dlsc_model_t *model, const cifar_set *pool, size_t per_class, int tta,
                    cifar_set *out) {
  float *logits = checked_alloc(NULL, pool->count * 10 * sizeof *logits);
  predict_logits(model, pool, tta, logits);
  confidence *ranked = checked_alloc(NULL, pool->count * sizeof *ranked);
  size_t agree = 0, first = out->count;
  out->pixels = checked_alloc(out->pixels, (first + 10 * per_class) * CIFAR_PIXELS);
  out->labels = checked_alloc(out->labels, (first + 10 * per_class) * sizeof *out->labels);
  for (size_t c = 0; c < 10; c++) {
    size_t n = 0;
    for (size_t i = 0; i < pool->count; i++) {
      const float *l = logits + i * 10;
      if (argmax10(l) != c)
        continue;
      double sum = 0.0;
      for (size_t k = 0; k < 10; k++)
        sum += exp((double)(l[k] - l[c]));
      ranked[n++] = (confidence){(float)(1.0 / sum), i};
    }
    qsort(ranked, n, sizeof *ranked, surer_first);
    for (size_t j = 0; j < n && j < per_class; j++) {
      size_t i = ranked[j].index;
      memcpy(out->pixels + out->count * CIFAR_PIXELS, pool->pixels + i * CIFAR_PIXELS,
             CIFAR_PIXELS);
      out->labels[out->count++] = (int32_t)c;
      agree += pool->labels[i] == (int32_t)c;
    }
  }
  free(ranked);
  free(logits);
  return agree;
}

double accuracy(dlsc_model_t *model, const cifar_set *set, int tta, size_t *confusion) {
  float *logits = checked_alloc(NULL, set->count * 10 * sizeof *logits);
  predict_logits(model, set, tta, logits);
  size_t correct = 0;
  if (confusion)
    memset(confusion, 0, 100 * sizeof *confusion);
  for (size_t i = 0; i < set->count; i++) {
    size_t best = argmax10(logits + i * 10);
    correct += (int32_t)best == set->labels[i];
    if (confusion)
      confusion[set->labels[i] * 10 + best]++;
  }
  free(logits);
  return (double)correct / (double)set->count;
}

int write_confusion(FILE *out, const char *path, const size_t *confusion) {
  fprintf(out, "true\\predicted");
  for (int c = 0; c < 10; c++)
    fprintf(out, ",%s", cifar_class_names[c]);
  fprintf(out, "\n");
  for (int t = 0; t < 10; t++) {
    fprintf(out, "%s", cifar_class_names[t]);
    for (int c = 0; c < 10; c++)
      fprintf(out, ",%zu", confusion[t * 10 + c]);
    fprintf(out, "\n");
  }
  return close_written(out, path);
}

void store_class_names(dlsc_model_t *model) {
  char names[256] = "";
  for (int c = 0; c < 10; c++) {
    strcat(names, cifar_class_names[c]);
    if (c < 9)
      strcat(names, ",");
  }
  dlsc_model_set_metadata(model, "dlsc.classes", names);
}
