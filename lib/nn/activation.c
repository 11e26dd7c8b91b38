/* Element-wise activations. Each one is a pair of scalar functions, value and
 * derivative (from the input x and the output y); one macro turns a pair into the
 * layer's forward and backward loops. */
#include "../internal.h"
#include "parallel.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static dlsc_status activation_setup(dlsc_layer *layer) {
  layer->out = layer->in;
  return DLSC_OK;
}

static dlsc_status log_setup(dlsc_layer *layer) {
  if (!isfinite(layer->config.epsilon) || !(layer->config.epsilon > 0.0f))
    return DLSC_ERR_INVALID_ARGUMENT;
  return activation_setup(layer);
}

/* eps is the layer's epsilon: log's offset; unused by the others. */
static inline float relu_value(float x, float eps) { return x > 0.0f ? x : 0.0f; }
/* From the output (y > 0 exactly where x > 0; a NaN x gives y 0): a batch-norm layer
 * before it writes only the ReLU's output (model.c's fuses_relu). */
static inline float relu_slope(float x, float y, float eps) { return y > 0.0f ? 1.0f : 0.0f; }

/* e^x in loops the compiler vectorises (libm's expf is a call per element): x = n ln 2 + r
 * with |r| <= ln 2 / 2 (Cody-Waite, ln 2 in two parts), e^r by its Taylor series to r^7,
 * 2^n from the exponent bits. Relative error 1.1e-7 (2 ulp); x is clamped to [-87, 88], so
 * the result is never subnormal, zero or infinite, and a NaN x gives e^-87. */
static inline float exp_vec(float x) {
  x = x > -87.0f ? x : -87.0f;
  x = x < 88.0f ? x : 88.0f;
  /* round to nearest: the sum, stored as a float, has no bits below 1 (a float variable,
   * since where float expressions are evaluated wider, s390x or x87, only storing rounds) */
  float shifted = x * 1.44269504088896341f + 12582912.0f;
  float n = shifted - 12582912.0f;
  float r = (x - n * 0.693145751953125f) - n * 1.428606765330187045e-6f;
  float p = 1.0f + r * (1.0f + r * (1.0f / 2 + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 +
                                     r * (1.0f / 720 + r * (1.0f / 5040)))))));
  int32_t bits = ((int32_t)n + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

/* 1 / (1 + e^-x) through exp_vec (libm's expf, a call per element, was 4 % of denoising
 * with the shipped models, whose masks end in a sigmoid). Below -87.336, where the true
 * value falls under FLT_MIN (and exp_vec clamps from 88), 0 rather than a subnormal; a
 * NaN stays NaN. Error 2 ulp (test sigmoid_matches_libm). */
static inline float sigmoid_value(float x, float eps) {
  float y = x < -87.336f ? 0.0f : 1.0f / (1.0f + exp_vec(-x));
  return x == x ? y : x;
}
static inline float sigmoid_slope(float x, float y, float eps) { return y * (1.0f - y); }

/* x * Phi(x), Phi the standard normal CDF, from erfc(z) = t e^(-z^2 + P(t)), t = 1 / (1 +
 * z / 2) (Numerical Recipes' erfcc, relative error 1.2e-7 for all z >= 0): branch-free, so
 * the loops vectorise, where erff's calls were 13 % of the wide CIFAR CNN's training
 * time. Against the closed form in double: absolute error 2.4e-7 for |x| < 4 (the largest
 * at |y| ~ 4 is an ulp), relative 7e-6 for -8 < x < -4, where float z^2 rounds. */
static inline float gelu_value(float x, float eps) {
  float z = fabsf(x) * 0.70710678118654752f, t = 1.0f / (1.0f + 0.5f * z);
  float p = -1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f +
            t * (-0.18628806f + t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f +
            t * (-0.82215223f + t * 0.17087277f))))))));
  float tail = 0.5f * t * exp_vec(p - z * z); /* Phi(-|x|) */
  return x * (x < 0.0f ? tail : 1.0f - tail);
}
/* Phi(x) is y / x, not computed again; near 0, where y / x loses precision (and for
 * subnormal x, all of it), Phi's first-order series, exact to 1e-10 there. */
static inline float gelu_slope(float x, float y, float eps) {
  float cdf = fabsf(x) < 1e-3f ? 0.5f + 0.39894228040143268f * x : y / x;
  return cdf + x * 0.39894228040143268f * exp_vec(-0.5f * x * x);
}

/* ln v for v > 0, in loops the compiler vectorises (libm's logf is a call per element:
 * 10 % of the general denoiser's training time): v = m 2^e with m in [sqrt(1/2),
 * sqrt(2)), ln m = f - f^2 / 2 + f^3 P(f) for f = m - 1 (Cephes' logf polynomial), e ln 2
 * in two parts. Subnormal v is scaled by 2^23 first; +infinity gives itself. Error at
 * most 7.5e-8 max(1, |ln v|), about libm's (test log_matches_libm: every binade). */
static inline float log_vec(float v) {
  bool subnormal = v < 1.17549435e-38f;
  float u = subnormal ? v * 8388608.0f : v;
  int32_t bits;
  memcpy(&bits, &u, sizeof bits);
  float e = (float)(((bits >> 23) & 0xff) - 126) - (subnormal ? 23.0f : 0.0f);
  bits = (bits & 0x007fffff) | 0x3f000000; /* the mantissa in [1/2, 1) */
  float m;
  memcpy(&m, &bits, sizeof m);
  bool low = m < 0.707106781186547524f;
  e = low ? e - 1.0f : e;
  float f = low ? (m + m) - 1.0f : m - 1.0f, z = f * f;
  float p = ((((((((7.0376836292e-2f * f - 1.1514610310e-1f) * f + 1.1676998740e-1f) * f -
                  1.2420140846e-1f) * f + 1.4249322787e-1f) * f - 1.6668057665e-1f) * f +
               2.0000714765e-1f) * f - 2.4999993993e-1f) * f + 3.3333331174e-1f) * f * z;
  float r = f + ((p + e * -2.12194440e-4f) - 0.5f * z) + e * 0.693359375f;
  return v > 3.40282347e38f ? v : r;
}

/* tanh as Cephes' tanhf computes it, branch-free through exp_vec (libm's tanhf is a
 * call per element): an odd polynomial below |x| = 0.625, 1 - 2 / (e^2|x| + 1) above
 * (exp_vec's clamp at 88 gives 1 from |x| = 44 on); NaN and -0 stay. Error 2 ulp (test
 * tanh_and_softplus_match_libm). */
static inline float tanh_value(float x, float eps) {
  float z = x * x, small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z -
                               5.37397155531e-2f) * z + 1.33314422036e-1f) * z -
                             3.33332819422e-1f) * z * x + x;
  float large = 1.0f - 2.0f / (exp_vec(2.0f * fabsf(x)) + 1.0f);
  float y = fabsf(x) < 0.625f ? small : x < 0.0f ? -large : large;
  return x == x && x != 0.0f ? y : x; /* NaN, and -0 (small would give +0) */
}
static inline float tanh_slope(float x, float y, float eps) { return 1.0f - y * y; }

/* log(1 + e^x) through exp_vec and log_vec (libm's log1pf and expf, two calls per
 * element): log u - ((u - 1) - e) / u for u = 1 + e rounded, which keeps e where u
 * rounds to 1; x above 20, where e^-x is below half an ulp of x, gives x; below -87,
 * where the true value falls under 1.4 FLT_MIN (and exp_vec clamps), 0; a NaN stays
 * NaN. Its slope is the sigmoid. */
static inline float softplus_value(float x, float eps) {
  float e = exp_vec(x), u = 1.0f + e;
  float y = log_vec(u) - ((u - 1.0f) - e) / u;
  y = x > 20.0f ? x : x < -87.0f ? 0.0f : y;
  return x == x ? y : x;
}
static inline float softplus_slope(float x, float y, float eps) { return sigmoid_value(x, eps); }

static inline float log_value(float x, float eps) { return log_vec((x > 0.0f ? x : 0.0f) + eps); }
static inline float log_slope(float x, float y, float eps) {
  return x > 0.0f ? 1.0f / (x + eps) : 0.0f;
}

#define ACTIVATION(kind, setup_fn)                                                          \
  DLSC_VECTOR_CLONES                                                                        \
  static void kind##_forward(dlsc_layer *layer, const float *x, float *y, size_t batch,     \
                             const dlsc_exec *exec) {                                       \
    size_t count = batch * layer->in_size;                                                  \
    float eps = layer->config.epsilon;                                                      \
    DLSC_PARALLEL_FOR(count)                                                                \
    for (size_t i = 0; i < count; i++)                                                      \
      y[i] = kind##_value(x[i], eps);                                                       \
  }                                                                                         \
  DLSC_VECTOR_CLONES                                                                        \
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
