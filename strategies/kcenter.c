/* strategies/kcenter.c: Core-Set greedy farthest-first (k-center), exact across
 * ranks.
 *
 * A step: every rank proposes its farthest unselected candidate (largest
 * squared distance to the nearest center; ties: lower id), one MPI_Allreduce
 * with a MAXLOC-like op on (distance, id, owner) picks the global one, its
 * owner broadcasts the embedding, and it becomes a center.  The labeled items
 * are the first centers.
 *
 * The value: an item's distance to a center is ||x||^2 + ||c||^2 - 2 x.c with
 * every dot product from alq_dot (alq/dot.h), whose summation order is fixed,
 * so it depends on the two rows only: never on where the row sits in a shard,
 * the BLAS kernel or the CPU.  That makes the batch the same at any rank count
 * and on every machine.
 *
 * Lazy evaluation (the default): most candidates can never be the farthest, so
 * their exact distances are not needed.  Each candidate keeps an upper bound on
 * its distance to the nearest center; candidates sit in a max-heap by bound,
 * and a step evaluates exactly (with the centers it has not seen yet) only the
 * candidates whose bound could still beat the best exact value found.  Bounds
 * are refreshed for every candidate at once with the bound GEMM (bf16 on
 * CPUs with AVX512-BF16, else SGEMM; alq/gemm.h) against the new centers,
 * instead of one streamed pass per center: after 1, 2, 4, ... 64 centers
 * (bounds from the first steps), then every PEND.  The GEMM rounds
 * differently from alq_dot (bf16: by up to ~2^-7 relative), so a bound from
 * it carries the path's proven allowance (bound_tolerance); bounds only
 * decide which candidates get evaluated, never a value, so the batch is
 * exactly the one an eager pass over every candidate gives (--no-prune;
 * tested).
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/dot.h"
#include "alq/fault.h"
#include "alq/gemm.h"
#include "alq/hash.h"
#include "alq/logview.h"
#include "alq/strategy.h"

/* New centers folded into every bound per GEMM refresh (at most): enough to
 * make the refresh compute-bound, few enough that bounds stay tight between
 * refreshes.  Before PEND centers have been applied, a refresh follows as soon
 * as the new centers equal the applied ones (1, 2, 4, ...). */
#define PEND 64
/* A refresh's GEMM block: candidates x centers, small enough for cache. */
#define BLOCK_ROWS 256
#define BLOCK_CENTERS 512

typedef struct {
  double value;
  int64_t id;
  int64_t owner; /* rank */
  int64_t at;    /* the candidate's index on its owner */
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
  const float *x;      /* n x d candidate rows */
  const int64_t *ids;
  float *xnorm;        /* ||x||^2 */
  float *exact;        /* min distance over centers [0, seen[i]); < 0 once selected */
  int32_t *seen;
  float *bound;        /* >= the item's distance to its nearest center, now and later */
  float *refreshed;    /* min SGEMM distance over centers [0, applied) */
  int64_t applied;
  int64_t *heap, heap_n; /* lazy: unselected candidates by (bound desc, id asc) */
  int64_t *popped;
  float *block;        /* GEMM scratch of a refresh */
  /* centers, identical on every rank: labeled first, then the batch so far */
  int64_t nc, cap;
  float *c, *cnorm, cmax;
  /* counters for --log-view */
  int64_t evaluations, distances, refreshes;
  double gemm_seconds, gemm_flops;
  char gemm_path[32], gemm_impl[128];
} kstate;

/* |GEMM distance - alq_dot distance| <= 2 |x.c error| + the roundings of
 * ||x||^2 + ||c||^2 - 2 x.c on both sides, each within 2 eps (||x||^2 +
 * ||c||^2) (a difference of float sums, one rounding each; doubled for the
 * float sum refreshed + tolerance).  The dot's error: the path's allowance
 * (alq/gemm.h) with ||x|| ||c|| <= sqrt(||x||^2 cmax) and ||x|| + ||c|| <=
 * sqrt(||x||^2) + sqrt(cmax), rounded up by 1e-6. */
static float bound_tolerance(const kstate *s, const alq_bound_gemm *g, int64_t i) {
  double xn = s->xnorm[i], cm = s->cmax, up = 1.0 + 1e-6;
  double dot = alq_bound_gemm_allowance(g, sqrt(xn * cm) * up, (sqrt(xn) + sqrt(cm)) * up);
  return (float)(2.0 * dot + 4.0 * FLT_EPSILON * (xn + cm));
}

static float distance(const kstate *s, int64_t i, int64_t j) {
  float d2 = s->xnorm[i] + s->cnorm[j] - 2.0f * alq_dot(s->x + i * s->d, s->c + j * s->d, s->d);
  return d2 > 0 ? d2 : 0;
}

/* The item's exact distance to its nearest center: folds in the centers it has
 * not seen yet. */
static float evaluate(kstate *s, int64_t i) {
  float m = s->exact[i];
  for (int64_t j = s->seen[i]; j < s->nc; j++) {
    float d2 = distance(s, i, j);
    m = d2 < m ? d2 : m;
  }
  s->distances += s->nc - s->seen[i];
  s->evaluations++;
  s->exact[i] = m;
  s->seen[i] = (int32_t)s->nc;
  return m;
}

static int heap_before(const kstate *s, int64_t a, int64_t b) {
  return s->bound[a] > s->bound[b] || (s->bound[a] == s->bound[b] && s->ids[a] < s->ids[b]);
}

static void heap_down(kstate *s, int64_t k) {
  int64_t *h = s->heap;
  for (;;) {
    int64_t l = 2 * k + 1, r = l + 1, top = k;
    if (l < s->heap_n && heap_before(s, h[l], h[top]))
      top = l;
    if (r < s->heap_n && heap_before(s, h[r], h[top]))
      top = r;
    if (top == k)
      return;
    int64_t t = h[k];
    h[k] = h[top];
    h[top] = t;
    k = top;
  }
}

static void heap_push(kstate *s, int64_t i) {
  int64_t k = s->heap_n++;
  s->heap[k] = i;
  while (k > 0 && heap_before(s, s->heap[k], s->heap[(k - 1) / 2])) {
    int64_t t = s->heap[k];
    s->heap[k] = s->heap[(k - 1) / 2];
    s->heap[(k - 1) / 2] = t;
    k = (k - 1) / 2;
  }
}

static int64_t heap_pop(kstate *s) {
  int64_t top = s->heap[0];
  s->heap[0] = s->heap[--s->heap_n];
  heap_down(s, 0);
  return top;
}

/* Rebuilds the heap from the unselected candidates (bounds changed). */
static void heap_build(kstate *s) {
  s->heap_n = 0;
  for (int64_t i = 0; i < s->n; i++)
    if (s->exact[i] >= 0)
      s->heap[s->heap_n++] = i;
  for (int64_t k = s->heap_n / 2 - 1; k >= 0; k--)
    heap_down(s, k);
}

static alq_err state_init(kstate *s, const alq_candidates *cand, const alq_centers *labeled, int64_t budget,
                          int lazy) {
  memset(s, 0, sizeof *s);
  s->n = cand->n;
  s->d = cand->dim;
  s->x = cand->embeddings;
  s->ids = cand->ids;
  s->cap = labeled->n + budget;
  int64_t n1 = s->n ? s->n : 1;
  ALQ_CHECK(alq_malloc(&s->xnorm, sizeof(float) * n1, "k-center norms"));
  ALQ_CHECK(alq_malloc(&s->exact, sizeof(float) * n1, "k-center distances"));
  ALQ_CHECK(alq_malloc(&s->seen, sizeof(int32_t) * n1, "k-center seen counts"));
  ALQ_CHECK(alq_malloc_aligned(&s->c, sizeof(float) * s->d * (s->cap ? s->cap : 1), "k-center centers"));
  ALQ_CHECK(alq_malloc(&s->cnorm, sizeof(float) * (s->cap ? s->cap : 1), "k-center center norms"));
  if (lazy) {
    ALQ_CHECK(alq_malloc(&s->bound, sizeof(float) * n1, "k-center bounds"));
    ALQ_CHECK(alq_malloc(&s->refreshed, sizeof(float) * n1, "k-center refreshed bounds"));
    ALQ_CHECK(alq_malloc(&s->heap, sizeof(int64_t) * n1, "k-center heap"));
    ALQ_CHECK(alq_malloc(&s->popped, sizeof(int64_t) * n1, "k-center evaluated list"));
    ALQ_CHECK(alq_malloc_aligned(&s->block, sizeof(float) * BLOCK_ROWS * BLOCK_CENTERS, "k-center GEMM block"));
  }
  for (int64_t i = 0; i < s->n; i++) {
    const float *xi = s->x + i * s->d;
    s->xnorm[i] = alq_dot(xi, xi, s->d);
    s->exact[i] = INFINITY;
    s->seen[i] = 0;
    if (lazy)
      s->bound[i] = s->refreshed[i] = INFINITY;
  }
  return ALQ_OK;
}

static void state_free(kstate *s) {
  free(s->xnorm);
  free(s->exact);
  free(s->seen);
  free(s->bound);
  free(s->refreshed);
  free(s->heap);
  free(s->popped);
  free(s->block);
  free(s->c);
  free(s->cnorm);
}

static void add_center(kstate *s, const float *c) {
  memcpy(s->c + s->nc * s->d, c, sizeof(float) * s->d);
  float cn = alq_dot(c, c, s->d);
  s->cnorm[s->nc++] = cn;
  s->cmax = cn > s->cmax ? cn : s->cmax;
}

/* Lowers refreshed[] of every candidate with centers [j0, j0 + bn) through
 * the bound GEMM g, then every bound with g's tolerance. */
static void refresh_block(kstate *s, const alq_bound_gemm *g, int64_t j0, int64_t bn) {
  float *out = s->block;
  for (int64_t i0 = 0; i0 < s->n; i0 += BLOCK_ROWS) {
    int64_t bm = s->n - i0 < BLOCK_ROWS ? s->n - i0 : BLOCK_ROWS;
    alq_bound_gemm_run((alq_bound_gemm *)g, s->x + i0 * s->d, bm, out);
    for (int64_t i = 0; i < bm; i++) {
      float m = s->refreshed[i0 + i];
      const float xn = s->xnorm[i0 + i], *gi = out + i * bn, *cn = s->cnorm + j0;
      for (int64_t j = 0; j < bn; j++) {
        float d2 = xn + cn[j] - 2.0f * gi[j];
        m = d2 < m ? d2 : m;
      }
      s->refreshed[i0 + i] = m > 0 ? m : 0;
    }
  }
  for (int64_t i = 0; i < s->n; i++) {
    float b = s->refreshed[i] + bound_tolerance(s, g, i);
    if (b < s->bound[i])
      s->bound[i] = b;
  }
}

/* Lowers every candidate's bound with centers [applied, nc), in GEMM
 * blocks, then rebuilds the heap.  Cannot fail: a failure on one rank
 * between two collectives would leave the others waiting, so a bound GEMM
 * that cannot be built leaves the bounds as they are (still bounds: fewer
 * candidates pruned, the same batch). */
static void refresh_bounds(kstate *s) {
  double t0 = MPI_Wtime();
  for (int64_t j0 = s->applied; j0 < s->nc; j0 += BLOCK_CENTERS) {
    int64_t bn = s->nc - j0 < BLOCK_CENTERS ? s->nc - j0 : BLOCK_CENTERS;
    alq_bound_gemm *g = NULL;
    if (alq_bound_gemm_create(&g, s->c + j0 * s->d, bn, s->d, BLOCK_ROWS))
      return; /* the heap is unchanged and still valid */
    snprintf(s->gemm_path, sizeof s->gemm_path, "%s", alq_bound_gemm_path(g));
    snprintf(s->gemm_impl, sizeof s->gemm_impl, "%s", alq_bound_gemm_impl(g));
    refresh_block(s, g, j0, bn);
    alq_bound_gemm_free(g);
  }
  s->gemm_seconds += MPI_Wtime() - t0;
  s->gemm_flops += 2.0 * (double)s->n * (double)(s->nc - s->applied) * (double)s->d;
  s->refreshes++;
  alq_log_flops(2 * s->n * (s->nc - s->applied) * s->d);
  s->applied = s->nc;
  heap_build(s);
}

/* A refresh is due when PEND new centers wait, or, before PEND have been
 * applied, as many as have been (bounds from the first steps). */
static int refresh_due(const kstate *s) {
  int64_t waiting = s->nc - s->applied;
  return waiting >= PEND || (waiting > 0 && waiting >= s->applied);
}

static void consider(proposal *best, float value, const kstate *s, int64_t i, int rank) {
  proposal p = {value, s->ids[i], rank, i};
  if (proposal_before(&p, best))
    *best = p;
}

/* This rank's farthest unselected candidate, evaluating only those whose bound
 * could still beat the best exact value so far; value -1 when none is left. */
static proposal farthest_lazy(kstate *s, int rank) {
  proposal best = {-1.0, INT64_MAX, rank, -1};
  int64_t n_popped = 0;
  while (s->heap_n > 0) {
    int64_t top = s->heap[0];
    proposal could = {s->bound[top], s->ids[top], rank, top};
    if (best.at >= 0 && !proposal_before(&could, &best))
      break; /* no remaining bound can beat the best exact value */
    heap_pop(s);
    if (s->exact[top] < 0)
      continue; /* selected: leaves the heap */
    float v = evaluate(s, top);
    s->bound[top] = v;
    s->popped[n_popped++] = top;
    consider(&best, v, s, top, rank);
  }
  for (int64_t k = 0; k < n_popped; k++)
    heap_push(s, s->popped[k]);
  return best;
}

/* The same answer, evaluating every unselected candidate (--no-prune). */
static proposal farthest_eager(kstate *s, int rank) {
  proposal best = {-1.0, INT64_MAX, rank, -1};
  for (int64_t i = 0; i < s->n; i++)
    if (s->exact[i] >= 0)
      consider(&best, evaluate(s, i), s, i, rank);
  return best;
}

/* With no centers at all, the first one is the candidate with the largest
 * hash(seed, id): a seeded draw that any rank evaluates the same way. */
static proposal first_draw(const kstate *s, uint64_t seed, int rank) {
  proposal best = {-1.0, INT64_MAX, rank, -1};
  for (int64_t i = 0; i < s->n; i++) {
    proposal p = {alq_hash_unit(seed, (uint64_t)s->ids[i], ALQ_PURPOSE_FIRST_CENTER), s->ids[i], rank, i};
    if (proposal_before(&p, &best))
      best = p;
  }
  return best;
}

static alq_err record_winner(kstate *s, const proposal *win, int rank, MPI_Comm comm, float *center) {
  if (win->owner == rank) {
    memcpy(center, s->x + win->at * s->d, sizeof(float) * s->d);
    s->exact[win->at] = -1.0f; /* selected: never proposed again */
  }
  ALQ_CHECK(alq_bcast(center, sizeof(float) * s->d, (int)win->owner, comm));
  add_center(s, center);
  return ALQ_OK;
}

typedef struct {
  double seconds, eager_seconds;
  int64_t eager_bytes, steps;
} kstats;

static alq_err print_stats(const kstats *st, const kstate *s, MPI_Comm comm) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int64_t local[4] = {s->evaluations, s->distances, st->eager_bytes, s->n}, sum[4];
  double t[2] = {st->seconds, st->eager_seconds}, tmax[2];
  ALQ_CHECK(alq_reduce(local, sum, 4, MPI_INT64_T, MPI_SUM, 0, comm));
  ALQ_CHECK(alq_reduce(t, tmax, 2, MPI_DOUBLE, MPI_MAX, 0, comm));
  if (rank != 0)
    return ALQ_OK;
  /* Row visits an eager pass would make: every unselected candidate per step. */
  double visits = 0;
  for (int64_t k = 0; k < st->steps; k++)
    visits += (double)(sum[3] - k - 1);
  fprintf(stderr,
          "kcenter: steps=%lld candidates=%lld dim=%lld seconds=%.6f streamed_bytes=%lld "
          "unpruned_steps_seconds=%.6f unpruned_bytes=%lld pruned_fraction=%.4f evaluations=%lld distances=%lld "
          "refreshes=%lld gemm_seconds=%.4f gemm_gflops=%.1f gemm_path=%s gemm_impl=%s\n",
          (long long)st->steps, (long long)sum[3], (long long)s->d, tmax[0],
          (long long)(sum[0] * s->d * (int64_t)sizeof(float)), tmax[1], (long long)sum[2],
          visits > 0 ? 1.0 - (double)sum[0] / visits : 0.0, (long long)sum[0], (long long)sum[1],
          (long long)s->refreshes, s->gemm_seconds, s->gemm_seconds > 0 ? s->gemm_flops / s->gemm_seconds / 1e9 : 0.0,
          s->gemm_path[0] ? s->gemm_path : "none", s->gemm_impl[0] ? s->gemm_impl : "none");
  return ALQ_OK;
}

/* The proposal as one MPI datatype, and the MAXLOC-like operation on it. */
static alq_err proposal_ops(MPI_Datatype *type, MPI_Op *op) {
  int rc = MPI_Type_contiguous(sizeof(proposal), MPI_BYTE, type);
  if (rc == MPI_SUCCESS)
    rc = MPI_Type_commit(type);
  if (rc == MPI_SUCCESS)
    rc = MPI_Op_create(proposal_max, 1, op);
  return rc == MPI_SUCCESS ? ALQ_OK : alq_error_set(ALQ_ERR_MPI, "cannot build the k-center proposal operation");
}

alq_err alq_kcenter_select(const alq_select_ctx *ctx, const alq_candidates *cand, const alq_centers *labeled,
                           alq_batch *batch) {
  int rank;
  MPI_Comm_rank(ctx->comm, &rank);
  memset(batch, 0, sizeof *batch);
  if (cand->n > 0 && !cand->embeddings)
    return alq_error_set(ALQ_ERR_INTERNAL, "k-center was given candidates without embeddings");
  const int lazy = ctx->prune;
  kstate s;
  float *center = NULL;
  alq_err err = state_init(&s, cand, labeled, ctx->budget, lazy);
  if (!err)
    err = alq_malloc(&center, sizeof(float) * (cand->dim ? cand->dim : 1), "k-center new center");
  if (!err)
    err = alq_malloc(&batch->ids, sizeof(int64_t) * (ctx->budget ? ctx->budget : 1), "batch ids");
  if (!err)
    err = alq_malloc(&batch->scores, sizeof(double) * (ctx->budget ? ctx->budget : 1), "batch scores");
  for (int64_t j = 0; !err && j < labeled->n; j++)
    add_center(&s, labeled->embeddings + j * s.d);
  if (!err && lazy)
    refresh_bounds(&s);
  MPI_Datatype ptype = MPI_DATATYPE_NULL;
  MPI_Op pmax = MPI_OP_NULL;
  if (!err)
    err = proposal_ops(&ptype, &pmax);
  /* The greedy inside the hierarchical reduction runs on MPI_COMM_SELF: not this phase. */
  if (!err && ctx->comm != MPI_COMM_SELF)
    err = alq_fault_point("kcenter");
  err = alq_agree(ctx->comm, err);

  kstats st = {0};
  double t0 = MPI_Wtime();
  proposal mine = {0};
  if (!err)
    mine = !s.nc ? first_draw(&s, ctx->seed, rank) : lazy ? farthest_lazy(&s, rank) : farthest_eager(&s, rank);
  st.seconds += MPI_Wtime() - t0;
  int64_t t = 0;
  for (; !err && t < ctx->budget; t++) {
    proposal win;
    err = alq_allreduce(&mine, &win, 1, ptype, pmax, ctx->comm);
    if (err || win.value < 0)
      break; /* no candidate left anywhere */
    batch->ids[t] = win.id;
    batch->scores[t] = s.nc ? sqrt(win.value) : INFINITY;
    err = record_winner(&s, &win, rank, ctx->comm, center);
    if (err || t + 1 == ctx->budget)
      continue;
    t0 = MPI_Wtime();
    if (lazy && refresh_due(&s))
      refresh_bounds(&s);
    int64_t distances_before = s.distances;
    mine = lazy ? farthest_lazy(&s, rank) : farthest_eager(&s, rank);
    double dt = MPI_Wtime() - t0;
    st.seconds += dt;
    /* An eager step against one new center streams every row once: the
     * bandwidth figure (bench/kcenter_bench.sh). */
    if (!lazy && s.distances - distances_before <= s.n) {
      st.eager_seconds += dt;
      st.eager_bytes += (s.distances - distances_before) * s.d * (int64_t)sizeof(float);
    }
    if (!lazy)
      alq_log_flops(2 * (s.distances - distances_before) * s.d);
  }
  batch->n = t;
  st.steps = t;
  if (pmax != MPI_OP_NULL)
    MPI_Op_free(&pmax);
  if (ptype != MPI_DATATYPE_NULL)
    MPI_Type_free(&ptype);
  if (!err && ctx->log_view)
    err = print_stats(&st, &s, ctx->comm);
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
