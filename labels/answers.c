/* labels/answers.c: answers files in their formats, from memory or a file
 * (alq/labels.h). */
#include "alq/labels.h"

#include <stdlib.h>
#include <string.h>

#include "alq/text_file.h"
#include "labels_internal.h"

alq_err alq_answers_parse(const char *name, const char *text, size_t len, const alq_answers_options *o,
                          alq_answer_list *out) {
  memset(out, 0, sizeof *out);
  const char *who = o->default_annotator ? o->default_annotator : "anonymous";
  switch (o->format) {
  case ALQ_ANSWERS_CSV: return alq_answers_parse_delimited(name, text, len, ',', who, out);
  }
  return alq_error_set(ALQ_ERR_INTERNAL, "answers format %d is not known", (int)o->format);
}

alq_err alq_answers_read(const char *path, const alq_answers_options *o, alq_answer_list *out) {
  memset(out, 0, sizeof *out);
  char *text = NULL;
  size_t len = 0;
  ALQ_CHECK(alq_text_file_read(path, &text, &len));
  alq_err err = alq_answers_parse(path, text, len, o, out);
  free(text);
  return err;
}

void alq_answer_list_free(alq_answer_list *list) {
  free(list->rows);
  memset(list, 0, sizeof *list);
}
