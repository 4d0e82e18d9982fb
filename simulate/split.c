/* simulate/split.c: per seed, the stratified test split, the initial labeled
 * set and the feature statistics the model standardises with. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/hash.h"
#include "alq/model.h"
#include "alq/partition.h"
#include "sim.h"

void sim_split_free(sim_split *s) {
  free(s->test_rows);
  free(s->pool_rows);
  free(s->pool_x);
  free(s->pool_ids);
  free(s->pool_y);
  free(s->mean);
  free(s->std);
  alq_labeled_free(&s->initial);
}

alq_err sim_split_make(MPI_Comm comm, const alq_simulate_options *o, const sim_dataset *d, uint64_t seed,
                       sim_split *s) {
  memset(s, 0, sizeof *s);
  int64_t n = d->meta.n_items, dim = d->meta.dim;
  alq_labeled test = {0};
  int64_t n_test = (int64_t)llround(o->test_fraction * (double)n);
  ALQ_CHECK(alq_labeled_draw_stratified(d->y, d->ids, n, d->meta.n_classes, n_test,
                                        alq_hash3(seed, 0, ALQ_PURPOSE_TEST_SPLIT), &test));
  s->n_test = test.n;
  s->n_pool = n - test.n;
  alq_err err = alq_malloc(&s->test_rows, sizeof(int64_t) * (s->n_test ? s->n_test : 1), "test rows");
  if (!err)
    err = alq_malloc(&s->pool_rows, sizeof(int64_t) * (s->n_pool ? s->n_pool : 1), "pool rows");
  if (!err)
    err = alq_malloc(&s->pool_x, sizeof(float) * (s->n_pool ? s->n_pool : 1) * dim, "pool features");
  if (!err)
    err = alq_malloc(&s->pool_ids, sizeof(int64_t) * (s->n_pool ? s->n_pool : 1), "pool ids");
  if (!err)
    err = alq_malloc(&s->pool_y, sizeof(int32_t) * (s->n_pool ? s->n_pool : 1), "pool labels");
  if (!err)
    err = alq_malloc(&s->mean, sizeof(float) * dim, "feature means");
  if (!err)
    err = alq_malloc(&s->std, sizeof(float) * dim, "feature scales");
  /* Both lists are sorted by id: one merge walk separates them. */
  int64_t t = 0, p = 0;
  for (int64_t i = 0; !err && i < n; i++) {
    if (t < test.n && test.ids[t] == d->ids[i]) {
      s->test_rows[t++] = i;
    } else {
      s->pool_rows[p] = i;
      s->pool_ids[p] = d->ids[i];
      s->pool_y[p] = d->y[i];
      memcpy(s->pool_x + p * dim, d->x + i * dim, sizeof(float) * dim);
      p++;
    }
  }
  alq_labeled_free(&test);
  if (!err && o->initial > s->n_pool)
    err = alq_error_set(ALQ_ERR_USAGE, "--initial %lld is more than the %lld items left after the test split",
                        (long long)o->initial, (long long)s->n_pool);
  if (!err)
    err = alq_labeled_draw_stratified(s->pool_y, s->pool_ids, s->n_pool, d->meta.n_classes, o->initial, seed,
                                      &s->initial);
  /* Standardisation from the pool's features (unlabeled data is free), each
   * rank summing its share of the rows. */
  double *acc = NULL;
  if (!err)
    err = alq_calloc(&acc, 2 * dim + 1, sizeof *acc, "feature sums");
  err = alq_agree(comm, err);
  if (!err) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    alq_range r = alq_partition_rows(s->n_pool, 1, size, rank);
    alq_feature_sums_add(acc, dim, r.hi - r.lo, s->pool_x + r.lo * dim);
    err = alq_feature_stats(comm, dim, acc, s->mean, s->std);
  }
  free(acc);
  return err;
}
