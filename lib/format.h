/* Byte-level pieces of dlsc's file formats (docs/model-format.md): little-endian
 * writers that can also just count, bounds-checked readers, the envelope every format
 * shares (magic, version, flags, total size ... CRC-32) and atomic file I/O. */
#ifndef DLSC_FORMAT_H
#define DLSC_FORMAT_H

#include "internal.h"

#define DLSC_ENVELOPE_HEAD 24u /* magic 8, version 4, flags 4, total size 8 */

/* With data NULL the writer only counts bytes. */
typedef struct dlsc_writer {
  unsigned char *data;
  size_t length;
} dlsc_writer;

void dlsc_put_bytes(dlsc_writer *w, const void *bytes, size_t count);
void dlsc_put_u32(dlsc_writer *w, uint32_t value);
void dlsc_put_u64(dlsc_writer *w, uint64_t value);
void dlsc_put_f32(dlsc_writer *w, float value);
void dlsc_put_floats(dlsc_writer *w, const float *values, size_t count);
void dlsc_put_string(dlsc_writer *w, const char *text);
/* The head: magic, version, flags 0, total (the whole size, CRC included). */
void dlsc_put_head(dlsc_writer *w, const unsigned char magic[8], uint32_t version,
                   uint64_t total);
/* The CRC-32 of every byte written before it. */
void dlsc_put_crc(dlsc_writer *w);

/* Every get checks the bytes left; a failed get returns 0 and poisons the reader. */
typedef struct dlsc_reader {
  const unsigned char *data;
  size_t length, position;
  bool failed;
} dlsc_reader;

const unsigned char *dlsc_take(dlsc_reader *r, size_t count);
uint32_t dlsc_get_u32(dlsc_reader *r);
uint64_t dlsc_get_u64(dlsc_reader *r);
float dlsc_get_f32(dlsc_reader *r);
/* count floats into values; false (values partly written) if they are not all there. */
bool dlsc_get_floats(dlsc_reader *r, float *values, size_t count);
/* A length-prefixed string of at most max bytes, copied with a NUL into buffer. */
bool dlsc_get_string(dlsc_reader *r, char *buffer, size_t max);

/* Magic (else BAD_FORMAT), version (0: BAD_FORMAT, above max_version: VERSION), flags 0
 * and total size equal to size (BAD_FORMAT), CRC-32 (CHECKSUM). On success *version
 * and a reader over the body between head and CRC. */
dlsc_status dlsc_check_envelope(const unsigned char *bytes, size_t size,
                                const unsigned char magic[8], uint32_t max_version,
                                uint32_t *version, dlsc_reader *body);

/* Writes bytes to a temporary next to path and renames it over path (see
 * dlsc_model_save_file); reads a whole file of at most 2 GiB into a malloc'ed buffer
 * (*bytes, *size; a larger one: DLSC_ERR_BAD_FORMAT). */
dlsc_status dlsc_write_file_atomic(const char *path, const unsigned char *bytes, size_t size);
dlsc_status dlsc_read_file(const char *path, unsigned char **bytes, size_t *size);

#endif
