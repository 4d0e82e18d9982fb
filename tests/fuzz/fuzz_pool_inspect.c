/* tests/fuzz/fuzz_pool_inspect.c: the pool inspector (alq_pool_inspect, what
 * `alq info` and rank 0 of `alq select` run first) and the labeled-set reader
 * (alq_labeled_read) on mutated small HDF5 pools. */
#include "alq/pool.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_input_file("pool", data, size);
  alq_pool_meta meta;
  if (alq_pool_inspect(path, &meta) != ALQ_OK)
    return 0;
  alq_labeled set = {0};
  if (alq_labeled_read(path, meta.n_classes, 0, &set) == ALQ_OK)
    alq_labeled_free(&set);
  return 0;
}
