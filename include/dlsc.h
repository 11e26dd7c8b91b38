/* dlsc: small-data deep learning for speech denoising and image classification.
 *
 * One header, read top to bottom: errors and versions, the STFT, models (build,
 * train, run, save), datasets, denoising (whole signal and streaming), metrics and
 * resampling.
 *
 * Conventions that hold for every function below unless its comment says otherwise:
 *  - It returns a dlsc_status; DLSC_OK is 0, errors are negative. Results go out
 *    through pointer arguments, which are left untouched when the call fails.
 *  - A failed call leaves every handle as it was before the call.
 *  - Buffers passed in are only read during the call and never kept.
 *  - Sizes are counts of elements (floats, samples, frames), not bytes, unless named
 *    *_bytes. Multi-dimensional buffers are dense, row-major, channel-first:
 *    [count][channels][height][width].
 *  - Whoever creates a handle destroys it; destroy(NULL) does nothing.
 *  - Handles are not internally locked: use one handle from one thread at a time.
 *    Different handles may be used from different threads concurrently; functions that
 *    take a const handle may run concurrently on the same handle.
 *  - Config structs are filled by their *_init macro first (it records the struct size,
 *    so fields can be appended in later versions without breaking callers), then edited.
 *  - The library never prints, never exits, and never touches files except in the
 *    functions named *_file.
 *
 * Matrix work runs on OpenBLAS; its thread count (OPENBLAS_NUM_THREADS) applies.
 */
#ifndef DLSC_H
#define DLSC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(DLSC_BUILD_SHARED)
#define DLSC_API __declspec(dllexport)
#elif defined(__GNUC__) && defined(DLSC_BUILD)
#define DLSC_API __attribute__((visibility("default")))
#else
#define DLSC_API
#endif

/* ---------------------------------------------------------------- versions, errors */

#define DLSC_VERSION_MAJOR 0
#define DLSC_VERSION_MINOR 1
#define DLSC_VERSION_PATCH 0
#define DLSC_VERSION_NUMBER \
  (DLSC_VERSION_MAJOR * 10000 + DLSC_VERSION_MINOR * 100 + DLSC_VERSION_PATCH)

typedef enum dlsc_status {
  DLSC_OK = 0,
  DLSC_ERR_INVALID_ARGUMENT = -1, /* NULL pointer, zero or out-of-range size or value */
  DLSC_ERR_OUT_OF_MEMORY = -2,
  DLSC_ERR_SHAPE_MISMATCH = -3, /* buffers, models, STFTs or datasets do not fit together */
  DLSC_ERR_BAD_FORMAT = -4,     /* a model buffer or spec string is malformed */
  DLSC_ERR_VERSION = -5,        /* a model buffer of a newer, unknown format version */
  DLSC_ERR_CHECKSUM = -6,       /* a model buffer whose CRC-32 does not match */
  DLSC_ERR_NUMERIC = -7,        /* NaN/Inf or out-of-range input, or training diverged */
  DLSC_ERR_UNSUPPORTED = -8,    /* a valid request this version cannot do */
  DLSC_ERR_IO = -9,             /* a *_file function could not read or write */
  DLSC_ERR_BUFFER_TOO_SMALL = -10,
  DLSC_ERR_NOT_FOUND = -11,     /* a metadata key that is not set */
  DLSC_ERR_CANCELLED = -12      /* a progress callback asked to stop */
} dlsc_status;

/* A static English sentence for a status; never NULL (unknown codes get a generic one). */
DLSC_API const char *dlsc_strerror(dlsc_status status);

/* The version of the library linked at run time, as DLSC_VERSION_NUMBER computes it,
 * and as a "major.minor.patch" string. */
DLSC_API unsigned dlsc_version(void);
DLSC_API const char *dlsc_version_string(void);

/* The matrix library the products run on, for logs, and a check of its kernels.
 * *config: a static string naming it; with OpenBLAS its build and the kernel set it
 * chose for this CPU, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Cooperlake
 * MAX_THREADS=64"; built against another CBLAS (meson -Dblas=cblas), "CBLAS", whichever
 * library provides it at run time. *better_coretype: NULL, or the value of
 * OPENBLAS_CORETYPE to set before the program starts, when OpenBLAS did not know this
 * CPU and fell back to kernels without AVX2 although the CPU has them (an OpenBLAS
 * older than the CPU: on an Intel Xeon of 2023, Debian 12's OpenBLAS 0.3.21 chose its
 * SSE3 kernels, "Prescott", and dlsc trained 2.3-4 times and denoised 2-2.5 times
 * slower than with "SkylakeX"; docs/speed.md). Both strings are static; OpenBLAS
 * rewrites its configuration string at each call, so call this from one thread at a
 * time. */
DLSC_API dlsc_status dlsc_blas_info(const char **config, const char **better_coretype);

/* ---------------------------------------------------------------- STFT */

/* The range of signals. Samples given to the STFT, denoising, streams, mixing and
 * resampling must be finite and within +-DLSC_SAMPLE_LIMIT, 2^40 (audio is +-1, or
 * +-2^31 in 32-bit integer units); spectrum values given to the STFT's inverse and to
 * dlsc_denoise_gains (magnitudes, real and imaginary parts) within +-DLSC_SPECTRUM_LIMIT,
 * 2^64, more than any signal in range gives (at most n_fft 2^40 <= 2^56). Beyond them:
 * DLSC_ERR_NUMERIC, as for NaN and infinity. Within them those functions give finite
 * results, never overflowing to infinity or NaN. */
#define DLSC_SAMPLE_LIMIT 1099511627776.0f            /* 2^40 */
#define DLSC_SPECTRUM_LIMIT 18446744073709551616.0f   /* 2^64 */

typedef struct dlsc_stft dlsc_stft_t;

typedef enum dlsc_window {
  DLSC_WINDOW_HANN = 0, /* periodic Hann */
  DLSC_WINDOW_HAMMING = 1,
  DLSC_WINDOW_SQRT_HANN = 2,
  DLSC_WINDOW_RECTANGULAR = 3
} dlsc_window;

typedef struct dlsc_stft_config {
  size_t struct_size;
  size_t n_fft;      /* even, 4 .. 65536; default 1024. Fastest and most precise when
                        n_fft / 2 has small prime factors (see docs/api.md) */
  size_t hop_length; /* 1 .. n_fft, and the window must overlap-add without gaps; 512.
                        Most precise up to n_fft / 2 (see docs/api.md) */
  dlsc_window window; /* default DLSC_WINDOW_HANN */
} dlsc_stft_config;

DLSC_API dlsc_status dlsc_stft_config_init_(dlsc_stft_config *config, size_t struct_size);
#define dlsc_stft_config_init(config) dlsc_stft_config_init_((config), sizeof *(config))

/* Plans the FFTs once. Framing: the signal is padded with n_fft - hop_length zeros at
 * both ends, so every sample lies under the full overlap of windows and the inverse
 * reconstructs all n_samples exactly. Frames are [n_frames][n_bins], n_bins = n_fft/2+1,
 * magnitudes unnormalised (|FFT| of the windowed frame). */
DLSC_API dlsc_status dlsc_stft_create(const dlsc_stft_config *config, dlsc_stft_t **stft);
DLSC_API void dlsc_stft_destroy(dlsc_stft_t *stft);

/* n_bins, and how many frames a signal of n_samples (>= 1) gives. */
DLSC_API dlsc_status dlsc_stft_n_bins(const dlsc_stft_t *stft, size_t *n_bins);
DLSC_API dlsc_status dlsc_stft_n_frames(const dlsc_stft_t *stft, size_t n_samples,
                                        size_t *n_frames);
DLSC_API dlsc_status dlsc_stft_get_config(const dlsc_stft_t *stft, dlsc_stft_config *config);

/* Analysis. magnitude and phase hold n_frames * n_bins floats each, n_frames as
 * dlsc_stft_n_frames gives; phase may be NULL. Samples out of range (non-finite, or
 * beyond DLSC_SAMPLE_LIMIT): DLSC_ERR_NUMERIC. */
DLSC_API dlsc_status dlsc_stft_forward(dlsc_stft_t *stft, const float *samples, size_t n_samples,
                                       float *magnitude, float *phase, size_t n_frames);
/* Same framing, complex output as interleaved (re, im) pairs: n_frames * n_bins * 2. */
DLSC_API dlsc_status dlsc_stft_forward_complex(dlsc_stft_t *stft, const float *samples,
                                               size_t n_samples, float *spectrum, size_t n_frames);
/* Synthesis by weighted overlap-add; writes n_samples, which must give n_frames.
 * Magnitudes or spectrum values beyond DLSC_SPECTRUM_LIMIT, or not finite (phases: not
 * finite): DLSC_ERR_NUMERIC. */
DLSC_API dlsc_status dlsc_stft_inverse(dlsc_stft_t *stft, const float *magnitude,
                                       const float *phase, size_t n_frames, float *samples,
                                       size_t n_samples);
DLSC_API dlsc_status dlsc_stft_inverse_complex(dlsc_stft_t *stft, const float *spectrum,
                                               size_t n_frames, float *samples, size_t n_samples);

/* ---------------------------------------------------------------- models */

typedef struct dlsc_model dlsc_model_t;

typedef struct dlsc_shape {
  size_t channels, height, width;
} dlsc_shape;

typedef enum dlsc_layer_kind {
  DLSC_LAYER_DENSE = 1,      /* units outputs from the flattened input */
  DLSC_LAYER_CONV2D = 2,     /* units filters of kernel_h x kernel_w, stride, zero padding */
  DLSC_LAYER_CONV1D = 3,     /* conv2d along width only (height must be 1) */
  DLSC_LAYER_MAXPOOL = 4,    /* kernel, stride (0 = kernel), padding */
  DLSC_LAYER_AVGPOOL = 5,
  DLSC_LAYER_GLOBAL_AVGPOOL = 6, /* [C,H,W] -> [C,1,1] */
  DLSC_LAYER_BATCHNORM = 7,  /* per channel; epsilon, momentum of the running averages */
  DLSC_LAYER_DROPOUT = 8,    /* rate = probability of zeroing, training only */
  DLSC_LAYER_RELU = 9,
  DLSC_LAYER_GELU = 10,      /* exact (erf) form */
  DLSC_LAYER_SIGMOID = 11,
  DLSC_LAYER_TANH = 12,
  DLSC_LAYER_SOFTPLUS = 13,
  DLSC_LAYER_LOG = 14        /* log(max(x, 0) + epsilon): compresses magnitudes */
} dlsc_layer_kind;

typedef struct dlsc_layer_config {
  size_t struct_size;
  dlsc_layer_kind kind;
  size_t units;                  /* dense outputs, conv filters */
  size_t kernel_h, kernel_w;     /* conv (1..64), pool (>= 1) */
  size_t stride_h, stride_w;     /* conv (default 1), pool (default 0 = kernel) */
  size_t pad_h, pad_w;           /* zero padding, default 0; below the kernel's size */
  int bias;                      /* conv/dense: learn a bias, default 1 */
  float rate;                    /* dropout probability, [0, 1) */
  float epsilon;                 /* batchnorm (1e-5), log (1e-3); finite, > 0 */
  float momentum;                /* batchnorm running-average weight of a batch, (0, 1]
                                    (0.1) */
} dlsc_layer_config;

DLSC_API dlsc_status dlsc_layer_config_init_(dlsc_layer_config *config, dlsc_layer_kind kind,
                                             size_t struct_size);
#define dlsc_layer_config_init(config, kind) \
  dlsc_layer_config_init_((config), (kind), sizeof *(config))

/* An empty model taking inputs of one shape; layers are appended with add_layer and
 * initialised (He/Glorot) from the model's own PRNG seeded here. add_layer resets the
 * fields a kind does not read (a ReLU's units, a dense layer's rate) to their defaults,
 * and refuses sizes above 2^30 and a bias other than 0 or 1. */
DLSC_API dlsc_status dlsc_model_create(dlsc_shape input, uint64_t seed, dlsc_model_t **model);

/* A model from a text spec, one layer per ';'-separated item, e.g.
 *   "input 3x32x32; conv2d 10 5x5; relu; maxpool 2; conv2d 10 5x5; relu; maxpool 2;
 *    dense 20; relu; dense 10"
 * Layer words: dense N | conv2d N KHxKW | conv1d N K | maxpool K[xK] | avgpool K[xK] |
 * gap | batchnorm | dropout R | relu | gelu | sigmoid | tanh | softplus | log.
 * Options after a layer: stride=S[xS] pad=P[xP]|same bias=0|1 eps=E momentum=M.
 * Numbers are C text ("0.25") under any locale the host set. Malformed text:
 * DLSC_ERR_BAD_FORMAT; impossible shapes: DLSC_ERR_SHAPE_MISMATCH (dlsc_model_check_spec
 * says which item). */
DLSC_API dlsc_status dlsc_model_create_from_spec(const char *spec, uint64_t seed,
                                                 dlsc_model_t **model);
/* What create_from_spec would say of spec, and where, for a message: *verdict gets the
 * status it would return; when that is not DLSC_OK, *offset and *length give the bytes
 * of spec at fault: the item it refused (the text between separators, blanks trimmed),
 * or an empty span at the end of spec when no item is at fault (no input item).
 * DLSC_OK writes 0 and 0. Builds the model to check its shapes, then frees it; when
 * that runs out of memory: DLSC_ERR_OUT_OF_MEMORY, no verdict (outputs untouched). */
DLSC_API dlsc_status dlsc_model_check_spec(const char *spec, dlsc_status *verdict,
                                           size_t *offset, size_t *length);
/* Appends a layer: at most 4096 (the model format's limit: DLSC_ERR_INVALID_ARGUMENT past
 * it), each of at most 2^32 - 1 parameters (else DLSC_ERR_SHAPE_MISMATCH, as for outputs
 * over 2^28 floats per example). */
DLSC_API dlsc_status dlsc_model_add_layer(dlsc_model_t *model, const dlsc_layer_config *config);
DLSC_API void dlsc_model_destroy(dlsc_model_t *model);

/* A deep copy: weights, statistics, metadata, training settings and the PRNG's state
 * (the copy draws the dropout masks the original draws next); fresh optimizer state.
 * The copy holds no gradients, optimizer moments or workspaces until it is used, so a
 * clone of a trained model keeps it for inference at the size of its weights. */
DLSC_API dlsc_status dlsc_model_clone(const dlsc_model_t *model, dlsc_model_t **copy);

typedef struct dlsc_model_info {
  size_t n_layers;
  dlsc_shape input, output;
  size_t n_parameters; /* trainable floats */
} dlsc_model_info;

DLSC_API dlsc_status dlsc_model_get_info(const dlsc_model_t *model, dlsc_model_info *info);
/* Layer index's config and output shape. */
DLSC_API dlsc_status dlsc_model_get_layer(const dlsc_model_t *model, size_t index,
                                          dlsc_layer_config *config, dlsc_shape *output);
/* The model as a spec string (the grammar of create_from_spec; numbers with the fewest
 * digits that read back exactly). *length gets the size needed, terminating NUL
 * included: with text NULL (capacity 0) that is all, a size query; a smaller capacity
 * gets DLSC_ERR_BUFFER_TOO_SMALL, text untouched. */
DLSC_API dlsc_status dlsc_model_describe(const dlsc_model_t *model, char *text, size_t capacity,
                                         size_t *length);
/* The bytes of memory the model holds once it has run count examples at a time, from
 * new (created, loaded or cloned): training 0 for dlsc_model_predict, _classify and
 * _evaluate (which run at most 256 at a time, so a larger count gives the same), 1 for
 * dlsc_model_train_epoch with batch_size count under the model's training settings
 * (with its optimizer state, the epoch's snapshot, lookahead's copies). Weights and
 * statistics included; the layer table and metadata (a few hundred bytes per layer)
 * not. The layer shapes decide it, not the file's size (a 64 kB file can ask for 128
 * GiB), so check a model from a source that is not trusted before running it. Past
 * SIZE_MAX: SIZE_MAX. count 0, training other than 0 or 1: DLSC_ERR_INVALID_ARGUMENT. */
DLSC_API dlsc_status dlsc_model_memory(const dlsc_model_t *model, size_t count, int training,
                                       size_t *bytes);
/* The multiply-adds of one example's forward pass in the dense and convolution layers
 * (each weight once per output position, padding included), where nearly all the work
 * is; a training step takes about three times as many per example. With
 * dlsc_model_memory, what to check before running a model from a source that is not
 * trusted: its layer shapes, not its file's size, decide it. UINT64_MAX past that. */
DLSC_API dlsc_status dlsc_model_multiply_adds(const dlsc_model_t *model, uint64_t *count);

/* Inference: count inputs of the input shape -> count outputs of the output shape.
 * Batch-norm uses its running statistics, dropout is off. Not const: the model keeps
 * reusable workspaces. Non-finite inputs: DLSC_ERR_NUMERIC, outputs untouched. An
 * output that overflows to infinity or NaN (finite inputs far out of a model's range):
 * DLSC_ERR_NUMERIC too; the inputs run in batches of 256, so with more than 256 the
 * outputs of the batches before the failing one may have been written. */
DLSC_API dlsc_status dlsc_model_predict(dlsc_model_t *model, const float *inputs, size_t count,
                                        float *outputs);

/* Classification with a model whose outputs are class scores (logits, as softmax
 * cross-entropy trains them; at least 2): labels (count, optional) gets each input's
 * highest-scoring class (the first on ties), probabilities (count * classes, optional)
 * the softmax of its scores; at least one of them. Image inputs are floats in [0, 1],
 * as the image datasets store them ((float)byte / 255.0f). Scores that overflow:
 * DLSC_ERR_NUMERIC; a model with one output: DLSC_ERR_SHAPE_MISMATCH. On failure labels
 * and probabilities are untouched. */
DLSC_API dlsc_status dlsc_model_classify(dlsc_model_t *model, const float *inputs, size_t count,
                                         int32_t *labels, float *probabilities);
/* The same for images as bytes, [count][channels][height][width] 0..255 (an image
 * decoder's output made channel-first): each byte is taken as the image datasets take
 * it, (float)byte / 255.0f, so the results are dlsc_model_classify's on those floats,
 * bit for bit, without a float copy of all the images (256 at a time). */
DLSC_API dlsc_status dlsc_model_classify_u8(dlsc_model_t *model, const uint8_t *pixels,
                                            size_t count, int32_t *labels,
                                            float *probabilities);

/* Free text key/value pairs stored with the model (class names, provenance).
 * Keys: 1..63 printable ASCII characters, no '='; values up to 4095 bytes; at most 4096
 * keys (the model format's limit; a new key past it: DLSC_ERR_INVALID_ARGUMENT). */
DLSC_API dlsc_status dlsc_model_set_metadata(dlsc_model_t *model, const char *key,
                                             const char *value);
/* Copies the value with its NUL; *length (optional) gets the size needed. */
DLSC_API dlsc_status dlsc_model_get_metadata(const dlsc_model_t *model, const char *key,
                                             char *value, size_t capacity, size_t *length);
/* Lists the keys: the index-th key (0, 1, ... in the order they were first set, which
 * the file keeps) with its NUL, as get_metadata copies a value (64 bytes always
 * suffice). An index past the last key: DLSC_ERR_NOT_FOUND, so a loop runs until it. */
DLSC_API dlsc_status dlsc_model_get_metadata_key(const dlsc_model_t *model, size_t index,
                                                 char *key, size_t capacity, size_t *length);

/* Serialisation to the versioned format of docs/model-format.md (magic, version, layers,
 * metadata, tensors, CRC-32). With buffer NULL, *size gets the bytes needed. */
DLSC_API dlsc_status dlsc_model_save(const dlsc_model_t *model, void *buffer, size_t capacity,
                                     size_t *size);
/* Rejects any malformed buffer with a status, never reading outside it. */
DLSC_API dlsc_status dlsc_model_load(const void *buffer, size_t size, dlsc_model_t **model);
/* File wrappers. save_file writes a temporary file next to path and renames it over
 * path, so path holds either the old or the new model, never a partial one. A new
 * file gets 0666 less the umask, a replaced one keeps its permissions; a symbolic link
 * is followed (its target is replaced, the link stays); a path naming anything but a
 * regular file (device, FIFO, directory) or a dangling link: DLSC_ERR_IO. load_file
 * reads regular files only: anything else, DLSC_ERR_IO at once (a FIFO is not waited
 * on). DLSC_ERR_IO leaves the reason in errno, for a message: the failing system
 * call's (ENOENT, EACCES, ENOSPC, EFBIG, ...), EISDIR for a directory, EINVAL for
 * another file that is not a regular one. */
DLSC_API dlsc_status dlsc_model_save_file(const dlsc_model_t *model, const char *path);
DLSC_API dlsc_status dlsc_model_load_file(const char *path, dlsc_model_t **model);

/* The model's first n_layers get src's weights and statistics; their configs and
 * input shape must match (else DLSC_ERR_SHAPE_MISMATCH). Builds transfer learning:
 * a classifier with a pretext model's backbone and a new head. */
DLSC_API dlsc_status dlsc_model_copy_layers(dlsc_model_t *dst, const dlsc_model_t *src,
                                            size_t n_layers);

/* Layer index's values as the model format lays them out (docs/model-format.md): its
 * trainable parameters, then its statistics. Dense: weights [units][inputs], bias
 * [units]; conv2d/conv1d: weights [filters][in_channels][kernel_h][kernel_w], bias
 * [filters]; batch-norm: gamma [C], beta [C], running mean [C], running variance [C];
 * other layers have none. *count gets how many: with values NULL (capacity 0) that is
 * all, a size query; a smaller capacity gets DLSC_ERR_BUFFER_TOO_SMALL, values
 * untouched. For custom initialisation, inspection and export. */
DLSC_API dlsc_status dlsc_model_get_values(const dlsc_model_t *model, size_t index, float *values,
                                          size_t capacity, size_t *count);
/* Replaces them: count must be the layer's (else DLSC_ERR_SHAPE_MISMATCH); a value that
 * is not finite, or a negative running variance: DLSC_ERR_NUMERIC. The model changes
 * only on success; the optimizer's state is kept. */
DLSC_API dlsc_status dlsc_model_set_values(dlsc_model_t *model, size_t index, const float *values,
                                          size_t count);

/* dst = (1 - weight) * dst + weight * src over all parameters and statistics, for
 * models of the same architecture (else DLSC_ERR_SHAPE_MISMATCH); weight in [0, 1].
 * Keeps averages of weights along training (stochastic weight averaging, EMA). */
DLSC_API dlsc_status dlsc_model_blend(dlsc_model_t *dst, const dlsc_model_t *src, float weight);

/* Makes convolution layer index a patch-whitening filter bank (Page 2018; Jordan's
 * airbench): over count inputs (of the model's input shape, run through the layers
 * before index in inference mode) the layer's input patches (C x kernel_h x kernel_w =
 * D values, at every stride-1 position inside the unpadded input) have mean m and
 * covariance sum_i lambda_i v_i v_i^T. Filter f becomes v_f / sqrt(lambda_f + epsilon),
 * largest lambda first, and with 2D filters filter D + f its negative; the bias, if the
 * layer has one, -w . m. On those patches filter f's output then has mean 0 and
 * variance lambda_f / (lambda_f + epsilon). The layer must be a convolution with D or
 * 2D filters (else DLSC_ERR_SHAPE_MISMATCH), D at most 4096 (else
 * DLSC_ERR_UNSUPPORTED); epsilon > 0. Non-finite inputs, patches or filters:
 * DLSC_ERR_NUMERIC. The model changes only on success. Freeze the layer to keep it. */
DLSC_API dlsc_status dlsc_model_init_whitening(dlsc_model_t *model, size_t index,
                                               const float *inputs, size_t count, float epsilon);

/* ---------------------------------------------------------------- training */

typedef enum dlsc_optimizer {
  DLSC_OPTIMIZER_ADAM = 0, /* AdamW when weight_decay > 0 (decoupled decay) */
  DLSC_OPTIMIZER_SGD = 1   /* momentum, optionally Nesterov; weight decay as L2 */
} dlsc_optimizer;

typedef enum dlsc_loss {
  DLSC_LOSS_MSE = 0,           /* mean over elements of (y - target)^2 */
  DLSC_LOSS_MASK_MSE = 1,      /* (y * scale - target)^2: y is a mask on batch scales */
  DLSC_LOSS_CROSS_ENTROPY = 2  /* softmax cross-entropy on integer labels */
} dlsc_loss;

typedef enum dlsc_schedule {
  DLSC_SCHEDULE_CONSTANT = 0,
  DLSC_SCHEDULE_COSINE = 1, /* warm-up, then cosine from learning_rate to 0 at total_steps */
  DLSC_SCHEDULE_LINEAR = 2  /* warm-up, then linear to 0 at total_steps */
} dlsc_schedule;

typedef struct dlsc_train_stats {
  double loss;      /* mean loss over the examples */
  size_t correct;   /* cross-entropy: examples whose arg-max is the label */
  size_t count;     /* examples seen */
} dlsc_train_stats;

/* Progress of dlsc_model_train_epoch, called after each of its batches with the number
 * of batches done, the number in the epoch, and the epoch's statistics so far (loss:
 * the mean over the examples so far). Return 0 to go on; anything else stops the
 * epoch, which returns DLSC_ERR_CANCELLED with the model and dataset as they were
 * before the call. It runs on the training thread and must not call dlsc functions
 * on the model or dataset being trained. */
typedef int (*dlsc_progress_fn)(void *user, size_t batches_done, size_t batches,
                                const dlsc_train_stats *so_far);

typedef struct dlsc_train_config {
  size_t struct_size;
  dlsc_optimizer optimizer; /* Adam */
  dlsc_loss loss;           /* MSE */
  float learning_rate;      /* 1e-3 */
  float momentum;           /* SGD: 0.9 */
  int nesterov;             /* SGD: 0, or 1 for Nesterov momentum */
  float beta1, beta2, adam_epsilon; /* 0.9, 0.999, 1e-8 */
  float weight_decay;       /* 0; applies to weights, not to biases or batch-norm */
  float label_smoothing;    /* cross-entropy: 0 */
  float gradient_clip;      /* max global L2 norm of the gradient; 0 = off. The norm
                             * spans the layers that update (not frozen, rate scale > 0) */
  dlsc_schedule schedule;   /* constant */
  size_t warmup_steps;      /* linear warm-up from 0 over this many steps */
  size_t total_steps;       /* schedule length; required by cosine and linear */
  size_t batch_size;        /* for dlsc_model_train_epoch: 32 */
  /* Lookahead (Zhang et al. 2019), also in airbench's form. Before the first step at or
   * after lookahead_start steps, a slow copy of the parameters and batch-norm statistics
   * is taken; after every step whose count is a multiple of lookahead_every, it moves
   * towards the model, slow = rho slow + (1 - rho) model, and the model returns to it.
   * rho = lookahead_rho, times (steps / lookahead_ramp)^3 while steps < lookahead_ramp.
   * dlsc_model_train_epoch ends on the slow copy; see dlsc_model_lookahead_sync.
   * Zhang's: every 5, rho 0.5; airbench's: every 5, rho 0.95^5, ramp the whole run. */
  size_t lookahead_every;   /* 0 = off */
  size_t lookahead_start;   /* 0 */
  float lookahead_rho;      /* 0.5, in [0, 1] */
  size_t lookahead_ramp;    /* 0 = constant rho */
  dlsc_progress_fn progress; /* dlsc_model_train_epoch's callback; NULL = none.
                                dlsc_model_clone copies it with the settings */
  void *progress_user;       /* its first argument */
} dlsc_train_config;

DLSC_API dlsc_status dlsc_train_config_init_(dlsc_train_config *config, size_t struct_size);
#define dlsc_train_config_init(config) dlsc_train_config_init_((config), sizeof *(config))

/* Sets the optimizer, loss and schedule. The optimizer state (moments, step count)
 * is reset when the optimizer kind changes, kept otherwise. DLSC_ERR_INVALID_ARGUMENT,
 * the settings in force kept, for: an unknown optimizer, loss or schedule; learning_rate
 * outside (0, 1e4]; momentum, beta1, beta2 or label_smoothing outside [0, 1);
 * adam_epsilon outside (0, 1); weight_decay outside [0, 1e3); gradient_clip negative or
 * not finite; nesterov other than 0 or 1; batch_size 0; lookahead_rho outside [0, 1];
 * a cosine or linear schedule whose total_steps is not above warmup_steps. */
DLSC_API dlsc_status dlsc_model_set_training(dlsc_model_t *model, const dlsc_train_config *config);

/* Lookahead: puts the model on its slow copy (the weights to evaluate), as
 * dlsc_model_train_epoch does at its end; for loops of dlsc_model_train_batch. Without
 * lookahead, or before the copy is taken, the model is left as it is. */
DLSC_API dlsc_status dlsc_model_lookahead_sync(dlsc_model_t *model);

/* Per-layer learning-rate multiplier (default 1, in [0, 1e6)) and freezing. A frozen layer
 * keeps its weights and, for batch-norm, its running statistics (it normalises with
 * them, as in inference). With every layer frozen a step changes no weight but still
 * reports the batch's loss and counts as a step (the schedule's clock). Index out of
 * range: DLSC_ERR_INVALID_ARGUMENT. */
DLSC_API dlsc_status dlsc_model_set_layer_lr_scale(dlsc_model_t *model, size_t index, float scale);
DLSC_API dlsc_status dlsc_model_set_layer_frozen(dlsc_model_t *model, size_t index, int frozen);

/* A further multiplier (default 1, in [0, 1e6)) for one tensor of a layer: its weights
 * (dense, convolution; batch-norm's scale gamma) or its biases (batch-norm's shift
 * beta). 0 keeps the tensor as it is while the layer trains: a batch-norm layer still
 * normalises with the batch. airbench: gamma fixed at 1, beta at 64 times the rate.
 * A layer without that tensor, index or tensor out of range: DLSC_ERR_INVALID_ARGUMENT. */
typedef enum dlsc_tensor { DLSC_TENSOR_WEIGHTS = 0, DLSC_TENSOR_BIASES = 1 } dlsc_tensor;
DLSC_API dlsc_status dlsc_model_set_tensor_lr_scale(dlsc_model_t *model, size_t index,
                                                    dlsc_tensor tensor, float scale);

/* One batch of examples. inputs is count * input size; MSE needs targets (count *
 * output size), MASK_MSE also scales (same size), CROSS_ENTROPY needs labels
 * (0 .. output size - 1). Datasets hand out batches of this form. */
typedef struct dlsc_batch {
  size_t count;
  const float *inputs;
  const float *targets;
  const float *scales;
  const int32_t *labels;
} dlsc_batch;

/* One optimizer step on a batch. If the loss or a gradient is not finite, or the step
 * would make a weight or a batch-norm statistic non-finite, returns DLSC_ERR_NUMERIC
 * with the model unchanged (weights, statistics, optimizer state, dropout PRNG).
 * stats may be NULL. */
DLSC_API dlsc_status dlsc_model_train_batch(dlsc_model_t *model, const dlsc_batch *batch,
                                            dlsc_train_stats *stats);

/* ---------------------------------------------------------------- datasets */

typedef struct dlsc_dataset dlsc_dataset_t;

/* Spectrogram frames for denoising: each example is a window of context_before +
 * 1 + context_after noisy magnitude frames ([1][window][n_bins]; frames outside the
 * signal are zero) and the target frame at its centre. */
typedef enum dlsc_target {
  DLSC_TARGET_MAGNITUDE = 0,      /* clean magnitude |S| */
  DLSC_TARGET_PHASE_SENSITIVE = 1 /* |S| cos(angle S - angle Y), floored at 0: the best a
                                     magnitude can do with the noisy phase */
} dlsc_target;

typedef struct dlsc_frames_config {
  size_t struct_size;
  size_t n_bins;          /* 513 */
  size_t context_before;  /* 0 */
  size_t context_after;   /* 0 */
  dlsc_target target;     /* magnitude */
} dlsc_frames_config;

DLSC_API dlsc_status dlsc_frames_config_init_(dlsc_frames_config *config, size_t struct_size);
#define dlsc_frames_config_init(config) dlsc_frames_config_init_((config), sizeof *(config))

/* n_bins 2 .. 32769 (n_fft up to 65536), at most 64 frames of context each side; else
 * DLSC_ERR_INVALID_ARGUMENT. */
DLSC_API dlsc_status dlsc_dataset_create_frames(const dlsc_frames_config *config, uint64_t seed,
                                                dlsc_dataset_t **dataset);
/* Appends the frames of an aligned noisy/clean pair (one utterance; windows never
 * cross utterances). The STFT's n_bins must match; samples out of range:
 * DLSC_ERR_NUMERIC, nothing appended. */
DLSC_API dlsc_status dlsc_dataset_add_signal_pair(dlsc_dataset_t *dataset, dlsc_stft_t *stft,
                                                  const float *noisy, const float *clean,
                                                  size_t n_samples);
/* Appends precomputed frames: noisy magnitudes and targets, n_frames * n_bins each. */
DLSC_API dlsc_status dlsc_dataset_add_frames(dlsc_dataset_t *dataset, const float *noisy,
                                             const float *target, size_t n_frames);

/* Images with optional labels, stored as floats: pixels in [0, 1] (other data, such as
 * feature maps, is kept as given, finite). */
typedef struct dlsc_images_config {
  size_t struct_size;
  size_t channels, height, width; /* 3, 32, 32 */
  size_t n_classes;               /* 10 */
} dlsc_images_config;

DLSC_API dlsc_status dlsc_images_config_init_(dlsc_images_config *config, size_t struct_size);
#define dlsc_images_config_init(config) dlsc_images_config_init_((config), sizeof *(config))

/* 1 .. 64 channels, height and width 1 .. 4096, at most 1,000,000 classes (0: images
 * for pretext tasks only); else DLSC_ERR_INVALID_ARGUMENT. */
DLSC_API dlsc_status dlsc_dataset_create_images(const dlsc_images_config *config, uint64_t seed,
                                                dlsc_dataset_t **dataset);
/* count images, [count][channels][height][width]: bytes (0..255, stored as
 * (float)byte / 255.0f) or floats (0..1 for pixels; non-finite: DLSC_ERR_NUMERIC).
 * labels may be NULL for unlabeled images (usable for pretext tasks only); a label
 * outside 0 .. n_classes-1: DLSC_ERR_INVALID_ARGUMENT, nothing appended. */
DLSC_API dlsc_status dlsc_dataset_add_images_u8(dlsc_dataset_t *dataset, const uint8_t *pixels,
                                                const int32_t *labels, size_t count);
DLSC_API dlsc_status dlsc_dataset_add_images_f32(dlsc_dataset_t *dataset, const float *pixels,
                                                 const int32_t *labels, size_t count);

/* What an image example's label means. Pretext tasks turn each image into one
 * example per transform, the transform's index being the label. */
typedef enum dlsc_task {
  DLSC_TASK_CLASSES = 0,     /* the given labels */
  DLSC_TASK_FLIP_ROTATE3 = 1, /* {identity, vertical flip, 90-degree rotation}: 3 labels */
  DLSC_TASK_ROTATE4 = 2      /* {0, 90, 180, 270 degrees counter-clockwise}: 4 labels */
} dlsc_task;

DLSC_API dlsc_status dlsc_dataset_set_task(dlsc_dataset_t *dataset, dlsc_task task);

/* horizontal_flip values. ALTERNATE is airbench's derandomised flip: each image has a
 * fixed coin (from the dataset's seed and the image's index) and is mirrored when the
 * coin differs from the parity of the number of dlsc_dataset_shuffle calls so far, so
 * every epoch (each dlsc_model_train_epoch shuffles once) mirrors exactly the images
 * the epoch before did not. */
typedef enum dlsc_flip {
  DLSC_FLIP_NONE = 0,
  DLSC_FLIP_RANDOM = 1,   /* mirror with probability 1/2 */
  DLSC_FLIP_ALTERNATE = 2
} dlsc_flip;

/* On-the-fly augmentation of training batches, drawn from the dataset's PRNG.
 * Evaluation batches are never augmented. */
typedef struct dlsc_augment_config {
  size_t struct_size;
  /* brightness and contrast clip their result to [0, 1], the range of pixels: leave
   * them off for other data */
  float brightness;     /* pixel values times a factor in [1-b, 1+b]; 0 = off */
  float contrast;       /* blend with the image mean by a factor in [1-c, 1+c]; 0 = off */
  int horizontal_flip;  /* a dlsc_flip */
  int rotate90;         /* 1: a random multiple of 90 degrees (square images); 0 = off */
  size_t crop_padding;  /* pad by this many pixels and crop a random window */
  size_t cutout;        /* zero a random square of this side; 0 = off */
  int crop_reflect;     /* 1: pad by mirroring the border (its edge pixel not repeated;
                           crop_padding < height and width), 0: with zeros */
} dlsc_augment_config;

DLSC_API dlsc_status dlsc_augment_config_init_(dlsc_augment_config *config, size_t struct_size);
#define dlsc_augment_config_init(config) dlsc_augment_config_init_((config), sizeof *(config))
/* Image datasets only. DLSC_ERR_INVALID_ARGUMENT, the augmentation in force kept, for:
 * brightness or contrast outside [0, 1]; crop_padding or cutout above the smaller side
 * (crop_reflect: crop_padding below it); rotate90 or crop_reflect other than 0 or 1;
 * horizontal_flip not a dlsc_flip. rotate90 on images that are not square:
 * DLSC_ERR_SHAPE_MISMATCH. */
DLSC_API dlsc_status dlsc_dataset_set_augment(dlsc_dataset_t *dataset,
                                              const dlsc_augment_config *config);

DLSC_API void dlsc_dataset_destroy(dlsc_dataset_t *dataset);

/* Removes every example but keeps the settings (task, augmentation) and the memory,
 * for refilling each epoch (new noise mixtures, say) without reallocating. */
DLSC_API dlsc_status dlsc_dataset_clear(dlsc_dataset_t *dataset);

/* Number of examples under the current task (a pretext task makes 3 or 4 of each
 * image), and the input shape a model needs for them: [channels][height][width] of the
 * images, [1][window][n_bins] for frames. */
DLSC_API dlsc_status dlsc_dataset_count(const dlsc_dataset_t *dataset, size_t *count);
DLSC_API dlsc_status dlsc_dataset_input_shape(const dlsc_dataset_t *dataset, dlsc_shape *shape);

/* Reorders the examples at random (dataset PRNG); batches then follow the new order. */
DLSC_API dlsc_status dlsc_dataset_shuffle(dlsc_dataset_t *dataset);

/* Examples first .. first+count-1 of the current order as a batch. The buffers belong
 * to the dataset and stay valid until its next call. augment != 0 applies the
 * augmentation (images). count 0 or past the end: DLSC_ERR_INVALID_ARGUMENT. */
DLSC_API dlsc_status dlsc_dataset_get_batch(dlsc_dataset_t *dataset, size_t first, size_t count,
                                            int augment, dlsc_batch *batch);

/* One epoch: shuffle, then train on batches of config.batch_size with augmentation
 * (a last short batch is dropped if it has fewer than 2 examples). On failure the
 * model is restored to its state before the call. batch_size > count:
 * DLSC_ERR_INVALID_ARGUMENT. The dataset must fit the model's shapes. */
DLSC_API dlsc_status dlsc_model_train_epoch(dlsc_model_t *model, dlsc_dataset_t *dataset,
                                            dlsc_train_stats *stats);

typedef struct dlsc_eval_stats {
  double loss;
  double accuracy;      /* cross-entropy only */
  size_t count;
} dlsc_eval_stats;

/* Loss (and accuracy) over the whole dataset in its stored order, no augmentation.
 * confusion (optional, cross-entropy) gets n_classes * n_classes counts,
 * [true label][predicted label]. */
DLSC_API dlsc_status dlsc_model_evaluate(dlsc_model_t *model, dlsc_dataset_t *dataset,
                                         dlsc_eval_stats *stats, size_t *confusion);

/* ---------------------------------------------------------------- resuming training */

/* What a saved model lacks to resume training to the same bits: the optimizer's step
 * count and moments, lookahead's slow copy, the model's PRNG (dropout) and, with a
 * dataset, the dataset's PRNG and example order (shuffles, augmentation). The state is
 * tied to the weights it was saved with (their CRC-32). To resume: load the model saved
 * alongside (dlsc_model_load), set the same training config, layer and tensor rate
 * scales and frozen layers, rebuild the dataset with the same seed, examples, task and
 * augmentation, then load the state; the run goes on as if never stopped. dataset may
 * be NULL (loops of dlsc_model_train_batch). Format: docs/model-format.md. With buffer
 * NULL, *size gets the bytes needed. */
DLSC_API dlsc_status dlsc_training_state_save(const dlsc_model_t *model,
                                              const dlsc_dataset_t *dataset, void *buffer,
                                              size_t capacity, size_t *size);
/* Rejects any malformed buffer with a status, never reading outside it. A state of other
 * weights or parameter counts, another optimizer kind, with lookahead's copy for a model
 * without lookahead, or of a dataset with another number of examples:
 * DLSC_ERR_SHAPE_MISMATCH; saved with a dataset and loaded without, or the reverse:
 * DLSC_ERR_INVALID_ARGUMENT. On failure model and dataset train on as before the call. */
DLSC_API dlsc_status dlsc_training_state_load(dlsc_model_t *model, dlsc_dataset_t *dataset,
                                              const void *buffer, size_t size);
/* File wrappers; save_file replaces path atomically, and both refuse what
 * dlsc_model_save_file and dlsc_model_load_file refuse, errno set alike. */
DLSC_API dlsc_status dlsc_training_state_save_file(const dlsc_model_t *model,
                                                   const dlsc_dataset_t *dataset,
                                                   const char *path);
DLSC_API dlsc_status dlsc_training_state_load_file(dlsc_model_t *model, dlsc_dataset_t *dataset,
                                                   const char *path);

/* ---------------------------------------------------------------- denoising */

/* How a model denoises: the STFT it was trained with, its context window, and
 * whether its output is a mask on the noisy magnitude (else the magnitude itself).
 * Stored in the model file. The model's input must be [1][window][n_bins] and its
 * output [n_bins] (any shape of n_bins elements). */
typedef struct dlsc_denoise_config {
  size_t struct_size;
  size_t n_fft, hop_length; /* 1024, 512 */
  dlsc_window window;       /* Hann */
  size_t context_before, context_after; /* 0, 0 */
  int mask;                 /* 1 */
} dlsc_denoise_config;

DLSC_API dlsc_status dlsc_denoise_config_init_(dlsc_denoise_config *config, size_t struct_size);
#define dlsc_denoise_config_init(config) dlsc_denoise_config_init_((config), sizeof *(config))
/* Refused, the settings in force kept: more than 64 frames of context a side or mask
 * other than 0 or 1 (DLSC_ERR_INVALID_ARGUMENT); an n_fft, hop and window that
 * dlsc_stft_create refuses (its status); a model not [1][window][n_bins] in, n_bins out
 * (DLSC_ERR_SHAPE_MISMATCH). */
DLSC_API dlsc_status dlsc_model_set_denoise(dlsc_model_t *model, const dlsc_denoise_config *config);
/* DLSC_ERR_NOT_FOUND if the model was not configured for denoising. */
DLSC_API dlsc_status dlsc_model_get_denoise(const dlsc_model_t *model, dlsc_denoise_config *config);
/* An STFT with the model's n_fft, hop and window, ready for dlsc_denoise; the caller
 * destroys it. DLSC_ERR_NOT_FOUND if the model was not configured for denoising. */
DLSC_API dlsc_status dlsc_stft_create_for_model(const dlsc_model_t *model, dlsc_stft_t **stft);

/* Whole signal: n_samples noisy samples -> n_samples denoised ones (out may not alias
 * noisy). The STFT must have the model's n_fft, hop and window. Samples out of range
 * (DLSC_SAMPLE_LIMIT): DLSC_ERR_NUMERIC. A bin whose model output is not finite, or
 * would take the bin beyond DLSC_SPECTRUM_LIMIT, is muted, so the output is finite.
 * The memory does not grow with n_samples (the signal runs through a stream's engine):
 * the model's workspace for up to 256 frames per model call (fewer where that would pass
 * 16 MiB; dlsc_model_memory with count 256), kept after the first call, and buffers of
 * a few hundred frames for the call, the same for a second of audio as for an hour. */
DLSC_API dlsc_status dlsc_denoise(dlsc_model_t *model, dlsc_stft_t *stft, const float *noisy,
                                  size_t n_samples, float *out);
/* The gains dlsc_denoise applies, for callers who resynthesise themselves: magnitude
 * holds n_frames noisy frames [n_frames][n_bins] (dlsc_stft_forward with the model's
 * STFT); gains gets [n_frames][n_bins], the factor that multiplies each noisy bin: the
 * mask, or |X| / |Y| for a magnitude model (0 where |Y| is 0 or so small that the ratio
 * overflows), 0 for a bin dlsc_denoise mutes, then raised by the attenuation limit
 * (below); frames outside the n_frames are zeros, as in dlsc_denoise. The noisy complex
 * spectrum times gains, through dlsc_stft_inverse_complex, is dlsc_denoise's output to
 * 1e-6 of the peak, 5e-5 for a hop beyond n_fft / 2 (but for a magnitude model's bins
 * where that ratio is 0: dlsc_denoise gives them |X| at phase 0). gains may be magnitude
 * (in place). Magnitudes out of range (non-finite, beyond DLSC_SPECTRUM_LIMIT):
 * DLSC_ERR_NUMERIC, negative ones DLSC_ERR_INVALID_ARGUMENT, gains untouched. */
DLSC_API dlsc_status dlsc_denoise_gains(dlsc_model_t *model, const float *magnitude,
                                        size_t n_frames, float *gains);

/* The attenuation limit: at most db decibels taken off any bin (db >= 0; INFINITY, the
 * default, is no limit). Each gain g becomes l + (1 - l) g, l = 10^(-db / 20), so the
 * output is l times the noisy signal plus 1 - l times the unlimited output (to the STFT's
 * round-trip error): a bin the model silences keeps l of its noise, 0 dB passes the input
 * through, and less noise removed buys less speech distortion. It applies to dlsc_denoise,
 * dlsc_denoise_gains and the streams created from the model afterwards; dlsc_model_clone
 * copies it, the model file does not keep it (a loaded model has no limit). NaN or
 * negative: DLSC_ERR_INVALID_ARGUMENT, the limit unchanged. */
DLSC_API dlsc_status dlsc_model_set_attenuation_limit(dlsc_model_t *model, double db);
DLSC_API dlsc_status dlsc_model_get_attenuation_limit(const dlsc_model_t *model, double *db);

/* Streaming: push chunks of any size, get the same number of samples back, delayed by
 * a fixed latency of n_fft - 1 + context_after * hop samples (zeros come out first).
 * After the last chunk, flush emits the remaining latency samples. The concatenated
 * output minus its first latency samples equals dlsc_denoise's result to 1e-6 of the
 * larger of 1 and its peak, for samples in [-1, 1] (the products are blocked
 * differently for one frame and for many; far louder input shows it more); 5e-5 for a
 * hop beyond n_fft / 2, whose overlap-add amplifies those last bits, as in the STFT.
 * The stream keeps its own copy of the model's weights and an inference workspace for
 * up to 64 frames, fewer where that would pass 16 MiB (wide models). create takes all
 * the memory: process (any chunk size), flush, reset and set_attenuation_limit never
 * call the allocator, at any rate, so a real-time audio thread may call them (the
 * matrix products run in the BLAS library, outside that count). */
typedef struct dlsc_stream dlsc_stream_t;

DLSC_API dlsc_status dlsc_stream_create(const dlsc_model_t *model, dlsc_stream_t **stream);
/* A stream whose samples, in and out, run at rate Hz for a model trained at model_rate
 * Hz (each 1 .. 1,000,000; dlsc-denoise reads the model's rate from its metadata
 * "dlsc.sample_rate", 16000 when unset): a host's audio at 48 or 44.1 kHz, n samples in,
 * n out, as above. Inside, a dlsc_resampler_t takes the input to model_rate, the stream
 * runs, its latency's silence is dropped and a second resampler takes the result back,
 * so the output minus its first latency samples equals the whole-signal path,
 * dlsc_resample, dlsc_denoise and dlsc_resample back, to the bounds above; latency (in
 * samples at rate) is the stream's, rescaled, plus the resamplers' reach (for the
 * general model at 48 kHz: 4,811 samples, 100.2 ms). Besides the stream's memory it
 * holds two resamplers (see dlsc_resampler_t) and buffers of a few times latency
 * samples. Equal rates: dlsc_stream_create. */
DLSC_API dlsc_status dlsc_stream_create_at_rate(const dlsc_model_t *model, unsigned model_rate,
                                                unsigned rate, dlsc_stream_t **stream);
DLSC_API void dlsc_stream_destroy(dlsc_stream_t *stream);
DLSC_API dlsc_status dlsc_stream_latency(const dlsc_stream_t *stream, size_t *samples);
/* n_samples in, n_samples out; out may be in (in place: the same output, bit for bit). A
 * chunk with a sample out of range (NaN, infinity, beyond DLSC_SAMPLE_LIMIT):
 * DLSC_ERR_NUMERIC, nothing consumed or written. */
DLSC_API dlsc_status dlsc_stream_process(dlsc_stream_t *stream, const float *in, size_t n_samples,
                                         float *out);
/* Writes exactly latency samples to out, then resets the stream for a new signal. */
DLSC_API dlsc_status dlsc_stream_flush(dlsc_stream_t *stream, float *out);
DLSC_API dlsc_status dlsc_stream_reset(dlsc_stream_t *stream);
/* Changes the stream's attenuation limit (it starts with its model's; see
 * dlsc_model_set_attenuation_limit) between chunks, for a host's "amount" control: the
 * output for the samples pushed after the call has the new limit, the output returned
 * before the call had the old, and the samples in flight (pushed before the call, not
 * yet returned) cross-fade from one to the other. Same refusals; reset and flush keep
 * the stream's limit, and later changes to the model's do not touch it. */
DLSC_API dlsc_status dlsc_stream_set_attenuation_limit(dlsc_stream_t *stream, double db);

/* ------------------------------------------------- metrics, mixing, resampling */

/* 10 log10(|ref|^2 / |ref - est|^2) in dB; +INFINITY for a perfect estimate.
 * A silent reference or a non-finite sample: DLSC_ERR_NUMERIC. */
DLSC_API dlsc_status dlsc_snr(const float *reference, const float *estimate, size_t n_samples,
                              double *snr_db);
/* Scale-invariant SDR (Le Roux et al. 2019), in dB: the estimate's projection on the
 * reference against the rest; +INFINITY for an estimate proportional to the reference.
 * A silent reference, an estimate with nothing along the reference (silent, or
 * orthogonal to it: minus infinity) or a non-finite sample: DLSC_ERR_NUMERIC. */
DLSC_API dlsc_status dlsc_si_sdr(const float *reference, const float *estimate, size_t n_samples,
                                 double *si_sdr_db);
/* mix = clean + g * noise, g chosen so that the whole signal has snr_db. The noise is
 * read from noise_offset (modulo n_noise) on, looping, so it may be shorter or longer
 * than clean. A silent clean or noise, samples out of range, or a mix that would pass
 * DLSC_SAMPLE_LIMIT: DLSC_ERR_NUMERIC, mix untouched. mix may be clean (in place). */
DLSC_API dlsc_status dlsc_mix_at_snr(const float *clean, size_t n_samples, const float *noise,
                                     size_t n_noise, size_t noise_offset, double snr_db,
                                     float *mix);
/* Resamples a whole signal from rate_in to rate_out Hz (each 1 .. 1,000,000): output
 * sample j is the band-limited input at time j / rate_out, for every such time inside
 * the input, so *n_out = ceil(n_in * rate_out / rate_in). Kaiser-windowed sinc of 32
 * zero crossings each side, cut off at 0.94 of the lower Nyquist rate (content above it
 * is removed, none aliases); equal rates copy. With out NULL only *n_out is set; a
 * smaller out_capacity: DLSC_ERR_BUFFER_TOO_SMALL, *n_out set to the size needed;
 * input out of range (non-finite, beyond DLSC_SAMPLE_LIMIT): DLSC_ERR_NUMERIC (out and
 * *n_out untouched). out may not overlap in. */
DLSC_API dlsc_status dlsc_resample(const float *in, size_t n_in, unsigned rate_in,
                                   unsigned rate_out, float *out, size_t out_capacity,
                                   size_t *n_out);

/* Streaming resampling, for a host whose audio runs at another rate than a model's:
 * push chunks of any size (0 too, in NULL then) and get back the outputs the inputs so
 * far complete; after the last chunk, flush writes the rest and resets the handle for a
 * new signal.
 * The outputs of all the calls, concatenated, are dlsc_resample's for the concatenated
 * input, bit for bit. An output waits for the inputs up to 32 / c input samples past
 * its own time, c = 0.94 min(1, rate_out / rate_in) (34.0 from 16 kHz up, 102.1 from
 * 48 kHz down to 16), so a call may return fewer outputs than its share of the chunk;
 * equal rates copy, with no wait. create takes the rates dlsc_resample takes (else
 * DLSC_ERR_INVALID_ARGUMENT, *resampler NULL); the handle holds the coefficients of
 * each phase for rate pairs of few phases (up to 512 KiB; 48 -> 16 kHz: 896 bytes) and
 * the kernel's table (64 KiB) unless those need few of its entries (48 <-> 16 kHz).
 * out may not overlap in. *n_out gets the count the call writes, or would write: with
 * out NULL that is all (nothing is consumed), and it is set on the two refusals
 * below too; a smaller out_capacity: DLSC_ERR_BUFFER_TOO_SMALL, a sample out of range:
 * DLSC_ERR_NUMERIC, both with nothing consumed. More than 2^43 input samples without a
 * flush or reset: DLSC_ERR_INVALID_ARGUMENT. A process call allocates only when its
 * chunk is larger than any before it on the handle (when downsampling by up to 960
 * times; beyond, the first samples grow the buffer too); if that fails,
 * DLSC_ERR_OUT_OF_MEMORY with nothing consumed and *n_out untouched. */
typedef struct dlsc_resampler dlsc_resampler_t;

DLSC_API dlsc_status dlsc_resampler_create(unsigned rate_in, unsigned rate_out,
                                           dlsc_resampler_t **resampler);
DLSC_API void dlsc_resampler_destroy(dlsc_resampler_t *resampler);
DLSC_API dlsc_status dlsc_resampler_process(dlsc_resampler_t *resampler, const float *in,
                                            size_t n_in, float *out, size_t out_capacity,
                                            size_t *n_out);
DLSC_API dlsc_status dlsc_resampler_flush(dlsc_resampler_t *resampler, float *out,
                                          size_t out_capacity, size_t *n_out);
DLSC_API dlsc_status dlsc_resampler_reset(dlsc_resampler_t *resampler);

#ifdef __cplusplus
}
#endif

#endif /* DLSC_H */
