/* Inverted dropout: training zeroes each value with probability rate and scales the
 * rest by 1 / (1 - rate), so inference is the identity. */
#include "../internal.h"

#include <string.h>

static dlsc_status dropout_setup(dlsc_layer *layer) {
  float rate = layer->config.rate;
  if (!(rate >= 0.0f) || !(rate < 1.0f))
    return DLSC_ERR_INVALID_ARGUMENT;
  layer->out = layer->in;
  return DLSC_OK;
}

static size_t dropout_aux(const dlsc_layer *layer, size_t batch) { return batch * layer->in_size; }

static void dropout_forward(dlsc_layer *layer, const float *x, float *y, size_t batch,
                            const dlsc_exec *exec) {
  size_t count = batch * layer->in_size;
  if (!exec->training) {
    memcpy(y, x, count * sizeof *y);
    return;
  }
  float keep = 1.0f - layer->config.rate, scale = 1.0f / keep;
  /* The mask comes from the model's PRNG in order, so a seed reproduces it. */
  for (size_t i = 0; i < count; i++) {
    layer->aux[i] = dlsc_rng_uniform(exec->rng) < keep ? scale : 0.0f;
    y[i] = x[i] * layer->aux[i];
  }
}

static void dropout_backward(dlsc_layer *layer, const float *x, const float *y, const float *dy,
                             float *dx, size_t batch, const dlsc_exec *exec) {
  if (!dx)
    return;
  size_t count = batch * layer->in_size;
  for (size_t i = 0; i < count; i++)
    dx[i] = dy[i] * layer->aux[i];
}

const dlsc_layer_ops dlsc_dropout_ops = {
    .name = "dropout",
    .setup = dropout_setup,
    .aux_floats = dropout_aux,
    .forward = dropout_forward,
    .backward = dropout_backward,
};
