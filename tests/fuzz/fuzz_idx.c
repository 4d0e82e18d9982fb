/* tests/fuzz/fuzz_idx.c: the idx importer (`alq import-idx`).
 *
 * Input layout: the first byte b gives the image file's length, b * 4 bytes
 * (so short headers and whole small images both fit); the image file is the
 * next min(b * 4, rest) bytes, the label file what remains.  The command runs
 * end to end with --labeled 2 (the stratified draw sees the labels) into a
 * scratch pool. */
#include <stdio.h>

#include "commands.h"
#include "fuzz_input.h"

/* The CLI's failure line: the harness keeps the error quiet. */
int alq_cli_fail(int code) { return code; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  size_t images_len = (size_t)data[0] * 4;
  if (images_len > size - 1)
    images_len = size - 1;
  const char *images = fuzz_input_file("idx-images", data + 1, images_len);
  const char *labels = fuzz_input_file("idx-labels", data + 1 + images_len, size - 1 - images_len);
  const char *out = fuzz_output_name("idx-pool");
  char *argv[] = {"import-idx", "--images", (char *)images, "--labels", (char *)labels,
                  "--out",      (char *)out, "--labeled", "2", NULL};
  static int quiet;
  if (!quiet)
    quiet = freopen("/dev/null", "w", stdout) != NULL; /* the "imported ..." line */
  alq_cmd_import_idx(9, argv);
  return 0;
}
