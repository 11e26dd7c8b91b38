/* dlsc-spectrogram: a picture (PNG, SVG or PDF) of stacked spectrograms, e.g. noisy /
 * denoised / clean.
 *
 *   dlsc-spectrogram [-o out.png|out.svg|out.pdf] [--seconds A:B] file.wav[=Title] ...
 *
 * The log-magnitude STFTs come from dlsc; gnuplot draws the labelled panels (it must be
 * installed: apt-get install gnuplot-nox), each from 0 Hz to its file's Nyquist
 * frequency, times at the centres of the STFT's frames. The output's folder is checked
 * before any file is read; a missing or failing gnuplot is reported as such.
 */
#include "cli.h"
#include "example_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_PANELS 6
#define N_FFT 512
#define HOP 128

typedef struct panel {
  char path[1024], title[256];
} panel;

static void usage(void) {
  fprintf(stderr, "usage: dlsc-spectrogram [-o out.png] [--seconds A:B] file.wav[=Title] ...\n"
                  "  one panel per file, one above the other, up to %d\n"
                  "  -o FILE  PNG, or SVG or PDF for a name ending in .svg or .pdf\n"
                  "  --seconds A:B  draw from A to B seconds (0 <= A < B)\n", MAX_PANELS);
  exit(2);
}

/* Writes the panel's dB spectrogram as gnuplot's binary matrix: a header row of
 * times, then per frequency row its value and the dB column by column. */
static int write_matrix(const char *audio, const char *matrix, double from, double to,
                        double *top_db, double *end, int *sample_rate) {
  float *samples;
  size_t n;
  int rate;
  char error[512];
  if (read_audio(audio, 1, &samples, &n, &rate, error, sizeof error) != 0) {
    fprintf(stderr, "%s\n", error);
    return -1;
  }
  size_t first = (size_t)(from * rate), last = to > 0 ? (size_t)(to * rate) : n;
  if (last > n)
    last = n;
  if (first >= last) {
    fprintf(stderr, "%s: the time range holds no samples\n", audio);
    free(samples);
    return -1;
  }
  *end = (double)last / rate;
  *sample_rate = rate;
  dlsc_stft_config config;
  dlsc_stft_config_init(&config);
  config.n_fft = N_FFT;
  config.hop_length = HOP;
  dlsc_stft_t *stft;
  check_status(dlsc_stft_create(&config, &stft), "stft");
  size_t frames, bins = N_FFT / 2 + 1, count = last - first;
  check_status(dlsc_stft_n_frames(stft, count, &frames), "stft");
  float *magnitude = malloc(frames * bins * sizeof *magnitude);
  FILE *out = magnitude ? fopen(matrix, "wb") : NULL;
  if (!out) {
    fprintf(stderr, "%s: cannot write its spectrogram to %s\n", audio, matrix);
    free(magnitude);
    free(samples);
    dlsc_stft_destroy(stft);
    return -1;
  }
  check_status(dlsc_stft_forward(stft, samples + first, count, magnitude, NULL, frames), "stft");
  float header = (float)frames;
  fwrite(&header, sizeof header, 1, out);
  /* frame k starts N_FFT - HOP samples before sample k * HOP (dlsc pads both ends) */
  for (size_t k = 0; k < frames; k++) {
    double centre = (double)k * HOP - (N_FFT - HOP) + N_FFT / 2;
    float t = (float)(from + centre / rate);
    fwrite(&t, sizeof t, 1, out);
  }
  for (size_t b = 0; b < bins; b++) {
    float hz = (float)((double)b * rate / N_FFT / 1000.0);
    fwrite(&hz, sizeof hz, 1, out);
    for (size_t k = 0; k < frames; k++) {
      float db = 20.0f * log10f(magnitude[k * bins + b] + 1e-6f);
      *top_db = fmax(*top_db, db);
      fwrite(&db, sizeof db, 1, out);
    }
  }
  int failed = ferror(out) | fclose(out);
  if (failed)
    fprintf(stderr, "%s: writing %s failed\n", audio, matrix);
  free(magnitude);
  free(samples);
  dlsc_stft_destroy(stft);
  return failed ? -1 : 0;
}

/* text as a gnuplot string: in single quotes, each quote doubled */
static void put_quoted(FILE *script, const char *text) {
  fputc('\'', script);
  for (; *text; text++) {
    if (*text == '\'')
      fputc('\'', script);
    fputc(*text, script);
  }
  fputc('\'', script);
}

/* Removes the temporary folder with the first count matrices and the script. */
static void remove_work(const char *directory, char matrix[][256], size_t count,
                        const char *script_path) {
  for (size_t i = 0; i < count; i++)
    unlink(matrix[i]);
  unlink(script_path);
  rmdir(directory);
}

/* gnuplot's terminal line for a picture of panels 1200 pixels wide (12 inches), 300 (3)
 * high each, in the format path's extension names in any case: PNG (a name without an
 * extension too), SVG or PDF. 0, or -1 for another extension. */
static int terminal_for(const char *path, size_t panels, char *line, size_t size) {
  const char *extension = *file_extension(path) ? file_extension(path) : "png";
  if (!strcasecmp(extension, "png"))
    snprintf(line, size, "set terminal pngcairo size 1200,%zu", 300 * panels);
  else if (!strcasecmp(extension, "svg"))
    snprintf(line, size, "set terminal svg size 1200,%zu", 300 * panels);
  else if (!strcasecmp(extension, "pdf"))
    snprintf(line, size, "set terminal pdfcairo size 12in,%zuin", 3 * panels);
  else
    return -1;
  return 0;
}

int main(int argc, char **argv) {
  const char *output = "spectrogram.png";
  double from = 0.0, to = -1.0;
  panel panels[MAX_PANELS];
  size_t n_panels = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-o") && i + 1 < argc) {
      output = argv[++i];
    } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
      /* 0 <= A < B <= 10^7 s (NaN fails every comparison) */
      char first[64], second[64];
      split_option("--seconds", argv[++i], ':', first, second);
      from = number_option("--seconds", first, 0.0, 1e7);
      to = number_option("--seconds", second, 0.0, 1e7);
      if (!(to > from))
        usage();
    } else if (argv[i][0] == '-') {
      usage();
    } else if (n_panels == MAX_PANELS) {
      fprintf(stderr, "more than %d files: draw them in several pictures\n", MAX_PANELS);
      return 2;
    } else {
      panel *p = &panels[n_panels++];
      const char *eq = strchr(argv[i], '=');
      size_t length = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
      if (length >= sizeof p->path) {
        fprintf(stderr, "a file name of over %zu bytes: %.40s...\n", sizeof p->path - 1, argv[i]);
        return 2;
      }
      snprintf(p->path, sizeof p->path, "%.*s", (int)length, argv[i]);
      const char *slash = strrchr(p->path, '/');
      snprintf(p->title, sizeof p->title, "%s", eq ? eq + 1 : slash ? slash + 1 : p->path);
    }
  }
  if (n_panels == 0)
    usage();
  char terminal[128];
  if (terminal_for(output, n_panels, terminal, sizeof terminal) != 0) {
    fprintf(stderr, "-o %s: a picture is written as .png, .svg or .pdf\n", output);
    return 2;
  }
  require_writable(output); /* before reading anything */
  /* the work folder goes under $TMPDIR (else /tmp) and is removed on every path out */
  const char *tmp = getenv("TMPDIR");
  char directory[160], script_path[256], matrix[MAX_PANELS][256];
  if ((size_t)snprintf(directory, sizeof directory, "%s/dlsc-spectrogram-XXXXXX",
                       tmp && *tmp ? tmp : "/tmp") >= sizeof directory ||
      !mkdtemp(directory)) {
    fprintf(stderr, "cannot make a temporary folder under %s\n", tmp && *tmp ? tmp : "/tmp");
    return 1;
  }
  snprintf(script_path, sizeof script_path, "%s/plot.gp", directory);
  double top_db = -1e9, end[MAX_PANELS];
  int rate[MAX_PANELS];
  for (size_t i = 0; i < n_panels; i++) {
    snprintf(matrix[i], sizeof matrix[i], "%s/panel%zu.bin", directory, i);
    if (write_matrix(panels[i].path, matrix[i], from, to, &top_db, &end[i], &rate[i]) != 0) {
      remove_work(directory, matrix, i + 1, script_path);
      return 1;
    }
  }
  FILE *script = fopen(script_path, "w");
  if (!script) {
    perror(script_path);
    remove_work(directory, matrix, n_panels, script_path);
    return 1;
  }
  /* names and titles are quoted for gnuplot and shown as given (noenhanced: no
   * subscripts from underscores) */
  fprintf(script, "%s font 'sans,11' noenhanced\nset output ", terminal);
  put_quoted(script, output);
  fprintf(script,
          "\nset multiplot layout %zu,1\nset palette defined (0 'black', 1 '#3b0f70', "
          "2 '#8c2981', 3 '#de4968', 4 '#fe9f6d', 5 '#fcfdbf')\nset cbrange [%g:%g]\n"
          "set cblabel 'dB'\nset ylabel 'kHz'\nunset key\n",
          n_panels, top_db - 80.0, top_db);
  for (size_t i = 0; i < n_panels; i++) {
    fputs("set title ", script);
    put_quoted(script, panels[i].title);
    fprintf(script, "\nset xrange [%g:%g]\nset yrange [0:%g]\nset xlabel '%s'\nplot ", from,
            end[i], rate[i] / 2000.0, i + 1 == n_panels ? "seconds" : "");
    put_quoted(script, matrix[i]);
    fputs(" binary matrix with image\n", script);
  }
  fprintf(script, "unset multiplot\n");
  char *gnuplot[] = {"gnuplot", script_path, NULL};
  int failed = close_written(script, script_path) != 0 ? -1 : run_program(gnuplot);
  remove_work(directory, matrix, n_panels, script_path);
  if (failed == -2)
    fprintf(stderr, "gnuplot draws the picture: apt-get install gnuplot-nox\n");
  if (failed)
    return 1;
  /* not into the picture when it goes to the standard output */
  fprintf(is_standard_output(output) ? stderr : stdout, "wrote %s\n", output);
  return 0;
}
