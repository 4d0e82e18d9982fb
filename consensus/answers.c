/* consensus/answers.c: answers grouped by item, from a round state, a labeled
 * set, or one at a time (alq simulate's annotators). */
#include <stdlib.h>
#include <string.h>

#include "alq/consensus.h"
#include "alq/sorted_ids.h"

void alq_answer_table_free(alq_answer_table *t) {
  free(t->ids);
  free(t->offsets);
  free(t->labels);
  free(t->annotators);
  memset(t, 0, sizeof *t);
}

/* Answers in (id, arrival) order, for grouping. */
typedef struct {
  int64_t id, order;
  int32_t label, annotator;
} answer;

static int by_id_then_order(const void *a, const void *b) {
  const answer *x = a, *y = b;
  if (x->id != y->id)
    return x->id < y->id ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* Builds the table from answers sorted by id then order, keeping an
 * annotator's first answer to an item; annotators are numbered by first
 * appearance in `remap` (n_remap entries, -1 = not seen yet). */
static alq_err group(const answer *a, int64_t n, int32_t *remap, int64_t n_remap, alq_answer_table *t, int32_t **names) {
  memset(t, 0, sizeof *t);
  alq_err err = alq_malloc(&t->ids, sizeof(int64_t) * (n ? n : 1), "answer ids");
  if (!err)
    err = alq_malloc(&t->offsets, sizeof(int64_t) * (n + 1), "answer offsets");
  if (!err)
    err = alq_malloc(&t->labels, sizeof(int32_t) * (n ? n : 1), "answer labels");
  if (!err)
    err = alq_malloc(&t->annotators, sizeof(int32_t) * (n ? n : 1), "answer annotators");
  int32_t *inverse = NULL;
  if (!err)
    err = alq_malloc(&inverse, sizeof(int32_t) * (n_remap ? n_remap : 1), "annotator names");
  if (err) {
    alq_answer_table_free(t);
    free(inverse);
    return err;
  }
  int64_t m = 0;
  for (int64_t i = 0; i < n; i++) {
    if (i == 0 || a[i].id != a[i - 1].id) {
      t->ids[t->n_items] = a[i].id;
      t->offsets[t->n_items++] = m;
    }
    int repeat = 0;
    for (int64_t j = t->offsets[t->n_items - 1]; j < m && !repeat; j++)
      repeat = t->annotators[j] == remap[a[i].annotator];
    if (repeat && remap[a[i].annotator] >= 0)
      continue;
    if (remap[a[i].annotator] < 0) {
      inverse[t->n_annotators] = a[i].annotator;
      remap[a[i].annotator] = (int32_t)t->n_annotators++;
    }
    t->labels[m] = a[i].label;
    t->annotators[m++] = remap[a[i].annotator];
  }
  t->offsets[t->n_items] = m;
  if (names)
    *names = inverse;
  else
    free(inverse);
  return ALQ_OK;
}

alq_err alq_answer_table_from_state(const alq_state *st, alq_answer_table *t, int32_t **names) {
  const alq_answers *in = &st->answers;
  answer *a = NULL;
  int32_t *remap = NULL;
  alq_err err = alq_malloc(&a, sizeof *a * (in->n ? in->n : 1), "answers");
  if (!err)
    err = alq_malloc(&remap, sizeof(int32_t) * (st->n_annotators ? st->n_annotators : 1), "annotator map");
  for (int64_t i = 0; !err && i < in->n; i++) {
    if (in->annotators[i] < 0 || in->annotators[i] >= st->n_annotators)
      err = alq_error_set(ALQ_ERR_INPUT, "state answer %lld names annotator %d of %lld", (long long)i,
                          in->annotators[i], (long long)st->n_annotators);
    a[i] = (answer){in->ids[i], i, in->labels[i], in->annotators[i]};
  }
  if (!err) {
    for (int64_t k = 0; k < st->n_annotators; k++)
      remap[k] = -1;
    qsort(a, (size_t)in->n, sizeof *a, by_id_then_order);
    err = group(a, in->n, remap, st->n_annotators, t, names);
  }
  free(a);
  free(remap);
  return err;
}

alq_err alq_answer_table_read_state(const char *path, alq_answer_table *t) {
  alq_state st;
  ALQ_CHECK(alq_state_read(path, &st));
  alq_err err = alq_answer_table_from_state(&st, t, NULL);
  alq_state_free(&st);
  return err;
}

alq_err alq_answer_table_from_labeled(const alq_labeled *labeled, alq_answer_table *t) {
  memset(t, 0, sizeof *t);
  int64_t n = labeled->n;
  alq_err err = alq_malloc(&t->ids, sizeof(int64_t) * (n ? n : 1), "answer ids");
  if (!err)
    err = alq_malloc(&t->offsets, sizeof(int64_t) * (n + 1), "answer offsets");
  if (!err)
    err = alq_malloc(&t->labels, sizeof(int32_t) * (n ? n : 1), "answer labels");
  if (!err)
    err = alq_calloc(&t->annotators, n ? n : 1, sizeof(int32_t), "answer annotators");
  if (err) {
    alq_answer_table_free(t);
    return err;
  }
  for (int64_t i = 0; i <= n; i++)
    t->offsets[i] = i;
  memcpy(t->ids, labeled->ids, sizeof(int64_t) * n);
  memcpy(t->labels, labeled->labels, sizeof(int32_t) * n);
  t->n_items = n;
  t->n_annotators = n > 0;
  return ALQ_OK;
}

/* Position of `id` among the table's items (binary search), or where it goes. */
static int64_t lower_bound(const alq_answer_table *t, int64_t id) {
  return alq_ids_lower_bound(t->ids, t->n_items, id);
}

static alq_err grow(void **p, size_t bytes, const char *what) {
  void *q = realloc(*p, bytes ? bytes : 1);
  if (!q)
    return alq_error_set(ALQ_ERR_MEMORY, "cannot grow the %s to %zu bytes", what, bytes);
  *p = q;
  return ALQ_OK;
}

alq_err alq_answer_table_add(alq_answer_table *t, int64_t id, int32_t label, int32_t annotator) {
  int64_t at = lower_bound(t, id), m = t->n_items ? t->offsets[t->n_items] : 0;
  int is_new = at == t->n_items || t->ids[at] != id;
  if (!is_new)
    for (int64_t j = t->offsets[at]; j < t->offsets[at + 1]; j++)
      if (t->annotators[j] == annotator)
        return alq_error_set(ALQ_ERR_USAGE, "annotator %d already answered item %lld", annotator, (long long)id);
  int64_t items = t->n_items + is_new;
  ALQ_CHECK(grow((void **)&t->ids, sizeof(int64_t) * items, "answer ids"));
  ALQ_CHECK(grow((void **)&t->offsets, sizeof(int64_t) * (items + 1), "answer offsets"));
  ALQ_CHECK(grow((void **)&t->labels, sizeof(int32_t) * (m + 1), "answer labels"));
  ALQ_CHECK(grow((void **)&t->annotators, sizeof(int32_t) * (m + 1), "answer annotators"));
  if (t->n_items == 0)
    t->offsets[0] = 0;
  if (is_new) {
    memmove(t->ids + at + 1, t->ids + at, sizeof(int64_t) * (t->n_items - at));
    memmove(t->offsets + at + 1, t->offsets + at, sizeof(int64_t) * (t->n_items + 1 - at));
    t->ids[at] = id;
    t->n_items++;
  }
  /* The new answer goes at the end of item `at`'s run; later runs shift by one. */
  int64_t pos = t->offsets[at + 1];
  memmove(t->labels + pos + 1, t->labels + pos, sizeof(int32_t) * (m - pos));
  memmove(t->annotators + pos + 1, t->annotators + pos, sizeof(int32_t) * (m - pos));
  t->labels[pos] = label;
  t->annotators[pos] = annotator;
  for (int64_t i = at + 1; i <= t->n_items; i++)
    t->offsets[i]++;
  if (annotator >= t->n_annotators)
    t->n_annotators = annotator + 1;
  return ALQ_OK;
}
