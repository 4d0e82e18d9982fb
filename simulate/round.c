/* simulate/round.c: one round of a simulation: train, evaluate, select, reveal. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/partition.h"
#include "alq/select.h"
#include "alq/worker.h"
#include "sim.h"

alq_err sim_train(MPI_Comm comm, const alq_simulate_options *o, const sim_dataset *d, const sim_split *s,
                  const alq_labeled *labeled, alq_model *model) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  alq_range r = alq_partition_rows(labeled->n, 1, size, rank);
  int64_t n = r.hi - r.lo, dim = d->meta.dim, kept = 0;
  float *x = NULL;
  int32_t *y = NULL;
  int64_t *ids = NULL;
  alq_err err = alq_malloc(&x, sizeof(float) * (n ? n : 1) * dim, "training features");
  if (!err)
    err = alq_malloc(&y, sizeof(int32_t) * (n ? n : 1), "training labels");
  if (!err)
    err = alq_malloc(&ids, sizeof(int64_t) * (n ? n : 1), "training ids");
  err = alq_agree(comm, err);
  /* A junk item (label -1) teaches nothing: it is not trained on. */
  for (int64_t i = 0; !err && i < n; i++)
    if (labeled->labels[r.lo + i] >= 0) {
      memcpy(x + kept * dim, d->x + sim_row_of(d, labeled->ids[r.lo + i]) * dim, sizeof(float) * dim);
      y[kept] = labeled->labels[r.lo + i];
      ids[kept++] = labeled->ids[r.lo + i];
    }
  alq_train_rows rows = {kept, x, y, ids};
  if (!err)
    err = alq_model_train(comm, &o->train, dim, d->meta.n_classes, s->mean, s->std, &rows, model);
  free(x);
  free(y);
  free(ids);
  return err;
}

alq_err sim_evaluate(MPI_Comm comm, const alq_simulate_options *o, const sim_dataset *d, const sim_split *s,
                     const alq_model *model, uint64_t seed, alq_metrics *out) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  alq_range r = alq_partition_rows(s->n_test, 1, size, rank);
  int64_t n = r.hi - r.lo, dim = d->meta.dim, c = d->meta.n_classes;
  float *x = NULL, *probs = NULL;
  int64_t *ids = NULL, *conf = NULL, *sum = NULL;
  alq_err err = alq_malloc(&x, sizeof(float) * (n ? n : 1) * dim, "test features");
  if (!err)
    err = alq_malloc(&probs, sizeof(float) * (n ? n : 1) * c, "test probabilities");
  if (!err)
    err = alq_malloc(&ids, sizeof(int64_t) * (n ? n : 1), "test ids");
  if (!err)
    err = alq_calloc(&conf, c * c, sizeof(int64_t), "confusion matrix");
  if (!err)
    err = alq_calloc(&sum, c * c, sizeof(int64_t), "confusion matrix");
  for (int64_t i = 0; !err && i < n; i++) {
    int64_t row = s->test_rows[r.lo + i];
    memcpy(x + i * dim, d->x + row * dim, sizeof(float) * dim);
    ids[i] = d->ids[row];
  }
  alq_apply_options ap = {seed, o->mc_samples};
  if (!err)
    err = alq_model_apply(model, &ap, n, x, ids, probs, NULL, NULL);
  for (int64_t i = 0; !err && i < n; i++) {
    int64_t best = 0;
    for (int64_t k = 1; k < c; k++)
      if (probs[i * c + k] > probs[i * c + best])
        best = k;
    conf[d->y[s->test_rows[r.lo + i]] * c + best]++;
  }
  err = alq_agree(comm, err);
  if (!err)
    err = alq_allreduce(conf, sum, (int)(c * c), MPI_INT64_T, MPI_SUM, comm);
  if (!err)
    alq_metrics_from_confusion(sum, c, out);
  free(x);
  free(probs);
  free(ids);
  free(conf);
  free(sum);
  return err;
}

/* The request is filled as alq select resolves its defaults (coordinator/prepare.c). */
alq_err sim_select(MPI_Comm comm, const alq_simulate_options *o, const sim_dataset *d, const sim_split *s,
                   int which, const alq_model *model, uint64_t seed, const alq_labeled *labeled,
                   const alq_answer_table *answers, const sim_oos *oos, alq_batch *batch) {
  const char *strategy = o->strategies[which];
  alq_pool_meta meta = d->meta; /* messages name the pool file */
  meta.n_items = s->n_pool;
  meta.has_ids = 1;
  meta.has_probs = 0;
  meta.n_labeled = 0;
  meta.chunk_rows = 1;
  alq_pool_data data = {.n_items = s->n_pool, .dim = d->meta.dim, .n_classes = d->meta.n_classes,
                        .embeddings = s->pool_x, .ids = s->pool_ids, .labels = s->pool_y};
  alq_source *mem = NULL, *src = NULL;
  ALQ_CHECK(alq_agree(comm, alq_source_memory(&meta, &data, &mem)));
  alq_apply_options ap = {seed, o->mc_samples};
  alq_err err = alq_agree(comm, alq_source_with_model(mem, model, &ap, &src));
  if (err) {
    alq_source_close(mem);
    return err;
  }
  if (oos) {
    alq_source *with_oos = NULL;
    err = alq_agree(comm, sim_source_with_oos(src, oos, &with_oos));
    if (err) {
      alq_source_close(src);
      return err;
    }
    src = with_oos;
  }
  const alq_strategy *st = alq_strategy_find(strategy);
  alq_request req;
  memset(&req, 0, sizeof req);
  req.meta = src->meta;
  snprintf(req.strategy, sizeof req.strategy, "%s", strategy);
  req.budget = o->batch;
  req.diversity = st->select ? ALQ_DIVERSITY_DEFAULT : ALQ_DIVERSITY_NONE; /* its own stage */
  req.candidates = req.diversity == ALQ_DIVERSITY_NONE ? o->batch : !st->score ? -1 : 10 * o->batch;
  req.subpool = o->subpools[which];
  req.anchors_per_class = 10;
  req.neighbors = 50;
  req.subpool_size = 10000;
  req.fan_in = 8;
  req.n_labeled = labeled->n;
  req.chunk_rows = alq_default_chunk_rows(&req.meta);
  req.seed = seed;
  req.prune = 1;
  req.quiet = 1;
  req.answers = answers;
  req.ood = o->ood;
  alq_rank_facts facts = {0};
  err = alq_select_pool(comm, &req, src, labeled, batch, &facts);
  free(facts.ood_rejected_per_rank);
  alq_source_close(src);
  return err;
}

alq_err sim_reveal(const sim_dataset *d, const alq_batch *batch, alq_labeled *labeled) {
  int64_t n = labeled->n + batch->n;
  int64_t *ids = realloc(labeled->ids, sizeof(int64_t) * n);
  if (ids)
    labeled->ids = ids;
  int32_t *labels = realloc(labeled->labels, sizeof(int32_t) * n);
  if (labels)
    labeled->labels = labels;
  if (!ids || !labels)
    return alq_error_set(ALQ_ERR_MEMORY, "cannot grow the labeled set to %lld items", (long long)n);
  /* Insertion from the back: the batch is small next to the labeled set. */
  for (int64_t b = 0; b < batch->n; b++) {
    int64_t id = batch->ids[b], j = labeled->n++;
    while (j > 0 && labeled->ids[j - 1] > id) {
      labeled->ids[j] = labeled->ids[j - 1];
      labeled->labels[j] = labeled->labels[j - 1];
      j--;
    }
    labeled->ids[j] = id;
    labeled->labels[j] = d->y[sim_row_of(d, id)];
  }
  return ALQ_OK;
}
