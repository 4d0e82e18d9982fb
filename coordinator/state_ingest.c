/* coordinator/state_ingest.c: merging annotators' answers into the state, all
 * or nothing (alq_state_ingest in alq/state.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/state.h"
#include "state_answers.h"

/* An item sent out for labeling, and the round it went out in (0: the labeled
 * set the state started from). */
typedef struct {
  int64_t id, round;
} sent_item;

static int cmp_sent(const void *pa, const void *pb) {
  const sent_item *a = pa, *b = pb;
  return a->id < b->id ? -1 : a->id > b->id;
}

static alq_err collect_sent(const alq_state *st, sent_item **out, int64_t *n) {
  int64_t total = st->answers.n;
  for (int64_t r = 0; r < st->n_rounds; r++)
    total += st->rounds[r].n;
  sent_item *s = NULL;
  ALQ_CHECK(alq_malloc(&s, sizeof *s * (total ? total : 1), "sent items"));
  int64_t m = 0;
  for (int64_t i = 0; i < st->answers.n; i++)
    if (st->answers.rounds[i] == 0)
      s[m++] = (sent_item){st->answers.ids[i], 0};
  for (int64_t r = 0; r < st->n_rounds; r++)
    for (int64_t i = 0; i < st->rounds[r].n; i++)
      s[m++] = (sent_item){st->rounds[r].ids[i], st->rounds[r].round};
  qsort(s, (size_t)m, sizeof *s, cmp_sent);
  *out = s;
  *n = m;
  return ALQ_OK;
}

static int64_t annotator_index(const alq_state *st, const char *name) {
  for (int64_t k = 0; k < st->n_annotators; k++)
    if (strcmp(st->annotators[k], name) == 0)
      return k;
  return -1;
}

/* An earlier answer, sorted by (id, annotator): one annotator answers an item once. */
typedef struct {
  int64_t id;
  int32_t annotator, label;
  int64_t index; /* in st->answers */
} old_answer;

static int cmp_old(const void *pa, const void *pb) {
  const old_answer *a = pa, *b = pb;
  if (a->id != b->id)
    return a->id < b->id ? -1 : 1;
  return a->annotator < b->annotator ? -1 : a->annotator > b->annotator;
}

/* Incoming rows sorted by (id, annotator, line) to find duplicates; C11's
 * qsort has no context argument, so the rows being sorted are a file static. */
static const alq_answer_in *sort_rows;

static int cmp_rows(const void *pa, const void *pb) {
  const alq_answer_in *a = &sort_rows[*(const int64_t *)pa], *b = &sort_rows[*(const int64_t *)pb];
  if (a->id != b->id)
    return a->id < b->id ? -1 : 1;
  int c = strcmp(a->annotator, b->annotator);
  if (c)
    return c;
  return a->line < b->line ? -1 : a->line > b->line;
}

/* What to do with an incoming row. */
enum { ROW_SKIP = 0, ROW_APPEND = 1, ROW_REPLACE = 2 };

/* Every check, no change: marks in keep[] the rows to record (first of each
 * duplicate, and not already known): ROW_APPEND, or with `replace` ROW_REPLACE
 * for one that corrects the earlier answer replaces[i] of its annotator. */
static alq_err validate(const alq_state *st, const char *source, const alq_answer_in *in, int64_t n,
                        const sent_item *sent, int64_t n_sent, int replace, unsigned char *keep,
                        int64_t *replaces) {
  int64_t classes = st->pool.n_classes;
  for (int64_t i = 0; i < n; i++) {
    sent_item key = {in[i].id, 0};
    if (!bsearch(&key, sent, (size_t)n_sent, sizeof *sent, cmp_sent))
      return alq_error_set(ALQ_ERR_INPUT,
                           "%s line %lld: id %lld was never sent out for labeling (in no round of the state)", source,
                           (long long)in[i].line, (long long)in[i].id);
    if (in[i].label < 0 || (classes > 0 && in[i].label >= classes))
      return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: label %d for id %lld is outside [0, %lld)", source,
                           (long long)in[i].line, in[i].label, (long long)in[i].id, (long long)classes);
    keep[i] = ROW_APPEND;
  }
  int64_t *order = NULL;
  ALQ_CHECK(alq_malloc(&order, sizeof *order * (n ? n : 1), "answer order"));
  for (int64_t i = 0; i < n; i++)
    order[i] = i;
  sort_rows = in;
  qsort(order, (size_t)n, sizeof *order, cmp_rows);
  alq_err err = ALQ_OK;
  for (int64_t k = 1; !err && k < n; k++) {
    const alq_answer_in *a = &in[order[k - 1]], *b = &in[order[k]];
    if (a->id != b->id || strcmp(a->annotator, b->annotator) != 0)
      continue;
    if (a->label != b->label)
      err = alq_error_set(ALQ_ERR_INPUT,
                          "%s lines %lld and %lld: conflicting labels %d and %d for id %lld by annotator '%s'", source,
                          (long long)a->line, (long long)b->line, a->label, b->label, (long long)a->id, a->annotator);
    keep[order[k]] = ROW_SKIP;
  }
  free(order);
  /* Against earlier answers of the same annotator. */
  old_answer *old = NULL;
  int64_t n_old = st->answers.n;
  if (!err)
    err = alq_malloc(&old, sizeof *old * (n_old ? n_old : 1), "earlier answers");
  for (int64_t j = 0; !err && j < n_old; j++)
    old[j] = (old_answer){st->answers.ids[j], st->answers.annotators[j], st->answers.labels[j], j};
  if (!err)
    qsort(old, (size_t)n_old, sizeof *old, cmp_old);
  for (int64_t i = 0; !err && i < n; i++) {
    if (!keep[i])
      continue;
    old_answer key = {in[i].id, (int32_t)annotator_index(st, in[i].annotator), 0, 0};
    const old_answer *o = key.annotator < 0 ? NULL : bsearch(&key, old, (size_t)n_old, sizeof *old, cmp_old);
    if (o && o->label != in[i].label && !replace)
      err = alq_error_set(ALQ_ERR_INPUT,
                          "%s line %lld: label %d for id %lld by annotator '%s' conflicts with the label %d it gave "
                          "before (alq ingest --replace corrects it)",
                          source, (long long)in[i].line, in[i].label, (long long)in[i].id, in[i].annotator, o->label);
    if (o && o->label != in[i].label) {
      keep[i] = ROW_REPLACE;
      replaces[i] = o->index;
    } else if (o) {
      keep[i] = ROW_SKIP; /* the same answer again */
    }
  }
  free(old);
  return err;
}

/* Appends the kept rows in file order, adding new annotator names; a
 * correction takes the place of the answer it replaces. */
static alq_err record(alq_state *st, const alq_answer_in *in, int64_t n, const unsigned char *keep,
                      const int64_t *replaces, const sent_item *sent, int64_t n_sent, int64_t now,
                      alq_ingest_counts *counts) {
  int64_t n_new = 0;
  for (int64_t i = 0; i < n; i++)
    n_new += keep[i] == ROW_APPEND;
  alq_answers *a = &st->answers;
  /* Grow everything before the first change, so a failure changes nothing. */
  ALQ_CHECK(alq_answers_reserve(a, a->n + n_new));
  void *p;
  if (!(p = realloc(st->annotators, (size_t)(st->n_annotators + n_new + 1) * sizeof *st->annotators)))
    return alq_error_set(ALQ_ERR_MEMORY, "out of memory for annotator names");
  st->annotators = p;
  for (int64_t i = 0; i < n; i++) {
    if (keep[i] == ROW_REPLACE) {
      a->labels[replaces[i]] = in[i].label;
      a->received_at[replaces[i]] = now;
      counts->replaced++;
    }
    if (keep[i] != ROW_APPEND)
      continue;
    int64_t k = annotator_index(st, in[i].annotator);
    if (k < 0) {
      k = st->n_annotators++;
      memset(st->annotators[k], 0, ALQ_ANNOTATOR_MAX);
      snprintf(st->annotators[k], ALQ_ANNOTATOR_MAX, "%s", in[i].annotator);
    }
    sent_item key = {in[i].id, 0};
    const sent_item *s = bsearch(&key, sent, (size_t)n_sent, sizeof *sent, cmp_sent);
    a->ids[a->n] = in[i].id;
    a->labels[a->n] = in[i].label;
    a->annotators[a->n] = (int32_t)k;
    a->rounds[a->n] = s->round;
    a->received_at[a->n] = now;
    a->n++;
    counts->added++;
  }
  return ALQ_OK;
}

alq_err alq_state_ingest(alq_state *st, const char *source, const alq_answer_in *answers, int64_t n,
                         int64_t now, int replace, alq_ingest_counts *counts) {
  memset(counts, 0, sizeof *counts);
  sent_item *sent = NULL;
  int64_t n_sent = 0, *replaces = NULL;
  unsigned char *keep = NULL;
  ALQ_CHECK(collect_sent(st, &sent, &n_sent));
  alq_err err = alq_calloc(&keep, (size_t)(n ? n : 1), 1, "answer flags");
  if (!err)
    err = alq_calloc(&replaces, (size_t)(n ? n : 1), sizeof *replaces, "replaced answers");
  if (!err)
    err = validate(st, source, answers, n, sent, n_sent, replace, keep, replaces);
  if (!err)
    err = record(st, answers, n, keep, replaces, sent, n_sent, now, counts);
  free(replaces);
  free(keep);
  free(sent);
  return err;
}
