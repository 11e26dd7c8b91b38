/* Fuzz target: dlsc_training_state_load on arbitrary bytes.
 *
 * A fixed model (Adam, lookahead, dropout, batch-norm) trained one epoch on a fixed
 * 24-image dataset receives each input twice: as given, and sealed: total size and CRC-32
 * rewritten, and the fields that tie a state to its model (parameter and statistic
 * counts, the weights' CRC-32, the optimizer) copied from the model's own state, so that
 * mutations reach the parser behind them. A refused state must leave model and dataset
 * as they were (their saved bytes); a loaded one must save back to the input's bytes
 * (the format is canonical) and train on without a crash. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define TIES_FIRST 24u /* counts, weights' CRC, optimizer: bytes 24 .. 47 */
#define TIES_END 48u

typedef struct fixture {
  dlsc_model_t *model;
  dlsc_dataset_t *data;
  uint8_t *model_bytes, *state_bytes;
  size_t model_size, state_size;
} fixture;

static uint8_t *saved_model(const dlsc_model_t *model, size_t *size) {
  fuzz_require(dlsc_model_save(model, NULL, 0, size) == DLSC_OK, "model size");
  uint8_t *bytes = malloc(*size);
  fuzz_require(bytes && dlsc_model_save(model, bytes, *size, size) == DLSC_OK, "model save");
  return bytes;
}

static uint8_t *saved_state(const dlsc_model_t *model, const dlsc_dataset_t *data,
                            size_t *size) {
  fuzz_require(dlsc_training_state_save(model, data, NULL, 0, size) == DLSC_OK, "state size");
  uint8_t *bytes = malloc(*size);
  fuzz_require(bytes && dlsc_training_state_save(model, data, bytes, *size, size) == DLSC_OK,
               "state save");
  return bytes;
}

static void make_fixture(fixture *f) {
  fuzz_require(dlsc_model_create_from_spec(
                   "input 1x4x4; conv2d 2 3x3 pad=same; batchnorm; relu; dropout 0.2; dense 3",
                   3, &f->model) == DLSC_OK, "model");
  dlsc_images_config images;
  dlsc_images_config_init(&images);
  images.channels = 1;
  images.height = images.width = 4;
  images.n_classes = 3;
  fuzz_require(dlsc_dataset_create_images(&images, 5, &f->data) == DLSC_OK, "dataset");
  float pixels[24 * 16];
  int32_t labels[24];
  for (size_t i = 0; i < 24 * 16; i++)
    pixels[i] = (float)((i * 37) % 101) / 101.0f;
  for (int i = 0; i < 24; i++)
    labels[i] = i % 3;
  fuzz_require(dlsc_dataset_add_images_f32(f->data, pixels, labels, 24) == DLSC_OK, "images");
  dlsc_train_config config;
  dlsc_train_config_init(&config);
  config.loss = DLSC_LOSS_CROSS_ENTROPY;
  config.batch_size = 8;
  config.lookahead_every = 2;
  fuzz_require(dlsc_model_set_training(f->model, &config) == DLSC_OK, "training");
  dlsc_train_stats stats;
  fuzz_require(dlsc_model_train_epoch(f->model, f->data, &stats) == DLSC_OK, "epoch");
  f->model_bytes = saved_model(f->model, &f->model_size);
  f->state_bytes = saved_state(f->model, f->data, &f->state_size);
}

static void put_u32(uint8_t *at, uint32_t value) {
  for (int i = 0; i < 4; i++)
    at[i] = (uint8_t)(value >> (8 * i));
}

static void exercise(const fixture *f, const uint8_t *bytes, size_t size) {
  for (int with_dataset = 0; with_dataset < 2; with_dataset++) {
    dlsc_dataset_t *data = with_dataset ? f->data : NULL;
    dlsc_status status = dlsc_training_state_load(f->model, data, bytes, size);
    fuzz_require(status == DLSC_OK || status == DLSC_ERR_BAD_FORMAT ||
                     status == DLSC_ERR_VERSION || status == DLSC_ERR_CHECKSUM ||
                     status == DLSC_ERR_SHAPE_MISMATCH || status == DLSC_ERR_INVALID_ARGUMENT ||
                     status == DLSC_ERR_OUT_OF_MEMORY,
                 "load returned an unexpected status");
    size_t now_size;
    uint8_t *now = saved_model(f->model, &now_size);
    fuzz_require(now_size == f->model_size && memcmp(now, f->model_bytes, now_size) == 0,
                 "loading a state changed the weights");
    free(now);
    if (status != DLSC_OK) {
      now = saved_state(f->model, f->data, &now_size);
      fuzz_require(now_size == f->state_size && memcmp(now, f->state_bytes, now_size) == 0,
                   "a refused state changed the training state");
      free(now);
      continue;
    }
    now = saved_state(f->model, data, &now_size);
    fuzz_require(now_size == size && memcmp(now, bytes, size) == 0,
                 "a loaded state does not save back to the same bytes");
    free(now);
    /* It trains on; then the fixture gets its weights and state back. */
    float x[2 * 16] = {0};
    int32_t y[2] = {0, 1};
    dlsc_batch batch = {2, x, NULL, NULL, y};
    dlsc_status trained = dlsc_model_train_batch(f->model, &batch, NULL);
    fuzz_require(trained == DLSC_OK || trained == DLSC_ERR_NUMERIC, "a loaded state trains");
    dlsc_model_t *original;
    fuzz_require(dlsc_model_load(f->model_bytes, f->model_size, &original) == DLSC_OK, "reload");
    fuzz_require(dlsc_model_copy_layers(f->model, original, 5) == DLSC_OK, "weights back");
    dlsc_model_destroy(original);
    fuzz_require(dlsc_training_state_load(f->model, f->data, f->state_bytes, f->state_size) ==
                     DLSC_OK, "the fixture's state reloads");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static fixture f; /* built once per process: the fuzzer calls this many times */
  if (!f.model)
    make_fixture(&f);
  exercise(&f, data, size);
  if (size < TIES_END + 4)
    return 0;
  uint8_t *sealed = malloc(size);
  fuzz_require(sealed != NULL, "out of memory");
  memcpy(sealed, data, size);
  memcpy(sealed + TIES_FIRST, f.state_bytes + TIES_FIRST, TIES_END - TIES_FIRST);
  put_u32(sealed + 16, (uint32_t)size); /* total size, u64 */
  put_u32(sealed + 20, (uint32_t)((uint64_t)size >> 32));
  put_u32(sealed + size - 4, dlsc_crc32(0, sealed, size - 4));
  exercise(&f, sealed, size);
  free(sealed);
  return 0;
}
