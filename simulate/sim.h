/* simulate/sim.h: the pieces of alq_simulate (internal to simulate/). */
#ifndef ALQ_SIMULATE_SIM_H
#define ALQ_SIMULATE_SIM_H
#include <mpi.h>
#include <stdint.h>

#include "alq/model.h"
#include "alq/simulate.h"
#include "alq/strategy.h"

/* The whole pool, on every rank; ids ascending. */
typedef struct {
  alq_pool_meta meta;
  float *x;
  int32_t *y;
  int64_t *ids;
} sim_dataset;

/* Collective: reads o->pool (every rank the whole of it); input error when
 * /labels is missing or incomplete, or the ids are not ascending. */
alq_err sim_dataset_load(MPI_Comm comm, const char *path, sim_dataset *d);
void sim_dataset_free(sim_dataset *d);
/* Row of `id` in the dataset, or -1. */
int64_t sim_row_of(const sim_dataset *d, int64_t id);

/* Rows of one seed: the test split and the rest (the pool selections draw from). */
typedef struct {
  int64_t n_test, n_pool;
  int64_t *test_rows, *pool_rows; /* row indices into the dataset */
  float *pool_x;                  /* n_pool x d, for the memory source */
  int64_t *pool_ids;
  int32_t *pool_y;
  alq_labeled initial;            /* drawn from the pool, sorted by id */
  float *mean, *std;              /* feature statistics of the pool */
} sim_split;

/* Collective; every rank computes the same split (pure functions of the seed). */
alq_err sim_split_make(MPI_Comm comm, const alq_simulate_options *o, const sim_dataset *d, uint64_t seed,
                       sim_split *s);
void sim_split_free(sim_split *s);

/* Collective: trains on the labeled items, each rank taking a contiguous share. */
alq_err sim_train(MPI_Comm comm, const alq_simulate_options *o, const sim_dataset *d, const sim_split *s,
                  const alq_labeled *labeled, alq_model *model);

/* Collective: test-split metrics (each rank predicts a share, confusion counts summed). */
alq_err sim_evaluate(MPI_Comm comm, const alq_simulate_options *o, const sim_dataset *d, const sim_split *s,
                     const alq_model *model, uint64_t seed, alq_metrics *out);

/* Collective: one selection through alq_select_pool, the model serving the
 * in-memory pool's probabilities and embeddings. */
alq_err sim_select(MPI_Comm comm, const alq_simulate_options *o, const sim_dataset *d, const sim_split *s,
                   int which, const alq_model *model, uint64_t seed, const alq_labeled *labeled, alq_batch *batch);

/* Adds the batch, with its true labels, to the labeled set (kept sorted by id). */
alq_err sim_reveal(const sim_dataset *d, const alq_batch *batch, alq_labeled *labeled);

#endif
