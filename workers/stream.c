/* workers/stream.c: the one loop that streams a worker's shard, reading the
 * next chunk while a compute thread consumes the current one (docs/design.md,
 * "Streaming"). */
#include <stdlib.h>
#include <string.h>

#include "alq/bound_filter.h"
#include "alq/comm.h"
#include "alq/dot.h"
#include "alq/fault.h"
#include "alq/hash.h"
#include "alq/id_index.h"
#include "alq/logview.h"
#include "alq/worker.h"
#include "alq/sorted_ids.h"
#include "compute_thread.h"
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
  if ((fields & ALQ_FIELD_EMBEDDINGS) && (fields & ALQ_FIELD_HALF_EMBEDDINGS))
    ALQ_CHECK(alq_malloc_aligned(&b->rows.half, sizeof(uint16_t) * rows * m->dim, "chunk stored halves"));
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
  free(b->rows.half);
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
  alq_rows rows = b->rows;
  if (req->mapped_half) {
    /* The chunk's rows as the file stores them.  Nothing writes through
     * alq_rows.half here (validation and consumers only read), so the
     * read-only mapping may stand in for a buffer. */
    rows.half = (uint16_t *)(req->mapped_half + (lo - req->shard.lo) * m->dim);
    rows.half_filled = 1;
  }
  ALQ_CHECK(alq_rows_validate(m, &rows, lo, count, req->fields));
  for (int64_t i = 0; i < count; i++) {
    if (b->rows.ids[i] <= order->last)
      order->increasing = 0;
    order->last = b->rows.ids[i];
  }
  res->ids_checksum += alq_ids_checksum(b->rows.ids, count, lo);
  mark_labeled(req, b->rows.ids, count, b->is_labeled, res->labeled_found);
  for (int64_t i = 0; i < count; i++)
    res->n_unlabeled += !b->is_labeled[i];
  alq_chunk_view view = {&rows, b->is_labeled, count, lo};
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

/* The rows of chunk c of this rank's shard (0 past its end). */
static int64_t chunk_count(const alq_stream_request *req, int64_t c, int64_t chunk_rows, int64_t my_chunks) {
  int64_t lo = req->shard.lo + c * chunk_rows;
  return c < my_chunks ? (req->shard.hi - lo < chunk_rows ? req->shard.hi - lo : chunk_rows) : 0;
}

/* What a pass needs besides its request: the consumer, the result, the id order. */
typedef struct {
  const alq_stream_request *req;
  alq_stream_result *res;
  id_order *order;
  alq_chunk_consumer consume;
  alq_chunk_sync sync;
  void *ctx;
  unsigned fields;
  int64_t chunk_rows, my_chunks, n_chunks;
  /* The chunk being computed. */
  chunk_buffers *b;
  int64_t lo, count;
} pass;

/* Validates, marks and consumes the chunk of p->b (the SCORE phase).  Runs
 * on the compute thread when reads overlap: no MPI, no HDF5. */
static alq_err compute_chunk(void *arg) {
  pass *p = arg;
  alq_phase_begin(ALQ_PHASE_SCORE);
  alq_err err = process_chunk(p->req, p->res, p->b, p->lo, p->count, p->order, p->consume, p->ctx);
  alq_phase_end(ALQ_PHASE_SCORE);
  return err;
}

/* The consumer's collective step after every read step (on this thread). */
static alq_err sync_step(const pass *p, alq_err local) {
  if (!p->sync)
    return local;
  alq_err e = p->sync(p->ctx, p->req->comm);
  return local ? local : e;
}

/* Why this rank reads and computes in turn, or NULL when the next chunk's
 * read can overlap the current chunk's compute: the compute thread makes no
 * HDF5 and no MPI call, so only the main thread calls MPI (FUNNELED). */
static const char *serial_reason(const alq_stream_request *req, int64_t n_chunks) {
  const char *env = getenv("ALQ_OVERLAP");
  if (env && strcmp(env, "0") == 0)
    return "ALQ_OVERLAP=0";
  if (!alq_stream_may_overlap(req->meta->path))
    return "gen: rows are computed, not read";
  if (strcmp(req->source->ops->kind, "memory") == 0)
    return "rows already in memory";
  if (n_chunks < 2)
    return "one chunk";
  int level = MPI_THREAD_SINGLE, is_main = 0;
  MPI_Query_thread(&level);
  MPI_Is_thread_main(&is_main);
  if (level < MPI_THREAD_FUNNELED || !is_main)
    return "MPI initialised without thread support (MPI_Init_thread with MPI_THREAD_FUNNELED needed)";
  return NULL;
}

/* The read step of rows [lo, lo+count) into `into`: the source's read of
 * the fields it reads (every field but mapped rows), and the mapped rows'
 * stored bytes charged to the READ phase as if read: the compute thread
 * reads them from the mapping. */
static alq_err read_chunk(const pass *p, int64_t lo, int64_t count, alq_rows *into) {
  alq_err err = alq_source_read(p->req->source, lo, count, p->fields, into);
  if (p->req->mapped_half && count > 0) {
    alq_phase_begin(ALQ_PHASE_READ);
    alq_log_bytes_read(count * p->req->meta->dim * (int64_t)sizeof(uint16_t));
    alq_phase_end(ALQ_PHASE_READ);
  }
  return err;
}

/* One chunk after the other: read, compute, sync, on this thread. */
static alq_err stream_serial(pass *p, chunk_buffers *b, alq_progress *progress) {
  alq_err local = ALQ_OK;
  for (int64_t c = 0; c < p->n_chunks; c++) {
    int64_t lo = p->req->shard.lo + c * p->chunk_rows;
    /* a failed rank keeps joining the collective reads, with nothing to read */
    int64_t count = local ? 0 : chunk_count(p->req, c, p->chunk_rows, p->my_chunks);
    alq_err e = read_chunk(p, lo, count, &b->rows);
    local = local ? local : e;
    if (!local && count > 0) {
      if (p->res->rows_read == 0)
        p->order->first = b->rows.ids[0];
      p->b = b, p->lo = lo, p->count = count;
      local = compute_chunk(p);
      p->res->rows_read += count;
    }
    local = sync_step(p, local);
    alq_progress_update(progress, (double)(c + 1) / (double)p->n_chunks);
  }
  return local;
}

/* Double-buffered: while the compute thread validates and consumes chunk c
 * in one buffer, this thread reads chunk c + 1 into the other, then waits
 * for the compute and makes the consumer's sync of chunk c before chunk
 * c + 1's compute starts.  Chunks are consumed in the same order and with
 * the same synced state as by stream_serial, so the consumer's state (and
 * the batch) is the same.  The collective calls come in another order than
 * serially (read c + 1 before sync c), the same on every rank.  An error of
 * chunk c's compute wins over one of chunk c + 1's read, as it would
 * serially; either way later chunks are not consumed and their collective
 * reads are made with nothing to read. */
static alq_err stream_overlapped(pass *p, chunk_buffers b[2], alq_compute_thread *t, alq_progress *progress,
                                 alq_overlap_stats *ov) {
  const alq_stream_request *req = p->req;
  double t0 = alq_log_clock();
  int64_t count = chunk_count(req, 0, p->chunk_rows, p->my_chunks);
  alq_err local = read_chunk(p, req->shard.lo, count, &b[0].rows);
  ov->compute_waited += alq_log_clock() - t0; /* nothing to compute before the first chunk */
  for (int64_t c = 0, cur = 0; c < p->n_chunks; c++, cur = 1 - cur) {
    int computing = !local && count > 0;
    if (computing) {
      if (p->res->rows_read == 0)
        p->order->first = b[cur].rows.ids[0];
      p->b = &b[cur], p->lo = req->shard.lo + c * p->chunk_rows, p->count = count;
      alq_compute_post(t, compute_chunk, p);
    }
    int64_t next = 0;
    alq_err read_err = ALQ_OK;
    double read_end = alq_log_clock();
    if (c + 1 < p->n_chunks) {
      next = local ? 0 : chunk_count(req, c + 1, p->chunk_rows, p->my_chunks);
      /* next > 0 means this rank has two chunks or more, so b[1] exists; an
       * empty read writes nothing, so it may name the buffer in use. */
      alq_rows *into = next > 0 ? &b[1 - cur].rows : &b[cur].rows;
      read_err = read_chunk(p, req->shard.lo + (c + 1) * p->chunk_rows, next, into);
      read_end = alq_log_clock();
    }
    if (computing) {
      alq_phase_wait_begin();
      alq_err e = alq_compute_wait(t);
      alq_phase_wait_end();
      double now = alq_log_clock();
      ov->read_waited += now - read_end;
      ov->compute_waited += read_end > t->done_at ? read_end - t->done_at : 0;
      ov->overlapped_chunks++;
      p->res->rows_read += count;
      if (e && !local) {
        alq_error_replace(alq_compute_message(t));
        local = e;
      }
    }
    local = sync_step(p, local);
    local = local ? local : read_err;
    count = next;
    alq_progress_update(progress, (double)(c + 1) / (double)p->n_chunks);
  }
  return local;
}

/* Collective over the pass's chunks: overlapped when every rank can,
 * otherwise serial everywhere (the two make their collective calls in
 * different orders, so the ranks must agree). */
static alq_err stream_chunks(pass *p, chunk_buffers b[2], alq_progress *progress) {
  alq_overlap_stats ov = {0};
  double started = alq_log_clock();
  ov.serial_reason = serial_reason(p->req, p->n_chunks);
  if (!ov.serial_reason && p->my_chunks > 1) {
    /* The second buffer (the memory plan counts it, coordinator/memory_plan.c). */
    int had_message = alq_error_message()[0] != '\0';
    if (chunk_alloc(&b[1], p->req->meta, p->chunk_rows, p->fields) != ALQ_OK) {
      ov.serial_reason = "no memory for a second chunk buffer";
      if (!had_message)
        alq_error_clear(); /* not an error: the pass runs serially */
    }
  }
  /* Kernels pick their path on first use: pick them here, before the thread. */
  (void)alq_dot_path();
  (void)alq_bound_filter_path();
  alq_compute_thread t;
  int started_thread = !ov.serial_reason && alq_compute_start(&t);
  if (!ov.serial_reason && !started_thread)
    ov.serial_reason = "no compute thread could be started";
  int mine = ov.serial_reason == NULL, all = 0;
  alq_err err = alq_allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, p->req->comm);
  if (!err && !all && !ov.serial_reason)
    ov.serial_reason = "another rank could not overlap";
  alq_err local = err;
  if (!err && ov.serial_reason) {
    ov.serial_passes = 1;
    local = stream_serial(p, &b[0], progress);
  } else if (!err) {
    ov.overlapped_passes = 1;
    local = stream_overlapped(p, b, &t, progress, &ov);
  }
  if (started_thread)
    alq_compute_stop(&t);
  ov.seconds = alq_log_clock() - started;
  alq_log_overlap_add(&ov);
  return local;
}

int alq_stream_may_overlap(const char *pool_path) {
  const char *env = getenv("ALQ_OVERLAP");
  if (env && strcmp(env, "0") == 0)
    return 0;
  return strncmp(pool_path, "gen:", 4) != 0;
}

alq_err alq_worker_stream(const alq_stream_request *req, alq_chunk_consumer consume, void *ctx,
                          alq_stream_result *res) {
  return alq_worker_stream_synced(req, consume, NULL, ctx, res);
}

alq_err alq_worker_stream_synced(const alq_stream_request *req, alq_chunk_consumer consume, alq_chunk_sync sync,
                                 void *ctx, alq_stream_result *res) {
  memset(res, 0, sizeof *res);
  unsigned fields = req->fields | ALQ_FIELD_IDS;
  if (req->mapped_half) /* the rows are there already: the source reads the rest */
    fields &= ~(unsigned)(ALQ_FIELD_EMBEDDINGS | ALQ_FIELD_HALF_EMBEDDINGS | ALQ_FIELD_HALVES_ONLY);
  int64_t shard_rows = req->shard.hi - req->shard.lo;
  int64_t chunk_rows = req->chunk_rows < shard_rows ? req->chunk_rows : shard_rows;
  chunk_buffers b[2];
  memset(b, 0, sizeof b);
  alq_err err = chunk_alloc(&b[0], req->meta, chunk_rows > 0 ? chunk_rows : 1, fields);
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
  if (!err) {
    pass p = {req, res, &order, consume, sync, ctx, fields, chunk_rows, my_chunks, n_chunks, NULL, 0, 0};
    local = stream_chunks(&p, b, &progress);
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
  chunk_free(&b[0]);
  chunk_free(&b[1]);
  if (err) {
    free(res->labeled_found);
    res->labeled_found = NULL;
  }
  return err;
}
