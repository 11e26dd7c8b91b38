/* The public header in a program of an older language standard: compiled by
 * check-standards.sh as C89, C99 and C11, and as C++98, C++11, C++17 and C++20, each
 * with -pedantic and warnings as errors. Declarations first (C89), every config's init
 * macro, an enum and a status used as such. Compiled only, never run. */
#include <dlsc.h>

int header_standards(const float *samples, size_t n, float *out);

int header_standards(const float *samples, size_t n, float *out) {
  dlsc_stft_config stft_config;
  dlsc_layer_config layer;
  dlsc_train_config train;
  dlsc_frames_config frames;
  dlsc_images_config images;
  dlsc_augment_config augment;
  dlsc_denoise_config denoise;
  dlsc_stft_t *stft = NULL;
  dlsc_model_t *model = NULL;
  dlsc_status status;
  dlsc_stft_config_init(&stft_config);
  dlsc_layer_config_init(&layer, DLSC_LAYER_DENSE);
  dlsc_train_config_init(&train);
  dlsc_frames_config_init(&frames);
  dlsc_images_config_init(&images);
  dlsc_augment_config_init(&augment);
  dlsc_denoise_config_init(&denoise);
  train.optimizer = DLSC_OPTIMIZER_ADAM;
  status = dlsc_model_load_file("model.dlsc", &model);
  if (status == DLSC_OK)
    status = dlsc_stft_create_for_model(model, &stft);
  if (status == DLSC_OK)
    status = dlsc_denoise(model, stft, samples, n, out);
  dlsc_stft_destroy(stft);
  dlsc_model_destroy(model);
  return status == DLSC_OK ? 0 : (int)dlsc_version() + (dlsc_strerror(status) != NULL);
}
