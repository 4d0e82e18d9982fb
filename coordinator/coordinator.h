/* coordinator/coordinator.h: rank 0's side of a selection (internal). */
#ifndef ALQ_COORDINATOR_H
#define ALQ_COORDINATOR_H
#include <mpi.h>
#include <stdint.h>

#include "alq/pool.h"
#include "alq/select.h"
#include "alq/strategy.h"

/* What every rank knows about the job after the broadcast. */
typedef struct {
  alq_pool_meta meta;
  char strategy[64];
  char labeled_path[ALQ_PATH_MAX];
  int64_t budget;
  int64_t candidates; /* kept for the select stage; < 0 = every unlabeled item */
  int64_t n_labeled;
  int64_t chunk_rows;
  uint64_t seed;
  int prune, log_view, quiet;
} alq_request;

/* Rank 0: validates the options against the pool and reads the labeled set. */
alq_err alq_coordinator_prepare(const alq_select_options *opt, alq_request *req, alq_labeled *labeled);

/* Collective: rank 0's request (a protobuf SelectRequest on the wire) reaches every rank. */
alq_err alq_request_broadcast(MPI_Comm comm, alq_request *req);

/* Rank 0: writes the batch atomically (temporary names, renamed when complete). */
alq_err alq_batch_write(const alq_select_options *opt, const alq_request *req, int nranks, const alq_batch *batch);

/* Collective: every rank's RankReport reaches rank 0, which prints the
 * --log-view table when asked. */
typedef struct {
  int64_t row_lo, row_hi, unlabeled, candidates;
} alq_rank_facts;
alq_err alq_report_gather(MPI_Comm comm, const alq_request *req, const alq_rank_facts *facts);

#endif
