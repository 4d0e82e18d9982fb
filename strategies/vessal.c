/* strategies/vessal.c: VeSSAL (Saran et al., ICML 2023), volume sampling for
 * streaming active learning, over the candidates' embeddings u (the pool's
 * /embeddings, or a model's penultimate layer with --model).
 *
 * One pass over the candidates in global id order; at stream position i
 * (0-based, of N) with `a` items accepted so far, as the authors' code does:
 *   q     = u^T A^-1 u                      (A^-1 starts as 100 I)
 *   rate  = (B - a) / (N - i)               (the target rate still needed)
 *   Sigma = (i/(i+1)) Sigma + (1/(i+1)) u u^T   (running covariance)
 *   zeta  = rate / tr(Sigma A^-1)
 *   accept when hash_unit(seed, id, ALQ_PURPOSE_VESSAL) < zeta q, then
 *   A^-1 -= (A^-1 u)(A^-1 u)^T / (1 + q)   (Sherman-Morrison)
 * and stops once B items are accepted.  Fewer than B after the whole pass:
 * the rest are the unaccepted candidates with the largest `random` key
 * (hash_unit(seed, id, 1)), as the reference fills at random.
 *
 * Same batch at any rank count: the pass order is a function of the
 * candidates alone.  The candidates, in global id order, are cut into fixed
 * windows of WINDOW items by global position (not by rank); each window's
 * rows are gathered to every rank (one allgatherv, in rank order, which is id
 * order because shards are contiguous id ranges) and every rank runs the same
 * sequential code on the same rows: A^-1 and Sigma are float32 matrices
 * updated element by element in a fixed order, every dot product (A^-1 u,
 * u.w, tr(Sigma A^-1) as one d*d dot) is alq_dot, and no floating-point value
 * is ever reduced across ranks.  The acceptance draw is keyed by the item's
 * id.  The cost is the pass itself, O(N d^2) on every rank whatever P: the
 * stream is sequential by nature, ranks share only the reading. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alq/cluster.h"
#include "alq/comm.h"
#include "alq/dot.h"
#include "alq/hash.h"
#include "alq/scored.h"
#include "alq/strategy.h"

/* Candidates per window: large enough that the allgather's latency is small
 * against its d^2 work per item, small enough to bound the buffer. */
#define WINDOW 4096
/* The reference's initial A^-1 = 100 I (cov_inv_scaling). */
#define INV_SCALE 100.0f

typedef struct {
  int64_t d, n_total, budget;
  float *ainv, *sigma; /* d x d, identical on every rank */
  float *w;            /* A^-1 u */
  int64_t accepted;
  int64_t *ids;        /* the accepted ids, in order */
  double *scores;      /* their acceptance probabilities zeta q */
} vstate;

typedef struct {
  int64_t first;        /* global stream position of this rank's first candidate */
  double *prob;         /* zeta q of each local candidate when it passed (0 if never reached) */
  unsigned char *taken; /* accepted */
} vlocal;

static alq_err local_init(const alq_candidates *cand, vlocal *l) {
  memset(l, 0, sizeof *l);
  int64_t n1 = cand->n ? cand->n : 1;
  ALQ_CHECK(alq_calloc(&l->prob, n1, sizeof(double), "vessal probabilities"));
  ALQ_CHECK(alq_calloc(&l->taken, n1, 1, "vessal accepted flags"));
  /* A strategy without a score gets its candidates in id order (all scores 0,
   * ties by id): the stream order needs nothing else. */
  for (int64_t i = 1; i < cand->n; i++)
    if (cand->ids[i] <= cand->ids[i - 1])
      return alq_error_set(ALQ_ERR_INTERNAL, "vessal: candidates are not in id order");
  return ALQ_OK;
}

static void local_free(vlocal *l) {
  free(l->prob);
  free(l->taken);
}

/* Where this rank's candidates start in the global stream, and N.  Checks
 * that ranks hold increasing id ranges, which makes rank order id order. */
static alq_err stream_layout(MPI_Comm comm, const alq_candidates *cand, int64_t *first,
                             int64_t *total) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int64_t mine[3] = {cand->n, cand->n ? cand->ids[0] : 0, cand->n ? cand->ids[cand->n - 1] : 0};
  int64_t *all = NULL;
  ALQ_CHECK(alq_agree(comm, alq_malloc(&all, sizeof(int64_t) * 3 * size, "vessal layout")));
  alq_err err = alq_allgather_bytes(mine, sizeof mine, all, comm);
  int64_t pos = 0, last = INT64_MIN;
  for (int r = 0; !err && r < size; r++) {
    if (r == rank)
      *first = pos;
    pos += all[3 * r];
    if (all[3 * r] == 0)
      continue;
    if (all[3 * r + 1] <= last)
      err = alq_error_set(ALQ_ERR_INTERNAL, "vessal: rank %d's candidates do not follow the lower ranks' in id order", r);
    last = all[3 * r + 2];
  }
  *total = pos;
  free(all);
  return err;
}

static alq_err state_init(vstate *s, int64_t d, int64_t n_total, int64_t budget) {
  memset(s, 0, sizeof *s);
  s->d = d;
  s->n_total = n_total;
  s->budget = budget;
  ALQ_CHECK(alq_malloc_aligned(&s->ainv, sizeof(float) * d * d, "vessal inverse"));
  ALQ_CHECK(alq_malloc_aligned(&s->sigma, sizeof(float) * d * d, "vessal covariance"));
  ALQ_CHECK(alq_malloc_aligned(&s->w, sizeof(float) * d, "vessal A^-1 u"));
  ALQ_CHECK(alq_malloc(&s->ids, sizeof(int64_t) * (budget ? budget : 1), "vessal accepted ids"));
  ALQ_CHECK(alq_malloc(&s->scores, sizeof(double) * (budget ? budget : 1), "vessal accepted scores"));
  memset(s->sigma, 0, sizeof(float) * d * d);
  memset(s->ainv, 0, sizeof(float) * d * d);
  for (int64_t j = 0; j < d; j++)
    s->ainv[j * d + j] = INV_SCALE;
  return ALQ_OK;
}

static void state_free(vstate *s) {
  free(s->ainv);
  free(s->sigma);
  free(s->w);
  free(s->ids);
  free(s->scores);
}

/* Item at stream position i: returns zeta q and whether it is accepted. */
static double consider(vstate *s, int64_t i, int64_t id, const float *u, uint64_t seed, int *accept) {
  const int64_t d = s->d;
  alq_dot_rows(u, s->ainv, d, d, s->w); /* A^-1 is symmetric: row j . u = (A^-1 u)_j */
  float q = alq_dot(u, s->w, d);
  double rate = (double)(s->budget - s->accepted) / (double)(s->n_total - i);
  float keep = (float)((double)i / (double)(i + 1)), add = (float)(1.0 / (double)(i + 1));
  for (int64_t j = 0; j < d; j++)
    for (int64_t k = 0; k < d; k++)
      s->sigma[j * d + k] = keep * s->sigma[j * d + k] + add * (u[j] * u[k]);
  double trace = alq_dot(s->sigma, s->ainv, d * d); /* both symmetric: sum_jk S_jk Ainv_jk */
  double p = trace > 0 ? fabs(rate / trace) * (double)q : 0;
  *accept = alq_hash_unit(seed, (uint64_t)id, ALQ_PURPOSE_VESSAL) < p;
  if (*accept) {
    float scale = 1.0f / (1.0f + q);
    for (int64_t j = 0; j < d; j++)
      for (int64_t k = 0; k < d; k++)
        s->ainv[j * d + k] -= (s->w[j] * s->w[k]) * scale;
    s->ids[s->accepted] = id;
    s->scores[s->accepted++] = p;
  }
  return p;
}

/* Gathers window [lo, hi) of the stream to every rank (ids, then rows). */
static alq_err gather_window(MPI_Comm comm, const alq_candidates *cand, const vlocal *l, int64_t lo, int64_t hi,
                             unsigned char *send, unsigned char **recv, int64_t *n_recv) {
  const int64_t d = cand->dim, rec = 8 + 4 * d;
  int64_t a = lo > l->first ? lo : l->first, b = hi < l->first + cand->n ? hi : l->first + cand->n, k = 0;
  for (int64_t g = a; g < b; g++, k++) {
    int64_t i = g - l->first;
    memcpy(send + k * rec, &cand->ids[i], 8);
    memcpy(send + k * rec + 8, cand->embeddings + i * d, 4 * d);
  }
  int64_t total = 0;
  ALQ_CHECK(alq_allgatherv_bytes(send, k * rec, comm, recv, &total));
  *n_recv = total / rec;
  return ALQ_OK;
}

/* The pass: every rank processes every window identically. */
static alq_err run_pass(const alq_select_ctx *ctx, const alq_candidates *cand, vlocal *l, vstate *s) {
  const int64_t d = cand->dim, rec = 8 + 4 * d;
  unsigned char *send = NULL, *recv = NULL;
  float *u = NULL;
  alq_err err = alq_malloc(&send, rec * WINDOW, "vessal window");
  if (!err)
    err = alq_malloc_aligned(&u, sizeof(float) * (d ? d : 1), "vessal row");
  err = alq_agree(ctx->comm, err);
  for (int64_t lo = 0; !err && lo < s->n_total && s->accepted < s->budget; lo += WINDOW) {
    int64_t hi = s->n_total - lo < WINDOW ? s->n_total : lo + WINDOW, n = 0;
    err = alq_agree(ctx->comm, gather_window(ctx->comm, cand, l, lo, hi, send, &recv, &n));
    for (int64_t k = 0; !err && k < n && s->accepted < s->budget; k++) {
      int64_t id, g = lo + k;
      memcpy(&id, recv + k * rec, 8);
      memcpy(u, recv + k * rec + 8, 4 * d);
      int accept = 0;
      double p = consider(s, g, id, u, ctx->seed, &accept);
      if (g >= l->first && g < l->first + cand->n) {
        l->prob[g - l->first] = p;
        l->taken[g - l->first] = (unsigned char)accept;
      }
    }
    free(recv);
    recv = NULL;
  }
  free(send);
  free(u);
  return err;
}

static int cmp_id(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Fewer than B accepted: the unaccepted candidates with the largest random
 * key complete the batch (scores: their zeta q when they passed). */
static alq_err fill(const alq_select_ctx *ctx, const alq_candidates *cand, const vlocal *l, vstate *s) {
  int64_t need = s->budget - s->accepted, n = 0, n_top = 0;
  alq_scored *local = NULL, *top = NULL;
  ALQ_CHECK(alq_agree(ctx->comm, alq_malloc(&local, sizeof *local * (cand->n ? cand->n : 1), "vessal fill")));
  for (int64_t i = 0; i < cand->n; i++)
    if (!l->taken[i])
      local[n++] = (alq_scored){alq_hash_unit(ctx->seed, (uint64_t)cand->ids[i], ALQ_PURPOSE_RANDOM_SCORE), cand->ids[i]};
  alq_scored_sort(local, n);
  alq_err err = alq_scored_global_topk(ctx->comm, local, n < need ? n : need, need, &top, &n_top);
  /* Each pick's probability lives on its owner: exact, it is one value. */
  double *p = NULL;
  if (!err)
    err = alq_agree(ctx->comm, alq_calloc(&p, n_top ? n_top : 1, sizeof *p, "vessal fill scores"));
  for (int64_t t = 0; !err && t < n_top; t++) {
    const int64_t *at = bsearch(&top[t].id, cand->ids, cand->n, sizeof(int64_t), cmp_id);
    if (at)
      p[t] = l->prob[at - cand->ids];
  }
  if (!err)
    err = alq_allreduce(MPI_IN_PLACE, p, n_top, MPI_DOUBLE, MPI_MAX, ctx->comm);
  for (int64_t t = 0; !err && t < n_top; t++) {
    s->ids[s->accepted] = top[t].id;
    s->scores[s->accepted++] = p[t];
  }
  free(local);
  free(top);
  free(p);
  return err;
}

static alq_err vessal_select_ordered(const alq_select_ctx *ctx, const alq_candidates *cand, const alq_centers *labeled,
                             alq_batch *batch) {
  (void)labeled; /* the reference's stream starts from A^-1 = 100 I, not from the labeled set */
  memset(batch, 0, sizeof *batch);
  if (cand->n > 0 && !cand->embeddings)
    return alq_error_set(ALQ_ERR_INTERNAL, "vessal was given candidates without embeddings");
  vlocal l;
  vstate s;
  memset(&s, 0, sizeof s);
  alq_err err = alq_agree(ctx->comm, local_init(cand, &l));
  int64_t total = 0;
  if (!err)
    err = alq_agree(ctx->comm, stream_layout(ctx->comm, cand, &l.first, &total));
  if (!err)
    err = alq_agree(ctx->comm, state_init(&s, cand->dim, total, ctx->budget));
  if (!err)
    err = run_pass(ctx, cand, &l, &s);
  if (!err && s.accepted < s.budget)
    err = fill(ctx, cand, &l, &s);
  if (!err) {
    batch->n = s.accepted;
    batch->ids = s.ids;
    batch->scores = s.scores;
    s.ids = NULL;
    s.scores = NULL;
  }
  state_free(&s);
  local_free(&l);
  return err;
}

/* The stream visits candidates in global id order: ids ascending across ranks first. */
static alq_err vessal_select(const alq_select_ctx *ctx, const alq_candidates *cand, const alq_centers *labeled,
                             alq_batch *batch) {
  alq_ordered_candidates oc;
  ALQ_CHECK(alq_candidates_id_order(ctx->comm, cand, NULL, 0, &oc));
  alq_err err = vessal_select_ordered(ctx, &oc.c, labeled, batch);
  alq_ordered_candidates_free(&oc);
  return err;
}

/* local_init's arrays, the d x d inverse and covariance, a window sent and
 * received (at most WINDOW rows of all ranks), the rank layout, and fill's
 * keys, picks and scores. */
static int64_t vessal_select_bytes(const alq_select_shape *sh) {
  int64_t n1 = sh->n ? sh->n : 1, d = sh->dim, rec = 8 + 4 * d;
  int64_t state = 2 * 4 * d * d + 4 * d + 16 * sh->budget;
  int64_t pass = 2 * WINDOW * rec + 4 * d + 24 * (int64_t)sh->ranks;
  int64_t fill = 16 * n1 + 24 * sh->budget;
  return n1 * (8 + 1) + state + pass + fill;
}

const alq_strategy alq_strategy_vessal = {
    .name = "vessal",
    .summary = "VeSSAL: one streaming pass, accept with probability zeta u^T A^-1 u (volume sampling)",
    .needs = ALQ_NEEDS_EMBEDDINGS,
    .score = NULL,
    .select = vessal_select,
    .select_bytes = vessal_select_bytes,
};
