/* workers/scan.c: the score-and-keep pass over a worker's shard. */
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/fault.h"
#include "alq/half.h"
#include "alq/logview.h"
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
  alq_candidates *in_place; /* the candidates when the rows stay in place, else NULL */
  alq_topk kept;
  double *scores; /* one chunk */
  uint16_t *half; /* one row, narrowed (keep_half) */
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
  for (int64_t i = 0; i < v->count; i++) {
    if (v->is_labeled[i])
      continue;
    const void *row = emb ? emb + i * m->dim : NULL;
    if (row && st->half && r->half_filled) {
      row = r->half + i * m->dim; /* as stored */
    } else if (row && st->half) { /* exact: the row came from binary16 */
      alq_float_to_half(row, st->half, m->dim);
      row = st->half;
    }
    alq_topk_push(&st->kept, (alq_scored){st->scores[i], r->ids[i]}, row);
  }
  return ALQ_OK;
}

/* The consumer of a pass whose rows stay in place: every row of the shard is
 * a candidate row in row order, with its id and a skip flag for a labeled
 * one (the keeper's work, without copying a row). */
static alq_err keep_in_place(void *ctx, const alq_chunk_view *v) {
  scan_state *st = ctx;
  alq_candidates *c = st->in_place;
  int64_t at = v->first_row - st->req->stream.shard.lo;
  memcpy(c->ids + at, v->rows->ids, sizeof *c->ids * (size_t)v->count);
  memcpy(c->skip + at, v->is_labeled, (size_t)v->count);
  for (int64_t i = 0; i < v->count; i++)
    c->n_skipped += v->is_labeled[i];
  return ALQ_OK;
}

/* Why this rank's pass cannot take the shard's rows in place, or NULL, with
 * *rows set to them (workers/worker.h, alq_worker_scan). */
static const char *map_reason(const alq_scan_request *req, int64_t keep, int64_t shard_rows, const uint16_t **rows) {
  const alq_stream_request *sr = &req->stream;
  const char *env = getenv("ALQ_MAP");
  *rows = NULL;
  if (env && strcmp(env, "0") == 0)
    return "ALQ_MAP=0";
  if (keep < shard_rows)
    return "not every row is kept";
  if (sr->source->inner || !sr->source->ops->map_halves)
    return "the source has no rows to map";
  if (shard_rows == 0) {
    /* Nothing to map, but this rank must take the mapped path's reads with
     * the others: a pointer that no chunk reads says so to the stream. */
    static const uint16_t none[1];
    *rows = none;
    return NULL;
  }
  return sr->source->ops->map_halves(sr->source, sr->shard.lo, shard_rows, rows);
}

/* Collective: 1 on every rank when every rank maps its shard's rows (the
 * reads differ between the two paths, and collective reads must match). */
static alq_err agree_in_place(const alq_scan_request *req, int64_t keep, int64_t shard_rows, const uint16_t **rows,
                              int *in_place) {
  const char *why = map_reason(req, keep, shard_rows, rows);
  int mine = why == NULL, all = 0;
  ALQ_CHECK(alq_allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, req->stream.comm));
  *in_place = all;
  alq_log_rows_path(all, why ? why : all ? NULL : "another rank cannot map its rows");
  return ALQ_OK;
}

/* The candidate arrays of a pass whose rows stay in place. */
static alq_err in_place_alloc(alq_candidates *c, int64_t n, int64_t dim, const uint16_t *rows) {
  memset(c, 0, sizeof *c);
  c->n = n;
  c->dim = dim;
  c->half = rows;
  c->half_mapped = 1;
  ALQ_CHECK(alq_malloc(&c->ids, sizeof *c->ids * (n ? n : 1), "candidate ids"));
  ALQ_CHECK(alq_calloc(&c->scores, n ? n : 1, sizeof *c->scores, "candidate scores"));
  ALQ_CHECK(alq_malloc(&c->skip, n ? n : 1, "candidate skip flags"));
  return ALQ_OK;
}

/* Moves the sorted keeper into the candidate arrays. */
static alq_err take_candidates(alq_topk *kept, int64_t dim, int half, alq_candidates *c) {
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
  if (half)
    c->half = (uint16_t *)kept->payload;
  else
    c->embeddings = (float *)kept->payload;
  kept->payload = NULL;
  return ALQ_OK;
}

/* Collective: the pass over rows mapped in place (sr->mapped_half). */
static alq_err scan_in_place(const alq_scan_request *req, const alq_stream_request *sr, alq_scan_result *res) {
  scan_state st = {req, &res->candidates, {0}, NULL, NULL};
  alq_err err = alq_agree(sr->comm, in_place_alloc(&res->candidates, sr->shard.hi - sr->shard.lo, sr->meta->dim,
                                                  sr->mapped_half));
  if (!err)
    err = alq_worker_stream(sr, keep_in_place, &st, &res->stream);
  if (!err)
    err = alq_agree(sr->comm, alq_fault_point("score")); /* where take_candidates has it */
  return err;
}

/* Collective: the pass that scores and keeps the best `keep` rows, copied. */
static alq_err scan_and_copy(const alq_scan_request *req, const alq_stream_request *sr, int64_t keep,
                             alq_scan_result *res) {
  const alq_pool_meta *m = sr->meta;
  int64_t shard_rows = sr->shard.hi - sr->shard.lo;
  int64_t chunk = sr->chunk_rows < shard_rows ? sr->chunk_rows : shard_rows;
  scan_state st = {req, NULL, {0}, NULL, NULL};
  const int half = req->keep_embeddings && req->keep_half;
  int64_t row_bytes = !req->keep_embeddings ? 0 : (half ? 2 : 4) * m->dim;
  alq_err err = alq_topk_init(&st.kept, keep, row_bytes);
  if (!err)
    err = alq_malloc(&st.scores, sizeof(double) * (chunk > 0 ? chunk : 1), "chunk scores");
  if (!err && half)
    err = alq_malloc(&st.half, sizeof(uint16_t) * (m->dim ? m->dim : 1), "candidate half row");
  err = alq_agree(sr->comm, err);
  if (!err)
    err = alq_worker_stream(sr, score_and_keep, &st, &res->stream);
  if (!err)
    err = alq_agree(sr->comm, take_candidates(&st.kept, m->dim, half, &res->candidates));
  alq_topk_free(&st.kept);
  free(st.scores);
  free(st.half);
  return err;
}

alq_err alq_worker_scan(const alq_scan_request *req, alq_scan_result *res) {
  memset(res, 0, sizeof *res);
  alq_stream_request sr = req->stream;
  sr.fields |= alq_strategy_fields(req->strategy);
  if (req->keep_embeddings)
    sr.fields |= ALQ_FIELD_EMBEDDINGS;
  if (req->keep_embeddings && req->keep_half)
    sr.fields |= ALQ_FIELD_HALF_EMBEDDINGS;
  /* Without a score stage the floats of half rows have no reader: the
   * candidates keep the halves and validation checks them. */
  if (req->keep_embeddings && req->keep_half && !req->strategy->score)
    sr.fields |= ALQ_FIELD_HALVES_ONLY;
  int64_t shard_rows = sr.shard.hi - sr.shard.lo;
  int64_t keep = req->keep < 0 || req->keep > shard_rows ? shard_rows : req->keep;
  const int half = req->keep_embeddings && req->keep_half;
  int in_place = 0;
  alq_err err = ALQ_OK;
  if (half && !req->strategy->score)
    err = agree_in_place(req, keep, shard_rows, &sr.mapped_half, &in_place);
  if (!err && in_place) {
    err = scan_in_place(req, &sr, res);
  } else if (!err) {
    sr.mapped_half = NULL;
    err = scan_and_copy(req, &sr, keep, res);
  }
  if (err)
    alq_scan_result_free(res);
  return err;
}

void alq_scan_result_free(alq_scan_result *res) {
  free(res->candidates.ids);
  free(res->candidates.scores);
  free(res->candidates.embeddings);
  if (!res->candidates.half_mapped) /* else the source's mapping, unmapped when it closes */
    free((void *)res->candidates.half);
  free(res->candidates.skip);
  free(res->stream.labeled_found);
  memset(res, 0, sizeof *res);
}
