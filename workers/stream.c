/* workers/stream.c: the one loop that streams a worker's shard. */
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/fault.h"
#include "alq/hash.h"
#include "alq/id_index.h"
#include "alq/logview.h"
#include "alq/worker.h"
#include "alq/sorted_ids.h"
#include "progress.h"

int64_t alq_default_chunk_rows(const alq_pool_meta *meta) {
  int64_t row_bytes = 4 * (meta->dim + (meta->has_probs ? meta->n_classes : 0)) + 16;
  int64_t rows = ((int64_t)8 << 20) / row_bytes;
  int64_t unit = meta->chunk_rows > 0 ? meta->chunk_rows : 1;
  rows = (rows / unit) * unit;
  return rows < unit ? unit : rows;
}

typedef struct {
  alq_rows rows;
  unsigned char *is_labeled;
} chunk_buffers;

static alq_err chunk_alloc(chunk_buffers *b, const alq_pool_meta *m, int64_t rows, unsigned fields) {
  memset(b, 0, sizeof *b);
  ALQ_CHECK(alq_malloc(&b->rows.ids, sizeof(int64_t) * rows, "chunk ids"));
  ALQ_CHECK(alq_malloc(&b->is_labeled, rows, "chunk labeled flags"));
  if (fields & ALQ_FIELD_EMBEDDINGS)
    ALQ_CHECK(alq_malloc_aligned(&b->rows.embeddings, sizeof(float) * rows * m->dim, "chunk embeddings"));
  if (fields & ALQ_FIELD_PROBS)
    ALQ_CHECK(alq_malloc(&b->rows.probs, sizeof(float) * rows * m->n_classes, "chunk probabilities"));
  if (fields & ALQ_FIELD_LABELS)
    ALQ_CHECK(alq_malloc(&b->rows.labels, sizeof(int32_t) * rows, "chunk labels"));
  if (fields & ALQ_FIELD_EXPECTED_ENTROPY)
    ALQ_CHECK(alq_malloc(&b->rows.expected_entropy, sizeof(float) * rows, "chunk expected entropies"));
  return ALQ_OK;
}

static void chunk_free(chunk_buffers *b) {
  free(b->rows.ids);
  free(b->rows.embeddings);
  free(b->rows.probs);
  free(b->rows.labels);
  free(b->rows.expected_entropy);
  free(b->is_labeled);
}

/* The position of `id` in the sorted labeled ids, or -1. */
static int64_t labeled_position(const alq_stream_request *req, int64_t id) {
  return alq_ids_find(req->labeled_ids, req->n_labeled, id);
}

/* Marks the chunk's labeled rows: one binary search per row, since the
 * pool's ids may come in any order. */
static void mark_labeled(const alq_stream_request *req, const int64_t *ids, int64_t n, unsigned char *is_labeled,
                         unsigned char *found) {
  for (int64_t i = 0; i < n; i++) {
    int64_t j = req->n_labeled ? labeled_position(req, ids[i]) : -1;
    is_labeled[i] = j >= 0;
    if (j >= 0)
      found[j] = 1;
  }
}

/* Tracks whether this shard's ids increase: then no id can repeat within it. */
typedef struct {
  int64_t first, last;
  int increasing;
} id_order;

static alq_err process_chunk(const alq_stream_request *req, alq_stream_result *res, chunk_buffers *b, int64_t lo,
                             int64_t count, id_order *order, alq_chunk_consumer consume, void *ctx) {
  const alq_pool_meta *m = req->meta;
  ALQ_CHECK(alq_rows_validate(m, &b->rows, lo, count, req->fields));
  for (int64_t i = 0; i < count; i++) {
    if (b->rows.ids[i] <= order->last)
      order->increasing = 0;
    order->last = b->rows.ids[i];
  }
  res->ids_checksum += alq_ids_checksum(b->rows.ids, count, lo);
  mark_labeled(req, b->rows.ids, count, b->is_labeled, res->labeled_found);
  for (int64_t i = 0; i < count; i++)
    res->n_unlabeled += !b->is_labeled[i];
  alq_chunk_view view = {&b->rows, b->is_labeled, count, lo};
  return consume(ctx, &view);
}

/* 1 on every rank when the pool's ids increase down the rows (within every
 * shard and across shard boundaries): then they are unique without an index. */
static alq_err ids_increase(const alq_stream_request *req, const id_order *order, int64_t rows_read, int *increasing) {
  int size;
  MPI_Comm_size(req->comm, &size);
  int64_t mine[3] = {rows_read ? order->first : INT64_MIN, order->last, order->increasing}, *all = NULL;
  alq_err err = alq_agree(req->comm, alq_malloc(&all, sizeof *all * 3 * size, "shard id bounds"));
  if (!err)
    err = alq_allgather_bytes(mine, sizeof mine, all, req->comm);
  int64_t prev_last = INT64_MIN;
  *increasing = 1;
  for (int r = 0; !err && r < size; r++) {
    if (all[3 * r] == INT64_MIN && all[3 * r + 1] == INT64_MIN)
      continue; /* empty shard */
    if (!all[3 * r + 2] || all[3 * r] <= prev_last)
      *increasing = 0;
    prev_last = all[3 * r + 1];
  }
  free(all);
  return err;
}

/* Ids in any other order: the shard's ids are read once more (ids only, a
 * small fraction of the bytes of a row) into the distributed id index, which
 * refuses a duplicated id naming both rows. */
static alq_err ids_unique(const alq_stream_request *req) {
  int64_t n = req->shard.hi - req->shard.lo, chunk = req->chunk_rows > 0 ? req->chunk_rows : 1, n_chunks = 0;
  int64_t *ids = NULL;
  alq_err err = alq_agree(req->comm, alq_malloc(&ids, sizeof *ids * (size_t)(n ? n : 1), "shard ids"));
  int64_t my_chunks = (n + chunk - 1) / chunk;
  if (!err)
    err = alq_allreduce(&my_chunks, &n_chunks, 1, MPI_INT64_T, MPI_MAX, req->comm);
  alq_err local = ALQ_OK;
  for (int64_t c = 0; !err && c < n_chunks; c++) {
    int64_t count = c < my_chunks && !local ? (n - c * chunk < chunk ? n - c * chunk : chunk) : 0;
    alq_rows rows = {.ids = ids + (count ? c * chunk : 0)};
    alq_err e = alq_source_read(req->source, req->shard.lo + c * chunk, count, ALQ_FIELD_IDS, &rows);
    local = local ? local : e;
  }
  if (!err)
    err = alq_agree(req->comm, local);
  alq_id_index index;
  if (!err)
    err = alq_id_index_build(req->comm, req->meta->path, alq_layout_name(&req->meta->layout, ALQ_FIELD_IDS), ids, n,
                             req->shard.lo, &index);
  if (!err)
    alq_id_index_free(&index);
  free(ids);
  return err;
}

/* Which labeled ids exist anywhere: a bitwise OR over ranks. */
static alq_err reduce_found(const alq_stream_request *req, alq_stream_result *res) {
  if (req->n_labeled == 0)
    return ALQ_OK;
  unsigned char *all = NULL;
  alq_err err = alq_agree(req->comm, alq_malloc(&all, req->n_labeled, "labeled flags"));
  if (!err)
    err = alq_allreduce(res->labeled_found, all, req->n_labeled, MPI_UNSIGNED_CHAR, MPI_BOR, req->comm);
  if (err) {
    free(all);
    return err;
  }
  free(res->labeled_found);
  res->labeled_found = all;
  return ALQ_OK;
}

alq_err alq_worker_stream(const alq_stream_request *req, alq_chunk_consumer consume, void *ctx,
                          alq_stream_result *res) {
  return alq_worker_stream_synced(req, consume, NULL, ctx, res);
}

alq_err alq_worker_stream_synced(const alq_stream_request *req, alq_chunk_consumer consume, alq_chunk_sync sync,
                                 void *ctx, alq_stream_result *res) {
  memset(res, 0, sizeof *res);
  unsigned fields = req->fields | ALQ_FIELD_IDS;
  int64_t shard_rows = req->shard.hi - req->shard.lo;
  int64_t chunk_rows = req->chunk_rows < shard_rows ? req->chunk_rows : shard_rows;
  chunk_buffers b;
  alq_err err = chunk_alloc(&b, req->meta, chunk_rows > 0 ? chunk_rows : 1, fields);
  if (!err)
    err = alq_calloc(&res->labeled_found, req->n_labeled ? req->n_labeled : 1, 1, "labeled flags");
  err = alq_agree(req->comm, err);

  /* Collective reads: every rank makes the same number of read calls. */
  int64_t my_chunks = chunk_rows > 0 ? (shard_rows + chunk_rows - 1) / chunk_rows : 0, n_chunks = 0;
  if (!err)
    err = alq_allreduce(&my_chunks, &n_chunks, 1, MPI_INT64_T, MPI_MAX, req->comm);
  id_order order = {INT64_MIN, INT64_MIN, 1};
  alq_err local = ALQ_OK;
  int rank;
  MPI_Comm_rank(req->comm, &rank);
  alq_progress progress;
  alq_progress_start(&progress, "streamed", req->meta->n_items, rank == 0 && req->progress);
  for (int64_t c = 0; !err && c < n_chunks; c++) {
    int64_t lo = req->shard.lo + c * chunk_rows;
    int64_t count = c < my_chunks ? (req->shard.hi - lo < chunk_rows ? req->shard.hi - lo : chunk_rows) : 0;
    if (local)
      count = 0; /* a failed rank keeps joining the collective reads, with nothing to read */
    alq_err e = alq_source_read(req->source, lo, count, fields, &b.rows);
    local = local ? local : e;
    if (!local && count > 0) {
      alq_phase_begin(ALQ_PHASE_SCORE);
      if (res->rows_read == 0)
        order.first = b.rows.ids[0];
      local = process_chunk(req, res, &b, lo, count, &order, consume, ctx);
      alq_phase_end(ALQ_PHASE_SCORE);
      res->rows_read += count;
    }
    if (sync) {
      alq_err e2 = sync(ctx, req->comm);
      local = local ? local : e2;
    }
    alq_progress_update(&progress, (double)(c + 1) / (double)n_chunks);
  }
  alq_progress_finish(&progress);
  local = local ? local : alq_fault_point("stream");
  if (!err)
    err = alq_agree(req->comm, local);
  int increasing = 1;
  if (!err)
    err = ids_increase(req, &order, res->rows_read, &increasing);
  if (!err && !increasing)
    err = ids_unique(req);
  if (!err)
    err = reduce_found(req, res);
  if (!err) {
    uint64_t mine = res->ids_checksum; /* a sum modulo 2^64: the same in any order */
    err = alq_allreduce(&mine, &res->ids_checksum, 1, MPI_UINT64_T, MPI_SUM, req->comm);
  }
  chunk_free(&b);
  if (err) {
    free(res->labeled_found);
    res->labeled_found = NULL;
  }
  return err;
}
