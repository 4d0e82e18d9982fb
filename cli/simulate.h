/* cli/simulate.h: what alq simulate records, and its plot (internal to the CLI). */
#ifndef ALQ_CLI_SIMULATE_H
#define ALQ_CLI_SIMULATE_H
#include <stdint.h>
#include "alq/error.h"

/* One (strategy, seed, round) of a simulation: the model trained on `labeled`
 * items, evaluated on the seed's test split. */
typedef struct {
  char strategy[96];
  uint64_t seed;
  int64_t round, labeled;
  double accuracy, macro_f1, rare_recall;
  double train_seconds, select_seconds;
} alq_curve_point;

/* Writes an SVG (two panels: accuracy and macro-F1 against labels) with the
 * mean over seeds per strategy and a band of +-1 standard deviation. */
alq_err alq_curve_svg(const char *path, const char *title, const alq_curve_point *points, int64_t n);

#endif
