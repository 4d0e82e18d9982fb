/* pool/source_memory.c: the `memory` source: rows the caller already holds,
 * the whole pool or this rank's piece of it. */
#include <stdlib.h>
#include <string.h>

#include "alq/source.h"
#include "alq/sorted_ids.h"

typedef struct {
  const alq_pool_data *piece; /* this rank's rows */
  int64_t first_row;          /* global row of piece's row 0 */
  const alq_pool_data *extra; /* rows by id held elsewhere, ascending ids; NULL: none */
  int sorted;                 /* piece's ids ascend (or are row indices): binary search */
} memory_impl;

/* Copies local rows [lo, lo+count) of `d`, whose row 0 is global row `first_row`. */
static void copy_rows(const alq_pool_data *d, int64_t first_row, int64_t lo, int64_t count, unsigned fields,
                      alq_rows *dst) {
  if (fields & ALQ_FIELD_IDS)
    for (int64_t i = 0; i < count; i++)
      dst->ids[i] = d->ids ? d->ids[lo + i] : first_row + lo + i;
  if (fields & ALQ_FIELD_EMBEDDINGS)
    memcpy(dst->embeddings, d->embeddings + lo * d->dim, sizeof(float) * count * d->dim);
  if ((fields & ALQ_FIELD_PROBS) && d->probs)
    memcpy(dst->probs, d->probs + lo * d->n_classes, sizeof(float) * count * d->n_classes);
  if ((fields & ALQ_FIELD_LABELS) && d->labels)
    memcpy(dst->labels, d->labels + lo, sizeof(int32_t) * count);
  if ((fields & ALQ_FIELD_EXPECTED_ENTROPY) && d->expected_entropy)
    memcpy(dst->expected_entropy, d->expected_entropy + lo, sizeof(float) * count);
}

static alq_err memory_read(alq_source *s, int64_t lo, int64_t count, unsigned fields, alq_rows *dst) {
  const memory_impl *m = s->impl;
  int64_t local = lo - m->first_row;
  if (count > 0 && (local < 0 || local + count > m->piece->n_items))
    return alq_error_set(ALQ_ERR_INTERNAL, "memory source: rows [%lld, %lld) are outside this rank's rows [%lld, %lld)",
                         (long long)lo, (long long)(lo + count), (long long)m->first_row,
                         (long long)(m->first_row + m->piece->n_items));
  copy_rows(m->piece, m->first_row, local, count, fields, dst);
  return ALQ_OK;
}

/* The local row of `d` holding `id` (ids NULL: global row index from
 * first_row), or -1.  Pool ids may come in any order: a piece whose ids do
 * not ascend is scanned (its fetches are rare: the labeled rows are in extra). */
static int64_t find_row(const alq_pool_data *d, int64_t first_row, int sorted, int64_t id) {
  if (!d->ids)
    return id >= first_row && id - first_row < d->n_items ? id - first_row : -1;
  if (!sorted) {
    for (int64_t i = 0; i < d->n_items; i++)
      if (d->ids[i] == id)
        return i;
    return -1;
  }
  return alq_ids_find(d->ids, d->n_items, id);
}

static alq_err memory_fetch(alq_source *s, const int64_t *ids, int64_t n, unsigned fields, alq_rows *dst) {
  const memory_impl *m = s->impl;
  for (int64_t i = 0; i < n; i++) {
    const alq_pool_data *d = m->extra;
    int64_t first_row = 0, row = d ? find_row(d, 0, 1, ids[i]) : -1;
    if (row < 0) {
      d = m->piece;
      first_row = m->first_row;
      row = find_row(d, first_row, m->sorted, ids[i]);
    }
    if (row < 0)
      return alq_error_set(ALQ_ERR_INPUT, "id %lld is not an item of pool %s", (long long)ids[i], s->meta.path);
    alq_rows one = {dst->ids ? dst->ids + i : NULL, dst->embeddings ? dst->embeddings + i * d->dim : NULL,
                    dst->probs ? dst->probs + i * d->n_classes : NULL, dst->labels ? dst->labels + i : NULL,
                    dst->expected_entropy ? dst->expected_entropy + i : NULL, NULL, 0};
    copy_rows(d, first_row, row, 1, fields, &one);
  }
  return ALQ_OK;
}

static void memory_close(alq_source *s) {
  free(s->impl);
  free(s);
}

static const alq_source_ops memory_ops = {
    .kind = "memory", .read = memory_read, .fetch = memory_fetch, .close = memory_close};

alq_err alq_source_memory_piece(const alq_pool_meta *meta, const alq_pool_data *piece, int64_t first_row,
                                const alq_pool_data *extra, alq_source **out) {
  alq_source *s = NULL;
  memory_impl *m = NULL;
  ALQ_CHECK(alq_calloc(&m, 1, sizeof *m, "memory source"));
  alq_err err = alq_calloc(&s, 1, sizeof *s, "memory source");
  if (err) {
    free(m);
    return err;
  }
  *m = (memory_impl){piece, first_row, extra, 1};
  for (int64_t i = 1; piece->ids && i < piece->n_items && m->sorted; i++)
    m->sorted = piece->ids[i] > piece->ids[i - 1];
  s->ops = &memory_ops;
  s->meta = *meta;
  s->impl = m;
  *out = s;
  return ALQ_OK;
}

alq_err alq_source_memory(const alq_pool_meta *meta, const alq_pool_data *data, alq_source **out) {
  return alq_source_memory_piece(meta, data, 0, NULL, out);
}
