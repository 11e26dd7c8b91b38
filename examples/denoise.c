/* dlsc-denoise: denoises a recording (mono, or each channel) with a dlsc model.
 *
 *   dlsc-denoise [--model FILE] [--downmix | --each-channel] [--stream N]
 *                [--attenuation-limit DB] [--removed FILE] in.wav out.wav
 *
 * Reads anything libsndfile reads (WAV, FLAC, ...), writes the format the output's
 * extension names (WAV without one); "-" is the standard input or output, and with the
 * audio on the standard output the reports go to stderr. Without --model it uses the general model installed with dlsc (--low-latency:
 * its variant whose stream answers in 32 ms instead of 96). --stream N
 * feeds the stream API N samples at a time instead of the whole-signal call; the
 * result is the same to 1e-6. A recording at another sample rate is resampled to the
 * model's (dlsc_resample), denoised, and written back at its own rate; with --stream,
 * as a host at that rate would: N samples at a time into a stream at the recording's
 * rate (dlsc_stream_create_at_rate), to the same result. --removed FILE
 * also writes what was taken out, the input minus the output (the noise as the model
 * hears it). A file of several channels is refused unless --downmix averages them
 * (mono out) or --each-channel denoises each on its own (as many out).
 * --attenuation-limit DB takes at most DB decibels off any part of the
 * spectrum (dlsc_model_set_attenuation_limit): some of the noise stays, the speech
 * is less distorted.
 */
#include "example_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GENERAL_MODEL "dlsc-general.dlsc"
#define LOW_LATENCY_MODEL "dlsc-general-low-latency.dlsc"

static void usage(void) {
  fprintf(stderr,
          "usage: dlsc-denoise [--model FILE | --low-latency] [--downmix | --each-channel]\n"
          "                    [--stream N] [--attenuation-limit DB] [--removed FILE]\n"
          "                    in.wav out.wav\n"
          "  any sample rate: resampled to the model's (16 kHz) and back\n"
          "  any format libsndfile reads; out.wav's extension names the format written\n"
          "  (wav, flac, ogg, opus, mp3, aiff, caf, ...: 16-bit where it holds PCM);\n"
          "  - for in.wav or out.wav: the standard input or output (WAV out)\n"
          "  --model FILE  a dlsc denoising model (default: %s/%s,\n"
          "                or in %s before installation)\n"
          "  --low-latency the shipped model whose stream answers in 32 ms, not 96\n"
          "                (%s)\n"
          "  --downmix     average the channels of a stereo file instead of refusing it\n"
          "  --each-channel  denoise each channel of a stereo (or wider) file on its own\n"
          "  --stream N    process through the streaming API, N samples per call (at\n"
          "                another rate, through streaming resamplers too)\n"
          "  --attenuation-limit DB  take at most DB decibels off any bin: the output is\n"
          "                10^(-DB/20) of the input plus the rest of the denoised signal\n"
          "                (default: no limit)\n"
          "  --removed FILE  also write the input minus the output: what was removed\n",
          DLSC_MODEL_DIR, GENERAL_MODEL, DLSC_SOURCE_MODEL_DIR, LOW_LATENCY_MODEL);
  exit(2);
}

/* Denoises through the stream API, as a real-time host would: chunks in, equally many
 * samples out, delayed by the latency that is cut off at the end. At a rate other than
 * the model's, the stream resamples inside (dlsc_stream_create_at_rate). */
static void denoise_streaming(const dlsc_model_t *model, int model_rate, int rate, const float *in,
                              size_t n, size_t chunk, float *out, FILE *report) {
  dlsc_stream_t *stream;
  size_t latency;
  check_status(dlsc_stream_create_at_rate(model, (unsigned)model_rate, (unsigned)rate, &stream),
               "stream");
  check_status(dlsc_stream_latency(stream, &latency), "stream");
  float *delayed = checked_alloc(NULL, (n + latency) * sizeof *delayed);
  for (size_t done = 0; done < n; done += chunk) {
    size_t take = n - done < chunk ? n - done : chunk;
    check_status(dlsc_stream_process(stream, in + done, take, delayed + done), "stream");
  }
  check_status(dlsc_stream_flush(stream, delayed + n), "stream");
  memcpy(out, delayed + latency, n * sizeof *out);
  if (report)
    fprintf(report, "streamed at %d Hz in chunks of %zu samples, latency %zu samples (%.1f ms)%s\n",
           rate, chunk, latency, 1000.0 * (double)latency / rate,
           rate != model_rate ? ", resampled to the model's rate and back inside" : "");
  free(delayed);
  dlsc_stream_destroy(stream);
}

typedef struct options {
  const char *model_path, *in_path, *out_path, *removed_path;
  int low_latency, downmix, each_channel;
  size_t chunk;  /* --stream N; 0: whole signals */
  double limit;  /* --attenuation-limit; < 0: none */
  FILE *say;     /* reports: stdout, or stderr when the audio goes there */
} options;

/* The options, and what can be refused before any work (exit status 2). */
static options parse(int argc, char **argv) {
  options o = {.limit = -1.0};
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--model") && i + 1 < argc)
      o.model_path = argv[++i];
    else if (!strcmp(argv[i], "--low-latency"))
      o.low_latency = 1;
    else if (!strcmp(argv[i], "--downmix"))
      o.downmix = 1;
    else if (!strcmp(argv[i], "--each-channel"))
      o.each_channel = 1;
    else if (!strcmp(argv[i], "--removed") && i + 1 < argc)
      o.removed_path = argv[++i];
    else if (!strcmp(argv[i], "--stream") && i + 1 < argc)
      o.chunk = (size_t)integer_option("--stream", argv[++i], 1, 1000000000);
    else if (!strcmp(argv[i], "--attenuation-limit") && i + 1 < argc)
      o.limit = number_option("--attenuation-limit", argv[++i], 0.0, 1000.0);
    else if (argv[i][0] == '-' && argv[i][1]) /* "-" alone: standard input or output */
      usage();
    else if (!o.in_path)
      o.in_path = argv[i];
    else if (!o.out_path)
      o.out_path = argv[i];
    else
      usage();
  }
  if (!o.in_path || !o.out_path || (o.model_path && o.low_latency) ||
      (o.downmix && o.each_channel))
    usage();
  struct stat a, b; /* one file for both results would keep only the second */
  if (o.removed_path && (!strcmp(o.removed_path, o.out_path) ||
                         (stat(o.removed_path, &a) == 0 && stat(o.out_path, &b) == 0 &&
                          a.st_dev == b.st_dev && a.st_ino == b.st_ino))) {
    fprintf(stderr, "--removed %s: the output file too; give each its own file\n",
            o.removed_path);
    exit(2);
  }
  const char *const outputs[] = {o.out_path, o.removed_path}; /* formats known first */
  for (int i = 0; i < 2; i++) {
    int format;
    char why[4200];
    if (outputs[i] && audio_format(outputs[i], &format, why, sizeof why) != 0) {
      fprintf(stderr, "%s\n", why);
      exit(2);
    }
  }
  o.say = is_standard_output(o.out_path) ||
                  (o.removed_path && is_standard_output(o.removed_path))
              ? stderr
              : stdout;
  return o;
}

/* --model FILE, else the installed shipped model, else the one in the source tree; a
 * denoiser (its sample rate in *rate), or NULL after saying why. */
static dlsc_model_t *load_denoiser(const options *o, int *rate) {
  dlsc_model_t *model;
  dlsc_status status;
  char shipped_path[4096];
  const char *path = o->model_path, *shipped = o->low_latency ? LOW_LATENCY_MODEL : GENERAL_MODEL;
  if (path) {
    status = dlsc_model_load_file(path, &model);
  } else {
    snprintf(shipped_path, sizeof shipped_path, "%s/%s", DLSC_MODEL_DIR, shipped);
    path = shipped_path;
    status = dlsc_model_load_file(path, &model);
    if (status == DLSC_ERR_IO) {
      snprintf(shipped_path, sizeof shipped_path, "%s/%s", DLSC_SOURCE_MODEL_DIR, shipped);
      status = dlsc_model_load_file(path, &model);
    }
  }
  if (status != DLSC_OK) {
    fprintf(stderr, "cannot load the model %s: %s\n", path, load_failure(path, status));
    return NULL;
  }
  dlsc_denoise_config config;
  dlsc_denoise_config_init(&config);
  if (dlsc_model_get_denoise(model, &config) != DLSC_OK) {
    fprintf(stderr, "%s is not a denoising model\n", path);
    dlsc_model_destroy(model);
    return NULL;
  }
  if (!model_fits_in_memory(model, path)) {
    dlsc_model_destroy(model);
    return NULL;
  }
  *rate = model_sample_rate(model, path);
  if (*rate < 0) {
    dlsc_model_destroy(model);
    return NULL;
  }
  if (o->limit >= 0.0)
    check_status(dlsc_model_set_attenuation_limit(model, o->limit), "--attenuation-limit");
  return model;
}

/* One channel's n samples at rate into out: through the stream (which resamples inside),
 * or whole: to the model's rate, denoised, back, past the input's length dropped. */
static dlsc_status denoise_channel(const options *o, dlsc_model_t *model, dlsc_stft_t *stft,
                                   int model_rate, int rate, const float *in, size_t n,
                                   float *out, int first) {
  if (o->chunk) {
    denoise_streaming(model, model_rate, rate, in, n, o->chunk, out, first ? o->say : NULL);
    return DLSC_OK;
  }
  if (rate == model_rate)
    return dlsc_denoise(model, stft, in, n, out);
  size_t n_model, n_back;
  float *at_model = resample_or_exit(in, n, rate, model_rate, &n_model, o->in_path);
  float *denoised = checked_alloc(NULL, n_model * sizeof *denoised);
  dlsc_status status = dlsc_denoise(model, stft, at_model, n_model, denoised);
  if (status == DLSC_OK) {
    float *back = resample_or_exit(denoised, n_model, model_rate, rate, &n_back, o->out_path);
    memcpy(out, back, (n_back < n ? n_back : n) * sizeof *out); /* n_back >= n */
    free(back);
  }
  free(at_model);
  free(denoised);
  return status;
}

int main(int argc, char **argv) {
  options o = parse(argc, argv);
  int model_rate;
  dlsc_model_t *model = load_denoiser(&o, &model_rate);
  if (!model)
    return 1;
  /* from here every way out frees what it holds (a program to copy from, and valgrind) */
  float *noisy = NULL, *clean = NULL; /* planar: channel c's n samples at noisy + c n */
  dlsc_stft_t *stft = NULL;           /* whole signals: one for all channels */
  int result = 1;
  size_t n;
  int rate, channels;
  char error[4200]; /* a message with a path */
  if (read_audio_channels(o.in_path, &noisy, &n, &channels, &rate, error, sizeof error) != 0) {
    fprintf(stderr, "%s\n", error);
    goto done;
  }
  if (channels > 1 && !o.downmix && !o.each_channel) {
    fprintf(stderr, "%s has %d channels; dlsc denoises mono audio (--downmix averages the "
            "channels, --each-channel denoises each on its own)\n", o.in_path, channels);
    goto done;
  }
  if (o.downmix) {
    downmix_planar(noisy, n, channels);
    channels = 1;
  }
  const char *const outputs[] = {o.out_path, o.removed_path};
  for (int i = 0; i < 2; i++) /* whether they hold this rate and channel count */
    if (outputs[i] && audio_writable(outputs[i], rate, channels, error, sizeof error) != 0) {
      fprintf(stderr, "%s\n", error);
      goto done;
    }
  if (rate != model_rate)
    fprintf(o.say, "%s: %d Hz, denoised at the model's %d Hz and written back at %d Hz%s\n",
            o.in_path, rate, model_rate, rate,
            rate > model_rate ? " (without the content above the model's band)" : "");
  size_t total = n * (size_t)channels;
  clean = checked_alloc(NULL, total * sizeof *clean);
  double start = now_seconds(), audio = (double)total / (double)rate;
  if (!o.chunk)
    check_status(dlsc_stft_create_for_model(model, &stft), "stft");
  for (int c = 0; c < channels; c++) {
    dlsc_status status = denoise_channel(&o, model, stft, model_rate, rate,
                                         noisy + (size_t)c * n, n, clean + (size_t)c * n, !c);
    if (status != DLSC_OK) {
      fprintf(stderr, "cannot denoise %s: %s\n", o.in_path, dlsc_strerror(status));
      goto done;
    }
  }
  double seconds = now_seconds() - start;
  if (write_audio(o.out_path, clean, n, channels, rate, error, sizeof error) != 0) {
    fprintf(stderr, "%s\n", error);
    goto done;
  }
  double factor = audio / seconds; /* a clip of a few samples runs far below real time */
  fprintf(o.say, "%s: %.2f s of audio%s denoised in %.3f s (%.*fx real time) -> %s\n",
          o.in_path, audio / channels, channels > 1 ? " in each channel" : "", seconds,
          factor < 10.0 ? 2 : 0, factor, o.out_path);
  result = 0;
  if (o.removed_path) { /* input minus output, both at the input's rate */
    float *removed = checked_alloc(NULL, total * sizeof *removed);
    for (size_t i = 0; i < total; i++)
      removed[i] = noisy[i] - clean[i];
    result = write_audio(o.removed_path, removed, n, channels, rate, error, sizeof error) != 0;
    free(removed);
    if (result)
      fprintf(stderr, "%s\n", error);
    else
      fprintf(o.say, "removed part -> %s\n", o.removed_path);
  }
done:
  dlsc_stft_destroy(stft);
  free(noisy);
  free(clean);
  dlsc_model_destroy(model);
  return result;
}
