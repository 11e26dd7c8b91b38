/* Runs a fuzz target over files without libFuzzer: the regression corpus in CI, or a
 * finding for debugging. Arguments are files or folders (their files, sorted). */
#include "fuzz.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static size_t replay_file(const char *path) {
  FILE *file = fopen(path, "rb");
  if (!file) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(1);
  }
  size_t capacity = 1 << 16, size = 0, n;
  uint8_t *data = malloc(capacity);
  while (data && (n = fread(data + size, 1, capacity - size, file)) > 0)
    if ((size += n) == capacity)
      data = realloc(data, capacity *= 2);
  fclose(file);
  if (!data) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  LLVMFuzzerTestOneInput(data, size);
  free(data);
  return 1;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t replay(const char *path) {
  struct stat info;
  if (stat(path, &info) != 0 || !S_ISDIR(info.st_mode))
    return replay_file(path);
  DIR *dir = opendir(path);
  char **names = NULL;
  size_t count = 0, done = 0;
  for (struct dirent *entry; dir && (entry = readdir(dir));) {
    if (entry->d_name[0] == '.')
      continue;
    names = realloc(names, (count + 1) * sizeof *names);
    names[count] = malloc(strlen(path) + strlen(entry->d_name) + 2);
    sprintf(names[count++], "%s/%s", path, entry->d_name);
  }
  if (dir)
    closedir(dir);
  qsort(names, count, sizeof *names, by_name);
  for (size_t i = 0; i < count; i++) {
    done += replay(names[i]);
    free(names[i]);
  }
  free(names);
  return done;
}

int main(int argc, char **argv) {
  size_t done = 0;
  for (int i = 1; i < argc; i++)
    done += replay(argv[i]);
  printf("%zu inputs replayed\n", done);
  return done > 0 ? 0 : 1;
}
