/* tests/test_labeled_draw.c: the stratified initial labeled set
 * (pool/labeled_draw.c) against an independent, deliberately naive computation. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alq/hash.h"
#include "alq/pool.h"

#define MAX_CLASSES 8

/* Class sizes with an empty class, a singleton and a dominant class, plus
 * unknown (-1) labels; ids are not row indices and rows are interleaved. */
static const int64_t class_sizes[MAX_CLASSES] = {500, 30, 7, 0, 1, 200, 2, 60};
enum { N_UNKNOWN = 25 };

typedef struct {
  int64_t n;
  int32_t *labels;
  int64_t *ids;
} pool_labels;

static pool_labels make_pool(void) {
  pool_labels p = {N_UNKNOWN, NULL, NULL};
  for (int k = 0; k < MAX_CLASSES; k++)
    p.n += class_sizes[k];
  p.labels = malloc(sizeof(int32_t) * p.n);
  p.ids = malloc(sizeof(int64_t) * p.n);
  assert_non_null(p.labels);
  assert_non_null(p.ids);
  int64_t left[MAX_CLASSES], unknown = N_UNKNOWN;
  memcpy(left, class_sizes, sizeof left);
  /* Round-robin over classes so every class is spread over the rows. */
  for (int64_t i = 0, k = 0; i < p.n; k = (k + 1) % (MAX_CLASSES + 1)) {
    if (k == MAX_CLASSES) {
      if (unknown > 0) {
        unknown--;
        p.labels[i] = -1;
        p.ids[i] = 1000 + 7 * i;
        i++;
      }
    } else if (left[k] > 0) {
      left[k]--;
      p.labels[i] = (int32_t)k;
      p.ids[i] = 1000 + 7 * i;
      i++;
    }
  }
  return p;
}

/* Hamilton's method by repeated scans in long double, then a floor of one per
 * non-empty class taken from the currently largest quota (lowest class on ties). */
static void naive_quota(int64_t n_labeled, int64_t *quota) {
  int64_t known = 0, nonempty = 0, given = 0;
  for (int k = 0; k < MAX_CLASSES; k++) {
    known += class_sizes[k];
    nonempty += class_sizes[k] > 0;
  }
  long double frac[MAX_CLASSES];
  for (int k = 0; k < MAX_CLASSES; k++) {
    long double exact = (long double)n_labeled * class_sizes[k] / known;
    quota[k] = (int64_t)floorl(exact);
    frac[k] = exact - quota[k];
    given += quota[k];
  }
  for (; given < n_labeled; given++) {
    int best = -1;
    for (int k = 0; k < MAX_CLASSES; k++)
      if (frac[k] >= 0 && (best < 0 || frac[k] > frac[best]))
        best = k;
    quota[best]++;
    frac[best] = -1; /* each class gets at most one extra */
  }
  if (n_labeled < nonempty)
    return;
  for (int k = 0; k < MAX_CLASSES; k++) {
    if (class_sizes[k] == 0 || quota[k] > 0)
      continue;
    int donor = 0;
    for (int j = 0; j < MAX_CLASSES; j++)
      if (quota[j] > quota[donor])
        donor = j;
    quota[donor]--;
    quota[k] = 1;
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

static void check_draw(const pool_labels *p, int64_t n_labeled, uint64_t seed) {
  alq_labeled set;
  assert_int_equal(alq_labeled_draw_stratified(p->labels, p->ids, p->n, MAX_CLASSES, n_labeled, seed, &set),
                   ALQ_OK);
  assert_int_equal(set.n, n_labeled);
  int64_t quota[MAX_CLASSES], got[MAX_CLASSES] = {0};
  naive_quota(n_labeled, quota);
  for (int64_t i = 0; i < set.n; i++) {
    if (i > 0)
      assert_true(set.ids[i] > set.ids[i - 1]); /* sorted, no duplicates */
    got[set.labels[i]]++;
  }
  for (int k = 0; k < MAX_CLASSES; k++)
    if (got[k] != quota[k])
      fail_msg("n_labeled %lld class %d: drew %lld, expected %lld", (long long)n_labeled, k,
               (long long)got[k], (long long)quota[k]);

  /* Within a class: exactly the members with the smallest hash keys. */
  uint64_t *keys = malloc(sizeof(uint64_t) * p->n);
  assert_non_null(keys);
  for (int k = 0; k < MAX_CLASSES; k++) {
    int64_t m = 0;
    for (int64_t i = 0; i < p->n; i++)
      if (p->labels[i] == k)
        keys[m++] = alq_hash3(seed, (uint64_t)p->ids[i], ALQ_PURPOSE_LABELED_DRAW);
    qsort(keys, (size_t)m, sizeof *keys, cmp_u64);
    for (int64_t i = 0; i < set.n; i++) {
      if (set.labels[i] != k)
        continue;
      uint64_t key = alq_hash3(seed, (uint64_t)set.ids[i], ALQ_PURPOSE_LABELED_DRAW);
      assert_true(quota[k] > 0 && key <= keys[quota[k] - 1]);
    }
  }
  free(keys);
  alq_labeled_free(&set);
}

static void test_per_class_counts(void **state) {
  pool_labels p = make_pool();
  int64_t known = p.n - N_UNKNOWN;
  int64_t sizes[] = {1, 3, 6, 7, 10, 50, 99, 333, known - 1, known};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    for (uint64_t seed = 0; seed < 3; seed++)
      check_draw(&p, sizes[i], seed);
  free(p.labels);
  free(p.ids);
}

/* Worked by hand (page-blocks class sizes, 50 labeled): shares 44.88, 3.01,
 * 0.26, 0.80, 1.05 -> floors 44 3 0 0 1, remainders to classes 0 and 3 ->
 * 45 3 0 1 1, then class 2 takes one from class 0 -> 44 3 1 1 1. */
static void test_hand_worked_example(void **state) {
  const int64_t sizes[5] = {4913, 329, 28, 88, 115}, expect[5] = {44, 3, 1, 1, 1};
  int64_t n = 0;
  for (int k = 0; k < 5; k++)
    n += sizes[k];
  int32_t *labels = malloc(sizeof(int32_t) * n);
  assert_non_null(labels);
  for (int k = 0, i = 0; k < 5; k++)
    for (int64_t j = 0; j < sizes[k]; j++)
      labels[i++] = k;
  alq_labeled set;
  assert_int_equal(alq_labeled_draw_stratified(labels, NULL, n, 5, 50, 1, &set), ALQ_OK);
  int64_t got[5] = {0};
  for (int64_t i = 0; i < set.n; i++) {
    got[set.labels[i]]++;
    assert_int_equal(labels[set.ids[i]], set.labels[i]); /* NULL ids: row indices */
  }
  assert_memory_equal(got, expect, sizeof got);
  alq_labeled_free(&set);
  free(labels);
}

/* The draw does not depend on row order: reversing the rows gives the same set. */
static void test_row_order_free(void **state) {
  pool_labels p = make_pool(), r = make_pool();
  for (int64_t i = 0; i < p.n; i++) {
    r.labels[i] = p.labels[p.n - 1 - i];
    r.ids[i] = p.ids[p.n - 1 - i];
  }
  alq_labeled a, b;
  assert_int_equal(alq_labeled_draw_stratified(p.labels, p.ids, p.n, MAX_CLASSES, 40, 9, &a), ALQ_OK);
  assert_int_equal(alq_labeled_draw_stratified(r.labels, r.ids, r.n, MAX_CLASSES, 40, 9, &b), ALQ_OK);
  assert_int_equal(a.n, b.n);
  assert_memory_equal(a.ids, b.ids, sizeof(int64_t) * a.n);
  assert_memory_equal(a.labels, b.labels, sizeof(int32_t) * a.n);
  alq_labeled_free(&a);
  alq_labeled_free(&b);
  free(p.labels);
  free(p.ids);
  free(r.labels);
  free(r.ids);
}

static void test_errors(void **state) {
  int32_t labels[4] = {0, 1, -1, 1};
  alq_labeled set;
  alq_error_clear();
  assert_int_equal(alq_labeled_draw_stratified(labels, NULL, 4, 2, 4, 0, &set), ALQ_ERR_USAGE);
  assert_int_equal(set.n, 0);
  alq_error_clear();
  labels[2] = 2;
  assert_int_equal(alq_labeled_draw_stratified(labels, NULL, 4, 2, 1, 0, &set), ALQ_ERR_INPUT);
  assert_non_null(strstr(alq_error_message(), "label 2"));
  alq_error_clear();
  assert_int_equal(alq_labeled_draw_stratified(labels, NULL, 4, 3, 0, 0, &set), ALQ_OK);
  assert_int_equal(set.n, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_per_class_counts),
      cmocka_unit_test(test_hand_worked_example),
      cmocka_unit_test(test_row_order_free),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
