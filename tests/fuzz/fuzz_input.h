/* tests/fuzz/fuzz_input.h: what every harness shares.
 *
 * Each harness defines LLVMFuzzerTestOneInput (libFuzzer's entry point).  The
 * readers it drives take file names, so the input is first written to a file
 * of this process under /dev/shm (fuzz_input_file); the file is rewritten for
 * every input, never read back by the harness. */
#ifndef ALQ_FUZZ_INPUT_H
#define ALQ_FUZZ_INPUT_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes data[0..size) to the file named `<tag>.<pid>` in the scratch folder
 * (ALQ_FUZZ_DIR, default /dev/shm, else /tmp) and returns its name, valid until
 * the next call with the same tag.  Aborts when the file cannot be written:
 * that is the harness's fault, not the reader's. */
const char *fuzz_input_file(const char *tag, const uint8_t *data, size_t size);

/* The name a harness may write an output to (`<tag>.<pid>` in the scratch
 * folder), removed first. */
const char *fuzz_output_name(const char *tag);

#endif
