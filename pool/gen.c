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
 *
 * Generator version 2 (2026-12-03).  Every value is the same on every machine:
 * the arithmetic is IEEE binary32 + - * / sqrt and integer operations only (no
 * libm, no BLAS, no fused multiply-add: the project builds with
 * -ffp-contract=off), in one fixed order.  The loops below are lane-wise (or
 * sum in fixed lanes), so the vectorised clones (target_clones: AVX-512, AVX2,
 * SSE2) compute exactly what the scalar code says.  log, sin, cos and exp are
 * the Cephes single-precision polynomials on their reduced ranges.
 */
#include "alq/gen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alq/dot.h"
#include "alq/hash.h"

/* Class means are N(0, 1) per coordinate, so two means are about sqrt(2d)
 * apart; noise 0.75 per coordinate keeps clusters distinct (an item is about
 * 0.75 sqrt(d) from its own mean) without making the data trivially clean. */
static const float NOISE_STD = 0.75f;
/* An item's centre is (1-t) mean[class] + t mean[partner], t = BLEND_MAX u^3:
 * most items sit near their own mean, about 7% have t > 0.4. */
static const double BLEND_MAX = 0.5;
/* Logit of class k: -SHARPNESS ||x - mean_k||^2 / (2 d) + LOGIT_NOISE_STD eta.
 * Dividing by d makes the gap between a clean item's own class and another
 * about SHARPNESS whatever the dimension (p ~ 0.997 for 10 classes). */
static const double SHARPNESS = 8.0;
static const float LOGIT_NOISE_STD = 0.5f;
/* Logit gaps beyond this give probability 0: exp(-87) = 1.6e-38 is the
 * smallest normal float, so nothing representable is lost. */
static const float EXP_FLOOR = -87.0f;
/* The logit noise of an item uses Gaussian pairs from this counter on, the
 * embedding noise (same key) those below it. */
static const uint32_t LOGIT_PAIRS = 0x40000000u;

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define GEN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GEN_CLONES
#endif

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

/* ---- double log and exp for the class shares (once per model) ---- */

/* ln x for x >= 1: x = 2^e m, m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s),
 * s = (m-1)/(m+1), |s| < 0.172, series to s^23 (relative error < 1e-17). */
static double det_log(double x) {
  int e;
  double m = frexp(x, &e); /* exact: m in [0.5, 1) */
  if (m < 0.70710678118654752) {
    m *= 2.0;
    e -= 1;
  }
  double s = (m - 1.0) / (m + 1.0), s2 = s * s, sum = 0.0;
  for (int k = 23; k >= 1; k -= 2)
    sum = sum * s2 + 1.0 / k;
  return (double)e * 6.93147180369123816490e-01 + ((double)e * 1.90821492927058770002e-10 + 2.0 * s * sum);
}

/* e^x for x in [-750, 0]: x = n ln2 + r, |r| <= ln2/2, Taylor to r^14. */
static double det_exp(double x) {
  double n = floor(x * 1.44269504088896340736 + 0.5);
  double r = (x - n * 6.93147180369123816490e-01) - n * 1.90821492927058770002e-10, term = 1.0;
  for (int k = 14; k >= 1; k--)
    term = 1.0 + term * r / k;
  return ldexp(term, (int)n); /* exact */
}

/* Cumulative class shares: share_k proportional to imbalance^(-k/(C-1)). */
static void class_cdf(const alq_gen_params *p, double *cdf) {
  int64_t C = p->n_classes;
  double log_ratio = det_log(p->imbalance), total = 0.0;
  for (int64_t k = 0; k < C; k++) {
    total += det_exp(-log_ratio * (double)k / (double)(C - 1));
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

/* ---- float Gaussians, exp ---- */

/* A 32-bit bijective mixer (Wellons' lowbias32). */
static inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

static inline float bits_float(uint32_t b) {
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}

static inline uint32_t float_bits(float f) {
  uint32_t b;
  memcpy(&b, &f, sizeof b);
  return b;
}

/* ln u for a normal float u in (0, 1] (Cephes logf: relative error ~1e-7). */
static inline float log_unit(float u) {
  uint32_t b = float_bits(u);
  float e = (float)((int32_t)(b >> 23) - 126);
  float m = bits_float((b & 0x007fffffu) | 0x3f000000u); /* [0.5, 1) */
  int low = m < 0.707106781186547524f;
  e = low ? e - 1.0f : e;
  float x = low ? (m + m) - 1.0f : m - 1.0f, z = x * x;
  float y = 7.0376836292e-2f;
  y = y * x - 1.1514610310e-1f;
  y = y * x + 1.1676998740e-1f;
  y = y * x - 1.2420140846e-1f;
  y = y * x + 1.4249322787e-1f;
  y = y * x - 1.6668057665e-1f;
  y = y * x + 2.0000714765e-1f;
  y = y * x - 2.4999993993e-1f;
  y = y * x + 3.3333331174e-1f;
  y = y * x * z;
  y = y + e * -2.12194440e-4f;
  y = y - 0.5f * z;
  return (x + y) + e * 0.693359375f;
}

/* Standard normal numbers 0..n-1 of the stream keyed by `key` and starting
 * at pair `first`: Box-Muller on pair m = 0..P-1 (P = ceil(n/2)) gives
 * out[m] = r cos phi and out[P+m] = r sin phi.  A pair's three 32-bit hashes
 * give u1 in (0, 1] (24 bits: radius at most 5.77) and an angle phi uniform on
 * the circle: a quadrant and theta in [-pi/4, pi/4) (24 bits), where the
 * Cephes sinf/cosf polynomials are accurate to ~1e-7.  `tmp` holds 2P floats. */
static inline void gaussians(uint64_t key, uint32_t first, int64_t n, float *tmp, float *out) {
  int64_t P = (n + 1) / 2;
  uint32_t lo = (uint32_t)key, hi = (uint32_t)(key >> 32);
  for (int64_t m = 0; m < P; m++) {
    uint32_t a = mix32(lo + (first + (uint32_t)m) * 0x9e3779b9u);
    uint32_t b = mix32(a ^ hi);
    uint32_t c = mix32(b + 0x6a09e667u);
    float u1 = (float)(int32_t)((b >> 8) + 1) * 0x1p-24f;
    float radius = sqrtf(-2.0f * log_unit(u1));
    float theta = ((float)(int32_t)((c >> 6) & 0x00ffffffu) - 8388608.0f) * (float)(1.5707963267948966 * 0x1p-24);
    float z = theta * theta;
    float s = theta + theta * z * ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f);
    float co = (1.0f - 0.5f * z) +
               z * z * ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f);
    uint32_t q = c >> 30; /* quarter turns: (cos, sin) of phi = q pi/2 + theta */
    float cx = (q & 1) ? s : co, sy = (q & 1) ? co : s;
    cx = ((q + 1) & 2) ? -cx : cx;
    sy = (q & 2) ? -sy : sy;
    tmp[m] = radius * cx;
    tmp[P + m] = radius * sy;
  }
  memcpy(out, tmp, sizeof(float) * (size_t)n);
}

/* e^x for x in [EXP_FLOOR, 0] (Cephes expf: relative error ~1e-7), 0 below. */
static inline float exp_nonpos(float x) {
  uint32_t keep = (uint32_t)0 - (uint32_t)(x >= EXP_FLOOR); /* all ones or zero: selects without branches */
  float xc = bits_float((float_bits(x) & keep) | (float_bits(EXP_FLOOR) & ~keep));
  int32_t n = (int32_t)(xc * 1.44269504088896341f - 0.5f); /* toward zero: ceil, so |r| <= ln2 / 2 */
  float nf = (float)n;
  float r = (xc - nf * 0.693359375f) - nf * -2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = (y * (r * r) + r) + 1.0f;
  return bits_float(float_bits(y * bits_float((uint32_t)(n + 127) << 23)) & keep);
}

/* ---- the model ---- */

struct alq_gen_model {
  alq_gen_params p;
  int64_t cpad;     /* C rounded up to 16 */
  double *cdf;      /* C cumulative class shares */
  float *means;     /* C x d, row-major */
  float *means_t;   /* d x cpad: the means transposed, zero padded */
  float *mean_norm; /* cpad: ||mean_k||^2 (alq_dot) */
  float *work;      /* one row's scratch (see row_values) */
};

alq_err alq_gen_model_create(const alq_gen_params *p, alq_gen_model **out) {
  ALQ_CHECK(alq_gen_params_check(p));
  int64_t C = p->n_classes, d = p->dim, cpad = (C + 15) / 16 * 16, wide = d > cpad ? d : cpad;
  alq_gen_model *m;
  ALQ_CHECK(alq_calloc(&m, 1, sizeof *m, "synthetic pool model"));
  m->p = *p;
  m->cpad = cpad;
  alq_err err = alq_malloc(&m->cdf, sizeof(double) * (size_t)C, "synthetic pool class shares");
  if (!err)
    err = alq_malloc(&m->means, sizeof(float) * (size_t)(C * d), "synthetic pool class means");
  if (!err)
    err = alq_calloc(&m->means_t, (size_t)(d * cpad), sizeof(float), "synthetic pool class means");
  if (!err)
    err = alq_calloc(&m->mean_norm, (size_t)cpad, sizeof(float), "synthetic pool class means");
  /* noise d, logit noise cpad, pair scratch wide + 2, distances cpad */
  if (!err)
    err = alq_calloc(&m->work, (size_t)(d + 3 * cpad + wide + 2), sizeof(float), "synthetic pool row");
  if (err) {
    alq_gen_model_free(m);
    return err;
  }
  class_cdf(p, m->cdf);
  float *tmp = m->work + d + 2 * cpad;
  for (int64_t k = 0; k < C; k++) {
    float *mean = m->means + k * d;
    gaussians(alq_hash3(p->seed, (uint64_t)k, ALQ_PURPOSE_GEN_MEAN), 0, d, tmp, mean);
    for (int64_t j = 0; j < d; j++)
      m->means_t[j * cpad + k] = mean[j];
    m->mean_norm[k] = alq_dot(mean, mean, d);
  }
  *out = m;
  return ALQ_OK;
}

void alq_gen_model_free(alq_gen_model *m) {
  if (!m)
    return;
  free(m->cdf);
  free(m->means);
  free(m->means_t);
  free(m->mean_norm);
  free(m->work);
  free(m);
}

/* dot[k] = x . mean_k for k < cpad, summed over j in increasing order for
 * each k on its own (lanes are classes), in tiles of classes kept in
 * registers. */
static inline void class_dots(const float *x, const float *means_t, int64_t d, int64_t cpad, float *dot) {
  int64_t k0 = 0;
  for (; k0 + 64 <= cpad; k0 += 64) {
    float acc[64] = {0};
    for (int64_t j = 0; j < d; j++)
      for (int l = 0; l < 64; l++)
        acc[l] = acc[l] + x[j] * means_t[j * cpad + k0 + l];
    memcpy(dot + k0, acc, sizeof acc);
  }
  for (; k0 < cpad; k0 += 16) {
    float acc[16] = {0};
    for (int64_t j = 0; j < d; j++)
      for (int l = 0; l < 16; l++)
        acc[l] = acc[l] + x[j] * means_t[j * cpad + k0 + l];
    memcpy(dot + k0, acc, sizeof acc);
  }
}

/* One item's embedding x (d floats, also written to emb when asked) and, if
 * probs, its C probabilities.  work: noise d, eta cpad, pair scratch, dist cpad. */
GEN_CLONES static void row_values(const alq_gen_model *mdl, uint64_t id, int64_t c, float *work, float *emb,
                                  float *probs) {
  const alq_gen_params *p = &mdl->p;
  int64_t C = p->n_classes, d = p->dim, cpad = mdl->cpad;
  float *x = work, *eta = x + d, *lg = eta + cpad, *tmp = lg + cpad;
  uint64_t blend = alq_hash3(p->seed, id, ALQ_PURPOSE_GEN_BLEND);
  double u = (double)(blend >> 11) * 0x1.0p-53, t = BLEND_MAX * u * u * u;
  int64_t partner = (c + 1 + (int64_t)(((blend & 0xffffffffu) * (uint64_t)(C - 1)) >> 32)) % C;
  const float *own = mdl->means + c * d, *other = mdl->means + partner * d;
  float a = (float)(1.0 - t), b = (float)t;
  uint64_t key = alq_hash3(p->seed, id, ALQ_PURPOSE_GEN_NOISE);
  gaussians(key, 0, d, tmp, x);
  for (int64_t j = 0; j < d; j++)
    x[j] = (a * own[j] + b * other[j]) + NOISE_STD * x[j];
  if (emb)
    memcpy(emb, x, sizeof(float) * (size_t)d);
  if (!probs)
    return;
  gaussians(key, LOGIT_PAIRS, C, tmp, eta);
  /* ||x - m_k||^2 = (||x||^2 + ||m_k||^2) - 2 x.m_k: no cancellation worth the
   * name here (an item is ~0.75 sqrt(d) from its nearest mean, ~sqrt(d) from the origin). */
  float xx = alq_dot(x, x, d), scale = (float)(-SHARPNESS / (2.0 * (double)d));
  class_dots(x, mdl->means_t, d, cpad, lg);
  for (int64_t k = 0; k < C; k++)
    lg[k] = ((xx + mdl->mean_norm[k]) - 2.0f * lg[k]) * scale + LOGIT_NOISE_STD * eta[k];
  for (int64_t k = C; k < cpad; k++)
    lg[k] = -INFINITY; /* exp gives 0 */
  /* The largest logit (any order gives the same maximum), in 16 lanes. */
  float most[16];
  memcpy(most, lg, sizeof most);
  for (int64_t k = 16; k < cpad; k += 16)
    for (int l = 0; l < 16; l++)
      most[l] = lg[k + l] > most[l] ? lg[k + l] : most[l];
  float top = most[0];
  for (int l = 1; l < 16; l++)
    top = most[l] > top ? most[l] : top;
  for (int64_t k = 0; k < cpad; k++)
    lg[k] = exp_nonpos(lg[k] - top);
  /* The sum in 16 lanes (k mod 16), then a halving tree: one order everywhere. */
  float lane[16] = {0};
  for (int64_t k = 0; k < cpad; k += 16)
    for (int l = 0; l < 16; l++)
      lane[l] = lane[l] + lg[k + l];
  for (int w = 8; w >= 1; w /= 2)
    for (int l = 0; l < w; l++)
      lane[l] = lane[l] + lane[l + w];
  for (int64_t k = 0; k < C; k++)
    probs[k] = lg[k] / lane[0];
}

alq_err alq_gen_model_rows(alq_gen_model *m, int64_t lo, int64_t count, float *emb, float *probs,
                           int32_t *labels) {
  const alq_gen_params *p = &m->p;
  if (lo < 0 || count < 0 || lo > p->n_items - count)
    return alq_error_set(ALQ_ERR_INTERNAL,
                         "synthetic pool: rows [%lld, %lld) outside its %lld items",
                         (long long)lo, (long long)(lo + count), (long long)p->n_items);
  int64_t C = p->n_classes, d = p->dim;
  for (int64_t i = 0; i < count; i++) {
    uint64_t id = (uint64_t)(lo + i);
    int64_t c = class_of(m->cdf, C, alq_hash_unit(p->seed, id, ALQ_PURPOSE_GEN));
    if (labels)
      labels[i] = (int32_t)c;
    if (emb || probs)
      row_values(m, id, c, m->work, emb ? emb + i * d : NULL, probs ? probs + i * C : NULL);
  }
  return ALQ_OK;
}

alq_err alq_gen_normals(uint64_t key, uint32_t first_pair, int64_t n, float *out) {
  float *tmp = NULL;
  ALQ_CHECK(alq_malloc(&tmp, sizeof(float) * (size_t)(n + 2), "normal numbers"));
  gaussians(key, first_pair, n, tmp, out);
  free(tmp);
  return ALQ_OK;
}

alq_err alq_gen_rows(const alq_gen_params *p, int64_t lo, int64_t count, float *emb, float *probs,
                     int32_t *labels) {
  alq_gen_model *m;
  ALQ_CHECK(alq_gen_model_create(p, &m));
  alq_err err = alq_gen_model_rows(m, lo, count, emb, probs, labels);
  alq_gen_model_free(m);
  return err;
}
