/* labels/labels_internal.h: the per-format parsers behind alq/labels.h (internal). */
#ifndef ALQ_LABELS_INTERNAL_H
#define ALQ_LABELS_INTERNAL_H
#include "alq/labels.h"

/* Answers as CSV or TSV (separator ',' or '\t') with a header line. */
alq_err alq_answers_parse_delimited(const char *name, const char *text, size_t len, char separator,
                                    const char *default_annotator, alq_answer_list *out);

#endif
