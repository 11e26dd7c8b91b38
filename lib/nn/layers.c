/* The layer table and helpers shared by the layer files. */
#include "../internal.h"

#include <string.h>

extern const dlsc_layer_ops dlsc_dense_ops, dlsc_conv2d_ops, dlsc_conv1d_ops, dlsc_maxpool_ops,
    dlsc_avgpool_ops, dlsc_gap_ops, dlsc_batchnorm_ops, dlsc_dropout_ops, dlsc_relu_ops,
    dlsc_gelu_ops, dlsc_sigmoid_ops, dlsc_tanh_ops, dlsc_softplus_ops, dlsc_log_ops;

static const struct {
  dlsc_layer_kind kind;
  const dlsc_layer_ops *ops;
} layer_table[] = {
    {DLSC_LAYER_DENSE, &dlsc_dense_ops},
    {DLSC_LAYER_CONV2D, &dlsc_conv2d_ops},
    {DLSC_LAYER_CONV1D, &dlsc_conv1d_ops},
    {DLSC_LAYER_MAXPOOL, &dlsc_maxpool_ops},
    {DLSC_LAYER_AVGPOOL, &dlsc_avgpool_ops},
    {DLSC_LAYER_GLOBAL_AVGPOOL, &dlsc_gap_ops},
    {DLSC_LAYER_BATCHNORM, &dlsc_batchnorm_ops},
    {DLSC_LAYER_DROPOUT, &dlsc_dropout_ops},
    {DLSC_LAYER_RELU, &dlsc_relu_ops},
    {DLSC_LAYER_GELU, &dlsc_gelu_ops},
    {DLSC_LAYER_SIGMOID, &dlsc_sigmoid_ops},
    {DLSC_LAYER_TANH, &dlsc_tanh_ops},
    {DLSC_LAYER_SOFTPLUS, &dlsc_softplus_ops},
    {DLSC_LAYER_LOG, &dlsc_log_ops},
};

#define LAYER_KINDS (sizeof layer_table / sizeof layer_table[0])

const dlsc_layer_ops *dlsc_layer_ops_for(dlsc_layer_kind kind) {
  for (size_t i = 0; i < LAYER_KINDS; i++)
    if (layer_table[i].kind == kind)
      return layer_table[i].ops;
  return NULL;
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

void dlsc_init_uniform(float *values, size_t count, float limit, dlsc_rng *rng) {
  for (size_t i = 0; i < count; i++)
    values[i] = (2.0f * dlsc_rng_uniform(rng) - 1.0f) * limit;
}

size_t dlsc_window_output(size_t input, size_t kernel, size_t stride, size_t pad) {
  if (stride == 0 || input + 2 * pad < kernel)
    return 0;
  return (input + 2 * pad - kernel) / stride + 1;
}
