/* alq/label_studio.h: a batch as a Label Studio task list (the import side;
 * reading Label Studio's export back is ALQ_ANSWERS_LABEL_STUDIO in
 * alq/labels.h).
 *
 * One task per item, in selection order (docs/labels.md "Label Studio"):
 *   {"data": {<payload column>: value, ..., "alq_id": 17},
 *    "meta": {"alq_id": 17, "alq_round": 3[, "alq_relabel": true]
 *             [, "alq_answered_by": ["ann", ...]]},
 *    "predictions": [{"model_version": "alq", "score": 0.93,
 *                     "result": [{"from_name": "label", "to_name": "text",
 *                                 "type": "choices",
 *                                 "value": {"choices": ["cat"]}}]}]}
 * Label Studio shows `data` to the annotator through the labeling config's
 * $variables, keeps `meta` with the task and puts both in its JSON export,
 * and shows a prediction as a pre-annotation the annotator confirms or
 * changes.  The alq id is in data as well because every export carries data. */
#ifndef ALQ_LABEL_STUDIO_H
#define ALQ_LABEL_STUDIO_H
#include <stdint.h>
#include <stdio.h>
#include "alq/labels.h"
#include "alq/payload.h"

typedef struct {
  int64_t n;                         /* tasks, in selection order */
  const int64_t *ids;
  int64_t round;                     /* the state round that sent them out; 0: none */
  int64_t n_columns;
  const alq_payload_column *columns; /* each column's values at the tasks' rows */
  /* Pre-annotations: the model's top class and its probability per task;
   * NULL: no predictions. */
  const int32_t *top_class;
  const float *top_score;
  int64_t n_classes;
  const alq_class_names *classes;    /* choice names; NULL or n = 0: "0", "1", ... */
  const char *choices_name;          /* the Choices tag (from_name) */
  const char *to_name;               /* the object tag it labels (to_name) */
  const char *model_version;
  /* Per task, the annotators who already answered it (a re-label task goes to
   * others), n_answered_by[i] names; NULL: not recorded. */
  const int64_t *n_answered_by;
  const char *const *const *answered_by;
  const int8_t *relabel;             /* per task, 1 = a re-label (meta.alq_relabel); NULL: none */
} alq_label_studio_tasks;

/* The top class of each item `ids[i]` of the pool `meta` describes (its
 * /probs row's largest value, ties to the lower class) and that probability.
 * Serial (reads on MPI_COMM_SELF).  Input error when the pool has no /probs
 * or an id is not in it. */
alq_err alq_top_class_of_ids(const alq_pool_meta *meta, const int64_t *ids, int64_t n, int32_t *top, float *score);

/* Writes the task list; negative on a write error (errno set by stdio). */
int alq_label_studio_write(FILE *f, const alq_label_studio_tasks *t);

/* A labeling config (XML) with a Choices tag of the classes on a Text or
 * Image tag: a starting point for the project's settings. */
int alq_label_studio_write_config(FILE *f, const alq_label_studio_tasks *t, int image);

#endif
