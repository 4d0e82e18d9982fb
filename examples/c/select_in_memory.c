/* examples/c/select_in_memory.c: a batch chosen by libalq from arrays this
 * program holds, with no pool file.
 *
 *   mpiexec -n 2 ./select_in_memory [--write-pool POOL.h5]
 *
 * Every rank builds the same small pool (embeddings, class probabilities, a
 * labeled set) in memory; alq_source_memory serves its rows and
 * alq_select_pool, a collective call, picks the batch: each rank scans its own
 * share of the rows and the batch is the same at any number of ranks.  Rank 0
 * prints the batch ids, one per line, in selection order.  --write-pool also
 * writes the arrays as a pool file, for `alq select` to choose from the same
 * data (examples/c/README.md).
 */
#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/error.h"
#include "alq/pool.h"
#include "alq/select.h"
#include "alq/source.h"
#include "alq/strategy.h"

enum { N_ITEMS = 3000, DIM = 8, N_CLASSES = 4, N_LABELED = 12, BUDGET = 10 };
static const char *const STRATEGY = "margin-kcenter";
static const uint64_t SEED = 7;

/* A uniform double in [0, 1) from a 64-bit state (splitmix64). */
static double uniform(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

/* The pool a program would get from its model: items around one centre per
 * class, probabilities a softmax of minus the squared distances to the centres,
 * and the first N_LABELED items labeled with their nearest centre. */
static alq_err make_pool(alq_pool_data *pool) {
  memset(pool, 0, sizeof *pool);
  pool->n_items = N_ITEMS;
  pool->dim = DIM;
  pool->n_classes = N_CLASSES;
  ALQ_CHECK(alq_malloc(&pool->embeddings, sizeof(float) * N_ITEMS * DIM, "embeddings"));
  ALQ_CHECK(alq_malloc(&pool->probs, sizeof(float) * N_ITEMS * N_CLASSES, "probabilities"));
  ALQ_CHECK(alq_malloc(&pool->labeled.ids, sizeof(int64_t) * N_LABELED, "labeled ids"));
  ALQ_CHECK(alq_malloc(&pool->labeled.labels, sizeof(int32_t) * N_LABELED, "labeled labels"));
  uint64_t state = 2024;
  double centre[N_CLASSES][DIM];
  for (int c = 0; c < N_CLASSES; c++)
    for (int j = 0; j < DIM; j++)
      centre[c][j] = 4.0 * uniform(&state);
  for (int64_t i = 0; i < N_ITEMS; i++) {
    int home = (int)(uniform(&state) * N_CLASSES);
    float *x = pool->embeddings + i * DIM;
    for (int j = 0; j < DIM; j++)
      x[j] = (float)(centre[home][j] + 2.0 * (uniform(&state) - 0.5));
    double d2[N_CLASSES], total = 0;
    int nearest = 0;
    for (int c = 0; c < N_CLASSES; c++) {
      d2[c] = 0;
      for (int j = 0; j < DIM; j++)
        d2[c] += (x[j] - centre[c][j]) * (x[j] - centre[c][j]);
      if (d2[c] < d2[nearest])
        nearest = c;
    }
    for (int c = 0; c < N_CLASSES; c++)
      total += exp(d2[nearest] - d2[c]);
    for (int c = 0; c < N_CLASSES; c++)
      pool->probs[i * N_CLASSES + c] = (float)(exp(d2[nearest] - d2[c]) / total);
    if (i < N_LABELED) {
      pool->labeled.ids[i] = i; /* sorted by id, as alq_labeled requires */
      pool->labeled.labels[i] = nearest;
    }
  }
  pool->labeled.n = N_LABELED;
  return ALQ_OK;
}

/* Collective: the batch `alq select --strategy STRATEGY --budget BUDGET --seed
 * SEED` would choose from this pool.  alq_request_build resolves the options
 * the way the CLI does; ids are the row indices (pool->ids is NULL). */
static alq_err select_batch(const alq_pool_data *pool, alq_batch *batch) {
  alq_pool_meta meta;
  memset(&meta, 0, sizeof meta);
  snprintf(meta.path, sizeof meta.path, "arrays in memory"); /* what error messages call the pool */
  meta.n_items = pool->n_items;
  meta.dim = pool->dim;
  meta.n_classes = pool->n_classes;
  meta.has_probs = 1;
  meta.chunk_rows = 1;
  alq_select_options opt;
  memset(&opt, 0, sizeof opt);
  snprintf(opt.strategy, sizeof opt.strategy, "%s", STRATEGY);
  opt.budget = BUDGET;
  opt.seed = SEED;
  opt.prune = 1;
  opt.quiet = 1;
  alq_request req;
  ALQ_CHECK(alq_request_build(&opt, &meta, &req));
  req.n_labeled = pool->labeled.n;
  alq_source *src = NULL;
  ALQ_CHECK(alq_source_memory(&meta, pool, &src));
  alq_rank_facts facts;
  memset(&facts, 0, sizeof facts);
  alq_err err = alq_select_pool(MPI_COMM_WORLD, &req, src, &pool->labeled, batch, &facts);
  alq_source_close(src);
  return err;
}

static alq_err run(int argc, char **argv, int rank) {
  const char *write_pool = NULL;
  if (argc == 3 && strcmp(argv[1], "--write-pool") == 0)
    write_pool = argv[2];
  else if (argc != 1)
    return alq_error_set(ALQ_ERR_USAGE, "usage: select_in_memory [--write-pool POOL.h5]");
  alq_pool_data pool;
  alq_err err = make_pool(&pool);
  if (!err && write_pool && rank == 0)
    err = alq_pool_write(write_pool, &pool);
  /* Every rank must reach the collective call or none: agree on the status first. */
  int status = (int)err;
  MPI_Allreduce(MPI_IN_PLACE, &status, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  err = (alq_err)status;
  alq_batch batch;
  memset(&batch, 0, sizeof batch);
  if (!err)
    err = select_batch(&pool, &batch);
  if (!err && rank == 0)
    for (int64_t b = 0; b < batch.n; b++)
      printf("%lld\n", (long long)batch.ids[b]);
  alq_batch_free(&batch);
  free(pool.embeddings);
  free(pool.probs);
  alq_labeled_free(&pool.labeled);
  return err;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  alq_err err = run(argc, argv, rank);
  if (err && rank == 0)
    fprintf(stderr, "select_in_memory: %s\n", alq_error_message()[0] ? alq_error_message() : alq_error_name(err));
  MPI_Finalize();
  return (int)err;
}
