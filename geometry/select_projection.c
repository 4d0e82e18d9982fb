/* geometry/select_projection.c: the projection stage of alq select.
 *
 * With --projection FILE (fitted once by alq project) or --project SPEC
 * (fitted in this run), AnchorAL's retrieval and k-center see projected
 * embeddings; the probabilities are untouched.  The pipeline needs no change:
 * the source it streams is a projection source. */
#include <stdio.h>
#include <string.h>

#include "alq/comm.h"
#include "geometry_impl.h"

static alq_err check_file(const char *path, const alq_pool_meta *meta, alq_projection *p) {
  ALQ_CHECK(alq_projection_read(path, p));
  alq_err err = ALQ_OK;
  if (p->dim != meta->dim)
    err = alq_error_set(ALQ_ERR_INPUT, "projection %s expects %lld columns, pool %s /embeddings has %lld", path,
                        (long long)p->dim, meta->path, (long long)meta->dim);
  else if (p->n_items != meta->n_items)
    err = alq_error_set(ALQ_ERR_INPUT, "projection %s was fitted on %s with %lld items, pool %s has %lld", path,
                        p->pool, (long long)p->n_items, meta->path, (long long)meta->n_items);
  return err;
}

alq_err alq_projection_prepare(const alq_select_options *opt, alq_request *req) {
  req->pool_dim = req->meta.dim;
  if (!opt->project[0] && !opt->projection[0])
    return ALQ_OK;
  if (opt->project[0] && opt->projection[0])
    return alq_error_set(ALQ_ERR_USAGE, "--project and --projection exclude each other: fit now or use a file");
  if (opt->model[0])
    return alq_error_set(ALQ_ERR_USAGE, "--project/--projection apply to the pool's embeddings, not with --model");
  int64_t k = 0;
  if (opt->projection[0]) {
    alq_projection p;
    ALQ_CHECK(check_file(opt->projection, &req->meta, &p));
    k = p.k;
    req->projection_ids_checksum = p.ids_checksum;
    alq_projection_free(&p);
  } else {
    int whiten = 0;
    ALQ_CHECK(alq_projection_parse(opt->project, &whiten, &k));
    if (k > req->meta.dim)
      return alq_error_set(ALQ_ERR_USAGE, "--project %s: K = %lld is more than the %lld columns of %s /embeddings",
                           opt->project, (long long)k, (long long)req->meta.dim, opt->pool);
  }
  snprintf(req->project, sizeof req->project, "%s", opt->project);
  snprintf(req->projection, sizeof req->projection, "%s", opt->projection);
  req->fit_sample = opt->fit_sample;
  req->meta.dim = k;
  return ALQ_OK;
}

alq_err alq_projection_source_open(MPI_Comm comm, const alq_request *req, alq_source **out) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  *out = NULL;
  alq_pool_meta pool = req->meta;
  pool.dim = req->pool_dim;
  alq_projection p;
  memset(&p, 0, sizeof p);
  if (req->projection[0]) {
    ALQ_CHECK(alq_agree(comm, rank == 0 ? check_file(req->projection, &pool, &p) : ALQ_OK));
    ALQ_CHECK(alq_projection_bcast(comm, &p));
  } else {
    int whiten = 0;
    int64_t k = 0;
    ALQ_CHECK(alq_projection_parse(req->project, &whiten, &k));
    alq_fit_options fit = {req->fit_sample, req->seed, 1, 1, 0}; /* reads sized for the pool's own d */
    ALQ_CHECK(alq_projection_fit(comm, &pool, &fit, whiten, k, &p));
  }
  alq_err err = alq_source_open_projected(comm, &pool, &p, out);
  alq_projection_free(&p);
  return err;
}

alq_err alq_projection_check_pool(const alq_request *req, uint64_t ids_checksum) {
  if (!req->projection[0] || ids_checksum == req->projection_ids_checksum)
    return ALQ_OK;
  return alq_error_set(ALQ_ERR_INPUT, "projection %s was fitted on a pool with other ids (ids checksum %016llx), "
                       "not on %s (%016llx)", req->projection, (unsigned long long)req->projection_ids_checksum,
                       req->meta.path, (unsigned long long)ids_checksum);
}
