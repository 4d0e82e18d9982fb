/* bench/hash_print.c: prints alq_hash3(seed, id, purpose) for a range of ids,
 * so the numpy baseline (bench/alq_hash.py) can check its reimplementation of
 * core/hash.c bit for bit.
 *
 * Usage: alq_hash_print SEED PURPOSE ID_LO ID_HI
 * Output: one line per id in [ID_LO, ID_HI): "<id> <hash as unsigned decimal>".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include "alq/hash.h"

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: alq_hash_print SEED PURPOSE ID_LO ID_HI\n");
    return 2;
  }
  uint64_t seed = strtoull(argv[1], NULL, 10);
  uint64_t purpose = strtoull(argv[2], NULL, 10);
  uint64_t lo = strtoull(argv[3], NULL, 10);
  uint64_t hi = strtoull(argv[4], NULL, 10);
  for (uint64_t id = lo; id < hi; id++)
    printf("%" PRIu64 " %" PRIu64 "\n", id, alq_hash3(seed, id, purpose));
  return 0;
}
