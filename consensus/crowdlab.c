/* consensus/crowdlab.c: CROWDLAB's consensus, its quality and the annotator
 * and model weights (alq/consensus.h; docs/activelab.md has the formulas). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alq/consensus.h"

/* cleanlab's lower bound for weights and error rates (CLIPPING_LOWER_BOUND). */
#define FLOOR 1e-6

void alq_consensus_free(alq_consensus *c) {
  free(c->label);
  free(c->quality);
  free(c->agreement);
  free(c->n_answers);
  free(c->annotator_weight);
  memset(c, 0, sizeof *c);
}

static int64_t argmax(const double *v, int64_t k) {
  int64_t best = 0;
  for (int64_t j = 1; j < k; j++)
    if (v[j] > v[best])
      best = j;
  return best;
}

/* Majority vote: the most answered class; a tie goes to the class the model
 * finds most likely, then to the class answered least often overall (so ties
 * do not feed the majority class), then to the lower class. */
static void majority_vote(const alq_answer_table *t, const float *probs, int64_t K, const int64_t *class_total,
                          double *count, int32_t *out) {
  for (int64_t i = 0; i < t->n_items; i++) {
    memset(count, 0, sizeof(double) * K);
    for (int64_t j = t->offsets[i]; j < t->offsets[i + 1]; j++)
      count[t->labels[j]] += 1;
    int64_t best = argmax(count, K);
    for (int64_t k = best + 1; k < K; k++) {
      if (count[k] != count[best])
        continue;
      float pk = probs[i * K + k], pb = probs[i * K + best];
      if (pk > pb || (pk == pb && class_total[k] < class_total[best]))
        best = k;
    }
    out[i] = (int32_t)best;
  }
}

/* Each annotator's agreement with the other annotators of the same items:
 * per item, the share of the other answers equal to theirs, averaged with
 * weights n_i - 1.  An annotator who shares no item gets the mean of the
 * others. */
static void agreement_with_annotators(const alq_answer_table *t, double *agree) {
  int64_t A = t->n_annotators;
  double *sum = calloc((size_t)A, sizeof(double)), *weight = calloc((size_t)A, sizeof(double));
  for (int64_t i = 0; sum && weight && i < t->n_items; i++) {
    int64_t lo = t->offsets[i], hi = t->offsets[i + 1], n = hi - lo;
    if (n < 2)
      continue;
    for (int64_t j = lo; j < hi; j++) {
      int64_t same = 0;
      for (int64_t l = lo; l < hi; l++)
        same += t->labels[l] == t->labels[j];
      sum[t->annotators[j]] += (double)(same - 1); /* (same - 1) / (n - 1) with weight n - 1 */
      weight[t->annotators[j]] += (double)(n - 1);
    }
  }
  double mean = 0;
  int64_t known = 0;
  for (int64_t a = 0; sum && weight && a < A; a++)
    if (weight[a] > 0) {
      agree[a] = sum[a] / weight[a];
      mean += agree[a];
      known++;
    }
  mean = known ? mean / (double)known : 0;
  for (int64_t a = 0; a < A; a++)
    if (!sum || !weight || weight[a] == 0)
      agree[a] = mean;
  free(sum);
  free(weight);
}

/* Weights and posteriors for consensus `y` (cleanlab's _get_post_pred_probs_and_weights). */
static void weigh(const alq_answer_table *t, const float *probs, int64_t K, const int32_t *y, const double *agree,
                  double *post, alq_consensus *c) {
  int64_t multi = 0, total_answers = 0;
  double agreed = 0;
  int64_t *mode_count = calloc((size_t)K, sizeof(int64_t));
  int64_t model_wrong = 0;
  for (int64_t i = 0; i < t->n_items; i++) {
    int64_t lo = t->offsets[i], hi = t->offsets[i + 1], same = 0;
    for (int64_t j = lo; j < hi; j++)
      same += t->labels[j] == y[i];
    c->agreement[i] = (double)same / (double)(hi - lo);
    c->n_answers[i] = (int32_t)(hi - lo);
    total_answers += hi - lo;
    if (hi - lo < 2)
      continue;
    multi++;
    agreed += c->agreement[i];
    if (mode_count)
      mode_count[y[i]]++;
    int64_t best = 0;
    for (int64_t k = 1; k < K; k++)
      if (probs[i * K + k] > probs[i * K + best])
        best = k;
    model_wrong += best != y[i];
  }
  int64_t mode = 0;
  for (int64_t k = 1; mode_count && k < K; k++)
    if (mode_count[k] > mode_count[mode])
      mode = k;
  double P = agreed / (double)multi, Q = (1 - P) / (double)(K - 1);
  /* The error of always answering the most common consensus class: the
   * baseline both kinds of weight are measured against. */
  double base_error = fmax((double)(multi - (mode_count ? mode_count[mode] : 0)) / (double)multi, FLOOR);
  free(mode_count);
  double sum_w = 0;
  for (int64_t a = 0; a < t->n_annotators; a++) {
    c->annotator_weight[a] = fmax(1 - (1 - agree[a]) / base_error, FLOOR);
    sum_w += c->annotator_weight[a];
  }
  c->mean_annotator_weight = sum_w / (double)t->n_annotators;
  c->model_weight = fmax(1 - ((double)model_wrong / (double)multi) / base_error, FLOOR) *
                    sqrt((double)total_answers / (double)t->n_items);
  /* The annotators' part of class k's posterior, sum_j w_j (P if j said k
   * else Q), as Q W + (P - Q) V_k with W their total weight and V_k the
   * weight of those who said k: classes with equal votes and weights tie
   * exactly, whatever the order of the answers. */
  for (int64_t i = 0; i < t->n_items; i++) {
    double *v = post + i * K, w = 0;
    memset(v, 0, sizeof(double) * K);
    for (int64_t j = t->offsets[i]; j < t->offsets[i + 1]; j++) {
      w += c->annotator_weight[t->annotators[j]];
      v[t->labels[j]] += c->annotator_weight[t->annotators[j]];
    }
    for (int64_t k = 0; k < K; k++)
      v[k] = (c->model_weight * (double)probs[i * K + k] + Q * w + (P - Q) * v[k]) / (c->model_weight + w);
  }
}

static alq_err allocate(const alq_answer_table *t, int64_t K, alq_consensus *c) {
  memset(c, 0, sizeof *c);
  int64_t n = t->n_items ? t->n_items : 1, a = t->n_annotators ? t->n_annotators : 1;
  c->n_items = t->n_items;
  c->n_classes = K;
  c->n_annotators = t->n_annotators;
  alq_err err = alq_malloc(&c->label, sizeof(int32_t) * n, "consensus labels");
  if (!err)
    err = alq_malloc(&c->quality, sizeof(double) * n, "consensus quality");
  if (!err)
    err = alq_malloc(&c->agreement, sizeof(double) * n, "consensus agreement");
  if (!err)
    err = alq_malloc(&c->n_answers, sizeof(int32_t) * n, "answer counts");
  if (!err)
    err = alq_malloc(&c->annotator_weight, sizeof(double) * a, "annotator weights");
  if (err)
    alq_consensus_free(c);
  return err;
}

alq_err alq_consensus_compute(const alq_answer_table *t, const float *probs, int64_t K, alq_consensus *c) {
  if (K < 2)
    return alq_error_set(ALQ_ERR_INPUT, "a consensus needs at least 2 classes, got %lld", (long long)K);
  for (int64_t j = 0; t->n_items && j < t->offsets[t->n_items]; j++)
    if (t->labels[j] < 0 || t->labels[j] >= K)
      return alq_error_set(ALQ_ERR_INPUT, "answer %lld has label %d, outside 0..%lld", (long long)j, t->labels[j],
                           (long long)K - 1);
  ALQ_CHECK(allocate(t, K, c));
  int64_t *class_total = NULL;
  double *count = NULL, *post = NULL, *agree = NULL;
  alq_err err = alq_calloc(&class_total, K, sizeof(int64_t), "class totals");
  if (!err)
    err = alq_malloc(&count, sizeof(double) * K, "vote counts");
  if (!err)
    err = alq_malloc(&post, sizeof(double) * K * (t->n_items ? t->n_items : 1), "posterior probabilities");
  if (!err)
    err = alq_malloc(&agree, sizeof(double) * (t->n_annotators ? t->n_annotators : 1), "annotator agreement");
  if (err) {
    free(class_total), free(count), free(post), free(agree);
    alq_consensus_free(c);
    return err;
  }
  int multi = 0;
  for (int64_t i = 0; i < t->n_items; i++)
    multi |= t->offsets[i + 1] - t->offsets[i] > 1;
  for (int64_t j = 0; t->n_items && j < t->offsets[t->n_items]; j++)
    class_total[t->labels[j]]++;
  majority_vote(t, probs, K, class_total, count, c->label);
  c->weighed = multi;
  if (!multi) {
    for (int64_t i = 0; i < t->n_items; i++) {
      c->quality[i] = probs[i * K + c->label[i]];
      c->agreement[i] = 1;
      c->n_answers[i] = (int32_t)(t->offsets[i + 1] - t->offsets[i]);
    }
    for (int64_t a = 0; a < t->n_annotators; a++)
      c->annotator_weight[a] = 1;
    c->model_weight = 1;
    c->mean_annotator_weight = 1;
  } else {
    agreement_with_annotators(t, agree);
    weigh(t, probs, K, c->label, agree, post, c);
    /* The final consensus: the posterior's most likely class, the vote when tied. */
    for (int64_t i = 0; i < t->n_items; i++) {
      const double *p = post + i * K;
      int64_t best = argmax(p, K), ties = 0;
      for (int64_t k = 0; k < K; k++)
        ties += p[k] == p[best];
      if (ties == 1)
        c->label[i] = (int32_t)best;
    }
    weigh(t, probs, K, c->label, agree, post, c);
    for (int64_t i = 0; i < t->n_items; i++)
      c->quality[i] = post[i * K + c->label[i]];
  }
  free(class_total), free(count), free(post), free(agree);
  return ALQ_OK;
}
