/* core/gemm.c: SGEMM for bounds (alq/gemm.h). */
#include "alq/gemm.h"

#include <cblas.h>

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
