/* Spectral denoising. One engine serves the whole-signal call and the stream: it
 * frames pushed samples exactly as dlsc_stft_forward does, runs the model on each
 * frame's context window as soon as the window is complete, resynthesises with the
 * noisy phase, and queues finished samples. The whole-signal call is the stream fed
 * one big chunk, so the two agree; dlsc_denoise_gains feeds it magnitude frames and
 * takes each frame's gains instead of resynthesising. A stream at another sample rate
 * puts streaming resamplers around the engine (the last section). */
#include "stft.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Frames per model call: in a stream up to 64, enough to feed GEMM and few enough for a
 * short stall and a small handle; for a whole signal up to 256, over which the BLAS
 * spreads the packing of each weight matrix (the general model 1,560x -> 1,700-1,780x
 * real time on one core; 512 no faster). Fewer where the model's inference workspace
 * for a batch would pass ENGINE_WORKSPACE (models with wide early layers). The cnn2
 * denoiser gets 16 (12.4 MiB instead of 33.6 for 64): whole signals run as fast (33x
 * real time on one core either way), 4 would cost a quarter. */
#define ENGINE_STREAM_BATCH 64
#define ENGINE_WHOLE_BATCH 256
#define ENGINE_WORKSPACE ((size_t)4 << 20) /* floats: 16 MiB */

/* Finished samples, handed out after latency zeros: a ring. The engine's output and a
 * stream's at another rate (its resampled chain) are both delay queues. */
typedef struct delay_queue {
  float *ring;
  size_t capacity, start, count, emitted, latency;
} delay_queue;

static void delay_push(delay_queue *q, float sample) {
  size_t at = q->start + q->count;
  q->ring[at < q->capacity ? at : at - q->capacity] = sample;
  q->count++;
}

static void delay_emit(delay_queue *q, float *out, size_t count) {
  for (size_t i = 0; i < count; i++, q->emitted++) {
    if (q->emitted < q->latency || q->count == 0) {
      out[i] = 0.0f;
      continue;
    }
    out[i] = q->ring[q->start];
    q->start = q->start + 1 < q->capacity ? q->start + 1 : 0;
    q->count--;
  }
}

static void delay_reset(delay_queue *q) {
  q->start = q->count = q->emitted = 0;
}

typedef struct engine {
  dlsc_model_t *model;
  dlsc_stft_t *stft;
  dlsc_denoise_config config;
  size_t n_fft, hop, bins, window, pad, latency;
  size_t batch;          /* frames per model call */

  float *segment;        /* the padded samples of the next frame, n_fft */
  size_t segment_fill;
  /* Analysed frames first_held .. n_analysed-1: magnitudes [frame][bin] and complex
   * spectra [frame][bin][re, im]. */
  float *magnitudes, *spectra;
  size_t first_held, n_analysed, n_processed, held_capacity;
  /* The model's row-local leading layers run once per frame, not once per window
   * position: features [frame][feature_width] of frames first_held .. n_featured-1,
   * and the feature row of a zero frame (outside the signal). */
  size_t prefix, feature_width, n_featured;
  float *features, *zero_features;
  float *model_in, *frame_spectrum, *windowed;
  double *ring;          /* overlap-add of the frames up to n_processed (dlsc_stft_overlap_add) */
  delay_queue queue;     /* finished samples not yet emitted */

  float *gains;          /* dlsc_denoise_gains: [frame][bin] written instead of synthesis */

  size_t samples_in;
  bool ending;           /* flushing: the signal ended at samples_in */
  size_t total_frames;   /* when ending */
} engine;

dlsc_status dlsc_denoise_config_init_(dlsc_denoise_config *config, size_t struct_size) {
  if (!config || struct_size < sizeof(size_t))
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_denoise_config defaults;
  memset(&defaults, 0, sizeof defaults);
  defaults.n_fft = 1024;
  defaults.hop_length = 512;
  defaults.window = DLSC_WINDOW_HANN;
  defaults.mask = 1;
  memset(config, 0, struct_size);
  memcpy(config, &defaults, DLSC_MIN(struct_size, sizeof defaults));
  config->struct_size = struct_size;
  return DLSC_OK;
}

/* The model must take [1][window][bins] and give bins values. */
static dlsc_status check_model_fits(const dlsc_model_t *model, const dlsc_denoise_config *c) {
  size_t bins = c->n_fft / 2 + 1, window = c->context_before + 1 + c->context_after;
  if (model->input.channels != 1 || model->input.height != window || model->input.width != bins ||
      model->n_layers == 0 || dlsc_model_output_size(model) != bins)
    return DLSC_ERR_SHAPE_MISMATCH;
  return DLSC_OK;
}

static dlsc_stft_config stft_config_of(const dlsc_denoise_config *c) {
  dlsc_stft_config stft;
  dlsc_stft_config_init(&stft);
  stft.n_fft = c->n_fft;
  stft.hop_length = c->hop_length;
  stft.window = c->window;
  return stft;
}

dlsc_status dlsc_model_set_denoise(dlsc_model_t *model, const dlsc_denoise_config *user_config) {
  dlsc_denoise_config config;
  if (!model)
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_denoise_config_init(&config);
  DLSC_TRY(dlsc_import_config(&config, sizeof config, user_config));
  config.struct_size = sizeof config;
  if (config.context_before > 64 || config.context_after > 64 || (unsigned)config.mask > 1)
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_stft_config stft_config = stft_config_of(&config);
  dlsc_stft_t *stft; /* the STFT's own checks decide which n_fft, hop and window work */
  DLSC_TRY(dlsc_stft_create(&stft_config, &stft));
  dlsc_stft_destroy(stft);
  DLSC_TRY(check_model_fits(model, &config));
  model->denoise = config;
  model->has_denoise = true;
  return DLSC_OK;
}

dlsc_status dlsc_model_get_denoise(const dlsc_model_t *model, dlsc_denoise_config *config) {
  if (!model || !config || config->struct_size < sizeof(size_t))
    return DLSC_ERR_INVALID_ARGUMENT;
  if (!model->has_denoise)
    return DLSC_ERR_NOT_FOUND;
  size_t size = config->struct_size;
  memcpy((char *)config + sizeof(size_t), (const char *)&model->denoise + sizeof(size_t),
         DLSC_MIN(size, sizeof model->denoise) - sizeof(size_t));
  return DLSC_OK;
}

dlsc_status dlsc_stft_create_for_model(const dlsc_model_t *model, dlsc_stft_t **stft) {
  if (!model || !stft)
    return DLSC_ERR_INVALID_ARGUMENT;
  if (!model->has_denoise)
    return DLSC_ERR_NOT_FOUND;
  dlsc_stft_config config = stft_config_of(&model->denoise);
  return dlsc_stft_create(&config, stft);
}

/* ---- the engine */

static void engine_free(engine *e) {
  free(e->segment);
  free(e->magnitudes);
  free(e->features);
  free(e->zero_features);
  free(e->spectra);
  free(e->model_in);
  free(e->frame_spectrum);
  free(e->windowed);
  free(e->ring);
  free(e->queue.ring);
  memset(e, 0, sizeof *e);
}

static void engine_reset(engine *e) {
  memset(e->segment, 0, e->n_fft * sizeof *e->segment);
  memset(e->ring, 0, e->n_fft * sizeof *e->ring);
  e->segment_fill = e->pad; /* the leading zeros of the framing */
  e->first_held = e->n_analysed = e->n_processed = e->n_featured = 0;
  delay_reset(&e->queue);
  e->samples_in = 0;
  e->ending = false;
  e->total_frames = 0;
}

static size_t engine_batch(const dlsc_model_t *model, size_t most) {
  size_t batch = most;
  while (batch > 1 && dlsc_model_inference_floats(model, batch) > ENGINE_WORKSPACE)
    batch /= 2;
  return batch;
}

/* model and stft are borrowed; both must outlive the engine. Up to most frames per
 * model call (ENGINE_STREAM_BATCH or ENGINE_WHOLE_BATCH). */
static dlsc_status engine_init(engine *e, dlsc_model_t *model, dlsc_stft_t *stft, size_t most) {
  const dlsc_denoise_config *c = &model->denoise;
  memset(e, 0, sizeof *e);
  e->model = model;
  e->stft = stft;
  e->config = *c;
  e->n_fft = c->n_fft;
  e->hop = c->hop_length;
  e->bins = c->n_fft / 2 + 1;
  e->window = c->context_before + 1 + c->context_after;
  e->pad = dlsc_stft_padding(stft);
  e->latency = c->n_fft - 1 + c->context_after * c->hop_length;
  e->batch = engine_batch(model, most);
  e->held_capacity = e->window + e->batch;
  e->queue.capacity = e->latency + (e->batch + 2) * e->hop;
  e->queue.latency = e->latency;
  e->prefix = dlsc_model_row_prefix(model, &e->feature_width);
  e->segment = dlsc_alloc_floats(e->n_fft);
  e->magnitudes = dlsc_alloc_floats(e->held_capacity * e->bins);
  e->features = dlsc_alloc_floats(e->held_capacity * e->feature_width);
  e->zero_features = dlsc_alloc_floats(DLSC_MAX(e->feature_width, e->bins));
  e->spectra = dlsc_alloc_floats(2 * e->held_capacity * e->bins);
  e->model_in = dlsc_alloc_floats(e->batch * e->window * e->feature_width);
  e->frame_spectrum = dlsc_alloc_floats(2 * e->bins);
  e->windowed = dlsc_alloc_floats(e->n_fft);
  e->ring = malloc(e->n_fft * sizeof *e->ring);
  e->queue.ring = dlsc_alloc_floats(e->queue.capacity);
  dlsc_status status = DLSC_ERR_OUT_OF_MEMORY;
  if (e->segment && e->magnitudes && e->features && e->zero_features && e->spectra &&
      e->model_in && e->frame_spectrum && e->windowed && e->ring && e->queue.ring)
    status = dlsc_model_reserve(model, e->batch, false);
  if (status != DLSC_OK) {
    engine_free(e);
    return status;
  }
  memset(e->zero_features, 0, e->bins * sizeof *e->zero_features);
  const float *zero = dlsc_model_forward_rows(model, e->prefix, e->zero_features, 1);
  memmove(e->zero_features, zero, e->feature_width * sizeof *zero);
  engine_reset(e);
  return DLSC_OK;
}

/* The features of a frame of the context window, those of a zero frame outside. */
static const float *held_row(const engine *e, ptrdiff_t frame) {
  if (frame < 0 || (size_t)frame < e->first_held || (size_t)frame >= e->n_analysed ||
      (e->ending && (size_t)frame >= e->total_frames))
    return e->zero_features;
  return e->features + ((size_t)frame - e->first_held) * e->feature_width;
}

/* Runs the row-local layers on the frames analysed since the last call. */
static void compute_features(engine *e) {
  size_t most = e->model->batch_capacity * e->window; /* what the workspace holds */
  while (e->n_featured < e->n_analysed) {
    size_t n = DLSC_MIN(e->n_analysed - e->n_featured, most), row = e->n_featured - e->first_held;
    const float *y =
        dlsc_model_forward_rows(e->model, e->prefix, e->magnitudes + row * e->bins, n);
    memcpy(e->features + row * e->feature_width, y, n * e->feature_width * sizeof *y);
    e->n_featured += n;
  }
}

/* A model output as the factor of its noisy bin, whose magnitude is noisy: the mask,
 * or |X| / |Y|. A magnitude model's |X| where that ratio cannot be formed (|Y| 0, or so
 * small that the ratio overflows) goes to *direct, the bin's magnitude at phase 0, with
 * gain 0. An output that is not finite, or would take the bin beyond
 * DLSC_SPECTRUM_LIMIT, mutes its bin (gain and *direct 0) rather than poisoning the
 * signal: within that limit the synthesis cannot overflow (stft.c). */
static float bin_gain(int mask, float value, float noisy, float *direct) {
  *direct = 0.0f;
  if (mask) /* a product that overflows to infinity fails the test too */
    return fabsf(value) * noisy <= DLSC_SPECTRUM_LIMIT ? value : 0.0f;
  if (!(value > 0.0f && value <= DLSC_SPECTRUM_LIMIT)) /* NaN fails too */
    return 0.0f;
  float ratio = noisy > 0.0f ? value / noisy : INFINITY;
  if (ratio <= FLT_MAX)
    return ratio;
  *direct = value;
  return 0.0f;
}

/* The denoised frame keeps the noisy phase: Y scaled by its gains, each raised by the
 * attenuation limit's floor to floor + (1 - floor) gain (floor 0: the gain itself). */
static void synthesize(engine *e, size_t frame, const float *output, float floor) {
  const float *noisy = e->magnitudes + (frame - e->first_held) * e->bins;
  float direct;
  if (e->gains) {
    for (size_t b = 0; b < e->bins; b++)
      e->gains[frame * e->bins + b] =
          floor + (1.0f - floor) * bin_gain(e->config.mask, output[b], noisy[b], &direct);
    return;
  }
  const float *spectrum = e->spectra + 2 * (frame - e->first_held) * e->bins;
  float *out = e->frame_spectrum;
  for (size_t b = 0; b < e->bins; b++) {
    float gain = floor + (1.0f - floor) * bin_gain(e->config.mask, output[b], noisy[b], &direct);
    /* without a noisy phase to keep, the magnitude at phase 0, as atan2(0, 0) gives */
    out[2 * b] = gain * spectrum[2 * b] + (1.0f - floor) * direct;
    out[2 * b + 1] = gain * spectrum[2 * b + 1];
  }
  dlsc_stft_synthesize_frame(e->stft, NULL, NULL, out, e->windowed);
  dlsc_stft_overlap_add(e->stft, e->ring, frame, e->windowed, e->windowed);
  size_t limit = e->ending ? e->samples_in : SIZE_MAX;
  for (size_t j = 0; j < e->hop; j++) { /* the padding and what lies past the end go */
    size_t padded = frame * e->hop + j;
    if (padded >= e->pad && padded - e->pad < limit)
      delay_push(&e->queue, e->windowed[j]);
  }
}

static size_t frames_ready(const engine *e) {
  if (e->ending)
    return e->total_frames - e->n_processed;
  size_t complete = e->n_analysed > e->config.context_after ? e->n_analysed - e->config.context_after
                                                             : 0;
  return complete > e->n_processed ? complete - e->n_processed : 0;
}

static void run_model(engine *e, size_t count) {
  compute_features(e);
  size_t row_floats = e->feature_width, example = e->window * row_floats;
  for (size_t i = 0; i < count; i++) {
    ptrdiff_t frame = (ptrdiff_t)(e->n_processed + i);
    for (size_t w = 0; w < e->window; w++) {
      const float *row = held_row(e, frame - (ptrdiff_t)e->config.context_before + (ptrdiff_t)w);
      memcpy(e->model_in + i * example + w * row_floats, row, row_floats * sizeof *row);
    }
  }
  const float *outputs = dlsc_model_forward_from(e->model, e->prefix, e->model_in, count, false);
  float floor = (float)pow(10.0, -e->model->attenuation_limit_db / 20.0); /* 0 for INFINITY */
  for (size_t i = 0; i < count; i++)
    synthesize(e, e->n_processed + i, outputs + i * e->bins, floor);
  e->n_processed += count;
  /* Keep only the frames a future window can still reach. */
  size_t keep_from = e->n_processed > e->config.context_before
                         ? e->n_processed - e->config.context_before
                         : 0;
  if (keep_from > e->first_held) {
    size_t drop = keep_from - e->first_held, kept = e->n_analysed - keep_from;
    memmove(e->magnitudes, e->magnitudes + drop * e->bins, kept * e->bins * sizeof(float));
    memmove(e->features, e->features + drop * e->feature_width,
            (e->n_featured - keep_from) * e->feature_width * sizeof(float));
    memmove(e->spectra, e->spectra + 2 * drop * e->bins, 2 * kept * e->bins * sizeof(float));
    e->first_held = keep_from;
  }
}

static void run_ready(engine *e, size_t at_least) {
  for (size_t ready; (ready = frames_ready(e)) >= at_least && ready > 0;)
    run_model(e, DLSC_MIN(ready, e->batch));
}

/* Appends samples (NULL: zeros) to the framing; each completed frame is analysed. */
static void push(engine *e, const float *samples, size_t count) {
  while (count > 0) {
    size_t take = DLSC_MIN(count, e->n_fft - e->segment_fill);
    if (samples)
      memcpy(e->segment + e->segment_fill, samples, take * sizeof *samples);
    else
      memset(e->segment + e->segment_fill, 0, take * sizeof *e->segment);
    e->segment_fill += take;
    count -= take;
    samples = samples ? samples + take : NULL;
    if (e->segment_fill < e->n_fft)
      break;
    if (e->n_analysed - e->first_held == e->held_capacity)
      run_ready(e, 1); /* make room; cannot happen while frames are processed on time */
    size_t row = (e->n_analysed - e->first_held) * e->bins;
    dlsc_stft_analyze_frame(e->stft, e->segment, e->magnitudes + row, NULL, e->spectra + 2 * row);
    e->n_analysed++;
    memmove(e->segment, e->segment + e->hop, (e->n_fft - e->hop) * sizeof *e->segment);
    e->segment_fill -= e->hop;
    run_ready(e, e->batch);
  }
}

static void engine_process(engine *e, const float *in, size_t count, float *out) {
  size_t step = e->batch * e->hop; /* bounds the queue between emissions */
  for (size_t done = 0; done < count; done += step) {
    size_t n = DLSC_MIN(step, count - done);
    push(e, in + done, n);
    e->samples_in += n;
    run_ready(e, 1);
    delay_emit(&e->queue, out + done, n); /* the first latency samples: zeros */
  }
}

static void engine_flush(engine *e, float *out) {
  e->total_frames = (e->samples_in + e->pad + e->hop - 1) / e->hop;
  while (e->n_analysed < e->total_frames)
    push(e, NULL, e->n_fft - e->segment_fill);
  e->ending = true;
  run_ready(e, 1);
  delay_emit(&e->queue, out, e->latency);
  engine_reset(e);
}

/* ---- whole signals */

static dlsc_status check_stft_matches(const dlsc_model_t *model, const dlsc_stft_t *stft) {
  const dlsc_stft_config *s = dlsc_stft_config_of(stft);
  const dlsc_denoise_config *d = &model->denoise;
  if (s->n_fft != d->n_fft || s->hop_length != d->hop_length || s->window != d->window)
    return DLSC_ERR_SHAPE_MISMATCH;
  return check_model_fits(model, d);
}

dlsc_status dlsc_denoise(dlsc_model_t *model, dlsc_stft_t *stft, const float *noisy,
                         size_t n_samples, float *out) {
  if (!model || !stft || !noisy || !out || n_samples == 0 || n_samples > SIZE_MAX / 4 ||
      noisy == out)
    return DLSC_ERR_INVALID_ARGUMENT;
  if (!model->has_denoise)
    return DLSC_ERR_INVALID_ARGUMENT;
  DLSC_TRY(check_stft_matches(model, stft));
  if (!dlsc_all_within(noisy, n_samples, DLSC_SAMPLE_LIMIT))
    return DLSC_ERR_NUMERIC;
  engine e;
  DLSC_TRY(engine_init(&e, model, stft, ENGINE_WHOLE_BATCH));
  /* Stream output t is out[t - latency]: the delay line's zeros go to scratch. */
  size_t latency = e.latency, head = DLSC_MIN(latency, n_samples);
  float *scratch = dlsc_alloc_floats(latency);
  if (!scratch) {
    engine_free(&e);
    return DLSC_ERR_OUT_OF_MEMORY;
  }
  engine_process(&e, noisy, head, scratch);
  engine_process(&e, noisy + head, n_samples - head, out);
  if (n_samples >= latency) {
    engine_flush(&e, out + n_samples - latency);
  } else {
    engine_flush(&e, scratch);
    memcpy(out, scratch + latency - n_samples, n_samples * sizeof *out);
  }
  free(scratch);
  engine_free(&e);
  return DLSC_OK;
}

dlsc_status dlsc_denoise_gains(dlsc_model_t *model, const float *magnitude, size_t n_frames,
                               float *gains) {
  if (!model || !magnitude || !gains || n_frames == 0 || !model->has_denoise)
    return DLSC_ERR_INVALID_ARGUMENT;
  DLSC_TRY(check_model_fits(model, &model->denoise));
  size_t bins = model->denoise.n_fft / 2 + 1;
  if (n_frames > SIZE_MAX / sizeof(float) / bins)
    return DLSC_ERR_INVALID_ARGUMENT;
  if (!dlsc_all_within(magnitude, n_frames * bins, DLSC_SPECTRUM_LIMIT))
    return DLSC_ERR_NUMERIC;
  for (size_t i = 0; i < n_frames * bins; i++)
    if (magnitude[i] < 0.0f)
      return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_stft_t *stft;
  DLSC_TRY(dlsc_stft_create_for_model(model, &stft));
  engine e;
  dlsc_status status = engine_init(&e, model, stft, ENGINE_WHOLE_BATCH);
  if (status != DLSC_OK) {
    dlsc_stft_destroy(stft);
    return status;
  }
  /* Frames are copied in before any gain of theirs is written: gains may be magnitude. */
  e.gains = gains;
  for (size_t t = 0; t < n_frames; t++) {
    if (e.n_analysed - e.first_held == e.held_capacity)
      run_ready(&e, 1);
    memcpy(e.magnitudes + (e.n_analysed - e.first_held) * bins, magnitude + t * bins,
           bins * sizeof *magnitude);
    e.n_analysed++;
    run_ready(&e, e.batch);
  }
  e.ending = true;
  e.total_frames = n_frames;
  run_ready(&e, 1);
  engine_free(&e);
  dlsc_stft_destroy(stft);
  return DLSC_OK;
}

/* ---- streams: an engine over the stream's own model copy and STFT; at another rate
 * than the model's, a resampler on each side of it (docs/api.md's chain) */

#define RATE_STEP 512 /* host samples per pass through the chain */

/* The chain: down -> engine -> (its latency's silence dropped) -> up -> fifo. The fifo
 * hands out its latency's zeros first, then up's output: the whole-signal path (resample,
 * denoise, resample back) delayed by latency host samples. latency bounds how far up's
 * output can trail the input (dlsc_stream_create_at_rate), so the fifo never runs dry. */
typedef struct rate_chain {
  dlsc_resampler_t *down, *up;
  size_t skip;
  float *a, *b, *c; /* down's output, the engine's, up's */
  size_t a_capacity, b_capacity, c_capacity;
  delay_queue fifo;
} rate_chain;

struct dlsc_stream {
  dlsc_model_t *model;
  dlsc_stft_t *stft;
  engine engine;
  rate_chain *chain; /* NULL at the model's rate */
};

static void chain_free(rate_chain *c) {
  if (!c)
    return;
  dlsc_resampler_destroy(c->down);
  dlsc_resampler_destroy(c->up);
  free(c->a);
  free(c->b);
  free(c->c);
  free(c->fifo.ring);
  free(c);
}

static void chain_reset(rate_chain *c, size_t engine_latency) {
  dlsc_resampler_reset(c->down);
  dlsc_resampler_reset(c->up);
  c->skip = engine_latency;
  delay_reset(&c->fifo);
}

static size_t scaled_up(double samples, unsigned to, unsigned from) {
  return (size_t)ceil(samples * to / from) + 4;
}

static dlsc_status chain_create(rate_chain **out, size_t engine_latency, unsigned model_rate,
                                unsigned rate) {
  rate_chain *c = calloc(1, sizeof *c);
  if (!c)
    return DLSC_ERR_OUT_OF_MEMORY;
  double reach_down = dlsc_resample_reach(rate, model_rate);  /* host samples */
  double reach_up = dlsc_resample_reach(model_rate, rate);    /* model samples */
  /* down emits output j once its reach is in: ceil((N - reach_down) mr / r) outputs
   * after N inputs; the engine passes them on, less its latency L; up likewise, so
   * its output trails N by at most reach_down + (L + reach_up) r / mr */
  c->fifo.latency =
      (size_t)ceil(reach_down + ((double)engine_latency + reach_up) * rate / model_rate) + 1;
  c->a_capacity = scaled_up(RATE_STEP + reach_down + 2.0, model_rate, rate);
  c->b_capacity = c->a_capacity + engine_latency;
  c->c_capacity = scaled_up((double)c->b_capacity + reach_up + 2.0, rate, model_rate);
  c->fifo.capacity = c->fifo.latency + 2 * c->c_capacity; /* up's output never fills it */
  dlsc_status status = dlsc_resampler_create(rate, model_rate, &c->down);
  if (status == DLSC_OK)
    status = dlsc_resampler_create(model_rate, rate, &c->up);
  /* all memory now: processing never allocates, so the chain's calls cannot fail */
  if (status == DLSC_OK)
    status = dlsc_resampler_reserve(c->down, RATE_STEP);
  if (status == DLSC_OK)
    status = dlsc_resampler_reserve(c->up, c->b_capacity);
  if (status == DLSC_OK && (!(c->a = dlsc_alloc_floats(c->a_capacity)) ||
                            !(c->b = dlsc_alloc_floats(c->b_capacity)) ||
                            !(c->c = dlsc_alloc_floats(c->c_capacity)) ||
                            !(c->fifo.ring = dlsc_alloc_floats(c->fifo.capacity))))
    status = DLSC_ERR_OUT_OF_MEMORY;
  if (status != DLSC_OK) {
    chain_free(c);
    return status;
  }
  chain_reset(c, engine_latency);
  *out = c;
  return DLSC_OK;
}

/* n samples of down's output through the engine (with flush, its last latency samples
 * too), its leading silence dropped, the rest through up into the fifo. */
static void chain_engine(dlsc_stream_t *stream, size_t n, bool flush) {
  rate_chain *c = stream->chain;
  size_t latency = stream->engine.latency, got;
  engine_process(&stream->engine, c->a, n, c->b);
  if (flush) {
    engine_flush(&stream->engine, c->b + n);
    n += latency;
  }
  size_t drop = DLSC_MIN(c->skip, n);
  c->skip -= drop;
  dlsc_resampler_run(c->up, c->b + drop, n - drop, c->c, c->c_capacity, &got, FLT_MAX / 8);
  for (size_t i = 0; i < got; i++)
    delay_push(&c->fifo, c->c[i]);
}

static void chain_process(dlsc_stream_t *stream, const float *in, size_t n_samples, float *out) {
  rate_chain *c = stream->chain;
  for (size_t done = 0; done < n_samples; done += RATE_STEP) {
    size_t take = DLSC_MIN(RATE_STEP, n_samples - done), got;
    dlsc_resampler_process(c->down, in + done, take, c->a, c->a_capacity, &got);
    chain_engine(stream, got, false);
    delay_emit(&c->fifo, out + done, take);
  }
}

static void chain_flush(dlsc_stream_t *stream, float *out) {
  rate_chain *c = stream->chain;
  size_t got;
  dlsc_resampler_flush(c->down, c->a, c->a_capacity, &got);
  chain_engine(stream, got, true);
  dlsc_resampler_flush(c->up, c->c, c->c_capacity, &got);
  for (size_t i = 0; i < got; i++)
    delay_push(&c->fifo, c->c[i]);
  delay_emit(&c->fifo, out, c->fifo.latency);
  chain_reset(c, stream->engine.latency);
}

void dlsc_stream_destroy(dlsc_stream_t *stream) {
  if (!stream)
    return;
  chain_free(stream->chain);
  engine_free(&stream->engine);
  dlsc_stft_destroy(stream->stft);
  dlsc_model_destroy(stream->model);
  free(stream);
}

dlsc_status dlsc_stream_create_at_rate(const dlsc_model_t *model, unsigned model_rate,
                                       unsigned rate, dlsc_stream_t **out) {
  if (!model || !out || !model->has_denoise || !dlsc_resample_rates_valid(model_rate, rate))
    return DLSC_ERR_INVALID_ARGUMENT;
  DLSC_TRY(check_model_fits(model, &model->denoise));
  dlsc_stream_t *stream = calloc(1, sizeof *stream);
  if (!stream)
    return DLSC_ERR_OUT_OF_MEMORY;
  dlsc_status status = dlsc_model_clone(model, &stream->model);
  if (status == DLSC_OK)
    status = dlsc_stft_create_for_model(stream->model, &stream->stft);
  if (status == DLSC_OK)
    status = engine_init(&stream->engine, stream->model, stream->stft, ENGINE_STREAM_BATCH);
  if (status == DLSC_OK && rate != model_rate)
    status = chain_create(&stream->chain, stream->engine.latency, model_rate, rate);
  if (status != DLSC_OK) {
    dlsc_stream_destroy(stream);
    return status;
  }
  *out = stream;
  return DLSC_OK;
}

dlsc_status dlsc_model_set_attenuation_limit(dlsc_model_t *model, double db) {
  if (!model || !(db >= 0.0)) /* NaN fails too */
    return DLSC_ERR_INVALID_ARGUMENT;
  model->attenuation_limit_db = db;
  return DLSC_OK;
}

dlsc_status dlsc_model_get_attenuation_limit(const dlsc_model_t *model, double *db) {
  if (!model || !db)
    return DLSC_ERR_INVALID_ARGUMENT;
  *db = model->attenuation_limit_db;
  return DLSC_OK;
}

dlsc_status dlsc_stream_set_attenuation_limit(dlsc_stream_t *stream, double db) {
  if (!stream)
    return DLSC_ERR_INVALID_ARGUMENT;
  return dlsc_model_set_attenuation_limit(stream->model, db); /* the stream's own copy */
}

dlsc_status dlsc_stream_create(const dlsc_model_t *model, dlsc_stream_t **out) {
  return dlsc_stream_create_at_rate(model, 16000, 16000, out);
}

dlsc_status dlsc_stream_latency(const dlsc_stream_t *stream, size_t *samples) {
  if (!stream || !samples)
    return DLSC_ERR_INVALID_ARGUMENT;
  *samples = stream->chain ? stream->chain->fifo.latency : stream->engine.latency;
  return DLSC_OK;
}

dlsc_status dlsc_stream_process(dlsc_stream_t *stream, const float *in, size_t n_samples,
                                float *out) {
  if (!stream || (n_samples && (!in || !out)) || n_samples > SIZE_MAX / 4)
    return DLSC_ERR_INVALID_ARGUMENT;
  if (n_samples == 0)
    return DLSC_OK;
  if (!dlsc_all_within(in, n_samples, DLSC_SAMPLE_LIMIT))
    return DLSC_ERR_NUMERIC;
  if (stream->chain)
    chain_process(stream, in, n_samples, out);
  else
    engine_process(&stream->engine, in, n_samples, out);
  return DLSC_OK;
}

dlsc_status dlsc_stream_flush(dlsc_stream_t *stream, float *out) {
  if (!stream || !out)
    return DLSC_ERR_INVALID_ARGUMENT;
  if (stream->chain)
    chain_flush(stream, out);
  else
    engine_flush(&stream->engine, out);
  return DLSC_OK;
}

dlsc_status dlsc_stream_reset(dlsc_stream_t *stream) {
  if (!stream)
    return DLSC_ERR_INVALID_ARGUMENT;
  engine_reset(&stream->engine);
  if (stream->chain)
    chain_reset(stream->chain, stream->engine.latency);
  return DLSC_OK;
}
