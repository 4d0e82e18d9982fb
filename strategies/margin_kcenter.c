/* strategies/margin_kcenter.c: the M most uncertain items by margin, then a
 * k-center (Core-Set) pass among them for diversity.  Built from the two
 * stages, not rewritten. */
#include "alq/strategy.h"

const alq_strategy alq_strategy_margin_kcenter = {
    .name = "margin-kcenter",
    .summary = "k-center among the M most uncertain items by margin (M = --candidates, default 10 x B)",
    .needs = ALQ_NEEDS_PROBS | ALQ_NEEDS_EMBEDDINGS,
    .score = alq_margin_score,
    .select = alq_kcenter_select,
};
