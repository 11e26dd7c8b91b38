/* PCG32 (M. O'Neill, pcg-random.org): small, fast, and reproducible across platforms. */
#include "internal.h"

void dlsc_rng_seed(dlsc_rng *rng, uint64_t seed, uint64_t stream) {
  rng->state = 0;
  rng->increment = (stream << 1u) | 1u;
  dlsc_rng_u32(rng);
  rng->state += seed;
  dlsc_rng_u32(rng);
}

uint32_t dlsc_rng_u32(dlsc_rng *rng) {
  uint64_t old = rng->state;
  rng->state = old * 6364136223846793005ULL + rng->increment;
  uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
  uint32_t rot = (uint32_t)(old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

uint32_t dlsc_rng_below(dlsc_rng *rng, uint32_t bound) {
  if (bound <= 1)
    return 0;
  uint32_t threshold = (uint32_t)(-bound) % bound; /* rejection removes modulo bias */
  for (;;) {
    uint32_t r = dlsc_rng_u32(rng);
    if (r >= threshold)
      return r % bound;
  }
}

float dlsc_rng_uniform(dlsc_rng *rng) { return (float)(dlsc_rng_u32(rng) >> 8) * 0x1.0p-24f; }

void dlsc_rng_permutation(dlsc_rng *rng, size_t *order, size_t count) {
  for (size_t i = 0; i < count; i++)
    order[i] = i;
  for (size_t i = count; i > 1; i--) {
    size_t j;
    if (count > UINT32_MAX) { /* two draws, in this order on every compiler */
      uint64_t high = dlsc_rng_u32(rng);
      j = (size_t)((high << 32 | dlsc_rng_u32(rng)) % i);
    } else {
      j = dlsc_rng_below(rng, (uint32_t)i);
    }
    size_t t = order[i - 1];
    order[i - 1] = order[j];
    order[j] = t;
  }
}
