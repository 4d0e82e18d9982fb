/* alq/pool_info.h: what a pool holds and a full validation pass (`alq info`).
 *
 * Serial: every row is read block by block (whole chunks, about 8 MiB)
 * through the pool's source (alq/source.h) on this process alone, the reader
 * `alq select` uses, so the checks see what it would; memory stays bounded by
 * one block plus 8 bytes an id (the uniqueness check) whatever the pool size.
 * `alq info` is a thin CLI over this module.
 */
#ifndef ALQ_POOL_INFO_H
#define ALQ_POOL_INFO_H
#include <stdint.h>
#include "alq/error.h"
#include "alq/pool.h"
#include "alq/pool_list.h"

/* How the pool's fields are stored (indexed by ALQ_SHARD_*): "float32",
 * "float16", "float64", "int32", "int64", "uint64", "?" when the dataset
 * cannot be read, "<type> (generated)" for a gen: pool; NULL for a field the
 * pool does not have.  A pool list's types are its first shard's (every
 * shard's must match them). */
typedef struct {
  const char *type[ALQ_SHARD_FIELDS]; /* static strings */
  int64_t shards;                     /* a pool list's shards; 0: not a pool list */
  int generated;                      /* a gen: pool */
} alq_pool_types;

/* The stored types of the pool `meta` describes (alq_source_describe);
 * input error when a pool list cannot be read. */
alq_err alq_pool_types_read(const alq_pool_meta *meta, alq_pool_types *out);

/* What the validation pass counted. */
typedef struct {
  int64_t *class_counts;         /* meta->n_classes counts of /labels; NULL when the class count is unknown */
  int64_t unknown;               /* /labels equal to -1 */
  int64_t labeled;               /* items of the pool's own labeled set (none for gen:) */
  int64_t *labeled_class_counts; /* its counts per class; NULL when it is empty or the class count unknown */
  int64_t blocks;                /* blocks read */
} alq_pool_check;

/* Reads every row of the pool once and checks it: finite embeddings;
 * probabilities finite, >= 0 and summing to 1 within 1e-3; ids unique (in any
 * order); labels in [-1, C); labeled ids present in the pool.  Input error at
 * the first invalid value, naming the dataset and row.  *out is freed with
 * alq_pool_check_free, also after a failure. */
alq_err alq_pool_check_run(const alq_pool_meta *meta, alq_pool_check *out);
void alq_pool_check_free(alq_pool_check *c);

#endif
