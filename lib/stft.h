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
/* Overlap-adds frame k's contribution (windowed, n_fft floats) into ring, n_fft doubles
 * that start zeroed, frames taken in order 0, 1, 2, ...: no frame after k reaches below
 * padded position (k + 1) hop, so the hop samples from k hop on are final. Writes them,
 * divided by the sum of squared windows over them, to finished (hop floats; it may be
 * windowed itself) and clears their slots. Sums in double: with a hop of 1, n_fft
 * frames overlap, and float sums of that many lost the 1e-5 round trip (fuzz_stft). */
void dlsc_stft_overlap_add(const dlsc_stft_t *stft, double *ring, size_t k, const float *windowed,
                           float *finished);

#endif
