/* OpenMP loops for element-wise work; plain loops when the build has no OpenMP. Small
 * loops stay on one thread, where starting a team would cost more than it saves. */
#ifndef DLSC_PARALLEL_H
#define DLSC_PARALLEL_H

#define DLSC_PARALLEL_MIN_WORK 32768

#ifdef _OPENMP
#define DLSC_PRAGMA_(x) _Pragma(#x)
#define DLSC_PARALLEL_FOR(work) DLSC_PRAGMA_(omp parallel for schedule(static) if ((work) > DLSC_PARALLEL_MIN_WORK))
#else
#define DLSC_PARALLEL_FOR(work)
#endif

#endif
