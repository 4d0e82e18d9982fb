/* labels/answers_delimited.c: answers as CSV/TSV with a header naming the
 * columns id, label and optionally annotator (labels_internal.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/csv_records.h"
#include "labels_internal.h"

/* A whole integer, blanks around it allowed. */
static int parse_integer(const char *text, int64_t min, int64_t max, int64_t *out) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (end == text || errno)
    return 0;
  while (*end == ' ' || *end == '\t')
    end++;
  if (*end || v < min || v > max)
    return 0;
  *out = v;
  return 1;
}

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

/* The answers in the table, validated as text. */
static alq_err table_answers(const char *path, const alq_csv_table *t, const char *default_annotator,
                             alq_answer_list *out) {
  if (t->n_records == 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s is empty: expected a header line id,label[,annotator]", path);
  const alq_csv_record *h = &t->records[0];
  int64_t c_id = column(h, "id"), c_label = column(h, "label"), c_annotator = column(h, "annotator");
  if (c_id < 0 || c_label < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: the header has no '%s' column (expected id,label[,annotator])",
                         path, (long long)h->line, c_id < 0 ? "id" : "label");
  alq_answer_in *a = NULL;
  ALQ_CHECK(alq_malloc(&a, sizeof *a * (size_t)(t->n_records), "answers"));
  int64_t n = 0, skipped = 0;
  for (int64_t r = 1; r < t->n_records; r++) {
    const alq_csv_record *rec = &t->records[r];
    alq_answer_in *x = &a[n];
    alq_err err = ALQ_OK;
    int64_t id = 0, label = 0;
    if (rec->n_fields != h->n_fields)
      err = alq_error_set(ALQ_ERR_INPUT, "%s line %lld: %lld fields, expected %lld as in the header", path,
                          (long long)rec->line, (long long)rec->n_fields, (long long)h->n_fields);
    else if (!parse_integer(rec->fields[c_id], INT64_MIN, INT64_MAX, &id))
      err = alq_error_set(ALQ_ERR_INPUT, "%s line %lld: id '%s' is not an integer", path, (long long)rec->line,
                          rec->fields[c_id]);
    else if (blank(rec->fields[c_label])) {
      skipped++;
      continue;
    } else if (!parse_integer(rec->fields[c_label], INT32_MIN, INT32_MAX, &label))
      err = alq_error_set(ALQ_ERR_INPUT, "%s line %lld: label '%s' for id %lld is not an integer", path,
                          (long long)rec->line, rec->fields[c_label], (long long)id);
    const char *who = c_annotator >= 0 && !blank(rec->fields[c_annotator]) ? rec->fields[c_annotator]
                                                                            : default_annotator;
    if (!err && strlen(who) >= ALQ_ANNOTATOR_MAX)
      err = alq_error_set(ALQ_ERR_INPUT, "%s line %lld: annotator name longer than %d bytes", path,
                          (long long)rec->line, ALQ_ANNOTATOR_MAX - 1);
    if (err) {
      free(a);
      return err;
    }
    x->id = id;
    x->label = (int32_t)label;
    x->line = rec->line;
    snprintf(x->annotator, sizeof x->annotator, "%s", who);
    n++;
  }
  out->rows = a;
  out->n = n;
  out->skipped = skipped;
  return ALQ_OK;
}

alq_err alq_answers_parse_delimited(const char *name, const char *text, size_t len, char separator,
                                    const char *default_annotator, alq_answer_list *out) {
  alq_csv_table t;
  ALQ_CHECK(alq_csv_parse(name, text, len, separator, &t));
  alq_err err = table_answers(name, &t, default_annotator, out);
  alq_csv_free(&t);
  return err;
}
