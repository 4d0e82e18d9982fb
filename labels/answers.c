/* labels/answers.c: answers files in their formats, from memory or a file
 * (alq/labels.h), and what every format shares. */
#include "alq/labels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/text_file.h"
#include "labels_internal.h"

int alq_answers_format_parse(const char *text, alq_answers_format *format) {
  static const char *const names[] = {"auto", "csv", "tsv", "jsonl", "label-studio"};
  for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
    if (strcmp(text, names[i]) == 0) {
      *format = (alq_answers_format)i;
      return 1;
    }
  return 0;
}

/* The format by content: the first character that is not white space (after
 * a byte-order mark), and whether the first line has a tab but no comma. */
static alq_answers_format sniff(const char *text, size_t len) {
  size_t i = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  while (i < len && strchr(" \t\r\n", text[i]) && text[i])
    i++;
  if (i < len && text[i] == '[')
    return ALQ_ANSWERS_LABEL_STUDIO;
  if (i < len && text[i] == '{')
    return ALQ_ANSWERS_JSONL;
  size_t end = i;
  while (end < len && text[end] != '\n')
    end++;
  const char *tab = memchr(text + i, '\t', end - i), *comma = memchr(text + i, ',', end - i);
  return tab && !comma ? ALQ_ANSWERS_TSV : ALQ_ANSWERS_CSV;
}

alq_err alq_answers_parse(const char *name, const char *text, size_t len, const alq_answers_options *o,
                          alq_answer_list *out) {
  memset(out, 0, sizeof *out);
  alq_answers_options opt = *o;
  if (!opt.default_annotator)
    opt.default_annotator = "anonymous";
  if (opt.format == ALQ_ANSWERS_AUTO)
    opt.format = sniff(text, len);
  alq_err err = ALQ_ERR_INTERNAL;
  switch (opt.format) {
  case ALQ_ANSWERS_CSV: err = alq_answers_parse_delimited(name, text, len, ',', &opt, out); break;
  case ALQ_ANSWERS_TSV: err = alq_answers_parse_delimited(name, text, len, '\t', &opt, out); break;
  case ALQ_ANSWERS_JSONL: err = alq_answers_parse_jsonl(name, text, len, &opt, out); break;
  case ALQ_ANSWERS_LABEL_STUDIO: err = alq_answers_parse_label_studio(name, text, len, &opt, out); break;
  default: return alq_error_set(ALQ_ERR_INTERNAL, "answers format %d is not known", (int)opt.format);
  }
  if (err)
    alq_answer_list_free(out);
  return err;
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

alq_err alq_answer_list_add(const char *name, alq_answer_list *out, int64_t *cap, int64_t id, int64_t label,
                            const char *annotator, int64_t line) {
  if (strlen(annotator) >= ALQ_ANNOTATOR_MAX)
    return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: annotator name longer than %d bytes", name, (long long)line,
                         ALQ_ANNOTATOR_MAX - 1);
  if (out->n == *cap) {
    int64_t want = *cap ? 2 * *cap : 64;
    alq_answer_in *rows = realloc(out->rows, sizeof *rows * (size_t)want);
    if (!rows)
      return alq_error_set(ALQ_ERR_MEMORY, "out of memory for %lld answers", (long long)want);
    out->rows = rows;
    *cap = want;
  }
  alq_answer_in *x = &out->rows[out->n++];
  memset(x, 0, sizeof *x);
  x->id = id;
  x->label = (int32_t)label;
  x->line = line;
  snprintf(x->annotator, sizeof x->annotator, "%s", annotator);
  return ALQ_OK;
}

alq_err alq_label_text_error(const char *name, int64_t line, const char *text, int64_t id,
                             const alq_class_names *classes) {
  if (!classes || classes->n == 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: label '%s' for id %lld is not an integer (the pool has no /classes names)",
                         name, (long long)line, text, (long long)id);
  char list[256] = "";
  size_t used = 0;
  for (int64_t i = 0; i < classes->n && used + 8 < sizeof list; i++) {
    int w = snprintf(list + used, sizeof list - used, "%s'%s'", i ? ", " : "", classes->names[i]);
    used = w < 0 || (size_t)w >= sizeof list - used ? sizeof list - 1 : used + (size_t)w;
  }
  if (used >= sizeof list - 1)
    snprintf(list + sizeof list - 5, 5, "...");
  return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: label '%s' for id %lld is neither a class name (%s) nor an integer",
                       name, (long long)line, text, (long long)id, list);
}
