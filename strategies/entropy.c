/* strategies/entropy.c: predictive entropy -sum_c p log p (natural log, 0 log 0 = 0). */
#include <math.h>

#include "alq/strategy.h"

alq_err alq_entropy_score(const alq_chunk *chunk, double *scores) {
  const int64_t C = chunk->n_classes;
  for (int64_t i = 0; i < chunk->n; i++) {
    const float *p = chunk->probs + i * C;
    double h = 0;
    for (int64_t c = 0; c < C; c++)
      if (p[c] > 0)
        h -= (double)p[c] * log((double)p[c]);
    scores[i] = h;
  }
  return ALQ_OK;
}

const alq_strategy alq_strategy_entropy = {
    .name = "entropy",
    .summary = "-sum_c p log p: the most uncertain predictive distributions",
    .needs = ALQ_NEEDS_PROBS,
    .score = alq_entropy_score,
    .select = NULL,
};
