/* The model file format (docs/model-format.md): little-endian, versioned, CRC-32
 * protected. The reader checks size and checksum before it parses anything, then
 * rebuilds the model through the same validation as dlsc_model_add_layer. */
#include "format.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT_VERSION 1u
static const unsigned char magic[8] = {'D', 'L', 'S', 'C', 'M', 'O', 'D', 'L'};

static void write_model(const dlsc_model_t *model, dlsc_writer *w, uint64_t total) {
  dlsc_put_head(w, magic, FORMAT_VERSION, total);
  dlsc_put_u32(w, (uint32_t)model->input.channels);
  dlsc_put_u32(w, (uint32_t)model->input.height);
  dlsc_put_u32(w, (uint32_t)model->input.width);
  dlsc_put_u32(w, (uint32_t)model->n_layers);
  for (size_t i = 0; i < model->n_layers; i++) {
    const dlsc_layer *layer = &model->layers[i];
    const dlsc_layer_config *c = &layer->config;
    size_t fields[] = {c->kind,     c->units,    c->kernel_h, c->kernel_w, c->stride_h,
                       c->stride_w, c->pad_h,    c->pad_w,    (size_t)c->bias};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
      dlsc_put_u32(w, (uint32_t)fields[f]);
    dlsc_put_f32(w, c->rate);
    dlsc_put_f32(w, c->epsilon);
    dlsc_put_f32(w, c->momentum);
    dlsc_put_u32(w, (uint32_t)layer->n_params);
    dlsc_put_u32(w, (uint32_t)layer->n_stats);
  }
  dlsc_put_u32(w, model->has_denoise);
  if (model->has_denoise) {
    const dlsc_denoise_config *d = &model->denoise;
    size_t fields[] = {d->n_fft, d->hop_length, d->window, d->context_before, d->context_after,
                       (size_t)d->mask};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
      dlsc_put_u32(w, (uint32_t)fields[f]);
  }
  dlsc_put_u32(w, (uint32_t)model->n_meta);
  for (size_t i = 0; i < model->n_meta; i++) {
    dlsc_put_string(w, model->meta[i].key);
    dlsc_put_string(w, model->meta[i].value);
  }
  for (size_t i = 0; i < model->n_layers; i++) {
    const dlsc_layer *layer = &model->layers[i];
    for (size_t j = 0; j < layer->n_params; j++)
      dlsc_put_f32(w, layer->params[j]);
    for (size_t j = 0; j < layer->n_stats; j++)
      dlsc_put_f32(w, layer->stats[j]);
  }
  dlsc_put_crc(w);
}

dlsc_status dlsc_model_save(const dlsc_model_t *model, void *buffer, size_t capacity,
                            size_t *size) {
  if (!model || !size || (!buffer && capacity))
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_writer counter = {NULL, 0};
  write_model(model, &counter, 0);
  *size = counter.length;
  if (!buffer)
    return DLSC_OK;
  if (capacity < counter.length)
    return DLSC_ERR_BUFFER_TOO_SMALL;
  dlsc_writer w = {buffer, 0};
  write_model(model, &w, counter.length);
  return DLSC_OK;
}

/* ---- reading */

static uint32_t float_bits(float value) {
  uint32_t bits;
  memcpy(&bits, &value, sizeof bits);
  return bits;
}

/* Builder statuses about shapes or values mean the bytes describe no valid model. */
static dlsc_status as_format_error(dlsc_status status) {
  return status == DLSC_ERR_OUT_OF_MEMORY || status == DLSC_OK ? status : DLSC_ERR_BAD_FORMAT;
}

static dlsc_status read_layers(dlsc_reader *r, dlsc_model_t *model, uint32_t n_layers) {
  for (uint32_t i = 0; i < n_layers; i++) {
    uint32_t fields[9];
    for (size_t f = 0; f < 9; f++)
      fields[f] = dlsc_get_u32(r);
    float rate = dlsc_get_f32(r), epsilon = dlsc_get_f32(r), momentum = dlsc_get_f32(r);
    uint32_t n_params = dlsc_get_u32(r), n_stats = dlsc_get_u32(r);
    if (r->failed || !dlsc_layer_ops_for((dlsc_layer_kind)fields[0]) || fields[8] > 1)
      return DLSC_ERR_BAD_FORMAT;
    dlsc_layer_config c;
    dlsc_layer_config_init(&c, (dlsc_layer_kind)fields[0]);
    c.units = fields[1];
    c.kernel_h = fields[2];
    c.kernel_w = fields[3];
    c.stride_h = fields[4];
    c.stride_w = fields[5];
    c.pad_h = fields[6];
    c.pad_w = fields[7];
    c.bias = (int)fields[8];
    c.rate = rate;
    c.epsilon = epsilon;
    c.momentum = momentum;
    /* The tensors of this and the earlier layers all lie in the bytes left: a file
     * cannot make the reader allocate more than it could hold. */
    size_t left = (r->length - r->position) / 4, taken = model->n_params + model->n_stats;
    if (taken > left)
      return DLSC_ERR_BAD_FORMAT;
    DLSC_TRY(as_format_error(dlsc_model_append_layer(model, &c, left - taken)));
    const dlsc_layer *layer = &model->layers[model->n_layers - 1];
    const dlsc_layer_config *b = &layer->config;
    size_t built[9] = {b->kind,     b->units, b->kernel_h, b->kernel_w, b->stride_h,
                       b->stride_w, b->pad_h, b->pad_w,    (size_t)b->bias};
    for (size_t f = 0; f < 9; f++)
      if (built[f] != fields[f])
        return DLSC_ERR_BAD_FORMAT; /* a field the writer would write otherwise */
    if (layer->n_params != n_params || layer->n_stats != n_stats ||
        float_bits(b->rate) != float_bits(rate) || float_bits(b->epsilon) != float_bits(epsilon) ||
        float_bits(b->momentum) != float_bits(momentum))
      return DLSC_ERR_BAD_FORMAT; /* the file is not the canonical record of its layer */
  }
  return DLSC_OK;
}

static dlsc_status read_denoise_and_meta(dlsc_reader *r, dlsc_model_t *model) {
  uint32_t has_denoise = dlsc_get_u32(r);
  if (has_denoise > 1)
    return DLSC_ERR_BAD_FORMAT;
  if (has_denoise) {
    dlsc_denoise_config d;
    dlsc_denoise_config_init(&d);
    d.n_fft = dlsc_get_u32(r);
    d.hop_length = dlsc_get_u32(r);
    d.window = (dlsc_window)dlsc_get_u32(r);
    d.context_before = dlsc_get_u32(r);
    d.context_after = dlsc_get_u32(r);
    uint32_t mask = dlsc_get_u32(r);
    if (r->failed || mask > 1)
      return DLSC_ERR_BAD_FORMAT;
    d.mask = (int)mask;
    DLSC_TRY(as_format_error(dlsc_model_set_denoise(model, &d)));
  }
  uint32_t n_meta = dlsc_get_u32(r);
  if (r->failed || n_meta > DLSC_MAX_METADATA)
    return DLSC_ERR_BAD_FORMAT;
  char key[64], value[4096];
  for (uint32_t i = 0; i < n_meta; i++) {
    if (!dlsc_get_string(r, key, sizeof key - 1) || !dlsc_get_string(r, value, sizeof value - 1))
      return DLSC_ERR_BAD_FORMAT;
    DLSC_TRY(as_format_error(dlsc_model_set_metadata(model, key, value)));
  }
  return DLSC_OK;
}

static dlsc_status read_tensors(dlsc_reader *r, dlsc_model_t *model) {
  for (size_t i = 0; i < model->n_layers; i++) {
    dlsc_layer *layer = &model->layers[i];
    if (layer->n_params + layer->n_stats > (r->length - r->position) / 4)
      return DLSC_ERR_BAD_FORMAT;
    for (size_t j = 0; j < layer->n_params; j++)
      layer->params[j] = dlsc_get_f32(r);
    for (size_t j = 0; j < layer->n_stats; j++)
      layer->stats[j] = dlsc_get_f32(r);
    if (!dlsc_all_finite(layer->params, layer->n_params) ||
        !dlsc_all_finite(layer->stats, layer->n_stats))
      return DLSC_ERR_BAD_FORMAT;
  }
  return r->failed ? DLSC_ERR_BAD_FORMAT : DLSC_OK;
}

dlsc_status dlsc_model_load(const void *buffer, size_t size, dlsc_model_t **out) {
  if (!buffer || !out)
    return DLSC_ERR_INVALID_ARGUMENT;
  uint32_t version;
  dlsc_reader r;
  DLSC_TRY(dlsc_check_envelope(buffer, size, magic, FORMAT_VERSION, &version, &r));
  dlsc_shape input = {dlsc_get_u32(&r), dlsc_get_u32(&r), dlsc_get_u32(&r)};
  uint32_t n_layers = dlsc_get_u32(&r);
  if (r.failed || n_layers > DLSC_MAX_LAYERS)
    return DLSC_ERR_BAD_FORMAT;
  dlsc_model_t *model;
  DLSC_TRY(as_format_error(dlsc_model_create(input, 0, &model)));
  dlsc_status status = read_layers(&r, model, n_layers);
  if (status == DLSC_OK)
    status = read_denoise_and_meta(&r, model);
  if (status == DLSC_OK)
    status = read_tensors(&r, model);
  if (status == DLSC_OK && r.position != r.length)
    status = DLSC_ERR_BAD_FORMAT; /* bytes nobody accounts for */
  if (status != DLSC_OK) {
    dlsc_model_destroy(model);
    return status;
  }
  *out = model;
  return DLSC_OK;
}

/* ---- files */

dlsc_status dlsc_model_save_file(const dlsc_model_t *model, const char *path) {
  size_t size;
  if (!model || !path || !*path)
    return DLSC_ERR_INVALID_ARGUMENT;
  DLSC_TRY(dlsc_model_save(model, NULL, 0, &size));
  unsigned char *bytes = malloc(size);
  if (!bytes)
    return DLSC_ERR_OUT_OF_MEMORY;
  dlsc_model_save(model, bytes, size, &size);
  dlsc_status status = dlsc_write_file_atomic(path, bytes, size);
  int error = errno; /* the reason of an IO failure, past free */
  free(bytes);
  errno = error;
  return status;
}

dlsc_status dlsc_model_load_file(const char *path, dlsc_model_t **out) {
  if (!path || !out)
    return DLSC_ERR_INVALID_ARGUMENT;
  unsigned char *bytes;
  size_t size;
  DLSC_TRY(dlsc_read_file(path, &bytes, &size));
  dlsc_status status = dlsc_model_load(bytes, size, out);
  free(bytes);
  return status;
}

/* ---- transfer */

static bool same_layer(const dlsc_layer *a, const dlsc_layer *b) {
  const dlsc_layer_config *x = &a->config, *y = &b->config;
  return x->kind == y->kind && x->units == y->units && x->kernel_h == y->kernel_h &&
         x->kernel_w == y->kernel_w && x->stride_h == y->stride_h && x->stride_w == y->stride_w &&
         x->pad_h == y->pad_h && x->pad_w == y->pad_w && x->bias == y->bias &&
         a->out_size == b->out_size && a->n_params == b->n_params && a->n_stats == b->n_stats &&
         a->out.channels == b->out.channels && a->out.height == b->out.height;
}

/* Same input, same layers (structure and sizes) all the way. */
static bool same_architecture(const dlsc_model_t *a, const dlsc_model_t *b) {
  if (a->n_layers != b->n_layers || memcmp(&a->input, &b->input, sizeof a->input) != 0)
    return false;
  for (size_t i = 0; i < a->n_layers; i++)
    if (!same_layer(&a->layers[i], &b->layers[i]))
      return false;
  return true;
}

dlsc_status dlsc_model_blend(dlsc_model_t *dst, const dlsc_model_t *src, float weight) {
  if (!dst || !src || dst == src || !(weight >= 0.0f && weight <= 1.0f))
    return DLSC_ERR_INVALID_ARGUMENT;
  if (!same_architecture(dst, src))
    return DLSC_ERR_SHAPE_MISMATCH;
  dlsc_blend_floats(dst->params, src->params, dst->n_params, weight);
  dlsc_blend_floats(dst->stats, src->stats, dst->n_stats, weight);
  return DLSC_OK;
}

dlsc_status dlsc_model_get_values(const dlsc_model_t *model, size_t index, float *values,
                                 size_t capacity, size_t *count) {
  if (!model || !count || index >= model->n_layers || (!values && capacity))
    return DLSC_ERR_INVALID_ARGUMENT;
  const dlsc_layer *layer = &model->layers[index];
  *count = layer->n_params + layer->n_stats;
  if (!values)
    return DLSC_OK;
  if (capacity < *count)
    return DLSC_ERR_BUFFER_TOO_SMALL;
  if (layer->n_params)
    memcpy(values, layer->params, layer->n_params * sizeof *values);
  if (layer->n_stats)
    memcpy(values + layer->n_params, layer->stats, layer->n_stats * sizeof *values);
  return DLSC_OK;
}

dlsc_status dlsc_model_set_values(dlsc_model_t *model, size_t index, const float *values,
                                 size_t count) {
  if (!model || index >= model->n_layers || (!values && count))
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_layer *layer = &model->layers[index];
  if (count != layer->n_params + layer->n_stats)
    return DLSC_ERR_SHAPE_MISMATCH;
  if (count == 0)
    return DLSC_OK;
  if (!dlsc_all_finite(values, count))
    return DLSC_ERR_NUMERIC;
  if (layer->config.kind == DLSC_LAYER_BATCHNORM) {
    const float *variance = values + layer->n_params + layer->in.channels;
    for (size_t c = 0; c < layer->in.channels; c++)
      if (variance[c] < 0.0f)
        return DLSC_ERR_NUMERIC;
  }
  if (layer->n_params)
    memcpy(layer->params, values, layer->n_params * sizeof *values);
  if (layer->n_stats)
    memcpy(layer->stats, values + layer->n_params, layer->n_stats * sizeof *values);
  return DLSC_OK;
}

dlsc_status dlsc_model_copy_layers(dlsc_model_t *dst, const dlsc_model_t *src, size_t n_layers) {
  if (!dst || !src || dst == src || n_layers == 0)
    return DLSC_ERR_INVALID_ARGUMENT;
  if (n_layers > src->n_layers || n_layers > dst->n_layers ||
      memcmp(&dst->input, &src->input, sizeof dst->input) != 0)
    return DLSC_ERR_SHAPE_MISMATCH;
  for (size_t i = 0; i < n_layers; i++)
    if (!same_layer(&dst->layers[i], &src->layers[i]))
      return DLSC_ERR_SHAPE_MISMATCH;
  for (size_t i = 0; i < n_layers; i++) {
    dlsc_layer *to = &dst->layers[i];
    const dlsc_layer *from = &src->layers[i];
    memcpy(to->params, from->params, from->n_params * sizeof(float));
    memcpy(to->stats, from->stats, from->n_stats * sizeof(float));
  }
  dlsc_model_reset_optimizer(dst); /* moments of the old weights mean nothing now */
  return DLSC_OK;
}
