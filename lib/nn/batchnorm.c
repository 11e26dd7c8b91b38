/* Batch normalisation per channel over (batch, height, width). Training normalises
 * with the batch's statistics and folds them into running averages; inference and
 * frozen layers normalise with the running averages. */
#include "../internal.h"
#include "parallel.h"

#include <math.h>

static dlsc_status bn_setup(dlsc_layer *layer) {
  const dlsc_layer_config *c = &layer->config;
  if (!isfinite(c->epsilon) || !(c->epsilon > 0.0f) || !(c->momentum > 0.0f) ||
      !(c->momentum <= 1.0f))
    return DLSC_ERR_INVALID_ARGUMENT;
  layer->out = layer->in;
  layer->n_params = 2 * layer->in.channels; /* gamma, beta: neither is decayed */
  layer->n_weights = 0;
  layer->n_stats = 2 * layer->in.channels; /* running mean, running variance */
  return DLSC_OK;
}

static void bn_init(dlsc_layer *layer, dlsc_rng *rng) {
  size_t channels = layer->in.channels;
  for (size_t c = 0; c < channels; c++) {
    layer->params[c] = 1.0f;
    layer->params[channels + c] = 0.0f;
    layer->stats[c] = 0.0f;
    layer->stats[channels + c] = 1.0f;
  }
}

/* Sums over one plane of u and of u (v - shift), in partial sums as dlsc_sum_floats
 * (a single float sum waits on each addition), the second in a loop of its own (one loop
 * for both made GCC 12 vectorise across blocks, shuffling). Forward takes x, x, 0 (the
 * sum and the sum of squares), backward dy, x, mean. */
static void plane_sums(const float *u, const float *v, float shift, size_t n, float *sum_u,
                       float *sum_uv) {
  float part[DLSC_SUM_LANES] = {0}, total = 0.0f;
  size_t i = 0;
  for (; i + DLSC_SUM_LANES <= n; i += DLSC_SUM_LANES)
    for (size_t j = 0; j < DLSC_SUM_LANES; j++)
      part[j] += u[i + j] * (v[i + j] - shift);
  for (; i < n; i++)
    total += u[i] * (v[i] - shift);
  for (size_t j = 0; j < DLSC_SUM_LANES; j++)
    total += part[j];
  *sum_u = dlsc_sum_floats(u, n);
  *sum_uv = total;
}

/* The batch's mean and 1/std per channel, kept for backward. */
static size_t bn_aux(const dlsc_layer *layer, size_t batch) { return 2 * layer->in.channels; }

static bool uses_batch_stats(const dlsc_layer *layer, const dlsc_exec *exec) {
  return exec->training && !layer->frozen;
}

static void bn_forward(dlsc_layer *layer, const float *x, float *y, size_t batch,
                       const dlsc_exec *exec) {
  size_t channels = layer->in.channels, plane = layer->in.height * layer->in.width;
  const float *gamma = layer->params, *beta = layer->params + channels;
  float *running_mean = layer->stats, *running_var = layer->stats + channels;
  bool batch_stats = uses_batch_stats(layer, exec);
  float momentum = layer->config.momentum, epsilon = layer->config.epsilon;
  size_t count = batch * plane;
  DLSC_PARALLEL_FOR(batch * layer->in_size)
  for (size_t c = 0; c < channels; c++) {
    double mean, var;
    if (batch_stats) {
      double sum = 0.0, sum_sq = 0.0;
      for (size_t n = 0; n < batch; n++) {
        const float *src = x + (n * channels + c) * plane;
        float s, sq; /* float partials per plane; double totals stay exact */
        plane_sums(src, src, 0.0f, plane, &s, &sq);
        sum += s;
        sum_sq += sq;
      }
      mean = sum / (double)count;
      var = fmax(sum_sq / (double)count - mean * mean, 0.0);
      double unbiased = count > 1 ? var * (double)count / (double)(count - 1) : var;
      running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * mean);
      running_var[c] = (float)((1.0 - momentum) * running_var[c] + momentum * unbiased);
    } else {
      mean = running_mean[c];
      var = running_var[c];
    }
    float inv_std = (float)(1.0 / sqrt(var + epsilon));
    if (exec->training) {
      layer->aux[c] = (float)mean;
      layer->aux[channels + c] = inv_std;
    }
    float scale = gamma[c] * inv_std, shift = beta[c] - (float)mean * scale;
    for (size_t n = 0; n < batch; n++) {
      const float *src = x + (n * channels + c) * plane;
      float *dst = y + (n * channels + c) * plane;
      if (exec->relu_after) { /* the ReLU layer's own expression, on the same floats */
        for (size_t p = 0; p < plane; p++) {
          float v = src[p] * scale + shift;
          dst[p] = v > 0.0f ? v : 0.0f;
        }
      } else {
        for (size_t p = 0; p < plane; p++)
          dst[p] = src[p] * scale + shift;
      }
    }
  }
}

static void bn_backward(dlsc_layer *layer, const float *x, const float *y, const float *dy,
                        float *dx, size_t batch, const dlsc_exec *exec) {
  size_t channels = layer->in.channels, plane = layer->in.height * layer->in.width;
  const float *gamma = layer->params;
  bool batch_stats = uses_batch_stats(layer, exec);
  size_t count = batch * plane;
  DLSC_PARALLEL_FOR(batch * layer->in_size)
  for (size_t c = 0; c < channels; c++) {
    float mean = layer->aux[c], inv_std = layer->aux[channels + c];
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (size_t n = 0; n < batch; n++) {
      const float *src = x + (n * channels + c) * plane, *grad = dy + (n * channels + c) * plane;
      float s, sx;
      plane_sums(grad, src, mean, plane, &s, &sx);
      sum_dy += s;
      sum_dy_xhat += sx;
    }
    sum_dy_xhat *= inv_std;
    if (!layer->frozen) {
      layer->grads[c] = (float)sum_dy_xhat;
      layer->grads[channels + c] = (float)sum_dy;
    }
    if (!dx)
      continue;
    float scale = gamma[c] * inv_std;
    /* With batch statistics the mean and variance depend on x too, which removes the
     * gradient's mean and its projection on x-hat. */
    float mean_dy = batch_stats ? (float)(sum_dy / (double)count) : 0.0f;
    float mean_dy_xhat = batch_stats ? (float)(sum_dy_xhat / (double)count) : 0.0f;
    for (size_t n = 0; n < batch; n++) {
      const float *src = x + (n * channels + c) * plane, *grad = dy + (n * channels + c) * plane;
      float *dst = dx + (n * channels + c) * plane;
      for (size_t p = 0; p < plane; p++) {
        float xhat = (src[p] - mean) * inv_std;
        dst[p] = scale * (grad[p] - mean_dy - xhat * mean_dy_xhat);
      }
    }
  }
}

const dlsc_layer_ops dlsc_batchnorm_ops = {
    .name = "batchnorm",
    .setup = bn_setup,
    .init = bn_init,
    .aux_floats = bn_aux,
    .forward = bn_forward,
    .backward = bn_backward,
};
