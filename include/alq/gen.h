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

/* A pool's fixed part (class shares, class means), computed once, and one
 * row's scratch: a reader that asks for many ranges keeps one model.  Not
 * thread-safe (the scratch); one per thread. */
typedef struct alq_gen_model alq_gen_model;

alq_err alq_gen_model_create(const alq_gen_params *p, alq_gen_model **out);
void alq_gen_model_free(alq_gen_model *m);

/* Rows [lo, lo+count) of the pool: embeddings (count*dim), model class
 * probabilities (count*C) and ground-truth labels (count); any output may be
 * NULL.  The same bytes on every machine, build and instruction set
 * (docs/format.md, "Synthetic pools", generator version 2). */
alq_err alq_gen_model_rows(alq_gen_model *m, int64_t lo, int64_t count, float *emb, float *probs,
                           int32_t *labels);

/* n normal numbers of the stream `key` from Box-Muller pair `first_pair` on
 * (pair m gives numbers m and P + m, P = ceil(n/2)), as every Gaussian of a
 * pool is drawn: exposed for the distribution tests (tests/test_gen.c). */
alq_err alq_gen_normals(uint64_t key, uint32_t first_pair, int64_t n, float *out);

/* The same with a model made for this call only: callers should ask for
 * blocks of rows, not one row at a time (the class means cost C*d Gaussians). */
alq_err alq_gen_rows(const alq_gen_params *p, int64_t lo, int64_t count, float *emb, float *probs,
                     int32_t *labels);

/* `alq gen`: the pool of `p` (with /probs when `probs`, and a stratified
 * labeled set of n_labeled items drawn with p->seed) built whole in memory,
 * about N * (4 D + 4 C + 4) bytes, and written atomically to `path`
 * (alq_pool_write).  Memory error when it cannot be held. */
alq_err alq_gen_write(const char *path, const alq_gen_params *p, int probs, int64_t n_labeled);

#endif
