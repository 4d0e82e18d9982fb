/* cli/ood_options.h: the out-of-distribution stage's options that `alq
 * select`, `alq ood` and `alq simulate` share (--ood and its settings). */
#ifndef ALQ_CLI_OOD_OPTIONS_H
#define ALQ_CLI_OOD_OPTIONS_H
#include <getopt.h>

#include "alq/ood.h"

/* getopt_long codes, out of the range of the commands' own. */
enum { ALQ_OOD_OPT_KIND = 600, ALQ_OOD_OPT_REJECT, ALQ_OOD_OPT_TEMPERATURE, ALQ_OOD_OPT_K, ALQ_OOD_OPT_SPACE };

/* getopt_long entries. */
#define ALQ_OOD_LONGOPTS                                                                                   \
  {"ood", required_argument, 0, ALQ_OOD_OPT_KIND}, {"ood-reject", required_argument, 0, ALQ_OOD_OPT_REJECT}, \
      {"ood-temperature", required_argument, 0, ALQ_OOD_OPT_TEMPERATURE},                                  \
      {"ood-k", required_argument, 0, ALQ_OOD_OPT_K}, {"ood-space", required_argument, 0, ALQ_OOD_OPT_SPACE}

/* The --help lines of the settings of --ood KIND after --ood-reject. */
#define ALQ_OOD_SETTINGS_HELP                                                                              \
  "  --ood-temperature T  energy: T != 1 (default 1 is an error without logits)\n"                        \
  "  --ood-k K          knn: neighbour rank (default 50, at most the labeled items - 1)\n"                \
  "  --ood-space S      knn, mahalanobis: selection (default: the embeddings the selection sees,\n"       \
  "                     a --model's or projection's), pool (the pool's stored /embeddings) or\n"        \
  "                     features (the --model's standardised input (x - mean) / std)\n"

/* Applies one OOD option by its getopt code to *o and records it in *given
 * (ALQ_OOD_GIVEN_*).  Returns 1 when `c` was an OOD option (its parse error,
 * if any, in *err), 0 otherwise. */
int alq_ood_option(int c, const char *arg, alq_ood_options *o, unsigned *given, alq_err *err);

#endif
