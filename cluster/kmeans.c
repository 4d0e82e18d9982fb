/* cluster/kmeans.c: distributed k-means with k-means++ seeding, the same
 * centroids bit for bit at any rank count (alq/cluster.h says why).
 *
 * Seeding makes k D^2 draws (alq_d2_draw): per step every rank folds the new
 * center into its points' distances (n alq_dot of d) and one draw picks the
 * next.  A Lloyd iteration assigns every point (an SGEMM estimate of its n k
 * distances, exact alq_dot where the estimate cannot decide), and the
 * clusters' int64 fixed-point sums are updated by the points that moved
 * (subtracted from the old cluster, added to the new one): one MPI_SUM of
 * the k d + k + 1 integer changes gives every rank the same sums, counts and
 * number of points that moved.  Integer sums do not depend on how they were
 * reached, so the update equals a full re-summation; it makes an iteration's
 * cost past the SGEMM proportional to the points that moved, which fall off
 * quickly (profiled: the full re-summation was two thirds of TypiClust's
 * time at 2 x 10^5 items). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alq/cluster.h"
#include "alq/comm.h"
#include "alq/dot.h"
#include "alq/gemm.h"
#include "alq/hash.h"
#include "alq/logview.h"
#include "fixed.h"

/* Centroids per alq_dot_rows call in an exact assignment: a stack buffer. */
#define ASSIGN_BLOCK 256
/* Points per SGEMM tile of an assignment, and the fewest centroids for
 * which the tile beats the exact scan. */
#define GEMM_ROWS 256
#define GEMM_MIN_K 32

/* x 2^-21 is exact, as ldexp is, without ldexp's call per pair. */
static inline double d2_margin(double xn, double cn, double approx, double allow) {
  return 2.0 * allow + (xn + cn + 2.0 * fabs(approx) + 2.0 * allow) * 0x1p-21;
}

double alq_d2_margin(double xn, double cn, double approx, double allow) { return d2_margin(xn, cn, approx, allow); }

/* The exact scan: every centroid by alq_dot_rows (ties keep the lower index). */
static void assign_exact(const alq_kmeans *m, const float *xi, float xn, int32_t *label, float *dist2) {
  float dots[ASSIGN_BLOCK], best = INFINITY;
  int32_t arg = 0;
  for (int64_t j0 = 0; j0 < m->k; j0 += ASSIGN_BLOCK) {
    int64_t bn = m->k - j0 < ASSIGN_BLOCK ? m->k - j0 : ASSIGN_BLOCK;
    alq_dot_rows(xi, m->c + j0 * m->d, bn, m->d, dots);
    for (int64_t j = 0; j < bn; j++) {
      float d2 = xn + m->cnorm[j0 + j] - 2.0f * dots[j];
      d2 = d2 > 0 ? d2 : 0;
      if (d2 < best) { /* strict: ties keep the lower index */
        best = d2;
        arg = (int32_t)(j0 + j);
      }
    }
  }
  *label = arg;
  *dist2 = best;
}

/* One point from its row of an SGEMM tile.  Every centroid's exact distance
 * lies within its margin of the estimate, so the smallest upper end bounds
 * the nearest; a centroid whose lower end is above it cannot be nearest.
 * The others are computed as the exact scan computes them, in index order.
 * lo: k doubles of scratch for the lower ends. */
static void assign_from_estimates(const alq_kmeans *m, const float *xi, float xn, const float *approx,
                                  double allow, double *lo, int32_t *label, float *dist2) {
  double cap = INFINITY;
  for (int64_t j = 0; j < m->k; j++) {
    double est = (double)xn + m->cnorm[j] - 2.0 * approx[j];
    double margin = d2_margin(xn, m->cnorm[j], approx[j], allow), hi = est + margin;
    lo[j] = est - margin;
    cap = hi > 0 ? (hi < cap ? hi : cap) : 0; /* the clamp at 0 */
  }
  float best = INFINITY;
  int32_t arg = 0;
  for (int64_t j = 0; j < m->k; j++) {
    if (lo[j] > cap)
      continue;
    float d2 = xn + m->cnorm[j] - 2.0f * alq_dot(xi, m->c + j * m->d, m->d);
    d2 = d2 > 0 ? d2 : 0;
    if (d2 < best) {
      best = d2;
      arg = (int32_t)j;
    }
  }
  *label = arg;
  *dist2 = best;
}

/* The largest centroid norm, for an allowance that holds for every centroid. */
static double max_centroid_length(const alq_kmeans *m) {
  float top = 0;
  for (int64_t j = 0; j < m->k; j++)
    top = m->cnorm[j] > top ? m->cnorm[j] : top;
  return sqrt((double)top) * (1.0 + 1e-6);
}

/* SGEMM estimates for GEMM_ROWS points at a time; the exact scan when the
 * centroids are few (it is as fast) or the tile cannot be allocated.  xn:
 * the rows' squared norms (alq_dot), or NULL to compute them here. */
static void assign_rows(const alq_kmeans *m, const float *x, const float *xn, int64_t n, int32_t *label,
                        float *dist2) {
  float *tile = m->k >= GEMM_MIN_K ? malloc(sizeof(float) * GEMM_ROWS * m->k) : NULL;
  double *lo = tile ? malloc(sizeof(double) * m->k) : NULL;
  if (!lo) {
    free(tile);
    tile = NULL;
  }
  const double clen = max_centroid_length(m);
  for (int64_t i0 = 0; i0 < n; i0 += GEMM_ROWS) {
    int64_t rows = n - i0 < GEMM_ROWS ? n - i0 : GEMM_ROWS;
    if (tile)
      alq_sgemm_nt(x + i0 * m->d, rows, m->d, m->c, m->k, tile);
    for (int64_t i = i0; i < i0 + rows; i++) {
      const float *xi = x + i * m->d;
      float ni = xn ? xn[i] : alq_dot(xi, xi, m->d), d2;
      if (tile)
        assign_from_estimates(m, xi, ni, tile + (i - i0) * m->k,
                              alq_gemm_allowance(m->d, sqrt((double)ni) * (1.0 + 1e-6) * clen), lo, &label[i], &d2);
      else
        assign_exact(m, xi, ni, &label[i], &d2);
      if (dist2)
        dist2[i] = d2;
    }
  }
  free(lo);
  free(tile);
}

void alq_kmeans_assign(const alq_kmeans *m, const float *x, int64_t n, int32_t *label, float *dist2) {
  assign_rows(m, x, NULL, n, label, dist2);
}

void alq_kmeans_free(alq_kmeans *m) {
  free(m->c);
  free(m->cnorm);
  free(m->size);
  memset(m, 0, sizeof *m);
}

static alq_err model_alloc(alq_kmeans *m, int64_t k, int64_t d) {
  memset(m, 0, sizeof *m);
  m->d = d;
  ALQ_CHECK(alq_malloc_aligned(&m->c, sizeof(float) * (k ? k : 1) * (d ? d : 1), "k-means centroids"));
  ALQ_CHECK(alq_malloc(&m->cnorm, sizeof(float) * (k ? k : 1), "k-means centroid norms"));
  return alq_calloc(&m->size, k ? k : 1, sizeof(int64_t), "k-means cluster sizes");
}

/* D^2 to the nearest center so far: folds in center row c (xn: the rows'
 * squared norms). */
static void fold_center(const float *x, const float *xn, int64_t n, int64_t d, const float *c, double *w) {
  float cn = alq_dot(c, c, d);
  for (int64_t i = 0; i < n; i++) {
    float d2 = xn[i] + cn - 2.0f * alq_dot(x + i * d, c, d);
    d2 = d2 > 0 ? d2 : 0;
    if ((double)d2 < w[i])
      w[i] = d2;
  }
}

static void norms(const float *x, int64_t n, int64_t d, float *xn) {
  for (int64_t i = 0; i < n; i++)
    xn[i] = alq_dot(x + i * d, x + i * d, d);
}

static void fill(double *w, int64_t n, double v) {
  for (int64_t i = 0; i < n; i++)
    w[i] = v;
}

typedef struct {
  double *w, *ws; /* D^2 of the local and shared points */
  float *xn, *xns; /* their squared norms */
} seed_scratch;

typedef struct {
  int32_t *label, *old, *shared_label, *shared_old;
  int64_t *acc;   /* an iteration's changes: k d sums, k counts, 1 moved */
  int64_t *total; /* the sums and counts so far: k d, k */
} lloyd_scratch;

/* k-means++: the first center uniformly (every weight 1), then D^2 draws. */
static alq_err seed(const alq_points *p, int64_t k, uint64_t seed_value, int64_t n_global, alq_kmeans *m,
                    const seed_scratch *s) {
  fill(s->w, p->n, 1.0);
  fill(s->ws, p->n_shared, 1.0);
  norms(p->x, p->n, p->d, s->xn);
  norms(p->shared_x, p->n_shared, p->d, s->xns);
  for (m->k = 0; m->k < k;) {
    alq_draw dr;
    double u = alq_hash_unit(seed_value, (uint64_t)m->k, ALQ_PURPOSE_KMEANSPP);
    ALQ_CHECK(alq_d2_draw(p->comm, s->w, p->n, s->ws, p->n_shared, n_global, u, &dr));
    if (dr.where == ALQ_DRAW_NONE)
      break; /* every point coincides with a center */
    if (m->k == 0) {
      fill(s->w, p->n, INFINITY);
      fill(s->ws, p->n_shared, INFINITY);
    }
    int64_t id;
    float *c = m->c + m->k * p->d;
    ALQ_CHECK(alq_draw_fetch(p, &dr, c, &id));
    m->cnorm[m->k++] = alq_dot(c, c, p->d);
    fold_center(p->x, s->xn, p->n, p->d, c, s->w);
    fold_center(p->shared_x, s->xns, p->n_shared, p->d, c, s->ws);
  }
  alq_log_flops(2 * m->k * (p->n + p->n_shared) * p->d);
  return ALQ_OK;
}

static double max_abs(const float *x, int64_t count) {
  double m = 0;
  for (int64_t i = 0; i < count; i++)
    m = fabs((double)x[i]) > m ? fabs((double)x[i]) : m;
  return m;
}

/* The n rows' changes, in fixed point (round(v 2^f), scale = 2^f: the
 * product is exact), to their clusters' sums and counts: every row when old
 * is NULL (the first assignment), else each row whose label differs from
 * old, taken out of its old cluster and put into its new one.  Counts the
 * rows that moved. */
static void accumulate(const float *x, int64_t n, int64_t d, const int32_t *label, const int32_t *old,
                       double scale, int64_t *sums, int64_t *counts, int64_t *moved) {
  for (int64_t i = 0; i < n; i++) {
    if (old && old[i] == label[i])
      continue;
    int64_t *to = sums + (int64_t)label[i] * d, *from = old ? sums + (int64_t)old[i] * d : NULL;
    for (int64_t t = 0; t < d; t++) {
      int64_t v = llround((double)x[i * d + t] * scale);
      to[t] += v;
      if (from)
        from[t] -= v;
    }
    counts[label[i]]++;
    if (old)
      counts[old[i]]--;
    (*moved)++;
  }
}

/* New centroids: the exact mean of each non-empty cluster, rounded to float. */
static void update_centroids(alq_kmeans *m, const int64_t *sums, const int64_t *counts, int f) {
  for (int64_t j = 0; j < m->k; j++) {
    if (counts[j] == 0)
      continue; /* an empty cluster keeps its centroid */
    float *c = m->c + j * m->d;
    for (int64_t t = 0; t < m->d; t++)
      c[t] = (float)(ldexp((double)sums[j * m->d + t], -f) / (double)counts[j]);
    m->cnorm[j] = alq_dot(c, c, m->d);
  }
}


/* Each iteration's changes (acc: k d sums, k counts, 1 moved) are reduced
 * and added into the running totals (total: k d sums, k counts), which are
 * then the exact sums and counts of the assignment just made.  xn, xns: the
 * points' squared norms (seeding computed them). */
static alq_err lloyd(const alq_points *p, int64_t max_iter, int64_t n_global, const float *xn, const float *xns,
                     alq_kmeans *m, lloyd_scratch *s) {
  int rank;
  MPI_Comm_rank(p->comm, &rank);
  double local = max_abs(p->x, p->n * p->d), shared = max_abs(p->shared_x, p->n_shared * p->d), mx = 0;
  local = local > shared ? local : shared;
  ALQ_CHECK(alq_allreduce(&local, &mx, 1, MPI_DOUBLE, MPI_MAX, p->comm));
  const int f = alq_fixed_shift(mx > 0 ? mx : 1.0, n_global);
  const double scale = ldexp(1.0, f);
  const int64_t kd = m->k * p->d, n_acc = kd + m->k + 1;
  int64_t *sums = s->acc, *counts = s->acc + kd, *moved = s->acc + kd + m->k;
  memset(s->total, 0, sizeof(int64_t) * (kd + m->k));
  for (m->iterations = 0; m->iterations < max_iter;) {
    assign_rows(m, p->x, xn, p->n, s->label, NULL);
    assign_rows(m, p->shared_x, xns, p->n_shared, s->shared_label, NULL);
    memset(s->acc, 0, sizeof(int64_t) * n_acc);
    accumulate(p->x, p->n, p->d, s->label, m->iterations ? s->old : NULL, scale, sums, counts, moved);
    if (rank == 0) /* shared points count once */
      accumulate(p->shared_x, p->n_shared, p->d, s->shared_label, m->iterations ? s->shared_old : NULL, scale,
                 sums, counts, moved);
    ALQ_CHECK(alq_allreduce(MPI_IN_PLACE, s->acc, n_acc, MPI_INT64_T, MPI_SUM, p->comm));
    for (int64_t t = 0; t < kd + m->k; t++)
      s->total[t] += s->acc[t];
    alq_log_flops(2 * m->k * (p->n + p->n_shared) * p->d);
    m->iterations++;
    memcpy(m->size, s->total + kd, sizeof(int64_t) * m->k);
    if (*moved == 0 || m->iterations == max_iter)
      break; /* the centroids are those the last assignment was made against */
    update_centroids(m, s->total, s->total + kd, f);
    memcpy(s->old, s->label, sizeof(int32_t) * p->n);
    memcpy(s->shared_old, s->shared_label, sizeof(int32_t) * p->n_shared);
  }
  return ALQ_OK;
}

static alq_err scratch_alloc(const alq_points *p, int64_t k, lloyd_scratch *s, seed_scratch *ss) {
  int64_t n1 = p->n ? p->n : 1, s1 = p->n_shared ? p->n_shared : 1;
  ALQ_CHECK(alq_malloc(&s->label, sizeof(int32_t) * n1, "k-means labels"));
  ALQ_CHECK(alq_malloc(&s->old, sizeof(int32_t) * n1, "k-means previous labels"));
  ALQ_CHECK(alq_malloc(&s->shared_label, sizeof(int32_t) * s1, "k-means shared labels"));
  ALQ_CHECK(alq_malloc(&s->shared_old, sizeof(int32_t) * s1, "k-means shared previous labels"));
  ALQ_CHECK(alq_malloc(&s->acc, sizeof(int64_t) * (k * p->d + k + 1), "k-means sum changes"));
  ALQ_CHECK(alq_malloc(&s->total, sizeof(int64_t) * (k * p->d + k + 1), "k-means sums"));
  ALQ_CHECK(alq_malloc(&ss->w, sizeof(double) * n1, "k-means++ distances"));
  ALQ_CHECK(alq_malloc(&ss->ws, sizeof(double) * s1, "k-means++ shared distances"));
  ALQ_CHECK(alq_malloc(&ss->xn, sizeof(float) * n1, "k-means++ norms"));
  return alq_malloc(&ss->xns, sizeof(float) * s1, "k-means++ shared norms");
}

int64_t alq_kmeans_bytes(int64_t n, int64_t n_shared, int64_t k, int64_t d) {
  int64_t n1 = n ? n : 1, s1 = n_shared ? n_shared : 1, k1 = k ? k : 1;
  int64_t model = k1 * (d ? d : 1) * 4 + k1 * 4 + k1 * 8;
  int64_t lloyd = n1 * 4 * 2 + s1 * 4 * 2 + 2 * (k * d + k + 1) * 8;
  int64_t seeding = n1 * (8 + 4) + s1 * (8 + 4);
  int64_t tile = k >= GEMM_MIN_K ? GEMM_ROWS * k * 4 + k * 8 : 0; /* assign_rows' SGEMM tile, lower ends */
  return model + lloyd + seeding + tile;
}

static void scratch_free(lloyd_scratch *s, seed_scratch *ss) {
  free(s->label);
  free(s->old);
  free(s->shared_label);
  free(s->shared_old);
  free(s->acc);
  free(s->total);
  free(ss->w);
  free(ss->ws);
  free(ss->xn);
  free(ss->xns);
}

alq_err alq_kmeans_fit(const alq_points *p, int64_t k, int64_t max_iter, uint64_t seed_value, alq_kmeans *out,
                       int32_t *label, int32_t *shared_label) {
  memset(out, 0, sizeof *out);
  ALQ_CHECK(alq_points_check(p));
  int64_t n_global = 0;
  ALQ_CHECK(alq_allreduce(&p->n, &n_global, 1, MPI_INT64_T, MPI_SUM, p->comm));
  n_global += p->n_shared;
  k = k < n_global ? k : n_global;
  lloyd_scratch s = {0};
  seed_scratch ss = {0};
  alq_err err = model_alloc(out, k, p->d);
  if (!err)
    err = scratch_alloc(p, k, &s, &ss);
  err = alq_agree(p->comm, err);
  if (!err)
    err = seed(p, k, seed_value, n_global, out, &ss);
  if (!err && out->k > 0)
    err = lloyd(p, max_iter > 0 ? max_iter : 1, n_global, ss.xn, ss.xns, out, &s);
  if (!err && label)
    memcpy(label, s.label, sizeof(int32_t) * p->n);
  if (!err && shared_label)
    memcpy(shared_label, s.shared_label, sizeof(int32_t) * p->n_shared);
  scratch_free(&s, &ss);
  if (err)
    alq_kmeans_free(out);
  return err;
}
