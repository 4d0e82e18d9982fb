/* simulate/oos.c: out-of-sample probabilities of the labeled items, by
 * K-fold cross-validation, for the strategies that score labeled items
 * (activelab) and the consensus they are trained on.  A model agrees with the
 * labels it was trained on, wrong ones included: ActiveLab and CROWDLAB
 * expect each labeled item's probabilities from a model that did not see it
 * (cleanlab's benchmarks: 5-fold cross-validation). */
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/hash.h"
#include "alq/sorted_ids.h"
#include "sim.h"

#define SIM_OOS_FOLDS 5

void sim_oos_free(sim_oos *o) {
  free(o->ids);
  free(o->probs);
  memset(o, 0, sizeof *o);
}

/* The fold of `id`: a pure function of (seed, id), so the same at any rank count. */
static int64_t fold_of(uint64_t seed, int64_t id) {
  return (int64_t)(alq_hash3(seed, (uint64_t)id, ALQ_PURPOSE_OOS_FOLD) % SIM_OOS_FOLDS);
}

/* Probabilities of rows `which` of `labeled` (n of them) under `model`, into
 * out rows at the same indices; every rank computes them all (no messages). */
static alq_err predict(const alq_simulate_options *o, const sim_dataset *d, uint64_t seed,
                       const alq_labeled *labeled, const int64_t *which, int64_t n, const alq_model *model,
                       float *out) {
  int64_t dim = d->meta.dim, K = d->meta.n_classes;
  float *x = NULL, *p = NULL;
  int64_t *ids = NULL;
  alq_err err = alq_malloc(&x, sizeof(float) * dim * (n ? n : 1), "fold features");
  if (!err)
    err = alq_malloc(&p, sizeof(float) * K * (n ? n : 1), "fold probabilities");
  if (!err)
    err = alq_malloc(&ids, sizeof(int64_t) * (n ? n : 1), "fold ids");
  for (int64_t i = 0; !err && i < n; i++) {
    ids[i] = labeled->ids[which[i]];
    memcpy(x + i * dim, d->x + sim_row_of(d, ids[i]) * dim, sizeof(float) * dim);
  }
  alq_apply_options ap = {seed, o->mc_samples};
  if (!err && n > 0)
    err = alq_model_apply(model, &ap, n, x, ids, p, NULL, NULL);
  for (int64_t i = 0; !err && i < n; i++)
    memcpy(out + which[i] * K, p + i * K, sizeof(float) * K);
  free(x);
  free(p);
  free(ids);
  return err;
}

/* One fold: train on the labeled items outside it, predict the ones in it.
 * With nothing to train on (every item in this fold) the round's model, which
 * saw them all, stands in. */
static alq_err one_fold(MPI_Comm comm, const alq_simulate_options *o, const sim_dataset *d, const sim_split *s,
                        uint64_t seed, const alq_labeled *labeled, const alq_model *all, int64_t f,
                        int64_t *inside, alq_labeled *train, float *out) {
  int64_t n_in = 0;
  train->n = 0;
  for (int64_t i = 0; i < labeled->n; i++)
    if (fold_of(seed, labeled->ids[i]) == f) {
      inside[n_in++] = i;
    } else {
      train->ids[train->n] = labeled->ids[i];
      train->labels[train->n++] = labeled->labels[i];
    }
  if (n_in == 0)
    return ALQ_OK;
  if (train->n == 0)
    return alq_agree(comm, predict(o, d, seed, labeled, inside, n_in, all, out));
  alq_model model = {0};
  alq_err err = sim_train(comm, o, d, s, train, &model);
  if (!err)
    err = alq_agree(comm, predict(o, d, seed, labeled, inside, n_in, &model, out));
  alq_model_free(&model);
  return err;
}

alq_err sim_oos_probs(MPI_Comm comm, const alq_simulate_options *o, const sim_dataset *d, const sim_split *s,
                      uint64_t seed, const alq_labeled *labeled, const alq_model *all, sim_oos *out) {
  memset(out, 0, sizeof *out);
  int64_t n = labeled->n, K = d->meta.n_classes;
  int64_t *inside = NULL;
  alq_labeled train = {0};
  alq_err err = alq_malloc(&out->ids, sizeof(int64_t) * (n ? n : 1), "out-of-sample ids");
  if (!err)
    err = alq_malloc(&out->probs, sizeof(float) * K * (n ? n : 1), "out-of-sample probabilities");
  if (!err)
    err = alq_malloc(&inside, sizeof(int64_t) * (n ? n : 1), "fold rows");
  if (!err)
    err = alq_malloc(&train.ids, sizeof(int64_t) * (n ? n : 1), "fold training ids");
  if (!err)
    err = alq_malloc(&train.labels, sizeof(int32_t) * (n ? n : 1), "fold training labels");
  err = alq_agree(comm, err);
  if (!err) {
    memcpy(out->ids, labeled->ids, sizeof(int64_t) * n);
    out->n = n;
    out->n_classes = K;
  }
  for (int64_t f = 0; !err && f < SIM_OOS_FOLDS; f++)
    err = one_fold(comm, o, d, s, seed, labeled, all, f, inside, &train, out->probs);
  free(inside);
  alq_labeled_free(&train);
  if (err)
    sim_oos_free(out);
  return err;
}

const float *sim_oos_row(const sim_oos *o, int64_t id) {
  if (!o)
    return NULL;
  int64_t at = alq_ids_find(o->ids, o->n, id);
  return at >= 0 ? o->probs + at * o->n_classes : NULL;
}

/* The source that serves them: the round's source, with the labeled items'
 * probabilities replaced by their out-of-sample ones when fetched by id (the
 * scan reads the unlabeled items, whose probabilities stay the round's
 * model's). */
typedef struct {
  alq_source *inner;
  const sim_oos *oos;
} oos_source;

static alq_err oos_read(alq_source *s, int64_t lo, int64_t count, unsigned fields, alq_rows *dst) {
  return alq_source_read(((oos_source *)s->impl)->inner, lo, count, fields, dst);
}

static alq_err oos_fetch(alq_source *s, const int64_t *ids, int64_t n, unsigned fields, alq_rows *dst) {
  const oos_source *os = s->impl;
  ALQ_CHECK(alq_source_fetch(os->inner, ids, n, fields, dst));
  for (int64_t i = 0; (fields & ALQ_FIELD_PROBS) && i < n; i++) {
    const float *row = sim_oos_row(os->oos, ids[i]);
    if (row)
      memcpy(dst->probs + i * os->oos->n_classes, row, sizeof(float) * os->oos->n_classes);
  }
  return ALQ_OK;
}

static void oos_close(alq_source *s) {
  alq_source_close(((oos_source *)s->impl)->inner);
  free(s->impl);
  free(s);
}

static const alq_source_ops oos_ops = {.kind = "out-of-sample", .read = oos_read, .fetch = oos_fetch,
                                       .close = oos_close};

alq_err sim_source_with_oos(alq_source *inner, const sim_oos *oos, alq_source **out) {
  alq_source *s = NULL;
  oos_source *os = NULL;
  ALQ_CHECK(alq_calloc(&s, 1, sizeof *s, "out-of-sample source"));
  alq_err err = alq_calloc(&os, 1, sizeof *os, "out-of-sample source");
  if (err) {
    free(s);
    return err;
  }
  *os = (oos_source){inner, oos};
  s->ops = &oos_ops;
  s->meta = inner->meta;
  s->impl = os;
  s->inner = inner;
  *out = s;
  return ALQ_OK;
}
