/* Fuzz target: dlsc_model_create_from_spec on arbitrary text.
 *
 * A spec that builds a model must print back (dlsc_model_describe) as a spec that
 * builds the same architecture and prints the same text, and the model must run a
 * forward pass. dlsc_model_check_spec must give create's status and a span inside the
 * text. Any other outcome aborts, which the fuzzer reports. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

/* check_spec gives create's status and a span inside the text, or runs out of memory
 * itself (then no verdict: it cannot be one). */
static void check_verdict(const char *spec, dlsc_status status) {
  dlsc_status verdict;
  size_t offset, length;
  dlsc_status checked = dlsc_model_check_spec(spec, &verdict, &offset, &length);
  if (checked == DLSC_ERR_OUT_OF_MEMORY)
    return;
  fuzz_require(checked == DLSC_OK, "check_spec refused a text");
  fuzz_require(verdict != DLSC_ERR_OUT_OF_MEMORY, "out of memory as a verdict");
  fuzz_require(verdict == status || status == DLSC_ERR_OUT_OF_MEMORY,
               "check_spec's verdict is not create's status");
  fuzz_require(offset <= strlen(spec) && length <= strlen(spec) - offset,
               "check_spec's span leaves the text");
  fuzz_require(verdict != DLSC_OK || (offset == 0 && length == 0), "a span for a good spec");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096)
    return 0;
  char *spec = malloc(size + 1);
  fuzz_require(spec != NULL, "out of memory");
  memcpy(spec, data, size);
  spec[size] = '\0';
  dlsc_model_t *model = NULL;
  dlsc_status status = dlsc_model_create_from_spec(spec, 1, &model);
  dlsc_model_info info; /* check_spec builds the model again: not for the largest */
  if (status != DLSC_OK ||
      (dlsc_model_get_info(model, &info) == DLSC_OK && info.n_parameters <= (1u << 18)))
    check_verdict(spec, status);
  free(spec);
  fuzz_require(status == DLSC_OK || status == DLSC_ERR_BAD_FORMAT ||
                   status == DLSC_ERR_SHAPE_MISMATCH || status == DLSC_ERR_INVALID_ARGUMENT ||
                   status == DLSC_ERR_OUT_OF_MEMORY,
               "create_from_spec returned an unexpected status");
  if (status != DLSC_OK) {
    fuzz_require(model == NULL, "a failed create wrote its output");
    return 0;
  }
  fuzz_check_model(model);
  dlsc_model_destroy(model);
  return 0;
}
