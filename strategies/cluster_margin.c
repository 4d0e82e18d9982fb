/* strategies/cluster_margin.c: Cluster-Margin (Citovsky et al., NeurIPS 2021).
 *
 * The pool is clustered once; each round the M lowest-margin items
 * (--candidates, default 10 x B) are grouped by their cluster, the groups are
 * sorted by size (smallest first, ties the lower cluster), and the batch is
 * filled round robin over them: one item from each group in turn, in a random
 * order inside a group (hash(seed, id), as the paper samples at random).
 *
 * The clustering: the paper runs average-linkage HAC on the whole pool once
 * (O(N^2) pairs).  alq runs distributed k-means (cluster/: k-means++ seeding,
 * Lloyd, at most 100 iterations), k = min(B, 500), on a hash-seeded sample of
 * the rows (labeled and unlabeled alike: about 50 k items, each row kept when
 * hash(seed, id) < 50 k / N), and assigns every candidate to its nearest
 * centroid.  k-means because it is what cluster/ computes identically at any
 * rank count in O(S k d / P), and a sample because the clusters only need to
 * cover the pool's modes.
 *
 * With --state the clusters are computed in the first round, kept in the
 * state (/clusters) and reused by every later round, as the paper clusters
 * once; without it they are a function of the rows and the seed only (not of
 * the labeled set), so the same pool and --seed give the same clusters. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alq/cluster.h"
#include "alq/comm.h"
#include "alq/dot.h"
#include "alq/hash.h"
#include "alq/strategy.h"
#include "alq/worker.h"

#define MAX_CLUSTERS 500
#define SAMPLE_PER_CLUSTER 50
#define MAX_ITER 100

typedef struct {
  int64_t d, n, cap;
  double rate;
  uint64_t seed;
  int64_t *ids;
  float *x;
} sample;

static alq_err keep_sampled(void *ctx, const alq_chunk_view *v) {
  sample *s = ctx;
  for (int64_t i = 0; i < v->count; i++) {
    int64_t id = v->rows->ids[i];
    if (alq_hash_unit(s->seed, (uint64_t)id, ALQ_PURPOSE_CLUSTER_SAMPLE) >= s->rate)
      continue;
    if (s->n == s->cap) {
      int64_t cap = 2 * s->cap + 1024;
      int64_t *ids = realloc(s->ids, sizeof(int64_t) * cap);
      if (ids)
        s->ids = ids;
      float *x = ids ? realloc(s->x, sizeof(float) * cap * s->d) : NULL;
      if (!x)
        return alq_error_set(ALQ_ERR_MEMORY, "out of memory for the Cluster-Margin sample (%lld rows)",
                             (long long)cap);
      s->x = x;
      s->cap = cap;
    }
    s->ids[s->n] = id;
    memcpy(s->x + s->n * s->d, v->rows->embeddings + i * s->d, sizeof(float) * s->d);
    s->n++;
  }
  return ALQ_OK;
}

static int cmp_id_first(const void *a, const void *b) { /* (id, index) pairs */
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* The sample as points for k-means: ids ascending within the rank (rows come
 * in row order), then across ranks (alq_candidates_id_order: a pool whose
 * ids are in any order). */
static alq_err sample_in_id_order(MPI_Comm comm, sample *s, alq_ordered_candidates *oc) {
  int64_t n1 = s->n ? s->n : 1, *order = NULL, *ids = NULL;
  float *x = NULL;
  double *zero = NULL;
  alq_err err = alq_malloc(&order, sizeof *order * 2 * n1, "cluster-margin sample order");
  if (!err)
    err = alq_malloc(&ids, sizeof *ids * n1, "cluster-margin sample ids");
  if (!err)
    err = alq_malloc_aligned(&x, sizeof *x * n1 * (s->d ? s->d : 1), "cluster-margin sample rows");
  if (!err)
    err = alq_calloc(&zero, n1, sizeof *zero, "cluster-margin sample scores");
  err = alq_agree(comm, err);
  if (!err) {
    for (int64_t i = 0; i < s->n; i++) {
      order[2 * i] = s->ids[i];
      order[2 * i + 1] = i;
    }
    qsort(order, (size_t)s->n, 2 * sizeof *order, cmp_id_first);
    for (int64_t i = 0; i < s->n; i++) {
      ids[i] = order[2 * i];
      memcpy(x + i * s->d, s->x + order[2 * i + 1] * s->d, sizeof(float) * s->d);
    }
    alq_candidates sorted = {s->n, s->d, ids, zero, x, NULL, 0, NULL, 0};
    err = alq_candidates_id_order(comm, &sorted, NULL, 0, oc);
    if (!err && !oc->owned) { /* a view of the sorted copy: keep it alive with the view */
      oc->owned = 1;
      ids = NULL, x = NULL, zero = NULL;
    }
  }
  free(order);
  free(ids);
  free(x);
  free(zero);
  return err;
}

/* Clusters a hash-seeded sample of the rows the candidates came from. */
static alq_err cluster_rows(const alq_select_ctx *ctx, int64_t k, alq_kmeans *m) {
  if (!ctx->rows)
    return alq_error_set(ALQ_ERR_INTERNAL, "cluster-margin needs the rows its candidates came from");
  alq_stream_request sr = *ctx->rows;
  sr.fields = ALQ_FIELD_EMBEDDINGS;
  sr.progress = 0;
  int64_t mine = sr.shard.hi - sr.shard.lo, rows = 0;
  ALQ_CHECK(alq_allreduce(&mine, &rows, 1, MPI_INT64_T, MPI_SUM, ctx->comm));
  sample s = {sr.meta->dim, 0, 0, 0, ctx->seed, NULL, NULL};
  s.rate = rows > 0 ? (double)(SAMPLE_PER_CLUSTER * k) / (double)rows : 1.0;
  alq_stream_result res;
  memset(&res, 0, sizeof res);
  alq_err err = alq_agree(ctx->comm, alq_worker_stream(&sr, keep_sampled, &s, &res));
  free(res.labeled_found);
  alq_ordered_candidates oc = {0};
  if (!err)
    err = sample_in_id_order(ctx->comm, &s, &oc);
  alq_points p = {ctx->comm, s.d, oc.c.n, oc.c.ids, oc.c.embeddings, 0, NULL, NULL};
  if (!err)
    err = alq_kmeans_fit(&p, k, MAX_ITER, ctx->seed, m, NULL, NULL);
  alq_ordered_candidates_free(&oc);
  free(s.ids);
  free(s.x);
  return err;
}

typedef struct {
  int64_t id;
  double score;
  int64_t cluster;
  int64_t group; /* candidates in its cluster */
  double key;    /* the random order inside a cluster */
} cand_rec;

/* Groups smallest first (ties: lower cluster), then the random key, then id. */
static int rec_cmp(const void *pa, const void *pb) {
  const cand_rec *a = pa, *b = pb;
  if (a->group != b->group)
    return a->group < b->group ? -1 : 1;
  if (a->cluster != b->cluster)
    return a->cluster < b->cluster ? -1 : 1;
  if (a->key != b->key)
    return a->key < b->key ? -1 : 1;
  return a->id < b->id ? -1 : a->id > b->id;
}

/* Every rank's candidates with their clusters, on every rank. */
static alq_err gather_candidates(const alq_select_ctx *ctx, const alq_candidates *cand, const alq_kmeans *m,
                                 cand_rec **all, int64_t *n_all) {
  cand_rec *mine = NULL;
  int32_t *label = NULL;
  int64_t n1 = cand->n ? cand->n : 1;
  alq_err err = alq_malloc(&mine, sizeof *mine * n1, "cluster-margin candidates");
  if (!err)
    err = alq_malloc(&label, sizeof *label * n1, "cluster-margin candidate clusters");
  ALQ_CHECK(alq_agree(ctx->comm, err));
  alq_kmeans_assign(m, cand->embeddings, cand->n, label, NULL);
  for (int64_t i = 0; i < cand->n; i++)
    mine[i] = (cand_rec){cand->ids[i], cand->scores[i], label[i], 0,
                         alq_hash_unit(ctx->seed, (uint64_t)cand->ids[i], ALQ_PURPOSE_CLUSTER_PICK)};
  free(label);
  unsigned char *buf = NULL;
  int64_t bytes = 0;
  err = alq_allgatherv_bytes(mine, (int64_t)sizeof *mine * cand->n, ctx->comm, &buf, &bytes);
  free(mine);
  *all = (cand_rec *)buf;
  *n_all = bytes / (int64_t)sizeof(cand_rec);
  return err;
}

/* Round robin over the sorted groups: pass r takes the r-th item of every
 * group that has one. */
static void round_robin(const cand_rec *r, int64_t n, int64_t budget, alq_batch *batch) {
  batch->n = 0;
  for (int64_t pass = 0; batch->n < budget; pass++) {
    int64_t took = 0;
    for (int64_t i = 0; i < n && batch->n < budget;) {
      int64_t g = r[i].group;
      if (pass < g) {
        batch->ids[batch->n] = r[i + pass].id;
        batch->scores[batch->n++] = r[i + pass].score;
        took++;
      }
      i += g;
    }
    if (!took)
      return;
  }
}

/* The round state's clusters as a model (copied: the model owns its arrays). */
static alq_err saved_model(const alq_saved_clusters *saved, alq_kmeans *m) {
  memset(m, 0, sizeof *m);
  m->k = saved->k;
  m->d = saved->d;
  ALQ_CHECK(alq_malloc_aligned(&m->c, sizeof(float) * m->k * m->d, "cluster-margin centroids"));
  ALQ_CHECK(alq_malloc(&m->cnorm, sizeof(float) * m->k, "cluster-margin centroid norms"));
  ALQ_CHECK(alq_calloc(&m->size, m->k, sizeof(int64_t), "cluster-margin cluster sizes"));
  memcpy(m->c, saved->c, sizeof(float) * m->k * m->d);
  for (int64_t j = 0; j < m->k; j++)
    m->cnorm[j] = alq_dot(m->c + j * m->d, m->c + j * m->d, m->d);
  return ALQ_OK;
}

/* The clusters: the round state's when it has them (for these rows' width),
 * else computed now and handed back in batch->clusters for the state. */
static alq_err clusters_for(const alq_select_ctx *ctx, int64_t dim, alq_kmeans *m, alq_batch *batch) {
  if (ctx->saved && ctx->saved->k > 0 && ctx->saved->d == dim)
    return alq_agree(ctx->comm, saved_model(ctx->saved, m));
  int64_t k = ctx->budget < MAX_CLUSTERS ? ctx->budget : MAX_CLUSTERS;
  ALQ_CHECK(cluster_rows(ctx, k, m));
  ALQ_CHECK(alq_agree(ctx->comm, alq_malloc(&batch->clusters.c, sizeof(float) * (m->k ? m->k : 1) * m->d,
                                            "cluster-margin clusters for the state")));
  memcpy(batch->clusters.c, m->c, sizeof(float) * m->k * m->d);
  batch->clusters.k = m->k;
  batch->clusters.d = m->d;
  return ALQ_OK;
}

static alq_err cluster_margin_select(const alq_select_ctx *ctx, const alq_candidates *cand,
                                     const alq_centers *labeled, alq_batch *batch) {
  (void)labeled;
  memset(batch, 0, sizeof *batch);
  alq_kmeans m = {0};
  cand_rec *all = NULL;
  int64_t n_all = 0;
  alq_err err = clusters_for(ctx, cand->dim, &m, batch);
  if (!err)
    err = gather_candidates(ctx, cand, &m, &all, &n_all);
  int64_t *size = NULL;
  if (!err) {
    err = alq_calloc(&size, m.k ? m.k : 1, sizeof *size, "cluster-margin group sizes");
    if (!err)
      err = alq_malloc(&batch->ids, sizeof(int64_t) * (ctx->budget ? ctx->budget : 1), "batch ids");
    if (!err)
      err = alq_malloc(&batch->scores, sizeof(double) * (ctx->budget ? ctx->budget : 1), "batch scores");
    err = alq_agree(ctx->comm, err);
  }
  if (!err) {
    for (int64_t i = 0; i < n_all; i++)
      size[all[i].cluster]++;
    for (int64_t i = 0; i < n_all; i++)
      all[i].group = size[all[i].cluster];
    qsort(all, (size_t)n_all, sizeof *all, rec_cmp);
    round_robin(all, n_all, ctx->budget, batch);
  }
  free(size);
  free(all);
  alq_kmeans_free(&m);
  if (err)
    alq_batch_free(batch);
  return err;
}

/* The sample of cluster_rows: about SAMPLE_PER_CLUSTER k / P rows a rank
 * (shards are even), bounded with four standard deviations of the binomial
 * count; keep_sampled's doubling holds up to 2n + 1024 rows, 3n + 1024 while
 * realloc copies the rows. */
static int64_t sample_bytes(const alq_select_shape *sh, int64_t k) {
  double e = (double)(SAMPLE_PER_CLUSTER * k) / (sh->ranks > 0 ? sh->ranks : 1);
  int64_t n = (int64_t)(e + 4.0 * sqrt(e) + 16.0);
  n = n < sh->rows ? n : sh->rows;
  return (3 * n + 1024) * (8 + 4 * sh->dim) + alq_kmeans_bytes(n, 0, k, sh->dim);
}

/* The sample pass (a read's ids, flags and rows) and k-means, the centroids
 * for the state, gather_candidates' records of every rank, the group sizes
 * and the batch. */
static int64_t cluster_margin_select_bytes(const alq_select_shape *sh) {
  int64_t k = sh->budget < MAX_CLUSTERS ? sh->budget : MAX_CLUSTERS, n1 = sh->n ? sh->n : 1;
  int64_t cluster = sh->chunk_rows * (8 + 1 + 4 * sh->dim) + sample_bytes(sh, k) + 4 * k * sh->dim;
  int64_t gather = n1 * ((int64_t)sizeof(cand_rec) + 4) + sh->n_global * (int64_t)sizeof(cand_rec);
  return cluster + gather + 8 * k + 16 * sh->budget;
}

const alq_strategy alq_strategy_cluster_margin = {
    .name = "cluster-margin",
    .summary = "Cluster-Margin: the M lowest-margin items, round robin over their k-means clusters, smallest first",
    .needs = ALQ_NEEDS_PROBS | ALQ_NEEDS_EMBEDDINGS,
    .score = alq_margin_score,
    .select = cluster_margin_select,
    .select_bytes = cluster_margin_select_bytes,
};
