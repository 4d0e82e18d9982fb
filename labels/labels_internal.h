/* labels/labels_internal.h: the per-format parsers behind alq/labels.h
 * (internal).  Each fills `out` (zeroed by the caller) or returns an input
 * error naming `name` and the line; o->default_annotator is never NULL here. */
#ifndef ALQ_LABELS_INTERNAL_H
#define ALQ_LABELS_INTERNAL_H
#include "alq/labels.h"

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

#endif
