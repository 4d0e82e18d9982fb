/* strategies/margin.c: 1 - (p_(1) - p_(2)), the gap between the two most likely
 * classes; a small gap means the model hesitates between two classes. */
#include "alq/strategy.h"

alq_err alq_margin_score(const alq_chunk *chunk, double *scores) {
  const int64_t C = chunk->n_classes;
  for (int64_t i = 0; i < chunk->n; i++) {
    const float *p = chunk->probs + i * C;
    float first = p[0] >= p[1] ? p[0] : p[1];
    float second = p[0] >= p[1] ? p[1] : p[0];
    for (int64_t c = 2; c < C; c++) {
      if (p[c] > first) {
        second = first;
        first = p[c];
      } else if (p[c] > second) {
        second = p[c];
      }
    }
    scores[i] = 1.0 - ((double)first - (double)second);
  }
  return ALQ_OK;
}

const alq_strategy alq_strategy_margin = {
    .name = "margin",
    .summary = "1 - (p1 - p2): smallest gap between the two most likely classes",
    .needs = ALQ_NEEDS_PROBS,
    .score = alq_margin_score,
    .select = NULL,
};
