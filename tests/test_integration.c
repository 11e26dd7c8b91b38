/* Integration tests on the real data of ../shared/data (or $DLSC_DATA): the published
 * reference figures reproduce, short trainings learn, and the stream agrees with the
 * whole-signal call on real speech. Exits 77 (skipped) when the data is absent. */
#include "common.h"

#include <sndfile.h>
#include <sys/stat.h>
#include <unistd.h>

static char data_dir[4096];

static float *read_wav(const char *name, size_t *n) {
  char path[4300];
  snprintf(path, sizeof path, "%s/speech/course/%s", data_dir, name);
  SF_INFO info = {0};
  SNDFILE *file = sf_open(path, SFM_READ, &info);
  ck_assert_msg(file != NULL, "cannot open %s", path);
  ck_assert_int_eq(info.channels, 1);
  ck_assert_int_eq(info.samplerate, 16000);
  float *samples = malloc((size_t)info.frames * sizeof *samples);
  *n = (size_t)sf_readf_float(file, samples, info.frames);
  sf_close(file);
  return samples;
}

/* The data README's protocol: the tail is the last 15 %, cut at a multiple of 512. */
typedef struct course {
  float *clean, *noisy;
  size_t n, cut;
} course;

static course load_course(void) {
  course c;
  size_t n_noisy;
  c.clean = read_wav("train_clean_male.wav", &c.n);
  c.noisy = read_wav("train_dirty_male.wav", &n_noisy);
  ck_assert_uint_eq(c.n, 1258899);
  ck_assert_uint_eq(n_noisy, c.n);
  c.cut = (size_t)(0.85 * (double)c.n / 512.0) * 512;
  return c;
}

static dlsc_stft_t *default_stft(void) {
  dlsc_stft_config config;
  dlsc_stft_config_init(&config);
  dlsc_stft_t *stft;
  ck_assert_ok(dlsc_stft_create(&config, &stft));
  return stft;
}

/* 3.28 dB noisy and 16.99 dB for the clean magnitude with the noisy phase, as the
 * data README gives them: our framing and window match the reference. */
START_TEST(course_reference_figures_reproduce) {
  course c = load_course();
  dlsc_stft_t *stft = default_stft();
  size_t n = c.n - c.cut, frames;
  const float *clean = c.clean + c.cut, *noisy = c.noisy + c.cut;
  ck_assert_ok(dlsc_stft_n_frames(stft, n, &frames));
  float *magnitude = malloc(frames * 513 * sizeof(float)), *phase = malloc(frames * 513 * sizeof(float));
  float *clean_magnitude = malloc(frames * 513 * sizeof(float)), *out = malloc(n * sizeof(float));
  ck_assert_ok(dlsc_stft_forward(stft, noisy, n, magnitude, phase, frames));
  ck_assert_ok(dlsc_stft_forward(stft, clean, n, clean_magnitude, NULL, frames));
  ck_assert_ok(dlsc_stft_inverse(stft, clean_magnitude, phase, frames, out, n));
  double noisy_snr, oracle_snr;
  ck_assert_ok(dlsc_snr(clean, noisy, n, &noisy_snr));
  ck_assert_ok(dlsc_snr(clean, out, n, &oracle_snr));
  ck_assert_double_eq_tol(noisy_snr, 3.28, 0.005);
  ck_assert_double_eq_tol(oracle_snr, 16.99, 0.005);
  free(magnitude);
  free(phase);
  free(clean_magnitude);
  free(out);
  free(c.clean);
  free(c.noisy);
  dlsc_stft_destroy(stft);
}
END_TEST

/* A small mask model trained for a few epochs on the training part clearly beats the
 * noisy input on the tail, and streaming gives the same result. */
START_TEST(short_denoiser_training_improves_the_tail) {
  course c = load_course();
  dlsc_stft_t *stft = default_stft();
  dlsc_model_t *model;
  ck_assert_ok(dlsc_model_create_from_spec(
      "input 1x3x513; log; batchnorm; dense 256; relu; dense 513; sigmoid", 1, &model));
  dlsc_denoise_config denoise;
  dlsc_denoise_config_init(&denoise);
  denoise.context_before = 1;
  denoise.context_after = 1;
  ck_assert_ok(dlsc_model_set_denoise(model, &denoise));
  dlsc_train_config train;
  dlsc_train_config_init(&train);
  train.loss = DLSC_LOSS_MASK_MSE;
  train.batch_size = 64;
  ck_assert_ok(dlsc_model_set_training(model, &train));
  dlsc_frames_config frames;
  dlsc_frames_config_init(&frames);
  frames.context_before = frames.context_after = 1;
  frames.target = DLSC_TARGET_PHASE_SENSITIVE;
  dlsc_dataset_t *data;
  ck_assert_ok(dlsc_dataset_create_frames(&frames, 1, &data));
  ck_assert_ok(dlsc_dataset_add_signal_pair(data, stft, c.noisy, c.clean, c.cut));
  for (int epoch = 0; epoch < 8; epoch++)
    ck_assert_ok(dlsc_model_train_epoch(model, data, NULL));
  size_t n = c.n - c.cut;
  float *whole = malloc(n * sizeof *whole);
  ck_assert_ok(dlsc_denoise(model, stft, c.noisy + c.cut, n, whole));
  double snr;
  ck_assert_ok(dlsc_snr(c.clean + c.cut, whole, n, &snr));
  ck_assert_msg(snr > 7.0, "tail SNR %.2f dB after a short training (noisy: 3.28 dB)", snr);
  dlsc_stream_t *stream;
  size_t latency;
  ck_assert_ok(dlsc_stream_create(model, &stream));
  ck_assert_ok(dlsc_stream_latency(stream, &latency));
  float *streamed = malloc((n + latency) * sizeof *streamed);
  for (size_t done = 0; done < n; done += 160) /* 10 ms chunks */
    ck_assert_ok(dlsc_stream_process(stream, c.noisy + c.cut + done, (n - done < 160 ? n - done : 160),
                                     streamed + done));
  ck_assert_ok(dlsc_stream_flush(stream, streamed + n));
  ck_assert_double_le(max_abs_diff(streamed + latency, whole, n), 1e-6);
  free(whole);
  free(streamed);
  free(c.clean);
  free(c.noisy);
  dlsc_stream_destroy(stream);
  dlsc_dataset_destroy(data);
  dlsc_model_destroy(model);
  dlsc_stft_destroy(stft);
}
END_TEST

/* A file of the data folder, whole, as floats; *n its length. */
static float *read_flac(const char *name, size_t *n) {
  char path[4300];
  snprintf(path, sizeof path, "%s/speech/%s", data_dir, name);
  SF_INFO info = {0};
  SNDFILE *file = sf_open(path, SFM_READ, &info);
  ck_assert_msg(file != NULL, "cannot open %s", path);
  *n = (size_t)info.frames;
  float *samples = malloc(*n * sizeof *samples);
  ck_assert_uint_eq((size_t)sf_readf_float(file, samples, info.frames), *n);
  sf_close(file);
  return samples;
}

/* A dev speaker under a dev noise file (see dlsc-train-denoiser --general) at 0 dB. */
static float *dev_mixture(float **clean, size_t *n) {
  size_t n_noise;
  *clean = read_flac("clean/librispeech-train-clean-100/103-1240-0000.flac", n);
  float *noise = read_flac("noise/speech-commands/running_tap.flac", &n_noise);
  float *mix = malloc(*n * sizeof *mix);
  ck_assert_ok(dlsc_mix_at_snr(*clean, *n, noise, n_noise, 0, 0.0, mix));
  free(noise);
  return mix;
}

/* SNR of model's denoising of mix against clean (out: the denoised signal). */
static double denoised_snr(dlsc_model_t *model, const float *mix, const float *clean, size_t n,
                           float *out) {
  dlsc_stft_t *stft;
  ck_assert_ok(dlsc_stft_create_for_model(model, &stft));
  ck_assert_ok(dlsc_denoise(model, stft, mix, n, out));
  dlsc_stft_destroy(stft);
  double snr;
  ck_assert_ok(dlsc_snr(clean, out, n, &snr));
  return snr;
}

/* The shipped general model loads and improves a mixture of speech it never saw. */
START_TEST(shipped_model_denoises_unseen_speech) {
  dlsc_model_t *model;
  ck_assert_ok(dlsc_model_load_file(DLSC_SHIPPED_MODEL, &model));
  dlsc_stft_t *stft = default_stft();
  size_t n;
  float *clean, *mix = dev_mixture(&clean, &n), *out = malloc(n * sizeof *out);
  double snr = denoised_snr(model, mix, clean, n, out);
  /* Measured 3.86 dB with the shipped model (running tap is one of its hardest dev
   * noises; the dev average at 0 dB is 5.4 dB). */
  ck_assert_msg(snr > 3.0, "0 dB mixture denoised to only %.2f dB", snr);
  /* The same recording at 44.1 kHz, as dlsc-denoise takes it: the speech survives the
   * trip to 44.1 kHz and back (what it loses lies in and above the resampler's
   * transition band, 7.2-7.8 kHz at 16 kHz: measured 26.0 dB), and the mixture, resampled
   * to the model's rate, still denoises. */
  size_t n_high, n_back;
  ck_assert_ok(dlsc_resample(clean, n, 16000, 44100, NULL, 0, &n_high));
  float *high = malloc(n_high * sizeof *high);
  ck_assert_ok(dlsc_resample(clean, n, 16000, 44100, high, n_high, &n_high));
  ck_assert_ok(dlsc_resample(high, n_high, 44100, 16000, NULL, 0, &n_back));
  ck_assert(n_back == n || n_back == n + 1); /* ceil twice: one sample past the end */
  float *back = malloc(n_back * sizeof *back);
  ck_assert_ok(dlsc_resample(high, n_high, 44100, 16000, back, n_back, &n_back));
  double round_trip, snr_resampled;
  ck_assert_ok(dlsc_snr(clean, back, n, &round_trip));
  ck_assert_msg(round_trip > 20.0, "16 -> 44.1 -> 16 kHz changed the speech: %.2f dB", round_trip);
  ck_assert_ok(dlsc_resample(mix, n, 16000, 44100, high, n_high, &n_high));
  ck_assert_ok(dlsc_resample(high, n_high, 44100, 16000, back, n_back, &n_back));
  ck_assert_ok(dlsc_denoise(model, stft, back, n, out));
  ck_assert_ok(dlsc_snr(clean, out, n, &snr_resampled));
  ck_assert_msg(snr_resampled > 3.0, "resampled 0 dB mixture denoised to only %.2f dB",
                snr_resampled);
  printf("speech 16 -> 44.1 -> 16 kHz: %.1f dB SNR; the mixture so resampled denoised to "
         "%.2f dB (directly %.2f dB)\n", round_trip, snr_resampled, snr);
  /* With at most 12 dB taken off any bin a quarter of the noise's amplitude stays:
   * the SNR lies between the mixture's 0 dB and the unlimited output's (measured 2.97
   * against 3.86 dB; the dev set's mean at 0 dB input: 4.50 against 5.44 dB). */
  ck_assert_ok(dlsc_model_set_attenuation_limit(model, 12.0));
  double snr_limited = denoised_snr(model, mix, clean, n, out);
  ck_assert_msg(snr_limited > 2.0 && snr_limited < snr - 0.3, "12 dB limit: %.2f dB (none: %.2f)",
                snr_limited, snr);
  printf("with a 12 dB attenuation limit: %.2f dB\n", snr_limited);
  free(high);
  free(back);
  free(clean);
  free(mix);
  free(out);
  dlsc_stft_destroy(stft);
  dlsc_model_destroy(model);
}
END_TEST

/* The shipped low-latency model: a 512-point STFT at hop 256 without look-ahead, so a
 * stream answers 511 samples (32 ms) later; it improves the same mixture, whole and
 * streamed at 48 kHz (1,739 samples, 36 ms). */
START_TEST(low_latency_model_denoises_within_32_ms) {
  dlsc_model_t *model;
  ck_assert_ok(dlsc_model_load_file(DLSC_LOW_LATENCY_MODEL, &model));
  assert_denoiser(model, 512, 256, 0, 511);
  dlsc_stream_t *stream;
  size_t latency, n;
  float *clean, *mix = dev_mixture(&clean, &n), *out = malloc(n * sizeof *out);
  double snr = denoised_snr(model, mix, clean, n, out);
  /* measured 3.04 dB (the general model: 3.86 dB, with three times the latency) */
  ck_assert_msg(snr > 2.3, "0 dB mixture denoised to only %.2f dB", snr);
  /* streamed at 48 kHz, scored against the clean speech at 48 kHz: measured 5.52 dB
   * (higher than at 16 kHz: the resampler's band limit removes the tap's hiss above
   * 7.5 kHz from both signals, as in the general model's 44.1 kHz round trip above) */
  size_t n48, n_back;
  ck_assert_ok(dlsc_resample(mix, n, 16000, 48000, NULL, 0, &n48));
  float *mix48 = malloc(n48 * sizeof *mix48), *clean48 = malloc(n48 * sizeof *clean48);
  ck_assert_ok(dlsc_resample(mix, n, 16000, 48000, mix48, n48, &n48));
  ck_assert_ok(dlsc_resample(clean, n, 16000, 48000, clean48, n48, &n_back));
  ck_assert_ok(dlsc_stream_create_at_rate(model, 16000, 48000, &stream));
  ck_assert_ok(dlsc_stream_latency(stream, &latency));
  ck_assert_uint_eq(latency, 1739);
  float *out48 = malloc((n48 + latency) * sizeof *out48);
  for (size_t done = 0; done < n48; done += 480)
    ck_assert_ok(dlsc_stream_process(stream, mix48 + done, n48 - done < 480 ? n48 - done : 480,
                                     out48 + done));
  ck_assert_ok(dlsc_stream_flush(stream, out48 + n48));
  double snr48;
  ck_assert_ok(dlsc_snr(clean48, out48 + latency, n48, &snr48));
  ck_assert_msg(snr48 > 4.7, "at 48 kHz: only %.2f dB", snr48);
  printf("low-latency model: 0 dB mixture denoised to %.2f dB (streamed at 48 kHz: %.2f dB)\n",
         snr, snr48);
  free(mix48);
  free(clean48);
  free(out48);
  free(clean);
  free(mix);
  free(out);
  dlsc_stream_destroy(stream);
  dlsc_model_destroy(model);
}
END_TEST

/* Loads data_batch_1 and the test batch from a copy unpacked in the build folder. */
static uint8_t *read_cifar(const char *name, size_t *count) {
  char directory[4300], path[4400], command[13000];
  snprintf(directory, sizeof directory, "%s/cifar", DLSC_BUILD_DIR);
  snprintf(path, sizeof path, "%s/cifar-10-batches-bin/%s", directory, name);
  struct stat st;
  if (stat(path, &st) != 0) {
    snprintf(command, sizeof command, "mkdir -p '%s' && tar -xJf '%s/cifar-10-binary.tar.xz' -C '%s'",
             directory, data_dir, directory);
    ck_assert_int_eq(system(command), 0);
  }
  FILE *file = fopen(path, "rb");
  ck_assert_ptr_nonnull(file);
  fseek(file, 0, SEEK_END);
  long bytes = ftell(file);
  fseek(file, 0, SEEK_SET);
  ck_assert_int_eq(bytes % 3073, 0);
  uint8_t *records = malloc((size_t)bytes);
  ck_assert_uint_eq(fread(records, 1, (size_t)bytes, file), (size_t)bytes);
  fclose(file);
  *count = (size_t)bytes / 3073;
  return records;
}

static dlsc_dataset_t *cifar_dataset(const uint8_t *records, size_t first, size_t count) {
  dlsc_dataset_t *dataset = images_dataset(3, 32, 32, 10, 1);
  uint8_t *pixels = malloc(count * 3072);
  int32_t *labels = malloc(count * sizeof *labels);
  for (size_t i = 0; i < count; i++) {
    labels[i] = records[(first + i) * 3073];
    memcpy(pixels + i * 3072, records + (first + i) * 3073 + 1, 3072);
  }
  ck_assert_ok(dlsc_dataset_add_images_u8(dataset, pixels, labels, count));
  free(pixels);
  free(labels);
  return dataset;
}

/* The test set's channel means are the published ones; one epoch of the original tiny
 * CNN on 10,000 images is far above chance (10 %) on held-out images. */
START_TEST(cifar_loads_and_the_tiny_cnn_learns) {
  size_t n_train, n_test;
  uint8_t *train = read_cifar("data_batch_1.bin", &n_train);
  uint8_t *test = read_cifar("test_batch.bin", &n_test);
  ck_assert_uint_eq(n_train, 10000);
  ck_assert_uint_eq(n_test, 10000);
  double sum[3] = {0, 0, 0};
  for (size_t i = 0; i < n_test; i++)
    for (size_t p = 0; p < 3072; p++)
      sum[p / 1024] += test[i * 3073 + 1 + p];
  static const double published[3] = {0.49421, 0.48513, 0.45041};
  for (int c = 0; c < 3; c++)
    ck_assert_double_eq_tol(sum[c] / ((double)n_test * 1024.0 * 255.0), published[c], 5e-5);
  dlsc_model_t *model;
  ck_assert_ok(dlsc_model_create_from_spec(
      "input 3x32x32; conv2d 10 5x5; relu; maxpool 2; conv2d 10 5x5; relu; maxpool 2; dense 20; "
      "relu; dense 10", 1, &model));
  dlsc_train_config train_config;
  dlsc_train_config_init(&train_config);
  train_config.loss = DLSC_LOSS_CROSS_ENTROPY;
  train_config.batch_size = 32;
  ck_assert_ok(dlsc_model_set_training(model, &train_config));
  dlsc_dataset_t *train_set = cifar_dataset(train, 0, n_train);
  dlsc_dataset_t *test_set = cifar_dataset(test, 0, 2000);
  dlsc_train_stats stats;
  ck_assert_ok(dlsc_model_train_epoch(model, train_set, &stats));
  dlsc_eval_stats eval;
  size_t confusion[100], total = 0;
  ck_assert_ok(dlsc_model_evaluate(model, test_set, &eval, confusion));
  ck_assert_msg(eval.accuracy > 0.28, "accuracy %.3f after one epoch", eval.accuracy);
  for (int i = 0; i < 100; i++)
    total += confusion[i];
  ck_assert_uint_eq(total, 2000);
  free(train);
  free(test);
  dlsc_dataset_destroy(train_set);
  dlsc_dataset_destroy(test_set);
  dlsc_model_destroy(model);
}
END_TEST

int main(void) {
  const char *env = getenv("DLSC_DATA");
  snprintf(data_dir, sizeof data_dir, "%s",
           env && *env ? env : getenv("DLSC_DATA_DEFAULT") ? getenv("DLSC_DATA_DEFAULT") : "");
  struct stat st;
  char probe[4200];
  snprintf(probe, sizeof probe, "%s/speech/course/train_clean_male.wav", data_dir);
  if (stat(probe, &st) != 0) {
    fprintf(stderr, "no data at '%s' (set DLSC_DATA): skipped\n", data_dir);
    return 77; /* meson's "skipped" */
  }
  Suite *suite = suite_create("integration");
  TCase *tc = tcase_create("real data");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, course_reference_figures_reproduce);
  tcase_add_test(tc, short_denoiser_training_improves_the_tail);
  tcase_add_test(tc, shipped_model_denoises_unseen_speech);
  tcase_add_test(tc, low_latency_model_denoises_within_32_ms);
  tcase_add_test(tc, cifar_loads_and_the_tiny_cnn_learns);
  suite_add_tcase(suite, tc);
  return run_suite(suite);
}
