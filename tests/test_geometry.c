/* tests/test_geometry.c: the geometry module against one-rank LAPACK.
 *
 *   test_geometry pca  POOL K RxC OUT.h5   covariance pass + PDSYEVD on an RxC grid
 *   test_geometry maha POOL RxC OUT.h5     Mahalanobis fit (PDPOTRF) + every item's distance
 *
 * Rank 0 writes what the library computed to OUT.h5 (tests/geometry.py
 * compares it with numpy and across rank counts) and checks it against an
 * independent reference: the whole pool read serially, a two-pass covariance
 * and LAPACK's dsyevd_ (eigenvalues to 1e-10 of the largest, the top-K
 * subspace to an angle of 1e-8), or the shrunk covariance built from plain
 * loops, dpotrf_ and forward substitution (distances to 1e-9 relative).
 * Exit 0 when within tolerance, 1 otherwise. */
#include <hdf5.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/geometry.h"
#include "alq/h5_records.h"
#include "alq/partition.h"
#include "alq/worker.h"
#include "geometry_impl.h"

void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w, double *work,
             const int *lwork, int *iwork, const int *liwork, int *info);
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);

static void die(const char *what) {
  fprintf(stderr, "test_geometry: %s: %s\n", what, alq_error_message());
  MPI_Abort(MPI_COMM_WORLD, 1);
}

/* Rank 0: the whole /embeddings as doubles (n x d row-major). */
static double *read_all(const char *path, int64_t n, int64_t d) {
  float *f = malloc(sizeof(float) * n * d);
  double *x = malloc(sizeof(double) * n * d);
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t ds = H5Dopen2(file, "embeddings", H5P_DEFAULT);
  H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, f);
  H5Dclose(ds);
  H5Fclose(file);
  for (int64_t i = 0; i < n * d; i++)
    x[i] = f[i];
  free(f);
  return x;
}

static void parse_grid(const char *text, alq_fit_options *opt) {
  if (sscanf(text, "%dx%d", &opt->grid_rows, &opt->grid_cols) != 2) {
    fprintf(stderr, "test_geometry: grid '%s' is not RxC\n", text);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
}

static alq_source *open_pool(const char *path, alq_pool_meta *meta) {
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  alq_err err = alq_agree(MPI_COMM_WORLD, rank == 0 ? alq_source_describe(path, meta) : ALQ_OK);
  if (!err)
    err = alq_bcast(meta, sizeof *meta, 0, MPI_COMM_WORLD);
  meta->has_probs = 0;
  alq_source *src = NULL;
  if (!err)
    err = alq_agree(MPI_COMM_WORLD, alq_source_open(MPI_COMM_WORLD, meta, &src));
  if (err)
    die("open pool");
  return src;
}

/* LAPACK reference: two-pass covariance, dsyevd_; w ascending, a = vectors. */
static void lapack_eigen(const double *x, int64_t n, int64_t d, double *a, double *w) {
  double *mean = calloc(d, sizeof(double));
  for (int64_t i = 0; i < n; i++)
    for (int64_t k = 0; k < d; k++)
      mean[k] += x[i * d + k] / (double)n;
  memset(a, 0, sizeof(double) * d * d);
  double *z = malloc(sizeof(double) * d);
  for (int64_t i = 0; i < n; i++) {
    for (int64_t k = 0; k < d; k++)
      z[k] = x[i * d + k] - mean[k];
    for (int64_t c = 0; c < d; c++)
      for (int64_t r = 0; r <= c; r++)
        a[r + c * d] += z[r] * z[c];
  }
  for (int64_t c = 0; c < d; c++)
    for (int64_t r = 0; r <= c; r++)
      a[r + c * d] /= (double)(n - 1);
  int in = (int)d, lwork = -1, liwork = -1, iq = 0, info = 0;
  double wq = 0;
  dsyevd_("V", "U", &in, a, &in, w, &wq, &lwork, &iq, &liwork, &info);
  lwork = (int)wq + 1;
  liwork = iq;
  double *work = malloc(sizeof(double) * lwork);
  int *iwork = malloc(sizeof(int) * liwork);
  dsyevd_("V", "U", &in, a, &in, w, work, &lwork, iwork, &liwork, &info);
  free(work);
  free(iwork);
  free(z);
  free(mean);
}

/* sin of the largest principal angle between span(u) and span(v), both d x k
 * orthonormal column-major: ||v - u (u^T v)||_2 bounded by its Frobenius norm
 * over columns' max. */
static double subspace_sin(const double *u, const double *v, int64_t d, int64_t k) {
  double worst = 0;
  double *c = malloc(sizeof(double) * k);
  for (int64_t j = 0; j < k; j++) {
    for (int64_t i = 0; i < k; i++) {
      c[i] = 0;
      for (int64_t r = 0; r < d; r++)
        c[i] += u[r + i * d] * v[r + j * d];
    }
    double res = 0;
    for (int64_t r = 0; r < d; r++) {
      double e = v[r + j * d];
      for (int64_t i = 0; i < k; i++)
        e -= u[r + i * d] * c[i];
      res += e * e;
    }
    if (sqrt(res) > worst)
      worst = sqrt(res);
  }
  free(c);
  return worst;
}

static int run_pca(const char *pool, int64_t k, const char *grid, const char *out) {
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  alq_fit_options opt = {0};
  parse_grid(grid, &opt);
  alq_pool_meta meta;
  alq_source *src = open_pool(pool, &meta);
  geo_covariance cov;
  double *w = NULL, *top = NULL;
  if (geo_pca_solve(MPI_COMM_WORLD, src, &opt, k, &cov, &w, &top))
    die("geo_pca_solve");
  alq_source_close(src);
  int bad = 0;
  if (rank == 0) {
    int64_t d = meta.dim, n = meta.n_items;
    double *wd = malloc(sizeof(double) * d), *vk = malloc(sizeof(double) * k * d);
    for (int64_t i = 0; i < d; i++)
      wd[i] = w[d - 1 - i];
    for (int64_t r = 0; r < k; r++)
      for (int64_t i = 0; i < d; i++)
        vk[r * d + i] = top[(k - 1 - r) * d + i];
    hid_t f = H5Fcreate(out, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    alq_h5w_1d(f, "w", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, d, wd);
    alq_h5w_1d(f, "v", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, k * d, vk);
    alq_h5w_1d(f, "mean", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, d, cov.mean);
    alq_h5w_attr_int64(f, "fit_rows", cov.n);
    H5Fclose(f);
    double *x = read_all(pool, n, d), *a = malloc(sizeof(double) * d * d), *wl = malloc(sizeof(double) * d);
    lapack_eigen(x, n, d, a, wl);
    double werr = 0;
    for (int64_t i = 0; i < d; i++)
      werr = fmax(werr, fabs(wl[i] - w[i]) / wl[d - 1]);
    double sin = subspace_sin(a + (d - k) * d, top, d, k);
    bad = !(werr <= 1e-10) || !(sin <= 1e-8);
    printf("pca d=%lld n=%lld k=%lld grid=%s: eigenvalue error %.3g (of the largest), subspace sin %.3g vs LAPACK: %s\n",
           (long long)d, (long long)n, (long long)k, grid, werr, sin, bad ? "FAIL" : "ok");
    free(x);
    free(a);
    free(wl);
    free(wd);
    free(vk);
  }
  free(w);
  free(top);
  geo_covariance_free(&cov);
  MPI_Bcast(&bad, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return bad;
}

typedef struct {
  const alq_mahalanobis *m;
  double *work, *dist;
  int64_t n;
} score_ctx;

static alq_err score_chunk(void *p, const alq_chunk_view *c) {
  score_ctx *s = p;
  for (int64_t i = 0; i < c->count; i++)
    s->dist[s->n++] = alq_mahalanobis_distance(s->m, c->rows->embeddings + i * s->m->dim, s->work);
  return ALQ_OK;
}

/* LAPACK reference on rank 0: S from plain loops, the library's shrinkage,
 * dpotrf_, forward substitution per item and class. */
static double lapack_maha_error(const double *x, int64_t n, int64_t d, const alq_labeled *lab, double a,
                                const double *dist) {
  int64_t C = 0;
  int32_t cls[4096];
  for (int64_t i = 0; i < lab->n; i++) {
    int64_t j = 0;
    while (j < C && cls[j] != lab->labels[i])
      j++;
    if (j == C)
      cls[C++] = lab->labels[i];
  }
  double *mu = calloc(C * d, sizeof(double)), *cnt = calloc(C, sizeof(double)), *s = calloc(d * d, sizeof(double));
  int64_t *of = malloc(sizeof(int64_t) * lab->n);
  for (int64_t i = 0; i < lab->n; i++) {
    int64_t j = 0;
    while (cls[j] != lab->labels[i])
      j++;
    of[i] = j;
    cnt[j]++;
    for (int64_t k = 0; k < d; k++)
      mu[j * d + k] += x[lab->ids[i] * d + k];
  }
  for (int64_t j = 0; j < C; j++)
    for (int64_t k = 0; k < d; k++)
      mu[j * d + k] /= cnt[j];
  double tr = 0;
  for (int64_t i = 0; i < lab->n; i++) {
    const double *xi = x + lab->ids[i] * d, *m = mu + of[i] * d;
    for (int64_t c = 0; c < d; c++)
      for (int64_t r = 0; r <= c; r++)
        s[r + c * d] += (xi[r] - m[r]) * (xi[c] - m[c]) / (double)lab->n;
  }
  for (int64_t k = 0; k < d; k++)
    tr += s[k + k * d];
  for (int64_t c = 0; c < d; c++)
    for (int64_t r = 0; r <= c; r++)
      s[r + c * d] = (1 - a) * s[r + c * d] + (r == c ? a * tr / (double)d : 0);
  int in = (int)d, info = 0;
  dpotrf_("U", &in, s, &in, &info); /* S = U^T U: solve U^T y = x - mu */
  double worst = info ? INFINITY : 0, *y = malloc(sizeof(double) * d);
  for (int64_t i = 0; !info && i < n; i++) {
    double best = INFINITY;
    for (int64_t j = 0; j < C; j++) {
      double q = 0;
      for (int64_t r = 0; r < d; r++) {
        double v = x[i * d + r] - mu[j * d + r];
        for (int64_t t = 0; t < r; t++)
          v -= s[t + r * d] * y[t];
        y[r] = v / s[r + r * d];
        q += y[r] * y[r];
      }
      best = fmin(best, q);
    }
    worst = fmax(worst, fabs(best - dist[i]) / best);
  }
  free(y);
  free(mu);
  free(cnt);
  free(s);
  free(of);
  return worst;
}

static int run_maha(const char *pool, const char *grid, const char *out) {
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  alq_fit_options opt = {0};
  parse_grid(grid, &opt);
  alq_pool_meta meta;
  alq_source *src = open_pool(pool, &meta);
  alq_labeled lab = {0};
  if (alq_agree(MPI_COMM_WORLD, rank == 0 ? alq_labeled_read(pool, 0, 1, &lab) : ALQ_OK))
    die("labeled set");
  MPI_Bcast(&lab.n, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
  if (rank != 0) {
    lab.ids = malloc(sizeof(int64_t) * lab.n);
    lab.labels = malloc(sizeof(int32_t) * lab.n);
  }
  MPI_Bcast(lab.ids, (int)lab.n, MPI_INT64_T, 0, MPI_COMM_WORLD);
  MPI_Bcast(lab.labels, (int)lab.n, MPI_INT32_T, 0, MPI_COMM_WORLD);
  alq_mahalanobis m;
  if (alq_mahalanobis_fit_labeled(MPI_COMM_WORLD, src, &lab, &opt, &m))
    die("alq_mahalanobis_fit_labeled");
  alq_range shard = alq_partition_rows(meta.n_items, 1, size, rank);
  score_ctx sc = {&m, malloc(sizeof(double) * 2 * meta.dim), malloc(sizeof(double) * (shard.hi - shard.lo + 1)), 0};
  alq_stream_request req = {MPI_COMM_WORLD, &meta, src, shard, 1, 997, ALQ_FIELD_EMBEDDINGS, NULL, 0, 0, NULL};
  alq_stream_result res;
  if (alq_worker_stream(&req, score_chunk, &sc, &res))
    die("stream");
  free(res.labeled_found);
  alq_source_close(src);
  double *all = rank == 0 ? malloc(sizeof(double) * meta.n_items) : NULL;
  int *counts = malloc(sizeof(int) * size), *displs = malloc(sizeof(int) * size), mine = (int)sc.n;
  MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD);
  for (int r = 0; rank == 0 && r < size; r++)
    displs[r] = r ? displs[r - 1] + counts[r - 1] : 0;
  MPI_Gatherv(sc.dist, mine, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  int bad = 0;
  if (rank == 0) {
    hid_t f = H5Fcreate(out, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    alq_h5w_1d(f, "dist", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, meta.n_items, all);
    double attr[1] = {m.shrinkage};
    alq_h5w_1d(f, "shrinkage", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, attr);
    H5Fclose(f);
    double *x = read_all(pool, meta.n_items, meta.dim);
    double e = lapack_maha_error(x, meta.n_items, meta.dim, &lab, m.shrinkage, all);
    bad = !(e <= 1e-9);
    printf("maha d=%lld n=%lld labeled=%lld grid=%s: shrinkage %.4f, distance error %.3g vs dpotrf_: %s\n",
           (long long)meta.dim, (long long)meta.n_items, (long long)lab.n, grid, m.shrinkage, e, bad ? "FAIL" : "ok");
    free(x);
  }
  MPI_Bcast(&bad, 1, MPI_INT, 0, MPI_COMM_WORLD);
  free(all);
  free(counts);
  free(displs);
  free(sc.work);
  free(sc.dist);
  alq_mahalanobis_free(&m);
  alq_labeled_free(&lab);
  return bad;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  int bad = 2;
  if (argc == 6 && strcmp(argv[1], "pca") == 0)
    bad = run_pca(argv[2], atoll(argv[3]), argv[4], argv[5]);
  else if (argc == 5 && strcmp(argv[1], "maha") == 0)
    bad = run_maha(argv[2], argv[3], argv[4]);
  else
    fprintf(stderr, "usage: test_geometry pca POOL K RxC OUT.h5 | maha POOL RxC OUT.h5\n");
  MPI_Finalize();
  return bad;
}
