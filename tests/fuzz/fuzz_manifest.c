/* tests/fuzz/fuzz_manifest.c: the protobuf Manifest reader (`alq manifest`).
 *
 * The bytes are what /manifest of a batch file, or a round of a state file,
 * holds: alq_manifest_print unpacks them and prints every field. */
#include <stdio.h>
#include <stdlib.h>

#include "alq/manifest.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static FILE *sink;
  if (!sink && !(sink = fopen("/dev/null", "w")))
    abort();
  uint64_t checksum = 0;
  alq_manifest_print(sink, data, (int64_t)size, "  ", &checksum);
  return 0;
}
