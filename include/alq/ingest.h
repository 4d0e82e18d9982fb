/* alq/ingest.h: `alq ingest` as a call: annotators' answers (CSV, TSV, JSON
 * Lines or a Label Studio export, alq/labels.h) into the round state
 * (alq/state.h), all or nothing.
 *
 * The state's lock (alq/state_lock.h) is held from the read to the rename,
 * so a concurrent ingest or selection waits and no update is lost.  Label
 * names are the pool's /classes: the options' pool, else the pool the state
 * records when that file is there.  A file with nothing new leaves the state
 * untouched.  `alq ingest` is a thin CLI over this module.
 */
#ifndef ALQ_INGEST_H
#define ALQ_INGEST_H
#include "alq/error.h"
#include "alq/labels.h"
#include "alq/pool.h"

typedef struct {
  char state[ALQ_PATH_MAX];             /* the round state, read and replaced */
  char labels[ALQ_PATH_MAX];            /* the answers file */
  char pool[ALQ_PATH_MAX];              /* "" = the pool the state records (for class names) */
  char annotator[ALQ_ANNOTATOR_MAX];    /* who answered, for rows that do not say ("anonymous" in the CLI) */
  char choices_name[256];               /* Label Studio: the Choices tag to read; "" = the only one */
  alq_answers_format format;            /* ALQ_ANSWERS_AUTO: by the content */
  int replace;                          /* 1: an answer contradicting the same annotator's earlier one corrects it */
  int quiet;                            /* no summary line on stderr */
} alq_ingest_options;

/* Adds the answers of o->labels to o->state (alq_state_ingest: its errors name
 * the file and line, and leave the state unchanged).  Unless o->quiet, prints
 * one line on stderr: answers added, corrected, repeated, without a label and
 * cancelled, and the items labeled and pending after. */
alq_err alq_ingest_run(const alq_ingest_options *o);

#endif
