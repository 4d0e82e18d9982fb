/* alq/worker.h: a worker's pass over its shard.
 *
 * Every rank streams its rows [shard.lo, shard.hi) in chunks of chunk_rows,
 * validates them, marks labeled items, scores the rest with the strategy and
 * keeps its best `keep` candidates (with their embeddings when the select stage
 * needs them) plus the embeddings of the labeled items it owns.  Memory: one
 * chunk plus the kept candidates.
 */
#ifndef ALQ_WORKER_H
#define ALQ_WORKER_H
#include <mpi.h>
#include <stdint.h>
#include "alq/partition.h"
#include "alq/pool.h"
#include "alq/source.h"
#include "alq/strategy.h"

typedef struct {
  MPI_Comm comm;
  const alq_pool_meta *meta;
  alq_source *source;
  alq_range shard;
  int64_t chunk_align;          /* the partition's alignment (names rows in messages) */
  int64_t chunk_rows;
  const alq_strategy *strategy; /* its score stage, if any, ranks the candidates */
  uint64_t seed;
  const int64_t *labeled_ids;   /* sorted, identical on every rank */
  int64_t n_labeled;
  int64_t keep;                 /* candidates kept on this rank; < 0 = every unlabeled item */
  int keep_embeddings;          /* also keep candidate and labeled embeddings */
} alq_scan_request;

typedef struct {
  alq_candidates candidates;    /* in alq's order by score */
  alq_centers labeled;          /* labeled items found in this shard (embeddings if kept) */
  unsigned char *labeled_found; /* n_labeled flags, reduced over all ranks: 1 = some rank owns the id */
  int64_t n_unlabeled;          /* in this shard */
  int64_t rows_read;
} alq_scan_result;

/* Collective.  On failure every rank returns the same code and message. */
alq_err alq_worker_scan(const alq_scan_request *req, alq_scan_result *res);
void alq_scan_result_free(alq_scan_result *res);

/* The default rows per read: about 8 MiB of embeddings and probabilities,
 * rounded to whole HDF5 chunks. */
int64_t alq_default_chunk_rows(const alq_pool_meta *meta);

#endif
