/* geometry/score_run.c: `alq score --mahalanobis` (alq/geometry.h): every
 * pool item's Mahalanobis distance to the labeled classes, across ranks.
 *
 * Rank 0 reads the labeled set and broadcasts it; the fit is collective
 * (PDPOTRF on the fit grid); every rank streams its shard and scores each
 * row; rank 0 gathers the scores and writes /scores/ids int64 [N] and
 * /scores/mahalanobis float64 [N] (row order) atomically. */
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/geometry.h"
#include "alq/h5_records.h"
#include "alq/partition.h"
#include "alq/version.h"
#include "alq/worker.h"
#include "geometry_impl.h"

/* Rank 0: the pool's shape and the labeled set (required). */
static alq_err prepare(const alq_score_options *o, alq_pool_meta *meta, alq_labeled *labeled) {
  ALQ_CHECK(alq_source_describe(o->pool, meta));
  if (!o->labeled[0] && strncmp(o->pool, "gen:", 4) == 0)
    return alq_error_set(ALQ_ERR_USAGE, "a generated pool has no labeled set: give --labeled FILE");
  return alq_labeled_read(o->labeled[0] ? o->labeled : o->pool, meta->n_classes, 1, labeled);
}

/* One scored row: id and distance, gathered as plain bytes. */
typedef struct {
  int64_t id;
  double dist;
} scored_row;

typedef struct {
  const alq_mahalanobis *m;
  double *work;
  scored_row *rows;
  int64_t n;
} score_ctx;

static alq_err score_chunk(void *p, const alq_chunk_view *c) {
  score_ctx *s = p;
  for (int64_t i = 0; i < c->count; i++) {
    s->rows[s->n].id = c->rows->ids[i];
    s->rows[s->n++].dist = alq_mahalanobis_distance(s->m, c->rows->embeddings + i * s->m->dim, s->work);
  }
  return ALQ_OK;
}

typedef struct {
  const alq_score_options *o;
  const alq_mahalanobis *m;
  const scored_row *rows;
  int64_t n;
} output;

static herr_t attr_double(hid_t loc, const char *name, double value) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(loc, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT);
  herr_t rc = a < 0 ? -1 : H5Awrite(a, H5T_NATIVE_DOUBLE, &value);
  if (a >= 0)
    H5Aclose(a);
  H5Sclose(space);
  return rc;
}

static alq_err write_contents(hid_t file, const char *path, const void *ctx) {
  const output *w = ctx;
  int64_t *ids = NULL;
  double *dist = NULL;
  alq_err err = alq_malloc(&ids, sizeof *ids * (w->n ? w->n : 1), "score ids");
  if (!err)
    err = alq_malloc(&dist, sizeof *dist * (w->n ? w->n : 1), "scores");
  for (int64_t i = 0; !err && i < w->n; i++) {
    ids[i] = w->rows[i].id;
    dist[i] = w->rows[i].dist;
  }
  if (!err) {
    hid_t g = H5Gcreate2(file, "/scores", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = g < 0 ? -1 : 0;
    if (g >= 0) {
      rc |= alq_h5w_1d(g, "ids", H5T_STD_I64LE, H5T_NATIVE_INT64, w->n, ids);
      rc |= alq_h5w_1d(g, "mahalanobis", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, w->n, dist);
      rc |= alq_h5w_attr_string(g, "pool", w->o->pool);
      rc |= alq_h5w_attr_string(g, "labeled", w->o->labeled[0] ? w->o->labeled : w->o->pool);
      rc |= alq_h5w_attr_int64(g, "fit_rows", w->m->fit_rows);
      rc |= alq_h5w_attr_int64(g, "classes", w->m->n_classes);
      rc |= attr_double(g, "shrinkage", w->m->shrinkage);
      rc |= alq_h5w_attr_string(g, "alq_version", ALQ_VERSION);
      H5Gclose(g);
    }
    if (rc < 0)
      err = alq_error_set(ALQ_ERR_OUTPUT, "cannot write %s (disk full or not writable?)", path);
  }
  free(ids);
  free(dist);
  return err;
}

/* Every rank's scores to rank 0 (row order = rank order), then written there. */
static alq_err gather_and_write(MPI_Comm comm, const alq_score_options *o, const alq_mahalanobis *m,
                                const score_ctx *s, int64_t n_items) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  if (n_items * (int64_t)sizeof(scored_row) >= ((int64_t)1 << 31))
    return alq_error_set(ALQ_ERR_MEMORY, "alq score gathers every score on rank 0 in one message: %lld items is "
                         "more than it can (2 GiB, about 134 million items)", (long long)n_items);
  unsigned char *all = NULL;
  int *counts = NULL, *displs = NULL;
  ALQ_CHECK(alq_gatherv_bytes(s->rows, (int)(s->n * (int64_t)sizeof(scored_row)), 0, comm, &all, &counts, &displs));
  alq_err err = ALQ_OK;
  if (rank == 0) {
    output w = {o, m, (const scored_row *)all, n_items};
    err = alq_h5_write_atomic(o->out, write_contents, &w);
  }
  free(all);
  free(counts);
  free(displs);
  return alq_agree(comm, err);
}

alq_err alq_score_run(MPI_Comm comm, alq_score_options *o) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  alq_pool_meta meta;
  memset(&meta, 0, sizeof meta);
  alq_labeled labeled = {0};
  alq_err err = geo_share_options(comm, rank == 0 ? prepare(o, &meta, &labeled) : ALQ_OK, o, sizeof *o, &meta);
  if (!err)
    err = alq_labeled_share(comm, &labeled);
  meta.has_probs = 0; /* embeddings only */
  alq_source *src = NULL;
  if (!err)
    err = alq_agree(comm, alq_source_open(comm, &meta, &src));
  double t0 = MPI_Wtime();
  alq_mahalanobis m;
  memset(&m, 0, sizeof m);
  if (!err)
    err = alq_mahalanobis_fit_labeled(comm, src, &labeled, &o->fit, &m);
  int64_t align = alq_partition_align(meta.n_items, meta.chunk_rows, size);
  alq_range shard = alq_partition_rows(meta.n_items, align, size, rank);
  score_ctx sc = {&m, NULL, NULL, 0};
  if (!err) {
    err = alq_malloc(&sc.work, sizeof(double) * 2 * meta.dim, "score row");
    if (!err)
      err = alq_malloc(&sc.rows, sizeof(scored_row) * (shard.hi > shard.lo ? shard.hi - shard.lo : 1), "scores");
    err = alq_agree(comm, err);
  }
  if (!err) {
    int64_t chunk = o->fit.chunk_rows > 0 ? o->fit.chunk_rows : alq_default_chunk_rows(&meta);
    alq_stream_request req = {.comm = comm, .meta = &meta, .source = src, .shard = shard, .chunk_align = align,
                              .chunk_rows = chunk, .fields = ALQ_FIELD_EMBEDDINGS, .labeled_ids = labeled.ids,
                              .n_labeled = labeled.n, .progress = !o->quiet};
    alq_stream_result res;
    err = alq_worker_stream(&req, score_chunk, &sc, &res);
    if (!err)
      free(res.labeled_found);
  }
  alq_source_close(src);
  if (!err)
    err = gather_and_write(comm, o, &m, &sc, meta.n_items);
  if (!err && rank == 0 && !o->quiet)
    fprintf(stderr, "alq: scored %lld item(s) by Mahalanobis distance to %lld class(es) (%lld labeled, shrinkage "
            "%.4f) on %d rank(s) in %.2f s: %s\n", (long long)meta.n_items, (long long)m.n_classes,
            (long long)m.fit_rows, m.shrinkage, size, MPI_Wtime() - t0, o->out);
  free(sc.work);
  free(sc.rows);
  alq_mahalanobis_free(&m);
  alq_labeled_free(&labeled);
  return err;
}
