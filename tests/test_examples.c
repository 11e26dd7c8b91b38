/* The example programs as a user runs them, on synthesised recordings and images (no
 * data needed): dlsc-denoise keeps a file's sample rate and length and refuses what it
 * cannot take; dlsc-train-denoiser trains on a caller's own pair and takes its context
 * window from a spec; the CIFAR programs refuse truncated and corrupted batches with a
 * message; dlsc-classify classifies PPM, PGM and PNG images and CIFAR records and
 * refuses the rest. Three tests need the real CIFAR-10 archive (skipped without it):
 * dlsc-cifar-train stopped at Ctrl-C and resumed from its checkpoint,
 * dlsc-cifar-transfer through every stage, and dlsc-cifar-train with the experiments'
 * options; one the course recordings: dlsc-train-denoiser --course --listen. */
#include "common.h"

#include <dirent.h>
#ifdef HAVE_PNG
#include <png.h>
#endif
#include <signal.h>
#include <sndfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char work[4096];

static void path_of(char *path, size_t size, const char *name) {
  snprintf(path, size, "%s/%s", work, name);
}

static void write_audio(const char *name, const float *samples, size_t frames, int channels,
                        int rate) {
  char path[4400];
  path_of(path, sizeof path, name);
  SF_INFO info = {.samplerate = rate, .channels = channels,
                  .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
  SNDFILE *file = sf_open(path, SFM_WRITE, &info);
  ck_assert_msg(file != NULL, "cannot write %s", path);
  ck_assert_int_eq(sf_writef_float(file, samples, (sf_count_t)frames), (sf_count_t)frames);
  sf_close(file);
}

/* A file's samples, interleaved, with its frame count, rate and channels. */
static float *read_audio_channels(const char *name, size_t *frames, int *rate, int *channels) {
  char path[4400];
  path_of(path, sizeof path, name);
  SF_INFO info = {0};
  SNDFILE *file = sf_open(path, SFM_READ, &info);
  ck_assert_msg(file != NULL, "cannot read %s", path);
  float *samples = malloc((size_t)info.frames * (size_t)info.channels * sizeof *samples);
  *frames = (size_t)sf_readf_float(file, samples, info.frames);
  *rate = info.samplerate;
  *channels = info.channels;
  sf_close(file);
  return samples;
}

static float *read_audio_file(const char *name, size_t *frames, int *rate) {
  int channels;
  float *samples = read_audio_channels(name, frames, rate, &channels);
  ck_assert_int_eq(channels, 1);
  return samples;
}

static void write_bytes(const char *name, const void *bytes, size_t size) {
  char path[4400];
  path_of(path, sizeof path, name);
  FILE *file = fopen(path, "wb");
  ck_assert_msg(file != NULL, "cannot write %s", path);
  ck_assert_uint_eq(fwrite(bytes, 1, size, file), size);
  fclose(file);
}

/* How many entries folder NAME (in work) holds besides ".", ".." and except (NULL: none). */
static size_t entries_in(const char *name, const char *except) {
  char path[4400];
  path_of(path, sizeof path, name);
  DIR *dir = opendir(path);
  ck_assert_ptr_nonnull(dir);
  size_t count = 0;
  for (struct dirent *entry; (entry = readdir(dir));)
    count += strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..") &&
             (!except || strcmp(entry->d_name, except));
  closedir(dir);
  return count;
}

/* What the last run of PROGRAM printed right after TEXT; NULL if it did not print TEXT.
 * Valid until the next call. */
static const char *log_after(const char *program, const char *text) {
  static char *log; /* the whole log: dlsc-classify prints a line per record */
  char path[4400];
  snprintf(path, sizeof path, "%s/%s.log", work, program);
  FILE *file = fopen(path, "r");
  ck_assert_msg(file != NULL, "no log %s", path);
  ck_assert_int_eq(fseek(file, 0, SEEK_END), 0);
  long size = ftell(file);
  ck_assert_int_ge(size, 0);
  rewind(file);
  free(log);
  log = malloc((size_t)size + 1);
  ck_assert_ptr_nonnull(log);
  size_t n = fread(log, 1, (size_t)size, file);
  log[n] = 0;
  fclose(file);
  const char *at = strstr(log, text);
  return at ? at + strlen(text) : NULL;
}

static int printed(const char *program, const char *text) {
  return log_after(program, text) != NULL;
}

/* Runs an example program with arguments, output into work/NAME.log; its exit status. */
static int run(const char *program, const char *arguments) {
  char command[13000];
  snprintf(command, sizeof command, "cd '%s' && '%s/%s' %s > '%s.log' 2>&1", work,
           DLSC_EXAMPLES_DIR, program, arguments, program);
  int status = system(command);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs PROGRAM once per case, with arguments before + case[0] + after, and expects exit
 * status and the message case[1] in what it printed. */
static void refused_with(const char *program, const char *before, const char *after,
                         const char *const cases[][2], size_t count, int status) {
  for (size_t i = 0; i < count; i++) {
    char arguments[1024];
    snprintf(arguments, sizeof arguments, "%s%s%s", before, cases[i][0], after);
    ck_assert_msg(run(program, arguments) == status, "%s %s: not status %d", program,
                  arguments, status);
    ck_assert_msg(printed(program, cases[i][1]), "%s %s: no \"%s\"", program, arguments,
                  cases[i][1]);
  }
}

/* Whether two saved models hold the same values in layer index (same count, same bits). */
static int same_weights(const char *name_a, const char *name_b, size_t index) {
  const char *names[2] = {name_a, name_b};
  float *values[2];
  size_t counts[2];
  for (int i = 0; i < 2; i++) {
    char path[4400];
    dlsc_model_t *model;
    path_of(path, sizeof path, names[i]);
    ck_assert_ok(dlsc_model_load_file(path, &model));
    ck_assert_ok(dlsc_model_get_values(model, index, NULL, 0, &counts[i]));
    values[i] = malloc(counts[i] * sizeof(float));
    ck_assert_ptr_nonnull(values[i]);
    ck_assert_ok(dlsc_model_get_values(model, index, values[i], counts[i], &counts[i]));
    dlsc_model_destroy(model);
  }
  int same = counts[0] == counts[1] && !memcmp(values[0], values[1], counts[0] * sizeof(float));
  free(values[0]);
  free(values[1]);
  return same;
}

/* The settings a trainer's checkpoint NAME.dlsc recorded (dlsc.checkpoint_settings),
 * against expected: every one of them, one "name=value" a line. */
static void assert_checkpoint_settings(const char *name, const char *expected) {
  char path[4400], value[4096];
  dlsc_model_t *model;
  path_of(path, sizeof path, name);
  ck_assert_ok(dlsc_model_load_file(path, &model));
  ck_assert_ok(dlsc_model_get_metadata(model, "dlsc.checkpoint_settings", value, sizeof value,
                                       NULL));
  dlsc_model_destroy(model);
  ck_assert_str_eq(value, expected);
}

/* A model saved by a trainer records the BLAS it ran on (dlsc.blas), this process's. */
static void assert_blas_recorded(const char *name) {
  char path[4400], value[512];
  const char *config, *better;
  dlsc_model_t *model;
  path_of(path, sizeof path, name);
  ck_assert_ok(dlsc_model_load_file(path, &model));
  ck_assert_ok(dlsc_model_get_metadata(model, "dlsc.blas", value, sizeof value, NULL));
  ck_assert_ok(dlsc_blas_info(&config, &better));
  ck_assert_str_eq(value, config);
  dlsc_model_destroy(model);
}

/* Speech-like test signal: a few harmonics with a slow vibrato, plus noise. */
static void synthesise(float *clean, float *noisy, size_t n, int rate, uint64_t seed) {
  for (size_t i = 0; i < n; i++) {
    double t = (double)i / rate, f0 = 150.0 + 20.0 * sin(2.0 * M_PI * 3.0 * t), s = 0.0;
    for (int h = 1; h <= 5; h++)
      s += sin(2.0 * M_PI * f0 * h * t) / h;
    clean[i] = (float)(0.2 * s * (0.6 + 0.4 * sin(2.0 * M_PI * 0.7 * t)));
    noisy[i] = clean[i] + 0.1f * ((float)(test_random(&seed) % 2001) / 1000.0f - 1.0f);
  }
}

START_TEST(denoise_keeps_the_rate_and_length_of_any_file) {
  enum { N = 66150 }; /* 1.5 s at 44.1 kHz */
  float *clean = malloc(N * sizeof *clean), *noisy = malloc(N * sizeof *noisy);
  synthesise(clean, noisy, N, 44100, 1);
  write_audio("noisy44k.wav", noisy, N, 1, 44100);
  ck_assert_int_eq(run("dlsc-denoise", "--model '" DLSC_SHIPPED_MODEL "' --removed removed44k.wav "
                                       "noisy44k.wav out44k.wav"),
                   0);
  size_t frames;
  int rate;
  float *out = read_audio_file("out44k.wav", &frames, &rate);
  ck_assert_int_eq(rate, 44100);
  ck_assert_uint_eq(frames, N);
  /* --removed: the input minus the output, at the input's rate (16-bit files: the sum
   * comes back within two steps, one per file's rounding, and one of the input's) */
  float *removed = read_audio_file("removed44k.wav", &frames, &rate);
  ck_assert_int_eq(rate, 44100);
  ck_assert_uint_eq(frames, N);
  double removed_energy = 0.0;
  for (size_t i = 0; i < frames; i++) {
    ck_assert_float_eq_tol(out[i] + removed[i], noisy[i], 3.0f / 32768.0f);
    removed_energy += (double)removed[i] * removed[i];
  }
  ck_assert_msg(removed_energy > 1.0, "nothing removed: energy %g", removed_energy);
  free(removed);
  ck_assert_int_eq(run("dlsc-denoise", "--model '" DLSC_SHIPPED_MODEL "' --removed no-such/r.wav "
                                       "noisy44k.wav out44k.wav"),
                   1);
  ck_assert(printed("dlsc-denoise", "cannot write no-such/r.wav: ")); /* and why: */
  ck_assert(printed("dlsc-denoise", "No such file or directory"));
  double energy = 0.0;
  for (size_t i = 0; i < frames; i++)
    energy += (double)out[i] * out[i];
  ck_assert_msg(energy > 1.0, "the output is (nearly) silent: energy %g", energy);
  /* and denoised at the file's own rate (measured 5.75 -> 6.45 dB: the shipped model
   * knows speech, not this buzz; real speech through 44.1 kHz is test_integration's) */
  double snr_in, snr_out;
  ck_assert_ok(dlsc_snr(clean, noisy, N, &snr_in));
  ck_assert_ok(dlsc_snr(clean, out, N, &snr_out));
  ck_assert_msg(snr_out > snr_in + 0.3, "44.1 kHz file: %.2f dB in, %.2f dB out", snr_in, snr_out);
  /* streaming, through streaming resamplers to 16 kHz and back, gives the same file
   * (16-bit samples: within one step) */
  ck_assert_int_eq(run("dlsc-denoise",
                       "--model '" DLSC_SHIPPED_MODEL "' --stream 333 noisy44k.wav stream.wav"),
                   0);
  float *streamed = read_audio_file("stream.wav", &frames, &rate);
  ck_assert_uint_eq(frames, N);
  for (size_t i = 0; i < frames; i++)
    ck_assert_float_eq_tol(streamed[i], out[i], 2.0f / 32768.0f);
  /* the low-latency model: its stream at 44.1 kHz answers in 36 ms (511 samples at 16
   * kHz and the resamplers' reach); it does not go with --model */
  ck_assert_int_eq(run("dlsc-denoise", "--low-latency --stream 441 noisy44k.wav low.wav"), 0);
  ck_assert(printed("dlsc-denoise", "latency 1598 samples (36.2 ms)"));
  ck_assert_int_eq(run("dlsc-denoise", "--low-latency --model '" DLSC_SHIPPED_MODEL
                                       "' noisy44k.wav low.wav"),
                   2);
  /* --attenuation-limit DB: at 16 kHz (no resampling) the output is l = 10^(-DB/20)
   * of the input plus 1 - l of the unlimited output, whole and streamed; 0 dB passes the
   * input through (16-bit files: within a few steps); bad values are usage errors */
  enum { N16 = 24000 };
  float *clean16 = malloc(N16 * sizeof *clean16), *noisy16 = malloc(N16 * sizeof *noisy16);
  synthesise(clean16, noisy16, N16, 16000, 2);
  write_audio("noisy16k.wav", noisy16, N16, 1, 16000);
  float *heard16 = read_audio_file("noisy16k.wav", &frames, &rate); /* as 16-bit samples */
  ck_assert_int_eq(run("dlsc-denoise", "--model '" DLSC_SHIPPED_MODEL "' noisy16k.wav free.wav"),
                   0);
  float *unlimited = read_audio_file("free.wav", &frames, &rate);
  ck_assert_uint_eq(frames, N16);
  static const char *const limited_runs[] = {
      "--attenuation-limit 12 noisy16k.wav lim.wav",
      "--attenuation-limit 12 --stream 160 noisy16k.wav lim.wav",
      "--attenuation-limit 0 noisy16k.wav lim.wav"};
  for (int i = 0; i < 3; i++) {
    char arguments[512];
    snprintf(arguments, sizeof arguments, "--model '%s' %s", DLSC_SHIPPED_MODEL, limited_runs[i]);
    ck_assert_int_eq(run("dlsc-denoise", arguments), 0);
    float *limited = read_audio_file("lim.wav", &frames, &rate);
    ck_assert_uint_eq(frames, N16);
    double l = i < 2 ? pow(10.0, -12.0 / 20.0) : 1.0, farthest = 0.0;
    for (size_t t = 0; t < N16; t++)
      farthest = max_or_nan(farthest, fabs(limited[t] - (l * heard16[t] + (1.0 - l) * unlimited[t])));
    ck_assert_msg(farthest <= 3.0 / 32768.0, "%s: %g steps off", limited_runs[i],
                  farthest * 32768.0);
    ck_assert_double_gt(max_abs_diff(limited, unlimited, N16), 0.02); /* the limit does act */
    free(limited);
  }
  ck_assert_int_eq(run("dlsc-denoise", "--attenuation-limit -3 noisy16k.wav lim.wav"), 2);
  ck_assert(printed("dlsc-denoise", "--attenuation-limit: '-3' is not a number from 0 to 1000"));
  ck_assert_int_eq(run("dlsc-denoise", "--attenuation-limit nan noisy16k.wav lim.wav"), 2);
  free(clean16);
  free(noisy16);
  free(heard16);
  free(unlimited);
  /* a chunk size that is not a positive whole number is a usage error (it meant a
   * whole-signal run, or a chunk of 2^64 - 5 samples) */
  char unwritten[4400];
  struct stat unwritten_st;
  path_of(unwritten, sizeof unwritten, "s0.wav");
  remove(unwritten);
  ck_assert_int_eq(run("dlsc-denoise", "--stream 0 noisy44k.wav s0.wav"), 2);
  ck_assert(printed("dlsc-denoise", "--stream: '0' is not a whole number from 1 to 1000000000"));
  ck_assert_int_eq(run("dlsc-denoise", "--stream -5 noisy44k.wav s0.wav"), 2);
  ck_assert_int_ne(stat(unwritten, &unwritten_st), 0);
  /* refused with a message, and no output written: stereo, an empty file */
  float *stereo = malloc(2 * 1000 * sizeof *stereo);
  for (int i = 0; i < 2000; i++)
    stereo[i] = noisy[i];
  write_audio("stereo.wav", stereo, 1000, 2, 16000);
  ck_assert_int_eq(run("dlsc-denoise", "--model '" DLSC_SHIPPED_MODEL "' stereo.wav refused.wav"),
                   1);
  ck_assert(printed("dlsc-denoise", "stereo.wav has 2 channels; dlsc denoises mono audio"));
  char refused_path[4400];
  path_of(refused_path, sizeof refused_path, "refused.wav");
  ck_assert_int_ne(access(refused_path, F_OK), 0);
  ck_assert_int_eq(run("dlsc-denoise", "--model '" DLSC_SHIPPED_MODEL "' --downmix stereo.wav s.wav"),
                   0);
  /* --downmix: one channel out, the channels' average denoised (16-bit: within a step) */
  float average[1000];
  for (int i = 0; i < 1000; i++)
    average[i] = 0.5f * (stereo[2 * i] + stereo[2 * i + 1]);
  write_audio("average.wav", average, 1000, 1, 16000);
  ck_assert_int_eq(run("dlsc-denoise", "--model '" DLSC_SHIPPED_MODEL "' average.wav a.wav"), 0);
  size_t downmixed_n, average_n;
  int downmixed_rate, average_rate;
  float *downmixed = read_audio_file("s.wav", &downmixed_n, &downmixed_rate);
  float *denoised_average = read_audio_file("a.wav", &average_n, &average_rate);
  ck_assert_uint_eq(downmixed_n, 1000);
  ck_assert_uint_eq(average_n, 1000);
  for (size_t i = 0; i < 1000; i++)
    ck_assert_float_eq_tol(downmixed[i], denoised_average[i], 2.0f / 32768.0f);
  free(downmixed);
  free(denoised_average);
  ck_assert_int_eq(run("dlsc-denoise", "--downmix --each-channel stereo.wav s.wav"), 2);
  /* a float file with a sample past the library's range: refused whole and streamed,
   * with the library's reason */
  char huge_path[4400];
  path_of(huge_path, sizeof huge_path, "huge.wav");
  SF_INFO float_info = {.samplerate = 16000, .channels = 1,
                        .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
  SNDFILE *huge = sf_open(huge_path, SFM_WRITE, &float_info);
  ck_assert_ptr_nonnull(huge);
  float samples[1000];
  for (int i = 0; i < 1000; i++)
    samples[i] = i == 500 ? 1e30f : 0.1f;
  ck_assert_int_eq(sf_writef_float(huge, samples, 1000), 1000);
  sf_close(huge);
  ck_assert_int_eq(run("dlsc-denoise", "--model '" DLSC_SHIPPED_MODEL "' huge.wav h.wav"), 1);
  ck_assert(printed("dlsc-denoise", "cannot denoise huge.wav: non-finite or out-of-range value"));
  ck_assert_int_eq(run("dlsc-denoise", "--model '" DLSC_SHIPPED_MODEL "' --stream 100 huge.wav "
                                       "h.wav"), 1);
  ck_assert(printed("dlsc-denoise", "stream: non-finite or out-of-range value"));
  /* --each-channel: every channel denoised on its own, as its mono file would be (16-bit
   * files: within a step), whole and streamed, with --removed per channel too */
  enum { NS = 20000 };
  float *pair = malloc(2 * NS * sizeof *pair), *left = malloc(NS * sizeof *left);
  float *right = malloc(NS * sizeof *right);
  for (size_t i = 0; i < NS; i++) {
    left[i] = pair[2 * i] = noisy[i];
    right[i] = pair[2 * i + 1] = 0.5f * noisy[NS + i] + 0.2f * clean[i];
  }
  write_audio("pair.wav", pair, NS, 2, 16000);
  write_audio("left.wav", left, NS, 1, 16000);
  write_audio("right.wav", right, NS, 1, 16000);
  float *mono_out[2];
  const char *mono_runs[2] = {"--model '" DLSC_SHIPPED_MODEL "' left.wav left-out.wav",
                              "--model '" DLSC_SHIPPED_MODEL "' right.wav right-out.wav"};
  for (int c = 0; c < 2; c++) {
    ck_assert_int_eq(run("dlsc-denoise", mono_runs[c]), 0);
    mono_out[c] = read_audio_file(c ? "right-out.wav" : "left-out.wav", &frames, &rate);
    ck_assert_uint_eq(frames, NS);
  }
  static const char *const pair_runs[] = {
      "--model '" DLSC_SHIPPED_MODEL "' --each-channel --removed pair-removed.wav pair.wav "
      "pair-out.wav",
      "--model '" DLSC_SHIPPED_MODEL "' --each-channel --stream 333 pair.wav pair-out.wav"};
  for (int r = 0; r < 2; r++) {
    ck_assert_int_eq(run("dlsc-denoise", pair_runs[r]), 0);
    int channels;
    float *both = read_audio_channels("pair-out.wav", &frames, &rate, &channels);
    ck_assert_int_eq(channels, 2);
    ck_assert_uint_eq(frames, NS);
    ck_assert_int_eq(rate, 16000);
    float *heard = read_audio_channels("pair.wav", &frames, &rate, &channels);
    float *gone = r ? NULL : read_audio_channels("pair-removed.wav", &frames, &rate, &channels);
    for (size_t i = 0; i < NS; i++)
      for (int c = 0; c < 2; c++) {
        ck_assert_float_eq_tol(both[2 * i + c], mono_out[c][i], 2.0f / 32768.0f);
        if (gone)
          ck_assert_float_eq_tol(gone[2 * i + c] + both[2 * i + c], heard[2 * i + c],
                                 3.0f / 32768.0f);
      }
    ck_assert_double_gt(max_abs_diff(mono_out[0], mono_out[1], NS), 0.05); /* two signals */
    free(both);
    free(heard);
    free(gone);
  }
  ck_assert(printed("dlsc-denoise", "in each channel denoised in"));
  free(pair);
  free(left);
  free(right);
  free(mono_out[0]);
  free(mono_out[1]);
  write_audio("empty.wav", noisy, 0, 1, 16000);
  ck_assert_int_eq(run("dlsc-denoise", "--model '" DLSC_SHIPPED_MODEL "' empty.wav e.wav"), 1);
  ck_assert(printed("dlsc-denoise", "empty.wav holds no samples"));
  ck_assert(!printed("dlsc-denoise", "cannot write")); /* the one reason, nothing after it */
  ck_assert_int_eq(run("dlsc-denoise", "--model '" DLSC_SHIPPED_MODEL "' missing.wav e.wav"), 1);
  ck_assert(printed("dlsc-denoise", "cannot open"));
  ck_assert(!printed("dlsc-denoise", "cannot write"));
  char path[4400];
  struct stat st;
  path_of(path, sizeof path, "e.wav");
  ck_assert_int_ne(stat(path, &st), 0);
  /* a model whose stored sample rate is not a rate is refused by name (atoi took "abc"
   * for 0 Hz and "-16000" for a 4 GHz resampling; a value too long to read kept 16 kHz) */
  dlsc_model_t *model;
  ck_assert_ok(dlsc_model_load_file(DLSC_SHIPPED_MODEL, &model));
  const char *bad_rates[] = {"abc", "-16000", "16k", "0", "16000000000000000000000000000000000"};
  path_of(path, sizeof path, "bad-rate.dlsc");
  for (int i = 0; i < 5; i++) {
    ck_assert_ok(dlsc_model_set_metadata(model, "dlsc.sample_rate", bad_rates[i]));
    ck_assert_ok(dlsc_model_save_file(model, path));
    ck_assert_int_eq(run("dlsc-denoise", "--model bad-rate.dlsc noisy44k.wav s0.wav"), 1);
    ck_assert_msg(printed("dlsc-denoise", "bad-rate.dlsc: its sample rate (metadata "
                                          "dlsc.sample_rate) is not a whole number of Hz"),
                  "no message for rate '%s'", bad_rates[i]);
    ck_assert_int_ne(stat(unwritten, &unwritten_st), 0);
  }
  dlsc_model_destroy(model);
  /* a model that cannot be loaded, one that is not a denoiser; arguments of no use */
  ck_assert_ok(dlsc_model_create_from_spec("input 3x8x8; conv2d 2 3x3; relu; gap; dense 4", 1,
                                           &model));
  path_of(path, sizeof path, "not-denoiser.dlsc");
  ck_assert_ok(dlsc_model_save_file(model, path));
  dlsc_model_destroy(model);
  const char *const models[][2] = {
      {"--model no-such.dlsc", "cannot load the model no-such.dlsc: No such file or directory"},
      {"--model not-denoiser.dlsc", "not-denoiser.dlsc is not a denoising model"}};
  refused_with("dlsc-denoise", "", " noisy44k.wav s0.wav", models, 2, 1);
  const char *const arguments[][2] = {
      {"--loud", "usage: dlsc-denoise"},
      {"third.wav", "usage: dlsc-denoise"},
      {"--removed s0.wav", "--removed s0.wav: the output file too; give each its own file"},
      {"--removed ./s0.wav", "--removed ./s0.wav: the output file too"}};
  refused_with("dlsc-denoise", "noisy44k.wav s0.wav ", "", arguments, 3, 2);
  ck_assert_int_ne(stat(unwritten, &unwritten_st), 0);
  write_bytes("s0.wav", "old", 3); /* the same file by another name: told apart by stat */
  refused_with("dlsc-denoise", "noisy44k.wav s0.wav ", "", arguments + 3, 1, 2);
  remove(unwritten);
  free(clean);
  free(noisy);
  free(out);
  free(streamed);
  free(stereo);
}
END_TEST

/* A denoiser that trains in a fraction of a second: a 3-frame window (0+1+2), 2 epochs. */
#define SMALL_DENOISER \
  "--spec 'input 1x3x513; log; batchnorm; dense 64; relu; dense 513; sigmoid' --epochs 2"

/* Trains SMALL_DENOISER with OPTIONS on clean.wav / noisy.wav into NAME.dlsc and
 * NAME.csv; returns the TEST tail's SNR, and the noisy input's in *noisy if not NULL. */
static double pair_tail(const char *options, const char *name, double *noisy) {
  char command[1024];
  snprintf(command, sizeof command,
           "--pair clean.wav noisy.wav %s " SMALL_DENOISER " --out %s.dlsc --csv %s.csv", options,
           name, name);
  ck_assert_msg(run("dlsc-train-denoiser", command) == 0, "%s", command);
  double tail, noisy_tail;
  const char *line = log_after("dlsc-train-denoiser", "TEST tail: SNR ");
  ck_assert_msg(line && sscanf(line, "%lf dB, SI-SDR %*f dB (noisy %lf", &tail, &noisy_tail) == 2,
                "%s: no test line", command);
  if (noisy)
    *noisy = noisy_tail;
  return tail;
}

/* A synthesised 4-second pair at 16 kHz, NAME-clean.wav and NAME-noisy.wav. */
static void write_pair(const char *name, uint64_t seed) {
  enum { N = 64000 };
  float *clean = malloc(N * sizeof *clean), *noisy = malloc(N * sizeof *noisy);
  synthesise(clean, noisy, N, 16000, seed);
  char file[256];
  snprintf(file, sizeof file, "%s-clean.wav", name);
  write_audio(file, clean, N, 1, 16000);
  snprintf(file, sizeof file, "%s-noisy.wav", name);
  write_audio(file, noisy, N, 1, 16000);
  free(clean);
  free(noisy);
}

/* Runs PROGRAM with arguments (output into work/LOG.log) and presses Ctrl-C once it has
 * printed line; it must then end training early ("interrupted in epoch") and exit 0. */
static void interrupt_after(const char *program, const char *arguments, const char *log,
                            const char *line) {
  char path[4400], name[64];
  snprintf(name, sizeof name, "%s.log", log);
  path_of(path, sizeof path, name);
  unlink(path); /* an earlier run's log holds the line: seen before the shell empties it,
                 * it sent Ctrl-C before the program was there to take it */
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    char command[8400];
    snprintf(command, sizeof command, "exec '%s/%s' %s > %s.log 2>&1", DLSC_EXAMPLES_DIR, program,
             arguments, log);
    if (chdir(work) != 0)
      _exit(127);
    signal(SIGINT, SIG_DFL); /* as at a terminal, even where the tests run with it ignored */
    execl("/bin/sh", "sh", "-c", command, (char *)NULL);
    _exit(127);
  }
  struct timespec pause = {0, 10 * 1000 * 1000};
  struct stat st;
  int seen = 0;
  for (int waited = 0; waited < 12000 && !seen; waited++) {
    nanosleep(&pause, NULL); /* up to 2 minutes */
    seen = stat(path, &st) == 0 && printed(log, line);
  }
  ck_assert_int_eq(kill(pid, SIGINT), 0);
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(seen && WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: status %d", program,
                status);
  ck_assert_msg(printed(log, "interrupted in epoch "), "%s was not interrupted", program);
}

static int same_file(const char *name_a, const char *name_b) {
  char path[4400];
  size_t sizes[2];
  unsigned char *bytes[2];
  const char *names[2] = {name_a, name_b};
  for (int i = 0; i < 2; i++) {
    path_of(path, sizeof path, names[i]);
    FILE *file = fopen(path, "rb");
    ck_assert_msg(file != NULL, "no %s", path);
    bytes[i] = malloc(1 << 20);
    sizes[i] = fread(bytes[i], 1, 1 << 20, file);
    fclose(file);
  }
  int same = sizes[0] == sizes[1] && !memcmp(bytes[0], bytes[1], sizes[0]);
  free(bytes[0]);
  free(bytes[1]);
  return same;
}

/* Audio from a pipe: libsndfile cannot know its length (the header's count is a
 * placeholder near 2^62), and dlsc-denoise must read what comes, not allocate for the
 * placeholder (it once refused with "cannot read the samples"). Sun AU, whose header
 * may say "length unknown", written into a FIFO by a child process; bytes that are no
 * audio, refused. */
START_TEST(denoise_reads_audio_of_unknown_length_from_a_pipe) {
  size_t n = 24000; /* 1.5 s at 16 kHz */
  size_t size = 24 + 2 * n;
  unsigned char *au = malloc(size);
  const unsigned char header[24] = {'.', 's', 'n', 'd', 0, 0, 0, 24, 0xff, 0xff, 0xff, 0xff,
                                    0, 0, 0, 3, 0, 0, 0x3e, 0x80, 0, 0, 0, 1}; /* 16-bit */
  memcpy(au, header, sizeof header);
  for (size_t i = 0; i < n; i++) {
    int16_t v = (int16_t)(8000.0 * sin(2.0 * M_PI * 440.0 * (double)i / 16000.0));
    au[24 + 2 * i] = (unsigned char)((uint16_t)v >> 8);
    au[25 + 2 * i] = (unsigned char)((uint16_t)v & 0xff);
  }
  char fifo[4400];
  path_of(fifo, sizeof fifo, "pipe.au");
  unlink(fifo);
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  pid_t writer = fork();
  ck_assert_int_ge(writer, 0);
  if (writer == 0) {
    FILE *file = fopen(fifo, "wb");
    _exit(file && fwrite(au, 1, size, file) == size && fclose(file) == 0 ? 0 : 1);
  }
  int status = run("dlsc-denoise", "--model '" DLSC_SHIPPED_MODEL "' pipe.au piped.wav");
  kill(writer, SIGKILL); /* in case the program never opened the pipe */
  waitpid(writer, NULL, 0);
  unlink(fifo);
  free(au);
  ck_assert_int_eq(status, 0);
  size_t frames;
  int rate;
  float *out = read_audio_file("piped.wav", &frames, &rate);
  ck_assert_uint_eq(frames, n);
  ck_assert_int_eq(rate, 16000);
  free(out);
  /* bytes through a pipe that are no audio: refused with the pipe's name and why */
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  writer = fork();
  ck_assert_int_ge(writer, 0);
  if (writer == 0) {
    FILE *file = fopen(fifo, "wb");
    _exit(file && fputs("these bytes are no audio file", file) >= 0 && fclose(file) == 0 ? 0 : 1);
  }
  status = run("dlsc-denoise", "--model '" DLSC_SHIPPED_MODEL "' pipe.au refused-pipe.wav");
  kill(writer, SIGKILL);
  waitpid(writer, NULL, 0);
  unlink(fifo);
  ck_assert_int_eq(status, 1);
  ck_assert(printed("dlsc-denoise", "cannot open pipe.au: "));
}
END_TEST

/* A write that fails half-way (the file-size limit standing in for a full disk, its
 * signal ignored) leaves the file that was there, here the output of an earlier run,
 * byte for byte, and no temporary beside it; a device is written directly. */
START_TEST(denoise_keeps_the_old_output_when_a_write_fails) {
  size_t n = 16000;
  float *tone = malloc(n * sizeof *tone);
  for (size_t i = 0; i < n; i++)
    tone[i] = 0.3f * sinf(2.0f * (float)M_PI * 300.0f * (float)i / 16000.0f);
  char command[9000], folder[4400];
  path_of(folder, sizeof folder, "full-disk");
  snprintf(command, sizeof command, "rm -rf '%s' && mkdir '%s'", folder, folder);
  ck_assert_int_eq(system(command), 0);
  write_audio("full-disk/in.wav", tone, n, 1, 16000);
  write_audio("full-disk/old.wav", tone, n / 10, 1, 16000);
  write_audio("full-disk/before.wav", tone, n / 10, 1, 16000);
  free(tone);
  snprintf(command, sizeof command,
           "cd '%s' && trap '' XFSZ && ulimit -f 16 && '%s/dlsc-denoise' --model '%s' in.wav "
           "old.wav > ../dlsc-denoise.log 2>&1", folder, DLSC_EXAMPLES_DIR, DLSC_SHIPPED_MODEL);
  int status = system(command);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d", status);
  ck_assert(printed("dlsc-denoise", "cannot write old.wav: "));
  ck_assert(same_file("full-disk/old.wav", "full-disk/before.wav"));
  ck_assert_uint_eq(entries_in("full-disk", NULL), 3); /* no temporary left */
  ck_assert_int_eq(run("dlsc-denoise", "--model '" DLSC_SHIPPED_MODEL "' full-disk/in.wav "
                                       "/dev/null"),
                   0);
}
END_TEST

/* The major format libsndfile reads in a file, or 0 if it cannot open it. */
static int format_of(const char *name) {
  char path[4400];
  path_of(path, sizeof path, name);
  SF_INFO info = {0};
  SNDFILE *file = sf_open(path, SFM_READ, &info);
  if (!file)
    return 0;
  sf_close(file);
  return info.format & SF_FORMAT_TYPEMASK;
}

/* The output's name says its format, in any case (it once was WAV whatever the name,
 * but for .flac); a name libsndfile has no format for is refused before any work. */
START_TEST(denoise_writes_the_format_its_output_names) {
  enum { N = 8000 };
  float *clean = malloc(N * sizeof *clean), *noisy = malloc(N * sizeof *noisy);
  synthesise(clean, noisy, N, 16000, 5);
  write_audio("formats.wav", noisy, N, 1, 16000);
  static const struct {
    const char *name;
    int major;
  } outputs[] = {{"out.wav", SF_FORMAT_WAV},   {"OUT.FLAC", SF_FORMAT_FLAC},
                 {"out.Aif", SF_FORMAT_AIFF},  {"out.caf", SF_FORMAT_CAF},
                 {"out.ogg", SF_FORMAT_OGG},   {"no-extension", SF_FORMAT_WAV},
                 {".wav-like", SF_FORMAT_WAV}};
  for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
    char arguments[256];
    snprintf(arguments, sizeof arguments, "--model '%s' formats.wav %s", DLSC_SHIPPED_MODEL,
             outputs[i].name);
    ck_assert_int_eq(run("dlsc-denoise", arguments), 0);
    ck_assert_msg(format_of(outputs[i].name) == outputs[i].major, "%s: format %#x, not %#x",
                  outputs[i].name, format_of(outputs[i].name), outputs[i].major);
  }
  /* lossless formats hold the same 16-bit samples, to libsndfile's rounding (a step) */
  size_t frames;
  int rate;
  float *wav = read_audio_file("out.wav", &frames, &rate);
  ck_assert_uint_eq(frames, N);
  for (int i = 1; i < 4; i++) {
    float *other = read_audio_file(outputs[i].name, &frames, &rate);
    ck_assert_uint_eq(frames, N);
    ck_assert_int_eq(rate, 16000);
    ck_assert_msg(max_abs_diff(other, wav, N) <= 1.0 / 32768.0, "%s: %g steps off WAV",
                  outputs[i].name, max_abs_diff(other, wav, N) * 32768.0);
    free(other);
  }
  free(wav);
  /* an unknown extension, as output or --removed: refused before the denoising, nothing
   * written */
  char stale[4400];
  path_of(stale, sizeof stale, "out2.wav"); /* from an earlier run of the suite */
  remove(stale);
  static const char *const refused[][2] = {
      {"formats.wav out.xyz", "out.xyz: unknown audio file extension .xyz"},
      {"--removed r.mp4 formats.wav out2.wav", "r.mp4: unknown audio file extension .mp4"}};
  refused_with("dlsc-denoise", "--model '" DLSC_SHIPPED_MODEL "' ", "", refused, 2, 2);
  ck_assert_int_eq(format_of("out.xyz"), 0);
  ck_assert_int_eq(format_of("out2.wav"), 0);
  /* a format that cannot hold the input's rate or channel count: refused once the input
   * is read, before the denoising (once it was after, leaving an empty temporary file) */
  write_audio("formats-22k.wav", noisy, N, 1, 22050);
  float *three = malloc(3 * N * sizeof *three);
  for (size_t i = 0; i < 3 * N; i++)
    three[i] = noisy[i / 3];
  write_audio("formats-three.wav", three, N, 3, 16000);
  free(three);
  SF_INFO opus = {.samplerate = 16000, .channels = 1, .format = SF_FORMAT_OGG | SF_FORMAT_OPUS},
          mp3 = {.samplerate = 16000, .channels = 1,
                 .format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III};
  static const char *const unheld[][2] = {
      {"formats-22k.wav out22k.opus",
       "cannot write out22k.opus (22050 Hz, 1 channel): Error : Opus only supports"},
      {"--each-channel formats-three.wav out3.mp3", "cannot write out3.mp3 (16000 Hz, 3 channels)"}};
  const int holds[] = {sf_format_check(&opus), sf_format_check(&mp3)};
  for (int i = 0; i < 2; i++) {
    if (!holds[i]) /* this libsndfile writes no such files at all */
      continue;
    refused_with("dlsc-denoise", "--model '" DLSC_SHIPPED_MODEL "' ", "", &unheld[i], 1, 1);
    ck_assert(!printed("dlsc-denoise", "real time"));
  }
  DIR *dir = opendir(work);
  ck_assert_ptr_nonnull(dir);
  for (struct dirent *entry; (entry = readdir(dir));)
    ck_assert_msg(!strstr(entry->d_name, "out22k") && !strstr(entry->d_name, "out3."),
                  "%s left behind", entry->d_name);
  closedir(dir);
  free(clean);
  free(noisy);
}
END_TEST

/* "-", /dev/stdout and a link to it are the standard output: the bytes of the file the
 * same run writes, with the reports on stderr (they once followed the audio into the
 * stream); "-" as input is the standard input, a file or a pipe, FLAC too. */
START_TEST(denoise_writes_to_the_standard_output) {
  enum { N = 8000 };
  float *clean = malloc(N * sizeof *clean), *noisy = malloc(N * sizeof *noisy);
  synthesise(clean, noisy, N, 16000, 6);
  write_audio("piped-in.wav", noisy, N, 1, 16000);
  char path[4400];
  path_of(path, sizeof path, "piped-in.flac"); /* the same 16-bit samples */
  SF_INFO flac = {.samplerate = 16000, .channels = 1, .format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16};
  SNDFILE *file = sf_open(path, SFM_WRITE, &flac);
  ck_assert_ptr_nonnull(file);
  ck_assert_int_eq(sf_writef_float(file, noisy, N), N);
  sf_close(file);
  free(clean);
  free(noisy);
  const char *model = "--model '" DLSC_SHIPPED_MODEL "' ";
  char arguments[1024], command[13000];
  snprintf(arguments, sizeof arguments, "%spiped-in.wav piped-file.wav", model);
  ck_assert_int_eq(run("dlsc-denoise", arguments), 0);
  snprintf(arguments, sizeof arguments, "%spiped-in.wav piped-file.flac", model);
  ck_assert_int_eq(run("dlsc-denoise", arguments), 0);
  path_of(path, sizeof path, "to-stdout.flac");
  remove(path);
  ck_assert_int_eq(symlink("/dev/stdout", path), 0);
  /* (libsndfile's FLAC decoder loses sync on a pipe: a piped input is read whole first) */
  static const struct {
    const char *input, *arguments, *redirect, *output, *same_as;
  } cases[] = {{"", "piped-in.wav -", "", "| cat > piped-1.wav", "piped-file.wav"},
               {"", "piped-in.wav /dev/stdout", "> piped-2.wav", "", "piped-file.wav"},
               {"", "- - < piped-in.wav", "", "| cat > piped-3.wav", "piped-file.wav"},
               {"", "piped-in.wav to-stdout.flac", "", "| cat > piped-4.flac", "piped-file.flac"},
               {"cat piped-in.flac |", "- -", "", "| cat > piped-5.wav", "piped-file.wav"}};
  for (int i = 0; i < 5; i++) {
    snprintf(command, sizeof command,
             "cd '%s' && %s { '%s/dlsc-denoise' %s%s 2> piped-%d.log %s; echo $? > "
             "piped-%d.status; } %s",
             work, cases[i].input, DLSC_EXAMPLES_DIR, model, cases[i].arguments, i + 1,
             cases[i].redirect, i + 1, cases[i].output);
    ck_assert_int_eq(system(command), 0);
    snprintf(path, sizeof path, "%s/piped-%d.status", work, i + 1);
    FILE *status_file = fopen(path, "r");
    ck_assert_ptr_nonnull(status_file);
    int status = -1;
    ck_assert_int_eq(fscanf(status_file, "%d", &status), 1);
    fclose(status_file);
    ck_assert_msg(status == 0, "%s: status %d", cases[i].arguments, status);
    char output[32], log[32];
    snprintf(output, sizeof output, "piped-%d.%s", i + 1, i == 3 ? "flac" : "wav");
    snprintf(log, sizeof log, "piped-%d", i + 1);
    ck_assert_msg(same_file(output, cases[i].same_as), "%s: not the bytes of %s",
                  cases[i].arguments, cases[i].same_as);
    ck_assert_msg(printed(log, "0.50 s of audio denoised in"), "%s: no report on stderr",
                  cases[i].arguments);
  }
  /* a standard output that takes nothing (a full disk): status 1 and the reason */
  struct stat full;
  if (stat("/dev/full", &full) == 0) {
    snprintf(command, sizeof command, "cd '%s' && '%s/dlsc-denoise' %spiped-in.wav - > /dev/full "
             "2> full.log", work, DLSC_EXAMPLES_DIR, model);
    int status = system(command);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "to /dev/full: status %d",
                  status);
    ck_assert(printed("full", "cannot write to standard output: No space left on device"));
  }
}
END_TEST

/* dlsc-train-denoiser --course on the real recordings (skipped without them), one quick
 * epoch of the FC net: the protocol's tail (its noisy input at 3.28 dB SNR, as
 * ../shared/data/README.md gives it), and --listen's denoised test_x_01 and test_x_02,
 * each as long as its recording and what dlsc_denoise makes of it with the saved model
 * (16-bit files: within a step). */
START_TEST(train_denoiser_listens_to_the_course) {
  const char *data = getenv("DLSC_DATA");
  if (!data || !*data)
    data = getenv("DLSC_DATA_DEFAULT");
  char course[4400], arguments[5000];
  snprintf(course, sizeof course, "%s/speech/course", data ? data : "");
  struct stat st;
  if (!data || stat(course, &st) != 0) {
    fprintf(stderr, "no course recordings at '%s': course test skipped\n", course);
    return;
  }
  char path[4400];
  for (int i = 1; i <= 2; i++) { /* none left by an earlier run of the folder */
    char name[64];
    snprintf(name, sizeof name, "course-listen/denoised_test_x_0%d.wav", i);
    path_of(path, sizeof path, name);
    unlink(path);
  }
  snprintf(arguments, sizeof arguments, "--course --data '%s' --preset fc --epochs 1 --remix 0 "
           "--listen course-listen --out course.dlsc --csv course.csv", data);
  ck_assert_int_eq(run("dlsc-train-denoiser", arguments), 0);
  ck_assert(printed("dlsc-train-denoiser", "(noisy 3.28 dB, 3.28 dB)\n"));
  path_of(path, sizeof path, "course.dlsc");
  dlsc_model_t *model;
  dlsc_stft_t *stft;
  ck_assert_ok(dlsc_model_load_file(path, &model));
  ck_assert_ok(dlsc_stft_create_for_model(model, &stft));
  for (int i = 1; i <= 2; i++) {
    char link[64], source[4500], denoised[64];
    snprintf(link, sizeof link, "course-test-%d.wav", i);
    snprintf(source, sizeof source, "%s/test_x_0%d.wav", course, i);
    path_of(path, sizeof path, link);
    unlink(path);
    ck_assert_int_eq(symlink(source, path), 0);
    size_t n, m;
    int rate, denoised_rate;
    float *noisy = read_audio_file(link, &n, &rate);
    snprintf(denoised, sizeof denoised, "course-listen/denoised_test_x_0%d.wav", i);
    float *written = read_audio_file(denoised, &m, &denoised_rate);
    ck_assert_uint_eq(m, n);
    ck_assert_int_eq(denoised_rate, rate);
    float *expected = malloc(n * sizeof *expected);
    ck_assert_ok(dlsc_denoise(model, stft, noisy, n, expected));
    for (size_t k = 0; k < n; k++)
      ck_assert_float_eq_tol(written[k], expected[k], 1.0f / 32768.0f + 1e-6f);
    free(noisy);
    free(written);
    free(expected);
  }
  dlsc_stft_destroy(stft);
  dlsc_model_destroy(model);
}
END_TEST

/* --speech DIR --noise DIR: a general model from a caller's folders, three files each
 * (one trains, one validates, one is the dev set), extended from its checkpoint, and a
 * folder too small for that. */
START_TEST(train_denoiser_learns_from_folders) {
  enum { N = 32000 }; /* 2 s at 16 kHz */
  float *clean = malloc(N * sizeof *clean), *noisy = malloc(N * sizeof *noisy);
  char path[4400];
  static const char *folders[] = {"speech", "noise", "two-files"};
  for (size_t f = 0; f < 3; f++) {
    path_of(path, sizeof path, folders[f]);
    mkdir(path, 0777);
  }
  for (int i = 0; i < 3; i++) {
    synthesise(clean, noisy, N, 16000, (uint64_t)i + 5);
    for (size_t k = 0; k < N; k++)
      noisy[k] = 2.0f * (noisy[k] - clean[k]); /* the noise alone */
    char name[64];
    snprintf(name, sizeof name, "speech/%d.wav", i);
    write_audio(name, clean, N - 1000 * (size_t)i, 1, 16000);
    snprintf(name, sizeof name, "noise/%d.wav", i);
    write_audio(name, noisy, N, 1, 16000);
    snprintf(name, sizeof name, "two-files/%d.wav", i);
    if (i < 2)
      write_audio(name, clean, N, 1, 16000);
  }
  /* outputs that cannot be written are refused before the training, not after it */
  ck_assert_int_eq(run("dlsc-train-denoiser", "--speech speech --noise noise " SMALL_DENOISER
                                              " --out no-such/folders.dlsc"),
                   1);
  ck_assert(printed("dlsc-train-denoiser", "cannot write no-such/folders.dlsc: No such file"));
  ck_assert(!printed("dlsc-train-denoiser", "speakers:"));
  /* nor a file the library would refuse to replace at the end: a device, a folder, a
   * link leading nowhere (they were found out after the training) */
  path_of(path, sizeof path, "a-folder.dlsc");
  mkdir(path, 0777);
  path_of(path, sizeof path, "dangling.dlsc");
  remove(path);
  ck_assert_int_eq(symlink("no-such-folder/x.dlsc", path), 0);
  static const char *const unsavable[][2] = {
      {"/dev/null", "cannot write /dev/null: not a regular file (a device, a FIFO)"},
      {"a-folder.dlsc", "cannot write a-folder.dlsc: Is a directory"},
      {"dangling.dlsc", "cannot write dangling.dlsc: No such file or directory"}};
  refused_with("dlsc-train-denoiser", "--speech speech --noise noise " SMALL_DENOISER " --out ",
               "", unsavable, 3, 1);
  ck_assert(!printed("dlsc-train-denoiser", "speakers:"));
  ck_assert_int_eq(run("dlsc-train-denoiser", "--speech speech --noise noise " SMALL_DENOISER
                                              " --csv no-such/folders.csv"),
                   1);
  ck_assert(printed("dlsc-train-denoiser", "cannot write no-such/folders.csv: No such file"));
  ck_assert(!printed("dlsc-train-denoiser", "epoch"));
  ck_assert_int_eq(run("dlsc-train-denoiser", "--speech speech --noise no-such-noise"), 1);
  ck_assert(printed("dlsc-train-denoiser",
                    "cannot read the folder no-such-noise: No such file or directory"));
  /* noise recorded in stereo at 8 kHz: averaged to mono and resampled, not refused */
  path_of(path, sizeof path, "stereo-noise");
  mkdir(path, 0777);
  float *stereo = malloc(2 * 16000 * sizeof *stereo);
  uint64_t seed = 3;
  for (int i = 0; i < 3; i++) {
    for (size_t k = 0; k < 2 * 16000; k++)
      stereo[k] = test_uniform(&seed, -0.05f, 0.05f);
    char name[64];
    snprintf(name, sizeof name, "stereo-noise/%d.wav", i);
    write_audio(name, stereo, 16000, 2, 8000);
  }
  free(stereo);
  ck_assert_int_eq(run("dlsc-train-denoiser", "--speech speech --noise stereo-noise "
                                              SMALL_DENOISER " --epochs 1 --out stereo.dlsc"),
                   0);
  ck_assert(printed("dlsc-train-denoiser", "noise files: 1 train, 1 validation, 1 dev"));
  ck_assert_int_eq(run("dlsc-train-denoiser", "--speech speech --noise noise " SMALL_DENOISER
                                              " --out folders.dlsc --csv folders.csv"),
                   0);
  ck_assert(printed("dlsc-train-denoiser", "speakers: 1 train, 1 validation, 1 dev; noise files: "
                                           "1 train, 1 validation, 1 dev"));
  /* the dev set's rows: input SNR, output SNR, gain, SI-SDR at -5, 0, 5, 10 dB */
  const char *table = log_after("dlsc-train-denoiser", "output SI-SDR\n");
  double input, output, gain, si_sdr;
  ck_assert_msg(table && sscanf(table, "%lf %lf %lf %lf", &input, &output, &gain, &si_sdr) == 4,
                "no dev table");
  ck_assert_double_eq_tol(input, -5.0, 0.01);
  ck_assert_msg(gain > 2.0, "dev gain at -5 dB: %.2f dB", gain); /* measured 4.58 */
  path_of(path, sizeof path, "folders.dlsc");
  dlsc_model_t *model;
  ck_assert_ok(dlsc_model_load_file(path, &model));
  dlsc_model_destroy(model);
  /* --evaluate scores the saved model on the same sets without training: the same dev
   * table; with --attenuation-limit 0 the output is the input (gain 0) */
  double trained_output = output, trained_si_sdr = si_sdr;
  ck_assert_int_eq(run("dlsc-train-denoiser", "--speech speech --noise noise --evaluate "
                                              "folders.dlsc"),
                   0);
  table = log_after("dlsc-train-denoiser", "output SI-SDR\n");
  ck_assert_msg(table && sscanf(table, "%lf %lf %lf %lf", &input, &output, &gain, &si_sdr) == 4,
                "no dev table from --evaluate");
  ck_assert_double_eq_tol(output, trained_output, 0.005);
  ck_assert_double_eq_tol(si_sdr, trained_si_sdr, 0.005);
  ck_assert_int_eq(run("dlsc-train-denoiser", "--speech speech --noise noise --evaluate "
                                              "folders.dlsc --attenuation-limit 0"),
                   0);
  ck_assert(printed("dlsc-train-denoiser", "folders.dlsc, attenuation limit 0 dB: validation"));
  table = log_after("dlsc-train-denoiser", "output SI-SDR\n");
  ck_assert_msg(table && sscanf(table, "%lf %lf %lf %lf", &input, &output, &gain, &si_sdr) == 4,
                "no dev table from --evaluate --attenuation-limit 0");
  ck_assert_double_eq_tol(gain, 0.0, 0.005);
  ck_assert_int_eq(run("dlsc-train-denoiser", "--speech speech --noise noise --evaluate "
                                              "no-such.dlsc"),
                   1);
  ck_assert(printed("dlsc-train-denoiser", "cannot load no-such.dlsc: No such file or directory"));
  ck_assert_ok(dlsc_model_create_from_spec("input 1x1x8; dense 2", 1, &model));
  path_of(path, sizeof path, "not-a-denoiser.dlsc");
  ck_assert_ok(dlsc_model_save_file(model, path));
  dlsc_model_destroy(model);
  ck_assert_int_eq(run("dlsc-train-denoiser", "--speech speech --noise noise --evaluate "
                                              "not-a-denoiser.dlsc"),
                   1);
  ck_assert(printed("dlsc-train-denoiser", "not-a-denoiser.dlsc is not a denoising model\n"));
  ck_assert_int_eq(run("dlsc-train-denoiser", "--speech speech --noise noise "
                                              "--attenuation-limit 6"),
                   2); /* only with --evaluate */
  /* --eq: speech and noise through random filters; it learns, other weights */
  ck_assert_int_eq(run("dlsc-train-denoiser", "--speech speech --noise noise --eq 0.375 "
                                              SMALL_DENOISER " --out folders-eq.dlsc "
                                              "--csv folders-eq.csv"),
                   0);
  table = log_after("dlsc-train-denoiser", "output SI-SDR\n");
  ck_assert_msg(table && sscanf(table, "%lf %lf %lf %lf", &input, &output, &gain, &si_sdr) == 4,
                "no dev table with --eq");
  ck_assert_msg(gain > 2.0, "--eq: dev gain at -5 dB: %.2f dB", gain);
  ck_assert(!same_weights("folders.dlsc", "folders-eq.dlsc", 4));
  ck_assert_int_eq(run("dlsc-train-denoiser", "--speech speech --noise noise --eq 1e-4 "
                                              SMALL_DENOISER " --out folders-eq-tiny.dlsc "
                                              "--csv folders-eq-tiny.csv"),
                   0); /* the same numbers drawn, hardly filtered: other weights again */
  ck_assert(!same_weights("folders-eq.dlsc", "folders-eq-tiny.dlsc", 4));
  ck_assert_int_eq(run("dlsc-train-denoiser", "--speech speech --noise noise --eq 0.5"), 2);
  /* Extended from its checkpoint: 2 epochs, then --resume with 4, at a constant rate, ends
   * as a run of 4 does. */
  const char *folders_run = "--speech speech --noise noise " SMALL_DENOISER " --constant-lr";
  char arguments[512];
  snprintf(arguments, sizeof arguments, "%s --epochs 4 --checkpoint four --out four-out.dlsc "
           "--csv four.csv", folders_run);
  ck_assert_int_eq(run("dlsc-train-denoiser", arguments), 0);
  snprintf(arguments, sizeof arguments, "%s --checkpoint more --out more-first.dlsc "
           "--csv more.csv", folders_run);
  ck_assert_int_eq(run("dlsc-train-denoiser", arguments), 0);
  snprintf(arguments, sizeof arguments, "%s --epochs 4 --checkpoint more --resume "
           "--out more-out.dlsc --csv more.csv", folders_run);
  ck_assert_int_eq(run("dlsc-train-denoiser", arguments), 0);
  ck_assert(printed("dlsc-train-denoiser", "resuming after epoch 2 of more"));
  ck_assert(same_file("four-out.dlsc", "more-out.dlsc"));
  ck_assert(same_file("four.state", "more.state"));
  /* another STFT size: the preset's spec takes n_fft / 2 + 1 bins, the model denoises
   * with that STFT and streams with its latency (n_fft - 1, no look-ahead) */
  ck_assert_int_eq(run("dlsc-train-denoiser", "--speech speech --noise noise --preset general "
                                              "--n-fft 256 --hop 128 --context 4,0 --epochs 1 "
                                              "--out small-fft.dlsc --csv small-fft.csv"),
                   0);
  ck_assert(printed("dlsc-train-denoiser", "model: input 1x5x129; log; batchnorm; avgpool 1x2; "
                                           "dense 256; relu; dense 256; relu; dense 129; sigmoid"));
  path_of(path, sizeof path, "small-fft.dlsc");
  ck_assert_ok(dlsc_model_load_file(path, &model));
  assert_denoiser(model, 256, 128, 0, 255);
  dlsc_model_destroy(model);
  ck_assert_int_eq(run("dlsc-train-denoiser", "--speech speech --noise noise --n-fft 255 "
                                              "--hop 128 --out refused.dlsc"),
                   2);
  ck_assert(printed("dlsc-train-denoiser", "--n-fft 255 with hop 128: n_fft must be even and "
                                           "at least the hop"));
  ck_assert_int_eq(run("dlsc-train-denoiser", "--speech two-files --noise noise " SMALL_DENOISER
                                              " --out refused.dlsc"),
                   1);
  ck_assert(printed("dlsc-train-denoiser", "two-files: 2 audio files; at least 3 (.wav or .flac)"));
  struct stat st;
  path_of(path, sizeof path, "refused.dlsc");
  ck_assert_int_ne(stat(path, &st), 0);
  free(clean);
  free(noisy);
}
END_TEST

/* Ctrl-C (SIGINT) while training: the epoch under way is rolled back, the program goes
 * on with the epochs before (best one chosen, tail scored, model saved) and exits 0. */
START_TEST(train_denoiser_stops_at_ctrl_c) {
  write_pair("ctrl-c", 3);
  interrupt_after("dlsc-train-denoiser",
                  "--pair ctrl-c-clean.wav ctrl-c-noisy.wav --spec 'input 1x3x513; log; "
                  "batchnorm; dense 64; relu; dense 513; sigmoid' --epochs 1000 --out ctrl-c.dlsc "
                  "--csv ctrl-c.csv",
                  "ctrl-c", "\nepoch   1 ");
  char path[4400];
  const char *line = log_after("ctrl-c", "interrupted in epoch ");
  int epoch = 0;
  ck_assert_msg(line && sscanf(line, "%d", &epoch) == 1 && epoch >= 2, "no interruption line");
  ck_assert(printed("ctrl-c", "TEST tail: SNR "));
  ck_assert(printed("ctrl-c", "saved ctrl-c.dlsc"));
  path_of(path, sizeof path, "ctrl-c.dlsc");
  dlsc_model_t *model;
  ck_assert_ok(dlsc_model_load_file(path, &model));
  dlsc_model_destroy(model);
  /* the CSV has a row for each finished epoch, none for the interrupted one */
  path_of(path, sizeof path, "ctrl-c.csv");
  FILE *csv = fopen(path, "r");
  ck_assert_ptr_nonnull(csv);
  int rows = 0, c;
  while ((c = fgetc(csv)) != EOF)
    rows += c == '\n';
  fclose(csv);
  ck_assert_int_eq(rows, epoch); /* a header and epochs 1 .. epoch - 1 */
}
END_TEST

START_TEST(train_denoiser_learns_a_callers_pair) {
  enum { N = 64000 }; /* 4 s at 16 kHz */
  char path[4400]; /* the runs below that must be refused write no denoiser.dlsc (the
                    * default --out): none left by an earlier run of the folder */
  path_of(path, sizeof path, "denoiser.dlsc");
  unlink(path);
  float *clean = malloc(N * sizeof *clean), *noisy = malloc(N * sizeof *noisy);
  synthesise(clean, noisy, N, 16000, 2);
  write_audio("clean.wav", clean, N, 1, 16000);
  write_audio("noisy.wav", noisy, N, 1, 16000);
  write_audio("short.wav", noisy, N / 2, 1, 16000);
  /* it learned: the held-out tail comes out cleaner than it went in (measured 3.40 ->
   * 5.88 dB after two epochs) */
  double noisy_tail, tail = pair_tail("--listen listen", "pair", &noisy_tail);
  assert_blas_recorded("pair.dlsc");
  ck_assert_msg(tail > noisy_tail + 1.0, "tail %.2f dB from %.2f dB", tail, noisy_tail);
  /* --listen wrote the tail it scored: noisy, denoised and clean, at the figures printed,
   * SNR and SI-SDR (to the 16-bit files' rounding) */
  size_t frames[3];
  int rate;
  float *tails[3];
  const char *names[3] = {"listen/noisy_tail.wav", "listen/denoised_tail.wav",
                          "listen/clean_tail.wav"};
  for (int i = 0; i < 3; i++) {
    tails[i] = read_audio_file(names[i], &frames[i], &rate);
    ck_assert_int_eq(rate, 16000);
    ck_assert_uint_eq(frames[i], frames[0]);
  }
  ck_assert_uint_gt(frames[0], N / 10);
  for (size_t k = 0; k < frames[0]; k++) /* the last samples of the pair */
    ck_assert_float_eq_tol(tails[2][k], clean[N - frames[0] + k], 1.0f / 32768.0f);
  double snr[2], si_sdr[2], printed_si_sdr[2];
  for (int i = 0; i < 2; i++) {
    ck_assert_ok(dlsc_snr(tails[2], tails[i], frames[0], &snr[i]));
    ck_assert_ok(dlsc_si_sdr(tails[2], tails[i], frames[0], &si_sdr[i]));
  }
  ck_assert_double_eq_tol(snr[0], noisy_tail, 0.01);
  ck_assert_double_eq_tol(snr[1], tail, 0.01);
  const char *test_line = log_after("dlsc-train-denoiser", "TEST tail: SNR ");
  ck_assert(test_line && sscanf(test_line, "%*f dB, SI-SDR %lf dB (noisy %*f dB, %lf dB)",
                                &printed_si_sdr[1], &printed_si_sdr[0]) == 2);
  ck_assert_double_eq_tol(si_sdr[0], printed_si_sdr[0], 0.01);
  ck_assert_double_eq_tol(si_sdr[1], printed_si_sdr[1], 0.01);
  /* and the ceilings printed before training: the clean tail's magnitude with the noisy
   * tail's phase, through the 1024/512 STFT of the original project and the model's */
  char model_path[4400];
  path_of(model_path, sizeof model_path, "pair.dlsc");
  dlsc_model_t *pair_model;
  ck_assert_ok(dlsc_model_load_file(model_path, &pair_model));
  const char *ceilings[2] = {"clean magnitude + noisy phase ",
                             "at the model's n_fft 1024, hop 256: clean magnitude + noisy phase "};
  for (int k = 0; k < 2; k++) {
    double oracle, printed_oracle;
    const char *ceiling = log_after("dlsc-train-denoiser", ceilings[k]);
    ck_assert_msg(ceiling && sscanf(ceiling, "%lf dB", &printed_oracle) == 1, "no %s", ceilings[k]);
    dlsc_stft_t *stft;
    dlsc_stft_config original;
    dlsc_stft_config_init(&original);
    ck_assert_ok(k ? dlsc_stft_create_for_model(pair_model, &stft)
                   : dlsc_stft_create(&original, &stft));
    size_t n_frames, n_bins;
    ck_assert_ok(dlsc_stft_n_frames(stft, frames[0], &n_frames));
    ck_assert_ok(dlsc_stft_n_bins(stft, &n_bins));
    float *magnitude = malloc(n_frames * n_bins * sizeof *magnitude);
    float *phase = malloc(n_frames * n_bins * sizeof *phase);
    float *resynthesised = malloc(frames[0] * sizeof *resynthesised);
    ck_assert_ok(dlsc_stft_forward(stft, tails[0], frames[0], magnitude, phase, n_frames));
    ck_assert_ok(dlsc_stft_forward(stft, tails[2], frames[0], magnitude, NULL, n_frames));
    ck_assert_ok(dlsc_stft_inverse(stft, magnitude, phase, n_frames, resynthesised, frames[0]));
    ck_assert_ok(dlsc_snr(tails[2], resynthesised, frames[0], &oracle));
    ck_assert_msg(fabs(oracle - printed_oracle) < 0.05, "%s%.2f dB printed, %.2f dB computed",
                  ceilings[k], printed_oracle, oracle);
    free(magnitude);
    free(phase);
    free(resynthesised);
    dlsc_stft_destroy(stft);
  }
  dlsc_model_destroy(pair_model);
  for (int i = 0; i < 3; i++)
    free(tails[i]);
  /* Options that change what it learns: each learns too (measured 5.92 dB for the mask
   * learning |S| instead of the phase-sensitive target, 6.02 dB with speed-perturbed
   * remixes, the noise at random speeds too: the two once freed one buffer twice; extra
   * speech from a folder's files, here the pair's clean recording once more; extra noise
   * from a folder, here the pair's noise shifted by half its length; a second stretch
   * of noise over the first; speech and noise through random filters; the speech's level
 * not varied), each with other
   * weights than the defaults give from the same seed. */
  char extra[4400];
  path_of(extra, sizeof extra, "extra");
  mkdir(extra, 0777);
  path_of(extra, sizeof extra, "no-audio");
  mkdir(extra, 0777);
  write_audio("extra/speech.wav", clean, N, 1, 16000);
  path_of(extra, sizeof extra, "extra-noise");
  mkdir(extra, 0777);
  float *noise_only = malloc(N * sizeof *noise_only);
  for (size_t k = 0; k < N; k++)
    noise_only[k] = noisy[(k + N / 2) % N] - clean[(k + N / 2) % N];
  write_audio("extra-noise/noise.wav", noise_only, N, 1, 16000);
  path_of(extra, sizeof extra, "silent-noise"); /* as long, all zeros */
  mkdir(extra, 0777);
  float *silence = calloc(N, sizeof *silence);
  write_audio("silent-noise/noise.wav", silence, N, 1, 16000);
  free(silence);
  /* a folder of 70 recordings, more than the file list's first allocation holds (64) */
  path_of(extra, sizeof extra, "many-noise");
  mkdir(extra, 0777);
  for (int k = 0; k < 70; k++) {
    char name[64];
    snprintf(name, sizeof name, "many-noise/noise-%02d.wav", k);
    write_audio(name, noise_only + k * (N / 80), N / 8, 1, 16000);
  }
  free(noise_only);
  ck_assert_int_eq(run("dlsc-train-denoiser", "--pair clean.wav noisy.wav --extra-noise-dir "
                                              "many-noise --out many.dlsc " SMALL_DENOISER),
                   0);
  ck_assert(printed("dlsc-train-denoiser", "extra noise: 70 files from many-noise"));
  static const struct {
    const char *options, *name, *says; /* says: a line the run prints, or NULL */
  } variants[] = {{"--target magnitude", "magnitude", NULL},
                  {"--speed 0.1", "speed", NULL},
                  {"--speed 0.1 --noise-speed 0.15", "both", NULL},
                  {"--extra-speech 2 --extra-speech-dir extra", "extra",
                   "extra speech: 1 files from extra"},
                  {"--extra-noise-dir extra-noise", "extra-noise",
                   "extra noise: 1 files from extra-noise"},
                  {"--noise-overlay 10", "overlay", NULL},
                  {"--eq 0.375", "eq", NULL},
                  {"--level 0", "level", NULL}};
  double speed_tail = 0.0;
  for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
    double variant_tail = pair_tail(variants[i].options, variants[i].name, NULL);
    ck_assert_msg(variant_tail > noisy_tail + 1.0, "%s: tail %.2f dB from %.2f dB",
                  variants[i].options, variant_tail, noisy_tail);
    char model[64];
    snprintf(model, sizeof model, "%s.dlsc", variants[i].name);
    ck_assert(!same_weights("pair.dlsc", model, 4));
    ck_assert_msg(!variants[i].says || printed("dlsc-train-denoiser", variants[i].says), "%s",
                  variants[i].options);
    if (i == 1)
      speed_tail = variant_tail;
  }
  /* a batch larger than an epoch's frames: batches of all of them, said so (it was
   * refused as "training: invalid argument") */
  pair_tail("--batch 100000", "batch", NULL);
  ck_assert(printed("dlsc-train-denoiser", "--batch 100000 is more than the epoch's "));
  ck_assert(!same_weights("pair.dlsc", "batch.dlsc", 4));
  /* --eq draws the same numbers at any range: a range near 0 filters hardly at all, and
   * must still give other weights than 0.375 (the filters are applied, not only drawn) */
  pair_tail("--eq 1e-4", "eq-tiny", NULL);
  ck_assert(!same_weights("eq.dlsc", "eq-tiny.dlsc", 4));
  /* the extra noise's samples are what the remixes draw, not only its length: the same
   * length of silence trains otherwise */
  pair_tail("--extra-noise-dir silent-noise", "silent-noise", NULL);
  ck_assert(!same_weights("extra-noise.dlsc", "silent-noise.dlsc", 4));
  ck_assert_int_eq(run("dlsc-train-denoiser", "--pair clean.wav noisy.wav --extra-speech-dir extra "
                                              SMALL_DENOISER),
                   2);
  ck_assert_int_eq(run("dlsc-train-denoiser", "--pair clean.wav noisy.wav --extra-speech 2 "
                                              "--extra-speech-dir no-audio " SMALL_DENOISER),
                   1);
  ck_assert(printed("dlsc-train-denoiser", "no-audio: no .wav or .flac files"));
  ck_assert_int_eq(run("dlsc-train-denoiser", "--pair clean.wav noisy.wav --extra-noise-dir "
                                              "no-audio " SMALL_DENOISER),
                   1);
  ck_assert(printed("dlsc-train-denoiser", "no-audio: no .wav or .flac files"));
  ck_assert_int_eq(run("dlsc-train-denoiser", "--speech extra --noise extra --extra-noise-dir "
                                              "extra-noise " SMALL_DENOISER),
                   2);
  /* --init starts from a model's weights: at a vanishing learning rate, the first
   * model's tail score comes back (batch-norm statistics still move a little) */
  double first_tail = pair_tail("--init speed.dlsc --lr 1e-9", "tuned", NULL);
  ck_assert(printed("dlsc-train-denoiser", "starting from the weights of speed.dlsc"));
  ck_assert_msg(fabs(first_tail - speed_tail) < 0.05,
                "--init: tail %.2f dB, the --speed run's %.2f dB", first_tail, speed_tail);
  ck_assert_int_eq(run("dlsc-train-denoiser", "--pair clean.wav noisy.wav --init speed.dlsc "
                                              "--spec 'input 1x3x513; dense 513; sigmoid'"),
                   1);
  ck_assert(printed("dlsc-train-denoiser", "speed.dlsc does not have the layers of the model spec"));
  ck_assert_int_eq(run("dlsc-train-denoiser", "--pair clean.wav noisy.wav --init absent.dlsc"), 1);
  ck_assert(printed("dlsc-train-denoiser", "cannot load absent.dlsc"));
  path_of(path, sizeof path, "pair.dlsc");
  dlsc_model_t *model;
  ck_assert_ok(dlsc_model_load_file(path, &model));
  dlsc_denoise_config config;
  dlsc_denoise_config_init(&config);
  ck_assert_ok(dlsc_model_get_denoise(model, &config));
  /* the cnn preset's look-ahead (2 frames) and the rest of the spec's 3 frames before */
  ck_assert_uint_eq(config.context_before, 0);
  ck_assert_uint_eq(config.context_after, 2);
  ck_assert_uint_eq(config.hop_length, 256);
  dlsc_model_destroy(model);
  path_of(path, sizeof path, "pair.csv");
  FILE *csv = fopen(path, "r");
  ck_assert_ptr_nonnull(csv);
  int lines = 0;
  for (int c; (c = fgetc(csv)) != EOF;)
    lines += c == '\n';
  fclose(csv);
  ck_assert_int_eq(lines, 3); /* header and two epochs */
  /* refused: a pair of different lengths, a context that does not fit the spec */
  ck_assert_int_eq(run("dlsc-train-denoiser", "--pair clean.wav short.wav --epochs 1"), 1);
  ck_assert(printed("dlsc-train-denoiser", "differ in length (64000 and 32000 samples)"));
  write_audio("tiny-clean.wav", clean, 1000, 1, 16000);
  write_audio("tiny-noisy.wav", noisy, 1000, 1, 16000);
  ck_assert_int_eq(run("dlsc-train-denoiser", "--pair tiny-clean.wav tiny-noisy.wav --epochs 1"), 1);
  ck_assert(printed("dlsc-train-denoiser", "the recordings are too short to split (1000 samples; "
                                           "at least "));
  /* a spec of other bins than the STFT's, or an output that is not one frame of them */
  ck_assert_int_eq(run("dlsc-train-denoiser", "--pair clean.wav noisy.wav --spec 'input 1x9x257; "
                                              "dense 257; sigmoid' --epochs 1"), 1);
  ck_assert(printed("dlsc-train-denoiser", "the spec must take 1 x 9 x 513 values (before+1+after "
                                           "frames of n_fft/2+1 bins) and give 513"));
  ck_assert_int_eq(run("dlsc-train-denoiser", "--pair clean.wav noisy.wav --spec 'input 1x9x513; "
                                              "dense 100; sigmoid' --epochs 1"), 1);
  ck_assert(printed("dlsc-train-denoiser", "the spec must take 1 x 9 x 513 values"));
  ck_assert_int_eq(run("dlsc-train-denoiser", "--pair clean.wav noisy.wav --context 2,2 "
                                              "--spec 'input 1x3x513; dense 513' --epochs 1"),
                   2);
  ck_assert(printed("dlsc-train-denoiser", "--context 2,2 makes a window of 5 frames; the "
                                           "spec's input has 3"));
  /* a spec it cannot build: the message quotes the item at fault */
  ck_assert_int_eq(run("dlsc-train-denoiser", "--pair clean.wav noisy.wav --spec 'input 1x3x513; "
                                              "log; conv2d 8 5x5; dense 513' --epochs 1"),
                   1);
  ck_assert(printed("dlsc-train-denoiser", "model spec: shapes do not match, at \"conv2d 8 5x5\""));
  /* numbers that are not numbers, or out of range: usage status and the option named
   * (the parts of two-part options too: a negative context wrapped round, NaN gains
   * passed every comparison) */
#define X63 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
  const char *const pairs[][2] = {{"--context -1,2", "--context: '-1' is not a whole number"},
                                  {"--context 4", "--context: '4' is not two values A,B"},
                                  /* parts of up to 63 characters: read, then refused */
                                  {"--context 4," X63, "--context: '" X63 "' is not a whole"},
                                  {"--context 4," X63 "x", "is not two values A,B"},
                                  /* past the library's 64 frames a side: refused as such,
                                   * not as a spec of the wrong shape */
                                  {"--context 65,0 --spec 'input 1x66x513; dense 513'",
                                   "--context: '65' is not a whole number from 0 to 64"},
                                  {"--noise-gain nan:3", "--noise-gain: 'nan' is not a number"},
                                  {"--noise-gain 5:3", "--noise-gain: '3' is not a number from 5"},
                                  {"--epochs 3x", "--epochs: '3x' is not a whole number from 1 to"},
                                  {"--speed -0.1", "--speed: '-0.1' is not a number from 0 to 1"},
                                  {"--wd 2", "--wd: '2' is not a number from 0 to 1"},
                                  {"--target clean", "usage: dlsc-train-denoiser"},
                                  /* an option of the folders' mode, refused, not ignored */
                                  {"--mixes 3", "usage: dlsc-train-denoiser"},
                                  {"--checkpoint c --out c.average.dlsc",
                                   "--out c.average.dlsc: a file of --checkpoint c"},
                                  /* the remixes' options without remixes */
                                  {"--remix 0 --speed 0.1", "; --remix 0 makes none"},
                                  {"--level 3 --remix 0", "; --remix 0 makes none"}};
  refused_with("dlsc-train-denoiser", "--pair clean.wav noisy.wav ", "", pairs,
               sizeof pairs / sizeof pairs[0], 2);
  /* options of the pair's mode, refused with folders of speech and noise */
  const char *const folders[][2] = {{"--full", "usage: dlsc-train-denoiser"},
                                    {"--listen l", "usage: dlsc-train-denoiser"},
                                    {"--remix 2", "usage: dlsc-train-denoiser"},
                                    {"--extra-speech 3", "usage: dlsc-train-denoiser"},
                                    {"--level 3", "mixtures of --general and of --speech/"},
                                    {"--noise-gain 0:3", "do not take them"},
                                    {"--speed 0.1", "do not take them"},
                                    {"--noise-speed 0.1", "do not take them"},
                                    {"--noise-overlay 10", "do not take them"}};
  refused_with("dlsc-train-denoiser", "--speech extra --noise extra-noise ", "", folders,
               sizeof folders / sizeof folders[0], 2);
  /* a --listen folder that cannot be made or written: refused before the training (it
   * was found out after it, when the files were written) */
  write_bytes("listen-file", "x", 1);
  const char *const listen[][2] = {{"--listen no-such/l", "--listen no-such/l: No such file"},
                                   {"--listen listen-file", "--listen listen-file: not a folder"}};
  refused_with("dlsc-train-denoiser", "--pair clean.wav noisy.wav ", "", listen, 2, 1);
  ck_assert(!printed("dlsc-train-denoiser", "epoch"));
  struct stat st; /* none of the refused runs wrote its model (the default denoiser.dlsc) */
  path_of(path, sizeof path, "denoiser.dlsc");
  ck_assert_int_ne(stat(path, &st), 0);
  free(clean);
  free(noisy);
}
END_TEST

enum { RECORD = 3073 }; /* CIFAR-10 binary: a label byte and 32 x 32 x 3 pixel bytes */

static void cifar_records(uint8_t *records, size_t count, uint64_t seed) {
  for (size_t r = 0; r < count; r++) {
    records[r * RECORD] = (uint8_t)(r % 10);
    for (size_t i = 1; i < RECORD; i++)
      records[r * RECORD + i] = (uint8_t)test_random(&seed);
  }
}

/* The training programs warn, before anything else, when OpenBLAS runs kernels older
 * than the CPU (here forced with OPENBLAS_CORETYPE=Prescott), and name the kernel set to
 * pick; with the kernels OpenBLAS chose for this machine they say nothing. */
START_TEST(training_programs_warn_of_old_blas_kernels) {
  const char *programs[] = {"dlsc-train-denoiser", "dlsc-cifar-train", "dlsc-cifar-transfer"};
  const char *arguments[] = {"--course --data no-such-dir", "--data no-such-dir --cache c",
                             "--data no-such-dir --cache c"};
  const char *config, *better;
  ck_assert_int_eq(dlsc_blas_info(&config, &better), DLSC_OK);
  for (int p = 0; p < 3; p++) {
    ck_assert_int_eq(run(programs[p], arguments[p]), 1);
    ck_assert_int_eq(printed(programs[p], "OPENBLAS_CORETYPE="), better != NULL);
  }
#if defined(__x86_64__) && defined(__GNUC__)
  if (!strstr(config, "DYNAMIC_ARCH"))
    return; /* OpenBLAS built for one CPU takes no OPENBLAS_CORETYPE */
  __builtin_cpu_init();
  bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  setenv("OPENBLAS_CORETYPE", "Prescott", 1);
  for (int p = 0; p < 3; p++) {
    ck_assert_int_eq(run(programs[p], arguments[p]), 1);
    ck_assert_int_eq(printed(programs[p], "warning: OpenBLAS runs kernels without AVX2"), avx2);
    ck_assert_int_eq(printed(programs[p], "set OPENBLAS_CORETYPE="), avx2);
  }
  unsetenv("OPENBLAS_CORETYPE");
#endif
}
END_TEST

/* The CIFAR programs unpack the archive into the cache once, by way of a temporary folder:
 * a damaged archive leaves the cache without a partial batches folder (that the next run
 * would take for the data), a good one leaves the batches folder only; folder names with
 * quotes pass to tar untouched (no shell between). */
START_TEST(cifar_programs_unpack_the_archive_whole_or_not_at_all) {
  char path[4400], command[9400];
  const char *cache = "it's cache";
  snprintf(command, sizeof command,
           "cd '%s' && rm -rf \"it's data\" \"it's cache\" cifar-10-batches-bin && "
           "mkdir \"it's data\" cifar-10-batches-bin", work);
  ck_assert_int_eq(system(command), 0); /* fresh from any earlier run */
  write_bytes("it's data/cifar-10-binary.tar.xz", "not an xz archive", 17);
  ck_assert_int_eq(run("dlsc-cifar-train", "--data \"it's data\" --cache \"it's cache\""), 1);
  ck_assert(printed("dlsc-cifar-train", "unpacking it's data/cifar-10-binary.tar.xz failed"));
  ck_assert_uint_eq(entries_in(cache, NULL), 0);
  /* a small archive of the same layout: unpacked, then refused for its size */
  uint8_t *records = malloc(4 * RECORD);
  cifar_records(records, 4, 3);
  write_bytes("cifar-10-batches-bin/test_batch.bin", records, 4 * RECORD);
  for (int b = 1; b <= 5; b++) {
    char name[64];
    snprintf(name, sizeof name, "cifar-10-batches-bin/data_batch_%d.bin", b);
    write_bytes(name, records, 4 * RECORD);
  }
  free(records);
  snprintf(command, sizeof command,
           "cd '%s' && tar -cJf \"it's data/cifar-10-binary.tar.xz\" cifar-10-batches-bin && "
           "rm -r cifar-10-batches-bin", work);
  ck_assert_int_eq(system(command), 0);
  ck_assert_int_eq(run("dlsc-cifar-train", "--data \"it's data\" --cache \"it's cache\""), 1);
  ck_assert(printed("dlsc-cifar-train", "expected 50,000 training records, found 20"));
  ck_assert_uint_eq(entries_in(cache, NULL), 1); /* the batches' folder only */
  ck_assert_uint_eq(entries_in(cache, "cifar-10-batches-bin"), 0);
  path_of(path, sizeof path, "it's cache/cifar-10-batches-bin/test_batch.bin");
  ck_assert_int_eq(access(path, R_OK), 0);
}
END_TEST

START_TEST(cifar_programs_refuse_bad_batches) {
  uint8_t *records = malloc(4 * RECORD);
  cifar_records(records, 4, 3);
  const char *programs[] = {"dlsc-cifar-train", "dlsc-cifar-transfer"};
  const char *epochs[] = {"--epochs 1", "--pretext-epochs 1"};
  for (int damage = 0; damage < 2; damage++) {
    const char *cache = damage ? "cifar-label" : "cifar-short";
    char name[128], path[4400];
    path_of(path, sizeof path, cache);
    mkdir(path, 0777);
    snprintf(name, sizeof name, "%s/cifar-10-batches-bin", cache);
    path_of(path, sizeof path, name);
    mkdir(path, 0777);
    snprintf(name, sizeof name, "%s/cifar-10-batches-bin/test_batch.bin", cache);
    write_bytes(name, records, 4 * RECORD);
    snprintf(name, sizeof name, "%s/cifar-10-batches-bin/data_batch_1.bin", cache);
    if (damage) { /* whole records, the third labelled 12 */
      records[2 * RECORD] = 12;
      write_bytes(name, records, 4 * RECORD);
      records[2 * RECORD] = 2;
    } else { /* cut inside the third record */
      write_bytes(name, records, 2 * RECORD + 100);
    }
    for (int p = 0; p < 2; p++) {
      char arguments[128];
      snprintf(arguments, sizeof arguments, "--cache %s %s", cache, epochs[p]);
      ck_assert_int_eq(run(programs[p], arguments), 1);
      ck_assert_msg(printed(programs[p], damage ? "record 2 has a label above 9" : "is truncated"),
                    "%s gave no clear message for %s", programs[p], cache);
    }
  }
  /* options refused with their message (exit status 2: usage) before any data is read;
   * a missing teacher file once it is loaded (1) */
  const struct { const char *program, *arguments; int status; const char *message; } refusals[] = {
      {"dlsc-cifar-train", "--lr fast", 2, "--lr: 'fast' is not a number"},
      /* --full trains on every labeled image: a draw of some is a contradiction */
      {"dlsc-cifar-train", "--full --labels 100", 2, "usage: dlsc-cifar-train"},
      {"dlsc-cifar-train", "--momentum 1.5", 2, "--momentum: '1.5' is not a number from 0 to 0.999"},
      {"dlsc-cifar-train", "--logit-scale 0", 2,
       "--logit-scale: '0' is not a number from 0.001 to 1000"},
      /* an optimizer other than sgd or adam is refused, not taken for SGD */
      {"dlsc-cifar-train", "--optimizer adamw", 2, "usage: dlsc-cifar-train"},
      /* SGD's momentum with Adam, which has none: refused, not ignored (either order) */
      {"dlsc-cifar-train", "--optimizer adam --momentum 0.5", 2,
       "--momentum: a setting of SGD, not of --optimizer adam"},
      {"dlsc-cifar-train", "--momentum 0.5 --optimizer adam", 2, "--momentum: a setting of SGD"},
      /* whitening's images come from the 45,000 of the training split (50,000 were taken,
       * and 45,000 used) */
      {"dlsc-cifar-train", "--arch air --whiten 45001", 2,
       "--whiten: '45001' is not a whole number from 1 to 45000"},
      {"dlsc-cifar-transfer", "--labels 5", 2, "--labels: '5' is not a whole number from 10 to 45000"},
      /* an unknown augmentation is refused before any data is read */
      {"dlsc-cifar-transfer", "--self-augment sideways", 2, "usage: dlsc-cifar-transfer"},
      /* a pretext task other than rot3 or rot4 is refused, not taken for rot3 */
      {"dlsc-cifar-transfer", "--pretext rot-4", 2, "usage: dlsc-cifar-transfer"},
      /* a teacher labels the draw's other images: it needs a draw, and its count needs a
       * teacher */
      {"dlsc-cifar-train", "--teacher t.dlsc", 2, "usage: dlsc-cifar-train"},
      {"dlsc-cifar-train", "--labels 100 --pseudo 50", 2, "usage: dlsc-cifar-train"},
      {"dlsc-cifar-train", "--labels 100 --unlabeled 500", 2, "usage: dlsc-cifar-train"},
      {"dlsc-cifar-train", "--labels 100 --teacher no.dlsc", 1, "no.dlsc: "},
      /* --resume needs checkpoint files; a checkpoint is of stage 1, which
       * --load-pretext skips */
      {"dlsc-cifar-transfer", "--resume", 2, "usage: dlsc-cifar-transfer"},
      {"dlsc-cifar-transfer", "--checkpoint p --load-pretext p.dlsc", 2,
       "usage: dlsc-cifar-transfer"},
      /* a pretext model kept nowhere; a classifier no stage would train */
      {"dlsc-cifar-transfer", "--pretext-only", 2, "usage: dlsc-cifar-transfer"},
      {"dlsc-cifar-transfer", "--probe-epochs 0 --finetune-epochs 0", 2,
       "usage: dlsc-cifar-transfer"},
      {"dlsc-cifar-transfer", "--unlabeled 0", 2,
       "--unlabeled: '0' is not a whole number from 1 to 45000"},
      /* options of self-training without it */
      {"dlsc-cifar-transfer", "--pseudo 100", 2, "usage: dlsc-cifar-transfer"},
      {"dlsc-cifar-transfer", "--self-epochs 3 --self-train 0", 2, "usage: dlsc-cifar-transfer"},
      /* and of fine-tuning without it */
      {"dlsc-cifar-transfer", "--finetune-epochs 0 --layer-decay 0.5", 2,
       "usage: dlsc-cifar-transfer"},
      /* a model, pretext model or checkpoint that could not be written: refused before
       * the data is read, not after the training */
      {"dlsc-cifar-train", "--out no-such/m.dlsc", 1, "cannot write no-such/m.dlsc: No such file"},
      {"dlsc-cifar-train", "--checkpoint no-such/c", 1, "cannot write no-such/c: No such file"},
      {"dlsc-cifar-transfer", "--save-pretext no-such/p.dlsc", 1,
       "cannot write no-such/p.dlsc: No such file"},
      /* a file the checkpoint keeps rewriting, named as an output: the default --out
       * cifar.dlsc of --checkpoint cifar too */
      {"dlsc-cifar-train", "--checkpoint cifar", 2,
       "--out cifar.dlsc: a file of --checkpoint cifar, which the run keeps rewriting"},
      {"dlsc-cifar-transfer", "--checkpoint p --save-pretext p.best.dlsc", 2,
       "--save-pretext p.best.dlsc: a file of --checkpoint p"},
      {"dlsc-cifar-transfer", "--checkpoint p --out p.state", 2, "--out p.state: a file of"},
  };
  for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
    char arguments[256];
    snprintf(arguments, sizeof arguments, "--cache cifar-short %s", refusals[i].arguments);
    ck_assert_msg(run(refusals[i].program, arguments) == refusals[i].status, "%s %s",
                  refusals[i].program, arguments);
    ck_assert_msg(printed(refusals[i].program, refusals[i].message), "%s %s: no '%s'",
                  refusals[i].program, arguments, refusals[i].message);
  }
  /* a model that is not a CIFAR-10 classifier is refused as a teacher before the data */
  const char *not_classifiers[] = {"input 3x32x32; conv2d 4 3x3; relu; gap; dense 4",
                                   "input 1x9x513; conv2d 4 3x3; relu; gap; dense 10"};
  for (int i = 0; i < 2; i++) {
    dlsc_model_t *model;
    char path[4400];
    ck_assert_ok(dlsc_model_create_from_spec(not_classifiers[i], 5, &model));
    path_of(path, sizeof path, "not-cifar.dlsc");
    ck_assert_ok(dlsc_model_save_file(model, path));
    dlsc_model_destroy(model);
    ck_assert_int_eq(run("dlsc-cifar-train", "--cache cifar-short --labels 100 --teacher "
                                             "not-cifar.dlsc"), 1);
    ck_assert_msg(printed("dlsc-cifar-train", "not-cifar.dlsc: not a CIFAR-10 classifier"),
                  "no message for %s", not_classifiers[i]);
    ck_assert(!printed("dlsc-cifar-train", "is truncated")); /* refused before the data */
    /* nor is it a pretext model of the tiny CNN: refused before the data too */
    ck_assert_int_eq(run("dlsc-cifar-transfer", "--cache cifar-short --load-pretext "
                                                "not-cifar.dlsc"), 1);
    ck_assert_msg(printed("dlsc-cifar-transfer", "not-cifar.dlsc: not a pretext model of arch "
                                                 "tiny (its first 8 layers are not that backbone)"),
                  "no message for %s", not_classifiers[i]);
    ck_assert(!printed("dlsc-cifar-transfer", "is truncated"));
  }
  ck_assert_int_eq(run("dlsc-cifar-transfer", "--cache cifar-short --load-pretext no.dlsc"), 1);
  ck_assert(printed("dlsc-cifar-transfer", "cannot load no.dlsc: No such file or directory"));
  /* a classifier as the teacher, then the truncated data: refused with the data's reason
   * (and, in the sanitized build, with the teacher freed) */
  dlsc_model_t *teacher;
  char teacher_path[4400];
  ck_assert_ok(dlsc_model_create_from_spec("input 3x32x32; conv2d 4 3x3; relu; gap; dense 10", 5,
                                           &teacher));
  path_of(teacher_path, sizeof teacher_path, "teacher-short.dlsc");
  ck_assert_ok(dlsc_model_save_file(teacher, teacher_path));
  dlsc_model_destroy(teacher);
  ck_assert_int_eq(run("dlsc-cifar-train", "--cache cifar-short --labels 100 --teacher "
                                           "teacher-short.dlsc"), 1);
  ck_assert(printed("dlsc-cifar-train", "is truncated"));
  free(records);
}
END_TEST

/* dlsc-cifar-train --checkpoint, stopped by Ctrl-C and resumed, ends where the same run
 * without a stop ends: the same final model, checkpoint files and CSV rows, to the bit.
 * Needs the real CIFAR-10 archive (skipped without it); unpacked once into the build
 * folder, as the integration tests do. */
static void cifar_command(char *arguments, size_t size, const char *prefix, const char *data) {
  snprintf(arguments, size,
           "--arch tiny --labels 100 --epochs 4 --lr 0.02 --augment flip-crop --seed 3 "
           "--data '%s' --cache '%s/cifar' --checkpoint %s --out %s-out.dlsc --csv %s.csv "
           "--confusion %s-confusion.csv",
           data, DLSC_BUILD_DIR, prefix, prefix, prefix, prefix);
}

/* The folder of the real CIFAR-10 archive ($DLSC_DATA, else ../shared/data); NULL, with
 * a note that the test named is skipped, where there is none. */
static const char *cifar_data(const char *test) {
  const char *data = getenv("DLSC_DATA");
  if (!data || !*data)
    data = getenv("DLSC_DATA_DEFAULT");
  char archive[4400];
  struct stat st;
  snprintf(archive, sizeof archive, "%s/cifar-10-binary.tar.xz", data ? data : "");
  if (!data || stat(archive, &st) != 0) {
    fprintf(stderr, "no CIFAR-10 archive at '%s': %s test skipped\n", archive, test);
    return NULL;
  }
  return data;
}

/* dlsc-cifar-train --checkpoint, stopped by Ctrl-C and resumed, ends bit for bit where
 * the same run without a stop ends; a checkpoint of another model, or resumed with other
 * training settings, is refused and left as it was. */
START_TEST(cifar_train_resumes_after_ctrl_c) {
  const char *data = cifar_data("resume");
  if (!data)
    return;
  char arguments[4000];
  cifar_command(arguments, sizeof arguments, "whole", data);
  ck_assert_int_eq(run("dlsc-cifar-train", arguments), 0);
  /* the same run, interrupted after its second epoch's line */
  cifar_command(arguments, sizeof arguments, "stopped", data);
  interrupt_after("dlsc-cifar-train", arguments, "stopped", "epoch   2 ");
  ck_assert(!same_file("whole.dlsc", "stopped.dlsc")); /* it did stop early */
  char resume[4100];
  snprintf(resume, sizeof resume, "%s --resume", arguments);
  ck_assert_int_eq(run("dlsc-cifar-train", resume), 0);
  ck_assert(printed("dlsc-cifar-train", "resuming after epoch "));
  ck_assert(same_file("whole-out.dlsc", "stopped-out.dlsc"));
  assert_blas_recorded("whole-out.dlsc");
  ck_assert(same_file("whole.dlsc", "stopped.dlsc"));
  ck_assert(same_file("whole.state", "stopped.state"));
  ck_assert(same_file("whole.best.dlsc", "stopped.best.dlsc"));
  /* the CSV rows match but for the seconds column */
  for (int i = 0; i < 2; i++) {
    char name[32], cut[64];
    snprintf(name, sizeof name, "%s.csv", i ? "stopped" : "whole");
    snprintf(cut, sizeof cut, "%s-rows.csv", i ? "stopped" : "whole");
    char shell[4300];
    snprintf(shell, sizeof shell, "cd '%s' && cut -d, -f1-5 %s > %s", work, name, cut);
    ck_assert_int_eq(system(shell), 0);
  }
  ck_assert(same_file("whole-rows.csv", "stopped-rows.csv"));
  /* a checkpoint of another model is refused with a message */
  cifar_command(arguments, sizeof arguments, "stopped", data);
  snprintf(resume, sizeof resume, "%s --resume --arch mid", arguments);
  ck_assert_int_eq(run("dlsc-cifar-train", resume), 1);
  ck_assert(printed("dlsc-cifar-train", "stopped.dlsc: not a checkpoint of this model"));
  /* nor goes on with other settings than the run that wrote it: the ones that differ
   * are named, and the checkpoint is left as it was */
  snprintf(resume, sizeof resume, "%s --resume --lr 0.01 --seed 4 --epochs 5", arguments);
  ck_assert_int_eq(run("dlsc-cifar-train", resume), 1);
  ck_assert(printed("dlsc-cifar-train", "stopped.dlsc: written by a run with other settings; "
                                        "--resume needs the options of that run:\n"));
  ck_assert(printed("dlsc-cifar-train", "\n  epochs: 4 there, 5 here\n"));
  ck_assert(printed("dlsc-cifar-train", "\n  lr: 0.02 there, 0.01 here\n"));
  ck_assert(printed("dlsc-cifar-train", "\n  seed: 3 there, 4 here\n"));
  assert_checkpoint_settings("stopped.dlsc",
                             "arch=tiny\naugment=flip-crop\nlabels=100\nfull=0\nteacher=\n"
                             "pseudo=2000\nunlabeled=0\nepochs=4\nbatch=128\noptimizer=sgd\n"
                             "lr=0.02\nwd=0.0005\nsmoothing=0\nmomentum=0.9\nwarmup=1\n"
                             "lookahead=0\nbn-fixed-scale=0\nbn-bias-rate=1\nlogit-scale=1\n"
                             "dirac=0\nwhiten=0\nseed=3\n");
  ck_assert(!printed("dlsc-cifar-train", "  batch:"));
  ck_assert(same_file("whole.dlsc", "stopped.dlsc"));
  ck_assert(same_file("whole.state", "stopped.state"));
  /* what only the test or the output takes may change */
  snprintf(resume, sizeof resume, "%s --resume --tta --run again", arguments);
  ck_assert_int_eq(run("dlsc-cifar-train", resume), 0);
  ck_assert(printed("dlsc-cifar-train", "again: best validation "));
  ck_assert_int_eq(run("dlsc-cifar-train", "--resume"), 2); /* --resume needs --checkpoint */
}
END_TEST

/* The rows of a CSV file in work, all but the last column (the seconds), one per line. */
static void csv_rows(const char *name, char *rows, size_t size) {
  char path[4400], line[512];
  path_of(path, sizeof path, name);
  FILE *file = fopen(path, "r");
  ck_assert_msg(file != NULL, "no %s", path);
  size_t used = 0;
  rows[0] = 0;
  while (fgets(line, sizeof line, file)) {
    char *last = strrchr(line, ',');
    ck_assert_ptr_nonnull(last);
    *last = 0;
    used += (size_t)snprintf(rows + used, size - used, "%s\n", line);
    ck_assert_uint_lt(used, size);
  }
  fclose(file);
}

/* How many test images a CIFAR program's confusion matrix (CSV in work) counts right,
 * after checking its header and that each class has its 1,000 test images. */
static size_t test_confusion_right(const char *name) {
  char path[4400], line[512];
  path_of(path, sizeof path, name);
  FILE *file = fopen(path, "r");
  ck_assert_msg(file != NULL, "no %s", path);
  ck_assert_ptr_nonnull(fgets(line, sizeof line, file));
  ck_assert_str_eq(line, "true\\predicted,airplane,automobile,bird,cat,deer,dog,frog,horse,"
                         "ship,truck\n");
  size_t right = 0;
  for (int c = 0; c < 10; c++) {
    ck_assert_ptr_nonnull(fgets(line, sizeof line, file));
    char *field = strchr(line, ',');
    size_t sum = 0;
    for (int p = 0; p < 10; p++) {
      ck_assert_ptr_nonnull(field);
      char *end;
      unsigned long count = strtoul(field + 1, &end, 10);
      sum += count;
      right += p == c ? count : 0;
      field = strchr(end, ',');
    }
    ck_assert_ptr_null(field);
    ck_assert_uint_eq(sum, 1000);
  }
  ck_assert_ptr_null(fgets(line, sizeof line, file));
  fclose(file);
  return right;
}

/* dlsc-cifar-transfer end to end on the real archive, small (10 labels, 1,000 unlabeled
 * images, an epoch a stage; skipped without the archive): every stage leaves its rows
 * in the CSV; its confusion matrix, the test accuracy it prints and dlsc-classify on the
 * model it saved agree; its saved pretext model, loaded, gives the same classifier to the
 * bit; a fine-tuning that validates no higher than the probe is undone; --backbone-lr
 * and --layer-decay move the layers they name and no others, --self-backbone-lr 0 keeps
 * the backbone, and --pretext-all pre-trains on the labeled images' pixels too; stage
 * 1's checkpoint resumed with other options of stage 1 is refused, with another of the
 * later stages taken. */
START_TEST(cifar_transfer_runs_every_stage) {
  const char *data = cifar_data("transfer");
  if (!data)
    return;
  char common[4400], arguments[4800], rows[4096];
  snprintf(common, sizeof common,
           "--arch tiny --labels 10 --unlabeled 1000 --pretext-epochs 1 --probe-epochs 1 "
           "--finetune-epochs 1 --seed 3 --data '%s' --cache '%s/cifar'", data, DLSC_BUILD_DIR);
  snprintf(arguments, sizeof arguments, "%s --self-train 1 --self-epochs 1 --pseudo 5 "
           "--save-pretext t-pretext.dlsc --out t.dlsc --csv t.csv --confusion t-confusion.csv",
           common);
  ck_assert_int_eq(run("dlsc-cifar-transfer", arguments), 0);
  ck_assert(printed("dlsc-cifar-transfer", "10 labeled, 6000 unlabeled images; 5000 validation, "
                                           "10000 test"));
  const char *at = log_after("dlsc-cifar-transfer", "TEST accuracy ");
  ck_assert_ptr_nonnull(at);
  double accuracy = strtod(at, NULL);
  csv_rows("t.csv", rows, sizeof rows);
  ck_assert_int_eq(strncmp(rows, "run,epoch,train_loss,train_accuracy,validation_accuracy\n", 55), 0);
  const char *runs[] = {"pretext,1,", "probe,1,", "finetune,1,", "self1,1,"};
  const char *row = strchr(rows, '\n') + 1;
  for (int i = 0; i < 4; i++, row = strchr(row, '\n') + 1)
    ck_assert_msg(!strncmp(row, runs[i], strlen(runs[i])), "row %d: %.40s", i + 1, row);
  ck_assert_str_eq(row, "");
  /* the confusion matrix: 1,000 test images per class, its diagonal the accuracy printed */
  size_t right = test_confusion_right("t-confusion.csv");
  ck_assert_double_eq_tol(accuracy, (double)right / 100.0, 0.005 + 1e-9);
  char expected[64];
  snprintf(arguments, sizeof arguments, "--model t.dlsc '%s/cifar/cifar-10-batches-bin/test_batch.bin'",
           DLSC_BUILD_DIR);
  ck_assert_int_eq(run("dlsc-classify", arguments), 0);
  snprintf(expected, sizeof expected, "\n%zu of 10000 labeled images right", right);
  ck_assert_msg(printed("dlsc-classify", expected), "dlsc-classify: not%s", expected);
  /* the pretext model saved and loaded: the same classifier, the same test */
  snprintf(arguments, sizeof arguments, "%s --self-train 1 --self-epochs 1 --pseudo 5 "
           "--load-pretext t-pretext.dlsc --out u.dlsc --csv u.csv --confusion u-confusion.csv",
           common);
  ck_assert_int_eq(run("dlsc-cifar-transfer", arguments), 0);
  ck_assert(printed("dlsc-cifar-transfer", "pretext model from t-pretext.dlsc"));
  ck_assert(same_file("t.dlsc", "u.dlsc"));
  ck_assert(same_file("t-confusion.csv", "u-confusion.csv"));
  /* at a rate too small to change a weight, fine-tuning cannot validate above the probe:
   * undone, the model is the one that only the probe trained */
  snprintf(arguments, sizeof arguments, "%s --load-pretext t-pretext.dlsc --lr 1e-9 --out "
           "v.dlsc --csv v.csv --confusion v-confusion.csv", common);
  ck_assert_int_eq(run("dlsc-cifar-transfer", arguments), 0);
  ck_assert(printed("dlsc-cifar-transfer", "fine-tuning undone (validation "));
  char probe[32];
  at = log_after("dlsc-cifar-transfer", "probe (frozen backbone, new head): validation ");
  ck_assert_ptr_nonnull(at);
  snprintf(probe, sizeof probe, "(validation %.*s),", (int)strcspn(at, "\n"), at);
  ck_assert_msg(printed("dlsc-cifar-transfer", probe), "the model tested is not the probe's");
  snprintf(arguments, sizeof arguments, "%s --load-pretext t-pretext.dlsc --lr 1e-9 "
           "--finetune-epochs 0 --out w.dlsc --csv w.csv --confusion w-confusion.csv", common);
  ck_assert_int_eq(run("dlsc-cifar-transfer", arguments), 0);
  ck_assert(same_file("v.dlsc", "w.dlsc"));
  /* per-layer rates count the layers with weights (the tiny backbone: convolutions 0
   * and 3, dense 6, its top a ReLU): at backbone rate 1 and decay 0 fine-tuning (no
   * probe before it, so nothing to undo) moves the dense layer and no convolution */
  snprintf(arguments, sizeof arguments, "%s --load-pretext t-pretext.dlsc --probe-epochs 0 "
           "--backbone-lr 1 --layer-decay 0 --out x.dlsc --csv x.csv --confusion x-confusion.csv",
           common);
  ck_assert_int_eq(run("dlsc-cifar-transfer", arguments), 0);
  ck_assert(printed("dlsc-cifar-transfer", "(all layers, backbone x1, decay x0 per layer)"));
  ck_assert(same_weights("t-pretext.dlsc", "x.dlsc", 0));
  ck_assert(same_weights("t-pretext.dlsc", "x.dlsc", 3));
  ck_assert(!same_weights("t-pretext.dlsc", "x.dlsc", 6));
  /* self-training at backbone rate 0 (its round kept: nothing validated before it)
   * trains the head alone */
  snprintf(arguments, sizeof arguments, "%s --load-pretext t-pretext.dlsc --probe-epochs 0 "
           "--finetune-epochs 0 --self-train 1 --self-epochs 1 --pseudo 5 --self-backbone-lr 0 "
           "--out y.dlsc --csv y.csv --confusion y-confusion.csv", common);
  ck_assert_int_eq(run("dlsc-cifar-transfer", arguments), 0);
  ck_assert(!printed("dlsc-cifar-transfer", "undone"));
  for (size_t layer = 0; layer < 8; layer++)
    ck_assert_msg(same_weights("t-pretext.dlsc", "y.dlsc", layer), "layer %zu moved", layer);
  csv_rows("y.csv", rows, sizeof rows);
  ck_assert_ptr_nonnull(strstr(rows, "\nself1,1,")); /* the round ran */
  /* stage 1's checkpoint resumed: with other options of stage 1 refused, with other
   * options of the later stages taken */
  snprintf(arguments, sizeof arguments, "%s --pretext-all --pretext-only --checkpoint tp --csv "
           "tp.csv", common);
  ck_assert_int_eq(run("dlsc-cifar-transfer", arguments), 0);
  /* (--pretext-all: the labeled images' pixels join the pretext set) */
  ck_assert(printed("dlsc-cifar-transfer", "10 labeled, 6010 unlabeled images; 5000 validation, "
                                           "10000 test"));
  snprintf(arguments, sizeof arguments, "%s --pretext-all --pretext-only --checkpoint tp --resume "
           "--csv tp.csv --lr 0.01 --batch 64", common);
  ck_assert_int_eq(run("dlsc-cifar-transfer", arguments), 1);
  ck_assert(printed("dlsc-cifar-transfer", "tp.dlsc: written by a run with other settings"));
  ck_assert(printed("dlsc-cifar-transfer", "\n  lr: 0.05 there, 0.01 here\n"));
  ck_assert(printed("dlsc-cifar-transfer", "\n  batch: 128 there, 64 here\n"));
  assert_checkpoint_settings("tp.dlsc", "arch=tiny\npretext=rot3\nlabels=10\nunlabeled=1000\n"
                                        "pretext-all=1\npretext-epochs=1\nlr=0.05\nbatch=128\n"
                                        "seed=3\n");
  snprintf(arguments, sizeof arguments, "%s --pretext-all --pretext-only --checkpoint tp --resume "
           "--csv tp.csv --backbone-lr 0.5", common);
  ck_assert_int_eq(run("dlsc-cifar-transfer", arguments), 0);
  ck_assert(printed("dlsc-cifar-transfer", "resuming after epoch 1 of tp"));
}
END_TEST

/* dlsc-cifar-train with the options of the recorded experiments, small (tiny CNN, 100
 * labels; skipped without the archive): a teacher's pseudo-labels (six views of 1,000
 * unlabeled images) join the draw before the original's expansion copies each image
 * four times, identity-initialised filters, lookahead, scaled logits, label smoothing,
 * Adam and the mirrored and shifted test views run together, and the test accuracy
 * printed is the confusion matrix's. */
START_TEST(cifar_train_runs_the_experiment_options) {
  const char *data = cifar_data("experiment options");
  if (!data)
    return;
  char common[4400], arguments[4800];
  snprintf(common, sizeof common, "--arch tiny --labels 100 --seed 4 --data '%s' --cache '%s/cifar'",
           data, DLSC_BUILD_DIR);
  snprintf(arguments, sizeof arguments, "%s --epochs 1 --lr 0.02 --out teacher.dlsc --csv "
           "teacher.csv --confusion teacher-confusion.csv", common);
  ck_assert_int_eq(run("dlsc-cifar-train", arguments), 0);
  snprintf(arguments, sizeof arguments,
           "%s --teacher teacher.dlsc --unlabeled 1000 --pseudo 20 --augment original --dirac "
           "--lookahead --logit-scale 0.5 --smoothing 0.1 --optimizer adam --warmup 2 --epochs 5 "
           "--tta-shift --tta "
           "--run options --out options.dlsc --csv options.csv --confusion options-confusion.csv",
           common);
  ck_assert_int_eq(run("dlsc-cifar-train", arguments), 0);
  const char *at = log_after("dlsc-cifar-train", "teacher teacher.dlsc: ");
  ck_assert_ptr_nonnull(at);
  unsigned long pseudo = strtoul(at, NULL, 10);
  ck_assert_uint_gt(pseudo, 0);
  ck_assert_uint_le(pseudo, 200); /* at most 20 per class */
  char expected[128];
  snprintf(expected, sizeof expected, "options: %lu training images (augmentation: original)",
           4 * (100 + pseudo));
  ck_assert_msg(printed("dlsc-cifar-train", expected), "not \"%s\"", expected);
  ck_assert(printed("dlsc-cifar-train", ", identity-initialised filters\n"));
  at = log_after("dlsc-cifar-train", "; TEST accuracy ");
  ck_assert_ptr_nonnull(at);
  double accuracy = strtod(at, NULL);
  ck_assert(printed("dlsc-cifar-train", "% (flip and shift TTA); ")); /* --tta keeps the shift */
  ck_assert_double_eq_tol(accuracy, (double)test_confusion_right("options-confusion.csv") / 100.0,
                          0.005 + 1e-9);
  /* whitening needs a first layer made for it: refused before the data is read */
  snprintf(arguments, sizeof arguments, "%s --whiten 500", common);
  ck_assert_int_eq(run("dlsc-cifar-train", arguments), 2);
  ck_assert(printed("dlsc-cifar-train", "--whiten: arch tiny has no whitening layer"));
  /* nor batch-norm layers for airbench's rates to act on */
  snprintf(arguments, sizeof arguments, "%s --bn-bias-rate 64", common);
  ck_assert_int_eq(run("dlsc-cifar-train", arguments), 2);
  ck_assert(printed("dlsc-cifar-train", "--bn-fixed-scale, --bn-bias-rate: arch tiny has no "
                                        "batch-norm layer"));
}
END_TEST

/* dlsc-train-denoiser --checkpoint, stopped by Ctrl-C and resumed, ends bit for bit
 * where the same run without a stop ends: remixes (with speed perturbation and overlay),
 * dropout, the schedule, the best epoch and the weight average all carry over; resumed
 * with other settings, it refuses; with a constant rate, a larger --epochs trains on. */
START_TEST(train_denoiser_resumes_after_ctrl_c) {
  write_pair("resume", 5);
  const char *common = "--pair resume-clean.wav resume-noisy.wav --spec 'input 1x3x513; log; "
                       "batchnorm; dense 32; relu; dropout 0.2; dense 513; sigmoid' --epochs 12 "
                       "--average 4 --remix 12 --speed 0.1 --noise-overlay 6";
  char arguments[1024];
  snprintf(arguments, sizeof arguments, "%s --checkpoint whole --out whole-out.dlsc --csv whole.csv",
           common);
  ck_assert_int_eq(run("dlsc-train-denoiser", arguments), 0);
  snprintf(arguments, sizeof arguments,
           "%s --checkpoint stopped --out stopped-first.dlsc --csv stopped.csv", common);
  /* after epoch 9, in the average's window (epochs 9-12) */
  interrupt_after("dlsc-train-denoiser", arguments, "stopped", "\nepoch   9 ");
  ck_assert(!same_file("whole.dlsc", "stopped.dlsc")); /* it did stop early */
  snprintf(arguments, sizeof arguments,
           "%s --checkpoint stopped --resume --out stopped-out.dlsc --csv stopped.csv", common);
  ck_assert_int_eq(run("dlsc-train-denoiser", arguments), 0);
  ck_assert(printed("dlsc-train-denoiser", "resuming after epoch "));
  ck_assert(printed("dlsc-train-denoiser", "average of the last 4 epochs"));
  const char *suffixes[] = {"-out.dlsc", ".dlsc", ".state", ".best.dlsc", ".average.dlsc"};
  for (int i = 0; i < 5; i++) {
    char a[64], b[64];
    snprintf(a, sizeof a, "whole%s", suffixes[i]);
    snprintf(b, sizeof b, "stopped%s", suffixes[i]);
    ck_assert_msg(same_file(a, b), "%s and %s differ", a, b);
  }
  /* a resumed run with other settings is refused, the ones that differ named; a
   * larger --epochs among them here, with its cosine schedule and average */
  snprintf(arguments, sizeof arguments, "%s --checkpoint stopped --resume --remix 2 --epochs 13 "
           "--out refused.dlsc", common);
  ck_assert_int_eq(run("dlsc-train-denoiser", arguments), 1);
  ck_assert(printed("dlsc-train-denoiser", "stopped.dlsc: written by a run with other settings"));
  ck_assert(printed("dlsc-train-denoiser", "\n  remix: 12 there, 2 here\n"));
  ck_assert(printed("dlsc-train-denoiser", "\n  epochs: 12 there, 13 here\n"));
  assert_checkpoint_settings(
      "stopped.dlsc",
      "data=pair\npair=resume-clean.wav resume-noisy.wav\nspeech-noise= \nspec=input 1x3x513; "
      "log; batchnorm; dense 32; relu; dropout 0.2; dense 513; sigmoid\ncontext=0,2\n"
      "stft=1024/256\ntarget=1\nbatch=64\nlr=0.001\nwd=0\nconstant-lr=0\naverage=4\n"
      "epochs=12\nfull=0\nremix=12\nlevel=10\nnoise-gain-low=-3\nnoise-gain-high=9\n"
      "speed=0.1\nnoise-speed=0\nnoise-overlay=6\neq=0\nextra-speech=0 \nextra-noise-dir=\n"
      "mixes=2\ninit=\nseed=1\n");
  ck_assert(same_file("whole.state", "stopped.state"));
  /* at a constant rate without an average, a larger --epochs trains on: 3 epochs, then
   * resumed to 5, end where 5 from the start end */
  const char *constant = "--pair resume-clean.wav resume-noisy.wav --spec 'input 1x3x513; log; "
                         "batchnorm; dense 32; relu; dense 513; sigmoid' --remix 2 --constant-lr";
  snprintf(arguments, sizeof arguments, "%s --epochs 5 --checkpoint five --out five-out.dlsc "
           "--csv five.csv", constant);
  ck_assert_int_eq(run("dlsc-train-denoiser", arguments), 0);
  snprintf(arguments, sizeof arguments, "%s --epochs 3 --checkpoint three --out three-out.dlsc "
           "--csv three.csv", constant);
  ck_assert_int_eq(run("dlsc-train-denoiser", arguments), 0);
  snprintf(arguments, sizeof arguments, "%s --epochs 5 --checkpoint three --resume --out "
           "three-out.dlsc --csv three.csv", constant);
  ck_assert_int_eq(run("dlsc-train-denoiser", arguments), 0);
  ck_assert(printed("dlsc-train-denoiser", "resuming after epoch 3 of three"));
  ck_assert(same_file("five-out.dlsc", "three-out.dlsc"));
  ck_assert(same_file("five.state", "three.state"));
  /* settings past a metadata value's 4095 bytes (here a spec padded with blanks) are
   * refused with --checkpoint, before any training; without one they train */
  char *padded = malloc(9000);
  ck_assert_ptr_nonnull(padded);
  int at = snprintf(padded, 9000, "--pair resume-clean.wav resume-noisy.wav --epochs 1 --spec "
                                  "'input 1x3x513;");
  memset(padded + at, ' ', 4100);
  snprintf(padded + at + 4100, 9000 - (size_t)at - 4100,
           "dense 513; sigmoid' --out long-out.dlsc --csv long.csv");
  ck_assert_int_eq(run("dlsc-train-denoiser", padded), 0);
  strcat(padded, " --checkpoint long");
  ck_assert_int_eq(run("dlsc-train-denoiser", padded), 2);
  ck_assert(printed("dlsc-train-denoiser", "spec: the run's settings are too long to record "
                                           "with a checkpoint"));
  ck_assert(!printed("dlsc-train-denoiser", "epoch"));
  free(padded);
  /* --resume needs --checkpoint */
  ck_assert_int_eq(run("dlsc-train-denoiser", "--pair resume-clean.wav resume-noisy.wav --resume"), 2);
  ck_assert(printed("dlsc-train-denoiser", "usage: dlsc-train-denoiser"));
}
END_TEST

/* dlsc-model-info: the shipped model's shapes, memory, STFT, latencies and metadata; a
 * model that is not a denoiser; long metadata values cut; a file that is not a model. */
START_TEST(model_info_describes_models) {
  ck_assert_int_eq(run("dlsc-model-info", "'" DLSC_SHIPPED_MODEL "'"), 0);
  ck_assert(printed("dlsc-model-info", "9 layers, 525571 parameters, input 1x5x513, output "
                                       "513x1x1\n"));
  ck_assert(printed("dlsc-model-info", "spec: input 1x5x513; log; batchnorm; avgpool 1x2; "
                                       "dense 256; relu; dense 256; relu; dense 513; sigmoid\n"));
  ck_assert(printed("dlsc-model-info", "memory: 2.0 MiB to predict one example, 7.0 MiB for 256 "
                                       "at a time, 21.7 MiB to train in batches of 32\n"
                                       "  compute: 524544 multiply-adds per example\n"));
  ck_assert(printed("dlsc-model-info", "denoising: n_fft 1024, hop 512, Hann window, 3 frames "
                                       "before and 1 after, mask output\n"));
  ck_assert(printed("dlsc-model-info", "stream latency: 1535 samples at 16000 Hz (95.9 ms), "
                                       "4811 samples at 48000 Hz (100.2 ms)\n"));
  ck_assert(printed("dlsc-model-info", "metadata: 2 keys\n    dlsc.sample_rate = 16000\n"));
  dlsc_model_t *model;
  ck_assert_ok(dlsc_model_create_from_spec("input 3x8x8; conv2d 4 3x3; relu; dense 10", 1, &model));
  char long_value[1001], path[4400];
  memset(long_value, 'x', 1000);
  long_value[1000] = '\0';
  ck_assert_ok(dlsc_model_set_metadata(model, "notes", long_value));
  path_of(path, sizeof path, "classifier.dlsc");
  ck_assert_ok(dlsc_model_save_file(model, path));
  dlsc_model_destroy(model);
  ck_assert_int_eq(run("dlsc-model-info", "classifier.dlsc"), 0);
  ck_assert(printed("dlsc-model-info", "denoising: no (not a denoising model)\n"));
  ck_assert(printed("dlsc-model-info", "metadata: 1 key\n    notes = xxxx"));
  ck_assert(printed("dlsc-model-info", "... (1000 bytes)\n"));
  /* a file that does not load: a message, exit 1, the other files still described */
  path_of(path, sizeof path, "not-a-model.txt");
  FILE *file = fopen(path, "w");
  ck_assert_ptr_nonnull(file);
  fputs("DLSCMODL, but no more\n", file);
  fclose(file);
  ck_assert_int_eq(run("dlsc-model-info", "not-a-model.txt classifier.dlsc"), 1);
  ck_assert(printed("dlsc-model-info", "cannot load not-a-model.txt: "));
  ck_assert(printed("dlsc-model-info", "classifier.dlsc: "));
  /* a checkpoint's training state given for its model: said so */
  ck_assert_ok(dlsc_model_create_from_spec("input 3x8x8; conv2d 4 3x3; relu; dense 10", 1, &model));
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  ck_assert_ok(dlsc_model_set_training(model, &config));
  path_of(path, sizeof path, "run.state");
  ck_assert_ok(dlsc_training_state_save_file(model, NULL, path));
  dlsc_model_destroy(model);
  ck_assert_int_eq(run("dlsc-model-info", "run.state"), 1);
  ck_assert(printed("dlsc-model-info", "cannot load run.state: a training state (a checkpoint's "
                                       "P.state), not a model (P.dlsc)\n"));
  ck_assert_int_eq(run("dlsc-model-info", ""), 2);
}
END_TEST

/* A time range must be 0 <= A < B: a negative or NaN start was converted to a sample
 * index (undefined behaviour), B <= A drew nothing. Refused before any file is read. */
START_TEST(spectrogram_refuses_bad_time_ranges) {
  /* each with the reason: the part that is not a number in range, or the usage */
  const char *const ranges[][2] = {{"-1:3", "--seconds: '-1' is not a number from 0 to 1e+07"},
                                   {"nan:3", "--seconds: 'nan' is not a number"},
                                   {"2:nan", "--seconds: 'nan' is not a number"},
                                   {"3:2", "usage: dlsc-spectrogram"},
                                   {"1:inf", "--seconds: 'inf' is not a number"},
                                   {"1:2x", "--seconds: '2x' is not a number"},
                                   {"1", "--seconds: '1' is not two values A:B"},
                                   {"a:b", "--seconds: 'a' is not a number"}};
  refused_with("dlsc-spectrogram", "--seconds ", " missing.wav", ranges,
               sizeof ranges / sizeof ranges[0], 2);
  ck_assert_int_eq(run("dlsc-spectrogram", "a.wav b.wav c.wav d.wav e.wav f.wav g.wav"), 2);
  ck_assert(printed("dlsc-spectrogram", "more than 6 files: draw them in several pictures"));
  /* a good range gets past the options: the missing file is what stops it, and the
   * program's temporary folder (under TMPDIR) is gone again */
  char tmp[4400];
  char name[64];
  snprintf(name, sizeof name, "spectrogram-tmp-%ld", (long)getpid()); /* fresh each run */
  path_of(tmp, sizeof tmp, name);
  ck_assert_int_eq(mkdir(tmp, 0700), 0);
  setenv("TMPDIR", tmp, 1);
  int status = run("dlsc-spectrogram", "--seconds 0.5:3 missing.wav");
  unsetenv("TMPDIR");
  ck_assert_int_eq(status, 1);
  ck_assert(printed("dlsc-spectrogram", "missing.wav"));
  ck_assert(!printed("dlsc-spectrogram", "usage: dlsc-spectrogram"));
  /* a range after the end of the recording: said so, nothing drawn, nothing left */
  float half[8000] = {0};
  write_audio("half-second.wav", half, 8000, 1, 16000);
  setenv("TMPDIR", tmp, 1);
  status = run("dlsc-spectrogram", "-o after-end.png --seconds 2:3 half-second.wav");
  unsetenv("TMPDIR");
  ck_assert_int_eq(status, 1);
  ck_assert(printed("dlsc-spectrogram", "half-second.wav: the time range holds no samples"));
  struct stat st;
  char png[4400];
  path_of(png, sizeof png, "after-end.png");
  ck_assert_int_ne(stat(png, &st), 0);
  ck_assert_int_eq(rmdir(tmp), 0); /* fails if anything was left inside */
}
END_TEST

/* Puts an executable "gnuplot" shell script holding body in work/NAME/ and returns that
 * folder, for PATH. */
static const char *fake_gnuplot(const char *name, const char *body) {
  static char folder[4400];
  char path[4500];
  path_of(folder, sizeof folder, name);
  mkdir(folder, 0700);
  snprintf(path, sizeof path, "%s/gnuplot", folder);
  FILE *file = fopen(path, "w");
  ck_assert_ptr_nonnull(file);
  fprintf(file, "#!/bin/sh\n%s\n", body);
  ck_assert_int_eq(fclose(file), 0);
  ck_assert_int_eq(chmod(path, 0700), 0);
  return folder;
}

/* What dlsc-spectrogram gives gnuplot (a stand-in that keeps its script): names quoted
 * as gnuplot reads them, each panel up to its file's Nyquist frequency; and the
 * failures around it: an output folder that cannot be written (before any file is
 * read), gnuplot missing, gnuplot failing. */
START_TEST(spectrogram_quotes_names_and_reports_gnuplot) {
  size_t n = 4800;
  float *tone = malloc(n * sizeof *tone);
  for (size_t i = 0; i < n; i++)
    tone[i] = 0.5f * sinf(2.0f * (float)M_PI * 15000.0f * (float)i / 48000.0f);
  write_audio("tone48k.wav", tone, n, 1, 48000);
  write_audio("tone16k.wav", tone, n, 1, 16000);
  free(tone);
  char *saved_path = strdup(getenv("PATH"));

  ck_assert_int_eq(run("dlsc-spectrogram", "-o missing-folder/x.png missing.wav"), 1);
  ck_assert(printed("dlsc-spectrogram", "cannot write missing-folder/x.png: "));
  ck_assert(!printed("dlsc-spectrogram", "missing.wav"));

  char seen[4400], body[9000];
  path_of(seen, sizeof seen, "seen.gp");
  snprintf(body, sizeof body, "/bin/cp \"$1\" '%s'", seen); /* PATH: its folder */
  setenv("PATH", fake_gnuplot("fake-gnuplot-ok", body), 1);
  int status = run("dlsc-spectrogram", "-o \"it's.png\" tone48k.wav \"tone16k.wav=a 'b'_c\"");
  setenv("PATH", saved_path, 1);
  ck_assert_int_eq(status, 0);
  ck_assert(printed("dlsc-spectrogram", "wrote it's.png"));
  FILE *file = fopen(seen, "r");
  ck_assert_ptr_nonnull(file);
  char script[8192];
  script[fread(script, 1, sizeof script - 1, file)] = 0;
  fclose(file);
  ck_assert_msg(strstr(script, "set output 'it''s.png'\n"), "%s", script);
  ck_assert(strstr(script, "noenhanced"));
  ck_assert(strstr(script, "set title 'tone48k.wav'\n"));
  ck_assert(strstr(script, "set title 'a ''b''_c'\n"));
  const char *first = strstr(script, "set yrange [0:24]"), *second = strstr(script, "set yrange [0:8]");
  ck_assert(first && second && first < second);
  /* colours span 80 dB below the loudest bin of all panels: both tones lie on bin 160 of
   * the 512-point Hann STFT, 0.5 x 512 / 4 = 64, 36.1 dB */
  const char *range = strstr(script, "set cbrange [");
  double low = 0.0, high = 0.0;
  ck_assert_msg(range && sscanf(range, "set cbrange [%lf:%lf]", &low, &high) == 2, "%s", script);
  ck_assert_msg(high > 36.0 && high < 36.25 && fabs(high - 80.0 - low) < 1e-3, "%g:%g", low,
                high);
  ck_assert_msg(strstr(script, "set terminal pngcairo size 1200,600 "), "%s", script);
  /* the picture's format is its name's: SVG and PDF too, in any case; others refused */
  static const char *const formats[][2] = {{"pic.SVG", "set terminal svg size 1200,300 "},
                                           {"pic.pdf", "set terminal pdfcairo size 12in,3in "}};
  for (int f = 0; f < 2; f++) {
    char arguments[64];
    snprintf(arguments, sizeof arguments, "-o %s tone16k.wav", formats[f][0]);
    setenv("PATH", fake_gnuplot("fake-gnuplot-ok", body), 1);
    status = run("dlsc-spectrogram", arguments);
    setenv("PATH", saved_path, 1);
    ck_assert_int_eq(status, 0);
    file = fopen(seen, "r");
    ck_assert_ptr_nonnull(file);
    script[fread(script, 1, sizeof script - 1, file)] = 0;
    fclose(file);
    ck_assert_msg(strstr(script, formats[f][1]), "%s: %s", formats[f][0], script);
  }
  /* a picture to the standard output holds only the picture: the report goes to stderr
   * (it once followed the PNG) */
  char command[13000];
  snprintf(command, sizeof command,
           "cd '%s' && PATH='%s' '%s/dlsc-spectrogram' -o /dev/stdout tone16k.wav "
           "> stdout-picture.png 2> stdout-picture.log",
           work, fake_gnuplot("fake-gnuplot-stdout", "printf PICTURE"), DLSC_EXAMPLES_DIR);
  ck_assert_int_eq(system(command), 0);
  write_bytes("expected-picture.png", "PICTURE", 7);
  ck_assert(same_file("stdout-picture.png", "expected-picture.png"));
  ck_assert(printed("stdout-picture", "wrote /dev/stdout"));
  ck_assert_int_eq(run("dlsc-spectrogram", "-o pic.jpg tone16k.wav"), 2);
  ck_assert(printed("dlsc-spectrogram", "-o pic.jpg: a picture is written as .png, .svg or .pdf"));

  setenv("PATH", fake_gnuplot("fake-gnuplot-fails", "exit 3"), 1);
  status = run("dlsc-spectrogram", "-o y.png tone16k.wav");
  setenv("PATH", saved_path, 1);
  ck_assert_int_eq(status, 1);
  ck_assert(printed("dlsc-spectrogram", "gnuplot failed (exit status 3)"));

  char empty[4400];
  path_of(empty, sizeof empty, "no-gnuplot");
  mkdir(empty, 0700);
  setenv("PATH", empty, 1);
  status = run("dlsc-spectrogram", "-o y.png tone16k.wav");
  setenv("PATH", saved_path, 1);
  free(saved_path);
  ck_assert_int_eq(status, 1);
  ck_assert(printed("dlsc-spectrogram", "cannot run gnuplot: No such file or directory"));
}
END_TEST

START_TEST(classify_takes_images_and_records_and_refuses_the_rest) {
  dlsc_model_t *model;
  ck_assert_ok(dlsc_model_create_from_spec("input 3x32x32; conv2d 4 3x3; relu; gap; dense 10", 5,
                                           &model));
  char path[4400];
  path_of(path, sizeof path, "classifier.dlsc");
  ck_assert_ok(dlsc_model_save_file(model, path));
  uint8_t *records = malloc(3 * RECORD);
  cifar_records(records, 3, 4);
  /* what the program must print for each record: the library's top class and its
   * softmax probability, and how many match the records' labels */
  float pixels[3 * 3072], logits[3 * 10];
  for (size_t i = 0; i < 3 * 3072; i++)
    pixels[i] = (float)records[(i / 3072) * RECORD + 1 + i % 3072] / 255.0f;
  ck_assert_ok(dlsc_model_predict(model, pixels, 3, logits));
  dlsc_model_destroy(model);
  char expected[3][64];
  size_t right = 0;
  for (size_t r = 0; r < 3; r++) {
    const float *z = logits + r * 10;
    size_t top = 0;
    double sum = 0.0;
    for (size_t c = 1; c < 10; c++)
      top = z[c] > z[top] ? c : top;
    for (size_t c = 0; c < 10; c++)
      sum += exp((double)(z[c] - z[top]));
    snprintf(expected[r], sizeof expected[r], "records.bin[%zu]: class %zu %.1f%%", r, top,
             100.0 / sum);
    right += top == r % 10;
  }
  write_bytes("records.bin", records, 3 * RECORD);
  write_bytes("partial.bin", records, 2 * RECORD + 7);
  write_bytes("empty.bin", records, 0);
  char ppm[3200];
  int header = snprintf(ppm, sizeof ppm, "P6 32 32 255\n");
  memcpy(ppm + header, records + 1, 32 * 32 * 3);
  write_bytes("image.ppm", ppm, (size_t)header + 32 * 32 * 3);
  write_bytes("cut.ppm", ppm, (size_t)header + 100);
  header = snprintf(ppm, sizeof ppm, "P6 16 16 255\n");
  write_bytes("small.ppm", ppm, (size_t)header + 16 * 16 * 3);
  header = snprintf(ppm, sizeof ppm, "P5 32 32 255\n");
  write_bytes("grey.pgm", ppm, (size_t)header + 32 * 32);
  const unsigned char *grey_bytes = (const unsigned char *)ppm + header;
  float grey[32 * 32]; /* its pixels as the program must pass them on */
  for (size_t i = 0; i < 32 * 32; i++)
    grey[i] = (float)grey_bytes[i] / 255.0f;
  write_bytes("no-max.ppm", "P6 32 32 0\n", 11);
  write_bytes("bits.pbm", "P4\n32 32\n", 9); /* Netpbm's bitmap: named, not taken for records */
  /* the same image as an editor may write it: comments in the header, 16-bit samples
   * (v * 257 of 65535 is v of 255, and divides to the same float) */
  char wide[6400];
  header = snprintf(wide, sizeof wide, "P6\n# CREATOR: an editor\n32 32\n# depth\n65535\n");
  for (size_t i = 0; i < 32 * 32 * 3; i++) {
    unsigned v = 257u * records[1 + i];
    wide[header + 2 * i] = (char)(v >> 8);
    wide[header + 2 * i + 1] = (char)(v & 0xff);
  }
  write_bytes("wide.ppm", wide, (size_t)header + 2 * 32 * 32 * 3);
  write_bytes("broken.dlsc", "DLSC", 4);
  ck_assert_int_eq(run("dlsc-classify", "--model classifier.dlsc image.ppm records.bin wide.ppm"),
                   0);
  ck_assert(printed("dlsc-classify", "image.ppm: class "));
  char line[256];
  snprintf(line, sizeof line, "%s", log_after("dlsc-classify", "image.ppm:"));
  *strchr(line, '\n') = 0;
  ck_assert_msg(!strncmp(log_after("dlsc-classify", "wide.ppm:"), line, strlen(line)),
                "wide.ppm:%.60s against image.ppm:%s", log_after("dlsc-classify", "wide.ppm:"),
                line);
  for (int r = 0; r < 3; r++)
    ck_assert_msg(printed("dlsc-classify", expected[r]), "not printed: %s", expected[r]);
  char tally[64];
  snprintf(tally, sizeof tally, "%zu of 3 labeled images right", right);
  ck_assert_msg(printed("dlsc-classify", tally), "not printed: %s", tally);
  records[0] = 12; /* a label byte beyond the model's ten classes: shown as it is */
  write_bytes("odd-label.bin", records, RECORD);
  ck_assert_int_eq(run("dlsc-classify", "--model classifier.dlsc odd-label.bin"), 0);
  ck_assert(printed("dlsc-classify", "(label: 12, not a class of the model)"));
  const char *const refused[][2] = {
      {"cut.ppm", "truncated PPM"},
      {"small.ppm", "image is 16x16 RGB; the model takes 32x32 RGB"},
      {"grey.pgm", "image is 32x32 grey; the model takes 32x32 RGB"},
      {"no-max.ppm", "not a binary PPM (P6) or PGM (P5)"},
      {"bits.pbm", "not a binary PPM (P6) or PGM (P5)"},
      {"partial.bin", "not a whole number of 3073-byte records"},
      {"empty.bin", "not a whole number of 3073-byte records"},
      {"missing.ppm", "cannot open: No such file or directory"}};
  refused_with("dlsc-classify", "--model classifier.dlsc ", "", refused,
               sizeof refused / sizeof refused[0], 1);
  ck_assert_int_eq(run("dlsc-classify", "--model broken.dlsc image.ppm"), 1);
  ck_assert(printed("dlsc-classify", "cannot load broken.dlsc"));
  /* the PGM to a model of grey images: the library's class and probability for it */
  ck_assert_ok(dlsc_model_create_from_spec("input 1x32x32; conv2d 4 3x3; relu; gap; dense 10", 6,
                                           &model));
  path_of(path, sizeof path, "grey.dlsc");
  ck_assert_ok(dlsc_model_save_file(model, path));
  int32_t grey_class;
  float grey_p[10];
  ck_assert_ok(dlsc_model_classify(model, grey, 1, &grey_class, grey_p));
  dlsc_model_destroy(model);
  char grey_line[64];
  snprintf(grey_line, sizeof grey_line, "grey.pgm: class %d %.1f%%", (int)grey_class,
           100.0 * grey_p[grey_class]);
  ck_assert_int_eq(run("dlsc-classify", "--model grey.dlsc grey.pgm"), 0);
  ck_assert_msg(printed("dlsc-classify", grey_line), "not printed: %s", grey_line);
#ifdef HAVE_PNG
  /* the same images as PNG, named in any case or not at all: the same classes and
   * probabilities as the PPM and PGM */
  const struct { const char *name; unsigned size, format; const void *bytes; } pngs[] = {
      {"image.png", 32, PNG_FORMAT_RGB, records + 1}, {"IMAGE.PNG", 32, PNG_FORMAT_RGB, records + 1},
      {"png-without-extension", 32, PNG_FORMAT_RGB, records + 1},
      {"grey.png", 32, PNG_FORMAT_GRAY, grey_bytes}, {"small.png", 16, PNG_FORMAT_RGB, records + 1}};
  for (size_t i = 0; i < sizeof pngs / sizeof pngs[0]; i++) {
    png_image image = {.version = PNG_IMAGE_VERSION, .width = pngs[i].size,
                       .height = pngs[i].size, .format = pngs[i].format};
    path_of(path, sizeof path, pngs[i].name);
    ck_assert(png_image_write_to_file(&image, path, 0, pngs[i].bytes, 0, NULL));
  }
  ck_assert_int_eq(run("dlsc-classify", "--model classifier.dlsc image.png IMAGE.PNG "
                                        "png-without-extension"), 0);
  const char *named[] = {"image.png:", "IMAGE.PNG:", "png-without-extension:"};
  for (int i = 0; i < 3; i++) {
    const char *at = log_after("dlsc-classify", named[i]);
    ck_assert_msg(at && !strncmp(at, line, strlen(line)), "%s%.60s against image.ppm:%s",
                  named[i], at ? at : " (nothing)", line);
  }
  ck_assert_int_eq(run("dlsc-classify", "--model grey.dlsc grey.png"), 0);
  snprintf(grey_line, sizeof grey_line, "grey.png: class %d %.1f%%", (int)grey_class,
           100.0 * grey_p[grey_class]);
  ck_assert_msg(printed("dlsc-classify", grey_line), "not printed: %s", grey_line);
  write_bytes("fake.png", "P6 32 32 255\n", 13);
  const char *const bad_pngs[][2] = {{"small.png", "image is 16x16; the model takes 32x32 RGB"},
                                     {"fake.png", "fake.png: "}};
  refused_with("dlsc-classify", "--model classifier.dlsc ", "", bad_pngs,
               sizeof bad_pngs / sizeof bad_pngs[0], 1);
#endif
#ifndef __SANITIZE_ADDRESS__ /* ASan reserves more address space than the limit */
  /* more records than memory allows (a sparse file of 100,000, 307 MB of pixels, under a
   * 250 MB address-space limit): a message, not a crash (malloc's NULL was written to).
   * One OpenBLAS thread: with its default pool under that limit the program once hung
   * after its message, three runs in a row while fuzzers loaded the machine (30 s, mostly
   * system time); one thread returned at once then. Not reproduced since. */
  path_of(path, sizeof path, "huge.bin");
  FILE *huge = fopen(path, "wb");
  ck_assert(huge != NULL);
  ck_assert_int_eq(ftruncate(fileno(huge), (off_t)100000 * RECORD), 0);
  fclose(huge);
  char command[9000];
  snprintf(command, sizeof command,
           "cd '%s' && ulimit -v 250000 && OPENBLAS_NUM_THREADS=1 '%s/dlsc-classify' --model "
           "classifier.dlsc huge.bin > dlsc-classify.log 2>&1", work, DLSC_EXAMPLES_DIR);
  int status = system(command);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d", status);
  ck_assert(printed("dlsc-classify", "out of memory (307200000 bytes)"));
  remove(path);
#endif
  ck_assert_int_eq(run("dlsc-classify", "image.ppm"), 2);
  free(records);
}
END_TEST

/* A model file of a few hundred kilobytes whose layers take 3 GiB for one example:
 * the programs that run models refuse it with the figure (dlsc_model_memory) before
 * reading anything else; dlsc-model-info describes it. */
START_TEST(programs_refuse_models_too_large_to_run) {
  char path[4400];
  dlsc_model_t *model; /* 58,000 channels of 9 x 513: 268 M floats (1 GiB) a buffer */
  ck_assert_ok(dlsc_model_create_from_spec("input 1x9x513; conv2d 58000 1x1 bias=0; "
                                           "conv2d 1 1x1 bias=0; conv2d 1 9x1 bias=0", 1, &model));
  dlsc_denoise_config config;
  dlsc_denoise_config_init(&config);
  config.context_before = 8;
  ck_assert_ok(dlsc_model_set_denoise(model, &config));
  path_of(path, sizeof path, "too-large-denoiser.dlsc");
  ck_assert_ok(dlsc_model_save_file(model, path));
  dlsc_model_destroy(model);
  ck_assert_ok(dlsc_model_create_from_spec("input 1x128x128; conv2d 16384 1x1 bias=0", 1, &model));
  path_of(path, sizeof path, "too-large-classifier.dlsc");
  ck_assert_ok(dlsc_model_save_file(model, path));
  dlsc_model_destroy(model);
  float quiet[1600] = {0};
  write_audio("quiet.wav", quiet, 1600, 1, 16000);
  ck_assert_int_eq(run("dlsc-denoise", "--model too-large-denoiser.dlsc quiet.wav out.wav"), 1);
  ck_assert(printed("dlsc-denoise", "too-large-denoiser.dlsc: running it takes 3065 MiB for "
                                    "one example, more than these programs allow (1024 MiB)"));
  ck_assert_int_eq(run("dlsc-classify", "--model too-large-classifier.dlsc image.ppm"), 1);
  ck_assert(printed("dlsc-classify", "too-large-classifier.dlsc: running it takes 3072 MiB"));
  ck_assert_int_eq(run("dlsc-model-info", "too-large-denoiser.dlsc too-large-classifier.dlsc"), 0);
  ck_assert(printed("dlsc-model-info", "memory: 3.0 GiB to predict one example, 737.2 GiB for "
                                       "256 at a time, 127.7 GiB to train in batches of 32\n"));
  ck_assert(printed("dlsc-model-info", "stream latency: not measured (the model is too large "
                                       "to run)\n"));
}
END_TEST

/* The tests in two groups, each a meson test of its own so that the two run side by
 * side: "audio" (dlsc-denoise, dlsc-train-denoiser, dlsc-spectrogram) and "images" (the
 * CIFAR programs, dlsc-classify, dlsc-model-info). Each works in its own folder,
 * examples-work-GROUP; without an argument both run, in examples-work. */
int main(int argc, char **argv) {
  const TTest *audio[] = {denoise_keeps_the_rate_and_length_of_any_file,
                          train_denoiser_learns_a_callers_pair,
                          train_denoiser_learns_from_folders,
                          train_denoiser_listens_to_the_course,
                          train_denoiser_stops_at_ctrl_c,
                          train_denoiser_resumes_after_ctrl_c,
                          spectrogram_refuses_bad_time_ranges,
                          spectrogram_quotes_names_and_reports_gnuplot,
                          denoise_reads_audio_of_unknown_length_from_a_pipe,
                          denoise_keeps_the_old_output_when_a_write_fails,
                          denoise_writes_the_format_its_output_names,
                          denoise_writes_to_the_standard_output};
  const TTest *images[] = {cifar_programs_refuse_bad_batches,
                           training_programs_warn_of_old_blas_kernels,
                           cifar_train_resumes_after_ctrl_c,
                           cifar_transfer_runs_every_stage,
                           cifar_train_runs_the_experiment_options,
                           classify_takes_images_and_records_and_refuses_the_rest,
                           cifar_programs_unpack_the_archive_whole_or_not_at_all,
                           model_info_describes_models,
                           programs_refuse_models_too_large_to_run};
  const struct { const char *name; const TTest **tests; size_t count; } groups[] = {
      {"audio", audio, sizeof audio / sizeof *audio},
      {"images", images, sizeof images / sizeof *images}};
  const char *group = argc > 1 ? argv[1] : NULL;
  if (group && strcmp(group, "audio") != 0 && strcmp(group, "images") != 0) {
    fprintf(stderr, "usage: test_examples [audio|images]\n");
    return EXIT_FAILURE;
  }
  snprintf(work, sizeof work, "%s/examples-work%s%s", DLSC_BUILD_DIR, group ? "-" : "",
           group ? group : "");
  mkdir(work, 0777);
  Suite *suite = suite_create("examples");
  for (size_t g = 0; g < 2; g++) {
    if (group && strcmp(group, groups[g].name) != 0)
      continue;
    TCase *tc = tcase_create(groups[g].name);
    tcase_set_timeout(tc, 300);
    for (size_t t = 0; t < groups[g].count; t++)
      tcase_add_test(tc, groups[g].tests[t]);
    suite_add_tcase(suite, tc);
  }
  return run_suite(suite);
}
