#include "cifar.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

const char *const cifar_class_names[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                           "dog", "frog", "horse", "ship", "truck"};

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* Unpacks into a fresh folder inside cache and renames the batches' folder into place
 * when tar has finished, so an interrupted or failed unpacking (a full disk) never
 * leaves a partial folder that the next run would take for the data. */
int cifar_locate(const char *data_dir, const char *cache_dir, char *batches, size_t size,
                 char *error, size_t error_size) {
  char probe[4200], archive[4200], unpack[4200], unpacked[4300];
  const char *cache = cache_dir ? cache_dir : "cache";
  if ((size_t)snprintf(batches, size, "%s/cifar-10-batches-bin", cache) >= size ||
      (size_t)snprintf(archive, sizeof archive, "%s/cifar-10-binary.tar.xz", data_dir) >=
          sizeof archive) {
    snprintf(error, error_size, "the data or cache folder's name is too long");
    return -1;
  }
  snprintf(probe, sizeof probe, "%s/test_batch.bin", batches);
  if (exists(probe))
    return 0;
  if (!exists(archive)) {
    snprintf(error, error_size, "no CIFAR-10 at %s (set DLSC_DATA or --data)", archive);
    return -1;
  }
  printf("unpacking %s into %s (once)\n", archive, cache);
  fflush(stdout);
  char *make_cache[] = {"mkdir", "-p", (char *)cache, NULL};
  if (run_program(make_cache) != 0) {
    snprintf(error, error_size, "cannot make the folder %s", cache);
    return -1;
  }
  snprintf(unpack, sizeof unpack, "%s/.unpacking-XXXXXX", cache);
  if (!mkdtemp(unpack)) {
    snprintf(error, error_size, "cannot make a folder in %s: %s", cache, strerror(errno));
    return -1;
  }
  char *untar[] = {"tar", "-xJf", archive, "-C", unpack, NULL};
  snprintf(unpacked, sizeof unpacked, "%s/cifar-10-batches-bin", unpack);
  int failed = run_program(untar) != 0;
  if (!failed && rename(unpacked, batches) != 0) {
    snprintf(error, error_size, "cannot move the unpacked %s to %s: %s (remove %s and retry)",
             unpacked, batches, strerror(errno), batches);
    return -1; /* the unpacked files stay, named in the message */
  }
  char *clean[] = {"rm", "-rf", unpack, NULL}; /* what else the archive held */
  run_program(clean);
  if (failed) {
    snprintf(error, error_size, "unpacking %s failed", archive);
    return -1;
  }
  if (!exists(probe)) {
    snprintf(error, error_size, "%s holds no test_batch.bin", archive);
    return -1;
  }
  return 0;
}

int cifar_read(const char *path, cifar_set *set, char *error, size_t error_size) {
  FILE *file = fopen(path, "rb");
  if (!file) {
    snprintf(error, error_size, "cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  off_t bytes = -1; /* off_t, not long: 64 bits on 32-bit machines too */
  if (fseeko(file, 0, SEEK_END) == 0)
    bytes = ftello(file);
  if (bytes <= 0 || bytes % CIFAR_RECORD != 0 || fseeko(file, 0, SEEK_SET) != 0) {
    snprintf(error, error_size,
             "%s is truncated or not a CIFAR-10 binary batch: %lld bytes is not a whole number "
             "of %d-byte records", path, (long long)bytes, CIFAR_RECORD);
    fclose(file);
    return -1;
  }
  size_t records = (size_t)bytes / CIFAR_RECORD, first = set->count;
  uint8_t *record = checked_alloc(NULL, CIFAR_RECORD);
  set->pixels = checked_alloc(set->pixels, (first + records) * CIFAR_PIXELS);
  set->labels = checked_alloc(set->labels, (first + records) * sizeof *set->labels);
  for (size_t r = 0; r < records; r++) {
    if (fread(record, 1, CIFAR_RECORD, file) != CIFAR_RECORD || record[0] > 9) {
      snprintf(error, error_size, "%s is corrupted: record %zu %s", path, r,
               record[0] > 9 ? "has a label above 9" : "cannot be read");
      free(record);
      fclose(file);
      return -1;
    }
    set->labels[first + r] = record[0];
    memcpy(set->pixels + (first + r) * CIFAR_PIXELS, record + 1, CIFAR_PIXELS);
  }
  set->count += records;
  free(record);
  fclose(file);
  return 0;
}

void cifar_take(cifar_set *dst, const cifar_set *src, size_t first, size_t count) {
  dst->pixels = checked_alloc(dst->pixels, (dst->count + count) * CIFAR_PIXELS);
  dst->labels = checked_alloc(dst->labels, (dst->count + count) * sizeof *dst->labels);
  memcpy(dst->pixels + dst->count * CIFAR_PIXELS, src->pixels + first * CIFAR_PIXELS,
         count * CIFAR_PIXELS);
  memcpy(dst->labels + dst->count, src->labels + first, count * sizeof *dst->labels);
  dst->count += count;
}

void cifar_free(cifar_set *set) {
  free(set->pixels);
  free(set->labels);
  memset(set, 0, sizeof *set);
}

int cifar_load_splits(const char *batches, cifar_set *train, cifar_set *validation,
                      cifar_set *test, char *error, size_t error_size) {
  char path[4200];
  cifar_set all = {0};
  for (int b = 1; b <= 5; b++) {
    snprintf(path, sizeof path, "%s/data_batch_%d.bin", batches, b);
    if (cifar_read(path, &all, error, error_size) != 0)
      return -1;
  }
  if (all.count != 50000) {
    snprintf(error, error_size, "expected 50,000 training records, found %zu", all.count);
    return -1;
  }
  cifar_take(train, &all, 0, 45000);
  cifar_take(validation, &all, 45000, 5000);
  cifar_free(&all);
  snprintf(path, sizeof path, "%s/test_batch.bin", batches);
  return test ? cifar_read(path, test, error, error_size) : 0;
}

void cifar_draw_labeled(const cifar_set *set, size_t per_class, uint64_t seed, cifar_set *labeled,
                        cifar_set *unlabeled) {
  size_t *order = checked_alloc(NULL, set->count * sizeof *order), taken[10] = {0};
  uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (size_t i = 0; i < set->count; i++)
    order[i] = i;
  for (size_t i = set->count; i > 1; i--) { /* Fisher-Yates with a 64-bit LCG */
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    size_t j = (size_t)((state >> 33) % i), t = order[i - 1];
    order[i - 1] = order[j];
    order[j] = t;
  }
  char *is_labeled = checked_alloc(NULL, set->count);
  memset(is_labeled, 0, set->count);
  size_t n_labeled = 0;
  for (size_t i = 0; i < set->count; i++) {
    size_t k = order[i];
    int32_t c = set->labels[k];
    if (taken[c] < per_class) {
      taken[c]++;
      is_labeled[k] = 1;
      n_labeled++;
    }
  }
  /* Sized once: appending record by record would copy the arrays over and over. */
  cifar_set *targets[2] = {unlabeled, labeled};
  size_t sizes[2] = {set->count - n_labeled, n_labeled};
  for (int t = 0; t < 2; t++) {
    targets[t]->pixels = checked_alloc(targets[t]->pixels, (targets[t]->count + sizes[t]) * CIFAR_PIXELS);
    targets[t]->labels =
        checked_alloc(targets[t]->labels, (targets[t]->count + sizes[t]) * sizeof *set->labels);
  }
  for (size_t k = 0; k < set->count; k++) {
    cifar_set *dst = targets[is_labeled[k] ? 1 : 0];
    memcpy(dst->pixels + dst->count * CIFAR_PIXELS, set->pixels + k * CIFAR_PIXELS, CIFAR_PIXELS);
    dst->labels[dst->count++] = set->labels[k];
  }
  free(order);
  free(is_labeled);
}
