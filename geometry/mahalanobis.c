/* geometry/mahalanobis.c: class-conditional Gaussians with one shared, shrunk
 * covariance on the labeled set (Lee et al. 2018), and each item's distance.
 *
 * S = (1/n) sum_i (x_i - mu_c(i)) (x_i - mu_c(i))^T is singular whenever
 * n < d, so it is shrunk towards (tr S / d) I with the Ledoit-Wolf (2004)
 * weight a = min(b2, d2) / d2, b2 = (1/n) ((1/n) sum_i ||z_i||^4 - ||S||_F^2),
 * d2 = ||S||_F^2 - d (tr S / d)^2 (sklearn's ledoit_wolf on the centred z).
 * Sigma = L L^T by PDPOTRF, L^-1 by PDTRTRI, both on the fit grid; the
 * distance is then a Euclidean one in the whitened space. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "geometry_impl.h"
#include "scalapack.h"

/* x . y over n doubles in one fixed order: four lanes (element k into lane
 * k mod 4), then (l0 + l1) + (l2 + l3); no contraction (-ffp-contract=off). */
static double dot_fixed(const double *x, const double *y, int64_t n) {
  double l[4] = {0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 4 <= n; k += 4)
    for (int j = 0; j < 4; j++)
      l[j] += x[k + j] * y[k + j];
  for (int j = 0; k < n; k++, j++)
    l[j] += x[k] * y[k];
  return (l[0] + l[1]) + (l[2] + l[3]);
}

/* y = L^-1 z for the row-major lower-triangular whitener. */
static void whiten(const alq_mahalanobis *m, const double *z, double *y) {
  for (int64_t i = 0; i < m->dim; i++)
    y[i] = dot_fixed(m->whitener + i * m->dim, z, i + 1);
}

double alq_mahalanobis_distance(const alq_mahalanobis *m, const float *x, double *work) {
  double *z = work, *y = work + m->dim;
  for (int64_t k = 0; k < m->dim; k++)
    z[k] = (double)x[k] - m->center[k];
  whiten(m, z, y);
  double best = INFINITY;
  for (int64_t c = 0; c < m->n_classes; c++) {
    const double *mu = m->white_means + c * m->dim;
    double l[4] = {0, 0, 0, 0};
    for (int64_t k = 0; k < m->dim; k++) {
      double t = y[k] - mu[k];
      l[k % 4] += t * t;
    }
    double dist = (l[0] + l[1]) + (l[2] + l[3]);
    if (dist < best)
      best = dist;
  }
  return best;
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* The classes present (sorted) and each item's class index. */
static alq_err class_index(const int32_t *labels, int64_t n, alq_mahalanobis *m, int64_t **of) {
  ALQ_CHECK(alq_malloc(&m->classes, sizeof(int32_t) * n, "classes"));
  memcpy(m->classes, labels, sizeof(int32_t) * n);
  qsort(m->classes, (size_t)n, sizeof(int32_t), cmp_i32);
  int64_t c = 0;
  for (int64_t i = 0; i < n; i++)
    if (i == 0 || m->classes[i] != m->classes[c - 1])
      m->classes[c++] = m->classes[i];
  m->n_classes = c;
  ALQ_CHECK(alq_malloc(of, sizeof(int64_t) * n, "class of item"));
  for (int64_t i = 0; i < n; i++) {
    int32_t *hit = bsearch(&labels[i], m->classes, (size_t)c, sizeof(int32_t), cmp_i32);
    (*of)[i] = hit - m->classes;
  }
  return ALQ_OK;
}

/* Class means (mu_c - center, in means) and the centred rows z_i = x_i - mu_c(i). */
static alq_err centre(const float *x, const int64_t *of, int64_t n, int64_t d, alq_mahalanobis *m, double **means,
                      double **z) {
  int64_t C = m->n_classes;
  ALQ_CHECK(alq_calloc(means, (size_t)(C * d), sizeof(double), "class means"));
  ALQ_CHECK(alq_malloc(z, sizeof(double) * n * d, "centred labeled rows"));
  int64_t *count = NULL;
  ALQ_CHECK(alq_calloc(&count, (size_t)C, sizeof(int64_t), "class counts"));
  for (int64_t i = 0; i < n; i++) {
    for (int64_t k = 0; k < d; k++)
      m->center[k] += (double)x[i * d + k];
    count[of[i]]++;
  }
  for (int64_t k = 0; k < d; k++)
    m->center[k] /= (double)n;
  for (int64_t i = 0; i < n; i++)
    for (int64_t k = 0; k < d; k++)
      (*means)[of[i] * d + k] += (double)x[i * d + k] - m->center[k];
  for (int64_t c = 0; c < C; c++)
    for (int64_t k = 0; k < d; k++)
      (*means)[c * d + k] /= (double)count[c];
  for (int64_t i = 0; i < n; i++)
    for (int64_t k = 0; k < d; k++)
      (*z)[i * d + k] = ((double)x[i * d + k] - m->center[k]) - (*means)[of[i] * d + k];
  free(count);
  return ALQ_OK;
}

/* ||S||_F^2 from the lower triangle of the distributed S: each grid process's
 * share, summed in grid order on every rank (a fixed order for a fixed grid). */
static alq_err frobenius2(MPI_Comm comm, const geo_grid *g, const geo_matrix *s, double *out) {
  int size;
  MPI_Comm_size(comm, &size);
  double mine = 0, *all = NULL;
  for (int64_t lj = 0; lj < s->lcols; lj++) {
    int64_t gj = geo_global_index(lj, g->mycol, g->npcol);
    for (int64_t li = 0; li < s->lrows; li++) {
      int64_t gi = geo_global_index(li, g->myrow, g->nprow);
      double v = s->local[li + lj * s->lrows];
      if (gi > gj)
        mine += 2 * v * v;
      else if (gi == gj)
        mine += v * v;
    }
  }
  ALQ_CHECK(alq_agree(comm, alq_malloc(&all, sizeof(double) * size, "Frobenius shares")));
  alq_err err = alq_allgather_bytes(&mine, sizeof mine, all, comm);
  *out = 0;
  for (int r = 0; r < size; r++)
    *out += all[r];
  free(all);
  return err;
}

/* Sigma = (1 - a) S + a mu I on the lower triangle, a by Ledoit-Wolf. */
static alq_err shrink(MPI_Comm comm, const geo_grid *g, const double *z, int64_t n, int64_t d, geo_matrix *s,
                      alq_mahalanobis *m) {
  double tr = 0, quart = 0;
  for (int64_t i = 0; i < n; i++) {
    double q = dot_fixed(z + i * d, z + i * d, d);
    tr += q;
    quart += q * q;
  }
  tr /= (double)n;
  double f2 = 0;
  ALQ_CHECK(frobenius2(comm, g, s, &f2));
  double mu = tr / (double)d, d2 = f2 - (double)d * mu * mu;
  double b2 = (quart / (double)n - f2) / (double)n;
  if (b2 > d2)
    b2 = d2;
  m->shrinkage = d2 > 0 ? b2 / d2 : 1.0;
  m->trace_scale = mu;
  if (!(mu > 0))
    return alq_error_set(ALQ_ERR_INPUT, "the labeled items have no spread within their classes: no covariance");
  for (int64_t lj = 0; lj < s->lcols; lj++) {
    int64_t gj = geo_global_index(lj, g->mycol, g->npcol);
    for (int64_t li = 0; li < s->lrows; li++) {
      int64_t gi = geo_global_index(li, g->myrow, g->nprow);
      double *v = &s->local[li + lj * s->lrows];
      *v = gi < gj ? 0.0 : (1.0 - m->shrinkage) * *v + (gi == gj ? m->shrinkage * mu : 0.0);
    }
  }
  return ALQ_OK;
}

/* Z (n x d) as a distributed matrix on g: each process copies its blocks. */
static alq_err distribute_rows(const geo_grid *g, const double *z, int64_t n, int64_t d, geo_matrix *a) {
  ALQ_CHECK(geo_matrix_alloc(g, n, d, a));
  for (int64_t lj = 0; lj < a->lcols; lj++) {
    int64_t gj = geo_global_index(lj, g->mycol, g->npcol);
    for (int64_t li = 0; li < a->lrows; li++)
      a->local[li + lj * a->lrows] = z[geo_global_index(li, g->myrow, g->nprow) * d + gj];
  }
  return ALQ_OK;
}

/* PDSYRK (S = Z^T Z / n), shrinkage, PDPOTRF, PDTRTRI on the fit grid; L^-1
 * gathered to rank 0.  Every rank returns the same status. */
static alq_err factor(MPI_Comm comm, const geo_grid *all, const geo_grid *g, const double *z, int64_t n, int64_t d,
                      alq_mahalanobis *m, double **linv) {
  geo_matrix za, s;
  memset(&za, 0, sizeof za);
  memset(&s, 0, sizeof s);
  alq_err err = distribute_rows(g, z, n, d, &za);
  if (!err)
    err = geo_matrix_alloc(g, d, d, &s);
  err = alq_agree(comm, err);
  if (!err && geo_grid_member(g)) {
    int in = (int)d, ik = (int)n, one = 1;
    double alpha = 1.0 / (double)n, beta = 0.0;
    pdsyrk_("L", "T", &in, &ik, &alpha, za.local, &one, &one, za.desc, &beta, s.local, &one, &one, s.desc);
  }
  geo_matrix_free(&za);
  if (!err)
    err = alq_agree(comm, shrink(comm, g, z, n, d, &s, m));
  int info = 0;
  if (!err && geo_grid_member(g)) {
    int in = (int)d, one = 1;
    pdpotrf_("L", &in, s.local, &one, &one, s.desc, &info);
    if (!info)
      pdtrtri_("L", "N", &in, s.local, &one, &one, s.desc, &info);
  }
  if (!err && info)
    err = alq_error_set(ALQ_ERR_INPUT, "the shrunk labeled covariance (%lldx%lld, shrinkage %.3g) is not positive "
                        "definite (PDPOTRF/PDTRTRI info %d)", (long long)d, (long long)d, m->shrinkage, info);
  err = alq_agree(comm, err);
  if (!err)
    err = geo_matrix_gather(comm, all, &s, linv);
  geo_matrix_free(&s);
  return err;
}

/* Rank 0's column-major L^-1 as the row-major whitener on every rank. */
static alq_err share_whitener(MPI_Comm comm, const double *linv, alq_mahalanobis *m) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int64_t d = m->dim;
  ALQ_CHECK(alq_agree(comm, alq_malloc(&m->whitener, sizeof(double) * d * d, "whitener")));
  for (int64_t i = 0; rank == 0 && i < d; i++)
    for (int64_t j = 0; j < d; j++)
      m->whitener[i * d + j] = j <= i ? linv[i + j * d] : 0.0;
  return alq_bcast(m->whitener, sizeof(double) * d * d, 0, comm);
}

static alq_err fit_grids(MPI_Comm comm, const alq_fit_options *opt, geo_grid *all, geo_grid *g) {
  int size, pr, pc;
  MPI_Comm_size(comm, &size);
  geo_grid_shape_for(size, &pr, &pc);
  ALQ_CHECK(alq_agree(comm, geo_grid_init(comm, pr, pc, all)));
  alq_err err = alq_agree(comm, geo_grid_init(comm, opt->grid_rows > 0 ? opt->grid_rows : 1,
                                              opt->grid_cols > 0 ? opt->grid_cols : 1, g));
  if (err)
    geo_grid_free(all);
  return err;
}

alq_err alq_mahalanobis_fit(MPI_Comm comm, const float *x, const int32_t *labels, int64_t n, int64_t dim,
                            const alq_fit_options *opt, alq_mahalanobis *out) {
  memset(out, 0, sizeof *out);
  out->dim = dim;
  out->fit_rows = n;
  int64_t *of = NULL;
  double *means = NULL, *z = NULL, *linv = NULL;
  alq_err err = class_index(labels, n, out, &of);
  if (!err && (n < 2 || n <= out->n_classes))
    err = alq_error_set(ALQ_ERR_INPUT, "Mahalanobis needs more labeled items than classes: %lld item(s), %lld class(es)",
                        (long long)n, (long long)out->n_classes);
  if (!err)
    err = alq_calloc(&out->center, (size_t)dim, sizeof(double), "labeled mean");
  if (!err)
    err = centre(x, of, n, dim, out, &means, &z);
  err = alq_agree(comm, err);
  geo_grid all, g;
  if (!err)
    err = fit_grids(comm, opt, &all, &g);
  if (!err) {
    err = factor(comm, &all, &g, z, n, dim, out, &linv);
    if (!err)
      err = share_whitener(comm, linv, out);
    geo_grid_free(&g);
    geo_grid_free(&all);
  }
  if (!err)
    err = alq_agree(comm, alq_malloc(&out->white_means, sizeof(double) * out->n_classes * dim, "whitened means"));
  for (int64_t c = 0; !err && c < out->n_classes; c++)
    whiten(out, means + c * dim, out->white_means + c * dim);
  free(of);
  free(means);
  free(z);
  free(linv);
  if (err)
    alq_mahalanobis_free(out);
  return err;
}

alq_err alq_mahalanobis_fit_labeled(MPI_Comm comm, alq_source *src, const alq_labeled *labeled,
                                    const alq_fit_options *opt, alq_mahalanobis *out) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int64_t d = src->meta.dim, n = labeled->n;
  float *x = NULL;
  alq_err err = alq_agree(comm, alq_malloc_aligned(&x, sizeof(float) * d * (n ? n : 1), "labeled embeddings"));
  if (!err) { /* the fetch is collective: rank 0 asks for the rows, the others for none */
    alq_rows rows = {.embeddings = x};
    err = alq_source_fetch(src, labeled->ids, rank == 0 ? n : 0, ALQ_FIELD_EMBEDDINGS, &rows);
    if (!err && rank == 0)
      err = alq_rows_validate(&src->meta, &rows, 0, n, ALQ_FIELD_EMBEDDINGS);
  }
  err = alq_agree(comm, err);
  if (!err)
    err = alq_bcast(x, sizeof(float) * d * n, 0, comm);
  if (!err)
    err = alq_mahalanobis_fit(comm, x, labeled->labels, n, d, opt, out);
  free(x);
  return err;
}

void alq_mahalanobis_free(alq_mahalanobis *m) {
  free(m->classes);
  free(m->center);
  free(m->whitener);
  free(m->white_means);
  memset(m, 0, sizeof *m);
}
