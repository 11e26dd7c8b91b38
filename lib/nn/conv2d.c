/* 2-D convolution (cross-correlation) by im2col and GEMMs, in one of two ways:
 * - small output planes P: columns [K = C_in*kh*kw][images*P] of a chunk of images
 *   times weights [C_out][K] give [C_out][images*P] in one GEMM, scattered into
 *   [image][C_out][P]; batching images keeps the products large when P is small;
 * - large planes with height stride 1 ("by rows", CONV_ROWS_MIN_PLANE): columns over
 *   (C_in, kw) only, for all padded input rows, and per image one GEMM per kernel row
 *   on a view of them that starts at that row, summed straight into [C_out][P].
 * 1-D convolution is the kh = 1 case of the same code. */
#include "../internal.h"
#include "parallel.h"

#include <cblas.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

/* Columns of one chunk stay within this many floats (4 MB), so that im2col's output
 * is still in cache when the GEMM reads it, and the GEMM's when col2im reads it.
 * Measured on Zen 4 (alternating runs of both sizes, one thread): 4 MB trained the
 * course CNN denoiser 22-33 %, the tiny CIFAR CNN 20-23 % and the mid one 8-18 % faster
 * than 16 MB; on two threads the denoiser 33 % faster, the mid CNN level. 1 and 2 MB were
 * no faster; the wide CNN (one image per chunk either way) was level. */
#define CONV_CHUNK_FLOATS ((size_t)1 << 20)

/* Kernel rows by views (s_h = 1, output planes of at least this many floats): the
 * columns hold one row per (channel, kernel column) over all R = out_h + k_h - 1
 * padded input rows, and kernel row kh's product reads them from row kh on, so one
 * GEMM per kernel row and image replaces one GEMM over k_h times as many column rows:
 * im2col writes and col2im reads k_h * out_h / R times fewer floats. Measured (one
 * thread, builds alternating): course CNN denoiser training +8 %, tiny CIFAR CNN +75 %,
 * mid +17 %, wide level. 96 puts the tiny CNN's 10x10 convolution by rows and keeps
 * 8x8 planes batched: at 64 the wide CNN's inference on two threads fell from ~380 to
 * ~220 img/s (per-image GEMMs of 64 columns split badly over threads); 64, 96 and 256
 * were level on one thread. Below it the images of a chunk share one GEMM. */
#define CONV_ROWS_MIN_PLANE 96

/* With a width stride s > 1, im2col reads and col2im writes every s-th column of a
 * row. Both work on rows split into their s phases (columns r, r + s, r + 2s, ... for
 * r = 0 .. s - 1, each phase phase_w floats, a row pitch floats), where the columns one
 * kernel offset touches are a contiguous run: a strided gather or scatter-add per
 * element was most of im2col's and col2im's time in the course CNN denoiser. With
 * s = 1 a split row is the row itself. */
typedef struct geometry {
  size_t in_c, in_h, in_w, out_c, out_h, out_w;
  size_t k_h, k_w, s_h, s_w, p_h, p_w;
  size_t k, plane;        /* column rows, output plane size */
  size_t phase_w, pitch; /* split rows: phase width, row pitch (s_w * phase_w) */
} geometry;

static geometry geometry_of(const dlsc_layer *layer) {
  const dlsc_layer_config *c = &layer->config;
  geometry g = {layer->in.channels, layer->in.height, layer->in.width, layer->out.channels,
                layer->out.height, layer->out.width, c->kernel_h, c->kernel_w, c->stride_h,
                c->stride_w, c->pad_h, c->pad_w, 0, 0, 0, 0};
  g.k = g.in_c * g.k_h * g.k_w;
  g.plane = g.out_h * g.out_w;
  /* One output column reads the same inputs at any stride that leaves one column; past
   * in_w + p_w a stride would only widen the split rows (a crafted model file asked for
   * 33,554,497: 8.9 GB of split rows for a 3x22x6 input) */
  if (g.out_w == 1 && g.s_w > g.in_w + g.p_w)
    g.s_w = g.in_w + g.p_w;
  g.phase_w = (g.in_w + g.s_w - 1) / g.s_w;
  g.pitch = g.s_w * g.phase_w;
  return g;
}

static int by_rows(const geometry *g) {
  return g->s_h == 1 && g->k_h > 1 && g->plane >= CONV_ROWS_MIN_PLANE;
}

/* The geometry whose im2col builds the by-rows columns: kernel row 0 only, over the R
 * padded input rows (row r' reads input row r' - p_h, 0 outside the input). */
static geometry rows_geometry(const geometry *g) {
  geometry r = *g;
  r.out_h = g->out_h + g->k_h - 1;
  r.k_h = 1;
  r.k = g->in_c * g->k_w;
  r.plane = r.out_h * g->out_w;
  return r;
}

static dlsc_status conv_setup(dlsc_layer *layer) {
  dlsc_layer_config *c = &layer->config;
  if (c->kind == DLSC_LAYER_CONV1D) {
    c->kernel_h = 1; /* a 1-D convolution slides along width only */
    c->stride_h = 1;
    c->pad_h = 0;
  }
  if (c->units == 0 || c->kernel_h == 0 || c->kernel_w == 0 || c->stride_h == 0 ||
      c->stride_w == 0 || c->kernel_h > 64 || c->kernel_w > 64 || c->pad_h >= c->kernel_h ||
      c->pad_w >= c->kernel_w)
    return DLSC_ERR_INVALID_ARGUMENT;
  size_t out_h = dlsc_window_output(layer->in.height, c->kernel_h, c->stride_h, c->pad_h);
  size_t out_w = dlsc_window_output(layer->in.width, c->kernel_w, c->stride_w, c->pad_w);
  if (out_h == 0 || out_w == 0)
    return DLSC_ERR_SHAPE_MISMATCH;
  layer->out = (dlsc_shape){c->units, out_h, out_w};
  size_t k = layer->in.channels * c->kernel_h * c->kernel_w, weights;
  if (dlsc_mul_overflows(k, c->units, &weights)) /* too many parameters */
    return DLSC_ERR_SHAPE_MISMATCH;
  layer->n_weights = weights;
  layer->n_params = weights + (c->bias ? c->units : 0);
  return DLSC_OK;
}

static void conv_init(dlsc_layer *layer, dlsc_rng *rng) {
  geometry g = geometry_of(layer);
  dlsc_init_uniform(layer->params, layer->n_weights, sqrtf(6.0f / (float)g.k), rng);
}

/* Images per chunk: as many as keep the columns within CONV_CHUNK_FLOATS, at least 1. */
static size_t chunk_images(const geometry *g, size_t batch) {
  geometry r = rows_geometry(g);
  size_t per_image = by_rows(g) ? r.k * r.plane : g->k * g->plane;
  size_t chunk = per_image >= CONV_CHUNK_FLOATS ? 1 : CONV_CHUNK_FLOATS / per_image;
  return DLSC_MIN(chunk, batch);
}

static size_t split_floats(const geometry *g, size_t images) {
  return g->s_w == 1 ? 0 : images * g->in_c * g->in_h * g->pitch;
}

/* Columns, then the GEMM product of one chunk (by rows: the weights and their gradient
 * regrouped by kernel row), then split rows. */
static size_t conv_scratch(const dlsc_layer *layer, size_t batch) {
  geometry g = geometry_of(layer), r = rows_geometry(&g);
  size_t chunk = chunk_images(&g, batch);
  if (by_rows(&g))
    return chunk * r.k * r.plane + 2 * g.out_c * g.k + split_floats(&g, chunk);
  return chunk * g.plane * (g.k + g.out_c) + split_floats(&g, chunk);
}

/* The input rows of a chunk split into phases in `split`; x itself when s_w = 1. */
static const float *split_rows(const geometry *g, const float *x, size_t images, float *split) {
  if (g->s_w == 1)
    return x;
  size_t rows = images * g->in_c * g->in_h;
  DLSC_PARALLEL_FOR(rows * g->in_w)
  for (size_t i = 0; i < rows; i++) {
    const float *src = x + i * g->in_w;
    float *dst = split + i * g->pitch;
    size_t whole = g->in_w / g->s_w; /* phase columns with every phase inside the row */
    if (g->s_w == 2) { /* the common stride, in a loop the compiler vectorises */
      for (size_t j = 0; j < whole; j++) {
        dst[j] = src[2 * j];
        dst[g->phase_w + j] = src[2 * j + 1];
      }
    } else {
      for (size_t r = 0; r < g->s_w; r++)
        for (size_t j = 0; j < whole; j++)
          dst[r * g->phase_w + j] = src[j * g->s_w + r];
    }
    for (size_t r = 0; r < g->s_w && whole < g->phase_w; r++) {
      size_t iw = whole * g->s_w + r;
      dst[r * g->phase_w + whole] = iw < g->in_w ? src[iw] : 0.0f;
    }
  }
  return split;
}

/* The inverse of split_rows: dx's rows from their phases. */
static void merge_rows(const geometry *g, const float *split, size_t images, float *dx) {
  size_t rows = images * g->in_c * g->in_h;
  DLSC_PARALLEL_FOR(rows * g->in_w)
  for (size_t i = 0; i < rows; i++) {
    const float *src = split + i * g->pitch;
    float *dst = dx + i * g->in_w;
    for (size_t r = 0; r < g->s_w; r++)
      for (size_t j = 0; j * g->s_w + r < g->in_w; j++)
        dst[j * g->s_w + r] = src[r * g->phase_w + j];
  }
}

/* Kernel column kw reads input column ow * s_w + kw - p_w = (ow + shift) * s_w + phase:
 * in a split row, phase `phase` at index ow + shift. */
static void phase_of(const geometry *g, size_t kw, size_t *phase, ptrdiff_t *shift) {
  ptrdiff_t offset = (ptrdiff_t)kw - (ptrdiff_t)g->p_w, s = (ptrdiff_t)g->s_w;
  ptrdiff_t r = ((offset % s) + s) % s;
  *phase = (size_t)r;
  *shift = (offset - r) / s;
}

/* The output columns ow whose input column ow*stride + k - pad lies inside [0, in):
 * [*first, *last). Computed once per kernel offset instead of tested per element. */
static void valid_range(size_t out, size_t in, size_t k, size_t stride, size_t pad,
                        size_t *first, size_t *last) {
  size_t lo = k >= pad ? 0 : (pad - k + stride - 1) / stride;  /* ow*s + k >= pad */
  size_t hi = in + pad > k ? (in + pad - k - 1) / stride + 1 : 0; /* ow*s + k - pad < in */
  *first = DLSC_MIN(lo, out);
  *last = DLSC_MAX(*first, DLSC_MIN(hi, out));
}

/* One column row of one image: out[oh][ow] = src[oh*s_h + kh - p_h][ow*s_w + kw - p_w],
 * 0 in the padding; src is the image's plane of split rows. Rows are short (tens of
 * floats), so plain loops beat a memcpy and two memsets per row. */
static void im2col_plane(const geometry *g, const float *src, size_t kh, size_t kw,
                         float *restrict dst) {
  size_t ow0, ow1, oh0, oh1, out_w = g->out_w;
  valid_range(g->out_w, g->in_w, kw, g->s_w, g->p_w, &ow0, &ow1);
  valid_range(g->out_h, g->in_h, kh, g->s_h, g->p_h, &oh0, &oh1);
  for (size_t i = 0; i < oh0 * out_w; i++)
    dst[i] = 0.0f;
  if (g->s_w == 1 && g->s_h == 1 && g->in_w == out_w && oh1 > oh0 && ow1 > ow0) {
    /* "Same" padding: the valid samples of all rows are one contiguous run of src. The
     * run's wrap-around between rows lands on padding columns, zeroed afterwards. (A
     * kernel offset that sees no column, ow1 == ow0, has no run: the loop below.) */
    size_t first = oh0 * out_w + ow0, last = (oh1 - 1) * out_w + ow1;
    const float *from = src + (oh0 + kh - g->p_h) * g->in_w + kw - g->p_w;
    memcpy(dst + first, from + ow0, (last - first) * sizeof *dst);
    for (size_t oh = oh0; oh < oh1; oh++) {
      float *out = dst + oh * out_w;
      for (size_t ow = 0; ow < ow0; ow++)
        out[ow] = 0.0f;
      for (size_t ow = ow1; ow < out_w; ow++)
        out[ow] = 0.0f;
    }
  } else {
    size_t phase;
    ptrdiff_t shift;
    phase_of(g, kw, &phase, &shift);
    for (size_t oh = oh0; oh < oh1; oh++) {
      float *out = dst + oh * out_w;
      size_t ow = 0;
      for (; ow < ow0; ow++)
        out[ow] = 0.0f;
      if (ow1 > ow0) { /* ow0 + shift >= 0: column ow0 lies inside the input */
        const float *run = src + (oh * g->s_h + kh - g->p_h) * g->pitch + phase * g->phase_w +
                           (size_t)((ptrdiff_t)ow0 + shift);
        for (; ow < ow1; ow++)
          out[ow] = run[ow - ow0];
      }
      for (; ow < out_w; ow++)
        out[ow] = 0.0f;
    }
  }
  for (size_t i = oh1 * out_w; i < g->out_h * out_w; i++)
    dst[i] = 0.0f;
}

/* cols[r][b*P + p] = x[b][c][oh*s - pad + kh][ow*s - pad + kw], 0 in the padding;
 * x in split rows. */
static void im2col(const geometry *g, const float *x, size_t images, float *cols) {
  size_t ld = images * g->plane, in_plane = g->in_h * g->pitch;
  DLSC_PARALLEL_FOR(g->k * ld)
  for (size_t r = 0; r < g->k; r++) {
    size_t c = r / (g->k_h * g->k_w), kh = (r / g->k_w) % g->k_h, kw = r % g->k_w;
    for (size_t b = 0; b < images; b++)
      im2col_plane(g, x + (b * g->in_c + c) * in_plane, kh, kw, cols + r * ld + b * g->plane);
  }
}

/* The adjoint of im2col: dx[b][c][ih][iw] = sum of the columns that read it, summed in
 * split rows (`split`, unless s_w = 1) and merged into dx. */
static void col2im(const geometry *g, const float *cols, size_t images, float *split, float *dx) {
  size_t ld = images * g->plane, in_plane = g->in_h * g->pitch;
  float *sum = g->s_w == 1 ? dx : split;
  DLSC_PARALLEL_FOR(g->k * ld)
  for (size_t bc = 0; bc < images * g->in_c; bc++) {
    size_t b = bc / g->in_c, c = bc % g->in_c;
    float *dst = sum + bc * in_plane;
    memset(dst, 0, in_plane * sizeof *dst);
    for (size_t kh = 0; kh < g->k_h; kh++)
      for (size_t kw = 0; kw < g->k_w; kw++) {
        const float *src = cols + ((c * g->k_h + kh) * g->k_w + kw) * ld + b * g->plane;
        size_t ow0, ow1, oh0, oh1, phase;
        ptrdiff_t shift;
        valid_range(g->out_w, g->in_w, kw, g->s_w, g->p_w, &ow0, &ow1);
        valid_range(g->out_h, g->in_h, kh, g->s_h, g->p_h, &oh0, &oh1);
        if (ow1 == ow0)
          continue;
        phase_of(g, kw, &phase, &shift);
        for (size_t oh = oh0; oh < oh1; oh++) {
          float *run = dst + (oh * g->s_h + kh - g->p_h) * g->pitch + phase * g->phase_w +
                       (size_t)((ptrdiff_t)ow0 + shift);
          const float *col = src + oh * g->out_w + ow0;
          for (size_t i = 0; i < ow1 - ow0; i++)
            run[i] += col[i];
        }
      }
  }
  if (g->s_w > 1)
    merge_rows(g, split, images, dx);
}

/* By rows: the weights [C_out][C_in][k_h][k_w] as k_h matrices [C_out][C_in * k_w]
 * (rows), or back (to_rows 0). */
static void regroup_weights(const geometry *g, const float *from, float *to, int to_rows) {
  size_t kr = g->in_c * g->k_w;
  for (size_t o = 0; o < g->out_c; o++)
    for (size_t c = 0; c < g->in_c; c++)
      for (size_t kh = 0; kh < g->k_h; kh++) {
        size_t rows = (kh * g->out_c + o) * kr + c * g->k_w;
        size_t kernel = o * g->k + (c * g->k_h + kh) * g->k_w;
        memcpy(to + (to_rows ? rows : kernel), from + (to_rows ? kernel : rows),
               g->k_w * sizeof *from);
      }
}

/* y[b] = sum over kh of W_kh [C_out][C_in k_w] times the columns from padded row kh on
 * ([C_in k_w][plane], row pitch ld), straight into y's [C_out][plane]. */
static void forward_by_rows(const geometry *g, const float *w_rows, const float *cols,
                            size_t images, const float *bias, float *y) {
  geometry r = rows_geometry(g);
  size_t ld = images * r.plane;
  for (size_t b = 0; b < images; b++) {
    float *out = y + b * g->out_c * g->plane;
    for (size_t kh = 0; kh < g->k_h; kh++)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->out_c, (int)g->plane,
                  (int)r.k, 1.0f, w_rows + kh * g->out_c * r.k, (int)r.k,
                  cols + b * r.plane + kh * g->out_w, (int)ld, kh == 0 ? 0.0f : 1.0f, out,
                  (int)g->plane);
    if (bias)
      for (size_t o = 0; o < g->out_c; o++)
        for (size_t p = 0; p < g->plane; p++)
          out[o * g->plane + p] += bias[o];
  }
}

/* The adjoints: dW_kh += dy[b] times the columns' view transposed (accumulate says
 * whether dw_rows holds a sum already), and the columns' gradient, each view's product
 * W_kh^T dy[b] summed into the rows it read. */
static void weight_grads_by_rows(const geometry *g, const float *cols, const float *dy,
                                 size_t images, int accumulate, float *dw_rows) {
  geometry r = rows_geometry(g);
  size_t ld = images * r.plane;
  for (size_t b = 0; b < images; b++)
    for (size_t kh = 0; kh < g->k_h; kh++)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g->out_c, (int)r.k,
                  (int)g->plane, 1.0f, dy + b * g->out_c * g->plane, (int)g->plane,
                  cols + b * r.plane + kh * g->out_w, (int)ld,
                  accumulate || b > 0 ? 1.0f : 0.0f, dw_rows + kh * g->out_c * r.k, (int)r.k);
}

static void column_grads_by_rows(const geometry *g, const float *w_rows, const float *dy,
                                 size_t images, float *dcols) {
  geometry r = rows_geometry(g);
  size_t ld = images * r.plane;
  for (size_t b = 0; b < images; b++) {
    for (size_t row = 0; row < r.k; row++) /* the rows kernel row 0's product leaves */
      memset(dcols + row * ld + b * r.plane + g->plane, 0,
             (r.plane - g->plane) * sizeof *dcols);
    for (size_t kh = 0; kh < g->k_h; kh++)
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)r.k, (int)g->plane,
                  (int)g->out_c, 1.0f, w_rows + kh * g->out_c * r.k, (int)r.k,
                  dy + b * g->out_c * g->plane, (int)g->plane, kh == 0 ? 0.0f : 1.0f,
                  dcols + b * r.plane + kh * g->out_w, (int)ld);
  }
}

static void conv_forward(dlsc_layer *layer, const float *x, float *y, size_t batch,
                         const dlsc_exec *exec) {
  geometry g = geometry_of(layer);
  size_t chunk = chunk_images(&g, batch);
  const float *bias = layer->config.bias ? layer->params + layer->n_weights : NULL;
  if (by_rows(&g)) {
    geometry r = rows_geometry(&g);
    float *cols = exec->scratch, *w_rows = cols + chunk * r.k * r.plane;
    float *split = w_rows + 2 * g.out_c * g.k;
    regroup_weights(&g, layer->params, w_rows, 1);
    for (size_t first = 0; first < batch; first += chunk) {
      size_t images = DLSC_MIN(chunk, batch - first);
      im2col(&r, split_rows(&g, x + first * layer->in_size, images, split), images, cols);
      forward_by_rows(&g, w_rows, cols, images, bias, y + first * layer->out_size);
    }
    return;
  }
  float *cols = exec->scratch, *product = cols + chunk * g.plane * g.k;
  float *split = product + chunk * g.plane * g.out_c;
  for (size_t first = 0; first < batch; first += chunk) {
    size_t images = DLSC_MIN(chunk, batch - first), ld = images * g.plane;
    im2col(&g, split_rows(&g, x + first * layer->in_size, images, split), images, cols);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g.out_c, (int)ld, (int)g.k, 1.0f,
                layer->params, (int)g.k, cols, (int)ld, 0.0f, product, (int)ld);
    float *out = y + first * layer->out_size;
    DLSC_PARALLEL_FOR(g.out_c * ld)
    for (size_t bo = 0; bo < images * g.out_c; bo++) {
      size_t b = bo / g.out_c, o = bo % g.out_c;
      const float *src = product + o * ld + b * g.plane;
      float *dst = out + bo * g.plane, offset = bias ? bias[o] : 0.0f;
      for (size_t p = 0; p < g.plane; p++)
        dst[p] = src[p] + offset;
    }
  }
}

static void conv_backward(dlsc_layer *layer, const float *x, const float *y, const float *dy,
                          float *dx, size_t batch, const dlsc_exec *exec) {
  geometry g = geometry_of(layer);
  size_t chunk = chunk_images(&g, batch);
  float *dbias = layer->config.bias ? layer->grads + layer->n_weights : NULL;
  if (!layer->frozen && dbias)
    memset(dbias, 0, g.out_c * sizeof *dbias);
  if (by_rows(&g)) {
    geometry r = rows_geometry(&g);
    float *cols = exec->scratch, *w_rows = cols + chunk * r.k * r.plane;
    float *dw_rows = w_rows + g.out_c * g.k, *split = dw_rows + g.out_c * g.k;
    regroup_weights(&g, layer->params, w_rows, 1);
    for (size_t first = 0; first < batch; first += chunk) {
      size_t images = DLSC_MIN(chunk, batch - first);
      const float *dout = dy + first * layer->out_size;
      if (!layer->frozen) {
        im2col(&r, split_rows(&g, x + first * layer->in_size, images, split), images, cols);
        weight_grads_by_rows(&g, cols, dout, images, first > 0, dw_rows);
        if (dbias)
          for (size_t bo = 0; bo < images * g.out_c; bo++)
            dbias[bo % g.out_c] += dlsc_sum_floats(dout + bo * g.plane, g.plane);
      }
      if (dx) {
        column_grads_by_rows(&g, w_rows, dout, images, cols);
        col2im(&r, cols, images, split, dx + first * layer->in_size);
      }
    }
    if (!layer->frozen)
      regroup_weights(&g, dw_rows, layer->grads, 0);
    return;
  }
  float *cols = exec->scratch, *dproduct = cols + chunk * g.plane * g.k;
  float *split = dproduct + chunk * g.plane * g.out_c;
  for (size_t first = 0; first < batch; first += chunk) {
    size_t images = DLSC_MIN(chunk, batch - first), ld = images * g.plane;
    const float *dout = dy + first * layer->out_size;
    DLSC_PARALLEL_FOR(g.out_c * ld)
    for (size_t bo = 0; bo < images * g.out_c; bo++) {
      size_t b = bo / g.out_c, o = bo % g.out_c;
      memcpy(dproduct + o * ld + b * g.plane, dout + bo * g.plane, g.plane * sizeof *dout);
    }
    if (!layer->frozen) {
      im2col(&g, split_rows(&g, x + first * layer->in_size, images, split), images, cols);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g.out_c, (int)g.k, (int)ld, 1.0f,
                  dproduct, (int)ld, cols, (int)ld, first == 0 ? 0.0f : 1.0f, layer->grads,
                  (int)g.k);
      if (dbias)
        for (size_t o = 0; o < g.out_c; o++)
          dbias[o] += dlsc_sum_floats(dproduct + o * ld, ld);
    }
    if (dx) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g.k, (int)ld, (int)g.out_c, 1.0f,
                  layer->params, (int)g.k, dproduct, (int)ld, 0.0f, cols, (int)ld);
      col2im(&g, cols, images, split, dx + first * layer->in_size);
    }
  }
}

const dlsc_layer_ops dlsc_conv2d_ops = {
    .name = "conv2d",
    .setup = conv_setup,
    .init = conv_init,
    .scratch_floats = conv_scratch,
    .forward = conv_forward,
    .backward = conv_backward,
};

const dlsc_layer_ops dlsc_conv1d_ops = {
    .name = "conv1d",
    .setup = conv_setup,
    .init = conv_init,
    .scratch_floats = conv_scratch,
    .forward = conv_forward,
    .backward = conv_backward,
};
