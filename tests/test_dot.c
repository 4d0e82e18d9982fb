/* tests/test_dot.c: the arithmetic behind "the same batch on every machine".
 *
 * alq_dot (alq/dot.h) must equal, bit for bit, a scalar reference written
 * here from the order alq/dot.h documents, on every instruction-set path the
 * CPU can run, at any address; and SGEMM, which alq uses only for bounds,
 * must stay within alq_gemm_allowance of it for calls of every shape (the
 * kernel, thread count and a row's position change SGEMM's rounding, never
 * beyond that bound).  Run under each OPENBLAS_CORETYPE by the kernel matrix
 * (tests/kernels.cmake). */
#include <cblas.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alq/dot.h"
#include "alq/gemm.h"

char *openblas_get_corename(void);

/* The documented order, one scalar operation at a time. */
static float reference_dot(const float *x, const float *y, int64_t d) {
  float lane[32] = {0};
  for (int64_t k = 0; k < d; k++) {
    float p = x[k] * y[k];
    lane[k % 32] = lane[k % 32] + p;
  }
  for (int w = 16; w >= 1; w /= 2)
    for (int l = 0; l < w; l++)
      lane[l] = lane[l] + lane[l + w];
  return lane[0];
}

static uint32_t next(uint32_t *state) {
  *state = *state * 1664525u + 1013904223u;
  return *state >> 8;
}

/* Values spread over many binades, so that different orders round differently. */
static float *random_vector(int64_t n, uint32_t *state) {
  float *v = malloc(sizeof(float) * (size_t)(n ? n : 1));
  for (int64_t i = 0; i < n; i++) {
    float u = (float)(next(state) * (1.0 / 16777216.0)) - 0.5f;
    v[i] = ldexpf(u, (int)(next(state) % 24) - 12);
  }
  return v;
}

static int bits_equal(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

static void each_path_matches_reference(void **unused) {
  uint32_t st = 3;
  float *shifted = malloc(sizeof(float) * (4096 + 32));
  int paths = 0;
  for (int k = 0; alq_dot_path_name(k); k++) {
    if (!alq_dot_use_path(alq_dot_path_name(k))) {
      printf("# dot path %s: this CPU cannot run it (skipped)\n", alq_dot_path_name(k));
      continue;
    }
    paths++;
    for (int64_t d = 0; d <= 4096; d += d < 300 ? 1 : 509) {
      float *x = random_vector(d, &st), *y = random_vector(d, &st);
      float ref = reference_dot(x, y, d);
      assert_true(bits_equal(alq_dot(x, y, d), ref));
      for (int off = 1; off < 16; off += 5) {
        memcpy(shifted + off, x, sizeof(float) * (size_t)d);
        assert_true(bits_equal(alq_dot(shifted + off, y, d), ref));
      }
      free(x);
      free(y);
    }
  }
  assert_true(paths >= 1);
  alq_dot_use_path(NULL);
  free(shifted);
}

static void rows_equal_single_dots(void **unused) {
  uint32_t st = 5;
  const int64_t d = 77, nc = 41;
  float *x = random_vector(d, &st), *c = random_vector(d * nc, &st), out[41];
  alq_dot_rows(x, c, nc, d, out);
  for (int64_t j = 0; j < nc; j++)
    assert_true(bits_equal(out[j], alq_dot(x, c + j * d, d)));
  free(x);
  free(c);
}

/* |alq_dot - exact| <= gamma sum |x_k y_k| (exact: long double, whose 64-bit
 * mantissa holds every product of two floats and sums them with far less
 * error than the bound). */
static void within_the_error_bound(void **unused) {
  uint32_t st = 9;
  for (int64_t d = 1; d <= 2048; d = d * 3 + 1) {
    float *x = random_vector(d, &st), *y = random_vector(d, &st);
    long double exact = 0, mag = 0;
    for (int64_t k = 0; k < d; k++) {
      exact += (long double)x[k] * y[k];
      mag += fabsl((long double)x[k] * y[k]);
    }
    assert_true(fabsl((long double)alq_dot(x, y, d) - exact) <= (long double)alq_dot_error_bound(d) * mag);
    free(x);
    free(y);
  }
}

/* SGEMM in calls of many shapes: every entry within the allowance of alq_dot. */
static void sgemm_within_allowance(void **unused) {
  uint32_t st = 11;
  const int64_t dims[] = {3, 13, 64, 100, 128, 333}, ncols[] = {1, 10, 45, 200}, rows[] = {1, 2, 7, 16, 255, 256, 300};
  for (size_t a = 0; a < sizeof dims / sizeof dims[0]; a++)
    for (size_t b = 0; b < sizeof ncols / sizeof ncols[0]; b++)
      for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        int64_t d = dims[a], nc = ncols[b], n = rows[r];
        float *x = random_vector(n * d, &st), *c = random_vector(nc * d, &st);
        float *out = malloc(sizeof(float) * (size_t)(n * nc));
        alq_sgemm_nt(x, n, d, c, nc, out);
        for (int64_t i = 0; i < n; i++)
          for (int64_t j = 0; j < nc; j++) {
            double nx = sqrt((double)alq_dot(x + i * d, x + i * d, d)), ny = sqrt((double)alq_dot(c + j * d, c + j * d, d));
            float exact = alq_dot(x + i * d, c + j * d, d);
            assert_true(fabsf(out[i * nc + j] - exact) <= alq_gemm_allowance(d, nx * ny * (1 + 1e-6)));
          }
        free(x);
        free(c);
        free(out);
      }
}

int main(void) {
  const char *forced = getenv("OPENBLAS_CORETYPE");
  printf("# OpenBLAS kernel %s (OPENBLAS_CORETYPE=%s), dot path %s\n", openblas_get_corename(),
         forced ? forced : "unset", alq_dot_path());
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(each_path_matches_reference),
      cmocka_unit_test(rows_equal_single_dots),
      cmocka_unit_test(within_the_error_bound),
      cmocka_unit_test(sgemm_within_allowance),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
