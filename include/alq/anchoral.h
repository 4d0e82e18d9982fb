/* alq/anchoral.h: AnchorAL subpool retrieval (Lesci & Vlachos, NAACL 2024),
 * exact and distributed.
 *
 * Anchors: for each class in sorted order, A labeled items chosen by k-means++
 * (D^2) seeding over the class's L2-normalised labeled embeddings, driven by the
 * seed; a class with at most A labeled items uses all of them.
 * Retrieval: every worker streams its shard, bounds each chunk's cosine
 * similarities to all anchors with one SGEMM, computes exactly (alq_dot) those
 * that could enter an anchor's heap, and keeps per anchor its K most similar
 * unlabeled items in a bounded heap.  The per-anchor lists are merged
 * across ranks by a reduction into each anchor's global top K.  An item's score
 * is the mean similarity over the anchors whose global top K holds it; the
 * subpool is the top M items by that score (ties: lower id).  The subpool
 * stays on the ranks that own its items.  With no labeled items there are no
 * anchors: `alq select` then takes a random batch, and when the unlabeled
 * items fit in M it runs the strategy on the whole pool (as the reference
 * does; coordinator/select_pool.c), so the subpool always has anchors.
 */
#ifndef ALQ_ANCHORAL_H
#define ALQ_ANCHORAL_H
#include <stdint.h>
#include "alq/pool.h"
#include "alq/worker.h"

typedef struct {
  int64_t anchors_per_class; /* A */
  int64_t neighbors;         /* K per anchor */
  int64_t subpool_size;      /* M */
  int random_anchors;        /* 1: A labeled items per class by hash(seed, id) instead of k-means++ */
  uint64_t seed;
  int log_view;              /* rank 0 prints the retrieval's counters */
  int expected_entropy;      /* the subpool keeps each row's expected entropy (BALD: ALQ_FIELD_EXPECTED_ENTROPY) */
} alq_anchoral_options;

/* Picks the anchors: on return anchors[0..*n_anchors) index the labeled set
 * (grouped by class in sorted order).  `labeled_emb` holds labeled->n rows of
 * `dim` floats.  `anchors` must hold labeled->n entries.  Pure function of its
 * inputs, so every rank computes the same anchors. */
alq_err alq_anchoral_choose(const alq_labeled *labeled, const float *labeled_emb, int64_t dim,
                            const alq_anchoral_options *opt, int64_t *anchors, int64_t *n_anchors);

/* Collective: streams the shard described by `stream` (its fields are ignored:
 * ids, embeddings, and probabilities and labels when the pool has them are
 * read, and expected entropies with opt->expected_entropy) and returns this rank's share of the subpool as rows sorted by id in
 * `local` (free with alq_pool_data_free), and the pool's ids checksum
 * (alq_stream_result.ids_checksum) in *ids_checksum.  The labeled set must
 * not be empty (anchors come from it). */
alq_err alq_anchoral_subpool(const alq_stream_request *stream, const alq_anchoral_options *opt,
                             const alq_labeled *labeled, const float *labeled_emb, alq_pool_data *local,
                             uint64_t *ids_checksum);

/* Collective: the retrieval alone, for given anchors (n_anchors x dim rows of
 * the pool's embedding space, normalised here).  On return every rank holds
 * *lists: n_anchors blocks of k (similarity, id) records, each anchor's global
 * top k unlabeled items by cosine similarity in alq's order, padded with
 * alq_scored_none() (caller frees).  *sgemm_seconds (may be NULL): the
 * slowest rank's bound-GEMM time (alq/gemm.h). */
#include "alq/scored.h"
alq_err alq_anchoral_retrieve(const alq_stream_request *stream, const float *anchors, int64_t n_anchors, int64_t k,
                              alq_scored **lists, double *sgemm_seconds);

void alq_pool_data_free(alq_pool_data *d);

#endif
