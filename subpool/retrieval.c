/* subpool/retrieval.c: AnchorAL's distributed exact retrieval (alq/anchoral.h). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/anchoral.h"
#include "alq/comm.h"
#include "alq/fault.h"
#include "alq/dot.h"
#include "alq/gemm.h"
#include "alq/hash.h"
#include "alq/logview.h"
#include "alq/scored.h"
#include "keeper.h"

/* Rows per bound GEMM against all anchors: small enough that the similarity
 * block stays in cache. */
#define BLOCK_ROWS 256
/* Rows with 1/||x|| above this skip the GEMM filter (every anchor exact): the
 * allowance's absolute part, scaled by 1/||x|| <= 2^30, stays far below the
 * float slack in tol. */
#define INV_NORM_MAX 0x1p30f
/* Where the subpool's rows come from: nowhere (the retrieval alone), the
 * keepers (each admitted item's row copied in during the pass), or a fetch by
 * id after the merge (sources whose fetch is cheap: the pass then reads only
 * ids and embeddings, alq/source.h). */
typedef enum { ROWS_NONE, ROWS_IN_KEEPERS, ROWS_FETCHED } row_keeping;

typedef struct {
  const alq_anchoral_options *opt;
  const alq_pool_meta *m;
  int64_t n_anchors;  /* >= 1 */
  int64_t n_heaps, k; /* heaps and their size */
  float *anchors;     /* n_anchors x d, L2-normalised */
  keeper *heaps;      /* per anchor: its best k so far (subpool/keeper.h) */
  uint32_t *keys;     /* KEEPER_SLACK x k: the keepers' shared compaction scratch */
  float *sim;         /* BLOCK_ROWS x n_anchors: scratch of the bound GEMM's paths that do not compare in registers */
  uint64_t *bits;     /* ceil(n_anchors / ALQ_BOUND_GROUP) x BLOCK_ROWS: the block's filter (alq_bound_gemm_run_filter) */
  float *inv_norm;    /* BLOCK_ROWS */
  float *floor;       /* per heap: the highest keeper floor of any rank (-inf until the first compaction) */
  float *threshold;   /* floor - tol: a GEMM value below it cannot enter the heap */
  float *floor_mine;  /* 4 per heap: share_floors' send (floor, -share floor) and receive buffers */
  alq_bound_gemm *gemm; /* against the anchors: alq/gemm.h */
  float tol;          /* |bound GEMM similarity - exact similarity| <= tol */
  row_keeping rows;
  alq_source *source;    /* read by ROWS_FETCHED */
  int64_t payload_bytes; /* one item's row in a keeper (ROWS_IN_KEEPERS): embedding, probs, label, expected entropy */
  int with_probs, with_entropy; /* the payload carries probabilities / BALD's expected entropy */
  double sgemm_seconds;
  int64_t flops, exact_evaluations;
} retrieval;

/* The item's row into its keeper slot p (NULL: the retrieval alone,
 * alq_anchoral_retrieve, keeps no rows and reads no probs or labels). */
static void pack_row(const retrieval *r, const alq_rows *rows, int64_t i, unsigned char *p) {
  if (!p)
    return;
  const alq_pool_meta *m = r->m;
  memcpy(p, rows->embeddings + i * m->dim, 4 * m->dim);
  p += 4 * m->dim;
  if (r->with_probs) {
    memcpy(p, rows->probs + i * m->n_classes, 4 * m->n_classes);
    p += 4 * m->n_classes;
  }
  if (m->has_labels) {
    memcpy(p, rows->labels + i, 4);
    p += 4;
  }
  if (r->with_entropy)
    memcpy(p, rows->expected_entropy + i, 4);
}

/* The exact similarity to anchor a, into a's keeper if it reaches a's floor
 * (which may be another rank's, share_floors) and the keeper admits it.
 * What a keeper keeps does not depend on the order of the offers: the best K
 * by (score, id). */
static void offer_exact(retrieval *r, const alq_rows *rows, int64_t row, int64_t a, float inv) {
  const int64_t d = r->m->dim;
  float sa = alq_dot(rows->embeddings + row * d, r->anchors + a * d, d) * inv;
  r->exact_evaluations++;
  if (sa < r->floor[a])
    return;
  keeper *h = &r->heaps[a];
  int64_t id = rows->ids[row];
  if (!keeper_admits(h, sa, id))
    return; /* not among this anchor's best K */
  pack_row(r, rows, row, keeper_append(h, sa, id));
  if (h->floor > r->floor[a]) { /* a compaction raised it */
    r->floor[a] = h->floor;
    r->threshold[a] = h->floor - r->tol;
  }
}

/* An item's similarity to anchor a is alq_dot(x, anchor_a) / ||x|| (alq/dot.h):
 * a function of the two rows only.  The bound GEMM (bf16 or float) over the
 * block gives approximate similarities within r->tol of those and compares
 * them with the thresholds (floor - tol, as they were when the block
 * started: a floor only rises, so a stale threshold lets more through, never
 * fewer); only an anchor whose keeper the approximate value could enter gets
 * the exact value, which alone decides (so the lists are the same on every
 * shard, path, kernel and CPU).  "Not below" lets a NaN through to the exact
 * value.  Rows with 1/||x|| above INV_NORM_MAX get every anchor exact.  The
 * offers go group by group of ALQ_BOUND_GROUP anchors, each group's rows in
 * order: a few keepers in cache at a time. */
static void offer_block(retrieval *r, const alq_chunk_view *v, int64_t b0, int64_t br) {
  const int64_t A = r->n_anchors;
  for (int64_t a0 = 0; a0 < A; a0 += ALQ_BOUND_GROUP) {
    int64_t w = A - a0 < ALQ_BOUND_GROUP ? A - a0 : ALQ_BOUND_GROUP;
    const uint64_t all = (UINT64_C(1) << w) - 1, *bits = r->bits + (a0 / ALQ_BOUND_GROUP) * br;
    for (int64_t i = 0; i < br; i++) {
      if (v->is_labeled[b0 + i])
        continue;
      float inv = r->inv_norm[i];
      for (uint64_t m = inv <= INV_NORM_MAX ? bits[i] : all; m; m &= m - 1)
        offer_exact(r, v->rows, b0 + i, a0 + __builtin_ctzll(m), inv);
    }
  }
}

/* After every chunk, every rank takes per anchor the highest of two floors
 * any rank can prove.  A rank's keeper floor is the K-th best exact
 * similarity among K items it holds, so no item below it can be among the
 * global best K: the other ranks may drop such items too (ties still go to
 * their keepers, which break them by id).  And a rank's share floor is the
 * ceil(K / P)-th best it has seen (keeper_compact): all P ranks together
 * hold at least K items at or above the lowest share floor, so that is a
 * floor too, and it is close to the K-th of all ranks' items where the
 * highest keeper floor is only the K-th of one rank's.  The lists do not
 * change, only the work. */
static alq_err share_floors(void *ctx, MPI_Comm comm) {
  retrieval *r = ctx;
  int size;
  MPI_Comm_size(comm, &size);
  if (size == 1)
    return ALQ_OK;
  const int64_t A = r->n_heaps;
  float *send = r->floor_mine, *recv = r->floor_mine + 2 * A;
  for (int64_t a = 0; a < A; a++) {
    send[a] = r->floor[a];
    send[A + a] = -r->heaps[a].share_floor; /* MAX of the negated: the lowest */
  }
  ALQ_CHECK(alq_allreduce(send, recv, 2 * A, MPI_FLOAT, MPI_MAX, comm));
  for (int64_t a = 0; a < A; a++) {
    float lowest_share = -recv[A + a], f = recv[a] > lowest_share ? recv[a] : lowest_share;
    r->floor[a] = f;
    r->threshold[a] = f - r->tol;
  }
  return ALQ_OK;
}

static alq_err retrieve_chunk(void *ctx, const alq_chunk_view *v) {
  retrieval *r = ctx;
  const alq_rows *rows = v->rows;
  const int64_t d = r->m->dim, A = r->n_anchors;
  alq_phase_begin(ALQ_PHASE_RETRIEVE);
  for (int64_t b0 = 0; b0 < v->count; b0 += BLOCK_ROWS) {
    int64_t br = v->count - b0 < BLOCK_ROWS ? v->count - b0 : BLOCK_ROWS;
    const float *x = rows->embeddings + b0 * d;
    for (int64_t i = 0; i < br; i++) {
      float nn = alq_dot(x + i * d, x + i * d, d);
      r->inv_norm[i] = nn > 0 ? 1.0f / sqrtf(nn) : 0.0f;
    }
    double t0 = MPI_Wtime();
    alq_bound_gemm_run_filter(r->gemm, x, br, r->inv_norm, r->threshold, r->sim, r->bits);
    r->sgemm_seconds += MPI_Wtime() - t0;
    r->flops += 2 * br * A * d;
    alq_log_flops(2 * br * A * d);
    offer_block(r, v, b0, br);
  }
  alq_phase_end(ALQ_PHASE_RETRIEVE);
  return ALQ_OK;
}

/* Per-anchor lists merged across ranks: every rank gets every anchor's global top K. */
static alq_err merge_heaps(MPI_Comm comm, retrieval *r, alq_scored **lists, double *seconds) {
  alq_scored *all = NULL;
  /* The allocation can fail on one rank: agree once, before the reduction. */
  alq_err err = alq_fault_point("anchoral-retrieve");
  if (!err)
    err = alq_malloc(&all, sizeof *all * r->n_heaps * r->k, "anchor lists");
  for (int64_t a = 0; !err && a < r->n_heaps; a++) {
    keeper *h = &r->heaps[a];
    keeper_finish(h);
    for (int64_t j = 0; j < r->k; j++)
      all[a * r->k + j] = j < h->n ? (alq_scored){(double)h->rec[j].score, h->rec[j].id} : alq_scored_none();
  }
  err = alq_agree(comm, err);
  double t0 = MPI_Wtime();
  alq_phase_begin(ALQ_PHASE_REDUCE);
  if (!err)
    err = alq_scored_global_topk_blocks(comm, all, r->n_heaps, r->k);
  alq_phase_end(ALQ_PHASE_REDUCE);
  *seconds = MPI_Wtime() - t0;
  if (!err)
    err = alq_agree(comm, alq_fault_point("anchoral-merge"));
  if (err) {
    free(all);
    return err;
  }
  *lists = all;
  return ALQ_OK;
}

typedef struct {
  int64_t id;
  int64_t anchor;
  double sim;
} hit;

static int cmp_hit(const void *pa, const void *pb) {
  const hit *a = pa, *b = pb;
  if (a->id != b->id)
    return a->id < b->id ? -1 : 1;
  return (a->anchor > b->anchor) - (a->anchor < b->anchor);
}

static int cmp_id(const void *pa, const void *pb) {
  int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
  return (a > b) - (a < b);
}

/* The subpool's ids (sorted ascending), identical on every rank: an item's
 * score is its mean similarity over the anchors whose global top K holds it. */
static alq_err group_subpool(const retrieval *r, const alq_scored *lists, int64_t **ids, int64_t *n_ids) {
  int64_t total = r->n_heaps * r->k, n = 0, M = r->opt->subpool_size;
  hit *hits = NULL;
  alq_scored *scored = NULL;
  ALQ_CHECK(alq_malloc(&hits, sizeof *hits * (total ? total : 1), "anchor hits"));
  for (int64_t a = 0; a < r->n_heaps; a++)
    for (int64_t j = 0; j < r->k; j++)
      if (!alq_scored_is_none(&lists[a * r->k + j]))
        hits[n++] = (hit){lists[a * r->k + j].id, a, lists[a * r->k + j].score};
  qsort(hits, n, sizeof *hits, cmp_hit);
  alq_err err = alq_malloc(&scored, sizeof *scored * (n ? n : 1), "subpool scores");
  int64_t n_items = 0;
  for (int64_t i = 0; !err && i < n;) {
    int64_t j = i;
    double sum = 0;
    for (; j < n && hits[j].id == hits[i].id; j++)
      sum += hits[j].sim; /* in anchor order: the same sum on every rank */
    scored[n_items++] = (alq_scored){sum / (double)(j - i), hits[i].id};
    i = j;
  }
  free(hits);
  if (err)
    return err;
  alq_scored_sort(scored, n_items);
  int64_t keep = n_items < M ? n_items : M;
  err = alq_malloc(ids, sizeof **ids * (keep ? keep : 1), "subpool ids");
  for (int64_t i = 0; !err && i < keep; i++)
    (*ids)[i] = scored[i].id;
  free(scored);
  if (err)
    return err;
  qsort(*ids, keep, sizeof **ids, cmp_id);
  *n_ids = keep;
  return ALQ_OK;
}

typedef struct {
  int64_t id;
  const unsigned char *payload;
} held_row;

static int cmp_held(const void *pa, const void *pb) {
  const held_row *a = pa, *b = pb;
  return (a->id > b->id) - (a->id < b->id);
}

/* The subpool ids this rank's heaps hold, each once, ascending, with the
 * payload of one of its copies (NULL without payloads). */
static alq_err held_subpool_rows(const retrieval *r, const int64_t *sub, int64_t n_sub, held_row **out,
                                 int64_t *n_out) {
  int64_t total = 0;
  for (int64_t a = 0; a < r->n_heaps; a++)
    total += r->heaps[a].n;
  held_row *held = NULL;
  ALQ_CHECK(alq_malloc(&held, sizeof *held * (total ? total : 1), "held rows"));
  int64_t n = 0;
  for (int64_t a = 0; a < r->n_heaps; a++)
    for (int64_t j = 0; j < r->heaps[a].n; j++) {
      const keeper_rec *k = &r->heaps[a].rec[j];
      const unsigned char *payload =
          r->payload_bytes ? r->heaps[a].payload + (int64_t)k->slot * r->payload_bytes : NULL;
      if (bsearch(&k->id, sub, n_sub, sizeof *sub, cmp_id))
        held[n++] = (held_row){k->id, payload};
    }
  qsort(held, n, sizeof *held, cmp_held);
  int64_t u = 0;
  for (int64_t i = 0; i < n; i++)
    if (u == 0 || held[i].id != held[u - 1].id)
      held[u++] = held[i];
  *out = held;
  *n_out = u;
  return ALQ_OK;
}

/* The subpool fields: embeddings, and what the payload carries besides. */
static unsigned subpool_fields(const retrieval *r) {
  return ALQ_FIELD_EMBEDDINGS | (r->with_probs ? ALQ_FIELD_PROBS : 0) | (r->m->has_labels ? ALQ_FIELD_LABELS : 0) |
         (r->with_entropy ? ALQ_FIELD_EXPECTED_ENTROPY : 0);
}

static alq_err subpool_alloc(const retrieval *r, int64_t u, alq_pool_data *out) {
  const alq_pool_meta *m = r->m;
  memset(out, 0, sizeof *out);
  out->n_items = u;
  out->dim = m->dim;
  out->n_classes = m->n_classes;
  int64_t u1 = u ? u : 1;
  ALQ_CHECK(alq_malloc(&out->ids, sizeof(int64_t) * u1, "subpool ids"));
  ALQ_CHECK(alq_malloc_aligned(&out->embeddings, sizeof(float) * u1 * m->dim, "subpool embeddings"));
  if (r->with_probs)
    ALQ_CHECK(alq_malloc(&out->probs, sizeof(float) * u1 * m->n_classes, "subpool probabilities"));
  if (m->has_labels)
    ALQ_CHECK(alq_malloc(&out->labels, sizeof(int32_t) * u1, "subpool labels"));
  if (r->with_entropy)
    ALQ_CHECK(alq_malloc(&out->expected_entropy, sizeof(float) * u1, "subpool expected entropies"));
  return ALQ_OK;
}

static void unpack_rows(const retrieval *r, const held_row *held, int64_t u, alq_pool_data *out) {
  const alq_pool_meta *m = r->m;
  for (int64_t i = 0; i < u; i++) {
    const unsigned char *p = held[i].payload;
    out->ids[i] = held[i].id;
    memcpy(out->embeddings + i * m->dim, p, 4 * m->dim);
    p += 4 * m->dim;
    if (r->with_probs) {
      memcpy(out->probs + i * m->n_classes, p, 4 * m->n_classes);
      p += 4 * m->n_classes;
    }
    if (m->has_labels) {
      memcpy(out->labels + i, p, 4);
      p += 4;
    }
    if (r->with_entropy)
      memcpy(out->expected_entropy + i, p, 4);
  }
}

/* ROWS_FETCHED: the rows by id, checked as a pass checks them (a row's index
 * is its id for these sources, alq/source.h). */
static alq_err fetch_rows(const retrieval *r, const held_row *held, int64_t u, alq_pool_data *out) {
  for (int64_t i = 0; i < u; i++)
    out->ids[i] = held[i].id;
  unsigned fields = subpool_fields(r);
  alq_rows rows = {NULL, out->embeddings, out->probs, out->labels, out->expected_entropy, NULL, 0};
  ALQ_CHECK(alq_source_fetch(r->source, out->ids, u, fields, &rows));
  const int64_t d = r->m->dim, C = r->m->n_classes;
  for (int64_t i = 0; i < u; i++) {
    alq_rows one = {out->ids + i, out->embeddings + i * d, out->probs ? out->probs + i * C : NULL, NULL, NULL, NULL, 0};
    ALQ_CHECK(alq_rows_validate(r->m, &one, out->ids[i], 1, fields));
  }
  return ALQ_OK;
}

/* This rank's subpool rows: those its heaps hold, from their payloads or
 * fetched by id. */
static alq_err take_local_rows(const retrieval *r, const int64_t *sub, int64_t n_sub, alq_pool_data *out) {
  held_row *held = NULL;
  int64_t u = 0;
  memset(out, 0, sizeof *out);
  alq_err err = held_subpool_rows(r, sub, n_sub, &held, &u);
  if (!err)
    err = subpool_alloc(r, u, out);
  if (!err && r->rows == ROWS_IN_KEEPERS)
    unpack_rows(r, held, u, out);
  else if (!err)
    err = fetch_rows(r, held, u, out);
  free(held);
  return err;
}

/* --log-view: the retrieval's counters and the subpool's class mix.  Every
 * rank joins every reduction: allocations are agreed on first. */
static alq_err report(MPI_Comm comm, const retrieval *r, const alq_pool_data *local, int64_t n_sub, double merge_s) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  double sg[2] = {r->sgemm_seconds, 0}, sgmax[2] = {0, 0};
  int64_t counted[2] = {r->flops, r->exact_evaluations}, summed[2] = {0, 0};
  int64_t C = r->m->n_classes > 0 ? r->m->n_classes : 0;
  int64_t *counts = NULL, *total = NULL;
  alq_err err = alq_calloc(&counts, C ? C : 1, sizeof *counts, "subpool class counts");
  if (!err)
    err = alq_calloc(&total, C ? C : 1, sizeof *total, "subpool class counts");
  err = alq_agree(comm, err);
  if (!err && r->m->has_labels)
    for (int64_t i = 0; i < local->n_items; i++)
      if (local->labels[i] >= 0 && local->labels[i] < C)
        counts[local->labels[i]]++;
  if (!err)
    err = alq_reduce(sg, sgmax, 1, MPI_DOUBLE, MPI_MAX, 0, comm);
  if (!err)
    err = alq_reduce(counted, summed, 2, MPI_INT64_T, MPI_SUM, 0, comm);
  if (!err && C)
    err = alq_reduce(counts, total, C, MPI_INT64_T, MPI_SUM, 0, comm);
  if (!err && rank == 0) {
    fprintf(stderr,
            "anchoral: anchors=%lld neighbors=%lld subpool=%lld sgemm_seconds=%.4f sgemm_gflops=%.2f "
            "merge_seconds=%.4f merge_bytes=%lld exact_similarities=%lld dot_path=%s filter_path=%s gemm_path=%s "
            "gemm_impl=%s\n",
            (long long)r->n_anchors, (long long)r->k, (long long)n_sub, sgmax[0],
            sgmax[0] > 0 ? (double)summed[0] / sgmax[0] / 1e9 : 0.0, merge_s,
            (long long)(r->n_heaps * r->k * (int64_t)sizeof(alq_scored)), (long long)summed[1], alq_dot_path(),
            alq_bound_gemm_filter_path(r->gemm), alq_bound_gemm_path(r->gemm), alq_bound_gemm_impl(r->gemm));
    if (r->m->has_labels && total && C) {
      int64_t present = 0, smallest = INT64_MAX;
      for (int64_t c = 0; c < C; c++)
        if (total[c]) {
          present++;
          smallest = total[c] < smallest ? total[c] : smallest;
        }
      fprintf(stderr, "anchoral: subpool classes present=%lld of %lld, rarest present class share=%.4f, counts:",
              (long long)present, (long long)C, n_sub && present ? (double)smallest / (double)n_sub : 0.0);
      for (int64_t c = 0; c < C; c++)
        fprintf(stderr, " %lld", (long long)total[c]);
      fprintf(stderr, "\n");
    }
  }
  free(counts);
  free(total);
  return err;
}

static void retrieval_free(retrieval *r) {
  for (int64_t a = 0; r->heaps && a < r->n_heaps; a++)
    keeper_free(&r->heaps[a]);
  free(r->heaps);
  free(r->keys);
  alq_bound_gemm_free(r->gemm);
  free(r->anchors);
  free(r->sim);
  free(r->inv_norm);
  free(r->floor);
  free(r->threshold);
  free(r->floor_mine);
  free(r->bits);
}

/* `anchors` (n_anchors >= 1 rows of d) are copied and L2-normalised; one
 * keeper of `k` per anchor; `rows` says where the subpool's rows come from. */
static alq_err retrieval_init(retrieval *r, const alq_anchoral_options *opt, const alq_pool_meta *m,
                              const float *anchors, int64_t n_anchors, int64_t k, row_keeping rows) {
  memset(r, 0, sizeof *r);
  r->rows = rows;
  if (n_anchors < 1)
    return alq_error_set(ALQ_ERR_USAGE, "the retrieval needs at least one anchor");
  r->opt = opt;
  r->m = m;
  int64_t d = m->dim;
  r->n_anchors = n_anchors;
  ALQ_CHECK(alq_malloc_aligned(&r->anchors, sizeof(float) * d * (n_anchors ? n_anchors : 1), "anchor embeddings"));
  double largest = 0;
  for (int64_t a = 0; a < n_anchors; a++) {
    const float *e = anchors + a * d;
    float nn = alq_dot(e, e, d), inv = nn > 0 ? 1.0f / sqrtf(nn) : 0.0f;
    for (int64_t j = 0; j < d; j++)
      r->anchors[a * d + j] = e[j] * inv;
    double n2 = 0;
    for (int64_t j = 0; j < d; j++)
      n2 += (double)r->anchors[a * d + j] * r->anchors[a * d + j];
    largest = n2 > largest ? n2 : largest;
  }
  /* The bound GEMM's dot is within its allowance of alq_dot's; scaled by
   * 1/||x|| (||x|| / ||x|| = 1 to a few ulps) and rounded twice more.  The
   * allowance's absolute part, scaled by 1/||x|| <= 2^30 (INV_NORM_MAX), is
   * below 2^-80: inside the 4 eps. */
  ALQ_CHECK(alq_bound_gemm_create(&r->gemm, r->anchors, n_anchors, d, BLOCK_ROWS));
  double amax = sqrt(largest) * (1.0 + 1e-6);
  r->tol = 2.0f * (alq_bound_gemm_allowance(r->gemm, amax, 1.0 + amax) + 4.0f * FLT_EPSILON);
  r->n_heaps = n_anchors;
  r->k = k;
  /* BALD's expected entropies come with the mean of the same passes as probabilities (alq/pool.h). */
  r->with_entropy = rows != ROWS_NONE && opt->expected_entropy;
  r->with_probs = rows != ROWS_NONE && (m->has_probs || r->with_entropy);
  r->payload_bytes = rows == ROWS_IN_KEEPERS ? 4 * (d + (r->with_probs ? m->n_classes : 0) + (m->has_labels ? 1 : 0) +
                                      r->with_entropy) : 0;
  ALQ_CHECK(alq_calloc(&r->heaps, r->n_heaps, sizeof *r->heaps, "anchor heaps"));
  /* The keepers' compaction scratch, shared: one thread drives them all. */
  ALQ_CHECK(alq_malloc(&r->keys, sizeof *r->keys * (KEEPER_SLACK * r->k > 0 ? KEEPER_SLACK * r->k : 1),
                       "anchor compaction keys"));
  for (int64_t a = 0; a < r->n_heaps; a++)
    ALQ_CHECK(keeper_init(&r->heaps[a], r->k, r->payload_bytes, r->keys));
  ALQ_CHECK(alq_malloc(&r->sim, sizeof(float) * BLOCK_ROWS * (n_anchors ? n_anchors : 1), "similarities"));
  ALQ_CHECK(alq_malloc(&r->inv_norm, sizeof(float) * BLOCK_ROWS, "inverse norms"));
  ALQ_CHECK(alq_malloc(&r->floor, sizeof(float) * r->n_heaps, "heap floors"));
  ALQ_CHECK(alq_malloc(&r->threshold, sizeof(float) * r->n_heaps, "heap thresholds"));
  ALQ_CHECK(alq_malloc(&r->floor_mine, sizeof(float) * 4 * r->n_heaps, "shared floors"));
  int64_t groups = (n_anchors + ALQ_BOUND_GROUP - 1) / ALQ_BOUND_GROUP;
  ALQ_CHECK(alq_malloc(&r->bits, sizeof(uint64_t) * groups * BLOCK_ROWS, "filter bits"));
  for (int64_t a = 0; a < r->n_heaps; a++)
    r->floor[a] = r->threshold[a] = -INFINITY;
  return ALQ_OK;
}

/* Streams the shard and merges the heaps: every rank gets every heap's global
 * top k in *lists (n_heaps x k, padded with alq_scored_none()). */
static alq_err retrieval_pass(const alq_stream_request *stream, retrieval *r, const alq_labeled *labeled,
                              alq_scored **lists, double *merge_s, uint64_t *ids_checksum) {
  const alq_pool_meta *m = stream->meta;
  alq_stream_request sr = *stream;
  sr.fields = ALQ_FIELD_IDS | ALQ_FIELD_EMBEDDINGS;
  if (r->payload_bytes)
    sr.fields |= subpool_fields(r);
  alq_stream_result res = {0};
  int size;
  MPI_Comm_size(stream->comm, &size);
  for (int64_t a = 0; size > 1 && a < r->n_heaps; a++)
    r->heaps[a].k_share = (r->k + size - 1) / size; /* share_floors */
  alq_err err = alq_worker_stream_synced(&sr, retrieve_chunk, share_floors, r, &res);
  *ids_checksum = res.ids_checksum;
  for (int64_t j = 0; !err && j < labeled->n; j++)
    if (!res.labeled_found[j])
      err = alq_error_set(ALQ_ERR_INPUT, "labeled id %lld is not an id of pool %s", (long long)labeled->ids[j],
                          m->path);
  free(res.labeled_found);
  if (!err)
    err = merge_heaps(stream->comm, r, lists, merge_s);
  return err;
}

alq_err alq_anchoral_retrieve(const alq_stream_request *stream, const float *anchors, int64_t n_anchors, int64_t k,
                              alq_scored **lists, double *sgemm_seconds) {
  retrieval r;
  alq_anchoral_options opt = {0};
  alq_labeled labeled = {stream->n_labeled, (int64_t *)stream->labeled_ids, NULL};
  double merge_s = 0;
  uint64_t checksum = 0;
  *lists = NULL;
  alq_err err = alq_agree(stream->comm, retrieval_init(&r, &opt, stream->meta, anchors, n_anchors, k, ROWS_NONE));
  if (!err)
    err = retrieval_pass(stream, &r, &labeled, lists, &merge_s, &checksum);
  if (!err && sgemm_seconds) {
    double mine = r.sgemm_seconds;
    err = alq_allreduce(&mine, sgemm_seconds, 1, MPI_DOUBLE, MPI_MAX, stream->comm);
  }
  retrieval_free(&r);
  return err;
}

alq_err alq_anchoral_subpool(const alq_stream_request *stream, const alq_anchoral_options *opt,
                             const alq_labeled *labeled, const float *labeled_emb, alq_pool_data *local,
                             uint64_t *ids_checksum) {
  memset(local, 0, sizeof *local);
  MPI_Comm comm = stream->comm;
  const alq_pool_meta *m = stream->meta;
  /* Anchors, the same on every rank. */
  int64_t *chosen = NULL, n_anchors = 0;
  float *anchor_rows = NULL;
  alq_err err = alq_malloc(&chosen, sizeof *chosen * (labeled->n ? labeled->n : 1), "anchors");
  if (!err)
    err = alq_anchoral_choose(labeled, labeled_emb, m->dim, opt, chosen, &n_anchors);
  if (!err)
    err = alq_malloc(&anchor_rows, sizeof(float) * m->dim * (n_anchors ? n_anchors : 1), "anchor rows");
  for (int64_t a = 0; !err && a < n_anchors; a++)
    memcpy(anchor_rows + a * m->dim, labeled_emb + chosen[a] * m->dim, sizeof(float) * m->dim);
  free(chosen);
  retrieval r;
  memset(&r, 0, sizeof r);
  if (!err)
    err = retrieval_init(&r, opt, m, anchor_rows, n_anchors, opt->neighbors,
                         stream->source->ops->fetch_is_cheap ? ROWS_FETCHED : ROWS_IN_KEEPERS);
  r.source = stream->source;
  free(anchor_rows);
  err = alq_agree(comm, err);
  alq_scored *lists = NULL;
  double merge_s = 0;
  if (!err)
    err = retrieval_pass(stream, &r, labeled, &lists, &merge_s, ids_checksum);
  int64_t *sub = NULL, n_sub = 0;
  if (!err)
    err = alq_agree(comm, group_subpool(&r, lists, &sub, &n_sub));
  if (!err)
    err = alq_agree(comm, take_local_rows(&r, sub, n_sub, local));
  if (!err && opt->log_view)
    err = report(comm, &r, local, n_sub, merge_s);
  free(lists);
  free(sub);
  retrieval_free(&r);
  if (err)
    alq_pool_data_free(local);
  return err;
}

void alq_pool_data_free(alq_pool_data *d) {
  free(d->embeddings);
  free(d->probs);
  free(d->ids);
  free(d->labels);
  free(d->expected_entropy);
  memset(d, 0, sizeof *d);
}
