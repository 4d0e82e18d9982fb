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
 * ids ascend across ranks (alq_candidates_id_order). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alq/cluster.h"
#include "alq/comm.h"
#include "alq/dot.h"
#include "alq/hash.h"
#include "alq/logview.h"
#include "alq/strategy.h"
#include "alq/worker.h"

typedef struct {
  int64_t n, c, d;
  const int64_t *ids; /* ascending */
  const float *h;     /* n x d */
  float *q;           /* n x c */
  float *qn, *hn;     /* squared norms */
  double *w;          /* D^2 to the nearest center; 0 once chosen */
  unsigned char *chosen;
  int64_t found;      /* candidates whose probabilities the pass delivered */
  float *center;      /* the newest center: q (c) then h (d) */
} badge_state;

static int64_t find_id(const int64_t *ids, int64_t n, int64_t id) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (ids[mid] < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && ids[lo] == id ? lo : -1;
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

static alq_err state_init(badge_state *s, const alq_candidates *cand, int64_t n_classes) {
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
  ALQ_CHECK(alq_calloc(&s->chosen, n1, 1, "badge chosen flags"));
  return alq_malloc_aligned(&s->center, sizeof(float) * (s->c + s->d), "badge center");
}

static void state_free(badge_state *s) {
  free(s->q);
  free(s->qn);
  free(s->hn);
  free(s->w);
  free(s->chosen);
  free(s->center);
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

/* D^2 <- min(D^2, ||g_i - g_center||^2) for the items not chosen. */
static void fold_center(badge_state *s) {
  const float *qc = s->center, *hc = s->center + s->c;
  double gc = (double)alq_dot(qc, qc, s->c) * (double)alq_dot(hc, hc, s->d);
  for (int64_t i = 0; i < s->n; i++) {
    if (s->chosen[i])
      continue;
    double qq = alq_dot(s->q + i * s->c, qc, s->c), hh = alq_dot(s->h + i * s->d, hc, s->d);
    double d2 = gnorm2(s, i) + gc - 2.0 * (qq * hh);
    d2 = d2 > 0 ? d2 : 0;
    s->w[i] = d2 < s->w[i] ? d2 : s->w[i];
  }
  alq_log_flops(2 * s->n * (s->c + s->d));
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
  alq_err err = alq_agree(ctx->comm, state_init(&local, cand, n_classes));
  if (!err)
    err = read_factors(ctx, &local);
  if (!err)
    err = alq_candidates_id_order(ctx->comm, cand, local.q, sizeof(float) * n_classes, oc);
  if (err || !oc->owned) {
    *s = local;
    return err;
  }
  state_free(&local);
  err = alq_agree(ctx->comm, state_init(s, &oc->c, n_classes));
  if (!err)
    memcpy(s->q, oc->extra, sizeof(float) * n_classes * oc->c.n);
  return err;
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
  }
  alq_draw dr = {ALQ_DRAW_NONE, -1, -1};
  if (!err)
    err = first_center(ctx->comm, &s, &dr);
  int64_t t = 0;
  while (!err && dr.where != ALQ_DRAW_NONE) {
    err = take_center(ctx->comm, &s, &dr, t == 0, &batch->ids[t], &batch->scores[t]);
    if (err || ++t == ctx->budget || t == n_global)
      break;
    fold_center(&s);
    err = draw_next(ctx->comm, &s, ctx->seed, t, n_global, &dr);
  }
  batch->n = t;
  state_free(&s);
  alq_ordered_candidates_free(&oc);
  if (err)
    alq_batch_free(batch);
  return err;
}

/* state_init's arrays, read_factors' pass (a read's ids, flags and
 * probabilities), draw_next's uniform weights, and the batch. */
static int64_t badge_select_bytes(const alq_select_shape *sh) {
  int64_t n1 = sh->n ? sh->n : 1, c = sh->n_classes;
  int64_t state = n1 * (4 * c + 4 + 4 + 8 + 1) + 4 * (c + sh->dim);
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
