/* Helpers for the example and benchmark programs that need no libsndfile: option
 * numbers and allocation. Not part of the library. */
#ifndef DLSC_EXAMPLE_CLI_H
#define DLSC_EXAMPLE_CLI_H

#include "dlsc.h"
#include <stddef.h>
#include <stdio.h>

/* The value of a command-line option: all of text must be a number within min..max,
 * else a message naming the option and exit status 2 (usage). */
double number_option(const char *option, const char *text, double min, double max);
long long integer_option(const char *option, const char *text, long long min, long long max);

/* An option of two parts, "A<separator>B": each is copied into its buffer (64 bytes),
 * then read with number_option or integer_option; no separator, or a part too long: a
 * message naming the option and exit status 2. */
void split_option(const char *option, const char *text, char separator, char first[64],
                  char second[64]);

/* dlsc_strerror(status); for DLSC_ERR_IO the reason the file functions leave in errno
 * ("No such file or directory"). Call it right after the failing call. */
const char *status_reason(dlsc_status status);

/* Prints "what: reason" (status_reason) to stderr and exits with status 1 when status
 * is not DLSC_OK. */
void check_status(dlsc_status status, const char *what);

/* realloc(old, size) that prints "out of memory (N bytes)" and exits with status 1
 * instead of returning NULL (old NULL: a new block). */
void *checked_alloc(void *old, size_t size);

/* The extension of path's file name, after its last '.', or "" when it has none (a
 * name whose only '.' starts it, ".config", has none): file formats by name, compared
 * with strcasecmp so that IMG.PNG is a PNG. */
const char *file_extension(const char *path);

/* Output files of long runs, failing early. require_writable: the folder path would be
 * written into (a model saved at the end of hours of training) must be writable now;
 * open_for_writing: fopen(path, mode). Each prints "cannot write PATH: why" and exits
 * with status 1 on failure. close_written: fclose, which reports a failure of any
 * earlier write to the file as well: 0, or -1 with the same message (no exit). */
void require_writable(const char *path);
/* require_writable for a file dlsc_model_save_file or dlsc_training_state_save_file
 * writes at the end: also refused now, as the library would refuse it then, when path
 * is a directory, a device or a FIFO, or a link leading nowhere. */
void require_savable(const char *path);
FILE *open_for_writing(const char *path, const char *mode);
int close_written(FILE *file, const char *path);

/* Runs a program found on PATH with its arguments (argv[0] its name, NULL-terminated),
 * no shell between, and waits for it: 0 when it exits with status 0; else a message on
 * stderr and -2 when it cannot start ("cannot run tar: No such file or directory"), -1
 * when it fails ("tar failed (exit status 2)"). */
int run_program(char *const argv[]);

/* dlsc_blas_info's description of the BLAS; before that, on stderr, a warning naming
 * the OPENBLAS_CORETYPE to set when OpenBLAS runs kernels older than this CPU (up to 4x
 * slower; docs/speed.md). The programs that train or time call it once at start. */
const char *blas_check(const char *program);

/* Records that description in MODEL's metadata as "dlsc.blas", so that a saved model
 * says which BLAS and kernel set trained it: a training's bits follow the kernel set. */
void record_blas(dlsc_model_t *model);

#endif
