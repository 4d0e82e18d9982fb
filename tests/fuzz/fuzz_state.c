/* tests/fuzz/fuzz_state.c: the round-state reader (alq_state_read) on mutated
 * state files, then what `alq select --state`, `alq export` and `alq manifest`
 * derive from a state that was accepted: the labeled set, the pending ids, the
 * exclusions and every round's manifest. */
#include <stdio.h>
#include <stdlib.h>

#include "alq/manifest.h"
#include "alq/state.h"
#include "fuzz_input.h"

static void derive(const alq_state *st, FILE *sink) {
  alq_labeled set = {0};
  if (alq_state_labeled(st, &set) == ALQ_OK)
    alq_labeled_free(&set);
  int64_t *ids = NULL, n = 0;
  if (alq_state_pending(st, &ids, &n) == ALQ_OK)
    free(ids);
  alq_labeled excl = {0};
  if (alq_state_exclusions(st, &excl) == ALQ_OK)
    alq_labeled_free(&excl);
  for (int64_t r = 0; r < st->n_rounds; r++) {
    uint64_t checksum = 0;
    alq_manifest_print(sink, st->rounds[r].manifest.data, st->rounds[r].manifest.len, "", &checksum);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static FILE *sink;
  if (!sink && !(sink = fopen("/dev/null", "w")))
    abort();
  const char *path = fuzz_input_file("state", data, size);
  alq_state st;
  if (alq_state_read(path, &st) == ALQ_OK) {
    derive(&st, sink);
    alq_state_free(&st);
  }
  return 0;
}
