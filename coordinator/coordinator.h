/* coordinator/coordinator.h: rank 0's side of a selection (internal). */
#ifndef ALQ_COORDINATOR_H
#define ALQ_COORDINATOR_H
#include <mpi.h>
#include <stdint.h>

#include "alq/manifest.h"
#include "alq/pool.h"
#include "alq/select.h"
#include "alq/strategy.h"

/* Rank 0: validates the options against the pool and reads the labeled set. */
alq_err alq_coordinator_prepare(const alq_select_options *opt, alq_request *req, alq_labeled *labeled);

/* Collective: rank 0's request (a protobuf SelectRequest on the wire) reaches every rank. */
alq_err alq_request_broadcast(MPI_Comm comm, alq_request *req);

/* Rank 0: writes the batch and its manifest under temporary names
 * (alq_batch_temp_names) and, without --state, renames them together over
 * --out and --csv; with --state they stay temporary until
 * alq_state_record_batch renames them with the state.  On failure only the
 * temporary files are removed. */
alq_err alq_batch_write(const alq_select_options *opt, const alq_request *req, int nranks, const alq_batch *batch,
                        const alq_manifest_bytes *manifest);

/* The temporary names of --out and --csv ("" when no --csv), `size` bytes each. */
alq_err alq_batch_temp_names(const alq_select_options *opt, char *tmp_h5, char *tmp_csv, size_t size);

/* Rank 0, --state given and the state file exists: the items the selection
 * excludes (labeled and pending, alq_state_exclusions), after checking that the
 * state belongs to the pool. */
alq_err alq_state_selection_exclusions(const alq_select_options *opt, const alq_request *req, alq_labeled *out);

/* Rank 0, after alq_batch_write with --state: records the batch as the next
 * round of opt->state, creating the state from `initial` (the labeled set the
 * selection started from) when the file does not exist yet, then renames the
 * batch files and the state together.  On failure the temporary files are
 * removed and --out, --csv and the state are as they were before the run. */
alq_err alq_state_record_batch(const alq_select_options *opt, const alq_request *req, const alq_labeled *initial,
                               const alq_batch *batch, const alq_manifest_bytes *manifest);

/* Collective: every rank's RankReport reaches rank 0, which prints the
 * --log-view table when asked. */
alq_err alq_report_gather(MPI_Comm comm, const alq_request *req, const alq_rank_facts *facts);

#endif
