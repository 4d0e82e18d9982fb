/* coordinator/select_run.c: `alq select` end to end: prepare on rank 0,
 * broadcast, select, write, report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/consensus.h"
#include "alq/fault.h"
#include "alq/geometry.h"
#include "alq/logview.h"
#include "alq/model.h"
#include "alq/select.h"
#include "alq/state_lock.h"
#include "coordinator.h"

alq_err alq_labeled_broadcast(MPI_Comm comm, int64_t n, alq_labeled *labeled) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  alq_err err = ALQ_OK;
  if (rank != 0)
    err = alq_malloc(&labeled->ids, sizeof(int64_t) * (n ? n : 1), "labeled ids");
  err = alq_agree(comm, err);
  if (!err && rank != 0)
    err = alq_malloc(&labeled->labels, sizeof(int32_t) * (n ? n : 1), "labeled labels");
  err = err ? err : alq_fault_point("labeled");
  err = alq_agree(comm, err);
  if (!err)
    err = alq_bcast(labeled->ids, sizeof(int64_t) * n, 0, comm);
  if (!err)
    err = alq_bcast(labeled->labels, sizeof(int32_t) * n, 0, comm);
  labeled->n = n;
  return err;
}

alq_err alq_labeled_share(MPI_Comm comm, alq_labeled *labeled) {
  int64_t n = labeled->n;
  ALQ_CHECK(alq_bcast(&n, sizeof n, 0, comm));
  return alq_labeled_broadcast(comm, n, labeled);
}

static alq_err select_locked(MPI_Comm comm, const alq_select_options *opt) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  alq_log_reset();
  alq_request req;
  alq_labeled labeled = {0};
  memset(&req, 0, sizeof req);
  alq_err err = rank == 0 ? alq_coordinator_prepare(opt, &req, &labeled) : ALQ_OK;
  err = err ? err : alq_fault_point("prepare");
  ALQ_CHECK(alq_agree(comm, err));
  ALQ_CHECK(alq_request_broadcast(comm, &req));
  err = alq_labeled_broadcast(comm, req.n_labeled, &labeled);

  alq_source *src = NULL;
  if (!err && (req.project[0] || req.projection[0]))
    err = alq_projection_source_open(comm, &req, &src);
  else if (!err)
    err = req.model[0] ? alq_source_open_model(comm, &req.meta, req.model, req.mc_samples, req.seed, &src)
                       : alq_agree(comm, alq_source_open(comm, &req.meta, &src));
  if (!err)
    err = alq_agree(comm, alq_fault_point("pool-open"));
  alq_batch batch = {0};
  alq_rank_facts facts = {0};
  alq_saved_clusters saved = {0};
  if (!err)
    err = alq_state_clusters_broadcast(comm, opt, &saved);
  req.saved_clusters = &saved;
  /* A strategy that re-labels weighs every answer of the state, not one per item. */
  alq_answer_table answers = {0};
  const alq_strategy *strategy = alq_strategy_find(req.strategy);
  int with_answers = rank == 0 && opt->state[0] && strategy && (strategy->needs & ALQ_NEEDS_ANSWERS);
  if (!err) /* only rank 0's opt is read */
    err = alq_bcast(&with_answers, sizeof with_answers, 0, comm);
  if (!err && with_answers)
    err = alq_agree(comm, rank == 0 ? alq_answer_table_read_state(opt->state, &answers) : ALQ_OK);
  req.answers = with_answers ? &answers : NULL;
  if (!err)
    err = alq_select_pool(comm, &req, src, &labeled, &batch, &facts);
  if (!err)
    err = alq_projection_check_pool(&req, facts.ids_checksum); /* the same on every rank */
  alq_source_close(src);
  alq_answer_table_free(&answers);
  req.answers = NULL;
  req.ids_checksum = facts.ids_checksum;
  req.ood_threshold = facts.ood_threshold;
  req.ood_calibration = facts.ood_calibration;
  req.ood_rejected = facts.ood_rejected_total;
  req.ood_rejected_per_rank = facts.ood_rejected_per_rank;
  alq_manifest_bytes manifest = {0};
  if (!err)
    err = alq_manifest_build(comm, opt, &req, &batch, &manifest);
  /* Agreed before rank 0 writes: a rank that failed here leaves no batch. */
  if (!err)
    err = alq_agree(comm, alq_fault_point("write"));
  alq_staged_outputs staged = {0};
  if (!err) {
    alq_phase_begin(ALQ_PHASE_WRITE);
    alq_err werr = rank == 0 ? alq_batch_write(opt, &req, size, &batch, &manifest, &staged) : ALQ_OK;
    if (!werr && rank == 0 && opt->state[0])
      werr = alq_state_record_batch(opt, &req, &labeled, &batch, &manifest, &staged);
    alq_phase_end(ALQ_PHASE_WRITE);
    err = alq_agree(comm, werr);
  }
  alq_manifest_bytes_free(&manifest);
  /* The outputs are renamed only after the last collective step, so that a
   * failure anywhere leaves none and removes no final name. */
  if (!err)
    err = alq_report_gather(comm, &req, &facts);
  if (!err)
    err = alq_agree(comm, rank == 0 ? alq_staged_commit(&staged) : ALQ_OK);
  alq_staged_discard(&staged);
  if (!err && rank == 0 && !req.quiet && staged.round > 0)
    fprintf(stderr, "alq: round %lld recorded in %s: %lld item(s) pending labels\n", (long long)staged.round,
            opt->state, (long long)batch.n);
  if (!err && rank == 0 && !req.quiet)
    fprintf(stderr, "alq: selected %lld item(s) with %s on %d rank(s): %s%s%s\n", (long long)batch.n, req.strategy,
            size, opt->out, opt->csv[0] ? ", " : "", opt->csv);
  alq_batch_free(&batch);
  free(facts.ood_rejected_per_rank);
  free(saved.c);
  alq_labeled_free(&labeled);
  return err;
}

/* With --state, rank 0 holds the state's lock from reading it (prepare) to
 * renaming it (alq/state_lock.h): a concurrent ingest or selection waits, so
 * no update is lost and two selections never send out the same items. */
alq_err alq_select_run(MPI_Comm comm, const alq_select_options *opt) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  alq_state_lock lock = {-1, ""};
  alq_err err = rank == 0 && opt->state[0] ? alq_state_lock_take(opt->state, opt->quiet, &lock) : ALQ_OK;
  err = alq_agree(comm, err);
  if (!err)
    err = select_locked(comm, opt);
  alq_state_lock_release(&lock);
  return err;
}
