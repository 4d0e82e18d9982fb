/* api/pieces.c: the ranks' pieces of a pool in memory, as alq_select_pool
 * reads them: the pool's shape, the rows of alq's shards, the labeled rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/sorted_ids.h"
#include "api_impl.h"

typedef struct {
  int64_t n_rows, dim, n_classes, has_ids;
} piece_shape;

static alq_err check_piece(const char *name, const alq_api_pool *p) {
  if (p->n_rows < 0 || p->dim < 1 || p->n_classes < 0)
    return alq_error_set(ALQ_ERR_USAGE, "%s: a piece of %lld rows, %lld columns and %lld classes is not a pool", name,
                         (long long)p->n_rows, (long long)p->dim, (long long)p->n_classes);
  if (p->n_rows > 0 && (!p->embeddings || (p->n_classes > 0 && !p->probs)))
    return alq_error_set(ALQ_ERR_USAGE, "%s: %lld rows but no %s array", name, (long long)p->n_rows,
                         p->embeddings ? "probs" : "embeddings");
  return ALQ_OK;
}

/* The same verdict on every rank: it is computed from the gathered shapes. */
static alq_err check_shapes(const char *name, const piece_shape *all, int nranks) {
  for (int q = 1; q < nranks; q++) {
    if (all[q].dim != all[0].dim)
      return alq_error_set(ALQ_ERR_INPUT, "%s: embeddings have %lld columns on rank %d but %lld on rank 0", name,
                           (long long)all[q].dim, q, (long long)all[0].dim);
    if (all[q].n_classes != all[0].n_classes)
      return alq_error_set(ALQ_ERR_INPUT, "%s: probs have %lld columns on rank %d but %lld on rank 0", name,
                           (long long)all[q].n_classes, q, (long long)all[0].n_classes);
    if (all[q].has_ids != all[0].has_ids)
      return alq_error_set(ALQ_ERR_INPUT, "%s: ids are given on rank %d but not on rank %d", name,
                           all[q].has_ids ? q : 0, all[q].has_ids ? 0 : q);
  }
  return ALQ_OK;
}

alq_err alq_api_describe(MPI_Comm comm, const alq_api_pool *piece, alq_pool_meta *meta, alq_api_layout *layout) {
  int nranks;
  MPI_Comm_size(comm, &nranks);
  memset(meta, 0, sizeof *meta);
  memset(layout, 0, sizeof *layout);
  const char *name = piece->name ? piece->name : "arrays";
  ALQ_CHECK(alq_agree(comm, check_piece(name, piece)));
  piece_shape mine = {piece->n_rows, piece->dim, piece->n_classes, piece->ids != NULL}, *all = NULL;
  alq_err err = alq_agree(comm, alq_malloc(&all, sizeof *all * nranks, "piece shapes"));
  if (!err)
    err = alq_agree(comm, alq_malloc(&layout->first_row, sizeof(int64_t) * (nranks + 1), "piece layout"));
  if (!err)
    err = alq_allgather_bytes(&mine, sizeof mine, all, comm);
  if (!err)
    err = check_shapes(name, all, nranks);
  if (!err) {
    layout->nranks = nranks;
    layout->first_row[0] = 0;
    for (int q = 0; q < nranks; q++)
      layout->first_row[q + 1] = layout->first_row[q] + all[q].n_rows;
    if (layout->first_row[nranks] == 0)
      err = alq_error_set(ALQ_ERR_INPUT, "%s: the pool has no rows", name);
  }
  free(all);
  if (err) {
    alq_api_layout_free(layout);
    return err;
  }
  snprintf(meta->path, sizeof meta->path, "%s", name);
  meta->n_items = layout->first_row[nranks];
  meta->dim = piece->dim;
  meta->n_classes = piece->n_classes;
  meta->has_probs = piece->n_classes > 0;
  meta->has_ids = piece->ids != NULL;
  meta->chunk_rows = 1; /* no chunks: shards split rows evenly */
  return ALQ_OK;
}

void alq_api_layout_free(alq_api_layout *layout) {
  free(layout->first_row);
  memset(layout, 0, sizeof *layout);
}

static int pieces_are_shards(const alq_pool_meta *meta, const alq_api_layout *layout) {
  int64_t align = alq_partition_align(meta->n_items, meta->chunk_rows, layout->nranks);
  for (int q = 0; q < layout->nranks; q++) {
    alq_range r = alq_partition_rows(meta->n_items, align, layout->nranks, q);
    if (r.lo != layout->first_row[q] || r.hi != layout->first_row[q + 1])
      return 0;
  }
  return 1;
}

/* Moves one row-major field of `row_bytes` per row from the pieces to the
 * shards: the rows [a, b) this rank holds that shard q owns go to q. */
static alq_err move_field(MPI_Comm comm, const alq_pool_meta *meta, const alq_api_layout *layout, alq_range shard,
                          const void *send, void *recv, int64_t row_bytes) {
  int rank, P = layout->nranks;
  MPI_Comm_rank(comm, &rank);
  int64_t *c = NULL;
  ALQ_CHECK(alq_agree(comm, alq_malloc(&c, sizeof *c * 4 * P, "row exchange counts")));
  int64_t *scount = c, *sdispl = c + P, *rcount = c + 2 * P, *rdispl = c + 3 * P;
  int64_t align = alq_partition_align(meta->n_items, meta->chunk_rows, P);
  int64_t a = layout->first_row[rank], b = layout->first_row[rank + 1];
  for (int q = 0; q < P; q++) {
    alq_range to = alq_partition_rows(meta->n_items, align, P, q);
    int64_t lo = to.lo > a ? to.lo : a, hi = to.hi < b ? to.hi : b;
    scount[q] = hi > lo ? (hi - lo) * row_bytes : 0;
    sdispl[q] = hi > lo ? (lo - a) * row_bytes : 0;
    int64_t qa = layout->first_row[q], qb = layout->first_row[q + 1];
    lo = qa > shard.lo ? qa : shard.lo;
    hi = qb < shard.hi ? qb : shard.hi;
    rcount[q] = hi > lo ? (hi - lo) * row_bytes : 0;
    rdispl[q] = hi > lo ? (lo - shard.lo) * row_bytes : 0;
  }
  alq_err err = alq_alltoallv_bytes(send, scount, sdispl, recv, rcount, rdispl, comm);
  free(c);
  return err;
}

alq_err alq_api_to_shards(MPI_Comm comm, const alq_pool_meta *meta, const alq_api_layout *layout,
                          const alq_api_pool *piece, alq_range shard, alq_pool_data *rows, int *owned) {
  memset(rows, 0, sizeof *rows);
  rows->n_items = shard.hi - shard.lo;
  rows->dim = meta->dim;
  rows->n_classes = meta->n_classes;
  *owned = !pieces_are_shards(meta, layout);
  if (!*owned) { /* read in place: the memory source only reads */
    rows->embeddings = (float *)piece->embeddings;
    rows->probs = meta->has_probs ? (float *)piece->probs : NULL;
    rows->ids = (int64_t *)piece->ids;
    return ALQ_OK;
  }
  int64_t n = rows->n_items ? rows->n_items : 1;
  alq_err err = alq_malloc(&rows->embeddings, sizeof(float) * n * meta->dim, "shard embeddings");
  if (!err && meta->has_probs)
    err = alq_malloc(&rows->probs, sizeof(float) * n * meta->n_classes, "shard probs");
  if (!err && meta->has_ids)
    err = alq_malloc(&rows->ids, sizeof(int64_t) * n, "shard ids");
  err = alq_agree(comm, err);
  if (!err)
    err = move_field(comm, meta, layout, shard, piece->embeddings, rows->embeddings, 4 * meta->dim);
  if (!err && meta->has_probs)
    err = move_field(comm, meta, layout, shard, piece->probs, rows->probs, 4 * meta->n_classes);
  if (!err && meta->has_ids)
    err = move_field(comm, meta, layout, shard, piece->ids, rows->ids, 8);
  return err;
}

/* 1 when `id` is in the sorted labeled set. */
static int is_labeled(const alq_labeled *labeled, int64_t id) {
  return alq_ids_find(labeled->ids, labeled->n, id) >= 0;
}

/* One labeled row on the wire: its id, embedding and probabilities. */
static int64_t record_bytes(const alq_pool_data *rows) { return 8 + 4 * (rows->dim + rows->n_classes); }

/* The labeled rows of this rank's rows (ids in any order, as in a pool file). */
static alq_err pack_labeled(const alq_pool_data *rows, int64_t first_row, const alq_labeled *labeled,
                            unsigned char **buf, int64_t *bytes) {
  const int64_t rb = record_bytes(rows), d = rows->dim, C = rows->n_classes;
  int64_t n = labeled->n < rows->n_items ? labeled->n : rows->n_items;
  ALQ_CHECK(alq_malloc(buf, rb * (n ? n : 1), "labeled rows"));
  unsigned char *p = *buf;
  for (int64_t row = 0; row < rows->n_items && p < *buf + rb * n; row++) {
    int64_t id = rows->ids ? rows->ids[row] : first_row + row;
    if (!is_labeled(labeled, id))
      continue;
    memcpy(p, &id, 8);
    memcpy(p + 8, rows->embeddings + row * d, 4 * d);
    if (C)
      memcpy(p + 8 + 4 * d, rows->probs + row * C, 4 * C);
    p += rb;
  }
  *bytes = p - *buf;
  return ALQ_OK;
}

static int by_record_id(const void *a, const void *b) {
  int64_t x, y;
  memcpy(&x, a, 8);
  memcpy(&y, b, 8);
  return (x > y) - (x < y);
}

static alq_err unpack_labeled(unsigned char *buf, int64_t bytes, alq_pool_data *out) {
  const int64_t rb = record_bytes(out), d = out->dim, C = out->n_classes, n = bytes / rb;
  qsort(buf, n, rb, by_record_id); /* fetch finds them by id */
  ALQ_CHECK(alq_malloc(&out->ids, sizeof(int64_t) * (n ? n : 1), "labeled rows"));
  ALQ_CHECK(alq_malloc(&out->embeddings, sizeof(float) * d * (n ? n : 1), "labeled rows"));
  if (C)
    ALQ_CHECK(alq_malloc(&out->probs, sizeof(float) * C * (n ? n : 1), "labeled rows"));
  for (int64_t i = 0; i < n; i++) {
    const unsigned char *p = buf + i * rb;
    memcpy(&out->ids[i], p, 8);
    memcpy(out->embeddings + i * d, p + 8, 4 * d);
    if (C)
      memcpy(out->probs + i * C, p + 8 + 4 * d, 4 * C);
  }
  out->n_items = n;
  return ALQ_OK;
}

alq_err alq_api_labeled_rows(MPI_Comm comm, const alq_pool_data *rows, int64_t first_row,
                             const alq_labeled *labeled, alq_pool_data *out) {
  memset(out, 0, sizeof *out);
  out->dim = rows->dim;
  out->n_classes = rows->n_classes;
  unsigned char *mine = NULL, *all = NULL;
  int64_t bytes = 0, total = 0;
  alq_err err = alq_agree(comm, pack_labeled(rows, first_row, labeled, &mine, &bytes));
  if (!err)
    err = alq_allgatherv_bytes(mine, bytes, comm, &all, &total);
  if (!err)
    err = alq_agree(comm, unpack_labeled(all, total, out));
  free(mine);
  free(all);
  return err;
}
