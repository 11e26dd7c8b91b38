/* bench-cifar: classifier training and inference speed on CIFAR-shaped images.
 *
 *   bench-cifar [--batch N] [--seconds S] [--print-spec] arch ...   (tiny, mid, wide, air)
 *
 * Trains on random 3x32x32 images with random labels (SGD Nesterov, cross-entropy,
 * the examples' architectures with a 10-class head) for S seconds after a warm-up
 * step, and runs inference likewise; prints images per second of the fastest quarter
 * second (bench_best_rate) and the GFLOP/s they make (dlsc_model_multiply_adds; a
 * training step as three passes), beside the BLAS's own sgemm on 1024 x 1024 matrices,
 * the most a convolution made of matrix products can reach. The thread count is
 * OpenBLAS's (OPENBLAS_NUM_THREADS).
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "cifar_run.h"
#include "example_util.h"

static void random_batch(float *images, int32_t *labels, size_t count) {
  uint64_t state = 99;
  for (size_t i = 0; i < count * CIFAR_PIXELS; i++) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    images[i] = (float)(state >> 40) / 16777216.0f;
  }
  for (size_t i = 0; i < count; i++)
    labels[i] = (int32_t)(i % 10);
}

typedef struct step_context {
  dlsc_model_t *model;
  const dlsc_batch *batch;
  const float *images;
  float *logits;
  size_t count;
} step_context;

/* The reference: C = A B on 1024 x 1024 matrices, 2 x 1024^3 flops a call. */
enum { SGEMM_N = 1024 };
static void sgemm_step(void *context) {
  float *a = context, *b = a + SGEMM_N * SGEMM_N, *c = b + SGEMM_N * SGEMM_N;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, SGEMM_N, SGEMM_N, SGEMM_N, 1.0f, a,
              SGEMM_N, b, SGEMM_N, 0.0f, c, SGEMM_N);
}

static double sgemm_gflops(double seconds) {
  float *m = checked_alloc(NULL, 3 * (size_t)SGEMM_N * SGEMM_N * sizeof *m);
  for (size_t i = 0; i < 3 * (size_t)SGEMM_N * SGEMM_N; i++)
    m[i] = (float)(i % 17) * 0.0625f;
  double calls = bench_best_rate(sgemm_step, m, 1.0, seconds);
  free(m);
  return calls * 2.0 * SGEMM_N * SGEMM_N * SGEMM_N / 1e9;
}

static void train_step(void *context) {
  step_context *c = context;
  check_status(dlsc_model_train_batch(c->model, c->batch, NULL), "train");
}

static void infer_step(void *context) {
  step_context *c = context;
  check_status(dlsc_model_predict(c->model, c->images, c->count, c->logits), "predict");
}

int main(int argc, char **argv) {
  size_t batch = 128;
  double seconds = 5.0;
  int first = 1, print_spec = 0;
  for (; first < argc && argv[first][0] == '-'; first += 2) {
    if (!strcmp(argv[first], "--print-spec")) {
      print_spec = 1; /* the specs, for the PyTorch comparison in bench/run */
      first--;
    } else if (first + 1 >= argc)
      break;
    else if (!strcmp(argv[first], "--batch"))
      batch = (size_t)integer_option("--batch", argv[first + 1], 2, 65536);
    else if (!strcmp(argv[first], "--seconds"))
      seconds = number_option("--seconds", argv[first + 1], 0.01, 86400.0);
    else
      break; /* an unknown option: usage */
  }
  if (first >= argc || argv[first][0] == '-') {
    fprintf(stderr, "usage: bench-cifar [--batch N] [--seconds S] arch ...\n");
    list_archs(stderr);
    return 2;
  }
  for (int a = first; a < argc; a++)
    if (!find_arch(argv[a])) { /* before any output or work: a mistyped name costs nothing */
      fprintf(stderr, "unknown arch %s; the archs:\n", argv[a]);
      list_archs(stderr);
      return 2;
    }
  float *images = checked_alloc(NULL, batch * CIFAR_PIXELS * sizeof *images);
  float *logits = checked_alloc(NULL, batch * 10 * sizeof *logits);
  int32_t *labels = checked_alloc(NULL, batch * sizeof *labels);
  random_batch(images, labels, batch);
  if (!print_spec)
    printf("BLAS: %s\nBLAS sgemm, 1024 x 1024: %.1f GF/s\n", blas_check("bench-cifar"),
           sgemm_gflops(seconds));
  if (!print_spec)
    printf("%-6s %10s %8s %16s %16s %10s %10s\n", "arch", "params", "batch", "train img/s",
           "infer img/s", "train GF/s", "infer GF/s");
  for (int a = first; a < argc; a++) {
    const arch *chosen = find_arch(argv[a]); /* checked above */
    char spec[2048];
    classifier_spec(chosen, 10, spec, sizeof spec);
    if (print_spec) {
      printf("%s\t%s\n", argv[a], spec);
      continue;
    }
    dlsc_model_t *model;
    check_status(dlsc_model_create_from_spec(spec, 1, &model), "model");
    schedule_options s = {1, batch, 1e-3f, 5e-4f, 0.0f, 0.9f, DLSC_OPTIMIZER_SGD, 0, 0, NULL, 0,
                          NULL};
    dlsc_train_config config;
    train_config_for(&config, &s, batch * 1000);
    check_status(dlsc_model_set_training(model, &config), "training");
    dlsc_batch b = {batch, images, NULL, NULL, labels};
    step_context context = {model, &b, images, logits, batch};
    double train_rate = bench_best_rate(train_step, &context, (double)batch, seconds);
    double infer_rate = bench_best_rate(infer_step, &context, (double)batch, seconds);
    dlsc_model_info info;
    dlsc_model_get_info(model, &info);
    uint64_t products; /* GF/s: 2 flops a multiply-add, a training step as three passes */
    check_status(dlsc_model_multiply_adds(model, &products), "multiply-adds");
    double flops = 2.0 * (double)products;
    printf("%-6s %10zu %8zu %16.0f %16.0f %10.1f %10.1f\n", argv[a], info.n_parameters, batch,
           train_rate, infer_rate, 3.0 * flops * train_rate / 1e9, flops * infer_rate / 1e9);
    fflush(stdout);
    dlsc_model_destroy(model);
  }
  free(images);
  free(logits);
  free(labels);
  return 0;
}
