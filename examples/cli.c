#include "cli.h"

#include "dlsc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

double number_option(const char *option, const char *text, double min, double max) {
  char *end;
  errno = 0;
  double value = strtod(text, &end);
  if (end == text || *end || errno || !isfinite(value) || value < min || value > max) {
    fprintf(stderr, "%s: '%s' is not a number from %g to %g\n", option, text, min, max);
    exit(2);
  }
  return value;
}

long long integer_option(const char *option, const char *text, long long min, long long max) {
  char *end;
  errno = 0;
  long long value = strtoll(text, &end, 10);
  if (end == text || *end || errno || value < min || value > max) {
    fprintf(stderr, "%s: '%s' is not a whole number from %lld to %lld\n", option, text, min, max);
    exit(2);
  }
  return value;
}

void *checked_alloc(void *old, size_t size) {
  void *block = realloc(old, size ? size : 1);
  if (!block) {
    fprintf(stderr, "out of memory (%zu bytes)\n", size);
    exit(1);
  }
  return block;
}

const char *blas_check(const char *program) {
  const char *config = "unknown", *better = NULL;
  if (dlsc_blas_info(&config, &better) == DLSC_OK && better)
    fprintf(stderr,
            "%s: warning: OpenBLAS runs kernels without AVX2 on this CPU, which has it "
            "(%s); set OPENBLAS_CORETYPE=%s for up to 4 times the speed (docs/speed.md)\n",
            program, config, better);
  return config;
}

void record_blas(dlsc_model_t *model) {
  const char *config, *better;
  if (dlsc_blas_info(&config, &better) == DLSC_OK)
    dlsc_model_set_metadata(model, "dlsc.blas", config);
}
