/* pool/labeled_draw.c: the stratified initial labeled set (alq gen, alq import).
 *
 * Deterministic: the allocation is integer arithmetic on class counts and the
 * draw within a class keeps the items with the smallest hash keys, so the set
 * depends only on (labels, ids, seed), never on row order.
 */
#include <stdlib.h>

#include "alq/hash.h"
#include "alq/pool.h"

/* n_labeled * count can exceed 2^64 for huge pools: the allocation multiplies
 * in 128 bits (a GCC/Clang extension on every 64-bit target alq supports). */
__extension__ typedef unsigned __int128 uint128;

typedef struct {
  uint64_t key;
  int64_t id;
} draw_entry;

typedef struct {
  int64_t id;
  int32_t label;
} labeled_entry;

typedef struct {
  int64_t remainder; /* (n_labeled * count) mod n_known: the fractional part, scaled */
  int64_t cls;
} class_remainder;

/* Larger remainder first, then the lower class. */
static int by_remainder(const void *a, const void *b) {
  const class_remainder *x = a, *y = b;
  if (x->remainder != y->remainder)
    return x->remainder > y->remainder ? -1 : 1;
  return (x->cls > y->cls) - (x->cls < y->cls);
}

static int by_id(const void *a, const void *b) {
  const labeled_entry *x = a, *y = b;
  return (x->id > y->id) - (x->id < y->id);
}

/* Order of draw_entry: the key, then the id (a total order: no tie is left to
 * the row order). */
static int entry_before(draw_entry a, draw_entry b) {
  return a.key < b.key || (a.key == b.key && a.id < b.id);
}

/* Restores the max-heap property below `at`: the root is the entry that the
 * next better candidate replaces. */
static void sift_down(draw_entry *heap, int64_t size, int64_t at) {
  for (;;) {
    int64_t largest = at, left = 2 * at + 1, right = left + 1;
    if (left < size && entry_before(heap[largest], heap[left]))
      largest = left;
    if (right < size && entry_before(heap[largest], heap[right]))
      largest = right;
    if (largest == at)
      return;
    draw_entry tmp = heap[at];
    heap[at] = heap[largest];
    heap[largest] = tmp;
    at = largest;
  }
}

static void sift_up(draw_entry *heap, int64_t at) {
  while (at > 0) {
    int64_t parent = (at - 1) / 2;
    if (!entry_before(heap[parent], heap[at]))
      return;
    draw_entry tmp = heap[at];
    heap[at] = heap[parent];
    heap[parent] = tmp;
    at = parent;
  }
}

/* quota[k] for each class: largest-remainder proportional allocation, then one
 * for every non-empty class left without, taken from the largest quota. */
static alq_err allocate(const int64_t *counts, int64_t n_classes, int64_t n_known,
                        int64_t n_labeled, int64_t *quota) {
  class_remainder *order;
  ALQ_CHECK(alq_malloc(&order, sizeof *order * (size_t)n_classes, "labeled draw allocation"));
  int64_t assigned = 0, nonempty = 0;
  for (int64_t k = 0; k < n_classes; k++) {
    uint128 share = (uint128)n_labeled * (uint64_t)counts[k];
    quota[k] = (int64_t)(share / (uint64_t)n_known);
    order[k] = (class_remainder){(int64_t)(share % (uint64_t)n_known), k};
    assigned += quota[k];
    nonempty += counts[k] > 0;
  }
  qsort(order, (size_t)n_classes, sizeof *order, by_remainder);
  for (int64_t r = 0; r < n_labeled - assigned; r++)
    quota[order[r].cls]++;
  free(order);

  if (n_labeled < nonempty)
    return ALQ_OK;
  /* Some class has quota >= 2 whenever a non-empty class has 0 and
   * n_labeled >= nonempty (pigeonhole), so the donor keeps at least one. */
  for (int64_t k = 0; k < n_classes; k++) {
    if (counts[k] == 0 || quota[k] > 0)
      continue;
    int64_t donor = 0;
    for (int64_t j = 1; j < n_classes; j++)
      if (quota[j] > quota[donor])
        donor = j;
    quota[donor]--;
    quota[k] = 1;
  }
  return ALQ_OK;
}

/* Keeps, per class, the quota[k] items with the smallest (key, id) in a
 * bounded max-heap: memory is O(n_labeled), not O(n). */
static void draw(const int32_t *labels, const int64_t *ids, int64_t n, uint64_t seed,
                 const int64_t *quota, const int64_t *offset, int64_t *fill, draw_entry *heaps) {
  for (int64_t i = 0; i < n; i++) {
    int32_t k = labels[i];
    if (k < 0 || quota[k] == 0)
      continue;
    int64_t id = ids ? ids[i] : i;
    draw_entry e = {alq_hash3(seed, (uint64_t)id, ALQ_PURPOSE_LABELED_DRAW), id};
    draw_entry *heap = heaps + offset[k];
    if (fill[k] < quota[k]) {
      heap[fill[k]] = e;
      sift_up(heap, fill[k]++);
    } else if (entry_before(e, heap[0])) {
      heap[0] = e;
      sift_down(heap, quota[k], 0);
    }
  }
}

alq_err alq_labeled_draw_stratified(const int32_t *labels, const int64_t *ids, int64_t n,
                                    int64_t n_classes, int64_t n_labeled, uint64_t seed,
                                    alq_labeled *out) {
  *out = (alq_labeled){0, NULL, NULL};
  if (n_classes < 1)
    return alq_error_set(ALQ_ERR_INTERNAL, "labeled draw: %lld classes", (long long)n_classes);
  int64_t *counts;
  ALQ_CHECK(alq_calloc(&counts, (size_t)n_classes * 4, sizeof *counts, "labeled draw counts"));
  int64_t *quota = counts + n_classes, *offset = quota + n_classes, *fill = offset + n_classes;
  int64_t n_known = 0;
  for (int64_t i = 0; i < n; i++) {
    if (labels[i] < -1 || labels[i] >= n_classes) {
      free(counts);
      return alq_error_set(ALQ_ERR_INPUT, "labeled draw: label %d of id %lld is outside [-1, %lld)",
                           labels[i], (long long)(ids ? ids[i] : i), (long long)n_classes);
    }
    if (labels[i] >= 0) {
      counts[labels[i]]++;
      n_known++;
    }
  }
  if (n_labeled < 0 || n_labeled > n_known) {
    free(counts);
    return alq_error_set(ALQ_ERR_USAGE,
                         "cannot draw %lld labeled items from %lld items with a known label",
                         (long long)n_labeled, (long long)n_known);
  }
  if (n_labeled == 0) {
    free(counts);
    return ALQ_OK;
  }

  alq_err err = allocate(counts, n_classes, n_known, n_labeled, quota);
  draw_entry *heaps = NULL;
  labeled_entry *drawn = NULL;
  if (!err)
    err = alq_malloc(&heaps, sizeof *heaps * (size_t)n_labeled, "labeled draw heaps");
  if (!err)
    err = alq_malloc(&drawn, sizeof *drawn * (size_t)n_labeled, "labeled draw result");
  if (!err)
    err = alq_malloc(&out->ids, sizeof *out->ids * (size_t)n_labeled, "labeled ids");
  if (!err)
    err = alq_malloc(&out->labels, sizeof *out->labels * (size_t)n_labeled, "labeled labels");
  if (!err) {
    for (int64_t k = 1; k < n_classes; k++)
      offset[k] = offset[k - 1] + quota[k - 1];
    draw(labels, ids, n, seed, quota, offset, fill, heaps);
    for (int64_t k = 0; k < n_classes; k++)
      for (int64_t r = 0; r < quota[k]; r++)
        drawn[offset[k] + r] = (labeled_entry){heaps[offset[k] + r].id, (int32_t)k};
    qsort(drawn, (size_t)n_labeled, sizeof *drawn, by_id);
    for (int64_t r = 0; r < n_labeled && !err; r++) {
      if (r > 0 && drawn[r].id == drawn[r - 1].id)
        err = alq_error_set(ALQ_ERR_INPUT, "labeled draw: id %lld occurs twice in the pool",
                            (long long)drawn[r].id);
      out->ids[r] = drawn[r].id;
      out->labels[r] = drawn[r].label;
    }
    out->n = n_labeled;
  }
  free(counts);
  free(heaps);
  free(drawn);
  if (err) {
    free(out->ids);
    free(out->labels);
    *out = (alq_labeled){0, NULL, NULL};
  }
  return err;
}
