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
  dlsc_frames_config frames;
  ck_assert_ok(dlsc_frames_config_init(&frames));
  ck_assert_uint_eq(frames.n_bins, 513);
  ck_assert_int_eq(frames.target, DLSC_TARGET_MAGNITUDE);
  dlsc_images_config images;
  ck_assert_ok(dlsc_images_config_init(&images));
  ck_assert_uint_eq(images.channels, 3);
  ck_assert_uint_eq(images.height, 32);
  ck_assert_uint_eq(images.width, 32);
  ck_assert_uint_eq(images.n_classes, 10);
  /* The shortest struct a caller can hold is struct_size alone: taken, and nothing past
   * it written; one byte less is refused, untouched. */
  union {
    size_t size;
    unsigned char bytes[sizeof(size_t) + 16];
  } shortest;
  for (int f = 0; f < 7; f++) {
    for (int less = 0; less < 2; less++) {
      memset(shortest.bytes, 0x5a, sizeof shortest.bytes);
      size_t size = sizeof(size_t) - (size_t)less;
      void *config = shortest.bytes;
      dlsc_status status = f == 0   ? dlsc_stft_config_init_(config, size)
                           : f == 1 ? dlsc_train_config_init_(config, size)
                           : f == 2 ? dlsc_frames_config_init_(config, size)
                           : f == 3 ? dlsc_images_config_init_(config, size)
                           : f == 4 ? dlsc_augment_config_init_(config, size)
                           : f == 5 ? dlsc_denoise_config_init_(config, size)
                                    : dlsc_layer_config_init_(config, DLSC_LAYER_DENSE, size);
      ck_assert_msg(status == (less ? DLSC_ERR_INVALID_ARGUMENT : DLSC_OK), "init %d, size %zu: %d",
                    f, size, status);
      if (!less)
        ck_assert_uint_eq(shortest.size, sizeof(size_t));
      for (size_t i = less ? 0 : sizeof(size_t); i < sizeof shortest.bytes; i++)
        ck_assert_msg(shortest.bytes[i] == 0x5a, "init %d wrote byte %zu", f, i);
    }
  }
}
END_TEST

/* A caller compiled against a newer header passes a longer struct: the library writes
 * its defaults, zeros the fields it does not know (off, for the fields to come) and keeps
 * the caller's struct_size. */
START_TEST(config_inits_zero_the_tail_of_a_longer_struct) {
  static const size_t sizes[7] = {sizeof(dlsc_stft_config),    sizeof(dlsc_train_config),
                                  sizeof(dlsc_frames_config),  sizeof(dlsc_images_config),
                                  sizeof(dlsc_augment_config), sizeof(dlsc_denoise_config),
                                  sizeof(dlsc_layer_config)};
  for (int f = 0; f < 7; f++) {
    union {
      size_t size;
      unsigned char bytes[512];
    } longer, exact;
    ck_assert_uint_le(sizes[f] + 32, sizeof longer.bytes);
    memset(longer.bytes, 0x5a, sizeof longer.bytes);
    memset(exact.bytes, 0xa5, sizeof exact.bytes);
    for (int which = 0; which < 2; which++) {
      void *config = which ? exact.bytes : longer.bytes;
      size_t size = which ? sizes[f] : sizes[f] + 32;
      ck_assert_ok(f == 0   ? dlsc_stft_config_init_(config, size)
                   : f == 1 ? dlsc_train_config_init_(config, size)
                   : f == 2 ? dlsc_frames_config_init_(config, size)
                   : f == 3 ? dlsc_images_config_init_(config, size)
                   : f == 4 ? dlsc_augment_config_init_(config, size)
                   : f == 5 ? dlsc_denoise_config_init_(config, size)
                            : dlsc_layer_config_init_(config, DLSC_LAYER_DENSE, size));
    }
    ck_assert_uint_eq(longer.size, sizes[f] + 32);
    ck_assert_mem_eq(longer.bytes + sizeof(size_t), exact.bytes + sizeof(size_t),
                     sizes[f] - sizeof(size_t));
    for (size_t i = sizes[f]; i < sizeof longer.bytes; i++)
      ck_assert_msg(longer.bytes[i] == (i < sizes[f] + 32 ? 0 : 0x5a), "init %d, byte %zu: %d", f,
                    i, longer.bytes[i]);
  }
}
END_TEST

/* A struct of struct_size alone (a caller of the oldest header) means the defaults: every
 * function taking a config reads struct_size bytes and defaults the rest. */
START_TEST(a_struct_of_struct_size_alone_means_the_defaults) {
  union {
    size_t size;
    unsigned char bytes[256];
  } bare;
  memset(bare.bytes, 0x5a, sizeof bare.bytes); /* past struct_size: never read */
  bare.size = sizeof(size_t);
  dlsc_stft_t *stft;
  ck_assert_ok(dlsc_stft_create((const dlsc_stft_config *)bare.bytes, &stft));
  dlsc_stft_config stft_config;
  dlsc_stft_config_init(&stft_config);
  ck_assert_ok(dlsc_stft_get_config(stft, &stft_config));
  ck_assert_uint_eq(stft_config.n_fft, 1024);
  ck_assert_uint_eq(stft_config.hop_length, 512);
  ck_assert_int_eq(stft_config.window, DLSC_WINDOW_HANN);
  dlsc_stft_destroy(stft);

  dlsc_dataset_t *frames, *images;
  dlsc_shape shape;
  ck_assert_ok(dlsc_dataset_create_frames((const dlsc_frames_config *)bare.bytes, 1, &frames));
  ck_assert_ok(dlsc_dataset_input_shape(frames, &shape)); /* 513 bins, no context */
  ck_assert(shape.channels == 1 && shape.height == 1 && shape.width == 513);
  dlsc_dataset_destroy(frames);
  ck_assert_ok(dlsc_dataset_create_images((const dlsc_images_config *)bare.bytes, 1, &images));
  ck_assert_ok(dlsc_dataset_input_shape(images, &shape));
  ck_assert(shape.channels == 3 && shape.height == 32 && shape.width == 32);
  static uint8_t pixels[2 * 3 * 32 * 32];
  for (size_t i = 0; i < sizeof pixels; i++)
    pixels[i] = (uint8_t)(i * 7);
  int32_t labels[2] = {9, 10}; /* ten classes */
  ck_assert_status(dlsc_dataset_add_images_u8(images, pixels, labels, 2),
                   DLSC_ERR_INVALID_ARGUMENT);
  labels[1] = 0;
  ck_assert_ok(dlsc_dataset_add_images_u8(images, pixels, labels, 2));
  ck_assert_ok(dlsc_dataset_set_augment(images, (const dlsc_augment_config *)bare.bytes));
  dlsc_batch batch;
  ck_assert_ok(dlsc_dataset_get_batch(images, 0, 2, 1, &batch)); /* every augmentation off */
  for (size_t i = 0; i < sizeof pixels; i++)
    ck_assert_float_eq(batch.inputs[i], (float)pixels[i] / 255.0f);
  dlsc_dataset_destroy(images);

  dlsc_model_t *denoiser = from_spec("input 1x1x513; sigmoid", 1);
  ck_assert_ok(dlsc_model_set_denoise(denoiser, (const dlsc_denoise_config *)bare.bytes));
  dlsc_denoise_config got, want;
  dlsc_denoise_config_init(&got);
  dlsc_denoise_config_init(&want);
  ck_assert_ok(dlsc_model_get_denoise(denoiser, &got));
  ck_assert_mem_eq(&got, &want, sizeof got);
  dlsc_model_destroy(denoiser);

  /* Training: the same steps as under an initialised struct, to the bit. */
  dlsc_model_t *a = from_spec("input 1x1x4; dense 3; relu; dense 2", 2);
  dlsc_model_t *b = from_spec("input 1x1x4; dense 3; relu; dense 2", 2);
  dlsc_train_config defaults;
  dlsc_train_config_init(&defaults);
  dlsc_train_config other = defaults; /* replaced whole: nothing of it may stay */
  other.optimizer = DLSC_OPTIMIZER_SGD;
  other.learning_rate = 0.5f;
  ck_assert_ok(dlsc_model_set_training(a, &other));
  ck_assert_ok(dlsc_model_set_training(a, (const dlsc_train_config *)bare.bytes));
  ck_assert_ok(dlsc_model_set_training(b, &defaults));
  float x[8 * 4], y[8 * 2];
  fill_uniform(x, 8 * 4, -1, 1, 3);
  fill_uniform(y, 8 * 2, -1, 1, 4);
  dlsc_batch step = {8, x, y, NULL, NULL};
  for (int i = 0; i < 3; i++) {
    ck_assert_ok(dlsc_model_train_batch(a, &step, NULL));
    ck_assert_ok(dlsc_model_train_batch(b, &step, NULL));
  }
  assert_same_model(a, b);
  dlsc_model_destroy(a);
  dlsc_model_destroy(b);
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
  dlsc_resampler_destroy(NULL);
}
END_TEST

#define REFUSED(call) ck_assert_status(call, DLSC_ERR_INVALID_ARGUMENT)

/* Every public function given NULL for a handle or for a buffer it needs: a status, no
 * crash, and the output a create function would write left as it was. */
START_TEST(null_handles_and_buffers_are_refused) {
  void *const sentinel = (void *)&sentinel;
  float x[4096] = {0}, y[4096];
  int32_t labels[4] = {0};
  uint8_t bytes[64] = {0};
  size_t n;
  double d;
  dlsc_status verdict;
  const char *text;
  REFUSED(dlsc_blas_info(NULL, &text));

  dlsc_stft_config stft_config;
  dlsc_stft_config_init(&stft_config);
  dlsc_stft_t *stft = sentinel;
  REFUSED(dlsc_stft_create(NULL, &stft));
  ck_assert_ptr_eq(stft, sentinel);
  REFUSED(dlsc_stft_create(&stft_config, NULL));
  ck_assert_ok(dlsc_stft_create(&stft_config, &stft));
  size_t f;
  ck_assert_ok(dlsc_stft_n_frames(stft, 100, &f)); /* 100 samples: f frames */
  REFUSED(dlsc_stft_n_bins(NULL, &n));
  REFUSED(dlsc_stft_n_bins(stft, NULL));
  REFUSED(dlsc_stft_n_frames(NULL, 100, &n));
  REFUSED(dlsc_stft_n_frames(stft, 100, NULL));
  REFUSED(dlsc_stft_get_config(NULL, &stft_config));
  REFUSED(dlsc_stft_get_config(stft, NULL));
  REFUSED(dlsc_stft_forward(NULL, x, 100, y, NULL, f));
  REFUSED(dlsc_stft_forward(stft, NULL, 100, y, NULL, f));
  REFUSED(dlsc_stft_forward(stft, x, 100, NULL, NULL, f));
  REFUSED(dlsc_stft_forward_complex(NULL, x, 100, y, f));
  REFUSED(dlsc_stft_forward_complex(stft, NULL, 100, y, f));
  REFUSED(dlsc_stft_forward_complex(stft, x, 100, NULL, f));
  REFUSED(dlsc_stft_inverse(NULL, x, x, f, y, 100));
  REFUSED(dlsc_stft_inverse(stft, NULL, x, f, y, 100));
  REFUSED(dlsc_stft_inverse(stft, x, NULL, f, y, 100));
  REFUSED(dlsc_stft_inverse(stft, x, x, f, NULL, 100));
  REFUSED(dlsc_stft_inverse_complex(NULL, x, f, y, 100));
  REFUSED(dlsc_stft_inverse_complex(stft, NULL, f, y, 100));
  REFUSED(dlsc_stft_inverse_complex(stft, x, f, NULL, 100));

  const char *spec = "input 1x1x513; dense 513; sigmoid";
  dlsc_model_t *model = sentinel, *other = sentinel;
  REFUSED(dlsc_model_create((dlsc_shape){1, 1, 4}, 1, NULL));
  REFUSED(dlsc_model_create_from_spec(NULL, 1, &model));
  ck_assert_ptr_eq(model, sentinel);
  REFUSED(dlsc_model_create_from_spec(spec, 1, NULL));
  REFUSED(dlsc_model_check_spec(NULL, &verdict, &n, &n));
  REFUSED(dlsc_model_check_spec(spec, NULL, &n, &n));
  ck_assert_ok(dlsc_model_create_from_spec(spec, 1, &model));
  dlsc_denoise_config denoise_config;
  dlsc_denoise_config_init(&denoise_config);
  ck_assert_ok(dlsc_model_set_denoise(model, &denoise_config));
  dlsc_layer_config layer;
  dlsc_layer_config_init(&layer, DLSC_LAYER_RELU);
  REFUSED(dlsc_model_add_layer(NULL, &layer));
  REFUSED(dlsc_model_add_layer(model, NULL));
  REFUSED(dlsc_model_clone(NULL, &other));
  ck_assert_ptr_eq(other, sentinel);
  REFUSED(dlsc_model_clone(model, NULL));
  dlsc_model_info info;
  REFUSED(dlsc_model_get_info(NULL, &info));
  REFUSED(dlsc_model_get_info(model, NULL));
  REFUSED(dlsc_model_get_layer(NULL, 0, &layer, NULL));
  REFUSED(dlsc_model_describe(NULL, NULL, 0, &n));
  REFUSED(dlsc_model_describe(model, NULL, 0, NULL));
  REFUSED(dlsc_model_predict(NULL, x, 1, y));
  REFUSED(dlsc_model_predict(model, NULL, 1, y));
  REFUSED(dlsc_model_predict(model, x, 1, NULL));
  REFUSED(dlsc_model_classify(NULL, x, 1, labels, NULL));
  REFUSED(dlsc_model_classify(model, NULL, 1, labels, NULL));
  REFUSED(dlsc_model_classify(model, x, 1, NULL, NULL));
  REFUSED(dlsc_model_classify_u8(NULL, bytes, 1, labels, NULL));
  REFUSED(dlsc_model_classify_u8(model, NULL, 1, labels, NULL));
  REFUSED(dlsc_model_classify_u8(model, bytes, 1, NULL, NULL));
  REFUSED(dlsc_model_set_metadata(NULL, "k", "v"));
  REFUSED(dlsc_model_set_metadata(model, NULL, "v"));
  REFUSED(dlsc_model_set_metadata(model, "k", NULL));
  REFUSED(dlsc_model_get_metadata(NULL, "k", (char *)bytes, sizeof bytes, &n));
  REFUSED(dlsc_model_get_metadata(model, NULL, (char *)bytes, sizeof bytes, &n));
  REFUSED(dlsc_model_get_metadata_key(NULL, 0, (char *)bytes, sizeof bytes, &n));
  REFUSED(dlsc_model_save(NULL, NULL, 0, &n));
  REFUSED(dlsc_model_save(model, NULL, 0, NULL));
  REFUSED(dlsc_model_load(NULL, 64, &other));
  ck_assert_ptr_eq(other, sentinel);
  REFUSED(dlsc_model_load(bytes, sizeof bytes, NULL));
  REFUSED(dlsc_model_save_file(NULL, "m.dlsc"));
  REFUSED(dlsc_model_save_file(model, NULL));
  REFUSED(dlsc_model_load_file(NULL, &other));
  ck_assert_ptr_eq(other, sentinel);
  REFUSED(dlsc_model_load_file("m.dlsc", NULL));
  REFUSED(dlsc_model_copy_layers(NULL, model, 1));
  REFUSED(dlsc_model_copy_layers(model, NULL, 1));
  REFUSED(dlsc_model_get_values(NULL, 0, NULL, 0, &n));
  REFUSED(dlsc_model_get_values(model, 0, NULL, 0, NULL));
  REFUSED(dlsc_model_set_values(NULL, 0, x, 4));
  REFUSED(dlsc_model_set_values(model, 0, NULL, 4));
  REFUSED(dlsc_model_blend(NULL, model, 0.5f));
  REFUSED(dlsc_model_blend(model, NULL, 0.5f));
  REFUSED(dlsc_model_init_whitening(NULL, 0, x, 1, 1e-3f));
  REFUSED(dlsc_model_init_whitening(model, 0, NULL, 1, 1e-3f));

  dlsc_train_config train;
  dlsc_train_config_init(&train);
  dlsc_batch batch = {.count = 1, .inputs = x, .targets = x};
  dlsc_train_stats stats;
  REFUSED(dlsc_model_set_training(NULL, &train));
  REFUSED(dlsc_model_set_training(model, NULL));
  REFUSED(dlsc_model_lookahead_sync(NULL));
  REFUSED(dlsc_model_set_layer_lr_scale(NULL, 0, 1.0f));
  REFUSED(dlsc_model_set_layer_frozen(NULL, 0, 1));
  REFUSED(dlsc_model_set_tensor_lr_scale(NULL, 0, DLSC_TENSOR_WEIGHTS, 1.0f));
  REFUSED(dlsc_model_train_batch(NULL, &batch, &stats));
  REFUSED(dlsc_model_train_batch(model, NULL, &stats));
  batch.inputs = NULL;
  REFUSED(dlsc_model_train_batch(model, &batch, &stats));
  batch.inputs = x;
  batch.targets = NULL;
  REFUSED(dlsc_model_train_batch(model, &batch, &stats));

  dlsc_frames_config frames;
  dlsc_frames_config_init(&frames);
  dlsc_images_config images;
  dlsc_images_config_init(&images);
  dlsc_augment_config augment;
  dlsc_augment_config_init(&augment);
  dlsc_dataset_t *data = sentinel, *pictures = sentinel;
  REFUSED(dlsc_dataset_create_frames(NULL, 1, &data));
  ck_assert_ptr_eq(data, sentinel);
  REFUSED(dlsc_dataset_create_frames(&frames, 1, NULL));
  REFUSED(dlsc_dataset_create_images(NULL, 1, &pictures));
  ck_assert_ptr_eq(pictures, sentinel);
  REFUSED(dlsc_dataset_create_images(&images, 1, NULL));
  ck_assert_ok(dlsc_dataset_create_frames(&frames, 1, &data));
  ck_assert_ok(dlsc_dataset_create_images(&images, 1, &pictures));
  REFUSED(dlsc_dataset_add_signal_pair(NULL, stft, x, x, 4096));
  REFUSED(dlsc_dataset_add_signal_pair(data, NULL, x, x, 4096));
  REFUSED(dlsc_dataset_add_signal_pair(data, stft, NULL, x, 4096));
  REFUSED(dlsc_dataset_add_signal_pair(data, stft, x, NULL, 4096));
  REFUSED(dlsc_dataset_add_frames(NULL, x, x, 1));
  REFUSED(dlsc_dataset_add_frames(data, NULL, x, 1));
  REFUSED(dlsc_dataset_add_frames(data, x, NULL, 1));
  REFUSED(dlsc_dataset_add_images_u8(NULL, bytes, labels, 1));
  REFUSED(dlsc_dataset_add_images_u8(pictures, NULL, labels, 1));
  REFUSED(dlsc_dataset_add_images_f32(NULL, x, labels, 1));
  REFUSED(dlsc_dataset_add_images_f32(pictures, NULL, labels, 1));
  REFUSED(dlsc_dataset_set_task(NULL, DLSC_TASK_ROTATE4));
  REFUSED(dlsc_dataset_set_augment(NULL, &augment));
  REFUSED(dlsc_dataset_set_augment(pictures, NULL));
  REFUSED(dlsc_dataset_set_augment(data, &augment)); /* frames have no augmentation */
  REFUSED(dlsc_dataset_clear(NULL));
  REFUSED(dlsc_dataset_count(NULL, &n));
  REFUSED(dlsc_dataset_count(data, NULL));
  REFUSED(dlsc_dataset_input_shape(NULL, &info.input));
  REFUSED(dlsc_dataset_input_shape(data, NULL));
  REFUSED(dlsc_dataset_shuffle(NULL));
  REFUSED(dlsc_dataset_get_batch(NULL, 0, 1, 0, &batch));
  ck_assert_ok(dlsc_dataset_add_frames(data, x, x, 2));
  REFUSED(dlsc_dataset_get_batch(data, 0, 1, 0, NULL));
  dlsc_eval_stats eval;
  REFUSED(dlsc_model_train_epoch(NULL, data, &stats));
  REFUSED(dlsc_model_train_epoch(model, NULL, &stats));
  REFUSED(dlsc_model_evaluate(NULL, data, &eval, NULL));
  REFUSED(dlsc_model_evaluate(model, NULL, &eval, NULL));
  REFUSED(dlsc_training_state_save(NULL, data, NULL, 0, &n));
  REFUSED(dlsc_training_state_save(model, data, NULL, 0, NULL));
  REFUSED(dlsc_training_state_load(NULL, data, bytes, sizeof bytes));
  REFUSED(dlsc_training_state_load(model, data, NULL, sizeof bytes));
  REFUSED(dlsc_training_state_save_file(NULL, data, "s.state"));
  REFUSED(dlsc_training_state_save_file(model, data, NULL));
  REFUSED(dlsc_training_state_load_file(NULL, data, "s.state"));
  REFUSED(dlsc_training_state_load_file(model, data, NULL));

  dlsc_stft_t *model_stft = sentinel;
  dlsc_stream_t *stream = sentinel;
  REFUSED(dlsc_model_set_denoise(NULL, &denoise_config));
  REFUSED(dlsc_model_set_denoise(model, NULL));
  REFUSED(dlsc_model_get_denoise(NULL, &denoise_config));
  REFUSED(dlsc_model_get_denoise(model, NULL));
  REFUSED(dlsc_stft_create_for_model(NULL, &model_stft));
  ck_assert_ptr_eq(model_stft, sentinel);
  REFUSED(dlsc_stft_create_for_model(model, NULL));
  REFUSED(dlsc_denoise(NULL, stft, x, 4096, y));
  REFUSED(dlsc_denoise(model, NULL, x, 4096, y));
  REFUSED(dlsc_denoise(model, stft, NULL, 4096, y));
  REFUSED(dlsc_denoise(model, stft, x, 4096, NULL));
  REFUSED(dlsc_denoise_gains(NULL, x, 1, y));
  REFUSED(dlsc_denoise_gains(model, NULL, 1, y));
  REFUSED(dlsc_denoise_gains(model, x, 1, NULL));
  REFUSED(dlsc_model_set_attenuation_limit(NULL, 6.0));
  REFUSED(dlsc_model_get_attenuation_limit(NULL, &d));
  REFUSED(dlsc_model_get_attenuation_limit(model, NULL));
  REFUSED(dlsc_stream_create(NULL, &stream));
  ck_assert_ptr_eq(stream, sentinel);
  REFUSED(dlsc_stream_create(model, NULL));
  REFUSED(dlsc_stream_create_at_rate(NULL, 16000, 48000, &stream));
  ck_assert_ptr_eq(stream, sentinel);
  REFUSED(dlsc_stream_create_at_rate(model, 16000, 48000, NULL));
  ck_assert_ok(dlsc_stream_create(model, &stream));
  REFUSED(dlsc_stream_latency(NULL, &n));
  REFUSED(dlsc_stream_latency(stream, NULL));
  REFUSED(dlsc_stream_process(NULL, x, 10, y));
  REFUSED(dlsc_stream_process(stream, NULL, 10, y));
  REFUSED(dlsc_stream_process(stream, x, 10, NULL));
  REFUSED(dlsc_stream_flush(NULL, y));
  REFUSED(dlsc_stream_flush(stream, NULL));
  REFUSED(dlsc_stream_reset(NULL));
  REFUSED(dlsc_stream_set_attenuation_limit(NULL, 6.0));

  REFUSED(dlsc_snr(NULL, x, 4, &d));
  REFUSED(dlsc_snr(x, NULL, 4, &d));
  REFUSED(dlsc_snr(x, x, 4, NULL));
  REFUSED(dlsc_si_sdr(NULL, x, 4, &d));
  REFUSED(dlsc_si_sdr(x, NULL, 4, &d));
  REFUSED(dlsc_si_sdr(x, x, 4, NULL));
  REFUSED(dlsc_mix_at_snr(NULL, 4, x, 4, 0, 0.0, y));
  REFUSED(dlsc_mix_at_snr(x, 4, NULL, 4, 0, 0.0, y));
  REFUSED(dlsc_mix_at_snr(x, 4, x, 4, 0, 0.0, NULL));
  REFUSED(dlsc_resample(NULL, 4, 16000, 48000, y, 12, &n));
  REFUSED(dlsc_resample(x, 4, 16000, 48000, y, 12, NULL));
  dlsc_resampler_t *resampler = sentinel;
  REFUSED(dlsc_resampler_create(16000, 48000, NULL));
  ck_assert_ok(dlsc_resampler_create(16000, 48000, &resampler));
  REFUSED(dlsc_resampler_process(NULL, x, 4, y, 12, &n));
  REFUSED(dlsc_resampler_process(resampler, NULL, 4, y, 12, &n));
  REFUSED(dlsc_resampler_process(resampler, x, 4, y, 12, NULL));
  REFUSED(dlsc_resampler_flush(NULL, y, 12, &n));
  REFUSED(dlsc_resampler_flush(resampler, y, 12, NULL));
  REFUSED(dlsc_resampler_reset(NULL));

  dlsc_resampler_destroy(resampler);
  dlsc_stream_destroy(stream);
  dlsc_dataset_destroy(pictures);
  dlsc_dataset_destroy(data);
  dlsc_model_destroy(model);
  dlsc_stft_destroy(stft);
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
  ck_assert_str_eq(config, "CBLAS");
  ck_assert_ptr_null(better);
#endif
  /* scripts/test.sh's build against the reference CBLAS (-Dblas=cblas) */
  if (getenv("DLSC_TEST_EXPECT_CBLAS"))
    ck_assert_str_eq(config, "CBLAS");
}
END_TEST

int main(void) {
  Suite *suite = suite_create("core");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, strerror_covers_every_status);
  tcase_add_test(tc, version_matches_header);
  tcase_add_test(tc, config_inits_reject_null_and_set_defaults);
  tcase_add_test(tc, config_inits_zero_the_tail_of_a_longer_struct);
  tcase_add_test(tc, a_struct_of_struct_size_alone_means_the_defaults);
  tcase_add_test(tc, shorter_config_struct_gets_defaults_for_new_fields);
  tcase_add_test(tc, destroy_accepts_null);
  tcase_add_test(tc, null_handles_and_buffers_are_refused);
  tcase_add_test(tc, error_maxima_keep_nan);
  suite_add_tcase(suite, tc);
  TCase *blas = tcase_create("blas");
  tcase_add_test(blas, blas_info_names_the_library_and_spots_old_kernels);
  suite_add_tcase(suite, blas);
  return run_suite(suite);
}
