/* alq/partition.h: which rows of the pool each rank owns.
 *
 * Rows are split into P contiguous shards [lo, hi).  Boundaries fall on
 * multiples of `align` rows (the dataset's HDF5 chunk height, so no chunk is
 * read by two ranks); the pool's units of `align` rows are dealt so that shard
 * sizes differ by at most one unit (with align = 1: by at most one row).  When
 * there are fewer units than ranks the trailing ranks get empty shards.
 */
#ifndef ALQ_PARTITION_H
#define ALQ_PARTITION_H
#include <stdint.h>

typedef struct {
  int64_t lo; /* first global row */
  int64_t hi; /* one past the last global row; hi == lo for an empty shard */
} alq_range;

/* The alignment alq uses for a dataset chunked every `chunk_rows` rows: the
 * chunk height when a one-chunk imbalance is at most a tenth of a shard, else
 * 1 row (a small pool is better split evenly than kept chunk-whole). */
int64_t alq_partition_align(int64_t n_rows, int64_t chunk_rows, int nranks);

/* The shard of `rank` among `nranks` for a pool of `n_rows` rows.
 * Requires n_rows >= 0, align >= 1, 0 <= rank < nranks. */
alq_range alq_partition_rows(int64_t n_rows, int64_t align, int nranks, int rank);

#endif
