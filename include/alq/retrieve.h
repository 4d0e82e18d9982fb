/* alq/retrieve.h: `alq retrieve` as a collective call: AnchorAL's exact
 * retrieval (alq_anchoral_retrieve, alq/anchoral.h) for anchors given in a
 * file, from the pool to a file of neighbor lists.
 *
 * Rank 0 checks the pool, reads the labeled set and the anchors and
 * broadcasts them; every rank streams its shard; rank 0 writes
 * /neighbors/ids int64 [A][K] and /neighbors/similarities float64 [A][K]
 * (most similar first, padded with -1 / -inf when the pool has fewer than K
 * unlabeled items) under a temporary name and commits it when complete
 * (alq_paths_commit: fsync'd; an existing output stays as it was when
 * the run fails).
 * Every rank returns the same status; on failure rank 0's error buffer holds
 * the one-line reason and no output file is created.  `alq retrieve` is a thin
 * CLI over this module.
 */
#ifndef ALQ_RETRIEVE_H
#define ALQ_RETRIEVE_H
#include <mpi.h>
#include <stdint.h>
#include "alq/error.h"
#include "alq/pool.h"

typedef struct {
  char pool[ALQ_PATH_MAX];
  char anchors[ALQ_PATH_MAX]; /* HDF5 file with /anchors float32 [A][d] */
  char out[ALQ_PATH_MAX];
  char labeled[ALQ_PATH_MAX]; /* "" = the pool's own /labeled group */
  int64_t neighbors;          /* K, kept per anchor (>= 1) */
  int64_t chunk_rows;         /* 0 = default */
  int log_view;               /* rank 0 prints the per-phase table (docs/design.md, "--log-view") */
  int quiet;                  /* no progress or summary on stderr */
} alq_retrieve_options;

/* Serial: the anchors of `path`, dataset /anchors, as *n_rows x dim float32
 * rows (64-byte aligned, free with free()).  Input error (one line naming the
 * file, and the row and column of a bad value) when the file cannot be
 * opened, /anchors is missing, not of rank 2, not floating point, has no rows
 * or not `dim` columns, or holds a value that is not finite. */
alq_err alq_anchors_read(const char *path, int64_t dim, float **rows, int64_t *n_rows);

/* Collective over `comm`: the whole of `alq retrieve`.  Only rank 0's `o` is
 * read. */
alq_err alq_retrieve_run(MPI_Comm comm, const alq_retrieve_options *o);

#endif
