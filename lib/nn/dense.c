/* Fully connected layer: y = x W^T + b over the flattened input. */
#include "../internal.h"
#include "parallel.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

static dlsc_status dense_setup(dlsc_layer *layer) {
  size_t units = layer->config.units, weights;
  if (units == 0)
    return DLSC_ERR_INVALID_ARGUMENT;
  if (dlsc_mul_overflows(units, layer->in_size, &weights)) /* too many parameters */
    return DLSC_ERR_SHAPE_MISMATCH;
  layer->out = (dlsc_shape){units, 1, 1};
  layer->n_weights = weights;
  layer->n_params = weights + (layer->config.bias ? units : 0);
  return DLSC_OK;
}

static void dense_init(dlsc_layer *layer, dlsc_rng *rng) {
  /* He-uniform keeps the activation variance of ReLU stacks; biases start at 0. */
  dlsc_init_uniform(layer->params, layer->n_weights, sqrtf(6.0f / (float)layer->in_size), rng);
}

static void dense_forward(dlsc_layer *layer, const float *x, float *y, size_t batch,
                          const dlsc_exec *exec) {
  size_t in = layer->in_size, units = layer->out_size;
  if (batch == 1) /* one example (a stream's frame): GEMV, which sgemm does not route to */
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)units, (int)in, 1.0f, layer->params, (int)in,
                x, 1, 0.0f, y, 1);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)batch, (int)units, (int)in, 1.0f,
                x, (int)in, layer->params, (int)in, 0.0f, y, (int)units);
  if (layer->config.bias) {
    const float *bias = layer->params + layer->n_weights;
    DLSC_PARALLEL_FOR(batch * units)
    for (size_t n = 0; n < batch; n++)
      for (size_t u = 0; u < units; u++)
        y[n * units + u] += bias[u];
  }
}

static void dense_backward(dlsc_layer *layer, const float *x, const float *y, const float *dy,
                           float *dx, size_t batch, const dlsc_exec *exec) {
  size_t in = layer->in_size, units = layer->out_size;
  if (!layer->frozen) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)units, (int)in, (int)batch, 1.0f, dy,
                (int)units, x, (int)in, 0.0f, layer->grads, (int)in);
    if (layer->config.bias) {
      float *dbias = layer->grads + layer->n_weights;
      memset(dbias, 0, units * sizeof *dbias);
      for (size_t n = 0; n < batch; n++)
        for (size_t u = 0; u < units; u++)
          dbias[u] += dy[n * units + u];
    }
  }
  if (dx)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)batch, (int)in, (int)units, 1.0f,
                dy, (int)units, layer->params, (int)in, 0.0f, dx, (int)in);
}

const dlsc_layer_ops dlsc_dense_ops = {
    .name = "dense",
    .setup = dense_setup,
    .init = dense_init,
    .forward = dense_forward,
    .backward = dense_backward,
};
