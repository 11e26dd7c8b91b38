/* Band-limited resampling: each output sample is the input convolved with a
 * Kaiser-windowed sinc centred on its time, read from a table sampled finely along the
 * kernel (linear interpolation between entries). The cut-off sits below the lower of
 * the two Nyquist rates, so downsampling does not alias. The whole-signal call and the
 * streaming handle compute every output with the same function, so a stream's outputs
 * are the whole-signal ones, bit for bit. */
#include "internal.h"
#include "nn/parallel.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ZERO_CROSSINGS 32 /* of the sinc on each side of the centre */
#define STEPS 512         /* table entries per zero crossing */
#define KAISER_BETA 9.0   /* side lobes near -90 dB */
#define PASSBAND 0.94     /* cut-off, as a fraction of the lower Nyquist rate */
#define MAX_RATE 1000000u
#define MAX_STREAM ((uint64_t)1 << 43) /* input samples: j * rate stays below 2^64 */
#define HISTORY_ROOM ((size_t)1 << 16) /* inputs a stream keeps room for beside a chunk */
#define PHASE_LIMIT ((size_t)1 << 17) /* coefficients precomputed per rate pair (512 KiB) */
#define LANES 32 /* partial sums per output (output_at's tree assumes 32); rows padded to it */
#define PI 3.14159265358979323846

static double bessel_i0(double x) {
  double sum = 1.0, term = 1.0;
  for (int k = 1; k < 64 && term > 1e-16 * sum; k++) {
    term *= (x / (2.0 * k)) * (x / (2.0 * k));
    sum += term;
  }
  return sum;
}

/* The kernel of one rate pair. Output j lies at input time t = t_int + frac
 * (j rate_in = t_int rate_out + remainder) and reads inputs t_int + lo .. t_int + hi,
 * the integers within half input samples of t; lo and hi depend on frac alone. frac
 * repeats with period_out = rate_out / gcd, so when period_out rows of coefficients
 * fit in PHASE_LIMIT they are computed once (rows, zero past hi - lo, row_size a
 * multiple of LANES), else per output; both give the same floats. table[i] is the
 * windowed sinc at i / STEPS zero crossings. */
typedef struct filter {
  float *table; /* or NULL where the rows computed their entries themselves */
  float *rows; /* period_out rows of row_size coefficients, or NULL */
  unsigned rate_in, rate_out, period_out;
  size_t row_size;
  double cutoff, half, steps;
} filter;

static unsigned gcd(unsigned a, unsigned b) {
  while (b) {
    unsigned r = a % b;
    a = b;
    b = r;
  }
  return a;
}

/* Entry i of the table: the windowed sinc at i / STEPS zero crossings (norm: the window's
 * Bessel function at 0), zero from ZERO_CROSSINGS on. */
static float table_entry(size_t i, double norm) {
  double x = (double)i / STEPS, u = x / ZERO_CROSSINGS;
  double window = u < 1.0 ? bessel_i0(KAISER_BETA * sqrt(1.0 - u * u)) / norm : 0.0;
  return (float)(i == 0 ? 1.0 : window * sin(PI * x) / (PI * x));
}

/* Where the kernel at d = (input index - output time) input samples falls in the table:
 * entry i and the fraction frac towards i + 1, the end (two zeros) from ZERO_CROSSINGS
 * on. Branch-free, so that a block of them vectorises; |d| stays below half + LANES,
 * the index within an int. */
static inline int table_place(const filter *f, double d, double *frac) {
  double position = fabs(d) * f->steps;
  int i = (int)position, end = ZERO_CROSSINGS * STEPS;
  i = i < end ? i : end;
  *frac = position - (double)i;
  return i;
}

/* The kernel times the cut-off, from table entries a = i and b = i + 1. */
static inline float interpolate(const filter *f, float a, float b, double frac) {
  return (float)(f->cutoff * (a + frac * (b - a)));
}

static inline float coefficient(const filter *f, double d) {
  double frac;
  int i = table_place(f, d, &frac);
  return interpolate(f, f->table[i], f->table[i + 1], frac);
}

/* Where output j lies: t_int, frac, the phase (row index) and the span lo .. hi. */
typedef struct output_place {
  uint64_t t_int;
  double frac;
  size_t phase;
  int64_t lo, hi;
} output_place;

static output_place place_of(const filter *f, uint64_t j) {
  uint64_t scaled = j * f->rate_in; /* below 2^63: at most n_in rate_out + rate_in */
  uint64_t remainder = scaled % f->rate_out;
  output_place p = {scaled / f->rate_out, (double)remainder / f->rate_out,
                    (size_t)(remainder / (f->rate_out / f->period_out)), 0, 0};
  p.lo = (int64_t)ceil(p.frac - f->half);
  p.hi = (int64_t)floor(p.frac + f->half);
  return p;
}

static void filter_free(filter *f) {
  free(f->table);
  free(f->rows);
}

/* The table is built when outputs compute their coefficients or the rows need more of
 * its entries than it has; else each row coefficient computes its two entries (for
 * 48 -> 16 kHz 450 instead of 16,386: a whole-signal call or a resampler's creation
 * costs microseconds, not half a millisecond). */
static dlsc_status filter_init(filter *f, unsigned rate_in, unsigned rate_out) {
  size_t n = ZERO_CROSSINGS * STEPS + 2;
  *f = (filter){.rate_in = rate_in, .rate_out = rate_out};
  f->period_out = rate_out / gcd(rate_in, rate_out);
  f->cutoff = PASSBAND * (rate_out < rate_in ? (double)rate_out / rate_in : 1.0);
  f->half = dlsc_resample_reach(rate_in, rate_out); /* ZERO_CROSSINGS / cutoff */
  f->steps = f->cutoff * STEPS;
  f->row_size = ((size_t)(2.0 * f->half) + 2 + LANES - 1) / LANES * LANES;
  double norm = bessel_i0(KAISER_BETA);
  bool with_rows = f->row_size <= PHASE_LIMIT / f->period_out;
  if (!with_rows || 2 * f->period_out * f->row_size > n) {
    f->table = malloc(n * sizeof *f->table);
    if (!f->table)
      return DLSC_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < n; i++)
      f->table[i] = table_entry(i, norm);
  }
  if (!with_rows)
    return DLSC_OK;
  f->rows = calloc((size_t)f->period_out * f->row_size, sizeof *f->rows);
  if (!f->rows) {
    filter_free(f);
    return DLSC_ERR_OUT_OF_MEMORY;
  }
  for (uint64_t j = 0; j < f->period_out; j++) { /* outputs 0 .. period_out - 1: each phase */
    output_place p = place_of(f, j);
    float *row = f->rows + p.phase * f->row_size;
    for (int64_t m = 0; m <= p.hi - p.lo; m++) {
      double frac;
      int i = table_place(f, (double)(p.lo + m) - p.frac, &frac);
      row[m] = f->table ? interpolate(f, f->table[i], f->table[i + 1], frac)
                        : interpolate(f, table_entry((size_t)i, norm),
                                      table_entry((size_t)i + 1, norm), frac);
    }
  }
  return DLSC_OK;
}

/* Whether output j's kernel lies within inputs 0 .. n_in - 1. */
static int output_complete(const filter *f, uint64_t j, uint64_t n_in) {
  output_place p = place_of(f, j);
  return (int64_t)p.t_int + p.hi <= (int64_t)n_in - 1;
}

/* The first input output j reads (0 at the signal's start). */
static uint64_t output_first(const filter *f, uint64_t j) {
  output_place p = place_of(f, j);
  int64_t first = (int64_t)p.t_int + p.lo;
  return first > 0 ? (uint64_t)first : 0;
}

/* Output j of a signal whose inputs base .. n_in - 1 are x[0 ..]; inputs outside count
 * as zeros. base may not pass output_first(j). Coefficient k (input t_int + lo + k)
 * adds into lane k % LANES, the lanes are summed in a fixed tree: the same bits with
 * rows and without, at any vector width. The kernel is read in blocks of LANES
 * coefficients, zero past hi - lo; a block reaching outside the inputs reads a
 * zero-padded copy of them. The zero products this adds change no bit (a lane starting
 * at +0 never becomes -0). */
DLSC_VECTOR_CLONES
static float output_at(const filter *f, uint64_t j, const float *x, uint64_t base,
                       uint64_t n_in) {
  output_place p = place_of(f, j);
  int64_t start = (int64_t)p.t_int + p.lo, size = p.hi - p.lo + 1;
  int64_t blocks = (size + LANES - 1) / LANES;
  float lane[LANES] = {0};
  if (f->rows && start >= 0 && start + blocks * LANES <= (int64_t)n_in) { /* the usual case */
    const float *in = x + (start - (int64_t)base), *row = f->rows + p.phase * f->row_size;
    for (int64_t i = 0; i < blocks * LANES; i += LANES)
      for (int l = 0; l < LANES; l++)
        lane[l] += in[i + l] * row[i + l];
  } else { /* the blocks that reach into the inputs: the others would add only zeros */
    int64_t k = start < 0 ? -start / LANES * LANES : 0, end = (int64_t)n_in - start;
    for (end = end < size ? end : size; k < end; k += LANES) {
      int64_t first = start + k; /* the input of the block's first coefficient */
      float padded[LANES], computed[LANES];
      const float *in = padded, *row = computed;
      if (first >= 0 && first + LANES <= (int64_t)n_in)
        in = x + (first - (int64_t)base);
      else
        for (int l = 0; l < LANES; l++)
          padded[l] = first + l >= 0 && first + l < (int64_t)n_in
                          ? x[first + l - (int64_t)base]
                          : 0.0f;
      if (f->rows)
        row = f->rows + p.phase * f->row_size + k;
      else {
        double tap = (double)(p.lo + k); /* tap + l: exact, as in the rows */
        for (int l = 0; l < LANES; l++)
          computed[l] = coefficient(f, (tap + l) - p.frac);
        for (int64_t l = size - k; l < LANES; l++) /* as the rows' padding */
          computed[l] = 0.0f;
      }
      for (int l = 0; l < LANES; l++)
        lane[l] += in[l] * row[l];
    }
  }
  for (int l = 0; l < 16; l++) /* the tree, spelt out for LANES 32: each step vectorises */
    lane[l] += lane[l + 16];
  for (int l = 0; l < 8; l++)
    lane[l] += lane[l + 8];
  for (int l = 0; l < 4; l++)
    lane[l] += lane[l + 4];
  return (lane[0] + lane[2]) + (lane[1] + lane[3]);
}

/* ceil(n_in * rate_out / rate_in): the outputs whose times lie inside the input. */
static uint64_t outputs_inside(uint64_t n_in, unsigned rate_in, unsigned rate_out) {
  return (n_in * rate_out + rate_in - 1) / rate_in;
}

static int rates_valid(unsigned rate_in, unsigned rate_out) {
  return rate_in > 0 && rate_out > 0 && rate_in <= MAX_RATE && rate_out <= MAX_RATE;
}

bool dlsc_resample_rates_valid(unsigned rate_in, unsigned rate_out) {
  return rates_valid(rate_in, rate_out);
}

double dlsc_resample_reach(unsigned rate_in, unsigned rate_out) {
  return ZERO_CROSSINGS / (PASSBAND * (rate_out < rate_in ? (double)rate_out / rate_in : 1.0));
}

dlsc_status dlsc_resample(const float *in, size_t n_in, unsigned rate_in, unsigned rate_out,
                          float *out, size_t out_capacity, size_t *n_out) {
  if (!n_out || !in || n_in == 0 || !rates_valid(rate_in, rate_out) ||
      n_in > (SIZE_MAX - rate_in) / rate_out)
    return DLSC_ERR_INVALID_ARGUMENT;
  size_t needed = (size_t)outputs_inside(n_in, rate_in, rate_out);
  if (!out || out_capacity < needed) { /* a size query, or the size a refusal needs */
    *n_out = needed;
    return out ? DLSC_ERR_BUFFER_TOO_SMALL : DLSC_OK;
  }
  if (!dlsc_all_within(in, n_in, DLSC_SAMPLE_LIMIT))
    return DLSC_ERR_NUMERIC;
  if (rate_in == rate_out) {
    memcpy(out, in, n_in * sizeof *in);
  } else {
    filter f;
    DLSC_TRY(filter_init(&f, rate_in, rate_out));
    for (size_t j = 0; j < needed; j++)
      out[j] = output_at(&f, j, in, 0, n_in);
    filter_free(&f);
  }
  *n_out = needed;
  return DLSC_OK;
}

/* ---------------------------------------------------------------- streaming */

/* history holds inputs base .. total - 1: from the first one the next output reads. */
struct dlsc_resampler {
  filter f; /* neither table nor rows for equal rates: a copy */
  float *history;
  size_t history_len, history_capacity;
  uint64_t base, total, next_out;
};

dlsc_status dlsc_resampler_create(unsigned rate_in, unsigned rate_out,
                                  dlsc_resampler_t **resampler) {
  if (!resampler)
    return DLSC_ERR_INVALID_ARGUMENT;
  *resampler = NULL;
  if (!rates_valid(rate_in, rate_out))
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_resampler_t *r = calloc(1, sizeof *r);
  if (!r)
    return DLSC_ERR_OUT_OF_MEMORY;
  r->f.rate_in = rate_in;
  r->f.rate_out = rate_out;
  if (rate_in != rate_out && filter_init(&r->f, rate_in, rate_out) != DLSC_OK) {
    free(r);
    return DLSC_ERR_OUT_OF_MEMORY;
  }
  *resampler = r;
  return DLSC_OK;
}

void dlsc_resampler_destroy(dlsc_resampler_t *resampler) {
  if (!resampler)
    return;
  filter_free(&resampler->f);
  free(resampler->history);
  free(resampler);
}

dlsc_status dlsc_resampler_reset(dlsc_resampler_t *resampler) {
  if (!resampler)
    return DLSC_ERR_INVALID_ARGUMENT;
  resampler->history_len = 0;
  resampler->base = resampler->total = resampler->next_out = 0;
  return DLSC_OK;
}

static bool copies(const dlsc_resampler_t *r) {
  return r->f.rate_in == r->f.rate_out;
}

/* Inputs the history can hold between calls: 2 half, rounded up, and a margin. */
static size_t history_span(const dlsc_resampler_t *r) {
  return (size_t)ceil(2.0 * r->f.half) + 2;
}

static dlsc_status grow_history(dlsc_resampler_t *r, size_t capacity) {
  float *grown = realloc(r->history, capacity * sizeof *grown);
  if (!grown)
    return DLSC_ERR_OUT_OF_MEMORY;
  r->history = grown;
  r->history_capacity = capacity;
  return DLSC_OK;
}

dlsc_status dlsc_resampler_reserve(dlsc_resampler_t *r, size_t max_chunk) {
  size_t capacity = history_span(r) + max_chunk;
  if (copies(r) || r->history_capacity >= capacity)
    return DLSC_OK;
  return grow_history(r, capacity);
}

/* Outputs from next_out on that n_in inputs complete (final: all inside the input). */
static uint64_t outputs_ready(const dlsc_resampler_t *r, uint64_t n_in, int final) {
  if (copies(r))
    return final ? 0 : n_in - r->total;
  if (final)
    return n_in == 0 ? 0 : outputs_inside(n_in, r->f.rate_in, r->f.rate_out) - r->next_out;
  /* complete outputs are those up to the last whose kernel ends by input n_in - 1: jump
   * to a little below where the real numbers put it, when that one is complete, and
   * step from there. The kernel's end, t_int + floor(frac + half), never falls as j
   * grows (frac < 1 - 1 / rate_out, far above half's rounding), so every output before
   * a complete one is complete. */
  uint64_t j = r->next_out;
  double last = ((double)n_in - 1.0 - r->f.half) * r->f.rate_out / r->f.rate_in - 2.0;
  if (last > (double)j && last < (double)MAX_STREAM * r->f.rate_out &&
      output_complete(&r->f, (uint64_t)last, n_in))
    j = (uint64_t)last;
  while (output_complete(&r->f, j, n_in))
    j++;
  return j - r->next_out;
}

/* Writes count outputs from next_out on, then keeps only the inputs still needed. */
static void emit(dlsc_resampler_t *r, uint64_t count, float *out) {
  for (uint64_t i = 0; i < count; i++)
    out[i] = output_at(&r->f, r->next_out + i, r->history, r->base, r->total);
  r->next_out += count;
  uint64_t keep_from = output_first(&r->f, r->next_out);
  if (keep_from > r->total)
    keep_from = r->total;
  if (keep_from > r->base) {
    size_t drop = (size_t)(keep_from - r->base);
    r->history_len -= drop;
    memmove(r->history, r->history + drop, r->history_len * sizeof *r->history);
    r->base = keep_from;
  }
}

dlsc_status dlsc_resampler_process(dlsc_resampler_t *resampler, const float *in, size_t n_in,
                                   float *out, size_t out_capacity, size_t *n_out) {
  return dlsc_resampler_run(resampler, in, n_in, out, out_capacity, n_out, DLSC_SAMPLE_LIMIT);
}

dlsc_status dlsc_resampler_run(dlsc_resampler_t *resampler, const float *in, size_t n_in,
                               float *out, size_t out_capacity, size_t *n_out, float limit) {
  dlsc_resampler_t *r = resampler;
  if (!r || !n_out || (!in && n_in > 0) || n_in > MAX_STREAM - r->total)
    return DLSC_ERR_INVALID_ARGUMENT;
  uint64_t count = outputs_ready(r, r->total + n_in, 0);
  if (!out || out_capacity < count || !dlsc_all_within(in, n_in, limit)) {
    *n_out = (size_t)count; /* a size query, or what the refused chunk would give */
    return !out ? DLSC_OK
                : out_capacity < count ? DLSC_ERR_BUFFER_TOO_SMALL : DLSC_ERR_NUMERIC;
  }
  if (copies(r)) {
    if (n_in > 0)
      memcpy(out, in, n_in * sizeof *in);
    r->total += n_in;
    *n_out = (size_t)count;
    return DLSC_OK;
  }
  if (r->history_len + n_in > r->history_capacity) {
    /* history_len stays within 2 half after emit, so with that much room beside the
     * chunk a host's fixed chunks allocate once; past HISTORY_ROOM (downsampling by
     * more than 960 times) the room grows by doubling instead */
    size_t room = DLSC_MIN(history_span(r), HISTORY_ROOM), capacity = room + n_in;
    if (capacity < r->history_len + n_in)
      capacity = 2 * (r->history_len + n_in);
    DLSC_TRY(grow_history(r, capacity));
  }
  if (n_in > 0)
    memcpy(r->history + r->history_len, in, n_in * sizeof *in);
  r->history_len += n_in;
  r->total += n_in;
  emit(r, count, out);
  *n_out = (size_t)count;
  return DLSC_OK;
}

dlsc_status dlsc_resampler_flush(dlsc_resampler_t *resampler, float *out, size_t out_capacity,
                                 size_t *n_out) {
  dlsc_resampler_t *r = resampler;
  if (!r || !n_out)
    return DLSC_ERR_INVALID_ARGUMENT;
  uint64_t count = outputs_ready(r, r->total, 1);
  *n_out = (size_t)count;
  if (!out)
    return DLSC_OK;
  if (out_capacity < count)
    return DLSC_ERR_BUFFER_TOO_SMALL;
  if (count > 0)
    emit(r, count, out);
  return dlsc_resampler_reset(r);
}
