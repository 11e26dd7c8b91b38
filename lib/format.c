/* The byte-level pieces the file formats share (format.h). */
#define _XOPEN_SOURCE 700 /* realpath (XSI), over the build's _POSIX_C_SOURCE */
#include "format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- writing */

void dlsc_put_bytes(dlsc_writer *w, const void *bytes, size_t count) {
  if (w->data)
    memcpy(w->data + w->length, bytes, count);
  w->length += count;
}

void dlsc_put_u32(dlsc_writer *w, uint32_t value) {
  unsigned char bytes[4] = {(unsigned char)value, (unsigned char)(value >> 8),
                            (unsigned char)(value >> 16), (unsigned char)(value >> 24)};
  dlsc_put_bytes(w, bytes, 4);
}

void dlsc_put_u64(dlsc_writer *w, uint64_t value) {
  dlsc_put_u32(w, (uint32_t)value);
  dlsc_put_u32(w, (uint32_t)(value >> 32));
}

void dlsc_put_f32(dlsc_writer *w, float value) {
  uint32_t bits;
  memcpy(&bits, &value, sizeof bits);
  dlsc_put_u32(w, bits);
}

void dlsc_put_floats(dlsc_writer *w, const float *values, size_t count) {
  for (size_t i = 0; i < count; i++)
    dlsc_put_f32(w, values[i]);
}

void dlsc_put_string(dlsc_writer *w, const char *text) {
  size_t length = strlen(text);
  dlsc_put_u32(w, (uint32_t)length);
  dlsc_put_bytes(w, text, length);
}

void dlsc_put_head(dlsc_writer *w, const unsigned char magic[8], uint32_t version,
                   uint64_t total) {
  dlsc_put_bytes(w, magic, 8);
  dlsc_put_u32(w, version);
  dlsc_put_u32(w, 0); /* flags: none defined */
  dlsc_put_u64(w, total);
}

void dlsc_put_crc(dlsc_writer *w) {
  if (w->data)
    dlsc_put_u32(w, dlsc_crc32(0, w->data, w->length));
  else
    w->length += 4;
}

/* ---- reading */

const unsigned char *dlsc_take(dlsc_reader *r, size_t count) {
  if (r->failed || count > r->length - r->position) {
    r->failed = true;
    return NULL;
  }
  const unsigned char *bytes = r->data + r->position;
  r->position += count;
  return bytes;
}

uint32_t dlsc_get_u32(dlsc_reader *r) {
  const unsigned char *b = dlsc_take(r, 4);
  return b ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24
           : 0;
}

uint64_t dlsc_get_u64(dlsc_reader *r) {
  uint64_t low = dlsc_get_u32(r);
  return low | (uint64_t)dlsc_get_u32(r) << 32;
}

float dlsc_get_f32(dlsc_reader *r) {
  uint32_t bits = dlsc_get_u32(r);
  float value;
  memcpy(&value, &bits, sizeof value);
  return value;
}

bool dlsc_get_floats(dlsc_reader *r, float *values, size_t count) {
  if (count > (r->length - r->position) / 4) {
    r->failed = true;
    return false;
  }
  for (size_t i = 0; i < count; i++)
    values[i] = dlsc_get_f32(r);
  return !r->failed;
}

bool dlsc_get_string(dlsc_reader *r, char *buffer, size_t max) {
  uint32_t length = dlsc_get_u32(r);
  const unsigned char *bytes = length <= max ? dlsc_take(r, length) : NULL;
  if (!bytes || memchr(bytes, '\0', length))
    return false;
  memcpy(buffer, bytes, length);
  buffer[length] = '\0';
  return true;
}

dlsc_status dlsc_check_envelope(const unsigned char *bytes, size_t size,
                                const unsigned char magic[8], uint32_t max_version,
                                uint32_t *version, dlsc_reader *body) {
  if (size < DLSC_ENVELOPE_HEAD + 4 || memcmp(bytes, magic, 8) != 0)
    return DLSC_ERR_BAD_FORMAT;
  dlsc_reader r = {bytes, size, 8, false};
  uint32_t found = dlsc_get_u32(&r), flags = dlsc_get_u32(&r);
  uint64_t total = dlsc_get_u64(&r);
  if (found == 0)
    return DLSC_ERR_BAD_FORMAT;
  if (found > max_version)
    return DLSC_ERR_VERSION;
  if (flags != 0 || total != size)
    return DLSC_ERR_BAD_FORMAT; /* a truncated or extended buffer */
  size_t end = size - 4;
  uint32_t stored = (uint32_t)bytes[end] | (uint32_t)bytes[end + 1] << 8 |
                    (uint32_t)bytes[end + 2] << 16 | (uint32_t)bytes[end + 3] << 24;
  if (dlsc_crc32(0, bytes, end) != stored)
    return DLSC_ERR_CHECKSUM;
  *version = found;
  *body = (dlsc_reader){bytes, end, DLSC_ENVELOPE_HEAD, false};
  return DLSC_OK;
}

/* ---- files */

/* A new file next to path (so that rename replaces path atomically), named path.tmp-PID-N.
 * It gets path's permissions if path exists, else those of any new file (0666 less the
 * umask), as a plain fopen would give; mkstemp's 0600 would hide the model from others. */
static int open_temporary(const char *path, const struct stat *existing, char *temporary,
                          size_t capacity) {
  for (unsigned attempt = 0; attempt < 1000; attempt++) {
    snprintf(temporary, capacity, "%s.tmp-%ld-%u", path, (long)getpid(), attempt);
    int fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      if (existing && fchmod(fd, existing->st_mode & 07777) != 0) {
        int error = errno;
        close(fd);
        unlink(temporary);
        errno = error;
        return -1;
      }
      return fd;
    }
    if (errno != EEXIST) /* EEXIST: another writer's (or a crashed one's) file */
      return -1;
  }
  return -1; /* errno EEXIST */
}

static bool write_all(int fd, const unsigned char *bytes, size_t size) {
  size_t written = 0;
  while (written < size) {
    ssize_t n = write(fd, bytes + written, size - written);
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0)
      errno = EIO; /* no progress and no reason given */
    if (n <= 0)
      return false;
    written += (size_t)n;
  }
  return true;
}

/* errno for a file that is there but not a regular one */
static int not_regular(const struct stat *info) {
  return S_ISDIR(info->st_mode) ? EISDIR : EINVAL;
}

/* The file to replace: path, or the file a symbolic link at path leads to (renaming over
 * the link would replace the link). *target is malloc'ed; *exists says whether it does.
 * Anything but a regular file there (a device, a FIFO, a directory) is refused: rename
 * would put a regular file in its place (as root, even over /dev/null). DLSC_ERR_IO
 * leaves the reason in errno. */
static dlsc_status resolve_target(const char *path, char **target, struct stat *existing,
                                  bool *exists) {
  struct stat link;
  if (lstat(path, &link) == 0 && S_ISLNK(link.st_mode)) {
    *target = realpath(path, NULL); /* NULL for a dangling link: nothing to replace */
    if (!*target)
      return DLSC_ERR_IO;
  } else {
    size_t length = strlen(path) + 1;
    if (!(*target = malloc(length)))
      return DLSC_ERR_OUT_OF_MEMORY;
    memcpy(*target, path, length);
  }
  *exists = stat(*target, existing) == 0;
  if (*exists && !S_ISREG(existing->st_mode)) {
    free(*target);
    errno = not_regular(existing);
    return DLSC_ERR_IO;
  }
  return DLSC_OK;
}

dlsc_status dlsc_write_file_atomic(const char *path, const unsigned char *bytes, size_t size) {
  char *target;
  struct stat existing;
  bool exists;
  DLSC_TRY(resolve_target(path, &target, &existing, &exists));
  size_t capacity = strlen(target) + 48;
  char *temporary = malloc(capacity);
  if (!temporary) {
    free(target);
    return DLSC_ERR_OUT_OF_MEMORY;
  }
  int error = 0; /* the first failure's errno */
  int fd = open_temporary(target, exists ? &existing : NULL, temporary, capacity);
  if (fd < 0) {
    error = errno;
  } else {
    if (!write_all(fd, bytes, size) || fsync(fd) != 0)
      error = errno;
    if (close(fd) != 0 && !error)
      error = errno;
    if (!error && rename(temporary, target) != 0)
      error = errno;
    if (error)
      unlink(temporary);
  }
  free(target);
  free(temporary);
  if (!error)
    return DLSC_OK;
  errno = error;
  return DLSC_ERR_IO;
}

#define MAX_FILE_BYTES ((off_t)1 << 31) /* off_t: 64 bits (_FILE_OFFSET_BITS), long may not be */

dlsc_status dlsc_read_file(const char *path, unsigned char **out, size_t *out_size) {
  /* Without O_NONBLOCK, opening a FIFO waits for a writer, maybe for ever; a directory
   * opens, and seems endless. Only a regular file is read, in blocking mode. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return DLSC_ERR_IO; /* errno from open */
  struct stat info;
  int flags = fcntl(fd, F_GETFL), error = 0;
  FILE *file = NULL;
  if (fstat(fd, &info) != 0 || flags < 0)
    error = errno;
  else if (!S_ISREG(info.st_mode))
    error = not_regular(&info);
  else if (fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 || !(file = fdopen(fd, "rb")))
    error = errno;
  if (error) {
    close(fd);
    errno = error;
    return DLSC_ERR_IO;
  }
  off_t size = -1;
  if (fseeko(file, 0, SEEK_END) == 0)
    size = ftello(file);
  if (size < 0 || size > MAX_FILE_BYTES || fseeko(file, 0, SEEK_SET) != 0) {
    error = errno;
    fclose(file);
    errno = error;
    return size > MAX_FILE_BYTES ? DLSC_ERR_BAD_FORMAT : DLSC_ERR_IO;
  }
  unsigned char *bytes = malloc(size ? (size_t)size : 1);
  if (!bytes) {
    fclose(file);
    return DLSC_ERR_OUT_OF_MEMORY;
  }
  size_t read = fread(bytes, 1, (size_t)size, file);
  error = read == (size_t)size ? 0 : ferror(file) ? errno : EIO; /* EIO: the file shrank */
  fclose(file);
  if (error) {
    free(bytes);
    errno = error;
    return DLSC_ERR_IO;
  }
  *out = bytes;
  *out_size = read;
  return DLSC_OK;
}
