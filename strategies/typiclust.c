/* strategies/typiclust.c: TypiClust (Hacohen et al., ICML 2022), the most
 * typical item of each of the least-covered clusters.
 *
 * As the reference implementation does:
 *   1. K = min(|L| + B, 500) clusters of the whole pool, labeled items
 *      included, by k-means (cluster/: k-means++ seeding, Lloyd, at most 100
 *      iterations; the same centroids at any rank count);
 *   2. clusters of 5 or fewer items are dropped; the others are ordered by
 *      fewest labeled items, then larger size (then lower index);
 *   3. pick i of the batch comes from the next cluster of that order, round
 *      robin: among its unlabeled items not yet picked, the one of highest
 *      typicality 1 / (mean squared L2 distance to its k nearest neighbours
 *      in the same set + 1e-5), k = min(20, m / 2) for m such items.  Squared
 *      distances, as the reference's FAISS IndexFlatL2 returns them; ties:
 *      the lower id.
 * Where the reference would fail (a cluster with no unlabeled item left, or
 * no cluster above 5 items), alq skips the exhausted cluster, and uses the
 * small clusters, in the same order, once the others are exhausted.  A
 * cluster's only remaining item is picked with score 0.
 *
 * Per pick, the cluster's remaining members (id and row) are allgathered
 * and each rank computes the typicality of its own members: O(m^2 d / P). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alq/cluster.h"
#include "alq/comm.h"
#include "alq/dot.h"
#include "alq/logview.h"
#include "alq/strategy.h"

#define MAX_CLUSTERS 500
#define MIN_CLUSTER_SIZE 5
#define K_NN 20
#define MAX_ITER 100

typedef struct {
  int64_t n, d, k;
  const int64_t *ids;
  const float *x;
  int32_t *label;     /* cluster of each local candidate */
  int64_t *start;     /* k + 1: local members of cluster j are member[start[j] .. start[j+1]) */
  int64_t *member;    /* local indices, by cluster, in id order */
  unsigned char *taken;
  int64_t *left;      /* unlabeled items not yet picked, per cluster (global) */
  int64_t *order;     /* clusters to visit: above MIN_CLUSTER_SIZE first, then the small ones */
  int64_t n_large, n_order;
} tc_state;

typedef struct {
  int64_t size, labeled, j;
} cluster_key;

static int key_cmp(const void *pa, const void *pb) {
  const cluster_key *a = pa, *b = pb;
  if (a->labeled != b->labeled)
    return a->labeled < b->labeled ? -1 : 1;
  if (a->size != b->size)
    return a->size > b->size ? -1 : 1;
  return a->j < b->j ? -1 : a->j > b->j;
}

/* Clusters in visiting order: large ones (> MIN_CLUSTER_SIZE items) by the
 * reference's key, then the small ones by the same key. */
static alq_err order_clusters(tc_state *s, const alq_kmeans *m, const int32_t *shared_label, int64_t n_shared) {
  cluster_key *keys = NULL;
  ALQ_CHECK(alq_calloc(&keys, m->k ? m->k : 1, sizeof *keys, "typiclust cluster keys"));
  for (int64_t j = 0; j < m->k; j++)
    keys[j] = (cluster_key){m->size[j], 0, j};
  for (int64_t i = 0; i < n_shared; i++)
    keys[shared_label[i]].labeled++;
  qsort(keys, (size_t)m->k, sizeof *keys, key_cmp);
  s->n_order = 0;
  for (int pass = 0; pass < 2; pass++)
    for (int64_t r = 0; r < m->k; r++)
      if ((keys[r].size > MIN_CLUSTER_SIZE) == (pass == 0))
        s->order[s->n_order++] = keys[r].j;
  s->n_large = 0;
  for (int64_t j = 0; j < m->k; j++) {
    s->left[j] = m->size[j];
    s->n_large += m->size[j] > MIN_CLUSTER_SIZE;
  }
  for (int64_t i = 0; i < n_shared; i++)
    s->left[shared_label[i]]--;
  free(keys);
  return ALQ_OK;
}

/* Local members grouped by cluster (a counting sort, id order kept). */
static void group_members(tc_state *s) {
  memset(s->start, 0, sizeof(int64_t) * (s->k + 1));
  for (int64_t i = 0; i < s->n; i++)
    s->start[s->label[i] + 1]++;
  for (int64_t j = 0; j < s->k; j++)
    s->start[j + 1] += s->start[j];
  int64_t *fill = s->order + s->k; /* scratch: k slots after the order */
  memcpy(fill, s->start, sizeof(int64_t) * s->k);
  for (int64_t i = 0; i < s->n; i++)
    s->member[fill[s->label[i]]++] = i;
}

/* The next cluster with an item left, round robin in the visiting order:
 * the large clusters while any has one, then the small ones; -1 if none. */
static int64_t next_cluster(const tc_state *s, int64_t *pos) {
  int64_t from = 0, count = s->n_large;
  int any = 0;
  for (int64_t r = 0; r < s->n_large; r++)
    any |= s->left[s->order[r]] > 0;
  if (!any) {
    from = s->n_large;
    count = s->n_order - s->n_large;
  }
  for (int64_t tries = 0; tries < count; tries++) {
    int64_t j = s->order[from + (*pos)++ % count];
    if (s->left[j] > 0)
      return j;
  }
  return -1;
}

/* Every rank's remaining members of cluster j: int64 id then d floats each. */
static alq_err gather_cluster(const tc_state *s, int64_t j, MPI_Comm comm, unsigned char **all, int64_t *m) {
  const int64_t rec = sizeof(int64_t) + sizeof(float) * s->d;
  int64_t mine = 0;
  for (int64_t r = s->start[j]; r < s->start[j + 1]; r++)
    mine += !s->taken[s->member[r]];
  unsigned char *buf = NULL;
  ALQ_CHECK(alq_agree(comm, alq_malloc(&buf, (size_t)(rec * (mine ? mine : 1)), "typiclust cluster rows")));
  unsigned char *p = buf;
  for (int64_t r = s->start[j]; r < s->start[j + 1]; r++) {
    int64_t i = s->member[r];
    if (s->taken[i])
      continue;
    memcpy(p, &s->ids[i], sizeof(int64_t));
    memcpy(p + sizeof(int64_t), s->x + i * s->d, sizeof(float) * s->d);
    p += rec;
  }
  int64_t total = 0;
  alq_err err = alq_allgatherv_bytes(buf, rec * mine, comm, all, &total);
  free(buf);
  *m = total / rec;
  return err;
}

/* Inserts v into the ascending list best[0..*len) capped at k. */
static void keep_smallest(float *best, int64_t *len, int64_t k, float v) {
  if (*len == k && v >= best[k - 1])
    return;
  int64_t at = *len < k ? (*len)++ : k - 1;
  while (at > 0 && best[at - 1] > v) {
    best[at] = best[at - 1];
    at--;
  }
  best[at] = v;
}

/* Typicality of row x (id) among the m gathered members. */
static double typicality(const float *x, int64_t id, const unsigned char *all, int64_t m, int64_t d, int64_t k) {
  const int64_t rec = sizeof(int64_t) + sizeof(float) * d;
  float best[K_NN], xn = alq_dot(x, x, d);
  int64_t len = 0;
  for (int64_t r = 0; r < m; r++) {
    int64_t other;
    memcpy(&other, all + r * rec, sizeof other);
    if (other == id)
      continue;
    const float *y = (const float *)(all + r * rec + sizeof(int64_t)); /* rec keeps floats 4-aligned */
    float d2 = xn + alq_dot(y, y, d) - 2.0f * alq_dot(x, y, d);
    keep_smallest(best, &len, k, d2 > 0 ? d2 : 0);
  }
  double sum = 0;
  for (int64_t t = 0; t < len; t++)
    sum += best[t];
  return 1.0 / (sum / (double)len + 1e-5);
}

/* The most typical remaining member of cluster j over all ranks; marks it. */
static alq_err pick_in(tc_state *s, int64_t j, MPI_Comm comm, int64_t *id_out, double *score) {
  unsigned char *all = NULL;
  int64_t m = 0;
  ALQ_CHECK(gather_cluster(s, j, comm, &all, &m));
  int64_t k = m / 2 < K_NN ? m / 2 : K_NN;
  double best = -1;
  int64_t best_id = INT64_MAX;
  for (int64_t r = s->start[j]; r < s->start[j + 1]; r++) {
    int64_t i = s->member[r];
    if (s->taken[i])
      continue;
    double t = k > 0 ? typicality(s->x + i * s->d, s->ids[i], all, m, s->d, k) : 0.0;
    if (t > best) { /* members in id order: strict keeps the lower id */
      best = t;
      best_id = s->ids[i];
    }
  }
  free(all);
  alq_log_flops(2 * (s->start[j + 1] - s->start[j]) * m * s->d);
  double top;
  ALQ_CHECK(alq_allreduce(&best, &top, 1, MPI_DOUBLE, MPI_MAX, comm));
  int64_t id = best == top ? best_id : INT64_MAX;
  ALQ_CHECK(alq_allreduce(&id, id_out, 1, MPI_INT64_T, MPI_MIN, comm));
  for (int64_t r = s->start[j]; r < s->start[j + 1]; r++)
    if (s->ids[s->member[r]] == *id_out)
      s->taken[s->member[r]] = 1;
  s->left[j]--;
  *score = top;
  return ALQ_OK;
}

static alq_err state_alloc(tc_state *s, const alq_candidates *cand, int64_t k) {
  memset(s, 0, sizeof *s);
  s->n = cand->n;
  s->d = cand->dim;
  s->ids = cand->ids;
  s->x = cand->embeddings;
  int64_t n1 = s->n ? s->n : 1;
  ALQ_CHECK(alq_malloc(&s->label, sizeof(int32_t) * n1, "typiclust labels"));
  ALQ_CHECK(alq_malloc(&s->member, sizeof(int64_t) * n1, "typiclust members"));
  ALQ_CHECK(alq_calloc(&s->taken, n1, 1, "typiclust picked flags"));
  ALQ_CHECK(alq_malloc(&s->start, sizeof(int64_t) * (k + 1), "typiclust cluster starts"));
  ALQ_CHECK(alq_malloc(&s->left, sizeof(int64_t) * (k ? k : 1), "typiclust cluster counts"));
  return alq_malloc(&s->order, sizeof(int64_t) * 2 * (k ? k : 1), "typiclust cluster order");
}

static void state_free(tc_state *s) {
  free(s->label);
  free(s->member);
  free(s->taken);
  free(s->start);
  free(s->left);
  free(s->order);
}

static alq_err typiclust_select(const alq_select_ctx *ctx, const alq_candidates *cand, const alq_centers *labeled,
                                alq_batch *batch) {
  memset(batch, 0, sizeof *batch);
  int64_t k = labeled->n + ctx->budget < MAX_CLUSTERS ? labeled->n + ctx->budget : MAX_CLUSTERS;
  tc_state s;
  int32_t *shared_label = NULL;
  alq_kmeans m = {0};
  alq_err err = state_alloc(&s, cand, k);
  if (!err)
    err = alq_malloc(&shared_label, sizeof(int32_t) * (labeled->n ? labeled->n : 1), "typiclust labeled clusters");
  if (!err)
    err = alq_malloc(&batch->ids, sizeof(int64_t) * (ctx->budget ? ctx->budget : 1), "batch ids");
  if (!err)
    err = alq_malloc(&batch->scores, sizeof(double) * (ctx->budget ? ctx->budget : 1), "batch scores");
  err = alq_agree(ctx->comm, err);
  alq_points pts = {ctx->comm, cand->dim, cand->n, cand->ids, cand->embeddings, labeled->n, labeled->ids,
                    labeled->embeddings};
  if (!err)
    err = alq_kmeans_fit(&pts, k, MAX_ITER, ctx->seed, &m, s.label, shared_label);
  if (!err) {
    s.k = m.k;
    group_members(&s);
    err = alq_agree(ctx->comm, order_clusters(&s, &m, shared_label, labeled->n));
  }
  int64_t t = 0, pos = 0;
  for (; !err && t < ctx->budget; t++) {
    int64_t j = next_cluster(&s, &pos);
    if (j < 0)
      break; /* no unlabeled item left */
    err = pick_in(&s, j, ctx->comm, &batch->ids[t], &batch->scores[t]);
  }
  batch->n = t;
  alq_kmeans_free(&m);
  free(shared_label);
  state_free(&s);
  if (err)
    alq_batch_free(batch);
  return err;
}

const alq_strategy alq_strategy_typiclust = {
    .name = "typiclust",
    .summary = "TypiClust: the most typical item (1 / mean distance to 20 neighbours) of the least-covered k-means clusters",
    .needs = ALQ_NEEDS_EMBEDDINGS,
    .score = NULL,
    .select = typiclust_select,
};
