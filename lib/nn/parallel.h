/* OpenMP loops for element-wise work; plain loops when the build has no OpenMP.
 * Small loops stay on one thread, where starting a team costs more than it saves.
 * When OpenBLAS runs its own pthread pool, its spinning threads and an OpenMP team
 * fight over the cores (measured: twice as slow on 2 cores), so the loops then run on
 * one thread; with OpenBLAS built on OpenMP both share one pool. */
#ifndef DLSC_PARALLEL_H
#define DLSC_PARALLEL_H

/* scripts/test.sh builds the unit tests once with 1, so that every loop runs on a team. */
#ifndef DLSC_PARALLEL_MIN_WORK
#define DLSC_PARALLEL_MIN_WORK 32768
#endif

/* For element-wise loops heavier on arithmetic than on memory: AVX-512 and AVX2 copies
 * beside the baseline, chosen when the library loads (meson checks the toolchain can). */
#ifdef DLSC_HAVE_TARGET_CLONES
#define DLSC_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DLSC_VECTOR_CLONES
#endif

#ifdef _OPENMP
#include <omp.h>
#ifdef DLSC_HAVE_OPENBLAS_PARALLEL
int openblas_get_parallel(void);
#endif

static inline int dlsc_parallel_threads(void) {
#ifdef DLSC_HAVE_OPENBLAS_PARALLEL
  if (openblas_get_parallel() == 1) /* 0 sequential, 1 pthreads, 2 OpenMP */
    return 1;
#endif
  return omp_get_max_threads();
}

#define DLSC_PRAGMA_(x) _Pragma(#x)
#define DLSC_PARALLEL_FOR(work)                                                              \
  DLSC_PRAGMA_(omp parallel for schedule(static) if ((work) > DLSC_PARALLEL_MIN_WORK)       \
                   num_threads(dlsc_parallel_threads()))
#else
#define DLSC_PARALLEL_FOR(work)
#endif

#endif
