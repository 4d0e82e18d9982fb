/* coordinator/request.c: the SelectRequest on the wire (protobuf-c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq.pb-c.h"
#include "alq/comm.h"
#include "alq/fault.h"
#include "coordinator.h"

static alq_err pack(const alq_request *r, uint8_t **buf, int64_t *len) {
  Alq__PoolMeta pm = ALQ__POOL_META__INIT;
  pm.path = (char *)r->meta.path;
  pm.n_items = r->meta.n_items;
  pm.dim = r->meta.dim;
  pm.n_classes = r->meta.n_classes;
  pm.has_probs = r->meta.has_probs;
  pm.has_ids = r->meta.has_ids;
  pm.has_labels = r->meta.has_labels;
  pm.chunk_rows = r->meta.chunk_rows;
  pm.mc_passes = r->meta.mc_passes;
  char layout[4 * (ALQ_DATASET_MAX + 16)];
  alq_layout_format(&r->meta.layout, layout, sizeof layout);
  pm.layout = layout;
  pm.embeddings_width = r->meta.embeddings_width;
  pm.probs_width = r->meta.probs_width;
  pm.ids_unsigned = r->meta.ids_unsigned;
  Alq__SelectRequest m = ALQ__SELECT_REQUEST__INIT;
  m.pool = &pm;
  m.strategy = (char *)r->strategy;
  m.budget = r->budget;
  m.seed = r->seed;
  m.candidates = r->candidates;
  m.n_labeled = r->n_labeled;
  m.labeled_path = (char *)r->labeled_path;
  m.chunk_rows = r->chunk_rows;
  m.prune = r->prune;
  m.log_view = r->log_view;
  m.quiet = r->quiet;
  m.subpool = r->subpool;
  m.anchors_per_class = r->anchors_per_class;
  m.neighbors = r->neighbors;
  m.subpool_size = r->subpool_size;
  m.anchor_random = r->anchor_random;
  m.diversity = r->diversity;
  m.fan_in = r->fan_in;
  m.memory_per_rank = r->memory_per_rank;
  m.model = (char *)r->model;
  m.mc_samples = r->mc_samples;
  m.delta = r->delta;
  m.project = (char *)r->project;
  m.projection = (char *)r->projection;
  m.fit_sample = r->fit_sample;
  m.pool_dim = r->pool_dim;
  m.projection_ids_checksum = r->projection_ids_checksum;
  m.ood = r->ood.kind;
  m.ood_reject = r->ood.reject;
  m.ood_temperature = r->ood.temperature;
  m.ood_k = r->ood.k;
  m.ood_space = r->ood.space;
  *len = (int64_t)alq__select_request__get_packed_size(&m);
  ALQ_CHECK(alq_malloc(buf, *len, "request message"));
  alq__select_request__pack(&m, *buf);
  return ALQ_OK;
}

static alq_err unpack(const uint8_t *buf, int64_t len, alq_request *r) {
  Alq__SelectRequest *m = alq__select_request__unpack(NULL, (size_t)len, buf);
  if (!m || !m->pool)
    return alq_error_set(ALQ_ERR_MPI, "received a malformed SelectRequest (%lld bytes)", (long long)len);
  memset(r, 0, sizeof *r);
  snprintf(r->meta.path, sizeof r->meta.path, "%s", m->pool->path);
  r->meta.n_items = m->pool->n_items;
  r->meta.dim = m->pool->dim;
  r->meta.n_classes = m->pool->n_classes;
  r->meta.has_probs = m->pool->has_probs;
  r->meta.has_ids = m->pool->has_ids;
  r->meta.has_labels = m->pool->has_labels;
  r->meta.chunk_rows = m->pool->chunk_rows;
  r->meta.mc_passes = m->pool->mc_passes;
  r->meta.embeddings_width = m->pool->embeddings_width;
  r->meta.probs_width = m->pool->probs_width;
  r->meta.ids_unsigned = m->pool->ids_unsigned;
  alq_err err = alq_layout_parse(m->pool->layout, &r->meta.layout);
  if (err) {
    alq__select_request__free_unpacked(m, NULL);
    return err;
  }
  r->meta.n_labeled = m->n_labeled;
  snprintf(r->strategy, sizeof r->strategy, "%s", m->strategy);
  snprintf(r->labeled_path, sizeof r->labeled_path, "%s", m->labeled_path);
  r->budget = m->budget;
  r->seed = m->seed;
  r->candidates = m->candidates;
  r->n_labeled = m->n_labeled;
  r->chunk_rows = m->chunk_rows;
  r->prune = m->prune;
  r->log_view = m->log_view;
  r->quiet = m->quiet;
  r->subpool = m->subpool;
  r->anchors_per_class = m->anchors_per_class;
  r->neighbors = m->neighbors;
  r->subpool_size = m->subpool_size;
  r->anchor_random = m->anchor_random;
  r->diversity = m->diversity;
  r->fan_in = m->fan_in;
  r->memory_per_rank = m->memory_per_rank;
  snprintf(r->model, sizeof r->model, "%s", m->model);
  r->mc_samples = m->mc_samples;
  r->delta = m->delta;
  snprintf(r->project, sizeof r->project, "%s", m->project);
  snprintf(r->projection, sizeof r->projection, "%s", m->projection);
  r->fit_sample = m->fit_sample;
  r->pool_dim = m->pool_dim;
  r->projection_ids_checksum = m->projection_ids_checksum;
  r->ood = (alq_ood_options){m->ood, m->ood_reject, m->ood_temperature, m->ood_k, m->ood_space};
  alq__select_request__free_unpacked(m, NULL);
  return ALQ_OK;
}

alq_err alq_request_broadcast(MPI_Comm comm, alq_request *req) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  uint8_t *buf = NULL;
  int64_t len = 0;
  alq_err err = rank == 0 ? pack(req, &buf, &len) : ALQ_OK;
  err = alq_agree(comm, err);
  if (!err)
    err = alq_bcast(&len, sizeof len, 0, comm);
  if (!err && rank != 0)
    err = alq_malloc(&buf, len, "request message");
  err = alq_agree(comm, err);
  if (!err)
    err = alq_bcast(buf, len, 0, comm);
  if (!err && rank != 0)
    err = unpack(buf, len, req);
  if (!err)
    err = alq_fault_point("broadcast");
  free(buf);
  return alq_agree(comm, err);
}

int alq_request_half_candidates(const alq_request *req, int anchoral) {
  return req->meta.embeddings_width == 2 && req->diversity == ALQ_DIVERSITY_EXACT && !anchoral && !req->model[0] &&
         !req->project[0] && !req->projection[0];
}
