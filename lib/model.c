/* The model: a stack of layers over one parameter array, with workspaces sized once
 * per batch size and reused by every forward and backward pass. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Inputs and layer outputs larger than this many floats per example are refused:
 * they point at a mistaken shape long before they point at a real model. */
#define MAX_EXAMPLE_FLOATS ((size_t)1 << 28)

dlsc_status dlsc_model_create(dlsc_shape input, uint64_t seed, dlsc_model_t **out) {
  size_t plane, size;
  if (!out || input.channels == 0 || input.height == 0 || input.width == 0 ||
      dlsc_mul_overflows(input.height, input.width, &plane) ||
      dlsc_mul_overflows(plane, input.channels, &size) || size > MAX_EXAMPLE_FLOATS)
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_model_t *model = calloc(1, sizeof *model);
  if (!model)
    return DLSC_ERR_OUT_OF_MEMORY;
  model->input = input;
  model->seed = seed;
  dlsc_rng_seed(&model->rng, seed, 0x6d6f64656cULL /* "model" */);
  dlsc_train_config_init(&model->train);
  model->attenuation_limit_db = INFINITY;
  *out = model;
  return DLSC_OK;
}

/* The workspace: activations and scratch for a batch size, and for training also the
 * parameter gradients, the gradients flowing between layers, the layers' auxiliary
 * memory and a copy of the batch-norm statistics. Inference-only models never hold the
 * training parts. */
static void free_workspace(dlsc_model_t *model) {
  free(model->grads);
  model->grads = NULL;
  dlsc_model_bind(model);
  free(model->acts);
  free(model->act_memory);
  free(model->grad_memory[0]);
  free(model->grad_memory[1]);
  free(model->aux_memory);
  free(model->scratch);
  free(model->saved_stats);
  model->acts = NULL;
  model->act_memory = model->grad_memory[0] = model->grad_memory[1] = NULL;
  model->aux_memory = model->scratch = model->saved_stats = NULL;
  model->batch_capacity = 0;
  for (size_t i = 0; i < model->n_layers; i++)
    model->layers[i].aux = NULL;
}

void dlsc_model_reset_optimizer(dlsc_model_t *model) {
  free(model->moment1);
  free(model->moment2);
  free(model->spare_params);
  free(model->spare_moment1);
  free(model->spare_moment2);
  free(model->backup);
  free(model->slow);
  free(model->slow_backup);
  model->slow = model->slow_backup = NULL;
  model->slow_taken = model->slow_backup_taken = false;
  model->moment1 = model->moment2 = NULL;
  model->spare_params = model->spare_moment1 = model->spare_moment2 = model->backup = NULL;
  model->step = 0;
}

void dlsc_model_destroy(dlsc_model_t *model) {
  if (!model)
    return;
  free_workspace(model);
  dlsc_model_reset_optimizer(model);
  free(model->layers);
  free(model->params);
  free(model->stats);
  for (size_t i = 0; i < model->n_meta; i++) {
    free(model->meta[i].key);
    free(model->meta[i].value);
  }
  free(model->meta);
  free(model);
}

/* Points every layer's views at the model's arrays. */
void dlsc_model_bind(dlsc_model_t *model) {
  size_t param_offset = 0, stat_offset = 0;
  for (size_t i = 0; i < model->n_layers; i++) {
    dlsc_layer *layer = &model->layers[i];
    layer->params = model->params + param_offset;
    layer->grads = model->grads ? model->grads + param_offset : NULL;
    layer->stats = model->stats + stat_offset;
    param_offset += layer->n_params;
    stat_offset += layer->n_stats;
  }
}

/* Grows a float array from old_count to new_count keeping its contents. */
static float *grow_floats(const float *old, size_t old_count, size_t new_count) {
  float *grown = dlsc_alloc_floats(new_count);
  if (grown && old_count)
    memcpy(grown, old, old_count * sizeof *grown);
  return grown;
}

dlsc_status dlsc_model_add_layer(dlsc_model_t *model, const dlsc_layer_config *user_config) {
  return dlsc_model_append_layer(model, user_config, SIZE_MAX);
}

dlsc_status dlsc_model_append_layer(dlsc_model_t *model, const dlsc_layer_config *user_config,
                                    size_t max_floats) {
  if (!model || !user_config || user_config->struct_size < offsetof(dlsc_layer_config, units) ||
      model->n_layers >= DLSC_MAX_LAYERS)
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_layer layer = {0};
  DLSC_TRY(dlsc_layer_config_init(&layer.config, user_config->kind));
  DLSC_TRY(dlsc_import_config(&layer.config, sizeof layer.config, user_config));
  DLSC_TRY(dlsc_layer_config_canonical(&layer.config));
  layer.config.struct_size = sizeof layer.config;
  layer.ops = dlsc_layer_ops_for(layer.config.kind);
  layer.in = model->n_layers ? model->layers[model->n_layers - 1].out : model->input;
  layer.in_size = dlsc_shape_size(layer.in);
  layer.lr_scale = 1.0f;
  layer.tensor_lr_scale[0] = layer.tensor_lr_scale[1] = 1.0f;
  DLSC_TRY(layer.ops->setup(&layer));
  size_t plane, out_size;
  /* the file stores each layer's parameter and statistic counts as u32 */
  if (dlsc_mul_overflows(layer.out.height, layer.out.width, &plane) ||
      dlsc_mul_overflows(plane, layer.out.channels, &out_size) || out_size == 0 ||
      out_size > MAX_EXAMPLE_FLOATS || layer.n_params > SIZE_MAX / 4 - model->n_params ||
      layer.n_params > UINT32_MAX || layer.n_stats > UINT32_MAX ||
      layer.n_params > max_floats || layer.n_stats > max_floats - layer.n_params)
    return DLSC_ERR_SHAPE_MISMATCH;
  layer.out_size = out_size;

  if (model->n_layers == model->layer_capacity) {
    size_t capacity = model->layer_capacity ? 2 * model->layer_capacity : 8;
    dlsc_layer *layers = realloc(model->layers, capacity * sizeof *layers);
    if (!layers)
      return DLSC_ERR_OUT_OF_MEMORY;
    model->layers = layers;
    model->layer_capacity = capacity;
  }
  size_t n_params = model->n_params + layer.n_params, n_stats = model->n_stats + layer.n_stats;
  float *params = grow_floats(model->params, model->n_params, n_params);
  float *stats = grow_floats(model->stats, model->n_stats, n_stats);
  if (!params || !stats) {
    free(params);
    free(stats);
    return DLSC_ERR_OUT_OF_MEMORY;
  }
  free_workspace(model);
  dlsc_model_reset_optimizer(model); /* the moments no longer match the parameters */
  free(model->params);
  free(model->stats);
  model->params = params;
  model->stats = stats;
  model->n_params = n_params;
  model->n_stats = n_stats;
  model->layers[model->n_layers++] = layer;
  dlsc_model_bind(model);
  dlsc_layer *added = &model->layers[model->n_layers - 1];
  if (added->ops->init)
    added->ops->init(added, &model->rng);
  return DLSC_OK;
}

static dlsc_status copy_string(char **dst, const char *src) {
  size_t length = strlen(src) + 1;
  *dst = malloc(length);
  if (!*dst)
    return DLSC_ERR_OUT_OF_MEMORY;
  memcpy(*dst, src, length);
  return DLSC_OK;
}

dlsc_status dlsc_model_clone(const dlsc_model_t *model, dlsc_model_t **out) {
  if (!model || !out)
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_model_t *copy;
  DLSC_TRY(dlsc_model_create(model->input, model->seed, &copy));
  dlsc_status status = DLSC_OK;
  for (size_t i = 0; i < model->n_layers && status == DLSC_OK; i++)
    status = dlsc_model_add_layer(copy, &model->layers[i].config);
  for (size_t i = 0; i < model->n_meta && status == DLSC_OK; i++)
    status = dlsc_model_set_metadata(copy, model->meta[i].key, model->meta[i].value);
  if (status != DLSC_OK) {
    dlsc_model_destroy(copy);
    return status;
  }
  memcpy(copy->params, model->params, model->n_params * sizeof *copy->params);
  memcpy(copy->stats, model->stats, model->n_stats * sizeof *copy->stats);
  for (size_t i = 0; i < model->n_layers; i++) {
    copy->layers[i].lr_scale = model->layers[i].lr_scale;
    memcpy(copy->layers[i].tensor_lr_scale, model->layers[i].tensor_lr_scale,
           sizeof copy->layers[i].tensor_lr_scale);
    copy->layers[i].frozen = model->layers[i].frozen;
  }
  copy->rng = model->rng;
  copy->train = model->train;
  copy->has_denoise = model->has_denoise;
  copy->denoise = model->denoise;
  copy->attenuation_limit_db = model->attenuation_limit_db;
  *out = copy;
  return DLSC_OK;
}

dlsc_status dlsc_model_get_info(const dlsc_model_t *model, dlsc_model_info *info) {
  if (!model || !info)
    return DLSC_ERR_INVALID_ARGUMENT;
  info->n_layers = model->n_layers;
  info->input = model->input;
  info->output = model->n_layers ? model->layers[model->n_layers - 1].out : model->input;
  info->n_parameters = model->n_params;
  return DLSC_OK;
}

dlsc_status dlsc_model_get_layer(const dlsc_model_t *model, size_t index,
                                 dlsc_layer_config *config, dlsc_shape *output) {
  if (!model || index >= model->n_layers || (!config && !output))
    return DLSC_ERR_INVALID_ARGUMENT;
  if (config) {
    if (config->struct_size < sizeof(size_t))
      return DLSC_ERR_INVALID_ARGUMENT;
    size_t size = config->struct_size;
    memcpy((char *)config + sizeof(size_t),
           (const char *)&model->layers[index].config + sizeof(size_t),
           DLSC_MIN(size, sizeof(dlsc_layer_config)) - sizeof(size_t));
  }
  if (output)
    *output = model->layers[index].out;
  return DLSC_OK;
}

size_t dlsc_model_output_size(const dlsc_model_t *model) {
  return model->n_layers ? model->layers[model->n_layers - 1].out_size
                         : dlsc_shape_size(model->input);
}

/* ---- workspaces */

typedef struct workspace_size {
  size_t activations; /* training: every layer's outputs; inference: two alternating buffers */
  size_t largest;     /* the largest layer output (or input) of the batch */
  size_t aux, scratch;
} workspace_size;

/* The workspace's arrays in floats; false if a size overflows. */
static bool size_workspace(const dlsc_model_t *model, size_t batch, bool training,
                           workspace_size *size) {
  size_t act_floats = 0, max_floats = dlsc_shape_size(model->input), aux_floats = 0;
  size_t scratch_floats = 1;
  for (size_t i = 0; i < model->n_layers; i++) {
    const dlsc_layer *layer = &model->layers[i];
    act_floats += layer->out_size;
    max_floats = DLSC_MAX(max_floats, layer->out_size);
    if (training && layer->ops->aux_floats)
      aux_floats += layer->ops->aux_floats(layer, batch);
    if (layer->ops->scratch_floats)
      scratch_floats = DLSC_MAX(scratch_floats, layer->ops->scratch_floats(layer, batch));
  }
  size->aux = aux_floats;
  size->scratch = scratch_floats;
  return !dlsc_mul_overflows(training ? act_floats : 2 * max_floats, batch, &size->activations) &&
         !dlsc_mul_overflows(max_floats, batch, &size->largest);
}

size_t dlsc_model_inference_floats(const dlsc_model_t *model, size_t batch) {
  workspace_size size;
  if (!size_workspace(model, batch, false, &size) ||
      size.activations > SIZE_MAX - size.scratch)
    return SIZE_MAX;
  return size.activations + size.scratch;
}

/* ---- memory: what dlsc_model_reserve, dlsc_model_ensure_optimizer and
 * dlsc_model_snapshot allocate, and the weights */

/* Adds the bytes of an allocation of count floats to *total; false past SIZE_MAX. */
static bool add_floats(size_t *total, size_t count) {
  size_t bytes;
  if (!dlsc_float_bytes(count, &bytes) || bytes > SIZE_MAX - *total)
    return false;
  *total += bytes;
  return true;
}

dlsc_status dlsc_model_memory(const dlsc_model_t *model, size_t count, int training,
                              size_t *bytes) {
  if (!model || count == 0 || (training != 0 && training != 1) || !bytes)
    return DLSC_ERR_INVALID_ARGUMENT;
  size_t batch = training ? count : DLSC_MIN(count, (size_t)DLSC_INFERENCE_BATCH);
  size_t n = model->n_params, stats = model->n_stats;
  size_t total = (model->n_layers + 1) * sizeof(float *); /* the activations' pointers */
  workspace_size size;
  bool fits = size_workspace(model, batch, training, &size) &&
              add_floats(&total, size.activations) && add_floats(&total, size.scratch);
  if (model->n_layers)
    fits = fits && add_floats(&total, n) && add_floats(&total, stats);
  if (training) {
    /* the gradients: of the parameters, the two flowing between layers; the layers'
     * auxiliary memory; the statistics saved before a batch */
    fits = fits && add_floats(&total, n) && add_floats(&total, size.largest) &&
           add_floats(&total, size.largest) && add_floats(&total, size.aux) &&
           add_floats(&total, stats);
    /* the moments, their spares and the spare parameters */
    for (int i = 0; i < 5; i++)
      fits = fits && add_floats(&total, n);
    /* the epoch's snapshot (parameters, moments, statistics), lookahead's slow copy
     * and its snapshot (parameters, statistics) */
    fits = fits && n <= (SIZE_MAX - stats) / 3 && add_floats(&total, 3 * n + stats);
    if (model->train.lookahead_every)
      fits = fits && add_floats(&total, n + stats) && add_floats(&total, n + stats);
  }
  *bytes = fits ? total : SIZE_MAX;
  return DLSC_OK;
}

dlsc_status dlsc_model_multiply_adds(const dlsc_model_t *model, uint64_t *count) {
  if (!model || !count)
    return DLSC_ERR_INVALID_ARGUMENT;
  uint64_t total = 0;
  for (size_t i = 0; i < model->n_layers; i++) {
    const dlsc_layer *layer = &model->layers[i]; /* each weight once per output position */
    uint64_t positions = (uint64_t)layer->out.height * layer->out.width, products;
    if (layer->n_weights && positions > UINT64_MAX / layer->n_weights)
      products = UINT64_MAX;
    else
      products = (uint64_t)layer->n_weights * positions;
    total = products > UINT64_MAX - total ? UINT64_MAX : total + products;
  }
  *count = total;
  return DLSC_OK;
}

dlsc_status dlsc_model_reserve(dlsc_model_t *model, size_t batch, bool training) {
  if (batch <= model->batch_capacity && (model->workspace_training || !training))
    return DLSC_OK;
  free_workspace(model);
  workspace_size size;
  if (!size_workspace(model, batch, training, &size))
    return DLSC_ERR_OUT_OF_MEMORY;
  model->acts = dlsc_alloc_array(model->n_layers + 1, sizeof *model->acts);
  model->act_memory = dlsc_alloc_floats(size.activations);
  model->scratch = dlsc_alloc_floats(size.scratch);
  if (training) {
    model->grads = dlsc_alloc_floats(model->n_params);
    model->grad_memory[0] = dlsc_alloc_floats(size.largest);
    model->grad_memory[1] = dlsc_alloc_floats(size.largest);
    model->aux_memory = dlsc_alloc_floats(size.aux);
    model->saved_stats = dlsc_alloc_floats(model->n_stats);
  }
  if (!model->acts || !model->act_memory || !model->scratch ||
      (training && (!model->grads || !model->grad_memory[0] || !model->grad_memory[1] ||
                    !model->aux_memory || !model->saved_stats))) {
    free_workspace(model);
    return DLSC_ERR_OUT_OF_MEMORY;
  }
  size_t offset = 0, aux_offset = 0;
  for (size_t i = 0; i < model->n_layers; i++) {
    dlsc_layer *layer = &model->layers[i];
    if (training) {
      model->acts[i] = model->act_memory + offset;
      offset += batch * layer->out_size;
      layer->aux = model->aux_memory + aux_offset;
      if (layer->ops->aux_floats)
        aux_offset += layer->ops->aux_floats(layer, batch);
    } else {
      model->acts[i] = model->act_memory + (i % 2) * size.largest;
    }
  }
  dlsc_model_bind(model); /* the gradients' views */
  model->batch_capacity = batch;
  model->workspace_training = training;
  return DLSC_OK;
}

/* ---- passes */

/* A batch-norm layer followed by a ReLU runs as one pass that writes the ReLU's output
 * (the same floats: dlsc_exec.relu_after), for a pass over the activations fewer (the
 * mid CIFAR CNN's inference spent 6 % in the ReLUs). Its output goes to the ReLU's
 * buffer; its own stays unwritten, which backward allows: batch-norm's reads its input,
 * the ReLU's its output. With inference's two alternating buffers the ReLU's is the one
 * batch-norm's input is in (batch-norm runs in place, plane by plane), so the layers
 * after keep theirs. */
static bool fuses_relu(const dlsc_model_t *model, size_t i, size_t end) {
  return i + 1 < end && model->layers[i].config.kind == DLSC_LAYER_BATCHNORM &&
         model->layers[i + 1].config.kind == DLSC_LAYER_RELU;
}

const float *dlsc_model_forward_range(dlsc_model_t *model, size_t first, size_t end,
                                      const float *inputs, size_t count, bool training) {
  dlsc_exec exec = {training, &model->rng, model->scratch, false};
  const float *x = inputs;
  for (size_t i = first; i < end; i++) {
    dlsc_layer *layer = &model->layers[i];
    exec.relu_after = fuses_relu(model, i, end);
    size_t slot = exec.relu_after ? i + 1 : i;
    layer->ops->forward(layer, x, model->acts[slot], count, &exec);
    x = model->acts[slot];
    i = slot;
  }
  return x;
}

const float *dlsc_model_forward_from(dlsc_model_t *model, size_t first, const float *inputs,
                                     size_t count, bool training) {
  return dlsc_model_forward_range(model, first, model->n_layers, inputs, count, training);
}

const float *dlsc_model_forward(dlsc_model_t *model, const float *inputs, size_t count,
                                bool training) {
  return dlsc_model_forward_from(model, 0, inputs, count, training);
}

/* In inference, element-wise layers, batch-norm of one channel and pooling one row
 * high treat every row of a one-channel input alike and alone. */
static bool row_local(const dlsc_layer *layer) {
  const dlsc_layer_config *c = &layer->config;
  if (layer->in.channels != 1)
    return false;
  switch (c->kind) {
  case DLSC_LAYER_MAXPOOL:
  case DLSC_LAYER_AVGPOOL:
    return c->kernel_h == 1 && c->stride_h == 1 && c->pad_h == 0;
  case DLSC_LAYER_BATCHNORM:
  case DLSC_LAYER_DROPOUT:
  case DLSC_LAYER_RELU:
  case DLSC_LAYER_GELU:
  case DLSC_LAYER_SIGMOID:
  case DLSC_LAYER_TANH:
  case DLSC_LAYER_SOFTPLUS:
  case DLSC_LAYER_LOG:
    return true;
  default:
    return false;
  }
}

size_t dlsc_model_row_prefix(const dlsc_model_t *model, size_t *row_width) {
  size_t n = 0;
  while (n < model->n_layers && row_local(&model->layers[n]))
    n++;
  *row_width = n ? model->layers[n - 1].out.width : model->input.width;
  return n;
}

const float *dlsc_model_forward_rows(dlsc_model_t *model, size_t n_prefix, const float *rows,
                                     size_t n_rows) {
  dlsc_exec exec = {false, &model->rng, model->scratch, false};
  const float *x = rows;
  for (size_t i = 0; i < n_prefix; i++) {
    dlsc_layer row = model->layers[i]; /* the layer seen on a one-row input */
    row.in.height = row.out.height = 1;
    row.in_size = row.in.width;
    row.out_size = row.out.width;
    row.ops->forward(&row, x, model->acts[i], n_rows, &exec);
    x = model->acts[i];
  }
  return x;
}

/* The lowest layer whose parameters train; layers below it need no gradients. */
static size_t first_trainable(const dlsc_model_t *model) {
  for (size_t i = 0; i < model->n_layers; i++)
    if (!model->layers[i].frozen && model->layers[i].n_params > 0)
      return i;
  return model->n_layers;
}

void dlsc_model_backward(dlsc_model_t *model, const float *inputs, const float *doutput,
                         size_t count) {
  dlsc_exec exec = {true, &model->rng, model->scratch, false};
  size_t lowest = first_trainable(model);
  const float *dy = doutput;
  for (size_t i = model->n_layers; i-- > lowest;) {
    dlsc_layer *layer = &model->layers[i];
    const float *x = i ? model->acts[i - 1] : inputs;
    float *dx = NULL;
    if (i > lowest)
      dx = dy == model->grad_memory[0] ? model->grad_memory[1] : model->grad_memory[0];
    layer->ops->backward(layer, x, model->acts[i], dy, dx, count, &exec);
    dy = dx;
  }
}

dlsc_status dlsc_model_predict(dlsc_model_t *model, const float *inputs, size_t count,
                               float *outputs) {
  if (!model || !inputs || !outputs || count == 0)
    return DLSC_ERR_INVALID_ARGUMENT;
  size_t in_size = dlsc_shape_size(model->input), out_size = dlsc_model_output_size(model);
  size_t total;
  if (dlsc_mul_overflows(count, in_size, &total))
    return DLSC_ERR_INVALID_ARGUMENT;
  if (!dlsc_all_finite(inputs, total))
    return DLSC_ERR_NUMERIC;
  size_t batch = DLSC_MIN(count, (size_t)DLSC_INFERENCE_BATCH);
  DLSC_TRY(dlsc_model_reserve(model, batch, false)); /* a training workspace serves too */
  for (size_t first = 0; first < count; first += batch) {
    size_t n = DLSC_MIN(batch, count - first);
    const float *y = dlsc_model_forward(model, inputs + first * in_size, n, false);
    if (!dlsc_all_finite(y, n * out_size))
      return DLSC_ERR_NUMERIC; /* no silent infinity from a model that overflows */
    memcpy(outputs + first * out_size, y, n * out_size * sizeof *y);
  }
  return DLSC_OK;
}

/* The scores of count images given as bytes (0..255), DLSC_INFERENCE_BATCH at a time
 * through a float buffer of that many images. */
static dlsc_status predict_bytes(dlsc_model_t *model, const uint8_t *bytes, size_t count,
                                 float *outputs) {
  size_t in_size = dlsc_shape_size(model->input), out_size = dlsc_model_output_size(model);
  size_t batch = DLSC_MIN(count, (size_t)DLSC_INFERENCE_BATCH), total;
  if (dlsc_mul_overflows(count, in_size, &total))
    return DLSC_ERR_INVALID_ARGUMENT;
  float *inputs = dlsc_alloc_floats(batch * in_size);
  if (!inputs)
    return DLSC_ERR_OUT_OF_MEMORY;
  dlsc_status status = DLSC_OK;
  for (size_t first = 0; status == DLSC_OK && first < count; first += batch) {
    size_t n = DLSC_MIN(batch, count - first);
    dlsc_bytes_to_unit(bytes + first * in_size, n * in_size, inputs);
    status = dlsc_model_predict(model, inputs, n, outputs + first * out_size);
  }
  free(inputs);
  return status;
}

/* dlsc_model_classify and _u8: inputs or bytes. */
static dlsc_status classify(dlsc_model_t *model, const float *inputs, const uint8_t *bytes,
                            size_t count, int32_t *labels, float *probabilities) {
  if (!model || (!inputs && !bytes) || (!labels && !probabilities) || count == 0)
    return DLSC_ERR_INVALID_ARGUMENT;
  size_t classes = dlsc_model_output_size(model), total;
  if (classes < 2 || classes > INT32_MAX)
    return DLSC_ERR_SHAPE_MISMATCH;
  if (dlsc_mul_overflows(count, classes, &total))
    return DLSC_ERR_INVALID_ARGUMENT;
  float *logits = dlsc_alloc_floats(total);
  if (!logits)
    return DLSC_ERR_OUT_OF_MEMORY;
  /* predict refuses scores that overflow (DLSC_ERR_NUMERIC): no class can be named */
  dlsc_status status = inputs ? dlsc_model_predict(model, inputs, count, logits)
                              : predict_bytes(model, bytes, count, logits);
  for (size_t i = 0; status == DLSC_OK && i < count; i++) {
    const float *z = logits + i * classes;
    size_t best;
    double log_sum = dlsc_log_sum_exp(z, classes, &best);
    if (labels)
      labels[i] = (int32_t)best;
    for (size_t c = 0; probabilities && c < classes; c++)
      probabilities[i * classes + c] = (float)exp((double)z[c] - log_sum);
  }
  free(logits);
  return status;
}

dlsc_status dlsc_model_classify(dlsc_model_t *model, const float *inputs, size_t count,
                                int32_t *labels, float *probabilities) {
  return classify(model, inputs, NULL, count, labels, probabilities);
}

dlsc_status dlsc_model_classify_u8(dlsc_model_t *model, const uint8_t *pixels, size_t count,
                                   int32_t *labels, float *probabilities) {
  return classify(model, NULL, pixels, count, labels, probabilities);
}

/* ---- metadata */

#define MAX_KEY 63
#define MAX_VALUE 4095

bool dlsc_metadata_key_valid(const char *key) {
  size_t length = strlen(key);
  if (length == 0 || length > MAX_KEY)
    return false;
  for (size_t i = 0; i < length; i++)
    if (key[i] <= ' ' || key[i] > '~' || key[i] == '=')
      return false;
  return true;
}

static dlsc_meta_entry *find_meta(const dlsc_model_t *model, const char *key) {
  for (size_t i = 0; i < model->n_meta; i++)
    if (strcmp(model->meta[i].key, key) == 0)
      return &model->meta[i];
  return NULL;
}

dlsc_status dlsc_model_set_metadata(dlsc_model_t *model, const char *key, const char *value) {
  if (!model || !key || !value || !dlsc_metadata_key_valid(key) ||
      strnlen(value, MAX_VALUE + 1) > MAX_VALUE)
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_meta_entry *entry = find_meta(model, key);
  if (!entry && model->n_meta >= DLSC_MAX_METADATA)
    return DLSC_ERR_INVALID_ARGUMENT;
  char *copy;
  DLSC_TRY(copy_string(&copy, value));
  if (entry) {
    free(entry->value);
    entry->value = copy;
    return DLSC_OK;
  }
  dlsc_meta_entry *grown = realloc(model->meta, (model->n_meta + 1) * sizeof *grown);
  char *key_copy = NULL;
  if (!grown || copy_string(&key_copy, key) != DLSC_OK) {
    if (grown)
      model->meta = grown;
    free(copy);
    return DLSC_ERR_OUT_OF_MEMORY;
  }
  model->meta = grown;
  model->meta[model->n_meta++] = (dlsc_meta_entry){key_copy, copy};
  return DLSC_OK;
}

/* text with its NUL into out, or its size with out NULL (the metadata getters) */
static dlsc_status copy_out(const char *text, char *out, size_t capacity, size_t *length) {
  size_t needed = strlen(text) + 1;
  if (length)
    *length = needed;
  if (!out)
    return DLSC_OK; /* a size query */
  if (capacity < needed)
    return DLSC_ERR_BUFFER_TOO_SMALL;
  memcpy(out, text, needed);
  return DLSC_OK;
}

dlsc_status dlsc_model_get_metadata(const dlsc_model_t *model, const char *key, char *value,
                                    size_t capacity, size_t *length) {
  if (!model || !key || (!value && capacity))
    return DLSC_ERR_INVALID_ARGUMENT;
  const dlsc_meta_entry *entry = find_meta(model, key);
  if (!entry)
    return DLSC_ERR_NOT_FOUND;
  return copy_out(entry->value, value, capacity, length);
}

dlsc_status dlsc_model_get_metadata_key(const dlsc_model_t *model, size_t index, char *key,
                                        size_t capacity, size_t *length) {
  if (!model || (!key && capacity))
    return DLSC_ERR_INVALID_ARGUMENT;
  if (index >= model->n_meta)
    return DLSC_ERR_NOT_FOUND;
  return copy_out(model->meta[index].key, key, capacity, length);
}

/* ---- training controls */

dlsc_status dlsc_model_set_layer_lr_scale(dlsc_model_t *model, size_t index, float scale) {
  if (!model || index >= model->n_layers || !(scale >= 0.0f) || !(scale < 1e6f))
    return DLSC_ERR_INVALID_ARGUMENT;
  model->layers[index].lr_scale = scale;
  return DLSC_OK;
}

size_t dlsc_layer_first_tensor(const dlsc_layer *layer) {
  return layer->config.kind == DLSC_LAYER_BATCHNORM ? layer->n_params / 2 : layer->n_weights;
}

dlsc_status dlsc_model_set_tensor_lr_scale(dlsc_model_t *model, size_t index, dlsc_tensor tensor,
                                           float scale) {
  if (!model || index >= model->n_layers || (unsigned)tensor > DLSC_TENSOR_BIASES ||
      !(scale >= 0.0f) || !(scale < 1e6f))
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_layer *layer = &model->layers[index];
  size_t first = dlsc_layer_first_tensor(layer);
  if ((tensor == DLSC_TENSOR_WEIGHTS ? first : layer->n_params - first) == 0)
    return DLSC_ERR_INVALID_ARGUMENT;
  layer->tensor_lr_scale[tensor] = scale;
  return DLSC_OK;
}

dlsc_status dlsc_model_set_layer_frozen(dlsc_model_t *model, size_t index, int frozen) {
  if (!model || index >= model->n_layers)
    return DLSC_ERR_INVALID_ARGUMENT;
  model->layers[index].frozen = frozen != 0;
  return DLSC_OK;
}
