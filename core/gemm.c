/* core/gemm.c: fixed-shape SGEMM blocks (alq/gemm.h). */
#include "alq/gemm.h"

#include <cblas.h>
#include <string.h>

void alq_sgemm_nt_block(const float *x, int64_t rows, int64_t d, const float *c, int64_t nc, float *out, float *pad) {
  const float *a = x;
  if (rows < ALQ_GEMM_ROWS) {
    memcpy(pad, x, sizeof(float) * rows * d);
    memset(pad + rows * d, 0, sizeof(float) * (ALQ_GEMM_ROWS - rows) * d);
    a = pad;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ALQ_GEMM_ROWS, (int)nc, (int)d, 1.0f, a, (int)d, c, (int)d,
              0.0f, out, (int)nc);
}
