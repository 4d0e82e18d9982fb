/* tests/fuzz/fuzz_csv.c: the CSV/TSV record parser (alq/csv_records.h), which
 * the answers and labeled-set readers split their text with (`alq import`
 * has its own streaming reader: tests/fuzz/fuzz_import.c).
 *
 * Input layout: the first byte picks the separator (even: ',', odd: tab);
 * the rest is the file's text, parsed from memory. */
#include "alq/csv_records.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  alq_csv_table t;
  if (alq_csv_parse("fuzz.csv", (const char *)data + 1, size - 1, data[0] & 1 ? '\t' : ',', &t) == ALQ_OK) {
    for (int64_t r = 0; r < t.n_records; r++) /* every field pointer must be readable */
      for (int64_t f = 0; f < t.records[r].n_fields; f++)
        for (const char *p = t.records[r].fields[f]; *p; p++)
          ;
  }
  alq_csv_free(&t);
  return 0;
}
