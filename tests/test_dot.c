/* tests/test_dot.c: the arithmetic behind "the same batch on every machine".
 *
 * alq_dot (alq/dot.h) must equal, bit for bit, a scalar reference written
 * here from the order alq/dot.h documents, on every instruction-set path the
 * CPU can run, at any address; and SGEMM, which alq uses only for bounds,
 * must stay within alq_gemm_allowance of it for calls of every shape (the
 * kernel, thread count and a row's position change SGEMM's rounding, never
 * beyond that bound); the bound GEMM (bf16 or SGEMM) stays within its
 * proven allowance on adversarial data.  Run under each OPENBLAS_CORETYPE by the kernel matrix
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
#include "alq/half.h"
#include "alq/isa.h"

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

/* alq_dot_half on binary16 rows (every length to 100, odd starts) and
 * alq_dot_half_rows equal the reference on the widened rows, on every path. */
static void half_rows_match_reference(void **unused) {
  (void)unused;
  uint32_t st = 11;
  uint16_t *h = malloc(sizeof(uint16_t) * 104);
  float *wide = malloc(sizeof(float) * 104), *scratch = malloc(sizeof(float) * 104);
  for (int k = 0; alq_dot_path_name(k); k++) {
    if (!alq_dot_use_path(alq_dot_path_name(k)))
      continue;
    for (int64_t d = 0; d <= 100; d++)
      for (int off = 0; off < 3; off++) {
        float *y = random_vector(d + off, &st);
        for (int64_t i = 0; i < d + off; i++) /* finite halves of every binade, subnormals too */
          h[i] = (uint16_t)(next(&st) % 0x7c00u | (next(&st) & 1u) << 15);
        alq_half_to_float(h + off, wide, d);
        float got = alq_dot_half(h + off, y + off, d, scratch), want = reference_dot(wide, y + off, d);
        if (!bits_equal(got, want))
          fail_msg("path %s d=%lld off=%d: %a != %a", alq_dot_path_name(k), (long long)d, off, (double)got,
                   (double)want);
        free(y);
      }
    /* the rows kernel: n rows of d against one y, every n to 9 */
    for (int64_t d = 1; d <= 70; d += 23)
      for (int64_t n = 0; n <= 9; n++) {
        uint16_t *rows = malloc(sizeof(uint16_t) * (size_t)(n * d + 1));
        float *y = random_vector(d, &st), out[9], w[70];
        for (int64_t i = 0; i < n * d; i++)
          rows[i] = (uint16_t)(next(&st) % 0x7c00u | (next(&st) & 1u) << 15);
        alq_dot_half_rows(rows, y, n, d, out, scratch);
        for (int64_t i = 0; i < n; i++) {
          alq_half_to_float(rows + i * d, w, d);
          if (!bits_equal(out[i], reference_dot(w, y, d)))
            fail_msg("path %s rows n=%lld d=%lld row %lld differs", alq_dot_path_name(k), (long long)n, (long long)d,
                     (long long)i);
        }
        free(rows);
        free(y);
      }
  }
  alq_dot_use_path(NULL);
  free(h);
  free(wide);
  free(scratch);
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

/* Adversarial rows for the bound GEMM: kind 0, every value just below a bf16
 * halfway point (1 + 2^-8 - small), all positive, so every rounding error has
 * the same sign and the bf16 error approaches its bound; kind 1, values spread
 * over many binades with signs; kind 2, values at and below float's smallest
 * normal (the hardware may flush them: DAZ/FTZ) mixed with ordinary ones. */
static float *adversarial_vector(int kind, int64_t n, uint32_t *state) {
  float *v = random_vector(n, state);
  for (int64_t i = 0; i < n; i++) {
    float u = (float)(next(state) * (1.0 / 16777216.0));
    if (kind == 0)
      v[i] = ldexpf(1.0f + 0x1p-8f - 0x1p-20f * u, (int)(next(state) % 3));
    else if (kind == 2 && next(state) % 2)
      v[i] = ldexpf(u + 0.5f, -126 - (int)(next(state) % 20)) * (next(state) % 2 ? 1.0f : -1.0f);
  }
  return v;
}

/* alq_bound_gemm_run_filter's bits against alq_bound_gemm_run's entries `out`
 * of the same rows: thresholds at some entries exactly (equal passes), one
 * NaN threshold (passes every row), scales not 1; no bit past nc. */
static void check_filter_bits(alq_bound_gemm *g, const float *x, int64_t n, int64_t nc, const float *out) {
  int64_t groups = (nc + ALQ_BOUND_GROUP - 1) / ALQ_BOUND_GROUP;
  float *scale = malloc(sizeof(float) * (size_t)n), *th = malloc(sizeof(float) * (size_t)nc),
        *scratch = malloc(sizeof(float) * (size_t)(n * nc));
  uint64_t *bits = malloc(sizeof(uint64_t) * (size_t)(groups * n));
  for (int64_t i = 0; i < n; i++)
    scale[i] = 0.5f + 0.25f * (float)(i % 3);
  for (int64_t j = 0; j < nc; j++)
    th[j] = out[(j % n) * nc + j] * scale[j % n];
  if (nc > 2)
    th[nc / 2] = NAN;
  alq_bound_gemm_run_filter(g, x, n, scale, th, scratch, bits);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < groups * ALQ_BOUND_GROUP; j++) {
      int want = j < nc && !(out[i * nc + j] * scale[i] < th[j]);
      int got = (int)(bits[(j / ALQ_BOUND_GROUP) * n + i] >> (j % ALQ_BOUND_GROUP) & 1);
      assert_int_equal(got, want);
    }
  free(scale);
  free(th);
  free(scratch);
  free(bits);
}

/* The bound GEMM on each path, against the exact product (long double sums of
 * exact double products) and against alq_dot: every entry within
 * alq_bound_gemm_allowance.  On kind 0 the bf16 error must also come near its
 * bound (at least a third of it): a bound the data never approaches would not
 * test the proof. */
static void bound_gemm_within_allowance(void **unused) {
  const char *paths[] = {"onednn-bf16", "openblas-f32", "avx512-f32"};
  const int64_t dims[] = {3, 13, 64, 128, 333}, ncols[] = {1, 45, 48, 49, 200}, rows[] = {1, 7, 9, 256};
  for (int p = 0; p < 3; p++) {
    setenv("ALQ_BOUND_GEMM", paths[p], 1);
    double worst_ratio = 0; /* on kind 0, bf16: |out - exact| / its bf16 bound */
    int ran_bf16 = 0;
    uint32_t st = 17;
    for (int kind = 0; kind < 3; kind++)
      for (size_t a = 0; a < sizeof dims / sizeof dims[0]; a++)
        for (size_t b = 0; b < sizeof ncols / sizeof ncols[0]; b++)
          for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            int64_t d = dims[a], nc = ncols[b], n = rows[r];
            float *x = adversarial_vector(kind, n * d, &st), *c = adversarial_vector(kind, nc * d, &st);
            float *out = malloc(sizeof(float) * (size_t)(n * nc));
            alq_bound_gemm *g = NULL;
            assert_int_equal(alq_bound_gemm_create(&g, c, nc, d, n), 0);
            const char *ran = alq_bound_gemm_path(g);
            ran_bf16 |= !strcmp(ran, "onednn-bf16");
            if (p == 2 && alq_isa_supported("avx512f")) /* forced and runnable: it runs */
              assert_string_equal(ran, "avx512-f32");
            alq_bound_gemm_run(g, x, n, out);
            for (int64_t i = 0; i < n; i++)
              for (int64_t j = 0; j < nc; j++) {
                const float *xi = x + i * d, *cj = c + j * d;
                long double exact = 0, mag = 0, nx2 = 0, nc2 = 0;
                for (int64_t k = 0; k < d; k++) {
                  exact += (long double)xi[k] * cj[k];
                  mag += fabsl((long double)xi[k] * cj[k]);
                  nx2 += (long double)xi[k] * xi[k];
                  nc2 += (long double)cj[k] * cj[k];
                }
                double np = (double)sqrtl(nx2 * nc2), ns = (double)(sqrtl(nx2) + sqrtl(nc2));
                float allow = alq_bound_gemm_allowance(g, np, ns);
                assert_true(fabsf(out[i * nc + j] - alq_dot(xi, cj, d)) <= allow);
                assert_true(fabsl((long double)out[i * nc + j] - exact) <= (long double)allow);
                if (kind == 0 && !strcmp(ran, "onednn-bf16")) {
                  double r = (double)(fabsl((long double)out[i * nc + j] - exact) / (0x1p-7L * mag));
                  worst_ratio = r > worst_ratio ? r : worst_ratio;
                }
              }
            check_filter_bits(g, x, n, nc, out);
            alq_bound_gemm_free(g);
            free(x);
            free(c);
            free(out);
          }
    if (p == 0) {
      if (ran_bf16)
        assert_true(worst_ratio >= 1.0 / 3.0);
      else
        printf("# bound GEMM: onednn-bf16 is not available here (build or CPU); only openblas-f32 is tested\n");
      printf("# bound GEMM onednn-bf16: ran=%d, largest error on kind 0 = %.3f of 2u sum|x y|\n", ran_bf16,
             worst_ratio);
    }
  }
  unsetenv("ALQ_BOUND_GEMM");
}

/* The small bound products (alq_bound_small_*, core/gemm_small.c) on the
 * adversarial rows, read by index in an order of their own, at every tile
 * count: every entry within the "avx512f-f32" allowance of the exact product
 * and of alq_dot.  Skipped (a note) on a CPU without the path. */
static void bound_small_within_allowance(void **unused) {
  const char *path = alq_bound_small_path();
  if (!path) {
    printf("# bound small: no path on this CPU\n");
    return;
  }
  assert_int_equal(alq_bound_small_run(NULL, ALQ_BOUND_SMALL_MAX + 1, 1, NULL, NULL, 0, NULL), 0);
  const int64_t dims[] = {1, 3, 13, 64, 128, 333}, ncols[] = {1, 5, 16, 17, 33, 48, 63, 64}, rows[] = {1, 3, 4, 9, 256};
  uint32_t st = 23;
  for (int kind = 0; kind < 3; kind++)
    for (size_t a = 0; a < sizeof dims / sizeof dims[0]; a++)
      for (size_t b = 0; b < sizeof ncols / sizeof ncols[0]; b++)
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
          int64_t d = dims[a], nc = ncols[b], m = rows[r], n = m + 5, w = alq_bound_small_width(nc);
          assert_true(w >= nc && w % 16 == 0);
          float *x = adversarial_vector(kind, n * d, &st), *c = adversarial_vector(kind, nc * d, &st);
          float *ct = malloc(sizeof(float) * (size_t)(w * d)), *out = malloc(sizeof(float) * (size_t)(m * w));
          int64_t *idx = malloc(sizeof(int64_t) * (size_t)m);
          for (int64_t k = 0; k < m; k++)
            idx[k] = (k * 7 + 3) % n; /* not in order, not all rows */
          alq_bound_small_prepare(c, nc, d, ct);
          assert_int_equal(alq_bound_small_run(ct, nc, d, x, idx, m, out), 1);
          for (int64_t k = 0; k < m; k++)
            for (int64_t j = 0; j < nc; j++) {
              const float *xi = x + idx[k] * d, *cj = c + j * d;
              long double exact = 0, nx2 = 0, nc2 = 0;
              for (int64_t q = 0; q < d; q++) {
                exact += (long double)xi[q] * cj[q];
                nx2 += (long double)xi[q] * xi[q];
                nc2 += (long double)cj[q] * cj[q];
              }
              double np = (double)sqrtl(nx2 * nc2), ns = (double)(sqrtl(nx2) + sqrtl(nc2));
              double allow = alq_bound_gemm_path_allowance(path, d, np, ns) * (1 + 1e-5) + 1e-30;
              float v = out[k * w + j];
              assert_true(fabsf(v - alq_dot(xi, cj, d)) <= allow);
              assert_true(fabsl((long double)v - exact) <= (long double)allow);
            }
          free(x);
          free(c);
          free(ct);
          free(out);
          free(idx);
        }
}

int main(void) {
  const char *forced = getenv("OPENBLAS_CORETYPE");
  printf("# OpenBLAS kernel %s (OPENBLAS_CORETYPE=%s), dot path %s\n", openblas_get_corename(),
         forced ? forced : "unset", alq_dot_path());
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(each_path_matches_reference),
      cmocka_unit_test(rows_equal_single_dots),
      cmocka_unit_test(half_rows_match_reference),
      cmocka_unit_test(within_the_error_bound),
      cmocka_unit_test(sgemm_within_allowance),
      cmocka_unit_test(bound_gemm_within_allowance),
      cmocka_unit_test(bound_small_within_allowance),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
