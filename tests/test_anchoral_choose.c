/* tests/test_anchoral_choose.c: AnchorAL's anchors (alq_anchoral_choose)
 * against a second, independent implementation written here from the
 * documentation (docs/strategies.md, "AnchorAL"):
 *
 *   for each class in sorted order, over the class's labeled items in id order:
 *   - at most A items: all of them, in id order;
 *   - random anchors: the A items with the smallest hash(seed, id, 11);
 *   - k-means++ on L2-normalised rows: first pick floor(u0 * n) with
 *     u0 = hash_unit(seed, class << 32, 10); then, while fewer than A and the
 *     total D^2 is positive, u = hash_unit(seed, class << 32 | step, 10) * total
 *     and the pick is the first item (id order, skipping D^2 = 0) whose
 *     cumulative D^2 exceeds u (the last such item if rounding leaves none);
 *     D^2 = 2 - 2 cos, an all-zero row is at 0 from another zero row and 1
 *     from any other row, and identical rows are at exactly 0 (so a copy of an
 *     anchor, or the anchor itself, is never drawn again).
 *
 * The reference works in double precision with its own port of the counter
 * hash; alq computes dot products in float32, so agreement is exact unless a
 * draw lands within rounding of a cumulative boundary (not the case for the
 * fixed seeds here).  Also checked: spread (k-means++ puts one anchor in each
 * of A well-separated clusters), duplicates (a class of identical rows gets
 * one anchor), zero rows, absent classes, an empty labeled set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "alq/anchoral.h"

/* ---- the counter hash, ported from its documentation (core/hash.c) */
static uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static uint64_t ref_hash3(uint64_t seed, uint64_t id, uint64_t purpose) {
  uint64_t h = mix(seed + 0x9e3779b97f4a7c15ULL);
  h = mix(h ^ (id + 0x632be59bd9b4e019ULL));
  return mix(h ^ (purpose * 0x9e3779b97f4a7c15ULL + 0x85157af5ULL));
}
static double ref_unit(uint64_t seed, uint64_t id, uint64_t purpose) {
  return (double)(ref_hash3(seed, id, purpose) >> 11) * 0x1.0p-53;
}

/* ---- test data */
static uint64_t rng_state;
static double gauss(void) {
  double u1 = ((double)(mix(rng_state += 0x9e3779b97f4a7c15ULL) >> 11) + 0.5) * 0x1.0p-53;
  double u2 = (double)(mix(rng_state += 0x9e3779b97f4a7c15ULL) >> 11) * 0x1.0p-53;
  return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* ---- the reference */
/* fu, fv: the original float rows; identical rows (an item and its copies, or
 * an item and itself) are at distance exactly 0, whatever the rounding of cos. */
static double ref_d2(const double *u, const double *v, const float *fu, const float *fv, int zu, int zv, int64_t d) {
  if (zu || zv)
    return zu == zv ? 0.0 : 1.0;
  int same = 1;
  for (int64_t j = 0; j < d && same; j++)
    same = fu[j] == fv[j];
  if (same)
    return 0.0;
  double c = 0;
  for (int64_t j = 0; j < d; j++)
    c += u[j] * v[j];
  double r = 2.0 - 2.0 * c;
  return r > 0 ? r : 0;
}

typedef struct {
  uint64_t key;
  int64_t idx;
} rkey;
static int cmp_rkey(const void *a, const void *b) {
  const rkey *x = a, *y = b;
  if (x->key != y->key)
    return x->key < y->key ? -1 : 1;
  return (x->idx > y->idx) - (x->idx < y->idx);
}

static int64_t reference(const alq_labeled *L, const float *emb, int64_t d, int64_t A, int random, uint64_t seed,
                         int64_t *out) {
  int64_t n = L->n, total_out = 0;
  double *unit = calloc((size_t)(n * d + 1), sizeof *unit);
  int *zero = calloc((size_t)n + 1, sizeof *zero);
  int64_t *mem = malloc(sizeof *mem * (n + 1));
  double *dist = malloc(sizeof *dist * (n + 1));
  rkey *keys = malloc(sizeof *keys * (n + 1));
  for (int64_t i = 0; i < n; i++) {
    double s = 0;
    for (int64_t j = 0; j < d; j++)
      s += (double)emb[i * d + j] * emb[i * d + j];
    zero[i] = s == 0;
    for (int64_t j = 0; j < d && s > 0; j++)
      unit[i * d + j] = emb[i * d + j] / sqrt(s);
  }
  int32_t maxc = -1;
  for (int64_t i = 0; i < n; i++)
    maxc = L->labels[i] > maxc ? L->labels[i] : maxc;
  for (int32_t c = 0; c <= maxc; c++) {
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
      if (L->labels[i] == c)
        mem[m++] = i;
    if (m == 0)
      continue;
    if (m <= A) {
      for (int64_t i = 0; i < m; i++)
        out[total_out++] = mem[i];
      continue;
    }
    if (random) {
      for (int64_t i = 0; i < m; i++)
        keys[i] = (rkey){ref_hash3(seed, (uint64_t)L->ids[mem[i]], 11), mem[i]};
      qsort(keys, (size_t)m, sizeof *keys, cmp_rkey);
      for (int64_t i = 0; i < A; i++)
        out[total_out++] = keys[i].idx;
      continue;
    }
    uint64_t key = (uint64_t)c << 32;
    int64_t pick = (int64_t)(ref_unit(seed, key, 10) * (double)m);
    out[total_out++] = mem[pick];
    for (int64_t i = 0; i < m; i++)
      dist[i] = ref_d2(unit + mem[i] * d, unit + mem[pick] * d, emb + mem[i] * d, emb + mem[pick] * d, zero[mem[i]],
                         zero[mem[pick]], d);
    for (int64_t step = 1; step < A; step++) {
      double tot = 0;
      for (int64_t i = 0; i < m; i++)
        tot += dist[i];
      if (tot <= 0)
        break;
      double u = ref_unit(seed, key | (uint64_t)step, 10) * tot, cum = 0;
      pick = -1;
      for (int64_t i = 0; i < m; i++) {
        if (dist[i] <= 0)
          continue;
        cum += dist[i];
        pick = i;
        if (cum > u)
          break;
      }
      out[total_out++] = mem[pick];
      for (int64_t i = 0; i < m; i++) {
        double e = ref_d2(unit + mem[i] * d, unit + mem[pick] * d, emb + mem[i] * d, emb + mem[pick] * d, zero[mem[i]],
                          zero[mem[pick]], d);
        dist[i] = e < dist[i] ? e : dist[i];
      }
    }
  }
  free(unit);
  free(zero);
  free(mem);
  free(dist);
  free(keys);
  return total_out;
}

/* ---- helpers */
typedef struct {
  alq_labeled L;
  float *emb;
  int64_t d;
} fixture;

/* n labeled items with ids 3i+1 and the given labels; Gaussian rows. */
static void make(fixture *f, int64_t n, int64_t d, const int32_t *labels, uint64_t seed) {
  rng_state = seed * 7919 + 17;
  f->d = d;
  f->L.n = n;
  f->L.ids = malloc(sizeof(int64_t) * (n + 1));
  f->L.labels = malloc(sizeof(int32_t) * (n + 1));
  f->emb = malloc(sizeof(float) * (n * d + 1));
  for (int64_t i = 0; i < n; i++) {
    f->L.ids[i] = 3 * i + 1;
    f->L.labels[i] = labels[i];
    for (int64_t j = 0; j < d; j++)
      f->emb[i * d + j] = (float)gauss();
  }
}
static void unmake(fixture *f) {
  free(f->L.ids);
  free(f->L.labels);
  free(f->emb);
}

/* alq vs the reference, and the structural properties. */
static int64_t compare(const fixture *f, int64_t A, int random, uint64_t seed, int64_t *got) {
  int64_t *want = malloc(sizeof(int64_t) * (f->L.n + 1));
  int64_t n_got = -1;
  alq_anchoral_options opt = {A, 50, 10000, random, seed, 0, 0};
  assert_int_equal(alq_anchoral_choose(&f->L, f->emb, f->d, &opt, got, &n_got), ALQ_OK);
  int64_t n_want = reference(&f->L, f->emb, f->d, A, random, seed, want);
  if (n_got != n_want)
    fprintf(stderr, "seed %llu A %lld random %d: %lld anchors, reference %lld\n", (unsigned long long)seed,
            (long long)A, random, (long long)n_got, (long long)n_want);
  assert_int_equal(n_got, n_want);
  for (int64_t i = 0; i < n_got; i++) {
    if (got[i] != want[i])
      fprintf(stderr, "seed %llu A %lld random %d: anchor %lld is %lld, reference %lld\n", (unsigned long long)seed,
              (long long)A, random, (long long)i, (long long)got[i], (long long)want[i]);
    assert_int_equal(got[i], want[i]);
  }
  /* grouped by class in increasing order, indices valid and distinct */
  for (int64_t i = 0; i < n_got; i++) {
    assert_true(got[i] >= 0 && got[i] < f->L.n);
    if (i)
      assert_true(f->L.labels[got[i - 1]] <= f->L.labels[got[i]]);
    for (int64_t j = 0; j < i; j++)
      assert_true(got[j] != got[i]);
  }
  /* deterministic */
  int64_t *again = malloc(sizeof(int64_t) * (f->L.n + 1)), n_again = 0;
  assert_int_equal(alq_anchoral_choose(&f->L, f->emb, f->d, &opt, again, &n_again), ALQ_OK);
  assert_int_equal(n_again, n_got);
  assert_memory_equal(again, got, sizeof(int64_t) * n_got);
  free(again);
  free(want);
  return n_got;
}

/* Classes of sizes 30, 1, 0 (absent), 10 (= A), 11 (A+1), 50, interleaved in id order. */
static void test_mixed_classes(void **state) {
  (void)state;
  const int64_t sizes[6] = {30, 1, 0, 10, 11, 50};
  int64_t n = 0;
  for (int c = 0; c < 6; c++)
    n += sizes[c];
  int32_t *labels = malloc(sizeof *labels * n);
  int64_t left[6];
  memcpy(left, sizes, sizeof left);
  for (int64_t i = 0, c = 5; i < n; c = (c + 1) % 6) /* round-robin over the classes that still have items */
    if (left[c] > 0) {
      labels[i++] = (int32_t)c;
      left[c]--;
    }
  int64_t *got = malloc(sizeof *got * n);
  for (uint64_t seed = 0; seed < 25; seed++) {
    fixture f;
    make(&f, n, 12, labels, seed);
    for (int random = 0; random <= 1; random++) {
      int64_t k = compare(&f, 10, random, seed, got);
      assert_int_equal(k, 10 + 1 + 10 + 10 + 10);
      /* the class with one item contributes it; the class with 10 contributes all, in id order */
      int64_t pos = 10;
      assert_int_equal(f.L.labels[got[pos]], 1);
      for (int64_t i = 0; i < 10; i++)
        assert_int_equal(f.L.labels[got[pos + 1 + i]], 3);
      for (int64_t i = 1; i < 10; i++)
        assert_true(got[pos + 1 + i] > got[pos + i]);
    }
    compare(&f, 1, 0, seed, got);
    compare(&f, 3, 1, seed, got);
    compare(&f, 49, 0, seed, got);
    unmake(&f);
  }
  free(got);
  free(labels);
}

/* A class in A tight, well-separated clusters: k-means++ seeding hits each once. */
static void test_spread(void **state) {
  (void)state;
  const int64_t A = 4, per = 25, n = A * per, d = 8;
  int32_t *labels = calloc(n, sizeof *labels);
  int64_t *got = malloc(sizeof *got * n);
  for (uint64_t seed = 0; seed < 20; seed++) {
    fixture f;
    make(&f, n, d, labels, seed);
    for (int64_t i = 0; i < n; i++) /* cluster i % A around axis i % A (ids interleave the clusters) */
      for (int64_t j = 0; j < d; j++)
        f.emb[i * d + j] = (j == i % A ? 10.0f : 0.0f) + 0.01f * f.emb[i * d + j];
    assert_int_equal(compare(&f, A, 0, seed, got), A);
    int hit[4] = {0};
    for (int64_t i = 0; i < A; i++)
      hit[got[i] % A]++;
    for (int64_t c = 0; c < A; c++)
      assert_int_equal(hit[c], 1);
    unmake(&f);
  }
  free(got);
  free(labels);
}

/* Identical rows: D^2 is 0 after the first pick, so one anchor; three distinct
 * rows repeated: three anchors, one per distinct row.  Zero rows count as one point. */
static void test_duplicates_and_zeros(void **state) {
  (void)state;
  const int64_t n = 45, d = 6;
  int32_t labels[45];
  for (int64_t i = 0; i < n; i++)
    labels[i] = i < 15 ? 0 : i < 30 ? 2 : 4;
  int64_t got[45];
  for (uint64_t seed = 0; seed < 10; seed++) {
    fixture f;
    make(&f, n, d, labels, seed);
    for (int64_t i = 1; i < 15; i++) /* class 0: all copies of row 0 */
      memcpy(f.emb + i * d, f.emb, sizeof(float) * d);
    for (int64_t i = 18; i < 30; i++) /* class 2: rows 15, 16, 17 repeated */
      memcpy(f.emb + i * d, f.emb + (15 + (i % 3)) * d, sizeof(float) * d);
    for (int64_t i = 30; i < 40; i++) /* class 4: ten zero rows, five Gaussian rows */
      memset(f.emb + i * d, 0, sizeof(float) * d);
    int64_t k = compare(&f, 10, 0, seed, got);
    assert_int_equal(k, 1 + 3 + 6);
    int seen[3] = {0};
    for (int64_t i = 1; i < 4; i++) {
      assert_int_equal(labels[got[i]], 2);
      seen[(got[i] - 15) % 3]++;
    }
    assert_true(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
    int zeros = 0;
    for (int64_t i = 4; i < k; i++)
      zeros += got[i] >= 30 && got[i] < 40;
    assert_int_equal(zeros, 1);
    compare(&f, 10, 1, seed, got);
    unmake(&f);
  }
}

static void test_empty(void **state) {
  (void)state;
  alq_labeled L = {0, NULL, NULL};
  int64_t got[1] = {-7}, n = -1;
  alq_anchoral_options opt = {10, 50, 10000, 0, 1, 0, 0};
  assert_int_equal(alq_anchoral_choose(&L, NULL, 4, &opt, got, &n), ALQ_OK);
  assert_int_equal(n, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mixed_classes),
      cmocka_unit_test(test_spread),
      cmocka_unit_test(test_duplicates_and_zeros),
      cmocka_unit_test(test_empty),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
