/* tests/test_blas_determinism.c: the arithmetic alq relies on for "the same
 * batch at any rank count".  k-center distances must not depend on where a row
 * sits in a shard: a row's cblas_sdot must not depend on the row's address, and
 * an SGEMM entry must not depend on the block it was computed in.  OpenBLAS's
 * SGEMV and short SGEMM calls fail the second property, which is why alq uses
 * neither where it matters: fixed-shape blocks (alq/gemm.h) instead. */
#include <cblas.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alq/gemm.h"

static float *random_matrix(int64_t n, uint32_t *state) {
  float *m = aligned_alloc(64, sizeof(float) * ((n + 15) / 16 * 16));
  for (int64_t i = 0; i < n; i++) {
    *state = *state * 1664525u + 1013904223u;
    m[i] = (float)((*state >> 8) * (1.0 / 16777216.0)) - 0.5f;
  }
  return m;
}

static const int dims[] = {3, 13, 16, 64, 100, 128};

static void sdot_ignores_address(void **unused) {
  uint32_t st = 1;
  for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
    int d = dims[k];
    float *x = random_matrix(d, &st), *c = random_matrix(d, &st);
    float ref = cblas_sdot(d, x, 1, c, 1);
    float *shifted = aligned_alloc(64, sizeof(float) * (d + 32));
    for (int off = 1; off < 16; off++) {
      memcpy(shifted + off, x, sizeof(float) * d);
      assert_true(cblas_sdot(d, shifted + off, 1, c, 1) == ref);
    }
    free(shifted);
    free(x);
    free(c);
  }
}

/* A row's products must not depend on which block it is in, where in the
 * block, or how many real rows the block has (a shard's last block is short):
 * alq_sgemm_nt_block pads every call to the same shape.  Small row counts are
 * where OpenBLAS switches kernels, so tails of 1..ALQ_GEMM_ROWS rows are tried. */
static void fixed_shape_block_ignores_position(void **unused) {
  uint32_t st = 7;
  const int n = 3 * ALQ_GEMM_ROWS, ncols[] = {1, 10, 45, 200};
  for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
    int d = dims[k];
    for (size_t q = 0; q < sizeof ncols / sizeof ncols[0]; q++) {
      int m = ncols[q];
      float *x = random_matrix((int64_t)n * d, &st), *c = random_matrix((int64_t)m * d, &st);
      float *ref = malloc(sizeof(float) * n * m), *out = malloc(sizeof(float) * ALQ_GEMM_ROWS * m);
      float *pad = aligned_alloc(64, sizeof(float) * ALQ_GEMM_ROWS * d);
      for (int b = 0; b < n; b += ALQ_GEMM_ROWS) {
        alq_sgemm_nt_block(x + (int64_t)b * d, ALQ_GEMM_ROWS, d, c, m, out, pad);
        memcpy(ref + (int64_t)b * m, out, sizeof(float) * ALQ_GEMM_ROWS * m);
      }
      for (int rows = 1; rows <= ALQ_GEMM_ROWS; rows += rows < 16 ? 1 : 37) {
        int off = (rows * 131) % (n - rows);
        alq_sgemm_nt_block(x + (int64_t)off * d, rows, d, c, m, out, pad);
        for (int i = 0; i < rows; i++)
          for (int j = 0; j < m; j++)
            assert_true(out[i * m + j] == ref[(off + i) * m + j]);
      }
      free(x);
      free(c);
      free(ref);
      free(out);
      free(pad);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sdot_ignores_address),
      cmocka_unit_test(fixed_shape_block_ignores_position),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
