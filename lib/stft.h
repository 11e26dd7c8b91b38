/* Frame-level STFT pieces shared by the whole-signal, dataset and streaming paths. */
#ifndef DLSC_STFT_H
#define DLSC_STFT_H

#include "internal.h"

const dlsc_stft_config *dlsc_stft_config_of(const dlsc_stft_t *stft);
size_t dlsc_stft_frames_for(const dlsc_stft_t *stft, size_t n_samples);
size_t dlsc_stft_padding(const dlsc_stft_t *stft); /* n_fft - hop zeros before sample 0 */

/* Windows n_fft samples and transforms them; any of the outputs may be NULL
 * (spectrum: interleaved re, im). */
void dlsc_stft_analyze_frame(dlsc_stft_t *stft, const float *segment, float *magnitude,
                             float *phase, float *spectrum);
/* Inverse-transforms one frame (from magnitude + phase, or from spectrum when it is
 * not NULL) and applies the synthesis window: the frame's overlap-add contribution. */
void dlsc_stft_synthesize_frame(dlsc_stft_t *stft, const float *magnitude, const float *phase,
                                const float *spectrum, float *windowed);
/* The factors that complete overlap-add, hop of them: padded sample position p takes
 * factor [p % hop]. */
const float *dlsc_stft_inverse_norms(const dlsc_stft_t *stft);

#endif
