/* tests/test_cluster.c: cluster/ (distributed k-means, k-means++ and D^2
 * draws) at the rank count it is started with (ctest runs it at 1, 2, 3, 4).
 *
 *   - rank-count independence: every rank generates the same points, takes a
 *     contiguous share of them by rank (as shards are), and the distributed
 *     result (centroids, sizes, labels, iterations) must equal bit for bit the
 *     one alq computes on MPI_COMM_SELF with all the points, i.e. at P = 1;
 *   - an independent float64 reference (written here from alq/cluster.h, not
 *     calling cluster/): the k-means++ picks (the first uniformly, then D^2,
 *     by the cumulative weight passing u x total) and Lloyd from the same
 *     seeds must agree; a pick may differ only where the reference's target
 *     lies within a relative 1e-9 of a boundary (reported as such);
 *   - edge cases: fewer distinct points than k, shared points only, weights
 *     of zero never drawn, the order check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <mpi.h>

#include "alq/cluster.h"
#include "alq/error.h"
#include "alq/hash.h"

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static double unif(uint64_t *s) { return (double)(splitmix(s) >> 11) * 0x1.0p-53; }
static double gauss(uint64_t *s) {
  double u1 = unif(s), u2 = unif(s);
  if (u1 < 1e-300)
    u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* n points around `blobs` Gaussian centers in d dimensions (ids 3 i + 1). */
typedef struct {
  int64_t n, d;
  int64_t *ids;
  float *x;
} pointset;

static pointset make_points(int64_t n, int64_t d, int blobs, double spread, uint64_t seed) {
  pointset p = {n, d, malloc(sizeof(int64_t) * (size_t)(n ? n : 1)), malloc(sizeof(float) * (size_t)(n * d + 1))};
  uint64_t s = seed;
  double *mu = malloc(sizeof(double) * (size_t)(blobs * d));
  for (int64_t k = 0; k < blobs * d; k++)
    mu[k] = 10.0 * gauss(&s);
  for (int64_t i = 0; i < n; i++) {
    int b = (int)(splitmix(&s) % (uint64_t)blobs);
    p.ids[i] = 3 * i + 1;
    for (int64_t t = 0; t < d; t++)
      p.x[i * d + t] = (float)(mu[b * d + t] + spread * gauss(&s));
  }
  free(mu);
  return p;
}

static void free_points(pointset *p) {
  free(p->ids);
  free(p->x);
}

static int rank_of(void) {
  int r;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
static int size_of(void) {
  int s;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

/* This rank's contiguous share of `all` (shards are contiguous), the first
 * n_shared points held by every rank as shared points. */
static alq_points share(const pointset *all, int64_t n_shared, MPI_Comm comm) {
  int r, P;
  MPI_Comm_rank(comm, &r);
  MPI_Comm_size(comm, &P);
  int64_t rest = all->n - n_shared;
  int64_t lo = n_shared + rest * r / P, hi = n_shared + rest * (r + 1) / P;
  alq_points p = {comm, all->d, hi - lo, all->ids + lo, all->x + lo * all->d, n_shared, all->ids, all->x};
  return p;
}

static int same_bits(const void *a, const void *b, size_t bytes) { return memcmp(a, b, bytes) == 0; }

/* The distributed fit equals the single-rank fit, bit for bit. */
static void check_same_as_one_rank(int64_t n, int64_t d, int blobs, int64_t k, int64_t n_shared, uint64_t seed) {
  pointset all = make_points(n, d, blobs, 1.0, seed);
  alq_points dist = share(&all, n_shared, MPI_COMM_WORLD);
  alq_points one = share(&all, n_shared, MPI_COMM_SELF);
  int32_t *ld = malloc(sizeof(int32_t) * (size_t)(dist.n + 1)), *l1 = malloc(sizeof(int32_t) * (size_t)(one.n + 1));
  int32_t *sd = malloc(sizeof(int32_t) * (size_t)(n_shared + 1)), *s1 = malloc(sizeof(int32_t) * (size_t)(n_shared + 1));
  alq_kmeans md, m1;
  assert_int_equal(alq_kmeans_fit(&dist, k, 50, seed, &md, ld, sd), ALQ_OK);
  assert_int_equal(alq_kmeans_fit(&one, k, 50, seed, &m1, l1, s1), ALQ_OK);
  assert_int_equal(md.k, m1.k);
  assert_int_equal(md.iterations, m1.iterations);
  assert_true(same_bits(md.c, m1.c, sizeof(float) * (size_t)(md.k * d)));
  assert_true(same_bits(md.size, m1.size, sizeof(int64_t) * (size_t)md.k));
  assert_true(same_bits(sd, s1, sizeof(int32_t) * (size_t)n_shared));
  int64_t off = dist.ids - one.ids; /* this rank's points inside the whole set */
  assert_true(same_bits(ld, l1 + off, sizeof(int32_t) * (size_t)dist.n));
  alq_kmeans_free(&md);
  alq_kmeans_free(&m1);
  free(ld);
  free(l1);
  free(sd);
  free(s1);
  free_points(&all);
}

static void test_rank_independent(void **state) {
  (void)state;
  check_same_as_one_rank(997, 16, 7, 7, 0, 11);
  check_same_as_one_rank(2003, 33, 12, 20, 37, 12);  /* shared points, odd d */
  check_same_as_one_rank(500, 8, 3, 40, 0, 13);      /* more clusters than blobs */
  check_same_as_one_rank(11, 4, 2, 5, 3, 14);        /* some ranks hold nothing */
}

/* ---- independent float64 reference ------------------------------------------ */

static double d2_ref(const float *a, const float *b, int64_t d) {
  double s = 0;
  for (int64_t t = 0; t < d; t++) {
    double v = (double)a[t] - (double)b[t];
    s += v * v;
  }
  return s;
}

/* k-means++ over all points in the documented order (shared first, then by
 * id), float64.  Returns the number of centers; `near` counts picks whose
 * target lay within 1e-9 x total of a cumulative boundary. */
static int64_t kmeanspp_ref(const pointset *all, int64_t k, uint64_t seed, int64_t *pick, int *near) {
  int64_t n = all->n;
  double *w = malloc(sizeof(double) * (size_t)n);
  for (int64_t i = 0; i < n; i++)
    w[i] = 1.0;
  int64_t got = 0;
  *near = 0;
  while (got < k) {
    double total = 0;
    for (int64_t i = 0; i < n; i++)
      total += w[i];
    if (total <= 0)
      break;
    double target = alq_hash_unit(seed, (uint64_t)got, ALQ_PURPOSE_KMEANSPP) * total, cum = 0;
    int64_t p = -1;
    for (int64_t i = 0; i < n && p < 0; i++) {
      if (w[i] <= 0)
        continue;
      cum += w[i];
      if (cum > target) {
        p = i;
        if (cum - target < 1e-9 * total || target - (cum - w[i]) < 1e-9 * total)
          (*near)++;
      }
    }
    pick[got] = p;
    for (int64_t i = 0; i < n; i++) {
      double v = d2_ref(all->x + i * all->d, all->x + p * all->d, all->d);
      w[i] = got == 0 || v < w[i] ? v : w[i];
    }
    got++;
  }
  free(w);
  return got;
}

static void test_against_reference(void **state) {
  (void)state;
  const int64_t n = 1500, d = 12, k = 9;
  pointset all = make_points(n, d, 9, 0.7, 21);
  alq_points p = share(&all, 0, MPI_COMM_WORLD);
  int64_t *pick = malloc(sizeof(int64_t) * (size_t)k);
  int near = 0;
  int64_t kr = kmeanspp_ref(&all, k, 5, pick, &near);
  assert_int_equal(near, 0); /* the fixture has no ambiguous draw */
  /* Seeding alone: one Lloyd assignment, so the centroids are the seeds. */
  alq_kmeans m;
  assert_int_equal(alq_kmeans_fit(&p, k, 1, 5, &m, NULL, NULL), ALQ_OK);
  assert_int_equal(m.k, kr);
  for (int64_t j = 0; j < kr; j++)
    assert_true(same_bits(m.c + j * d, all.x + pick[j] * d, sizeof(float) * (size_t)d));
  alq_kmeans_free(&m);

  /* Lloyd from those seeds, float64, to convergence. */
  double *c = malloc(sizeof(double) * (size_t)(k * d)), *sum = malloc(sizeof(double) * (size_t)(k * d));
  int64_t *cnt = malloc(sizeof(int64_t) * (size_t)k), *lab = malloc(sizeof(int64_t) * (size_t)n);
  float *cf = malloc(sizeof(float) * (size_t)d);
  for (int64_t j = 0; j < k; j++)
    for (int64_t t = 0; t < d; t++)
      c[j * d + t] = all.x[pick[j] * d + t];
  for (int it = 0; it < 100; it++) {
    int64_t moved = 0;
    memset(sum, 0, sizeof(double) * (size_t)(k * d));
    memset(cnt, 0, sizeof(int64_t) * (size_t)k);
    for (int64_t i = 0; i < n; i++) {
      int64_t best = 0;
      double bd = INFINITY;
      for (int64_t j = 0; j < k; j++) {
        for (int64_t t = 0; t < d; t++)
          cf[t] = (float)c[j * d + t];
        double v = d2_ref(all.x + i * d, cf, d);
        if (v < bd) {
          bd = v;
          best = j;
        }
      }
      moved += it == 0 || lab[i] != best;
      lab[i] = best;
      cnt[best]++;
      for (int64_t t = 0; t < d; t++)
        sum[best * d + t] += all.x[i * d + t];
    }
    if (!moved)
      break;
    for (int64_t j = 0; j < k; j++)
      for (int64_t t = 0; t < d && cnt[j]; t++)
        c[j * d + t] = sum[j * d + t] / (double)cnt[j];
  }
  int32_t *lab_alq = malloc(sizeof(int32_t) * (size_t)(p.n + 1));
  assert_int_equal(alq_kmeans_fit(&p, k, 100, 5, &m, lab_alq, NULL), ALQ_OK);
  int64_t off = p.ids - all.ids;
  for (int64_t i = 0; i < p.n; i++)
    assert_int_equal(lab_alq[i], lab[off + i]);
  for (int64_t j = 0; j < k; j++) {
    assert_int_equal(m.size[j], cnt[j]);
    for (int64_t t = 0; t < d; t++)
      assert_true(fabs(m.c[j * d + t] - c[j * d + t]) <= 1e-5 * (1.0 + fabs(c[j * d + t])));
  }
  alq_kmeans_free(&m);
  free(c);
  free(sum);
  free(cnt);
  free(lab);
  free(cf);
  free(lab_alq);
  free(pick);
  free_points(&all);
}

/* ---- edge cases ------------------------------------------------------------- */

static void test_few_distinct(void **state) {
  (void)state;
  /* 40 points on 3 distinct rows: at most 3 clusters. */
  pointset all = make_points(40, 5, 3, 0.0, 31);
  alq_points p = share(&all, 0, MPI_COMM_WORLD);
  alq_kmeans m;
  assert_int_equal(alq_kmeans_fit(&p, 10, 20, 3, &m, NULL, NULL), ALQ_OK);
  assert_true(m.k >= 1 && m.k <= 3);
  int64_t total = 0;
  for (int64_t j = 0; j < m.k; j++)
    total += m.size[j];
  assert_int_equal(total, 40);
  alq_kmeans_free(&m);
  free_points(&all);
}

static void test_shared_only(void **state) {
  (void)state;
  pointset all = make_points(30, 4, 2, 0.5, 41);
  alq_points p = share(&all, 30, MPI_COMM_WORLD); /* every point shared: no rank owns one */
  alq_kmeans m;
  int32_t lab[30];
  assert_int_equal(alq_kmeans_fit(&p, 4, 20, 3, &m, NULL, lab), ALQ_OK);
  assert_int_equal(m.k, 4);
  int64_t total = 0;
  for (int64_t j = 0; j < m.k; j++)
    total += m.size[j];
  assert_int_equal(total, 30); /* shared points counted once, not P times */
  alq_kmeans_free(&m);
  free_points(&all);
}

/* Hand-made weights: rank r holds points with weight (r + 1) at even
 * positions and 0 at odd ones; zero weights are never drawn, and the pick is
 * the one the cumulative order gives. */
static void test_draw(void **state) {
  (void)state;
  int r = rank_of(), P = size_of();
  double w[4] = {(double)(r + 1), 0, (double)(r + 1), 0};
  double ws[2] = {0.5, 0};
  double total = 0.5; /* shared 0.5 + rank weights: multiples of 1/2, exact */
  for (int q = 0; q < P; q++)
    total += 2.0 * (q + 1);
  for (int k = 0; k < 64; k++) {
    double u = alq_hash_unit(7, (uint64_t)k, 99);
    alq_draw dr;
    assert_int_equal(alq_d2_draw(MPI_COMM_WORLD, w, 4, ws, 2, 4 * P + 2, u, &dr), ALQ_OK);
    double target = floor(u * total * 2) / 2, cum = 0.5; /* everything here is a multiple of 1/2 */
    if (target < cum) {
      assert_int_equal(dr.where, ALQ_DRAW_SHARED);
      assert_int_equal(dr.index, 0);
      continue;
    }
    int q = 0;
    int64_t idx = 0;
    for (; q < P; q++) {
      if (target < cum + (q + 1)) {
        idx = 0;
        break;
      }
      if (target < cum + 2.0 * (q + 1)) {
        idx = 2;
        break;
      }
      cum += 2.0 * (q + 1);
    }
    assert_int_equal(dr.where, ALQ_DRAW_LOCAL);
    assert_int_equal(dr.owner, q);
    if (r == q)
      assert_int_equal(dr.index, idx);
  }
  double zero[4] = {0, 0, 0, 0};
  alq_draw dr;
  assert_int_equal(alq_d2_draw(MPI_COMM_WORLD, zero, 4, zero, 2, 4 * P + 2, 0.3, &dr), ALQ_OK);
  assert_int_equal(dr.where, ALQ_DRAW_NONE);
}

static void test_order_check(void **state) {
  (void)state;
  int r = rank_of(), P = size_of();
  int64_t ids[2] = {10 * r, 10 * r + 1};
  float x[2] = {0, 1};
  alq_points p = {MPI_COMM_WORLD, 1, 2, ids, x, 0, NULL, NULL};
  assert_int_equal(alq_points_check(&p), ALQ_OK);
  if (P > 1) {
    int64_t rev[2] = {-10 * r, -10 * r + 1}; /* ranks out of order */
    p.ids = rev;
    assert_int_equal(alq_points_check(&p), ALQ_ERR_INTERNAL);
  }
  int64_t down[2] = {10 * r + 1, 10 * r}; /* not ascending on a rank */
  p.ids = down;
  assert_int_equal(alq_points_check(&p), ALQ_ERR_INTERNAL);
  alq_error_clear();
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rank_independent), cmocka_unit_test(test_against_reference),
      cmocka_unit_test(test_few_distinct),     cmocka_unit_test(test_shared_only),
      cmocka_unit_test(test_draw),             cmocka_unit_test(test_order_check),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return any ? 1 : 0;
}
