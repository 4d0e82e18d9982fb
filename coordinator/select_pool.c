/* coordinator/select_pool.c: the selection pipeline every rank runs:
 * [subpool] -> score and keep candidates -> [diversity] -> batch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/activelab.h"
#include "alq/anchoral.h"
#include "alq/comm.h"
#include "alq/fault.h"
#include "alq/logview.h"
#include "alq/memory_plan.h"
#include "alq/model.h"
#include "alq/ood.h"
#include "alq/partition.h"
#include "alq/scored.h"
#include "alq/select.h"
#include "alq/worker.h"

/* Every labeled id must be an item of the pool.  The flags were OR-reduced
 * over ranks, so every rank reaches the same verdict without agreeing. */
static alq_err check_labeled_found(const alq_request *req, const int64_t *ids, int64_t n, const unsigned char *found) {
  for (int64_t j = 0; j < n; j++)
    if (!found[j])
      return alq_error_set(ALQ_ERR_INPUT, "%s: /labeled/ids holds id %lld, which is not an id of pool %s",
                           req->labeled_path, (long long)ids[j], req->meta.path);
  return ALQ_OK;
}

static alq_err to_records(MPI_Comm comm, const alq_candidates *c, alq_scored **out) {
  alq_scored *r = NULL;
  ALQ_CHECK(alq_agree(comm, alq_malloc(&r, sizeof *r * (c->n ? c->n : 1), "candidate records")));
  for (int64_t i = 0; i < c->n; i++)
    r[i] = (alq_scored){c->scores[i], c->ids[i]};
  *out = r;
  return ALQ_OK;
}

/* Keeps only this rank's candidates among the global top M (by score). */
static alq_err keep_global_top(MPI_Comm comm, alq_candidates *c, int64_t m) {
  alq_scored *local = NULL, *top = NULL;
  int64_t n_top = 0;
  ALQ_CHECK(to_records(comm, c, &local));
  alq_err err = alq_scored_global_topk(comm, local, c->n, m, &top, &n_top);
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

/* The global top B by score, on every rank. */
static alq_err top_by_score(MPI_Comm comm, const alq_candidates *c, int64_t budget, alq_batch *batch) {
  alq_scored *local = NULL, *top = NULL;
  int64_t n = 0;
  ALQ_CHECK(to_records(comm, c, &local));
  alq_err err = alq_scored_global_topk(comm, local, c->n, budget, &top, &n);
  free(local);
  if (!err)
    err = alq_agree(comm, alq_malloc(&batch->ids, sizeof(int64_t) * (n ? n : 1), "batch ids"));
  if (!err)
    err = alq_agree(comm, alq_malloc(&batch->scores, sizeof(double) * (n ? n : 1), "batch scores"));
  for (int64_t i = 0; !err && i < n; i++) {
    batch->ids[i] = top[i].id;
    batch->scores[i] = top[i].score;
  }
  batch->n = err ? 0 : n;
  free(top);
  return err;
}

/* The labeled items' embeddings on every rank: rank 0 fetches them from the
 * source by id (through the id index, collectively) and broadcasts them as one
 * plain buffer. */
static alq_err labeled_embeddings(MPI_Comm comm, alq_source *src, const alq_labeled *labeled, int64_t dim,
                                  float **out) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  float *emb = NULL;
  alq_err err = alq_malloc_aligned(&emb, sizeof(float) * dim * (labeled->n ? labeled->n : 1), "labeled embeddings");
  err = alq_agree(comm, err);
  if (!err) { /* the fetch is collective: rank 0 asks for the rows, the others for none */
    alq_rows rows = {.embeddings = emb};
    err = alq_source_fetch(src, labeled->ids, rank == 0 ? labeled->n : 0, ALQ_FIELD_EMBEDDINGS, &rows);
  }
  err = err ? err : alq_fault_point("labeled-embeddings");
  err = alq_agree(comm, err);
  if (!err) {
    alq_phase_begin(ALQ_PHASE_REDUCE);
    err = alq_bcast(emb, sizeof(float) * dim * labeled->n, 0, comm);
    alq_phase_end(ALQ_PHASE_REDUCE);
  }
  if (err) {
    free(emb);
    return err;
  }
  *out = emb;
  return ALQ_OK;
}

/* --model: the model's input width and hidden units, which the request does
 * not carry; rank 0 reads them from the model file for every rank. */
static alq_err model_shape(MPI_Comm comm, const alq_request *req, alq_memory_model *shape) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int64_t dims[2] = {0, 0};
  alq_err err = ALQ_OK;
  if (rank == 0 && req->model[0]) {
    alq_model m;
    err = alq_model_load(req->model, &m);
    if (!err) {
      dims[0] = m.dim;
      dims[1] = m.hidden;
      alq_model_free(&m);
    }
  }
  ALQ_CHECK(alq_agree(comm, err));
  ALQ_CHECK(alq_bcast(dims, sizeof dims, 0, comm));
  *shape = (alq_memory_model){dims[0], dims[1]};
  return ALQ_OK;
}

/* Everything a rank allocates for the selection must fit --memory-per-rank:
 * fail before streaming, on every rank, not with an out-of-memory kill
 * halfway.  The plan is of the pipeline that runs (`s`, `anchoral`,
 * `diverse`: AnchorAL may have stepped aside).  Every rank computes every
 * rank's plan (pure arithmetic), so all reach the same verdict on the
 * largest; --log-view prints that plan. */
static alq_err check_memory(MPI_Comm comm, const alq_request *req, const alq_strategy *s, int anchoral, int diverse,
                            int64_t align) {
  if (req->memory_per_rank <= 0 && !req->log_view)
    return ALQ_OK;
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  alq_memory_model shape;
  ALQ_CHECK(model_shape(comm, req, &shape));
  alq_request runs = *req;
  runs.subpool = anchoral ? ALQ_SUBPOOL_ANCHORAL : ALQ_SUBPOOL_ALL;
  snprintf(runs.strategy, sizeof runs.strategy, "%s", s->name);
  if (!diverse) {
    runs.diversity = ALQ_DIVERSITY_NONE;
    runs.candidates = req->budget;
  }
  alq_memory_plan worst, plan;
  for (int r = 0; r < size; r++) {
    alq_range sh = alq_partition_rows(req->meta.n_items, align, size, r);
    alq_memory_plan_compute(&runs, size, r, sh.hi - sh.lo, &shape, &plan);
    if (r == 0 || plan.total > worst.total)
      worst = plan;
  }
  if (req->log_view && rank == 0) {
    char line[1024], phases[512];
    alq_memory_plan_format(&worst, line, sizeof line);
    alq_memory_plan_format_phases(&worst, phases, sizeof phases);
    fprintf(stderr, "memory: rank %d of %d needs at most %lld bytes = %s; phases: %s\n", worst.rank, size,
            (long long)worst.total, line, phases);
  }
  return alq_agree(comm, alq_memory_plan_check(&worst, req->memory_per_rank));
}

/* --ood: fits the stage on the labeled set and rejects the unlabeled items
 * past its threshold; `whole` then excludes them with the labeled items, so
 * that no strategy, subpool or diversity stage sees them (alq/ood.h). */
static alq_err ood_stage(MPI_Comm comm, const alq_request *req, alq_source *src, const alq_labeled *labeled,
                         alq_stream_request *whole, alq_ood_rejection *rej, alq_rank_facts *outcome) {
  alq_ood_model m;
  ALQ_CHECK(alq_ood_fit(comm, &req->ood, src, labeled, &m));
  alq_err err = alq_ood_reject(whole, &m, rej);
  if (!err) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    whole->labeled_ids = rej->excluded;
    whole->n_labeled = rej->n_excluded;
    outcome->ood_rejected = rej->rejected_per_rank[rank];
    outcome->ood_rejected_total = rej->rejected;
    outcome->ood_calibration = m.n_ref;
    outcome->ood_threshold = m.threshold;
    if (rank == 0 && !req->quiet)
      fprintf(stderr, "alq: note: --ood %s rejected %lld unlabeled item(s) with a score above %.6g (calibrated on %lld "
                      "labeled item(s), --ood-reject %g)\n", alq_ood_kind_name(m.opt.kind), (long long)rej->rejected,
              m.threshold, (long long)m.n_ref, m.opt.reject);
  }
  alq_ood_model_free(&m);
  return err;
}

/* AnchorAL as its reference does it.  With nothing labeled there are no
 * anchors: the batch is a random one of B (the `random` strategy).  When the
 * pool's unlabeled items fit in --subpool-size, the subpool would be the
 * whole pool: the strategy runs on the whole pool.  Both say so on stderr.
 * Returns whether the subpool stage runs. */
static int anchoral_runs(MPI_Comm comm, const alq_request *req, const alq_labeled *labeled, const alq_strategy **s,
                         int *diverse) {
  if (req->subpool != ALQ_SUBPOOL_ANCHORAL)
    return 0;
  int rank;
  MPI_Comm_rank(comm, &rank);
  int64_t unlabeled = req->meta.n_items - labeled->n; /* labeled ids are checked to be pool ids while streaming */
  if (labeled->n == 0) {
    *s = alq_strategy_find("random");
    *diverse = 0;
    if (rank == 0 && !req->quiet)
      fprintf(stderr, "alq: note: --subpool anchoral with no labeled items has no anchors: a random batch, as "
                      "AnchorAL does\n");
    return 0;
  }
  if (unlabeled <= req->subpool_size) {
    if (rank == 0 && !req->quiet)
      fprintf(stderr, "alq: note: the pool's %lld unlabeled item(s) fit in --subpool-size %lld: %s runs on the "
                      "whole pool, as AnchorAL does\n", (long long)unlabeled, (long long)req->subpool_size, (*s)->name);
    return 0;
  }
  return 1;
}

alq_err alq_select_pool(MPI_Comm comm, const alq_request *req, alq_source *src, const alq_labeled *labeled,
                        alq_batch *batch, alq_rank_facts *facts) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  memset(batch, 0, sizeof *batch);
  memset(facts, 0, sizeof *facts);
  const alq_strategy *s = alq_strategy_find(req->strategy);
  if (!s)
    return alq_error_set(ALQ_ERR_USAGE, "unknown strategy '%s' (alq strategies lists them)", req->strategy);
  int diverse = req->diversity != ALQ_DIVERSITY_NONE;
  const int anchoral = anchoral_runs(comm, req, labeled, &s, &diverse);
  int64_t align = alq_partition_align(req->meta.n_items, req->meta.chunk_rows, size);
  alq_range shard = alq_partition_rows(req->meta.n_items, align, size, rank);
  ALQ_CHECK(check_memory(comm, req, s, anchoral, diverse, align));
  alq_stream_request whole = {comm,       &req->meta, src, shard, align, req->chunk_rows, 0, labeled->ids,
                              labeled->n, !req->quiet, NULL};
  alq_ood_rejection ood = {0};
  alq_rank_facts ood_outcome = {0};
  if (req->ood.kind != ALQ_OOD_NONE)
    ALQ_CHECK(ood_stage(comm, req, src, labeled, &whole, &ood, &ood_outcome));

  float *lemb = NULL;
  alq_pool_data sub = {0};
  alq_pool_meta sub_meta;
  alq_source *sub_src = NULL;
  alq_stream_request stream = whole;
  uint64_t pool_checksum = 0;
  alq_err err = ALQ_OK;
  if (anchoral) {
    /* The strategy runs on this rank's share of the subpool, served from memory. */
    alq_anchoral_options ao = {req->anchors_per_class, req->neighbors, req->subpool_size, req->anchor_random,
                               req->seed, req->log_view,
                               (alq_strategy_fields(s) & ALQ_FIELD_EXPECTED_ENTROPY) != 0};
    err = labeled_embeddings(comm, src, labeled, req->meta.dim, &lemb);
    if (!err)
      err = alq_anchoral_subpool(&whole, &ao, labeled, lemb, &sub, &pool_checksum);
    if (!err) {
      sub_meta = req->meta;
      sub_meta.n_items = sub.n_items;
      err = alq_agree(comm, alq_source_memory(&sub_meta, &sub, &sub_src));
    }
    alq_stream_request sr = {comm, &sub_meta, sub_src, {0, sub.n_items}, 1, sub.n_items > 0 ? sub.n_items : 1, 0,
                             NULL, 0, 0, NULL};
    stream = sr;
  }

  /* ALQ_NEEDS_ANSWERS: labeled items are scored too (alq/activelab.h). */
  const int relabels = (s->needs & ALQ_NEEDS_ANSWERS) && !anchoral;
  alq_relabel relabel = {0};
  if (!err && relabels && diverse)
    err = alq_error_set(ALQ_ERR_USAGE, "%s ranks labeled and unlabeled items together: no --diversity stage", s->name);
  if (!err && relabels)
    err = alq_activelab_prepare(comm, req, src, labeled, &relabel);

  alq_scan_result scan;
  memset(&scan, 0, sizeof scan);
  if (!err) {
    alq_scan_request scan_req = {stream, s, req->seed, diverse ? req->candidates : req->budget, diverse,
                                 diverse && alq_request_half_candidates(req, anchoral)};
    err = alq_worker_scan(&scan_req, &scan);
  }
  if (!err && !anchoral)
    err = check_labeled_found(req, whole.labeled_ids, whole.n_labeled, scan.stream.labeled_found);

  /* How many items can be selected at all. */
  int64_t avail_local = scan.stream.n_unlabeled, avail = 0;
  if (!err)
    err = alq_allreduce(&avail_local, &avail, 1, MPI_INT64_T, MPI_SUM, comm);
  int64_t budget = req->budget < avail ? req->budget : avail;
  if (!err && rank == 0 && budget < req->budget && !req->quiet)
    fprintf(stderr, "alq: note: %s has %lld unlabeled item(s), fewer than --budget %lld: selecting all of them\n",
            anchoral ? "the subpool" : "the pool", (long long)avail,
            (long long)req->budget);

  if (!err && !diverse) {
    alq_phase_begin(ALQ_PHASE_REDUCE);
    err = top_by_score(comm, &scan.candidates, budget, batch);
    alq_phase_end(ALQ_PHASE_REDUCE);
  } else if (!err) {
    if (s->score && req->candidates > 0) {
      alq_phase_begin(ALQ_PHASE_REDUCE);
      err = keep_global_top(comm, &scan.candidates, req->candidates);
      alq_phase_end(ALQ_PHASE_REDUCE);
    }
    if (!err && !lemb)
      err = labeled_embeddings(comm, src, labeled, req->meta.dim, &lemb);
    if (!err) {
      alq_centers centers = {labeled->n, req->meta.dim, labeled->ids, lemb};
      alq_select_ctx ctx = {comm,    req->seed, budget, req->prune, req->log_view, req->fan_in, &stream,
                            req->delta, req->meta.n_classes, req->saved_clusters};
      alq_phase_begin(ALQ_PHASE_SELECT);
      /* DEFAULT: the strategy's own select stage (k-center for kcenter, margin-kcenter). */
      err = req->diversity == ALQ_DIVERSITY_HIER    ? alq_kcenter_hier_select(&ctx, &scan.candidates, &centers, batch)
            : req->diversity == ALQ_DIVERSITY_EXACT ? alq_kcenter_select(&ctx, &scan.candidates, &centers, batch)
                                                    : s->select(&ctx, &scan.candidates, &centers, batch);
      alq_phase_end(ALQ_PHASE_SELECT);
    }
  }
  if (!err && relabels)
    err = alq_activelab_merge(&relabel, req->budget, batch);
  alq_relabel_free(&relabel);
  *facts = (alq_rank_facts){shard.lo, shard.hi, scan.stream.n_unlabeled,
                            scan.candidates.n - scan.candidates.n_skipped,
                            anchoral ? pool_checksum : scan.stream.ids_checksum, ood_outcome.ood_rejected,
                            ood_outcome.ood_rejected_total, ood_outcome.ood_calibration, ood_outcome.ood_threshold,
                            ood.rejected_per_rank /* the caller's */};
  ood.rejected_per_rank = NULL;
  alq_ood_rejection_free(&ood);
  alq_scan_result_free(&scan);
  alq_source_close(sub_src);
  alq_pool_data_free(&sub);
  free(lemb);
  return err;
}
