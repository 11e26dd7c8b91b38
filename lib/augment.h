#ifndef DLSC_AUGMENT_H
#define DLSC_AUGMENT_H

#include "internal.h"

void dlsc_image_flip(float *image, size_t channels, size_t height, size_t width, bool horizontal);
void dlsc_image_rotate(const float *src, float *dst, size_t channels, size_t side,
                       unsigned quarter_turns);
/* Applies the enabled augmentations in a fixed order (crop, flip, rotation, brightness,
 * contrast, cutout), drawing from rng; work holds one image. alternate_mirror: whether
 * DLSC_FLIP_ALTERNATE mirrors this image now (the dataset knows). */
void dlsc_image_augment(float *image, float *work, size_t channels, size_t height, size_t width,
                        const dlsc_augment_config *config, bool alternate_mirror,
                        dlsc_rng *rng);
/* The pretext task's transform number transform, src to dst (square images). */
void dlsc_image_pretext(const float *src, float *dst, size_t channels, size_t side,
                        dlsc_task task, unsigned transform);

#endif
