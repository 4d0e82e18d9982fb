/* subpool/retrieve_run.c: `alq retrieve` end to end (alq/retrieve.h): rank 0
 * checks the inputs, every rank streams its shard through
 * alq_anchoral_retrieve, rank 0 writes the lists, and with --log-view the
 * per-phase table (coordinator/report.c). */
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../coordinator/coordinator.h"
#include "alq/anchoral.h"
#include "alq/comm.h"
#include "alq/h5_records.h"
#include "alq/logview.h"
#include "alq/partition.h"
#include "alq/paths.h"
#include "alq/retrieve.h"
#include "alq/source.h"
#include "alq/version.h"
#include "alq/worker.h"

/* What every rank needs, broadcast by rank 0 as one plain buffer. */
typedef struct {
  alq_pool_meta meta;
  int64_t n_anchors, k, chunk_rows, n_labeled;
  int quiet, log_view;
} retrieve_plan;

/* Rank 0: validates the pool, the labeled set and the anchors. */
static alq_err prepare(const alq_retrieve_options *o, retrieve_plan *plan, alq_labeled *labeled, float **anchors) {
  memset(plan, 0, sizeof *plan);
  ALQ_CHECK(alq_source_describe(o->pool, &plan->meta));
  /* A generated pool has no file to hold a labeled set: only --labeled gives one. */
  int pool_is_file = strncmp(o->pool, "gen:", 4) != 0;
  if (o->labeled[0] || pool_is_file)
    ALQ_CHECK(alq_labeled_read(o->labeled[0] ? o->labeled : o->pool, plan->meta.n_classes, o->labeled[0] != 0,
                               labeled));
  ALQ_CHECK(alq_anchors_read(o->anchors, plan->meta.dim, anchors, &plan->n_anchors));
  plan->k = o->neighbors;
  plan->n_labeled = labeled->n;
  plan->chunk_rows = o->chunk_rows > 0 ? o->chunk_rows : alq_default_chunk_rows(&plan->meta);
  plan->quiet = o->quiet;
  plan->log_view = o->log_view;
  return ALQ_OK;
}

/* Collective: rank 0's plan, labeled ids and anchors on every rank (the
 * others allocate theirs here). */
static alq_err share(MPI_Comm comm, int rank, retrieve_plan *plan, alq_labeled *labeled, float **anchors) {
  alq_err err = alq_bcast(plan, sizeof *plan, 0, comm);
  if (!err && rank != 0) {
    err = alq_malloc(&labeled->ids, sizeof(int64_t) * (plan->n_labeled ? plan->n_labeled : 1), "labeled ids");
    if (!err)
      err = alq_malloc_aligned(anchors, sizeof(float) * plan->n_anchors * plan->meta.dim, "anchors");
  }
  err = alq_agree(comm, err);
  if (!err)
    err = alq_bcast(labeled->ids, sizeof(int64_t) * plan->n_labeled, 0, comm);
  if (!err)
    err = alq_bcast(*anchors, sizeof(float) * plan->n_anchors * plan->meta.dim, 0, comm);
  labeled->n = plan->n_labeled;
  return err;
}

/* Collective: opens the pool and streams this rank's shard; every rank gets
 * the lists.  facts->row_lo/row_hi: the shard, for the report. */
static alq_err retrieve(MPI_Comm comm, const retrieve_plan *plan, const alq_labeled *labeled, const float *anchors,
                        alq_scored **lists, double *sgemm_s, alq_rank_facts *facts) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  alq_source *src = NULL;
  alq_err err = alq_agree(comm, alq_source_open(comm, &plan->meta, &src));
  if (!err) {
    int64_t align = alq_partition_align(plan->meta.n_items, plan->meta.chunk_rows, size);
    alq_range shard = alq_partition_rows(plan->meta.n_items, align, size, rank);
    alq_stream_request stream = {.comm = comm, .meta = &plan->meta, .source = src, .shard = shard,
                                 .chunk_align = align, .chunk_rows = plan->chunk_rows,
                                 .labeled_ids = labeled->ids, .n_labeled = labeled->n, .progress = !plan->quiet};
    facts->row_lo = shard.lo;
    facts->row_hi = shard.hi;
    err = alq_anchoral_retrieve(&stream, anchors, plan->n_anchors, plan->k, lists, sgemm_s);
  }
  alq_source_close(src);
  return err;
}

/* The lists' file: /neighbors/ids and /neighbors/similarities, and the
 * attributes that say how they were made.  Negative on an HDF5 failure. */
static herr_t write_file(hid_t file, const alq_retrieve_options *o, const retrieve_plan *plan, int nranks,
                         const int64_t *ids, const double *sims) {
  herr_t rc = 0;
  hid_t g = H5Gcreate2(file, "/neighbors", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  rc |= g < 0 ? -1 : 0;
  if (g >= 0) {
    rc |= alq_h5w_2d(g, "ids", H5T_STD_I64LE, H5T_NATIVE_INT64, plan->n_anchors, plan->k, ids);
    rc |= alq_h5w_2d(g, "similarities", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, plan->n_anchors, plan->k, sims);
    H5Gclose(g);
  }
  rc |= alq_h5w_attr_string(file, "pool", o->pool);
  rc |= alq_h5w_attr_string(file, "anchors", o->anchors);
  rc |= alq_h5w_attr_string(file, "labeled", plan->n_labeled ? (o->labeled[0] ? o->labeled : o->pool) : "");
  rc |= alq_h5w_attr_int64(file, "neighbors", plan->k);
  rc |= alq_h5w_attr_int64(file, "ranks", nranks);
  rc |= alq_h5w_attr_string(file, "alq_version", ALQ_VERSION);
  return rc;
}

/* Rank 0: the lists, complete under the temporary name `tmp` (removed on failure). */
static alq_err write_lists(const alq_retrieve_options *o, const retrieve_plan *plan, int nranks,
                           const alq_scored *lists, const char *tmp) {
  int64_t total = plan->n_anchors * plan->k;
  int64_t *ids = NULL;
  double *sims = NULL;
  alq_err err = alq_malloc(&ids, sizeof *ids * total, "neighbor ids");
  if (!err)
    err = alq_malloc(&sims, sizeof *sims * total, "neighbor similarities");
  for (int64_t i = 0; !err && i < total; i++) {
    int none = alq_scored_is_none(&lists[i]);
    ids[i] = none ? -1 : lists[i].id;
    sims[i] = none ? -INFINITY : lists[i].score;
  }
  if (!err) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) {
      err = alq_error_set(ALQ_ERR_OUTPUT, "cannot create %s: %s", o->out,
                          access(tmp, F_OK) == 0 ? "HDF5 error" : strerror(errno));
    } else {
      herr_t rc = write_file(file, o, plan, nranks, ids, sims);
      if (H5Fclose(file) < 0 || rc < 0)
        err = alq_error_set(ALQ_ERR_OUTPUT, "cannot write %s (disk full or not writable?)", o->out);
      if (err)
        unlink(tmp);
    }
  }
  free(ids);
  free(sims);
  return err;
}

/* Rank 0: the complete lists under their final name, durably and whole
 * (alq_paths_commit: an existing output stays as it was if this fails). */
static alq_err commit(const char *tmp, const char *out) {
  const char *tmps[1] = {tmp}, *finals[1] = {out};
  return alq_paths_commit(tmps, finals, 1);
}

/* Collective: rank 0 writes the lists under a temporary name; the report
 * (--log-view), the last collective step, runs before the rename, so a
 * failure in it leaves no output. */
static alq_err write_and_report(MPI_Comm comm, const alq_retrieve_options *o, const retrieve_plan *plan,
                                const alq_scored *lists, const alq_rank_facts *facts) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  char tmp[ALQ_PATH_MAX + 32] = ""; /* rank 0's */
  alq_err err = alq_agree(comm, rank == 0 ? alq_paths_temp(o->out, tmp, sizeof tmp) : ALQ_OK);
  if (err)
    return err;
  alq_phase_begin(ALQ_PHASE_WRITE);
  err = alq_agree(comm, rank == 0 ? write_lists(o, plan, size, lists, tmp) : ALQ_OK);
  alq_phase_end(ALQ_PHASE_WRITE);
  if (err)
    return err;
  alq_log_view_head head = {"", &plan->meta, NULL, NULL};
  snprintf(head.title, sizeof head.title, "retrieve: %lld anchor(s), %lld neighbor(s) each",
           (long long)plan->n_anchors, (long long)plan->k);
  if (plan->log_view)
    err = alq_log_view_gather(comm, &head, facts);
  if (err && rank == 0)
    unlink(tmp);
  return err ? err : alq_agree(comm, rank == 0 ? commit(tmp, o->out) : ALQ_OK);
}

static void summary(const alq_retrieve_options *o, const retrieve_plan *plan, int size, double seconds,
                    double sgemm_s) {
  double flops = 2.0 * (double)plan->meta.n_items * (double)plan->n_anchors * (double)plan->meta.dim;
  fprintf(stderr,
          "alq: retrieved %lld neighbor(s) for each of %lld anchor(s) on %d rank(s) in %.3f s "
          "(slowest rank's bound GEMM %.3f s, %.2f GFLOP/s over all ranks): %s\n",
          (long long)plan->k, (long long)plan->n_anchors, size, seconds, sgemm_s,
          sgemm_s > 0 ? flops / sgemm_s / 1e9 : 0.0, o->out);
}

alq_err alq_retrieve_run(MPI_Comm comm, const alq_retrieve_options *o) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  alq_log_reset();
  retrieve_plan plan;
  memset(&plan, 0, sizeof plan);
  alq_labeled labeled = {0};
  float *anchors = NULL;
  alq_err err = alq_agree(comm, rank == 0 ? prepare(o, &plan, &labeled, &anchors) : ALQ_OK);
  if (!err)
    err = share(comm, rank, &plan, &labeled, &anchors);
  alq_scored *lists = NULL;
  alq_rank_facts facts = {0};
  double sgemm_s = 0, t0 = MPI_Wtime();
  if (!err)
    err = retrieve(comm, &plan, &labeled, anchors, &lists, &sgemm_s, &facts);
  double seconds = MPI_Wtime() - t0;
  if (!err)
    err = write_and_report(comm, o, &plan, lists, &facts);
  if (!err && rank == 0 && !plan.quiet)
    summary(o, &plan, size, seconds, sgemm_s);
  free(lists);
  free(anchors);
  alq_labeled_free(&labeled);
  return err;
}
