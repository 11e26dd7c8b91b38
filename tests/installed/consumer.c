/* A program outside the source tree, built against an installed dlsc through
 * pkg-config (scripts/test.sh builds it shared and static) and in a host project that
 * builds dlsc as a meson subproject: it denoises a synthetic signal with a small model
 * and classifies two byte images, and checks the statuses and the outputs. */
#include <dlsc.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what, dlsc_status status) {
  fprintf(stderr, "consumer: %s: %s\n", what, dlsc_strerror(status));
  return 1;
}

int main(void) {
  if (dlsc_version() != DLSC_VERSION_NUMBER) {
    fprintf(stderr, "consumer: header %u, library %u\n", (unsigned)DLSC_VERSION_NUMBER,
            dlsc_version());
    return 1;
  }
  dlsc_model_t *model = NULL;
  dlsc_stft_t *stft = NULL;
  dlsc_status status = dlsc_model_create_from_spec(
      "input 1x3x129; log; batchnorm; dense 16; relu; dense 129; sigmoid", 1, &model);
  if (status != DLSC_OK)
    return fail("model", status);
  dlsc_denoise_config config;
  dlsc_denoise_config_init(&config);
  config.n_fft = 256;
  config.hop_length = 128;
  config.context_before = 1;
  config.context_after = 1;
  if ((status = dlsc_model_set_denoise(model, &config)) != DLSC_OK)
    return fail("denoise settings", status);
  if ((status = dlsc_stft_create_for_model(model, &stft)) != DLSC_OK)
    return fail("stft", status);
  enum { N = 4000 };
  static float noisy[N], clean[N];
  for (int i = 0; i < N; i++)
    noisy[i] = 0.5f * sinf(0.05f * (float)i);
  if ((status = dlsc_denoise(model, stft, noisy, N, clean)) != DLSC_OK)
    return fail("denoise", status);
  for (int i = 0; i < N; i++)
    if (!isfinite(clean[i]) || fabsf(clean[i]) > 1.0f) /* a mask in (0, 1) only shrinks */
      return fail("output out of range", DLSC_ERR_NUMERIC);
  if (dlsc_denoise(model, stft, noisy, 0, clean) != DLSC_ERR_INVALID_ARGUMENT)
    return fail("an empty signal was accepted", DLSC_OK);
  dlsc_stft_destroy(stft);
  dlsc_model_destroy(model);
  /* the image half: two 1x2x2 byte images through a small classifier */
  const uint8_t images[2 * 4] = {0, 255, 255, 0, 255, 0, 0, 255};
  int32_t labels[2] = {-1, -1};
  float probabilities[2 * 3];
  if ((status = dlsc_model_create_from_spec("input 1x2x2; dense 3", 2, &model)) != DLSC_OK)
    return fail("classifier", status);
  if ((status = dlsc_model_classify_u8(model, images, 2, labels, probabilities)) != DLSC_OK)
    return fail("classify", status);
  for (int i = 0; i < 2; i++)
    if (labels[i] < 0 || labels[i] > 2 ||
        fabsf(probabilities[3 * i] + probabilities[3 * i + 1] + probabilities[3 * i + 2] - 1.0f) >
            1e-5f)
      return fail("classify gave no class or no distribution", DLSC_ERR_NUMERIC);
  dlsc_model_destroy(model);
  printf("consumer: dlsc %s works\n", dlsc_version_string());
  return 0;
}
