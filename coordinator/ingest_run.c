/* coordinator/ingest_run.c: `alq ingest` (alq/ingest.h): annotators' answers
 * into the round state, all or nothing, under the state's lock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alq/ingest.h"
#include "alq/state.h"
#include "alq/state_lock.h"

/* The pool's class names: --pool's, else those of the pool the state
 * records when that file is there (a generated or moved pool has none). */
static alq_err class_names(const alq_ingest_options *o, const alq_state *st, alq_class_names *out) {
  const char *pool = o->pool[0] ? o->pool : st->pool.path;
  memset(out, 0, sizeof *out);
  if (!o->pool[0] && (strncmp(pool, "gen:", 4) == 0 || !alq_state_exists(pool)))
    return ALQ_OK;
  return alq_class_names_read(pool, st->pool.n_classes, out);
}

static alq_err ingest_locked(const alq_ingest_options *o) {
  alq_state st;
  ALQ_CHECK(alq_state_read(o->state, &st));
  alq_answer_list answers = {0};
  alq_class_names classes = {0};
  alq_ingest_counts counts = {0};
  alq_err err = class_names(o, &st, &classes);
  const alq_answers_options format = {.format = o->format,
                                      .default_annotator = o->annotator,
                                      .classes = &classes,
                                      .choices_name = o->choices_name[0] ? o->choices_name : NULL};
  if (!err)
    err = alq_answers_read(o->labels, &format, &answers);
  if (!err) {
    err = alq_state_ingest(&st, o->labels, answers.rows, answers.n, (int64_t)time(NULL), o->replace, &counts);
    /* Nothing new: leave the file alone rather than rewrite it identically. */
    if (!err && counts.added + counts.replaced > 0)
      err = alq_state_write(o->state, &st);
  }
  alq_labeled labeled = {0};
  int64_t *pending = NULL, n_pending = 0;
  if (!err && !o->quiet)
    err = alq_state_labeled(&st, &labeled);
  if (!err && !o->quiet)
    err = alq_state_pending(&st, &pending, &n_pending);
  if (!err && !o->quiet)
    fprintf(stderr,
            "alq: ingested %lld answer(s) from %s, corrected %lld (%lld repeat(s) of known answers, %lld task(s) "
            "without a label, %lld cancelled): %lld item(s) labeled, %lld pending\n",
            (long long)counts.added, o->labels, (long long)counts.replaced,
            (long long)(answers.n - counts.added - counts.replaced), (long long)answers.skipped,
            (long long)answers.cancelled, (long long)labeled.n, (long long)n_pending);
  alq_labeled_free(&labeled);
  free(pending);
  alq_state_free(&st); /* zeroed when the read failed */
  alq_answer_list_free(&answers);
  alq_class_names_free(&classes);
  return err;
}

/* Held from the read to the rename: a concurrent ingest waits, so no
 * update is lost (alq/state_lock.h). */
alq_err alq_ingest_run(const alq_ingest_options *o) {
  if (!alq_state_exists(o->state))
    return ingest_locked(o); /* fails on the read, naming the file: no lock for a state that is not there */
  alq_state_lock lock;
  ALQ_CHECK(alq_state_lock_take(o->state, o->quiet, &lock));
  alq_err err = ingest_locked(o);
  alq_state_lock_release(&lock);
  return err;
}
