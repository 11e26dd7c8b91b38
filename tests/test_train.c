/* Training: it learns, it is deterministic, optimizers do their arithmetic, frozen
 * layers stay put, and failures (divergence, NaN, bad labels) leave the model as it was. */
#include "common.h"
#include "internal.h"

#include <unistd.h>

static void set_training(dlsc_model_t *model, dlsc_optimizer optimizer, dlsc_loss loss, float rate,
                         size_t batch_size) {
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  config.optimizer = optimizer;
  config.loss = loss;
  config.learning_rate = rate;
  config.batch_size = batch_size;
  ck_assert_ok(dlsc_model_set_training(model, &config));
}

static dlsc_dataset_t *blobs(size_t count, uint64_t seed);

/* y = sin(x0) + x1 * x2 on 256 points: a small regression a 2-layer net fits. */
static void regression_data(float *x, float *y, size_t n) {
  fill_uniform(x, 3 * n, -1, 1, 77);
  for (size_t i = 0; i < n; i++)
    y[i] = sinf(2.0f * x[3 * i]) + x[3 * i + 1] * x[3 * i + 2];
}

START_TEST(regression_loss_falls) {
  dlsc_model_t *model = from_spec("input 1x1x3; dense 32; tanh; dense 32; tanh; dense 1", 3);
  set_training(model, DLSC_OPTIMIZER_ADAM, DLSC_LOSS_MSE, 1e-2f, 64);
  float x[3 * 256], y[256];
  regression_data(x, y, 256);
  dlsc_batch batch = {256, x, y, NULL, NULL};
  dlsc_train_stats first, last;
  ck_assert_ok(dlsc_model_train_batch(model, &batch, &first));
  for (int step = 0; step < 600; step++)
    ck_assert_ok(dlsc_model_train_batch(model, &batch, &last));
  ck_assert_double_lt(last.loss, first.loss / 50.0);
  ck_assert_uint_eq(last.count, 256);
  dlsc_model_destroy(model);
}
END_TEST

/* The loss dlsc_model_train_batch reports is the header's definition computed from the
 * model's outputs: MSE, masked MSE, cross-entropy with and without label smoothing, and
 * the count of correct arg-maxes. (The loss loop made parallel without a reduction,
 * in the test build whose every loop runs on a team, passed every other test.) */
START_TEST(reported_losses_are_their_definitions) {
  enum { N = 200, IN = 4, OUT = 5 };
  static float x[N * IN], y[N * OUT], targets[N * OUT], scales[N * OUT];
  int32_t labels[N];
  fill_uniform(x, N * IN, -1, 1, 5);
  fill_uniform(targets, N * OUT, -1, 1, 6);
  fill_uniform(scales, N * OUT, 0, 2, 7);
  for (size_t n = 0; n < N; n++)
    labels[n] = (int32_t)((n * 7) % OUT);
  const struct {
    dlsc_loss loss;
    float smoothing;
  } cases[] = {{DLSC_LOSS_MSE, 0.0f},
               {DLSC_LOSS_MASK_MSE, 0.0f},
               {DLSC_LOSS_CROSS_ENTROPY, 0.0f},
               {DLSC_LOSS_CROSS_ENTROPY, 0.1f}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    dlsc_model_t *model = from_spec("input 1x1x4; dense 5", 9);
    ck_assert_ok(dlsc_model_predict(model, x, N, y));
    double expected = 0.0;
    size_t correct = 0;
    bool classify = cases[k].loss == DLSC_LOSS_CROSS_ENTROPY;
    if (!classify) {
      for (size_t i = 0; i < N * OUT; i++) {
        double scale = cases[k].loss == DLSC_LOSS_MASK_MSE ? scales[i] : 1.0;
        double error = y[i] * scale - targets[i];
        expected += error * error;
      }
      expected /= N * OUT;
    } else {
      for (size_t n = 0; n < N; n++) {
        const float *z = y + n * OUT;
        size_t best = 0;
        for (size_t c = 1; c < OUT; c++)
          best = z[c] > z[best] ? c : best;
        double sum = 0.0;
        for (size_t c = 0; c < OUT; c++)
          sum += exp((double)z[c] - z[best]);
        double log_sum = z[best] + log(sum), s = cases[k].smoothing;
        for (size_t c = 0; c < OUT; c++)
          expected -= ((size_t)labels[n] == c ? 1.0 - s + s / OUT : s / OUT) * (z[c] - log_sum);
        correct += best == (size_t)labels[n];
      }
      expected /= N;
    }
    dlsc_train_config config;
    dlsc_train_config_init(&config);
    config.optimizer = DLSC_OPTIMIZER_SGD;
    config.loss = cases[k].loss;
    config.label_smoothing = cases[k].smoothing;
    config.batch_size = N;
    ck_assert_ok(dlsc_model_set_training(model, &config));
    dlsc_batch batch = {N, x, classify ? NULL : targets,
                        cases[k].loss == DLSC_LOSS_MASK_MSE ? scales : NULL,
                        classify ? labels : NULL};
    dlsc_train_stats stats;
    ck_assert_ok(dlsc_model_train_batch(model, &batch, &stats));
    ck_assert_double_eq_tol(stats.loss, expected, 1e-6 * expected);
    ck_assert_uint_eq(stats.count, N);
    if (classify)
      ck_assert_uint_eq(stats.correct, correct);
    dlsc_model_destroy(model);
  }
}
END_TEST

START_TEST(training_is_deterministic_for_a_seed) {
  unsigned char *bytes[2];
  size_t size[2];
  for (int run = 0; run < 2; run++) {
    dlsc_model_t *model = from_spec("input 1x1x3; dense 16; relu; dropout 0.2; dense 1", 11);
    set_training(model, DLSC_OPTIMIZER_SGD, DLSC_LOSS_MSE, 1e-2f, 16);
    float x[3 * 64], y[64];
    regression_data(x, y, 64);
    dlsc_batch batch = {64, x, y, NULL, NULL};
    for (int step = 0; step < 20; step++)
      ck_assert_ok(dlsc_model_train_batch(model, &batch, NULL));
    bytes[run] = model_bytes(model, &size[run]);
    dlsc_model_destroy(model);
  }
  ck_assert_uint_eq(size[0], size[1]);
  ck_assert_mem_eq(bytes[0], bytes[1], size[0]);
  free(bytes[0]);
  free(bytes[1]);
}
END_TEST

/* A one-layer model whose gradients the optimizer tests set by hand, and a default
 * training config for it. */
static dlsc_model_t *stepped_model(const char *spec, dlsc_train_config *config) {
  dlsc_model_t *model = from_spec(spec, 1);
  ck_assert_ok(dlsc_model_reserve(model, 1, true)); /* the gradients live in it */
  dlsc_train_config_init(config);
  return model;
}

/* One step from known gradients: the optimizers' closed forms. */
START_TEST(optimizer_first_steps) {
  dlsc_train_config config;
  dlsc_model_t *model = stepped_model("input 1x1x4; dense 3", &config);
  float before[15];
  for (int variant = 0; variant < 4; variant++) {
    config.optimizer = variant == 0 ? DLSC_OPTIMIZER_ADAM : DLSC_OPTIMIZER_SGD;
    config.learning_rate = 0.1f;
    config.momentum = variant == 2 ? 0.9f : 0.0f;
    config.nesterov = variant == 2;
    config.weight_decay = variant == 3 ? 0.5f : 0.0f;
    ck_assert_ok(dlsc_model_set_training(model, &config));
    dlsc_model_reset_optimizer(model);
    for (size_t i = 0; i < 15; i++)
      model->grads[i] = (i % 2 ? -1.0f : 1.0f) * (0.5f + (float)i);
    memcpy(before, model->params, sizeof before);
    ck_assert_ok(dlsc_optimizer_step(model));
    for (size_t i = 0; i < 15; i++) {
      float g = (i % 2 ? -1.0f : 1.0f) * (0.5f + (float)i), expected;
      bool weight = i < 12; /* 12 weights, then 3 biases that are not decayed */
      switch (variant) {
      case 0: expected = -0.1f * (g > 0 ? 1.0f : -1.0f); break; /* Adam: lr * sign(g) */
      case 1: expected = -0.1f * g; break;
      case 2: expected = -0.1f * 1.9f * g; break; /* Nesterov: g + mu * (mu*0 + g) */
      default: expected = -0.1f * (g + (weight ? 0.5f * before[i] : 0.0f)); break;
      }
      ck_assert_float_eq_tol(model->params[i] - before[i], expected, 1e-4f);
    }
  }
  dlsc_model_destroy(model);
}
END_TEST

/* Moments that would fall below FLT_MIN are stored as 0 (subnormals cost x86 a
 * microcode assist per vector): a zero gradient takes FLT_MIN to 0 and 1e-30 to 0.9e-30
 * (normal), for Adam's two moments and SGD's velocity, which SGD's step then uses. */
START_TEST(subnormal_moments_become_zero) {
  dlsc_train_config config;
  dlsc_model_t *model = stepped_model("input 1x1x2; dense 2", &config); /* 4 + 2 */
  for (int sgd = 0; sgd < 2; sgd++) {
    config.optimizer = sgd ? DLSC_OPTIMIZER_SGD : DLSC_OPTIMIZER_ADAM;
    ck_assert_ok(dlsc_model_set_training(model, &config));
    ck_assert_ok(dlsc_model_ensure_optimizer(model));
    const float start[6] = {FLT_MIN, -FLT_MIN, 1e-30f, -1e-30f, 2.0f * FLT_MIN, 0.0f};
    for (size_t i = 0; i < 6; i++) {
      model->grads[i] = 0.0f;
      model->moment1[i] = start[i];
      model->moment2[i] = fabsf(start[i]);
    }
    float before[6];
    memcpy(before, model->params, sizeof before);
    ck_assert_ok(dlsc_optimizer_step(model));
    for (size_t i = 0; i < 6; i++) {
      float m = (sgd ? config.momentum : config.beta1) * start[i];
      float v = config.beta2 * fabsf(start[i]);
      ck_assert(fpclassify(model->moment1[i]) != FP_SUBNORMAL);
      ck_assert_float_eq(model->moment1[i], fabsf(m) < FLT_MIN ? 0.0f : m);
      if (sgd) {
        float moved = before[i] - config.learning_rate * model->moment1[i];
        ck_assert_float_eq(model->params[i], moved);
      } else {
        ck_assert_float_eq(model->moment2[i], v < FLT_MIN ? 0.0f : v);
      }
    }
  }
  dlsc_model_destroy(model);
}
END_TEST

/* A NaN or infinite gradient fails the step with nothing changed, with clipping (the
 * norm pass finds it) and without (the update finds its non-finite result), also in a
 * tensor whose rate is 0 (0 times NaN is NaN) and through SGD without momentum. */
START_TEST(non_finite_gradients_are_refused) {
  dlsc_train_config config;
  dlsc_model_t *model = stepped_model("input 1x1x4; dense 3", &config); /* 12 + 3 */
  const float bad[3] = {NAN, INFINITY, -INFINITY};
  for (int variant = 0; variant < 24; variant++) {
    config.optimizer = variant % 2 ? DLSC_OPTIMIZER_SGD : DLSC_OPTIMIZER_ADAM;
    bool bias = variant / 2 % 2; /* the biases' rate is 0 */
    config.momentum = bias ? 0.0f : 0.9f;
    config.gradient_clip = variant / 4 % 2 ? 1.0f : 0.0f;
    ck_assert_ok(dlsc_model_set_training(model, &config));
    ck_assert_ok(dlsc_model_set_tensor_lr_scale(model, 0, DLSC_TENSOR_BIASES, 0.0f));
    ck_assert_ok(dlsc_model_ensure_optimizer(model));
    for (size_t i = 0; i < 15; i++) {
      model->grads[i] = 0.25f * (float)i;
      model->moment1[i] = 0.01f * (float)i;
      model->moment2[i] = 0.02f * (float)i;
    }
    model->grads[bias ? 13 : 5] = bad[variant / 8];
    float before[3][15];
    memcpy(before[0], model->params, sizeof before[0]);
    memcpy(before[1], model->moment1, sizeof before[1]);
    memcpy(before[2], model->moment2, sizeof before[2]);
    size_t step = model->step;
    ck_assert_status(dlsc_optimizer_step(model), DLSC_ERR_NUMERIC);
    ck_assert_mem_eq(model->params, before[0], sizeof before[0]);
    ck_assert_mem_eq(model->moment1, before[1], sizeof before[1]);
    ck_assert_mem_eq(model->moment2, before[2], sizeof before[2]);
    ck_assert_uint_eq(model->step, step);
  }
  dlsc_model_destroy(model);
}
END_TEST

/* The first step of a new 15-parameter dense layer whose gradients are all 100, at
 * learning rate 1 with gradient clipping at 2 (SGD without momentum, or Adam): how far
 * each parameter moved. */
static void clipped_first_step(dlsc_optimizer optimizer, float adam_epsilon, double moved[15]) {
  dlsc_model_t *model = from_spec("input 1x1x4; dense 3", 1);
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  config.optimizer = optimizer;
  config.momentum = 0.0f;
  config.learning_rate = 1.0f;
  config.adam_epsilon = adam_epsilon;
  config.gradient_clip = 2.0f;
  ck_assert_ok(dlsc_model_set_training(model, &config));
  ck_assert_ok(dlsc_model_reserve(model, 1, true));
  for (size_t i = 0; i < 15; i++)
    model->grads[i] = 100.0f;
  float before[15];
  memcpy(before, model->params, sizeof before);
  ck_assert_ok(dlsc_optimizer_step(model));
  for (size_t i = 0; i < 15; i++)
    moved[i] = (double)before[i] - model->params[i];
  dlsc_model_destroy(model);
}

START_TEST(schedules_and_clipping) {
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  config.learning_rate = 1.0f;
  config.schedule = DLSC_SCHEDULE_COSINE;
  config.warmup_steps = 10;
  config.total_steps = 110;
  ck_assert_float_eq_tol(dlsc_schedule_rate(&config, 0), 0.1f, 1e-6f);
  ck_assert_float_eq_tol(dlsc_schedule_rate(&config, 9), 1.0f, 1e-6f);
  ck_assert_float_eq_tol(dlsc_schedule_rate(&config, 60), 0.5f, 1e-6f);
  ck_assert_float_eq_tol(dlsc_schedule_rate(&config, 200), 0.0f, 1e-6f);
  config.schedule = DLSC_SCHEDULE_LINEAR;
  ck_assert_float_eq_tol(dlsc_schedule_rate(&config, 35), 0.75f, 1e-6f);
  dlsc_model_t *model = from_spec("input 1x1x4; dense 3", 1);
  config.total_steps = 5; /* warm-up longer than the schedule */
  ck_assert_status(dlsc_model_set_training(model, &config), DLSC_ERR_INVALID_ARGUMENT);
  dlsc_train_config_init(&config);
  config.optimizer = DLSC_OPTIMIZER_SGD;
  config.momentum = 0.0f;
  config.learning_rate = 1.0f;
  config.gradient_clip = 2.0f;
  ck_assert_ok(dlsc_model_set_training(model, &config));
  double moved[15], norm = 0.0;
  clipped_first_step(DLSC_OPTIMIZER_SGD, 1e-8f, moved);
  for (size_t i = 0; i < 15; i++)
    norm += moved[i] * moved[i];
  ck_assert_double_eq_tol(sqrt(norm), 2.0, 1e-4); /* the clipped norm, times lr 1 */
  /* Adam's first step moves each parameter by lr g / (|g| + eps) of the clipped gradient
   * g: with epsilon 0.5 the clipping shows (g = 2 / sqrt(15) per parameter) */
  clipped_first_step(DLSC_OPTIMIZER_ADAM, 0.5f, moved);
  double g = 2.0 / sqrt(15.0);
  for (size_t i = 0; i < 15; i++)
    ck_assert_double_eq_tol(moved[i], g / (g + 0.5), 1e-4);
  config.learning_rate = -1.0f;
  ck_assert_status(dlsc_model_set_training(model, &config), DLSC_ERR_INVALID_ARGUMENT);
  config.learning_rate = NAN;
  ck_assert_status(dlsc_model_set_training(model, &config), DLSC_ERR_INVALID_ARGUMENT);
  config.learning_rate = 0.1f;
  config.batch_size = 0;
  ck_assert_status(dlsc_model_set_training(model, &config), DLSC_ERR_INVALID_ARGUMENT);
  config.batch_size = 32;
  config.nesterov = 2; /* a flag is 0 or 1, as a layer's bias */
  ck_assert_status(dlsc_model_set_training(model, &config), DLSC_ERR_INVALID_ARGUMENT);
  config.nesterov = -1;
  ck_assert_status(dlsc_model_set_training(model, &config), DLSC_ERR_INVALID_ARGUMENT);
  config.nesterov = 1;
  ck_assert_ok(dlsc_model_set_training(model, &config));
  dlsc_model_destroy(model);
}
END_TEST

/* The L2 norm of one layer's values moved since before (count of them). */
static double moved_by(const dlsc_model_t *model, size_t layer, const float *before, size_t count) {
  float now[16];
  size_t n;
  ck_assert_ok(dlsc_model_get_values(model, layer, now, 16, &n));
  ck_assert_uint_eq(n, count);
  double sum = 0.0;
  for (size_t i = 0; i < n; i++)
    sum += pow((double)now[i] - before[i], 2);
  return sqrt(sum);
}

/* Gradient clipping measures the layers that update: a layer at rate scale 0 (its
 * gradients computed, not applied) or frozen (its gradients those of an earlier step)
 * does not count, so the layer that trains moves by the whole clip (SGD, rate 1). */
START_TEST(clipping_measures_the_layers_that_update) {
  dlsc_model_t *model = from_spec("input 1x1x3; dense 4; relu; dense 2", 3);
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  config.optimizer = DLSC_OPTIMIZER_SGD;
  config.loss = DLSC_LOSS_MSE;
  config.momentum = 0.0f;
  config.learning_rate = 1.0f;
  config.gradient_clip = 0.01f;
  ck_assert_ok(dlsc_model_set_training(model, &config));
  float x[12], y[8], first[16], last[10];
  fill_uniform(x, 12, -1.0f, 1.0f, 5);
  fill_uniform(y, 8, 2.0f, 3.0f, 6); /* far from the outputs: gradients well past the clip */
  dlsc_batch batch = {4, x, y, NULL, NULL};
  size_t n;
  for (int step = 0; step < 2; step++) {
    ck_assert_ok(dlsc_model_set_layer_lr_scale(model, 2, step == 0 ? 0.0f : 1.0f));
    ck_assert_ok(dlsc_model_set_layer_frozen(model, 0, step == 1));
    ck_assert_ok(dlsc_model_get_values(model, 0, first, 16, &n));
    ck_assert_ok(dlsc_model_get_values(model, 2, last, 10, &n));
    ck_assert_ok(dlsc_model_train_batch(model, &batch, NULL));
    ck_assert_double_eq_tol(moved_by(model, step == 0 ? 0 : 2, step == 0 ? first : last,
                                     step == 0 ? 16 : 10),
                            0.01, 1e-5);
    ck_assert_double_eq(moved_by(model, step == 0 ? 2 : 0, step == 0 ? last : first,
                                 step == 0 ? 10 : 16),
                        0.0);
  }
  dlsc_model_destroy(model);
}
END_TEST

START_TEST(frozen_layers_and_rate_scales) {
  dlsc_model_t *model = from_spec("input 1x1x3; dense 8; batchnorm; relu; dense 4; relu; dense 1", 2);
  set_training(model, DLSC_OPTIMIZER_SGD, DLSC_LOSS_MSE, 1e-2f, 32);
  ck_assert_ok(dlsc_model_set_layer_frozen(model, 0, 1));
  ck_assert_ok(dlsc_model_set_layer_frozen(model, 1, 1));
  ck_assert_ok(dlsc_model_set_layer_lr_scale(model, 3, 0.0f));
  const dlsc_layer *dense0 = &model->layers[0], *bn = &model->layers[1];
  const dlsc_layer *dense3 = &model->layers[3], *dense5 = &model->layers[5];
  float frozen[32], bn_params[16], bn_stats[16], scaled[32 + 4], last[5];
  memcpy(frozen, dense0->params, sizeof frozen);
  memcpy(bn_params, bn->params, sizeof bn_params);
  memcpy(bn_stats, bn->stats, sizeof bn_stats);
  memcpy(scaled, dense3->params, sizeof scaled);
  memcpy(last, dense5->params, sizeof last);
  float x[96], y[32];
  regression_data(x, y, 32);
  dlsc_batch batch = {32, x, y, NULL, NULL};
  for (int step = 0; step < 5; step++)
    ck_assert_ok(dlsc_model_train_batch(model, &batch, NULL));
  dense0 = &model->layers[0], bn = &model->layers[1]; /* views move with the swap */
  dense3 = &model->layers[3], dense5 = &model->layers[5];
  ck_assert_mem_eq(dense0->params, frozen, sizeof frozen);
  ck_assert_mem_eq(bn->params, bn_params, sizeof bn_params);
  ck_assert_mem_eq(bn->stats, bn_stats, sizeof bn_stats); /* frozen: running stats kept */
  ck_assert_mem_eq(dense3->params, scaled, sizeof scaled);
  ck_assert_double_gt(max_abs_diff(dense5->params, last, 5), 1e-6);
  dlsc_model_destroy(model);
}
END_TEST

/* Every layer frozen: a step still reports the loss of the batch (a frozen batch-norm
 * normalises with its running statistics, so the loss is that of the predictions) and
 * changes no weight or statistic; the step count goes on, as the schedule's clock. */
START_TEST(a_model_with_every_layer_frozen_trains_nothing) {
  dlsc_model_t *model = from_spec("input 1x1x3; dense 4; batchnorm; relu; dense 1", 2);
  set_training(model, DLSC_OPTIMIZER_ADAM, DLSC_LOSS_MSE, 1e-1f, 8);
  for (size_t i = 0; i < 4; i++)
    ck_assert_ok(dlsc_model_set_layer_frozen(model, i, 1));
  float x[24], y[8], predicted[8];
  regression_data(x, y, 8);
  ck_assert_ok(dlsc_model_predict(model, x, 8, predicted));
  double expected = 0.0;
  for (int i = 0; i < 8; i++)
    expected += pow((double)predicted[i] - y[i], 2) / 8.0;
  size_t size;
  unsigned char *before = model_bytes(model, &size);
  dlsc_batch batch = {8, x, y, NULL, NULL};
  dlsc_train_stats stats;
  for (int step = 0; step < 3; step++) {
    ck_assert_ok(dlsc_model_train_batch(model, &batch, &stats));
    ck_assert_double_eq_tol(stats.loss, expected, 1e-6);
    ck_assert_uint_eq(stats.count, 8);
  }
  assert_model_unchanged(model, before, size);
  ck_assert_uint_eq(model->step, 3);
  free(before);
  dlsc_model_destroy(model);
  /* An epoch in batches of 16, 16 and 8 reports the mean loss over its 40 examples,
   * each batch weighed by its size: that of evaluating the unchanged model. */
  dlsc_dataset_t *data = blobs(40, 1);
  model = from_spec("input 2x1x1; dense 4", 3);
  set_training(model, DLSC_OPTIMIZER_ADAM, DLSC_LOSS_CROSS_ENTROPY, 1e-2f, 16);
  ck_assert_ok(dlsc_model_set_layer_frozen(model, 0, 1));
  dlsc_eval_stats eval;
  ck_assert_ok(dlsc_model_evaluate(model, data, &eval, NULL));
  ck_assert_ok(dlsc_model_train_epoch(model, data, &stats));
  ck_assert_uint_eq(stats.count, 40);
  ck_assert_double_eq_tol(stats.loss, eval.loss, 1e-6);
  ck_assert_uint_eq((size_t)lround(eval.accuracy * 40.0), stats.correct);
  dlsc_model_destroy(model);
  dlsc_dataset_destroy(data);
}
END_TEST

START_TEST(divergence_leaves_the_model_unchanged) {
  dlsc_model_t *model = from_spec("input 1x1x3; dense 8; relu; dense 1", 4);
  set_training(model, DLSC_OPTIMIZER_SGD, DLSC_LOSS_MSE, 1e3f, 16);
  float x[48], y[16];
  regression_data(x, y, 16);
  for (int i = 0; i < 16; i++)
    y[i] *= 1e4f;
  dlsc_batch batch = {16, x, y, NULL, NULL};
  dlsc_status status = DLSC_OK;
  for (int step = 0; step < 50 && status == DLSC_OK; step++) {
    size_t size;
    unsigned char *before = model_bytes(model, &size);
    status = dlsc_model_train_batch(model, &batch, NULL);
    if (status != DLSC_OK)
      assert_model_unchanged(model, before, size);
    free(before);
  }
  ck_assert_status(status, DLSC_ERR_NUMERIC);
  dlsc_model_destroy(model);
}
END_TEST

/* Finite inputs near 1e21 overflow batch-norm's running variance (float): the step is
 * refused and the model stays loadable (found by the training fuzz target, which saw
 * such a step succeed and leave an infinite statistic that the loader then refused). */
START_TEST(huge_inputs_do_not_overflow_batchnorm_statistics) {
  dlsc_model_t *model = from_spec("input 2x3x3; conv2d 2 3x3 pad=same; batchnorm; relu; dense 2", 5);
  set_training(model, DLSC_OPTIMIZER_ADAM, DLSC_LOSS_MSE, 1e-1f, 4);
  float x[4 * 18], y[4 * 2];
  fill_uniform(x, 4 * 18, 0.0f, 1e21f, 3);
  fill_uniform(y, 4 * 2, 0.0f, 1.0f, 4);
  dlsc_batch batch = {4, x, y, NULL, NULL};
  size_t size;
  unsigned char *before = model_bytes(model, &size);
  ck_assert_status(dlsc_model_train_batch(model, &batch, NULL), DLSC_ERR_NUMERIC);
  assert_model_unchanged(model, before, size);
  for (size_t i = 0; i < 4 * 18; i++)
    x[i] *= 1e-21f; /* the same at ordinary levels trains */
  ck_assert_ok(dlsc_model_train_batch(model, &batch, NULL));
  free(before);
  dlsc_model_destroy(model);
}
END_TEST

/* The ranges dlsc.h states for the training settings, each at its edge (accepted) and
 * just past it (refused, the settings in force kept). */
START_TEST(train_config_limits_are_the_documented_ones) {
  dlsc_model_t *model = from_spec("input 1x1x4; dense 3", 1);
  dlsc_train_config config;
  const float below_one = nextafterf(1.0f, 0.0f);
  struct {
    const char *what;
    float *field;
    float value;
    bool valid;
  } floats[] = {
      {"learning_rate", &config.learning_rate, 1e4f, true},
      {"learning_rate", &config.learning_rate, nextafterf(1e4f, INFINITY), false},
      {"learning_rate", &config.learning_rate, 0.0f, false},
      {"learning_rate", &config.learning_rate, NAN, false},
      {"momentum", &config.momentum, 0.0f, true},
      {"momentum", &config.momentum, below_one, true},
      {"momentum", &config.momentum, 1.0f, false},
      {"momentum", &config.momentum, -0.1f, false},
      {"beta1", &config.beta1, below_one, true},
      {"beta1", &config.beta1, 1.0f, false},
      {"beta2", &config.beta2, 0.0f, true},
      {"beta2", &config.beta2, 1.0f, false},
      {"adam_epsilon", &config.adam_epsilon, below_one, true},
      {"adam_epsilon", &config.adam_epsilon, 1.0f, false},
      {"adam_epsilon", &config.adam_epsilon, 0.0f, false},
      {"weight_decay", &config.weight_decay, nextafterf(1e3f, 0.0f), true},
      {"weight_decay", &config.weight_decay, 1e3f, false},
      {"weight_decay", &config.weight_decay, -1e-3f, false},
      {"label_smoothing", &config.label_smoothing, below_one, true},
      {"label_smoothing", &config.label_smoothing, 1.0f, false},
      {"gradient_clip", &config.gradient_clip, 0.0f, true},
      {"gradient_clip", &config.gradient_clip, 1e30f, true},
      {"gradient_clip", &config.gradient_clip, INFINITY, false},
      {"gradient_clip", &config.gradient_clip, -1.0f, false},
      {"lookahead_rho", &config.lookahead_rho, 1.0f, true},
      {"lookahead_rho", &config.lookahead_rho, nextafterf(1.0f, 2.0f), false},
      {"lookahead_rho", &config.lookahead_rho, -0.1f, false},
  };
  dlsc_train_config in_force;
  dlsc_train_config_init(&in_force);
  in_force.learning_rate = 0.125f;
  ck_assert_ok(dlsc_model_set_training(model, &in_force));
  for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) {
    dlsc_train_config_init(&config);
    *floats[i].field = floats[i].value;
    dlsc_status status = dlsc_model_set_training(model, &config);
    ck_assert_msg(status == (floats[i].valid ? DLSC_OK : DLSC_ERR_INVALID_ARGUMENT),
                  "%s = %g gave %d", floats[i].what, (double)floats[i].value, status);
    if (status == DLSC_OK)
      ck_assert_ok(dlsc_model_set_training(model, &in_force));
    ck_assert_float_eq(model->train.learning_rate, 0.125f); /* kept */
  }
  for (int i = 0; i < 7; i++) { /* the enums, flags, counts and the schedule's length */
    dlsc_train_config_init(&config);
    switch (i) {
    case 0: config.optimizer = (dlsc_optimizer)2; break;
    case 1: config.loss = (dlsc_loss)3; break;
    case 2: config.schedule = (dlsc_schedule)3; break;
    case 3: config.nesterov = 2; break;
    case 4: config.batch_size = 0; break;
    case 5:
      config.schedule = DLSC_SCHEDULE_COSINE;
      config.warmup_steps = config.total_steps = 5;
      break;
    default: config.schedule = DLSC_SCHEDULE_LINEAR; config.total_steps = 0; break;
    }
    ck_assert_msg(dlsc_model_set_training(model, &config) == DLSC_ERR_INVALID_ARGUMENT,
                  "setting %d was not refused", i);
    ck_assert_float_eq(model->train.learning_rate, 0.125f);
  }
  config.total_steps = 1; /* one step past no warm-up: a schedule */
  ck_assert_ok(dlsc_model_set_training(model, &config));
  dlsc_model_destroy(model);
}
END_TEST

START_TEST(bad_batches_are_refused_without_change) {
  dlsc_model_t *model = from_spec("input 1x1x3; dense 4; batchnorm; dense 3", 4);
  set_training(model, DLSC_OPTIMIZER_ADAM, DLSC_LOSS_CROSS_ENTROPY, 1e-2f, 4);
  float x[12], y[12];
  fill_uniform(x, 12, -1, 1, 1);
  int32_t labels[4] = {0, 1, 2, 3};
  dlsc_batch batch = {4, x, NULL, NULL, labels};
  size_t size;
  unsigned char *before = model_bytes(model, &size);
  ck_assert_status(dlsc_model_train_batch(model, &batch, NULL), DLSC_ERR_INVALID_ARGUMENT);
  labels[3] = -1;
  ck_assert_status(dlsc_model_train_batch(model, &batch, NULL), DLSC_ERR_INVALID_ARGUMENT);
  labels[3] = 2;
  batch.labels = NULL;
  ck_assert_status(dlsc_model_train_batch(model, &batch, NULL), DLSC_ERR_INVALID_ARGUMENT);
  batch.labels = labels;
  x[4] = NAN; /* a NaN input gives a NaN loss: refused, statistics restored */
  ck_assert_status(dlsc_model_train_batch(model, &batch, NULL), DLSC_ERR_NUMERIC);
  assert_model_unchanged(model, before, size);
  x[4] = 0.5f;
  set_training(model, DLSC_OPTIMIZER_ADAM, DLSC_LOSS_MSE, 1e-2f, 4);
  fill_uniform(y, 12, -1, 1, 2);
  y[7] = INFINITY;
  batch.targets = y;
  ck_assert_status(dlsc_model_train_batch(model, &batch, NULL), DLSC_ERR_NUMERIC);
  assert_model_unchanged(model, before, size);
  y[7] = 0.5f;
  set_training(model, DLSC_OPTIMIZER_ADAM, DLSC_LOSS_MASK_MSE, 1e-2f, 4);
  ck_assert_status(dlsc_model_train_batch(model, &batch, NULL),
                   DLSC_ERR_INVALID_ARGUMENT); /* a mask's loss needs the scales */
  assert_model_unchanged(model, before, size);
  batch.count = 0;
  ck_assert_status(dlsc_model_train_batch(model, &batch, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_train_batch(model, NULL, NULL), DLSC_ERR_INVALID_ARGUMENT);
  free(before);
  dlsc_model_destroy(model);
}
END_TEST

/* Four Gaussian blobs in 2-D: an epoch loop reaches near-perfect accuracy. */
static dlsc_dataset_t *blobs(size_t count, uint64_t seed) {
  dlsc_dataset_t *dataset = images_dataset(2, 1, 1, 4, seed);
  float *points = malloc(2 * count * sizeof *points);
  int32_t *labels = malloc(count * sizeof *labels);
  fill_uniform(points, 2 * count, -0.15f, 0.15f, seed);
  for (size_t i = 0; i < count; i++) {
    labels[i] = (int32_t)(i % 4);
    points[2 * i] += labels[i] % 2 ? 0.75f : 0.25f;
    points[2 * i + 1] += labels[i] / 2 ? 0.75f : 0.25f;
  }
  ck_assert_ok(dlsc_dataset_add_images_f32(dataset, points, labels, count));
  free(points);
  free(labels);
  return dataset;
}

START_TEST(epochs_learn_and_evaluate) {
  dlsc_dataset_t *train = blobs(400, 1), *test = blobs(200, 2);
  dlsc_model_t *model = from_spec("input 2x1x1; dense 16; relu; dense 4", 3);
  set_training(model, DLSC_OPTIMIZER_ADAM, DLSC_LOSS_CROSS_ENTROPY, 2e-2f, 32);
  dlsc_train_stats stats;
  for (int epoch = 0; epoch < 30; epoch++)
    ck_assert_ok(dlsc_model_train_epoch(model, train, &stats));
  ck_assert_uint_eq(stats.count, 400);
  dlsc_eval_stats eval;
  size_t confusion[16], total = 0, diagonal = 0;
  ck_assert_ok(dlsc_model_evaluate(model, test, &eval, confusion));
  ck_assert_double_gt(eval.accuracy, 0.97);
  for (int i = 0; i < 16; i++) {
    total += confusion[i];
    diagonal += i % 5 == 0 ? confusion[i] : 0;
  }
  ck_assert_uint_eq(total, 200);
  ck_assert_double_eq_tol((double)diagonal / 200.0, eval.accuracy, 1e-12);
  dlsc_model_destroy(model);
  dlsc_dataset_destroy(train);
  dlsc_dataset_destroy(test);
}
END_TEST

START_TEST(epoch_arguments_are_checked) {
  dlsc_dataset_t *data = blobs(40, 1);
  dlsc_model_t *model = from_spec("input 2x1x1; dense 4", 3), *wrong = from_spec("input 2x1x1; dense 5", 3);
  set_training(model, DLSC_OPTIMIZER_ADAM, DLSC_LOSS_CROSS_ENTROPY, 1e-2f, 41);
  set_training(wrong, DLSC_OPTIMIZER_ADAM, DLSC_LOSS_CROSS_ENTROPY, 1e-2f, 8);
  dlsc_train_stats stats;
  ck_assert_status(dlsc_model_train_epoch(model, data, &stats), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_train_epoch(wrong, data, &stats), DLSC_ERR_SHAPE_MISMATCH);
  ck_assert_ok(dlsc_dataset_set_task(data, DLSC_TASK_ROTATE4)); /* 4 labels: fits 4 outputs */
  set_training(model, DLSC_OPTIMIZER_ADAM, DLSC_LOSS_CROSS_ENTROPY, 1e-2f, 8);
  ck_assert_ok(dlsc_model_train_epoch(model, data, &stats));
  ck_assert_uint_eq(stats.count, 160);
  dlsc_dataset_t *empty = images_dataset(3, 32, 32, 10, 1);
  ck_assert_status(dlsc_model_train_epoch(model, empty, &stats), DLSC_ERR_INVALID_ARGUMENT);
  dlsc_eval_stats eval;
  ck_assert_status(dlsc_model_evaluate(model, empty, &eval, NULL), DLSC_ERR_INVALID_ARGUMENT);
  /* inputs of another shape than the model's: refused by both, whatever the outputs */
  dlsc_model_t *other_input = from_spec("input 1x2x1; dense 4", 3);
  set_training(other_input, DLSC_OPTIMIZER_ADAM, DLSC_LOSS_CROSS_ENTROPY, 1e-2f, 8);
  ck_assert_status(dlsc_model_train_epoch(other_input, data, &stats), DLSC_ERR_SHAPE_MISMATCH);
  ck_assert_status(dlsc_model_evaluate(other_input, data, &eval, NULL), DLSC_ERR_SHAPE_MISMATCH);
  dlsc_model_destroy(other_input);
  /* a confusion matrix needs classes: refused for a model of MSE on frames */
  dlsc_frames_config frames;
  dlsc_frames_config_init(&frames);
  frames.n_bins = 4;
  dlsc_dataset_t *pairs;
  ck_assert_ok(dlsc_dataset_create_frames(&frames, 1, &pairs));
  float values[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  ck_assert_ok(dlsc_dataset_add_frames(pairs, values, values, 2));
  dlsc_model_t *regression = from_spec("input 1x1x4; dense 4", 3);
  set_training(regression, DLSC_OPTIMIZER_ADAM, DLSC_LOSS_MSE, 1e-2f, 2);
  size_t confusion[16];
  ck_assert_ok(dlsc_model_evaluate(regression, pairs, &eval, NULL));
  ck_assert_status(dlsc_model_evaluate(regression, pairs, &eval, confusion),
                   DLSC_ERR_INVALID_ARGUMENT);
  dlsc_model_destroy(regression);
  dlsc_dataset_destroy(pairs);
  dlsc_model_destroy(model);
  dlsc_model_destroy(wrong);
  dlsc_dataset_destroy(data);
  dlsc_dataset_destroy(empty);
}
END_TEST

/* The progress callback of dlsc_model_train_epoch: one call per batch with the epoch's
 * statistics so far; a non-zero return cancels the epoch, which is rolled back like a
 * failed one; a callback that lets the epoch run changes nothing in its result. */
typedef struct progress_log {
  size_t calls, stop_at, batches, done[8];
  dlsc_train_stats last;
} progress_log;

static int log_progress(void *user, size_t done, size_t batches, const dlsc_train_stats *so_far) {
  progress_log *log = user;
  log->done[log->calls++ % 8] = done;
  log->batches = batches;
  log->last = *so_far;
  return done == log->stop_at;
}

/* In batches of one every example trains: only a lone example after full batches of
 * several is dropped (it would give batch-norm no statistics). */
START_TEST(batches_of_one_train_every_example) {
  dlsc_dataset_t *data = blobs(5, 1);
  dlsc_model_t *model = from_spec("input 2x1x1; dense 4", 3);
  progress_log log = {0};
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  config.loss = DLSC_LOSS_CROSS_ENTROPY;
  config.batch_size = 1;
  config.progress = log_progress;
  config.progress_user = &log;
  ck_assert_ok(dlsc_model_set_training(model, &config));
  dlsc_train_stats stats;
  ck_assert_ok(dlsc_model_train_epoch(model, data, &stats));
  ck_assert_uint_eq(stats.count, 5);
  ck_assert_uint_eq(log.calls, 5);
  ck_assert_uint_eq(log.batches, 5);
  ck_assert_uint_eq(model->step, 5);
  dlsc_dataset_destroy(data);
  dlsc_model_destroy(model);
}
END_TEST

START_TEST(progress_reports_batches_and_cancels) {
  /* 41 examples in batches of 8: five batches, the lone last example dropped. */
  dlsc_dataset_t *data = blobs(41, 1), *twin = blobs(41, 1);
  dlsc_model_t *model = from_spec("input 2x1x1; dense 8; relu; dense 4", 3), *plain;
  ck_assert_ok(dlsc_model_clone(model, &plain));
  set_training(plain, DLSC_OPTIMIZER_ADAM, DLSC_LOSS_CROSS_ENTROPY, 1e-2f, 8);
  progress_log log = {0};
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  ck_assert(config.progress == NULL && config.progress_user == NULL);
  config.loss = DLSC_LOSS_CROSS_ENTROPY;
  config.learning_rate = 1e-2f;
  config.batch_size = 8;
  config.progress = log_progress;
  config.progress_user = &log;
  ck_assert_ok(dlsc_model_set_training(model, &config));

  dlsc_train_stats stats, plain_stats;
  ck_assert_ok(dlsc_model_train_epoch(model, data, &stats));
  ck_assert_ok(dlsc_model_train_epoch(plain, twin, &plain_stats));
  ck_assert_uint_eq(log.calls, 5);
  ck_assert_uint_eq(log.batches, 5);
  for (size_t i = 0; i < 5; i++)
    ck_assert_uint_eq(log.done[i], i + 1);
  ck_assert_uint_eq(log.last.count, 40);
  ck_assert_uint_eq(log.last.correct, stats.correct);
  ck_assert_double_eq_tol(log.last.loss, stats.loss, 1e-12);
  size_t size, plain_size;
  unsigned char *before = model_bytes(model, &size), *expected = model_bytes(plain, &plain_size);
  ck_assert_uint_eq(size, plain_size);
  ck_assert_mem_eq(before, expected, size);
  free(expected);

  /* Cancelled after the third batch: status, nothing changed, the next epoch as if the
   * cancelled one had never run. */
  dlsc_batch batch;
  ck_assert_ok(dlsc_dataset_get_batch(data, 0, 41, 0, &batch));
  float order_before[41 * 2];
  memcpy(order_before, batch.inputs, sizeof order_before);
  log.calls = 0;
  log.stop_at = 3;
  dlsc_train_stats untouched = {.loss = -1.0, .correct = 99, .count = 99};
  stats = untouched;
  ck_assert_status(dlsc_model_train_epoch(model, data, &stats), DLSC_ERR_CANCELLED);
  ck_assert_uint_eq(log.calls, 3);
  ck_assert_mem_eq(&stats, &untouched, sizeof stats);
  assert_model_unchanged(model, before, size);
  ck_assert_ok(dlsc_dataset_get_batch(data, 0, 41, 0, &batch));
  ck_assert_mem_eq(batch.inputs, order_before, sizeof order_before);
  log.stop_at = 0;
  ck_assert_ok(dlsc_model_train_epoch(model, data, &stats));
  ck_assert_ok(dlsc_model_train_epoch(plain, twin, &plain_stats));
  ck_assert_double_eq(stats.loss, plain_stats.loss);
  free(before);
  before = model_bytes(model, &size);
  expected = model_bytes(plain, &plain_size);
  ck_assert_mem_eq(before, expected, size);

  /* A clone keeps the callback, but none of the trained model's training memory. */
  dlsc_model_t *copy;
  ck_assert_ok(dlsc_model_clone(model, &copy));
  ck_assert_ptr_nonnull(model->grads);
  ck_assert_ptr_nonnull(model->moment1);
  ck_assert_ptr_null(copy->grads);
  ck_assert_ptr_null(copy->moment1);
  ck_assert_ptr_null(copy->act_memory);
  log.calls = 0;
  ck_assert_ok(dlsc_model_train_epoch(copy, data, &stats));
  ck_assert_uint_eq(log.calls, 5);
  free(before);
  free(expected);
  dlsc_model_destroy(copy);
  dlsc_model_destroy(model);
  dlsc_model_destroy(plain);
  dlsc_dataset_destroy(data);
  dlsc_dataset_destroy(twin);
}
END_TEST

/* An epoch that fails half-way is rolled back: model and dataset order as before. One
 * frame's target is too large to square; a twin dataset with the same seed shows that
 * the shuffle puts it after two good batches, which did update the model. */
static dlsc_dataset_t *frames_with_poison(void) {
  dlsc_frames_config config;
  dlsc_frames_config_init(&config);
  config.n_bins = 4;
  dlsc_dataset_t *data;
  ck_assert_ok(dlsc_dataset_create_frames(&config, 5, &data));
  float noisy[64 * 4], target[64 * 4];
  fill_uniform(noisy, 64 * 4, 0, 1, 1);
  fill_uniform(target, 64 * 4, 0, 1, 2);
  target[63 * 4] = 1e30f;
  ck_assert_ok(dlsc_dataset_add_frames(data, noisy, target, 64));
  return data;
}

START_TEST(failed_epoch_is_rolled_back) {
  dlsc_dataset_t *data = frames_with_poison(), *twin = frames_with_poison();
  dlsc_batch batch;
  ck_assert_ok(dlsc_dataset_shuffle(twin));
  ck_assert_ok(dlsc_dataset_get_batch(twin, 0, 64, 0, &batch));
  /* the poisoned target is the batch's largest (compared as stored floats: 1e30f as a
   * constant may be the double 1e30 where float expressions are evaluated wider) */
  size_t position = 0;
  for (size_t i = 1; i < 64; i++)
    position = batch.targets[i * 4] > batch.targets[position * 4] ? i : position;
  ck_assert_uint_ge(position, 8); /* batches of 4: at least two succeed first */
  dlsc_model_t *model = from_spec("input 1x1x4; dense 16; relu; dense 4", 6);
  set_training(model, DLSC_OPTIMIZER_SGD, DLSC_LOSS_MSE, 1e-2f, 4);
  size_t size;
  unsigned char *before = model_bytes(model, &size);
  ck_assert_ok(dlsc_dataset_get_batch(data, 0, 64, 0, &batch));
  float order_before[64 * 4];
  memcpy(order_before, batch.targets, sizeof order_before);
  dlsc_train_stats stats;
  ck_assert_status(dlsc_model_train_epoch(model, data, &stats), DLSC_ERR_NUMERIC);
  assert_model_unchanged(model, before, size);
  ck_assert_uint_eq(model->step, 0);
  ck_assert_ok(dlsc_dataset_get_batch(data, 0, 64, 0, &batch));
  ck_assert_mem_eq(batch.targets, order_before, sizeof order_before);
  free(before);
  dlsc_model_destroy(model);
  dlsc_dataset_destroy(data);
  dlsc_dataset_destroy(twin);
}
END_TEST

/* The rollback covers the alternating flip's epoch parity too: after a failed epoch the
 * batches come out mirrored as before it. */
START_TEST(failed_epoch_keeps_the_flip_parity) {
  dlsc_dataset_t *data = images_dataset(1, 2, 2, 2, 3);
  float pixels[16 * 4];
  int32_t labels[16];
  fill_uniform(pixels, 16 * 4, 0.0f, 1e21f, 7); /* overflow batch-norm's variance, as above */
  for (int i = 0; i < 16; i++)
    labels[i] = i % 2;
  ck_assert_ok(dlsc_dataset_add_images_f32(data, pixels, labels, 16));
  dlsc_augment_config augment;
  dlsc_augment_config_init(&augment);
  augment.horizontal_flip = DLSC_FLIP_ALTERNATE;
  ck_assert_ok(dlsc_dataset_set_augment(data, &augment));
  ck_assert_ok(dlsc_dataset_shuffle(data));
  dlsc_batch batch;
  ck_assert_ok(dlsc_dataset_get_batch(data, 0, 16, 1, &batch));
  float before[16 * 4];
  memcpy(before, batch.inputs, sizeof before);
  dlsc_model_t *model = from_spec("input 1x2x2; conv2d 2 2x2 pad=same; batchnorm; relu; dense 2", 6);
  set_training(model, DLSC_OPTIMIZER_SGD, DLSC_LOSS_CROSS_ENTROPY, 1e-2f, 4);
  dlsc_train_stats stats;
  ck_assert_status(dlsc_model_train_epoch(model, data, &stats), DLSC_ERR_NUMERIC);
  ck_assert_ok(dlsc_dataset_get_batch(data, 0, 16, 1, &batch));
  ck_assert_mem_eq(batch.inputs, before, sizeof before);
  dlsc_model_destroy(model);
  dlsc_dataset_destroy(data);
}
END_TEST

/* A step whose new values overflow, though its loss and gradients are finite, changes
 * nothing: alone (the spare arrays are dropped) and in an epoch (rolled back). Targets of
 * 1e22 give gradients near 1e21 (the loss sums in double), whose squares overflow Adam's
 * second moment (float). */
START_TEST(optimizer_overflow_changes_nothing) {
  dlsc_frames_config frames;
  dlsc_frames_config_init(&frames);
  frames.n_bins = 4;
  dlsc_dataset_t *good, *poisoned;
  ck_assert_ok(dlsc_dataset_create_frames(&frames, 5, &good));
  ck_assert_ok(dlsc_dataset_create_frames(&frames, 5, &poisoned));
  float noisy[16 * 4], target[16 * 4];
  fill_uniform(noisy, 16 * 4, 0, 1, 1);
  fill_uniform(target, 16 * 4, 0, 1, 2);
  ck_assert_ok(dlsc_dataset_add_frames(good, noisy, target, 16));
  for (int i = 0; i < 16 * 4; i++)
    target[i] = 1e22f;
  ck_assert_ok(dlsc_dataset_add_frames(poisoned, noisy, target, 16));
  dlsc_model_t *model = from_spec("input 1x1x4; dense 8; relu; dense 4", 6);
  set_training(model, DLSC_OPTIMIZER_ADAM, DLSC_LOSS_MSE, 1e-2f, 4);
  dlsc_train_stats stats;
  ck_assert_ok(dlsc_model_train_epoch(model, good, &stats)); /* moments of 4 steps */
  size_t size, n = model->n_params;
  unsigned char *before = model_bytes(model, &size);
  float *moments = malloc(2 * n * sizeof *moments);
  ck_assert_ptr_nonnull(moments);
  memcpy(moments, model->moment1, n * sizeof *moments);
  memcpy(moments + n, model->moment2, n * sizeof *moments);
  for (int epoch = 0; epoch < 2; epoch++) {
    dlsc_batch batch;
    ck_assert_ok(dlsc_dataset_get_batch(poisoned, 0, 4, 0, &batch));
    dlsc_status status = epoch ? dlsc_model_train_epoch(model, poisoned, &stats)
                               : dlsc_model_train_batch(model, &batch, &stats);
    ck_assert_status(status, DLSC_ERR_NUMERIC);
    assert_model_unchanged(model, before, size);
    ck_assert_mem_eq(model->moment1, moments, n * sizeof *moments);
    ck_assert_mem_eq(model->moment2, moments + n, n * sizeof *moments);
    ck_assert_uint_eq(model->step, 4);
  }
  ck_assert_ok(dlsc_model_train_epoch(model, good, &stats)); /* and it trains on */
  ck_assert(isfinite(stats.loss));
  free(moments);
  free(before);
  dlsc_model_destroy(model);
  dlsc_dataset_destroy(good);
  dlsc_dataset_destroy(poisoned);
}
END_TEST

/* The dense layer's 32 values, then the batch-norm layer's 32 (gamma, beta, running
 * mean, running variance), of tensor_rate_scales' model. */
static void first_two_layers(const dlsc_model_t *model, float values[64]) {
  size_t count;
  ck_assert_ok(dlsc_model_get_values(model, 0, values, 32, &count));
  ck_assert_ok(dlsc_model_get_values(model, 1, values + 32, 32, &count));
}

/* Per-tensor rates: batch-norm's gamma held at 0 while its beta moves at 4x, a dense
 * layer's bias held while its weights move; against a twin with the default rates the
 * first SGD step (momentum starts at zero) of each tensor is 0x or 4x the twin's. */
START_TEST(tensor_rate_scales) {
  dlsc_model_t *model = from_spec("input 1x1x3; dense 8; batchnorm; relu; dense 1", 2), *twin;
  ck_assert_ok(dlsc_model_clone(model, &twin));
  set_training(model, DLSC_OPTIMIZER_SGD, DLSC_LOSS_MSE, 1e-2f, 32);
  set_training(twin, DLSC_OPTIMIZER_SGD, DLSC_LOSS_MSE, 1e-2f, 32);
  ck_assert_ok(dlsc_model_set_tensor_lr_scale(model, 1, DLSC_TENSOR_WEIGHTS, 0.0f));
  ck_assert_ok(dlsc_model_set_tensor_lr_scale(model, 1, DLSC_TENSOR_BIASES, 4.0f));
  ck_assert_ok(dlsc_model_set_tensor_lr_scale(model, 0, DLSC_TENSOR_BIASES, 0.0f));
  float before[64], after[64], twin_after[64];
  first_two_layers(model, before);
  float x[96], y[32];
  regression_data(x, y, 32);
  dlsc_batch batch = {32, x, y, NULL, NULL};
  ck_assert_ok(dlsc_model_train_batch(model, &batch, NULL));
  ck_assert_ok(dlsc_model_train_batch(twin, &batch, NULL));
  first_two_layers(model, after);
  first_two_layers(twin, twin_after);
  for (int i = 0; i < 24; i++) /* dense weights: the twin's step */
    ck_assert_float_eq_tol(after[i] - before[i], twin_after[i] - before[i], 1e-7f);
  ck_assert_double_gt(max_abs_diff(after, before, 24), 1e-6);
  ck_assert_mem_eq(after + 24, before + 24, 8 * sizeof *after); /* dense bias held */
  ck_assert_mem_eq(after + 32, before + 32, 8 * sizeof *after); /* gamma held */
  ck_assert_double_gt(max_abs_diff(twin_after + 24, before + 24, 16), 1e-6);
  for (int i = 40; i < 48; i++) /* beta: four times the twin's step */
    ck_assert_float_eq_tol(after[i] - before[i], 4.0f * (twin_after[i] - before[i]), 1e-6f);
  ck_assert_double_gt(max_abs_diff(twin_after + 40, before + 40, 8), 1e-6);
  ck_assert_double_gt(max_abs_diff(after + 48, before + 48, 16), 1e-6); /* batch statistics */
  /* a clone trains as its original */
  dlsc_model_t *copy;
  ck_assert_ok(dlsc_model_clone(model, &copy));
  ck_assert_ok(dlsc_model_train_batch(model, &batch, NULL));
  ck_assert_ok(dlsc_model_train_batch(copy, &batch, NULL));
  first_two_layers(copy, twin_after);
  ck_assert_mem_eq(twin_after + 32, before + 32, 8 * sizeof *after); /* it holds gamma too */
  dlsc_model_destroy(copy);
  dlsc_model_destroy(model);
  dlsc_model_destroy(twin);
  /* a layer's scale multiplies its step as the tensors' do: batch-norm at 0.5 moves
   * gamma and beta half as far as an unscaled twin's, the dense layer as far */
  model = from_spec("input 1x1x3; dense 8; batchnorm; relu; dense 1", 2);
  ck_assert_ok(dlsc_model_clone(model, &twin));
  set_training(model, DLSC_OPTIMIZER_SGD, DLSC_LOSS_MSE, 1e-2f, 32);
  set_training(twin, DLSC_OPTIMIZER_SGD, DLSC_LOSS_MSE, 1e-2f, 32);
  ck_assert_ok(dlsc_model_set_layer_lr_scale(model, 1, 0.5f));
  ck_assert_ok(dlsc_model_train_batch(model, &batch, NULL));
  ck_assert_ok(dlsc_model_train_batch(twin, &batch, NULL));
  first_two_layers(model, after);
  first_two_layers(twin, twin_after);
  for (int i = 0; i < 32; i++)
    ck_assert_float_eq_tol(after[i] - before[i], twin_after[i] - before[i], 1e-7f);
  for (int i = 32; i < 48; i++)
    ck_assert_float_eq_tol(after[i] - before[i], 0.5f * (twin_after[i] - before[i]), 1e-6f);
  ck_assert_double_gt(max_abs_diff(twin_after + 32, before + 32, 16), 1e-6);
  dlsc_model_destroy(model);
  dlsc_model_destroy(twin);
}
END_TEST

START_TEST(tensor_rate_scales_are_checked) {
  dlsc_model_t *model = from_spec("input 1x3x3; conv2d 2 3x3 bias=0; relu; dense 2", 2);
  ck_assert_ok(dlsc_model_set_tensor_lr_scale(model, 0, DLSC_TENSOR_WEIGHTS, 2.0f));
  ck_assert_ok(dlsc_model_set_tensor_lr_scale(model, 2, DLSC_TENSOR_BIASES, 0.0f));
  ck_assert_status(dlsc_model_set_tensor_lr_scale(NULL, 0, DLSC_TENSOR_WEIGHTS, 1.0f),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_set_tensor_lr_scale(model, 0, DLSC_TENSOR_BIASES, 1.0f),
                   DLSC_ERR_INVALID_ARGUMENT); /* bias=0 */
  ck_assert_status(dlsc_model_set_tensor_lr_scale(model, 1, DLSC_TENSOR_WEIGHTS, 1.0f),
                   DLSC_ERR_INVALID_ARGUMENT); /* ReLU */
  ck_assert_status(dlsc_model_set_tensor_lr_scale(model, 3, DLSC_TENSOR_WEIGHTS, 1.0f),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_set_tensor_lr_scale(model, 0, (dlsc_tensor)2, 1.0f),
                   DLSC_ERR_INVALID_ARGUMENT);
  const float bad[] = {-1.0f, NAN, INFINITY, 1e6f};
  for (int i = 0; i < 4; i++) {
    ck_assert_status(dlsc_model_set_tensor_lr_scale(model, 0, DLSC_TENSOR_WEIGHTS, bad[i]),
                     DLSC_ERR_INVALID_ARGUMENT);
    ck_assert_status(dlsc_model_set_layer_lr_scale(model, 0, bad[i]), DLSC_ERR_INVALID_ARGUMENT);
  }
  ck_assert_ok(dlsc_model_set_layer_lr_scale(model, 2, nextafterf(1e6f, 0.0f))); /* below 1e6 */
  ck_assert_float_eq(model->layers[2].lr_scale, nextafterf(1e6f, 0.0f));
  ck_assert_float_eq(model->layers[0].lr_scale, 1.0f);
  ck_assert_float_eq(model->layers[0].tensor_lr_scale[0], 2.0f);
  ck_assert_float_eq(model->layers[2].tensor_lr_scale[1], 0.0f);
  dlsc_model_destroy(model);
}
END_TEST

/* Switching the optimizer starts the new one afresh, step count and all: Adam's first
 * step after two of SGD with momentum is a fresh model's first, to the bit (its bias
 * correction divides by 1 - beta^t, so a step count left at 2 gives another step). */
START_TEST(switching_the_optimizer_starts_it_afresh) {
  dlsc_model_t *model = from_spec("input 1x1x4; dense 3; relu; dense 2", 3), *fresh;
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  config.optimizer = DLSC_OPTIMIZER_SGD;
  config.learning_rate = 0.1f;
  ck_assert_ok(dlsc_model_set_training(model, &config));
  float x[8 * 4], y[8 * 2];
  fill_uniform(x, 8 * 4, -1, 1, 11);
  fill_uniform(y, 8 * 2, -1, 1, 12);
  dlsc_batch batch = {8, x, y, NULL, NULL};
  for (int i = 0; i < 2; i++)
    ck_assert_ok(dlsc_model_train_batch(model, &batch, NULL));
  ck_assert_ok(dlsc_model_clone(model, &fresh)); /* the weights, no optimizer state */
  config.optimizer = DLSC_OPTIMIZER_ADAM;
  config.learning_rate = 1e-2f;
  ck_assert_ok(dlsc_model_set_training(model, &config));
  ck_assert_ok(dlsc_model_set_training(fresh, &config));
  assert_same_step(model, fresh, &batch);
  dlsc_model_destroy(model);
  dlsc_model_destroy(fresh);
}
END_TEST

/* ---- lookahead */

static void set_lookahead(dlsc_model_t *model, size_t every, size_t start, float rho, size_t ramp,
                          size_t batch_size) {
  set_training(model, DLSC_OPTIMIZER_SGD, DLSC_LOSS_MSE, 0.05f, batch_size);
  dlsc_train_config config = model->train;
  config.lookahead_every = every;
  config.lookahead_start = start;
  config.lookahead_rho = rho;
  config.lookahead_ramp = ramp;
  ck_assert_ok(dlsc_model_set_training(model, &config));
}

static void assert_same_models(const dlsc_model_t *a, const dlsc_model_t *b) {
  size_t size;
  unsigned char *bytes = model_bytes(a, &size);
  assert_model_unchanged(b, bytes, size);
  free(bytes);
}

/* The library's lookahead against its definition written with clone and blend: copy
 * before the first step at or after step 4, pull after every third step, rho ramping
 * as (step / 10)^3 up to 0.6; batch-norm statistics included. */
START_TEST(lookahead_follows_its_definition) {
  dlsc_model_t *model = from_spec("input 2x3x3; conv2d 4 3x3 pad=same; batchnorm; relu; dense 1", 8);
  dlsc_model_t *reference, *plain, *slow = NULL;
  ck_assert_ok(dlsc_model_clone(model, &reference));
  ck_assert_ok(dlsc_model_clone(model, &plain));
  set_lookahead(model, 3, 4, 0.6f, 10, 16);
  set_lookahead(reference, 0, 0, 0.5f, 0, 16);
  set_lookahead(plain, 0, 0, 0.5f, 0, 16);
  float x[16 * 18], y[16];
  fill_uniform(x, 16 * 18, -1, 1, 3);
  fill_uniform(y, 16, -1, 1, 4);
  dlsc_batch batch = {16, x, y, NULL, NULL};
  for (size_t step = 0; step < 15; step++) {
    if (step >= 4 && !slow)
      ck_assert_ok(dlsc_model_clone(reference, &slow));
    ck_assert_ok(dlsc_model_train_batch(model, &batch, NULL));
    ck_assert_ok(dlsc_model_train_batch(reference, &batch, NULL));
    ck_assert_ok(dlsc_model_train_batch(plain, &batch, NULL));
    size_t done = step + 1;
    if (slow && done % 3 == 0) {
      double progress = done < 10 ? (double)done / 10.0 : 1.0;
      float rho = (float)(0.6f * progress * progress * progress);
      ck_assert_ok(dlsc_model_blend(slow, reference, 1.0f - rho));
      ck_assert_ok(dlsc_model_blend(reference, slow, 1.0f));
    }
    assert_same_models(model, reference);
  }
  /* after 15 steps the model sits on the slow copy; two more steps move it off */
  for (int step = 0; step < 2; step++) {
    ck_assert_ok(dlsc_model_train_batch(model, &batch, NULL));
    ck_assert_ok(dlsc_model_train_batch(reference, &batch, NULL));
  }
  size_t size;
  unsigned char *moved = model_bytes(model, &size);
  ck_assert_ok(dlsc_model_lookahead_sync(model));
  assert_same_models(model, slow);
  unsigned char *synced = model_bytes(model, &size), *unsynced = model_bytes(plain, &size);
  ck_assert_mem_ne(moved, synced, size);
  ck_assert_mem_ne(synced, unsynced, size); /* the lookahead did something */
  free(moved);
  free(synced);
  free(unsynced);
  dlsc_model_destroy(model);
  dlsc_model_destroy(reference);
  dlsc_model_destroy(plain);
  dlsc_model_destroy(slow);
}
END_TEST

/* An epoch is its batches, in the dataset's order, with lookahead between them, and
 * ends on the slow copy. */
START_TEST(lookahead_epochs_end_on_the_slow_copy) {
  dlsc_dataset_t *data = blobs(200, 1), *twin = blobs(200, 1);
  dlsc_model_t *model = from_spec("input 2x1x1; dense 16; relu; dense 4", 3), *manual;
  ck_assert_ok(dlsc_model_clone(model, &manual));
  for (int m = 0; m < 2; m++) {
    dlsc_model_t *target = m ? manual : model;
    set_lookahead(target, 2, 0, 0.5f, 0, 32);
    dlsc_train_config config = target->train;
    config.loss = DLSC_LOSS_CROSS_ENTROPY;
    ck_assert_ok(dlsc_model_set_training(target, &config));
  }
  dlsc_train_stats stats;
  ck_assert_ok(dlsc_model_train_epoch(model, data, &stats));
  ck_assert_ok(dlsc_dataset_shuffle(twin));
  for (size_t first = 0; first < 200; first += 32) {
    dlsc_batch batch;
    ck_assert_ok(dlsc_dataset_get_batch(twin, first, first + 32 <= 200 ? 32 : 200 - first, 1, &batch));
    ck_assert_ok(dlsc_model_train_batch(manual, &batch, NULL));
  }
  ck_assert_uint_eq(manual->step, 7); /* the last pull was after step 6 */
  size_t size;
  unsigned char *before_sync = model_bytes(manual, &size);
  ck_assert_ok(dlsc_model_lookahead_sync(manual));
  unsigned char *after_sync = model_bytes(manual, &size);
  ck_assert_mem_ne(before_sync, after_sync, size);
  assert_model_unchanged(model, after_sync, size);
  free(before_sync);
  free(after_sync);
  dlsc_model_destroy(model);
  dlsc_model_destroy(manual);
  dlsc_dataset_destroy(data);
  dlsc_dataset_destroy(twin);
}
END_TEST

/* A failed epoch restores the slow copy with everything else: the good batches before
 * the poisoned frame had pulled it (every step), or taken it (the first step). */
START_TEST(failed_epoch_restores_the_slow_copy) {
  dlsc_dataset_t *data = frames_with_poison();
  dlsc_model_t *model = from_spec("input 1x1x4; dense 16; relu; dense 4", 6);
  set_lookahead(model, 1, 0, 0.5f, 0, 4);
  float x[8 * 4], y[8 * 4];
  fill_uniform(x, 8 * 4, 0, 1, 9);
  fill_uniform(y, 8 * 4, 0, 1, 10);
  dlsc_batch batch = {8, x, y, NULL, NULL};
  for (int step = 0; step < 3; step++)
    ck_assert_ok(dlsc_model_train_batch(model, &batch, NULL));
  ck_assert(model->slow_taken);
  size_t floats = model->n_params + model->n_stats, size;
  float *slow = malloc(floats * sizeof *slow);
  memcpy(slow, model->slow, floats * sizeof *slow);
  unsigned char *before = model_bytes(model, &size);
  dlsc_train_stats stats;
  ck_assert_status(dlsc_model_train_epoch(model, data, &stats), DLSC_ERR_NUMERIC);
  assert_model_unchanged(model, before, size);
  ck_assert_mem_eq(model->slow, slow, floats * sizeof *slow);
  ck_assert(model->slow_taken); /* still taken: the next step pulls it, not a new copy */
  ck_assert_uint_eq(model->step, 3);
  /* and untaken: a model whose first epoch took the copy and then failed has none, so
   * its next step takes one of the weights as they are then */
  dlsc_model_t *fresh = from_spec("input 1x1x4; dense 16; relu; dense 4", 6);
  set_lookahead(fresh, 1, 0, 0.5f, 0, 4);
  ck_assert(!fresh->slow_taken);
  ck_assert_status(dlsc_model_train_epoch(fresh, data, &stats), DLSC_ERR_NUMERIC);
  ck_assert(!fresh->slow_taken);
  ck_assert_uint_eq(fresh->step, 0);
  dlsc_model_destroy(fresh);
  free(slow);
  free(before);
  dlsc_model_destroy(model);
  dlsc_dataset_destroy(data);
}
END_TEST

START_TEST(lookahead_settings_are_checked) {
  dlsc_model_t *model = from_spec("input 1x1x3; dense 2", 1);
  size_t size;
  unsigned char *before = model_bytes(model, &size);
  ck_assert_status(dlsc_model_lookahead_sync(NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_ok(dlsc_model_lookahead_sync(model)); /* no lookahead: nothing to do */
  assert_model_unchanged(model, before, size);
  set_lookahead(model, 5, 0, 0.25f, 0, 4);
  const float bad[] = {-0.1f, 1.5f, NAN, INFINITY};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    dlsc_train_config config = model->train;
    config.lookahead_rho = bad[i];
    ck_assert_status(dlsc_model_set_training(model, &config), DLSC_ERR_INVALID_ARGUMENT);
    ck_assert_float_eq(model->train.lookahead_rho, 0.25f);
  }
  float x[4 * 3], y[4 * 2];
  fill_uniform(x, 12, -1, 1, 1);
  fill_uniform(y, 8, -1, 1, 2);
  dlsc_batch batch = {4, x, y, NULL, NULL};
  ck_assert_ok(dlsc_model_train_batch(model, &batch, NULL));
  ck_assert(model->slow && model->slow_taken);
  set_lookahead(model, 0, 0, 0.5f, 0, 4); /* off: the copy is dropped */
  ck_assert(!model->slow && !model->slow_taken);
  free(before);
  dlsc_model_destroy(model);
}
END_TEST

/* ---- resuming: dlsc_training_state_* */

/* 4x4 one-channel images of 4 classes, augmented with alternating flips (the shuffle
 * parity), brightness and crops (the PRNG). */
static dlsc_dataset_t *resume_images(void) {
  dlsc_dataset_t *data = images_dataset(1, 4, 4, 4, 21);
  float pixels[40 * 16];
  int32_t labels[40];
  fill_uniform(pixels, 40 * 16, 0.0f, 1.0f, 5);
  for (int i = 0; i < 40; i++)
    labels[i] = i % 4;
  ck_assert_ok(dlsc_dataset_add_images_f32(data, pixels, labels, 40));
  dlsc_augment_config augment;
  dlsc_augment_config_init(&augment);
  augment.horizontal_flip = DLSC_FLIP_ALTERNATE;
  augment.brightness = 0.2f;
  augment.crop_padding = 1;
  ck_assert_ok(dlsc_dataset_set_augment(data, &augment));
  return data;
}

/* Adam with lookahead from step 2, dropout (the model's PRNG) and batch-norm. */
static void resume_training(dlsc_model_t *model) {
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  config.loss = DLSC_LOSS_CROSS_ENTROPY;
  config.learning_rate = 1e-2f;
  config.batch_size = 8;
  config.lookahead_every = 3;
  config.lookahead_start = 2;
  ck_assert_ok(dlsc_model_set_training(model, &config));
}

static dlsc_model_t *resume_model(void) {
  dlsc_model_t *model =
      from_spec("input 1x4x4; conv2d 4 3x3 pad=same; batchnorm; relu; dropout 0.3; dense 4", 17);
  resume_training(model);
  return model;
}

static unsigned char *state_bytes(const dlsc_model_t *model, const dlsc_dataset_t *data,
                                  size_t *size) {
  ck_assert_ok(dlsc_training_state_save(model, data, NULL, 0, size));
  unsigned char *bytes = malloc(*size);
  ck_assert_ok(dlsc_training_state_save(model, data, bytes, *size, size));
  return bytes;
}

/* Two epochs, stopped after the first: the model saved then and the state, loaded into
 * a fresh process's objects, train the second epoch to the bits of the uninterrupted
 * run; without the state they do not. */
START_TEST(training_state_resumes_to_the_same_bits) {
  dlsc_model_t *model = resume_model();
  dlsc_dataset_t *data = resume_images();
  dlsc_train_stats stats, resumed_stats;
  ck_assert_ok(dlsc_model_train_epoch(model, data, &stats));
  size_t model_size, state_size, final_size;
  unsigned char *saved = model_bytes(model, &model_size);
  unsigned char *state = state_bytes(model, data, &state_size);
  ck_assert(model->slow_taken && model->moment1 && model->step == 5);
  ck_assert_ok(dlsc_model_train_epoch(model, data, &stats));
  unsigned char *final = model_bytes(model, &final_size);

  for (int with_state = 1; with_state >= 0; with_state--) {
    dlsc_model_t *resumed;
    ck_assert_ok(dlsc_model_load(saved, model_size, &resumed));
    resume_training(resumed);
    dlsc_dataset_t *again = resume_images();
    if (with_state)
      ck_assert_ok(dlsc_training_state_load(resumed, again, state, state_size));
    ck_assert_ok(dlsc_model_train_epoch(resumed, again, &resumed_stats));
    size_t size;
    unsigned char *bytes = model_bytes(resumed, &size);
    ck_assert_uint_eq(size, final_size);
    if (with_state) {
      ck_assert_mem_eq(bytes, final, size);
      ck_assert_double_eq(resumed_stats.loss, stats.loss);
      ck_assert_uint_eq(resumed->step, model->step);
      /* and the state it would save now is the uninterrupted run's */
      size_t now_size, then_size;
      unsigned char *now = state_bytes(resumed, again, &now_size);
      unsigned char *then = state_bytes(model, data, &then_size);
      ck_assert_uint_eq(now_size, then_size);
      ck_assert_mem_eq(now, then, now_size);
      free(now);
      free(then);
    } else {
      ck_assert(memcmp(bytes, final, size) != 0);
    }
    free(bytes);
    dlsc_dataset_destroy(again);
    dlsc_model_destroy(resumed);
  }
  free(saved);
  free(state);
  free(final);
  dlsc_dataset_destroy(data);
  dlsc_model_destroy(model);
}
END_TEST

/* A state saved before the first step resumes too (no moments, stored order), also
 * without a dataset, and through the file wrappers. */
START_TEST(training_state_before_training_and_in_files) {
  dlsc_model_t *model = resume_model(), *twin;
  ck_assert_ok(dlsc_model_clone(model, &twin));
  resume_training(twin);
  dlsc_dataset_t *data = resume_images(), *twin_data = resume_images();
  char directory[] = "/tmp/dlsc-test-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(directory));
  char path[64];
  snprintf(path, sizeof path, "%s/state", directory);
  ck_assert_ok(dlsc_training_state_save_file(model, data, path));
  /* the twin trains a little, then goes back to the saved state */
  dlsc_train_stats stats;
  ck_assert_ok(dlsc_model_train_epoch(twin, twin_data, &stats));
  dlsc_model_t *fresh;
  ck_assert_ok(dlsc_model_clone(model, &fresh));
  resume_training(fresh);
  ck_assert_ok(dlsc_training_state_load_file(fresh, twin_data, path));
  ck_assert_ptr_null(fresh->moment1);
  ck_assert_ok(dlsc_model_train_epoch(fresh, twin_data, &stats));
  ck_assert_ok(dlsc_model_train_epoch(model, data, &stats));
  assert_same_models(fresh, model);
  /* Without a dataset, in a loop of batches: saved between two lookahead pulls, when
   * the slow copy is not the model. */
  float x[8 * 16];
  int32_t y[8] = {0, 1, 2, 3, 0, 1, 2, 3};
  fill_uniform(x, 8 * 16, 0.0f, 1.0f, 9);
  dlsc_batch batch = {8, x, NULL, NULL, y};
  for (int step = 0; step < 2; step++)
    ck_assert_ok(dlsc_model_train_batch(model, &batch, NULL));
  ck_assert(model->slow_taken && model->step % 3 != 0);
  ck_assert_ok(dlsc_training_state_save_file(model, NULL, path));
  size_t size;
  unsigned char *saved = model_bytes(model, &size);
  dlsc_model_t *loaded;
  ck_assert_ok(dlsc_model_load(saved, size, &loaded));
  resume_training(loaded);
  ck_assert_ok(dlsc_training_state_load_file(loaded, NULL, path));
  for (int step = 0; step < 4; step++) {
    ck_assert_ok(dlsc_model_train_batch(model, &batch, NULL));
    ck_assert_ok(dlsc_model_train_batch(loaded, &batch, NULL));
  }
  assert_same_models(loaded, model);
  free(saved);
  dlsc_model_destroy(loaded);
  ck_assert_status(dlsc_training_state_load_file(fresh, NULL, directory), DLSC_ERR_IO);
  ck_assert_int_eq(remove(path), 0);
  ck_assert_int_eq(rmdir(directory), 0);
  dlsc_dataset_destroy(data);
  dlsc_dataset_destroy(twin_data);
  dlsc_model_destroy(fresh);
  dlsc_model_destroy(twin);
  dlsc_model_destroy(model);
}
END_TEST

/* A training state assembled from docs/model-format.md alone (SGD after 7 steps, a
 * dataset in a shuffled order) loads as written and saves back byte for byte: the CRC
 * covers every parameter and then every statistic, the moments follow that order. */
START_TEST(a_state_written_from_the_format_document_loads_and_saves_back) {
  dlsc_model_t *model = from_spec("input 1x1x2; dense 2; batchnorm; dense 1", 4);
  set_training(model, DLSC_OPTIMIZER_SGD, DLSC_LOSS_MSE, 0.1f, 2);
  static const size_t layer_params[3] = {6, 4, 3}; /* and batch-norm's 4 statistics */
  float params[13], stats[4];
  size_t n_params = 0, n_stats = 0;
  for (size_t layer = 0; layer < 3; layer++) {
    float values[8];
    size_t count;
    ck_assert_ok(dlsc_model_get_values(model, layer, values, 8, &count));
    for (size_t i = 0; i < count; i++)
      if (i < layer_params[layer])
        params[n_params++] = values[i];
      else
        stats[n_stats++] = values[i];
  }
  ck_assert_uint_eq(n_params, 13);
  ck_assert_uint_eq(n_stats, 4);
  doc_file tensors = {.length = 0}; /* every parameter, then every statistic */
  for (size_t i = 0; i < 17; i++)
    doc_f32(&tensors, i < 13 ? params[i] : stats[i - 13]);
  uint32_t weights_crc = dlsc_crc32(0, tensors.bytes, tensors.length);
  doc_file f;
  doc_head(&f, "DLSCSTAT");
  doc_u64(&f, 13); /* parameters */
  doc_u64(&f, 4);  /* statistics */
  doc_u32(&f, weights_crc);
  doc_u32(&f, DLSC_OPTIMIZER_SGD);
  const uint64_t model_rng[2] = {0x0123456789abcdefu, 0x2545f4914f6cdd1du};
  doc_u64(&f, model_rng[0]);
  doc_u64(&f, model_rng[1]);
  doc_u32(&f, 1); /* moments */
  doc_u64(&f, 7); /* steps */
  float velocity[13];
  fill_uniform(velocity, 13, -1.0f, 1.0f, 8);
  for (int i = 0; i < 26; i++)
    doc_f32(&f, i < 13 ? velocity[i] : 0.0f);
  doc_u32(&f, 0); /* no lookahead copy */
  doc_u32(&f, 1); /* the dataset: PRNG, flip parity, count, its order */
  doc_u64(&f, 99);
  doc_u64(&f, 77);
  doc_u32(&f, 1);
  doc_u64(&f, 3);
  doc_u32(&f, 1);
  doc_u64(&f, 2);
  doc_u64(&f, 0);
  doc_u64(&f, 1);
  size_t size = doc_close(&f, dlsc_crc32);

  dlsc_dataset_t *data = images_dataset(1, 1, 2, 3, 5);
  const float pixels[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
  const int32_t labels[3] = {0, 1, 2};
  ck_assert_ok(dlsc_dataset_add_images_f32(data, pixels, labels, 3));
  ck_assert_ok(dlsc_training_state_load(model, data, f.bytes, size));
  ck_assert_uint_eq(model->step, 7);
  ck_assert_mem_eq(model->moment1, velocity, sizeof velocity);
  ck_assert(model->rng.state == model_rng[0] && model->rng.increment == model_rng[1]);
  dlsc_batch batch;
  ck_assert_ok(dlsc_dataset_get_batch(data, 0, 3, 0, &batch)); /* examples 2, 0, 1 */
  ck_assert_int_eq(batch.labels[0] * 100 + batch.labels[1] * 10 + batch.labels[2], 201);
  ck_assert_float_eq(batch.inputs[0], 0.5f);
  size_t again_size;
  unsigned char *again = state_bytes(model, data, &again_size);
  ck_assert_uint_eq(again_size, size);
  ck_assert_mem_eq(again, f.bytes, size);
  free(again);
  dlsc_dataset_destroy(data);
  dlsc_model_destroy(model);
}
END_TEST

/* The size at offset 16 and the CRC-32 at the end of a state of size bytes made right. */
static void reseal(unsigned char *bytes, size_t size) {
  put_u32_le(bytes + 16, (uint32_t)size);
  put_u32_le(bytes + 20, (uint32_t)((uint64_t)size >> 32));
  put_u32_le(bytes + size - 4, dlsc_crc32(0, bytes, size - 4));
}

/* States that pass the size and checksum tests but not the reader (flags past 1,
 * values that are not finite, counts past the bytes): each is refused with
 * DLSC_ERR_BAD_FORMAT. state: model's, after an epoch with lookahead's slow copy taken,
 * with data's shuffled order (docs/model-format.md gives the offsets). */
static void forged_states_are_refused(dlsc_model_t *model, dlsc_dataset_t *data,
                                      const unsigned char *state, size_t size) {
  const size_t p = model->n_params, s = model->n_stats, n = 40;
  const size_t moments = 76, slow_flag = moments + 8 * p, dataset = slow_flag + 4 + 4 * (p + s);
  ck_assert_uint_eq(size, dataset + 36 + 8 * n + 4); /* the layout the offsets assume */
  enum { WRITE, CUT };
  const struct {
    const char *what;
    int edit;
    size_t offset; /* WRITE: where the u32 goes; CUT: the length before the CRC */
    uint32_t value;
  } forged[] = {
      {"a moments flag of 2", WRITE, 64, 2},
      {"a NaN first moment", WRITE, moments, 0x7fc00000u},
      {"an infinite second moment", WRITE, slow_flag - 4, 0x7f800000u},
      {"a slow-copy flag of 2", WRITE, slow_flag, 2},
      {"a NaN in the slow copy", WRITE, slow_flag + 4, 0x7fc00000u},
      {"a dataset flag of 2", WRITE, dataset, 2},
      {"a flip-phase flag of 2", WRITE, dataset + 20, 2},
      {"an order flag of 2", WRITE, dataset + 32, 2},
      {"2^40 examples in the order", WRITE, dataset + 28, 256},
      {"the second moments missing", CUT, slow_flag - 4 * p, 0},
      {"the slow copy cut after one value", CUT, slow_flag + 8, 0},
  };
  unsigned char *forgery = malloc(size);
  for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
    memcpy(forgery, state, size);
    size_t forged_size = size;
    if (forged[i].edit == WRITE)
      put_u32_le(forgery + forged[i].offset, forged[i].value);
    else
      forged_size = forged[i].offset + 4;
    reseal(forgery, forged_size);
    dlsc_status status = dlsc_training_state_load(model, data, forgery, forged_size);
    ck_assert_msg(status == DLSC_ERR_BAD_FORMAT, "%s: %d", forged[i].what, status);
  }
  free(forgery);
}

/* Every truncation and every flipped bit gets a status; states that do not belong get
 * theirs; after any refusal model and dataset train on as if nothing had happened. */
START_TEST(training_state_refusals_change_nothing) {
  dlsc_model_t *model = resume_model();
  dlsc_dataset_t *data = resume_images();
  dlsc_train_stats stats;
  ck_assert_ok(dlsc_model_train_epoch(model, data, &stats));
  size_t size;
  unsigned char *state = state_bytes(model, data, &size);
  ck_assert_status(dlsc_training_state_save(model, data, state, size - 1, &size),
                   DLSC_ERR_BUFFER_TOO_SMALL);
  ck_assert_status(dlsc_training_state_save(NULL, data, NULL, 0, &size),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_training_state_load(model, data, NULL, size), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_training_state_load(NULL, data, state, size), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_training_state_save_file(model, data, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_training_state_save_file(model, data, ""), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_training_state_save_file(NULL, data, "x"), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_training_state_load_file(model, data, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_training_state_load_file(NULL, data, "x"), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_training_state_load_file(model, data, "/nonexistent/dlsc.state"),
                   DLSC_ERR_IO);
  dlsc_model_t *target;
  ck_assert_ok(dlsc_model_clone(model, &target));
  resume_training(target);
  ck_assert_ok(dlsc_training_state_load(target, data, state, size));
  size_t before_size, data_state_size;
  unsigned char *before = model_bytes(target, &before_size);
  unsigned char *data_state = state_bytes(target, data, &data_state_size);
  unsigned char *damaged = malloc(size);
  for (size_t cut = 0; cut < size; cut++) {
    dlsc_status status = dlsc_training_state_load(target, data, state, cut);
    ck_assert_msg(status == DLSC_ERR_BAD_FORMAT, "cut at %zu: %d", cut, status);
  }
  for (size_t bit = 0; bit < 8 * size; bit++) {
    memcpy(damaged, state, size);
    damaged[bit / 8] ^= (unsigned char)(1u << bit % 8);
    dlsc_status status = dlsc_training_state_load(target, data, damaged, size);
    ck_assert_msg(status == DLSC_ERR_BAD_FORMAT || status == DLSC_ERR_CHECKSUM ||
                      status == DLSC_ERR_VERSION,
                  "bit %zu: %d", bit, status);
  }
  /* Forged with a valid checksum: an order that is no permutation. */
  memcpy(damaged, state, size);
  ck_assert_uint_gt(size, 20); /* (and GCC's LTO then knows the offsets below are in it) */
  size_t last_order = size - 4 - 8;
  damaged[last_order] = damaged[last_order - 8]; /* two entries alike */
  uint32_t crc = dlsc_crc32(0, damaged, size - 4);
  for (int i = 0; i < 4; i++)
    damaged[size - 4 + i] = (unsigned char)(crc >> 8 * i);
  ck_assert_status(dlsc_training_state_load(target, data, damaged, size), DLSC_ERR_BAD_FORMAT);
  forged_states_are_refused(target, data, state, size);

  /* States that do not belong. */
  ck_assert_status(dlsc_training_state_load(target, NULL, state, size), DLSC_ERR_INVALID_ARGUMENT);
  dlsc_dataset_t *smaller = images_dataset(1, 4, 4, 4, 21);
  float pixels[16] = {0};
  int32_t label = 0;
  ck_assert_ok(dlsc_dataset_add_images_f32(smaller, pixels, &label, 1));
  ck_assert_status(dlsc_training_state_load(target, smaller, state, size), DLSC_ERR_SHAPE_MISMATCH);
  dlsc_model_t *other = resume_model(); /* same layers, other weights */
  ck_assert_status(dlsc_training_state_load(other, data, state, size), DLSC_ERR_SHAPE_MISMATCH);
  dlsc_model_t *nudged; /* the same weights but the last of its 308 (the checksum spans all) */
  ck_assert_ok(dlsc_model_clone(model, &nudged));
  float dense_values[4 * 64 + 4];
  size_t dense_count;
  ck_assert_ok(dlsc_model_get_values(nudged, 4, dense_values, 260, &dense_count));
  ck_assert_uint_eq(dense_count, 260);
  dense_values[259] += 1.0f;
  ck_assert_ok(dlsc_model_set_values(nudged, 4, dense_values, 260));
  ck_assert_status(dlsc_training_state_load(nudged, data, state, size), DLSC_ERR_SHAPE_MISMATCH);
  dlsc_model_destroy(nudged);
  dlsc_model_t *sgd;
  ck_assert_ok(dlsc_model_clone(model, &sgd));
  set_training(sgd, DLSC_OPTIMIZER_SGD, DLSC_LOSS_CROSS_ENTROPY, 1e-2f, 8);
  ck_assert_status(dlsc_training_state_load(sgd, data, state, size), DLSC_ERR_SHAPE_MISMATCH);
  dlsc_model_t *no_lookahead;
  ck_assert_ok(dlsc_model_clone(model, &no_lookahead));
  set_training(no_lookahead, DLSC_OPTIMIZER_ADAM, DLSC_LOSS_CROSS_ENTROPY, 1e-2f, 8);
  ck_assert_status(dlsc_training_state_load(no_lookahead, data, state, size),
                   DLSC_ERR_SHAPE_MISMATCH);
  ck_assert_ptr_null(no_lookahead->moment1);

  assert_model_unchanged(target, before, before_size);
  size_t now_size;
  unsigned char *now = state_bytes(target, data, &now_size);
  ck_assert_uint_eq(now_size, data_state_size);
  ck_assert_mem_eq(now, data_state, now_size);
  free(now);
  free(before);
  free(data_state);
  free(damaged);
  free(state);
  dlsc_dataset_destroy(smaller);
  dlsc_dataset_destroy(data);
  dlsc_model_destroy(no_lookahead);
  dlsc_model_destroy(sgd);
  dlsc_model_destroy(other);
  dlsc_model_destroy(target);
  dlsc_model_destroy(model);
}
END_TEST

/* dlsc_model_memory for training: a fresh copy of a model holds what it said once it
 * has trained an epoch (the heap measured, where glibc's allocator is in use), and
 * lookahead's two copies are in the figure. */
START_TEST(memory_is_what_an_epoch_holds) {
  dlsc_model_t *model = from_spec(MEMORY_TEST_SPEC, 4);
  set_training(model, DLSC_OPTIMIZER_ADAM, DLSC_LOSS_CROSS_ENTROPY, 1e-3f, 16);
  size_t plain, inference, with_lookahead;
  ck_assert_ok(dlsc_model_memory(model, 16, 1, &plain));
  ck_assert_ok(dlsc_model_memory(model, 16, 0, &inference));
  ck_assert_uint_gt(plain, inference);
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  config.loss = DLSC_LOSS_CROSS_ENTROPY;
  config.batch_size = 16;
  config.lookahead_every = 5;
  ck_assert_ok(dlsc_model_set_training(model, &config));
  ck_assert_ok(dlsc_model_memory(model, 16, 1, &with_lookahead));
  dlsc_model_info info;
  ck_assert_ok(dlsc_model_get_info(model, &info));
  size_t copy_bytes = ((info.n_parameters + 32) * sizeof(float) + 63) / 64 * 64; /* + stats */
  ck_assert_uint_eq(with_lookahead - plain, 2 * copy_bytes);

#ifdef __GLIBC__
  if (heap_is_measured()) { /* two batches an epoch */
    dlsc_dataset_t *dataset = images_dataset(3, 32, 32, 10, 5);
    float *pixels = malloc(32 * 3072 * sizeof *pixels);
    int32_t labels[32];
    fill_uniform(pixels, 32 * 3072, 0, 1, 6);
    for (int i = 0; i < 32; i++)
      labels[i] = i % 10;
    ck_assert_ok(dlsc_dataset_add_images_f32(dataset, pixels, labels, 32));
    dlsc_model_t *warm, *copy = NULL;
    ck_assert_ok(dlsc_model_clone(model, &warm)); /* the BLAS's and the dataset's buffers */
    ck_assert_ok(dlsc_model_train_epoch(warm, dataset, NULL));
    size_t before = heap_in_use();
    dlsc_status status = dlsc_model_clone(model, &copy);
    if (status == DLSC_OK)
      status = dlsc_model_train_epoch(copy, dataset, NULL);
    size_t after = heap_in_use(); /* asserted after: Check may allocate */
    ck_assert_ok(status);
    assert_heap_growth(before, after, with_lookahead);
    dlsc_model_destroy(copy);
    dlsc_model_destroy(warm);
    dlsc_dataset_destroy(dataset);
    free(pixels);
  }
#endif
  dlsc_model_destroy(model);
}
END_TEST

#ifdef DLSC_TEST_COUNT_ALLOCATIONS
/* Every call to the allocator, counted while counting is on. */
static size_t allocations;
static bool counting;
static bool allocation_allowed(size_t bytes) {
  (void)bytes;
  allocations += counting;
  return true;
}
#include "wrap_alloc.h"

/* Once a model has trained on a batch of a size, further steps of that size (Adam, with
 * lookahead, clipping and batch-norm) allocate nothing: the workspace, moments, backups
 * and slow copy are kept; a further epoch allocates once, its copy of the example order
 * (restored if the epoch fails). */
START_TEST(training_steps_after_the_first_allocate_nothing) {
  dlsc_model_t *model = from_spec("input 1x4x4; conv2d 4 3x3 pad=same; batchnorm; relu; dense 3", 5);
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  config.loss = DLSC_LOSS_CROSS_ENTROPY;
  config.batch_size = 8;
  config.gradient_clip = 1.0f;
  config.lookahead_every = 2;
  ck_assert_ok(dlsc_model_set_training(model, &config));
  float x[8 * 16];
  int32_t labels[8];
  fill_uniform(x, 8 * 16, 0, 1, 3);
  for (int i = 0; i < 8; i++)
    labels[i] = i % 3;
  dlsc_batch batch = {8, x, NULL, NULL, labels};
  ck_assert_ok(dlsc_model_train_batch(model, &batch, NULL));
  allocations = 0;
  counting = true;
  dlsc_status status = DLSC_OK;
  for (int step = 0; step < 4 && status == DLSC_OK; step++)
    status = dlsc_model_train_batch(model, &batch, NULL);
  counting = false;
  ck_assert_ok(status);
  ck_assert_uint_eq(allocations, 0);
  dlsc_dataset_t *more = images_dataset(1, 4, 4, 3, 8);
  ck_assert_ok(dlsc_dataset_add_images_f32(more, x, labels, 8));
  ck_assert_ok(dlsc_dataset_add_images_f32(more, x, labels, 8));
  ck_assert_ok(dlsc_model_train_epoch(model, more, NULL));
  allocations = 0;
  counting = true;
  status = dlsc_model_train_epoch(model, more, NULL);
  counting = false;
  ck_assert_ok(status);
  ck_assert_uint_eq(allocations, 1);
  dlsc_dataset_destroy(more);
  dlsc_model_destroy(model);
}
END_TEST
#endif

int main(void) {
  Suite *suite = suite_create("train");
  TCase *tc = tcase_create("train");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, regression_loss_falls);
  tcase_add_test(tc, reported_losses_are_their_definitions);
  tcase_add_test(tc, training_is_deterministic_for_a_seed);
  tcase_add_test(tc, optimizer_first_steps);
  tcase_add_test(tc, subnormal_moments_become_zero);
  tcase_add_test(tc, non_finite_gradients_are_refused);
  tcase_add_test(tc, schedules_and_clipping);
  tcase_add_test(tc, clipping_measures_the_layers_that_update);
  tcase_add_test(tc, frozen_layers_and_rate_scales);
  tcase_add_test(tc, a_model_with_every_layer_frozen_trains_nothing);
  tcase_add_test(tc, tensor_rate_scales);
  tcase_add_test(tc, tensor_rate_scales_are_checked);
  tcase_add_test(tc, divergence_leaves_the_model_unchanged);
  tcase_add_test(tc, huge_inputs_do_not_overflow_batchnorm_statistics);
  tcase_add_test(tc, train_config_limits_are_the_documented_ones);
  tcase_add_test(tc, bad_batches_are_refused_without_change);
  tcase_add_test(tc, epochs_learn_and_evaluate);
  tcase_add_test(tc, epoch_arguments_are_checked);
  tcase_add_test(tc, failed_epoch_is_rolled_back);
  tcase_add_test(tc, batches_of_one_train_every_example);
  tcase_add_test(tc, progress_reports_batches_and_cancels);
  tcase_add_test(tc, failed_epoch_keeps_the_flip_parity);
  tcase_add_test(tc, optimizer_overflow_changes_nothing);
  tcase_add_test(tc, switching_the_optimizer_starts_it_afresh);
  tcase_add_test(tc, lookahead_follows_its_definition);
  tcase_add_test(tc, lookahead_epochs_end_on_the_slow_copy);
  tcase_add_test(tc, failed_epoch_restores_the_slow_copy);
  tcase_add_test(tc, lookahead_settings_are_checked);
  tcase_add_test(tc, training_state_resumes_to_the_same_bits);
  tcase_add_test(tc, training_state_before_training_and_in_files);
  tcase_add_test(tc, training_state_refusals_change_nothing);
  tcase_add_test(tc, a_state_written_from_the_format_document_loads_and_saves_back);
  tcase_add_test(tc, memory_is_what_an_epoch_holds);
#ifdef DLSC_TEST_COUNT_ALLOCATIONS
  tcase_add_test(tc, training_steps_after_the_first_allocate_nothing);
#endif
  suite_add_tcase(suite, tc);
  return run_suite(suite);
}
