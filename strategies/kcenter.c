/* strategies/kcenter.c: Core-Set greedy farthest-first (k-center), exact across
 * ranks.
 *
 * Every rank keeps, for each of its candidates, the squared distance to the
 * nearest center so far and which center that is.  A step: every rank proposes
 * its farthest candidate, one MPI_Allreduce with a MAXLOC-like op on (distance,
 * id, owner) picks the global one (ties: lower id), its owner broadcasts the
 * embedding, and every rank lowers its candidates' distances.
 *
 * Same answer at any rank count: a candidate's distance to a center is
 * ||x||^2 + ||c||^2 - 2 x.c with x.c from one cblas_sdot of that row, so it
 * does not depend on where the row sits in the shard (a GEMV would: its kernels
 * treat tail rows differently).  Distances to the labeled centers come from
 * fixed-shape SGEMM blocks (alq/gemm.h).
 *
 * Pruning (Elkan): if the new center c is at least twice as far from an item's
 * nearest center a as the item is (d(a,c) >= 2 d(x,a)), then d(x,c) >= d(x,a)
 * and the item cannot move: skip its row.  Center-to-center distances cost
 * O(centers * d) per step; the saving is a row read per skipped item.  The test
 * allows for rounding (prune_tolerance), so pruning never changes the batch.
 */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/gemm.h"
#include "alq/hash.h"
#include "alq/logview.h"
#include "alq/strategy.h"

/* Rounding in ||x||^2 + ||c||^2 - 2 x.c is absolute, not relative: up to about
 * (d + 3) eps (||x||^2 + ||c||^2) (the dot product's worst case plus the sums).
 * The pruning test must hold for the computed distances, or a skipped item
 * would keep a distance the unpruned pass would have lowered.  With a = the
 * item's nearest center and c the new one, skipping is safe when
 *   cc2 > 4 m + 2 (d + 3) eps (||x||^2 + ||a||^2 + ||c||^2),
 * which covers the errors of m = d2(x, a), d2(x, c) and cc2 = d2(a, c).  For
 * unit-scale embeddings the margin is ~1e-4; for points far from the origin
 * it rightly turns pruning off for tiny distances. */
static float prune_tolerance(int64_t d) { return (float)(2.0 * (double)(d + 3) * FLT_EPSILON); }

/* Labeled-center pass blocks: ALQ_GEMM_ROWS candidates x BLOCK_CENTERS centers
 * per SGEMM (the center blocks are the same on every rank). */
#define BLOCK_CENTERS 512

typedef struct {
  double value;
  int64_t id;
  int64_t owner;
} proposal;

static int proposal_before(const proposal *a, const proposal *b) {
  return a->value > b->value || (a->value == b->value && a->id < b->id);
}

static void proposal_max(void *in, void *inout, int *len, MPI_Datatype *type) {
  proposal *a = in, *b = inout;
  for (int i = 0; i < *len; i++)
    if (proposal_before(&a[i], &b[i]))
      b[i] = a[i];
}

typedef struct {
  int64_t n, d;
  const float *x; /* n x d candidate rows */
  float *xnorm;   /* ||x||^2 */
  float *mind;    /* squared distance to the nearest center; < 0 once selected */
  int32_t *near;  /* index of that center, -1 for none */
  /* centers, identical on every rank: labeled first, then the batch so far */
  int64_t nc, cap;
  float *c, *cnorm;
  float *cc2; /* squared distances from the newest center to every earlier one */
} kstate;

static alq_err state_init(kstate *s, const alq_candidates *cand, const alq_centers *labeled, int64_t budget) {
  memset(s, 0, sizeof *s);
  s->n = cand->n;
  s->d = cand->dim;
  s->x = cand->embeddings;
  s->cap = labeled->n + budget;
  int64_t n1 = s->n ? s->n : 1;
  ALQ_CHECK(alq_malloc(&s->xnorm, sizeof(float) * n1, "k-center norms"));
  ALQ_CHECK(alq_malloc(&s->mind, sizeof(float) * n1, "k-center distances"));
  ALQ_CHECK(alq_malloc(&s->near, sizeof(int32_t) * n1, "k-center nearest centers"));
  ALQ_CHECK(alq_malloc_aligned(&s->c, sizeof(float) * s->cap * s->d, "k-center centers"));
  ALQ_CHECK(alq_malloc(&s->cnorm, sizeof(float) * s->cap, "k-center center norms"));
  ALQ_CHECK(alq_malloc(&s->cc2, sizeof(float) * s->cap, "k-center center distances"));
  for (int64_t i = 0; i < s->n; i++) {
    const float *xi = s->x + i * s->d;
    s->xnorm[i] = cblas_sdot((int)s->d, xi, 1, xi, 1);
    s->mind[i] = INFINITY;
    s->near[i] = -1;
  }
  return ALQ_OK;
}

static void state_free(kstate *s) {
  free(s->xnorm);
  free(s->mind);
  free(s->near);
  free(s->c);
  free(s->cnorm);
  free(s->cc2);
}

static void add_center(kstate *s, const float *c) {
  memcpy(s->c + s->nc * s->d, c, sizeof(float) * s->d);
  s->cnorm[s->nc] = cblas_sdot((int)s->d, c, 1, c, 1);
  s->nc++;
}

/* Distances from every candidate to the labeled centers, in SGEMM blocks. */
static alq_err labeled_pass(kstate *s, const alq_centers *labeled) {
  for (int64_t j = 0; j < labeled->n; j++)
    add_center(s, labeled->embeddings + j * s->d);
  if (s->n == 0 || labeled->n == 0)
    return ALQ_OK;
  float *g = NULL, *pad = NULL;
  alq_err err = alq_malloc_aligned(&g, sizeof(float) * ALQ_GEMM_ROWS * BLOCK_CENTERS, "k-center distance block");
  if (!err)
    err = alq_malloc_aligned(&pad, sizeof(float) * ALQ_GEMM_ROWS * s->d, "k-center padding block");
  if (err) {
    free(g);
    return err;
  }
  for (int64_t i0 = 0; i0 < s->n; i0 += ALQ_GEMM_ROWS) {
    int64_t bm = s->n - i0 < ALQ_GEMM_ROWS ? s->n - i0 : ALQ_GEMM_ROWS;
    for (int64_t j0 = 0; j0 < labeled->n; j0 += BLOCK_CENTERS) {
      int64_t bn = labeled->n - j0 < BLOCK_CENTERS ? labeled->n - j0 : BLOCK_CENTERS;
      alq_sgemm_nt_block(s->x + i0 * s->d, bm, s->d, s->c + j0 * s->d, bn, g, pad);
      for (int64_t i = 0; i < bm; i++)
        for (int64_t j = 0; j < bn; j++) {
          float d2 = s->xnorm[i0 + i] + s->cnorm[j0 + j] - 2.0f * g[i * bn + j];
          d2 = d2 > 0 ? d2 : 0;
          if (d2 < s->mind[i0 + i]) {
            s->mind[i0 + i] = d2;
            s->near[i0 + i] = (int32_t)(j0 + j);
          }
        }
    }
  }
  alq_log_flops(2 * s->n * labeled->n * s->d);
  free(g);
  free(pad);
  return ALQ_OK;
}

/* This rank's farthest unselected candidate, or value -1 when none is left. */
static proposal farthest(const kstate *s, const alq_candidates *cand, int rank) {
  proposal best = {-1.0, INT64_MAX, rank};
  for (int64_t i = 0; i < s->n; i++) {
    proposal p = {s->mind[i], cand->ids[i], rank};
    if (s->mind[i] >= 0 && proposal_before(&p, &best))
      best = p;
  }
  return best;
}

/* With no centers at all, the first one is the candidate with the largest
 * hash(seed, id): a seeded draw that any rank evaluates the same way. */
static proposal first_draw(const kstate *s, const alq_candidates *cand, uint64_t seed, int rank) {
  proposal best = {-1.0, INT64_MAX, rank};
  for (int64_t i = 0; i < s->n; i++) {
    proposal p = {alq_hash_unit(seed, (uint64_t)cand->ids[i], ALQ_PURPOSE_FIRST_CENTER), cand->ids[i], rank};
    if (proposal_before(&p, &best))
      best = p;
  }
  return best;
}

typedef struct {
  double seconds, unpruned_seconds;
  int64_t streamed, unpruned_bytes, skipped, visited;
} kstats;

/* Lowers every candidate's distance with the newest center (index nc-1) and
 * returns this rank's next proposal, fused into the same pass. */
static proposal update(kstate *s, const alq_candidates *cand, int prune, int rank, kstats *st) {
  const int64_t d = s->d, k = s->nc - 1;
  const float *c = s->c + k * d, cn = s->cnorm[k];
  if (prune)
    for (int64_t j = 0; j < k; j++) {
      float cc = s->cnorm[j] + cn - 2.0f * cblas_sdot((int)d, s->c + j * d, 1, c, 1);
      s->cc2[j] = cc > 0 ? cc : 0;
    }
  const float tol = prune_tolerance(d);
  proposal best = {-1.0, INT64_MAX, rank};
  int64_t skipped = 0, visited = 0;
  for (int64_t i = 0; i < s->n; i++) {
    float m = s->mind[i];
    if (m < 0)
      continue;
    visited++;
    int32_t a = s->near[i];
    if (prune && a >= 0 && s->cc2[a] > 4.0f * m + tol * (s->xnorm[i] + s->cnorm[a] + cn)) {
      skipped++;
    } else {
      const float *xi = s->x + i * d;
      float d2 = s->xnorm[i] + cn - 2.0f * cblas_sdot((int)d, xi, 1, c, 1);
      d2 = d2 > 0 ? d2 : 0;
      if (d2 < m) {
        s->mind[i] = m = d2;
        s->near[i] = (int32_t)k;
      }
    }
    proposal p = {m, cand->ids[i], rank};
    if (proposal_before(&p, &best))
      best = p;
  }
  st->skipped += skipped;
  st->visited += visited;
  st->streamed += (visited - skipped) * d * (int64_t)sizeof(float);
  alq_log_flops(2 * (visited - skipped) * d);
  return best;
}

static alq_err record_winner(kstate *s, const alq_candidates *cand, const proposal *win, int rank,
                             MPI_Comm comm, float *center) {
  if (win->owner == rank) {
    for (int64_t i = 0; i < s->n; i++)
      if (cand->ids[i] == win->id) {
        memcpy(center, s->x + i * s->d, sizeof(float) * s->d);
        s->mind[i] = -1.0f; /* selected: never proposed again */
        break;
      }
  }
  ALQ_CHECK(alq_bcast(center, sizeof(float) * s->d, (int)win->owner, comm));
  add_center(s, center);
  return ALQ_OK;
}

static void print_stats(const kstats *st, const kstate *s, int64_t steps, MPI_Comm comm) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int64_t local[4] = {st->streamed, st->unpruned_bytes, st->skipped, st->visited}, sum[4];
  double t[2] = {st->seconds, st->unpruned_seconds}, tmax[2];
  int64_t n_total = 0, n_local = s->n;
  MPI_Reduce(local, sum, 4, MPI_INT64_T, MPI_SUM, 0, comm);
  MPI_Reduce(t, tmax, 2, MPI_DOUBLE, MPI_MAX, 0, comm);
  MPI_Reduce(&n_local, &n_total, 1, MPI_INT64_T, MPI_SUM, 0, comm);
  if (rank == 0)
    fprintf(stderr,
            "kcenter: steps=%lld candidates=%lld dim=%lld seconds=%.6f streamed_bytes=%lld "
            "unpruned_steps_seconds=%.6f unpruned_bytes=%lld pruned_fraction=%.4f\n",
            (long long)steps, (long long)n_total, (long long)s->d, tmax[0], (long long)sum[0], tmax[1],
            (long long)sum[1], sum[3] ? (double)sum[2] / (double)sum[3] : 0.0);
}

alq_err alq_kcenter_select(const alq_select_ctx *ctx, const alq_candidates *cand, const alq_centers *labeled,
                           alq_batch *batch) {
  int rank;
  MPI_Comm_rank(ctx->comm, &rank);
  memset(batch, 0, sizeof *batch);
  if (cand->n > 0 && !cand->embeddings)
    return alq_error_set(ALQ_ERR_INTERNAL, "k-center was given candidates without embeddings");
  kstate s;
  float *center = NULL;
  alq_err err = state_init(&s, cand, labeled, ctx->budget);
  if (!err)
    err = alq_malloc(&center, sizeof(float) * (cand->dim ? cand->dim : 1), "k-center new center");
  if (!err)
    err = alq_malloc(&batch->ids, sizeof(int64_t) * (ctx->budget ? ctx->budget : 1), "batch ids");
  if (!err)
    err = alq_malloc(&batch->scores, sizeof(double) * (ctx->budget ? ctx->budget : 1), "batch scores");
  if (!err)
    err = labeled_pass(&s, labeled);
  err = alq_agree(ctx->comm, err);

  MPI_Datatype ptype;
  MPI_Op pmax;
  MPI_Type_contiguous(sizeof(proposal), MPI_BYTE, &ptype);
  MPI_Type_commit(&ptype);
  MPI_Op_create(proposal_max, 1, &pmax);
  kstats st = {0};
  proposal mine = s.nc ? farthest(&s, cand, rank) : first_draw(&s, cand, ctx->seed, rank);
  int64_t t = 0;
  for (; !err && t < ctx->budget; t++) {
    proposal win;
    err = alq_allreduce(&mine, &win, 1, ptype, pmax, ctx->comm);
    if (err || win.value < 0)
      break; /* no candidate left anywhere */
    batch->ids[t] = win.id;
    batch->scores[t] = s.nc ? sqrt(win.value) : INFINITY;
    err = record_winner(&s, cand, &win, rank, ctx->comm, center);
    if (err || t + 1 == ctx->budget)
      continue;
    double t0 = MPI_Wtime();
    int64_t skipped_before = st.skipped, streamed_before = st.streamed;
    mine = update(&s, cand, ctx->prune, rank, &st);
    double dt = MPI_Wtime() - t0;
    st.seconds += dt;
    if (st.skipped == skipped_before) {
      st.unpruned_seconds += dt;
      st.unpruned_bytes += st.streamed - streamed_before;
    }
  }
  batch->n = t;
  MPI_Op_free(&pmax);
  MPI_Type_free(&ptype);
  if (!err && ctx->log_view)
    print_stats(&st, &s, t, ctx->comm);
  state_free(&s);
  free(center);
  if (err)
    alq_batch_free(batch);
  return err;
}

const alq_strategy alq_strategy_kcenter = {
    .name = "kcenter",
    .summary = "Core-Set greedy farthest-first over all unlabeled items (labeled items are the first centers)",
    .needs = ALQ_NEEDS_EMBEDDINGS,
    .score = NULL,
    .select = alq_kcenter_select,
};
