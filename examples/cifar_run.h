/* Training and evaluation steps shared by dlsc-cifar-train and dlsc-cifar-transfer. */
#ifndef DLSC_EXAMPLE_CIFAR_RUN_H
#define DLSC_EXAMPLE_CIFAR_RUN_H

#include <stdio.h>

#include "cifar.h"
#include "dlsc.h"

/* Backbone specs by name; the head ("dense 10", or the pretext's classes) is added by
 * classifier_spec. */
typedef struct arch {
  const char *name, *backbone, *about;
} arch;

const arch *find_arch(const char *name);
void list_archs(FILE *out);
size_t backbone_layers(const arch *a); /* what transfer copies */
/* "backbone; dense classes" in spec (size bytes). */
void classifier_spec(const arch *a, size_t classes, char *spec, size_t size);

/* Augmentation presets: none, original (the dataset expanded with x1.1, x0.9 and
 * mirrored copies, as the original project did), flip-crop, strong, airbench
 * (alternating mirror, 2-pixel shifts with the border reflected). Returns -1 for an
 * unknown name. */
int augment_preset(const char *name, dlsc_augment_config *config, int *expand_original);
/* The original project's expansion: each image, brighter (x1.1), darker (x0.9),
 * mirrored. */
void expand_original(cifar_set *set);

dlsc_dataset_t *image_dataset(const cifar_set *set, int labeled, uint64_t seed);

typedef struct schedule_options {
  int epochs;
  size_t batch;
  float rate, weight_decay, smoothing, momentum;
  dlsc_optimizer optimizer;
  int warmup_epochs;
  int lookahead; /* airbench's lookahead (an average the weights return to), 0 = off */
  /* After each epoch: PREFIX.dlsc (the weights, with the epoch and the best validation
   * accuracy in its metadata), PREFIX.state (dlsc_training_state) and, when validation
   * improves, PREFIX.best.dlsc. With resume, training goes on from them. */
  const char *checkpoint;
  int resume;
  const char *settings; /* with checkpoint: what decides the run (checkpoint_save) */
} schedule_options;

void train_config_for(dlsc_train_config *config, const schedule_options *s, size_t examples);

/* Trains model on train for s->epochs, evaluating on validation after each epoch;
 * keeps the weights of the best validation epoch in model and returns its accuracy
 * (validation NULL: the last epoch's weights, -1). Prints progress lines tagged with
 * run, appends "run,epoch,loss,train_acc,val_acc,seconds" rows to csv. With
 * s->checkpoint, saves a checkpoint after each epoch; with s->resume, first continues
 * from one (the same model, train set and settings: bit for bit the run it stopped). */
double train_and_select(dlsc_model_t *model, dlsc_dataset_t *train, dlsc_dataset_t *validation,
                        const schedule_options *s, const char *run, FILE *csv);

/* airbench's identity initialisation: in every convolution with an odd square kernel
 * larger than 1, the first min(filters, input channels) filters pass their own input
 * channel through (centre tap 1, the rest 0). */
void dirac_init(dlsc_model_t *model);

/* airbench's rates: every batch-norm layer's gamma held at 1 (fixed_scale) and its beta
 * trained at bias_rate times the rate; the last layer's outputs scaled by logit_scale,
 * as its weights and bias times logit_scale trained at logit_scale^2 times the rate
 * (the same training, in the model's own layers). */
void airbench_rates(dlsc_model_t *model, int fixed_scale, float bias_rate, float logit_scale);

/* Makes the model's first layer a patch-whitening convolution estimated from the
 * first count images of set, frozen (airbench's first layer; arch "air"). */
void whiten_first_layer(dlsc_model_t *model, const cifar_set *set, size_t count);

/* Logits (set->count x 10) of model on set's images. Test-time augmentation: tta 0
 * none, 1 the mean with the mirror's, 2 (airbench's) half that mean and a quarter each
 * the same mean on the image shifted one pixel up-left and down-right (reflected). */
void predict_logits(dlsc_model_t *model, const cifar_set *set, int tta, float *logits);
size_t argmax10(const float *logits);

/* Appends to out, for each class, the per_class images of pool that model assigns to it
 * with the highest softmax probability (logits with predict_logits' tta), labeled with
 * model's prediction; returns how many of those agree with pool's own labels (a
 * diagnostic of pseudo-label quality: pool's labels are never trained on). */
size_t pseudo_label(dlsc_model_t *model, const cifar_set *pool, size_t per_class, int tta,
                    cifar_set *out);

/* Accuracy of model on set (labels known), with predict_logits' tta; confusion
 * (optional) gets 10 x 10 counts [true][predicted]. */
double accuracy(dlsc_model_t *model, const cifar_set *set, int tta, size_t *confusion);

int write_confusion(FILE *out, const char *path, const size_t *confusion);
void store_class_names(dlsc_model_t *model);

#endif
