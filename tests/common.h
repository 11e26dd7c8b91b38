/* Helpers shared by the test suites. */
#ifndef DLSC_TEST_COMMON_H
#define DLSC_TEST_COMMON_H

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#include "dlsc.h"
#include "max_or_nan.h"

#define ck_assert_status(expr, expected)                                                   \
  do {                                                                                     \
    dlsc_status status_ = (expr);                                                          \
    ck_assert_msg(status_ == (expected), "%s returned %d (%s), expected %d (%s)", #expr,   \
                  (int)status_, dlsc_strerror(status_), (int)(expected),                  \
                  dlsc_strerror(expected));                                                \
  } while (0)
#define ck_assert_ok(expr) ck_assert_status(expr, DLSC_OK)

/* A small deterministic generator for test data (independent of the library's). */
static inline uint32_t test_random(uint64_t *state) {
  *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(*state >> 33);
}

static inline float test_uniform(uint64_t *state, float low, float high) {
  return low + (high - low) * (float)(test_random(state) >> 8) * (1.0f / 16777216.0f);
}

static inline void fill_uniform(float *values, size_t count, float low, float high,
                                uint64_t seed) {
  uint64_t state = seed;
  for (size_t i = 0; i < count; i++)
    values[i] = test_uniform(&state, low, high);
}

/* The largest |a - b|, or NaN as soon as one is NaN, so that no tolerance passes it
 * (fmax, used here before, drops NaN arguments: a NaN output compared as equal). */
static inline double max_abs_diff(const float *a, const float *b, size_t count) {
  double worst = 0.0;
  for (size_t i = 0; i < count; i++) {
    double d = fabs((double)a[i] - b[i]);
    if (d != d)
      return d;
    worst = d > worst ? d : worst;
  }
  return worst;
}

static inline double max_abs(const float *a, size_t count) {
  double worst = 0.0;
  for (size_t i = 0; i < count; i++) {
    double d = fabs((double)a[i]);
    if (d != d)
      return d;
    worst = d > worst ? d : worst;
  }
  return worst;
}

static inline void put_u32_le(unsigned char *at, uint32_t value) {
  for (int i = 0; i < 4; i++)
    at[i] = (unsigned char)(value >> (8 * i));
}

/* Bytes assembled by hand as docs/model-format.md describes them (little-endian), by a
 * writer that shares nothing with lib/. */
typedef struct doc_file {
  unsigned char bytes[1024];
  size_t length;
} doc_file;

static inline void doc_u32(doc_file *f, uint32_t value) {
  ck_assert_uint_le(f->length + 4, sizeof f->bytes);
  put_u32_le(f->bytes + f->length, value);
  f->length += 4;
}

static inline void doc_u64(doc_file *f, uint64_t value) {
  doc_u32(f, (uint32_t)value);
  doc_u32(f, (uint32_t)(value >> 32));
}

static inline void doc_f32(doc_file *f, float value) {
  uint32_t bits;
  memcpy(&bits, &value, sizeof bits);
  doc_u32(f, bits);
}

static inline void doc_string(doc_file *f, const char *text) {
  size_t length = strlen(text);
  doc_u32(f, (uint32_t)length);
  ck_assert_uint_le(f->length + length, sizeof f->bytes);
  memcpy(f->bytes + f->length, text, length);
  f->length += length;
}

/* The envelope both formats open with: magic, version 1, flags 0, room for the size. */
static inline void doc_head(doc_file *f, const char magic[8]) {
  memset(f, 0, sizeof *f);
  memcpy(f->bytes, magic, 8);
  f->length = 8;
  doc_u32(f, 1);
  doc_u32(f, 0);
  doc_u64(f, 0); /* the total size: doc_close writes it */
}

/* Closes the envelope: the total size at offset 16 and the CRC-32 (crc, the library's
 * own function: tests include internal.h for it) of all before it. Returns the size. */
static inline size_t doc_close(doc_file *f, uint32_t (*crc)(uint32_t, const void *, size_t)) {
  size_t total = f->length + 4;
  put_u32_le(f->bytes + 16, (uint32_t)total);
  put_u32_le(f->bytes + 20, (uint32_t)((uint64_t)total >> 32));
  doc_u32(f, crc(0, f->bytes, f->length));
  return total;
}

/* Asserts that model denoises with this STFT and context, and that its stream at the
 * model's rate (16 kHz) answers latency samples later. */
static inline void assert_denoiser(const dlsc_model_t *model, size_t n_fft, size_t hop,
                                   size_t context_after, size_t latency) {
  dlsc_denoise_config config;
  dlsc_denoise_config_init(&config);
  ck_assert_int_eq(dlsc_model_get_denoise(model, &config), DLSC_OK);
  ck_assert_uint_eq(config.n_fft, n_fft);
  ck_assert_uint_eq(config.hop_length, hop);
  ck_assert_uint_eq(config.context_after, context_after);
  dlsc_stream_t *stream;
  size_t samples;
  ck_assert_int_eq(dlsc_stream_create(model, &stream), DLSC_OK);
  ck_assert_int_eq(dlsc_stream_latency(stream, &samples), DLSC_OK);
  ck_assert_uint_eq(samples, latency);
  dlsc_stream_destroy(stream);
}

/* A model from a spec string (asserted to build). */
static inline dlsc_model_t *from_spec(const char *spec, uint64_t seed) {
  dlsc_model_t *model = NULL;
  ck_assert_ok(dlsc_model_create_from_spec(spec, seed, &model));
  return model;
}

/* An empty images dataset of channels x height x width images and classes labels. */
static inline dlsc_dataset_t *images_dataset(size_t channels, size_t height, size_t width,
                                             size_t classes, uint64_t seed) {
  dlsc_images_config config;
  dlsc_images_config_init(&config);
  config.channels = channels;
  config.height = height;
  config.width = width;
  config.n_classes = classes;
  dlsc_dataset_t *dataset = NULL;
  ck_assert_ok(dlsc_dataset_create_images(&config, seed, &dataset));
  return dataset;
}

/* A model's saved bytes (malloc'd; *size gets their count). */
static inline unsigned char *model_bytes(const dlsc_model_t *model, size_t *size) {
  ck_assert_ok(dlsc_model_save(model, NULL, 0, size));
  unsigned char *bytes = malloc(*size);
  ck_assert_ok(dlsc_model_save(model, bytes, *size, size));
  return bytes;
}

/* The two models save to the same bytes. */
static inline void assert_same_model(const dlsc_model_t *a, const dlsc_model_t *b) {
  size_t size_a, size_b;
  unsigned char *bytes_a = model_bytes(a, &size_a), *bytes_b = model_bytes(b, &size_b);
  ck_assert_uint_eq(size_a, size_b);
  ck_assert_mem_eq(bytes_a, bytes_b, size_a);
  free(bytes_a);
  free(bytes_b);
}

/* One training step of each on batch; then the two save to the same bytes. */
static inline void assert_same_step(dlsc_model_t *a, dlsc_model_t *b, const dlsc_batch *batch) {
  ck_assert_ok(dlsc_model_train_batch(a, batch, NULL));
  ck_assert_ok(dlsc_model_train_batch(b, batch, NULL));
  assert_same_model(a, b);
}

/* The model saves to exactly before (size bytes): a refused call changed nothing. */
static inline void assert_model_unchanged(const dlsc_model_t *model, const unsigned char *before,
                                          size_t size) {
  size_t now_size;
  unsigned char *now = model_bytes(model, &now_size);
  ck_assert_uint_eq(now_size, size);
  ck_assert_mem_eq(now, before, size);
  free(now);
}

/* The memory tests' model: its weights, activations, scratch and optimizer arrays are
 * each over 96 kB, so that one left out of dlsc_model_memory shows against the heap. */
#define MEMORY_TEST_SPEC \
  "input 3x32x32; conv2d 16 3x3 pad=same; batchnorm; relu; maxpool 2; dropout 0.25; dense 10"

#ifdef __GLIBC__
#include <malloc.h>
/* The bytes glibc's heap has in use: the main arena's chunks and the mapped ones. */
static inline size_t heap_in_use(void) {
  struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

/* Whether heap_in_use sees allocations (not under a sanitizer's or valgrind's
 * allocator): a 1 MiB block must show, to its chunk's rounding. */
static inline bool heap_is_measured(void) {
  size_t before = heap_in_use();
  char *block = malloc(1 << 20);
  if (!block)
    return false;
  memset(block, 1, 1 << 20);
  size_t growth = heap_in_use() - before;
  free(block);
  return growth >= (1 << 20) && growth <= (1 << 20) + 8192;
}

/* Heap growth over a call against dlsc_model_memory's figure: at least that, and at
 * most the layer table, the model's struct and the allocator's rounding (a page for
 * each mapped block) more. */
static inline void assert_heap_growth(size_t before, size_t after, size_t expected) {
  ck_assert_uint_ge(after, before);
  ck_assert_msg(after - before >= expected && after - before <= expected + 96 * 1024,
                "heap grew %zu bytes, dlsc_model_memory said %zu", after - before, expected);
}
#endif

/* Runs one suite; the exit status is what meson test reads. */
static inline int run_suite(Suite *suite) {
  SRunner *runner = srunner_create(suite);
  srunner_run_all(runner, CK_NORMAL);
  int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
