/* simulate/sim.h: the pieces of alq_simulate (internal to simulate/). */
#ifndef ALQ_SIMULATE_SIM_H
#define ALQ_SIMULATE_SIM_H
#include <mpi.h>
#include <stdint.h>

#include "alq/consensus.h"
#include "alq/model.h"
#include "alq/simulate.h"
#include "alq/source.h"
#include "alq/strategy.h"

/* The whole pool, on every rank; ids ascending. */
typedef struct {
  alq_pool_meta meta;
  float *x;
  int32_t *y;
  int64_t *ids;
  double *confusion; /* --confusion: K x K, each row cumulative; NULL = uniform noise */
} sim_dataset;

/* Collective: reads o->pool (every rank the whole of it) and o->confusion;
 * input error when /labels is missing or incomplete, the ids are not
 * ascending, or a confusion row is not a distribution over the classes. */
alq_err sim_dataset_load(MPI_Comm comm, const alq_simulate_options *o, sim_dataset *d);
void sim_dataset_free(sim_dataset *d);
/* Rank 0: K rows of K probabilities from `path` into out (made cumulative). */
alq_err sim_confusion_read(const char *path, int64_t K, double *out);
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

/* Out-of-sample probabilities of the labeled items (oos.c), ids ascending. */
typedef struct {
  int64_t n, n_classes;
  int64_t *ids;
  float *probs; /* n x n_classes */
} sim_oos;

/* Collective: 5-fold cross-validation over `labeled` (consensus labels): an
 * item's fold is hash(seed, id) mod 5, each fold's items predicted by a model
 * trained (sim_train) on the other folds' items; every rank gets them all,
 * the same bits at any rank count.  `all` (the round's model) predicts a fold
 * when nothing is left to train on. */
alq_err sim_oos_probs(MPI_Comm comm, const alq_simulate_options *o, const sim_dataset *d, const sim_split *s,
                      uint64_t seed, const alq_labeled *labeled, const alq_model *all, sim_oos *out);
void sim_oos_free(sim_oos *o);
/* The out-of-sample probabilities of `id`, or NULL (o NULL, or id not in it). */
const float *sim_oos_row(const sim_oos *o, int64_t id);
/* A source that is `inner` (taken over: closing it closes inner) except that
 * rows fetched by id take their probabilities from `oos` when it has them. */
alq_err sim_source_with_oos(alq_source *inner, const sim_oos *oos, alq_source **out);

/* Collective: one selection through alq_select_pool, the model serving the
 * in-memory pool's probabilities and embeddings; `answers` (NULL without
 * annotators) are the labeled items' answers, for activelab, and `oos` (NULL:
 * none) the labeled items' out-of-sample probabilities it scores them by. */
alq_err sim_select(MPI_Comm comm, const alq_simulate_options *o, const sim_dataset *d, const sim_split *s,
                   int which, const alq_model *model, uint64_t seed, const alq_labeled *labeled,
                   const alq_answer_table *answers, const sim_oos *oos, alq_batch *batch);

/* Annotators: one answer to each of ids[0..n) (alq/simulate.h says who
 * answers and how), added to `answers`. */
alq_err sim_annotate(const alq_simulate_options *o, const sim_dataset *d, uint64_t seed, const int64_t *ids,
                     int64_t n, alq_answer_table *answers);

/* The labeled set from the answers: the CROWDLAB consensus with the model's
 * probabilities of the answered items, an item's out-of-sample ones when
 * `oos` (may be NULL) has them (every rank the same, no messages). */
alq_err sim_consensus_labels(const alq_simulate_options *o, const sim_dataset *d, const alq_model *model,
                             uint64_t seed, const alq_answer_table *answers, const sim_oos *oos,
                             alq_labeled *labeled);

/* Adds the batch, with its true labels, to the labeled set (kept sorted by id). */
alq_err sim_reveal(const sim_dataset *d, const alq_batch *batch, alq_labeled *labeled);

#endif
