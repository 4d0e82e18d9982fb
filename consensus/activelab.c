/* consensus/activelab.c: ActiveLab's scores, on one scale for labeled and
 * unlabeled items (alq/consensus.h). */
#include "alq/consensus.h"

double alq_activelab_labeled(const alq_consensus *c, const alq_answer_table *t, int64_t item) {
  double w = c->model_weight;
  for (int64_t j = t->offsets[item]; j < t->offsets[item + 1]; j++)
    w += c->annotator_weight[t->annotators[j]];
  double wbar = c->mean_annotator_weight, k = (double)c->n_classes;
  return 1 - (w * c->quality[item] + wbar / k) / (w + wbar);
}

double alq_activelab_unlabeled(const alq_consensus *c, double max_prob) {
  double wm = c->model_weight, wbar = c->mean_annotator_weight, k = (double)c->n_classes;
  return 1 - (wm * max_prob + wbar / k) / (wm + wbar);
}
