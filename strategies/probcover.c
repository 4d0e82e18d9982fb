/* strategies/probcover.c: ProbCover (Yehuda et al., NeurIPS 2022), greedy
 * maximum coverage of the delta-ball graph over the candidates (the
 * unlabeled items of the pool or of the AnchorAL subpool).
 *
 *   edge i -> j  when ||x_i - x_j|| <= delta (self-loops included);
 *   j is covered once a labeled item or a picked item has an edge to it;
 *   each pick is the candidate with the most edges into uncovered items
 *   (ties: lower id); its out-neighbours become covered.
 * With every candidate covered the rest of the batch is the unpicked
 * candidates with the largest `random` key (hash_unit(seed, id, 1)): the
 * reference would pick an arbitrary index there.  Scores: the number of
 * items each pick newly covered (0 for the random rest).
 *
 * delta: --delta, else the largest value whose purity is at least 0.95, as
 * the paper chooses it: a ball is pure when every point in it has the
 * centre's k-means cluster.  Purity is measured on a sample of up to SAMPLE
 * candidates (those with the largest hash_unit(seed, id, ALQ_PURPOSE_PROBCOVER)),
 * clustered by alq_kmeans_fit (cluster/) with k = the pool's classes (10 when
 * unknown).  x's ball is pure exactly while delta is below r_x, its distance
 * to the nearest sample point of another cluster, so the largest delta with
 * purity >= 0.95 is just below the r that 95% of the sample exceed.
 *
 * Distributed and exact: rank q's candidates go to every rank in blocks of
 * BLOCK rows (a broadcast each), and each rank compares its own rows with the
 * block: SGEMM tiles only bound the squared distance (alq/gemm.h: the
 * allowance 2 (d+3) eps (|x|^2 + |y|^2)), and every pair the bound cannot
 * rule out gets ||x||^2 + ||y||^2 - 2 x.y from alq_dot, which decides the
 * edge.  That value is symmetric and a function of the two rows alone, so
 * the graph is the same at any rank count (the reference skips the last
 * partial batch of rows when building it; here every row is compared).
 * Degrees are int64 counts, the pick is one MAXLOC-like allreduce on
 * (degree, id), and the pick's neighbour list is broadcast: every rank
 * updates the same coverage, so no floating-point value is ever reduced. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/cluster.h"
#include "alq/comm.h"
#include "alq/dot.h"
#include "alq/gemm.h"
#include "alq/hash.h"
#include "alq/scored.h"
#include "alq/strategy.h"

#define BLOCK 4096     /* rows of another rank compared at once */
#define TILE 256       /* local rows per SGEMM tile */
#define SAMPLE 3000    /* candidates the purity is measured on */
#define PURITY 0.95    /* the paper's alpha */
#define KMEANS_ITER 50

typedef struct {
  int64_t n, d, first, total; /* local candidates; position of the first; all candidates */
  const float *x;
  const int64_t *ids;
  float *xn;                  /* ||x||^2 (alq_dot) */
  /* edges of local candidates: nbr[off[i] .. off[i+1]) are global positions */
  int64_t *off, *nbr, n_edges;
  /* reverse: local candidates with an edge into global position j */
  int64_t *roff, *rev;
  unsigned char *covered;     /* per global position */
  unsigned char *picked;      /* per local candidate */
  int64_t *deg;               /* edges into uncovered positions, per local candidate */
} graph;

static float sq_dist(const float *a, float an, const float *b, float bn, int64_t d) {
  float v = an + bn - 2.0f * alq_dot(a, b, d);
  return v > 0 ? v : 0;
}

/* ---- delta from purity ---------------------------------------------------- */

/* The sample, identical on every rank, in id order: the SAMPLE candidates
 * with the largest key, their rows gathered in rank (= id) order. */
static alq_err gather_sample(const alq_select_ctx *ctx, const alq_candidates *cand, float **rows, int64_t *n_out) {
  alq_scored *local = NULL, *top = NULL;
  int64_t n_top = 0;
  ALQ_CHECK(alq_agree(ctx->comm, alq_malloc(&local, sizeof *local * (cand->n ? cand->n : 1), "probcover sample keys")));
  for (int64_t i = 0; i < cand->n; i++)
    local[i] = (alq_scored){alq_hash_unit(ctx->seed, (uint64_t)cand->ids[i], ALQ_PURPOSE_PROBCOVER), cand->ids[i]};
  alq_scored_sort(local, cand->n);
  alq_err err = alq_scored_global_topk(ctx->comm, local, cand->n < SAMPLE ? cand->n : SAMPLE, SAMPLE, &top, &n_top);
  free(local);
  if (err)
    return err;
  const double floor_key = n_top ? top[n_top - 1].score : 2.0;
  const int64_t floor_id = n_top ? top[n_top - 1].id : 0;
  free(top);
  float *mine = NULL;
  int64_t k = 0, row = 4 * cand->dim;
  int64_t cap = cand->n < SAMPLE ? cand->n : SAMPLE; /* the global top SAMPLE holds at most SAMPLE of mine */
  err = alq_agree(ctx->comm, alq_malloc(&mine, (size_t)(row * (cap ? cap : 1)), "probcover sample rows"));
  for (int64_t i = 0; !err && i < cand->n; i++) {
    alq_scored r = {alq_hash_unit(ctx->seed, (uint64_t)cand->ids[i], ALQ_PURPOSE_PROBCOVER), cand->ids[i]};
    alq_scored last = {floor_key, floor_id};
    if (!alq_scored_before(&last, &r))
      memcpy(mine + k++ * cand->dim, cand->embeddings + i * cand->dim, row);
  }
  unsigned char *all = NULL;
  int64_t bytes = 0;
  if (!err)
    err = alq_allgatherv_bytes(mine, k * row, ctx->comm, &all, &bytes);
  free(mine);
  *rows = (float *)all;
  *n_out = row ? bytes / row : 0;
  return err;
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Squared delta: just below the r^2 that a PURITY share of the sample exceed. */
static float delta2_from_purity(const float *s, int64_t n, int64_t d, const int32_t *label, float *r2) {
  float *sn = r2 + n; /* scratch after r2 */
  for (int64_t i = 0; i < n; i++)
    sn[i] = alq_dot(s + i * d, s + i * d, d);
  for (int64_t i = 0; i < n; i++) {
    float best = INFINITY;
    for (int64_t j = 0; j < n; j++)
      if (label[j] != label[i]) {
        float v = sq_dist(s + i * d, sn[i], s + j * d, sn[j], d);
        best = v < best ? v : best;
      }
    r2[i] = best;
  }
  qsort(r2, n, sizeof *r2, cmp_float);
  int64_t need = (int64_t)ceil(PURITY * (double)n), m = n - need;
  if (n == 0 || !isfinite(r2[m]))
    return FLT_MAX; /* one cluster: every ball is pure */
  return nextafterf(r2[m], 0.0f);
}

static alq_err choose_delta2(const alq_select_ctx *ctx, const alq_candidates *cand, float *delta2) {
  float *s = NULL, *r2 = NULL;
  int32_t *label = NULL;
  int64_t n = 0;
  alq_kmeans km;
  memset(&km, 0, sizeof km);
  alq_err err = gather_sample(ctx, cand, &s, &n);
  if (!err)
    err = alq_agree(ctx->comm, alq_malloc(&label, sizeof *label * (n ? n : 1), "probcover sample labels"));
  if (!err)
    err = alq_agree(ctx->comm, alq_malloc(&r2, sizeof *r2 * 2 * (n ? n : 1), "probcover sample radii"));
  int64_t k = ctx->n_classes >= 2 ? ctx->n_classes : 10;
  /* Every rank holds the whole sample: shared points, nothing local. */
  alq_points pts = {ctx->comm, cand->dim, 0, NULL, NULL, n, NULL, s};
  int64_t *sid = NULL;
  if (!err)
    err = alq_agree(ctx->comm, alq_malloc(&sid, sizeof *sid * (n ? n : 1), "probcover sample ids"));
  for (int64_t i = 0; !err && i < n; i++)
    sid[i] = i; /* only their order matters to the fit: the sample is in id order */
  pts.shared_ids = sid;
  if (!err)
    err = alq_kmeans_fit(&pts, k < n ? k : n, KMEANS_ITER, ctx->seed, &km, NULL, label);
  if (!err)
    *delta2 = n ? delta2_from_purity(s, n, cand->dim, label, r2) : FLT_MAX;
  alq_kmeans_free(&km);
  free(s);
  free(r2);
  free(label);
  free(sid);
  return err;
}

/* ---- the graph --------------------------------------------------------------- */

typedef struct {
  int64_t *i, *j, n, cap;
} edge_list;

static alq_err edge_push(edge_list *e, int64_t i, int64_t j) {
  if (e->n == e->cap) {
    int64_t cap = e->cap ? 2 * e->cap : 1 << 16;
    int64_t *a = realloc(e->i, sizeof *a * cap);
    if (a)
      e->i = a;
    int64_t *b = a ? realloc(e->j, sizeof *b * cap) : NULL;
    if (!a || !b)
      return alq_error_set(ALQ_ERR_MEMORY, "out of memory for the ProbCover graph (%lld edges)", (long long)e->n);
    e->j = b;
    e->cap = cap;
  }
  e->i[e->n] = i;
  e->j[e->n++] = j;
  return ALQ_OK;
}

/* Pairs (local i, row r of `y`) with squared distance <= delta2: SGEMM
 * bounds, alq_dot decides.  `y` is ny rows whose norms are yn; hit(i, r) is
 * called for every edge. */
typedef alq_err (*edge_fn)(void *ctx, int64_t i, int64_t r);

static alq_err compare_block(const graph *g, const float *y, const float *yn, int64_t ny, float delta2, float *tile,
                             edge_fn hit, void *hctx) {
  const int64_t d = g->d;
  const float slack = (float)(2.0 * (double)(d + 3) * FLT_EPSILON);
  for (int64_t i0 = 0; i0 < g->n; i0 += TILE) {
    int64_t bm = g->n - i0 < TILE ? g->n - i0 : TILE;
    alq_sgemm_nt(g->x + i0 * d, bm, d, y, ny, tile);
    for (int64_t a = 0; a < bm; a++) {
      int64_t i = i0 + a;
      for (int64_t r = 0; r < ny; r++) {
        float approx = g->xn[i] + yn[r] - 2.0f * tile[a * ny + r];
        if (approx > delta2 + slack * (g->xn[i] + yn[r]) * 2.0f)
          continue;
        if (sq_dist(g->x + i * d, g->xn[i], y + r * d, yn[r], d) <= delta2)
          ALQ_CHECK(hit(hctx, i, r));
      }
    }
  }
  return ALQ_OK;
}

typedef struct {
  edge_list *e;
  int64_t base; /* global position of the block's row 0 */
} edge_ctx;

static alq_err add_edge(void *c, int64_t i, int64_t r) {
  edge_ctx *ec = c;
  return edge_push(ec->e, i, ec->base + r);
}

static alq_err mark_covered(void *c, int64_t i, int64_t r) {
  (void)r;
  ((unsigned char *)c)[i] = 1;
  return ALQ_OK;
}

/* Compressed rows from the edge list: off/nbr by local i (positions stay
 * ascending: blocks come in position order), roff/rev by global j. */
static alq_err compress(graph *g, const edge_list *e) {
  g->n_edges = e->n;
  ALQ_CHECK(alq_calloc(&g->off, g->n + 1, sizeof(int64_t), "probcover offsets"));
  ALQ_CHECK(alq_calloc(&g->roff, g->total + 1, sizeof(int64_t), "probcover reverse offsets"));
  ALQ_CHECK(alq_malloc(&g->nbr, sizeof(int64_t) * (e->n ? e->n : 1), "probcover neighbours"));
  ALQ_CHECK(alq_malloc(&g->rev, sizeof(int64_t) * (e->n ? e->n : 1), "probcover reverse neighbours"));
  for (int64_t k = 0; k < e->n; k++) {
    g->off[e->i[k] + 1]++;
    g->roff[e->j[k] + 1]++;
  }
  for (int64_t i = 0; i < g->n; i++)
    g->off[i + 1] += g->off[i];
  for (int64_t j = 0; j < g->total; j++)
    g->roff[j + 1] += g->roff[j];
  int64_t *fill = NULL, *rfill = NULL;
  alq_err err = alq_calloc(&fill, g->n + 1, sizeof(int64_t), "probcover fill");
  if (!err)
    err = alq_calloc(&rfill, g->total + 1, sizeof(int64_t), "probcover reverse fill");
  for (int64_t k = 0; !err && k < e->n; k++) {
    g->nbr[g->off[e->i[k]] + fill[e->i[k]]++] = e->j[k];
    g->rev[g->roff[e->j[k]] + rfill[e->j[k]]++] = e->i[k];
  }
  free(fill);
  free(rfill);
  return err;
}

/* Every rank's candidates, BLOCK rows at a time, against this rank's. */
static alq_err build_edges(const alq_select_ctx *ctx, graph *g, const int64_t *counts, float delta2) {
  int size;
  MPI_Comm_size(ctx->comm, &size);
  const int64_t d = g->d;
  float *y = NULL, *yn = NULL, *tile = NULL;
  edge_list e = {0};
  alq_err err = alq_malloc_aligned(&y, sizeof(float) * BLOCK * d, "probcover block");
  if (!err)
    err = alq_malloc(&yn, sizeof(float) * BLOCK, "probcover block norms");
  if (!err)
    err = alq_malloc_aligned(&tile, sizeof(float) * TILE * BLOCK, "probcover SGEMM tile");
  err = alq_agree(ctx->comm, err);
  int rank;
  MPI_Comm_rank(ctx->comm, &rank);
  int64_t base = 0;
  for (int q = 0; !err && q < size; q++) {
    for (int64_t lo = 0; !err && lo < counts[q]; lo += BLOCK) {
      int64_t ny = counts[q] - lo < BLOCK ? counts[q] - lo : BLOCK;
      if (q == rank)
        memcpy(y, g->x + lo * d, sizeof(float) * ny * d);
      err = alq_bcast(y, sizeof(float) * ny * d, q, ctx->comm);
      for (int64_t r = 0; !err && r < ny; r++)
        yn[r] = alq_dot(y + r * d, y + r * d, d);
      edge_ctx ec = {&e, base + lo};
      if (!err)
        err = alq_agree(ctx->comm, compare_block(g, y, yn, ny, delta2, tile, add_edge, &ec));
    }
    base += counts[q];
  }
  if (!err)
    err = alq_agree(ctx->comm, compress(g, &e));
  free(e.i);
  free(e.j);
  free(y);
  free(yn);
  free(tile);
  return err;
}

/* Positions within delta of a labeled item start covered; then every rank
 * holds the coverage of every position (an allgather of the local flags). */
static alq_err initial_coverage(const alq_select_ctx *ctx, graph *g, const alq_centers *labeled, float delta2) {
  unsigned char *mine = NULL, *all = NULL;
  float *ln = NULL, *tile = NULL;
  alq_err err = alq_calloc(&mine, g->n ? g->n : 1, 1, "probcover labeled coverage");
  if (!err)
    err = alq_malloc(&ln, sizeof(float) * (labeled->n ? labeled->n : 1), "probcover labeled norms");
  if (!err)
    err = alq_malloc_aligned(&tile, sizeof(float) * TILE * BLOCK, "probcover SGEMM tile");
  for (int64_t k = 0; !err && k < labeled->n; k++)
    ln[k] = alq_dot(labeled->embeddings + k * g->d, labeled->embeddings + k * g->d, g->d);
  for (int64_t lo = 0; !err && lo < labeled->n; lo += BLOCK) {
    int64_t ny = labeled->n - lo < BLOCK ? labeled->n - lo : BLOCK;
    err = compare_block(g, labeled->embeddings + lo * g->d, ln + lo, ny, delta2, tile, mark_covered, mine);
  }
  err = alq_agree(ctx->comm, err);
  int64_t bytes = 0;
  if (!err)
    err = alq_allgatherv_bytes(mine, g->n, ctx->comm, &all, &bytes);
  if (!err && bytes != g->total)
    err = alq_error_set(ALQ_ERR_INTERNAL, "probcover: coverage of %lld positions, expected %lld", (long long)bytes,
                        (long long)g->total);
  g->covered = all;
  free(mine);
  free(ln);
  free(tile);
  return err;
}

/* ---- the greedy --------------------------------------------------------------- */

typedef struct {
  int64_t deg, id, owner, at;
} pick;

static int pick_before(const pick *a, const pick *b) {
  return a->deg > b->deg || (a->deg == b->deg && a->id < b->id);
}

static void pick_max(void *in, void *inout, int *len, MPI_Datatype *type) {
  (void)type;
  pick *a = in, *b = inout;
  for (int i = 0; i < *len; i++)
    if (pick_before(&a[i], &b[i]))
      b[i] = a[i];
}

static pick best_local(const graph *g, int rank) {
  pick best = {-1, INT64_MAX, rank, -1};
  for (int64_t i = 0; i < g->n; i++) {
    pick p = {g->deg[i], g->ids[i], rank, i};
    if (!g->picked[i] && pick_before(&p, &best))
      best = p;
  }
  return best;
}

/* Covers the pick's out-neighbours (broadcast by its owner) on every rank and
 * lowers the degrees of the local candidates with edges into them. */
static alq_err cover(const alq_select_ctx *ctx, graph *g, const pick *win, int rank, int64_t **buf, int64_t *cap) {
  int64_t m = 0;
  if (win->owner == rank) {
    g->picked[win->at] = 1;
    m = g->off[win->at + 1] - g->off[win->at];
  }
  ALQ_CHECK(alq_bcast(&m, sizeof m, (int)win->owner, ctx->comm));
  alq_err err = ALQ_OK;
  if (m > *cap) {
    free(*buf);
    *cap = 0;
    err = alq_malloc(buf, sizeof(int64_t) * m, "probcover pick neighbours");
    *cap = err ? 0 : m;
  }
  ALQ_CHECK(alq_agree(ctx->comm, err));
  if (win->owner == rank)
    memcpy(*buf, g->nbr + g->off[win->at], sizeof(int64_t) * m);
  ALQ_CHECK(alq_bcast(*buf, sizeof(int64_t) * m, (int)win->owner, ctx->comm));
  for (int64_t k = 0; k < m; k++) {
    int64_t j = (*buf)[k];
    if (g->covered[j])
      continue;
    g->covered[j] = 1;
    for (int64_t r = g->roff[j]; r < g->roff[j + 1]; r++)
      g->deg[g->rev[r]]--;
  }
  return ALQ_OK;
}

static alq_err pick_ops(MPI_Datatype *type, MPI_Op *op) {
  int rc = MPI_Type_contiguous(sizeof(pick), MPI_BYTE, type);
  if (rc == MPI_SUCCESS)
    rc = MPI_Type_commit(type);
  if (rc == MPI_SUCCESS)
    rc = MPI_Op_create(pick_max, 1, op);
  return rc == MPI_SUCCESS ? ALQ_OK : alq_error_set(ALQ_ERR_MPI, "cannot build the ProbCover pick operation");
}

static alq_err greedy(const alq_select_ctx *ctx, graph *g, alq_batch *batch) {
  int rank;
  MPI_Comm_rank(ctx->comm, &rank);
  MPI_Datatype type = MPI_DATATYPE_NULL;
  MPI_Op op = MPI_OP_NULL;
  alq_err err = alq_agree(ctx->comm, pick_ops(&type, &op));
  int64_t *buf = NULL, cap = 0;
  for (int64_t i = 0; !err && i < g->n; i++) {
    g->deg[i] = 0;
    for (int64_t k = g->off[i]; k < g->off[i + 1]; k++)
      g->deg[i] += !g->covered[g->nbr[k]];
  }
  while (!err && batch->n < ctx->budget) {
    pick mine = best_local(g, rank), win;
    err = alq_allreduce(&mine, &win, 1, type, op, ctx->comm);
    if (err || win.deg <= 0)
      break; /* everything is covered (or no candidate is left) */
    batch->ids[batch->n] = win.id;
    batch->scores[batch->n++] = (double)win.deg;
    err = cover(ctx, g, &win, rank, &buf, &cap);
  }
  free(buf);
  if (op != MPI_OP_NULL)
    MPI_Op_free(&op);
  if (type != MPI_DATATYPE_NULL)
    MPI_Type_free(&type);
  return err;
}

/* With everything covered: the unpicked candidates with the largest random key. */
static alq_err fill_random(const alq_select_ctx *ctx, const graph *g, alq_batch *batch) {
  int64_t need = ctx->budget - batch->n, n = 0, n_top = 0;
  alq_scored *local = NULL, *top = NULL;
  ALQ_CHECK(alq_agree(ctx->comm, alq_malloc(&local, sizeof *local * (g->n ? g->n : 1), "probcover fill")));
  for (int64_t i = 0; i < g->n; i++)
    if (!g->picked[i])
      local[n++] = (alq_scored){alq_hash_unit(ctx->seed, (uint64_t)g->ids[i], ALQ_PURPOSE_RANDOM_SCORE), g->ids[i]};
  alq_scored_sort(local, n);
  alq_err err = alq_scored_global_topk(ctx->comm, local, n < need ? n : need, need, &top, &n_top);
  for (int64_t t = 0; !err && t < n_top; t++) {
    batch->ids[batch->n] = top[t].id;
    batch->scores[batch->n++] = 0;
  }
  free(local);
  free(top);
  return err;
}

/* ---- the stage ------------------------------------------------------------------ */

static alq_err layout(const alq_select_ctx *ctx, const alq_candidates *cand, graph *g, int64_t **counts) {
  int rank, size;
  MPI_Comm_rank(ctx->comm, &rank);
  MPI_Comm_size(ctx->comm, &size);
  int64_t mine[3] = {cand->n, cand->n ? cand->ids[0] : 0, cand->n ? cand->ids[cand->n - 1] : 0}, *all = NULL;
  ALQ_CHECK(alq_agree(ctx->comm, alq_malloc(&all, sizeof(int64_t) * 3 * size, "probcover layout")));
  ALQ_CHECK(alq_agree(ctx->comm, alq_malloc(counts, sizeof(int64_t) * size, "probcover counts")));
  alq_err err = alq_allgather_bytes(mine, sizeof mine, all, ctx->comm);
  int64_t last = INT64_MIN;
  for (int r = 0; !err && r < size; r++) {
    (*counts)[r] = all[3 * r];
    if (r == rank)
      g->first = g->total;
    g->total += all[3 * r];
    if (all[3 * r] && all[3 * r + 1] <= last)
      err = alq_error_set(ALQ_ERR_INTERNAL, "probcover: rank %d's candidates do not follow the lower ranks' in id order", r);
    if (all[3 * r])
      last = all[3 * r + 2];
  }
  free(all);
  for (int64_t i = 1; !err && i < cand->n; i++)
    if (cand->ids[i] <= cand->ids[i - 1])
      err = alq_error_set(ALQ_ERR_INTERNAL, "probcover: candidates are not in id order");
  return alq_agree(ctx->comm, err);
}

static void graph_free(graph *g) {
  free(g->xn);
  free(g->off);
  free(g->nbr);
  free(g->roff);
  free(g->rev);
  free(g->covered);
  free(g->picked);
  free(g->deg);
}

static alq_err print_stats(const alq_select_ctx *ctx, const graph *g, float delta2, const alq_batch *batch) {
  int64_t edges = 0;
  ALQ_CHECK(alq_allreduce(&g->n_edges, &edges, 1, MPI_INT64_T, MPI_SUM, ctx->comm));
  int64_t covered = 0;
  for (int64_t j = 0; j < g->total; j++)
    covered += g->covered[j];
  int rank;
  MPI_Comm_rank(ctx->comm, &rank);
  if (rank == 0)
    fprintf(stderr, "probcover: delta=%.6g (%s) candidates=%lld edges=%lld mean_degree=%.2f covered=%.4f greedy_picks=%lld\n",
            sqrt((double)delta2), ctx->delta > 0 ? "--delta" : "purity 0.95", (long long)g->total, (long long)edges,
            g->total ? (double)edges / (double)g->total : 0.0, g->total ? (double)covered / (double)g->total : 0.0,
            (long long)batch->n);
  return ALQ_OK;
}

static alq_err probcover_select_ordered(const alq_select_ctx *ctx, const alq_candidates *cand, const alq_centers *labeled,
                                alq_batch *batch) {
  memset(batch, 0, sizeof *batch);
  if (cand->n > 0 && !cand->embeddings)
    return alq_error_set(ALQ_ERR_INTERNAL, "probcover was given candidates without embeddings");
  graph g;
  memset(&g, 0, sizeof g);
  g.n = cand->n;
  g.d = cand->dim;
  g.x = cand->embeddings;
  g.ids = cand->ids;
  int64_t *counts = NULL, n1 = cand->n ? cand->n : 1;
  alq_err err = layout(ctx, cand, &g, &counts);
  if (!err) {
    err = alq_malloc(&g.xn, sizeof(float) * n1, "probcover norms");
    if (!err)
      err = alq_calloc(&g.picked, n1, 1, "probcover picked flags");
    if (!err)
      err = alq_malloc(&g.deg, sizeof(int64_t) * n1, "probcover degrees");
    if (!err)
      err = alq_malloc(&batch->ids, sizeof(int64_t) * (ctx->budget ? ctx->budget : 1), "batch ids");
    if (!err)
      err = alq_malloc(&batch->scores, sizeof(double) * (ctx->budget ? ctx->budget : 1), "batch scores");
    err = alq_agree(ctx->comm, err);
  }
  for (int64_t i = 0; !err && i < g.n; i++)
    g.xn[i] = alq_dot(g.x + i * g.d, g.x + i * g.d, g.d);
  float delta2 = ctx->delta > 0 ? (float)(ctx->delta * ctx->delta) : 0;
  if (!err && ctx->delta <= 0)
    err = choose_delta2(ctx, cand, &delta2);
  if (!err)
    err = build_edges(ctx, &g, counts, delta2);
  if (!err)
    err = initial_coverage(ctx, &g, labeled, delta2);
  if (!err)
    err = greedy(ctx, &g, batch);
  if (!err && ctx->log_view)
    err = print_stats(ctx, &g, delta2, batch);
  if (!err && batch->n < ctx->budget)
    err = fill_random(ctx, &g, batch);
  graph_free(&g);
  free(counts);
  if (err)
    alq_batch_free(batch);
  return err;
}

/* The graph's global positions follow the id order across ranks: re-dealt first when they do not. */
static alq_err probcover_select(const alq_select_ctx *ctx, const alq_candidates *cand, const alq_centers *labeled,
                                alq_batch *batch) {
  alq_ordered_candidates oc;
  ALQ_CHECK(alq_candidates_id_order(ctx->comm, cand, NULL, 0, &oc));
  alq_err err = probcover_select_ordered(ctx, &oc.c, labeled, batch);
  alq_ordered_candidates_free(&oc);
  return err;
}

/* The parts a shape bounds: the layout, norms, flags and degrees, the purity
 * sample and its k-means, the compared blocks and SGEMM tiles, the graph's
 * offsets and coverage, the fills and the batch.  Not the edge lists (32 bytes
 * an edge, the mean degree times n: a function of the data and delta, known
 * only once the graph is built); docs/strategies.md says so. */
static int64_t probcover_select_bytes(const alq_select_shape *sh) {
  int64_t n1 = sh->n ? sh->n : 1, d = sh->dim, ng = sh->n_global, ranks = sh->ranks;
  int64_t k = sh->n_classes >= 2 ? sh->n_classes : 10;
  int64_t sample = n1 * 16 + SAMPLE * 4 * d * 2 + SAMPLE * (4 + 8 + 8) +
                   alq_kmeans_bytes(0, SAMPLE, k < SAMPLE ? k : SAMPLE, d);
  int64_t blocks = BLOCK * (4 * d + 4) + (int64_t)TILE * BLOCK * 4;
  int64_t graph = 32 * ranks + n1 * (4 + 1 + 8 + 8 + 1) + (ng + 1) * 8 + ng + 4 * sh->n_labeled;
  return sample + blocks + graph + n1 * 16 + 16 * sh->budget;
}

const alq_strategy alq_strategy_probcover = {
    .name = "probcover",
    .summary = "ProbCover: greedy max coverage of the delta-ball graph (delta by k-means purity 0.95, or --delta)",
    .needs = ALQ_NEEDS_EMBEDDINGS,
    .score = NULL,
    .select = probcover_select,
    .select_bytes = probcover_select_bytes,
};
