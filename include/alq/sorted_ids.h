/* alq/sorted_ids.h: finding an id in an ascending array of ids.
 *
 * Labeled sets, answer tables, memory pools and out-of-sample tables all keep
 * their ids sorted ascending (unique) so that an id is found by binary search;
 * this is that search, once. */
#ifndef ALQ_SORTED_IDS_H
#define ALQ_SORTED_IDS_H
#include <stdint.h>

/* The first position p in sorted[0, n) with sorted[p] >= id (n when none):
 * where id is, or where it would go. */
int64_t alq_ids_lower_bound(const int64_t *sorted, int64_t n, int64_t id);

/* The position of id in sorted[0, n), or -1 when it is not there. */
int64_t alq_ids_find(const int64_t *sorted, int64_t n, int64_t id);

#endif
