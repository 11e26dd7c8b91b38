/* bench-cifar: classifier training and inference speed on CIFAR-shaped images.
 *
 *   bench-cifar [--batch N] [--seconds S] [--print-spec] arch ...   (tiny, mid, wide, air)
 *
 * Trains on random 3x32x32 images with random labels (SGD Nesterov, cross-entropy,
 * the examples' architectures with a 10-class head) for S seconds after a warm-up
 * step, and runs inference likewise; prints images per second of the fastest quarter
 * second (bench_best_rate). The thread count is OpenBLAS's (OPENBLAS_NUM_THREADS).
 */
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
    printf("BLAS: %s\n", blas_check("bench-cifar"));
  if (!print_spec)
    printf("%-6s %10s %8s %16s %16s\n", "arch", "params", "batch", "train img/s", "infer img/s");
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
    schedule_options s = {1, batch, 1e-3f, 5e-4f, 0.0f, 0.9f, DLSC_OPTIMIZER_SGD, 0, 0, NULL, 0};
    dlsc_train_config config;
    train_config_for(&config, &s, batch * 1000);
    check_status(dlsc_model_set_training(model, &config), "training");
    dlsc_batch b = {batch, images, NULL, NULL, labels};
    step_context context = {model, &b, images, logits, batch};
    double train_rate = bench_best_rate(train_step, &context, (double)batch, seconds);
    double infer_rate = bench_best_rate(infer_step, &context, (double)batch, seconds);
    dlsc_model_info info;
    dlsc_model_get_info(model, &info);
    printf("%-6s %10zu %8zu %16.0f %16.0f\n", argv[a], info.n_parameters, batch, train_rate,
           infer_rate);
    fflush(stdout);
    dlsc_model_destroy(model);
  }
  free(images);
  free(logits);
  free(labels);
  return 0;
}
