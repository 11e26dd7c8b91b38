/* Datasets: spectrogram frame pairs for denoising, and images with labels for
 * classification and pretext tasks. Batches are assembled on demand into buffers the
 * dataset owns; examples follow a permutation drawn from the dataset's own PRNG. */
#include "augment.h"
#include "stft.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONTEXT 64

typedef enum dataset_kind { KIND_FRAMES, KIND_IMAGES } dataset_kind;

struct dlsc_dataset {
  dataset_kind kind;
  dlsc_rng rng;
  size_t n_items, item_capacity; /* frames or images */

  /* frames: noisy magnitudes and targets, [frame][bin]; each frame's utterance span */
  dlsc_frames_config frames;
  float *noisy, *target;
  size_t *span_begin, *span_end;

  /* images: [image][C][H][W] in [0, 1]; labels when the images came with them */
  dlsc_images_config images;
  float *pixels;
  int32_t *labels;
  bool labeled;
  dlsc_task task;
  dlsc_augment_config augment;
  uint64_t flip_key; /* DLSC_FLIP_ALTERNATE: each image's coin comes from it */
  bool flip_phase;   /* parity of the shuffles so far */

  size_t *order; /* a permutation of the examples */
  size_t order_count;

  float *batch_inputs, *batch_targets, *batch_scales, *work;
  int32_t *batch_labels;
  size_t batch_capacity;
};

static size_t item_size(const dlsc_dataset_t *dataset) {
  return dataset->kind == KIND_FRAMES
             ? dataset->frames.n_bins
             : dataset->images.channels * dataset->images.height * dataset->images.width;
}

static size_t transforms_per_image(dlsc_task task) {
  return task == DLSC_TASK_ROTATE4 ? 4 : task == DLSC_TASK_FLIP_ROTATE3 ? 3 : 1;
}

static size_t example_count(const dlsc_dataset_t *dataset) {
  return dataset->kind == KIND_FRAMES ? dataset->n_items
                                      : dataset->n_items * transforms_per_image(dataset->task);
}

static size_t window_frames(const dlsc_dataset_t *dataset) {
  return dataset->frames.context_before + 1 + dataset->frames.context_after;
}

/* ---- creation */

dlsc_status dlsc_frames_config_init_(dlsc_frames_config *config, size_t struct_size) {
  if (!config || struct_size < sizeof(size_t))
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_frames_config defaults;
  memset(&defaults, 0, sizeof defaults);
  defaults.n_bins = 513;
  defaults.target = DLSC_TARGET_MAGNITUDE;
  memset(config, 0, struct_size);
  memcpy(config, &defaults, DLSC_MIN(struct_size, sizeof defaults));
  config->struct_size = struct_size;
  return DLSC_OK;
}

dlsc_status dlsc_images_config_init_(dlsc_images_config *config, size_t struct_size) {
  if (!config || struct_size < sizeof(size_t))
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_images_config defaults;
  memset(&defaults, 0, sizeof defaults);
  defaults.channels = 3;
  defaults.height = defaults.width = 32;
  defaults.n_classes = 10;
  memset(config, 0, struct_size);
  memcpy(config, &defaults, DLSC_MIN(struct_size, sizeof defaults));
  config->struct_size = struct_size;
  return DLSC_OK;
}

dlsc_status dlsc_augment_config_init_(dlsc_augment_config *config, size_t struct_size) {
  if (!config || struct_size < sizeof(size_t))
    return DLSC_ERR_INVALID_ARGUMENT;
  memset(config, 0, struct_size); /* every augmentation off */
  config->struct_size = struct_size;
  return DLSC_OK;
}

static dlsc_status create(dataset_kind kind, uint64_t seed, dlsc_dataset_t **out) {
  dlsc_dataset_t *dataset = calloc(1, sizeof *dataset);
  if (!dataset)
    return DLSC_ERR_OUT_OF_MEMORY;
  dataset->kind = kind;
  dlsc_rng_seed(&dataset->rng, seed, 0x64617461ULL /* "data" */);
  dataset->flip_key = seed ^ 0x666c6970ULL /* "flip" */;
  dlsc_augment_config_init(&dataset->augment);
  *out = dataset;
  return DLSC_OK;
}

dlsc_status dlsc_dataset_create_frames(const dlsc_frames_config *user_config, uint64_t seed,
                                       dlsc_dataset_t **out) {
  dlsc_frames_config config;
  if (!out)
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_frames_config_init(&config);
  DLSC_TRY(dlsc_import_config(&config, sizeof config, user_config));
  if (config.n_bins < 2 || config.n_bins > 32769 || config.context_before > MAX_CONTEXT ||
      config.context_after > MAX_CONTEXT || (unsigned)config.target > DLSC_TARGET_PHASE_SENSITIVE)
    return DLSC_ERR_INVALID_ARGUMENT;
  DLSC_TRY(create(KIND_FRAMES, seed, out));
  (*out)->frames = config;
  return DLSC_OK;
}

dlsc_status dlsc_dataset_create_images(const dlsc_images_config *user_config, uint64_t seed,
                                       dlsc_dataset_t **out) {
  dlsc_images_config config;
  if (!out)
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_images_config_init(&config);
  DLSC_TRY(dlsc_import_config(&config, sizeof config, user_config));
  if (config.channels == 0 || config.channels > 64 || config.height == 0 ||
      config.height > 4096 || config.width == 0 || config.width > 4096 ||
      config.n_classes > 1000000)
    return DLSC_ERR_INVALID_ARGUMENT;
  DLSC_TRY(create(KIND_IMAGES, seed, out));
  (*out)->images = config;
  return DLSC_OK;
}

void dlsc_dataset_destroy(dlsc_dataset_t *dataset) {
  if (!dataset)
    return;
  free(dataset->noisy);
  free(dataset->target);
  free(dataset->span_begin);
  free(dataset->span_end);
  free(dataset->pixels);
  free(dataset->labels);
  free(dataset->order);
  free(dataset->batch_inputs);
  free(dataset->batch_targets);
  free(dataset->batch_scales);
  free(dataset->batch_labels);
  free(dataset->work);
  free(dataset);
}

/* ---- storage */

static bool grow(void **array, size_t count, size_t element_size) {
  size_t bytes;
  if (dlsc_mul_overflows(count, element_size, &bytes))
    return false;
  void *grown = realloc(*array, bytes ? bytes : 1);
  if (!grown)
    return false;
  *array = grown;
  return true;
}

/* Room for extra more items in every array the kind uses. */
static dlsc_status reserve_items(dlsc_dataset_t *dataset, size_t extra) {
  if (extra > SIZE_MAX / 2 - dataset->n_items)
    return DLSC_ERR_INVALID_ARGUMENT;
  size_t needed = dataset->n_items + extra;
  if (needed <= dataset->item_capacity)
    return DLSC_OK;
  size_t capacity = DLSC_MAX(needed, 2 * dataset->item_capacity), values;
  if (dlsc_mul_overflows(capacity, item_size(dataset), &values))
    return DLSC_ERR_OUT_OF_MEMORY;
  bool ok;
  if (dataset->kind == KIND_FRAMES)
    ok = grow((void **)&dataset->noisy, values, sizeof(float)) &&
         grow((void **)&dataset->target, values, sizeof(float)) &&
         grow((void **)&dataset->span_begin, capacity, sizeof(size_t)) &&
         grow((void **)&dataset->span_end, capacity, sizeof(size_t));
  else
    ok = grow((void **)&dataset->pixels, values, sizeof(float)) &&
         grow((void **)&dataset->labels, capacity, sizeof(int32_t));
  if (!ok)
    return DLSC_ERR_OUT_OF_MEMORY;
  dataset->item_capacity = capacity;
  return DLSC_OK;
}

/* Examples changed: the order starts again from the stored one. */
static void reset_order(dlsc_dataset_t *dataset) {
  free(dataset->order);
  dataset->order = NULL;
  dataset->order_count = 0;
}

static dlsc_status append_frames(dlsc_dataset_t *dataset, const float *noisy, const float *target,
                                 size_t n_frames) {
  DLSC_TRY(reserve_items(dataset, n_frames));
  size_t bins = dataset->frames.n_bins, first = dataset->n_items;
  memcpy(dataset->noisy + first * bins, noisy, n_frames * bins * sizeof *noisy);
  memcpy(dataset->target + first * bins, target, n_frames * bins * sizeof *target);
  for (size_t f = first; f < first + n_frames; f++) {
    dataset->span_begin[f] = first;
    dataset->span_end[f] = first + n_frames;
  }
  dataset->n_items += n_frames;
  reset_order(dataset);
  return DLSC_OK;
}

dlsc_status dlsc_dataset_add_frames(dlsc_dataset_t *dataset, const float *noisy,
                                    const float *target, size_t n_frames) {
  size_t values;
  if (!dataset || dataset->kind != KIND_FRAMES || !noisy || !target || n_frames == 0 ||
      dlsc_mul_overflows(n_frames, dataset->frames.n_bins, &values))
    return DLSC_ERR_INVALID_ARGUMENT;
  if (!dlsc_all_finite(noisy, values) || !dlsc_all_finite(target, values))
    return DLSC_ERR_NUMERIC;
  return append_frames(dataset, noisy, target, n_frames);
}

/* Noisy magnitudes and targets from the complex spectra Y (noisy) and S (clean):
 * |S|, or the phase-sensitive |S| cos(angle S - angle Y) = Re(S conj(Y)) / |Y|. */
static void spectra_to_frames(const float *noisy, const float *clean, size_t values,
                              dlsc_target target, float *noisy_magnitude, float *target_values) {
  for (size_t i = 0; i < values; i++) {
    float yr = noisy[2 * i], yi = noisy[2 * i + 1], sr = clean[2 * i], si = clean[2 * i + 1];
    float y = sqrtf(yr * yr + yi * yi), s = sqrtf(sr * sr + si * si);
    noisy_magnitude[i] = y;
    if (target == DLSC_TARGET_MAGNITUDE)
      target_values[i] = s;
    else /* with no noisy phase (|Y| = 0) the projection is taken on phase 0 */
      target_values[i] = fmaxf(0.0f, y > 0.0f ? (sr * yr + si * yi) / y : sr);
  }
}

dlsc_status dlsc_dataset_add_signal_pair(dlsc_dataset_t *dataset, dlsc_stft_t *stft,
                                         const float *noisy, const float *clean,
                                         size_t n_samples) {
  size_t bins, n_frames;
  if (!dataset || dataset->kind != KIND_FRAMES || !noisy || !clean)
    return DLSC_ERR_INVALID_ARGUMENT;
  DLSC_TRY(dlsc_stft_n_bins(stft, &bins));
  DLSC_TRY(dlsc_stft_n_frames(stft, n_samples, &n_frames));
  if (bins != dataset->frames.n_bins)
    return DLSC_ERR_SHAPE_MISMATCH;
  size_t values, spectra_size; /* 2 complex spectra: 4 values floats */
  if (dlsc_mul_overflows(n_frames, bins, &values) || dlsc_mul_overflows(values, 4, &spectra_size))
    return DLSC_ERR_OUT_OF_MEMORY; /* more than any address space holds */
  float *spectra = dlsc_alloc_floats(spectra_size), *frames = dlsc_alloc_floats(2 * values);
  dlsc_status status = DLSC_ERR_OUT_OF_MEMORY;
  if (spectra && frames) {
    status = dlsc_stft_forward_complex(stft, noisy, n_samples, spectra, n_frames);
    if (status == DLSC_OK)
      status = dlsc_stft_forward_complex(stft, clean, n_samples, spectra + 2 * values, n_frames);
  }
  if (status == DLSC_OK) {
    spectra_to_frames(spectra, spectra + 2 * values, values, dataset->frames.target, frames,
                      frames + values);
    status = append_frames(dataset, frames, frames + values, n_frames);
  }
  free(spectra);
  free(frames);
  return status;
}

static dlsc_status check_images(const dlsc_dataset_t *dataset, const void *pixels,
                                const int32_t *labels, size_t count) {
  size_t values;
  if (!dataset || dataset->kind != KIND_IMAGES || !pixels || count == 0 ||
      dlsc_mul_overflows(count, item_size(dataset), &values))
    return DLSC_ERR_INVALID_ARGUMENT;
  /* One dataset holds labeled or unlabeled images, not a mix of both. */
  if (dataset->n_items > 0 && (labels != NULL) != dataset->labeled)
    return DLSC_ERR_INVALID_ARGUMENT;
  if (labels && dataset->images.n_classes == 0)
    return DLSC_ERR_INVALID_ARGUMENT;
  for (size_t i = 0; labels && i < count; i++)
    if (labels[i] < 0 || (size_t)labels[i] >= dataset->images.n_classes)
      return DLSC_ERR_INVALID_ARGUMENT;
  return DLSC_OK;
}

static void append_labels(dlsc_dataset_t *dataset, const int32_t *labels, size_t count) {
  for (size_t i = 0; i < count; i++)
    dataset->labels[dataset->n_items + i] = labels ? labels[i] : -1;
  dataset->labeled = labels != NULL;
  dataset->n_items += count;
  reset_order(dataset);
}

dlsc_status dlsc_dataset_add_images_u8(dlsc_dataset_t *dataset, const uint8_t *pixels,
                                       const int32_t *labels, size_t count) {
  DLSC_TRY(check_images(dataset, pixels, labels, count));
  DLSC_TRY(reserve_items(dataset, count));
  size_t values = count * item_size(dataset);
  dlsc_bytes_to_unit(pixels, values, dataset->pixels + dataset->n_items * item_size(dataset));
  append_labels(dataset, labels, count);
  return DLSC_OK;
}

dlsc_status dlsc_dataset_add_images_f32(dlsc_dataset_t *dataset, const float *pixels,
                                        const int32_t *labels, size_t count) {
  DLSC_TRY(check_images(dataset, pixels, labels, count));
  size_t values = count * item_size(dataset);
  if (!dlsc_all_finite(pixels, values))
    return DLSC_ERR_NUMERIC;
  DLSC_TRY(reserve_items(dataset, count));
  memcpy(dataset->pixels + dataset->n_items * item_size(dataset), pixels, values * sizeof *pixels);
  append_labels(dataset, labels, count);
  return DLSC_OK;
}

dlsc_status dlsc_dataset_clear(dlsc_dataset_t *dataset) {
  if (!dataset)
    return DLSC_ERR_INVALID_ARGUMENT;
  dataset->n_items = 0;
  dataset->labeled = false;
  reset_order(dataset);
  return DLSC_OK;
}

/* ---- tasks and augmentation */

dlsc_status dlsc_dataset_set_task(dlsc_dataset_t *dataset, dlsc_task task) {
  if (!dataset || dataset->kind != KIND_IMAGES || (unsigned)task > DLSC_TASK_ROTATE4)
    return DLSC_ERR_INVALID_ARGUMENT;
  if (task != DLSC_TASK_CLASSES && dataset->images.height != dataset->images.width)
    return DLSC_ERR_SHAPE_MISMATCH; /* quarter turns need square images */
  dataset->task = task;
  reset_order(dataset);
  return DLSC_OK;
}

dlsc_status dlsc_dataset_set_augment(dlsc_dataset_t *dataset,
                                     const dlsc_augment_config *user_config) {
  dlsc_augment_config config;
  if (!dataset || dataset->kind != KIND_IMAGES)
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_augment_config_init(&config);
  DLSC_TRY(dlsc_import_config(&config, sizeof config, user_config));
  size_t side = DLSC_MIN(dataset->images.height, dataset->images.width);
  if (!(config.brightness >= 0.0f && config.brightness <= 1.0f) ||
      !(config.contrast >= 0.0f && config.contrast <= 1.0f) || config.crop_padding > side ||
      config.cutout > side || (unsigned)config.horizontal_flip > DLSC_FLIP_ALTERNATE ||
      (unsigned)config.crop_reflect > 1 || (unsigned)config.rotate90 > 1 ||
      (config.crop_reflect && config.crop_padding >= side))
    return DLSC_ERR_INVALID_ARGUMENT;
  if (config.rotate90 && dataset->images.height != dataset->images.width)
    return DLSC_ERR_SHAPE_MISMATCH;
  config.struct_size = sizeof config;
  dataset->augment = config;
  return DLSC_OK;
}

/* ---- queries */

dlsc_status dlsc_dataset_count(const dlsc_dataset_t *dataset, size_t *count) {
  if (!dataset || !count)
    return DLSC_ERR_INVALID_ARGUMENT;
  *count = example_count(dataset);
  return DLSC_OK;
}

dlsc_status dlsc_dataset_input_shape(const dlsc_dataset_t *dataset, dlsc_shape *shape) {
  if (!dataset || !shape)
    return DLSC_ERR_INVALID_ARGUMENT;
  if (dataset->kind == KIND_FRAMES)
    *shape = (dlsc_shape){1, window_frames(dataset), dataset->frames.n_bins};
  else
    *shape = (dlsc_shape){dataset->images.channels, dataset->images.height, dataset->images.width};
  return DLSC_OK;
}

size_t dlsc_dataset_label_count(const dlsc_dataset_t *dataset) {
  if (dataset->kind == KIND_FRAMES)
    return 0;
  if (dataset->task == DLSC_TASK_CLASSES)
    return dataset->labeled ? dataset->images.n_classes : 0;
  return transforms_per_image(dataset->task);
}

size_t dlsc_dataset_target_size(const dlsc_dataset_t *dataset) {
  return dataset->kind == KIND_FRAMES ? dataset->frames.n_bins : 0;
}

/* ---- order */

static dlsc_status ensure_order(dlsc_dataset_t *dataset) {
  size_t count = example_count(dataset);
  if (dataset->order && dataset->order_count == count)
    return DLSC_OK;
  size_t *order = dlsc_alloc_array(count, sizeof *order);
  if (!order)
    return DLSC_ERR_OUT_OF_MEMORY;
  for (size_t i = 0; i < count; i++)
    order[i] = i;
  free(dataset->order);
  dataset->order = order;
  dataset->order_count = count;
  return DLSC_OK;
}

dlsc_status dlsc_dataset_shuffle(dlsc_dataset_t *dataset) {
  if (!dataset)
    return DLSC_ERR_INVALID_ARGUMENT;
  DLSC_TRY(ensure_order(dataset));
  dlsc_rng_permutation(&dataset->rng, dataset->order, dataset->order_count);
  dataset->flip_phase = !dataset->flip_phase;
  return DLSC_OK;
}

typedef struct saved_order {
  dlsc_rng rng;
  bool flip_phase;
  size_t count;
  size_t order[];
} saved_order;

dlsc_status dlsc_dataset_save_order(const dlsc_dataset_t *dataset, void **state) {
  size_t count = dataset->order ? dataset->order_count : 0;
  saved_order *saved = malloc(sizeof *saved + count * sizeof(size_t));
  if (!saved)
    return DLSC_ERR_OUT_OF_MEMORY;
  saved->rng = dataset->rng;
  saved->flip_phase = dataset->flip_phase;
  saved->count = count;
  if (count)
    memcpy(saved->order, dataset->order, count * sizeof(size_t));
  *state = saved;
  return DLSC_OK;
}

void dlsc_dataset_restore_order(dlsc_dataset_t *dataset, void *state) {
  saved_order *saved = state;
  dataset->rng = saved->rng;
  dataset->flip_phase = saved->flip_phase;
  if (saved->count == 0)
    reset_order(dataset);
  else if (dataset->order && dataset->order_count == saved->count)
    memcpy(dataset->order, saved->order, saved->count * sizeof(size_t));
  free(saved);
}

void dlsc_dataset_get_state(const dlsc_dataset_t *dataset, dlsc_dataset_state *state) {
  state->rng = dataset->rng;
  state->flip_phase = dataset->flip_phase;
  state->n_examples = example_count(dataset);
  state->order = dataset->order && dataset->order_count == state->n_examples ? dataset->order
                                                                             : NULL;
}

dlsc_status dlsc_dataset_set_state(dlsc_dataset_t *dataset, const dlsc_dataset_state *state) {
  size_t count = state->n_examples;
  if (count != example_count(dataset))
    return DLSC_ERR_SHAPE_MISMATCH;
  size_t *order = NULL;
  if (state->order) {
    order = dlsc_alloc_array(count, sizeof *order);
    unsigned char *seen = dlsc_alloc_array(count, 1);
    bool allocated = order && seen, permutation = allocated;
    for (size_t i = 0; permutation && i < count; i++) {
      size_t k = state->order[i];
      permutation = k < count && !seen[k];
      if (permutation)
        seen[k] = 1;
    }
    free(seen);
    if (!permutation) {
      dlsc_status status = allocated ? DLSC_ERR_BAD_FORMAT : DLSC_ERR_OUT_OF_MEMORY;
      free(order);
      return status;
    }
    memcpy(order, state->order, count * sizeof *order);
  }
  reset_order(dataset);
  dataset->order = order;
  dataset->order_count = order ? count : 0;
  dataset->rng = state->rng;
  dataset->flip_phase = state->flip_phase;
  return DLSC_OK;
}

/* ---- batches */

static dlsc_status reserve_batch(dlsc_dataset_t *dataset, size_t count) {
  if (count <= dataset->batch_capacity && dataset->batch_inputs)
    return DLSC_OK;
  dlsc_shape shape;
  dlsc_dataset_input_shape(dataset, &shape);
  size_t inputs, outputs;
  if (dlsc_mul_overflows(count, dlsc_shape_size(shape), &inputs) ||
      dlsc_mul_overflows(count, item_size(dataset), &outputs))
    return DLSC_ERR_INVALID_ARGUMENT;
  float *batch_inputs = dlsc_alloc_floats(inputs);
  float *targets = dataset->kind == KIND_FRAMES ? dlsc_alloc_floats(outputs) : NULL;
  float *scales = dataset->kind == KIND_FRAMES ? dlsc_alloc_floats(outputs) : NULL;
  int32_t *labels = dlsc_alloc_array(count, sizeof *labels);
  float *work = dlsc_alloc_floats(2 * dlsc_shape_size(shape));
  if (!batch_inputs || !labels || !work ||
      (dataset->kind == KIND_FRAMES && (!targets || !scales))) {
    free(batch_inputs);
    free(targets);
    free(scales);
    free(labels);
    free(work);
    return DLSC_ERR_OUT_OF_MEMORY;
  }
  free(dataset->batch_inputs);
  free(dataset->batch_targets);
  free(dataset->batch_scales);
  free(dataset->batch_labels);
  free(dataset->work);
  dataset->batch_inputs = batch_inputs;
  dataset->batch_targets = targets;
  dataset->batch_scales = scales;
  dataset->batch_labels = labels;
  dataset->work = work;
  dataset->batch_capacity = count;
  return DLSC_OK;
}

/* Frame example: the noisy window around frame f within its utterance, zeros beyond. */
static void fill_frame(const dlsc_dataset_t *dataset, size_t f, float *input, float *target,
                       float *scale) {
  size_t bins = dataset->frames.n_bins, window = window_frames(dataset);
  for (size_t w = 0; w < window; w++) {
    ptrdiff_t j = (ptrdiff_t)f - (ptrdiff_t)dataset->frames.context_before + (ptrdiff_t)w;
    float *row = input + w * bins;
    if (j < (ptrdiff_t)dataset->span_begin[f] || j >= (ptrdiff_t)dataset->span_end[f])
      memset(row, 0, bins * sizeof *row);
    else
      memcpy(row, dataset->noisy + (size_t)j * bins, bins * sizeof *row);
  }
  memcpy(target, dataset->target + f * bins, bins * sizeof *target);
  memcpy(scale, dataset->noisy + f * bins, bins * sizeof *scale);
}

/* Whether DLSC_FLIP_ALTERNATE mirrors image now: its coin (a splitmix64 hash of the
 * key and the index) against the shuffle parity. */
static bool alternate_mirror(const dlsc_dataset_t *dataset, size_t image) {
  uint64_t z = dataset->flip_key + (uint64_t)(image + 1) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return ((z & 1u) != 0) != dataset->flip_phase;
}

/* Image example: image index / transforms under transform index % transforms. */
static int32_t fill_image(dlsc_dataset_t *dataset, size_t index, bool augment, float *input) {
  const dlsc_images_config *c = &dataset->images;
  size_t transforms = transforms_per_image(dataset->task), size = item_size(dataset);
  size_t image = index / transforms;
  unsigned transform = (unsigned)(index % transforms);
  float *work = dataset->work, *scratch = dataset->work + size;
  memcpy(work, dataset->pixels + image * size, size * sizeof *work);
  if (augment)
    dlsc_image_augment(work, scratch, c->channels, c->height, c->width, &dataset->augment,
                       dataset->augment.horizontal_flip == DLSC_FLIP_ALTERNATE &&
                           alternate_mirror(dataset, image),
                       &dataset->rng);
  if (dataset->task == DLSC_TASK_CLASSES) {
    memcpy(input, work, size * sizeof *input);
    return dataset->labels[image];
  }
  dlsc_image_pretext(work, input, c->channels, c->height, dataset->task, transform);
  return (int32_t)transform;
}

dlsc_status dlsc_dataset_fill(dlsc_dataset_t *dataset, size_t first, size_t count, bool ordered,
                              bool augment, dlsc_batch *batch) {
  size_t total = example_count(dataset);
  if (count == 0 || first >= total || count > total - first)
    return DLSC_ERR_INVALID_ARGUMENT;
  DLSC_TRY(ensure_order(dataset));
  DLSC_TRY(reserve_batch(dataset, count));
  dlsc_shape shape;
  dlsc_dataset_input_shape(dataset, &shape);
  size_t in_size = dlsc_shape_size(shape), out_size = item_size(dataset);
  bool has_labels = dlsc_dataset_label_count(dataset) > 0;
  for (size_t i = 0; i < count; i++) {
    size_t index = ordered ? dataset->order[first + i] : first + i;
    if (dataset->kind == KIND_FRAMES)
      fill_frame(dataset, index, dataset->batch_inputs + i * in_size,
                 dataset->batch_targets + i * out_size, dataset->batch_scales + i * out_size);
    else
      dataset->batch_labels[i] =
          fill_image(dataset, index, augment, dataset->batch_inputs + i * in_size);
  }
  *batch = (dlsc_batch){
      .count = count,
      .inputs = dataset->batch_inputs,
      .targets = dataset->kind == KIND_FRAMES ? dataset->batch_targets : NULL,
      .scales = dataset->kind == KIND_FRAMES ? dataset->batch_scales : NULL,
      .labels = has_labels ? dataset->batch_labels : NULL,
  };
  return DLSC_OK;
}

dlsc_status dlsc_dataset_get_batch(dlsc_dataset_t *dataset, size_t first, size_t count,
                                   int augment, dlsc_batch *batch) {
  if (!dataset || !batch)
    return DLSC_ERR_INVALID_ARGUMENT;
  return dlsc_dataset_fill(dataset, first, count, true, augment != 0, batch);
}
