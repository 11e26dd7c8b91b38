/* Models: building from specs, inference, metadata, the file format (round trips,
 * every truncation and byte flip rejected), atomic files and transfer copies. */
#include "common.h"

#include "format.h"   /* the reader under both file formats */
#include "internal.h" /* dlsc_crc32, to forge a checksum */

#include <dirent.h>
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *small_cnn =
    "input 3x8x8; conv2d 4 3x3 pad=same; batchnorm; relu; maxpool 2; conv2d 5 3x3 stride=2 "
    "bias=0; gelu; dropout 0.25; dense 6; sigmoid";

START_TEST(spec_builds_shapes_and_describes_itself) {
  dlsc_model_t *model = from_spec(small_cnn, 1);
  dlsc_model_info info;
  ck_assert_ok(dlsc_model_get_info(model, &info));
  ck_assert_uint_eq(info.n_layers, 9);
  ck_assert_uint_eq(info.output.channels, 6);
  /* conv 3x3 same: 4x8x8 -> pool: 4x4x4 -> conv stride 2: 5x1x1 (floor((4-3)/2)+1 = 1) */
  dlsc_shape shape;
  ck_assert_ok(dlsc_model_get_layer(model, 3, NULL, &shape));
  ck_assert_uint_eq(shape.channels, 4);
  ck_assert_uint_eq(shape.height, 4);
  ck_assert_ok(dlsc_model_get_layer(model, 4, NULL, &shape));
  ck_assert_uint_eq(shape.height, 1);
  size_t expected = (4 * 27 + 4) + 8 + (5 * 36) + (6 * 5 + 6);
  ck_assert_uint_eq(info.n_parameters, expected);
  size_t length;
  ck_assert_ok(dlsc_model_describe(model, NULL, 0, &length)); /* a size query */
  char *text = malloc(length);
  memset(text, '#', length);
  size_t short_length = 0;
  ck_assert_status(dlsc_model_describe(model, text, length - 1, &short_length),
                   DLSC_ERR_BUFFER_TOO_SMALL);
  ck_assert_uint_eq(short_length, length);
  for (size_t i = 0; i < length; i++) /* a buffer too small is left as it was */
    ck_assert_int_eq(text[i], '#');
  ck_assert_ok(dlsc_model_describe(model, text, length, &length));
  ck_assert_str_eq(text, "input 3x8x8; conv2d 4 3x3 pad=1x1; batchnorm; relu; maxpool 2x2; "
                         "conv2d 5 3x3 stride=2x2 bias=0; gelu; dropout 0.25; dense 6; sigmoid");
  ck_assert_uint_eq(length, strlen(text) + 1); /* the size asked for: the text and its NUL */
  dlsc_model_t *again = from_spec(text, 1); /* the description is a valid spec */
  assert_same_model(model, again); /* same seed, same weights */
  free(text);
  dlsc_model_destroy(again);
  dlsc_model_destroy(model);
  /* a dense layer without bias says so (a description that dropped it would build a
   * model with one) */
  model = from_spec("input 1x4x4; dense 3 bias=0; dense 2", 1);
  char dense_text[64];
  ck_assert_ok(dlsc_model_describe(model, dense_text, sizeof dense_text, &length));
  ck_assert_str_eq(dense_text, "input 1x4x4; dense 3 bias=0; dense 2");
  dlsc_model_destroy(model);
  /* strides and padding that differ from the default on one side only (cnn2's) */
  static const char *one_sided = "input 1x9x16; conv2d 2 3x5 stride=1x2 pad=0x2; "
                                 "maxpool 2x2 stride=2x1; avgpool 1x2 stride=1x1 pad=0x1; "
                                 "conv1d 2 3 stride=2 pad=1";
  model = from_spec(one_sided, 1);
  char one_sided_text[160];
  ck_assert_ok(dlsc_model_describe(model, one_sided_text, sizeof one_sided_text, &length));
  ck_assert_str_eq(one_sided_text, one_sided);
  dlsc_model_destroy(model);
}
END_TEST

START_TEST(spec_errors_are_reported) {
  dlsc_model_t *model = (dlsc_model_t *)0x1;
  static const char *malformed[] = {
      "", "dense 4", "input 3x8; dense 4", "input 3x8x8; dense", "input 3x8x8; dense four",
      "input 3x8x8; wobble 3", "input 3x8x8; conv2d 4 3x3 pad=maybe", "input 3x8x8; dense 4 x=1",
      "input 3x8x8; conv2d 4", "input 3x8x8; dense -4", "input 3x8x8; dropout", "input 0x8x8",
      "input 3x8x8; dense 99999999999999", "input 3x8x8; batchnorm eps=1e40",
      "input 3x8x8; batchnorm eps=inf", "input 3x8x8; log eps=infinity", "input 3x8x8; log eps=nan",
      "input 3x8x8; batchnorm momentum=-inf", "input 3x8x8; dropout inf", "inputs 3x8x8",
      "input 3x8x8 3x8x8; dense 4", "dense 4; input 3x8x8", "input 3", "input 3x8x8; conv2d 4 x3",
      "input 3x8x8; conv2d 4 3 pad", "input 3x8x8; dense 4 bias=2", "input 3x8x8; dense 4abc",
      "input 3x8x8; conv2d 4 3x3q", "input 3x8x8q", "input 3x8x8; dense +4",
      "input 3x8x8; batchnorm velocity=0.5", "input 3x8x8; conv2d 4 3 padded=1",
      "input 3x8x8; maxpool 2 pad=2x0", "input 3x8x8; avgpool 2 pad=0x2",
      /* the first part of a pair 64 characters long (an 8 behind 63 zeros) */
      "input 3x0000000000000000000000000000000000000000000000000000000000000008x8"};
  for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
    dlsc_status status = dlsc_model_create_from_spec(malformed[i], 1, &model);
    ck_assert_msg(status == DLSC_ERR_BAD_FORMAT || status == DLSC_ERR_INVALID_ARGUMENT,
                  "'%s' gave %d", malformed[i], status);
  }
  ck_assert_status(dlsc_model_create_from_spec("input 1x4x4; conv2d 2 5x5", 1, &model),
                   DLSC_ERR_SHAPE_MISMATCH);
  /* convolution kernels up to 64 a side */
  static const char *kernels[] = {"input 1x64x64; conv2d 1 64", "input 1x1x64; conv1d 1 64",
                                  "input 1x65x65; conv2d 1 65x1", "input 1x65x65; conv2d 1 1x65",
                                  "input 1x1x65; conv1d 1 65"};
  for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++) {
    dlsc_model_t *built = NULL;
    ck_assert_msg(dlsc_model_create_from_spec(kernels[i], 1, &built) ==
                      (i < 2 ? DLSC_OK : DLSC_ERR_INVALID_ARGUMENT),
                  "'%s'", kernels[i]);
    dlsc_model_destroy(built);
  }
  ck_assert_status(dlsc_model_create_from_spec("input 1x4x4; maxpool 8", 1, &model),
                   DLSC_ERR_SHAPE_MISMATCH);
  ck_assert_status(dlsc_model_create_from_spec("input 1x4x4; dropout 1.5", 1, &model),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_create_from_spec(NULL, 1, &model), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_eq(model, (dlsc_model_t *)0x1);
  /* A subnormal epsilon (strtof's ERANGE on underflow) is a float a model can hold and
   * print, so the grammar takes it back. */
  ck_assert_ok(dlsc_model_create_from_spec("input 1x4x4; batchnorm eps=2.41023336e-43", 1, &model));
  char text[128];
  size_t length;
  ck_assert_ok(dlsc_model_describe(model, text, sizeof text, &length));
  ck_assert_str_eq(text, "input 1x4x4; batchnorm eps=2.41e-43");
  dlsc_model_destroy(model);
  ck_assert_ok(dlsc_model_create_from_spec(text, 1, &model)); /* and reads it back */
  dlsc_model_destroy(model);
}
END_TEST

START_TEST(spec_check_locates_the_fault) {
  static const struct {
    const char *spec;
    dlsc_status verdict;
    const char *quoted; /* the span, or NULL: empty at the end of the spec */
  } cases[] = {
      {"input 3x8x8; conv2d 4 3x3; wobble 3; relu", DLSC_ERR_BAD_FORMAT, "wobble 3"},
      {"input 1x4x4;\n  conv2d 2 5x5 \t; relu", DLSC_ERR_SHAPE_MISMATCH, "conv2d 2 5x5"},
      {"input 1x4x4; dropout 1.5", DLSC_ERR_INVALID_ARGUMENT, "dropout 1.5"},
      {"input 3x8x8; conv2d 4 3x3 pad=maybe;", DLSC_ERR_BAD_FORMAT, "conv2d 4 3x3 pad=maybe"},
      {"dense 4; input 1x4x4", DLSC_ERR_BAD_FORMAT, "dense 4"},
      {" input 3x8 ; dense 4", DLSC_ERR_BAD_FORMAT, "input 3x8"},
      {"input 1x4x4; relu a b c d e f g h i j k l m n o p", DLSC_ERR_BAD_FORMAT,
       "relu a b c d e f g h i j k l m n o p"},
      {"", DLSC_ERR_BAD_FORMAT, NULL},
      {" ; ;\n", DLSC_ERR_BAD_FORMAT, NULL},
      {"input 3x8x8; dense 4;", DLSC_OK, ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *spec = cases[i].spec;
    dlsc_status verdict = DLSC_ERR_IO;
    size_t offset = 99, length = 99;
    ck_assert_ok(dlsc_model_check_spec(spec, &verdict, &offset, &length));
    ck_assert_msg(verdict == cases[i].verdict, "'%s' gave %d", spec, verdict);
    dlsc_model_t *model = NULL; /* the verdict is create_from_spec's status */
    ck_assert_status(dlsc_model_create_from_spec(spec, 1, &model), verdict);
    dlsc_model_destroy(model);
    if (verdict == DLSC_OK) {
      ck_assert_uint_eq(offset, 0);
      ck_assert_uint_eq(length, 0);
    } else if (!cases[i].quoted) {
      ck_assert_uint_eq(offset, strlen(spec));
      ck_assert_uint_eq(length, 0);
    } else {
      ck_assert_uint_eq(length, strlen(cases[i].quoted));
      ck_assert_msg(strncmp(spec + offset, cases[i].quoted, length) == 0, "'%s': quoted '%.*s'",
                    spec, (int)length, spec + offset);
    }
  }
  dlsc_status verdict = DLSC_ERR_IO;
  size_t offset = 99, length = 99;
  ck_assert_status(dlsc_model_check_spec(NULL, &verdict, &offset, &length),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_check_spec("input 1x1x1", NULL, &offset, &length),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_check_spec("input 1x1x1", &verdict, NULL, &length),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_check_spec("input 1x1x1", &verdict, &offset, NULL),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(verdict, DLSC_ERR_IO); /* refused calls leave the outputs alone */
  ck_assert_uint_eq(offset, 99);
  ck_assert_uint_eq(length, 99);
}
END_TEST

START_TEST(spec_numbers_print_with_the_fewest_digits) {
  /* 0.1f is 0.100000001490116...: described as 0.1, which reads back as the same float. */
  dlsc_model_t *model;
  ck_assert_ok(dlsc_model_create_from_spec(
      "input 1x2x4; dropout 0.1; batchnorm eps=1e-4 momentum=0.3; dropout 0.123456789", 1, &model));
  char text[128];
  size_t length;
  ck_assert_ok(dlsc_model_describe(model, text, sizeof text, &length));
  ck_assert_str_eq(text,
                   "input 1x2x4; dropout 0.1; batchnorm eps=0.0001 momentum=0.3; dropout 0.12345679");
  dlsc_layer_config config = {.struct_size = sizeof config};
  ck_assert_ok(dlsc_model_get_layer(model, 0, &config, NULL));
  ck_assert_float_eq(config.rate, 0.1f);
  ck_assert_ok(dlsc_model_get_layer(model, 1, &config, NULL));
  ck_assert_float_eq(config.momentum, 0.3f);
  dlsc_model_destroy(model);
  /* Some floats need all 9 digits: 1.00000025e-05's 8-digit form reads back as
   * 1.00000016e-05, another float. */
  ck_assert_float_ne(strtof("1.0000002e-05", NULL), strtof("1.00000025e-05", NULL));
  ck_assert_ok(dlsc_model_create_from_spec("input 1x2x4; batchnorm eps=1.00000025e-05", 1, &model));
  ck_assert_ok(dlsc_model_describe(model, text, sizeof text, &length));
  ck_assert_str_eq(text, "input 1x2x4; batchnorm eps=1.00000025e-05");
  dlsc_model_destroy(model);
}
END_TEST

/* A host that called setlocale(LC_ALL, "") in a locale whose decimal point is a comma
 * (de_DE) still reads and prints specs as C text, and keeps its own locale after. The
 * locale comes from the system or, as scripts/test.sh builds one, from
 * $DLSC_TEST_LOCPATH; with neither the test says it skipped (scripts/test.sh sets the
 * variable wherever it could install Debian's locales, as in CI: there it cannot skip). */
static const char *comma_spec = "input 1x2x4; dropout 0.25; batchnorm eps=0.001 momentum=0.5";

static void specs_are_c_text_under_the_current_locale(void) {
  char probe[16];
  snprintf(probe, sizeof probe, "%g", 0.25);
  ck_assert_str_eq(probe, "0,25"); /* the comma locale is in force */
  dlsc_model_t *model;
  ck_assert_ok(dlsc_model_create_from_spec(comma_spec, 1, &model));
  char text[128];
  size_t length;
  ck_assert_ok(dlsc_model_describe(model, text, sizeof text, &length));
  ck_assert_str_eq(text, comma_spec);
  dlsc_layer_config config = {.struct_size = sizeof config};
  ck_assert_ok(dlsc_model_get_layer(model, 0, &config, NULL));
  ck_assert_float_eq(config.rate, 0.25f);
  dlsc_model_destroy(model);
  dlsc_status verdict; /* one grammar: the locale's own "0,25" is no number in a spec */
  size_t offset;
  ck_assert_ok(dlsc_model_check_spec("input 1x2x4; dropout 0,25", &verdict, &offset, &length));
  ck_assert_int_eq(verdict, DLSC_ERR_BAD_FORMAT);
  ck_assert_uint_eq(offset, 13);
  snprintf(probe, sizeof probe, "%g", 0.25);
  ck_assert_str_eq(probe, "0,25"); /* the caller's locale is back */
}

START_TEST(spec_numbers_are_c_text_under_any_locale) {
  const char *dir = getenv("DLSC_TEST_LOCPATH");
  bool given = dir && *dir;
  if (given)
    ck_assert_int_eq(setenv("LOCPATH", dir, 1), 0);
  /* The process's locale, as setlocale(LC_ALL, "") sets it... (glibc's newlocale leaks
   * its copy of LOCPATH: the locale is read by setlocale and copied for uselocale) */
  if (!setlocale(LC_ALL, "de_DE.UTF-8")) {
    ck_assert_msg(!given, "no de_DE.UTF-8 locale under DLSC_TEST_LOCPATH=%s", dir);
    printf("spec_numbers_are_c_text_under_any_locale skipped: no de_DE.UTF-8 locale\n");
    return;
  }
  locale_t comma = duplocale(LC_GLOBAL_LOCALE);
  ck_assert_ptr_nonnull(comma);
  specs_are_c_text_under_the_current_locale();
  ck_assert_ptr_nonnull(setlocale(LC_ALL, "C"));
  /* ...and a thread's own (uselocale), over a C process locale. */
  locale_t previous = uselocale(comma);
  specs_are_c_text_under_the_current_locale();
  uselocale(previous);
  freelocale(comma);
  unsetenv("LOCPATH");
}
END_TEST

START_TEST(add_layer_validates) {
  dlsc_model_t *model;
  ck_assert_status(dlsc_model_create((dlsc_shape){0, 1, 1}, 1, &model), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_ok(dlsc_model_create((dlsc_shape){1, 4, 4}, 1, &model));
  dlsc_layer_config config;
  ck_assert_ok(dlsc_layer_config_init(&config, DLSC_LAYER_CONV2D));
  ck_assert_status(dlsc_model_add_layer(model, &config), DLSC_ERR_INVALID_ARGUMENT); /* 0 units */
  dlsc_layer_config other;
  ck_assert_ok(dlsc_layer_config_init(&other, DLSC_LAYER_DENSE));
  ck_assert_status(dlsc_model_add_layer(model, &other), DLSC_ERR_INVALID_ARGUMENT); /* 0 units */
  for (int pool = 0; pool < 2; pool++) { /* a kernel 0 high */
    ck_assert_ok(dlsc_layer_config_init(&other, pool ? DLSC_LAYER_AVGPOOL : DLSC_LAYER_MAXPOOL));
    other.kernel_h = 0;
    other.kernel_w = 2;
    ck_assert_status(dlsc_model_add_layer(model, &other), DLSC_ERR_INVALID_ARGUMENT);
  }
  config.units = 2;
  config.kernel_h = config.kernel_w = 3;
  config.pad_h = 3;
  ck_assert_status(dlsc_model_add_layer(model, &config), DLSC_ERR_INVALID_ARGUMENT);
  config.pad_h = 1;
  config.stride_w = 0;
  ck_assert_status(dlsc_model_add_layer(model, &config), DLSC_ERR_INVALID_ARGUMENT);
  config.stride_w = 1;
  config.stride_h = 0;
  ck_assert_status(dlsc_model_add_layer(model, &config), DLSC_ERR_INVALID_ARGUMENT);
  config.stride_h = 1;
  config.stride_w = (size_t)1 << 31; /* more than any spec can say */
  ck_assert_status(dlsc_model_add_layer(model, &config), DLSC_ERR_INVALID_ARGUMENT);
  config.stride_w = 1;
  config.bias = 2;
  ck_assert_status(dlsc_model_add_layer(model, &config), DLSC_ERR_INVALID_ARGUMENT);
  config.bias = 1;
  config.rate = 0.5f; /* fields the kind does not read are reset to their defaults */
  config.momentum = 0.7f;
  ck_assert_ok(dlsc_model_add_layer(model, &config));
  dlsc_layer_config stored;
  stored.struct_size = sizeof stored;
  ck_assert_ok(dlsc_model_get_layer(model, 0, &stored, NULL));
  ck_assert_float_eq(stored.rate, 0.0f);
  ck_assert_float_eq(stored.momentum, 0.1f);
  ck_assert_uint_eq(stored.pad_h, 1);
  ck_assert_status(dlsc_model_add_layer(NULL, &config), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_add_layer(model, NULL), DLSC_ERR_INVALID_ARGUMENT);
  dlsc_model_info info;
  ck_assert_ok(dlsc_model_get_info(model, &info));
  ck_assert_uint_eq(info.n_layers, 1);
  ck_assert_status(dlsc_model_get_layer(model, 1, &config, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_set_layer_frozen(model, 5, 1), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_set_layer_lr_scale(model, 5, 1.0f), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_set_layer_lr_scale(model, 0, -1.0f), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_set_layer_lr_scale(model, 0, NAN), DLSC_ERR_INVALID_ARGUMENT);
  /* Epsilons must be finite and positive: log(x + inf) would make every output infinite,
   * and batch-norm would output its shift whatever the input. */
  static const dlsc_layer_kind with_epsilon[] = {DLSC_LAYER_LOG, DLSC_LAYER_BATCHNORM};
  static const float bad_epsilon[] = {0.0f, -1e-3f, INFINITY, NAN};
  for (size_t k = 0; k < 2; k++)
    for (size_t i = 0; i < sizeof bad_epsilon / sizeof bad_epsilon[0]; i++) {
      ck_assert_ok(dlsc_layer_config_init(&config, with_epsilon[k]));
      config.epsilon = bad_epsilon[i];
      ck_assert_msg(dlsc_model_add_layer(model, &config) == DLSC_ERR_INVALID_ARGUMENT,
                    "kind %d took epsilon %g", (int)with_epsilon[k], (double)bad_epsilon[i]);
    }
  ck_assert_ok(dlsc_model_get_info(model, &info));
  ck_assert_uint_eq(info.n_layers, 1);
  dlsc_model_destroy(model);
}
END_TEST

/* A layer config struct as short as kind and units (a caller of an older header) gets
 * the kind's defaults for the rest: a dense layer's bias, batch-norm's epsilon and
 * momentum. */
START_TEST(a_short_layer_config_gets_the_defaults) {
  dlsc_model_t *model;
  ck_assert_ok(dlsc_model_create((dlsc_shape){1, 1, 3}, 1, &model));
  dlsc_layer_config config;
  memset(&config, 0, sizeof config);
  config.struct_size = offsetof(dlsc_layer_config, kernel_h);
  config.kind = DLSC_LAYER_BATCHNORM;
  ck_assert_ok(dlsc_model_add_layer(model, &config));
  config.kind = DLSC_LAYER_DENSE;
  config.units = 4;
  ck_assert_ok(dlsc_model_add_layer(model, &config));
  dlsc_layer_config stored;
  stored.struct_size = sizeof stored;
  ck_assert_ok(dlsc_model_get_layer(model, 0, &stored, NULL));
  ck_assert_float_eq(stored.epsilon, 1e-5f);
  ck_assert_float_eq(stored.momentum, 0.1f);
  ck_assert_ok(dlsc_model_get_layer(model, 1, &stored, NULL));
  ck_assert_int_eq(stored.bias, 1);
  dlsc_model_info info;
  ck_assert_ok(dlsc_model_get_info(model, &info));
  ck_assert_uint_eq(info.n_parameters, 2 + 3 * 4 + 4); /* one channel: one scale, one shift */
  dlsc_model_destroy(model);
}
END_TEST

/* Layers added after a prediction get their workspace: the outputs are those of the
 * model built whole. */
START_TEST(a_layer_added_after_predicting_gets_its_workspace) {
  dlsc_model_t *grown = from_spec("input 1x2x6; conv2d 3 1x3; relu", 8);
  dlsc_model_t *whole = from_spec("input 1x2x6; conv2d 3 1x3; relu; dense 40; relu; dense 5", 8);
  float x[4 * 12], y[4 * 40], want[4 * 5], got[4 * 5];
  fill_uniform(x, 4 * 12, -1, 1, 9);
  ck_assert_ok(dlsc_model_predict(grown, x, 4, y));
  dlsc_layer_config config;
  config.struct_size = sizeof config;
  for (size_t i = 2; i < 5; i++) { /* the whole model's layers, weights and all */
    ck_assert_ok(dlsc_model_get_layer(whole, i, &config, NULL));
    ck_assert_ok(dlsc_model_add_layer(grown, &config));
    float values[4096];
    size_t n;
    ck_assert_ok(dlsc_model_get_values(whole, i, values, 4096, &n));
    if (n > 0)
      ck_assert_ok(dlsc_model_set_values(grown, i, values, n));
  }
  ck_assert_ok(dlsc_model_predict(whole, x, 4, want));
  ck_assert_ok(dlsc_model_predict(grown, x, 4, got));
  ck_assert_mem_eq(got, want, sizeof got);
  /* Trained with Adam, then grown by a layer: the optimizer starts afresh, as in a
   * clone (the moments of the smaller model fit no parameter of the larger one). */
  dlsc_train_config train;
  dlsc_train_config_init(&train);
  train.learning_rate = 1e-2f;
  ck_assert_ok(dlsc_model_set_training(grown, &train));
  float five[4 * 5], three[4 * 3];
  fill_uniform(five, 4 * 5, 0, 1, 10);
  fill_uniform(three, 4 * 3, 0, 1, 11);
  dlsc_batch batch = {4, x, five, NULL, NULL};
  ck_assert_ok(dlsc_model_train_batch(grown, &batch, NULL)); /* moments of 5 outputs */
  ck_assert_ok(dlsc_layer_config_init(&config, DLSC_LAYER_DENSE));
  config.units = 3;
  ck_assert_ok(dlsc_model_add_layer(grown, &config));
  batch.targets = three;
  dlsc_model_t *copy;
  ck_assert_ok(dlsc_model_clone(grown, &copy));
  assert_same_step(grown, copy, &batch);
  dlsc_model_destroy(copy);
  dlsc_model_destroy(grown);
  dlsc_model_destroy(whole);
}
END_TEST

START_TEST(predict_is_batch_independent_and_rejects_nan) {
  dlsc_model_t *model = from_spec(small_cnn, 3);
  size_t count = 300, in_size = 3 * 8 * 8;
  float *x = malloc(count * in_size * sizeof *x), *y = malloc(count * 6 * sizeof *y);
  float *one = malloc(6 * sizeof *one);
  fill_uniform(x, count * in_size, 0, 1, 4);
  ck_assert_ok(dlsc_model_predict(model, x, count, y));
  for (size_t i = 0; i < count; i += 37) {
    ck_assert_ok(dlsc_model_predict(model, x + i * in_size, 1, one));
    ck_assert_double_le(max_abs_diff(one, y + i * 6, 6), 1e-6);
  }
  for (size_t i = 0; i < count * 6; i++)
    ck_assert(y[i] > 0.0f && y[i] < 1.0f); /* sigmoid outputs */
  x[5] = NAN;
  ck_assert_status(dlsc_model_predict(model, x, count, y), DLSC_ERR_NUMERIC);
  /* Finite inputs a model overflows on: a status, not a silent infinity. */
  dlsc_model_t *linear = from_spec("input 1x1x2; dense 1", 1);
  linear->layers[0].params[0] = linear->layers[0].params[1] = 1.0f;
  float huge[2] = {3e38f, 3e38f}, out = 7.0f;
  ck_assert_status(dlsc_model_predict(linear, huge, 1, &out), DLSC_ERR_NUMERIC);
  ck_assert_float_eq(out, 7.0f);
  huge[1] = -3e38f;
  ck_assert_ok(dlsc_model_predict(linear, huge, 1, &out));
  ck_assert(isfinite(out));
  dlsc_model_destroy(linear);
  ck_assert_status(dlsc_model_predict(model, x, 0, y), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_predict(model, NULL, 1, y), DLSC_ERR_INVALID_ARGUMENT);
  free(x);
  free(y);
  free(one);
  dlsc_model_destroy(model);
}
END_TEST

/* A batch-norm layer and the ReLU after it run as one pass (model.c): the same floats
 * as the two apart, bit for bit, in inference and in training. The reference is the
 * same model with a 1x1 max-pooling (a copy, forward and backward) between each pair,
 * so that nothing fuses: pairs at the input, back to back and last, with inference's two
 * alternating buffers and with a training workspace (a buffer per layer), and training
 * steps (batch statistics, the gradients through both layers). */
START_TEST(batchnorm_and_relu_fused_give_the_same_floats) {
  const char *fused_spec = "input 2x6x6; batchnorm; relu; conv2d 4 3x3 pad=1; batchnorm; relu; "
                           "batchnorm; relu; conv2d 3 3x3 pad=1; batchnorm; relu";
  const char *apart_spec = "input 2x6x6; batchnorm; maxpool 1; relu; conv2d 4 3x3 pad=1; "
                           "batchnorm; maxpool 1; relu; batchnorm; maxpool 1; relu; "
                           "conv2d 3 3x3 pad=1; batchnorm; maxpool 1; relu";
  static const size_t apart_index[] = {0, 2, 3, 4, 6, 7, 9, 10, 11, 13};
  dlsc_model_t *fused = from_spec(fused_spec, 5), *apart = from_spec(apart_spec, 5);
  for (size_t j = 0; j < 10; j++) { /* the same values, batch-norm's far from identity */
    float values[256];
    size_t n;
    ck_assert_ok(dlsc_model_get_values(fused, j, values, 256, &n));
    if (fused->layers[j].config.kind == DLSC_LAYER_BATCHNORM) {
      size_t c = n / 4;
      fill_uniform(values, c, 0.5f, 1.5f, 977 * j + 1);     /* gamma */
      fill_uniform(values + c, 2 * c, -1, 1, 977 * j + 2);   /* beta, running mean */
      fill_uniform(values + 3 * c, c, 0.2f, 2, 977 * j + 3); /* running variance */
    }
    if (n) {
      ck_assert_ok(dlsc_model_set_values(apart, apart_index[j], values, n));
      ck_assert_ok(dlsc_model_set_values(fused, j, values, n));
    }
  }
  enum { COUNT = 9, IN = 2 * 6 * 6, OUT = 3 * 6 * 6 };
  float x[COUNT * IN], want[COUNT * OUT], got[COUNT * OUT], target[COUNT * OUT];
  fill_uniform(x, COUNT * IN, -2, 2, 6);
  fill_uniform(target, COUNT * OUT, 0, 1, 7);
  ck_assert_ok(dlsc_model_predict(apart, x, COUNT, want));
  ck_assert_ok(dlsc_model_predict(fused, x, COUNT, got));
  ck_assert_mem_eq(got, want, sizeof got);
  size_t zeros = 0, positive = 0; /* the ReLU did cut */
  for (size_t i = 0; i < COUNT * OUT; i++) {
    zeros += got[i] == 0.0f;
    positive += got[i] > 0.0f;
  }
  ck_assert_uint_gt(zeros, COUNT * OUT / 10);
  ck_assert_uint_gt(positive, COUNT * OUT / 10);
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  config.loss = DLSC_LOSS_MSE;
  config.learning_rate = 0.05f;
  config.batch_size = COUNT;
  ck_assert_ok(dlsc_model_set_training(fused, &config));
  ck_assert_ok(dlsc_model_set_training(apart, &config));
  dlsc_batch batch = {COUNT, x, target, NULL, NULL};
  for (int step = 0; step < 3; step++) {
    dlsc_train_stats a, b;
    ck_assert_ok(dlsc_model_train_batch(apart, &batch, &a));
    ck_assert_ok(dlsc_model_train_batch(fused, &batch, &b));
    ck_assert_mem_eq(&a.loss, &b.loss, sizeof a.loss);
  }
  for (size_t j = 0; j < 10; j++) { /* weights, batch-norm's statistics: the same bits */
    float a[256], b[256];
    size_t n, m;
    ck_assert_ok(dlsc_model_get_values(apart, apart_index[j], a, 256, &n));
    ck_assert_ok(dlsc_model_get_values(fused, j, b, 256, &m));
    ck_assert_uint_eq(n, m);
    ck_assert_mem_eq(a, b, n * sizeof *a);
  }
  float before[COUNT * OUT];
  memcpy(before, want, sizeof before);
  ck_assert_ok(dlsc_model_predict(apart, x, COUNT, want)); /* a training workspace now */
  memset(got, 0, sizeof got);
  ck_assert_ok(dlsc_model_predict(fused, x, COUNT, got));
  ck_assert_mem_eq(got, want, sizeof got);
  ck_assert_double_gt(max_abs_diff(got, before, COUNT * OUT), 1e-3); /* the steps did move */
  dlsc_model_destroy(fused);
  dlsc_model_destroy(apart);
}
END_TEST

/* classify names the arg-max class and gives the softmax of the scores, computed
 * here in double; large scores must not overflow it, overflowing ones get a status. */
START_TEST(classify_gives_the_top_class_and_softmax) {
  dlsc_model_t *model = from_spec("input 1x2x3; dense 4", 5);
  size_t count = 20, classes = 4;
  float x[20 * 6], z[20 * 4], p[20 * 4], p_only[20 * 4];
  int32_t labels[20], labels_only[20];
  fill_uniform(x, count * 6, -3, 3, 8);
  for (size_t i = 0; i < 6; i++)
    x[6 * 19 + i] = 1e4f * x[i]; /* scores in the thousands: exp() of them overflows */
  ck_assert_ok(dlsc_model_predict(model, x, count, z));
  ck_assert_ok(dlsc_model_classify(model, x, count, labels, p));
  for (size_t i = 0; i < count; i++) {
    const float *zi = z + i * classes;
    size_t top = 0;
    for (size_t c = 1; c < classes; c++)
      top = zi[c] > zi[top] ? c : top;
    ck_assert_int_eq(labels[i], (int32_t)top);
    double sum = 0.0, total = 0.0;
    for (size_t c = 0; c < classes; c++)
      sum += exp((double)zi[c] - zi[top]);
    for (size_t c = 0; c < classes; c++) {
      double expected = exp((double)zi[c] - zi[top]) / sum;
      ck_assert_double_le(fabs(p[i * classes + c] - expected), 1e-6);
      total += p[i * classes + c];
    }
    ck_assert_double_le(fabs(total - 1.0), 1e-5);
  }
  ck_assert_double_ge(fabs(z[19 * 4] - z[19 * 4 + 1]), 100.0); /* the large row is large */
  /* either output alone */
  ck_assert_ok(dlsc_model_classify(model, x, count, labels_only, NULL));
  ck_assert_mem_eq(labels_only, labels, sizeof labels);
  ck_assert_ok(dlsc_model_classify(model, x, count, NULL, p_only));
  ck_assert_mem_eq(p_only, p, sizeof p);
  /* refusals leave the outputs as they were */
  memset(labels_only, 0x7f, sizeof labels_only);
  float sentinel = p_only[0];
  x[3] = NAN;
  ck_assert_status(dlsc_model_classify(model, x, count, labels_only, p_only), DLSC_ERR_NUMERIC);
  x[3] = 3e38f; /* finite, but the scores overflow */
  x[4] = 3e38f;
  ck_assert_status(dlsc_model_classify(model, x, count, labels_only, p_only), DLSC_ERR_NUMERIC);
  ck_assert_int_eq(labels_only[0], 0x7f7f7f7f);
  ck_assert_float_eq(p_only[0], sentinel);
  ck_assert_status(dlsc_model_classify(model, x, count, NULL, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_classify(model, x, 0, labels, p), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_classify(NULL, x, 1, labels, p), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_classify(model, NULL, 1, labels, p), DLSC_ERR_INVALID_ARGUMENT);
  dlsc_model_destroy(model);
  model = from_spec("input 1x2x3; dense 1", 5); /* one score: not a classifier */
  ck_assert_status(dlsc_model_classify(model, x + 6, 1, labels, p), DLSC_ERR_SHAPE_MISMATCH);
  dlsc_model_destroy(model);
}
END_TEST

/* Byte images classify as their floats (float)byte / 255.0f do, bit for bit, across the
 * 256-image chunks; a failure in a later chunk leaves the outputs untouched. */
START_TEST(classify_u8_is_classify_on_the_datasets_floats) {
  dlsc_model_t *model = from_spec("input 2x2x3; conv2d 3 2x2; relu; dense 5", 9);
  enum { COUNT = 600, SIZE = 12, CLASSES = 5 };
  uint8_t *bytes = malloc(COUNT * SIZE);
  float *floats = malloc(COUNT * SIZE * sizeof *floats);
  float *p = malloc(COUNT * CLASSES * sizeof *p), *p8 = malloc(COUNT * CLASSES * sizeof *p8);
  int32_t *labels = malloc(COUNT * sizeof *labels), *labels8 = malloc(COUNT * sizeof *labels8);
  uint64_t seed = 3;
  for (size_t i = 0; i < COUNT * SIZE; i++) {
    bytes[i] = (uint8_t)(test_random(&seed) >> 24);
    floats[i] = (float)bytes[i] / 255.0f;
  }
  ck_assert_ok(dlsc_model_classify(model, floats, COUNT, labels, p));
  ck_assert_ok(dlsc_model_classify_u8(model, bytes, COUNT, labels8, p8));
  ck_assert_mem_eq(labels8, labels, COUNT * sizeof *labels);
  ck_assert_mem_eq(p8, p, COUNT * CLASSES * sizeof *p);
  int32_t spread[CLASSES] = {0}; /* the images do not all land in one class */
  for (size_t i = 0; i < COUNT; i++)
    spread[labels[i]]++;
  int used = 0;
  for (int c = 0; c < CLASSES; c++)
    used += spread[c] > 0;
  ck_assert_int_ge(used, 2);
  /* either output alone (one image against one: a batch's products may round apart) */
  ck_assert_ok(dlsc_model_classify(model, floats, 1, NULL, p));
  ck_assert_ok(dlsc_model_classify_u8(model, bytes, 1, NULL, p8));
  ck_assert_mem_eq(p8, p, CLASSES * sizeof *p);
  ck_assert_status(dlsc_model_classify_u8(model, NULL, 1, labels8, p8), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_classify_u8(model, bytes, 0, labels8, p8), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_classify_u8(model, bytes, 1, NULL, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_classify_u8(NULL, bytes, 1, labels8, p8), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_classify_u8(model, bytes, SIZE_MAX / 2 + 1, labels8, NULL),
                   DLSC_ERR_INVALID_ARGUMENT);
  /* Weights that make the scores of a bright image overflow: image 500 (the second
   * chunk) fails, and nothing of the first chunk's results is written. */
  dlsc_model_t *huge = from_spec("input 2x2x3; dense 5", 9);
  float weights[5 * 12 + 5];
  for (size_t i = 0; i < 5 * 12; i++)
    weights[i] = 3e38f;
  for (size_t i = 5 * 12; i < 5 * 12 + 5; i++)
    weights[i] = 0.0f;
  ck_assert_ok(dlsc_model_set_values(huge, 0, weights, 5 * 12 + 5));
  memset(bytes, 0, COUNT * SIZE);
  for (size_t i = 0; i < COUNT; i++)
    bytes[i * SIZE] = 200; /* one lit pixel: 3e38 * 0.78, finite */
  ck_assert_ok(dlsc_model_classify_u8(huge, bytes, COUNT, labels8, NULL));
  memset(bytes + 500 * SIZE, 255, SIZE);
  memset(labels8, 0x7f, COUNT * sizeof *labels8);
  memcpy(p8, p, COUNT * CLASSES * sizeof *p);
  ck_assert_status(dlsc_model_classify_u8(huge, bytes, COUNT, labels8, p8), DLSC_ERR_NUMERIC);
  for (size_t i = 0; i < COUNT; i++)
    ck_assert_int_eq(labels8[i], 0x7f7f7f7f);
  ck_assert_mem_eq(p8, p, COUNT * CLASSES * sizeof *p);
  dlsc_model_destroy(huge);
  dlsc_model_destroy(model);
  model = from_spec("input 2x2x3; dense 1", 5); /* one score: not a classifier */
  ck_assert_status(dlsc_model_classify_u8(model, bytes, 1, labels8, NULL), DLSC_ERR_SHAPE_MISMATCH);
  dlsc_model_destroy(model);
  free(bytes);
  free(floats);
  free(p);
  free(p8);
  free(labels);
  free(labels8);
}
END_TEST

START_TEST(metadata_round_trips) {
  dlsc_model_t *model = from_spec("input 1x1x4; dense 2", 1);
  ck_assert_ok(dlsc_model_set_metadata(model, "classes", "cat,dog"));
  ck_assert_ok(dlsc_model_set_metadata(model, "classes", "cat,dog,bird"));
  ck_assert_ok(dlsc_model_set_metadata(model, "trained.by", "test"));
  ck_assert_status(dlsc_model_set_metadata(model, "bad key", "x"), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_set_metadata(model, "a=b", "x"), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_set_metadata(model, "", "x"), DLSC_ERR_INVALID_ARGUMENT);
  { /* keys of 63 characters and values of 4095 bytes, not one more, and they load back */
    dlsc_model_t *limits = from_spec("input 1x1x4; dense 2", 1);
    char key[65], *text = malloc(4097);
    memset(key, 'k', 64);
    key[64] = '\0';
    memset(text, 'v', 4096);
    text[4096] = '\0';
    ck_assert_status(dlsc_model_set_metadata(limits, key, "x"), DLSC_ERR_INVALID_ARGUMENT);
    ck_assert_status(dlsc_model_set_metadata(limits, "k", text), DLSC_ERR_INVALID_ARGUMENT);
    key[63] = text[4095] = '\0';
    ck_assert_ok(dlsc_model_set_metadata(limits, key, text));
    size_t limits_size, text_length;
    unsigned char *limits_bytes = model_bytes(limits, &limits_size);
    dlsc_model_t *reloaded;
    ck_assert_ok(dlsc_model_load(limits_bytes, limits_size, &reloaded));
    ck_assert_ok(dlsc_model_get_metadata(reloaded, key, NULL, 0, &text_length));
    ck_assert_uint_eq(text_length, 4096); /* with its terminating zero */
    /* The same file with the value one byte longer (its length field, the total size and
     * the CRC rewritten): refused (the reader's buffer holds 4095 bytes and the zero). */
    unsigned char *grown = malloc(limits_size + 1);
    ck_assert_ptr_nonnull(grown);
    size_t at = 0;
    for (size_t i = 0; i + 4 + 4095 <= limits_size && !at; i++)
      if (limits_bytes[i] == 0xff && limits_bytes[i + 1] == 0x0f &&
          limits_bytes[i + 2] == 0 && limits_bytes[i + 3] == 0 && limits_bytes[i + 4] == 'v')
        at = i;
    ck_assert_uint_gt(at, 0);
    memcpy(grown, limits_bytes, at + 4 + 4095);
    grown[at + 4 + 4095] = 'v';
    memcpy(grown + at + 4 + 4096, limits_bytes + at + 4 + 4095, limits_size - at - 4 - 4095);
    put_u32_le(grown + at, 4096);
    put_u32_le(grown + 16, (uint32_t)(limits_size + 1));
    put_u32_le(grown + limits_size - 3, dlsc_crc32(0, grown, limits_size - 3));
    dlsc_model_t *kept = reloaded;
    ck_assert_status(dlsc_model_load(grown, limits_size + 1, &reloaded), DLSC_ERR_BAD_FORMAT);
    ck_assert_ptr_eq(reloaded, kept); /* untouched */
    free(grown);
    free(limits_bytes);
    free(text);
    dlsc_model_destroy(reloaded);
    dlsc_model_destroy(limits);
  }
  char value[32];
  size_t length;
  ck_assert_ok(dlsc_model_get_metadata(model, "classes", NULL, 0, &length));
  ck_assert_uint_eq(length, 13);
  ck_assert_status(dlsc_model_get_metadata(model, "classes", value, 5, &length),
                   DLSC_ERR_BUFFER_TOO_SMALL);
  ck_assert_ok(dlsc_model_get_metadata(model, "classes", value, sizeof value, NULL));
  ck_assert_str_eq(value, "cat,dog,bird");
  ck_assert_status(dlsc_model_get_metadata(model, "missing", value, sizeof value, NULL),
                   DLSC_ERR_NOT_FOUND);
  size_t size;
  unsigned char *bytes = model_bytes(model, &size);
  dlsc_model_t *loaded;
  ck_assert_ok(dlsc_model_load(bytes, size, &loaded));
  ck_assert_ok(dlsc_model_get_metadata(loaded, "trained.by", value, sizeof value, NULL));
  ck_assert_str_eq(value, "test");
  /* the keys listed in the order first set, the file's too; then NOT_FOUND */
  for (int m = 0; m < 2; m++) {
    const dlsc_model_t *listed = m ? loaded : model;
    ck_assert_ok(dlsc_model_get_metadata_key(listed, 0, NULL, 0, &length));
    ck_assert_uint_eq(length, 8);
    ck_assert_status(dlsc_model_get_metadata_key(listed, 0, value, 7, NULL),
                     DLSC_ERR_BUFFER_TOO_SMALL);
    ck_assert_ok(dlsc_model_get_metadata_key(listed, 0, value, sizeof value, NULL));
    ck_assert_str_eq(value, "classes");
    ck_assert_ok(dlsc_model_get_metadata_key(listed, 1, value, sizeof value, &length));
    ck_assert_str_eq(value, "trained.by");
    ck_assert_uint_eq(length, 11);
    strcpy(value, "unchanged");
    ck_assert_status(dlsc_model_get_metadata_key(listed, 2, value, sizeof value, &length),
                     DLSC_ERR_NOT_FOUND);
    ck_assert_str_eq(value, "unchanged");
    ck_assert_status(dlsc_model_get_metadata_key(listed, SIZE_MAX, value, sizeof value, NULL),
                     DLSC_ERR_NOT_FOUND);
  }
  ck_assert_status(dlsc_model_get_metadata_key(NULL, 0, value, sizeof value, NULL),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_get_metadata_key(model, 0, NULL, 5, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_get_metadata(NULL, "classes", value, sizeof value, NULL),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_get_metadata(model, NULL, value, sizeof value, NULL),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_get_metadata(model, "classes", NULL, 5, NULL),
                   DLSC_ERR_INVALID_ARGUMENT);
  /* the other getters' NULLs, a config too short to hold its size, counts that overflow */
  dlsc_model_t *copy = (dlsc_model_t *)0x1;
  ck_assert_status(dlsc_model_clone(NULL, &copy), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_clone(model, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_eq(copy, (dlsc_model_t *)0x1);
  dlsc_model_info info;
  ck_assert_status(dlsc_model_get_info(NULL, &info), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_get_info(model, NULL), DLSC_ERR_INVALID_ARGUMENT);
  dlsc_layer_config config;
  config.struct_size = 1;
  ck_assert_status(dlsc_model_get_layer(model, 0, &config, NULL), DLSC_ERR_INVALID_ARGUMENT);
  float in[4] = {0}, out[2];
  ck_assert_status(dlsc_model_predict(model, in, SIZE_MAX / 2, out), DLSC_ERR_INVALID_ARGUMENT);
  int32_t labels[1];
  ck_assert_status(dlsc_model_classify(model, in, SIZE_MAX / 2 + 1, labels, NULL),
                   DLSC_ERR_INVALID_ARGUMENT);
  free(bytes);
  dlsc_model_destroy(loaded);
  dlsc_model_destroy(model);
}
END_TEST

/* A model never grows past what its file format holds (4096 layers, 4096 metadata keys):
 * it saved models with more that its own loader refused. At the limit it round-trips. */
START_TEST(models_stay_within_the_format_limits) {
  dlsc_model_t *model = from_spec("input 1x1x4", 1);
  dlsc_layer_config relu;
  dlsc_layer_config_init(&relu, DLSC_LAYER_RELU);
  for (int i = 0; i < 4096; i++)
    ck_assert_ok(dlsc_model_add_layer(model, &relu));
  ck_assert_status(dlsc_model_add_layer(model, &relu), DLSC_ERR_INVALID_ARGUMENT);
  char key[16];
  for (int i = 0; i < 4096; i++) {
    snprintf(key, sizeof key, "k%d", i);
    ck_assert_ok(dlsc_model_set_metadata(model, key, "v"));
  }
  ck_assert_status(dlsc_model_set_metadata(model, "one.more", "v"), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_ok(dlsc_model_set_metadata(model, "k7", "replaced")); /* not a new key */
  dlsc_model_info info;
  ck_assert_ok(dlsc_model_get_info(model, &info));
  ck_assert_uint_eq(info.n_layers, 4096);
  size_t size;
  unsigned char *bytes = model_bytes(model, &size);
  dlsc_model_t *loaded;
  ck_assert_ok(dlsc_model_load(bytes, size, &loaded));
  ck_assert_ok(dlsc_model_get_info(loaded, &info));
  ck_assert_uint_eq(info.n_layers, 4096);
  char value[16];
  ck_assert_ok(dlsc_model_get_metadata_key(loaded, 4095, key, sizeof key, NULL));
  ck_assert_str_eq(key, "k4095");
  ck_assert_ok(dlsc_model_get_metadata(loaded, "k7", value, sizeof value, NULL));
  ck_assert_str_eq(value, "replaced");
  ck_assert_status(dlsc_model_get_metadata(loaded, "one.more", value, sizeof value, NULL),
                   DLSC_ERR_NOT_FOUND);
  free(bytes);
  dlsc_model_destroy(loaded);
  dlsc_model_destroy(model);
  /* a layer's parameter count is a u32 in the file: 65536 x 65535 weights and 65535
   * biases (2^32 - 1) is the most; one unit more is refused before any allocation (it
   * went on to allocate 17 GB for a model whose file cannot hold that count) */
  model = from_spec("input 1x1x65536", 1);
  dlsc_layer_config dense;
  dlsc_layer_config_init(&dense, DLSC_LAYER_DENSE);
  dense.units = 65536;
  ck_assert_status(dlsc_model_add_layer(model, &dense), DLSC_ERR_SHAPE_MISMATCH);
  ck_assert_ok(dlsc_model_get_info(model, &info));
  ck_assert_uint_eq(info.n_layers, 0);
  dlsc_model_destroy(model);
}
END_TEST

START_TEST(save_load_reproduces_predictions) {
  dlsc_model_t *model = from_spec(small_cnn, 5);
  dlsc_denoise_config denoise; /* not a denoiser: the shapes do not fit */
  dlsc_denoise_config_init(&denoise);
  ck_assert_status(dlsc_model_set_denoise(model, &denoise), DLSC_ERR_SHAPE_MISMATCH);
  size_t size, capacity_size;
  unsigned char *bytes = model_bytes(model, &size);
  ck_assert_status(dlsc_model_save(model, bytes, size - 1, &capacity_size),
                   DLSC_ERR_BUFFER_TOO_SMALL);
  dlsc_model_t *loaded;
  ck_assert_ok(dlsc_model_load(bytes, size, &loaded));
  float x[3 * 64 * 2], a[12], b[12];
  fill_uniform(x, 3 * 64 * 2, 0, 1, 6);
  ck_assert_ok(dlsc_model_predict(model, x, 2, a));
  ck_assert_ok(dlsc_model_predict(loaded, x, 2, b));
  ck_assert_mem_eq(a, b, sizeof a);
  size_t again_size;
  unsigned char *again = model_bytes(loaded, &again_size);
  ck_assert_uint_eq(size, again_size);
  ck_assert_mem_eq(bytes, again, size); /* the format is canonical */
  free(again);
  free(bytes);
  dlsc_model_destroy(loaded);
  dlsc_model_destroy(model);
}
END_TEST

START_TEST(every_truncation_and_byte_flip_is_rejected) {
  dlsc_model_t *model = from_spec("input 1x3x5; conv2d 2 2x2; batchnorm; relu; dense 3", 7);
  ck_assert_ok(dlsc_model_set_metadata(model, "note", "x"));
  size_t size;
  unsigned char *bytes = model_bytes(model, &size);
  dlsc_model_t *loaded = (dlsc_model_t *)0x1;
  for (size_t length = 0; length < size; length++)
    ck_assert_msg(dlsc_model_load(bytes, length, &loaded) != DLSC_OK, "truncated at %zu", length);
  for (size_t i = 0; i < size; i++)
    for (unsigned bit = 0; bit < 8; bit++) {
      bytes[i] ^= (unsigned char)(1u << bit);
      dlsc_status status = dlsc_model_load(bytes, size, &loaded);
      ck_assert_msg(status == DLSC_ERR_CHECKSUM || status == DLSC_ERR_BAD_FORMAT ||
                        status == DLSC_ERR_VERSION,
                    "bit %u of byte %zu gave %d", bit, i, status);
      bytes[i] ^= (unsigned char)(1u << bit);
    }
  ck_assert_ptr_eq(loaded, (dlsc_model_t *)0x1);
  /* A newer format version is told apart from corruption: the version is read first. */
  bytes[8] = 2;
  ck_assert_status(dlsc_model_load(bytes, size, &loaded), DLSC_ERR_VERSION);
  ck_assert_status(dlsc_model_load(NULL, size, &loaded), DLSC_ERR_INVALID_ARGUMENT);
  free(bytes);
  dlsc_model_destroy(model);
}
END_TEST

/* A crafted file, checksum and all, that declares a layer far larger than its bytes:
 * refused before anything of that size is allocated (17 GB of weights here, which
 * would fail under the sanitizers, run out of memory or take minutes to initialise). */
START_TEST(a_crafted_file_cannot_demand_memory_it_does_not_hold) {
  dlsc_model_t *model = from_spec("input 1x1x4; dense 3", 1);
  size_t size;
  unsigned char *bytes = model_bytes(model, &size);
  put_u32_le(bytes + 32, 65536); /* input width */
  put_u32_le(bytes + 44, 65535); /* the dense layer's units */
  put_u32_le(bytes + size - 4, dlsc_crc32(0, bytes, size - 4));
  dlsc_model_t *loaded = (dlsc_model_t *)0x1;
  ck_assert_status(dlsc_model_load(bytes, size, &loaded), DLSC_ERR_BAD_FORMAT);
  ck_assert_ptr_eq(loaded, (dlsc_model_t *)0x1);
  free(bytes);
  dlsc_model_destroy(model);
}
END_TEST

/* Fields a layer kind does not read must hold their defaults in a file, so that a
 * model has one byte form (a forged ReLU record with 5 units, checksum fixed). */
START_TEST(a_forged_record_must_be_canonical) {
  dlsc_model_t *model = from_spec("input 1x1x4; relu; dense 3", 1);
  size_t size;
  unsigned char *bytes = model_bytes(model, &size);
  dlsc_model_t *loaded;
  ck_assert_ok(dlsc_model_load(bytes, size, &loaded));
  dlsc_model_destroy(loaded);
  unsigned char *original = malloc(size);
  memcpy(original, bytes, size);
  /* the ReLU record's units; its kind, none or unknown; its bias flag past 1 */
  static const struct { size_t offset; uint32_t value; } forged[] = {
      {44, 5}, {40, 999}, {40, 0}, {72, 2}};
  for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
    memcpy(bytes, original, size);
    put_u32_le(bytes + forged[i].offset, forged[i].value);
    put_u32_le(bytes + size - 4, dlsc_crc32(0, bytes, size - 4));
    loaded = (dlsc_model_t *)0x1;
    ck_assert_msg(dlsc_model_load(bytes, size, &loaded) == DLSC_ERR_BAD_FORMAT,
                  "byte %zu = %u", forged[i].offset, (unsigned)forged[i].value);
    ck_assert_ptr_eq(loaded, (dlsc_model_t *)0x1); /* untouched, as every output */
  }
  free(original);
  free(bytes);
  dlsc_model_destroy(model);
}
END_TEST

/* kind, units, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, bias; rate, epsilon,
 * momentum; n_params, n_stats: the 56-byte record. */
static void doc_layer(doc_file *f, const uint32_t fields[9], float rate, float epsilon,
                      float momentum, uint32_t n_params, uint32_t n_stats) {
  for (int i = 0; i < 9; i++)
    doc_u32(f, fields[i]);
  doc_f32(f, rate);
  doc_f32(f, epsilon);
  doc_f32(f, momentum);
  doc_u32(f, n_params);
  doc_u32(f, n_stats);
}

static const char *doc_spec = "input 1x2x5; log eps=0.01; conv2d 2 1x2; batchnorm eps=0.001 "
                              "momentum=0.5; relu; maxpool 2; dropout 0.25; conv1d 3 1 bias=0; "
                              "dense 5";
enum { DOC_LAYERS = 8 };
static const size_t doc_counts[DOC_LAYERS] = {0, 6, 8, 0, 0, 0, 6, 35}; /* values a layer */

/* The file's i-th tensor value, counted over all layers (variances > 0 among them). */
static float doc_value(size_t i) { return 0.5f + (float)i / 64.0f; }

/* A model file assembled from docs/model-format.md alone: 8 layers of 7 kinds, a
 * denoise record and two metadata entries. */
static size_t doc_model_file(doc_file *f) {
  doc_head(f, "DLSCMODL");
  doc_u32(f, 1); /* input: channels, height, width */
  doc_u32(f, 2);
  doc_u32(f, 5);
  doc_u32(f, DOC_LAYERS);
  const float eps = 1e-5f, momentum = 0.1f;
  doc_layer(f, (const uint32_t[9]){14, 0, 0, 0, 1, 1, 0, 0, 1}, 0.0f, 0.01f, momentum, 0, 0);
  doc_layer(f, (const uint32_t[9]){2, 2, 1, 2, 1, 1, 0, 0, 1}, 0.0f, eps, momentum, 6, 0);
  doc_layer(f, (const uint32_t[9]){7, 0, 0, 0, 1, 1, 0, 0, 1}, 0.0f, 0.001f, 0.5f, 4, 4);
  doc_layer(f, (const uint32_t[9]){9, 0, 0, 0, 1, 1, 0, 0, 1}, 0.0f, eps, momentum, 0, 0);
  doc_layer(f, (const uint32_t[9]){4, 0, 2, 2, 2, 2, 0, 0, 1}, 0.0f, eps, momentum, 0, 0);
  doc_layer(f, (const uint32_t[9]){8, 0, 0, 0, 1, 1, 0, 0, 1}, 0.25f, eps, momentum, 0, 0);
  doc_layer(f, (const uint32_t[9]){3, 3, 1, 1, 1, 1, 0, 0, 0}, 0.0f, eps, momentum, 6, 0);
  doc_layer(f, (const uint32_t[9]){1, 5, 0, 0, 1, 1, 0, 0, 1}, 0.0f, eps, momentum, 35, 0);
  doc_u32(f, 1); /* denoise: n_fft 8, hop 4, square-root Hann, 1 frame before, 0 after, mask */
  const uint32_t denoise[6] = {8, 4, 2, 1, 0, 1};
  for (int i = 0; i < 6; i++)
    doc_u32(f, denoise[i]);
  doc_u32(f, 2); /* metadata, in the order set */
  doc_string(f, "zz");
  doc_string(f, "1");
  doc_string(f, "a");
  doc_string(f, "two words");
  size_t value = 0;
  for (int layer = 0; layer < DOC_LAYERS; layer++)
    for (size_t i = 0; i < doc_counts[layer]; i++, value++)
      doc_f32(f, doc_value(value));
  return doc_close(f, dlsc_crc32);
}

START_TEST(a_file_written_from_the_format_document_loads_and_saves_back) {
  doc_file file;
  size_t size = doc_model_file(&file);
  dlsc_model_t *loaded;
  ck_assert_ok(dlsc_model_load(file.bytes, size, &loaded));
  dlsc_model_info info;
  ck_assert_ok(dlsc_model_get_info(loaded, &info));
  ck_assert_uint_eq(info.n_layers, DOC_LAYERS);
  ck_assert_uint_eq(info.input.height, 2);
  ck_assert_uint_eq(info.output.channels * info.output.height * info.output.width, 5);
  dlsc_layer_config config = {.struct_size = sizeof config};
  dlsc_shape shape;
  ck_assert_ok(dlsc_model_get_layer(loaded, 4, &config, &shape)); /* the pool */
  ck_assert_int_eq(config.kind, DLSC_LAYER_MAXPOOL);
  ck_assert_uint_eq(config.stride_w, 2);
  ck_assert_uint_eq(shape.channels * 100 + shape.height * 10 + shape.width, 212);
  ck_assert_ok(dlsc_model_get_layer(loaded, 2, &config, &shape));
  ck_assert_float_eq(config.momentum, 0.5f);
  size_t value = 0, count;
  float values[35];
  for (size_t layer = 0; layer < DOC_LAYERS; layer++) {
    ck_assert_ok(dlsc_model_get_values(loaded, layer, values, 35, &count));
    ck_assert_uint_eq(count, doc_counts[layer]);
    for (size_t i = 0; i < count; i++, value++)
      ck_assert_float_eq(values[i], doc_value(value));
  }
  dlsc_denoise_config denoise = {.struct_size = sizeof denoise};
  ck_assert_ok(dlsc_model_get_denoise(loaded, &denoise));
  ck_assert_uint_eq(denoise.n_fft, 8);
  ck_assert_uint_eq(denoise.hop_length, 4);
  ck_assert_int_eq(denoise.window, DLSC_WINDOW_SQRT_HANN);
  ck_assert_uint_eq(denoise.context_before, 1);
  char key[64];
  ck_assert_ok(dlsc_model_get_metadata_key(loaded, 0, key, sizeof key, &count));
  ck_assert_str_eq(key, "zz");
  /* saved back: the same bytes */
  size_t again_size;
  unsigned char *again = model_bytes(loaded, &again_size);
  ck_assert_uint_eq(again_size, size);
  ck_assert_mem_eq(again, file.bytes, size);
  free(again);
  /* and the model built through the API writes them too */
  dlsc_model_t *built = from_spec(doc_spec, 9);
  for (size_t layer = 0, first = 0; layer < DOC_LAYERS; first += doc_counts[layer++]) {
    for (size_t i = 0; i < doc_counts[layer]; i++)
      values[i] = doc_value(first + i);
    ck_assert_ok(dlsc_model_set_values(built, layer, values, doc_counts[layer]));
  }
  ck_assert_ok(dlsc_model_set_denoise(built, &denoise));
  ck_assert_ok(dlsc_model_set_metadata(built, "zz", "1"));
  ck_assert_ok(dlsc_model_set_metadata(built, "a", "two words"));
  again = model_bytes(built, &again_size);
  ck_assert_uint_eq(again_size, size);
  ck_assert_mem_eq(again, file.bytes, size);
  free(again);
  dlsc_model_destroy(built);
  dlsc_model_destroy(loaded);
}
END_TEST

/* Files that pass the size and checksum tests but not the reader: each edit of the
 * format document's file, its size and checksum made right again, is refused with
 * DLSC_ERR_BAD_FORMAT and the output left untouched. (The cuts and flipped bits of
 * corrupted files all fail the checksum first, so only forged files reach these.) */
START_TEST(forged_files_with_valid_checksums_are_refused) {
  enum { RECORDS = 40, RECORD = 56, DENOISE = 488, META = 516, TENSORS = 549, BODY = 769 };
  enum { WRITE, CUT, GROW };
  static const struct {
    const char *what;
    int edit;
    size_t offset; /* WRITE: where the u32 goes; CUT: the body's new length */
    uint32_t value;
  } forged[] = {
      {"more layers than a model may have", WRITE, 36, DLSC_MAX_LAYERS + 1},
      {"a dense record declaring 36 parameters for 35", WRITE, RECORDS + 7 * RECORD + 48, 36},
      {"a ReLU record with a rate of 0.5", WRITE, RECORDS + 3 * RECORD + 36, 0x3f000000u},
      {"a denoise flag of 2", WRITE, DENOISE, 2},
      {"a mask flag of 2", WRITE, DENOISE + 24, 2},
      {"more metadata entries than a model may hold", WRITE, META, DLSC_MAX_METADATA + 1},
      {"a metadata key of 64 bytes", WRITE, META + 4, 64},
      {"a NaN weight", WRITE, TENSORS, 0x7fc00000u},
      {"an infinite running variance", WRITE, TENSORS + 4 * 12, 0x7f800000u},
      {"the body ending after the 7th record", CUT, RECORDS + 7 * RECORD, 0},
      {"the last four tensor values missing", CUT, BODY - 16, 0},
      {"four bytes after the tensors", GROW, BODY + 4, 0},
  };
  doc_file file, forgery;
  size_t size = doc_model_file(&file);
  ck_assert_uint_eq(size, BODY + 4); /* the offsets above are this file's */
  for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
    forgery = file;
    forgery.length = BODY;
    if (forged[i].edit == WRITE)
      put_u32_le(forgery.bytes + forged[i].offset, forged[i].value);
    else
      forgery.length = forged[i].offset; /* GROW: the CRC's bytes become 4 more of body */
    size_t forged_size = doc_close(&forgery, dlsc_crc32);
    dlsc_model_t *loaded = (dlsc_model_t *)0x1;
    dlsc_status status = dlsc_model_load(forgery.bytes, forged_size, &loaded);
    ck_assert_msg(status == DLSC_ERR_BAD_FORMAT, "%s: %d", forged[i].what, status);
    ck_assert_ptr_eq(loaded, (dlsc_model_t *)0x1);
  }
}
END_TEST

/* The readers under both file formats stop at their end: a get that would pass it
 * returns 0 and poisons the reader, whatever the position (the files' every length and
 * count goes through these). Over an exact heap copy, so ASan sees any byte past it. */
START_TEST(readers_stop_at_their_end) {
  unsigned char *bytes = malloc(6);
  ck_assert_ptr_nonnull(bytes);
  memcpy(bytes, (unsigned char[6]){1, 0, 0, 0, 2, 0}, 6);
  static const uint32_t expected[7] = {1, 0x02000000u, 0x00020000u, 0, 0, 0, 0};
  for (size_t start = 0; start <= 6; start++) {
    dlsc_reader r = {bytes, 6, start, false};
    ck_assert_uint_eq(dlsc_get_u32(&r), expected[start]);
    ck_assert_int_eq(r.failed, start > 2);
    ck_assert_uint_eq(r.position, start <= 2 ? start + 4 : start);
    ck_assert_ptr_eq(dlsc_take(&r, 0), r.failed ? NULL : bytes + r.position);
  }
  dlsc_reader r = {bytes, 6, 0, false};
  float values[2];
  ck_assert(!dlsc_get_floats(&r, values, 2)); /* 8 bytes of 6 */
  ck_assert(r.failed);
  r = (dlsc_reader){bytes, 6, 0, false};
  char text[8];
  ck_assert(dlsc_get_string(&r, text, sizeof text - 1)); /* 1 byte announced: "\2" */
  ck_assert(text[0] == 2 && text[1] == '\0' && r.position == 5);
  ck_assert(!dlsc_get_string(&r, text, sizeof text - 1)); /* its length would pass the end */
  ck_assert(r.failed);
  free(bytes);
}
END_TEST

/* A new directory under /tmp (directory: 32 bytes) and path, its model.dlsc. */
static void scratch_directory(char *directory, char *path, size_t size) {
  strcpy(directory, "/tmp/dlsc-test-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(directory));
  snprintf(path, size, "%s/model.dlsc", directory);
}

static size_t count_entries(const char *directory) {
  DIR *dir = opendir(directory);
  size_t count = 0;
  for (struct dirent *entry; (entry = readdir(dir));)
    count += entry->d_name[0] != '.';
  closedir(dir);
  return count;
}

/* A file call that fails with DLSC_ERR_IO and leaves the system's reason in errno. */
#define ck_assert_io(call, expected_errno)                                                 \
  do {                                                                                     \
    errno = 0;                                                                             \
    dlsc_status io_status_ = (call);                                                       \
    int io_errno_ = errno;                                                                 \
    ck_assert_status(io_status_, DLSC_ERR_IO);                                             \
    ck_assert_msg(io_errno_ == (expected_errno), "%s: errno %d (%s), expected %s", #call,  \
                  io_errno_, strerror(io_errno_), #expected_errno);                        \
  } while (0)

/* A disk that fills up mid-write, made by the file-size limit (the write then fails
 * with EFBIG, SIGXFSZ ignored): the save fails with DLSC_ERR_IO, the file keeps the old
 * model byte for byte and no temporary is left; the training state's file alike. */
START_TEST(a_failed_write_keeps_the_old_file) {
  char directory[32], path[256], state_path[256];
  scratch_directory(directory, path, sizeof path);
  snprintf(state_path, sizeof state_path, "%s/run.state", directory);
  dlsc_model_t *small = from_spec("input 1x1x4; dense 3", 1);
  dlsc_model_t *large = from_spec("input 1x1x64; dense 64; relu; dense 3", 2);
  ck_assert_ok(dlsc_model_save_file(small, path));
  ck_assert_ok(dlsc_training_state_save_file(small, NULL, state_path));
  size_t small_size, state_size;
  unsigned char *small_bytes = model_bytes(small, &small_size);
  ck_assert_ok(dlsc_training_state_save(small, NULL, NULL, 0, &state_size));
  struct rlimit old_limit, limit;
  ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  limit = old_limit;
  limit.rlim_cur = 4096; /* the large model needs about 17 kB, its state about 34 kB */
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
  dlsc_status model_status = dlsc_model_save_file(large, path);
  int model_errno = errno;
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  dlsc_model_set_training(large, &config);
  float x[64] = {0}, y[3] = {1, 2, 3};
  dlsc_batch batch = {.count = 1, .inputs = x, .targets = y};
  dlsc_status step = dlsc_model_train_batch(large, &batch, NULL); /* moments to save */
  dlsc_status state_status = dlsc_training_state_save_file(large, NULL, state_path);
  int state_errno = errno;
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  signal(SIGXFSZ, old_handler);
  ck_assert_ok(step);
  ck_assert_status(model_status, DLSC_ERR_IO);
  ck_assert_status(state_status, DLSC_ERR_IO);
  ck_assert_int_eq(model_errno, EFBIG); /* the reason stays in errno */
  ck_assert_int_eq(state_errno, EFBIG);
  ck_assert_uint_eq(count_entries(directory), 2); /* no temporary left behind */
  FILE *file = fopen(path, "rb");
  unsigned char on_disk[4096];
  size_t read = fread(on_disk, 1, sizeof on_disk, file);
  fclose(file);
  ck_assert_uint_eq(read, small_size);
  ck_assert_mem_eq(on_disk, small_bytes, small_size);
  struct stat info;
  ck_assert_int_eq(stat(state_path, &info), 0);
  ck_assert_uint_eq((size_t)info.st_size, state_size); /* the small model's state */
  ck_assert_ok(dlsc_training_state_load_file(small, NULL, state_path));
  unlink(path);
  unlink(state_path);
  rmdir(directory);
  free(small_bytes);
  dlsc_model_destroy(small);
  dlsc_model_destroy(large);
}
END_TEST

START_TEST(files_are_written_atomically) {
  size_t descriptors = count_entries("/proc/self/fd"); /* none is left open, at the end */
  char directory[32], path[256], missing[256];
  scratch_directory(directory, path, sizeof path);
  snprintf(missing, sizeof missing, "%s/no/such/dir/model.dlsc", directory);
  dlsc_model_t *first = from_spec("input 1x1x4; dense 3", 1);
  dlsc_model_t *second = from_spec("input 1x1x4; dense 3; relu; dense 2", 2);
  mode_t old_mask = umask(027);
  ck_assert_ok(dlsc_model_save_file(first, path));
  struct stat info_on_disk;
  ck_assert_int_eq(stat(path, &info_on_disk), 0);
  ck_assert_uint_eq(info_on_disk.st_mode & 0777, 0640); /* a new file: 0666 less the umask */
  ck_assert_int_eq(chmod(path, 0604), 0);
  /* A stale temporary of this process's name (a crash) is stepped around. */
  char stale[300];
  snprintf(stale, sizeof stale, "%s.tmp-%ld-0", path, (long)getpid());
  fclose(fopen(stale, "wb"));
  ck_assert_ok(dlsc_model_save_file(second, path)); /* replaces the first */
  ck_assert_int_eq(stat(path, &info_on_disk), 0);
  ck_assert_uint_eq(info_on_disk.st_mode & 0777, 0604); /* keeps the replaced file's mode */
  umask(old_mask);
  ck_assert_uint_eq(count_entries(directory), 2);   /* no temporary left behind */
  unlink(stale);
  dlsc_model_t *loaded;
  ck_assert_ok(dlsc_model_load_file(path, &loaded));
  dlsc_model_info info;
  dlsc_model_get_info(loaded, &info);
  ck_assert_uint_eq(info.n_layers, 3);
  dlsc_model_destroy(loaded);
  ck_assert_io(dlsc_model_save_file(first, missing), ENOENT);
  ck_assert_io(dlsc_model_load_file(missing, &loaded), ENOENT);
  ck_assert_io(dlsc_model_load_file(directory, &loaded), EISDIR);
  /* A file over 2 GiB (sparse) is refused by its size, unread. On 32-bit x86 the limit
   * was a negative long, and every file was refused so. */
  char huge[300];
  snprintf(huge, sizeof huge, "%s/huge.dlsc", directory);
  FILE *file = fopen(huge, "wb");
  ck_assert_ptr_nonnull(file);
  ck_assert_int_eq(ftruncate(fileno(file), ((off_t)1 << 31) + 1), 0);
  fclose(file);
  ck_assert_status(dlsc_model_load_file(huge, &loaded), DLSC_ERR_BAD_FORMAT);
  ck_assert_int_eq(truncate(huge, 0), 0); /* an empty file: no model in it, not an I/O error */
  ck_assert_status(dlsc_model_load_file(huge, &loaded), DLSC_ERR_BAD_FORMAT);
  unlink(huge);
  /* A corrupted file on disk is refused, not half-loaded. */
  file = fopen(path, "r+b");
  fseek(file, 40, SEEK_SET);
  fputc(0x5A, file);
  fclose(file);
  ck_assert_int_ne(dlsc_model_load_file(path, &loaded), DLSC_OK);
  unlink(path);
  rmdir(directory);
  dlsc_model_destroy(first);
  dlsc_model_destroy(second);
  ck_assert_uint_eq(count_entries("/proc/self/fd"), descriptors);
}
END_TEST

/* save_file replaces regular files only: through a symbolic link it replaces the file
 * the link leads to (the link stays), and it refuses what rename would destroy, a FIFO
 * here, a device such as /dev/null when run as root. load_file reads regular files
 * only: a FIFO without a writer is refused at once (opening it used to wait for one). */
START_TEST(files_are_saved_through_links_and_never_over_devices) {
  char directory[32], path[256], link_path[256], dangling[256], fifo[256];
  scratch_directory(directory, path, sizeof path);
  snprintf(link_path, sizeof link_path, "%s/link.dlsc", directory);
  snprintf(dangling, sizeof dangling, "%s/dangling.dlsc", directory);
  snprintf(fifo, sizeof fifo, "%s/fifo", directory);
  dlsc_model_t *first = from_spec("input 1x1x4; dense 3", 1);
  dlsc_model_t *second = from_spec("input 1x1x4; dense 3; relu; dense 2", 2);
  ck_assert_ok(dlsc_model_save_file(first, path));
  ck_assert_int_eq(symlink("model.dlsc", link_path), 0);
  ck_assert_ok(dlsc_model_save_file(second, link_path));
  struct stat info_on_disk;
  ck_assert_int_eq(lstat(link_path, &info_on_disk), 0);
  ck_assert(S_ISLNK(info_on_disk.st_mode)); /* still a link */
  dlsc_model_t *loaded;
  ck_assert_ok(dlsc_model_load_file(path, &loaded)); /* its target has the new model */
  dlsc_model_info info;
  dlsc_model_get_info(loaded, &info);
  ck_assert_uint_eq(info.n_layers, 3);
  dlsc_model_destroy(loaded);
  ck_assert_int_eq(symlink("nowhere.dlsc", dangling), 0);
  ck_assert_io(dlsc_model_save_file(first, dangling), ENOENT);
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  ck_assert_io(dlsc_model_save_file(first, fifo), EINVAL);
  ck_assert_int_eq(lstat(fifo, &info_on_disk), 0);
  ck_assert(S_ISFIFO(info_on_disk.st_mode)); /* not replaced */
  loaded = (dlsc_model_t *)0x1;
  ck_assert_io(dlsc_model_load_file(fifo, &loaded), EINVAL);
  ck_assert_ptr_eq(loaded, (dlsc_model_t *)0x1);
  ck_assert_io(dlsc_training_state_load_file(first, NULL, fifo), EINVAL);
  ck_assert_io(dlsc_model_load_file("/dev/null", &loaded), EINVAL);
  ck_assert_io(dlsc_model_save_file(first, directory), EISDIR);
  ck_assert_io(dlsc_training_state_save_file(first, NULL, directory), EISDIR);
  ck_assert_uint_eq(count_entries(directory), 4); /* no temporary left behind */
  unlink(fifo);
  unlink(dangling);
  unlink(link_path);
  unlink(path);
  rmdir(directory);
  dlsc_model_destroy(first);
  dlsc_model_destroy(second);
}
END_TEST

START_TEST(copy_layers_checks_the_backbone) {
  const char *backbone = "input 3x8x8; conv2d 4 3x3; batchnorm; relu; maxpool 2";
  char pretext_spec[256], classifier_spec[256];
  snprintf(pretext_spec, sizeof pretext_spec, "%s; dense 4", backbone);
  snprintf(classifier_spec, sizeof classifier_spec, "%s; dense 10", backbone);
  dlsc_model_t *pretext = from_spec(pretext_spec, 1), *classifier = from_spec(classifier_spec, 2);
  dlsc_model_t *other = from_spec("input 3x8x8; conv2d 5 3x3; batchnorm; relu; maxpool 2; dense 10",
                                  3);
  float statistics[16]; /* batch-norm's gamma, beta, running mean and variance: not the
                            fresh model's, so that a copy that skipped them shows */
  for (size_t i = 0; i < 16; i++)
    statistics[i] = 0.1f * (float)(i + 1);
  ck_assert_ok(dlsc_model_set_values(pretext, 1, statistics, 16));
  float head[1000], head_after[1000];
  size_t n_head, n;
  ck_assert_ok(dlsc_model_get_values(classifier, 4, head, 1000, &n_head));
  ck_assert_ok(dlsc_model_copy_layers(classifier, pretext, 4));
  for (size_t i = 0; i < 4; i++) { /* the backbone's values, the head kept */
    float want[200], got[200];
    size_t m;
    ck_assert_ok(dlsc_model_get_values(pretext, i, want, 200, &n));
    ck_assert_ok(dlsc_model_get_values(classifier, i, got, 200, &m));
    ck_assert_uint_eq(n, m);
    ck_assert_mem_eq(got, want, n * sizeof *got);
  }
  ck_assert_ok(dlsc_model_get_values(classifier, 4, head_after, 1000, &n));
  ck_assert_uint_eq(n, n_head);
  ck_assert_mem_eq(head_after, head, n * sizeof *head);
  float x[192], a[4], b[10];
  fill_uniform(x, 192, 0, 1, 1);
  ck_assert_ok(dlsc_model_predict(pretext, x, 1, a));
  ck_assert_status(dlsc_model_copy_layers(classifier, pretext, 5), DLSC_ERR_SHAPE_MISMATCH);
  ck_assert_status(dlsc_model_copy_layers(other, pretext, 4), DLSC_ERR_SHAPE_MISMATCH);
  ck_assert_status(dlsc_model_copy_layers(classifier, pretext, 9), DLSC_ERR_SHAPE_MISMATCH);
  ck_assert_status(dlsc_model_copy_layers(classifier, pretext, 0), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_copy_layers(classifier, classifier, 1), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_ok(dlsc_model_predict(classifier, x, 1, b));
  dlsc_model_destroy(pretext);
  dlsc_model_destroy(classifier);
  dlsc_model_destroy(other);
}
END_TEST

START_TEST(blend_averages_parameters) {
  dlsc_model_t *a = from_spec("input 1x1x3; dense 2; batchnorm", 1);
  dlsc_model_t *b = from_spec("input 1x1x3; dense 2; batchnorm", 2);
  dlsc_model_t *other = from_spec("input 1x1x3; dense 3; batchnorm", 2);
  float x[3] = {0.3f, -0.2f, 0.9f}, ya[2], yb[2], yblend[2];
  ck_assert_ok(dlsc_model_predict(a, x, 1, ya));
  ck_assert_ok(dlsc_model_predict(b, x, 1, yb));
  ck_assert_ok(dlsc_model_blend(a, b, 0.25f));
  ck_assert_ok(dlsc_model_predict(a, x, 1, yblend));
  /* Linear layers blend linearly; batch-norm in inference with equal statistics too. */
  for (int i = 0; i < 2; i++)
    ck_assert_float_eq_tol(yblend[i], 0.75f * ya[i] + 0.25f * yb[i], 1e-5f);
  ck_assert_ok(dlsc_model_blend(a, b, 1.0f));
  ck_assert_ok(dlsc_model_predict(a, x, 1, yblend));
  ck_assert_float_eq_tol(yblend[0], yb[0], 1e-6f);
  ck_assert_status(dlsc_model_blend(a, other, 0.5f), DLSC_ERR_SHAPE_MISMATCH);
  dlsc_model_t *fewer = from_spec("input 1x1x3; dense 2", 2); /* its first layer as a's */
  dlsc_model_t *wider = from_spec("input 1x1x4; dense 2; batchnorm", 2); /* its input */
  float before[6];
  memcpy(before, a->layers[0].params, sizeof before);
  ck_assert_status(dlsc_model_blend(a, fewer, 0.5f), DLSC_ERR_SHAPE_MISMATCH);
  ck_assert_status(dlsc_model_blend(a, wider, 0.5f), DLSC_ERR_SHAPE_MISMATCH);
  ck_assert_mem_eq(a->layers[0].params, before, sizeof before);
  dlsc_model_destroy(fewer);
  dlsc_model_destroy(wider);
  /* the same sizes everywhere (8 parameters, 2x5x5 out) from other kernels */
  dlsc_model_t *tall = from_spec("input 1x5x5; conv2d 2 3x1 pad=1x0", 1);
  dlsc_model_t *flat = from_spec("input 1x5x5; conv2d 2 1x3 pad=0x1", 2);
  ck_assert_status(dlsc_model_blend(tall, flat, 0.5f), DLSC_ERR_SHAPE_MISMATCH);
  ck_assert_status(dlsc_model_copy_layers(tall, flat, 1), DLSC_ERR_SHAPE_MISMATCH);
  dlsc_model_destroy(tall);
  dlsc_model_destroy(flat);
  /* layers of equal sizes that differ in the stride only, or in the kernel's width only */
  static const char *twins[2][2] = {
      {"input 1x1x1; conv2d 2 1x1", "input 1x1x1; conv2d 2 1x1 stride=2"},
      {"input 1x4x2; maxpool 2x1 stride=2", "input 1x4x2; maxpool 2x2 stride=2"}};
  for (int t = 0; t < 2; t++) {
    dlsc_model_t *one = from_spec(twins[t][0], 1), *other_twin = from_spec(twins[t][1], 1);
    ck_assert_msg(dlsc_model_blend(one, other_twin, 0.5f) == DLSC_ERR_SHAPE_MISMATCH, "%s",
                  twins[t][1]);
    dlsc_model_destroy(one);
    dlsc_model_destroy(other_twin);
  }
  /* the same layers (a global pool: 1x1x1 out, no weights) over other inputs */
  dlsc_model_t *rows = from_spec("input 1x2x3; gap", 1), *columns = from_spec("input 1x3x2; gap", 1);
  ck_assert_status(dlsc_model_blend(rows, columns, 0.5f), DLSC_ERR_SHAPE_MISMATCH);
  dlsc_model_destroy(rows);
  dlsc_model_destroy(columns);
  ck_assert_status(dlsc_model_blend(a, b, 1.5f), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_blend(a, a, 0.5f), DLSC_ERR_INVALID_ARGUMENT);
  dlsc_model_destroy(a);
  dlsc_model_destroy(b);
  dlsc_model_destroy(other);
}
END_TEST

/* Images whose pixels correlate across channels and neighbours: count x c x h x w. */
static float *correlated_images(size_t count, size_t c, size_t h, size_t w, uint64_t seed) {
  size_t n = count * c * h * w;
  float *noise = malloc(n * sizeof *noise), *x = malloc(n * sizeof *x);
  fill_uniform(noise, n, -1.0f, 1.0f, seed);
  for (size_t k = 0; k < count; k++)
    for (size_t ch = 0; ch < c; ch++)
      for (size_t i = 0; i < h; i++)
        for (size_t j = 0; j < w; j++) {
          const float *image = noise + k * c * h * w;
          float shared = image[i * w + j], own = image[(ch * h + i) * w + j];
          float right = image[(ch * h + i) * w + (j + 1) % w];
          x[((k * c + ch) * h + i) * w + j] = 0.4f + 0.2f * shared + 0.1f * own + 0.1f * right;
        }
  free(noise);
  return x;
}

/* Largest deviation of the outputs' covariance over channels [0, d) from the identity,
 * and of their means from 0, over output rows/columns [lo, hi) of every image. */
static void whitened_deviation(const float *y, size_t count, size_t channels, size_t side,
                               size_t d, size_t lo, size_t hi, double *cov_err, double *mean_err) {
  double *sum = calloc(d, sizeof *sum), *cross = calloc(d * d, sizeof *cross), n = 0.0;
  for (size_t k = 0; k < count; k++)
    for (size_t i = lo; i < hi; i++)
      for (size_t j = lo; j < hi; j++) {
        for (size_t a = 0; a < d; a++) {
          double va = y[((k * channels + a) * side + i) * side + j];
          sum[a] += va;
          for (size_t b = 0; b < d; b++)
            cross[a * d + b] += va * y[((k * channels + b) * side + i) * side + j];
        }
        n += 1.0;
      }
  *cov_err = *mean_err = 0.0;
  for (size_t a = 0; a < d; a++) {
    *mean_err = max_or_nan(*mean_err, fabs(sum[a] / n));
    for (size_t b = 0; b < d; b++) {
      double cov = cross[a * d + b] / n - (sum[a] / n) * (sum[b] / n);
      *cov_err = max_or_nan(*cov_err, fabs(cov - (a == b ? 1.0 : 0.0)));
    }
  }
  free(sum);
  free(cross);
}

START_TEST(whitening_whitens_the_patches) {
  /* 2x2 patches of 3 channels: D = 12, filters and their negatives, with a bias. */
  size_t count = 300, side = 8, out = 7;
  float *x = correlated_images(count, 3, side, side, 21);
  dlsc_model_t *model = from_spec("input 3x8x8; conv2d 24 2x2", 4);
  ck_assert_ok(dlsc_model_init_whitening(model, 0, x, count, 1e-7f));
  float *y = malloc(count * 24 * out * out * sizeof *y);
  ck_assert_ok(dlsc_model_predict(model, x, count, y));
  double cov_err, mean_err;
  whitened_deviation(y, count, 24, out, 12, 0, out, &cov_err, &mean_err);
  ck_assert_double_lt(cov_err, 1e-3);
  ck_assert_double_lt(mean_err, 1e-4);
  for (size_t k = 0; k < count; k++) /* filters 12..23: the negatives of 0..11 */
    for (size_t i = 0; i < 12 * out * out; i++)
      ck_assert_float_eq(y[(k * 24 + 12) * out * out + i], -y[k * 24 * out * out + i]);
  dlsc_model_destroy(model);

  /* Behind a batch-norm layer, padded: D = 27 filters, statistics over the positions
   * whose window lies inside the input (output rows and columns 1..6). */
  model = from_spec("input 3x8x8; batchnorm; conv2d 27 3x3 pad=1 bias=0", 5);
  dlsc_layer *bn = &model->layers[0];
  for (size_t ch = 0; ch < 3; ch++) {
    bn->stats[ch] = 0.3f;           /* running means */
    bn->stats[3 + ch] = 4.0f + (float)ch; /* running variances */
    bn->params[ch] = 1.5f;          /* gamma */
  }
  float before[6];
  memcpy(before, bn->params, sizeof before);
  ck_assert_ok(dlsc_model_init_whitening(model, 1, x, count, 1e-7f));
  ck_assert_mem_eq(before, bn->params, sizeof before);
  y = realloc(y, count * 27 * side * side * sizeof *y);
  ck_assert_ok(dlsc_model_predict(model, x, count, y));
  whitened_deviation(y, count, 27, side, 27, 1, side - 1, &cov_err, &mean_err);
  ck_assert_double_lt(cov_err, 1e-3);
  ck_assert_double_gt(mean_err, 1e-2); /* no bias: the mean stays */
  free(y);
  free(x);
  dlsc_model_destroy(model);
}
END_TEST

START_TEST(whitening_refuses_bad_requests_and_keeps_the_model) {
  size_t count = 20;
  float *x = correlated_images(count, 3, 8, 8, 5);
  dlsc_model_t *model = from_spec("input 3x8x8; conv2d 12 2x2; relu; conv2d 10 2x2", 6);
  size_t size;
  unsigned char *original = model_bytes(model, &size);
  ck_assert_int_eq(dlsc_model_init_whitening(NULL, 0, x, count, 1e-3f), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(dlsc_model_init_whitening(model, 0, NULL, count, 1e-3f),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(dlsc_model_init_whitening(model, 0, x, 0, 1e-3f), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(dlsc_model_init_whitening(model, 0, x, SIZE_MAX / 64, 1e-3f),
                   DLSC_ERR_INVALID_ARGUMENT); /* count x 192 floats: past any address space */
  ck_assert_int_eq(dlsc_model_init_whitening(model, 3, x, count, 1e-3f),
                   DLSC_ERR_INVALID_ARGUMENT); /* no such layer */
  ck_assert_int_eq(dlsc_model_init_whitening(model, 1, x, count, 1e-3f),
                   DLSC_ERR_INVALID_ARGUMENT); /* not a convolution */
  ck_assert_int_eq(dlsc_model_init_whitening(model, 0, x, count, 0.0f), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(dlsc_model_init_whitening(model, 0, x, count, NAN), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(dlsc_model_init_whitening(model, 0, x, count, INFINITY),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(dlsc_model_init_whitening(model, 2, x, count, 1e-3f),
                   DLSC_ERR_SHAPE_MISMATCH); /* 10 filters for D = 48 */
  x[777] = NAN;
  ck_assert_int_eq(dlsc_model_init_whitening(model, 0, x, count, 1e-3f), DLSC_ERR_NUMERIC);
  x[777] = 1e30f; /* finite, but its square is not */
  ck_assert_int_eq(dlsc_model_init_whitening(model, 0, x, count, 1e-3f), DLSC_ERR_NUMERIC);
  /* finite patches whose filters are not: images of one value, 2^60, have no variance,
   * so each filter is 1 / sqrt(epsilon) = 2.7e22 at the smallest epsilon, and its bias
   * minus that times 2^60, past the floats */
  for (size_t i = 0; i < count * 3 * 8 * 8; i++)
    x[i] = 0x1p60f;
  ck_assert_int_eq(dlsc_model_init_whitening(model, 0, x, count, 1e-45f), DLSC_ERR_NUMERIC);
  assert_model_unchanged(model, original, size);
  free(original);
  dlsc_model_destroy(model);

  /* A kernel larger than the unpadded input has no patch; D over 4096 is refused. */
  float *wide = calloc(4097, sizeof *wide);
  model = from_spec("input 1x2x2; conv2d 9 3x3 pad=1", 7);
  ck_assert_int_eq(dlsc_model_init_whitening(model, 0, wide, 1, 1e-3f), DLSC_ERR_SHAPE_MISMATCH);
  dlsc_model_destroy(model);
  model = from_spec("input 4097x1x1; conv2d 1 1x1", 8);
  ck_assert_int_eq(dlsc_model_init_whitening(model, 0, wide, 1, 1e-3f), DLSC_ERR_UNSUPPORTED);
  dlsc_model_destroy(model);
  free(wide);
  free(x);
}
END_TEST

/* Values set by hand in the documented layouts give the outputs computed by hand. */
static const char *values_spec = "input 2x3x3; conv2d 2 3x3 pad=same; batchnorm; relu; dense 2";

START_TEST(values_follow_the_documented_layouts) {
  dlsc_model_t *model = from_spec(values_spec, 3);
  float conv[38] = {0}, norm[8] = {1, 3, 0, -1, 0.5f, 0.25f, 4, 1}, dense[38] = {0};
  conv[0 * 18 + 1 * 9 + 4] = 1.0f; /* filter 0: the centre of channel 1 */
  conv[1 * 18 + 0 * 9 + 4] = 2.0f; /* filter 1: twice the centre of channel 0 */
  conv[37] = 0.5f;                 /* its bias */
  dense[0 * 18 + 5] = 1.0f;        /* unit 0: channel 0, row 1, column 2 */
  dense[1 * 18 + 9] = 1.0f;        /* unit 1: channel 1 at (0, 0) minus at (2, 2) */
  dense[1 * 18 + 17] = -1.0f;
  dense[36] = 0.1f;
  dense[37] = 0.2f;
  ck_assert_ok(dlsc_model_set_values(model, 0, conv, 38));
  ck_assert_ok(dlsc_model_set_values(model, 1, norm, 8));
  ck_assert_ok(dlsc_model_set_values(model, 2, NULL, 0)); /* ReLU has none */
  ck_assert_ok(dlsc_model_set_values(model, 3, dense, 38));
  float x[18], y[2];
  fill_uniform(x, 18, -1.0f, 1.0f, 4);
  ck_assert_ok(dlsc_model_predict(model, x, 1, y));
  float eps = 1e-5f;
  float a0 = x[9 + 5], b0 = (a0 - 0.5f) / sqrtf(4.0f + eps);
  float a10 = 2.0f * x[0] + 0.5f, a18 = 2.0f * x[8] + 0.5f;
  float b10 = 3.0f * (a10 - 0.25f) / sqrtf(1.0f + eps) - 1.0f;
  float b18 = 3.0f * (a18 - 0.25f) / sqrtf(1.0f + eps) - 1.0f;
  ck_assert_float_eq_tol(y[0], fmaxf(b0, 0.0f) + 0.1f, 1e-5f);
  ck_assert_float_eq_tol(y[1], fmaxf(b10, 0.0f) - fmaxf(b18, 0.0f) + 0.2f, 1e-5f);
  float back[38];
  size_t count;
  ck_assert_ok(dlsc_model_get_values(model, 0, back, 38, &count));
  ck_assert_uint_eq(count, 38);
  ck_assert_mem_eq(back, conv, sizeof conv);
  ck_assert_ok(dlsc_model_get_values(model, 1, back, 38, &count));
  ck_assert_uint_eq(count, 8);
  ck_assert_mem_eq(back, norm, sizeof norm);
  ck_assert_ok(dlsc_model_get_values(model, 3, back, 38, &count));
  ck_assert_mem_eq(back, dense, sizeof dense);
  dlsc_model_destroy(model);
}
END_TEST

/* Each batch-norm layer keeps its own statistics: two in a row, set apart, read back
 * apart and applied each to its own input. */
START_TEST(each_layer_keeps_its_own_statistics) {
  dlsc_model_t *model = from_spec("input 2x1x1; batchnorm; batchnorm", 3);
  const float first[8] = {2, 1, 0, 1, 1, 3, 4, 1}, second[8] = {1, 1, 0.5f, 0, 2, 5, 1, 16};
  ck_assert_ok(dlsc_model_set_values(model, 0, first, 8));
  ck_assert_ok(dlsc_model_set_values(model, 1, second, 8));
  float back[8];
  size_t count;
  ck_assert_ok(dlsc_model_get_values(model, 0, back, 8, &count));
  ck_assert_mem_eq(back, first, sizeof first);
  ck_assert_ok(dlsc_model_get_values(model, 1, back, 8, &count));
  ck_assert_mem_eq(back, second, sizeof second);
  const float x[2] = {3, 7};
  float y[2];
  ck_assert_ok(dlsc_model_predict(model, x, 1, y));
  float eps = 1e-5f;
  for (int c = 0; c < 2; c++) { /* gamma (x - mean) / sqrt(var + eps) + beta, twice */
    float h = first[c] * (x[c] - first[4 + c]) / sqrtf(first[6 + c] + eps) + first[2 + c];
    float expected = second[c] * (h - second[4 + c]) / sqrtf(second[6 + c] + eps) + second[2 + c];
    ck_assert_float_eq_tol(y[c], expected, 1e-5f);
  }
  dlsc_model_destroy(model);
}
END_TEST

START_TEST(values_refuse_bad_requests_and_keep_the_model) {
  dlsc_model_t *model = from_spec(values_spec, 5);
  size_t count = 99, size;
  ck_assert_ok(dlsc_model_get_values(model, 0, NULL, 0, &count));
  ck_assert_uint_eq(count, 38);
  ck_assert_ok(dlsc_model_get_values(model, 2, NULL, 0, &count));
  ck_assert_uint_eq(count, 0);
  float values[38];
  for (int i = 0; i < 38; i++)
    values[i] = 7.0f;
  ck_assert_status(dlsc_model_get_values(model, 0, values, 37, &count),
                   DLSC_ERR_BUFFER_TOO_SMALL);
  ck_assert_uint_eq(count, 38);
  for (int i = 0; i < 38; i++)
    ck_assert_float_eq(values[i], 7.0f); /* untouched */
  ck_assert_status(dlsc_model_get_values(NULL, 0, values, 38, &count), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_get_values(model, 0, values, 38, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_get_values(model, 4, values, 38, &count), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_get_values(model, 0, NULL, 38, &count), DLSC_ERR_INVALID_ARGUMENT);
  unsigned char *before = model_bytes(model, &size);
  ck_assert_status(dlsc_model_set_values(model, 0, values, 37), DLSC_ERR_SHAPE_MISMATCH);
  ck_assert_status(dlsc_model_set_values(model, 2, values, 1), DLSC_ERR_SHAPE_MISMATCH);
  ck_assert_status(dlsc_model_set_values(NULL, 0, values, 38), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_set_values(model, 4, values, 38), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_set_values(model, 0, NULL, 38), DLSC_ERR_INVALID_ARGUMENT);
  values[20] = NAN;
  ck_assert_status(dlsc_model_set_values(model, 0, values, 38), DLSC_ERR_NUMERIC);
  values[20] = INFINITY;
  ck_assert_status(dlsc_model_set_values(model, 3, values, 38), DLSC_ERR_NUMERIC);
  float norm[8] = {1, 1, 0, 0, 0, 0, 1, -0.5f}; /* a negative running variance */
  ck_assert_status(dlsc_model_set_values(model, 1, norm, 8), DLSC_ERR_NUMERIC);
  assert_model_unchanged(model, before, size);
  norm[7] = 0.0f; /* a variance of 0 is one (a constant channel; epsilon divides) */
  ck_assert_ok(dlsc_model_set_values(model, 1, norm, 8));
  free(before);
  dlsc_model_destroy(model);
}
END_TEST

/* dlsc_model_memory for inference: a loaded model holds what it said once it has
 * predicted (the heap measured, where glibc's allocator is in use); predict runs 256
 * examples at a time; a small file can declare gigabytes; bad requests. */
START_TEST(memory_is_what_inference_holds) {
  dlsc_model_t *model = from_spec(MEMORY_TEST_SPEC, 3);
  size_t size, one, full, more;
  unsigned char *bytes = model_bytes(model, &size);
  ck_assert_ok(dlsc_model_memory(model, 1, 0, &one));
  ck_assert_ok(dlsc_model_memory(model, 256, 0, &full));
  ck_assert_ok(dlsc_model_memory(model, 300, 0, &more));
  ck_assert_uint_eq(more, full);
  /* at least two buffers of the widest activation (16 x 32 x 32) per example */
  ck_assert_uint_ge(full - one, 255 * 2 * 16384 * sizeof(float));
#ifdef __GLIBC__
  if (heap_is_measured()) {
    float *x = malloc(300 * 3072 * sizeof *x), *y = malloc(300 * 10 * sizeof *y);
    fill_uniform(x, 300 * 3072, 0, 1, 5);
    ck_assert_ok(dlsc_model_predict(model, x, 300, y)); /* the BLAS keeps what it allocates */
    size_t before = heap_in_use();
    dlsc_model_t *loaded = NULL;
    dlsc_status status = dlsc_model_load(bytes, size, &loaded);
    if (status == DLSC_OK)
      status = dlsc_model_predict(loaded, x, 300, y);
    size_t after = heap_in_use(); /* asserted after: Check may allocate */
    ck_assert_ok(status);
    assert_heap_growth(before, after, more);
    dlsc_model_destroy(loaded);
    free(x);
    free(y);
  }
#endif
  /* 16,384 channels out of 64 x 64 pixels: a 64 kB file, 256 MB a buffer per example */
  dlsc_model_t *wide = from_spec("input 1x64x64; conv2d 16384 1x1 bias=0", 1);
  unsigned char *wide_bytes = model_bytes(wide, &size);
  ck_assert_uint_lt(size, 66000);
  ck_assert_ok(dlsc_model_memory(wide, 1, 0, &one));
  ck_assert_uint_ge(one, 2 * ((size_t)16384 << 12) * sizeof(float));
  ck_assert_ok(dlsc_model_memory(wide, 256, 0, &full)); /* 128 GiB, or past SIZE_MAX */
  uint64_t want = (uint64_t)1 << 37;
  if (want > SIZE_MAX)
    ck_assert_uint_eq(full, SIZE_MAX);
  else
    ck_assert_uint_ge(full, (size_t)want);
  ck_assert_ok(dlsc_model_memory(wide, SIZE_MAX, 1, &more));
  ck_assert_uint_eq(more, SIZE_MAX);
  size_t kept = 7;
  ck_assert_status(dlsc_model_memory(NULL, 1, 0, &kept), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_memory(model, 0, 0, &kept), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_memory(model, 1, 2, &kept), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_memory(model, 1, -1, &kept), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_uint_eq(kept, 7);
  ck_assert_status(dlsc_model_memory(model, 1, 0, NULL), DLSC_ERR_INVALID_ARGUMENT);
  free(wide_bytes);
  dlsc_model_destroy(wide);
  free(bytes);
  dlsc_model_destroy(model);
}
END_TEST

/* dlsc_model_multiply_adds: each dense or convolution weight once per output position
 * (padding and stride as the shapes say), nothing for the other layers. */
START_TEST(multiply_adds_count_the_weights_at_every_position) {
  uint64_t count = 7;
  dlsc_model_t *model = from_spec(small_cnn, 1);
  ck_assert_ok(dlsc_model_multiply_adds(model, &count));
  /* 4 x 3 x 3 x 3 weights at 8 x 8 positions (padded), 5 x 4 x 3 x 3 at 1, 6 x 5 at 1 */
  ck_assert_uint_eq(count, 108 * 64 + 180 + 30);
  dlsc_model_destroy(model);
  model = from_spec("input 1x1x40; conv1d 3 5 stride=2 pad=2; softplus; maxpool 1x2; dense 9", 1);
  ck_assert_ok(dlsc_model_multiply_adds(model, &count));
  ck_assert_uint_eq(count, 15 * 20 + 9 * 30); /* (40 + 4 - 5) / 2 + 1 = 20 positions */
  ck_assert_status(dlsc_model_multiply_adds(NULL, &count), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_model_multiply_adds(model, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_uint_eq(count, 15 * 20 + 9 * 30);
  dlsc_model_destroy(model);
  model = from_spec("input 1x4x4; relu; maxpool 2", 1);
  ck_assert_ok(dlsc_model_multiply_adds(model, &count));
  ck_assert_uint_eq(count, 0);
  dlsc_model_destroy(model);
}
END_TEST

START_TEST(clone_is_deep) {
  dlsc_model_t *model = from_spec(small_cnn, 9), *copy;
  ck_assert_ok(dlsc_model_set_metadata(model, "k", "v"));
  ck_assert_ok(dlsc_model_clone(model, &copy));
  size_t size_a, size_b;
  unsigned char *a = model_bytes(model, &size_a);
  dlsc_model_destroy(model); /* the copy must not share anything */
  unsigned char *b = model_bytes(copy, &size_b);
  ck_assert_uint_eq(size_a, size_b);
  ck_assert_mem_eq(a, b, size_a);
  free(a);
  free(b);
  dlsc_model_destroy(copy);
}
END_TEST

/* A clone continues its original's random stream: after a step of plain SGD (no
 * optimizer state to differ) both draw the same dropout masks for the next one. It
 * keeps the frozen layers and the rate scales too. */
START_TEST(clone_continues_the_random_stream) {
  dlsc_model_t *model = from_spec("input 1x1x8; dense 16; dropout 0.5; dense 2", 4), *copy;
  ck_assert_ok(dlsc_model_set_layer_frozen(model, 0, 1));
  ck_assert_ok(dlsc_model_set_layer_lr_scale(model, 2, 0.25f));
  ck_assert_ok(dlsc_model_set_tensor_lr_scale(model, 2, DLSC_TENSOR_BIASES, 0.5f));
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  config.optimizer = DLSC_OPTIMIZER_SGD;
  config.momentum = 0.0f;
  config.learning_rate = 0.1f;
  config.batch_size = 4;
  ck_assert_ok(dlsc_model_set_training(model, &config));
  float x[4 * 8], target[4 * 2];
  fill_uniform(x, 4 * 8, -1, 1, 5);
  fill_uniform(target, 4 * 2, -1, 1, 6);
  dlsc_batch batch = {4, x, target, NULL, NULL};
  ck_assert_ok(dlsc_model_train_batch(model, &batch, NULL));
  ck_assert_ok(dlsc_model_clone(model, &copy));
  assert_same_step(model, copy, &batch);
  dlsc_model_destroy(model);
  dlsc_model_destroy(copy);
}
END_TEST

int main(void) {
  Suite *suite = suite_create("model");
  TCase *tc = tcase_create("model");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, spec_builds_shapes_and_describes_itself);
  tcase_add_test(tc, spec_errors_are_reported);
  tcase_add_test(tc, spec_check_locates_the_fault);
  tcase_add_test(tc, spec_numbers_print_with_the_fewest_digits);
  tcase_add_test(tc, spec_numbers_are_c_text_under_any_locale);
  tcase_add_test(tc, add_layer_validates);
  tcase_add_test(tc, a_short_layer_config_gets_the_defaults);
  tcase_add_test(tc, a_layer_added_after_predicting_gets_its_workspace);
  tcase_add_test(tc, predict_is_batch_independent_and_rejects_nan);
  tcase_add_test(tc, batchnorm_and_relu_fused_give_the_same_floats);
  tcase_add_test(tc, classify_gives_the_top_class_and_softmax);
  tcase_add_test(tc, classify_u8_is_classify_on_the_datasets_floats);
  tcase_add_test(tc, metadata_round_trips);
  tcase_add_test(tc, models_stay_within_the_format_limits);
  tcase_add_test(tc, save_load_reproduces_predictions);
  tcase_add_test(tc, memory_is_what_inference_holds);
  tcase_add_test(tc, multiply_adds_count_the_weights_at_every_position);
  tcase_add_test(tc, every_truncation_and_byte_flip_is_rejected);
  tcase_add_test(tc, a_crafted_file_cannot_demand_memory_it_does_not_hold);
  tcase_add_test(tc, a_forged_record_must_be_canonical);
  tcase_add_test(tc, a_file_written_from_the_format_document_loads_and_saves_back);
  tcase_add_test(tc, forged_files_with_valid_checksums_are_refused);
  tcase_add_test(tc, readers_stop_at_their_end);
  tcase_add_test(tc, files_are_written_atomically);
  tcase_add_test(tc, files_are_saved_through_links_and_never_over_devices);
  tcase_add_test(tc, copy_layers_checks_the_backbone);
  tcase_add_test(tc, clone_is_deep);
  tcase_add_test(tc, clone_continues_the_random_stream);
  tcase_add_test(tc, a_failed_write_keeps_the_old_file);
  tcase_add_test(tc, blend_averages_parameters);
  tcase_add_test(tc, values_follow_the_documented_layouts);
  tcase_add_test(tc, values_refuse_bad_requests_and_keep_the_model);
  tcase_add_test(tc, each_layer_keeps_its_own_statistics);
  tcase_add_test(tc, whitening_whitens_the_patches);
  tcase_add_test(tc, whitening_refuses_bad_requests_and_keeps_the_model);
  suite_add_tcase(suite, tc);
  return run_suite(suite);
}
