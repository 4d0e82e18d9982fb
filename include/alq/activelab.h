/* alq/activelab.h: the `activelab` strategy's stages around the scan.
 *
 * ActiveLab ranks labeled and unlabeled items on one scale (alq/consensus.h):
 * before the scan, rank 0 computes the CROWDLAB consensus of the labeled
 * items' answers with the model's probabilities of them and broadcasts the
 * labeled items' scores and the two weights the unlabeled score needs; the
 * scan keeps the B unlabeled items of least confidence (the unlabeled score
 * grows with 1 - max p); the merge puts them on the labeled items' scale and
 * keeps the best B of both, flagging the labeled ones for re-labeling.  The
 * same on every rank, so the batch is the same at any rank count.
 *
 * As cleanlab's get_active_learning_scores, the model's probabilities are
 * scaled by one temperature (alq_consensus_temperature, fitted on the labeled
 * items' answers; 1 while no item has two answers), the labeled items' before
 * the consensus and the unlabeled items' in the scan: whoever computed the
 * probabilities (a pool's /probs, a head, alq simulate's model).
 */
#ifndef ALQ_ACTIVELAB_H
#define ALQ_ACTIVELAB_H
#include <mpi.h>
#include "alq/consensus.h"
#include "alq/select.h"

typedef struct {
  int64_t n;       /* labeled items that may be sent out again */
  int64_t *ids;    /* ascending */
  double *scores;  /* ActiveLab score of each (higher = label again first) */
  alq_consensus weights; /* only n_classes, model_weight and mean_annotator_weight are set on every rank */
  double temperature;    /* the model's probabilities were scaled by (alq_consensus_temperature), every rank */
} alq_relabel;

void alq_relabel_free(alq_relabel *r);

/* Collective.  req->answers (rank 0; NULL = the labeled set's labels as one
 * answer each, pending items with label -1 left out) must name only items of
 * `labeled`; rank 0 fetches their probabilities from `src`.  With
 * req->answers the annotators are known: an item all of them have answered is
 * not offered for re-labeling (it could not go to a new annotator). */
alq_err alq_activelab_prepare(MPI_Comm comm, const alq_request *req, alq_source *src, const alq_labeled *labeled,
                              alq_relabel *out);

/* Local and identical on every rank: rescores the unlabeled top of `batch`
 * (scores 1 - max p scaled by r->temperature, alq_strategy_activelab's), merges in the labeled items
 * and keeps the best `budget` in alq's order (alq/scored.h), with relabel
 * flags. */
alq_err alq_activelab_merge(const alq_relabel *r, int64_t budget, alq_batch *batch);

#endif
