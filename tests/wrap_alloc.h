/* The allocator's entry points for a test linked with -Wl,--wrap=malloc (and calloc,
 * realloc, aligned_alloc; tests/meson.build's wrap_args): every call from the library
 * and the test program (Check too, when it is linked in statically) comes here. The
 * includer defines `static bool allocation_allowed(size_t bytes)` first: it sees each
 * call and the bytes asked for (SIZE_MAX for a calloc whose product overflows), and
 * false makes that call fail (NULL). */
#ifndef DLSC_TEST_WRAP_ALLOC_H
#define DLSC_TEST_WRAP_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

#include <stdint.h>

static bool allocation_allowed(size_t bytes);

void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *memory, size_t size);
void *__real_aligned_alloc(size_t alignment, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t count, size_t size);
void *__wrap_realloc(void *memory, size_t size);
void *__wrap_aligned_alloc(size_t alignment, size_t size);

void *__wrap_malloc(size_t size) { return allocation_allowed(size) ? __real_malloc(size) : NULL; }
void *__wrap_calloc(size_t count, size_t size) {
  size_t bytes = size && count > SIZE_MAX / size ? SIZE_MAX : count * size;
  return allocation_allowed(bytes) ? __real_calloc(count, size) : NULL;
}
void *__wrap_realloc(void *memory, size_t size) {
  return allocation_allowed(size) ? __real_realloc(memory, size) : NULL;
}
void *__wrap_aligned_alloc(size_t alignment, size_t size) {
  return allocation_allowed(size) ? __real_aligned_alloc(alignment, size) : NULL;
}

#endif
