/* labels/answers_delimited.c: answers as CSV/TSV with a header naming the
 * columns id, label and optionally annotator (labels_internal.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/csv_records.h"
#include "alq/integer_text.h"
#include "labels_internal.h"

static int blank(const char *s) { return s[strspn(s, " \t")] == '\0'; }

/* The column named `name` in the header (blanks around names ignored), or -1. */
static int64_t column(const alq_csv_record *header, const char *name) {
  for (int64_t i = 0; i < header->n_fields; i++) {
    const char *f = header->fields[i] + strspn(header->fields[i], " \t");
    size_t len = strcspn(f, " \t");
    if (len == strlen(name) && strncmp(f, name, len) == 0 && blank(f + len))
      return i;
  }
  return -1;
}

/* One record's answer, or a skipped (unanswered) row. */
static alq_err record_answer(const char *path, const alq_csv_record *rec, const int64_t col[3], int64_t n_header,
                             const alq_answers_options *o, alq_answer_list *out, int64_t *cap) {
  int64_t id = 0, label = 0;
  if (rec->n_fields != n_header)
    return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: %lld fields, expected %lld as in the header", path,
                         (long long)rec->line, (long long)rec->n_fields, (long long)n_header);
  const char *id_text = rec->fields[col[0]], *label_text = rec->fields[col[1]];
  if (!alq_integer_text(id_text, INT64_MIN, INT64_MAX, &id))
    return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: id '%s' is not an integer", path, (long long)rec->line,
                         id_text);
  if (blank(label_text)) {
    if (!out->skipped++)
      out->first_skipped_line = rec->line;
    return ALQ_OK;
  }
  if (!alq_class_of_text(o->classes, label_text, &label))
    return alq_label_text_error(path, rec->line, label_text, id, o->classes);
  const char *who = col[2] >= 0 && !blank(rec->fields[col[2]]) ? rec->fields[col[2]] : o->default_annotator;
  return alq_answer_list_add(path, out, cap, id, label, who, rec->line);
}

static alq_err table_answers(const char *path, const alq_csv_table *t, char separator,
                             const alq_answers_options *o, alq_answer_list *out) {
  const char *header = separator == '\t' ? "id<TAB>label[<TAB>annotator]" : "id,label[,annotator]";
  if (t->n_records == 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s is empty: expected a header line %s", path, header);
  const alq_csv_record *h = &t->records[0];
  int64_t col[3] = {column(h, "id"), column(h, "label"), column(h, "annotator")};
  if (col[0] < 0 || col[1] < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: the header has no '%s' column (expected %s)", path,
                         (long long)h->line, col[0] < 0 ? "id" : "label", header);
  int64_t cap = 0;
  for (int64_t r = 1; r < t->n_records; r++)
    ALQ_CHECK(record_answer(path, &t->records[r], col, h->n_fields, o, out, &cap));
  return ALQ_OK;
}

alq_err alq_answers_parse_delimited(const char *name, const char *text, size_t len, char separator,
                                    const alq_answers_options *o, alq_answer_list *out) {
  alq_csv_table t;
  ALQ_CHECK(alq_csv_parse(name, text, len, separator, &t));
  alq_err err = table_answers(name, &t, separator, o, out);
  alq_csv_free(&t);
  return err;
}
