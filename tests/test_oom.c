/* Out of memory: every allocation the library makes may fail, and each failure must give
 * DLSC_ERR_OUT_OF_MEMORY and change nothing, as dlsc.h promises of any failed call. The
 * program is linked with -Wl,--wrap for malloc, calloc, realloc and aligned_alloc, so
 * that the library's calls (not those of KissFFT, OpenBLAS or libgomp, shared libraries)
 * pass through here, where the k-th call after arming returns NULL.
 *
 * A scenario of steps runs the public API end to end: a denoiser built, trained with
 * lookahead, saved, loaded, resumed, cloned, blended, edited, run whole, as gains and
 * streamed at 16 and 48 kHz; the STFT both ways; mixing and resampling; an image dataset
 * with augmentation, a rotation pretext, transfer with a frozen layer, whitening,
 * evaluation and classification; model and training-state files. For every step and k
 * up to the step's number of allocations, the scenario runs with the k-th allocation of
 * that step failing: the step must return DLSC_ERR_OUT_OF_MEMORY with every handle
 * pointer, count and output buffer of the scenario untouched; retried with memory, it
 * must succeed, and the scenario must end with the same bytes (models, training state,
 * outputs) as a run without failures. Leaks on the failure paths show under the
 * AddressSanitizer build's run of this suite (valgrind would take minutes). */
#include "common.h"

#define SIGNAL 1200
#define CAPACITY (256 * 1024)
#define IMAGES 12
#define MAX_FRAMES 96 /* the STFT gives 78 frames of the signal */
#define MAX_LATENCY 4096

/* ---- the allocator, failing on request */

static size_t countdown; /* 0: never fail; k: the k-th call from now fails */
static size_t calls;     /* calls since arming */
static bool allocation_allowed(size_t bytes) {
  (void)bytes;
  calls++;
  return countdown == 0 || calls != countdown;
}
#include "wrap_alloc.h"

/* ---- the scenario's state: handles, counts and outputs, compared byte for byte */

typedef struct state {
  dlsc_model_t *model, *loaded, *copy, *pretext, *classifier, *from_file, *manual;
  dlsc_stft_t *stft;
  dlsc_dataset_t *frames, *images;
  dlsc_stream_t *stream, *plain_stream;
  dlsc_resampler_t *resampler;
  dlsc_batch batch;
  size_t n_bytes, n_state, n_resampled, n_downsampled, n_flushed, spec_length,
      fault_offset, fault_length;
  double si_sdr;
  dlsc_status verdict;
  dlsc_eval_stats eval;
  size_t confusion[9];
  int32_t labels[IMAGES], labels_u8[IMAGES];
  float probabilities[IMAGES * 3], probabilities_u8[IMAGES * 3], scores[IMAGES * 3];
  float denoised[SIGNAL], streamed[SIGNAL], flushed[MAX_LATENCY], magnitude[MAX_FRAMES * 33],
      phase[MAX_FRAMES * 33], gains[MAX_FRAMES * 33], spectrum[MAX_FRAMES * 66],
      resynthesised[SIGNAL], from_complex[SIGNAL], mixed[SIGNAL], values[64];
  float resampled[3 * SIGNAL], downsampled[SIGNAL + 16];
  char spec[512];
  unsigned char bytes[CAPACITY], training_state[CAPACITY];
} state;

/* Files of the *_file steps, in a directory of their own: in memory where there is a
 * /dev/shm (every run saves and fsyncs twice), else under /tmp. */
static char directory[64], model_path[96], state_path[96];

/* The inputs, made once. */
static float clean[SIGNAL], noisy[SIGNAL], pixels_f[IMAGES * 3 * 8 * 8];
static uint8_t pixels[IMAGES * 3 * 8 * 8];
static int32_t image_labels[IMAGES];

static const char *const denoiser_spec =
    "input 1x3x33; log; batchnorm; conv2d 4 3x5 pad=0x2 bias=0; batchnorm; relu; "
    "dropout 0.2; dense 33; sigmoid";
/* Backbone (3 layers) shared by the pretext model and the classifier; the first
 * convolution has 2 x 12 filters for 2x2 RGB patches, so it can be whitened. */
#define BACKBONE "input 3x8x8; conv2d 24 2x2; relu; maxpool 2; "
static const char *const pretext_spec = BACKBONE "dense 4";
static const char *const classifier_spec = BACKBONE "dropout 0.1; dense 3";

static dlsc_status train_settings(dlsc_model_t *model, dlsc_loss loss, size_t lookahead) {
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  config.loss = loss;
  config.learning_rate = 1e-2f;
  config.batch_size = 8;
  config.lookahead_every = lookahead;
  return dlsc_model_set_training(model, &config);
}

/* The signal's frame count, or 0 (which the STFT calls refuse) if the buffers would
 * not hold it. */
static size_t frames_of(const state *s) {
  size_t n = 0;
  if (s->stft)
    dlsc_stft_n_frames(s->stft, SIGNAL, &n);
  return n <= MAX_FRAMES ? n : 0;
}

/* Each step is one public call (or two that only make sense together, the second
 * allocating nothing), on the state the steps before left. */
static dlsc_status step(state *s, int index) {
  size_t n_frames = frames_of(s), latency = 0; /* 0 before the STFT exists */
  switch (index) {
  case 0: return dlsc_model_create_from_spec(denoiser_spec, 3, &s->model);
  case 1: {
    dlsc_denoise_config config;
    dlsc_denoise_config_init(&config);
    config.n_fft = 64;
    config.hop_length = 16;
    config.context_before = config.context_after = 1;
    return dlsc_model_set_denoise(s->model, &config);
  }
  case 2: return dlsc_model_set_metadata(s->model, "note", "out of memory");
  case 3: return dlsc_stft_create_for_model(s->model, &s->stft);
  case 4: {
    dlsc_frames_config config;
    dlsc_frames_config_init(&config);
    config.n_bins = 33;
    config.context_before = config.context_after = 1;
    config.target = DLSC_TARGET_PHASE_SENSITIVE;
    return dlsc_dataset_create_frames(&config, 11, &s->frames);
  }
  case 5: return dlsc_dataset_add_signal_pair(s->frames, s->stft, noisy, clean, SIGNAL);
  case 6: return train_settings(s->model, DLSC_LOSS_MASK_MSE, 2);
  case 7: return dlsc_model_train_epoch(s->model, s->frames, NULL);
  case 8: return dlsc_model_train_epoch(s->model, s->frames, NULL);
  case 9: return dlsc_training_state_save(s->model, s->frames, s->training_state, CAPACITY,
                                          &s->n_state);
  case 10: return dlsc_model_save(s->model, s->bytes, CAPACITY, &s->n_bytes);
  case 11: return dlsc_model_load(s->bytes, s->n_bytes, &s->loaded);
  case 12: return train_settings(s->loaded, DLSC_LOSS_MASK_MSE, 2);
  case 13: return dlsc_training_state_load(s->loaded, s->frames, s->training_state, s->n_state);
  case 14: return dlsc_model_train_epoch(s->loaded, s->frames, NULL);
  case 15: return dlsc_model_clone(s->model, &s->copy);
  case 16: return dlsc_model_describe(s->model, s->spec, sizeof s->spec, &s->spec_length);
  case 17:
    return dlsc_model_check_spec("input 1x3x33; conv2d 4 5x5", &s->verdict, &s->fault_offset,
                                 &s->fault_length);
  case 18: return dlsc_denoise(s->model, s->stft, noisy, SIGNAL, s->denoised);
  case 19:
    return dlsc_stft_forward(s->stft, noisy, SIGNAL, s->magnitude, s->phase, n_frames);
  case 20:
    return dlsc_denoise_gains(s->model, s->magnitude, n_frames, s->gains);
  case 21: return dlsc_stream_create_at_rate(s->model, 16000, 48000, &s->stream);
  case 22: return dlsc_stream_process(s->stream, noisy, SIGNAL, s->streamed);
  case 23:
    return dlsc_resample(noisy, SIGNAL, 16000, 44100, s->resampled, 3 * SIGNAL,
                         &s->n_resampled);
  case 24: return dlsc_resampler_create(44100, 16000, &s->resampler);
  case 25:
    return dlsc_resampler_process(s->resampler, s->resampled, s->n_resampled, s->downsampled,
                                  SIGNAL + 16, &s->n_downsampled);
  case 26: {
    dlsc_images_config config;
    dlsc_images_config_init(&config);
    config.height = config.width = 8;
    config.n_classes = 3;
    return dlsc_dataset_create_images(&config, 13, &s->images);
  }
  case 27: return dlsc_dataset_add_images_u8(s->images, pixels, image_labels, IMAGES);
  case 28: {
    dlsc_augment_config config;
    dlsc_augment_config_init(&config);
    config.brightness = 0.1f;
    config.horizontal_flip = DLSC_FLIP_ALTERNATE;
    config.crop_padding = 1;
    config.crop_reflect = 1;
    config.cutout = 2;
    return dlsc_dataset_set_augment(s->images, &config);
  }
  case 29: return dlsc_dataset_set_task(s->images, DLSC_TASK_ROTATE4);
  case 30: return dlsc_model_create_from_spec(pretext_spec, 5, &s->pretext);
  case 31: return train_settings(s->pretext, DLSC_LOSS_CROSS_ENTROPY, 0);
  case 32: return dlsc_model_train_epoch(s->pretext, s->images, NULL);
  case 33: return dlsc_dataset_set_task(s->images, DLSC_TASK_CLASSES);
  case 34: return dlsc_model_create_from_spec(classifier_spec, 7, &s->classifier);
  case 35: return dlsc_model_copy_layers(s->classifier, s->pretext, 3);
  case 36: return dlsc_model_init_whitening(s->classifier, 0, pixels_f, IMAGES, 1e-3f);
  case 37: return dlsc_model_set_layer_frozen(s->classifier, 0, 1);
  case 38: return train_settings(s->classifier, DLSC_LOSS_CROSS_ENTROPY, 0);
  case 39: return dlsc_model_train_epoch(s->classifier, s->images, NULL);
  case 40: return dlsc_dataset_get_batch(s->images, 0, 8, 1, &s->batch);
  case 41: return dlsc_model_train_batch(s->classifier, &s->batch, NULL);
  case 42: return dlsc_model_evaluate(s->classifier, s->images, &s->eval, s->confusion);
  case 43: return dlsc_model_classify(s->classifier, pixels_f, IMAGES, s->labels,
                                      s->probabilities);
  case 44: return dlsc_model_predict(s->classifier, pixels_f, IMAGES, s->scores);
  case 45: return dlsc_model_save_file(s->classifier, model_path);
  case 46: return dlsc_model_load_file(model_path, &s->from_file);
  case 47: return dlsc_training_state_save_file(s->model, s->frames, state_path);
  case 48: return dlsc_training_state_load_file(s->model, s->frames, state_path);
  case 49:
    return dlsc_stft_inverse(s->stft, s->magnitude, s->phase, n_frames, s->resynthesised,
                             SIGNAL);
  case 50:
    return dlsc_stft_forward_complex(s->stft, noisy, SIGNAL, s->spectrum, n_frames);
  case 51:
    return dlsc_stft_inverse_complex(s->stft, s->spectrum, n_frames, s->from_complex, SIGNAL);
  case 52:
    return dlsc_dataset_add_frames(s->frames, s->magnitude, s->gains, n_frames);
  case 53: return dlsc_dataset_shuffle(s->frames);
  case 54: return dlsc_model_blend(s->copy, s->model, 0.5f);
  case 55: {
    size_t count; /* batch-norm 1's gamma, beta, mean and variance, each halved */
    dlsc_status status = dlsc_model_get_values(s->copy, 1, s->values, 64, &count);
    for (size_t i = 0; status == DLSC_OK && i < count; i++)
      s->values[i] *= 0.5f;
    return status ? status : dlsc_model_set_values(s->copy, 1, s->values, count);
  }
  case 56: return dlsc_mix_at_snr(clean, SIGNAL, noisy, SIGNAL, 7, 5.0, s->mixed);
  case 57: return dlsc_stream_create(s->model, &s->plain_stream);
  case 58:
    dlsc_stream_latency(s->stream, &latency);
    return latency <= MAX_LATENCY ? dlsc_stream_flush(s->stream, s->flushed)
                                  : DLSC_ERR_BUFFER_TOO_SMALL;
  case 59:
    return dlsc_resampler_flush(s->resampler, s->downsampled + s->n_downsampled,
                                SIGNAL + 16 - s->n_downsampled, &s->n_flushed);
  case 60: return dlsc_model_create((dlsc_shape){2, 3, 4}, 9, &s->manual);
  case 61: {
    dlsc_layer_config config;
    dlsc_layer_config_init(&config, DLSC_LAYER_CONV2D);
    config.units = 3;
    config.kernel_h = config.kernel_w = 2;
    return dlsc_model_add_layer(s->manual, &config);
  }
  case 62: return dlsc_model_set_tensor_lr_scale(s->classifier, 0, DLSC_TENSOR_BIASES, 2.0f);
  case 63: return dlsc_si_sdr(clean, s->denoised, SIGNAL, &s->si_sdr);
  case 64: return dlsc_dataset_clear(s->images);
  case 65:
    return dlsc_model_classify_u8(s->classifier, pixels, IMAGES, s->labels_u8,
                                  s->probabilities_u8);
  default: return DLSC_ERR_INVALID_ARGUMENT;
  }
}
#define STEPS 66

static void destroy_all(state *s) {
  dlsc_model_destroy(s->model);
  dlsc_model_destroy(s->loaded);
  dlsc_model_destroy(s->copy);
  dlsc_model_destroy(s->pretext);
  dlsc_model_destroy(s->classifier);
  dlsc_model_destroy(s->from_file);
  dlsc_model_destroy(s->manual);
  dlsc_stft_destroy(s->stft);
  dlsc_dataset_destroy(s->frames);
  dlsc_dataset_destroy(s->images);
  dlsc_stream_destroy(s->stream);
  dlsc_stream_destroy(s->plain_stream);
  dlsc_resampler_destroy(s->resampler);
}

/* What the scenario ends with: the state's outputs, and every model's bytes. The batch's
 * pointers (into the dataset) are left out: they differ between runs. */
static unsigned char *final_bytes(state *s, size_t *size) {
  s->batch = (dlsc_batch){0};
  dlsc_model_t *models[] = {s->model,      s->loaded,    s->copy,  s->pretext,
                            s->classifier, s->from_file, s->manual};
  size_t offsets[] = {offsetof(state, n_bytes), sizeof *s};
  size_t total = offsets[1] - offsets[0], sizes[7];
  for (int m = 0; m < 7; m++) {
    ck_assert_ok(dlsc_model_save(models[m], NULL, 0, &sizes[m]));
    total += sizes[m];
  }
  unsigned char *bytes = malloc(total), *at = bytes;
  memcpy(at, (unsigned char *)s + offsets[0], offsets[1] - offsets[0]);
  at += offsets[1] - offsets[0];
  for (int m = 0; m < 7; m++) {
    ck_assert_ok(dlsc_model_save(models[m], at, sizes[m], &sizes[m]));
    at += sizes[m];
  }
  *size = total;
  return bytes;
}

static void make_inputs(void) {
  uint64_t seed = 7;
  for (size_t i = 0; i < SIGNAL; i++) {
    clean[i] = 0.5f * sinf(0.07f * (float)i) * sinf(0.003f * (float)i);
    noisy[i] = clean[i] + test_uniform(&seed, -0.2f, 0.2f);
  }
  for (size_t i = 0; i < IMAGES; i++) {
    image_labels[i] = (int32_t)(i % 3);
    for (size_t p = 0; p < 192; p++) {
      uint8_t v = (uint8_t)(test_random(&seed) >> 25); /* 0..127 */
      pixels[i * 192 + p] = p / 64 == (size_t)image_labels[i] ? (uint8_t)(v + 128) : v;
      pixels_f[i * 192 + p] = pixels[i * 192 + p] / 255.0f;
    }
  }
}

START_TEST(every_allocation_may_fail_without_a_trace) {
  make_inputs();
  strcpy(directory, "/dev/shm/dlsc-oom-XXXXXX");
  if (!mkdtemp(directory)) {
    strcpy(directory, "/tmp/dlsc-oom-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(directory));
  }
  snprintf(model_path, sizeof model_path, "%s/model.dlsc", directory);
  snprintf(state_path, sizeof state_path, "%s/run.state", directory);
  state *s = calloc(1, sizeof *s), *before = malloc(sizeof *s);
  /* The run without failures: what every other run must end with, and how many
   * allocations each step makes. */
  size_t allocations[STEPS];
  for (int i = 0; i < STEPS; i++) {
    calls = 0;
    dlsc_status status = step(s, i);
    allocations[i] = calls; /* before Check's own bookkeeping allocates (it is linked in) */
    ck_assert_msg(status == DLSC_OK, "step %d: %s", i, dlsc_strerror(status));
  }
  ck_assert_int_eq(s->verdict, DLSC_ERR_SHAPE_MISMATCH); /* the steps did their work */
  ck_assert_uint_gt(s->n_downsampled, 0);
  ck_assert_uint_gt(s->n_flushed, 0);
  ck_assert_double_gt(s->si_sdr, 0.0);
  /* the bytes classify as their floats did (pixels_f: the datasets' (float)byte / 255.0f) */
  ck_assert_mem_eq(s->labels_u8, s->labels, sizeof s->labels);
  ck_assert_mem_eq(s->probabilities_u8, s->probabilities, sizeof s->probabilities);
  size_t reference_size;
  unsigned char *reference = final_bytes(s, &reference_size);
  destroy_all(s);
  ck_assert_uint_gt(allocations[7], 0); /* the wrapping works */
  size_t failures = 0;
  for (int failing = 0; failing < STEPS; failing++)
    for (size_t k = 1; k <= allocations[failing]; k++) {
      memset(s, 0, sizeof *s);
      for (int i = 0; i < failing; i++)
        ck_assert_ok(step(s, i));
      memcpy(before, s, sizeof *s);
      calls = 0;
      countdown = k;
      dlsc_status status = step(s, failing);
      countdown = 0;
      ck_assert_msg(status == DLSC_ERR_OUT_OF_MEMORY, "step %d, allocation %zu of %zu failing: %s",
                    failing, k, allocations[failing], dlsc_strerror(status));
      ck_assert_msg(memcmp(before, s, sizeof *s) == 0,
                    "step %d, allocation %zu failing: the state changed", failing, k);
      for (int i = failing; i < STEPS; i++) /* retried with memory, then the rest */
        ck_assert_ok(step(s, i));
      size_t size;
      unsigned char *bytes = final_bytes(s, &size);
      ck_assert_msg(size == reference_size && memcmp(bytes, reference, size) == 0,
                    "step %d, allocation %zu failing: the retried run ended elsewhere",
                    failing, k);
      free(bytes);
      destroy_all(s);
      failures++;
    }
  ck_assert_uint_gt(failures, 100);
  /* The files hold the last run's model and state, never a failed write's remains. */
  ck_assert_int_eq(remove(model_path), 0);
  ck_assert_int_eq(remove(state_path), 0);
  ck_assert_int_eq(remove(directory), 0);
  free(reference);
  free(before);
  free(s);
}
END_TEST

int main(void) {
  Suite *suite = suite_create("oom");
  TCase *tc = tcase_create("oom");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, every_allocation_may_fail_without_a_trace);
  suite_add_tcase(suite, tc);
  return run_suite(suite);
}
