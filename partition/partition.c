/* partition/partition.c: contiguous, chunk-aligned, balanced shards. */
#include "alq/partition.h"

alq_range alq_partition_rows(int64_t n_rows, int64_t align, int nranks, int rank) {
  /* Deal whole units of `align` rows; the first (units % P) ranks get one more.
   * The last unit may be short (n_rows need not be a multiple of align). */
  int64_t units = (n_rows + align - 1) / align;
  int64_t base = units / nranks, extra = units % nranks;
  int64_t first_unit = rank * base + (rank < extra ? rank : extra);
  int64_t my_units = base + (rank < extra ? 1 : 0);
  alq_range r;
  r.lo = first_unit * align;
  r.hi = (first_unit + my_units) * align;
  if (r.lo > n_rows)
    r.lo = n_rows;
  if (r.hi > n_rows)
    r.hi = n_rows;
  return r;
}

int64_t alq_partition_align(int64_t n_rows, int64_t chunk_rows, int nranks) {
  if (chunk_rows <= 1 || 10 * chunk_rows > n_rows / nranks)
    return 1;
  return chunk_rows;
}
