/* strategies/bald.c: BALD (Houlsby et al. 2011), the mutual information
 * between an item's label and the model's parameters,
 *
 *   I = H[mean_t p_t] - mean_t H[p_t]   (natural log, 0 log 0 = 0),
 *
 * estimated from T stochastic forward passes.  The source reduces the passes
 * chunk by chunk (alq/pool.h, ALQ_FIELD_EXPECTED_ENTROPY): chunk->probs is
 * their mean and chunk->expected_entropy the mean of their entropies, from a
 * pool's /mc_probs [T][N][C] or from --model with --mc-samples T.  Both are
 * sums over the passes in pass order for one row, so the score is a function
 * of the item alone and the batch is the same at any rank count.
 *
 * Rounding can make I slightly negative for an item on which all passes
 * agree; it is kept as computed (clamping would create ties that the true
 * values do not have). */
#include "alq/strategy.h"

static alq_err bald_score(const alq_chunk *chunk, double *scores) {
  if (chunk->n > 0 && !chunk->expected_entropy)
    return alq_error_set(ALQ_ERR_INTERNAL, "bald was given a chunk without expected entropies");
  ALQ_CHECK(alq_entropy_score(chunk, scores)); /* H[mean_t p_t]: chunk->probs is the passes' mean */
  for (int64_t i = 0; i < chunk->n; i++)
    scores[i] -= (double)chunk->expected_entropy[i];
  return ALQ_OK;
}

const alq_strategy alq_strategy_bald = {
    .name = "bald",
    .summary = "H[mean_t p_t] - mean_t H[p_t] over T passes (/mc_probs or --mc-samples): epistemic uncertainty",
    .needs = ALQ_NEEDS_PROBS | ALQ_NEEDS_EXPECTED_ENTROPY,
    .score = bald_score,
    .select = NULL,
};
