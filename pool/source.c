/* pool/source.c: the source registry by spec prefix, and the accounting wrapper. */
#include <string.h>

#include "alq/gen.h"
#include "alq/logview.h"
#include "alq/pool_list.h"
#include "alq/source.h"
#include "source_impl.h"

static int is_gen(const char *spec) { return strncmp(spec, "gen:", 4) == 0; }

alq_err alq_source_describe(const char *spec, alq_pool_meta *meta) {
  if (is_gen(spec))
    return alq_gen_source_describe(spec, meta);
  if (alq_pool_list_is(spec))
    return alq_multi_source_describe(spec, meta);
  return alq_pool_inspect(spec, meta);
}

int alq_spec_fetch_is_cheap(const char *spec) { return is_gen(spec); }

alq_err alq_source_open(MPI_Comm comm, const alq_pool_meta *meta, alq_source **out) {
  if (is_gen(meta->path))
    return alq_gen_source_open(meta, out);
  if (alq_pool_list_is(meta->path))
    return alq_multi_source_open(comm, meta, out);
  return alq_hdf5_source_open(comm, meta, out);
}

/* Bytes as stored: a float16 pool reads half the bytes of a float32 one. */
static int64_t row_bytes(const alq_pool_meta *m, unsigned fields) {
  int64_t row_bytes = 0;
  if (fields & ALQ_FIELD_EMBEDDINGS)
    row_bytes += (m->embeddings_width ? m->embeddings_width : 4) * m->dim;
  if ((fields & ALQ_FIELD_PROBS) && m->has_probs)
    row_bytes += (m->probs_width ? m->probs_width : 4) * m->n_classes;
  if ((fields & ALQ_FIELD_IDS) && m->has_ids)
    row_bytes += 8;
  if ((fields & ALQ_FIELD_LABELS) && m->has_labels)
    row_bytes += 4;
  return row_bytes;
}

alq_err alq_source_read(alq_source *s, int64_t lo, int64_t count, unsigned fields, alq_rows *dst) {
  alq_phase_begin(ALQ_PHASE_READ);
  dst->half_filled = 0;
  alq_err err = s->ops->read(s, lo, count, fields, dst);
  if (!s->inner)
    alq_log_bytes_read(count * row_bytes(&s->meta, fields));
  alq_phase_end(ALQ_PHASE_READ);
  return err;
}

alq_source *alq_source_stored(alq_source *s) {
  while (s->inner)
    s = s->inner;
  return s;
}

alq_err alq_source_fetch(alq_source *s, const int64_t *ids, int64_t n, unsigned fields, alq_rows *dst) {
  alq_phase_begin(ALQ_PHASE_READ);
  alq_err err = s->ops->fetch(s, ids, n, fields, dst);
  if (!s->inner)
    alq_log_bytes_read(n * row_bytes(&s->meta, fields));
  alq_phase_end(ALQ_PHASE_READ);
  return err;
}

void alq_source_close(alq_source *s) {
  if (s)
    s->ops->close(s);
}
