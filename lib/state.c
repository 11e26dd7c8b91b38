/* Training state for resuming a run (docs/model-format.md, "Training state"): what a
 * saved model lacks, tied to the weights it was saved with by their CRC-32. */
#include "format.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define STATE_VERSION 1u
static const unsigned char state_magic[8] = {'D', 'L', 'S', 'C', 'S', 'T', 'A', 'T'};

/* CRC-32 of the parameters, then the statistics, as the model format stores them. */
static uint32_t weights_crc(const dlsc_model_t *model) {
  unsigned char bytes[4 * 256];
  uint32_t crc = 0;
  const float *arrays[2] = {model->params, model->stats};
  size_t counts[2] = {model->n_params, model->n_stats};
  for (int a = 0; a < 2; a++)
    for (size_t first = 0; first < counts[a]; first += 256) {
      size_t n = DLSC_MIN((size_t)256, counts[a] - first);
      dlsc_writer w = {bytes, 0};
      dlsc_put_floats(&w, arrays[a] + first, n);
      crc = dlsc_crc32(crc, bytes, w.length);
    }
  return crc;
}

static void write_state(const dlsc_model_t *model, const dlsc_dataset_t *dataset,
                        dlsc_writer *w, uint64_t total) {
  dlsc_put_head(w, state_magic, STATE_VERSION, total);
  dlsc_put_u64(w, model->n_params);
  dlsc_put_u64(w, model->n_stats);
  dlsc_put_u32(w, weights_crc(model));
  dlsc_put_u32(w, (uint32_t)model->train.optimizer);
  dlsc_put_u64(w, model->rng.state);
  dlsc_put_u64(w, model->rng.increment);
  bool moments = model->moment1 != NULL;
  dlsc_put_u32(w, moments);
  if (moments) {
    dlsc_put_u64(w, model->step);
    dlsc_put_floats(w, model->moment1, model->n_params);
    dlsc_put_floats(w, model->moment2, model->n_params);
  }
  dlsc_put_u32(w, model->slow_taken);
  if (model->slow_taken)
    dlsc_put_floats(w, model->slow, model->n_params + model->n_stats);
  dlsc_put_u32(w, dataset != NULL);
  if (dataset) {
    dlsc_dataset_state d;
    dlsc_dataset_get_state(dataset, &d);
    dlsc_put_u64(w, d.rng.state);
    dlsc_put_u64(w, d.rng.increment);
    dlsc_put_u32(w, d.flip_phase);
    dlsc_put_u64(w, d.n_examples);
    dlsc_put_u32(w, d.order != NULL);
    for (size_t i = 0; d.order && i < d.n_examples; i++)
      dlsc_put_u64(w, d.order[i]);
  }
  dlsc_put_crc(w);
}

dlsc_status dlsc_training_state_save(const dlsc_model_t *model, const dlsc_dataset_t *dataset,
                                     void *buffer, size_t capacity, size_t *size) {
  if (!model || !size || (!buffer && capacity))
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_writer counter = {NULL, 0};
  write_state(model, dataset, &counter, 0);
  *size = counter.length;
  if (!buffer)
    return DLSC_OK;
  if (capacity < counter.length)
    return DLSC_ERR_BUFFER_TOO_SMALL;
  dlsc_writer w = {buffer, 0};
  write_state(model, dataset, &w, counter.length);
  return DLSC_OK;
}

/* A state read back, held apart from the model until all of it has been checked. */
typedef struct state {
  dlsc_rng rng;
  bool moments, slow_taken, has_dataset;
  size_t step;
  float *moment1, *moment2, *slow;
  dlsc_dataset_state dataset;
  size_t *order;
} state;

static void free_state(state *s) {
  free(s->moment1);
  free(s->moment2);
  free(s->slow);
  free(s->order);
}

/* A flag that must be 0 or 1. */
static bool get_flag(dlsc_reader *r, bool *flag) {
  uint32_t value = dlsc_get_u32(r);
  *flag = value == 1;
  return !r->failed && value <= 1;
}

static dlsc_status read_state(dlsc_reader *r, const dlsc_model_t *model, state *s) {
  uint64_t n_params = dlsc_get_u64(r), n_stats = dlsc_get_u64(r);
  uint32_t crc = dlsc_get_u32(r), optimizer = dlsc_get_u32(r);
  s->rng.state = dlsc_get_u64(r);
  s->rng.increment = dlsc_get_u64(r);
  if (r->failed || !get_flag(r, &s->moments))
    return DLSC_ERR_BAD_FORMAT;
  if (n_params != model->n_params || n_stats != model->n_stats || crc != weights_crc(model) ||
      optimizer != (uint32_t)model->train.optimizer)
    return DLSC_ERR_SHAPE_MISMATCH; /* another model, other weights, another optimizer */
  size_t left = (r->length - r->position) / 4;
  if (s->moments) {
    s->step = (size_t)dlsc_get_u64(r);
    if (model->n_params > left / 2 || !(s->moment1 = dlsc_alloc_floats(model->n_params)) ||
        !(s->moment2 = dlsc_alloc_floats(model->n_params)))
      return r->failed || model->n_params > left / 2 ? DLSC_ERR_BAD_FORMAT
                                                     : DLSC_ERR_OUT_OF_MEMORY;
    if (!dlsc_get_floats(r, s->moment1, model->n_params) ||
        !dlsc_get_floats(r, s->moment2, model->n_params) ||
        !dlsc_all_finite(s->moment1, model->n_params) ||
        !dlsc_all_finite(s->moment2, model->n_params))
      return DLSC_ERR_BAD_FORMAT;
  }
  if (!get_flag(r, &s->slow_taken) || (s->slow_taken && !s->moments))
    return DLSC_ERR_BAD_FORMAT; /* the slow copy is taken with the first step */
  if (s->slow_taken) {
    size_t count = model->n_params + model->n_stats;
    if (!model->train.lookahead_every)
      return DLSC_ERR_SHAPE_MISMATCH; /* saved with lookahead, loaded without */
    if (count > (r->length - r->position) / 4)
      return DLSC_ERR_BAD_FORMAT;
    if (!(s->slow = dlsc_alloc_floats(count)))
      return DLSC_ERR_OUT_OF_MEMORY;
    if (!dlsc_get_floats(r, s->slow, count) || !dlsc_all_finite(s->slow, count))
      return DLSC_ERR_BAD_FORMAT;
  }
  if (!get_flag(r, &s->has_dataset))
    return DLSC_ERR_BAD_FORMAT;
  if (s->has_dataset) {
    bool flip_phase, ordered;
    s->dataset.rng.state = dlsc_get_u64(r);
    s->dataset.rng.increment = dlsc_get_u64(r);
    if (!get_flag(r, &flip_phase))
      return DLSC_ERR_BAD_FORMAT;
    uint64_t n_examples = dlsc_get_u64(r);
    if (!get_flag(r, &ordered))
      return DLSC_ERR_BAD_FORMAT;
    s->dataset.flip_phase = flip_phase;
    s->dataset.n_examples = (size_t)n_examples;
    if (ordered) {
      if (n_examples > (r->length - r->position) / 8)
        return DLSC_ERR_BAD_FORMAT;
      if (!(s->order = dlsc_alloc_array((size_t)n_examples, sizeof *s->order)))
        return DLSC_ERR_OUT_OF_MEMORY;
      for (size_t i = 0; i < n_examples; i++) {
        uint64_t k = dlsc_get_u64(r);
        s->order[i] = k < n_examples ? (size_t)k : SIZE_MAX; /* SIZE_MAX: refused below */
      }
      s->dataset.order = s->order;
    }
  }
  return r->failed || r->position != r->length ? DLSC_ERR_BAD_FORMAT : DLSC_OK;
}

dlsc_status dlsc_training_state_load(dlsc_model_t *model, dlsc_dataset_t *dataset,
                                     const void *buffer, size_t size) {
  if (!model || !buffer)
    return DLSC_ERR_INVALID_ARGUMENT;
  uint32_t version;
  dlsc_reader r;
  DLSC_TRY(dlsc_check_envelope(buffer, size, state_magic, STATE_VERSION, &version, &r));
  state s = {0};
  dlsc_status status = read_state(&r, model, &s);
  if (status == DLSC_OK && s.has_dataset != (dataset != NULL))
    status = DLSC_ERR_INVALID_ARGUMENT; /* saved with a dataset and loaded without, or back */
  /* Allocations first. Optimizer arrays that were missing come zeroed at step 0, as a
   * first step would make them: the model's behaviour is unchanged if a later check
   * fails. The dataset checks its size and the order and changes only on success. */
  if (status == DLSC_OK && s.moments)
    status = dlsc_model_ensure_optimizer(model);
  if (status == DLSC_OK && dataset)
    status = dlsc_dataset_set_state(dataset, &s.dataset);
  if (status == DLSC_OK) {
    model->rng = s.rng;
    if (s.moments) {
      memcpy(model->moment1, s.moment1, model->n_params * sizeof *s.moment1);
      memcpy(model->moment2, s.moment2, model->n_params * sizeof *s.moment2);
      model->step = s.step;
    } else {
      dlsc_model_reset_optimizer(model); /* saved before the first step */
    }
    if (s.slow_taken)
      memcpy(model->slow, s.slow, (model->n_params + model->n_stats) * sizeof *s.slow);
    model->slow_taken = s.slow_taken;
  }
  free_state(&s);
  return status;
}

dlsc_status dlsc_training_state_save_file(const dlsc_model_t *model,
                                          const dlsc_dataset_t *dataset, const char *path) {
  size_t size;
  if (!model || !path || !*path)
    return DLSC_ERR_INVALID_ARGUMENT;
  DLSC_TRY(dlsc_training_state_save(model, dataset, NULL, 0, &size));
  unsigned char *bytes = malloc(size);
  if (!bytes)
    return DLSC_ERR_OUT_OF_MEMORY;
  dlsc_training_state_save(model, dataset, bytes, size, &size);
  dlsc_status status = dlsc_write_file_atomic(path, bytes, size);
  int error = errno; /* the reason of an IO failure, past free */
  free(bytes);
  errno = error;
  return status;
}

dlsc_status dlsc_training_state_load_file(dlsc_model_t *model, dlsc_dataset_t *dataset,
                                          const char *path) {
  if (!model || !path)
    return DLSC_ERR_INVALID_ARGUMENT;
  unsigned char *bytes;
  size_t size;
  DLSC_TRY(dlsc_read_file(path, &bytes, &size));
  dlsc_status status = dlsc_training_state_load(model, dataset, bytes, size);
  free(bytes);
  return status;
}
