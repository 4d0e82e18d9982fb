/* simulate/annotators.c: simulated annotators who answer wrongly with a
 * given probability, and the consensus the model learns from. */
#include <stdlib.h>
#include <string.h>

#include "alq/hash.h"
#include "alq/sorted_ids.h"
#include "sim.h"

/* Answers already given to `id`. */
static int64_t answers_of(const alq_answer_table *t, int64_t id) {
  int64_t at = alq_ids_find(t->ids, t->n_items, id);
  return at >= 0 ? t->offsets[at + 1] - t->offsets[at] : 0;
}

/* Answer #k to an item of class `truth`: a pure function of (seed, id, k). */
static int32_t answer(const alq_simulate_options *o, const sim_dataset *d, uint64_t seed, int64_t id, int64_t k,
                      int32_t truth) {
  const int64_t K = d->meta.n_classes;
  uint64_t key = alq_hash3(seed, (uint64_t)id, ALQ_PURPOSE_ANSWER_WRONG);
  if (d->confusion) {
    double u = alq_hash_unit(key, (uint64_t)k, ALQ_PURPOSE_ANSWER_CLASS);
    const double *row = d->confusion + truth * K;
    for (int64_t c = 0; c < K - 1; c++)
      if (u < row[c])
        return (int32_t)c;
    return (int32_t)(K - 1);
  }
  if (alq_hash_unit(key, (uint64_t)k, ALQ_PURPOSE_ANSWER_WRONG) >= o->annotator_noise)
    return truth;
  uint64_t other = alq_hash3(key, (uint64_t)k, ALQ_PURPOSE_ANSWER_CLASS) % (uint64_t)(K - 1);
  return (int32_t)((truth + 1 + (int64_t)other) % K);
}

alq_err sim_annotate(const alq_simulate_options *o, const sim_dataset *d, uint64_t seed, const int64_t *ids,
                     int64_t n, alq_answer_table *answers) {
  const uint64_t A = (uint64_t)o->annotators;
  for (int64_t i = 0; i < n; i++) {
    int64_t k = answers_of(answers, ids[i]);
    if (k >= o->annotators)
      continue; /* every annotator has answered it: the request is spent for nothing */
    int32_t who = (int32_t)((alq_hash3(seed, (uint64_t)ids[i], ALQ_PURPOSE_ANNOTATOR) % A + (uint64_t)k) % A);
    int32_t truth = d->y[sim_row_of(d, ids[i])];
    ALQ_CHECK(alq_answer_table_add(answers, ids[i], answer(o, d, seed, ids[i], k, truth), who));
  }
  return ALQ_OK;
}

alq_err sim_consensus_labels(const alq_simulate_options *o, const sim_dataset *d, const alq_model *model,
                             uint64_t seed, const alq_answer_table *answers, const sim_oos *oos,
                             alq_labeled *labeled) {
  int64_t n = answers->n_items, dim = d->meta.dim, K = d->meta.n_classes;
  float *x = NULL, *probs = NULL;
  int64_t *ids = NULL;
  int32_t *labels = NULL;
  alq_err err = alq_malloc(&x, sizeof(float) * dim * (n ? n : 1), "answered features");
  if (!err)
    err = alq_malloc(&probs, sizeof(float) * K * (n ? n : 1), "answered probabilities");
  if (!err)
    err = alq_malloc(&ids, sizeof(int64_t) * (n ? n : 1), "labeled ids");
  if (!err)
    err = alq_malloc(&labels, sizeof(int32_t) * (n ? n : 1), "labeled labels");
  for (int64_t i = 0; !err && i < n; i++)
    memcpy(x + i * dim, d->x + sim_row_of(d, answers->ids[i]) * dim, sizeof(float) * dim);
  alq_apply_options ap = {seed, o->mc_samples};
  if (!err)
    err = alq_model_apply(model, &ap, n, x, answers->ids, probs, NULL, NULL);
  /* Items the round's model was trained on take their out-of-sample
   * probabilities; the newly answered ones it has not seen keep its own. */
  for (int64_t i = 0; !err && oos && i < n; i++) {
    const float *row = sim_oos_row(oos, answers->ids[i]);
    if (row)
      memcpy(probs + i * K, row, sizeof(float) * K);
  }
  alq_consensus c = {0};
  if (!err && n > 0)
    err = alq_consensus_compute(answers, probs, K, &c);
  for (int64_t i = 0; !err && i < n; i++) {
    ids[i] = answers->ids[i];
    labels[i] = c.label[i];
  }
  alq_consensus_free(&c);
  free(x);
  free(probs);
  if (err) {
    free(ids);
    free(labels);
    return err;
  }
  alq_labeled_free(labeled);
  *labeled = (alq_labeled){n, ids, labels};
  return ALQ_OK;
}
