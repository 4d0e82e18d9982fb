/* workers/scan.c: the score-and-keep pass over a worker's shard. */
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/fault.h"
#include "alq/scored.h"
#include "alq/worker.h"

unsigned alq_strategy_fields(const alq_strategy *s) {
  unsigned fields = ALQ_FIELD_IDS;
  if (s->needs & ALQ_NEEDS_PROBS)
    fields |= ALQ_FIELD_PROBS;
  if (s->needs & ALQ_NEEDS_EMBEDDINGS)
    fields |= ALQ_FIELD_EMBEDDINGS;
  if (s->needs & ALQ_NEEDS_EXPECTED_ENTROPY)
    fields |= ALQ_FIELD_EXPECTED_ENTROPY;
  return fields;
}

typedef struct {
  const alq_scan_request *req;
  alq_topk kept;
  double *scores; /* one chunk */
} scan_state;

static alq_err score_and_keep(void *ctx, const alq_chunk_view *v) {
  scan_state *st = ctx;
  const alq_scan_request *req = st->req;
  const alq_pool_meta *m = req->stream.meta;
  const alq_rows *r = v->rows;
  if (req->strategy->score) {
    alq_chunk chunk = {v->count, r->ids, r->probs, r->embeddings, m->n_classes, m->dim, req->seed,
                       r->expected_entropy};
    ALQ_CHECK(req->strategy->score(&chunk, st->scores));
  } else {
    memset(st->scores, 0, sizeof(double) * v->count);
  }
  const float *emb = req->keep_embeddings ? r->embeddings : NULL;
  for (int64_t i = 0; i < v->count; i++)
    if (!v->is_labeled[i])
      alq_topk_push(&st->kept, (alq_scored){st->scores[i], r->ids[i]}, emb ? emb + i * m->dim : NULL);
  return ALQ_OK;
}

/* Moves the sorted keeper into the candidate arrays. */
static alq_err take_candidates(alq_topk *kept, int64_t dim, alq_candidates *c) {
  ALQ_CHECK(alq_fault_point("score"));
  ALQ_CHECK(alq_topk_sort(kept));
  c->n = kept->n;
  c->dim = dim;
  ALQ_CHECK(alq_malloc(&c->ids, sizeof *c->ids * (c->n ? c->n : 1), "candidate ids"));
  ALQ_CHECK(alq_malloc(&c->scores, sizeof *c->scores * (c->n ? c->n : 1), "candidate scores"));
  for (int64_t i = 0; i < c->n; i++) {
    c->ids[i] = kept->heap[i].id;
    c->scores[i] = kept->heap[i].score;
  }
  c->embeddings = (float *)kept->payload;
  kept->payload = NULL;
  return ALQ_OK;
}

alq_err alq_worker_scan(const alq_scan_request *req, alq_scan_result *res) {
  memset(res, 0, sizeof *res);
  const alq_pool_meta *m = req->stream.meta;
  alq_stream_request sr = req->stream;
  sr.fields |= alq_strategy_fields(req->strategy);
  if (req->keep_embeddings)
    sr.fields |= ALQ_FIELD_EMBEDDINGS;
  int64_t shard_rows = sr.shard.hi - sr.shard.lo;
  int64_t keep = req->keep < 0 || req->keep > shard_rows ? shard_rows : req->keep;
  int64_t chunk = sr.chunk_rows < shard_rows ? sr.chunk_rows : shard_rows;
  scan_state st = {req, {0}, NULL};
  alq_err err = alq_topk_init(&st.kept, keep, req->keep_embeddings ? (int64_t)sizeof(float) * m->dim : 0);
  if (!err)
    err = alq_malloc(&st.scores, sizeof(double) * (chunk > 0 ? chunk : 1), "chunk scores");
  err = alq_agree(sr.comm, err);
  if (!err)
    err = alq_worker_stream(&sr, score_and_keep, &st, &res->stream);
  if (!err)
    err = alq_agree(sr.comm, take_candidates(&st.kept, m->dim, &res->candidates));
  alq_topk_free(&st.kept);
  free(st.scores);
  if (err)
    alq_scan_result_free(res);
  return err;
}

void alq_scan_result_free(alq_scan_result *res) {
  free(res->candidates.ids);
  free(res->candidates.scores);
  free(res->candidates.embeddings);
  free(res->stream.labeled_found);
  memset(res, 0, sizeof *res);
}
