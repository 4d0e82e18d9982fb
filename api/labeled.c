/* api/labeled.c: a labeled set given as arrays, checked as a /labeled group is. */
#include <stdlib.h>
#include <string.h>

#include "api_impl.h"

typedef struct {
  int64_t id;
  int32_t label;
  int64_t row;
} labeled_item;

static int by_id_then_row(const void *pa, const void *pb) {
  const labeled_item *a = pa, *b = pb;
  if (a->id != b->id)
    return a->id < b->id ? -1 : 1;
  return a->row < b->row ? -1 : a->row > b->row;
}

static alq_err check_and_sort(const char *name, const alq_api_labeled *in, int64_t n_classes, labeled_item *items,
                              alq_labeled *out) {
  int64_t n = in->n;
  for (int64_t i = 0; i < n; i++) {
    int32_t label = in->labels[i];
    if (label < 0 || (n_classes > 0 && label >= n_classes))
      return alq_error_set(ALQ_ERR_INPUT, "%s: labeled_labels row %lld (id %lld) is %d, outside [0, %lld)", name,
                           (long long)i, (long long)in->ids[i], label, (long long)n_classes);
    items[i] = (labeled_item){in->ids[i], label, i};
  }
  qsort(items, n, sizeof *items, by_id_then_row);
  for (int64_t i = 0; i < n; i++) {
    if (i > 0 && items[i].id == items[i - 1].id)
      return alq_error_set(ALQ_ERR_INPUT, "%s: labeled_ids holds id %lld twice (rows %lld and %lld)", name,
                           (long long)items[i].id, (long long)items[i - 1].row, (long long)items[i].row);
    out->ids[i] = items[i].id;
    out->labels[i] = items[i].label;
  }
  return ALQ_OK;
}

alq_err alq_api_labeled_copy(const char *name, const alq_api_labeled *in, int64_t n_classes, alq_labeled *out) {
  memset(out, 0, sizeof *out);
  int64_t n = in ? in->n : 0;
  if (n < 0 || (n > 0 && (!in->ids || !in->labels)))
    return alq_error_set(ALQ_ERR_USAGE, "%s: the labeled set has %lld items but %s", name, (long long)n,
                         n < 0 ? "a count cannot be negative" : "no ids or labels array");
  labeled_item *items = NULL;
  ALQ_CHECK(alq_malloc(&out->ids, sizeof *out->ids * (n ? n : 1), "labeled ids"));
  alq_err err = alq_malloc(&out->labels, sizeof *out->labels * (n ? n : 1), "labeled labels");
  if (!err)
    err = alq_malloc(&items, sizeof *items * (n ? n : 1), "labeled items");
  if (!err)
    err = check_and_sort(name, in, n_classes, items, out);
  free(items);
  if (err)
    alq_labeled_free(out);
  else
    out->n = n;
  return err;
}
