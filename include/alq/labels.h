/* alq/labels.h: labels and answers as people and labeling tools write them.
 *
 * An answers file says which label an annotator gave which item; alq ingest
 * merges it into the round state (alq/state.h).  The parsers here only turn
 * text into rows and check the text (ids are integers, labels are integers
 * or class names, the header names the columns); whether an id was ever sent
 * out or a label is in range is the state's check.  Every parser works on a
 * memory buffer, so a fuzzer can drive it directly; the _read forms read a
 * file first.  Messages name `name` (the file) and the line, one line each,
 * input errors (exit 3).
 *
 * Formats (docs/labels.md):
 *   CSV, TSV      a header naming at least id and label, optionally
 *                 annotator; other columns are ignored; fields quoted as
 *                 RFC 4180 writes them; a UTF-8 byte-order mark is skipped
 *   JSON Lines    one object per line: {"id": 17, "label": 3 or "cat",
 *                 "annotator": "ann"} (annotator optional)
 *   Label Studio  the JSON export of a Label Studio project whose tasks alq
 *                 export --format label-studio wrote: per task the alq id
 *                 (meta.alq_id, else data.alq_id), per annotation the single
 *                 choice of its choices result and completed_by as the
 *                 annotator; cancelled (skipped) annotations are ignored
 * An id may be written "17" or "17.0"; a label is a class name (the pool's
 * /classes) or an integer written the same way.  An empty label (CSV), a
 * null or missing one (JSON Lines) or a task with no annotation is an
 * unanswered task and is counted in `skipped`.
 */
#ifndef ALQ_LABELS_H
#define ALQ_LABELS_H
#include <stddef.h>
#include <stdint.h>
#include "alq/error.h"
#include "alq/pool.h" /* alq_labeled */

#define ALQ_ANNOTATOR_MAX 64 /* bytes of an annotator name, with its terminating 0 */

/* One answer from an answers file, before validation against the state. */
typedef struct {
  int64_t id;
  int32_t label;
  char annotator[ALQ_ANNOTATOR_MAX];
  int64_t line; /* in the answers file, for messages */
} alq_answer_in;

/* The names of a pool's classes: /classes, a 1-D dataset of strings
 * (variable-length or fixed-width, as h5py writes them); n = 0 when the pool
 * has none. */
typedef struct {
  int64_t n;
  char **names; /* names[label] */
} alq_class_names;

/* Reads /classes of the HDF5 file `path` (none: n = 0).  Input error for a
 * /classes that is not 1-D strings, an empty or repeated name, or a count
 * other than `n_classes` (when n_classes > 0). */
alq_err alq_class_names_read(const char *path, int64_t n_classes, alq_class_names *out);
void alq_class_names_free(alq_class_names *c);

/* 1 and *label when `text` (blanks around it ignored) is one of the names in
 * `c` (c may be NULL), else when it is an integer ("3", "3.0"); 0 otherwise.
 * A name wins over an integer reading of the same text. */
int alq_class_of_text(const alq_class_names *c, const char *text, int64_t *label);

typedef enum {
  ALQ_ANSWERS_AUTO = 0, /* by content: '[' Label Studio, '{' JSON Lines, a tab in the header TSV, else CSV */
  ALQ_ANSWERS_CSV,
  ALQ_ANSWERS_TSV,
  ALQ_ANSWERS_JSONL,
  ALQ_ANSWERS_LABEL_STUDIO,
} alq_answers_format;

/* "auto", "csv", "tsv", "jsonl", "label-studio" -> *format; 0 when unknown. */
int alq_answers_format_parse(const char *text, alq_answers_format *format);

typedef struct {
  alq_answers_format format;
  const char *default_annotator;  /* for rows that name none; NULL: "anonymous" */
  const alq_class_names *classes; /* names labels may be given as; NULL: integers only */
  const char *choices_name;       /* Label Studio: the Choices tag to read (from_name) when a
                                     task has several; NULL: the only choices result */
} alq_answers_options;

typedef struct {
  int64_t n;
  alq_answer_in *rows; /* in file order */
  int64_t skipped;     /* unanswered tasks (empty label, no annotation) */
  int64_t cancelled;   /* Label Studio annotations marked was_cancelled (skipped by the annotator) */
  int64_t first_skipped_line; /* line of the first unanswered task, 0 when none */
} alq_answer_list;

/* Parses `len` bytes of `text` as answers in format o->format.  On error
 * *out is empty (alq_answer_list_free is still safe). */
alq_err alq_answers_parse(const char *name, const char *text, size_t len, const alq_answers_options *o,
                          alq_answer_list *out);
alq_err alq_answers_read(const char *path, const alq_answers_options *o, alq_answer_list *out);
void alq_answer_list_free(alq_answer_list *list);

/* A labeled set (id, label) as CSV/TSV (a header naming id and label) or
 * JSON Lines ({"id": .., "label": ..}), format by content as for
 * ALQ_ANSWERS_AUTO (Label Studio excepted), into `out` sorted by id.  Input
 * error for a repeated id (naming both lines), a missing label, or a label
 * outside [0, n_classes) (n_classes > 0).  Labels may be class names when
 * `classes` is given (NULL: integers only).  alq_labeled_read (alq/pool.h)
 * calls the _read form for a file that is not HDF5. */
alq_err alq_labeled_text_parse(const char *name, const char *text, size_t len, int64_t n_classes,
                               const alq_class_names *classes, alq_labeled *out);
alq_err alq_labeled_text_read(const char *path, int64_t n_classes, const alq_class_names *classes, alq_labeled *out);

/* A batch file's /selected/relabel flags (1 = an item labeled before, sent
 * out again to be answered by someone else; docs/format.md "Batch files"):
 * *flags gets n values, or NULL when the batch has none.  Input error when
 * the dataset is there but not n int8 values. */
alq_err alq_batch_relabel_read(const char *path, int64_t n, int8_t **flags);

/* 1 when `path` can be opened and is not an HDF5 file (no HDF5 signature at
 * any of the offsets HDF5 looks at): a labeled set written as text. */
int alq_labeled_file_is_text(const char *path);

#endif
