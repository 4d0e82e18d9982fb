/* tests/test_consensus.c: a text front end to alq_consensus_compute and the
 * ActiveLab scores, for tests/activelab_consensus.py (which checks them
 * against a numpy implementation of the CROWDLAB formulas).
 *
 * stdin:  N K, then per item: id n (annotator label) x n, then K probabilities.
 * stdout: per item "item label quality agreement n_answers activelab";
 *         "annotator a weight"; "model weight"; "mean weight"; "weighed 0|1";
 *         "unlabeled p score" for p = 0, 0.1, ..., 1.
 * With --temperature (ActiveLab's path, strategies/activelab.c): first "fit
 * T" (alq_temperature_fit against the consensus labels), "temperature T"
 * (cleanlab's, alq_consensus_temperature) and per item "scaled max p_scaled"
 * (its probabilities scaled by that T), then the same lines with the
 * consensus over the scaled probabilities. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/consensus.h"

int main(int argc, char **argv) {
  int scale = argc > 1 && strcmp(argv[1], "--temperature") == 0;
  long long n, k;
  if (scanf("%lld %lld", &n, &k) != 2)
    return 2;
  alq_answer_table t = {0};
  float *probs = malloc(sizeof(float) * (size_t)(n * k + 1));
  for (long long i = 0; i < n; i++) {
    long long id, m;
    if (scanf("%lld %lld", &id, &m) != 2)
      return 2;
    for (long long j = 0; j < m; j++) {
      int a, l;
      if (scanf("%d %d", &a, &l) != 2 || alq_answer_table_add(&t, id, l, a))
        return 2;
    }
    for (long long c = 0; c < k; c++)
      if (scanf("%f", &probs[i * k + c]) != 1)
        return 2;
  }
  if (scale) {
    /* The activelab strategy's fit: log loss against the consensus labels. */
    alq_consensus c0;
    if (alq_consensus_compute(&t, probs, k, &c0))
      return 3;
    alq_labeled consensus = {c0.n_items, t.ids, c0.label};
    alq_answer_table one = {0};
    if (alq_answer_table_from_labeled(&consensus, &one))
      return 3;
    printf("fit %.17g\n", alq_temperature_fit(&one, probs, k));
    alq_answer_table_free(&one);
    alq_consensus_free(&c0);
    double T = alq_consensus_temperature(&t, probs, k);
    printf("temperature %.17g\n", T);
    for (long long i = 0; i < n; i++)
      printf("scaled %.17g\n", alq_temperature_max(probs + i * k, k, T));
    alq_temperature_scale(probs, n, k, T, probs);
  }
  alq_consensus c;
  if (alq_consensus_compute(&t, probs, k, &c)) {
    fprintf(stderr, "%s\n", alq_error_message());
    return 3;
  }
  for (int64_t i = 0; i < c.n_items; i++)
    printf("item %d %.17g %.17g %d %.17g\n", c.label[i], c.quality[i], c.agreement[i], c.n_answers[i],
           alq_activelab_labeled(&c, &t, i));
  for (int64_t a = 0; a < c.n_annotators; a++)
    printf("annotator %lld %.17g\n", (long long)a, c.annotator_weight[a]);
  printf("model %.17g\nmean %.17g\nweighed %d\n", c.model_weight, c.mean_annotator_weight, c.weighed);
  for (int s = 0; s <= 10; s++)
    printf("unlabeled %.17g %.17g\n", s / 10.0, alq_activelab_unlabeled(&c, s / 10.0));
  alq_consensus_free(&c);
  alq_answer_table_free(&t);
  free(probs);
  return 0;
}
