/* Band-limited resampling: each output sample is the input convolved with a
 * Kaiser-windowed sinc centred on its time, read from a table sampled finely along the
 * kernel (linear interpolation between entries). The cut-off sits below the lower of
 * the two Nyquist rates, so downsampling does not alias. */
#include "internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ZERO_CROSSINGS 32 /* of the sinc on each side of the centre */
#define STEPS 512         /* table entries per zero crossing */
#define KAISER_BETA 9.0   /* side lobes near -90 dB */
#define PASSBAND 0.94     /* cut-off, as a fraction of the lower Nyquist rate */
#define MAX_RATE 1000000u
#define PI 3.14159265358979323846

static double bessel_i0(double x) {
  double sum = 1.0, term = 1.0;
  for (int k = 1; k < 64 && term > 1e-16 * sum; k++) {
    term *= (x / (2.0 * k)) * (x / (2.0 * k));
    sum += term;
  }
  return sum;
}

/* kernel[i]: the windowed sinc at i / STEPS zero crossings from the centre. */
static float *make_kernel(void) {
  size_t n = ZERO_CROSSINGS * STEPS + 2;
  float *kernel = malloc(n * sizeof *kernel);
  if (!kernel)
    return NULL;
  double norm = bessel_i0(KAISER_BETA);
  for (size_t i = 0; i < n; i++) {
    double x = (double)i / STEPS, u = x / ZERO_CROSSINGS;
    double window = u < 1.0 ? bessel_i0(KAISER_BETA * sqrt(1.0 - u * u)) / norm : 0.0;
    kernel[i] = (float)(i == 0 ? 1.0 : window * sin(PI * x) / (PI * x));
  }
  return kernel;
}

static int rates_valid(unsigned rate_in, unsigned rate_out) {
  return rate_in > 0 && rate_out > 0 && rate_in <= MAX_RATE && rate_out <= MAX_RATE;
}

dlsc_status dlsc_resample(const float *in, size_t n_in, unsigned rate_in, unsigned rate_out,
                          float *out, size_t out_capacity, size_t *n_out) {
  if (!n_out || !in || n_in == 0 || !rates_valid(rate_in, rate_out) ||
      n_in > (SIZE_MAX - rate_in) / rate_out)
    return DLSC_ERR_INVALID_ARGUMENT;
  size_t needed = (n_in * rate_out + rate_in - 1) / rate_in; /* outputs inside the input */
  *n_out = needed;
  if (!out)
    return DLSC_OK;
  if (out_capacity < needed)
    return DLSC_ERR_BUFFER_TOO_SMALL;
  if (!dlsc_all_finite(in, n_in))
    return DLSC_ERR_NUMERIC;
  if (rate_in == rate_out) {
    memcpy(out, in, n_in * sizeof *in);
    return DLSC_OK;
  }
  float *kernel = make_kernel();
  if (!kernel)
    return DLSC_ERR_OUT_OF_MEMORY;
  double cutoff = PASSBAND * (rate_out < rate_in ? (double)rate_out / rate_in : 1.0);
  double half = ZERO_CROSSINGS / cutoff, steps = cutoff * STEPS; /* in input samples */
  for (size_t j = 0; j < needed; j++) {
    uint64_t scaled = (uint64_t)j * rate_in; /* j's time in input samples, exactly */
    double t = (double)(scaled / rate_out) + (double)(scaled % rate_out) / rate_out;
    double first = ceil(t - half), last = floor(t + half), sum = 0.0;
    size_t k = first > 0.0 ? (size_t)first : 0;
    size_t end = last < (double)(n_in - 1) ? (size_t)last : n_in - 1;
    for (; k <= end; k++) {
      double position = fabs(t - (double)k) * steps;
      size_t i = (size_t)position;
      if (i >= ZERO_CROSSINGS * STEPS)
        continue;
      double frac = position - (double)i;
      sum += in[k] * (kernel[i] + frac * (kernel[i + 1] - kernel[i]));
    }
    out[j] = (float)(cutoff * sum);
  }
  free(kernel);
  return DLSC_OK;
}
