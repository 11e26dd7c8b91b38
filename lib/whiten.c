/* Patch-whitening initialisation of a convolution (Page 2018, "How to train your
 * ResNet"; Jordan's airbench): the filters become the inverse square root of the
 * covariance of the layer's input patches, estimated from caller images. */
#include "internal.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* LAPACK's symmetric eigensolver (OpenBLAS ships it); the trailing lengths are the
 * hidden arguments of the two character arguments. */
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
            double *work, const int *lwork, int *info, size_t jobz_length, size_t uplo_length);

#define WHITEN_MAX_PATCH 4096 /* D: the eigensolver is O(D^3) and the covariance D^2 */
#define WHITEN_BATCH 64

typedef struct patch_sums {
  size_t d, kh, kw, in_c, in_h, in_w, positions;
  double n, *sum, *cross; /* patches seen, sum of patches (d), of their outer products (d x d) */
  float *patches, *gram;  /* one input's patches [position][d], their Gram matrix */
} patch_sums;

/* Adds one layer input [C][H][W]'s patches at every position inside it. */
static void add_patches(patch_sums *s, const float *x) {
  size_t out_h = s->in_h - s->kh + 1, out_w = s->in_w - s->kw + 1, d = s->d;
  for (size_t i = 0; i < out_h; i++)
    for (size_t j = 0; j < out_w; j++) {
      float *p = s->patches + (i * out_w + j) * d;
      for (size_t c = 0; c < s->in_c; c++)
        for (size_t a = 0; a < s->kh; a++)
          memcpy(p + (c * s->kh + a) * s->kw, x + (c * s->in_h + i + a) * s->in_w + j,
                 s->kw * sizeof *p);
    }
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)s->positions, 1.0f, s->patches,
              (int)d, 0.0f, s->gram, (int)d);
  for (size_t r = 0; r < d; r++)
    for (size_t c = r; c < d; c++)
      s->cross[r * d + c] += s->gram[r * d + c];
  for (size_t q = 0; q < s->positions; q++)
    for (size_t r = 0; r < d; r++)
      s->sum[r] += s->patches[q * d + r];
  s->n += (double)s->positions;
}

/* Eigen-decomposes the patch covariance and writes the filters and bias. */
static dlsc_status set_filters(dlsc_layer *layer, const patch_sums *s, float epsilon) {
  size_t d = s->d;
  int n = (int)d, lwork = -1, info = 0;
  double *cov = malloc(d * d * sizeof *cov), *lambda = malloc(d * sizeof *lambda), query;
  double *mean = malloc(d * sizeof *mean);
  dlsc_status status = DLSC_ERR_OUT_OF_MEMORY;
  double *work = NULL;
  if (!cov || !lambda || !mean)
    goto done;
  for (size_t r = 0; r < d; r++)
    mean[r] = s->sum[r] / s->n;
  for (size_t r = 0; r < d; r++) /* upper triangle, row-major = lower, column-major */
    for (size_t c = r; c < d; c++)
      cov[r * d + c] = cov[c * d + r] = s->cross[r * d + c] / s->n - mean[r] * mean[c];
  dsyev_("V", "U", &n, cov, &n, lambda, &query, &lwork, &info, 1, 1);
  lwork = info == 0 ? (int)query : 0;
  work = lwork > 0 ? malloc((size_t)lwork * sizeof *work) : NULL;
  if (!work)
    goto done;
  dsyev_("V", "U", &n, cov, &n, lambda, work, &lwork, &info, 1, 1);
  status = DLSC_ERR_NUMERIC;
  if (info != 0)
    goto done;
  /* Column j of cov is the eigenvector of lambda[j], ascending: filter f takes the
   * (f+1)-th largest. A rounding-negative eigenvalue counts as 0. */
  size_t filters = layer->config.units;
  status = DLSC_ERR_OUT_OF_MEMORY; /* written here first: the model changes only on success */
  float *w = dlsc_alloc_floats(layer->n_params);
  if (!w)
    goto done;
  memcpy(w, layer->params, layer->n_params * sizeof *w);
  float *bias = layer->config.bias ? w + layer->n_weights : NULL;
  for (size_t f = 0; f < d; f++) {
    size_t j = d - 1 - f;
    double scale = 1.0 / sqrt((lambda[j] > 0.0 ? lambda[j] : 0.0) + (double)epsilon), dot = 0.0;
    for (size_t i = 0; i < d; i++) {
      double v = cov[j * d + i] * scale;
      w[f * d + i] = (float)v;
      if (filters == 2 * d)
        w[(d + f) * d + i] = (float)-v;
      dot += v * mean[i];
    }
    if (bias) {
      bias[f] = (float)-dot;
      if (filters == 2 * d)
        bias[d + f] = (float)dot;
    }
  }
  status = DLSC_ERR_NUMERIC;
  if (dlsc_all_finite(w, layer->n_params)) {
    memcpy(layer->params, w, layer->n_params * sizeof *w);
    status = DLSC_OK;
  }
  free(w);
done:
  free(cov);
  free(lambda);
  free(mean);
  free(work);
  return status;
}

dlsc_status dlsc_model_init_whitening(dlsc_model_t *model, size_t index, const float *inputs,
                                      size_t count, float epsilon) {
  if (!model || !inputs || count == 0 || index >= model->n_layers || !(epsilon > 0.0f) ||
      !isfinite(epsilon))
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_layer *layer = &model->layers[index];
  const dlsc_layer_config *c = &layer->config;
  if (c->kind != DLSC_LAYER_CONV2D && c->kind != DLSC_LAYER_CONV1D)
    return DLSC_ERR_INVALID_ARGUMENT;
  patch_sums s = {.kh = c->kernel_h, .kw = c->kernel_w, .in_c = layer->in.channels,
                  .in_h = layer->in.height, .in_w = layer->in.width};
  s.d = s.in_c * s.kh * s.kw;
  if (s.d > WHITEN_MAX_PATCH)
    return DLSC_ERR_UNSUPPORTED;
  if (s.kh > s.in_h || s.kw > s.in_w || (c->units != s.d && c->units != 2 * s.d))
    return DLSC_ERR_SHAPE_MISMATCH;
  size_t in_size = dlsc_shape_size(model->input), total;
  if (dlsc_mul_overflows(count, in_size, &total))
    return DLSC_ERR_INVALID_ARGUMENT;
  if (!dlsc_all_finite(inputs, total))
    return DLSC_ERR_NUMERIC;
  s.positions = (s.in_h - s.kh + 1) * (s.in_w - s.kw + 1);
  size_t batch = DLSC_MIN(count, (size_t)WHITEN_BATCH);
  DLSC_TRY(dlsc_model_reserve(model, batch, false)); /* a training workspace serves too */
  s.sum = calloc(s.d, sizeof *s.sum);
  s.cross = calloc(s.d * s.d, sizeof *s.cross);
  s.patches = dlsc_alloc_array(s.positions * s.d, sizeof *s.patches);
  s.gram = dlsc_alloc_array(s.d * s.d, sizeof *s.gram);
  dlsc_status status = DLSC_ERR_OUT_OF_MEMORY;
  if (s.sum && s.cross && s.patches && s.gram) {
    for (size_t first = 0; first < count; first += batch) {
      size_t m = DLSC_MIN(batch, count - first);
      const float *x =
          dlsc_model_forward_range(model, 0, index, inputs + first * in_size, m, false);
      for (size_t k = 0; k < m; k++)
        add_patches(&s, x + k * layer->in_size);
    }
    bool finite = true;
    for (size_t i = 0; i < s.d * s.d && finite; i++)
      finite = isfinite(s.cross[i]);
    status = finite ? set_filters(layer, &s, epsilon) : DLSC_ERR_NUMERIC;
  }
  free(s.sum);
  free(s.cross);
  free(s.patches);
  free(s.gram);
  return status;
}
