/* The layer table and helpers shared by the layer files. */
#include "../internal.h"

#include <string.h>

extern const dlsc_layer_ops dlsc_dense_ops, dlsc_conv2d_ops, dlsc_conv1d_ops, dlsc_maxpool_ops,
    dlsc_avgpool_ops, dlsc_gap_ops, dlsc_batchnorm_ops, dlsc_dropout_ops, dlsc_relu_ops,
    dlsc_gelu_ops, dlsc_sigmoid_ops, dlsc_tanh_ops, dlsc_softplus_ops, dlsc_log_ops;

/* The config fields each kind reads. The others are reset to their defaults when a layer
 * is added, so that a layer has one description (spec, file record) whatever a caller
 * left in them. */
enum {
  F_UNITS = 1 << 0,
  F_WINDOW = 1 << 1, /* kernel, stride, padding */
  F_BIAS = 1 << 2,
  F_RATE = 1 << 3,
  F_EPSILON = 1 << 4,
  F_MOMENTUM = 1 << 5
};

static const struct {
  dlsc_layer_kind kind;
  const dlsc_layer_ops *ops;
  unsigned fields;
} layer_table[] = {
    {DLSC_LAYER_DENSE, &dlsc_dense_ops, F_UNITS | F_BIAS},
    {DLSC_LAYER_CONV2D, &dlsc_conv2d_ops, F_UNITS | F_WINDOW | F_BIAS},
    {DLSC_LAYER_CONV1D, &dlsc_conv1d_ops, F_UNITS | F_WINDOW | F_BIAS},
    {DLSC_LAYER_MAXPOOL, &dlsc_maxpool_ops, F_WINDOW},
    {DLSC_LAYER_AVGPOOL, &dlsc_avgpool_ops, F_WINDOW},
    {DLSC_LAYER_GLOBAL_AVGPOOL, &dlsc_gap_ops, 0},
    {DLSC_LAYER_BATCHNORM, &dlsc_batchnorm_ops, F_EPSILON | F_MOMENTUM},
    {DLSC_LAYER_DROPOUT, &dlsc_dropout_ops, F_RATE},
    {DLSC_LAYER_RELU, &dlsc_relu_ops, 0},
    {DLSC_LAYER_GELU, &dlsc_gelu_ops, 0},
    {DLSC_LAYER_SIGMOID, &dlsc_sigmoid_ops, 0},
    {DLSC_LAYER_TANH, &dlsc_tanh_ops, 0},
    {DLSC_LAYER_SOFTPLUS, &dlsc_softplus_ops, 0},
    {DLSC_LAYER_LOG, &dlsc_log_ops, F_EPSILON},
};

#define LAYER_KINDS (sizeof layer_table / sizeof layer_table[0])

static size_t table_row(dlsc_layer_kind kind) { /* LAYER_KINDS: unknown */
  size_t row = 0;
  while (row < LAYER_KINDS && layer_table[row].kind != kind)
    row++;
  return row;
}

const dlsc_layer_ops *dlsc_layer_ops_for(dlsc_layer_kind kind) {
  size_t row = table_row(kind);
  return row < LAYER_KINDS ? layer_table[row].ops : NULL;
}

const dlsc_layer_ops *dlsc_layer_ops_named(const char *name, dlsc_layer_kind *kind) {
  for (size_t i = 0; i < LAYER_KINDS; i++)
    if (strcmp(layer_table[i].ops->name, name) == 0) {
      *kind = layer_table[i].kind;
      return layer_table[i].ops;
    }
  return NULL;
}

dlsc_status dlsc_layer_config_init_(dlsc_layer_config *config, dlsc_layer_kind kind,
                                    size_t struct_size) {
  if (!config || struct_size < sizeof(size_t) || !dlsc_layer_ops_for(kind))
    return DLSC_ERR_INVALID_ARGUMENT;
  bool pool = kind == DLSC_LAYER_MAXPOOL || kind == DLSC_LAYER_AVGPOOL;
  dlsc_layer_config defaults;
  memset(&defaults, 0, sizeof defaults); /* no indeterminate padding gets copied */
  defaults.kind = kind;
  defaults.stride_h = defaults.stride_w = pool ? 0 : 1; /* pools step by their kernel */
  defaults.bias = 1;
  defaults.epsilon = kind == DLSC_LAYER_LOG ? 1e-3f : 1e-5f;
  defaults.momentum = 0.1f;
  memset(config, 0, struct_size);
  memcpy(config, &defaults, DLSC_MIN(struct_size, sizeof defaults));
  config->struct_size = struct_size;
  return DLSC_OK;
}

dlsc_status dlsc_layer_config_canonical(dlsc_layer_config *config) {
  size_t row = table_row(config->kind);
  if (row == LAYER_KINDS)
    return DLSC_ERR_INVALID_ARGUMENT;
  unsigned fields = layer_table[row].fields;
  dlsc_layer_config defaults;
  dlsc_layer_config_init(&defaults, config->kind);
  if (!(fields & F_UNITS))
    config->units = defaults.units;
  if (!(fields & F_WINDOW)) {
    config->kernel_h = defaults.kernel_h;
    config->kernel_w = defaults.kernel_w;
    config->stride_h = defaults.stride_h;
    config->stride_w = defaults.stride_w;
    config->pad_h = defaults.pad_h;
    config->pad_w = defaults.pad_w;
  }
  if (!(fields & F_BIAS))
    config->bias = defaults.bias;
  if (!(fields & F_RATE))
    config->rate = defaults.rate;
  if (!(fields & F_EPSILON))
    config->epsilon = defaults.epsilon;
  if (!(fields & F_MOMENTUM))
    config->momentum = defaults.momentum;
  size_t sizes[] = {config->units,    config->kernel_h, config->kernel_w, config->stride_h,
                    config->stride_w, config->pad_h,    config->pad_w};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    if (sizes[i] > DLSC_MAX_LAYER_SIZE)
      return DLSC_ERR_INVALID_ARGUMENT;
  return config->bias == 0 || config->bias == 1 ? DLSC_OK : DLSC_ERR_INVALID_ARGUMENT;
}

void dlsc_init_uniform(float *values, size_t count, float limit, dlsc_rng *rng) {
  for (size_t i = 0; i < count; i++)
    values[i] = (2.0f * dlsc_rng_uniform(rng) - 1.0f) * limit;
}

size_t dlsc_window_output(size_t input, size_t kernel, size_t stride, size_t pad) {
  if (stride == 0 || input + 2 * pad < kernel)
    return 0;
  return (input + 2 * pad - kernel) / stride + 1;
}
