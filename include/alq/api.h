/* alq/api.h: a flat C API for bindings (Python's ctypes, Julia, R, ...).
 *
 * `alq select` on arrays a program already holds, without writing them to a
 * file: plain structs of pointers and sizes, the communicator as a Fortran
 * handle (MPI_Fint, what mpi4py's comm.py2f() gives), the options as one
 * "key=value;..." string with the names of alq select's options, and an error
 * buffer that receives alq's one-line message.  Every function returns alq's
 * exit class (alq/error.h: 0 ok, 1 internal, 2 usage, 3 bad input, 4 output,
 * 5 memory, 6 MPI), the same on every rank.  docs/python.md describes the
 * Python package built on it.
 */
#ifndef ALQ_API_H
#define ALQ_API_H
#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

/* This rank's piece of the pool: rows [r0, r0 + n_rows) of the pool, where r0
 * is the rows of the lower ranks (pieces are contiguous, in rank order, of any
 * sizes; an empty piece is allowed).  The arrays stay the caller's. */
typedef struct {
  const char *name;        /* names the arrays in error messages; NULL: "arrays" */
  int64_t n_rows;
  int64_t dim;             /* columns of embeddings, the same on every rank */
  int64_t n_classes;       /* columns of probs, the same on every rank; 0: no probs */
  const float *embeddings; /* n_rows x dim, row-major */
  const float *probs;      /* n_rows x n_classes, row-major; NULL when n_classes is 0 */
  const int64_t *ids;      /* n_rows, unique over the whole pool, any order; NULL on
                            * every rank: the ids are the global row indices */
} alq_api_pool;

/* The labeled set, read on rank 0 only (the other ranks may pass NULL): these
 * items are never selected, and are k-center's first centers and AnchorAL's
 * anchors.  Any order; no id twice; labels in [0, n_classes) (any label >= 0
 * without probs). */
typedef struct {
  int64_t n;
  const int64_t *ids;
  const int32_t *labels;
} alq_api_labeled;

/* The batch, complete on every rank; free it with alq_api_batch_free. */
typedef struct {
  int64_t n;
  int64_t *ids;   /* in selection order */
  double *scores; /* as in the batch file's /selected/scores */
} alq_api_batch;

/* Initialises MPI (MPI_THREAD_SERIALIZED) unless it already is, e.g. by
 * mpi4py or the program itself: a single process then needs no mpiexec. */
int alq_api_init(char *err, size_t errlen);

/* Finalises MPI if alq_api_init initialised it (a no-op otherwise). */
int alq_api_finalize(void);

/* MPI_COMM_WORLD as a Fortran handle (after alq_api_init). */
MPI_Fint alq_api_comm_world(void);

/* Collective over `comm`: the batch `alq select` would write for the pool
 * the ranks' pieces make up.  `options` holds budget=B and strategy=NAME and
 * any of alq select's options that do not name a file: seed, candidates,
 * chunk-rows, memory-per-rank, subpool, anchors-per-class, neighbors,
 * subpool-size, anchor-strategy, diversity, fan-in, delta, and the flags
 * no-prune, log-view, quiet (as "quiet" or "quiet=1"), separated by ';'.
 * On failure *out is empty and err (errlen bytes, may be NULL) holds the
 * one-line reason on every rank. */
int alq_api_select(MPI_Fint comm, const alq_api_pool *piece, const alq_api_labeled *labeled, const char *options,
                   alq_api_batch *out, char *err, size_t errlen);

/* Frees the arrays of a batch (NULL or an empty batch are ignored). */
void alq_api_batch_free(alq_api_batch *batch);

/* A simulation's curve (alq/simulate.h), one point per (seed, strategy,
 * round) in that order, as columns: the CSV's columns of alq simulate. */
#define ALQ_API_NAME_MAX 96
typedef struct {
  int64_t n;
  char *strategy; /* n names of ALQ_API_NAME_MAX bytes each, NUL-terminated */
  uint64_t *seed;
  int64_t *round, *labeled, *items;
  double *accuracy, *macro_f1, *rare_recall, *train_seconds, *select_seconds;
} alq_api_curve;

/* Collective over `comm`: alq simulate with `options` ("key=value;...", the
 * command's names: pool, strategy (a comma list, anchoral+NAME), batch,
 * rounds, initial, seeds, seed, test-fraction, subpool, model, hidden,
 * dropout, l2, lr, epochs, class-weights, mc-samples, annotators,
 * annotator-noise, confusion, quiet, and out / plot to also write the CSV and
 * SVG).  Rank 0's `options` are used; rank 0 receives the curve, the other
 * ranks an empty one.  Free it with alq_api_curve_free. */
int alq_api_simulate(MPI_Fint comm, const char *options, alq_api_curve *out, char *err, size_t errlen);
void alq_api_curve_free(alq_api_curve *curve);

#endif
