/* tests/fuzz/fuzz_import.c: the CSV importer (`alq import`) end to end.
 *
 * Input layout: the first byte's low bit picks plain text or gzip (the
 * importer reads both through zlib: a plain file passes through); the rest is
 * the file.  The command runs with --standardize --labeled 2 (the stratified
 * draw sees the labels) into a scratch pool. */
#include <stdio.h>
#include <zlib.h>

#include "commands.h"
#include "fuzz_input.h"

/* The CLI's failure line: the harness keeps the error quiet. */
int alq_cli_fail(int code) { return code; }

/* The bytes gzip'd into a scratch file; NULL when zlib fails. */
static const char *gzip_file(const uint8_t *data, size_t size) {
  const char *path = fuzz_output_name("import-csv-gz");
  gzFile gz = gzopen(path, "wb");
  if (!gz)
    return NULL;
  int ok = size == 0 || gzwrite(gz, data, (unsigned)size) == (int)size;
  return gzclose(gz) == Z_OK && ok ? path : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > (1u << 20))
    return 0;
  const char *csv = data[0] & 1 ? gzip_file(data + 1, size - 1) : fuzz_input_file("import-csv", data + 1, size - 1);
  if (!csv)
    return 0;
  const char *out = fuzz_output_name("import-pool");
  char *argv[] = {"import", "--csv", (char *)csv, "--out", (char *)out, "--standardize", "--labeled", "2", NULL};
  static int quiet;
  if (!quiet)
    quiet = freopen("/dev/null", "w", stdout) != NULL; /* the "imported ..." line */
  alq_cmd_import(8, argv);
  return 0;
}
