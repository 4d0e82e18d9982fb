/* pool/gen.c: the synthetic pool model (docs/format.md, "Synthetic pools").
 *
 * Items come from C Gaussian clusters, which is how real embeddings look:
 * class means are standard normal vectors and items scatter around them.  A
 * tail of items leans towards a second class, up to the midpoint, so some items
 * are genuinely ambiguous.  The probabilities play a reasonable but imperfect
 * classifier: a softmax over squared distances to the class means plus logit
 * noise, confident on clean items, unsure near boundaries, sometimes wrong.
 *
 * Every draw is a hash of (seed, id or class, purpose, coordinate), never a
 * stream, so any row range is produced on its own.
 */
#include "alq/gen.h"

#include <math.h>
#include <stdlib.h>

#include "alq/hash.h"

/* Class means are N(0, 1) per coordinate, so two means are about sqrt(2d)
 * apart; noise 0.75 per coordinate keeps clusters distinct (an item is about
 * 0.75 sqrt(d) from its own mean) without making the data trivially clean. */
static const double NOISE_STD = 0.75;
/* An item's centre is (1-t) mean[class] + t mean[partner], t = BLEND_MAX u^3:
 * most items sit near their own mean, about 7% have t > 0.4. */
static const double BLEND_MAX = 0.5;
/* Logit of class k: -SHARPNESS ||x - mean_k||^2 / (2 d) + LOGIT_NOISE_STD eta.
 * Dividing by d makes the gap between a clean item's own class and another
 * about SHARPNESS whatever the dimension (p ~ 0.997 for 10 classes). */
static const double SHARPNESS = 8.0;
static const double LOGIT_NOISE_STD = 0.5;

alq_err alq_gen_params_check(const alq_gen_params *p) {
  if (p->n_items < 1)
    return alq_error_set(ALQ_ERR_USAGE, "synthetic pool: items must be at least 1 (got %lld)",
                         (long long)p->n_items);
  if (p->dim < 1 || p->dim > ALQ_GEN_MAX_DIM)
    return alq_error_set(ALQ_ERR_USAGE, "synthetic pool: dim must be in [1, %d] (got %lld)",
                         ALQ_GEN_MAX_DIM, (long long)p->dim);
  if (p->n_classes < 2 || p->n_classes > ALQ_GEN_MAX_CLASSES)
    return alq_error_set(ALQ_ERR_USAGE, "synthetic pool: classes must be in [2, %d] (got %lld)",
                         ALQ_GEN_MAX_CLASSES, (long long)p->n_classes);
  if (!(isfinite(p->imbalance) && p->imbalance >= 1.0))
    return alq_error_set(ALQ_ERR_USAGE,
                         "synthetic pool: imbalance must be a finite number >= 1 (got %g)",
                         p->imbalance);
  return ALQ_OK;
}

/* Cumulative class shares: share_k proportional to imbalance^(-k/(C-1)). */
static void class_cdf(const alq_gen_params *p, double *cdf) {
  int64_t C = p->n_classes;
  double log_ratio = log(p->imbalance), total = 0.0;
  for (int64_t k = 0; k < C; k++) {
    total += exp(-log_ratio * (double)k / (double)(C - 1));
    cdf[k] = total;
  }
  for (int64_t k = 0; k < C; k++)
    cdf[k] /= total;
  cdf[C - 1] = 1.0; /* rounding must not leave a u in [cdf[C-1], 1) without a class */
}

/* The first class whose cumulative share exceeds u. */
static int64_t class_of(const double *cdf, int64_t n_classes, double u) {
  int64_t lo = 0, hi = n_classes - 1;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (u < cdf[mid])
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

/* Standard normal numbers 0..n-1 of the stream keyed by (key, purpose).
 * Box-Muller: numbers 2m and 2m+1 share their two uniforms (cos and sin), so
 * number j depends only on (key, j) and not on n. */
static void fill_gaussian(uint64_t key, uint64_t purpose, int64_t n, double *out) {
  for (int64_t j = 0; j < n; j += 2) {
    double u1 = alq_hash_unit(key, (uint64_t)j, purpose);
    double u2 = alq_hash_unit(key, (uint64_t)j + 1, purpose);
    double radius = sqrt(-2.0 * log1p(-u1)); /* 1 - u1 is in (0, 1]: no log(0) */
    double angle = 2.0 * M_PI * u2;
    out[j] = radius * cos(angle);
    if (j + 1 < n)
      out[j + 1] = radius * sin(angle);
  }
}

/* Softmax of the nearest-mean model for one item `x`; writes C floats. */
static void model_probs(const alq_gen_params *p, uint64_t id, const double *x,
                        const double *means, double *logits, float *out) {
  int64_t C = p->n_classes, d = p->dim;
  fill_gaussian(alq_hash3(p->seed, id, ALQ_PURPOSE_GEN_LOGIT), ALQ_PURPOSE_GEN_LOGIT, C, logits);
  double top = -INFINITY;
  for (int64_t k = 0; k < C; k++) {
    const double *mean = means + k * d;
    double dist2 = 0.0;
    for (int64_t j = 0; j < d; j++)
      dist2 += (x[j] - mean[j]) * (x[j] - mean[j]);
    logits[k] = -SHARPNESS * dist2 / (2.0 * (double)d) + LOGIT_NOISE_STD * logits[k];
    if (logits[k] > top)
      top = logits[k];
  }
  double total = 0.0;
  for (int64_t k = 0; k < C; k++) {
    logits[k] = exp(logits[k] - top);
    total += logits[k];
  }
  for (int64_t k = 0; k < C; k++)
    out[k] = (float)(logits[k] / total);
}

alq_err alq_gen_rows(const alq_gen_params *p, int64_t lo, int64_t count, float *emb, float *probs,
                     int32_t *labels) {
  ALQ_CHECK(alq_gen_params_check(p));
  if (lo < 0 || count < 0 || lo > p->n_items - count)
    return alq_error_set(ALQ_ERR_INTERNAL,
                         "synthetic pool: rows [%lld, %lld) outside its %lld items",
                         (long long)lo, (long long)(lo + count), (long long)p->n_items);
  int64_t C = p->n_classes, d = p->dim;
  double *work;
  ALQ_CHECK(alq_malloc(&work, sizeof(double) * (size_t)(C + C * d + d + C),
                       "synthetic pool class means"));
  double *cdf = work, *means = cdf + C, *x = means + C * d, *logits = x + d;
  class_cdf(p, cdf);
  for (int64_t k = 0; k < C; k++)
    fill_gaussian(alq_hash3(p->seed, (uint64_t)k, ALQ_PURPOSE_GEN_MEAN), ALQ_PURPOSE_GEN_MEAN, d,
                  means + k * d);

  for (int64_t i = 0; i < count; i++) {
    uint64_t id = (uint64_t)(lo + i);
    int64_t c = class_of(cdf, C, alq_hash_unit(p->seed, id, ALQ_PURPOSE_GEN));
    if (labels)
      labels[i] = (int32_t)c;
    if (!emb && !probs)
      continue;
    double u = alq_hash_unit(p->seed, id, ALQ_PURPOSE_GEN_BLEND);
    double t = BLEND_MAX * u * u * u;
    int64_t partner =
        (c + 1 + (int64_t)(alq_hash_unit(p->seed, id, ALQ_PURPOSE_GEN_PARTNER) * (double)(C - 1))) % C;
    const double *own = means + c * d, *other = means + partner * d;
    fill_gaussian(alq_hash3(p->seed, id, ALQ_PURPOSE_GEN_NOISE), ALQ_PURPOSE_GEN_NOISE, d, x);
    for (int64_t j = 0; j < d; j++) {
      /* Round to float first: the model sees exactly the stored embedding. */
      float value = (float)((1.0 - t) * own[j] + t * other[j] + NOISE_STD * x[j]);
      x[j] = value;
      if (emb)
        emb[i * d + j] = value;
    }
    if (probs)
      model_probs(p, id, x, means, logits, probs + i * C);
  }
  free(work);
  return ALQ_OK;
}
