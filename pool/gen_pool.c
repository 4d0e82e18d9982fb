/* pool/gen_pool.c: a synthetic pool file from the model in alq/gen.h
 * (`alq gen`), built whole in memory and written atomically. */
#include <stdint.h>
#include <stdlib.h>

#include "alq/gen.h"
#include "alq/pool.h"

/* Rows generated per alq_gen_rows call: amortises the class means per call. */
#define GEN_BLOCK_ROWS 65536

static alq_err build_pool(const alq_gen_params *p, int probs, int64_t n_labeled, alq_pool_data *pool) {
  int64_t N = p->n_items, d = p->dim, C = p->n_classes;
  if ((uint64_t)N > SIZE_MAX / sizeof(float) / (uint64_t)(d + C + 1))
    return alq_error_set(ALQ_ERR_MEMORY, "alq gen: a pool of %lld x %lld does not fit in memory",
                         (long long)N, (long long)d);
  *pool = (alq_pool_data){.n_items = N, .dim = d, .n_classes = C};
  ALQ_CHECK(alq_malloc(&pool->embeddings, sizeof(float) * (size_t)(N * d), "/embeddings"));
  ALQ_CHECK(alq_malloc(&pool->labels, sizeof(int32_t) * (size_t)N, "/labels"));
  if (probs)
    ALQ_CHECK(alq_malloc(&pool->probs, sizeof(float) * (size_t)(N * C), "/probs"));
  for (int64_t lo = 0; lo < N; lo += GEN_BLOCK_ROWS) {
    int64_t count = N - lo < GEN_BLOCK_ROWS ? N - lo : GEN_BLOCK_ROWS;
    ALQ_CHECK(alq_gen_rows(p, lo, count, pool->embeddings + lo * d,
                           pool->probs ? pool->probs + lo * C : NULL, pool->labels + lo));
  }
  if (n_labeled > 0)
    ALQ_CHECK(alq_labeled_draw_stratified(pool->labels, NULL, N, C, n_labeled, p->seed,
                                          &pool->labeled));
  return ALQ_OK;
}

alq_err alq_gen_write(const char *path, const alq_gen_params *p, int probs, int64_t n_labeled) {
  alq_pool_data pool = {0};
  alq_err err = build_pool(p, probs, n_labeled, &pool);
  if (!err)
    err = alq_pool_write(path, &pool);
  free(pool.embeddings);
  free(pool.probs);
  free(pool.labels);
  alq_labeled_free(&pool.labeled);
  return err;
}
