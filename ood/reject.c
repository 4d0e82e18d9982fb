/* ood/reject.c: the rejection pass: every rank scores its shard and keeps
 * the ids of unlabeled items past the threshold; the ranks then share them
 * so that the selection excludes them like labeled items. */
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/logview.h"
#include "ood_impl.h"

typedef struct {
  const alq_ood_model *m;
  alq_ood_work work;
  double *scores; /* one chunk */
  int64_t *ids;   /* rejected, in row order */
  int64_t n, cap;
} reject_state;

static alq_err keep_id(reject_state *st, int64_t id) {
  if (st->n == st->cap) {
    int64_t cap = st->cap ? 2 * st->cap : 1024;
    int64_t *p = realloc(st->ids, sizeof *p * cap);
    if (!p)
      return alq_error_set(ALQ_ERR_MEMORY, "cannot grow the rejected-id list to %lld ids", (long long)cap);
    st->ids = p;
    st->cap = cap;
  }
  st->ids[st->n++] = id;
  return ALQ_OK;
}

static alq_err reject_chunk(void *ctx, const alq_chunk_view *v) {
  reject_state *st = ctx;
  alq_ood_score_rows(st->m, &st->work, v->rows, v->count, NULL, st->scores);
  for (int64_t i = 0; i < v->count; i++)
    if (!v->is_labeled[i] && st->scores[i] > st->m->threshold)
      ALQ_CHECK(keep_id(st, v->rows->ids[i]));
  return ALQ_OK;
}

/* Two sorted id lists merged (they are disjoint: rejected ids are unlabeled). */
static alq_err merge(const int64_t *a, int64_t na, const int64_t *b, int64_t nb, alq_ood_rejection *out) {
  ALQ_CHECK(alq_malloc(&out->excluded, sizeof(int64_t) * (na + nb ? na + nb : 1), "excluded ids"));
  int64_t i = 0, j = 0, k = 0;
  while (i < na || j < nb)
    out->excluded[k++] = j >= nb || (i < na && a[i] < b[j]) ? a[i++] : b[j++];
  out->n_excluded = k;
  return ALQ_OK;
}

alq_err alq_ood_reject(const alq_stream_request *stream, const alq_ood_model *m, alq_ood_rejection *out) {
  MPI_Comm comm = stream->comm;
  memset(out, 0, sizeof *out);
  MPI_Comm_size(comm, &out->n_ranks);
  alq_stream_request sr = *stream;
  sr.source = m->source;
  sr.meta = &sr.source->meta;
  sr.fields |= alq_ood_fields(m);
  int64_t shard_rows = sr.shard.hi - sr.shard.lo;
  int64_t chunk = sr.chunk_rows < shard_rows ? sr.chunk_rows : shard_rows;
  reject_state st = {.m = m};
  alq_err err = alq_ood_work_init(m, &st.work);
  if (!err)
    err = alq_malloc(&st.scores, sizeof(double) * (chunk > 0 ? chunk : 1), "chunk OOD scores");
  if (!err)
    err = alq_malloc(&out->rejected_per_rank, sizeof(int64_t) * out->n_ranks, "rejected counts");
  err = alq_agree(comm, err);
  alq_stream_result res = {0};
  if (!err)
    err = alq_worker_stream(&sr, reject_chunk, &st, &res);
  /* Checked here too: the selection's own check then sees the merged list. */
  for (int64_t j = 0; !err && j < stream->n_labeled; j++)
    if (!res.labeled_found[j])
      err = alq_error_set(ALQ_ERR_INPUT, "labeled id %lld is not an id of pool %s", (long long)stream->labeled_ids[j],
                          stream->meta->path);
  free(res.labeled_found);
  if (!err)
    err = alq_allgather_bytes(&st.n, sizeof st.n, out->rejected_per_rank, comm);
  unsigned char *all = NULL;
  int64_t bytes = 0;
  if (!err) {
    alq_phase_begin(ALQ_PHASE_REDUCE);
    /* Shards are in id order, so the concatenation is sorted. */
    err = alq_allgatherv_bytes(st.ids, sizeof(int64_t) * st.n, comm, &all, &bytes);
    alq_phase_end(ALQ_PHASE_REDUCE);
  }
  out->rejected = bytes / (int64_t)sizeof(int64_t);
  if (!err)
    err = alq_agree(comm, merge(stream->labeled_ids, stream->n_labeled, (int64_t *)all, out->rejected, out));
  free(all);
  free(st.ids);
  free(st.scores);
  alq_ood_work_free(&st.work);
  if (err)
    alq_ood_rejection_free(out);
  return err;
}

void alq_ood_rejection_free(alq_ood_rejection *r) {
  free(r->rejected_per_rank);
  free(r->excluded);
  memset(r, 0, sizeof *r);
}
