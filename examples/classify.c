/* dlsc-classify: classifies images with a saved dlsc classifier.
 *
 *   dlsc-classify --model cifar.dlsc image.ppm|image.png|records.bin ...
 *
 * Images must have the model's input size (32 x 32 RGB for CIFAR-10 models): binary PPM
 * (P6; PGM, P5, for models of grey images; comments and 16-bit samples read), PNG (when
 * built with libpng; known by its signature or a .png name in any case), or files of
 * CIFAR-10 binary records (label byte + 3072 pixel bytes each; the label is shown next
 * to the prediction). The library itself only ever sees a buffer of pixels: 8-bit
 * images go to dlsc_model_classify_u8 as bytes, made channel-first; others (16-bit, or
 * a maximum other than 255) to dlsc_model_classify as floats in 0..1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifdef HAVE_PNG
#include <png.h>
#endif

#include "example_util.h"

#define MAX_CLASSES 64

typedef struct image_source {
  float *pixels;  /* count x C x H x W in 0..1, or NULL and: */
  uint8_t *bytes; /* count x C x H x W in 0..255 (8-bit images: dlsc_model_classify_u8) */
  int *labels;   /* CIFAR records: their label, else -1 */
  size_t count;
} image_source;

/* Interleaved samples (height x width x channels) to the channel-first layout dlsc
 * takes: 8-bit samples of maximum 255 as they are (src->bytes, for
 * dlsc_model_classify_u8), others as floats divided by max (src->pixels; samples above
 * it read as max). One image. */
static void planar(const unsigned char *bytes, int wide, unsigned max, dlsc_shape shape,
                   image_source *src) {
  size_t area = shape.height * shape.width, channels = shape.channels;
  int as_bytes = !wide && max == 255;
  if (as_bytes)
    src->bytes = checked_alloc(NULL, channels * area);
  else
    src->pixels = checked_alloc(NULL, channels * area * sizeof *src->pixels);
  src->labels = checked_alloc(NULL, sizeof *src->labels);
  src->labels[0] = -1;
  src->count = 1;
  for (size_t c = 0; c < channels; c++)
    for (size_t p = 0; p < area; p++) {
      size_t at = p * channels + c;
      unsigned v = wide ? (unsigned)bytes[2 * at] << 8 | bytes[2 * at + 1] : bytes[at];
      if (as_bytes)
        src->bytes[c * area + p] = (uint8_t)v;
      else
        src->pixels[c * area + p] = (float)(v < max ? v : max) / (float)max; /* above: max */
    }
}

/* A Netpbm header number: blanks and '#' comments before it, then digits (at most
 * 65535); -1 if there are none. */
static long header_number(FILE *file) {
  int c = fgetc(file);
  while (c == '#' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
    if (c == '#')
      while (c != '\n' && c != EOF)
        c = fgetc(file);
    c = fgetc(file);
  }
  long value = -1;
  for (; c >= '0' && c <= '9' && value <= 65535; c = fgetc(file))
    value = (value < 0 ? 0 : 10 * value) + (c - '0');
  if (c != EOF)
    ungetc(c, file);
  return value <= 65535 ? value : -1;
}

/* Binary PPM (P6, RGB) or PGM (P5, grey) with comments anywhere in the header and any
 * maximum value up to 65535 (two bytes a sample, big-endian, above 255). */
static int read_netpbm(FILE *file, dlsc_shape shape, image_source *src, char *error,
                       size_t size) {
  char magic[2];
  long width, height, max;
  if (fread(magic, 1, 2, file) != 2 || magic[0] != 'P' || (magic[1] != '5' && magic[1] != '6') ||
      (width = header_number(file)) < 1 || (height = header_number(file)) < 1 ||
      (max = header_number(file)) < 1) {
    snprintf(error, size, "not a binary PPM (P6) or PGM (P5)");
    return -1;
  }
  int c = fgetc(file); /* one blank ends the header */
  if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
    snprintf(error, size, "not a binary PPM (P6) or PGM (P5)");
    return -1;
  }
  size_t channels = magic[1] == '6' ? 3 : 1;
  if ((size_t)width != shape.width || (size_t)height != shape.height ||
      channels != shape.channels) {
    snprintf(error, size, "image is %ldx%ld %s; the model takes %zux%zu %s", width, height,
             channels == 3 ? "RGB" : "grey", shape.width, shape.height,
             shape.channels == 3 ? "RGB" : shape.channels == 1 ? "grey" : "other images");
    return -1;
  }
  int wide = max > 255;
  size_t bytes = shape.width * shape.height * channels * (wide ? 2 : 1);
  unsigned char *samples = checked_alloc(NULL, bytes);
  int ok = fread(samples, 1, bytes, file) == bytes;
  if (ok)
    planar(samples, wide, (unsigned)max, shape, src);
  else
    snprintf(error, size, "truncated %s", channels == 3 ? "PPM" : "PGM");
  free(samples);
  return ok ? 0 : -1;
}

#ifdef HAVE_PNG
static int read_png(const char *path, dlsc_shape shape, image_source *src, char *error,
                    size_t size) {
  png_image image;
  memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path)) {
    snprintf(error, size, "%s", image.message);
    return -1;
  }
  if (image.width != shape.width || image.height != shape.height ||
      (shape.channels != 3 && shape.channels != 1)) {
    snprintf(error, size, "image is %ux%u; the model takes %zux%zu %s", image.width,
             image.height, shape.width, shape.height,
             shape.channels == 3 ? "RGB" : shape.channels == 1 ? "grey" : "other images");
    png_image_free(&image);
    return -1;
  }
  image.format = shape.channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY; /* converted */
  unsigned char *rgb = checked_alloc(NULL, PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, NULL, rgb, 0, NULL)) {
    snprintf(error, size, "%s", image.message);
    free(rgb);
    return -1;
  }
  planar(rgb, 0, 255, shape, src);
  free(rgb);
  return 0;
}
#endif

static int read_records(FILE *file, dlsc_shape shape, image_source *src, char *error,
                        size_t size) {
  size_t pixels = shape.channels * shape.height * shape.width, record = pixels + 1;
  off_t bytes = -1; /* off_t, not long: 64 bits on 32-bit machines too */
  if (fseeko(file, 0, SEEK_END) == 0)
    bytes = ftello(file);
  if (bytes <= 0 || (size_t)bytes % record != 0 || fseeko(file, 0, SEEK_SET) != 0) {
    snprintf(error, size, "not a whole number of %zu-byte records", record);
    return -1;
  }
  src->count = (size_t)bytes / record;
  src->bytes = checked_alloc(NULL, src->count * pixels);
  src->labels = checked_alloc(NULL, src->count * sizeof *src->labels);
  unsigned char *buffer = checked_alloc(NULL, record);
  for (size_t i = 0; i < src->count; i++) {
    if (fread(buffer, 1, record, file) != record) {
      snprintf(error, size, "cannot read record %zu", i);
      free(buffer);
      return -1;
    }
    src->labels[i] = buffer[0];
    memcpy(src->bytes + i * pixels, buffer + 1, pixels); /* already channel-first */
  }
  free(buffer);
  return 0;
}

/* PNG by its signature or its name; Netpbm by its "P" and its name; else CIFAR records
 * (whose first byte is a label, never 0x89). */
static int read_images(const char *path, dlsc_shape shape, image_source *src, char *error,
                       size_t size) {
  const char *extension = file_extension(path);
  int netpbm = !strcasecmp(extension, "ppm") || !strcasecmp(extension, "pgm") ||
               !strcasecmp(extension, "pnm") || !strcasecmp(extension, "pbm") ||
               !strcasecmp(extension, "pam");
  FILE *file = fopen(path, "rb");
  if (!file) {
    snprintf(error, size, "cannot open: %s", strerror(errno));
    return -1;
  }
  unsigned char magic[4] = {0};
  size_t got = fread(magic, 1, sizeof magic, file);
  rewind(file);
  if ((got == 4 && !memcmp(magic, "\x89PNG", 4)) || !strcasecmp(extension, "png")) {
    fclose(file);
#ifdef HAVE_PNG
    return read_png(path, shape, src, error, size);
#else
    snprintf(error, size, "built without libpng; convert to PPM");
    return -1;
#endif
  }
  int status = got > 0 && magic[0] == 'P' && netpbm
                   ? read_netpbm(file, shape, src, error, size)
                   : read_records(file, shape, src, error, size);
  fclose(file);
  return status;
}

/* The model's "dlsc.classes" metadata: comma-separated names. */
static size_t class_names(const dlsc_model_t *model, char names[][32], size_t classes) {
  char text[4096];
  size_t count = 0;
  if (dlsc_model_get_metadata(model, "dlsc.classes", text, sizeof text, NULL) == DLSC_OK)
    for (char *name = strtok(text, ","); name && count < classes; name = strtok(NULL, ","))
      snprintf(names[count++], 32, "%s", name);
  for (; count < classes; count++)
    snprintf(names[count], 32, "class %zu", count);
  return count;
}

int main(int argc, char **argv) {
  const char *model_path = NULL;
  int first = 1;
  if (argc > 2 && !strcmp(argv[1], "--model")) {
    model_path = argv[2];
    first = 3;
  }
  if (!model_path || first >= argc) {
    fprintf(stderr,
            "usage: dlsc-classify --model FILE image.ppm|image.pgm|image.png|records.bin ...\n");
    return 2;
  }
  dlsc_model_t *model = load_model(model_path);
  if (!model)
    return 1;
  dlsc_model_info info;
  dlsc_model_get_info(model, &info);
  size_t classes = info.output.channels * info.output.height * info.output.width;
  if (classes < 2 || classes > MAX_CLASSES) {
    fprintf(stderr, "%s is not a classifier (%zu outputs)\n", model_path, classes);
    return 1;
  }
  char names[MAX_CLASSES][32];
  class_names(model, names, classes);
  int failures = 0;
  size_t correct = 0, labeled = 0;
  for (int a = first; a < argc; a++) {
    image_source src = {0};
    char error[256];
    if (read_images(argv[a], info.input, &src, error, sizeof error) != 0) {
      fprintf(stderr, "%s: %s\n", argv[a], error);
      failures++;
      free(src.pixels); /* what a reader had allocated before it failed */
      free(src.bytes);
      free(src.labels);
      continue;
    }
    float *probabilities = checked_alloc(NULL, src.count * classes * sizeof *probabilities);
    int32_t *top = checked_alloc(NULL, src.count * sizeof *top);
    dlsc_status status =
        src.bytes ? dlsc_model_classify_u8(model, src.bytes, src.count, top, probabilities)
                  : dlsc_model_classify(model, src.pixels, src.count, top, probabilities);
    if (status != DLSC_OK) {
      fprintf(stderr, "%s: %s\n", argv[a], dlsc_strerror(status));
      failures++;
    }
    for (size_t i = 0; status == DLSC_OK && i < src.count; i++) {
      const float *p = probabilities + i * classes;
      size_t order[MAX_CLASSES]; /* classes by decreasing probability, the top one first */
      for (size_t c = 0; c < classes; c++)
        order[c] = c;
      for (size_t c = 1; c < classes; c++)
        for (size_t j = c; j > 0 && p[order[j]] > p[order[j - 1]]; j--) {
          size_t t = order[j];
          order[j] = order[j - 1];
          order[j - 1] = t;
        }
      if (src.count > 1)
        printf("%s[%zu]:", argv[a], i);
      else
        printf("%s:", argv[a]);
      printf(" %s %.1f%%", names[top[i]], 100.0 * p[top[i]]);
      for (int k = 0, shown = 1; shown < 3 && (size_t)k < classes; k++)
        if ((int32_t)order[k] != top[i]) {
          printf(" %s %.1f%%", names[order[k]], 100.0 * p[order[k]]);
          shown++;
        }
      if (src.labels[i] >= 0) {
        if (src.labels[i] < (int)classes)
          printf("  (label: %s)", names[src.labels[i]]);
        else /* a record's byte beyond the model's classes: shown, counted wrong */
          printf("  (label: %d, not a class of the model)", src.labels[i]);
        labeled++;
        correct += top[i] == src.labels[i];
      }
      printf("\n");
    }
    free(probabilities);
    free(top);
    free(src.pixels);
    free(src.bytes);
    free(src.labels);
  }
  if (labeled > 1)
    printf("%zu of %zu labeled images right (%.2f%%)\n", correct, labeled,
           100.0 * (double)correct / (double)labeled);
  dlsc_model_destroy(model);
  return failures ? 1 : 0;
}
