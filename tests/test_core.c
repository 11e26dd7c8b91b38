/* Status strings, versions and config initialisers. */
#include "common.h"
#include "nn/parallel.h"

START_TEST(strerror_covers_every_status) {
  dlsc_status all[] = {DLSC_OK, DLSC_ERR_INVALID_ARGUMENT, DLSC_ERR_OUT_OF_MEMORY,
                       DLSC_ERR_SHAPE_MISMATCH, DLSC_ERR_BAD_FORMAT, DLSC_ERR_VERSION,
                       DLSC_ERR_CHECKSUM, DLSC_ERR_NUMERIC, DLSC_ERR_UNSUPPORTED, DLSC_ERR_IO,
                       DLSC_ERR_BUFFER_TOO_SMALL, DLSC_ERR_NOT_FOUND, DLSC_ERR_CANCELLED};
  const char *unknown = dlsc_strerror((dlsc_status)-999);
  ck_assert_ptr_nonnull(unknown);
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    const char *text = dlsc_strerror(all[i]);
    ck_assert_ptr_nonnull(text);
    ck_assert_str_ne(text, unknown);
    for (size_t j = 0; j < i; j++)
      ck_assert_str_ne(text, dlsc_strerror(all[j]));
  }
}
END_TEST

START_TEST(version_matches_header) {
  ck_assert_uint_eq(dlsc_version(), DLSC_VERSION_NUMBER);
  char expected[32];
  snprintf(expected, sizeof expected, "%d.%d.%d", DLSC_VERSION_MAJOR, DLSC_VERSION_MINOR,
           DLSC_VERSION_PATCH);
  ck_assert_str_eq(dlsc_version_string(), expected);
}
END_TEST

START_TEST(config_inits_reject_null_and_set_defaults) {
  ck_assert_status(dlsc_stft_config_init_(NULL, sizeof(dlsc_stft_config)),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_train_config_init_(NULL, sizeof(dlsc_train_config)),
                   DLSC_ERR_INVALID_ARGUMENT);
  dlsc_stft_config stft;
  ck_assert_ok(dlsc_stft_config_init(&stft));
  ck_assert_uint_eq(stft.n_fft, 1024);
  ck_assert_uint_eq(stft.hop_length, 512);
  ck_assert_int_eq(stft.window, DLSC_WINDOW_HANN);
  dlsc_train_config train;
  ck_assert_ok(dlsc_train_config_init(&train));
  ck_assert_int_eq(train.optimizer, DLSC_OPTIMIZER_ADAM);
  ck_assert_float_eq(train.learning_rate, 1e-3f);
  dlsc_layer_config layer;
  ck_assert_status(dlsc_layer_config_init(&layer, (dlsc_layer_kind)999), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_ok(dlsc_layer_config_init(&layer, DLSC_LAYER_MAXPOOL));
  ck_assert_uint_eq(layer.stride_h, 0); /* pools default to stepping by their kernel */
  ck_assert_int_eq(layer.bias, 1);
}
END_TEST

/* A caller compiled against an older, shorter struct keeps working: the library
 * reads only struct_size bytes and defaults the rest. */
START_TEST(shorter_config_struct_gets_defaults_for_new_fields) {
  dlsc_stft_config old;
  ck_assert_ok(dlsc_stft_config_init_(&old, offsetof(dlsc_stft_config, window)));
  ck_assert_uint_eq(old.struct_size, offsetof(dlsc_stft_config, window));
  old.n_fft = 256;
  old.hop_length = 64;
  old.window = (dlsc_window)12345; /* beyond the old struct: must be ignored */
  dlsc_stft_t *stft;
  ck_assert_ok(dlsc_stft_create(&old, &stft));
  dlsc_stft_config read;
  dlsc_stft_config_init(&read);
  ck_assert_ok(dlsc_stft_get_config(stft, &read));
  ck_assert_uint_eq(read.n_fft, 256);
  ck_assert_int_eq(read.window, DLSC_WINDOW_HANN);
  dlsc_stft_destroy(stft);
  /* A struct never initialised (struct_size 0) is refused. */
  dlsc_stft_config garbage;
  memset(&garbage, 0, sizeof garbage);
  ck_assert_status(dlsc_stft_create(&garbage, &stft), DLSC_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(destroy_accepts_null) {
  dlsc_stft_destroy(NULL);
  dlsc_model_destroy(NULL);
  dlsc_dataset_destroy(NULL);
  dlsc_stream_destroy(NULL);
}
END_TEST

/* The tests' error maxima keep a NaN (fmax, used before, drops it: a NaN output passed
 * every tolerance). */
START_TEST(error_maxima_keep_nan) {
  float a[3] = {1.0f, -2.0f, 3.0f}, b[3] = {1.0f, NAN, 3.5f};
  ck_assert(isnan(max_abs_diff(a, b, 3)));
  ck_assert(isnan(max_abs_diff(b, a, 3)));
  ck_assert(isnan(max_abs(b, 3)));
  ck_assert_double_eq(max_abs_diff(a, a, 3), 0.0);
  ck_assert_double_eq(max_abs(a, 3), 3.0);
  ck_assert(isnan(max_or_nan(0.0, NAN)) && isnan(max_or_nan(NAN, 1.0)));
  ck_assert_double_eq(max_or_nan(1.0, 2.0), 2.0);
  ck_assert_double_eq(max_or_nan(2.0, -3.0), 2.0);
}
END_TEST

/* dlsc_blas_info names the BLAS and spots kernels older than the CPU. meson runs this
 * case a second time with OPENBLAS_CORETYPE=Prescott, OpenBLAS's SSE3 kernels, which on
 * a CPU with AVX2 must be reported with the kernel set to pick instead. */
START_TEST(blas_info_names_the_library_and_spots_old_kernels) {
  const char *config = NULL, *better = "untouched";
  ck_assert_status(dlsc_blas_info(NULL, &better), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_str_eq(better, "untouched");
  ck_assert_status(dlsc_blas_info(&config, NULL), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(config);
  ck_assert_ok(dlsc_blas_info(&config, &better));
  ck_assert_ptr_nonnull(config);
  ck_assert_uint_gt(strlen(config), 0);
#ifdef DLSC_HAVE_OPENBLAS_INFO
  ck_assert_ptr_nonnull(strstr(config, "OpenBLAS"));
  /* scripts/test.sh's run on OpenBLAS's OpenMP build: it must be the one loaded, and
   * dlsc's element-wise loops must get a team of OMP_NUM_THREADS. */
  if (getenv("DLSC_TEST_EXPECT_OPENMP")) {
    ck_assert_ptr_nonnull(strstr(config, "USE_OPENMP"));
#ifdef _OPENMP
    ck_assert_int_eq(dlsc_parallel_threads(), atoi(getenv("OMP_NUM_THREADS")));
#endif
  }
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  const char *forced = getenv("OPENBLAS_CORETYPE");
  if (forced && strcmp(forced, "Prescott") == 0 && strstr(config, "DYNAMIC_ARCH")) {
    ck_assert_ptr_nonnull(strstr(config, "Prescott"));
    if (avx2)
      ck_assert_str_eq(better, avx512 ? "SkylakeX" : "Haswell");
    else
      ck_assert_ptr_null(better);
  } else {
    /* Kernel sets with AVX2 are never reported; a report needs a CPU with AVX2. */
    const char *modern[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"};
    for (size_t i = 0; i < sizeof modern / sizeof modern[0]; i++)
      if (strstr(config, modern[i]))
        ck_assert_ptr_null(better);
    if (better)
      ck_assert(avx2);
  }
#endif
#else
  ck_assert_ptr_null(better);
#endif
}
END_TEST

int main(void) {
  Suite *suite = suite_create("core");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, strerror_covers_every_status);
  tcase_add_test(tc, version_matches_header);
  tcase_add_test(tc, config_inits_reject_null_and_set_defaults);
  tcase_add_test(tc, shorter_config_struct_gets_defaults_for_new_fields);
  tcase_add_test(tc, destroy_accepts_null);
  tcase_add_test(tc, error_maxima_keep_nan);
  suite_add_tcase(suite, tc);
  TCase *blas = tcase_create("blas");
  tcase_add_test(blas, blas_info_names_the_library_and_spots_old_kernels);
  suite_add_tcase(suite, blas);
  return run_suite(suite);
}
