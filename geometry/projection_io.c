/* geometry/projection_io.c: the projection file (docs/geometry.md) and its
 * broadcast.
 *
 *   /projection/matrix       float32 [K][d]  y = matrix (x - mean)
 *   /projection/mean         float32 [d]
 *   /projection/eigenvalues  float64 [d]     every eigenvalue, descending
 *   attributes on /projection: kind ("pca" | "pca-whiten"), k, dim, fit_rows,
 *   fit_sample, seed, grid ("RxC"), and the pool identity: pool, n_items,
 *   ids_checksum (alq_ids_checksum of every id in row order). */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/h5_records.h"
#include "alq/version.h"
#include "geometry_impl.h"

static alq_err write_contents(hid_t file, const char *path, const void *ctx) {
  const alq_projection *p = ctx;
  hid_t g = H5Gcreate2(file, "/projection", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot write %s: cannot create group /projection", path);
  char grid[32];
  snprintf(grid, sizeof grid, "%dx%d", p->grid_rows, p->grid_cols);
  herr_t rc = alq_h5w_2d(g, "matrix", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, p->k, p->dim, p->matrix);
  rc |= alq_h5w_1d(g, "mean", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, p->dim, p->mean);
  rc |= alq_h5w_1d(g, "eigenvalues", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, p->dim, p->eigenvalues);
  rc |= alq_h5w_attr_string(g, "kind", p->whiten ? "pca-whiten" : "pca");
  rc |= alq_h5w_attr_int64(g, "k", p->k);
  rc |= alq_h5w_attr_int64(g, "dim", p->dim);
  rc |= alq_h5w_attr_int64(g, "fit_rows", p->fit_rows);
  rc |= alq_h5w_attr_int64(g, "fit_sample", p->sample);
  rc |= alq_h5w_attr_uint64(g, "seed", p->seed);
  rc |= alq_h5w_attr_string(g, "grid", grid);
  rc |= alq_h5w_attr_string(g, "pool", p->pool);
  rc |= alq_h5w_attr_int64(g, "n_items", p->n_items);
  rc |= alq_h5w_attr_uint64(g, "ids_checksum", p->ids_checksum);
  rc |= alq_h5w_attr_string(g, "alq_version", ALQ_VERSION);
  H5Gclose(g);
  return rc < 0 ? alq_error_set(ALQ_ERR_OUTPUT, "cannot write %s (disk full or not writable?)", path) : ALQ_OK;
}

alq_err alq_projection_write(const char *path, const alq_projection *p) {
  return alq_h5_write_atomic(path, write_contents, p);
}

/* /projection/matrix: exactly k x dim float32 values, finite. */
static alq_err read_matrix(hid_t g, const char *path, alq_projection *p) {
  hid_t ds = H5Lexists(g, "matrix", H5P_DEFAULT) > 0 ? H5Dopen2(g, "matrix", H5P_DEFAULT) : H5I_INVALID_HID;
  if (ds < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: dataset /projection/matrix is missing", path);
  hid_t space = H5Dget_space(ds);
  hsize_t dims[2] = {0, 0};
  int nd = H5Sget_simple_extent_ndims(space);
  if (nd == 2)
    H5Sget_simple_extent_dims(space, dims, NULL);
  H5Sclose(space);
  alq_err err = ALQ_OK;
  if (nd != 2 || (int64_t)dims[0] != p->k || (int64_t)dims[1] != p->dim)
    err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset /projection/matrix is not [%lld][%lld] (k x dim)", path,
                        (long long)p->k, (long long)p->dim);
  if (!err)
    err = alq_malloc(&p->matrix, sizeof(float) * p->k * p->dim, "projection matrix");
  if (!err && H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, p->matrix) < 0)
    err = alq_error_set(ALQ_ERR_INPUT, "%s: cannot read dataset /projection/matrix", path);
  for (int64_t i = 0; !err && i < p->k * p->dim; i++)
    if (!isfinite(p->matrix[i]))
      err = alq_error_set(ALQ_ERR_INPUT, "%s: /projection/matrix row %lld column %lld is %g (not finite)", path,
                          (long long)(i / p->dim), (long long)(i % p->dim), (double)p->matrix[i]);
  H5Dclose(ds);
  return err;
}

static alq_err read_vectors(hid_t g, const char *path, alq_projection *p) {
  int64_t n = 0;
  ALQ_CHECK(alq_h5r_1d(g, path, "mean", H5T_NATIVE_FLOAT, sizeof(float), &p->mean, &n));
  if (n != p->dim)
    return alq_error_set(ALQ_ERR_INPUT, "%s: /projection/mean has %lld values, dim is %lld", path, (long long)n,
                         (long long)p->dim);
  ALQ_CHECK(alq_h5r_1d(g, path, "eigenvalues", H5T_NATIVE_DOUBLE, sizeof(double), &p->eigenvalues, &n));
  if (n != p->dim)
    return alq_error_set(ALQ_ERR_INPUT, "%s: /projection/eigenvalues has %lld values, dim is %lld", path,
                         (long long)n, (long long)p->dim);
  for (int64_t i = 0; i < p->dim; i++)
    if (!isfinite(p->mean[i]))
      return alq_error_set(ALQ_ERR_INPUT, "%s: /projection/mean[%lld] is %g (not finite)", path, (long long)i,
                           (double)p->mean[i]);
  return ALQ_OK;
}

static alq_err read_attrs(hid_t g, const char *path, alq_projection *p) {
  char kind[32], grid[32];
  ALQ_CHECK(alq_h5r_attr_string(g, path, "kind", kind, sizeof kind));
  if (strcmp(kind, "pca") != 0 && strcmp(kind, "pca-whiten") != 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: /projection kind is '%s', expected pca or pca-whiten", path, kind);
  p->whiten = strcmp(kind, "pca-whiten") == 0;
  ALQ_CHECK(alq_h5r_attr_int64(g, path, "k", &p->k));
  ALQ_CHECK(alq_h5r_attr_int64(g, path, "dim", &p->dim));
  if (p->k < 1 || p->dim < 1 || p->k > p->dim)
    return alq_error_set(ALQ_ERR_INPUT, "%s: /projection has k = %lld and dim = %lld (need 1 <= k <= dim)", path,
                         (long long)p->k, (long long)p->dim);
  ALQ_CHECK(alq_h5r_attr_int64(g, path, "fit_rows", &p->fit_rows));
  ALQ_CHECK(alq_h5r_attr_int64(g, path, "fit_sample", &p->sample));
  ALQ_CHECK(alq_h5r_attr_uint64(g, path, "seed", &p->seed));
  ALQ_CHECK(alq_h5r_attr_string(g, path, "grid", grid, sizeof grid));
  if (sscanf(grid, "%dx%d", &p->grid_rows, &p->grid_cols) != 2)
    return alq_error_set(ALQ_ERR_INPUT, "%s: /projection grid is '%s', expected RxC", path, grid);
  ALQ_CHECK(alq_h5r_attr_string(g, path, "pool", p->pool, sizeof p->pool));
  ALQ_CHECK(alq_h5r_attr_int64(g, path, "n_items", &p->n_items));
  return alq_h5r_attr_uint64(g, path, "ids_checksum", &p->ids_checksum);
}

alq_err alq_projection_read(const char *path, alq_projection *p) {
  memset(p, 0, sizeof *p);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    return alq_error_set(ALQ_ERR_INPUT, "cannot open projection file %s (missing or not HDF5)", path);
  hid_t g = H5Lexists(file, "projection", H5P_DEFAULT) > 0 ? H5Gopen2(file, "projection", H5P_DEFAULT)
                                                            : H5I_INVALID_HID;
  alq_err err = g < 0 ? alq_error_set(ALQ_ERR_INPUT, "%s: group /projection is missing (not from alq project?)", path)
                      : read_attrs(g, path, p);
  if (!err)
    err = read_matrix(g, path, p);
  if (!err)
    err = read_vectors(g, path, p);
  if (g >= 0)
    H5Gclose(g);
  H5Fclose(file);
  if (err)
    alq_projection_free(p);
  return err;
}

alq_err alq_projection_bcast(MPI_Comm comm, alq_projection *p) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  alq_projection head = *p;
  ALQ_CHECK(alq_bcast(&head, sizeof head, 0, comm));
  if (rank != 0) {
    *p = head;
    p->matrix = p->mean = NULL;
    p->eigenvalues = NULL;
  }
  alq_err err = ALQ_OK;
  if (rank != 0) {
    err = alq_malloc(&p->matrix, sizeof(float) * p->k * p->dim, "projection matrix");
    if (!err)
      err = alq_malloc(&p->mean, sizeof(float) * p->dim, "projection mean");
    if (!err)
      err = alq_malloc(&p->eigenvalues, sizeof(double) * p->dim, "eigenvalues");
  }
  err = alq_agree(comm, err);
  if (!err)
    err = alq_bcast(p->matrix, sizeof(float) * p->k * p->dim, 0, comm);
  if (!err)
    err = alq_bcast(p->mean, sizeof(float) * p->dim, 0, comm);
  if (!err)
    err = alq_bcast(p->eigenvalues, sizeof(double) * p->dim, 0, comm);
  if (err && rank != 0)
    alq_projection_free(p);
  return err;
}
