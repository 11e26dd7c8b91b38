/* Numerical gradient checks: every layer kind's backward pass against central
 * differences of its forward pass, for inputs and parameters, plus the losses. */
#include "common.h"
#include "internal.h"

typedef enum input_kind { SMOOTH, AWAY_FROM_ZERO, DISTINCT, POSITIVE } input_kind;

static void fill_inputs(float *x, size_t count, input_kind kind, uint64_t seed) {
  uint64_t state = seed;
  for (size_t i = 0; i < count; i++) {
    float u = test_uniform(&state, -1.0f, 1.0f);
    switch (kind) {
    case SMOOTH: x[i] = u; break;
    case AWAY_FROM_ZERO: x[i] = u < 0 ? u - 0.1f : u + 0.1f; break; /* ReLU kink at 0 */
    case POSITIVE: x[i] = 1.25f + 0.75f * u; break;
    case DISTINCT: x[i] = (float)i * 0.02f; break; /* shuffled below: no max ties */
    }
  }
  if (kind == DISTINCT)
    for (size_t i = count; i > 1; i--) {
      size_t j = test_random(&state) % i;
      float t = x[i - 1];
      x[i - 1] = x[j];
      x[j] = t;
    }
}

/* A model of the spec's one layer, its workspace reserved for batch examples, and what
 * that layer's forward and backward calls are given. */
static dlsc_model_t *one_layer(const char *spec, uint64_t seed, size_t batch, bool training) {
  dlsc_model_t *model;
  ck_assert_ok(dlsc_model_create_from_spec(spec, seed, &model));
  ck_assert_uint_eq(model->n_layers, 1);
  ck_assert_ok(dlsc_model_reserve(model, batch, training));
  return model;
}

static dlsc_exec exec_of(dlsc_model_t *model, bool training) {
  return (dlsc_exec){training, &model->rng, model->scratch, false};
}

/* L = sum(y * r) for a fixed r; the dropout PRNG restarts so every call sees one mask. */
static double probe_loss(dlsc_model_t *model, const float *x, size_t batch, const float *r,
                         dlsc_rng start) {
  model->rng = start;
  dlsc_layer *layer = &model->layers[0];
  dlsc_exec exec = exec_of(model, true);
  layer->ops->forward(layer, x, model->acts[0], batch, &exec);
  double loss = 0.0;
  for (size_t i = 0; i < batch * layer->out_size; i++)
    loss += (double)model->acts[0][i] * r[i];
  return loss;
}

static void expect_close(double analytic, double numeric, const char *what, size_t index,
                         const char *spec) {
  double tolerance = 2e-3 + 2e-2 * fmax(fabs(analytic), fabs(numeric));
  ck_assert_msg(fabs(analytic - numeric) <= tolerance, "%s: %s[%zu] analytic %.6g numeric %.6g",
                spec, what, index, analytic, numeric);
}

/* Checks up to max_checks input and parameter coordinates of the spec's one layer. */
static void gradient_check(const char *spec, size_t batch, input_kind kind, bool frozen) {
  dlsc_model_t *model = one_layer(spec, 42, batch, true);
  ck_assert_ok(dlsc_model_set_layer_frozen(model, 0, frozen));
  dlsc_layer *layer = &model->layers[0];
  /* Move parameters off their initial values (batch-norm starts at gamma 1, beta 0,
   * running mean 0 and variance 1, where mistakes could cancel). */
  for (size_t i = 0; i < layer->n_params; i++)
    layer->params[i] += 0.1f * sinf((float)i + 1.0f);
  for (size_t i = 0; i < layer->n_stats; i++)
    layer->stats[i] = i < layer->n_stats / 2 ? 0.1f * cosf((float)i) : 0.5f + 0.01f * (float)i;
  size_t in_count = batch * layer->in_size, out_count = batch * layer->out_size;
  float *x = malloc(in_count * sizeof *x), *r = malloc(out_count * sizeof *r);
  float *dx = malloc(in_count * sizeof *dx);
  fill_inputs(x, in_count, kind, 7);
  fill_uniform(r, out_count, -1.0f, 1.0f, 11);
  dlsc_rng start = model->rng;

  float *saved_stats = malloc((layer->n_stats + 1) * sizeof *saved_stats);
  memcpy(saved_stats, layer->stats, layer->n_stats * sizeof *saved_stats);
  probe_loss(model, x, batch, r, start);
  dlsc_exec exec = exec_of(model, true);
  layer->ops->backward(layer, x, model->acts[0], r, dx, batch, &exec);
  float *grads = malloc((layer->n_params + 1) * sizeof *grads);
  memcpy(grads, layer->grads, layer->n_params * sizeof *grads);

  const float h = kind == POSITIVE ? 1e-3f : 1e-2f;
  size_t step = in_count / 40 + 1;
  for (size_t i = 0; i < in_count; i += step) {
    float keep = x[i];
    x[i] = keep + h;
    memcpy(layer->stats, saved_stats, layer->n_stats * sizeof *saved_stats);
    double up = probe_loss(model, x, batch, r, start);
    x[i] = keep - h;
    memcpy(layer->stats, saved_stats, layer->n_stats * sizeof *saved_stats);
    double down = probe_loss(model, x, batch, r, start);
    x[i] = keep;
    expect_close(dx[i], (up - down) / (2.0 * h), "input", i, spec);
  }
  step = layer->n_params / 40 + 1;
  for (size_t i = 0; !frozen && i < layer->n_params; i += step) {
    float keep = layer->params[i];
    layer->params[i] = keep + h;
    double up = probe_loss(model, x, batch, r, start);
    layer->params[i] = keep - h;
    double down = probe_loss(model, x, batch, r, start);
    layer->params[i] = keep;
    expect_close(grads[i], (up - down) / (2.0 * h), "param", i, spec);
  }
  free(saved_stats);
  free(x);
  free(r);
  free(dx);
  free(grads);
  dlsc_model_destroy(model);
}

START_TEST(dense) {
  gradient_check("input 2x3x4; dense 5", 3, SMOOTH, false);
  gradient_check("input 7x1x1; dense 3 bias=0", 4, SMOOTH, false);
}
END_TEST

START_TEST(conv2d) {
  gradient_check("input 2x6x7; conv2d 3 3x3", 2, SMOOTH, false);
  gradient_check("input 3x7x6; conv2d 4 3x2 stride=2x1 pad=1x1", 2, SMOOTH, false);
  gradient_check("input 1x5x5; conv2d 2 5x5 pad=same bias=0", 3, SMOOTH, false);
  /* Large enough for the multi-threaded loops. */
  gradient_check("input 8x16x16; conv2d 8 3x3 pad=same", 18, SMOOTH, false);
  /* 1.2 M column floats per image: the batch spans several im2col + GEMM chunks, whose
   * weight and bias gradients must add up. */
  gradient_check("input 32x64x64; conv2d 2 3x3 pad=same", 4, SMOOTH, false);
  /* Width strides work on rows split into phases: widths that are not a multiple of
   * the stride, strides longer than the kernel (columns no output reads), kernels wider
   * than the input, and a strided layer over several chunks. */
  gradient_check("input 2x5x13; conv2d 3 3x4 stride=2x3 pad=1x2", 2, SMOOTH, false);
  gradient_check("input 2x3x4; conv2d 2 3x7 stride=1x2 pad=1x3", 2, SMOOTH, false);
  gradient_check("input 16x40x201; conv2d 2 3x5 stride=1x2 pad=1x2", 3, SMOOTH, false);
  /* Output planes of 96 floats and more take kernel rows by views of shared columns
   * (one GEMM per kernel row and image): no height padding, padding narrower than the
   * kernel's half, bias off, width strides, several images per chunk, frozen. Smaller
   * planes share one GEMM per chunk: three images per chunk, two chunks here. */
  gradient_check("input 2x20x20; conv2d 2 3x3 bias=0", 2, SMOOTH, false);
  gradient_check("input 2x18x18; conv2d 3 5x3 pad=1x1", 3, SMOOTH, false);
  gradient_check("input 2x9x80; conv2d 3 3x5 stride=1x2 pad=0x2", 3, SMOOTH, false);
  gradient_check("input 2x18x18; conv2d 3 5x3 pad=1x1", 2, SMOOTH, true);
  gradient_check("input 600x7x7; conv2d 2 3x3 pad=same", 4, SMOOTH, false);
}
END_TEST

/* A convolution's bias gradient is the sum of the output gradient over its plane and
 * the batch, exactly enough to see one position missing (central differences cannot). */
static void conv_bias_gradient_is_the_sum(const char *spec, size_t batch) {
  dlsc_model_t *model = one_layer(spec, 3, batch, true);
  dlsc_layer *layer = &model->layers[0];
  size_t in_count = batch * layer->in_size, out_count = batch * layer->out_size;
  size_t plane = layer->out.height * layer->out.width;
  float *x = malloc(in_count * sizeof *x), *dy = malloc(out_count * sizeof *dy);
  ck_assert_ptr_nonnull(x);
  ck_assert_ptr_nonnull(dy);
  fill_uniform(x, in_count, -1.0f, 1.0f, 5);
  fill_uniform(dy, out_count, 0.5f, 1.5f, 6);
  dlsc_exec exec = exec_of(model, true);
  layer->ops->forward(layer, x, model->acts[0], batch, &exec);
  layer->ops->backward(layer, x, model->acts[0], dy, NULL, batch, &exec);
  for (size_t o = 0; o < layer->out.channels; o++) {
    double sum = 0.0;
    for (size_t b = 0; b < batch; b++)
      for (size_t p = 0; p < plane; p++)
        sum += dy[(b * layer->out.channels + o) * plane + p];
    ck_assert_msg(fabs(layer->grads[layer->n_weights + o] - sum) <= 1e-5 * sum,
                  "%s: bias %zu gradient %.9g, sum %.9g", spec, o,
                  layer->grads[layer->n_weights + o], sum);
  }
  free(x);
  free(dy);
  dlsc_model_destroy(model);
}

START_TEST(conv_bias_gradient) {
  conv_bias_gradient_is_the_sum("input 2x6x7; conv2d 3 3x3", 3);             /* small planes */
  conv_bias_gradient_is_the_sum("input 2x20x20; conv2d 3 3x3 pad=same", 3);  /* kernel rows */
  conv_bias_gradient_is_the_sum("input 2x9x80; conv2d 3 3x5 stride=1x2 pad=0x2", 2);
  conv_bias_gradient_is_the_sum("input 32x64x64; conv2d 2 3x3 pad=same", 2); /* chunks */
  conv_bias_gradient_is_the_sum("input 600x7x7; conv2d 2 3x3 pad=same", 4); /* chunks */
  conv_bias_gradient_is_the_sum("input 2x1x300; conv1d 2 5 stride=3", 4);
}
END_TEST

/* The convolution's forward pass against the textbook sum, loop by loop. */
static void conv_matches_direct_sum(const char *spec, size_t batch) {
  dlsc_model_t *model;
  ck_assert_ok(dlsc_model_create_from_spec(spec, 11, &model));
  const dlsc_layer *layer = &model->layers[0];
  const dlsc_layer_config *c = &layer->config;
  size_t ci = layer->in.channels, ih = layer->in.height, iw = layer->in.width;
  size_t co = layer->out.channels, oh = layer->out.height, ow = layer->out.width;
  float *x = malloc(batch * layer->in_size * sizeof *x);
  float *y = malloc(batch * layer->out_size * sizeof *y);
  fill_inputs(x, batch * layer->in_size, SMOOTH, 5);
  if (c->bias)
    for (size_t o = 0; o < co; o++)
      layer->params[layer->n_weights + o] = 0.1f * (float)o - 0.2f;
  ck_assert_ok(dlsc_model_predict(model, x, batch, y));
  double worst = 0.0;
  for (size_t b = 0; b < batch; b++)
    for (size_t o = 0; o < co; o++)
      for (size_t h = 0; h < oh; h++)
        for (size_t w = 0; w < ow; w++) {
          double sum = c->bias ? layer->params[layer->n_weights + o] : 0.0;
          for (size_t i = 0; i < ci; i++)
            for (size_t kh = 0; kh < c->kernel_h; kh++)
              for (size_t kw = 0; kw < c->kernel_w; kw++) {
                ptrdiff_t r = (ptrdiff_t)(h * c->stride_h + kh) - (ptrdiff_t)c->pad_h;
                ptrdiff_t q = (ptrdiff_t)(w * c->stride_w + kw) - (ptrdiff_t)c->pad_w;
                if (r < 0 || q < 0 || (size_t)r >= ih || (size_t)q >= iw)
                  continue; /* zero padding */
                sum += (double)layer->params[((o * ci + i) * c->kernel_h + kh) * c->kernel_w + kw] *
                       x[((b * ci + i) * ih + (size_t)r) * iw + (size_t)q];
              }
          double got = y[((b * co + o) * oh + h) * ow + w];
          worst = max_or_nan(worst, fabs(got - sum));
        }
  ck_assert_msg(worst < 1e-5, "%s: forward differs from the direct sum by %g", spec, worst);
  free(x);
  free(y);
  dlsc_model_destroy(model);
}

START_TEST(conv_forward_is_the_direct_sum) {
  conv_matches_direct_sum("input 3x12x12; conv2d 4 5x5", 3);                  /* valid */
  conv_matches_direct_sum("input 2x9x9; conv2d 3 3x3 pad=same", 2);           /* same */
  conv_matches_direct_sum("input 2x8x10; conv2d 3 5x3 pad=2x1", 2);           /* same, wide */
  conv_matches_direct_sum("input 2x9x11; conv2d 3 3x5 stride=1x2 pad=0x2", 2); /* strided */
  conv_matches_direct_sum("input 3x7x6; conv2d 4 3x2 stride=2x1 pad=1x1 bias=0", 3);
  conv_matches_direct_sum("input 1x4x4; conv2d 2 3x3 pad=same", 1); /* plane of 16 */
  conv_matches_direct_sum("input 1x1x20; conv1d 3 5 pad=2", 2);
  /* Kernels wider (or taller) than the input with "same" padding: some kernel offsets
   * see no input column at all (found by the spec fuzzer: the fast path then copied
   * from before the plane). */
  conv_matches_direct_sum("input 2x6x1; conv2d 3 3x9 pad=1x4", 2);
  conv_matches_direct_sum("input 1x5x3; conv2d 2 3x7 pad=same", 2);
  conv_matches_direct_sum("input 1x2x5; conv2d 2 5x3 pad=same", 2);
  conv_matches_direct_sum("input 2x351x1; conv1d 4 9 pad=4", 1);
  /* Width strides (rows split into phases). */
  conv_matches_direct_sum("input 2x5x13; conv2d 3 3x4 stride=2x3 pad=1x2", 2);
  conv_matches_direct_sum("input 2x3x4; conv2d 2 3x7 stride=1x2 pad=1x3", 2);
  conv_matches_direct_sum("input 16x40x201; conv2d 2 3x5 stride=1x2 pad=1x2", 3);
  /* Kernel rows by views (output planes of 96 floats and more). */
  conv_matches_direct_sum("input 2x20x20; conv2d 3 3x3 pad=same", 3);
  conv_matches_direct_sum("input 2x18x18; conv2d 3 5x3 pad=1x1 bias=0", 2);
  conv_matches_direct_sum("input 2x9x80; conv2d 3 3x5 stride=1x2 pad=0x2", 2);
}
END_TEST

START_TEST(conv1d) {
  gradient_check("input 2x1x20; conv1d 3 5", 2, SMOOTH, false);
  gradient_check("input 1x3x20; conv1d 2 4 stride=2 pad=1", 2, SMOOTH, false);
  gradient_check("input 1x3x10; conv1d 2 2 stride=4", 2, SMOOTH, false);
  gradient_check("input 2x4x1; conv2d 2 3x5 pad=same", 2, SMOOTH, false);
}
END_TEST

START_TEST(pooling) {
  gradient_check("input 2x6x6; maxpool 2", 2, DISTINCT, false);
  gradient_check("input 2x7x5; maxpool 3x2 stride=2x1 pad=1x1", 2, DISTINCT, false);
  gradient_check("input 2x6x6; avgpool 2", 2, SMOOTH, false);
  gradient_check("input 2x7x5; avgpool 3 stride=2 pad=1", 2, SMOOTH, false);
  gradient_check("input 3x4x5; gap", 2, SMOOTH, false);
  gradient_check("input 16x32x32; maxpool 2", 4, DISTINCT, false);
}
END_TEST

/* Pooling against a plain scan of each window in row-major order, on inputs full of
 * ties: outputs bit for bit in training and inference, and the gradients. Max pooling:
 * the first of equal values wins and a NaN only where it comes first (inputs with
 * signed zeros, infinities and NaNs), the gradient going to the winner. Average
 * pooling: each sum from 0 in that order, then divided by the window's cells (finite
 * inputs of far-apart magnitudes, where another order would round differently), the
 * gradient shared alike. The 2x2 max windows at stride 2 and the windows two columns
 * wide at stride 2 take loops of their own (odd widths, so rows do not split evenly),
 * the others the general ones. */
static void check_pool(const char *spec, size_t batch) {
  dlsc_model_t *model = one_layer(spec, 1, batch, true);
  dlsc_layer *layer = &model->layers[0];
  const dlsc_layer_config *c = &layer->config;
  bool max = c->kind == DLSC_LAYER_MAXPOOL;
  size_t in_h = layer->in.height, in_w = layer->in.width;
  size_t out_h = layer->out.height, out_w = layer->out.width;
  size_t planes = batch * layer->in.channels, in_count = planes * in_h * in_w;
  size_t out_count = planes * out_h * out_w;
  float *x = malloc(in_count * sizeof *x), *dx = malloc(in_count * sizeof *dx);
  float *dy = malloc(out_count * sizeof *dy), *want_dx = calloc(in_count, sizeof *want_dx);
  float *want = malloc(out_count * sizeof *want), *inferred = malloc(out_count * sizeof *want);
  const float special[8] = {-1.0f, 0.0f, -0.0f, 1.0f, 2.0f, NAN, -INFINITY, INFINITY};
  const float finite[8] = {-1e8f, 1.0f, 3e-8f, 0.1f, -0.0f, 2.5f, 1e8f, -7.25f};
  uint64_t state = 5;
  for (size_t i = 0; i < in_count; i++)
    x[i] = (max ? special : finite)[test_random(&state) % 8];
  for (size_t p = 0, o = 0; p < planes; p++)
    for (size_t oh = 0; oh < out_h; oh++)
      for (size_t ow = 0; ow < out_w; ow++, o++) {
        ptrdiff_t h0 = (ptrdiff_t)(oh * c->stride_h) - (ptrdiff_t)c->pad_h;
        ptrdiff_t w0 = (ptrdiff_t)(ow * c->stride_w) - (ptrdiff_t)c->pad_w;
        size_t cells[64] = {0}, n = 0;
        for (ptrdiff_t h = h0; h < h0 + (ptrdiff_t)c->kernel_h; h++)
          for (ptrdiff_t w = w0; w < w0 + (ptrdiff_t)c->kernel_w; w++)
            if (h >= 0 && w >= 0 && h < (ptrdiff_t)in_h && w < (ptrdiff_t)in_w)
              cells[n++] = p * in_h * in_w + (size_t)h * in_w + (size_t)w;
        size_t best = cells[0];
        float sum = 0.0f;
        for (size_t k = 0; k < n; k++) {
          best = x[cells[k]] > x[best] ? cells[k] : best;
          sum += x[cells[k]];
        }
        dy[o] = (float)(o + 1);
        want[o] = max ? x[best] : sum / (float)n;
        if (max)
          want_dx[best] += dy[o];
        float share = dy[o] / (float)n; /* stored: rounded to float on every machine */
        for (size_t k = 0; !max && k < n; k++)
          want_dx[cells[k]] += share;
      }
  dlsc_exec exec = exec_of(model, true);
  layer->ops->forward(layer, x, model->acts[0], batch, &exec);
  ck_assert_msg(memcmp(model->acts[0], want, out_count * sizeof *want) == 0, "%s: training", spec);
  layer->ops->backward(layer, x, model->acts[0], dy, dx, batch, &exec);
  ck_assert_msg(memcmp(dx, want_dx, in_count * sizeof *dx) == 0, "%s: gradient", spec);
  exec.training = false;
  layer->ops->forward(layer, x, inferred, batch, &exec);
  ck_assert_msg(memcmp(inferred, want, out_count * sizeof *want) == 0, "%s: inference", spec);
  free(x);
  free(dx);
  free(dy);
  free(want_dx);
  free(want);
  free(inferred);
  dlsc_model_destroy(model);
}

START_TEST(pooling_is_a_plain_scan) {
  check_pool("input 2x6x7; maxpool 2", 3);
  check_pool("input 2x7x5; maxpool 3x2 stride=2x1 pad=1x1", 3);
  check_pool("input 1x5x6; maxpool 2 stride=1", 2);
  check_pool("input 16x32x32; maxpool 2", 4); /* enough work for a thread team */
  check_pool("input 2x7x6; maxpool 2 pad=1x0", 2); /* 2x2 at stride 2, padded: the */
  check_pool("input 2x6x7; maxpool 2 pad=0x1", 2); /* general loops, not the fast ones */
  check_pool("input 2x7x7; maxpool 2 pad=1", 2);
  check_pool("input 2x7x6; maxpool 3x2 stride=2", 2); /* one field off 2x2 at stride 2 */
  check_pool("input 2x6x7; maxpool 2x3 stride=2", 2);
  check_pool("input 2x6x6; maxpool 2 stride=1x2", 2);
  check_pool("input 2x6x6; maxpool 2 stride=2x1", 2);
  check_pool("input 1x5x513; avgpool 1x2", 3); /* the denoisers' */
  check_pool("input 2x7x7; avgpool 2", 3);
  check_pool("input 2x7x7; avgpool 3x2 stride=1x2", 2); /* overlapping rows */
  check_pool("input 2x7x5; avgpool 3 stride=2 pad=1", 3);
  check_pool("input 2x6x7; avgpool 2 stride=1", 2);
  check_pool("input 2x6x7; avgpool 2 pad=0x1", 2); /* column pairs, padded: the general loop */
  check_pool("input 2x7x6; avgpool 2 pad=1x0", 2);
}
END_TEST

START_TEST(batchnorm) {
  gradient_check("input 3x4x4; batchnorm", 4, SMOOTH, false);
  gradient_check("input 5x1x1; batchnorm eps=0.001 momentum=0.5", 6, SMOOTH, false);
  /* Frozen: normalised with the running statistics, a per-channel affine map. */
  gradient_check("input 3x4x4; batchnorm", 4, SMOOTH, true);
}
END_TEST

/* A training step moves the running statistics by momentum towards the batch's mean and
 * unbiased variance: channel 0 holds 1..6 (mean 3.5, unbiased variance 3.5), channel 1
 * five zeros and a 6 (mean 1, unbiased variance 6); from means 0.2, -0.4 and variances
 * 2, 0.5 at momentum 0.5, twice. */
START_TEST(batchnorm_running_statistics) {
  dlsc_model_t *model = from_spec("input 2x1x3; batchnorm momentum=0.5", 1);
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  ck_assert_ok(dlsc_model_set_training(model, &config));
  float *stats = model->layers[0].stats;
  memcpy(stats, (float[4]){0.2f, -0.4f, 2.0f, 0.5f}, sizeof(float[4]));
  float x[12] = {1, 2, 3, 0, 0, 0, 4, 5, 6, 0, 0, 6}, target[12] = {0};
  dlsc_batch batch = {2, x, target, NULL, NULL};
  static const float expected[2][4] = {{1.85f, 0.3f, 2.75f, 3.25f},
                                       {2.675f, 0.65f, 3.125f, 4.625f}};
  for (int step = 0; step < 2; step++) {
    ck_assert_ok(dlsc_model_train_batch(model, &batch, NULL));
    for (int i = 0; i < 4; i++)
      ck_assert_float_eq_tol(stats[i], expected[step][i], 1e-5f);
  }
  dlsc_model_destroy(model);
}
END_TEST

START_TEST(dropout) {
  gradient_check("input 4x3x3; dropout 0.4", 3, SMOOTH, false);
  gradient_check("input 2x3x3; dropout 0", 3, SMOOTH, false); /* rate 0: the identity */
}
END_TEST

START_TEST(activations) {
  gradient_check("input 3x4x5; relu", 2, AWAY_FROM_ZERO, false);
  gradient_check("input 3x4x5; gelu", 2, SMOOTH, false);
  gradient_check("input 3x4x5; sigmoid", 2, SMOOTH, false);
  gradient_check("input 3x4x5; tanh", 2, SMOOTH, false);
  gradient_check("input 3x4x5; softplus", 2, SMOOTH, false);
  gradient_check("input 3x4x5; log", 2, POSITIVE, false);
  gradient_check("input 3x4x5; log eps=0.5", 2, POSITIVE, false);
}
END_TEST

/* The log layer, log(max(x, 0) + eps), against libm's log in double over the whole
 * float range (every binade, subnormals included, and the mantissa's split at sqrt(1/2)),
 * negative, zero, infinite and NaN inputs, and a subnormal eps. */
static void check_log(float eps) {
  const float special[] = {0.0f, -0.0f, -1.0f, -INFINITY, NAN, INFINITY, 3.40282347e38f,
                           1.0f, 0.99999994f, 1.00000012f, 0.70710677f, 0.70710683f,
                           1.41421354f, 1e-45f, 1.17549435e-38f, 1.1754942e-38f};
  const size_t n_special = sizeof special / sizeof special[0], n = n_special + 277 * 64;
  float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
  ck_assert_ptr_nonnull(x);
  ck_assert_ptr_nonnull(y);
  for (size_t i = 0; i < n; i++)
    x[i] = i < n_special ? special[i]
                         : ldexpf(1.0f + (float)((i - n_special) % 64) / 64.0f,
                                  (int)((i - n_special) / 64) - 149);
  char spec[64];
  snprintf(spec, sizeof spec, "input 1x1x%zu; log eps=%.9g", n, (double)eps);
  dlsc_model_t *model = one_layer(spec, 1, 1, false);
  dlsc_layer *layer = &model->layers[0];
  dlsc_exec exec = exec_of(model, false);
  layer->ops->forward(layer, x, y, 1, &exec);
  for (size_t i = 0; i < n; i++) {
    float v = (x[i] > 0.0f ? x[i] : 0.0f) + eps;
    double want = log((double)v);
    if (isinf(want)) {
      ck_assert_msg(y[i] == (float)want, "log of %g: %.9g", (double)v, (double)y[i]);
      continue;
    }
    double error = fabs(y[i] - want) / fmax(1.0, fabs(want));
    ck_assert_msg(error <= 1e-7, "log of %.9g: %.9g, libm %.9g", (double)v, (double)y[i], want);
  }
  dlsc_model_destroy(model);
  free(x);
  free(y);
}

START_TEST(log_matches_libm) {
  check_log(1e-3f);
  check_log(1e-45f);
}
END_TEST

/* One element-wise layer of kind over x[0 .. n - 1] as one example: y, and with dy the
 * backward pass's dx. */
static void run_activation(const char *kind, const float *x, size_t n, float *y,
                           const float *dy, float *dx) {
  char spec[64];
  snprintf(spec, sizeof spec, "input 1x1x%zu; %s", n, kind);
  dlsc_model_t *model = one_layer(spec, 1, 1, dy != NULL);
  dlsc_layer *layer = &model->layers[0];
  dlsc_exec exec = exec_of(model, dy != NULL);
  layer->ops->forward(layer, x, y, 1, &exec);
  if (dy)
    layer->ops->backward(layer, x, y, dy, dx, 1, &exec);
  dlsc_model_destroy(model);
}

/* The sigmoid against 1 / (1 + e^-x) in double, every 1/64 over [-100, 100] and special
 * points: within 2.5e-7 relative, or 0 where the true value is below 1.001 FLT_MIN (never
 * a subnormal); NaN stays NaN. Its slope y (1 - y), and softplus's slope, the sigmoid. */
START_TEST(sigmoid_matches_libm) {
  const float special[] = {0.0f,   -0.0f,  1e-45f, -87.0f, -87.336f, -87.33601f, -87.5f, -88.0f,
                           -103.0f, 87.0f, 88.0f, 89.0f,  1e30f,  -1e30f, INFINITY, -INFINITY,
                           NAN};
  const size_t n_special = sizeof special / sizeof special[0], n = n_special + 12801;
  float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *dy = malloc(n * sizeof *dy),
        *dx = malloc(n * sizeof *dx), *dx_softplus = malloc(n * sizeof *dx_softplus);
  ck_assert(x && y && dy && dx && dx_softplus);
  for (size_t i = 0; i < n; i++) {
    x[i] = i < n_special ? special[i] : -100.0f + (float)(i - n_special) / 64.0f;
    dy[i] = 1.0f;
  }
  float *softplus = malloc(n * sizeof *softplus);
  ck_assert_ptr_nonnull(softplus);
  run_activation("sigmoid", x, n, y, dy, dx);
  run_activation("softplus", x, n, softplus, dy, dx_softplus);
  free(softplus);
  for (size_t i = 0; i < n; i++) {
    double want = 1.0 / (1.0 + exp(-(double)x[i]));
    if (isnan(x[i])) {
      ck_assert(isnan(y[i]) && isnan(dx_softplus[i]));
      continue;
    }
    ck_assert_msg(fpclassify(y[i]) != FP_SUBNORMAL, "sigmoid of %.9g: %g", (double)x[i],
                  (double)y[i]);
    bool zero_allowed = want < 1.001 * FLT_MIN, close = fabs(y[i] - want) <= 2.5e-7 * want;
    ck_assert_msg(close || (zero_allowed && y[i] == 0.0f), "sigmoid of %.9g: %.9g, libm %.9g",
                  (double)x[i], (double)y[i], want);
    ck_assert_float_eq(dx[i], y[i] * (1.0f - y[i]));
    ck_assert_float_eq(dx_softplus[i], y[i]);
  }
  free(x);
  free(y);
  free(dy);
  free(dx);
  free(dx_softplus);
}
END_TEST

/* tanh and softplus (branch-free, through the vectorised exp and log) against libm's
 * double functions: every 64th of a unit over -100 .. 100, steps near 0 and the
 * branches' edges, specials. Measured: tanh 1.03 ulp at most, softplus 1.56 (1.19 and
 * 1.92 on 400,001 points over -20 .. 20); softplus gives 0 below -87. */
static float ulp_of(double v) {
  float f = (float)fabs(v);
  return nextafterf(f, INFINITY) - f;
}

START_TEST(tanh_and_softplus_match_libm) {
  const float special[] = {0.0f,  -0.0f,  1e-45f, -1e-45f, 1e-30f, -1e-20f, 0.625f, -0.625f,
                           0.62499994f, 20.0f, 20.000002f, 44.0f, -44.5f, 87.0f, -86.99999f,
                           -87.0f, -87.00001f, 1e30f, -1e30f, INFINITY, -INFINITY, NAN};
  const size_t n_special = sizeof special / sizeof special[0], grid = 12801, fine = 2001;
  const size_t n = n_special + grid + fine;
  float *x = malloc(n * sizeof *x), *y[2] = {malloc(n * sizeof(float)), malloc(n * sizeof(float))};
  ck_assert(x && y[0] && y[1]);
  for (size_t i = 0; i < n; i++)
    x[i] = i < n_special            ? special[i]
           : i < n_special + grid ? -100.0f + (float)(i - n_special) / 64.0f
                                    : (float)((double)(i - n_special - grid) - 1000.0) / 1000.0f;
  run_activation("tanh", x, n, y[0], NULL, NULL);
  run_activation("softplus", x, n, y[1], NULL, NULL);
  for (size_t i = 0; i < n; i++) {
    if (isnan(x[i])) {
      ck_assert(isnan(y[0][i]) && isnan(y[1][i]));
      continue;
    }
    double t = tanh((double)x[i]), sp = x[i] > 30.0f ? (double)x[i] : log1p(exp((double)x[i]));
    double e0 = y[0][i] == t ? 0.0 : fabs(y[0][i] - t) / ulp_of(t);
    ck_assert_msg(e0 <= 2.0, "tanh of %.9g: %.9g, libm %.9g",
                  (double)x[i], (double)y[0][i], t);
    ck_assert(signbit(y[0][i]) == signbit(x[i]));
    if (x[i] < -87.0f) {
      ck_assert_float_eq(y[1][i], 0.0f);
      continue;
    }
    double e1 = y[1][i] == sp ? 0.0 : fabs(y[1][i] - sp) / ulp_of(sp); /* infinity too */
    ck_assert_msg(e1 <= 2.5, "softplus of %.9g: %.9g, libm %.9g", (double)x[i],
                  (double)y[1][i], sp);
  }
  free(x);
  free(y[0]);
  free(y[1]);
}
END_TEST

/* GELU's value and slope against the closed forms x Phi(x) and Phi(x) + x phi(x) in double:
 * at points where central differences cannot look (subnormal and tiny inputs, the switch
 * of the backward's y / x at 1e-3, large ones) and every 1/64 over [-10, 10]. The forward
 * computes Phi from an erfc approximation and its own exponential: absolute error within
 * 3e-7 max(1, |x|), relative within 2e-5 where x < -1 (the tail, values down to 1e-23). */
START_TEST(gelu_matches_the_closed_form) {
  const float special[] = {0.0f,   -0.0f,  1e-45f, -1e-45f,   1e-38f, -1e-30f, 1e-7f, -9.99e-4f,
                           1e-3f,  -1e-3f, 1.001e-3f, 0.01f,  -0.3f,   1.0f,   -2.5f, 4.0f,
                           -6.0f,  9.0f,   -12.0f,  20.0f,    -20.0f, 1e4f,    -1e4f};
  const size_t n_special = sizeof special / sizeof special[0], n = n_special + 1281;
  float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *dy = malloc(n * sizeof *dy),
        *dx = malloc(n * sizeof *dx);
  ck_assert_ptr_nonnull(x);
  ck_assert_ptr_nonnull(y);
  ck_assert_ptr_nonnull(dy);
  ck_assert_ptr_nonnull(dx);
  for (size_t i = 0; i < n; i++) {
    x[i] = i < n_special ? special[i] : -10.0f + (float)(i - n_special) / 64.0f;
    dy[i] = 1.0f;
  }
  char spec[64];
  snprintf(spec, sizeof spec, "input 1x1x%zu; gelu", n);
  dlsc_model_t *model = one_layer(spec, 1, 1, true);
  dlsc_layer *layer = &model->layers[0];
  dlsc_exec exec = exec_of(model, true);
  layer->ops->forward(layer, x, y, 1, &exec);
  layer->ops->backward(layer, x, y, dy, dx, 1, &exec);
  for (size_t i = 0; i < n; i++) {
    double v = x[i], cdf = 0.5 * erfc(-v / sqrt(2.0)), phi = exp(-0.5 * v * v) / sqrt(2.0 * M_PI);
    double value = v * cdf, slope = cdf + v * phi;
    ck_assert_msg(fabs(y[i] - value) <= 3e-7 * fmax(1.0, fabs(v)),
                  "gelu at %g: %.9g, closed form %.9g", v, y[i], value);
    if (v < -1.0 && v > -10.0)
      ck_assert_msg(fabs(y[i] - value) <= 2e-5 * fabs(value), "gelu at %g: %.9g, closed form %.9g",
                    v, y[i], value);
    ck_assert_msg(fabs(dx[i] - slope) <= 2e-6 + 1e-5 * fabs(slope),
                  "gelu slope at %g: %.9g, closed form %.9g", v, dx[i], slope);
  }
  dlsc_model_destroy(model);
  free(x);
  free(y);
  free(dy);
  free(dx);
}
END_TEST

/* Each loss's gradient w.r.t. the outputs against central differences. */
START_TEST(losses) {
  const size_t count = 3, size = 5;
  float output[15], targets[15], scales[15], doutput[15];
  int32_t labels[3] = {4, 0, 2};
  fill_uniform(output, 15, -2, 2, 1);
  fill_uniform(targets, 15, -1, 1, 2);
  fill_uniform(scales, 15, 0.5f, 2, 3);
  dlsc_batch batch = {count, output, targets, scales, labels};
  dlsc_loss kinds[] = {DLSC_LOSS_MSE, DLSC_LOSS_MASK_MSE, DLSC_LOSS_CROSS_ENTROPY};
  for (size_t k = 0; k < 3; k++) {
    dlsc_train_config config;
    dlsc_train_config_init(&config);
    config.loss = kinds[k];
    config.label_smoothing = 0.1f;
    double loss, up, down;
    size_t correct;
    ck_assert_ok(dlsc_loss_compute(&config, output, count, size, &batch, doutput, &loss, &correct));
    for (size_t i = 0; i < count * size; i++) {
      float keep = output[i];
      output[i] = keep + 1e-3f;
      dlsc_loss_compute(&config, output, count, size, &batch, NULL, &up, &correct);
      output[i] = keep - 1e-3f;
      dlsc_loss_compute(&config, output, count, size, &batch, NULL, &down, &correct);
      output[i] = keep;
      if (kinds[k] == DLSC_LOSS_CROSS_ENTROPY) /* evaluation drops the smoothing */
        continue;
      expect_close(doutput[i], (up - down) / 2e-3, "loss output", i, "loss");
    }
  }
}
END_TEST

/* Cross-entropy with smoothing s: gradient is softmax - ((1-s) onehot + s/C), /count. */
START_TEST(cross_entropy_values) {
  float logits[4] = {0.0f, 0.0f, 0.0f, 0.0f}, dlogits[4];
  int32_t label = 1;
  dlsc_batch batch = {1, logits, NULL, NULL, &label};
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  config.loss = DLSC_LOSS_CROSS_ENTROPY;
  double loss;
  size_t correct;
  ck_assert_ok(dlsc_loss_compute(&config, logits, 1, 4, &batch, dlogits, &loss, &correct));
  ck_assert_double_eq_tol(loss, log(4.0), 1e-6);
  ck_assert_float_eq_tol(dlogits[1], 0.25f - 1.0f, 1e-6f);
  ck_assert_float_eq_tol(dlogits[0], 0.25f, 1e-6f);
  config.label_smoothing = 0.2f;
  ck_assert_ok(dlsc_loss_compute(&config, logits, 1, 4, &batch, dlogits, &loss, &correct));
  ck_assert_float_eq_tol(dlogits[1], 0.25f - 0.85f, 1e-6f);
  ck_assert_float_eq_tol(dlogits[0], 0.25f - 0.05f, 1e-6f);
}
END_TEST

/* The whole stack's parameter gradients, through dlsc_model_backward. */
START_TEST(stack) {
  dlsc_model_t *model;
  ck_assert_ok(dlsc_model_create_from_spec(
      "input 2x8x8; conv2d 3 3x3 pad=same; batchnorm; tanh; avgpool 2; conv2d 4 3x3; gelu; "
      "dense 3",
      5, &model));
  size_t batch = 4, in_size = 2 * 8 * 8, out_count = batch * 3;
  ck_assert_ok(dlsc_model_reserve(model, batch, true));
  float *x = malloc(batch * in_size * sizeof *x), r[12];
  fill_uniform(x, batch * in_size, -1, 1, 9);
  fill_uniform(r, out_count, -1, 1, 10);
  dlsc_model_forward(model, x, batch, true);
  dlsc_model_backward(model, x, r, batch);
  float *grads = malloc(model->n_params * sizeof *grads);
  memcpy(grads, model->grads, model->n_params * sizeof *grads);
  float *stats = malloc(model->n_stats * sizeof *stats);
  memcpy(stats, model->stats, model->n_stats * sizeof *stats);
  for (size_t i = 0; i < model->n_params; i += 7) {
    double value[2];
    for (int side = 0; side < 2; side++) {
      float keep = model->params[i];
      model->params[i] = keep + (side ? -1e-2f : 1e-2f);
      const float *y = dlsc_model_forward(model, x, batch, true);
      model->params[i] = keep;
      value[side] = 0.0;
      for (size_t j = 0; j < out_count; j++)
        value[side] += (double)y[j] * r[j];
    }
    expect_close(grads[i], (value[0] - value[1]) / 2e-2, "stack param", i, "stack");
  }
  free(x);
  free(grads);
  free(stats);
  dlsc_model_destroy(model);
}
END_TEST

#ifdef __GLIBC__
#include <malloc.h>
#endif

/* A width stride past the padded input leaves one output column, which reads the same
 * inputs at any such stride: a crafted model's stride of 2^22 computes, trains and
 * allocates as the stride in_w + p_w does (it had allocated rows 2^22 floats wide; the
 * fuzzer's 33,554,497 asked for 8.9 GB). The second pair pads by more than the input is
 * wide (3 columns each side of 2). */
START_TEST(huge_width_stride_is_one_column) {
  static const char *const specs[2][3] = {
      {"input 1x5x6; conv2d 3 3x3 stride=1x4194304 pad=1x1",
       "input 1x5x6; conv2d 3 3x3 stride=1x7 pad=1x1", "input 1x5x6; conv2d 3 3x3 pad=1x1"},
      {"input 1x5x2; conv2d 3 3x5 stride=1x4194304 pad=1x3",
       "input 1x5x2; conv2d 3 3x5 stride=1x5 pad=1x3", "input 1x5x2; conv2d 3 3x5 pad=1x3"}};
  static const size_t in_w[2] = {6, 2}, k_w[2] = {3, 5}, one_w[2] = {6, 4};
  for (int pair = 0; pair < 2; pair++) {
    dlsc_model_t *huge = from_spec(specs[pair][0], 7);
    dlsc_model_t *just = from_spec(specs[pair][1], 7);
    size_t n_in = 5 * in_w[pair], n_weights = 3 * 3 * k_w[pair] + 3;
    float x[2 * 30], y_huge[2 * 15], y_just[2 * 15], target[2 * 15];
    fill_uniform(x, 2 * n_in, -1, 1, 8);
    fill_uniform(target, 30, -1, 1, 9);
#ifdef __GLIBC__
    size_t before = mallinfo2().uordblks + mallinfo2().hblkhd;
#endif
    ck_assert_ok(dlsc_model_predict(huge, x, 2, y_huge));
#ifdef __GLIBC__
    size_t after = mallinfo2().uordblks + mallinfo2().hblkhd;
    ck_assert_uint_lt(after - before, (size_t)1 << 20); /* was 2 x 5 x 2^22 floats: 168 MB */
#endif
    ck_assert_ok(dlsc_model_predict(just, x, 2, y_just));
    ck_assert_mem_eq(y_huge, y_just, sizeof y_huge);
    /* The column is the first of the stride-1 convolution's (same seed, same weights). */
    dlsc_model_t *one = from_spec(specs[pair][2], 7);
    float y_one[2 * 15 * 6];
    ck_assert_ok(dlsc_model_predict(one, x, 2, y_one));
    for (size_t i = 0; i < 2 * 15; i++)
      ck_assert_float_eq_tol(y_one[i * one_w[pair]], y_just[i], 1e-5f);
    dlsc_model_destroy(one);
    dlsc_train_config config;
    dlsc_train_config_init(&config);
    ck_assert_ok(dlsc_model_set_training(huge, &config));
    ck_assert_ok(dlsc_model_set_training(just, &config));
    dlsc_batch batch = {2, x, target, NULL, NULL};
    ck_assert_ok(dlsc_model_train_batch(huge, &batch, NULL));
    ck_assert_ok(dlsc_model_train_batch(just, &batch, NULL));
    float w_huge[3 * 15 + 3], w_just[3 * 15 + 3];
    size_t count;
    ck_assert_ok(dlsc_model_get_values(huge, 0, w_huge, n_weights, &count));
    ck_assert_uint_eq(count, n_weights);
    ck_assert_ok(dlsc_model_get_values(just, 0, w_just, n_weights, &count));
    ck_assert_mem_eq(w_huge, w_just, n_weights * sizeof *w_huge);
    dlsc_model_destroy(huge);
    dlsc_model_destroy(just);
  }
}
END_TEST

int main(void) {
  Suite *suite = suite_create("layers");
  TCase *tc = tcase_create("gradients");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, dense);
  tcase_add_test(tc, conv2d);
  tcase_add_test(tc, conv1d);
  tcase_add_test(tc, conv_forward_is_the_direct_sum);
  tcase_add_test(tc, pooling);
  tcase_add_test(tc, pooling_is_a_plain_scan);
  tcase_add_test(tc, batchnorm);
  tcase_add_test(tc, batchnorm_running_statistics);
  tcase_add_test(tc, dropout);
  tcase_add_test(tc, activations);
  tcase_add_test(tc, gelu_matches_the_closed_form);
  tcase_add_test(tc, log_matches_libm);
  tcase_add_test(tc, sigmoid_matches_libm);
  tcase_add_test(tc, tanh_and_softplus_match_libm);
  tcase_add_test(tc, conv_bias_gradient);
  tcase_add_test(tc, losses);
  tcase_add_test(tc, cross_entropy_values);
  tcase_add_test(tc, stack);
  tcase_add_test(tc, huge_width_stride_is_one_column);
  suite_add_tcase(suite, tc);
  return run_suite(suite);
}
