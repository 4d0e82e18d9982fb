/* pool/source_memory.c: the `memory` source: rows the caller already holds. */
#include <stdlib.h>
#include <string.h>

#include "alq/source.h"

static alq_err memory_read(alq_source *s, int64_t lo, int64_t count, unsigned fields, alq_rows *dst) {
  const alq_pool_data *d = s->impl;
  if (fields & ALQ_FIELD_IDS)
    for (int64_t i = 0; i < count; i++)
      dst->ids[i] = d->ids ? d->ids[lo + i] : lo + i;
  if (fields & ALQ_FIELD_EMBEDDINGS)
    memcpy(dst->embeddings, d->embeddings + lo * d->dim, sizeof(float) * count * d->dim);
  if ((fields & ALQ_FIELD_PROBS) && d->probs)
    memcpy(dst->probs, d->probs + lo * d->n_classes, sizeof(float) * count * d->n_classes);
  if ((fields & ALQ_FIELD_LABELS) && d->labels)
    memcpy(dst->labels, d->labels + lo, sizeof(int32_t) * count);
  return ALQ_OK;
}

/* The row holding `id`, or -1. */
static int64_t memory_row(const alq_pool_data *d, int64_t id) {
  if (!d->ids)
    return id >= 0 && id < d->n_items ? id : -1;
  int64_t lo = 0, hi = d->n_items;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (d->ids[mid] < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < d->n_items && d->ids[lo] == id ? lo : -1;
}

static alq_err memory_fetch(alq_source *s, const int64_t *ids, int64_t n, unsigned fields, alq_rows *dst) {
  const alq_pool_data *d = s->impl;
  for (int64_t i = 0; i < n; i++) {
    int64_t row = memory_row(d, ids[i]);
    if (row < 0)
      return alq_error_set(ALQ_ERR_INPUT, "id %lld is not an item of pool %s", (long long)ids[i], s->meta.path);
    alq_rows one = {dst->ids ? dst->ids + i : NULL, dst->embeddings ? dst->embeddings + i * d->dim : NULL,
                    dst->probs ? dst->probs + i * d->n_classes : NULL, dst->labels ? dst->labels + i : NULL, NULL};
    ALQ_CHECK(memory_read(s, row, 1, fields, &one));
  }
  return ALQ_OK;
}

static void memory_close(alq_source *s) { free(s); }

static const alq_source_ops memory_ops = {"memory", memory_read, memory_fetch, memory_close};

alq_err alq_source_memory(const alq_pool_meta *meta, const alq_pool_data *data, alq_source **out) {
  alq_source *s = NULL;
  ALQ_CHECK(alq_calloc(&s, 1, sizeof *s, "memory source"));
  s->ops = &memory_ops;
  s->meta = *meta;
  s->impl = (void *)data;
  *out = s;
  return ALQ_OK;
}
