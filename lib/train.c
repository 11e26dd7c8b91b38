/* Training: losses, optimizers, learning-rate schedules, and the batch, epoch and
 * evaluation loops. Every training call is atomic: on failure the model is as it was. */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

dlsc_status dlsc_train_config_init_(dlsc_train_config *config, size_t struct_size) {
  if (!config || struct_size < sizeof(size_t))
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_train_config defaults;
  memset(&defaults, 0, sizeof defaults);
  defaults.optimizer = DLSC_OPTIMIZER_ADAM;
  defaults.loss = DLSC_LOSS_MSE;
  defaults.learning_rate = 1e-3f;
  defaults.momentum = 0.9f;
  defaults.beta1 = 0.9f;
  defaults.beta2 = 0.999f;
  defaults.adam_epsilon = 1e-8f;
  defaults.schedule = DLSC_SCHEDULE_CONSTANT;
  defaults.batch_size = 32;
  defaults.lookahead_rho = 0.5f;
  memset(config, 0, struct_size);
  memcpy(config, &defaults, DLSC_MIN(struct_size, sizeof defaults));
  config->struct_size = struct_size;
  return DLSC_OK;
}

static bool in_unit_interval(float value) { return value >= 0.0f && value < 1.0f; }

static dlsc_status check_train_config(const dlsc_train_config *c) {
  bool valid = (unsigned)c->optimizer <= DLSC_OPTIMIZER_SGD &&
               (unsigned)c->loss <= DLSC_LOSS_CROSS_ENTROPY &&
               (unsigned)c->schedule <= DLSC_SCHEDULE_LINEAR && c->learning_rate > 0.0f &&
               c->learning_rate <= 1e4f && in_unit_interval(c->momentum) &&
               (unsigned)c->nesterov <= 1 &&
               in_unit_interval(c->beta1) && in_unit_interval(c->beta2) &&
               c->adam_epsilon > 0.0f && c->adam_epsilon < 1.0f && c->weight_decay >= 0.0f &&
               c->weight_decay < 1e3f && in_unit_interval(c->label_smoothing) &&
               c->gradient_clip >= 0.0f && isfinite(c->gradient_clip) && c->batch_size > 0 &&
               c->lookahead_rho >= 0.0f && c->lookahead_rho <= 1.0f;
  if (valid && c->schedule != DLSC_SCHEDULE_CONSTANT)
    valid = c->total_steps > c->warmup_steps;
  return valid ? DLSC_OK : DLSC_ERR_INVALID_ARGUMENT;
}

dlsc_status dlsc_model_set_training(dlsc_model_t *model, const dlsc_train_config *user_config) {
  dlsc_train_config config;
  if (!model)
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_train_config_init(&config);
  DLSC_TRY(dlsc_import_config(&config, sizeof config, user_config));
  config.struct_size = sizeof config;
  DLSC_TRY(check_train_config(&config));
  if (config.optimizer != model->train.optimizer)
    dlsc_model_reset_optimizer(model); /* SGD velocity is no Adam moment */
  if (!config.lookahead_every) {
    free(model->slow);
    free(model->slow_backup);
    model->slow = model->slow_backup = NULL;
    model->slow_taken = model->slow_backup_taken = false;
  }
  model->train = config;
  return DLSC_OK;
}

/* ---- lookahead: the slow copy is taken before a step, pulled towards after one */

static void lookahead_take(dlsc_model_t *model) {
  const dlsc_train_config *c = &model->train;
  if (!c->lookahead_every || model->slow_taken || model->step < c->lookahead_start)
    return;
  memcpy(model->slow, model->params, model->n_params * sizeof(float));
  memcpy(model->slow + model->n_params, model->stats, model->n_stats * sizeof(float));
  model->slow_taken = true;
}

static void lookahead_pull(dlsc_model_t *model) {
  const dlsc_train_config *c = &model->train;
  if (!model->slow_taken || model->step % c->lookahead_every != 0)
    return;
  double progress = 1.0;
  if (model->step < c->lookahead_ramp)
    progress = (double)model->step / (double)c->lookahead_ramp;
  float rho = (float)((double)c->lookahead_rho * progress * progress * progress);
  dlsc_blend_floats(model->slow, model->params, model->n_params, 1.0f - rho);
  dlsc_blend_floats(model->slow + model->n_params, model->stats, model->n_stats, 1.0f - rho);
  dlsc_model_lookahead_sync(model);
}

dlsc_status dlsc_model_lookahead_sync(dlsc_model_t *model) {
  if (!model)
    return DLSC_ERR_INVALID_ARGUMENT;
  if (model->slow_taken) {
    memcpy(model->params, model->slow, model->n_params * sizeof(float));
    memcpy(model->stats, model->slow + model->n_params, model->n_stats * sizeof(float));
  }
  return DLSC_OK;
}

/* ---- batches and losses */

dlsc_status dlsc_batch_check(const dlsc_model_t *model, const dlsc_batch *batch) {
  if (!batch || batch->count == 0 || !batch->inputs || model->n_layers == 0)
    return DLSC_ERR_INVALID_ARGUMENT;
  switch (model->train.loss) {
  case DLSC_LOSS_MSE: return batch->targets ? DLSC_OK : DLSC_ERR_INVALID_ARGUMENT;
  case DLSC_LOSS_MASK_MSE:
    return batch->targets && batch->scales ? DLSC_OK : DLSC_ERR_INVALID_ARGUMENT;
  case DLSC_LOSS_CROSS_ENTROPY: {
    if (!batch->labels)
      return DLSC_ERR_INVALID_ARGUMENT;
    size_t classes = dlsc_model_output_size(model);
    for (size_t i = 0; i < batch->count; i++)
      if (batch->labels[i] < 0 || (size_t)batch->labels[i] >= classes)
        return DLSC_ERR_INVALID_ARGUMENT;
    return DLSC_OK;
  }
  }
  return DLSC_ERR_INVALID_ARGUMENT;
}

static size_t arg_max(const float *values, size_t count) {
  size_t best = 0;
  for (size_t i = 1; i < count; i++)
    if (values[i] > values[best])
      best = i;
  return best;
}

double dlsc_log_sum_exp(const float *z, size_t count, size_t *best) {
  *best = arg_max(z, count);
  double sum = 0.0;
  for (size_t c = 0; c < count; c++)
    sum += exp((double)z[c] - z[*best]);
  return log(sum) + z[*best];
}

/* Softmax cross-entropy against (1 - s) one-hot + s / classes; the gradient per
 * logit is (p - target) / count. */
static double cross_entropy(const float *logits, size_t count, size_t classes,
                            const int32_t *labels, float smoothing, float *dlogits,
                            size_t *correct) {
  double total = 0.0;
  float off = smoothing / (float)classes, on = 1.0f - smoothing + off;
  for (size_t n = 0; n < count; n++) {
    const float *z = logits + n * classes;
    size_t best;
    double log_sum = dlsc_log_sum_exp(z, classes, &best);
    for (size_t c = 0; c < classes; c++) {
      float target = (size_t)labels[n] == c ? on : off;
      double log_p = (double)z[c] - log_sum;
      total -= target * log_p;
      if (dlogits)
        dlogits[n * classes + c] = (float)((exp(log_p) - target) / (double)count);
    }
    *correct += best == (size_t)labels[n];
  }
  return total / (double)count;
}

dlsc_status dlsc_loss_compute(const dlsc_train_config *config, const float *output, size_t count,
                              size_t output_size, const dlsc_batch *batch, float *doutput,
                              double *loss, size_t *correct) {
  *correct = 0;
  if (config->loss == DLSC_LOSS_CROSS_ENTROPY) {
    *loss = cross_entropy(output, count, output_size, batch->labels,
                          doutput ? config->label_smoothing : 0.0f, doutput, correct);
  } else {
    size_t total = count * output_size;
    bool masked = config->loss == DLSC_LOSS_MASK_MSE;
    double sum = 0.0;
    float gradient_scale = 2.0f / (float)total;
    for (size_t i = 0; i < total; i++) {
      float scale = masked ? batch->scales[i] : 1.0f;
      float error = output[i] * scale - batch->targets[i];
      sum += (double)error * error;
      if (doutput)
        doutput[i] = gradient_scale * error * scale;
    }
    *loss = sum / (double)total;
  }
  return isfinite(*loss) ? DLSC_OK : DLSC_ERR_NUMERIC;
}

/* ---- optimizer */

float dlsc_schedule_rate(const dlsc_train_config *config, size_t step) {
  float rate = config->learning_rate;
  if (step < config->warmup_steps)
    return rate * (float)(step + 1) / (float)config->warmup_steps;
  if (config->schedule == DLSC_SCHEDULE_CONSTANT)
    return rate;
  double progress = (double)(step - config->warmup_steps) /
                    (double)(config->total_steps - config->warmup_steps);
  progress = progress > 1.0 ? 1.0 : progress;
  if (config->schedule == DLSC_SCHEDULE_COSINE)
    return (float)(rate * 0.5 * (1.0 + cos(3.14159265358979323846 * progress)));
  return (float)(rate * (1.0 - progress));
}

static bool layer_updates(const dlsc_layer *layer) {
  return !layer->frozen && layer->lr_scale > 0.0f && layer->n_params > 0;
}

dlsc_status dlsc_model_ensure_optimizer(dlsc_model_t *model) {
  if (!model->moment1) {
    float **arrays[] = {&model->moment1, &model->moment2, &model->spare_params,
                        &model->spare_moment1, &model->spare_moment2};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
      if (!(*arrays[i] = dlsc_alloc_floats(model->n_params))) {
        dlsc_model_reset_optimizer(model);
        return DLSC_ERR_OUT_OF_MEMORY;
      }
    model->step = 0;
  }
  if (model->train.lookahead_every && !model->slow &&
      !(model->slow = dlsc_alloc_floats(model->n_params + model->n_stats)))
    return DLSC_ERR_OUT_OF_MEMORY;
  return DLSC_OK;
}

/* Global gradient norm over the layers that update; DLSC_ERR_NUMERIC if not finite.
 * A NaN or infinite gradient makes the sum non-finite, so one pass checks both; four
 * independent sums keep the additions pipelined. */
static dlsc_status gradient_norm(const dlsc_model_t *model, double *norm) {
  double sum[4] = {0.0, 0.0, 0.0, 0.0};
  for (size_t i = 0; i < model->n_layers; i++) {
    const dlsc_layer *layer = &model->layers[i];
    if (!layer_updates(layer))
      continue;
    const float *g = layer->grads;
    size_t j = 0;
    for (; j + 4 <= layer->n_params; j += 4)
      for (size_t k = 0; k < 4; k++)
        sum[k] += (double)g[j + k] * g[j + k];
    for (; j < layer->n_params; j++)
      sum[0] += (double)g[j] * g[j];
  }
  *norm = sqrt(sum[0] + sum[1] + sum[2] + sum[3]);
  return isfinite(*norm) ? DLSC_OK : DLSC_ERR_NUMERIC;
}

/* Moments below FLT_MIN become 0. A parameter whose gradient stays 0 (a dead unit's)
 * would otherwise keep a subnormal moment for good (0.9 times the least subnormal rounds
 * back to it), and x86 takes a microcode assist for each vector holding one: the course
 * `fc-mask` training took 10 % longer, epochs of the shipped denoisers 6-11 % (docs/
 * speed.md). NaN and infinities pass unchanged. A mask on the bits, as a ?: here kept
 * GCC 12 from vectorising the loops (with the bad flag) and a multiplication costs more. */
static inline float flush_subnormal(float x) {
  uint32_t bits;
  memcpy(&bits, &x, sizeof bits);
  bits &= -(uint32_t)((bits & 0x7fffffffu) >= 0x00800000u); /* all ones if normal, inf, NaN */
  memcpy(&x, &bits, sizeof x);
  return x;
}

/* The update of one contiguous range with one weight decay, into the spare arrays.
 * Plain restrict parameters and no branches, so that the loops vectorise; each returns
 * nonzero if a new value is not finite (|x| <= FLT_MAX is false for NaN and inf). */
static int adam_range(const float *restrict p, const float *restrict g, const float *restrict m,
                      const float *restrict v, float *restrict p_new, float *restrict m_new,
                      float *restrict v_new, size_t count, const dlsc_train_config *c,
                      float rate, float decay, float clip, size_t step) {
  float b1 = c->beta1, b2 = c->beta2, eps = c->adam_epsilon;
  float correction1 = (float)(1.0 - pow(c->beta1, (double)step + 1.0));
  float correction2 = (float)(1.0 - pow(c->beta2, (double)step + 1.0));
  float shrink = 1.0f - rate * decay; /* decoupled decay (AdamW) */
  float step_scale = rate / correction1, inv_correction2 = 1.0f / correction2;
  int bad = 0;
  for (size_t j = 0; j < count; j++) {
    float grad = g[j] * clip;
    float m1 = flush_subnormal(b1 * m[j] + (1.0f - b1) * grad);
    float m2 = flush_subnormal(b2 * v[j] + (1.0f - b2) * grad * grad);
    float updated = p[j] * shrink - step_scale * m1 / (sqrtf(m2 * inv_correction2) + eps);
    p_new[j] = updated;
    m_new[j] = m1;
    v_new[j] = m2;
    bad |= !(fabsf(updated) <= FLT_MAX) | !(m2 <= FLT_MAX);
  }
  return bad;
}

static int sgd_range(const float *restrict p, const float *restrict g, const float *restrict m,
                     const float *restrict v, float *restrict p_new, float *restrict m_new,
                     float *restrict v_new, size_t count, const dlsc_train_config *c, float rate,
                     float decay, float clip) {
  float momentum = c->momentum, nesterov = c->nesterov ? 1.0f : 0.0f;
  int bad = 0;
  for (size_t j = 0; j < count; j++) {
    float grad = g[j] * clip + decay * p[j];
    float velocity = flush_subnormal(momentum * m[j] + grad);
    float step = velocity + nesterov * (grad + momentum * velocity - velocity);
    float updated = p[j] - rate * step;
    p_new[j] = updated;
    m_new[j] = velocity;
    v_new[j] = v[j];
    bad |= !(fabsf(updated) <= FLT_MAX) | !(fabsf(velocity) <= FLT_MAX);
  }
  return bad;
}

/* One layer's new parameters and moments at offset of the spare arrays, tensor by
 * tensor at its own rate: the weights (decayed; batch-norm's gamma is not) and then the
 * biases (not decayed). */
static int update_layer(dlsc_model_t *model, const dlsc_layer *layer, size_t offset, float rate,
                        float clip) {
  const dlsc_train_config *c = &model->train;
  size_t split = dlsc_layer_first_tensor(layer);
  int bad = 0;
  for (int part = 0; part < 2; part++) {
    size_t first = offset + (part ? split : 0);
    size_t count = part ? layer->n_params - split : split;
    float decay = part || !layer->n_weights ? 0.0f : c->weight_decay;
    float part_rate = rate * layer->tensor_lr_scale[part];
    const float *g = layer->grads + (first - offset);
    if (c->optimizer == DLSC_OPTIMIZER_ADAM)
      bad |= adam_range(model->params + first, g, model->moment1 + first, model->moment2 + first,
                        model->spare_params + first, model->spare_moment1 + first,
                        model->spare_moment2 + first, count, c, part_rate, decay, clip,
                        model->step);
    else
      bad |= sgd_range(model->params + first, g, model->moment1 + first, model->moment2 + first,
                       model->spare_params + first, model->spare_moment1 + first,
                       model->spare_moment2 + first, count, c, part_rate, decay, clip);
  }
  return bad;
}

dlsc_status dlsc_optimizer_step(dlsc_model_t *model) {
  DLSC_TRY(dlsc_model_ensure_optimizer(model));
  /* Without clipping no pass for the norm: a NaN or infinite gradient makes its new
   * value or moment non-finite (0 times NaN is NaN), which the update refuses. */
  float clip = model->train.gradient_clip, clip_scale = 1.0f;
  if (clip > 0.0f) {
    double norm;
    DLSC_TRY(gradient_norm(model, &norm));
    clip_scale = norm > clip ? (float)(clip / norm) : 1.0f;
  }
  float rate = dlsc_schedule_rate(&model->train, model->step);
  int bad = 0;
  size_t offset = 0;
  for (size_t i = 0; i < model->n_layers; i++) {
    const dlsc_layer *layer = &model->layers[i];
    if (layer_updates(layer)) {
      bad |= update_layer(model, layer, offset, rate * layer->lr_scale, clip_scale);
    } else if (layer->n_params) {
      size_t bytes = layer->n_params * sizeof(float);
      memcpy(model->spare_params + offset, model->params + offset, bytes);
      memcpy(model->spare_moment1 + offset, model->moment1 + offset, bytes);
      memcpy(model->spare_moment2 + offset, model->moment2 + offset, bytes);
    }
    offset += layer->n_params;
  }
  if (bad)
    return DLSC_ERR_NUMERIC;
  float *swap;
#define SWAP(a, b) (swap = (a), (a) = (b), (b) = swap)
  SWAP(model->params, model->spare_params);
  SWAP(model->moment1, model->spare_moment1);
  SWAP(model->moment2, model->spare_moment2);
#undef SWAP
  dlsc_model_bind(model);
  model->step++;
  return DLSC_OK;
}

/* ---- one batch */

static dlsc_status train_batch(dlsc_model_t *model, const dlsc_batch *batch,
                               dlsc_train_stats *stats) {
  size_t count = batch->count, out_size = dlsc_model_output_size(model);
  DLSC_TRY(dlsc_model_reserve(model, count, true));
  DLSC_TRY(dlsc_model_ensure_optimizer(model));
  bool slow_taken = model->slow_taken;
  lookahead_take(model);
  /* Forward passes move batch-norm statistics and the dropout PRNG: keep them. */
  float *saved_stats = model->saved_stats;
  memcpy(saved_stats, model->stats, model->n_stats * sizeof *saved_stats);
  dlsc_rng saved_rng = model->rng;

  const float *output = dlsc_model_forward(model, batch->inputs, count, true);
  double loss;
  size_t correct;
  float *doutput = model->grad_memory[0];
  /* Huge finite inputs can overflow batch-norm's running variance: no infinite
   * statistic may enter the model (it would not even load back from its file). */
  dlsc_status status = dlsc_all_finite(model->stats, model->n_stats) ? DLSC_OK : DLSC_ERR_NUMERIC;
  if (status == DLSC_OK)
    status = dlsc_loss_compute(&model->train, output, count, out_size, batch, doutput, &loss,
                               &correct);
  if (status == DLSC_OK) {
    dlsc_model_backward(model, batch->inputs, doutput, count);
    status = dlsc_optimizer_step(model);
  }
  if (status != DLSC_OK) {
    memcpy(model->stats, saved_stats, model->n_stats * sizeof *saved_stats);
    model->rng = saved_rng;
    model->slow_taken = slow_taken;
    return status;
  }
  lookahead_pull(model);
  if (stats) {
    stats->loss = loss;
    stats->correct = correct;
    stats->count = count;
  }
  return status;
}

dlsc_status dlsc_model_train_batch(dlsc_model_t *model, const dlsc_batch *batch,
                                   dlsc_train_stats *stats) {
  if (!model)
    return DLSC_ERR_INVALID_ARGUMENT;
  DLSC_TRY(dlsc_batch_check(model, batch));
  return train_batch(model, batch, stats);
}

/* ---- epochs: a snapshot taken at the start is restored if any batch fails */

dlsc_status dlsc_model_snapshot(dlsc_model_t *model) {
  DLSC_TRY(dlsc_model_ensure_optimizer(model));
  if (!model->backup && !(model->backup = dlsc_alloc_floats(3 * model->n_params + model->n_stats)))
    return DLSC_ERR_OUT_OF_MEMORY;
  size_t n = model->n_params;
  memcpy(model->backup, model->params, n * sizeof(float));
  memcpy(model->backup + n, model->moment1, n * sizeof(float));
  memcpy(model->backup + 2 * n, model->moment2, n * sizeof(float));
  memcpy(model->backup + 3 * n, model->stats, model->n_stats * sizeof(float));
  model->backup_step = model->step;
  model->backup_rng = model->rng;
  if (model->slow) {
    size_t floats = n + model->n_stats;
    if (!model->slow_backup && !(model->slow_backup = dlsc_alloc_floats(floats)))
      return DLSC_ERR_OUT_OF_MEMORY;
    memcpy(model->slow_backup, model->slow, floats * sizeof(float));
    model->slow_backup_taken = model->slow_taken;
  }
  return DLSC_OK;
}

void dlsc_model_restore(dlsc_model_t *model) {
  size_t n = model->n_params;
  memcpy(model->params, model->backup, n * sizeof(float));
  memcpy(model->moment1, model->backup + n, n * sizeof(float));
  memcpy(model->moment2, model->backup + 2 * n, n * sizeof(float));
  memcpy(model->stats, model->backup + 3 * n, model->n_stats * sizeof(float));
  model->step = model->backup_step;
  model->rng = model->backup_rng;
  if (model->slow) {
    memcpy(model->slow, model->slow_backup, (n + model->n_stats) * sizeof(float));
    model->slow_taken = model->slow_backup_taken;
  }
}

/* The dataset's examples must be the model's inputs, and its labels or targets the
 * model's outputs under the configured loss. */
static dlsc_status check_fit(const dlsc_model_t *model, const dlsc_dataset_t *dataset) {
  dlsc_shape shape;
  DLSC_TRY(dlsc_dataset_input_shape(dataset, &shape));
  if (model->n_layers == 0 || shape.channels != model->input.channels ||
      shape.height != model->input.height || shape.width != model->input.width)
    return DLSC_ERR_SHAPE_MISMATCH;
  size_t out_size = dlsc_model_output_size(model);
  if (model->train.loss == DLSC_LOSS_CROSS_ENTROPY)
    return dlsc_dataset_label_count(dataset) == out_size ? DLSC_OK : DLSC_ERR_SHAPE_MISMATCH;
  return dlsc_dataset_target_size(dataset) == out_size ? DLSC_OK : DLSC_ERR_SHAPE_MISMATCH;
}

static dlsc_status run_epoch(dlsc_model_t *model, dlsc_dataset_t *dataset, size_t count,
                             dlsc_train_stats *total) {
  size_t batch_size = model->train.batch_size, done = 0;
  size_t batches = count / batch_size + (count % batch_size > 1);
  DLSC_TRY(dlsc_dataset_shuffle(dataset));
  for (size_t first = 0; first < count; first += batch_size) {
    size_t n = DLSC_MIN(batch_size, count - first);
    if (n == 1 && batch_size > 1)
      break; /* a lone last example gives batch-norm no statistics */
    dlsc_batch batch;
    dlsc_train_stats stats;
    DLSC_TRY(dlsc_dataset_fill(dataset, first, n, true, true, &batch));
    DLSC_TRY(dlsc_batch_check(model, &batch));
    DLSC_TRY(train_batch(model, &batch, &stats));
    total->loss += stats.loss * (double)n;
    total->correct += stats.correct;
    total->count += n;
    if (model->train.progress) {
      dlsc_train_stats so_far = *total;
      so_far.loss /= (double)so_far.count;
      if (model->train.progress(model->train.progress_user, ++done, batches, &so_far))
        return DLSC_ERR_CANCELLED;
    }
  }
  total->loss /= (double)total->count;
  return DLSC_OK;
}

dlsc_status dlsc_model_train_epoch(dlsc_model_t *model, dlsc_dataset_t *dataset,
                                   dlsc_train_stats *stats) {
  size_t count;
  if (!model || !dataset)
    return DLSC_ERR_INVALID_ARGUMENT;
  DLSC_TRY(dlsc_dataset_count(dataset, &count));
  if (count == 0 || model->train.batch_size > count)
    return DLSC_ERR_INVALID_ARGUMENT;
  DLSC_TRY(check_fit(model, dataset));
  DLSC_TRY(dlsc_model_snapshot(model));
  void *order;
  DLSC_TRY(dlsc_dataset_save_order(dataset, &order));
  dlsc_train_stats total = {0};
  dlsc_status status = run_epoch(model, dataset, count, &total);
  if (status != DLSC_OK) {
    dlsc_model_restore(model);
    dlsc_dataset_restore_order(dataset, order);
    return status;
  }
  free(order);
  dlsc_model_lookahead_sync(model);
  if (stats)
    *stats = total;
  return DLSC_OK;
}

/* ---- evaluation */

dlsc_status dlsc_model_evaluate(dlsc_model_t *model, dlsc_dataset_t *dataset,
                                dlsc_eval_stats *stats, size_t *confusion) {
  size_t count;
  if (!model || !dataset || !stats)
    return DLSC_ERR_INVALID_ARGUMENT;
  DLSC_TRY(dlsc_dataset_count(dataset, &count));
  if (count == 0)
    return DLSC_ERR_INVALID_ARGUMENT;
  DLSC_TRY(check_fit(model, dataset));
  bool classes = model->train.loss == DLSC_LOSS_CROSS_ENTROPY;
  if (confusion && !classes)
    return DLSC_ERR_INVALID_ARGUMENT;
  size_t out_size = dlsc_model_output_size(model);
  size_t batch_size = DLSC_MIN(count, (size_t)DLSC_INFERENCE_BATCH);
  DLSC_TRY(dlsc_model_reserve(model, batch_size, false));
  size_t *counts = NULL;
  if (confusion && !(counts = dlsc_alloc_array(out_size * out_size, sizeof *counts)))
    return DLSC_ERR_OUT_OF_MEMORY;
  double loss_sum = 0.0;
  size_t correct_sum = 0;
  dlsc_status status = DLSC_OK;
  for (size_t first = 0; first < count && status == DLSC_OK; first += batch_size) {
    size_t n = DLSC_MIN(batch_size, count - first), correct;
    dlsc_batch batch;
    double loss;
    status = dlsc_dataset_fill(dataset, first, n, false, false, &batch);
    if (status == DLSC_OK)
      status = dlsc_batch_check(model, &batch);
    if (status != DLSC_OK)
      break;
    const float *output = dlsc_model_forward(model, batch.inputs, n, false);
    status = dlsc_loss_compute(&model->train, output, n, out_size, &batch, NULL, &loss, &correct);
    loss_sum += loss * (double)n;
    correct_sum += correct;
    for (size_t i = 0; counts && i < n; i++)
      counts[(size_t)batch.labels[i] * out_size + arg_max(output + i * out_size, out_size)]++;
  }
  if (status == DLSC_OK) {
    stats->loss = loss_sum / (double)count;
    stats->accuracy = classes ? (double)correct_sum / (double)count : 0.0;
    stats->count = count;
    if (confusion)
      memcpy(confusion, counts, out_size * out_size * sizeof *counts);
  }
  free(counts);
  return status;
}
