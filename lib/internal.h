/* Internal declarations shared by the library's files; never installed. */
#ifndef DLSC_INTERNAL_H
#define DLSC_INTERNAL_H

#include "dlsc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DLSC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define DLSC_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Evaluate a status expression and return it from the caller when it failed. */
#define DLSC_TRY(expr)              \
  do {                              \
    dlsc_status try_status_ = (expr); \
    if (try_status_ != DLSC_OK)     \
      return try_status_;           \
  } while (0)

/* ---- allocation with overflow-checked sizes (NULL on overflow or failure) */
void *dlsc_alloc_floats(size_t count);  /* zeroed, 64-byte aligned */
/* The bytes dlsc_alloc_floats allocates for count floats; false if they overflow. */
bool dlsc_float_bytes(size_t count, size_t *bytes);
void *dlsc_alloc_array(size_t count, size_t element_size); /* zeroed */
bool dlsc_mul_overflows(size_t a, size_t b, size_t *product);

/* Copies a caller's config struct (whose first field is its struct_size) over the
 * library's defaults: an older, shorter struct keeps the newer fields at default. */
dlsc_status dlsc_import_config(void *dst, size_t dst_size, const void *src);

bool dlsc_all_finite(const float *values, size_t count);
/* Image bytes 0..255 as the library's pixels: byte / 255 correctly rounded, the float a
 * caller's (float)byte / 255.0f gives. */
void dlsc_bytes_to_unit(const uint8_t *bytes, size_t count, float *out);
/* Every value finite and within +-limit (DLSC_SAMPLE_LIMIT, DLSC_SPECTRUM_LIMIT). */
bool dlsc_all_within(const float *values, size_t count, float limit);
/* Sum of n floats in DLSC_SUM_LANES interleaved partial sums (x[i] into sum i % 16, the
 * rest after the last whole block into the total first, then the sums in order): the
 * loop vectorises, which one float sum cannot (the compiler may not reorder it), and
 * the result does not depend on the vector width. */
#define DLSC_SUM_LANES 16
float dlsc_sum_floats(const float *x, size_t n);

/* ---- resampling (resample.c) */
bool dlsc_resample_rates_valid(unsigned rate_in, unsigned rate_out);
/* How far the kernel reaches either side of an output, in input samples: an output
 * waits for the inputs up to this far past its own time. */
double dlsc_resample_reach(unsigned rate_in, unsigned rate_out);
/* Room for chunks of up to max_chunk inputs, so that process never allocates for them
 * (a stream's resamplers, for real-time hosts). */
dlsc_status dlsc_resampler_reserve(dlsc_resampler_t *resampler, size_t max_chunk);
/* dlsc_resampler_process with another bound on the samples: a stream's chain resamples
 * its engine's output, finite but not held to DLSC_SAMPLE_LIMIT (FLT_MAX / 8 keeps the
 * kernel's sums finite). */
dlsc_status dlsc_resampler_run(dlsc_resampler_t *resampler, const float *in, size_t n_in,
                               float *out, size_t out_capacity, size_t *n_out, float limit);
/* dst = (1 - weight) dst + weight src */
void dlsc_blend_floats(float *dst, const float *src, size_t count, float weight);

/* ---- PCG32 (O'Neill), one per handle */
typedef struct dlsc_rng {
  uint64_t state, increment;
} dlsc_rng;

void dlsc_rng_seed(dlsc_rng *rng, uint64_t seed, uint64_t stream);
uint32_t dlsc_rng_u32(dlsc_rng *rng);
uint32_t dlsc_rng_below(dlsc_rng *rng, uint32_t bound); /* uniform in [0, bound) */
float dlsc_rng_uniform(dlsc_rng *rng);                   /* uniform in [0, 1) */
void dlsc_rng_permutation(dlsc_rng *rng, size_t *order, size_t count);

uint32_t dlsc_crc32(uint32_t crc, const void *data, size_t size);

/* ---- layers: one file per kind under lib/nn, forward and backward side by side */

typedef struct dlsc_layer dlsc_layer;

/* What a forward/backward call may use besides its arguments. */
typedef struct dlsc_exec {
  bool training;      /* batch statistics, dropout */
  dlsc_rng *rng;      /* dropout masks */
  float *scratch;     /* shared temporary space of layer_ops.scratch_floats */
  bool relu_after;    /* batch-norm's output goes through the ReLU after it (which the
                         model then skips in forward): one pass instead of two */
} dlsc_exec;

typedef struct dlsc_layer_ops {
  const char *name; /* the spec word */
  /* Checks config against in-shape; sets out-shape and parameter counts. */
  dlsc_status (*setup)(dlsc_layer *layer);
  /* Initial weights (params) and statistics (stats). NULL: nothing to initialise. */
  void (*init)(dlsc_layer *layer, dlsc_rng *rng);
  /* Floats kept from forward to backward for a batch (saved statistics, masks). */
  size_t (*aux_floats)(const dlsc_layer *layer, size_t batch);
  /* Floats of temporary space during one call, shared by all layers. */
  size_t (*scratch_floats)(const dlsc_layer *layer, size_t batch);
  void (*forward)(dlsc_layer *layer, const float *x, float *y, size_t batch,
                  const dlsc_exec *exec);
  /* Writes the batch's parameter gradients into grads unless the layer is frozen, and
   * dx unless it is NULL. x and y are the forward's input and output. */
  void (*backward)(dlsc_layer *layer, const float *x, const float *y, const float *dy,
                   float *dx, size_t batch, const dlsc_exec *exec);
} dlsc_layer_ops;

struct dlsc_layer {
  const dlsc_layer_ops *ops;
  dlsc_layer_config config;
  dlsc_shape in, out;
  size_t in_size, out_size; /* floats per example */
  size_t n_params;          /* trainable floats: n_weights decayed ones, then the rest */
  size_t n_weights;
  size_t n_stats;           /* saved, not trained (batch-norm running averages) */
  float *params, *grads, *stats; /* views into the model's arrays */
  float *aux;               /* view into the model's forward-to-backward space */
  float lr_scale;
  float tensor_lr_scale[2]; /* weights (or gamma), biases (or beta) */
  bool frozen;
};

/* Floats of a layer's first tensor (weights, batch-norm's gamma); the biases follow. */
size_t dlsc_layer_first_tensor(const dlsc_layer *layer);

const dlsc_layer_ops *dlsc_layer_ops_for(dlsc_layer_kind kind);
/* Resets the fields config's kind does not read to their defaults; refuses sizes over
 * DLSC_MAX_LAYER_SIZE (the spec grammar's largest number) and a bias other than 0/1. */
#define DLSC_MAX_LAYER_SIZE ((size_t)1 << 30)
dlsc_status dlsc_layer_config_canonical(dlsc_layer_config *config);
const dlsc_layer_ops *dlsc_layer_ops_named(const char *name, dlsc_layer_kind *kind);

static inline size_t dlsc_shape_size(dlsc_shape shape) {
  return shape.channels * shape.height * shape.width;
}

/* Shared helpers of the layer files. */
void dlsc_init_uniform(float *values, size_t count, float limit, dlsc_rng *rng);
/* Output length of a sliding window, or 0 when it does not fit. */
size_t dlsc_window_output(size_t input, size_t kernel, size_t stride, size_t pad);

/* ---- the model */

/* What the model format holds (docs/model-format.md); a model never grows past them, so
 * every model saves to a file that loads. */
#define DLSC_MAX_LAYERS 4096u
#define DLSC_MAX_METADATA 4096u

typedef struct dlsc_meta_entry {
  char *key, *value;
} dlsc_meta_entry;

struct dlsc_model {
  dlsc_shape input;
  dlsc_layer *layers;
  size_t n_layers, layer_capacity;
  float *params, *grads, *stats;
  size_t n_params, n_stats;
  dlsc_rng rng;
  uint64_t seed;

  dlsc_train_config train;
  bool train_set;           /* set_training was called */
  float *moment1, *moment2; /* optimizer state, n_params each, allocated on first step */
  /* A step writes new parameters and moments into these and swaps them in only when
   * all are finite, so a diverging step leaves the model untouched. */
  float *spare_params, *spare_moment1, *spare_moment2;
  size_t step;

  /* Workspaces, sized for batch_capacity examples; acts[i] is layer i's output. In
   * inference only two alternating buffers exist. */
  size_t batch_capacity;
  bool workspace_training;
  float **acts;
  float *act_memory, *grad_memory[2], *aux_memory, *scratch;
  float *saved_stats; /* training: statistics before the batch, restored if it fails */
  size_t act_floats, grad_floats, aux_floats, scratch_floats;
  /* Snapshot for rolling back a failed epoch: parameters, statistics, moments. */
  float *backup;
  size_t backup_step;
  dlsc_rng backup_rng;
  /* Lookahead's slow copy (parameters, then statistics; allocated while lookahead is
   * on, valid once taken) and its snapshot for a failed epoch. */
  float *slow, *slow_backup;
  bool slow_taken, slow_backup_taken;

  dlsc_meta_entry *meta;
  size_t n_meta;
  bool has_denoise;
  dlsc_denoise_config denoise;
  double attenuation_limit_db; /* INFINITY: none; not saved */
};

void dlsc_model_bind(dlsc_model_t *model); /* re-points layer views at the arrays */
/* dlsc_model_add_layer, refusing (DLSC_ERR_SHAPE_MISMATCH) before it allocates a layer
 * whose parameters and statistics exceed max_floats: the loader's bound by the bytes left. */
dlsc_status dlsc_model_append_layer(dlsc_model_t *model, const dlsc_layer_config *config,
                                    size_t max_floats);
void dlsc_model_reset_optimizer(dlsc_model_t *model);
size_t dlsc_model_output_size(const dlsc_model_t *model);
/* log(sum_c exp(z[c])) without overflow, and in *best the first index of the largest
 * z (softmax cross-entropy and dlsc_model_classify share it). */
double dlsc_log_sum_exp(const float *z, size_t count, size_t *best);
bool dlsc_metadata_key_valid(const char *key);

/* The examples predict, classify and evaluate run at a time: big enough to feed GEMM,
 * small enough to keep workspaces modest (dlsc_model_memory counts on it). */
#define DLSC_INFERENCE_BATCH 256
/* Workspace for batch examples in training or inference mode. */
dlsc_status dlsc_model_reserve(dlsc_model_t *model, size_t batch, bool training);
/* The floats an inference workspace for batch examples takes (SIZE_MAX on overflow). */
size_t dlsc_model_inference_floats(const dlsc_model_t *model, size_t batch);
/* Forward pass of count examples; returns the output buffer (inside the workspace). */
const float *dlsc_model_forward(dlsc_model_t *model, const float *inputs, size_t count,
                                bool training);
/* The same from layer first on (inputs are layer first's inputs). */
const float *dlsc_model_forward_from(dlsc_model_t *model, size_t first, const float *inputs,
                                     size_t count, bool training);
/* Layers first .. end-1 only; with first == end, inputs itself. */
const float *dlsc_model_forward_range(dlsc_model_t *model, size_t first, size_t end,
                                      const float *inputs, size_t count, bool training);
/* The leading layers that, in inference, compute each row of a one-channel input
 * alike and alone (element-wise, one-channel batch-norm, 1-high pooling); their
 * output row width goes to *row_width. A denoiser runs them once per frame. */
size_t dlsc_model_row_prefix(const dlsc_model_t *model, size_t *row_width);
/* Runs those n_prefix layers in inference on n_rows input rows of input.width each;
 * n_rows may be up to the reserved batch times the input height. */
const float *dlsc_model_forward_rows(dlsc_model_t *model, size_t n_prefix, const float *rows,
                                     size_t n_rows);
/* Backward pass from the gradient of the loss w.r.t. the outputs. */
void dlsc_model_backward(dlsc_model_t *model, const float *inputs, const float *doutput,
                         size_t count);
/* Loss and its gradient (written to doutput) for a forward output; *correct counts
 * arg-max hits for cross-entropy. */
dlsc_status dlsc_loss_compute(const dlsc_train_config *config, const float *output,
                              size_t count, size_t output_size, const dlsc_batch *batch,
                              float *doutput, double *loss, size_t *correct);
/* The optimizer step over all trainable parameters: DLSC_ERR_NUMERIC, with nothing
 * changed, if a gradient or a new weight is not finite. */
dlsc_status dlsc_optimizer_step(dlsc_model_t *model);
float dlsc_schedule_rate(const dlsc_train_config *config, size_t step);

/* The optimizer's arrays (moments, spares; a fresh start at step 0 when they were
 * missing) and lookahead's slow copy when lookahead is on. */
dlsc_status dlsc_model_ensure_optimizer(dlsc_model_t *model);
/* Snapshot / restore of everything a training call changes. */
dlsc_status dlsc_model_snapshot(dlsc_model_t *model);
void dlsc_model_restore(dlsc_model_t *model);

/* Checks that a batch fits the model and its loss. */
dlsc_status dlsc_batch_check(const dlsc_model_t *model, const dlsc_batch *batch);

/* Dataset internals used by training: examples in stored order (ordered = false) or
 * in the shuffled order, and the state an epoch saves and restores. */
dlsc_status dlsc_dataset_fill(dlsc_dataset_t *dataset, size_t first, size_t count, bool ordered,
                              bool augment, dlsc_batch *batch);
size_t dlsc_dataset_label_count(const dlsc_dataset_t *dataset); /* 0: no labels */
size_t dlsc_dataset_target_size(const dlsc_dataset_t *dataset); /* 0: no targets */
dlsc_status dlsc_dataset_save_order(const dlsc_dataset_t *dataset, void **state);
void dlsc_dataset_restore_order(dlsc_dataset_t *dataset, void *state); /* frees state */

/* What a training checkpoint keeps of a dataset (dlsc_training_state_*). */
typedef struct dlsc_dataset_state {
  dlsc_rng rng;
  bool flip_phase;
  size_t n_examples;
  const size_t *order; /* NULL: the stored order (no shuffle since the examples changed) */
} dlsc_dataset_state;
void dlsc_dataset_get_state(const dlsc_dataset_t *dataset, dlsc_dataset_state *state);
/* n_examples must be the dataset's (else SHAPE_MISMATCH), order NULL or a permutation
 * of them (else BAD_FORMAT); the dataset is unchanged on failure. */
dlsc_status dlsc_dataset_set_state(dlsc_dataset_t *dataset, const dlsc_dataset_state *state);

#endif
