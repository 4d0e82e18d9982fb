/* tests/fuzz/fuzz_answers.c: the answers reader of `alq ingest` (CSV, TSV,
 * JSON Lines and Label Studio exports; alq/labels.h) and, on the same text,
 * the labeled-set reader for labeled sets written as CSV/TSV or JSON Lines.
 *
 * Input layout: the first byte picks the answers format (its value mod 5:
 * auto, csv, tsv, jsonl, label-studio); the rest is the file's text, parsed
 * from memory with three class names, so labels given as names are read too. */
#include "alq/labels.h"
#include "alq/pool.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  static char cat[] = "cat", dog[] = "dog", bird[] = "bird";
  static char *names[] = {cat, dog, bird};
  const alq_class_names classes = {3, names};
  const alq_answers_format formats[] = {ALQ_ANSWERS_AUTO, ALQ_ANSWERS_CSV, ALQ_ANSWERS_TSV, ALQ_ANSWERS_JSONL,
                                        ALQ_ANSWERS_LABEL_STUDIO};
  const char *text = (const char *)data + 1;
  alq_answers_options o = {formats[data[0] % 5], NULL, &classes, NULL};
  alq_answer_list list;
  alq_answers_parse("fuzz-answers", text, size - 1, &o, &list);
  alq_answer_list_free(&list);
  alq_labeled labeled = {0, NULL, NULL};
  if (alq_labeled_text_parse("fuzz-labeled", text, size - 1, 3, &classes, &labeled) == ALQ_OK)
    alq_labeled_free(&labeled);
  return 0;
}
