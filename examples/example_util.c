#include "example_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A file in memory for libsndfile's virtual I/O: it writes into one (it seeks back to
 * finish a header, which a pipe cannot take) and the bytes then go to the file at once;
 * and it reads a pipe's bytes from one (its FLAC decoder loses sync on a pipe). */
typedef struct memory_file {
  unsigned char *bytes;
  sf_count_t position, length, capacity;
} memory_file;
static sf_count_t memory_length(void *user) { return ((memory_file *)user)->length; }
static sf_count_t memory_tell(void *user) { return ((memory_file *)user)->position; }
static sf_count_t memory_seek(sf_count_t offset, int whence, void *user) {
  memory_file *m = user;
  sf_count_t base = whence == SEEK_CUR ? m->position : whence == SEEK_END ? m->length : 0;
  if (base + offset < 0)
    return -1;
  return m->position = base + offset;
}
static sf_count_t memory_read(void *to, sf_count_t count, void *user) {
  memory_file *m = user;
  sf_count_t left = m->length > m->position ? m->length - m->position : 0;
  if (count > left)
    count = left;
  if (count > 0)
    memcpy(to, m->bytes + m->position, (size_t)count);
  m->position += count;
  return count;
}
static sf_count_t memory_write(const void *from, sf_count_t count, void *user) {
  memory_file *m = user;
  if (count > m->capacity - m->position) { /* by half again at least; zeros in a gap */
    sf_count_t capacity = m->capacity + m->capacity / 2;
    if (capacity < m->position + count)
      capacity = m->position + count + 4096;
    if ((uint64_t)capacity > SIZE_MAX)
      return 0;
    unsigned char *grown = realloc(m->bytes, (size_t)capacity);
    if (!grown)
      return 0;
    m->bytes = grown;
    m->capacity = capacity;
  }
  if (m->position > m->length)
    memset(m->bytes + m->length, 0, (size_t)(m->position - m->length));
  memcpy(m->bytes + m->position, from, (size_t)count);
  m->position += count;
  if (m->position > m->length)
    m->length = m->position;
  return count;
}

static SF_VIRTUAL_IO memory_io = {memory_length, memory_seek, memory_read, memory_write,
                                  memory_tell};

/* path for reading: a pipe ("-" on a pipe, a FIFO) read whole into memory first, any
 * other file (a regular one, a device) opened by libsndfile itself. NULL with "cannot
 * open PATH: why" in error on failure. */
static SNDFILE *open_for_reading(const char *path, SF_INFO *info, memory_file *memory,
                                 char *error, size_t error_size) {
  struct stat st;
  int standard_input = !strcmp(path, "-");
  int piped = standard_input ? fstat(STDIN_FILENO, &st) == 0 && S_ISFIFO(st.st_mode)
                             : stat(path, &st) == 0 && S_ISFIFO(st.st_mode);
  SNDFILE *file = NULL;
  if (!piped) {
    file = sf_open(path, SFM_READ, info);
    if (!file)
      snprintf(error, error_size, "cannot open %s: %s", path, sf_strerror(NULL));
    return file;
  }
  int fd = standard_input ? STDIN_FILENO : open(path, O_RDONLY);
  unsigned char block[65536];
  ssize_t got = fd < 0 ? -1 : 0;
  while (fd >= 0 && ((got = read(fd, block, sizeof block)) > 0 || (got < 0 && errno == EINTR)))
    if (got > 0 && memory_write(block, got, memory) != got)
      break; /* out of memory */
  int failure = got < 0 ? errno : got > 0 ? ENOMEM : 0;
  if (fd >= 0 && !standard_input)
    close(fd);
  if (failure) {
    snprintf(error, error_size, "cannot open %s: %s", path, strerror(failure));
    return NULL;
  }
  memory->position = 0;
  file = sf_open_virtual(&memory_io, SFM_READ, info, memory);
  if (!file)
    snprintf(error, error_size, "cannot open %s: %s", path, sf_strerror(NULL));
  return file;
}

/* Reads blocks into a buffer that grows with what the file really holds: the header's
 * frame count is only a hint (unknown, SF_COUNT_MAX, for some streams; on a 32-bit
 * machine a FLAC header's count times the channels can pass SIZE_MAX). */
int read_audio_channels(const char *path, float **samples, size_t *frames, int *channels,
                        int *sample_rate, char *error, size_t error_size) {
  SF_INFO info = {0};
  memory_file memory = {0}; /* a pipe's bytes */
  SNDFILE *file = open_for_reading(path, &info, &memory, error, error_size);
  if (!file) {
    free(memory.bytes);
    return -1;
  }
  size_t count = (size_t)info.channels, n = 0, capacity = 0;
  size_t hint = info.frames > 0 && info.frames < (1 << 26) ? (size_t)info.frames + 1 : 1 << 16;
  float *interleaved = NULL;
  const char *failure = info.channels < 1 ? "no channels" : NULL;
  while (!failure) {
    if (n == capacity) { /* grow: to the hint first, then by half again */
      size_t more = capacity ? capacity / 2 : hint;
      float *grown = NULL;
      if (more <= (SIZE_MAX / sizeof *grown / count - capacity))
        grown = realloc(interleaved, (capacity + more) * count * sizeof *grown);
      if (!grown) {
        failure = "too long to hold in memory";
        break;
      }
      interleaved = grown;
      capacity += more;
    }
    size_t want = capacity - n;
    if (want > (size_t)INT32_MAX)
      want = (size_t)INT32_MAX;
    sf_count_t got = sf_readf_float(file, interleaved + n * count, (sf_count_t)want);
    if (got <= 0)
      break;
    n += (size_t)got;
  }
  if (!failure && sf_error(file) != SF_ERR_NO_ERROR)
    failure = sf_strerror(file);
  if (failure)
    snprintf(error, error_size, "cannot read the samples of %s: %s", path, failure);
  else if (n == 0)
    snprintf(error, error_size, "%s holds no samples", path);
  sf_close(file);
  free(memory.bytes);
  float *planar = failure || n == 0 ? NULL : malloc(n * count * sizeof *planar);
  if (!planar) {
    if (!failure && n > 0)
      snprintf(error, error_size, "cannot read the samples of %s: too long to hold in memory",
               path);
    free(interleaved);
    return -1;
  }
  for (size_t c = 0; c < count; c++)
    for (size_t i = 0; i < n; i++)
      planar[c * n + i] = interleaved[i * count + c];
  free(interleaved);
  *samples = planar;
  *frames = n;
  *channels = info.channels;
  *sample_rate = info.samplerate;
  return 0;
}

void downmix_planar(float *samples, size_t frames, int channels) {
  for (size_t i = 0; i < frames; i++) {
    float sum = 0.0f;
    for (int c = 0; c < channels; c++)
      sum += samples[(size_t)c * frames + i];
    samples[i] = sum / (float)channels;
  }
}

int read_audio(const char *path, int downmix, float **samples, size_t *n_samples, int *sample_rate,
               char *error, size_t error_size) {
  float *planar;
  size_t n;
  int channels;
  if (read_audio_channels(path, &planar, &n, &channels, sample_rate, error, error_size) != 0)
    return -1;
  if (channels != 1 && !downmix) {
    snprintf(error, error_size, "%s has %d channels; dlsc denoises mono audio (--downmix averages "
             "the channels)", path, channels);
    free(planar);
    return -1;
  }
  downmix_planar(planar, n, channels);
  *samples = planar;
  *n_samples = n;
  return 0;
}

/* Whether libsndfile can write format (any rate, here 16 kHz mono). */
static int writable(int format) {
  SF_INFO info = {0};
  info.samplerate = 16000;
  info.channels = 1;
  info.format = format;
  return sf_format_check(&info);
}

int audio_format(const char *path, int *format, char *error, size_t error_size) {
  static const struct {
    const char *name, *as; /* as: libsndfile's extension for the container */
    int subtype;           /* 0: 16-bit PCM, else the container's codec */
  } aliases[] = {{"ogg", "oga", SF_FORMAT_VORBIS}, {"oga", "oga", SF_FORMAT_VORBIS},
                 {"opus", "oga", SF_FORMAT_OPUS},  {"mp3", "m1a", SF_FORMAT_MPEG_LAYER_III},
                 {"aif", "aiff", 0},               {"wave", "wav", 0}};
  const char *extension = file_extension(path), *as = extension;
  if (!*extension) { /* no extension (a pipe, /dev/stdout): WAV */
    *format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    return 0;
  }
  int subtype = 0;
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (!strcasecmp(extension, aliases[i].name)) {
      as = aliases[i].as;
      subtype = aliases[i].subtype;
    }
  int majors = 0;
  sf_command(NULL, SFC_GET_FORMAT_MAJOR_COUNT, &majors, sizeof majors);
  for (int i = 0; i < majors; i++) { /* the first of a name: WAV before NIST's and WAVEX */
    SF_FORMAT_INFO major = {0};
    major.format = i;
    if (sf_command(NULL, SFC_GET_FORMAT_MAJOR, &major, sizeof major) != 0 || !major.extension ||
        strcasecmp(major.extension, as) != 0)
      continue;
    int candidates[] = {subtype ? subtype : SF_FORMAT_PCM_16, SF_FORMAT_VORBIS,
                        SF_FORMAT_MPEG_LAYER_III};
    for (size_t c = 0; c < sizeof candidates / sizeof candidates[0]; c++)
      if (writable(major.format | candidates[c])) {
        *format = major.format | candidates[c];
        return 0;
      }
    snprintf(error, error_size, "%s: this libsndfile cannot write %s files", path, extension);
    return -1;
  }
  snprintf(error, error_size,
           "%s: unknown audio file extension .%s (wav, flac, ogg, opus, mp3, aiff, ...)", path,
           extension);
  return -1;
}

/* path's format at this rate and channel count opened in memory: NULL with "cannot
 * write PATH...: why" in error if libsndfile refuses it (an unknown extension, Opus at
 * 44.1 kHz, MPEG with 3 channels). */
static SNDFILE *open_in_memory(const char *path, int sample_rate, int channels,
                               memory_file *memory, char *error, size_t error_size) {
  SF_INFO info = {0};
  char why[4200];
  if (audio_format(path, &info.format, why, sizeof why) != 0) {
    snprintf(error, error_size, "cannot write %s", why);
    return NULL;
  }
  info.samplerate = sample_rate;
  info.channels = channels;
  SNDFILE *file = sf_open_virtual(&memory_io, SFM_WRITE, &info, memory);
  if (!file)
    snprintf(error, error_size, "cannot write %s (%d Hz, %d channel%s): %s", path, sample_rate,
             channels, channels == 1 ? "" : "s", sf_strerror(NULL));
  return file;
}

int audio_writable(const char *path, int sample_rate, int channels, char *error,
                   size_t error_size) {
  memory_file memory = {0};
  SNDFILE *file = open_in_memory(path, sample_rate, channels, &memory, error, error_size);
  if (file)
    sf_close(file);
  free(memory.bytes);
  return file ? 0 : -1;
}

int is_standard_output(const char *path) {
  struct stat a, b;
  return !strcmp(path, "-") ||
         (stat(path, &a) == 0 && fstat(STDOUT_FILENO, &b) == 0 && a.st_dev == b.st_dev &&
          a.st_ino == b.st_ino);
}

/* All of bytes to the file descriptor, through short writes and signals. */
static int write_all(int fd, const unsigned char *bytes, size_t size) {
  while (size > 0) {
    ssize_t wrote = write(fd, bytes, size);
    if (wrote < 0 && errno == EINTR)
      continue;
    if (wrote <= 0)
      return -1;
    bytes += wrote;
    size -= (size_t)wrote;
  }
  return 0;
}

/* A regular file (or none yet) is written as a temporary file beside it and renamed over
 * it once complete, so a failed write (a full disk) leaves the old file, which may be the
 * input itself, and its mode; anything else (a link, a device, a pipe such as
 * /dev/stdout) is written directly. */
int write_audio(const char *path, const float *samples, size_t frames, int channels,
                int sample_rate, char *error, size_t error_size) {
  memory_file memory = {0};
  SNDFILE *file = open_in_memory(path, sample_rate, channels, &memory, error, error_size);
  if (!file)
    return -1;
  size_t count = (size_t)channels;
  float *interleaved = checked_alloc(NULL, frames * count * sizeof *interleaved);
  for (size_t c = 0; c < count; c++)
    for (size_t i = 0; i < frames; i++)
      interleaved[i * count + c] = samples[c * frames + i];
  /* libsndfile clips float to 16-bit when told to, instead of wrapping around. */
  sf_command(file, SFC_SET_CLIPPING, NULL, SF_TRUE);
  sf_count_t written = sf_writef_float(file, interleaved, (sf_count_t)frames);
  int ok = written == (sf_count_t)frames;
  if (!ok)
    snprintf(error, error_size, "cannot write %s: %s", path,
             sf_error(file) ? sf_strerror(file) : "out of memory");
  int closed = sf_close(file);
  if (closed != 0 && ok)
    snprintf(error, error_size, "cannot write %s: %s", path, sf_error_number(closed));
  ok = ok && closed == 0;
  free(interleaved);

  if (!strcmp(path, "-")) { /* standard output, after what is in stdout's buffer */
    fflush(stdout);
    if (ok && write_all(STDOUT_FILENO, memory.bytes, (size_t)memory.length) != 0) {
      snprintf(error, error_size, "cannot write to standard output: %s", strerror(errno));
      ok = 0;
    }
    free(memory.bytes);
    return ok ? 0 : -1;
  }
  struct stat existing;
  int exists = lstat(path, &existing) == 0;
  char temporary[4200];
  int atomic = (!exists || S_ISREG(existing.st_mode)) &&
               (size_t)snprintf(temporary, sizeof temporary, "%s.tmp-%ld", path,
                                (long)getpid()) < sizeof temporary;
  const char *target = atomic ? temporary : path;
  if (ok && atomic)
    unlink(temporary); /* a stale one of a process of this number, or a planted link */
  int fd = !ok ? -1 : open(target, O_WRONLY | O_CREAT | O_TRUNC | (atomic ? O_EXCL : 0), 0666);
  if (ok && (fd < 0 || write_all(fd, memory.bytes, (size_t)memory.length) != 0)) {
    snprintf(error, error_size, "cannot write %s: %s", path, strerror(errno));
    ok = 0;
  }
  if (fd >= 0 && close(fd) != 0 && ok) {
    snprintf(error, error_size, "cannot write %s: %s", path, strerror(errno));
    ok = 0;
  }
  free(memory.bytes);
  if (atomic && ok && ((exists && chmod(temporary, existing.st_mode & 07777) != 0) ||
                       rename(temporary, path) != 0)) { /* the old file's mode kept */
    snprintf(error, error_size, "cannot write %s: %s", path, strerror(errno));
    ok = 0;
  }
  if (atomic && fd >= 0 && !ok)
    unlink(temporary);
  return ok ? 0 : -1;
}

int write_wav(const char *path, const float *samples, size_t n_samples, int sample_rate,
              char *error, size_t error_size) {
  return write_audio(path, samples, n_samples, 1, sample_rate, error, error_size);
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

char **list_files(const char *directory, const char *suffix, size_t *count) {
  DIR *dir = opendir(directory);
  *count = 0;
  if (!dir)
    return NULL;
  size_t capacity = 64;
  char **names = checked_alloc(NULL, capacity * sizeof *names);
  for (struct dirent *entry; (entry = readdir(dir));) {
    size_t length = strlen(entry->d_name), suffix_length = suffix ? strlen(suffix) : 0;
    if (entry->d_name[0] == '.' || length < suffix_length ||
        (suffix && strcmp(entry->d_name + length - suffix_length, suffix) != 0))
      continue;
    if (*count == capacity)
      names = checked_alloc(names, (capacity *= 2) * sizeof *names);
    names[*count] = checked_alloc(NULL, length + 1); /* exits when out of memory */
    memcpy(names[(*count)++], entry->d_name, length + 1);
  }
  closedir(dir);
  qsort(names, *count, sizeof *names, compare_names);
  return names;
}

void free_list(char **names, size_t count) {
  for (size_t i = 0; i < count; i++)
    free(names[i]);
  free(names);
}

double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

const char *data_directory(void) {
  const char *env = getenv("DLSC_DATA");
  struct stat st;
  if (env && *env)
    return env;
  if (stat("../shared/data", &st) == 0)
    return "../shared/data";
  return DLSC_DEFAULT_DATA_DIR;
}

float *resample_or_exit(const float *samples, size_t n, int from, int to, size_t *n_out,
                        const char *what) {
  float *out = NULL;
  dlsc_status status = dlsc_resample(samples, n, (unsigned)from, (unsigned)to, NULL, 0, n_out);
  if (status == DLSC_OK && !(out = malloc(*n_out * sizeof *out)))
    status = DLSC_ERR_OUT_OF_MEMORY;
  if (status == DLSC_OK)
    status = dlsc_resample(samples, n, (unsigned)from, (unsigned)to, out, *n_out, n_out);
  if (status != DLSC_OK) {
    fprintf(stderr, "%s: cannot resample from %d Hz to %d Hz: %s\n", what, from, to,
            dlsc_strerror(status));
    exit(1);
  }
  return out;
}

/* ---- checkpoints */

void refuse_checkpoint_file(const char *prefix, const char *path, const char *option) {
  static const char *const written[] = {".dlsc", ".state", ".best.dlsc", ".average.dlsc"};
  size_t n = prefix ? strlen(prefix) : 0;
  for (size_t i = 0; prefix && path && i < sizeof written / sizeof written[0]; i++)
    if (!strncmp(path, prefix, n) && !strcmp(path + n, written[i])) {
      fprintf(stderr, "%s %s: a file of --checkpoint %s, which the run keeps rewriting; "
              "name it otherwise\n", option, path, prefix);
      exit(2);
    }
}

static void checkpoint_path(char *path, size_t size, const char *prefix, const char *suffix) {
  if ((size_t)snprintf(path, size, "%s%s", prefix, suffix) >= size) {
    fprintf(stderr, "%s: checkpoint path too long\n", prefix);
    exit(2);
  }
}

void settings_add(char *settings, size_t size, const char *name, const char *format, ...) {
  size_t used = strlen(settings);
  int n = snprintf(settings + used, size - used, "%s=", name);
  if (n >= 0 && (size_t)n < size - used) {
    used += (size_t)n;
    va_list values;
    va_start(values, format);
    n = vsnprintf(settings + used, size - used, format, values);
    va_end(values);
    if (n >= 0 && (size_t)n + 1 < size - used) {
      for (char *c = settings + used; *c; c++)
        *c = *c == '\n' ? '?' : *c; /* a value is one line (a file name may hold a '\n') */
      strcpy(settings + used + n, "\n");
      return;
    }
  }
  fprintf(stderr, "%s: the run's settings are too long to record with a checkpoint\n", name);
  exit(2);
}

void settings_add_float(char *settings, size_t size, const char *name, float value) {
  char text[32];
  for (int digits = 6; digits <= 9; digits++) { /* %g's 6 first: 10, not 1e+01 */
    snprintf(text, sizeof text, "%.*g", digits, (double)value);
    if (strtof(text, NULL) == value)
      break;
  }
  settings_add(settings, size, name, "%s", text);
}

static const char checkpoint_settings_key[] = "dlsc.checkpoint_settings";

/* Exits with a message naming each setting of now whose line is not in then. */
static void require_same_settings(const char *path, const char *then, const char *now) {
  int differ = 0;
  for (const char *line = now; *line;) {
    size_t length = strcspn(line, "\n"), name = strcspn(line, "=");
    const char *at = then, *found = NULL;
    while (*at && !found) { /* the same line in then, or the line of the same name */
      size_t other = strcspn(at, "\n");
      if (strcspn(at, "=") == name && !strncmp(at, line, name))
        found = at;
      else
        at += other + (at[other] != 0);
    }
    size_t found_length = found ? strcspn(found, "\n") : 0;
    if (!found || found_length != length || strncmp(found, line, length)) {
      if (!differ++)
        fprintf(stderr, "%s: written by a run with other settings; --resume needs the "
                "options of that run:\n", path);
      fprintf(stderr, "  %.*s: %.*s there, %.*s here\n", (int)name, line,
              found ? (int)(found_length - name - 1) : 4, found ? found + name + 1 : "none",
              (int)(length - name - 1), line + name + 1);
    }
    line += length + (line[length] != 0);
  }
  if (differ || strlen(then) != strlen(now)) {
    if (!differ)
      fprintf(stderr, "%s: written by a run with other settings\n", path);
    exit(1);
  }
}

void checkpoint_save(const dlsc_model_t *model, const dlsc_dataset_t *data, const char *prefix,
                     const char *const *keys, char (*values)[64], size_t n_keys,
                     const char *settings) {
  char path[4096];
  dlsc_model_t *copy;
  check_status(dlsc_model_clone(model, &copy), "checkpoint");
  for (size_t i = 0; i < n_keys; i++)
    check_status(dlsc_model_set_metadata(copy, keys[i], values[i]), "checkpoint");
  check_status(dlsc_model_set_metadata(copy, checkpoint_settings_key, settings), "checkpoint");
  checkpoint_path(path, sizeof path, prefix, ".dlsc");
  check_status(dlsc_model_save_file(copy, path), path);
  dlsc_model_destroy(copy);
  checkpoint_path(path, sizeof path, prefix, ".state");
  check_status(dlsc_training_state_save_file(model, data, path), path);
}

void checkpoint_resume(dlsc_model_t *model, dlsc_dataset_t *data, const char *prefix,
                       const char *const *keys, char (*values)[64], size_t n_keys,
                       const char *settings) {
  char path[4096], then[4096];
  dlsc_model_t *saved;
  checkpoint_path(path, sizeof path, prefix, ".dlsc");
  check_status(dlsc_model_load_file(path, &saved), path);
  dlsc_model_info info;
  dlsc_model_get_info(model, &info);
  int fits = dlsc_model_copy_layers(model, saved, info.n_layers) == DLSC_OK;
  for (size_t i = 0; fits && i < n_keys; i++)
    fits = dlsc_model_get_metadata(saved, keys[i], values[i], 64, NULL) == DLSC_OK;
  fits = fits && dlsc_model_get_metadata(saved, checkpoint_settings_key, then, sizeof then,
                                         NULL) == DLSC_OK;
  dlsc_model_destroy(saved);
  if (!fits) {
    fprintf(stderr, "%s: not a checkpoint of this model\n", path);
    exit(1);
  }
  require_same_settings(path, then, settings);
  checkpoint_path(path, sizeof path, prefix, ".state");
  dlsc_status status = dlsc_training_state_load_file(model, data, path);
  if (status == DLSC_ERR_SHAPE_MISMATCH || status == DLSC_ERR_INVALID_ARGUMENT) {
    fprintf(stderr, "%s: does not belong to %s.dlsc and this run's data and settings (%s)\n",
            path, prefix, dlsc_strerror(status));
    exit(1);
  }
  check_status(status, path);
}

void checkpoint_save_model(const char *prefix, const char *suffix, const dlsc_model_t *model) {
  char path[4096];
  checkpoint_path(path, sizeof path, prefix, suffix);
  check_status(dlsc_model_save_file(model, path), path);
}

void checkpoint_save_bytes(const char *prefix, const char *suffix, const unsigned char *bytes,
                           size_t size) {
  dlsc_model_t *model; /* through a model: the file is then written atomically */
  check_status(dlsc_model_load(bytes, size, &model), "checkpoint");
  checkpoint_save_model(prefix, suffix, model);
  dlsc_model_destroy(model);
}

unsigned char *checkpoint_load_bytes(const char *prefix, const char *suffix, size_t *size) {
  char path[4096];
  dlsc_model_t *model;
  checkpoint_path(path, sizeof path, prefix, suffix);
  check_status(dlsc_model_load_file(path, &model), path);
  check_status(dlsc_model_save(model, NULL, 0, size), path);
  unsigned char *bytes = checked_alloc(NULL, *size);
  check_status(dlsc_model_save(model, bytes, *size, size), path);
  dlsc_model_destroy(model);
  return bytes;
}

static volatile sig_atomic_t interrupt_pressed;

static void on_interrupt(int signal_number) {
  (void)signal_number;
  interrupt_pressed = 1;
}

/* Ctrl-C sets the flag once; the handler then reverts to the default, so a second one
 * ends the program. A SIGINT ignored at start (nohup, background jobs) stays ignored. */
static void arm_interrupt(void) {
  struct sigaction action, previous;
  if (sigaction(SIGINT, NULL, &previous) == 0 && previous.sa_handler == SIG_IGN)
    return;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_interrupt;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, NULL);
}

static int show_progress(void *user, size_t done, size_t batches, const dlsc_train_stats *so_far) {
  const int *terminal = user;
  if (*terminal && done == batches)
    fputs("\r\033[K", stderr); /* the epoch's line on stdout follows */
  else if (*terminal && done % 16 == 0)
    fprintf(stderr, "\r  batch %zu/%zu  loss %.4g\033[K", done, batches, so_far->loss);
  return interrupt_pressed != 0;
}

void watch_training(dlsc_train_config *config) {
  static int terminal;
  terminal = isatty(STDERR_FILENO);
  config->progress = show_progress;
  config->progress_user = &terminal;
  arm_interrupt();
}

int epoch_interrupted(dlsc_status status, int epoch) {
  if (status != DLSC_ERR_CANCELLED) {
    check_status(status, "training");
    return 0;
  }
  if (epoch <= 1) {
    fprintf(stderr, "interrupted in the first epoch: nothing trained to keep\n");
    exit(130);
  }
  printf("interrupted in epoch %d: this training ends after epoch %d\n", epoch, epoch - 1);
  fflush(stdout);
  interrupt_pressed = 0;
  arm_interrupt();
  return 1;
}

dlsc_model_t *model_from_spec(const char *spec, uint64_t seed, const char *what) {
  dlsc_model_t *model = NULL;
  dlsc_status status = dlsc_model_create_from_spec(spec, seed, &model);
  if (status == DLSC_OK)
    return model;
  dlsc_status verdict = DLSC_OK; /* unlike status: no place to name if the check fails */
  size_t offset, length;
  if (dlsc_model_check_spec(spec, &verdict, &offset, &length) == DLSC_OK && verdict == status &&
      length > 0)
    fprintf(stderr, "%s: %s, at \"%.*s\"\n", what, dlsc_strerror(status), (int)length,
            spec + offset);
  else if (verdict == status)
    fprintf(stderr, "%s: %s, at the end of the spec\n", what, dlsc_strerror(status));
  else
    fprintf(stderr, "%s: %s\n", what, dlsc_strerror(status));
  exit(1);
}

void course_split(size_t n, size_t *cut, size_t *validation) {
  *cut = (size_t)(0.85 * (double)n / 512) * 512;
  *validation = (size_t)(0.1 * (double)*cut / 512) * 512;
}

void read_course_pair(float **clean, float **noisy, size_t *n) {
  char path[4096], error[512];
  float *audio[2];
  size_t length[2];
  int rate;
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/speech/course/train_%s_male.wav", data_directory(),
             i ? "dirty" : "clean");
    if (read_audio(path, 0, &audio[i], &length[i], &rate, error, sizeof error) != 0) {
      fprintf(stderr, "%s\n", error);
      exit(1);
    }
  }
  if (length[0] != length[1] || length[0] < 40 * 512) {
    fprintf(stderr, "the course pair is not two aligned recordings\n");
    exit(1);
  }
  *clean = audio[0];
  *noisy = audio[1];
  *n = length[0];
}

int model_sample_rate(const dlsc_model_t *model, const char *path) {
  char text[32] = "16000", *end;
  dlsc_status status =
      dlsc_model_get_metadata(model, "dlsc.sample_rate", text, sizeof text, NULL);
  long rate = strtol(text, &end, 10);
  if ((status != DLSC_OK && status != DLSC_ERR_NOT_FOUND) || end == text || *end ||
      rate < 1000 || rate > 768000) {
    fprintf(stderr, "%s: its sample rate (metadata dlsc.sample_rate) is not a whole number of Hz "
            "from 1000 to 768000\n", path);
    return -1;
  }
  return (int)rate;
}

const char *load_failure(const char *path, dlsc_status status) {
  const char *reason = status_reason(status); /* before errno changes */
  if (status != DLSC_ERR_BAD_FORMAT)
    return reason;
  FILE *file = fopen(path, "rb");
  char magic[8];
  int state = file && fread(magic, 1, sizeof magic, file) == sizeof magic &&
              !memcmp(magic, "DLSCSTAT", sizeof magic);
  if (file)
    fclose(file);
  return state ? "a training state (a checkpoint's P.state), not a model (P.dlsc)" : reason;
}

int model_fits_in_memory(const dlsc_model_t *model, const char *path) {
  size_t bytes;
  check_status(dlsc_model_memory(model, 1, 0, &bytes), path);
  if (bytes <= MODEL_MEMORY_LIMIT)
    return 1;
  fprintf(stderr, "%s: running it takes %.0f MiB for one example, more than these programs "
                  "allow (%zu MiB)\n",
          path, (double)bytes / (1024.0 * 1024.0), MODEL_MEMORY_LIMIT >> 20);
  return 0;
}

dlsc_model_t *load_model_any_size(const char *path) {
  dlsc_model_t *model;
  dlsc_status status = dlsc_model_load_file(path, &model);
  if (status == DLSC_OK)
    return model;
  fprintf(stderr, "cannot load %s: %s\n", path, load_failure(path, status));
  return NULL;
}

dlsc_model_t *load_model(const char *path) {
  dlsc_model_t *model = load_model_any_size(path);
  if (model && !model_fits_in_memory(model, path)) {
    dlsc_model_destroy(model);
    return NULL;
  }
  return model;
}
