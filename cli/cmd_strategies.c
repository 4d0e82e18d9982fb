/* cli/cmd_strategies.c: `alq strategies`: the registry, one line each. */
#include <stdio.h>
#include <string.h>

#include "alq/strategy.h"
#include "commands.h"

int alq_cmd_strategies(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    printf("usage: alq strategies\n\nLists the selection strategies that `alq select --strategy NAME` accepts,\n"
           "with what each reads from the pool (probs, embeddings; mc-passes: /mc_probs\n"
           "or --model with --mc-samples).\n");
    return 0;
  }
  if (argc > 1) {
    fprintf(stderr, "alq: error: alq strategies takes no arguments (got '%s')\n", argv[1]);
    return ALQ_ERR_USAGE;
  }
  size_t n;
  const alq_strategy *const *list = alq_strategy_list(&n);
  for (size_t i = 0; i < n; i++) {
    const alq_strategy *s = list[i];
    char needs[64] = "";
    if (s->needs & ALQ_NEEDS_PROBS)
      strcat(needs, "probs");
    if (s->needs & ALQ_NEEDS_EMBEDDINGS)
      strcat(needs, needs[0] ? ",embeddings" : "embeddings");
    if (s->needs & ALQ_NEEDS_EXPECTED_ENTROPY)
      strcat(needs, needs[0] ? ",mc-passes" : "mc-passes");
    printf("%-17s %-17s %s\n", s->name, needs[0] ? needs : "-", s->summary);
  }
  return 0;
}
