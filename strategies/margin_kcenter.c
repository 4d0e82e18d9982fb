/* strategies/margin_kcenter.c: the M most uncertain items by margin, then a
 * k-center (Core-Set) pass among them for diversity.  Built from the two
 * stages, not rewritten. */
#include "alq/strategy.h"

/* Ten candidates per batch slot: enough choice for diversity while the
 * uncertainty filter still bites (the default of --candidates). */
static int64_t ten_per_slot(int64_t budget) { return 10 * budget; }

const alq_strategy alq_strategy_margin_kcenter = {
    .name = "margin-kcenter",
    .summary = "k-center among the M most uncertain items by margin (M = --candidates, default 10 x B)",
    .needs = ALQ_NEEDS_PROBS | ALQ_NEEDS_EMBEDDINGS,
    .score = alq_margin_score,
    .candidates = ten_per_slot,
    .select = alq_kcenter_select,
};
