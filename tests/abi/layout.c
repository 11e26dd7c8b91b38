/* The public header's binary layout, as this soname promises it (LP64): offsets and sizes
 * of every struct field, the sizes of the structs passed by value or in arrays, and the
 * value of every enum constant. Programs compiled against an earlier header pass these
 * structs and constants to the library, so none of them may change within a soname.
 * Config structs (those with struct_size) may grow at their end: GROWS checks their
 * size only from below. A new field or constant is appended here when it is released.
 * Exit 0: all as listed; 1: a difference, printed; 77: not an LP64 target. */
#include <stddef.h>
#include <stdio.h>

#include "dlsc.h"

typedef struct item {
  const char *name;
  long long actual, expected;
  int at_least; /* 1: actual >= expected passes */
} item;

#define FIELD(type, field, offset, size)                                               \
  {#type "." #field " offset", (long long)offsetof(type, field), offset, 0},                      \
      {#type "." #field " size", (long long)sizeof(((type *)0)->field), size, 0}
#define SIZE(type, size) {"sizeof(" #type ")", (long long)sizeof(type), size, 0}
#define GROWS(type, size) {"sizeof(" #type ")", (long long)sizeof(type), size, 1}
#define VALUE(constant, value) {#constant, (long long)(constant), value, 0}

#if defined(__LP64__) || defined(_LP64)
static const item items[] = {
  GROWS(dlsc_stft_config, 32),
  FIELD(dlsc_stft_config, struct_size, 0, 8),
  FIELD(dlsc_stft_config, n_fft, 8, 8),
  FIELD(dlsc_stft_config, hop_length, 16, 8),
  FIELD(dlsc_stft_config, window, 24, 4),

  SIZE(dlsc_shape, 24),
  FIELD(dlsc_shape, channels, 0, 8),
  FIELD(dlsc_shape, height, 8, 8),
  FIELD(dlsc_shape, width, 16, 8),

  GROWS(dlsc_layer_config, 88),
  FIELD(dlsc_layer_config, struct_size, 0, 8),
  FIELD(dlsc_layer_config, kind, 8, 4),
  FIELD(dlsc_layer_config, units, 16, 8),
  FIELD(dlsc_layer_config, kernel_h, 24, 8),
  FIELD(dlsc_layer_config, kernel_w, 32, 8),
  FIELD(dlsc_layer_config, stride_h, 40, 8),
  FIELD(dlsc_layer_config, stride_w, 48, 8),
  FIELD(dlsc_layer_config, pad_h, 56, 8),
  FIELD(dlsc_layer_config, pad_w, 64, 8),
  FIELD(dlsc_layer_config, bias, 72, 4),
  FIELD(dlsc_layer_config, rate, 76, 4),
  FIELD(dlsc_layer_config, epsilon, 80, 4),
  FIELD(dlsc_layer_config, momentum, 84, 4),

  SIZE(dlsc_model_info, 64),
  FIELD(dlsc_model_info, n_layers, 0, 8),
  FIELD(dlsc_model_info, input, 8, 24),
  FIELD(dlsc_model_info, output, 32, 24),
  FIELD(dlsc_model_info, n_parameters, 56, 8),

  SIZE(dlsc_train_stats, 24),
  FIELD(dlsc_train_stats, loss, 0, 8),
  FIELD(dlsc_train_stats, correct, 8, 8),
  FIELD(dlsc_train_stats, count, 16, 8),

  GROWS(dlsc_train_config, 128),
  FIELD(dlsc_train_config, struct_size, 0, 8),
  FIELD(dlsc_train_config, optimizer, 8, 4),
  FIELD(dlsc_train_config, loss, 12, 4),
  FIELD(dlsc_train_config, learning_rate, 16, 4),
  FIELD(dlsc_train_config, momentum, 20, 4),
  FIELD(dlsc_train_config, nesterov, 24, 4),
  FIELD(dlsc_train_config, beta1, 28, 4),
  FIELD(dlsc_train_config, beta2, 32, 4),
  FIELD(dlsc_train_config, adam_epsilon, 36, 4),
  FIELD(dlsc_train_config, weight_decay, 40, 4),
  FIELD(dlsc_train_config, label_smoothing, 44, 4),
  FIELD(dlsc_train_config, gradient_clip, 48, 4),
  FIELD(dlsc_train_config, schedule, 52, 4),
  FIELD(dlsc_train_config, warmup_steps, 56, 8),
  FIELD(dlsc_train_config, total_steps, 64, 8),
  FIELD(dlsc_train_config, batch_size, 72, 8),
  FIELD(dlsc_train_config, lookahead_every, 80, 8),
  FIELD(dlsc_train_config, lookahead_start, 88, 8),
  FIELD(dlsc_train_config, lookahead_rho, 96, 4),
  FIELD(dlsc_train_config, lookahead_ramp, 104, 8),
  FIELD(dlsc_train_config, progress, 112, 8),
  FIELD(dlsc_train_config, progress_user, 120, 8),

  SIZE(dlsc_batch, 40),
  FIELD(dlsc_batch, count, 0, 8),
  FIELD(dlsc_batch, inputs, 8, 8),
  FIELD(dlsc_batch, targets, 16, 8),
  FIELD(dlsc_batch, scales, 24, 8),
  FIELD(dlsc_batch, labels, 32, 8),

  GROWS(dlsc_frames_config, 40),
  FIELD(dlsc_frames_config, struct_size, 0, 8),
  FIELD(dlsc_frames_config, n_bins, 8, 8),
  FIELD(dlsc_frames_config, context_before, 16, 8),
  FIELD(dlsc_frames_config, context_after, 24, 8),
  FIELD(dlsc_frames_config, target, 32, 4),

  GROWS(dlsc_images_config, 40),
  FIELD(dlsc_images_config, struct_size, 0, 8),
  FIELD(dlsc_images_config, channels, 8, 8),
  FIELD(dlsc_images_config, height, 16, 8),
  FIELD(dlsc_images_config, width, 24, 8),
  FIELD(dlsc_images_config, n_classes, 32, 8),

  GROWS(dlsc_augment_config, 48),
  FIELD(dlsc_augment_config, struct_size, 0, 8),
  FIELD(dlsc_augment_config, brightness, 8, 4),
  FIELD(dlsc_augment_config, contrast, 12, 4),
  FIELD(dlsc_augment_config, horizontal_flip, 16, 4),
  FIELD(dlsc_augment_config, rotate90, 20, 4),
  FIELD(dlsc_augment_config, crop_padding, 24, 8),
  FIELD(dlsc_augment_config, cutout, 32, 8),
  FIELD(dlsc_augment_config, crop_reflect, 40, 4),

  SIZE(dlsc_eval_stats, 24),
  FIELD(dlsc_eval_stats, loss, 0, 8),
  FIELD(dlsc_eval_stats, accuracy, 8, 8),
  FIELD(dlsc_eval_stats, count, 16, 8),

  GROWS(dlsc_denoise_config, 56),
  FIELD(dlsc_denoise_config, struct_size, 0, 8),
  FIELD(dlsc_denoise_config, n_fft, 8, 8),
  FIELD(dlsc_denoise_config, hop_length, 16, 8),
  FIELD(dlsc_denoise_config, window, 24, 4),
  FIELD(dlsc_denoise_config, context_before, 32, 8),
  FIELD(dlsc_denoise_config, context_after, 40, 8),
  FIELD(dlsc_denoise_config, mask, 48, 4),
  VALUE(DLSC_OK, 0),
  VALUE(DLSC_ERR_INVALID_ARGUMENT, -1),
  VALUE(DLSC_ERR_OUT_OF_MEMORY, -2),
  VALUE(DLSC_ERR_SHAPE_MISMATCH, -3),
  VALUE(DLSC_ERR_BAD_FORMAT, -4),
  VALUE(DLSC_ERR_VERSION, -5),
  VALUE(DLSC_ERR_CHECKSUM, -6),
  VALUE(DLSC_ERR_NUMERIC, -7),
  VALUE(DLSC_ERR_UNSUPPORTED, -8),
  VALUE(DLSC_ERR_IO, -9),
  VALUE(DLSC_ERR_BUFFER_TOO_SMALL, -10),
  VALUE(DLSC_ERR_NOT_FOUND, -11),
  VALUE(DLSC_ERR_CANCELLED, -12),
  VALUE(DLSC_WINDOW_HANN, 0),
  VALUE(DLSC_WINDOW_HAMMING, 1),
  VALUE(DLSC_WINDOW_SQRT_HANN, 2),
  VALUE(DLSC_WINDOW_RECTANGULAR, 3),
  VALUE(DLSC_LAYER_DENSE, 1),
  VALUE(DLSC_LAYER_CONV2D, 2),
  VALUE(DLSC_LAYER_CONV1D, 3),
  VALUE(DLSC_LAYER_MAXPOOL, 4),
  VALUE(DLSC_LAYER_AVGPOOL, 5),
  VALUE(DLSC_LAYER_GLOBAL_AVGPOOL, 6),
  VALUE(DLSC_LAYER_BATCHNORM, 7),
  VALUE(DLSC_LAYER_DROPOUT, 8),
  VALUE(DLSC_LAYER_RELU, 9),
  VALUE(DLSC_LAYER_GELU, 10),
  VALUE(DLSC_LAYER_SIGMOID, 11),
  VALUE(DLSC_LAYER_TANH, 12),
  VALUE(DLSC_LAYER_SOFTPLUS, 13),
  VALUE(DLSC_LAYER_LOG, 14),
  VALUE(DLSC_OPTIMIZER_ADAM, 0),
  VALUE(DLSC_OPTIMIZER_SGD, 1),
  VALUE(DLSC_LOSS_MSE, 0),
  VALUE(DLSC_LOSS_MASK_MSE, 1),
  VALUE(DLSC_LOSS_CROSS_ENTROPY, 2),
  VALUE(DLSC_SCHEDULE_CONSTANT, 0),
  VALUE(DLSC_SCHEDULE_COSINE, 1),
  VALUE(DLSC_SCHEDULE_LINEAR, 2),
  VALUE(DLSC_TENSOR_WEIGHTS, 0),
  VALUE(DLSC_TENSOR_BIASES, 1),
  VALUE(DLSC_TARGET_MAGNITUDE, 0),
  VALUE(DLSC_TARGET_PHASE_SENSITIVE, 1),
  VALUE(DLSC_TASK_CLASSES, 0),
  VALUE(DLSC_TASK_FLIP_ROTATE3, 1),
  VALUE(DLSC_TASK_ROTATE4, 2),
  VALUE(DLSC_FLIP_NONE, 0),
  VALUE(DLSC_FLIP_RANDOM, 1),
  VALUE(DLSC_FLIP_ALTERNATE, 2),
};
#endif

int main(void) {
#if defined(__LP64__) || defined(_LP64)
  size_t n_wrong = 0;
  for (size_t i = 0; i < sizeof items / sizeof *items; i++) {
    const item *it = &items[i];
    if (it->at_least ? it->actual >= it->expected : it->actual == it->expected) continue;
    printf("%s: %lld, promised %s%lld\n", it->name, it->actual, it->at_least ? ">= " : "",
           it->expected);
    n_wrong++;
  }
  printf("%zu of %zu layout items differ from the promised layout\n", n_wrong,
         sizeof items / sizeof *items);
  return n_wrong ? 1 : 0;
#else
  puts("not an LP64 target: skipped");
  return 77;
#endif
}
