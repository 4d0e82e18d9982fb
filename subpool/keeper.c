/* subpool/keeper.c: the retrieval's per-anchor keeper (subpool/keeper.h). */
#include "keeper.h"

#include <stdlib.h>
#include <string.h>

/* alq's order on records: higher score first, equal scores lower id first
 * (alq_scored_before, on the float similarity). */
static int before(const keeper_rec *a, const keeper_rec *b) {
  return a->score > b->score || (a->score == b->score && a->id < b->id);
}

static void swap(keeper_rec *a, keeper_rec *b) {
  keeper_rec t = *a;
  *a = *b;
  *b = t;
}

static int cmp_rec(const void *pa, const void *pb) {
  const keeper_rec *a = pa, *b = pb;
  return before(a, b) ? -1 : before(b, a) ? 1 : 0;
}

/* Rearranges r[0, n) so that r[0, k) holds its first k records in alq's order
 * (in no particular order among themselves) and r[k - 1] the k-th: Hoare
 * quickselect with a median-of-three pivot, the order being total (ids are
 * unique).  A range that keeps shrinking slowly is sorted instead, so a
 * pathological input costs O(n log n), not O(n^2). */
static void select_first(keeper_rec *r, int64_t n, int64_t k) {
  int64_t lo = 0, hi = n - 1, budget = 64;
  while (hi > lo) {
    if (--budget == 0) {
      qsort(r + lo, (size_t)(hi - lo + 1), sizeof *r, cmp_rec);
      return;
    }
    int64_t mid = lo + (hi - lo) / 2;
    if (before(&r[mid], &r[lo]))
      swap(&r[mid], &r[lo]);
    if (before(&r[hi], &r[lo]))
      swap(&r[hi], &r[lo]);
    if (before(&r[hi], &r[mid]))
      swap(&r[hi], &r[mid]);
    keeper_rec pivot = r[mid];
    int64_t i = lo, j = hi;
    while (i <= j) {
      while (before(&r[i], &pivot))
        i++;
      while (before(&pivot, &r[j]))
        j--;
      if (i <= j) {
        swap(&r[i], &r[j]);
        i++;
        j--;
      }
    }
    /* [lo, j] before-or-equal the pivot, [i, hi] after-or-equal, (j, i) the pivot */
    if (k - 1 <= j)
      hi = j;
    else if (k - 1 >= i)
      lo = i;
    else
      return;
  }
}

alq_err keeper_init(keeper *kp, int64_t k, int64_t payload_bytes) {
  memset(kp, 0, sizeof *kp);
  if (k > INT32_MAX / KEEPER_SLACK)
    return alq_error_set(ALQ_ERR_USAGE, "%lld neighbors per anchor exceed the retrieval's limit of %d",
                         (long long)k, INT32_MAX / KEEPER_SLACK);
  kp->k = k;
  kp->cap = KEEPER_SLACK * k;
  kp->payload_bytes = payload_bytes;
  kp->floor = -INFINITY;
  kp->floor_id = INT64_MAX;
  int64_t cap1 = kp->cap ? kp->cap : 1;
  ALQ_CHECK(alq_malloc(&kp->rec, sizeof *kp->rec * cap1, "anchor candidate buffer"));
  for (int64_t i = 0; i < kp->cap; i++)
    kp->rec[i].slot = (int32_t)i;
  if (payload_bytes)
    ALQ_CHECK(alq_malloc_aligned(&kp->payload, (size_t)payload_bytes * cap1, "anchor candidate rows"));
  return ALQ_OK;
}

void keeper_free(keeper *kp) {
  free(kp->rec);
  free(kp->payload);
  memset(kp, 0, sizeof *kp);
}

void keeper_compact(keeper *kp) {
  select_first(kp->rec, kp->n, kp->k);
  kp->n = kp->k;
  const keeper_rec *kth = &kp->rec[kp->k - 1];
  kp->floor = kth->score;
  kp->floor_id = kth->id;
}

void keeper_finish(keeper *kp) {
  if (kp->n > kp->k)
    keeper_compact(kp);
  qsort(kp->rec, (size_t)kp->n, sizeof *kp->rec, cmp_rec);
}
