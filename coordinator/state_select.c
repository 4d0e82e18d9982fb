/* coordinator/state_select.c: the round state's part in `alq select --state`:
 * what the selection excludes, and recording the batch it sent out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alq/comm.h"
#include "alq/paths.h"
#include "alq/state.h"
#include "coordinator.h"

static alq_pool_identity identity_of(const alq_request *req) {
  alq_pool_identity id;
  memset(&id, 0, sizeof id);
  snprintf(id.path, sizeof id.path, "%s", req->meta.path);
  id.n_items = req->meta.n_items;
  id.dim = req->meta.dim;
  id.n_classes = req->meta.n_classes;
  id.ids_checksum = req->ids_checksum;
  alq_layout_format(&req->meta.layout, id.layout, sizeof id.layout);
  return id;
}

alq_err alq_state_selection_exclusions(const alq_select_options *opt, const alq_request *req, alq_labeled *out) {
  if (opt->labeled[0])
    return alq_error_set(ALQ_ERR_USAGE,
                         "--labeled seeds a new state file, but %s exists: its labeled set is used (drop --labeled)",
                         opt->state);
  alq_state st;
  ALQ_CHECK(alq_state_read(opt->state, &st));
  alq_pool_identity pool = identity_of(req);
  alq_err err = alq_state_check_shape(opt->state, &st, &pool, &req->meta);
  /* Same shape: the same pool, moved or copied, or grown, if its ids match
   * too (checked against the checksum the streaming pass computes, before the
   * round is recorded). */
  if (!err && !opt->quiet && pool.n_items > st.pool.n_items)
    fprintf(stderr, "alq: note: pool %s has %lld items, %s was made for %lld: taken as that pool grown if its first %lld rows keep their ids\n",
            pool.path, (long long)pool.n_items, opt->state, (long long)st.pool.n_items, (long long)st.pool.n_items);
  else if (!err && !opt->quiet && strcmp(st.pool.path, pool.path) != 0)
    fprintf(stderr, "alq: note: %s was created for pool %s; %s has the same shape, so it is taken as that pool if its ids match\n",
            opt->state, st.pool.path, pool.path);
  if (!err)
    err = alq_state_exclusions(&st, out);
  alq_state_free(&st);
  return err;
}

alq_err alq_state_clusters_broadcast(MPI_Comm comm, const alq_select_options *opt, alq_saved_clusters *out) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  alq_state st;
  memset(&st, 0, sizeof st);
  /* Only rank 0 parsed the options: it decides for every rank. */
  alq_err err = rank == 0 && opt->state[0] && alq_state_exists(opt->state) ? alq_state_read(opt->state, &st)
                                                                         : ALQ_OK;
  int64_t shape[2] = {st.n_clusters, st.cluster_dim};
  err = alq_agree(comm, err);
  if (!err)
    err = alq_bcast(shape, sizeof shape, 0, comm);
  if (!err && shape[0] > 0) {
    err = alq_agree(comm, alq_malloc(&out->c, sizeof(float) * shape[0] * shape[1], "state clusters"));
    if (!err && rank == 0)
      memcpy(out->c, st.clusters, sizeof(float) * shape[0] * shape[1]);
    if (!err)
      err = alq_bcast(out->c, sizeof(float) * shape[0] * shape[1], 0, comm);
    out->k = err ? 0 : shape[0];
    out->d = shape[1];
  }
  alq_state_free(&st);
  return err;
}

/* Keeps the clusters the selection computed (Cluster-Margin's first round). */
static alq_err keep_clusters(alq_state *st, const alq_saved_clusters *c) {
  if (c->k == 0)
    return ALQ_OK;
  float *copy = NULL;
  ALQ_CHECK(alq_malloc(&copy, sizeof(float) * c->k * c->d, "state clusters"));
  memcpy(copy, c->c, sizeof(float) * c->k * c->d);
  free(st->clusters);
  st->clusters = copy;
  st->n_clusters = c->k;
  st->cluster_dim = c->d;
  return ALQ_OK;
}

/* Writes the state with this batch as its next round to `tmp_state`. */
static alq_err record(const alq_select_options *opt, const alq_request *req, const alq_labeled *initial,
                      const alq_batch *batch, const alq_manifest_bytes *manifest, const char *tmp_state,
                      int64_t *round) {
  alq_state st;
  alq_pool_identity pool = identity_of(req);
  if (alq_state_exists(opt->state)) {
    ALQ_CHECK(alq_state_read(opt->state, &st));
  } else {
    ALQ_CHECK(alq_state_create(&pool, initial, &st));
  }
  int64_t now = (int64_t)time(NULL);
  alq_err err = alq_state_check_pool(opt->state, &st, &pool, &req->meta, st.n_rounds + 1, now);
  if (!err)
    err = alq_state_add_round(&st, batch->ids, batch->n, opt->out, manifest, now);
  if (!err)
    err = keep_clusters(&st, &batch->clusters);
  if (!err)
    err = alq_state_write_staged(tmp_state, opt->state, &st);
  *round = st.n_rounds;
  alq_state_free(&st);
  return err;
}

alq_err alq_state_record_batch(const alq_select_options *opt, const alq_request *req, const alq_labeled *initial,
                               const alq_batch *batch, const alq_manifest_bytes *manifest, alq_staged_outputs *st) {
  if (batch->n == 0) {
    if (!req->quiet)
      fprintf(stderr, "alq: note: nothing was selected, so %s records no new round\n", opt->state);
    return ALQ_OK;
  }
  const char *tmp_state = NULL;
  ALQ_CHECK(alq_staged_add(st, opt->state, &tmp_state));
  alq_err err = record(opt, req, initial, batch, manifest, tmp_state, &st->round);
  if (err) {
    alq_paths_discard(&tmp_state, 1);
    st->n--;
  }
  return err;
}
