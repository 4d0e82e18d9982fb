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

alq_err keeper_init(keeper *kp, int64_t k, int64_t payload_bytes, uint32_t *keys) {
  memset(kp, 0, sizeof *kp);
  kp->keys = keys;
  if (k > INT32_MAX / KEEPER_SLACK)
    return alq_error_set(ALQ_ERR_USAGE, "%lld neighbors per anchor exceed the retrieval's limit of %d",
                         (long long)k, INT32_MAX / KEEPER_SLACK);
  kp->k = k;
  kp->cap = KEEPER_SLACK * k;
  kp->payload_bytes = payload_bytes;
  kp->floor = -INFINITY;
  kp->floor_id = INT64_MAX;
  kp->share_floor = -INFINITY;
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

/* The score as an unsigned key in the same order: larger score, larger key;
 * -0 is +0 (they compare equal as floats).  Records hold no NaN (a NaN is
 * never admitted: keeper_admits). */
static inline uint32_t key_of(float score) {
  uint32_t b;
  memcpy(&b, &score, sizeof b);
  b = b == 0x80000000u ? 0 : b;
  return b & 0x80000000u ? ~b : b | 0x80000000u;
}

/* The score of a key (key_of's inverse, -0 as +0). */
static inline float score_of_key(uint32_t key) {
  uint32_t b = key & 0x80000000u ? key & 0x7fffffffu : ~key;
  float s;
  memcpy(&s, &b, sizeof s);
  return s;
}

/* The k-th largest of a[0, n) (1 <= k <= n; a is reordered): quickselect
 * with a median-of-three pivot and branch-free partitions (keys greater than
 * the pivot first, then those equal to it), insertion sort for short ranges. */
static uint32_t kth_largest_key(uint32_t *a, int64_t n, int64_t k) {
  int64_t lo = 0, hi = n, t = k - 1; /* the answer is a[t] of a descending order */
  while (hi - lo > 16) {
    uint32_t x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi - 1];
    uint32_t p = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
    int64_t j = lo;
    for (int64_t i = lo; i < hi; i++) {
      uint32_t v = a[i];
      int c = v > p;
      a[i] = a[j];
      a[j] = v;
      j += c;
    }
    if (t < j) {
      hi = j;
      continue;
    }
    int64_t e = j;
    for (int64_t i = j; i < hi; i++) {
      uint32_t v = a[i];
      int c = v == p;
      a[i] = a[e];
      a[e] = v;
      e += c;
    }
    if (t < e)
      return p;
    lo = e;
  }
  for (int64_t i = lo + 1; i < hi; i++) {
    uint32_t v = a[i];
    int64_t j = i;
    for (; j > lo && a[j - 1] < v; j--)
      a[j] = a[j - 1];
    a[j] = v;
  }
  return a[t];
}

/* Keeps the best k in [0, k): the k-th largest key T by selection on a copy
 * of the keys; then one pass moves the records at or above T forward (a
 * copy to the write position, whether kept or not: no branch) and lists the
 * slots of the others in the keys' place; if more than k reach T, equal
 * scores go by id (alq's order: the lowest ids are kept).  The listed slots
 * go to the free records behind the k kept. */
void keeper_compact(keeper *kp) {
  keeper_rec *r = kp->rec;
  const int64_t n = kp->n, k = kp->k;
  uint32_t *free_slot = kp->keys;
  for (int64_t i = 0; i < n; i++)
    kp->keys[i] = key_of(r[i].score);
  const uint32_t t = kth_largest_key(kp->keys, n, k);
  /* keys[0, k) are now the best k keys (quickselect leaves them in front) */
  if (kp->k_share > 0 && kp->k_share < k) {
    float q = score_of_key(kth_largest_key(kp->keys, k, kp->k_share));
    kp->share_floor = q > kp->share_floor ? q : kp->share_floor;
  } else if (kp->k_share >= k)
    kp->share_floor = score_of_key(t);
  int64_t m = 0, f = 0, last = 0, last_id = INT64_MIN; /* the record at T with the largest id (when m == k) */
  for (int64_t i = 0; i < n; i++) {
    keeper_rec x = r[i];
    uint32_t key = key_of(x.score);
    int keep = key >= t;
    r[m] = x;
    free_slot[f] = (uint32_t)x.slot;
    if (key == t && x.id > last_id) { /* rare: predicted */
      last_id = x.id;
      last = m;
    }
    m += keep;
    f += !keep;
  }
  if (m > k) { /* more than one record at T: the records above T first, then those at T by id */
    int64_t above = 0;
    for (int64_t i = 0; i < m; i++)
      if (key_of(r[i].score) > t) {
        keeper_rec x = r[i];
        r[i] = r[above];
        r[above++] = x;
      }
    select_first(r + above, m - above, k - above);
    for (int64_t i = k; i < m; i++)
      free_slot[f++] = (uint32_t)r[i].slot;
    last = above;
    for (int64_t i = above + 1; i < k; i++)
      last = r[i].id > r[last].id ? i : last;
  }
  for (int64_t q = 0; q < f; q++) /* f = n - k */
    r[k + q].slot = (int32_t)free_slot[q];
  kp->n = k;
  kp->floor = r[last].score;
  kp->floor_id = r[last].id;
}

/* r[0, n) into alq's order: a stable radix sort on the key (descending), with
 * tmp (n records) as the other buffer, then runs of equal keys by id. */
static void sort_records(keeper_rec *r, int64_t n, keeper_rec *tmp) {
  keeper_rec *src = r, *dst = tmp;
  for (int shift = 0; shift < 32; shift += 8) {
    int64_t count[257] = {0};
    for (int64_t i = 0; i < n; i++)
      count[256 - ((key_of(src[i].score) >> shift) & 255)]++; /* 255 - byte, shifted by one */
    for (int b = 1; b <= 256; b++)
      count[b] += count[b - 1];
    for (int64_t i = 0; i < n; i++)
      dst[count[255 - ((key_of(src[i].score) >> shift) & 255)]++] = src[i];
    keeper_rec *x = src;
    src = dst;
    dst = x;
  }
  /* four passes: the result is back in r */
  for (int64_t i = 1; i < n; i++) /* equal keys (rare): insertion by id */
    if (key_of(r[i].score) == key_of(r[i - 1].score) && r[i].id < r[i - 1].id) {
      keeper_rec x = r[i];
      int64_t j = i;
      for (; j > 0 && key_of(r[j - 1].score) == key_of(x.score) && r[j - 1].id > x.id; j--)
        r[j] = r[j - 1];
      r[j] = x;
    }
}

void keeper_finish(keeper *kp) {
  if (kp->n > kp->k)
    keeper_compact(kp);
  /* n <= k <= cap - n: the free records behind n are the radix sort's other
   * buffer (their slots are no longer needed: no record follows finish). */
  sort_records(kp->rec, kp->n, kp->rec + kp->n);
}
