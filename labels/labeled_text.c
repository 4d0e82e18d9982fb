/* labels/labeled_text.c: a labeled set written as CSV/TSV or JSON Lines
 * (alq_labeled_text_parse in alq/labels.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/labels.h"
#include "alq/text_file.h"

static int cmp_by_id(const void *pa, const void *pb) {
  const alq_answer_in *a = pa, *b = pb;
  if (a->id != b->id)
    return a->id < b->id ? -1 : 1;
  return a->line < b->line ? -1 : a->line > b->line;
}

static alq_err to_labeled(const char *name, alq_answer_list *rows, int64_t n_classes, alq_labeled *out) {
  if (rows->skipped)
    return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: a labeled set needs a label on every row", name,
                         (long long)rows->first_skipped_line);
  for (int64_t i = 0; i < rows->n; i++) {
    const alq_answer_in *r = &rows->rows[i];
    if (r->label < 0 || (n_classes > 0 && r->label >= n_classes))
      return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: label %d for id %lld is outside [0, %lld)", name,
                           (long long)r->line, r->label, (long long)r->id, (long long)n_classes);
  }
  if (rows->n > 1) /* rows is NULL when empty */
    qsort(rows->rows, (size_t)rows->n, sizeof *rows->rows, cmp_by_id);
  for (int64_t i = 1; i < rows->n; i++)
    if (rows->rows[i].id == rows->rows[i - 1].id)
      return alq_error_set(ALQ_ERR_INPUT, "%s lines %lld and %lld: id %lld is labeled twice", name,
                           (long long)rows->rows[i - 1].line, (long long)rows->rows[i].line,
                           (long long)rows->rows[i].id);
  memset(out, 0, sizeof *out);
  size_t m = (size_t)(rows->n ? rows->n : 1);
  ALQ_CHECK(alq_malloc(&out->ids, m * sizeof *out->ids, "labeled ids"));
  alq_err err = alq_malloc(&out->labels, m * sizeof *out->labels, "labeled labels");
  if (err) {
    alq_labeled_free(out);
    return err;
  }
  for (int64_t i = 0; i < rows->n; i++) {
    out->ids[i] = rows->rows[i].id;
    out->labels[i] = rows->rows[i].label;
  }
  out->n = rows->n;
  return ALQ_OK;
}

alq_err alq_labeled_text_parse(const char *name, const char *text, size_t len, int64_t n_classes,
                               const alq_class_names *classes, alq_labeled *out) {
  memset(out, 0, sizeof *out);
  alq_answers_options o = {.format = ALQ_ANSWERS_AUTO, .classes = classes};
  size_t i = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
    i++;
  if (i < len && text[i] == '[')
    return alq_error_set(ALQ_ERR_INPUT,
                         "%s: a labeled set is CSV/TSV (id,label) or JSON Lines, not a JSON array (a Label Studio "
                         "export goes to alq ingest --format label-studio)",
                         name);
  alq_answer_list rows;
  ALQ_CHECK(alq_answers_parse(name, text, len, &o, &rows));
  alq_err err = to_labeled(name, &rows, n_classes, out);
  alq_answer_list_free(&rows);
  return err;
}

alq_err alq_labeled_text_read(const char *path, int64_t n_classes, const alq_class_names *classes, alq_labeled *out) {
  memset(out, 0, sizeof *out);
  char *text = NULL;
  size_t len = 0;
  ALQ_CHECK(alq_text_file_read(path, &text, &len));
  alq_err err = alq_labeled_text_parse(path, text, len, n_classes, classes, out);
  free(text);
  return err;
}

/* HDF5 looks for its signature at 0 and at every power of two from 512 on
 * (a user block before the superblock). */
int alq_labeled_file_is_text(const char *path) {
  static const unsigned char signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  FILE *f = fopen(path, "rb");
  if (!f)
    return 0; /* the HDF5 reader names the file and why it cannot be opened */
  int text = 1;
  for (long offset = 0; text; offset = offset ? 2 * offset : 512) {
    unsigned char head[8];
    if (fseek(f, offset, SEEK_SET) != 0 || fread(head, 1, sizeof head, f) != sizeof head)
      break;
    text = memcmp(head, signature, sizeof head) != 0;
  }
  fclose(f);
  return text;
}
