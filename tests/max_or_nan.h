/* The running maximum of an error in the tests and fuzz targets: NaN once either side is
 * NaN, so that no tolerance passes it (fmax drops a NaN argument). */
#ifndef DLSC_TEST_MAX_OR_NAN_H
#define DLSC_TEST_MAX_OR_NAN_H

#include <math.h>

static inline double max_or_nan(double a, double b) {
  return a != a || b != b ? NAN : a > b ? a : b;
}

#endif
