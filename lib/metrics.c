/* Signal metrics and mixing, accumulated in double so long signals stay exact. */
#include "internal.h"

#include <math.h>

static dlsc_status check_pair(const float *reference, const float *estimate, size_t n_samples) {
  if (!reference || !estimate || n_samples == 0)
    return DLSC_ERR_INVALID_ARGUMENT;
  if (!dlsc_all_finite(reference, n_samples) || !dlsc_all_finite(estimate, n_samples))
    return DLSC_ERR_NUMERIC;
  return DLSC_OK;
}

static double ratio_db(double signal, double noise) {
  return noise > 0.0 ? 10.0 * log10(signal / noise) : INFINITY;
}

dlsc_status dlsc_snr(const float *reference, const float *estimate, size_t n_samples,
                     double *snr_db) {
  if (!snr_db)
    return DLSC_ERR_INVALID_ARGUMENT;
  DLSC_TRY(check_pair(reference, estimate, n_samples));
  double signal = 0.0, noise = 0.0;
  for (size_t i = 0; i < n_samples; i++) {
    double error = (double)reference[i] - estimate[i];
    signal += (double)reference[i] * reference[i];
    noise += error * error;
  }
  if (signal == 0.0)
    return DLSC_ERR_NUMERIC; /* a silent reference has no SNR */
  *snr_db = ratio_db(signal, noise);
  return DLSC_OK;
}

dlsc_status dlsc_si_sdr(const float *reference, const float *estimate, size_t n_samples,
                        double *si_sdr_db) {
  if (!si_sdr_db)
    return DLSC_ERR_INVALID_ARGUMENT;
  DLSC_TRY(check_pair(reference, estimate, n_samples));
  double dot = 0.0, energy = 0.0;
  for (size_t i = 0; i < n_samples; i++) {
    dot += (double)reference[i] * estimate[i];
    energy += (double)reference[i] * reference[i];
  }
  if (energy == 0.0)
    return DLSC_ERR_NUMERIC;
  /* The estimate's projection on the reference is the target; the rest is distortion. */
  double alpha = dot / energy, target = 0.0, distortion = 0.0;
  for (size_t i = 0; i < n_samples; i++) {
    double t = alpha * reference[i], d = estimate[i] - t;
    target += t * t;
    distortion += d * d;
  }
  if (target == 0.0)
    return DLSC_ERR_NUMERIC; /* an estimate orthogonal to the reference */
  *si_sdr_db = ratio_db(target, distortion);
  return DLSC_OK;
}

dlsc_status dlsc_mix_at_snr(const float *clean, size_t n_samples, const float *noise,
                            size_t n_noise, size_t noise_offset, double snr_db, float *mix) {
  if (!clean || !noise || !mix || n_samples == 0 || n_noise == 0 || !isfinite(snr_db) ||
      fabs(snr_db) > 200.0)
    return DLSC_ERR_INVALID_ARGUMENT;
  if (!dlsc_all_within(clean, n_samples, DLSC_SAMPLE_LIMIT) ||
      !dlsc_all_within(noise, n_noise, DLSC_SAMPLE_LIMIT))
    return DLSC_ERR_NUMERIC;
  size_t start = noise_offset % n_noise;
  double signal = 0.0, interference = 0.0;
  for (size_t i = 0; i < n_samples; i++) {
    double n = noise[(start + i) % n_noise];
    signal += (double)clean[i] * clean[i];
    interference += n * n;
  }
  if (signal == 0.0 || interference == 0.0)
    return DLSC_ERR_NUMERIC; /* no gain gives a ratio with a silent side */
  double gain = sqrt(signal / (interference * pow(10.0, snr_db / 10.0)));
  /* A loud clean over a faint noise at a low SNR needs a gain that can take the mix out
   * of range: checked before anything is written. */
  for (size_t i = 0; i < n_samples; i++)
    if (!(fabs(clean[i] + gain * noise[(start + i) % n_noise]) <= DLSC_SAMPLE_LIMIT))
      return DLSC_ERR_NUMERIC;
  for (size_t i = 0; i < n_samples; i++)
    mix[i] = (float)(clean[i] + gain * noise[(start + i) % n_noise]);
  return DLSC_OK;
}
