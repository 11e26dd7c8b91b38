/* Threads: what dlsc.h promises, "different handles may be used from different threads
 * concurrently; functions that take a const handle may run concurrently on the same
 * handle". Each thread repeats a serial run's work on its own handles (load a model
 * from one shared buffer, train it on a frames dataset, denoise whole and streamed,
 * train an image classifier with augmentation, resample in chunks) or reads one shared
 * trained model and dataset through the const functions, and must get the serial run's
 * bytes (OpenBLAS splits these small products the same way whether or not its threads
 * are busy), or parses its own spec string thousands of times while the others do.
 * scripts/test.sh also runs it under ThreadSanitizer, with one OpenBLAS thread, as a
 * host running a stream per thread would set; TSan reports any data race however the
 * threads happen to interleave. */
#include <pthread.h>

#include "common.h"
#include "internal.h"

#define THREADS 4
#define N_FFT 64
#define HOP 16
#define BINS (N_FFT / 2 + 1)
#define SIGNAL 4000
#define CHUNK 97
#define IMAGES 48

static const char *const denoiser_spec =
    "input 1x3x33; log; batchnorm; conv2d 4 3x5 pad=0x2 bias=0; batchnorm; relu; "
    "dropout 0.2; dense 33; sigmoid";
static const char *const classifier_spec =
    "input 3x8x8; conv2d 4 3x3 pad=1; relu; maxpool 2; dropout 0.1; dense 3";

/* What one run produces; every buffer malloc'd. status: the first failure, else DLSC_OK. */
typedef struct job {
  const unsigned char *initial; /* the untrained denoiser's bytes, shared, read only */
  size_t initial_size;
  dlsc_status status;
  float *denoised, *streamed, *resampled;
  size_t n_resampled;
  unsigned char *denoiser, *classifier; /* the trained models' bytes */
  size_t denoiser_size, classifier_size;
  int32_t labels[IMAGES];
} job;

static void signals(float *clean, float *noisy) {
  uint64_t state = 7;
  for (size_t i = 0; i < SIGNAL; i++) {
    clean[i] = 0.5f * sinf(0.07f * (float)i) * sinf(0.003f * (float)i);
    noisy[i] = clean[i] + test_uniform(&state, -0.2f, 0.2f);
  }
}

static unsigned char *saved(const dlsc_model_t *model, size_t *size, dlsc_status *status) {
  unsigned char *bytes = NULL;
  *size = 0;
  if (*status == DLSC_OK)
    *status = dlsc_model_save(model, NULL, 0, size);
  if (*status == DLSC_OK && !(bytes = malloc(*size)))
    *status = DLSC_ERR_OUT_OF_MEMORY;
  if (*status == DLSC_OK)
    *status = dlsc_model_save(model, bytes, *size, size);
  return bytes;
}

static dlsc_status set_training(dlsc_model_t *model, dlsc_loss loss, size_t batch) {
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  config.loss = loss;
  config.learning_rate = 1e-2f;
  config.batch_size = batch;
  return dlsc_model_set_training(model, &config);
}

/* Trains the denoiser three epochs on the pair, then denoises it whole and streamed. */
static dlsc_status denoise_work(job *j, const float *clean, const float *noisy) {
  dlsc_model_t *model = NULL;
  dlsc_stft_t *stft = NULL;
  dlsc_dataset_t *frames = NULL;
  dlsc_stream_t *stream = NULL;
  dlsc_frames_config config;
  dlsc_frames_config_init(&config);
  config.n_bins = BINS;
  config.context_before = config.context_after = 1;
  config.target = DLSC_TARGET_PHASE_SENSITIVE;
  dlsc_status status = dlsc_model_load(j->initial, j->initial_size, &model);
  if (status == DLSC_OK)
    status = dlsc_stft_create_for_model(model, &stft);
  if (status == DLSC_OK)
    status = dlsc_dataset_create_frames(&config, 11, &frames);
  if (status == DLSC_OK)
    status = dlsc_dataset_add_signal_pair(frames, stft, noisy, clean, SIGNAL);
  if (status == DLSC_OK)
    status = set_training(model, DLSC_LOSS_MASK_MSE, 16);
  for (int epoch = 0; epoch < 3 && status == DLSC_OK; epoch++)
    status = dlsc_model_train_epoch(model, frames, NULL);
  if (status == DLSC_OK)
    status = dlsc_denoise(model, stft, noisy, SIGNAL, j->denoised);
  if (status == DLSC_OK)
    status = dlsc_stream_create(model, &stream);
  for (size_t at = 0; at < SIGNAL && status == DLSC_OK; at += CHUNK)
    status = dlsc_stream_process(stream, noisy + at, DLSC_MIN(CHUNK, SIGNAL - at),
                                 j->streamed + at);
  j->denoiser = saved(model, &j->denoiser_size, &status);
  dlsc_stream_destroy(stream);
  dlsc_dataset_destroy(frames);
  dlsc_stft_destroy(stft);
  dlsc_model_destroy(model);
  return status;
}

/* Trains a small classifier three epochs with augmentation, then classifies the images. */
static dlsc_status classify_work(job *j) {
  float pixels[IMAGES * 3 * 8 * 8];
  int32_t labels[IMAGES];
  fill_uniform(pixels, sizeof pixels / sizeof *pixels, 0.0f, 1.0f, 5);
  for (size_t i = 0; i < IMAGES; i++) {
    labels[i] = (int32_t)(i % 3);
    for (size_t p = 0; p < 64; p++) /* class c brightens channel c */
      pixels[i * 192 + (size_t)labels[i] * 64 + p] += 0.5f;
  }
  dlsc_images_config config;
  dlsc_images_config_init(&config);
  config.height = config.width = 8;
  config.n_classes = 3;
  dlsc_augment_config augment;
  dlsc_augment_config_init(&augment);
  augment.brightness = 0.1f;
  augment.horizontal_flip = DLSC_FLIP_RANDOM;
  augment.crop_padding = 1;
  dlsc_model_t *model = NULL;
  dlsc_dataset_t *images = NULL;
  dlsc_status status = dlsc_model_create_from_spec(classifier_spec, 9, &model);
  if (status == DLSC_OK)
    status = dlsc_dataset_create_images(&config, 13, &images);
  if (status == DLSC_OK)
    status = dlsc_dataset_add_images_f32(images, pixels, labels, IMAGES);
  if (status == DLSC_OK)
    status = dlsc_dataset_set_augment(images, &augment);
  if (status == DLSC_OK)
    status = set_training(model, DLSC_LOSS_CROSS_ENTROPY, 8);
  for (int epoch = 0; epoch < 3 && status == DLSC_OK; epoch++)
    status = dlsc_model_train_epoch(model, images, NULL);
  if (status == DLSC_OK)
    status = dlsc_model_classify(model, pixels, IMAGES, j->labels, NULL);
  j->classifier = saved(model, &j->classifier_size, &status);
  dlsc_dataset_destroy(images);
  dlsc_model_destroy(model);
  return status;
}

/* 16 kHz to 48 kHz in chunks, then the flush. */
static dlsc_status resample_work(job *j, const float *noisy) {
  dlsc_resampler_t *resampler = NULL;
  size_t capacity = 3 * SIGNAL + 256, got = 0;
  dlsc_status status = dlsc_resampler_create(16000, 48000, &resampler);
  j->n_resampled = 0;
  for (size_t at = 0; at < SIGNAL && status == DLSC_OK; at += CHUNK) {
    status = dlsc_resampler_process(resampler, noisy + at, DLSC_MIN(CHUNK, SIGNAL - at),
                                    j->resampled + j->n_resampled, capacity - j->n_resampled,
                                    &got);
    j->n_resampled += status == DLSC_OK ? got : 0;
  }
  if (status == DLSC_OK)
    status = dlsc_resampler_flush(resampler, j->resampled + j->n_resampled,
                                  capacity - j->n_resampled, &got);
  j->n_resampled += status == DLSC_OK ? got : 0;
  dlsc_resampler_destroy(resampler);
  return status;
}

static void *run_job(void *argument) {
  job *j = argument;
  float clean[SIGNAL], noisy[SIGNAL];
  signals(clean, noisy);
  j->denoised = malloc(SIGNAL * sizeof *j->denoised);
  j->streamed = malloc(SIGNAL * sizeof *j->streamed);
  j->resampled = malloc((3 * SIGNAL + 256) * sizeof *j->resampled);
  j->status = j->denoised && j->streamed && j->resampled ? DLSC_OK : DLSC_ERR_OUT_OF_MEMORY;
  if (j->status == DLSC_OK)
    j->status = denoise_work(j, clean, noisy);
  if (j->status == DLSC_OK)
    j->status = classify_work(j);
  if (j->status == DLSC_OK)
    j->status = resample_work(j, noisy);
  return NULL;
}

static void job_free(job *j) {
  free(j->denoised);
  free(j->streamed);
  free(j->resampled);
  free(j->denoiser);
  free(j->classifier);
}

static void assert_same_job(const job *a, const job *b) {
  ck_assert_ok(b->status);
  ck_assert_mem_eq(b->denoised, a->denoised, SIGNAL * sizeof *a->denoised);
  ck_assert_mem_eq(b->streamed, a->streamed, SIGNAL * sizeof *a->streamed);
  ck_assert_uint_eq(b->n_resampled, a->n_resampled);
  ck_assert_mem_eq(b->resampled, a->resampled, a->n_resampled * sizeof *a->resampled);
  ck_assert_uint_eq(b->denoiser_size, a->denoiser_size);
  ck_assert_mem_eq(b->denoiser, a->denoiser, a->denoiser_size);
  ck_assert_uint_eq(b->classifier_size, a->classifier_size);
  ck_assert_mem_eq(b->classifier, a->classifier, a->classifier_size);
  ck_assert_mem_eq(b->labels, a->labels, sizeof a->labels);
}

/* The untrained denoiser every job starts from, as bytes. */
static unsigned char *initial_denoiser(size_t *size) {
  dlsc_model_t *model = from_spec(denoiser_spec, 3);
  dlsc_denoise_config config;
  dlsc_denoise_config_init(&config);
  config.n_fft = N_FFT;
  config.hop_length = HOP;
  config.context_before = config.context_after = 1;
  ck_assert_ok(dlsc_model_set_denoise(model, &config));
  unsigned char *bytes = model_bytes(model, size);
  dlsc_model_destroy(model);
  return bytes;
}

START_TEST(threads_on_their_own_handles_repeat_the_serial_run) {
  size_t size;
  unsigned char *initial = initial_denoiser(&size);
  job reference = {.initial = initial, .initial_size = size}, jobs[THREADS];
  run_job(&reference);
  ck_assert_ok(reference.status);
  /* The work is real: the denoiser lowers the noise, the classifier learns. */
  float clean[SIGNAL], noisy[SIGNAL];
  signals(clean, noisy);
  double before, after;
  ck_assert_ok(dlsc_snr(clean, noisy, SIGNAL, &before));
  ck_assert_ok(dlsc_snr(clean, reference.denoised, SIGNAL, &after));
  ck_assert_double_gt(after, before);
  size_t right = 0;
  for (size_t i = 0; i < IMAGES; i++)
    right += reference.labels[i] == (int32_t)(i % 3);
  ck_assert_uint_gt(right, IMAGES / 2);
  pthread_t threads[THREADS];
  for (int t = 0; t < THREADS; t++) {
    jobs[t] = (job){.initial = initial, .initial_size = size};
    ck_assert_int_eq(pthread_create(&threads[t], NULL, run_job, &jobs[t]), 0);
  }
  for (int t = 0; t < THREADS; t++)
    ck_assert_int_eq(pthread_join(threads[t], NULL), 0);
  for (int t = 0; t < THREADS; t++) {
    assert_same_job(&reference, &jobs[t]);
    job_free(&jobs[t]);
  }
  job_free(&reference);
  free(initial);
}
END_TEST

/* Readers of one trained model and its dataset, through the const functions only. */
typedef struct reader {
  const dlsc_model_t *model;
  const dlsc_dataset_t *dataset;
  const float *noisy;
  dlsc_status status;
  unsigned char *bytes, *state;
  size_t size, state_size, spec_length, memory;
  uint64_t products;
  char spec[512], metadata[64];
  float *streamed, *predicted, *values;
  size_t n_values;
} reader;

static void *read_model(void *argument) {
  reader *r = argument;
  dlsc_status status = DLSC_OK;
  dlsc_model_t *copy = NULL;
  dlsc_stream_t *stream = NULL;
  dlsc_model_info info;
  r->bytes = saved(r->model, &r->size, &status);
  if (status == DLSC_OK)
    status = dlsc_model_describe(r->model, r->spec, sizeof r->spec, &r->spec_length);
  if (status == DLSC_OK)
    status = dlsc_model_get_metadata(r->model, "note", r->metadata, sizeof r->metadata, NULL);
  if (status == DLSC_OK)
    status = dlsc_model_get_info(r->model, &info);
  if (status == DLSC_OK)
    status = dlsc_model_memory(r->model, 16, 1, &r->memory);
  if (status == DLSC_OK)
    status = dlsc_model_multiply_adds(r->model, &r->products);
  if (status == DLSC_OK)
    status = dlsc_model_get_values(r->model, 3, NULL, 0, &r->n_values);
  if (status == DLSC_OK && !(r->values = malloc(r->n_values * sizeof *r->values)))
    status = DLSC_ERR_OUT_OF_MEMORY;
  if (status == DLSC_OK)
    status = dlsc_model_get_values(r->model, 3, r->values, r->n_values, &r->n_values);
  if (status == DLSC_OK)
    status = dlsc_training_state_save(r->model, r->dataset, NULL, 0, &r->state_size);
  if (status == DLSC_OK && !(r->state = malloc(r->state_size)))
    status = DLSC_ERR_OUT_OF_MEMORY;
  if (status == DLSC_OK)
    status = dlsc_training_state_save(r->model, r->dataset, r->state, r->state_size,
                                      &r->state_size);
  r->streamed = malloc(SIGNAL * sizeof *r->streamed);
  r->predicted = malloc(10 * BINS * sizeof *r->predicted);
  if (status == DLSC_OK && (!r->streamed || !r->predicted))
    status = DLSC_ERR_OUT_OF_MEMORY;
  if (status == DLSC_OK)
    status = dlsc_stream_create(r->model, &stream);
  for (size_t at = 0; at < SIGNAL && status == DLSC_OK; at += CHUNK)
    status = dlsc_stream_process(stream, r->noisy + at, DLSC_MIN(CHUNK, SIGNAL - at),
                                 r->streamed + at);
  if (status == DLSC_OK)
    status = dlsc_model_clone(r->model, &copy);
  if (status == DLSC_OK) /* ten inputs of 3 x 33 floats: the signal's samples will do */
    status = dlsc_model_predict(copy, r->noisy, 10, r->predicted);
  dlsc_stream_destroy(stream);
  dlsc_model_destroy(copy);
  r->status = status;
  return NULL;
}

static void reader_free(reader *r) {
  free(r->bytes);
  free(r->state);
  free(r->streamed);
  free(r->predicted);
  free(r->values);
}

START_TEST(threads_share_a_const_model_and_dataset) {
  size_t size;
  unsigned char *initial = initial_denoiser(&size);
  float clean[SIGNAL], noisy[SIGNAL];
  signals(clean, noisy);
  dlsc_model_t *model;
  dlsc_stft_t *stft;
  dlsc_dataset_t *frames;
  dlsc_frames_config config;
  dlsc_frames_config_init(&config);
  config.n_bins = BINS;
  config.context_before = config.context_after = 1;
  ck_assert_ok(dlsc_model_load(initial, size, &model));
  ck_assert_ok(dlsc_model_set_metadata(model, "note", "shared"));
  ck_assert_ok(dlsc_stft_create_for_model(model, &stft));
  ck_assert_ok(dlsc_dataset_create_frames(&config, 11, &frames));
  ck_assert_ok(dlsc_dataset_add_signal_pair(frames, stft, noisy, clean, SIGNAL));
  ck_assert_ok(set_training(model, DLSC_LOSS_MSE, 16));
  ck_assert_ok(dlsc_model_train_epoch(model, frames, NULL));
  reader reference = {.model = model, .dataset = frames, .noisy = noisy}, readers[THREADS];
  read_model(&reference);
  ck_assert_ok(reference.status);
  ck_assert_str_eq(reference.metadata, "shared");
  pthread_t threads[THREADS];
  for (int t = 0; t < THREADS; t++) {
    readers[t] = (reader){.model = model, .dataset = frames, .noisy = noisy};
    ck_assert_int_eq(pthread_create(&threads[t], NULL, read_model, &readers[t]), 0);
  }
  for (int t = 0; t < THREADS; t++)
    ck_assert_int_eq(pthread_join(threads[t], NULL), 0);
  for (int t = 0; t < THREADS; t++) {
    reader *r = &readers[t];
    ck_assert_ok(r->status);
    ck_assert_uint_eq(r->size, reference.size);
    ck_assert_mem_eq(r->bytes, reference.bytes, reference.size);
    ck_assert_uint_eq(r->state_size, reference.state_size);
    ck_assert_mem_eq(r->state, reference.state, reference.state_size);
    ck_assert_str_eq(r->spec, reference.spec);
    ck_assert_str_eq(r->metadata, reference.metadata);
    ck_assert_uint_eq(r->memory, reference.memory);
    ck_assert_uint_eq(r->products, reference.products);
    ck_assert_uint_eq(r->n_values, reference.n_values);
    ck_assert_mem_eq(r->values, reference.values, reference.n_values * sizeof *r->values);
    ck_assert_mem_eq(r->streamed, reference.streamed, SIGNAL * sizeof *r->streamed);
    ck_assert_mem_eq(r->predicted, reference.predicted, 10 * BINS * sizeof *r->predicted);
    reader_free(r);
  }
  /* The readers left the model as it was. */
  assert_model_unchanged(model, reference.bytes, reference.size);
  reader_free(&reference);
  dlsc_dataset_destroy(frames);
  dlsc_stft_destroy(stft);
  dlsc_model_destroy(model);
  free(initial);
}
END_TEST

/* Spec strings parsed on several threads at once, each its own, many times over: every
 * parse must give the serial verdict and model. (The parser once cut items with strtok,
 * whose hidden position is shared by all threads: a thread went on tokenising another
 * thread's item. TSan saw it in the test above, once in many runs; this loop makes the
 * interleaving likely enough that a plain build fails too.) */
#define SPEC_ROUNDS 3000

static const char *const thread_specs[THREADS] = {
    "input 2x9x11; conv2d 3 3x5 stride=1x2 pad=0x2 bias=0; relu; conv2d 2 3x3 pad=same; dense 7",
    "input 1x3x33; log eps=0.001; batchnorm; dense 33 bias=0; sigmoid",
    "input 3x8x8; conv2d 4 3x3 pad=1; gelu; avgpool 2; dropout 0.25; gap; dense 5",
    "input 1x1x40; conv1d 3 5 stride=2 pad=2; softplus; maxpool 1x2; dense 9; tanh"};

typedef struct spec_job {
  const char *spec, *expected; /* expected: the serial description */
  size_t failures;
} spec_job;

static char *described(const char *spec) {
  dlsc_model_t *model;
  if (dlsc_model_create_from_spec(spec, 1, &model) != DLSC_OK)
    return NULL;
  size_t length;
  char *text = NULL;
  if (dlsc_model_describe(model, NULL, 0, &length) == DLSC_OK && (text = malloc(length + 1)) &&
      dlsc_model_describe(model, text, length + 1, &length) != DLSC_OK) {
    free(text);
    text = NULL;
  }
  dlsc_model_destroy(model);
  return text;
}

static void *parse_specs(void *argument) {
  spec_job *work = argument;
  for (size_t round = 0; round < SPEC_ROUNDS; round++) {
    dlsc_status verdict = DLSC_ERR_BAD_FORMAT;
    size_t offset, length;
    if (dlsc_model_check_spec(work->spec, &verdict, &offset, &length) != DLSC_OK ||
        verdict != DLSC_OK)
      work->failures++;
    if (round % 100 == 0) {
      char *text = described(work->spec);
      if (!text || strcmp(text, work->expected) != 0)
        work->failures++;
      free(text);
    }
  }
  return NULL;
}

START_TEST(threads_parse_specs_at_once) {
  spec_job jobs[THREADS];
  pthread_t threads[THREADS];
  for (int t = 0; t < THREADS; t++) {
    char *expected = described(thread_specs[t]);
    ck_assert_msg(expected != NULL, "%s", thread_specs[t]);
    jobs[t] = (spec_job){thread_specs[t], expected, 0};
  }
  for (int t = 0; t < THREADS; t++)
    ck_assert_int_eq(pthread_create(&threads[t], NULL, parse_specs, &jobs[t]), 0);
  for (int t = 0; t < THREADS; t++)
    ck_assert_int_eq(pthread_join(threads[t], NULL), 0);
  for (int t = 0; t < THREADS; t++) {
    ck_assert_msg(jobs[t].failures == 0, "%s: %zu of %d parses wrong", jobs[t].spec,
                  jobs[t].failures, SPEC_ROUNDS + SPEC_ROUNDS / 100);
    free((char *)jobs[t].expected);
  }
}
END_TEST

int main(void) {
  Suite *suite = suite_create("threads");
  TCase *tc = tcase_create("threads");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, threads_on_their_own_handles_repeat_the_serial_run);
  tcase_add_test(tc, threads_share_a_const_model_and_dataset);
  tcase_add_test(tc, threads_parse_specs_at_once);
  suite_add_tcase(suite, tc);
  return run_suite(suite);
}
