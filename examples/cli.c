#define _XOPEN_SOURCE 700 /* realpath (XSI), over the build's _POSIX_C_SOURCE */
#include "cli.h"

#include "dlsc.h"

#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

double number_option(const char *option, const char *text, double min, double max) {
  char *end;
  errno = 0;
  double value = strtod(text, &end);
  if (end == text || *end || errno || !isfinite(value) || value < min || value > max) {
    fprintf(stderr, "%s: '%s' is not a number from %g to %g\n", option, text, min, max);
    exit(2);
  }
  return value;
}

long long integer_option(const char *option, const char *text, long long min, long long max) {
  char *end;
  errno = 0;
  long long value = strtoll(text, &end, 10);
  if (end == text || *end || errno || value < min || value > max) {
    fprintf(stderr, "%s: '%s' is not a whole number from %lld to %lld\n", option, text, min, max);
    exit(2);
  }
  return value;
}

void split_option(const char *option, const char *text, char separator, char first[64],
                  char second[64]) {
  const char *at = strchr(text, separator);
  if (!at || at - text >= 64 || strlen(at + 1) >= 64) {
    fprintf(stderr, "%s: '%s' is not two values A%cB\n", option, text, separator);
    exit(2);
  }
  snprintf(first, 64, "%.*s", (int)(at - text), text);
  snprintf(second, 64, "%s", at + 1);
}

const char *status_reason(dlsc_status status) {
  return status == DLSC_ERR_IO && errno != 0 ? strerror(errno) : dlsc_strerror(status);
}

void check_status(dlsc_status status, const char *what) {
  if (status == DLSC_OK)
    return;
  fprintf(stderr, "%s: %s\n", what, status_reason(status));
  exit(1);
}

void *checked_alloc(void *old, size_t size) {
  void *block = realloc(old, size ? size : 1);
  if (!block) {
    fprintf(stderr, "out of memory (%zu bytes)\n", size);
    exit(1);
  }
  return block;
}

int run_program(char *const argv[]) {
  pid_t pid;
  int status, error = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
  if (error != 0) {
    fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(error));
    return -2;
  }
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      fprintf(stderr, "waiting for %s: %s\n", argv[0], strerror(errno));
      return -1;
    }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return 0;
  fprintf(stderr, "%s failed (%s %d)\n", argv[0], WIFEXITED(status) ? "exit status" : "signal",
          WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  return -1;
}

const char *file_extension(const char *path) {
  const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
  const char *dot = strrchr(base, '.');
  return dot && dot != base ? dot + 1 : "";
}

static void cannot_write(const char *path, const char *why) {
  fprintf(stderr, "cannot write %s: %s\n", path, why);
}

void require_writable(const char *path) {
  const char *slash = strrchr(path, '/');
  char folder[4096] = ".";
  if (slash && (size_t)(slash - path) >= sizeof folder)
    return; /* a folder name too long to copy: the save itself will say */
  if (slash) /* "/x": the root */
    snprintf(folder, sizeof folder, "%.*s", slash == path ? 1 : (int)(slash - path), path);
  if (access(folder, W_OK | X_OK) != 0) {
    cannot_write(path, strerror(errno));
    exit(1);
  }
}

void require_savable(const char *path) {
  struct stat link, target;
  int linked = lstat(path, &link) == 0 && S_ISLNK(link.st_mode);
  if (stat(path, &target) == 0) { /* what the library replaces: a regular file only */
    if (!S_ISREG(target.st_mode)) {
      cannot_write(path, S_ISDIR(target.st_mode) ? strerror(EISDIR)
                                                 : "not a regular file (a device, a FIFO)");
      exit(1);
    }
    char *real = linked ? realpath(path, NULL) : NULL;
    if (real) { /* the file the link leads to is replaced, in its own folder */
      require_writable(real);
      free(real);
      return;
    }
  } else if (linked) { /* a dangling link: nothing there to replace */
    cannot_write(path, strerror(errno));
    exit(1);
  }
  require_writable(path);
}

FILE *open_for_writing(const char *path, const char *mode) {
  FILE *file = fopen(path, mode);
  if (!file) {
    cannot_write(path, strerror(errno));
    exit(1);
  }
  return file;
}

int close_written(FILE *file, const char *path) {
  int failed = ferror(file);
  errno = 0;
  if (fclose(file) != 0 || failed) {
    cannot_write(path, errno ? strerror(errno) : "a write failed");
    return -1;
  }
  return 0;
}

const char *blas_check(const char *program) {
  const char *config = "unknown", *better = NULL;
  if (dlsc_blas_info(&config, &better) == DLSC_OK && better)
    fprintf(stderr,
            "%s: warning: OpenBLAS runs kernels without AVX2 on this CPU, which has it "
            "(%s); set OPENBLAS_CORETYPE=%s for up to 4 times the speed (docs/speed.md)\n",
            program, config, better);
  return config;
}

void record_blas(dlsc_model_t *model) {
  const char *config, *better;
  if (dlsc_blas_info(&config, &better) == DLSC_OK)
    dlsc_model_set_metadata(model, "dlsc.blas", config);
}
