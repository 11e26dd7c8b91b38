/* bench-layers: speed of the element-wise layers.
 *
 *   bench-layers [--seconds S]
 *
 * For each element-wise layer kind (relu, sigmoid, tanh, softplus, gelu, log): a model of
 * that one layer over rows of 4,096 values in -10 .. 10, run by dlsc_model_predict 256
 * rows at a time; prints nanoseconds per element, the fastest quarter second of S
 * seconds (default 3; bench_best_rate). Run with OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
 * for one core.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "cli.h"
#include "dlsc.h"

enum { WIDTH = 4096, ROWS = 256 };

typedef struct predict_context {
  dlsc_model_t *model;
  const float *x;
  float *y;
} predict_context;

static void predict(void *context) {
  predict_context *c = context;
  check_status(dlsc_model_predict(c->model, c->x, ROWS, c->y), "predict");
}

int main(int argc, char **argv) {
  double seconds = 3.0;
  if (argc == 3 && strcmp(argv[1], "--seconds") == 0)
    seconds = atof(argv[2]);
  else if (argc != 1) {
    fprintf(stderr, "usage: bench-layers [--seconds S]\n");
    return 2;
  }
  static const char *const kinds[] = {"relu", "sigmoid", "tanh", "softplus", "gelu", "log"};
  size_t n = (size_t)WIDTH * ROWS;
  float *x = checked_alloc(NULL, n * sizeof *x), *y = checked_alloc(NULL, n * sizeof *y);
  for (size_t i = 0; i < n; i++)
    x[i] = (float)((double)(i % 2001) - 1000.0) / 100.0f;
  printf("%-10s %14s\n", "layer", "ns/element");
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    char spec[64];
    snprintf(spec, sizeof spec, "input 1x1x%d; %s", WIDTH, kinds[k]);
    predict_context c = {NULL, x, y};
    check_status(dlsc_model_create_from_spec(spec, 1, &c.model), "model");
    double rate = bench_best_rate(predict, &c, (double)n, seconds);
    printf("%-10s %14.2f\n", kinds[k], 1e9 / rate);
    fflush(stdout);
    dlsc_model_destroy(c.model);
  }
  free(x);
  free(y);
  return 0;
}
