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

/* Collective over `comm`.  Only rank 0's `opt` is read. */
alq_err alq_select_run(MPI_Comm comm, const alq_select_options *opt);

#endif
