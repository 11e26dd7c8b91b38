/* Element-wise activations. Each one is a pair of scalar functions, value and
 * derivative (from the input x and the output y); one macro turns a pair into the
 * layer's forward and backward loops. */
#include "../internal.h"
#include "parallel.h"

#include <math.h>

static dlsc_status activation_setup(dlsc_layer *layer) {
  layer->out = layer->in;
  return DLSC_OK;
}

static dlsc_status log_setup(dlsc_layer *layer) {
  if (!(layer->config.epsilon > 0.0f))
    return DLSC_ERR_INVALID_ARGUMENT;
  return activation_setup(layer);
}

/* eps is the layer's epsilon: log's offset; unused by the others. */
static inline float relu_value(float x, float eps) { return x > 0.0f ? x : 0.0f; }
static inline float relu_slope(float x, float y, float eps) { return x > 0.0f ? 1.0f : 0.0f; }

static inline float sigmoid_value(float x, float eps) { return 1.0f / (1.0f + expf(-x)); }
static inline float sigmoid_slope(float x, float y, float eps) { return y * (1.0f - y); }

static inline float tanh_value(float x, float eps) { return tanhf(x); }
static inline float tanh_slope(float x, float y, float eps) { return 1.0f - y * y; }

/* log(1 + e^x) without overflow for large x. */
static inline float softplus_value(float x, float eps) {
  return x > 20.0f ? x : log1pf(expf(x));
}
static inline float softplus_slope(float x, float y, float eps) {
  return 1.0f / (1.0f + expf(-x));
}

/* x * Phi(x), Phi the standard normal CDF. */
static inline float gelu_value(float x, float eps) {
  return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}
/* Phi(x) is y / x, the forward pass's erff not computed again (GELU's two erff calls
 * and loops were 13 % of the wide CIFAR CNN's training time); near 0, where y / x loses precision (and for
 * subnormal x, all of it), Phi's first-order series, exact to 1e-10 there. */
static inline float gelu_slope(float x, float y, float eps) {
  float cdf = fabsf(x) < 1e-3f ? 0.5f + 0.39894228040143268f * x : y / x;
  return cdf + x * 0.39894228040143268f * expf(-0.5f * x * x);
}

static inline float log_value(float x, float eps) { return logf((x > 0.0f ? x : 0.0f) + eps); }
static inline float log_slope(float x, float y, float eps) {
  return x > 0.0f ? 1.0f / (x + eps) : 0.0f;
}

#define ACTIVATION(kind, setup_fn)                                                          \
  static void kind##_forward(dlsc_layer *layer, const float *x, float *y, size_t batch,     \
                             const dlsc_exec *exec) {                                       \
    size_t count = batch * layer->in_size;                                                  \
    float eps = layer->config.epsilon;                                                      \
    DLSC_PARALLEL_FOR(count)                                                                \
    for (size_t i = 0; i < count; i++)                                                      \
      y[i] = kind##_value(x[i], eps);                                                       \
  }                                                                                         \
  static void kind##_backward(dlsc_layer *layer, const float *x, const float *y,            \
                              const float *dy, float *dx, size_t batch,                     \
                              const dlsc_exec *exec) {                                      \
    if (!dx)                                                                                \
      return;                                                                               \
    size_t count = batch * layer->in_size;                                                  \
    float eps = layer->config.epsilon;                                                      \
    DLSC_PARALLEL_FOR(count)                                                                \
    for (size_t i = 0; i < count; i++)                                                      \
      dx[i] = dy[i] * kind##_slope(x[i], y[i], eps);                                        \
  }                                                                                         \
  const dlsc_layer_ops dlsc_##kind##_ops = {                                                \
      .name = #kind, .setup = setup_fn, .forward = kind##_forward, .backward = kind##_backward};

ACTIVATION(relu, activation_setup)
ACTIVATION(sigmoid, activation_setup)
ACTIVATION(tanh, activation_setup)
ACTIVATION(softplus, activation_setup)
ACTIVATION(gelu, activation_setup)
ACTIVATION(log, log_setup)
