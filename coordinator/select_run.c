/* coordinator/select_run.c: one selection, from options to batch file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/logview.h"
#include "alq/partition.h"
#include "alq/scored.h"
#include "alq/select.h"
#include "alq/worker.h"
#include "coordinator.h"

/* Every labeled id must be an item of the pool.  The flags were OR-reduced
 * over ranks, so every rank reaches the same verdict without agreeing. */
static alq_err check_labeled_found(const alq_request *req, const int64_t *ids, const unsigned char *found) {
  for (int64_t j = 0; j < req->n_labeled; j++)
    if (!found[j])
      return alq_error_set(ALQ_ERR_INPUT, "%s: /labeled/ids holds id %lld, which is not an id of pool %s",
                           req->labeled_path, (long long)ids[j], req->meta.path);
  return ALQ_OK;
}

/* Keeps only this rank's candidates among the global top M (by score). */
static alq_err keep_global_top(MPI_Comm comm, alq_candidates *c, int64_t m) {
  alq_scored *local = NULL, *top = NULL;
  int64_t n_top = 0;
  alq_err err = alq_agree(comm, alq_malloc(&local, sizeof *local * (c->n ? c->n : 1), "candidate records"));
  if (err)
    return err;
  for (int64_t i = 0; i < c->n; i++)
    local[i] = (alq_scored){c->scores[i], c->ids[i]};
  err = alq_scored_global_topk(comm, local, c->n, m, &top, &n_top);
  if (!err && n_top > 0) {
    /* Local candidates are sorted: keep the prefix not after the M-th record. */
    const alq_scored *last = &top[n_top - 1];
    int64_t keep = 0;
    while (keep < c->n && !alq_scored_before(last, &local[keep]))
      keep++;
    c->n = keep;
  }
  free(local);
  free(top);
  return err;
}

/* The labeled items' embeddings from every rank, sorted by id, on every rank. */
static alq_err gather_centers(MPI_Comm comm, const alq_centers *mine, int64_t dim, alq_centers *all) {
  memset(all, 0, sizeof *all);
  all->dim = dim;
  int64_t rec = (int64_t)sizeof(int64_t) + dim * (int64_t)sizeof(float);
  unsigned char *send = NULL, *recv = NULL;
  int64_t total = 0;
  alq_err err = alq_malloc(&send, rec * (mine->n ? mine->n : 1), "labeled embeddings");
  err = alq_agree(comm, err);
  if (err)
    return err;
  for (int64_t i = 0; i < mine->n; i++) {
    memcpy(send + i * rec, &mine->ids[i], sizeof(int64_t));
    memcpy(send + i * rec + sizeof(int64_t), mine->embeddings + i * dim, dim * sizeof(float));
  }
  err = alq_allgatherv_bytes(send, rec * mine->n, comm, &recv, &total);
  free(send);
  if (err)
    return err;
  /* Ranks own increasing row ranges and ids increase with rows, so rank order
   * is already id order. */
  all->n = total / rec;
  err = alq_malloc(&all->ids, sizeof(int64_t) * (all->n ? all->n : 1), "labeled ids");
  if (!err)
    err = alq_malloc_aligned(&all->embeddings, sizeof(float) * dim * (all->n ? all->n : 1), "labeled embeddings");
  for (int64_t i = 0; !err && i < all->n; i++) {
    memcpy(&all->ids[i], recv + i * rec, sizeof(int64_t));
    memcpy(all->embeddings + i * dim, recv + i * rec + sizeof(int64_t), dim * sizeof(float));
  }
  free(recv);
  return alq_agree(comm, err);
}

static alq_err run_stages(MPI_Comm comm, const alq_request *req, const alq_strategy *s, alq_scan_result *scan,
                          int64_t budget, alq_batch *batch) {
  if (!s->select) {
    alq_scored *local = NULL, *top = NULL;
    int64_t n_top = 0;
    alq_candidates *c = &scan->candidates;
    ALQ_CHECK(alq_agree(comm, alq_malloc(&local, sizeof *local * (c->n ? c->n : 1), "candidate records")));
    for (int64_t i = 0; i < c->n; i++)
      local[i] = (alq_scored){c->scores[i], c->ids[i]};
    alq_phase_begin(ALQ_PHASE_REDUCE);
    alq_err err = alq_scored_global_topk(comm, local, c->n, budget, &top, &n_top);
    alq_phase_end(ALQ_PHASE_REDUCE);
    free(local);
    if (!err)
      err = alq_agree(comm, alq_malloc(&batch->ids, sizeof(int64_t) * (n_top ? n_top : 1), "batch ids"));
    if (!err)
      err = alq_agree(comm, alq_malloc(&batch->scores, sizeof(double) * (n_top ? n_top : 1), "batch scores"));
    for (int64_t i = 0; !err && i < n_top; i++) {
      batch->ids[i] = top[i].id;
      batch->scores[i] = top[i].score;
    }
    batch->n = err ? 0 : n_top;
    free(top);
    return err;
  }
  if (s->score) {
    alq_phase_begin(ALQ_PHASE_REDUCE);
    alq_err err = keep_global_top(comm, &scan->candidates, req->candidates);
    alq_phase_end(ALQ_PHASE_REDUCE);
    ALQ_CHECK(err);
  }
  alq_centers centers;
  alq_phase_begin(ALQ_PHASE_REDUCE);
  alq_err err = gather_centers(comm, &scan->labeled, req->meta.dim, &centers);
  alq_phase_end(ALQ_PHASE_REDUCE);
  ALQ_CHECK(err);
  alq_select_ctx ctx = {comm, req->seed, budget, req->prune, req->log_view};
  alq_phase_begin(ALQ_PHASE_SELECT);
  err = s->select(&ctx, &scan->candidates, &centers, batch);
  alq_phase_end(ALQ_PHASE_SELECT);
  free(centers.ids);
  free(centers.embeddings);
  return err;
}

alq_err alq_select_pool(MPI_Comm comm, const alq_request *req, alq_source *src, const int64_t *labeled_ids,
                        alq_batch *batch, alq_rank_facts *facts) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  memset(batch, 0, sizeof *batch);
  const alq_strategy *s = alq_strategy_find(req->strategy);
  if (!s)
    return alq_error_set(ALQ_ERR_USAGE, "unknown strategy '%s' (alq strategies lists them)", req->strategy);
  int64_t align = alq_partition_align(req->meta.n_items, req->meta.chunk_rows, size);
  alq_range shard = alq_partition_rows(req->meta.n_items, align, size, rank);
  alq_scan_result scan;
  alq_scan_request sr = {comm,           &req->meta,         src, shard, align, req->chunk_rows, s, req->seed,
                         labeled_ids,    req->n_labeled,     req->candidates, s->select != NULL};
  ALQ_CHECK(alq_worker_scan(&sr, &scan));
  alq_err err = check_labeled_found(req, labeled_ids, scan.labeled_found);

  /* How many items can be selected at all. */
  int64_t avail_local = scan.n_unlabeled, avail = 0;
  if (!err)
    err = alq_allreduce(&avail_local, &avail, 1, MPI_INT64_T, MPI_SUM, comm);
  int64_t budget = req->budget < avail ? req->budget : avail;
  if (!err && rank == 0 && budget < req->budget && !req->quiet)
    fprintf(stderr, "alq: note: pool has %lld unlabeled item(s), fewer than --budget %lld: selecting all of them\n",
            (long long)avail, (long long)req->budget);
  if (!err)
    err = run_stages(comm, req, s, &scan, budget, batch);
  *facts = (alq_rank_facts){shard.lo, shard.hi, scan.n_unlabeled, scan.candidates.n};
  alq_scan_result_free(&scan);
  return err;
}

alq_err alq_select_run(MPI_Comm comm, const alq_select_options *opt) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  alq_log_reset();
  alq_request req;
  alq_labeled labeled = {0};
  memset(&req, 0, sizeof req);
  alq_err err = rank == 0 ? alq_coordinator_prepare(opt, &req, &labeled) : ALQ_OK;
  ALQ_CHECK(alq_agree(comm, err));
  ALQ_CHECK(alq_request_broadcast(comm, &req));
  if (rank != 0)
    err = alq_malloc(&labeled.ids, sizeof(int64_t) * (req.n_labeled ? req.n_labeled : 1), "labeled ids");
  err = alq_agree(comm, err);
  if (!err)
    err = alq_bcast(labeled.ids, sizeof(int64_t) * req.n_labeled, 0, comm);
  labeled.n = req.n_labeled;

  alq_source *src = NULL;
  if (!err)
    err = alq_agree(comm, alq_source_open(comm, &req.meta, &src));
  alq_batch batch = {0};
  alq_rank_facts facts = {0};
  if (!err)
    err = alq_select_pool(comm, &req, src, labeled.ids, &batch, &facts);
  alq_source_close(src);
  if (!err) {
    alq_phase_begin(ALQ_PHASE_WRITE);
    alq_err werr = rank == 0 ? alq_batch_write(opt, &req, size, &batch) : ALQ_OK;
    alq_phase_end(ALQ_PHASE_WRITE);
    err = alq_agree(comm, werr);
  }
  if (!err)
    err = alq_report_gather(comm, &req, &facts);
  if (!err && rank == 0 && !req.quiet)
    fprintf(stderr, "alq: selected %lld item(s) with %s on %d rank(s): %s%s%s\n", (long long)batch.n, req.strategy,
            size, opt->out, opt->csv[0] ? ", " : "", opt->csv);
  alq_batch_free(&batch);
  alq_labeled_free(&labeled);
  return err;
}
