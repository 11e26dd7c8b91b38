/* dlsc-train-denoiser: trains a spectral denoiser end to end.
 *
 *   dlsc-train-denoiser --course [--preset fc|cnn1d|cnn|cnn2|...] [options]
 *       The original project's recordings: trains on the first 85 % of the clean/noisy
 *       pair (its first tenth held out for choosing the epoch), scores the last 15 %.
 *   dlsc-train-denoiser --pair CLEAN NOISY [options]
 *       The same for any sample-aligned clean/noisy pair of recordings.
 *   dlsc-train-denoiser --general [options]
 *       LibriSpeech speakers mixed with the noise recordings at random SNRs, with
 *       speakers and noise files split into train / validation / dev sets.
 *   dlsc-train-denoiser --speech DIR --noise DIR [options]
 *       The same for any folders of clean speech and of noise (WAV or FLAC files).
 * Recordings at another sample rate than 16 kHz are resampled (dlsc_resample), and
 * recordings of several channels averaged to one.
 *
 * Prints a progress line per epoch and writes a CSV of loss and validation SNR.
 * Run with --help for the options.
 */
#include "example_util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SAMPLE_RATE 16000
#define HOP 512
#define N_FFT 1024

typedef struct preset {
  const char *name, *spec;
  size_t after, hop; /* frames after the current one (look-ahead), the model's STFT hop */
  int mask;
  dlsc_target target;
  dlsc_loss loss;
  const char *about;
} preset;

/* The context window is the spec's input height: before + 1 + after frames, where after
 * is the preset's look-ahead (it sets the stream latency) and before the rest. BINS
 * stands for the model's n_fft / 2 + 1 frequency bins (513 at the default n_fft). */
static const preset presets[] = {
    {"fc", "input 1x1xBINS; dense 1024; relu; dense 512; relu; dense BINS; relu", 0, HOP, 0,
     DLSC_TARGET_MAGNITUDE, DLSC_LOSS_MSE, "the original fully connected net, magnitude in/out"},
    {"cnn1d",
     "input 1x1xBINS; conv1d 16 9 pad=4; relu; conv1d 16 9 pad=4; relu; conv1d 1 9 pad=4; relu", 0,
     HOP, 0, DLSC_TARGET_MAGNITUDE, DLSC_LOSS_MSE,
     "the original kind of 1-D CNN along frequency, magnitude in/out"},
    {"fc-mask", "input 1x7xBINS; log; batchnorm; dense 1024; relu; dense 512; relu; dense BINS; "
                "sigmoid",
     2, HOP, 1, DLSC_TARGET_PHASE_SENSITIVE, DLSC_LOSS_MASK_MSE,
     "FC on log-magnitude context, mask output, phase-sensitive target"},
    {"general",
     "input 1x5xBINS; log; batchnorm; avgpool 1x2; dense 256; relu; dense 256; relu; dense BINS; "
     "sigmoid",
     1, HOP, 1, DLSC_TARGET_PHASE_SENSITIVE, DLSC_LOSS_MASK_MSE,
     "small and fast (>1000x real time on one core): bin pairs of a 5-frame window, mask"},
    {"cnn",
     "input 1x9xBINS; log; batchnorm; conv2d 16 3x5 pad=0x2; relu; conv2d 16 3x5 pad=0x2 "
     "stride=1x2; relu; conv2d 32 3x5 pad=0x2 stride=1x2; relu; conv2d 32 3x5 pad=0x2; relu; "
     "dense BINS; sigmoid",
     2, HOP / 2, 1, DLSC_TARGET_PHASE_SENSITIVE, DLSC_LOSS_MASK_MSE,
     "2-D CNN over time x frequency at hop 256, mask, phase-sensitive target"},
    {"cnn2",
     "input 1x9xBINS; log; batchnorm; conv2d 16 3x5 pad=0x2 bias=0; batchnorm; relu; conv2d 16 "
     "3x5 pad=0x2 stride=1x2 bias=0; batchnorm; relu; conv2d 32 3x5 pad=0x2 stride=1x2 bias=0; "
     "batchnorm; relu; conv2d 32 3x5 pad=0x2 bias=0; batchnorm; relu; dropout 0.5; dense BINS; "
     "sigmoid",
     2, HOP / 2, 1, DLSC_TARGET_PHASE_SENSITIVE, DLSC_LOSS_MASK_MSE,
     "cnn with batch-norm after each convolution and dropout 0.5 before its dense layer"},
};

typedef struct options {
  const preset *preset;
  const char *spec; /* overrides the preset's */
  size_t before, after, hop, n_fft;
  int course, general, context_given, epochs, remix, mixes_per_utterance, constant_rate, average;
  int full, target_given;
  dlsc_target target; /* the preset's unless --target */
  int extra_speech; /* --course: LibriSpeech utterances mixed with the course noise */
  const char *extra_dir; /* --extra-speech-dir: those utterances from a folder instead */
  const char *extra_noise_dir; /* --extra-noise-dir: more noise for the remixes */
  float level_range; /* remixes: speech level varied by -level .. +level/2 dB */
  int remix_options; /* one of the remixes' options given (refused without remixes) */
  float gain_low, gain_high; /* remixes: noise scaled by gain_low .. gain_high dB */
  float speed; /* remixes: speech sped up or slowed down by a factor up to 1 + speed */
  float noise_speed; /* remixes: the same for the noise */
  float overlay_db; /* remixes: a second stretch of noise, -overlay_db .. 0 dB under the first */
  float eq; /* remixes: speech and noise each through a random 2nd-order filter, |coef| <= eq */
  size_t batch;
  float rate, weight_decay;
  uint64_t seed;
  const char *out, *csv, *listen_dir, *data;
  const char *init; /* --init: a model file whose weights start the training */
  const char *checkpoint; /* --checkpoint P: files to resume from (--resume) */
  int resume;
  const char *clean_path, *noisy_path; /* --pair; else the course recordings */
  const char *speech_dir, *noise_dir;  /* --speech, --noise; else LibriSpeech and the noises */
  const char *evaluate; /* --evaluate FILE: score that model, train nothing */
  double attenuation_limit; /* --attenuation-limit DB, with --evaluate; < 0: none */
  char settings[4096]; /* with --checkpoint: what decides the result (a metadata value) */
} options;

static void usage(void) {
  fprintf(stderr,
          "usage: dlsc-train-denoiser (--course | --pair CLEAN NOISY | --general |\n"
          "                            --speech DIR --noise DIR) [options]\n"
          "  --pair CLEAN NOISY a sample-aligned pair instead of the course recordings\n"
          "  --speech DIR, --noise DIR  folders of clean speech and of noise (.wav, .flac;\n"
          "                     any rate, channels averaged) instead of LibriSpeech and\n"
          "                     the noise recordings; every 10th file from the 1st is\n"
          "                     dev, from the 6th validation\n"
          "  --preset NAME      model preset (default cnn2 for --course, general for --general):\n");
  for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
    fprintf(stderr, "                       %-8s %s\n", presets[i].name, presets[i].about);
  fprintf(stderr,
          "  --spec TEXT        model spec instead of the preset's (input 1xWxB, B =\n"
          "                     n_fft / 2 + 1: 513)\n"
          "  --context B,A      frames before/after the current one (0 .. 64 each); B+1+A\n"
          "                     must be the spec's input height (default: A the preset's\n"
          "                     look-ahead, B the rest of the height)\n"
          "  --epochs N         training epochs (default 40)\n"
          "  --batch N          batch size (default 64)\n"
          "  --lr X             Adam learning rate (default 1e-3)\n"
          "  --wd X             decoupled weight decay (AdamW) of the weights (default 0)\n"
          "  --remix N          --course: extra remixes of the training noise per epoch (4)\n"
          "  --level D          remixes: speech level varied over -D .. +D/2 dB (10)\n"
          "  --noise-gain A:B   remixes: the recorded noise scaled by A .. B dB (-3:9)\n"
          "  --speed S          remixes: the speech played 1/(1+S) .. (1+S) times as fast\n"
          "                     (tempo and pitch; 0, the default, leaves it as recorded)\n"
          "  --noise-speed S    remixes: the same for the noise (default 0)\n"
          "  --eq R             remixes: speech and noise each through its own random\n"
          "                     second-order filter, coefficients in -R .. R (RNNoise's\n"
          "                     augmentation: 0.375; default 0, off)\n"
          "  --noise-overlay D  remixes: add a second stretch of the noise from elsewhere,\n"
          "                     -D .. 0 dB under the first: denser noise (default 0: none)\n"
          "  --target NAME      what the mask output learns: phase-sensitive (|S| cos of the\n"
          "                     phase difference; the mask presets' default) or magnitude\n"
          "                     (|S|)\n"
          "  --hop N            STFT hop of the model (default the preset's: 256 for cnn and\n"
          "                     cnn2, 512 for the others)\n"
          "  --n-fft N          STFT size of the model (default 1024; the presets take its\n"
          "                     N / 2 + 1 bins: --n-fft 512 --hop 256 --context 4,0 gives the\n"
          "                     general preset a 32 ms stream latency)\n"
          "  --constant-lr      no cosine decay of the learning rate\n"
          "  --full             --course: train on the whole first 85 %% (no validation part)\n"
          "                     and keep the last (or averaged) weights: the final run, with\n"
          "                     settings chosen by a run with validation\n"
          "  --extra-speech N   --course: per epoch, also N LibriSpeech utterances (training\n"
          "                     speakers) mixed with the noise of the course training part\n"
          "  --extra-speech-dir DIR  --course, with --extra-speech: draw them from all the\n"
          "                     .wav/.flac files of DIR instead (e.g. more of the speaker)\n"
          "  --extra-noise-dir DIR  --course: the remixes (and extra speech) draw their noise\n"
          "                     from the training part's noise followed by all the\n"
          "                     .wav/.flac files of DIR (e.g. more of the recording's noise)\n"
          "  --average K        also average the weights of the last K epochs; keep\n"
          "                     whichever of average and best epoch validates better\n"
          "  --mixes N          --general: mixtures per training utterance per epoch (2)\n"
          "  --seed N           seed of model, data order and mixing (default 1)\n"
          "  --init FILE        start from FILE's weights (a model with the spec's layers,\n"
          "                     e.g. trained with --general): fine-tuning\n");
  fprintf(stderr,
          "  --evaluate FILE    --general: score FILE on the validation and dev sets (at\n"
          "                     its own STFT) and train nothing\n"
          "  --attenuation-limit DB  with --evaluate: denoise with at most DB decibels\n"
          "                     taken off any bin (dlsc_model_set_attenuation_limit)\n"
          "  --out FILE         model file to write (default denoiser.dlsc)\n"
          "  --csv FILE         per-epoch log (default denoiser.csv)\n"
          "  --checkpoint P     after each epoch write P.dlsc (the weights), P.state (optimizer,\n"
          "                     PRNGs), P.best.dlsc and P.average.dlsc\n"
          "  --resume           go on from --checkpoint P's files: with the options of the run\n"
          "                     that wrote them, the same result bit for bit (other data,\n"
          "                     model or training options are refused); with --constant-lr\n"
          "                     and no --average a larger --epochs trains on, as if that\n"
          "                     many from the start\n"
          "  --listen DIR       --course: write the tail noisy, denoised and clean, and the\n"
          "                     denoised test_x_01/02 (not for --pair), here\n"
          "  --data DIR         data folder (default $DLSC_DATA or ../shared/data)\n"
          "Ctrl-C ends training after the last finished epoch, which is then chosen from,\n"
          "scored and saved as usual; a second Ctrl-C quits.\n");
  exit(2);
}

static const preset *find_preset(const char *name) {
  for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
    if (strcmp(presets[i].name, name) == 0)
      return &presets[i];
  return NULL;
}

/* The context window from the spec's input height (1 x window x bins). */
static void set_context(options *o) {
  dlsc_model_t *model = model_from_spec(o->spec, 1, "model spec");
  dlsc_model_info info;
  dlsc_model_get_info(model, &info);
  dlsc_model_destroy(model);
  size_t window = info.input.height;
  if (!o->context_given) {
    o->after = o->preset->after < window ? o->preset->after : window - 1;
    o->before = window - 1 - o->after;
  } else if (o->before + 1 + o->after != window) {
    fprintf(stderr, "--context %zu,%zu makes a window of %zu frames; the spec's input has %zu\n",
            o->before, o->after, o->before + 1 + o->after, window);
    exit(2);
  }
}

/* text with each BINS written as bins, into buffer. */
static const char *expand_bins(const char *text, size_t bins, char *buffer, size_t capacity) {
  size_t length = 0;
  for (const char *at = text; *at && length + 16 < capacity;) {
    if (!strncmp(at, "BINS", 4)) {
      length += (size_t)snprintf(buffer + length, capacity - length, "%zu", bins);
      at += 4;
    } else {
      buffer[length++] = *at++;
    }
  }
  buffer[length] = '\0';
  return buffer;
}

static options parse(int argc, char **argv) {
  options o = {.epochs = 40, .batch = 64, .rate = 1e-3f, .seed = 1, .remix = -1,
               .level_range = 10.0f, .gain_low = -3.0f, .gain_high = 9.0f,
               .mixes_per_utterance = 0, .out = "denoiser.dlsc",
               .csv = "denoiser.csv", .attenuation_limit = -1.0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--course")) o.course = 1;
    else if (!strcmp(a, "--pair") && i + 2 < argc) {
      o.course = 1;
      o.clean_path = argv[++i];
      o.noisy_path = argv[++i];
    }
    else if (!strcmp(a, "--general")) o.general = 1;
    else if (!strcmp(a, "--constant-lr")) o.constant_rate = 1;
    else if (!strcmp(a, "--full")) o.full = 1;
    else if (!strcmp(a, "--resume")) o.resume = 1;
    else if (!v) usage();
    else if (!strcmp(a, "--preset") && ++i) { if (!(o.preset = find_preset(v))) usage(); }
    else if (!strcmp(a, "--spec") && ++i) o.spec = v;
    else if (!strcmp(a, "--context") && ++i) {
      char before[64], after[64];
      split_option(a, v, ',', before, after);
      o.before = (size_t)integer_option(a, before, 0, 64); /* the library's limit */
      o.after = (size_t)integer_option(a, after, 0, 64);
      o.context_given = 1;
    }
    else if (!strcmp(a, "--epochs") && ++i) o.epochs = (int)integer_option(a, v, 1, 100000);
    else if (!strcmp(a, "--batch") && ++i) o.batch = (size_t)integer_option(a, v, 2, 1000000);
    else if (!strcmp(a, "--lr") && ++i) o.rate = (float)number_option(a, v, 1e-9, 10.0);
    else if (!strcmp(a, "--wd") && ++i)
      o.weight_decay = (float)number_option(a, v, 0.0, 1.0);
    else if (!strcmp(a, "--remix") && ++i) o.remix = (int)integer_option(a, v, 0, 1000);
    else if (!strcmp(a, "--hop") && ++i) o.hop = (size_t)integer_option(a, v, 1, 65536);
    else if (!strcmp(a, "--n-fft") && ++i) o.n_fft = (size_t)integer_option(a, v, 16, 65536);
    else if (!strcmp(a, "--average") && ++i) o.average = (int)integer_option(a, v, 0, 100000);
    else if (!strcmp(a, "--extra-speech") && ++i) o.extra_speech = (int)integer_option(a, v, 0, 1000000);
    else if (!strcmp(a, "--extra-speech-dir") && ++i) o.extra_dir = v;
    else if (!strcmp(a, "--extra-noise-dir") && ++i) o.extra_noise_dir = v;
    else if (!strcmp(a, "--level") && ++i) o.level_range = (float)number_option(a, v, 0.0, 60.0);
    else if (!strcmp(a, "--speed") && ++i) o.speed = (float)number_option(a, v, 0.0, 1.0);
    else if (!strcmp(a, "--noise-speed") && ++i)
      o.noise_speed = (float)number_option(a, v, 0.0, 1.0);
    else if (!strcmp(a, "--eq") && ++i) o.eq = (float)number_option(a, v, 0.0, 0.45);
    else if (!strcmp(a, "--noise-overlay") && ++i)
      o.overlay_db = (float)number_option(a, v, 0.0, 60.0);
    else if (!strcmp(a, "--target") && ++i) {
      if (!strcmp(v, "magnitude")) o.target = DLSC_TARGET_MAGNITUDE;
      else if (!strcmp(v, "phase-sensitive")) o.target = DLSC_TARGET_PHASE_SENSITIVE;
      else usage();
      o.target_given = 1;
    }
    else if (!strcmp(a, "--noise-gain") && ++i) {
      char low[64], high[64];
      split_option(a, v, ':', low, high);
      o.gain_low = (float)number_option(a, low, -60.0, 60.0);
      o.gain_high = (float)number_option(a, high, o.gain_low, 60.0);
    }
    else if (!strcmp(a, "--mixes") && ++i) o.mixes_per_utterance = (int)integer_option(a, v, 1, 1000);
    else if (!strcmp(a, "--seed") && ++i) o.seed = (uint64_t)integer_option(a, v, 0, LLONG_MAX);
    else if (!strcmp(a, "--out") && ++i) o.out = v;
    else if (!strcmp(a, "--evaluate") && ++i) o.evaluate = v;
    else if (!strcmp(a, "--attenuation-limit") && ++i)
      o.attenuation_limit = number_option(a, v, 0.0, 1000.0);
    else if (!strcmp(a, "--init") && ++i) o.init = v;
    else if (!strcmp(a, "--checkpoint") && ++i) o.checkpoint = v;
    else if (!strcmp(a, "--csv") && ++i) o.csv = v;
    else if (!strcmp(a, "--listen") && ++i) o.listen_dir = v;
    else if (!strcmp(a, "--data") && ++i) o.data = v;
    else if (!strcmp(a, "--speech") && ++i) { o.general = 1; o.speech_dir = v; }
    else if (!strcmp(a, "--noise") && ++i) { o.general = 1; o.noise_dir = v; }
    else usage();
    o.remix_options |= !strcmp(a, "--level") || !strcmp(a, "--noise-gain") ||
                       !strcmp(a, "--speed") || !strcmp(a, "--noise-speed") ||
                       !strcmp(a, "--noise-overlay");
  }
  if (o.remix_options && (!o.course || o.remix == 0)) {
    fprintf(stderr, "--level, --noise-gain, --speed, --noise-speed and --noise-overlay shape "
            "the remixes of --course and --pair; %s\n", o.course ? "--remix 0 makes none" :
            "the mixtures of --general and of --speech/--noise do not take them");
    exit(2);
  }
  if (o.course == o.general || o.epochs < 1 || o.batch < 2 || !o.speech_dir != !o.noise_dir ||
      (o.extra_dir && (!o.course || o.extra_speech == 0)) || (o.extra_noise_dir && !o.course) ||
      (o.resume && !o.checkpoint) || (o.evaluate && !o.general) ||
      (o.attenuation_limit >= 0.0 && !o.evaluate) ||
      /* options of the other mode are refused, not ignored */
      (!o.course && (o.full || o.extra_speech || o.listen_dir || o.remix >= 0)) ||
      (!o.general && o.mixes_per_utterance))
    usage();
  if (o.remix < 0)
    o.remix = 4;
  if (!o.mixes_per_utterance)
    o.mixes_per_utterance = 2;
  if (!o.preset)
    o.preset = find_preset(o.course ? "cnn2" : "general");
  if (!o.hop)
    o.hop = o.preset->hop;
  if (!o.n_fft)
    o.n_fft = N_FFT;
  if (o.n_fft % 2 || o.hop > o.n_fft) {
    fprintf(stderr, "--n-fft %zu with hop %zu: n_fft must be even and at least the hop\n",
            o.n_fft, o.hop);
    exit(2);
  }
  static char expanded[1024]; /* the preset's spec with BINS written out */
  if (!o.spec)
    o.spec = expand_bins(o.preset->spec, o.n_fft / 2 + 1, expanded, sizeof expanded);
  if (!o.target_given)
    o.target = o.preset->target;
  set_context(&o);
  if (!o.data)
    o.data = data_directory();
  if (!o.evaluate) /* saved at the end: refused now, not after the training */
    require_savable(o.out);
  if (o.checkpoint)
    require_writable(o.checkpoint);
  refuse_checkpoint_file(o.checkpoint, o.evaluate ? NULL : o.out, "--out");
  if (o.listen_dir) { /* written at the end: made and checked now, not after the training */
    struct stat st;
    if (mkdir(o.listen_dir, 0777) != 0 && errno != EEXIST) {
      fprintf(stderr, "--listen %s: %s\n", o.listen_dir, strerror(errno));
      exit(1);
    }
    if (stat(o.listen_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
      fprintf(stderr, "--listen %s: not a folder\n", o.listen_dir);
      exit(1);
    }
    if (access(o.listen_dir, W_OK | X_OK) != 0) {
      fprintf(stderr, "--listen %s: %s\n", o.listen_dir, strerror(errno));
      exit(1);
    }
  }
  /* What a resumed run must repeat (--checkpoint): the data, model and training options.
   * --epochs counts only with a schedule over the epochs or an average of the last
   * ones: with --constant-lr and no --average a larger --epochs trains on. */
  if (o.checkpoint) {
    char *set = o.settings;
    size_t room = sizeof o.settings;
    settings_add(set, room, "data", "%s",
                 o.general ? "general" : o.clean_path ? "pair" : "course");
    settings_add(set, room, "pair", "%s %s", o.clean_path ? o.clean_path : "",
                 o.noisy_path ? o.noisy_path : "");
    settings_add(set, room, "speech-noise", "%s %s", o.speech_dir ? o.speech_dir : "",
                 o.noise_dir ? o.noise_dir : "");
    settings_add(set, room, "spec", "%s", o.spec);
    settings_add(set, room, "context", "%zu,%zu", o.before, o.after);
    settings_add(set, room, "stft", "%zu/%zu", o.n_fft, o.hop);
    settings_add(set, room, "target", "%d", (int)o.target);
    settings_add(set, room, "batch", "%zu", o.batch);
    settings_add_float(set, room, "lr", o.rate);
    settings_add_float(set, room, "wd", o.weight_decay);
    settings_add(set, room, "constant-lr", "%d", o.constant_rate);
    settings_add(set, room, "average", "%d", o.average);
    if (!o.constant_rate || o.average)
      settings_add(set, room, "epochs", "%d", o.epochs);
    settings_add(set, room, "full", "%d", o.full);
    settings_add(set, room, "remix", "%d", o.remix);
    settings_add_float(set, room, "level", o.level_range);
    settings_add_float(set, room, "noise-gain-low", o.gain_low);
    settings_add_float(set, room, "noise-gain-high", o.gain_high);
    settings_add_float(set, room, "speed", o.speed);
    settings_add_float(set, room, "noise-speed", o.noise_speed);
    settings_add_float(set, room, "noise-overlay", o.overlay_db);
    settings_add_float(set, room, "eq", o.eq);
    settings_add(set, room, "extra-speech", "%d %s", o.extra_speech,
                 o.extra_dir ? o.extra_dir : "");
    settings_add(set, room, "extra-noise-dir", "%s", o.extra_noise_dir ? o.extra_noise_dir : "");
    settings_add(set, room, "mixes", "%d", o.mixes_per_utterance);
    settings_add(set, room, "init", "%s", o.init ? o.init : "");
    settings_add(set, room, "seed", "%llu", (unsigned long long)o.seed);
  }
  return o;
}

static dlsc_stft_t *make_stft(size_t n_fft, size_t hop) {
  dlsc_stft_config config;
  dlsc_stft_config_init(&config);
  config.n_fft = n_fft;
  config.hop_length = hop;
  dlsc_stft_t *stft;
  check_status(dlsc_stft_create(&config, &stft), "stft");
  return stft;
}

/* A recording as mono (channels averaged) at 16 kHz (other rates resampled); exits with
 * a message on error. */
static float *load_path(const char *path, size_t *n) {
  char error[512];
  float *samples;
  int rate;
  if (read_audio(path, 1, &samples, n, &rate, error, sizeof error) != 0) {
    fprintf(stderr, "%s\n", error);
    exit(1);
  }
  if (rate != SAMPLE_RATE) {
    size_t resampled_n;
    float *resampled = resample_or_exit(samples, *n, rate, SAMPLE_RATE, &resampled_n, path);
    free(samples);
    samples = resampled;
    *n = resampled_n;
  }
  return samples;
}

static float *load(const char *directory, const char *name, size_t *n) {
  char path[4096];
  int length = snprintf(path, sizeof path, "%s/%s", directory, name);
  if (length < 0 || (size_t)length >= sizeof path) {
    fprintf(stderr, "path too long: %s/%s\n", directory, name);
    exit(1);
  }
  return load_path(path, n);
}

/* A small deterministic generator for the examples' own choices (mixing, remixing). */
static uint64_t mix_state;
static double uniform01(void) {
  mix_state = mix_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(mix_state >> 11) * 0x1.0p-53;
}

/* A random spectral tilt for --eq, as RNNoise trains with: y = (1 + b1/z + b2/z^2) /
 * (1 + a1/z + a2/z^2) x, each coefficient in -range .. range; with range <= 0.45 the poles
 * stay inside the unit circle (|a1| + |a2| < 1). */
typedef struct { double a[2], b[2], x[2], y[2]; } random_filter;
static random_filter draw_filter(double range) {
  random_filter f = {{0}, {0}, {0}, {0}};
  for (int k = 0; k < 2; k++) {
    f.a[k] = range * (2.0 * uniform01() - 1.0);
    f.b[k] = range * (2.0 * uniform01() - 1.0);
  }
  return f;
}
static float filter_sample(random_filter *f, float x) {
  double y = x + f->b[0] * f->x[0] + f->b[1] * f->x[1] - f->a[0] * f->y[0] - f->a[1] * f->y[1];
  f->x[1] = f->x[0], f->x[0] = x, f->y[1] = f->y[0], f->y[0] = y;
  return (float)y;
}

/* x played at a random speed in 1/(1 + range) .. 1 + range times as fast (tempo and
 * pitch together): read as if recorded at speed x 16 kHz. A new buffer, *n_out long. */
static float *play_at_random_speed(const float *x, size_t n, float range, size_t *n_out,
                                   const char *what) {
  double speed = exp(log1p(range) * (2.0 * uniform01() - 1.0));
  return resample_or_exit(x, n, (int)lround(speed * SAMPLE_RATE), SAMPLE_RATE, n_out, what);
}

/* ---- the model and its training settings */

/* Adam with a cosine decay over the run (total_steps from the examples per epoch), in
 * batches of --batch frames or, where an epoch holds fewer, all of them. */
static void set_schedule(dlsc_model_t *model, const options *o, size_t examples) {
  size_t batch = o->batch < examples ? o->batch : examples;
  if (batch < o->batch)
    printf("--batch %zu is more than the epoch's %zu frames: batches of %zu\n", o->batch, examples,
           examples);
  dlsc_train_config train;
  dlsc_train_config_init(&train);
  train.loss = o->preset->loss;
  train.learning_rate = o->rate;
  train.weight_decay = o->weight_decay;
  train.batch_size = batch;
  train.gradient_clip = 5.0f;
  if (!o->constant_rate) {
    train.schedule = DLSC_SCHEDULE_COSINE;
    train.total_steps = (size_t)o->epochs * (examples / batch + 1) + 1;
  }
  watch_training(&train);
  check_status(dlsc_model_set_training(model, &train), "training settings");
}

/* One epoch; the first sets the schedule from the examples it sees (*examples). 1 when
 * Ctrl-C stopped it (rolled back): training ends with the epochs before. */
static int train_epoch(dlsc_model_t *model, dlsc_dataset_t *train, const options *o, int epoch,
                       dlsc_train_stats *stats, size_t *examples) {
  if (epoch == 1) {
    check_status(dlsc_dataset_count(train, examples), "dataset");
    set_schedule(model, o, *examples);
  }
  return epoch_interrupted(dlsc_model_train_epoch(model, train, stats), epoch);
}

static dlsc_model_t *build_model(const options *o) {
  dlsc_model_t *model = model_from_spec(o->spec, o->seed, "model spec");
  dlsc_denoise_config denoise;
  dlsc_denoise_config_init(&denoise);
  denoise.n_fft = o->n_fft;
  denoise.hop_length = o->hop;
  denoise.context_before = o->before;
  denoise.context_after = o->after;
  denoise.mask = o->preset->mask;
  dlsc_status status = dlsc_model_set_denoise(model, &denoise);
  if (status != DLSC_OK && status != DLSC_ERR_SHAPE_MISMATCH)
    check_status(status, "denoising settings");
  if (status != DLSC_OK) {
    fprintf(stderr, "the spec must take 1 x %zu x %zu values (before+1+after frames of n_fft/2+1 "
            "bins) and give %zu\n", o->before + 1 + o->after, o->n_fft / 2 + 1, o->n_fft / 2 + 1);
    exit(1);
  }
  size_t length;
  check_status(dlsc_model_describe(model, NULL, 0, &length), "describe");
  char *description = checked_alloc(NULL, length);
  check_status(dlsc_model_describe(model, description, length, &length), "describe");
  dlsc_model_info info;
  dlsc_model_get_info(model, &info);
  printf("model: %s\n  %zu parameters, context %zu+1+%zu frames, %s output\n", description,
         info.n_parameters, o->before, o->after, o->preset->mask ? "mask" : "magnitude");
  free(description);
  if (o->init) {
    dlsc_model_t *init = load_model(o->init);
    if (!init)
      exit(1);
    dlsc_model_info init_info;
    dlsc_model_get_info(init, &init_info);
    if (init_info.n_layers != info.n_layers ||
        dlsc_model_copy_layers(model, init, info.n_layers) != DLSC_OK) {
      fprintf(stderr, "%s does not have the layers of the model spec\n", o->init);
      exit(1);
    }
    dlsc_model_destroy(init);
    printf("  starting from the weights of %s\n", o->init);
  }
  dlsc_model_set_metadata(model, "dlsc.sample_rate", "16000");
  dlsc_model_set_metadata(model, "dlsc.trained_with",
                          o->clean_path   ? "pair"
                          : o->speech_dir ? "folders"
                          : o->course     ? "course"
                                          : "general");
  record_blas(model);
  return model;
}

static dlsc_dataset_t *new_frames(const options *o) {
  dlsc_frames_config frames;
  dlsc_frames_config_init(&frames);
  frames.context_before = o->before;
  frames.context_after = o->after;
  frames.n_bins = o->n_fft / 2 + 1;
  frames.target = o->target;
  dlsc_dataset_t *dataset;
  check_status(dlsc_dataset_create_frames(&frames, o->seed, &dataset), "dataset");
  return dataset;
}

typedef struct scores {
  double snr, si_sdr;
} scores;

static scores score(dlsc_model_t *model, dlsc_stft_t *stft, const float *noisy, const float *clean,
                    size_t n, float *work) {
  scores s;
  check_status(dlsc_denoise(model, stft, noisy, n, work), "denoise");
  check_status(dlsc_snr(clean, work, n, &s.snr), "snr");
  check_status(dlsc_si_sdr(clean, work, n, &s.si_sdr), "si-sdr");
  return s;
}

/* Keeps the bytes of the best model so far. */
typedef struct best_model {
  unsigned char *bytes;
  size_t size;
  double score;
  int epoch;
} best_model;

/* Weights averaged over the last o->average epochs (stochastic weight averaging). */
static void accumulate_average(const options *o, dlsc_model_t **average, int *averaged,
                               const dlsc_model_t *model, int epoch) {
  if (o->average <= 0 || epoch <= o->epochs - o->average)
    return;
  if (!*average)
    check_status(dlsc_model_clone(model, average), "average");
  else
    check_status(dlsc_model_blend(*average, model, 1.0f / (float)(*averaged + 1)), "average");
  (*averaged)++;
}

static void keep_if_best(best_model *best, const dlsc_model_t *model, double value, int epoch) {
  if (best->bytes && value <= best->score)
    return;
  free(best->bytes);
  check_status(dlsc_model_save(model, NULL, 0, &best->size), "save");
  best->bytes = checked_alloc(NULL, best->size);
  check_status(dlsc_model_save(model, best->bytes, best->size, &best->size), "save");
  best->score = value;
  best->epoch = epoch;
}

/* ---- checkpoints (--checkpoint P): after each epoch P.dlsc with the loop's counters,
 * P.state, P.best.dlsc and, once averaging has begun, P.average.dlsc */

static const char *const checkpoint_keys[] = {
    "dlsc.checkpoint_epoch", "dlsc.checkpoint_mixing",    "dlsc.checkpoint_examples",
    "dlsc.checkpoint_best",  "dlsc.checkpoint_best_epoch", "dlsc.checkpoint_averaged"};
enum { CHECKPOINT_KEYS = 6 };

static void save_checkpoint(const options *o, const dlsc_model_t *model, dlsc_dataset_t *train,
                            int epoch, size_t examples, const best_model *best,
                            const dlsc_model_t *average, int averaged) {
  /* The next epoch refills the dataset: emptied now, its state is its PRNG alone, and a
   * resumed run starts from an empty dataset, as this one goes on. */
  check_status(dlsc_dataset_clear(train), "dataset");
  checkpoint_save_bytes(o->checkpoint, ".best.dlsc", best->bytes, best->size);
  if (average)
    checkpoint_save_model(o->checkpoint, ".average.dlsc", average);
  char values[CHECKPOINT_KEYS][64];
  snprintf(values[0], 64, "%d", epoch);
  snprintf(values[1], 64, "%llu", (unsigned long long)mix_state);
  snprintf(values[2], 64, "%zu", examples);
  snprintf(values[3], 64, "%.17g", best->score);
  snprintf(values[4], 64, "%d", best->epoch);
  snprintf(values[5], 64, "%d", averaged);
  checkpoint_save(model, train, o->checkpoint, checkpoint_keys, values, CHECKPOINT_KEYS,
                  o->settings);
}

/* Model, dataset, mixing, schedule, best model and average as the checkpoint left
 * them; returns its epoch. */
static int resume_checkpoint(const options *o, dlsc_model_t *model, dlsc_dataset_t *train,
                             size_t *examples, best_model *best, dlsc_model_t **average,
                             int *averaged) {
  char values[CHECKPOINT_KEYS][64];
  checkpoint_resume(model, train, o->checkpoint, checkpoint_keys, values, CHECKPOINT_KEYS,
                    o->settings);
  int epoch;
  unsigned long long mixing;
  if (sscanf(values[0], "%d", &epoch) != 1 || epoch < 1 ||
      sscanf(values[1], "%llu", &mixing) != 1 || sscanf(values[2], "%zu", examples) != 1 ||
      sscanf(values[3], "%lf", &best->score) != 1 || sscanf(values[4], "%d", &best->epoch) != 1 ||
      sscanf(values[5], "%d", averaged) != 1 || *averaged < 0) {
    fprintf(stderr, "%s.dlsc: not a checkpoint of this program\n", o->checkpoint);
    exit(1);
  }
  mix_state = mixing;
  set_schedule(model, o, *examples); /* the same optimizer: its state stays */
  best->bytes = checkpoint_load_bytes(o->checkpoint, ".best.dlsc", &best->size);
  if (*averaged > 0) {
    size_t size;
    unsigned char *bytes = checkpoint_load_bytes(o->checkpoint, ".average.dlsc", &size);
    check_status(dlsc_model_load(bytes, size, average), "average");
    free(bytes);
  }
  printf("resuming after epoch %d of %s\n", epoch, o->checkpoint);
  return epoch;
}

/* Says which weights were kept: without validation (--full) the last epoch's or the
 * average's, with it the better of the best epoch and the average. */
static void report_choice(const best_model *best, int validated) {
  if (!validated)
    printf("kept the %s (no validation with --full)\n",
           best->epoch ? "last epoch's weights" : "weight average");
  else if (best->epoch)
    printf("best epoch %d (validation %.2f dB)\n", best->epoch, best->score);
  else
    printf("kept the weight average (validation %.2f dB)\n", best->score);
}

/* ---- speech and noise recordings */

typedef struct clip {
  float *samples;
  size_t n;
  char name[128];
} clip;

typedef struct clip_set {
  clip *clips;
  size_t count;
} clip_set;

static void add_clip(clip_set *set, const char *directory, const char *name) {
  set->clips = checked_alloc(set->clips, (set->count + 1) * sizeof *set->clips);
  clip *c = &set->clips[set->count++];
  c->samples = load(directory, name, &c->n);
  snprintf(c->name, sizeof c->name, "%s", name);
}

static void free_clips(clip_set *set) {
  for (size_t i = 0; i < set->count; i++)
    free(set->clips[i].samples);
  free(set->clips);
}

/* Speakers: every 15th file (from 0) is dev, every 15th from 7 validation. Noise files:
 * running_tap and every 10th nonspeech file are dev, dude_miaowing and every 10th
 * from 5 validation; the rest train. No speaker or noise file is in two sets. */
typedef struct corpus {
  clip_set speech[3], noise[3]; /* 0 train, 1 validation, 2 dev */
} corpus;

static void free_corpus(corpus *c) {
  for (int s = 0; s < 3; s++) {
    free_clips(&c->speech[s]);
    free_clips(&c->noise[s]);
  }
}

static int is_audio_name(const char *name) {
  size_t length = strlen(name);
  return (length > 4 && !strcmp(name + length - 4, ".wav")) ||
         (length > 5 && !strcmp(name + length - 5, ".flac"));
}

/* The .wav and .flac files of a caller's folder, split by their sorted index: every
 * 10th from the first is dev, every 10th from the sixth validation (with fewer than 6
 * files, the second validates). */
static void load_folder(const char *directory, clip_set sets[3]) {
  size_t count, audio = 0;
  char **names = list_files(directory, NULL, &count);
  if (!names) {
    fprintf(stderr, "cannot read the folder %s: %s\n", directory, strerror(errno));
    exit(1);
  }
  for (size_t i = 0; i < count; i++)
    audio += (size_t)is_audio_name(names[i]);
  for (size_t i = 0, n = 0; i < count; i++) {
    if (!is_audio_name(names[i]))
      continue;
    int set = n % 10 == 0 ? 2 : (n % 10 == 5 || (n == 1 && audio < 6)) ? 1 : 0;
    add_clip(&sets[set], directory, names[i]);
    n++;
  }
  free_list(names, count);
  if (!sets[0].count || !sets[1].count || !sets[2].count) {
    fprintf(stderr, "%s: %zu audio files; at least 3 (.wav or .flac) are needed, for training, "
            "validation and dev\n", directory, audio);
    exit(1);
  }
}

/* Every .wav/.flac file of directory into set; exits when there is none. */
static void load_all(const char *directory, clip_set *set, const char *what) {
  size_t count;
  char **names = list_files(directory, NULL, &count);
  for (size_t i = 0; names && i < count; i++)
    if (is_audio_name(names[i]))
      add_clip(set, directory, names[i]);
  free_list(names, count);
  if (set->count == 0) {
    fprintf(stderr, "%s: no .wav or .flac files\n", directory);
    exit(1);
  }
  printf("%s: %zu files from %s\n", what, set->count, directory);
}

static void load_corpus(const options *o, corpus *c) {
  char directory[4096];
  memset(c, 0, sizeof *c);
  if (o->extra_dir) { /* all of it trains: the course has its own validation part */
    load_all(o->extra_dir, &c->speech[0], "extra speech");
    return;
  }
  if (o->speech_dir) {
    load_folder(o->speech_dir, c->speech);
    load_folder(o->noise_dir, c->noise);
  } else {
    snprintf(directory, sizeof directory, "%s/speech/clean/librispeech-train-clean-100", o->data);
    size_t count;
    char **names = list_files(directory, ".flac", &count);
    for (size_t i = 0; i < count; i++)
      add_clip(&c->speech[i % 15 == 0 ? 2 : i % 15 == 7 ? 1 : 0], directory, names[i]);
    free_list(names, count);
    snprintf(directory, sizeof directory, "%s/speech/noise/speech-commands", o->data);
    names = list_files(directory, ".flac", &count);
    for (size_t i = 0; i < count; i++) {
      int set = strstr(names[i], "running_tap") ? 2 : strstr(names[i], "miaowing") ? 1 : 0;
      add_clip(&c->noise[set], directory, names[i]);
    }
    free_list(names, count);
    snprintf(directory, sizeof directory, "%s/speech/noise/nonspeech", o->data);
    names = list_files(directory, ".flac", &count);
    for (size_t i = 0; i < count; i++)
      add_clip(&c->noise[i % 10 == 0 ? 2 : i % 10 == 5 ? 1 : 0], directory, names[i]);
    free_list(names, count);
  }
  printf("speakers: %zu train, %zu validation, %zu dev; noise files: %zu train, %zu validation, "
         "%zu dev\n",
         c->speech[0].count, c->speech[1].count, c->speech[2].count, c->noise[0].count,
         c->noise[1].count, c->noise[2].count);
}

/* ---- the course recordings */

static void write_reported(const char *path, const float *samples, size_t n) {
  char error[4200];
  if (write_wav(path, samples, n, SAMPLE_RATE, error, sizeof error) == 0)
    printf("wrote %s\n", path);
  else
    fprintf(stderr, "%s\n", error);
}

static void write_listening(const options *o, dlsc_model_t *model, dlsc_stft_t *stft,
                            const char *course, const float *tail, const float *clean_tail,
                            size_t tail_n) {
  const char *names[] = {"test_x_01.wav", "test_x_02.wav"};
  char path[4096];
  for (int i = 0; course && i < 2; i++) { /* the course's test recordings */
    size_t n;
    float *noisy = load(course, names[i], &n), *out = checked_alloc(NULL, n * sizeof *out);
    check_status(dlsc_denoise(model, stft, noisy, n, out), "denoise");
    snprintf(path, sizeof path, "%s/denoised_%s", o->listen_dir, names[i]);
    write_reported(path, out, n);
    free(noisy);
    free(out);
  }
  float *out = checked_alloc(NULL, tail_n * sizeof *out);
  check_status(dlsc_denoise(model, stft, tail, tail_n, out), "denoise");
  /* the tail three ways, for listening and for spectrogram pictures */
  const char *tail_names[] = {"noisy_tail.wav", "denoised_tail.wav", "clean_tail.wav"};
  const float *tails[] = {tail, out, clean_tail};
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", o->listen_dir, tail_names[i]);
    write_reported(path, tails[i], tail_n);
  }
  free(out);
}

/* The oracle: clean magnitude with the noisy phase, the ceiling of magnitude models. */
static double oracle_snr(dlsc_stft_t *stft, const float *noisy, const float *clean, size_t n) {
  size_t frames, bins;
  dlsc_stft_n_frames(stft, n, &frames);
  dlsc_stft_n_bins(stft, &bins);
  float *noisy_mag = checked_alloc(NULL, frames * bins * sizeof(float));
  float *phase = checked_alloc(NULL, frames * bins * sizeof(float));
  float *clean_mag = checked_alloc(NULL, frames * bins * sizeof(float));
  float *out = checked_alloc(NULL, n * sizeof(float));
  check_status(dlsc_stft_forward(stft, noisy, n, noisy_mag, phase, frames), "stft");
  check_status(dlsc_stft_forward(stft, clean, n, clean_mag, NULL, frames), "stft");
  check_status(dlsc_stft_inverse(stft, clean_mag, phase, frames, out, n), "istft");
  double snr;
  check_status(dlsc_snr(clean, out, n, &snr), "snr");
  free(noisy_mag);
  free(phase);
  free(clean_mag);
  free(out);
  return snr;
}

static int run_course(const options *o) {
  char course[4096];
  snprintf(course, sizeof course, "%s/speech/course", o->data);
  size_t n, n_noisy;
  float *clean = o->clean_path ? load_path(o->clean_path, &n)
                               : load(course, "train_clean_male.wav", &n);
  float *noisy = o->noisy_path ? load_path(o->noisy_path, &n_noisy)
                               : load(course, "train_dirty_male.wav", &n_noisy);
  if (n != n_noisy) {
    fprintf(stderr, "the clean and noisy recordings differ in length (%zu and %zu samples)\n", n,
            n_noisy);
    return 1;
  }
  if (n < 40 * HOP) { /* a validation part and a tail of a few frames each */
    fprintf(stderr, "the recordings are too short to split (%zu samples; at least %d)\n", n,
            40 * HOP);
    return 1;
  }
  /* Protocol: train on [0, cut), score [cut, n). Epochs are chosen on the first tenth
   * of the training part, [0, val_n): on the course pair its input SNR is 4.90 dB, nearer
   * the tail's 3.28 dB than the rest of the training part's 7.17 dB (denoise-average
   * prints all three). */
  size_t cut, val_n;
  course_split(n, &cut, &val_n);
  if (o->full)
    val_n = 0;
  size_t tail_n = n - cut, train_n = cut - val_n;
  const float *train_clean = clean + val_n, *train_noisy = noisy + val_n;
  printf("%s pair: %zu samples; validation [0, %zu), train [%zu, %zu), test tail [%zu, %zu)\n",
         o->clean_path ? "the" : "course", n, val_n, val_n, cut, cut, n);
  dlsc_stft_t *stft = make_stft(N_FFT, HOP), *model_stft = make_stft(o->n_fft, o->hop);
  double noisy_snr, noisy_si;
  check_status(dlsc_snr(clean + cut, noisy + cut, tail_n, &noisy_snr), "snr");
  check_status(dlsc_si_sdr(clean + cut, noisy + cut, tail_n, &noisy_si), "si-sdr");
  printf("test tail: noisy input %.2f dB SNR (%.2f dB SI-SDR); clean magnitude + noisy phase "
         "%.2f dB\n",
         noisy_snr, noisy_si, oracle_snr(stft, noisy + cut, clean + cut, tail_n));
  if (o->hop != HOP || o->n_fft != N_FFT) /* the ceiling moves with the model's STFT */
    printf("  at the model's n_fft %zu, hop %zu: clean magnitude + noisy phase %.2f dB\n",
           o->n_fft, o->hop,
           oracle_snr(model_stft, noisy + cut, clean + cut, tail_n));

  dlsc_model_t *model = build_model(o);
  /* The remixes' noise: the training part's, then --extra-noise-dir's recordings. */
  clip_set extra_noise = {0};
  size_t noise_total = train_n;
  if (o->extra_noise_dir) {
    load_all(o->extra_noise_dir, &extra_noise, "extra noise");
    for (size_t i = 0; i < extra_noise.count; i++)
      noise_total += extra_noise.clips[i].n;
  }
  float *noise = checked_alloc(NULL, noise_total * sizeof *noise), *mix = checked_alloc(NULL, train_n * sizeof *mix);
  float *scaled = checked_alloc(NULL, train_n * sizeof *scaled);
  float *stretched = NULL, *noise_stretched = NULL; /* --speed, --noise-speed: resampled */
  float *work = checked_alloc(NULL, n * sizeof *work);
  for (size_t i = 0; i < train_n; i++)
    noise[i] = train_noisy[i] - train_clean[i];
  for (size_t i = 0, at = train_n; i < extra_noise.count; at += extra_noise.clips[i++].n)
    memcpy(noise + at, extra_noise.clips[i].samples, extra_noise.clips[i].n * sizeof *noise);
  free_clips(&extra_noise);
  FILE *csv = open_for_writing(o->csv, o->resume ? "a" : "w"); /* resumed: rows go on */
  if (!o->resume)
    fprintf(csv, "epoch,train_loss,val_snr_db,val_si_sdr_db,seconds\n");
  best_model best = {0};
  dlsc_model_t *average = NULL;
  int averaged = 0;
  corpus extra;
  memset(&extra, 0, sizeof extra);
  if (o->extra_speech > 0)
    load_corpus(o, &extra);
  mix_state = o->seed;
  dlsc_dataset_t *train = new_frames(o);
  size_t examples = 0; /* the first epoch's, which set the schedule */
  int first = 1;
  if (o->resume)
    first = resume_checkpoint(o, model, train, &examples, &best, &average, &averaged) + 1;
  double start = now_seconds();
  for (int epoch = first; epoch <= o->epochs; epoch++) {
    /* The recorded pair plus remixes: the training noise shifted in time and scaled
     * (by default -3 .. +9 dB: noisier mixtures than the recording's own, too); the
     * whole mixture's level varied; and the start moved by part of a hop, so that the
     * frames fall elsewhere on the signal. */
    check_status(dlsc_dataset_clear(train), "dataset");
    check_status(dlsc_dataset_add_signal_pair(train, model_stft, train_noisy, train_clean,
                                              train_n),
                 "dataset");
    for (int r = 0; r < o->remix; r++) {
      size_t shift = (size_t)(uniform01() * (double)noise_total);
      size_t offset = (size_t)(uniform01() * (double)o->hop), length = train_n - offset;
      double gain_db = o->gain_low + (o->gain_high - o->gain_low) * uniform01();
      float gain = (float)pow(10.0, gain_db / 20.0);
      float level = (float)pow(10.0, o->level_range * (uniform01() * 1.5 - 1.0) / 20.0);
      const float *speech = train_clean + offset, *noise_played = noise;
      size_t noise_n = noise_total;
      if (o->speed > 0.0f) { /* drawn only then: runs without --speed mix as before */
        size_t stretched_n;
        free(stretched);
        speech = stretched = play_at_random_speed(speech, length, o->speed, &stretched_n, "--speed");
        length = stretched_n < length ? stretched_n : length; /* the mixing buffers' size */
      }
      if (o->noise_speed > 0.0f) { /* likewise: new noise material from the recorded noise */
        free(noise_stretched);
        noise_played = noise_stretched =
            play_at_random_speed(noise, noise_total, o->noise_speed, &noise_n, "--noise-speed");
      }
      size_t shift2 = 0;
      float gain2 = 0.0f;
      if (o->overlay_db > 0.0f) { /* drawn only then, like --speed */
        shift2 = (size_t)(uniform01() * (double)noise_n);
        gain2 = (float)pow(10.0, -o->overlay_db * uniform01() / 20.0);
      }
      /* identities unless --eq: the same bits as without the filters */
      random_filter speech_eq = {{0}, {0}, {0}, {0}}, noise_eq = speech_eq;
      if (o->eq > 0.0f) { /* drawn only then, like --speed */
        speech_eq = draw_filter(o->eq);
        noise_eq = draw_filter(o->eq);
      }
      for (size_t i = 0; i < length; i++) {
        float played = noise_played[(offset + i + shift) % noise_n];
        if (gain2 > 0.0f)
          played += gain2 * noise_played[(offset + i + shift2) % noise_n];
        played = filter_sample(&noise_eq, played);
        scaled[i] = level * filter_sample(&speech_eq, speech[i]);
        mix[i] = scaled[i] + level * gain * played;
      }
      check_status(dlsc_dataset_add_signal_pair(train, model_stft, mix, scaled, length),
                   "dataset");
    }
    /* Other speakers with this recording's noise: more speech, the same noise. */
    for (int u = 0; u < o->extra_speech; u++) {
      const clip *cl = &extra.speech[0].clips[(size_t)(uniform01() * (double)extra.speech[0].count)];
      double level = -3.0 + 15.0 * uniform01();
      size_t offset = (size_t)(uniform01() * (double)noise_total);
      float *extra_mix = checked_alloc(NULL, cl->n * sizeof *extra_mix);
      check_status(dlsc_mix_at_snr(cl->samples, cl->n, noise, noise_total, offset, level, extra_mix),
                   "mix");
      check_status(dlsc_dataset_add_signal_pair(train, model_stft, extra_mix, cl->samples, cl->n),
                   "dataset");
      free(extra_mix);
    }
    dlsc_train_stats stats;
    if (train_epoch(model, train, o, epoch, &stats, &examples))
      break;
    /* --full: nothing to validate on; the last epoch (or the average) is kept. */
    scores val = {NAN, NAN};
    if (val_n)
      val = score(model, model_stft, noisy, clean, val_n, work);
    keep_if_best(&best, model, val_n ? val.snr : (double)epoch, epoch);
    accumulate_average(o, &average, &averaged, model, epoch);
    double elapsed = now_seconds() - start;
    if (val_n)
      printf("epoch %3d  loss %.5g  validation SNR %6.2f dB  SI-SDR %6.2f dB  %6.1f s\n", epoch,
             stats.loss, val.snr, val.si_sdr, elapsed);
    else
      printf("epoch %3d  loss %.5g  %6.1f s\n", epoch, stats.loss, elapsed);
    fflush(stdout);
    fprintf(csv, "%d,%.6g,%.4f,%.4f,%.2f\n", epoch, stats.loss, val.snr, val.si_sdr, elapsed);
    fflush(csv);
    if (o->checkpoint)
      save_checkpoint(o, model, train, epoch, examples, &best, average, averaged);
  }
  if (average) {
    scores avg = {INFINITY, INFINITY}; /* --full: the average is taken without a check */
    if (val_n) {
      avg = score(average, model_stft, noisy, clean, val_n, work);
      printf("average of the last %d epochs: validation SNR %.2f dB\n", averaged, avg.snr);
    }
    keep_if_best(&best, average, avg.snr, 0);
    dlsc_model_destroy(average);
  }
  int failed = close_written(csv, o->csv) != 0;
  dlsc_dataset_destroy(train);
  dlsc_model_destroy(model);
  check_status(dlsc_model_load(best.bytes, best.size, &model), "reload best");
  scores test = score(model, model_stft, noisy + cut, clean + cut, tail_n, work);
  report_choice(&best, val_n > 0);
  printf("TEST tail: SNR %.2f dB, SI-SDR %.2f dB (noisy %.2f dB, %.2f dB)\n", test.snr,
         test.si_sdr, noisy_snr, noisy_si);
  check_status(dlsc_model_save_file(model, o->out), o->out);
  printf("saved %s (%zu bytes)\n", o->out, best.size);
  if (o->listen_dir)
    write_listening(o, model, model_stft, o->clean_path ? NULL : course, noisy + cut,
                    clean + cut, tail_n);
  free(best.bytes);
  free(noise);
  free(mix);
  free(scaled);
  free(stretched);
  free(noise_stretched);
  free(work);
  free(clean);
  free(noisy);
  free_corpus(&extra);
  dlsc_model_destroy(model);
  dlsc_stft_destroy(stft);
  dlsc_stft_destroy(model_stft);
  return failed;
}

/* ---- the general model: LibriSpeech speakers x noise recordings */

/* A fixed evaluation set: each speaker of a split at each level, noise files in turn. */
typedef struct mixture {
  float *noisy;
  const clip *clean;
  double level;
} mixture;

static mixture *make_mixtures(const clip_set *speech, const clip_set *noise, const double *levels,
                              size_t n_levels, size_t *count) {
  *count = speech->count * n_levels;
  mixture *mixes = checked_alloc(NULL, *count * sizeof *mixes);
  for (size_t s = 0; s < speech->count; s++)
    for (size_t l = 0; l < n_levels; l++) {
      mixture *m = &mixes[s * n_levels + l];
      const clip *cl = &speech->clips[s], *nz = &noise->clips[(s * n_levels + l) % noise->count];
      m->clean = cl;
      m->level = levels[l];
      m->noisy = checked_alloc(NULL, cl->n * sizeof *m->noisy);
      check_status(dlsc_mix_at_snr(cl->samples, cl->n, nz->samples, nz->n, (s * 7919u) % nz->n,
                                   levels[l], m->noisy),
                   "mix");
    }
  return mixes;
}

static void free_mixtures(mixture *mixes, size_t count) {
  for (size_t i = 0; i < count; i++)
    free(mixes[i].noisy);
  free(mixes);
}

static double mean_snr(dlsc_model_t *model, dlsc_stft_t *stft, const mixture *mixes, size_t count,
                       float *work) {
  double sum = 0.0;
  for (size_t i = 0; i < count; i++)
    sum += score(model, stft, mixes[i].noisy, mixes[i].clean->samples, mixes[i].clean->n, work).snr;
  return sum / (double)count;
}

/* The dev set's table: per input level (-5, 0, 5, 10 dB), the mean SNRs and SI-SDR. */
static void report_dev(dlsc_model_t *model, dlsc_stft_t *stft, const corpus *c,
                       const mixture *dev, size_t n_dev, float *work) {
  printf("DEV set (%zu speakers, %zu noise files):\n", c->speech[2].count, c->noise[2].count);
  printf("  input SNR   output SNR   SNR gain   output SI-SDR\n");
  for (size_t l = 0; l < 4; l++) {
    double snr = 0, si = 0, in = 0;
    size_t k = 0;
    for (size_t i = l; i < n_dev; i += 4, k++) {
      scores s = score(model, stft, dev[i].noisy, dev[i].clean->samples, dev[i].clean->n, work);
      double input;
      check_status(dlsc_snr(dev[i].clean->samples, dev[i].noisy, dev[i].clean->n, &input), "snr");
      snr += s.snr;
      si += s.si_sdr;
      in += input;
    }
    double n_mix = (double)k;
    printf("  %8.2f    %8.2f     %+7.2f    %8.2f\n", in / n_mix, snr / n_mix, (snr - in) / n_mix,
           si / n_mix);
  }
}

/* --evaluate: a finished model on the validation and dev sets, at its own STFT. */
static int evaluate_general(const options *o, const corpus *c, const mixture *val, size_t n_val,
                            const mixture *dev, size_t n_dev, float *work) {
  dlsc_model_t *model = load_model(o->evaluate);
  if (!model)
    return 1;
  dlsc_stft_t *stft;
  dlsc_status status = dlsc_stft_create_for_model(model, &stft);
  if (status == DLSC_ERR_NOT_FOUND) { /* no denoising settings; else out of memory */
    fprintf(stderr, "%s is not a denoising model\n", o->evaluate);
    dlsc_model_destroy(model);
    return 1;
  }
  check_status(status, "STFT");
  if (o->attenuation_limit >= 0.0)
    check_status(dlsc_model_set_attenuation_limit(model, o->attenuation_limit), "limit");
  printf("%s", o->evaluate);
  if (o->attenuation_limit >= 0.0)
    printf(", attenuation limit %g dB", o->attenuation_limit);
  printf(": validation SNR %.2f dB\n", mean_snr(model, stft, val, n_val, work));
  report_dev(model, stft, c, dev, n_dev, work);
  dlsc_stft_destroy(stft);
  dlsc_model_destroy(model);
  return 0;
}

static int run_general(const options *o) {
  corpus c;
  load_corpus(o, &c);
  static const double val_levels[] = {0.0, 5.0}, dev_levels[] = {-5.0, 0.0, 5.0, 10.0};
  size_t n_val, n_dev, longest = 0;
  mixture *val = make_mixtures(&c.speech[1], &c.noise[1], val_levels, 2, &n_val);
  mixture *dev = make_mixtures(&c.speech[2], &c.noise[2], dev_levels, 4, &n_dev);
  for (int s = 0; s < 3; s++)
    for (size_t i = 0; i < c.speech[s].count; i++)
      longest = c.speech[s].clips[i].n > longest ? c.speech[s].clips[i].n : longest;
  float *work = checked_alloc(NULL, longest * sizeof *work);
  if (o->evaluate) {
    int result = evaluate_general(o, &c, val, n_val, dev, n_dev, work);
    free(work);
    free_mixtures(val, n_val);
    free_mixtures(dev, n_dev);
    free_corpus(&c);
    return result;
  }
  float *mix = checked_alloc(NULL, longest * sizeof *mix);
  float *eq_speech = NULL, *eq_noise = NULL; /* --eq: the filtered speech and noise */
  if (o->eq > 0.0f) {
    eq_speech = checked_alloc(NULL, longest * sizeof *eq_speech);
    eq_noise = checked_alloc(NULL, longest * sizeof *eq_noise);
  }
  dlsc_stft_t *stft = make_stft(o->n_fft, o->hop);
  dlsc_model_t *model = build_model(o);
  FILE *csv = open_for_writing(o->csv, o->resume ? "a" : "w"); /* resumed: rows go on */
  if (!o->resume)
    fprintf(csv, "epoch,train_loss,val_snr_db,seconds\n");
  best_model best = {0};
  dlsc_model_t *average = NULL;
  int averaged = 0;
  mix_state = o->seed;
  double start = now_seconds();
  const clip_set *speech = &c.speech[0], *noise = &c.noise[0];
  dlsc_dataset_t *train = new_frames(o);
  size_t examples = 0; /* the first epoch's, which set the schedule */
  int first = 1;
  if (o->resume)
    first = resume_checkpoint(o, model, train, &examples, &best, &average, &averaged) + 1;
  for (int epoch = first; epoch <= o->epochs; epoch++) {
    check_status(dlsc_dataset_clear(train), "dataset");
    for (size_t s = 0; s < speech->count; s++)
      for (int k = 0; k < o->mixes_per_utterance; k++) {
        const clip *cl = &speech->clips[s];
        const clip *nz = &noise->clips[(size_t)(uniform01() * (double)noise->count)];
        double level = -5.0 + 20.0 * uniform01();
        size_t offset = (size_t)(uniform01() * (double)nz->n);
        const float *clean = cl->samples, *played = nz->samples;
        size_t played_n = nz->n;
        if (o->eq > 0.0f) { /* the stretch of noise the mix reads, filtered */
          random_filter speech_eq = draw_filter(o->eq), noise_eq = draw_filter(o->eq);
          for (size_t i = 0; i < cl->n; i++) {
            eq_speech[i] = filter_sample(&speech_eq, cl->samples[i]);
            eq_noise[i] = filter_sample(&noise_eq, nz->samples[(offset + i) % nz->n]);
          }
          clean = eq_speech, played = eq_noise, played_n = cl->n, offset = 0;
        }
        check_status(dlsc_mix_at_snr(clean, cl->n, played, played_n, offset, level, mix), "mix");
        check_status(dlsc_dataset_add_signal_pair(train, stft, mix, clean, cl->n), "dataset");
      }
    dlsc_train_stats stats;
    if (train_epoch(model, train, o, epoch, &stats, &examples))
      break;
    double val_snr = mean_snr(model, stft, val, n_val, work);
    keep_if_best(&best, model, val_snr, epoch);
    accumulate_average(o, &average, &averaged, model, epoch);
    double elapsed = now_seconds() - start;
    printf("epoch %3d  loss %.5g  validation SNR %6.2f dB  %7.1f s\n", epoch, stats.loss, val_snr,
           elapsed);
    fflush(stdout);
    fprintf(csv, "%d,%.6g,%.4f,%.2f\n", epoch, stats.loss, val_snr, elapsed);
    fflush(csv);
    if (o->checkpoint)
      save_checkpoint(o, model, train, epoch, examples, &best, average, averaged);
  }
  if (average) {
    double avg_snr = mean_snr(average, stft, val, n_val, work);
    printf("average of the last %d epochs: validation SNR %.2f dB\n", averaged, avg_snr);
    keep_if_best(&best, average, avg_snr, 0);
    dlsc_model_destroy(average);
  }
  int failed = close_written(csv, o->csv) != 0;
  dlsc_dataset_destroy(train);
  dlsc_model_destroy(model);
  check_status(dlsc_model_load(best.bytes, best.size, &model), "reload best");
  report_choice(&best, 1);
  report_dev(model, stft, &c, dev, n_dev, work);
  check_status(dlsc_model_save_file(model, o->out), o->out);
  printf("saved %s (%zu bytes)\n", o->out, best.size);
  free(best.bytes);
  free(work);
  free(mix);
  free(eq_speech);
  free(eq_noise);
  free_mixtures(val, n_val);
  free_mixtures(dev, n_dev);
  free_corpus(&c);
  dlsc_model_destroy(model);
  dlsc_stft_destroy(stft);
  return failed;
}

int main(int argc, char **argv) {
  options o = parse(argc, argv);
  blas_check("dlsc-train-denoiser");
  return o.course ? run_course(&o) : run_general(&o);
}
