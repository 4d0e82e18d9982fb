/* strategies/least_confidence.c: 1 - max_c p(c|x). */
#include "alq/strategy.h"

alq_err alq_least_confidence_score(const alq_chunk *chunk, double *scores) {
  const int64_t C = chunk->n_classes;
  for (int64_t i = 0; i < chunk->n; i++) {
    const float *p = chunk->probs + i * C;
    float top = p[0];
    for (int64_t c = 1; c < C; c++)
      if (p[c] > top)
        top = p[c];
    scores[i] = 1.0 - (double)top;
  }
  return ALQ_OK;
}

const alq_strategy alq_strategy_least_confidence = {
    .name = "least-confidence",
    .summary = "1 - max_c p(c|x): the items the model is least sure of",
    .needs = ALQ_NEEDS_PROBS,
    .score = alq_least_confidence_score,
    .select = NULL,
};
