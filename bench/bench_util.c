#include "bench_util.h"

#include <time.h>

double bench_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define SLICE_SECONDS 0.25

double bench_best_rate(void (*step)(void *context), void *context, double items,
                       double seconds) {
  step(context); /* warm-up: workspaces, caches */
  double best = 0.0, end = bench_now() + seconds;
  do {
    double start = bench_now(), elapsed;
    long calls = 0;
    do {
      step(context);
      calls++;
    } while ((elapsed = bench_now() - start) < SLICE_SECONDS);
    double rate = (double)calls * items / elapsed;
    best = rate > best ? rate : best;
  } while (bench_now() < end);
  return best;
}
