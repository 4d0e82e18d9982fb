/* tests/test_gen.c: the synthetic pool model (pool/gen.c) is a pure function of
 * (params, id), draws standard normal numbers, has the documented class
 * shares, and behaves like an imperfect classifier on clustered data. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alq/gen.h"

typedef struct {
  float *emb, *probs;
  int32_t *labels;
} gen_rows;

static gen_rows generate(const alq_gen_params *p, int64_t lo, int64_t count) {
  gen_rows r = {malloc(sizeof(float) * (size_t)(count * p->dim)),
                malloc(sizeof(float) * (size_t)(count * p->n_classes)),
                malloc(sizeof(int32_t) * (size_t)count)};
  assert_non_null(r.emb);
  assert_non_null(r.probs);
  assert_non_null(r.labels);
  assert_int_equal(alq_gen_rows(p, lo, count, r.emb, r.probs, r.labels), ALQ_OK);
  return r;
}

static void free_rows(gen_rows *r) {
  free(r->emb);
  free(r->probs);
  free(r->labels);
}

/* Rows [lo, lo+count) equal the same rows of a larger range, byte for byte. */
static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

static void test_range_is_pure(void **state) {
  alq_gen_params p = {5000, 7, 4, 3.0, 42}; /* odd dim: the last Box-Muller pair is split */
  gen_rows all = generate(&p, 0, 5000);
  int64_t ranges[][2] = {{0, 1}, {337, 101}, {4999, 1}, {1234, 2000}, {0, 5000}};
  for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
    int64_t lo = ranges[r][0], n = ranges[r][1];
    gen_rows part = generate(&p, lo, n);
    assert_memory_equal(part.emb, all.emb + lo * p.dim, sizeof(float) * (size_t)(n * p.dim));
    assert_memory_equal(part.probs, all.probs + lo * p.n_classes,
                        sizeof(float) * (size_t)(n * p.n_classes));
    assert_memory_equal(part.labels, all.labels + lo, sizeof(int32_t) * (size_t)n);
    free_rows(&part);
  }
  /* Embeddings alone (a pass that scores on them) are the same embeddings. */
  float emb[100 * 7];
  assert_int_equal(alq_gen_rows(&p, 2100, 100, emb, NULL, NULL), ALQ_OK);
  assert_memory_equal(emb, all.emb + 2100 * p.dim, sizeof emb);
  /* Labels alone are the same labels. */
  int32_t labels[100];
  assert_int_equal(alq_gen_rows(&p, 900, 100, NULL, NULL, labels), ALQ_OK);
  assert_memory_equal(labels, all.labels + 900, sizeof labels);
  /* The pool size only bounds the range: the same seed gives the same items. */
  alq_gen_params bigger = p;
  bigger.n_items = 100000;
  gen_rows same = generate(&bigger, 100, 50);
  assert_memory_equal(same.emb, all.emb + 100 * p.dim, sizeof(float) * (size_t)(50 * p.dim));
  free_rows(&same);
  /* Another seed gives another pool. */
  alq_gen_params other = p;
  other.seed = 43;
  gen_rows diff = generate(&other, 0, 10);
  assert_memory_not_equal(diff.emb, all.emb, sizeof(float) * (size_t)(10 * p.dim));
  free_rows(&diff);
  free_rows(&all);
}

/* Class counts on N = 200000 match imbalance^(-k/(C-1)) shares within 5 sigma. */
static void test_class_shares(void **state) {
  const int64_t N = 200000;
  double ratios[] = {1.0, 10.0, 100.0};
  for (size_t r = 0; r < 3; r++) {
    alq_gen_params p = {N, 4, 6, ratios[r], 7};
    int32_t *labels = malloc(sizeof(int32_t) * N);
    assert_non_null(labels);
    assert_int_equal(alq_gen_rows(&p, 0, N, NULL, NULL, labels), ALQ_OK);
    int64_t counts[6] = {0};
    for (int64_t i = 0; i < N; i++) {
      assert_true(labels[i] >= 0 && labels[i] < 6);
      counts[labels[i]]++;
    }
    double total = 0.0, share[6];
    for (int k = 0; k < 6; k++)
      total += share[k] = pow(ratios[r], -k / 5.0);
    for (int k = 0; k < 6; k++) {
      double expect = N * share[k] / total, sigma = sqrt(expect * (1.0 - share[k] / total));
      if (fabs((double)counts[k] - expect) > 5.0 * sigma)
        fail_msg("imbalance %g class %d: %lld items, expected %.0f +- %.0f", ratios[r], k,
                 (long long)counts[k], expect, 5 * sigma);
    }
    free(labels);
  }
}

/* Probabilities are distributions; the model is right on most items but not all,
 * and a visible share of items is ambiguous (small top-2 margin). */
static void test_model_is_imperfect(void **state) {
  alq_gen_params p = {20000, 32, 10, 5.0, 3};
  gen_rows r = generate(&p, 0, p.n_items);
  int64_t correct = 0, ambiguous = 0;
  for (int64_t i = 0; i < p.n_items; i++) {
    const float *q = r.probs + i * p.n_classes;
    double sum = 0.0, top = -1.0, second = -1.0;
    int64_t best = -1;
    for (int64_t k = 0; k < p.n_classes; k++) {
      assert_true(isfinite(q[k]) && q[k] >= 0.0f);
      sum += q[k];
      if (q[k] > top) {
        second = top;
        top = q[k];
        best = k;
      } else if (q[k] > second) {
        second = q[k];
      }
    }
    assert_true(fabs(sum - 1.0) < 1e-5);
    correct += best == r.labels[i];
    ambiguous += top - second < 0.2;
    for (int64_t j = 0; j < p.dim; j++)
      assert_true(isfinite(r.emb[i * p.dim + j]));
  }
  double accuracy = (double)correct / (double)p.n_items, share = (double)ambiguous / (double)p.n_items;
  if (accuracy < 0.8 || accuracy > 0.995)
    fail_msg("model accuracy %.3f, expected imperfect but useful (0.8 .. 0.995)", accuracy);
  if (share < 0.01 || share > 0.3)
    fail_msg("%.3f of items have a top-2 margin < 0.2, expected 0.01 .. 0.3", share);
  free_rows(&r);
}

/* The generator's normal numbers (libm-free Box-Muller, pool/gen.c) against
 * the standard normal: the Kolmogorov-Smirnov distance to libm's erfc-based
 * CDF in double, and the first four moments, on 2^20 draws; the radius is
 * capped by 24-bit uniforms at sqrt(-2 ln 2^-24) = 5.77. */
static void test_normals_are_standard(void **state) {
  const int64_t n = 1 << 20;
  float *z = malloc(sizeof(float) * (size_t)n);
  assert_non_null(z);
  assert_int_equal(alq_gen_normals(0x5eed5eedULL, 7, n, z), ALQ_OK);
  double m1 = 0, m2 = 0, m3 = 0, m4 = 0, biggest = 0;
  for (int64_t i = 0; i < n; i++) {
    double x = z[i];
    m1 += x, m2 += x * x, m3 += x * x * x, m4 += x * x * x * x;
    biggest = fabs(x) > biggest ? fabs(x) : biggest;
  }
  m1 /= n, m2 /= n, m3 /= n, m4 /= n;
  double se = 1.0 / sqrt((double)n); /* 5 standard errors each: sd of x^k's mean is sqrt(E x^2k - (E x^k)^2) */
  if (fabs(m1) > 5 * se || fabs(m2 - 1) > 5 * sqrt(2.0) * se || fabs(m3) > 5 * sqrt(15.0) * se ||
      fabs(m4 - 3) > 5 * sqrt(96.0) * se)
    fail_msg("moments %.5f %.5f %.5f %.5f, expected 0 1 0 3", m1, m2, m3, m4);
  if (biggest > 5.78)
    fail_msg("|z| reached %.4f, above the 24-bit radius cap 5.77", biggest);
  qsort(z, (size_t)n, sizeof *z, cmp_float);
  double ks = 0;
  for (int64_t i = 0; i < n; i++) {
    double cdf = 0.5 * erfc(-(double)z[i] / sqrt(2.0));
    double lo = fabs(cdf - (double)i / n), hi = fabs(cdf - (double)(i + 1) / n);
    ks = fmax(ks, fmax(lo, hi));
  }
  if (ks * sqrt((double)n) > 1.95) /* the 0.1% critical value */
    fail_msg("Kolmogorov-Smirnov distance %.3g (sqrt(n) D = %.3f > 1.95)", ks, ks * sqrt((double)n));
  free(z);
}

static void test_params_checked(void **state) {
  alq_gen_params good = {10, 4, 3, 2.0, 1};
  assert_int_equal(alq_gen_params_check(&good), ALQ_OK);
  alq_gen_params bad[] = {{0, 4, 3, 2.0, 1}, {10, 0, 3, 2.0, 1}, {10, 4, 1, 2.0, 1},
                          {10, 4, 3, 0.5, 1}, {10, 4, 3, NAN, 1}, {10, ALQ_GEN_MAX_DIM + 1, 3, 2.0, 1}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    alq_error_clear();
    assert_int_equal(alq_gen_params_check(&bad[i]), ALQ_ERR_USAGE);
    assert_true(strlen(alq_error_message()) > 0);
  }
  int32_t label;
  alq_error_clear();
  assert_int_equal(alq_gen_rows(&good, 10, 1, NULL, NULL, &label), ALQ_ERR_INTERNAL);
  alq_error_clear();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_range_is_pure),
      cmocka_unit_test(test_class_shares),
      cmocka_unit_test(test_model_is_imperfect),
      cmocka_unit_test(test_normals_are_standard),
      cmocka_unit_test(test_params_checked),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
