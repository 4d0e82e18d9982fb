/* alq/labels.h: labels and answers as people write them.
 *
 * An answers file says which label an annotator gave which item; alq ingest
 * merges it into the round state (alq/state.h).  The parsers here only turn
 * text into rows and check the text (ids and labels are integers, the header
 * names the columns); whether an id was ever sent out or a label is in range
 * is the state's check.  Every parser works on a memory buffer, so a fuzzer
 * can drive it directly; the _read forms read a file first.  Messages name
 * `name` (the file) and the line, one line each, input errors (exit 3).
 *
 * Formats (docs/labels.md):
 *   CSV   header naming at least id and label, optionally annotator; other
 *         columns are ignored; fields quoted as RFC 4180 writes them.
 */
#ifndef ALQ_LABELS_H
#define ALQ_LABELS_H
#include <stddef.h>
#include <stdint.h>
#include "alq/error.h"

#define ALQ_ANNOTATOR_MAX 64 /* bytes of an annotator name, with its terminating 0 */

/* One answer from an answers file, before validation against the state. */
typedef struct {
  int64_t id;
  int32_t label;
  char annotator[ALQ_ANNOTATOR_MAX];
  int64_t line; /* in the answers file, for messages */
} alq_answer_in;

typedef enum {
  ALQ_ANSWERS_CSV = 0,
} alq_answers_format;

typedef struct {
  alq_answers_format format;
  const char *default_annotator; /* for rows that name none; NULL: "anonymous" */
} alq_answers_options;

typedef struct {
  int64_t n;
  alq_answer_in *rows; /* in file order */
  int64_t skipped;     /* rows with an empty label: tasks not answered yet */
} alq_answer_list;

/* Parses `len` bytes of `text` as answers in format o->format.  On error
 * *out is empty (alq_answer_list_free is still safe). */
alq_err alq_answers_parse(const char *name, const char *text, size_t len, const alq_answers_options *o,
                          alq_answer_list *out);
alq_err alq_answers_read(const char *path, const alq_answers_options *o, alq_answer_list *out);
void alq_answer_list_free(alq_answer_list *list);

#endif
