/* coordinator/state_growth.c: a round state on a pool that grew between
 * rounds (alq_state_check_shape, alq_state_check_pool in alq/state.h).
 *
 * The state knows its pool by item count, shape and the ids checksum
 * (alq_ids_checksum: a sum over rows of a hash of (id, row)).  Because the
 * sum runs over rows, the checksum of a grown pool's first N_old rows equals
 * the recorded one exactly when those rows still carry their old ids: rows
 * appended at the end (or a new file that starts with the old rows) pass, a
 * lost, changed or moved id fails.  The ids the state itself refers to
 * (answers and rounds) are looked up as well, so a failure names the first
 * one the pool lacks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/hash.h"
#include "alq/payload.h"
#include "alq/source.h"
#include "alq/state.h"

static int cmp_int64(const void *pa, const void *pb) {
  int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
  return a < b ? -1 : a > b;
}

/* Every id the state refers to (answers, rounds), sorted, each once. */
static alq_err referenced_ids(const alq_state *st, int64_t **out, int64_t *n) {
  int64_t total = st->answers.n;
  for (int64_t r = 0; r < st->n_rounds; r++)
    total += st->rounds[r].n;
  int64_t *ids = NULL, m = 0;
  ALQ_CHECK(alq_malloc(&ids, sizeof *ids * (size_t)(total ? total : 1), "referenced ids"));
  memcpy(ids, st->answers.ids, sizeof *ids * (size_t)st->answers.n);
  m = st->answers.n;
  for (int64_t r = 0; r < st->n_rounds; r++) {
    memcpy(ids + m, st->rounds[r].ids, sizeof *ids * (size_t)st->rounds[r].n);
    m += st->rounds[r].n;
  }
  qsort(ids, (size_t)m, sizeof *ids, cmp_int64);
  int64_t u = 0;
  for (int64_t i = 0; i < m; i++)
    if (u == 0 || ids[i] != ids[u - 1])
      ids[u++] = ids[i];
  *out = ids;
  *n = u;
  return ALQ_OK;
}

/* Input error naming the first id the state refers to that the pool lacks;
 * ALQ_OK when it has them all.  One lookup of them all; when it fails, a
 * bisection on prefixes finds the smallest missing id. */
static alq_err lost_id(const char *path, const alq_state *st, const alq_pool_meta *meta) {
  int64_t *ids = NULL, *rows = NULL, n = 0;
  ALQ_CHECK(referenced_ids(st, &ids, &n));
  alq_err err = alq_malloc(&rows, sizeof *rows * (size_t)(n ? n : 1), "referenced rows");
  if (!err && (err = alq_pool_rows_of_ids(meta, ids, n, rows)) == ALQ_ERR_INPUT) {
    int64_t lo = 0, hi = n; /* ids[0, lo) are in the pool, ids[0, hi) are not all */
    err = ALQ_OK;
    while (!err && hi - lo > 1) {
      int64_t mid = lo + (hi - lo) / 2;
      alq_error_clear();
      alq_err e = alq_pool_rows_of_ids(meta, ids, mid, rows);
      if (e == ALQ_ERR_INPUT)
        hi = mid;
      else if (e)
        err = e;
      else
        lo = mid;
    }
    alq_error_clear();
    if (!err)
      err = alq_error_set(ALQ_ERR_INPUT,
                          "%s: pool %s lost id %lld, which the state has labeled or sent out (a pool may grow "
                          "between rounds, but must keep every item)",
                          path, meta->path, (long long)ids[lo]);
  }
  free(rows);
  free(ids);
  return err;
}

alq_err alq_state_check_shape(const char *path, const alq_state *st, const alq_pool_identity *pool,
                              const alq_pool_meta *meta) {
  const alq_pool_identity *s = &st->pool;
  if (s->dim != pool->dim || s->n_classes != pool->n_classes)
    return alq_error_set(ALQ_ERR_INPUT,
                         "%s belongs to pool %s (%lld items, dim %lld, %lld classes), not to %s (%lld items, dim "
                         "%lld, %lld classes)",
                         path, s->path, (long long)s->n_items, (long long)s->dim, (long long)s->n_classes, pool->path,
                         (long long)pool->n_items, (long long)pool->dim, (long long)pool->n_classes);
  /* A pool of another size: the ids the state refers to must all be there
   * (checked now, so the message names the first lost one). */
  if (pool->n_items != s->n_items)
    ALQ_CHECK(lost_id(path, st, meta));
  if (pool->n_items < s->n_items) {
    return alq_error_set(ALQ_ERR_INPUT, "%s: pool %s has %lld items, fewer than the %lld of pool %s the state was made for: it lost items",
                         path, pool->path, (long long)pool->n_items, (long long)s->n_items, s->path);
  }
  return ALQ_OK;
}

/* alq_ids_checksum of rows [0, n) of the pool, read serially in chunks. */
static alq_err prefix_checksum(const alq_pool_meta *meta, int64_t n, uint64_t *sum) {
  enum { CHUNK = 1 << 16 };
  int64_t *ids = NULL;
  alq_source *src = NULL;
  *sum = 0;
  ALQ_CHECK(alq_malloc(&ids, sizeof *ids * CHUNK, "pool ids"));
  alq_err err = alq_source_open(MPI_COMM_SELF, meta, &src);
  for (int64_t lo = 0; !err && lo < n; lo += CHUNK) {
    int64_t count = n - lo < CHUNK ? n - lo : CHUNK;
    alq_rows dst = {.ids = ids};
    err = alq_source_read(src, lo, count, ALQ_FIELD_IDS, &dst);
    if (!err)
      *sum += alq_ids_checksum(ids, count, lo);
  }
  alq_source_close(src);
  free(ids);
  return err;
}

static alq_err record_growth(alq_state *st, const alq_pool_identity *pool, int64_t round, int64_t now) {
  alq_state_growth *g = realloc(st->growth, sizeof *g * (size_t)(st->n_growth + 1));
  if (!g)
    return alq_error_set(ALQ_ERR_MEMORY, "out of memory for the pool's growth record");
  st->growth = g;
  st->growth[st->n_growth++] = (alq_state_growth){.round = round,
                                                  .old_items = st->pool.n_items,
                                                  .new_items = pool->n_items,
                                                  .old_ids_checksum = st->pool.ids_checksum,
                                                  .new_ids_checksum = pool->ids_checksum,
                                                  .recorded_at = now};
  st->pool = *pool;
  return ALQ_OK;
}

alq_err alq_state_check_pool(const char *path, alq_state *st, const alq_pool_identity *pool,
                             const alq_pool_meta *meta, int64_t round, int64_t now) {
  ALQ_CHECK(alq_state_check_shape(path, st, pool, meta));
  const alq_pool_identity *s = &st->pool;
  int grew = pool->n_items > s->n_items;
  uint64_t old_rows = pool->ids_checksum;
  if (grew)
    ALQ_CHECK(prefix_checksum(meta, s->n_items, &old_rows));
  if (old_rows == s->ids_checksum)
    return grew ? record_growth(st, pool, round, now) : ALQ_OK;
  ALQ_CHECK(lost_id(path, st, meta));
  return alq_error_set(ALQ_ERR_INPUT,
                       "%s belongs to pool %s (ids checksum %016llx of its %lld rows), but rows 0..%lld of %s carry "
                       "other ids (checksum %016llx): an item's id changed or rows moved (a growing pool keeps its "
                       "old rows in place and appends new ones)",
                       path, s->path, (unsigned long long)s->ids_checksum, (long long)s->n_items,
                       (long long)s->n_items - 1, pool->path, (unsigned long long)old_rows);
}
