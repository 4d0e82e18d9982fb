/* coordinator/coordinator.h: rank 0's side of a selection, and the --log-view
 * table (internal). */
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

/* Collective: rank 0's labeled set (n items, as in its request) on every
 * rank; the other ranks' *labeled is allocated here (alq_labeled_free). */
alq_err alq_labeled_broadcast(MPI_Comm comm, int64_t n, alq_labeled *labeled);

/* A selection's outputs (--out, --csv, the state), complete under temporary
 * names and not yet renamed.  The last collective step (the report gather)
 * runs between staging and the commit, so a failure anywhere leaves no output
 * at all and never has to remove a final name: an earlier file of that name
 * stays as it was. */
typedef struct {
  char tmp[3][ALQ_PATH_MAX + 32];
  const char *final_path[3];
  int n;
  int64_t round; /* the round recorded in the state (0: none) */
} alq_staged_outputs;

/* Adds `final_path` to the stage; *tmp receives the temporary name to write. */
alq_err alq_staged_add(alq_staged_outputs *st, const char *final_path, const char **tmp);

/* Renames every staged file over its final name, all or nothing (alq_paths_commit). */
alq_err alq_staged_commit(alq_staged_outputs *st);

/* Removes the staged temporary files (no-op for an empty stage). */
void alq_staged_discard(alq_staged_outputs *st);

/* Rank 0: writes the batch and its manifest under temporary names, staged in
 * *st (zeroed here).  On failure nothing is staged and no file is left. */
alq_err alq_batch_write(const alq_select_options *opt, const alq_request *req, int nranks, const alq_batch *batch,
                        const alq_manifest_bytes *manifest, alq_staged_outputs *st);

/* Rank 0, --state given and the state file exists: the items the selection
 * excludes (labeled and pending, alq_state_exclusions), after checking that the
 * state belongs to the pool. */
alq_err alq_state_selection_exclusions(const alq_select_options *opt, const alq_request *req, alq_labeled *out);

/* Collective: the round state's clusters (alq_saved_clusters) on every
 * rank, read by rank 0 (k = 0 without --state, or when the file or its
 * clusters do not exist yet). */
alq_err alq_state_clusters_broadcast(MPI_Comm comm, const alq_select_options *opt, alq_saved_clusters *out);

/* Rank 0, after alq_batch_write with --state: writes the state with the
 * batch as its next round (created from `initial`, the labeled set the
 * selection started from, when the file does not exist yet) under a temporary
 * name, staged with the batch files: they are renamed together, since a batch
 * the state does not know of would be selected again next round.  On failure
 * only the state's temporary file is removed (the batch stays staged for the
 * caller to discard). */
alq_err alq_state_record_batch(const alq_select_options *opt, const alq_request *req, const alq_labeled *initial,
                               const alq_batch *batch, const alq_manifest_bytes *manifest, alq_staged_outputs *st);

/* What the --log-view table says above its phase rows (docs/design.md,
 * "--log-view"): `title` starts its first line (the command and its
 * parameters; the rank count and the pool's shape and path follow), `meta` is
 * the pool, and notes(ctx, nranks), when not NULL, prints the command's own
 * lines after the arithmetic line. */
typedef struct {
  char title[256];
  const alq_pool_meta *meta;
  void (*notes)(const void *ctx, int nranks);
  const void *ctx;
} alq_log_view_head;

/* Collective: every rank's RankReport (its phase counters, alq/logview.h,
 * and facts->row_lo/row_hi) reaches rank 0, which prints the table when
 * `head` is not NULL (only rank 0's is read).  The table code of every
 * command with --log-view (select, retrieve). */
alq_err alq_log_view_gather(MPI_Comm comm, const alq_log_view_head *head, const alq_rank_facts *facts);

/* Collective: alq_log_view_gather for a selection, with the table when
 * req->log_view. */
alq_err alq_report_gather(MPI_Comm comm, const alq_request *req, const alq_rank_facts *facts);

#endif
