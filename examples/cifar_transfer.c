/* dlsc-cifar-transfer: self-supervised pre-training, then few-label classification.
 *
 *   dlsc-cifar-transfer [--arch tiny|mid|wide] [--pretext rot3|rot4] [--labels 500] ...
 *
 * As in the original project: a class-balanced draw of 500 labeled training images
 * (seeded) and the other 49,500 of the 50,000 training images unlabeled.
 *  1. pretext: the backbone with a small head learns which transform was applied to
 *     unlabeled images: {identity, vertical flip, 90-degree turn} (rot3, the original's)
 *     or the four quarter turns (rot4);
 *  2. probe: a classifier with the pretext backbone, frozen, and a new head trained on
 *     the labeled images (the linear-probe accuracy of the features);
 *  3. fine-tune: all layers, the backbone at a smaller learning rate (per layer, decaying
 *     towards the input with --layer-decay);
 *  4. self-training (--self-train R): R rounds in which the model labels the unlabeled
 *     images, the ones it is surest of (a fixed count per class) join the labeled set,
 *     and all layers train on both (at the head's rate unless --self-backbone-lr).
 * Epochs are chosen on the 5,000 validation images; the test accuracy is reported once.
 */
#include <stdlib.h>
#include <string.h>

#include "cifar_run.h"
#include "example_util.h"

static void usage(void) {
  fprintf(stderr, "usage: dlsc-cifar-transfer [options]\n  --arch NAME          backbone:\n");
  list_archs(stderr);
  fprintf(stderr,
          "  --pretext rot3|rot4    pretext task (default rot3, the original's)\n"
          "  --labels N             labeled images, balanced over classes (default 500)\n"
          "  --pretext-epochs N     (default 15)  --probe-epochs N (default 30)\n"
          "  --finetune-epochs N    (default 30)\n"
          "  --backbone-lr X        fine-tuning rate of the backbone's top layer with\n"
          "                         weights, relative to the head (default 0.1)\n"
          "  --layer-decay X        further factor per backbone layer with weights (dense,\n"
          "                         convolution, batch-norm) towards the input (default 1:\n"
          "                         one rate for the whole backbone)\n"
          "  --augment NAME         for the labeled stages (default flip-crop)\n"
          "  --lr X                 head learning rate, SGD Nesterov (default 0.05)\n"
          "  --batch N              (default 128)  --seed N (default 1)\n"
          "  --save-pretext FILE    keep the pretext model\n"
          "  --pretext-all          pre-train on all 50,000 training images (labeled ones\n"
          "                         included, labels unused) instead of the other 49,500\n"
          "  --unlabeled N          pre-train and self-train on only the first N of the\n"
          "                         45,000 - labels unlabeled training images (default all;\n"
          "                         the validation images' pixels join the pretext set)\n"
          "  --pretext-only         stop after stage 1 (needs --save-pretext or --checkpoint)\n"
          "  --load-pretext FILE    skip stage 1 and start from this pretext model (its\n"
          "                         backbone must be --arch's)\n"
          "  --checkpoint P         stage 1 writes P.dlsc, P.state and P.best.dlsc after each\n"
          "                         epoch; --resume goes on from them (the same options:\n"
          "                         the same result bit for bit; other options of stage 1\n"
          "                         are refused, those of the later stages taken)\n"
          "  --self-train R         rounds of self-training after fine-tuning (default 0)\n"
          "  --pseudo K             round r adds the r x K images per class the model is\n"
          "                         surest of, with its labels (default 1000)\n"
          "  --self-epochs N        epochs per self-training round (default 15)\n"
          "  --self-augment NAME    augmentation while self-training (default flip-crop)\n"
          "  --self-backbone-lr X   self-training rate of the backbone relative to the\n"
          "                         head (default 1)\n"
          "  --out FILE, --csv FILE, --confusion FILE, --data DIR, --cache DIR\n"
          "Ctrl-C ends the training stage under way (pretext, head, fine-tuning) after its\n"
          "last finished epoch; the program goes on with the next; a second Ctrl-C quits.\n");
  exit(2);
}

typedef struct options {
  const arch *a;
  dlsc_task task;
  size_t labels, batch;
  int pretext_epochs, probe_epochs, finetune_epochs;
  float backbone_lr, layer_decay, rate, self_backbone_lr;
  const char *augment, *self_augment, *out, *csv, *confusion, *save_pretext, *load_pretext;
  const char *data, *cache;
  const char *checkpoint; /* stage 1's checkpoint files (cifar_run.h) */
  uint64_t seed;
  int pretext_all, pretext_only, resume;
  int self_rounds, self_epochs, self_given; /* self_given: an option of stage 4 */
  int finetune_given;                         /* an option of stage 3 */
  size_t pseudo_per_class;
  size_t unlabeled; /* 0: all */
  char settings[1024]; /* what decides stage 1, recorded with its checkpoint */
} options;

static options parse(int argc, char **argv) {
  options o = {.a = find_arch("tiny"), .task = DLSC_TASK_FLIP_ROTATE3, .labels = 500,
               .batch = 128, .pretext_epochs = 15, .probe_epochs = 30, .finetune_epochs = 30,
               .backbone_lr = 0.1f, .layer_decay = 1.0f, .rate = 0.05f, .augment = "flip-crop",
               .self_augment = "flip-crop", .self_backbone_lr = 1.0f, .out = "transfer.dlsc",
               .csv = "transfer.csv", .confusion = "transfer-confusion.csv", .seed = 1,
               .self_epochs = 15, .pseudo_per_class = 1000};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--pretext-all")) { o.pretext_all = 1; continue; }
    if (!strcmp(a, "--pretext-only")) { o.pretext_only = 1; continue; }
    if (!strcmp(a, "--resume")) { o.resume = 1; continue; }
    if (!v)
      usage();
    i++;
    if (!strcmp(a, "--arch")) o.a = find_arch(v);
    else if (!strcmp(a, "--pretext") && (!strcmp(v, "rot3") || !strcmp(v, "rot4")))
      o.task = strcmp(v, "rot4") ? DLSC_TASK_FLIP_ROTATE3 : DLSC_TASK_ROTATE4;
    else if (!strcmp(a, "--labels")) o.labels = (size_t)integer_option(a, v, 10, 45000);
    else if (!strcmp(a, "--pretext-epochs")) o.pretext_epochs = (int)integer_option(a, v, 1, 100000);
    else if (!strcmp(a, "--probe-epochs")) o.probe_epochs = (int)integer_option(a, v, 0, 100000);
    else if (!strcmp(a, "--finetune-epochs")) o.finetune_epochs = (int)integer_option(a, v, 0, 100000);
    else if (!strcmp(a, "--backbone-lr")) o.backbone_lr = (float)number_option(a, v, 0.0, 100.0);
    else if (!strcmp(a, "--layer-decay")) o.layer_decay = (float)number_option(a, v, 0.0, 1.0);
    else if (!strcmp(a, "--augment")) o.augment = v;
    else if (!strcmp(a, "--lr")) o.rate = (float)number_option(a, v, 1e-9, 10.0);
    else if (!strcmp(a, "--batch")) o.batch = (size_t)integer_option(a, v, 2, 1000000);
    else if (!strcmp(a, "--seed")) o.seed = (uint64_t)integer_option(a, v, 0, LLONG_MAX);
    else if (!strcmp(a, "--save-pretext")) o.save_pretext = v;
    else if (!strcmp(a, "--load-pretext")) o.load_pretext = v;
    else if (!strcmp(a, "--checkpoint")) o.checkpoint = v;
    else if (!strcmp(a, "--out")) o.out = v;
    else if (!strcmp(a, "--csv")) o.csv = v;
    else if (!strcmp(a, "--confusion")) o.confusion = v;
    else if (!strcmp(a, "--data")) o.data = v;
    else if (!strcmp(a, "--cache")) o.cache = v;
    else if (!strcmp(a, "--self-train")) o.self_rounds = (int)integer_option(a, v, 0, 100);
    else if (!strcmp(a, "--unlabeled")) o.unlabeled = (size_t)integer_option(a, v, 1, 45000);
    else if (!strcmp(a, "--pseudo")) o.pseudo_per_class = (size_t)integer_option(a, v, 1, 45000);
    else if (!strcmp(a, "--self-epochs")) o.self_epochs = (int)integer_option(a, v, 1, 100000);
    else if (!strcmp(a, "--self-augment")) o.self_augment = v;
    else if (!strcmp(a, "--self-backbone-lr")) o.self_backbone_lr = (float)number_option(a, v, 0.0, 100.0);
    else usage();
    o.self_given |= !strcmp(a, "--pseudo") || (!strncmp(a, "--self-", 7) && strcmp(a, "--self-train"));
    o.finetune_given |= !strcmp(a, "--backbone-lr") || !strcmp(a, "--layer-decay");
  }
  if (!o.a || o.labels == 0 || o.labels % 10 || o.batch < 2 || o.pretext_epochs < 1 ||
      o.probe_epochs < 0 || o.finetune_epochs < 0 || !(o.backbone_lr >= 0.0f) ||
      o.self_rounds < 0 || o.self_epochs < 1 || o.pseudo_per_class < 1 ||
      !(o.self_backbone_lr >= 0.0f) || (o.resume && !o.checkpoint) ||
      (o.checkpoint && o.load_pretext) ||
      (o.pretext_only && (o.load_pretext || (!o.save_pretext && !o.checkpoint))) ||
      (!o.pretext_only && o.probe_epochs == 0 && o.finetune_epochs == 0 && o.self_rounds == 0) ||
      (o.self_given && o.self_rounds == 0) || (o.finetune_given && o.finetune_epochs == 0))
    usage(); /* a pretext model kept nowhere, a classifier never trained, options of
              * stage 3 or 4 without it */
  if (!o.pretext_only) /* saved at the end: refused now, not after the training */
    require_savable(o.out);
  if (o.save_pretext)
    require_savable(o.save_pretext);
  if (o.checkpoint)
    require_writable(o.checkpoint);
  refuse_checkpoint_file(o.checkpoint, o.pretext_only ? NULL : o.out, "--out");
  refuse_checkpoint_file(o.checkpoint, o.save_pretext, "--save-pretext");
  /* stage 1's checkpoint must be resumed with what decides stage 1 (the other stages'
   * options may change: they run after it) */
  if (o.checkpoint) {
    settings_add(o.settings, sizeof o.settings, "arch", "%s", o.a->name);
    settings_add(o.settings, sizeof o.settings, "pretext", "%s",
                 o.task == DLSC_TASK_ROTATE4 ? "rot4" : "rot3");
    settings_add(o.settings, sizeof o.settings, "labels", "%zu", o.labels);
    settings_add(o.settings, sizeof o.settings, "unlabeled", "%zu", o.unlabeled);
    settings_add(o.settings, sizeof o.settings, "pretext-all", "%d", o.pretext_all);
    settings_add(o.settings, sizeof o.settings, "pretext-epochs", "%d", o.pretext_epochs);
    settings_add_float(o.settings, sizeof o.settings, "lr", o.rate);
    settings_add(o.settings, sizeof o.settings, "batch", "%zu", o.batch);
    settings_add(o.settings, sizeof o.settings, "seed", "%llu", (unsigned long long)o.seed);
  }
  return o;
}

static schedule_options stage(const options *o, int epochs, float rate) {
  schedule_options s = {epochs, o->batch, rate, 5e-4f, 0.0f, 0.9f, DLSC_OPTIMIZER_SGD, 1, 0,
                        NULL, 0, NULL};
  return s;
}

/* Stage 1: the backbone learns the pretext task on the unlabeled images. */
static dlsc_model_t *pretrain(const options *o, const cifar_set *unlabeled,
                              const cifar_set *validation, FILE *csv) {
  size_t classes = o->task == DLSC_TASK_ROTATE4 ? 4 : 3;
  char spec[2048];
  classifier_spec(o->a, classes, spec, sizeof spec);
  dlsc_model_t *model = model_from_spec(spec, o->seed, "pretext model");
  dlsc_dataset_t *train = image_dataset(unlabeled, 0, o->seed);
  dlsc_dataset_t *check = image_dataset(validation, 0, o->seed + 1);
  check_status(dlsc_dataset_set_task(train, o->task), "pretext task");
  check_status(dlsc_dataset_set_task(check, o->task), "pretext task");
  dlsc_augment_config augment; /* mirroring keeps every pretext label meaningful */
  dlsc_augment_config_init(&augment);
  augment.horizontal_flip = 1;
  augment.crop_padding = 4;
  check_status(dlsc_dataset_set_augment(train, &augment), "augmentation");
  size_t count;
  dlsc_dataset_count(train, &count);
  printf("pretext %s: %zu examples (%zu unlabeled images x %zu transforms)\n",
         classes == 4 ? "rot4" : "rot3", count, unlabeled->count, classes);
  schedule_options s = stage(o, o->pretext_epochs, o->rate);
  s.checkpoint = o->checkpoint;
  s.resume = o->resume;
  s.settings = o->settings;
  double best = train_and_select(model, train, check, &s, "pretext", csv);
  printf("pretext: validation accuracy on the pretext task %.2f%%\n", 100.0 * best);
  dlsc_dataset_destroy(train);
  dlsc_dataset_destroy(check);
  return model;
}

/* Rates of the fine-tuning stage: the head at 1, the backbone's top layer with weights
 * at backbone_lr, each layer with weights below it layer_decay times the rate of the
 * one above (dense, convolution and batch-norm layers count; activations and pooling,
 * which have no weights, do not). */
static void set_layer_rates(dlsc_model_t *model, size_t backbone, float top, float decay) {
  float scale = top;
  for (size_t i = backbone; i-- > 0;) {
    size_t values;
    check_status(dlsc_model_get_values(model, i, NULL, 0, &values), "layer values");
    check_status(dlsc_model_set_layer_frozen(model, i, 0), "unfreeze");
    check_status(dlsc_model_set_layer_lr_scale(model, i, scale), "layer rate");
    if (values)
      scale *= decay;
  }
}

/* Stage 4: rounds of self-training on the labeled images plus pseudo-labeled ones,
 * starting from a model that validated at `validated`. A round that does not validate
 * above the model it started from is undone, and the rounds stop there. */
static double self_train(const options *o, dlsc_model_t *model, double validated,
                         const cifar_set *labeled, const cifar_set *pool,
                         dlsc_dataset_t *validation_set, size_t backbone, FILE *csv) {
  double best = validated;
  dlsc_model_info info;
  dlsc_model_get_info(model, &info);
  dlsc_augment_config augment;
  int expand;
  augment_preset(o->self_augment, &augment, &expand); /* checked by main */
  set_layer_rates(model, backbone, o->self_backbone_lr, 1.0f);
  for (int round = 1; round <= o->self_rounds; round++) {
    cifar_set mixed = {0};
    cifar_take(&mixed, labeled, 0, labeled->count);
    size_t agree = pseudo_label(model, pool, (size_t)round * o->pseudo_per_class, 1, &mixed);
    size_t added = mixed.count - labeled->count;
    printf("self-training round %d: %zu pseudo-labeled images (%.1f%% of them correct)\n", round,
           added, added ? 100.0 * (double)agree / (double)added : 0.0);
    dlsc_dataset_t *train_set = image_dataset(&mixed, 1, o->seed + (uint64_t)round);
    check_status(dlsc_dataset_set_augment(train_set, &augment), "augmentation");
    schedule_options s = stage(o, o->self_epochs, o->rate);
    char run[32];
    snprintf(run, sizeof run, "self%d", round);
    dlsc_model_t *before;
    check_status(dlsc_model_clone(model, &before), "clone");
    double score = train_and_select(model, train_set, validation_set, &s, run, csv);
    printf("self-training round %d: validation %.2f%%\n", round, 100.0 * score);
    dlsc_dataset_destroy(train_set);
    cifar_free(&mixed);
    if (score <= best) {
      check_status(dlsc_model_copy_layers(model, before, info.n_layers), "undo the round");
      printf("self-training round %d undone (validation %.2f%% before it)\n", round,
             100.0 * best);
      dlsc_model_destroy(before);
      break;
    }
    best = score;
    dlsc_model_destroy(before);
  }
  return best;
}

/* Stages 2-4 on the pretext model's backbone (consumed), then the test: 1 when a
 * file could not be written. */
static int transfer(const options *o, dlsc_model_t *pretext, const cifar_set *labeled,
                    const cifar_set *pool, const cifar_set *validation, const cifar_set *test,
                    const dlsc_augment_config *augment, FILE *csv, FILE *confusion_file,
                    double start) {
  char spec[2048];
  classifier_spec(o->a, 10, spec, sizeof spec);
  dlsc_model_t *model = model_from_spec(spec, o->seed + 7, "classifier");
  size_t backbone = backbone_layers(o->a);
  check_status(dlsc_model_copy_layers(model, pretext, backbone), "transfer the backbone");
  dlsc_model_destroy(pretext);
  dlsc_dataset_t *train_set = image_dataset(labeled, 1, o->seed);
  dlsc_dataset_t *validation_set = image_dataset(validation, 1, o->seed);
  check_status(dlsc_dataset_set_augment(train_set, augment), "augmentation");
  options s_o = *o; /* stages draw batches of at most the labeled images */
  s_o.batch = o->batch < labeled->count ? o->batch : labeled->count;
  o = &s_o;

  /* The validation accuracy of the model as it stands; -1 before any training. A
   * fine-tuning that validates no higher than the probe is undone, as a round of
   * self-training is: every choice is made on validation. */
  double validated = -1.0;
  if (o->probe_epochs > 0) {
    for (size_t i = 0; i < backbone; i++)
      check_status(dlsc_model_set_layer_frozen(model, i, 1), "freeze");
    schedule_options s = stage(o, o->probe_epochs, o->rate);
    validated = train_and_select(model, train_set, validation_set, &s, "probe", csv);
    printf("probe (frozen backbone, new head): validation %.2f%%\n", 100.0 * validated);
  }
  if (o->finetune_epochs > 0) {
    dlsc_model_t *probed = NULL;
    if (o->probe_epochs > 0)
      check_status(dlsc_model_clone(model, &probed), "clone");
    set_layer_rates(model, backbone, o->backbone_lr, o->layer_decay);
    schedule_options s = stage(o, o->finetune_epochs, o->rate);
    double finetuned = train_and_select(model, train_set, validation_set, &s, "finetune", csv);
    printf("fine-tuned (all layers, backbone x%g, decay x%g per layer): validation %.2f%%\n",
           (double)o->backbone_lr, (double)o->layer_decay, 100.0 * finetuned);
    if (probed && finetuned <= validated) {
      dlsc_model_info info;
      dlsc_model_get_info(model, &info);
      check_status(dlsc_model_copy_layers(model, probed, info.n_layers), "undo the fine-tuning");
      printf("fine-tuning undone (validation %.2f%% after the probe)\n", 100.0 * validated);
    } else {
      validated = finetuned;
    }
    dlsc_model_destroy(probed);
  }
  if (o->self_rounds > 0)
    validated = self_train(o, model, validated, labeled, pool, validation_set, backbone, csv);
  int failed = close_written(csv, o->csv) != 0;
  size_t confusion[100];
  double test_accuracy = accuracy(model, test, 0, confusion);
  printf("transfer (%s, %zu labels, seed %llu): TEST accuracy %.2f%% (validation %.2f%%), "
         "%.0f s in all\n",
         o->a->name, o->labels, (unsigned long long)o->seed, 100.0 * test_accuracy,
         100.0 * validated, now_seconds() - start);
  failed |= write_confusion(confusion_file, o->confusion, confusion) != 0;
  store_class_names(model);
  record_blas(model);
  check_status(dlsc_model_save_file(model, o->out), o->out);
  dlsc_dataset_destroy(train_set);
  dlsc_dataset_destroy(validation_set);
  dlsc_model_destroy(model);
  return failed;
}

/* Whether model's first layers are arch a's backbone, as the classifier needs them. */
static int fits_backbone(const arch *a, const dlsc_model_t *model) {
  char spec[2048];
  classifier_spec(a, 10, spec, sizeof spec);
  dlsc_model_t *classifier = model_from_spec(spec, 0, "classifier");
  dlsc_status status = dlsc_model_copy_layers(classifier, model, backbone_layers(a));
  dlsc_model_destroy(classifier);
  return status == DLSC_OK;
}

int main(int argc, char **argv) {
  options o = parse(argc, argv);
  blas_check("dlsc-cifar-transfer");
  dlsc_augment_config augment;
  int expand;
  if (augment_preset(o.augment, &augment, &expand) != 0)
    usage();
  dlsc_augment_config self_augment;
  int self_expand; /* the original's expansion is not an on-the-fly augmentation */
  if (augment_preset(o.self_augment, &self_augment, &self_expand) != 0 || self_expand)
    usage();
  dlsc_model_t *pretext = NULL; /* a given one is checked before any data is read */
  if (o.load_pretext) {
    if (!(pretext = load_model(o.load_pretext)))
      return 1;
    if (!fits_backbone(o.a, pretext)) {
      fprintf(stderr, "%s: not a pretext model of arch %s (its first %zu layers are not that "
              "backbone)\n", o.load_pretext, o.a->name, backbone_layers(o.a));
      dlsc_model_destroy(pretext);
      return 1;
    }
  }
  char batches[4096], error[512];
  cifar_set train = {0}, validation = {0}, test = {0}, labeled = {0}, unlabeled = {0};
  if (cifar_locate(o.data ? o.data : data_directory(), o.cache, batches, sizeof batches, error,
                   sizeof error) != 0 ||
      cifar_load_splits(batches, &train, &validation, &test, error, sizeof error) != 0) {
    fprintf(stderr, "%s\n", error);
    dlsc_model_destroy(pretext);
    return 1;
  }
  cifar_draw_labeled(&train, o.labels / 10, o.seed, &labeled, &unlabeled);
  if (o.unlabeled && o.unlabeled < unlabeled.count)
    unlabeled.count = o.unlabeled; /* the first N, in the batches' order */
  size_t pool_count = unlabeled.count; /* what self-training may label: not validation */
  if (o.pretext_all) /* pixels only: labels unused */
    cifar_take(&unlabeled, &labeled, 0, labeled.count);
  cifar_take(&unlabeled, &validation, 0, validation.count);
  if (expand)
    expand_original(&labeled);
  printf("%zu labeled, %zu unlabeled images; %zu validation, %zu test\n", labeled.count,
         unlabeled.count, validation.count, test.count);
  FILE *csv = open_for_writing(o.csv, o.resume ? "a" : "w"); /* resumed: rows go on */
  FILE *confusion_file = o.pretext_only ? NULL : open_for_writing(o.confusion, "w");
  if (!o.resume)
    fprintf(csv, "run,epoch,train_loss,train_accuracy,validation_accuracy,seconds\n");
  double start = now_seconds();

  if (pretext)
    printf("pretext model from %s\n", o.load_pretext);
  else
    pretext = pretrain(&o, &unlabeled, &validation, csv);
  if (o.save_pretext)
    check_status(dlsc_model_save_file(pretext, o.save_pretext), o.save_pretext);
  int failed;
  if (o.pretext_only) {
    dlsc_model_destroy(pretext);
    failed = close_written(csv, o.csv) != 0;
  } else {
    cifar_set pool = {unlabeled.pixels, unlabeled.labels, pool_count}; /* a view */
    failed = transfer(&o, pretext, &labeled, &pool, &validation, &test, &augment, csv,
                      confusion_file, start);
  }
  cifar_free(&train);
  cifar_free(&validation);
  cifar_free(&test);
  cifar_free(&labeled);
  cifar_free(&unlabeled);
  return failed;
}
