/* denoise-phase: does re-estimating the phase help a course denoiser? (an experiment,
 * not installed)
 *
 *   build/examples/denoise-phase MODEL.dlsc|--oracle [ITERATIONS]
 *
 * On the course pair's validation part and test tail (the splits of dlsc-train-denoiser
 * --course), takes the model's magnitude estimate (its gains x |Y|) with the noisy
 * phase, as dlsc_denoise does, then runs Griffin-Lim: the waveform's STFT keeps
 * its phase and takes the estimated magnitude again, ITERATIONS times (default 16). Prints
 * the SNR after 0, 1, 2, 4, 8, ... iterations; 0 is dlsc_denoise's result. --oracle
 * takes the clean magnitude instead (1024-point Hann STFT, hop 256): what the iterations
 * do for a perfect magnitude estimate.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example_util.h"

/* The estimated magnitude of each bin: the model's gains (dlsc_denoise_gains) times the
 * noisy magnitude, or with no model the clean magnitude. */
static void estimate_magnitudes(dlsc_model_t *model, dlsc_stft_t *stft, const float *noisy,
                                const float *clean, size_t n, size_t n_frames, size_t n_bins,
                                float *magnitude) {
  float *gains = checked_alloc(NULL, n_frames * n_bins * sizeof *gains);
  check_status(dlsc_stft_forward(stft, model ? noisy : clean, n, magnitude, NULL, n_frames),
               "stft");
  if (model) {
    check_status(dlsc_denoise_gains(model, magnitude, n_frames, gains), "gains");
    for (size_t i = 0; i < n_frames * n_bins; i++)
      magnitude[i] *= gains[i];
  }
  free(gains);
}

/* spectrum's phase with magnitude (phase 0 where spectrum is 0, as atan2 gives). */
static void impose(float *spectrum, const float *magnitude, size_t count) {
  for (size_t i = 0; i < count; i++) {
    float r = hypotf(spectrum[2 * i], spectrum[2 * i + 1]);
    float re = r > 0.0f ? spectrum[2 * i] / r : 1.0f, im = r > 0.0f ? spectrum[2 * i + 1] / r : 0.0f;
    spectrum[2 * i] = magnitude[i] * re;
    spectrum[2 * i + 1] = magnitude[i] * im;
  }
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: denoise-phase MODEL.dlsc|--oracle [ITERATIONS]\n");
    return 2;
  }
  int iterations = argc > 2 ? (int)integer_option("ITERATIONS", argv[2], 0, 1000) : 16;
  float *clean, *noisy;
  size_t n;
  read_course_pair(&clean, &noisy, &n);
  size_t cut, validation;
  course_split(n, &cut, &validation);
  dlsc_model_t *model = NULL;
  dlsc_stft_t *stft;
  if (!strcmp(argv[1], "--oracle")) {
    dlsc_stft_config stft_config;
    dlsc_stft_config_init(&stft_config);
    stft_config.hop_length = 256;
    check_status(dlsc_stft_create(&stft_config, &stft), "stft");
  } else {
    check_status(dlsc_model_load_file(argv[1], &model), argv[1]);
    check_status(dlsc_stft_create_for_model(model, &stft), argv[1]);
  }
  const char *names[2] = {"validation", "tail"};
  size_t parts[2][2] = {{0, validation}, {cut, n - cut}};
  for (int p = 0; p < 2; p++) {
    size_t start = parts[p][0], length = parts[p][1], n_frames, n_bins;
    check_status(dlsc_stft_n_frames(stft, length, &n_frames), "stft");
    check_status(dlsc_stft_n_bins(stft, &n_bins), "stft");
    float *spectrum = checked_alloc(NULL, n_frames * n_bins * 2 * sizeof *spectrum);
    float *magnitude = checked_alloc(NULL, n_frames * n_bins * sizeof *magnitude);
    float *out = checked_alloc(NULL, length * sizeof *out);
    estimate_magnitudes(model, stft, noisy + start, clean + start, length, n_frames, n_bins,
                        magnitude);
    check_status(dlsc_stft_forward_complex(stft, noisy + start, length, spectrum, n_frames), "stft");
    printf("%s, SNR after 0, 1, 2, 4, ... iterations:", names[p]);
    for (int k = 0; k <= iterations; k++) {
      impose(spectrum, magnitude, n_frames * n_bins);
      check_status(dlsc_stft_inverse_complex(stft, spectrum, n_frames, out, length), "istft");
      if ((k & (k - 1)) == 0) {
        double snr;
        check_status(dlsc_snr(clean + start, out, length, &snr), "snr");
        printf(" %.2f", snr);
      }
      check_status(dlsc_stft_forward_complex(stft, out, length, spectrum, n_frames), "stft");
    }
    printf(" dB\n");
    free(spectrum);
    free(magnitude);
    free(out);
  }
  dlsc_stft_destroy(stft);
  dlsc_model_destroy(model);
  free(clean);
  free(noisy);
  return 0;
}
