/* Fuzz target: datasets. The input picks an image dataset (1 .. 4 channels, 1 .. 12 x
 * 1 .. 12 pixels, 0 .. 11 classes) or a frame dataset (2 .. 20 bins, 0 .. 3 frames of
 * context each side, either target), then a sequence of calls: images added as bytes or
 * floats (labeled or not, a label out of range, a NaN or a value outside [0, 1] now and
 * then), frames added (a NaN now and then), augmentations with any values, valid or
 * not, tasks, shuffles, clears, batches (any first and count, augmented or not) and
 * epochs of training (a model made for the dataset or not, any learning rate and batch
 * size, lookahead, schedules, clipping, cancelled now and then) each followed by an
 * evaluation.
 * Every call must succeed or answer a status and leave the count as it was; a batch
 * must hold what was asked: finite inputs (within [0, 1] while every pixel added was),
 * labels within the task's classes (none for frames and unlabeled images), and, drawn
 * plainly in the stored order (or under an augmentation that does nothing), the
 * examples as added (an image, its pretext transform 0; a frame's context window within
 * its utterance, its target and noisy frame). An epoch must succeed into a model that
 * saves, or fail with a status leaving the model's bytes and the dataset's order as they
 * were; an evaluation count every example (confusion matrix included). The whole
 * sequence run again from the same seed, less the epochs that failed, must give the
 * same bytes (so a failed epoch moved no PRNG). Any other outcome aborts. */
#include "fuzz.h"

#include <math.h>
#include <stdbool.h>

#define MAX_ITEMS 64
#define MAX_ITEM 576 /* 4 x 12 x 12 floats, or 20 bins */
#define MAX_CALLS 24

typedef struct mirror {
  bool images;
  size_t channels, height, width, classes; /* images */
  size_t bins, before, after;              /* frames */
  size_t item, items, transforms;
  bool labeled, unit, ordered; /* labels given; every pixel in [0, 1]; order untouched */
  bool no_augment;              /* the augmentation in force changes nothing */
  float data[MAX_ITEMS][MAX_ITEM], target[MAX_ITEMS][MAX_ITEM];
  int32_t labels[MAX_ITEMS];
  size_t span_begin[MAX_ITEMS], span_end[MAX_ITEMS];
} mirror;

static uint64_t mix(uint64_t hash, const void *bytes, size_t size) {
  const unsigned char *p = bytes;
  for (size_t i = 0; i < size; i++)
    hash = (hash ^ p[i]) * 0x100000001b3ULL;
  return hash;
}

static float value_from(fuzz_input *in) {
  return (float)fuzz_take(in, 1001) / 1000.0f;
}

static dlsc_dataset_t *create(fuzz_input *in, uint64_t seed, mirror *m) {
  dlsc_dataset_t *dataset = NULL;
  memset(m, 0, offsetof(mirror, data));
  m->images = fuzz_take(in, 2) == 0;
  m->transforms = 1;
  m->unit = m->ordered = m->no_augment = true;
  if (m->images) {
    dlsc_images_config config;
    dlsc_images_config_init(&config);
    config.channels = m->channels = 1 + fuzz_take(in, 4);
    config.height = m->height = 1 + fuzz_take(in, 12);
    config.width = m->width = fuzz_take(in, 2) ? m->height : 1 + fuzz_take(in, 12);
    config.n_classes = m->classes = fuzz_take(in, 12);
    m->item = m->channels * m->height * m->width;
    fuzz_require(dlsc_dataset_create_images(&config, seed, &dataset) == DLSC_OK, "create images");
  } else {
    dlsc_frames_config config;
    dlsc_frames_config_init(&config);
    config.n_bins = m->bins = m->item = 2 + fuzz_take(in, 19);
    config.context_before = m->before = fuzz_take(in, 4);
    config.context_after = m->after = fuzz_take(in, 4);
    config.target = (dlsc_target)fuzz_take(in, 2);
    fuzz_require(dlsc_dataset_create_frames(&config, seed, &dataset) == DLSC_OK, "create frames");
  }
  return dataset;
}

static void clear(dlsc_dataset_t *dataset, mirror *m) {
  fuzz_require(dlsc_dataset_clear(dataset) == DLSC_OK, "clear");
  size_t count = 1;
  fuzz_require(dlsc_dataset_count(dataset, &count) == DLSC_OK && count == 0, "count after clear");
  m->items = 0;
  m->labeled = false;
  m->unit = m->ordered = true;
}

static void add_images(fuzz_input *in, dlsc_dataset_t *dataset, mirror *m) {
  size_t count = 1 + fuzz_take(in, 4);
  bool bytes = fuzz_take(in, 2), labeled = fuzz_take(in, 4) != 0;
  unsigned fault = fuzz_take(in, 8); /* 0: a label out of range, 1: NaN, 2: a value > 1 */
  static uint8_t pixels_u8[4 * MAX_ITEM];
  static float pixels[4 * MAX_ITEM];
  int32_t labels[4];
  for (size_t i = 0; i < count * m->item; i++) {
    pixels_u8[i] = (uint8_t)fuzz_take(in, 256);
    pixels[i] = bytes ? (float)pixels_u8[i] / 255.0f : value_from(in);
  }
  for (size_t i = 0; i < count; i++)
    labels[i] = (int32_t)(m->classes ? fuzz_take(in, (unsigned)m->classes) : 0);
  if (fault == 0 && labeled)
    labels[count - 1] = fuzz_take(in, 2) ? -1 : (int32_t)m->classes;
  if (!bytes && fault == 1)
    pixels[count * m->item - 1] = NAN;
  if (!bytes && fault == 2)
    pixels[0] = 1.5f;
  size_t before = 0, after = 0;
  fuzz_require(dlsc_dataset_count(dataset, &before) == DLSC_OK, "count");
  dlsc_status status =
      bytes ? dlsc_dataset_add_images_u8(dataset, pixels_u8, labeled ? labels : NULL, count)
            : dlsc_dataset_add_images_f32(dataset, pixels, labeled ? labels : NULL, count);
  bool fits = m->items + count <= MAX_ITEMS;
  bool valid = (m->items == 0 || labeled == m->labeled) && (!labeled || m->classes > 0) &&
               !(labeled && fault == 0) && !(!bytes && fault == 1);
  fuzz_require(dlsc_dataset_count(dataset, &after) == DLSC_OK, "count");
  if (status != DLSC_OK) {
    fuzz_require(!valid, "images refused");
    fuzz_require(status == DLSC_ERR_INVALID_ARGUMENT || status == DLSC_ERR_NUMERIC,
                 "images refused with an unexpected status");
    fuzz_require(after == before, "refused images changed the count");
    return;
  }
  fuzz_require(valid, "images accepted that must be refused");
  fuzz_require(after == before + count * m->transforms, "the count after adding images");
  if (!fits) { /* past what the mirror holds: both start again empty */
    clear(dataset, m);
    return;
  }
  for (size_t i = 0; i < count; i++) {
    memcpy(m->data[m->items + i], pixels + i * m->item, m->item * sizeof(float));
    m->labels[m->items + i] = labeled ? labels[i] : -1;
  }
  m->unit &= bytes || fault != 2;
  m->labeled = labeled;
  m->items += count;
  m->ordered = true;
}

static void add_frames(fuzz_input *in, dlsc_dataset_t *dataset, mirror *m) {
  size_t count = 1 + fuzz_take(in, 6);
  static float noisy[6 * MAX_ITEM], target[6 * MAX_ITEM];
  for (size_t i = 0; i < count * m->bins; i++) {
    noisy[i] = value_from(in) * 4.0f;
    target[i] = value_from(in);
  }
  bool nan = fuzz_take(in, 8) == 0;
  if (nan)
    (fuzz_take(in, 2) ? noisy : target)[fuzz_take(in, (unsigned)(count * m->bins))] = NAN;
  size_t before = 0, after = 0;
  fuzz_require(dlsc_dataset_count(dataset, &before) == DLSC_OK, "count");
  dlsc_status status = dlsc_dataset_add_frames(dataset, noisy, target, count);
  fuzz_require(dlsc_dataset_count(dataset, &after) == DLSC_OK, "count");
  if (nan) {
    fuzz_require(status == DLSC_ERR_NUMERIC && after == before, "NaN frames were not refused");
    return;
  }
  fuzz_require(status == DLSC_OK && after == before + count, "frames");
  if (m->items + count > MAX_ITEMS) {
    clear(dataset, m);
    return;
  }
  for (size_t i = 0; i < count; i++) {
    memcpy(m->data[m->items + i], noisy + i * m->bins, m->bins * sizeof(float));
    memcpy(m->target[m->items + i], target + i * m->bins, m->bins * sizeof(float));
    m->span_begin[m->items + i] = m->items;
    m->span_end[m->items + i] = m->items + count;
  }
  m->items += count;
  m->ordered = true;
}

static void set_augment(fuzz_input *in, dlsc_dataset_t *dataset, mirror *m) {
  dlsc_augment_config config;
  dlsc_augment_config_init(&config);
  static const float amounts[] = {0.0f, 0.1f, 0.5f, 1.0f, 1.5f, -0.1f, NAN, INFINITY};
  config.brightness = amounts[fuzz_take(in, 8)];
  config.contrast = amounts[fuzz_take(in, 8)];
  config.horizontal_flip = (int)fuzz_take(in, 4) - (fuzz_take(in, 8) == 0);
  config.rotate90 = (int)fuzz_take(in, 3);
  config.crop_padding = fuzz_take(in, 14);
  config.cutout = fuzz_take(in, 14);
  config.crop_reflect = (int)fuzz_take(in, 3);
  size_t side = m->height < m->width ? m->height : m->width;
  bool valid = m->images && config.brightness >= 0.0f && config.brightness <= 1.0f &&
               config.contrast >= 0.0f && config.contrast <= 1.0f &&
               config.horizontal_flip >= 0 && config.horizontal_flip <= DLSC_FLIP_ALTERNATE &&
               config.rotate90 <= 1 && config.crop_reflect <= 1 && config.crop_padding <= side &&
               config.cutout <= side && !(config.crop_reflect && config.crop_padding >= side) &&
               !(config.rotate90 && m->height != m->width);
  dlsc_status status = dlsc_dataset_set_augment(dataset, &config);
  fuzz_require((status == DLSC_OK) == valid, "an augmentation accepted or refused wrongly");
  if (status == DLSC_OK)
    m->no_augment = config.brightness == 0.0f && config.contrast == 0.0f &&
                    config.horizontal_flip == DLSC_FLIP_NONE && !config.rotate90 &&
                    config.crop_padding == 0 && config.cutout == 0;
}

/* The plain example e as the mirror has it, into expected (inputs) and the frame's
 * target and scale; false where the mirror cannot tell (pretext transforms past 0). */
static bool expected_example(const mirror *m, size_t e, float *expected, float *target,
                             float *scale) {
  if (m->images) {
    if (e % m->transforms != 0)
      return false;
    memcpy(expected, m->data[e / m->transforms], m->item * sizeof(float));
    return true;
  }
  size_t window = m->before + 1 + m->after;
  for (size_t w = 0; w < window; w++) {
    ptrdiff_t j = (ptrdiff_t)e - (ptrdiff_t)m->before + (ptrdiff_t)w;
    bool inside = j >= (ptrdiff_t)m->span_begin[e] && j < (ptrdiff_t)m->span_end[e];
    for (size_t b = 0; b < m->bins; b++)
      expected[w * m->bins + b] = inside ? m->data[j][b] : 0.0f;
  }
  memcpy(target, m->target[e], m->bins * sizeof(float));
  memcpy(scale, m->data[e], m->bins * sizeof(float));
  return true;
}

static uint64_t get_batch(fuzz_input *in, dlsc_dataset_t *dataset, const mirror *m,
                          uint64_t hash) {
  size_t total = 0;
  fuzz_require(dlsc_dataset_count(dataset, &total) == DLSC_OK && total == m->items * m->transforms,
               "count");
  size_t first = fuzz_take(in, (unsigned)total + 2), count = fuzz_take(in, 9);
  int augment = (int)fuzz_take(in, 2);
  dlsc_batch batch;
  memset(&batch, 0xff, sizeof batch);
  dlsc_status status = dlsc_dataset_get_batch(dataset, first, count, augment, &batch);
  bool valid = count > 0 && first < total && count <= total - first;
  if (!valid) {
    fuzz_require(status == DLSC_ERR_INVALID_ARGUMENT, "a batch out of range was not refused");
    return hash;
  }
  fuzz_require(status == DLSC_OK && batch.count == count, "get_batch");
  dlsc_shape shape;
  fuzz_require(dlsc_dataset_input_shape(dataset, &shape) == DLSC_OK, "input_shape");
  size_t in_size = shape.channels * shape.height * shape.width;
  size_t classes = !m->images ? 0 : m->transforms > 1 ? m->transforms : m->labeled ? m->classes : 0;
  fuzz_require((batch.labels != NULL) == (classes > 0), "labels given or missing");
  fuzz_require((batch.targets != NULL) == !m->images && (batch.scales != NULL) == !m->images,
               "targets and scales");
  static float expected[9 * MAX_ITEM], target[MAX_ITEM], scale[MAX_ITEM];
  for (size_t i = 0; i < count; i++) {
    const float *input = batch.inputs + i * in_size;
    for (size_t k = 0; k < in_size; k++) {
      fuzz_require(isfinite(input[k]), "a batch input is not finite");
      fuzz_require(!m->images || !m->unit || (input[k] >= 0.0f && input[k] <= 1.0f),
                   "a pixel left [0, 1]");
    }
    if (classes)
      fuzz_require(batch.labels[i] >= 0 && (size_t)batch.labels[i] < classes,
                   "a label outside the task's classes");
    if (!m->images)
      for (size_t k = 0; k < m->bins; k++)
        fuzz_require(isfinite(batch.targets[i * m->bins + k]) &&
                         isfinite(batch.scales[i * m->bins + k]), "a target is not finite");
    /* frames are never augmented, nor images under an augmentation that does nothing */
    if ((augment && m->images && !m->no_augment) || !m->ordered ||
        !expected_example(m, first + i, expected, target, scale))
      continue;
    fuzz_require(!memcmp(input, expected, in_size * sizeof(float)),
                 "a plain example is not the data added");
    size_t e = first + i;
    fuzz_require(!classes || batch.labels[i] == (m->transforms > 1 ? (int32_t)(e % m->transforms)
                                                                   : m->labels[e]),
                 "a plain example's label is not the one added");
    size_t frame_bytes = m->bins * sizeof(float);
    fuzz_require(m->images || (!memcmp(batch.targets + i * m->bins, target, frame_bytes) &&
                               !memcmp(batch.scales + i * m->bins, scale, frame_bytes)),
                 "a plain frame's target or scale is not the data added");
  }
  hash = mix(hash, batch.inputs, count * in_size * sizeof(float));
  if (batch.labels)
    hash = mix(hash, batch.labels, count * sizeof(int32_t));
  return hash;
}

static int cancel_at(void *user, size_t done, size_t batches, const dlsc_train_stats *so_far) {
  const size_t *at = user;
  fuzz_require(done >= 1 && done <= batches && so_far->count > 0 && isfinite(so_far->loss),
               "progress");
  return done == *at;
}

/* The dataset's examples in its current order, plain, into copy (NULL when empty). */
static float *ordered_copy(dlsc_dataset_t *dataset, const mirror *m, size_t *values) {
  size_t total = m->items * m->transforms;
  *values = 0;
  if (total == 0)
    return NULL;
  dlsc_batch batch;
  fuzz_require(dlsc_dataset_get_batch(dataset, 0, total, 0, &batch) == DLSC_OK, "get_batch");
  *values = total * (m->images ? m->item : (m->before + 1 + m->after) * m->bins);
  float *copy = malloc(*values * sizeof *copy);
  fuzz_require(copy != NULL, "out of memory");
  memcpy(copy, batch.inputs, *values * sizeof *copy);
  return copy;
}

static void *saved(const dlsc_model_t *model, size_t *size) {
  fuzz_require(dlsc_model_save(model, NULL, 0, size) == DLSC_OK, "save size");
  void *bytes = malloc(*size);
  fuzz_require(bytes && dlsc_model_save(model, bytes, *size, size) == DLSC_OK, "save");
  return bytes;
}

/* An epoch of training on the dataset as it is, for a model made for it (a quarter of
 * the time one output too many), at any learning rate and batch size, cancelled at a
 * batch now and then; then an evaluation. An epoch either succeeds, into a model that
 * saves (its bytes go into the hash) and a shuffled dataset, or answers a status with
 * the model's bytes and the dataset's order as they were; with skip set (the second run)
 * the failed epochs are left out, and the rest must repeat the first run's bytes, so no
 * PRNG moved either. Returns whether the epoch failed. */
static bool train(fuzz_input *in, dlsc_dataset_t *dataset, mirror *m, bool skip,
                  uint64_t *hash) {
  size_t total = m->items * m->transforms, window = m->before + 1 + m->after;
  size_t labels = !m->images ? 0 : m->transforms > 1 ? m->transforms : m->labeled ? m->classes : 0;
  bool misfit = fuzz_take(in, 4) == 0;
  size_t outputs = (m->images ? labels : m->bins) + misfit;
  char spec[160];
  if (m->images)
    snprintf(spec, sizeof spec, "input %zux%zux%zu; conv2d 2 3x3 pad=same; batchnorm; relu; gap; "
             "dense %zu", m->channels, m->height, m->width, outputs ? outputs : 1);
  else
    snprintf(spec, sizeof spec, "input 1x%zux%zu; log; dense %zu; sigmoid", window, m->bins,
             outputs);
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  static const float rates[] = {1e-3f, 0.1f, 30.0f, 1e4f}; /* 1e4: the most dlsc.h takes */
  config.learning_rate = rates[fuzz_take(in, 4)];
  config.optimizer = fuzz_take(in, 2) ? DLSC_OPTIMIZER_ADAM : DLSC_OPTIMIZER_SGD;
  config.loss = m->images ? DLSC_LOSS_CROSS_ENTROPY
                          : fuzz_take(in, 2) ? DLSC_LOSS_MASK_MSE : DLSC_LOSS_MSE;
  config.batch_size = 1 + fuzz_take(in, (unsigned)total + 2);
  if (fuzz_take(in, 2)) { /* the rest of the settings, now and then */
    static const size_t every[] = {0, 1, 5};
    config.lookahead_every = every[fuzz_take(in, 3)];
    config.lookahead_rho = (float)fuzz_take(in, 5) / 4.0f;
    config.lookahead_ramp = fuzz_take(in, 3);
    config.weight_decay = (float)fuzz_take(in, 3) * 0.01f;
    config.label_smoothing = (float)fuzz_take(in, 3) * 0.1f;
    config.gradient_clip = (float)fuzz_take(in, 3);
    config.schedule = (dlsc_schedule)fuzz_take(in, 3);
    config.warmup_steps = fuzz_take(in, 3);
    config.total_steps = config.warmup_steps + 1 + fuzz_take(in, 20);
  }
  size_t cancel = fuzz_take(in, 4); /* 0: never, else at that batch */
  config.progress = cancel_at;
  config.progress_user = &cancel;
  dlsc_model_t *model = NULL;
  fuzz_require(dlsc_model_create_from_spec(spec, 7, &model) == DLSC_OK, spec);
  fuzz_require(dlsc_model_set_training(model, &config) == DLSC_OK, "set_training");
  size_t size_before, values_before;
  void *before = saved(model, &size_before);
  float *order_before = ordered_copy(dataset, m, &values_before);
  dlsc_train_stats stats;
  dlsc_status status = skip ? DLSC_ERR_CANCELLED : dlsc_model_train_epoch(model, dataset, &stats);
  if (status == DLSC_OK) {
    fuzz_require(isfinite(stats.loss) && stats.count > 0 && stats.count <= total, "epoch stats");
    size_t size;
    void *after = saved(model, &size);
    *hash = mix(*hash, after, size);
    free(after);
    m->ordered = false;
  } else {
    fuzz_require(skip || status == DLSC_ERR_INVALID_ARGUMENT || status == DLSC_ERR_SHAPE_MISMATCH ||
                     status == DLSC_ERR_NUMERIC || status == DLSC_ERR_CANCELLED,
                 "an epoch failed with an unexpected status");
    fuzz_require(status != DLSC_ERR_CANCELLED || cancel || skip, "cancelled without asking");
    size_t size, values;
    void *after = saved(model, &size);
    float *order_after = ordered_copy(dataset, m, &values);
    fuzz_require(size == size_before && !memcmp(after, before, size),
                 "a failed epoch changed the model");
    fuzz_require(values == values_before &&
                     (!values || !memcmp(order_after, order_before, values * sizeof(float))),
                 "a failed epoch changed the dataset's order");
    free(after);
    free(order_after);
  }
  free(before);
  free(order_before);
  { /* evaluation: the stored order, no augmentation (after a failed or skipped epoch, of
     * the model as made) */
    dlsc_eval_stats eval;
    size_t confusion[13 * 13];
    bool classes = config.loss == DLSC_LOSS_CROSS_ENTROPY && outputs <= 13;
    dlsc_status evaluated = dlsc_model_evaluate(model, dataset, &eval, classes ? confusion : NULL);
    if (evaluated == DLSC_OK) {
      fuzz_require(!isnan(eval.loss) && eval.count == total && eval.accuracy >= 0.0 &&
                       eval.accuracy <= 1.0, "evaluation stats");
      size_t sum = 0;
      for (size_t i = 0; classes && i < outputs * outputs; i++)
        sum += confusion[i];
      fuzz_require(!classes || sum == total, "the confusion matrix does not count every example");
      *hash = mix(*hash, &eval.loss, sizeof eval.loss);
    } else {
      fuzz_require(evaluated == DLSC_ERR_INVALID_ARGUMENT ||
                       evaluated == DLSC_ERR_SHAPE_MISMATCH || evaluated == DLSC_ERR_NUMERIC,
                   "evaluation failed with an unexpected status");
    }
  }
  dlsc_model_destroy(model);
  return status != DLSC_OK;
}

/* The sequence of calls the input describes; the hash of every batch drawn and model
 * trained. failed[call] records (first run) or skips (skip set) the failed epochs. */
static uint64_t run(fuzz_input in, uint64_t seed, bool *failed, bool skip) {
  static mirror m;
  dlsc_dataset_t *dataset = create(&in, seed, &m);
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (int call = 0; call < MAX_CALLS && in.size > 0; call++) {
    switch (fuzz_take(&in, 8)) {
    case 0:
    case 1:
      if (m.images)
        add_images(&in, dataset, &m);
      else
        add_frames(&in, dataset, &m);
      break;
    case 2:
      set_augment(&in, dataset, &m);
      break;
    case 3: {
      dlsc_task task = (dlsc_task)fuzz_take(&in, 4);
      size_t before = 0, after = 0;
      fuzz_require(dlsc_dataset_count(dataset, &before) == DLSC_OK, "count");
      dlsc_status status = dlsc_dataset_set_task(dataset, task);
      fuzz_require(dlsc_dataset_count(dataset, &after) == DLSC_OK, "count");
      bool valid = m.images && task <= DLSC_TASK_ROTATE4 &&
                   (task == DLSC_TASK_CLASSES || m.height == m.width);
      fuzz_require((status == DLSC_OK) == valid, "a task accepted or refused wrongly");
      if (status == DLSC_OK) {
        m.transforms = task == DLSC_TASK_ROTATE4 ? 4 : task == DLSC_TASK_FLIP_ROTATE3 ? 3 : 1;
        m.ordered = true;
        fuzz_require(after == m.items * m.transforms, "the count under a task");
      } else {
        fuzz_require(after == before, "a refused task changed the count");
      }
      break;
    }
    case 4:
      fuzz_require(dlsc_dataset_shuffle(dataset) == DLSC_OK, "shuffle");
      m.ordered = false;
      break;
    case 5: {
      unsigned what = fuzz_take(&in, 4);
      if (what == 0) {
        clear(dataset, &m);
        break;
      }
      if (what == 1) {
        bool failure = train(&in, dataset, &m, skip && failed[call], &hash);
        if (!skip)
          failed[call] = failure;
        break;
      }
    }
      /* fall through */
    default:
      hash = get_batch(&in, dataset, &m, hash);
    }
  }
  dlsc_dataset_destroy(dataset);
  return hash;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input in = {data, size};
  uint64_t seed = fuzz_take(&in, 1000);
  bool failed[MAX_CALLS] = {false};
  uint64_t first = run(in, seed, failed, false);
  fuzz_require(run(in, seed, failed, true) == first,
               "the same calls from the same seed, less the failed epochs, differ");
  return 0;
}
