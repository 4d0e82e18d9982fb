/* cluster/kmeans.c: distributed k-means with k-means++ seeding, the same
 * centroids bit for bit at any rank count (alq/cluster.h says why).
 *
 * Seeding makes k D^2 draws (alq_d2_draw): per step every rank folds the new
 * center into its points' distances (n alq_dot of d) and one draw picks the
 * next.  A Lloyd iteration assigns every point (an SGEMM estimate of its n k
 * distances, exact alq_dot where the estimate cannot decide).  From the
 * second on, a point whose bounds on real distances (Hamerly's: above to its
 * centroid, below to any other, moved by the centroids' moves, widened by
 * alq's rounding) prove its label keeps it without any distance; the rest
 * are assigned as the first time, so the labels are a full assignment's.
 * Profiled at 2 x 10^5 items, K = 100: late iterations reassign 3-10 % of
 * the points (those nearly equidistant from two centroids).  The
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

/* Scratch of an assignment: an SGEMM tile, the lower ends, and the rows of
 * an index list gathered for the tile.  tile NULL: the exact scan. */
typedef struct {
  float *tile;  /* GEMM_ROWS x k */
  double *lo;   /* k */
  float *v;     /* k */
  int32_t *cand; /* k */
  float *rows;  /* GEMM_ROWS x d */
  int64_t *idx; /* GEMM_ROWS */
} assign_scratch;

/* The exact scan: every centroid by alq_dot_rows (ties keep the lower index).
 * other: the smallest distance to any other centroid. */
static void assign_exact(const alq_kmeans *m, const float *xi, float xn, int32_t *label, float *dist2, double *other) {
  float dots[ASSIGN_BLOCK], best = INFINITY;
  double second = INFINITY;
  int32_t arg = 0;
  for (int64_t j0 = 0; j0 < m->k; j0 += ASSIGN_BLOCK) {
    int64_t bn = m->k - j0 < ASSIGN_BLOCK ? m->k - j0 : ASSIGN_BLOCK;
    alq_dot_rows(xi, m->c + j0 * m->d, bn, m->d, dots);
    for (int64_t j = 0; j < bn; j++) {
      float d2 = xn + m->cnorm[j0 + j] - 2.0f * dots[j];
      d2 = d2 > 0 ? d2 : 0;
      if (d2 < best) { /* strict: ties keep the lower index */
        second = best < second ? best : second;
        best = d2;
        arg = (int32_t)(j0 + j);
      } else if (d2 < second) {
        second = d2;
      }
    }
  }
  *label = arg;
  *dist2 = best;
  *other = second;
}

/* One point from its row of an SGEMM tile.  Every centroid's exact distance
 * lies within its margin of the estimate, so the smallest upper end bounds
 * the nearest; a centroid whose lower end is above it cannot be nearest.
 * The others are computed as the exact scan computes them, in index order.
 * w->lo: k doubles of scratch for the lower ends.  other: a lower bound on the
 * exact distance to any other centroid (exact where computed, else the
 * lower end). */
static void assign_scan(const alq_kmeans *m, const float *xi, float xn, const float *approx, double allow,
                        const int32_t *cand, int64_t nc, double *lo, float *best_out, int32_t *arg_out,
                        double *other) {
  double cap = INFINITY;
  for (int64_t q = 0; q < nc; q++) {
    int64_t j = cand ? cand[q] : q;
    double est = (double)xn + m->cnorm[j] - 2.0 * approx[j];
    double margin = d2_margin(xn, m->cnorm[j], approx[j], allow), hi = est + margin;
    lo[q] = est - margin;
    cap = hi > 0 ? (hi < cap ? hi : cap) : 0; /* the clamp at 0 */
  }
  float best = INFINITY;
  double second = *other;
  int32_t arg = 0;
  for (int64_t q = 0; q < nc; q++) {
    int64_t j = cand ? cand[q] : q;
    if (lo[q] > cap) {
      second = lo[q] < second ? lo[q] : second;
      continue;
    }
    float d2 = xn + m->cnorm[j] - 2.0f * alq_dot(xi, m->c + j * m->d, m->d);
    d2 = d2 > 0 ? d2 : 0;
    if (d2 < best) {
      second = best < second ? best : second;
      best = d2;
      arg = (int32_t)j;
    } else if (d2 < second) {
      second = d2;
    }
  }
  *arg_out = arg;
  *best_out = best;
  *other = second;
}

/* The same decision, first narrowed by float: v_j = ||c_j||^2 - 2 approx_j
 * over all centroids (a loop the compiler vectorises), and only those within
 * twice the largest margin (plus the float rounding) of the smallest go to
 * the double test.  Any other has its lower end above the smallest v's upper
 * end, so the double test over all would skip it too: the same centroids
 * are computed exactly, the same label.  When the smallest estimate is near
 * 0 (where the clamp could tie), every centroid goes to the double test.
 * tclen >= every real centroid length. */
static void assign_from_estimates(const alq_kmeans *m, const float *xi, float xn, const float *approx,
                                  double allow, double tclen, const assign_scratch *w, int32_t *label,
                                  float *dist2, double *other) {
  float vmin = INFINITY;
  for (int64_t j = 0; j < m->k; j++) {
    float v = m->cnorm[j] - 2.0f * approx[j];
    w->v[j] = v;
    vmin = v < vmin ? v : vmin;
  }
  double amax = sqrt((double)xn) * tclen * (1.0 + 4.0 * alq_dot_error_bound(m->d) + 1e-5) + allow;
  double mag = (double)xn + tclen * tclen + 2.0 * amax + 2.0 * allow;
  double mmax = 2.0 * allow + mag * 0x1p-21, slack = (mag + fabs((double)vmin)) * 0x1p-20;
  *other = INFINITY;
  if (!((double)xn + vmin > 2.0 * mmax + 2.0 * slack)) {
    assign_scan(m, xi, xn, approx, allow, NULL, m->k, w->lo, dist2, label, other);
    return;
  }
  double t = (double)vmin + 2.0 * mmax + 2.0 * slack;
  float thr = (float)t, vout = INFINITY;
  thr = (double)thr < t ? nextafterf(thr, INFINITY) : thr;
  int64_t nc = 0;
  for (int64_t j = 0; j < m->k; j++) {
    if (w->v[j] <= thr)
      w->cand[nc++] = (int32_t)j;
    else
      vout = w->v[j] < vout ? w->v[j] : vout;
  }
  /* the ones left out: lower end >= xn + v - 2^-23 mag - mmax */
  if (vout < INFINITY)
    *other = (double)xn + vout - mag * 0x1p-23 - mmax;
  assign_scan(m, xi, xn, approx, allow, w->cand, nc, w->lo, dist2, label, other);
}

/* The largest centroid norm, for an allowance that holds for every centroid. */
static double max_centroid_length(const alq_kmeans *m) {
  float top = 0;
  for (int64_t j = 0; j < m->k; j++)
    top = m->cnorm[j] > top ? m->cnorm[j] : top;
  return sqrt((double)top) * (1.0 + 1e-6);
}

/* Bounds on real distances kept across Lloyd iterations (Hamerly's): up[i]
 * >= ||x_i - c_label||, low[i] <= ||x_i - c_j|| for every other j. */
typedef struct {
  double *up, *low;
} dist_bounds;

/* How far alq's squared distance (xn + cn - 2 alq_dot, float, clamped or
 * not) can be from the real ||x - c||^2 for a row of squared norm xn (alq_dot)
 * and any centroid of length <= clen: the three alq_dot errors (gamma times
 * (||x|| + ||c||)^2 in all) and the two float sums' (2^-24 each of at most
 * (1 + gamma) (||x|| + ||c||)^2), rounded up; the d 2^-140 covers gradual
 * underflow. */
static double d2_error(float xn, double clen, int64_t d) {
  double g = alq_dot_error_bound(d);
  double xl = sqrt(((double)xn + (double)d * 0x1p-149) / (1.0 - g)) * (1.0 + 1e-9), s = xl + clen;
  return (g + 0x1p-21) * s * s * (1.0 + 1e-6) + (double)d * 0x1p-140;
}

/* The largest real centroid length: ||c||^2 <= (cnorm + d 2^-149) / (1 - gamma). */
static double true_centroid_length(const alq_kmeans *m) {
  float top = 0;
  for (int64_t j = 0; j < m->k; j++)
    top = m->cnorm[j] > top ? m->cnorm[j] : top;
  double g = alq_dot_error_bound(m->d);
  return sqrt(((double)top + (double)m->d * 0x1p-149) / (1.0 - g)) * (1.0 + 1e-9);
}

/* Bounds from an assignment: f the exact distance to the label's centroid,
 * other a lower bound on the exact distance to any other; F converts exact
 * to real (d2_error).  Rounded outward. */
static void set_bounds(double f, double other, double F, double *up, double *low) {
  *up = sqrt(f + F) * (1.0 + 1e-12);
  *low = other - F > 0 ? sqrt(other - F) * (1.0 - 1e-12) : 0;
}

/* Whether the bounds prove the label: alq's distance to it is at most
 * up^2 + F, to any other at least low^2 - F, so the label is the strict
 * nearest, the one a full assignment gives. */
static int bounds_keep(double up, double low, double F) { return (up * up + 2.0 * F) * (1.0 + 1e-12) < low * low; }

/* Assigns rows (idx[r] for r < rows, or rows i0 .. i0 + rows when idx is
 * NULL), by the SGEMM tile or the exact scan; sets their bounds when b is
 * not NULL. */
static void assign_some(const alq_kmeans *m, const float *x, const float *xn, const int64_t *idx, int64_t i0,
                        int64_t rows, double clen, double tclen, const assign_scratch *w, int32_t *label,
                        float *dist2, const dist_bounds *b) {
  const float *xs = x + i0 * m->d;
  if (idx) {
    for (int64_t r = 0; r < rows; r++)
      memcpy(w->rows + r * m->d, x + idx[r] * m->d, sizeof(float) * m->d);
    xs = w->rows;
  }
  if (w->tile)
    alq_sgemm_nt(xs, rows, m->d, m->c, m->k, w->tile);
  for (int64_t r = 0; r < rows; r++) {
    int64_t i = idx ? idx[r] : i0 + r;
    const float *xi = x + i * m->d;
    float ni = xn ? xn[i] : alq_dot(xi, xi, m->d), d2;
    double other;
    if (w->tile)
      assign_from_estimates(m, xi, ni, w->tile + r * m->k,
                            alq_gemm_allowance(m->d, sqrt((double)ni) * (1.0 + 1e-6) * clen), tclen, w, &label[i],
                            &d2, &other);
    else
      assign_exact(m, xi, ni, &label[i], &d2, &other);
    if (dist2)
      dist2[i] = d2;
    if (b)
      set_bounds(d2, other, d2_error(ni, tclen, m->d), &b->up[i], &b->low[i]);
  }
}

/* Every row, GEMM_ROWS at a time. */
static void assign_all(const alq_kmeans *m, const float *x, const float *xn, int64_t n, const assign_scratch *w,
                       int32_t *label, float *dist2, const dist_bounds *b) {
  const double clen = max_centroid_length(m), tclen = true_centroid_length(m);
  for (int64_t i0 = 0; i0 < n; i0 += GEMM_ROWS)
    assign_some(m, x, xn, NULL, i0, n - i0 < GEMM_ROWS ? n - i0 : GEMM_ROWS, clen, tclen, w, label, dist2, b);
}

/* How far the centroids moved: delta[j] >= the real ||c_j new - c_j old||. */
typedef struct {
  double *delta;
  double top, next; /* the largest delta and the largest of the others */
  int64_t arg;      /* the centroid that moved most */
} moves;

/* A Lloyd reassignment after the centroids moved (mv): the bounds move with
 * them (triangle inequality: up grows by the label's move, low shrinks by
 * the largest other move); a row whose bounds still prove its label keeps
 * it, so does one whose exact distance to its centroid (one alq_dot) then
 * proves it; the rest get a full assignment, GEMM_ROWS at a time.  The
 * labels are those of assigning every row. */
static void reassign(const alq_kmeans *m, const float *x, const float *xn, int64_t n, const moves *mv,
                     const assign_scratch *w, int32_t *label, const dist_bounds *b) {
  const double clen = max_centroid_length(m), tclen = true_centroid_length(m);
  int64_t nb = 0;
  for (int64_t i = 0; i < n; i++) {
    int32_t a = label[i];
    double F = d2_error(xn[i], tclen, m->d);
    double low = b->low[i] - (a == mv->arg ? mv->next : mv->top);
    b->up[i] = (b->up[i] + mv->delta[a]) * (1.0 + 1e-12);
    b->low[i] = low > 0 ? low * (1.0 - 1e-12) : 0;
    if (bounds_keep(b->up[i], b->low[i], F))
      continue;
    const float *xi = x + i * m->d;
    float f = xn[i] + m->cnorm[a] - 2.0f * alq_dot(xi, m->c + (int64_t)a * m->d, m->d);
    b->up[i] = sqrt((f > 0 ? f : 0) + F) * (1.0 + 1e-12);
    if (bounds_keep(b->up[i], b->low[i], F))
      continue;
    w->idx[nb++] = i;
    if (nb == GEMM_ROWS) {
      assign_some(m, x, xn, w->idx, 0, nb, clen, tclen, w, label, NULL, b);
      nb = 0;
    }
  }
  if (nb)
    assign_some(m, x, xn, w->idx, 0, nb, clen, tclen, w, label, NULL, b);
}

/* The tile and lower ends (none when the centroids are few: the exact scan
 * is as fast); rows and idx for index lists when with_list. */
static alq_err assign_scratch_alloc(assign_scratch *w, int64_t k, int64_t d, int with_list) {
  memset(w, 0, sizeof *w);
  if (k >= GEMM_MIN_K) {
    ALQ_CHECK(alq_malloc(&w->tile, sizeof(float) * GEMM_ROWS * k, "k-means SGEMM tile"));
    ALQ_CHECK(alq_malloc(&w->lo, sizeof(double) * k, "k-means lower ends"));
    ALQ_CHECK(alq_malloc(&w->v, sizeof(float) * k, "k-means float estimates"));
    ALQ_CHECK(alq_malloc(&w->cand, sizeof(int32_t) * k, "k-means candidate centroids"));
  }
  if (with_list) {
    ALQ_CHECK(alq_malloc(&w->rows, sizeof(float) * GEMM_ROWS * (d ? d : 1), "k-means gathered rows"));
    ALQ_CHECK(alq_malloc(&w->idx, sizeof(int64_t) * GEMM_ROWS, "k-means gathered indices"));
  }
  return ALQ_OK;
}

static void assign_scratch_free(assign_scratch *w) {
  free(w->tile);
  free(w->lo);
  free(w->v);
  free(w->cand);
  free(w->rows);
  free(w->idx);
}

void alq_kmeans_assign(const alq_kmeans *m, const float *x, int64_t n, int32_t *label, float *dist2) {
  assign_scratch w;
  if (assign_scratch_alloc(&w, m->k, m->d, 0) != ALQ_OK) { /* the exact scan needs no scratch */
    assign_scratch_free(&w);
    memset(&w, 0, sizeof w);
    alq_error_clear();
  }
  assign_all(m, x, NULL, n, &w, label, dist2, NULL);
  assign_scratch_free(&w);
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
  dist_bounds b, shared_b;
  moves mv;
  assign_scratch w;
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

/* New centroids: the exact mean of each non-empty cluster, rounded to float;
 * mv receives how far each moved (the float differences are exact in
 * double; the sum of squares is rounded up by d 2^-52). */
static void update_centroids(alq_kmeans *m, const int64_t *sums, const int64_t *counts, int f, moves *mv) {
  mv->top = mv->next = 0;
  mv->arg = -1;
  for (int64_t j = 0; j < m->k; j++) {
    mv->delta[j] = 0;
    if (counts[j] == 0)
      continue; /* an empty cluster keeps its centroid */
    float *c = m->c + j * m->d;
    double moved2 = 0;
    for (int64_t t = 0; t < m->d; t++) {
      float v = (float)(ldexp((double)sums[j * m->d + t], -f) / (double)counts[j]);
      moved2 += ((double)v - c[t]) * ((double)v - c[t]);
      c[t] = v;
    }
    m->cnorm[j] = alq_dot(c, c, m->d);
    mv->delta[j] = sqrt(moved2) * (1.0 + 1e-12 + (double)m->d * 0x1p-52);
    if (mv->delta[j] > mv->top) {
      mv->next = mv->top;
      mv->top = mv->delta[j];
      mv->arg = j;
    } else if (mv->delta[j] > mv->next) {
      mv->next = mv->delta[j];
    }
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
    if (m->iterations == 0) {
      assign_all(m, p->x, xn, p->n, &s->w, s->label, NULL, &s->b);
      assign_all(m, p->shared_x, xns, p->n_shared, &s->w, s->shared_label, NULL, &s->shared_b);
    } else {
      reassign(m, p->x, xn, p->n, &s->mv, &s->w, s->label, &s->b);
      reassign(m, p->shared_x, xns, p->n_shared, &s->mv, &s->w, s->shared_label, &s->shared_b);
    }
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
    update_centroids(m, s->total, s->total + kd, f, &s->mv);
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
  ALQ_CHECK(alq_malloc(&s->b.up, sizeof(double) * n1, "k-means distance bounds"));
  ALQ_CHECK(alq_malloc(&s->b.low, sizeof(double) * n1, "k-means distance bounds"));
  ALQ_CHECK(alq_malloc(&s->shared_b.up, sizeof(double) * s1, "k-means shared distance bounds"));
  ALQ_CHECK(alq_malloc(&s->shared_b.low, sizeof(double) * s1, "k-means shared distance bounds"));
  ALQ_CHECK(alq_malloc(&s->mv.delta, sizeof(double) * (k ? k : 1), "k-means centroid moves"));
  ALQ_CHECK(assign_scratch_alloc(&s->w, k, p->d, 1));
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
  int64_t tile = k >= GEMM_MIN_K ? GEMM_ROWS * k * 4 + k * 16 : 0; /* the SGEMM tile, lower ends, v, cand */
  int64_t gather = GEMM_ROWS * ((d ? d : 1) * 4 + 8);                 /* reassign's rows and indices */
  int64_t bounds = (n1 + s1) * 16 + k1 * 8;                           /* up, low; centroid moves */
  return model + lloyd + seeding + tile + gather + bounds;
}

static void scratch_free(lloyd_scratch *s, seed_scratch *ss) {
  free(s->label);
  free(s->old);
  free(s->shared_label);
  free(s->shared_old);
  free(s->acc);
  free(s->total);
  free(s->b.up);
  free(s->b.low);
  free(s->shared_b.up);
  free(s->shared_b.low);
  free(s->mv.delta);
  assign_scratch_free(&s->w);
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
