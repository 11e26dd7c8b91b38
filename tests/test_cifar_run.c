/* The CIFAR programs' shared steps (examples/cifar_run.c), called directly: the original
 * project's expansion of the training set and predict_logits' test-time views, which
 * the program tests run only on the real data and check only through an accuracy. */
#include "common.h"

#include "cifar.h"
#include "cifar_run.h"

static uint8_t pixel_of(size_t image, size_t p) { return (uint8_t)((image * 131 + p * 7) % 251); }

static cifar_set synthetic_set(size_t count) {
  cifar_set set = {malloc(count * CIFAR_PIXELS), malloc(count * sizeof(int32_t)), count};
  ck_assert(set.pixels && set.labels);
  for (size_t i = 0; i < count; i++) {
    for (size_t p = 0; p < CIFAR_PIXELS; p++)
      set.pixels[i * CIFAR_PIXELS + p] = pixel_of(i, p);
    set.labels[i] = (int32_t)(i * 3 % 10);
  }
  return set;
}

/* Each image gains a copy x1.1 (at most 255), one x0.9 (each rounded to the nearest
 * step) and one mirrored left-right, in three blocks after the originals, labels
 * copied. */
START_TEST(the_original_expansion_adds_brighter_darker_and_mirrored_copies) {
  cifar_set set = synthetic_set(2);
  expand_original(&set);
  ck_assert_uint_eq(set.count, 8);
  for (size_t i = 0; i < 2; i++) {
    const uint8_t *original = set.pixels + i * CIFAR_PIXELS;
    const uint8_t *bright = set.pixels + (2 + i) * CIFAR_PIXELS;
    const uint8_t *dark = set.pixels + (4 + i) * CIFAR_PIXELS;
    const uint8_t *mirror = set.pixels + (6 + i) * CIFAR_PIXELS;
    for (size_t p = 0; p < CIFAR_PIXELS; p++) {
      int x = pixel_of(i, p);
      ck_assert_int_eq(original[p], x);
      if (11 * x >= 2550)
        ck_assert_int_eq(bright[p], 255);
      else
        ck_assert_int_le(abs(10 * bright[p] - 11 * x), 5);
      ck_assert_int_le(abs(10 * dark[p] - 9 * x), 5);
      size_t row = p / 32, column = p % 32;
      ck_assert_int_eq(mirror[p], pixel_of(i, row * 32 + 31 - column));
    }
    for (size_t k = 1; k < 4; k++)
      ck_assert_int_eq(set.labels[k * 2 + i], set.labels[i]);
  }
  cifar_free(&set);
}
END_TEST

static size_t reflect(ptrdiff_t k) { return (size_t)(k < 0 ? -k : k > 31 ? 62 - k : k); }

/* The pixel at (channel, row, column) of image i in the view shifted by shift (down and
 * right, the border reflected) after an optional mirror, as the model sees it. */
static double view_pixel(size_t i, size_t channel, size_t row, size_t column, int mirror,
                         int shift) {
  ptrdiff_t c = mirror ? 31 - (ptrdiff_t)column : (ptrdiff_t)column;
  size_t source = channel * 1024 + reflect((ptrdiff_t)row - shift) * 32 + reflect(c - shift);
  return pixel_of(i, source) / 255.0;
}

/* A dense model whose output k is one pixel: tta 0 gives that pixel, tta 1 the mean with
 * the mirror's, tta 2 half that mean plus a quarter each of the same mean one pixel
 * up-left and down-right; over 503 images, so the last of the 500-image chunks holds 3. */
START_TEST(test_time_views_are_mirrors_and_reflected_shifts) {
  static const size_t probes[10][3] = {{0, 0, 0},   {0, 0, 31},  {1, 5, 7},  {2, 31, 0},
                                       {2, 31, 31}, {0, 16, 1},  {1, 0, 15}, {2, 30, 30},
                                       {0, 1, 30},  {1, 31, 16}};
  dlsc_model_t *model = from_spec("input 3x32x32; dense 10", 1);
  size_t count = 10 * CIFAR_PIXELS + 10;
  float *values = calloc(count, sizeof *values);
  for (size_t k = 0; k < 10; k++)
    values[k * CIFAR_PIXELS + probes[k][0] * 1024 + probes[k][1] * 32 + probes[k][2]] = 1.0f;
  ck_assert_ok(dlsc_model_set_values(model, 0, values, count));
  free(values);
  const size_t n = 503;
  cifar_set set = synthetic_set(n);
  float *logits = malloc(n * 10 * sizeof *logits);
  for (int tta = 0; tta <= 2; tta++) {
    predict_logits(model, &set, tta, logits);
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < 10; k++) {
        const size_t *at = probes[k];
        double expected = 0.0;
        static const struct { int shift; double weight; } views[3] = {{0, 0.5}, {-1, 0.25},
                                                                       {1, 0.25}};
        for (int v = 0; v < (tta == 2 ? 3 : 1); v++)
          for (int m = 0; m < (tta >= 1 ? 2 : 1); m++)
            expected += (tta == 2 ? views[v].weight : 1.0) / (tta >= 1 ? 2 : 1) *
                        view_pixel(i, at[0], at[1], at[2], m, views[v].shift);
        ck_assert_msg(fabs(logits[i * 10 + k] - expected) < 1e-6,
                      "tta %d, image %zu, output %zu: %g, expected %g", tta, i, k,
                      (double)logits[i * 10 + k], expected);
      }
  }
  ck_assert_uint_eq(argmax10((const float[10]){0, 1, 5, 2, 5, 0, 0, 0, 0, -1}), 2);
  free(logits);
  cifar_free(&set);
  dlsc_model_destroy(model);
}
END_TEST

/* The training schedule the CIFAR programs derive from their options: steps per epoch
 * count a last partial batch of two or more images (one alone would give batch-norm a
 * batch of one), the cosine spans warm-up and epochs, SGD is Nesterov's, and
 * --lookahead is airbench's: every 5 steps from about the third epoch on, rho 0.95^5
 * ramping up over the whole run. */
START_TEST(the_schedule_counts_epochs_warmup_and_airbench_lookahead) {
  schedule_options s = {.epochs = 8, .batch = 100, .rate = 0.2f, .weight_decay = 5e-4f,
                        .smoothing = 0.1f, .momentum = 0.85f,
                        .optimizer = DLSC_OPTIMIZER_SGD, .warmup_epochs = 2, .lookahead = 1};
  dlsc_train_config c;
  train_config_for(&c, &s, 1002); /* 11 steps an epoch: the last batch holds 2 */
  ck_assert_int_eq(c.optimizer, DLSC_OPTIMIZER_SGD);
  ck_assert_int_eq(c.loss, DLSC_LOSS_CROSS_ENTROPY);
  ck_assert_int_eq(c.nesterov, 1);
  ck_assert_float_eq(c.learning_rate, 0.2f);
  ck_assert_float_eq(c.momentum, 0.85f);
  ck_assert_float_eq(c.weight_decay, 5e-4f);
  ck_assert_float_eq(c.label_smoothing, 0.1f);
  ck_assert_uint_eq(c.batch_size, 100);
  ck_assert_int_eq(c.schedule, DLSC_SCHEDULE_COSINE);
  ck_assert_uint_eq(c.warmup_steps, 22);
  ck_assert_uint_eq(c.total_steps, 8 * 11 + 22 + 1);
  ck_assert_uint_eq(c.lookahead_every, 5);
  ck_assert_uint_eq(c.lookahead_start, 35); /* (3 * 11 / 5 + 1) * 5 */
  ck_assert_float_eq_tol(c.lookahead_rho, 0.7737809f, 1e-6f);
  ck_assert_uint_eq(c.lookahead_ramp, 8 * 11);

  train_config_for(&c, &s, 1001); /* the last image alone is left out: 10 steps */
  ck_assert_uint_eq(c.warmup_steps, 20);
  ck_assert_uint_eq(c.total_steps, 8 * 10 + 20 + 1);
  ck_assert_uint_eq(c.lookahead_start, 35); /* (30 / 5 + 1) * 5 */
  ck_assert_uint_eq(c.lookahead_ramp, 80);

  s.lookahead = 0;
  s.optimizer = DLSC_OPTIMIZER_ADAM;
  train_config_for(&c, &s, 1000);
  ck_assert_int_eq(c.nesterov, 0);
  ck_assert_uint_eq(c.total_steps, 8 * 10 + 20 + 1);
  dlsc_train_config defaults;
  dlsc_train_config_init(&defaults);
  ck_assert_uint_eq(c.lookahead_every, defaults.lookahead_every);
  ck_assert_uint_eq(c.lookahead_start, defaults.lookahead_start);
  ck_assert_float_eq(c.lookahead_rho, defaults.lookahead_rho);
  ck_assert_uint_eq(c.lookahead_ramp, defaults.lookahead_ramp);
  ck_assert_uint_eq(c.struct_size, defaults.struct_size);

  /* the library takes each of them */
  dlsc_model_t *model = NULL;
  ck_assert_int_eq(dlsc_model_create_from_spec("input 3x4x4; dense 10", 1, &model), DLSC_OK);
  ck_assert_int_eq(dlsc_model_set_training(model, &c), DLSC_OK);
  s.lookahead = 1;
  s.optimizer = DLSC_OPTIMIZER_SGD;
  train_config_for(&c, &s, 1002);
  ck_assert_int_eq(dlsc_model_set_training(model, &c), DLSC_OK);
  dlsc_model_destroy(model);
}
END_TEST

/* The augmentation presets: what each name switches on, as the programs' help and the
 * results documents describe them; an unknown name is refused. */
START_TEST(augmentation_presets_are_their_descriptions) {
  dlsc_augment_config c, none;
  dlsc_augment_config_init(&none);
  int expand = 7;
  ck_assert_int_eq(augment_preset("none", &c, &expand), 0);
  ck_assert_int_eq(expand, 0);
  ck_assert_mem_eq(&c, &none, sizeof c);
  ck_assert_int_eq(augment_preset("original", &c, &expand), 0);
  ck_assert_int_eq(expand, 1); /* copies x1.1, x0.9 and mirrored, nothing on the fly */
  ck_assert_mem_eq(&c, &none, sizeof c);
  ck_assert_int_eq(augment_preset("flip-crop", &c, &expand), 0);
  ck_assert_int_eq(expand, 0);
  ck_assert_int_eq(c.horizontal_flip, DLSC_FLIP_RANDOM);
  ck_assert_uint_eq(c.crop_padding, 4);
  ck_assert_int_eq(c.crop_reflect, 0);
  ck_assert_uint_eq(c.cutout, 0);
  ck_assert_float_eq(c.brightness, 0.0f);
  ck_assert_int_eq(augment_preset("strong", &c, &expand), 0);
  ck_assert_int_eq(c.horizontal_flip, DLSC_FLIP_RANDOM);
  ck_assert_uint_eq(c.crop_padding, 4);
  ck_assert_uint_eq(c.cutout, 12);
  ck_assert_float_eq(c.brightness, 0.2f);
  ck_assert_float_eq(c.contrast, 0.2f);
  ck_assert_int_eq(augment_preset("airbench", &c, &expand), 0);
  ck_assert_int_eq(c.horizontal_flip, DLSC_FLIP_ALTERNATE);
  ck_assert_uint_eq(c.crop_padding, 2);
  ck_assert_int_eq(c.crop_reflect, 1);
  ck_assert_uint_eq(c.cutout, 0);
  ck_assert_int_eq(augment_preset("sideways", &c, &expand), -1);
}
END_TEST

/* --whiten's first layer: the library's whitening of the first images as the datasets
 * take them ((float)byte / 255), with airbench's epsilon, frozen; count past the set's
 * images takes them all. */
START_TEST(whitening_takes_the_first_images_as_pixels) {
  cifar_set set = synthetic_set(12);
  const char *spec = "input 3x32x32; conv2d 24 2x2; gelu; dense 10";
  dlsc_model_t *model = NULL, *reference = NULL;
  ck_assert_int_eq(dlsc_model_create_from_spec(spec, 3, &model), DLSC_OK);
  ck_assert_int_eq(dlsc_model_create_from_spec(spec, 3, &reference), DLSC_OK);
  whiten_first_layer(model, &set, 100);
  float *pixels = malloc(12 * CIFAR_PIXELS * sizeof *pixels);
  for (size_t i = 0; i < 12 * CIFAR_PIXELS; i++)
    pixels[i] = (float)set.pixels[i] / 255.0f;
  ck_assert_int_eq(dlsc_model_init_whitening(reference, 0, pixels, 12, 3e-5f), DLSC_OK);
  size_t count;
  float got[24 * 12 + 24], expected[24 * 12 + 24];
  ck_assert_int_eq(dlsc_model_get_values(model, 0, got, 24 * 12 + 24, &count), DLSC_OK);
  ck_assert_int_eq(dlsc_model_get_values(reference, 0, expected, 24 * 12 + 24, &count), DLSC_OK);
  ck_assert_mem_eq(got, expected, count * sizeof *got);
  /* frozen: a training step leaves it */
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  config.loss = DLSC_LOSS_CROSS_ENTROPY;
  ck_assert_int_eq(dlsc_model_set_training(model, &config), DLSC_OK);
  dlsc_batch batch = {2, pixels, NULL, NULL, set.labels};
  ck_assert_int_eq(dlsc_model_train_batch(model, &batch, NULL), DLSC_OK);
  ck_assert_int_eq(dlsc_model_get_values(model, 0, got, 24 * 12 + 24, &count), DLSC_OK);
  ck_assert_mem_eq(got, expected, count * sizeof *got);
  free(pixels);
  cifar_free(&set);
  dlsc_model_destroy(model);
  dlsc_model_destroy(reference);
}
END_TEST

/* Pseudo-labels are the pool's images the model is surest of, surest first: a model
 * whose class-0 logit is 10 times the mean of channel 0 labels four images of channel-0
 * values 76, 230, 128 and 178 as class 0; per class 2 takes the second and the fourth,
 * in that order, and counts how many agree with the pool's labels. */
START_TEST(pseudo_labels_are_the_surest_images_first) {
  cifar_set pool = synthetic_set(4), out = {0};
  const uint8_t values[4] = {76, 230, 128, 178};
  for (size_t i = 0; i < 4; i++) {
    memset(pool.pixels + i * CIFAR_PIXELS, 0, CIFAR_PIXELS);
    memset(pool.pixels + i * CIFAR_PIXELS, values[i], 1024); /* channel 0 */
    pool.labels[i] = i == 1 ? 0 : 5;
  }
  dlsc_model_t *model = NULL;
  ck_assert_int_eq(dlsc_model_create_from_spec("input 3x32x32; gap; dense 10", 3, &model),
                   DLSC_OK);
  float dense[10 * 3 + 10] = {0};
  dense[0] = 10.0f; /* unit 0 from channel 0 */
  ck_assert_int_eq(dlsc_model_set_values(model, 1, dense, 40), DLSC_OK);
  size_t agree = pseudo_label(model, &pool, 2, 0, &out);
  ck_assert_uint_eq(out.count, 2);
  ck_assert_int_eq(out.labels[0], 0);
  ck_assert_int_eq(out.labels[1], 0);
  ck_assert_int_eq(out.pixels[0], 230);
  ck_assert_int_eq(out.pixels[CIFAR_PIXELS], 178);
  ck_assert_uint_eq(agree, 1); /* the image of 230 is labeled 0 in the pool */
  cifar_free(&out);
  cifar_free(&pool);
  dlsc_model_destroy(model);
}
END_TEST

int main(void) {
  Suite *suite = suite_create("cifar steps");
  TCase *tc = tcase_create("steps");
  tcase_add_test(tc, the_original_expansion_adds_brighter_darker_and_mirrored_copies);
  tcase_add_test(tc, test_time_views_are_mirrors_and_reflected_shifts);
  tcase_add_test(tc, the_schedule_counts_epochs_warmup_and_airbench_lookahead);
  tcase_add_test(tc, augmentation_presets_are_their_descriptions);
  tcase_add_test(tc, whitening_takes_the_first_images_as_pixels);
  tcase_add_test(tc, pseudo_labels_are_the_surest_images_first);
  suite_add_tcase(suite, tc);
  return run_suite(suite);
}
