/* ood/knn.c: the distance to the k-th nearest labeled item (Sun et al. 2022),
 * exact.  SGEMM against the reference gives every similarity within the
 * allowance a of alq_dot's (alq/gemm.h).  If g_k is the k-th largest SGEMM
 * value, the exact k-th largest is >= g_k - a, so every reference row among
 * the exact k nearest has an SGEMM value >= g_k - 2a: only those rows get the
 * alq_dot value, and the k-th largest of those decides.  The score is thus a
 * function of the row and the reference alone, whatever the kernel, shard or
 * block. */
#include <math.h>

#include "alq/dot.h"
#include "alq/gemm.h"
#include "alq/logview.h"
#include "ood_impl.h"

void alq_ood_normalise(const float *x, int64_t d, float *u) {
  float norm = sqrtf(alq_dot(x, x, d));
  float inv = norm > 0 ? 1.0f / norm : 0.0f;
  for (int64_t j = 0; j < d; j++)
    u[j] = x[j] * inv;
}

/* The k-th largest of a[0..n) (1 <= k <= n), reordering a. */
static float kth_largest(float *a, int64_t n, int64_t k) {
  int64_t lo = 0, hi = n - 1, want = k - 1;
  while (lo < hi) {
    float pivot = a[lo + (hi - lo) / 2];
    int64_t i = lo, j = hi;
    while (i <= j) {
      while (a[i] > pivot)
        i++;
      while (a[j] < pivot)
        j--;
      if (i <= j) {
        float t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    if (want <= j)
      hi = j;
    else if (want >= i)
      lo = i;
    else
      return a[want];
  }
  return a[want];
}

/* The exact k-th largest similarity of unit row u to the reference. */
static float kth_similarity(const alq_ood_model *m, alq_ood_work *w, const float *u, const float *approx,
                            int64_t skip, float allowance) {
  const int64_t n = m->n_ref, d = m->dim, k = m->opt.k;
  int64_t c = 0;
  for (int64_t j = 0; j < n; j++)
    if (j != skip)
      w->pick[c++] = approx[j];
  float floor_value = kth_largest(w->pick, c, k) - 2 * allowance;
  c = 0;
  for (int64_t j = 0; j < n; j++)
    if (j != skip && approx[j] >= floor_value)
      w->pick[c++] = alq_dot(u, m->ref + j * d, d);
  return kth_largest(w->pick, c, k);
}

void alq_ood_knn_block(const alq_ood_model *m, alq_ood_work *w, const float *x, int64_t b, const int64_t *exclude,
                       double *scores) {
  const int64_t n = m->n_ref, d = m->dim;
  for (int64_t i = 0; i < b; i++)
    alq_ood_normalise(x + i * d, d, w->unit + i * d);
  alq_sgemm_nt(w->unit, b, d, m->ref, n, w->sim);
  alq_log_flops(2 * b * n * d);
  /* Unit rows: ||u|| ||r|| <= 1 up to the normalisation's rounding. */
  float allowance = alq_gemm_allowance(d, 1.0 + 1e-5);
  for (int64_t i = 0; i < b; i++) {
    float s = kth_similarity(m, w, w->unit + i * d, w->sim + i * n, exclude ? exclude[i] : -1, allowance);
    double sq = 2.0 - 2.0 * (double)s;
    scores[i] = sq > 0 ? sqrt(sq) : 0.0;
  }
}
