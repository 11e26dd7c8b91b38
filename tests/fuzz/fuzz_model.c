/* Fuzz target: dlsc_model_load on arbitrary bytes.
 *
 * Each input is tried twice: as given (the envelope checks: magic, version, size, CRC),
 * and with its total-size field and CRC-32 rewritten to match, so that mutations reach
 * the parser behind the checksum, as a deliberately crafted file would. A model that
 * loads must save back to exactly the bytes it was loaded from (the format is
 * canonical), describe itself in a spec that builds the same architecture, and run a
 * forward pass (and a denoising pass, if it carries denoise settings). Any other outcome
 * aborts, which the fuzzer reports. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void put_u32(uint8_t *at, uint32_t value) {
  for (int i = 0; i < 4; i++)
    at[i] = (uint8_t)(value >> (8 * i));
}

static void exercise(const uint8_t *bytes, size_t size) {
  dlsc_model_t *model = NULL;
  dlsc_status status = dlsc_model_load(bytes, size, &model);
  fuzz_require(status == DLSC_OK || status == DLSC_ERR_BAD_FORMAT || status == DLSC_ERR_VERSION ||
                   status == DLSC_ERR_CHECKSUM || status == DLSC_ERR_OUT_OF_MEMORY,
               "load returned an unexpected status");
  if (status != DLSC_OK) {
    fuzz_require(model == NULL, "a failed load wrote its output");
    return;
  }
  size_t saved_size;
  fuzz_require(dlsc_model_save(model, NULL, 0, &saved_size) == DLSC_OK, "save size");
  uint8_t *saved = malloc(saved_size);
  fuzz_require(saved && dlsc_model_save(model, saved, saved_size, &saved_size) == DLSC_OK,
               "save");
  fuzz_require(saved_size == size && memcmp(saved, bytes, size) == 0,
               "a loaded model does not save back to the same bytes");
  free(saved);
  fuzz_check_model(model);
  dlsc_model_destroy(model);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  exercise(data, size);
  if (size < 28)
    return 0;
  uint8_t *sealed = malloc(size);
  fuzz_require(sealed != NULL, "out of memory");
  memcpy(sealed, data, size);
  put_u32(sealed + 16, (uint32_t)size); /* total size, u64 */
  put_u32(sealed + 20, (uint32_t)((uint64_t)size >> 32));
  put_u32(sealed + size - 4, dlsc_crc32(0, sealed, size - 4));
  exercise(sealed, size);
  free(sealed);
  return 0;
}
