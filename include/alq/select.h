/* alq/select.h: one selection, end to end, as a collective call.
 *
 * Rank 0 (the coordinator) validates the options and the pool, broadcasts a
 * request (proto/alq.proto SelectRequest), every rank scans its shard, the
 * strategy selects, and rank 0 writes the batch.  Every rank returns the same
 * status; on failure rank 0's error buffer holds the one-line reason and no
 * output file exists.
 */
#ifndef ALQ_SELECT_H
#define ALQ_SELECT_H
#include <mpi.h>
#include <stdint.h>
#include "alq/error.h"
#include "alq/pool.h"
#include "alq/source.h"
#include "alq/strategy.h"

typedef struct {
  char pool[ALQ_PATH_MAX];
  char labeled[ALQ_PATH_MAX]; /* "" = the pool's own /labeled group */
  char out[ALQ_PATH_MAX];
  char csv[ALQ_PATH_MAX];     /* "" = no CSV */
  char strategy[64];
  int64_t budget;
  int64_t candidates; /* 0 = the strategy's default */
  int64_t chunk_rows; /* 0 = default */
  uint64_t seed;
  int prune;          /* 1 = k-center triangle-inequality pruning (default) */
  int log_view;
  int quiet;
} alq_select_options;

/* What every rank knows about a selection (rank 0 broadcasts it). */
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

/* What one rank did, for its report. */
typedef struct {
  int64_t row_lo, row_hi, unlabeled, candidates;
} alq_rank_facts;

/* Collective: the selection itself, from an open source to the batch (complete
 * on every rank).  `labeled_ids` (req->n_labeled, sorted) must be identical on
 * every rank.  Used by alq_select_run and by programs that hold the pool in
 * memory (alq_source_memory). */
alq_err alq_select_pool(MPI_Comm comm, const alq_request *req, alq_source *src, const int64_t *labeled_ids,
                        alq_batch *batch, alq_rank_facts *facts);

/* Collective over `comm`.  Only rank 0's `opt` is read. */
alq_err alq_select_run(MPI_Comm comm, const alq_select_options *opt);

#endif
