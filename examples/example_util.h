/* Helpers for the example programs: audio files through libsndfile, directories,
 * timing, the data folder. Not part of the library. */
#ifndef DLSC_EXAMPLE_UTIL_H
#define DLSC_EXAMPLE_UTIL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "dlsc.h"
#include "cli.h"

/* Reads a mono file; stereo files are refused unless downmix averages the channels.
 * On failure returns -1 with a message in error. */
int read_audio(const char *path, int downmix, float **samples, size_t *n_samples, int *sample_rate,
               char *error, size_t error_size);
/* Every channel of a file, planar: channel c's frames at (*samples)[c * frames]. */
int read_audio_channels(const char *path, float **samples, size_t *frames, int *channels,
                        int *sample_rate, char *error, size_t error_size);
/* The mean of planar channels into the first channel's frames. */
void downmix_planar(float *samples, size_t frames, int channels);
/* samples (n at rate from) at rate to, in a new buffer of *n_out samples, through
 * dlsc_resample; exits with a message naming what on failure. */
float *resample_or_exit(const float *samples, size_t n, int from, int to, size_t *n_out,
                        const char *what);
/* libsndfile's format for writing path, from the extension its name ends in, in any
 * case: the major formats of libsndfile's own table (wav, flac, aiff, au, caf, w64,
 * rf64, ...) and the names in use for its Ogg and MPEG containers (ogg, opus, mp3) and
 * aif; a name without one: WAV. 16-bit PCM where the format holds it, else its codec
 * (Vorbis, Opus for .opus, MPEG layer III). 0, or -1 with "PATH: why" in error for an
 * extension libsndfile cannot write. */
int audio_format(const char *path, int *format, char *error, size_t error_size);
/* Whether path can be written at that rate with that many channels (Opus holds 8, 12, 16,
 * 24 and 48 kHz only; MPEG two channels), asked of libsndfile without touching any file;
 * 0, or -1 with "cannot write PATH...: why" in error. */
int audio_writable(const char *path, int sample_rate, int channels, char *error,
                   size_t error_size);
/* Whether writing path writes the standard output: "-" (which write_audio takes as
 * standard output, WAV), /dev/stdout, or the file it is redirected to; a program then
 * reports on stderr. */
int is_standard_output(const char *path);
/* Mono audio in audio_format's format, made in memory and then written at once: a
 * regular file through a temporary one renamed over it, anything else (a pipe, a
 * device) directly, "-" the standard output. 0, or -1 with "cannot write PATH: why" in
 * error. */
int write_wav(const char *path, const float *samples, size_t n_samples, int sample_rate,
              char *error, size_t error_size);
/* The same for channels planar channels of frames samples each, interleaved into the file. */
int write_audio(const char *path, const float *samples, size_t frames, int channels,
                int sample_rate, char *error, size_t error_size);

/* Sorted names of the regular files in directory ending with suffix (NULL: any). */
char **list_files(const char *directory, const char *suffix, size_t *count);
void free_list(char **names, size_t count);

double now_seconds(void);

/* The course protocol's splits of a pair of n samples (data README): train on [0, cut),
 * the first 85 % cut at a multiple of 512, score the tail [cut, n); the first tenth of
 * the training part, [0, validation), validates. */
void course_split(size_t n, size_t *cut, size_t *validation);

/* The course pair from data_directory(): clean and noisy, n samples each (free both);
 * exits with a message when they cannot be read or are not two aligned recordings. */
void read_course_pair(float **clean, float **noisy, size_t *n);

/* $DLSC_DATA, else ../shared/data relative to the working directory, else the
 * default compiled in (the source tree's ../shared/data). */
const char *data_directory(void);


/* Progress and Ctrl-C in the training loops, through the training settings' progress
 * callback. watch_training(config) makes dlsc_model_train_epoch redraw "batch i/n
 * loss x" on stderr when stderr is a terminal, and stop the epoch after Ctrl-C
 * (DLSC_ERR_CANCELLED: the epoch is rolled back). A second Ctrl-C quits at once; where
 * SIGINT was ignored when the program started (nohup), it stays ignored.
 * epoch_interrupted(status, epoch) is 1 when an epoch's status is that stop, after a
 * line on stdout: the program then ends that training stage with the epochs before,
 * and Ctrl-C is armed again for the next stage; an interrupted first epoch exits(130).
 * Any other failure goes to check_status. */
void watch_training(dlsc_train_config *config);
int epoch_interrupted(dlsc_status status, int epoch);

/* Exits with status 2 and a message when path, given with option, names one of the
 * files of --checkpoint prefix (P.dlsc, P.state, P.best.dlsc, P.average.dlsc): the
 * checkpoint would overwrite it, or it the checkpoint. No prefix or path: nothing. */
void refuse_checkpoint_file(const char *prefix, const char *path, const char *option);

/* Checkpoints of the training loops (--checkpoint P). checkpoint_save writes P.dlsc,
 * the model's weights with the loop's counters as metadata (keys[i] = values[i], on a
 * copy: the model itself is untouched) and the run's settings, then P.state, the
 * training state of model and data (dlsc_training_state_save). checkpoint_resume puts
 * them back into a model of the same layers (else exit 1 with a message) and a dataset
 * built as before, and reads the counters into values[i] (64 bytes each); a checkpoint
 * of other settings is refused (exit 1), the settings that differ named.
 * settings: what decides the run's result, one "name=value" a line (settings_add).
 * checkpoint_save_model writes another model (an average) to P<suffix>;
 * checkpoint_save_bytes / _load_bytes keep a saved model's bytes (the best so far) there. */
void checkpoint_save(const dlsc_model_t *model, const dlsc_dataset_t *data, const char *prefix,
                     const char *const *keys, char (*values)[64], size_t n_keys,
                     const char *settings);
void checkpoint_resume(dlsc_model_t *model, dlsc_dataset_t *data, const char *prefix,
                       const char *const *keys, char (*values)[64], size_t n_keys,
                       const char *settings);
/* Appends "name=value\n" (printf-style value) to settings, a buffer of size bytes; exits
 * with a message if it does not fit. */
void settings_add(char *settings, size_t size, const char *name, const char *format, ...)
    __attribute__((format(printf, 4, 5)));
/* The same for a float, as %g writes it or with the fewest more digits that read back
 * to it (0.05, not 0.0500000007). */
void settings_add_float(char *settings, size_t size, const char *name, float value);
void checkpoint_save_model(const char *prefix, const char *suffix, const dlsc_model_t *model);
void checkpoint_save_bytes(const char *prefix, const char *suffix, const unsigned char *bytes,
                           size_t size);
unsigned char *checkpoint_load_bytes(const char *prefix, const char *suffix, size_t *size);

/* A model file of a few kilobytes can ask for gigabytes to run (its layer shapes decide,
 * not its size): the programs refuse a model that takes more than this for one example
 * (dlsc_model_memory). */
#define MODEL_MEMORY_LIMIT ((size_t)1 << 30)
/* Whether model runs within MODEL_MEMORY_LIMIT; if not, says so (naming path). */
int model_fits_in_memory(const dlsc_model_t *model, const char *path);
/* The model in path, or NULL after a message "cannot load PATH: reason". */
dlsc_model_t *load_model_any_size(const char *path);
/* The same, also NULL after model_fits_in_memory's message: for the programs that run it. */
dlsc_model_t *load_model(const char *path);
/* The reason for a failed dlsc_model_load_file(path): status_reason(status), or that
 * path holds a training state. Call it right after the failing call. */
const char *load_failure(const char *path, dlsc_status status);

/* The rate a denoising model was trained at: its metadata dlsc.sample_rate, 16000 when
 * unset; -1, with a message naming path, when that is not a rate. */
int model_sample_rate(const dlsc_model_t *model, const char *path);
/* The model of spec, or exit(1) after a message that quotes the part of spec at fault. */
dlsc_model_t *model_from_spec(const char *spec, uint64_t seed, const char *what);

#endif
