/* core/sorted_ids.c: binary search in ascending ids (alq/sorted_ids.h). */
#include "alq/sorted_ids.h"

int64_t alq_ids_lower_bound(const int64_t *sorted, int64_t n, int64_t id) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (sorted[mid] < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

int64_t alq_ids_find(const int64_t *sorted, int64_t n, int64_t id) {
  int64_t p = alq_ids_lower_bound(sorted, n, id);
  return p < n && sorted[p] == id ? p : -1;
}
