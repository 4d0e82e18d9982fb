/* strategies/registry.c: the table of strategies, by name. */
#include <stdlib.h>
#include <string.h>

#include "alq/strategy.h"

extern const alq_strategy alq_strategy_random, alq_strategy_least_confidence, alq_strategy_margin,
    alq_strategy_entropy, alq_strategy_kcenter, alq_strategy_margin_kcenter;
extern const alq_strategy alq_strategy_badge, alq_strategy_typiclust, alq_strategy_cluster_margin; /* clustering strategies */
extern const alq_strategy alq_strategy_bald;
extern const alq_strategy alq_strategy_vessal;
extern const alq_strategy alq_strategy_probcover;
extern const alq_strategy alq_strategy_activelab;

static const alq_strategy *const registry[] = {
    &alq_strategy_random, &alq_strategy_least_confidence, &alq_strategy_margin,
    &alq_strategy_entropy, &alq_strategy_kcenter, &alq_strategy_margin_kcenter,
    &alq_strategy_badge, &alq_strategy_typiclust, &alq_strategy_cluster_margin, /* clustering strategies */
    &alq_strategy_bald,
    &alq_strategy_vessal,
    &alq_strategy_probcover,
    &alq_strategy_activelab,
};

const alq_strategy *alq_strategy_find(const char *name) {
  for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
    if (strcmp(registry[i]->name, name) == 0)
      return registry[i];
  return NULL;
}

const alq_strategy *const *alq_strategy_list(size_t *count) {
  *count = sizeof registry / sizeof registry[0];
  return registry;
}

void alq_batch_free(alq_batch *b) {
  free(b->ids);
  free(b->scores);
  free(b->clusters.c);
  free(b->relabel);
  memset(b, 0, sizeof *b);
}
