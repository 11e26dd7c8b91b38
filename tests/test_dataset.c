/* Datasets: frame windows and targets, image storage, labels, pretext transforms,
 * augmentation, shuffling and batch bounds. */
#include "common.h"

static dlsc_dataset_t *frames_dataset(size_t bins, size_t before, size_t after, dlsc_target target) {
  dlsc_frames_config config;
  dlsc_frames_config_init(&config);
  config.n_bins = bins;
  config.context_before = before;
  config.context_after = after;
  config.target = target;
  dlsc_dataset_t *dataset;
  ck_assert_ok(dlsc_dataset_create_frames(&config, 1, &dataset));
  return dataset;
}

/* Frame value encodes (utterance, frame, bin) so windows can be checked exactly. */
START_TEST(frame_windows_stay_inside_utterances) {
  dlsc_dataset_t *dataset = frames_dataset(3, 2, 1, DLSC_TARGET_MAGNITUDE);
  float noisy[2][5 * 3], target[2][5 * 3];
  for (int u = 0; u < 2; u++)
    for (int f = 0; f < 5; f++)
      for (int b = 0; b < 3; b++) {
        noisy[u][f * 3 + b] = (float)(100 * (u + 1) + 10 * f + b);
        target[u][f * 3 + b] = -noisy[u][f * 3 + b];
      }
  ck_assert_ok(dlsc_dataset_add_frames(dataset, noisy[0], target[0], 5));
  ck_assert_ok(dlsc_dataset_add_frames(dataset, noisy[1], target[1], 5));
  size_t count;
  ck_assert_ok(dlsc_dataset_count(dataset, &count));
  ck_assert_uint_eq(count, 10);
  dlsc_shape shape;
  ck_assert_ok(dlsc_dataset_input_shape(dataset, &shape));
  ck_assert_uint_eq(shape.height, 4);
  dlsc_batch batch;
  /* Frames 1 and 2 first: their windows leave values in the rows that the next batch's
   * windows must zero (the batch buffer is reused). */
  ck_assert_ok(dlsc_dataset_get_batch(dataset, 1, 2, 0, &batch));
  ck_assert_float_eq(batch.inputs[0], 0.0f);
  ck_assert_float_eq(batch.inputs[12], 100.0f);
  ck_assert_float_eq(batch.inputs[12 + 9 + 2], 132.0f);
  ck_assert_ok(dlsc_dataset_get_batch(dataset, 4, 2, 0, &batch)); /* frames 4 of u0, 0 of u1 */
  /* Window of frame 4 (utterance 0): frames 2, 3, 4, then 5 is past the end: zeros. */
  ck_assert_float_eq(batch.inputs[0], 120.0f);
  ck_assert_float_eq(batch.inputs[3], 130.0f);
  ck_assert_float_eq(batch.inputs[6 + 2], 142.0f);
  for (int b = 0; b < 3; b++)
    ck_assert_float_eq(batch.inputs[9 + b], 0.0f);
  ck_assert_float_eq(batch.targets[1], -141.0f);
  ck_assert_float_eq(batch.scales[1], 141.0f);
  /* Frame 0 of utterance 1: two frames before it are outside (zeros), not utterance 0. */
  const float *second = batch.inputs + 12;
  for (int b = 0; b < 6; b++)
    ck_assert_float_eq(second[b], 0.0f);
  ck_assert_float_eq(second[6], 200.0f);
  ck_assert_float_eq(second[9], 210.0f);
  ck_assert_ptr_null(batch.labels);
  ck_assert_status(dlsc_dataset_get_batch(dataset, 9, 2, 0, &batch), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_dataset_get_batch(dataset, 0, 0, 0, &batch), DLSC_ERR_INVALID_ARGUMENT);
  noisy[0][4] = NAN;
  ck_assert_status(dlsc_dataset_add_frames(dataset, noisy[0], target[0], 5), DLSC_ERR_NUMERIC);
  ck_assert_ok(dlsc_dataset_count(dataset, &count));
  ck_assert_uint_eq(count, 10); /* nothing appended */
  dlsc_dataset_destroy(dataset);
}
END_TEST

/* The phase-sensitive target never exceeds the clean magnitude; for a noise-free pair
 * it equals it. */
START_TEST(signal_pairs_give_magnitude_and_phase_sensitive_targets) {
  dlsc_stft_config config;
  dlsc_stft_config_init(&config);
  config.n_fft = 64;
  config.hop_length = 32;
  dlsc_stft_t *stft;
  ck_assert_ok(dlsc_stft_create(&config, &stft));
  size_t n = 1000;
  float *clean = malloc(n * sizeof *clean), *noisy = malloc(n * sizeof *noisy);
  fill_uniform(clean, n, -0.5f, 0.5f, 1);
  fill_uniform(noisy, n, -0.2f, 0.2f, 2);
  for (size_t i = 0; i < n; i++)
    noisy[i] += clean[i];
  dlsc_dataset_t *magnitude = frames_dataset(33, 0, 0, DLSC_TARGET_MAGNITUDE);
  dlsc_dataset_t *psa = frames_dataset(33, 0, 0, DLSC_TARGET_PHASE_SENSITIVE);
  dlsc_dataset_t *wrong = frames_dataset(513, 0, 0, DLSC_TARGET_MAGNITUDE);
  ck_assert_status(dlsc_dataset_add_signal_pair(wrong, stft, noisy, clean, n),
                   DLSC_ERR_SHAPE_MISMATCH);
  ck_assert_ok(dlsc_dataset_add_signal_pair(magnitude, stft, noisy, clean, n));
  ck_assert_ok(dlsc_dataset_add_signal_pair(psa, stft, noisy, clean, n));
  ck_assert_ok(dlsc_dataset_add_signal_pair(psa, stft, clean, clean, n));
  size_t frames;
  dlsc_stft_n_frames(stft, n, &frames);
  dlsc_batch a, b;
  ck_assert_ok(dlsc_dataset_get_batch(magnitude, 0, frames, 0, &a));
  float *clean_magnitude = malloc(frames * 33 * sizeof(float));
  memcpy(clean_magnitude, a.targets, frames * 33 * sizeof(float));
  ck_assert_ok(dlsc_dataset_get_batch(psa, 0, 2 * frames, 0, &b));
  size_t below = 0;
  for (size_t i = 0; i < frames * 33; i++) {
    ck_assert_float_ge(b.targets[i], 0.0f);
    ck_assert_float_le(b.targets[i], clean_magnitude[i] + 1e-5f);
    below += b.targets[i] < clean_magnitude[i] - 1e-3f;
    ck_assert_float_eq_tol(b.targets[frames * 33 + i], clean_magnitude[i], 1e-4f);
  }
  ck_assert_uint_gt(below, frames * 33 / 4); /* noise turns phases, so targets shrink */
  free(clean_magnitude);
  free(clean);
  free(noisy);
  dlsc_dataset_destroy(magnitude);
  dlsc_dataset_destroy(psa);
  dlsc_dataset_destroy(wrong);
  dlsc_stft_destroy(stft);
}
END_TEST

START_TEST(images_store_scaled_pixels_and_check_labels) {
  dlsc_dataset_t *dataset = images_dataset(1, 2, 2, 3, 1);
  uint8_t pixels[8] = {0, 51, 102, 255, 10, 20, 30, 40};
  int32_t labels[2] = {2, 0}, bad[2] = {1, 3};
  ck_assert_status(dlsc_dataset_add_images_u8(dataset, pixels, bad, 2), DLSC_ERR_INVALID_ARGUMENT);
  bad[1] = -1;
  ck_assert_status(dlsc_dataset_add_images_u8(dataset, pixels, bad, 2), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_status(dlsc_dataset_add_images_u8(dataset, pixels, labels, 0), DLSC_ERR_INVALID_ARGUMENT);
  size_t count;
  ck_assert_ok(dlsc_dataset_count(dataset, &count));
  ck_assert_uint_eq(count, 0);
  ck_assert_ok(dlsc_dataset_add_images_u8(dataset, pixels, labels, 2));
  ck_assert_status(dlsc_dataset_add_images_u8(dataset, pixels, NULL, 2), DLSC_ERR_INVALID_ARGUMENT);
  float floats[4] = {0.5f, 0.5f, NAN, 0.5f};
  ck_assert_status(dlsc_dataset_add_images_f32(dataset, floats, labels, 1), DLSC_ERR_NUMERIC);
  dlsc_batch batch;
  ck_assert_ok(dlsc_dataset_get_batch(dataset, 0, 2, 0, &batch));
  ck_assert_float_eq_tol(batch.inputs[1], 0.2f, 1e-6f);
  ck_assert_float_eq_tol(batch.inputs[3], 1.0f, 1e-6f);
  ck_assert_int_eq(batch.labels[0], 2);
  ck_assert_int_eq(batch.labels[1], 0);
  ck_assert_ptr_null(batch.targets);
  /* Every byte value is stored as the float a caller's (float)byte / 255.0f gives, to
   * the bit (a reciprocal multiplied in differs in the last bit for 126 of them). */
  dlsc_dataset_t *bytes = images_dataset(1, 16, 16, 2, 1);
  uint8_t every[256];
  for (int v = 0; v < 256; v++)
    every[v] = (uint8_t)v;
  ck_assert_ok(dlsc_dataset_add_images_u8(bytes, every, NULL, 1));
  ck_assert_ok(dlsc_dataset_get_batch(bytes, 0, 1, 0, &batch));
  ck_assert_ptr_null(batch.labels);
  for (int v = 0; v < 256; v++) {
    volatile float divided = (float)v / 255.0f; /* rounded to float here, on x87 too */
    ck_assert_msg(batch.inputs[v] == divided, "byte %d stored as %.9g, not %.9g", v,
                  (double)batch.inputs[v], (double)divided);
  }
  dlsc_dataset_destroy(bytes);
  /* A dataset of no classes holds unlabeled images only: labels are refused. */
  dlsc_dataset_t *unlabeled = images_dataset(1, 2, 2, 0, 1);
  ck_assert_status(dlsc_dataset_add_images_u8(unlabeled, pixels, labels, 2),
                   DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_ok(dlsc_dataset_count(unlabeled, &count));
  ck_assert_uint_eq(count, 0);
  ck_assert_ok(dlsc_dataset_add_images_u8(unlabeled, pixels, NULL, 2));
  ck_assert_ok(dlsc_dataset_count(unlabeled, &count));
  ck_assert_uint_eq(count, 2);
  dlsc_dataset_destroy(unlabeled);
  /* Floats outside [0, 1] (feature maps) are kept as given. */
  float features[4] = {-3.0f, 7.5f, 0.25f, 1e30f};
  ck_assert_ok(dlsc_dataset_add_images_f32(dataset, features, labels, 1));
  ck_assert_ok(dlsc_dataset_get_batch(dataset, 2, 1, 0, &batch));
  ck_assert_mem_eq(batch.inputs, features, sizeof features);
  /* Frames-only and image-only calls refuse the other kind. */
  ck_assert_status(dlsc_dataset_add_frames(dataset, floats, floats, 1), DLSC_ERR_INVALID_ARGUMENT);
  dlsc_dataset_destroy(dataset);
}
END_TEST

/* A 2x3x3 image with distinct pixels under each pretext transform (the second channel's
 * pixels are the first's + 100: each plane turns alone). */
START_TEST(pretext_tasks_label_their_transforms) {
  dlsc_dataset_t *dataset = images_dataset(2, 3, 3, 10, 1);
  uint8_t pixels[18] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  for (int p = 0; p < 9; p++)
    pixels[9 + p] = (uint8_t)(pixels[p] + 100);
  ck_assert_ok(dlsc_dataset_add_images_u8(dataset, pixels, NULL, 1));
  ck_assert_status(dlsc_dataset_set_task(dataset, (dlsc_task)7), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_ok(dlsc_dataset_set_task(dataset, DLSC_TASK_ROTATE4));
  size_t count;
  ck_assert_ok(dlsc_dataset_count(dataset, &count));
  ck_assert_uint_eq(count, 4);
  dlsc_batch batch;
  ck_assert_ok(dlsc_dataset_get_batch(dataset, 0, 4, 0, &batch));
  static const uint8_t rotated[4][9] = {{1, 2, 3, 4, 5, 6, 7, 8, 9},  /* 0 */
                                        {3, 6, 9, 2, 5, 8, 1, 4, 7},  /* 90 ccw */
                                        {9, 8, 7, 6, 5, 4, 3, 2, 1},  /* 180 */
                                        {7, 4, 1, 8, 5, 2, 9, 6, 3}}; /* 270 ccw */
  for (int t = 0; t < 4; t++) {
    ck_assert_int_eq(batch.labels[t], t);
    for (int c = 0; c < 2; c++)
      for (int p = 0; p < 9; p++)
        ck_assert_float_eq_tol(batch.inputs[t * 18 + c * 9 + p] * 255.0f,
                               rotated[t][p] + (float)(100 * c), 1e-4f);
  }
  ck_assert_ok(dlsc_dataset_set_task(dataset, DLSC_TASK_FLIP_ROTATE3));
  ck_assert_ok(dlsc_dataset_get_batch(dataset, 0, 3, 0, &batch));
  static const uint8_t flipped[9] = {7, 8, 9, 4, 5, 6, 1, 2, 3};
  for (int c = 0; c < 2; c++)
    for (int p = 0; p < 9; p++) {
      float plus = (float)(100 * c);
      ck_assert_float_eq_tol(batch.inputs[c * 9 + p] * 255.0f, rotated[0][p] + plus, 1e-4f);
      ck_assert_float_eq_tol(batch.inputs[18 + c * 9 + p] * 255.0f, flipped[p] + plus, 1e-4f);
      ck_assert_float_eq_tol(batch.inputs[36 + c * 9 + p] * 255.0f, rotated[1][p] + plus, 1e-4f);
    }
  dlsc_dataset_destroy(dataset);
  dlsc_dataset_t *wide = images_dataset(3, 4, 6, 10, 1);
  ck_assert_status(dlsc_dataset_set_task(wide, DLSC_TASK_ROTATE4), DLSC_ERR_SHAPE_MISMATCH);
  dlsc_dataset_destroy(wide);
}
END_TEST

static void augmented_batch(uint64_t seed, float *out, const dlsc_augment_config *augment) {
  dlsc_dataset_t *dataset = images_dataset(3, 8, 8, 10, seed);
  uint8_t pixels[4 * 192];
  int32_t labels[4] = {0, 1, 2, 3};
  for (int i = 0; i < 4 * 192; i++)
    pixels[i] = (uint8_t)(i * 37 % 251);
  ck_assert_ok(dlsc_dataset_add_images_u8(dataset, pixels, labels, 4));
  ck_assert_ok(dlsc_dataset_set_augment(dataset, augment));
  dlsc_batch batch;
  ck_assert_ok(dlsc_dataset_shuffle(dataset));
  ck_assert_ok(dlsc_dataset_get_batch(dataset, 0, 4, 1, &batch));
  memcpy(out, batch.inputs, 4 * 192 * sizeof *out);
  for (int i = 0; i < 4 * 192; i++)
    ck_assert(batch.inputs[i] >= 0.0f && batch.inputs[i] <= 1.0f);
  dlsc_dataset_destroy(dataset);
}

START_TEST(augmentation_is_deterministic_for_a_seed) {
  dlsc_augment_config augment;
  dlsc_augment_config_init(&augment);
  augment.brightness = 0.3f;
  augment.contrast = 0.3f;
  augment.horizontal_flip = 1;
  augment.crop_padding = 2;
  augment.cutout = 3;
  float a[4 * 192], b[4 * 192], c[4 * 192];
  augmented_batch(5, a, &augment);
  augmented_batch(5, b, &augment);
  augmented_batch(6, c, &augment);
  ck_assert_mem_eq(a, b, sizeof a);
  ck_assert_double_gt(max_abs_diff(a, c, 4 * 192), 0.01);
  /* a cutout as large as the image's side, not one pixel more */
  dlsc_dataset_t *dataset = images_dataset(3, 8, 8, 10, 1);
  augment.cutout = 8;
  ck_assert_ok(dlsc_dataset_set_augment(dataset, &augment));
  augment.cutout = 9;
  ck_assert_status(dlsc_dataset_set_augment(dataset, &augment), DLSC_ERR_INVALID_ARGUMENT);
  dlsc_dataset_destroy(dataset);
}
END_TEST

/* Cutout zeros one square of the given side, centred anywhere, so clipped by the border
 * to 2 or 3 pixels a side for side 3, at the same place in every channel; nothing else
 * changes. */
START_TEST(cutout_zeros_one_square_in_every_channel) {
  dlsc_dataset_t *dataset = images_dataset(2, 8, 8, 10, 3);
  uint8_t pixels[128];
  memset(pixels, 255, sizeof pixels);
  int32_t label = 0;
  ck_assert_ok(dlsc_dataset_add_images_u8(dataset, pixels, &label, 1));
  dlsc_augment_config augment;
  dlsc_augment_config_init(&augment);
  augment.cutout = 3;
  ck_assert_ok(dlsc_dataset_set_augment(dataset, &augment));
  size_t top = 0, bottom = 0, left = 0, right = 0;
  for (int trial = 0; trial < 200; trial++) {
    dlsc_batch batch;
    ck_assert_ok(dlsc_dataset_get_batch(dataset, 0, 1, 1, &batch));
    size_t h0 = 8, h1 = 0, w0 = 8, w1 = 0, zeros = 0;
    for (size_t h = 0; h < 8; h++)
      for (size_t w = 0; w < 8; w++) {
        float v = batch.inputs[h * 8 + w];
        ck_assert(v == 0.0f || v == 1.0f);
        ck_assert_float_eq(batch.inputs[64 + h * 8 + w], v);
        if (v == 0.0f) {
          zeros++;
          h0 = h < h0 ? h : h0, h1 = h + 1 > h1 ? h + 1 : h1;
          w0 = w < w0 ? w : w0, w1 = w + 1 > w1 ? w + 1 : w1;
        }
      }
    ck_assert_uint_ge(h1 - h0, 2);
    ck_assert_uint_le(h1 - h0, 3);
    ck_assert_uint_ge(w1 - w0, 2);
    ck_assert_uint_le(w1 - w0, 3);
    ck_assert_uint_eq(zeros, (h1 - h0) * (w1 - w0)); /* a filled rectangle */
    top += h0 == 0, bottom += h1 == 8, left += w0 == 0, right += w1 == 8;
  }
  ck_assert(top > 0 && bottom > 0 && left > 0 && right > 0); /* clipped on every side */
  dlsc_dataset_destroy(dataset);
}
END_TEST

/* A dataset of one grey 2x2 image (label 1) with augment set. */
static dlsc_dataset_t *one_image(const uint8_t pixels[4], uint64_t seed,
                                 const dlsc_augment_config *augment) {
  dlsc_dataset_t *dataset = images_dataset(1, 2, 2, 2, seed);
  int32_t label = 1;
  ck_assert_ok(dlsc_dataset_add_images_u8(dataset, pixels, &label, 1));
  ck_assert_ok(dlsc_dataset_set_augment(dataset, augment));
  return dataset;
}

/* Brightness multiplies every pixel by one factor within 1 +- brightness; contrast moves
 * every pixel from the image's mean by one factor within 1 +- contrast, the mean kept
 * (pixels chosen so that neither clips). Both factors fall on each side of 1. */
START_TEST(brightness_and_contrast_scale_pixels) {
  const uint8_t pixels[4] = {25, 51, 76, 102};
  float x[4], mean = 0.0f;
  for (int i = 0; i < 4; i++) {
    x[i] = pixels[i] / 255.0f;
    mean += x[i] / 4.0f;
  }
  for (int kind = 0; kind < 2; kind++) {
    dlsc_augment_config augment;
    dlsc_augment_config_init(&augment);
    if (kind == 0)
      augment.brightness = 0.3f;
    else
      augment.contrast = 0.3f;
    dlsc_dataset_t *dataset = one_image(pixels, 11, &augment);
    size_t up = 0, down = 0;
    for (int trial = 0; trial < 200; trial++) {
      dlsc_batch batch;
      ck_assert_ok(dlsc_dataset_get_batch(dataset, 0, 1, 1, &batch));
      const float *y = batch.inputs;
      float centre = kind ? mean : 0.0f, factor = (y[3] - centre) / (x[3] - centre);
      ck_assert(factor >= 0.7f - 1e-5f && factor <= 1.3f + 1e-5f);
      for (int i = 0; i < 4; i++)
        ck_assert_float_eq_tol(y[i], centre + (x[i] - centre) * factor, 1e-5f);
      up += factor > 1.0f, down += factor < 1.0f;
    }
    ck_assert(up > 50 && down > 50);
    dlsc_dataset_destroy(dataset);
  }
}
END_TEST

START_TEST(horizontal_flip_mirrors_rows) {
  const uint8_t pixels[4] = {0, 255, 51, 102}; /* rows [0 1] and [0.2 0.4] */
  dlsc_augment_config augment;
  dlsc_augment_config_init(&augment);
  augment.horizontal_flip = 1;
  dlsc_dataset_t *dataset = one_image(pixels, 1, &augment);
  size_t flipped = 0;
  for (int trial = 0; trial < 200; trial++) {
    dlsc_batch batch;
    ck_assert_ok(dlsc_dataset_get_batch(dataset, 0, 1, 1, &batch));
    ck_assert(batch.inputs[0] == 0.0f || batch.inputs[0] == 1.0f);
    bool mirrored = batch.inputs[0] == 1.0f;
    ck_assert_float_eq(batch.inputs[1], (mirrored ? 0.0f : 1.0f));
    ck_assert_float_eq_tol(batch.inputs[2], (mirrored ? 0.4f : 0.2f), 1e-6f);
    ck_assert_float_eq_tol(batch.inputs[3], (mirrored ? 0.2f : 0.4f), 1e-6f);
    flipped += mirrored;
    ck_assert_ok(dlsc_dataset_get_batch(dataset, 0, 1, 0, &batch)); /* no augmentation */
    ck_assert_float_eq(batch.inputs[0], 0.0f);
  }
  ck_assert_uint_gt(flipped, 70); /* about half of 200 */
  ck_assert_uint_lt(flipped, 130);
  augment.crop_padding = 3; /* larger than the image */
  ck_assert_status(dlsc_dataset_set_augment(dataset, &augment), DLSC_ERR_INVALID_ARGUMENT);
  augment.crop_padding = 0;
  augment.brightness = -0.5f;
  ck_assert_status(dlsc_dataset_set_augment(dataset, &augment), DLSC_ERR_INVALID_ARGUMENT);
  dlsc_dataset_destroy(dataset);
  /* rows 5 wide (an odd width keeps its middle column): each comes out reversed or not */
  dataset = images_dataset(1, 2, 5, 2, 4);
  uint8_t wide[10];
  for (int i = 0; i < 10; i++)
    wide[i] = (uint8_t)(25 * i);
  int32_t label = 0;
  ck_assert_ok(dlsc_dataset_add_images_u8(dataset, wide, &label, 1));
  augment.brightness = 0.0f;
  ck_assert_ok(dlsc_dataset_set_augment(dataset, &augment));
  flipped = 0;
  for (int trial = 0; trial < 40; trial++) {
    dlsc_batch batch;
    ck_assert_ok(dlsc_dataset_get_batch(dataset, 0, 1, 1, &batch));
    bool mirrored = batch.inputs[0] != 0.0f;
    for (int h = 0; h < 2; h++)
      for (int w = 0; w < 5; w++)
        ck_assert_float_eq_tol(batch.inputs[h * 5 + w] * 255.0f,
                               (float)wide[h * 5 + (mirrored ? 4 - w : w)], 1e-4f);
    flipped += mirrored;
  }
  ck_assert(flipped > 0 && flipped < 40);
  dlsc_dataset_destroy(dataset);
}
END_TEST

/* rotate90 turns each training image by a random multiple of 90 degrees: a 2x2 image
 * [a b; c d] comes out as itself, [b d; a c] (90 counter-clockwise, as the pretext
 * task turns), [d c; b a] or [c a; d b], each about a quarter of the time; evaluation
 * batches stay as stored; non-square images are refused. */
START_TEST(rotate90_turns_images_by_quarter_turns) {
  const uint8_t pixels[4] = {0, 85, 170, 255}; /* a b c d */
  dlsc_augment_config augment;
  dlsc_augment_config_init(&augment);
  augment.rotate90 = 1;
  dlsc_dataset_t *dataset = one_image(pixels, 7, &augment);
  const int turned[4][4] = {{0, 1, 2, 3}, {1, 3, 0, 2}, {3, 2, 1, 0}, {2, 0, 3, 1}};
  size_t seen[4] = {0};
  for (int trial = 0; trial < 400; trial++) {
    dlsc_batch batch;
    ck_assert_ok(dlsc_dataset_get_batch(dataset, 0, 1, 1, &batch));
    int match = -1;
    for (int t = 0; t < 4 && match < 0; t++) {
      bool same = true;
      for (int i = 0; i < 4; i++)
        same = same && fabsf(batch.inputs[i] - (float)pixels[turned[t][i]] / 255.0f) < 1e-6f;
      match = same ? t : -1;
    }
    ck_assert_msg(match >= 0, "not a quarter turn: %g %g %g %g", batch.inputs[0],
                  batch.inputs[1], batch.inputs[2], batch.inputs[3]);
    seen[match]++;
    ck_assert_int_eq(batch.labels[0], 1); /* the class label is kept */
    ck_assert_ok(dlsc_dataset_get_batch(dataset, 0, 1, 0, &batch));
    ck_assert_float_eq_tol(batch.inputs[1], 85.0f / 255.0f, 1e-6f); /* s390x: in double */
  }
  for (int t = 0; t < 4; t++)
    ck_assert_msg(seen[t] > 70 && seen[t] < 130, "turn %d: %zu of 400", t, seen[t]);
  dlsc_dataset_destroy(dataset);
  dataset = images_dataset(1, 2, 3, 2, 7);
  ck_assert_status(dlsc_dataset_set_augment(dataset, &augment), DLSC_ERR_SHAPE_MISMATCH);
  dlsc_dataset_destroy(dataset);
}
END_TEST

/* 64 two-by-two images, left column dark and right column bright, labeled by index:
 * which ones a batch mirrors shows in its first pixel. */
static void mirrored_per_image(dlsc_dataset_t *dataset, int augment, bool mirrored[64]) {
  dlsc_batch batch;
  ck_assert_ok(dlsc_dataset_get_batch(dataset, 0, 64, augment, &batch));
  for (int i = 0; i < 64; i++) {
    ck_assert(batch.inputs[i * 4] == 0.0f || batch.inputs[i * 4] == 1.0f);
    ck_assert_float_eq(batch.inputs[i * 4] + batch.inputs[i * 4 + 1], 1.0f);
    mirrored[batch.labels[i]] = batch.inputs[i * 4] == 1.0f;
  }
}

static dlsc_dataset_t *alternating_dataset(uint64_t seed) {
  dlsc_dataset_t *dataset = images_dataset(1, 2, 2, 64, seed);
  uint8_t pixels[64 * 4];
  int32_t labels[64];
  for (int i = 0; i < 64; i++) {
    memcpy(pixels + i * 4, (uint8_t[4]){0, 255, 0, 255}, 4);
    labels[i] = i;
  }
  ck_assert_ok(dlsc_dataset_add_images_u8(dataset, pixels, labels, 64));
  dlsc_augment_config augment;
  dlsc_augment_config_init(&augment);
  augment.horizontal_flip = DLSC_FLIP_ALTERNATE;
  ck_assert_ok(dlsc_dataset_set_augment(dataset, &augment));
  return dataset;
}

START_TEST(alternating_flip_mirrors_each_image_every_other_epoch) {
  dlsc_dataset_t *dataset = alternating_dataset(1);
  bool mirrored[4][64], again[64];
  for (int epoch = 0; epoch < 4; epoch++) {
    ck_assert_ok(dlsc_dataset_shuffle(dataset));
    mirrored_per_image(dataset, 1, mirrored[epoch]);
    mirrored_per_image(dataset, 1, again); /* fixed within an epoch */
    ck_assert_mem_eq(again, mirrored[epoch], sizeof again);
    mirrored_per_image(dataset, 0, again); /* evaluation batches are never mirrored */
    for (int i = 0; i < 64; i++)
      ck_assert(!again[i]);
  }
  int count = 0;
  for (int i = 0; i < 64; i++) {
    count += mirrored[0][i];
    ck_assert(mirrored[1][i] == !mirrored[0][i]);
    ck_assert(mirrored[2][i] == mirrored[0][i]);
    ck_assert(mirrored[3][i] == mirrored[1][i]);
  }
  ck_assert_int_gt(count, 16); /* about half of 64 */
  ck_assert_int_lt(count, 48);
  /* the coins come from the seed */
  dlsc_dataset_t *same = alternating_dataset(1), *other = alternating_dataset(2);
  bool from_same[64], from_other[64];
  ck_assert_ok(dlsc_dataset_shuffle(same));
  ck_assert_ok(dlsc_dataset_shuffle(other));
  mirrored_per_image(same, 1, from_same);
  mirrored_per_image(other, 1, from_other);
  ck_assert_mem_eq(from_same, mirrored[0], sizeof from_same);
  ck_assert(memcmp(from_other, mirrored[0], sizeof from_other) != 0);
  dlsc_dataset_destroy(dataset);
  dlsc_dataset_destroy(same);
  dlsc_dataset_destroy(other);
}
END_TEST

/* A 3x3 image padded by one pixel: reflection gives 9 windows without zeros, all seen. */
START_TEST(reflect_crop_mirrors_the_border) {
  dlsc_dataset_t *dataset = images_dataset(1, 3, 3, 2, 1);
  uint8_t pixels[9];
  for (int i = 0; i < 9; i++)
    pixels[i] = (uint8_t)(10 * (i + 1));
  int32_t label = 0;
  ck_assert_ok(dlsc_dataset_add_images_u8(dataset, pixels, &label, 1));
  dlsc_augment_config augment;
  dlsc_augment_config_init(&augment);
  augment.crop_padding = 1;
  augment.crop_reflect = 1;
  ck_assert_ok(dlsc_dataset_set_augment(dataset, &augment));
  static const int reflect[5] = {1, 0, 1, 2, 1}; /* padded index -> source index */
  float stored[9];
  dlsc_batch plain;
  ck_assert_ok(dlsc_dataset_get_batch(dataset, 0, 1, 0, &plain));
  memcpy(stored, plain.inputs, sizeof stored);
  bool seen[9] = {false};
  for (int trial = 0; trial < 300; trial++) {
    dlsc_batch batch;
    ck_assert_ok(dlsc_dataset_get_batch(dataset, 0, 1, 1, &batch));
    int match = -1;
    for (int window = 0; window < 9 && match < 0; window++) {
      int top = window / 3, left = window % 3;
      bool equal = true;
      for (int h = 0; h < 3; h++)
        for (int w = 0; w < 3; w++)
          equal = equal &&
                  batch.inputs[h * 3 + w] == stored[reflect[h + top] * 3 + reflect[w + left]];
      if (equal)
        match = window;
    }
    ck_assert_int_ge(match, 0);
    seen[match] = true;
  }
  for (int window = 0; window < 9; window++)
    ck_assert(seen[window]);
  /* bad settings are refused and the dataset keeps its augmentation */
  dlsc_augment_config bad = augment;
  bad.crop_padding = 3; /* reflection needs padding below the side */
  ck_assert_status(dlsc_dataset_set_augment(dataset, &bad), DLSC_ERR_INVALID_ARGUMENT);
  bad = augment;
  bad.crop_reflect = 2;
  ck_assert_status(dlsc_dataset_set_augment(dataset, &bad), DLSC_ERR_INVALID_ARGUMENT);
  bad = augment;
  bad.rotate90 = 2;
  ck_assert_status(dlsc_dataset_set_augment(dataset, &bad), DLSC_ERR_INVALID_ARGUMENT);
  bad = augment;
  bad.horizontal_flip = 3;
  ck_assert_status(dlsc_dataset_set_augment(dataset, &bad), DLSC_ERR_INVALID_ARGUMENT);
  bad.horizontal_flip = -1;
  ck_assert_status(dlsc_dataset_set_augment(dataset, &bad), DLSC_ERR_INVALID_ARGUMENT);
  for (int trial = 0; trial < 50; trial++) {
    dlsc_batch batch;
    ck_assert_ok(dlsc_dataset_get_batch(dataset, 0, 1, 1, &batch));
    for (int i = 0; i < 9; i++)
      ck_assert_float_ne(batch.inputs[i], 0.0f); /* still reflecting, not zero-padding */
  }
  augment.crop_reflect = 0;
  augment.crop_padding = 3; /* zero padding may be as wide as the image */
  ck_assert_ok(dlsc_dataset_set_augment(dataset, &augment));
  dlsc_dataset_destroy(dataset);
}
END_TEST

START_TEST(shuffle_is_a_permutation) {
  dlsc_dataset_t *dataset = images_dataset(1, 1, 1, 1000, 1);
  uint8_t pixels[1000];
  int32_t labels[1000];
  for (int i = 0; i < 1000; i++) {
    pixels[i] = (uint8_t)i;
    labels[i] = i;
  }
  ck_assert_ok(dlsc_dataset_add_images_u8(dataset, pixels, labels, 1000));
  ck_assert_ok(dlsc_dataset_shuffle(dataset));
  dlsc_batch batch;
  ck_assert_ok(dlsc_dataset_get_batch(dataset, 0, 1000, 0, &batch));
  int seen[1000] = {0}, moved = 0;
  for (int i = 0; i < 1000; i++) {
    seen[batch.labels[i]]++;
    moved += batch.labels[i] != i;
  }
  for (int i = 0; i < 1000; i++)
    ck_assert_int_eq(seen[i], 1);
  ck_assert_int_gt(moved, 900);
  dlsc_dataset_destroy(dataset);
}
END_TEST

/* clear empties the dataset but keeps its task and augmentation: refilled, it gives
 * the batches a fresh dataset with the same settings gives; it also forgets whether
 * the images were labeled. */
START_TEST(clear_keeps_settings_and_refills_alike) {
  dlsc_dataset_t *used = images_dataset(1, 3, 3, 2, 1), *fresh = images_dataset(1, 3, 3, 2, 1);
  uint8_t pixels[2 * 9];
  for (int i = 0; i < 18; i++)
    pixels[i] = (uint8_t)(i * 13);
  int32_t labels[2] = {1, 0};
  ck_assert_ok(dlsc_dataset_add_images_u8(used, pixels, labels, 2));
  for (dlsc_dataset_t *d = used; d; d = d == used ? fresh : NULL)
    ck_assert_ok(dlsc_dataset_set_task(d, DLSC_TASK_ROTATE4));
  ck_assert_ok(dlsc_dataset_shuffle(used));
  ck_assert_ok(dlsc_dataset_clear(used));
  size_t count;
  ck_assert_ok(dlsc_dataset_count(used, &count));
  ck_assert_uint_eq(count, 0);
  dlsc_batch batch, expected;
  ck_assert_status(dlsc_dataset_get_batch(used, 0, 1, 0, &batch), DLSC_ERR_INVALID_ARGUMENT);
  /* Unlabeled images now, where labeled ones were: allowed after clear. */
  ck_assert_ok(dlsc_dataset_add_images_u8(used, pixels, NULL, 2));
  ck_assert_ok(dlsc_dataset_add_images_u8(fresh, pixels, NULL, 2));
  ck_assert_ok(dlsc_dataset_count(used, &count));
  ck_assert_uint_eq(count, 8); /* the rotation task was kept: 4 examples per image */
  ck_assert_ok(dlsc_dataset_get_batch(used, 0, 8, 0, &batch));
  float inputs[8 * 9];
  int32_t rotations[8];
  memcpy(inputs, batch.inputs, sizeof inputs);
  memcpy(rotations, batch.labels, sizeof rotations);
  ck_assert_ok(dlsc_dataset_get_batch(fresh, 0, 8, 0, &expected));
  ck_assert_mem_eq(inputs, expected.inputs, sizeof inputs); /* the stored order, not shuffled */
  ck_assert_mem_eq(rotations, expected.labels, sizeof rotations);
  ck_assert_status(dlsc_dataset_clear(NULL), DLSC_ERR_INVALID_ARGUMENT);
  dlsc_dataset_destroy(used);
  dlsc_dataset_destroy(fresh);
}
END_TEST

/* The limits dlsc.h states, each at its edge and one past it: a dataset, or a refusal
 * that leaves the output pointer as it was (0x1). */
static void check_created(dlsc_status status, dlsc_dataset_t *dataset, bool valid) {
  ck_assert_status(status, valid ? DLSC_OK : DLSC_ERR_INVALID_ARGUMENT);
  if (valid)
    dlsc_dataset_destroy(dataset);
  else
    ck_assert_ptr_eq(dataset, (dlsc_dataset_t *)0x1);
}

static void frames_limit(size_t n_bins, size_t before, size_t after, bool valid) {
  dlsc_frames_config frames;
  dlsc_frames_config_init(&frames);
  frames.n_bins = n_bins;
  frames.context_before = before;
  frames.context_after = after;
  dlsc_dataset_t *dataset = (dlsc_dataset_t *)0x1;
  dlsc_status status = dlsc_dataset_create_frames(&frames, 1, &dataset);
  check_created(status, dataset, valid);
}

static void images_limit(size_t channels, size_t height, size_t width, size_t classes,
                         bool valid) {
  dlsc_images_config images;
  dlsc_images_config_init(&images);
  images.channels = channels;
  images.height = height;
  images.width = width;
  images.n_classes = classes;
  dlsc_dataset_t *dataset = (dlsc_dataset_t *)0x1;
  dlsc_status status = dlsc_dataset_create_images(&images, 1, &dataset);
  check_created(status, dataset, valid);
}

START_TEST(create_rejects_bad_configs) {
  frames_limit(2, 0, 0, true);
  frames_limit(1, 0, 0, false);
  frames_limit(32769, 64, 64, true);
  frames_limit(32770, 0, 0, false);
  frames_limit(513, 65, 0, false);
  frames_limit(513, 0, 65, false);
  frames_limit(513, 1000, 0, false);
  images_limit(1, 1, 1, 0, true); /* unlabeled only */
  images_limit(64, 4096, 4096, 1000000, true);
  images_limit(0, 32, 32, 10, false);
  images_limit(65, 32, 32, 10, false);
  images_limit(3, 0, 32, 10, false);
  images_limit(3, 4097, 32, 10, false);
  images_limit(3, 32, 0, 10, false);
  images_limit(3, 32, 4097, 10, false);
  images_limit(3, 32, 32, 1000001, false);
  dlsc_dataset_t *dataset = (dlsc_dataset_t *)0x1;
  ck_assert_status(dlsc_dataset_create_images(NULL, 1, &dataset), DLSC_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_eq(dataset, (dlsc_dataset_t *)0x1);
}
END_TEST

int main(void) {
  Suite *suite = suite_create("dataset");
  TCase *tc = tcase_create("dataset");
  tcase_add_test(tc, frame_windows_stay_inside_utterances);
  tcase_add_test(tc, signal_pairs_give_magnitude_and_phase_sensitive_targets);
  tcase_add_test(tc, images_store_scaled_pixels_and_check_labels);
  tcase_add_test(tc, pretext_tasks_label_their_transforms);
  tcase_add_test(tc, augmentation_is_deterministic_for_a_seed);
  tcase_add_test(tc, cutout_zeros_one_square_in_every_channel);
  tcase_add_test(tc, brightness_and_contrast_scale_pixels);
  tcase_add_test(tc, horizontal_flip_mirrors_rows);
  tcase_add_test(tc, rotate90_turns_images_by_quarter_turns);
  tcase_add_test(tc, alternating_flip_mirrors_each_image_every_other_epoch);
  tcase_add_test(tc, reflect_crop_mirrors_the_border);
  tcase_add_test(tc, shuffle_is_a_permutation);
  tcase_add_test(tc, clear_keeps_settings_and_refills_alike);
  tcase_add_test(tc, create_rejects_bad_configs);
  suite_add_tcase(suite, tc);
  return run_suite(suite);
}
