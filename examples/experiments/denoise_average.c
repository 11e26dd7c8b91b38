/* denoise-average: scores averaged outputs of course denoisers (an experiment, not
 * installed).
 *
 *   build/examples/denoise-average [--shifts 1|2|4] MODEL.dlsc ...
 *
 * On the course pair's validation part (the first tenth of the first 85 %) and test tail
 * (the last 15 %), the splits of dlsc-train-denoiser --course, prints each model's SNR
 * with the waveforms of K framings averaged (the signal delayed by 0, hop/K, 2 hop/K, ...
 * samples before the STFT; "cycle spinning"), for K = 1, 2, 4, then the SNR of the
 * models' outputs averaged (each with --shifts K, default 1). Each model's SNR on the
 * part it trained on (between the two) is printed first: how much it overfits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example_util.h"

/* out[n] = the mean over k framings of model's denoising of x delayed by s = hop*i/k. */
static void denoise_shifted(dlsc_model_t *model, dlsc_stft_t *stft, const float *x, size_t n,
                            int k, size_t hop, float *out) {
  float *padded = checked_alloc(NULL, (n + hop) * sizeof *padded);
  float *y = checked_alloc(NULL, (n + hop) * sizeof *y);
  memset(out, 0, n * sizeof *out);
  for (int i = 0; i < k; i++) {
    size_t shift = hop * (size_t)i / (size_t)k;
    memset(padded, 0, shift * sizeof *padded);
    memcpy(padded + shift, x, n * sizeof *x);
    check_status(dlsc_denoise(model, stft, padded, n + shift, y), "denoise");
    for (size_t j = 0; j < n; j++)
      out[j] += y[shift + j] / (float)k;
  }
  free(padded);
  free(y);
}

static double snr_of(const float *clean, const float *estimate, size_t n) {
  double snr;
  check_status(dlsc_snr(clean, estimate, n, &snr), "snr");
  return snr;
}

int main(int argc, char **argv) {
  int first = 1, shifts = 1;
  if (argc > 2 && !strcmp(argv[1], "--shifts")) {
    shifts = (int)integer_option("--shifts", argv[2], 1, 4);
    first = 3;
  }
  if (first >= argc || shifts == 3) {
    fprintf(stderr, "usage: denoise-average [--shifts 1|2|4] MODEL.dlsc ...\n");
    return 2;
  }
  float *clean, *noisy;
  size_t n;
  read_course_pair(&clean, &noisy, &n);
  size_t cut, validation;
  course_split(n, &cut, &validation);
  size_t parts[2][2] = {{0, validation}, {cut, n - cut}};
  float *out = checked_alloc(NULL, n * sizeof *out);
  float *sum[2] = {checked_alloc(NULL, n * sizeof(float)), checked_alloc(NULL, n * sizeof(float))};
  memset(sum[0], 0, n * sizeof(float));
  memset(sum[1], 0, n * sizeof(float));
  int models = argc - first;
  for (int a = first; a < argc; a++) {
    dlsc_model_t *model;
    dlsc_stft_t *stft;
    check_status(dlsc_model_load_file(argv[a], &model), argv[a]);
    check_status(dlsc_stft_create_for_model(model, &stft), argv[a]);
    dlsc_stft_config config;
    dlsc_stft_config_init(&config);
    check_status(dlsc_stft_get_config(stft, &config), "stft");
    /* the part it trained on, against which the others show how much it overfits */
    size_t train = cut - validation;
    denoise_shifted(model, stft, noisy + validation, train, 1, config.hop_length, out);
    printf("%s: training part %.2f dB (input %.2f dB), validation input %.2f dB, tail input "
           "%.2f dB\n", argv[a], snr_of(clean + validation, out, train),
           snr_of(clean + validation, noisy + validation, train),
           snr_of(clean, noisy, validation), snr_of(clean + cut, noisy + cut, n - cut));
    for (int k = 1; k <= 4; k *= 2) {
      double snr[2];
      for (int p = 0; p < 2; p++) {
        denoise_shifted(model, stft, noisy + parts[p][0], parts[p][1], k, config.hop_length, out);
        snr[p] = snr_of(clean + parts[p][0], out, parts[p][1]);
        if (k == shifts)
          for (size_t j = 0; j < parts[p][1]; j++)
            sum[p][j] += out[j] / (float)models;
      }
      printf("%s, %d framing%s: validation %.2f dB, tail %.2f dB\n", argv[a], k,
             k > 1 ? "s" : "", snr[0], snr[1]);
    }
    dlsc_stft_destroy(stft);
    dlsc_model_destroy(model);
  }
  if (models > 1)
    printf("the %d models' outputs (%d framing%s each) averaged: validation %.2f dB, tail "
           "%.2f dB\n", models, shifts, shifts > 1 ? "s" : "",
           snr_of(clean + parts[0][0], sum[0], parts[0][1]),
           snr_of(clean + parts[1][0], sum[1], parts[1][1]));
  free(out);
  free(sum[0]);
  free(sum[1]);
  free(clean);
  free(noisy);
  return 0;
}
