/* The model file format (docs/model-format.md): little-endian, versioned, CRC-32
 * protected. The reader checks size and checksum before it parses anything, then
 * rebuilds the model through the same validation as dlsc_model_add_layer. */
#define _XOPEN_SOURCE 700 /* realpath (XSI), over the build's _POSIX_C_SOURCE */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FORMAT_VERSION 1u
#define HEADER_BYTES 24u /* magic 8, version 4, flags 4, total size 8 */
#define MAX_LAYERS 4096u
#define MAX_META 4096u
static const unsigned char magic[8] = {'D', 'L', 'S', 'C', 'M', 'O', 'D', 'L'};

/* ---- writing: with data NULL the writer only counts bytes */

typedef struct writer {
  unsigned char *data;
  size_t length;
} writer;

static void put_bytes(writer *w, const void *bytes, size_t count) {
  if (w->data)
    memcpy(w->data + w->length, bytes, count);
  w->length += count;
}

static void put_u32(writer *w, uint32_t value) {
  unsigned char bytes[4] = {(unsigned char)value, (unsigned char)(value >> 8),
                            (unsigned char)(value >> 16), (unsigned char)(value >> 24)};
  put_bytes(w, bytes, 4);
}

static void put_u64(writer *w, uint64_t value) {
  put_u32(w, (uint32_t)value);
  put_u32(w, (uint32_t)(value >> 32));
}

static void put_f32(writer *w, float value) {
  uint32_t bits;
  memcpy(&bits, &value, sizeof bits);
  put_u32(w, bits);
}

static void put_string(writer *w, const char *text) {
  size_t length = strlen(text);
  put_u32(w, (uint32_t)length);
  put_bytes(w, text, length);
}

static void write_model(const dlsc_model_t *model, writer *w, uint64_t total) {
  put_bytes(w, magic, sizeof magic);
  put_u32(w, FORMAT_VERSION);
  put_u32(w, 0); /* flags: none defined */
  put_u64(w, total);
  put_u32(w, (uint32_t)model->input.channels);
  put_u32(w, (uint32_t)model->input.height);
  put_u32(w, (uint32_t)model->input.width);
  put_u32(w, (uint32_t)model->n_layers);
  for (size_t i = 0; i < model->n_layers; i++) {
    const dlsc_layer *layer = &model->layers[i];
    const dlsc_layer_config *c = &layer->config;
    size_t fields[] = {c->kind,     c->units,    c->kernel_h, c->kernel_w, c->stride_h,
                       c->stride_w, c->pad_h,    c->pad_w,    (size_t)c->bias};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
      put_u32(w, (uint32_t)fields[f]);
    put_f32(w, c->rate);
    put_f32(w, c->epsilon);
    put_f32(w, c->momentum);
    put_u32(w, (uint32_t)layer->n_params);
    put_u32(w, (uint32_t)layer->n_stats);
  }
  put_u32(w, model->has_denoise);
  if (model->has_denoise) {
    const dlsc_denoise_config *d = &model->denoise;
    size_t fields[] = {d->n_fft, d->hop_length, d->window, d->context_before, d->context_after,
                       (size_t)d->mask};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
      put_u32(w, (uint32_t)fields[f]);
  }
  put_u32(w, (uint32_t)model->n_meta);
  for (size_t i = 0; i < model->n_meta; i++) {
    put_string(w, model->meta[i].key);
    put_string(w, model->meta[i].value);
  }
  for (size_t i = 0; i < model->n_layers; i++) {
    const dlsc_layer *layer = &model->layers[i];
    for (size_t j = 0; j < layer->n_params; j++)
      put_f32(w, layer->params[j]);
    for (size_t j = 0; j < layer->n_stats; j++)
      put_f32(w, layer->stats[j]);
  }
  if (w->data)
    put_u32(w, dlsc_crc32(0, w->data, w->length));
  else
    w->length += 4;
}

dlsc_status dlsc_model_save(const dlsc_model_t *model, void *buffer, size_t capacity,
                            size_t *size) {
  if (!model || !size || (!buffer && capacity))
    return DLSC_ERR_INVALID_ARGUMENT;
  writer counter = {NULL, 0};
  write_model(model, &counter, 0);
  *size = counter.length;
  if (!buffer)
    return DLSC_OK;
  if (capacity < counter.length)
    return DLSC_ERR_BUFFER_TOO_SMALL;
  writer w = {buffer, 0};
  write_model(model, &w, counter.length);
  return DLSC_OK;
}

/* ---- reading: every get checks the bytes left; a failed get poisons the reader */

typedef struct reader {
  const unsigned char *data;
  size_t length, position;
  bool failed;
} reader;

static const unsigned char *take(reader *r, size_t count) {
  if (r->failed || count > r->length - r->position) {
    r->failed = true;
    return NULL;
  }
  const unsigned char *bytes = r->data + r->position;
  r->position += count;
  return bytes;
}

static uint32_t get_u32(reader *r) {
  const unsigned char *b = take(r, 4);
  return b ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24
           : 0;
}

static uint64_t get_u64(reader *r) {
  uint64_t low = get_u32(r);
  return low | (uint64_t)get_u32(r) << 32;
}

static float get_f32(reader *r) {
  uint32_t bits = get_u32(r);
  float value;
  memcpy(&value, &bits, sizeof value);
  return value;
}

/* A length-prefixed string of at most max bytes, copied with a NUL into buffer. */
static bool get_string(reader *r, char *buffer, size_t max) {
  uint32_t length = get_u32(r);
  const unsigned char *bytes = length <= max ? take(r, length) : NULL;
  if (!bytes || memchr(bytes, '\0', length))
    return false;
  memcpy(buffer, bytes, length);
  buffer[length] = '\0';
  return true;
}

static uint32_t float_bits(float value) {
  uint32_t bits;
  memcpy(&bits, &value, sizeof bits);
  return bits;
}

/* Builder statuses about shapes or values mean the bytes describe no valid model. */
static dlsc_status as_format_error(dlsc_status status) {
  return status == DLSC_ERR_OUT_OF_MEMORY || status == DLSC_OK ? status : DLSC_ERR_BAD_FORMAT;
}

static dlsc_status read_layers(reader *r, dlsc_model_t *model, uint32_t n_layers) {
  for (uint32_t i = 0; i < n_layers; i++) {
    uint32_t fields[9];
    for (size_t f = 0; f < 9; f++)
      fields[f] = get_u32(r);
    float rate = get_f32(r), epsilon = get_f32(r), momentum = get_f32(r);
    uint32_t n_params = get_u32(r), n_stats = get_u32(r);
    if (r->failed || !dlsc_layer_ops_for((dlsc_layer_kind)fields[0]) || fields[8] > 1)
      return DLSC_ERR_BAD_FORMAT;
    dlsc_layer_config c;
    dlsc_layer_config_init(&c, (dlsc_layer_kind)fields[0]);
    c.units = fields[1];
    c.kernel_h = fields[2];
    c.kernel_w = fields[3];
    c.stride_h = fields[4];
    c.stride_w = fields[5];
    c.pad_h = fields[6];
    c.pad_w = fields[7];
    c.bias = (int)fields[8];
    c.rate = rate;
    c.epsilon = epsilon;
    c.momentum = momentum;
    /* The tensors of this and the earlier layers all lie in the bytes left: a file
     * cannot make the reader allocate more than it could hold. */
    size_t left = (r->length - r->position) / 4, taken = model->n_params + model->n_stats;
    if (taken > left)
      return DLSC_ERR_BAD_FORMAT;
    DLSC_TRY(as_format_error(dlsc_model_append_layer(model, &c, left - taken)));
    const dlsc_layer *layer = &model->layers[model->n_layers - 1];
    const dlsc_layer_config *b = &layer->config;
    size_t built[9] = {b->kind,     b->units, b->kernel_h, b->kernel_w, b->stride_h,
                       b->stride_w, b->pad_h, b->pad_w,    (size_t)b->bias};
    for (size_t f = 0; f < 9; f++)
      if (built[f] != fields[f])
        return DLSC_ERR_BAD_FORMAT; /* a field the writer would write otherwise */
    if (layer->n_params != n_params || layer->n_stats != n_stats ||
        float_bits(b->rate) != float_bits(rate) || float_bits(b->epsilon) != float_bits(epsilon) ||
        float_bits(b->momentum) != float_bits(momentum))
      return DLSC_ERR_BAD_FORMAT; /* the file is not the canonical record of its layer */
  }
  return DLSC_OK;
}

static dlsc_status read_denoise_and_meta(reader *r, dlsc_model_t *model) {
  uint32_t has_denoise = get_u32(r);
  if (has_denoise > 1)
    return DLSC_ERR_BAD_FORMAT;
  if (has_denoise) {
    dlsc_denoise_config d;
    dlsc_denoise_config_init(&d);
    d.n_fft = get_u32(r);
    d.hop_length = get_u32(r);
    d.window = (dlsc_window)get_u32(r);
    d.context_before = get_u32(r);
    d.context_after = get_u32(r);
    uint32_t mask = get_u32(r);
    if (r->failed || mask > 1)
      return DLSC_ERR_BAD_FORMAT;
    d.mask = (int)mask;
    DLSC_TRY(as_format_error(dlsc_model_set_denoise(model, &d)));
  }
  uint32_t n_meta = get_u32(r);
  if (r->failed || n_meta > MAX_META)
    return DLSC_ERR_BAD_FORMAT;
  char key[64], value[4096];
  for (uint32_t i = 0; i < n_meta; i++) {
    if (!get_string(r, key, sizeof key - 1) || !get_string(r, value, sizeof value - 1))
      return DLSC_ERR_BAD_FORMAT;
    DLSC_TRY(as_format_error(dlsc_model_set_metadata(model, key, value)));
  }
  return DLSC_OK;
}

static dlsc_status read_tensors(reader *r, dlsc_model_t *model) {
  for (size_t i = 0; i < model->n_layers; i++) {
    dlsc_layer *layer = &model->layers[i];
    if (layer->n_params + layer->n_stats > (r->length - r->position) / 4)
      return DLSC_ERR_BAD_FORMAT;
    for (size_t j = 0; j < layer->n_params; j++)
      layer->params[j] = get_f32(r);
    for (size_t j = 0; j < layer->n_stats; j++)
      layer->stats[j] = get_f32(r);
    if (!dlsc_all_finite(layer->params, layer->n_params) ||
        !dlsc_all_finite(layer->stats, layer->n_stats))
      return DLSC_ERR_BAD_FORMAT;
  }
  return r->failed ? DLSC_ERR_BAD_FORMAT : DLSC_OK;
}

static dlsc_status check_envelope(const unsigned char *bytes, size_t size) {
  if (size < HEADER_BYTES + 4 || memcmp(bytes, magic, sizeof magic) != 0)
    return DLSC_ERR_BAD_FORMAT;
  reader r = {bytes, size, sizeof magic, false};
  uint32_t version = get_u32(&r), flags = get_u32(&r);
  uint64_t total = get_u64(&r);
  if (version == 0)
    return DLSC_ERR_BAD_FORMAT;
  if (version > FORMAT_VERSION)
    return DLSC_ERR_VERSION;
  if (flags != 0 || total != size)
    return DLSC_ERR_BAD_FORMAT; /* a truncated or extended buffer */
  size_t body = size - 4;
  uint32_t stored = (uint32_t)bytes[body] | (uint32_t)bytes[body + 1] << 8 |
                    (uint32_t)bytes[body + 2] << 16 | (uint32_t)bytes[body + 3] << 24;
  return dlsc_crc32(0, bytes, body) == stored ? DLSC_OK : DLSC_ERR_CHECKSUM;
}

dlsc_status dlsc_model_load(const void *buffer, size_t size, dlsc_model_t **out) {
  if (!buffer || !out)
    return DLSC_ERR_INVALID_ARGUMENT;
  const unsigned char *bytes = buffer;
  DLSC_TRY(check_envelope(bytes, size));
  reader r = {bytes, size - 4, HEADER_BYTES, false};
  dlsc_shape input = {get_u32(&r), get_u32(&r), get_u32(&r)};
  uint32_t n_layers = get_u32(&r);
  if (r.failed || n_layers > MAX_LAYERS)
    return DLSC_ERR_BAD_FORMAT;
  dlsc_model_t *model;
  DLSC_TRY(as_format_error(dlsc_model_create(input, 0, &model)));
  dlsc_status status = read_layers(&r, model, n_layers);
  if (status == DLSC_OK)
    status = read_denoise_and_meta(&r, model);
  if (status == DLSC_OK)
    status = read_tensors(&r, model);
  if (status == DLSC_OK && r.position != r.length)
    status = DLSC_ERR_BAD_FORMAT; /* bytes nobody accounts for */
  if (status != DLSC_OK) {
    dlsc_model_destroy(model);
    return status;
  }
  *out = model;
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
        close(fd);
        unlink(temporary);
        return -1;
      }
      return fd;
    }
    if (errno != EEXIST) /* EEXIST: another writer's (or a crashed one's) file */
      return -1;
  }
  return -1;
}

static bool write_all(int fd, const unsigned char *bytes, size_t size) {
  size_t written = 0;
  while (written < size) {
    ssize_t n = write(fd, bytes + written, size - written);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    written += (size_t)n;
  }
  return true;
}

/* The file to replace: path, or the file a symbolic link at path leads to (renaming over
 * the link would replace the link). *target is malloc'ed; *exists says whether it does.
 * Anything but a regular file there (a device, a FIFO, a directory) is refused: rename
 * would put a regular file in its place (as root, even over /dev/null). */
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
    return DLSC_ERR_IO;
  }
  return DLSC_OK;
}

dlsc_status dlsc_model_save_file(const dlsc_model_t *model, const char *path) {
  size_t size;
  if (!model || !path || !*path)
    return DLSC_ERR_INVALID_ARGUMENT;
  DLSC_TRY(dlsc_model_save(model, NULL, 0, &size));
  char *target;
  struct stat existing;
  bool exists;
  DLSC_TRY(resolve_target(path, &target, &existing, &exists));
  size_t capacity = strlen(target) + 48;
  char *temporary = malloc(capacity);
  unsigned char *bytes = malloc(size);
  if (!temporary || !bytes) {
    free(target);
    free(temporary);
    free(bytes);
    return DLSC_ERR_OUT_OF_MEMORY;
  }
  dlsc_model_save(model, bytes, size, &size);
  dlsc_status status = DLSC_ERR_IO;
  int fd = open_temporary(target, exists ? &existing : NULL, temporary, capacity);
  if (fd >= 0) {
    bool ok = write_all(fd, bytes, size) && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (ok && rename(temporary, target) == 0)
      status = DLSC_OK;
    else
      unlink(temporary);
  }
  free(target);
  free(temporary);
  free(bytes);
  return status;
}

#define MAX_FILE_BYTES ((long)1 << 31)

dlsc_status dlsc_model_load_file(const char *path, dlsc_model_t **out) {
  if (!path || !out)
    return DLSC_ERR_INVALID_ARGUMENT;
  FILE *file = fopen(path, "rb");
  if (!file)
    return DLSC_ERR_IO;
  long size = -1;
  if (fseek(file, 0, SEEK_END) == 0)
    size = ftell(file);
  if (size < 0 || size > MAX_FILE_BYTES || fseek(file, 0, SEEK_SET) != 0) {
    fclose(file);
    return size > MAX_FILE_BYTES ? DLSC_ERR_BAD_FORMAT : DLSC_ERR_IO;
  }
  unsigned char *bytes = malloc(size ? (size_t)size : 1);
  if (!bytes) {
    fclose(file);
    return DLSC_ERR_OUT_OF_MEMORY;
  }
  size_t read = fread(bytes, 1, (size_t)size, file);
  fclose(file);
  dlsc_status status = read == (size_t)size ? dlsc_model_load(bytes, read, out) : DLSC_ERR_IO;
  free(bytes);
  return status;
}

/* ---- transfer */

static bool same_layer(const dlsc_layer *a, const dlsc_layer *b) {
  const dlsc_layer_config *x = &a->config, *y = &b->config;
  return x->kind == y->kind && x->units == y->units && x->kernel_h == y->kernel_h &&
         x->kernel_w == y->kernel_w && x->stride_h == y->stride_h && x->stride_w == y->stride_w &&
         x->pad_h == y->pad_h && x->pad_w == y->pad_w && x->bias == y->bias &&
         a->out_size == b->out_size && a->n_params == b->n_params && a->n_stats == b->n_stats &&
         a->out.channels == b->out.channels && a->out.height == b->out.height;
}

/* Same input, same layers (structure and sizes) all the way. */
static bool same_architecture(const dlsc_model_t *a, const dlsc_model_t *b) {
  if (a->n_layers != b->n_layers || memcmp(&a->input, &b->input, sizeof a->input) != 0)
    return false;
  for (size_t i = 0; i < a->n_layers; i++)
    if (!same_layer(&a->layers[i], &b->layers[i]))
      return false;
  return true;
}

dlsc_status dlsc_model_blend(dlsc_model_t *dst, const dlsc_model_t *src, float weight) {
  if (!dst || !src || dst == src || !(weight >= 0.0f && weight <= 1.0f))
    return DLSC_ERR_INVALID_ARGUMENT;
  if (!same_architecture(dst, src))
    return DLSC_ERR_SHAPE_MISMATCH;
  dlsc_blend_floats(dst->params, src->params, dst->n_params, weight);
  dlsc_blend_floats(dst->stats, src->stats, dst->n_stats, weight);
  return DLSC_OK;
}

dlsc_status dlsc_model_get_values(const dlsc_model_t *model, size_t index, float *values,
                                 size_t capacity, size_t *count) {
  if (!model || !count || index >= model->n_layers || (!values && capacity))
    return DLSC_ERR_INVALID_ARGUMENT;
  const dlsc_layer *layer = &model->layers[index];
  *count = layer->n_params + layer->n_stats;
  if (!values)
    return DLSC_OK;
  if (capacity < *count)
    return DLSC_ERR_BUFFER_TOO_SMALL;
  if (layer->n_params)
    memcpy(values, layer->params, layer->n_params * sizeof *values);
  if (layer->n_stats)
    memcpy(values + layer->n_params, layer->stats, layer->n_stats * sizeof *values);
  return DLSC_OK;
}

dlsc_status dlsc_model_set_values(dlsc_model_t *model, size_t index, const float *values,
                                 size_t count) {
  if (!model || index >= model->n_layers || (!values && count))
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_layer *layer = &model->layers[index];
  if (count != layer->n_params + layer->n_stats)
    return DLSC_ERR_SHAPE_MISMATCH;
  if (count == 0)
    return DLSC_OK;
  if (!dlsc_all_finite(values, count))
    return DLSC_ERR_NUMERIC;
  if (layer->config.kind == DLSC_LAYER_BATCHNORM) {
    const float *variance = values + layer->n_params + layer->in.channels;
    for (size_t c = 0; c < layer->in.channels; c++)
      if (variance[c] < 0.0f)
        return DLSC_ERR_NUMERIC;
  }
  if (layer->n_params)
    memcpy(layer->params, values, layer->n_params * sizeof *values);
  if (layer->n_stats)
    memcpy(layer->stats, values + layer->n_params, layer->n_stats * sizeof *values);
  return DLSC_OK;
}

dlsc_status dlsc_model_copy_layers(dlsc_model_t *dst, const dlsc_model_t *src, size_t n_layers) {
  if (!dst || !src || dst == src || n_layers == 0)
    return DLSC_ERR_INVALID_ARGUMENT;
  if (n_layers > src->n_layers || n_layers > dst->n_layers ||
      memcmp(&dst->input, &src->input, sizeof dst->input) != 0)
    return DLSC_ERR_SHAPE_MISMATCH;
  for (size_t i = 0; i < n_layers; i++)
    if (!same_layer(&dst->layers[i], &src->layers[i]))
      return DLSC_ERR_SHAPE_MISMATCH;
  for (size_t i = 0; i < n_layers; i++) {
    dlsc_layer *to = &dst->layers[i];
    const dlsc_layer *from = &src->layers[i];
    memcpy(to->params, from->params, from->n_params * sizeof(float));
    memcpy(to->stats, from->stats, from->n_stats * sizeof(float));
  }
  dlsc_model_reset_optimizer(dst); /* moments of the old weights mean nothing now */
  return DLSC_OK;
}
