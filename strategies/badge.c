/* strategies/badge.c: BADGE (Ash et al., ICLR 2020), k-means++ seeding in
 * gradient-embedding space, over every unlabeled item.
 *
 * An item's gradient embedding is g = q (x) h, q = onehot(argmax p) - p (C
 * values), h its embedding (d values).  It is never formed (that is N C d
 * floats): ||g_i - g_j||^2 = ||q_i||^2 ||h_i||^2 + ||q_j||^2 ||h_j||^2
 * - 2 (q_i . q_j)(h_i . h_j), each dot product from alq_dot, the products in
 * double.  Per rank: the candidates' embeddings (kept by the scan) plus q, so
 * O(N (C + d)) over the ranks.
 *
 * The first center is the largest ||g|| (ties: lower id); then each step
 * draws the next with probability proportional to D^2, the squared gradient
 * distance to the nearest center so far (alq_d2_draw: D^2 masses summed
 * exactly in int64 fixed point, one global draw keyed by hash(seed, step),
 * the owner found by a prefix over ranks).  A chosen item has D^2 = 0 and is
 * never drawn again; if every remaining item is at D^2 = 0 (duplicates of
 * centers) the draw is uniform over the items not yet chosen.
 *
 * The scan keeps embeddings only, so q comes from one more pass over the same
 * rows (ctx->rows) that reads the probabilities of the candidates; with a
 * pool's ids in any order the candidates (with q) are then re-dealt so that
 * ids ascend across ranks (alq_candidates_id_order).
 *
 * Skipping (issue 13).  A new center c changes D_i only where the computed
 * distance to c is below D_i^2.  Two lower bounds on the exact distance,
 * the norm bound | ||g_i|| - ||g_c|| | and the center bound d(a, c) - d(i, a)
 * (a = the center that set D_i, as in exact accelerated k-means++, Raff 2021,
 * and Elkan), let an item be skipped when the bound, less every rounding the
 * computed distance could have, still exceeds D_i^2 (skip_tol below): such an
 * item's computed distance would not have lowered D_i, so D^2, the draws and
 * the batch are bit for bit those of evaluating every item (--no-prune).
 * An item neither bound settles gets q_i . q_c first; a third bound from it
 * and the h norms (factor_skip) can still spare the h_i . h_c products.
 * Each skip decision depends on the item and the centers alone, so the
 * skipped count is the same at any rank count. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/cluster.h"
#include "alq/comm.h"
#include "alq/dot.h"
#include "alq/hash.h"
#include "alq/logview.h"
#include "alq/strategy.h"
#include "alq/worker.h"
#include "alq/sorted_ids.h"

typedef struct {
  int64_t n, c, d;
  const int64_t *ids; /* ascending */
  const float *h;     /* n x d */
  float *q;           /* n x c */
  float *qn, *hn;     /* squared norms */
  double *w;          /* D^2 to the nearest center; 0 once chosen */
  int32_t *near;      /* the center whose computed distance is w (-1: none yet) */
  unsigned char *chosen;
  int64_t found;      /* candidates whose probabilities the pass delivered */
  int64_t budget;     /* rows of `centers` */
  float *centers;     /* every center so far: q (c) then h (d), row t = pick t */
  float *center;      /* the newest center: a row of `centers` */
  double *cg, *cnorm, *cabs; /* per center: ||g||^2 as computed, ||g||, 1 + ||q||^2 + ||h||^2 */
  double *clo;        /* per older center a: a lower bound on d(a, newest) */
  int64_t nc;         /* centers so far */
  double rel;         /* relative rounding allowance per distance (skip_tol) */
  double gamma_d;     /* alq_dot_error_bound(d) (factor_skip) */
  int64_t updates, norm_skips, center_skips, factor_skips, lowered;
  uint64_t digest; /* sum of hash(new D^2, id, step) over the updates that lowered D^2 */
} badge_state;

static int64_t find_id(const int64_t *ids, int64_t n, int64_t id) {
  return alq_ids_find(ids, n, id);
}

/* q = onehot(argmax p) - p; argmax ties: the lower class. */
static void gradient_factor(const float *p, int64_t c, float *q) {
  int64_t top = 0;
  for (int64_t k = 1; k < c; k++)
    top = p[k] > p[top] ? k : top;
  for (int64_t k = 0; k < c; k++)
    q[k] = (k == top ? 1.0f : 0.0f) - p[k];
}

static alq_err take_probs(void *ctx, const alq_chunk_view *v) {
  badge_state *s = ctx;
  for (int64_t i = 0; i < v->count; i++) {
    int64_t at = v->is_labeled[i] ? -1 : find_id(s->ids, s->n, v->rows->ids[i]);
    if (at < 0)
      continue;
    gradient_factor(v->rows->probs + i * s->c, s->c, s->q + at * s->c);
    s->found++;
  }
  return ALQ_OK;
}

/* The candidates' q from a pass over the rows they came from. */
static alq_err read_factors(const alq_select_ctx *ctx, badge_state *s) {
  if (!ctx->rows)
    return alq_error_set(ALQ_ERR_INTERNAL, "badge needs the rows its candidates came from");
  alq_stream_request sr = *ctx->rows;
  sr.fields = ALQ_FIELD_PROBS;
  sr.progress = 0;
  alq_stream_result res;
  memset(&res, 0, sizeof res);
  alq_err err = alq_worker_stream(&sr, take_probs, s, &res);
  free(res.labeled_found);
  ALQ_CHECK(err);
  return alq_agree(ctx->comm, s->found == s->n ? ALQ_OK
                                                : alq_error_set(ALQ_ERR_INTERNAL,
                                                                "badge: %lld of %lld candidates not found in the rows",
                                                                (long long)(s->n - s->found), (long long)s->n));
}

static alq_err state_init(badge_state *s, const alq_candidates *cand, int64_t n_classes, int64_t budget) {
  memset(s, 0, sizeof *s);
  s->n = cand->n;
  s->c = n_classes;
  s->d = cand->dim;
  s->ids = cand->ids;
  s->h = cand->embeddings;
  for (int64_t i = 1; i < s->n; i++)
    if (s->ids[i] <= s->ids[i - 1])
      return alq_error_set(ALQ_ERR_INTERNAL, "badge: candidates are not in id order");
  int64_t n1 = s->n ? s->n : 1;
  ALQ_CHECK(alq_malloc(&s->q, sizeof(float) * n1 * s->c, "badge gradient factors"));
  ALQ_CHECK(alq_malloc(&s->qn, sizeof(float) * n1, "badge factor norms"));
  ALQ_CHECK(alq_malloc(&s->hn, sizeof(float) * n1, "badge embedding norms"));
  ALQ_CHECK(alq_malloc(&s->w, sizeof(double) * n1, "badge D^2"));
  ALQ_CHECK(alq_malloc(&s->near, sizeof(int32_t) * n1, "badge nearest centers"));
  ALQ_CHECK(alq_calloc(&s->chosen, n1, 1, "badge chosen flags"));
  if (budget > INT32_MAX)
    return alq_error_set(ALQ_ERR_INTERNAL, "badge: budget %lld exceeds the int32 center index", (long long)budget);
  s->budget = budget ? budget : 1;
  ALQ_CHECK(alq_malloc(&s->cg, sizeof(double) * s->budget, "badge center norms"));
  ALQ_CHECK(alq_malloc(&s->cnorm, sizeof(double) * s->budget, "badge center norms"));
  ALQ_CHECK(alq_malloc(&s->cabs, sizeof(double) * s->budget, "badge center norms"));
  ALQ_CHECK(alq_malloc(&s->clo, sizeof(double) * s->budget, "badge center distances"));
  ALQ_CHECK(alq_malloc_aligned(&s->centers, sizeof(float) * s->budget * (s->c + s->d), "badge centers"));
  s->center = s->centers;
  return ALQ_OK;
}

static void state_free(badge_state *s) {
  free(s->q);
  free(s->qn);
  free(s->hn);
  free(s->w);
  free(s->near);
  free(s->chosen);
  free(s->centers);
  free(s->cg);
  free(s->cnorm);
  free(s->cabs);
  free(s->clo);
}

static double gnorm2(const badge_state *s, int64_t i) { return (double)s->qn[i] * (double)s->hn[i]; }

/* The first center: the largest ||g||^2, ties the lower id; its owner. */
static alq_err first_center(MPI_Comm comm, const badge_state *s, alq_draw *dr) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  double best = -1, top;
  int64_t at = -1;
  for (int64_t i = 0; i < s->n; i++)
    if (gnorm2(s, i) > best) { /* ids ascend: strict keeps the lower id */
      best = gnorm2(s, i);
      at = i;
    }
  ALQ_CHECK(alq_allreduce(&best, &top, 1, MPI_DOUBLE, MPI_MAX, comm));
  int64_t id = at >= 0 && best == top ? s->ids[at] : INT64_MAX, low;
  ALQ_CHECK(alq_allreduce(&id, &low, 1, MPI_INT64_T, MPI_MIN, comm));
  int owner = id == low && low != INT64_MAX ? rank : -1, who;
  ALQ_CHECK(alq_allreduce(&owner, &who, 1, MPI_INT, MPI_MAX, comm));
  *dr = (alq_draw){who < 0 ? ALQ_DRAW_NONE : ALQ_DRAW_LOCAL, who, who == rank ? at : -1};
  return ALQ_OK;
}

/* Broadcasts the drawn item (q, h, id, score) from its owner and marks it. */
static alq_err take_center(MPI_Comm comm, badge_state *s, const alq_draw *dr, int first, int64_t *id,
                           double *score) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int64_t head[2] = {0, 0};
  s->center = s->centers + s->nc * (s->c + s->d);
  if (dr->owner == rank) {
    int64_t i = dr->index;
    memcpy(s->center, s->q + i * s->c, sizeof(float) * s->c);
    memcpy(s->center + s->c, s->h + i * s->d, sizeof(float) * s->d);
    double sc = sqrt(first ? gnorm2(s, i) : s->w[i]);
    head[0] = s->ids[i];
    memcpy(&head[1], &sc, sizeof sc);
    s->chosen[i] = 1;
    s->w[i] = 0;
  }
  ALQ_CHECK(alq_bcast(head, sizeof head, dr->owner, comm));
  ALQ_CHECK(alq_bcast(s->center, sizeof(float) * (s->c + s->d), dr->owner, comm));
  *id = head[0];
  memcpy(score, &head[1], sizeof *score);
  return ALQ_OK;
}

/* ||g_x - g_y||^2 as computed for every pair, clamped at 0. */
static double gdist2(double gx, double gy, float qq, float hh) {
  double d2 = gx + gy - 2.0 * ((double)qq * (double)hh);
  return d2 > 0 ? d2 : 0;
}

/* How far a computed gdist2(x, y) can be from the exact ||g_x - g_y||^2,
 * from the computed norms nx = ||g_x||, ny and ax = 1 + ||q_x||^2 + ||h_x||^2.
 *
 * Relative part.  Each alq_dot is within gamma_n sum |x_k y_k| of the exact
 * (alq_dot_error_bound), so ||q||^2 and ||h||^2 within gamma_C, gamma_d
 * relatively, and q_x.q_y within gamma_C ||q_x|| ||q_y||, h_x.h_y within
 * gamma_d ||h_x|| ||h_y||.  float x float is exact in double, so ||g_x||^2 =
 * qn hn is within e = gamma_C + gamma_d + gamma_C gamma_d relatively, and the
 * product (q.q)(h.h) within e ||g_x|| ||g_y||; the two double additions add
 * 2^-52 of their operands.  In all |computed - exact| <= (e + 2^-51) (||g_x||
 * + ||g_y||)^2, with exact norms within e of the computed ones.  rel (set in
 * badge_select) is twice that and more, which also covers the double
 * rounding of the bound itself (sqrt, subtraction: ~2^-52 relative).
 *
 * Absolute part: a float result below 2^-126 underflows, outside the
 * relative bound: it loses up to 2^-150 (gradual underflow, IEEE's default),
 * or 2^-126 if flush-to-zero were on; taking 2^-126 for each of a dot's n
 * products and n sums, a dot moves by eta_n = 2 (n + 1) 2^-126 and a distance
 * by at most 4 eta_max ax ay <= (C + d + 2) 2^-123 ax ay.  ABS_UNIT is 4
 * times that. */
#define ABS_UNIT 0x1p-121
static double skip_tol(const badge_state *s, double nx, double ny, double ax, double ay) {
  return s->rel * (nx + ny) * (nx + ny) + ABS_UNIT * (double)(s->c + s->d + 2) * ax * ay;
}

static double abs_term(const badge_state *s, int64_t i) { return 1.0 + (double)s->qn[i] + (double)s->hn[i]; }

/* The newest center's norm, and for every older center a lower bound on the
 * exact distance to it (one factorised distance each: B per center). */
static void center_bounds(badge_state *s) {
  const int64_t cd = s->c + s->d, t = s->nc;
  const float *qc = s->center, *hc = s->center + s->c;
  float qq = alq_dot(qc, qc, s->c), hh = alq_dot(hc, hc, s->d);
  double gc = (double)qq * (double)hh;
  s->cg[t] = gc;
  s->cnorm[t] = sqrt(gc);
  s->cabs[t] = 1.0 + (double)qq + (double)hh;
  for (int64_t a = 0; a < t; a++) {
    const float *qa = s->centers + a * cd, *ha = qa + s->c;
    double d2 = gdist2(s->cg[a], gc, alq_dot(qa, qc, s->c), alq_dot(ha, hc, s->d));
    double lo = d2 - skip_tol(s, s->cnorm[a], s->cnorm[t], s->cabs[a], s->cabs[t]);
    s->clo[a] = lo > 0 ? sqrt(lo) : 0;
  }
  alq_log_flops(2 * t * cd);
}

/* Whether item i's computed distance to the newest center provably cannot be
 * below w[i]: a lower bound L on the exact distance with L^2 - tol > w[i].
 * Any doubt (no nearest center yet, w infinite, NaN) evaluates. */
static int can_skip(badge_state *s, int64_t i, double gi) {
  const int64_t t = s->nc;
  double w = s->w[i], ni = sqrt(gi), nc = s->cnorm[t], ai = abs_term(s, i);
  double tol = skip_tol(s, ni, nc, ai, s->cabs[t]);
  /* Norm bound, the exact norms being within rel of the computed ones. */
  double ln = fabs(ni - nc) - s->rel * (ni + nc);
  if (ln > 0 && ln * ln - tol > w) {
    s->norm_skips++;
    return 1;
  }
  int32_t a = s->near[i];
  if (a < 0)
    return 0;
  /* Center bound: d(i, c) >= d(a, c) - d(i, a), d(i, a)^2 <= w + tol(i, a). */
  double hi = w + skip_tol(s, ni, s->cnorm[a], ai, s->cabs[a]);
  double lc = s->clo[a] - sqrt(hi);
  if (lc > 0 && lc * lc - tol > w) {
    s->center_skips++;
    return 1;
  }
  return 0;
}

/* The third bound, once q_i . q_c is computed: the evaluation would give
 * fl(fl(gi + gc) - 2 qq hh) with gi, gc and qq the very values in hand, so
 * only hh = alq_dot(h_i, h_c) is unknown, and |hh| <= (1 + gamma_d) ||h_i||
 * ||h_c|| + eta_d (underflow, skip_tol), ||h||^2 <= (hn + eta_d) / (1 - gamma_d):
 * hmax below, with 4 gamma_d for the two (1 + gamma) / (1 - gamma) and the
 * sqrt.  The double operations of the bound and of the evaluation each err
 * by 2^-53 relative; 2^-47 (gi + gc + 2 |qq| hmax) covers them (~6 of 2^-53).  Saves
 * the d products of h when the q factors alone keep the distance above D. */
static int factor_skip(const badge_state *s, int64_t i, double gi, double gc, float qq, float hnc) {
  const double eta = (double)(s->d + 1) * 0x1p-124; /* twice eta_d */
  double hmax = sqrt(((double)s->hn[i] + eta) * ((double)hnc + eta)) * (1.0 + 4.0 * s->gamma_d) + eta;
  double x = 2.0 * fabs((double)qq) * hmax;
  double lb = (gi + gc) - x - 0x1p-47 * (gi + gc + x);
  return lb > s->w[i];
}

/* Item i's D^2 from its full distance to the newest center t. */
static void lower(badge_state *s, int64_t i, int32_t t, double d2) {
  if (d2 < s->w[i]) {
    s->lowered++;
    s->w[i] = d2;
    s->near[i] = t;
    uint64_t bits;
    memcpy(&bits, &d2, sizeof bits);
    s->digest += alq_hash3(bits, (uint64_t)s->ids[i], (uint64_t)t);
  }
}

static void prefetch_row(const float *row, int64_t n) {
  for (int64_t k = 0; k < n; k += 16)
    __builtin_prefetch(row + k);
}

#define FOLD_BLOCK 256
#define PREFETCH_AHEAD 4

/* D^2 <- min(D^2, ||g_i - g_center||^2) for the items not chosen, skipping
 * (when `skip`) the items whose D^2 provably stays.  Unskipped, the rows
 * stream in order.  Skipping, the items the norm and center bounds leave
 * are scattered, and their q rows would be fetched one miss at a time
 * (measured: a q dot product then took ~4x as long as in the stream): a
 * block's survivors are listed first and their rows prefetched a few ahead. */
static void fold_center(badge_state *s, int skip) {
  const float *qc = s->center, *hc = s->center + s->c;
  center_bounds(s);
  const int32_t t = (int32_t)s->nc;
  const double gc = s->cg[t];
  const float hnc = alq_dot(hc, hc, s->d);
  int64_t evaluated = 0, q_dots = 0, list[FOLD_BLOCK];
  for (int64_t b = 0; b < s->n; b += FOLD_BLOCK) {
    int64_t end = b + FOLD_BLOCK < s->n ? b + FOLD_BLOCK : s->n, m = 0;
    for (int64_t i = b; i < end; i++) {
      if (s->chosen[i])
        continue;
      s->updates++;
      if (!skip || !can_skip(s, i, gnorm2(s, i)))
        list[m++] = i;
    }
    for (int64_t j = 0; skip && j < m && j < PREFETCH_AHEAD; j++)
      prefetch_row(s->q + list[j] * s->c, s->c);
    for (int64_t j = 0; j < m; j++) {
      int64_t i = list[j];
      if (skip && j + PREFETCH_AHEAD < m)
        prefetch_row(s->q + list[j + PREFETCH_AHEAD] * s->c, s->c);
      double gi = gnorm2(s, i);
      float qq = alq_dot(s->q + i * s->c, qc, s->c);
      q_dots++;
      if (skip && factor_skip(s, i, gi, gc, qq, hnc)) {
        s->factor_skips++;
        continue;
      }
      evaluated++;
      lower(s, i, t, gdist2(gi, gc, qq, alq_dot(s->h + i * s->d, hc, s->d)));
    }
  }
  s->nc++;
  alq_log_flops(2 * q_dots * s->c + 2 * evaluated * s->d);
}

/* The next center by D^2; uniform over the unchosen items when no mass is left. */
static alq_err draw_next(MPI_Comm comm, badge_state *s, uint64_t seed, int64_t step, int64_t n_global,
                         alq_draw *dr) {
  double u = alq_hash_unit(seed, (uint64_t)step, ALQ_PURPOSE_BADGE);
  ALQ_CHECK(alq_d2_draw(comm, s->w, s->n, NULL, 0, n_global, u, dr));
  if (dr->where != ALQ_DRAW_NONE)
    return ALQ_OK;
  double *ones = NULL;
  ALQ_CHECK(alq_agree(comm, alq_malloc(&ones, sizeof(double) * (s->n ? s->n : 1), "badge uniform weights")));
  for (int64_t i = 0; i < s->n; i++)
    ones[i] = s->chosen[i] ? 0.0 : 1.0;
  alq_err err = alq_d2_draw(comm, ones, s->n, NULL, 0, n_global, u, dr);
  free(ones);
  return err;
}

/* The state over candidates whose ids ascend across ranks (the D^2 draws'
 * order): q is read where the candidates came from (their own shard), then
 * travels with them when a pool's ids are in any order. */
static alq_err ordered_state(const alq_select_ctx *ctx, const alq_candidates *cand, int64_t n_classes,
                             alq_ordered_candidates *oc, badge_state *s) {
  badge_state local;
  alq_err err = alq_agree(ctx->comm, state_init(&local, cand, n_classes, ctx->budget));
  if (!err)
    err = read_factors(ctx, &local);
  if (!err)
    err = alq_candidates_id_order(ctx->comm, cand, local.q, sizeof(float) * n_classes, oc);
  if (err || !oc->owned) {
    *s = local;
    return err;
  }
  state_free(&local);
  err = alq_agree(ctx->comm, state_init(s, &oc->c, n_classes, ctx->budget));
  if (!err)
    memcpy(s->q, oc->extra, sizeof(float) * n_classes * oc->c.n);
  return err;
}

/* --log-view's badge line: updates = (item, new center) pairs not yet
 * chosen, skipped = those the bounds settled without a full distance
 * (factor_skips: after q_i . q_c alone), lowered = the updates that lowered
 * D^2 (none of them can be skipped: the floor of `distances`); d2_digest
 * sums a hash of every lowered D^2 with its id and step (in uint64, so in
 * any order): the same digest with and without skipping means the same D^2
 * at every step, not only the same batch (tests/badge_skip.py). */
static alq_err print_stats(MPI_Comm comm, const badge_state *s, int64_t picks, int skip, double seconds) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int64_t local[6] = {s->n, s->updates, s->norm_skips, s->center_skips, s->factor_skips, s->lowered}, sum[6];
  double tmax;
  uint64_t digest;
  ALQ_CHECK(alq_reduce(local, sum, 6, MPI_INT64_T, MPI_SUM, 0, comm));
  ALQ_CHECK(alq_reduce(&s->digest, &digest, 1, MPI_UINT64_T, MPI_SUM, 0, comm));
  ALQ_CHECK(alq_reduce(&seconds, &tmax, 1, MPI_DOUBLE, MPI_MAX, 0, comm));
  if (rank != 0)
    return ALQ_OK;
  int64_t skipped = sum[2] + sum[3] + sum[4];
  fprintf(stderr,
          "badge: picks=%lld candidates=%lld seconds=%.6f skip=%s updates=%lld skipped=%lld "
          "skipped_fraction=%.4f norm_skips=%lld center_skips=%lld factor_skips=%lld distances=%lld "
          "lowered=%lld d2_digest=%016llx\n",
          (long long)picks, (long long)sum[0], tmax, skip ? "yes" : "no", (long long)sum[1], (long long)skipped,
          sum[1] > 0 ? (double)skipped / (double)sum[1] : 0.0, (long long)sum[2], (long long)sum[3],
          (long long)sum[4], (long long)(sum[1] - skipped), (long long)sum[5], (unsigned long long)digest);
  return ALQ_OK;
}

static alq_err badge_select(const alq_select_ctx *ctx, const alq_candidates *cand, const alq_centers *labeled,
                            alq_batch *batch) {
  (void)labeled; /* BADGE seeds from the pool alone, as the reference does */
  memset(batch, 0, sizeof *batch);
  int64_t n_classes = ctx->rows && ctx->rows->meta ? ctx->rows->meta->n_classes : 0;
  badge_state s;
  alq_ordered_candidates oc = {0};
  alq_err err = ordered_state(ctx, cand, n_classes, &oc, &s);
  if (!err)
    err = alq_malloc(&batch->ids, sizeof(int64_t) * (ctx->budget ? ctx->budget : 1), "batch ids");
  if (!err)
    err = alq_malloc(&batch->scores, sizeof(double) * (ctx->budget ? ctx->budget : 1), "batch scores");
  err = alq_agree(ctx->comm, err);
  int64_t n_global = 0;
  if (!err)
    err = alq_allreduce(&s.n, &n_global, 1, MPI_INT64_T, MPI_SUM, ctx->comm);
  for (int64_t i = 0; !err && i < s.n; i++) {
    s.qn[i] = alq_dot(s.q + i * s.c, s.q + i * s.c, s.c);
    s.hn[i] = alq_dot(s.h + i * s.d, s.h + i * s.d, s.d);
    s.w[i] = INFINITY;
    s.near[i] = -1;
  }
  double gq = alq_dot_error_bound(s.c), gh = alq_dot_error_bound(s.d);
  s.rel = 2.0 * (gq + gh + gq * gh + 0x1p-51); /* skip_tol: twice what the rounding needs */
  s.gamma_d = gh;
  double t0 = MPI_Wtime();
  alq_draw dr = {ALQ_DRAW_NONE, -1, -1};
  if (!err)
    err = first_center(ctx->comm, &s, &dr);
  int64_t t = 0;
  while (!err && dr.where != ALQ_DRAW_NONE) {
    err = take_center(ctx->comm, &s, &dr, t == 0, &batch->ids[t], &batch->scores[t]);
    if (err || ++t == ctx->budget || t == n_global)
      break;
    fold_center(&s, ctx->prune);
    err = draw_next(ctx->comm, &s, ctx->seed, t, n_global, &dr);
  }
  batch->n = t;
  if (!err && ctx->log_view)
    err = print_stats(ctx->comm, &s, t, ctx->prune, MPI_Wtime() - t0);
  state_free(&s);
  alq_ordered_candidates_free(&oc);
  if (err)
    alq_batch_free(batch);
  return err;
}

/* state_init's arrays (per item: q, two norms, D^2, nearest center, flag;
 * per center: its q and h, four doubles), read_factors' pass (a read's ids,
 * flags and probabilities), draw_next's uniform weights, and the batch. */
static int64_t badge_select_bytes(const alq_select_shape *sh) {
  int64_t n1 = sh->n ? sh->n : 1, c = sh->n_classes, b1 = sh->budget ? sh->budget : 1;
  int64_t state = n1 * (4 * c + 4 + 4 + 8 + 4 + 1) + b1 * (4 * (c + sh->dim) + 4 * 8);
  int64_t pass = sh->chunk_rows * (8 + 1 + 4 * c);
  return state + pass + 8 * n1 + 16 * sh->budget;
}

const alq_strategy alq_strategy_badge = {
    .name = "badge",
    .summary = "BADGE: k-means++ seeding on gradient embeddings (onehot - p) x h, never materialised",
    .needs = ALQ_NEEDS_PROBS | ALQ_NEEDS_EMBEDDINGS,
    .score = NULL,
    .select = badge_select,
    .select_bytes = badge_select_bytes,
};
