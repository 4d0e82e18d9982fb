/* labels/labels_internal.h: the per-format parsers behind alq/labels.h, and
 * the task files behind alq/export.h (internal).  Each parser fills `out`
 * (zeroed by the caller) or returns an input error naming `name` and the
 * line; o->default_annotator is never NULL here. */
#ifndef ALQ_LABELS_INTERNAL_H
#define ALQ_LABELS_INTERNAL_H
#include "alq/batch.h"
#include "alq/export.h"
#include "alq/label_studio.h"
#include "alq/labels.h"
#include "alq/state.h"

/* CSV or TSV (separator ',' or '\t') with a header line. */
alq_err alq_answers_parse_delimited(const char *name, const char *text, size_t len, char separator,
                                    const alq_answers_options *o, alq_answer_list *out);
alq_err alq_answers_parse_jsonl(const char *name, const char *text, size_t len, const alq_answers_options *o,
                                alq_answer_list *out);
alq_err alq_answers_parse_label_studio(const char *name, const char *text, size_t len,
                                       const alq_answers_options *o, alq_answer_list *out);

/* Appends one answer, growing out->rows; input error when the annotator name
 * is too long. */
alq_err alq_answer_list_add(const char *name, alq_answer_list *out, int64_t *cap, int64_t id, int64_t label,
                            const char *annotator, int64_t line);

/* Input error for a label text that is neither a class name nor an integer,
 * listing the names when there are a few. */
alq_err alq_label_text_error(const char *name, int64_t line, const char *text, int64_t id,
                             const alq_class_names *classes);

/* Item i's value of payload column c, as CSV (json = 0: a field, quoted when
 * needed) or JSON (a NaN or infinity is null); negative on a write error. */
int alq_payload_value_write(FILE *f, const alq_payload_column *c, int64_t i, int json);

/* Everything the task files of an export are written from (labels/export_run.c). */
typedef struct {
  const alq_batch_file *b;
  const alq_payload_column *cols;
  int64_t n_cols;
  const alq_answered_by *answered; /* n = 0 without --state */
  const int8_t *relabel;           /* the batch's re-label flags; NULL: none */
  alq_label_studio_tasks ls;
} alq_export_tasks;

/* Every task file of `o` or none, each whole: temporary names, renamed
 * together (alq_paths_commit).  Output error naming the file. */
alq_err alq_export_write_tasks(const alq_export_options *o, const alq_export_tasks *t);

#endif
