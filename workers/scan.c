/* workers/scan.c: one streaming pass of a worker over its shard. */
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/logview.h"
#include "alq/scored.h"
#include "alq/worker.h"

int64_t alq_default_chunk_rows(const alq_pool_meta *meta) {
  int64_t row_bytes = 4 * (meta->dim + (meta->has_probs ? meta->n_classes : 0)) + 16;
  int64_t rows = ((int64_t)8 << 20) / row_bytes;
  int64_t unit = meta->chunk_rows > 0 ? meta->chunk_rows : 1;
  rows = (rows / unit) * unit;
  return rows < unit ? unit : rows;
}

/* Buffers for one chunk. */
typedef struct {
  alq_rows rows;
  double *scores;
  unsigned char *is_labeled;
} chunk_buffers;

static alq_err chunk_alloc(chunk_buffers *b, const alq_pool_meta *m, int64_t rows, unsigned fields) {
  memset(b, 0, sizeof *b);
  ALQ_CHECK(alq_malloc(&b->rows.ids, sizeof(int64_t) * rows, "chunk ids"));
  ALQ_CHECK(alq_malloc(&b->scores, sizeof(double) * rows, "chunk scores"));
  ALQ_CHECK(alq_malloc(&b->is_labeled, rows, "chunk labeled flags"));
  if (fields & ALQ_FIELD_EMBEDDINGS)
    ALQ_CHECK(alq_malloc_aligned(&b->rows.embeddings, sizeof(float) * rows * m->dim, "chunk embeddings"));
  if (fields & ALQ_FIELD_PROBS)
    ALQ_CHECK(alq_malloc(&b->rows.probs, sizeof(float) * rows * m->n_classes, "chunk probabilities"));
  return ALQ_OK;
}

static void chunk_free(chunk_buffers *b) {
  free(b->rows.ids);
  free(b->rows.embeddings);
  free(b->rows.probs);
  free(b->scores);
  free(b->is_labeled);
}

/* Growable store of the labeled items this shard owns. */
static alq_err labeled_append(alq_centers *c, int64_t *cap, int64_t id, const float *emb, int64_t dim) {
  if (c->n == *cap) {
    int64_t ncap = *cap ? 2 * *cap : 64;
    int64_t *ids = realloc(c->ids, sizeof *ids * ncap);
    if (!ids)
      return alq_error_set(ALQ_ERR_MEMORY, "cannot grow the labeled-item store to %lld items", (long long)ncap);
    c->ids = ids;
    if (emb) {
      float *e = realloc(c->embeddings, sizeof *e * ncap * dim);
      if (!e)
        return alq_error_set(ALQ_ERR_MEMORY, "cannot grow the labeled embeddings to %lld items", (long long)ncap);
      c->embeddings = e;
    }
    *cap = ncap;
  }
  c->ids[c->n] = id;
  if (emb)
    memcpy(c->embeddings + c->n * dim, emb, sizeof *emb * dim);
  c->n++;
  return ALQ_OK;
}

/* Marks the chunk's labeled rows.  Both id lists are sorted, so one merge walk
 * from the first labeled id >= the chunk's first id is enough. */
static void mark_labeled(const alq_scan_request *req, const int64_t *ids, int64_t n, unsigned char *is_labeled,
                         unsigned char *found) {
  const int64_t *L = req->labeled_ids;
  int64_t lo = 0, hi = req->n_labeled;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (L[mid] < ids[0])
      lo = mid + 1;
    else
      hi = mid;
  }
  int64_t j = lo;
  for (int64_t i = 0; i < n; i++) {
    while (j < req->n_labeled && L[j] < ids[i])
      j++;
    is_labeled[i] = j < req->n_labeled && L[j] == ids[i];
    if (is_labeled[i])
      found[j] = 1;
  }
}

static alq_err process_chunk(const alq_scan_request *req, alq_scan_result *res, chunk_buffers *b, int64_t lo,
                             int64_t count, unsigned fields, int64_t *prev_id, alq_topk *kept,
                             int64_t *labeled_cap) {
  const alq_pool_meta *m = req->meta;
  ALQ_CHECK(alq_rows_validate(m, &b->rows, lo, count, fields));
  for (int64_t i = 0; i < count; i++) {
    if (b->rows.ids[i] <= *prev_id)
      return alq_error_set(ALQ_ERR_INPUT, "%s: /ids row %lld is %lld, not greater than the previous id %lld (ids must be strictly increasing)",
                           m->path, (long long)(lo + i), (long long)b->rows.ids[i], (long long)*prev_id);
    *prev_id = b->rows.ids[i];
  }
  mark_labeled(req, b->rows.ids, count, b->is_labeled, res->labeled_found);
  if (req->strategy->score) {
    alq_chunk chunk = {count, b->rows.ids, b->rows.probs, b->rows.embeddings, m->n_classes, m->dim, req->seed};
    ALQ_CHECK(req->strategy->score(&chunk, b->scores));
  } else {
    memset(b->scores, 0, sizeof(double) * count);
  }
  const float *emb = req->keep_embeddings ? b->rows.embeddings : NULL;
  for (int64_t i = 0; i < count; i++) {
    const float *row = emb ? emb + i * m->dim : NULL;
    if (b->is_labeled[i]) {
      ALQ_CHECK(labeled_append(&res->labeled, labeled_cap, b->rows.ids[i], row, m->dim));
    } else {
      res->n_unlabeled++;
      alq_topk_push(kept, (alq_scored){b->scores[i], b->rows.ids[i]}, row);
    }
  }
  return ALQ_OK;
}

/* Ids must increase across shard boundaries too: each rank compares its first
 * id with the last id of the nearest non-empty shard before it. */
static alq_err check_ids_across_shards(const alq_scan_request *req, int64_t first_id, int64_t last_id) {
  int size, rank;
  MPI_Comm_size(req->comm, &size);
  MPI_Comm_rank(req->comm, &rank);
  int64_t mine[2] = {first_id, last_id}, *all = NULL;
  alq_err err = alq_agree(req->comm, alq_malloc(&all, sizeof *all * 2 * size, "shard id bounds"));
  if (!err)
    err = alq_allgather_bytes(mine, sizeof mine, all, req->comm);
  int64_t prev_last = INT64_MIN;
  for (int r = 0; !err && r < size; r++) {
    if (all[2 * r] == INT64_MIN && all[2 * r + 1] == INT64_MIN)
      continue; /* empty shard */
    if (all[2 * r] <= prev_last) {
      alq_range s = alq_partition_rows(req->meta->n_items, req->chunk_align, size, r);
      err = alq_error_set(ALQ_ERR_INPUT, "%s: /ids row %lld is %lld, not greater than the previous id %lld (ids must be strictly increasing)",
                          req->meta->path, (long long)s.lo, (long long)all[2 * r], (long long)prev_last);
    }
    prev_last = all[2 * r + 1];
  }
  free(all);
  return err;
}

/* Moves the sorted keeper into the candidate arrays. */
static alq_err take_candidates(alq_topk *kept, int64_t dim, alq_candidates *c) {
  ALQ_CHECK(alq_topk_sort(kept));
  c->n = kept->n;
  c->dim = dim;
  ALQ_CHECK(alq_malloc(&c->ids, sizeof *c->ids * (c->n ? c->n : 1), "candidate ids"));
  ALQ_CHECK(alq_malloc(&c->scores, sizeof *c->scores * (c->n ? c->n : 1), "candidate scores"));
  for (int64_t i = 0; i < c->n; i++) {
    c->ids[i] = kept->heap[i].id;
    c->scores[i] = kept->heap[i].score;
  }
  c->embeddings = (float *)kept->payload;
  kept->payload = NULL;
  return ALQ_OK;
}

alq_err alq_worker_scan(const alq_scan_request *req, alq_scan_result *res) {
  const alq_pool_meta *m = req->meta;
  memset(res, 0, sizeof *res);
  res->labeled.dim = m->dim;
  unsigned fields = ALQ_FIELD_IDS;
  if (req->strategy->needs & ALQ_NEEDS_PROBS)
    fields |= ALQ_FIELD_PROBS;
  if ((req->strategy->needs & ALQ_NEEDS_EMBEDDINGS) || req->keep_embeddings)
    fields |= ALQ_FIELD_EMBEDDINGS;

  int64_t shard_rows = req->shard.hi - req->shard.lo;
  int64_t keep = req->keep < 0 || req->keep > shard_rows ? shard_rows : req->keep;
  int64_t chunk_rows = req->chunk_rows < shard_rows ? req->chunk_rows : shard_rows;
  chunk_buffers b;
  alq_topk kept;
  memset(&kept, 0, sizeof kept);
  int64_t labeled_cap = 0;
  alq_err err = chunk_alloc(&b, m, chunk_rows > 0 ? chunk_rows : 1, fields);
  if (!err)
    err = alq_topk_init(&kept, keep, req->keep_embeddings ? (int64_t)sizeof(float) * m->dim : 0);
  if (!err)
    err = alq_calloc(&res->labeled_found, req->n_labeled ? req->n_labeled : 1, 1, "labeled flags");
  err = alq_agree(req->comm, err);

  /* Collective reads: every rank makes the same number of read calls. */
  int64_t my_chunks = chunk_rows > 0 ? (shard_rows + chunk_rows - 1) / chunk_rows : 0, n_chunks = 0;
  if (!err)
    err = alq_allreduce(&my_chunks, &n_chunks, 1, MPI_INT64_T, MPI_MAX, req->comm);
  int64_t prev_id = INT64_MIN, first_id = INT64_MIN;
  alq_err local = ALQ_OK;
  for (int64_t c = 0; !err && c < n_chunks; c++) {
    int64_t lo = req->shard.lo + c * chunk_rows;
    int64_t count = c < my_chunks ? (req->shard.hi - lo < chunk_rows ? req->shard.hi - lo : chunk_rows) : 0;
    if (local)
      count = 0; /* a failed rank keeps joining the collective reads, with nothing to read */
    alq_err e = alq_source_read(req->source, lo, count, fields, &b.rows);
    local = local ? local : e;
    if (!local && count > 0) {
      alq_phase_begin(ALQ_PHASE_SCORE);
      local = process_chunk(req, res, &b, lo, count, fields, &prev_id, &kept, &labeled_cap);
      alq_phase_end(ALQ_PHASE_SCORE);
      if (res->rows_read == 0)
        first_id = b.rows.ids[0];
      res->rows_read += count;
    }
  }
  if (!err)
    err = alq_agree(req->comm, local);
  if (!err)
    err = check_ids_across_shards(req, res->rows_read ? first_id : INT64_MIN, prev_id);
  if (!err)
    err = take_candidates(&kept, m->dim, &res->candidates);
  err = alq_agree(req->comm, err);
  if (!err && req->n_labeled > 0) {
    /* Which labeled ids exist anywhere: a bitwise OR over ranks. */
    unsigned char *all = NULL;
    err = alq_malloc(&all, req->n_labeled, "labeled flags");
    err = alq_agree(req->comm, err);
    if (!err)
      err = alq_allreduce(res->labeled_found, all, (int)req->n_labeled, MPI_UNSIGNED_CHAR, MPI_BOR, req->comm);
    if (!err) {
      free(res->labeled_found);
      res->labeled_found = all;
    } else {
      free(all);
    }
  }
  chunk_free(&b);
  alq_topk_free(&kept);
  if (err)
    alq_scan_result_free(res);
  return err;
}

void alq_scan_result_free(alq_scan_result *res) {
  free(res->candidates.ids);
  free(res->candidates.scores);
  free(res->candidates.embeddings);
  free(res->labeled.ids);
  free(res->labeled.embeddings);
  free(res->labeled_found);
  memset(res, 0, sizeof *res);
}
