/* geometry/pca.c: the PCA projection: covariance pass, PDSYEVD on a grid of
 * fixed shape, the top K eigenvectors gathered on rank 0, broadcast. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/logview.h"
#include "geometry_impl.h"
#include "scalapack.h"

/* Every eigenpair of the covariance on the solver grid (PDSYEVD destroys its
 * input, so the covariance is copied there first).  w: every eigenvalue,
 * ascending, on every rank. */
static alq_err eigensolve(MPI_Comm comm, const geo_grid *all, const geo_grid *solver, const geo_matrix *cov,
                          geo_matrix *z, double *w) {
  int64_t d = cov->m;
  geo_matrix a;
  alq_err err = alq_agree(comm, geo_matrix_alloc(solver, d, d, &a));
  if (!err)
    err = alq_agree(comm, geo_matrix_alloc(solver, d, d, z));
  if (err) {
    geo_matrix_free(&a);
    return err;
  }
  geo_matrix_copy(all, d, d, cov, 0, 0, &a, 0, 0);
  int info = 0;
  if (geo_grid_member(solver)) {
    int n = (int)d, one = 1, lwork = -1, liwork = -1, iq = 0;
    double wq = 0;
    pdsyevd_("V", "U", &n, a.local, &one, &one, a.desc, w, z->local, &one, &one, z->desc, &wq, &lwork, &iq, &liwork,
             &info);
    /* The query under-reports what PDORMTR needs inside PDSYEVD (ScaLAPACK
     * 2.2 fails with "PDORMTR parameter 16 had an illegal value"): add, with
     * the largest local block (process 0's), the documented bound
     * 1 + 6n + 2 np nq + trilwmin + 2n and PDORMTR's (np + nq + nb) nb + nb^2. */
    int zero = 0, nbi = GEO_NB;
    int64_t np = numroc_(&n, &nbi, &zero, &zero, &solver->nprow), nq = numroc_(&n, &nbi, &zero, &zero, &solver->npcol);
    int64_t nb = GEO_NB;
    int64_t extra = 1 + 11 * (int64_t)n + 2 * np * nq + nb * (np + 1) + 3 * nb + (np + nq + nb) * nb + nb * nb;
    lwork = (int)((int64_t)wq + extra);
    liwork = iq > 0 ? iq : 1;
    double *work = NULL;
    int *iwork = NULL;
    if (!info && (alq_malloc(&work, sizeof(double) * lwork, "eigensolver workspace") ||
                  alq_malloc(&iwork, sizeof(int) * liwork, "eigensolver workspace")))
      info = -1000;
    if (!info)
      pdsyevd_("V", "U", &n, a.local, &one, &one, a.desc, w, z->local, &one, &one, z->desc, work, &lwork, iwork,
               &liwork, &info);
    free(work);
    free(iwork);
  }
  geo_matrix_free(&a);
  err = info == -1000 ? ALQ_ERR_MEMORY
        : info     ? alq_error_set(ALQ_ERR_INTERNAL, "PDSYEVD failed on a %lldx%lld covariance (info %d)",
                                   (long long)d, (long long)d, info)
                   : ALQ_OK;
  err = alq_agree(comm, err);
  /* Rank 0 is on every grid: its eigenvalues reach the ranks outside the solver grid. */
  if (!err)
    err = alq_bcast(w, sizeof(double) * d, 0, comm);
  if (err)
    geo_matrix_free(z);
  return err;
}

/* The entry of largest magnitude (ties: the lower index) made positive, so
 * the file does not carry the solver's arbitrary sign. */
static void fix_sign(double *v, int64_t d) {
  int64_t best = 0;
  for (int64_t i = 1; i < d; i++)
    if (fabs(v[i]) > fabs(v[best]))
      best = i;
  if (v[best] < 0)
    for (int64_t i = 0; i < d; i++)
      v[i] = -v[i];
}

/* Rank 0: the projection from the top K eigenvectors (top: d x k, column-major,
 * ascending eigenvalue order) and every eigenvalue (ascending). */
static alq_err build(const geo_covariance *cov, double *top, const double *w, alq_projection *p) {
  int64_t d = p->dim, k = p->k;
  ALQ_CHECK(alq_malloc(&p->matrix, sizeof(float) * k * d, "projection matrix"));
  ALQ_CHECK(alq_malloc(&p->mean, sizeof(float) * d, "projection mean"));
  ALQ_CHECK(alq_malloc(&p->eigenvalues, sizeof(double) * d, "eigenvalues"));
  for (int64_t i = 0; i < d; i++) {
    p->eigenvalues[i] = w[d - 1 - i];
    p->mean[i] = (float)cov->mean[i];
  }
  /* A whitened axis of (numerically) zero variance would blow up: floor the
   * variance at 1e-10 of the largest. */
  double floor = 1e-10 * p->eigenvalues[0];
  if (p->whiten && !(p->eigenvalues[0] > 0))
    return alq_error_set(ALQ_ERR_INPUT, "%s: the embeddings have no variance; pca-whiten cannot scale them", p->pool);
  for (int64_t r = 0; r < k; r++) {
    double *v = top + (k - 1 - r) * d;
    fix_sign(v, d);
    double lam = p->eigenvalues[r] > floor ? p->eigenvalues[r] : floor;
    double scale = p->whiten ? 1.0 / sqrt(lam) : 1.0;
    for (int64_t i = 0; i < d; i++)
      p->matrix[r * d + i] = (float)(v[i] * scale);
  }
  return ALQ_OK;
}

/* The top K eigenvectors (columns d-k .. d-1 of z) on rank 0, d x k column-major. */
static alq_err gather_top(MPI_Comm comm, const geo_grid *all, const geo_matrix *z, int64_t k, double **out) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  *out = NULL;
  geo_grid one;
  ALQ_CHECK(alq_agree(comm, geo_grid_init(comm, 1, 1, &one)));
  geo_matrix top;
  alq_err err = alq_agree(comm, geo_matrix_alloc(&one, z->m, k, &top));
  if (!err) {
    geo_matrix_copy(all, z->m, k, z, 0, z->n - k, &top, 0, 0);
    if (rank == 0) {
      *out = top.local;
      top.local = NULL;
    }
  }
  geo_matrix_free(&top);
  geo_grid_free(&one);
  return err;
}

alq_err geo_pca_solve(MPI_Comm comm, alq_source *src, const alq_fit_options *opt, int64_t k, geo_covariance *cov,
                      double **w, double **top) {
  int size;
  MPI_Comm_size(comm, &size);
  memset(cov, 0, sizeof *cov);
  *w = *top = NULL;
  int pr = 1, pc = 1;
  geo_grid_shape_for(size, &pr, &pc);
  geo_grid all, solver;
  ALQ_CHECK(alq_agree(comm, geo_grid_init(comm, pr, pc, &all)));
  alq_err err = alq_agree(comm, geo_grid_init(comm, opt->grid_rows > 0 ? opt->grid_rows : 1,
                                              opt->grid_cols > 0 ? opt->grid_cols : 1, &solver));
  if (err) {
    geo_grid_free(&all);
    return err;
  }
  geo_matrix z;
  memset(&z, 0, sizeof z);
  alq_phase_begin(ALQ_PHASE_SCORE);
  err = geo_covariance_pass(comm, &all, src, opt, cov);
  alq_phase_end(ALQ_PHASE_SCORE);
  if (!err)
    err = alq_agree(comm, alq_malloc(w, sizeof(double) * cov->dim, "eigenvalues"));
  if (!err) {
    alq_phase_begin(ALQ_PHASE_SELECT);
    err = eigensolve(comm, &all, &solver, &cov->cov, &z, *w);
    alq_phase_end(ALQ_PHASE_SELECT);
  }
  if (!err)
    err = gather_top(comm, &all, &z, k, top);
  geo_matrix_free(&z);
  geo_grid_free(&solver);
  geo_grid_free(&all);
  if (err) {
    free(*w);
    *w = NULL;
    geo_covariance_free(cov);
  }
  return err;
}

static alq_err fit_on_source(MPI_Comm comm, alq_source *src, const alq_fit_options *opt, alq_projection *out) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  geo_covariance cov;
  double *w = NULL, *top = NULL;
  ALQ_CHECK(geo_pca_solve(comm, src, opt, out->k, &cov, &w, &top));
  out->fit_rows = cov.n;
  out->ids_checksum = cov.ids_checksum;
  alq_err err = alq_agree(comm, rank == 0 ? build(&cov, top, w, out) : ALQ_OK);
  if (!err)
    err = alq_projection_bcast(comm, out);
  free(top);
  free(w);
  geo_covariance_free(&cov);
  return err;
}

alq_err alq_projection_fit(MPI_Comm comm, const alq_pool_meta *meta, const alq_fit_options *opt, int whiten,
                           int64_t k, alq_projection *out) {
  memset(out, 0, sizeof *out);
  if (k > meta->dim)
    return alq_error_set(ALQ_ERR_USAGE, "--project: K = %lld is more than the %lld columns of %s /embeddings",
                         (long long)k, (long long)meta->dim, meta->path);
  out->k = k;
  out->dim = meta->dim;
  out->whiten = whiten;
  out->sample = opt->sample;
  out->seed = opt->seed;
  out->grid_rows = opt->grid_rows > 0 ? opt->grid_rows : 1;
  out->grid_cols = opt->grid_cols > 0 ? opt->grid_cols : 1;
  out->n_items = meta->n_items;
  snprintf(out->pool, sizeof out->pool, "%s", meta->path);
  alq_pool_meta in = *meta;
  in.has_probs = 0; /* the fit reads embeddings only */
  alq_source *src = NULL;
  ALQ_CHECK(alq_agree(comm, alq_source_open(comm, &in, &src)));
  alq_err err = fit_on_source(comm, src, opt, out);
  alq_source_close(src);
  if (err)
    alq_projection_free(out);
  return err;
}

void alq_projection_free(alq_projection *p) {
  free(p->matrix);
  free(p->mean);
  free(p->eigenvalues);
  p->matrix = p->mean = NULL;
  p->eigenvalues = NULL;
}
