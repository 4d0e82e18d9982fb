/* core/gemm.c: SGEMM for bounds and the error allowances of every bound path (alq/gemm.h). */
#include "alq/gemm.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "alq/dot.h"

void alq_sgemm_nt(const float *x, int64_t rows, int64_t d, const float *c, int64_t nc, float *out) {
  if (rows == 0 || nc == 0)
    return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)nc, (int)d, 1.0f, x, (int)d, c, (int)d, 0.0f,
              out, (int)nc);
}

float alq_gemm_allowance(int64_t d, double norm_product) {
  /* 2 gamma ||x|| ||c||, rounded up generously: float conversions of the
   * operands' norms and of the result carry a few ulps of their own. */
  return (float)(2.0 * alq_dot_error_bound(d) * norm_product * (1.0 + 1e-5) + 1e-30);
}

/* alq_dot's own distance from the exact product, with gradual underflow. */
static double dot_exact_distance(int64_t d, double norm_product) {
  return alq_dot_error_bound(d) * norm_product + (double)d * ldexp(1.0, -149);
}

double alq_bound_gemm_path_allowance(const char *path, int64_t d, double norm_product, double norm_sum) {
  if (strcmp(path, "onednn-bf16")) /* openblas-f32, avx512-f32, avx512f-f32 (core/gemm_small.c): float sums */
    return 2.0 * dot_exact_distance(d, norm_product);
  const double u = ldexp(1.0, -8), t = ldexp(1.0, -126);
  double g = alq_dot_error_bound(d); /* >= g_d of the header's proof */
  double bf16 = ((2 * u + u * u) + g * (1 + u) * (1 + u)) * norm_product +
                4 * t * ((double)d + sqrt((double)d) * norm_sum);
  return bf16 + dot_exact_distance(d, norm_product);
}

/* bf16 round to nearest even on the bits: add 0x7fff plus the kept part's
 * lowest bit, keep the top half.  Finite inputs only (NaN is not preserved);
 * vectorises. */
void alq_bf16_round(const float *x, int64_t n, uint16_t *out) {
  for (int64_t k = 0; k < n; k++) {
    uint32_t v;
    memcpy(&v, x + k, 4);
    out[k] = (uint16_t)((v + 0x7fffu + ((v >> 16) & 1u)) >> 16);
  }
}
