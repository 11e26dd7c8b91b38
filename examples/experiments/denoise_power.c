/* denoise-power: is a course denoiser's mask too timid or too bold? (an experiment, not
 * installed)
 *
 *   build/examples/denoise-power MODEL.dlsc
 *
 * On the course pair's validation part (the splits of dlsc-train-denoiser --course),
 * raises the model's gains (dlsc_denoise_gains) to a power p before resynthesis with
 * the noisy phase, for p from 0.7 to 1.5 (1: dlsc_denoise's result), and prints each
 * validation SNR; then the test tail's SNR for p = 1 and for the p that validated best,
 * and for no other, so that the tail plays no part in the choice.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "example_util.h"

static const double powers[] = {0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5};
enum { N_POWERS = sizeof powers / sizeof powers[0] };

/* The SNR of x (n samples, reference clean) denoised with the model's gains ^ power. */
static double snr_at_power(dlsc_model_t *model, dlsc_stft_t *stft, const float *x,
                           const float *clean, size_t n, double power) {
  size_t bins, frames;
  check_status(dlsc_stft_n_bins(stft, &bins), "stft");
  check_status(dlsc_stft_n_frames(stft, n, &frames), "stft");
  float *gains = checked_alloc(NULL, frames * bins * sizeof *gains);
  float *spectrum = checked_alloc(NULL, 2 * frames * bins * sizeof *spectrum);
  float *out = checked_alloc(NULL, n * sizeof *out);
  check_status(dlsc_stft_forward(stft, x, n, gains, NULL, frames), "stft");
  check_status(dlsc_denoise_gains(model, gains, frames, gains), "gains"); /* in place */
  check_status(dlsc_stft_forward_complex(stft, x, n, spectrum, frames), "stft");
  for (size_t i = 0; i < frames * bins; i++) {
    float g = gains[i] > 0.0f ? powf(gains[i], (float)power) : 0.0f;
    spectrum[2 * i] *= g;
    spectrum[2 * i + 1] *= g;
  }
  check_status(dlsc_stft_inverse_complex(stft, spectrum, frames, out, n), "stft");
  double snr;
  check_status(dlsc_snr(clean, out, n, &snr), "snr");
  free(gains);
  free(spectrum);
  free(out);
  return snr;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: denoise-power MODEL.dlsc\n");
    return 2;
  }
  float *clean, *noisy;
  size_t n, cut, validation;
  read_course_pair(&clean, &noisy, &n);
  course_split(n, &cut, &validation);
  dlsc_model_t *model;
  dlsc_stft_t *stft;
  check_status(dlsc_model_load_file(argv[1], &model), argv[1]);
  check_status(dlsc_stft_create_for_model(model, &stft), argv[1]);
  int best = 0;
  double best_snr = -INFINITY;
  for (int k = 0; k < N_POWERS; k++) {
    double snr = snr_at_power(model, stft, noisy, clean, validation, powers[k]);
    printf("%s: gains ^ %.2f: validation %.2f dB\n", argv[1], powers[k], snr);
    if (snr > best_snr) {
      best_snr = snr;
      best = k;
    }
  }
  printf("%s: tail %.2f dB at power 1, %.2f dB at power %.2f (the best on validation)\n",
         argv[1], snr_at_power(model, stft, noisy + cut, clean + cut, n - cut, 1.0),
         snr_at_power(model, stft, noisy + cut, clean + cut, n - cut, powers[best]),
         powers[best]);
  dlsc_stft_destroy(stft);
  dlsc_model_destroy(model);
  free(clean);
  free(noisy);
  return 0;
}
