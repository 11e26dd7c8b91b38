/* Image transforms for augmentation and pretext tasks, on one [C][H][W] float image. */
#include "augment.h"

#include <string.h>

static float clip01(float value) { return value < 0.0f ? 0.0f : value > 1.0f ? 1.0f : value; }

/* Mirror left-right (horizontal = false: upside down). */
void dlsc_image_flip(float *image, size_t channels, size_t height, size_t width, bool horizontal) {
  for (size_t c = 0; c < channels; c++) {
    float *plane = image + c * height * width;
    if (horizontal) {
      for (size_t h = 0; h < height; h++)
        for (size_t w = 0; w < width / 2; w++) {
          float t = plane[h * width + w];
          plane[h * width + w] = plane[h * width + width - 1 - w];
          plane[h * width + width - 1 - w] = t;
        }
    } else {
      for (size_t h = 0; h < height / 2; h++)
        for (size_t w = 0; w < width; w++) {
          float t = plane[h * width + w];
          plane[h * width + w] = plane[(height - 1 - h) * width + w];
          plane[(height - 1 - h) * width + w] = t;
        }
    }
  }
}

/* Rotates a square image by quarter_turns * 90 degrees counter-clockwise, src to dst. */
void dlsc_image_rotate(const float *src, float *dst, size_t channels, size_t side,
                       unsigned quarter_turns) {
  size_t n = side, last = side - 1;
  for (size_t c = 0; c < channels; c++) {
    const float *in = src + c * n * n;
    float *out = dst + c * n * n;
    for (size_t h = 0; h < n; h++)
      for (size_t w = 0; w < n; w++) {
        size_t sh, sw; /* the source pixel that lands on (h, w) */
        switch (quarter_turns & 3u) {
        case 0: sh = h, sw = w; break;
        case 1: sh = w, sw = last - h; break;
        case 2: sh = last - h, sw = last - w; break;
        default: sh = last - w, sw = h; break;
        }
        out[h * n + w] = in[sh * n + sw];
      }
  }
}

/* Source index of position at (padded index - pad) in 0 .. n-1; -1 for a zero pixel. */
static ptrdiff_t padded_source(ptrdiff_t at, size_t n, bool reflect) {
  ptrdiff_t last = (ptrdiff_t)n - 1;
  if (at >= 0 && at <= last)
    return at;
  if (!reflect)
    return -1;
  return at < 0 ? -at : 2 * last - at; /* pad < n keeps this inside */
}

/* The window at (top, left) of the image padded by pad on every side (zeros or mirror). */
static void crop(const float *src, float *dst, size_t channels, size_t height, size_t width,
                 size_t pad, bool reflect, size_t top, size_t left) {
  for (size_t c = 0; c < channels; c++)
    for (size_t h = 0; h < height; h++) {
      ptrdiff_t sh = padded_source((ptrdiff_t)(h + top) - (ptrdiff_t)pad, height, reflect);
      float *row = dst + (c * height + h) * width;
      if (sh < 0) {
        memset(row, 0, width * sizeof *row);
        continue;
      }
      const float *in = src + (c * height + (size_t)sh) * width;
      for (size_t w = 0; w < width; w++) {
        ptrdiff_t sw = padded_source((ptrdiff_t)(w + left) - (ptrdiff_t)pad, width, reflect);
        row[w] = sw >= 0 ? in[sw] : 0.0f;
      }
    }
}

void dlsc_image_augment(float *image, float *work, size_t channels, size_t height, size_t width,
                        const dlsc_augment_config *config, bool alternate_mirror,
                        dlsc_rng *rng) {
  size_t size = channels * height * width;
  if (config->crop_padding) {
    size_t span = 2 * config->crop_padding + 1;
    size_t top = dlsc_rng_below(rng, (uint32_t)span), left = dlsc_rng_below(rng, (uint32_t)span);
    crop(image, work, channels, height, width, config->crop_padding, config->crop_reflect != 0,
         top, left);
    memcpy(image, work, size * sizeof *image);
  }
  bool mirror = config->horizontal_flip == DLSC_FLIP_ALTERNATE ? alternate_mirror
                : config->horizontal_flip == DLSC_FLIP_RANDOM ? dlsc_rng_below(rng, 2) != 0
                                                              : false;
  if (mirror)
    dlsc_image_flip(image, channels, height, width, true);
  if (config->rotate90) {
    unsigned turns = dlsc_rng_below(rng, 4);
    if (turns) {
      dlsc_image_rotate(image, work, channels, height, turns);
      memcpy(image, work, size * sizeof *image);
    }
  }
  if (config->brightness > 0.0f) {
    float factor = 1.0f + config->brightness * (2.0f * dlsc_rng_uniform(rng) - 1.0f);
    for (size_t i = 0; i < size; i++)
      image[i] = clip01(image[i] * factor);
  }
  if (config->contrast > 0.0f) {
    float factor = 1.0f + config->contrast * (2.0f * dlsc_rng_uniform(rng) - 1.0f);
    double sum = 0.0;
    for (size_t i = 0; i < size; i++)
      sum += image[i];
    float mean = (float)(sum / (double)size);
    for (size_t i = 0; i < size; i++)
      image[i] = clip01(mean + (image[i] - mean) * factor);
  }
  if (config->cutout) {
    /* The square's centre may lie anywhere, so squares clipped by the border occur too. */
    size_t side = config->cutout;
    size_t ch = dlsc_rng_below(rng, (uint32_t)height), cw = dlsc_rng_below(rng, (uint32_t)width);
    size_t h0 = ch > side / 2 ? ch - side / 2 : 0, w0 = cw > side / 2 ? cw - side / 2 : 0;
    size_t h1 = DLSC_MIN(h0 + side, height), w1 = DLSC_MIN(w0 + side, width);
    for (size_t c = 0; c < channels; c++)
      for (size_t h = h0; h < h1; h++)
        memset(image + (c * height + h) * width + w0, 0, (w1 - w0) * sizeof *image);
  }
}

void dlsc_image_pretext(const float *src, float *dst, size_t channels, size_t side,
                        dlsc_task task, unsigned transform) {
  size_t size = channels * side * side;
  if (task == DLSC_TASK_ROTATE4) {
    dlsc_image_rotate(src, dst, channels, side, transform);
    return;
  }
  /* FLIP_ROTATE3: 0 identity, 1 upside down, 2 a quarter turn. */
  if (transform == 2) {
    dlsc_image_rotate(src, dst, channels, side, 1);
    return;
  }
  memcpy(dst, src, size * sizeof *dst);
  if (transform == 1)
    dlsc_image_flip(dst, channels, side, side, false);
}
