/* dlsc-cifar-train: trains a CIFAR-10 classifier from scratch.
 *
 *   dlsc-cifar-train [--arch tiny|mid|wide|air] [--augment none|original|flip-crop|strong|
 *                    airbench] [--labels all|N] [--epochs N] ...
 *
 * Trains on the training batches without the last 5,000 records of data_batch_5, picks
 * the epoch by accuracy on those 5,000, and reports the test accuracy once at the end.
 * --labels N trains on a class-balanced draw of N labeled images (seeded); --full on
 * all 50,000 for a number of epochs chosen before, keeping the last. With --teacher, a
 * saved classifier labels the rest of the draw's training images and the ones it is
 * surest of (--pseudo K per class) train beside the N labeled ones (a student).
 */
#include <stdlib.h>
#include <string.h>

#include "cifar_run.h"
#include "example_util.h"

static void usage(void) {
  fprintf(stderr, "usage: dlsc-cifar-train [options]\n  --arch NAME        backbone:\n");
  list_archs(stderr);
  fprintf(stderr,
          "  --augment NAME     none | original (x1.1, x0.9, mirror copies) | flip-crop | strong |\n"
          "                     airbench (every other epoch mirrored, 2-pixel reflected shifts)\n"
          "  --labels all|N     all 45,000 training labels, or a balanced draw of N (default all)\n"
          "  --full             train on all 50,000 images (no validation; the last epoch)\n"
          "  --teacher FILE     with --labels: FILE's classifier labels the draw's unlabeled\n"
          "                     images (six test views); the --pseudo K per class it is surest\n"
          "                     of train too (default K 2000)\n"
          "  --unlabeled N      with --teacher: it labels only the first N of those images\n"
          "                     (default all)\n"
          "  --epochs N         (default 20)      --batch N     (default 128)\n"
          "  --optimizer sgd|adam (default sgd: Nesterov)  --lr X  (default 0.05; adam 1e-3)\n"
          "                     (tiny has no normalisation: with flip-crop its ReLUs can die at\n"
          "                     0.05, which validation shows as 10 %%; 0.02 trains)\n"
          "  --wd X             weight decay (default 5e-4)  --smoothing X (default 0)\n"
          "  --momentum X       SGD momentum (default 0.9)  --warmup N  warm-up epochs (default 1)\n"
          "  --lookahead        airbench's lookahead: from epoch 4 the weights return to an\n"
          "                     average every 5 steps, more strongly as training ends\n"
          "  --bn-fixed-scale   batch-norm scales stay 1 (airbench's)\n"
          "  --bn-bias-rate X   batch-norm shifts train at X times the rate (airbench: 64)\n"
          "  --logit-scale X    the outputs scaled by X (airbench: 0.111, i.e. 1/9)\n"
          "  --dirac            identity-initialise the first filters of each convolution with an\n"
          "                     odd square kernel (3x3, 5x5, ...)\n"
          "  --tta              average with the mirrored image at test time\n"
          "  --tta-shift        also with the image shifted a pixel either way (airbench's)\n"
          "  --whiten N         the first layer whitens 2x2 patches, estimated from the first N\n"
          "                     of the 45,000 training images (labeled or not), frozen\n"
          "                     (arch air; airbench uses 5000)\n"
          "  --seed N           (default 1)\n"
          "  --out FILE         model (default cifar.dlsc)  --csv FILE (default cifar.csv)\n"
          "  --confusion FILE   test confusion matrix CSV (default confusion.csv)\n"
          "  --run NAME         label of this run in progress lines and the CSV\n"
          "  --checkpoint P     after each epoch write P.dlsc (the weights), P.state (the\n"
          "                     optimizer, PRNGs and data order) and P.best.dlsc (the best so far)\n"
          "  --resume           go on from --checkpoint P's files: with the options of the run\n"
          "                     that wrote them, the same result bit for bit (other training\n"
          "                     options are refused; --tta, --run and the files may differ)\n"
          "  --data DIR, --cache DIR  where the data is and where to unpack it\n"
          "Ctrl-C ends training after the last finished epoch, which is then chosen from,\n"
          "scored and saved as usual; a second Ctrl-C quits.\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *arch_name = "tiny", *augment = "none", *out = "cifar.dlsc", *csv_path = "cifar.csv";
  const char *confusion_path = "confusion.csv", *run = NULL, *data = NULL, *cache = NULL;
  const char *teacher_path = NULL;
  size_t labels = 0, whiten = 0, pseudo = 2000, pool_limit = 0; /* pool_limit 0: all */
  int tta = 0, rate_given = 0, full = 0, dirac = 0, fixed_scale = 0, pseudo_given = 0;
  int momentum_given = 0;
  float bias_rate = -1.0f, logit_scale = 1.0f; /* bias_rate -1: not given (1) */
  uint64_t seed = 1;
  schedule_options s = {20, 128, 0.05f, 5e-4f, 0.0f, 0.9f, DLSC_OPTIMIZER_SGD, 1, 0, NULL, 0,
                        NULL};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--tta")) { tta = tta > 1 ? tta : 1; continue; }
    if (!strcmp(a, "--tta-shift")) { tta = 2; continue; }
    if (!strcmp(a, "--full")) { full = 1; continue; }
    if (!strcmp(a, "--dirac")) { dirac = 1; continue; }
    if (!strcmp(a, "--lookahead")) { s.lookahead = 1; continue; }
    if (!strcmp(a, "--resume")) { s.resume = 1; continue; }
    if (!strcmp(a, "--bn-fixed-scale")) { fixed_scale = 1; continue; }
    if (!v) usage();
    i++;
    if (!strcmp(a, "--arch")) arch_name = v;
    else if (!strcmp(a, "--augment")) augment = v;
    else if (!strcmp(a, "--labels")) labels = strcmp(v, "all") ? (size_t)integer_option(a, v, 10, 45000) : 0;
    else if (!strcmp(a, "--epochs")) s.epochs = (int)integer_option(a, v, 1, 100000);
    else if (!strcmp(a, "--batch")) s.batch = (size_t)integer_option(a, v, 2, 1000000);
    else if (!strcmp(a, "--optimizer") && (!strcmp(v, "sgd") || !strcmp(v, "adam")))
      s.optimizer = strcmp(v, "adam") ? DLSC_OPTIMIZER_SGD : DLSC_OPTIMIZER_ADAM;
    else if (!strcmp(a, "--lr")) { s.rate = (float)number_option(a, v, 1e-9, 10.0); rate_given = 1; }
    else if (!strcmp(a, "--wd")) s.weight_decay = (float)number_option(a, v, 0.0, 1.0);
    else if (!strcmp(a, "--smoothing")) s.smoothing = (float)number_option(a, v, 0.0, 0.99);
    else if (!strcmp(a, "--momentum")) {
      s.momentum = (float)number_option(a, v, 0.0, 0.999);
      momentum_given = 1;
    }
    else if (!strcmp(a, "--bn-bias-rate")) bias_rate = (float)number_option(a, v, 0.0, 1e4);
    else if (!strcmp(a, "--logit-scale")) logit_scale = (float)number_option(a, v, 1e-3, 1e3);
    else if (!strcmp(a, "--warmup")) s.warmup_epochs = (int)integer_option(a, v, 0, 100000);
    else if (!strcmp(a, "--teacher")) teacher_path = v;
    else if (!strcmp(a, "--pseudo")) { pseudo = (size_t)integer_option(a, v, 1, 45000); pseudo_given = 1; }
    else if (!strcmp(a, "--unlabeled")) pool_limit = (size_t)integer_option(a, v, 1, 45000);
    else if (!strcmp(a, "--whiten")) whiten = (size_t)integer_option(a, v, 1, 45000);
    else if (!strcmp(a, "--seed")) seed = (uint64_t)integer_option(a, v, 0, LLONG_MAX);
    else if (!strcmp(a, "--out")) out = v;
    else if (!strcmp(a, "--csv")) csv_path = v;
    else if (!strcmp(a, "--confusion")) confusion_path = v;
    else if (!strcmp(a, "--run")) run = v;
    else if (!strcmp(a, "--checkpoint")) s.checkpoint = v;
    else if (!strcmp(a, "--data")) data = v;
    else if (!strcmp(a, "--cache")) cache = v;
    else usage();
  }
  const arch *a = find_arch(arch_name);
  dlsc_augment_config augment_config;
  int expand;
  if (!a || augment_preset(augment, &augment_config, &expand) != 0 || s.epochs < 1 || s.batch < 2 ||
      (labels && labels % 10) || (labels && full) || (teacher_path && !labels) ||
      ((pseudo_given || pool_limit) && !teacher_path) || (s.resume && !s.checkpoint))
    usage();
  if (momentum_given && s.optimizer != DLSC_OPTIMIZER_SGD) {
    fprintf(stderr, "--momentum: a setting of SGD, not of --optimizer adam\n");
    return 2;
  }
  if ((fixed_scale || bias_rate >= 0.0f) && !strstr(a->backbone, "batchnorm")) {
    fprintf(stderr, "--bn-fixed-scale, --bn-bias-rate: arch %s has no batch-norm layer\n",
            a->name);
    return 2;
  }
  if (bias_rate < 0.0f)
    bias_rate = 1.0f;
  if (whiten && strcmp(a->name, "air") != 0) {
    fprintf(stderr, "--whiten: arch %s has no whitening layer (arch air's first layer is one)\n",
            a->name);
    return 2;
  }
  if (s.optimizer == DLSC_OPTIMIZER_ADAM && !rate_given)
    s.rate = 1e-3f;
  /* what decides the trained weights, recorded with a checkpoint: a resumed run must
   * have the same (--tta, --run and the files named do not count) */
  static char settings[4096]; /* a metadata value: 4095 bytes at most */
  if (s.checkpoint) {
    settings_add(settings, sizeof settings, "arch", "%s", a->name);
    settings_add(settings, sizeof settings, "augment", "%s", augment);
    settings_add(settings, sizeof settings, "labels", "%zu", labels);
    settings_add(settings, sizeof settings, "full", "%d", full);
    settings_add(settings, sizeof settings, "teacher", "%s", teacher_path ? teacher_path : "");
    settings_add(settings, sizeof settings, "pseudo", "%zu", pseudo);
    settings_add(settings, sizeof settings, "unlabeled", "%zu", pool_limit);
    settings_add(settings, sizeof settings, "epochs", "%d", s.epochs);
    settings_add(settings, sizeof settings, "batch", "%zu", s.batch);
    settings_add(settings, sizeof settings, "optimizer", "%s",
                 s.optimizer == DLSC_OPTIMIZER_ADAM ? "adam" : "sgd");
    settings_add_float(settings, sizeof settings, "lr", s.rate);
    settings_add_float(settings, sizeof settings, "wd", s.weight_decay);
    settings_add_float(settings, sizeof settings, "smoothing", s.smoothing);
    settings_add_float(settings, sizeof settings, "momentum", s.momentum);
    settings_add(settings, sizeof settings, "warmup", "%d", s.warmup_epochs);
    settings_add(settings, sizeof settings, "lookahead", "%d", s.lookahead);
    settings_add(settings, sizeof settings, "bn-fixed-scale", "%d", fixed_scale);
    settings_add_float(settings, sizeof settings, "bn-bias-rate", bias_rate);
    settings_add_float(settings, sizeof settings, "logit-scale", logit_scale);
    settings_add(settings, sizeof settings, "dirac", "%d", dirac);
    settings_add(settings, sizeof settings, "whiten", "%zu", whiten);
    settings_add(settings, sizeof settings, "seed", "%llu", (unsigned long long)seed);
  }
  s.settings = settings;
  require_savable(out); /* saved at the end: refused now, not after the training */
  if (s.checkpoint)
    require_writable(s.checkpoint);
  refuse_checkpoint_file(s.checkpoint, out, "--out");
  char run_name[128];
  snprintf(run_name, sizeof run_name, "%s", run ? run : arch_name);
  dlsc_model_t *teacher = NULL; /* checked before any data is read */
  if (teacher_path) {
    if (!(teacher = load_model(teacher_path)))
      return 1;
    dlsc_model_info t;
    dlsc_model_get_info(teacher, &t);
    if (t.input.channels != 3 || t.input.height != 32 || t.input.width != 32 ||
        t.output.channels * t.output.height * t.output.width != 10) {
      fprintf(stderr, "%s: not a CIFAR-10 classifier (3x32x32 images in, 10 classes out)\n",
              teacher_path);
      dlsc_model_destroy(teacher);
      return 1;
    }
  }

  blas_check("dlsc-cifar-train");
  char batches[4096], error[512];
  cifar_set train = {0}, validation = {0}, test = {0};
  if (cifar_locate(data ? data : data_directory(), cache, batches, sizeof batches, error,
                   sizeof error) != 0 ||
      cifar_load_splits(batches, &train, &validation, &test, error, sizeof error) != 0) {
    fprintf(stderr, "%s\n", error);
    dlsc_model_destroy(teacher);
    return 1;
  }
  char spec[2048];
  classifier_spec(a, 10, spec, sizeof spec);
  dlsc_model_t *model = model_from_spec(spec, seed, "model");
  dlsc_model_info info;
  dlsc_model_get_info(model, &info);
  if (dirac)
    dirac_init(model);
  /* Whitening needs no labels: it comes from the first images of the 45,000-image
   * training split before any draw, a sample of every class (a draw's set of labeled and
   * pseudo-labeled images is ordered by class). */
  if (whiten)
    whiten_first_layer(model, &train, whiten);
  airbench_rates(model, fixed_scale, bias_rate, logit_scale);
  if (labels) {
    cifar_set labeled = {0}, unlabeled = {0};
    cifar_draw_labeled(&train, labels / 10, seed, &labeled, &unlabeled);
    if (pool_limit && pool_limit < unlabeled.count)
      unlabeled.count = pool_limit; /* the first N, in the batches' order */
    if (teacher) {
      size_t agree = pseudo_label(teacher, &unlabeled, pseudo, 2, &labeled);
      size_t added = labeled.count - labels;
      printf("teacher %s: %zu pseudo-labeled images (%.1f%% of them correct)\n", teacher_path,
             added, added ? 100.0 * (double)agree / (double)added : 0.0);
      dlsc_model_destroy(teacher);
    }
    cifar_free(&train);
    cifar_free(&unlabeled);
    train = labeled;
  }
  if (full) { /* the validation images train too */
    cifar_take(&train, &validation, 0, validation.count);
    cifar_free(&validation);
  }
  if (expand)
    expand_original(&train);
  printf("%s: %zu training images (augmentation: %s), %zu validation, %zu test\n", run_name,
         train.count, augment, validation.count, test.count);

  printf("model %s: %zu parameters%s%s\n", arch_name, info.n_parameters,
         whiten ? ", the first layer whitening (frozen)" : "",
         dirac ? ", identity-initialised filters" : "");
  dlsc_dataset_t *train_set = image_dataset(&train, 1, seed);
  dlsc_dataset_t *validation_set = full ? NULL : image_dataset(&validation, 1, seed);
  check_status(dlsc_dataset_set_augment(train_set, &augment_config), "augmentation");
  if (s.batch > train.count)
    s.batch = train.count;

  FILE *csv = open_for_writing(csv_path, s.resume ? "a" : "w"); /* resumed: rows go on */
  FILE *confusion_file = open_for_writing(confusion_path, "w");
  if (!s.resume)
    fprintf(csv, "run,epoch,train_loss,train_accuracy,validation_accuracy,seconds\n");
  double start = now_seconds();
  double best = train_and_select(model, train_set, validation_set, &s, run_name, csv);
  double seconds = now_seconds() - start;
  int failed = close_written(csv, csv_path) != 0;
  size_t confusion[100];
  double test_accuracy = accuracy(model, &test, tta, confusion);
  char chosen[64] = "no validation (all 50,000 trained)";
  if (!full)
    snprintf(chosen, sizeof chosen, "best validation %.2f%%", 100.0 * best);
  printf("%s: %s; TEST accuracy %.2f%%%s; %.0f s training\n", run_name, chosen,
         100.0 * test_accuracy,
         tta > 1 ? " (flip and shift TTA)" : tta ? " (flip TTA)" : "", seconds);
  failed |= write_confusion(confusion_file, confusion_path, confusion) != 0;
  store_class_names(model);
  record_blas(model);
  check_status(dlsc_model_save_file(model, out), out);
  if (failed)
    printf("saved %s\n", out);
  else
    printf("saved %s, %s, %s\n", out, csv_path, confusion_path);
  dlsc_dataset_destroy(train_set);
  dlsc_dataset_destroy(validation_set);
  dlsc_model_destroy(model);
  cifar_free(&train);
  cifar_free(&validation);
  cifar_free(&test);
  return failed;
}
