/* strategies/random.c: uniform random sampling, keyed by a hash of (seed, id)
 * so the batch does not depend on how the pool is sharded. */
#include "alq/hash.h"
#include "alq/strategy.h"

static alq_err random_score(const alq_chunk *chunk, double *scores) {
  for (int64_t i = 0; i < chunk->n; i++)
    scores[i] = alq_hash_unit(chunk->seed, (uint64_t)chunk->ids[i], ALQ_PURPOSE_RANDOM_SCORE);
  return ALQ_OK;
}

const alq_strategy alq_strategy_random = {
    .name = "random",
    .summary = "uniform sample: the B items with the largest hash(seed, id)",
    .needs = 0,
    .score = random_score,
    .select = NULL,
};
