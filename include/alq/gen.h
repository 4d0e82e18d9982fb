/* alq/gen.h: the synthetic pool model behind `alq gen` (docs/format.md).
 *
 * Every value of a synthetic pool is a pure function of (params, item id): any
 * rank can produce any row range without generating the rows before it, and a
 * range gives the same bytes as the same rows inside a larger range.  The item
 * id of row i is i.
 */
#ifndef ALQ_GEN_H
#define ALQ_GEN_H
#include <stdint.h>
#include "alq/error.h"

typedef struct {
  int64_t n_items;   /* N >= 1 */
  int64_t dim;       /* d in [1, ALQ_GEN_MAX_DIM] */
  int64_t n_classes; /* C in [2, ALQ_GEN_MAX_CLASSES] */
  double imbalance;  /* largest / smallest class proportion, >= 1 */
  uint64_t seed;
} alq_gen_params;

#define ALQ_GEN_MAX_DIM 65536
#define ALQ_GEN_MAX_CLASSES 65536

/* Checks the parameters; records a usage error naming the bad one. */
alq_err alq_gen_params_check(const alq_gen_params *p);

/* Rows [lo, lo+count) of the pool: embeddings (count*dim), model class
 * probabilities (count*C) and ground-truth labels (count); any output may be
 * NULL.  Cost includes C*d Gaussians for the class means per call, so callers
 * should ask for blocks of rows, not one row at a time. */
alq_err alq_gen_rows(const alq_gen_params *p, int64_t lo, int64_t count, float *emb, float *probs,
                     int32_t *labels);

#endif
