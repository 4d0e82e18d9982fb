/* tests/test_blas_determinism.c: the arithmetic alq relies on for "the same
 * batch at any rank count".  k-center distances must not depend on where a row
 * sits in a shard: a row's cblas_sdot must not depend on the row's address, and
 * an SGEMM entry must not depend on the block it was computed in.  (SGEMV fails
 * the second property in OpenBLAS, which is why alq does not use it there.) */
#include <cblas.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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

static void sgemm_entry_ignores_block(void **unused) {
  uint32_t st = 7;
  const int n = 700, m = 45;
  for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
    int d = dims[k];
    float *x = random_matrix((int64_t)n * d, &st), *c = random_matrix((int64_t)m * d, &st);
    float *full = malloc(sizeof(float) * n * m), *part = malloc(sizeof(float) * n * m);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m, d, 1.0f, x, d, c, d, 0.0f, full, m);
    /* Blocks of odd shapes at odd offsets, as shard boundaries produce. */
    for (int off = 0; off < 60; off += 7) {
      int rows = n - off - (off * 13) % 50, cols = m - off % 6, c0 = off % 5;
      if (cols + c0 > m)
        cols = m - c0;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, cols, d, 1.0f, x + (int64_t)off * d, d,
                  c + (int64_t)c0 * d, d, 0.0f, part, cols);
      for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
          assert_true(part[i * cols + j] == full[(i + off) * m + (j + c0)]);
    }
    free(full);
    free(part);
    free(x);
    free(c);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sdot_ignores_address),
      cmocka_unit_test(sgemm_entry_ignores_block),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
