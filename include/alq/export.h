/* alq/export.h: `alq export` as a call: a batch (alq select --out) as tasks
 * for annotators, in selection order, with the payload columns the pool
 * names (docs/format.md, docs/labels.md):
 *   CSV   header id,<payload columns>[,relabel][,answered_by],label; the label
 *         column is empty, for the annotator to fill in (what alq ingest reads)
 *   JSON  an array with one object per item, {"id": 17, "<column>": value, ...},
 *         or a Label Studio task list (alq/label_studio.h), and optionally its
 *         labeling config.
 * Serial.  Every file or none: each is written under a temporary name and
 * they are renamed together (alq_paths_commit).  `alq export` is a thin CLI
 * over this module.
 */
#ifndef ALQ_EXPORT_H
#define ALQ_EXPORT_H
#include <stdint.h>
#include "alq/error.h"
#include "alq/payload.h"
#include "alq/pool.h"

typedef struct {
  char batch[ALQ_PATH_MAX];     /* the batch file */
  char csv[ALQ_PATH_MAX];       /* "" = no CSV */
  char json[ALQ_PATH_MAX];      /* "" = no JSON; at least one of csv and json */
  char pool[ALQ_PATH_MAX];      /* "" = the pool the batch records */
  char state[ALQ_PATH_MAX];     /* "" = none; else the tasks list who already answered each item */
  char ls_config[ALQ_PATH_MAX]; /* label_studio: "" or a labeling config (XML) to write */
  char payload[4096];           /* with payload_given: comma-separated column names, in this order */
  int payload_given;            /* 0: every payload column of the pool, by name */
  int label_studio;             /* 1: json is a Label Studio task list */
  int predictions;              /* label_studio: a pre-annotation per task, the top class of /probs */
  char choices_name[256];       /* label_studio: the Choices tag; "" = "label" */
  char to_name[ALQ_PAYLOAD_NAME_MAX]; /* label_studio: the object tag; "" = the text payload column, else the first */
} alq_export_options;

/* What an export wrote. */
typedef struct {
  int64_t tasks, columns; /* tasks (the batch's items) and payload columns per task */
} alq_export_result;

/* Usage error (one line naming both options and both paths) when an output
 * of `o` is one of its inputs or another output; `pool` is the pool read (the
 * batch's own when o->pool is ""). */
alq_err alq_export_check_paths(const alq_export_options *o, const char *pool);

/* Writes the task files of `o`.  Input errors name the file and the column,
 * id or value (a payload column missing or named like a task field, an id
 * not in the pool); output errors name the file.  Prints a note on stderr
 * when the batch has re-label items and no state is given. */
alq_err alq_export_run(const alq_export_options *o, alq_export_result *result);

#endif
