/* api/select.c: alq_api_select, `alq select` on arrays in memory: rank 0
 * builds the request the command builds (alq_request_build) and broadcasts
 * it, the rows reach alq's shards, and alq_select_pool runs on a memory
 * source over each rank's shard. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/anchoral.h"
#include "alq/logview.h"
#include "../coordinator/coordinator.h"
#include "api_impl.h"

/* Rank 0: the request and the labeled set, checked. */
static alq_err prepare(const alq_pool_meta *meta, const alq_api_labeled *in, const char *options, alq_request *req,
                       alq_labeled *labeled) {
  alq_select_options opt;
  ALQ_CHECK(alq_api_parse_options(options, &opt));
  snprintf(opt.pool, sizeof opt.pool, "%s", meta->path);
  ALQ_CHECK(alq_request_build(&opt, meta, req));
  ALQ_CHECK(alq_api_labeled_copy(meta->path, in, meta->n_classes, labeled));
  snprintf(req->labeled_path, sizeof req->labeled_path, "%s", labeled->n ? meta->path : "");
  req->n_labeled = labeled->n;
  return ALQ_OK;
}

/* Collective: the selection on the rows of this rank's shard. */
static alq_err select_shard(MPI_Comm comm, const alq_request *req, const alq_api_layout *layout,
                            const alq_api_pool *piece, const alq_labeled *labeled, alq_batch *batch) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int64_t align = alq_partition_align(req->meta.n_items, req->meta.chunk_rows, size);
  alq_range shard = alq_partition_rows(req->meta.n_items, align, size, rank);
  alq_pool_data rows, labeled_rows = {0};
  int owned = 0;
  alq_source *src = NULL;
  alq_rank_facts facts = {0};
  alq_err err = alq_api_to_shards(comm, &req->meta, layout, piece, shard, &rows, &owned);
  if (!err)
    err = alq_api_labeled_rows(comm, &rows, shard.lo, labeled, &labeled_rows);
  if (!err)
    err = alq_agree(comm, alq_source_memory_piece(&req->meta, &rows, shard.lo, &labeled_rows, &src));
  if (!err)
    err = alq_select_pool(comm, req, src, labeled, batch, &facts);
  alq_source_close(src);
  if (!err)
    err = alq_report_gather(comm, req, &facts); /* the log-view table */
  if (owned)
    alq_pool_data_free(&rows);
  alq_pool_data_free(&labeled_rows);
  return err;
}

static alq_err select_arrays(MPI_Comm comm, const alq_api_pool *piece, const alq_api_labeled *in,
                             const char *options, alq_api_batch *out) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  alq_log_reset();
  alq_pool_meta meta;
  alq_api_layout layout;
  ALQ_CHECK(alq_api_describe(comm, piece, &meta, &layout));
  alq_request req;
  alq_labeled labeled = {0};
  alq_saved_clusters no_clusters = {0};
  memset(&req, 0, sizeof req);
  alq_err err = alq_agree(comm, rank == 0 ? prepare(&meta, in, options, &req, &labeled) : ALQ_OK);
  if (!err)
    err = alq_request_broadcast(comm, &req);
  if (!err)
    err = alq_labeled_broadcast(comm, req.n_labeled, &labeled);
  req.saved_clusters = &no_clusters;
  alq_batch batch = {0};
  if (!err)
    err = select_shard(comm, &req, &layout, piece, &labeled, &batch);
  if (!err) { /* the batch's arrays become the caller's */
    *out = (alq_api_batch){batch.n, batch.ids, batch.scores};
    batch.ids = NULL;
    batch.scores = NULL;
  }
  alq_batch_free(&batch);
  alq_labeled_free(&labeled);
  alq_api_layout_free(&layout);
  return err;
}

static int finish(alq_err err, char *buf, size_t len) {
  if (buf && len)
    snprintf(buf, len, "%s", err ? alq_error_message() : "");
  return (int)err;
}

static int initialised_here;

int alq_api_init(char *err, size_t errlen) {
  alq_error_clear();
  int ready = 0, provided = 0;
  MPI_Initialized(&ready);
  if (ready)
    return finish(ALQ_OK, err, errlen);
  if (MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
    return finish(alq_error_set(ALQ_ERR_MPI, "MPI_Init_thread failed"), err, errlen);
  initialised_here = 1;
  return finish(ALQ_OK, err, errlen);
}

int alq_api_finalize(void) {
  int done = 0;
  MPI_Finalized(&done);
  if (initialised_here && !done)
    MPI_Finalize();
  initialised_here = 0;
  return ALQ_OK;
}

MPI_Fint alq_api_comm_world(void) { return MPI_Comm_c2f(MPI_COMM_WORLD); }

int alq_api_select(MPI_Fint comm, const alq_api_pool *piece, const alq_api_labeled *labeled, const char *options,
                   alq_api_batch *out, char *err, size_t errlen) {
  alq_error_clear();
  memset(out, 0, sizeof *out);
  int ready = 0;
  MPI_Initialized(&ready);
  if (!ready)
    return finish(alq_error_set(ALQ_ERR_USAGE, "MPI is not initialised: call alq_api_init (or MPI_Init) first"), err,
                  errlen);
  if (!piece)
    return finish(alq_error_set(ALQ_ERR_USAGE, "alq_api_select needs this rank's piece of the pool"), err, errlen);
  return finish(select_arrays(MPI_Comm_f2c(comm), piece, labeled, options, out), err, errlen);
}

void alq_api_batch_free(alq_api_batch *batch) {
  if (!batch)
    return;
  free(batch->ids);
  free(batch->scores);
  memset(batch, 0, sizeof *batch);
}
