/* Shared by the speed programs. */
#ifndef DLSC_BENCH_UTIL_H
#define DLSC_BENCH_UTIL_H

double bench_now(void); /* monotonic seconds */

/* Items per second of step(context), which handles `items` items per call: run for
 * about `seconds` after one warm-up call, in slices of at least a quarter of a second,
 * and keep the fastest slice. On a shared machine, stolen time hits some slices; the
 * fastest one is the speed of the code. */
double bench_best_rate(void (*step)(void *context), void *context, double items,
                       double seconds);

#endif
