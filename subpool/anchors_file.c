/* subpool/anchors_file.c: the anchors `alq retrieve` is given (alq/retrieve.h):
 * /anchors float32 [A][d] of an HDF5 file, checked before any rank streams. */
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alq/retrieve.h"

alq_err alq_anchors_read(const char *path, int64_t dim, float **out, int64_t *n_out) {
  *out = NULL;
  *n_out = 0;
  if (access(path, R_OK) != 0)
    return alq_error_set(ALQ_ERR_INPUT, "cannot open anchors file %s: %s", path, strerror(errno));
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s is not an HDF5 file", path);
  alq_err err = ALQ_OK;
  hid_t ds = -1, space = -1, type = -1;
  if (H5Lexists(file, "anchors", H5P_DEFAULT) <= 0 || (ds = H5Dopen2(file, "anchors", H5P_DEFAULT)) < 0) {
    err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset /anchors is missing", path);
    goto done;
  }
  space = H5Dget_space(ds);
  type = H5Dget_type(ds);
  hsize_t dims[2] = {0, 0};
  int rank = H5Sget_simple_extent_ndims(space);
  if (rank != 2) {
    err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset /anchors has rank %d, expected 2 ([A][d] float32)", path, rank);
    goto done;
  }
  H5Sget_simple_extent_dims(space, dims, NULL);
  if (H5Tget_class(type) != H5T_FLOAT) {
    err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset /anchors is not floating point (expected float32)", path);
    goto done;
  }
  if ((int64_t)dims[1] != dim) {
    err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset /anchors has %lld columns, the pool's /embeddings has %lld", path,
                        (long long)dims[1], (long long)dim);
    goto done;
  }
  if (dims[0] == 0) {
    err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset /anchors has no rows", path);
    goto done;
  }
  float *rows = NULL;
  err = alq_malloc_aligned(&rows, sizeof(float) * dims[0] * dims[1], "anchors");
  if (err)
    goto done;
  if (H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0) {
    free(rows);
    err = alq_error_set(ALQ_ERR_INPUT, "%s: cannot read dataset /anchors", path);
    goto done;
  }
  for (int64_t i = 0; i < (int64_t)(dims[0] * dims[1]); i++)
    if (!isfinite(rows[i])) {
      err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset /anchors row %lld column %lld is %g (not finite)", path,
                          (long long)(i / dim), (long long)(i % dim), (double)rows[i]);
      free(rows);
      goto done;
    }
  *out = rows;
  *n_out = (int64_t)dims[0];
done:
  if (type >= 0)
    H5Tclose(type);
  if (space >= 0)
    H5Sclose(space);
  if (ds >= 0)
    H5Dclose(ds);
  H5Fclose(file);
  return err;
}
