/* Status strings, versions, allocation and config helpers. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *dlsc_strerror(dlsc_status status) {
  switch (status) {
  case DLSC_OK: return "success";
  case DLSC_ERR_INVALID_ARGUMENT: return "invalid argument";
  case DLSC_ERR_OUT_OF_MEMORY: return "out of memory";
  case DLSC_ERR_SHAPE_MISMATCH: return "shapes do not match";
  case DLSC_ERR_BAD_FORMAT: return "malformed model data or spec";
  case DLSC_ERR_VERSION: return "unsupported format version";
  case DLSC_ERR_CHECKSUM: return "checksum mismatch";
  case DLSC_ERR_NUMERIC: return "non-finite or out-of-range value (NaN, infinity, overflow)";
  case DLSC_ERR_UNSUPPORTED: return "not supported";
  case DLSC_ERR_IO: return "a file could not be read or written (errno says why)";
  case DLSC_ERR_BUFFER_TOO_SMALL: return "buffer too small";
  case DLSC_ERR_NOT_FOUND: return "not found";
  case DLSC_ERR_CANCELLED: return "cancelled";
  }
  return "unknown status";
}

#define DLSC_STRINGIFY_(x) #x
#define DLSC_STRINGIFY(x) DLSC_STRINGIFY_(x)

unsigned dlsc_version(void) { return DLSC_VERSION_NUMBER; }

const char *dlsc_version_string(void) {
  return DLSC_STRINGIFY(DLSC_VERSION_MAJOR) "." DLSC_STRINGIFY(
      DLSC_VERSION_MINOR) "." DLSC_STRINGIFY(DLSC_VERSION_PATCH);
}

#ifdef DLSC_HAVE_OPENBLAS_INFO
char *openblas_get_config(void);
char *openblas_get_corename(void);

/* The OPENBLAS_CORETYPE to ask for when OpenBLAS chose a kernel set without AVX2 (its
 * DYNAMIC_ARCH names; builds for one target spell them in capitals) on a CPU with AVX2;
 * else NULL. A newer OpenBLAS adds only newer CPUs, so an unknown name is taken to fit. */
static const char *blas_better_coretype(const char *core) {
#if defined(__x86_64__) && defined(__GNUC__)
  static const char *const old[] = {
      "Unknown",   "Katmai",     "Coppermine",  "Northwood", "Prescott",     "Banias",
      "Atom",      "Core2",      "Penryn",      "Dunnington", "Nehalem",     "Athlon",
      "Opteron",   "Opteron_SSE3", "Barcelona", "Nano",      "Sandybridge", "Bobcat",
      "Bulldozer", "Piledriver", "Steamroller"};
  __builtin_cpu_init();
  if (!core || !__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
    return NULL;
  for (size_t i = 0; i < sizeof old / sizeof old[0]; i++)
    if (strcasecmp(core, old[i]) == 0)
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                     __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")
                 ? "SkylakeX"
                 : "Haswell";
#else
  (void)core;
#endif
  return NULL;
}
#endif

dlsc_status dlsc_blas_info(const char **config, const char **better_coretype) {
  if (!config || !better_coretype)
    return DLSC_ERR_INVALID_ARGUMENT;
#ifdef DLSC_HAVE_OPENBLAS_INFO
  const char *text = openblas_get_config();
  *config = text ? text : "OpenBLAS";
  *better_coretype = blas_better_coretype(openblas_get_corename());
#else
  *config = "CBLAS";
  *better_coretype = NULL;
#endif
  return DLSC_OK;
}

bool dlsc_mul_overflows(size_t a, size_t b, size_t *product) {
  if (a != 0 && b > SIZE_MAX / a)
    return true;
  *product = a * b;
  return false;
}

void *dlsc_alloc_array(size_t count, size_t element_size) {
  if (count == 0 || element_size == 0)
    count = element_size = 1;
  return calloc(count, element_size);
}

bool dlsc_float_bytes(size_t count, size_t *bytes) {
  if (dlsc_mul_overflows(count ? count : 1, sizeof(float), bytes) || *bytes > SIZE_MAX - 64)
    return false;
  *bytes = (*bytes + 63) & ~(size_t)63; /* aligned_alloc wants a multiple of the alignment */
  return true;
}

void *dlsc_alloc_floats(size_t count) {
  size_t bytes;
  if (!dlsc_float_bytes(count, &bytes))
    return NULL;
  void *memory = aligned_alloc(64, bytes);
  if (memory)
    memset(memory, 0, bytes);
  return memory;
}

dlsc_status dlsc_import_config(void *dst, size_t dst_size, const void *src) {
  size_t src_size;
  if (!src)
    return DLSC_ERR_INVALID_ARGUMENT;
  memcpy(&src_size, src, sizeof src_size);
  if (src_size < sizeof(size_t) || src_size > (1u << 16))
    return DLSC_ERR_INVALID_ARGUMENT; /* not initialised by its *_init macro */
  memcpy((char *)dst + sizeof(size_t), (const char *)src + sizeof(size_t),
         DLSC_MIN(src_size, dst_size) - sizeof(size_t));
  return DLSC_OK;
}

bool dlsc_all_finite(const float *values, size_t count) {
  /* An all-ones exponent marks NaN and infinity; OR-ing the test vectorises. */
  uint32_t bad = 0;
  for (size_t i = 0; i < count; i++) {
    uint32_t bits;
    memcpy(&bits, &values[i], sizeof bits);
    bad |= (bits & 0x7F800000u) == 0x7F800000u;
  }
  return bad == 0;
}

void dlsc_bytes_to_unit(const uint8_t *bytes, size_t count, float *out) {
  for (size_t i = 0; i < count; i++)
    out[i] = (float)bytes[i] / 255.0f;
}

bool dlsc_all_within(const float *values, size_t count, float limit) {
  int ok = 1; /* NaN fails the comparison */
  for (size_t i = 0; i < count; i++)
    ok &= fabsf(values[i]) <= limit;
  return ok;
}

float dlsc_sum_floats(const float *x, size_t n) {
  float part[DLSC_SUM_LANES] = {0}, total = 0.0f;
  size_t i = 0;
  for (; i + DLSC_SUM_LANES <= n; i += DLSC_SUM_LANES)
    for (size_t j = 0; j < DLSC_SUM_LANES; j++)
      part[j] += x[i + j];
  for (; i < n; i++)
    total += x[i];
  for (size_t j = 0; j < DLSC_SUM_LANES; j++)
    total += part[j];
  return total;
}

void dlsc_blend_floats(float *dst, const float *src, size_t count, float weight) {
  float keep = 1.0f - weight;
  for (size_t i = 0; i < count; i++)
    dst[i] = keep * dst[i] + weight * src[i];
}
